"""The bad-input corpus through the API and the CLI (``../shared/RELIABILITY.md`` §4 and §5.1).

Every refused case must end in a named nbgeo error (exit code 2 from the
CLI) that locates the problem (file, layer and, where there is one, the
feature) and says what to do; no traceback, no output written, the input
folder untouched. Every accepted case must read, with its warning listed
in the report (nothing changed silently).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus.cases import ACCEPTED, ERRORS, Case, build_all

from nbgeo import io, limits
from nbgeo.cli import main
from nbgeo.errors import NbgeoError


def test_corpus_size_and_coverage():
    assert len(ERRORS) >= 70
    assert len({c.id for c in ERRORS + ACCEPTED}) == len(ERRORS) + len(ACCEPTED)
    rows = {c.row for c in ERRORS + ACCEPTED}
    # every input row of the checklist that a file reader owns is in the corpus
    owned = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "18", "19",
             "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "33", "34", "35", "36", "37", "38",
             "39", "40", "41", "42", "43", "44", "45", "46", "47", "48", "49", "50", "60", "61", "62"}
    assert owned <= rows, sorted(owned - rows)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpus")
    return build_all(root / "errors", ERRORS) | build_all(root / "accepted", ACCEPTED)


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*")) if not p.is_symlink()}


def _codes(exc: NbgeoError) -> set[str]:
    return {exc.code} | {p.code for p in exc.problems}


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.id)
def test_refused_through_the_api(case: Case, corpus: dict[str, Path]):
    folder = corpus[case.id]
    before = _snapshot(folder)
    with limits.override(**case.limits), pytest.raises(NbgeoError) as caught:
        io.read_dataset(folder, **case.api_kwargs)
    exc = caught.value
    assert case.code in _codes(exc), (exc.code, str(exc))
    located = [p for p in exc.problems if p.code == case.code]
    for problem in located:
        assert problem.file and problem.layer == case.layer, problem
        assert problem.hint or "hint:" in problem.message, problem
    if case.feature is not None:
        assert case.feature in {p.feature for p in located}, [p.feature for p in located]
    if not located:  # raised before any layer was read: the message alone must locate and explain it
        assert any(where in str(exc) for where in ("dataset.toml", "file", "--")), str(exc)
        assert "hint" in str(exc) or exc.code.startswith("E-MANIFEST"), str(exc)
    assert _snapshot(folder) == before


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.id)
def test_refused_through_the_cli(case: Case, corpus: dict[str, Path], tmp_path: Path):
    folder = corpus[case.id]
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", str(folder), "--out", str(out), "--no-map", *case.cli_args])
    assert result.exit_code == 2, result.output
    assert case.code in result.stderr, result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert not out.exists()  # nothing written, not even an empty folder


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.id)
def test_accepted_and_reported(case: Case, corpus: dict[str, Path], tmp_path: Path):
    folder = corpus[case.id]
    with limits.override(**case.limits):
        ds = io.read_dataset(folder, **case.api_kwargs)
    codes = {p.code for p in ds.problems}
    if case.code:
        assert case.code in codes, codes
        if case.feature is not None:
            assert case.feature in {p.feature for p in ds.problems if p.code == case.code}
    else:
        assert not codes, codes
    assert all(layer.gdf.crs.to_epsg() == 4326 for layer in ds.layers.values())
    # The CLI reads it too, and lists the same warnings in validation.json.
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["validate", str(folder), "--out", str(out), *case.cli_args])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert report["ok"] and {p["code"] for p in report["problems"]} == codes


def test_repairs_are_listed_with_areas(corpus: dict[str, Path], tmp_path: Path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["validate", str(corpus["bowtie-repaired"]), "--repair", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    change = next(p for p in report["problems"] if p["code"] == "W-GEOM-REPAIRED")
    assert change["feature"] == "z1" and "make_valid" in change["message"] and "m² →" in change["message"]
    repaired = io.read_dataset(out / "repaired")
    assert repaired["constraints"].geometry.iloc[0].is_valid
    assert repaired["constraints"].geometry.iloc[0].geom_type == "MultiPolygon"  # both halves of the bowtie kept


def test_gbk_text_is_read_right_once_the_encoding_is_known(corpus: dict[str, Path]):
    with_cpg = io.read_dataset(corpus["gbk-shapefile-with-cpg"])["constraints"]
    told = io.read_dataset(corpus["gbk-shapefile-with-encoding-option"], encoding="GBK")["constraints"]
    assert list(with_cpg["name"]) == list(told["name"]) == ["宁波市鄞州区东钱湖", "北仑区梅山水道"]
    gbk_csv = io.read_dataset(corpus["gbk-csv-with-encoding"])["chargers"]
    assert len(gbk_csv) == 1


@pytest.mark.parametrize("case_id", ["truncated-zip", "gbk-shapefile-without-cpg", "vrt-named-geojson"])
def test_real_process_exits_2_without_traceback(case_id: str, corpus: dict[str, Path], tmp_path: Path):
    code = next(c.code for c in ERRORS if c.id == case_id)
    proc = subprocess.run([sys.executable, "-m", "nbgeo.cli", "audit", str(corpus[case_id]), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    assert code in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
