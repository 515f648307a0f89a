"""Honest output sets (issue 16): a rerun replaces the audit's outputs as a whole; the API writes what the CLI does.

``--overwrite`` must not leave last run's audit.md (another year) beside this run's audit.json, and must keep
the user's own files. ``run_audit`` + ``report.write_report`` (the README's way to write audit.json) and
``nbgeo audit`` write the same audit.json for the same input, ``progress`` included.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

import nbgeo
from nbgeo import report
from nbgeo.cli import main


def _audit(out, *args):
    result = CliRunner().invoke(main, ["audit", "--out", str(out), "--no-map", *args])
    assert result.exit_code in (0, 1), result.output
    return result


def test_overwrite_replaces_the_set_and_keeps_the_users_files(tmp_path):
    out = tmp_path / "out"
    _audit(out, "--year", "2025", "--format", "md")
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.json", "audit.md"]
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    _audit(out, "--year", "2023", "--overwrite")  # html only now: last run's 2025 Markdown must go
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json", "notes.txt"]
    assert json.loads((out / "audit.json").read_text(encoding="utf-8"))["year"] == 2023
    assert "2023" in (out / "audit.html").read_text(encoding="utf-8").split("</header>")[0]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_an_output_the_user_edited_is_theirs_and_kept(tmp_path):
    out = tmp_path / "out"
    _audit(out, "--format", "md")
    (out / "audit.md").write_text("# my own notes on the 2025 audit\n", encoding="utf-8")
    _audit(out, "--year", "2023", "--overwrite")
    assert (out / "audit.md").read_text(encoding="utf-8").startswith("# my own notes")
    manifest = json.loads((out / ".nbgeo-outputs.json").read_text(encoding="utf-8"))
    assert sorted(manifest["sets"]["audit"]["files"]) == ["audit.html", "audit.json"]


def _without_times(doc):
    doc = dict(doc)
    doc.pop("created")
    return doc


def test_the_api_and_the_cli_write_the_same_audit_json(tmp_path):
    cli_out, api_out = tmp_path / "cli", tmp_path / "api"
    _audit(cli_out, "--year", "2023")
    result = nbgeo.run_audit(nbgeo.read_sample(), nbgeo.read_plan(nbgeo.datasets.get_path("ningbo_2025")), year=2023)
    report.write_report(result, api_out, with_map=False)
    cli_doc = json.loads((cli_out / "audit.json").read_text(encoding="utf-8"))
    api_doc = json.loads((api_out / "audit.json").read_text(encoding="utf-8"))
    assert "progress" in api_doc and "pace" in api_doc and "headline" in api_doc
    assert _without_times(api_doc) == _without_times(cli_doc)


def test_a_set_that_takes_another_commands_file_replaces_that_set_whole(tmp_path):
    """`site` writes audit.json and audit.html; an audit with --format md then takes audit.json, so the site's
    audit.html (a page of another run) must go too, not stay beside this audit's JSON."""
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["site", "--siting", "chargers_for_micro_parks", "--out", str(out), "--no-map"])
    assert r.exit_code in (0, 1), r.output
    assert {"audit.json", "audit.html", "sites.gpkg"} <= {p.name for p in out.iterdir()}
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    r = CliRunner().invoke(main, ["audit", "--out", str(out), "--no-map", "--format", "md"])
    assert r.exit_code == 2 and "E-IO-EXISTS" in r.output  # without --overwrite nothing of site's set is touched
    assert (out / "audit.html").exists() and (out / "sites.gpkg").exists()
    _audit(out, "--format", "md", "--overwrite")
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.json", "audit.md", "notes.txt"]
    manifest = json.loads((out / ".nbgeo-outputs.json").read_text(encoding="utf-8"))
    assert sorted(manifest["sets"]) == ["audit"]
