"""Long steps, timed and shown: a line per step on a terminal, silence in pipes and with ``-q``.

Every long step of a command (reading the dataset, the siting rules, the targets, coverage, the report) runs
inside :func:`step`. Each step's wall time, CPU time and the process's peak memory are recorded while a
:func:`recording` is open (the benchmarks read them), and shown on standard error when it is a terminal and
``nbgeo -q`` was not given. Nothing is printed into a pipe or a file, so scripts and logs stay clean, unless
the program reading them asks for steps as lines: with the environment variable ``NBGEO_STEPS=lines``, every step
also writes ``nbgeo-step: start DEPTH NAME`` and ``nbgeo-step: end DEPTH SECONDS NAME`` to standard error, which is
how the QGIS plugin drives its progress bar.

Examples
--------
>>> with recording() as times:
...     with step("counting"):
...         total = sum(range(1000))
>>> [t.name for t in times], total
(['counting'], 499500)
>>> times[0].wall_s >= 0 and times[0].cpu_s >= 0
True
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from .sanitize import terminal_text

try:  # not on Windows: peak memory is then not reported
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

__all__ = ["STEP_LINES", "StepTime", "configure", "peak_memory_mb", "recording", "step"]

#: The prefix of the machine-readable step lines (``NBGEO_STEPS=lines``).
STEP_LINES = "nbgeo-step:"


@dataclass(frozen=True)
class StepTime:
    """How long one step took.

    Attributes
    ----------
    name
        What the step did, e.g. ``"siting rules"``.
    depth
        0 for a top-level step, 1 for a step inside it, ...
    wall_s, cpu_s
        Seconds of wall-clock and of this process's CPU time (worker processes, such as a Dask
        cluster's, are not counted in ``cpu_s``).
    peak_mb
        The process's peak resident memory so far, in MiB, when the step ended (None where the
        platform does not say).
    """

    name: str
    depth: int
    wall_s: float
    cpu_s: float
    peak_mb: float | None

    def to_dict(self) -> dict[str, object]:
        """The step as a JSON-ready mapping."""
        return {"step": self.name, "depth": self.depth, "wall_s": round(self.wall_s, 3),
                "cpu_s": round(self.cpu_s, 3), "peak_mb": None if self.peak_mb is None else round(self.peak_mb, 1)}


@dataclass
class _Display:
    quiet: bool = False
    stream: TextIO | None = None  # None: standard error as it is when a step starts
    open_line: int | None = None  # the depth of the step whose "…" line awaits its end on the same line

    def target(self) -> TextIO | None:
        if self.quiet:
            return None
        stream = self.stream if self.stream is not None else sys.stderr
        isatty = getattr(stream, "isatty", None)
        return stream if isatty is not None and isatty() else None


_display = _Display()
_records: contextvars.ContextVar[list[StepTime] | None] = contextvars.ContextVar("nbgeo_step_records", default=None)
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("nbgeo_step_depth", default=0)


def configure(*, quiet: bool | None = None, stream: TextIO | None = None) -> None:
    """Say whether, and where, steps are shown (the command line calls this for ``-q``).

    Parameters
    ----------
    quiet
        True: never show steps (they are still timed while :func:`recording`).
    stream
        Where to show them; default standard error. Steps are shown only when it is a terminal.

    Examples
    --------
    >>> import io
    >>> configure(stream=io.StringIO())  # not a terminal: nothing is shown
    >>> configure(stream=None)
    """
    if quiet is not None:
        _display.quiet = quiet
    _display.stream = stream


def peak_memory_mb() -> float | None:
    """The peak resident memory of this process in MiB (None on platforms that do not report it).

    Examples
    --------
    >>> peak = peak_memory_mb()
    >>> peak is None or peak > 0
    True
    """
    if resource is None:  # pragma: no cover - Windows
        return None
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / (2**20 if sys.platform == "darwin" else 2**10)  # bytes on macOS, KiB on Linux


@contextlib.contextmanager
def recording() -> Iterator[list[StepTime]]:
    """Record the time of every step run inside; the list fills as steps end.

    Examples
    --------
    >>> with recording() as times:
    ...     with step("outer"):
    ...         with step("inner"):
    ...             pass
    >>> [(t.name, t.depth) for t in times]
    [('inner', 1), ('outer', 0)]
    """
    times: list[StepTime] = []
    token = _records.set(times)
    try:
        yield times
    finally:
        _records.reset(token)


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    """Run one long step: time it, and show it on a terminal.

    Parameters
    ----------
    name
        What the step does, for a reader (text from data, such as a layer name, is made safe for the terminal).

    Examples
    --------
    >>> with step("reading"):
    ...     pass
    """
    depth = _depth.get()
    shown = _display.target()
    label = terminal_text(name)
    lines = sys.stderr if os.environ.get("NBGEO_STEPS") == "lines" else None
    if lines is not None:
        lines.write(f"{STEP_LINES} start {depth} {' '.join(label.split())}\n")
        lines.flush()
    if shown is not None:
        if _display.open_line is not None:  # a step inside another: the outer one's line ends here
            shown.write("\n")
        shown.write(f"{'  ' * depth}… {label}")
        shown.flush()
        _display.open_line = depth
    token = _depth.set(depth + 1)
    wall, cpu = time.perf_counter(), time.process_time()
    ok = False
    try:
        yield
        ok = True
    finally:
        _depth.reset(token)
        record = StepTime(name=name, depth=depth, wall_s=time.perf_counter() - wall,
                          cpu_s=time.process_time() - cpu, peak_mb=peak_memory_mb())
        times = _records.get()
        if times is not None:
            times.append(record)
        if lines is not None:
            lines.write(f"{STEP_LINES} {'end' if ok else 'failed'} {depth} {record.wall_s:.3f} "
                        f"{' '.join(label.split())}\n")
            lines.flush()
        if shown is not None:
            mark = "✓" if ok else "✗"
            # On its own "…" line, the end replaces it; after inner steps it gets a line of its own.
            start = "\r\x1b[K" if _display.open_line == depth else ""
            shown.write(f"{start}{'  ' * depth}{mark} {label} ({record.wall_s:.1f} s)\n")
            shown.flush()
            _display.open_line = None
