"""The disk cache: where it lives, and entries that are verified before they are used.

nbgeo caches what is slow to build and cheap to keep: the matrix of a road
network read from an OSM extract or downloaded with osmnx (and osmnx's own
cache of the raw responses). A cache is an input nobody reviews, so nothing
in it is trusted:

**Where.** ``settings.cache_folder`` when set, else ``$NBGEO_CACHE_DIR``, else
the user's cache directory (``platformdirs.user_cache_dir("nbgeo")``, e.g.
``~/.cache/nbgeo``): never the working directory, where anyone who can put a
file beside a project could plant one. The folder is made private (0700). It
is not used, with one WARNING saying why, when it is a symlink, is not a
folder, cannot be made or written, or (on POSIX) belongs to another user or is
writable by others: nbgeo then runs uncached, with the same results.

**Entries.** An entry is an ``.npz`` of plain arrays (``np.load`` with
``allow_pickle=False``: no pickles, no objects) named after the SHA-256 of its
key: the entry format, the nbgeo version that wrote it and the caller's key
parts (for a network file, the SHA-256 of its content and the reading
options; for a download, the osmnx query). The entry repeats all of that
inside, with an HMAC-SHA256 of everything in it under a random secret kept
in the cache folder (``key``, 0600, made on first use). On loading, every one
of these is checked; an entry that is truncated, damaged, written by another
nbgeo version, written for another source, or planted (right name, other
content: nobody without the secret can make a valid one) is ignored and
rebuilt, with a WARNING naming it and why. A broken entry never ends a run.

**Writing.** Each entry is written to a temporary file beside it and renamed
into place (:mod:`nbgeo._atomic`), so a reader sees a whole entry or none,
and concurrent writers of the same entry each leave a whole one.

Examples
--------
>>> import numpy as np, tempfile
>>> from nbgeo import settings
>>> settings.cache_folder, saved = tempfile.mkdtemp(), settings.cache_folder
>>> _ = write_entry("demo", ("source-sha256", "options"), {"x": np.arange(3.0)})
>>> read_entry("demo", ("source-sha256", "options"))["x"].tolist()
[0.0, 1.0, 2.0]
>>> read_entry("demo", ("another source", "options")) is None
True
>>> settings.cache_folder = saved
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import stat
import tempfile
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import platformdirs

from . import _atomic, settings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

__all__ = ["cache_root", "entry_path", "read_entry", "subfolder", "write_entry"]

log = logging.getLogger(__name__)

#: Bump when the entry layout changes.
FORMAT = "nbgeo-cache/2"
#: Largest entry file read, and largest total of its arrays once decompressed.
MAX_ENTRY_BYTES = 2 * 2**30
MAX_ARRAY_BYTES = 8 * 2**30

_RESERVED = frozenset({"__meta__", "__mac__"})
_KEY_BYTES = 32
_warned: set[tuple[str, str]] = set()


def _warn_once(folder: Path, why: str) -> None:
    """One WARNING per folder and reason per process: a cache that cannot be used is worth saying once."""
    if (str(folder), why) not in _warned:
        _warned.add((str(folder), why))
        log.warning("Not using the cache folder %s: %s; running uncached (results are the same, only slower)",
                    folder, why)


def _nbgeo_version() -> str:
    try:
        return version("nbgeo")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def _root_path() -> Path:
    chosen = settings.cache_folder or os.environ.get("NBGEO_CACHE_DIR") or platformdirs.user_cache_dir("nbgeo")
    return Path(chosen).expanduser()


def _check_folder(folder: Path) -> str | None:
    """Why ``folder`` (made if missing) cannot hold trusted cache entries, or None when it can."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.lstat()
    except OSError as exc:
        return f"it cannot be made ({exc.strerror or exc})"
    if stat.S_ISLNK(st.st_mode):
        return "it is a symlink"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a folder"
    if hasattr(os, "geteuid"):
        if st.st_uid != os.geteuid():
            return "it belongs to another user"
        if st.st_mode & 0o022:
            return f"others may write in it (mode {stat.filemode(st.st_mode)})"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "it is not writable"
    return None


def cache_root() -> Path | None:
    """The cache folder, made and checked; None (after one WARNING) when it cannot be trusted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nbgeo import settings
    >>> settings.cache_folder, saved = tempfile.mkdtemp(), settings.cache_folder
    >>> cache_root() == pathlib.Path(settings.cache_folder)
    True
    >>> settings.cache_folder = saved
    """
    return _trusted(_root_path())


def _trusted(folder: Path) -> Path | None:
    why = _check_folder(folder)
    if why is not None:
        _warn_once(folder, why)
        return None
    return folder


def subfolder(name: str) -> Path | None:
    """A checked subfolder of the cache (``networks``, ``osmnx``), or None when it cannot be trusted."""
    root = cache_root()
    return None if root is None else _trusted(root / name)


def _read_secret(path: Path) -> bytes | None:
    """The secret in ``path`` if it is ours: a regular file (no symlink) of 32 bytes, owned by us, mode 0600."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size != _KEY_BYTES:
            return None
        if hasattr(os, "geteuid") and (st.st_uid != os.geteuid() or st.st_mode & 0o077):
            return None
        data = fh.read(_KEY_BYTES + 1)
    return data if len(data) == _KEY_BYTES else None


def _secret(root: Path) -> bytes | None:
    """The cache's HMAC secret, made on first use; a key file that is not ours is replaced."""
    path = root / "key"
    found = _read_secret(path)
    if found is not None:
        return found
    replace = path.exists() or path.is_symlink()
    fd, tmp = tempfile.mkstemp(prefix=".key.", dir=root)  # private (0600) from the start
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(_KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            log.warning("Replacing the cache key %s, which is not a private file of this user; every cached entry "
                        "will be rebuilt", path)
            os.replace(tmp, path)
        else:
            # link() fails if another process made the key first: then theirs is the key.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
    except OSError as exc:
        _warn_once(root, f"its key cannot be written ({exc.strerror or exc})")
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return _read_secret(path)


def _open(kind: str) -> tuple[Path, bytes] | None:
    """The checked folder of one kind of entry and the secret that signs them; None when uncached."""
    folder = subfolder(kind)
    secret = _secret(folder.parent) if folder is not None else None
    return None if folder is None or secret is None else (folder, secret)


def _key(parts: Sequence[str]) -> str:
    text = json.dumps([FORMAT, _nbgeo_version(), *map(str, parts)], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def entry_path(kind: str, parts: Sequence[str]) -> Path:
    """Where the entry for ``parts`` lives (the folder may not be usable: see :func:`subfolder`)."""
    return _root_path() / kind / f"{_key(parts)[:32]}.npz"


def _contiguous(a: Any) -> NDArray[Any]:
    """The array in C order, keeping its shape (``np.ascontiguousarray`` turns a scalar into 1-d)."""
    arr = np.asarray(a)
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _mac(secret: bytes, meta: str, arrays: Mapping[str, NDArray[Any]]) -> str:
    """HMAC-SHA256 of the entry's description and of every array: name, dtype, shape and bytes."""
    mac = hmac.new(secret, meta.encode(), hashlib.sha256)
    for name in sorted(arrays):
        arr = _contiguous(arrays[name])
        mac.update(f"\0{name}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        mac.update(arr.data)
    return mac.hexdigest()


def write_entry(kind: str, parts: Sequence[str], arrays: Mapping[str, NDArray[Any]]) -> Path | None:
    """Write an entry atomically; None (with a WARNING) when the cache cannot be used or written.

    Parameters
    ----------
    kind
        The subfolder (``networks``).
    parts
        What the entry is for: content hashes of the source, reading options.
    arrays
        Plain numeric or text arrays (no objects).
    """
    if _RESERVED & set(arrays):
        msg = f"cache array names {sorted(_RESERVED & set(arrays))} are reserved"
        raise ValueError(msg)
    if any(np.asarray(a).dtype.hasobject for a in arrays.values()):
        msg = "a cache entry holds plain arrays only, never objects"
        raise ValueError(msg)
    opened = _open(kind)
    if opened is None:
        return None
    folder, secret = opened
    key = _key(parts)
    meta = json.dumps({"format": FORMAT, "nbgeo": _nbgeo_version(), "key": key, "parts": list(map(str, parts))},
                      ensure_ascii=False)
    plain = {name: _contiguous(a) for name, a in arrays.items()}
    buf = io.BytesIO()
    # Uncompressed: zlib cost more CPU than anything else in writing a network, for a file a few times smaller.
    np.savez(buf, allow_pickle=False, __meta__=np.array(meta), __mac__=np.array(_mac(secret, meta, plain)), **plain)
    path = folder / f"{key[:32]}.npz"
    try:
        _atomic.write_bytes(path, buf.getvalue(), overwrite=True)  # a cache entry, never a user's file
    except OSError as exc:  # a full disk or a read-only folder must not stop the work
        log.warning("Could not write the cache entry %s: %s; continuing uncached", path, exc)
        return None
    log.info("Cached %s at %s", kind, path)
    return path


def _load(path: Path, secret: bytes, key: str, parts: Sequence[str]) -> dict[str, NDArray[Any]]:
    """The arrays of a verified entry; ValueError saying what is wrong otherwise."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))  # a symlink fails here (ELOOP)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            msg = "not a regular file"
            raise ValueError(msg)
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            msg = "it belongs to another user"
            raise ValueError(msg)
        if st.st_size > MAX_ENTRY_BYTES:
            msg = f"{st.st_size:,} bytes, more than {MAX_ENTRY_BYTES:,}"
            raise ValueError(msg)
        data = fh.read()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        declared = sum(info.file_size for info in zf.infolist())
    if declared > MAX_ARRAY_BYTES:
        msg = f"its arrays declare {declared:,} bytes, more than {MAX_ARRAY_BYTES:,}"
        raise ValueError(msg)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta_arr, mac_arr = arrays.pop("__meta__", None), arrays.pop("__mac__", None)
    if meta_arr is None or mac_arr is None or meta_arr.dtype.kind != "U" or mac_arr.dtype.kind != "U":
        msg = "it is not an nbgeo cache entry of this format"
        raise ValueError(msg)
    meta_text = str(meta_arr[()])
    meta = json.loads(meta_text)
    expected = {"format": FORMAT, "nbgeo": _nbgeo_version(), "key": key, "parts": list(map(str, parts))}
    for field, want in expected.items():
        if meta.get(field) != want:
            what = "source and options" if field in ("key", "parts") else field
            msg = f"it was written for another {what} ({field} {meta.get(field)!r}, expected {want!r})"
            raise ValueError(msg)
    if not hmac.compare_digest(str(mac_arr[()]), _mac(secret, meta_text, arrays)):
        msg = "its content does not match its signature (damaged, or not written by nbgeo for this user)"
        raise ValueError(msg)
    return arrays


def read_entry(kind: str, parts: Sequence[str]) -> dict[str, NDArray[Any]] | None:
    """The arrays of the entry for ``parts``, verified; None when there is none or it cannot be trusted.

    An entry that fails any check is reported (WARNING) and ignored; the
    caller rebuilds it and writes it again.
    """
    opened = _open(kind)
    if opened is None:
        return None
    folder, secret = opened
    key = _key(parts)
    path = folder / f"{key[:32]}.npz"
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        arrays = _load(path, secret, key, parts)
    except Exception as exc:  # whatever is wrong with an untrusted file, the answer is to rebuild it
        why = exc if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
        log.warning("Ignoring the cache entry %s: %s; rebuilding it", path, why)
        return None
    log.info("Read the cache entry %s", path)
    return arrays
