"""Candidate sites: from a grid, from road nodes, and screened by the plan's siting rules."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError, InputError, LimitError
from ..layers import Layer, LayerMeta
from ..rules import check_exclusion, check_setback, evaluate_rule, filter_sites
from ..status import Status
from .matrix import metric_crs_of

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import NDArray

    from ..layers import Dataset
    from ..network import RoadNetwork
    from ..plan import Plan


# --------------------------------------------------------------------------------------------------------------
# Candidate sites
# --------------------------------------------------------------------------------------------------------------


def _area_union(area: Any, crs: Any) -> Any:
    """One (multi)polygon in ``crs`` from a GeoDataFrame, GeoSeries or shapely geometry (assumed in ``crs``)."""
    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if geoms.crs is None:

            msg = "the candidate area has no CRS"
            raise CRSError(msg + " (hint: set_crs(...))", code="E-CRS-MISSING")
        return shapely.union_all(np.asarray(geoms.to_crs(crs).values))
    return area


def candidates_from_grid(area: Any, cell: float, *, crs: Any = None) -> gpd.GeoDataFrame:
    """Candidate sites at the centres of a square grid of ``cell`` metres, inside ``area``.

    The grid is aligned to multiples of ``cell`` in the metric CRS, so the same
    area and cell always give the same sites. Ids are ``G`` and a number.

    Parameters
    ----------
    area
        Polygons (GeoDataFrame or GeoSeries in any CRS, or a shapely geometry in ``crs``).
    cell
        Grid spacing in metres.
    crs
        The metric CRS of the grid (default: the area's own if metric, else the
        working CRS chosen from its extent; required for a shapely geometry).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with the column ``source``.

    Examples
    --------
    >>> from shapely import box
    >>> g = candidates_from_grid(box(0, 0, 1000, 500), 250, crs="EPSG:32651")
    >>> len(g), g.index[:2].tolist(), g["source"].iloc[0]
    (8, ['G000001', 'G000002'], 'grid 250 m')
    """
    if isinstance(cell, bool) or not (isinstance(cell, (int, float)) and math.isfinite(cell) and cell > 0):
        msg = f"cell must be a positive number of metres, got {cell!r}"
        raise InputError(msg, code="E-OPT-CELL")
    if crs is None:
        if not isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):

            msg = "a shapely geometry as the candidate area needs crs= (the metric CRS it is in)"
            raise CRSError(msg, code="E-CRS-MISSING")
        crs = metric_crs_of(area)
    shape = _area_union(area, crs)
    x0, y0, x1, y1 = shape.bounds
    xs = np.arange(math.floor(x0 / cell) * cell + cell / 2, x1, cell)
    ys = np.arange(math.floor(y0 / cell) * cell + cell / 2, y1, cell)
    if xs.size * ys.size > 50_000_000:
        msg = f"a {cell:g} m grid over this area has {xs.size * ys.size:,} cells"
        raise LimitError(msg + " (hint: a larger cell)", code="E-LIMIT-CELLS")
    mesh_x, mesh_y = np.meshgrid(xs, ys)
    gx, gy = mesh_x.ravel(), mesh_y.ravel()
    shapely.prepare(shape)
    inside = shapely.contains_xy(shape, gx, gy)
    gx, gy = gx[inside], gy[inside]
    index = [f"G{i:06d}" for i in range(1, gx.size + 1)]
    out = gpd.GeoDataFrame({"source": f"grid {cell:g} m"}, geometry=shapely.points(gx, gy), crs=crs,
                           index=_ids(index))
    return out.to_crs(4326)


def _ids(labels: list[str]) -> Any:
    """A string index named ``id``."""
    return pd.Index(labels, dtype=object, name="id")


def candidates_from_network(network: RoadNetwork, *, area: Any = None, spacing: float = 0.0) -> gpd.GeoDataFrame:
    """Candidate sites at the road network's nodes: kerbside places a driver can reach.

    Only nodes of the largest strongly connected part are used (from them
    every other node can be reached and back). ``spacing`` thins them to at
    most one node per square of that many metres (the lowest-numbered), for
    networks whose curved roads were split into many close nodes.

    Parameters
    ----------
    network
        The road network.
    area
        Keep only nodes inside these polygons (any CRS), e.g. the districts.
    spacing
        Metres; 0 keeps every node.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326, indexed ``N<node>``, with the columns ``node`` and ``source``.

    Examples
    --------
    >>> from nbgeo import network
    >>> net = network.network_from_arrays(np.array([0.0, 100, 200]), np.zeros(3), u=[0, 1, 1, 2], v=[1, 0, 2, 1],
    ...                                   crs="EPSG:32651")
    >>> candidates_from_network(net).index.tolist()
    ['N0', 'N1', 'N2']
    >>> candidates_from_network(net, spacing=150)["node"].tolist()
    [0, 2]
    """
    nodes = np.flatnonzero(network.in_main_component)
    x, y = network.x[nodes], network.y[nodes]
    if area is not None:
        shape = _area_union(area, network.crs)
        shapely.prepare(shape)
        keep = shapely.contains_xy(shape, x, y)
        nodes, x, y = nodes[keep], x[keep], y[keep]
    if spacing > 0 and nodes.size:
        key = np.floor(x / spacing).astype(np.int64) * 10_000_003 + np.floor(y / spacing).astype(np.int64)
        _, first = np.unique(key, return_index=True)
        first.sort()
        nodes, x, y = nodes[first], x[first], y[first]
    source = "road network nodes" + (f", one per {spacing:g} m square" if spacing > 0 else "")
    out = gpd.GeoDataFrame({"node": nodes, "source": source}, geometry=shapely.points(x, y), crs=network.crs,
                           index=_ids([f"N{n}" for n in nodes]))
    return out.to_crs(4326)


@dataclass(frozen=True, eq=False)
class Screening:
    """Which candidate sites the plan's siting rules allow.

    Attributes
    ----------
    frame
        One row per candidate (indexed like the candidates): ``status``
        (``pass``, ``fail``, ``unknown``), ``rules`` (ids of the rules it fails
        or is unknown on, ``;``-separated) and ``reason`` (the first of them, in plain words).
    conflicts
        ``(m, 2)`` positions of candidate pairs that must not both be chosen
        (closer than a ``spacing`` rule allows, or overlapping under an ``overlap`` rule).
    rules
        One summary per rule applied: ``id``, ``kind``, ``failed``, ``unknown``, ``conflicts``.
    """

    frame: Any
    conflicts: NDArray[np.int64]
    rules: list[dict[str, Any]]

    @property
    def allowed(self) -> NDArray[np.bool_]:
        """Candidates that pass every rule."""
        return (self.frame["status"] == Status.PASS).to_numpy()


def _candidate_attributes(candidates: gpd.GeoDataFrame, existing: gpd.GeoDataFrame | None, year: int | None
                          ) -> gpd.GeoDataFrame:
    """Candidates with the facility layer's columns, so the rules' filters read them as new facilities.

    A column the candidates lack takes the most common value among the
    existing facilities; ``year`` becomes the evaluation year.
    """
    out = candidates.copy()
    if existing is None:
        return out
    for column in existing.columns:
        if column == existing.geometry.name or column in out.columns:
            continue
        if column == "year" and year is not None:
            out[column] = year
            continue
        values = existing[column].dropna()
        out[column] = values.mode().iloc[0] if len(values) else None
    return out


def _close_pairs(geoms: NDArray[np.object_], distance: float) -> NDArray[np.int64]:
    """Positions ``(a, b)``, ``a < b``, of geometries closer than ``distance``."""
    if len(geoms) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=distance)
    keep = left < right
    left, right = left[keep], right[keep]
    # dwithin is inclusive; a spacing rule fails only strictly closer than its distance.
    close = shapely.distance(geoms[left], geoms[right]) < distance
    return np.column_stack((left[close], right[close])).astype(np.int64)


def screen_candidates(
    candidates: gpd.GeoDataFrame,
    dataset: Dataset,
    plan: Plan,
    *,
    layer: str,
    year: int | None = None,
    tolerance_band: float | None = None,
) -> Screening:
    """Check candidate sites against every siting rule the plan declares for ``layer``.

    Each candidate is treated as a new feature of ``layer`` (with the existing
    features' usual attributes, see :func:`_candidate_attributes`) and every
    rule is evaluated by :mod:`nbgeo.rules`. Rules between sites of one layer
    are split in two: a candidate too close to (``spacing``) or overlapping
    (``overlap``) an *existing* site fails, and pairs of *candidates* that are
    too close or overlap become conflicts the solver never picks together.

    Parameters
    ----------
    candidates
        Candidate sites (any CRS).
    dataset
        The layers the rules read (the existing ``layer`` among them).
    plan
        The plan whose ``[[rules]]`` apply.
    layer
        The facility layer the candidates would join, e.g. ``"chargers"``.
    year
        The evaluation year (the candidates' ``year``).
    tolerance_band
        As for :func:`nbgeo.rules.evaluate_rule`.

    Returns
    -------
    Screening

    Examples
    --------
    A candidate in a lake fails the plan's rule for chargers; one 10 m from an
    existing charger fails the 20 m spacing rule:

    >>> import geopandas as gpd, shapely
    >>> from nbgeo import datasets, io, plan
    >>> ds, p = io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> water = ds.metric("constraints").query("kind == 'water'")
    >>> near = ds.metric("chargers").geometry.iloc[0]
    >>> cands = gpd.GeoDataFrame(geometry=[water.geometry.iloc[0].centroid, shapely.Point(near.x + 10, near.y)],
    ...                          crs=water.crs, index=["in_lake", "too_close"])
    >>> s = screen_candidates(cands, ds, p, layer="chargers")
    >>> s.frame["status"].tolist(), s.frame["rules"].tolist()
    (['fail', 'fail'], ['chargers_off_water_and_red_line', 'charger_spacing'])
    """
    existing = dataset[layer] if layer in dataset else None
    cands = _candidate_attributes(candidates.to_crs(4326), existing, year)
    n = len(cands)
    status = np.full(n, Status.PASS, dtype=object)
    failed_rules: list[list[str]] = [[] for _ in range(n)]
    fail_reason = np.full(n, "", dtype=object)
    unknown_reason = np.full(n, "", dtype=object)
    conflicts: list[NDArray[np.int64]] = []
    summaries: list[dict[str, Any]] = []
    meta = LayerMeta(name=layer, source="candidate sites", illustrative=True)
    trial = dataclasses.replace(dataset, layers={**dataset.layers, layer: Layer(cands, meta)}, _metric_cache={})
    positions = pd.Series(np.arange(n), index=cands.index)
    for rule in plan.rules:
        if rule.layer != layer:
            continue
        p = rule.params
        n_conflicts = 0
        if rule.kind in ("spacing", "overlap"):
            # Against the existing sites: a candidate there fails. Among candidates: conflicts.
            applies = filter_sites(trial.metric(layer), p.get("where"), layer=layer)
            others = None
            if existing is not None and len(existing):
                others = filter_sites(dataset.metric(layer), p.get("where"), layer=layer)
            common: dict[str, Any] = {"tolerance": p.get("tolerance"), "tolerance_band": tolerance_band,
                                      "rule": rule}
            if others is None or others.empty:
                result = None
            elif rule.kind == "spacing":
                result = check_setback(applies, others, distance=float(p["min_distance"]), **common)
            else:
                result = check_exclusion(applies, others, max_area=p.get("max_area"),
                                                   max_share=p.get("max_share"), **common)
            geoms = np.asarray(applies.geometry.values)
            pos = positions.loc[applies.index].to_numpy()
            if rule.kind == "spacing":
                pairs = _close_pairs(geoms, float(p["min_distance"]))
            else:
                pairs = _overlapping_pairs(geoms, p)
            if len(pairs):
                conflicts.append(pos[pairs])
            n_conflicts = len(pairs)
        else:
            result = evaluate_rule(rule, trial, tolerance_band=tolerance_band)
        failed = unknown = 0
        if result is not None and len(result.frame):
            frame = result.frame[result.frame["status"].isin((Status.FAIL, Status.UNKNOWN))]
            frame = frame[frame.index.isin(cands.index)]
            if len(frame):
                if rule.kind == "spacing":
                    limit = float(p["min_distance"])
                    why = pd.Series([f"{v:,.3g} m from existing {layer} site {o}; sites keep {limit:,.6g} m apart"
                                     for v, o in zip(frame["value"], frame["other"], strict=True)], index=frame.index)
                elif rule.kind == "overlap":
                    why = pd.Series([f"overlaps existing {layer} site {o} by {v:,.6g} {u}"
                                     for v, o, u in zip(frame["value"], frame["other"], frame["unit"], strict=True)],
                                    index=frame.index)
                else:
                    why = result.reasons(frame.index)
                for fid, st in frame["status"].items():
                    i = positions[fid]
                    failed_rules[i].append(rule.id)
                    if st == Status.FAIL:
                        status[i] = Status.FAIL
                        fail_reason[i] = fail_reason[i] or f"{rule.id}: {why[fid]}"
                    else:
                        status[i] = Status.UNKNOWN if status[i] == Status.PASS else status[i]
                        unknown_reason[i] = unknown_reason[i] or f"{rule.id}: {why[fid]}"
                failed = int((frame["status"] == Status.FAIL).sum())
                unknown = int((frame["status"] == Status.UNKNOWN).sum())
        summaries.append({"id": rule.id, "title": rule.title or rule.id, "phrase": rule.phrase, "kind": rule.kind,
                          "failed": failed, "unknown": unknown, "conflicts": n_conflicts})
    reasons = np.where(fail_reason != "", fail_reason, unknown_reason)
    frame = pd.DataFrame({"status": status, "rules": [";".join(r) for r in failed_rules], "reason": reasons},
                         index=cands.index)
    pairs = np.concatenate(conflicts) if conflicts else np.zeros((0, 2), dtype=np.int64)
    log.info("Screened %d candidate sites against %d rule(s) for %r: %d pass, %d fail, %d unknown, %d conflicts",
             n, len(summaries), layer, int((status == Status.PASS).sum()), int((status == Status.FAIL).sum()),
             int((status == Status.UNKNOWN).sum()), len(pairs))
    return Screening(frame=frame, conflicts=pairs, rules=summaries)


def _overlapping_pairs(geoms: NDArray[np.object_], params: Any) -> NDArray[np.int64]:
    """Pairs of candidate polygons that overlap by more than an ``overlap`` rule allows."""
    if len(geoms) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    if params.get("max_share") is not None:
        smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
        bad = 100.0 * shared / np.where(smaller > 0, smaller, 1.0) > float(params["max_share"])
    else:
        bad = shared > float(params.get("max_area") or 0.0)
    return np.column_stack((left[bad], right[bad])).astype(np.int64)
