"""Read one layer file through GDAL (or a CSV/Excel table with coordinate columns), collecting every problem."""

from __future__ import annotations

import csv
import io as _io
import json
import logging
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyogrio
import pyogrio.errors
import shapely
from openpyxl.utils.exceptions import InvalidFileException

from .. import fieldmap, limits, settings
from ..crs import parse_crs
from ..errors import (
    InputError,
    LayerError,
    NbgeoError,
    Problem,
)
from ..manifest import REMOTE_MARKERS
from ..validate import raise_for_problems
from . import wkt
from .sources import (
    DIAGNOSE_MAX,
    FORMATS,
    ZIP_ERRORS,
    Format,
    Source,
    check_content,
    check_flatgeobuf,
    check_geopackage,
    check_path,
    check_shapefile,
    location,
    open_zip,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


log = logging.getLogger(__name__)


# --- Reading through GDAL ---------------------------------------------------------------------------

_GDAL_WARNINGS = (
    (re.compile(r"Non closed ring detected"), None),  # located per feature from the WKB
    (re.compile(r"Several features with id = (\S+) have been found"), None),  # the ids are checked per feature
    (re.compile(r"too many members in array"), "W-GEOM-M-DROPPED"),
)


def _gdal_problems(caught: list[warnings.WarningMessage], *, file: str, layer: str | None) -> list[Problem]:
    """Turn GDAL's warnings into problems so that nothing it changed passes silently."""
    problems = []
    seen = set()
    for w in caught:
        text = str(w.message)
        if text in seen or issubclass(w.category, ResourceWarning):
            continue
        seen.add(text)
        for pattern, code in _GDAL_WARNINGS:
            if pattern.search(text):
                if code == "W-GEOM-M-DROPPED":
                    problems.append(Problem(code, "positions with more than 3 values: the 4th (M) was dropped "
                                            "by the reader", file=file, layer=layer))
                break
        else:
            problems.append(Problem("W-READER", f"the reader warned: {text}", file=file, layer=layer))
    return problems


def _wkb_problems(wkb: np.ndarray, ids: np.ndarray, rows: np.ndarray, *, repair: bool, file: str,
                  layer: str | None) -> tuple[dict[int, object], list[Problem]]:
    """Locate geometries GEOS could not build, and close unclosed rings when repairing."""
    fixed: dict[int, object] = {}
    problems: list[Problem] = []
    for row in rows:
        try:
            shapely.from_wkb(wkb[row])
            reason = "unreadable geometry"
        except (shapely.errors.GEOSException, ValueError) as exc:
            reason = str(exc).removeprefix("IllegalArgumentException: ")
        if "closed linestring" in reason:
            code = "E-GEOM-UNCLOSED"
        elif "number of points" in reason:
            code = "E-GEOM-FEWPOINTS"
        else:
            code = "E-GEOM-PARSE"
        geom = shapely.from_wkb(wkb[row], on_invalid="fix") if repair and code == "E-GEOM-UNCLOSED" else None
        if geom is not None:
            fixed[row] = geom
            problems.append(Problem("W-GEOM-REPAIRED", f"ring closed on read ({reason})", file=file, layer=layer,
                                    feature=ids[row]))
        else:
            problems.append(Problem(code, reason, file=file, layer=layer, feature=ids[row],
                                    hint="close every ring (first position = last)" if code == "E-GEOM-UNCLOSED"
                                    else "fix the geometry at the source"))
    return fixed, problems


def _raw_values(obj: Any) -> Iterator[Any]:
    """The x and y values of every position in a GeoJSON ``coordinates`` member (Z and M are not checked)."""
    if isinstance(obj, list) and obj and not isinstance(obj[0], list):
        yield from obj[:2]
    elif isinstance(obj, list):
        for item in obj:
            yield from _raw_values(item)
    else:
        yield obj


def _max_position_len(obj: Any) -> int:
    if isinstance(obj, list) and obj and not isinstance(obj[0], list):
        return len(obj)
    if isinstance(obj, list):
        return max((_max_position_len(o) for o in obj), default=0)
    return 0


def _geojson_details(src: Source, gdf: gpd.GeoDataFrame, ids: np.ndarray, *, file: str, layer: str | None
                     ) -> tuple[list[object] | None, list[Problem]]:
    """Parse a GeoJSON file again to locate what GDAL passed over silently.

    Returns the features' own ``id`` members (None unless every feature has one)
    and the problems: geometries GDAL could not read (``E-GEOM-PARSE``, e.g.
    string coordinates), ``NaN``/``Infinity`` literals (``E-GEOM-NONFINITE``)
    and positions with a 4th value (``W-GEOM-M-DROPPED``).
    """
    if src.size() > DIAGNOSE_MAX:
        return None, [Problem("W-DIAGNOSE-SKIPPED", f"the file is larger than {DIAGNOSE_MAX // 2**20} MiB, so "
                              "unreadable features are counted but not located", file=file, layer=layer)]
    data = src.read(length=src.size() + 1)
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None, []
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list) or len(feats) != len(gdf):
        return None, []
    problems: list[Problem] = []
    geoms = np.asarray(gdf.geometry.values)
    raw_ids = [feat.get("id") if isinstance(feat, dict) else None for feat in feats]
    if "id" not in gdf.columns and all(v is not None and not isinstance(v, (dict, list)) for v in raw_ids):
        ids = np.asarray([str(v) for v in raw_ids], dtype=object)
    m_rows = []
    for i, feat in enumerate(feats):
        raw_geom = feat.get("geometry") if isinstance(feat, dict) else None
        coords = raw_geom.get("coordinates") if isinstance(raw_geom, dict) else None
        values = list(_raw_values(coords)) if coords is not None else []
        if any(isinstance(v, float) and not np.isfinite(v) for v in values):
            problems.append(Problem("E-GEOM-NONFINITE", "coordinates include a NaN or Infinity literal (which is not "
                                    "valid JSON, RFC 8259)", file=file, layer=layer, feature=ids[i],
                                    hint="fix the coordinates at the source"))
        elif raw_geom is not None and geoms[i] is None:
            strings = any(isinstance(v, str) for v in values)
            what = "coordinates are text, not numbers" if strings else "the geometry could not be read"
            problems.append(Problem("E-GEOM-PARSE", f"{what}: {json.dumps(raw_geom, ensure_ascii=False)[:80]}",
                                    file=file, layer=layer, feature=ids[i], hint="write coordinates as numbers"))
        if coords is not None and _max_position_len(coords) > 3:
            m_rows.append(ids[i])
    if m_rows:
        problems.append(Problem("W-GEOM-M-DROPPED", f"{len(m_rows)} features have positions with a 4th value, "
                                f"dropped on read (first: {', '.join(map(repr, m_rows[:5]))})",
                                file=file, layer=layer))
    have_ids = all(v is not None and not isinstance(v, (dict, list)) for v in raw_ids) and raw_ids
    return (raw_ids if have_ids else None), problems


def _crs_member(src: Source, gdf: gpd.GeoDataFrame, *, file: str, layer: str | None) -> list[Problem]:
    """Say what became of a legacy ``crs`` member (RFC 7946 §4 removed it): honoured, or ignored by GDAL.

    GDAL honours the members it understands and drops the others (an unknown code, a ``link``, a plain
    string) without a word, reading the coordinates as WGS 84. Both are reported (``W-GEOJSON-NONRFC``), naming
    the member; one that names WGS 84 itself changes nothing and is not.
    """
    size = src.size()
    ends = src.read(length=4096) + src.read(start=max(0, size - 4096), length=4096)
    if not re.search(rb'"crs"\s*:', ends):
        return []
    member: object = "?"
    if size <= DIAGNOSE_MAX:
        try:
            doc = json.loads(src.read(length=size + 1).decode("utf-8-sig"))
        except (ValueError, RecursionError):
            return []
        if not isinstance(doc, dict) or "crs" not in doc:
            return []  # a property called crs, not the member
        member = doc["crs"]
    shown = json.dumps(member, ensure_ascii=False)
    shown = shown if len(shown) <= 120 else shown[:117] + "..."
    wgs84 = re.search(r"CRS84|EPSG:+4326\b|\b4326\b", shown)
    hint = "remove the member and store longitude/latitude in WGS 84; if the coordinates are in another CRS, " \
           "declare it with crs = \"EPSG:...\" in dataset.toml"
    if member is None or (wgs84 and gdf.crs is not None and gdf.crs.equals("EPSG:4326")):
        return []
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        what = f"honoured: the coordinates were read in {gdf.crs.to_string()}"
    else:
        what = "ignored, as GDAL cannot use it: the coordinates were read as WGS 84 longitude/latitude"
    return [Problem("W-GEOJSON-NONRFC", f"the file has a 'crs' member {shown}, which RFC 7946 removed; {what}",
                    file=file, layer=layer, hint=hint)]


def _redecode(values: list[str], source: str, enc: str) -> list[str] | None:
    """Re-read mis-decoded text; None unless (nearly) all of it becomes mostly CJK text in ``enc``."""
    decoded = []
    for value in values:
        try:
            decoded.append(value.encode(source).decode(enc))
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    if len(decoded) < 0.9 * len(values):
        return None
    wide = [c for c in "".join(decoded) if ord(c) > 127]
    cjk = sum(1 for c in wide if "\u4e00" <= c <= "\u9fff")
    return decoded if cjk >= 2 and cjk >= 0.7 * len(wide) else None


def _mojibake(gdf: pd.DataFrame, *, file: str, layer: str | None, encoding: str | None,
              said: str | None = None) -> list[Problem]:
    """Find text that was decoded with the wrong encoding (``±±¾©ÊÐ`` for ``北京市``)."""
    problems = []
    for column in gdf.columns:
        if column == getattr(gdf, "_geometry_column_name", None):
            continue
        values = gdf[column]
        if values.dtype.kind not in "OUT" and not isinstance(values.dtype, pd.StringDtype):
            continue
        sample = list(dict.fromkeys(v for v in values.dropna().iloc[:20000] if isinstance(v, str)))[:5000]
        text = "".join(sample)
        high = [c for c in text if ord(c) > 127 and c not in "\xa0\xad"]  # no-break space, soft hyphen: real text
        latin = [c for c in high if ord(c) <= 0xFF]
        if len(set(latin)) < 4 or len(latin) < 0.6 * len(high):
            continue
        suspects = [v for v in sample if any(0x80 <= ord(c) <= 0xFF and c not in "\xa0\xad" for c in v)]
        example, guess = suspects[0], ""
        for source in ("latin-1", "cp1252"):
            for enc in ("utf-8", "gb18030", "big5"):
                decoded = _redecode(suspects, source, enc)
                if decoded is not None:
                    guess = (f"; read as {'GBK' if enc == 'gb18030' else enc.upper()} it gives "
                             f"{decoded[0][:20]!r}")
                    example = suspects[0]
                    break
            if guess:
                break
        if not guess:  # Latin-1 letters alone can be real text (Café); say so only when another reading fits
            continue
        enc_name = guess.split(" ")[3]
        if said is None:
            said = f"read as {encoding}" if encoding else "read as UTF-8"
        hint = (f"pass the encoding: --encoding {enc_name}, or encoding = \"{enc_name}\" in dataset.toml"
                if said != "stored as text" else "the text was mis-decoded before it was saved: export it again "
                f"from the source, reading it as {enc_name}")
        problems.append(Problem(
            "E-ENC-SUSPECT", f"text looks mis-decoded, e.g. {example[:20]!r} ({said}){guess}", file=file,
            layer=layer, column=str(column), hint=hint))
    return problems


def _plain_columns(df: pd.DataFrame, *, file: str, layer: str | None) -> tuple[pd.DataFrame, list[Problem]]:
    """Keep attributes scalar and their names unique: lists become JSON text, repeated names are refused."""
    problems: list[Problem] = []
    names = [str(c) for c in df.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(Problem("E-COLUMN-DUPLICATE", f"column name(s) {', '.join(map(repr, repeated))} occur more "
                                "than once; which one is meant?", file=file, layer=layer, column=repeated[0],
                                hint="rename the columns so that each name is used once"))
        df = df.loc[:, ~pd.Index(names).duplicated()]
    for column in df.columns:
        values = df[column]
        if values.dtype == object and values.map(lambda v: isinstance(v, (list, tuple, dict, np.ndarray))).any():
            df[column] = values.map(lambda v: json.dumps(v.tolist() if isinstance(v, np.ndarray) else v,
                                                         ensure_ascii=False, default=str)
                                    if isinstance(v, (list, tuple, dict, np.ndarray)) else v)
    return df, problems


def _valid_utf8(table: Any) -> bool:
    """Whether every string column of an Arrow table is valid UTF-8 (GDAL may pass raw bytes through)."""
    for column in table.columns:
        kind = column.type.storage_type if isinstance(column.type, pa.BaseExtensionType) else column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            chunks = [c.storage if isinstance(c, pa.ExtensionArray) else c for c in column.chunks]
            try:
                for chunk in chunks:
                    chunk.validate(full=True)
            except pa.ArrowInvalid:
                return False
    return True


@dataclass
class ReadResult:
    """One layer as read: its GeoDataFrame and every problem found on the way."""

    gdf: gpd.GeoDataFrame
    problems: list[Problem]
    kind: str  # "vector" or "table"


def _read_gdal(src: Source, fmt: Format, *, layer: str | None, encoding: str | None, repair: bool) -> ReadResult:

    file = src.display
    problems: list[Problem] = []
    parts: dict[str, str | None] = {}
    if src.suffix == ".shp":
        parts = check_shapefile(src)
    elif src.suffix == ".gpkg":
        check_geopackage(src)
    elif src.suffix == ".fgb":
        check_flatgeobuf(src)
    path = src.gdal_path
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            available = [str(name) for name, _ in pyogrio.list_layers(path)]
            if layer is not None and layer not in available:
                msg = (f"{location(file)}: no layer {layer!r}; available: {', '.join(available) or '(none)'} "
                       "(hint: name one of these with layer = \"NAME\" in dataset.toml, or --layer NAME)")
                raise LayerError(msg, code="E-LAYER-MISSING")
            if layer is None and len(available) > 1:
                msg = (f"{location(file)}: {len(available)} layers ({', '.join(available)}); nbgeo will not guess "
                       "(hint: name one: layer = \"NAME\" in dataset.toml, or --layer NAME)")
                raise LayerError(msg, code="E-LAYER-AMBIGUOUS")
            if not available:
                msg = f"{location(file)}: the file holds no layer (hint: export the layer again)"
                raise LayerError(msg, code="E-LAYER-MISSING")
            name = layer if layer is not None else available[0]
            info = pyogrio.read_info(path, layer=name, encoding=encoding)
            if info["driver"] != fmt.driver:
                msg = f"{location(file)} was opened by GDAL's {info['driver']} driver, not {fmt.driver}; refusing it"
                raise InputError(msg, code="E-FORMAT-FORBIDDEN")
            limits.check_features(int(info["features"]), file=file, layer=name)
            if src.suffix == ".shp" and encoding is None and parts.get(".cpg") is None:
                problems.append(Problem("W-ENC-ASSUMED", "no .cpg file says how the attributes are encoded; UTF-8 "
                                        "assumed (checked for mojibake)", file=file, layer=name))
            meta, table = pyogrio.read_arrow(path, layer=name, encoding=encoding)
            if not _valid_utf8(table):
                if src.suffix == ".shp" and encoding is None and parts.get(".cpg") is None:
                    # GDAL passed the bytes through; read them as Latin-1 so the mojibake check can name them.
                    meta, table = pyogrio.read_arrow(path, layer=name, encoding="ISO-8859-1")
                    problems = [p for p in problems if p.code != "W-ENC-ASSUMED"]
                    problems.append(Problem("W-ENC-ASSUMED", "the attributes are not UTF-8 and no .cpg file says "
                                            "what they are; read as ISO-8859-1", file=file, layer=name))
                else:
                    raise UnicodeDecodeError("utf-8", b"", 0, 1, "invalid UTF-8 text in the attributes")
            try:
                df = table.to_pandas()
            except (pa.ArrowException, ArithmeticError, ValueError, TypeError, LookupError) as exc:
                msg = f"{location(file)}: attribute values cannot be read ({type(exc).__name__}: {str(exc)[:160]})"
                raise InputError(msg + " (hint: export the layer again)", code="E-FILE-PARSE") from None
        except pyogrio.errors.DataLayerError as exc:
            msg = f"{location(file)}: {exc}"
            raise LayerError(msg, code="E-LAYER-MISSING") from None
        except (pyogrio.errors.DataSourceError, pyogrio.errors.CRSError, pyogrio.errors.GeometryError,
                pyogrio.errors.FieldError, pyogrio.errors.FeatureError, OSError) as exc:
            if isinstance(exc, NbgeoError):
                raise
            raise _parse_failure(src, fmt, exc) from None
        except UnicodeDecodeError as exc:
            if fmt.driver == "GeoJSON":
                raise _parse_failure(src, fmt, exc) from None
            said = f"the .cpg says {src.read(parts['.cpg'], length=64).decode('latin-1').strip()!r}" if parts.get(
                ".cpg") else f"read as {encoding}" if encoding else "no .cpg file says otherwise, so UTF-8 was assumed"
            msg = f"{location(file)}: text is not valid {exc.encoding.upper()} ({said})"
            raise InputError(msg + " (hint: pass the encoding, e.g. --encoding GBK or encoding = \"GBK\" in "
                             "dataset.toml)", code="E-ENC-INVALID") from None
    problems += _gdal_problems(caught, file=file, layer=name)
    geometry_name = meta["geometry_name"] or "wkb_geometry"
    if geometry_name in df.columns:
        wkb = df.pop(geometry_name).to_numpy(dtype=object)
        wkb = np.where(pd.isna(wkb), None, wkb)
    else:
        wkb = np.full(len(df), None, dtype=object)
    df, found = _plain_columns(df, file=file, layer=name)
    problems += found
    with np.errstate(all="ignore"):  # NaN coordinates are reported by validation, with their feature
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    gdf = gpd.GeoDataFrame(df, geometry=geoms, crs=meta["crs"])
    ids = (gdf["id"] if "id" in gdf.columns else pd.Series(np.arange(len(gdf)))).to_numpy()
    broken = np.flatnonzero(pd.notna(pd.Series(wkb)).to_numpy() & shapely.is_missing(geoms))
    if len(broken):
        fixed, found = _wkb_problems(wkb, ids, broken, repair=repair, file=file, layer=name)
        problems += found
        if fixed:
            geoms = geoms.copy()
            geoms[list(fixed)] = list(fixed.values())
            gdf[gdf.geometry.name] = geoms
    if fmt.driver == "GeoJSON" and ("id" not in gdf.columns or shapely.is_missing(geoms).any()
                                    or shapely.is_empty(geoms).any() or shapely.has_z(geoms).any()):
        raw_ids, found = _geojson_details(src, gdf, ids, file=file, layer=name)
        problems = [p for p in problems if p.code != "W-GEOM-M-DROPPED" or not found] + found
        if "id" not in gdf.columns and raw_ids is not None:
            gdf.insert(0, "id", raw_ids)
    if fmt.driver == "GeoJSON":
        problems += _crs_member(src, gdf, file=file, layer=name)
    decoded: str | None = None  # how the text was decoded, when _mojibake's own wording would not fit
    if src.suffix == ".shp" and encoding is None and parts.get(".cpg") is None:
        decoded = "no .cpg file says how it is encoded"
    elif src.suffix != ".shp" and not encoding:
        decoded = "stored as text"
    problems += _mojibake(gdf, file=file, layer=name, encoding=encoding, said=decoded)
    counts = shapely.get_num_coordinates(np.asarray(gdf.geometry.values))
    limits.check_vertices(counts, ids, file=file, layer=name)
    return ReadResult(gdf, problems, "vector")


def _parse_failure(src: Source, fmt: Format, exc: Exception) -> InputError:
    """Explain why GDAL could not read a file, as precisely as the file allows."""
    file = src.display
    text = str(exc)
    hint = " (hint: is the file complete? copy or export it again)"
    if fmt.driver == "GeoJSON" and src.size() <= DIAGNOSE_MAX:
        data = src.read(length=src.size() + 1)
        try:
            decoded = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            guess = ""
            try:
                data.decode("gb18030")
                guess = "; it reads as GBK, but GeoJSON must be UTF-8 (RFC 7946)"
            except UnicodeDecodeError:
                pass
            msg = f"{location(file)}: not valid UTF-8 at byte {err.start:,}{guess}"
            return InputError(msg + " (hint: re-save it as UTF-8)", code="E-ENC-INVALID")
        try:
            json.loads(decoded)
        except json.JSONDecodeError as err:
            end = len(decoded.rstrip())
            if err.pos >= end - 1:
                msg = f"{location(file)}: the JSON ends at line {err.lineno}, column {err.colno} before it is complete"
                return InputError(msg + hint, code="E-FILE-TRUNCATED")
            msg = f"{location(file)}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
            return InputError(msg + " (hint: fix the file, or export it again)", code="E-FILE-PARSE")
        except RecursionError:
            msg = f"{location(file)}: the JSON is nested too deeply to be GeoJSON"
            return InputError(msg, code="E-FILE-PARSE")
        msg = f"{location(file)} cannot be read as GeoJSON: {text}"
        return InputError(msg + " (hint: numbers must be finite, e.g. no 1e400)", code="E-FILE-PARSE")
    code = "E-FILE-PARSE" if fmt.driver == "GeoJSON" else "E-FILE-CORRUPT"
    msg = f"{location(file)} cannot be read as {fmt.name}: {text}"
    return InputError(msg + hint, code=code)


# --- Reading tables of coordinates (CSV, Excel) -------------------------------------------------------

_LON_NAMES = {"lon", "lng", "long", "longitude", "x", "经度", "东经", "gcj_lng", "bd_lng", "wgs_lng"}
_LAT_NAMES = {"lat", "latitude", "y", "纬度", "北纬", "gcj_lat", "bd_lat", "wgs_lat"}
_XY_NAMES = {"coordinates", "coordinate", "coords", "lnglat", "lonlat", "location", "坐标", "经纬度", "经纬度坐标",
             "xy", "lng_lat", "lon_lat"}


def _norm(name: object) -> str:
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", str(name))
    return text.strip().lower().replace(" ", "_")


def _decode(data: bytes, *, encoding: str | None, file: str) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            msg = f"unknown encoding {encoding!r} (hint: e.g. GBK, GB18030, UTF-8)"
            raise InputError(msg, code="E-ENC-UNKNOWN") from None
        except UnicodeDecodeError as err:
            msg = f"{location(file)}: not valid {encoding} at byte {err.start:,}"
            raise InputError(msg + " (hint: try another --encoding, e.g. UTF-8 or GB18030)",
                             code="E-ENC-INVALID") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        guess = ""
        try:
            data.decode("gb18030")
            guess = "; it reads as GBK (Excel's default for Chinese CSV)"
        except UnicodeDecodeError:
            pass
        msg = f"{location(file)}: not valid UTF-8 at byte {err.start:,}{guess}"
        raise InputError(msg + " (hint: pass the encoding: --encoding GBK, or encoding = \"GBK\" in dataset.toml)",
                         code="E-ENC-INVALID") from None


def _read_csv(src: Source, *, encoding: str | None) -> pd.DataFrame:
    """Read a CSV table as text cells; every row must have as many fields as the header."""
    text = _decode(src.read(length=src.size() + 1), encoding=encoding, file=src.display)
    first = text.split("\n", 1)[0]
    sep = max((",", "\t", ";"), key=first.count)
    try:
        rows = [row for row in csv.reader(_io.StringIO(text, newline=""), delimiter=sep)
                if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        msg = f"{location(src.display)}: not a readable CSV table: {exc}"
        raise InputError(msg + " (hint: save it again as CSV from Excel or WPS)", code="E-FILE-PARSE") from None
    if not rows:
        return pd.DataFrame()
    header = [cell.strip() or f"column_{i + 1}" for i, cell in enumerate(rows[0])]
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            msg = (f"{location(src.display)}: row {number} has {len(row)} fields but the header has {len(header)} "
                   "(hint: quote values that contain the separator, e.g. \"121.55,29.87\")")
            raise InputError(msg, code="E-FILE-PARSE")
    df = pd.DataFrame([[cell.strip() for cell in row] for row in rows[1:]], columns=header, dtype=object)
    return df.replace("", None)


def _read_xlsx(src: Source, *, sheet: str | None) -> tuple[pd.DataFrame, str]:

    display = src.display
    try:
        archive = zipfile.ZipFile(src.path)
        infos = archive.infolist()
    except ZIP_ERRORS as exc:
        msg = f"{location(display)}: the workbook is damaged or truncated ({exc})"
        raise InputError(msg + " (hint: open and re-save it in Excel or WPS)", code="E-FILE-CORRUPT") from None
    limits.check_zip(sum(i.compress_size for i in infos), sum(i.file_size for i in infos), file=display)
    archive.close()
    try:
        book = openpyxl.load_workbook(src.path, read_only=True, data_only=True)
    except (InvalidFileException, TypeError, AttributeError, IndexError, *ZIP_ERRORS) as exc:
        msg = f"{location(display)}: not a readable Excel workbook ({type(exc).__name__}: {str(exc)[:120]})"
        raise InputError(msg + " (hint: open and re-save it as .xlsx)", code="E-FILE-CORRUPT") from None
    except Exception as exc:  # openpyxl raises XML parser errors of several kinds on damaged parts
        if type(exc).__module__.startswith(("xml", "openpyxl", "et_xmlfile", "defusedxml")):
            msg = f"{location(display)}: damaged workbook content ({type(exc).__name__}: {str(exc)[:120]})"
            raise InputError(msg + " (hint: open and re-save it as .xlsx)", code="E-FILE-CORRUPT") from None
        raise
    try:
        sheets = book.sheetnames
        if sheet is not None and sheet not in sheets:
            msg = (f"{location(display)}: no sheet {sheet!r}; available: {', '.join(sheets)} "
                   "(hint: name one of these with layer = \"SHEET\" in dataset.toml, or --layer SHEET)")
            raise LayerError(msg, code="E-LAYER-MISSING")
        rows_by_sheet: dict[str, list[tuple[Any, ...]]] = {}
        for name in [sheet] if sheet is not None else sheets:
            rows: list[tuple[Any, ...]] = []
            for row in book[name].iter_rows(values_only=True):
                if any(v is not None and str(v).strip() != "" for v in row):
                    rows.append(row)
                    limits.check_features(len(rows) - 1, file=display, layer=name)
            if rows:
                rows_by_sheet[name] = rows
    except NbgeoError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("xml", "openpyxl", "et_xmlfile", "zipfile", "zlib")) or isinstance(
                exc, (TypeError, AttributeError, IndexError, *ZIP_ERRORS)):
            msg = f"{location(display)}: damaged workbook content ({type(exc).__name__}: {str(exc)[:120]})"
            raise InputError(msg + " (hint: open and re-save it as .xlsx)", code="E-FILE-CORRUPT") from None
        raise
    finally:
        book.close()
    if sheet is None and len(rows_by_sheet) > 1:
        msg = (f"{location(display)}: {len(rows_by_sheet)} sheets hold data ({', '.join(rows_by_sheet)}); "
               "nbgeo will not guess")
        raise LayerError(msg + " (hint: name one: layer = \"SHEET\" in dataset.toml, or --layer SHEET)",
                         code="E-LAYER-AMBIGUOUS")
    if not rows_by_sheet:
        return pd.DataFrame(), sheet or (sheets[0] if sheets else "")
    name, rows = next(iter(rows_by_sheet.items()))
    width = max(len(r) for r in rows)
    header = [str(v).strip() if v is not None and str(v).strip() else f"column_{i + 1}"
              for i, v in enumerate(list(rows[0]) + [None] * (width - len(rows[0])))]
    body = [list(r) + [None] * (width - len(r)) for r in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=object)
    return df, name


def _pick_columns(df: pd.DataFrame, *, x: str | None, y: str | None, xy: str | None, file: str,
                  layer: str | None) -> tuple[str, str] | str:
    """The coordinate columns: ``(longitude, latitude)``, or the one column holding both ("121.55,29.87")."""
    names = [str(c) for c in df.columns]
    for given in (x, y, xy):
        if given is not None and given not in names:
            msg = f"{location(file, layer)}: no column {given!r}; columns: {', '.join(names)}"
            raise InputError(msg, code="E-COLUMN-MISSING")
    if xy is not None:
        return xy
    if x is not None and y is not None:
        return x, y
    norm = {c: _norm(c) for c in names}
    lon = x or next((c for c in names if norm[c] in _LON_NAMES - {"x"}), None) or next(
        (c for c in names if norm[c] == "x"), None)
    lat = y or next((c for c in names if norm[c] in _LAT_NAMES - {"y"}), None) or next(
        (c for c in names if norm[c] == "y"), None)
    if lon is not None and lat is not None:
        return lon, lat
    combined = next((c for c in names if norm[c] in _XY_NAMES), None)
    if combined is not None:
        return combined
    msg = (f"{location(file, layer)}: no coordinate columns found; columns: {', '.join(names) or '(none)'} "
           "(hint: name them lon/lat or 经度/纬度, or declare x_column and y_column in dataset.toml; for "
           "polygons or lines as WKT, declare geometry_column = \"...\" (--geometry-column for one file))")
    raise InputError(msg, code="E-COLUMN-MISSING")


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse numbers written as numbers or text; return (values, mask of unparseable non-empty cells)."""
    text = values.map(lambda v: v.strip().replace("，", ",") if isinstance(v, str) else v)
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    present = values.notna().to_numpy() & (text.astype(str).str.strip() != "").to_numpy()
    return parsed, present & np.isnan(parsed)


def _read_table(src: Source, *, layer: str | None, encoding: str | None, x: str | None, y: str | None,
                xy: str | None, geometry: str | None = None) -> ReadResult:

    file = src.display
    if src.suffix == ".csv":
        df, name = _read_csv(src, encoding=encoding), layer
    else:
        df, name = _read_xlsx(src, sheet=layer)
    limits.check_features(len(df), file=file, layer=name)
    df, problems = _plain_columns(df, file=file, layer=name)
    if df.empty:
        return ReadResult(gpd.GeoDataFrame(df, geometry=[], crs=None), problems, "table")
    ids = (df["id"] if "id" in df.columns else pd.Series(np.arange(2, len(df) + 2))).to_numpy()
    text_column = wkt.geometry_column(df, geometry, file=file, layer=name) if (
        geometry is not None or (x, y, xy) == (None, None, None)) else None
    if text_column is not None:  # WKT or hex WKB
        geoms, found = wkt.parse(df[text_column], ids, file=file, layer=name, column=text_column)
        problems += found
        data = df.drop(columns=[text_column])
    else:
        geoms, coordinates = _points(df, ids, problems, x=x, y=y, xy=xy, file=file, layer=name)
        data = df.drop(columns=coordinates)
    for column in data.columns:  # numbers stored as text become numbers; everything else stays text
        if column == "id":
            data[column] = data[column].map(lambda v: None if v is None else str(v).removesuffix(".0")
                                            if isinstance(v, float) else str(v))
            continue
        numeric = pd.to_numeric(data[column], errors="coerce")
        if data[column].notna().any() and numeric.notna().sum() == data[column].notna().sum():
            whole = numeric.dropna()
            exact = bool(((whole % 1 == 0) & (whole.abs() < 2**53)).all())
            data[column] = numeric.astype("Int64") if exact else numeric.astype(float)
    gdf = gpd.GeoDataFrame(data, geometry=geoms, crs=None)
    problems += _mojibake(gdf, file=file, layer=name, encoding=encoding)
    return ReadResult(gdf, problems, "table")


def _points(df: pd.DataFrame, ids: np.ndarray, problems: list[Problem], *, x: str | None, y: str | None,
            xy: str | None, file: str, layer: str | None) -> tuple[np.ndarray, list[str]]:
    """Points from the coordinate columns, and those columns; what is wrong with a cell goes to ``problems``."""
    name = layer
    picked = _pick_columns(df, x=x, y=y, xy=xy, file=file, layer=name)
    if isinstance(picked, str):  # one column holds both coordinates
        xy_col = lon_col = lat_col = picked
        split = df[xy_col].map(lambda v: re.split(r"[,，;\s]+", v.strip()) if isinstance(v, str) else [v, v]
                               if v is None else [str(v)])
        ok = split.map(len) == 2
        lon_raw = split.map(lambda p: p[0] if len(p) == 2 else "?")
        lat_raw = split.map(lambda p: p[1] if len(p) == 2 else "?")
        lon, bad_lon = _numbers(lon_raw.where(df[xy_col].notna(), None))
        lat, bad_lat = _numbers(lat_raw.where(df[xy_col].notna(), None))
        bad = bad_lon | bad_lat | (~ok.to_numpy() & df[xy_col].notna().to_numpy())
        columns = {xy_col: bad}
    else:
        lon_col, lat_col = picked
        lon, bad_lon = _numbers(df[lon_col])
        lat, bad_lat = _numbers(df[lat_col])
        columns = {lon_col: bad_lon, lat_col: bad_lat}
    for column, bad in columns.items():
        for row in np.flatnonzero(bad)[:20]:
            problems.append(Problem("E-VALUE-TYPE", f"coordinate {df[column].iloc[row]!r} is not a decimal number",
                                    file=file, layer=name, feature=ids[row], column=column,
                                    hint="write decimal degrees such as 121.5512 (no °, ′ or N/E letters)"))
        if bad.sum() > 20:
            problems.append(Problem("E-VALUE-TYPE", f"{int(bad.sum()) - 20} more coordinates are not numbers",
                                    file=file, layer=name, column=column))
    has_both = ~np.isnan(lon) & ~np.isnan(lat)
    geoms = np.full(len(df), None, dtype=object)
    geoms[has_both] = shapely.points(lon[has_both], lat[has_both])
    one_only = (~np.isnan(lon)) ^ (~np.isnan(lat))
    for row in np.flatnonzero(one_only)[:20]:
        problems.append(Problem("E-VALUE-MISSING", "only one of the two coordinates is given", file=file, layer=name,
                                feature=ids[row], column=lat_col if np.isnan(lat[row]) else lon_col,
                                hint="fill in both, or neither for a site with no location yet"))
    return geoms, list(columns)


# --- Public readers ---------------------------------------------------------------------------------

def _read_remote(url: str, *, layer: str | None) -> ReadResult:
    """Read a remote vector file (only with ``allow_network``), still through the driver allow-list."""
    suffix = PurePosixPath(url.split("?", 1)[0]).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None or fmt.driver is None or suffix == ".gdb":
        readable = ", ".join(s for s, f in FORMATS.items() if f.driver and s != ".gdb")
        msg = f"{url!r}: remote {suffix or 'files'} are not read; nbgeo reads remote {readable}"
        raise InputError(msg, code="E-FORMAT-FORBIDDEN")
    remote = url if url.startswith("/vsi") else f"/vsicurl/{url}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            info = pyogrio.read_info(remote, layer=layer)
            if info["driver"] != fmt.driver:
                msg = f"{url!r} was opened by GDAL's {info['driver']} driver, not {fmt.driver}; refusing it"
                raise InputError(msg, code="E-FORMAT-FORBIDDEN")
            limits.check_features(int(info["features"]), file=url, layer=layer)
            gdf = gpd.read_file(remote, layer=layer, engine="pyogrio", on_invalid="ignore")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
            said = "; ".join(dict.fromkeys(str(w.message) for w in caught))
            msg = f"{url!r} cannot be read: {exc}" + (f" ({said})" if said else "")
            raise InputError(msg + " (hint: is the address right and reachable?)", code="E-FILE-PARSE") from None
    return ReadResult(gdf, _gdal_problems(caught, file=url, layer=layer), "vector")


def read_any(path: str | Path, *, layer: str | None = None, encoding: str | None = None,
          allow_network: bool | None = None, repair: bool = False, x_column: str | None = None,
          y_column: str | None = None, xy_column: str | None = None, root: Path | None = None,
          mapping: fieldmap.FieldMap | None = None, geometry_column: str | None = None) -> ReadResult:
    """Read one layer and the problems found while reading it (without raising for them).

    ``root`` is the folder every file read must stay inside (the dataset folder). ``mapping`` (the
    manifest's ``columns``, ``values`` and ``units`` of the layer) renames, recodes and converts the layer as
    read, in memory, and reads the years and numbers of its schema's columns from the forms bureaus write them in
    (:func:`nbgeo.fieldmap.apply`).
    ``geometry_column`` names a table's WKT or hex WKB column (:mod:`nbgeo.io.wkt`).
    """
    result = _read_any(path, layer=layer, encoding=encoding, allow_network=allow_network, repair=repair,
                       x_column=x_column, y_column=y_column, xy_column=xy_column, root=root,
                       geometry_column=geometry_column)
    if mapping is None:
        return result
    gdf, problems = fieldmap.apply(result.gdf, mapping, file=str(path))
    return ReadResult(gdf, result.problems + problems, result.kind)


def _read_any(path: str | Path, *, layer: str | None, encoding: str | None, allow_network: bool | None,
              repair: bool, x_column: str | None, y_column: str | None, xy_column: str | None,
              root: Path | None, geometry_column: str | None = None) -> ReadResult:
    allow = settings.allow_network if allow_network is None else allow_network
    text = str(path)
    if allow and any(marker in text for marker in REMOTE_MARKERS):
        return _read_remote(text, layer=layer)
    p = check_path(path, allow_network=allow_network, root=root)
    suffix = p.suffix.lower()
    inner = layer
    if suffix == ".zip":
        src, inner = open_zip(p, layer=layer)
        member_head = b"" if src.is_folder else src.read()
        fmt = FORMATS[".gdb"] if src.is_folder else FORMATS[src.suffix]
        if member_head:
            if not member_head.strip():
                msg = f"file {src.display!r} is empty"
                raise InputError(msg, code="E-FILE-EMPTY")
            check_content(member_head, fmt, src.suffix, src.display)
    else:
        src = Source(path=p, display=str(path))
        fmt = FORMATS[suffix]
    try:
        if fmt.driver is None:
            return _read_table(src, layer=inner, encoding=encoding, x=x_column, y=y_column, xy=xy_column,
                               geometry=geometry_column)
        return _read_gdal(src, fmt, layer=inner, encoding=encoding, repair=repair)
    finally:
        src.close()


def read_layer(
    path: str | Path,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    allow_network: bool | None = None,
    assume_crs: object | None = None,
    repair: bool = False,
    x_column: str | None = None,
    y_column: str | None = None,
    xy_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one vector layer from a local file in an allowed format.

    Parameters
    ----------
    path
        A GeoJSON, GeoPackage, Shapefile, FlatGeobuf, FileGDB folder, zip
        archive holding one of those, CSV or Excel file.
    layer
        The layer inside a multi-layer file (GeoPackage, FileGDB, zip, Excel
        sheet); required when there are several.
    encoding
        Text encoding of a Shapefile without ``.cpg``, or of a CSV (e.g. ``"GBK"``).
    allow_network
        Allow remote paths (overrides ``settings.allow_network``).
    assume_crs
        The CRS to use when the file declares none (a Shapefile without
        ``.prj``, a table); the assumption is recorded as ``W-CRS-ASSUMED``.
    repair
        Close unclosed rings while reading (they are errors otherwise).
    x_column, y_column, xy_column
        For tables: the longitude and latitude columns, or one ``"lon,lat"``
        column. Found by name when not given.

    Returns
    -------
    geopandas.GeoDataFrame
        As stored: no reprojection and no datum conversion. Warnings found
        while reading are in ``gdf.attrs["nbgeo_problems"]``.

    Raises
    ------
    nbgeo.errors.ValidationError
        When features could not be read (all of them are listed).

    Examples
    --------
    >>> from nbgeo import datasets
    >>> g = read_layer(datasets.get_path("ningbo") / "districts.geojson")
    >>> len(g), g.crs.to_epsg()
    (10, 4326)
    >>> read_layer("/vsicurl/http://example.com/x.geojson")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: '/vsicurl/http://example.com/x.geojson' is a remote or GDAL virtual path; nbgeo reads only local files (hint: pass allow_network=True / --allow-network to read it)
    """
    result = read_any(path, layer=layer, encoding=encoding, allow_network=allow_network, repair=repair,
                   x_column=x_column, y_column=y_column, xy_column=xy_column)
    gdf, problems = result.gdf, result.problems
    if gdf.crs is None and assume_crs is not None:
        gdf = gdf.set_crs(parse_crs(assume_crs, what="assume_crs"))
        problems.append(Problem("W-CRS-ASSUMED", f"the file declares no CRS; assumed {gdf.crs.to_string()}",
                                file=str(path), layer=layer))
    raise_for_problems(problems, context=f"file {str(path)!r}")
    gdf.attrs["nbgeo_problems"] = [p.to_dict() for p in problems]
    return gdf
