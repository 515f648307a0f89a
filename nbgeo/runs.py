"""What ``nbgeo rules``, ``nbgeo coverage`` and ``nbgeo site`` do, as library calls.

Each function takes a dataset and a plan already read, computes everything, and returns an :class:`Outputs`:
the files the command writes (not yet written), the text it prints and its exit code. Nothing is written until
:meth:`Outputs.write`, which replaces the command's previous outputs in a folder as one set (see
:func:`nbgeo._atomic.output_set`), so a notebook gets exactly what the command line writes. The command line
only reads its options, calls one of these, writes and prints.

Examples
--------
>>> import nbgeo, tempfile
>>> ds = nbgeo.read_dataset(nbgeo.datasets.get_path("ningbo"))
>>> p = nbgeo.read_plan(nbgeo.datasets.get_path("ningbo_2025"))
>>> out = rules_run(ds, p, rule_ids=["red_line_micro_parks"], formats=("xlsx",))
>>> sorted(out.files), out.exit_code in (0, 1)
(['rule_failures.geojson', 'rule_sites.csv', 'rules.json', 'site_checks.xlsx'], True)
>>> written = out.write(tempfile.mkdtemp())
>>> [path.name for path in written]
['rule_failures.geojson', 'rule_sites.csv', 'rules.json', 'site_checks.xlsx']
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from . import _atomic, coverage, io, optimize, postgis, qgis, report, rules
from .audit import AuditReport
from .dsn import is_url, mask_dsn
from .errors import PlanError, UsageError, ValidationError
from .io import write_layer
from .paths import check_name, output_path
from .plan import Plan, SitingSpec, counts, short_basis
from .renderers import labels, readable, terminal
from .renderers import report as pages  # the page renderer itself, where tests patch it (nbgeo.report forwards)
from .report import json_safe as clean_json
from .sanitize import to_csv
from .suitability import surface_from_spec

__all__ = ["AUDIT_FORMATS", "COVERAGE_FILES", "PAGE_FORMATS", "RULES_FILES", "Outputs", "audit_outputs",
           "coverage_run", "exit_code_of", "format_files", "rules_run", "site_files", "site_run", "validate_files",
           "validate_run"]

RULES_FILES = ("rules.json", "rule_sites.csv", "rule_failures.geojson")
COVERAGE_FILES = ("coverage.json", "coverage.geojson", "coverage.html")

#: ``--format`` of ``nbgeo audit``: the page, Markdown, QGIS, a PDF of the page, the per-site check table.
AUDIT_FORMATS = pages.FORMATS
#: ``--format`` of ``nbgeo rules`` and ``nbgeo coverage``: the section page (``html``, the default), its
#: Markdown (``md``: the section of audit.md), its PDF, the per-site check table (``xlsx``, ``csv``) and the
#: QGIS outputs.
PAGE_FORMATS = ("html", "md", "pdf", "xlsx", "csv", "qgis")

Writer = pages.Writer  # writes the file at the path it is given (what it returns is ignored)


@dataclasses.dataclass
class Outputs:
    """A command's results, before they are written.

    Attributes
    ----------
    command
        The command's name (``"rules"``, ``"coverage"``, ``"site"``): the output set it replaces.
    files
        File name → a function that writes that file at the path it is given.
    text
        The summary the command prints.
    exit_code
        0 when everything passes or is met, 1 when something does not.
    report
        The :class:`~nbgeo.audit.AuditReport` behind the files, where there is one.
    """

    command: str
    files: dict[str, Writer]
    text: str
    exit_code: int
    report: AuditReport | None = None

    def write(self, folder: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Write every file into ``folder`` as one set, replacing the command's previous outputs there.

        Files that a writer chose not to create (a site question without sites) are simply absent.
        Returns the paths written, sorted by name.
        """
        return pages.write_files(self.files, folder, command=self.command, overwrite=overwrite)


def _json_writer(doc: object) -> Writer:
    def write(path: Path) -> None:
        _atomic.write_text(path, json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False) + "\n")
    return write


def _text_writer(text: str) -> Writer:
    def write(path: Path) -> None:
        _atomic.write_text(path, text)
    return write


def _features_writer(features: list[dict[str, Any]]) -> Writer:
    return _json_writer({"type": "FeatureCollection", "features": features})


def format_files(stem: str, formats: Sequence[str]) -> list[str]:
    """The files ``--format`` adds to a command whose page is ``STEM.html``: page, Markdown, PDF, check tables.

    Examples
    --------
    >>> format_files("rules", ("html", "md", "pdf", "csv", "qgis"))
    ['rules.html', 'rules.md', 'rules.pdf', 'site_checks.csv']
    """
    return pages.page_names(stem, formats)


def audit_outputs(found: AuditReport, *, formats: Sequence[str] = ("html",), lang: str = "zh",
                  with_map: bool = True, coords: Sequence[str] = (), out: str | Path | None = None) -> Outputs:
    """An audit's files as one set (``nbgeo audit --out``): audit.json and each of ``formats``.

    The files are :func:`nbgeo.report.report_files`, which :func:`nbgeo.report.write_report` writes too: the
    API and the command line write the same files from the same code.

    Parameters
    ----------
    found
        The audit (:func:`nbgeo.audit.run_audit`).
    formats
        Of :data:`AUDIT_FORMATS`: ``html`` (audit.html), ``md`` (audit.md), ``pdf`` (audit.pdf, the page printed
        by headless Chromium), ``xlsx`` and ``csv`` (the per-site check table, ``site_checks.*``), ``qgis``
        (needs ``out``: findings.gpkg, dataset.gpkg, project.qgz).
    lang, with_map
        The language of the pages and tables; whether the page carries the map.
    coords
        ``("gcj02",)``: GCJ-02 coordinates in the check table too.

    Examples
    --------
    >>> import nbgeo
    >>> found = nbgeo.audit.run_audit(nbgeo.io.read_sample(), nbgeo.read_plan(nbgeo.datasets.get_path("ningbo_2025")))
    >>> sorted(audit_outputs(found, formats=("md", "csv")).files)
    ['audit.json', 'audit.md', 'site_checks.csv']
    """
    unknown = [f for f in formats if f not in AUDIT_FORMATS]
    if unknown:
        msg = f"unknown report format(s) {', '.join(map(repr, unknown))}; choose from {', '.join(AUDIT_FORMATS)}"
        raise UsageError(msg)
    files = pages.report_files(found, formats, lang=lang, with_map=with_map, coords=coords, out=out)
    return Outputs("audit", files, found.to_text(), found.exit_code, report=found)


def _chosen(kind: str, asked: Iterable[str], known: Sequence[str], option: str) -> None:
    """Refuse ids the plan does not have, naming the ones it has."""
    missing = sorted(set(asked) - set(known))
    if missing:
        msg = (f"the plan has no {kind} {', '.join(map(repr, missing))}; "
               f"{kind}s: {', '.join(known) or '(none)'} ({option})")
        raise PlanError(msg, code="E-PLAN-UNKNOWN-ID")


def exit_code_of(entries: Iterable[dict[str, Any]], *, good: str, strict: bool = False) -> int:
    """1 when an entry is not ``good`` and binds (建议 binds only when ``strict``), else 0.

    Examples
    --------
    >>> exit_code_of([{"status": "fail", "severity": "建议"}], good="pass")
    0
    >>> exit_code_of([{"status": "fail", "severity": "建议"}], good="pass", strict=True)
    1
    """
    return 1 if any(e["status"] != good and counts(e.get("severity"), strict=strict) for e in entries) else 0


def rules_run(dataset: Any, plan: Plan, *, rule_ids: Sequence[str] = (), layers: Sequence[str] = (),
              tolerance_band: float | None = None, all_sites: bool = False, out: str | Path | None = None,
              lang: str = "zh", year: int | None = None, formats: Sequence[str] = ("html",),
              with_map: bool = True, coords: Sequence[str] = (), strict: bool = False,
              text_lang: str = "en") -> Outputs:
    """Check a dataset against the plan's siting rules alone (``nbgeo rules``).

    Parameters
    ----------
    dataset, plan
        What to check, and against which plan.
    rule_ids, layers
        Only these rules, only the rules of these layers (default: all).
    tolerance_band
        Relative tolerance band around each limit (default: ``settings.tolerance_band``).
    all_sites
        List every site in rules.json, not only failing and unknown ones.
    out, lang
        With ``out`` (the folder the outputs go to), the QGIS outputs too (``--format qgis``): the failing
        sites as styled layers in ``findings.gpkg`` and ``project.qgz``, labelled in ``lang``.
    year
        The audited year (default: the plan's horizon, as ``nbgeo audit``): the sites existing that year are
        judged, against what existed then; later ones are counted apart (:mod:`nbgeo.rules.years`).
    formats, with_map, coords
        Of :data:`PAGE_FORMATS` (``nbgeo rules --format``; default ``html``): ``rules.html``
        (the rules section of audit.html with its map; ``with_map=False`` leaves the map out), ``rules.pdf``,
        ``site_checks.xlsx`` / ``site_checks.csv`` (the per-site check table, GCJ-02 columns too with
        ``coords=("gcj02",)``).
    strict
        Let rules of severity 建议 (suggestions) change the exit code too (``--strict``).
    text_lang
        The language of the terminal table (:func:`nbgeo.renderers.terminal.rules_text`; English by default, as on the command line without ``--lang``).

    Returns
    -------
    Outputs
        ``rules.json`` (the ``rules`` section of audit.json), ``rule_sites.csv`` (every site of every rule,
        with cells that a spreadsheet would read as formulas kept as text) and ``rule_failures.geojson``,
        and the files of ``formats``.
    """
    _chosen("rule", rule_ids, [r.id for r in plan.rules], "--rule")
    chosen = [r for r in plan.rules if (not rule_ids or r.id in rule_ids) and (not layers or r.layer in layers)]
    when = year or plan.horizon
    results, in_year = rules.evaluate_rules_in_year(dataclasses.replace(plan, rules=tuple(chosen)), dataset, when,
                                                    tolerance_band=tolerance_band)
    entries = rules.rule_entries(results, in_year, all_findings=all_sites)
    doc = {"schema": "nbgeo.rules/1", "year": when, "plan": {"id": plan.id, "path": plan.path},
           "dataset": {"name": dataset.name, "path": dataset.path, "illustrative": dataset.illustrative},
           "rules": entries}
    tables = [r.table.assign(rule=r.rule.id, layer=r.rule.layer).rename_axis("feature_id").reset_index()
              for r in results if r.checked]
    columns = ["rule", "layer", "feature_id", "severity", "basis", "status", "value", "limit", "margin", "unit",
               "other", "reason"]
    tables = [t.assign(severity=r.rule.severity, basis=short_basis(r.rule.basis))
              for t, r in zip(tables, [r for r in results if r.checked], strict=True)]
    sites = pd.concat(tables)[columns] if tables else pd.DataFrame(columns=columns)
    features: list[dict[str, Any]] = []
    for gdf in (r.offending() for r in results):
        if len(gdf):
            features += json.loads(gdf.to_json(drop_id=True))["features"]
    files = {"rules.json": _json_writer(doc),
             "rule_sites.csv": _text_writer(to_csv(sites, index=False)),  # =HYPERLINK(...) stays text
             "rule_failures.geojson": _features_writer(features)}
    shapes = {f"rule {r.rule.id}": r.offending() for r in results}
    if set(formats) - {"qgis"}:
        found = AuditReport(plan=plan, dataset=dataset, year=when, targets=(), sections={"rules": entries},
                            strict=strict,
                            overlays={f"rule {r.rule.id}: {r.failed} fail, {r.unknown} unknown": gdf.to_crs(4326)
                                      for r, gdf in zip(results, shapes.values(), strict=True) if len(gdf)})
        layers_shown = [*(["districts"] if "districts" in dataset else []),
                        *dict.fromkeys(r.rule.layer for r in results if r.rule.layer in dataset)]
        files.update(pages.page_files(found, [f for f in formats if f != "qgis"], stem="rules", lang=lang,
                                      with_map=with_map, coords=coords, sections=["rules"], layers=layers_shown))
    if out is not None:
        files.update(qgis.qgis_files(dataset, out, overlays=shapes, lang=lang))
    text = terminal.rules_text(entries, text_lang, titles=readable.plan_titles(plan, text_lang))
    return Outputs("rules", files, text, exit_code_of(entries, good="pass", strict=strict))


def coverage_run(dataset: Any, plan: Plan, *, ids: Sequence[str] = (), year: int | None = None,
                 engine: Any = None, lang: str = "zh", with_map: bool = True, out: str | Path | None = None,
                 formats: Sequence[str] = ("html",), coords: Sequence[str] = (), strict: bool = False,
                 text_lang: str = "en") -> Outputs:
    """Check a dataset against the plan's coverage requirements alone (``nbgeo coverage``).

    Parameters
    ----------
    dataset, plan
        What to check, and against which plan.
    ids
        Only these requirements (default: all).
    year
        Evaluation year (default: the plan's horizon).
    engine
        An :class:`~nbgeo.engine.Engine` to snap sites and facilities on (default: this process).
    lang, with_map
        The page's labels; whether ``coverage.html`` carries the map.
    out
        The folder the outputs go to, for the QGIS outputs (``--format qgis``): uncovered sites and service
        areas as styled layers in ``findings.gpkg``, and ``project.qgz``.
    formats, coords
        Of :data:`PAGE_FORMATS` (``nbgeo coverage --format``): ``coverage.html`` (the coverage section of
        audit.html, its tables and its map; the default), ``coverage.pdf``, ``site_checks.xlsx`` /
        ``site_checks.csv`` (one row per uncovered site; GCJ-02 columns too with ``coords=("gcj02",)``).
    strict
        Let requirements of severity 建议 (suggestions) change the exit code too (``--strict``).
    text_lang
        The language of the terminal table (:func:`nbgeo.renderers.terminal.coverage_text`; English by default, as on the command line without ``--lang``).

    Returns
    -------
    Outputs
        ``coverage.json`` (the ``coverage`` section of audit.json), ``coverage.geojson`` (service areas and
        uncovered sites, WGS 84) and the files of ``formats``.
    """
    _chosen("coverage requirement", ids, [c.id for c in plan.coverage], "--id")
    chosen = tuple(c for c in plan.coverage if not ids or c.id in ids)
    when = year or plan.horizon
    only = dataclasses.replace(plan, coverage=chosen)
    entries, shapes = coverage.evaluate_plan_coverage(only, dataset, year=when, engine=engine)
    doc = {"schema": "nbgeo.coverage/1", "year": when, "plan": {"id": plan.id, "path": plan.path},
           "dataset": {"name": dataset.name, "path": dataset.path, "illustrative": dataset.illustrative},
           "coverage": entries}
    features = []
    for title, gdf in shapes.items():
        wgs84 = gdf.to_crs(4326)
        rounded = wgs84.set_geometry(shapely.set_precision(wgs84.geometry.values, 1e-6))
        for feature in json.loads(rounded.to_json(drop_id=True))["features"]:
            feature["properties"]["overlay"] = title
            features.append(feature)
    files = {"coverage.json": _json_writer(clean_json(doc)), "coverage.geojson": _features_writer(features)}
    if set(formats) - {"qgis"}:
        layers = [*(["districts"] if "districts" in dataset else []),
                  *dict.fromkeys(n for c in chosen for n in (c.demand, c.facilities) if n in dataset)]
        found = AuditReport(plan=only, dataset=dataset, year=when, targets=(), sections={"coverage": entries},
                            overlays=shapes, strict=strict)
        files.update(pages.page_files(found, [f for f in formats if f != "qgis"], stem="coverage", lang=lang,
                                      with_map=with_map, coords=coords, sections=["coverage"], layers=layers))
    if out is not None:
        files.update(qgis.qgis_files(dataset, out, overlays=shapes, lang=lang))
    text = terminal.coverage_text(entries, text_lang, titles=readable.plan_titles(plan, text_lang))
    return Outputs("coverage", files, text, exit_code_of(entries, good="met", strict=strict))


def site_files(surfaces: Iterable[str] = (), formats: Sequence[str] = ("html",)) -> list[str]:
    """The files ``nbgeo site`` may write: sites, the audit page (and its formats), one raster per surface."""
    pages = format_files("audit", [f for f in formats if f in ("html", "md", "pdf")])
    return ["sites.gpkg", "audit.json", *pages, *(f"{sid}.tif" for sid in surfaces)]


def site_run(dataset: Any, plan: Plan, *, questions: Sequence[str] = (), ask: dict[str, Any] | None = None,
             surfaces: Sequence[str] = (), year: int | None = None, lang: str = "zh", with_map: bool = True,
             out: str | Path | None = None, formats: Sequence[str] = ("html",), text_lang: str = "en",
             **options: Any) -> Outputs:
    """Answer the plan's ``[[siting]]`` questions, or one of your own (``nbgeo site``).

    Candidate sites that fail one of the plan's siting rules are never chosen.

    Parameters
    ----------
    dataset, plan
        Where to site, and under which plan (its rules and suitability surfaces).
    questions
        Only these ``[[siting]]`` questions (default: all). With ``ask``, the first names that question.
    ask
        A question of your own instead: ``{"demand": LAYER, "facilities": LAYER, "distance": METRES}``.
    surfaces
        Suitability surfaces to build too (``[[suitability]]`` ids); each is written as ``ID.tif``, with its
        zones as ``ID_zones.gpkg``.
    year
        Evaluation year (default: the plan's horizon).
    lang, with_map
        The page's labels; whether audit.html carries the map.
    out
        The folder the outputs go to, for ``project.qgz`` (``--format qgis``) over the styled sites and zones.
    formats
        ``nbgeo site --format``: ``html`` (audit.html, the default), ``md`` (audit.md), ``pdf`` (audit.pdf,
        the page printed by headless Chromium), ``qgis``.
    text_lang
        The language of the terminal text (:func:`nbgeo.renderers.terminal.site_text`; English by default, as on the command line without ``--lang``).
    **options
        Passed to :func:`nbgeo.optimize.site_from_spec`: ``by``, ``k``, ``share``, ``candidates``,
        ``cell``, ``method``, ``time_limit``.

    Returns
    -------
    Outputs
        ``sites.gpkg`` (per question: the chosen sites, every candidate with its verdict, the demand served
        before and after), ``audit.json`` and ``audit.html`` (the ``optimisation`` section), and the surfaces.
        The exit code is 1 when a requirement cannot be met.
    """
    when = year or plan.horizon
    if ask is not None:
        missing = [key for key in ("demand", "facilities", "distance") if ask.get(key) is None]
        if missing:
            msg = "a question of your own needs --demand, --facilities and --distance"
            raise PlanError(msg, code="E-PLAN-UNKNOWN-ID")
        spec_id = check_name(questions[0] if questions else f"{ask['facilities']}_for_{ask['demand']}",
                             what="--siting id")
        specs = [SitingSpec(id=spec_id, params=dict(ask))]
    else:
        _chosen("siting question", questions, [s.id for s in plan.siting], "--siting")
        specs = [s for s in plan.siting if not questions or s.id in questions]
        if not specs and not surfaces:
            msg = f"the plan {plan.id!r} asks no siting question (add [[siting]] tables, or pass --demand ...)"
            raise PlanError(msg, code="E-PLAN-UNKNOWN-ID")
    _chosen("suitability surface", surfaces, [s.id for s in plan.suitability], "--surface")
    results, built = [], {}
    for spec in specs:
        result, surface = optimize.site_from_spec(spec, dataset, plan, year=when, **options)
        results.append(result)
        if surface is not None:
            built[surface.id] = surface
    for sid in surfaces:
        if sid not in built:
            built[sid] = surface_from_spec(next(s for s in plan.suitability if s.id == sid), dataset)
    overlays: dict[str, Any] = {}
    for sid, surface in built.items():
        name = readable.plan_titles(plan, lang).get(sid) or readable.words(sid, lang)
        title = labels.word("map.suitability", lang).format(name=name)
        overlays[title + (labels.word("map.suitability_ill", lang) if surface.illustrative else "")] = surface.classes()
    for r in results:
        overlays.update(r.overlays(lang=lang))
    sections: dict[str, list[dict[str, Any]]] = {"optimisation": [r.to_dict() for r in results]}
    if built:
        sections["suitability"] = [{**s.to_dict(), "status": "computed", "file": f"{sid}.tif"}
                                   for sid, s in built.items()]
    # A question whose requirement cannot be met is what `nbgeo site` answers: it sets the exit code whatever
    # its severity (siting questions are suggestions, 建议, by nature).
    found = AuditReport(plan=plan, dataset=dataset, year=when, targets=(), sections=sections, overlays=overlays,
                        strict=True)
    files: dict[str, Writer] = {}
    if results:  # only surfaces asked for: no sites to write
        files["sites.gpkg"] = lambda path: optimize.write_result(results, path, lang=lang)
    for sid, surface in built.items():
        params = next(s for s in plan.suitability if s.id == sid).params
        zones = surface.zones(min_score=float(params.get("min_score", 0.5)), min_area=float(params.get("min_area", 0)))
        files[f"{sid}.tif"] = _surface_writer(surface, sid)
        if len(zones):
            files[output_path(Path(), sid, "_zones.gpkg").name] = _zones_writer(zones, sid)
    files["audit.json"] = _text_writer(report.to_json(found))
    files.update(pages.page_files(found, [f for f in formats if f in ("html", "md", "pdf")], lang=lang,
                                  with_map=with_map))
    if out is not None:
        files.update(qgis.qgis_files(dataset, out, lang=lang))
    text = terminal.site_text(sections["optimisation"], text_lang, titles=readable.plan_titles(plan, text_lang))
    return Outputs("site", files, text, found.exit_code, report=found)


def _surface_writer(surface: Any, sid: str) -> Writer:
    return lambda path: surface.write_tif(output_path(path.parent, sid, ".tif"))


def _zones_writer(zones: Any, sid: str) -> Writer:
    def write(path: Path) -> None:
        written = write_layer(zones, output_path(path.parent, sid, "_zones.gpkg"), layer=f"{sid}_zones")
        qgis.style_geopackage(written, f"{sid}_zones", "zones")
    return write


def validate_files(*, repair: bool = False) -> list[str]:
    """The outputs ``nbgeo validate --out`` writes: the report, and with ``repair`` the repaired layers."""
    return ["validation.json", "repaired"] if repair else ["validation.json"]


def validate_run(path: str | Path, *, single: dict[str, Any] | None = None,
                 **read_options: Any) -> tuple[Outputs, ValidationError | None]:
    """Check a dataset folder, its ``dataset.toml``, one layer file or a ``postgresql://`` URL (``nbgeo validate``).

    Parameters
    ----------
    path
        What to check.
    single
        For one layer file: its ``kind``, ``layer`` (inside a GeoPackage, FileGDB, zip or workbook),
        ``datum``, ``crs``, ``geometry_column`` and its field, value and unit mapping (``columns``, ``values``,
        ``units``, or a ``mapping`` file: :func:`nbgeo.io.read_file`); refused for a dataset, which declares them in its manifest.
    **read_options
        As :func:`nbgeo.io.read_dataset` takes them (``encoding``, ``assume_crs``, ``repair``, ...).

    Returns
    -------
    outputs, error
        ``validation.json`` (every problem, errors and warnings) and, with ``repair``, the repaired layers as
        GeoPackages in ``repaired/``; the error when the data cannot be used (after writing, raise it), else None.

    Examples
    --------
    >>> import nbgeo
    >>> outputs, error = validate_run(nbgeo.datasets.get_path("ningbo"))
    >>> error is None, outputs.text.startswith("ok: ")
    (True, True)
    """
    single = {key: value for key, value in (single or {}).items() if value is not None}
    is_file = not is_url(path) and Path(path).suffix.lower() != ".toml" and not Path(path).is_dir()
    if single and not is_file:
        where = "its manifest table" if is_url(path) else "dataset.toml"
        msg = (f"--kind, --layer, --datum, --file-crs, --mapping, --column, --values, --unit and --geometry-column apply "
               f"to a single file; a dataset declares them in {where}")
        raise UsageError(msg)
    try:
        if is_url(path):
            ds = postgis.read_dataset(str(path), working_crs=read_options.get("working_crs"))
        elif is_file:
            ds = io.read_file(path, **single, **read_options)
        else:
            ds = io.read_dataset(path, **read_options)
        problems, failed = list(ds.problems), None
    except ValidationError as exc:
        ds, problems, failed = None, list(exc.problems), exc
    errors = [p for p in problems if p.is_error]
    doc = {"schema": "nbgeo.validation/1", "path": mask_dsn(path), "ok": not errors, "errors": len(errors),
           "warnings": len(problems) - len(errors),
           "layers": {n: len(layer.gdf) for n, layer in ds.layers.items()} if ds is not None else {},
           "mappings": {n: list(layer.meta.mapping) for n, layer in ds.layers.items() if layer.meta.mapping}
           if ds is not None else {},
           "problems": [p.to_dict() for p in problems]}
    files: dict[str, Writer] = {"validation.json": _json_writer(doc)}
    if ds is not None and read_options.get("repair"):
        repaired = ds
        files["repaired"] = lambda folder: io.write_dataset(repaired, folder)
    text = ""
    if ds is not None:
        layers = ", ".join(f"{n} ({len(layer.gdf):,})" for n, layer in ds.layers.items())
        mapped = [f"mapped: {n}: " + "; ".join(layer.meta.mapping) for n, layer in ds.layers.items()
                  if layer.meta.mapping]
        text = "\n".join([*(str(p) for p in problems), *mapped, f"ok: {layers}; {len(problems)} warning(s)"])
    return Outputs("validate", files, text, 2 if failed is not None else 0), failed
