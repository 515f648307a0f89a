"""Safe paths: names that may become file names, outputs that stay in ``--out``, inputs that stay in their folder.

A plan's ids and a manifest's layer names end up in file names (``ID.tif``,
``NAME.gpkg``), and a dataset folder from someone else may hold symbolic
links, named pipes or file names with control characters. Three rules keep
nbgeo from writing or reading where it should not
(``../shared/RELIABILITY.md`` S4 and S11):

* **Names.** An id or a layer name is checked once, when the plan or the
  manifest is read (:func:`check_name`, :func:`name_problem`): letters (CJK
  included), digits, ``_`` and ``-`` only, so no path separator, no ``..``,
  no control character, no empty name. :func:`slug` makes such a name from
  any text, e.g. a file's stem.
* **Outputs.** :func:`output_path` is the one function that turns a name into
  an output path: the name is checked again, and the path must still lie
  directly in the output folder once symbolic links are resolved.
  :func:`check_out` refuses an empty ``--out``, which would mean the current
  folder.
* **Inputs.** :func:`resolve_input` resolves a path (symbolic links included)
  and requires it to stay inside its root, to be a regular file (not a named
  pipe, a device such as ``/dev/zero``, or a folder) and to be within
  :data:`nbgeo.limits.max_input_bytes`, all before a byte is read.
  :func:`read_input` then reads it without ever blocking on a pipe, and
  :func:`check_sidecars` applies the same rules to every file named like a
  layer (``zones.*``: a Shapefile's ``.dbf``, ``.prj``, ``.cpg``, a
  GeoPackage's ``-wal``), which GDAL opens on its own.

Examples
--------
>>> from nbgeo import paths
>>> paths.check_name("micro_parks"), paths.check_name("充电桩-2025")
('micro_parks', '充电桩-2025')
>>> paths.output_path("out", "dem_suitability", ".tif").as_posix()
'out/dem_suitability.tif'
>>> paths.output_path("out", "../../victim", ".gpkg")
Traceback (most recent call last):
...
nbgeo.errors.InputError: name '../../victim' cannot name a file: it holds a path separator '/' (hint: use letters, digits, '_' and '-' only, e.g. 'micro_parks')
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

from . import limits
from .errors import InputError, OutputError

__all__ = [
    "MAX_NAME_BYTES",
    "check_name",
    "check_out",
    "check_sidecars",
    "control_character",
    "name_problem",
    "output_path",
    "read_input",
    "resolve_input",
    "slug",
]

#: Longest name in UTF-8 bytes: file systems allow 255 per file name, and a suffix is added.
MAX_NAME_BYTES = 200

_NAME_HINT = "use letters, digits, '_' and '-' only, e.g. 'micro_parks'"
# Device names Windows keeps in every folder: a file called NUL.gpkg is written nowhere.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_SUFFIX = re.compile(r"[A-Za-z0-9_.\-]*")


def control_character(text: str) -> str | None:
    """The first control character in ``text`` (as ``U+000A``), or None.

    Control characters are the C0 and C1 ranges and DEL (Unicode category
    ``Cc``): a newline in a file name can make GDAL open another file than
    the one nbgeo checked.

    Examples
    --------
    >>> control_character("zones.geojson") is None, control_character("zo\\nnes.geojson")
    (True, 'U+000A')
    """
    for char in text:
        if unicodedata.category(char) == "Cc":
            return f"U+{ord(char):04X}"
    return None


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot become part of a file name, or None when it can.

    A name is safe when it is a non-empty string of letters (any script, CJK
    included), digits, ``_`` and ``-``, at most :data:`MAX_NAME_BYTES` bytes in
    UTF-8, and not a device name Windows reserves (``CON``, ``NUL``, ...).

    Examples
    --------
    >>> name_problem("chargers") is None, name_problem("宁波_2025") is None
    (True, True)
    >>> name_problem("x/../victim"), name_problem(".."), name_problem("")
    ("it holds a path separator '/'", "it holds '..'", 'it is empty')
    >>> name_problem("a b"), name_problem("zo\\nnes"), name_problem(7)
    ("it holds ' ', which is not a letter, digit, '_' or '-'", 'it holds a control character (U+000A)', 'it is an integer, not text')
    """
    if not isinstance(name, str):
        kind = {bool: "true/false", int: "an integer", float: "a number"}.get(type(name), type(name).__name__)
        return f"it is {kind}, not text"
    if not name:
        return "it is empty"
    control = control_character(name)
    if control:
        return f"it holds a control character ({control})"
    for sep in ("/", "\\"):
        if sep in name:
            return f"it holds a path separator {sep!r}"
    if ".." in name:
        return "it holds '..'"
    for char in name:
        if not (char.isalnum() or char in "_-"):
            return f"it holds {char!r}, which is not a letter, digit, '_' or '-'"
    if name.upper() in _RESERVED:
        return f"{name!r} is a device name on Windows"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"it is {len(name.encode('utf-8'))} bytes long in UTF-8, more than {MAX_NAME_BYTES}"
    return None


def slug(text: str, *, default: str = "layer") -> str:
    """A safe name made from any text (a file's stem): each run of other characters becomes ``_``.

    Returns ``default`` when nothing usable is left.

    Examples
    --------
    >>> slug("zones v2.final"), slug("宁波 园区（2025）"), slug("../.."), slug("NUL")
    ('zones_v2_final', '宁波_园区_2025', 'layer', 'layer')
    """
    name = re.sub(r"[^\w-]+", "_", text).strip("_")
    return name if name_problem(name) is None else default


def check_name(name: object, *, what: str = "name") -> str:
    """Return ``name`` when it can become part of a file name; else raise ``E-NAME-UNSAFE``.

    Parameters
    ----------
    name
        An id or a layer name.
    what
        How to call it in the message, e.g. ``"[[suitability]] id"``.

    Examples
    --------
    >>> check_name("farmland_micro_parks")
    'farmland_micro_parks'
    >>> check_name("/etc/cron.d/x", what="[[suitability]] id")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: [[suitability]] id '/etc/cron.d/x' cannot name a file: it holds a path separator '/' (hint: use letters, digits, '_' and '-' only, e.g. 'micro_parks')
    """
    problem = name_problem(name)
    if problem is not None:
        msg = f"{what} {name!r} cannot name a file: {problem} (hint: {_NAME_HINT})"
        raise InputError(msg, code="E-NAME-UNSAFE")
    assert isinstance(name, str), "name_problem refuses anything but text"
    return name


def check_out(path: str | os.PathLike[str], *, what: str = "--out") -> Path:
    """Refuse an empty output path (it would mean the current folder) or one holding a control character.

    Examples
    --------
    >>> check_out("maps/audit").as_posix()
    'maps/audit'
    >>> check_out("")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: --out is empty, which would write into the current folder (hint: name the output folder, e.g. --out maps/audit, or --out . for the current folder)
    """
    text = os.fspath(path)
    if not text.strip():
        example = f"{what} maps/audit, or {what} ." if what.startswith("--") else "'maps/audit', or '.'"
        msg = (f"{what} is empty, which would write into the current folder (hint: name the output folder, "
               f"e.g. {example} for the current folder)")
        raise InputError(msg, code="E-PATH-EMPTY")
    control = control_character(text)
    if control:
        msg = f"{what} {text!r} holds a control character ({control}) (hint: remove it from the path)"
        raise InputError(msg, code="E-PATH-CONTROL")
    return Path(text)


def output_path(root: str | os.PathLike[str], name: str, suffix: str = "") -> Path:
    """The path of the output called ``name + suffix`` directly inside ``root``: the one place such paths are made.

    The name is checked with :func:`check_name`; the path must lie directly in
    ``root`` once symbolic links are resolved, so a link planted in the output
    folder cannot send the output elsewhere.

    Parameters
    ----------
    root
        The output folder (``--out``); it need not exist yet.
    name
        An id or layer name from the plan or the dataset.
    suffix
        Fixed by the caller: ``".tif"``, ``"_zones.gpkg"``, ...

    Returns
    -------
    pathlib.Path
        ``root / (name + suffix)``, as given (not resolved).

    Raises
    ------
    nbgeo.errors.InputError
        ``E-NAME-UNSAFE`` for a name that cannot name a file, ``E-PATH-EMPTY`` for an empty root.
    nbgeo.errors.OutputError
        ``E-PATH-OUTSIDE`` when the path resolves outside ``root``.

    Examples
    --------
    >>> output_path("out", "chargers", ".gpkg").as_posix()
    'out/chargers.gpkg'
    >>> output_path("out", "..", ".tif")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: name '..' cannot name a file: it holds '..' (hint: use letters, digits, '_' and '-' only, e.g. 'micro_parks')
    """
    if not _SUFFIX.fullmatch(suffix) or ".." in suffix:
        msg = f"output suffix {suffix!r} is not a plain file-name ending"
        raise ValueError(msg)
    folder = check_out(root, what="the output folder")
    path = folder / f"{check_name(name)}{suffix}"
    real_folder = folder.resolve()
    if path.resolve().parent != real_folder:
        msg = (f"output {str(path)!r} resolves to {str(path.resolve())!r}, outside {str(folder)!r} "
               "(hint: remove the symbolic link from the output folder)")
        raise OutputError(msg, code="E-PATH-OUTSIDE")
    return path


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_input(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
                  what: str = "file", folder: bool = False, hint: str | None = None) -> Path:
    """Resolve an input path and check it before anything reads it.

    In order: no control character in the path; the path exists once symbolic
    links are resolved; it lies inside ``root`` (when given); it is a regular
    file (or a folder, with ``folder=True``), never a named pipe or a device;
    and a file is no larger than :data:`nbgeo.limits.max_input_bytes` (from
    its size on disk, before reading).

    Parameters
    ----------
    path
        The path as given (in a manifest, on the command line).
    root
        The folder the path must stay inside, e.g. the dataset folder; None
        when the user named the path directly.
    what
        How to call it in messages (``"plan file"``, ``"[layers.parks] file"``).
    folder
        Expect a folder instead of a file.
    hint
        Added to the message when the path does not exist.

    Returns
    -------
    pathlib.Path
        The resolved path, which is what should be opened.

    Raises
    ------
    nbgeo.errors.InputError
        ``E-PATH-CONTROL``, ``E-FILE-MISSING``, ``E-PATH-OUTSIDE``,
        ``E-FILE-TYPE``; :class:`~nbgeo.errors.LimitError` ``E-LIMIT-SIZE``.

    Examples
    --------
    >>> import os, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "plan.toml").write_text("[plan]")
    >>> resolve_input(d / "plan.toml", root=d).name
    'plan.toml'
    >>> elsewhere = pathlib.Path(tempfile.mkdtemp()) / "secret.txt"
    >>> _ = elsewhere.write_text("hunter2")
    >>> os.symlink(elsewhere, d / "zones.prj")
    >>> resolve_input(d / "zones.prj", root=d, what="file")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: file '.../zones.prj' resolves to '.../secret.txt', outside the folder '...'; nbgeo reads nothing outside it (hint: copy the file into the folder instead of linking to it)
    >>> os.mkfifo(d / "dataset.toml")
    >>> resolve_input(d / "dataset.toml", root=d, what="manifest")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: manifest '.../dataset.toml' is a named pipe (FIFO), not a regular file (hint: nbgeo reads only regular files; a pipe or a device would block the read or never end)
    """
    text = os.fspath(path)
    control = control_character(text)
    if control:
        msg = (f"{what} {text!r}: the path holds a control character ({control}), so GDAL might open another "
               "file than the one nbgeo checks (hint: rename the file without it)")
        raise InputError(msg, code="E-PATH-CONTROL")
    try:
        real = Path(text).resolve(strict=True)
    except FileNotFoundError:
        msg = f"{what} {text!r} does not exist" + (f" (hint: {hint})" if hint else "")
        raise InputError(msg, code="E-FILE-MISSING") from None
    except (OSError, RuntimeError) as exc:  # a symbolic link loop (RuntimeError before Python 3.13)
        msg = f"{what} {text!r} cannot be resolved ({exc})"
        raise InputError(msg + " (hint: is it a symbolic link that points to itself?)", code="E-FILE-MISSING") from None
    control = control_character(str(real))
    if control:
        msg = (f"{what} {text!r} resolves to {str(real)!r}, whose name holds a control character ({control}) "
               "(hint: rename the file without it)")
        raise InputError(msg, code="E-PATH-CONTROL")
    if root is not None:
        real_root = Path(root).resolve()
        if not _inside(real, real_root):
            msg = (f"{what} {text!r} resolves to {str(real)!r}, outside the folder {str(real_root)!r}; nbgeo reads "
                   "nothing outside it (hint: copy the file into the folder instead of linking to it)")
            raise InputError(msg, code="E-PATH-OUTSIDE")
    mode = os.stat(real).st_mode
    if folder:
        if not stat.S_ISDIR(mode):
            msg = f"{what} {text!r} is {_kind(mode) if not stat.S_ISREG(mode) else 'a file'}, not a folder"
            raise InputError(msg, code="E-FILE-TYPE")
        return real
    if not stat.S_ISREG(mode):
        msg = (f"{what} {text!r} is {_kind(mode)}, not a regular file (hint: nbgeo reads only regular files; a pipe "
               "or a device would block the read or never end)")
        raise InputError(msg, code="E-FILE-TYPE")
    limits.check_input_size(os.stat(real).st_size, file=text)
    return real


def check_sidecars(path: str | os.PathLike[str], *, root: str | os.PathLike[str], what: str = "file") -> None:
    """Check every file named like ``path`` (``zones.*`` beside ``zones.shp``), which GDAL may open on its own.

    GDAL opens a Shapefile's ``.shx``, ``.dbf``, ``.prj``, ``.cpg``, ``.qix``,
    ... and SQLite a GeoPackage's ``-wal`` and ``-shm`` without being asked.
    Each such file must resolve inside ``root`` and be a regular file or a
    folder (never a named pipe or a device), as for :func:`resolve_input`.

    Parameters
    ----------
    path
        The layer file, resolved.
    root
        The folder every part must stay inside.
    what
        How to call the layer file in messages.

    Examples
    --------
    >>> import os, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for part in ("zones.shp", "zones.shx", "zones.dbf"):
    ...     _ = (d / part).write_bytes(b"")
    >>> check_sidecars(d / "zones.shp", root=d)
    >>> os.symlink("/etc/hostname", d / "zones.cpg")
    >>> check_sidecars(d / "zones.shp", root=d)
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: file 'zones.shp': part 'zones.cpg' resolves to '/etc/hostname', outside the folder '...'; nbgeo reads nothing outside it (hint: copy the file into the folder instead of linking to it)
    """
    layer = Path(path)
    real_root = Path(root).resolve()
    prefix = layer.stem.lower() + "."
    for entry in sorted(layer.parent.iterdir()):
        if entry.name == layer.name or not entry.name.lower().startswith(prefix):
            continue
        label = f"{what} {layer.name!r}: part {entry.name!r}"
        control = control_character(entry.name)
        if control:
            msg = f"{label}: the name holds a control character ({control}) (hint: rename or remove the file)"
            raise InputError(msg, code="E-PATH-CONTROL")
        real = entry.resolve()  # not strict: a dangling link may still point outside
        if not _inside(real, real_root):
            msg = (f"{label} resolves to {str(real)!r}, outside the folder {str(real_root)!r}; nbgeo reads nothing "
                   "outside it (hint: copy the file into the folder instead of linking to it)")
            raise InputError(msg, code="E-PATH-OUTSIDE")
        try:
            mode = os.stat(real).st_mode
        except OSError:
            continue  # a dangling link inside the folder: GDAL finds nothing there either
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            msg = (f"{label} is {_kind(mode)}, which GDAL would open beside the layer (hint: remove it; nbgeo reads "
                   "only regular files)")
            raise InputError(msg, code="E-FILE-TYPE")


def read_input(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
               what: str = "file", hint: str | None = None) -> bytes:
    """Read a whole input file after :func:`resolve_input`, without ever blocking on a named pipe.

    The file is opened non-blocking and checked again on the open descriptor
    (a regular file, within the size limit), so a file swapped for a pipe
    after the check is refused too, and a file that grows while it is read
    is not read past the limit.

    Parameters
    ----------
    path, root, what, hint
        As for :func:`resolve_input`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "plan.toml"
    >>> _ = f.write_text("[plan]\\nid = 'p'\\n", encoding="utf-8")
    >>> read_input(f, what="plan file")
    b"[plan]\\nid = 'p'\\n"
    >>> read_input("/dev/zero", what="plan file")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: plan file '/dev/zero' is a character device, not a regular file (hint: nbgeo reads only regular files; a pipe or a device would block the read or never end)
    """
    real = resolve_input(path, root=root, what=what, hint=hint)
    text = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        msg = f"{what} {text!r} cannot be read: {exc.strerror}"
        raise InputError(msg, code="E-FILE-READ") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            msg = f"{what} {text!r} is {_kind(info.st_mode)}, not a regular file"
            raise InputError(msg, code="E-FILE-TYPE")
        limits.check_input_size(info.st_size, file=text)
        # In pieces, so that nothing is allocated ahead and a file still growing stops at the limit.
        chunks: list[bytes] = []
        total = 0
        while chunk := fh.read(max(info.st_size + 1, 1 << 16) if not chunks else 1 << 20):
            total += len(chunk)
            limits.check_input_size(total, file=text)
            chunks.append(chunk)
    return b"".join(chunks)
