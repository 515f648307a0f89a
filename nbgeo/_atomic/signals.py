"""SIGINT and SIGTERM held while outputs are published; what was written, in words, for the command line."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

log = logging.getLogger(__name__)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (SIGBREAK on Windows) for the block; deliver them when it ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}
    wanted = [signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)]
    for signum in [s for s in wanted if s is not None]:
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, lambda n, _frame: caught.append(n))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


_TRACKERS: list[list[tuple[str, str]]] = []


@contextlib.contextmanager
def tracking() -> Iterator[list[tuple[str, str]]]:
    """Collect ``(target, state)`` for every output written or left alone during the block.

    ``state`` is ``"writing"``, then ``"written"`` or ``"unchanged"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nbgeo._atomic import output_set
    >>> with tracking() as events, output_set(pathlib.Path(tempfile.mkdtemp()) / "out", command="demo") as stage:
    ...     _ = (stage / "a.txt").write_text("a")
    >>> [state for _, state in events]
    ['writing', 'written']
    """
    events: list[tuple[str, str]] = []
    _TRACKERS.append(events)
    try:
        yield events
    finally:
        _TRACKERS.remove(events)


def _note(targets: Sequence[str], state: str) -> None:
    for events in _TRACKERS:
        events.extend((target, state) for target in targets)


@contextlib.contextmanager
def recording(*targets: str) -> Iterator[Callable[[], None]]:
    """Record that ``targets`` are being written: written when the block ends, unchanged when it raises.

    For writers that publish in one step (a set, a database transaction),
    so that :func:`describe` can name them. The block may call the function
    it is given at its commit point: what is raised after that (a signal
    held until the commit was done) no longer counts as "unchanged".
    """
    state = {"written": False}

    def written() -> None:
        if not state["written"]:
            state["written"] = True
            _note(targets, "written")

    _note(targets, "writing")
    try:
        yield written
    except BaseException:
        if not state["written"]:
            _note(targets, "unchanged")
        raise
    written()


def describe(events: Sequence[tuple[str, str]]) -> str:
    """What the outputs are after a run stopped, in words.

    Examples
    --------
    >>> describe([])
    'no output was written'
    >>> describe([("out", "writing"), ("out", "unchanged")])
    "'out' is as it was before this run (none of its outputs were written)"
    >>> describe([("out", "writing"), ("out", "written")])
    "'out' was written in full"
    """
    last: dict[str, str] = {}
    for target, state in events:
        last[target] = state
    if not last:
        return "no output was written"
    parts = []
    for target, state in last.items():
        if state == "written":
            parts.append(f"{target!r} was written in full")
        else:
            parts.append(f"{target!r} is as it was before this run (none of its outputs were written)")
    return "; ".join(parts)
