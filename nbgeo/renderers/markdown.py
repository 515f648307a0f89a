"""The audit as Markdown (``audit.md``): GitHub-flavoured tables for e-mails, wikis and merge requests.

The same entries, words and figures as the page (:mod:`nbgeo.renderers.entries`); text is escaped for
Markdown with :func:`nbgeo.renderers.html.md_text`, never with HTML entities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..audit import nbgeo_version
from . import entries as shared  # read at call time: tests and callers may change shared.MAX_ROWS
from . import labels, readable
from .checktable import with_places
from .columns import split_columns
from .html import md_text

if TYPE_CHECKING:
    from ..audit import AuditReport
from .entries import (
    MACHINE_KEYS,
    MAX_DETAIL_ROWS,
    NOTE_KEYS,
    OPS,
    basis_text,
    count_statuses,
    detail_lists,
    fmt_key,
    fmt_unit,
    group_targets,
    is_advisory,
    key_label,
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
    word,
    worst_status,
)

__all__ = ["to_markdown"]


def _md_detail(entries: Sequence[Mapping[str, Any]], lang: str) -> list[str]:
    """Markdown tables of the records each entry lists (a rule's failing sites...)."""
    out: list[str] = []
    for e in sorted_entries(entries)[:shared.MAX_ROWS]:
        for key, items in detail_lists(e):
            columns = [k for k in dict.fromkeys(k for item in items for k in item) if k not in MACHINE_KEYS]
            context = {"search_m": e.get("search_m")} if e.get("search_m") else {}  # "—" says what it means
            rows = [[_md_status(str(item.get(k)), lang) if k == "status" else _md_binding(k, item.get(k), lang)
                     if k in ("severity", "basis") else md_text(_md_cell(k, {**context, **item}, lang))
                     for k in columns] for item in items[:MAX_DETAIL_ROWS]]
            name = e.get("title") or readable.words(str(e.get("id", "")), lang)
            out += ["", f"**{md_text(name)}** — {md_text(key_label(key, lang))} ({len(items):,})", ""]
            out.append(_md_table([md_text(key_label(k, lang)) for k in columns], rows))
    return out


def _md_cell(key: str, record: Mapping[str, Any], lang: str) -> str:
    """A Markdown cell's text (before escaping): a reason in the reader's language, else :func:`fmt_key`."""
    if key == "reason" and record.get("reason_key"):
        return readable.reason(str(record["reason_key"]), record.get("reason_values") or {}, lang)
    if key.startswith("distance") and record.get(key) is None and record.get("search_m"):
        return readable.dash("beyond", lang, distance=record["search_m"])
    if key == "note" and isinstance(record.get(key), str):
        return readable.note_text(record, lang)
    if key == "candidate_source" and isinstance(record.get(key), str):
        return readable.note_text({"note": record[key]}, lang)
    if key in NOTE_KEYS and isinstance(record.get(key), str):
        return readable.plain(record[key], lang)
    return fmt_key(key, record.get(key), record, lang)


def _md_bar(share: float | None, width: int = 10) -> str:
    """A text progress bar.

    Examples
    --------
    >>> _md_bar(0.75)
    '▓▓▓▓▓▓▓▓░░ 75%'
    """
    if share is None:
        return ""
    full = round(max(0.0, min(1.0, share)) * width)
    return "▓" * full + "░" * (width - full) + f" {share:.0%}"


_MD_MARK = {"met": "✅", "pass": "✅", "covered": "✅", "on_track": "✅", "not_met": "❌", "fail": "❌",
            "uncovered": "❌", "missed": "❌", "off_track": "❌", "unknown": "⚠️", "at_risk": "⚠️"}


def _md_op(op: str) -> str:
    """A comparison as its symbol (nbgeo's own text, so ``>`` needs no escape); other text escaped.

    Examples
    --------
    >>> _md_op(">"), _md_op(">="), _md_op("<b>")
    ('>', '≥', '\\\\<b\\\\>')
    """
    return OPS[op] if op in OPS else md_text(op)


def _md_binding(key: str, value: Any, lang: str) -> str:
    """A severity (its word, 建议 marked ◇) or a basis (instrument and article) in a Markdown cell."""
    if key == "basis":
        return md_text(basis_text(value))
    text = severity_badge(value, lang)["text"]
    return md_text(f"◇ {text}" if value == "建议" else text)


def _md_status(status: str, lang: str) -> str:
    return f"{_MD_MARK.get(status, '•')} {md_text(status_word(status, lang))}"


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] | None = None) -> str:
    align = align or ["l"] * len(head)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _md_section(name: str, entries: Sequence[Mapping[str, Any]], lang: str) -> list[str]:
    """One section of audit.md (``## TITLE`` and its tables): the same in audit.md and in a command's page.

    The table shows the planner's columns, as the page does (:func:`nbgeo.renderers.columns.split_columns`),
    and the notes the page folds under each row; the yearly rows of one entry stay together (:func:`nbgeo.renderers.entries.sorted_entries`).
    """
    out = ["", f"## {md_text(section_title(name, lang))}", ""]
    if not entries:
        return [*out, md_text(word(lang, "none"))]
    all_columns, same = section_layout(entries)
    columns, folded = split_columns(name, all_columns)
    columns += [k for k in folded if k in NOTE_KEYS]  # no fold in Markdown: a note stays in the table
    if same:
        out += [" · ".join(f"{md_text(key_label(k, lang))}: {md_text(fmt_key(k, v, None, lang))}"
                           for k, v in same.items()),
                ""]
    shown = sorted_entries(entries)[:shared.MAX_ROWS]
    body = []
    for e in shown:
        cells = []
        for k in columns:
            v = e.get(k)
            if k == "status":
                cells.append(_md_status(str(v), lang))
            elif k in ("severity", "basis"):
                cells.append(_md_binding(k, v, lang))
            else:
                cells.append(md_text(_md_cell(k, e, lang)))
        body.append(cells)
    out.append(_md_table([md_text(key_label(k, lang)) for k in columns], body))
    if any(is_advisory(e) for e in entries):
        out += ["", f"◇ {md_text(word(lang, 'advisory_note'))}"]
    out += _md_detail(entries, lang)
    if len(entries) > len(shown) or len(all_columns) > len(columns):
        out += ["", f"_{md_text(word(lang, 'in_json'))}_"]
    return out


def _md_targets(report: AuditReport, lang: str) -> list[str]:
    """The target table: one row per target (a target judged every year: its years marked in one row)."""
    out = ["", f"## {md_text(word(lang, 'targets'))}", ""]
    rows = []
    paced = {str(p["id"]): str(p["status"]) for p in report.pace()} if report.headline().mid_term else {}
    for group in sorted(group_targets(report.targets), key=lambda g: is_advisory(g[-1])):
        last = group[-1]
        status = worst_status([r.status for r in group]) if len(group) > 1 else last.status
        pill = _md_status(paced[last.id], lang) + "<br>" + _md_status(status, lang) if last.id in paced else None
        years = ""
        if len(group) > 1:
            years = "<br>" + " ".join(f"{r.year}{_MD_MARK.get(r.status, '')}" for r in group)
        rows.append([
            pill or _md_status(status, lang),
            _md_binding("severity", last.severity, lang),
            "<br>".join(md_text(x) for x in dict.fromkeys((readable.title(last, lang), last.phrase)) if x)
            + f"<br>{md_text(word(lang, 'basis'))}: "
            f"{_md_binding('basis', last.basis, lang)}",
            md_text(fmt_unit(last.actual, last.unit)) + " " + md_text(readable.unit(last.unit, lang)),
            f"{_md_op(last.op)} {md_text(fmt_unit(last.threshold, last.unit))}",
            md_text(fmt_unit(last.margin, last.unit, "+")),
            _md_bar(share_of(last.actual, last.threshold, last.op)) + years,
        ])
    out.append(_md_table([md_text(word(lang, "status")), md_text(key_label("severity", lang)), md_text(word(lang, "target")),
                          md_text(key_label("actual", lang)), md_text(word(lang, "threshold")),
                          md_text(word(lang, "margin")), md_text(word(lang, "chart"))],
                         rows, ["l", "l", "l", "r", "r", "r", "l"]))
    return out


def to_markdown(report: AuditReport, *, lang: str = "zh", sections: Sequence[str] | None = None) -> str:
    """The report as Markdown: verdict, summary, targets with text progress bars, sections, provenance.

    Parameters
    ----------
    report
        The audit.
    lang
        ``"zh"`` or ``"en"``.
    sections
        Only these sections, without the targets: the Markdown of one command (``nbgeo rules --format md``
        writes ``rules.md`` with ``sections=["rules"]``), whose section is audit.md's section for that part,
        under the verdict and counts of its own entries (as :func:`nbgeo.renderers.report.to_html` does).

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> md = to_markdown(r, lang="en")
    >>> "| ❌ not met | restricted | Industrial agglomeration zones with output of 100 billion yuan" in md, "▓" in md
    (True, True)
    >>> rules = to_markdown(r, lang="en", sections=["rules"])
    >>> rules.splitlines()[0], "## Siting rules" in rules, "## Targets" in rules
    ('# Siting rules · Ningbo manufacturing plan 2021–2025: spatial targets', True, False)
    """
    lang = lang if lang in labels.LANGS else "en"
    only = None if sections is None else list(sections)
    plan, ds = report.plan, report.dataset
    shown = [name for name in report.sections if only is None or name in only]
    title = " · ".join([*(section_title(name, lang) for name in shown if only is not None),
                        plan.title if lang == "zh" else (plan.title_en or plan.title)])
    out = [f"# {md_text(title)}", ""]
    out.append(" · ".join(md_text(x) for x in (plan.title_en if lang == "zh" else plan.title,
                                               f"{word(lang, 'evaluated')} {report.year}",
                                               f"{word(lang, 'dataset')} {ds.name}", report.created) if x))
    out.append("")
    if only is None:
        first, *rest = report.headline().parts(lang)  # mid-term: the pace first, met / not met second
    else:
        first, *rest = section_headline(section_counts([e for n in shown for e in report.sections[n]]), only, lang,
                                         failed=section_failed(report.sections, only, strict=report.strict))
    out += [f"**{md_text(first['text'])}**", "", *(x for part in rest for x in (md_text(part["text"]), ""))]
    if ds.illustrative:
        names = ", ".join(readable.words(n, lang) for n, lyr in ds.layers.items() if lyr.meta.illustrative)
        out += [f"> **{md_text(word(lang, 'ill_head'))}** {md_text(word(lang, 'ill_body'))}: {md_text(names)}.", ""]
    out += [f"## {md_text(word(lang, 'summary'))}", ""]
    if only is None:
        s = report.summary()["targets"]
        out.append(f"- {md_text(word(lang, 'targets'))}: {s['met']} {md_text(word(lang, 'met'))} · {s['not_met']} "
                   f"{md_text(word(lang, 'not_met'))} · {s['unknown']} {md_text(word(lang, 'unknown'))}")
    for name in shown:
        counts = count_statuses(report.sections[name])
        out.append(f"- {md_text(section_title(name, lang))}: "
                   + " · ".join(f"{n:,} {md_text(status_word(st, lang))}" for st, n in sorted(counts.items())))
    notes = [n for n in report.count_notes(lang) if only is None or n["about"] == "rules_year"]
    if notes:
        out += ["", f"{md_text(labels.word('counts.head', lang))}:", ""] + [f"- {md_text(n['text'])}" for n in notes]
    if only is None:
        out += _md_targets(report, lang)
    titles = readable.plan_titles(report.plan, lang)
    for name in shown:
        raw = report.sections[name]
        out += _md_section(name, titled(with_places(report, raw, lang=lang) if name == "coverage" else raw, titles,
                                        lang), lang)
    out += ["", f"## {md_text(word(lang, 'provenance'))}", ""]
    prov = []
    for name, layer in ds.layers.items():
        m = layer.meta
        prov.append([md_text(readable.words(name, lang)), f"{len(layer.gdf):,}",
                     md_text(word(lang, "illustrative" if m.illustrative else "real")),
                     md_text(m.source), md_text(m.licence),
                     md_text(m.datum + (f" ({word(lang, 'datum_' + m.datum_basis)})" if m.datum_basis else "")),
                     md_text(m.note + (f" ({word(lang, 'mapped')}: {'; '.join(m.mapping)})" if m.mapping else ""))])
    out.append(_md_table([md_text(word(lang, k)) for k in ("layer", "features", "kind", "source", "licence", "datum", "note")],
                         prov, ["l", "r", "l", "l", "l", "l", "l"]))
    if report.problems:
        out += ["", f"## {md_text(word(lang, 'problems'))}", ""]
        out.append(_md_table([md_text(word(lang, "code")), md_text(word(lang, "message")), md_text(word(lang, "hint"))],
                             [[md_text(p.code), md_text(p.message), md_text(p.hint)] for p in report.problems[:shared.MAX_ROWS]]))
    out += ["", f"_{md_text(word(lang, 'generated'))} {md_text(nbgeo_version())} · {md_text(report.created)}_", ""]
    return "\n".join(out)
