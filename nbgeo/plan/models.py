# mypy: disable-error-code="valid-type"
# (the field types are Annotated aliases that factories build: a check of nbgeo._values and its bounds)
"""The typed schema of a plan file: one pydantic model per table, and per kind of rule and criterion.

Every key of every table has a type, a range and a meaning here, in one place. :func:`nbgeo.plan.read_plan`
validates each table against its model (collecting every error, not the first), the spec objects check
what code builds against the same models, and :func:`plan_json_schema` turns them into the JSON Schema
editors read (``nbgeo schema plan``).

A value is checked by the :mod:`nbgeo._values` check its field names (so messages read the same in plans
and manifests); the field's type and bounds, taken from the same numbers, are what the JSON Schema shows.
Unknown keys are errors (``extra="forbid"``); ``[[rules]]`` and ``[[suitability.criteria]]`` are
discriminated unions on ``kind``: each kind of rule takes only its own keys.

Examples
--------
>>> rule = RULE.validate_python({"id": "r", "layer": "parks", "kind": "spacing", "min_distance": 500})
>>> type(rule).__name__, rule.min_distance, rule.keep
('SpacingRule', 500.0, 'first')
>>> sorted(RULE_KEYS["spacing"] - COMMON_RULE_KEYS)
['keep', 'kind', 'min_distance']
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from .._values import Check, choice, either, flag, number, table_of, text, type_name, year
from ..errors import FilterError
from ..filters import YEAR_MODES, check_filter
from ..landuse.control_lines import CONTROL_LINES
from ..landuse.control_lines import NAMES as CONTROL_LINE_NAMES

__all__ = [
    "AREA_UNITS",
    "COMMON_RULE_KEYS",
    "CONTROL_LINE_NAMES",
    "CRITERION",
    "CRITERION_KEYS",
    "INDICATOR_YEARS",
    "INSTRUMENT_KINDS",
    "METRICS",
    "OPERATORS",
    "RULE",
    "RULE_KEYS",
    "RULE_KINDS",
    "SEVERITIES",
    "SEVERITY_ALIASES",
    "TABLES",
    "Basis",
    "CoverageModel",
    "IndicatorModel",
    "Issue",
    "PlanFileModel",
    "PlanHeader",
    "SitingModel",
    "SuitabilityModel",
    "TargetModel",
    "issues",
    "plan_json_schema",
    "severity_of",
    "suggest",
    "target_problems",
]

METRICS = ("count", "tier_count", "sum", "length", "area", "share")
OPERATORS = (">=", ">", "<=", "<", "==")
AREA_UNITS = {"m2": 1.0, "ha": 1e4, "km2": 1e6}
RULE_KINDS = ("within", "exclusion", "setback", "spacing", "access", "area", "slope", "overlap")
CRITERION_KINDS = ("slope", "distance", "raster", "exclude", "within")
#: What an indicator's yearly values are judged on (:mod:`nbgeo.indicators`): the value in the evaluation
#: year (到2025年), the values added up over the plan period (累计, 新增), or each year's value (每年).
INDICATOR_YEARS = ("horizon", "cumulative", "each_year")
#: How binding an entry is: 禁止 (prohibited by law or plan), 限制 (restricted), 建议 (a suggestion of nbgeo
#: or the office, which by default does not change the exit code).
SEVERITIES = ("禁止", "限制", "建议")
#: The English words a plan may write for a severity; read as the Chinese one.
SEVERITY_ALIASES = {"prohibited": "禁止", "restricted": "限制", "advisory": "建议"}
#: What kind of instrument a basis cites.
INSTRUMENT_KINDS = ("law", "regulation", "standard", "plan", "office")


# --------------------------------------------------------------------------------------------------------------
# Field types: a check of nbgeo._values for the value, the same bounds for the JSON Schema
# --------------------------------------------------------------------------------------------------------------


def _run(check: Check, *, code: str = "", to_int: bool = False, options: tuple[Any, ...] = ()
         ) -> Callable[[Any], Any]:
    """A pydantic before-validator that runs a check; its message becomes the error's.

    With ``options``, a text value close to one of them gets a "did you mean" hint.
    """

    def validate(value: Any) -> Any:
        problem = check(value)
        if problem:
            hint = suggest(value, [o for o in options if isinstance(o, str)]) if isinstance(value, str) else ""
            raise PydanticCustomError("nbgeo_value", "{problem}", {"problem": problem, "code": code, "hint": hint})
        if to_int and isinstance(value, float):
            return int(value)
        return value

    return validate


def _num(*, low: float | None = None, high: float | None = None, low_open: bool = False, integer: bool = False,
         infinite: bool = False, what: str = "a number", doc: str = "") -> Any:
    """A number field checked by :func:`nbgeo._values.number` with these bounds (shown in the JSON Schema)."""
    bounds: dict[str, Any] = {}
    if low is not None:
        bounds["gt" if low_open else "ge"] = low
    if high is not None:
        bounds["le"] = high
    check = number(low=low, high=high, low_open=low_open, integer=integer, infinite=infinite, what=what)
    kind: Any = int if integer else float
    return Annotated[kind, Field(description=doc or what, **bounds), BeforeValidator(_run(check, to_int=integer))]


def _choice(*options: Any, doc: str = "") -> Any:
    return Annotated[Literal[options], Field(description=doc or None), BeforeValidator(_run(choice(*options), options=options))]


def _text(doc: str = "") -> Any:
    return Annotated[str, Field(description=doc or None), BeforeValidator(_run(text()))]


def _name(doc: str = "") -> Any:
    return Annotated[str, Field(min_length=1, description=doc or "a name"),
                     BeforeValidator(_run(text(nonempty=True, what="a name")))]


def _check_filter(value: Any) -> Any:
    try:
        check_filter(value)
    except FilterError as exc:
        raise PydanticCustomError("nbgeo_value", "{problem}", {"problem": exc.message, "code": exc.code}) from None
    return value


def _year_column_check(value: Any) -> str | None:
    """A column name in which ``{year}`` is the only placeholder (``output_{year}``), as ``str.format`` reads it."""
    problem = text(nonempty=True, what="a name")(value)
    if problem:
        return problem
    if "{" in value.replace("{year}", "") or "}" in value.replace("{year}", ""):
        return f"may hold no braces but the placeholder {{year}} (e.g. \"output_{{year}}\"), got {value!r}"
    return None


def _one_pair(value: Any) -> str | None:
    """``match = { site_column = "zone_column" }``: exactly one pair of column names."""
    if not isinstance(value, dict) or len(value) != 1:
        return f"must be a table with one pair {{site_column = \"zone_column\"}}, got {value!r}"
    return table_of(text(nonempty=True, what="a name"))(value)


def _milestone_check(value: Any) -> str | None:
    problem = table_of(number(what="a milestone value"))(value)
    if problem:
        return problem
    for key in value:
        if not str(key).strip().isdigit() or str(int(key)) != str(key).strip():
            return f"milestone key {key!r} is not a year (hint: milestones = {{ 2023 = 7000 }})"
    return None


Text = _text()
Name = _name()
Flag = Annotated[bool, BeforeValidator(_run(flag()))]
Filter = Annotated[dict[str, Any], Field(description="a filter in the dialect of nbgeo.filters, "
                                                     "{column = value, [values] or {operator = value}}"),
                   BeforeValidator(_check_filter)]
Metres = _num(low=0, high=1e6, what="a distance in metres")
PositiveMetres = _num(low=0, low_open=True, high=1e6, what="a distance in metres")
Cell = _num(low=1, high=1e5, what="a cell size in metres")
Percent = _num(low=0, high=100, what="a percentage")
Amount = _num(low=0, what="an amount")
Score = _num(low=0, high=1, what="a score")
Capacity = _num(low=0, infinite=True, what="a capacity (inf for no limit)")
Year = Annotated[int, Field(ge=1900, le=2100, description="a year"), BeforeValidator(_run(year(), to_int=True))]
Milestones = Annotated[dict[str, float], Field(description="the plan's intermediate values, { YEAR = value }"),
                       BeforeValidator(_run(_milestone_check, code="E-PLAN-MILESTONE"))]
YearColumn = Annotated[str, Field(min_length=1, description="a column, may hold {year}: output_{year}"),
                       BeforeValidator(_run(_year_column_check))]
SetbackDistance = Annotated[float | dict[str, float],
                            Field(description="metres, or { class = metres } by the class_column"),
                            BeforeValidator(_run(either(number(low=0, high=1e6, what="a distance in metres"),
                                                        table_of(number(low=0, high=1e6,
                                                                        what="a distance in metres"),
                                                                 nonempty=True))))]
IndicatorYears = _choice(*INDICATOR_YEARS, doc="'horizon' (到2025年: the value in the year), 'cumulative' (累计: "
                                                "the yearly values since the baseline added up) or 'each_year' (每年)")
Keep = Annotated[Literal["first", "larger", False],
                 Field(description="which of two sites breaking the rule keeps its place; false fails both"),
                 BeforeValidator(_run(either(choice("first", "larger"), choice(False))))]


class _Table(BaseModel):
    """A table of a plan file: unknown keys are errors, values are never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def severity_of(value: object) -> str | None:
    """The severity a plan's value stands for (禁止, 限制 or 建议; English aliases read as Chinese), or None.

    Examples
    --------
    >>> severity_of("prohibited"), severity_of(" 建议 "), severity_of("Advisory"), severity_of("must")
    ('禁止', '建议', '建议', None)
    """
    if not isinstance(value, str):
        return None
    word = value.strip()
    return word if word in SEVERITIES else SEVERITY_ALIASES.get(word.lower())


def _severity(value: Any) -> Any:
    """Check a severity and read its English alias as the Chinese word (did you mean for a near miss)."""
    found = severity_of(value)
    if found is None:
        options = [*SEVERITIES, *SEVERITY_ALIASES]
        hint = suggest(value, options) if isinstance(value, str) else ""
        problem = f"must be one of {', '.join(SEVERITIES)} (or {', '.join(SEVERITY_ALIASES)}), got {value!r}"
        raise PydanticCustomError("nbgeo_value", "{problem}", {"problem": problem, "code": "E-PLAN-SEVERITY",
                                                               "hint": hint or "禁止 = prohibited by law or plan, "
                                                                               "限制 = restricted, 建议 = a "
                                                                               "suggestion"})
    return found


def _control_line(value: Any) -> Any:
    """Check a control line's name (code or Chinese) and read it as its code."""
    if isinstance(value, str) and value.strip() in CONTROL_LINE_NAMES:
        return CONTROL_LINE_NAMES[value.strip()]
    options = sorted(CONTROL_LINE_NAMES)
    hint = suggest(value, options) if isinstance(value, str) else ""
    problem = f"must be one of {', '.join(options)}, got {value!r}"
    raise PydanticCustomError("nbgeo_value", "{problem}", {"problem": problem, "code": "E-PLAN-CONTROL-LINE",
                                                           "hint": hint})


Severity = Annotated[Literal[(*SEVERITIES, *SEVERITY_ALIASES)],  # type: ignore[misc]
                     Field(description="禁止 (prohibited by law or plan), 限制 (restricted) or 建议 (a suggestion "
                                       "of nbgeo or the office; by default it does not change the exit code); "
                                       "prohibited, restricted and advisory read the same"),
                     BeforeValidator(_severity)]
ControlLineName = Annotated[Literal[tuple(CONTROL_LINE_NAMES)],  # type: ignore[misc]
                            Field(description="one of the three control lines (三区三线): "
                                              + ", ".join(f"{c} ({line.zh})" for c, line in CONTROL_LINES.items())),
                            BeforeValidator(_control_line)]


class Basis(_Table):
    """What an entry rests on: the instrument (law, regulation, standard, plan or the office's own), its article.

    ``phrase`` quotes the instrument word for word (leave it empty rather than paraphrase); ``url`` links to
    its published text.

    Examples
    --------
    >>> b = Basis.model_validate({"instrument": "《中华人民共和国土地管理法》", "kind": "law", "article": "第三十五条"})
    >>> b.kind, b.article, b.phrase
    ('law', '第三十五条', '')
    """

    phrase: Text = ""
    instrument: Annotated[str, Field(min_length=1, description="the instrument's name, e.g. 《中华人民共和国土地管理法》"),
                          BeforeValidator(_run(text(nonempty=True, what="an instrument's name")))]
    kind: _choice(*INSTRUMENT_KINDS, doc="law, regulation, standard, plan, or office (nbgeo's or the office's "
                                         "own suggestion)")
    article: Text = ""
    url: Text = ""


class _Described(_Table):
    """The keys every item of the plan may carry to say where it comes from and how binding it is.

    ``proposed = true`` is the older way to write ``severity = "建议"``; the two must agree.
    """

    id: Text
    phrase: Text = ""
    title: Text = ""
    proposed: Flag = False
    severity: Severity = None  # type: ignore[assignment]
    basis: Basis = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _proposed_is_advisory(self) -> Any:
        if self.proposed and self.severity not in (None, "建议"):
            problem = f"proposed = true says 建议 (a suggestion), but severity is {self.severity!r}"
            raise PydanticCustomError("nbgeo_value", "{problem}", {"problem": problem, "code": "E-PLAN-SEVERITY",
                                                                   "hint": "drop proposed, or set severity = "
                                                                           "\"建议\"", "key": "severity"})
        return self


# --------------------------------------------------------------------------------------------------------------
# [plan], [[targets]], [[indicators]]
# --------------------------------------------------------------------------------------------------------------


class PlanHeader(_Table):
    """The ``[plan]`` table: what the plan is and its period (``baseline`` < ``horizon``)."""

    id: Text
    title: Text
    baseline: Year
    horizon: Year
    title_en: Text = ""
    source: Text = ""
    note: Text = ""


class TargetModel(_Described):
    """A ``[[targets]]`` table (see :class:`nbgeo.plan.Target` for the meaning of each key)."""

    layer: Text
    metric: _choice(*METRICS)
    threshold: _num()
    op: _choice(*OPERATORS) = ">="
    unit: Text = ""
    years: _choice(*YEAR_MODES) = "cumulative"
    where: Filter = {}
    column: YearColumn = None  # type: ignore[assignment]
    tier: Name = None
    tiers: Annotated[dict[str, float], BeforeValidator(_run(table_of(number(), nonempty=True)))] = {}
    numerator: Filter = {}
    weight: Name = "area"
    since: Year = None  # type: ignore[assignment]
    year_column: Text = "year"
    milestones: Milestones = {}


def target_problems(target: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong between the keys of a target, as ``(key, problem)`` pairs.

    Examples
    --------
    >>> target_problems({"metric": "sum"})
    [('column', "metric 'sum' needs a column")]
    >>> target_problems({"metric": "area", "unit": "acres"})
    [('unit', "area unit must be one of m2, ha, km2, got 'acres'")]
    """
    out: list[tuple[str, str]] = []
    metric = target.get("metric")
    if metric in ("sum", "tier_count") and not target.get("column"):
        out.append(("column", f"metric {metric!r} needs a column"))
    tiers = target.get("tiers") or {}
    if metric == "tier_count" and (not tiers or target.get("tier") not in tiers):
        out.append(("tier", f"tier {target.get('tier')!r} must be one of the tiers {list(tiers)}"))
    if metric == "share" and not target.get("numerator"):
        out.append(("numerator", "metric 'share' needs a numerator filter, e.g. numerator = { use = 'industrial' }"))
    if metric == "area" and target.get("unit", "") not in AREA_UNITS:
        out.append(("unit", f"area unit must be one of {', '.join(AREA_UNITS)}, got {target.get('unit', '')!r}"))
    return out


class IndicatorModel(_Described):
    """An ``[[indicators]]`` table: a quantified target read from the dataset's indicator table.

    ``years`` says what the table's yearly values are judged on: ``"horizon"`` (到2025年: the value in the
    evaluation year, a level or running total), ``"cumulative"`` (累计, 新增 over the plan period: the values of
    the years after the baseline added up, the table holding what each year added) or ``"each_year"`` (每年:
    every year's value on its own).
    """

    threshold: _num()
    op: _choice(*OPERATORS) = ">="
    unit: Text = ""
    years: IndicatorYears = "horizon"
    column: Text = ""
    milestones: Milestones = {}


# --------------------------------------------------------------------------------------------------------------
# [[rules]]: one model per kind
# --------------------------------------------------------------------------------------------------------------


class _Rule(_Described):
    layer: Text = Field(description="the layer of the sites checked")
    where: Filter = Field(default={}, description="which sites of the layer are checked")
    tolerance: Amount = Field(default=None, description="the tolerance band, in the rule's unit")
    source: Text = ""
    note: Text = ""


class _Against(_Rule):
    against: Name = Field(description="the layer the sites are checked against")
    against_where: Filter = {}
    control_line: ControlLineName = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _filter_selects_the_line(self) -> Any:
        """A rule about a control line whose ``against_where`` picks kinds must pick that line's."""
        kinds = self.against_where.get("kind") if self.control_line else None
        picked = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else None
        if picked is not None and self.control_line not in picked:
            problem = (f"control_line {self.control_line!r} ({CONTROL_LINES[self.control_line].zh}), but "
                       f"against_where selects kind {kinds!r}")
            raise PydanticCustomError("nbgeo_value", "{problem}", {
                "problem": problem, "code": "E-PLAN-CONTROL-LINE", "key": "control_line",
                "hint": f"against_where = {{ kind = \"{self.control_line}\" }}"})
        return self


class WithinRule(_Against):
    """Sites inside ``against``: ``min_share`` % of a polygon or line, points at most ``max_distance`` outside."""

    kind: Literal["within"]
    min_share: Percent = 100.0
    max_distance: Metres = 0.0
    match: Annotated[dict[str, str], Field(description="{ site_column = \"zone_column\" }: the zone must match"),
                     BeforeValidator(_run(_one_pair))] = None  # type: ignore[assignment]


class ExclusionRule(_Against):
    """Sites overlapping ``against`` at most ``max_area`` m², ``max_length`` m or ``max_share`` %."""

    kind: Literal["exclusion"]
    max_area: Amount = None
    max_share: Percent = None
    max_length: Amount = None


class SetbackRule(_Against):
    """Sites at least ``distance`` metres (one number or one per class of ``class_column``) from ``against``."""

    kind: Literal["setback"]
    distance: SetbackDistance
    class_column: Name = None


class SpacingRule(_Rule):
    """Sites of the layer at least ``min_distance`` metres apart."""

    kind: Literal["spacing"]
    min_distance: Metres
    keep: Keep = "first"


class AccessRule(_Against):
    """Sites within ``max_distance`` metres of an ``against`` feature, in a straight line or by road."""

    kind: Literal["access"]
    max_distance: Metres
    by: _choice("straight", "road") = "straight"
    network: Name = "roads"


class AreaRule(_Rule):
    """Sites of an area (or a ``column`` value) from ``min_area`` to ``max_area`` in ``unit``."""

    kind: Literal["area"]
    min_area: Amount = None
    max_area: Amount = None
    column: Name = None
    unit: _choice(*AREA_UNITS) = "m2"


class SlopeRule(_Rule):
    """Sites whose mean (or max) slope on the raster ``dem`` is at most ``max_slope``."""

    kind: Literal["slope"]
    max_slope: Amount
    dem: Name = "dem"
    stat: _choice("mean", "max") = "mean"
    unit: _choice("percent", "degree") = "percent"


class OverlapRule(_Rule):
    """Sites sharing at most ``max_area`` m² (or ``max_share`` %) with larger sites of the layer."""

    kind: Literal["overlap"]
    max_area: Amount = None
    max_share: Percent = None
    keep: Keep = "larger"


_RULE_MODELS = (WithinRule, ExclusionRule, SetbackRule, SpacingRule, AccessRule, AreaRule, SlopeRule, OverlapRule)
RuleModel = Annotated[WithinRule | ExclusionRule | SetbackRule | SpacingRule | AccessRule | AreaRule | SlopeRule
                      | OverlapRule, Field(discriminator="kind")]
#: Validates one ``[[rules]]`` table, choosing the model by ``kind``.
RULE: TypeAdapter[Any] = TypeAdapter(RuleModel)
#: The keys each kind of rule takes.
RULE_KEYS: dict[str, frozenset[str]] = {get_args(m.model_fields["kind"].annotation)[0]: frozenset(m.model_fields)
                                        for m in _RULE_MODELS}
#: The keys every kind of rule takes.
COMMON_RULE_KEYS = frozenset(_Rule.model_fields)


# --------------------------------------------------------------------------------------------------------------
# [[coverage]], [[suitability]] (with its criteria), [[siting]]
# --------------------------------------------------------------------------------------------------------------

Split = _choice("none", "grid", "length", doc="'none' (whole sites), 'grid' (zones in cells), 'length' (lines in "
                                              "pieces)")


class CoverageModel(_Described):
    """A ``[[coverage]]`` table: the share of ``demand`` within ``distance`` of ``facilities``."""

    demand: Text
    facilities: Text
    distance: PositiveMetres
    mode: _choice("network", "straight") = "network"
    network: Name = "roads"
    weight: Name = "count"
    split: Split = "none"
    cell: Cell = 100.0
    op: _choice(*OPERATORS) = ">="
    threshold: Percent = 100.0
    unit: Text = "%"
    demand_where: Filter = {}
    facilities_where: Filter = {}
    year_column: Text = "year"
    demand_year_column: Text = None
    facilities_year_column: Text = None
    years: _choice(*YEAR_MODES) = "cumulative"
    max_snap: Metres = None
    direction: _choice("to", "from") = "to"


class _Criterion(_Table):
    title: Text = ""


class _Scored(_Criterion):
    weight: _num(low=0, low_open=True, what="a weight")
    best: _num()
    worst: _num()

    @model_validator(mode="after")
    def _best_is_not_worst(self) -> Any:
        if self.best == self.worst:
            raise PydanticCustomError("nbgeo_value", "{problem}",
                                      {"problem": f"best and worst must differ, both are {self.best:g}", "code": ""})
        return self


class SlopeCriterion(_Scored):
    """Scores cells by the slope of ``raster`` (default ``dem``) between ``best`` and ``worst``."""

    kind: Literal["slope"]
    raster: Name = "dem"
    unit: _choice("percent", "degree") = "percent"


class DistanceCriterion(_Scored):
    """Scores cells by their distance to ``layer`` (straight, or by road on ``network``)."""

    kind: Literal["distance"]
    layer: Name = None
    where: Filter = {}
    network: Name = None

    @model_validator(mode="after")
    def _layer_or_network(self) -> Any:
        if (self.layer is None) == (self.network is None):
            raise PydanticCustomError("nbgeo_value", "{problem}",
                                      {"problem": "needs a layer or a network (one of them)", "code": ""})
        return self


class RasterCriterion(_Scored):
    """Scores cells by the values of band ``band`` of ``raster``."""

    kind: Literal["raster"]
    raster: Name
    band: _num(low=1, high=65535, integer=True, what="a band number") = 1


class ExcludeCriterion(_Criterion):
    """Removes cells within ``buffer`` metres of ``layer``."""

    kind: Literal["exclude"]
    layer: Name
    where: Filter = {}
    buffer: Metres = 0.0


class WithinCriterion(_Criterion):
    """Keeps only cells inside ``layer``."""

    kind: Literal["within"]
    layer: Name
    where: Filter = {}


_CRITERION_MODELS = (SlopeCriterion, DistanceCriterion, RasterCriterion, ExcludeCriterion, WithinCriterion)
CriterionModel = Annotated[SlopeCriterion | DistanceCriterion | RasterCriterion | ExcludeCriterion | WithinCriterion,
                           Field(discriminator="kind")]
#: Validates one ``[[suitability.criteria]]`` table, choosing the model by ``kind``.
CRITERION: TypeAdapter[Any] = TypeAdapter(CriterionModel)
#: The keys each kind of criterion takes.
CRITERION_KEYS: dict[str, frozenset[str]] = {
    get_args(m.model_fields["kind"].annotation)[0]: frozenset(m.model_fields) for m in _CRITERION_MODELS}


class SuitabilityModel(_Described):
    """A ``[[suitability]]`` table: a weighted surface of ``criteria`` for the sites of ``layer``."""

    layer: Text
    criteria: list[CriterionModel] = Field(min_length=1)
    cell: Cell = 100.0
    min_score: Score = 0.5
    min_area: Amount = 0.0
    area: Name = None
    source: Text = ""
    note: Text = ""


class SitingModel(_Described):
    """A ``[[siting]]`` table: where new facilities serve the most (``k``) or all (``share``) demand."""

    coverage: Name = Field(default=None, description="id of a [[coverage]] requirement it takes keys from")
    demand: Text = None
    facilities: Text = None
    distance: PositiveMetres = None
    by: _choice("road", "straight", "network") = None
    network: Name = "roads"
    k: _num(low=0, high=100_000, integer=True, what="a number of sites") = None
    share: _num(low=0, low_open=True, high=1, what="a share") = None
    required: Percent = None
    candidates: Name = None
    cell: Cell = 250.0
    min_score: Score = None
    min_area: Amount = None
    demand_where: Filter = {}
    facilities_where: Filter = {}
    weight: Name = "count"
    split: Split = None
    split_cell: Cell = None
    year_column: Text = "year"
    demand_year_column: Text = None
    facilities_year_column: Text = None
    capacity: Capacity = None
    existing_capacity: Capacity = None
    method: _choice("greedy", "milp", "auto") = "auto"
    time_limit: _num(low=0, low_open=True, high=86_400, what="a number of seconds") = None
    allow_unknown: Flag = False
    source: Text = ""
    note: Text = ""


#: The model of each item of each table.
TABLES: dict[str, Any] = {"plan": PlanHeader, "targets": TargetModel, "indicators": IndicatorModel, "rules": RULE,
                          "coverage": CoverageModel, "suitability": SuitabilityModel, "siting": SitingModel}


class PlanFileModel(_Table):
    """A whole plan file, as editors see it (:func:`plan_json_schema`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, title="nbgeo plan")

    plan: PlanHeader
    targets: list[TargetModel] = []
    indicators: list[IndicatorModel] = []
    rules: list[RuleModel] = []
    coverage: list[CoverageModel] = []
    suitability: list[SuitabilityModel] = []
    siting: list[SitingModel] = []


def plan_json_schema() -> str:
    """The JSON Schema of a plan file, as text (what ``nbgeo schema plan`` prints and the package ships).

    Examples
    --------
    >>> schema = json.loads(plan_json_schema())
    >>> schema["title"], sorted(schema["properties"])[:3]
    ('nbgeo plan', ['coverage', 'indicators', 'plan'])
    >>> schema["$defs"]["SpacingRule"]["properties"]["min_distance"]["maximum"]
    1000000.0
    """
    schema = PlanFileModel.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


# --------------------------------------------------------------------------------------------------------------
# Validation: every problem of one table, as plain data
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem of one table of a plan: the key (None for the table), what is wrong, a hint, a code.

    ``criterion`` is the 0-based index of the ``[[suitability.criteria]]`` table it is in, if any.
    """

    key: str | None
    message: str
    hint: str = ""
    code: str = "E-PLAN-KEY"
    criterion: int | None = None


def suggest(word: object, options: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the closest of ``options``, or ``""``.

    Examples
    --------
    >>> suggest("distnace", ["distance", "against"]), suggest("zzz", ["distance"])
    ("did you mean 'distance'?", '')
    """
    close = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _fields(model: Any) -> frozenset[str]:
    return frozenset(model.model_fields)


def _known_keys(table: str, data: Mapping[str, Any], criterion: Mapping[str, Any] | None) -> frozenset[str]:
    if criterion is not None:
        return CRITERION_KEYS.get(str(criterion.get("kind")), frozenset().union(*CRITERION_KEYS.values()))
    if table == "rules":
        return RULE_KEYS.get(str(data.get("kind")), frozenset().union(*RULE_KEYS.values()))
    return _fields(TABLES[table])


def _unknown_key(key: str, known: frozenset[str], family: Mapping[str, frozenset[str]] | None,
                 kind: object) -> tuple[str, str]:
    """The message and hint for a key the table does not take (for a kind: what the other kinds take)."""
    hint = suggest(key, known)
    family = family or {}
    if kind not in family:
        return "unknown key", hint or f"known keys: {', '.join(sorted(known))}"
    takes = f"kind {kind!r} takes: {', '.join(sorted(known))}"
    owners = sorted(k for k, keys in family.items() if key in keys)
    if owners:
        return f"unknown key for kind {kind!r} (a key of {', '.join(owners)})", hint or takes
    if not hint:
        other = suggest(key, frozenset().union(*family.values()))
        if other:
            meant = other.removeprefix("did you mean ").removesuffix("?").strip("'")
            kinds = ", ".join(sorted(k for k, keys in family.items() if meant in keys))
            hint = f"{other} (a key of {kinds}; {takes})"
    return f"unknown key for kind {kind!r}", hint or takes


def issues(table: str, data: Any) -> list[Issue]:
    """Every problem of one item of a plan's ``table`` (``"plan"``, ``"targets"``, ``"rules"``, ...).

    Examples
    --------
    >>> for i in issues("rules", {"id": "r", "layer": "p", "kind": "exclusion", "against": "c", "distnace": 5}):
    ...     print(i.key, "|", i.message, "|", i.hint)
    distnace | unknown key for kind 'exclusion' | did you mean 'distance'? (a key of setback; kind 'exclusion' takes: against, ...)
    >>> [i.message for i in issues("rules", {"id": "r", "layer": "p", "kind": "exclsion"})]
    ["must be one of within, exclusion, setback, spacing, access, area, slope, overlap, got 'exclsion'"]
    """
    if not isinstance(data, Mapping):
        return [Issue(None, f"must be a table, got {type_name(data)}")]
    try:
        validated = TABLES[table].validate_python(dict(data)) if table == "rules" else \
            TABLES[table].model_validate(dict(data))
    except ValidationError as exc:
        found = [_issue(table, data, error) for error in exc.errors(include_url=False)]
        # A misspelt key comes first, and stands for the missing key it was meant to be.
        meant = {i.hint for i in found if i.message.startswith("unknown key")}
        found = [i for i in found if not (i.message.startswith("missing key")
                                          and f"did you mean {i.message.removeprefix('missing key ')}?" in meant)]
        return sorted(found, key=lambda i: not i.message.startswith("unknown key"))
    if table == "targets":
        return [Issue(key, msg) for key, msg in target_problems(validated.model_dump())]
    return []


def _issue(table: str, data: Mapping[str, Any], error: Any) -> Issue:
    """An :class:`Issue` from one pydantic error, its location stripped of union tags."""
    loc = list(error["loc"])
    criterion: int | None = None
    sub: Mapping[str, Any] | None = None
    if table == "suitability" and len(loc) >= 2 and loc[0] == "criteria" and isinstance(loc[1], int):
        criterion = loc[1]
        raw = data.get("criteria")
        sub = raw[criterion] if isinstance(raw, list) and isinstance(raw[criterion], Mapping) else {}
        loc = loc[2:]
        if loc and loc[0] == sub.get("kind"):
            loc = loc[1:]
    elif table == "rules" and loc and loc[0] == data.get("kind"):
        loc = loc[1:]
    owner = sub if sub is not None else data
    key = str(loc[0]) if loc else None
    kind_of = sub.get("kind") if sub is not None else data.get("kind")
    family = CRITERION_KEYS if sub is not None else RULE_KEYS if table == "rules" else None
    kinds = CRITERION_KINDS if sub is not None else RULE_KINDS
    etype = error["type"]
    if key == "basis" and len(loc) > 1:  # a key of the basis table: named as basis.KEY, on the basis line
        sub_key = str(loc[1])
        if etype == "extra_forbidden":
            known = _fields(Basis)
            return Issue("basis", f"unknown key {sub_key!r} of basis",
                         suggest(sub_key, known) or f"basis takes: {', '.join(sorted(known))}", criterion=criterion)
        if etype == "missing":
            return Issue("basis", f"basis needs {sub_key!r}", "basis = { instrument = \"...\", kind = \"law\" }",
                         criterion=criterion)
        ctx = error.get("ctx") or {}
        message = str(ctx["problem"]) if etype == "nbgeo_value" else str(error["msg"])
        return Issue("basis", f"basis.{sub_key}: {message}", str(ctx.get("hint") or ""), criterion=criterion)
    if key == "basis" and etype == "model_type":
        return Issue("basis", f"must be a table, got {type_name(error.get('input'))}",
                     "basis = { instrument = \"...\", kind = \"law\", article = \"...\" }", criterion=criterion)
    if etype == "extra_forbidden" and key is not None:
        msg, hint = _unknown_key(key, _known_keys(table, data, sub), family, kind_of)
        return Issue(key, msg, hint, criterion=criterion)
    if etype == "missing" and key is not None:
        return Issue(None, f"missing key {key!r}", criterion=criterion)
    if etype == "union_tag_not_found":
        return Issue(None, "missing key 'kind'", f"kind is one of {', '.join(kinds)}", criterion=criterion)
    if etype == "union_tag_invalid":
        got = owner.get("kind")
        return Issue("kind", f"must be one of {', '.join(kinds)}, got {got!r}", suggest(got, kinds),
                     code="E-PLAN-KEY", criterion=criterion)
    ctx = error.get("ctx") or {}
    if etype == "nbgeo_value":
        return Issue(key or ctx.get("key"), str(ctx["problem"]), str(ctx.get("hint") or ""),
                     code=str(ctx.get("code") or "E-PLAN-KEY"), criterion=criterion)
    return Issue(key, str(error["msg"]), criterion=criterion)
