"""Hostile caches (issue 13, "Caches are not trusted"), through the API and the CLI.

The road-network cache once lived in ``./cache`` of the working directory,
and an entry was used if its name matched: a planted ``.npz`` turned the
sample's 84.6 % road coverage (not met) into 100 % (met) without a word, and
a truncated one ended the audit with exit 3. Here every kind of bad entry
(planted, truncated, damaged, pickled, symlinked, from another nbgeo version,
for another source, signed with another key) must be ignored and rebuilt
with a WARNING, giving exactly the uncached result; a cache folder that
cannot be trusted (a symlink, unwritable, shared) must leave nbgeo working,
uncached, with a WARNING; concurrent writers must leave one whole entry.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus.hostile_cache_secrets import CACHE_TAMPERING

from nbgeo import coverage, datasets, io, network, plan
from nbgeo import settings as nb_settings
from nbgeo.errors import RoadNetworkError
from nbgeo.network import cache as network_cache
from nbgeo.network import download as network_download
from nbgeo.network import read as network_read

DATA = Path(__file__).resolve().parent / "data"
OSM = DATA / "tiny_city.osm"
SPEC = "micro_parks_chargers_1km"  # 84.6 % by road on the sample: not met


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> Path:
    """Every test: its own cache folder, empty memory, and the once-per-folder warnings armed again."""
    folder = tmp_path / "cache"
    monkeypatch.setattr(nb_settings, "cache_folder", str(folder))
    monkeypatch.delenv("NBGEO_CACHE_DIR", raising=False)
    monkeypatch.setattr(network_cache, "_MEMORY", {})
    monkeypatch.setattr(network_cache, "_HASHES", {})
    cache_mod = sys.modules.get("nbgeo._cache")
    if cache_mod is not None:
        monkeypatch.setattr(cache_mod, "_warned", set())
    return folder


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.npz") if not p.name.startswith("."))


def _stray(folder: Path) -> list[Path]:
    """Temporary files left behind by a writer."""
    return sorted(p for p in folder.rglob("*") if p.name.startswith(".") or ".tmp" in p.name)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _same(a: network.RoadNetwork, b: network.RoadNetwork) -> bool:
    return (a.matrix != b.matrix).nnz == 0 and np.array_equal(a.x, b.x) and np.array_equal(a.node_ids, b.node_ids)


@pytest.fixture
def city(tmp_path) -> Path:
    copy = tmp_path / "city.osm"
    shutil.copy(OSM, copy)
    return copy


def _fresh_read(path: Path, monkeypatch, **kwargs) -> network.RoadNetwork:
    """Read as a new process would: nothing in memory."""
    monkeypatch.setattr(network_cache, "_MEMORY", {})
    return network.read_network(path, **kwargs)


def _prove_entry_is_used(path: Path, monkeypatch, expected: network.RoadNetwork) -> None:
    """The entry on disk is whole and trusted: a fresh read takes it without parsing the file."""
    with monkeypatch.context() as m:
        m.setattr(network_read, "read_osm", lambda *a, **k: pytest.fail("parsed again: the rebuilt entry was not used"))
        assert _same(_fresh_read(path, m), expected)


# ---- where the cache lives ----------------------------------------------------------------------------------


def test_cache_lives_in_the_user_cache_directory_never_the_working_directory(tmp_path, monkeypatch, city):
    work, xdg = tmp_path / "work", tmp_path / "xdg"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(nb_settings, "cache_folder", None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))  # what platformdirs reads on Linux
    network.read_network(city)
    assert not list(work.rglob("*")), "nothing may be written in the working directory"
    (entry,) = _entries(xdg)
    assert entry.parent == xdg / "nbgeo" / "networks"
    assert (xdg / "nbgeo").stat().st_mode & 0o077 == 0  # private to the user
    # NBGEO_CACHE_DIR moves it (the CLI's way); settings.cache_folder wins over both.
    monkeypatch.setenv("NBGEO_CACHE_DIR", str(tmp_path / "env"))
    _fresh_read(city, monkeypatch)
    assert len(_entries(tmp_path / "env")) == 1


def test_osmnx_download_cache_goes_to_the_same_checked_folder(monkeypatch, private_cache):
    """osmnx's cache of raw responses defaults to ./cache: nbgeo points it into its own checked folder."""
    import osmnx as ox

    seen: dict[str, object] = {}

    def fetch(ox_module):
        seen.update(use=ox_module.settings.use_cache, folder=ox_module.settings.cache_folder)
        raise RuntimeError("stop here: only the settings matter")

    before = ox.settings.cache_folder
    with pytest.raises(RoadNetworkError):
        network_download._download("place:'x'", fetch, network_type="drive", crs=None, use_cache=True, source="test")
    assert seen == {"use": True, "folder": str(private_cache / "osmnx")}
    assert ox.settings.cache_folder == before  # restored afterwards
    link = private_cache.parent / "link"
    link.symlink_to(private_cache)
    monkeypatch.setattr(nb_settings, "cache_folder", str(link))
    with pytest.raises(RoadNetworkError):
        network_download._download("place:'y'", fetch, network_type="drive", crs=None, use_cache=True, source="test")
    assert seen["use"] is False  # an untrusted folder: osmnx runs uncached too


# ---- bad entries, through the API ---------------------------------------------------------------------------


@pytest.mark.parametrize("tamper", sorted(CACHE_TAMPERING))
def test_a_bad_entry_is_ignored_and_rebuilt(tamper, city, monkeypatch, caplog, private_cache, tmp_path):
    monkeypatch.setenv("NBGEO_TEST_TRAP_FILE", str(tmp_path / "pickle-was-loaded"))
    truth = network.read_network(city, use_cache=False)
    _fresh_read(city, monkeypatch)
    (entry,) = _entries(private_cache)
    CACHE_TAMPERING[tamper](entry)
    with caplog.at_level(logging.WARNING, logger="nbgeo"):
        again = _fresh_read(city, monkeypatch)
    assert _same(again, truth)
    assert any(str(entry) in w and "rebuilding" in w for w in _warnings(caplog)), _warnings(caplog)
    assert not (tmp_path / "pickle-was-loaded").exists()
    assert not entry.is_symlink() and _entries(private_cache) == [entry]
    _prove_entry_is_used(city, monkeypatch, truth)


def test_the_planted_entry_of_the_issue_cannot_change_coverage(monkeypatch, caplog, private_cache):
    """The exact attack: the sample's entry with shorter roads made 84.6 % not met into 100 % met."""
    sample = io.read_sample()
    p = plan.read_plan(datasets.get_path("ningbo_2025"))
    only = type(p)(**{**p.__dict__, "coverage": tuple(c for c in p.coverage if c.id == SPEC)})
    with monkeypatch.context() as m:
        m.setattr(nb_settings, "use_cache", False)
        uncached, _ = coverage.evaluate_plan_coverage(only, sample, overlays=False)
    assert (uncached[0]["status"], round(uncached[0]["actual"], 1)) == ("not_met", 84.6)
    monkeypatch.setattr(network_cache, "_MEMORY", {})
    cached, _ = coverage.evaluate_plan_coverage(only, sample, overlays=False)
    assert cached == uncached
    (entry,) = _entries(private_cache)
    CACHE_TAMPERING["planted"](entry)
    monkeypatch.setattr(network_cache, "_MEMORY", {})
    with caplog.at_level(logging.WARNING, logger="nbgeo"):
        attacked, _ = coverage.evaluate_plan_coverage(only, sample, overlays=False)
    assert attacked == uncached
    assert any(str(entry) in w for w in _warnings(caplog))


def test_an_entry_from_another_nbgeo_version_is_rebuilt(city, monkeypatch, caplog, private_cache):
    from nbgeo import _cache

    truth = network.read_network(city)
    (current,) = _entries(private_cache)
    with monkeypatch.context() as m:
        m.setattr(_cache, "_nbgeo_version", lambda: "0.0.1")
        _fresh_read(city, m)
    (old,) = set(_entries(private_cache)) - {current}
    # The names differ; the version must also be checked inside the entry: give the old one the current name.
    old.replace(current)
    with caplog.at_level(logging.WARNING, logger="nbgeo"):
        again = _fresh_read(city, monkeypatch)
    assert _same(again, truth)
    assert any("0.0.1" in w and str(current) in w for w in _warnings(caplog)), _warnings(caplog)
    _prove_entry_is_used(city, monkeypatch, truth)


def test_a_valid_entry_of_another_source_renamed_is_rebuilt(city, monkeypatch, caplog, private_cache, tmp_path):
    truth = network.read_network(city)
    (entry,) = _entries(private_cache)
    other = tmp_path / "other.osm"
    other.write_text(OSM.read_text(encoding="utf-8").replace('lon="121.5520"', 'lon="121.5620"'), encoding="utf-8")
    assert not _same(network.read_network(other), truth)
    (other_entry,) = set(_entries(private_cache)) - {entry}
    shutil.copy(other_entry, entry)  # nbgeo's own, validly signed entry, under the wrong name
    with caplog.at_level(logging.WARNING, logger="nbgeo"):
        again = _fresh_read(city, monkeypatch)
    assert _same(again, truth)
    assert any("another source" in w for w in _warnings(caplog)), _warnings(caplog)


def test_an_entry_signed_with_another_key_is_rebuilt(city, monkeypatch, caplog, private_cache):
    """An attacker with nbgeo itself, who makes a perfect entry (right name, source, version) under their own key."""
    truth = network.read_network(city)
    (entry,) = _entries(private_cache)
    key = private_cache / "key"
    mine = key.read_bytes()
    key.unlink()
    entry.unlink()
    forged = dataclasses.replace(truth, matrix=truth.matrix * 1e-3)
    with monkeypatch.context() as m:
        m.setattr(network_read, "read_osm", lambda *a, **k: forged)
        assert not _same(_fresh_read(city, m), truth)
    assert key.read_bytes() != mine and _entries(private_cache) == [entry]
    key.write_bytes(mine)  # back to this user's key
    with caplog.at_level(logging.WARNING, logger="nbgeo"):
        again = _fresh_read(city, monkeypatch)
    assert _same(again, truth)
    assert any("signature" in w for w in _warnings(caplog)), _warnings(caplog)
    _prove_entry_is_used(city, monkeypatch, truth)


def test_entries_never_hold_pickles_or_objects(city, private_cache):
    from nbgeo import _cache

    network.read_network(city)
    (entry,) = _entries(private_cache)
    with np.load(entry, allow_pickle=False) as npz:  # would raise on any object array
        assert all(npz[name].dtype.kind in "fiuU" for name in npz.files)
    with pytest.raises(ValueError, match="objects"):
        _cache.write_entry("networks", ("x",), {"data": np.array([object()], dtype=object)})


# ---- cache folders that cannot be trusted -------------------------------------------------------------------


def _make_read_only(folder: Path) -> bool:
    """Make ``folder`` unwritable for this process (as root: the immutable flag); False if that is impossible."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return True
    return subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False).returncode == 0 \
        if shutil.which("chattr") else False


def _undo_read_only(folder: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
    folder.chmod(0o700)


@pytest.mark.parametrize("how", ["symlink", "parent-is-a-file", "networks-is-a-file", "read-only", "world-writable",
                                 "another-user"])
def test_an_untrusted_cache_folder_leaves_nbgeo_working_uncached(how, city, monkeypatch, caplog, tmp_path):
    target = tmp_path / "real"
    target.mkdir(mode=0o700)
    folder = tmp_path / "cache"
    if how == "symlink":
        folder.symlink_to(target)
    elif how == "parent-is-a-file":
        (tmp_path / "file").write_text("x")
        folder = tmp_path / "file" / "cache"
    elif how == "networks-is-a-file":
        folder = target
        (target / "networks").write_text("x")
    elif how == "read-only":
        folder = target
        if not _make_read_only(target):
            pytest.skip("cannot make a folder unwritable for root here (no chattr +i)")
    elif how == "world-writable":
        folder = target
        target.chmod(0o777)
    else:
        if os.geteuid() != 0:
            pytest.skip("only root can give a folder to another user")
        folder = target
        os.chown(target, 65534, 65534)  # nobody
    monkeypatch.setattr(nb_settings, "cache_folder", str(folder))
    try:
        truth = network.read_network(city, use_cache=False)
        with caplog.at_level(logging.WARNING, logger="nbgeo"):
            first = _fresh_read(city, monkeypatch)
            second = _fresh_read(city, monkeypatch)
    finally:
        if how == "read-only":
            _undo_read_only(target)
    assert _same(first, truth) and _same(second, truth)
    assert any("uncached" in w for w in _warnings(caplog)), _warnings(caplog)
    assert not _entries(target) and not (target / "key").exists()


def test_concurrent_writers_leave_one_whole_entry(city, tmp_path):
    """Four processes build and write the same entry at once, in the default place; each gets the right network."""
    work, xdg = tmp_path / "work", tmp_path / "xdg"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NBGEO_CACHE_DIR"} | {"XDG_CACHE_HOME": str(xdg)}
    script = (
        "import sys, hashlib; from nbgeo import network;"
        "net = network.read_network(sys.argv[1]);"
        "print(hashlib.sha256(net.matrix.data.tobytes() + net.matrix.indices.tobytes()).hexdigest())"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(city)], cwd=work, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1
    assert not any("WARNING" in err for _, err in outs), [err for _, err in outs]
    assert not list(work.iterdir())
    assert len(_entries(xdg / "nbgeo")) == 1 and not _stray(xdg / "nbgeo")


# ---- the same through the CLI, on the sample -----------------------------------------------------------------


def _cli(args: list[str], *, cwd: Path, cache: Path | None, env_extra: dict[str, str] | None = None,
         python: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NBGEO_CACHE_DIR"}
    if cache is not None:
        env["NBGEO_CACHE_DIR"] = str(cache)
    env.update(env_extra or {})
    cmd = (python or [sys.executable, "-m", "nbgeo.cli"]) + args
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def _coverage_args(out: Path) -> list[str]:
    # --strict: the requirement is a suggestion (建议), which sets the exit code only when asked to
    return ["coverage", "--id", SPEC, "--no-map", "--strict", "--out", str(out)]


def _coverage_of(out: Path) -> list[dict]:
    return json.loads((out / "coverage.json").read_text(encoding="utf-8"))["coverage"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A cache folder holding the sample's network entry (and its key), and the uncached coverage result.

    The cache folder is ``./cache`` of the working directory *and* ``$NBGEO_CACHE_DIR``, so the attack
    below reaches the entry wherever nbgeo keeps it.
    """
    work = tmp_path_factory.mktemp("pristine")
    proc = _cli(_coverage_args(work / "out"), cwd=work, cache=work / "cache")
    assert proc.returncode == 1, proc.stderr
    result = _coverage_of(work / "out")
    assert (result[0]["status"], round(result[0]["actual"], 1)) == ("not_met", 84.6)
    assert len(_entries(work / "cache")) == 1
    return work / "cache", result


def _work_with(pristine_cache: Path, tmp_path: Path) -> tuple[Path, Path]:
    work = tmp_path / "work"
    shutil.copytree(pristine_cache, work / "cache", symlinks=True)
    (entry,) = _entries(work / "cache")
    return work, entry


@pytest.mark.parametrize("tamper", ["planted", "pickle", "symlink"])
def test_cli_coverage_ignores_a_bad_entry(tamper, pristine, tmp_path, monkeypatch):
    cache, truth = pristine
    work, entry = _work_with(cache, tmp_path)
    monkeypatch.setenv("NBGEO_TEST_TRAP_FILE", str(tmp_path / "pickle-was-loaded"))
    CACHE_TAMPERING[tamper](entry)
    proc = _cli(_coverage_args(work / "out"), cwd=work, cache=work / "cache")
    assert proc.returncode == 1, proc.stderr  # 84.6 %: not met, as without any cache
    assert _coverage_of(work / "out") == truth
    assert "WARNING" in proc.stderr and entry.name in proc.stderr and "rebuilding" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert not (tmp_path / "pickle-was-loaded").exists()


def test_cli_audit_with_a_truncated_entry_is_not_an_internal_error(pristine, tmp_path):
    cache, truth = pristine
    work, entry = _work_with(cache, tmp_path)
    CACHE_TAMPERING["truncated"](entry)
    proc = _cli(["audit", "--no-map", "--no-progress", "--out", str(work / "out")], cwd=work, cache=work / "cache")
    assert proc.returncode == 1, proc.stderr  # the sample has unmet targets; 3 was the crash
    assert "BadZipFile" in proc.stderr and "rebuilding" in proc.stderr and "internal error" not in proc.stderr
    audit = json.loads((work / "out" / "audit.json").read_text(encoding="utf-8"))
    entry_out = next(e for e in audit["coverage"] if e["id"] == SPEC)
    assert entry_out["actual"] == truth[0]["actual"] and entry_out["status"] == "not_met"


def test_cli_rebuilds_an_entry_written_by_another_nbgeo_version(pristine, tmp_path):
    cache, truth = pristine
    work, entry = _work_with(cache, tmp_path)
    entry.unlink()
    other_version = [sys.executable, "-c",
                     "import sys; from nbgeo import _cache; _cache._nbgeo_version = lambda: '0.0.1';"
                     "from nbgeo.cli import main; sys.argv[0] = 'nbgeo'; main()"]
    proc = _cli(_coverage_args(work / "old"), cwd=work, cache=work / "cache", python=other_version)
    assert proc.returncode == 1, proc.stderr
    (old,) = _entries(work / "cache")
    assert old.name != entry.name
    old.rename(entry)  # the version is checked inside the entry, not only by its name
    proc = _cli(_coverage_args(work / "out"), cwd=work, cache=work / "cache")
    assert proc.returncode == 1, proc.stderr
    assert _coverage_of(work / "out") == truth
    assert "0.0.1" in proc.stderr and "rebuilding" in proc.stderr, proc.stderr


@pytest.mark.parametrize("how", ["symlink", "read-only"])
def test_cli_works_uncached_in_an_untrusted_cache_folder(how, pristine, tmp_path):
    _, truth = pristine
    work, target = tmp_path / "work", tmp_path / "target"
    work.mkdir()
    target.mkdir(mode=0o700)
    cache = target
    if how == "symlink":
        cache = work / "cache"
        cache.symlink_to(target)
    elif not _make_read_only(target):
        pytest.skip("cannot make a folder unwritable for root here (no chattr +i)")
    try:
        proc = _cli(_coverage_args(work / "out"), cwd=work, cache=cache)
    finally:
        if how == "read-only":
            _undo_read_only(target)
    assert proc.returncode == 1, proc.stderr
    assert _coverage_of(work / "out") == truth
    assert "WARNING" in proc.stderr and "uncached" in proc.stderr, proc.stderr
    assert not list(target.iterdir())


def test_cli_concurrent_runs_share_the_user_cache_directory(pristine, tmp_path):
    """Two runs at once with the default location: the same answer, one whole entry, nothing in ./cache."""
    _, truth = pristine
    work, xdg = tmp_path / "work", tmp_path / "xdg"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NBGEO_CACHE_DIR"} | {"XDG_CACHE_HOME": str(xdg)}
    procs = [subprocess.Popen([sys.executable, "-m", "nbgeo.cli", *_coverage_args(work / f"out{i}")], cwd=work,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    errs = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [1, 1], errs
    assert _coverage_of(work / "out0") == _coverage_of(work / "out1") == truth
    assert not any("WARNING" in e for e in errs), errs
    assert not (work / "cache").exists()
    assert len(_entries(xdg / "nbgeo")) == 1 and not _stray(xdg / "nbgeo")
