"""The audit: a plan and a dataset in, one report of verdicts out.

:func:`run_audit` evaluates every target of the plan (and, as later modules
add them, its siting rules and coverage requirements) and returns an
:class:`AuditReport`. The report converts to the versioned ``audit.json``
format (:meth:`AuditReport.to_dict`), to a DataFrame, and shows itself as a
table in Jupyter.

Examples
--------
>>> from nbgeo import audit, io, plan, datasets
>>> report = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
>>> report.exit_code, report.summary()["targets"]["not_met"] > 0
(1, True)
>>> report.to_dataframe().columns[:4].tolist()
['id', 'layer', 'metric', 'year']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import pace as pace_mod
from . import sanitize, settings
from .coverage import evaluate_plan_coverage
from .engine import get_engine
from .indicators import evaluate_indicators, table_for, tables_info
from .plan import basis_of, check_against, counts, short_basis
from .progress import progress_section
from .renderers import figures, labels, render, theme
from .rules import evaluate_rules_in_year, rule_entries, without_failing
from .steps import step
from .targets import evaluate_targets

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

    from .engine import Engine
    from .errors import Problem
    from .layers import Dataset
    from .plan import Plan
    from .rules import RuleResult, RuleYear
    from .targets import TargetResult

__all__ = ["SCHEMA", "AuditReport", "dataset_info", "run_audit", "with_binding"]

log = logging.getLogger(__name__)

#: The version of the ``audit.json`` format.
SCHEMA = "nbgeo.audit/1"


def nbgeo_version() -> str:
    """The installed nbgeo's version (``"unknown"`` in a source tree that was not installed)."""
    try:
        return version("nbgeo")
    except PackageNotFoundError:
        return "unknown"


def dataset_info(dataset: Dataset) -> dict[str, Any]:
    """The ``dataset`` section of ``audit.json``: provenance of every layer, and the CRS it is measured in.

    ``working_crs`` records the dataset's working CRS: its name, EPSG code
    (when it has one), PROJ string and WKT, whether it was chosen from the
    data or declared (``source``), why, and the largest error of a length and
    of an area over the data.

    Examples
    --------
    >>> from nbgeo import io
    >>> info = dataset_info(io.read_sample())
    >>> info["layers"]["districts"]["illustrative"], sorted(info["layers"]["chargers"])[:3]
    (False, ['crs', 'datum', 'datum_basis'])
    >>> info["working_crs"]["name"], info["working_crs"]["source"]
    ('CGCS2000 / TM 121.56E 29.67N (nbgeo)', 'data')
    """
    return {
        "name": dataset.name,
        "title": dataset.title,
        "path": dataset.path,
        "illustrative": dataset.illustrative,
        "working_crs": None if dataset.crs_choice is None else dataset.crs_choice.to_dict(),
        "layers": {
            name: {
                "file": layer.meta.file,
                "source": layer.meta.source,
                "licence": layer.meta.licence,
                "datum": layer.meta.datum,
                "datum_basis": layer.meta.datum_basis,
                "crs": layer.meta.crs,
                "features": len(layer.gdf),
                "illustrative": layer.meta.illustrative,
                "note": layer.meta.note,
                "mapping": list(layer.meta.mapping),
            }
            for name, layer in dataset.layers.items()
        },
        "problems": [p.to_dict() for p in dataset.problems],
        "tables": tables_info(dataset),
        "rasters": {
            name: {"file": r.meta.file, "source": r.meta.source, "licence": r.meta.licence, "crs": r.crs,
                   "illustrative": r.meta.illustrative, "note": r.meta.note}
            for name, r in getattr(dataset, "rasters", {}).items()
        },
    }


@dataclass(frozen=True)
class AuditReport:
    """The result of an audit: target verdicts, plus rules and coverage as they are added.

    Attributes
    ----------
    plan, dataset
        What was audited.
    year
        The evaluation year.
    targets
        One result per target and year.
    sections
        Further sections by name (``"rules"``, ``"coverage"``, ...), each a
        list of JSON-ready dicts with a ``status`` field; they appear in
        ``audit.json`` beside ``targets`` and count towards the exit code.
    overlays
        Geometry the map should show on top of the layers, by title: failing
        sites, offending geometry, service areas, uncovered demand, proposed
        sites. Each is a GeoDataFrame in EPSG:4326 with at least the columns
        ``status`` (e.g. ``fail``, ``unknown``, ``uncovered``, ``proposed``) and
        ``label`` (plain text; the map escapes it).
    """

    plan: Plan
    dataset: Dataset
    year: int
    targets: tuple[TargetResult, ...]
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    overlays: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    strict: bool = False

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Warnings found while reading the dataset."""
        return self.dataset.problems

    def summary(self) -> dict[str, Any]:
        """Counts of statuses per section.

        ``targets`` counts met / not_met / unknown; every other section counts
        the statuses its entries report (e.g. ``pass`` / ``fail`` for rules).
        """
        out: dict[str, Any] = {"targets": {"met": 0, "not_met": 0, "unknown": 0}}
        for r in self.targets:
            out["targets"][r.status] += 1
        for name, entries in self.sections.items():
            counts: dict[str, int] = {}
            for entry in entries:
                counts[entry["status"]] = counts.get(entry["status"], 0) + 1
            out[name] = counts
        out["passed"] = self.exit_code == 0
        return out

    @property
    def failed(self) -> bool:
        """Whether any target is not met (or unknown), or any section entry failed.

        Entries of severity 建议 (nbgeo's or the office's suggestions) count only when :attr:`strict`.
        """
        if any(r.status != "met" and counts(r.severity, strict=self.strict) for r in self.targets):
            return True
        bad = {"fail", "not_met", "unknown"}
        return any(entry["status"] in bad and counts(entry.get("severity"), strict=self.strict)
                   for entries in self.sections.values() for entry in entries)

    @property
    def advisories(self) -> int:
        """How many targets and section entries of severity 建议 are not met, failed or unknown."""
        bad = {"fail", "not_met", "unknown"}
        return (sum(r.status != "met" and r.severity == "建议" for r in self.targets)
                + sum(entry["status"] in bad and entry.get("severity") == "建议"
                      for entries in self.sections.values() for entry in entries))

    @property
    def exit_code(self) -> int:
        """0 when everything that binds is met, 1 otherwise (the CLI's exit code; 建议 counts when strict)."""
        return 1 if self.failed else 0

    def headline(self) -> pace_mod.Headline:
        """The first line of the report: before the horizon the pace of every target, then met / not met.

        See :mod:`nbgeo.pace`; the pace comes from the ``progress`` section (none when it was not tracked).
        """
        return pace_mod.headline(self.plan, self.year, self.targets, self.sections, passed=not self.failed)

    def pace(self) -> list[dict[str, Any]]:
        """Per target and indicator: its pace in the evaluation year and its status against the final threshold."""
        return pace_mod.target_pace(self.targets, self.sections, self.year)

    def count_notes(self, lang: str = "en") -> list[dict[str, Any]]:
        """One line per count that looks inconsistent between sections, saying why (:func:`nbgeo.pace.count_notes`)."""
        return pace_mod.count_notes(self.plan, self.year, self.targets, self.sections, lang=lang)

    def to_dict(self) -> dict[str, Any]:
        """The report in the versioned ``audit.json`` format (``nbgeo.audit/1``)."""
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "nbgeo": nbgeo_version(),
            "created": self.created,
            "year": self.year,
            "plan": {
                "id": self.plan.id,
                "title": self.plan.title,
                "title_en": self.plan.title_en,
                "baseline": self.plan.baseline,
                "horizon": self.plan.horizon,
                "source": self.plan.source,
                "path": self.plan.path,
            },
            "dataset": dataset_info(self.dataset),
            "headline": self.headline().to_dict(),
            "targets": [r.to_dict() for r in self.targets],
        }
        if self.year < self.plan.horizon and "progress" in self.sections:  # the mid-term view
            out["pace"] = self.pace()
        zh, en = self.count_notes("zh"), self.count_notes("en")
        out["count_notes"] = [{"about": a["about"], "zh": a["text"], "en": b["text"]} for a, b in zip(zh, en, strict=True)]
        out.update(self.sections)
        out["summary"] = self.summary()
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """The target results as a DataFrame, one row per target and year."""
        columns = ["id", "layer", "metric", "year", "op", "threshold", "actual", "unit", "status", "margin",
                   "title", "phrase", "note", "proposed", "severity", "basis"]
        return pd.DataFrame([r.to_dict() for r in self.targets], columns=columns)

    def to_text(self, lang: str = "en") -> str:
        """The target table as plain text, for a terminal, in words (English by default).

        Targets are named by their title (in zh the plan's phrase), statuses and severities by their words
        (``not met``, ``prohibited``), from :mod:`nbgeo.renderers.labels`; ``audit.json`` keeps the ids and keys.

        Examples
        --------
        >>> from nbgeo import datasets, io, plan
        >>> r = run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")), progress=False)
        >>> text = r.to_text()
        >>> "not met" in text and "not_met" not in text, "未达标" in r.to_text("zh")
        (True, True)
        """
        w = labels.word
        rows = [(w("report.target", lang), w("column.year", lang), w("column.actual", lang), "",
                 w("column.threshold", lang), w("column.unit", lang), w("column.status", lang),
                 w("column.margin", lang), w("column.severity", lang), w("column.basis", lang))]
        for r in self.targets:  # figures rounded as the pages round them (38.5, +3.5); audit.json keeps them exact
            actual, margin = figures.number(r.actual), figures.delta(r.margin)
            name = (r.phrase if lang == "zh" else r.title) or r.title or r.phrase or r.id
            name = name if len(name) <= _TEXT_TITLE else name[:_TEXT_TITLE - 1] + "…"
            rows.append((name, figures.year(r.year), actual, r.op, figures.number(r.threshold),
                         labels.label("unit", r.unit, lang),
                         labels.status_word(r.status, lang), margin, labels.label("severity", r.severity, lang),
                         short_basis(r.basis)))
        lines = sanitize.columns(rows)
        s = self.summary()["targets"]
        lines.append(labels.word("report.text_counts", lang).format(**s))
        lines += [note["text"] for note in self.count_notes(lang)]
        if self.advisories and not self.strict:
            lines.append(labels.word("report.text_advisories", lang).format(n=self.advisories))
        return "\n".join([self.headline().text(lang), *lines])

    def _repr_html_(self) -> str:
        """A table of verdicts for Jupyter (``templates/audit_table.html.j2``; every text is escaped)."""
        rows = [{"id": r.id, "phrase": r.phrase, "year": r.year, "op": r.op, "threshold": f"{r.threshold:,.6g}",
                 "actual": "—" if r.actual is None else f"{r.actual:,.6g}", "unit": r.unit, "status": r.status,
                 "colour": theme.colour(r.status), "margin": "—" if r.margin is None else f"{r.margin:+,.6g}"}
                for r in self.targets]
        return render.render("audit_table.html.j2", title=self.plan.title_en or self.plan.title, year=self.year,
                             dataset=self.dataset.name, rows=rows)


#: Longest target title in the terminal table (longer ones end with …).
_TEXT_TITLE = 56


def with_binding(plan: Plan, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Progress entries with the severity and basis of the target or indicator each one tracks (as in audit.json)."""
    items = {("indicator", i.id): i for i in plan.indicators} | {("target", t.id): t for t in plan.targets}
    out = []
    for entry in entries:
        item = items.get((str(entry.get("kind")), str(entry.get("id"))))
        out.append(entry if item is None else {**entry, "severity": item.severity, "basis": basis_of(item)})
    return out


def run_audit(dataset: Dataset, plan: Plan, *, year: int | None = None, progress: bool = True,
              snapshots: Mapping[int, Dataset] | None = None, engine: str | Engine | None = None,
              scheduler: str | None = None, exclude_failing: bool = False, strict: bool = False) -> AuditReport:
    """Audit a dataset against a plan.

    The plan's ``[[indicators]]``, if any, are evaluated from the dataset's
    indicator table into the ``indicators`` section (:mod:`nbgeo.indicators`).

    Parameters
    ----------
    dataset
        The layers, e.g. from :func:`nbgeo.io.read_dataset`.
    plan
        The plan, e.g. from :func:`nbgeo.plan.read_plan`.
    year
        The evaluation year; defaults to ``settings.default_year`` or the plan's horizon.
    progress
        Also track every target year by year against the path to its deadline
        (the ``progress`` section, :mod:`nbgeo.progress`); its flags never
        change the exit code. On by default, as in ``nbgeo audit``, so the
        API and the command line write the same ``audit.json``.
    snapshots
        Datasets as they were in given years, for the progress (see
        :func:`nbgeo.progress.target_history`).
    engine
        Where the heavy steps run (:mod:`nbgeo.engine`: the per-site siting
        rules, the targets' sums and the coverage's snapping): ``"default"`` (this
        process), ``"dask"`` (a local Dask cluster, closed afterwards) or an
        :class:`~nbgeo.engine.Engine` you manage. The results are the same.
    scheduler
        ``tcp://host:port`` of a running Dask scheduler (implies ``engine="dask"``).
    exclude_failing
        Leave the sites that fail a siting rule out of the targets and every
        later count and coverage (the plan's ``[[rules]]``, :mod:`nbgeo.rules`).
        They still appear in the ``rules`` section and on the map.
    strict
        Let entries of severity 建议 (nbgeo's or the office's suggestions) change the exit code too
        (``--strict``); by default only 禁止 and 限制 do.

    Returns
    -------
    AuditReport
    """
    when = year or settings.default_year or plan.horizon
    check_against(plan, dataset)  # a name or filter that does not fit the dataset is bad input: stop before work
    runner = None  # the heavy steps run in this process unless an engine is asked for
    if engine is not None or scheduler is not None:

        runner = get_engine(engine, scheduler=scheduler)
    try:
        rule_results: list[RuleResult] = []
        rule_year: dict[str, RuleYear] = {}
        if plan.rules:
            # Only the sites that exist in the audited year are judged, against what existed then
            # (nbgeo.rules.years); later ones are counted apart.
            with step("siting rules"):
                rule_results, rule_year = evaluate_rules_in_year(
                    plan, dataset, when, evaluate=runner.evaluate_rules if runner else None)
            if exclude_failing:
                dataset = without_failing(dataset, rule_results)
        with step("targets"):
            targets = runner.evaluate_targets(plan, dataset, year=when) if runner else evaluate_targets(
                plan, dataset, year=when)
        coverage_found = None
        if plan.coverage:
            # Who the facilities serve, by road or straight line (nbgeo.coverage): verdicts with the target
            # fields, plus service areas and uncovered sites for the map. Sites and facilities snap on the engine.

            with step("coverage"):
                coverage_found = evaluate_plan_coverage(plan, dataset, year=when, engine=runner)
    finally:
        if runner is not None and runner is not engine:
            runner.close()
    log.info("Evaluated %d target results for %d", len(targets), when)
    sections: dict[str, list[dict[str, Any]]] = {}
    if plan.indicators:

        with step("indicators"):
            sections["indicators"] = evaluate_indicators(plan, table_for(dataset), year=when)
    if progress:

        with step("progress through the years"):
            sections["progress"] = with_binding(plan, progress_section(plan, dataset, as_of=when,
                                                                         snapshots=snapshots))
    overlays: dict[str, gpd.GeoDataFrame] = {}
    if rule_results:
        sections["rules"] = rule_entries(rule_results, rule_year)
        for r in rule_results:
            shapes = r.offending()
            if len(shapes):
                overlays[f"rule {r.rule.id}: {r.failed} fail, {r.unknown} unknown"] = shapes
    if coverage_found is not None:
        sections["coverage"], coverage_shapes = coverage_found
        overlays.update(coverage_shapes)
    return AuditReport(plan=plan, dataset=dataset, year=when, targets=tuple(targets), sections=sections,
                       overlays=overlays, strict=strict)
