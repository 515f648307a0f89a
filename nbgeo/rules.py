"""Siting rules: for every site a verdict, the measured value, the limit, a signed margin and a reason.

A rule is declared in the plan as a ``[[rules]]`` table (see :class:`~nbgeo.plan.RuleSpec`)::

    [[rules]]
    id = "red_line_micro_parks"
    kind = "exclusion"
    layer = "micro_parks"                             # the sites checked
    against = "constraints"                           # the layer they are checked against
    against_where = { kind = "ecological_red_line" }
    max_area = 0                                      # m² of overlap allowed
    phrase = "生态保护红线内严格禁止开发性、生产性建设活动"

and evaluated by :func:`evaluate_rule`; the ``check_*`` functions do the work on
GeoDataFrames in one metric CRS and can be called directly.

Kinds
-----
============  =====================================================  ======================  =========
kind          measured value per site                                limit (parameter)       unit
============  =====================================================  ======================  =========
within        share of the site inside ``against`` (polygons,        ``min_share`` (100)     %
              lines); distance outside it (points)                   ``max_distance`` (0)    m
exclusion     overlap with ``against``: area (polygons), length      ``max_area`` (0) or     m², m, %
              (lines), depth inside (points); or its share           ``max_share``
setback       distance to the nearest ``against`` feature, against   ``distance``: a number  m
              that feature's class's distance                        or {class = metres}
spacing       distance to the nearest other site of the layer        ``min_distance``        m
access        distance to the nearest ``against`` feature            ``max_distance``        m
area          the site's area (or a column's value)                  ``min_area``/``max_area``  m², ha
slope         mean or max slope of the DEM over the site             ``max_slope``           %, degree
overlap       area the site shares with larger sites of the layer    ``max_area`` (0) or     m², %
                                                                     ``max_share``
============  =====================================================  ======================  =========

The margin is signed, positive on the good side: ``limit - value`` for upper
limits and ``value - limit`` for lower ones. A site fails when the margin is
negative. It is ``unknown`` when the data to measure it is missing (no DEM
under it, a missing layer) or when ``|margin| <= band``, the tolerance band:
the rule's ``tolerance`` (in its unit) or else ``settings.tolerance_band``
times the limit. A site at the natural bound of its measure (no overlap at all,
wholly inside) is certain and passes whatever the band.

Pairs of sites and the features they are checked against come from one
spatial-index query per rule (an STRtree over bounding boxes grown by the
distance that matters), followed by exact vectorised shapely measures on the
candidate pairs: there is no loop over sites. Distances beyond the limit and
band are not measured: such a site passes a setback or spacing rule with no
value (``NaN``; "nothing within ...").

For ``spacing`` and ``overlap`` a pair of sites breaks the rule once: only one
of the two fails, so excluding failing sites keeps one (a nested site is
counted once). ``keep = "first"`` lets the site listed first keep its place,
``keep = "larger"`` (overlap's default) the larger one, and ``keep = false``
fails both.

Every distance, area and length is measured in one metric CRS
(:meth:`nbgeo.layers.Dataset.metric`); two inputs in different CRSs are an
error (:class:`~nbgeo.errors.CRSError`), never reprojected silently.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> sites = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(50, 0, 60, 10)], crs=3857, index=["a", "b"])
>>> red = gpd.GeoDataFrame(geometry=[box(8, 0, 30, 10)], crs=3857, index=["r1"])
>>> r = check_exclusion(sites, red, max_area=0)
>>> r.frame[["status", "value", "limit", "margin", "unit"]]
  status  value  limit  margin unit
a   fail   20.0    0.0   -20.0   m2
b   pass    0.0    0.0     0.0   m2
>>> r.reasons()["a"]
'overlaps r1 by 20 m² (20.0 % of the site); limit 0 m²'
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from . import limits
from ._clip import overlap_area
from ._values import numbers_of
from .errors import CRSError, InputError, LimitError, RuleError
from .filters import filter_mask
from .plan import AREA_UNITS, RuleSpec

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import NDArray

    from .layers import Dataset, Raster
    from .plan import Plan

__all__ = [
    "KINDS",
    "STATUSES",
    "RuleResult",
    "check_access",
    "check_area",
    "check_exclusion",
    "check_overlap",
    "check_setback",
    "check_slope",
    "check_spacing",
    "check_within",
    "evaluate_rule",
    "evaluate_rules",
    "failing_ids",
    "filter_sites",
    "without_failing",
]

log = logging.getLogger(__name__)

KINDS = ("within", "exclusion", "setback", "spacing", "access", "area", "slope", "overlap")
STATUSES = ("pass", "fail", "unknown")

Reasoner = Callable[[pd.DataFrame], list[str]]
Offender = Callable[[pd.DataFrame], "gpd.GeoDataFrame"]


# --------------------------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class RuleResult:
    """The verdicts of one rule on every site of its layer.

    Attributes
    ----------
    rule
        The rule evaluated.
    frame
        One row per site, indexed by feature id: ``status``, ``value``,
        ``limit``, ``margin``, ``unit`` and ``other`` (the id of the feature
        that decides the verdict: the overlapped area, the nearest sensitive
        feature, the other site; ``None`` when there is none).
    note
        Why the whole rule could not be evaluated (a missing layer), or ``""``.
    crs
        The CRS of the offending geometry before it is returned in EPSG:4326.
    """

    rule: RuleSpec
    frame: pd.DataFrame
    note: str = ""
    crs: Any = None
    _reasoner: Reasoner | None = field(default=None, repr=False)
    _offender: Offender | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        """``fail`` if any site fails, else ``unknown`` if any site (or the rule) is unknown, else ``pass``."""
        statuses = self.frame["status"]
        if (statuses == "fail").any():
            return "fail"
        if self.note and self.frame.empty and not self.passed_vacuously:
            return "unknown"
        return "unknown" if (statuses == "unknown").any() else "pass"

    @property
    def passed_vacuously(self) -> bool:
        """True when the layer exists but holds no site to check."""
        return self.note.startswith("no sites")

    @property
    def checked(self) -> int:
        """Number of sites checked."""
        return len(self.frame)

    @property
    def failed(self) -> int:
        """Number of sites that fail."""
        return int((self.frame["status"] == "fail").sum())

    @property
    def unknown(self) -> int:
        """Number of sites whose verdict is unknown."""
        return int((self.frame["status"] == "unknown").sum())

    @property
    def failing_ids(self) -> pd.Index:
        """The ids of the failing sites."""
        return self.frame.index[self.frame["status"] == "fail"]

    def reasons(self, ids: Any = None) -> pd.Series:
        """The reason of each site (or of the sites ``ids``), in plain words."""
        rows = self.frame if ids is None else self.frame.loc[ids]
        if self._reasoner is None or rows.empty:
            return pd.Series([self.note] * len(rows), index=rows.index, dtype=object)
        return pd.Series(self._reasoner(rows), index=rows.index, dtype=object)

    @cached_property
    def table(self) -> pd.DataFrame:
        """:attr:`frame` with a ``reason`` column (built on first use)."""
        return self.frame.assign(reason=self.reasons())

    def findings(self, *, statuses: tuple[str, ...] = ("fail", "unknown")) -> list[dict[str, Any]]:
        """JSON-ready findings of the sites with these statuses, worst margin first."""
        rows = self.frame[self.frame["status"].isin(statuses)]
        if rows.empty and self.note and not self.passed_vacuously:
            return [{"feature_id": None, "status": "unknown", "value": None, "limit": None, "margin": None,
                     "unit": _unit_of(self.rule), "reason": self.note}]
        rows = rows.sort_values("margin", na_position="last", kind="stable")
        reasons = self.reasons(rows.index)
        return [
            {"feature_id": _plain(fid), "status": row.status, "value": _num(row.value), "limit": _num(row.limit),
             "margin": _num(row.margin), "unit": row.unit, "reason": reasons[fid]}
            for fid, row in zip(rows.index, rows.itertuples(), strict=True)
        ]

    def to_dict(self, *, all_findings: bool = False) -> dict[str, Any]:
        """The rule's entry in ``audit.json``: id, layer, kind, status, counts and findings.

        Findings list the failing and unknown sites; ``all_findings=True`` lists every site.
        """
        statuses = STATUSES if all_findings else ("fail", "unknown")
        return {"id": self.rule.id, "layer": self.rule.layer, "kind": self.rule.kind, "status": self.status,
                "checked": self.checked, "failed": self.failed, "unknown": self.unknown,
                "findings": self.findings(statuses=statuses)}

    def offending(self) -> gpd.GeoDataFrame:
        """Failing and unknown sites with their offending geometry, in EPSG:4326.

        One row per site (``role = "site"``) and one per piece of offending
        geometry (``role = "offending"``: the overlap, the part outside, the
        line to the nearest feature, the other site), with the columns
        ``feature_id``, ``rule``, ``role``, ``status``, ``other`` and ``label``.
        """
        import geopandas as gpd

        columns = ["feature_id", "rule", "role", "status", "other", "label"]
        rows = self.frame[self.frame["status"].isin(("fail", "unknown"))]
        if rows.empty or self._offender is None:
            return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=4326)
        reasons = self.reasons(rows.index)
        pieces = self._offender(rows)
        pieces = pieces[~(pieces.geometry.isna() | pieces.geometry.is_empty)]
        out = gpd.GeoDataFrame({
            "feature_id": [str(i) for i in pieces.index],
            "rule": self.rule.id,
            "role": pieces["role"].to_numpy(),
            "status": rows.loc[pieces.index, "status"].to_numpy(),
            "other": pd.Series(pieces["other"].to_numpy(), dtype=object).where(pieces["other"].notna().to_numpy(), None),
            "label": [f"{self.rule.id}: {fid} — {reasons[fid]}" for fid in pieces.index],
        }, geometry=pieces.geometry.to_numpy(), crs=self.crs)
        return out.to_crs(4326).reset_index(drop=True)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _num(value: Any) -> float | None:
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def _fmt(value: float, unit: str) -> str:
    """A number with its unit, rounded for reading."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if math.isinf(value):
        return "∞"
    digits = 0 if (unit in ("m", "m2") and abs(value) >= 10) or float(value).is_integer() else (
        2 if abs(value) < 10 else 1)
    text = f"{value:,.{digits}f}"
    return {"m": f"{text} m", "m2": f"{text} m²", "%": f"{text} %", "ha": f"{text} ha",
            "degree": f"{text}°"}.get(unit, f"{text} {unit}".strip())


def _name(other: Any, names: Mapping[str, str] | None = None) -> str:
    """A feature's id, with its name when the layer has one: ``CN00003 (奉化西部山区...)``."""
    if other is None or (isinstance(other, float) and math.isnan(other)):
        return "—"
    label = (names or {}).get(str(other))
    return f"{other} ({label})" if label else str(other)


def _names(gdf: gpd.GeoDataFrame) -> dict[str, str]:
    """Feature id → name, for layers with a ``name`` column."""
    if "name" not in gdf.columns:
        return {}
    values = gdf["name"]
    keep = values.notna().to_numpy()
    return dict(zip(map(str, gdf.index[keep]), map(str, values[keep]), strict=True))


# --------------------------------------------------------------------------------------------------------------
# Shared machinery
# --------------------------------------------------------------------------------------------------------------

def _geoms(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> NDArray[np.object_]:
    return np.asarray(getattr(gdf, "geometry", gdf).values, dtype=object)


def _same_metric_crs(*frames: tuple[str, gpd.GeoDataFrame | gpd.GeoSeries | None]) -> Any:
    """The one projected CRS the inputs share; a CRSError naming both CRSs otherwise."""
    from pyproj import CRS

    named = [(what, gdf) for what, gdf in frames if gdf is not None]
    first_what, first = named[0]
    if first.crs is None:
        msg = f"the {first_what} have no CRS"
        raise CRSError(msg + " (hint: set it with .set_crs(...))", code="E-CRS-MISSING")
    crs = CRS.from_user_input(first.crs)
    for what, gdf in named[1:]:
        if gdf.crs is None:
            msg = f"the {what} have no CRS; the {first_what} are in {crs.to_string()}"
            raise CRSError(msg + " (hint: set it with .set_crs(...))", code="E-CRS-MISSING")
        other = CRS.from_user_input(gdf.crs)
        if not other.equals(crs):
            msg = (f"the {first_what} are in {crs.to_string()} but the {what} are in {other.to_string()}; "
                   "nbgeo does not reproject silently")
            raise CRSError(msg + f" (hint: bring both into one metric CRS, e.g. .to_crs({crs.to_string()!r}))",
                           code="E-CRS-MISMATCH")
    if crs.is_geographic:
        msg = f"the {first_what} are in the geographic CRS {crs.to_string()}; distances and areas need metres"
        raise CRSError(msg + " (hint: use Dataset.metric(...) or .to_crs(a projected CRS))", code="E-CRS-GEOGRAPHIC")
    return first.crs


def _grown_boxes(geoms: NDArray[np.object_], grow: float | NDArray[np.float64]) -> NDArray[np.object_]:
    """Bounding boxes grown by ``grow`` on every side (a scalar, or one value per geometry)."""
    b = shapely.bounds(geoms)
    g = np.broadcast_to(np.asarray(grow, dtype=float), len(geoms))
    return shapely.box(b[:, 0] - g, b[:, 1] - g, b[:, 2] + g, b[:, 3] + g)


_PREFILTER_MIN = 100_000  # sites; below this the STRtree alone is quicker
_GRID_CELLS = 1 << 22


def _may_touch(site_bounds: NDArray[np.float64], box_bounds: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which sites' bounding boxes may touch one of the boxes, from a coarse occupancy grid.

    Conservative (never drops a site that touches a box): each box marks every
    grid cell it covers; a site smaller than a cell is looked up at the (at
    most four) cells its corners fall in; larger sites are always kept. On
    layers where constraints cover a small part of the city this spares the
    spatial index most of its queries.
    """
    x0, y0 = box_bounds[:, 0].min(), box_bounds[:, 1].min()
    x1, y1 = box_bounds[:, 2].max(), box_bounds[:, 3].max()
    span = max(x1 - x0, y1 - y0, 1e-9)
    sizes = np.maximum(site_bounds[:, 2] - site_bounds[:, 0], site_bounds[:, 3] - site_bounds[:, 1])
    cell = max(float(np.nanmedian(sizes)) * 2, span / np.sqrt(_GRID_CELLS), 1e-9)
    nx, ny = int(np.ceil((x1 - x0) / cell)) + 1, int(np.ceil((y1 - y0) / cell)) + 1
    # Mark the cells each box covers with a 2-D difference array, then sum it up.
    bi0 = ((box_bounds[:, 1] - y0) // cell).astype(np.int64)
    bi1 = ((box_bounds[:, 3] - y0) // cell).astype(np.int64)
    bj0 = ((box_bounds[:, 0] - x0) // cell).astype(np.int64)
    bj1 = ((box_bounds[:, 2] - x0) // cell).astype(np.int64)
    diff = np.zeros((ny + 1, nx + 1), dtype=np.int32)
    np.add.at(diff, (bi0, bj0), 1)
    np.add.at(diff, (bi0, bj1 + 1), -1)
    np.add.at(diff, (bi1 + 1, bj0), -1)
    np.add.at(diff, (bi1 + 1, bj1 + 1), 1)
    occupied = diff.cumsum(axis=0).cumsum(axis=1)[:ny, :nx] > 0
    outside = ((site_bounds[:, 2] < x0) | (site_bounds[:, 0] > x1) | (site_bounds[:, 3] < y0)
               | (site_bounds[:, 1] > y1))
    with np.errstate(invalid="ignore"):
        si0 = np.clip((site_bounds[:, 1] - y0) // cell, 0, ny - 1)
        si1 = np.clip((site_bounds[:, 3] - y0) // cell, 0, ny - 1)
        sj0 = np.clip((site_bounds[:, 0] - x0) // cell, 0, nx - 1)
        sj1 = np.clip((site_bounds[:, 2] - x0) // cell, 0, nx - 1)
    bad = np.isnan(si0) | np.isnan(si1) | np.isnan(sj0) | np.isnan(sj1)
    si0, si1, sj0, sj1 = (np.nan_to_num(v).astype(np.int64) for v in (si0, si1, sj0, sj1))
    small = (si1 - si0 <= 1) & (sj1 - sj0 <= 1)
    hit = occupied[si0, sj0] | occupied[si0, sj1] | occupied[si1, sj0] | occupied[si1, sj1]
    return ~bad & ~outside & (hit | ~small)


def _query(tree: shapely.STRtree, box_bounds: NDArray[np.float64], sites: NDArray[np.object_],
           predicate: str | None = None) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``tree.query(sites, predicate)``, with the occupancy-grid prefilter on large site layers."""
    if len(sites) < _PREFILTER_MIN or not len(box_bounds):
        return tree.query(sites, predicate=predicate)
    keep = np.flatnonzero(_may_touch(shapely.bounds(sites), box_bounds))
    s, o = tree.query(sites[keep], predicate=predicate)
    return keep[s], o


def _near_pairs(
    sites: NDArray[np.object_], others: NDArray[np.object_], reach: float | NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Pairs ``(site, other)`` closer than ``reach`` (scalar or per other), with their distances.

    One STRtree query of the sites against the others' boxes grown by their
    reach (a necessary condition, as the box distance never exceeds the true
    one), then exact distances on the candidates only.
    """
    empty = np.zeros(0, dtype=np.int64)
    if not len(sites) or not len(others):
        return empty, empty, np.zeros(0)
    boxes = _grown_boxes(others, reach)
    s, o = _query(shapely.STRtree(boxes), shapely.bounds(boxes), sites)
    d = shapely.distance(sites[s], others[o])
    r = np.broadcast_to(np.asarray(reach, dtype=float), len(others))
    keep = d <= r[o]
    return s[keep], o[keep], d[keep]


def _first_per_site(s: NDArray[np.int64], key: NDArray[np.float64]) -> NDArray[np.int64]:
    """Positions (into the pair arrays) of the pair with the smallest ``key`` for each site."""
    order = np.lexsort((key, s))
    _, first = np.unique(s[order], return_index=True)
    return order[first]


def _dissolve(geoms: NDArray[np.object_], ids: NDArray[Any]) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """Merge features whose interiors overlap, so that overlaps are not counted twice.

    Returns the geometries and their ids (``"a+b"`` for merged groups). Layers
    without overlapping features (the usual case) come back unchanged.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids = np.asarray([str(i) for i in ids], dtype=object)
    if len(geoms) < 2:
        return geoms, ids
    s, o = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = s < o
    s, o = s[keep], o[keep]
    limits.check_overlay_work(geoms, geoms, s, o, a_ids=ids, b_ids=ids, what="merge of overlapping features")
    overlapping = ~shapely.touches(geoms[s], geoms[o])
    s, o = s[overlapping], o[overlapping]
    if not len(s):
        return geoms, ids
    n = len(geoms)
    graph = coo_matrix((np.ones(len(s)), (s, o)), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    size = np.bincount(label, minlength=count)
    alone = size[label] == 1
    merged_geoms, merged_ids = list(geoms[alone]), list(ids[alone])
    order = np.argsort(label, kind="stable")
    members = order[size[label[order]] > 1]
    for group in np.split(members, np.flatnonzero(np.diff(label[members])) + 1):
        # One iteration per group of overlapping features (few), not per feature or site.
        merged_geoms.append(shapely.union_all(geoms[group]))
        merged_ids.append("+".join(ids[group]))
    log.info("Merged %d overlapping features into %d", n, count)
    return np.asarray(merged_geoms, dtype=object), np.asarray(merged_ids, dtype=object)


def _kind_of(geoms: NDArray[np.object_]) -> str:
    """``point``, ``line`` or ``polygon``: the dimension of a layer's geometries."""
    # Type ids: 0 point, 1-2 lines, 3 polygon, 4 multipoint, 5 multiline, 6 multipolygon; -1 missing.
    dim_of_type = np.array([0, 1, 1, 2, 0, 1, 2, -1, -1], dtype=np.int64)
    types = shapely.get_type_id(geoms)
    dims = dim_of_type[types[(types >= 0) & (types < 7)]]
    dims = dims[dims >= 0]
    if not len(dims):
        return "polygon"
    if (dims != dims[0]).any():
        msg = "a rule's sites must all be points, all lines or all polygons"
        raise RuleError(msg + " (hint: split the layer by geometry type)", code="E-RULE-GEOMTYPE")
    return ("point", "line", "polygon")[int(dims[0])]


def _size(geoms: NDArray[np.object_], kind: str) -> NDArray[np.float64]:
    return shapely.area(geoms) if kind == "polygon" else shapely.length(geoms)


@dataclass
class _Measure:
    """What a check measured, as arrays over the sites (internal)."""

    value: NDArray[np.float64]
    limit: NDArray[np.float64]
    upper: bool  # the limit is a maximum (margin = limit - value)
    unit: str
    other: NDArray[np.object_]
    certain: NDArray[np.bool_] | None = None  # at the natural bound of the measure: no band applies
    absent: NDArray[np.bool_] | None = None  # nothing within reach: passes with no value
    missing: NDArray[np.bool_] | None = None  # cannot be measured: unknown

    @property
    def margin(self) -> NDArray[np.float64]:
        return self.limit - self.value if self.upper else self.value - self.limit


def _verdicts(m: _Measure, band: NDArray[np.float64]) -> pd.Categorical:
    """The status of every site, as a categorical of :data:`STATUSES` (built from codes: no string work)."""
    PASS, FAIL, UNKNOWN = 0, 1, 2  # positions in STATUSES
    margin = m.margin
    with np.errstate(invalid="ignore"):
        code = np.where(margin >= 0, PASS, FAIL).astype(np.int8)
        near = (band > 0) & (np.abs(margin) <= band)
    if m.certain is not None:
        near &= ~m.certain
    code[near] = UNKNOWN
    code[np.isnan(margin)] = UNKNOWN
    if m.absent is not None:
        code[m.absent] = PASS
    if m.missing is not None:
        code[m.missing] = UNKNOWN
    return pd.Categorical.from_codes(code, categories=STATUSES)


def _band(limit: NDArray[np.float64], tolerance: float | None, tolerance_band: float | None) -> NDArray[np.float64]:
    """The tolerance band of each site: the rule's absolute tolerance, or the relative setting × |limit|."""
    if tolerance is not None:
        return np.full(limit.shape, float(tolerance))
    if tolerance_band is None:
        from . import settings

        tolerance_band = settings.tolerance_band
    return np.abs(np.nan_to_num(limit)) * float(tolerance_band)


def _result(rule: RuleSpec, index: pd.Index, m: _Measure, *, tolerance: float | None, tolerance_band: float | None,
            crs: Any, reasoner: Reasoner, offender: Offender | None) -> RuleResult:
    band = _band(m.limit, tolerance, tolerance_band)
    status = _verdicts(m, band)
    other = pd.Series(m.other, dtype=object)
    other = other.where(other.notna(), None).to_numpy()
    frame = pd.DataFrame({"status": status, "value": m.value.astype(float),
                          "limit": m.limit, "margin": m.margin,
                          "unit": pd.Categorical.from_codes(np.zeros(len(index), dtype=np.int8), [m.unit]),
                          "other": pd.Series(other, index=index, dtype=object)}, index=index)
    result = RuleResult(rule=rule, frame=frame, crs=crs, _reasoner=reasoner, _offender=offender)
    log.info("Rule %r (%s): %d sites, %d fail, %d unknown", rule.id, rule.kind, result.checked, result.failed,
             result.unknown)
    return result


def _adhoc(kind: str, layer: str = "sites", **params: Any) -> RuleSpec:
    """The rule a direct ``check_*`` call stands for (its layers are the frames given, named as here)."""
    if kind in ("within", "exclusion", "setback", "access"):
        params["against"] = "against"
    return RuleSpec(id=kind, layer=layer, kind=kind, params={k: v for k, v in params.items() if v is not None})


def _pieces(index: Any, geoms: Any, role: str, other: Any) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame({"role": role, "other": pd.Series(list(other), dtype=object).to_numpy()},
                            geometry=list(geoms), index=list(index))


def _site_pieces(sites: gpd.GeoDataFrame, rows: pd.DataFrame) -> gpd.GeoDataFrame:
    return _pieces(rows.index, sites.geometry.loc[rows.index], "site", rows["other"])


def _concat(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame(pd.concat(frames), geometry="geometry")


# --------------------------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------------------------

def _overlap_measure(
    sites: NDArray[np.object_], areas: NDArray[np.object_], kind: str, ids: tuple[Any, Any],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Pairs of sites and (disjoint) areas that intersect, with the size of their overlap.

    Sizes are areas for polygons, lengths for lines and, for points, the depth
    of the point inside the area (its distance to the area's edge). ``ids``
    are the site and area ids, for a refusal over the work budget.
    """
    tree = shapely.STRtree(areas)
    if kind == "polygon":
        # Boxes that meet are enough: the clipping measures 0 where the polygons do not overlap.
        s, o = _query(tree, shapely.bounds(areas), sites)
        limits.check_overlay_work(sites, areas, s, o, a_ids=ids[0], b_ids=ids[1], what="overlap measure")
        size = overlap_area(sites, areas, s, o)
        some = size > 0
        return s[some], o[some], size[some]
    s, o = _query(tree, shapely.bounds(areas), sites, "intersects")
    if kind == "point":
        return s, o, shapely.distance(sites[s], shapely.boundary(areas[o]))
    shapely.prepare(areas)
    inside = shapely.contains_properly(areas[o], sites[s])
    size = _size(sites[s], kind)
    cut = ~inside
    limits.check_overlay_work(sites, areas, s[cut], o[cut], a_ids=ids[0], b_ids=ids[1], what="overlap measure")
    size[cut] = _size(shapely.intersection(sites[s[cut]], areas[o[cut]]), kind)
    return s, o, size


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
    crs = _same_metric_crs(("sites", sites), ("excluded areas", areas))
    site_geoms = _geoms(sites)
    kind = _kind_of(site_geoms)
    area_geoms, area_ids = _dissolve(_geoms(areas), areas.index.to_numpy())
    s, o, size = _overlap_measure(site_geoms, area_geoms, kind, (sites.index.to_numpy(), area_ids))
    n = len(site_geoms)
    total = np.bincount(s, weights=size, minlength=n) if kind != "point" else np.zeros(n)
    if kind == "point" and len(s):
        np.maximum.at(total, s, size)
    other = np.full(n, None, dtype=object)
    if len(s):
        top = _first_per_site(s, -size)
        other[s[top]] = area_ids[o[top]]
    site_size = _size(site_geoms, kind) if kind != "point" else np.ones(n)
    if max_share is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(site_size > 0, 100.0 * total / site_size, 0.0)
        limit, unit = float(max_share), "%"
    else:
        value = total
        allowed = {"line": max_length, "polygon": max_area}.get(kind)  # points: any depth fails
        limit = 0.0 if allowed is None else float(allowed)
        unit = {"polygon": "m2", "line": "m", "point": "m"}[kind]
    m = _Measure(value=value, limit=np.full(n, limit), upper=True, unit=unit, other=other,
                 certain=(value == 0) & (limit == 0) if kind != "point" else (total == 0) & ~np.isin(np.arange(n), s))
    rule = rule or _adhoc("exclusion", max_area=max_area, max_share=max_share, max_length=max_length)
    noun = {"polygon": "overlaps", "line": "runs through", "point": "lies inside"}[kind]

    def reasons(rows: pd.DataFrame) -> list[str]:
        names = _names(areas)
        pos = sites.index.get_indexer(rows.index)
        out = []
        for p, row in zip(pos, rows.itertuples(), strict=True):
            if row.value == 0 or (kind == "point" and row.other is None):
                out.append(f"no overlap with the excluded areas; limit {_fmt(row.limit, row.unit)}")
            elif kind == "point":
                out.append(f"lies inside {_name(row.other, names)}, {_fmt(row.value, 'm')} from its edge; no depth allowed")
            else:
                amount = total[p]
                share = 100.0 * amount / site_size[p] if site_size[p] > 0 else 0.0
                size_unit = "m2" if kind == "polygon" else "m"
                out.append(f"{noun} {_name(row.other, names)} by {_fmt(amount, size_unit)} ({share:.1f} % of the site); "
                           f"limit {_fmt(row.limit, row.unit)}")
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        mask = np.isin(s, pos)
        ps, po = s[mask], o[mask]
        if kind == "point":
            pieces = shapely.shortest_line(site_geoms[ps], shapely.boundary(area_geoms[po]))
        else:
            pieces = shapely.intersection(site_geoms[ps], area_geoms[po])
        return _concat(_site_pieces(sites, rows), _pieces(sites.index[ps], pieces, "offending", area_ids[po]))

    return _result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
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
    crs = _same_metric_crs(("sites", sites), ("zones", zones))
    site_geoms = _geoms(sites)
    kind = _kind_of(site_geoms)
    n = len(site_geoms)
    zone_geoms = _geoms(zones)
    zone_ids = np.asarray([str(i) for i in zones.index], dtype=object)
    if match:
        (site_col, zone_col), = dict(match).items()
        for frame, col, what in ((sites, site_col, "sites"), (zones, zone_col, "zones")):
            if col not in frame.columns:
                msg = f"the {what} have no column {col!r} named in match"
                raise RuleError(msg, code="E-RULE-COLUMN")
    else:
        zone_geoms, zone_ids = _dissolve(zone_geoms, zones.index.to_numpy())
    other = np.full(n, None, dtype=object)
    rule = rule or _adhoc("within", min_share=min_share, max_distance=max_distance)

    if kind == "point":
        s, o = shapely.STRtree(zone_geoms).query(site_geoms, predicate="intersects")
        if match:
            ok = sites[site_col].to_numpy()[s] == zones[zone_col].to_numpy()[o]
            s, o = s[ok], o[ok]
        inside = np.zeros(n, dtype=bool)
        inside[s] = True
        other[s] = zone_ids[o]
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
            else:
                (qs, qo), dist = shapely.STRtree(zone_geoms).query_nearest(site_geoms[outside], return_distance=True,
                                                                           all_matches=False)
                value[outside[qs]] = dist
                other[outside[qs]] = zone_ids[qo]
        elif len(outside):
            value[outside] = np.inf
        m = _Measure(value=value, limit=np.full(n, float(max_distance)), upper=True, unit="m", other=other,
                     certain=inside & (max_distance == 0))
    else:
        s, o = shapely.STRtree(zone_geoms).query(site_geoms, predicate="intersects")
        if match:
            ok = sites[site_col].to_numpy()[s] == zones[zone_col].to_numpy()[o]
            s, o = s[ok], o[ok]
        shapely.prepare(zone_geoms)
        whole = shapely.contains_properly(zone_geoms[o], site_geoms[s])
        size = _size(site_geoms[s], kind)
        part = np.flatnonzero(~whole)
        limits.check_overlay_work(site_geoms, zone_geoms, s[part], o[part], a_ids=sites.index.to_numpy(),
                                  b_ids=zone_ids, what="share inside the zones")
        if kind == "polygon":
            size[part] = overlap_area(site_geoms, zone_geoms, s[part], o[part])
        else:
            size[part] = _size(shapely.intersection(site_geoms[s[part]], zone_geoms[o[part]]), kind)
        total = np.bincount(s, weights=size, minlength=n)
        site_size = _size(site_geoms, kind)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(site_size > 0, np.minimum(100.0 * total / site_size, 100.0), np.nan)
        # A site split between adjacent zones sums to 100 % up to rounding: that is wholly inside too.
        wholly = value >= 100.0 * (1 - 1e-9)
        wholly[s[whole]] = True
        value[wholly] = 100.0
        if len(s):
            top = _first_per_site(s, -size)
            other[s[top]] = zone_ids[o[top]]
        m = _Measure(value=value, limit=np.full(n, float(min_share)), upper=False, unit="%", other=other,
                     certain=wholly)

    def reasons(rows: pd.DataFrame) -> list[str]:
        names = _names(zones)
        out = []
        for row in rows.itertuples():
            if kind == "point":
                if row.value == 0:
                    out.append(f"inside {_name(row.other, names)}")
                elif math.isinf(row.value):
                    out.append("outside every zone it may lie in")
                else:
                    out.append(f"{_fmt(row.value, 'm')} outside the zones (nearest {_name(row.other, names)}); "
                               f"limit {_fmt(row.limit, 'm')}")
            elif row.value >= 100:
                out.append(f"wholly inside {_name(row.other, names)}")
            elif row.other is None:
                out.append("outside every zone it may lie in")
            else:
                out.append(f"only {_fmt(row.value, '%')} inside the zones (mostly {_name(row.other, names)}); "
                           f"at least {_fmt(row.limit, '%')} required")
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        geoms = site_geoms[pos]
        if kind == "point":
            near = np.full(len(pos), None, dtype=object)
            known = np.asarray([o is not None for o in rows["other"]])
            if known.any():
                zone_pos = pd.Series(np.arange(len(zone_ids)), index=zone_ids)[rows["other"][known]].to_numpy()
                near[known] = shapely.shortest_line(geoms[known], zone_geoms[zone_pos])
            pieces = near
        else:
            mask = np.isin(s, pos)
            covered = pd.Series(zone_geoms[o[mask]]).groupby(s[mask]).agg(shapely.union_all)
            union = covered.reindex(pos).to_numpy()
            union = np.where(pd.isna(union), None, union)
            pieces = np.where(pd.isna(union), geoms, shapely.difference(geoms, union))
        return _concat(_site_pieces(sites, rows), _pieces(rows.index, pieces, "offending", rows["other"]))

    return _result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
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
    crs = _same_metric_crs(("sites", sites), ("sensitive features", sensitive))
    site_geoms = _geoms(sites)
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
    feat_geoms = _geoms(sensitive)[checked]
    feat_ids = np.asarray([str(i) for i in sensitive.index[checked]], dtype=object)
    required, classes = required[checked], classes[checked]
    band = _band(required, tolerance, tolerance_band)
    s, o, d = _near_pairs(site_geoms, feat_geoms, required + band)
    value, limit = np.full(n, np.nan), np.full(n, float(np.max(required)) if len(required) else np.nan)
    other = np.full(n, None, dtype=object)
    if len(s):
        top = _first_per_site(s, d - required[o])
        value[s[top]] = d[top]
        limit[s[top]] = required[o[top]]
        other[s[top]] = feat_ids[o[top]]
    absent = np.isnan(value)
    m = _Measure(value=value, limit=limit, upper=False, unit="m", other=other, absent=absent)
    cls_of = dict(zip(feat_ids, classes, strict=True))
    rule = rule or _adhoc("setback", distance=distance)
    summary = ", ".join(f"{k} {_fmt(float(v), 'm')}" for k, v in distance.items()) if isinstance(
        distance, Mapping) else _fmt(float(distance), "m")

    def reasons(rows: pd.DataFrame) -> list[str]:
        names = _names(sensitive)
        out = []
        for row in rows.itertuples():
            if math.isnan(row.value):
                out.append(f"no sensitive land within its setback ({summary})")
            else:
                verb = "only " if row.margin < 0 else ""
                out.append(f"{verb}{_fmt(row.value, 'm')} from {cls_of[row.other]} {_name(row.other, names)}; "
                           f"setback {_fmt(row.limit, 'm')}")
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        known = rows["other"].notna().to_numpy()
        feat_pos = pd.Series(np.arange(len(feat_ids)), index=feat_ids)[rows["other"][known]].to_numpy()
        lines = shapely.shortest_line(site_geoms[pos[known]], feat_geoms[feat_pos])
        return _concat(_site_pieces(sites, rows),
                       _pieces(rows.index[known], feat_geoms[feat_pos], "offending", rows["other"][known]),
                       _pieces(rows.index[known], lines, "offending", rows["other"][known]))

    return _result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)


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
    crs = _same_metric_crs(("sites", sites))
    geoms = _geoms(sites)
    n = len(geoms)
    limit = np.full(n, float(min_distance))
    band = _band(limit, tolerance, tolerance_band)
    s, o, d = _near_pairs(geoms, geoms, float(min_distance) + band[:1].sum() if n else 0.0)
    keep_pair = (o < s) if keep == "first" else (o != s)
    s, o, d = s[keep_pair], o[keep_pair], d[keep_pair]
    value = np.full(n, np.nan)
    other = np.full(n, None, dtype=object)
    ids = sites.index.astype(str).to_numpy(dtype=object)
    if len(s):
        top = _first_per_site(s, d)
        value[s[top]] = d[top]
        other[s[top]] = ids[o[top]]
    m = _Measure(value=value, limit=limit, upper=False, unit="m", other=other, absent=np.isnan(value))
    rule = rule or _adhoc("spacing", min_distance=min_distance)
    earlier = "listed before it " if keep == "first" else ""

    def reasons(rows: pd.DataFrame) -> list[str]:
        names = _names(sites)
        return [f"no other site {earlier}within {_fmt(row.limit, 'm')}" if math.isnan(row.value) else
                f"{_fmt(row.value, 'm')} from {_name(row.other, names)}; at least {_fmt(row.limit, 'm')} required"
                for row in rows.itertuples()]

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        known = rows["other"].notna().to_numpy()
        other_pos = sites.index.get_indexer(rows["other"][known])
        lines = shapely.shortest_line(geoms[pos[known]], geoms[other_pos])
        return _concat(_site_pieces(sites, rows), _pieces(rows.index[known], lines, "offending",
                                                          rows["other"][known]))

    return _result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
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
    crs = _same_metric_crs(("sites", sites), ("targets", targets))
    site_geoms, target_geoms = _geoms(sites), _geoms(targets)
    n = len(site_geoms)
    limit = np.full(n, float(max_distance))
    band = _band(limit, tolerance, tolerance_band)
    target_ids = np.asarray([str(i) for i in targets.index], dtype=object)
    value, other = np.full(n, np.nan), np.full(n, None, dtype=object)
    reach = float(max_distance) + (float(band[0]) if n else 0.0)
    if network is not None:
        from .network import nearest_facility

        table = nearest_facility(network, sites, targets, cutoff=reach)
        value = table["distance"].to_numpy(dtype=float)
        found = table["facility"].notna().to_numpy()
        other[found] = [str(f) for f in table["facility"][found]]
    else:
        s, o, d = _near_pairs(site_geoms, target_geoms, reach)
        if len(s):
            top = _first_per_site(s, d)
            value[s[top]], other[s[top]] = d[top], target_ids[o[top]]
        rest = np.flatnonzero(np.isnan(value))
        if len(rest) and len(target_geoms):
            (qs, qo), dist = shapely.STRtree(target_geoms).query_nearest(site_geoms[rest], return_distance=True,
                                                                         all_matches=False)
            value[rest[qs]], other[rest[qs]] = dist, target_ids[qo]
    m = _Measure(value=value, limit=limit, upper=True, unit="m", other=other)
    rule = rule or _adhoc("access", max_distance=max_distance)
    how = "by road" if network is not None else "straight line"

    def reasons(rows: pd.DataFrame) -> list[str]:
        names = _names(targets)
        out = []
        for row in rows.itertuples():
            if math.isnan(row.value):
                out.append("nothing to reach")
            elif math.isinf(row.value):
                out.append(f"nothing within {_fmt(row.limit, 'm')} {how}")
            else:
                where = f"reaches {_name(row.other, names)}" if row.value == 0 else (
                    f"{_fmt(row.value, 'm')} from {_name(row.other, names)} ({how})")
                out.append(f"{where}; at most {_fmt(row.limit, 'm')}")
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        known = rows["other"].notna().to_numpy()
        tpos = pd.Series(np.arange(len(target_ids)), index=target_ids)[rows["other"][known]].to_numpy()
        lines = shapely.shortest_line(site_geoms[pos[known]], target_geoms[tpos])
        return _concat(_site_pieces(sites, rows), _pieces(rows.index[known], lines, "offending",
                                                          rows["other"][known]))

    return _result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)


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
    crs = _same_metric_crs(("sites", sites))
    n = len(sites)
    missing = np.zeros(n, dtype=bool)
    if column is not None:
        if column not in sites.columns:
            msg = f"the sites have no column {column!r}"
            raise RuleError(msg, code="E-RULE-COLUMN")
        value = numbers_of(sites[column], layer=rule.layer if rule else "sites", column=column,
                           what="the area rule").to_numpy(dtype=float)
    else:
        geoms = _geoms(sites)
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
    m = _Measure(value=margin_sign * value, limit=margin_sign * limit, upper=upper, unit=unit,
                 other=np.full(n, None, dtype=object), missing=missing)
    band = _band(np.where(np.isfinite(limit), limit, 0.0), tolerance, tolerance_band)
    status = _verdicts(m, band)
    frame = pd.DataFrame({"status": status, "value": value, "limit": limit, "margin": m.margin,
                          "unit": unit, "other": pd.Series(m.other, index=sites.index, dtype=object)},
                         index=sites.index)
    rule = rule or _adhoc("area", min_area=min_area, max_area=max_area, unit=unit)
    what = f"declared {column}" if column else "area"

    def reasons(rows: pd.DataFrame) -> list[str]:
        out = []
        for row in rows.itertuples():
            if math.isnan(row.value) or (column is None and row.status == "unknown" and row.value == 0):
                out.append(f"no {what} to measure (not a polygon, or no value)")
            else:
                bound = "at least" if row.limit == lo else "at most"
                out.append(f"{what} {_fmt(row.value, unit)}; {bound} {_fmt(row.limit, unit)}")
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        return _site_pieces(sites, rows)

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
    from . import raster

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
    m = _Measure(value=value, limit=np.full(n, float(max_slope)), upper=True, unit=units,
                 other=np.full(n, None, dtype=object), missing=np.isnan(value))
    rule = rule or _adhoc("slope", max_slope=max_slope, stat=stat)
    counts = stats["count"].to_numpy()

    def reasons(rows: pd.DataFrame) -> list[str]:
        pos = sites.index.get_indexer(rows.index)
        out = []
        for p, row in zip(pos, rows.itertuples(), strict=True):
            if math.isnan(row.value):
                out.append("no DEM data under the site")
            else:
                cells = f"{counts[p]} DEM cells" if counts[p] else "the DEM cell under its centre"
                out.append(f"{stat} slope {_fmt(row.value, units)} over {cells}; at most {_fmt(row.limit, units)}")
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        return _site_pieces(sites, rows)

    return _result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=sites.crs,
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
    crs = _same_metric_crs(("sites", sites))
    geoms = _geoms(sites)
    n = len(geoms)
    area = shapely.area(geoms)
    s, o = shapely.STRtree(geoms).query(geoms, predicate="intersects")
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
        top = _first_per_site(s, -shared)
        other[s[top]] = ids[o[top]]
        is_nested[s[nested]] = True
    if max_share is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(area > 0, np.minimum(100.0 * total / area, 100.0), 0.0)
        limit, unit = float(max_share), "%"
    else:
        value, limit, unit = total, float(max_area or 0.0), "m2"
    m = _Measure(value=value, limit=np.full(n, limit), upper=True, unit=unit, other=other,
                 certain=(value == 0) & (limit == 0))
    rule = rule or _adhoc("overlap", max_area=max_area, max_share=max_share)

    def reasons(rows: pd.DataFrame) -> list[str]:
        names = _names(sites)
        pos = sites.index.get_indexer(rows.index)
        out = []
        for p, row in zip(pos, rows.itertuples(), strict=True):
            if row.other is None:
                out.append("overlaps no other site")
            elif is_nested[p] and total[p] >= area[p] * 0.999999:
                out.append(f"nested in {_name(row.other, names)} (counted once, there)")
            else:
                share = 100.0 * total[p] / area[p] if area[p] > 0 else 0.0
                out.append(f"overlaps {_name(row.other, names)} by {_fmt(total[p], 'm2')} ({share:.1f} % of the site); "
                           f"limit {_fmt(row.limit, row.unit)}")
        return out

    def offender(rows: pd.DataFrame) -> gpd.GeoDataFrame:
        pos = sites.index.get_indexer(rows.index)
        mask = np.isin(s, pos)
        pieces = shapely.intersection(geoms[s[mask]], geoms[o[mask]])
        return _concat(_site_pieces(sites, rows), _pieces(sites.index[s[mask]], pieces, "offending", ids[o[mask]]))

    return _result(rule, sites.index, m, tolerance=tolerance, tolerance_band=tolerance_band, crs=crs,
                   reasoner=reasons, offender=offender)


# --------------------------------------------------------------------------------------------------------------
# Rules of a plan on a dataset
# --------------------------------------------------------------------------------------------------------------

def filter_sites(gdf: gpd.GeoDataFrame, where: Mapping[str, Any] | None, *, layer: str = "",
                 key: str = "") -> gpd.GeoDataFrame:
    """The rows matching a filter, in the one dialect of :mod:`nbgeo.filters`.

    A value is one value or a list of values (equality), or a table of
    operators: ``{contains = "绿色石化"}`` for ``;``-separated lists,
    ``{">=" = 2021}`` and the other comparisons, ``{"!=" = "planned"}``.

    Raises
    ------
    FilterError
        A malformed filter or one that does not fit the layer, naming ``key``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> g = gpd.GeoDataFrame({"lead": ["绿色石化;新材料", "高端装备"], "year": [2020, 2023]})
    >>> filter_sites(g, {"lead": {"contains": "绿色石化"}}).index.tolist()
    [0]
    >>> filter_sites(g, {"year": {">=": 2021}}).index.tolist()
    [1]
    """
    if not where:
        return gdf
    return gdf[filter_mask(gdf, where, layer=layer, key=key).to_numpy()]


def _unit_of(rule: RuleSpec) -> str:
    """The unit a rule's values are in, from its declaration alone."""
    p = rule.params
    if rule.kind == "slope":
        return "%" if p.get("unit", "percent") == "percent" else "degree"
    if rule.kind == "area":
        return str(p.get("unit", "m2"))
    if "max_share" in p or (rule.kind == "within" and "max_distance" not in p):
        return "%"
    if rule.kind in ("exclusion", "overlap"):
        return "m" if "max_length" in p else "m2"
    return "m"


def _unknown_result(rule: RuleSpec, note: str, sites: gpd.GeoDataFrame | None = None) -> RuleResult:
    index = sites.index if sites is not None else pd.Index([], name="id")
    frame = pd.DataFrame({"status": "unknown", "value": np.nan, "limit": np.nan, "margin": np.nan,
                          "unit": _unit_of(rule), "other": pd.Series(None, index=index, dtype=object)},
                         index=index)
    frame["status"] = frame["status"].astype(object)
    return RuleResult(rule=rule, frame=frame, note=note, _reasoner=lambda rows: [note] * len(rows))


def evaluate_rule(rule: RuleSpec, dataset: Dataset, *, tolerance_band: float | None = None) -> RuleResult:
    """Evaluate one rule of the plan on the dataset's layers.

    Sites are the rule's ``layer`` (filtered by ``where``); ``against`` names
    the layer it is checked against (filtered by ``against_where``); ``dem``
    the raster of a slope rule (default ``"dem"``). Missing layers or rasters
    make every site ``unknown`` with the reason; an empty site layer passes
    with nothing checked.

    Parameters
    ----------
    rule
        The rule, from the plan.
    dataset
        The layers.
    tolerance_band
        Relative tolerance band; default ``settings.tolerance_band``.

    Returns
    -------
    RuleResult

    Raises
    ------
    FilterError
        A filter on a column the layer lacks (:func:`nbgeo.plan.check_against` finds it before any work).

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> rule = next(r for r in p.rules if r.id == "petrochemical_setback")
    >>> r = evaluate_rule(rule, io.read_sample())
    >>> r.status, r.failing_ids.tolist()
    ('fail', ['CL00001'])
    >>> r.reasons()["CL00001"]
    'only 350 m from residential CN00067 (石化区周边居住区(示意)); setback 1,000 m'
    """
    try:
        return _evaluate(rule, dataset, tolerance_band=tolerance_band)
    except LimitError as exc:  # name the rule and the layers' files: the budget message names the features
        from dataclasses import replace

        files = {name: dataset.layer(name).meta.file for name in (rule.layer, rule.params.get("against"))
                 if isinstance(name, str) and name in dataset}
        where = ", ".join(f"layer {name!r} (file {file!r})" if file else f"layer {name!r}"
                          for name, file in files.items())
        problems = [replace(q, layer=q.layer or rule.layer, file=q.file or files.get(rule.layer)) for q in exc.problems]
        raise LimitError(f"rule {rule.id!r} on {where}: {exc.message}", code=exc.code, problems=problems) from None


def _evaluate(rule: RuleSpec, dataset: Dataset, *, tolerance_band: float | None) -> RuleResult:
    p = rule.params
    if rule.layer not in dataset:
        return _unknown_result(rule, f"dataset has no layer {rule.layer!r}")
    sites = filter_sites(dataset.metric(rule.layer), p.get("where"), layer=rule.layer,
                         key=f"rule {rule.id!r}, key 'where'")
    sites = sites[~(sites.geometry.isna() | sites.geometry.is_empty)]
    if sites.empty:
        result = _unknown_result(rule, f"no sites in layer {rule.layer!r} match the rule")
        return RuleResult(rule=rule, frame=result.frame, note=f"no sites to check in layer {rule.layer!r}")
    common: dict[str, Any] = {"tolerance": p.get("tolerance"), "tolerance_band": tolerance_band, "rule": rule}

    against = None
    if "against" in p:
        name = str(p["against"])
        if name not in dataset:
            return _unknown_result(rule, f"dataset has no layer {name!r} to check against", sites)
        against = filter_sites(dataset.metric(name), p.get("against_where"), layer=name,
                               key=f"rule {rule.id!r}, key 'against_where'")
        against = against[~(against.geometry.isna() | against.geometry.is_empty)]
        if against.empty and rule.kind in ("within", "access"):
            return _unknown_result(rule, f"no features of layer {name!r} to measure against", sites)

    kind = rule.kind
    if kind == "within":
        return check_within(sites, against, min_share=float(p.get("min_share", 100.0)),
                            max_distance=float(p.get("max_distance", 0.0)), match=p.get("match"), **common)
    if kind == "exclusion":
        return check_exclusion(sites, against, max_area=p.get("max_area"), max_share=p.get("max_share"),
                               max_length=p.get("max_length"), **common)
    if kind == "setback":
        distance = p["distance"]
        return check_setback(sites, against, distance=dict(distance) if isinstance(distance, Mapping) else distance,
                             class_column=p.get("class_column"), **common)
    if kind == "spacing":
        return check_spacing(sites, min_distance=float(p["min_distance"]), keep=p.get("keep", "first"), **common)
    if kind == "access":
        net = None
        if p.get("by", "straight") == "road":
            try:
                from .network import read_dataset_network
            except ImportError:  # pragma: no cover - nbgeo.network ships with nbgeo
                msg = f"rule {rule.id!r}: by = 'road' needs nbgeo.network"
                raise RuleError(msg + " (hint: use by = 'straight')", code="E-RULE-NETWORK") from None
            name = str(p.get("network", "roads"))
            try:
                net = read_dataset_network(dataset, name)
            except InputError as exc:
                if exc.code != "E-NET-MISSING":
                    raise
                # Like a missing layer or DEM: the sites cannot be measured, so they are unknown.
                return _unknown_result(rule, f"dataset declares no road network {name!r} to measure by road", sites)
        return check_access(sites, against, max_distance=float(p["max_distance"]), network=net, **common)
    if kind == "area":
        return check_area(sites, min_area=p.get("min_area"), max_area=p.get("max_area"), unit=p.get("unit", "m2"),
                          column=p.get("column"), **common)
    if kind == "slope":
        dem_name = str(p.get("dem", "dem"))
        if dem_name not in dataset.rasters:
            return _unknown_result(rule, f"dataset has no raster {dem_name!r} (a DEM) to measure slope", sites)
        dem = dataset.raster(dem_name)
        # The DEM keeps its own grid: the sites (held in EPSG:4326, datum already converted) go to its CRS.
        in_dem = dataset[rule.layer].loc[sites.index].to_crs(dem.crs)
        unit = str(p.get("unit", "percent"))
        result = check_slope(in_dem, dem, max_slope=float(p["max_slope"]), stat=str(p.get("stat", "mean")),
                             unit=unit, **common)
        return result
    return check_overlap(sites, max_area=p.get("max_area"), max_share=p.get("max_share"),
                         keep=p.get("keep", "larger"), **common)


def evaluate_rules(plan: Plan, dataset: Dataset, *, tolerance_band: float | None = None) -> list[RuleResult]:
    """Evaluate every rule of a plan, in plan order.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> results = evaluate_rules(plan.read_plan(datasets.get_path("ningbo_2025")), io.read_sample())
    >>> sorted({r.status for r in results})
    ['fail', 'pass']
    """
    return [evaluate_rule(rule, dataset, tolerance_band=tolerance_band) for rule in plan.rules]


def failing_ids(results: list[RuleResult]) -> dict[str, set[str]]:
    """The ids of the sites that fail at least one rule, by layer.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> results = evaluate_rules(plan.read_plan(datasets.get_path("ningbo_2025")), io.read_sample())
    >>> sorted(failing_ids(results)["chargers"])
    ['CH10600']
    """
    out: dict[str, set[str]] = {}
    for result in results:
        ids = result.failing_ids
        if len(ids):
            out.setdefault(result.rule.layer, set()).update(str(i) for i in ids)
    return out


def without_failing(dataset: Dataset, results: list[RuleResult]) -> Dataset:
    """The dataset without the sites that fail a rule, for counts and coverage that honour the rules.

    Each layer that loses sites says so in its provenance note.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> ds = io.read_sample()
    >>> results = evaluate_rules(plan.read_plan(datasets.get_path("ningbo_2025")), ds)
    >>> kept = without_failing(ds, results)
    >>> len(ds["chargers"]) - len(kept["chargers"]), "CH10600" in kept["chargers"].index
    (1, False)
    """
    from dataclasses import replace

    from .layers import Layer

    failing = failing_ids(results)
    if not failing:
        return dataset
    layers = dict(dataset.layers)
    for name, ids in failing.items():
        if name not in layers:
            continue
        layer = layers[name]
        keep = ~layer.gdf.index.astype(str).isin(list(ids))
        dropped = int((~keep).sum())
        note = f"{layer.meta.note}; " if layer.meta.note else ""
        meta = replace(layer.meta, note=f"{note}{dropped} site(s) failing a siting rule left out")
        layers[name] = Layer(layer.gdf[keep], meta)
        log.info("Left out %d site(s) of layer %r that fail a siting rule", dropped, name)
    return replace(dataset, layers=layers, _metric_cache={})
