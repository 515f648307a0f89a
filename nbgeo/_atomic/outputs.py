"""A command's set of outputs in ``--out``: the manifest, :func:`check_outputs` and :func:`output_set`."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NbgeoError, OutputError
from . import fs, locks, replace, signals

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

log = logging.getLogger(__name__)


def _plain(name: Any) -> bool:
    """A name nbgeo may act on inside ``OUT``: one path component, no control characters."""
    return (isinstance(name, str) and 0 < len(name) <= 255 and name not in (".", "..", fs.MANIFEST, fs.INSIDE_LOCK)
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
    path = out / fs.MANIFEST
    empty: dict[str, Any] = {"sets": {}}
    try:
        st = os.lstat(path)
    except OSError:
        return empty
    if not stat.S_ISREG(st.st_mode) or st.st_size > fs.MAX_MANIFEST_BYTES:
        log.warning("ignoring %s: not a manifest nbgeo wrote; every file in %s is kept", path, out)
        return empty
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        log.warning("ignoring %s: not valid JSON; every file in %s is kept", path, out)
        return empty
    if not isinstance(data, dict) or data.get("schema") != fs.SCHEMA or not isinstance(data.get("sets"), dict):
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
            (out / fs.MANIFEST).unlink()
        return
    doc: dict[str, Any] = {
        "schema": fs.SCHEMA,
        "note": "nbgeo's list of the outputs it wrote in this folder, so that its next run replaces them whole "
                "and keeps every other file. Files whose size or time changed are no longer nbgeo's.",
        "sets": sets,
    }
    if pending is not None:
        doc["pending"] = pending
    fs.replace_file(out / fs.MANIFEST, (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


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
    return [n for n in names if n not in (fs.MANIFEST, fs.INSIDE_LOCK) and not fs.INSIDE_LEFTOVER.match(n)
            and fs.leftover_kind(n, fs.MANIFEST) is None]


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
        fs.check_overwrite(out / name, overwrite=overwrite)
    earlier = _read_manifest(out)["sets"].get(command, {"files": {}})["files"]
    for name, fp in earlier.items():
        if _fingerprint(out / name) == fp:  # the earlier set is replaced as a whole: its files count too
            fs.check_overwrite(out / name, overwrite=overwrite)




def _is_staging(name: Any, out: Path, inside: bool) -> bool:
    """Whether ``name`` is one of nbgeo's staging or aside folders for ``out`` (never a folder of the user's)."""
    if not _plain(name):
        return False
    return bool(fs.INSIDE_LEFTOVER.match(name)) if inside else fs.leftover_kind(name, out.name) in ("new", "aside")


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
        log.warning("ignoring the pending commit in %s: not one nbgeo left", out / fs.MANIFEST)
    else:
        staging, aside = base / staging_name, base / aside_name
        for name, fp in files.items():
            if not _plain(name):
                continue
            if os.path.lexists(aside / name):  # its earlier version was put aside: bring it back
                if os.path.lexists(out / name):
                    fs.remove(out / name)
                fs.rename(aside / name, out / name)
            elif not os.path.lexists(staging / name) and _fingerprint(out / name) == fp:  # moved in, new here
                fs.remove(out / name)
        for name in pending.get("stale", []):
            if _plain(name) and os.path.lexists(aside / name) and not os.path.lexists(out / name):
                fs.rename(aside / name, out / name)
        for folder in (staging, aside):
            fs.remove(folder)
        log.warning("rolled back %s to its earlier outputs: an nbgeo run was stopped while it replaced them", out)
    _write_manifest(out, manifest["sets"])


def _recover(out: Path) -> None:
    """Undo what killed writers of ``out`` left (call with ``out``'s lock held)."""
    if out.is_dir():
        manifest = _read_manifest(out)
        if "pending" in manifest:
            _roll_back(out, manifest)
    replace.restore_or_clean(out)
    if out.is_dir() and not out.is_symlink():
        for entry in out.iterdir():
            if fs.INSIDE_LEFTOVER.match(entry.name) or fs.leftover_kind(entry.name, fs.MANIFEST) is not None:
                log.info("removing %s, left by an interrupted nbgeo run", entry)
                fs.remove(entry)


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
        return out / fs.INSIDE_LOCK, out, True
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
    names = sorted(n for n in os.listdir(staging) if n != fs.MANIFEST)
    bad = [n for n in names if not _plain(n) or fs.INSIDE_LEFTOVER.match(n)]
    if bad:
        msg = f"nbgeo cannot write an output called {bad[0]!r} into {str(out)!r}"
        raise OutputError(msg, code="E-IO-NAME")
    manifest = _read_manifest(out) if out.is_dir() else {"sets": {}}
    sets = manifest["sets"]
    own = _own_entries(out, sets)
    present = _entries(out)
    # A set is replaced as a whole: another command's set that this one takes a file name from goes entirely,
    # so no page of one run is left beside the JSON of another (site's audit.html beside audit's audit.json).
    displaced = {own[n] for n in names if own.get(n) not in (None, command)}
    earlier = [n for n, c in own.items() if c == command or c in displaced]
    for name in [*names, *earlier]:
        fs.check_overwrite(out / name, overwrite=overwrite)
    stale = sorted(n for n in earlier if n not in names)
    fs.fsync_tree(staging)
    new_sets: dict[str, Any] = {}
    for other, entry in sets.items():
        kept = {n: fp for n, fp in entry["files"].items() if own.get(n) == other and n not in names}
        if other != command and other not in displaced and kept:
            new_sets[other] = {**entry, "files": kept}
    new_sets[command] = {"nbgeo": fs.nbgeo_version(), "written": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
                         "files": {n: _fingerprint(staging / n) for n in names}}
    foreign = [n for n in present if n not in own]
    cwd = Path(os.path.realpath(os.getcwd()))
    if not inside and not foreign and not _within(cwd, out):
        carried = [n for n in present if n not in names and n not in stale]
        for name in carried:
            _link_or_copy(out / name, staging / name)
        _write_manifest(staging, new_sets)
        fs.fsync_dir(staging)
        try:
            replace.swap_dir(staging, out)
            return
        except replace.NoSwap:
            log.info("could not swap %s as a whole; replacing its files one by one", out)
            for name in [*carried, fs.MANIFEST]:
                fs.remove(staging / name)
    _publish_files(out, staging, base, inside, names, stale, sets, new_sets, command)


def _publish_files(out: Path, staging: Path, base: Path, inside: bool, names: list[str], stale: list[str],
                   sets: dict[str, Any], new_sets: dict[str, Any], command: str) -> None:
    """Publish file by file, with the pending commit in the manifest until the last rename (signals held)."""
    out.mkdir(parents=True, exist_ok=True)
    prefix = ".nbgeo-aside-" if inside else f".{out.name}.nbgeo-aside-"
    aside = Path(tempfile.mkdtemp(prefix=f"{prefix}{fs.token()}-", dir=base))
    pending = {"staging": staging.name, "aside": aside.name, "inside": inside, "stale": stale,
               "files": {n: new_sets[command]["files"][n] for n in names}}
    _write_manifest(out, sets, pending)
    try:
        for name in names:
            if os.path.lexists(out / name):
                fs.rename(out / name, aside / name)
            fs.rename(staging / name, out / name)
        for name in stale:
            if os.path.lexists(out / name):
                fs.rename(out / name, aside / name)
        fs.fsync_dir(out)
        _write_manifest(out, new_sets)  # the commit point
    except BaseException:
        _roll_back(out, {"sets": sets, "pending": pending})
        raise
    fs.remove(aside)
    fs.remove(staging)


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
        same command replaces it; other commands' outputs in the folder stay,
        unless this set takes one of their file names: then that command's
        whole set goes, so no file of one run is left beside another's.
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
    with signals.recording(shown) as written:
        try:
            lock_path, base, inside = _place(out)
        except OSError as exc:
            if isinstance(exc, OutputError):
                raise
            raise fs.io_error(out, exc, what=unchanged) from None
        with locks.locked(lock_path, out, timeout):
            try:
                _recover(out)
                check_outputs(out, command=command, names=expect, overwrite=overwrite)
                prefix = ".nbgeo-new-" if inside else f".{out.name}.nbgeo-new-"
                staging = Path(tempfile.mkdtemp(prefix=f"{prefix}{fs.token()}-", dir=base))
            except OSError as exc:
                if isinstance(exc, OutputError):
                    raise
                raise fs.io_error(out, exc, what=unchanged) from None
            try:
                yield staging
                with signals.signals_held():  # from the first rename to the last removal: SIGINT/SIGTERM wait
                    _publish(out, staging, base, inside, command, overwrite)
                    written()
            except OSError as exc:
                fs.remove(staging)
                if isinstance(exc, NbgeoError):
                    raise
                raise fs.io_error(out, exc, what=unchanged) from None
            except BaseException:
                fs.remove(staging)
                raise
