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
        pieces, owners = [], []
        # Each cell is an intersection with the whole polygon: the work is cells × vertices, priced before any cell
        # is made (a fine grid over a wide, detailed zone would not finish, or fill the memory with cells).
        rows = np.flatnonzero(present & (area > 0))
        bounds = shapely.bounds(geoms[rows])
        cells = (np.ceil((bounds[:, 2] - np.floor(bounds[:, 0] / cell) * cell) / cell)
                 * np.ceil((bounds[:, 3] - np.floor(bounds[:, 1] / cell) * cell) / cell))
        vertices = shapely.get_num_coordinates(geoms[rows])
        limits.check_costs(limits.WORK_COSTS["overlay"][0] * cells * (vertices + 5), gdf.index.to_numpy()[rows],
                           step=f"split into {cell:g} m cells", layer=layer,
                           details=[f"{c:,.0f} cells × {v:,} vertices" for c, v in zip(cells, vertices, strict=True)])
        for pos in rows:
            g = geoms[pos]
            x0, y0, x1, y1 = g.bounds
            xs = np.arange(np.floor(x0 / cell) * cell, x1, cell)
            ys = np.arange(np.floor(y0 / cell) * cell, y1, cell)
            gx, gy = np.meshgrid(xs, ys)
            cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell, gy.ravel() + cell)
            cut = shapely.intersection(cells, g)
            keep = shapely.area(cut) > 0
            pieces.append(cut[keep])
            owners.append(np.full(int(keep.sum()), pos))
        piece_geoms = np.concatenate(pieces) if pieces else np.zeros(0, dtype=object)
        owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
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
