"""The plan as code: targets, siting rules and coverage requirements from a TOML file.

A plan file has one ``[plan]`` table and any number of ``[[targets]]``,
``[[rules]]`` and ``[[coverage]]`` tables. Every target quotes the phrase of
the plan it encodes, names the layer it reads and says how it is measured::

    [plan]
    id = "ningbo-manufacturing-2021-2025"
    title = "宁波市制造业高质量发展“十四五”规划"
    baseline = 2020
    horizon = 2025

    [[targets]]
    id = "chargers"
    phrase = "建成充（换）电设施1万个以上"
    layer = "chargers"
    metric = "count"
    op = ">"
    threshold = 10000
    unit = "facilities"
    years = "cumulative"

Metrics
-------
``count``
    Number of features (after ``where`` and the year filter).
``tier_count``
    Number of features whose *highest* tier reached in ``column`` is ``tier``;
    ``tiers`` maps tier names to their lower bounds, so a zone is counted once,
    in its highest tier.
``sum``
    Sum of ``column``.
``length``
    Total length in km, measured in the metric working CRS.
``area``
    Total area in ``unit`` (``ha`` or ``km2``), measured in the metric working CRS.
``share``
    Percentage of the ``weight`` (``"area"``, ``"count"`` or a column) of the
    features matching ``numerator`` among all features of the year.

Year semantics
--------------
``cumulative``
    Features whose ``year_column`` is at most the evaluation year (and at least
    ``since``, if given); evaluated once, at the evaluation year.
``each_year``
    Features whose ``year_column`` equals the year; evaluated for every year of
    the plan period up to the evaluation year.
Yearly columns such as ``output_{year}`` are filled in with the year. A layer
without the year column is ``unknown`` (with the reason) unless ``year_column =
""`` says it has no years; the rule, shared with coverage and siting, is set out
in :mod:`nbgeo.filters`, with the dialect of ``where`` and ``numerator`` filters.

Milestones and indicators
-------------------------
A target may carry the plan's own intermediate values, ``milestones = { 2023 = 7000 }``,
which :mod:`nbgeo.progress` paces it through. ``[[indicators]]`` tables declare the
plan's non-spatial quantified targets (R&D share, numbers of firms, ...): ``id``,
``threshold``, ``op``, ``unit``, ``years``, ``phrase``, ``title`` and optionally
``column`` and ``milestones``; their yearly values come from the dataset's indicator
table (:mod:`nbgeo.indicators`).

Examples
--------
>>> from nbgeo import datasets, plan
>>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
>>> p.horizon, len(p.targets) >= 9
(2025, True)
>>> p.target("chargers").threshold
10000.0
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import paths
from ._values import TomlLines, check_table, choice, either, flag, list_of, number, table_of, type_name
from ._values import text as text_check
from ._values import year as year_check
from .errors import FilterError, InputError, PlanError
from .filters import FILTER_KEYS, YEAR_MODES, check_filter

__all__ = [
    "METRICS",
    "OPERATORS",
    "YEAR_MODES",
    "CoverageSpec",
    "IndicatorSpec",
    "Plan",
    "RuleSpec",
    "SitingSpec",
    "SuitabilitySpec",
    "Target",
    "margin_of",
    "meets",
    "plan_from_dict",
    "read_plan",
]

METRICS = ("count", "tier_count", "sum", "length", "area", "share")
OPERATORS = (">=", ">", "<=", "<", "==")
AREA_UNITS = {"m2": 1.0, "ha": 1e4, "km2": 1e6}

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


def _milestones(owner: str, raw: Mapping[Any, Any] | None) -> Mapping[int, float]:
    """Milestones as a read-only ``{year: value}`` mapping, sorted by year.

    TOML keys are strings (``milestones = { 2023 = 7000 }`` gives ``{"2023": 7000}``),
    so keys are converted to integer years and values to floats.
    """
    if not raw:
        return _NO_MILESTONES
    out: dict[int, float] = {}
    for key, value in dict(raw).items():
        try:
            year = int(key)
        except (TypeError, ValueError):
            year = None
        if year is None or str(year) != str(key).strip():
            msg = f"{owner}: milestone key {key!r} is not a year (hint: milestones = {{ 2023 = 7000 }})"
            raise PlanError(msg, code="E-PLAN-MILESTONE")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            msg = f"{owner}: milestone for {year} must be a number, got {value!r}"
            raise PlanError(msg, code="E-PLAN-MILESTONE")
        out[year] = float(value)
    return MappingProxyType(dict(sorted(out.items())))


def _check_milestones(owner: str, milestones: Mapping[int, float], baseline: int, horizon: int) -> None:
    """Milestones must fall strictly inside the plan period (the horizon has the threshold itself)."""
    for year in milestones:
        if not baseline < year < horizon:
            msg = (f"{owner}: milestone year {year} lies outside the plan period; milestones are for the years "
                   f"{baseline + 1}–{horizon - 1} (the threshold is the {horizon} value)")
            raise PlanError(msg, code="E-PLAN-MILESTONE")


@dataclass(frozen=True, eq=False)
class Target:
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
        True when nbgeo proposes the target beyond the plan's own text.
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
    nbgeo.errors.PlanError: target 't': metric must be one of count, tier_count, sum, length, area, share, got 'volume'
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

    def __post_init__(self) -> None:
        def fail(msg: str) -> None:
            raise PlanError(f"target {self.id!r}: {msg}", code="E-PLAN-TARGET")

        if self.metric not in METRICS:
            fail(f"metric must be one of {', '.join(METRICS)}, got {self.metric!r}")
        if self.op not in OPERATORS:
            fail(f"op must be one of {', '.join(OPERATORS)}, got {self.op!r}")
        if self.years not in YEAR_MODES:
            fail(f"years must be one of {', '.join(YEAR_MODES)}, got {self.years!r}")
        if self.metric in ("sum", "tier_count") and not self.column:
            fail(f"metric {self.metric!r} needs a column")
        if self.metric == "tier_count":
            if not self.tiers or self.tier not in self.tiers:
                fail(f"tier {self.tier!r} must be one of the tiers {list(self.tiers)}")
        if self.metric == "share" and not self.numerator:
            fail("metric 'share' needs a numerator filter, e.g. numerator = { use = 'industrial' }")
        if self.metric == "area" and self.unit not in AREA_UNITS:
            fail(f"area unit must be one of {', '.join(AREA_UNITS)}, got {self.unit!r}")
        check_filter(self.where, key=f"target {self.id!r}, key 'where'")
        check_filter(self.numerator, key=f"target {self.id!r}, key 'numerator'")
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "where", _frozen(self.where))
        object.__setattr__(self, "numerator", _frozen(self.numerator))
        object.__setattr__(self, "tiers", _frozen({k: float(v) for k, v in dict(self.tiers).items()}))
        object.__setattr__(self, "milestones", _milestones(f"target {self.id!r}", self.milestones))

    def compare(self, actual: float) -> bool:
        """Whether ``actual`` meets the target."""
        return meets(self.op, actual, self.threshold)

    def margin(self, actual: float) -> float:
        """Signed distance from the threshold, positive on the good side."""
        return margin_of(self.op, actual, self.threshold)


@dataclass(frozen=True, eq=False)
class RuleSpec:
    """A siting rule as declared in the plan; :mod:`nbgeo.rules` evaluates it.

    ``params`` holds every key of the ``[[rules]]`` table other than the common ones.
    """

    id: str
    layer: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    phrase: str = ""
    title: str = ""
    proposed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))


@dataclass(frozen=True, eq=False)
class CoverageSpec:
    """A coverage requirement as declared in the plan; :mod:`nbgeo.coverage` evaluates it.

    ``params`` holds every key of the ``[[coverage]]`` table other than the common ones.
    """

    id: str
    demand: str
    facilities: str
    params: Mapping[str, Any] = field(default_factory=dict)
    phrase: str = ""
    title: str = ""
    proposed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))


@dataclass(frozen=True, eq=False)
class SuitabilitySpec:
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))


@dataclass(frozen=True, eq=False)
class SitingSpec:
    """A siting question as declared in the plan; :mod:`nbgeo.optimize` answers it.

    ``params`` holds every key of the ``[[siting]]`` table other than the
    common ones (see :data:`nbgeo.optimize.SITING_KEYS`).
    """

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    phrase: str = ""
    title: str = ""
    proposed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))


@dataclass(frozen=True, eq=False)
class IndicatorSpec:
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
        ``"cumulative"``: judged at the horizon on the table's value for that year
        (the table holds the level or running total the plan states);
        ``"each_year"``: the value must meet the threshold in every year of the period.
    column
        The table's column; defaults to ``id``.
    phrase, title, proposed, milestones
        As for a :class:`Target`.

    Examples
    --------
    >>> i = IndicatorSpec(id="rd_share", threshold=2.8, unit="%")
    >>> i.column, i.compare(2.81), i.margin(2.5)
    ('rd_share', True, -0.3)
    >>> IndicatorSpec(id="x", threshold=1, years="every")
    Traceback (most recent call last):
    ...
    nbgeo.errors.PlanError: indicator 'x': years must be one of cumulative, each_year, got 'every'
    """

    id: str
    threshold: float
    op: str = ">="
    unit: str = ""
    years: str = "cumulative"
    column: str = ""
    phrase: str = ""
    title: str = ""
    proposed: bool = False
    milestones: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def fail(msg: str) -> None:
            raise PlanError(f"indicator {self.id!r}: {msg}", code="E-PLAN-INDICATOR")

        if self.op not in OPERATORS:
            fail(f"op must be one of {', '.join(OPERATORS)}, got {self.op!r}")
        if self.years not in YEAR_MODES:
            fail(f"years must be one of {', '.join(YEAR_MODES)}, got {self.years!r}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            fail(f"threshold must be a number, got {self.threshold!r}")
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "column", self.column or self.id)
        object.__setattr__(self, "milestones", _milestones(f"indicator {self.id!r}", self.milestones))

    def compare(self, actual: float) -> bool:
        """Whether ``actual`` meets the indicator's threshold."""
        return meets(self.op, actual, self.threshold)

    def margin(self, actual: float) -> float:
        """Signed distance from the threshold, positive on the good side."""
        return margin_of(self.op, actual, self.threshold)


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
        paced: tuple[Target | IndicatorSpec, ...] = (*self.targets, *self.indicators)
        for what in paced:
            _check_milestones(f"plan {self.id!r}: {type(what).__name__.removesuffix('Spec').lower()} {what.id!r}",
                              what.milestones, self.baseline, self.horizon)

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


_TARGET_KEYS = {f.name for f in Target.__dataclass_fields__.values()}
_RULE_COMMON = {"id", "layer", "kind", "phrase", "title", "proposed"}
_COVERAGE_COMMON = {"id", "demand", "facilities", "phrase", "title", "proposed"}
_SUITABILITY_COMMON = {"id", "layer", "phrase", "title", "proposed"}
_SITING_COMMON = {"id", "phrase", "title", "proposed"}
_INDICATOR_KEYS = {f.name for f in IndicatorSpec.__dataclass_fields__.values()}
_PLAN_KEYS = {"id", "title", "title_en", "baseline", "horizon", "source", "note"}


# --------------------------------------------------------------------------------------------------------------
# Every key of every table, type- and range-checked at read time (so a wrong value is refused with its line, not
# met later as a TypeError or a silent wrong answer). nbgeo.rules, nbgeo.coverage, nbgeo.suitability and
# nbgeo.optimize still say which keys each kind of rule, criterion or question takes.
# --------------------------------------------------------------------------------------------------------------

_TEXT, _FLAG = text_check(), flag()


def _filter_checked_after(value: Any) -> str | None:
    """Filters have their own check (:func:`nbgeo.filters.check_filter`, run right after, locating key and line)."""
    return None


_FILTER = _filter_checked_after


_NAME = text_check(nonempty=True, what="a name")
_METRES = number(low=0, high=1e6, what="a distance in metres")
_POSITIVE_METRES = number(low=0, low_open=True, high=1e6, what="a distance in metres")
_CELL = number(low=1, high=1e5, what="a cell size in metres")
_PERCENT = number(low=0, high=100, what="a percentage")
_AMOUNT = number(low=0, what="an amount")
_SCORE = number(low=0, high=1, what="a score")
_MILESTONES = table_of(number(what="a milestone value"))
_CAPACITY = number(low=0, infinite=True, what="a capacity (inf for no limit)")


def _year_column(value: Any) -> str | None:
    """A column name in which ``{year}`` is the only placeholder (``output_{year}``), as ``str.format`` reads it."""
    problem = _NAME(value)
    if problem:
        return problem
    if "{" in value.replace("{year}", "") or "}" in value.replace("{year}", ""):
        return f"may hold no braces but the placeholder {{year}} (e.g. \"output_{{year}}\"), got {value!r}"
    return None


def _one_pair(value: Any) -> str | None:
    """``match = { site_column = "zone_column" }``: exactly one pair of column names."""
    if not isinstance(value, dict) or len(value) != 1:
        return f"must be a table with one pair {{site_column = \"zone_column\"}}, got {value!r} ({type_name(value)})"
    return table_of(_NAME)(value)


# Ids and layer names need only be text here: their form (they may name files) is checked by _check_names.
_SCHEMA: dict[str, dict[str, Any]] = {
    "plan": {"id": _TEXT, "title": _TEXT, "title_en": _TEXT, "baseline": year_check(), "horizon": year_check(),
             "source": _TEXT, "note": _TEXT},
    "targets": {
        "id": _TEXT, "layer": _TEXT, "metric": choice(*METRICS), "threshold": number(), "op": choice(*OPERATORS),
        "unit": _TEXT, "years": choice(*YEAR_MODES), "phrase": _TEXT, "title": _TEXT, "where": _FILTER,
        "column": _year_column, "tier": _NAME, "tiers": table_of(number(), nonempty=True), "numerator": _FILTER,
        "weight": _NAME, "since": year_check(), "year_column": _TEXT, "proposed": _FLAG, "milestones": _MILESTONES,
    },
    "indicators": {
        "id": _TEXT, "threshold": number(), "op": choice(*OPERATORS), "unit": _TEXT, "years": choice(*YEAR_MODES),
        "column": _TEXT, "phrase": _TEXT, "title": _TEXT, "proposed": _FLAG, "milestones": _MILESTONES,
    },
    "rules": {
        "id": _TEXT, "layer": _TEXT, "phrase": _TEXT, "title": _TEXT, "proposed": _FLAG, "source": _TEXT,
        "note": _TEXT, "kind": choice("within", "exclusion", "setback", "spacing", "access", "area", "slope",
                                      "overlap"),
        "where": _FILTER, "against": _NAME, "against_where": _FILTER, "tolerance": _AMOUNT,
        "unit": choice(*AREA_UNITS, "percent", "degree"), "min_share": _PERCENT, "max_share": _PERCENT,
        "max_distance": _METRES, "min_distance": _METRES, "match": _one_pair, "max_area": _AMOUNT,
        "min_area": _AMOUNT, "max_length": _AMOUNT, "distance": either(_METRES, table_of(_METRES, nonempty=True)),
        "class_column": _NAME, "keep": either(choice("first", "larger"), choice(False)),
        "by": choice("straight", "road"), "network": _NAME, "column": _NAME, "dem": _NAME,
        "max_slope": _AMOUNT, "stat": choice("mean", "max"),
    },
    "coverage": {
        "id": _TEXT, "demand": _TEXT, "facilities": _TEXT, "phrase": _TEXT, "title": _TEXT, "proposed": _FLAG,
        "distance": _POSITIVE_METRES, "mode": choice("network", "straight"), "network": _NAME, "weight": _NAME,
        "split": choice("none", "grid", "length"), "cell": _CELL, "op": choice(*OPERATORS), "threshold": _PERCENT,
        "unit": _TEXT, "demand_where": _FILTER, "facilities_where": _FILTER, "year_column": _TEXT,
        "demand_year_column": _TEXT, "facilities_year_column": _TEXT,
        "years": choice(*YEAR_MODES), "max_snap": _METRES, "direction": choice("to", "from"),
    },
    "suitability": {
        "id": _TEXT, "layer": _TEXT, "phrase": _TEXT, "title": _TEXT, "proposed": _FLAG, "source": _TEXT,
        "note": _TEXT, "cell": _CELL, "min_score": _SCORE, "min_area": _AMOUNT, "area": _NAME,
        "criteria": list_of(table_of(lambda _: None), nonempty=True),
    },
    "suitability.criteria": {
        "kind": choice("slope", "distance", "raster", "exclude", "within"),
        "weight": number(low=0, low_open=True, what="a weight"), "best": number(), "worst": number(),
        "layer": _NAME, "where": _FILTER, "network": _NAME, "raster": _NAME, "unit": choice("percent", "degree"),
        "buffer": _METRES, "title": _TEXT, "band": number(low=1, high=65535, integer=True, what="a band number"),
    },
    "siting": {
        "id": _TEXT, "phrase": _TEXT, "title": _TEXT, "proposed": _FLAG, "source": _TEXT, "note": _TEXT,
        "coverage": _NAME, "demand": _TEXT, "facilities": _TEXT, "distance": _POSITIVE_METRES,
        "by": choice("road", "straight", "network"), "network": _NAME,
        "k": number(low=0, high=100_000, integer=True, what="a number of sites"),
        "share": number(low=0, low_open=True, high=1, what="a share"), "required": _PERCENT,
        "candidates": _NAME, "cell": _CELL, "min_score": _SCORE, "min_area": _AMOUNT, "demand_where": _FILTER,
        "facilities_where": _FILTER, "weight": _NAME, "split": choice("none", "grid", "length"),
        "split_cell": _CELL, "year_column": _TEXT, "demand_year_column": _TEXT, "facilities_year_column": _TEXT,
        "capacity": _CAPACITY, "existing_capacity": _CAPACITY,
        "method": choice("greedy", "milp", "auto"),
        "time_limit": number(low=0, low_open=True, high=86_400, what="a number of seconds"),
        "allow_unknown": _FLAG,
    },
}


def _check_values(data: Mapping[str, Any], *, path: str, loc: _Locator) -> None:
    """Refuse the first value of the plan that has the wrong type or lies out of range, naming key and line."""
    problem = check_table(data["plan"], _SCHEMA["plan"], known=False)  # its unknown keys are listed before
    if problem:
        raise _error(path, loc, "plan", None, problem[0], problem[1])
    criteria_seen = 0
    for table in ("targets", "indicators", "rules", "coverage", "suitability", "siting"):
        items = data.get(table, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _error(path, loc, table, None, None, f"must be [[{table}]] tables, got {type_name(items)}",
                         f"write each one as a [[{table}]] table")
        for i, raw in enumerate(items):
            # Targets and indicators list their own unknown keys (with a hint); the other tables' keys are here.
            problem = check_table(raw, _SCHEMA[table], known=table not in ("targets", "indicators"))
            if problem:
                raise _error(path, loc, table, i, problem[0], problem[1])
            for j, criterion in enumerate(raw.get("criteria", []) if table == "suitability" else []):
                problem = check_table(criterion, _SCHEMA["suitability.criteria"])
                if problem:
                    raise _error(path, loc, "suitability.criteria", criteria_seen + j, problem[0],
                                 f"(of [[suitability]] #{i + 1}, criterion #{j + 1}) {problem[1]}")
            criteria_seen += len(raw.get("criteria", [])) if table == "suitability" else 0


#: Finds the line of a key in the n-th ``[[table]]`` of a TOML text.
_Locator = TomlLines


def _error(path: str, loc: _Locator, table: str, index: int | None, key: str | None, msg: str,
           hint: str = "", *, code: str = "E-PLAN-KEY") -> PlanError:
    line = loc.line(table, index, key)
    where = f"{path}, line {line}" if line else path
    what = f"[[{table}]] #{index + 1}" if index is not None else f"[{table}]"
    if key:
        what += f", key {key!r}"
    text = f"{where}: {what}: {msg}"
    if hint:
        text += f" (hint: {hint})"
    return PlanError(text, code=code)


#: Keys whose values may become file names (``ID.tif``) or name layers that do (``LAYER_sites.csv``).
_NAME_KEYS = {"plan": ("id",), "targets": ("id", "layer"), "rules": ("id", "layer"),
              "coverage": ("id", "demand", "facilities"), "indicators": ("id",), "suitability": ("id", "layer"),
              "siting": ("id", "demand", "facilities")}


def _check_names(path: str, loc: _Locator, table: str, index: int | None, raw: object) -> None:
    """Refuse an id or layer name that cannot name a file, naming its table, key and line."""
    if not isinstance(raw, dict):
        return
    for key in _NAME_KEYS[table]:
        if key not in raw:
            continue
        problem = paths.name_problem(raw[key])
        if problem is not None:
            what = "id" if key == "id" else "layer name"
            raise _error(path, loc, table, index, key, f"{what} {raw[key]!r} cannot name a file: {problem}",
                         "use letters, digits, '_' and '-' only, e.g. 'micro_parks'", code="E-NAME-UNSAFE")


def _check_filters(data: Mapping[str, Any], path: str, loc: _Locator) -> None:
    """The form of every filter of the plan (:mod:`nbgeo.filters`), located by file, line and key."""

    def check(table: str, index: int, raw: Any, keys: tuple[str, ...]) -> None:
        for key in keys:
            if isinstance(raw, Mapping) and key in raw:
                try:
                    check_filter(raw[key])
                except FilterError as exc:
                    located = _error(path, loc, table, index, key, exc.message)
                    raise FilterError(located.message, code=exc.code, problems=exc.problems) from None

    for table in ("targets", "rules", "coverage", "siting"):
        for i, raw in enumerate(data.get(table, [])):
            check(table, i, raw, FILTER_KEYS)
    criteria = [c for raw in data.get("suitability", []) if isinstance(raw, Mapping)
                for c in (raw.get("criteria") or []) if isinstance(raw.get("criteria"), list)]
    for i, raw in enumerate(criteria):
        check("suitability.criteria", i, raw, ("where",))


def plan_from_dict(data: Mapping[str, Any], *, path: str = "<plan>", text: str = "") -> Plan:
    """Build a :class:`Plan` from parsed TOML data, naming the line and key of any error.

    Examples
    --------
    >>> d = {"plan": {"id": "p", "title": "t", "baseline": 2020, "horizon": 2025},
    ...      "targets": [{"id": "a", "layer": "chargers", "metric": "count", "threshold": 5, "colour": 1}]}
    >>> plan_from_dict(d)
    Traceback (most recent call last):
    ...
    nbgeo.errors.PlanError: <plan>: [[targets]] #1, key 'colour': unknown key (hint: known keys: column, layer, ...)
    """
    loc = _Locator(text)
    head = data.get("plan")
    if not isinstance(head, dict):
        raise _error(path, loc, "plan", None, None, "missing [plan] table",
                     "start the file with [plan] and id, title, baseline, horizon")
    for key in head:
        if key not in _PLAN_KEYS:
            raise _error(path, loc, "plan", None, key, "unknown key", f"known keys: {', '.join(sorted(_PLAN_KEYS))}")
    for key in ("id", "title", "baseline", "horizon"):
        if key not in head:
            raise _error(path, loc, "plan", None, None, f"missing key {key!r}")
    _check_names(path, loc, "plan", None, head)
    for key in ("baseline", "horizon"):
        if not isinstance(head[key], int):
            raise _error(path, loc, "plan", None, key, f"must be a year (integer), got {head[key]!r}")
    for key in data:
        if key not in ("plan", "targets", "rules", "coverage", "indicators", "suitability", "siting"):
            raise _error(path, loc, key, None, None, "unknown table",
                         "tables: [plan], [[targets]], [[rules]], [[coverage]], [[indicators]], [[suitability]], "
                         "[[siting]]")
    _check_values(data, path=path, loc=loc)

    _check_filters(data, path, loc)
    targets = []
    for i, raw in enumerate(data.get("targets", [])):
        for key in raw:
            if key not in _TARGET_KEYS:
                known = sorted(_TARGET_KEYS - {"id"})
                raise _error(path, loc, "targets", i, key, "unknown key", f"known keys: {', '.join(known[:2])}, ...")
        for key in ("id", "layer", "metric", "threshold"):
            if key not in raw:
                raise _error(path, loc, "targets", i, None, f"missing key {key!r}")
        _check_names(path, loc, "targets", i, raw)
        if not isinstance(raw["threshold"], (int, float)) or isinstance(raw["threshold"], bool):
            raise _error(path, loc, "targets", i, "threshold", f"must be a number, got {raw['threshold']!r}")
        try:
            targets.append(Target(**raw))
            _check_milestones(f"target {raw['id']!r}", targets[-1].milestones, head["baseline"], head["horizon"])
        except PlanError as exc:
            bad_key = next((k for k in ("milestone", "metric", "op", "years", "tier", "unit", "numerator", "column")
                            if k in str(exc)), None)
            bad_key = "milestones" if bad_key == "milestone" else bad_key
            raise _error(path, loc, "targets", i, bad_key, exc.message) from None
        except TypeError as exc:
            raise _error(path, loc, "targets", i, None, str(exc)) from None

    def _specs(table: str, common: set[str], required: tuple[str, ...], cls: type) -> list[Any]:
        out = []
        for i, raw in enumerate(data.get(table, [])):
            for key in required:
                if key not in raw:
                    raise _error(path, loc, table, i, None, f"missing key {key!r}")
            _check_names(path, loc, table, i, raw)
            params = {k: v for k, v in raw.items() if k not in common}
            base = {k: v for k, v in raw.items() if k in common}
            out.append(cls(**base, params=params))
        return out

    indicators = []
    for i, raw in enumerate(data.get("indicators", [])):
        for key in raw:
            if key not in _INDICATOR_KEYS:
                raise _error(path, loc, "indicators", i, key, "unknown key",
                             f"known keys: {', '.join(sorted(_INDICATOR_KEYS))}")
        for key in ("id", "threshold"):
            if key not in raw:
                raise _error(path, loc, "indicators", i, None, f"missing key {key!r}")
        _check_names(path, loc, "indicators", i, raw)
        try:
            indicators.append(IndicatorSpec(**raw))
            _check_milestones(f"indicator {raw['id']!r}", indicators[-1].milestones, head["baseline"],
                              head["horizon"])
        except PlanError as exc:
            bad_key = next((k for k in ("milestone", "threshold", "op", "years") if k in str(exc)), None)
            bad_key = "milestones" if bad_key == "milestone" else bad_key
            raise _error(path, loc, "indicators", i, bad_key, exc.message) from None

    rules = _specs("rules", _RULE_COMMON, ("id", "layer", "kind"), RuleSpec)
    coverage = _specs("coverage", _COVERAGE_COMMON, ("id", "demand", "facilities"), CoverageSpec)
    suitability = _specs("suitability", _SUITABILITY_COMMON, ("id", "layer"), SuitabilitySpec)
    siting = _specs("siting", _SITING_COMMON, ("id",), SitingSpec)
    try:
        return Plan(
            id=head["id"], title=head["title"], title_en=head.get("title_en", ""),
            baseline=head["baseline"], horizon=head["horizon"], source=head.get("source", ""),
            note=head.get("note", ""), targets=tuple(targets), rules=tuple(rules),
            coverage=tuple(coverage), path=path, indicators=tuple(indicators),
            suitability=tuple(suitability), siting=tuple(siting),
        )
    except PlanError as exc:
        raise _error(path, loc, "plan", None, None, exc.message) from None


def read_plan(path: str | Path) -> Plan:
    """Read a plan file (TOML).

    Parameters
    ----------
    path
        The plan file.

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        With the file, line and key of the first problem.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> read_plan(datasets.get_path("ningbo_2025")).id
    'ningbo-manufacturing-2021-2025'
    """
    p = Path(path)
    try:  # a regular file, read without blocking: never a pipe or a device such as /dev/zero
        raw = paths.read_input(p, what="plan file")
    except InputError as exc:
        code = {"E-FILE-MISSING": "E-PLAN-MISSING", "E-FILE-READ": "E-PLAN-MISSING"}.get(exc.code, exc.code)
        raise PlanError(exc.message, code=code) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"plan file {str(p)!r} is not UTF-8 text (byte {exc.start})"
        raise PlanError(msg, code="E-PLAN-ENCODING") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{p}: not valid TOML: {exc}"
        raise PlanError(msg, code="E-PLAN-SYNTAX") from None
    return plan_from_dict(data, path=str(p), text=text)
