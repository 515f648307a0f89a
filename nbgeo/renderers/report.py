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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _atomic, qgis
from ..audit import dataset_info, nbgeo_version
from ..errors import OutputError
from ..layers import LAYERS
from ..plan import counts as binds
from ..progress import track
from ..status import BAD, WARN
from . import assets, labels, readable, render, theme
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
    section_layout,
    section_title,
    severity_badge,
    share_of,
    sorted_entries,
    status_word,
    titled,
    word,
    worst_status,
)
from .maps import audit_map, embed_html
from .markdown import to_markdown

if TYPE_CHECKING:
    from ..audit import AuditReport

__all__ = ["FORMATS", "ChartHook", "default_charts", "json_safe", "progress_bar", "render_files", "to_html", "to_json",
           "to_markdown", "write_report"]

#: Report formats besides ``audit.json`` (always written).
FORMATS = ("html", "md", "qgis")

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
    for e in shown:
        cells = [_cell(k, e.get(k), e, lang) for k in columns]
        if has_bar:
            at = columns.index("actual")
            v = e.get("actual")
            bar = _bar(share_of(v, e.get("threshold"), str(e.get("op", ">="))), theme.colour(str(e.get("status"))),
                       width=120, height=6)
            cells[at] = {"kind": "num", "text": fmt_key("actual", v, e, lang), "bar": bar}
        extra = [{"label": key_label(k, lang), "text": fmt_key(k, e.get(k), e, lang)} for k in folded
                 if e.get(k) not in (None, "")]
        rows.append({"cells": cells, "chart": render.trusted(charts.get(str(e.get("id"))) or ""),
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
        shown = items[:MAX_DETAIL_ROWS]
        context = {"search_m": entry.get("search_m")} if entry.get("search_m") else {}
        out.append({"label": key_label(key, lang), "count": f"{len(items):,}",
                    "head": [key_label(k, lang) for k in columns],
                    "rows": [[_cell(k, item.get(k), {**context, **item}, lang) for k in columns] for item in shown],
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


def _verdict_words(only: Sequence[str] | None, lang: str) -> dict[str, str]:
    """A rules page counts its rules as passing and failing, not as met and not met."""
    if only is None or list(only) != ["rules"]:
        return {}
    return {"met": status_word("pass", lang), "not_met": status_word("fail", lang)}


def _section_failed(report: AuditReport, only: Sequence[str]) -> bool:
    """Whether a section page fails: as its command's exit code, an entry of severity 建议 only when strict."""
    bad = {"fail", "not_met", "unknown"}
    return any(e["status"] in bad and binds(e.get("severity"), strict=report.strict)
               for name in only for e in report.sections.get(name) or [])


def _section_headline(s: dict[str, int], only: Sequence[str], lang: str, *, failed: bool) -> list[dict[str, Any]]:
    """The header of a section page (``nbgeo rules``, ``nbgeo coverage``): its verdict and its entries' counts.

    The verdict is the command's exit code (``failed``); the counts say how many entries are met and not met.
    """
    words = _verdict_words(only, lang)
    counts = [{"count": s[k], "word": words.get(k, word(lang, k)), "status": k, "colour": theme.colour(k)}
              for k in ("met", "not_met", "unknown") if k != "unknown" or s[k]]
    verdict = word(lang, "verdict_fail" if failed else "verdict_pass")
    text = " · ".join([verdict, *(f"{i['count']:,} {i['word']}" for i in counts)])
    return [{"kind": "verdict", "tone": "fail" if failed else "pass", "label": "", "verdict": verdict,
             "counts": counts, "text": text}]


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
        counts = count_statuses([e for name in only for e in report.sections.get(name, ())])
        bad = sum(n for st, n in counts.items() if st in BAD)
        unknown = sum(n for st, n in counts.items() if st in WARN)
        s = {"met": sum(counts.values()) - bad - unknown, "not_met": bad, "unknown": unknown}
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
        "headline": (report.headline().parts(lang) if only is None
                     else _section_headline(s, only, lang, failed=_section_failed(report, only))),
        "count_notes": [n["text"] for n in report.count_notes(lang)
                        if not n["about"].startswith("target:") and (only is None or n["about"] == "rules_year")],
        "pw": {"final": labels.word("pace.final_short", lang), "counts": labels.word("counts.head", lang)},
        "w": {k: word(lang, k) for k in _PAGE_WORDS} | _verdict_words(only, lang),
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
# Markdown


# --------------------------------------------------------------------------------------------------
# files


def render_files(report: AuditReport, *, formats: Sequence[str] = ("html",), lang: str = "zh",
                 **html_options: Any) -> dict[str, str]:
    """The report's files rendered in memory: ``{"audit.json": text, "audit.html": text, ...}``.

    ``audit.json`` always, then each of ``formats`` (:data:`FORMATS`); the
    page takes ``html_options`` (``with_map``, ``basemap``, ``tianditu_key``,
    ``charts``: see :func:`to_html`). All the work that can fail is done
    here, before anything is written.

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> sorted(render_files(r, formats=("md",)))
    ['audit.json', 'audit.md']
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        msg = f"unknown report format(s) {', '.join(map(repr, unknown))}; choose from {', '.join(FORMATS)}"
        raise OutputError(msg, code="E-IO-FORMAT")
    texts = {"audit.json": to_json(report)}
    if "html" in formats:
        texts["audit.html"] = to_html(report, lang=lang, **html_options)
    if "md" in formats:
        texts["audit.md"] = to_markdown(report, lang=lang)
    return texts


def write_report(
    report: AuditReport,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    lang: str = "zh",
    with_map: bool = True,
    formats: Sequence[str] = ("html",),
    basemap: str = "none",
    tianditu_key: str | None = None,
    charts: Mapping[str, str] | ChartHook | None = None,
) -> dict[str, Path]:
    """Write ``audit.json`` and the requested formats (``audit.html``, ``audit.md``) into ``out_dir``, as one set.

    Every file is rendered in memory first; the set then replaces the
    earlier audit's outputs in ``out_dir`` as a whole (:func:`nbgeo._atomic.output_set`):
    last run's ``audit.md`` goes when this run writes HTML only, the other
    files in the folder stay, and a failure or an interruption leaves the
    earlier outputs as they were. ``nbgeo audit --out`` writes through here,
    so the API and the command line write the same ``audit.json``.

    Returns
    -------
    dict
        ``{"json": path, "html": path, "md": path}`` for the files written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> sorted(write_report(r, out, formats=("md",)))
    ['json', 'md']
    >>> sorted(write_report(r, out, overwrite=True, with_map=False))
    ['html', 'json']
    >>> sorted(p.name for p in out.iterdir())
    ['.nbgeo-outputs.json', 'audit.html', 'audit.json']
    """
    out = Path(out_dir)
    names = ["audit.json", *(f"audit.{f}" for f in FORMATS if f in formats and f != "qgis")]
    extra = qgis.qgis_files(report.dataset, out, overlays=report.overlays, lang=lang) if "qgis" in formats else {}
    names += list(extra)
    _atomic.check_outputs(out, command="audit", names=names, overwrite=overwrite)
    texts = render_files(report, formats=formats, lang=lang, with_map=with_map, basemap=basemap,
                         tianditu_key=tianditu_key, charts=charts)
    with _atomic.output_set(out, command="audit", overwrite=overwrite, expect=texts) as staging:
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        for name, write in extra.items():  # --format qgis: findings.gpkg, project.qgz
            write(staging / name)
    return {**{name.rpartition(".")[2]: out / name for name in texts}, **{name: out / name for name in extra}}
