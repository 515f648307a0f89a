"""Read a dataset: its manifest (:mod:`nbgeo.manifest`), then every layer, raster, road network and table.

A dataset on disk is a folder with one file per layer and a manifest,
``dataset.toml`` (its tables and keys: :mod:`nbgeo.manifest`). Every layer is
read through GDAL (:mod:`nbgeo.io.reading`) and validated; rasters are checked
from their header, road networks found (read when a measure by road needs
them), and yearly tables read (:mod:`nbgeo.io.tables`). The
:class:`~nbgeo.layers.Dataset` returned holds all four.

Examples
--------
>>> from nbgeo import datasets
>>> ds = read_dataset(datasets.get_path("ningbo"))
>>> "chargers" in ds.names, ds.layer("districts").meta.illustrative
(True, False)
>>> list(ds.networks), list(ds.tables), ds.tables["indicators"].years[0]
(['roads'], ['indicators'], 2020)
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import paths
from .._values import check_table
from ..crs import (
    convert_gdf_datum,
    dataset_crs_choice,
    gcj02_doubtful,
    gcj02_suspect,
    ningbo_outline,
    parse_crs,
)
from ..crs.offsets import normalise_datum
from ..datasets import get_path
from ..errors import InputError, NbgeoError, Problem
from ..fieldmap import FieldMap, unit_problem
from ..layers import LAYERS, Dataset, IndicatorTable, Layer, LayerMeta, NetworkFile, Raster
from ..manifest import REMOTE_MARKERS, SECTIONS, Manifest, is_shifted_datum, layer_meta, read_manifest
from ..raster import verify_raster
from ..validate import REPAIRABLE, raise_for_problems, repair_layer, verify_layer
from .reading import read_any
from .tables import read_table

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

__all__ = ["read_dataset", "read_file", "read_layer_keys", "read_manifest_table", "read_manifest_tables", "read_sample"]

log = logging.getLogger(__name__)


def _prepare(gdf: gpd.GeoDataFrame, meta: LayerMeta, *, file: str, assume_crs: object | None = None,
             table: bool = False, datum_declared: bool = True) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Set the CRS and the index; check the declared datum fits the coordinates."""
    problems: list[Problem] = []
    if gdf.crs is None and meta.crs:
        gdf = gdf.set_crs(meta.crs)
    elif gdf.crs is not None and meta.crs and not gdf.crs.equals(meta.crs):
        problems.append(Problem("E-CRS-MISMATCH", f"the file's CRS {gdf.crs.to_string()} differs from the "
                                f"manifest's {meta.crs}", file=file, layer=meta.name,
                                hint="correct the manifest's crs, or the file"))
    if table and not datum_declared:
        problems.append(Problem("E-CRS-DATUM", "coordinates in a table need a declared datum", file=file,
                                layer=meta.name, hint='add datum = "GCJ-02" (Amap, Tencent), "BD-09" (Baidu) or '
                                '"WGS84" (GPS, 天地图) to the layer in dataset.toml'))
    if gdf.crs is None and assume_crs is not None:
        gdf = gdf.set_crs(parse_crs(assume_crs, what="--assume-crs"))
        problems.append(Problem("W-CRS-ASSUMED", f"the file declares no CRS; assumed {gdf.crs.to_string()} "
                                "(--assume-crs)", file=file, layer=meta.name))
    elif gdf.crs is None and table and datum_declared:
        gdf = gdf.set_crs("EPSG:4490" if meta.datum.upper() == "CGCS2000" else "EPSG:4326")
    if "id" in gdf.columns:
        ids = gdf["id"]
        gdf = gdf.set_index(ids.astype(str).where(ids.notna(), None)).drop(columns="id")
        gdf.index.name = "id"
    else:
        problems.append(Problem("E-ID-MISSING", "the layer has no 'id' column", file=file, layer=meta.name,
                                column="id", hint="add a unique id per feature"))
    if gdf.crs is not None and is_shifted_datum(meta.datum) and not gdf.crs.is_geographic:
        problems.append(Problem("E-CRS-DATUM", f"datum {meta.datum} needs longitude/latitude coordinates, got "
                                f"{gdf.crs.to_string()}", file=file, layer=meta.name,
                                hint="GCJ-02 and BD-09 exist only as longitude/latitude"))
    return gdf, problems


def read_dataset(path: str | Path, *, allow_network: bool | None = None, encoding: str | None = None,
                 assume_crs: object | None = None, repair: bool = False, working_crs: object | None = None
                 ) -> Dataset:
    """Read a dataset folder (or its ``dataset.toml``), validate every layer, and return it.

    The manifest is read and checked once (:func:`nbgeo.manifest.read_manifest`).
    Every layer is validated in its own CRS, then converted to WGS 84 (its
    manifest ``datum``), reprojected to EPSG:4326 and indexed by its ``id``;
    rasters are checked from their header; road network files are found and
    tables read. Problems in all of them are collected and raised together as
    one :class:`~nbgeo.errors.ValidationError`; warnings (and, with ``repair``,
    every change made) are kept in ``Dataset.problems``, which the audit
    report lists.

    Parameters
    ----------
    path
        The dataset folder or its manifest.
    allow_network
        Allow remote paths in the manifest.
    encoding
        Encoding for Shapefiles without ``.cpg`` and CSV files whose layer
        declares none (``--encoding GBK``).
    assume_crs
        CRS for layers whose file and manifest declare none (``--assume-crs``).
    repair
        Repair invalid geometries with ``make_valid`` and list each change
        (``--repair``).
    working_crs
        The CRS to measure in (``--crs``); it wins over the manifest's
        ``[crs] working``. Without either, one is chosen from the extent of
        all layers (:func:`nbgeo.crs.choose_working_crs`); an extent too large
        to measure within 0.1 % is an ``E-CRS-EXTENT`` problem.

    Returns
    -------
    Dataset
        With its layers, rasters, road networks and tables.

    Examples
    --------
    >>> import pathlib, shutil, tempfile
    >>> from nbgeo import datasets
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "ds"
    >>> _ = shutil.copytree(datasets.get_path("ningbo"), d)
    >>> _ = (d / "indicators.csv").write_text("year,rd_share\\n2024,lots\\n")
    >>> read_dataset(d)
    Traceback (most recent call last):
    ...
    nbgeo.errors.ValidationError: dataset '...ds': 1 error(s)
      - [E-TABLE-VALUE] file 'indicators.csv', layer 'indicators': indicator table 'indicators.csv', line 2, column 'rd_share': 'lots' is not a number (hint: ...)
    """
    manifest = read_manifest(path)
    if not manifest.layers:
        msg = f"{manifest.path}: no [layers.NAME] tables"
        raise InputError(msg + " (hint: declare each layer as [layers.NAME] with file = \"...\")",
                         code="E-MANIFEST-KEY")
    layers, problems = _load_layers(manifest.layers, folder=manifest.folder, allow_network=allow_network,
                                    encoding=encoding, assume_crs=assume_crs, repair=repair,
                                    maps={name: manifest.field_map(name) for name in manifest.layers})
    rasters, networks, tables = read_manifest_tables(manifest, problems)
    declared, source = ((working_crs, "--crs") if working_crs is not None
                        else (manifest.working_crs, "dataset.toml [crs] working"))
    choice = dataset_crs_choice(layers, problems, override=declared, source=source, file=str(manifest.path))
    raise_for_problems(problems, context=f"dataset {str(manifest.path.parent)!r}")
    return Dataset(name=manifest.name, layers=layers, path=str(manifest.folder), title=manifest.title,
                   problems=tuple(problems), rasters=rasters, networks=networks, tables=tables, crs_choice=choice)


def read_manifest_tables(manifest: Manifest, problems: list[Problem]
                         ) -> tuple[dict[str, Raster], dict[str, NetworkFile], dict[str, IndicatorTable]]:
    """The rasters, road networks and tables a checked manifest declares; what is wrong goes to ``problems``.

    Rasters are checked from their header (the pixels stay on disk), road
    network files must be regular files inside the folder (they are read when
    a measure by road needs them), tables are read.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> problems = []
    >>> rasters, networks, tables = read_manifest_tables(read_manifest(datasets.get_path("ningbo")), problems)
    >>> list(rasters), networks["roads"].network_type, tables["indicators"].illustrative, problems
    (['dem'], 'drive', True, [])
    """
    folder = manifest.folder
    rasters: dict[str, Raster] = {}
    for name, raw in manifest.rasters.items():
        file = str(raw["file"])
        try:  # a regular file inside the folder, and so is every file GDAL could open beside it
            file_path = paths.resolve_input(folder / file, root=folder, what="file")
            paths.check_sidecars(file_path, root=folder, what="file")
        except InputError as exc:
            problems.append(Problem(exc.code, exc.message, file=file, layer=name))
            continue
        info, found = verify_raster(file_path, name=name, expected_crs=str(raw["crs"]) if "crs" in raw else None)
        problems += [replace(p, file=file) for p in found]
        if info is not None:
            meta = replace(manifest.raster_meta(name), crs=info.crs)
            rasters[name] = Raster(str(file_path), meta, crs=info.crs)
            log.info("Found raster %r: %d × %d cells in %s", name, info.width, info.height, info.crs)
    networks: dict[str, NetworkFile] = {}
    for name, net in manifest.network_files().items():
        try:  # read later, when a measure by road needs it; but it must be there, and be a file
            paths.resolve_input(net.path, root=folder, what="road network file")
        except InputError as exc:
            problems.append(Problem(exc.code, exc.message, file=net.meta.file, layer=name,
                                    hint="give the OSM extract (.osm.pbf), GraphML or GeoPackage of the roads"))
            continue
        networks[name] = net
    tables: dict[str, IndicatorTable] = {}
    for name in manifest.tables:
        try:
            tables[name] = read_manifest_table(manifest, name)
        except NbgeoError as exc:
            problems.append(Problem(exc.code, exc.message, file=str(manifest.tables[name]["file"]), layer=name))
    return rasters, networks, tables


def read_manifest_table(manifest: Manifest, name: str) -> IndicatorTable:
    """Read the table ``[tables.NAME]`` of a checked manifest, with its provenance.

    Raises
    ------
    nbgeo.errors.InputError, nbgeo.errors.DataError
        As :func:`nbgeo.io.tables.read_table`: the file is missing or a cell is not a number...

    Examples
    --------
    >>> from nbgeo import datasets
    >>> t = read_manifest_table(read_manifest(datasets.get_path("ningbo")), "indicators")
    >>> t.file, t.years[-1]
    ('indicators.csv', 2025)
    """
    raw = manifest.tables[name]
    table = read_table(manifest.file("tables", name), encoding=raw.get("encoding"),
                       source=str(raw.get("source", "unknown")), licence=str(raw.get("licence", "unknown")),
                       illustrative=bool(raw.get("illustrative", False)), note=str(raw.get("note", "")))
    log.info("Read table %r: %d years, %d columns", name, len(table.values), len(table.values.columns))
    return replace(table, file=str(raw["file"]))


def read_file(path: str | Path, *, kind: str | None = None, layer: str | None = None, datum: str | None = None,
              crs: str | None = None, allow_network: bool | None = None, encoding: str | None = None,
              assume_crs: object | None = None, repair: bool = False, x_column: str | None = None,
              y_column: str | None = None, xy_column: str | None = None, working_crs: object | None = None,
              geometry_column: str | None = None, columns: Mapping[str, str] | None = None,
              values: Mapping[str, Any] | None = None, mapping: str | Path | None = None,
              units: Mapping[str, str] | None = None) -> Dataset:
    """Read and validate one layer file as a one-layer dataset, exactly as :func:`read_dataset` would.

    A bureau's file keeps its own field names and codes: ``columns`` and ``values`` map them as in
    ``dataset.toml`` (:mod:`nbgeo.fieldmap`), so one file can be checked before a manifest is written; or
    ``mapping`` names a TOML file holding the keys of its future ``[layers.NAME]`` table (:func:`read_layer_keys`).

    Parameters
    ----------
    path
        The layer file.
    kind
        The layer kind whose schema applies (``"chargers"``, ...); default:
        the file's stem when it names a kind, else no schema.
    layer, datum, crs, x_column, y_column, xy_column, geometry_column, columns, values, units
        As the keys of a ``[layers.NAME]`` table in ``dataset.toml``; they win over the same keys of ``mapping``.
    mapping
        A TOML file of ``[layers.NAME]`` keys (``columns``, ``values``, ``datum``, ``encoding`` ...), no ``file``.
    allow_network, encoding, assume_crs, repair, working_crs
        As for :func:`read_dataset`.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> ds = read_file(datasets.get_path("ningbo") / "chargers.gpkg")
    >>> ds.names, ds.layer("chargers").meta.datum
    (('chargers',), 'WGS84')
    >>> read_file(datasets.get_path("ningbo") / "chargers.gpkg", columns={"kind": "类型"})
    Traceback (most recent call last):
    ...
    nbgeo.errors.ValidationError: file '...chargers.gpkg': 1 error(s)
      - [E-MAPPING-FIELD] file 'chargers.gpkg', layer 'chargers', column 'kind': --column: columns.kind = '类型': the file has no field '类型'...
    """
    p = Path(path)
    # The file's stem names the layer (and its repaired copy, NAME.gpkg): made safe when it is not.
    name = kind or (p.stem if p.stem in LAYERS else paths.slug(p.stem))
    raw: dict[str, Any] = {"file": p.name, "source": str(p)}
    lines: dict[str, str] = {}
    if mapping is not None:
        keys, lines = read_layer_keys(mapping)
        raw.update(keys)
    for key, value in (("layer", layer), ("datum", datum), ("crs", crs), ("x_column", x_column),
                       ("y_column", y_column), ("xy_column", xy_column), ("geometry_column", geometry_column)):
        if value is not None:
            raw[key] = value
    for key, given, option in (("columns", columns, "--column"), ("values", values, "--values"),
                               ("units", units, "--unit")):
        if given:
            checked = {**raw.get(key, {}), **given}
            found = unit_problem(name, checked) if key == "units" and all(
                isinstance(v, str) for v in checked.values()) else None
            if found is not None:  # as the manifest says it: the units of the column's dimension, the closest
                sub, code, wrong, hint = found
                msg = f"{option}: units.{sub} = {checked[sub]!r}: {wrong} (hint: {hint})"
                raise InputError(msg, code=code)
            problem = SECTIONS["layers"][key](checked)
            if problem:
                msg = f"{option}: {problem}"
                raise InputError(msg, code="E-MANIFEST-KEY")
            raw[key] = checked
            lines.update({f"{key}.{sub}": option for sub in given})
    if encoding is None and "encoding" in raw:
        encoding = str(raw["encoding"])
    fmap = FieldMap(layer=name, columns=dict(raw.get("columns", {})), values=dict(raw.get("values", {})),
                    units=dict(raw.get("units", {})), lines=lines)
    remote = any(marker in str(path) for marker in REMOTE_MARKERS)
    if remote:
        raw["file"] = str(path)
    folder = Path.cwd() if remote else p.parent.resolve()
    layers, problems = _load_layers({name: raw}, folder=folder, allow_network=allow_network, encoding=encoding,
                                    assume_crs=assume_crs, repair=repair, maps={name: fmap})
    choice = dataset_crs_choice(layers, problems, override=working_crs, source="--crs", file=str(path))
    raise_for_problems(problems, context=f"file {str(path)!r}")
    return Dataset(name=p.stem, layers=layers, path=str(folder), problems=tuple(problems), crs_choice=choice)


def read_layer_keys(path: str | Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a mapping file: the keys of one ``[layers.NAME]`` table of ``dataset.toml``, without ``file``.

    ``nbgeo validate FILE --mapping MAP.toml`` reads one bureau file with it before any manifest exists; the
    same lines then go under ``[layers.NAME]``. Each key is checked as the manifest checks it.

    Returns
    -------
    keys, lines
        The keys, and ``"columns.NAME"`` / ``"values.NAME"`` / ``"units.NAME"`` -> ``"MAP.toml, line N"`` for
        messages.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "map.toml"
    >>> _ = f.write_text('columns = { use = "地类编码" }\\nvalues.use = "gb_land_use_2023"\\n', encoding="utf-8")
    >>> keys, lines = read_layer_keys(f)
    >>> keys["columns"], lines["values.use"].split("/")[-1]
    ({'use': '地类编码'}, 'map.toml, line 2')
    >>> _ = f.write_text('file = "x.shp"\\n', encoding="utf-8")
    >>> read_layer_keys(f)
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: ...map.toml, line 1: file: a mapping file names no file: the file is the one validated...
    """
    p = Path(path)
    raw_bytes = paths.read_input(p, what="mapping file")
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        msg = f"{p}: not UTF-8 text"
        raise InputError(msg + " (hint: save the mapping file as UTF-8)", code="E-MANIFEST-SYNTAX") from None
    try:
        keys = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{p}: not valid TOML ({exc})"
        raise InputError(msg + " (hint: write the keys of a [layers.NAME] table, e.g. columns = { name = \"名称\" })",
                         code="E-MANIFEST-SYNTAX") from None
    rows = text.splitlines()

    def line_of(key: str, sub: str | None = None) -> str:
        words = [sub, key] if sub else [key]
        for word in words:
            for number, row in enumerate(rows, start=1):
                if re.match(rf'^\s*(\[\s*)?("?{re.escape(key)}"?\s*[.=\]])', row) and (
                        sub is None or re.search(rf'(^|[\s.{{,]){re.escape(word)}"?\s*=', row)):
                    return f"{p}, line {number}"
        return str(p)

    if "file" in keys:
        msg = f"{line_of('file')}: file: a mapping file names no file: the file is the one validated"
        raise InputError(msg, code="E-MANIFEST-KEY")
    problem = check_table(keys, {k: v for k, v in SECTIONS["layers"].items() if k != "file"})
    if problem:
        msg = f"{line_of(problem[0])}: {problem[0]}: {problem[1]}"
        raise InputError(msg, code="E-MANIFEST-KEY")
    lines = {f"{key}.{sub}": line_of(key, sub) for key in ("columns", "values", "units") for sub in keys.get(key, {})}
    return keys, lines


_FILE_PREFIX = re.compile(r"^file '[^']*'(, layer '[^']*')?: ")


def _load_layers(raw_layers: Mapping[str, Mapping[str, Any]], *, folder: Path, allow_network: bool | None,
                 encoding: str | None, assume_crs: object | None, repair: bool,
                 maps: Mapping[str, FieldMap] | None = None) -> tuple[dict[str, Layer], list[Problem]]:
    """Read, validate, repair if asked, and convert every layer of a checked manifest (:func:`read_manifest`).

    ``maps`` holds each layer's field and value mapping (the manifest's ``columns`` and ``values``);
    a layer without one still has its schema's columns recognised when a Shapefile cut them short.
    """
    layers: dict[str, Layer] = {}
    problems: list[Problem] = []
    for name, raw in raw_layers.items():
        fmap = (maps or {}).get(name) or FieldMap(layer=name)
        meta = replace(layer_meta(name, raw), mapping=tuple(fmap.describe()))
        file = str(raw["file"])
        file_path: str | Path = file
        if not any(marker in file for marker in REMOTE_MARKERS):
            file_path = (folder / file).resolve()
        table = Path(file).suffix.lower() in (".csv", ".xlsx")
        try:
            result = read_any(file_path, layer=raw.get("layer"), encoding=raw.get("encoding", encoding),
                           allow_network=allow_network, repair=repair, x_column=raw.get("x_column"),
                           y_column=raw.get("y_column"), xy_column=raw.get("xy_column"),
                           root=None if isinstance(file_path, str) else folder, mapping=fmap,
                           geometry_column=raw.get("geometry_column"))
        except NbgeoError as exc:
            more = [p for p in exc.problems if p.is_error] or [Problem(exc.code, exc.message)]
            problems += [Problem(p.code, _FILE_PREFIX.sub("", p.message), file=file, layer=name,
                                 feature=p.feature, column=p.column, hint=p.hint) for p in more]
            continue
        found = [Problem(p.code, p.message, file=file, layer=name, feature=p.feature, column=p.column,
                         hint=p.hint) for p in result.problems]
        gdf, prepared = _prepare(result.gdf, meta, file=file, assume_crs=assume_crs, table=table,
                                 datum_declared="datum" in raw)
        found += prepared
        basis = _datum_basis(raw, result.gdf, gdf, file=file)
        if basis == "file" and gdf.crs is not None and gdf.crs.datum is not None and "China 2000" in gdf.crs.datum.name:
            meta = replace(meta, datum="CGCS2000")
        meta = replace(meta, datum_basis=basis)
        checked = verify_layer(gdf, layer=name, file=file, datum=meta.datum)
        if repair and any(p.code in REPAIRABLE for p in checked):
            gdf, changes = repair_layer(gdf, layer=name, file=file)
            checked = changes + verify_layer(gdf, layer=name, file=file, datum=meta.datum)
        found += checked
        problems += found
        if not any(p.is_error for p in found) and gdf.crs is not None:
            if is_shifted_datum(meta.datum):
                problems += _gcj02_check(gdf, meta, file=file, declared=True)
                gdf = convert_gdf_datum(gdf, from_datum=meta.datum)
                log.info("Converted layer %r from %s to WGS 84", name, meta.datum)
            else:
                problems += _gcj02_check(gdf, meta, file=file, declared="datum" in raw)
            if not gdf.crs.equals("EPSG:4326"):
                gdf = gdf.to_crs(4326)
        layers[name] = Layer(gdf, meta)
        log.info("Read layer %r: %d features from %s", name, len(gdf), file)
    return layers, problems


_BASIS_TEXT = {"rfc7946": "GeoJSON: WGS 84 by RFC 7946", "file": "from the CRS the file declares",
               "manifest_crs": "from the manifest's crs", "assumed": "--assume-crs"}


def _datum_basis(raw: Mapping[str, Any], as_read: gpd.GeoDataFrame, prepared: gpd.GeoDataFrame, *,
                 file: str) -> str:
    """Where a layer's datum comes from (:attr:`nbgeo.layers.LayerMeta.datum_basis`), so none is silent."""
    if "datum" in raw:
        return "declared"
    if as_read.crs is not None:
        geojson = Path(file.split("?", maxsplit=1)[0]).suffix.lower() in (".geojson", ".json")
        return "rfc7946" if geojson and as_read.crs.equals("EPSG:4326") else "file"
    if prepared.crs is not None and raw.get("crs"):
        return "manifest_crs"
    return "assumed" if prepared.crs is not None else ""


def _gcj02_check(gdf: gpd.GeoDataFrame, meta: LayerMeta, *, file: str, declared: bool) -> list[Problem]:
    """Place a layer against the real districts (:mod:`nbgeo.crs.detect`), before any datum conversion.

    Read as WGS 84 but fitting only once converted: ``W-CRS-GCJ02-SUSPECT`` (``W-CRS-BD09-SUSPECT`` when
    the Baidu reading fits better). Declared GCJ-02 but fitting only
    as it is: ``W-CRS-GCJ02-DOUBTFUL`` (converting it moves it by the offset).
    """
    if len(gdf) == 0 or gdf.crs is None or not gdf.crs.is_geographic:
        return []
    table = f"[layers.{meta.name}] in dataset.toml (or --datum for one file)"
    if is_shifted_datum(meta.datum):
        if normalise_datum(meta.datum) != "GCJ-02":
            return []  # BD-09 is not tested
        doubt = gcj02_doubtful(gdf.geometry.values, ningbo_outline())
        if doubt is None:
            return []
        return [Problem("W-CRS-GCJ02-DOUBTFUL", f"{doubt.message}; the layer declares datum = \"GCJ-02\"",
                        file=file, layer=meta.name,
                        hint=f'if it comes from GPS, OpenStreetMap, 天地图 or a survey, declare datum = "WGS84" under '
                        f'{table}: as it stands nbgeo moves it about {doubt.offset_m:.0f} m')]
    suspicion = gcj02_suspect(gdf.geometry.values, ningbo_outline())
    if suspicion is None:
        return []
    said = (f'declares datum = "{meta.datum}"' if declared
            else f"declares no datum and is read as {meta.datum} ({_BASIS_TEXT.get(meta.datum_basis, 'assumed')})")
    code, source = (("W-CRS-BD09-SUSPECT", "Baidu") if suspicion.looks == "BD-09"
                    else ("W-CRS-GCJ02-SUSPECT", "Amap, Tencent or another Chinese web map"))
    return [Problem(code, f"{suspicion.message}; the layer {said}", file=file, layer=meta.name,
                    hint=f'if it comes from {source}, declare datum = "{suspicion.looks}" under {table}: nbgeo '
                    'converts it to WGS 84')]


def read_sample() -> Dataset:
    """Read the embedded Ningbo sample dataset (illustrative except for the districts).

    Examples
    --------
    >>> ds = read_sample()
    >>> len(ds["districts"]), sorted(ds.networks), sorted(ds.tables)
    (10, ['roads'], ['indicators'])
    """
    return read_dataset(get_path("ningbo"))
