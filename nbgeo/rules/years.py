"""Siting rules in an evaluation year: the sites that exist that year are judged, later ones are counted apart.

An audit of 2023 asks whether what stood in 2023 broke a rule. A micro-park built in 2024 did not exist
then, so it cannot fail the 2023 audit; it is counted among the sites *later* than the audited year and
judged by the audit of its own year. The year rule is the one of targets and coverage
(:func:`nbgeo.filters.year_mask`, ``cumulative``): a feature exists from the year in its layer's ``year``
column. It applies to both sides of a rule: the sites, and the layer they are checked against (a school
opened in 2024 does not make a 2023 site fail a setback). A layer without a ``year`` column (zones,
boundaries, the constraint and receptor layers of the sample) has no years: every feature counts in every
year. A site with no year (an empty cell) is in no year: it is counted apart as *undated*.

Each rule's entry in ``audit.json`` (and ``rules.json``) then says ``year`` (the audited year), ``checked``
(the sites judged), ``later`` (sites of the rule's layer, matching its ``where``, whose year is after the
audited one: planned or built since), ``later_by_year`` and ``undated``. Only the judged sites count
towards the exit code.

Examples
--------
>>> from nbgeo import datasets, io, plan
>>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
>>> results, years = evaluate_rules_in_year(p, io.read_sample(), 2023)
>>> red = next(r for r in results if r.rule.id == "red_line_micro_parks")
>>> red.checked, years["red_line_micro_parks"].later, "MP00001" in red.failing_ids   # MP00001 is built in 2024
(143, 99, False)
>>> years["red_line_micro_parks"].to_dict()["later_by_year"]
{'2024': 44, '2025': 40, '2026': 15}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..filters import as_numbers, filter_mask, year_mask
from .evaluate import evaluate_rules

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ..layers import Dataset
    from ..plan import Plan
    from .result import RuleResult

__all__ = ["YEAR_COLUMN", "RuleYear", "dataset_in_year", "evaluate_rules_in_year", "later_counts", "later_lines", "rule_entries",
           "rule_years"]

#: The column a rule's layers hold their features' years in (a layer without it has no years).
YEAR_COLUMN = "year"


@dataclass(frozen=True)
class RuleYear:
    """Which sites of one rule an evaluation year judges.

    Attributes
    ----------
    year
        The audited year (None: every site, whatever its year).
    existing
        Sites of the rule's layer matching its ``where`` that exist in ``year`` (judged).
    later
        Those whose year is after ``year`` (planned, or built since): counted, not judged.
    later_by_year
        ``later`` per year.
    undated
        Those with no year: in no year, so not judged either.
    dated
        Whether the rule's layer has a year column at all.
    """

    year: int | None
    existing: int
    later: int = 0
    later_by_year: Mapping[int, int] = field(default_factory=dict)
    undated: int = 0
    dated: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The keys added to the rule's entry in ``audit.json``."""
        return {"year": self.year, "later": self.later,
                "later_by_year": {str(y): n for y, n in sorted(self.later_by_year.items())},
                "undated": self.undated}


def _dated(dataset: Dataset) -> list[str]:
    return [name for name, layer in dataset.layers.items() if YEAR_COLUMN in layer.gdf.columns]


def dataset_in_year(dataset: Dataset, year: int | None) -> Dataset:
    """The dataset as it stood in ``year``: every layer with a ``year`` column cut to the features existing then.

    Layers without one, rasters, networks and tables are kept whole; ``year=None`` returns ``dataset``.

    Examples
    --------
    >>> from nbgeo import io
    >>> ds = io.read_sample()
    >>> then = dataset_in_year(ds, 2023)
    >>> len(ds["micro_parks"]), len(then["micro_parks"]), len(then["constraints"]) == len(ds["constraints"])
    (242, 143, True)
    """
    if year is None:
        return dataset
    keep = {name: year_mask(dataset[name], year, column=YEAR_COLUMN, layer=name).to_numpy()
            for name in _dated(dataset)}
    return dataset.keep_rows(keep) if keep else dataset


def rule_years(plan: Plan, dataset: Dataset, year: int | None) -> dict[str, RuleYear]:
    """Per rule id, the sites the year judges and those counted apart (see the module docstring)."""
    out: dict[str, RuleYear] = {}
    for rule in plan.rules:
        if rule.layer not in dataset:
            out[rule.id] = RuleYear(year=year, existing=0, dated=False)
            continue
        gdf = dataset[rule.layer]
        where = rule.params.get("where")
        matching = ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
        if where:
            matching = matching & filter_mask(gdf, where, layer=rule.layer).to_numpy()
        if year is None or YEAR_COLUMN not in gdf.columns:
            out[rule.id] = RuleYear(year=year, existing=int(matching.sum()), dated=YEAR_COLUMN in gdf.columns)
            continue
        exists = year_mask(gdf, year, column=YEAR_COLUMN, layer=rule.layer).to_numpy()
        years = as_numbers(gdf[YEAR_COLUMN])
        undated = matching & np.isnan(years)
        later = matching & ~exists & ~undated
        values, counts = np.unique(years[later], return_counts=True)
        out[rule.id] = RuleYear(year=year, existing=int((matching & exists).sum()), later=int(later.sum()),
                                later_by_year={int(v): int(n) for v, n in zip(values, counts, strict=True)},
                                undated=int(undated.sum()))
    return out


def evaluate_rules_in_year(plan: Plan, dataset: Dataset, year: int | None, *,
                           tolerance_band: float | None = None,
                           evaluate: Callable[[Plan, Dataset], list[RuleResult]] | None = None,
                           ) -> tuple[list[RuleResult], dict[str, RuleYear]]:
    """Evaluate the plan's rules on the sites (and the layers they are checked against) of ``year``.

    Parameters
    ----------
    plan, dataset
        The rules, and the whole dataset (every year).
    year
        The audited year; None judges every site, whatever its year.
    tolerance_band
        As for :func:`nbgeo.rules.evaluate_rules`.
    evaluate
        How to evaluate the rules on the year's dataset (an engine's ``evaluate_rules``); default
        :func:`nbgeo.rules.evaluate_rules`.

    Returns
    -------
    results, years
        One :class:`~nbgeo.rules.RuleResult` per rule, in plan order, and per rule id its :class:`RuleYear`.
    """
    then = dataset_in_year(dataset, year)
    if evaluate is not None:
        results = evaluate(plan, then)
    else:
        results = evaluate_rules(plan, then, tolerance_band=tolerance_band)
    return results, rule_years(plan, dataset, year)


def rule_entries(results: list[RuleResult], years: Mapping[str, RuleYear], *,
                 all_findings: bool = False) -> list[dict[str, Any]]:
    """The ``rules`` section: each rule's entry with the year it judged and the sites counted apart."""
    entries = []
    for r in results:
        entry = r.to_dict(all_findings=all_findings)
        info = years.get(r.rule.id)
        if info is not None:
            entry.update(info.to_dict())
        entries.append(entry)
    return entries


def later_counts(entries: Sequence[Mapping[str, Any]]) -> tuple[Any, dict[str, tuple[int, int]]]:
    """The audited year and, per layer, how many sites its rules did not judge: ``(later, undated)``.

    One count per layer (its rules share it); layers with none are left out.

    Examples
    --------
    >>> later_counts([{"layer": "micro_parks", "year": 2023, "later": 99, "undated": 0},
    ...               {"layer": "micro_parks", "year": 2023, "later": 99, "undated": 0},
    ...               {"layer": "chargers", "year": 2023, "later": 0, "undated": 0}])
    (2023, {'micro_parks': (99, 0)})
    """
    per_layer: dict[str, tuple[int, int]] = {}
    for e in entries:
        if e.get("later") or e.get("undated"):
            per_layer.setdefault(str(e["layer"]), (int(e.get("later") or 0), int(e.get("undated") or 0)))
    year = next((e.get("year") for e in entries if e.get("later") or e.get("undated")), None)
    return year, per_layer


def later_lines(entries: list[dict[str, Any]]) -> list[str]:
    """For a terminal: the sites each layer's rules did not judge in the audited year, one line (or none).

    Examples
    --------
    >>> later_lines([{"layer": "micro_parks", "year": 2023, "later": 99, "undated": 0},
    ...              {"layer": "micro_parks", "year": 2023, "later": 99, "undated": 0},
    ...              {"layer": "chargers", "year": 2023, "later": 3300, "undated": 2}])
    ['judged: the sites existing in 2023; not judged, counted apart: micro_parks 99 later, chargers 3,300 later and 2 with no year']
    >>> later_lines([{"layer": "chargers", "year": 2025, "later": 0, "undated": 0}])
    []
    """
    year, per_layer = later_counts(entries)
    if not per_layer:
        return []
    parts = []
    for layer, (later, undated) in per_layer.items():
        text = " and ".join(x for x in (f"{later:,} later" if later else "",
                                         f"{undated:,} with no year" if undated else "") if x)
        parts.append(f"{layer} {text}")
    return [f"judged: the sites existing in {year}; not judged, counted apart: {', '.join(parts)}"]
