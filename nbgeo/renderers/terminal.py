"""The terminal tables of every command in the reader's words: indicators, progress, rules, coverage, siting.

What ``nbgeo audit``, ``rules``, ``coverage`` and ``site`` print after the target table
(:meth:`nbgeo.audit.AuditReport.to_text`): entries by their title (in zh the plan's Chinese, in en the
English title), statuses, kinds, units and notes from :mod:`nbgeo.renderers.labels`, figures rounded by
:mod:`nbgeo.renderers.readable`, columns aligned with wide characters counted twice
(:func:`nbgeo.sanitize.columns`). The machine outputs (``audit.json``, CSV) keep the ids and English keys.

Examples
--------
>>> from nbgeo.renderers import terminal
>>> print(terminal.coverage_text([{"id": "mp", "year": 2025, "actual": 84.58, "op": ">=", "threshold": 100.0,
...     "status": "not_met", "mode": "network", "distance_m": 1000.0, "sites": 227, "covered_sites": 192,
...     "title": "Parks near chargers", "phrase": "充电设施覆盖小微企业园", "proposed": True, "severity": "建议",
...     "basis": {"instrument": "nbgeo", "kind": "office"}}], "zh"))  # doctest: +NORMALIZE_WHITESPACE
服务覆盖                 年份  比例    目标值          服务距离            需求点   状态    约束程度  依据
充电设施覆盖小微企业园*  2025  84.6 %  不低于 100.0 %  1,000 米（按道路）  192/227  未达标  建议      nbgeo
* 为 nbgeo 在规划原文之外提出的要求
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..plan import short_basis
from ..progress import STATUSES
from ..rules import later_counts
from ..sanitize import columns
from . import labels, readable

__all__ = ["compare_text", "coverage_text", "indicators_text", "progress_text", "rules_text", "sections_text", "site_text"]

#: Longest title in a terminal table, in characters (longer ones end with …): a Chinese one takes two columns.
TITLE_WIDTH = {"zh": 24, "en": 40}


def _w(key: str, lang: str) -> str:
    return labels.word(f"terminal.{key}", lang)


def _cut(text: str, lang: str) -> str:
    width = TITLE_WIDTH.get(lang, 40)
    return text if len(text) <= width else text[:width - 1] + "…"


def _name(entry: Mapping[str, Any], lang: str, titles: Mapping[str, str] | None = None) -> str:
    """An entry's title: the plan's (``titles``, in zh its Chinese), else its own, else its id in words."""
    ident = str(entry.get("id") or "")
    return (titles or {}).get(ident) or readable.title(entry, lang) or readable.words(ident, lang)


def _required(op: Any, threshold: Any, unit: Any, lang: str) -> str:
    """``>= 35 %`` / ``不低于 35 %``."""
    op_word = labels.LABELS.get(f"note.op.{op}", (str(op), str(op)))[0 if lang == "zh" else 1]
    return f"{op_word} {readable.quantity(threshold, unit, lang)}"


def _counts(statuses: Sequence[str], order: Sequence[str], lang: str) -> str:
    """``44 met, 18 missed`` / ``44 项达标，18 项未完成``, in ``order``."""
    found = {s: sum(x == s for x in statuses) for s in order}
    parts = [_w("count", lang).format(n=f"{n:,}", status=labels.status_word(s, lang)) for s, n in found.items() if n]
    return labels.word("counts.join", lang).join(parts)


def indicators_text(rows: Sequence[Mapping[str, Any]], year: Any, lang: str = "en") -> str:
    """The ``indicators`` section as a table: title, year, value, what is required, status.

    Examples
    --------
    >>> print(indicators_text([{"id": "rd_share", "title": "R&D share", "phrase": "研发投入占比达到 2.8%以上",
    ...     "year": 2025, "actual": 2.8213, "op": ">=", "threshold": 2.8, "unit": "%", "status": "met"}], 2025, "en"))
    ... # doctest: +NORMALIZE_WHITESPACE
    indicators 2025: 1 of 1 met
    indicator  year  actual  required  status
    R&D share  2025  2.8 %   >= 2.8 %  met
    """
    met = sum(r.get("status") == "met" for r in rows)
    table = [(_w("indicator", lang), labels.word("column.year", lang), labels.word("column.actual", lang),
              _w("required", lang), labels.word("column.status", lang))]
    table += [(_cut(_name(r, lang), lang), readable.year(r.get("year")), readable.quantity(r.get("actual"), r.get("unit"), lang),
               _required(r.get("op"), r.get("threshold"), r.get("unit"), lang), labels.status_word(str(r.get("status")), lang))
              for r in rows]
    head = _w("indicators_head", lang).format(year=readable.year(year), met=f"{met:,}", n=f"{len(rows):,}")
    return "\n".join([head, *columns(table)])


def progress_text(entries: Sequence[Mapping[str, Any]], lang: str = "en") -> str:
    """The ``progress`` section as a table: each target and indicator, its value, the path, status and note.

    Examples
    --------
    >>> e = {"id": "roads", "kind": "target", "title": "Smart roads", "phrase": "智能路网 200 公里以上",
    ...      "as_of": 2023, "deadline": 2025, "baseline": 2020, "actual": 149.1, "expected": 120.0, "ratio": 1.24,
    ...      "op": ">=", "threshold": 200.0, "unit": "km", "status": "on_track", "note_key": "progress.ahead",
    ...      "note_values": {"actual": 149.1, "year": 2023, "expected": 120.0, "unit": "km"}}
    >>> print(progress_text([e], "zh"))  # doctest: +NORMALIZE_WHITESPACE
    逐年进度：截至 2023 年，对照 2025 年目标（目标路径自 2020 年起按直线推算，或经规划里程碑）
    目标或指标             类别  2023 年     目标路径    完成   要求              状态      说明
    智能路网 200 公里以上  目标  149.1 公里  120 公里    124 %  不低于 200 公里   进度正常  2023 年为 149.1 公里，达到或超过目标路径 120 公里
    1 项进度正常
    """
    rows = [dict(e) for e in entries]
    if not rows:
        return _w("progress_none", lang)
    as_of, deadline, baseline = rows[0]["as_of"], rows[0]["deadline"], rows[0]["baseline"]
    head = _w("progress_head", lang).format(as_of=readable.year(as_of), deadline=readable.year(deadline),
                                            baseline=readable.year(baseline))
    table = [(_w("target_or_indicator", lang), labels.word("column.kind", lang),
              _w("in_year", lang).format(year=readable.year(min(as_of, deadline))), labels.word("chart.path", lang),
              _w("done", lang), _w("required", lang), labels.word("column.status", lang),
              labels.word("column.note", lang))]
    for r in rows:
        unit = r.get("unit")
        done = "" if r.get("ratio") is None else readable.percent(100 * float(r["ratio"]), digits=0)
        table.append((_cut(_name(r, lang), lang), readable.words(r.get("kind"), lang, namespace="value"),
                      readable.quantity(r.get("actual"), unit, lang), readable.quantity(r.get("expected"), unit, lang),
                      done, _required(r.get("op"), r.get("threshold"), unit, lang),
                      labels.status_word(str(r.get("status")), lang), readable.note_text(r, lang)))
    return "\n".join([head, *columns(table, last_free=True), _counts([str(r["status"]) for r in rows], STATUSES, lang)])


def _later(entries: Sequence[Mapping[str, Any]], lang: str) -> list[str]:
    """The sites each layer's rules did not judge in the audited year, in one line (or none)."""
    year, per_layer = later_counts(entries)
    if not per_layer:
        return []
    parts = []
    for layer, (later, undated) in per_layer.items():
        what = [_w("later", lang).format(n=f"{later:,}")] if later else []
        what += [_w("undated", lang).format(n=f"{undated:,}")] if undated else []
        parts.append(f"{readable.words(layer, lang)} {_w('and', lang).join(what)}")
    return [_w("rules_judged", lang).format(year=readable.year(year), parts=labels.word("counts.join", lang).join(parts))]


def rules_text(entries: Sequence[Mapping[str, Any]], lang: str = "en", *, titles: Mapping[str, str] | None = None,
               max_sites: int = 5, file: str = "rules.json") -> str:
    """The ``rules`` section as a table, then the first failing sites of each rule: why, how binding, on what basis.

    ``titles``: the plan's titles by id (:func:`nbgeo.renderers.readable.plan_titles`); ``file`` is where the
    sites left out are listed.

    Examples
    --------
    >>> e = {"id": "farmland", "layer": "micro_parks", "kind": "exclusion", "severity": "禁止", "status": "fail",
    ...      "checked": 3, "failed": 1, "unknown": 0, "basis": {"instrument": "《土地管理法》", "kind": "law"},
    ...      "findings": [{"feature_id": "P1", "status": "fail", "reason_key": "exclusion.polygon",
    ...                    "reason_values": {"other": "CN1", "amount": 20.0, "share": 4.0, "limit": 0, "unit": "m2"}}]}
    >>> print(rules_text([e], "zh", titles={"farmland": "不得占用永久基本农田"}).splitlines()[2])
      不得占用永久基本农田：P1 不符合 [禁止]：与 CN1 重叠 20 平方米（占选址 4.0 %）；限值 0 平方米 · 依据：《土地管理法》
    """
    w = labels.word
    table = [(w("column.rule", lang), w("column.layer", lang), w("column.kind", lang), w("column.severity", lang),
              w("column.status", lang), w("column.checked", lang), w("column.failed", lang), w("column.unknown", lang),
              w("column.basis", lang))]
    for e in entries:
        table.append((_cut(_name(e, lang, titles), lang), readable.words(e.get("layer"), lang),
                      readable.words(e.get("kind"), lang, namespace="value"),
                      labels.label("severity", str(e.get("severity") or ""), lang),
                      labels.status_word(str(e.get("status")), lang), readable.count(e.get("checked")),
                      readable.count(e.get("failed")), readable.count(e.get("unknown")), short_basis(e.get("basis"))))
    lines = columns(table)
    for e in entries:
        rule = _name(e, lang, titles)
        findings = list(e.get("findings") or ())
        for f in findings[:max_sites]:
            why = (readable.reason(str(f["reason_key"]), f.get("reason_values") or {}, lang) if f.get("reason_key")
                   else readable.plain(str(f.get("reason") or ""), lang))
            lines.append(_w("finding", lang).format(
                rule=rule, site=f.get("feature_id"), status=labels.status_word(str(f.get("status")), lang),
                severity=labels.label("severity", str(f.get("severity") or e.get("severity") or ""), lang),
                reason=why, basis=short_basis(f.get("basis") or e.get("basis"))))
        if len(findings) > max_sites:
            lines.append(_w("more", lang).format(rule=rule, n=f"{len(findings) - max_sites:,}", file=file))
    bad = sum(e.get("status") != "pass" for e in entries)
    lines.append(_w("rules_pass", lang).format(n=f"{len(entries) - bad:,}", total=f"{len(entries):,}"))
    lines += _later(entries, lang)
    advisory = sum(e.get("status") != "pass" and e.get("severity") == "建议" for e in entries)
    if advisory:
        lines.append(_w("rules_advisory", lang).format(n=f"{advisory:,}"))
    return "\n".join(lines)


def _within(distance: Any, mode: Any, lang: str) -> str:
    """``1,000 m by road`` / ``1,000 米（按道路）``."""
    how = labels.word("map.how_network" if mode in ("network", "road") else "map.how_straight", lang)
    return f"{readable.metres(distance, lang)}{'' if lang == 'zh' else ' '}{how}"


def coverage_text(entries: Sequence[Mapping[str, Any]], lang: str = "en", *,
                  titles: Mapping[str, str] | None = None) -> str:
    """The ``coverage`` section as a table: share served, what is required, within what distance, how binding.

    See the module's example.
    """
    w = labels.word
    table = [(w("section.coverage", lang), w("column.year", lang), w("column.share", lang),
              w("column.threshold", lang), w("column.distance", lang), w("column.sites", lang),
              w("column.status", lang), w("column.severity", lang), w("column.basis", lang))]
    for e in entries:
        sites = f"{e['covered_sites']:,}/{e['sites']:,}" if "sites" in e else readable.dash()
        table.append((_cut(_name(e, lang, titles), lang) + ("*" if e.get("proposed") else ""), readable.year(e.get("year")),
                      readable.percent(e.get("actual")), _required(e.get("op"), e.get("threshold"), "%", lang),
                      _within(e.get("distance_m"), e.get("mode"), lang), sites,
                      labels.status_word(str(e.get("status")), lang),
                      labels.label("severity", str(e.get("severity") or "—"), lang), short_basis(e.get("basis"))))
    lines = columns(table)
    if any(e.get("proposed") for e in entries):
        lines.append(_w("proposed", lang))
    return "\n".join(lines)


def site_text(entries: Sequence[Mapping[str, Any]], lang: str = "en", *,
              titles: Mapping[str, str] | None = None) -> str:
    """The ``optimisation`` section: one line per siting question, the new sites per district, and the notes.

    Examples
    --------
    >>> e = {"id": "q", "title": "Chargers for parks", "problem": "lscp", "k": None, "solver": "highs",
    ...      "solver_status": "optimal", "new_sites": 2, "facilities": "chargers", "demand": "micro_parks",
    ...      "distance_m": 1000.0, "by": "road", "share_before": 84.6, "share_after": 100.0, "status": "met",
    ...      "by_district": [{"district": "北仑区", "new_sites": 2, "share_before": 96.2, "share_after": 100.0}],
    ...      "note_parts": [{"key": "given.straight", "values": {}}]}
    >>> print(site_text([e], "en"))
    Chargers for parks: fewest new sites (HiGHS, optimal): 2 new sites of EV charging and swapping; Micro-enterprise parks served within 1,000 m by road: 84.6 % → 100.0 %  [met]
      北仑区: 2 new, 96.2 % → 100.0 %
      note: distances are straight-line, not by road
    """
    lines = []
    for e in entries:
        what = (_w("site_best", lang).format(k=e.get("k")) if e.get("problem") == "mclp"
                else _w("site_fewest", lang))
        solver = readable.words(str(e.get("solver")), lang, namespace="value")
        state = readable.words(str(e.get("solver_status")), lang, namespace="value")
        # a question by its English title; in zh by its layers (the plan's phrase it serves is shared by several)
        title = (labels.word("map.siting", lang).format(facilities=readable.words(e.get("facilities"), lang),
                                                        demand=readable.words(e.get("demand"), lang))
                 if lang == "zh" and not (e.get("title_zh") or e.get("phrase")) else _name(e, lang, titles))
        lines.append(_w("site", lang).format(
            title=title, what=what, solver=solver, state=state, n=f"{e.get('new_sites', 0):,}",
            facilities=readable.words(e.get("facilities"), lang), demand=readable.words(e.get("demand"), lang),
            within=_within(e.get("distance_m"), e.get("by"), lang), before=readable.percent(e.get("share_before")),
            after=readable.percent(e.get("share_after")), status=labels.status_word(str(e.get("status")), lang)))
        for d in e.get("by_district") or ():
            if d.get("new_sites"):
                lines.append(_w("site_district", lang).format(
                    district=d.get("district") or readable.dash(), n=f"{d['new_sites']:,}",
                    before=readable.percent(d.get("share_before")), after=readable.percent(d.get("share_after"))))
        note = readable.note_text(e, lang)
        if note:
            lines.append(_w("site_note", lang).format(note=note))
    return "\n".join(lines)


def sections_text(report: Any, lang: str = "en") -> str:
    """What ``nbgeo audit`` prints after the target table: indicators, progress, rules and coverage."""
    sections = report.sections
    titles = readable.plan_titles(report.plan, lang)
    parts = []
    if sections.get("indicators"):
        parts.append(indicators_text(sections["indicators"], report.year, lang))
    if sections.get("progress"):
        parts.append(progress_text(sections["progress"], lang))
    if sections.get("rules"):
        parts.append(rules_text(sections["rules"], lang, titles=titles, file="audit.json"))
    if sections.get("coverage"):
        parts.append(coverage_text(sections["coverage"], lang, titles=titles))
    return "\n\n".join(parts)


def compare_text(comparison: Any, lang: str = "en") -> str:
    """What ``nbgeo compare`` prints: the targets side by side, what changed per section and per layer.

    ``comparison`` is a :class:`nbgeo.renderers.compare.Comparison`; targets by their title (in zh the
    plan's Chinese), statuses, changes and severities in words.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> side = {"actual": 3, "status": "not_met", "severity": "限制", "basis": {"instrument": "规划"}}
    >>> c = SimpleNamespace(labels=("A", "B"), sections={}, sites={}, regressions=[1], targets=[
    ...     {"id": "z", "year": 2025, "title": "Zones", "phrase": "形成4个集聚区", "a": {**side, "status": "met"},
    ...      "b": side, "change": "worse"}])
    >>> print(compare_text(c, "zh"))  # doctest: +NORMALIZE_WHITESPACE
    目标           年份  A        B          变化  约束程度  依据
    形成4个集聚区  2025  3 达标  3 未达标  变差  限制      规划
    1 项核查从 A 到 B 变差
    """
    w = labels.word
    la, lb = comparison.labels
    table = [(w("compare.target", lang), w("compare.year", lang), la, lb, w("compare.change", lang),
              w("column.severity", lang), w("column.basis", lang))]

    def cell(side: Mapping[str, Any] | None) -> str:
        if side is None:
            return "—"
        return f"{readable.number(side['actual'])} {labels.status_word(str(side['status']), lang)}"

    for t in comparison.targets:
        bound = t["b"] or t["a"]
        table.append((_cut(_name(t, lang), lang), readable.year(t["year"]), cell(t["a"]), cell(t["b"]),
                      readable.words(t["change"], lang, namespace="value"),
                      labels.label("severity", str(bound.get("severity") or ""), lang), short_basis(bound.get("basis"))))
    lines = columns(table)
    none = w("compare.none", lang)
    for name, section in comparison.sections.items():
        moved = sum(c["change"] in ("better", "worse", "only_a", "only_b") for c in section["changes"])

        def tally(found: Mapping[str, int]) -> str:
            return labels.word("counts.join", lang).join(
                _w("count", lang).format(n=f"{n:,}", status=labels.status_word(k, lang)) for k, n in found.items())

        lines.append(_w("compare_section", lang).format(
            section=labels.label("section", name, lang), a=la, counts_a=tally(section["a"]) or none, b=lb,
            counts_b=tally(section["b"]) or none, n=f"{moved:,}"))
    for name, sites in comparison.sites.items():
        if sites.changed:
            c = sites.counts()
            lines.append(_w("compare_sites", lang).format(layer=readable.words(name, lang), **{k: f"{v:,}" for k, v in c.items()}))
    lines.append(f"{len(comparison.regressions):,} {w('compare.regressions', lang).format(a=la, b=lb)}")
    return "\n".join(lines)
