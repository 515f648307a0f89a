"""Progress through the years: how far each target of the plan is on its way to its deadline.

A five-year plan is audited every year. In 2023 the question is not only which
2025 targets are unmet (all of them, mostly) but which are *off track*. This
module evaluates every target (and every indicator of :mod:`nbgeo.indicators`)
for each year from the plan's baseline to the evaluation year, using the
layers' year columns (``year``, ``output_{year}``) or snapshot datasets, and
compares each year with the pace needed to reach the threshold by the
plan's horizon.

The path
--------
The required path runs from the *baseline value* (the value measured in the
plan's baseline year, e.g. 2020) to the threshold at the horizon: a straight
line by default, or through the target's own ``milestones`` (``{2023 = 7000}``
in the plan file), straight between them. If the baseline value cannot be
measured, the path starts at the first year that has a value (and says so).
An indicator's values are the ones its ``years`` judges (:mod:`nbgeo.indicators`): for a
``cumulative`` one (累计, 新增 over the plan period) the running sum of what each year added, so
its path starts at 0 in the baseline year.

Flags
-----
Each year up to the evaluation year gets a flag, judged only on the data of
that year and before (what a planner saw that year):

``on_track``
    At or ahead of the path for that year.
``at_risk``
    Behind the path, but either by no more than :data:`AT_RISK_SHORTFALL`
    (10 %) of the progress the path required since the baseline, or the
    latest year's pace, kept up until the deadline, would still reach the
    threshold.
``off_track``
    Further behind, and the latest year's pace would not reach the threshold
    in time.
``met`` / ``missed``
    At the deadline and after: the threshold itself decides.
``no_data``
    The value could not be measured (the reason is in ``note``).
``baseline``
    The baseline year itself, where every path starts.

``each_year`` targets (the industrial land share, at least 35 % *every year*)
have no path: each year is judged on its own. A year that meets the threshold
is ``on_track`` (``at_risk`` when its margin is within :data:`AT_RISK_BAND`,
5 %, of the threshold), a year that misses it ``off_track``. The target as a
whole is ``off_track`` from the first missed year on, because "every year" can
no longer hold, and at the horizon it is ``met`` only if every year was.

The flag of the evaluation year is the ``status`` of a target's entry in the
``progress`` section of ``audit.json``. These flags are advice about the
future: they never change the audit's exit code (the target verdicts do).

Examples
--------
>>> from nbgeo import datasets, io, plan, progress
>>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
>>> entries = progress.track(p, io.read_sample(), as_of=2023)
>>> {e.id: e.status for e in entries if e.kind == "target"}["clusters_50bn"]
'at_risk'
>>> chargers = next(e for e in entries if e.id == "chargers")
>>> chargers.actual, round(chargers.expected), chargers.status
(7300.0, 6920, 'on_track')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from . import settings
from .errors import InputError
from .indicators import indicator_history, table_for
from .renderers import labels
from .targets import evaluate_target

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .indicators import IndicatorTable
    from .layers import Dataset
    from .plan import Plan

__all__ = [
    "AT_RISK_BAND",
    "AT_RISK_SHORTFALL",
    "STATUSES",
    "Progress",
    "YearStatus",
    "assess",
    "progress_section",
    "required_path",
    "target_history",
    "to_text",
    "track",
]

log = logging.getLogger(__name__)

#: Behind the path by at most this share of the progress required since the baseline: ``at_risk``, not ``off_track``.
AT_RISK_SHORTFALL = 0.10
#: An ``each_year`` target met by less than this share of its threshold: ``at_risk``.
AT_RISK_BAND = 0.05
#: Every flag, from good to bad, then the ones that are not judgements.
STATUSES = ("met", "on_track", "at_risk", "off_track", "missed", "no_data", "baseline")

_UNSET: Any = object()


class _Goal(Protocol):
    """What :func:`assess` needs of a target or indicator (both are frozen: read-only attributes)."""

    @property
    def id(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def unit(self) -> str: ...
    @property
    def years(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def phrase(self) -> str: ...
    @property
    def proposed(self) -> bool: ...
    @property
    def milestones(self) -> Mapping[int, float]: ...

    def compare(self, actual: float) -> bool: ...

    def margin(self, actual: float) -> float: ...


@dataclass(frozen=True)
class YearStatus:
    """One year of a target's history: the value, the path's value and the flag."""

    year: int
    actual: float | None
    expected: float | None
    status: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: the English ``note``, and the same as ``note_key`` and ``note_values`` for readers."""
        key, values = labels.keyed_note(self.note) if self.note else ("", {})
        return {"year": self.year, "actual": _round(self.actual), "expected": _round(self.expected),
                "status": self.status, "note": self.note, "note_key": key, "note_values": values}


@dataclass(frozen=True)
class Progress:
    """A target's (or indicator's) progress towards its deadline, as of one year.

    Attributes
    ----------
    id, kind, layer
        The target or indicator (``kind`` is ``"target"`` or ``"indicator"``;
        ``layer`` is empty for indicators).
    status
        The flag of the ``as_of`` year (see the module docstring).
    actual, expected
        The value in the ``as_of`` year and the path's value for it.
    gap
        ``actual`` minus ``expected``, positive on the good side.
    ratio
        The progress made since the baseline as a share of the progress the
        path required by then (1.0 = exactly on the path); None when the path
        required none or for ``each_year`` targets.
    projected
        The value at the deadline if the latest year's pace is kept up.
    needed_per_year, achieved_per_year
        The change per year still needed to reach the threshold by the
        deadline, and the average change per year since the baseline.
    missed_years
        For ``each_year`` targets: the years that missed the threshold.
    history
        One :class:`YearStatus` per year from the baseline to the deadline;
        years after ``as_of`` have only the path's value.
    note, note_key, note_values
        The note beside the flag in English, and as a ``note.*`` key of :mod:`nbgeo.renderers.labels` (clauses
        joined by ``+``) with its values, which pages word in their language (:func:`nbgeo.renderers.readable.note`).
    """

    id: str
    kind: str
    title: str
    phrase: str
    unit: str
    op: str
    threshold: float
    years: str
    baseline: int
    deadline: int
    as_of: int
    pace: str
    status: str
    baseline_value: float | None = None
    actual: float | None = None
    expected: float | None = None
    gap: float | None = None
    ratio: float | None = None
    projected: float | None = None
    needed_per_year: float | None = None
    achieved_per_year: float | None = None
    missed_years: tuple[int, ...] = ()
    milestones: Mapping[int, float] = field(default_factory=dict)
    history: tuple[YearStatus, ...] = ()
    note: str = ""
    proposed: bool = False
    layer: str = ""
    note_key: str = ""
    note_values: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The entry of the ``progress`` section of ``audit.json``."""
        return {
            "id": self.id, "kind": self.kind, "layer": self.layer, "title": self.title, "phrase": self.phrase,
            "unit": self.unit, "op": self.op, "threshold": self.threshold, "years": self.years,
            "baseline": self.baseline, "baseline_value": _round(self.baseline_value), "deadline": self.deadline,
            "as_of": self.as_of, "pace": self.pace,
            "milestones": {str(y): v for y, v in self.milestones.items()},
            "status": self.status, "actual": _round(self.actual), "expected": _round(self.expected),
            "gap": _round(self.gap), "ratio": _round(self.ratio, 4), "projected": _round(self.projected),
            "needed_per_year": _round(self.needed_per_year), "achieved_per_year": _round(self.achieved_per_year),
            "missed_years": list(self.missed_years), "note": self.note, "note_key": self.note_key,
            "note_values": dict(self.note_values), "proposed": self.proposed,
            "history": [h.to_dict() for h in self.history],
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def _num(value: float | None) -> str:
    """A number for a sentence: thousands separated, at most two decimals."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _direction(op: str, threshold: float, start: float) -> float:
    """+1 when the target asks for more, -1 when it asks for less."""
    if op in (">=", ">"):
        return 1.0
    if op in ("<=", "<"):
        return -1.0
    return 1.0 if threshold >= start else -1.0


def required_path(start_year: int, start_value: float, deadline: int, threshold: float,
                  milestones: Mapping[int, float] | None = None) -> dict[int, float]:
    """The value required in each year from ``start_year`` to ``deadline``.

    A straight line from ``(start_year, start_value)`` to ``(deadline,
    threshold)``, or through the ``milestones`` that fall between them.

    Examples
    --------
    >>> required_path(2020, 0, 2025, 200)
    {2020: 0.0, 2021: 40.0, 2022: 80.0, 2023: 120.0, 2024: 160.0, 2025: 200.0}
    >>> required_path(2020, 0, 2025, 200, {2022: 20})[2023]
    80.0
    """
    inner = sorted((y, v) for y, v in (milestones or {}).items() if start_year < y < deadline)
    xs = [start_year, *(y for y, _ in inner), deadline]
    ys = [start_value, *(v for _, v in inner), threshold]
    years = np.arange(start_year, deadline + 1)
    return {int(y): float(v) for y, v in zip(years, np.interp(years, xs, ys), strict=True)}


def _latest_before(values: Mapping[int, float | None], year: int, first: int) -> int | None:
    for y in range(year - 1, first - 1, -1):
        if values.get(y) is not None:
            return y
    return None


def _each_year(goal: _Goal, values: Mapping[int, float | None], notes: Mapping[int, str], *, baseline: int,
               deadline: int, last: int, band: float) -> tuple[list[YearStatus], str, list[int], _Note]:
    """Per-year judgement of an ``each_year`` target; returns history, status, missed years, :class:`_Note`."""
    history: list[YearStatus] = []
    missed: list[int] = []
    unknown: list[int] = []
    for year in range(baseline, deadline + 1):
        actual = values.get(year) if year <= last else None
        if year == baseline:
            history.append(YearStatus(year, actual, None, "baseline", notes.get(year, "")))
            continue
        if year > last:
            history.append(YearStatus(year, None, goal.threshold, ""))
            continue
        if actual is None:
            unknown.append(year)
            history.append(YearStatus(year, None, goal.threshold, "no_data", notes.get(year, "")))
            continue
        met = goal.compare(actual)
        if not met:
            missed.append(year)
        if year >= deadline:
            status = "met" if met else "missed"
        elif not met:
            status = "off_track"
        else:
            status = "at_risk" if goal.margin(actual) < band * abs(goal.threshold) else "on_track"
        history.append(YearStatus(year, actual, goal.threshold, status))
    unit = f" {goal.unit}" if goal.unit else ""
    missed_text = ", ".join(f"{y} ({_num(values[y])}{unit})" for y in missed)
    last_status = history[last - baseline].status
    figures = {"op": goal.op, "threshold": goal.threshold, "unit": goal.unit}
    missed_values = {"missed": {str(y): values[y] for y in missed}, **figures}
    if last <= baseline:
        return history, "baseline", missed, _Note(
            f"{baseline} is the baseline year; the first year judged is {baseline + 1}", "each.baseline",
            {"baseline": baseline, "first": baseline + 1})
    if last >= deadline:
        if missed:
            return history, "missed", missed, _Note(
                f"required {goal.op} {_num(goal.threshold)}{unit} every year; missed in {missed_text}", "each.missed",
                missed_values)
        if unknown:
            return history, "no_data", missed, _Note(f"no value for {', '.join(map(str, unknown))}", "each.no_value",
                                                      {"years": unknown})
        return history, "met", missed, _Note(
            f"{goal.op} {_num(goal.threshold)}{unit} in every year {baseline + 1}–{deadline}", "each.met",
            {**figures, "first": baseline + 1, "deadline": deadline})
    if missed:
        return history, "off_track", missed, _Note(
            f"required {goal.op} {_num(goal.threshold)}{unit} every year; missed in {missed_text}", "each.missed",
            missed_values)
    if last_status == "no_data":
        return history, "no_data", missed, _Note.given(history[last - baseline].note)
    if last_status == "at_risk":
        return history, last_status, missed, _Note(
            f"{last}: {_num(values[last])}{unit}, within {band:.0%} of the threshold {_num(goal.threshold)}{unit}",
            "each.at_risk", {**figures, "year": last, "value": values[last], "band": band})
    return history, last_status, missed, _Note(f"met in every year so far ({baseline + 1}–{last})", "each.so_far",
                                               {"first": baseline + 1, "last": last})


@dataclass(frozen=True)
class _Note:
    """A note in English, and as a ``note.*`` key with its values (see :attr:`Progress.note_key`)."""

    text: str
    key: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def given(cls, text: str) -> _Note:
        """A measure's English note, read back into its key (:func:`nbgeo.renderers.labels.keyed_note`)."""
        if not text:
            return cls("")
        key, values = labels.keyed_note(text)
        return cls(text, key, values)

    def then(self, other: _Note) -> _Note:
        """The note followed by ``other``, joined by a semicolon."""
        if not other.text:
            return self
        if not self.text:
            return other
        return _Note(f"{self.text}; {other.text}", f"{self.key}+progress.and+{other.key}",
                     {**other.values, **self.values})

    def fields(self) -> dict[str, Any]:
        """The ``note``, ``note_key`` and ``note_values`` of a :class:`Progress`."""
        return {"note": self.text, "note_key": self.key, "note_values": {k: _json(v) for k, v in self.values.items()}}


def _json(value: Any) -> Any:
    if isinstance(value, float):
        return _round(value)
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def assess(goal: _Goal, values: Mapping[int, float | None], *, baseline: int, deadline: int, as_of: int,
           notes: Mapping[int, str] | None = None, kind: str = "target", layer: str = "",
           shortfall: float = AT_RISK_SHORTFALL, band: float = AT_RISK_BAND) -> Progress:
    """Judge a target's yearly values against the path to its threshold.

    Parameters
    ----------
    goal
        A :class:`~nbgeo.plan.Target` or :class:`~nbgeo.plan.IndicatorSpec`
        (anything with ``op``, ``threshold``, ``years``, ``milestones``,
        ``compare`` and ``margin``).
    values
        The measured value per year (None when unknown); years after
        ``as_of`` are ignored, so a dataset that already holds later years
        cannot leak into an earlier audit.
    baseline, deadline
        The plan's baseline year and horizon.
    as_of
        The evaluation year.
    notes
        Why a year's value is unknown, by year.
    kind, layer
        Recorded in the result.
    shortfall, band
        The thresholds of ``at_risk`` (see :data:`AT_RISK_SHORTFALL`, :data:`AT_RISK_BAND`).

    Returns
    -------
    Progress

    Examples
    --------
    A target of 100 by 2025 from 20 in 2020 needs 68 by 2023 on the straight path:

    >>> from nbgeo.plan import Target
    >>> t = Target(id="t", layer="chargers", metric="count", threshold=100)
    >>> history = {2020: 20, 2021: 36, 2022: 50, 2023: 65}
    >>> p = assess(t, history, baseline=2020, deadline=2025, as_of=2023)
    >>> p.expected, p.status, round(p.ratio, 3)
    (68.0, 'at_risk', 0.938)
    >>> assess(t, {**history, 2023: 55}, baseline=2020, deadline=2025, as_of=2023).status
    'off_track'
    """
    if as_of < baseline:
        msg = f"{kind} {goal.id!r}: year {as_of} is before the plan's baseline {baseline}"
        raise InputError(msg, code="E-PROGRESS-YEAR")
    notes = notes or {}
    last = min(as_of, deadline)
    values = {int(y): (None if v is None else float(v)) for y, v in values.items() if baseline <= int(y) <= last}
    base = Progress(id=goal.id, kind=kind, layer=layer, title=goal.title, phrase=goal.phrase, unit=goal.unit,
                    op=goal.op, threshold=goal.threshold, years=goal.years, baseline=baseline, deadline=deadline,
                    as_of=as_of, pace="", status="", milestones=dict(goal.milestones), proposed=goal.proposed,
                    baseline_value=values.get(baseline))
    unit = f" {goal.unit}" if goal.unit else ""

    if goal.years == "each_year":
        history, status, missed, note = _each_year(goal, values, notes, baseline=baseline, deadline=deadline,
                                                   last=last, band=band)
        actual = values.get(last)
        gap = None if actual is None or last <= baseline else goal.margin(actual)
        return replace(base, pace="each_year", status=status, actual=actual,
                       expected=goal.threshold if last > baseline else None, gap=gap,
                       missed_years=tuple(missed), history=tuple(history), **note.fields())

    pace = "milestones" if goal.milestones else "linear"
    known = [y for y in sorted(values) if values[y] is not None]
    if not known:
        given = notes.get(last) or next((n for n in notes.values() if n), "")
        reason = _Note.given(given) if given else _Note("no value in any year", "progress.none_any")
        empty = tuple(YearStatus(y, None, None, "no_data" if y <= last else "", notes.get(y, ""))
                      for y in range(baseline, deadline + 1))
        return replace(base, pace=pace, status="no_data", history=empty, **reason.fields())
    start_year = known[0]
    start = values[start_year]
    assert start is not None
    path = required_path(start_year, start, deadline, goal.threshold, goal.milestones)
    d = _direction(goal.op, goal.threshold, start)
    tol = 1e-9 * max(1.0, abs(goal.threshold))
    start_note = _Note("") if start_year == baseline else _Note(
        f"no value for the baseline {baseline}; the path starts at {start_year}'s {_num(start)}{unit}",
        "progress.start", {"baseline": baseline, "start_year": start_year, "start": start, "unit": goal.unit})

    def judge(year: int) -> tuple[str, dict[str, float | None]]:
        actual = values.get(year)
        figures: dict[str, float | None] = {"ratio": None, "projected": None, "needed": None, "pace": None}
        if actual is None:
            return "no_data", figures
        if year >= deadline:
            return ("met" if goal.compare(actual) else "missed"), figures
        if year == start_year:
            return "baseline", figures
        expected = path[year]
        required = d * (expected - start)
        figures["ratio"] = d * (actual - start) / required if required > tol else None
        figures["needed"] = (goal.threshold - actual) / (deadline - year)
        prev = _latest_before(values, year, start_year)
        if prev is not None:
            prev_value = values[prev]
            assert prev_value is not None
            pace_last = (actual - prev_value) / (year - prev)
            figures["pace"] = pace_last
            figures["projected"] = actual + pace_last * (deadline - year)
        if d * (actual - expected) >= -tol:
            return "on_track", figures
        ratio, projected = figures["ratio"], figures["projected"]
        if (ratio is not None and ratio >= 1.0 - shortfall) or (projected is not None and goal.compare(projected)):
            return "at_risk", figures
        return "off_track", figures

    history = []
    figures_last: dict[str, float | None] = {}
    status_last = "no_data"
    for year in range(baseline, deadline + 1):
        expected = path.get(year)
        if year > last:
            history.append(YearStatus(year, None, expected, ""))
            continue
        status, figures = judge(year)
        history.append(YearStatus(year, values.get(year), expected, status, notes.get(year, "")
                                  if status == "no_data" else ""))
        if year == last:
            status_last, figures_last = status, figures
    actual = values.get(last)
    expected = path.get(last)
    gap = None if actual is None or expected is None else d * (actual - expected)
    achieved = None
    if actual is not None and last > start_year:
        achieved = (actual - start) / (last - start_year)
    note = _sentence(goal, status_last, last, deadline, actual, expected, figures_last, unit, notes.get(last, ""))
    note = note.then(start_note)
    return replace(base, pace=pace, status=status_last, actual=actual, expected=expected, gap=gap,
                   ratio=figures_last.get("ratio"), projected=figures_last.get("projected"),
                   needed_per_year=figures_last.get("needed"), achieved_per_year=achieved,
                   history=tuple(history), **note.fields())


def _sentence(goal: _Goal, status: str, year: int, deadline: int, actual: float | None, expected: float | None,
              figures: Mapping[str, float | None], unit: str, missing: str) -> _Note:
    """The note a planner reads beside the flag (English, key and values)."""
    if status == "no_data":
        return _Note.given(missing) if missing else _Note(f"no value for {year}", "progress.none_for_year",
                                                          {"year": year})
    assert actual is not None
    v: dict[str, Any] = {"actual": actual, "year": year, "deadline": deadline, "unit": goal.unit}
    if status in ("met", "missed"):
        return _Note(f"{_num(actual)}{unit} in {year}, required {goal.op} {_num(goal.threshold)}{unit} by {deadline}",
                     "progress.final", {**v, "op": goal.op, "threshold": goal.threshold})
    if status == "baseline":
        return _Note(f"{year} is the baseline year ({_num(actual)}{unit}); the path starts here", "progress.baseline", v)
    path = f"path {_num(expected)}{unit}"
    needed, pace = figures.get("needed"), figures.get("pace")
    v.update(expected=expected, needed=needed, pace=pace)
    tail = f"needs {_num(needed)}{unit} a year to {deadline}"
    tail_keys = "+progress.needs"
    if pace is not None:
        tail += f", last year {_num(pace)}"
        tail_keys += "+progress.last_pace"
    if status == "on_track":
        return _Note(f"{_num(actual)}{unit} in {year}, at or ahead of the {path}; {tail}", "progress.ahead" + tail_keys, v)
    ratio = figures.get("ratio")
    share = f" ({ratio:.0%} of the progress required)" if ratio is not None else ""
    projected = figures.get("projected")
    reach = f"; at last year's pace {_num(projected)}{unit} by {deadline}" if projected is not None else ""
    key = "progress.behind" + ("+progress.share" if share else "") + ("+progress.reach" if reach else "") + tail_keys
    v.update(ratio=ratio, projected=projected)
    return _Note(f"{_num(actual)}{unit} in {year}, behind the {path}{share}{reach}; {tail}", key, v)


def target_history(target: Any, dataset: Dataset, years: Iterable[int], *,
                   snapshots: Mapping[int, Dataset] | None = None) -> tuple[dict[int, float | None], dict[int, str]]:
    """A spatial target's value in each year, from the year columns or from snapshots.

    Parameters
    ----------
    target
        The :class:`~nbgeo.plan.Target`.
    dataset
        The dataset; its year columns give every year without a snapshot.
    years
        The years to evaluate.
    snapshots
        Datasets as they were in given years (``{2021: ds_2021, ...}``); a
        year with a snapshot is evaluated on it instead.

    Returns
    -------
    values, notes
        The value per year (None when unknown) and the reason per unknown year.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> t = plan.read_plan(datasets.get_path("ningbo_2025")).target("smart_roads")
    >>> values, _ = target_history(t, io.read_sample(), [2021, 2023])
    >>> {y: round(v, 1) for y, v in values.items()}
    {2021: 40.4, 2023: 149.1}
    """
    values: dict[int, float | None] = {}
    notes: dict[int, str] = {}
    for year in years:
        source = snapshots.get(year, dataset) if snapshots else dataset
        result = evaluate_target(target, source, year=year)[-1]
        values[year] = result.actual
        if result.note:
            notes[year] = result.note
    return values, notes


def track(plan: Plan, dataset: Dataset, *, as_of: int | None = None, snapshots: Mapping[int, Dataset] | None = None,
          table: IndicatorTable | None = _UNSET, shortfall: float = AT_RISK_SHORTFALL,
          band: float = AT_RISK_BAND) -> list[Progress]:
    """The progress of every target, then every indicator, of a plan as of one year.

    Parameters
    ----------
    plan
        The plan: its baseline, horizon, targets and indicators.
    dataset
        The layers, with year columns.
    as_of
        The evaluation year; default ``settings.default_year`` or the plan's horizon.
    snapshots
        Datasets as they were in given years, used for those years instead
        of the year columns (see :func:`target_history`).
    table
        The indicator table; by default the one the dataset's manifest declares.
    shortfall, band
        The thresholds of ``at_risk``.

    Returns
    -------
    list of Progress
    """
    when = as_of or settings.default_year or plan.horizon
    if when < plan.baseline:
        msg = f"year {when} is before the plan's baseline {plan.baseline}; progress is measured from {plan.baseline}"
        raise InputError(msg, code="E-PROGRESS-YEAR")
    for year in snapshots or {}:
        if not plan.baseline <= year <= plan.horizon:
            msg = f"snapshot year {year} lies outside the plan period {plan.baseline}–{plan.horizon}"
            raise InputError(msg, code="E-PROGRESS-YEAR")
    years = list(range(plan.baseline, min(when, plan.horizon) + 1))
    out = []
    for target in plan.targets:
        values, notes = target_history(target, dataset, years, snapshots=snapshots)
        out.append(assess(target, values, baseline=plan.baseline, deadline=plan.horizon, as_of=when, notes=notes,
                          kind="target", layer=target.layer, shortfall=shortfall, band=band))
    if plan.indicators:
        if table is _UNSET:
            table = table_for(dataset)
        for spec in plan.indicators:
            found = indicator_history(spec, table, years, baseline=plan.baseline)
            out.append(assess(spec, {y: v for y, (v, _) in found.items()}, baseline=plan.baseline,
                              deadline=plan.horizon, as_of=when, notes={y: n for y, (_, n) in found.items() if n},
                              kind="indicator", shortfall=shortfall, band=band))
    log.info("Progress as of %d: %s", when, ", ".join(f"{p.id}={p.status}" for p in out))
    return out


def progress_section(plan: Plan, dataset: Dataset, *, as_of: int | None = None,
                     snapshots: Mapping[int, Dataset] | None = None) -> list[dict[str, Any]]:
    """The ``progress`` section of ``audit.json``: :func:`track` as JSON-ready dicts."""
    return [p.to_dict() for p in track(plan, dataset, as_of=as_of, snapshots=snapshots)]


def to_text(entries: Sequence[Progress | Mapping[str, Any]]) -> str:
    """The progress as a plain-text table for a terminal.

    Examples
    --------
    >>> from nbgeo.plan import Target
    >>> t = Target(id="roads", layer="smart_roads", metric="length", threshold=200, unit="km")
    >>> p = assess(t, {2020: 0, 2021: 40, 2022: 94, 2023: 149}, baseline=2020, deadline=2025, as_of=2023)
    >>> print(to_text([p]))  # doctest: +NORMALIZE_WHITESPACE
    progress as of 2023 towards 2025 (path from 2020: straight, or through the plan's milestones)
    target  kind    2023  path  done  required  status    note
    roads   target  149   120   124%  >= 200 km on_track  149 km in 2023, at or ahead of the path 120 km; needs 25.5 km a year to 2025, last year 55
    1 on track
    """
    rows = [dict(e.to_dict() if isinstance(e, Progress) else e) for e in entries]
    if not rows:
        return "no targets to track"
    as_of, deadline, baseline = rows[0]["as_of"], rows[0]["deadline"], rows[0]["baseline"]
    head = (f"progress as of {as_of} towards {deadline} "
            f"(path from {baseline}: straight, or through the plan's milestones)")
    table = [("target", "kind", str(min(as_of, deadline)), "path", "done", "required", "status", "note")]
    for r in rows:
        unit = f" {r['unit']}" if r["unit"] else ""
        done = "" if r["ratio"] is None else f"{r['ratio']:.0%}"
        table.append((r["id"], r["kind"], _num(r["actual"]), _num(r["expected"]), done,
                      f"{r['op']} {_num(r['threshold'])}{unit}", r["status"], r["note"]))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    lines = [head]
    for row in table:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines.append(", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATUSES if s in counts))
    return "\n".join(lines)
