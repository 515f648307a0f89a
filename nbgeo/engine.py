"""Engines for the heavy steps of an audit: in one process, or over a Dask cluster.

An audit's heavy steps are few and the same everywhere:

- **point in polygon**: which zone each facility lies in (:meth:`Engine.points_in_polygons`);
- **setback joins**: which features lie within a distance of which others
  (:meth:`Engine.within_distance`), and the plan's siting rules
  (:meth:`Engine.evaluate_rules`: on Dask, every kind runs over partitions
  with :mod:`nbgeo.rules`' own code; spacing and overlap over spatial tiles
  with a halo of the rule's reach);
- **snapping**: the nearest target (facility, network node) of each point, for
  coverage (:meth:`Engine.snap`: the straight-line distances of
  :func:`nbgeo.coverage.site_distances` and the nodes of
  :meth:`nbgeo.network.RoadNetwork.snap`), and where demand sites and
  facilities join a road network (:meth:`Engine.access_points`: the access
  points of :func:`nbgeo.network.access_points`, on which coverage by road
  runs its Dijkstra; see :func:`nbgeo.coverage.evaluate_plan_coverage`'s
  ``engine``);
- **yearly aggregation**: counts and sums per zone and year, the targets'
  verdicts (:meth:`Engine.zonal_yearly`, :meth:`Engine.yearly_totals`,
  :meth:`Engine.evaluate_targets`).

:class:`DefaultEngine` runs them in this process with geopandas/shapely,
in chunks of ``chunk_rows`` rows so that memory stays bounded on large
layers. :class:`DaskEngine` runs the same per-chunk code over
dask-geopandas partitions with :mod:`dask.distributed`: a
:class:`~distributed.LocalCluster` (2 worker processes by default) or, with
``scheduler="tcp://host:port"``, an existing cluster. Inputs may be
GeoDataFrames (scattered to the workers in partitions) or dask-geopandas
GeoDataFrames (e.g. from ``dask_geopandas.read_parquet``), which never pass
through this process.

The two engines give identical results: joins are computed pair by pair by
the same GEOS predicates and returned in a fixed order (left row, then right
row); sums of floats are computed *exactly* (:class:`ExactSum`: the
correctly rounded sum, whatever the order or partitioning), so they do not
depend on how the rows were split.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> zones = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
...                          crs=3857, index=["z1", "z2"])
>>> pts = gpd.GeoDataFrame({"year": [2021, 2022, 2022], "kw": [60.0, 120.0, 7.5]},
...                        geometry=[Point(1, 1), Point(12, 5), Point(15, 5)], crs=3857, index=["p1", "p2", "p3"])
>>> engine = DefaultEngine()
>>> engine.points_in_polygons(pts, zones).to_dict("list")
{'left': ['p1', 'p2', 'p3'], 'right': ['z1', 'z2', 'z2']}
>>> engine.zonal_yearly(pts, zones, year="year", values=["kw"]).reset_index().to_dict("list")
{'zone': ['z1', 'z2'], 'year': [2021, 2022], 'count': [1, 2], 'kw': [60.0, 127.5]}
>>> engine.within_distance(pts, zones.iloc[:1], 2.5).to_dict("list")
{'left': ['p1', 'p2'], 'right': ['z1', 'z1'], 'distance': [0.0, 2.0]}
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import replace
from functools import reduce
from operator import add
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import limits
from ._exact import ExactSum
from .errors import CRSError, InputError, MissingDataError
from .filters import as_numbers, missing_year
from .layers import Layer
from .network import Access, RoadNetwork, access_points, read_dataset_network
from .rules import RuleResult, evaluate_rule, evaluate_rules
from .rules.geometry import geometries, neighbourhoods, spatial_tiles
from .rules.own import neighbour_reach
from .rules.result import Reason
from .targets import (
    TargetResult,
    Terms,
    evaluate_targets,
    needs_geometry,
    target_frame,
    target_result,
    target_terms,
    target_value,
    target_years,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from .layers import Dataset
    from .plan import Plan, Target

__all__ = [
    "ENGINES",
    "DaskEngine",
    "DefaultEngine",
    "Engine",
    "ExactSum",
    "get_engine",
]

log = logging.getLogger(__name__)

#: The engine names the CLI accepts.
ENGINES = ("default", "dask")


# --------------------------------------------------------------------------------------------------------------
# Per-chunk kernels: the same functions run in this process and on Dask workers
# --------------------------------------------------------------------------------------------------------------


def _positional(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Only the geometry, indexed 0..n-1."""
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries(np.asarray(gdf.geometry.values), crs=gdf.crs))


def _sorted_pairs(left_pos: np.ndarray, right_pos: np.ndarray) -> np.ndarray:
    return np.lexsort((right_pos, left_pos))


def _pip_kernel(part: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, offset: int = 0) -> pd.DataFrame:
    """Point-in-polygon pairs of one chunk: left/right labels and positions, sorted."""
    joined = gpd.sjoin(_positional(part), _positional(polygons), how="inner", predicate="within")
    li = joined.index.to_numpy(dtype=np.int64)
    ri = joined["index_right"].to_numpy(dtype=np.int64)
    order = _sorted_pairs(li, ri)
    li, ri = li[order], ri[order]
    return pd.DataFrame({"left": part.index.take(li), "right": polygons.index.take(ri),
                         "_lpos": li + offset, "_rpos": ri})


def _dwithin_kernel(part: gpd.GeoDataFrame, right: gpd.GeoDataFrame, reach: float | np.ndarray, offset: int = 0,
                    right_offset: int = 0) -> pd.DataFrame:
    """Pairs of one chunk within ``reach`` (scalar, or one per right feature), with exact distances, sorted."""
    reaches = np.asarray(reach, dtype=np.float64)
    per_feature = reaches.ndim > 0
    query = (float(reaches.max()) if reaches.size else 0.0) if per_feature else float(reaches)
    joined = gpd.sjoin(_positional(part), _positional(right), how="inner", predicate="dwithin", distance=query)
    li = joined.index.to_numpy(dtype=np.int64)
    ri = joined["index_right"].to_numpy(dtype=np.int64)
    order = _sorted_pairs(li, ri)
    li, ri = li[order], ri[order]
    dist = shapely.distance(np.asarray(part.geometry.values)[li], np.asarray(right.geometry.values)[ri])
    if per_feature:
        keep = dist <= reaches[ri]
        li, ri, dist = li[keep], ri[keep], dist[keep]
    return pd.DataFrame({"left": part.index.take(li), "right": right.index.take(ri),
                         "distance": dist, "_lpos": li + offset, "_rpos": ri + right_offset})


def _snap_kernel(part: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, max_distance: float | None,
                 offset: int = 0) -> pd.DataFrame:
    """The nearest target of every point of one chunk; ties go to the first target."""
    joined = gpd.sjoin_nearest(_positional(part), _positional(targets), how="left", max_distance=max_distance,
                               distance_col="_distance")
    li = joined.index.to_numpy(dtype=np.int64)
    raw = joined["index_right"].to_numpy(dtype=np.float64, na_value=np.nan)
    none = len(targets)  # stands for "no target within max_distance"
    ri = np.where(np.isnan(raw), none, np.nan_to_num(raw, nan=none)).astype(np.int64)
    order = _sorted_pairs(li, ri)
    li, ri, dist = li[order], ri[order], joined["_distance"].to_numpy(dtype=np.float64, na_value=np.nan)[order]
    first = np.r_[True, li[1:] != li[:-1]]
    li, ri, dist = li[first], ri[first], dist[first]
    found = ri != none
    labels = targets.index.take(np.where(found, ri, -1), allow_fill=True, fill_value=None)
    return pd.DataFrame({"point": part.index.take(li), "target": labels,
                         "distance": np.where(found, dist, np.nan), "_lpos": li + offset})


def _access_kernel(part: Any, network: RoadNetwork, max_snap: float | None, main_component: bool,
                   direction: str, offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The access points of one chunk of features (owners numbered from ``offset``), and the chunk's length.

    Each feature's access points depend on that feature and the network alone, so chunks concatenate to what
    :func:`nbgeo.network.access_points` gives for the whole layer.
    """
    acc = access_points(network, np.asarray(part.geometry.values, dtype=object), max_snap=max_snap,
                        main_component=main_component, direction=direction)  # type: ignore[arg-type]
    return acc.owner + offset, acc.node, acc.offset, len(part)


def _year_codes(years: pd.Series, wanted: Sequence[int]) -> np.ndarray:
    """Position of each row's year in ``wanted``; -1 for other years and missing ones."""
    numeric = as_numbers(years)
    codes = np.full(len(numeric), -1, dtype=np.int64)
    lookup = {float(y): i for i, y in enumerate(wanted)}
    for value, code in lookup.items():
        codes[numeric == value] = code
    return codes


def _zonal_kernel(part: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, year: str, values: Sequence[str],
                  years: Sequence[int]) -> tuple[np.ndarray, list[ExactSum]]:
    """Counts and exact sums per (zone, year) of the points of one chunk that lie in the zones."""
    pairs = _pip_kernel(part, zones)
    ny = len(years)
    ngroups = len(zones) * ny
    ycode = _year_codes(part[year], years)[pairs["_lpos"].to_numpy()]
    keep = ycode >= 0
    group = pairs["_rpos"].to_numpy()[keep] * ny + ycode[keep]
    counts = np.bincount(group, minlength=ngroups).astype(np.int64)
    sums = []
    for column in values:
        numeric = as_numbers(part[column])
        sums.append(ExactSum.of(group, numeric[pairs["_lpos"].to_numpy()][keep], ngroups))
    return counts, sums


def _yearly_kernel(part: pd.DataFrame, year: str, values: Sequence[str], by: str | None, groups: Sequence[Any],
                   years: Sequence[int]) -> tuple[np.ndarray, list[ExactSum]]:
    ny = len(years)
    ycode = _year_codes(part[year], years)
    if by is None:
        gcode = np.zeros(len(part), dtype=np.int64)
        ngroups = ny
    else:
        gcode = pd.Index(groups).get_indexer(part[by])
        ngroups = len(groups) * ny
    keep = (ycode >= 0) & (gcode >= 0)
    code = gcode[keep] * ny + ycode[keep]
    counts = np.bincount(code, minlength=ngroups).astype(np.int64)
    sums = [ExactSum.of(code, as_numbers(part[c])[keep], ngroups)
            for c in values]
    return counts, sums


def _target_parts(part: gpd.GeoDataFrame, jobs: Sequence[tuple[Target, int]]) -> list[Terms]:
    """For each (target, year): the terms of one partition, by nbgeo.targets' one definition of the metrics."""
    return [target_terms(part, target, year) for target, year in jobs]


# Siting rules run over partitions with nbgeo.rules' own code. Those whose verdict on a site depends only on that
# site and the layers it is checked against split into slices of rows; slope reads the DEM's windows and road
# access the network (each worker reads its file, or nbgeo's disk cache, once). Spacing and overlap compare the
# sites with each other: they split into spatial tiles, each evaluated with the sites within the rule's reach
# around it (a halo), and keep the verdicts of the tile's own sites.
_PER_SITE_RULES = ("within", "exclusion", "setback", "access", "area", "slope")
_NEIGHBOUR_RULES = ("spacing", "overlap")


def _under_limits(given: dict[str, float], kernel: Callable[..., Any], *args: Any) -> Any:
    """``kernel(*args)`` on a worker under the client's limits (``--max-input-mb`` and the others hold there too)."""
    with limits.override(**given):
        return kernel(*args)


def _task_key(kernel: Callable[..., Any], part: int) -> str:
    """A task's name on the dashboard and in task streams: the kernel's, not the limits wrapper's; unique per call."""
    return f"{getattr(kernel, '__name__', 'kernel')}-{part}-{uuid.uuid4().hex}"


def _with_sites(dataset: Dataset, name: str, sites: gpd.GeoDataFrame) -> Dataset:
    """The dataset with layer ``name`` replaced by ``sites`` (same provenance), and a fresh metric cache."""
    layer = dataset.layer(name)
    return replace(dataset, layers={**dataset.layers, name: Layer(sites, layer.meta)}, _metric_cache={})


def _rule_kernel(part: gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, np.ndarray], others: Dataset, rule: Any,
                 tolerance_band: float | None) -> tuple[pd.DataFrame, str, Any]:
    """One partition of a rule's sites: the verdict frame, the note and the measuring CRS.

    A tile with its halo comes as ``(sites, own)``: only the verdicts of the sites marked ``own`` are kept.
    """
    sites, own = part if isinstance(part, tuple) else (part, None)
    result = evaluate_rule(rule, _with_sites(others, rule.layer, sites), tolerance_band=tolerance_band)
    frame = result.frame if own is None else result.frame[result.frame.index.isin(sites.index[own])]
    return frame, result.note, result.crs


def _tiles(dataset: Dataset, layer: str, reach: float, rows: int) -> tuple[list[Any], Any]:
    """A layer cut into spatial tiles of about ``rows`` sites, each with the sites within ``reach`` (a halo).

    Returns the partitions ``(sites, own)`` and a function giving, for some
    sites, those sites and their halo (to measure reasons again locally).
    """
    geoms = geometries(dataset.metric(layer))
    n_tiles = max(1, math.ceil(len(geoms) / rows))
    tile = spatial_tiles(geoms, n_tiles)
    n_tiles = int(tile.max()) + 1 if len(tile) else 1
    raw = dataset[layer]
    parts = []
    for k, members in enumerate(neighbourhoods(geoms, reach, tile, n_tiles)):  # one per tile
        if len(members):
            parts.append((raw.iloc[members], tile[members] == k))

    def around(labels: pd.Index) -> gpd.GeoDataFrame:
        pos = raw.index.get_indexer(labels)
        halo = neighbourhoods(geoms[pos], reach, np.zeros(len(pos), dtype=np.int64), 1, among=geoms)[0]
        return raw.iloc[np.union1d(pos, halo)]

    return parts, around


def _merge_rule(rule: Any, dataset: Dataset, parts: list[tuple[pd.DataFrame, str, Any]],
                tolerance_band: float | None, around: Any = None) -> Any:
    """One RuleResult from the partitions' frames; reasons and offending geometry are measured on demand.

    Reasons and offending pieces are asked for the failing and unknown sites
    only, and depend on nothing but the site and the features it is checked
    against: they are measured again here for just those sites, with the
    same code, which gives what one whole evaluation would have given.
    """
    with_rows = [(frame, note, crs) for frame, note, crs in parts if len(frame)]
    if not with_rows:
        return evaluate_rule(rule, _with_sites(dataset, rule.layer, dataset[rule.layer].iloc[:0]),
                             tolerance_band=tolerance_band)
    frame = pd.concat([f for f, _, _ in with_rows])
    if around is not None:  # tiles: back to the layer's order
        frame = frame.iloc[np.argsort(dataset[rule.layer].index.get_indexer(frame.index), kind="stable")]
    note, crs = with_rows[0][1], with_rows[0][2]

    def local(rows: pd.DataFrame) -> Any:
        sites = dataset[rule.layer].loc[rows.index] if around is None else around(rows.index)
        return evaluate_rule(rule, _with_sites(dataset, rule.layer, sites), tolerance_band=tolerance_band)

    def reasoner(rows: pd.DataFrame) -> list[Reason]:
        result = local(rows)
        return result.reason_keys(rows.index).tolist()

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        result = local(rows)
        assert result._offender is not None
        return result._offender(rows)

    return RuleResult(rule=rule, frame=frame, note=note, crs=crs, _reasoner=reasoner, _offender=offender)


# --------------------------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------------------------


def _check_same_crs(left: Any, right: Any, *, metric: bool, what: str) -> None:
    lcrs, rcrs = left.crs, right.crs
    if lcrs is None or rcrs is None:
        msg = f"{what}: both layers need a CRS"
        raise CRSError(msg, code="E-CRS-MISSING")
    if not lcrs.equals(rcrs):
        msg = f"{what}: the layers are in different CRSs ({lcrs.to_string()} and {rcrs.to_string()})"
        raise CRSError(msg + " (hint: reproject one, e.g. Dataset.metric(name))", code="E-CRS-MISMATCH")
    if metric and not lcrs.is_projected:
        msg = f"{what}: distances need a projected CRS in metres, got {lcrs.to_string()}"
        raise CRSError(msg + " (hint: use Dataset.metric(name) for the working CRS)", code="E-CRS-UNITS")


def _sorted_years(frame: Any, year: str, years: Iterable[int] | None, what: str) -> list[int]:
    if year not in frame.columns:  # nbgeo.filters' year rule: no year column, no yearly answer
        raise missing_year(what, year, key="year")
    if years is not None:
        return sorted({int(y) for y in years})
    column = frame[year]
    if hasattr(column, "dropna") and hasattr(column.dropna(), "compute"):
        column = column.dropna().unique().compute()
    numeric = as_numbers(pd.Series(np.asarray(column)))
    return sorted({int(y) for y in numeric[~np.isnan(numeric)] if float(y).is_integer()})


def _assemble_zonal(counts: np.ndarray, sums: list[ExactSum], zones: gpd.GeoDataFrame, years: Sequence[int],
                    values: Sequence[str], cumulative: bool, index_name: str = "zone") -> pd.DataFrame:
    nz, ny = len(zones), len(years)
    if cumulative:
        counts = counts.reshape(nz, ny).cumsum(axis=1).reshape(-1)
        sums = [_cumulative_by_row(s, nz, ny) for s in sums]
    frame = pd.DataFrame({"count": counts}, index=pd.MultiIndex.from_product([zones.index, years],
                                                                              names=[index_name, "year"]))
    for column, s in zip(values, sums, strict=True):
        frame[column] = s.values()
    if not cumulative:
        frame = frame[frame["count"] > 0]
    return frame


def _cumulative_by_row(sums: ExactSum, rows: int, cols: int) -> ExactSum:
    """Running sums along each row of a (rows x cols) grid of groups (zone x year)."""
    nums: list[int] = []
    pos: list[int] = []
    neg: list[int] = []
    for r in range(rows):
        block = slice(r * cols, (r + 1) * cols)
        piece = ExactSum(sums.numerators[block], sums.pos_inf[block], sums.neg_inf[block]).cumulative()
        nums.extend(piece.numerators)
        pos.extend(piece.pos_inf)
        neg.extend(piece.neg_inf)
    return ExactSum(nums, pos, neg)


def _reduce(results: Iterable[tuple[np.ndarray, list[ExactSum]]]) -> tuple[np.ndarray, list[ExactSum]]:
    counts: np.ndarray | None = None
    sums: list[ExactSum] = []
    for c, s in results:
        if counts is None:
            counts, sums = c.copy(), list(s)
        else:
            counts += c
            sums = [a + b for a, b in zip(sums, s, strict=True)]
    assert counts is not None
    return counts, sums


class Engine:
    """Runs the heavy steps; subclasses decide where. Use as a context manager to release resources.

    All results are in a fixed order: pairs by left row, then right row (the
    input order), so that both engines return identical frames.
    """

    name: ClassVar[str] = "engine"

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the engine's resources (a local cluster, for Dask)."""

    def _map(self, kernel: Callable[..., Any], left: Any, *args: Any, **kwargs: Any) -> list[Any]:
        """``kernel(chunk, *args[, offset])`` for every chunk of ``left``, results in chunk order."""
        raise NotImplementedError

    def points_in_polygons(self, points: Any, polygons: gpd.GeoDataFrame) -> pd.DataFrame:
        """Which polygon each point lies in (strictly inside: ``within``).

        Parameters
        ----------
        points
            Points, a GeoDataFrame (or, for Dask, a dask-geopandas one).
        polygons
            Polygons in the same CRS (held in memory: zones, districts).

        Returns
        -------
        pandas.DataFrame
            Columns ``left`` (point id) and ``right`` (polygon id), one row per
            pair (a point in two overlapping polygons gives two), ordered by
            point then polygon.
        """
        _check_same_crs(points, polygons, metric=False, what="point in polygon")
        parts = self._map(_pip_kernel, points, polygons, offsets=True)
        return self._concat(parts, ["left", "right"])

    def within_distance(self, left: Any, right: gpd.GeoDataFrame, distance: float | Sequence[float]) -> pd.DataFrame:
        """Every pair of features at most ``distance`` metres apart (a setback join; exact, not buffered).

        Parameters
        ----------
        left
            The sites (a GeoDataFrame, or a dask-geopandas one for Dask).
        right
            The features they keep their distance from, in the same metric CRS.
        distance
            Metres: one number, or one per feature of ``right`` (a setback by
            the class of the sensitive land, as :func:`nbgeo.rules.check_setback` uses).

        Returns
        -------
        pandas.DataFrame
            ``left``, ``right`` (ids) and ``distance`` (metres), by left then right row.
        """
        reach = np.asarray(distance, dtype=np.float64) if np.ndim(distance) else None
        if reach is not None and len(reach) != len(right):
            msg = f"one setback distance per feature is needed: got {len(reach)} for {len(right)} features"
            raise InputError(msg, code="E-PARAM-RANGE")
        values = reach if reach is not None else np.array([distance], dtype=object)
        if not all(isinstance(d, (int, float, np.floating, np.integer)) and math.isfinite(d) and d >= 0
                   for d in values.tolist()):
            msg = f"setback distances must be finite numbers of metres >= 0, got {distance!r}"
            raise InputError(msg, code="E-PARAM-RANGE")
        _check_same_crs(left, right, metric=True, what="setback join")
        parts = self._map(_dwithin_kernel, left, right, reach if reach is not None else float(values[0]),
                          offsets=True)
        return self._concat(parts, ["left", "right", "distance"])

    def snap(self, points: Any, targets: gpd.GeoDataFrame, *, max_distance: float | None = None) -> pd.DataFrame:
        """The nearest target of every point (ties: the first target), within ``max_distance`` metres.

        Returns
        -------
        pandas.DataFrame
            One row per point, in order: ``point``, ``target`` (None when none
            is within ``max_distance``) and ``distance`` (NaN then).
        """
        _check_same_crs(points, targets, metric=True, what="snapping")
        parts = self._map(_snap_kernel, points, targets, max_distance, offsets=True)
        return self._concat(parts, ["point", "target", "distance"])

    def access_points(self, network: RoadNetwork, features: Any, *, max_snap: float | None = None,
                      direction: Literal["to", "from"] = "to", main_component: bool = True) -> Access:
        """Where each feature joins the road network, as :func:`nbgeo.network.access_points` finds it.

        Points snap to their nearest node (KD-tree), polygons and lines reach
        the nodes on them, their nearest node and (polygons) the roads crossing
        them. The features are split into chunks (partitions on Dask); every
        worker holds the network.

        Parameters
        ----------
        network
            The road network.
        features
            A GeoDataFrame or GeoSeries (or a dask-geopandas one, for Dask) in the network's CRS.
        max_snap, direction, main_component
            As for :func:`nbgeo.network.access_points`.

        Returns
        -------
        nbgeo.network.Access
            Identical to ``access_points(network, features.geometry.values, ...)``.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import Point, box
        >>> from nbgeo import network
        >>> net = network.network_from_arrays(np.array([0.0, 50.0, 100.0]), np.zeros(3), u=[0, 1, 1, 2],
        ...                                   v=[1, 0, 2, 1], crs="EPSG:32651")
        >>> sites = gpd.GeoSeries([Point(10, 5), box(40, -10, 110, 10)], crs="EPSG:32651")
        >>> acc = DefaultEngine(chunk_rows=1).access_points(net, sites)
        >>> acc.owner.tolist(), acc.node.tolist(), acc.offset.round(2).tolist()
        ([0, 1, 1, 1], [0, 0, 1, 2], [11.18, 40.0, 0.0, 0.0])
        """
        crs = features.crs
        if crs is None or not crs.equals(network.crs):
            got = "no CRS" if crs is None else crs.to_string()
            msg = f"access points: the features ({got}) are not in the road network's CRS ({network.crs})"
            raise CRSError(msg + " (hint: features.to_crs(network.crs))", code="E-CRS-MISMATCH")
        parts = self._map(_access_kernel, features, network, max_snap, main_component, direction, offsets=True)
        owner, node, offset = (np.concatenate([p[k] for p in parts]) for k in range(3))
        return Access(owner=owner.astype(np.int64), node=node.astype(np.int64), offset=offset.astype(np.float64),
                      n_features=sum(p[3] for p in parts))

    def zonal_yearly(self, points: Any, zones: gpd.GeoDataFrame, *, year: str = "year",
                     values: Sequence[str] = (), years: Iterable[int] | None = None,
                     cumulative: bool = False) -> pd.DataFrame:
        """Point in polygon, then counts and exact sums per zone and year, in one pass.

        Parameters
        ----------
        points
            Points with a ``year`` column (and the ``values`` columns).
        zones
            Polygons in the same CRS.
        year
            The year column.
        values
            Numeric columns to sum.
        years
            The years to report (default: every year present).
        cumulative
            Running totals up to each year (then every zone and year is listed).

        Returns
        -------
        pandas.DataFrame
            Indexed by (``zone``, ``year``) with ``count`` and one column per value.
        """
        _check_same_crs(points, zones, metric=False, what="point in polygon")
        wanted = _sorted_years(points, year, years, "points")
        counts, sums = _reduce(self._map(_zonal_kernel, points, zones, year, list(values), wanted))
        return _assemble_zonal(counts, sums, zones, wanted, values, cumulative)

    def yearly_totals(self, frame: Any, *, year: str = "year", values: Sequence[str] = (), by: str | None = None,
                      years: Iterable[int] | None = None, cumulative: bool = False) -> pd.DataFrame:
        """Counts and exact sums per year (and per ``by`` group) of a table.

        Returns
        -------
        pandas.DataFrame
            Indexed by year, or by (``by``, year), with ``count`` and one column per value.
        """
        wanted = _sorted_years(frame, year, years, "frame")
        groups: list[Any] = []
        if by is not None:
            column = frame[by]
            uniq = column.dropna().unique()
            uniq = uniq.compute() if hasattr(uniq, "compute") else uniq
            groups = sorted(pd.unique(np.asarray(uniq)).tolist(), key=str)
        counts, sums = _reduce(self._map(_yearly_kernel, frame, year, list(values), by, groups, wanted))
        if by is None:
            index = pd.Index(wanted, name="year")
            if cumulative:
                counts = counts.cumsum()
                sums = [s.cumulative() for s in sums]
            out = pd.DataFrame({"count": counts}, index=index)
            for column, s in zip(values, sums, strict=True):
                out[column] = s.values()
            return out
        zones = pd.DataFrame(index=pd.Index(groups))
        return _assemble_zonal(counts, sums, zones, wanted, values, cumulative, index_name=by)  # type: ignore[arg-type]

    def evaluate_targets(self, plan: Plan, dataset: Dataset, *, year: int | None = None) -> list[TargetResult]:
        """Every target of a plan, as :func:`nbgeo.targets.evaluate_targets` evaluates them."""
        return evaluate_targets(plan, dataset, year=year)

    def evaluate_rules(self, plan: Plan, dataset: Dataset, *, tolerance_band: float | None = None) -> list[Any]:
        """Every siting rule of a plan, as :func:`nbgeo.rules.evaluate_rules` evaluates them."""
        return evaluate_rules(plan, dataset, tolerance_band=tolerance_band)

    def _concat(self, parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
        if not parts:
            return pd.DataFrame({c: [] for c in columns})
        frame = pd.concat(parts, ignore_index=True)
        return frame[columns].reset_index(drop=True)


class DefaultEngine(Engine):
    """The heavy steps in this process, over chunks of ``chunk_rows`` rows (bounded memory).

    Parameters
    ----------
    chunk_rows
        Rows of the left layer handled at a time.
    """

    name: ClassVar[str] = "default"

    def __init__(self, *, chunk_rows: int = 1_000_000) -> None:
        if chunk_rows < 1:
            msg = f"chunk_rows must be at least 1, got {chunk_rows}"
            raise InputError(msg, code="E-PARAM-RANGE")
        self.chunk_rows = chunk_rows

    def __repr__(self) -> str:
        return f"DefaultEngine(chunk_rows={self.chunk_rows})"

    def _map(self, kernel: Callable[..., Any], left: Any, *args: Any, offsets: bool = False) -> list[Any]:
        if hasattr(left, "compute"):  # a dask collection handed to the in-process engine
            left = left.compute()
        out = []
        for start in range(0, max(len(left), 1), self.chunk_rows):
            chunk = left.iloc[start:start + self.chunk_rows]
            out.append(kernel(chunk, *args, start) if offsets else kernel(chunk, *args))
        return out


class DaskEngine(Engine):
    """The heavy steps over dask-geopandas partitions on a :mod:`dask.distributed` cluster.

    Parameters
    ----------
    scheduler
        ``tcp://host:port`` of a running scheduler; by default a
        :class:`~distributed.LocalCluster` is started (and closed with the engine).
    n_workers
        Worker processes of the local cluster (one thread each).
    partition_rows
        Rows per partition when a GeoDataFrame is scattered to the workers.
    memory_limit
        Memory limit per local worker (dask syntax, e.g. ``"8GiB"``; ``"auto"``
        shares the machine's memory among the workers).

    Notes
    -----
    Workers must be able to import nbgeo (same version): the per-partition
    functions are nbgeo's own.
    """

    name: ClassVar[str] = "dask"

    def __init__(self, *, scheduler: str | None = None, n_workers: int = 2, partition_rows: int = 500_000,
                 memory_limit: str = "auto") -> None:
        try:
            import dask_geopandas  # noqa: F401, PLC0415  (optional extra: nbgeo[dask])
            import distributed  # noqa: PLC0415
        except ImportError:
            msg = "the dask engine needs dask-geopandas and distributed (hint: pip install 'nbgeo[dask]')"
            raise InputError(msg, code="E-ENGINE-MISSING") from None
        if partition_rows < 1 or n_workers < 1:
            msg = f"partition_rows and n_workers must be at least 1, got {partition_rows} and {n_workers}"
            raise InputError(msg, code="E-PARAM-RANGE")
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.partition_rows = partition_rows
        self._cluster: Any = None
        self.client: Any = None
        if scheduler is None:
            import dask  # noqa: PLC0415  (optional extra: nbgeo[dask])

            # The workers' sampling profiler (every 10 ms) costs CPU that a batch audit never looks at.
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                         dashboard_address=":0", scheduler_port=0,
                                                         memory_limit=memory_limit)
            self.client = distributed.Client(self._cluster)
            log.info("Started a local Dask cluster with %d workers", n_workers)
        else:
            if not scheduler.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
                msg = f"scheduler {scheduler!r} is not an address such as tcp://host:8786"
                raise InputError(msg, code="E-ENGINE-SCHEDULER")
            try:
                self.client = distributed.Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                msg = f"cannot reach the Dask scheduler at {scheduler}: {exc}"
                raise InputError(msg + " (hint: is `dask scheduler` running there?)",
                                 code="E-ENGINE-SCHEDULER") from None
            log.info("Connected to the Dask scheduler at %s", scheduler)

    def __repr__(self) -> str:
        where = self.scheduler or f"LocalCluster({self.n_workers} workers)"
        return f"DaskEngine({where})"

    def close(self) -> None:
        """Close the client, and the local cluster if this engine started it."""
        client, cluster = getattr(self, "client", None), self._cluster
        if client is not None:
            client.close()
            self.client = None
        if cluster is not None:
            cluster.close()
            self._cluster = None

    def _partitions(self, frame: Any) -> tuple[list[Any], list[int] | None]:
        """Partitions on the cluster (futures or delayed) and, for in-memory input, their row offsets."""
        if hasattr(frame, "to_delayed"):  # already a dask collection: partitions stay where they are
            return list(frame.to_delayed()), None
        n = len(frame)
        starts = list(range(0, max(n, 1), self.partition_rows))
        chunks = [frame.iloc[s:s + self.partition_rows] for s in starts]
        return self.client.scatter(chunks, hash=False), starts

    def _map(self, kernel: Callable[..., Any], left: Any, *args: Any, offsets: bool = False) -> list[Any]:
        import dask  # noqa: PLC0415  (optional extra: nbgeo[dask])

        if self.client is None:
            msg = "this DaskEngine is closed"
            raise InputError(msg, code="E-ENGINE-CLOSED")
        parts, starts = self._partitions(left)
        shared = [self._share(a) for a in args]
        call, given = dask.delayed(_under_limits, pure=True), limits.current()
        if offsets:
            if starts is None:  # partitions of unknown length: count them first to place rows in order
                lengths = self.client.gather(self.client.compute([dask.delayed(len)(p) for p in parts]))
                starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(int).tolist()
            tasks = [call(given, kernel, p, *shared, s, dask_key_name=_task_key(kernel, i))
                     for i, (p, s) in enumerate(zip(parts, starts, strict=True))]
        else:
            tasks = [call(given, kernel, p, *shared, dask_key_name=_task_key(kernel, i)) for i, p in enumerate(parts)]
        return list(self.client.gather(self.client.compute(tasks)))

    def _map_chunks(self, kernel: Callable[..., Any], chunks: list[Any], *args: Any) -> list[Any]:
        """``kernel(chunk, *args)`` for chunks made here (e.g. spatial tiles), each sent to one worker."""
        import dask  # noqa: PLC0415  (optional extra: nbgeo[dask])

        if self.client is None:
            msg = "this DaskEngine is closed"
            raise InputError(msg, code="E-ENGINE-CLOSED")
        shared = [self._share(a) for a in args]
        call, given = dask.delayed(_under_limits, pure=True), limits.current()
        tasks = [call(given, kernel, p, *shared, dask_key_name=_task_key(kernel, i))
                 for i, p in enumerate(self.client.scatter(chunks, hash=False))]
        return list(self.client.gather(self.client.compute(tasks)))

    def _share(self, arg: Any) -> Any:
        """A kernel argument as every worker will see it: layers, datasets and networks are sent once to each.

        Data are scattered under fresh keys (``hash=False``): under a content hash, the same layer sent again
        by the next call can meet its previous copy while the scheduler is still releasing it, and the call
        fails with "lost dependencies".
        """
        if isinstance(arg, RoadNetwork):
            # A fresh copy without the caches (KD-tree, STRtrees) built in this process: workers build their own.
            return self.client.scatter(replace(arg), broadcast=True, hash=False)
        if hasattr(arg, "geometry") or hasattr(arg, "layers"):
            return self.client.scatter(arg, broadcast=True, hash=False)
        return arg

    def evaluate_rules(self, plan: Plan, dataset: Dataset, *, tolerance_band: float | None = None) -> list[Any]:
        """The plan's siting rules, every kind over partitions; the results of :func:`nbgeo.rules.evaluate_rules`.

        ``within``, ``exclusion``, ``setback``, ``access`` and ``area`` judge
        each site against the whole layer it is checked against, which every
        worker holds, so the sites split into slices of rows. ``slope`` reads
        the DEM's windows under its partition's sites, road ``access`` the
        road network: each worker reads the file itself (the network once per
        worker, from nbgeo's disk cache, which this process fills first), so
        on a remote cluster the dataset's files must be on a path the workers
        share. ``spacing`` and ``overlap`` compare sites with each other: the
        sites are cut into spatial tiles of about ``partition_rows`` (strips
        by x, then by y), each sent with every site within the rule's reach
        of its own (the minimum distance plus the tolerance band; for overlap,
        the sites whose boxes meet), and only the tile's own verdicts are
        kept. A halo rather than a broadcast index keeps each worker's share
        of the layer near ``partition_rows`` sites, whatever the layer's size.
        A layer whose ids repeat runs in this process.
        """
        return _dask_evaluate_rules(self, plan, dataset, tolerance_band=tolerance_band)

    def evaluate_targets(self, plan: Plan, dataset: Dataset, *, year: int | None = None) -> list[TargetResult]:
        """The plan's targets, each measure summed exactly over the partitions of its layer.

        Gives the same results as :func:`nbgeo.targets.evaluate_targets`.
        """
        when = plan.horizon if year is None else year
        # Jobs per frame: a layer, in the metric CRS if a metric measures geometry (as nbgeo.targets reads it).
        jobs: dict[tuple[str, bool], list[tuple[Target, int]]] = {}
        unknown: dict[tuple[str, int], str] = {}
        for target in plan.targets:
            for y in target_years(target, when, plan):
                try:  # a missing layer or column shows on zero rows: find it before any work is sent out
                    target_terms(target_frame(target, dataset).iloc[:0], target, y)
                except MissingDataError as exc:
                    unknown[(target.id, y)] = exc.message
                    continue
                jobs.setdefault((target.layer, needs_geometry(target)), []).append((target, y))
        measured: dict[tuple[str, int], Terms] = {}
        for (layer, geometric), frame_jobs in jobs.items():
            frame = dataset.metric(layer) if geometric else dataset[layer]
            results = self._map(_target_parts, frame, frame_jobs)
            for k, (target, y) in enumerate(frame_jobs):
                measured[(target.id, y)] = reduce(add, (r[k] for r in results))
        out: list[TargetResult] = []
        for target in plan.targets:
            for y in target_years(target, when, plan):
                note = unknown.get((target.id, y), "")
                actual: float | None = None
                if not note:
                    try:
                        actual = target_value(target, measured[(target.id, y)], y)
                    except MissingDataError as exc:
                        note = exc.message
                out.append(target_result(target, y, actual, note))
        return out


def _dask_evaluate_rules(engine: DaskEngine, plan: Plan, dataset: Dataset, *,
                         tolerance_band: float | None = None) -> list[Any]:

    out = []
    for rule in plan.rules:
        params = rule.params
        reach = neighbour_reach(rule, tolerance_band)
        distributable = (rule.kind in _PER_SITE_RULES + _NEIGHBOUR_RULES and rule.layer in dataset
                         and ("against" not in params or str(params["against"]) in dataset)
                         and (reach is None or dataset[rule.layer].index.is_unique))
        if distributable:
            # A malformed rule or a filter on a missing column fails here, at once, on no rows.
            evaluate_rule(rule, _with_sites(dataset, rule.layer, dataset[rule.layer].iloc[:0]),
                          tolerance_band=tolerance_band)
        if not distributable:
            out.append(evaluate_rule(rule, dataset, tolerance_band=tolerance_band))
            continue
        # Every worker gets the layer checked against, and the DEM or road network the rule reads (their files,
        # read by each worker); the sites' own layer travels in partitions only.
        layers = {rule.layer: Layer(dataset[rule.layer].iloc[:0], dataset.layer(rule.layer).meta)}
        if "against" in params:
            layers[str(params["against"])] = dataset.layer(str(params["against"]))
        dem, net = str(params.get("dem", "dem")), str(params.get("network", "roads"))
        rasters = {dem: dataset.rasters[dem]} if rule.kind == "slope" and dem in dataset.rasters else {}
        by_road = rule.kind == "access" and params.get("by", "straight") == "road" and net in dataset.networks
        if by_road:
            read_dataset_network(dataset, net)  # built and written to the disk cache once, here, for the workers
        others = replace(dataset, layers=layers, rasters=rasters,
                         networks={net: dataset.networks[net]} if by_road else {}, _metric_cache={})
        if reach is None:
            parts = engine._map(_rule_kernel, dataset[rule.layer], others, rule, tolerance_band)
            out.append(_merge_rule(rule, dataset, parts, tolerance_band))
        else:
            tiles, around = _tiles(dataset, rule.layer, reach, engine.partition_rows)
            parts = engine._map_chunks(_rule_kernel, tiles, others, rule, tolerance_band)
            out.append(_merge_rule(rule, dataset, parts, tolerance_band, around))
    return out


def get_engine(engine: str | Engine | None = None, *, scheduler: str | None = None, **options: Any) -> Engine:
    """An engine by name (``"default"`` or ``"dask"``), or the one given.

    ``scheduler`` (``tcp://host:port``) implies the Dask engine.

    Examples
    --------
    >>> get_engine()
    DefaultEngine(chunk_rows=1000000)
    >>> get_engine("spark")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: unknown engine 'spark'; choose one of default, dask
    """
    if isinstance(engine, Engine):
        return engine
    name = engine or ("dask" if scheduler else "default")
    if name == "default":
        if scheduler:
            msg = "--scheduler needs the dask engine (--engine dask)"
            raise InputError(msg, code="E-ENGINE-SCHEDULER")
        return DefaultEngine(**options)
    if name == "dask":
        return DaskEngine(scheduler=scheduler, **options)
    msg = f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}"
    raise InputError(msg, code="E-ENGINE-UNKNOWN")
