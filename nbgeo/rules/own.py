"""Rules on the sites themselves: ``spacing`` and ``overlap`` between sites, their ``area``, the ``slope`` under them."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import limits, raster
from .._clip import overlap_area
from .._values import numbers_of
from ..errors import RuleError
from ..plan import AREA_UNITS, RuleSpec
from .geometry import concat_pieces, first_per_site, geometries, near_pairs, pieces_frame, same_metric_crs, site_pieces
from .result import (
    Measure,
    Reason,
    RuleResult,
    adhoc_rule,
    band_of,
    feature_name,
    feature_names,
    rule_result,
    verdicts,
)

if TYPE_CHECKING:

    from ..layers import Raster

log = logging.getLogger(__name__)


def check_spacing(
    sites: gpd.GeoDataFrame, *, min_distance: float, keep: str | bool = "first", tolerance: float | None = None,
    tolerance_band: float | None = None, rule: RuleSpec | None = None,
) -> RuleResult:
    """Sites of one layer must be at least ``min_distance`` apart.

    With ``keep = "first"`` a pair that is too close fails once: the site listed
    later is measured against those listed before it, so the first keeps its
    place (duplicates are counted once). ``keep = false`` fails both.

    Parameters
    ----------
    sites
        A GeoDataFrame in a metric CRS.
    min_distance
        Metres.
    keep
        ``"first"`` or ``False``.
    tolerance, tolerance_band, rule
        As for :func:`check_exclusion`.

    Returns
    -------
    RuleResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> ch = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(12, 0), Point(100, 0)], crs=3857, index=["a", "b", "c"])
    >>> r = check_spacing(ch, min_distance=20)
    >>> r.frame[["status", "value", "other"]].to_dict("list")
    {'status': ['pass', 'fail', 'pass'], 'value': [nan, 12.0, nan], 'other': [None, 'a', None]}
    >>> check_spacing(ch, min_distance=20, keep=False).frame["status"].tolist()
    ['fail', 'fail', 'pass']
    """
    if keep not in ("first", False):
        msg = f"spacing: keep must be 'first' or false, got {keep!r}"
        raise RuleError(msg, code="E-RULE-VALUE")
    crs = same_metric_crs(("sites", sites))
    geoms = geometries(sites)
    n = len(geoms)
    limit = np.full(n, float(min_distance))
    band = band_of(limit, tolerance, tolerance_band)
    s, o, d = near_pairs(geoms, geoms, float(min_distance) + band[:1].sum() if n else 0.0)
    keep_pair = (o < s) if keep == "first" else (o != s)
    s, o, d = s[keep_pair], o[keep_pair], d[keep_pair]
    value = np.full(n, np.nan)
    other = np.full(n, None, dtype=object)
    ids = sites.index.astype(str).to_numpy(dtype=object)
    if len(s):
        top = first_per_site(s, d)
        value[s[top]] = d[top]
        other[s[top]] = ids[o[top]]
    m = Measure(value=value, limit=limit, upper=False, unit="m", other=other, absent=np.isnan(value))
    rule = rule or adhoc_rule("spacing", min_distance=min_distance)
    earlier = "listed before it " if keep == "first" else ""

    def reasons(rows: pd.DataFrame) -> list[Reason]:
        names = feature_names(sites)
        return [(f"spacing.alone{'_earlier' if earlier else ''}", {"limit": row.limit, "unit": "m"})
                if math.isnan(row.value) else
                ("spacing.near", {"value": row.value, "limit": row.limit, "unit": "m",
                                  "other": feature_name(row.other, names)})
                for row in rows.itertuples()]

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        known = rows["other"].notna().to_numpy()
        other_pos = sites.index.get_indexer(rows["other"][known])
        lines = shapely.shortest_line(geoms[pos[known]], geoms[other_pos])
        return concat_pieces(site_pieces(sites, rows), pieces_frame(rows.index[known], lines, "offending",
                                                          rows["other"][known]))

    return rule_result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)


def neighbour_reach(rule: RuleSpec, tolerance_band: float | None = None) -> float | None:
    """How far a rule's verdict on a site looks for other sites of its own layer; None if it looks at none.

    ``spacing`` measures each site against the sites within its distance plus
    the tolerance band, ``overlap`` against the sites it meets (reach 0);
    every other kind judges a site alone. A set of sites with everything
    within this reach of them is enough to judge them (see
    :func:`nbgeo.rules.geometry.neighbourhoods`).

    Examples
    --------
    >>> from nbgeo.plan import RuleSpec
    >>> neighbour_reach(RuleSpec(id="s", kind="spacing", layer="chargers", params={"min_distance": 20}), 0.05)
    21.0
    >>> neighbour_reach(RuleSpec(id="a", kind="area", layer="parks", params={"min_area": 1}), 0.05) is None
    True
    """
    if rule.kind == "spacing":
        limit = np.array([float(rule.params["min_distance"])])
        return float(limit[0] + band_of(limit, rule.params.get("tolerance"), tolerance_band)[0])
    if rule.kind == "overlap":
        return 0.0
    return None


def check_area(
    sites: gpd.GeoDataFrame, *, min_area: float | None = None, max_area: float | None = None, unit: str = "m2",
    column: str | None = None, tolerance: float | None = None, tolerance_band: float | None = None,
    rule: RuleSpec | None = None,
) -> RuleResult:
    """A site's area (or the value of ``column``) must lie within bounds.

    Parameters
    ----------
    sites
        A GeoDataFrame in a metric CRS.
    min_area, max_area
        The bounds, in ``unit``; at least one.
    unit
        ``"m2"``, ``"ha"`` or ``"km2"``.
    column
        Read the area from this column (already in ``unit``) instead of the geometry,
        e.g. a declared floor area.
    tolerance, tolerance_band, rule
        As for :func:`check_exclusion`.

    Returns
    -------
    RuleResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parks = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(0, 0, 200, 200)], crs=3857, index=["a", "b"])
    >>> check_area(parks, min_area=2, unit="ha").frame[["status", "value", "margin"]].to_dict("list")
    {'status': ['fail', 'pass'], 'value': [1.0, 4.0], 'margin': [-1.0, 2.0]}
    """
    if min_area is None and max_area is None:
        msg = "area: give min_area, max_area or both"
        raise RuleError(msg, code="E-RULE-VALUE")
    if unit not in AREA_UNITS:
        msg = f"area: unit must be one of {', '.join(AREA_UNITS)}, got {unit!r}"
        raise RuleError(msg, code="E-RULE-VALUE")
    crs = same_metric_crs(("sites", sites))
    n = len(sites)
    missing = np.zeros(n, dtype=bool)
    if column is not None:
        if column not in sites.columns:
            msg = f"the sites have no column {column!r}"
            raise RuleError(msg, code="E-RULE-COLUMN")
        value = numbers_of(sites[column], layer=rule.layer if rule else "sites", column=column,
                           what="the area rule").to_numpy(dtype=float)
    else:
        geoms = geometries(sites)
        value = shapely.area(geoms) / AREA_UNITS[unit]
        missing = shapely.get_dimensions(geoms) < 2
    missing |= np.isnan(value)
    lo = -np.inf if min_area is None else float(min_area)
    hi = np.inf if max_area is None else float(max_area)
    # The binding bound is the nearer one: it gives the smaller margin.
    use_lo = (value - lo) <= (hi - value)
    limit = np.where(use_lo, lo, hi)
    upper = False
    margin_sign = np.where(use_lo, 1.0, -1.0)
    m = Measure(value=margin_sign * value, limit=margin_sign * limit, upper=upper, unit=unit,
                 other=np.full(n, None, dtype=object), missing=missing)
    band = band_of(np.where(np.isfinite(limit), limit, 0.0), tolerance, tolerance_band)
    status = verdicts(m, band)
    frame = pd.DataFrame({"status": status, "value": value, "limit": limit, "margin": m.margin,
                          "unit": unit, "other": pd.Series(m.other, index=sites.index, dtype=object)},
                         index=sites.index)
    rule = rule or adhoc_rule("area", min_area=min_area, max_area=max_area, unit=unit)

    prefix = "area.column_" if column else "area."

    def reasons(rows: pd.DataFrame) -> list[Reason]:
        out: list[Reason] = []
        for row in rows.itertuples():
            if math.isnan(row.value) or (column is None and row.status == "unknown" and row.value == 0):
                out.append((f"{prefix}none", {"column": column or ""}))
            else:
                bound = "at_least" if row.limit == lo else "at_most"
                out.append((f"{prefix}{bound}", {"column": column or "", "value": row.value, "limit": row.limit,
                                                 "unit": unit}))
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        return site_pieces(sites, rows)

    return RuleResult(rule=rule, frame=frame, crs=crs, _reasoner=reasons, _offender=offender)


def check_slope(
    sites: gpd.GeoDataFrame, dem: str | Raster, *, max_slope: float, stat: str = "mean", unit: str = "percent",
    tolerance: float | None = None, tolerance_band: float | None = None, rule: RuleSpec | None = None,
) -> RuleResult:
    """A site's mean (or maximum) slope from a DEM must not exceed ``max_slope``.

    The slope is computed at the DEM cells whose centre lies in the site (see
    :func:`nbgeo.raster.slope_stats`); a site smaller than a cell is read at
    the cell under its representative point. A site with no DEM data under it
    is ``unknown``.

    Parameters
    ----------
    sites
        A GeoDataFrame in the DEM's CRS.
    dem
        The DEM: a GeoTIFF path or a :class:`~nbgeo.layers.Raster`.
    max_slope
        The limit, in ``unit``.
    stat
        ``"mean"`` or ``"max"``.
    unit
        ``"percent"`` or ``"degree"``.
    tolerance, tolerance_band, rule
        As for :func:`check_exclusion`.

    Returns
    -------
    RuleResult

    Examples
    --------
    >>> from nbgeo import datasets, io
    >>> ds = io.read_sample()
    >>> r = check_slope(ds["micro_parks"], ds.raster("dem"), max_slope=10)
    >>> r.failing_ids.tolist(), r.frame.loc["MP00001", "unit"]
    (['MP00001'], '%')
    """
    if stat not in ("mean", "max"):
        msg = f"slope: stat must be 'mean' or 'max', got {stat!r}"
        raise RuleError(msg, code="E-RULE-VALUE")
    stats = raster.slope_stats(sites, dem, stats=("count", stat), unit=unit)
    value = stats[stat].to_numpy(dtype=float, copy=True)
    small = (stats["count"].to_numpy() == 0) & ~sites.geometry.is_empty.to_numpy()
    if small.any():
        # Smaller than a cell: read the cell under the representative point.
        points = sites.geometry[small].representative_point()
        value[small] = raster.slope_stats(points, dem, stats=(stat,), unit=unit)[stat].to_numpy(dtype=float)
    n = len(sites)
    units = "%" if unit == "percent" else "degree"
    m = Measure(value=value, limit=np.full(n, float(max_slope)), upper=True, unit=units,
                 other=np.full(n, None, dtype=object), missing=np.isnan(value))
    rule = rule or adhoc_rule("slope", max_slope=max_slope, stat=stat)
    counts = stats["count"].to_numpy()

    def reasons(rows: pd.DataFrame) -> list[Reason]:
        pos = sites.index.get_indexer(rows.index)
        out: list[Reason] = []
        for p, row in zip(pos, rows.itertuples(), strict=True):
            if math.isnan(row.value):
                out.append(("slope.none", {}))
            else:
                out.append(("slope.cells" if counts[p] else "slope.centre",
                            {"stat": stat, "value": row.value, "limit": row.limit, "unit": units,
                             "cells": int(counts[p]), "cells_unit": ""}))
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        return site_pieces(sites, rows)

    return rule_result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=sites.crs,
                   reasoner=reasons, offender=offender)


def check_overlap(
    sites: gpd.GeoDataFrame, *, max_area: float | None = None, max_share: float | None = None,
    keep: str | bool = "larger", tolerance: float | None = None, tolerance_band: float | None = None,
    rule: RuleSpec | None = None,
) -> RuleResult:
    """Sites of one layer must not overlap each other; a nested site is counted once.

    In each overlapping pair the site that gives way is measured: the smaller
    one (``keep = "larger"``), the one listed later (``"first"``), or both
    (``False``). Its value is the area it shares with the sites it gives way to
    (m², or percent of its area with ``max_share``); a site wholly inside
    another is reported as nested.

    Parameters
    ----------
    sites
        Polygons in a metric CRS.
    max_area, max_share
        Overlap allowed (m² or percent); default 0 m².
    keep
        ``"larger"``, ``"first"`` or ``False``.
    tolerance, tolerance_band, rule
        As for :func:`check_exclusion`.

    Returns
    -------
    RuleResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parks = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(10, 10, 20, 20), box(300, 0, 400, 100)],
    ...                          crs=3857, index=["big", "nested", "apart"])
    >>> r = check_overlap(parks)
    >>> r.frame[["status", "value", "other"]].to_dict("list")
    {'status': ['pass', 'fail', 'pass'], 'value': [0.0, 100.0, 0.0], 'other': [None, 'big', None]}
    >>> r.reasons()["nested"]
    'nested in big (counted once, there)'
    """
    if keep not in ("larger", "first", False):
        msg = f"overlap: keep must be 'larger', 'first' or false, got {keep!r}"
        raise RuleError(msg, code="E-RULE-VALUE")
    crs = same_metric_crs(("sites", sites))
    geoms = geometries(sites)
    n = len(geoms)
    area = shapely.area(geoms)
    s, o = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    # Pairs in layer order, not the tree's: sums and ties then do not depend on which sites the tree holds.
    order = np.lexsort((o, s))
    s, o = s[order], o[order]
    if keep == "larger":
        # The site that gives way: the smaller, or the later of two equal ones.
        gives_way = (area[s] < area[o]) | ((area[s] == area[o]) & (s > o))
    elif keep == "first":
        gives_way = s > o
    else:
        gives_way = s != o
    s, o = s[gives_way], o[gives_way]
    shapely.prepare(geoms)
    nested = shapely.covers(geoms[o], geoms[s])
    shared = np.where(nested, area[s], 0.0)
    part = ~nested
    site_ids = sites.index.to_numpy()
    limits.check_overlay_work(geoms, geoms, s[part], o[part], a_ids=site_ids, b_ids=site_ids, what="overlap measure")
    shared[part] = overlap_area(geoms, geoms, s[part], o[part])
    total = np.bincount(s, weights=shared, minlength=n)
    ids = sites.index.astype(str).to_numpy(dtype=object)
    other = np.full(n, None, dtype=object)
    is_nested = np.zeros(n, dtype=bool)
    if len(s):
        top = first_per_site(s, -shared)
        other[s[top]] = ids[o[top]]
        is_nested[s[nested]] = True
    if max_share is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(area > 0, np.minimum(100.0 * total / area, 100.0), 0.0)
        limit, unit = float(max_share), "%"
    else:
        value, limit, unit = total, float(max_area or 0.0), "m2"
    m = Measure(value=value, limit=np.full(n, limit), upper=True, unit=unit, other=other,
                 certain=(value == 0) & (limit == 0))
    rule = rule or adhoc_rule("overlap", max_area=max_area, max_share=max_share)

    def reasons(rows: pd.DataFrame) -> list[Reason]:
        names = feature_names(sites)
        pos = sites.index.get_indexer(rows.index)
        out: list[Reason] = []
        for p, row in zip(pos, rows.itertuples(), strict=True):
            if row.other is None:
                out.append(("overlap.none", {}))
            elif is_nested[p] and total[p] >= area[p] * 0.999999:
                out.append(("overlap.nested", {"other": feature_name(row.other, names)}))
            else:
                share = 100.0 * total[p] / area[p] if area[p] > 0 else 0.0
                out.append(("overlap.some", {"other": feature_name(row.other, names), "amount": total[p],
                                             "amount_unit": "m2", "share": share, "limit": row.limit,
                                             "unit": row.unit}))
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        mask = np.isin(s, pos)
        pieces = shapely.intersection(geoms[s[mask]], geoms[o[mask]])
        return concat_pieces(site_pieces(sites, rows), pieces_frame(sites.index[s[mask]], pieces, "offending", ids[o[mask]]))

    return rule_result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)
