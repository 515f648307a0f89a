"""Atomic output: one file, one folder, or a command's whole set of outputs, replaced whole or not at all.

A killed process, a full disk or a failure half-way leaves the previous
outputs as they were (``../shared/RELIABILITY.md`` checklist 67-68).

One file: :func:`atomic_path`
    The file is written to a temporary name beside it, fsynced and renamed
    over the target (``os.replace``); the folder is fsynced so the rename
    survives a power cut. :func:`atomic_files` does this for a few files at
    once (``nbgeo map --out M.html --png M.png``): every file is complete in
    its temporary before the first rename, so a failing PNG leaves the old
    HTML and PNG as they were.

A folder written whole: :func:`atomic_dir`
    Used for a dataset folder (``io.save_dataset``): the new folder is built
    beside the old one and takes its place (see "the swap" below).

A set of outputs in ``--out``: :func:`output_set`
    ``nbgeo audit --out OUT`` writes ``audit.json``, ``audit.html``,
    ``audit.md``; ``rules``, ``coverage``, ``site``, ``compare``, ``validate
    --out`` and :func:`nbgeo.report.write_report` each write their own set.
    A set is built complete in a staging folder beside ``OUT`` (same
    filesystem) and then published in one step. ``OUT`` holds a small
    manifest, ``.nbgeo-outputs.json``, naming for each command the files it
    wrote there, with the nbgeo version and a fingerprint of each file (size
    and modification time). The next run of the same command replaces that
    set as a whole: files of the old set that the new one does not write
    (last run's ``audit.md`` when this run asks for HTML only) are removed,
    and every other file in ``OUT`` is kept untouched. A listed file whose
    fingerprint no longer matches (a planner edited or replaced it) is no
    longer nbgeo's: it is kept, like any other file of the user's.

The swap
--------
When everything in ``OUT`` is nbgeo's own output (or ``OUT`` does not exist
yet), the staging folder is given all of ``OUT``'s content (the other
commands' nbgeo outputs are hard-linked, or copied where links are not
supported; never a file of the user's) and the two folders trade places:

* Linux: ``renameat2(RENAME_EXCHANGE)`` swaps the two folders in one atomic
  step; the old set, now under the staging name, is then deleted.
* Elsewhere (Windows, macOS, filesystems without the exchange): ``OUT`` is
  renamed aside (``.OUT.nbgeo-old-*``) and the staging folder renamed to
  ``OUT``. A crash between those two renames leaves no ``OUT`` but the old
  set complete under its aside name; the next run puts it back before
  anything else.

A crash at any instant therefore leaves the old complete set or the new
complete set in ``OUT``, never a mix, plus at most a clearly named leftover
(``.OUT.nbgeo-new-*`` or ``-old-*``) that the next run removes.

When ``OUT`` holds files nbgeo did not write, nbgeo may not rename, move or
overwrite them, so the folder cannot trade places (that would move them):
the set is published file by file instead. Before the first move, the
manifest records the pending commit (the new files, the stale ones, and
where the earlier versions are put aside); each earlier output is moved
aside and the new one moved in (renames only: no data is copied, so the
window is a few metadata operations long, and SIGINT and SIGTERM are held
until it ends); the manifest, rewritten without the pending entry, is the
commit point. Only a power cut or SIGKILL inside that window can leave a mix
on disk, and the manifest then says so: the next run that writes to ``OUT``
rolls it back to the old set first. The same per-file commit is used when
the folder swap is not possible: ``OUT`` is a mount point or its parent is
not writable (the staging folder then sits inside ``OUT``, as
``.nbgeo-new-*``), this process's working directory is inside ``OUT`` (a
swap would leave it in the deleted folder), the new folder could not be
given ``OUT``'s owner, or Windows refuses to rename a folder in use.
A shell whose working directory is inside a swapped ``OUT`` still sees the
old, deleted folder: ``cd`` into it again.

Locks
-----
Every writer of a target holds an advisory lock on a file beside it,
``.NAME.nbgeo-lock`` (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on
Windows), from before it looks at ``OUT`` until its set is published, so two
runs writing the same ``OUT`` never interleave: the second waits (logging
who holds the lock) and then replaces the first one's set whole, or after
:data:`LOCK_TIMEOUT` seconds fails with ``E-IO-LOCKED`` (exit 2). Leftovers
of killed runs are only removed by a lock holder, which knows that no other
writer of that target is running: this works across hosts and on Windows,
where process ids cannot be checked. The lock file is removed when released
(on Windows it stays when another process has it open; it is harmless).

Signals and messages
--------------------
SIGINT and SIGTERM arriving while a set is published are held until it is
done and then delivered, so an interruption never splits a set; the
outputs of a run are recorded (:func:`tracking`), and :func:`describe` says
in words what was and was not written, for the command line's message.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with output_set(d / "out", command="demo") as stage:
...     _ = (stage / "a.txt").write_text("first")
...     _ = (stage / "b.txt").write_text("first")
>>> (d / "out" / "notes.txt").write_text("the planner's own file")
22
>>> with output_set(d / "out", command="demo", overwrite=True) as stage:
...     _ = (stage / "a.txt").write_text("second")
>>> sorted(p.name for p in (d / "out").iterdir())
['.nbgeo-outputs.json', 'a.txt', 'notes.txt']
>>> sorted(p.name for p in d.iterdir())
['out']
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NbgeoError, OutputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

__all__ = ["LOCK_TIMEOUT", "MANIFEST", "atomic_dir", "atomic_files", "atomic_path", "check_outputs", "check_overwrite",
           "describe", "output_set", "recording", "tracking", "write_bytes", "write_text"]

log = logging.getLogger(__name__)

#: The manifest nbgeo keeps in an output folder: which files each command wrote there.
MANIFEST = ".nbgeo-outputs.json"
#: Seconds a writer waits for another one writing the same target before ``E-IO-LOCKED``.
LOCK_TIMEOUT = 600.0

_SCHEMA = "nbgeo.outputs/1"
_INSIDE_LOCK = ".nbgeo-lock"
_MAX_MANIFEST_BYTES = 4 * 2**20
_WIN_LOCK_OFFSET = 2**20  # Windows locks bytes for everyone: lock one far past the holder's note
_INSIDE_LEFTOVER = re.compile(r"^\.nbgeo-(?P<kind>new|aside)-[\w-]*$")


# --------------------------------------------------------------------------------------------------
# names, errors, small file-system steps


def _token() -> str:
    """``HOST-PID`` for temporary names, so a person can see whose leftover it is."""
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:20] or "host"
    return f"{host}-{os.getpid()}"


def _leftover_kind(entry: str, name: str) -> str | None:
    """``new``/``old``/``aside``/``tmp`` when ``entry`` is a temporary nbgeo made beside the target ``name``."""
    prefix = f".{name}.nbgeo-"
    if not entry.startswith(prefix):
        return None
    rest = entry[len(prefix):]
    match = re.match(r"^(new|old|aside|tmp)-[\w-]*(\..*)?$", rest)
    if match:
        return match[1]
    if re.match(r"^\d+-\w+(\.tmp.*)?$", rest):  # the names of nbgeo 0.x before the locks
        return "tmp"
    return None


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@functools.cache
def _version() -> str:
    try:
        return version("nbgeo")
    except PackageNotFoundError:
        return "unknown"


def _io_error(target: Path, exc: OSError, *, what: str = "the previous file, if any, is unchanged") -> OutputError:
    code = "E-IO-NOSPACE" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "E-IO-WRITE"
    hint = " (hint: free some disk space and run again)" if code == "E-IO-NOSPACE" else ""
    msg = f"could not write {str(target)!r}: {exc.strerror or exc}; {what}{hint}"
    return OutputError(msg, code=code)


def check_overwrite(path: str | Path, *, overwrite: bool) -> None:
    """Refuse to replace ``path`` unless ``overwrite``: nbgeo's one overwrite check, which every writer calls.

    Every function that writes a file or folder a user names takes
    ``overwrite=False`` by default and calls this first, so an existing
    file is never clobbered by accident. A symbolic link (even a broken
    one) counts as existing.

    Parameters
    ----------
    path
        The file or folder about to be written.
    overwrite
        Whether the caller was told to replace it (``--overwrite``).

    Raises
    ------
    OutputError
        ``E-IO-EXISTS`` when ``path`` exists and ``overwrite`` is false:
        ``'PATH' exists; pass --overwrite (overwrite=True) to replace it``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_overwrite(d / "new.html", overwrite=False)  # nothing there: fine
    >>> _ = (d / "old.html").write_text("the planner's map")
    >>> check_overwrite(d / "old.html", overwrite=True)  # told to replace it: fine
    >>> check_overwrite(d / "old.html", overwrite=False)
    Traceback (most recent call last):
    ...
    nbgeo.errors.OutputError: '...old.html' exists; pass --overwrite (overwrite=True) to replace it
    """
    if not overwrite and os.path.lexists(path):
        msg = f"{str(path)!r} exists; pass --overwrite (overwrite=True) to replace it"
        raise OutputError(msg, code="E-IO-EXISTS")


def _rename(src: Path, dst: Path) -> None:
    """Every rename that publishes or restores outputs goes through here (one place to watch in tests)."""
    os.rename(src, dst)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # POSIX only: Windows cannot open a folder
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` to disk, so that a rename publishes data that is there."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            with open(path, "rb+") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(root))


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary; for files whose writer already holds a lock."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.nbgeo-tmp-{_token()}-", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------------------------------
# signals held while outputs are published; what was written (for the command line's message)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
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


# --------------------------------------------------------------------------------------------------
# locks


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            log.warning("this filesystem has no file locks (%s): nothing stops two writers of the same output",
                        exc.strerror)
            return True
        raise
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        with contextlib.suppress(OSError):
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except OSError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


class _Lock:
    """An exclusive advisory lock on ``path`` (a lock file), for writing ``subject``."""

    def __init__(self, path: Path, subject: Path) -> None:
        self.path = path
        self.subject = subject
        self.fd: int | None = None

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
            except PermissionError:
                if sys.platform != "win32":
                    raise
                fd = -1  # Windows: the lock file is being deleted by its last holder; try again
            if fd >= 0:
                if _try_lock(fd):
                    if _same_file(fd, self.path):
                        self.fd = fd
                        note = (f"nbgeo {_version()} pid {os.getpid()} on {socket.gethostname()} since "
                                f"{datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}")
                        with contextlib.suppress(OSError):  # only a note for people; a full disk may refuse it
                            os.lseek(fd, 0, os.SEEK_SET)
                            os.write(fd, note.encode("utf-8")[:255].ljust(256))
                        return
                    _unlock(fd)
                    os.close(fd)  # its holder removed it as we waited: lock the new one
                    continue
                holder = self._holder(fd)
                os.close(fd)
            else:
                holder = "another writer"
            if time.monotonic() >= deadline:
                msg = (f"{str(self.subject)!r} is being written by {holder}; waited {timeout:.0f} s "
                       f"(hint: let it finish, or write to another --out)")
                raise OutputError(msg, code="E-IO-LOCKED")
            if not told:
                log.warning("waiting for %s, which is writing %s", holder, self.subject)
                told = True
            time.sleep(0.1)

    @staticmethod
    def _holder(fd: int) -> str:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 256).decode("utf-8").strip(" \0\n")
            if text:
                return text
        return "another nbgeo"

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        if sys.platform == "win32":
            _unlock(fd)
            os.close(fd)
            with contextlib.suppress(OSError):  # refused while another process has it open: harmless
                os.unlink(self.path)
        else:
            # Unlink while still holding it: a waiter then finds its file gone and locks a new one.
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(fd)


@contextlib.contextmanager
def _locked(path: Path, subject: Path, timeout: float | None) -> Iterator[None]:
    lock = _Lock(path, subject)
    lock.acquire(LOCK_TIMEOUT if timeout is None else timeout)
    try:
        yield
    finally:
        lock.release()


# --------------------------------------------------------------------------------------------------
# one file


def _remove_file_leftovers(final: Path) -> None:
    """Remove the temporaries of killed writers of ``final``; call with ``final``'s lock held."""
    with contextlib.suppress(OSError):
        for entry in final.parent.iterdir():
            if _leftover_kind(entry.name, final.name) == "tmp":
                log.info("removing %s, left by an interrupted nbgeo run", entry)
                _remove(entry)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = False, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically.

    The temporary file sits in the same folder (so the rename is atomic) and is
    removed on any error. The parent folder is created if needed. The writer
    holds ``path``'s lock (``.NAME.nbgeo-lock``) throughout, so two writers
    of one file take turns, and temporaries left by killed writers are removed.

    Parameters
    ----------
    path
        The final file.
    overwrite
        Replace an existing file (else ``E-IO-EXISTS`` from :func:`check_overwrite`
        before anything is written).
    suffix
        End of the temporary name; writers that choose a format by suffix
        (GDAL, a browser) need the real one, e.g. ``".gpkg"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "out.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('done', ['out.txt'])
    """
    final = Path(path)
    check_overwrite(final, overwrite=overwrite)
    lock = _Lock(final.parent / f".{final.name}.nbgeo-lock", final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(LOCK_TIMEOUT)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise _io_error(final, exc) from None
    tmp: Path | None = None
    try:
        _remove_file_leftovers(final)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.nbgeo-tmp-{_token()}-",
                                        suffix=f".tmp{suffix}" if suffix != ".tmp" else suffix, dir=final.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it the mode open() would
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OutputError):
            raise
        raise _io_error(final, exc) from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        lock.release()


@contextlib.contextmanager
def atomic_files(paths: Sequence[str | Path], *, overwrite: bool = False) -> Iterator[list[Path]]:
    """Yield one temporary per path; when the block succeeds, each replaces its file.

    Every file is complete (and fsynced) before the first is replaced, and
    SIGINT/SIGTERM are held while they are, so a failure in the block (a PNG
    that cannot be drawn) leaves all the files as they were. The files may
    lie in different folders, so they are replaced one after the other:
    only SIGKILL or a power cut between two renames can leave one new and
    one old. Temporaries keep their file's suffix (a browser needs
    ``.html``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_files([d / "m.html", d / "m.png"]) as (html, png):
    ...     _ = html.write_text("<p>map</p>"), png.write_bytes(b"png")
    >>> sorted(p.name for p in d.iterdir())
    ['m.html', 'm.png']
    """
    finals = [Path(p) for p in paths]
    for final in finals:
        check_overwrite(final, overwrite=overwrite)
    with recording(*(str(f) for f in finals)) as written:
        stack = contextlib.ExitStack()
        with stack:
            temps: dict[Path, Path] = {}
            for final in sorted(finals, key=lambda f: str(f.parent / f".{f.name}.nbgeo-lock")):  # one order: no deadlock
                temps[final] = stack.enter_context(atomic_path(final, overwrite=overwrite, suffix=final.suffix))
            yield [temps[final] for final in finals]
            with _signals_held():
                stack.close()  # each temporary replaces its file, the last one entered first
                written()


# --------------------------------------------------------------------------------------------------
# folders: the swap


class _NoSwap(Exception):
    """The folder cannot trade places (in use on Windows, owner not preserved): publish file by file."""


@functools.cache
def _renameat2() -> Any:
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2``); False when not available here."""
    if not sys.platform.startswith("linux"):
        return False
    func = _renameat2()
    if func is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if func(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTTY):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _give_metadata(new: Path, old: Path | None) -> None:
    """Give the staging folder the mode and owner ``old`` has (or a new folder's mode)."""
    if old is None:
        os.chmod(new, 0o777 & ~_umask())
        return
    was, now = os.stat(old), os.stat(new)
    os.chmod(new, stat.S_IMODE(was.st_mode))
    if (was.st_uid, was.st_gid) != (now.st_uid, now.st_gid):
        try:
            os.chown(new, was.st_uid, was.st_gid)
        except (OSError, AttributeError) as exc:
            raise _NoSwap from exc


def _swap_dir(staging: Path, final: Path) -> None:
    """Put the complete folder ``staging`` in the place of ``final``; the old folder is removed.

    Call with signals held (:func:`_signals_held`): nothing may stop it between its renames.
    """
    parent = final.parent
    if not os.path.lexists(final):
        _give_metadata(staging, None)
        _rename(staging, final)
        _fsync_dir(parent)
        return
    _give_metadata(staging, final)
    if _exchange(staging, final):
        _fsync_dir(parent)
        _remove(staging)  # now the old folder
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.nbgeo-old-{_token()}-", dir=parent))
    aside.rmdir()  # only the name: the old folder goes there
    try:
        _rename(final, aside)
    except PermissionError as exc:  # Windows: a folder in use cannot be renamed
        raise _NoSwap from exc
    try:
        _rename(staging, final)
    except BaseException:
        _rename(aside, final)
        raise
    _fsync_dir(parent)
    _remove(aside)


def _restore_or_clean(final: Path) -> None:
    """Undo what killed writers of the folder ``final`` left beside it; call with its lock held.

    A missing ``final`` with an ``-old-`` folder beside it is a swap killed
    between its two renames: the old folder is put back. Every other
    leftover (staging folders, folders put aside, temporaries) is removed.
    """
    try:
        leftovers = [(e, _leftover_kind(e.name, final.name)) for e in final.parent.iterdir()]
    except OSError:
        return
    leftovers = [(e, kind) for e, kind in leftovers if kind is not None]
    if not os.path.lexists(final):
        olds = [e for e, kind in leftovers if kind == "old" and e.is_dir()]
        if olds:
            newest = max(olds, key=lambda e: e.stat().st_mtime_ns)
            _rename(newest, final)
            log.warning("restored %s: an nbgeo run was stopped while it replaced it", final)
    for entry, _kind in leftovers:
        if os.path.lexists(entry):
            log.info("removing %s, left by an interrupted nbgeo run", entry)
            _remove(entry)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it takes the place of ``path`` (the old folder is deleted).

    The new folder is built beside ``path`` and swapped in as described in
    the module docstring: a crash at any instant leaves the old folder or
    the new one at ``path``, or, between the two renames of the portable
    swap, the old one under a hidden name that the next write puts back.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_dir(d / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("a")
    >>> sorted(p.name for p in (d / "out").iterdir()), sorted(p.name for p in d.iterdir())
    (['a.txt'], ['out'])
    """
    final = Path(path)
    check_overwrite(final, overwrite=overwrite)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        lock = _Lock(final.parent / f".{final.name}.nbgeo-lock", final)
        lock.acquire(LOCK_TIMEOUT)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise _io_error(final, exc) from None
    try:
        _restore_or_clean(final)
        check_overwrite(final, overwrite=overwrite)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.nbgeo-new-{_token()}-", dir=final.parent))
        try:
            yield tmp
            _fsync_tree(tmp)
            try:
                with _signals_held():
                    _swap_dir(tmp, final)
            except _NoSwap:
                msg = (f"could not replace {str(final)!r}: it is in use, or its owner could not be kept; "
                       "the previous folder is unchanged")
                raise OutputError(msg, code="E-IO-WRITE") from None
        except OSError as exc:
            _remove(tmp)
            if isinstance(exc, OutputError):
                raise
            raise _io_error(final, exc, what="the previous folder, if any, is unchanged") from None
        except BaseException:
            _remove(tmp)
            raise
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise _io_error(final, exc, what="the previous folder, if any, is unchanged") from None
    finally:
        lock.release()


# --------------------------------------------------------------------------------------------------
# output sets: the manifest


def _plain(name: Any) -> bool:
    """A name nbgeo may act on inside ``OUT``: one path component, no control characters."""
    return (isinstance(name, str) and 0 < len(name) <= 255 and name not in (".", "..", MANIFEST, _INSIDE_LOCK)
            and "/" not in name and "\\" not in name and ":" not in name
            and not any(ord(c) < 32 or ord(c) == 127 for c in name))


def _fingerprint(path: Path) -> str | None:
    """Size and modification time of a file (of every file of a folder); None for a link or nothing."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISREG(st.st_mode):
        return f"file:{st.st_size}:{st.st_mtime_ns}"
    if not stat.S_ISDIR(st.st_mode):
        return None
    rows = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            fs = os.lstat(full)
            rows.append(f"{os.path.relpath(full, path)}\t{fs.st_size}\t{fs.st_mtime_ns}")
    return "dir:" + hashlib.sha256("\n".join(rows).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of ``out`` (``{"sets": {}}`` when there is none or it cannot be trusted)."""
    path = out / MANIFEST
    empty: dict[str, Any] = {"sets": {}}
    try:
        st = os.lstat(path)
    except OSError:
        return empty
    if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_MANIFEST_BYTES:
        log.warning("ignoring %s: not a manifest nbgeo wrote; every file in %s is kept", path, out)
        return empty
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        log.warning("ignoring %s: not valid JSON; every file in %s is kept", path, out)
        return empty
    if not isinstance(data, dict) or data.get("schema") != _SCHEMA or not isinstance(data.get("sets"), dict):
        log.warning("ignoring %s: not a manifest nbgeo wrote; every file in %s is kept", path, out)
        return empty
    sets: dict[str, Any] = {}
    for command, entry in data["sets"].items():
        files = entry.get("files") if isinstance(entry, dict) else None
        if isinstance(command, str) and isinstance(files, dict):
            sets[command] = {**entry, "files": {n: fp for n, fp in files.items() if _plain(n) and isinstance(fp, str)}}
    result: dict[str, Any] = {"sets": sets}
    if isinstance(data.get("pending"), dict):
        result["pending"] = data["pending"]
    return result


def _write_manifest(out: Path, sets: dict[str, Any], pending: dict[str, Any] | None = None) -> None:
    if not sets and pending is None:  # nothing of nbgeo's left here: no manifest either
        with contextlib.suppress(FileNotFoundError):
            (out / MANIFEST).unlink()
        return
    doc: dict[str, Any] = {
        "schema": _SCHEMA,
        "note": "nbgeo's list of the outputs it wrote in this folder, so that its next run replaces them whole "
                "and keeps every other file. Files whose size or time changed are no longer nbgeo's.",
        "sets": sets,
    }
    if pending is not None:
        doc["pending"] = pending
    _replace_file(out / MANIFEST, (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


def _own_entries(out: Path, sets: dict[str, Any]) -> dict[str, str]:
    """``{name: command}`` of the entries of ``out`` that are nbgeo's unchanged outputs."""
    own: dict[str, str] = {}
    for command, entry in sets.items():
        for name, fp in entry["files"].items():
            if name not in own and _fingerprint(out / name) == fp:
                own[name] = command
    return own


def _entries(out: Path) -> list[str]:
    """The entries of ``out`` apart from nbgeo's manifest, lock and leftovers."""
    try:
        names = [e.name for e in out.iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [n for n in names if n not in (MANIFEST, _INSIDE_LOCK) and not _INSIDE_LEFTOVER.match(n)
            and _leftover_kind(n, MANIFEST) is None]


def check_outputs(folder: str | Path, *, command: str, names: Iterable[str] = (), overwrite: bool = False) -> None:
    """Refuse before any work when ``folder`` is a file or, without ``overwrite``, holds outputs it would replace.

    Outputs it would replace: the ``names`` about to be written, and the
    files ``command`` wrote there last time (from the manifest).
    :func:`output_set` checks again before it publishes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "audit.json").write_text("{}")
    >>> check_outputs(d, command="audit", names=["audit.json"])
    Traceback (most recent call last):
    ...
    nbgeo.errors.OutputError: '...audit.json' exists; pass --overwrite (overwrite=True) to replace it
    """
    out = Path(folder)
    if os.path.lexists(out) and not out.is_dir():
        msg = f"{str(out)!r} is a file; the outputs go into a folder (hint: give a folder's name)"
        raise OutputError(msg, code="E-IO-NOTDIR")
    if overwrite or not out.is_dir():
        return
    for name in names:
        check_overwrite(out / name, overwrite=overwrite)
    earlier = _read_manifest(out)["sets"].get(command, {"files": {}})["files"]
    for name, fp in earlier.items():
        if _fingerprint(out / name) == fp:  # the earlier set is replaced as a whole: its files count too
            check_overwrite(out / name, overwrite=overwrite)


# --------------------------------------------------------------------------------------------------
# output sets: publishing


def _is_staging(name: Any, out: Path, inside: bool) -> bool:
    """Whether ``name`` is one of nbgeo's staging or aside folders for ``out`` (never a folder of the user's)."""
    if not _plain(name):
        return False
    return bool(_INSIDE_LEFTOVER.match(name)) if inside else _leftover_kind(name, out.name) in ("new", "aside")


def _roll_back(out: Path, manifest: dict[str, Any]) -> None:
    """Undo a per-file commit that was stopped half-way (the manifest's ``pending`` entry).

    Only what that commit did is undone: earlier versions come back from its
    aside folder, and a file it moved in is removed only when it is still
    the file it moved (same fingerprint). A pending entry whose staging and
    aside folders are not both there is not nbgeo's doing and is ignored.
    """
    pending = manifest["pending"]
    inside = pending.get("inside") is True
    base = out if inside else out.parent
    staging_name, aside_name = pending.get("staging"), pending.get("aside")
    files = pending.get("files")
    if (not (_is_staging(staging_name, out, inside) and _is_staging(aside_name, out, inside))
            or not isinstance(files, dict) or not (base / staging_name).is_dir() or not (base / aside_name).is_dir()):
        log.warning("ignoring the pending commit in %s: not one nbgeo left", out / MANIFEST)
    else:
        staging, aside = base / staging_name, base / aside_name
        for name, fp in files.items():
            if not _plain(name):
                continue
            if os.path.lexists(aside / name):  # its earlier version was put aside: bring it back
                if os.path.lexists(out / name):
                    _remove(out / name)
                _rename(aside / name, out / name)
            elif not os.path.lexists(staging / name) and _fingerprint(out / name) == fp:  # moved in, new here
                _remove(out / name)
        for name in pending.get("stale", []):
            if _plain(name) and os.path.lexists(aside / name) and not os.path.lexists(out / name):
                _rename(aside / name, out / name)
        for folder in (staging, aside):
            _remove(folder)
        log.warning("rolled back %s to its earlier outputs: an nbgeo run was stopped while it replaced them", out)
    _write_manifest(out, manifest["sets"])


def _recover(out: Path) -> None:
    """Undo what killed writers of ``out`` left (call with ``out``'s lock held)."""
    if out.is_dir():
        manifest = _read_manifest(out)
        if "pending" in manifest:
            _roll_back(out, manifest)
    _restore_or_clean(out)
    if out.is_dir() and not out.is_symlink():
        for entry in out.iterdir():
            if _INSIDE_LEFTOVER.match(entry.name) or _leftover_kind(entry.name, MANIFEST) is not None:
                log.info("removing %s, left by an interrupted nbgeo run", entry)
                _remove(entry)


def _place(out: Path) -> tuple[Path, Path, bool]:
    """Where the lock and the staging folders go: beside ``out``, or inside it (``inside`` True).

    Inside when ``out`` is a mount point (another filesystem than its
    parent's: a rename could not cross) or its parent cannot be written.
    """
    parent = out.parent
    inside = out == parent
    if not inside and out.is_dir():
        inside = os.stat(out).st_dev != os.stat(parent).st_dev
    if not inside:
        probe = parent / f".{out.name}.nbgeo-lock"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(probe, os.O_RDWR | os.O_CREAT, 0o666))
        except OSError as exc:
            if not out.is_dir() or (not isinstance(exc, PermissionError) and exc.errno != errno.EROFS):
                raise
            inside = True
    if inside:
        return out / _INSIDE_LOCK, out, True
    return parent / f".{out.name}.nbgeo-lock", parent, False


def _within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _link_or_copy(src: Path, dst: Path) -> None:
    """Give the staging folder another command's output, keeping its size and time (its fingerprint)."""
    if src.is_dir():
        shutil.copytree(src, dst, copy_function=_link_or_copy_file)
    else:
        _link_or_copy_file(src, dst)


def _link_or_copy_file(src: str | Path, dst: str | Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _publish(out: Path, staging: Path, base: Path, inside: bool, command: str, overwrite: bool) -> None:
    """Publish the complete set in ``staging`` into ``out`` (see the module docstring)."""
    names = sorted(n for n in os.listdir(staging) if n != MANIFEST)
    bad = [n for n in names if not _plain(n) or _INSIDE_LEFTOVER.match(n)]
    if bad:
        msg = f"nbgeo cannot write an output called {bad[0]!r} into {str(out)!r}"
        raise OutputError(msg, code="E-IO-NAME")
    manifest = _read_manifest(out) if out.is_dir() else {"sets": {}}
    sets = manifest["sets"]
    own = _own_entries(out, sets)
    present = _entries(out)
    earlier = [n for n, c in own.items() if c == command]
    for name in [*names, *earlier]:
        check_overwrite(out / name, overwrite=overwrite)
    stale = sorted(n for n in earlier if n not in names)
    _fsync_tree(staging)
    new_sets: dict[str, Any] = {}
    for other, entry in sets.items():
        kept = {n: fp for n, fp in entry["files"].items() if own.get(n) == other and n not in names}
        if other != command and kept:
            new_sets[other] = {**entry, "files": kept}
    new_sets[command] = {"nbgeo": _version(), "written": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
                         "files": {n: _fingerprint(staging / n) for n in names}}
    foreign = [n for n in present if n not in own]
    cwd = Path(os.path.realpath(os.getcwd()))
    if not inside and not foreign and not _within(cwd, out):
        carried = [n for n in present if n not in names and n not in stale]
        for name in carried:
            _link_or_copy(out / name, staging / name)
        _write_manifest(staging, new_sets)
        _fsync_dir(staging)
        try:
            _swap_dir(staging, out)
            return
        except _NoSwap:
            log.info("could not swap %s as a whole; replacing its files one by one", out)
            for name in [*carried, MANIFEST]:
                _remove(staging / name)
    _publish_files(out, staging, base, inside, names, stale, sets, new_sets, command)


def _publish_files(out: Path, staging: Path, base: Path, inside: bool, names: list[str], stale: list[str],
                   sets: dict[str, Any], new_sets: dict[str, Any], command: str) -> None:
    """Publish file by file, with the pending commit in the manifest until the last rename (signals held)."""
    out.mkdir(parents=True, exist_ok=True)
    prefix = ".nbgeo-aside-" if inside else f".{out.name}.nbgeo-aside-"
    aside = Path(tempfile.mkdtemp(prefix=f"{prefix}{_token()}-", dir=base))
    pending = {"staging": staging.name, "aside": aside.name, "inside": inside, "stale": stale,
               "files": {n: new_sets[command]["files"][n] for n in names}}
    _write_manifest(out, sets, pending)
    try:
        for name in names:
            if os.path.lexists(out / name):
                _rename(out / name, aside / name)
            _rename(staging / name, out / name)
        for name in stale:
            if os.path.lexists(out / name):
                _rename(out / name, aside / name)
        _fsync_dir(out)
        _write_manifest(out, new_sets)  # the commit point
    except BaseException:
        _roll_back(out, {"sets": sets, "pending": pending})
        raise
    _remove(aside)
    _remove(staging)


@contextlib.contextmanager
def output_set(folder: str | Path, *, command: str, overwrite: bool = False, expect: Iterable[str] = (),
               timeout: float | None = None) -> Iterator[Path]:
    """Yield a staging folder; when the block succeeds, its files become ``command``'s outputs in ``folder``.

    Write every output of the command into the staging folder (files and
    folders, by plain names). On success the set replaces the outputs
    ``command`` wrote into ``folder`` last time, as a whole (see the module
    docstring); files nbgeo did not write are kept untouched. On any error,
    nothing in ``folder`` changes and the staging folder is removed.

    Parameters
    ----------
    folder
        The output folder (``--out``); created when missing.
    command
        The name of the set (``"audit"``, ``"rules"``...): a later run of the
        same command replaces it; other commands' outputs in the folder stay.
    overwrite
        Replace earlier outputs; without it, a file the set would replace
        or remove is ``E-IO-EXISTS`` and nothing is written.
    expect
        Names about to be written, checked before the block runs (they are
        checked again before the set is published).
    timeout
        Seconds to wait for another writer of ``folder`` (default :data:`LOCK_TIMEOUT`).

    Raises
    ------
    OutputError
        ``E-IO-EXISTS``, ``E-IO-LOCKED``, ``E-IO-NOSPACE`` (disk full; the
        earlier outputs are unchanged), ``E-IO-WRITE``, ``E-IO-NOTDIR``.
    """
    out = Path(os.path.realpath(folder))
    check_outputs(out, command=command, names=expect, overwrite=overwrite)
    shown = str(folder)
    unchanged = "the earlier outputs there are unchanged"
    with recording(shown) as written:
        try:
            lock_path, base, inside = _place(out)
        except OSError as exc:
            if isinstance(exc, OutputError):
                raise
            raise _io_error(out, exc, what=unchanged) from None
        with _locked(lock_path, out, timeout):
            try:
                _recover(out)
                check_outputs(out, command=command, names=expect, overwrite=overwrite)
                prefix = ".nbgeo-new-" if inside else f".{out.name}.nbgeo-new-"
                staging = Path(tempfile.mkdtemp(prefix=f"{prefix}{_token()}-", dir=base))
            except OSError as exc:
                if isinstance(exc, OutputError):
                    raise
                raise _io_error(out, exc, what=unchanged) from None
            try:
                yield staging
                with _signals_held():  # from the first rename to the last removal: SIGINT/SIGTERM wait
                    _publish(out, staging, base, inside, command, overwrite)
                    written()
            except OSError as exc:
                _remove(staging)
                if isinstance(exc, NbgeoError):
                    raise
                raise _io_error(out, exc, what=unchanged) from None
            except BaseException:
                _remove(staging)
                raise


def write_text(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Write UTF-8 text atomically and return the path; an existing file only with ``overwrite`` (:func:`check_overwrite`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_text(pathlib.Path(tempfile.mkdtemp()) / "a.txt", "first")
    >>> _ = write_text(p, "second", overwrite=True)
    >>> p.read_text()
    'second'
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write bytes atomically and return the path; an existing file only with ``overwrite`` (:func:`check_overwrite`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> write_bytes(pathlib.Path(tempfile.mkdtemp()) / "a.bin", b"\\x00").stat().st_size
    1
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)
