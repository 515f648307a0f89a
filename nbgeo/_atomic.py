"""Atomic output: write to a temporary file beside the target, fsync, then rename.

A killed process or a full disk leaves the previous output intact and no
partial file at the final path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import OutputError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["atomic_path", "write_bytes", "write_text"]


@contextlib.contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically.

    The temporary file sits in the same folder (so the rename is atomic) and is
    removed on any error. The parent folder is created if needed.

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
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        os.close(fd)
    except OSError as exc:
        msg = f"cannot write into {str(final.parent)!r}: {exc.strerror}"
        raise OutputError(msg, code="E-IO-WRITE") from None
    tmp = Path(tmp_name)
    # mkstemp makes the file private; give the output the mode a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        with contextlib.suppress(OSError):
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        code = "E-IO-NOSPACE" if exc.errno == errno.ENOSPC else "E-IO-WRITE"
        msg = f"could not write {str(final)!r}: {exc.strerror or exc}; the previous file, if any, is unchanged"
        raise OutputError(msg, code=code) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
