"""The plan's non-spatial targets: a small yearly table beside the layers.

A plan states more than spatial targets: an R&D share of 2.8 %, 8,000
high-tech firms, 100 single-champion firms, 1,000 green factories. Their
yearly values live in a CSV file beside the layers, declared in the
dataset's manifest::

    [tables.indicators]
    file = "indicators.csv"
    source = "Ningbo statistical yearbook, table 12-3"
    licence = "..."
    illustrative = false
    note = "..."
    encoding = "utf-8"       # optional; e.g. "gbk" for a file saved by Excel in China

The table has a ``year`` column and one column per indicator (the
``column`` of an ``[[indicators]]`` table of the plan, by default its
``id``); an empty cell is a missing value::

    year,rd_share,high_tech_firms
    2020,2.21,3100
    2021,2.33,

An indicator's ``years`` says how the plan words it, and so which values are judged:

``horizon`` (到2025年, the default)
    the value in the evaluation year (a level or running total: 8,000 high-tech firms);
``cumulative`` (累计, 新增, 净增 over the plan period)
    the values of the years after the plan's baseline, added up to the evaluation year
    (the column holds what each year added: new industrial investment, new research institutes);
``each_year`` (每年)
    each year's value on its own, judged in every year of the period (100 core technologies a year).

:func:`evaluate_indicators` gives one verdict per indicator (and per year for
``each_year`` indicators) in the format of the audit's target results, so the
report lists them after the spatial targets.

Examples
--------
>>> from nbgeo import datasets, indicators, io, plan
>>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
>>> table = indicators.table_for(io.read_sample())
>>> table.illustrative, table.years[0], table.years[-1]
(True, 2020, 2025)
>>> rows = indicators.evaluate_indicators(p, table, year=2025)
>>> [(r["id"], r["status"]) for r in rows][:2]
[('rd_share', 'met'), ('high_tech_firms', 'met')]
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .io.dataset import read_manifest_table
from .io.tables import MAX_TABLE_BYTES, read_table
from .layers import IndicatorTable
from .manifest import read_manifest
from .plan import basis_of

if TYPE_CHECKING:
    from .layers import Dataset
    from .plan import IndicatorSpec, Plan

__all__ = [
    "MAX_TABLE_BYTES",
    "IndicatorTable",
    "evaluate_indicators",
    "indicator_history",
    "read_table",
    "table_for",
    "tables_info",
]

log = logging.getLogger(__name__)

def table_for(dataset: Dataset | str | Path, name: str = "indicators") -> IndicatorTable | None:
    """The indicator table a dataset holds (``[tables.indicators]`` in its manifest), or None.

    Parameters
    ----------
    dataset
        A dataset, whatever it was read from (files, PostGIS, memory): its
        ``tables``; or a dataset folder or manifest, whose manifest is read
        (:func:`nbgeo.manifest.read_manifest`) and its table with it.
    name
        The table's name.

    Returns
    -------
    IndicatorTable or None

    Examples
    --------
    >>> from nbgeo import datasets, io
    >>> table_for(io.read_sample()) == table_for(datasets.get_path("ningbo"))
    True
    """
    if isinstance(dataset, (str, Path)):
        manifest = read_manifest(dataset)
        return read_manifest_table(manifest, name) if name in manifest.tables else None
    return dataset.tables.get(name)


def tables_info(dataset: Dataset) -> dict[str, Any]:
    """Provenance of the dataset's tables, for ``audit.json`` (empty when it has none).

    Examples
    --------
    >>> from nbgeo import io
    >>> tables_info(io.read_sample())["indicators"]["illustrative"]
    True
    """
    table = table_for(dataset)
    return {} if table is None else {"indicators": table.info()}


def indicator_history(spec: IndicatorSpec, table: IndicatorTable | None, years: list[int] | range, *,
                      baseline: int | None = None) -> dict[int, tuple[float | None, str]]:
    """The indicator's value for each year, as its ``years`` judges it, with the reason when it is missing.

    A ``horizon`` or ``each_year`` indicator's value is the table's value for the
    year. A ``cumulative`` one (累计, 新增 over the plan period) is the sum of the
    table's values for the years after ``baseline`` up to the year: 0 in the
    baseline year, and unknown from the first year after it that has no value.

    .. math:: v_{\\mathrm{cum}}(Y) = \\sum_{y = \\mathrm{baseline} + 1}^{Y} v(y)

    Parameters
    ----------
    spec
        The indicator.
    table
        The yearly table (None: every value is unknown).
    years
        The years wanted.
    baseline
        The plan's baseline year; needed for a ``cumulative`` indicator.

    Examples
    --------
    >>> import pandas as pd
    >>> from nbgeo.plan import IndicatorSpec
    >>> t = IndicatorTable(pd.DataFrame({"firms": [10.0, 12.0]}, index=[2020, 2021]))
    >>> indicator_history(IndicatorSpec(id="firms", threshold=20), t, [2020, 2021, 2022])
    {2020: (10.0, ''), 2021: (12.0, ''), 2022: (None, 'the indicator table has no value for 2022')}

    The same column as what each year added (``years = "cumulative"``), from the baseline 2020:

    >>> added = IndicatorSpec(id="firms", threshold=20, years="cumulative")
    >>> indicator_history(added, t, [2020, 2021, 2022], baseline=2020)[2021]
    (12.0, 'added up 2021–2021')
    >>> indicator_history(added, t, [2022], baseline=2020)[2022]
    (None, 'the indicator table has no value for 2022, so the sum from 2021 is unknown')
    """
    if spec.years == "cumulative" and baseline is None:
        msg = f"indicator {spec.id!r} is cumulative: its values are added up from the plan's baseline, pass baseline="
        raise ValueError(msg)
    out: dict[int, tuple[float | None, str]] = {}
    for year in years:
        if table is None:
            out[year] = (None, "the dataset has no indicator table ([tables.indicators] in its manifest)")
        elif spec.column not in table.values.columns:
            out[year] = (None, f"the indicator table has no column {spec.column!r}")
        elif spec.years == "cumulative":
            assert baseline is not None
            out[year] = _added_up(table, spec.column, baseline, year)
        else:
            value = table.value(spec.column, year)
            out[year] = (value, "" if value is not None else f"the indicator table has no value for {year}")
    return out


def _added_up(table: IndicatorTable, column: str, baseline: int, year: int) -> tuple[float | None, str]:
    """The sum of a column's values for the years after ``baseline`` up to ``year``, with a note."""
    if year <= baseline:
        return 0.0, f"{baseline} is the baseline: nothing added yet"
    total = 0.0
    for y in range(baseline + 1, year + 1):
        value = table.value(column, y)
        if value is None:
            return None, f"the indicator table has no value for {y}, so the sum from {baseline + 1} is unknown"
        total += value
    return total, f"added up {baseline + 1}–{year}"


def evaluate_indicators(plan: Plan, table: IndicatorTable | None, *, year: int) -> list[dict[str, Any]]:
    """One verdict per indicator (per year for ``each_year`` ones), as JSON-ready dicts.

    Each dict has the fields of a target result (``id``, ``year``, ``op``,
    ``threshold``, ``actual``, ``unit``, ``status`` — ``met``, ``not_met`` or
    ``unknown`` —, ``margin``, ``title``, ``phrase``, ``note``, ``proposed``)
    plus the table's ``source`` and whether it is ``illustrative``.

    Parameters
    ----------
    plan
        The plan, whose ``indicators`` are evaluated.
    table
        The yearly table, e.g. from :func:`table_for`; None gives ``unknown``.
    year
        The evaluation year.
    """
    rows: list[dict[str, Any]] = []
    for spec in plan.indicators:
        if spec.years == "each_year":
            years = [y for y in plan.years if y <= year] or [year]
        else:
            years = [year]
        for y, (value, note) in indicator_history(spec, table, years, baseline=plan.baseline).items():
            if value is None:
                status, margin = "unknown", None
            else:
                status = "met" if spec.compare(value) else "not_met"
                margin = round(spec.margin(value), 6)
            rows.append({
                "id": spec.id, "kind": "indicator", "column": spec.column, "years": spec.years, "year": y,
                "op": spec.op,
                "threshold": spec.threshold, "actual": value, "unit": spec.unit, "status": status, "margin": margin,
                "title": spec.title, "phrase": spec.phrase, "note": note, "proposed": spec.proposed,
                "severity": spec.severity, "basis": basis_of(spec),
                "source": table.source if table is not None else "",
                "illustrative": table.illustrative if table is not None else False,
            })
    return rows

