"""The CLI: exit codes, outputs, and nothing partial left on bad input."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from nbgeo import datasets
from nbgeo.cli import main


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def sample_audit(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit")
    result = CliRunner().invoke(main, ["audit", "--out", str(out)])
    return result, out


def test_audit_of_sample_writes_outputs_and_exits_1(sample_audit):
    result, out = sample_audit
    assert result.exit_code == 1, result.output  # the sample misses some targets on purpose
    # the terminal table in words: targets by title, statuses and severities as words, no ids or keys
    assert "Industrial land as a share of the land transferred" in result.output and "not met" in result.output
    assert "restricted" in result.output
    table = result.output.split(" not met, ")[0]  # the table up to its counts line (notes after it quote ids)
    assert "industrial_land_share" not in table and "not_met" not in table
    report = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert report["schema"] == "nbgeo.audit/1"
    assert set(report) >= {"plan", "dataset", "targets", "summary"}
    first = report["targets"][0]
    assert set(first) >= {"id", "layer", "metric", "year", "threshold", "actual", "unit", "status", "margin"}
    layer = report["dataset"]["layers"]["chargers"]
    assert set(layer) >= {"source", "licence", "datum", "crs", "features", "illustrative"}
    assert layer["illustrative"] is True and report["dataset"]["layers"]["districts"]["illustrative"] is False
    html = (out / "audit.html").read_text(encoding="utf-8")
    assert "industrial_land_share" in html and "Illustrative data" in html


def test_refuses_to_overwrite_without_flag(sample_audit, runner):
    _, out = sample_audit
    before = (out / "audit.json").read_bytes()
    result = runner.invoke(main, ["audit", "--out", str(out), "--no-map"])
    assert result.exit_code == 2 and "E-IO-EXISTS" in result.output
    assert (out / "audit.json").read_bytes() == before


def test_all_met_exits_0(tmp_path, runner):
    plan = tmp_path / "plan.toml"
    plan.write_text('[plan]\nid = "p"\ntitle = "t"\nbaseline = 2020\nhorizon = 2025\n\n'
                    '[[targets]]\nid = "d"\nlayer = "districts"\nmetric = "count"\nthreshold = 10\nyear_column = ""\n')
    result = runner.invoke(main, ["audit", "--plan", str(plan), "--out", str(tmp_path / "o"), "--no-map"])
    assert result.exit_code == 0, result.output
    assert "1 met, 0 not met" in result.output


def test_audit_prints_in_the_language_given(tmp_path, runner):
    result = runner.invoke(main, ["audit", "--out", str(tmp_path / "o"), "--no-map", "--no-progress", "--lang", "zh"])
    assert result.exit_code == 1, result.output
    table = result.output.split("项未知")[0]  # the target table and its counts (the sections after it are English)
    assert "未达标" in table and "项达标" in table and "限制" in table
    assert "not met" not in table and "not_met" not in table and "restricted" not in table


def test_bad_dataset_exits_2_and_writes_nothing(tmp_path, runner):
    folder = tmp_path / "ds"
    shutil.copytree(datasets.get_path("ningbo"), folder)
    path = folder / "districts.geojson"
    path.write_text(path.read_text(encoding="utf-8")[:500], encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(main, ["audit", str(folder), "--out", str(out)])
    assert result.exit_code == 2
    assert "E-FILE-TRUNCATED" in result.output and "districts" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_bad_plan_exits_2_with_line(tmp_path, runner):
    plan = tmp_path / "plan.toml"
    plan.write_text('[plan]\nid = "p"\ntitle = "t"\nbaseline = 2020\nhorizon = "2025"\n')
    result = runner.invoke(main, ["audit", "--plan", str(plan), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "line 5" in result.output and "'horizon'" in result.output


def test_usage_error_exits_2(runner):
    assert runner.invoke(main, ["audit"]).exit_code == 2  # --out is required
    assert runner.invoke(main, ["nonsense"]).exit_code == 2


def test_quiet_prints_nothing(tmp_path, runner):
    result = runner.invoke(main, ["-q", "audit", "--out", str(tmp_path), "--no-map"])
    assert result.exit_code == 1 and result.output == ""
