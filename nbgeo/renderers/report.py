"""Audit reports as JSON, as one offline HTML page, and as Markdown; written into a folder as one set.

``audit.json`` follows the versioned format of :mod:`nbgeo.audit`; non-finite
numbers become ``null`` (``allow_nan=False``: the file is always valid JSON).

``audit.html`` is one page that loads nothing from the network: the verdict,
a summary, the target table with progress bars and a small chart per target
(progress per year), the findings of every other section of the audit
(rules, coverage, indicators, ... as other modules add them), the map drawn
straight into the page (Leaflet and nbgeo's runtime inlined once; no iframe,
no second copy of the data), and the provenance of every layer.

``audit.md`` is the same report as plain Markdown (GitHub-flavoured tables),
for e-mails, wikis and merge requests.

The page is the template ``templates/audit.html.j2`` rendered by
:mod:`nbgeo.renderers.render` from a view model of plain values, so every text from the
plan or the data is escaped with :func:`nbgeo.renderers.html.safe_text` by default;
Markdown escapes with :func:`nbgeo.renderers.html.md_text`.

Charts
------
Each target row has a chart area. By default it holds the target's progress
per year drawn by :func:`nbgeo.charts.progress_chart` from the audit's
``progress`` section (computed on the fly when the audit did not track it).
Pass ``charts=`` to :func:`to_html` to draw something else: a mapping from
target id to SVG markup, or a function ``(section, id) -> svg | None`` that
is asked for every target (section ``"targets"``) and every entry with an
``id`` of the other sections. Chart markup is trusted: build it in code,
with every text through :func:`~nbgeo.html.safe_text`.

Examples
--------
>>> from nbgeo import audit, datasets, io, plan, report
>>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
>>> import json
>>> json.loads(report.to_json(r))["schema"]
'nbgeo.audit/1'
>>> page = report.to_html(r, with_map=False)
>>> page.count("<svg") >= 9, "http://" in page or "https://" in page
(True, False)
>>> report.to_markdown(r, lang="en").splitlines()[0]
'# Ningbo manufacturing plan 2021–2025: spatial targets'
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _atomic, qgis
from ..audit import dataset_info, nbgeo_version
from ..errors import OutputError
from ..layers import LAYERS
from ..progress import track
from ..status import BAD, WARN
from . import assets, checktable, chromium, labels, readable, render, theme
from . import entries as shared  # read at call time: tests and callers may change shared.MAX_ROWS
from .charts import progress_chart
from .checktable import with_places
from .columns import split_columns
from .entries import (
    CRS_KEYS,
    LAYER_KEYS,
    MACHINE_KEYS,
    MAX_DETAIL_ROWS,
    NOTE_KEYS,
    OPS,
    TEXT_KEYS,
    basis_text,
    cell_text,
    count_statuses,
    detail_lists,
    fmt_key,
    fmt_unit,
    group_targets,
    is_advisory,
    key_label,
    opens_group,
    section_counts,
    section_failed,
    section_headline,
    section_layout,
    section_title,
    severity_badge,
    share_of,
    sorted_entries,
    status_word,
    titled,
    verdict_words,
    word,
    worst_status,
)
from .maps import audit_map, embed_html
from .markdown import to_markdown

if TYPE_CHECKING:
    from ..audit import AuditReport

__all__ = ["FORMATS", "PAGE_FORMATS", "ChartHook", "Writer", "default_charts", "json_safe", "page_files", "page_names",
           "progress_bar", "render_files", "report_files", "to_html", "to_json", "to_markdown", "write_files",
           "write_report"]

#: Report formats besides ``audit.json`` (always written): what ``nbgeo audit --format`` takes. ``pdf`` is the
#: page printed by headless Chromium; ``xlsx`` and ``csv`` the per-site check table (图斑核查表).
FORMATS = ("html", "md", "qgis", "pdf", "xlsx", "csv")
#: The formats of one page (``STEM.html``, ``STEM.md``, ``STEM.pdf``) and of the check table (``site_checks.*``).
PAGE_FORMATS = ("html", "md", "pdf", "xlsx", "csv")

#: Writes one file at the path it is given (what it returns is ignored).
Writer = Callable[[Path], object]

#: A chart provider: ``(section, id) -> SVG markup or None``.
ChartHook = Callable[[str, str], "str | None"]

# --------------------------------------------------------------------------------------------------
# JSON


def json_safe(value: Any) -> Any:
    """Replace non-finite floats by None and numpy scalars by Python values, recursively (for strict JSON).

    Examples
    --------
    >>> import numpy as np
    >>> json_safe({"a": [float("nan"), np.int64(3)], "b": (1.5, float("inf"))})
    {'a': [None, 3], 'b': [1.5, None]}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    return value


def to_json(report: AuditReport) -> str:
    """The report as ``audit.json`` text (UTF-8, indented, always valid JSON)."""
    return json.dumps(json_safe(report.to_dict()), ensure_ascii=False, indent=2, allow_nan=False)


# --------------------------------------------------------------------------------------------------
# shared helpers


def _bar(share: float | None, colour: str = theme.GOOD, *, width: int = 160, height: int = 8) -> dict[str, Any] | None:
    """The figures of a progress bar (macro ``pbar`` of ``templates/macros.html.j2``), or None without a share."""
    if share is None:
        return None
    share = max(0.0, min(1.0, float(share)))
    if not colour.startswith("#") or len(colour) != 7:
        colour = theme.NEUTRAL
    return {"width": width, "height": height, "rx": f"{height / 2:g}", "fill": f"{share * width:.1f}",
            "colour": colour, "label": f"{share:.0%}"}


def progress_bar(share: float | None, colour: str = theme.GOOD, *, width: int = 160, height: int = 8) -> str:
    """A small inline-SVG progress bar (``share`` from 0 to 1), or ``""`` when there is no share.

    Examples
    --------
    >>> progress_bar(0.5, width=100).count("<rect")
    2
    >>> progress_bar(None)
    ''
    """
    bar = _bar(share, colour, width=width, height=height)
    return "" if bar is None else render.render("bar.svg.j2", bar=bar)


# --------------------------------------------------------------------------------------------------
# charts


def default_charts(report: AuditReport, *, lang: str = "zh", width: int = 300, height: int = 140) -> ChartHook:
    """The default chart provider: each target's (and indicator's) progress per year.

    Uses the audit's ``progress`` section, or tracks the progress now when the
    audit did not (:func:`nbgeo.progress.track`). Charts are drawn by
    :func:`nbgeo.charts.progress_chart`.

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> hook = default_charts(r)
    >>> hook("targets", "chargers").startswith("<svg"), hook("targets", "no such target")
    (True, None)
    """
    entries = report.sections.get("progress")
    if entries is None:
        entries = [p.to_dict() for p in track(report.plan, report.dataset, as_of=report.year)]
    by_key = {("indicators" if e.get("kind") == "indicator" else "targets", str(e.get("id"))): e for e in entries}
    cache: dict[tuple[str, str], str] = {}

    def hook(section: str, item: str) -> str | None:
        key = (section, item)
        if key not in by_key:
            return None
        if key not in cache:
            cache[key] = progress_chart(by_key[key], width=width, height=height, lang=lang)
        return cache[key]

    return hook


def _chart_hook(report: AuditReport, charts: Mapping[str, str] | ChartHook | None, lang: str) -> ChartHook:
    if charts is None:
        return default_charts(report, lang=lang)
    if callable(charts):
        return charts
    mapping = dict(charts)
    return lambda section, item: mapping.get(item) if section == "targets" else None


# --------------------------------------------------------------------------------------------------
# HTML: view models (plain values) for templates/audit.html.j2; the template escapes every text


def _pill(status: str, lang: str) -> dict[str, str]:
    return {"text": status_word(status, lang), "colour": theme.colour(status)}


def _target_rows(report: AuditReport, lang: str, chart: ChartHook) -> list[dict[str, Any]]:
    # Mid-term: the pill is the target's pace (nbgeo.pace), its status against the final threshold second.
    paced = {str(p["id"]): str(p["status"]) for p in report.pace()} if report.headline().mid_term else {}
    notes = {n["about"]: n["text"] for n in report.count_notes(lang)}
    rows = []
    groups = sorted(group_targets(report.targets), key=lambda g: is_advisory(g[-1]))  # suggestions apart, last
    for group in groups:
        last = group[-1]
        status = worst_status([r.status for r in group]) if len(group) > 1 else last.status
        final = _pill(status, lang) if last.id in paced else None
        status = paced.get(last.id, status)
        unit = readable.unit(last.unit, lang)
        chips = [{"year": r.year, "colour": theme.colour(r.status),
                  "title": f"{r.year}: {fmt_unit(r.actual, r.unit)} {unit}"} for r in group] if len(group) > 1 else []
        rows.append({
            "id": last.id, "status": _pill(status, lang), "phrase": last.phrase,
            # zh: the phrase is the Chinese title, shown once; en: the English title under the phrase
            "title": "" if readable.title(last, lang) == last.phrase else readable.title(last, lang),
            "proposed": readable.words("proposed", lang, namespace="readable") if last.proposed else "",
            "actual": fmt_unit(last.actual, last.unit), "unit": unit,
            "op": OPS.get(last.op, last.op), "threshold": fmt_unit(last.threshold, last.unit), "year": last.year,
            "bar": _bar(share_of(last.actual, last.threshold, last.op), theme.colour(last.status)),
            "margin": None if last.margin is None else fmt_unit(last.margin, last.unit, "+"),
            "chips": chips, "note": readable.note_text({"note": last.note}, lang), "chart": render.trusted(chart("targets", last.id) or ""),
            "final": final, "count_note": notes.get(f"target:{last.id}"),
            "severity": severity_badge(last.severity, lang), "basis": basis_text(last.basis),
            "advisory": is_advisory(last),
        })
    return rows


def _cell(key: str, value: Any, record: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """One table cell: a status pill, a number formatted for its key, or text in the reader's words.

    A rule finding's reason is worded from its ``reason_key`` and ``reason_values`` in ``lang``; a CRS is
    shown by name; the title cell carries the entry's id as its tooltip (the id is not shown as text).
    """
    if key == "status":
        return {"kind": "pill", "pill": _pill(str(value), lang)}
    if key == "severity":
        return {"kind": "sev", "pill": severity_badge(value, lang)}
    if key == "basis":
        return {"kind": "txt", "text": basis_text(value)}
    if key == "control_line" and isinstance(value, str):
        return {"kind": "text", "text": labels.label("value", value, lang)}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"kind": "num", "text": fmt_key(key, value, record, lang), "bar": None}
    if key == "reason" and record.get("reason_key"):
        return {"kind": "txt", "text": readable.reason(str(record["reason_key"]), record.get("reason_values") or {},
                                                       lang)}
    if key in CRS_KEYS and value:
        return {"kind": "text", "text": readable.crs_name(value, lang)}
    if key == "unit":
        return {"kind": "text", "text": readable.unit(value, lang)}
    if key in LAYER_KEYS and isinstance(value, str):
        return {"kind": "text", "text": readable.words(value, lang)}
    if key.startswith("distance") and value is None and record.get("search_m"):
        return {"kind": "num", "text": readable.dash("beyond", lang, distance=record["search_m"]), "bar": None}
    if key == "note" and isinstance(value, str):
        return {"kind": "txt", "text": readable.note_text(record, lang)}
    if key == "candidate_source" and isinstance(value, str):
        return {"kind": "txt", "text": readable.note_text({"note": value}, lang)}
    if key in NOTE_KEYS and isinstance(value, str):
        return {"kind": "txt", "text": readable.plain(value, lang)}
    cell: dict[str, Any] = {"kind": "txt" if key in TEXT_KEYS else "text", "text": cell_text(value, lang)}
    if key == "title" and record.get("id") is not None:
        cell["tip"] = str(record["id"])
    if key == "title":  # a compound ("health-protection") is one word: a narrow column must not split it
        cell["parts"] = [{"text": t, "whole": i % 2 == 1} for i, t in enumerate(_HYPHENATED.split(cell["text"])) if t]
    return cell


#: A word joined by hyphens (``health-protection``); ``split`` with it alternates plain text and such words.
_HYPHENATED = re.compile(r"(\S+-\S+)")


def _more_note(total: int, shown: int, lang: str) -> dict[str, str] | None:
    """"N more; see the JSON" under a table cut at ``shown`` rows (None when nothing was cut)."""
    if total <= shown:
        return None
    return {"count": f"{total - shown:,}", "text": f"{word(lang, 'more')}; {word(lang, 'in_json')}"}


def _section_columns(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    return section_layout(entries)[0]


def _section_view(name: str, entries: Sequence[Mapping[str, Any]], lang: str, chart: ChartHook) -> dict[str, Any]:
    """One audit section as a table: status counts, what all entries share, then a row per entry (worst first).

    The table shows the planner's columns (:data:`nbgeo.renderers.columns.PLANNER_COLUMNS`); the other values of each entry are in a
    folded "more columns" list under its row, and its lists of records (failing sites...) in tables of their own.
    """
    view: dict[str, Any] = {"name": name, "title": section_title(name, lang), "rows": []}
    if not entries:
        return view
    counts = count_statuses(entries)
    columns, same = section_layout(entries)
    columns, folded = split_columns(name, columns)
    has_bar = {"actual", "threshold"} <= set(columns)
    shown = sorted_entries(entries)[:shared.MAX_ROWS]
    charts = {str(e.get("id")): chart(name, str(e.get("id"))) for e in shown if e.get("id") is not None}
    with_charts = any(charts.values())
    rows = []
    for e, first in zip(shown, opens_group(shown), strict=True):  # a row group's chart once, on its first row
        cells = [_cell(k, e.get(k), e, lang) for k in columns]
        if has_bar:
            at = columns.index("actual")
            v = e.get("actual")
            bar = _bar(share_of(v, e.get("threshold"), str(e.get("op", ">="))), theme.colour(str(e.get("status"))),
                       width=120, height=6)
            cells[at] = {"kind": "num", "text": fmt_key("actual", v, e, lang), "bar": bar}
        extra = [{"label": key_label(k, lang), "text": fmt_key(k, e.get(k), e, lang)} for k in folded
                 if e.get(k) not in (None, "")]
        rows.append({"cells": cells, "chart": render.trusted((charts.get(str(e.get("id"))) if first else "") or ""),
                     "details": _details(e, lang), "extra": extra, "advisory": is_advisory(e)})
    return view | {
        "pills": [_pill(s, lang) | {"count": f"{n:,}"} for s, n in sorted(counts.items(), key=lambda kv: kv[0])],
        "common": [f"{key_label(k, lang)}: {fmt_key(k, v, None, lang)}" for k, v in same.items()],
        "head": [key_label(k, lang) for k in columns] + ([word(lang, "chart")] if with_charts else []),
        "with_charts": with_charts, "span": len(columns) + with_charts, "rows": rows,
        "more": _more_note(len(entries), len(shown), lang),
        "advisory_note": word(lang, "advisory_note") if any(is_advisory(e) for e in entries) else "",
    }


def _details(entry: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    """A folded sub-table under a section row for each list of records it holds (failing sites...)."""
    out = []
    for key, items in detail_lists(entry):
        columns = [k for k in dict.fromkeys(k for item in items for k in item) if k not in MACHINE_KEYS]
        if "title" in columns:  # records of the plan (a site's rules): by their title in the reader's words
            columns = [k for k in columns if k not in ("id", "phrase")]
        shown = items[:MAX_DETAIL_ROWS]
        context = {"search_m": entry.get("search_m")} if entry.get("search_m") else {}
        out.append({"label": key_label(key, lang), "count": f"{len(items):,}",
                    "head": [key_label(k, lang) for k in columns],
                    "rows": [[_cell(k, readable.title(item, lang) if k == "title" else item.get(k),
                                    {**context, **item}, lang) for k in columns] for item in shown],
                    "more": _more_note(len(items), len(shown), lang)})
    return out


def _provenance(report: AuditReport, lang: str) -> list[dict[str, Any]]:
    rows = []
    for name, layer in report.dataset.layers.items():
        meta = layer.meta
        spec = LAYERS.get(name)
        title = (spec.title_zh if lang == "zh" else spec.title_en) if spec else ""
        flag = ({"text": word(lang, "illustrative"), "colour": theme.WARN} if meta.illustrative
                else {"text": word(lang, "real"), "colour": theme.GOOD})
        rows.append({"title": title or readable.words(name, lang), "name": name, "count": f"{len(layer.gdf):,}",
                     "flag": flag, "source": meta.source, "licence": meta.licence, "datum": meta.datum,
                     "crs": readable.crs_name(meta.crs, lang) if meta.crs else "",
                     "datum_basis": word(lang, f"datum_{meta.datum_basis}") if meta.datum_basis else "",
                     "note": meta.note, "mapping": "; ".join(meta.mapping)})
    return rows


def _tables(report: AuditReport, lang: str) -> list[dict[str, Any]]:
    tables = dataset_info(report.dataset).get("tables") or {}
    if not isinstance(tables, Mapping):
        return []
    rows = []
    for name, value in tables.items():
        info = value if isinstance(value, Mapping) else {"value": value}
        rows.append({"name": readable.words(name, lang),
                     "count": cell_text(info.get("rows", info.get("features", "")), lang),
                     "flag": {"text": word(lang, "illustrative"), "colour": theme.WARN} if info.get("illustrative")
                     else None,
                     "source": cell_text(info.get("source", ""), lang),
                     "licence": cell_text(info.get("licence", ""), lang), "note": cell_text(info.get("note", ""), lang)})
    return rows


def _problems(report: AuditReport) -> dict[str, Any] | None:
    problems = report.problems
    if not problems:
        return None
    return {"count": f"{len(problems):,}", "rows": [
        {"code": p.code, "message": p.message, "hint": p.hint,
         "where": ", ".join(str(x) for x in (p.file, p.layer, p.feature, p.column) if x is not None)}
        for p in problems[:shared.MAX_ROWS]]}


def _summary_cards(report: AuditReport, lang: str, *, only: Sequence[str] | None = None) -> list[dict[str, Any]]:
    s = report.summary()
    total = max(len(group_targets(report.targets)), 1)
    results = len(report.targets)
    of = labels.word("report.cards_of", lang).format(checks=f"{results:,}", targets=f"{total:,}")
    # Mid-term: the pace of every target and indicator comes first; met / not met says "final threshold".
    head = report.headline()
    paced = head.parts(lang)[0]["counts"] if head.mid_term and only is None else []
    cards = [{"colour": i["colour"], "count": i["count"], "label": status_word(i["status"], lang),
              "of": labels.word("pace.of", lang).format(count=sum(head.pace.values()), year=report.year)}
             for i in paced]
    final = f" · {labels.word('pace.final_short', lang)}" if paced else ""
    cards += [{"colour": theme.colour(k), "count": s["targets"][k], "label": word(lang, k) + final, "of": of}
              for k in ("met", "not_met", "unknown") if (k != "unknown" or s["targets"][k]) and only is None]
    for name, entries in report.sections.items():
        if (only is not None and name not in only) or (name == "progress" and paced):  # pace cards said it
            continue
        counts = count_statuses(entries)
        bad = sum(n for st, n in counts.items() if st in BAD or st in WARN)
        cards.append({"colour": theme.BAD if bad else theme.GOOD, "count": f"{bad:,}",
                      "label": labels.word("report.section_not_passed", lang).format(section=section_title(name, lang)),
                      "of": " · ".join(f"{n:,} {status_word(st, lang)}" for st, n in sorted(counts.items()))})
    return cards


#: The words of audit.html (``report.*`` and ``status.*`` in nbgeo.labels).
_PAGE_WORDS = ("summary", "targets", "status", "target", "value", "chart", "margin", "none", "map", "map_note", "basis",
               "provenance", "layer", "features", "kind", "source", "licence", "datum", "note", "mapped", "tables",
               "table",
               "rows", "problems", "code", "message", "where", "hint", "generated", "offline", "ill_head", "ill_body",
               "met", "not_met", "unknown", "more_columns")


def to_html(
    report: AuditReport,
    *,
    lang: str = "zh",
    with_map: bool = True,
    basemap: str = "none",
    tianditu_key: str | None = None,
    charts: Mapping[str, str] | ChartHook | None = None,
    sections: Sequence[str] | None = None,
    layers: Sequence[str] | None = None,
) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    report
        The audit.
    lang
        ``"zh"`` or ``"en"`` for headings and map labels (plan phrases stay Chinese).
    with_map
        Draw the audit map into the page (Leaflet inlined once; about 1.5 MB for the sample).
    basemap, tianditu_key
        As for :func:`nbgeo.maps.audit_map`; the default ``"none"`` keeps the page offline.
    charts
        The chart of each target: a mapping from target id to SVG markup, a
        function ``(section, id) -> svg | None``, or None for
        :func:`default_charts`.
    sections
        Only these sections, without the targets: the page of one command (``nbgeo rules`` writes
        ``rules.html`` with ``sections=["rules"]``), the same section audit.html has for its part.
    layers
        The data layers on the map (default: all).

    Returns
    -------
    str

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> page = to_html(r, with_map=False, sections=["rules"], lang="en")
    >>> "id='section-rules'" in page, "id='targets'" in page, "id='section-coverage'" in page
    (True, False, False)
    """
    lang = lang if lang in labels.LANGS else "en"
    map_html, head = "", ""
    if with_map:
        m = audit_map(report, lang=lang, basemap=basemap, tianditu_key=tianditu_key,
                      layers=list(layers) if layers is not None else None)
        map_html, head = embed_html(m, height="680px"), assets.head_html()
    view = _page_view(report, lang, _chart_hook(report, charts, lang), map_html=map_html, head=head, only=sections)
    return render.render("audit.html.j2", **view)


def _page_view(report: AuditReport, lang: str, chart: ChartHook, *, map_html: str, head: str,
               only: Sequence[str] | None = None) -> dict[str, Any]:
    """The variables of ``templates/audit.html.j2``; ``map_html`` and ``head`` are nbgeo's own markup.

    With ``only``, the page of those sections alone: no target table, and the verdict counts their entries.
    """
    plan, ds = report.plan, report.dataset
    s = report.summary()["targets"]
    titles = readable.plan_titles(report.plan, lang)
    sections = [_section_view(name, titled(with_places(report, entries, lang=lang) if name == "coverage" else entries,
                                            titles, lang), lang, chart)
                for name, entries in report.sections.items()
                if name != "progress" and (only is None or name in only)]  # progress: the targets' chart column
    nav = [{"anchor": "summary", "text": word(lang, "summary")}]
    if only is None:
        nav.append({"anchor": "targets", "text": word(lang, "targets")})
    else:
        s = section_counts([e for name in only for e in report.sections.get(name, ())])
    nav += [{"anchor": f"section-{v['name']}", "text": v["title"]} for v in sections]
    if map_html:
        nav.append({"anchor": "map", "text": word(lang, "map")})
    nav.append({"anchor": "provenance", "text": word(lang, "provenance")})
    if report.problems:
        nav.append({"anchor": "problems", "text": word(lang, "problems")})
    return {
        "lang": "zh-CN" if lang == "zh" else "en",
        "css": render.trusted(theme.PAGE_CSS),
        "head": render.trusted(head),
        "title": " · ".join([*(v["title"] for v in sections if only is not None),
                             plan.title if lang == "zh" else (plan.title_en or plan.title)]),
        "subtitle": " · ".join(x for x in (plan.title_en if lang == "zh" else plan.title,
                                           f"{word(lang, 'evaluated')} {report.year}", f"{word(lang, 'dataset')} {ds.name}",
                                           report.created) if x),
        "headline": (report.headline().parts(lang) if only is None else
                     section_headline(s, only, lang, failed=section_failed(report.sections, only, strict=report.strict))),
        "count_notes": [n["text"] for n in report.count_notes(lang)
                        if not n["about"].startswith("target:") and (only is None or n["about"] == "rules_year")],
        "pw": {"final": labels.word("pace.final_short", lang), "counts": labels.word("counts.head", lang)},
        "w": {k: word(lang, k) for k in _PAGE_WORDS} | verdict_words(only, lang),
        "nav": nav,
        "illustrative": ", ".join(readable.words(n, lang) for n, lyr in ds.layers.items() if lyr.meta.illustrative)
        if ds.illustrative
        else None,
        "cards": _summary_cards(report, lang, only=only),
        "targets": _target_rows(report, lang, chart) if only is None else None,
        "source": plan.source,
        "sections": sections,
        "map": render.trusted(map_html),
        "provenance": _provenance(report, lang),
        "tables": _tables(report, lang),
        "problems": _problems(report),
        "version": nbgeo_version(),
        "created": report.created,
    }


# --------------------------------------------------------------------------------------------------
# files: every format of every command, rendered here (``nbgeo.runs`` writes the CLI's sets through these)


def _refuse_unknown(formats: Sequence[str], known: Sequence[str]) -> None:
    unknown = [f for f in formats if f not in known]
    if unknown:
        msg = f"unknown report format(s) {', '.join(map(repr, unknown))}; choose from {', '.join(known)}"
        raise OutputError(msg, code="E-IO-FORMAT")


def render_files(report: AuditReport, *, formats: Sequence[str] = ("html",), lang: str = "zh",
                 **html_options: Any) -> dict[str, str]:
    """The report's text files rendered in memory: ``{"audit.json": text, "audit.html": text, ...}``.

    ``audit.json`` always, then ``audit.html`` and ``audit.md`` when ``formats`` (of :data:`FORMATS`) asks
    for them; the page takes ``html_options`` (``with_map``, ``basemap``, ``tianditu_key``, ``charts``: see
    :func:`to_html`). The other formats are not text: :func:`report_files` has every one.

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> sorted(render_files(r, formats=("md",)))
    ['audit.json', 'audit.md']
    """
    _refuse_unknown(formats, FORMATS)
    texts = {"audit.json": to_json(report)}
    if "html" in formats:
        texts["audit.html"] = to_html(report, lang=lang, **html_options)
    if "md" in formats:
        texts["audit.md"] = to_markdown(report, lang=lang)
    return texts


def page_names(stem: str, formats: Sequence[str]) -> list[str]:
    """The files ``formats`` adds to a page ``STEM``: ``STEM.html``, ``STEM.md``, ``STEM.pdf``, the check tables.

    Examples
    --------
    >>> page_names("rules", ("html", "md", "pdf", "csv", "qgis"))
    ['rules.html', 'rules.md', 'rules.pdf', 'site_checks.csv']
    """
    names = [f"{stem}.{f}" for f in ("html", "md", "pdf") if f in formats]
    return names + [checktable.FILES[f] for f in ("xlsx", "csv") if f in formats]


def _text_writer(text: str) -> Writer:
    def write(path: Path) -> None:
        _atomic.write_text(path, text, overwrite=True)  # the staging folder is nbgeo's own
    return write


def _bytes_writer(data: bytes) -> Writer:
    def write(path: Path) -> None:
        _atomic.write_bytes(path, data, overwrite=True)
    return write


def _pdf_writer(html: str) -> Writer:
    """Print a page to PDF in headless Chromium, from a private temporary copy of the page."""
    def write(path: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="nbgeo-print-") as tmp:
            page = Path(tmp) / "page.html"
            page.write_text(html, encoding="utf-8")
            chromium.print_pdf(page, path, overwrite=True)
    return write


def page_files(report: AuditReport, formats: Sequence[str] = ("html",), *, stem: str = "audit", lang: str = "zh",
               with_map: bool = True, coords: Sequence[str] = (), sections: Sequence[str] | None = None,
               layers: Sequence[str] | None = None, **html_options: Any) -> dict[str, Writer]:
    """The writers of a page's formats: ``STEM.html``, ``STEM.md``, ``STEM.pdf`` and the per-site check table.

    The page is rendered once (for the HTML and its PDF), the Markdown once, the check table once (for xlsx
    and csv), all before anything is written, so that what can fail fails first; the writers only write
    (the PDF is printed by headless Chromium, which is looked for here). ``nbgeo audit``, ``rules``,
    ``coverage`` and ``site`` write their pages through here, and so does :func:`write_report`.

    Parameters
    ----------
    report
        The audit, or one command's part of it (:mod:`nbgeo.runs`).
    formats
        Of :data:`PAGE_FORMATS`.
    stem, sections, layers
        The page's name; only these sections (``rules.html`` and ``rules.md`` are the rules section of
        audit.html and audit.md: :func:`to_html`, :func:`to_markdown`); the map's data layers.
    lang, with_map, coords, **html_options
        The language of everything; whether the page carries the map; ``("gcj02",)`` for GCJ-02 columns in
        the check table too (:func:`nbgeo.renderers.checktable.check_table`); ``basemap``, ``tianditu_key``
        and ``charts`` of :func:`to_html`.

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> sorted(page_files(r, ("md", "csv"), stem="rules", sections=["rules"]))
    ['rules.md', 'site_checks.csv']
    """
    _refuse_unknown(formats, PAGE_FORMATS)
    if "pdf" in formats:
        chromium.require_chromium()  # no browser: say so before any work
    files: dict[str, Writer] = {}
    if "html" in formats or "pdf" in formats:
        html = to_html(report, lang=lang, with_map=with_map, sections=sections, layers=layers, **html_options)
        if "html" in formats:
            files[f"{stem}.html"] = _text_writer(html)
        if "pdf" in formats:
            files[f"{stem}.pdf"] = _pdf_writer(html)
    if "md" in formats:
        files[f"{stem}.md"] = _text_writer(to_markdown(report, lang=lang, sections=sections))
    if "xlsx" in formats or "csv" in formats:
        table = checktable.check_table(report, lang=lang, coords=coords)
        if "xlsx" in formats:
            files[checktable.FILES["xlsx"]] = _bytes_writer(checktable.to_xlsx(table, lang=lang))
        if "csv" in formats:
            files[checktable.FILES["csv"]] = _bytes_writer(checktable.to_csv_bytes(table))
    return files


def report_files(report: AuditReport, formats: Sequence[str] = ("html",), *, lang: str = "zh",
                 with_map: bool = True, coords: Sequence[str] = (), out: str | Path | None = None,
                 **html_options: Any) -> dict[str, Writer]:
    """An audit's files, not yet written: ``audit.json`` and each of ``formats`` (:data:`FORMATS`).

    ``nbgeo audit --out`` (:func:`nbgeo.runs.audit_outputs`) and :func:`write_report` both write these, so
    the API and the command line write the same files. ``qgis`` needs ``out``, the folder the set goes to
    (``project.qgz`` refers to the GeoPackages beside it); the other formats: :func:`page_files`.

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> sorted(report_files(r, ("md", "xlsx")))
    ['audit.json', 'audit.md', 'site_checks.xlsx']
    """
    _refuse_unknown(formats, FORMATS)
    files = {"audit.json": _text_writer(to_json(report))}
    files.update(page_files(report, [f for f in formats if f != "qgis"], lang=lang, with_map=with_map, coords=coords,
                            **html_options))
    if "qgis" in formats and out is not None:
        files.update(qgis.qgis_files(report.dataset, out, overlays=report.overlays, lang=lang))
    return files


def write_files(files: Mapping[str, Writer], folder: str | Path, *, command: str, overwrite: bool = False
                ) -> list[Path]:
    """Write ``files`` into ``folder`` as the set of ``command``, replacing that command's earlier set whole.

    Each writer writes its file into a staging folder (:func:`nbgeo._atomic.output_set`); files that a writer
    chose not to create are simply absent. Returns the paths written, sorted by name.
    """
    with _atomic.output_set(folder, command=command, overwrite=overwrite, expect=files) as staging:
        for name, writer in files.items():
            writer(staging / name)
        written = sorted(path.name for path in staging.iterdir() if not path.name.startswith("."))
    return [Path(folder) / name for name in written]


def write_report(
    report: AuditReport,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    lang: str = "zh",
    with_map: bool = True,
    formats: Sequence[str] = ("html",),
    coords: Sequence[str] = (),
    basemap: str = "none",
    tianditu_key: str | None = None,
    charts: Mapping[str, str] | ChartHook | None = None,
) -> dict[str, Path]:
    """Write ``audit.json`` and every format ``nbgeo audit --format`` writes into ``out_dir``, as one set.

    The files are those of ``nbgeo audit --out`` for the same audit, from the same code
    (:func:`report_files`): ``audit.html``, ``audit.md``, ``audit.pdf`` (the page printed by headless
    Chromium, A4), the per-site check table ``site_checks.xlsx`` / ``site_checks.csv``, and the QGIS outputs
    (``findings.gpkg``, ``dataset.gpkg``, ``project.qgz``). Every file is rendered in memory first; the set then
    replaces the earlier audit's outputs in ``out_dir`` as a whole (:func:`nbgeo._atomic.output_set`): last
    run's ``audit.md`` goes when this run writes HTML only, the other files in the folder stay, and a failure
    or an interruption leaves the earlier outputs as they were.

    Parameters
    ----------
    report
        The audit (:func:`nbgeo.audit.run_audit`).
    out_dir, overwrite
        The folder; replace the audit's earlier outputs there (else ``E-IO-EXISTS`` when there are some).
    lang, with_map
        The language of the pages and the check table; whether the page (and its PDF) carries the map.
    formats
        Of :data:`FORMATS`: ``html``, ``md``, ``pdf`` (needs Chromium: ``E-MAP-BROWSER`` before any work
        without it), ``xlsx``, ``csv``, ``qgis``.
    coords
        ``("gcj02",)``: GCJ-02 longitude and latitude in the check table too, to find each site on Amap.
    basemap, tianditu_key, charts
        As for :func:`to_html`.

    Returns
    -------
    dict
        For the files written: ``"json"``, ``"html"``, ``"md"``, ``"pdf"``, ``"xlsx"``, ``"csv"`` (by their
        extension) and the QGIS files by name (``"project.qgz"``, ...) → path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> sorted(write_report(r, out, formats=("md", "xlsx", "csv"), coords=("gcj02",)))
    ['csv', 'json', 'md', 'xlsx']
    >>> sorted(write_report(r, out, overwrite=True, with_map=False))
    ['html', 'json']
    >>> sorted(p.name for p in out.iterdir())
    ['.nbgeo-outputs.json', 'audit.html', 'audit.json']
    """
    out = Path(out_dir)
    _refuse_unknown(formats, FORMATS)
    names = ["audit.json", *page_names("audit", formats), *(qgis.FILES if "qgis" in formats else ())]
    _atomic.check_outputs(out, command="audit", names=names, overwrite=overwrite)
    files = report_files(report, formats, lang=lang, with_map=with_map, coords=coords, out=out, basemap=basemap,
                         tianditu_key=tianditu_key, charts=charts)
    written = write_files(files, out, command="audit", overwrite=overwrite)
    by_format = set(page_names("audit", FORMATS)) | {"audit.json"}
    return {(path.suffix[1:] if path.name in by_format else path.name): path for path in written}
