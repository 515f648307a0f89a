"""Type and range checks for the values of the TOML files nbgeo reads: plans and dataset manifests.

TOML gives every value a type, but not the one nbgeo needs: ``threshold = "10000"`` is text,
``distance = nan`` and ``cell = inf`` are floats, ``proposed = 1`` is an integer, and ``true``
is an integer to Python. Checked at read time, each value is refused with its key and line
(:func:`check_table`) instead of surfacing later as a ``TypeError`` (exit 3) or a silent
wrong answer.

A check is a callable that returns what is wrong with a value, or ``None``. The factories
here build the ones plans and manifests need; :mod:`nbgeo.plan` and :mod:`nbgeo.io` hold the
schemas (which key takes which check).

Examples
--------
>>> distance = number(low=0, high=1e6, what="a distance in metres")
>>> distance(500) is None, distance(float("nan")), distance("500")
(True, 'must be a distance in metres from 0 to 1,000,000, got nan', "must be a distance in metres from 0 to 1,000,000, got '500' (text)")
>>> text()(["a"])
"must be text, got ['a'] (a list)"
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from .errors import DataError, Problem

__all__ = [
    "Check",
    "TomlLines",
    "check_table",
    "choice",
    "either",
    "flag",
    "list_of",
    "number",
    "numbers_of",
    "table_of",
    "text",
    "type_name",
    "year",
]

#: What is wrong with a value, or ``None`` when it is fine.
Check = Callable[[Any], "str | None"]

YEAR_RANGE = (1900, 2100)
_TYPE_NAMES = {str: "text", bool: "a boolean", int: "an integer", float: "a number", list: "a list", dict: "a table"}


def type_name(value: object) -> str:
    """The TOML name of a value's type, for messages.

    Examples
    --------
    >>> type_name("x"), type_name(True), type_name({"a": 1}), type_name([1])
    ('text', 'a boolean', 'a table', 'a list')
    """
    for kind, name in _TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def _got(value: object) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if isinstance(value, float) and not math.isfinite(value):
        return f"got {shown}"
    return f"got {shown} ({type_name(value)})"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def text(*, nonempty: bool = False, what: str = "text") -> Check:
    """Text (optionally non-empty).

    Examples
    --------
    >>> text()(3)
    'must be text, got 3 (an integer)'
    >>> text(nonempty=True)("")
    'must be text, not empty'
    """

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be {what}, {_got(value)}"
        if nonempty and not value.strip():
            return f"must be {what}, not empty"
        return None

    return check


def choice(*options: object) -> Check:
    """One of ``options`` (compared by type too: ``1`` is not ``true``).

    Examples
    --------
    >>> choice("mean", "max")("median")
    "must be one of mean, max, got 'median' (text)"
    """

    def check(value: Any) -> str | None:
        if any(type(value) is type(o) and value == o for o in options):
            return None
        shown = ", ".join(str(o).lower() if isinstance(o, bool) else str(o) for o in options)
        return f"must be one of {shown}, {_got(value)}"

    return check


def flag() -> Check:
    """``true`` or ``false``.

    Examples
    --------
    >>> flag()(1)
    'must be true or false, got 1 (an integer)'
    """

    def check(value: Any) -> str | None:
        return None if isinstance(value, bool) else f"must be true or false, {_got(value)}"

    return check


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def number(*, low: float | None = None, high: float | None = None, low_open: bool = False, integer: bool = False,
           infinite: bool = False, what: str = "a number") -> Check:
    """A finite number (an integer with ``integer``) within ``[low, high]`` (``(low, high]`` with ``low_open``).

    ``infinite=True`` also accepts ``inf`` (a capacity without limit); NaN never passes.

    Examples
    --------
    >>> number(low=0, low_open=True, what="a cell size")(0)
    'must be a cell size greater than 0, got 0 (an integer)'
    >>> number(integer=True)(2.5), number()(True)
    ('must be a whole number, got 2.5 (a number)', 'must be a number, got True (a boolean)')
    """
    if integer and what == "a number":
        what = "a whole number"
    if low is not None and high is not None:
        bounds = (f" from {_num(low)} to {_num(high)}" if not low_open
                  else f" greater than {_num(low)} and at most {_num(high)}")
    elif low is not None:
        bounds = f" greater than {_num(low)}" if low_open else f" of at least {_num(low)}"
    elif high is not None:
        bounds = f" of at most {_num(high)}"
    else:
        bounds = ""
    expected = f"must be {what}{bounds}"

    def check(value: Any) -> str | None:
        if not _is_number(value) or math.isnan(value):
            return f"{expected}, {_got(value)}"
        if math.isinf(value):
            return None if infinite and value > 0 else f"{expected}, {_got(value)}"
        if integer and value != int(value):
            return f"{expected}, {_got(value)}"
        if low is not None and (value < low or (low_open and value == low)):
            return f"{expected}, {_got(value)}"
        if high is not None and value > high:
            return f"{expected}, {_got(value)}"
        return None

    return check


def year() -> Check:
    """A whole year from 1900 to 2100.

    Examples
    --------
    >>> year()(2025) is None, year()(2025.5), year()(True)
    (True, 'must be a year from 1900 to 2100, got 2025.5 (a number)', 'must be a year from 1900 to 2100, got True (a boolean)')
    """

    def check(value: Any) -> str | None:
        if (_is_number(value) and math.isfinite(value) and value == int(value)
                and YEAR_RANGE[0] <= value <= YEAR_RANGE[1]):
            return None
        return f"must be a year from {YEAR_RANGE[0]} to {YEAR_RANGE[1]}, {_got(value)}"

    return check


def either(*checks: Check) -> Check:
    """The first check that passes; otherwise all their complaints.

    Examples
    --------
    >>> either(number(), table_of(number()))("far")
    "must be a number, got 'far' (text); or must be a table of {key = value}, got 'far' (text)"
    """

    def check(value: Any) -> str | None:
        problems = [c(value) for c in checks]
        if any(p is None for p in problems):
            return None
        return "; or ".join(p for p in problems if p)

    return check


def table_of(values: Check, *, keys: Check | None = None, nonempty: bool = False) -> Check:
    """A table whose values (and keys) pass their checks.

    Examples
    --------
    >>> table_of(number(low=0))({"school": -5})
    "key 'school' must be a number of at least 0, got -5 (an integer)"
    """

    def check(value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return f"must be a table of {{key = value}}, {_got(value)}"
        if nonempty and not value:
            return "must not be an empty table"
        for key, item in value.items():
            if keys is not None and (problem := keys(key)):
                return f"key {key!r} {problem}"
            if problem := values(item):
                return f"key {key!r} {problem}"
        return None

    return check


def list_of(items: Check, *, nonempty: bool = False) -> Check:
    """A list whose items pass the check.

    Examples
    --------
    >>> list_of(text())(["a", 1])
    'item 2 must be text, got 1 (an integer)'
    """

    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return f"must be a list, {_got(value)}"
        if nonempty and not value:
            return "must not be an empty list"
        for i, item in enumerate(value, 1):
            if problem := items(item):
                return f"item {i} {problem}"
        return None

    return check


class TomlLines:
    """Finds the line of a key in a table of a TOML text: ``[name]``, or the n-th ``[[name]]``.

    Examples
    --------
    >>> lines = TomlLines('[plan]\\nid = "p"\\n\\n[[targets]]\\nid = "a"\\n[[targets]]\\nid = "b"\\nthreshold = 1\\n')
    >>> lines.line("targets", 1, "threshold"), lines.line("plan", None, "id"), lines.line("targets", 0, None)
    (8, 2, 4)
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, table: str, index: int | None, key: str | None) -> int | None:
        """The line number of ``key`` in the table (of the table itself when the key is absent or ``None``)."""
        header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]" if index is not None
                            else rf"^\s*\[\s*{_dotted(table)}\s*\]")
        any_header = re.compile(r"^\s*\[")
        start, count = None, -1
        for no, line in enumerate(self.lines, 1):
            if header.match(line):
                count += 1
                if index is None or count == index:
                    start = no
                    break
        if start is None:
            return None
        if key is None:
            return start
        key_re = re.compile(rf"^\s*[\"']?{re.escape(str(key))}[\"']?\s*[=.]")  # key = ..., or key.sub = ...
        for no in range(start + 1, len(self.lines) + 1):
            line = self.lines[no - 1]
            if any_header.match(line):
                break
            if key_re.match(line):
                return no
        return start


def _dotted(table: str) -> str:
    """A header pattern for ``layers.NAME`` that also matches ``layers."NAME"``."""
    return r"\s*\.\s*".join(rf"[\"']?{re.escape(part)}[\"']?" for part in table.split(".", 1))


def check_table(table: Mapping[str, Any], schema: Mapping[str, Check], *, known: bool = True
                ) -> tuple[str, str] | None:
    """The first ``(key, problem)`` of a table against its schema, or ``None``.

    With ``known``, a key the schema does not list is a problem too.

    Examples
    --------
    >>> check_table({"cell": "100", "colour": 1}, {"cell": number(low=0, low_open=True)})
    ('cell', "must be a number greater than 0, got '100' (text)")
    >>> check_table({"cell": 100, "colour": 1}, {"cell": number(low=0, low_open=True)})
    ('colour', 'unknown key; known: cell')
    """
    for key, value in table.items():
        check = schema.get(key)
        if check is None:
            if known:
                return key, f"unknown key; known: {', '.join(sorted(schema))}"
            continue
        if problem := check(value):
            return key, problem
    return None


def numbers_of(values: pd.Series, *, layer: str, column: str, what: str = "a sum") -> pd.Series:
    """A column as numbers, refusing text that is not one (which a sum would otherwise count as 0).

    Empty cells and missing values are NaN; numbers written as text (``"1200"``) are read as numbers.

    Raises
    ------
    DataError
        ``E-VALUE-TYPE``, naming the layer, the column, how many cells and a sample of them.

    Examples
    --------
    >>> numbers_of(pd.Series([1, "2.5", None, ""], index=list("abcd")), layer="zones", column="output").tolist()
    [1.0, 2.5, nan, nan]
    >>> numbers_of(pd.Series([1, "十亿", "n/a"], index=["z1", "z2", "z3"]), layer="zones", column="output")
    Traceback (most recent call last):
    ...
    nbgeo.errors.DataError: layer 'zones', column 'output': 2 values are not numbers (feature 'z2': '十亿', feature 'z3': 'n/a'); a sum would count them as 0 (hint: write plain numbers such as 1200 in that column; leave a cell empty when the value is unknown)
    """
    blank = values.isna() | values.astype(str).str.strip().eq("")
    numbers = pd.to_numeric(values.where(~blank, None), errors="coerce")
    bad = numbers.isna() & ~blank
    if bad.any():
        sample = ", ".join(f"feature {fid!r}: {str(v)[:40]!r}" for fid, v in values[bad].head(3).items())
        more = f" and {int(bad.sum()) - 3} more" if bad.sum() > 3 else ""
        hint = "write plain numbers such as 1200 in that column; leave a cell empty when the value is unknown"
        msg = (f"layer {layer!r}, column {column!r}: {int(bad.sum())} values are not numbers ({sample}{more}); "
               f"{what} would count them as 0 (hint: {hint})")
        problems = [Problem("E-VALUE-TYPE", f"{str(v)[:40]!r} is not a number", layer=layer, feature=fid,
                            column=column, hint=hint) for fid, v in values[bad].head(20).items()]
        raise DataError(msg, code="E-VALUE-TYPE", problems=problems)
    return numbers.astype(float)
