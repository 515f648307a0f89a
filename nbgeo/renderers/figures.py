"""Figures for readers: numbers rounded the way a planner writes them, years as years.

The rounding rules of every page, Markdown file and terminal table nbgeo writes for people: ``84.6 %``,
``+3.5``, ``10,600``, ``2023`` (never ``2,023``). They sit with the foundations, below the measures, so that
a measure's own terminal text (:meth:`nbgeo.audit.AuditReport.to_text`) rounds as the pages do;
:mod:`nbgeo.renderers.readable` adds units, CRS names and words and re-exports these.

Examples
--------
>>> from nbgeo.renderers import figures
>>> figures.number(38.498), figures.delta(3.49795), figures.number(216.004), figures.year(2023.0)
('38.5', '+3.5', '216', '2023')
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["DASH", "count", "delta", "finite", "number", "percent", "year"]

#: What a missing figure shows.
DASH = "—"


def finite(value: Any) -> bool:
    """True for a finite number (not a bool).

    Examples
    --------
    >>> finite(3), finite(float("nan")), finite(True), finite("3")
    (True, False, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, *, digits: int | None = None) -> str:
    """A number for reading: thousands separated, at most 1 decimal at or above 100, 2 below, 3 below 1.

    ``digits`` fixes the decimals. Whole numbers show no decimals. Not a number: a dash (``—``).

    Examples
    --------
    >>> number(10600), number(38.99493), number(0.04213), number(216004.2), number(2.8)
    ('10,600', '38.99', '0.042', '216,004', '2.8')
    >>> number(None), number(float("nan")), number(1.25, digits=1)
    ('—', '—', '1.2')
    """
    if not finite(value):
        return DASH
    v = float(value)
    if digits is None:
        if v.is_integer():
            return f"{int(v):,}"
        digits = 0 if abs(v) >= 1000 else 1 if abs(v) >= 100 else 2 if abs(v) >= 1 else _small_digits(v)
    text = f"{v:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _small_digits(v: float) -> int:
    """Decimals that keep two significant digits of a number below 1 (``0.0042`` → 4)."""
    return 3 if v == 0 or abs(v) >= 0.1 else min(12, math.ceil(-math.log10(abs(v))) + 1)


def count(value: Any) -> str:
    """A count: a whole number with thousands separators.

    Examples
    --------
    >>> count(41500), count(3.0), count(None)
    ('41,500', '3', '—')
    """
    return f"{round(float(value)):,}" if finite(value) else DASH


def percent(value: Any, *, digits: int = 1) -> str:
    """A percentage (already in per cent) with one decimal: ``84.6 %``.

    Examples
    --------
    >>> percent(84.5815), percent(100), percent(None)
    ('84.6 %', '100.0 %', '—')
    """
    return f"{float(value):,.{digits}f} %" if finite(value) else DASH


def delta(value: Any, *, digits: int | None = None) -> str:
    """A signed difference: ``+3.5``, ``-247``, ``±0``.

    Examples
    --------
    >>> delta(3.4949), delta(-247), delta(0), delta(-16.4692), delta(12345.6)
    ('+3.5', '-247', '±0', '-16.5', '+12,346')
    """
    if not finite(value):
        return DASH
    v = float(value)
    if v == 0:
        return "±0"
    if digits is None:
        digits = 0 if v.is_integer() or abs(v) >= 100 else 1 if abs(v) >= 1 else max(2, _small_digits(v))
    return ("+" if v > 0 else "-") + number(abs(v), digits=digits)


def year(value: Any) -> str:
    """A year, never with a thousands separator.

    Examples
    --------
    >>> year(2023), year(2020.0), year("2021"), year(None)
    ('2023', '2020', '2021', '—')
    """
    if isinstance(value, str):
        return value
    return str(int(value)) if finite(value) and float(value).is_integer() else DASH
