"""The one status vocabulary of nbgeo: every verdict, flag and finding says one of these words.

A :class:`Status` is a ``str`` (``Status.MET == "met"``), so it is written to JSON, CSV and PostGIS as
its plain value and compares equal to the words older audit files hold. Presentation (colours, the
zh/en words) lives in :mod:`nbgeo.theme` and :mod:`nbgeo.labels`, keyed by these values.

Examples
--------
>>> from nbgeo.status import Status, is_bad
>>> Status.NOT_MET == "not_met", str(Status.ON_TRACK)
(True, 'on_track')
>>> is_bad("fail"), is_bad(Status.MET), is_bad("anything else")
(True, False, False)
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BAD", "GOOD", "WARN", "Status", "is_bad", "worst"]


class Status(StrEnum):
    """Every status word nbgeo writes.

    Targets and indicators are ``met``, ``not_met`` or ``unknown``; siting rules judge a site ``pass``,
    ``fail`` or ``unknown``; coverage says a site is ``covered`` or ``uncovered``; progress flags a year
    ``on_track``, ``at_risk``, ``off_track`` (before the horizon), ``met`` or ``missed`` (at it),
    ``no_data`` or ``baseline``; optimisation marks its chosen sites ``proposed``.
    """

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"
    PASS = "pass"  # noqa: S105 - a verdict word, not a password
    FAIL = "fail"
    COVERED = "covered"
    UNCOVERED = "uncovered"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    MISSED = "missed"
    NO_DATA = "no_data"
    BASELINE = "baseline"
    PROPOSED = "proposed"


#: Statuses that are good news.
GOOD = frozenset({Status.MET, Status.PASS, Status.COVERED, Status.ON_TRACK})
#: Statuses that are findings: a planner has to act (worst first in :func:`worst`).
BAD = (Status.FAIL, Status.NOT_MET, Status.UNCOVERED, Status.MISSED, Status.OFF_TRACK)
#: Statuses that need a look but are not failures.
WARN = (Status.UNKNOWN, Status.AT_RISK)

_RANK = {s: i for i, s in enumerate((*BAD, *WARN))}


def is_bad(status: str) -> bool:
    """Whether ``status`` is a finding (not met, fail, uncovered, missed, off track)."""
    return status in BAD


def worst(statuses: object) -> Status | None:
    """The most serious of ``statuses`` (findings before warnings), or ``None`` when all are good.

    Examples
    --------
    >>> worst(["met", "unknown", "not_met"]), worst(["pass", "pass"])
    (<Status.NOT_MET: 'not_met'>, None)
    """
    ranked = [s for s in statuses if s in _RANK]  # type: ignore[attr-defined]
    return Status(min(ranked, key=_RANK.__getitem__)) if ranked else None
