"""Scenarios side by side: sites, targets, sections, outputs and the `nbgeo compare` command."""

from __future__ import annotations

import dataclasses
import json
import shutil

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely import LineString, Point, Polygon

from nbgeo import compare, datasets, plan
from nbgeo.audit import AuditReport
from nbgeo.cli import main
from nbgeo.errors import OutputError
from nbgeo.layers import Dataset
from nbgeo.progress import track


def _pts(ids, xy, **cols):
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) for x, y in xy], index=ids, crs=4326)


# ---- sites ---------------------------------------------------------------------------------------


def test_site_changes_every_kind():
    a = _pts(["k", "m", "e", "r", "gone"], [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)], ports=[1, 2, 3, 4, 5])
    b = _pts(["k", "m", "e", "r2", "new"], [(0, 0), (1, 1.001), (2, 2), (3, 3), (9, 9)], ports=[1, 2, 30, 4, 6])
    s = compare.site_changes(a, b, layer="chargers")
    assert s.added == ("new",) and s.removed == ("gone",)
    assert s.moved == ("m",) and s.modified == ("e",)
    assert s.renamed == (("r", "r2"),)
    assert s.unchanged == 1 and s.changed
    assert s.counts() == {"added": 1, "removed": 1, "moved": 1, "modified": 1, "renamed": 1, "unchanged": 1}


def test_same_shape_written_differently_is_unchanged():
    ring = [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]
    a = gpd.GeoDataFrame({"name": ["z"]}, geometry=[Polygon(ring)], index=["z1"], crs=4326)
    # Other start vertex and orientation, and 1e-9 degree noise: the same polygon.
    other = [(1 + 1e-9, 1), (1, 0), (0, 0), (0, 1), (1 + 1e-9, 1)]
    b = gpd.GeoDataFrame({"name": ["z"]}, geometry=[Polygon(other)], index=["z1"], crs=4326)
    s = compare.site_changes(a, b, layer="clusters")
    assert not s.changed and s.unchanged == 1
    moved = gpd.GeoDataFrame({"name": ["z"]}, geometry=[Polygon([(x + 1e-5, y) for x, y in ring])], index=["z1"],
                             crs=4326)
    assert compare.site_changes(a, moved).moved == ("z1",)  # 1 m east: moved


def test_attribute_comparison_treats_missing_and_numbers_sensibly():
    a = _pts(["p", "q"], [(0, 0), (1, 1)], year=[2021, None], note=["x", None])
    b = _pts(["p", "q"], [(0, 0), (1, 1)], year=[2021.0, None], note=["x", None], extra=[1, 2])
    s = compare.site_changes(a, b)
    assert s.modified == () and s.unchanged == 2
    assert s.columns_added == ("extra",) and s.columns_removed == ()


def test_null_geometries_and_missing_layers():
    a = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[None, Point(0, 0)], index=["n", "p"], crs=4326)
    b = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[None, None], index=["n", "p"], crs=4326)
    assert compare.site_changes(a, b).moved == ("p",)
    only_b = compare.site_changes(None, a, layer="x")
    assert only_b.added == ("n", "p") and not only_b.in_a and only_b.changed
    assert compare.site_changes(a, None).removed == ("n", "p")


def test_renamed_pairs_one_to_one():
    a = _pts(["a1", "a2"], [(5, 5), (5, 5)])
    b = _pts(["b1"], [(5, 5)])
    s = compare.site_changes(a, b)
    assert s.renamed == (("a1", "b1"),) and s.removed == ("a2",)


def test_lines_compare_by_geometry():
    a = gpd.GeoDataFrame({"name": ["r"]}, geometry=[LineString([(0, 0), (1, 0)])], index=["r1"], crs=4326)
    b = gpd.GeoDataFrame({"name": ["r"]}, geometry=[LineString([(1, 0), (0, 0)])], index=["r1"], crs=4326)
    assert compare.site_changes(a, b).unchanged == 1  # reversed, same line


# ---- audits side by side -------------------------------------------------------------------------


def _without(ds: Dataset, layer: str, n: int, name: str = "proposed") -> Dataset:
    gdf = ds[layer].iloc[:-n]
    return dataclasses.replace(ds, name=name, layers={**ds.layers, layer: dataclasses.replace(ds.layer(layer),
                                                                                               gdf=gdf)})


def test_sample_against_itself_has_no_change(sample, ningbo_plan):
    c = compare.compare(sample, sample, ningbo_plan, progress=False)
    assert {t["change"] for t in c.targets} == {"same"}
    assert c.exit_code == 0 and c.regressions == []
    assert not any(s.changed for s in c.sites.values())
    assert c.labels == ("A", "B")


def test_removed_sites_fail_a_target(sample, ningbo_plan):
    fewer = _without(sample, "future_zones", 1)
    c = compare.compare(sample, fewer, ningbo_plan, labels=("as built", "proposed"))
    row = next(t for t in c.targets if t["id"] == "future_zones")
    assert (row["a"]["status"], row["b"]["status"], row["delta"], row["change"]) == ("met", "not_met", -1, "now_not_met")
    assert c.sites["future_zones"].removed == (sample["future_zones"].index[-1],)
    regressions = {(r["section"], r["id"]) for r in c.regressions}
    assert regressions == {("targets", "future_zones"), ("progress", "future_zones")}
    assert c.exit_code == 1
    text = c.to_text()
    assert "future_zones" in text and "now not met" in text and "2 regressions from as built to proposed" in text


def test_more_sites_are_better(sample, ningbo_plan):
    fewer = _without(sample, "smart_roads", 5, name="before")
    c = compare.compare(fewer, sample, ningbo_plan)
    row = next(t for t in c.targets if t["id"] == "smart_roads")
    assert row["change"] in ("better", "now_met") and row["delta"] > 0
    assert c.exit_code == 0 and c.labels == ("before", "ningbo-sample")


def test_two_plans_on_one_dataset(sample, ningbo_plan):
    p35 = plan.read_plan(datasets.get_path("ningbo_2035"))
    c = compare.compare(sample, sample, ningbo_plan, p35, year=2025)
    assert c.labels == (ningbo_plan.id, p35.id)
    chargers = next(t for t in c.targets if t["id"] == "chargers")
    assert (chargers["a"]["threshold"], chargers["b"]["threshold"]) == (10000, 50000)
    assert chargers["delta"] == 0 and chargers["change"] == "now_not_met"
    assert all(s.unchanged == len(sample[n]) and not s.changed for n, s in c.sites.items())
    progress = c.sections["progress"]
    by_status: dict[str, int] = {}
    for entry in track(ningbo_plan, sample, as_of=2025):
        by_status[entry.status] = by_status.get(entry.status, 0) + 1
    assert progress["a"] == by_status == {"met": 44, "missed": 18} and progress["b"]["on_track"] == 10


def _report(sample, ningbo_plan, sections):
    return AuditReport(plan=ningbo_plan, dataset=sample, year=2025, targets=(), sections=sections)


def test_sections_matched_by_key_fields(sample, ningbo_plan):
    a = _report(sample, ningbo_plan, {"rules": [
        {"id": "red_line", "feature": "MP1", "status": "pass", "distance_m": 120.0},
        {"id": "red_line", "feature": "MP2", "status": "fail", "distance_m": 0.0},
        {"id": "setback", "feature": "MP1", "status": "pass", "distance_m": 900.0},
    ]})
    b = _report(sample, ningbo_plan, {"rules": [
        {"id": "red_line", "feature": "MP1", "status": "fail", "distance_m": 0.0, "severity": "禁止", "basis": LAW},
        {"id": "red_line", "feature": "MP2", "status": "pass", "distance_m": 40.0},
        {"id": "setback", "feature": "MP1", "status": "pass", "distance_m": 900.0},
        {"id": "setback", "feature": "MP3", "status": "pass", "distance_m": 1000.0},
    ], "coverage": [{"id": "chargers_1km", "status": "pass", "share": 0.93}]})
    c = compare.compare_reports(a, b)
    rules = c.sections["rules"]
    changes = {(x["key"]["id"], x["key"]["feature"]): (x["change"], x["figures"]) for x in rules["changes"]}
    assert changes == {
        ("red_line", "MP1"): ("worse", {"distance_m": [120.0, 0.0]}),
        ("red_line", "MP2"): ("better", {"distance_m": [0.0, 40.0]}),
        ("setback", "MP3"): ("only_b", {}),
    }
    assert rules["unchanged"] == 1 and rules["a"] == {"pass": 2, "fail": 1}
    assert c.sections["coverage"]["changes"][0]["change"] == "only_b"
    assert c.regressions == [{"section": "rules", "id": "red_line", "feature": "MP1", "a": "pass", "b": "fail",
                              "severity": "禁止", "basis": LAW}]
    worse = next(x for x in rules["changes"] if x["change"] == "worse")  # each side's severity and basis, A then B
    assert worse["severity"] == [None, "禁止"] and worse["basis"] == [None, LAW]
    only_b = next(x for x in rules["changes"] if x["change"] == "only_b")
    assert only_b["severity"] == [None, None]


LAW = {"phrase": "", "instrument": "《中华人民共和国土地管理法》", "kind": "law", "article": "第三十五条", "url": ""}


# ---- outputs -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison(sample, ningbo_plan):
    return compare.compare(sample, _without(sample, "chargers", 1700), ningbo_plan,
                           labels=("as built", "<script>alert(1)</script>{{7*7}}"))


def test_write_json_and_html(comparison, tmp_path):
    paths = compare.write_comparison(comparison, tmp_path, with_map=False)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["schema"] == compare.SCHEMA
    assert data["a"]["label"] == "as built" and data["sites"]["chargers"]["removed"] == 1700
    assert len(data["sites"]["chargers"]["removed_ids"]) == 1700
    assert data["summary"]["regressions"] == len(data["regressions"]) >= 1
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "{{7*7}}" not in page
    assert "&lt;script&gt;" in page and "转为未达标" in page
    with pytest.raises(OutputError, match="exists"):
        compare.write_comparison(comparison, tmp_path, with_map=False)


def test_map_shows_the_changes(comparison, tmp_path):
    overlays = compare.overlays(comparison)
    removed = next(g for title, g in overlays.items() if title.startswith("Removed"))
    assert len(removed) == 1700 and set(removed["status"]) == {"removed"}
    assert removed["label"].iloc[0].startswith("chargers CH")
    paths = compare.write_comparison(comparison, tmp_path, lang="en")
    page = paths["html"].read_text(encoding="utf-8")
    assert "Removed (only in as built)" in page and "<iframe" not in page
    for forbidden in ("https://unpkg", "cdn.jsdelivr", "<script src="):
        assert forbidden not in page


# ---- the command ---------------------------------------------------------------------------------


@pytest.fixture
def proposed_folder(tmp_path):
    folder = tmp_path / "proposed"
    shutil.copytree(datasets.get_path("ningbo"), folder)
    zones = gpd.read_file(folder / "future_zones.geojson")
    zones.iloc[:-1].to_file(folder / "future_zones.geojson", driver="GeoJSON")
    return folder


def test_cli_two_datasets(proposed_folder, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", str(datasets.get_path("ningbo")), str(proposed_folder),
                                       "--out", str(out), "--no-map", "--label-a", "as built",
                                       "--label-b", "proposed"])
    assert result.exit_code == 1, result.output  # a target got worse
    # the terminal names the layer and the target by their titles, not their ids
    assert "Future-industry pilot zones: +0 added, -1 removed" in result.output and "now not met" in result.output
    data = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert data["sites"]["future_zones"]["removed_ids"] == ["FZ00006"]
    assert (out / "compare.html").exists()


def test_cli_same_dataset_twice_exits_0(tmp_path):
    ds = str(datasets.get_path("ningbo"))
    result = CliRunner().invoke(main, ["-q", "compare", ds, ds, "--out", str(tmp_path), "--no-map",
                                       "--no-progress"])
    assert result.exit_code == 0 and result.output == ""


def test_cli_two_plans(tmp_path):
    result = CliRunner().invoke(main, ["compare", str(datasets.get_path("ningbo_2025")),
                                       str(datasets.get_path("ningbo_2035")), "--year", "2025",
                                       "--out", str(tmp_path), "--no-map"])
    assert result.exit_code == 1, result.output
    data = json.loads((tmp_path / "compare.json").read_text(encoding="utf-8"))
    assert data["a"]["plan"]["horizon"] == 2025 and data["b"]["plan"]["horizon"] == 2035
    assert all(s["unchanged"] >= 0 and s["added"] == 0 for s in data["sites"].values())


@pytest.mark.parametrize(("args", "message"), [
    (["{plan}", "{ds}"], "compare two datasets or two plans"),
    (["{ds}", "{ds}", "--dataset", "{ds}"], "--dataset is for comparing two plans"),
    (["{plan}", "{plan}", "--plan", "{plan}"], "--plan and --plan-b are for comparing two datasets"),
    (["{ds}", "nowhere"], "E-FILE-MISSING"),
    (["{ds}", "{csv}"], "neither a dataset"),
])
def test_cli_bad_input_exits_2(tmp_path, args, message):
    values = {"plan": str(datasets.get_path("ningbo_2025")), "ds": str(datasets.get_path("ningbo")),
              "csv": str(datasets.get_path("ningbo") / "indicators.csv")}
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", *[a.format(**values) for a in args], "--out", str(out)])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_two_plans_are_judged_on_the_same_year(sample, ningbo_plan):
    p35 = plan.read_plan(datasets.get_path("ningbo_2035"))
    c = compare.compare(sample, sample, ningbo_plan, p35, progress=False)
    assert c.a.year == c.b.year == 2025
    # The 2035 plan carries on the targets written before issue 15; the spatial targets issue 15 added
    # (the places of the published text) are the 2025 plan's only.
    only = {(t["id"], t["change"]) for t in c.targets if t["change"] in ("only_a", "only_b")}
    p35_ids = {t.id for t in p35.targets}
    assert only == {(t.id, "only_a") for t in ningbo_plan.targets if t.id not in p35_ids}
    assert {i for i, _ in only} == {"projects_100bn", "projects_10bn_manufacturing", "supercomputing_centre",
                                    "chain_data_centres", "qianwan_cooperation_zone"}
