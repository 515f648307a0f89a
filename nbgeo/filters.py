"""Which features a plan means: the filter dialect and the year rule, each defined once.

Every part of nbgeo that selects features for a plan goes through this module: targets (and so
progress and scenario comparison), both engines, siting rules, coverage, siting optimisation and
suitability criteria.

Filters
-------
A filter is a TOML table ``{column = condition, ...}``; a feature matches when every condition
holds. The same dialect is read wherever a plan filters a layer: ``where`` (targets, rules,
suitability criteria), ``numerator`` (share targets), ``against_where`` (rules),
``demand_where`` and ``facilities_where`` (coverage and siting), see :data:`FILTER_KEYS`.

=====================================  ==============================================================
``status = "built"``                   equal to the value (text, number, or true/false)
``status = ["built", "upgraded"]``     equal to one of the values
``status = { "!=" = "planned" }``      present and different from the value (or from every value of
                                       a list)
``year = { ">=" = 2021 }``             a number compared with ``>=``, ``>``, ``<=`` or ``<``
``year = { ">=" = 2021, "<" = 2024 }`` several operators on one column: all must hold
``lead = { contains = "绿色石化" }``    a list written as text, items separated by ``;`` (or ``；``),
                                       has the item (or one of a list of items)
=====================================  ==============================================================

A missing value (empty cell, NULL) matches no condition, not even ``!=``. Values are typed by the
column they meet: a text column compared with a number reads its text as numbers (``"2021"``
matches ``2021``; text that is not a number never matches); a numeric column compared with text,
``contains`` on a column that is not text, or a comparison on a true/false or date column is an
error. Every error is a :class:`~nbgeo.errors.FilterError` (bad input: the CLI exits 2) that names
the plan key, and the column and layer where it applies, with a hint. The plan reader checks each
filter's form (:func:`check_filter`); its columns are checked against the dataset before any work
starts (:func:`check_plan_filters`, which :func:`nbgeo.audit.run_audit` and the CLI call).

Years
-----
A feature's year is the year it exists from, in its layer's year column (``year_column``, default
``"year"``; coverage and siting may name one per side with ``demand_year_column`` and
``facilities_year_column``). In an evaluation year *Y* (:func:`year_mask`):

``cumulative`` (targets by default; coverage and siting always)
    features whose year is at most *Y* (and at least ``since``, if given);
``each_year`` (targets)
    features whose year is *Y*.

A feature with no year (empty, or text that is not a number) is in no year. ``year_column = ""``
says the layer has no years: every feature counts in every year (zones, boundaries, snapshots).
A layer that lacks the year column the plan names cannot say what existed in *Y*: the value is
``unknown``, with the reason, in targets, coverage and progress, and siting stops with the same
reason (a :class:`~nbgeo.errors.MissingDataError`); nothing falls back to counting every feature.
Siting rules in an evaluation year judge the sites that exist that year (``cumulative``, on the
``year`` column of each of their layers that has one) and count later ones apart (:mod:`nbgeo.rules.years`).

Examples
--------
>>> import geopandas as gpd
>>> g = gpd.GeoDataFrame({"status": ["built", "planned", None], "year": [2020, 2023, 2026],
...                       "lead": ["绿色石化;新材料", "高端装备", "新材料"]})
>>> filter_mask(g, {"status": {"!=": "planned"}}).tolist()
[True, False, False]
>>> filter_mask(g, {"lead": {"contains": "新材料"}, "year": {">=": 2021}}).tolist()
[False, False, True]
>>> year_mask(g, 2025).tolist()
[True, True, False]
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import FilterError, MissingDataError, Problem

if TYPE_CHECKING:
    from .layers import Dataset
    from .plan import Plan

__all__ = [
    "COMPARISONS",
    "FILTER_KEYS",
    "OPERATORS",
    "YEAR_MODES",
    "FilterUse",
    "as_numbers",
    "check_filter",
    "check_plan_filters",
    "filter_mask",
    "missing_year",
    "plan_filters",
    "year_mask",
]

#: The plan keys whose value is a filter, wherever they appear.
FILTER_KEYS = ("where", "numerator", "against_where", "demand_where", "facilities_where")

#: The numeric comparisons.
COMPARISONS = (">=", ">", "<=", "<")

#: Every operator of the filter dialect.
OPERATORS = ("==", "!=", *COMPARISONS, "contains")

#: How an evaluation year selects features (see the module docstring).
YEAR_MODES = ("cumulative", "each_year")

_SEPARATORS = ";；"


# --------------------------------------------------------------------------------------------------------------
# The form of a filter (no data needed)
# --------------------------------------------------------------------------------------------------------------


def _kind_of_value(value: Any) -> str | None:
    """``"bool"``, ``"number"`` or ``"text"`` for a scalar a filter may hold, else None."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number" if math.isfinite(value) else None
    if isinstance(value, str):
        return "text"
    return None


def _fail(key: str, msg: str, hint: str = "", *, code: str = "E-FILTER-VALUE", column: str | None = None,
          layer: str | None = None) -> FilterError:
    text = f"{key}: {msg}" if key else msg
    if hint:
        text += f" (hint: {hint})"
    return FilterError(text, code=code, problems=(Problem(code, msg, layer=layer, column=column, hint=hint or None),))


def _scalars(key: str, column: str, value: Any, op: str) -> tuple[Any, ...]:
    """The values of an equality (``==``, ``!=``) condition, as a tuple of scalars of one kind."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not values:
        raise _fail(key, f"column {column!r}: an empty list matches nothing", "list at least one value",
                    column=column)
    kinds = {_kind_of_value(v) for v in values}
    if None in kinds:
        bad = next(v for v in values if _kind_of_value(v) is None)
        raise _fail(key, f"column {column!r}: {op} takes text, numbers or true/false, got {bad!r}",
                    "dates and tables cannot be compared; filter a year column with a number", column=column)
    if len(kinds) > 1:
        mixed = " and ".join(sorted(k for k in kinds if k))
        raise _fail(key, f"column {column!r}: the values {list(values)!r} mix {mixed}",
                    "write every value the same way, e.g. all in quotes or none", column=column)
    return values


# What people write for the dialect's operators (SQL, pandas, other tools).
_ALIASES = {"=": "'=='", "<>": "'!='", "ne": "'!='", "eq": "'=='", "in": "a list of values", "isin": "a list of values",
            "not in": "'!=' with a list", "like": "'contains'", "has": "'contains'", "includes": "'contains'"}


def _suggest_operator(op: str) -> str | None:
    """The operator most likely meant: the same characters in another order, a known alias, or a close spelling."""
    same = [o for o in OPERATORS if sorted(o) == sorted(op)]
    if same:
        return repr(same[0])
    if op.strip().lower() in _ALIASES:
        return _ALIASES[op.strip().lower()]
    near = difflib.get_close_matches(op, OPERATORS, n=1)
    return repr(near[0]) if near else None


def _conditions(where: Any, key: str) -> list[tuple[str, str, Any]]:
    """A filter as ``(column, operator, operand)`` conditions; raises FilterError if it is malformed."""
    if where is None:
        return []
    if not isinstance(where, Mapping):
        raise _fail(key, f"a filter is a table {{column = value}}, got {where!r}",
                    'e.g. where = { status = ["built", "upgraded"] }', code="E-FILTER-FORM")
    out: list[tuple[str, str, Any]] = []
    for column, condition in where.items():
        if not isinstance(column, str) or not column:
            raise _fail(key, f"column names are text, got {column!r}", code="E-FILTER-FORM")
        if not isinstance(condition, Mapping):
            out.append((column, "==", _scalars(key, column, condition, "==")))
            continue
        if not condition:
            raise _fail(key, f"column {column!r}: an empty operator table", 'e.g. { ">=" = 2021 }',
                        code="E-FILTER-FORM", column=column)
        for op, given in condition.items():
            if op not in OPERATORS:
                near = _suggest_operator(str(op))
                hint = f"did you mean {near}? " if near else ""
                raise _fail(key, f"column {column!r}: unknown operator {op!r}",
                            hint + f"operators: {', '.join(OPERATORS)}", code="E-FILTER-OPERATOR", column=column)
            operand: Any = given
            if op in COMPARISONS:
                if _kind_of_value(given) != "number":
                    raise _fail(key, f"column {column!r}: {op} compares numbers, got {given!r}",
                                f'e.g. {{ "{op}" = 2021 }}', column=column)
            elif op == "contains":
                items = tuple(given) if isinstance(given, (list, tuple)) else (given,)
                if not items or not all(isinstance(i, str) and i.strip() for i in items):
                    raise _fail(key, f"column {column!r}: contains takes text (or a list of texts), got {given!r}",
                                'e.g. { contains = "绿色石化" }', column=column)
                operand = tuple(i.strip() for i in items)
            else:
                operand = _scalars(key, column, given, op)
            out.append((column, str(op), operand))
    return out


def check_filter(where: Any, *, key: str = "") -> None:
    """Check a filter's form: a table of columns, known operators, values of the right type.

    No data is needed; the plan reader calls it for every filter (:data:`FILTER_KEYS`).

    Parameters
    ----------
    where
        The filter, as read from the plan (None or an empty table: no filter).
    key
        The plan key it came from, for the message (e.g. ``"target 'parks', key 'where'"``).

    Raises
    ------
    FilterError
        Naming the key, the column and what is wrong, with a hint.

    Examples
    --------
    >>> check_filter({"status": ["built", "upgraded"], "year": {">=": 2021}})
    >>> check_filter({"year": {"=>": 2021}}, key="target 'parks', key 'where'")
    Traceback (most recent call last):
    ...
    nbgeo.errors.FilterError: target 'parks', key 'where': column 'year': unknown operator '=>' (hint: did you mean '>='? operators: ==, !=, >=, >, <=, <, contains)
    >>> check_filter({"lead": {"contains": 5}})
    Traceback (most recent call last):
    ...
    nbgeo.errors.FilterError: column 'lead': contains takes text (or a list of texts), got 5 (hint: e.g. { contains = "绿色石化" })
    """
    _conditions(where, key)


# --------------------------------------------------------------------------------------------------------------
# Filters on data
# --------------------------------------------------------------------------------------------------------------


def _column_kind(values: pd.Series) -> str:
    """What a column holds, by its dtype (the same for every slice of a layer): bool, number, time, geometry, text."""
    dtype = values.dtype
    if str(dtype) == "geometry":
        return "geometry"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "time"
    return "text"


def as_numbers(values: pd.Series) -> np.ndarray:
    """A column read as float64; missing values and text that is not a number become NaN.

    How filters, years and target columns read numbers, whatever the column's dtype.

    Examples
    --------
    >>> as_numbers(pd.Series(["2021", None, "n/a", 7])).tolist()
    [2021.0, nan, nan, 7.0]
    """
    if _column_kind(values) in ("number", "bool"):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    # Text columns may hold anything (numbers, None, nested values): read each as its text.
    text = values.astype(object).where(values.notna(), None).astype(str)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _equal(values: pd.Series, wanted: tuple[Any, ...], kind: str) -> np.ndarray:
    """Rows equal to one of ``wanted`` (missing values never are)."""
    hit = values.isin(wanted).to_numpy(dtype=bool)
    if kind == "text" and _kind_of_value(wanted[0]) == "number":
        hit = hit | np.isin(as_numbers(values), np.asarray(wanted, dtype=np.float64))
    return hit & values.notna().to_numpy(dtype=bool)


def _contains(values: pd.Series, items: tuple[str, ...]) -> np.ndarray:
    """Rows whose ``;``-separated text has one of ``items`` (items compared without surrounding spaces)."""
    sep = re.escape(_SEPARATORS)
    alternatives = "|".join(re.escape(i) for i in items)
    pattern = rf"(?:^|[{sep}])\s*(?:{alternatives})\s*(?:[{sep}]|$)"
    text = values.astype(object).where(values.notna(), "").astype(str)
    return text.str.contains(pattern, regex=True).to_numpy(dtype=bool, na_value=False)


def _check_column(gdf: pd.DataFrame, column: str, op: str, operand: Any, *, layer: str, key: str) -> str:
    """The column's kind, after checking that it exists and fits the condition."""
    if column not in gdf.columns:
        names = [str(c) for c in gdf.columns if c != getattr(gdf, "_geometry_column_name", None)]
        near = difflib.get_close_matches(column, names, n=1)
        hint = (f"did you mean {near[0]!r}? " if near else "") + f"columns: {', '.join(names[:12]) or '(none)'}"
        raise _fail(key, f"layer {layer!r} has no column {column!r}", hint, code="E-FILTER-COLUMN", column=column,
                    layer=layer)
    kind = _column_kind(gdf[column])
    where = f"layer {layer!r}, column {column!r}"
    if kind == "geometry":
        raise _fail(key, f"{where} is the geometry; filters compare attributes", code="E-FILTER-TYPE",
                    column=column, layer=layer)
    if op == "contains" and kind != "text":
        raise _fail(key, f"{where} holds {kind} values; contains looks for an item in text",
                    'use = or a comparison, e.g. { ">=" = 2021 }', code="E-FILTER-TYPE", column=column, layer=layer)
    if op in COMPARISONS and kind not in ("number", "text"):
        raise _fail(key, f"{where} holds {kind} values; {op} compares numbers", code="E-FILTER-TYPE",
                    column=column, layer=layer)
    if op in ("==", "!="):
        given = _kind_of_value(operand[0])
        fits = {"number": ("number",), "bool": ("bool",), "text": ("text", "number", "bool"), "time": ()}[kind]
        if given not in fits:
            hint = {"number": "write the number without quotes", "bool": "write true or false without quotes",
                    "time": "filter a year column with a number instead"}[kind]
            raise _fail(key, f"{where} holds {kind} values, the filter gives {operand[0]!r}", hint,
                        code="E-FILTER-TYPE", column=column, layer=layer)
    return kind


def filter_mask(gdf: pd.DataFrame, where: Mapping[str, Any] | None, *, layer: str = "",
                key: str = "") -> pd.Series:
    """Boolean mask of the rows matching a filter (see the module docstring for the dialect).

    Vectorised over the rows. The checks depend on the layer's columns and
    their dtypes only, so every slice of a layer (an engine's partition, no
    rows at all) raises exactly when the whole layer does.

    Parameters
    ----------
    gdf
        The layer (any DataFrame).
    where
        The filter; None or an empty table keeps every row.
    layer, key
        The layer's name and the plan key of the filter, for messages.

    Returns
    -------
    pandas.Series
        Booleans aligned to ``gdf``'s index.

    Raises
    ------
    FilterError
        A malformed filter, a column the layer lacks, a value of the wrong type for its column.

    Examples
    --------
    >>> import geopandas as gpd
    >>> g = gpd.GeoDataFrame({"status": ["built", "planned", "upgraded"], "year": ["2020", "2022", "n/a"]})
    >>> filter_mask(g, {"status": ("built", "upgraded")}).tolist()
    [True, False, True]
    >>> filter_mask(g, {"year": 2022}).tolist(), filter_mask(g, {"year": {"<": 2022}}).tolist()
    ([False, True, False], [True, False, False])
    >>> filter_mask(g, {"stauts": "built"}, layer="micro_parks", key="coverage 'c', key 'demand_where'")
    Traceback (most recent call last):
    ...
    nbgeo.errors.FilterError: coverage 'c', key 'demand_where': layer 'micro_parks' has no column 'stauts' (hint: did you mean 'status'? columns: status, year)
    """
    conditions = _conditions(where, key)
    mask = np.ones(len(gdf), dtype=bool)
    for column, op, operand in conditions:
        kind = _check_column(gdf, column, op, operand, layer=layer, key=key)
        values = gdf[column]
        if op == "==":
            mask &= _equal(values, operand, kind)
        elif op == "!=":
            mask &= ~_equal(values, operand, kind) & values.notna().to_numpy(dtype=bool)
        elif op == "contains":
            mask &= _contains(values, operand)
        else:
            numbers = as_numbers(values)
            with np.errstate(invalid="ignore"):
                mask &= {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal,
                         "<": np.less}[op](numbers, float(operand))
    return pd.Series(mask, index=gdf.index)


# --------------------------------------------------------------------------------------------------------------
# Years
# --------------------------------------------------------------------------------------------------------------


def missing_year(layer: str, column: str, *, key: str = "year_column") -> MissingDataError:
    """The error for a layer without the year column the plan names (see "Years" above).

    Examples
    --------
    >>> print(missing_year("clusters", "year"))
    layer 'clusters' has no year column 'year', so what existed in a given year is unknown (hint: name the column that holds each feature's year with year_column, or set year_column = "" if every feature counts in every year)
    """
    msg = (f"layer {layer!r} has no year column {column!r}, so what existed in a given year is unknown "
           f"(hint: name the column that holds each feature's year with {key}, or set {key} = \"\" if every "
           f"feature counts in every year)")
    return MissingDataError(msg, code="E-DATA-YEAR", problems=(
        Problem("E-DATA-YEAR", "no year column", layer=layer, column=column),))


def year_mask(gdf: pd.DataFrame, year: int | None, *, column: str = "year", mode: str = "cumulative",
              since: int | None = None, layer: str = "", key: str = "year_column") -> pd.Series:
    """Boolean mask of the features that count in ``year`` (see "Years" in the module docstring).

    Parameters
    ----------
    gdf
        The layer.
    year
        The evaluation year; None keeps every feature.
    column
        The layer's year column; ``""`` when the layer has no years (every feature counts).
    mode
        ``"cumulative"`` (year at most ``year``) or ``"each_year"`` (year equal to ``year``).
    since
        With ``cumulative``: also at least this year.
    layer, key
        The layer's name and the plan key naming the column, for messages.

    Returns
    -------
    pandas.Series
        True for the features that count in ``year``, on ``gdf``'s index.

    Raises
    ------
    MissingDataError
        When the layer lacks ``column`` (a year is asked for and ``column`` is not ``""``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> g = gpd.GeoDataFrame({"year": [2020, 2022, None, 2026]})
    >>> year_mask(g, 2022).tolist(), year_mask(g, 2022, mode="each_year").tolist()
    ([True, True, False, False], [False, True, False, False])
    >>> year_mask(g, 2022, column="").tolist()
    [True, True, True, True]
    >>> year_mask(g, 2022, column="opened", layer="parks")
    Traceback (most recent call last):
    ...
    nbgeo.errors.MissingDataError: layer 'parks' has no year column 'opened', so what existed in a given year is unknown (hint: name the column that holds each feature's year with year_column, or set year_column = "" if every feature counts in every year)
    """
    if mode not in YEAR_MODES:
        msg = f"years must be one of {', '.join(YEAR_MODES)}, got {mode!r}"
        raise FilterError(msg, code="E-FILTER-YEARS")
    if year is None or not column:
        return pd.Series(True, index=gdf.index)
    if column not in gdf.columns:
        raise missing_year(layer, column, key=key)
    years = as_numbers(gdf[column])
    with np.errstate(invalid="ignore"):
        if mode == "each_year":
            mask = years == year
        else:
            mask = years <= year
            if since is not None:
                mask &= years >= since
    return pd.Series(mask, index=gdf.index)


# --------------------------------------------------------------------------------------------------------------
# Every filter of a plan, checked against a dataset
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterUse:
    """One filter of a plan: who holds it, under which key, and the layer it filters."""

    owner: str
    key: str
    layer: str
    where: Mapping[str, Any]

    @property
    def label(self) -> str:
        """The plan key, as messages name it: ``"target 'parks', key 'where'"``."""
        return f"{self.owner}, key {self.key!r}"


def plan_filters(plan: Plan) -> list[FilterUse]:
    """Every filter of a plan with the layer it applies to.

    Targets, rules (``where`` on the rule's layer, ``against_where`` on the
    layer it is checked against), coverage and siting (``demand_where``,
    ``facilities_where``; a siting question takes its layers from the
    coverage requirement it names unless it gives its own) and suitability
    criteria.

    Examples
    --------
    >>> from nbgeo import datasets, plan
    >>> uses = plan_filters(plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> [u.label for u in uses][:2]
    ["target 'micro_parks', key 'where'", "target 'industrial_land_share', key 'numerator'"]
    """
    out: list[FilterUse] = []

    def add(owner: str, key: str, layer: Any, where: Any) -> None:
        if where and layer:
            out.append(FilterUse(owner, key, str(layer), where))

    for t in plan.targets:
        add(f"target {t.id!r}", "where", t.layer, t.where)
        add(f"target {t.id!r}", "numerator", t.layer, t.numerator)
    for r in plan.rules:
        add(f"rule {r.id!r}", "where", r.layer, r.params.get("where"))
        add(f"rule {r.id!r}", "against_where", r.params.get("against"), r.params.get("against_where"))
    by_id = {c.id: c for c in plan.coverage}
    for c in plan.coverage:
        add(f"coverage {c.id!r}", "demand_where", c.demand, c.params.get("demand_where"))
        add(f"coverage {c.id!r}", "facilities_where", c.facilities, c.params.get("facilities_where"))
    for s in plan.siting:
        p = s.params
        cov = by_id.get(str(p.get("coverage")))
        demand = p.get("demand") or (cov.demand if cov else None)
        facilities = p.get("facilities") or (cov.facilities if cov else None)
        demand_where = p.get("demand_where") or (cov.params.get("demand_where") if cov else None)
        facilities_where = p.get("facilities_where") or (cov.params.get("facilities_where") if cov else None)
        add(f"siting {s.id!r}", "demand_where", demand, demand_where)
        add(f"siting {s.id!r}", "facilities_where", facilities, facilities_where)
    for su in plan.suitability:
        for i, c in enumerate(su.params.get("criteria", ()) or (), 1):
            if isinstance(c, Mapping):
                add(f"suitability {su.id!r}, criterion #{i}", "where", c.get("layer"), c.get("where"))
    return out


def check_plan_filters(plan: Plan, dataset: Dataset) -> None:
    """Check every filter of the plan against the dataset's layers, before any work starts.

    Filters on layers the dataset lacks are left to the step that reads the
    layer (it reports the missing layer).

    Raises
    ------
    FilterError
        Listing every filter that does not fit its layer (the first one's code).

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> check_plan_filters(p, io.read_sample())
    """
    errors: list[FilterError] = []
    for use in plan_filters(plan):
        if use.layer not in dataset:
            continue
        try:
            filter_mask(dataset[use.layer].iloc[:0], use.where, layer=use.layer, key=use.label)
        except FilterError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        lines = [f"{len(errors)} filters of plan {plan.id!r} do not fit the dataset:"]
        lines += [f"  - {e.message}" for e in errors]
        raise FilterError("\n".join(lines), code=errors[0].code,
                          problems=tuple(p for e in errors for p in e.problems))
