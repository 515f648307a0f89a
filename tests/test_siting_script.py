"""scripts/siting_audit.py: a siting audit of one layer of the sample."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "siting_audit.py"


def _load():
    spec = importlib.util.spec_from_file_location("siting_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_siting_audit_of_micro_parks(tmp_path, capsys):
    code = _load().main(["micro_parks", "--out", str(tmp_path), "--lang", "en"])
    assert code == 1
    printed = capsys.readouterr().out
    assert "red_line_micro_parks (exclusion): fail" in printed
    assert "MP00001 fail: overlaps CN00003" in printed and "MP00002 fail: overlaps CN00025" in printed
    assert "micro_park_slope (slope): fail" in printed and "micro_parks_no_overlap (overlap): pass" in printed
    sites = pd.read_csv(tmp_path / "micro_parks_sites.csv")
    assert set(sites["rule"]) == {"red_line_micro_parks", "farmland_micro_parks", "micro_parks_in_city",
                                  "micro_park_land_area", "micro_park_slope", "micro_parks_no_overlap"}
    assert len(sites) == 6 * 242
    failing = sites[sites["status"] == "fail"]
    assert sorted(zip(failing["feature_id"], failing["rule"], strict=True)) == [
        ("MP00001", "micro_park_slope"), ("MP00001", "red_line_micro_parks"), ("MP00002", "farmland_micro_parks")]
    html = (tmp_path / "micro_parks_siting.html").read_text(encoding="utf-8")
    assert "MP00001" in html and "red_line_micro_parks" in html


def test_siting_audit_of_a_layer_without_rules(tmp_path, capsys):
    assert _load().main(["smart_roads", "--out", str(tmp_path)]) == 2
    assert "no siting rule for layer 'smart_roads'" in capsys.readouterr().err
