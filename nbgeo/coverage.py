"""Coverage: which demand sites are served by which facilities, by road or in a straight line.

Coverage answers the planner's question behind a count of chargers: *which
parks, districts and roads do they serve, within what distance?* Demand is
anything with a location and a weight: micro-parks and featured parks
(counted), industrial zones (by area), roads (by length), a population or
employment grid (by its value). Facilities are points (chargers, 5G
stations) or any geometry.

Coverage formula
----------------
Demand is split into *units* ``i`` with weights ``w_i`` (a site, a grid cell
of a zone, a piece of road) and a covered part ``c_i``:

.. math::

   \\text{share} = 100 \\cdot \\frac{\\sum_i c_i}{\\sum_i w_i}, \\qquad
   c_i = w_i \\cdot [\\, d(i, F) \\le r \\,]

where ``d(i, F)`` is the distance from unit ``i`` to the nearest facility,
``r`` the service distance, and ``[·]`` is 1 when true. In ``"straight"``
mode ``d`` is the planar distance in the metric working CRS (0 when a
facility lies inside a site); in ``"network"`` mode it is the road distance of
:func:`nbgeo.network.nearest_facility`, snapping included, travelled from the
site to the facility (one-way streets count). Road pieces are covered in part:
a piece of length ``L`` between nodes ``a`` and ``b`` is covered over
``min(L, (r - D_a)^+ + (r - D_b)^+)``, where ``D`` is the node's road distance
to the nearest facility and only directions open to traffic count
(:func:`road_coverage`).

Since a road is never shorter than the straight line between its ends,
network coverage is never above straight-line coverage, and the two agree
when every site lies on a straight road to its facility.

Examples
--------
>>> import geopandas as gpd, numpy as np
>>> from shapely import Point
>>> from nbgeo import coverage
>>> parks = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(900, 0), Point(3000, 0)], index=["P1", "P2", "P3"],
...                          crs="EPSG:32651")
>>> chargers = gpd.GeoDataFrame(geometry=[Point(100, 0)], index=["C1"], crs="EPSG:32651")
>>> cov = coverage.coverage(parks, chargers, distance=1000, mode="straight")
>>> round(cov.share, 2), cov.uncovered().index.tolist()
(66.67, ['P3'])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import shapely

from . import limits
from . import network as _net
from ._values import numbers_of
from .errors import InputError, MissingDataError, PlanError
from .filters import filter_mask, year_mask
from .plan import margin_of, meets

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

    from .engine import Engine
    from .layers import Dataset
    from .network import Access, DistanceMatrix, RoadNetwork
    from .plan import CoverageSpec, Plan

__all__ = [
    "MODES",
    "SPEC_KEYS",
    "Coverage",
    "coverage",
    "coverage_matrix",
    "demand_units",
    "evaluate_coverage",
    "evaluate_plan_coverage",
    "raster_demand",
    "road_coverage",
    "service_areas",
    "site_distances",
    "to_text",
]

log = logging.getLogger(__name__)

#: Ways of measuring distance.
MODES = ("network", "straight")
_SPLITS = ("none", "grid", "length")

#: Keys a ``[[coverage]]`` table of a plan may have beyond id, demand, facilities, phrase, title, proposed.
SPEC_KEYS = {
    "distance": "service distance in metres (required)",
    "mode": "'network' (by road, default) or 'straight'",
    "network": "name of the dataset's road network (default 'roads')",
    "weight": "'count' (default), 'area', 'length' or a column of the demand layer",
    "split": "'none' (whole sites, default), 'grid' (zones cut into cells) or 'length' (lines cut into pieces)",
    "cell": "cell size or piece length in metres for split (default 100)",
    "op": "comparison of the share with the threshold (default '>=')",
    "threshold": "required share in percent (default 100)",
    "unit": "unit of the share (default '%')",
    "demand_where": "filter of the demand layer, {column = value or [values]} (the dialect of nbgeo.filters)",
    "facilities_where": "filter of the facilities layer",
    "year_column": "column holding the year a feature exists from (default 'year'; '' for none)",
    "demand_year_column": "the demand layer's year column (default: year_column; '' when it has no years)",
    "facilities_year_column": "the facilities layer's year column (default: year_column; '' when it has no years)",
    "years": "'cumulative' (default: one verdict at the evaluation year) or 'each_year'",
    "max_snap": "metres beyond which a site counts as off the road network",
    "direction": "'to' (site to facility, default) or 'from' (facility to site)",
}


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _metric(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str, crs: Any) -> gpd.GeoDataFrame:
    """The layer as a GeoDataFrame in the metric CRS; an error without a CRS."""
    import geopandas as gpd

    from .errors import CRSError

    if isinstance(gdf, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gdf)
    if gdf.crs is None:
        msg = f"the {what} layer has no CRS (hint: set_crs(...) to the CRS of its coordinates)"
        raise CRSError(msg, code="E-CRS-MISSING")
    if not gdf.crs.equals(crs):
        gdf = gdf.to_crs(crs)
    return gdf


def _working_crs(network: RoadNetwork | None, like: Any = None, *others: Any) -> Any:
    """The CRS distances are measured in: the network's, else :func:`nbgeo.crs.metric_crs_for` the layers."""
    from .crs import metric_crs_for

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
    import geopandas as gpd

    crs = crs if crs is not None else _working_crs(None, demand)
    gdf = _metric(demand, "demand", crs)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    split = "none" if split is None else split
    if split not in _SPLITS:
        msg = f"split must be one of {', '.join(_SPLITS)}, got {split!r}"
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
    import geopandas as gpd

    from .raster import open_raster

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


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


def site_distances(
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    mode: Literal["network", "straight"] = "network",
    network: RoadNetwork | None = None,
    cutoff: float | None = None,
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Distance from every demand site to its nearest facility, aligned to the demand index.

    Parameters
    ----------
    demand, facilities
        GeoDataFrames (any CRS; measured in the network's or the working CRS).
    mode
        ``"network"`` (by road; needs ``network``) or ``"straight"``.
    network
        The road network.
    cutoff
        Distances above this (metres) are reported as ``inf`` (faster by road).
    max_snap, direction
        See :func:`nbgeo.network.nearest_facility`.
    engine
        Where the snapping runs (:mod:`nbgeo.engine`); default: in this
        process. In a straight line the engine finds each site's nearest
        facility (:meth:`~nbgeo.engine.Engine.snap`); by road it joins sites
        and facilities to the network (:meth:`~nbgeo.engine.Engine.access_points`)
        and the Dijkstra runs here. The results are the same either way.

    Returns
    -------
    pandas.DataFrame
        Columns ``distance`` and ``facility`` (on equal distances, the first
        facility); by road also ``road``, ``snap``, ``facility_snap`` and ``node``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> parks = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), Point(50, 0)], index=["a", "b"], crs="EPSG:32651")
    >>> chargers = gpd.GeoDataFrame(geometry=[Point(5, 5), Point(80, 40)], index=["c", "d"], crs="EPSG:32651")
    >>> site_distances(parks, chargers, mode="straight")
       distance facility
    a   0.000000        c
    b  45.276926        c
    """
    if mode not in MODES:
        msg = f"mode must be one of {', '.join(MODES)}, got {mode!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    if mode == "network" and network is None:
        msg = "network coverage needs a road network (pass network=, or use mode='straight')"
        raise InputError(msg, code="E-NET-MISSING")
    if engine is not None:
        return _Snapping(engine, demand, facilities, mode=mode, network=network, max_snap=max_snap,
                         direction=direction).distances(cutoff=cutoff)
    if mode == "network":
        assert network is not None
        return _net.nearest_facility(network, demand, facilities, cutoff=cutoff, max_snap=max_snap,
                                     direction=direction)
    crs = _working_crs(network, demand, facilities)
    return _straight_distances(_metric(demand, "demand", crs), _metric(facilities, "facilities", crs), cutoff)


def _straight_distances(d: gpd.GeoDataFrame, f: gpd.GeoDataFrame, cutoff: float | None,
                        engine: Engine | None = None) -> pd.DataFrame:
    """Straight distance from each site of ``d`` to its nearest facility of ``f`` (same metric CRS).

    Sites without a facility within ``cutoff`` get ``inf``. Of equally near
    facilities (several inside one park) the first is named, whichever engine
    searched: the engine only finds the pairs, the distances are measured here.
    """
    dist = np.full(len(d), np.inf)
    facility = np.full(len(d), None, dtype=object)
    d_geoms = np.asarray(d.geometry.values, dtype=object)
    f_geoms = np.asarray(f.geometry.values, dtype=object)
    f_ok = ~(shapely.is_missing(f_geoms) | shapely.is_empty(f_geoms))
    d_ok = ~(shapely.is_missing(d_geoms) | shapely.is_empty(d_geoms))
    if f_ok.any() and d_ok.any():
        if engine is None:
            tree = shapely.STRtree(f_geoms[f_ok])
            left, right = tree.query_nearest(d_geoms[d_ok], max_distance=cutoff, all_matches=True)
            order = np.lexsort((right, left))
            left, right = left[order], right[order]
            first = np.r_[True, left[1:] != left[:-1]] if len(left) else np.zeros(0, dtype=bool)
            left, right = left[first], right[first]
        else:
            import geopandas as gpd

            snapped = engine.snap(gpd.GeoDataFrame(geometry=d_geoms[d_ok], crs=d.crs),
                                  gpd.GeoDataFrame(geometry=f_geoms[f_ok], crs=f.crs), max_distance=cutoff)
            target = snapped["target"].to_numpy(dtype=np.float64, na_value=np.nan)  # positions in f_ok
            left = np.flatnonzero(~np.isnan(target))
            right = target[left].astype(np.int64)
        pos = np.flatnonzero(d_ok)[left]
        fac_pos = np.flatnonzero(f_ok)[right]
        dist[pos] = shapely.distance(d_geoms[pos], f_geoms[fac_pos])
        facility[pos] = np.asarray(f.index, dtype=object)[fac_pos]
    return pd.DataFrame({"distance": dist, "facility": pd.Series(facility, index=d.index, dtype=object)},
                        index=d.index)


def _subset(access: Access, keep: np.ndarray | None) -> Access:
    """The access points of the features ``keep`` selects, numbered among them."""
    if keep is None:
        return access
    keep = np.asarray(keep, dtype=bool)
    renumber = np.cumsum(keep) - 1
    rows = keep[access.owner]
    return _net.Access(owner=renumber[access.owner[rows]], node=access.node[rows], offset=access.offset[rows],
                       n_features=int(keep.sum()))


def _access(network: RoadNetwork, features: Any, what: str, *, max_snap: float | None,
            direction: Literal["to", "from"], engine: Engine | None) -> tuple[Access, pd.Index]:
    """Where features join the network (:func:`nbgeo.network.access_points`), here or on an engine; their index."""
    geoms, index = _net._to_network_geoms(features, network, what)
    if engine is None:
        return _net.access_points(network, geoms, max_snap=max_snap, direction=direction), index
    import geopandas as gpd

    return engine.access_points(network, gpd.GeoSeries(geoms, crs=network.crs), max_snap=max_snap,
                                direction=direction), index


class _Snapping:
    """Coverage's snapping on an engine, for demand units and facilities measured year after year.

    By road, every unit and every facility is joined to the network once, on
    the engine (the access points of a feature do not depend on the year);
    each year then takes the access points of its units and facilities and
    runs one multi-source Dijkstra in this process, as
    :func:`nbgeo.network.nearest_facility` does. In a straight line, each
    year's units are snapped to that year's facilities on the engine.
    """

    def __init__(self, engine: Engine, demand: Any, facilities: Any, *, mode: str, network: RoadNetwork | None,
                 max_snap: float | None, direction: Literal["to", "from"]) -> None:
        self.engine, self.mode, self.network, self.max_snap, self.direction = engine, mode, network, max_snap, direction
        if mode == "straight":
            crs = _working_crs(network, demand, facilities)
            demand, facilities = _metric(demand, "demand", crs), _metric(facilities, "facilities", crs)
        self.demand, self.facilities = demand, facilities
        self._demand_access: tuple[Access, pd.Index] | None = None
        self._facility_access: tuple[Access, pd.Index] | None = None

    def _access(self) -> tuple[tuple[Access, pd.Index], tuple[Access, pd.Index]]:
        """Where every unit and every facility joins the network (travel starts at the units for 'to')."""
        assert self.network is not None
        if self._demand_access is None or self._facility_access is None:
            back: Literal["to", "from"] = "from" if self.direction == "to" else "to"
            self._demand_access = _access(self.network, self.demand, "origins", max_snap=self.max_snap,
                                          direction=self.direction, engine=self.engine)
            self._facility_access = _access(self.network, self.facilities, "facilities", max_snap=self.max_snap,
                                            direction=back, engine=self.engine)
        return self._demand_access, self._facility_access

    def distances(self, demand_keep: np.ndarray | None = None, facility_keep: np.ndarray | None = None, *,
                  cutoff: float | None) -> pd.DataFrame:
        """As :func:`site_distances`, for the units and facilities the boolean masks keep (default: all)."""
        if self.mode == "straight":
            d = self.demand if demand_keep is None else self.demand[demand_keep]
            f = self.facilities if facility_keep is None else self.facilities[facility_keep]
            return _straight_distances(d, f, cutoff, self.engine)
        assert self.network is not None
        (o_acc, o_index), (f_acc, f_index) = self._access()
        return _net.nearest_from_access(
            self.network, _subset(o_acc, demand_keep), _subset(f_acc, facility_keep),
            origin_index=o_index if demand_keep is None else o_index[demand_keep],
            facility_index=f_index if facility_keep is None else f_index[facility_keep], cutoff=cutoff,
            direction=self.direction)


def coverage_matrix(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    distance: float,
    mode: Literal["network", "straight"] = "network",
    network: RoadNetwork | None = None,
    max_snap: float | None = None,
) -> DistanceMatrix:
    """Which candidate facility sites would serve which demand sites: the input of LSCP / MCLP models.

    Parameters
    ----------
    demand
        Demand sites (rows of the matrix).
    candidates
        Candidate (or existing) facility sites (columns).
    distance
        Service distance in metres: pairs farther apart are not stored.
    mode, network, max_snap
        As for :func:`site_distances`.

    Returns
    -------
    nbgeo.network.DistanceMatrix
        Sparse distances; ``.covers()`` gives the boolean coverage matrix
        ``a_ij`` of the location models, ``.to_dense()`` a dense cost matrix.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> sites = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(500, 0)], index=["s1", "s2"], crs="EPSG:32651")
    >>> cands = gpd.GeoDataFrame(geometry=[Point(0, 300), Point(900, 0)], index=["k1", "k2"], crs="EPSG:32651")
    >>> m = coverage_matrix(sites, cands, distance=450, mode="straight")
    >>> m.covers().toarray().tolist(), m.columns.tolist()
    ([[True, False], [False, True]], ['k1', 'k2'])
    """
    from scipy import sparse

    if mode == "network":
        if network is None:
            msg = "a network coverage matrix needs a road network (pass network=, or use mode='straight')"
            raise InputError(msg, code="E-NET-MISSING")
        return _net.distance_matrix(network, demand, candidates, cutoff=distance, max_snap=max_snap)
    if mode != "straight":
        msg = f"mode must be one of {', '.join(MODES)}, got {mode!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    crs = _working_crs(network, demand, candidates)
    d = _metric(demand, "demand", crs)
    c = _metric(candidates, "candidates", crs)
    d_geoms = np.asarray(d.geometry.values, dtype=object)
    c_geoms = np.asarray(c.geometry.values, dtype=object)
    tree = shapely.STRtree(c_geoms)
    rows, cols = tree.query(d_geoms, predicate="dwithin", distance=distance)
    dist = shapely.distance(d_geoms[rows], c_geoms[cols])
    order = np.lexsort((cols, rows))
    rows, cols, dist = rows[order], cols[order], dist[order]
    indptr = np.zeros(len(d) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(d)), out=indptr[1:])
    matrix = sparse.csr_array((dist, cols, indptr), shape=(len(d), len(c)))
    return _net.DistanceMatrix(matrix=matrix, rows=pd.Index(d.index), columns=pd.Index(c.index),
                               cutoff=float(distance))


# --------------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Coverage:
    """Coverage of demand by facilities within a service distance.

    Attributes
    ----------
    units
        One row per demand unit (a site, or a piece of one), in the metric
        CRS: ``site``, ``weight``, ``distance`` (metres to the nearest
        facility; ``inf`` if none within the search), ``facility``,
        ``covered`` (covered part of the weight) and ``district``.
    distance
        The service distance in metres.
    mode
        ``"network"`` or ``"straight"``.
    weight
        What the weights measure.
    """

    units: gpd.GeoDataFrame
    distance: float
    mode: str
    weight: str

    @property
    def total(self) -> float:
        """Total demand weight."""
        return float(self.units["weight"].sum())

    @property
    def covered(self) -> float:
        """Covered demand weight."""
        return float(self.units["covered"].sum())

    @property
    def share(self) -> float:
        """Covered share of the demand in percent (NaN when there is no demand)."""
        total = self.total
        return 100.0 * self.covered / total if total > 0 else float("nan")

    def sites(self) -> pd.DataFrame:
        """Per demand site: weight, covered weight, covered share (%), least distance, nearest facility."""
        u = self.units
        g = u.groupby("site", sort=False)
        out = pd.DataFrame({"weight": g["weight"].sum(), "covered": g["covered"].sum(),
                            "distance": g["distance"].min()})
        out["share"] = 100.0 * out["covered"] / out["weight"].where(out["weight"] > 0)
        nearest = u.loc[u.groupby("site", sort=False)["distance"].idxmin().to_numpy(), ["site", "facility"]]
        out["facility"] = pd.Series(nearest["facility"].to_numpy(), index=nearest["site"].to_numpy(), dtype=object)
        out.index.name = "site"
        return out

    def uncovered(self) -> pd.DataFrame:
        """The sites not fully covered, farthest first (see :meth:`sites`)."""
        s = self.sites()
        return s[s["covered"] < s["weight"] - 1e-9].sort_values("distance", ascending=False, kind="stable")

    def by(self, column: str = "district") -> pd.DataFrame:
        """Coverage per group of units (e.g. per district): weight, covered, share (%), sites, uncovered sites."""
        u = self.units
        sites = self.sites()
        site_group = u.groupby("site", sort=False)[column].first()
        g = u.groupby(column, sort=True, dropna=False)
        out = pd.DataFrame({"weight": g["weight"].sum(), "covered": g["covered"].sum()})
        out["share"] = 100.0 * out["covered"] / out["weight"].where(out["weight"] > 0)
        not_full = sites["covered"] < sites["weight"] - 1e-9
        out["sites"] = site_group.value_counts(dropna=False).reindex(out.index, fill_value=0)
        out["uncovered_sites"] = site_group[not_full.reindex(site_group.index).to_numpy()].value_counts(
            dropna=False).reindex(out.index, fill_value=0)
        return out


def _districts_of(points: np.ndarray, districts: gpd.GeoDataFrame | None, column: str, crs: Any) -> np.ndarray:
    """The district name of each point (``None`` outside every district)."""
    out = np.full(len(points), None, dtype=object)
    if districts is None or len(points) == 0:
        return out
    d = _metric(districts, "districts", crs)
    names = d[column].to_numpy(dtype=object) if column in d.columns else np.asarray(d.index, dtype=object)
    tree = shapely.STRtree(np.asarray(d.geometry.values, dtype=object))
    left, right = tree.query(points, predicate="intersects")
    # A point on a shared border belongs to the first district listed.
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    head = np.r_[True, left[1:] != left[:-1]] if len(left) else np.zeros(0, dtype=bool)
    out[left[head]] = names[right[head]]
    return out


def coverage(
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    distance: float,
    mode: Literal["network", "straight"] = "network",
    network: RoadNetwork | None = None,
    weight: str = "count",
    split: Literal["none", "grid", "length"] | None = None,
    cell: float = 100.0,
    districts: gpd.GeoDataFrame | None = None,
    district_column: str = "name",
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    search: float | None = None,
    engine: Engine | None = None,
) -> Coverage:
    """Coverage of demand by facilities within ``distance`` (see the module docstring for the formula).

    Parameters
    ----------
    demand
        Demand sites: points, polygons or lines (any CRS).
    facilities
        Facilities (any CRS).
    distance
        Service distance in metres (inclusive).
    mode
        ``"network"`` (by road) or ``"straight"``.
    network
        The road network (for ``"network"``).
    weight, split, cell
        How demand is weighed and cut, see :func:`demand_units`.
    districts
        Polygons to break the coverage down by (e.g. the dataset's districts).
    district_column
        Their name column.
    max_snap, direction
        See :func:`nbgeo.network.nearest_facility`.
    search
        Distances are computed up to this (default ``4 × distance``) so that
        uncovered sites still show how far they are; beyond it they are ``inf``.
    engine
        Where the snapping runs (see :func:`site_distances`); same results.

    Returns
    -------
    Coverage

    Examples
    --------
    Coverage by road is never above coverage in a straight line.

    >>> import geopandas as gpd, numpy as np
    >>> from shapely import Point
    >>> from nbgeo import network
    >>> net = network.network_from_arrays(np.array([0.0, 600, 600]), np.array([0.0, 0, 600]), u=[0, 1, 1, 2],
    ...                                   v=[1, 0, 2, 1], crs="EPSG:32651")
    >>> parks = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(600, 0), Point(0, 600)], crs="EPSG:32651")
    >>> charger = gpd.GeoDataFrame(geometry=[Point(600, 600)], crs="EPSG:32651")
    >>> by_road = coverage(parks, charger, distance=800, network=net)
    >>> straight = coverage(parks, charger, distance=800, mode="straight", network=net)
    >>> round(by_road.share, 1), round(straight.share, 1)
    (33.3, 66.7)
    """
    if not (isinstance(distance, (int, float)) and np.isfinite(distance) and distance >= 0):
        msg = f"distance must be a finite number of metres >= 0, got {distance!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    crs = _working_crs(network, demand, facilities)
    units = demand_units(demand, weight=weight, split=split, cell=cell, crs=crs)
    reps = shapely.point_on_surface(np.asarray(units.geometry.values, dtype=object))
    units["district"] = _districts_of(reps, districts, district_column, crs)
    return _cover(units, facilities, distance=float(distance), mode=mode, network=network, weight=weight,
                  max_snap=max_snap, direction=direction, search=search, engine=engine)


def _search_limit(distance: float, search: float | None) -> float:
    """How far distances are computed: ``search``, at least the service distance (default 4 × it)."""
    return 4.0 * distance if search is None else max(float(search), distance)


def _cover(units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, *, distance: float,
           mode: Literal["network", "straight"],
           network: RoadNetwork | None, weight: str, max_snap: float | None, direction: Literal["to", "from"],
           search: float | None, engine: Engine | None = None, distances: pd.DataFrame | None = None) -> Coverage:
    """Measure prepared units (see :func:`demand_units`) against facilities.

    ``distances``, when given, are the units' :func:`site_distances` (in their order), measured beforehand.
    """
    units = units.copy()
    limit = _search_limit(distance, search)
    if len(units):
        dist = distances if distances is not None else site_distances(
            units, facilities, mode=mode, network=network, cutoff=limit, max_snap=max_snap, direction=direction,
            engine=engine)
        units["distance"] = dist["distance"].to_numpy()
        units["facility"] = dist["facility"].to_numpy()
        if "snap" in dist.columns:
            units["snap"] = dist["snap"].to_numpy()
    else:
        units["distance"] = np.zeros(0)
        units["facility"] = np.zeros(0, dtype=object)
    units["covered"] = np.where(units["distance"].to_numpy() <= distance, units["weight"].to_numpy(), 0.0)
    if "district" not in units.columns:
        units["district"] = None
    return Coverage(units=units, distance=float(distance), mode=mode, weight=weight)


def road_coverage(
    network: RoadNetwork,
    facilities: gpd.GeoDataFrame,
    *,
    distance: float,
    districts: gpd.GeoDataFrame | None = None,
    district_column: str = "name",
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    engine: Engine | None = None,
) -> Coverage:
    """Length of road within ``distance`` by road of a facility, exactly, piece by piece.

    Each street between two nodes is one unit weighing its length. A point at
    distance ``t`` from node ``a`` on a street of length ``L`` to node ``b``
    reaches a facility after ``t + D_a`` (going back to ``a``, if the street
    is open that way) or ``L - t + D_b`` (going on to ``b``); the covered
    length is the measure of the ``t`` for which one of them is at most the
    service distance. With an ``engine``, the facilities are joined to the
    network on it (:meth:`~nbgeo.engine.Engine.access_points`); same results.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> from shapely import Point
    >>> from nbgeo import network
    >>> two_way = network.network_from_arrays(np.array([0.0, 1000]), np.zeros(2), u=[0, 1], v=[1, 0],
    ...                                       crs="EPSG:32651")
    >>> charger = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:32651")
    >>> road_coverage(two_way, charger, distance=300).covered
    300.0
    >>> one_way = network.network_from_arrays(np.array([0.0, 1000]), np.zeros(2), u=[1], v=[0], crs="EPSG:32651")
    >>> road_coverage(one_way, charger, distance=300).covered
    300.0
    >>> road_coverage(one_way, charger, distance=300, direction="from").covered
    0.0
    """
    import geopandas as gpd

    reach = _road_reach(network, facilities, distance=distance, max_snap=max_snap, direction=direction,
                        engine=engine)
    a, b = reach["a"], reach["b"]
    x, y = network.x, network.y
    lines = shapely.linestrings(np.stack([np.column_stack([x[a], y[a]]), np.column_stack([x[b], y[b]])], axis=1)) \
        if len(a) else np.zeros(0, dtype=object)
    frac = np.minimum(1.0, reach["reach_a"] + reach["reach_b"])
    units = gpd.GeoDataFrame(
        {"site": np.arange(len(a)), "weight": reach["length"], "distance": reach["distance"],
         "facility": reach["facility"], "covered": frac * reach["length"], "reach_a": reach["reach_a"],
         "reach_b": reach["reach_b"]},
        geometry=lines, crs=network.crs,
    )
    mids = shapely.points((x[a] + x[b]) / 2, (y[a] + y[b]) / 2)
    units["district"] = _districts_of(np.asarray(mids, dtype=object), districts, district_column, network.crs)
    return Coverage(units=units, distance=float(distance), mode="network", weight="length")


def _road_reach(network: RoadNetwork, facilities: Any, *, distance: float, max_snap: float | None,
                direction: Literal["to", "from"], engine: Engine | None = None) -> dict[str, np.ndarray]:
    """Per street piece (nodes a < b): the share of it within reach from each end, and the nearest facility."""
    f_acc, f_index = _access(network, facilities, "facilities", max_snap=max_snap,
                             direction="from" if direction == "to" else "to", engine=engine)
    d_node, src = _net.node_distances(network, f_acc.node, offsets=f_acc.offset, cutoff=distance,
                                      direction=direction)
    pieces = _net.road_pieces(network)
    a, b = pieces.a, pieces.b
    # Travelling to a facility ("to"): from a point on a->b one drives on to b along a->b (if it exists), or
    # back to a along b->a. From a facility ("from"): one arrives at a and drives on along a->b, or via b->a.
    # The share of the piece within reach from each end: (r - D_end) / L, clipped to [0, 1]; a direction
    # closed to traffic reaches nothing.
    with np.errstate(divide="ignore", invalid="ignore"):
        if direction == "to":
            reach_b = np.where(pieces.has_ab, (distance - d_node[b]) / pieces.length_ab, 0.0)
            reach_a = np.where(pieces.has_ba, (distance - d_node[a]) / pieces.length_ba, 0.0)
        else:
            reach_a = np.where(pieces.has_ab, (distance - d_node[a]) / pieces.length_ab, 0.0)
            reach_b = np.where(pieces.has_ba, (distance - d_node[b]) / pieces.length_ba, 0.0)
    reach_a = np.clip(np.nan_to_num(reach_a, nan=0.0, neginf=0.0, posinf=1.0), 0.0, 1.0)
    reach_b = np.clip(np.nan_to_num(reach_b, nan=0.0, neginf=0.0, posinf=1.0), 0.0, 1.0)
    near_node = np.where(d_node[a] <= d_node[b], a, b)
    fac = np.full(len(a), None, dtype=object)
    has = src[near_node] >= 0
    fac[has] = np.asarray(f_index, dtype=object)[f_acc.owner[src[near_node[has]]]]
    return {"a": a, "b": b, "reach_a": reach_a, "reach_b": reach_b,
            "length": np.fmin(pieces.length_ab, pieces.length_ba), "distance": np.fmin(d_node[a], d_node[b]),
            "facility": fac}


def service_areas(
    facilities: gpd.GeoDataFrame,
    *,
    distance: float,
    mode: Literal["network", "straight"] = "network",
    network: RoadNetwork | None = None,
    resolution: float = 100.0,
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    engine: Engine | None = None,
) -> gpd.GeoDataFrame:
    """The area served by the facilities, as one (multi)polygon for the map.

    In ``"straight"`` mode it is the union of discs of radius ``distance``.
    By road it is a band of about ``resolution`` metres each side of every piece of road
    within ``distance`` of a facility (:func:`road_coverage`), traced on a grid
    of ``resolution`` metres and simplified (with an ``engine``, the facilities
    join the network on it). It is a picture of the covered roads, not a
    measure: shares come from :func:`coverage`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row in the metric CRS (empty when nothing is served).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> f = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0)], crs="EPSG:32651")
    >>> area = service_areas(f, distance=50, mode="straight")
    >>> round(float(area.area.iloc[0]) / 7846, 1)
    2.0
    """
    import geopandas as gpd

    crs = _working_crs(network, facilities)
    if mode == "straight":
        f = _metric(facilities, "facilities", crs)
        geoms = np.asarray(f.geometry.values, dtype=object)
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if len(geoms) == 0:
            area = None
        elif len(geoms) <= 2000:
            area = shapely.union_all(shapely.buffer(geoms, distance, quad_segs=16))
        else:  # many discs: trace them on a grid, much faster than a union of thousands of circles
            centres = shapely.get_coordinates(shapely.centroid(geoms))
            area = _polygonize(centres, distance, resolution)
    else:
        if network is None:
            msg = "network service areas need a road network"
            raise InputError(msg, code="E-NET-MISSING")
        area = _road_band(_road_reach(network, facilities, distance=distance, max_snap=max_snap,
                                      direction=direction, engine=engine), network, resolution)
    shapes = [] if area is None or area.is_empty else [area]
    return gpd.GeoDataFrame({"distance": [float(distance)] * len(shapes)}, geometry=shapes, crs=crs)


def _road_band(reach: dict[str, np.ndarray], network: RoadNetwork, resolution: float) -> shapely.Geometry | None:
    """The covered stretches of road, traced on a grid of ``resolution`` metres (one cell each side)."""
    ra, rb = reach["reach_a"], reach["reach_b"]
    if len(ra) == 0:
        return None
    a = np.column_stack([network.x[reach["a"]], network.y[reach["a"]]])
    b = np.column_stack([network.x[reach["b"]], network.y[reach["b"]]])
    full = ra + rb >= 1.0
    # Each covered stretch as (start, end) fractions along its piece: all of it, or the ends within reach.
    t0 = np.concatenate([np.zeros(int(full.sum())), np.zeros(int((~full & (ra > 0)).sum())),
                         1.0 - rb[~full & (rb > 0)]])
    t1 = np.concatenate([np.ones(int(full.sum())), ra[~full & (ra > 0)], np.ones(int((~full & (rb > 0)).sum()))])
    which = np.concatenate([np.flatnonzero(full), np.flatnonzero(~full & (ra > 0)), np.flatnonzero(~full & (rb > 0))])
    if len(which) == 0:
        return None
    p0 = a[which] + (b[which] - a[which]) * t0[:, None]
    p1 = a[which] + (b[which] - a[which]) * t1[:, None]
    # Sample every stretch at half a cell, so that every cell it crosses is marked.
    n = np.maximum(1, np.ceil(np.hypot(*(p1 - p0).T) / (resolution / 2)).astype(np.int64))
    seg = np.repeat(np.arange(len(n)), n + 1)
    frac = np.arange(len(seg)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)
    frac = frac / np.repeat(n, n + 1)
    xy = p0[seg] + (p1[seg] - p0[seg]) * frac[:, None]
    return _polygonize(xy, np.zeros(0), resolution, stamp=1.0 * resolution)


def _polygonize(xy: np.ndarray, radius: np.ndarray | float, resolution: float, *,
                stamp: float | None = None) -> shapely.Geometry | None:
    """Mark the cells of a grid within ``stamp`` (or ``radius``) of each point; trace them into polygons.

    The grid is numpy only (no per-shape Python), traced by ``rasterio.features.shapes`` and
    simplified by half a cell: a picture for the map, not a measure.
    """
    from affine import Affine
    from rasterio import features

    if len(xy) == 0:
        return None
    reach = float(stamp if stamp is not None else radius)
    x0, y0 = xy.min(axis=0) - reach - 2 * resolution
    x1, y1 = xy.max(axis=0) + reach + 2 * resolution
    width = int(np.ceil((x1 - x0) / resolution))
    height = int(np.ceil((y1 - y0) / resolution))
    # The cells whose centre lies within `reach` of a point's cell centre: a disc-shaped stamp.
    k = int(np.ceil(reach / resolution))
    dx, dy = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1))
    inside = np.hypot(dx, dy) * resolution <= reach + resolution / 2
    dx, dy = dx[inside], dy[inside]
    col = ((xy[:, 0] - x0) // resolution).astype(np.int64)
    row = ((y1 - xy[:, 1]) // resolution).astype(np.int64)
    cells = np.unique(row * width + col)
    grid = np.zeros((height, width), dtype=np.uint8)
    cr, cc = cells // width, cells % width
    for ox, oy in zip(dx, dy, strict=True):
        grid[np.clip(cr + oy, 0, height - 1), np.clip(cc + ox, 0, width - 1)] = 1
    transform = Affine(resolution, 0, x0, 0, -resolution, y1)  # north up, as rasterio expects
    polys = [shapely.geometry.shape(geom) for geom, val in features.shapes(grid, mask=grid > 0, transform=transform)
             if val]
    if not polys:
        return None
    # shapes() gives disjoint polygons: no union needed.
    return shapely.simplify(shapely.multipolygons(polys), resolution / 2)


# --------------------------------------------------------------------------------------------
# Coverage requirements of a plan
# --------------------------------------------------------------------------------------------


def _spec_params(spec: CoverageSpec) -> dict[str, Any]:
    """Validated parameters of a ``[[coverage]]`` table, with defaults filled in."""
    params = dict(spec.params)

    def fail(msg: str) -> PlanError:
        return PlanError(f"coverage {spec.id!r}: {msg}", code="E-PLAN-COVERAGE")

    unknown = set(params) - set(SPEC_KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(SPEC_KEYS)}")
    if "distance" not in params:
        raise fail("missing key 'distance' (the service distance in metres)")
    dist = params["distance"]
    if isinstance(dist, bool) or not isinstance(dist, (int, float)) or not dist > 0:
        raise fail(f"distance must be a positive number of metres, got {dist!r}")
    out = {
        "distance": float(dist), "mode": params.get("mode", "network"), "network": params.get("network", "roads"),
        "weight": params.get("weight", "count"), "split": params.get("split", "none"),
        "cell": float(params.get("cell", 100.0)), "op": params.get("op", ">="),
        "threshold": float(params.get("threshold", 100.0)), "unit": params.get("unit", "%"),
        "demand_where": dict(params.get("demand_where", {})), "facilities_where": dict(params.get("facilities_where", {})),
        "year_column": params.get("year_column", "year"), "years": params.get("years", "cumulative"),
        "max_snap": params.get("max_snap"), "direction": params.get("direction", "to"),
    }
    for side in ("demand", "facilities"):
        out[f"{side}_year_column"] = params.get(f"{side}_year_column", out["year_column"])
    from .plan import OPERATORS, YEAR_MODES

    for key, allowed in (("mode", MODES), ("split", _SPLITS), ("op", OPERATORS), ("years", YEAR_MODES),
                         ("direction", ("to", "from"))):
        if out[key] not in allowed:
            raise fail(f"{key} must be one of {', '.join(allowed)}, got {out[key]!r}")
    return out


def evaluate_coverage(
    spec: CoverageSpec,
    dataset: Dataset,
    *,
    year: int,
    plan: Plan | None = None,
    networks: Mapping[str, RoadNetwork] | None = None,
    overlays: bool = True,
    area_cache: dict[tuple[Any, ...], gpd.GeoDataFrame] | None = None,
    engine: Engine | None = None,
) -> tuple[list[dict[str, Any]], dict[str, gpd.GeoDataFrame]]:
    """Evaluate one coverage requirement of a plan: verdicts, plus map overlays.

    Each verdict has the fields of a target result (``id``, ``layer``,
    ``metric`` = ``"coverage"``, ``year``, ``op``, ``threshold``, ``actual``
    (the covered share in %), ``unit``, ``status`` (``met`` / ``not_met`` /
    ``unknown``), ``margin``, ``title``, ``phrase``, ``note``, ``proposed``)
    and the details: ``facilities``, ``distance_m``, ``mode``, ``weight``,
    ``sites``, ``covered_sites``, ``uncovered`` (ids, farthest first, with
    their distance), ``by_district``, ``by_year`` and the ``network``'s
    provenance.

    Parameters
    ----------
    spec
        The requirement (from the plan's ``[[coverage]]`` table; keys in :data:`SPEC_KEYS`).
    dataset
        The layers.
    year
        The evaluation year.
    plan
        The plan, for the years of ``by_year``.
    networks
        Road networks by name; default: those the dataset's manifest declares.
    overlays
        Also compute the service area and the uncovered sites for the map.
    area_cache
        A dict in which service areas are kept, so that requirements on the
        same facilities and distance share one (see :func:`evaluate_plan_coverage`).
    engine
        Where the snapping runs (:mod:`nbgeo.engine`; default: in this
        process). By road, every demand unit and facility is joined to the
        network once on the engine, and each year's Dijkstra runs here; in a
        straight line, each year's units are snapped to that year's
        facilities on the engine. The verdicts are the same.

    Returns
    -------
    list of dict, dict
        The verdicts (one, or one per year for ``years = "each_year"``) and
        the overlays by title (EPSG:4326, columns ``status`` and ``label``).
    """
    p = _spec_params(spec)
    years = [y for y in (plan.years if plan else (year,)) if y <= year] or [year]
    base: dict[str, Any] = {
        "id": spec.id, "layer": spec.demand, "metric": "coverage", "op": p["op"], "threshold": p["threshold"],
        "unit": p["unit"], "title": spec.title, "phrase": spec.phrase, "proposed": spec.proposed,
        "facilities": spec.facilities, "distance_m": p["distance"], "mode": p["mode"], "weight": p["weight"],
    }

    def unknown(note: str, when: list[int]) -> tuple[list[dict[str, Any]], dict[str, gpd.GeoDataFrame]]:
        return [{**base, "year": y, "actual": None, "status": "unknown", "margin": None, "note": note}
                for y in when], {}

    eval_years = years if p["years"] == "each_year" else [year]
    rasters = getattr(dataset, "rasters", {})
    demand_is_grid = spec.demand not in dataset and spec.demand in rasters
    for layer in (spec.demand, spec.facilities):
        if layer not in dataset and not (layer == spec.demand and demand_is_grid):
            return unknown(f"dataset has no layer {layer!r}", eval_years)
    net = None
    if p["mode"] == "network":
        if networks is not None and p["network"] in networks:
            net = networks[p["network"]]
        else:
            try:
                net = _net.read_dataset_network(dataset, p["network"])
            except InputError as exc:
                if exc.code != "E-NET-MISSING":  # a network that is declared but cannot be read is bad input
                    raise
                return unknown(f"no road network: {exc.message}", eval_years)
        base["network"] = {"name": p["network"], "file": net.meta.file, "source": net.meta.source,
                           "licence": net.meta.licence, "illustrative": net.meta.illustrative,
                           "nodes": net.n_nodes, "edges": net.n_edges}
    fac_all = dataset.metric(spec.facilities)
    if demand_is_grid:  # a population / employment grid: cells weighted by their value
        demand_all = raster_demand(rasters[spec.demand]).to_crs(fac_all.crs)
    else:
        demand_all = dataset.metric(spec.demand)
    if net is not None and not demand_all.crs.equals(net.crs):
        demand_all = demand_all.to_crs(net.crs)
        fac_all = fac_all.to_crs(net.crs)
    d_mask = filter_mask(demand_all, p["demand_where"], layer=spec.demand,
                         key=f"coverage {spec.id!r}, key 'demand_where'")
    f_mask = filter_mask(fac_all, p["facilities_where"], layer=spec.facilities,
                         key=f"coverage {spec.id!r}, key 'facilities_where'")

    # Which sites and facilities exist in a year (nbgeo.filters' year rule). A raster grid has no features to date.
    def in_year(side: str, gdf: gpd.GeoDataFrame, y: int) -> pd.Series:
        column = "" if side == "demand" and demand_is_grid else p[f"{side}_year_column"]
        return year_mask(gdf, y, column=column, layer=getattr(spec, side), key=f"{side}_year_column")

    try:  # a layer without its year column cannot say what existed: unknown, with the reason
        in_year("demand", demand_all.iloc[:0], year)
        in_year("facilities", fac_all.iloc[:0], year)
    except MissingDataError as exc:
        return unknown(exc.message, eval_years)
    districts = dataset.metric("districts") if "districts" in dataset else None
    crs = demand_all.crs
    # Cut the demand into units once; each year keeps the units of the sites that exist by then.
    try:
        units_all = demand_units(demand_all[d_mask], weight=p["weight"], split=p["split"], cell=p["cell"], crs=crs,
                                 layer=spec.demand)
    except InputError as exc:
        return unknown(exc.message, eval_years)
    reps = shapely.point_on_surface(np.asarray(units_all.geometry.values, dtype=object))
    units_all["district"] = _districts_of(reps, districts, "name", crs)
    results: dict[int, Coverage] = {}
    fac_chosen = fac_all[f_mask]
    snapping = None if engine is None else _Snapping(engine, units_all, fac_chosen, mode=p["mode"], network=net,
                                                    max_snap=p["max_snap"], direction=p["direction"])
    for y in years:
        site_year = in_year("demand", demand_all, y)
        present = set(demand_all.index[d_mask & site_year])
        unit_keep = units_all["site"].isin(present).to_numpy()
        fac_keep = in_year("facilities", fac_chosen, y).to_numpy()
        units, facilities = units_all[unit_keep], fac_chosen[fac_keep]
        # Only the verdict years list how far the uncovered sites are; the other years need the share alone.
        search = None if y in eval_years else p["distance"]
        distances = None if snapping is None or not len(units) else snapping.distances(
            unit_keep, fac_keep, cutoff=_search_limit(p["distance"], search))
        results[y] = _cover(units, facilities, distance=p["distance"], mode=p["mode"], network=net,
                            weight=p["weight"], max_snap=p["max_snap"], direction=p["direction"], search=search,
                            distances=distances)

    def verdict(y: int) -> dict[str, Any]:
        cov = results[y]
        share = cov.share
        entry = {**base, "year": y}
        if not np.isfinite(share):
            entry.update(actual=None, status="unknown", margin=None,
                         note=f"no {spec.demand!r} sites in {y} after the filters")
            return entry
        actual = round(share, 6)
        met, margin = meets(p["op"], actual, p["threshold"]), margin_of(p["op"], actual, p["threshold"])
        sites = cov.sites()
        unc = cov.uncovered()
        entry.update(actual=actual, status="met" if met else "not_met", margin=round(margin, 6), note="")
        entry["sites"] = len(sites)
        entry["covered_sites"] = int((sites["covered"] >= sites["weight"] - 1e-9).sum())
        entry["covered_weight"] = round(cov.covered, 3)
        entry["total_weight"] = round(cov.total, 3)
        entry["uncovered"] = [
            {"id": str(i), "distance_m": None if not np.isfinite(r.distance) else round(float(r.distance), 1),
             "share": round(float(r.share), 3)}
            for i, r in unc.head(1000).iterrows()
        ]
        if len(unc) > 1000:
            entry["note"] = f"{len(unc)} sites not fully covered; the 1,000 farthest are listed"
        by_d = cov.by("district")
        entry["by_district"] = [
            {"district": None if pd.isna(k) else str(k), "share": None if pd.isna(r.share) else round(float(r.share), 3),
             "sites": int(r.sites), "uncovered_sites": int(r.uncovered_sites)}
            for k, r in by_d.iterrows()
        ]
        entry["by_year"] = [
            {"year": yy, "share": None if not np.isfinite(results[yy].share) else round(results[yy].share, 3),
             "sites": int(results[yy].units["site"].nunique())}
            for yy in years if yy <= y
        ]
        if "snap" in cov.units.columns and len(cov.units):
            snap = cov.units.groupby("site", sort=False)["snap"].min().to_numpy(dtype=float)
            snap = snap[np.isfinite(snap)]
            if len(snap):
                entry["snap_m"] = {"median": round(float(np.median(snap)), 1), "max": round(float(snap.max()), 1)}
        return entry

    entries = [verdict(y) for y in eval_years]
    shapes: dict[str, gpd.GeoDataFrame] = {}
    if overlays:
        facilities = fac_all[f_mask & in_year("facilities", fac_all, year)]
        key = (spec.facilities, repr(sorted(p["facilities_where"].items())), p["facilities_year_column"], year,
               p["distance"],
               p["mode"], p["network"] if net is not None else None, p["max_snap"], p["direction"])
        cache = {} if area_cache is None else area_cache
        if key not in cache:
            cache[key] = service_areas(facilities, distance=p["distance"], mode=p["mode"], network=net,
                                       max_snap=p["max_snap"], direction=p["direction"], resolution=_MAP_RESOLUTION,
                                       engine=engine)
        shapes = _overlays(spec, p, results[year], dataset, cache[key], net)
    log.info("Coverage %r: %s", spec.id, ", ".join(f"{e['year']} {e['status']}" for e in entries))
    return entries, shapes


#: Grid of the service areas drawn on the audit map (metres): a picture, not a measure.
_MAP_RESOLUTION = 150.0


def _overlays(spec: CoverageSpec, p: dict[str, Any], cov: Coverage, dataset: Dataset,
              area: gpd.GeoDataFrame, net: RoadNetwork | None) -> dict[str, gpd.GeoDataFrame]:
    import geopandas as gpd

    how = "by road" if p["mode"] == "network" else "straight-line"
    km = f"{p['distance'] / 1000:g} km" if p["distance"] >= 1000 else f"{p['distance']:g} m"
    flag = " (illustrative roads)" if net is not None and net.meta.illustrative else ""
    out: dict[str, gpd.GeoDataFrame] = {}
    area = area.copy()
    if len(area):
        area["status"] = "service_area"
        area["label"] = f"{spec.facilities}: within {km} {how}{flag}"
        out[f"Service area: {spec.id} ({km} {how})"] = area[["status", "label", "geometry"]].to_crs(4326)
    unc = cov.uncovered()
    if len(unc):
        sites = dataset[spec.demand].loc[unc.index]
        part = {"area": "area", "length": "length"}.get(p["weight"], p["weight"])

        def label(site: object, dist: float, share: float) -> str:
            if p["split"] != "none":  # a zone or road only partly served: say how much
                return f"{site}: {share:.0f} % of its {part} within {km} {how} of a {spec.facilities} feature"
            if np.isfinite(dist):
                return f"{site}: {dist:,.0f} m {how} to the nearest {spec.facilities} feature"
            return f"{site}: no {spec.facilities} feature within {4 * p['distance']:,.0f} m {how}"

        labels = [label(i, d, sh) for i, d, sh in zip(unc.index, unc["distance"], unc["share"], strict=True)]
        out[f"Uncovered: {spec.id}"] = gpd.GeoDataFrame({"status": "uncovered", "label": labels},
                                                        geometry=sites.geometry.values, crs=sites.crs,
                                                        index=sites.index)
    return out


def evaluate_plan_coverage(
    plan: Plan,
    dataset: Dataset,
    *,
    year: int | None = None,
    overlays: bool = True,
    engine: Engine | None = None,
) -> tuple[list[dict[str, Any]], dict[str, gpd.GeoDataFrame]]:
    """Evaluate every ``[[coverage]]`` requirement of a plan (see :func:`evaluate_coverage`).

    The dataset's road networks are read once and shared. With an ``engine``
    (:mod:`nbgeo.engine`, e.g. a :class:`~nbgeo.engine.DaskEngine`), the
    snapping of demand sites and facilities runs on it, with the same results.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> entries, shapes = evaluate_plan_coverage(p, io.read_sample(), overlays=False)
    >>> {e["metric"] for e in entries} <= {"coverage"}
    True
    """
    when = plan.horizon if year is None else year
    networks: dict[str, RoadNetwork] = {}
    areas: dict[tuple[Any, ...], gpd.GeoDataFrame] = {}
    entries: list[dict[str, Any]] = []
    shapes: dict[str, gpd.GeoDataFrame] = {}
    for spec in plan.coverage:
        p = _spec_params(spec)
        if p["mode"] == "network" and p["network"] not in networks:
            try:
                networks[p["network"]] = _net.read_dataset_network(dataset, p["network"])
            except InputError:
                pass  # evaluate_coverage reports it as unknown, with the reason
        found, more = evaluate_coverage(spec, dataset, year=when, plan=plan, networks=networks, overlays=overlays,
                                        area_cache=areas, engine=engine)
        entries.extend(found)
        shapes.update(more)
    return entries, shapes


def to_text(entries: list[dict[str, Any]]) -> str:
    """The coverage verdicts as a plain-text table, for a terminal.

    Examples
    --------
    >>> print(to_text([{"id": "mp", "year": 2025, "actual": 84.6, "op": ">=", "threshold": 100.0, "status": "not_met",
    ...                 "mode": "network", "distance_m": 1000.0, "sites": 227, "covered_sites": 192,
    ...                 "proposed": True}]))
    coverage  year  share  threshold  within           sites    status
    mp*       2025  84.6%  >= 100%    1,000 m by road  192/227  not_met
    * proposed by nbgeo beyond the plan's text
    """
    rows = [("coverage", "year", "share", "threshold", "within", "sites", "status")]
    for e in entries:
        share = "—" if e.get("actual") is None else f"{e['actual']:.1f}%"
        how = "by road" if e.get("mode") == "network" else "straight"
        sites = f"{e['covered_sites']}/{e['sites']}" if "sites" in e else "—"
        rows.append((e["id"] + ("*" if e.get("proposed") else ""), str(e["year"]), share,
                     f"{e['op']} {e['threshold']:g}%", f"{e['distance_m']:,.0f} m {how}", sites, e["status"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if any(e.get("proposed") for e in entries):
        lines.append("* proposed by nbgeo beyond the plan's text")
    return "\n".join(lines)
