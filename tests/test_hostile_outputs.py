"""A report is written as a set, or not at all (issue 13), and an output set is replaced whole (issue 16).

Real ``nbgeo`` processes get real signals at known moments (``tests/corpus/hostile_outputs.py`` plants a pause:
while ``audit.html`` is written, between the renames that publish a set, before the audit starts); a real tmpfs
fills up; a browser that dies stands in for a failing ``--png``; two processes write one ``--out``. After each, the
folder holds the old complete set or the new complete set, the user's own files are untouched, the message says
what happened, and the next run cleans up what a SIGKILL left.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus.hostile_outputs import RUNNER, fill_until_full, snapshot, tiny_inputs, tmpfs

from nbgeo import _atomic, audit, datasets, io, plan, report
from nbgeo._atomic import fs as atomic_fs
from nbgeo._atomic import replace as atomic_replace
from nbgeo.cli import main
from nbgeo.errors import OutputError


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    return tiny_inputs(tmp_path / "inputs")


def _audit_args(tiny: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    data, plan_file = tiny
    return ["audit", str(data), "--plan", str(plan_file), "--out", str(out), "--no-map", *extra]


class _Run:
    """A real ``nbgeo`` process (through the runner), with its pause marker and its release file."""

    def __init__(self, tmp_path: Path, args: list[str], *options: str, name: str = "run") -> None:
        self.marker, self.go = tmp_path / f"{name}.paused", tmp_path / f"{name}.go"
        self.stderr_path = tmp_path / f"{name}.stderr"
        env = {**os.environ, "NBGEO_TEST_MARKER": str(self.marker), "NBGEO_TEST_GO": str(self.go)}
        with open(self.stderr_path, "w", encoding="utf-8") as stderr:
            self.proc = subprocess.Popen([sys.executable, str(RUNNER), *options, "--", *args], cwd=tmp_path, env=env,
                                         stdout=subprocess.PIPE, stderr=stderr, text=True)

    def wait_paused(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            if self.proc.poll() is not None:
                pytest.fail(f"the run ended (exit {self.proc.returncode}) before its pause: {self.stderr}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("the run never reached its pause")
            time.sleep(0.02)

    def release(self) -> None:
        self.go.write_text("go", encoding="utf-8")

    def finish(self, timeout: float = 180) -> int:
        self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8")


def _old_set(tmp_path: Path, tiny: tuple[Path, Path]) -> tuple[Path, dict[str, bytes]]:
    """``out`` holding a complete audit of 2023 (JSON, HTML and Markdown) and a file of the planner's."""
    out = tmp_path / "out"
    r = CliRunner().invoke(main, _audit_args(tiny, out, "--year", "2023", "--format", "md", "--format", "html"))
    assert r.exit_code == 0, r.output
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    return out, snapshot(out)


def _leftovers(tmp_path: Path, out: Path) -> list[str]:
    """Temporaries and locks of nbgeo beside ``out`` and inside it."""
    beside = [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}.nbgeo-")]
    inside = [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".nbgeo-outputs.json"] \
        if out.is_dir() else []
    return beside + inside


def _year_of(out: Path) -> tuple[int, bool]:
    """The year of ``out``'s audit.json and whether its audit.html is of the same year."""
    year = json.loads((out / "audit.json").read_text(encoding="utf-8"))["year"]
    return year, f"评估年份 {year}" in (out / "audit.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# signals sent to a real nbgeo audit


@pytest.mark.parametrize(("signum", "word", "code"), [(signal.SIGINT, "interrupted", 130),
                                                      (signal.SIGTERM, "terminated", 143)])
@pytest.mark.parametrize("moment", ["render", "write:audit.html"])
def test_a_signal_while_the_report_is_made_leaves_the_old_set_and_says_so(tmp_path, tiny, signum, word, code, moment):
    out, before = _old_set(tmp_path, tiny)
    run = _Run(tmp_path, _audit_args(tiny, out, "--overwrite"), "--pause-at", moment)
    run.wait_paused()  # rendering the page, or the new audit.json written and audit.html being written
    os.kill(run.proc.pid, signum)
    assert run.finish() == code, run.stderr
    said = "no output was written" if moment == "render" else f"'{out}' is as it was before this run"
    assert f"nbgeo: {word}; {said}" in run.stderr
    assert "partial" not in run.stderr and "Traceback" not in run.stderr
    assert snapshot(out) == before  # the 2023 set, byte for byte, beside the planner's notes
    assert _leftovers(tmp_path, out) == []


def test_sigkill_while_the_html_is_written_then_the_next_run_cleans_up(tmp_path, tiny):
    out, before = _old_set(tmp_path, tiny)
    run = _Run(tmp_path, _audit_args(tiny, out, "--overwrite"), "--pause-at", "write:audit.html")
    run.wait_paused()
    run.proc.kill()
    run.finish()
    assert snapshot(out) == before  # the staging folder beside `out` died with the process
    r = CliRunner().invoke(main, _audit_args(tiny, out, "--overwrite"))
    assert r.exit_code == 0, r.output
    assert _leftovers(tmp_path, out) == []
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json", "notes.txt"]
    assert _year_of(out) == (2025, True) and (out / "notes.txt").read_bytes() == before["notes.txt"]


def test_an_interrupt_before_any_output_says_nothing_was_written(tmp_path, tiny):
    out = tmp_path / "out"
    run = _Run(tmp_path, _audit_args(tiny, out), "--pause-at", "compute")
    run.wait_paused()
    os.kill(run.proc.pid, signal.SIGINT)
    assert run.finish() == 130
    assert "nbgeo: interrupted; no output was written" in run.stderr
    assert not out.exists() and _leftovers(tmp_path, out) == []


def test_sigkill_between_the_two_renames_of_the_portable_swap(tmp_path, tiny, caplog):
    """Without renameat2 (Windows, macOS) `out` is renamed aside, then the new folder renamed in: kill in between."""
    out, before = _old_set(tmp_path, tiny)
    (out / "notes.txt").unlink()  # only nbgeo's files: the folder is swapped whole
    before.pop("notes.txt")
    run = _Run(tmp_path, _audit_args(tiny, out, "--overwrite"), "--no-exchange", "--pause-at", "rename:2")
    run.wait_paused()
    run.proc.kill()
    run.finish()
    assert not out.exists()  # killed between the renames: the old set is complete under its aside name
    aside = [p for p in tmp_path.iterdir() if p.name.startswith(".out.nbgeo-old-")]
    assert len(aside) == 1 and snapshot(aside[0]) == before
    caplog.set_level(logging.WARNING, logger="nbgeo")
    r = CliRunner().invoke(main, _audit_args(tiny, out, "--overwrite", "--format", "md"))
    assert r.exit_code == 0, r.output
    assert "restored" in caplog.text  # the next run put the old set back before replacing it
    assert _leftovers(tmp_path, out) == []
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.json", "audit.md"]
    assert json.loads((out / "audit.json").read_text(encoding="utf-8"))["year"] == 2025


def test_an_interrupt_during_the_swap_is_held_until_the_set_is_published(tmp_path, tiny):
    out, _ = _old_set(tmp_path, tiny)
    (out / "notes.txt").unlink()
    run = _Run(tmp_path, _audit_args(tiny, out, "--overwrite"), "--no-exchange", "--pause-at", "rename:2")
    run.wait_paused()
    os.kill(run.proc.pid, signal.SIGINT)
    time.sleep(0.3)
    run.release()
    assert run.finish() == 130
    assert f"nbgeo: interrupted; '{out}' was written in full" in run.stderr
    assert _year_of(out) == (2025, True) and not (out / "audit.md").exists()
    assert _leftovers(tmp_path, out) == []


def test_sigkill_in_a_file_by_file_commit_is_rolled_back_by_the_next_run(tmp_path, tiny, caplog):
    """With the planner's files in `out` the set is published file by file; a kill half-way is undone next time."""
    out, before = _old_set(tmp_path, tiny)
    mine = out / "mine"
    mine.mkdir()
    (mine / "sketch.txt").write_text("a sketch", encoding="utf-8")
    stat_before = {n: os.stat(out / n) for n in ("notes.txt", "mine/sketch.txt")}
    # renames, names in order: audit.html aside, new audit.html in, audit.json aside (pause), ...
    run = _Run(tmp_path, _audit_args(tiny, out, "--overwrite"), "--pause-at", "rename:3")
    run.wait_paused()
    run.proc.kill()
    run.finish()
    pending = json.loads((out / ".nbgeo-outputs.json").read_text(encoding="utf-8"))
    assert "pending" in pending  # the manifest says a commit was stopped half-way
    caplog.set_level(logging.WARNING, logger="nbgeo")
    r = CliRunner().invoke(main, ["rules", str(tiny[0]), "--plan", str(tiny[1]), "--out", str(out)])
    assert r.exit_code == 0, r.output  # another command's run rolls the stopped one back first
    assert "rolled back" in caplog.text
    now = snapshot(out)
    assert {k: v for k, v in now.items() if k in before and k != ".nbgeo-outputs.json"} == \
        {k: v for k, v in before.items() if k != ".nbgeo-outputs.json"}
    assert {"rules.json", "rule_sites.csv", "rule_failures.geojson"} <= set(now)
    for name, st in stat_before.items():
        assert (os.stat(out / name).st_ino, os.stat(out / name).st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    assert _leftovers(tmp_path, out) == []


# --------------------------------------------------------------------------------------------------
# two writers of one --out


def test_a_second_audit_waits_for_the_first_and_never_interleaves(tmp_path, tiny):
    out = tmp_path / "out"
    first = _Run(tmp_path, _audit_args(tiny, out, "--year", "2023", "--format", "md", "--format", "html"),
                 "--pause-at", "write:audit.html", name="first")
    first.wait_paused()  # holding the lock, half-way through its set
    second = _Run(tmp_path, _audit_args(tiny, out, "--overwrite"), name="second")
    deadline = time.monotonic() + 120
    while "waiting for" not in second.stderr:
        assert second.proc.poll() is None, f"the second audit did not wait: {second.stderr}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert f"pid {first.proc.pid}" in second.stderr  # it names who holds the folder
    time.sleep(0.5)
    assert second.proc.poll() is None and not (out / "audit.json").exists()
    first.release()
    assert first.finish() == 0, first.stderr
    assert second.finish() == 0, second.stderr
    # The second run replaced the first one's whole set: no 2023 Markdown beside the 2025 JSON.
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json"]
    assert _year_of(out) == (2025, True) and _leftovers(tmp_path, out) == []


def test_a_writer_that_cannot_wait_fails_with_exit_2(tmp_path, tiny):
    out, before = _old_set(tmp_path, tiny)
    first = _Run(tmp_path, _audit_args(tiny, out, "--overwrite"), "--pause-at", "write:audit.html", name="first")
    first.wait_paused()
    second = _Run(tmp_path, _audit_args(tiny, out, "--overwrite", "--year", "2024"), "--lock-timeout", "1",
                  name="second")
    assert second.finish() == 2
    assert "E-IO-LOCKED" in second.stderr and f"pid {first.proc.pid}" in second.stderr
    assert snapshot(out) == before
    first.release()
    assert first.finish() == 0
    assert _year_of(out) == (2025, True) and _leftovers(tmp_path, out) == []


# --------------------------------------------------------------------------------------------------
# disk full, a failing --png, an error found late


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 512 KiB tmpfs (root may mount one, as in CI), else None."""
    with tmpfs(tmp_path / "disk", "512k") as disk:
        yield disk


def test_disk_full_keeps_the_old_set(small_disk, tmp_path, tiny, monkeypatch):
    if small_disk is None:  # no tmpfs here: the same run with ENOSPC injected while audit.html is written
        real = Path.write_text

        def full(self: Path, *args, **kwargs):
            if self.name.endswith("audit.html") or ".audit.html.nbgeo-" in self.name:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(self, *args, **kwargs)

        root = tmp_path
        out, before = _old_set(tmp_path, tiny)
        monkeypatch.setattr(Path, "write_text", full)
    else:
        root = small_disk
        out, before = _old_set(small_disk, tiny)
        fill_until_full(small_disk, leave=4096)  # one page free: room for the new JSON, not for the HTML too
    r = CliRunner().invoke(main, _audit_args(tiny, out, "--overwrite"))
    assert r.exit_code == 2, r.output
    assert "E-IO-NOSPACE" in r.output and "unchanged" in r.output
    assert snapshot(out) == before
    assert _leftovers(root, out) == []


def test_a_failing_png_leaves_the_old_html_and_png(tmp_path, tiny):
    browser = tmp_path / "dying-browser"
    browser.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    browser.chmod(0o755)
    maps_dir = tmp_path / "maps"
    maps_dir.mkdir()
    (maps_dir / "m.html").write_text("<p>last week's map</p>", encoding="utf-8")
    (maps_dir / "m.png").write_bytes(b"last week's png")
    before = snapshot(maps_dir)
    data, plan_file = tiny
    r = CliRunner().invoke(main, ["map", str(data), "--plan", str(plan_file), "--out", str(maps_dir / "m.html"),
                                  "--png", str(maps_dir / "m.png"), "--overwrite"], env={"NBGEO_CHROMIUM": str(browser)})
    assert r.exit_code == 2 and "E-MAP-BROWSER" in r.output, r.output
    assert snapshot(maps_dir) == before  # both files as they were, and no temporaries


def test_a_plan_error_found_after_the_first_output_writes_nothing(tmp_path):
    """`site` read a suitability's min_score only after writing sites.gpkg and the GeoTIFF."""
    text = datasets.get_path("ningbo_2025").read_text(encoding="utf-8")
    bad = tmp_path / "plan.toml"
    bad.write_text(text.replace("min_score = 0.7", 'min_score = "high"', 1), encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["site", "--plan", str(bad), "--siting", "chargers_for_micro_parks",
                                  "--surface", "micro_park_land", "--out", str(out), "--no-map"])
    assert r.exit_code in (2, 3), r.output
    assert not out.exists() and _leftovers(tmp_path, out) == []


# --------------------------------------------------------------------------------------------------
# the set is replaced whole; the planner's files stay


def test_overwrite_replaces_the_set_whole_and_keeps_the_planners_files(tmp_path, tiny):
    out, _ = _old_set(tmp_path, tiny)  # 2023: JSON, HTML and Markdown, and notes.txt
    (out / "mine").mkdir()
    (out / "mine" / "sketch.txt").write_text("a sketch", encoding="utf-8")
    kept = {n: os.stat(out / n) for n in (".", "mine", "notes.txt", "mine/sketch.txt")}
    r = CliRunner().invoke(main, _audit_args(tiny, out, "--overwrite"))  # 2025, HTML only
    assert r.exit_code == 0, r.output
    # Last run's audit.md (a 2023 Markdown) does not stay beside this run's 2025 JSON.
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json", "mine",
                                                     "notes.txt"]
    assert _year_of(out) == (2025, True)
    for name, st in kept.items():  # the same files in the same folders, not copies or links in new ones
        now = os.stat(out / name)
        assert (now.st_ino, now.st_nlink) == (st.st_ino, st.st_nlink), name
        if name.endswith(".txt"):
            assert (now.st_size, now.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    manifest = json.loads((out / ".nbgeo-outputs.json").read_text(encoding="utf-8"))
    assert sorted(manifest["sets"]["audit"]["files"]) == ["audit.html", "audit.json"]
    assert manifest["sets"]["audit"]["nbgeo"] and _leftovers(tmp_path, out) == []


def test_an_output_the_planner_edited_is_theirs(tmp_path, tiny):
    out, _ = _old_set(tmp_path, tiny)
    with open(out / "audit.md", "a", encoding="utf-8") as fh:
        fh.write("\nMy comments on the audit.\n")
    edited = (out / "audit.md").read_bytes()
    r = CliRunner().invoke(main, _audit_args(tiny, out, "--overwrite"))
    assert r.exit_code == 0, r.output
    assert (out / "audit.md").read_bytes() == edited  # no longer nbgeo's: kept
    assert "audit.md" not in json.loads((out / ".nbgeo-outputs.json").read_text(encoding="utf-8"))["sets"]["audit"][
        "files"]


def test_a_planted_manifest_cannot_make_nbgeo_delete_the_planners_files(tmp_path, tiny):
    out, _ = _old_set(tmp_path, tiny)
    sibling = tmp_path / "Documents"
    sibling.mkdir()
    (sibling / "thesis.docx").write_bytes(b"years of work")
    manifest = {"schema": "nbgeo.outputs/1", "sets": {"audit": {"files": {"notes.txt": "file:8:1", "../x": "f"}}},
                "pending": {"staging": "Documents", "aside": "Documents", "inside": False,
                            "files": {"notes.txt": "file:8:1"}, "stale": ["notes.txt"]}}
    (out / ".nbgeo-outputs.json").write_text(json.dumps(manifest), encoding="utf-8")
    r = CliRunner().invoke(main, _audit_args(tiny, out, "--overwrite"))
    assert r.exit_code == 0, r.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes"
    assert (sibling / "thesis.docx").read_bytes() == b"years of work"
    written = json.loads((out / ".nbgeo-outputs.json").read_text(encoding="utf-8"))
    assert "pending" not in written and sorted(written["sets"]["audit"]["files"]) == ["audit.html", "audit.json"]


def test_commands_sharing_a_folder_keep_each_others_sets(tmp_path, tiny):
    data, plan_file = tiny
    out = tmp_path / "out"
    runner = CliRunner()
    r = runner.invoke(main, ["rules", str(data), "--plan", str(plan_file), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rules_files = {n: os.stat(out / n) for n in ("rules.json", "rule_sites.csv", "rule_failures.geojson")}
    r = runner.invoke(main, _audit_args(tiny, out, "--format", "md"))  # the folder is swapped whole
    assert r.exit_code == 0, r.output
    for name, st in rules_files.items():  # the rules' files came along untouched
        assert (os.stat(out / name).st_size, os.stat(out / name).st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    manifest = json.loads((out / ".nbgeo-outputs.json").read_text(encoding="utf-8"))
    assert sorted(manifest["sets"]) == ["audit", "rules"]
    r = runner.invoke(main, ["rules", str(data), "--plan", str(plan_file), "--out", str(out)])
    assert r.exit_code == 2 and "E-IO-EXISTS" in r.output
    r = runner.invoke(main, _audit_args(tiny, out, "--overwrite"))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json",
                                                     "rule_failures.geojson", "rule_sites.csv", "rules.html",
                                                     "rules.json"]
    assert _leftovers(tmp_path, out) == []


def test_validate_replaces_its_repaired_folder_with_the_set(tmp_path, tiny):
    out = tmp_path / "out"
    runner = CliRunner()
    r = runner.invoke(main, ["validate", str(tiny[0]), "--repair", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "repaired" / "dataset.toml").exists()
    r = runner.invoke(main, ["validate", str(tiny[0]), "--out", str(out)])
    assert r.exit_code == 2 and "E-IO-EXISTS" in r.output
    r = runner.invoke(main, ["validate", str(tiny[0]), "--out", str(out), "--overwrite"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "validation.json"]


def test_the_api_replaces_the_set_whole_too(tmp_path, tiny):
    data, plan_file = tiny
    result = audit.run_audit(io.read_dataset(data), plan.read_plan(plan_file), year=2023)
    out = tmp_path / "out"
    report.write_report(result, out, formats=("html", "md"), with_map=False)
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    with pytest.raises(OutputError) as exc:
        report.write_report(result, out, with_map=False)
    assert exc.value.code == "E-IO-EXISTS"
    paths = report.write_report(result, out, overwrite=True, with_map=False)
    assert sorted(paths) == ["html", "json"]
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json", "notes.txt"]
    with pytest.raises(OutputError) as exc:
        report.write_report(result, out / "notes.txt", overwrite=True, with_map=False)
    assert exc.value.code == "E-IO-NOTDIR"


def test_the_api_and_the_cli_write_the_same_audit_json(tmp_path):
    r = CliRunner().invoke(main, ["audit", "--out", str(tmp_path / "cli"), "--no-map"])
    assert r.exit_code == 1, r.output  # the sample misses targets
    result = audit.run_audit(io.read_dataset(datasets.get_path("ningbo")),
                             plan.read_plan(datasets.get_path("ningbo_2025")))
    report.write_report(result, tmp_path / "api", with_map=False)
    cli, api = (json.loads((tmp_path / side / "audit.json").read_text(encoding="utf-8")) for side in ("cli", "api"))
    assert cli.pop("created") and api.pop("created")  # the only difference: when each was made
    assert "progress" in api
    assert api == cli


def test_a_lock_file_is_not_left_behind(tmp_path):
    target = tmp_path / "a.json"
    _atomic.write_text(target, "{}")
    with _atomic.output_set(tmp_path / "out", command="x") as stage:
        (stage / "a.txt").write_text("a", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "out"]


def test_a_mount_point_as_out_is_published_from_inside_it(small_disk, tmp_path, tiny):
    """A rename cannot cross filesystems: with `--out` a mount point, the staging folder and the lock go inside."""
    out = small_disk or tmp_path / "out"  # without a mount, the same run through the usual path
    runner = CliRunner()
    r = runner.invoke(main, _audit_args(tiny, out, "--year", "2023", "--format", "md", "--format", "html"))
    assert r.exit_code == 0, r.output
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    r = runner.invoke(main, _audit_args(tiny, out, "--overwrite"))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json", "notes.txt"]
    assert _year_of(out) == (2025, True) and _leftovers(out.parent, out) == []


def test_a_folder_that_cannot_be_renamed_is_published_file_by_file(tmp_path, tiny, monkeypatch):
    """Windows refuses to rename a folder in use; macOS has no renameat2: the set still lands whole."""
    out, _ = _old_set(tmp_path, tiny)
    (out / "notes.txt").unlink()
    real = atomic_fs.rename

    def in_use(src: Path, dst: Path) -> None:
        if Path(src) == out.resolve():
            raise PermissionError(13, "in use", str(src))
        real(src, dst)

    monkeypatch.setattr(atomic_replace, "_exchange", lambda a, b: False)
    monkeypatch.setattr(atomic_fs, "rename", in_use)
    r = CliRunner().invoke(main, _audit_args(tiny, out, "--overwrite"))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json"]
    assert _year_of(out) == (2025, True) and _leftovers(tmp_path, out) == []


def test_running_inside_out_keeps_the_working_folder(tmp_path, tiny, monkeypatch):
    """A swap would leave this process in the deleted folder: with the working folder inside `out`, file by file."""
    out, _ = _old_set(tmp_path, tiny)
    (out / "notes.txt").unlink()
    inode = os.stat(out).st_ino
    monkeypatch.chdir(out)
    r = CliRunner().invoke(main, _audit_args(tiny, Path("."), "--overwrite"))
    assert r.exit_code == 0, r.output
    assert os.stat(out).st_ino == inode and Path.cwd().resolve() == out.resolve()
    assert sorted(p.name for p in out.iterdir()) == [".nbgeo-outputs.json", "audit.html", "audit.json"]
    assert _leftovers(tmp_path, out) == []
