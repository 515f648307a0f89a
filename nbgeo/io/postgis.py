"""Datasets in PostGIS, and audits written back into it.

A planning bureau keeps its layers in PostGIS. nbgeo reads a dataset from a
schema and writes an audit's results into tables of a schema, both named by a
URL::

    postgresql://USER:PASSWORD@HOST:PORT/DBNAME?schema=SCHEMA

``schema`` defaults to ``public``; every other query parameter is libpq's
(``sslmode``, ``connect_timeout``, ...). A password in the URL is never shown:
every message and log line carries the form of :func:`nbgeo.dsn.mask_dsn`
(``USER:***@``; re-exported here as :func:`mask_dsn`), and so does
``Dataset.path``. Without a password in the URL, libpq's usual
``PGPASSWORD`` / ``~/.pgpass`` apply.

**Reading.** The schema holds one table per layer and a manifest table,
``nbgeo_manifest``, with one row per layer, the database twin of
``dataset.toml``:

=================  =========================================================
column             meaning
=================  =========================================================
layer              layer name (``chargers``, ``land_transfers``, ...); required
table_name         its table (``name`` or ``schema.name``); required
geometry_column    the geometry column (default: the table's only one)
id_column          the feature id column (default ``id``)
source, licence,   as in ``dataset.toml``; ``datum`` GCJ-02 / BD-09 is
datum, crs,        converted to WGS 84
illustrative, note
position           manifest order (optional)
columns, values,   the layer's own field names, codes and units read as
units              nbgeo's (optional): JSON objects (``text``, ``json`` or
                   ``jsonb``) with exactly the meaning of the same keys in
                   ``dataset.toml`` (:mod:`nbgeo.fieldmap`), checked alike
=================  =========================================================

A bureau's table keeps its own column names (名称, 用地面积, 地类编码 ...), its
national land-use codes and its units; the manifest row maps them, and the
table is read as nbgeo's layer, in memory (the database is never changed)::

    INSERT INTO nbgeo_manifest (layer, table_name, columns, "values", units)
    VALUES ('land_transfers', 'parcels',
            '{"id": "宗地编号", "use": "地类编码", "year": "出让年份", "area": "出让面积"}',
            '{"use": "gb_land_use_2023"}', '{"area": "平方米"}');

(``values`` is an SQL key word: quote it.) A mapping that does not fit (a
field the table lacks, a code table or unit nbgeo does not know, a unit of
another dimension, JSON that does not parse) is an error naming the database,
the manifest table, the layer's row and the key. The mapping shows in
``nbgeo validate``, the sources table and ``audit.json``, as for files;
:func:`nbgeo.io.pg_write.write_dataset` writes nbgeo's own columns and no
mapping.

An optional one-row table ``nbgeo_dataset (name, title)`` names the dataset;
without it the dataset is named after the schema. Layers are validated exactly
as files are (:func:`nbgeo.validate.verify_layer`), converted to WGS 84 and
indexed by their id. Rasters (a DEM), road networks and yearly tables are
kept in ``nbgeo_files``, one row each: the file's bytes, its SHA-256 and its
provenance (``kind`` raster / network / table, ``name``, ``file``, ``source``,
``licence``, ``datum``, ``crs``, ``illustrative``, ``note``,
``network_type``). Reading puts rasters and networks into nbgeo's cache
folder (named by their SHA-256, checked on every read) for GDAL and the road
reader to open, and parses tables. :func:`nbgeo.io.pg_write.write_dataset`
creates all of this from a :class:`~nbgeo.layers.Dataset`, so a dataset
goes file -> PostGIS -> file whole.

An audit's results are written into PostGIS by :func:`nbgeo.postgis.write_report`.

Safety: every value is a bound parameter (or, when ``write_dataset`` loads
layers, a row of ``COPY`` data: never SQL text); every schema and table name,
and every column nbgeo writes, is checked against
``^[A-Za-z_][A-Za-z0-9_]{0,62}$`` (``E-DB-IDENT``); the columns of a table
being read keep their own names (Chinese, spaces, quotes: anything but NUL).
Every name is quoted with :class:`psycopg.sql.Identifier`; no SQL is built
with f-strings.

Examples
--------
>>> mask_dsn("postgresql://planner:s3cret@db.example:5432/gis?schema=ningbo")
'postgresql://planner:***@db.example:5432/gis?schema=ningbo'
>>> loc = parse_url("postgresql://planner:s3cret@db.example/gis?schema=ningbo&sslmode=require")
>>> loc.schema, loc.display
('ningbo', 'postgresql://planner:***@db.example/gis?schema=ningbo&sslmode=require')
>>> is_postgres_url("postgresql://db/gis"), is_postgres_url("data/zones")
(True, False)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import _cache, fieldmap, paths
from ..crs import DATUMS, convert_gdf_datum, dataset_crs_choice
from ..dsn import is_url, mask_dsn, split_url
from ..errors import CRSError, DatabaseError, InputError, NbgeoError, Problem
from ..layers import Dataset, IndicatorTable, Layer, LayerMeta, NetworkFile, Raster
from ..raster import verify_raster
from ..validate import raise_for_problems, verify_layer
from .tables import parse_table

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import psycopg

__all__ = [
    "DATASET_TABLE",
    "FILES_TABLE",
    "MANIFEST_TABLE",
    "PgLocation",
    "check_identifier",
    "connect",
    "db_error",
    "driver",
    "is_postgres_url",
    "mask_dsn",
    "parse_url",
    "read_dataset",
    "table_columns",
]

log = logging.getLogger(__name__)

#: The manifest table of a dataset schema: one row per layer.
MANIFEST_TABLE = "nbgeo_manifest"
#: The optional one-row table naming the dataset.
DATASET_TABLE = "nbgeo_dataset"
#: The table of a dataset's rasters, road networks and tables: one row (the file's bytes) each.
FILES_TABLE = "nbgeo_files"

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_FETCH_ROWS = 50_000
_NUMERIC_OID = 1700  # PostgreSQL numeric: psycopg gives Decimal; nbgeo wants float
_DATUM_SHIFTED = ("GCJ-02", "GCJ02", "BD-09", "BD09")


# --------------------------------------------------------------------------------------------------------------
# URLs, masking, identifiers, connections
# --------------------------------------------------------------------------------------------------------------


def is_postgres_url(text: object) -> bool:
    """Whether ``text`` is a ``postgresql://`` (or ``postgres://``) URL (:func:`nbgeo.dsn.is_url`).

    Examples
    --------
    >>> is_postgres_url("postgres://u@h/db"), is_postgres_url(None)
    (True, False)
    """
    return is_url(text)


def check_identifier(name: object, *, what: str = "identifier") -> str:
    """Return ``name`` if it is a safe SQL identifier, else raise ``E-DB-IDENT``.

    A safe identifier is a letter or underscore followed by up to 62 letters,
    digits or underscores (PostgreSQL truncates names past 63 bytes).

    Examples
    --------
    >>> check_identifier("land_transfers")
    'land_transfers'
    >>> check_identifier('x"; DROP TABLE t; --', what="schema")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: schema 'x"; DROP TABLE t; --' is not a safe SQL name (hint: use letters, digits and _, starting with a letter or _, at most 63 characters)
    """
    if not isinstance(name, str) or not IDENT.match(name):
        msg = (f"{what} {name!r} is not a safe SQL name (hint: use letters, digits and _, starting with a letter "
               "or _, at most 63 characters)")
        raise InputError(msg, code="E-DB-IDENT")
    return name


@dataclass(frozen=True)
class PgLocation:
    """A parsed database URL.

    Attributes
    ----------
    conninfo
        The URL to hand to libpq (the ``schema`` parameter removed).
    schema
        The schema named by ``?schema=`` (default ``public``).
    display
        The URL with its password masked: the only form to show.
    """

    conninfo: str
    schema: str
    display: str

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"PgLocation({self.display!r})"


def parse_url(url: str | PgLocation) -> PgLocation:
    """Split a ``postgresql://...?schema=NAME`` URL into connection string and schema.

    The URL is cut where libpq cuts it (:func:`nbgeo.dsn.split_url`). A URL
    libpq would read differently from how it looks (a raw ``@``, ``/`` or
    space in the user name or password: libpq would then send part of the
    password to DNS as a host name) is refused, with the fix: percent-encode
    them (``%40``, ``%2F``, ``%20``).

    Raises ``E-DB-URL`` for anything that is not such a URL and ``E-DB-IDENT``
    for an unsafe schema name; no message shows the password.

    Examples
    --------
    >>> parse_url("postgresql://planner:p%40ss#1@db/gis?schema=ningbo").schema
    'ningbo'
    >>> parse_url("postgresql://planner:p@ss@db/gis")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: 'postgresql://planner:***@db/gis' is ambiguous: libpq would read a host name or database from what looks like the user name or password (hint: percent-encode '@' as %40, '/' as %2F and spaces as %20 in the user name and password)
    """
    if isinstance(url, PgLocation):
        return url
    if not is_postgres_url(url):
        msg = f"{mask_dsn(str(url))!r} is not a postgresql:// URL (hint: postgresql://USER@HOST/DBNAME?schema=NAME)"
        raise InputError(msg, code="E-DB-URL")
    display = mask_dsn(url)
    parts = split_url(url)
    if "@" in parts.hosts or any(c.isspace() for c in url):
        msg = (f"{display!r} is ambiguous: libpq would read a host name or database from what looks like the user "
               "name or password (hint: percent-encode '@' as %40, '/' as %2F and spaces as %20 in the user name "
               "and password)")
        raise InputError(msg, code="E-DB-URL")
    params = [p for p in parts.query.split("&") if p] if parts.query else []
    schemas = [unquote(p.partition("=")[2]) for p in params if unquote(p.partition("=")[0]) == "schema"]
    if len(schemas) > 1:
        msg = f"{display!r} names more than one schema"
        raise InputError(msg, code="E-DB-URL")
    schema = check_identifier(schemas[0] if schemas else "public", what="schema")
    rest = [p for p in params if unquote(p.partition("=")[0]) != "schema"]
    conninfo = (f"{parts.scheme.lower()}://" + (f"{parts.userinfo}@" if parts.userinfo is not None else "") + parts.hosts
                + ("?" + "&".join(rest) if rest else ""))
    try:
        from psycopg import ProgrammingError  # noqa: PLC0415  (optional extra: nbgeo[postgis])
        from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415  (optional extra: nbgeo[postgis])
    except ImportError:  # connect() says psycopg is missing
        pass
    else:
        try:
            conninfo_to_dict(conninfo)
        except ProgrammingError as exc:
            msg = f"{display!r} is not a valid connection URL: {mask_dsn(str(exc).strip(), dsn=url)}"
            raise InputError(msg, code="E-DB-URL") from None
    return PgLocation(conninfo=conninfo, schema=schema, display=display)


def _scrub(text: str, loc: PgLocation) -> str:
    """A driver message made safe to show: URLs masked and the password itself removed."""
    return mask_dsn(text, dsn=loc.conninfo).strip()


def driver() -> Any:
    """The psycopg module (an optional extra), or an ``E-DB-DRIVER`` error saying how to install it."""
    try:
        import psycopg  # noqa: PLC0415  (optional extra: nbgeo[postgis])
    except ImportError:
        msg = "reading or writing PostGIS needs psycopg (hint: pip install 'nbgeo[postgis]')"
        raise InputError(msg, code="E-DB-DRIVER") from None
    return psycopg


def connect(url: str | PgLocation, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """Open a psycopg connection for a database URL; ``E-DB-CONN`` (password masked) on failure.

    ``connect_timeout`` defaults to 10 seconds unless the URL sets it.
    """
    psycopg = driver()
    loc = parse_url(url)
    kwargs: dict[str, Any] = {"application_name": "nbgeo", "autocommit": autocommit}
    if "connect_timeout" not in loc.conninfo:
        kwargs["connect_timeout"] = 10
    try:
        return psycopg.connect(loc.conninfo, **kwargs)
    except psycopg.Error as exc:
        reason = _scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, loc)
        msg = f"cannot connect to {loc.display}: {reason} (hint: check host, port, database, user and password)"
        raise DatabaseError(msg, code="E-DB-CONN") from None


def db_error(exc: Exception, loc: PgLocation, action: str) -> DatabaseError:
    """Turn a psycopg error into a DatabaseError whose message shows no password."""
    import psycopg  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    reason = _scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, loc)
    if isinstance(exc, psycopg.OperationalError):
        msg = (f"the connection to {loc.display} was lost while {action}: {reason}; the transaction was rolled "
               "back, so nothing was changed (hint: run it again)")
        return DatabaseError(msg, code="E-DB-CONN")
    msg = f"{action} in {loc.display} failed: {reason}; the transaction was rolled back, so nothing was changed"
    return DatabaseError(msg, code="E-DB-WRITE" if action.startswith("writing") else "E-DB-READ")


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


def _table_ref(text: str, default_schema: str, *, where: str) -> tuple[str, str]:
    parts = str(text).split(".")
    if len(parts) > 2:
        msg = f"{where}: table {text!r} must be NAME or SCHEMA.NAME"
        raise InputError(msg, code="E-DB-IDENT")
    schema, table = (default_schema, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    return check_identifier(schema, what=f"{where}: schema"), check_identifier(table, what=f"{where}: table")


def table_columns(conn: psycopg.Connection[Any], schema: str, table: str) -> list[tuple[str, str]]:
    """(name, udt_name) of a table's columns in order; empty when there is no such table."""
    rows = conn.execute(
        "SELECT column_name, udt_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    ).fetchall()
    return [(str(name), str(udt)) for name, udt in rows]


def _geometry_info(conn: psycopg.Connection[Any], schema: str, table: str) -> dict[str, int]:
    """{geometry column: SRID} of a table (from PostGIS's geometry_columns)."""
    rows = conn.execute(
        "SELECT f_geometry_column, srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s",
        (schema, table),
    ).fetchall()
    return {str(name): int(srid) for name, srid in rows}


def _read_table(conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[str], geom: str,
                order_by: str | None) -> tuple[dict[str, list[Any]], list[bytes | None], set[str]]:
    """Stream a table through a server-side cursor: attribute lists, WKB list, numeric columns."""
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    query = sql.SQL("SELECT {cols}, ST_AsBinary({geom}) FROM {table}{order}").format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns) if columns else sql.SQL("NULL"),
        geom=sql.Identifier(geom),
        table=sql.Identifier(schema, table),
        order=sql.SQL(" ORDER BY {}").format(sql.Identifier(order_by)) if order_by else sql.SQL(""),
    )
    data: dict[str, list[Any]] = {c: [] for c in columns}
    wkb: list[bytes | None] = []
    numeric: set[str] = set()
    with conn.cursor(name=f"nbgeo_read_{table}") as cur:
        cur.itersize = _FETCH_ROWS
        cur.execute(query)
        if cur.description is not None:
            numeric = {c for c, d in zip(columns, cur.description, strict=False) if d.type_code == _NUMERIC_OID}
        while rows := cur.fetchmany(_FETCH_ROWS):
            for i, name in enumerate(columns):
                data[name].extend(row[i] for row in rows)
            wkb.extend(row[-1] for row in rows)
    return data, wkb, numeric


def _manifest_rows(conn: psycopg.Connection[Any], loc: PgLocation, manifest: str) -> list[dict[str, Any]]:
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])
    from psycopg.rows import dict_row  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    cols = {name for name, _ in table_columns(conn, loc.schema, manifest)}
    where = f"{loc.display} table {loc.schema}.{manifest}"
    if not cols:
        msg = (f"{loc.display}: schema {loc.schema!r} has no manifest table {manifest!r} (hint: a PostGIS dataset "
               f"is a schema with one table per layer and {MANIFEST_TABLE}; nbgeo.postgis.write_dataset makes one)")
        raise InputError(msg, code="E-MANIFEST-MISSING")
    missing = {"layer", "table_name"} - cols
    if missing:
        msg = f"{where}: missing column(s) {', '.join(sorted(missing))}"
        raise InputError(msg, code="E-MANIFEST-KEY")
    order = [sql.Identifier("position"), sql.Identifier("layer")] if "position" in cols else [sql.Identifier("layer")]
    query = sql.SQL("SELECT * FROM {} ORDER BY {}").format(sql.Identifier(loc.schema, manifest),
                                                           sql.SQL(", ").join(order))
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query).fetchall()
    if not rows:
        msg = f"{where}: no layers"
        raise InputError(msg, code="E-MANIFEST-KEY")
    return rows


def _layer_meta(row: Mapping[str, Any], *, where: str) -> LayerMeta:
    def text(key: str, default: str) -> str:
        value = row.get(key)
        return default if value is None else str(value)

    datum = text("datum", "WGS84")
    # The manifest table's datum column is the declaration; left empty, the layer is read as WGS 84 and says so.
    basis = "declared" if row.get("datum") is not None else "default"
    if datum.upper().replace("_", "-") not in {d.upper() for d in DATUMS}:
        msg = f"{where}: layer {row['layer']!r}: datum {datum!r} is not one of {', '.join(DATUMS)}"
        raise CRSError(msg, code="E-CRS-DATUM")
    illustrative = row.get("illustrative")
    if illustrative is not None and not isinstance(illustrative, bool):
        msg = f"{where}: layer {row['layer']!r}: illustrative must be a boolean, got {illustrative!r}"
        raise InputError(msg, code="E-MANIFEST-KEY")
    return LayerMeta(
        name=str(row["layer"]), file=text("table_name", ""), source=text("source", "unknown"),
        licence=text("licence", "unknown"), datum=datum, crs=text("crs", ""), illustrative=bool(illustrative),
        note=text("note", ""), datum_basis=basis,
    )


def _column_name(name: object, *, where: str) -> str:
    """A column name of an existing table, kept as it is (Chinese, spaces, quotes...): refused only with a NUL.

    Such a name only ever reaches SQL quoted by :class:`psycopg.sql.Identifier`; PostgreSQL itself holds no
    NUL in a name, so one here did not come from the table (``E-DB-IDENT``).
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        msg = f"{where} {name!r} is not a column name (hint: a column name is text without NUL characters)"
        raise InputError(msg, code="E-DB-IDENT")
    return name


#: Per mapping column of the manifest table: its check (the very one of dataset.toml) and an example for the hint.
_MAPPINGS: dict[str, tuple[Any, str]] = {
    "columns": (fieldmap.check_columns, '{"name": "名称", "area": "用地面积"}'),
    "values": (fieldmap.check_values, '{"use": "gb_land_use_2023"} or {"kind": {"water": ["水域"]}}'),
    "units": (fieldmap.check_units, '{"area": "亩"}'),
}


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's keys, each once (JSON would keep the last silently; a TOML table refuses a repeated key)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            msg = f"key {key!r} is given twice"
            raise ValueError(msg)
        out[key] = value
    return out


def _unit_fits(layer: str, units: Mapping[str, str], *, at: str) -> None:
    """Each unit against its column (:func:`nbgeo.fieldmap.unit_problem`): known, of the column's dimension."""
    found = fieldmap.unit_problem(layer, units)
    if found is not None:
        sub, code, problem, hint = found
        msg = f"{at}, column units, key {sub!r} = {units[sub]!r}: {problem} (hint: {hint})"
        raise InputError(msg, code=code)


def _field_map(row: Mapping[str, Any], *, where: str) -> fieldmap.FieldMap:
    """A manifest row's ``columns``, ``values`` and ``units`` (JSON text, or json/jsonb), checked as dataset.toml's.

    Each is the JSON twin of the ``[layers.NAME]`` table of ``dataset.toml`` and passes the same checks
    (:func:`nbgeo.fieldmap.check_columns`, :func:`~nbgeo.fieldmap.check_values`,
    :func:`~nbgeo.fieldmap.check_units`, :func:`~nbgeo.fieldmap.unit_problem`). A problem is an
    :class:`~nbgeo.errors.InputError` naming the database, the manifest table, the layer's row and the key.
    An empty cell (NULL, blank text or JSON ``null``) is no mapping.

    Examples
    --------
    >>> fm = _field_map({"layer": "micro_parks", "columns": '{"area": "用地面积"}', "units": {"area": "亩"}},
    ...                 where="db table s.nbgeo_manifest")
    >>> fm.describe(), fm.where("units.area")
    (['area ← 用地面积 (亩 → m²)'], "db table s.nbgeo_manifest, row of layer 'micro_parks', column units: units.area")
    >>> _field_map({"layer": "micro_parks", "units": '{"area": "万元"}'}, where="db table s.nbgeo_manifest")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: db table s.nbgeo_manifest, row of layer 'micro_parks', column units, key 'area' = '万元': '万元' is a unit of money, but column 'area' holds area, in m² (hint: units of area: ...)
    """
    name = str(row["layer"])
    at = f"{where}, row of layer {name!r}"
    tables: dict[str, dict[str, Any]] = {}
    for key, (check, example) in _MAPPINGS.items():
        value = row.get(key)
        if isinstance(value, str):
            if not value.strip():
                continue
            try:
                value = json.loads(value, object_pairs_hook=_unique_keys)
            except ValueError as exc:  # json.JSONDecodeError included
                msg = (f"{at}, column {key}: not a JSON object: {exc} (hint: write it as JSON with double quotes, "
                       f"such as {example})")
                raise InputError(msg, code="E-MANIFEST-SYNTAX") from None
        if value is None:
            continue
        if key == "units" and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            _unit_fits(name, value, at=at)  # as dataset.toml: a unit against its column first (E-UNIT-...)
        problem = check(value)
        if problem:
            msg = (f"{at}, column {key}: {problem} (hint: the same object as {key} in dataset.toml, as JSON: "
                   f"{example})")
            raise InputError(msg, code="E-MANIFEST-KEY")
        tables[key] = value
    units = tables.get("units", {})
    lines = {f"{key}.{sub}": f"{at}, column {key}" for key, table in tables.items() for sub in table}
    return fieldmap.FieldMap(layer=name, columns=tables.get("columns", {}), values=tables.get("values", {}),
                             units=units, lines=lines, holder="table")


def _build_layer(conn: psycopg.Connection[Any], loc: PgLocation, row: Mapping[str, Any],
                 meta: LayerMeta, fmap: fieldmap.FieldMap) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    name = meta.name
    schema, table = _table_ref(meta.file or "", loc.schema, where=f"{loc.display} layer {name!r}")
    ref = f"{schema}.{table}"
    columns = table_columns(conn, schema, table)
    if not columns:
        return None, [Problem("E-LAYER-MISSING", f"table {ref} does not exist", file=ref, layer=name,
                              hint=f"correct table_name in {MANIFEST_TABLE}, or load the layer")]
    geoms = _geometry_info(conn, schema, table)
    wanted = row.get("geometry_column")
    if wanted:
        geom = _column_name(str(wanted), where=f"layer {name!r}: geometry_column")
        if geom not in geoms:
            return None, [Problem("E-LAYER-GEOMTYPE", f"table {ref} has no geometry column {geom!r}", file=ref,
                                  layer=name, column=geom, hint=f"geometry columns: {', '.join(geoms) or '(none)'}")]
    elif len(geoms) == 1:
        geom = next(iter(geoms))
    else:
        what = "no geometry column" if not geoms else f"several geometry columns ({', '.join(sorted(geoms))})"
        return None, [Problem("E-LAYER-GEOMTYPE", f"table {ref} has {what}", file=ref, layer=name,
                              hint=f"set geometry_column in {MANIFEST_TABLE}")]
    # The id column is named as the table names it; mapped (columns.id), it is read under our name.
    id_table = str(row.get("id_column") or fmap.columns.get("id") or "id")
    id_column = next((ours for ours, theirs in fmap.columns.items() if theirs == id_table), id_table)
    names = [_column_name(c, where=f"table {ref}: column") for c, udt in columns
             if c != geom and udt not in ("geometry", "geography")]
    order_by = id_table if id_table in names else None
    data, wkb, numeric = _read_table(conn, schema, table, names, geom, order_by)
    frame = pd.DataFrame(data, columns=names)
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column].astype(object), errors="coerce").astype(float)
    geometry = shapely.from_wkb(np.asarray(wkb, dtype=object))
    srid = geoms[geom]
    problems: list[Problem] = []
    crs: str | None = f"EPSG:{srid}" if srid > 0 else (meta.crs or None)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, index=frame.index), crs=crs)
    if srid > 0 and meta.crs and not gdf.crs.equals(meta.crs):
        problems.append(Problem("E-CRS-MISMATCH", f"the table's SRID {srid} differs from the manifest's crs "
                                f"{meta.crs}", file=ref, layer=name, hint="correct the manifest's crs, or the table"))
    # The table's own names, codes and units read as nbgeo's, exactly as a file's (in memory: the table is not
    # changed); the id column still a column here, so that a code problem names its features.
    gdf, mapped = fieldmap.apply(gdf, fmap, file=ref)
    problems += [p for p in mapped if p.is_error]
    notes = [p for p in mapped if not p.is_error]
    if id_column in gdf.columns:
        ids = gdf[id_column]
        gdf = gdf.set_index(ids.astype(str).where(ids.notna(), None)).drop(columns=id_column)
        gdf.index.name = "id"
    else:
        problems.append(Problem("E-ID-MISSING", f"the table has no id column {id_column!r}", file=ref, layer=name,
                                column=id_column, hint=f"add a unique id per feature, or set id_column in "
                                f"{MANIFEST_TABLE}"))
    if not problems and gdf.crs is not None and meta.datum.upper().replace("_", "-") in _DATUM_SHIFTED:
        if not gdf.crs.is_geographic:
            problems.append(Problem("E-CRS-DATUM", f"datum {meta.datum} needs lon/lat coordinates, got "
                                    f"{gdf.crs.to_string()}", file=ref, layer=name))
        else:
            gdf = convert_gdf_datum(gdf, from_datum=meta.datum)
    return gdf, problems + notes


def read_dataset(url: str | PgLocation, *, manifest: str = MANIFEST_TABLE, working_crs: object | None = None
                 ) -> Dataset:
    """Read a dataset from a PostGIS schema: every layer its manifest table lists, and its stored files.

    Parameters
    ----------
    url
        ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME?schema=NAME``.
    manifest
        The manifest table's name in that schema.
    working_crs
        The CRS to measure in (``--crs``); default: chosen from the layers'
        extent, as for :func:`nbgeo.io.read_dataset`.

    Returns
    -------
    Dataset
        Layers in EPSG:4326 indexed by id, validated like files; the rasters,
        road networks and tables of ``nbgeo_files``; ``path`` is the URL with
        its password masked.

    Raises
    ------
    nbgeo.errors.ValidationError
        Listing every problem of every layer (tables missing, bad geometry...).
    nbgeo.errors.DatabaseError
        ``E-DB-CONN`` when the server cannot be reached or the connection drops.
    """
    loc = parse_url(url)
    check_identifier(manifest, what="manifest table")
    psycopg = driver()
    layers: dict[str, Layer] = {}
    problems: list[Problem] = []
    with connect(loc) as conn:
        try:
            rows = _manifest_rows(conn, loc, manifest)
            head: dict[str, Any] = {}
            if table_columns(conn, loc.schema, DATASET_TABLE):
                from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])
                from psycopg.rows import dict_row  # noqa: PLC0415  (optional extra: nbgeo[postgis])

                with conn.cursor(row_factory=dict_row) as cur:
                    head = cur.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(
                        sql.Identifier(loc.schema, DATASET_TABLE))).fetchone() or {}
            for row in rows:
                where = f"{loc.display} table {loc.schema}.{manifest}"
                fmap = _field_map(row, where=where)
                meta = replace(_layer_meta(row, where=where), mapping=tuple(fmap.describe()))
                gdf, found = _build_layer(conn, loc, row, meta, fmap)
                if gdf is not None:
                    found += verify_layer(gdf, layer=meta.name, file=meta.file)
                    if not any(p.is_error for p in found) and not gdf.crs.equals("EPSG:4326"):
                        gdf = gdf.to_crs(4326)
                    layers[meta.name] = Layer(gdf, meta)
                    log.info("Read layer %r: %d features from %s table %s", meta.name, len(gdf), loc.display,
                             meta.file)
                problems += found
            stored = _stored_files(conn, loc)
        except NbgeoError:
            raise
        except psycopg.Error as exc:
            raise db_error(exc, loc, "reading the dataset") from None
    rasters, networks, tables = _unpack_files(stored, loc, problems)
    choice = dataset_crs_choice(layers, problems, override=working_crs, source="--crs", file=loc.display)
    raise_for_problems(problems, context=f"dataset {loc.display}")
    return Dataset(name=str(head.get("name") or loc.schema), layers=layers, path=loc.display,
                   title=str(head.get("title") or ""), problems=tuple(problems), rasters=rasters,
                   networks=networks, tables=tables, crs_choice=choice)


def _stored_files(conn: psycopg.Connection[Any], loc: PgLocation) -> list[dict[str, Any]]:
    """The rows of ``nbgeo_files`` (none when the schema has no such table)."""
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])
    from psycopg.rows import dict_row  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    if not table_columns(conn, loc.schema, FILES_TABLE):
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql.SQL("SELECT * FROM {} ORDER BY kind, name").format(
            sql.Identifier(loc.schema, FILES_TABLE))).fetchall()


def _file_folder() -> Path:
    """Where stored rasters and networks are put for GDAL: the checked cache folder, else a private temporary one."""
    folder = _cache.subfolder("postgis")
    return folder if folder is not None else Path(tempfile.mkdtemp(prefix="nbgeo-postgis-"))


def _put(folder: Path, digest: str, name: str, file: str) -> Path:
    """The stored file at ``folder/DIGEST/NAME<suffixes>``, written unless an identical copy is there."""
    suffix = "".join(PurePosixPath(file).suffixes)
    if not re.fullmatch(r"(\.[A-Za-z0-9]{1,8}){0,3}", suffix):
        suffix = ""
    return paths.output_path(folder / digest, name, suffix)


def _unpack_files(rows: list[dict[str, Any]], loc: PgLocation, problems: list[Problem]
                  ) -> tuple[dict[str, Raster], dict[str, NetworkFile], dict[str, IndicatorTable]]:
    """Rasters and networks written out for their readers, tables parsed; a damaged row is a problem naming it."""
    rasters: dict[str, Raster] = {}
    networks: dict[str, NetworkFile] = {}
    tables: dict[str, IndicatorTable] = {}
    folder: Path | None = None
    for row in rows:
        kind, name, file = str(row["kind"]), str(row["name"]), str(row["file"])
        ref = f"{loc.schema}.{FILES_TABLE} ({kind} {name!r})"
        data = bytes(row["data"])
        digest = hashlib.sha256(data).hexdigest()
        if digest != row["sha256"]:
            problems.append(Problem("E-DB-FILE", f"the stored bytes of {file!r} do not match their SHA-256",
                                    file=ref, layer=name, hint="write the dataset again"))
            continue
        meta = LayerMeta(name=name, file=file, source=str(row["source"] or "unknown"),
                         licence=str(row["licence"] or "unknown"), datum=str(row["datum"] or "WGS84"),
                         crs=str(row["crs"] or ""), illustrative=bool(row["illustrative"]),
                         note=str(row["note"] or ""))
        if kind == "table":
            try:
                values = parse_table(data.decode("utf-8"), file=file)
            except (NbgeoError, UnicodeDecodeError) as exc:
                problems.append(Problem(getattr(exc, "code", "E-ENC-INVALID"), str(exc), file=ref, layer=name))
                continue
            tables[name] = IndicatorTable(values=values, file=file, source=meta.source, licence=meta.licence,
                                          illustrative=meta.illustrative, note=meta.note)
            continue
        folder = folder or _file_folder()
        try:
            paths.check_name(name, what=f"{kind} name")
            target = _put(folder, digest, name, file)
        except InputError as exc:
            problems.append(Problem(exc.code, exc.message, file=ref, layer=name))
            continue
        if not (target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest):
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.part")
            partial.write_bytes(data)
            partial.replace(target)
        if kind == "raster":
            info, found = verify_raster(target, name=name, expected_crs=meta.crs or None)
            problems += [Problem(p.code, p.message, file=ref, layer=name, hint=p.hint) for p in found]
            if info is not None:
                rasters[name] = Raster(str(target), replace(meta, crs=info.crs), crs=info.crs)
        else:
            networks[name] = NetworkFile(path=str(target), meta=replace(meta, crs=meta.crs or "EPSG:4326"),
                                         network_type=str(row["network_type"] or "drive"),
                                         declared_crs=row["crs"] or None)
        log.info("Read %s %r from %s (%d bytes)", kind, name, ref, len(data))
    return rasters, networks, tables


