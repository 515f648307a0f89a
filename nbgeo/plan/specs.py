"""The plan's objects: targets, indicators, rules, coverage, suitability and siting specs, and the plan.

Each object checks itself against its model in :mod:`nbgeo.plan.models` when it is built, whether
:func:`nbgeo.plan.read_plan` builds it from a file or code builds it directly, so the modules that
evaluate a spec (:mod:`nbgeo.rules`, :mod:`nbgeo.coverage`, :mod:`nbgeo.optimize`,
:mod:`nbgeo.suitability`) receive keys and values already known to be right.

Examples
--------
>>> RuleSpec("r", "parks", "spacing", {"min_distnace": 500})
Traceback (most recent call last):
...
nbgeo.errors.RuleError: rule 'r' (spacing), key 'min_distnace': unknown key for kind 'spacing' (hint: did you mean 'min_distance'?)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..errors import FilterError, PlanError, RuleError
from ..filters import YEAR_MODES
from ..landuse.control_lines import control_line
from .models import AREA_UNITS, METRICS, OPERATORS, RULE_KINDS, SEVERITIES, Issue, issues, severity_of

__all__ = [
    "AREA_UNITS",
    "METRICS",
    "OPERATORS",
    "SEVERITIES",
    "YEAR_MODES",
    "CoverageSpec",
    "IndicatorSpec",
    "Plan",
    "RuleSpec",
    "SitingSpec",
    "SuitabilitySpec",
    "Target",
    "basis_of",
    "counts",
    "margin_of",
    "meets",
    "milestone_problem",
    "short_basis",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NO_MILESTONES: Mapping[int, float] = MappingProxyType({})


def meets(op: str, actual: float, threshold: float) -> bool:
    """Whether ``actual op threshold`` holds: the one comparison behind every verdict.

    Examples
    --------
    >>> meets(">", 10000, 10000), meets(">=", 10000, 10000), meets("<=", 3, 5)
    (False, True, True)
    """
    return {
        ">=": actual >= threshold,
        ">": actual > threshold,
        "<=": actual <= threshold,
        "<": actual < threshold,
        "==": actual == threshold,
    }[op]


def margin_of(op: str, actual: float, threshold: float) -> float:
    """Signed distance from the threshold, positive on the good side (float noise rounded away).

    Examples
    --------
    >>> margin_of(">=", 215, 200), margin_of("<=", 7, 5), margin_of("==", 4, 6)
    (15.0, -2.0, -2.0)
    """
    if op in ("<=", "<"):
        return round(float(threshold - actual), 12)
    if op == "==":
        return -abs(float(actual - threshold))
    return round(float(actual - threshold), 12)


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only copy of a mapping whose list values become tuples."""
    if not mapping:
        return _EMPTY
    return MappingProxyType({k: tuple(v) if isinstance(v, list) else v for k, v in mapping.items()})


def _milestones(raw: Mapping[Any, Any] | None) -> Mapping[int, float]:
    """Milestones (already checked) as a read-only ``{year: value}`` mapping, sorted by year.

    TOML keys are strings (``milestones = { 2023 = 7000 }`` gives ``{"2023": 7000}``),
    so keys are converted to integer years and values to floats.
    """
    if not raw:
        return _NO_MILESTONES
    return MappingProxyType(dict(sorted((int(k), float(v)) for k, v in dict(raw).items())))


def milestone_problem(year: int, baseline: int, horizon: int) -> str | None:
    """What is wrong with a milestone in this year: it must fall strictly inside the plan period.

    Examples
    --------
    >>> milestone_problem(2023, 2020, 2025) is None, milestone_problem(2025, 2020, 2025)
    (True, 'milestone year 2025 lies outside the plan period; milestones are for the years 2021–2024 (the threshold is the 2025 value)')
    """
    if baseline < year < horizon:
        return None
    return (f"milestone year {year} lies outside the plan period; milestones are for the years "
            f"{baseline + 1}–{horizon - 1} (the threshold is the {horizon} value)")


def _plain(value: Any) -> Any:
    """Mappings as dicts and tuples as lists, all the way down: the form TOML gives and the models check."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _given(obj: Any, skip: tuple[str, ...] = ("params",)) -> dict[str, Any]:
    """The fields of a spec that differ from their defaults, as a table of the plan file would hold them."""
    out: dict[str, Any] = {}
    for f in obj.__dataclass_fields__.values():
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        default = f.default_factory() if callable(f.default_factory) else f.default
        if (f.default is MISSING and not callable(f.default_factory)) or value != default:
            out[f.name] = _plain(value)
    if "milestones" in out:
        out["milestones"] = {str(k): v for k, v in out["milestones"].items()}
    return out


#: The codes of a malformed rule built in code.
_RULE_CODES = {"kind": "E-RULE-KIND", "key": "E-RULE-KEY", "value": "E-RULE-VALUE"}


def _refuse(owner: str, found: list[Issue], *, error: type[PlanError] | type[RuleError] = PlanError,
            code: str = "E-PLAN-KEY", codes: Mapping[str, str] | None = None) -> None:
    """Raise the first issue of a spec built in code, naming its owner, key and hint."""
    if not found:
        return
    issue = found[0]
    where = f"{owner}, key {issue.key!r}: " if issue.key else f"{owner}: "
    text = where + issue.message + (f" (hint: {issue.hint})" if issue.hint else "")
    if issue.code.startswith("E-FILTER"):
        error, code = FilterError, issue.code
    elif issue.code != "E-PLAN-KEY":
        code = issue.code
    elif codes:
        code = codes["kind" if issue.key == "kind" else "key" if issue.message.startswith(("unknown key",
                                                                                         "missing key")) else "value"]
    raise error(text, code=code)


#: The keys of an entry's basis, in the order outputs show them.
BASIS_KEYS = ("phrase", "instrument", "kind", "article", "url")


class _Binding:
    """What every entry of a plan shares: how binding it is (``severity``) and what it rests on (``basis``).

    ``severity`` defaults to 建议 for ``proposed = true`` (which it keeps in step), to the control line's for a
    rule about one, and to 限制 otherwise; ``basis`` defaults to the control line's, or, once the entry is in a
    :class:`Plan`, to the plan itself (kind ``plan``) or nbgeo (kind ``office``) for a suggestion.
    """

    id: str
    phrase: str
    proposed: bool
    severity: str | None
    basis: Mapping[str, str] | None

    def _settle(self, line: str | None = None) -> None:
        found = control_line(line) if line else None
        severity = severity_of(self.severity) or ("建议" if self.proposed else found.severity if found else "限制")
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "proposed", severity == "建议")
        basis = dict(self.basis) if self.basis is not None else dict(found.basis) if found else None
        if basis is not None:
            if basis.get("kind") == "plan" and not basis.get("phrase"):
                basis["phrase"] = self.phrase  # an entry quoting the plan: its phrase is the plan's words
            object.__setattr__(self, "basis", MappingProxyType({k: str(basis.get(k) or "") for k in BASIS_KEYS}))


def basis_of(item: Any) -> dict[str, str]:
    """An entry's basis as a plain dict (``phrase``, ``instrument``, ``kind``, ``article``, ``url``): what outputs show.

    Examples
    --------
    >>> t = Target(id="t", layer="parks", metric="count", threshold=1, phrase="打造50个特色产业园")
    >>> basis_of(t)["instrument"], t.severity
    ('', '限制')
    >>> p = Plan(id="p", title="规划", baseline=2020, horizon=2025, source="某规划", targets=(t,))
    >>> basis_of(p.targets[0])["instrument"], basis_of(p.targets[0])["kind"]
    ('某规划', 'plan')
    """
    basis = getattr(item, "basis", None)
    if basis is None:
        return {k: "" for k in BASIS_KEYS}
    return {k: str(basis.get(k) or "") for k in BASIS_KEYS}


def short_basis(basis: Mapping[str, Any] | None, *, width: int = 48) -> str:
    """An entry's basis in a few words, for a table cell: the instrument (cut at ``width``) and its article.

    Examples
    --------
    >>> short_basis({"instrument": "《中华人民共和国土地管理法》(2019 年修正)", "kind": "law", "article": "第三十五条"})
    '《中华人民共和国土地管理法》(2019 年修正) 第三十五条'
    >>> short_basis({"instrument": "nbgeo", "kind": "office"}), short_basis(None)
    ('nbgeo', '—')
    """
    if not basis or not basis.get("instrument"):
        return "—"
    name = str(basis["instrument"])
    name = name if len(name) <= width else name[:width - 1] + "…"
    return f"{name} {basis['article']}" if basis.get("article") else name


def _plan_basis(item: _Binding, plan: Plan) -> Mapping[str, str]:
    """The basis of an entry that names none: the plan's own ``source`` (its title if none), or nbgeo's."""
    if item.severity == "建议":
        return {"phrase": "", "instrument": "nbgeo", "kind": "office"}
    return {"phrase": item.phrase, "instrument": plan.source or plan.title, "kind": "plan"}


def counts(severity: object, *, strict: bool = False) -> bool:
    """Whether a finding of this severity changes the exit code: all but 建议, which counts with ``strict``.

    Examples
    --------
    >>> counts("禁止"), counts("建议"), counts("建议", strict=True), counts(None)
    (True, False, True, True)
    """
    return strict or severity != "建议"


class _Judged:
    """What a target and an indicator share: ``actual op threshold`` means met."""

    op: str
    threshold: float

    def compare(self, actual: float) -> bool:
        """Whether ``actual`` meets the threshold."""
        return meets(self.op, actual, self.threshold)

    def margin(self, actual: float) -> float:
        """Signed distance from the threshold, positive on the good side."""
        return margin_of(self.op, actual, self.threshold)


@dataclass(frozen=True, eq=False)
class Target(_Judged, _Binding):
    """One quantified spatial target of the plan.

    Parameters
    ----------
    id
        Unique id within the plan.
    layer
        The layer it reads.
    metric
        One of :data:`METRICS`.
    threshold
        The number the metric is compared with.
    op
        The comparison, one of :data:`OPERATORS`; ``actual op threshold`` means met.
    unit
        Unit of the metric and threshold.
    years
        ``"cumulative"`` or ``"each_year"``.
    phrase
        The plan's own words.
    title
        A short English description.
    where
        Column filters, ``{column: condition}`` in the dialect of :mod:`nbgeo.filters`.
    column
        The column a ``sum`` or ``tier_count`` reads (may contain ``{year}``).
    tier, tiers
        For ``tier_count``: the tier counted, and every tier's lower bound.
    numerator, weight
        For ``share``: the filter of the counted part (as ``where``), and what is summed.
    since
        Earliest year counted (e.g. the first year of the plan period).
    year_column
        The column holding a feature's year; ``""`` for a layer without years
        (see "Years" in :mod:`nbgeo.filters`).
    proposed
        True when nbgeo proposes the target beyond the plan's own text (the same as ``severity = "建议"``).
    severity
        禁止, 限制 or 建议 (``prohibited``, ``restricted``, ``advisory`` read the same); default 限制, or 建议
        when proposed.
    basis
        What the target rests on: ``{"instrument", "kind", "article", "phrase", "url"}``; in a plan, the
        plan's own ``source`` (kind ``plan``) by default.
    milestones
        The plan's own intermediate values, ``{year: value}``, strictly inside
        the plan period; :mod:`nbgeo.progress` paces the target through them
        instead of along a straight line from the baseline.

    Examples
    --------
    >>> t = Target(id="t", layer="chargers", metric="count", threshold=10, op=">=")
    >>> t.compare(12), t.margin(12), t.compare(9)
    (True, 2.0, False)
    >>> Target(id="t", layer="chargers", metric="volume", threshold=1)
    Traceback (most recent call last):
    ...
    nbgeo.errors.PlanError: target 't', key 'metric': must be one of count, tier_count, sum, length, area, share, got 'volume' (text)
    """

    id: str
    layer: str
    metric: str
    threshold: float
    op: str = ">="
    unit: str = ""
    years: str = "cumulative"
    phrase: str = ""
    title: str = ""
    where: Mapping[str, Any] = field(default_factory=dict)
    column: str | None = None
    tier: str | None = None
    tiers: Mapping[str, float] = field(default_factory=dict)
    numerator: Mapping[str, Any] = field(default_factory=dict)
    weight: str = "area"
    since: int | None = None
    year_column: str = "year"
    proposed: bool = False
    milestones: Mapping[int, float] = field(default_factory=dict)
    severity: str | None = None
    basis: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        _refuse(f"target {self.id!r}", issues("targets", _given(self)), code="E-PLAN-TARGET")
        self._settle()
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "where", _frozen(self.where))
        object.__setattr__(self, "numerator", _frozen(self.numerator))
        object.__setattr__(self, "tiers", _frozen({k: float(v) for k, v in dict(self.tiers).items()}))
        object.__setattr__(self, "milestones", _milestones(self.milestones))


class _Params(_Binding):
    """What the specs of coverage, suitability and siting share: their other keys, read-only."""

    params: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))
        self._settle()


@dataclass(frozen=True, eq=False)
class RuleSpec(_Binding):
    """A siting rule as declared in the plan; :mod:`nbgeo.rules` evaluates it.

    ``params`` holds every key of the ``[[rules]]`` table other than the common ones; ``severity`` and
    ``basis`` are as for a :class:`Target` (a rule about a control line, ``control_line = "生态保护红线"``,
    takes the line's by default: :mod:`nbgeo.landuse.control_lines`).

    Examples
    --------
    >>> r = RuleSpec("r", "parks", "exclusion", {"against": "constraints", "control_line": "永久基本农田"})
    >>> r.control_line, r.severity, r.basis["article"]
    ('basic_farmland', '禁止', '第三十五条')
    """

    id: str
    layer: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    phrase: str = ""
    title: str = ""
    proposed: bool = False
    severity: str | None = None
    basis: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        table = {**_given(self), **_plain(dict(self.params))}
        _refuse(f"rule {self.id!r} ({self.kind})" if self.kind in RULE_KINDS else f"rule {self.id!r}",
                issues("rules", table), error=RuleError, codes=_RULE_CODES)
        line = control_line(self.params.get("control_line"))
        params = dict(self.params)
        if line is not None:
            params["control_line"] = line.code
        object.__setattr__(self, "params", _frozen(params))
        self._settle(line.code if line else None)

    @property
    def control_line(self) -> str | None:
        """The code of the control line the rule is about (:data:`nbgeo.landuse.control_lines.CONTROL_LINES`)."""
        return self.params.get("control_line")


@dataclass(frozen=True, eq=False)
class CoverageSpec(_Params):
    """A coverage requirement as declared in the plan; :mod:`nbgeo.coverage` evaluates it.

    ``params`` holds every key of the ``[[coverage]]`` table other than the common ones, as
    :class:`~nbgeo.plan.models.CoverageModel` checked them when the plan was read (a spec built in code is
    checked by :mod:`nbgeo.coverage`).
    """

    id: str
    demand: str
    facilities: str
    params: Mapping[str, Any] = field(default_factory=dict)
    phrase: str = ""
    title: str = ""
    proposed: bool = False
    severity: str | None = None
    basis: Mapping[str, str] | None = None


@dataclass(frozen=True, eq=False)
class SuitabilitySpec(_Params):
    """A suitability surface as declared in the plan; :mod:`nbgeo.suitability` builds it.

    ``layer`` names the kind of site it is for; ``params`` holds every other
    key of the ``[[suitability]]`` table, its ``criteria`` among them (the
    ``[[suitability.criteria]]`` sub-tables).
    """

    id: str
    layer: str
    params: Mapping[str, Any] = field(default_factory=dict)
    phrase: str = ""
    title: str = ""
    proposed: bool = False
    severity: str | None = None
    basis: Mapping[str, str] | None = None


@dataclass(frozen=True, eq=False)
class SitingSpec(_Params):
    """A siting question as declared in the plan; :mod:`nbgeo.optimize` answers it.

    ``params`` holds every key of the ``[[siting]]`` table other than the
    common ones (see :data:`nbgeo.optimize.SITING_KEYS`).
    """

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    phrase: str = ""
    title: str = ""
    proposed: bool = False
    severity: str | None = None
    basis: Mapping[str, str] | None = None


@dataclass(frozen=True, eq=False)
class IndicatorSpec(_Judged, _Binding):
    """A quantified target of the plan that is not spatial (R&D share, numbers of firms, ...).

    Its yearly values come from the dataset's indicator table (a CSV with a
    ``year`` column and one column per indicator), read by :mod:`nbgeo.indicators`.

    Parameters
    ----------
    id
        Unique id within the plan's indicators.
    threshold, op, unit
        ``value op threshold`` means met, as for a :class:`Target`.
    years
        What the table's yearly values are judged on (:data:`~nbgeo.plan.models.INDICATOR_YEARS`):

        ``"horizon"`` (到2025年, the default)
            the table's value in the evaluation year: a level or a running total
            (8,000 high-tech firms, an R&D share of 2.8 %);
        ``"cumulative"`` (累计, 新增, 净增 over the plan period)
            the table's values of the years after the plan's baseline, added up to
            the evaluation year: the table holds what each year added (6,000 亿元 of
            new industrial investment in 2021–2025);
        ``"each_year"`` (每年)
            each year's value on its own: it must meet the threshold in every year of the period.
    column
        The table's column; defaults to ``id``.
    phrase, title, proposed, milestones, severity, basis
        As for a :class:`Target`.

    Examples
    --------
    >>> i = IndicatorSpec(id="rd_share", threshold=2.8, unit="%")
    >>> i.column, i.compare(2.81), i.margin(2.5)
    ('rd_share', True, -0.3)
    >>> IndicatorSpec(id="x", threshold=1, years="every")
    Traceback (most recent call last):
    ...
    nbgeo.errors.PlanError: indicator 'x', key 'years': must be one of horizon, cumulative, each_year, got 'every' (text)
    """

    id: str
    threshold: float
    op: str = ">="
    unit: str = ""
    years: str = "horizon"
    column: str = ""
    phrase: str = ""
    title: str = ""
    proposed: bool = False
    milestones: Mapping[int, float] = field(default_factory=dict)
    severity: str | None = None
    basis: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        _refuse(f"indicator {self.id!r}", issues("indicators", _given(self)), code="E-PLAN-INDICATOR")
        self._settle()
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "column", self.column or self.id)
        object.__setattr__(self, "milestones", _milestones(self.milestones))


@dataclass(frozen=True, eq=False)
class Plan:
    """A plan: its period and its targets, rules and coverage requirements.

    Examples
    --------
    >>> t = Target(id="a", layer="chargers", metric="count", threshold=1)
    >>> p = Plan(id="p", title="demo", baseline=2020, horizon=2025, targets=(t,))
    >>> p.years
    (2021, 2022, 2023, 2024, 2025)
    >>> Plan(id="p", title="demo", baseline=2020, horizon=2025, targets=(t, t))
    Traceback (most recent call last):
    ...
    nbgeo.errors.PlanError: plan 'p': duplicate target id 'a'
    """

    id: str
    title: str
    baseline: int
    horizon: int
    targets: tuple[Target, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    coverage: tuple[CoverageSpec, ...] = ()
    title_en: str = ""
    source: str = ""
    note: str = ""
    path: str | None = None
    indicators: tuple[IndicatorSpec, ...] = ()
    suitability: tuple[SuitabilitySpec, ...] = ()
    siting: tuple[SitingSpec, ...] = ()

    def __post_init__(self) -> None:
        if not self.baseline < self.horizon:
            msg = f"plan {self.id!r}: baseline {self.baseline} must come before horizon {self.horizon}"
            raise PlanError(msg, code="E-PLAN-YEARS")
        for kind, items in (("target", self.targets), ("rule", self.rules), ("coverage", self.coverage),
                            ("indicator", self.indicators), ("suitability", self.suitability),
                            ("siting", self.siting)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    msg = f"plan {self.id!r}: duplicate {kind} id {item.id!r}"
                    raise PlanError(msg, code="E-PLAN-DUPLICATE")
                seen.add(item.id)
        # An entry that names no basis rests on the plan itself (or, for a suggestion, on nbgeo).
        for name in ("targets", "indicators", "rules", "coverage", "suitability", "siting"):
            items = getattr(self, name)
            if any(item.basis is None for item in items):
                object.__setattr__(self, name, tuple(
                    item if item.basis is not None else replace(item, basis=_plan_basis(item, self))
                    for item in items))
        paced: tuple[Target | IndicatorSpec, ...] = (*self.targets, *self.indicators)
        for what in paced:
            for year in what.milestones:
                if problem := milestone_problem(year, self.baseline, self.horizon):
                    owner = f"{type(what).__name__.removesuffix('Spec').lower()} {what.id!r}"
                    raise PlanError(f"plan {self.id!r}: {owner}: {problem}", code="E-PLAN-MILESTONE")

    @property
    def years(self) -> tuple[int, ...]:
        """The years of the plan period, baseline excluded."""
        return tuple(range(self.baseline + 1, self.horizon + 1))

    def target(self, target_id: str) -> Target:
        """The target with this id."""
        for t in self.targets:
            if t.id == target_id:
                return t
        msg = f"plan {self.id!r} has no target {target_id!r}; targets: {', '.join(t.id for t in self.targets)}"
        raise PlanError(msg, code="E-PLAN-UNKNOWN")
