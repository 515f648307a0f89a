"""Siting rules follow the audited year (issue 16): sites that did not exist yet are counted apart, not failed.

The year rule is the one of targets and coverage (nbgeo.filters.year_mask): a site exists from the year in its
layer's ``year`` column; the layer it is checked against follows the year too when it has one.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely import Point, box

from nbgeo import audit, runs
from nbgeo.cli import main
from nbgeo.filters import year_mask
from nbgeo.layers import Dataset
from nbgeo.plan import Plan, RuleSpec
from nbgeo.rules import dataset_in_year, evaluate_rules, evaluate_rules_in_year, rule_years


def _later_failures(sample, ningbo_plan, year):
    """(rule id, site id) of the horizon's failing sites whose year is after ``year``, read from the data."""
    out = []
    for r in evaluate_rules(ningbo_plan, sample):
        gdf = sample[r.rule.layer]
        if "year" not in gdf.columns:
            continue
        out += [(r.rule.id, fid) for fid in r.failing_ids if gdf.loc[fid, "year"] > year]
    return out


def test_a_site_built_after_the_audited_year_does_not_fail_it(sample, ningbo_plan):
    later = _later_failures(sample, ningbo_plan, 2023)
    assert later, "the sample plants a violation built after 2023 (a micro-park of 2024 in the red line)"
    found = audit.run_audit(sample, ningbo_plan, year=2023)
    entries = {e["id"]: e for e in found.sections["rules"]}
    for rule_id, fid in later:
        assert fid not in [f["feature_id"] for f in entries[rule_id]["findings"]], (rule_id, fid)
    at_horizon = audit.run_audit(sample, ningbo_plan)
    horizon_entries = {e["id"]: e for e in at_horizon.sections["rules"]}
    for rule_id, fid in later:
        assert fid in [f["feature_id"] for f in horizon_entries[rule_id]["findings"]]


def test_each_rule_says_what_it_judged_and_what_it_counted_apart(sample, ningbo_plan):
    found = audit.run_audit(sample, ningbo_plan, year=2023)
    for e in found.sections["rules"]:
        gdf = sample[e["layer"]]
        assert e["year"] == 2023
        if "year" not in gdf.columns:  # a layer without years: every site, every year
            assert e["later"] == 0 and e["undated"] == 0
            continue
        rule = next(r for r in ningbo_plan.rules if r.id == e["id"])
        if rule.params.get("where"):
            continue
        exists = year_mask(gdf, 2023).to_numpy()
        assert e["checked"] == int(exists.sum()), e["id"]
        assert e["later"] == int((gdf["year"] > 2023).sum()) == sum(e["later_by_year"].values()), e["id"]
        assert all(int(y) > 2023 for y in e["later_by_year"])


def test_the_layer_checked_against_follows_the_year_too():
    # a school opened in 2024 makes the 2024 site fail its setback, but not the 2023 one
    m = "EPSG:32651"
    sites = gpd.GeoDataFrame({"year": [2022]}, geometry=[Point(350000, 3300000)], crs=m, index=["s1"])
    schools = gpd.GeoDataFrame({"year": [2024], "kind": ["school"]}, geometry=[Point(350300, 3300000)], crs=m,
                               index=["k1"])
    ds = Dataset.from_gdfs({"sites": sites, "schools": schools})
    rule = RuleSpec(id="setback", layer="sites", kind="setback", params={"against": "schools", "distance": 500})
    plan = Plan(id="p", title="p", baseline=2020, horizon=2025, rules=(rule,))
    (in_2023,), years = evaluate_rules_in_year(plan, ds, 2023)
    assert in_2023.status == "pass" and in_2023.checked == 1 and years["setback"].existing == 1
    (in_2024,), _ = evaluate_rules_in_year(plan, ds, 2024)
    assert in_2024.status == "fail" and in_2024.failing_ids.tolist() == ["s1"]


def test_a_site_with_no_year_is_in_no_year():
    m = "EPSG:32651"
    sites = gpd.GeoDataFrame({"year": [2021, None, 2026]}, geometry=[box(0, 0, 10, 10)] * 3, crs=m,
                             index=["a", "b", "c"])
    sites = sites.set_geometry(sites.geometry.translate(350000, 3300000))
    ds = Dataset.from_gdfs({"parks": sites})
    rule = RuleSpec(id="area", layer="parks", kind="area", params={"min_area": 1})
    info = rule_years(Plan(id="p", title="p", baseline=2020, horizon=2025, rules=(rule,)), ds, 2025)["area"]
    assert (info.existing, info.later, info.undated, dict(info.later_by_year)) == (1, 1, 1, {2026: 1})


def test_a_year_reuses_the_projection_already_made(sample):
    full = sample.metric("chargers")
    then = dataset_in_year(sample, 2021)
    kept = then.metric("chargers")
    assert len(kept) == int((sample["chargers"]["year"] <= 2021).sum()) < len(full)
    assert kept.geometry.equals(full.geometry[kept.index])
    assert len(then["constraints"]) == len(sample["constraints"])  # no year column: every feature, every year


def test_rules_run_takes_the_year(sample, ningbo_plan):
    out = runs.rules_run(sample, ningbo_plan, rule_ids=["red_line_micro_parks"], year=2023)
    horizon = runs.rules_run(sample, ningbo_plan, rule_ids=["red_line_micro_parks"])
    assert out.exit_code == 0 and horizon.exit_code == 1  # the red-line park is built in 2024
    assert "not judged, counted apart: Micro-enterprise parks 99 later" in out.text


@pytest.mark.parametrize("year", [2023, None])
def test_nbgeo_rules_year_exit_code_and_counts(tmp_path, sample, ningbo_plan, year):
    args = ["rules", "--out", str(tmp_path / "r")] + (["--year", str(year)] if year else [])
    result = CliRunner().invoke(main, args)
    found = audit.run_audit(sample, ningbo_plan, year=year)  # the audit's rules section, same year
    expected = {e["id"]: e for e in found.sections["rules"]}
    assert result.exit_code == (1 if any(e["status"] != "pass" for e in expected.values()) else 0), result.output
    doc = json.loads((tmp_path / "r" / "rules.json").read_text(encoding="utf-8"))
    assert doc["year"] == (year or ningbo_plan.horizon)
    for e in doc["rules"]:
        want = expected[e["id"]]
        assert (e["checked"], e["failed"], e["later"], e["undated"], e["status"]) == (
            want["checked"], want["failed"], want["later"], want["undated"], want["status"]), e["id"]
    one = CliRunner().invoke(main, ["rules", "--rule", "red_line_micro_parks", "--out", str(tmp_path / "one"),
                                    *(["--year", str(year)] if year else [])])
    assert one.exit_code == (0 if year == 2023 else 1), one.output
