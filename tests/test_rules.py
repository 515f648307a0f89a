"""Siting rules on hand-made geometries whose answers are known, and on the sample's planted violations."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import LineString, Point, box

from nbgeo import audit, cli, report, rules, settings
from nbgeo.crs import NINGBO_TM
from nbgeo.errors import CRSError, FilterError, RuleError
from nbgeo.layers import Dataset
from nbgeo.plan import RuleSpec

M = "EPSG:32651"  # a metric CRS for hand-made layers
FINDING_KEYS = {"feature_id", "status", "value", "limit", "margin", "unit", "reason", "reason_key", "reason_values",
                "severity", "basis"}
RULE_KEYS = {"id", "layer", "kind", "severity", "basis", "status", "checked", "failed", "unknown", "findings"}


def gdf(geoms, index, crs=M, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=crs, index=pd.Index(index, name="id"))


def col(result: rules.RuleResult, name: str) -> list:
    return result.frame[name].tolist()


# ---------------------------------------------------------------------------------------------
# exclusion


def test_exclusion_polygons_measure_overlap_area_and_share() -> None:
    red = gdf([box(0, 0, 100, 100)], ["r1"])
    sites = gdf([box(90, 0, 110, 10), box(20, 20, 30, 30), box(200, 0, 210, 10)], ["edge", "inside", "away"])
    r = rules.check_exclusion(sites, red, max_area=0)
    assert col(r, "status") == ["fail", "fail", "pass"]
    assert col(r, "value") == [100.0, 100.0, 0.0]
    assert col(r, "margin") == [-100.0, -100.0, 0.0]
    assert col(r, "other") == ["r1", "r1", None]
    shares = rules.check_exclusion(sites, red, max_share=60)
    assert col(shares, "value") == [50.0, 100.0, 0.0] and col(shares, "status") == ["pass", "fail", "pass"]
    assert col(shares, "unit") == ["%"] * 3
    assert rules.check_exclusion(sites, red, max_area=150).frame["status"].tolist() == ["pass"] * 3


def test_exclusion_counts_overlapping_areas_once() -> None:
    # Two red-line polygons overlapping each other: the site's overlap is their union, not the sum.
    red = gdf([box(0, 0, 60, 10), box(40, 0, 100, 10)], ["a", "b"])
    site = gdf([box(0, 0, 100, 10)], ["s"])
    r = rules.check_exclusion(site, red)
    assert col(r, "value") == [1000.0]
    assert col(r, "other") == ["a+b"]


def test_exclusion_lines_and_points() -> None:
    lake = gdf([box(0, 0, 100, 100)], ["lake"])
    road = gdf([LineString([(-50, 50), (150, 50)])], ["road"])
    assert col(rules.check_exclusion(road, lake), "value") == [100.0]
    assert col(rules.check_exclusion(road, lake, max_length=100), "status") == ["pass"]
    pts = gdf([Point(50, 90), Point(50, 120)], ["in", "out"])
    r = rules.check_exclusion(pts, lake)
    assert col(r, "status") == ["fail", "pass"] and col(r, "value") == [10.0, 0.0]


def test_exclusion_tolerance_band_makes_slivers_unknown() -> None:
    red = gdf([box(0, 0, 100, 100)], ["r1"])
    sites = gdf([box(99, 0, 110, 10), box(50, 0, 110, 10), box(101, 0, 110, 10)], ["sliver", "deep", "clear"])
    r = rules.check_exclusion(sites, red, tolerance=20)
    assert col(r, "status") == ["unknown", "fail", "pass"]  # 10 m² is within 20 m² of the limit; 0 m² is certain


def test_settings_tolerance_band_is_relative_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    road = gdf([LineString([(0, 0), (1000, 0)])], ["G1"])
    parks = gdf([Point(0, 980), Point(0, 900), Point(0, 1100)], ["near_limit", "clear", "far"])
    monkeypatch.setattr(settings, "tolerance_band", 0.05)  # 5 % of 1,000 m = 50 m
    r = rules.check_access(parks, road, max_distance=1000)
    assert col(r, "status") == ["unknown", "pass", "fail"]
    assert col(rules.check_access(parks, road, max_distance=1000, tolerance_band=0.0), "status") == [
        "pass", "pass", "fail"]
    assert col(rules.check_access(parks, road, max_distance=1000, tolerance=150), "status") == ["unknown"] * 3


# ---------------------------------------------------------------------------------------------
# within


def test_within_polygons_share_and_sites_split_between_zones() -> None:
    districts = gdf([box(0, 0, 100, 100), box(100, 0, 200, 100)], ["d1", "d2"], name=["A", "B"])
    parks = gdf([box(10, 10, 30, 30), box(90, 10, 110, 30), box(190, 10, 230, 30)], ["in", "split", "out"])
    r = rules.check_within(parks, districts)
    assert col(r, "value") == [100.0, 100.0, 25.0]
    assert col(r, "status") == ["pass", "pass", "fail"]
    assert col(r, "margin") == [0.0, 0.0, -75.0]
    assert r.reasons()["out"] == "only 25 % inside the zones (mostly d2 (B)); at least 100 % required"
    assert rules.check_within(parks, districts, tolerance=80).frame["status"].tolist() == ["pass", "pass", "unknown"]


def test_within_matching_its_own_district() -> None:
    districts = gdf([box(0, 0, 100, 100), box(100, 0, 200, 100)], ["d1", "d2"], name=["A", "B"])
    parks = gdf([box(10, 10, 30, 30), box(150, 10, 170, 30)], ["p1", "p2"], district=["A", "A"])
    r = rules.check_within(parks, districts, match={"district": "name"})
    assert col(r, "status") == ["pass", "fail"] and col(r, "value") == [100.0, 0.0]
    pts = gdf([Point(50, 50), Point(150, 50)], ["c1", "c2"], district=["A", "A"])
    rp = rules.check_within(pts, districts, match={"district": "name"})
    assert col(rp, "status") == ["pass", "fail"] and col(rp, "value") == [0.0, 50.0]


def test_within_points_distance_outside() -> None:
    city = gdf([box(0, 0, 100, 100)], ["city"])
    pts = gdf([Point(50, 50), Point(130, 50), Point(105, 50)], ["in", "out", "edge"])
    r = rules.check_within(pts, city)
    assert col(r, "value") == [0.0, 30.0, 5.0]
    assert col(r, "status") == ["pass", "fail", "fail"]
    assert col(rules.check_within(pts, city, max_distance=10), "status") == ["pass", "fail", "pass"]
    assert col(rules.check_within(pts, city, tolerance=10), "status") == ["pass", "fail", "unknown"]


# ---------------------------------------------------------------------------------------------
# setback, spacing, access


def test_setback_by_class_takes_the_binding_feature() -> None:
    plant = gdf([box(0, 0, 100, 100), box(5000, 0, 5100, 100)], ["near", "far"])
    land = gdf([box(400, 0, 500, 100), box(0, 700, 100, 800), box(0, -300, 50, -250)],
               ["home", "school", "shop"], kind=["residential", "school", "commercial"])
    r = rules.check_setback(plant, land, distance={"residential": 200, "school": 1000})
    row = r.frame.loc["near"]
    assert (row["status"], row["value"], row["limit"], row["margin"], row["other"]) == (
        "fail", 600.0, 1000.0, -400.0, "school")
    # Nothing within reach: passes with no value; the commercial feature has no setback and is not checked.
    far = r.frame.loc["far"]
    assert far["status"] == "pass" and math.isnan(far["value"])
    assert "no sensitive land within its setback" in r.reasons()["far"]
    single = rules.check_setback(plant, land, distance=300)  # the shop at 250 m binds; the home is at 300 m
    assert single.frame.loc["near", ["other", "value", "margin"]].tolist() == ["shop", 250.0, -50.0]


def test_setback_band_reaches_beyond_the_limit() -> None:
    plant = gdf([Point(0, 0)], ["p"])
    home = gdf([Point(1030, 0)], ["h"], kind=["residential"])
    assert col(rules.check_setback(plant, home, distance=1000), "status") == ["pass"]
    r = rules.check_setback(plant, home, distance=1000, tolerance=50)
    assert col(r, "status") == ["unknown"] and col(r, "value") == [1030.0]


def test_spacing_keeps_the_first_of_a_close_pair() -> None:
    ch = gdf([Point(0, 0), Point(12, 0), Point(100, 0), Point(112, 5)], ["a", "b", "c", "d"])
    r = rules.check_spacing(ch, min_distance=20)
    assert col(r, "status") == ["pass", "fail", "pass", "fail"]
    assert col(r, "other") == [None, "a", None, "c"]
    assert col(r, "value")[1] == 12.0 and col(r, "value")[3] == 13.0
    both = rules.check_spacing(ch, min_distance=20, keep=False)
    assert col(both, "status") == ["fail"] * 4
    with pytest.raises(RuleError, match="keep"):
        rules.check_spacing(ch, min_distance=20, keep="last")


def test_access_straight_line_measures_every_site() -> None:
    road = gdf([LineString([(0, 0), (1000, 0)])], ["G1"])
    parks = gdf([Point(500, 300), Point(500, 2500), box(100, -50, 200, 50)], ["p1", "p2", "p3"])
    r = rules.check_access(parks, road, max_distance=1000)
    assert col(r, "value") == [300.0, 2500.0, 0.0]
    assert col(r, "margin") == [700.0, -1500.0, 1000.0]
    assert col(r, "status") == ["pass", "fail", "pass"]
    assert r.reasons()["p3"] == "reaches G1; at most 1,000 m"


# ---------------------------------------------------------------------------------------------
# area, overlap, slope


def test_area_bounds_geometry_and_column() -> None:
    parks = gdf([box(0, 0, 100, 100), box(0, 0, 200, 200), box(0, 0, 400, 400)], ["s", "m", "l"],
                floor=[5000.0, None, 30000.0])
    r = rules.check_area(parks, min_area=2, max_area=10, unit="ha")
    assert col(r, "value") == [1.0, 4.0, 16.0]
    assert col(r, "limit") == [2.0, 2.0, 10.0]
    assert col(r, "margin") == [-1.0, 2.0, -6.0]
    assert col(r, "status") == ["fail", "pass", "fail"]
    by_column = rules.check_area(parks, min_area=10000, column="floor")
    assert col(by_column, "status") == ["fail", "unknown", "pass"]
    pts = gdf([Point(0, 0)], ["p"])
    assert col(rules.check_area(pts, min_area=1), "status") == ["unknown"]
    with pytest.raises(RuleError):
        rules.check_area(parks)


def test_overlap_nested_site_is_counted_once() -> None:
    parks = gdf([box(0, 0, 100, 100), box(10, 10, 20, 20), box(90, 0, 150, 100), box(300, 0, 400, 100)],
                ["big", "nested", "across", "apart"])
    r = rules.check_overlap(parks)
    assert col(r, "status") == ["pass", "fail", "fail", "pass"]
    assert col(r, "value") == [0.0, 100.0, 1000.0, 0.0]
    assert col(r, "other") == [None, "big", "big", None]
    assert r.reasons()["nested"] == "nested in big (counted once, there)"
    assert col(rules.check_overlap(parks, max_share=20), "status") == ["pass", "fail", "pass", "pass"]
    # Leaving the failing sites out keeps one of each overlapping pair.
    assert len(parks) - r.failed == 2
    first = rules.check_overlap(parks, keep="first")
    assert col(first, "status") == ["pass", "fail", "fail", "pass"]
    assert col(rules.check_overlap(parks, keep=False), "status") == ["fail", "fail", "fail", "pass"]


def test_slope_rule_on_the_sample_dem(sample: Dataset) -> None:
    dem = sample.raster("dem")
    parks = sample["micro_parks"]
    r = rules.check_slope(parks, dem, max_slope=10)
    assert r.failing_ids.tolist() == ["MP00001"]
    assert r.frame.loc["MP00001", "value"] > 10 and r.frame["unit"].iloc[0] == "%"
    degrees = rules.check_slope(parks, dem, max_slope=5, unit="degree", stat="max")
    assert degrees.frame["unit"].iloc[0] == "degree" and "MP00001" in degrees.failing_ids
    # A site smaller than a DEM cell is read at the cell under it; one off the DEM is unknown.
    tiny = gpd.GeoDataFrame(geometry=[box(121.5001, 29.8501, 121.5003, 29.8503), box(100.0, 10.0, 100.1, 10.1)],
                            crs=4326, index=["tiny", "off"])
    t = rules.check_slope(tiny, dem, max_slope=10)
    assert col(t, "status") == ["pass", "unknown"]
    assert t.reasons()["off"] == "no DEM data under the site"


# ---------------------------------------------------------------------------------------------
# CRSs, empty and missing layers


def test_mixed_crs_is_an_error_naming_both() -> None:
    sites = gdf([Point(0, 0)], ["s"])
    other = gdf([Point(0, 0)], ["o"], crs=NINGBO_TM)
    with pytest.raises(CRSError, match=r"EPSG:32651.*\+proj=tmerc") as info:
        rules.check_access(sites, other, max_distance=10)
    assert info.value.code == "E-CRS-MISMATCH"
    with pytest.raises(CRSError, match="geographic") as geo:
        rules.check_spacing(gdf([Point(121.5, 29.9)], ["s"], crs=4326), min_distance=10)
    assert geo.value.code == "E-CRS-GEOGRAPHIC"
    with pytest.raises(CRSError, match="no CRS"):
        rules.check_exclusion(gpd.GeoDataFrame(geometry=[Point(0, 0)]), other)


def test_empty_layers() -> None:
    empty = gdf([], [])
    red = gdf([box(0, 0, 10, 10)], ["r"])
    r = rules.check_exclusion(empty, red)
    assert r.checked == 0 and r.status == "pass" and r.findings() == []
    sites = gdf([box(0, 0, 5, 5)], ["s"])
    assert col(rules.check_exclusion(sites, empty), "status") == ["pass"]
    assert col(rules.check_setback(sites, empty.assign(kind=[]), distance={"school": 100}), "status") == ["pass"]
    access = rules.check_access(sites, empty, max_distance=10)
    assert col(access, "status") == ["unknown"]


def _dataset(**layers: gpd.GeoDataFrame) -> Dataset:
    return Dataset.from_gdfs({k: v.to_crs(4326) for k, v in layers.items()}, name="t")


def test_evaluate_rule_with_missing_and_empty_layers() -> None:
    parks = gdf([box(505000, 3305000, 505100, 3305100)], ["p1"], crs=NINGBO_TM)
    ds = _dataset(micro_parks=parks)
    missing_site_layer = rules.evaluate_rule(RuleSpec("r1", "chargers", "spacing", {"min_distance": 20}), ds)
    assert missing_site_layer.status == "unknown" and missing_site_layer.checked == 0
    entry = missing_site_layer.to_dict()
    assert set(entry) == RULE_KEYS and entry["findings"][0]["reason"] == "dataset has no layer 'chargers'"
    missing_against = rules.evaluate_rule(
        RuleSpec("r2", "micro_parks", "exclusion", {"against": "constraints"}), ds)
    assert missing_against.status == "unknown" and col(missing_against, "status") == ["unknown"]
    assert "no layer 'constraints'" in missing_against.reasons()["p1"]
    no_dem = rules.evaluate_rule(RuleSpec("r3", "micro_parks", "slope", {"max_slope": 10}), ds)
    assert col(no_dem, "status") == ["unknown"] and no_dem.frame["unit"].iloc[0] == "%"
    nothing = rules.evaluate_rule(RuleSpec("r4", "micro_parks", "area", {"min_area": 1, "where": {"name": "x"}}),
                                  ds.__class__.from_gdfs({"micro_parks": parks.assign(name=["y"])}))
    assert nothing.status == "pass" and nothing.checked == 0 and nothing.to_dict()["findings"] == []


def test_malformed_rules_are_errors() -> None:
    ds = _dataset(micro_parks=gdf([box(0, 0, 10, 10)], ["p"], crs=NINGBO_TM))
    # A malformed rule is refused when it is built, before any layer is read.
    with pytest.raises(RuleError, match="rule 'r', key 'kind': must be one of within") as kind:
        RuleSpec("r", "micro_parks", "buffer")
    assert kind.value.code == "E-RULE-KIND"
    with pytest.raises(RuleError, match=r"key 'max_dist': unknown key.*did you mean 'max_distance'") as key:
        RuleSpec("r", "micro_parks", "access", {"against": "x", "max_dist": 5})
    assert key.value.code == "E-RULE-KEY"
    with pytest.raises(RuleError, match=r"key 'distance': unknown key for kind 'exclusion' \(a key of setback") as k:
        RuleSpec("r", "micro_parks", "exclusion", {"against": "x", "distance": 5})
    assert k.value.code == "E-RULE-KEY"
    with pytest.raises(RuleError, match="missing key 'distance'"):
        RuleSpec("r", "micro_parks", "setback", {"against": "micro_parks"})
    with pytest.raises(FilterError, match="rule 'r', key 'where': layer 'micro_parks' has no column 'use'"):
        rules.evaluate_rule(RuleSpec("r", "micro_parks", "area", {"min_area": 1, "where": {"use": "x"}}), ds)


def test_filter_sites_operators() -> None:
    g = gpd.GeoDataFrame({"lead": ["绿色石化;新材料", "新材料", None], "year": [2020, 2023, 2025]})
    assert rules.filter_sites(g, {"lead": {"contains": "新材料"}}).index.tolist() == [0, 1]
    assert rules.filter_sites(g, {"year": {"<": 2025}, "lead": {"contains": "绿色石化"}}).index.tolist() == [0]
    assert rules.filter_sites(g, {"year": [2020, 2025]}).index.tolist() == [0, 2]
    with pytest.raises(FilterError, match="unknown operator '~'"):
        rules.filter_sites(g, {"year": {"~": 1}})


# ---------------------------------------------------------------------------------------------
# the sample, the audit, the CLI


PLANTED = {
    "red_line_micro_parks": ["MP00001"], "red_line_land_transfers": ["LT00001"],
    "farmland_micro_parks": ["MP00002"], "farmland_land_transfers": ["LT00002"],
    "petrochemical_setback": ["CL00001"], "charger_spacing": ["CH10600"],
    # not planted: a real school 659 m from the petrochemical zone (OpenStreetMap, the receptors layer)
    "petrochemical_setback_schools_hospitals": ["CL00001"],
    "micro_park_slope": ["MP00001"], "industrial_land_slope": ["LT00001"],
}


def outside_town_boundary(sample: Dataset) -> list[str]:
    """The industrial parcels not wholly inside the illustrative urban development boundary (by construction)."""
    c = sample["constraints"]
    boundary = c.geometry[c["kind"] == "urban_development_boundary"].to_crs(NINGBO_TM).union_all()
    lt = sample["land_transfers"]
    industrial = lt[lt["use"] == "industrial"].to_crs(NINGBO_TM)
    return sorted(industrial.index[~industrial.within(boundary)].tolist())


def test_sample_rules_find_exactly_the_planted_violations(sample: Dataset, ningbo_plan) -> None:
    results = {r.rule.id: r for r in rules.evaluate_rules(ningbo_plan, sample)}
    failing = {rid: r.failing_ids.tolist() for rid, r in results.items() if r.failed}
    town = failing.pop("industrial_land_in_town_boundary")
    assert failing == PLANTED
    assert sorted(town) == outside_town_boundary(sample) and len(town) > 10
    assert all(r.unknown == 0 for r in results.values())
    setback = results["petrochemical_setback"]
    assert setback.checked == 2  # the two zones whose lead industries include 绿色石化
    assert setback.frame.loc["CL00001", "other"] == "CN00067"
    assert 340 < setback.frame.loc["CL00001", "value"] < 360
    real = results["petrochemical_setback_schools_hospitals"].frame.loc["CL00001"]
    assert real["other"] == "RC00154" and 650 < real["value"] < 670
    assert sample["receptors"].loc["RC00154", "kind"] == "school"
    spacing = results["charger_spacing"].frame.loc["CH10600"]
    assert spacing["other"] == "CH00001" and 11 < spacing["value"] < 13
    for rule in ningbo_plan.rules:
        assert rule.phrase and rule.params.get("source"), rule.id


def test_offending_geometry_of_failing_sites(sample: Dataset, ningbo_plan) -> None:
    rule = next(r for r in ningbo_plan.rules if r.id == "red_line_micro_parks")
    shapes = rules.evaluate_rule(rule, sample).offending()
    assert shapes.crs.to_epsg() == 4326
    assert sorted(shapes["role"]) == ["offending", "site"]
    overlap = shapes[shapes["role"] == "offending"].iloc[0]
    site = shapes[shapes["role"] == "site"].iloc[0]
    assert overlap["other"] == "CN00003" and overlap.geometry.within(site.geometry.buffer(1e-6))
    assert overlap["label"].startswith("red_line_micro_parks: MP00001 — overlaps CN00003")
    setback = next(r for r in ningbo_plan.rules if r.id == "petrochemical_setback")
    pieces = rules.evaluate_rule(setback, sample).offending()
    assert set(pieces.geom_type) == {"Polygon", "LineString"}  # the zone, the residential area, the gap


def test_audit_json_rules_section_and_exit_code(sample: Dataset, ningbo_plan) -> None:
    result = audit.run_audit(sample, ningbo_plan)
    doc = json.loads(report.to_json(result))
    entries = {e["id"]: e for e in doc["rules"]}
    assert len(entries) == len(ningbo_plan.rules)
    for e in entries.values():
        assert set(e) - {"control_line"} == RULE_KEYS | {"year", "later", "later_by_year", "undated"}
        for f in e["findings"]:
            assert set(f) == FINDING_KEYS
    spacing = entries["charger_spacing"]
    assert (spacing["status"], spacing["checked"], spacing["failed"], spacing["unknown"]) == ("fail", 10600, 1, 0)
    assert spacing["findings"][0]["feature_id"] == "CH10600" and spacing["findings"][0]["unit"] == "m"
    assert doc["summary"]["rules"] == {"fail": 10, "pass": 7}
    assert doc["dataset"]["rasters"]["dem"]["illustrative"] is True
    assert any(title.startswith("rule micro_park_slope") for title in result.overlays)
    assert all({"status", "label"} <= set(g.columns) for g in result.overlays.values())
    assert result.exit_code == 1


def test_rules_alone_decide_the_exit_code(sample: Dataset, ningbo_plan) -> None:
    from nbgeo.plan import Plan

    def rules_only(specs: tuple[RuleSpec, ...]) -> Plan:
        return Plan(id="rules-only", title="rules", baseline=2020, horizon=2025, rules=specs)

    failing = {*PLANTED, "industrial_land_in_town_boundary"}
    passing = tuple(r for r in ningbo_plan.rules if r.id not in failing)
    assert audit.run_audit(sample, rules_only(passing)).exit_code == 0
    assert audit.run_audit(sample, rules_only(ningbo_plan.rules)).exit_code == 1
    # Suggestions (建议) alone do not set the exit code; --strict (strict=True) makes them count.
    advisory = tuple(r for r in ningbo_plan.rules if r.severity == "建议")
    assert audit.run_audit(sample, rules_only(advisory)).exit_code == 0
    assert audit.run_audit(sample, rules_only(advisory), strict=True).exit_code == 1


def test_exclude_failing_leaves_failing_sites_out_of_counts(sample: Dataset, ningbo_plan) -> None:
    kept = audit.run_audit(sample, ningbo_plan, exclude_failing=True)
    full = audit.run_audit(sample, ningbo_plan)
    by_id = {(t.id, t.year): t.actual for t in full.targets}
    kept_by_id = {(t.id, t.year): t.actual for t in kept.targets}
    assert kept_by_id[("micro_parks", 2025)] == by_id[("micro_parks", 2025)] - 2  # MP00001, MP00002
    assert kept_by_id[("chargers", 2025)] == by_id[("chargers", 2025)] - 1  # CH10600
    assert kept_by_id[("clusters_100bn", 2025)] == by_id[("clusters_100bn", 2025)] - 1  # CL00001
    assert "CH10600" not in kept.dataset["chargers"].index and "CH10600" in sample["chargers"].index
    assert "left out" in kept.dataset.layer("chargers").meta.note
    assert [e["failed"] for e in kept.sections["rules"]] == [e["failed"] for e in full.sections["rules"]]


def test_report_lists_failing_sites(sample: Dataset, ningbo_plan) -> None:
    result = audit.run_audit(sample, ningbo_plan)
    html = report.to_html(result, lang="en")
    assert "CN00067" in html and "MP00001" in html and "failing and unknown sites" in html
    md = report.to_markdown(result, lang="en")
    assert "only 350 m from residential CN00067" in md


def test_cli_rules_writes_outputs_and_exit_codes(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "r"
    res = runner.invoke(cli.main, ["rules", "--out", str(out)])
    assert res.exit_code == 1, res.output
    # the terminal in words (nbgeo.renderers.terminal): English by default, severities too
    assert "CH10600 fail [advisory]: 12 m from CH00001" in res.output and "7 of 17 rules pass" in res.output
    doc = json.loads((out / "rules.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "nbgeo.rules/1" and len(doc["rules"]) == 17
    sites = pd.read_csv(out / "rule_sites.csv")
    assert set(sites["status"]) == {"pass", "fail"} and len(sites) > 10600
    shapes = gpd.read_file(out / "rule_failures.geojson")
    assert set(shapes["feature_id"]) >= {"MP00001", "CH10600", "CL00001"}
    again = runner.invoke(cli.main, ["rules", "--out", str(out)])
    assert again.exit_code == 2 and "exists" in again.output
    ok = runner.invoke(cli.main, ["-q", "rules", "--out", str(out), "--overwrite", "--layer", "featured_parks"])
    assert ok.exit_code == 0, ok.output
    assert [e["id"] for e in json.loads((out / "rules.json").read_text())["rules"]] == [
        "featured_parks_near_clusters", "featured_parks_no_overlap"]
    bad = runner.invoke(cli.main, ["rules", "--out", str(out), "--overwrite", "--rule", "nope"])
    assert bad.exit_code == 2 and "no rule 'nope'" in bad.output


def test_cli_audit_exclude_failing(tmp_path) -> None:
    out = tmp_path / "a"
    res = CliRunner().invoke(cli.main, ["-q", "audit", "--out", str(out), "--no-map", "--exclude-failing"])
    assert res.exit_code == 1, res.output
    doc = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    micro = next(t for t in doc["targets"] if t["id"] == "micro_parks" and t["year"] == 2025)
    assert micro["actual"] == 213.0


def test_rules_are_vectorised_on_many_sites() -> None:
    # 20,000 random chargers against a grid of exclusion squares: the answer is known from coordinates alone.
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10_000, (20_000, 2))
    squares = gdf([box(x, y, x + 100, y + 100) for x in range(0, 10_000, 1000) for y in range(0, 10_000, 1000)],
                  [f"q{i}" for i in range(100)])
    pts = gdf([Point(x, y) for x, y in xy], [f"c{i}" for i in range(len(xy))])
    r = rules.check_exclusion(pts, squares)
    inside = ((xy % 1000) < 100).all(axis=1)
    assert (r.frame["status"].to_numpy() == np.where(inside, "fail", "pass")).all()
    depth = np.minimum.reduce([xy[:, 0] % 1000, 100 - xy[:, 0] % 1000, xy[:, 1] % 1000, 100 - xy[:, 1] % 1000])
    assert np.allclose(r.frame["value"].to_numpy()[inside], depth[inside])


def test_access_by_road_uses_the_network() -> None:
    from nbgeo import network

    # A two-way street along y = 0 from x = 0 to 400; a charger 30 m off its east end.
    net = network.network_from_arrays(np.arange(5) * 100.0, np.zeros(5), u=[0, 1, 2, 3, 1, 2, 3, 4],
                                      v=[1, 2, 3, 4, 0, 1, 2, 3], crs=M)
    chargers = gdf([Point(400, 30)], ["CH1"])
    parks = gdf([Point(0, -40), Point(210, 0), Point(390, 5000)], ["MP1", "MP2", "MP3"])
    r = rules.check_access(parks, chargers, max_distance=300, network=net)
    # MP1: 40 m to the street + 400 m along it + 30 m to the charger; straight it would be about 404 m.
    assert col(r, "status") == ["fail", "pass", "fail"]
    assert col(r, "value")[1] == 240.0 and np.isinf(col(r, "value")[0])
    assert r.reasons()["MP2"] == "240 m from CH1 (by road); at most 300 m"
    assert r.reasons()["MP1"] == "nothing within 300 m by road"
    loose = rules.check_access(parks, chargers, max_distance=500, network=net)
    assert col(loose, "value")[0] == 470.0 and col(loose, "status")[:2] == ["pass", "pass"]


def test_access_by_road_without_a_declared_network_is_unknown() -> None:
    ds = _dataset(featured_parks=gdf([box(0, 0, 10, 10)], ["p"], crs=NINGBO_TM),
                  clusters=gdf([box(20, 0, 30, 10)], ["c"], crs=NINGBO_TM))
    spec = RuleSpec("r", "featured_parks", "access", {"against": "clusters", "max_distance": 100, "by": "road"})
    result = rules.evaluate_rule(spec, ds)
    assert result.status == "unknown" and col(result, "status") == ["unknown"]
    assert result.reasons()["p"] == "dataset declares no road network 'roads' to measure by road"
    with pytest.raises(RuleError, match="key 'by': must be one of straight, road") as by:
        RuleSpec("r", "featured_parks", "access", {"against": "clusters", "max_distance": 100, "by": "air"})
    assert by.value.code == "E-RULE-VALUE"


def test_rules_and_plan_are_packages_of_small_modules_with_imports_at_the_top() -> None:
    """Issue 14: no module over 900 lines, no import inside a function, no private name from another module."""
    import ast
    from pathlib import Path

    import nbgeo

    root = Path(nbgeo.__file__).parent
    modules = sorted([*(root / "rules").glob("*.py"), *(root / "plan").glob("*.py")])
    assert {m.parent.name for m in modules} == {"rules", "plan"} and len(modules) >= 8
    for module in modules:
        text = module.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 900, module
        tree = ast.parse(text)
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = [n for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert not inner, f"{module.name}: import inside {fn.name}()"
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{module.name} imports {private} from {node.module}"


# ---------------------------------------------------------------------------------------------
# overlapping features count once, without merging the whole layer (issue 18)


def _union_share(site, zones) -> float:
    import shapely

    return 100.0 * shapely.intersection(site, shapely.union_all(zones)).area / site.area


def test_within_overlapping_zones_counts_the_overlap_once_and_names_the_group() -> None:
    zones = [box(0, 0, 100, 100), box(90, 0, 200, 100), box(500, 0, 600, 100)]
    city = gdf(zones, ["a", "b", "c"])
    sites = gdf([box(85, 10, 105, 20), box(190, 10, 210, 20), box(520, 10, 530, 20), box(20, 10, 30, 20)],
                ["straddles", "half_out", "alone", "inside_a"])
    r = rules.check_within(sites, city)
    assert col(r, "status") == ["pass", "fail", "pass", "pass"]
    assert col(r, "other") == ["a+b", "a+b", "c", "a+b"]
    assert col(r, "value")[0] == 100.0
    assert col(r, "value")[1] == pytest.approx(_union_share(sites.geometry["half_out"], zones[:2]), rel=1e-12)
    assert col(r, "value")[1] == pytest.approx(50.0)
    off = r.offending().to_crs(M)
    piece = off[(off["feature_id"] == "half_out") & (off["role"] == "offending")].geometry.iloc[0]
    assert piece.area == pytest.approx(100.0, rel=1e-6)
    assert piece.centroid.distance(Point(205, 15)) < 1e-6


def test_within_points_in_an_overlap_or_outside_a_group_measure_the_group() -> None:
    city = gdf([box(0, 0, 100, 100), box(90, 0, 200, 100)], ["a", "b"])
    pts = gdf([Point(95, 50), Point(250, 50), Point(-30, 50)], ["overlap", "east", "west"])
    r = rules.check_within(pts, city, max_distance=40)
    assert col(r, "other") == ["a+b", "a+b", "a+b"]
    assert col(r, "value") == [0.0, 50.0, 30.0]
    assert col(r, "status") == ["pass", "fail", "pass"]
    lines = r.offending().to_crs(M).query("role == 'offending'").geometry
    assert lines.length.round(6).tolist() == [50.0]


def test_exclusion_point_depth_is_measured_in_the_union_of_overlapping_areas() -> None:
    # In each area alone the point is 1 m deep; in their union (18 x 10 m) 5 m: the square around the point
    # must grow until the union's edge, not the square's, is the nearest.
    import shapely

    areas = [box(0, 0, 10, 10), box(8, 0, 18, 10)]
    red = gdf(areas, ["r1", "r2"])
    pts = gdf([Point(9, 5), Point(2, 1), Point(30, 5)], ["deep", "shallow", "out"])
    r = rules.check_exclusion(pts, red)
    assert col(r, "value")[0] == pytest.approx(shapely.union_all(areas).boundary.distance(Point(9, 5)))
    assert col(r, "value") == [5.0, 1.0, 0.0]
    assert col(r, "other") == ["r1+r2", "r1+r2", None]


def test_exclusion_polygon_overlap_with_overlapping_areas_is_not_counted_twice() -> None:
    import shapely

    areas = [box(0, 0, 10, 10), box(5, 0, 15, 10), box(30, 0, 40, 10)]
    red = gdf(areas, ["r1", "r2", "r3"])
    sites = gdf([box(4, 2, 12, 4), box(28, 0, 32, 2), box(14, 8, 31, 9)], ["two", "one", "both_groups"])
    r = rules.check_exclusion(sites, red)
    whole = shapely.union_all(areas)
    expected = [shapely.intersection(g, whole).area for g in sites.geometry]
    assert col(r, "value") == pytest.approx(expected, rel=1e-12)
    assert col(r, "value")[0] == 16.0
    assert col(r, "other")[:2] == ["r1+r2", "r3"]
    lines = gdf([LineString([(4, 5), (12, 5)])], ["road"])
    assert col(rules.check_exclusion(lines, red), "value") == [8.0]


def test_touching_zones_are_not_merged_so_a_tight_budget_does_not_refuse_them(monkeypatch) -> None:
    # A province's districts touch their neighbours along long, detailed borders; they do not overlap, so no
    # merge is priced (before issue 18 the touching pairs were priced as a merge and refused at x100).
    from nbgeo import limits

    n = 4000
    xs = np.linspace(0, 100, n)
    wiggle = np.sin(xs) * 0.5
    border = list(zip(50 + wiggle, xs, strict=True))
    west = gdf([__import__("shapely").Polygon([(0, 0), *border, (0, 100)])], ["west"])
    east = gdf([__import__("shapely").Polygon([(100, 0), *border, (100, 100)])], ["east"])
    city = pd.concat([west, east])
    monkeypatch.setattr(limits, "max_work_seconds", 1e-4)
    monkeypatch.setattr(limits, "max_total_work_seconds", 1e-3)
    sites = gdf([box(10, 10, 20, 20), box(80, 10, 90, 20)], ["w", "e"])
    r = rules.check_within(sites, city)
    assert col(r, "other") == ["west", "east"]
    assert col(r, "status") == ["pass", "pass"]
