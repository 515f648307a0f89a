from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_audit_sample_script(tmp_path, capsys):
    code = _load("audit_sample").main(["--out", str(tmp_path), "--year", "2023"])
    assert code == 1
    printed = capsys.readouterr().out
    assert "industrial_land_share 2023" in printed
    data = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert data["year"] == 2023


def test_audit_sample_script_bad_input(tmp_path, capsys):
    assert _load("audit_sample").main([str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "E-MANIFEST-MISSING" in capsys.readouterr().err
