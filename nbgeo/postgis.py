"""Audits written into PostGIS; and, for old code, the PostGIS reader and writer of :mod:`nbgeo.io`.

nbgeo reads and writes datasets in PostGIS with :mod:`nbgeo.io.postgis`
(reading, connections, URLs) and :mod:`nbgeo.io.pg_write` (writing); this
module re-exports them under their old names, so ``nbgeo.postgis.read_dataset``
and ``nbgeo.postgis.write_dataset`` keep working. It holds the writer of an
audit's results, :func:`write_report`, which sits above the renderers in the
import flow (it writes the report's JSON) and so cannot live in :mod:`nbgeo.io`.

**Writing an audit.** :func:`write_report` writes, in one transaction:

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

Every row of these tables but ``nbgeo_audits`` has two fixed columns saying how binding it is and what it
rests on (issue 15): ``severity text`` (禁止, 限制 or 建议; NULL for an entry that is no verdict) and
``basis jsonb`` (``{"phrase", "instrument", "kind", "article", "url"}``, the plan's basis of the entry: query
``basis->>'instrument'``, ``basis->>'article'``). A finding listed in an entry (a rule's ``findings``) and an
overlay feature carry its rule's or requirement's. One ``jsonb`` column rather than four text columns keeps
the basis whole, as ``audit.json`` has it, and lets a later key (``url``) arrive without altering tables.

An audit is identified by ``(plan_id, dataset, audit_year)``: writing it again
first deletes its rows from every ``nbgeo_`` table, so a rerun never
duplicates anything, and other audits in the same tables are left alone. If
the connection dies midway, PostgreSQL rolls the transaction back.

Examples
--------
>>> mask_dsn("postgresql://planner:s3cret@db.example:5432/gis?schema=ningbo")
'postgresql://planner:***@db.example:5432/gis?schema=ningbo'
>>> parse_url("postgresql://planner:s3cret@db.example/gis?schema=ningbo").schema
'ningbo'
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pandas as pd
import shapely

from . import report as report_mod
from .errors import InputError, NbgeoError
from .io.pg_write import ensure_columns, jsonb, lock_schema, scalar, to_wkb_list, value_kind, write_dataset
from .io.postgis import (
    DATASET_TABLE,
    FILES_TABLE,
    IDENT,
    MANIFEST_TABLE,
    PgLocation,
    check_identifier,
    connect,
    db_error,
    driver,
    is_postgres_url,
    mask_dsn,
    parse_url,
    read_dataset,
)
from .plan import basis_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import psycopg

    from .audit import AuditReport
    from .layers import Dataset

__all__ = [
    "DATASET_TABLE",
    "FILES_TABLE",
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

#: Columns identifying one audit in every table.
_KEY = ("plan_id", "dataset", "audit_year")
_RESERVED = {*_KEY, "entry", "item", "parent_id", "data", "geom", "overlay", "status", "geometry", "severity", "basis"}
_TARGET_COLUMNS = (
    ("id", "text NOT NULL"), ("layer", "text"), ("metric", "text"), ("year", "integer NOT NULL"), ("op", "text"),
    ("threshold", "double precision"), ("actual", "double precision"), ("unit", "text"), ("status", "text"),
    ("margin", "double precision"), ("title", "text"), ("phrase", "text"), ("note", "text"), ("proposed", "boolean"),
    ("severity", "text"),
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
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    ident = sql.Identifier(loc.schema, table)
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (plan_id text NOT NULL, dataset text NOT NULL, audit_year integer NOT NULL, "
        "{}status text, severity text, basis jsonb, data jsonb NOT NULL, geom geometry(Geometry, 4326), "
        "PRIMARY KEY (plan_id, dataset, audit_year, {}))").format(
            ident,
            sql.SQL("").join(sql.SQL("{} {}, ").format(sql.Identifier(c), sql.SQL(t)) for c, t in extra.items()),
            sql.SQL(", ").join(sql.Identifier(c) for c, t in extra.items() if "NOT NULL" in t)))
    _add_binding_columns(conn, ident)
    index = check_identifier(f"{table[:50]}_geom_gist", what="index")
    conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist (geom)").format(sql.Identifier(index), ident))


def _add_binding_columns(conn: psycopg.Connection[Any], ident: Any) -> None:
    """``severity`` and ``basis`` on a table an older nbgeo made without them."""
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS severity text, "
                         "ADD COLUMN IF NOT EXISTS basis jsonb").format(ident))


def _binding(entry: Mapping[str, Any]) -> tuple[str | None, Any]:
    """An entry's severity and basis as the ``severity`` and ``basis`` columns hold them (NULL when it has none)."""
    severity, basis = entry.get("severity"), entry.get("basis")
    return (None if severity is None else str(severity)), (jsonb(dict(basis)) if isinstance(basis, dict) else None)


def _insert_rows(conn: psycopg.Connection[Any], loc: PgLocation, table: str, entries: Sequence[Mapping[str, Any]],
                 key: tuple[Any, ...], extra: Mapping[str, str], extra_values: Sequence[Sequence[Any]],
                 geoms: Sequence[Any]) -> int:
    """Insert JSON-ready dicts: scalar fields with safe names as typed columns, the whole dict as jsonb."""
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    _create_rows_table(conn, loc, table, extra)
    if not entries:
        return 0
    names: dict[str, None] = {}
    for entry in entries:
        names.update(dict.fromkeys(entry))
    promoted: dict[str, str] = {}
    for name in names:
        if name in _RESERVED or name in extra or not IDENT.match(name):
            continue
        kind = value_kind(entry.get(name) for entry in entries)
        if kind is not None:
            promoted[name] = kind
    kinds = ensure_columns(conn, loc.schema, table, promoted)
    columns = [*_KEY, *extra, "status", "severity", "basis", "data", "geom", *promoted]
    values: list[sql.Composable] = [sql.Placeholder()] * (len(_KEY) + len(extra) + 4)
    values.append(sql.SQL("ST_SetSRID(ST_GeomFromWKB({}), 4326)").format(sql.Placeholder()))
    values += [sql.Placeholder()] * len(promoted)
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(loc.schema, table), sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join(values))
    wkb = to_wkb_list(list(geoms))
    rows = []
    for entry, head, geom in zip(entries, extra_values, wkb, strict=True):
        data = {k: v for k, v in entry.items() if k != "geometry"}
        status = entry.get("status")
        rows.append((*key, *head, None if status is None else str(status), *_binding(entry), jsonb(data), geom,
                     *(scalar(entry.get(c), kinds.get(c, promoted[c])) for c in promoted)))
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
        if not IDENT.match(field_name) or not IDENT.match(f"{table}_{field_name}"):
            log.warning("Section table %s: field %r is kept in the data column only (not a safe table name)",
                        table, field_name)
            continue
        items, heads, geoms = [], [], []
        for i, entry in enumerate(entries):
            listed = entry.get(field_name)
            if not isinstance(listed, list):
                continue
            inherited = {k: entry[k] for k in ("severity", "basis") if k in entry}
            for j, item in enumerate(listed):
                if isinstance(item, dict):
                    items.append({**inherited, **item})  # an item says its own severity, else its entry's
                    heads.append((i, j, None if entry.get("id") is None else str(entry.get("id"))))
                    geoms.append(_entry_geometry(item, dataset, parent=entry))
        child = f"{table}_{field_name}"
        counts[child] = _insert_rows(conn, loc, child, items, key, {
            "entry": "integer NOT NULL", "item": "integer NOT NULL", "parent_id": "text"}, heads, geoms)
    return counts


def _overlay_binding(plan: Any, rule: str | None, coverage: str | None) -> dict[str, Any]:
    """The severity and basis (whole) of the rule or coverage requirement that drew an overlay feature."""
    item = next((r for r in plan.rules if r.id == rule), None) if rule is not None else None
    if item is None and coverage is not None:
        item = next((c for c in plan.coverage if c.id == coverage), None)
    return {} if item is None else {"severity": str(item.severity), "basis": basis_of(item)}


def _clear_audit(conn: psycopg.Connection[Any], loc: PgLocation, prefix: str, key: tuple[Any, ...]) -> None:
    """Delete this audit's rows from every table of the prefix that holds audits (earlier runs included)."""
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

    rows = conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = %s AND column_name = ANY(%s) "
        "GROUP BY table_name HAVING count(*) = %s",
        (loc.schema, list(_KEY), len(_KEY))).fetchall()
    for (table,) in rows:
        if str(table).startswith(prefix) and IDENT.match(str(table)):
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
    psycopg = driver()
    from psycopg import sql  # noqa: PLC0415  (optional extra: nbgeo[postgis])

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
                lock_schema(conn, loc.schema)
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
                     report.exit_code == 0, jsonb(document["summary"]), jsonb(document)))
                done({tables["audits"]: 1})

                targets = sql.Identifier(loc.schema, tables["targets"])
                conn.execute(sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (plan_id text NOT NULL, dataset text NOT NULL, "
                    "audit_year integer NOT NULL, {}, basis jsonb, PRIMARY KEY (plan_id, dataset, audit_year, id, year))"
                    ).format(targets, sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
                                                         for c, t in _TARGET_COLUMNS)))
                _add_binding_columns(conn, targets)
                names = [c for c, _ in _TARGET_COLUMNS]
                insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    targets, sql.SQL(", ").join(sql.Identifier(c) for c in [*_KEY, *names, "basis"]),
                    sql.SQL(", ").join(sql.Placeholder() * (len(_KEY) + len(names) + 1)))
                rows = []
                for result in report.targets:
                    values = result.to_dict()
                    rows.append((*key, *(scalar(values[c], _TARGET_KINDS[c]) for c in names), _binding(values)[1]))
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
                    rules = g["rule"].astype(str).to_numpy() if "rule" in g.columns else [None] * len(g)
                    for i, (fid, values, geom, rule) in enumerate(zip(
                            g.index, g[attrs].itertuples(index=False, name=None), g.geometry.values, rules, strict=True)):
                        overlay_entries.append({"feature": fid, **dict(zip(attrs, values, strict=True)),
                                                **_overlay_binding(report.plan, rule, gdf.attrs.get("nbgeo_coverage")),
                                                "geometry": geom})
                        heads.append((str(title), i))
                done({tables["overlays"]: _insert_rows(
                    conn, loc, tables["overlays"], overlay_entries, key,
                    {"overlay": "text NOT NULL", "entry": "integer NOT NULL"}, heads,
                    [e["geometry"] for e in overlay_entries])})
        except NbgeoError:
            raise
        except psycopg.Error as exc:
            raise db_error(exc, loc, "writing the audit") from None
    log.info("Wrote the audit of %s (%s, %d) to %s", report.dataset.name, report.plan.id, report.year, loc.display)
    return counts
