"""The library calls behind the commands write exactly what the commands write."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nbgeo import runs
from nbgeo.cli import main
from nbgeo.errors import PlanError, UsageError


def _files(folder: Path) -> dict[str, bytes]:
    """Each file's bytes, with the time a page was made (``2026-01-01T00:00:00Z``) masked."""
    stamp = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    return {p.name: stamp.sub(b"TIME", p.read_bytes()) for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def _cli(*args: str) -> int:
    return CliRunner().invoke(main, ["-q", *args]).exit_code


def test_rules_through_the_api_equal_the_command(sample, ningbo_plan, tmp_path):
    out = runs.rules_run(sample, ningbo_plan)
    api = out.write(tmp_path / "api")
    assert [p.name for p in api] == sorted([*runs.RULES_FILES, "rules.html"])  # the page is the default format
    assert _cli("rules", "--out", str(tmp_path / "cli")) == out.exit_code
    assert _files(tmp_path / "api") == _files(tmp_path / "cli")


def test_coverage_through_the_api_equals_the_command(sample, ningbo_plan, tmp_path):
    out = runs.coverage_run(sample, ningbo_plan, with_map=False)
    out.write(tmp_path / "api")
    assert _cli("coverage", "--no-map", "--out", str(tmp_path / "cli")) == out.exit_code
    assert _files(tmp_path / "api") == _files(tmp_path / "cli")
    assert json.loads((tmp_path / "api" / "coverage.json").read_text())["coverage"]


def test_site_through_the_api_equals_the_command(sample, ningbo_plan, tmp_path):
    question = ningbo_plan.siting[0].id
    out = runs.site_run(sample, ningbo_plan, questions=[question], with_map=False)
    out.write(tmp_path / "api")
    assert _cli("site", "--siting", question, "--no-map", "--out", str(tmp_path / "cli")) == out.exit_code
    api, cli = (json.loads((tmp_path / d / "audit.json").read_text()) for d in ("api", "cli"))
    for doc in (api, cli):
        doc.pop("generated", None)  # the time of writing
        for entry in doc["optimisation"]:
            entry.pop("runtime_s")  # the solver's own time
    assert api["optimisation"] == cli["optimisation"] and api.keys() == cli.keys()
    assert sorted(_files(tmp_path / "api")) == sorted(_files(tmp_path / "cli")) == ["audit.html", "audit.json",
                                                                                     "sites.gpkg"]


def test_unknown_ids_are_bad_input_naming_the_known_ones(sample, ningbo_plan):
    with pytest.raises(PlanError, match=r"no rule 'nope'; rules: .*red_line_micro_parks"):
        runs.rules_run(sample, ningbo_plan, rule_ids=["nope"])
    with pytest.raises(PlanError, match="no suitability surface 'nope'"):
        runs.site_run(sample, ningbo_plan, surfaces=["nope"])
    with pytest.raises(PlanError, match="needs --demand, --facilities and --distance"):
        runs.site_run(sample, ningbo_plan, ask={"demand": "micro_parks", "facilities": None, "distance": None})


def test_nothing_is_written_until_write(sample, ningbo_plan, tmp_path):
    runs.rules_run(sample, ningbo_plan)
    runs.coverage_run(sample, ningbo_plan, with_map=False)
    assert list(tmp_path.iterdir()) == []


def test_validate_refuses_single_file_options_for_a_dataset(tmp_path):
    from nbgeo import datasets

    with pytest.raises(UsageError, match="apply to a single file"):
        runs.validate_run(datasets.get_path("ningbo"), single={"kind": "chargers"})
    outputs, error = runs.validate_run(datasets.get_path("ningbo"), repair=True)
    assert error is None and sorted(outputs.files) == ["repaired", "validation.json"]
    written = outputs.write(tmp_path / "v")
    assert [p.name for p in written] == ["repaired", "validation.json"]
    assert json.loads(written[1].read_text())["ok"] is True


def test_help_text_speaks_to_planners_not_to_code():
    # Help once quoted ``rules``, settings.tolerance_band and other code references.
    from nbgeo.cli import main as cli

    commands = sorted(cli.commands)
    assert {"audit", "map", "compare", "validate", "rules", "site", "coverage"} <= set(commands)
    for name in commands:
        text = CliRunner().invoke(cli, [name, "--help"]).output
        for leak in (r"``", r":func:", r":mod:", r"settings\.\w", r"nbgeo\.\w", r"_cmd\b", r"kwargs"):
            assert not re.search(leak, text), f"nbgeo {name} --help shows {leak!r}"


def test_read_and_verbosity_options_are_on_every_command_that_reads_a_dataset():
    from nbgeo.cli import main as cli

    for name in ("audit", "map", "compare", "validate", "rules", "site", "coverage"):
        options = {opt for param in cli.commands[name].params for opt in param.opts}
        assert {"--encoding", "--assume-crs", "--crs", "--repair", "--allow-network", "--max-features", "-q",
                "-v"} <= options, name
