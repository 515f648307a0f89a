"""nbgeo in QGIS, for real: the plugin as `nbgeo qgis install` puts it, run by QGIS 3 headless.

One QGIS process (tests/qgis_scripts/run_in_qgis.py, run by the system Python that has QGIS) runs every
algorithm through processing.run on the sample, reads the audit's project, renders it to a PNG and runs a
bad dataset; the tests below check what it reports. Without QGIS they skip, unless NBGEO_REQUIRE_QGIS is set
(CI sets it), when they fail.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from nbgeo import datasets
from nbgeo.qgis import categories, install_plugin, style_geopackage
from nbgeo.renderers import labels, theme

QGIS_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).parent / "qgis_scripts" / "run_in_qgis.py"


def _has_qgis() -> bool:
    if not Path(QGIS_PYTHON).exists():
        return False
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def qgis_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not _has_qgis():
        if os.environ.get("NBGEO_REQUIRE_QGIS"):
            pytest.fail("NBGEO_REQUIRE_QGIS is set but QGIS's Python (python3-qgis) is not installed")
        pytest.skip("QGIS is not installed (apt-get install qgis python3-qgis)")
    root = tmp_path_factory.mktemp("qgis")
    profile = root / "profile"
    nbgeo = Path(sys.executable).parent / "nbgeo"
    installed = subprocess.run([str(nbgeo), "qgis", "install", "--profile-dir", str(profile)], capture_output=True,
                               text=True, check=True)
    assert "installed the QGIS plugin" in installed.stdout
    bad = root / "bad"
    bad.mkdir()
    (bad / "dataset.toml").write_text("this is = = not toml\n", encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(root)}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([QGIS_PYTHON, str(SCRIPT), str(profile / "python" / "plugins"), str(nbgeo),
                           str(root / "work"), str(bad), datasets.get_path("ningbo_2025"),
                           datasets.get_path("ningbo_2035")], capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
    assert lines, f"QGIS reported nothing (exit {done.returncode}): {done.stderr[-3000:]}"
    result = json.loads(lines[-1].removeprefix("RESULTS "))
    result["root"] = str(root)
    return result


def _expected(kind: str) -> list[list[str]]:
    return [[c.value, c.legend, c.colour] for c in categories(kind, "zh")]


def test_every_algorithm_is_registered(qgis_run: dict) -> None:
    assert qgis_run["algorithms"] == ["nbgeo:audit", "nbgeo:compare", "nbgeo:coverage", "nbgeo:rules", "nbgeo:site"]


@pytest.mark.parametrize("command", ["audit", "rules", "coverage", "site", "compare"])
def test_each_algorithm_writes_its_outputs(qgis_run: dict, command: str) -> None:
    run = qgis_run[command]
    assert "error" not in run, run.get("error")
    assert run["exit_code"] in (0, 1)
    expected = {"audit": {"audit.json", "audit.html", "findings.gpkg", "project.qgz"},
                "rules": {"rules.json", "rule_sites.csv", "findings.gpkg", "project.qgz"},
                "coverage": {"coverage.json", "coverage.html", "findings.gpkg", "project.qgz"},
                "site": {"sites.gpkg", "audit.html", "project.qgz"},
                "compare": {"compare.json", "compare.html"}}[command]
    assert expected <= set(run["files"])
    if command != "compare":
        assert run["layers"], "no styled layer was loaded"
        for name, layer in run["layers"].items():
            assert layer["valid"], name
            assert layer["renderer"] == "categorizedSymbol", name
            assert layer["features"] > 0, name


@pytest.mark.parametrize("command", ["audit", "rules", "site"])
def test_the_progress_bar_follows_nbgeos_steps(qgis_run: dict, command: str) -> None:
    # Each top-level step nbgeo ends moves the bar (NBGEO_STEPS=lines), in order, up to 95 % before the layers load.
    bar = [value for value in qgis_run[command]["bar"] if value < 100]
    assert len(set(bar)) >= 3 and bar == sorted(bar) and 60 <= max(bar) <= 95, bar


def test_layers_carry_the_report_colours_and_words(qgis_run: dict) -> None:
    rules = qgis_run["rules"]["layers"]
    fail = [layer for name, layer in rules.items() if name.startswith("rule_")]
    assert fail and all(layer["categories"] == _expected("rule_sites") for layer in fail)
    assert fail[0]["categories"][0] == ["fail", labels.status_word("fail", "zh"), theme.colour("fail")]
    assert all(layer["labels"] for layer in fail)
    uncovered = qgis_run["coverage"]["layers"]["Uncovered_micro_parks_chargers_1km"]
    assert uncovered["categories"] == _expected("uncovered") and uncovered["features"] == 35
    site = qgis_run["site"]["layers"]
    chosen = [layer for name, layer in site.items() if name.endswith("_sites")]
    assert chosen and all(layer["categories"] == [["proposed", "建议", theme.colour("proposed")]] for layer in chosen)
    candidates = [layer for name, layer in site.items() if name.endswith("_candidates")]
    assert candidates and all(layer["attr"] == "status" for layer in candidates)
    assert any(name.endswith("_zones") for name in site)


def test_the_project_opens_with_every_layer_in_the_working_crs(qgis_run: dict) -> None:
    project = qgis_run["project"]
    audit = json.loads((Path(qgis_run["root"]) / "work" / "audit" / "audit.json").read_text(encoding="utf-8"))
    assert project["read"] and project["invalid"] == []
    assert project["crs_valid"] and project["crs"] == audit["dataset"]["working_crs"]["name"]
    groups = [name for name, _ in project["groups"]]
    assert groups == ["选址规则", "服务覆盖", "数据图层"]  # findings on top, the dataset's layers below
    data = dict(project["groups"])["数据图层"]
    assert data.index("chargers") < data.index("smart_roads") < data.index("districts")  # points, lines, polygons
    assert project["layers"] == sum(len(names) for _, names in project["groups"])
    assert project["licences"]["districts"] == [audit["dataset"]["layers"]["districts"]["licence"]]
    assert set(project["renderers"].values()) == {"categorizedSymbol"}
    with zipfile.ZipFile(Path(qgis_run["root"]) / "work" / "audit" / "project.qgz") as archive:
        root = ET.fromstring(archive.read("project.qgs").decode().split("\n", 1)[1])
    sources = [e.text or "" for e in root.iter("datasource")]
    assert sources and all(s.startswith(("./", "../")) for s in sources)  # relative: the folder can move


def test_the_rendered_project_shows_the_findings_in_the_fail_colour(qgis_run: dict) -> None:
    render = qgis_run["render"]
    assert Path(render["png"]).stat().st_size > 10_000
    fail = render["colours"].get(theme.colour("fail"), 0)
    assert fail > 200, f"only {fail} pixels of {theme.colour('fail')}; most common: {render['top'][:5]}"


def test_a_bad_dataset_is_a_processing_error_with_nbgeos_code(qgis_run: dict) -> None:
    bad = qgis_run["bad"]
    assert bad["raised"] == "QgsProcessingException" and bad["is_processing_exception"]
    assert "nbgeo error E-MANIFEST-SYNTAX" in bad["message"]
    assert not (Path(qgis_run["root"]) / "work" / "bad" / "audit.json").exists()


def test_cancel_stops_nbgeo_and_publishes_nothing(qgis_run: dict) -> None:
    cancel = qgis_run["cancel"]
    assert cancel["raised"] == "QgsProcessingException" and cancel["message"].endswith("cancelled")
    assert cancel["seconds"] < qgis_run["timings"]["audit"]  # stopped before an audit could finish
    assert [name for name in cancel["files"] if not name.startswith(".")] == []


def test_rules_format_qgis_from_the_command_line(tmp_path: Path) -> None:
    """Without QGIS: the files --format qgis adds, their styles and the project's relative sources."""
    nbgeo = Path(sys.executable).parent / "nbgeo"
    done = subprocess.run([str(nbgeo), "-q", "rules", "--out", str(tmp_path), "--rule", "charger_spacing",
                           "--format", "qgis"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr  # the planted violation fails, but the rule is a suggestion (建议)
    assert {"findings.gpkg", "project.qgz", "rules.json"} <= {p.name for p in tmp_path.iterdir()}
    with sqlite3.connect(tmp_path / "findings.gpkg") as db:
        styled = db.execute("SELECT f_table_name, description FROM layer_styles ORDER BY f_table_name").fetchall()
        columns = {row[1] for row in db.execute('PRAGMA table_info("rule_charger_spacing_point")')}
        severities = db.execute('SELECT DISTINCT severity, basis FROM "rule_charger_spacing_point"').fetchall()
    assert {"severity", "basis"} <= columns and severities == [("建议", "nbgeo")]
    assert styled == [("rule_charger_spacing_line", "nbgeo rule_sites (zh)"),
                      ("rule_charger_spacing_point", "nbgeo rule_sites (zh)")]
    with zipfile.ZipFile(tmp_path / "project.qgz") as archive:
        root = ET.fromstring(archive.read("project.qgs").decode().split("\n", 1)[1])
    groups = [g.get("name") for g in root.find("layer-tree-group").findall("layer-tree-group")]
    assert groups == [labels.word("section.rules", "zh"), labels.word("map.data", "zh")]
    assert all((e.text or "").startswith(("./", "../")) for e in root.iter("datasource"))


def test_style_geopackage_replaces_its_own_style(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely import Point

    path = tmp_path / "x.gpkg"
    gpd.GeoDataFrame({"id": ["a"], "name": ["甲"], "status": ["fail"]}, geometry=[Point(121.5, 29.9)],
                     crs=4326).to_file(path, layer="sites")
    style_geopackage(path, "sites", "rule_sites", lang="en")
    style_geopackage(path, "sites", "rule_sites", lang="zh")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT styleQML, styleSLD, useAsDefault FROM layer_styles").fetchall()
        contents = db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
    assert len(rows) == 1 and rows[0][2] == 1 and contents == ("attributes",)
    qml = ET.fromstring(rows[0][0].split("\n", 1)[1])
    assert [c.get("label") for c in qml.iter("category")] == ["不符合", "未知", "符合"]
    assert qml.find("labeling/settings/text-style").get("fieldName") == "coalesce(\"id\", '') || ' ' || coalesce(\"name\", '')"
    assert "PropertyIsEqualTo" in rows[0][1] and theme.colour("fail") in rows[0][1]


def test_install_copies_the_plugin_and_links_on_request(tmp_path: Path) -> None:
    copied = install_plugin(tmp_path / "a", executable="/x/nbgeo")
    assert {"metadata.txt", "__init__.py", "provider.py", "algorithms.py"} <= {p.name for p in copied.iterdir()}
    assert "hasProcessingProvider=yes" in (copied / "metadata.txt").read_text(encoding="utf-8")
    linked = install_plugin(tmp_path / "a", link=True)  # replaces the copy
    assert linked.is_symlink() and (linked / "provider.py").is_file()


def test_a_layer_declared_as_any_geometry_is_styled_by_what_it_holds(tmp_path: Path, caplog) -> None:
    # GDAL declares GEOMETRY for a layer of mixed or unknown type (a demand layer of points and polygons):
    # one family held is styled as that family; several are left unstyled with a log line, never an error.
    import geopandas as gpd
    from shapely import Point, box

    path = tmp_path / "sites.gpkg"
    polygons = gpd.GeoDataFrame({"id": ["A", "B"], "status": ["fail", "pass"]},
                                geometry=[box(0, 0, 1, 1), box(2, 2, 3, 3)], crs=4326)
    polygons.to_file(path, layer="held", geometry_type="Unknown")
    mixed = gpd.GeoDataFrame({"id": ["A", "B"], "status": ["fail", "pass"]},
                             geometry=[box(0, 0, 1, 1), Point(5, 5)], crs=4326)
    mixed.to_file(path, layer="mixed")
    with sqlite3.connect(path) as db:
        declared = dict(db.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns"))
    assert declared == {"held": "GEOMETRY", "mixed": "GEOMETRY"}
    with caplog.at_level("INFO", logger="nbgeo.qgis.styles"):
        style_geopackage(path, "held", "rule_sites")
        style_geopackage(path, "mixed", "rule_sites")
    with sqlite3.connect(path) as db:
        styled = dict(db.execute("SELECT f_table_name, styleQML FROM layer_styles"))
    assert list(styled) == ["held"] and 'type="fill"' in styled["held"]
    assert "'mixed' holds mixed geometry types" in caplog.text
