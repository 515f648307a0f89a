"""One file, a few files, or a folder, replaced whole or not at all (:func:`atomic_path`, :func:`atomic_dir`)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import logging
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import OutputError
from . import fs, locks, signals

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

log = logging.getLogger(__name__)


def _remove_file_leftovers(final: Path) -> None:
    """Remove the temporaries of killed writers of ``final``; call with ``final``'s lock held."""
    with contextlib.suppress(OSError):
        for entry in final.parent.iterdir():
            if fs.leftover_kind(entry.name, final.name) == "tmp":
                log.info("removing %s, left by an interrupted nbgeo run", entry)
                fs.remove(entry)


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
    fs.check_overwrite(final, overwrite=overwrite)
    lock = locks.Lock(final.parent / f".{final.name}.nbgeo-lock", final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(locks.LOCK_TIMEOUT)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise fs.io_error(final, exc) from None
    tmp: Path | None = None
    try:
        _remove_file_leftovers(final)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.nbgeo-tmp-{fs.token()}-",
                                        suffix=f".tmp{suffix}" if suffix != ".tmp" else suffix, dir=final.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o666 & ~fs.umask())  # mkstemp makes the file private; give it the mode open() would
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        fs.fsync_dir(final.parent)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OutputError):
            raise
        raise fs.io_error(final, exc) from None
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
        fs.check_overwrite(final, overwrite=overwrite)
    with signals.recording(*(str(f) for f in finals)) as written:
        stack = contextlib.ExitStack()
        with stack:
            temps: dict[Path, Path] = {}
            for final in sorted(finals, key=lambda f: str(f.parent / f".{f.name}.nbgeo-lock")):  # one order: no deadlock
                temps[final] = stack.enter_context(atomic_path(final, overwrite=overwrite, suffix=final.suffix))
            yield [temps[final] for final in finals]
            with signals.signals_held():
                stack.close()  # each temporary replaces its file, the last one entered first
                written()




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


class NoSwap(Exception):
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
        os.chmod(new, 0o777 & ~fs.umask())
        return
    was, now = os.stat(old), os.stat(new)
    os.chmod(new, stat.S_IMODE(was.st_mode))
    if (was.st_uid, was.st_gid) != (now.st_uid, now.st_gid):
        try:
            os.chown(new, was.st_uid, was.st_gid)
        except (OSError, AttributeError) as exc:
            raise NoSwap from exc


def swap_dir(staging: Path, final: Path) -> None:
    """Put the complete folder ``staging`` in the place of ``final``; the old folder is removed.

    Call with signals held (:func:`_signals_held`): nothing may stop it between its renames.
    """
    parent = final.parent
    if not os.path.lexists(final):
        _give_metadata(staging, None)
        fs.rename(staging, final)
        fs.fsync_dir(parent)
        return
    _give_metadata(staging, final)
    if _exchange(staging, final):
        fs.fsync_dir(parent)
        fs.remove(staging)  # now the old folder
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.nbgeo-old-{fs.token()}-", dir=parent))
    aside.rmdir()  # only the name: the old folder goes there
    try:
        fs.rename(final, aside)
    except PermissionError as exc:  # Windows: a folder in use cannot be renamed
        raise NoSwap from exc
    try:
        fs.rename(staging, final)
    except BaseException:
        fs.rename(aside, final)
        raise
    fs.fsync_dir(parent)
    fs.remove(aside)


def restore_or_clean(final: Path) -> None:
    """Undo what killed writers of the folder ``final`` left beside it; call with its lock held.

    A missing ``final`` with an ``-old-`` folder beside it is a swap killed
    between its two renames: the old folder is put back. Every other
    leftover (staging folders, folders put aside, temporaries) is removed.
    """
    try:
        leftovers = [(e, fs.leftover_kind(e.name, final.name)) for e in final.parent.iterdir()]
    except OSError:
        return
    leftovers = [(e, kind) for e, kind in leftovers if kind is not None]
    if not os.path.lexists(final):
        olds = [e for e, kind in leftovers if kind == "old" and e.is_dir()]
        if olds:
            newest = max(olds, key=lambda e: e.stat().st_mtime_ns)
            fs.rename(newest, final)
            log.warning("restored %s: an nbgeo run was stopped while it replaced it", final)
    for entry, _kind in leftovers:
        if os.path.lexists(entry):
            log.info("removing %s, left by an interrupted nbgeo run", entry)
            fs.remove(entry)


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
    fs.check_overwrite(final, overwrite=overwrite)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        lock = locks.Lock(final.parent / f".{final.name}.nbgeo-lock", final)
        lock.acquire(locks.LOCK_TIMEOUT)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise fs.io_error(final, exc) from None
    try:
        restore_or_clean(final)
        fs.check_overwrite(final, overwrite=overwrite)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.nbgeo-new-{fs.token()}-", dir=final.parent))
        try:
            yield tmp
            fs.fsync_tree(tmp)
            try:
                with signals.signals_held():
                    swap_dir(tmp, final)
            except NoSwap:
                msg = (f"could not replace {str(final)!r}: it is in use, or its owner could not be kept; "
                       "the previous folder is unchanged")
                raise OutputError(msg, code="E-IO-WRITE") from None
        except OSError as exc:
            fs.remove(tmp)
            if isinstance(exc, OutputError):
                raise
            raise fs.io_error(final, exc, what="the previous folder, if any, is unchanged") from None
        except BaseException:
            fs.remove(tmp)
            raise
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise fs.io_error(final, exc, what="the previous folder, if any, is unchanged") from None
    finally:
        lock.release()
