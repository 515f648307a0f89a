"""Names, errors and small file-system steps shared by nbgeo's writers; :func:`check_overwrite`, the one overwrite check."""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import re
import shutil
import socket
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OutputError

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


#: The manifest nbgeo keeps in an output folder: which files each command wrote there.
MANIFEST = ".nbgeo-outputs.json"

SCHEMA = "nbgeo.outputs/1"
INSIDE_LOCK = ".nbgeo-lock"
MAX_MANIFEST_BYTES = 4 * 2**20
INSIDE_LEFTOVER = re.compile(r"^\.nbgeo-(?P<kind>new|aside)-[\w-]*$")


def token() -> str:
    """``HOST-PID`` for temporary names, so a person can see whose leftover it is."""
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:20] or "host"
    return f"{host}-{os.getpid()}"


def leftover_kind(entry: str, name: str) -> str | None:
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


def umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@functools.cache
def nbgeo_version() -> str:
    try:
        return version("nbgeo")
    except PackageNotFoundError:
        return "unknown"


def io_error(target: Path, exc: OSError, *, what: str = "the previous file, if any, is unchanged") -> OutputError:
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


def rename(src: Path, dst: Path) -> None:
    """Every rename that publishes or restores outputs goes through here (one place to watch in tests)."""
    os.rename(src, dst)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # POSIX only: Windows cannot open a folder
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` to disk, so that a rename publishes data that is there."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            with open(path, "rb+") as fh:
                os.fsync(fh.fileno())
        fsync_dir(Path(root))


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary; for files whose writer already holds a lock."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.nbgeo-tmp-{token()}-", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
