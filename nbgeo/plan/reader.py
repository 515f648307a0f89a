"""Reading a plan file: every problem at once, each with its file, line, table, key and a hint.

:func:`read_plan` parses the TOML, checks every table against its model (:mod:`nbgeo.plan.models`),
the names that may become file names, the plan period, milestones and duplicate ids, and only then
builds the :class:`~nbgeo.plan.Plan`. Nothing stops at the first problem: the error lists all of
them, each a :class:`PlanProblem` in its ``problems``.

Examples
--------
>>> text = '''[plan]
... id = "p"
... title = "t"
... baseline = 2020
... horizon = 2025
...
... [[rules]]
... id = "r"
... layer = "parks"
... kind = "exclusion"
... against = "constraints"
... distnace = 100
...
... [[targets]]
... id = "t"
... layer = "parks"
... metric = "cuont"
... threshold = 5
... '''
>>> import tomllib
>>> plan_from_dict(tomllib.loads(text), path="plan.toml", text=text)
Traceback (most recent call last):
...
nbgeo.errors.PlanError: plan.toml: 2 problems:
  plan.toml, line 17: [[targets]] #1, key 'metric': must be one of count, tier_count, sum, length, area, share, got 'cuont' (text) (hint: did you mean 'count'?)
  plan.toml, line 12: [[rules]] #1, key 'distnace': unknown key for kind 'exclusion' (hint: did you mean 'distance'? (a key of setback; kind 'exclusion' takes: against, ...))
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import paths
from .._values import TomlLines, type_name
from ..errors import FilterError, InputError, PlanError, Problem
from .models import TABLES, Issue, issues, suggest
from .specs import (
    CoverageSpec,
    IndicatorSpec,
    Plan,
    RuleSpec,
    SitingSpec,
    SuitabilitySpec,
    Target,
    milestone_problem,
)

__all__ = ["PlanProblem", "plan_from_dict", "read_plan"]

#: The tables of a plan file, in the order they are checked.
_ARRAYS = ("targets", "indicators", "rules", "coverage", "suitability", "siting")

#: Keys whose values may become file names (``ID.tif``) or name layers that do (``LAYER_sites.csv``).
_NAME_KEYS = {"plan": ("id",), "targets": ("id", "layer"), "rules": ("id", "layer"),
              "coverage": ("id", "demand", "facilities"), "indicators": ("id",), "suitability": ("id", "layer"),
              "siting": ("id", "demand", "facilities")}

#: The keys each table shares with the spec object's own fields (the rest go to ``params``).
_BINDING = ("phrase", "title", "proposed", "severity", "basis")
_COMMON = {"rules": ("id", "layer", "kind", *_BINDING),
           "coverage": ("id", "demand", "facilities", *_BINDING),
           "suitability": ("id", "layer", *_BINDING),
           "siting": ("id", *_BINDING)}


@dataclass(frozen=True)
class PlanProblem(Problem):
    """A :class:`~nbgeo.errors.Problem` of a plan file, located by line, table, item and key.

    ``index`` is 0-based (messages count from 1: ``[[rules]] #3``); ``table`` is ``"plan"`` for the header
    and ``"suitability.criteria"`` for a criterion (``index`` counting every criterion of the file).
    """

    line: int | None = None
    table: str | None = None
    index: int | None = None
    key: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The problem as JSON-ready data, with its place in the plan file."""
        return {**super().to_dict(), "line": self.line, "table": self.table, "index": self.index, "key": self.key}


class _Collector:
    """The problems of one plan file, each located by its line."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = TomlLines(text)
        self.found: list[PlanProblem] = []

    def add(self, table: str, index: int | None, key: str | None, message: str, hint: str = "",
            code: str = "E-PLAN-KEY") -> None:
        line = self.lines.line(table, index, key)
        where = f"{self.path}, line {line}" if line else self.path
        what = f"[[{table}]] #{index + 1}" if index is not None else f"[{table}]"
        if key:
            what += f", key {key!r}"
        text = f"{where}: {what}: {message}" + (f" (hint: {hint})" if hint else "")
        self.found.append(PlanProblem(code, text, file=self.path, hint=hint or None, line=line, table=table,
                                      index=index, key=key))

    def issue(self, table: str, index: int, item: Mapping[str, Any], issue: Issue, criteria_before: int) -> None:
        if issue.criterion is None:
            self.add(table, index, issue.key, issue.message, issue.hint, issue.code)
            return
        j = issue.criterion
        self.add("suitability.criteria", criteria_before + j, issue.key,
                 f"(of [[suitability]] #{index + 1}, criterion #{j + 1}) {issue.message}", issue.hint, issue.code)

    def raise_if_any(self) -> None:
        if not self.found:
            return
        first = self.found[0]
        cls = FilterError if first.code.startswith("E-FILTER") else PlanError
        if len(self.found) == 1:
            raise cls(first.message, code=first.code, problems=tuple(self.found))
        lines = [f"{self.path}: {len(self.found)} problems:", *(f"  {p.message}" for p in self.found)]
        raise cls("\n".join(lines), code=first.code, problems=tuple(self.found))


def _names(out: _Collector, table: str, index: int | None, raw: Mapping[str, Any]) -> None:
    """Refuse an id or layer name that cannot name a file, naming its table, key and line."""
    for key in _NAME_KEYS[table]:
        if isinstance(raw.get(key), str) and (problem := paths.name_problem(raw[key])) is not None:
            what = "id" if key == "id" else "layer name"
            out.add(table, index, key, f"{what} {raw[key]!r} cannot name a file: {problem}",
                    "use letters, digits, '_' and '-' only, e.g. 'micro_parks'", code="E-NAME-UNSAFE")


def _check(data: Mapping[str, Any], out: _Collector) -> None:
    """Every problem of the parsed file, collected in ``out``."""
    for key, value in data.items():
        if key not in TABLES:
            out.add(key, None, None, "unknown table",
                    suggest(key, TABLES) or "tables: [plan], [[targets]], [[rules]], [[coverage]], [[indicators]], "
                                            "[[suitability]], [[siting]]")
        elif key != "plan" and (not isinstance(value, list) or not all(isinstance(v, dict) for v in value)):
            out.add(key, None, None, f"must be [[{key}]] tables, got {type_name(value)}",
                    f"write each one as a [[{key}]] table")
    head = data.get("plan")
    period: tuple[int, int] | None = None
    if not isinstance(head, dict):
        out.add("plan", None, None, "missing [plan] table", "start the file with [plan] and id, title, baseline, "
                                                             "horizon")
    else:
        found = issues("plan", head)
        for issue in found:
            out.add("plan", None, issue.key, issue.message, issue.hint, issue.code)
        _names(out, "plan", None, head)
        if not found:
            period = (head["baseline"], head["horizon"])
            if not period[0] < period[1]:
                out.add("plan", None, "horizon", f"baseline {period[0]} must come before horizon {period[1]}",
                        code="E-PLAN-YEARS")
    criteria_before = 0
    for table in _ARRAYS:
        items = data.get(table, [])
        if not isinstance(items, list):
            continue
        seen: set[str] = set()
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            found = issues(table, item)
            for issue in found:
                out.issue(table, i, item, issue, criteria_before)
            _names(out, table, i, item)
            ident = item.get("id")
            if isinstance(ident, str):
                if ident in seen:
                    kind = {"targets": "target", "rules": "rule", "indicators": "indicator"}.get(table, table)
                    out.add(table, i, "id", f"duplicate {kind} id {ident!r}", code="E-PLAN-DUPLICATE")
                seen.add(ident)
            if period and not any(f.key == "milestones" for f in found):
                for year in sorted(int(y) for y in (item.get("milestones") or {})):
                    if problem := milestone_problem(year, *period):
                        out.add(table, i, "milestones", problem, code="E-PLAN-MILESTONE")
            if table == "suitability" and isinstance(item.get("criteria"), list):
                criteria_before += len(item["criteria"])
    coverage = [c.get("id") for c in data.get("coverage", []) if isinstance(c, dict)]
    for i, item in enumerate(data.get("siting", []) if isinstance(data.get("siting"), list) else []):
        ref = item.get("coverage") if isinstance(item, dict) else None
        if isinstance(ref, str) and ref not in coverage:
            out.add("siting", i, "coverage", f"no [[coverage]] has the id {ref!r}",
                    suggest(ref, [c for c in coverage if isinstance(c, str)]) or "[[coverage]] ids: "
                    + (", ".join(str(c) for c in coverage) or "none"), code="E-PLAN-REF")


def _split(table: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    common = _COMMON[table]
    return {**{k: v for k, v in raw.items() if k in common},
            "params": {k: v for k, v in raw.items() if k not in common}}


def plan_from_dict(data: Mapping[str, Any], *, path: str = "<plan>", text: str = "") -> Plan:
    """Build a :class:`Plan` from parsed TOML data, refusing it with every problem it has.

    Parameters
    ----------
    data
        The parsed TOML.
    path, text
        The file and its text, to name lines in messages.

    Raises
    ------
    PlanError
        Listing every problem (``problems``: one :class:`PlanProblem` each), the first one's code;
        a :class:`~nbgeo.errors.FilterError` when the first is a malformed filter.

    Examples
    --------
    >>> d = {"plan": {"id": "p", "title": "t", "baseline": 2020, "horizon": 2025},
    ...      "targets": [{"id": "a", "layer": "chargers", "metric": "count", "threshold": 5, "colour": 1}]}
    >>> plan_from_dict(d)
    Traceback (most recent call last):
    ...
    nbgeo.errors.PlanError: <plan>: [[targets]] #1, key 'colour': unknown key (hint: did you mean 'column'?)
    """
    out = _Collector(path, text)
    _check(data, out)
    out.raise_if_any()
    head = data["plan"]
    try:
        return Plan(
            id=head["id"], title=head["title"], title_en=head.get("title_en", ""),
            baseline=head["baseline"], horizon=head["horizon"], source=head.get("source", ""),
            note=head.get("note", ""), path=path,
            targets=tuple(Target(**raw) for raw in data.get("targets", [])),
            indicators=tuple(IndicatorSpec(**raw) for raw in data.get("indicators", [])),
            rules=tuple(RuleSpec(**_split("rules", raw)) for raw in data.get("rules", [])),
            coverage=tuple(CoverageSpec(**_split("coverage", raw)) for raw in data.get("coverage", [])),
            suitability=tuple(SuitabilitySpec(**_split("suitability", raw)) for raw in data.get("suitability", [])),
            siting=tuple(SitingSpec(**_split("siting", raw)) for raw in data.get("siting", [])),
        )
    except PlanError as exc:  # pragma: no cover - every check of the objects ran above, located
        raise PlanError(f"{path}: {exc.message}", code=exc.code) from None


def read_plan(path: str | Path) -> Plan:
    """Read a plan file (TOML), checking every table, key and value.

    Parameters
    ----------
    path
        The plan file.

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        With the file, line, table and key of every problem, and a "did you mean" for a misspelt key or kind.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> read_plan(datasets.get_path("ningbo_2025")).id
    'ningbo-manufacturing-2021-2025'
    """
    p = Path(path)
    try:  # a regular file, read without blocking: never a pipe or a device such as /dev/zero
        raw = paths.read_input(p, what="plan file")
    except InputError as exc:
        code = {"E-FILE-MISSING": "E-PLAN-MISSING", "E-FILE-READ": "E-PLAN-MISSING"}.get(exc.code, exc.code)
        raise PlanError(exc.message, code=code) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"plan file {str(p)!r} is not UTF-8 text (byte {exc.start})"
        raise PlanError(msg, code="E-PLAN-ENCODING") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{p}: not valid TOML: {exc}"
        raise PlanError(msg, code="E-PLAN-SYNTAX") from None
    return plan_from_dict(data, path=str(p), text=text)
