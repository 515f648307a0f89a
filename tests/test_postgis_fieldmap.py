"""A bureau's PostGIS tables read through the same field mapping as its files (columns, values, units).

The bureau-style copy of the sample (``scripts/make_bureau_copy.py``) is loaded into PostGIS as a bureau keeps it:
one table per layer under its own Chinese column names (编号, 用地面积 in 亩, 地类编码 in national codes, 出让年份
as "2021年" ...), a Chinese geometry column, and ``nbgeo_manifest`` rows whose ``columns``, ``values`` and
``units`` are the copy's dataset.toml tables as JSON. Read from the database it must be the sample, layer by
layer, and audit as the sample does, target by target. A mapping that does not fit is an error naming the
database, the manifest table, the layer's row and the key; a hostile column name is only ever data.

The database tests run against a real PostgreSQL with PostGIS (tests/pg_cluster.py).
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from dataset_checks import AUDIT_PARTS, assert_same_audit_part, cli_audit

from nbgeo import datasets, io, postgis
from nbgeo.cli import main
from nbgeo.errors import InputError, NbgeoError, ValidationError
from nbgeo.io import postgis as pg_read
from nbgeo.io.reading import read_any
from nbgeo.layers import Dataset

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402
from psycopg.types.json import Json, Jsonb  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_bureau_copy.py"
SAMPLE = datasets.get_path("ningbo")
#: The geometry column of every bureau table: a Chinese name too.
GEOMETRY = "几何"


def _schema(url: str) -> str:
    return postgis.parse_url(url).schema


def _pg_type(values: pd.Series) -> str:
    """The column type a bureau would give these values (its dates as ``date``, its codes as ``text``)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    return {"integer": "bigint", "floating": "double precision", "mixed-integer-float": "double precision",
            "date": "date", "boolean": "boolean"}.get(kind, "text")


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or (not isinstance(value, (str, datetime.date)) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _load_table(conn: psycopg.Connection, schema: str, table: str, gdf: Any, srid: int) -> None:
    """A table with the layer's own column names (quoted, as PostgreSQL keeps them), filled with COPY."""
    attrs = [c for c in gdf.columns if c != gdf.geometry.name]
    types = {c: _pg_type(gdf[c]) for c in attrs}
    conn.execute(sql.SQL("CREATE TABLE {} ({}, {} geometry(Geometry, {}))").format(
        sql.Identifier(schema, table),
        sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c])) for c in attrs),
        sql.Identifier(GEOMETRY), sql.Literal(srid)))
    geoms = shapely.to_wkb(shapely.set_srid(np.asarray(gdf.geometry.values), srid), hex=True, include_srid=True)
    columns = [[_cell(v) for v in gdf[c].tolist()] for c in attrs]
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(sql.Identifier(c) for c in [*attrs, GEOMETRY]))
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for i, geom in enumerate(geoms):
            copy.write_row([*(col[i] for col in columns), geom])


def _add_mapping_columns(conn: psycopg.Connection, schema: str) -> None:
    """The bureau adds the mapping to nbgeo's manifest table: ``columns`` as JSON text, ``values`` as json, ``units``
    as jsonb (each type is read alike; jsonb keeps no key order, so the lines would show in its order)."""
    conn.execute(sql.SQL('ALTER TABLE {} ADD COLUMN columns text, ADD COLUMN "values" json, ADD COLUMN units jsonb')
                 .format(sql.Identifier(schema, "nbgeo_manifest")))


def _manifest_row(conn: psycopg.Connection, schema: str, row: dict[str, Any]) -> None:
    keys = list(row)
    conn.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(schema, "nbgeo_manifest"), sql.SQL(", ").join(sql.Identifier(k) for k in keys),
        sql.SQL(", ").join(sql.Placeholder() * len(keys))), [row[k] for k in keys])


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location("make_bureau_copy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("bureau") / "copy"
    assert module.main([str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def bureau_url(postgis_url: str, copy: Path, sample: Dataset) -> Any:
    """The copy in a schema of its own: its layers' tables under their Chinese names, the mapping in the manifest."""
    schema = "bureau_fieldmap"
    url = f"{postgis_url}{'&' if '?' in postgis_url else '?'}schema={schema}"
    manifest = tomllib.loads((copy / "dataset.toml").read_text(encoding="utf-8"))
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    # The DEM, the roads and the indicator table are the copy's as they are: nbgeo stores them, and its manifest.
    postgis.write_dataset(Dataset.from_gdfs({}, name="ningbo-bureau-copy", rasters=sample.rasters,
                                            networks=sample.networks, tables=sample.tables), url)
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        _add_mapping_columns(conn, schema)
        for name, raw in manifest["layers"].items():
            result = read_any(copy / raw["file"], layer=raw.get("layer"), encoding=raw.get("encoding"),
                              x_column=raw.get("x_column"), y_column=raw.get("y_column"),
                              geometry_column=raw.get("geometry_column"), root=copy)
            gdf = result.gdf
            srid = gdf.crs.to_epsg() if gdf.crs is not None else 4326
            table = f"bureau_{name}"
            _load_table(conn, schema, table, gdf, srid)
            row: dict[str, Any] = {"layer": name, "table_name": table, "position": sample.names.index(name),
                                   "datum": raw.get("datum"), "source": raw.get("source"),
                                   "licence": raw.get("licence"), "illustrative": raw.get("illustrative"),
                                   "note": raw.get("note"), "id_column": None, "geometry_column": None}
            row.update(columns=json.dumps(raw.get("columns"), ensure_ascii=False) if "columns" in raw else None,
                       values=Json(raw["values"]) if "values" in raw else None,
                       units=Jsonb(raw["units"]) if "units" in raw else None)
            if name == "land_transfers":  # the id column named as the table names it, the geometry column too
                row.update(id_column="宗地编号", geometry_column=GEOMETRY)
            _manifest_row(conn, schema, row)
    try:
        yield url
    finally:
        with psycopg.connect(postgis_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


# --------------------------------------------------------------------------------------------------------------
# The bureau's copy, read from PostGIS, is the sample
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def from_db(bureau_url: str) -> Dataset:
    return postgis.read_dataset(bureau_url)


def _same_values(ours: pd.Series, theirs: pd.Series, where: str) -> None:
    if pd.api.types.is_numeric_dtype(theirs):
        left, right = ours.astype(float).to_numpy(), theirs.astype(float).to_numpy()
        assert np.allclose(left, right, rtol=1e-12, atol=1e-9, equal_nan=True), where
    else:  # an empty CSV cell of the copy reads as no value: the same as the sample's empty text
        assert [None if pd.isna(v) or v == "" else str(v) for v in ours] == [
            None if pd.isna(v) or v == "" else str(v) for v in theirs], where


def test_the_bureau_tables_read_as_the_sample(from_db: Dataset, sample: Dataset, bureau_url: str, postgis_url: str):
    assert from_db.names == sample.names
    for name in sample.names:
        ours, theirs = from_db[name], sample[name].loc[sorted(sample[name].index)]
        assert list(ours.index) == list(theirs.index), name
        assert list(ours.columns) == list(theirs.columns), name  # our names, in the schema's order: no 名称 left
        for column in theirs.columns.drop(theirs.geometry.name):
            _same_values(ours[column], theirs[column], f"{name}.{column}")
        # GCJ-02 converted back, the 前湾 zone from Gauss-Krüger, a Shapefile's one-part MultiPolygon as a Polygon:
        # every vertex within about a centimetre of the sample's.
        apart = shapely.hausdorff_distance(np.asarray(ours.geometry.values), np.asarray(theirs.geometry.values))
        assert apart.max() < 1e-7, name
    # 亩 became m², 万元 became 亿元, the 2023 national codes became nbgeo's uses: spot checks of the conversion.
    parks = from_db["micro_parks"]
    assert parks["area"].iloc[0] == pytest.approx(sample["micro_parks"].loc[parks.index[0], "area"], rel=1e-12)
    assert set(from_db["land_transfers"]["use"]) <= {"industrial", "logistics", "commercial", "residential",
                                                      "public", "other"}
    # The database still holds the bureau's names and units: the mapping is applied in memory only.
    with psycopg.connect(postgis_url) as conn:
        names = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE "
                                            "table_schema = %s AND table_name = 'bureau_micro_parks'",
                                            (_schema(bureau_url),)).fetchall()}
    assert {"编号", "名称", "用地面积", GEOMETRY} <= names and "area" not in names


def test_each_layer_shows_the_mapping_the_files_show(from_db: Dataset, copy: Path):
    manifest = io.read_manifest(copy)
    for name in from_db.names:
        assert from_db.layer(name).meta.mapping == tuple(manifest.field_map(name).describe()), name
    assert "area ← 用地面积 (亩 → m²)" in from_db.layer("micro_parks").meta.mapping
    assert from_db.layer("land_transfers").meta.mapping[1].startswith("use ← 地类编码 (国土空间调查")


def test_validate_on_the_url_lists_the_mapping(bureau_url: str, tmp_path: Path):
    result = CliRunner().invoke(main, ["validate", bureau_url, "--out", str(tmp_path / "v")])
    assert result.exit_code == 0, result.output
    assert "mapped: micro_parks: id ← 编号; name ← 名称; status ← 建设状态 (built ← 新建;" in result.output
    doc = json.loads((tmp_path / "v" / "validation.json").read_text(encoding="utf-8"))
    assert "output_2021 ← 工业总产_1 (万元 → 亿元)" in doc["mappings"]["clusters"]
    assert doc["errors"] == 0


@pytest.fixture(scope="module")
def audits(bureau_url: str, tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any]]:
    out = tmp_path_factory.mktemp("audits")
    return cli_audit(SAMPLE, out / "sample"), cli_audit(bureau_url, out / "postgis")


@pytest.mark.parametrize("part", AUDIT_PARTS)
def test_the_postgis_copy_audits_as_the_sample_files(audits, part):
    sample, from_db = audits
    assert_same_audit_part(from_db, sample, part)


def test_audit_json_lists_each_postgis_mapping(audits):
    layers = audits[1]["dataset"]["layers"]
    assert "area ← 用地面积 (亩 → m²)" in layers["micro_parks"]["mapping"]
    assert "investment ← 总投资(万元) (万元 → 亿元)" in layers["projects"]["mapping"]
    assert not audits[0]["dataset"]["layers"]["micro_parks"].get("mapping")


def test_a_mapped_dataset_goes_file_postgis_file_with_our_names_and_no_mapping(copy: Path, pg_url: str,
                                                                               postgis_url: str, tmp_path: Path):
    files = io.read_dataset(copy)
    postgis.write_dataset(files, pg_url)
    with psycopg.connect(postgis_url) as conn:
        schema = _schema(pg_url)
        manifest = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE "
                                               "table_schema = %s AND table_name = 'nbgeo_manifest'",
                                               (schema,)).fetchall()}
        parks = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE "
                                            "table_schema = %s AND table_name = 'micro_parks' ORDER BY "
                                            "ordinal_position", (schema,)).fetchall()]
    assert not {"columns", "values", "units"} & manifest  # the mapping is never written back
    assert parks == ["id", "name", "status", "year", "area", "enterprises", "geom"]
    back = postgis.read_dataset(pg_url)
    assert not any(back.layer(n).meta.mapping for n in back.names)  # nothing left to map: already ours
    folder = io.write_dataset(back, tmp_path / "again")
    again = io.read_dataset(folder)
    assert "columns" not in (folder / "dataset.toml").read_text(encoding="utf-8")
    for name in files.names:
        ours, theirs = again[name], files[name].loc[sorted(files[name].index)]
        assert list(ours.index) == list(theirs.index) and list(ours.columns) == list(theirs.columns), name
        for column in theirs.columns.drop(theirs.geometry.name):
            _same_values(ours[column], theirs[column], f"{name}.{column}")


# --------------------------------------------------------------------------------------------------------------
# A mapping that does not fit: an error naming the database, the manifest table, the layer's row and the key
# --------------------------------------------------------------------------------------------------------------

PARCELS = [("LT1", "100102", "2021年", 20000.0, "POLYGON((121.50 29.90, 121.51 29.90, 121.51 29.91, 121.50 29.90))"),
           ("LT2", "0901", "2022年", 5000.0, "POLYGON((121.52 29.90, 121.53 29.90, 121.53 29.91, 121.52 29.90))"),
           ("LT3", "070101", "2023年", 12500.0, "POLYGON((121.54 29.90, 121.55 29.90, 121.55 29.91, 121.54 29.90))")]
MAPPING = {"columns": '{"id": "宗地编号", "use": "地类编码", "year": "出让年份", "area": "出让面积"}',
           "values": '{"use": "gb_land_use_2023"}', "units": '{"area": "平方米"}'}


def _parcels(url: str, postgis_url: str, **mapping: str) -> None:
    """Three parcels under a bureau's column names, and a manifest row mapping them (JSON text cells)."""
    schema = _schema(url)
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (宗地编号 text, 地类编码 text, 出让年份 text, 出让面积 double precision, "
                             "几何 geometry(Polygon, 4326))").format(sql.Identifier(schema, "parcels")))
        for fid, code, year, area, wkt in PARCELS:
            conn.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, 4326))").format(
                sql.Identifier(schema, "parcels")), (fid, code, year, area, wkt))
        conn.execute(sql.SQL('CREATE TABLE {} (layer text, table_name text, columns text, "values" text, '
                             "units text)").format(sql.Identifier(schema, "nbgeo_manifest")))
        _manifest_row(conn, schema, {"layer": "land_transfers", "table_name": "parcels", **{**MAPPING, **mapping}})


def test_the_parcels_read_with_their_mapping(pg_url: str, postgis_url: str):
    _parcels(pg_url, postgis_url)
    land = postgis.read_dataset(pg_url)["land_transfers"]
    assert list(land.index) == ["LT1", "LT2", "LT3"] and list(land.columns) == ["use", "year", "area", "geometry"]
    assert land["use"].tolist() == ["industrial", "commercial", "residential"]
    assert land["year"].tolist() == [2021, 2022, 2023]
    assert land["area"].tolist() == pytest.approx([2.0, 0.5, 1.25], rel=1e-12)  # m² -> ha


def test_the_readme_manifest_row_reads_the_parcels(pg_url: str, postgis_url: str):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = next(b.split("```", 1)[0] for b in readme.split("```sql\n")[1:] if "nbgeo_manifest" in b)
    _parcels(pg_url, postgis_url)
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(_schema(pg_url), "nbgeo_manifest")))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(_schema(pg_url))))
        conn.execute(block.encode("utf-8"))  # the README's own statement, run as written
    land = postgis.read_dataset(pg_url)["land_transfers"]
    assert land["use"].tolist() == ["industrial", "commercial", "residential"]
    assert land["area"].tolist() == pytest.approx([2.0, 0.5, 1.25], rel=1e-12)


BAD = [
    # an unknown column of ours, in units and in values: the closest of the layer's columns
    ("units", '{"araa": "平方米"}', "E-MANIFEST-KEY", "column units, key 'araa' = '平方米': layer 'land_transfers' has "
     "no column 'araa'; did you mean 'area'?", "the columns of 'land_transfers' with a unit: area (ha)"),
    ("values", '{"uses": "gb_land_use_2023"}', "E-MAPPING-FIELD", "column values: values.uses: the layer has no "
     "column 'uses'; did you mean 'use'?", "map the field first with columns.uses"),
    # their field missing from the table: the table's own columns named
    ("columns", '{"id": "宗地编号", "use": "地类代码", "year": "出让年份", "area": "出让面积"}', "E-MAPPING-FIELD",
     "column columns: columns.use = '地类代码': the table has no field '地类代码'; did you mean '地类编码'?",
     "the table's fields: 宗地编号, 地类编码, 出让年份, 出让面积"),
    ("values", '{"use": "gb_land_use_2032"}', "E-MANIFEST-KEY", "column values: values.use: no code table "
     "'gb_land_use_2032'; did you mean 'gb_land_use_2023'?", 'as JSON: {"use": "gb_land_use_2023"}'),
    ("units", '{"area": "万元"}', "E-UNIT-DIMENSION", "column units, key 'area' = '万元': '万元' is a unit of money, "
     "but column 'area' holds area, in ha", "units of area: 平方米"),
    ("units", '{"area": "mou"}', "E-UNIT-UNKNOWN", "key 'area' = 'mou': unknown unit 'mou'; did you mean 'mu'?",
     "units of area"),
    ("columns", '{"id": "宗地编号", "use": "地类编码",}', "E-MANIFEST-SYNTAX", "column columns: not a JSON object: "
     "Expecting property name enclosed in double quotes", "write it as JSON with double quotes"),
    ("values", '{"use": "gb_land_use_2023", "use": "gb_t_21010_2017"}', "E-MANIFEST-SYNTAX", "column values: not "
     "a JSON object: key 'use' is given twice", "write it as JSON"),
    ("units", '["平方米"]', "E-MANIFEST-KEY", "column units: must be a table such as units", 'as JSON: {"area": "亩"}'),
]


def _problem_text(error: NbgeoError, code: str) -> tuple[str, str]:
    """The message and hint of the problem with ``code`` (an error of its own, or one of a ValidationError's)."""
    if isinstance(error, ValidationError):
        problem = next(p for p in error.problems if p.code == code)
        return problem.message, problem.hint or ""
    assert error.code == code
    message, _, hint = error.message.rpartition(" (hint: ")
    return message, hint


@pytest.mark.parametrize(("key", "cell", "code", "says", "hint"), BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD])
def test_a_bad_mapping_names_the_row_and_key_and_the_cli_writes_nothing(pg_url: str, postgis_url: str,
                                                                         tmp_path: Path, key, cell, code, says, hint):
    _parcels(pg_url, postgis_url, **{key: cell})
    with pytest.raises(NbgeoError) as err:
        postgis.read_dataset(pg_url)
    assert isinstance(err.value, (InputError, ValidationError))
    message, given = _problem_text(err.value, code)
    where = f"{postgis.parse_url(pg_url).display} table {_schema(pg_url)}.nbgeo_manifest, row of layer 'land_transfers'"
    assert message.startswith(where), message  # the database (password masked), the table, the row
    assert says in message and hint in given, (message, given)
    password = postgis.parse_url(postgis_url).conninfo.split(":")[2].split("@")[0]
    for command in (["audit", pg_url, "--no-map"], ["validate", pg_url]):
        out = tmp_path / command[0]
        result = CliRunner().invoke(main, [*command, "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert code in result.output and "nbgeo_manifest" in result.output and password not in result.output
        if command[0] == "audit":
            assert not out.exists(), f"audit wrote {list(out.rglob('*'))}"
        elif out.exists():  # validate files its findings, as for a folder: the problem, and nothing else
            assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "validation.json"]
            assert code in (out / "validation.json").read_text(encoding="utf-8")


def test_an_empty_mapping_cell_is_no_mapping(pg_url: str, postgis_url: str):
    _parcels(pg_url, postgis_url, columns="  ", values="null", units="")
    with pytest.raises(ValidationError) as err:  # the bureau's names are then not ours: validation lists them
        postgis.read_dataset(pg_url)
    assert {"E-ID-MISSING", "E-COLUMN-MISSING"} <= {p.code for p in err.value.problems}


# --------------------------------------------------------------------------------------------------------------
# Hostile column names are data, quoted, never SQL
# --------------------------------------------------------------------------------------------------------------

HOSTILE = {"id": '编号"; DROP TABLE x; --', "type": '"; DROP TABLE x; --', "ports": "c;d", "year": 'a"b',
           "note": "名称 (中文)'); DROP TABLE x; --"}
HOSTILE_GEOM = 'geom"; DROP TABLE x; --'


def test_hostile_column_names_are_read_as_data(pg_url: str, postgis_url: str):
    schema = _schema(pg_url)
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (keep integer)").format(sql.Identifier(schema, "x")))
        conn.execute(sql.SQL("CREATE TABLE {} ({} text, {} text, {} integer, {} text, {} text, {} geometry(Point, 4326))")
                     .format(sql.Identifier(schema, "hostile"), *(sql.Identifier(HOSTILE[k]) for k in HOSTILE),
                             sql.Identifier(HOSTILE_GEOM)))
        conn.execute(sql.SQL("INSERT INTO {} VALUES ('C1', '充电站', 4, '2022年', 'x''); DROP TABLE x; --', "
                             "ST_GeomFromText('POINT(121.5 29.9)', 4326)), ('C2', '换电站', 2, '2023', NULL, "
                             "ST_GeomFromText('POINT(121.6 29.9)', 4326))").format(sql.Identifier(schema, "hostile")))
        conn.execute(sql.SQL('CREATE TABLE {} (layer text, table_name text, geometry_column text, id_column text, '
                             'columns jsonb, "values" text)').format(sql.Identifier(schema, "nbgeo_manifest")))
        _manifest_row(conn, schema, {
            "layer": "chargers", "table_name": "hostile", "geometry_column": HOSTILE_GEOM, "id_column": HOSTILE["id"],
            "columns": Jsonb({k: v for k, v in HOSTILE.items() if k in ("type", "ports", "year")}),
            "values": '{"type": {"charging": ["充电站"], "swapping": ["换电站"]}}'})
    ds = postgis.read_dataset(pg_url)
    chargers = ds["chargers"]
    assert list(chargers.index) == ["C1", "C2"]
    assert chargers["type"].tolist() == ["charging", "swapping"] and chargers["ports"].tolist() == [4, 2]
    assert chargers["year"].tolist() == [2022, 2023]
    # The unmapped hostile column is kept under its own name, its SQL-looking value as text.
    assert chargers[HOSTILE["note"]].tolist()[0] == "x'); DROP TABLE x; --"
    assert ds.layer("chargers").meta.mapping[0] == f"type ← {HOSTILE['type']} (charging ← 充电站; swapping ← 换电站)"
    with psycopg.connect(postgis_url) as conn:  # nothing was executed: the sentinel table is still there
        assert conn.execute("SELECT to_regclass(%s)", (f"{schema}.x",)).fetchone()[0] is not None


def test_a_column_name_with_a_nul_never_reaches_sql(pg_url: str, postgis_url: str, monkeypatch):
    _parcels(pg_url, postgis_url)
    real = pg_read.table_columns

    def with_nul(conn, schema, table):
        found = real(conn, schema, table)
        return [*found, ("bad\x00name", "text")] if table == "parcels" else found

    monkeypatch.setattr(pg_read, "table_columns", with_nul)
    with pytest.raises(InputError) as err:
        postgis.read_dataset(pg_url)
    assert err.value.code == "E-DB-IDENT" and "parcels" in err.value.message


def test_a_mapped_layer_written_back_into_the_bureau_schema_is_ours_with_no_mapping(pg_url: str, postgis_url: str):
    _parcels(pg_url, postgis_url)  # the bureau's own manifest table: layer, table_name and the mapping only
    ds = postgis.read_dataset(pg_url)
    postgis.write_dataset(ds, pg_url, overwrite=True)
    with psycopg.connect(postgis_url) as conn:
        rows = conn.execute(sql.SQL('SELECT table_name, columns, "values", units FROM {}').format(
            sql.Identifier(_schema(pg_url), "nbgeo_manifest"))).fetchall()
    assert rows == [("land_transfers", None, None, None)]
    back = postgis.read_dataset(pg_url)
    assert back.layer("land_transfers").meta.mapping == ()
    assert back["land_transfers"].drop(columns="geometry").equals(ds["land_transfers"].drop(columns="geometry"))
