"""The result of a siting rule: per site a verdict, the measured value, the limit, a signed margin and a reason."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import settings
from ..plan import RuleSpec, basis_of, short_basis
from ..renderers import labels

if TYPE_CHECKING:
    from numpy.typing import NDArray


log = logging.getLogger(__name__)


KINDS = ("within", "exclusion", "setback", "spacing", "access", "area", "slope", "overlap")


STATUSES = ("pass", "fail", "unknown")


#: A finding's reason in a language-neutral form: a ``reason.*`` key of :mod:`nbgeo.renderers.labels` and its
#: values (numbers with their ``unit`` or ``<name>_unit``, feature names, and value words such as ``road``).
#: ``audit.json`` keeps the English ``reason`` and adds ``reason_key`` and ``reason_values``, so a report words
#: the same finding in Chinese (:func:`nbgeo.renderers.readable.reason`).
Reason = tuple[str, dict[str, Any]]


Reasoner = Callable[[pd.DataFrame], list[Reason]]


Offender = Callable[[pd.DataFrame], "gpd.GeoDataFrame"]


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
        """The reason of each site (or of the sites ``ids``), in plain (English) words."""
        keyed = self.reason_keys(ids)
        return pd.Series([reason_text(key, values) for key, values in keyed], index=keyed.index, dtype=object)

    def reason_keys(self, ids: Any = None) -> pd.Series:
        """The reason of each site (or of the sites ``ids``) as ``(key, values)``: see :data:`Reason`."""
        rows = self.frame if ids is None else self.frame.loc[ids]
        if self._reasoner is None or rows.empty:
            return pd.Series([("note", {"note": self.note})] * len(rows), index=rows.index, dtype=object)
        return pd.Series(self._reasoner(rows), index=rows.index, dtype=object)

    @cached_property
    def table(self) -> pd.DataFrame:
        """:attr:`frame` with a ``reason`` column (built on first use)."""
        return self.frame.assign(reason=self.reasons())

    def findings(self, *, statuses: tuple[str, ...] = ("fail", "unknown")) -> list[dict[str, Any]]:
        """JSON-ready findings of the sites with these statuses, worst margin first.

        Each finding carries the rule's ``severity`` and ``basis`` (what the finding rests on), so that a
        finding read on its own (a row of a table, a feature of a map) still says how binding it is.
        """
        rows = self.frame[self.frame["status"].isin(statuses)]
        severity, basis = self.rule.severity, basis_of(self.rule)
        if rows.empty and self.note and not self.passed_vacuously:
            return [{"feature_id": None, "status": "unknown", "value": None, "limit": None, "margin": None,
                     "unit": unit_of(self.rule), "reason": self.note, "reason_key": "note",
                     "reason_values": {"note": self.note}, "severity": severity, "basis": basis}]
        rows = rows.sort_values("margin", na_position="last", kind="stable")
        keyed = self.reason_keys(rows.index)
        return [
            {"feature_id": plain_value(fid), "status": row.status, "value": finite_or_none(row.value), "limit": finite_or_none(row.limit),
             "margin": finite_or_none(row.margin), "unit": row.unit, "reason": reason_text(*keyed[fid]),
             "reason_key": keyed[fid][0], "reason_values": json_values(keyed[fid][1]),
             "severity": severity, "basis": dict(basis)}
            for fid, row in zip(rows.index, rows.itertuples(), strict=True)
        ]

    def to_dict(self, *, all_findings: bool = False) -> dict[str, Any]:
        """The rule's entry in ``audit.json``: id, layer, kind, severity, basis, status, counts and findings.

        Findings list the failing and unknown sites; ``all_findings=True`` lists every site.
        """
        statuses = STATUSES if all_findings else ("fail", "unknown")
        entry = {"id": self.rule.id, "layer": self.rule.layer, "kind": self.rule.kind,
                 "severity": self.rule.severity, "basis": basis_of(self.rule)}
        if self.rule.control_line:
            entry["control_line"] = self.rule.control_line
        return {**entry, "status": self.status, "checked": self.checked, "failed": self.failed,
                "unknown": self.unknown, "findings": self.findings(statuses=statuses)}

    def offending(self) -> gpd.GeoDataFrame:
        """Failing and unknown sites with their offending geometry, in EPSG:4326.

        One row per site (``role = "site"``) and one per piece of offending
        geometry (``role = "offending"``: the overlap, the part outside, the
        line to the nearest feature, the other site), with the columns
        ``feature_id``, ``rule``, ``role``, ``status``, ``other``, ``label``, ``severity`` and ``basis`` (the
        instrument and article, as text: what ``findings.gpkg`` and the map show).
        """
        columns = ["feature_id", "rule", "role", "status", "other", "label", "severity", "basis"]
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
            "severity": self.rule.severity,
            "basis": short_basis(self.rule.basis),
        }, geometry=pieces.geometry.to_numpy(), crs=self.crs)
        return out.to_crs(4326).reset_index(drop=True)


def plain_value(value: Any) -> Any:
    """A numpy scalar as the Python value (for JSON)."""
    return value.item() if hasattr(value, "item") else value


def finite_or_none(value: Any) -> float | None:
    """A number rounded to 6 decimals, or ``None`` when it is NaN or infinite (for JSON)."""
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def format_value(value: float, unit: str) -> str:
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


def reason_text(key: str, values: Mapping[str, Any]) -> str:
    """The English words of a keyed reason (:data:`Reason`), figures by :func:`format_value`.

    Examples
    --------
    >>> reason_text("access.near", {"value": 240.4, "limit": 300, "unit": "m", "other": "CH1", "how": "road"})
    '240 m from CH1 (by road); at most 300 m'
    """
    words: dict[str, str] = {}
    for name, v in values.items():
        if name.endswith("unit"):
            continue
        if name == "share":
            words[name] = f"{float(v):.1f} %"
        elif isinstance(v, Mapping):
            words[name] = ", ".join(f"{labels.label('value', str(k), 'en')} {format_value(float(x), 'm')}"
                                    for k, x in v.items())
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            words[name] = format_value(float(v), str(values.get(f"{name}_unit", values.get("unit", ""))))
        else:
            words[name] = labels.label("value", str(v), "en")
    return labels.word(f"reason.{key}", "en").format(**words)


def json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A reason's values for ``audit.json``: numbers rounded to 6 decimals (non-finite as null), the rest as text."""
    out: dict[str, Any] = {}
    for name, v in values.items():
        if isinstance(v, Mapping):
            out[name] = {str(k): finite_or_none(x) for k, x in v.items()}
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[name] = finite_or_none(v)
        else:
            out[name] = None if v is None else str(v)
    return out


def feature_name(other: Any, names: Mapping[str, str] | None = None) -> str:
    """A feature's id, with its name when the layer has one: ``CN00003 (奉化西部山区...)``."""
    if other is None or (isinstance(other, float) and math.isnan(other)):
        return "—"
    label = (names or {}).get(str(other))
    return f"{other} ({label})" if label else str(other)


def feature_names(gdf: gpd.GeoDataFrame) -> dict[str, str]:
    """Feature id → name, for layers with a ``name`` column."""
    if "name" not in gdf.columns:
        return {}
    values = gdf["name"]
    keep = values.notna().to_numpy()
    return dict(zip(map(str, gdf.index[keep]), map(str, values[keep]), strict=True))


@dataclass
class Measure:
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
        """Signed distance from the limit, positive on the good side."""
        return self.limit - self.value if self.upper else self.value - self.limit


def verdicts(m: Measure, band: NDArray[np.float64]) -> pd.Categorical:
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


def band_of(limit: NDArray[np.float64], tolerance: float | None, tolerance_band: float | None) -> NDArray[np.float64]:
    """The tolerance band of each site: the rule's absolute tolerance, or the relative setting × |limit|."""
    if tolerance is not None:
        return np.full(limit.shape, float(tolerance))
    if tolerance_band is None:

        tolerance_band = settings.tolerance_band
    return np.abs(np.nan_to_num(limit)) * float(tolerance_band)


def rule_result(rule: RuleSpec, index: pd.Index, m: Measure, *, tolerance: float | None, tolerance_band: float | None,
            crs: Any, reasoner: Reasoner, offender: Offender | None) -> RuleResult:
    """The :class:`RuleResult` of a measure: verdicts within the tolerance band, the site's reasons and pieces."""
    band = band_of(m.limit, tolerance, tolerance_band)
    status = verdicts(m, band)
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


def adhoc_rule(kind: str, layer: str = "sites", **params: Any) -> RuleSpec:
    """The rule a direct ``check_*`` call stands for (its layers are the frames given, named as here)."""
    if kind in ("within", "exclusion", "setback", "access"):
        params["against"] = "against"
    return RuleSpec(id=kind, layer=layer, kind=kind, params={k: v for k, v in params.items() if v is not None})


def unit_of(rule: RuleSpec) -> str:
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
