"""How an audit's entries read in a table: words, numbers with units, columns and order.

The page (:mod:`nbgeo.renderers.report`) and the Markdown (:mod:`nbgeo.renderers.markdown`) show the same
entries with the same words and the same figures; both take them from here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..plan import counts as binds
from ..plan import short_basis
from ..status import BAD, WARN
from . import labels, readable, theme

if TYPE_CHECKING:
    from ..targets import TargetResult

OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


MAX_ROWS = 300


def word(lang: str, key: str) -> str:
    """A word of the page: a status word, else ``report.KEY`` of :mod:`nbgeo.renderers.labels`."""
    return labels.word(f"status.{key}" if f"status.{key}" in labels.LABELS else f"report.{key}", lang)


def status_word(status: str, lang: str) -> str:
    """A verdict in words (``not_met`` → 未达标 / not met)."""
    return labels.status_word(status, lang)


def key_label(key: str, lang: str) -> str:
    """A column heading for an entry key, in words (never the snake_case key)."""
    return readable.words(key, lang, namespace="column")


def fmt_value(value: Any, spec: str = "") -> str:
    """A figure for readers (:mod:`nbgeo.renderers.readable`); ``spec="+"`` signs it (a margin)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return readable.delta(value) if spec == "+" else readable.number(value)
    return readable.value_text(value)


def fmt_unit(value: Any, unit: Any, spec: str = "") -> str:
    """A figure in its unit's precision: per cent to 1 decimal, metres whole, others by :func:`fmt_value`."""
    if str(unit) in ("%", "percent") and isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = 1 if abs(value) >= 1 else None
        return readable.delta(value, digits=digits) if spec == "+" else readable.number(value, digits=digits)
    if str(unit) == "m" and isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 10:
        return readable.delta(value, digits=0) if spec == "+" else readable.number(value, digits=0)
    return fmt_value(value, spec)


def share_of(actual: Any, threshold: Any, op: str) -> float | None:
    """Progress towards a threshold, 0..1, or None when it does not apply.

    Examples
    --------
    >>> share_of(3, 4, ">="), share_of(50, 40, "<="), share_of(None, 4, ">=")
    (0.75, 0.8, None)
    """
    if not isinstance(actual, (int, float)) or not isinstance(threshold, (int, float)) or isinstance(actual, bool):
        return None
    if not (math.isfinite(actual) and math.isfinite(threshold)) or threshold == 0:
        return None
    if op in (">=", ">"):
        return max(0.0, min(1.0, actual / threshold))
    if op in ("<=", "<"):
        return 1.0 if actual <= threshold else max(0.0, min(1.0, threshold / actual))
    return None


def group_targets(results: Sequence[TargetResult]) -> list[list[TargetResult]]:
    """Target results grouped by target id, in the plan's order (a target judged every year has several)."""
    groups: dict[str, list[TargetResult]] = {}
    for r in results:
        groups.setdefault(r.id, []).append(r)
    return [sorted(g, key=lambda r: r.year) for g in groups.values()]


def worst_status(statuses: Sequence[str]) -> str:
    """The worst of several verdicts: not met, fail, unknown, else the first."""
    for s in ("not_met", "fail", "unknown"):
        if s in statuses:
            return s
    return statuses[-1] if statuses else "unknown"


def section_title(name: str, lang: str) -> str:
    """A section's heading (``rules`` → 选址规则 / Siting rules)."""
    return labels.label("section", name, lang)


def severity_badge(severity: Any, lang: str) -> dict[str, str]:
    """A severity as a badge: its word (禁止 / prohibited ...) and colour."""
    key = f"severity.{severity}"
    text = labels.word(key, lang) if key in labels.LABELS else fmt_value(severity)
    return {"text": text, "colour": theme.severity_colour(str(severity))}


def basis_text(basis: Any) -> str:
    """A finding's basis as the page shows it: the instrument and its article."""
    return short_basis(basis if isinstance(basis, Mapping) else None, width=90)


def is_advisory(entry: Any) -> bool:
    """Whether an entry (a mapping or a result object) is a suggestion (severity 建议)."""
    severity = entry.get("severity") if isinstance(entry, Mapping) else getattr(entry, "severity", None)
    return severity == "建议"


def cell_text(value: Any, lang: str = "en") -> str:
    """A value as a reader sees it: records as ``key: value`` pairs in words, lists joined, figures rounded."""
    if isinstance(value, Mapping):
        text = "; ".join(f"{readable.words(k, lang)}: {cell_text(v, lang)}" for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        text = ", ".join(cell_text(v, lang) for v in value)
    else:
        return readable.value_text(value, lang)
    return text if len(text) <= 160 else text[:157] + "…"


#: Keys that hold sentences: their column gets room instead of wrapping a word per line.
TEXT_KEYS = frozenset({"title", "phrase", "note", "label", "reason", "message", "hint"})


#: Keys whose value names a layer (shown by the layer's title).
LAYER_KEYS = frozenset({"layer", "facilities", "demand", "against", "candidates"})


def titled(entries: Sequence[Mapping[str, Any]], titles: Mapping[str, str], lang: str = "en"
           ) -> list[Mapping[str, Any]]:
    """Entries with their title in ``lang`` (for the page, not audit.json).

    An entry without a title gets the plan's (``titles``: :func:`nbgeo.renderers.readable.plan_titles`). In zh
    the title is the plan's Chinese (:func:`nbgeo.renderers.readable.title`), and the phrase it repeats is
    not shown a second time.

    Examples
    --------
    >>> e = {"id": "t", "title": "Parks", "phrase": "园区 10 个"}
    >>> titled([e], {}, "zh"), titled([e], {}, "en") == [e], titled([{"id": "r"}], {"r": "规则"}, "zh")
    ([{'id': 't', 'title': '园区 10 个'}], True, [{'id': 'r', 'title': '规则'}])
    """
    out: list[Mapping[str, Any]] = []
    for given in entries:
        e = given
        if "title" not in e and str(e.get("id")) in titles:
            e = {**e, "title": titles[str(e.get("id"))]}
        if lang == "zh" and (e.get("phrase") or e.get("title_zh")):
            chinese = readable.title(e, lang)
            e = {k: v for k, v in e.items() if not (k == "phrase" and v == chinese)} | {"title": chinese}
        elif lang == "zh" and e.get("facilities") and e.get("demand") and "problem" in e:
            # a siting question has no Chinese of its own, and the plan's phrase it serves is shared by several:
            # it is named by its layers
            e = {**e, "title": labels.word("map.siting", lang).format(
                facilities=readable.words(e["facilities"], lang), demand=readable.words(e["demand"], lang))}
        elif lang == "zh" and titles.get(str(e.get("id"))):  # no Chinese of its own (a suitability surface)
            e = {**e, "title": titles[str(e.get("id"))]}
        out.append(e)
    return out


#: Keys that hold nbgeo's own sentences, which may quote a key (``no 'land_transfers' features in 2020``).
NOTE_KEYS = frozenset({"note", "candidate_source"})


#: Keys that hold a CRS (shown by name, never as WKT or a PROJ string).
CRS_KEYS = frozenset({"crs", "working_crs", "wkt", "proj"})


FIRST = ("status", "severity", "id", "phrase", "title", "basis", "label", "layer", "feature", "actual", "threshold",
          "unit", "margin")


HIDDEN_KEYS = frozenset({"illustrative", "op", "kind", "reason_key", "note_key"})


def section_layout(entries: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """The columns of a section table, and the keys whose value is the same in every entry (shown once).

    Nested values (lists, dicts) stay in audit.json; ``op`` is shown with ``threshold``.

    Examples
    --------
    >>> cols, same = section_layout([{"id": "a", "status": "fail", "kind": "x", "hist": [1]},
    ...                               {"id": "b", "status": "pass", "kind": "x", "hist": [2]}])
    >>> cols, same
    (['status', 'id'], {'kind': 'x'})
    """
    keys: list[str] = []
    nested: dict[str, bool] = {}
    for e in entries:
        for k, v in e.items():
            if k not in nested:
                keys.append(k)
                nested[k] = True
            if (not isinstance(v, (dict, list, tuple)) or k == "basis") and v is not None:
                nested[k] = False  # a basis is one cell: its instrument and article
    keys = [k for k in keys if not nested[k]]
    same: dict[str, Any] = {}
    if len(entries) > 1:
        for k in keys:
            if k in ("status", "id", "actual", "threshold", "unit", "severity", "basis"):
                continue  # shown on every row, even when all rows share it
            values = {json.dumps(e.get(k), sort_keys=True, default=str) for e in entries}
            if len(values) == 1:
                value = entries[0].get(k)
                if value not in (None, "", False):
                    same[k] = value
                nested[k] = True
    keys = [k for k in keys if not nested[k] and (k not in HIDDEN_KEYS or (k == "kind" and k not in same))]
    keys = [k for k in keys if k not in {"op", "reason_key", "note_key", "note_values"}]
    if "title" in keys:  # the id is a key for audit.json; readers see the title (the id is its tooltip)
        keys = [k for k in keys if k != "id"]
    first = [k for k in FIRST if k in keys]
    return first + [k for k in keys if k not in first], {k: v for k, v in same.items() if k not in ("op",)}


#: Keys whose figures are in the entry's ``unit``.
UNIT_KEYS = frozenset({"actual", "threshold", "margin", "value", "limit", "expected", "baseline_value", "gap"})


def fmt_key(key: str, value: Any, entry: Mapping[str, Any] | None = None, lang: str = "en") -> str:
    """A value of a section table: years without separators, thresholds with their operator, units in words.

    Examples
    --------
    >>> fmt_key("year", 2023), fmt_key("margin", -16.469, {"unit": "%"}), fmt_key("unit", "parks", None, "zh")
    ('2023', '-16.5', '个')
    """
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if (key in ("year", "as_of", "horizon", "baseline", "deadline") or key.endswith("_year")) and number:
        return readable.year(value) if float(value).is_integer() else str(value)
    if key in CRS_KEYS and value:
        return readable.crs_name(value, lang)
    if key == "unit":
        return readable.unit(value, lang)
    if key == "note" and isinstance(value, str):
        return readable.note_text({**(entry or {}), "note": value}, lang)
    if key == "candidate_source" and isinstance(value, str):
        return readable.note_text({"note": value}, lang)
    if key in LAYER_KEYS and isinstance(value, str):
        return readable.words(value, lang)
    unit = (entry or {}).get("unit")
    if key == "margin":
        return fmt_unit(value, unit, "+")
    if key in ("share", "ratio") or key.startswith("share_") or key.endswith("share_of"):
        return readable.percent(value) if number else cell_text(value, lang)
    if key == "threshold" and entry is not None and entry.get("op"):
        return f"{OPS.get(str(entry['op']), str(entry['op']))} {fmt_unit(value, unit)}"
    if key in UNIT_KEYS and number:
        return fmt_unit(value, unit)
    return fmt_value(value) if number else cell_text(value, lang)


def sorted_entries(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Entries in reading order: what binds before suggestions, each group worst first.

    The yearly rows of one entry (an ``each_year`` indicator has a row per year, all with its id) stay
    together, in year order, where their worst year ranks: one row group, whose chart is drawn once
    (:func:`opens_group`).

    Examples
    --------
    >>> rows = [{"id": "a", "year": 2021, "status": "met"}, {"id": "b", "status": "met"},
    ...         {"id": "a", "year": 2022, "status": "not_met"}, {"id": "c", "status": "not_met"}]
    >>> [(e["id"], e.get("year")) for e in sorted_entries(rows)]
    [('a', 2021), ('a', 2022), ('c', None), ('b', None)]
    """
    rank: dict[str, int] = {s: i for i, s in enumerate((*BAD, *WARN))}
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for i, e in enumerate(entries):
        groups.setdefault(("id", str(e["id"])) if e.get("id") is not None else ("row", str(i)), []).append(e)
    # Suggestions (建议) after what binds, each group worst first (stable: the plan's order among equals).
    ordered = sorted(groups.values(), key=lambda g: min((is_advisory(e), rank.get(str(e.get("status")), len(rank)))
                                                         for e in g))
    return [e for g in ordered for e in sorted(g, key=lambda e: (e.get("year") is None, e.get("year") or 0))]


def opens_group(entries: Sequence[Mapping[str, Any]]) -> list[bool]:
    """For each entry (in :func:`sorted_entries` order), whether it is the first row of its id.

    That row carries the entry's chart, drawn once for all its yearly rows.

    Examples
    --------
    >>> opens_group([{"id": "a", "year": 2021}, {"id": "a", "year": 2022}, {"id": "b"}, {"title": "no id"}])
    [True, False, True, True]
    """
    seen: set[str] = set()
    first = []
    for e in entries:
        ident = e.get("id")
        first.append(ident is None or str(ident) not in seen)
        if ident is not None:
            seen.add(str(ident))
    return first


def section_counts(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """A section page's verdict counts: its entries passed or met, failed or not met, unknown.

    Examples
    --------
    >>> section_counts([{"status": "pass"}, {"status": "fail"}, {"status": "unknown"}, {"status": "met"}])
    {'met': 2, 'not_met': 1, 'unknown': 1}
    """
    counts = count_statuses(entries)
    bad = sum(n for st, n in counts.items() if st in BAD)
    unknown = sum(n for st, n in counts.items() if st in WARN)
    return {"met": sum(counts.values()) - bad - unknown, "not_met": bad, "unknown": unknown}


def verdict_words(only: Sequence[str] | None, lang: str) -> dict[str, str]:
    """A rules page counts its rules as passing and failing, not as met and not met."""
    if only is None or list(only) != ["rules"]:
        return {}
    return {"met": status_word("pass", lang), "not_met": status_word("fail", lang)}


def section_failed(sections: Mapping[str, Sequence[Mapping[str, Any]]], only: Sequence[str], *,
                   strict: bool) -> bool:
    """Whether a section page fails, as its command's exit code: an entry of severity 建议 only when ``strict``.

    Examples
    --------
    >>> advice = {"coverage": [{"status": "not_met", "severity": "建议"}]}
    >>> section_failed(advice, ["coverage"], strict=False), section_failed(advice, ["coverage"], strict=True)
    (False, True)
    """
    bad = {"fail", "not_met", "unknown"}
    return any(e["status"] in bad and binds(e.get("severity"), strict=strict)
               for name in only for e in sections.get(name) or [])


def section_headline(s: Mapping[str, int], only: Sequence[str], lang: str, *,
                     failed: bool | None = None) -> list[dict[str, Any]]:
    """The header of a section page (``nbgeo rules``, ``nbgeo coverage``): its verdict and its entries' counts.

    The same parts as :meth:`nbgeo.pace.Headline.parts`, for the page and the Markdown alike. The
    verdict is the command's exit code (``failed``, from :func:`section_failed`; by default any entry
    not met); the counts say how many entries are met and not met.

    Examples
    --------
    >>> section_headline({"met": 3, "not_met": 1, "unknown": 0}, ["rules"], "en")[0]["text"]
    'Not passed · 3 pass · 1 fail'
    """
    if failed is None:
        failed = bool(s["not_met"] or s["unknown"])
    words = verdict_words(only, lang)
    counts = [{"count": s[k], "word": words.get(k, word(lang, k)), "status": k, "colour": theme.colour(k)}
              for k in ("met", "not_met", "unknown") if k != "unknown" or s[k]]
    verdict = word(lang, "verdict_fail" if failed else "verdict_pass")
    text = " · ".join([verdict, *(f"{i['count']:,} {i['word']}" for i in counts)])
    return [{"kind": "verdict", "tone": "fail" if failed else "pass", "label": "", "verdict": verdict,
             "counts": counts, "text": text}]


def count_statuses(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many entries have each status."""
    counts: dict[str, int] = {}
    for e in entries:
        s = str(e.get("status", "unknown"))
        counts[s] = counts.get(s, 0) + 1
    return counts


MAX_DETAIL_ROWS = 50


#: Keys for programs, not readers: a finding's reason and a note in their keyed form (the reason and note
#: columns word them).
MACHINE_KEYS = frozenset({"reason_key", "reason_values", "note_key", "note_values", "note_parts"})


def detail_lists(entry: Mapping[str, Any]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The entry's lists of records (e.g. a rule's ``findings``), which get a table of their own."""
    return [(k, v) for k, v in entry.items()
            if k not in MACHINE_KEYS and isinstance(v, list) and v and all(isinstance(item, Mapping) for item in v)]
