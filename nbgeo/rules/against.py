"""Rules that check sites against another layer: ``within``, ``exclusion``, ``setback`` and ``access``."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import limits
from .._clip import overlap_area
from ..errors import RuleError
from ..network import nearest_facility
from ..plan import RuleSpec
from .geometry import (
    concat_pieces,
    first_per_site,
    geometries,
    geometry_kind,
    geometry_size,
    group_pairs,
    near_pairs,
    overlap_groups,
    overlap_measure,
    pieces_frame,
    same_metric_crs,
    site_pieces,
)
from .result import (
    Measure,
    Reason,
    RuleResult,
    adhoc_rule,
    band_of,
    feature_name,
    feature_names,
    rule_result,
)

if TYPE_CHECKING:

    pass

log = logging.getLogger(__name__)


def check_exclusion(
    sites: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, *, max_area: float | None = None,
    max_share: float | None = None, max_length: float | None = None, tolerance: float | None = None,
    tolerance_band: float | None = None, rule: RuleSpec | None = None,
) -> RuleResult:
    """Sites must not overlap the excluded areas (red line, water, basic farmland) beyond a tolerance.

    Polygon sites measure the area they share with the areas (m², or percent of
    the site with ``max_share``); line sites the length (m, or percent); point
    sites their depth inside an area (m; 0 outside), and any depth fails.
    Overlapping areas are merged first, so no overlap is counted twice.

    Parameters
    ----------
    sites, areas
        GeoDataFrames in one metric CRS.
    max_area, max_share, max_length
        The overlap allowed: m² (polygons), percent of the site, m (lines). Default 0.
    tolerance
        Tolerance band in the rule's unit; default ``tolerance_band`` × limit.
    tolerance_band
        Relative band; default ``settings.tolerance_band``.
    rule
        The rule being evaluated, for the result's labels.

    Returns
    -------
    RuleResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> water = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100)], crs=3857, index=["lake"])
    >>> pts = gpd.GeoDataFrame(geometry=[Point(90, 50), Point(150, 50)], crs=3857, index=["c1", "c2"])
    >>> r = check_exclusion(pts, water)
    >>> r.frame["status"].tolist(), r.frame["value"].tolist()
    (['fail', 'pass'], [10.0, 0.0])
    >>> check_exclusion(pts, water, tolerance=20).frame["status"].tolist()
    ['unknown', 'pass']
    """
    crs = same_metric_crs(("sites", sites), ("excluded areas", areas))
    site_geoms = geometries(sites)
    kind = geometry_kind(site_geoms)
    groups = overlap_groups(geometries(areas), areas.index.to_numpy())
    s, o, size, area_geoms, area_ids = overlap_measure(site_geoms, groups, kind, sites.index.to_numpy())
    n = len(site_geoms)
    total = np.bincount(s, weights=size, minlength=n) if kind != "point" else np.zeros(n)
    if kind == "point" and len(s):
        np.maximum.at(total, s, size)
    other = np.full(n, None, dtype=object)
    if len(s):
        top = first_per_site(s, -size)
        other[s[top]] = area_ids[o[top]]
    site_size = geometry_size(site_geoms, kind) if kind != "point" else np.ones(n)
    if max_share is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(site_size > 0, 100.0 * total / site_size, 0.0)
        limit, unit = float(max_share), "%"
    else:
        value = total
        allowed = {"line": max_length, "polygon": max_area}.get(kind)  # points: any depth fails
        limit = 0.0 if allowed is None else float(allowed)
        unit = {"polygon": "m2", "line": "m", "point": "m"}[kind]
    m = Measure(value=value, limit=np.full(n, limit), upper=True, unit=unit, other=other,
                 certain=(value == 0) & (limit == 0) if kind != "point" else (total == 0) & ~np.isin(np.arange(n), s))
    rule = rule or adhoc_rule("exclusion", max_area=max_area, max_share=max_share, max_length=max_length)

    def reasons(rows: pd.DataFrame) -> list[Reason]:
        names = feature_names(areas)
        pos = sites.index.get_indexer(rows.index)
        out: list[Reason] = []
        for p, row in zip(pos, rows.itertuples(), strict=True):
            if row.value == 0 or (kind == "point" and row.other is None):
                out.append(("exclusion.clear", {"limit": row.limit, "unit": row.unit}))
            elif kind == "point":
                out.append(("exclusion.point", {"other": feature_name(row.other, names), "value": row.value,
                                                "unit": "m"}))
            else:
                amount = total[p]
                share = 100.0 * amount / site_size[p] if site_size[p] > 0 else 0.0
                out.append((f"exclusion.{kind}", {"other": feature_name(row.other, names), "amount": amount,
                                                  "amount_unit": "m2" if kind == "polygon" else "m", "share": share,
                                                  "limit": row.limit, "unit": row.unit}))
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        mask = np.isin(s, pos)
        ps, po = s[mask], o[mask]
        if kind == "point":
            pieces = shapely.shortest_line(site_geoms[ps], shapely.boundary(area_geoms[po]))
        else:
            pieces = shapely.intersection(site_geoms[ps], area_geoms[po])
        return concat_pieces(site_pieces(sites, rows), pieces_frame(sites.index[ps], pieces, "offending", area_ids[po]))

    return rule_result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)


def check_within(
    sites: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, min_share: float = 100.0, max_distance: float = 0.0,
    match: Mapping[str, str] | None = None, tolerance: float | None = None, tolerance_band: float | None = None,
    rule: RuleSpec | None = None,
) -> RuleResult:
    """Sites must lie inside the zones (their district, the city, an industrial zone).

    Polygon and line sites measure the share of their area or length inside the
    zones (percent, at least ``min_share``); point sites their distance outside
    them (m, at most ``max_distance``; 0 inside).

    Parameters
    ----------
    sites, zones
        GeoDataFrames in one metric CRS.
    min_share
        Percent of a polygon or line site that must lie inside (default 100).
    max_distance
        How far outside a point site may lie (m, default 0).
    match
        ``{site_column: zone_column}``: only the zone whose value equals the
        site's counts (a site inside *its own* district).
    tolerance, tolerance_band, rule
        As for :func:`check_exclusion`.

    Returns
    -------
    RuleResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> city = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
    ...                         crs=3857, index=["d1", "d2"])
    >>> parks = gpd.GeoDataFrame({"district": ["A", "A"]}, geometry=[box(10, 10, 30, 30), box(90, 10, 110, 30)],
    ...                          crs=3857, index=["p1", "p2"])
    >>> check_within(parks, city).frame["value"].tolist()
    [100.0, 100.0]
    >>> r = check_within(parks, city, match={"district": "name"})
    >>> r.frame[["status", "value", "margin"]].to_dict("index")["p2"]
    {'status': 'fail', 'value': 50.0, 'margin': -50.0}
    """
    crs = same_metric_crs(("sites", sites), ("zones", zones))
    site_geoms = geometries(sites)
    kind = geometry_kind(site_geoms)
    n = len(site_geoms)
    zone_geoms = geometries(zones)
    zone_ids = np.asarray([str(i) for i in zones.index], dtype=object)
    if match:
        (site_col, zone_col), = dict(match).items()
        for frame, col, what in ((sites, site_col, "sites"), (zones, zone_col, "zones")):
            if col not in frame.columns:
                msg = f"the {what} have no column {col!r} named in match"
                raise RuleError(msg, code="E-RULE-COLUMN")
    # Overlapping zones count as one (their group's id), but are not merged: see overlap_groups.
    groups = overlap_groups(zone_geoms, zones.index.to_numpy()) if not match else None
    member_ids = groups.member_ids if groups is not None else zone_ids
    other = np.full(n, None, dtype=object)
    near = np.full(n, -1, dtype=np.int64)  # a zone nearest each point site, for its offending piece
    rule = rule or adhoc_rule("within", min_share=min_share, max_distance=max_distance)

    if kind == "point":
        s, o = shapely.STRtree(zone_geoms).query(site_geoms, predicate="intersects")
        if match:
            ok = sites[site_col].to_numpy()[s] == zones[zone_col].to_numpy()[o]
            s, o = s[ok], o[ok]
        inside = np.zeros(n, dtype=bool)
        inside[s] = True
        other[s] = member_ids[o]
        near[s] = o
        value = np.zeros(n)
        outside = np.flatnonzero(~inside)
        if len(outside) and len(zone_geoms):
            if match:
                # Distance to the site's own zone: measured pairwise, only for the few sites outside it.
                wanted = sites[site_col].to_numpy()[outside]
                own = pd.Series(np.arange(len(zone_geoms)), index=zones[zone_col].to_numpy())
                own = own[~own.index.duplicated()]
                j = own.reindex(wanted).to_numpy()
                has = ~np.isnan(j)
                value[outside] = np.inf
                value[outside[has]] = shapely.distance(site_geoms[outside[has]], zone_geoms[j[has].astype(int)])
                other[outside[has]] = zone_ids[j[has].astype(int)]
                near[outside[has]] = j[has].astype(int)
            else:
                # The distance to a group of zones is the distance to its nearest member.
                (qs, qo), dist = shapely.STRtree(zone_geoms).query_nearest(site_geoms[outside], return_distance=True,
                                                                           all_matches=False)
                value[outside[qs]] = dist
                other[outside[qs]] = member_ids[qo]
                near[outside[qs]] = qo
        elif len(outside):
            value[outside] = np.inf
        m = Measure(value=value, limit=np.full(n, float(max_distance)), upper=True, unit="m", other=other,
                     certain=inside & (max_distance == 0))
    else:
        s, o = shapely.STRtree(zone_geoms).query(site_geoms, predicate="intersects")
        if match:
            ok = sites[site_col].to_numpy()[s] == zones[zone_col].to_numpy()[o]
            s, o = s[ok], o[ok]
        elif groups is not None:
            s, o, zone_geoms, zone_ids = group_pairs(groups, site_geoms, s, o, site_ids=sites.index.to_numpy())
        shapely.prepare(zone_geoms)
        whole = shapely.contains_properly(zone_geoms[o], site_geoms[s])
        size = geometry_size(site_geoms[s], kind)
        part = np.flatnonzero(~whole)
        limits.check_overlay_work(site_geoms, zone_geoms, s[part], o[part], a_ids=sites.index.to_numpy(),
                                  b_ids=zone_ids, what="share inside the zones")
        if kind == "polygon":
            size[part] = overlap_area(site_geoms, zone_geoms, s[part], o[part])
        else:
            size[part] = geometry_size(shapely.intersection(site_geoms[s[part]], zone_geoms[o[part]]), kind)
        total = np.bincount(s, weights=size, minlength=n)
        site_size = geometry_size(site_geoms, kind)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(site_size > 0, np.minimum(100.0 * total / site_size, 100.0), np.nan)
        # A site split between adjacent zones sums to 100 % up to rounding: that is wholly inside too.
        wholly = value >= 100.0 * (1 - 1e-9)
        wholly[s[whole]] = True
        value[wholly] = 100.0
        if len(s):
            top = first_per_site(s, -size)
            other[s[top]] = zone_ids[o[top]]
        m = Measure(value=value, limit=np.full(n, float(min_share)), upper=False, unit="%", other=other,
                     certain=wholly)

    def reasons(rows: pd.DataFrame) -> list[Reason]:
        names = feature_names(zones)
        out: list[Reason] = []
        for row in rows.itertuples():
            other = feature_name(row.other, names)
            if kind == "point":
                if row.value == 0:
                    out.append(("within.inside", {"other": other}))
                elif math.isinf(row.value):
                    out.append(("within.outside_all", {}))
                else:
                    out.append(("within.point_out", {"value": row.value, "limit": row.limit, "unit": "m",
                                                     "other": other}))
            elif row.value >= 100:
                out.append(("within.wholly", {"other": other}))
            elif row.other is None:
                out.append(("within.outside_all", {}))
            else:
                out.append(("within.partly", {"value": row.value, "limit": row.limit, "unit": "%", "other": other}))
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        geoms = site_geoms[pos]
        if kind == "point":
            pieces = np.full(len(pos), None, dtype=object)
            known = near[pos] >= 0
            pieces[known] = shapely.shortest_line(geoms[known], zone_geoms[near[pos][known]])
        else:
            mask = np.isin(s, pos)
            covered = pd.Series(zone_geoms[o[mask]]).groupby(s[mask]).agg(shapely.union_all)
            union = covered.reindex(pos).to_numpy()
            union = np.where(pd.isna(union), None, union)
            pieces = np.where(pd.isna(union), geoms, shapely.difference(geoms, union))
        return concat_pieces(site_pieces(sites, rows), pieces_frame(rows.index, pieces, "offending", rows["other"]))

    return rule_result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)


def check_setback(
    sites: gpd.GeoDataFrame, sensitive: gpd.GeoDataFrame, *, distance: float | Mapping[str, float],
    class_column: str | None = None, tolerance: float | None = None, tolerance_band: float | None = None,
    rule: RuleSpec | None = None,
) -> RuleResult:
    """Sites must keep a minimum distance from sensitive land, by the land's class.

    For each site the binding feature is the one with the smallest
    ``distance - required distance of its class``; its distance is the value
    and its class's distance the limit. Sensitive features of a class without a
    distance are not checked. A site with no sensitive feature within reach
    passes with no value.

    Parameters
    ----------
    sites, sensitive
        GeoDataFrames in one metric CRS.
    distance
        Metres, or ``{class: metres}`` with ``class_column`` naming the class.
    class_column
        The column of ``sensitive`` holding the class (default ``"kind"`` when
        ``distance`` is a mapping).
    tolerance, tolerance_band, rule
        As for :func:`check_exclusion`.

    Returns
    -------
    RuleResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> plant = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100)], crs=3857, index=["plant"])
    >>> land = gpd.GeoDataFrame({"kind": ["residential", "school"]},
    ...                         geometry=[box(400, 0, 500, 100), box(0, 700, 100, 800)], crs=3857, index=["r", "s"])
    >>> r = check_setback(plant, land, distance={"residential": 200, "school": 1000})
    >>> r.frame.loc["plant", ["status", "value", "limit", "margin", "other"]].to_dict()
    {'status': 'fail', 'value': 600.0, 'limit': 1000.0, 'margin': -400.0, 'other': 's'}
    """
    crs = same_metric_crs(("sites", sites), ("sensitive features", sensitive))
    site_geoms = geometries(sites)
    n = len(site_geoms)
    if isinstance(distance, Mapping):
        column = class_column or "kind"
        if column not in sensitive.columns:
            msg = f"the sensitive features have no class column {column!r}"
            raise RuleError(msg + " (hint: set class_column)", code="E-RULE-COLUMN")
        required = sensitive[column].map({str(k): float(v) for k, v in distance.items()}).to_numpy(dtype=float)
        classes = sensitive[column].astype(str).to_numpy()
    else:
        required = np.full(len(sensitive), float(distance))
        classes = np.full(len(sensitive), "sensitive land", dtype=object)
    checked = ~np.isnan(required)
    feat_geoms = geometries(sensitive)[checked]
    feat_ids = np.asarray([str(i) for i in sensitive.index[checked]], dtype=object)
    required, classes = required[checked], classes[checked]
    band = band_of(required, tolerance, tolerance_band)
    s, o, d = near_pairs(site_geoms, feat_geoms, required + band)
    value, limit = np.full(n, np.nan), np.full(n, float(np.max(required)) if len(required) else np.nan)
    other = np.full(n, None, dtype=object)
    if len(s):
        top = first_per_site(s, d - required[o])
        value[s[top]] = d[top]
        limit[s[top]] = required[o[top]]
        other[s[top]] = feat_ids[o[top]]
    absent = np.isnan(value)
    m = Measure(value=value, limit=limit, upper=False, unit="m", other=other, absent=absent)
    cls_of = dict(zip(feat_ids, classes, strict=True))
    rule = rule or adhoc_rule("setback", distance=distance)
    setback: Mapping[str, float] | float = ({str(k): float(v) for k, v in distance.items()}
                                            if isinstance(distance, Mapping) else float(distance))

    def reasons(rows: pd.DataFrame) -> list[Reason]:
        names = feature_names(sensitive)
        out: list[Reason] = []
        for row in rows.itertuples():
            if math.isnan(row.value):
                out.append(("setback.clear", {"setback": setback, "setback_unit": "m"}))
            else:
                out.append(("setback.short" if row.margin < 0 else "setback.enough",
                            {"value": row.value, "limit": row.limit, "unit": "m", "class": cls_of[row.other],
                             "other": feature_name(row.other, names)}))
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        known = rows["other"].notna().to_numpy()
        feat_pos = pd.Series(np.arange(len(feat_ids)), index=feat_ids)[rows["other"][known]].to_numpy()
        lines = shapely.shortest_line(site_geoms[pos[known]], feat_geoms[feat_pos])
        return concat_pieces(site_pieces(sites, rows),
                       pieces_frame(rows.index[known], feat_geoms[feat_pos], "offending", rows["other"][known]),
                       pieces_frame(rows.index[known], lines, "offending", rows["other"][known]))

    return rule_result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)


def check_access(
    sites: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, *, max_distance: float, network: Any = None,
    tolerance: float | None = None, tolerance_band: float | None = None, rule: RuleSpec | None = None,
) -> RuleResult:
    """Sites must lie within ``max_distance`` of a feature of ``targets``, straight or by road.

    Straight line: every site gets its distance to the nearest target, near ones
    from one bounding-box query, the rest (which fail) from a nearest-neighbour
    query. By road (``network`` given): one multi-source shortest-path search
    from all targets at once (:func:`nbgeo.network.nearest_facility`, snapping
    included), cut off at the limit plus the band; farther sites fail with
    ``inf``.

    Parameters
    ----------
    sites, targets
        GeoDataFrames in one metric CRS (roads, interchanges, ports, stations...).
    max_distance
        Metres.
    network
        A :class:`nbgeo.network.RoadNetwork` to measure by road; None for straight lines.
    tolerance, tolerance_band, rule
        As for :func:`check_exclusion`.

    Returns
    -------
    RuleResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> road = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)])], crs=3857, index=["G1"])
    >>> parks = gpd.GeoDataFrame(geometry=[Point(500, 300), Point(500, 2500)], crs=3857, index=["p1", "p2"])
    >>> check_access(parks, road, max_distance=1000).frame[["status", "value", "margin"]].to_dict("list")
    {'status': ['pass', 'fail'], 'value': [300.0, 2500.0], 'margin': [700.0, -1500.0]}
    """
    crs = same_metric_crs(("sites", sites), ("targets", targets))
    site_geoms, target_geoms = geometries(sites), geometries(targets)
    n = len(site_geoms)
    limit = np.full(n, float(max_distance))
    band = band_of(limit, tolerance, tolerance_band)
    target_ids = np.asarray([str(i) for i in targets.index], dtype=object)
    value, other = np.full(n, np.nan), np.full(n, None, dtype=object)
    reach = float(max_distance) + (float(band[0]) if n else 0.0)
    if network is not None:

        table = nearest_facility(network, sites, targets, distance=reach)
        value = table["distance"].to_numpy(dtype=float)
        found = table["facility"].notna().to_numpy()
        other[found] = [str(f) for f in table["facility"][found]]
    else:
        s, o, d = near_pairs(site_geoms, target_geoms, reach)
        if len(s):
            top = first_per_site(s, d)
            value[s[top]], other[s[top]] = d[top], target_ids[o[top]]
        rest = np.flatnonzero(np.isnan(value))
        if len(rest) and len(target_geoms):
            (qs, qo), dist = shapely.STRtree(target_geoms).query_nearest(site_geoms[rest], return_distance=True,
                                                                         all_matches=False)
            value[rest[qs]], other[rest[qs]] = dist, target_ids[qo]
    m = Measure(value=value, limit=limit, upper=True, unit="m", other=other)
    rule = rule or adhoc_rule("access", max_distance=max_distance)
    how = "road" if network is not None else "straight"

    def reasons(rows: pd.DataFrame) -> list[Reason]:
        names = feature_names(targets)
        out: list[Reason] = []
        for row in rows.itertuples():
            if math.isnan(row.value):
                out.append(("access.none", {}))
            elif math.isinf(row.value):
                out.append(("access.beyond", {"limit": row.limit, "unit": "m", "how": how}))
            else:
                out.append(("access.reaches" if row.value == 0 else "access.near",
                            {"value": row.value, "limit": row.limit, "unit": "m", "how": how,
                             "other": feature_name(row.other, names)}))
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        known = rows["other"].notna().to_numpy()
        tpos = pd.Series(np.arange(len(target_ids)), index=target_ids)[rows["other"][known]].to_numpy()
        lines = shapely.shortest_line(site_geoms[pos[known]], target_geoms[tpos])
        return concat_pieces(site_pieces(sites, rows), pieces_frame(rows.index[known], lines, "offending",
                                                          rows["other"][known]))

    return rule_result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)
