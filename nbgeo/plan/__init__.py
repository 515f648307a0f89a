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
    phrase = "全市充换电设施数量突破1万个"
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
table (:mod:`nbgeo.indicators`). An indicator's ``years`` follows the plan's own words:
``"horizon"`` (到2025年: the value in the evaluation year, the default), ``"cumulative"``
(累计, 新增 over the plan period: the yearly values after the baseline, added up) or
``"each_year"`` (每年: every year's value on its own).

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

from ..filters import YEAR_MODES
from .check import check_against
from .models import INDICATOR_YEARS, plan_json_schema
from .reader import PlanProblem, plan_from_dict, read_plan
from .specs import (
    AREA_UNITS,
    METRICS,
    OPERATORS,
    SEVERITIES,
    CoverageSpec,
    IndicatorSpec,
    Plan,
    RuleSpec,
    SitingSpec,
    SuitabilitySpec,
    Target,
    basis_of,
    counts,
    margin_of,
    meets,
    short_basis,
)

__all__ = [
    "AREA_UNITS",
    "INDICATOR_YEARS",
    "METRICS",
    "OPERATORS",
    "SEVERITIES",
    "YEAR_MODES",
    "CoverageSpec",
    "IndicatorSpec",
    "Plan",
    "PlanProblem",
    "RuleSpec",
    "SitingSpec",
    "SuitabilitySpec",
    "Target",
    "basis_of",
    "check_against",
    "counts",
    "margin_of",
    "meets",
    "plan_from_dict",
    "plan_json_schema",
    "read_plan",
    "short_basis",
]
