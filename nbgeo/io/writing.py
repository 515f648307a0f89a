"""Write layers and datasets: GeoJSON and GeoPackage files, a dataset folder with its manifest, atomically.

:func:`write_layer` writes one layer; :func:`write_dataset` writes a whole
:class:`~nbgeo.layers.Dataset` (layers, rasters, road networks and tables)
as a folder that :func:`nbgeo.io.read_dataset` reads back equal. Both refuse
to replace an existing file or folder unless ``overwrite=True``: a writer
never clobbers a user's file by default (``E-IO-EXISTS``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from .. import paths
from .._atomic import atomic_dir, atomic_path, check_overwrite
from ..errors import DataError, GeometryError, InputError, NbgeoWarning, OutputError
from ..fieldmap import SHAPEFILE_NAME_LENGTH
from ..layers import Dataset, IndicatorTable
from ..manifest import MANIFEST_NAME, is_shifted_datum, toml_key
from .tables import table_csv

if TYPE_CHECKING:

    import geopandas as gpd

log = logging.getLogger(__name__)

__all__ = ["check_table_for_writing", "save_dataset", "save_layer", "write_dataset", "write_layer"]

_WRITERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}


SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg")  # written beside the .shp, replaced before it
SHAPEFILE_TEXT_BYTES = 254  # the longest text a dBase field holds


def _cut_bytes(text: str, size: int, encoding: str) -> str:
    """``text`` cut to at most ``size`` bytes in ``encoding``, between characters (never half a character)."""
    return text.encode(encoding, errors="replace")[:size].decode(encoding, errors="ignore")


def _shapefile_texts(out: gpd.GeoDataFrame, encoding: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """``out`` with texts longer than a ``.dbf`` holds cut between characters, and ``column (N values)`` of each.

    GDAL cuts such a text at its 254th byte without a word, in the middle of a character in UTF-8;
    nbgeo cuts first and says so. Only the long values are cut one by one.
    """
    cut: list[str] = []
    for column in out.columns:
        if column == out.geometry.name or not (out[column].dtype == object or pd.api.types.is_string_dtype(out[column])):
            continue
        text = out[column]
        size = text.astype(str).str.encode(encoding, errors="replace").str.len()
        long = text.notna() & size.gt(SHAPEFILE_TEXT_BYTES)
        if long.any():
            out = out.copy() if not cut else out
            out[column] = text.where(~long, text[long].map(lambda v: _cut_bytes(str(v), SHAPEFILE_TEXT_BYTES, encoding)))
            cut.append(f"{column} ({int(long.sum()):,} value(s))")
    return out, cut


def _shapefile_names(names: list[str], encoding: str) -> list[str]:
    """Field names a ``.dbf`` holds: at most 10 bytes in ``encoding``, cut between characters, made unique.

    GDAL cuts at the 10th byte, which splits a Chinese character in UTF-8
    (3 bytes each) and leaves a name no reader can decode; nbgeo cuts first.
    A name cut to one already taken ends in ``_1``, ``_2`` ... instead.
    """
    def cut(name: str, size: int) -> str:
        return _cut_bytes(name, size, encoding)

    taken: set[str] = set()
    out = []
    for name in names:
        short, n = cut(name, SHAPEFILE_NAME_LENGTH), 0
        while short.lower() in taken:  # dBase field names are case-insensitive
            n += 1
            short = cut(name, SHAPEFILE_NAME_LENGTH - len(f"_{n}")) + f"_{n}"
        taken.add(short.lower())
        out.append(short)
    return out


def _write_shapefile(out: gpd.GeoDataFrame, final: Path, *, layer: str, overwrite: bool,
                     encoding: str) -> Path:
    """Write ``out`` as the Shapefile set ``final`` (.shp, .shx, .dbf, .prj, .cpg), warning what it renamed.

    GDAL writes the set under a temporary name beside ``final``; the parts
    replace their files first and the ``.shp`` last, so a reader never opens a
    new ``.shp`` with an old ``.dbf``. The field names are read back from the
    written ``.dbf``: the warning lists exactly what was cut (10 bytes in
    ``encoding``, between characters) or numbered.
    """
    for member in (final, *(final.with_suffix(suffix) for suffix in SHAPEFILE_PARTS)):
        check_overwrite(member, overwrite=overwrite)
    out, long_texts = _shapefile_texts(out, encoding)
    ours = [str(c) for c in out.columns if c != out.geometry.name]
    short = _shapefile_names(ours, encoding)
    out = out.rename(columns=dict(zip(ours, short, strict=True)))
    with atomic_path(final, overwrite=overwrite, suffix=".shp") as tmp:
        tmp.unlink()  # GDAL creates the file itself
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pyogrio.write_dataframe(out, tmp, driver="ESRI Shapefile", layer=layer, encoding=encoding)
            theirs = [str(f) for f in pyogrio.read_info(tmp, encoding=encoding)["fields"]]  # as written
            for suffix in SHAPEFILE_PARTS:
                part, target = tmp.with_suffix(suffix), final.with_suffix(suffix)
                if part.exists():
                    with open(part, "rb+") as fh:
                        os.fsync(fh.fileno())
                    os.replace(part, target)
                elif target.exists():  # a part the old set had and this one has not
                    target.unlink()
        except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, pyogrio.errors.GeometryError,
                pyogrio.errors.FeatureError, pyogrio.errors.CRSError) as exc:
            msg = (f"could not write {str(final)!r} as a Shapefile: {exc}; the previous files, if any, are "
                   "unchanged (hint: a Shapefile holds one geometry type; write .gpkg)")
            raise OutputError(msg, code="E-IO-WRITE") from None
        finally:
            for suffix in SHAPEFILE_PARTS:
                tmp.with_suffix(suffix).unlink(missing_ok=True)
    for w in caught:
        if not issubclass(w.category, ResourceWarning):
            log.warning("writing %s: %s", final, w.message)
    cuts = [f"{a} -> {b}" for a, b in zip(ours, theirs, strict=False) if a != b]
    if cuts:
        warnings.warn(f"W-IO-SHAPEFILE-NAMES: {final}: a Shapefile holds field names of at most "
                      f"{SHAPEFILE_NAME_LENGTH} bytes, so {len(cuts)} field(s) were renamed: {', '.join(cuts)}. "
                      "Reading it back into nbgeo needs this column mapping in its dataset.toml entry: "
                      f"columns = {{ {_mapping_example(cuts)} }} (hint: write .gpkg to keep the names)",
                      NbgeoWarning, stacklevel=3)
    if long_texts:
        warnings.warn(f"W-IO-SHAPEFILE-TEXT: {final}: a Shapefile holds texts of at most {SHAPEFILE_TEXT_BYTES} "
                      f"bytes, so longer ones were cut (between characters): {', '.join(long_texts)} "
                      "(hint: write .gpkg to keep them whole)", NbgeoWarning, stacklevel=3)
    return final


def _mapping_example(cuts: list[str]) -> str:
    pairs = [c.split(" -> ") for c in cuts]
    return ", ".join(f"{toml_key(a)} = {json.dumps(b, ensure_ascii=False)}" for a, b in pairs)


def _prepared_for_writing(gdf: gpd.GeoDataFrame, driver: str, *, display: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        msg = f"cannot write {display!r}: the layer has no CRS (hint: set one first)"
        raise OutputError(msg, code="E-CRS-MISSING")
    out = gdf.to_crs(4326) if driver == "GeoJSON" and not gdf.crs.equals("EPSG:4326") else gdf.copy()
    geoms = np.asarray(out.geometry.values)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = np.unique(index[~np.isfinite(coords).all(axis=1)])
    if len(bad):
        ids = out.index.to_numpy()[bad][:10]
        msg = (f"cannot write {display!r}: features {', '.join(map(repr, ids))} have NaN or infinite coordinates, "
               "which GeoJSON and GeoPackage cannot hold (hint: validate and fix them first)")
        raise GeometryError(msg, code="E-GEOM-NONFINITE")
    present = ~shapely.is_missing(geoms)
    present[present] = ~shapely.is_empty(geoms[present])
    invalid = np.flatnonzero(present)[~shapely.is_valid(geoms[present])]
    if len(invalid):
        ids = out.index.to_numpy()[invalid][:10]
        msg = (f"cannot write {display!r}: features {', '.join(map(repr, ids))} have invalid geometries, which "
               "writers may alter silently (hint: validate them and repair with make_valid first)")
        raise GeometryError(msg, code="E-GEOM-INVALID")
    for column in out.columns.drop(out.geometry.name):
        text = out[column].map(lambda v: isinstance(v, str) and "\x00" in v)
        if text.any():
            ids = out.index.to_numpy()[text.to_numpy()][:10]
            msg = (f"cannot write {display!r}: column {column!r} of features {', '.join(map(repr, ids))} holds a NUL "
                   "character, which GeoJSON and GeoPackage writers drop (hint: remove it)")
            raise DataError(msg, code="E-VALUE-CONTROL")
    out[out.geometry.name] = shapely.orient_polygons(geoms)  # counter-clockwise exteriors (RFC 7946 §3.1.6)
    if out.index.name is not None or not isinstance(out.index, pd.RangeIndex):
        name = out.index.name or "id"
        if name in out.columns:
            out = out.reset_index(drop=True)
        else:
            out = out.rename_axis(name).reset_index()
    return out


def write_layer(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None,
                overwrite: bool = False, encoding: str = "UTF-8") -> Path:
    """Write a layer as GeoJSON (RFC 7946), GeoPackage or Shapefile, atomically.

    GDAL writes into a temporary file beside ``path``, which is fsynced and
    renamed over ``path`` only when complete: a crash, a kill or a full disk
    leaves the previous file untouched and no partial file. Polygons are
    written counter-clockwise; GeoJSON is reprojected to WGS 84. The index
    is written as the ``id`` column.

    A Shapefile (``.shp``, for software that takes nothing else) is written
    as its whole set (``.shp``, ``.shx``, ``.dbf``, ``.prj``, ``.cpg``) in
    ``encoding``. The format holds field names of at most 10 bytes and
    strings of 254 bytes: an :class:`~nbgeo.errors.NbgeoWarning`
    (``W-IO-SHAPEFILE-NAMES``) lists every field it renamed, read back
    from the file, with the ``columns`` mapping that reads it back.

    Parameters
    ----------
    gdf
        The layer.
    path
        A ``.geojson``/``.json`` or ``.gpkg`` file.
    layer
        The layer name inside a GeoPackage (default: the file's stem).
    overwrite
        Replace an existing file; by default an existing file is refused
        (``E-IO-EXISTS``) and left as it was.
    encoding
        A Shapefile's ``.dbf`` encoding (``"GBK"`` for older Chinese GIS
        software); written to its ``.cpg``. Ignored for other formats.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nbgeo import datasets
    >>> from nbgeo.io import read_layer
    >>> g = read_layer(datasets.get_path("ningbo") / "districts.geojson")
    >>> out = write_layer(g, pathlib.Path(tempfile.mkdtemp()) / "districts.gpkg")
    >>> len(read_layer(out)), sorted(p.name for p in out.parent.iterdir())
    (10, ['districts.gpkg'])
    >>> write_layer(g, out)
    Traceback (most recent call last):
    ...
    nbgeo.errors.OutputError: '...districts.gpkg' exists; pass --overwrite (overwrite=True) to replace it
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as said:
    ...     warnings.simplefilter("always")
    ...     shp = write_layer(g, out.with_suffix(".shp"), encoding="GBK")
    >>> sorted(p.suffix for p in out.parent.iterdir())
    ['.cpg', '.dbf', '.gpkg', '.prj', '.shp', '.shx']
    >>> [str(w.message)[:20] for w in said]
    []
    """
    final = Path(path)
    if final.suffix.lower() == ".shp":
        out = _prepared_for_writing(gdf, "ESRI Shapefile", display=str(final))
        return _write_shapefile(out, final, layer=layer or final.stem, overwrite=overwrite, encoding=encoding)
    driver = _WRITERS.get(final.suffix.lower())
    if driver is None:
        msg = (f"cannot write {str(final)!r}: nbgeo writes GeoJSON (.geojson), GeoPackage (.gpkg) and "
               "Shapefiles (.shp) (hint: write .gpkg)")
        raise OutputError(msg, code="E-IO-FORMAT")
    out = _prepared_for_writing(gdf, driver, display=str(final))
    # Full precision: RFC 7946 allows it, and rounding to 7 decimals would change geometries silently.
    options: dict[str, Any] = ({"RFC7946": "YES", "WRITE_BBOX": "NO", "COORDINATE_PRECISION": 15}
                               if driver == "GeoJSON" else {})
    with atomic_path(final, overwrite=overwrite, suffix=final.suffix) as tmp:
        tmp.unlink()  # GDAL creates the file itself
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                pyogrio.write_dataframe(out, tmp, driver=driver, layer=layer or final.stem, promote_to_multi=False,
                                        **options)
            except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, pyogrio.errors.GeometryError,
                    pyogrio.errors.FeatureError, pyogrio.errors.CRSError) as exc:
                msg = f"could not write {str(final)!r}: {exc}; the previous file, if any, is unchanged"
                raise OutputError(msg, code="E-IO-WRITE") from None
        for w in caught:
            if not issubclass(w.category, ResourceWarning):
                log.warning("writing %s: %s", final, w.message)
    return final


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value), ensure_ascii=False)


def _entry(table: str, name: str, values: list[tuple[str, object]]) -> str:
    keys = "".join(f"{key} = {_toml_value(value)}\n" for key, value in values if value is not None)
    return f"\n[{table}.{toml_key(name)}]\n{keys}"


def check_table_for_writing(name: str, table: IndicatorTable) -> None:
    """Refuse a table whose CSV would not read back equal (``E-TABLE-WRITE``), naming it and the column.

    Examples
    --------
    >>> import pandas as pd
    >>> check_table_for_writing("t", IndicatorTable(pd.DataFrame({"year": [1.0]}, index=[2020])))
    Traceback (most recent call last):
    ...
    nbgeo.errors.DataError: cannot write table 't': column 'year' cannot be a CSV header (text without surrounding spaces, not 'year') (hint: a table holds one row per year and numeric columns)
    """
    values = table.values
    problem = None
    if not all(isinstance(y, (int, np.integer)) and not isinstance(y, bool) for y in values.index):
        problem = "its index must hold the years as whole numbers"
    elif values.index.has_duplicates:
        problem = "a year appears twice"
    for column in values.columns:
        if problem:
            break
        if not isinstance(column, str) or not column.strip() or column != column.strip() or column == "year":
            problem = f"column {column!r} cannot be a CSV header (text without surrounding spaces, not 'year')"
        elif not pd.api.types.is_numeric_dtype(values[column]) or pd.api.types.is_bool_dtype(values[column]):
            problem = f"column {column!r} holds {values[column].dtype} values, not numbers"
    if values.columns.has_duplicates and not problem:
        problem = "a column name appears twice"
    if problem:
        msg = f"cannot write table {name!r}: {problem} (hint: a table holds one row per year and numeric columns)"
        raise DataError(msg, code="E-TABLE-WRITE")


def _copy_file(source: str, target: Path, *, what: str) -> None:
    """Copy the file of a raster or road network, refusing one that is not there, naming it."""
    try:
        resolved = paths.resolve_input(source, what=what)
    except InputError as exc:
        msg = f"cannot write {what}: {exc.message}"
        raise OutputError(msg + " (hint: the dataset's files must exist to be written)", code="E-IO-SOURCE") from None
    shutil.copyfile(resolved, target)


def write_dataset(dataset: Dataset, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write a dataset as a folder with its ``dataset.toml``, atomically as a whole: all that it holds.

    Layers become GeoPackages (in WGS 84, as held in memory: the manifest
    declares ``datum = "WGS84"`` and notes the conversion), rasters and road
    networks are copied into ``rasters/`` and ``networks/``, tables written as
    CSV into ``tables/``; provenance and a declared working CRS travel in the
    manifest. :func:`nbgeo.io.read_dataset` reads the folder back equal. The
    folder appears complete or not at all; anything that cannot be written (a
    raster or network file that is gone, a table whose CSV would not read back
    equal) is an error naming it, and nothing is written.

    Parameters
    ----------
    dataset
        The dataset, read from files, from PostGIS or built in memory.
    folder
        The folder to create.
    overwrite
        Replace an existing folder; by default it is refused (``E-IO-EXISTS``).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nbgeo import datasets
    >>> from nbgeo.io import read_dataset
    >>> ds = read_dataset(datasets.get_path("ningbo"))
    >>> out = write_dataset(ds, pathlib.Path(tempfile.mkdtemp()) / "copy")
    >>> copy = read_dataset(out)
    >>> copy.names == ds.names, copy.tables == ds.tables, list(copy.networks), list(copy.rasters)
    (True, True, ['roads'], ['dem'])
    """
    target = Path(folder)
    lines = ["# Written by nbgeo.io.write_dataset: every layer in WGS 84 (EPSG:4326).\n\n[dataset]\n",
             f"name = {_toml_value(dataset.name)}\n", f"title = {_toml_value(dataset.title)}\n"]
    for kind, names in (("layer", dataset.layers), ("raster", dataset.rasters), ("network", dataset.networks),
                        ("table", dataset.tables)):
        for name in names:  # each name becomes a file name: refuse before anything is created
            paths.check_name(name, what=f"{kind} name")
    for name, table in dataset.tables.items():
        check_table_for_writing(name, table)
    with atomic_dir(target, overwrite=overwrite) as tmp:
        for name, layer in dataset.layers.items():
            out = paths.output_path(tmp, name, ".gpkg")
            write_layer(layer.gdf, out, layer=name)
            meta = layer.meta
            note = meta.note
            if is_shifted_datum(meta.datum):
                note = f"{note} (converted from {meta.datum} to WGS 84 by nbgeo)".strip()
            lines.append(_entry("layers", name, [
                ("file", out.name), ("source", meta.source), ("licence", meta.licence), ("datum", "WGS84"),
                ("crs", "EPSG:4326"), ("illustrative", meta.illustrative), ("note", note)]))
        for kind, items in (("rasters", dataset.rasters), ("networks", dataset.networks)):
            if items:
                (tmp / kind).mkdir()
            for name, item in items.items():
                suffix = "".join(Path(item.meta.file or item.path).suffixes) or Path(item.path).suffix
                out = paths.output_path(tmp / kind, name, suffix)
                _copy_file(item.path, out, what=f"{kind[:-1]} {name!r} ({item.path})")
                meta = item.meta
                extra: list[tuple[str, object]] = (
                    [("network_type", item.network_type), ("crs", item.declared_crs)]  # type: ignore[union-attr]
                    if kind == "networks" else [("crs", meta.crs or None)])
                lines.append(_entry(kind, name, [
                    ("file", f"{kind}/{out.name}"), ("source", meta.source), ("licence", meta.licence),
                    ("datum", meta.datum), ("illustrative", meta.illustrative), ("note", meta.note), *extra]))
        if dataset.tables:
            (tmp / "tables").mkdir()
        for name, table in dataset.tables.items():
            out = paths.output_path(tmp / "tables", name, ".csv")
            out.write_text(table_csv(table), encoding="utf-8")
            lines.append(_entry("tables", name, [
                ("file", f"tables/{out.name}"), ("source", table.source), ("licence", table.licence),
                ("illustrative", table.illustrative), ("note", table.note), ("encoding", "utf-8")]))
        choice = dataset.crs_choice
        if choice is not None and choice.source != "data":  # a declared working CRS travels with the data
            lines.append(f"\n[crs]\nworking = {_toml_value(choice.text)}\n")
        (tmp / MANIFEST_NAME).write_text("".join(lines), encoding="utf-8")
    log.info("Wrote dataset %r to %s: %d layers, %d rasters, %d networks, %d tables", dataset.name, target,
             len(dataset.layers), len(dataset.rasters), len(dataset.networks), len(dataset.tables))
    return target


def save_layer(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None,
               overwrite: bool = True) -> Path:
    """Deprecated: use :func:`write_layer` (which refuses to replace a file unless ``overwrite=True``).

    Kept for old code, with its old default (``overwrite=True``).
    """
    warnings.warn("nbgeo.io.save_layer is deprecated; use nbgeo.io.write_layer (overwrite defaults to False)",
                  DeprecationWarning, stacklevel=2)
    return write_layer(gdf, path, layer=layer, overwrite=overwrite)


def save_dataset(dataset: Dataset, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Deprecated: use :func:`write_dataset`."""
    warnings.warn("nbgeo.io.save_dataset is deprecated; use nbgeo.io.write_dataset", DeprecationWarning,
                  stacklevel=2)
    return write_dataset(dataset, folder, overwrite=overwrite)
