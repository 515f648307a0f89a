"""Demand for coverage: sites, zones cut into cells, lines cut into pieces, raster cells."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import limits
from .._values import numbers_of
from ..crs import metric_crs_for
from ..errors import CRSError, InputError
from ..raster import open_raster

if TYPE_CHECKING:
    import geopandas as gpd

    from ..network import RoadNetwork

SPLITS = ("none", "grid", "length")

# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def metric_layer(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str, crs: Any) -> gpd.GeoDataFrame:
    """The layer as a GeoDataFrame in the metric CRS; an error without a CRS."""
    if isinstance(gdf, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gdf)
    if gdf.crs is None:
        msg = f"the {what} layer has no CRS (hint: set_crs(...) to the CRS of its coordinates)"
        raise CRSError(msg, code="E-CRS-MISSING")
    if not gdf.crs.equals(crs):
        gdf = gdf.to_crs(crs)
    return gdf


def working_crs_of(network: RoadNetwork | None, like: Any = None, *others: Any) -> Any:
    """The CRS distances are measured in: the network's, else :func:`nbgeo.crs.metric_crs_for` the layers."""
    return network.crs if network is not None else metric_crs_for(like, *others)


def demand_units(
    demand: gpd.GeoDataFrame,
    *,
    weight: str = "count",
    split: Literal["none", "grid", "length"] | None = None,
    cell: float = 100.0,
    crs: Any = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Cut demand into weighted units: whole sites, grid cells of zones, or pieces of lines.

    Parameters
    ----------
    demand
        The demand layer (any CRS).
    weight
        ``"count"`` (each site weighs 1), ``"area"`` (m²), ``"length"`` (m), or
        a numeric column (population, employment, floor area...).
    split
        ``None``/``"none"``: one unit per site, with the site's geometry.
        ``"grid"``: polygons cut by a square grid of ``cell`` metres; each
        piece is a unit at its representative point, weighing its area (or
        the site's column value in proportion to area). ``"length"``: lines
        cut into pieces of at most ``cell`` metres, each a unit at its
        midpoint.
    cell
        Grid cell size or piece length in metres.
    crs
        The metric CRS to work in (default: the working CRS).
    layer
        The demand layer's name, for a refusal over the work budget
        (:data:`nbgeo.limits.max_work_seconds`; ``E-LIMIT-WORK``).

    Returns
    -------
    geopandas.GeoDataFrame
        In the metric CRS, with columns ``site`` (the demand index label) and
        ``weight``; the index numbers the units.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> zone = gpd.GeoDataFrame(geometry=[box(0, 0, 250, 100)], index=["Z1"], crs="EPSG:32651")
    >>> units = demand_units(zone, weight="area", split="grid", cell=100, crs="EPSG:32651")
    >>> units["weight"].tolist(), units["site"].tolist()
    ([10000.0, 10000.0, 5000.0], ['Z1', 'Z1', 'Z1'])
    """
    crs = crs if crs is not None else working_crs_of(None, demand)
    gdf = metric_layer(demand, "demand", crs)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    split = "none" if split is None else split
    if split not in SPLITS:
        msg = f"split must be one of {', '.join(SPLITS)}, got {split!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    if not cell > 0:
        msg = f"cell must be a positive number of metres, got {cell!r}"
        raise InputError(msg, code="E-PARAM-VALUE")

    def site_weight(measure: np.ndarray) -> np.ndarray:
        if weight == "count":
            return np.ones(len(gdf))
        if weight in ("area", "length"):
            return measure
        if weight not in gdf.columns:
            msg = f"the demand layer has no weight column {weight!r}; columns: {', '.join(map(str, gdf.columns))}"
            raise InputError(msg, code="E-COLUMN-MISSING")
        return numbers_of(gdf[weight], layer=layer or "demand", column=weight,
                          what="the demand weight").fillna(0.0).to_numpy(dtype=float)

    if split == "none":
        measure = shapely.area(geoms) if weight == "area" else shapely.length(geoms)
        w = np.where(present, site_weight(np.nan_to_num(measure)), 0.0)
        return gpd.GeoDataFrame({"site": np.asarray(gdf.index, dtype=object), "weight": w},
                                geometry=geoms, crs=crs)

    if split == "grid":
        area = shapely.area(geoms)
        w_site = site_weight(area)
        rows = np.flatnonzero(present & (area > 0))
        # Priced before any cell is made: a fine grid over a wide, detailed zone would not finish, or fill the
        # memory with cells.
        work = grid_split_work(geoms[rows], cell)
        limits.check_costs(work["seconds"], gdf.index.to_numpy()[rows], step=f"split into {cell:g} m cells",
                           layer=layer, details=[f"{c:,.0f} cells, about {e:,.0f} on its edge × {v:,} vertices"
                                                 for c, e, v in zip(work["cells"], work["edge_cells"],
                                                                    work["vertices"], strict=True)])
        piece_geoms, owner = _grid_pieces(geoms, rows, cell, test=work["edge_cells"] < work["cells"] / 2)
        share = shapely.area(piece_geoms) / np.where(area[owner] > 0, area[owner], 1.0)
        points = shapely.point_on_surface(piece_geoms)
    else:  # length
        length = shapely.length(geoms)
        w_site = site_weight(length)
        lines = shapely.segmentize(geoms[present], cell)
        parts = shapely.get_parts(lines)
        part_owner = np.repeat(np.flatnonzero(present), shapely.get_num_geometries(lines))
        coords, idx = shapely.get_coordinates(parts, return_index=True)
        same = idx[1:] == idx[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        owner = part_owner[idx[1:][same]]
        seg_len = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
        share = seg_len / np.where(length[owner] > 0, length[owner], 1.0)
        points = shapely.points((a + b) / 2)
    return gpd.GeoDataFrame(
        {"site": np.asarray(gdf.index, dtype=object)[owner], "weight": w_site[owner] * share},
        geometry=points, crs=crs,
    )


_CELLS_AT_ONCE = 1 << 18  # cells made at a time, so that a wide grid does not fill the memory with boxes


def _grid_layout(geoms: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """The grid over each geometry's box: its lower-left corner ``(x, y)`` and its columns and rows.

    The counts are those of ``np.arange(floor(x0 / cell) * cell, x1, cell)``: ``ceil((x1 - start) / cell)``.
    """
    bounds = shapely.bounds(geoms).reshape(-1, 4)
    start = np.floor(bounds[:, :2] / cell) * cell
    count = np.ceil((bounds[:, 2:] - start) / cell)
    return start, np.where(count > 0, count, 0).astype(np.int64)


def grid_split_work(geoms: Any, cell: float) -> dict[str, np.ndarray]:
    """What cutting each polygon into ``cell`` m grid cells costs, counted before any cell is made.

    Every cell of the polygon's box is made and tested against the polygon (prepared: a near-constant cost per
    cell); only the cells its boundary passes through are intersected with it, each intersection reading all
    its vertices. Those cells are counted by walking each ring from cell to cell: an edge from column, row
    ``(i, j)`` to ``(k, l)`` passes through at most ``|k - i| + |l - j|`` more cells, and each ring starts in
    one; the sum (at most the box's cells) is exact for a boundary in general position (one lying along a
    grid line also touches the cells on its other side). Priced with :data:`nbgeo.limits.SPLIT_COSTS` (seconds
    per cell, per cell cut, per vertex read for each cell cut, per vertex cut), measured by
    ``bench/bench_work.py --split``.

    Parameters
    ----------
    geoms
        Polygons in a metric CRS.
    cell
        The cell size in metres.

    Returns
    -------
    dict
        Arrays, one value per geometry: ``cells`` (of its box), ``edge_cells`` (its boundary passes
        through), ``vertices`` and ``seconds`` (estimated).

    Examples
    --------
    >>> from shapely import box
    >>> work = grid_split_work([box(0, 0, 250, 100), box(0, 0, 1000, 1000)], 100)
    >>> work["cells"].tolist(), work["edge_cells"].tolist(), work["vertices"].tolist()
    ([3.0, 100.0], [3.0, 37.0], [5, 5])
    """
    arr = np.asarray(geoms, dtype=object).reshape(-1)
    start, count = _grid_layout(arr, cell)
    cells = count.prod(axis=1).astype(float)
    vertices = shapely.get_num_coordinates(arr)
    xy, ring, ring_owner = limits.ring_coordinates(arr)
    owner = ring_owner[ring]
    at = np.floor((xy - start[owner]) / cell)
    at = np.clip(at, 0, np.maximum(count[owner] - 1, 0))
    same = ring[1:] == ring[:-1]
    steps = np.abs(np.diff(at, axis=0))[same].sum(axis=1)
    walked = (np.bincount(owner[1:][same], weights=steps, minlength=len(arr))
              + np.bincount(ring_owner, minlength=len(arr)))
    edge_cells = np.minimum(walked, cells)
    cost = limits.SPLIT_COSTS
    seconds = (cost["cell"] * cells + (cost["cut cell"] + cost["vertex read"] * vertices) * edge_cells
               + cost["vertex cut"] * vertices)
    return {"cells": cells, "edge_cells": edge_cells, "vertices": vertices, "seconds": seconds}


def _grid_pieces(geoms: np.ndarray, rows: np.ndarray, cell: float, *,
                 test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of ``geoms[rows]`` cut by the grid, and the row of each, polygon by polygon, row-major.

    Where ``test`` (per row) is true, the polygon is prepared and a cell inside it is its own piece, a cell its
    boundary passes through is intersected with it, the rest are dropped; elsewhere (polygons whose boundary
    passes through most of their cells: preparing them would cost more than it saves) every cell is
    intersected. Pieces without area are dropped. Cells are made ``_CELLS_AT_ONCE`` at a time, at the
    coordinates ``np.arange`` gives (``start``, ``start + cell``, then ``start + i × step``).
    """
    polys = geoms[rows]
    start, count = _grid_layout(polys, cell)
    per_poly = count.prod(axis=1)
    offsets = np.concatenate([[0], np.cumsum(per_poly)])
    step = (start + cell) - start
    fresh = test & ~shapely.is_prepared(polys)
    shapely.prepare(polys[fresh])
    pieces, owners = [], []
    try:
        for lo in range(0, int(offsets[-1]), _CELLS_AT_ONCE):
            flat = np.arange(lo, min(lo + _CELLS_AT_ONCE, int(offsets[-1])))
            which = np.searchsorted(offsets, flat, side="right") - 1
            j, i = np.divmod(flat - offsets[which], count[which, 0])
            x = np.where(i == 1, start[which, 0] + cell, start[which, 0] + i * step[which, 0])
            y = np.where(j == 1, start[which, 1] + cell, start[which, 1] + j * step[which, 1])
            boxes = shapely.box(x, y, x + cell, y + cell)
            poly = polys[which]
            tested = test[which]
            inside = np.zeros(len(flat), dtype=bool)
            inside[tested] = shapely.contains_properly(poly[tested], boxes[tested])
            edge = np.flatnonzero(~inside)
            near = edge[tested[edge]]
            edge = np.concatenate([near[shapely.intersects(poly[near], boxes[near])], edge[~tested[edge]]])
            cut = shapely.intersection(boxes[edge], poly[edge])
            boxes[edge] = cut
            keep = inside.copy()
            keep[edge] = shapely.area(cut) > 0
            pieces.append(boxes[keep])
            owners.append(rows[which[keep]])
    finally:
        shapely.destroy_prepared(polys[fresh])
    if not pieces:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    return np.concatenate(pieces), np.concatenate(owners)


def raster_demand(source: Any, *, band: int = 1, column: str = "value") -> gpd.GeoDataFrame:
    """A population or employment grid (GeoTIFF) as demand: one point per cell with a value above 0.

    The raster is opened safely (GTiff only, size limits) by :func:`nbgeo.raster.open_raster`;
    its nodata cells are skipped. Weigh coverage by ``column``: ``coverage(grid, chargers,
    weight="value", ...)`` gives the share of people (or jobs) served.

    Parameters
    ----------
    source
        The GeoTIFF path, or a dataset raster (``dataset.rasters["population"]``).
    band
        The band holding the counts.
    column
        Name of the value column.

    Returns
    -------
    geopandas.GeoDataFrame
        Points at the cell centres, in the raster's CRS, indexed ``"r{row}c{col}"``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, rasterio
    >>> from affine import Affine
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "people.tif"
    >>> with rasterio.open(path, "w", driver="GTiff", width=3, height=2, count=1, dtype="float32",
    ...                    crs="EPSG:32651", transform=Affine(100, 0, 1000, 0, -100, 2000), nodata=-1) as dst:
    ...     dst.write(np.array([[5, 0, -1], [7, 2, 1]], dtype="float32"), 1)
    >>> grid = raster_demand(path)
    >>> grid["value"].tolist(), grid.index[0], grid.geometry.iloc[0].coords[0]
    ([5.0, 7.0, 2.0, 1.0], 'r0c0', (1050.0, 1950.0))
    """
    with open_raster(source) as src:
        data = src.read(band, masked=True)
        transform, crs = src.transform, src.crs
    values = np.ma.filled(data.astype(np.float64), 0.0)
    rows, cols = np.nonzero(values > 0)
    t = transform
    xs = t.c + (cols + 0.5) * t.a + (rows + 0.5) * t.b
    ys = t.f + (cols + 0.5) * t.d + (rows + 0.5) * t.e
    index = [f"r{r}c{c}" for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    return gpd.GeoDataFrame({column: values[rows, cols]}, geometry=shapely.points(np.asarray(xs), np.asarray(ys)),
                            crs=crs, index=pd.Index(index, name="id"))
