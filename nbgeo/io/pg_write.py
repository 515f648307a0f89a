"""Write a dataset into a PostGIS schema: its layers as tables, its manifest, rasters, road networks and tables."""


from __future__ import annotations

import hashlib
import json
import logging
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from ..errors import DatabaseError, InputError, NbgeoError, OutputError
from .postgis import (
    DATASET_TABLE,
    FILES_TABLE,
    MANIFEST_TABLE,
    PgLocation,
    check_identifier,
    connect,
    db_error,
    driver,
    parse_url,
    table_columns,
)
from .tables import table_csv
from .writing import check_table_for_writing

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    import geopandas as gpd
    import psycopg

    from ..layers import Dataset

__all__ = ["ensure_columns", "jsonb", "lock_schema", "scalar", "to_wkb_list", "value_kind", "write_dataset"]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------------------
# Writing: shared helpers
# --------------------------------------------------------------------------------------------------------------

_PG_TYPES = {"bool": "boolean", "int": "bigint", "float": "double precision", "str": "text"}
_UDT_KIND = {"bool": "bool", "int8": "int", "int4": "int", "int2": "int", "float8": "float", "float4": "float",
             "numeric": "float", "text": "str", "varchar": "str"}


def _is_null(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def value_kind(values: Iterable[Any]) -> str | None:
    """The narrowest of bool < int < float < str that holds every non-null value; None if some are not scalar."""
    kinds = set()
    for value in values:
        if _is_null(value):
            continue
        if isinstance(value, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(value, (int, np.integer)):
            kinds.add("int")
        elif isinstance(value, (float, np.floating)):
            kinds.add("float")
        elif isinstance(value, str):
            kinds.add("str")
        else:
            return None
    if not kinds:
        return "str"
    if kinds <= {"bool"}:
        return "bool"
    if kinds <= {"int"}:
        return "int"
    if kinds <= {"int", "float"}:
        return "float"
    return "str"


def _widen(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} <= {"int", "float"}:
        return "float"
    return "str"


def scalar(value: Any, kind: str) -> Any:
    """A Python value for a column of ``kind`` (numpy scalars unwrapped, NaN to NULL)."""
    if _is_null(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if kind == "str":
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, bool) else str(value)
    if kind == "float":
        return float(value)
    return value


def _json_ready(value: Any) -> Any:
    """Recursively: numpy scalars to Python, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def jsonb(value: Any) -> Any:
    """A value made JSON-ready (NaN as null, numpy scalars as numbers) and wrapped for a ``jsonb`` column."""
    from psycopg.types.json import Jsonb  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    return Jsonb(_json_ready(value), dumps=lambda obj: json.dumps(obj, ensure_ascii=False, allow_nan=False))


def lock_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """Serialise nbgeo writers on one schema for the rest of the transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"nbgeo:{schema}",))


def _existing_columns(conn: psycopg.Connection[Any], schema: str, table: str) -> dict[str, str]:
    return {name: _UDT_KIND.get(udt, udt) for name, udt in table_columns(conn, schema, table)}


def ensure_columns(conn: psycopg.Connection[Any], schema: str, table: str, wanted: Mapping[str, str]) -> dict[str, str]:
    """Add missing typed columns and widen existing ones; return each column's kind afterwards."""
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    have = _existing_columns(conn, schema, table)
    for column, kind in wanted.items():
        if column not in have:
            conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                sql.Identifier(schema, table), sql.Identifier(column), sql.SQL(_PG_TYPES[kind])))
            have[column] = kind
        elif have[column] in _PG_TYPES and _widen(have[column], kind) != have[column]:
            target = _widen(have[column], kind)
            conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
                sql.Identifier(schema, table), sql.Identifier(column), sql.SQL(_PG_TYPES[target]),
                sql.Identifier(column), sql.SQL(_PG_TYPES[target])))
            have[column] = target
    return have


def to_wkb_list(geoms: Sequence[Any]) -> list[bytes | None]:
    """Geometries as WKB bytes (None for a missing one), for ``ST_GeomFromWKB``."""
    arr = np.asarray(geoms, dtype=object)
    out = shapely.to_wkb(arr) if len(arr) else np.array([], dtype=object)
    return [None if g is None else bytes(g) for g in out]


# --------------------------------------------------------------------------------------------------------------
# Writing a dataset (layers + manifest)
# --------------------------------------------------------------------------------------------------------------


def _geometry_type(gdf: gpd.GeoDataFrame) -> str:

    types = set(shapely.get_type_id(np.asarray(gdf.geometry.values))) - {-1}
    names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}
    return names[types.pop()] if len(types) == 1 and next(iter(types)) in names else "Geometry"


#: The manifest columns nbgeo writes, and their kinds: never ``columns``, ``values`` or ``units`` (a layer
#: written is in nbgeo's names, codes and units already; the mapping is applied on read, never written back).
_MANIFEST_COLUMNS = {"table_name": "str", "geometry_column": "str", "id_column": "str", "source": "str",
                     "licence": "str", "datum": "str", "crs": "str", "illustrative": "bool", "note": "str",
                     "position": "int"}


def write_dataset(dataset: Dataset, url: str | PgLocation, *, overwrite: bool = False,
                  manifest: str = MANIFEST_TABLE, replace: bool | None = None) -> list[str]:
    """Load a dataset into a PostGIS schema: its layers, rasters, road networks and tables.

    Everything happens in one transaction. Each layer becomes a table named
    after it, with ``id text PRIMARY KEY``, its columns (typed from pandas),
    and ``geom geometry(<type>, 4326)`` with a GiST index, listed in the
    manifest table (nbgeo's own column names, codes and units, with no
    ``columns`` / ``values`` / ``units`` mapping: a mapping is applied on
    read and never written back). Rows are sent with ``COPY``, so values never become SQL
    text. Rasters and road network files are stored whole, and tables as
    their CSV, in ``nbgeo_files`` (one row each, with provenance and SHA-256),
    so :func:`nbgeo.io.postgis.read_dataset` gives back everything the
    dataset held. A raster or network whose file is gone, or a table whose
    CSV would not read back equal, is an error naming it: nothing is written.

    Parameters
    ----------
    dataset
        The dataset (layers in EPSG:4326, indexed by id).
    url
        Where: ``postgresql://...?schema=NAME``; the schema is created if needed.
    overwrite
        Replace layer tables and stored files that already exist; otherwise
        ``E-DB-EXISTS``, and nothing is written.
    manifest
        The manifest table's name.
    replace
        Deprecated name of ``overwrite``.

    Returns
    -------
    list of str
        The tables written, ``schema.table`` (and ``schema.nbgeo_files`` when
        the dataset has rasters, networks or tables).
    """
    psycopg = driver()
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    if replace is not None:
        warnings.warn("write_dataset(replace=...) is deprecated; use overwrite=...", DeprecationWarning,
                      stacklevel=2)
        overwrite = replace
    loc = parse_url(url)
    check_identifier(manifest, what="manifest table")
    for name in dataset.names:
        check_identifier(name, what="layer name")
    files = _files(dataset)  # every file read before the transaction: one that is gone is an error, naming it
    written = []
    with connect(loc) as conn:
        try:
            with conn.transaction():
                lock_schema(conn, loc.schema)
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(loc.schema)))
                conn.execute(sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (layer text PRIMARY KEY, table_name text NOT NULL, "
                    "geometry_column text, id_column text DEFAULT 'id', source text, licence text, "
                    "datum text DEFAULT 'WGS84', crs text, illustrative boolean DEFAULT false, note text, "
                    "position integer)").format(sql.Identifier(loc.schema, manifest)))
                # A manifest made by hand (a bureau's, mapping its own tables) gets the columns nbgeo writes; its
                # mapping columns stay, and the rows written leave them empty: these layers are ours already.
                ensure_columns(conn, loc.schema, manifest, _MANIFEST_COLUMNS)
                conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (name text, title text)").format(
                    sql.Identifier(loc.schema, DATASET_TABLE)))
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(loc.schema, DATASET_TABLE)))
                conn.execute(sql.SQL("INSERT INTO {} (name, title) VALUES (%s, %s)").format(
                    sql.Identifier(loc.schema, DATASET_TABLE)), (dataset.name, dataset.title))
                for position, name in enumerate(dataset.names):
                    layer = dataset.layer(name)
                    written.append(_copy_layer(conn, loc, name, layer.gdf, overwrite=overwrite))
                    conn.execute(sql.SQL("DELETE FROM {} WHERE layer = %s").format(
                        sql.Identifier(loc.schema, manifest)), (name,))
                    meta = layer.meta
                    # The table holds WGS 84 now, whatever the source file had: record that.
                    conn.execute(sql.SQL(
                        "INSERT INTO {} (layer, table_name, geometry_column, id_column, source, licence, datum, "
                        "crs, illustrative, note, position) VALUES (%s, %s, 'geom', 'id', %s, %s, 'WGS84', "
                        "'EPSG:4326', %s, %s, %s)").format(sql.Identifier(loc.schema, manifest)),
                        (name, name, meta.source, meta.licence, meta.illustrative, meta.note, position))
                if files:
                    written.append(_store_files(conn, loc, files, overwrite=overwrite))
        except NbgeoError:
            raise
        except psycopg.Error as exc:
            raise db_error(exc, loc, "writing the dataset") from None
    log.info("Wrote %d layers to %s", len(written), loc.display)
    return written


def _copy_layer(conn: psycopg.Connection[Any], loc: PgLocation, name: str, gdf: gpd.GeoDataFrame, *,
                overwrite: bool) -> str:
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    table = sql.Identifier(loc.schema, name)
    if table_columns(conn, loc.schema, name):
        if not overwrite:
            msg = f"{loc.display}: table {loc.schema}.{name} exists (hint: pass overwrite=True to replace it)"
            raise DatabaseError(msg, code="E-DB-EXISTS")
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
    attrs = [c for c in gdf.columns if c != gdf.geometry.name]
    kinds: dict[str, str] = {}
    for column in attrs:
        check_identifier(column, what=f"layer {name!r}: column")
        if column in ("id", "geom"):
            msg = f"layer {name!r}: column {column!r} clashes with the table's own {column!r} column"
            raise InputError(msg, code="E-DB-IDENT")
        kinds[column] = value_kind(gdf[column].tolist()) or "str"
    columns: list[sql.Composable] = [sql.SQL("id text PRIMARY KEY")]
    columns += [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_PG_TYPES[kinds[c]])) for c in attrs]
    columns.append(sql.SQL("geom geometry({}, 4326)").format(sql.SQL(_geometry_type(gdf))))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(columns)))
    geoms = np.asarray(gdf.to_crs(4326).geometry.values if gdf.crs is not None else gdf.geometry.values)
    ewkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True) if len(geoms) else []
    values = [[scalar(v, kinds[c]) for v in gdf[c].tolist()] for c in attrs]
    ids = [None if pd.isna(i) else str(i) for i in gdf.index]
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table, sql.SQL(", ").join(sql.Identifier(c) for c in ["id", *attrs, "geom"]))
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for i, fid in enumerate(ids):
            copy.write_row([fid, *(col[i] for col in values), ewkb[i]])
    index = check_identifier(f"{name[:50]}_geom_gist", what="index")
    conn.execute(sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(sql.Identifier(index), table))
    return f"{loc.schema}.{name}"


def _files(dataset: Dataset) -> list[dict[str, Any]]:
    """The rasters, road networks and tables of a dataset as rows of ``nbgeo_files`` (their bytes read now)."""
    rows: list[dict[str, Any]] = []
    sources: list[tuple[str, str, Any]] = [("raster", n, r) for n, r in dataset.rasters.items()]
    sources += [("network", n, f) for n, f in dataset.networks.items()]
    for kind, name, item in sources:
        check_identifier(name, what=f"{kind} name")
        try:
            data = Path(item.path).read_bytes()
        except OSError as exc:
            msg = (f"cannot write {kind} {name!r} to PostGIS: its file {item.path!r} cannot be read "
                   f"({exc.strerror or exc}) (hint: the dataset's files must exist to be written)")
            raise OutputError(msg, code="E-IO-SOURCE") from None
        meta = item.meta
        rows.append({"kind": kind, "name": name, "file": Path(meta.file or item.path).name, "data": data,
                     "source": meta.source, "licence": meta.licence, "datum": meta.datum,
                     "crs": getattr(item, "declared_crs", None) if kind == "network" else (meta.crs or None),
                     "illustrative": meta.illustrative, "note": meta.note,
                     "network_type": getattr(item, "network_type", None)})
    for name, table in dataset.tables.items():
        check_identifier(name, what="table name")
        check_table_for_writing(name, table)
        rows.append({"kind": "table", "name": name, "file": f"{name}.csv",
                     "data": table_csv(table).encode("utf-8"), "source": table.source, "licence": table.licence,
                     "datum": None, "crs": None, "illustrative": table.illustrative, "note": table.note,
                     "network_type": None})
    for row in rows:
        row["sha256"] = hashlib.sha256(row["data"]).hexdigest()
    return rows


_FILE_COLUMNS = ("kind", "name", "file", "data", "sha256", "source", "licence", "datum", "crs", "illustrative",
                 "note", "network_type")


def _store_files(conn: psycopg.Connection[Any], loc: PgLocation, rows: list[dict[str, Any]], *,
                 overwrite: bool) -> str:
    """Insert the rows into ``nbgeo_files``, refusing (or, with ``overwrite``, replacing) those already there."""
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    table = sql.Identifier(loc.schema, FILES_TABLE)
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (kind text NOT NULL CHECK (kind IN ('raster', 'network', 'table')), "
        "name text NOT NULL, file text NOT NULL, data bytea NOT NULL, sha256 text NOT NULL, source text, "
        "licence text, datum text, crs text, illustrative boolean DEFAULT false, note text, network_type text, "
        "PRIMARY KEY (kind, name))").format(table))
    for row in rows:
        found = conn.execute(sql.SQL("SELECT 1 FROM {} WHERE kind = %s AND name = %s").format(table),
                             (row["kind"], row["name"])).fetchone()
        if found and not overwrite:
            msg = (f"{loc.display}: {row['kind']} {row['name']!r} is already stored in {loc.schema}.{FILES_TABLE} "
                   "(hint: pass overwrite=True to replace it)")
            raise DatabaseError(msg, code="E-DB-EXISTS")
        conn.execute(sql.SQL("DELETE FROM {} WHERE kind = %s AND name = %s").format(table),
                     (row["kind"], row["name"]))
        conn.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table, sql.SQL(", ").join(sql.Identifier(c) for c in _FILE_COLUMNS),
            sql.SQL(", ").join(sql.Placeholder() * len(_FILE_COLUMNS))), [row[c] for c in _FILE_COLUMNS])
    return f"{loc.schema}.{FILES_TABLE}"

