"""Long steps: timed always, shown only on a terminal and never with -q (before or after the command)."""

from __future__ import annotations

import io
import logging

import pytest
from click.testing import CliRunner

from nbgeo import steps
from nbgeo.cli import main


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _reset_display():
    level = logging.getLogger("nbgeo").level
    yield
    steps.configure(quiet=False, stream=None)
    logging.getLogger("nbgeo").setLevel(level)


def test_steps_are_recorded_with_their_depth_and_times():
    with steps.recording() as times:
        with steps.step("outer"):
            with steps.step("inner"):
                sum(range(10_000))
    assert [(t.name, t.depth) for t in times] == [("inner", 1), ("outer", 0)]
    outer = times[1]
    assert outer.wall_s >= times[0].wall_s >= 0 and outer.cpu_s >= 0
    assert outer.peak_mb is None or outer.peak_mb > 10  # a Python process with numpy holds more than 10 MiB
    assert set(outer.to_dict()) == {"step", "depth", "wall_s", "cpu_s", "peak_mb"}


def test_nothing_is_recorded_outside_a_recording():
    with steps.recording() as times:
        pass
    with steps.step("unseen"):
        pass
    assert times == []


def test_a_terminal_sees_each_step_end_on_its_own_line():
    out = _Terminal()
    steps.configure(stream=out)
    with steps.step("reading"):
        pass
    with pytest.raises(ValueError, match="boom"), steps.step("failing"):
        raise ValueError("boom")
    text = out.getvalue()
    assert "… reading\r\x1b[K✓ reading (" in text and "✗ failing (" in text


def test_a_step_inside_another_starts_a_new_line():
    out = _Terminal()
    steps.configure(stream=out)
    with steps.step("outer"), steps.step("inner"):
        pass
    lines = out.getvalue().split("\n")
    assert lines[0] == "… outer" and lines[1].startswith("  … inner") and lines[2].startswith("✓ outer")


def test_pipes_and_quiet_see_nothing():
    pipe = io.StringIO()  # not a terminal
    steps.configure(stream=pipe)
    with steps.step("reading"):
        pass
    terminal = _Terminal()
    steps.configure(quiet=True, stream=terminal)
    with steps.recording() as times, steps.step("reading"):
        pass
    assert pipe.getvalue() == "" and terminal.getvalue() == ""
    assert [t.name for t in times] == ["reading"]  # still timed


def test_step_names_from_data_cannot_drive_the_terminal():
    out = _Terminal()
    steps.configure(stream=out)
    with steps.step("layer \x1b[2J\x1b]0;all met\x07zones"):
        pass
    assert "\x1b[2J" not in out.getvalue() and "\x1b]0;" not in out.getvalue()


@pytest.mark.parametrize("command", [
    ["audit", "--no-map"],
    ["rules"],
    ["coverage", "--no-map"],
])
@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_works_before_and_after_the_command(tmp_path, command, where):
    args = [*command, "--out", str(tmp_path / "out")]
    args = ["-q", *args] if where == "before" else [*args, "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    assert result.output == ""


def test_verbose_after_the_command_turns_on_info_logs(tmp_path):
    result = CliRunner().invoke(main, ["audit", "--no-map", "--no-progress", "--out", str(tmp_path), "-v"])
    assert result.exit_code == 1, result.output
    assert logging.getLogger("nbgeo").level == logging.INFO
    result = CliRunner().invoke(main, ["-v", "audit", "--no-map", "--no-progress", "--out", str(tmp_path / "b"), "-v"])
    assert logging.getLogger("nbgeo").level == logging.DEBUG  # -v twice, on either side


def test_steps_as_lines_for_a_program_that_asks(monkeypatch, capsys):
    monkeypatch.setenv("NBGEO_STEPS", "lines")
    steps.configure(quiet=True)  # -q hides the terminal display, not the lines a program asked for
    with steps.step("reading\nthe dataset"), steps.step("inner"):
        pass
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "nbgeo-step: start 0 reading the dataset" and err[1] == "nbgeo-step: start 1 inner"
    assert err[2].startswith("nbgeo-step: end 1 ") and err[2].endswith(" inner")
    assert err[3].startswith("nbgeo-step: end 0 ") and err[3].endswith(" reading the dataset")


def test_the_cli_in_a_pipe_gives_step_lines_only_when_asked(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "NBGEO_STEPS": "lines"}
    run = subprocess.run([sys.executable, "-m", "nbgeo.cli", "-q", "rules", "--out", str(tmp_path / "a")],
                         capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 1 and run.stdout == ""
    names = [line.split(" ", 4)[4] for line in run.stderr.splitlines() if line.startswith("nbgeo-step: end 0 ")]
    assert names == ["reading the dataset", "siting rules", "writing the outputs"]
    env.pop("NBGEO_STEPS")
    quiet = subprocess.run([sys.executable, "-m", "nbgeo.cli", "-q", "rules", "--out", str(tmp_path / "b")],
                           capture_output=True, text=True, env=env, check=False)
    assert quiet.returncode == 1 and quiet.stderr == "" and quiet.stdout == ""
