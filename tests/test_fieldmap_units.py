"""Units and years as a bureau's tables give them (issue 15): 亩 and 万元 converted, "2021年" and date cells read.

A layer's ``units = { area = "亩" }`` in ``dataset.toml`` converts its numbers to the column's unit
(:attr:`nbgeo.layers.Column.unit`) with the exact factors of :mod:`nbgeo.units`; a unit nbgeo does not know, or
one of another dimension, is refused with its manifest line and a hint. The years and numbers of every schema
column are read from the forms bureaus write them in (:mod:`nbgeo.forms`); anything else is an
``E-VALUE-TYPE`` naming file, layer, feature and value.
"""

from __future__ import annotations

import datetime
import math
from fractions import Fraction
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from nbgeo import io, units
from nbgeo.cli import main
from nbgeo.errors import InputError, ValidationError
from nbgeo.fieldmap import FieldMap, apply
from nbgeo.forms import YEAR_FORMS, read_numbers, read_years
from nbgeo.layers import LAYERS
from nbgeo.manifest import read_manifest

X0, Y0 = 121.55, 29.87  # central Ningbo


def _parks(**columns: list) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(columns, geometry=[shapely.box(X0 + i * 0.01, Y0, X0 + i * 0.01 + 0.005, Y0 + 0.005)
                                               for i in range(n)], crs=4326)


# --- Each unit converts right -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("layer", "column", "theirs", "given", "ours"), [
    ("micro_parks", "area", "亩", 150.0, 100_000.0),          # 150 × 10000/15 m²
    ("micro_parks", "area", "mu", 1.5, 1_000.0),
    ("micro_parks", "area", "市亩", 3.0, 2_000.0),
    ("micro_parks", "area", "公顷", 2.5, 25_000.0),
    ("micro_parks", "area", "ha", 1.0, 10_000.0),
    ("micro_parks", "area", "hm²", 1.0, 10_000.0),
    ("micro_parks", "area", "平方米", 1234.5, 1234.5),
    ("micro_parks", "area", "m²", 7.0, 7.0),
    ("micro_parks", "area", "㎡", 7.0, 7.0),
    ("micro_parks", "area", "平方公里", 0.5, 500_000.0),
    ("micro_parks", "area", "km²", 2.0, 2_000_000.0),
    ("land_transfers", "area", "平方米", 41_800.0, 4.18),     # the column is in hectares
    ("land_transfers", "area", "亩", 15.0, 1.0),              # 15 亩 = 1 公顷, exactly
    ("land_transfers", "area", "平方公里", 1.0, 100.0),
    ("land_transfers", "area", "公顷", 4.18, 4.18),
    ("projects", "investment", "万元", 1_902_000.0, 190.2),   # the column is in 亿元
    ("projects", "investment", "元", 250_000_000.0, 2.5),
    ("projects", "investment", "亿元", 190.2, 190.2),
    ("projects", "investment", "yi yuan", 3.0, 3.0),
    ("clusters", "output_2021", "万元", 23_594_000.0, 2359.4),
])
def test_each_unit_converts_to_the_column_s_unit(layer, column, theirs, given, ours):
    g = _parks(**{column: [given]})
    out, problems = apply(g, FieldMap(layer, units={column: theirs}))
    assert problems == []
    assert math.isclose(out[column].iloc[0], ours, rel_tol=1e-15)


def test_the_factors_are_exact_and_sourced():
    assert units.factor("亩", "m²") == Fraction(10000, 15) == Fraction(2000, 3)
    assert units.factor("公顷", "亩") == 15
    assert units.factor("平方公里", "公顷") == 100
    assert units.factor("万元", "亿元") == Fraction(1, 10_000)
    assert units.factor("公里", "米") == units.factor("km", "m") == 1000
    assert units.factor("米", "km") == Fraction(1, 1000)
    for unit in units.UNITS.values():
        assert unit.factor > 0 and unit.source
        assert all(units.unit(name) is unit for name in unit.names), unit.symbol
        assert units.unit(unit.symbol.upper()) is unit  # case does not matter
    with pytest.raises(ValueError, match="unit of area and '万元' of money"):
        units.factor("亩", "万元")


def test_every_column_with_a_unit_names_a_known_unit():
    with_units = {(s.name, c.name): c.unit for s in LAYERS.values() for c in s.columns if c.unit}
    assert with_units == {("clusters", "output_{year}"): "亿元", ("micro_parks", "area"): "m²",
                          ("land_transfers", "area"): "ha", ("projects", "investment"): "亿元"}
    assert all(units.unit(u) is not None and units.unit(u).symbol == u for u in with_units.values())


def test_a_yearly_family_converts_every_year_and_a_year_of_its_own_wins():
    g = _parks(output_2021=[10_000.0], output_2022=[20_000.0], output_2023=[3.0])
    fm = FieldMap("clusters", units={"output_{year}": "万元", "output_2023": "亿元"})
    out, problems = apply(g, fm)
    assert problems == []
    assert out[["output_2021", "output_2022", "output_2023"]].iloc[0].tolist() == [1.0, 2.0, 3.0]


def test_the_description_shows_each_conversion():
    fm = FieldMap("micro_parks", columns={"area": "用地面积", "name": "名称"}, units={"area": "亩"})
    assert fm.describe() == ["area ← 用地面积 (亩 → m²)", "name ← 名称"]
    fm = FieldMap("clusters", columns={"output_2021": "工业总产_1"}, units={"output_{year}": "万元"})
    assert fm.describe() == ["output_2021 ← 工业总产_1 (万元 → 亿元)"]
    assert FieldMap("clusters", units={"output_{year}": "万元"}).describe() == [
        "output_{year} ← output_{year} (万元 → 亿元)"]


def test_a_number_that_is_not_one_stays_for_validation_to_name():
    g = _parks(area=["150", "很大", None])
    out, problems = apply(g, FieldMap("micro_parks", units={"area": "亩"}))
    assert problems == []
    assert out["area"].tolist() == [100_000.0, "很大", None]


# --- Bad units and dimensions: the manifest line and a hint -----------------------------------------------------

def _manifest(folder: Path, layer: str, lines: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "dataset.toml").write_text(f'[layers.{layer}]\nfile = "x.gpkg"\n{lines}\n', encoding="utf-8")
    return folder


@pytest.mark.parametrize(("layer", "lines", "code", "says"), [
    ("micro_parks", 'units = { area = "亩s" }', "E-UNIT-UNKNOWN",
     ["dataset.toml, line 3", "key 'units.area' = '亩s'", "unknown unit '亩s'; did you mean '亩'?",
      "hint: units of area: 平方米 (m²"]),
    ("micro_parks", 'units.area = "hectar"', "E-UNIT-UNKNOWN",
     ["dataset.toml, line 3", "did you mean 'hectare'?", "公顷 (ha"]),
    ("projects", 'note = "总投资"\nunits = { investment = "亩" }', "E-UNIT-DIMENSION",
     ["dataset.toml, line 4", "'亩' is a unit of area, but column 'investment' holds money, in 亿元",
      "hint: units of money: 元 (yuan", "万元"]),
    ("land_transfers", 'units = { area = "万元" }', "E-UNIT-DIMENSION",
     ["line 3", "'万元' is a unit of money, but column 'area' holds area, in ha", "units of area"]),
    ("micro_parks", 'units = { year = "亩" }', "E-MANIFEST-KEY",
     ["line 3", "column 'year' of 'micro_parks' has no unit", "the columns of 'micro_parks' with a unit: area (m²)"]),
    ("micro_parks", 'units = { areas = "亩" }', "E-MANIFEST-KEY",
     ["line 3", "layer 'micro_parks' has no column 'areas'; did you mean 'area'?"]),
    ("my_parcels", 'units = { area = "亩" }', "E-MANIFEST-KEY",
     ["line 3", "'my_parcels' is not one of nbgeo's layer kinds", "micro_parks.area (m²)"]),
    ("clusters", '\n[layers.clusters.units]\n"output_{year}" = "亿"', "E-UNIT-UNKNOWN",
     ["line 5", "unknown unit '亿'; did you mean '亿元'?"]),
    ("micro_parks", 'units = { area = 15 }', "E-MANIFEST-KEY", ["must name a unit as text"]),
])
def test_a_bad_unit_is_refused_with_its_line_and_a_hint(tmp_path, layer, lines, code, says):
    with pytest.raises(InputError) as caught:
        read_manifest(_manifest(tmp_path / "ds", layer, lines))
    assert caught.value.code == code
    for words in says:
        assert words in caught.value.message


def test_a_good_unit_table_reads_with_its_lines(tmp_path):
    m = read_manifest(_manifest(tmp_path / "ds", "micro_parks", 'columns = { area = "用地面积" }\nunits.area = "亩"'))
    fm = m.field_map("micro_parks")
    assert fm.units == {"area": "亩"} and fm.where("units.area").endswith("dataset.toml, line 4: units.area")


def test_a_unit_given_on_the_command_line_is_checked_like_the_manifest_s(tmp_path):
    path = tmp_path / "micro_parks.geojson"
    _parks(id=["MP1"], name=["A"], status=["built"], year=["2021年"], 用地面积=[150.0], enterprises=[3]).to_file(path)
    result = CliRunner().invoke(main, ["validate", str(path), "--column", "area=用地面积", "--unit", "area=亩s"])
    assert result.exit_code == 2
    assert "--unit: units.area = '亩s': unknown unit '亩s'; did you mean '亩'?" in result.output
    result = CliRunner().invoke(main, ["validate", str(path), "--column", "area=用地面积", "--unit", "area=亩"])
    assert result.exit_code == 0, result.output
    assert "area ← 用地面积 (亩 → m²)" in result.output


# --- Years and numbers as bureaus write them --------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    2021, 2021.0, "2021", "2021.0", "2021年", "2021 年", "2021年度", "2021年6月", "2021年6月30日", "2021-06-30",
    "2021-6-30", "2021/6/30", "2021/06/30", "2021.06", "2021.6.30", "2021-06", "2021-06-30 08:30:00",
    "2021-06-30T08:30:00+08:00", "２０２１年", "２０２１－０６－３０", datetime.date(2021, 6, 30),
    datetime.datetime(2021, 6, 30, 9, 0), pd.Timestamp("2021-12-31 23:59"), 2021.06, 2021.12,
])
def test_each_year_form_is_read_as_its_year(value):
    assert read_years(pd.Series([value, 2020], dtype=object)).tolist() == [2021, 2020]


def test_years_in_date_columns_and_numbers():
    dates = pd.Series(pd.to_datetime(["2021-06-30", "2022-01-01", None]))
    assert read_years(dates).tolist()[:2] == [2021.0, 2022.0] and math.isnan(read_years(dates).iloc[2])
    aware = dates.dt.tz_localize("Asia/Shanghai")
    assert read_years(aware).tolist()[:2] == [2021.0, 2022.0]
    plain = pd.Series([2021, 2022], index=["a", "b"])
    assert read_years(plain) is plain  # the usual case, untouched


@pytest.mark.parametrize("value", ["soon", "2021-02-30", "2021-13-01", "2021.13", "21年", "二〇二一年", "2021/06-30",
                                   "20210630", True])
def test_anything_else_is_left_for_validation(value):
    assert read_years(pd.Series([value, "2021年"], dtype=object)).tolist() == [value, 2021]


@pytest.mark.parametrize(("value", "number"), [
    ("1,234.5", 1234.5), ("1，234", 1234.0), ("-12,345,678", -12345678.0), ("１２３", 123.0), ("１２３．５", 123.5),
    (" 42 ", 42.0), (7, 7.0), ("1e3", 1000.0),
])
def test_numbers_with_separators_and_full_width_digits(value, number):
    assert read_numbers(pd.Series([value, "1"], dtype=object)).tolist() == [number, 1.0]


@pytest.mark.parametrize("value", ["1,23", "12,3456", "十亿", "1.234,5", "n/a"])
def test_a_separator_that_does_not_group_thousands_is_not_a_number(value):
    assert read_numbers(pd.Series([value], dtype=object)).tolist() == [value]


def test_counts_read_whole_and_blank_cells_are_missing():
    assert read_numbers(pd.Series(["12", "３４"], dtype=object), whole=True).dtype == "int64"
    out = read_numbers(pd.Series(["12", "  ", None], dtype=object), whole=True)
    assert out.iloc[0] == 12 and out.iloc[1:].isna().all()
    years = read_years(pd.Series(["2021年", "", None], dtype=object))
    assert years.iloc[0] == 2021 and years.iloc[1:].isna().all()


def _write_geojson_layer(folder: Path, name: str, gdf: gpd.GeoDataFrame, extra: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    gdf.to_file(folder / f"{name}.geojson", driver="GeoJSON")
    (folder / "dataset.toml").write_text(f'[layers.{name}]\nfile = "{name}.geojson"\n{extra}', encoding="utf-8")
    return folder


def test_a_bad_year_is_an_error_naming_file_layer_feature_and_value(tmp_path):
    chargers = gpd.GeoDataFrame(
        {"id": ["c1", "c2", "c3", "c4"], "type": ["charging"] * 4, "ports": ["4", "1,200", "soon", "８"],
         "投运日期": ["2021/6/30", "soon", "2021-02-30", "2023年"]},
        geometry=shapely.points([(X0 + i * 0.001, Y0) for i in range(4)]), crs=4326)
    folder = _write_geojson_layer(tmp_path / "ds", "chargers", chargers, 'columns = { year = "投运日期" }\n')
    with pytest.raises(ValidationError) as caught:
        io.read_dataset(folder)
    found = {(p.code, p.feature, p.column): p for p in caught.value.problems if p.is_error}
    assert set(found) == {("E-VALUE-TYPE", "c2", "year"), ("E-VALUE-TYPE", "c3", "year"),
                          ("E-VALUE-TYPE", "c3", "ports")}
    year = found[("E-VALUE-TYPE", "c2", "year")]
    assert (year.file, year.layer) == ("chargers.geojson", "chargers")
    assert year.message == "'soon' is not a year in 'year'" and "2021年" in year.hint and YEAR_FORMS in year.hint
    assert found[("E-VALUE-TYPE", "c3", "year")].message == "'2021-02-30' is not a year in 'year'"
    # ports "soon" (c3) is refused too, with its own words
    text = str(caught.value)
    assert "feature 'c3', column 'ports': 'soon' is not a number in 'ports'" in text


def test_unmapped_layers_have_their_years_and_numbers_read_too(tmp_path):
    chargers = gpd.GeoDataFrame(
        {"id": ["c1", "c2"], "type": ["charging", "swapping"], "ports": ["1,200", "８"], "year": ["2021年", "2022.06"]},
        geometry=shapely.points([(X0, Y0), (X0 + 0.001, Y0)]), crs=4326)
    ds = io.read_dataset(_write_geojson_layer(tmp_path / "ds", "chargers", chargers))
    assert ds["chargers"]["year"].tolist() == [2021, 2022] and ds["chargers"]["year"].dtype == "int64"
    assert ds["chargers"]["ports"].tolist() == [1200, 8]


# --- Real files through GDAL and openpyxl -----------------------------------------------------------------------

def test_a_gbk_shapefile_in_mu_with_years_as_text(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    parcels = gpd.GeoDataFrame(
        {"宗地编号": ["LT1", "LT2"], "用途": ["工业", "物流"], "出让年份": ["2021年", "2023年"], "出让面积": [15.0, 7.5]},
        geometry=[shapely.box(X0, Y0, X0 + 0.003, Y0 + 0.003), shapely.box(X0 + 0.01, Y0, X0 + 0.013, Y0 + 0.003)],
        crs=4326)
    parcels.to_file(folder / "供地.shp", encoding="GBK", engine="pyogrio")
    assert (folder / "供地.cpg").read_text().strip().upper() == "GBK"
    assert "出让年份".encode("gbk") in (folder / "供地.dbf").read_bytes()
    (folder / "dataset.toml").write_text(
        '[layers.land_transfers]\nfile = "供地.shp"\nencoding = "GBK"\n'
        'columns = { id = "宗地编号", use = "用途", year = "出让年份", area = "出让面积" }\n'
        'values.use = { industrial = ["工业"], logistics = ["物流"] }\n'
        'units = { area = "亩" }\n', encoding="utf-8")
    ds = io.read_dataset(folder)
    got = ds["land_transfers"]
    assert got["area"].tolist() == [1.0, 0.5]  # 15 亩 = 1 公顷
    assert got["year"].tolist() == [2021, 2023] and got["use"].tolist() == ["industrial", "logistics"]
    assert "area ← 出让面积 (亩 → ha)" in ds.layer("land_transfers").meta.mapping


def test_an_xlsx_with_date_cells_and_numbers_as_text(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "在建项目"
    sheet.append(["序号", "项目代码", "项目名称", "项目类别", "总投资(万元)", "年份", "开工日期", "经度", "纬度"])
    sheet.append(["P1", "X-1", "甲", "制造业", "1,902,000", 2021, datetime.datetime(2020, 3, 15), X0, Y0])
    sheet.append(["P2", "X-2", "乙", "制造业", 250_000, "2022年", datetime.date(2021, 11, 2), X0 + 0.01, Y0])
    for row in sheet.iter_rows(min_row=2, min_col=7, max_col=7):
        row[0].number_format = "yyyy-mm-dd"
    book.save(folder / "重大项目.xlsx")
    check = openpyxl.load_workbook(folder / "重大项目.xlsx", read_only=True, data_only=True)
    assert isinstance(next(check["在建项目"].iter_rows(min_row=2, values_only=True))[6], datetime.datetime)
    check.close()
    (folder / "dataset.toml").write_text(
        '[layers.projects]\nfile = "重大项目.xlsx"\nlayer = "在建项目"\ndatum = "WGS84"\n'
        'columns = { id = "序号", project = "项目代码", name = "项目名称", sector = "项目类别", '
        'investment = "总投资(万元)", year = "年份", start_year = "开工日期" }\n'
        'values.sector = { manufacturing = ["制造业"], other = ["非制造业"] }\n'
        'units = { investment = "万元" }\n', encoding="utf-8")
    got = io.read_dataset(folder)["projects"]
    assert got["investment"].tolist() == [190.2, 25.0]
    assert got["year"].tolist() == [2021, 2022] and got["start_year"].tolist() == [2020, 2021]



@pytest.mark.parametrize(("name", "whole", "values"), [
    ("read_years", False, ["2021年", "2022/6/30", "soon", None, "", "２０２３年６月", "2021-02-30"]),
    ("read_years", False, ["2021年", "2022/6/30", "2023-06"]),
    ("read_numbers", False, ["1,234.5", "１２３", "1,23", None, "", " 7 "]),
    ("read_numbers", True, ["12", "３４", "1,000"]),
    ("read_numbers", True, ["12", None, "x"]),
    ("read_years", False, [None]),  # nothing set: found by the CSV property test (it recursed without end)
    ("read_numbers", False, [None, float("nan")]),
    ("read_numbers", True, []),
])
def test_a_long_column_is_read_once_per_value_with_the_same_result(monkeypatch, name, whole, values):
    """A million-row column holds few distinct texts: read once each and spread back, it equals reading every row."""
    from nbgeo import forms

    def read(series):
        return getattr(forms, name)(series, **({"whole": True} if whole else {}))

    long = pd.Series(values * 50, index=[f"F{i}" for i in range(len(values) * 50)], dtype=object)
    grouped = read(long)
    monkeypatch.setattr(forms, "_once_per_value", lambda *_: None)  # every row through the string operations
    pd.testing.assert_series_equal(grouped, read(long))
