"""Local input files, checked before GDAL sees them: allowed formats, content sniffing, Shapefile parts, zip archives."""

from __future__ import annotations

import logging
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .. import limits, paths, settings
from ..errors import (
    InputError,
    LayerError,
)
from ..manifest import REMOTE_MARKERS

if TYPE_CHECKING:

    pass

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Format:
    """A format nbgeo reads: its name, the one GDAL driver allowed to open it, and its magic bytes."""

    name: str
    driver: str | None  # None: read by nbgeo itself (tables) or a container (zip)
    magic: tuple[bytes, ...] = ()
    multi_layer: bool = False


_GEOJSON = Format("GeoJSON", "GeoJSON", (b"{",))
#: The allow-list: file suffixes nbgeo opens. Anything else is refused before GDAL sees it.
FORMATS: dict[str, Format] = {
    ".geojson": _GEOJSON,
    ".json": _GEOJSON,
    ".gpkg": Format("GeoPackage", "GPKG", (b"SQLite format 3\x00",), multi_layer=True),
    ".shp": Format("Shapefile", "ESRI Shapefile", (b"\x00\x00\x27\x0a",)),
    ".fgb": Format("FlatGeobuf", "FlatGeobuf", (b"fgb\x03",)),
    ".gdb": Format("FileGDB", "OpenFileGDB", multi_layer=True),
    ".zip": Format("zip archive", None, (b"PK\x03\x04", b"PK\x05\x06")),
    ".csv": Format("CSV table", None),
    ".xlsx": Format("Excel workbook", None, (b"PK\x03\x04",), multi_layer=True),
}
#: Kept for callers of the first version: suffix -> magic bytes.
ALLOWED_SUFFIXES: dict[str, tuple[bytes, ...]] = {suffix: fmt.magic for suffix, fmt in FORMATS.items()}

_WHY_NOT = {
    ".vrt": "a GDAL VRT can read any file or URL named inside it (hint: convert the layer it describes to "
            "GeoPackage)",
    ".xls": "the old Excel format (hint: save it as .xlsx)",
    ".xlsm": "a macro workbook (hint: save it as .xlsx)",
    ".kml": "not a planning format nbgeo reads (hint: convert it to GeoPackage or GeoJSON first)",
    ".kmz": "not a planning format nbgeo reads (hint: convert it to GeoPackage or GeoJSON first)",
    ".dbf": "a part of a Shapefile (hint: name the .shp beside it)",
    ".shx": "a part of a Shapefile (hint: name the .shp beside it)",
    ".tif": "a raster (hint: declare it as [rasters.NAME] in dataset.toml)",
    ".tiff": "a raster (hint: declare it as [rasters.NAME] in dataset.toml)",
    ".sqlite": "only GeoPackage databases are read (hint: export it to .gpkg)",
    ".db": "only GeoPackage databases are read (hint: export it to .gpkg)",
    ".mbtiles": "a tile container, not a vector layer (hint: use the source data)",
    ".txt": "not a known table format (hint: rename a comma-separated table to .csv)",
    ".tsv": "not a known table format (hint: rename it to .csv; tabs are recognised)",
}
#: Markers of GDAL formats that open other files or URLs; refused whatever the suffix.
_META_MARKERS = {
    b"<OGRVRTDataSource": "a GDAL VRT",
    b"<VRTDataset": "a GDAL raster VRT",
    b"gdal_streamed_alg": "a GDAL algorithm (GDALG) pipeline",
    b"<GDAL_WMS": "a GDAL WMS description",
    b"<WFS_GetCapabilities": "a GDAL WFS description",
}
_SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".xml")
_HEAD = 65536  # bytes sniffed at the start of a file
DIAGNOSE_MAX = 256 * 1024 * 1024  # GeoJSON files up to this size are parsed again to locate problems


def sniff(head: bytes) -> str:
    """Say what some leading bytes look like, for messages.

    Examples
    --------
    >>> sniff(b'<OGRVRTDataSource><OGRVRTLayer name="x">')
    'a GDAL VRT'
    >>> sniff(b"PK\\x03\\x04..."), sniff(b"SQLite format 3\\x00"), sniff(b'{"type": "FeatureCollection"')
    ('a zip archive', 'an SQLite database', 'JSON')
    """
    for marker, kind in _META_MARKERS.items():
        if marker in head:
            return kind
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    table = (
        (b"PK\x03\x04", "a zip archive"), (b"PK\x05\x06", "an empty zip archive"),
        (b"SQLite format 3\x00", "an SQLite database"), (b"\x00\x00\x27\x0a", "a Shapefile"),
        (b"fgb\x03", "a FlatGeobuf file"), (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
        (b"%PDF", "a PDF document"), (b"\xd0\xcf\x11\xe0", "an old Office (OLE2) document"),
        (b"\x1f\x8b", "a gzip stream"), (b"\x89PNG", "a PNG image"), (b"<", "XML or HTML"),
        (b"{", "JSON"), (b"[", "a JSON array"),
    )
    for magic, kind in table:
        if body.startswith(magic):
            return kind
    if not body:
        return "empty"
    return "text" if _is_text(body[:4096]) else "unrecognised binary data"


def _is_text(data: bytes) -> bool:
    return b"\x00" not in data


def location(file: str, layer: str | None = None) -> str:
    """``file 'F', layer 'L'``: where a message is about.

    Examples
    --------
    >>> location("a.gpkg", "zones")
    "file 'a.gpkg', layer 'zones'"
    """
    return f"file {file!r}" + (f", layer {layer!r}" if layer else "")


# --- Sources: a local file, or a member of a zip archive ---------------------------------------------

@dataclass(frozen=True)
class _Member:
    """A file inside an open zip archive; a folder (a zipped FileGDB) has a name ending in ``/``."""

    archive: zipfile.ZipFile
    name: str


@dataclass
class Source:
    """A file as GDAL will open it: on disk, or inside a zip archive (read through ``/vsizip/``)."""

    path: Path  # the file on disk (the archive, for members)
    display: str  # for messages: "parks.zip!parks/parks.shp"
    member: _Member | None = None

    @property
    def name(self) -> str:
        """The file name (of the member, inside an archive)."""
        return PurePosixPath(self.member.name).name if self.member else self.path.name

    @property
    def suffix(self) -> str:
        """The lower-case suffix of :attr:`name`."""
        return PurePosixPath(self.name).suffix.lower()

    @property
    def is_folder(self) -> bool:
        """Whether this is a folder inside an archive (a zipped FileGDB), which has no bytes of its own."""
        return self.member is not None and self.member.name.endswith("/")

    @property
    def gdal_path(self) -> str:
        """The path GDAL opens (``/vsizip/...`` for a member of an archive)."""
        base = str(self.path.resolve())
        return f"/vsizip/{base}/{self.member.name.rstrip('/')}" if self.member else base

    def close(self) -> None:
        """Close the archive, if any."""
        if self.member is not None:
            self.member.archive.close()

    def size(self, name: str | None = None) -> int:
        """The size in bytes of the file (or of its sibling ``name``)."""
        if self.member is not None:
            return self.member.archive.getinfo(name or self.member.name).file_size
        return (self.path.parent / name).stat().st_size if name else self.path.stat().st_size

    def read(self, name: str | None = None, *, start: int = 0, length: int = _HEAD) -> bytes:
        """``length`` bytes from ``start`` of the file (or of its sibling ``name``)."""
        if self.member is not None:
            try:
                with self.member.archive.open(name or self.member.name) as fh:
                    if start:
                        fh.seek(start)
                    return fh.read(length)
            except ZIP_ERRORS as exc:
                msg = f"{location(self.display)}: the archive member is damaged ({exc})"
                raise InputError(msg + " (hint: download or copy the archive again)", code="E-ZIP-CORRUPT") from None
        with open(self.path.parent / name if name else self.path, "rb") as fh:
            fh.seek(start)
            return fh.read(length)

    def sibling(self, suffix: str) -> str | None:
        """The name of the file beside this one with another suffix (any case), or None."""
        stem = PurePosixPath(self.name).stem.lower()
        if self.member is not None:
            folder = PurePosixPath(self.member.name).parent
            for name in self.member.archive.namelist():
                inside = PurePosixPath(name)
                if inside.parent == folder and inside.stem.lower() == stem and inside.suffix.lower() == suffix:
                    return name
            return None
        for path in self.path.parent.iterdir():
            if path.stem.lower() == stem and path.suffix.lower() == suffix and path.is_file():
                return path.name
        return None


def check_path(path: str | Path, *, allow_network: bool | None = None, root: str | Path | None = None) -> Path:
    """Refuse remote paths, missing files, forbidden formats and content that does not match its suffix.

    This runs before GDAL opens anything. The path is resolved (symbolic links
    included, :func:`nbgeo.paths.resolve_input`): it must be a regular file (a
    folder for FileGDB), never a named pipe or a device, and stay inside
    ``root`` when one is given (the dataset folder). Every file GDAL may open
    beside it (a Shapefile's ``.dbf``, ``.prj``, ``.cpg``, ...; a GeoPackage's
    ``-wal``; every file of a FileGDB) is held to the same rules. It returns
    the resolved local path.

    Examples
    --------
    >>> check_path("/vsicurl/http://example.com/x.geojson")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: '/vsicurl/http://example.com/x.geojson' is a remote or GDAL virtual path; nbgeo reads only local files (hint: pass allow_network=True / --allow-network to read it)
    >>> check_path("zones.vrt")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: file 'zones.vrt': format '.vrt' is refused: a GDAL VRT can read any file or URL named inside it (hint: convert the layer it describes to GeoPackage)
    >>> check_path("zo\\nnes.geojson")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: file 'zo\\nnes.geojson': the path holds a control character (U+000A), so GDAL might open another file than the one nbgeo checks (hint: rename the file without it)
    """
    text = str(path)
    allow = settings.allow_network if allow_network is None else allow_network
    if any(marker in text for marker in REMOTE_MARKERS) and not allow:
        msg = f"{text!r} is a remote or GDAL virtual path; nbgeo reads only local files"
        raise InputError(msg + " (hint: pass allow_network=True / --allow-network to read it)", code="E-PATH-REMOTE")
    if paths.control_character(text):  # refused first: GDAL may read such a name differently from Python
        paths.resolve_input(text, what="file")  # raises E-PATH-CONTROL, naming the character
    p = Path(text)
    suffix = p.suffix.lower()
    if suffix in _WHY_NOT:
        msg = f"file {text!r}: format {suffix!r} is refused: {_WHY_NOT[suffix]}"
        raise InputError(msg, code="E-FORMAT-FORBIDDEN")
    if suffix not in FORMATS:
        msg = (f"file {text!r}: format {suffix or '(no suffix)'!r} is not allowed (hint: nbgeo reads "
               f"{', '.join(sorted(FORMATS))}; convert it to GeoPackage)")
        raise InputError(msg, code="E-FORMAT-FORBIDDEN")
    if not p.exists():
        msg = f"file {text!r} does not exist (hint: paths in dataset.toml are relative to its folder)"
        raise InputError(msg, code="E-FILE-MISSING")
    real = paths.resolve_input(p, root=root, what="file", folder=suffix == ".gdb")
    if FORMATS.get(real.suffix.lower()) is not FORMATS[suffix]:
        msg = (f"file {text!r} is a link to {real.name!r}, a different format; nbgeo goes by the name of the file "
               "GDAL opens (hint: name the link like the file it points to)")
        raise InputError(msg, code="E-FORMAT-MISMATCH")
    folder = Path(root).resolve() if root is not None else real.parent
    if suffix == ".gdb":
        if not any(c.name.lower() == "a00000001.gdbtable" for c in real.iterdir()):
            msg = f"file {text!r} is not a FileGDB folder (no a00000001.gdbtable catalog inside)"
            raise InputError(msg + " (hint: point at the .gdb folder exported from ArcGIS)", code="E-FILE-CORRUPT")
        # GDAL opens any file of the folder: each is held to the rules of a layer file (a pipe would hang it).
        sizes = [paths.resolve_input(c, root=folder, what=f"file {text!r}: part").stat().st_size
                 for c in sorted(real.iterdir()) if not c.is_dir() or c.is_symlink()]
        limits.check_input_size(sum(sizes), file=text)
        return real
    if FORMATS[suffix].driver is not None:
        paths.check_sidecars(real, root=folder, what="file")
    size = real.stat().st_size
    if size == 0:
        msg = f"file {text!r} is empty (0 bytes) (hint: an interrupted copy or export? copy it again)"
        raise InputError(msg, code="E-FILE-EMPTY")
    with open(real, "rb") as fh:
        head = fh.read(_HEAD)
    check_content(head, FORMATS[suffix], suffix, text)
    return real


_check_path = check_path  # the name of the first version


def check_content(head: bytes, fmt: Format, suffix: str, display: str) -> None:
    """Refuse meta formats anywhere in the head, and content that is not what the suffix says."""
    for marker, kind in _META_MARKERS.items():
        if marker in head:
            msg = f"file {display!r} is named {suffix} but its content is {kind}; refusing to open it"
            raise InputError(msg + " (hint: such files make GDAL read other files or URLs)",
                             code="E-FORMAT-FORBIDDEN")
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if fmt.magic and not any(body.startswith(magic) for magic in fmt.magic):
        kind = sniff(head)
        msg = f"file {display!r} is named {suffix} but its content is {kind}, not {fmt.name}"
        code = "E-FILE-PARSE" if kind in ("text", "unrecognised binary data", "XML or HTML") else "E-FORMAT-MISMATCH"
        raise InputError(msg + " (hint: is it the file you meant, complete, and named for its format?)", code=code)
    if suffix == ".csv" and not _is_text(head[:4096]):
        msg = f"file {display!r} is named .csv but holds binary data ({sniff(head)})"
        raise InputError(msg, code="E-FILE-PARSE")


# --- Structural checks that GDAL does not make ---------------------------------------------------------

def check_shapefile(src: Source) -> dict[str, str | None]:
    """Check that a Shapefile's parts exist and agree; return the names of the parts found."""
    parts = {suffix: src.sibling(suffix) for suffix in (".shx", ".dbf", ".prj", ".cpg")}
    for suffix in (".shx", ".dbf"):
        if parts[suffix] is None:
            what = "the index of the geometries" if suffix == ".shx" else "the attributes"
            msg = f"{location(src.display)}: the {suffix} part ({what}) is missing"
            raise InputError(msg + " (hint: copy every part: .shp, .shx, .dbf, .prj and .cpg)",
                             code="E-SHP-MISSING-PART")
    shp_size = src.size()
    header = src.read(length=100)
    if len(header) < 100:
        msg = f"{location(src.display)}: the .shp is {shp_size} bytes, shorter than its 100-byte header"
        raise InputError(msg, code="E-FILE-TRUNCATED")
    declared = int.from_bytes(header[24:28], "big") * 2
    if declared > shp_size:
        msg = (f"{location(src.display)}: the .shp is {shp_size:,} bytes but its header says {declared:,}; "
               "the file is truncated (hint: copy it again from the source)")
        raise InputError(msg, code="E-FILE-TRUNCATED")
    shx_size = src.size(parts[".shx"])
    records = max(shx_size - 100, 0) // 8
    if shx_size < 100 or (shx_size - 100) % 8:
        msg = f"{location(src.display)}: the .shx index is {shx_size} bytes, not a 100-byte header plus 8 per record"
        raise InputError(msg, code="E-FILE-TRUNCATED")
    if records:
        last = src.read(parts[".shx"], start=100 + 8 * (records - 1), length=8)
        offset, length = int.from_bytes(last[:4], "big") * 2, int.from_bytes(last[4:8], "big") * 2
        if offset + 8 + length > shp_size:
            msg = (f"{location(src.display)}: the .shx lists {records:,} geometries but the .shp ends inside "
                   f"geometry {records - 1} ({shp_size:,} bytes, {offset + 8 + length:,} needed); it is truncated")
            raise InputError(msg + " (hint: copy it again from the source)", code="E-FILE-TRUNCATED")
    dbf = src.read(parts[".dbf"], length=32)
    dbf_size = src.size(parts[".dbf"])
    if len(dbf) < 12:
        msg = f"{location(src.display)}: the .dbf is {dbf_size} bytes, shorter than its header"
        raise InputError(msg, code="E-FILE-TRUNCATED")
    n_dbf = int.from_bytes(dbf[4:8], "little")
    header_len, record_len = int.from_bytes(dbf[8:10], "little"), int.from_bytes(dbf[10:12], "little")
    if header_len + n_dbf * record_len > dbf_size:
        msg = (f"{location(src.display)}: the .dbf declares {n_dbf:,} records of {record_len} bytes but is only "
               f"{dbf_size:,} bytes; it is truncated")
        raise InputError(msg + " (hint: copy it again from the source)", code="E-FILE-TRUNCATED")
    if n_dbf != records:
        msg = (f"{location(src.display)}: the .dbf has {n_dbf:,} records but the .shx {records:,} geometries; "
               "the parts come from different exports")
        raise InputError(msg + " (hint: copy all parts of one export together)", code="E-FILE-CORRUPT")
    return parts


def check_geopackage(src: Source) -> None:
    """Refuse a GeoPackage whose SQLite header or page count shows it truncated."""
    header = src.read(length=100)
    if len(header) < 100:
        msg = f"{location(src.display)}: {len(header)} bytes, shorter than an SQLite header; the file is truncated"
        raise InputError(msg, code="E-FILE-CORRUPT")
    if header[68:72] not in (b"GPKG", b"GP10", b"GP11"):
        msg = f"{location(src.display)} is an SQLite database but not a GeoPackage (no GPKG application id)"
        raise InputError(msg + " (hint: export it as GeoPackage)", code="E-FORMAT-FORBIDDEN")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]
    size = src.size()
    if page_size < 512 or (valid and pages and size < page_size * pages) or size % page_size:
        msg = (f"{location(src.display)}: the database is {size:,} bytes but its header declares {pages:,} pages of "
               f"{page_size:,} bytes; it is truncated or damaged")
        raise InputError(msg + " (hint: copy it again, or open and re-save it in QGIS)", code="E-FILE-CORRUPT")


def check_flatgeobuf(src: Source) -> None:
    """Refuse a FlatGeobuf whose magic bytes or header are wrong."""
    head = src.read(length=12)
    size = src.size()
    header_size = int.from_bytes(head[8:12], "little") if len(head) >= 12 else None
    if header_size is None or 12 + header_size > size:
        msg = (f"{location(src.display)}: the file ends inside its header ({size:,} bytes); it is truncated "
               "(hint: copy it again from the source)")
        raise InputError(msg, code="E-FILE-TRUNCATED")


_CANDIDATES = (".shp", ".geojson", ".json", ".gpkg", ".fgb")
#: What Python's zipfile raises on damaged archives (a damaged name may not even decode).
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
               NotImplementedError, UnicodeDecodeError, RuntimeError, KeyError)


def _zip_layers(archive: zipfile.ZipFile) -> tuple[list[str], list[str]]:
    """Layer files inside an archive (and ``.gdb/`` folders), and the refused files found."""
    found: list[str] = []
    gdbs: set[str] = set()
    refused: list[str] = []
    for name in archive.namelist():
        p = PurePosixPath(name)
        if p.parts and (p.parts[0] == "__MACOSX" or p.name.startswith("._")):
            continue
        for i, part in enumerate(p.parts[:-1] if not name.endswith("/") else p.parts):
            if part.lower().endswith(".gdb"):
                gdbs.add("/".join(p.parts[: i + 1]) + "/")
                break
        else:
            if p.suffix.lower() in _CANDIDATES and not name.endswith("/"):
                found.append(name)
            elif p.suffix.lower() in _WHY_NOT and p.suffix.lower() not in (".dbf", ".shx"):
                refused.append(name)
    return sorted(found) + sorted(gdbs), refused


def open_zip(path: Path, *, layer: str | None) -> tuple[Source, str | None]:
    """Open an archive, check it, and pick the one layer file to read. Return it and the layer inside it."""
    display = str(path)
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except ZIP_ERRORS as exc:
        msg = f"{location(display)}: the zip archive is damaged or truncated ({exc})"
        raise InputError(msg + " (hint: download or copy it again)", code="E-ZIP-CORRUPT") from None
    for info in infos:
        if info.flag_bits & 0x1:
            msg = f"{location(display)}: member {info.filename!r} is encrypted"
            raise InputError(msg + " (hint: unpack it with the password and zip it again without one)",
                             code="E-ZIP-ENCRYPTED")
        p = PurePosixPath(info.filename)
        if (not p.parts or info.filename.startswith(("/", "\\")) or ".." in p.parts or "\\" in info.filename
                or ":" in p.parts[0]):
            msg = f"{location(display)}: member name {info.filename!r} points outside the archive"
            raise InputError(msg + " (hint: a hostile or broken archive; nbgeo never unpacks it)",
                             code="E-PATH-OUTSIDE")
    limits.check_zip(sum(i.compress_size for i in infos), sum(i.file_size for i in infos), file=display)
    candidates, refused = _zip_layers(archive)
    inner_layer: str | None = None
    if layer is not None:
        named = [c for c in candidates if PurePosixPath(c.rstrip("/")).stem == layer or c.rstrip("/") == layer]
        if named:
            candidates = named
        elif len(candidates) == 1 and PurePosixPath(candidates[0].rstrip("/")).suffix.lower() in (".gpkg", ".gdb"):
            inner_layer = layer
        else:
            shown = ", ".join(PurePosixPath(c.rstrip("/")).stem for c in candidates) or "(none)"
            msg = f"{location(display)}: no layer {layer!r} in the archive; it holds: {shown} (hint: name one of these)"
            raise LayerError(msg, code="E-LAYER-MISSING")
    if not candidates:
        if refused:
            msg = (f"{location(display)}: the archive holds only refused formats: {', '.join(refused)} "
                   "(hint: zip the layer itself, as GeoPackage or Shapefile)")
            raise InputError(msg, code="E-FORMAT-FORBIDDEN")
        listing = ", ".join(archive.namelist()[:10]) or "nothing"
        msg = f"{location(display)}: no layer file (.shp, .gpkg, .geojson, .fgb, .gdb) in the archive; it holds {listing}"
        raise LayerError(msg + " (hint: nested zips are not opened; unpack the outer one)", code="E-LAYER-MISSING")
    if len(candidates) > 1:
        shown = ", ".join(candidates)
        msg = f"{location(display)}: the archive holds {len(candidates)} layers ({shown}); nbgeo will not guess"
        raise LayerError(msg + " (hint: name one: layer = \"NAME\" in dataset.toml, or --layer NAME)",
                         code="E-LAYER-AMBIGUOUS")
    member = candidates[0]
    src = Source(path=path, display=f"{display}!{member.rstrip('/')}", member=_Member(archive, member))
    # Test the CRC of everything GDAL will read: a damaged member otherwise reads as garbage.
    if member.endswith("/"):
        parts = [n for n in archive.namelist() if n.startswith(member) and not n.endswith("/")]
    elif src.suffix == ".shp":
        stem = PurePosixPath(member).with_suffix("")
        parts = [n for n in archive.namelist() if PurePosixPath(n).with_suffix("") == stem]
    else:
        parts = [member]
    for name in parts:
        try:
            with archive.open(name) as fh:
                while fh.read(1 << 20):
                    pass
        except ZIP_ERRORS as exc:
            msg = f"{location(display)}: member {name!r} is damaged ({exc})"
            raise InputError(msg + " (hint: download or copy the archive again)", code="E-ZIP-CORRUPT") from None
    return src, inner_layer

