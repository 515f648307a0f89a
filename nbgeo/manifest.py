"""The one reader of ``dataset.toml``: every table, key and value checked in one place.

A dataset folder holds one file per layer and a manifest, ``dataset.toml``,
giving each layer, raster, road network and table its file and provenance::

    [dataset]
    name = "ningbo-sample"
    title = "..."

    [crs]                   # optional: the CRS lengths, areas and distances are measured in
    working = "EPSG:4549"

    [layers.chargers]       # file, source, licence, datum, crs, illustrative, note,
    file = "chargers.gpkg"  # layer, encoding, x_column, y_column, xy_column, geometry_column,
                            # columns, values, units
    datum = "GCJ-02"
    columns = { type = "类型", ports = "充电枪数" }   # a column of ours = the file's field
    values.type = { charging = ["充电站", "充电桩"], swapping = ["换电站"] }

    [layers.micro_parks]
    file = "小微企业园.gpkg"
    columns = { area = "用地面积" }
    units = { area = "亩" }  # converted on read to the column's unit (m²)

    [rasters.dem]           # file, source, licence, datum, crs, illustrative, note
    file = "dem.tif"

    [networks.roads]        # file, source, licence, datum, crs, illustrative, note, network_type
    file = "roads.osm.pbf"

    [tables.indicators]     # file, source, licence, illustrative, note, encoding
    file = "indicators.csv"

:func:`read_manifest` parses it and checks every value's type and range
(with the value schema of :mod:`nbgeo._values`), every key against the keys
its table allows, every datum and CRS, and that every file named lies inside
the folder; a problem is an :class:`~nbgeo.errors.InputError` naming the
manifest, the line, the table and the key. The result, a :class:`Manifest`,
is what the readers use (:func:`nbgeo.io.read_dataset`, the road networks of
:mod:`nbgeo.network`, the indicator tables): none of them parses the file again.

This module sits below :mod:`nbgeo.network` and :mod:`nbgeo.io` in the import
flow, so both can use it; :mod:`nbgeo.io` re-exports it.

Examples
--------
>>> from nbgeo import datasets
>>> m = read_manifest(datasets.get_path("ningbo"))
>>> m.name, list(m.networks), list(m.tables), m.layer_meta("chargers").illustrative
('ningbo-sample', ['roads'], ['indicators'], True)
>>> m.network_files()["roads"].meta.illustrative
True
"""

from __future__ import annotations

import codecs
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths
from ._values import Check, TomlLines, check_table, choice, flag, text, type_name
from .crs import DATUMS, parse_crs
from .errors import CRSError, InputError
from .fieldmap import FieldMap, check_columns, check_units, check_values, unit_problem
from .layers import LayerMeta, NetworkFile

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MANIFEST_NAME",
    "REMOTE_MARKERS",
    "SECTIONS",
    "Manifest",
    "document_kind",
    "is_shifted_datum",
    "layer_meta",
    "manifest_path",
    "read_manifest",
    "toml_key",
]

#: The manifest's file name inside a dataset folder.
MANIFEST_NAME = "dataset.toml"

#: Markers of a remote or GDAL virtual path (refused unless the network is allowed).
REMOTE_MARKERS = ("://", "/vsi", ":::")


def _encoding(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"must be the name of a text encoding (utf-8, gbk, ...), got {value!r} ({type_name(value)})"
    try:
        codecs.lookup(value)
    except LookupError:
        return f"must be the name of a text encoding (utf-8, gbk, ...), got {value!r}, which Python does not know"
    return None


def _datum(*allowed: str) -> Check:
    """One of the datums ``allowed`` (case, ``-`` and ``_`` ignored)."""
    forms = {d.upper().replace("-", "").replace("_", "") for d in allowed}

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be a datum ({', '.join(allowed)}), got {value!r} ({type_name(value)})"
        if value.upper().replace("-", "").replace("_", "") not in forms:
            return f"must be one of {', '.join(allowed)}, got {value!r}"
        return None

    return check


_NAME, _TEXT = text(nonempty=True), text()
_PROVENANCE: dict[str, Check] = {"file": _NAME, "source": _TEXT, "licence": _TEXT, "note": _TEXT,
                                 "illustrative": flag()}
_FLAT = ("WGS84", "CGCS2000")  # datums a raster or a network may be in: GCJ-02 / BD-09 shift points, not grids

#: Every table of a manifest and the check of every key it allows.
SECTIONS: dict[str, dict[str, Check]] = {
    "dataset": {"name": _NAME, "title": _TEXT, "description": _TEXT},
    "crs": {"working": _NAME},  # the working CRS: one table, not one per name
    "layers": {**_PROVENANCE, "datum": _datum(*DATUMS), "crs": _NAME, "layer": _NAME, "encoding": _encoding,
               "x_column": _NAME, "y_column": _NAME, "xy_column": _NAME, "geometry_column": _NAME, "columns": check_columns,
               "values": check_values, "units": check_units},
    "rasters": {**_PROVENANCE, "datum": _datum(*_FLAT), "crs": _NAME},
    "networks": {**_PROVENANCE, "datum": _datum(*_FLAT), "crs": _NAME,
                 "network_type": choice("drive", "drive_service")},
    "tables": {**_PROVENANCE, "encoding": _encoding},
}
_NAMED = ("layers", "rasters", "networks", "tables")  # sections of [section.NAME] tables, each with a file
_HINTS = {
    "datum": "Beijing 1954 and Xi'an 1980 data must be transformed to CGCS2000 first, with the parameters of its "
             "survey; rasters and road networks must be in WGS84 or CGCS2000",
}


def toml_key(name: str) -> str:
    """A name as a TOML key: bare when it can be, else a quoted string.

    Examples
    --------
    >>> toml_key("chargers"), toml_key("充电桩")
    ('chargers', '"充电桩"')
    """
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def manifest_path(path: str | Path) -> Path:
    """The manifest of a dataset given as its folder or as the manifest itself.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> manifest_path(datasets.get_path("ningbo")).name
    'dataset.toml'
    """
    root = Path(path)
    return root / MANIFEST_NAME if root.is_dir() else root


@dataclass(frozen=True)
class Manifest:
    """A checked ``dataset.toml``: its tables, keyed by name, every value of the right type and range.

    Attributes
    ----------
    path
        The manifest file.
    text
        Its text (for the line of a later problem).
    dataset
        The ``[dataset]`` table (``name``, ``title``, ``description``).
    working_crs
        ``[crs] working``, or None.
    layers, rasters, networks, tables
        The ``[layers.NAME]``... tables, in manifest order.
    """

    path: Path
    text: str = ""
    dataset: Mapping[str, Any] = field(default_factory=dict)
    working_crs: str | None = None
    layers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    rasters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    networks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The dataset folder (the manifest's, resolved)."""
        return self.path.parent.resolve()

    @property
    def name(self) -> str:
        """The dataset's name: ``[dataset] name``, else the folder's."""
        return str(self.dataset.get("name") or self.folder.name)

    @property
    def title(self) -> str:
        """The dataset's title, or ``""``."""
        return str(self.dataset.get("title", ""))

    def where(self, section: str, name: str | None = None, key: str | None = None) -> str:
        """``FILE, line N: [section.NAME]`` for a message about that table (and key).

        Examples
        --------
        >>> from nbgeo import datasets
        >>> read_manifest(datasets.get_path("ningbo")).where("tables", "indicators").split(": ")[-1]
        '[tables.indicators]'
        """
        table = section if name is None else f"{section}.{name}"
        line = TomlLines(self.text).line(table, None, key) or (_name_line(self.text, section, name) if name else None)
        head = f"{self.path}, line {line}" if line else str(self.path)
        shown = section if name is None else f"{section}.{toml_key(name)}"
        return f"{head}: [{shown}]" + (f", key {key!r}" if key else "")

    def file(self, section: str, name: str) -> Path:
        """The local file a ``[section.NAME]`` table names, resolved inside the dataset folder (not yet opened)."""
        return (self.folder / str(self[section][name]["file"])).resolve()

    def __getitem__(self, section: str) -> Mapping[str, Mapping[str, Any]]:
        if section not in _NAMED:
            msg = f"a manifest has no {section!r} section of named tables; known: {', '.join(_NAMED)}"
            raise KeyError(msg)
        found: Mapping[str, Mapping[str, Any]] = getattr(self, section)
        return found

    def layer_meta(self, name: str) -> LayerMeta:
        """The provenance of layer ``name`` as the manifest declares it."""
        return _meta(name, self.layers[name])

    def field_map(self, name: str) -> FieldMap:
        """The ``columns``, ``values`` and ``units`` of layer ``name`` (empty when it declares none), with their lines.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "dataset.toml").write_text('[layers.parcels]\\nfile = "p.shp"\\ncolumns = { use = "DLBM" }\\n'
        ...                                     'values.use = "gb_t_21010_2017"\\n', encoding="utf-8")
        >>> fm = read_manifest(d).field_map("parcels")
        >>> fm.columns, fm.where("values.use").split("/")[-1]
        ({'use': 'DLBM'}, 'dataset.toml, line 4: values.use')
        """
        raw = self.layers[name]
        columns, values, units = (dict(raw.get(key, {})) for key in ("columns", "values", "units"))
        lines = {f"{key}.{sub}": self.key_line("layers", name, key, sub)
                 for key, table in (("columns", columns), ("values", values), ("units", units)) for sub in table}
        return FieldMap(layer=name, columns=columns, values=values, units=units, lines=lines)

    def key_line(self, section: str, name: str, key: str, sub: str | None = None) -> str:
        """``FILE, line N`` of ``key`` (or ``key.sub``) in ``[section.NAME]``: dotted, inline or in a sub-table."""
        lines = self.text.splitlines()
        start = (_name_line(self.text, section, name) or 1) - 1
        own = re.compile(rf"^\s*\[\s*{section}\s*\.\s*{_quoted(name)}\s*[\].]")
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")
                    and not own.match(lines[i])), len(lines))
        k = _quoted(key)
        patterns = []
        if sub is not None:
            s = _quoted(sub)
            patterns += [rf"^\s*{k}\s*\.\s*{s}\s*[.=]",  # values.use = ...
                         rf"^\s*{k}\s*=.*(?<![\w.]){s}\s*=",  # columns = { use = ... }
                         rf"^\s*\[.*\.\s*{k}\s*\]"]  # [layers.NAME.values], then use = ...
        patterns.append(rf"^\s*{k}\s*[.=]")
        for pattern in patterns:
            found = next((i for i in range(start, end) if re.search(pattern, lines[i])), None)
            if found is not None and pattern.endswith("\\]"):  # a sub-table: the key's own line in it
                found = next((i for i in range(found + 1, end) if re.search(rf"^\s*{_quoted(str(sub))}\s*=",
                                                                              lines[i])), found)
            if found is not None:
                return f"{self.path}, line {found + 1}"
        return f"{self.path}, line {start + 1}"

    def raster_meta(self, name: str) -> LayerMeta:
        """The provenance of raster ``name`` as the manifest declares it."""
        return _meta(name, self.rasters[name])

    def network_files(self) -> dict[str, NetworkFile]:
        """The road networks ``[networks.NAME]`` declares, their files resolved in the dataset folder."""
        out = {}
        for name, raw in self.networks.items():
            meta = _meta(name, raw, crs_default="EPSG:4326")
            out[name] = NetworkFile(path=str(self.file("networks", name)), meta=meta,
                                    network_type=str(raw.get("network_type", "drive")),
                                    declared_crs=str(raw["crs"]) if "crs" in raw else None)
        return out


def is_shifted_datum(datum: str) -> bool:
    """Whether ``datum`` is one of the shifted web-map datums (GCJ-02, BD-09), which nbgeo converts to WGS 84.

    Examples
    --------
    >>> is_shifted_datum("gcj_02"), is_shifted_datum("CGCS2000")
    (True, False)
    """
    return datum.upper().replace("_", "-") in ("GCJ-02", "GCJ02", "BD-09", "BD09")


def layer_meta(name: str, raw: Mapping[str, Any]) -> LayerMeta:
    """The provenance a checked ``[layers.NAME]`` (or ``[rasters.NAME]``) table declares.

    Examples
    --------
    >>> layer_meta("chargers", {"file": "c.gpkg", "datum": "GCJ-02"}).licence
    'unknown'
    """
    return _meta(name, raw)


def _meta(name: str, raw: Mapping[str, Any], *, crs_default: str = "") -> LayerMeta:
    return LayerMeta(name=name, file=str(raw["file"]), source=str(raw.get("source", "unknown")),
                     licence=str(raw.get("licence", "unknown")), datum=str(raw.get("datum", "WGS84")),
                     crs=str(raw.get("crs", crs_default)), illustrative=bool(raw.get("illustrative", False)),
                     note=str(raw.get("note", "")))


def _quoted(word: str) -> str:
    """A pattern for a TOML key, bare or quoted."""
    return rf"[\"']?{re.escape(word)}[\"']?"


def _name_line(text: str, table: str, name: str) -> int | None:
    """The line of ``[table.NAME]`` in a manifest (or of the first dotted key or inline table naming it)."""
    forms = {json.dumps(name, ensure_ascii=False), f"'{name}'"}
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        forms.add(name)
    alternatives = "|".join(re.escape(f) for f in forms)
    header = re.compile(rf"^\s*\[\s*{table}\s*\.\s*(?:{alternatives})\s*[\].]")
    dotted = re.compile(rf"^\s*{table}\s*\.\s*(?:{alternatives})\s*[.=]")
    lines = text.splitlines()
    for pattern in (header, dotted):
        for number, line in enumerate(lines, 1):
            if pattern.match(line):
                return number
    return next((number for number, line in enumerate(lines, 1) if any(f in line for f in forms if f)), None)


def read_manifest(path: str | Path) -> Manifest:
    """Read and check a dataset manifest (the folder or its ``dataset.toml``).

    Every key of every table is checked: its type and range, that the table
    allows it, that a datum is one nbgeo converts and a CRS one pyproj knows,
    that every named table has a ``file`` inside the dataset folder (a layer
    file may be remote: whether it may be read is the reader's decision,
    :func:`nbgeo.io.read_dataset`'s ``allow_network``), and that names can become file names.

    Parameters
    ----------
    path
        The dataset folder or its manifest.

    Returns
    -------
    Manifest

    Raises
    ------
    nbgeo.errors.InputError
        ``E-MANIFEST-MISSING``, ``E-MANIFEST-SYNTAX``, ``E-MANIFEST-KEY``, ``E-UNIT-UNKNOWN``,
        ``E-UNIT-DIMENSION``, ``E-PATH-OUTSIDE``, ``E-PATH-CONTROL``; ``nbgeo.errors.CRSError`` ``E-CRS-INVALID`` / ``E-CRS-DATUM``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "dataset.toml").write_text('[tables.indicators]\\nfile = "ind.csv"\\nencoding = "klingon"\\n')
    >>> read_manifest(d)
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: .../dataset.toml, line 3: [tables.indicators], key 'encoding': must be the name of a text encoding (utf-8, gbk, ...), got 'klingon', which Python does not know
    """
    manifest = manifest_path(path)
    if not manifest.exists():
        msg = f"no dataset manifest at {str(manifest)!r}"
        raise InputError(msg + " (hint: a dataset is a folder with dataset.toml and one file per layer)",
                         code="E-MANIFEST-MISSING")
    # A regular file inside the dataset folder, read without blocking: never a pipe, /dev/zero or a link out.
    raw = paths.read_input(manifest, root=manifest.parent, what="dataset manifest")
    try:
        source = raw.decode("utf-8")
        data = tomllib.loads(source)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{manifest}: not a valid TOML manifest: {exc}"
        raise InputError(msg, code="E-MANIFEST-SYNTAX") from None
    shell = Manifest(path=manifest, text=source)
    _check_sections(shell, data)
    named = {section: dict(data.get(section, {})) for section in _NAMED}
    for section, entries in named.items():
        for name, keys in entries.items():
            _check_entry(shell, section, name, keys)
    return Manifest(path=manifest, text=source, dataset=dict(data.get("dataset", {})),
                    working_crs=data.get("crs", {}).get("working"), **named)


def document_kind(path: str | Path) -> str:
    """Whether ``path`` is a dataset (its folder or manifest) or a plan file: ``"dataset"`` or ``"plan"``.

    A folder is a dataset; a TOML file is a plan when it has a ``[plan]`` table and a dataset manifest when it
    has ``[dataset]`` or ``[layers.*]`` tables. It is read as every input is (a regular file, size-limited).

    Examples
    --------
    >>> from nbgeo import datasets
    >>> document_kind(datasets.get_path("ningbo")), document_kind(datasets.get_path("ningbo_2025"))
    ('dataset', 'plan')
    """
    path = Path(path)
    if path.is_dir():
        return "dataset"
    if not path.exists():
        msg = f"{str(path)!r} does not exist; give a dataset folder, its dataset.toml, or a plan file"
        raise InputError(msg, code="E-FILE-MISSING")
    if path.suffix.lower() != ".toml":
        msg = f"{str(path)!r} is neither a dataset (folder or dataset.toml) nor a plan (.toml)"
        raise InputError(msg, code="E-INPUT")
    try:  # a regular file, read without blocking: a named pipe or a device is refused
        data = tomllib.loads(paths.read_input(path, what="scenario").decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path}: not valid TOML: {exc}"
        raise InputError(msg, code="E-PLAN-SYNTAX") from None
    if "plan" in data:
        return "plan"
    if "layers" in data or "dataset" in data:
        return "dataset"
    msg = f"{path}: has neither a [plan] table (a plan) nor [layers.*] tables (a dataset manifest)"
    raise InputError(msg, code="E-INPUT")


def _fail(m: Manifest, section: str, name: str | None, key: str | None, problem: str, *,
          code: str = "E-MANIFEST-KEY", hint: str = "") -> InputError:
    message = f"{m.where(section, name, key)}: {problem}" + (f" (hint: {hint})" if hint else "")
    if code in {"E-CRS-DATUM", "E-CRS-INVALID"}:
        return CRSError(message, code=code)
    return InputError(message, code=code)


def _check_sections(m: Manifest, data: dict[str, Any]) -> None:
    """The top level: known tables, each a table (of tables, for the named sections), every value checked."""
    for section, value in data.items():
        if section not in SECTIONS:
            raise _fail(m, section, None, None, "unknown table", hint="tables: [dataset], [crs], [layers.NAME], "
                        "[rasters.NAME], [tables.NAME], [networks.NAME]")
        if not isinstance(value, dict):
            raise _fail(m, section, None, None, f"must be a table, got {type_name(value)}")
        if section in _NAMED:
            for name, keys in value.items():
                if not isinstance(keys, dict):
                    raise _fail(m, section, name, None, f"must be a table of keys, got {type_name(keys)}",
                                hint=f"write it as [{section}.{toml_key(name)}] followed by file = \"...\" and "
                                "the other keys")
                try:
                    paths.check_name(name, what=f"{section[:-1]} name")
                except InputError as exc:
                    raise _fail(m, section, name, None, exc.message, code=exc.code) from None
        else:
            problem = check_table(value, SECTIONS[section])
            if problem:
                raise _fail(m, section, None, *problem)
            if "working" in value:
                _check_crs(m, section, None, "working", value["working"])


def _check_crs(m: Manifest, section: str, name: str | None, key: str, value: object) -> None:
    try:
        parse_crs(value, what=key)
    except CRSError as exc:
        raise _fail(m, section, name, key, exc.message, code="E-CRS-INVALID") from None


def _check_units(m: Manifest, section: str, name: str, units: Mapping[str, str]) -> None:
    """Each unit of ``units`` against its column: one nbgeo knows, of the column's dimension (亩 for an area)."""
    found = unit_problem(name, units)
    if found is not None:
        sub, code, problem, hint = found
        message = (f"{m.key_line(section, name, 'units', sub)}: [{section}.{toml_key(name)}], key "
                   f"'units.{sub}' = {units[sub]!r}: {problem} (hint: {hint})")
        raise InputError(message, code=code)


def _check_entry(m: Manifest, section: str, name: str, keys: Mapping[str, Any]) -> None:
    """One ``[section.NAME]`` table: its keys, values, datum, CRS and file."""
    for key, value in keys.items():
        check = SECTIONS[section].get(key)
        if check is None:
            raise _fail(m, section, name, key, f"unknown key; known: {', '.join(sorted(SECTIONS[section]))}")
        if key == "units" and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            _check_units(m, section, name, value)
        problem = check(value)
        if problem:
            code, hint = ("E-CRS-DATUM", _HINTS["datum"]) if key == "datum" and isinstance(value, str) else (
                "E-MANIFEST-KEY", "")
            raise _fail(m, section, name, key, problem, code=code, hint=hint)
    if "file" not in keys:
        raise _fail(m, section, name, None, "missing key 'file' (a path relative to the manifest)")
    if "crs" in keys:
        _check_crs(m, section, name, "crs", keys["crs"])
    file = str(keys["file"])
    if section == "layers" and any(marker in file for marker in REMOTE_MARKERS):
        return  # a remote layer: the reader decides (allow_network), and checks it
    control = paths.control_character(file)
    if control:
        raise _fail(m, section, name, "file", f"file {file!r} holds a control character ({control}), so GDAL "
                    "might open another file than the one nbgeo checks", code="E-PATH-CONTROL",
                    hint="rename the file without it")
    if m.folder not in (m.folder / file).resolve().parents:
        raise _fail(m, section, name, "file", f"file {file!r} lies outside the dataset folder",
                    code="E-PATH-OUTSIDE", hint="copy the file into the dataset folder")
