"""PostGIS: URLs and masking, reading a dataset, writing an audit in one transaction, killing it midway.

The database tests run against a real PostgreSQL with PostGIS (tests/pg_cluster.py).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from dataset_checks import assert_same_files
from hypothesis import given
from hypothesis import strategies as st
from shapely import Point, Polygon, box

from nbgeo import audit, crs, indicators, io, network, plan, postgis
from nbgeo.cli import main
from nbgeo.errors import DatabaseError, InputError, OutputError, ValidationError
from nbgeo.layers import Dataset

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402

# --------------------------------------------------------------------------------------------------------------
# URLs, masking and identifiers: no database needed
# --------------------------------------------------------------------------------------------------------------


# libpq refuses a NUL (%00) in any value, so parse_url does too.
@given(password=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=4,
                        max_size=30)
       .filter(lambda s: s.strip() == s and s not in "postgresql://planner@db.example:5432/gis?schema=x"))
def test_mask_hides_any_password(password: str) -> None:
    url = f"postgresql://planner:{quote(password, safe='')}@db.example:5432/gis?schema=x"
    masked = postgis.mask_dsn(url)
    assert quote(password, safe="") not in masked
    assert masked == "postgresql://planner:***@db.example:5432/gis?schema=x"
    loc = postgis.parse_url(url)
    assert loc.display == masked and str(loc) == masked and quote(password, safe="") not in repr(loc)


def test_mask_forms() -> None:
    assert postgis.mask_dsn("postgres://u:p@ss@h/d") == "postgres://u:***@h/d"  # unencoded @ in the password
    assert postgis.mask_dsn("x postgresql://u:pw@h/d and POSTGRESQL://v:pw2@k/e") == (
        "x postgresql://u:***@h/d and POSTGRESQL://v:***@k/e")
    assert postgis.mask_dsn("postgresql://h/d?user=u&password=pw&sslmode=require") == (
        "postgresql://h/d?user=u&password=***&sslmode=require")
    assert postgis.mask_dsn("dbname=d password=pw host=h") == "dbname=d password=*** host=h"
    assert postgis.mask_dsn("postgresql://u@h:5432/d") == "postgresql://u@h:5432/d"


def test_parse_url() -> None:
    loc = postgis.parse_url("postgresql://u:pw@h:5433/gis?sslmode=disable&schema=ningbo_2025")
    assert loc.schema == "ningbo_2025"
    assert loc.conninfo == "postgresql://u:pw@h:5433/gis?sslmode=disable"
    assert postgis.parse_url("postgresql://u@h/gis").schema == "public"
    with pytest.raises(InputError) as err:
        postgis.parse_url("postgresql://u:pw@h/gis?schema=a;drop")
    assert err.value.code == "E-DB-IDENT" and "pw" not in str(err.value)
    with pytest.raises(InputError) as err:
        postgis.parse_url("postgresql://u:pw@h/gis?schema=a&schema=b")
    assert err.value.code == "E-DB-URL" and ":pw@" not in str(err.value)
    with pytest.raises(InputError, match="not a postgresql://"):
        postgis.parse_url("mysql://u:pw@h/gis")


@pytest.mark.parametrize("name", ["", "1abc", "a-b", 'x"; DROP TABLE t; --', "a b", "é", "a" * 64, "a.b", None])
def test_unsafe_identifiers_are_refused(name: object) -> None:
    with pytest.raises(InputError) as err:
        postgis.check_identifier(name, what="table")
    assert err.value.code == "E-DB-IDENT"


def test_unreachable_server_message_has_no_password() -> None:
    with pytest.raises(DatabaseError) as err:
        postgis.read_dataset("postgresql://planner:Sup3rS3cret@127.0.0.1:1/gis?connect_timeout=2&schema=x")
    assert err.value.code == "E-DB-CONN"
    assert "Sup3rS3cret" not in str(err.value) and "planner:***@127.0.0.1:1" in str(err.value)


# --------------------------------------------------------------------------------------------------------------
# Helpers for the database tests
# --------------------------------------------------------------------------------------------------------------


def _schema(url: str) -> str:
    return postgis.parse_url(url).schema


def _tables(conn: psycopg.Connection, schema: str) -> set[str]:
    rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
    return {r[0] for r in rows.fetchall()}


def _count(conn: psycopg.Connection, schema: str, table: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))).fetchone()[0]


_AUDITS: dict[tuple[int, int | None], audit.AuditReport] = {}


def _audit(sample: Dataset, ningbo_plan, year: int | None = None) -> audit.AuditReport:
    """The sample's audit, run once per session and year (the tests only read it)."""
    key = (id(sample), year)
    if key not in _AUDITS:
        _AUDITS[key] = audit.run_audit(sample, ningbo_plan, year=year)
    return _AUDITS[key]


def _report_with_sections(sample: Dataset, ningbo_plan, *, n_findings: int = 4, year: int | None = None):
    """An audit of the sample with rule-like and coverage-like sections and an overlay."""
    base = _audit(sample, ningbo_plan, year)
    chargers = sample["chargers"].index[:n_findings]
    rules = [{"id": "setback_red_line", "layer": "chargers", "feature": fid, "status": "fail" if i % 3 else "pass",
              "distance_m": float(i) * 10.5, "limit_m": 50, "label": f"charger {fid}'; DROP TABLE x; --"}
             for i, fid in enumerate(chargers)]
    coverage = [{"id": "chargers_2km", "status": "fail", "covered_share": 0.91, "tags": ["a", "b"],
                 "geometry": {"type": "Polygon", "coordinates": [[[121.5, 29.8], [121.6, 29.8], [121.6, 29.9],
                                                                  [121.5, 29.8]]]}}]
    overlay = gpd.GeoDataFrame({"status": ["fail"], "label": ["uncovered <b>area</b>"]},
                               geometry=[box(121.5, 29.8, 121.52, 29.82)], crs=4326, index=["u1"])
    return audit.AuditReport(plan=base.plan, dataset=base.dataset, year=base.year, targets=base.targets,
                             sections={**base.sections, "rules": rules, "coverage": coverage},
                             overlays={**base.overlays, "Uncovered demand": overlay})


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


def test_sample_round_trip(pg_url: str, sample: Dataset) -> None:
    written = postgis.write_dataset(sample, pg_url)
    assert len(written) == len(sample.names) + 1  # and nbgeo_files: the DEM, the roads, the indicators
    back = postgis.read_dataset(pg_url)
    assert back.names == sample.names
    assert back.name == sample.name and back.title == sample.title
    assert ":***@" in back.path and postgis.parse_url(pg_url).conninfo.split("@")[0] not in back.path
    for name in sample.names:
        a, b = sample[name], back[name]
        assert list(b.index) == sorted(a.index), name  # read in id order
        b = b.loc[a.index]
        assert b.crs.equals("EPSG:4326")
        assert shapely.equals_exact(np.asarray(a.geometry.values), np.asarray(b.geometry.values), tolerance=0).all()
        for column in a.columns.drop(a.geometry.name):
            left, right = a[column].tolist(), b[column].tolist()
            assert [None if v is None or v != v else v for v in left] == [
                None if v is None or v != v else v for v in right], (name, column)
        meta, back_meta = sample.layer(name).meta, back.layer(name).meta
        assert (back_meta.source, back_meta.licence, back_meta.illustrative, back_meta.note) == (
            meta.source, meta.licence, meta.illustrative, meta.note)
    with pytest.raises(DatabaseError) as err:
        postgis.write_dataset(sample, pg_url)
    assert err.value.code == "E-DB-EXISTS"
    postgis.write_dataset(sample, pg_url, overwrite=True)
    assert len(postgis.read_dataset(pg_url)["chargers"]) == len(sample["chargers"])
    with pytest.warns(DeprecationWarning, match="overwrite"):  # the old name still works, and says so
        postgis.write_dataset(sample, pg_url, replace=True)


def test_audit_from_postgis_equals_audit_from_files(pg_url: str, sample: Dataset, ningbo_plan) -> None:
    postgis.write_dataset(sample, pg_url)
    # Targets, indicators and siting rules. The DEM travels in nbgeo_files, so slope rules are measured
    # as from files (they were 'unknown' when rasters stayed files); rules by road are left out only to
    # keep the test fast (the roads' bytes are checked in test_file_postgis_file_round_trip_keeps_everything).
    plan = replace(ningbo_plan, coverage=(), rules=tuple(r for r in ningbo_plan.rules if r.params.get("by") != "road"))
    from_db = audit.run_audit(postgis.read_dataset(pg_url), plan)
    from_files = audit.run_audit(sample, plan)
    assert from_db.targets == from_files.targets
    assert any(rule["kind"] == "slope" for rule in from_files.sections["rules"])
    assert from_db.sections["rules"] == from_files.sections["rules"]
    assert from_db.sections["indicators"] == from_files.sections["indicators"]


def _make_layer_table(conn: psycopg.Connection, schema: str, table: str, srid: int, rows: list[tuple]) -> None:
    conn.execute(sql.SQL("CREATE TABLE {} (id integer, type text, ports numeric, year integer, "
                         "geom geometry(Point, {}))").format(sql.Identifier(schema, table), sql.Literal(srid)))
    for fid, kind, ports, year, wkt in rows:
        conn.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, %s))").format(
            sql.Identifier(schema, table)), (fid, kind, ports, year, wkt, srid))


def _make_manifest(conn: psycopg.Connection, schema: str, rows: list[dict]) -> None:
    conn.execute(sql.SQL("CREATE TABLE {} (layer text, table_name text, datum text, crs text, source text, "
                         "illustrative boolean)").format(sql.Identifier(schema, "nbgeo_manifest")))
    for row in rows:
        conn.execute(sql.SQL("INSERT INTO {} (layer, table_name, datum, crs, source, illustrative) "
                             "VALUES (%s, %s, %s, %s, %s, %s)").format(sql.Identifier(schema, "nbgeo_manifest")),
                     (row["layer"], row["table_name"], row.get("datum"), row.get("crs"), row.get("source"),
                      row.get("illustrative")))


def test_hand_made_schema_with_gcj02_and_projected_srid(pg_url: str, postgis_url: str) -> None:
    schema = _schema(pg_url)
    lon, lat = 121.55, 29.87
    gcj = crs.wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    glon, glat = float(gcj[0][0]), float(gcj[1][0])
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        _make_layer_table(conn, schema, "ev_points", 4326,
                          [(7, "charging", 4.0, 2022, f"POINT({glon!r} {glat!r})"),
                           (8, "swapping", 1.5, 2023, f"POINT({glon + 0.01!r} {glat!r})")])
        _make_layer_table(conn, schema, "stations_utm", 32651, [(1, "charging", 2, 2021, "POINT(360000 3305000)")])
        _make_manifest(conn, schema, [
            {"layer": "chargers", "table_name": "ev_points", "datum": "GCJ-02", "source": "bureau", "illustrative": True},
            {"layer": "other_chargers", "table_name": f"{schema}.stations_utm"},
        ])
    ds = postgis.read_dataset(pg_url)
    assert ds.name == schema and ds.names == ("chargers", "other_chargers")
    chargers = ds["chargers"]
    assert list(chargers.index) == ["7", "8"] and chargers.index.name == "id"
    assert chargers["ports"].dtype == np.float64 and chargers["ports"].tolist() == [4.0, 1.5]
    assert abs(chargers.geometry.x.iloc[0] - lon) < 1e-6 and abs(chargers.geometry.y.iloc[0] - lat) < 1e-6
    assert ds.layer("chargers").meta.illustrative and ds.layer("chargers").meta.datum == "GCJ-02"
    # No silent datum: the manifest row declares one, or its empty cell is said to be read as WGS 84.
    assert [ds.layer(n).meta.datum_basis for n in ds.names] == ["declared", "default"]
    other = ds["other_chargers"]
    assert other.crs.equals("EPSG:4326")
    expected = gpd.GeoSeries([Point(360000, 3305000)], crs=32651).to_crs(4326).iloc[0]
    assert other.geometry.iloc[0].equals_exact(expected, 1e-9)


def test_reading_reports_every_problem(pg_url: str, postgis_url: str) -> None:
    schema = _schema(pg_url)
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id text, name text, kind text, geom geometry(Polygon, 4326))")
                     .format(sql.Identifier(schema, "cons")))
        conn.execute(sql.SQL("INSERT INTO {} VALUES ('c1', 'bowtie', 'water', "
                             "ST_GeomFromText('POLYGON((121 29, 121.1 29.1, 121.1 29, 121 29.1, 121 29))', 4326)), "
                             "('c1', 'dup', 'lava', ST_GeomFromText('POLYGON((121 29, 121.1 29, 121.1 29.1, 121 29))',"
                             " 4326))").format(sql.Identifier(schema, "cons")))
        _make_manifest(conn, schema, [{"layer": "constraints", "table_name": "cons"},
                                      {"layer": "chargers", "table_name": "nowhere"}])
    with pytest.raises(ValidationError) as err:
        postgis.read_dataset(pg_url)
    codes = {p.code for p in err.value.problems}
    assert {"E-GEOM-SELFX", "E-ID-DUPLICATE", "E-VALUE-CATEGORY", "E-LAYER-MISSING"} <= codes
    assert ":***@" in str(err.value)


def test_missing_manifest(pg_url: str) -> None:
    with pytest.raises(InputError) as err:
        postgis.read_dataset(pg_url)
    assert err.value.code == "E-MANIFEST-MISSING"


def test_wrong_password_is_not_echoed(postgis_url: str) -> None:
    bad = postgis_url.replace(postgis.parse_url(postgis_url).conninfo.split(":")[2].split("@")[0], "Wr0ngPassw0rd")
    with pytest.raises(DatabaseError) as err:
        postgis.read_dataset(bad)
    assert err.value.code == "E-DB-CONN"
    assert "Wr0ngPassw0rd" not in str(err.value) and ":***@" in str(err.value)


# --------------------------------------------------------------------------------------------------------------
# Writing an audit
# --------------------------------------------------------------------------------------------------------------


def test_write_report_tables_and_rerun(pg_url: str, postgis_url: str, sample: Dataset, ningbo_plan) -> None:
    schema = _schema(pg_url)
    report = _report_with_sections(sample, ningbo_plan)
    counts = postgis.write_report(report, pg_url)
    assert counts[f"{schema}.nbgeo_targets"] == len(report.targets)
    assert counts[f"{schema}.nbgeo_rules"] == 4 and counts[f"{schema}.nbgeo_coverage"] == 1
    again = postgis.write_report(report, pg_url)
    assert again == counts
    earlier = _report_with_sections(sample, ningbo_plan, year=2023)
    postgis.write_report(earlier, pg_url)
    with psycopg.connect(postgis_url) as conn:
        assert _count(conn, schema, "nbgeo_audits") == 2
        assert _count(conn, schema, "nbgeo_targets") == len(report.targets) + len(earlier.targets)
        rows = conn.execute(sql.SQL("SELECT id, year, actual, status, margin, proposed FROM {} WHERE audit_year = 2025 "
                                    "ORDER BY id, year").format(sql.Identifier(schema, "nbgeo_targets"))).fetchall()
        expected = sorted((r.id, r.year, r.actual, r.status, r.margin, r.proposed) for r in report.targets)
        assert rows == expected
        # Rule findings: typed columns, the whole entry as jsonb, and the feature's geometry.
        rules = conn.execute(sql.SQL(
            "SELECT feature, status, distance_m, limit_m, label, data, ST_AsBinary(geom) FROM {} "
            "WHERE audit_year = 2025 ORDER BY entry").format(sql.Identifier(schema, "nbgeo_rules"))).fetchall()
        assert [r[0] for r in rules] == list(sample["chargers"].index[:4])
        assert rules[1][1:5] == ("fail", 10.5, 50, "charger CH00002'; DROP TABLE x; --")
        assert rules[1][5]["label"] == "charger CH00002'; DROP TABLE x; --"
        assert shapely.from_wkb(rules[2][6]).equals(sample["chargers"].geometry.iloc[2])
        cov = conn.execute(sql.SQL("SELECT covered_share, data->'tags', ST_NPoints(geom) FROM {}").format(
            sql.Identifier(schema, "nbgeo_coverage"))).fetchall()
        assert cov == [(0.91, ["a", "b"], 4), (0.91, ["a", "b"], 4)]
        over = conn.execute(sql.SQL("SELECT overlay, feature, label, ST_Area(geom) FROM {} WHERE audit_year = 2025 "
                                    "AND overlay = 'Uncovered demand'").format(
                                        sql.Identifier(schema, "nbgeo_overlays"))).fetchall()
        assert over == [("Uncovered demand", "u1", "uncovered <b>area</b>", pytest.approx(0.0004))]
        summary = conn.execute(sql.SQL("SELECT exit_code, passed, summary, report->'schema' FROM {} "
                                       "WHERE audit_year = 2025").format(sql.Identifier(schema, "nbgeo_audits")))
        exit_code, passed, summ, version = summary.fetchone()
        assert (exit_code, passed, version) == (1, False, "nbgeo.audit/1")
        assert summ["rules"] == {"pass": 2, "fail": 2}


def test_rule_findings_get_their_own_table_with_geometry(pg_url: str, postgis_url: str, sample, ningbo_plan) -> None:
    """The real audit of the sample: rule findings and uncovered sites become rows with the site's geometry."""
    schema = _schema(pg_url)
    report = _audit(sample, ningbo_plan)
    if "rules" not in report.sections:
        pytest.fail("the sample plan is expected to have siting rules")
    findings = [(rule["id"], rule["layer"], f) for rule in report.sections["rules"] for f in rule["findings"]]
    assert findings, "the sample has planted violations"
    counts = postgis.write_report(report, pg_url)
    assert counts[f"{schema}.nbgeo_rules_findings"] == len(findings)
    with psycopg.connect(postgis_url) as conn:
        rows = conn.execute(sql.SQL("SELECT parent_id, feature_id, status, ST_AsBinary(geom) FROM {} "
                                    "ORDER BY entry, item").format(
                                        sql.Identifier(schema, "nbgeo_rules_findings"))).fetchall()
        overlays = _count(conn, schema, "nbgeo_overlays")
    assert overlays == sum(len(g) for g in report.overlays.values())
    for (rule_id, layer, finding), (parent, fid, status, wkb) in zip(findings, rows, strict=True):
        assert (parent, fid, status) == (rule_id, finding["feature_id"], finding["status"])
        if fid is not None and fid in sample[layer].index:
            assert shapely.from_wkb(wkb).equals(sample[layer].geometry.loc[fid])
    # Coverage: the demand sites left uncovered, each with its site's geometry.
    uncovered = [(e["layer"], u["id"]) for e in report.sections.get("coverage", []) for u in e.get("uncovered", [])]
    if uncovered:
        with psycopg.connect(postgis_url) as conn:
            got = conn.execute(sql.SQL("SELECT id, ST_AsBinary(geom) FROM {} ORDER BY entry, item").format(
                sql.Identifier(schema, "nbgeo_coverage_uncovered"))).fetchall()
        assert [g[0] for g in got] == [fid for _, fid in uncovered]
        for (layer, fid), (_, wkb) in zip(uncovered, got, strict=True):
            assert shapely.from_wkb(wkb).equals(sample[layer].geometry.loc[fid])


def test_every_row_says_how_binding_it_is_and_what_it_rests_on(pg_url: str, postgis_url: str, sample,
                                                              ningbo_plan) -> None:
    """``severity text`` and ``basis jsonb`` on every table of an audit (issue 15), added to an older table too."""
    schema = _schema(pg_url)
    report = _audit(sample, ningbo_plan)
    with psycopg.connect(postgis_url) as conn:  # the rules table as nbgeo made it before severity and basis
        conn.execute(sql.SQL(
            "CREATE TABLE {} (plan_id text NOT NULL, dataset text NOT NULL, audit_year integer NOT NULL, "
            "entry integer NOT NULL, status text, data jsonb NOT NULL, geom geometry(Geometry, 4326), "
            "PRIMARY KEY (plan_id, dataset, audit_year, entry))").format(sql.Identifier(schema, "nbgeo_rules")))
    postgis.write_report(report, pg_url)
    specs = {r.id: r for r in ningbo_plan.rules}

    def rows(table: str, columns: str) -> list[tuple]:
        return conn.execute(sql.SQL(f"SELECT {columns} FROM {{}} ORDER BY 1").format(
            sql.Identifier(schema, table))).fetchall()

    with psycopg.connect(postgis_url) as conn:
        got = rows("nbgeo_rules", "entry, data->>'id', severity, basis")
        assert [g[1:] for g in got] == [(e["id"], e["severity"], e["basis"]) for e in report.sections["rules"]]
        findings = rows("nbgeo_rules_findings", "parent_id, severity, basis")
        assert len(findings) == sum(len(e["findings"]) for e in report.sections["rules"]) > 10
        for rule_id, severity, basis in findings:
            assert (severity, basis) == (specs[rule_id].severity, plan.basis_of(specs[rule_id]))
        assert ("farmland_micro_parks", "禁止") in {f[:2] for f in findings}
        assert any(b["article"] == "第三十五条" for _, _, b in findings)
        targets = rows("nbgeo_targets", "id, year, severity, basis->>'instrument'")
        assert sorted(targets) == sorted((r.id, r.year, r.severity, r.basis["instrument"]) for r in report.targets)
        assert all(t[2] in plan.SEVERITIES and t[3] for t in targets)
        for table in ("nbgeo_coverage", "nbgeo_coverage_uncovered", "nbgeo_indicators"):
            bound = rows(table, "entry, severity, basis->>'instrument'")
            assert bound and all(s in plan.SEVERITIES and i for _, s, i in bound), table
        drawn = rows("nbgeo_overlays", "overlay, status, severity, basis->>'instrument', basis->>'kind'")
        found = [d for d in drawn if d[1] in ("fail", "uncovered")]
        assert found and all(d[2] in plan.SEVERITIES and d[3] and d[4] for d in found)


def test_a_rerun_with_fewer_sections_leaves_no_stale_rows(pg_url: str, postgis_url: str, sample, ningbo_plan) -> None:
    schema = _schema(pg_url)
    full = _report_with_sections(sample, ningbo_plan)
    postgis.write_report(full, pg_url)
    bare = audit.AuditReport(plan=full.plan, dataset=full.dataset, year=full.year, targets=full.targets)
    postgis.write_report(bare, pg_url)
    with psycopg.connect(postgis_url) as conn:
        assert _count(conn, schema, "nbgeo_rules") == 0 and _count(conn, schema, "nbgeo_coverage") == 0
        assert _count(conn, schema, "nbgeo_overlays") == 0
        assert _count(conn, schema, "nbgeo_targets") == len(full.targets)


def test_columns_widen_when_a_rerun_brings_other_types(pg_url: str, postgis_url: str, sample, ningbo_plan) -> None:
    schema = _schema(pg_url)
    base = _audit(sample, ningbo_plan)

    def with_rules(values: list) -> audit.AuditReport:
        entries = [{"id": "r", "status": "pass", "value": v} for v in values]
        return audit.AuditReport(plan=base.plan, dataset=base.dataset, year=base.year, targets=base.targets,
                                 sections={"rules": entries})

    postgis.write_report(with_rules([1, 2]), pg_url)
    postgis.write_report(with_rules([1.5, None]), pg_url)
    postgis.write_report(with_rules(["n/a", 3]), pg_url)
    with psycopg.connect(postgis_url) as conn:
        udt = conn.execute("SELECT udt_name FROM information_schema.columns WHERE table_schema = %s AND "
                           "table_name = 'nbgeo_rules' AND column_name = 'value'", (schema,)).fetchone()[0]
        values = conn.execute(sql.SQL("SELECT value FROM {} ORDER BY entry").format(
            sql.Identifier(schema, "nbgeo_rules"))).fetchall()
    assert udt == "text" and values == [("n/a",), ("3",)]


@pytest.mark.parametrize("bad", ['rules"; DROP SCHEMA public CASCADE; --', "with space"])
def test_unsafe_section_name_writes_nothing(pg_url: str, postgis_url: str, sample, ningbo_plan, bad: str) -> None:
    base = _audit(sample, ningbo_plan)
    report = audit.AuditReport(plan=base.plan, dataset=base.dataset, year=base.year, targets=base.targets,
                               sections={bad: [{"status": "pass"}]})
    with pytest.raises(InputError) as err:
        postgis.write_report(report, pg_url)
    assert err.value.code == "E-DB-IDENT"
    with psycopg.connect(postgis_url) as conn:
        assert _tables(conn, _schema(pg_url)) == set()


def test_concurrent_writers_take_turns(pg_url: str, postgis_url: str, sample, ningbo_plan) -> None:
    report = _report_with_sections(sample, ningbo_plan, n_findings=300)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            postgis.write_report(report, pg_url)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    with psycopg.connect(postgis_url) as conn:
        assert _count(conn, _schema(pg_url), "nbgeo_rules") == 300
        assert _count(conn, _schema(pg_url), "nbgeo_audits") == 1


# --------------------------------------------------------------------------------------------------------------
# Killing the connection mid-write
# --------------------------------------------------------------------------------------------------------------


def _writer_pid(admin: psycopg.Connection, schema: str) -> int | None:
    """The backend holding nbgeo's advisory lock on ``schema`` (the writer, inside its transaction)."""
    row = admin.execute(
        "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.objid = ((hashtext(%s)::bigint) & 4294967295)::oid AND l.pid <> pg_backend_pid()",
        (f"nbgeo:{schema}",)).fetchone()
    return None if row is None else int(row[0])


def _snapshot(conn: psycopg.Connection, schema: str) -> dict[str, list]:
    out = {}
    for table in sorted(_tables(conn, schema)):
        rows = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table))).fetchall()
        out[table] = sorted(repr(r) for r in rows)
    return out


@pytest.mark.parametrize("kill_after", ["nbgeo_audits", "nbgeo_targets", "nbgeo_rules", "nbgeo_coverage"])
def test_killed_backend_leaves_nothing_half_written(pg_url: str, postgis_url: str, sample, ningbo_plan,
                                                    kill_after: str) -> None:
    schema = _schema(pg_url)
    report = _report_with_sections(sample, ningbo_plan, n_findings=50)
    killed = []

    with psycopg.connect(postgis_url, autocommit=True) as admin:
        def kill(table: str, rows: int) -> None:
            if table == kill_after:
                pid = _writer_pid(admin, schema)
                assert pid is not None
                killed.append(admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0])

        # First write into an empty schema: after the kill, no table exists at all.
        with pytest.raises(DatabaseError) as err:
            postgis.write_report(report, pg_url, progress=kill)
        assert killed == [True] and err.value.code == "E-DB-CONN"
        assert "run it again" in str(err.value) and ":***@" in str(err.value)
        assert _tables(admin, schema) == set()

        # A rerun writes everything once.
        counts = postgis.write_report(report, pg_url)
        before = _snapshot(admin, schema)
        assert {t: len(v) for t, v in before.items()} == {t.split(".")[1]: n for t, n in counts.items()}

        # Killing a rewrite of the same audit leaves the previous rows exactly as they were.
        killed.clear()
        with pytest.raises(DatabaseError):
            postgis.write_report(report, pg_url, progress=kill)
        assert killed == [True]
        assert _snapshot(admin, schema) == before
        postgis.write_report(report, pg_url)
        after = _snapshot(admin, schema)
        assert {t: len(v) for t, v in after.items()} == {t: len(v) for t, v in before.items()}


def test_kills_at_random_moments(pg_url: str, postgis_url: str, sample, ningbo_plan) -> None:
    """Kill the writer at random times during its transaction: each audit is there whole, or not at all."""
    schema = _schema(pg_url)
    report = _report_with_sections(sample, ningbo_plan, n_findings=3000)
    rng = random.Random(7)
    expected_rules = 3000
    outcomes = []
    with psycopg.connect(postgis_url, autocommit=True) as admin:
        for _ in range(10):
            delay = rng.uniform(0.0, 0.4)
            result: list[BaseException | None] = []

            def write(result: list[BaseException | None]) -> None:
                try:
                    postgis.write_report(report, pg_url)
                    result.append(None)
                except DatabaseError as exc:
                    result.append(exc)

            thread = threading.Thread(target=write, args=(result,))
            thread.start()
            deadline = time.monotonic() + 20
            pid = None
            while pid is None and thread.is_alive() and time.monotonic() < deadline:
                pid = _writer_pid(admin, schema)
            time.sleep(delay)
            if pid is not None:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            thread.join(60)
            assert result, "the writer did not finish"
            outcomes.append("killed" if result[0] is not None else "committed")
            tables = _tables(admin, schema)
            if "nbgeo_rules" in tables:
                assert _count(admin, schema, "nbgeo_rules") == expected_rules
                assert _count(admin, schema, "nbgeo_audits") == 1
            else:
                assert tables == set()
        postgis.write_report(report, pg_url)
        assert _count(admin, schema, "nbgeo_rules") == expected_rules
        assert _count(admin, schema, "nbgeo_targets") == len(report.targets)
    assert "killed" in outcomes


# --------------------------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------------------------


CLI_PLAN = """
[plan]
id = "cli"
title = "two targets and a setback rule"
baseline = 2020
horizon = 2025

[[targets]]
id = "chargers"
layer = "chargers"
metric = "count"
threshold = 10000
op = ">"

[[targets]]
id = "industrial_land_share"
layer = "land_transfers"
metric = "share"
numerator = { use = "industrial" }
unit = "%"
threshold = 35
years = "each_year"

[[rules]]
id = "petrochemical_setback"
kind = "setback"
layer = "clusters"
where = { lead_industries = { contains = "绿色石化" } }
against = "constraints"
against_where = { kind = ["residential", "school", "hospital"] }
distance = 1000
"""


def test_cli_audit_from_and_to_postgis(pg_url: str, postgis_url: str, sample: Dataset, tmp_path) -> None:
    from nbgeo.plan import read_plan

    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(CLI_PLAN, encoding="utf-8")
    expected = audit.run_audit(sample, read_plan(plan_file))
    postgis.write_dataset(sample, pg_url)
    password = postgis.parse_url(postgis_url).conninfo.split(":")[2].split("@")[0]
    out = pg_url.replace(f"schema={_schema(pg_url)}", f"schema={_schema(pg_url)}_out")
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["audit", pg_url, "--plan", str(plan_file), "--out", out])
        assert result.exit_code == 1, result.output  # the 2023 land share and the setback fail
        assert password not in result.output and ":***@" in result.output
        with psycopg.connect(postgis_url) as conn:
            statuses = conn.execute(sql.SQL("SELECT id, year, status FROM {} ORDER BY id, year").format(
                sql.Identifier(_schema(out), "nbgeo_targets"))).fetchall()
            assert statuses == sorted((r.id, r.year, r.status) for r in expected.targets)
            findings = conn.execute(sql.SQL("SELECT feature_id FROM {}").format(
                sql.Identifier(_schema(out), "nbgeo_rules_findings"))).fetchall()
            assert findings == [("CL00001",)]
        again = runner.invoke(main, ["-q", "audit", pg_url, "--plan", str(plan_file), "--out", out])
        assert again.exit_code == 1 and again.output == ""
        with psycopg.connect(postgis_url) as conn:
            assert _count(conn, _schema(out), "nbgeo_targets") == len(expected.targets)
            assert _count(conn, _schema(out), "nbgeo_rules_findings") == 1
        bad = runner.invoke(main, ["audit", pg_url.replace(password, "Wr0ngPassw0rd"), "--out", out])
        assert bad.exit_code == 2 and "E-DB-CONN" in bad.output
        assert "Wr0ngPassw0rd" not in bad.output and password not in bad.output
    finally:
        with psycopg.connect(postgis_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(_schema(out))))


def test_write_dataset_refuses_unsafe_column(pg_url: str) -> None:
    gdf = gpd.GeoDataFrame({"bad name": [1]}, geometry=[Polygon([(0, 0), (1, 0), (1, 1)])], crs=4326, index=["a"])
    with pytest.raises(InputError) as err:
        postgis.write_dataset(Dataset.from_gdfs({"constraints": gdf}), pg_url)
    assert err.value.code == "E-DB-IDENT"


# --------------------------------------------------------------------------------------------------------------
# A dataset holds its rasters, road networks and tables, in PostGIS too
# --------------------------------------------------------------------------------------------------------------


def test_file_postgis_file_round_trip_keeps_everything(pg_url: str, sample: Dataset, tmp_path: Path) -> None:
    postgis.write_dataset(sample, pg_url)
    from_db = postgis.read_dataset(pg_url)
    assert sample.rasters and sample.networks and sample.tables
    assert_same_files(sample, from_db)
    assert indicators.table_for(from_db) == indicators.table_for(sample)
    assert network.dataset_networks(from_db)["roads"].network_type == "drive"
    folder = io.write_dataset(from_db, tmp_path / "again")
    again = io.read_dataset(folder)
    assert_same_files(sample, again)
    assert again.names == sample.names
    for name in sample.names:
        assert len(again[name]) == len(sample[name])


def test_in_memory_dataset_goes_to_postgis_whole(pg_url: str, sample: Dataset) -> None:
    built = Dataset.from_gdfs({"chargers": sample["chargers"]}, name="built", rasters=sample.rasters,
                              networks=sample.networks, tables=sample.tables)
    postgis.write_dataset(built, pg_url)
    assert_same_files(built, postgis.read_dataset(pg_url))


def test_what_cannot_be_stored_is_named_and_nothing_is_written(pg_url: str, sample: Dataset, tmp_path: Path) -> None:
    gone = tmp_path / "roads.osm.pbf"
    gone.write_bytes(Path(sample.networks["roads"].path).read_bytes())
    built = Dataset.from_gdfs({"chargers": sample["chargers"]},
                              networks={"roads": replace(sample.networks["roads"], path=str(gone))})
    gone.unlink()
    with pytest.raises(OutputError, match=r"network 'roads'.*cannot be read") as err:
        postgis.write_dataset(built, pg_url)
    assert err.value.code == "E-IO-SOURCE"
    with psycopg.connect(postgis.parse_url(pg_url).conninfo) as conn:
        schema = postgis.parse_url(pg_url).schema
        found = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                             (schema,)).fetchone()
    assert found == (0,)


def test_a_damaged_stored_file_is_a_problem_naming_it(pg_url: str, sample: Dataset) -> None:
    postgis.write_dataset(sample, pg_url)
    loc = postgis.parse_url(pg_url)
    with psycopg.connect(loc.conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {} SET data = %s WHERE kind = 'table'").format(
            sql.Identifier(loc.schema, "nbgeo_files")), (b"year,x\n2020,1\n",))
    with pytest.raises(ValidationError, match=r"E-DB-FILE.*indicators"):
        postgis.read_dataset(pg_url)
