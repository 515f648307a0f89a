"""A bureau-style copy of the sample audits as the sample does, target by target (issue 15).

``scripts/make_bureau_copy.py`` rewrites every layer the way a planning bureau hands data over: Chinese field
names, GBK Shapefiles with names cut to 10 bytes, 地类编码 in the 2023 national classification, an Excel workbook
whose sheets are layers (WKT polygons in GCJ-02), GBK CSVs of GCJ-02 points, the yearly project list as a sheet
of GCJ-02 longitude/latitude, the 前湾 zone in CGCS2000 Gauss-Krüger. With the mapping it writes in
``dataset.toml``, ``nbgeo audit`` through the command line must give the sample's targets, indicators, progress,
rules (every finding) and coverage: the same verdicts and the same numbers (within the GCJ-02 round trip).
"""

from __future__ import annotations

import importlib.util
import json
import math
import tomllib
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from dataset_checks import AUDIT_PARTS, assert_same_audit_part, cli_audit

from nbgeo import datasets
from nbgeo.cli import main
from nbgeo.landuse import TABLES

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_bureau_copy.py"
SAMPLE = datasets.get_path("ningbo")


def _script():
    spec = importlib.util.spec_from_file_location("make_bureau_copy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bureau") / "copy"
    assert _script().main([str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def audits(copy, tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any]]:
    out = tmp_path_factory.mktemp("audits")
    return cli_audit(SAMPLE, out / "sample"), cli_audit(copy, out / "copy")


@pytest.mark.parametrize("part", AUDIT_PARTS)
def test_the_copy_audits_as_the_sample(audits, part):
    sample, copy = audits
    assert_same_audit_part(copy, sample, part)


def test_the_audit_counts_the_same_sites_and_findings(audits):
    sample, copy = audits
    for ours, theirs in zip(copy["rules"], sample["rules"], strict=True):
        assert (ours["status"], ours["checked"], ours["failed"]) == (theirs["status"], theirs["checked"],
                                                                     theirs["failed"])
        assert [f["feature_id"] for f in ours["findings"]] == [f["feature_id"] for f in theirs["findings"]]
    for ours, theirs in zip(copy["coverage"], sample["coverage"], strict=True):
        assert (ours["status"], ours["sites"], ours["covered_sites"]) == (theirs["status"], theirs["sites"],
                                                                          theirs["covered_sites"])


def test_the_copy_is_handed_over_as_a_bureau_would(copy):
    # GBK Shapefiles, their long names cut by GDAL to 10 bytes.
    assert (copy / "区县界线.cpg").read_text().strip().upper() == "GBK"
    assert "行政区划代" in list(pyogrio.read_info(copy / "区县界线.shp")["fields"])
    outputs = [f for f in pyogrio.read_info(copy / "产业集聚区.shp")["fields"] if f.startswith("工业总产")]
    assert outputs == ["工业总产值", "工业总产_1", "工业总产_2", "工业总产_3", "工业总产_4", "工业总产_5"]
    # National land-use codes, not nbgeo's words.
    codes = set(gpd.read_file(copy / "供地.shp", columns=["地类编码"])["地类编码"])
    assert codes <= set(TABLES["gb_land_use_2023"].codes) and len(codes) > 6
    # One workbook, two sheets, two layers: WKT polygons in GCJ-02, about 500 m from the sample's.
    book = openpyxl.load_workbook(copy / "园区.xlsx", read_only=True)
    assert book.sheetnames == ["特色产业园", "未来产业先导区"]
    header, first = list(book["特色产业园"].iter_rows(max_row=2, values_only=True))
    book.close()
    assert header[-1] == "边界" and first[0] == "FP00001"
    park = gpd.read_file(SAMPLE / "featured_parks.geojson").set_index("id").geometry["FP00001"]
    shifted = gpd.GeoSeries([shapely.from_wkt(first[-1]), park], crs=4326).to_crs(4549)
    assert 400 < shifted.iloc[0].centroid.distance(shifted.iloc[1].centroid) < 600
    # Chargers as GCJ-02 longitude/latitude in a GBK CSV.
    assert (copy / "充电设施.csv").read_bytes().decode("gbk").startswith("编号,类型,充电桩数,投运日期,经度,纬度")
    manifest = tomllib.loads((copy / "dataset.toml").read_text(encoding="utf-8"))
    assert {n: m.get("datum") for n, m in manifest["layers"].items() if "datum" in m} == {
        "featured_parks": "GCJ-02", "future_zones": "GCJ-02", "chargers": "GCJ-02", "projects": "GCJ-02",
        "computing_centres": "GCJ-02"}
    assert manifest["layers"]["land_transfers"]["values"] == {"use": "gb_land_use_2023"}
    # The yearly project list: a workbook of its own, Chinese headers, GCJ-02 longitude/latitude.
    book = openpyxl.load_workbook(copy / "重大项目.xlsx", read_only=True)
    assert book.sheetnames == ["在建项目"]
    header = next(book["在建项目"].iter_rows(max_row=1, values_only=True))
    book.close()
    assert {"项目名称", "总投资(万元)", "开工年份", "竣工年份", "年份", "行业", "所属区县", "经度", "纬度"} <= set(header)
    assert (copy / "算力中心.csv").read_bytes().decode("gbk").startswith("编号,名称,类型,服务产业链,投运年份,经度,纬度")
    # The 前湾 zone in the bureau's projected CRS (CGCS2000 Gauss-Krüger, metres), not in degrees.
    assert pyogrio.read_info(copy / "前湾合作区范围.shp")["crs"] == "EPSG:4549"
    for name in ("projects", "computing_centres", "qianwan_zone"):  # the sample's provenance, carried over
        assert manifest["layers"][name]["illustrative"] is True
        assert manifest["layers"][name]["licence"].startswith("CC0-1.0")


def test_the_copy_gives_numbers_in_the_bureau_s_units_and_years_in_its_forms(copy):
    sample = gpd.read_file(SAMPLE / "micro_parks.geojson").set_index("id")
    parks = gpd.read_file(copy / "小微企业园.gpkg").set_index("编号")
    # 用地面积 in 亩 (1 亩 = 10000/15 m²) and 建成日期 a GeoPackage Date field in the year of the sample's year.
    assert pyogrio.read_info(copy / "小微企业园.gpkg")["dtypes"][list(pyogrio.read_info(
        copy / "小微企业园.gpkg")["fields"]).index("建成日期")] == "datetime64[D]"
    assert math.isclose(parks.loc["MP00001", "用地面积"] * 10000 / 15, sample.loc["MP00001", "area"], rel_tol=1e-12)
    assert (parks["建成日期"].dt.year == sample.loc[parks.index, "year"]).all()
    land = gpd.read_file(copy / "供地.shp", columns=["出让年份", "出让面积"], encoding="GBK")
    assert land["出让年份"].str.fullmatch(r"20\d\d年").all() and land["出让面积"].min() > 1000  # m², not ha
    assert (copy / "充电设施.csv").read_bytes().decode("gbk").splitlines()[1].split(",")[3].count("/") == 2
    manifest = tomllib.loads((copy / "dataset.toml").read_text(encoding="utf-8"))["layers"]
    assert {n: m["units"] for n, m in manifest.items() if "units" in m} == {
        "clusters": {"output_{year}": "万元"}, "micro_parks": {"area": "亩"}, "land_transfers": {"area": "平方米"},
        "projects": {"investment": "万元"}}


def test_validate_reads_the_copy_clean_and_shows_each_mapping(copy, tmp_path):
    result = CliRunner().invoke(main, ["validate", str(copy), "--out", str(tmp_path / "v")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "v" / "validation.json").read_text(encoding="utf-8"))
    assert doc["warnings"] == 0 and doc["errors"] == 0
    assert doc["mappings"]["land_transfers"][1].startswith("use ← 地类编码 (国土空间调查")
    assert "output_2021 ← 工业总产_1 (万元 → 亿元)" in doc["mappings"]["clusters"]
    assert "area ← 用地面积 (亩 → m²)" in doc["mappings"]["micro_parks"]
    assert "investment ← 总投资(万元) (万元 → 亿元)" in doc["mappings"]["projects"]


def test_each_layer_of_the_copy_says_where_its_datum_comes_from(audits):
    _, copy = audits
    basis = {n: layer["datum_basis"] for n, layer in copy["dataset"]["layers"].items()}
    assert basis["featured_parks"] == basis["chargers"] == "declared"  # GCJ-02, converted
    assert basis["smart_roads"] == basis["receptors"] == "rfc7946"      # GeoJSON
    assert basis["districts"] == basis["micro_parks"] == "file"         # a .prj, a GeoPackage's CRS
    assert basis["projects"] == basis["computing_centres"] == "declared"
    assert basis["qianwan_zone"] == "file"                              # CGCS2000 Gauss-Krüger in its .prj
    assert copy["dataset"]["layers"]["qianwan_zone"]["datum"] == "CGCS2000"


def test_audit_json_lists_each_unit_conversion(audits):
    layers = audits[1]["dataset"]["layers"]
    assert "area ← 用地面积 (亩 → m²)" in layers["micro_parks"]["mapping"]
    assert "area ← 出让面积 (m² → ha)" in layers["land_transfers"]["mapping"]
    assert "investment ← 总投资(万元) (万元 → 亿元)" in layers["projects"]["mapping"]
    assert "year ← 建成日期" in layers["micro_parks"]["mapping"]


# One bureau file, checked before any dataset.toml exists: the same mapping as options or as a small file.

LAND = ["--kind", "land_transfers", "--encoding", "GBK"]
LAND_COLUMNS = ["--column", "id=宗地编号", "--column", "use=地类编码", "--column", "year=出让年份",
                "--column", "area=出让面积", "--unit", "area=平方米"]


def _validate(*args: str) -> Any:
    return CliRunner().invoke(main, ["validate", *args])


def test_validate_one_file_with_the_mapping_as_options(copy):
    result = _validate(str(copy / "供地.shp"), *LAND, *LAND_COLUMNS, "--values", "use=gb_land_use_2023")
    assert result.exit_code == 0, result.output
    assert "mapped: land_transfers: id ← 宗地编号; use ← 地类编码 (国土空间调查" in result.output
    assert "area ← 出让面积 (m² → ha)" in result.output
    assert "ok: land_transfers (3,000); 0 warning(s)" in result.output
    # Without the mapping, the bureau's names are not the schema's: every missing column is listed.
    result = _validate(str(copy / "供地.shp"), *LAND)
    assert result.exit_code == 2
    assert "E-COLUMN-MISSING" in result.output and "'use'" in result.output


def test_validate_one_sheet_of_a_workbook_with_options(copy):
    result = _validate(str(copy / "园区.xlsx"), "--layer", "特色产业园", "--kind", "featured_parks", "--datum", "GCJ-02",
                       "--geometry-column", "边界", "--column", "id=编号", "--column", "name=园区名称",
                       "--column", "industry=主导产业", "--column", "year=认定年份")
    assert result.exit_code == 0, result.output
    assert "ok: featured_parks (50)" in result.output


def test_validate_one_file_with_a_mapping_file(copy, tmp_path):
    mapping = tmp_path / "供地.toml"
    mapping.write_text('encoding = "GBK"\ncolumns = { id = "宗地编号", use = "地类编码", year = "出让年", '
                       'area = "出让面积" }\nvalues.use = "gb_land_use_2023"\nunits.area = "平方米"\n',
                       encoding="utf-8")
    result = _validate(str(copy / "供地.shp"), "--kind", "land_transfers", "--mapping", str(mapping))
    assert result.exit_code == 2
    assert "供地.toml, line 2: columns.year = '出让年': the file has no field '出让年'; did you mean '出让年份'?" \
        in result.output
    # The option wins over the file's key, as the file is what dataset.toml would say.
    result = _validate(str(copy / "供地.shp"), "--kind", "land_transfers", "--mapping", str(mapping),
                       "--column", "year=出让年份")
    assert result.exit_code == 0, result.output
    # The same lines, put under [layers.land_transfers] with a file, make the dataset's manifest.
    folder = tmp_path / "ds"
    folder.mkdir()
    for part in copy.glob("供地.*"):
        (folder / part.name).write_bytes(part.read_bytes())
    text = mapping.read_text(encoding="utf-8").replace("出让年\"", "出让年份\"")
    (folder / "dataset.toml").write_text(f'[layers.land_transfers]\nfile = "供地.shp"\n{text}', encoding="utf-8")
    assert _validate(str(folder)).exit_code == 0


@pytest.mark.parametrize(("text", "says"), [
    ('file = "供地.shp"\n', "line 1: file: a mapping file names no file"),
    ('columns = { use = 3 }\n', "line 1: columns: must map each column to the file's field name as text"),
    ('values.use = "gb_land_use_2032"\n', "did you mean 'gb_land_use_2023'?"),
    ('colums = { use = "地类编码" }\n', "line 1: colums: unknown key"),
    ('units.area = "平方米s"\n', "line 1: units: units.area: unknown unit '平方米s'; did you mean '平方米'?"),
    ('units.area = "万元"\n', "line 1: units.area = '万元': '万元' is a unit of money, but column 'area' holds area, "
                             "in ha"),
])
def test_a_bad_mapping_file_names_its_line(copy, tmp_path, text, says):
    mapping = tmp_path / "map.toml"
    mapping.write_text(text, encoding="utf-8")
    result = _validate(str(copy / "供地.shp"), "--kind", "land_transfers", "--mapping", str(mapping))
    assert result.exit_code == 2
    assert says in result.output


def test_mapping_options_apply_to_one_file_only(copy):
    result = _validate(str(copy), "--column", "name=名称")
    assert result.exit_code == 2 and "apply to a single file" in result.output
    result = _validate(str(copy / "供地.shp"), "--column", "use")
    assert result.exit_code == 2 and "write OURS=THEIRS" in result.output


def test_the_readme_example_is_the_copy_s_manifest(copy):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```toml\n")[1:]]  # each block's own text only
    block = next(b for b in blocks if "产业集聚区.shp" in b)
    shown = tomllib.loads(block)["layers"]
    written = tomllib.loads((copy / "dataset.toml").read_text(encoding="utf-8"))["layers"]
    assert set(shown) == {"land_transfers", "clusters", "micro_parks", "featured_parks"}
    for name, keys in shown.items():
        for key in ("file", "layer", "encoding", "datum", "geometry_column", "columns", "units"):
            assert keys.get(key) == written[name].get(key), (name, key)
    assert shown["land_transfers"]["values"] == written["land_transfers"]["values"]
