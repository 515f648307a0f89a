"""Atomic output: write to a temporary file beside the target, fsync, then rename.

A killed process or a full disk leaves the previous output intact and no
partial file at the final path (``../shared/RELIABILITY.md`` checklist 67-68).

* :func:`atomic_path` yields a temporary path in the target's folder; on
  success the file is fsynced and ``os.replace``\\ d over the target, then the
  folder is fsynced so the rename itself survives a power cut. On any error
  the temporary file is removed and the target is untouched.
* :func:`atomic_dir` does the same for a folder of files (a dataset).
* Temporary names carry the writer's process id. A writer killed with
  SIGKILL cannot clean up, so the next write to the same target removes the
  temporaries of writers that are no longer running.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import OutputError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["atomic_dir", "atomic_path", "write_bytes", "write_text"]

_TMP = re.compile(r"^\.(?P<name>.+)\.nbgeo-(?P<pid>\d+)-[^.]+(\.tmp.*)?$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(final: Path) -> None:
    """Remove temporaries left for ``final`` by writers that were killed."""
    with contextlib.suppress(OSError):
        for entry in final.parent.iterdir():
            match = _TMP.match(entry.name)
            if match and match["name"] == final.name and not _pid_alive(int(match["pid"])):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _io_error(final: Path, exc: OSError) -> OutputError:
    code = "E-IO-NOSPACE" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "E-IO-WRITE"
    hint = " (hint: free some disk space and run again)" if code == "E-IO-NOSPACE" else ""
    msg = f"could not write {str(final)!r}: {exc.strerror or exc}; the previous file, if any, is unchanged{hint}"
    return OutputError(msg, code=code)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = True, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically.

    The temporary file sits in the same folder (so the rename is atomic) and is
    removed on any error. The parent folder is created if needed.

    Parameters
    ----------
    path
        The final file.
    overwrite
        Replace an existing file (else ``E-IO-EXISTS`` before anything is written).
    suffix
        End of the temporary name; writers that choose a format by suffix
        (GDAL) need the real one, e.g. ``".gpkg"``.

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
    if final.exists() and not overwrite:
        msg = f"{str(final)!r} exists; pass overwrite (--overwrite) to replace it"
        raise OutputError(msg, code="E-IO-EXISTS")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(final)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.nbgeo-{os.getpid()}-",
                                        suffix=f".tmp{suffix}" if suffix != ".tmp" else suffix, dir=final.parent)
        os.close(fd)
    except OSError as exc:
        raise _io_error(final, exc) from None
    tmp = Path(tmp_name)
    # mkstemp makes the file private; give the output the mode a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OutputError):
            raise
        raise _io_error(final, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it takes the place of ``path``.

    Every file written into the folder is fsynced before the rename. When
    ``path`` exists (and ``overwrite``), it is renamed aside, the new folder
    renamed into place, and the old one deleted: a crash between the two
    renames leaves the old folder complete under its hidden temporary name
    (``.NAME.nbgeo-PID-...``), never a half-written folder at ``path``.

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
    if final.exists() and not overwrite:
        msg = f"{str(final)!r} exists; pass overwrite (--overwrite) to replace it"
        raise OutputError(msg, code="E-IO-EXISTS")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.nbgeo-{os.getpid()}-", dir=final.parent))
    except OSError as exc:
        raise _io_error(final, exc) from None
    old: Path | None = None
    try:
        yield tmp
        for file in tmp.rglob("*"):
            if file.is_file():
                with open(file, "rb+") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(tmp)
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.nbgeo-{os.getpid()}-old", dir=final.parent))
            os.replace(final, old / final.name)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not final.exists():
            os.replace(old / final.name, final)
        if isinstance(exc, OutputError):
            raise
        raise _io_error(final, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_text(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    """Write UTF-8 text atomically and return the path."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes, *, overwrite: bool = True) -> Path:
    """Write bytes atomically and return the path."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)
