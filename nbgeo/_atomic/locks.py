"""Advisory locks beside each target (``.NAME.nbgeo-lock``): two writers of one target take turns."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OutputError
from . import fs

if sys.platform == "win32":  # the lock calls of each platform
    import msvcrt
else:
    import fcntl

if TYPE_CHECKING:
    from collections.abc import Iterator

log = logging.getLogger(__name__)


#: Seconds a writer waits for another one writing the same target before ``E-IO-LOCKED``.
LOCK_TIMEOUT = 600.0
_WIN_LOCK_OFFSET = 2**20  # Windows locks bytes for everyone: lock one far past the holder's note


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
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


class Lock:
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
                        note = (f"nbgeo {fs.nbgeo_version()} pid {os.getpid()} on {socket.gethostname()} since "
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
def locked(path: Path, subject: Path, timeout: float | None) -> Iterator[None]:
    lock = Lock(path, subject)
    lock.acquire(LOCK_TIMEOUT if timeout is None else timeout)
    try:
        yield
    finally:
        lock.release()
