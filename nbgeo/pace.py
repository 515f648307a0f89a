"""The mid-term view of an audit: pace first, the final thresholds second, and why counts differ.

Audited before its horizon (2023 in a plan to 2025), almost every target still falls short of its final
threshold; what a planner needs first is whether each one is on its way. So before the horizon the
audit's headline leads with the **pace** of every target and indicator (the flags of
:mod:`nbgeo.progress`: on track, at risk, off track) and says second how many target-years meet the final
threshold already; at the horizon (and after) the headline is met / not met alone. The headline is the
same in audit.json (``headline``, ``pace``), on the page, in the Markdown and on the terminal; its words
come from :mod:`nbgeo.renderers.labels`, its colours from :mod:`nbgeo.renderers.theme`.

Counts that look inconsistent get one line each, generated from the plan and the data (:func:`count_notes`):
a layer counted differently by targets, coverage and rules (each with its own filter and years), "met"
counting target-years, and a target judged every year whose status is another year's than its value.

Examples
--------
>>> from nbgeo import audit, datasets, io, plan
>>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")), year=2023)
>>> h = r.headline()
>>> h.mid_term, h.text("en")
(True, 'On pace: 30 on track · 18 at risk · 14 off track | Against the 2025 thresholds: Not passed · 9 met · 11 not met')
>>> h.text("zh").split(" | ")[0]
'进度：30 正常 · 18 有风险 · 14 滞后'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .layers import LAYERS
from .renderers import labels, theme

if TYPE_CHECKING:
    from .plan import Plan
    from .targets import TargetResult

__all__ = ["PACE_SHOWN", "Headline", "count_notes", "headline", "target_pace"]

#: The pace flags a mid-term headline always shows (others only when some target has them).
PACE_SHOWN = ("on_track", "at_risk", "off_track")
_PACE_ORDER = (*PACE_SHOWN, "met", "missed", "no_data")
_VERDICT_ORDER = ("met", "not_met", "unknown")


def _w(key: str, lang: str, **values: Any) -> str:
    text = labels.word(key, lang)
    return text.format(**values) if values else text


@dataclass(frozen=True)
class Headline:
    """The first line of an audit: pace before the horizon, then (or only) met / not met.

    Attributes
    ----------
    year, horizon
        The evaluation year and the plan's horizon.
    pace
        Targets and indicators per progress flag in ``year`` (empty when the progress was not tracked).
    targets
        Target results per status (met / not_met / unknown): one per target and year judged.
    passed
        The audit's verdict (exit code 0).
    """

    year: int
    horizon: int
    pace: Mapping[str, int] = field(default_factory=dict)
    targets: Mapping[str, int] = field(default_factory=dict)
    passed: bool = False

    @property
    def mid_term(self) -> bool:
        """Before the horizon with the progress tracked: the headline leads with pace."""
        return self.year < self.horizon and bool(self.pace)

    def parts(self, lang: str) -> list[dict[str, Any]]:
        """The headline's statuses in the order a reader meets them.

        Each part is ``{"kind": "pace" | "verdict", "tone": "pass" | "pace" | "fail", "label": ...,
        "verdict": ..., "counts": [{"count", "word", "status", "colour"}], "text": ...}``.
        """
        out: list[dict[str, Any]] = []
        if self.mid_term:
            shown = [s for s in _PACE_ORDER if s in PACE_SHOWN or self.pace.get(s)]
            items = [{"count": int(self.pace.get(s, 0)), "word": _w(f"pace.{s}", lang), "status": s,
                      "colour": theme.colour(s)} for s in shown]
            # A mixed picture is not one colour: the part is neutral and each count carries its own colour.
            behind = self.pace.get("off_track", 0) + self.pace.get("missed", 0) + self.pace.get("at_risk", 0)
            out.append({"kind": "pace", "tone": "pace" if behind else "pass",
                        "label": _w("pace.head", lang), "verdict": "", "counts": items})
        items = [{"count": int(self.targets.get(s, 0)), "word": labels.status_word(s, lang), "status": s,
                  "colour": theme.colour(s)} for s in _VERDICT_ORDER if s != "unknown" or self.targets.get(s)]
        out.append({"kind": "verdict", "tone": "pass" if self.passed else "fail",
                    "label": _w("pace.final", lang, horizon=self.horizon) if self.mid_term else "",
                    "verdict": labels.word("report.verdict_pass" if self.passed else "report.verdict_fail", lang),
                    "counts": items})
        for part in out:
            counts = " · ".join(f"{i['count']:,} {i['word']}" for i in part["counts"])
            part["text"] = part["label"] + " · ".join(x for x in (part["verdict"], counts) if x)
        return out

    def text(self, lang: str = "en") -> str:
        """The headline as one line of text (terminal, Markdown).

        Examples
        --------
        >>> Headline(2025, 2025, {}, {"met": 2, "not_met": 9}).text("zh")
        '未通过 · 2 达标 · 9 未达标'
        """
        return " | ".join(part["text"] for part in self.parts(lang))

    def to_dict(self) -> dict[str, Any]:
        """The ``headline`` of ``audit.json``: what leads, the counts, and the line in both languages."""
        return {"year": self.year, "horizon": self.horizon, "mid_term": self.mid_term,
                "first": "pace" if self.mid_term else "verdict",
                "pace": {s: int(self.pace[s]) for s in _PACE_ORDER if s in self.pace},
                "targets": {s: int(self.targets.get(s, 0)) for s in _VERDICT_ORDER}, "passed": self.passed,
                "text": {lang: self.text(lang) for lang in labels.LANGS}}


def _progress(sections: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Mapping[str, Any]]:
    return list(sections.get("progress") or [])


def headline(plan: Plan, year: int, targets: Sequence[TargetResult],
             sections: Mapping[str, Sequence[Mapping[str, Any]]], *, passed: bool) -> Headline:
    """The headline of an audit (see :class:`Headline`); pace comes from its ``progress`` section."""
    pace: dict[str, int] = {}
    for entry in _progress(sections):
        status = str(entry.get("status"))
        pace[status] = pace.get(status, 0) + 1
    counts = {s: 0 for s in _VERDICT_ORDER}
    for r in targets:
        counts[r.status] = counts.get(r.status, 0) + 1
    return Headline(year=year, horizon=plan.horizon, pace=pace, targets=counts, passed=passed)


def target_pace(targets: Sequence[TargetResult], sections: Mapping[str, Sequence[Mapping[str, Any]]],
                year: int) -> list[dict[str, Any]]:
    """The ``pace`` of ``audit.json``: per target and indicator its flag in ``year`` and its final verdict.

    ``final`` is the status against the final threshold in ``year`` (for a target judged every year, the
    worst year so far); indicators take theirs from the ``indicators`` section.
    """
    statuses: dict[str, set[str]] = {}
    for r in targets:
        if r.year <= year:
            statuses.setdefault(r.id, set()).add(r.status)
    finals = {tid: next((s for s in ("not_met", "unknown") if s in found), "met") for tid, found in statuses.items()}
    for entry in sections.get("indicators") or []:
        finals.setdefault(str(entry.get("id")), str(entry.get("status")))
    return [{"id": e.get("id"), "kind": e.get("kind"), "status": e.get("status"), "actual": e.get("actual"),
             "expected": e.get("expected"), "final": finals.get(str(e.get("id")), "unknown")}
            for e in _progress(sections)]


# --------------------------------------------------------------------------------------------------------------
# Count notes
# --------------------------------------------------------------------------------------------------------------


def _where_text(where: Mapping[str, Any] | None, lang: str = "en") -> str:
    """A filter of the plan as a reader's short text: fields and values in words (``状态 = 新建、提升``).

    Examples
    --------
    >>> _where_text({"status": ["built", "upgraded"], "year": {">=": 2021}}, "zh")
    '状态 = 新建、提升; 年份 ≥ 2021'
    >>> _where_text({"status": ["built", "upgraded"]}, "en")
    'status = built, upgraded'
    """
    ops = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "!=": "≠", "==": "=", "contains": "∋"}
    parts = []
    for column, cond in (where or {}).items():
        name = labels.field_label(str(column), lang)
        if isinstance(cond, Mapping):
            parts += [f"{name} {ops.get(op, op)} {labels.value_words(v, lang)}" for op, v in cond.items()]
        else:
            parts.append(f"{name} = {labels.value_words(cond, lang)}")
    return "; ".join(parts)


def _years(lang: str, upto: int, since: int | None = None, *, each: bool = False) -> str:
    if each:
        return _w("counts.year_is", lang, year=upto)
    if since is not None:
        return _w("counts.year_span", lang, since=since, year=upto)
    return _w("counts.year_upto", lang, year=upto)


def _described(count: int, conditions: Sequence[str]) -> str:
    shown = "; ".join(c for c in conditions if c)
    return f"{count:,} ({shown})" if shown else f"{count:,}"


def _name(result: Any, lang: str) -> str:
    """A target as a reader names it: the plan's phrase in zh, its title in en (its id when it has neither)."""
    return str((result.phrase if lang == "zh" else result.title) or result.title or result.phrase or result.id)


def _layer_counts(plan: Plan, year: int, targets: Sequence[TargetResult],
                  sections: Mapping[str, Sequence[Mapping[str, Any]]], lang: str) -> list[dict[str, Any]]:
    """One note per layer that targets, coverage and rules count differently in ``year``."""
    counted: dict[str, list[tuple[str, int, str]]] = {}
    specs = {t.id: t for t in plan.targets}
    for r in targets:
        spec = specs.get(r.id)
        if spec is None or r.year != year or spec.metric != "count" or r.actual is None:
            continue
        each = spec.years == "each_year"
        text = _described(int(r.actual), [_where_text(spec.where, lang),
                                          _years(lang, year, spec.since, each=each)])
        counted.setdefault(spec.layer, []).append((labels.word("report.targets", lang), int(r.actual), text))
    for e in sections.get("coverage") or []:
        if e.get("year") == year and isinstance(e.get("sites"), int) and e.get("weight", "count") == "count":
            requirement = next((c for c in plan.coverage if c.id == e.get("id")), None)
            where = requirement.params.get("demand_where") if requirement is not None else None
            text = _described(int(e["sites"]), [_where_text(where, lang), _years(lang, year)])
            counted.setdefault(str(e.get("layer")), []).append(
                (labels.label("section", "coverage", lang), int(e["sites"]), text))
    for e in sections.get("rules") or []:
        rule = next((x for x in plan.rules if x.id == e.get("id")), None)
        if rule is None or rule.params.get("where") or not isinstance(e.get("checked"), int):
            continue
        later = int(e.get("later") or 0)
        conditions = [_years(lang, int(e["year"])) if e.get("year") is not None else "",
                      _w("counts.later", lang, count=f"{later:,}", year=e.get("year")) if later else ""]
        counted.setdefault(str(e.get("layer")), []).append(
            (labels.label("section", "rules", lang), int(e["checked"]), _described(int(e["checked"]), conditions)))
    notes = []
    for layer, found in counted.items():
        by_section: dict[str, tuple[int, str]] = {}
        for section, count, text in found:
            by_section.setdefault(section, (count, text))  # the first of each section speaks for it
        if len({count for count, _ in by_section.values()}) < 2:
            continue
        parts = _w("counts.join", lang).join(f"{section} {text}" for section, (_, text) in by_section.items())
        layer_spec = LAYERS.get(layer)
        name = ((layer_spec.title_zh if lang == "zh" else layer_spec.title_en) if layer_spec else "") or layer
        notes.append({"about": f"layer:{layer}", "text": _w("counts.layer", lang, layer=name, parts=parts)})
    return notes


def count_notes(plan: Plan, year: int, targets: Sequence[TargetResult],
                sections: Mapping[str, Sequence[Mapping[str, Any]]], *, lang: str = "en") -> list[dict[str, Any]]:
    """One line per count that looks inconsistent, saying why, from the plan's filters and years.

    Returns ``[{"about": ..., "text": ...}]``; ``about`` is ``"target_years"``, ``"rules_year"`` (the rules
    judged only the sites existing in the year), ``"layer:NAME"`` or ``"target:ID"`` (a target whose status is
    another year's than the value shown).

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> r = audit.run_audit(io.read_sample(), p, year=2023)
    >>> for note in count_notes(p, 2023, r.targets, r.sections):
    ...     print(note["about"])
    target_years
    rules_year
    layer:micro_parks
    """
    notes: list[dict[str, Any]] = []
    by_id: dict[str, list[TargetResult]] = {}
    for r in targets:
        by_id.setdefault(r.id, []).append(r)
    multi = {tid: rs for tid, rs in by_id.items() if len(rs) > 1}
    if multi:
        ids = ", ".join(f"{_name(rs[0], lang)} ({min(r.year for r in rs)}–{max(r.year for r in rs)})"
                        for rs in multi.values())
        notes.append({"about": "target_years", "text": _w("counts.target_years", lang, results=len(targets),
                                                           targets=len(by_id), ids=ids)})
    rules = sections.get("rules") or []
    if any(e.get("later") or e.get("undated") for e in rules):
        notes.append({"about": "rules_year", "text": _w("counts.rules_year", lang, year=rules[0].get("year"))})
    notes += _layer_counts(plan, year, targets, sections, lang)
    for tid, found in multi.items():
        rs = sorted(found, key=lambda r: r.year)
        worst = next((r for r in rs if r.status == "not_met"), None)
        if worst is not None and worst.year != rs[-1].year:
            notes.append({"about": f"target:{tid}", "text": _w(
                "counts.worst_year", lang, id=_name(rs[0], lang), first=rs[0].year, last=rs[-1].year, year=worst.year,
                status=labels.status_word(worst.status, lang))})
    return notes
