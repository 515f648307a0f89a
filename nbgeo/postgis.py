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
=================  =========================================================

An optional one-row table ``nbgeo_dataset (name, title)`` names the dataset;
without it the dataset is named after the schema. Layers are validated exactly
as files are (:func:`nbgeo.validate.verify_layer`), converted to WGS 84 and
indexed by their id. :func:`write_dataset` creates all of this from a
:class:`~nbgeo.layers.Dataset`. Rasters (a DEM) and road networks stay files:
a dataset read from PostGIS has vector layers only, so its slope rules and its
measures by road are ``unknown``, saying why.

**Writing.** :func:`write_report` writes, in one transaction:

- ``nbgeo_audits``: one row per audit (plan, dataset, year) with its summary and
  the whole ``audit.json`` as ``jsonb``;
- ``nbgeo_targets``: one row per target and year;
- ``nbgeo_<section>`` for every further section of the report (``rules``,
  ``coverage``, ...): one row per entry, its scalar fields as typed columns,
  the whole entry as ``jsonb``, and its geometry (``geometry(Geometry, 4326)``)
  when the entry names one (a ``geometry`` field, or a ``feature_id`` of the
  layer it names);
- ``nbgeo_<section>_<field>`` for every field of an entry that lists items,
  such as a rule's ``findings`` or a coverage requirement's ``uncovered``
  sites: one row per item, with the geometry of the site it names;
- ``nbgeo_overlays``: the map's overlay geometry (offending pieces, service areas...).

An audit is identified by ``(plan_id, dataset, audit_year)``: writing it again
first deletes its rows from every ``nbgeo_`` table, so a rerun never
duplicates anything, and other audits in the same tables are left alone. If
the connection dies midway, PostgreSQL rolls the transaction back: no table is
left half-written (the tables themselves are created inside the same
transaction).

Safety: every value is a bound parameter (or, when :func:`write_dataset` loads
layers, a row of ``COPY`` data: never SQL text); every table, column and schema
name is checked against ``^[A-Za-z_][A-Za-z0-9_]{0,62}$`` (``E-DB-IDENT``) and
quoted with :class:`psycopg.sql.Identifier`; no SQL is built with f-strings.

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

import json
import logging
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
import pandas as pd

from .dsn import is_url, mask_dsn, split_url
from .errors import CRSError, DatabaseError, InputError, NbgeoError, Problem

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    import geopandas as gpd
    import psycopg

    from .audit import AuditReport
    from .layers import Dataset

__all__ = [
    "DATASET_TABLE",
    "MANIFEST_TABLE",
    "PgLocation",
    "check_identifier",
    "connect",
    "is_postgres_url",
    "mask_dsn",
    "parse_url",
    "read_dataset",
    "write_dataset",
    "write_report",
]

log = logging.getLogger(__name__)

#: The manifest table of a dataset schema: one row per layer.
MANIFEST_TABLE = "nbgeo_manifest"
#: The optional one-row table naming the dataset.
DATASET_TABLE = "nbgeo_dataset"

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
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
    if not isinstance(name, str) or not _IDENT.match(name):
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
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict
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


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        msg = "reading or writing PostGIS needs psycopg (hint: pip install 'nbgeo[postgis]')"
        raise InputError(msg, code="E-DB-DRIVER") from None
    return psycopg


def connect(url: str | PgLocation, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """Open a psycopg connection for a database URL; ``E-DB-CONN`` (password masked) on failure.

    ``connect_timeout`` defaults to 10 seconds unless the URL sets it.
    """
    psycopg = _driver()
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


def _db_error(exc: Exception, loc: PgLocation, action: str) -> DatabaseError:
    """Turn a psycopg error into a DatabaseError whose message shows no password."""
    import psycopg

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


def _columns(conn: psycopg.Connection[Any], schema: str, table: str) -> list[tuple[str, str]]:
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
    from psycopg import sql

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
    from psycopg import sql
    from psycopg.rows import dict_row

    cols = {name for name, _ in _columns(conn, loc.schema, manifest)}
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


def _layer_meta(row: Mapping[str, Any], *, where: str) -> Any:
    from .crs import DATUMS
    from .layers import LayerMeta

    def text(key: str, default: str) -> str:
        value = row.get(key)
        return default if value is None else str(value)

    datum = text("datum", "WGS84")
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
        note=text("note", ""),
    )


def _build_layer(conn: psycopg.Connection[Any], loc: PgLocation, row: Mapping[str, Any],
                 meta: Any) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    import geopandas as gpd
    import shapely

    from .crs import convert_gdf_datum

    name = meta.name
    schema, table = _table_ref(meta.file, loc.schema, where=f"{loc.display} layer {name!r}")
    ref = f"{schema}.{table}"
    columns = _columns(conn, schema, table)
    if not columns:
        return None, [Problem("E-LAYER-MISSING", f"table {ref} does not exist", file=ref, layer=name,
                              hint=f"correct table_name in {MANIFEST_TABLE}, or load the layer")]
    geoms = _geometry_info(conn, schema, table)
    wanted = row.get("geometry_column")
    if wanted:
        geom = check_identifier(str(wanted), what=f"layer {name!r}: geometry_column")
        if geom not in geoms:
            return None, [Problem("E-LAYER-GEOMTYPE", f"table {ref} has no geometry column {geom!r}", file=ref,
                                  layer=name, column=geom, hint=f"geometry columns: {', '.join(geoms) or '(none)'}")]
    elif len(geoms) == 1:
        geom = next(iter(geoms))
    else:
        what = "no geometry column" if not geoms else f"several geometry columns ({', '.join(sorted(geoms))})"
        return None, [Problem("E-LAYER-GEOMTYPE", f"table {ref} has {what}", file=ref, layer=name,
                              hint=f"set geometry_column in {MANIFEST_TABLE}")]
    id_column = str(row.get("id_column") or "id")
    names = [c for c, udt in columns if c != geom and udt not in ("geometry", "geography")]
    for column in names:
        check_identifier(column, what=f"table {ref}: column")
    order_by = id_column if id_column in names else None
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
    return gdf, problems


def read_dataset(url: str | PgLocation, *, manifest: str = MANIFEST_TABLE, working_crs: object | None = None
                 ) -> Dataset:
    """Read a dataset from a PostGIS schema: every layer its manifest table lists.

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
        Layers in EPSG:4326 indexed by id, validated like files; ``path`` is
        the URL with its password masked.

    Raises
    ------
    nbgeo.errors.ValidationError
        Listing every problem of every layer (tables missing, bad geometry...).
    nbgeo.errors.DatabaseError
        ``E-DB-CONN`` when the server cannot be reached or the connection drops.
    """
    from .crs import dataset_crs_choice
    from .layers import Dataset, Layer
    from .validate import raise_for_problems, verify_layer

    loc = parse_url(url)
    check_identifier(manifest, what="manifest table")
    psycopg = _driver()
    layers: dict[str, Layer] = {}
    problems: list[Problem] = []
    with connect(loc) as conn:
        try:
            rows = _manifest_rows(conn, loc, manifest)
            head: dict[str, Any] = {}
            if _columns(conn, loc.schema, DATASET_TABLE):
                from psycopg import sql
                from psycopg.rows import dict_row

                with conn.cursor(row_factory=dict_row) as cur:
                    head = cur.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(
                        sql.Identifier(loc.schema, DATASET_TABLE))).fetchone() or {}
            for row in rows:
                meta = _layer_meta(row, where=f"{loc.display} table {loc.schema}.{manifest}")
                gdf, found = _build_layer(conn, loc, row, meta)
                if gdf is not None:
                    found += verify_layer(gdf, layer=meta.name, file=meta.file)
                    if not any(p.is_error for p in found) and not gdf.crs.equals("EPSG:4326"):
                        gdf = gdf.to_crs(4326)
                    layers[meta.name] = Layer(gdf, meta)
                    log.info("Read layer %r: %d features from %s table %s", meta.name, len(gdf), loc.display,
                             meta.file)
                problems += found
        except NbgeoError:
            raise
        except psycopg.Error as exc:
            raise _db_error(exc, loc, "reading the dataset") from None
    choice = dataset_crs_choice(layers, problems, override=working_crs, source="--crs", file=loc.display)
    raise_for_problems(problems, context=f"dataset {loc.display}")
    return Dataset(name=str(head.get("name") or loc.schema), layers=layers, path=loc.display,
                   title=str(head.get("title") or ""), problems=tuple(problems), crs_choice=choice)


# --------------------------------------------------------------------------------------------------------------
# Writing: shared helpers
# --------------------------------------------------------------------------------------------------------------

_PG_TYPES = {"bool": "boolean", "int": "bigint", "float": "double precision", "str": "text"}
_UDT_KIND = {"bool": "bool", "int8": "int", "int4": "int", "int2": "int", "float8": "float", "float4": "float",
             "numeric": "float", "text": "str", "varchar": "str"}


def _is_null(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _kind(values: Iterable[Any]) -> str | None:
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


def _scalar(value: Any, kind: str) -> Any:
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


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(_json_ready(value), dumps=lambda obj: json.dumps(obj, ensure_ascii=False, allow_nan=False))


def _lock(conn: psycopg.Connection[Any], schema: str) -> None:
    """Serialise nbgeo writers on one schema for the rest of the transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"nbgeo:{schema}",))


def _existing_columns(conn: psycopg.Connection[Any], schema: str, table: str) -> dict[str, str]:
    return {name: _UDT_KIND.get(udt, udt) for name, udt in _columns(conn, schema, table)}


def _ensure_columns(conn: psycopg.Connection[Any], schema: str, table: str, wanted: Mapping[str, str]) -> dict[str, str]:
    """Add missing typed columns and widen existing ones; return each column's kind afterwards."""
    from psycopg import sql

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


def _wkb(geoms: Sequence[Any]) -> list[bytes | None]:
    import shapely

    arr = np.asarray(geoms, dtype=object)
    out = shapely.to_wkb(arr) if len(arr) else np.array([], dtype=object)
    return [None if g is None else bytes(g) for g in out]


# --------------------------------------------------------------------------------------------------------------
# Writing a dataset (layers + manifest)
# --------------------------------------------------------------------------------------------------------------


def _geometry_type(gdf: gpd.GeoDataFrame) -> str:
    import shapely

    types = set(shapely.get_type_id(np.asarray(gdf.geometry.values))) - {-1}
    names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}
    return names[types.pop()] if len(types) == 1 and next(iter(types)) in names else "Geometry"


def write_dataset(dataset: Dataset, url: str | PgLocation, *, replace: bool = False,
                  manifest: str = MANIFEST_TABLE) -> list[str]:
    """Load a dataset into a PostGIS schema: one table per layer, plus the manifest.

    Everything happens in one transaction. Each layer becomes a table named
    after it, with ``id text PRIMARY KEY``, its columns (typed from pandas),
    and ``geom geometry(<type>, 4326)`` with a GiST index. Rows are sent with
    ``COPY``, so values never become SQL text.

    Parameters
    ----------
    dataset
        The dataset (layers in EPSG:4326, indexed by id).
    url
        Where: ``postgresql://...?schema=NAME``; the schema is created if needed.
    replace
        Replace layer tables that already exist; otherwise ``E-DB-EXISTS``.
    manifest
        The manifest table's name.

    Returns
    -------
    list of str
        The tables written, ``schema.table``.
    """
    psycopg = _driver()
    from psycopg import sql

    loc = parse_url(url)
    check_identifier(manifest, what="manifest table")
    for name in dataset.names:
        check_identifier(name, what="layer name")
    written = []
    with connect(loc) as conn:
        try:
            with conn.transaction():
                _lock(conn, loc.schema)
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(loc.schema)))
                conn.execute(sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (layer text PRIMARY KEY, table_name text NOT NULL, "
                    "geometry_column text, id_column text DEFAULT 'id', source text, licence text, "
                    "datum text DEFAULT 'WGS84', crs text, illustrative boolean DEFAULT false, note text, "
                    "position integer)").format(sql.Identifier(loc.schema, manifest)))
                conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (name text, title text)").format(
                    sql.Identifier(loc.schema, DATASET_TABLE)))
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(loc.schema, DATASET_TABLE)))
                conn.execute(sql.SQL("INSERT INTO {} (name, title) VALUES (%s, %s)").format(
                    sql.Identifier(loc.schema, DATASET_TABLE)), (dataset.name, dataset.title))
                for position, name in enumerate(dataset.names):
                    layer = dataset.layer(name)
                    written.append(_copy_layer(conn, loc, name, layer.gdf, replace=replace))
                    conn.execute(sql.SQL("DELETE FROM {} WHERE layer = %s").format(
                        sql.Identifier(loc.schema, manifest)), (name,))
                    meta = layer.meta
                    # The table holds WGS 84 now, whatever the source file had: record that.
                    conn.execute(sql.SQL(
                        "INSERT INTO {} (layer, table_name, geometry_column, id_column, source, licence, datum, "
                        "crs, illustrative, note, position) VALUES (%s, %s, 'geom', 'id', %s, %s, 'WGS84', "
                        "'EPSG:4326', %s, %s, %s)").format(sql.Identifier(loc.schema, manifest)),
                        (name, name, meta.source, meta.licence, meta.illustrative, meta.note, position))
        except NbgeoError:
            raise
        except psycopg.Error as exc:
            raise _db_error(exc, loc, "writing the dataset") from None
    log.info("Wrote %d layers to %s", len(written), loc.display)
    return written


def _copy_layer(conn: psycopg.Connection[Any], loc: PgLocation, name: str, gdf: gpd.GeoDataFrame, *,
                replace: bool) -> str:
    import shapely
    from psycopg import sql

    table = sql.Identifier(loc.schema, name)
    if _columns(conn, loc.schema, name):
        if not replace:
            msg = f"{loc.display}: table {loc.schema}.{name} exists (hint: pass replace=True to replace it)"
            raise DatabaseError(msg, code="E-DB-EXISTS")
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
    attrs = [c for c in gdf.columns if c != gdf.geometry.name]
    kinds: dict[str, str] = {}
    for column in attrs:
        check_identifier(column, what=f"layer {name!r}: column")
        if column in ("id", "geom"):
            msg = f"layer {name!r}: column {column!r} clashes with the table's own {column!r} column"
            raise InputError(msg, code="E-DB-IDENT")
        kinds[column] = _kind(gdf[column].tolist()) or "str"
    columns: list[sql.Composable] = [sql.SQL("id text PRIMARY KEY")]
    columns += [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_PG_TYPES[kinds[c]])) for c in attrs]
    columns.append(sql.SQL("geom geometry({}, 4326)").format(sql.SQL(_geometry_type(gdf))))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(columns)))
    geoms = np.asarray(gdf.to_crs(4326).geometry.values if gdf.crs is not None else gdf.geometry.values)
    ewkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True) if len(geoms) else []
    values = [[_scalar(v, kinds[c]) for v in gdf[c].tolist()] for c in attrs]
    ids = [None if pd.isna(i) else str(i) for i in gdf.index]
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table, sql.SQL(", ").join(sql.Identifier(c) for c in ["id", *attrs, "geom"]))
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for i, fid in enumerate(ids):
            copy.write_row([fid, *(col[i] for col in values), ewkb[i]])
    index = check_identifier(f"{name[:50]}_geom_gist", what="index")
    conn.execute(sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(sql.Identifier(index), table))
    return f"{loc.schema}.{name}"


# --------------------------------------------------------------------------------------------------------------
# Writing an audit
# --------------------------------------------------------------------------------------------------------------

#: Columns identifying one audit in every table.
_KEY = ("plan_id", "dataset", "audit_year")
_RESERVED = {*_KEY, "entry", "item", "parent_id", "data", "geom", "overlay", "status", "geometry"}
_TARGET_COLUMNS = (
    ("id", "text NOT NULL"), ("layer", "text"), ("metric", "text"), ("year", "integer NOT NULL"), ("op", "text"),
    ("threshold", "double precision"), ("actual", "double precision"), ("unit", "text"), ("status", "text"),
    ("margin", "double precision"), ("title", "text"), ("phrase", "text"), ("note", "text"), ("proposed", "boolean"),
)
_TARGET_KINDS = {name: {"text NOT NULL": "str", "text": "str", "integer NOT NULL": "int",
                        "double precision": "float", "boolean": "bool"}[sql_type] for name, sql_type in _TARGET_COLUMNS}
#: Keys naming the layer, and the feature, that an entry (or an item listed in it) is about.
_LAYER_KEYS = ("layer", "demand")
_FEATURE_KEYS = ("feature_id", "feature")


def _feature_geometry(dataset: Dataset, layer: Any, feature: Any) -> Any:
    if not isinstance(layer, str) or feature is None or layer not in dataset:
        return None
    geoms = dataset[layer].geometry
    key = str(feature)
    if key not in geoms.index:
        return None
    found = geoms.loc[key]
    return found.iloc[0] if isinstance(found, pd.Series) else found


def _entry_geometry(entry: Mapping[str, Any], dataset: Dataset, *, parent: Mapping[str, Any] | None = None) -> Any:
    """The geometry an entry names, in WGS 84, or None.

    A ``geometry`` field (GeoJSON mapping, WKT or shapely geometry) wins;
    otherwise the dataset feature named by ``feature_id`` / ``feature`` (and,
    for an item listed inside an entry, ``id``) in the layer named by
    ``layer`` / ``demand`` of the entry or of its parent.
    """
    import shapely

    geom = entry.get("geometry")
    if isinstance(geom, dict):
        return shapely.from_geojson(json.dumps(geom))
    if isinstance(geom, str):
        return shapely.from_wkt(geom)
    if isinstance(geom, shapely.Geometry):
        return geom
    keys = (*_FEATURE_KEYS, "id") if parent is not None else _FEATURE_KEYS
    feature = next((entry[k] for k in keys if entry.get(k) is not None), None)
    scopes = [entry, parent or {}]
    layer = next((scope[k] for scope in scopes for k in _LAYER_KEYS if isinstance(scope.get(k), str)), None)
    return _feature_geometry(dataset, layer, feature)


def _create_rows_table(conn: psycopg.Connection[Any], loc: PgLocation, table: str, extra: Mapping[str, str]) -> None:
    from psycopg import sql

    ident = sql.Identifier(loc.schema, table)
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (plan_id text NOT NULL, dataset text NOT NULL, audit_year integer NOT NULL, "
        "{}status text, data jsonb NOT NULL, geom geometry(Geometry, 4326), "
        "PRIMARY KEY (plan_id, dataset, audit_year, {}))").format(
            ident,
            sql.SQL("").join(sql.SQL("{} {}, ").format(sql.Identifier(c), sql.SQL(t)) for c, t in extra.items()),
            sql.SQL(", ").join(sql.Identifier(c) for c, t in extra.items() if "NOT NULL" in t)))
    index = check_identifier(f"{table[:50]}_geom_gist", what="index")
    conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist (geom)").format(sql.Identifier(index), ident))


def _insert_rows(conn: psycopg.Connection[Any], loc: PgLocation, table: str, entries: Sequence[Mapping[str, Any]],
                 key: tuple[Any, ...], extra: Mapping[str, str], extra_values: Sequence[Sequence[Any]],
                 geoms: Sequence[Any]) -> int:
    """Insert JSON-ready dicts: scalar fields with safe names as typed columns, the whole dict as jsonb."""
    from psycopg import sql

    _create_rows_table(conn, loc, table, extra)
    if not entries:
        return 0
    names: dict[str, None] = {}
    for entry in entries:
        names.update(dict.fromkeys(entry))
    promoted: dict[str, str] = {}
    for name in names:
        if name in _RESERVED or name in extra or not _IDENT.match(name):
            continue
        kind = _kind(entry.get(name) for entry in entries)
        if kind is not None:
            promoted[name] = kind
    kinds = _ensure_columns(conn, loc.schema, table, promoted)
    columns = [*_KEY, *extra, "status", "data", "geom", *promoted]
    values: list[sql.Composable] = [sql.Placeholder()] * (len(_KEY) + len(extra) + 2)
    values.append(sql.SQL("ST_SetSRID(ST_GeomFromWKB({}), 4326)").format(sql.Placeholder()))
    values += [sql.Placeholder()] * len(promoted)
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(loc.schema, table), sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(values))
    wkb = _wkb(list(geoms))
    rows = []
    for entry, head, geom in zip(entries, extra_values, wkb, strict=True):
        data = {k: v for k, v in entry.items() if k != "geometry"}
        status = entry.get("status")
        rows.append((*key, *head, None if status is None else str(status), _jsonb(data), geom,
                     *(_scalar(entry.get(c), kinds.get(c, promoted[c])) for c in promoted)))
    with conn.cursor() as cur:
        cur.executemany(insert, rows)
    return len(rows)


def _write_section(conn: psycopg.Connection[Any], loc: PgLocation, table: str, entries: Sequence[Mapping[str, Any]],
                   key: tuple[Any, ...], dataset: Dataset) -> dict[str, int]:
    """One section: a row per entry, and a child table per field that lists dicts (``findings``, ...)."""
    counts = {table: _insert_rows(
        conn, loc, table, entries, key, {"entry": "integer NOT NULL"}, [(i,) for i in range(len(entries))],
        [_entry_geometry(e, dataset) for e in entries])}
    nested: dict[str, None] = {}
    for entry in entries:
        nested.update(dict.fromkeys(k for k, v in entry.items()
                                    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)))
    for field_name in nested:
        if not _IDENT.match(field_name) or not _IDENT.match(f"{table}_{field_name}"):
            log.warning("Section table %s: field %r is kept in the data column only (not a safe table name)",
                        table, field_name)
            continue
        items, heads, geoms = [], [], []
        for i, entry in enumerate(entries):
            listed = entry.get(field_name)
            if not isinstance(listed, list):
                continue
            for j, item in enumerate(listed):
                if isinstance(item, dict):
                    items.append(item)
                    heads.append((i, j, None if entry.get("id") is None else str(entry.get("id"))))
                    geoms.append(_entry_geometry(item, dataset, parent=entry))
        child = f"{table}_{field_name}"
        counts[child] = _insert_rows(conn, loc, child, items, key, {
            "entry": "integer NOT NULL", "item": "integer NOT NULL", "parent_id": "text"}, heads, geoms)
    return counts


def _clear_audit(conn: psycopg.Connection[Any], loc: PgLocation, prefix: str, key: tuple[Any, ...]) -> None:
    """Delete this audit's rows from every table of the prefix that holds audits (earlier runs included)."""
    from psycopg import sql

    rows = conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = %s AND column_name = ANY(%s) "
        "GROUP BY table_name HAVING count(*) = %s",
        (loc.schema, list(_KEY), len(_KEY))).fetchall()
    for (table,) in rows:
        if str(table).startswith(prefix) and _IDENT.match(str(table)):
            conn.execute(sql.SQL("DELETE FROM {} WHERE plan_id = %s AND dataset = %s AND audit_year = %s").format(
                sql.Identifier(loc.schema, str(table))), key)


def write_report(report: AuditReport, url: str | PgLocation, *, prefix: str = "nbgeo_",
                 progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Write an audit into tables of a PostGIS schema, in one transaction.

    Writes ``<prefix>audits``, ``<prefix>targets``, one ``<prefix><section>``
    per section of the report (``rules``, ``coverage``, ...) with a child table
    ``<prefix><section>_<field>`` for each field that lists items (a rule's
    ``findings``, a coverage requirement's ``uncovered`` sites), and
    ``<prefix>overlays`` (see the module docstring). Rows carry the geometry
    of the feature they name. The audit's rows are keyed by ``(plan_id,
    dataset, audit_year)``: writing the same audit again first deletes them
    from every table of the prefix, so reruns never duplicate rows and leave
    other audits alone. Writers of one schema take turns (a transaction-level
    advisory lock).

    Parameters
    ----------
    report
        The audit.
    url
        ``postgresql://...?schema=NAME``; the schema and tables are created if needed.
    prefix
        Prefix of the table names.
    progress
        Called with ``(table, rows)`` after each table is written (inside the
        transaction: nothing is visible to others until all are).

    Returns
    -------
    dict
        Rows written per table (``schema.table``).

    Raises
    ------
    nbgeo.errors.DatabaseError
        ``E-DB-CONN`` if the connection is lost (nothing was written: run it
        again), ``E-DB-WRITE`` if the server refuses a statement.
    """
    psycopg = _driver()
    from psycopg import sql

    from . import report as report_mod

    loc = parse_url(url)
    check_identifier(prefix + "x", what="table prefix")
    clash = set(report.sections) & {"audits", "targets", "overlays"}
    if clash:
        msg = f"report section {sorted(clash)[0]!r} clashes with nbgeo's own table of that name"
        raise InputError(msg, code="E-DB-IDENT")
    tables = {name: check_identifier(f"{prefix}{name}", what=f"table for section {name!r}")
              for name in ("audits", "targets", *report.sections, "overlays")}
    key = (report.plan.id, report.dataset.name, int(report.year))
    document = json.loads(report_mod.to_json(report))
    counts: dict[str, int] = {}

    def done(written: Mapping[str, int]) -> None:
        for table, rows in written.items():
            counts[f"{loc.schema}.{table}"] = rows
            log.info("Wrote %d rows to %s.%s", rows, loc.schema, table)
            if progress is not None:
                progress(table, rows)

    with connect(loc) as conn:
        try:
            with conn.transaction():
                _lock(conn, loc.schema)
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(loc.schema)))
                _clear_audit(conn, loc, prefix, key)
                audits = sql.Identifier(loc.schema, tables["audits"])
                conn.execute(sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (plan_id text NOT NULL, dataset text NOT NULL, "
                    "audit_year integer NOT NULL, created timestamptz NOT NULL, nbgeo text, plan_title text, "
                    "exit_code integer NOT NULL, passed boolean NOT NULL, summary jsonb NOT NULL, "
                    "report jsonb NOT NULL, PRIMARY KEY (plan_id, dataset, audit_year))").format(audits))
                conn.execute(sql.SQL(
                    "INSERT INTO {} (plan_id, dataset, audit_year, created, nbgeo, plan_title, exit_code, passed, "
                    "summary, report) VALUES (%s, %s, %s, %s::timestamptz, %s, %s, %s, %s, %s, %s)").format(audits),
                    (*key, report.created, document.get("nbgeo"), report.plan.title, report.exit_code,
                     report.exit_code == 0, _jsonb(document["summary"]), _jsonb(document)))
                done({tables["audits"]: 1})

                targets = sql.Identifier(loc.schema, tables["targets"])
                conn.execute(sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (plan_id text NOT NULL, dataset text NOT NULL, "
                    "audit_year integer NOT NULL, {}, PRIMARY KEY (plan_id, dataset, audit_year, id, year))").format(
                        targets, sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
                                                    for c, t in _TARGET_COLUMNS)))
                names = [c for c, _ in _TARGET_COLUMNS]
                insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    targets, sql.SQL(", ").join(sql.Identifier(c) for c in [*_KEY, *names]),
                    sql.SQL(", ").join(sql.Placeholder() * (len(_KEY) + len(names))))
                rows = []
                for result in report.targets:
                    values = result.to_dict()
                    rows.append((*key, *(_scalar(values[c], _TARGET_KINDS[c]) for c in names)))
                with conn.cursor() as cur:
                    cur.executemany(insert, rows)
                done({tables["targets"]: len(rows)})

                for name, entries in report.sections.items():
                    done(_write_section(conn, loc, tables[name], entries, key, report.dataset))

                overlay_entries: list[dict[str, Any]] = []
                heads: list[tuple[str, int]] = []
                for title, gdf in report.overlays.items():
                    g = gdf.to_crs(4326) if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") else gdf
                    attrs = [c for c in g.columns if c != g.geometry.name]
                    for i, (fid, values, geom) in enumerate(zip(g.index, g[attrs].itertuples(index=False, name=None),
                                                                g.geometry.values, strict=True)):
                        overlay_entries.append({"feature": fid, **dict(zip(attrs, values, strict=True)),
                                                "geometry": geom})
                        heads.append((str(title), i))
                done({tables["overlays"]: _insert_rows(
                    conn, loc, tables["overlays"], overlay_entries, key,
                    {"overlay": "text NOT NULL", "entry": "integer NOT NULL"}, heads,
                    [e["geometry"] for e in overlay_entries])})
        except NbgeoError:
            raise
        except psycopg.Error as exc:
            raise _db_error(exc, loc, "writing the audit") from None
    log.info("Wrote the audit of %s (%s, %d) to %s", report.dataset.name, report.plan.id, report.year, loc.display)
    return counts
