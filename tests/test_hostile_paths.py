"""Hostile paths through the API and the CLI (issue 13, ``tests/corpus/hostile_paths.py``).

Nothing outside ``--out`` is ever written and nothing outside the dataset
folder is ever read: every case ends in exit code 2 with its code, no
traceback, the input folder untouched, nothing created or changed anywhere in
the test's folder but ``out``, no byte of the files outside in the output,
and no request to the loopback canary server. Named pipes and devices are
run in a child process under a timeout and a memory limit, since today's
code hangs or exhausts memory on them.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus.hostile_paths import (
    DATASET_CASES,
    EMPTY_OUT,
    PLAN_CASES,
    SAMPLE,
    SECRET,
    DatasetCase,
    Layout,
    PlanCase,
    overview_vrt,
    plain,
)

from nbgeo import io, paths, plan, raster
from nbgeo.cli import main
from nbgeo.errors import NbgeoError
from nbgeo.layers import Dataset

TIMEOUT = 60  # seconds for a child process; the refusals take about 3 (the import)
MEMORY = 3 * 2**30  # address space of a child process: /dev/zero read whole ends in MemoryError, not in swap


# --- observing the file system and the network ----------------------------------------------------------

def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``: a regular file's hash, a link's target, a folder, or a special file.

    Nothing is opened but regular files, so named pipes never block the snapshot.
    """
    seen = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            mode = os.lstat(path).st_mode
            key = str(path.relative_to(root))
            if stat.S_ISLNK(mode):
                seen[key] = "link:" + os.readlink(path)
            elif stat.S_ISREG(mode):
                seen[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                seen[key] = "dir" if stat.S_ISDIR(mode) else "special"
    return seen


def changed_outside(before: dict[str, str], after: dict[str, str], allowed: str) -> list[str]:
    """Entries created, changed or removed outside the ``allowed`` folder (relative to the root)."""
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k) != after.get(k) and k != allowed
                  and not k.startswith(allowed + os.sep))


_CANARY = """
import http.server, sys
log = open(sys.argv[1], "a", buffering=1)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write(self.path + "\\n")
        self.send_error(404)
    do_HEAD = do_GET
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class Canary:
    """A loopback HTTP server in its own process that logs every request it gets (it answers 404).

    Its own process: GDAL may hold the GIL while it waits for the answer.
    """

    def __init__(self, folder: Path) -> None:
        self.log = folder / "requests.log"
        self.log.touch()
        self.proc = subprocess.Popen([sys.executable, "-c", _CANARY, str(self.log)], stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"

    @property
    def hits(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory):
    server = Canary(tmp_path_factory.mktemp("canary"))
    yield server
    server.close()


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_child(args: list[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a Python child process under a timeout and a memory limit; a hang fails the test."""
    try:
        return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung for {TIMEOUT} s: {args}")


# A child process for named pipes and devices: the API, then the CLI (CliRunner) in the same process.
_CHILD = """
import json, sys
from click.testing import CliRunner
from nbgeo import io
from nbgeo.cli import main
from nbgeo.errors import NbgeoError
try:
    io.read_dataset(sys.argv[1])
except NbgeoError as exc:
    api = {"codes": [exc.code, *(p.code for p in exc.problems)], "message": str(exc)}
else:
    api = {"codes": [], "message": "read"}
result = CliRunner().invoke(main, sys.argv[2:])
print(json.dumps({"api": api, "exit": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}))
"""


def _codes(exc: NbgeoError) -> set[str]:
    return {exc.code} | {p.code for p in exc.problems}


def build(case: DatasetCase, root: Path, url: str) -> Layout:
    lay = Layout(root).make()
    case.build(lay, url)
    return lay


def check_api(case: DatasetCase, codes: set[str], message: str) -> None:
    assert case.code in codes, message
    assert SECRET not in message
    if case.code == "E-NAME-UNSAFE":  # named where it is written: the manifest, its line and key
        assert "dataset.toml, line " in message and "hint:" in message, message


def check_cli(case: DatasetCase, code: int, stdout: str, stderr: str) -> None:
    assert code == 2, stdout + stderr
    assert case.code in stderr, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert SECRET not in stdout + stderr


def check_untouched(lay: Layout, before: dict[str, str]) -> None:
    """Nothing changed but in ``out``; nothing there holds a byte of what lies outside; no repaired copy."""
    after = snapshot(lay.root)
    out = str(lay.out.relative_to(lay.root))
    assert changed_outside(before, after, out) == []
    for name, digest in after.items():  # validation.json may list the problems; it never holds what is outside
        if name.startswith(out) and len(digest) == 64:
            assert SECRET not in (lay.root / name).read_text(encoding="utf-8", errors="replace")
    assert not (lay.out / "repaired").exists()


# --- datasets: names that are paths, links and pipes, control characters --------------------------------

@pytest.mark.parametrize("case", [c for c in DATASET_CASES if not c.blocks], ids=lambda c: c.id)
def test_dataset_refused_through_the_api(case: DatasetCase, tmp_path: Path, canary: Canary):
    lay = build(case, tmp_path, canary.url)
    before, hits = snapshot(tmp_path), len(canary.hits)
    with pytest.raises(NbgeoError) as caught:
        io.read_dataset(lay.ds)
    check_api(case, _codes(caught.value), str(caught.value))
    assert snapshot(tmp_path) == before
    assert len(canary.hits) == hits, canary.hits[hits:]


@pytest.mark.parametrize("case", [c for c in DATASET_CASES if not c.blocks], ids=lambda c: c.id)
def test_dataset_refused_through_the_cli(case: DatasetCase, tmp_path: Path, canary: Canary,
                                         monkeypatch: pytest.MonkeyPatch):
    lay = build(case, tmp_path, canary.url)
    before, hits = snapshot(tmp_path), len(canary.hits)
    monkeypatch.chdir(lay.cwd)
    result = CliRunner().invoke(main, list(case.cli))
    check_cli(case, result.exit_code, result.stdout, result.stderr)
    check_untouched(lay, before)
    assert len(canary.hits) == hits, canary.hits[hits:]


@pytest.mark.parametrize("case", [c for c in DATASET_CASES if c.blocks], ids=lambda c: c.id)
def test_pipe_or_device_refused_promptly_through_the_api_and_the_cli(case: DatasetCase, tmp_path: Path):
    # Today's code blocks on the pipe or reads /dev/zero until memory runs out: a child process, watched.
    lay = build(case, tmp_path, "http://127.0.0.1:9")
    before = snapshot(tmp_path)
    proc = run_child(["-c", _CHILD, str(lay.ds), *case.cli], cwd=lay.cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    check_api(case, set(result["api"]["codes"]), result["api"]["message"])
    check_cli(case, result["exit"], result["stdout"], result["stderr"])
    check_untouched(lay, before)


def test_pipe_as_manifest_in_a_real_process(tmp_path: Path):
    case = next(c for c in DATASET_CASES if c.id == "manifest-fifo")
    lay = build(case, tmp_path, "http://127.0.0.1:9")
    before = snapshot(tmp_path)
    proc = run_child(["-m", "nbgeo.cli", *case.cli], cwd=lay.cwd)
    check_cli(case, proc.returncode, proc.stdout, proc.stderr)
    check_untouched(lay, before)


def test_layer_name_traversal_wrote_above_out_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The report's example exactly: from a/b/c, `validate ds --repair --out o` wrote victim.gpkg three folders up.
    case = next(c for c in DATASET_CASES if c.id == "layer-name-traversal")
    lay = build(case, tmp_path, "http://127.0.0.1:9")
    monkeypatch.chdir(lay.cwd)
    result = CliRunner().invoke(main, ["validate", "ds", "--repair", "--out", "o"])
    assert result.exit_code == 2, result.output
    assert "[layers.\"x/../../../../victim\"]" in result.stderr or "x/../../../../victim" in result.stderr
    assert not list(tmp_path.rglob("victim*")) and not (lay.cwd / "o").exists()


def test_safe_sidecars_and_links_inside_the_folder_are_read(tmp_path: Path):
    # The checks refuse what leads outside, not links as such: parts linked within the folder still read.
    lay = Layout(tmp_path).make()
    plain(lay.ds)
    (lay.ds / "real").mkdir()
    (lay.ds / "zones.geojson").rename(lay.ds / "real" / "zones.geojson")
    (lay.ds / "zones.geojson").symlink_to(Path("real") / "zones.geojson")
    ds = io.read_dataset(lay.ds)
    assert list(ds["constraints"].index) == ["z1"]


def test_raster_overview_vrt_is_never_opened(tmp_path: Path, canary: Canary):
    # GDAL opens dem.tif.ovr with every driver, VRT included, even when the GeoTIFF itself is opened as
    # GTiff only: an overview VRT fetched its pixels from the network on a decimated read.
    dem = tmp_path / "dem.tif"
    dem.write_bytes((SAMPLE / "dem.tif").read_bytes())
    overview_vrt(dem, canary.url)
    hits = len(canary.hits)
    with raster.open_raster(dem) as src:
        assert src.overviews(1) == []
        small = src.read(1, out_shape=(src.height // 4, src.width // 4))
    assert small.shape == (1660 // 4, 1450 // 4)
    assert len(canary.hits) == hits, canary.hits[hits:]


def test_write_dataset_refuses_a_layer_name_that_is_a_path(tmp_path: Path, sample: Dataset):
    # A dataset built in code (not read from a manifest) still cannot write outside its folder.
    hostile = Dataset(name="hostile", layers={"x/../../victim": sample.layer("districts")})
    out = tmp_path / "a" / "b" / "copy"
    before = snapshot(tmp_path)
    with pytest.raises(NbgeoError) as caught:
        io.write_dataset(hostile, out)
    assert caught.value.code == "E-NAME-UNSAFE"
    assert snapshot(tmp_path) == before


# --- plans: ids that would name files outside --out --------------------------------------------------

def write_plan(case: PlanCase, root: Path) -> Path:
    path = root / "plan.toml"
    path.write_text(case.text(root), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", PLAN_CASES, ids=lambda c: c.id)
def test_plan_id_refused_through_the_api(case: PlanCase, tmp_path: Path):
    path = write_plan(case, tmp_path)
    with pytest.raises(NbgeoError) as caught:
        plan.read_plan(path)
    exc = caught.value
    assert exc.code == "E-NAME-UNSAFE", str(exc)
    table = f"[{case.table}]" if case.table == "plan" else f"[[{case.table}]]"
    assert f"line {case.line(tmp_path)}:" in str(exc) and table in str(exc), str(exc)
    assert f"key {case.key!r}" in str(exc) and "hint:" in str(exc), str(exc)


@pytest.mark.parametrize("case", PLAN_CASES, ids=lambda c: c.id)
def test_plan_id_refused_through_the_cli(case: PlanCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    lay = Layout(tmp_path).make()
    path = write_plan(case, tmp_path)
    monkeypatch.chdir(lay.cwd)
    before = snapshot(tmp_path)
    commands = [["audit", "--plan", str(path), "--out", "out", "--no-map", "--no-progress"]]
    if case.table == "suitability" and case.key == "id":  # the report's example: ID.tif and ID_zones.gpkg
        commands.append(["site", "--plan", str(path), "--out", "out", "--no-map", "--surface", case.hostile(tmp_path), "--demand", "future_zones", "--facilities", "chargers",
                         "--distance", "1000", "--by", "straight", "--k", "1", "--candidates", "grid",
                         "--cell", "5000"])
    if case.table == "siting":
        commands.append(["site", "--plan", str(path), "--out", "out", "--no-map"])
    for args in commands:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args[0], result.output)
        assert "E-NAME-UNSAFE" in result.stderr and "Traceback" not in result.output, result.output
        assert snapshot(tmp_path) == before, args[0]


def test_siting_id_from_the_command_line_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["site", "--out", "out", "--no-map", "--siting", "../../x", "--demand",
                                       "future_zones", "--facilities", "chargers", "--distance", "1000", "--by",
                                       "straight", "--k", "1", "--candidates", "grid", "--cell", "5000"])
    assert result.exit_code == 2, result.output
    assert "E-NAME-UNSAFE" in result.stderr or "--siting" in result.stderr, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


_PLAN_CHILD = """
import json, sys
from click.testing import CliRunner
from nbgeo import plan
from nbgeo.cli import main
from nbgeo.errors import NbgeoError
try:
    plan.read_plan(sys.argv[1])
    api = "read"
except NbgeoError as exc:
    api = exc.code
result = CliRunner().invoke(main, ["audit", "--plan", sys.argv[1], "--out", "out", "--no-map"])
print(json.dumps({"api": api, "exit": result.exit_code, "stderr": result.stderr}))
"""


@pytest.mark.parametrize("target", ["fifo", "/dev/zero", "link-to-dev-zero"])
def test_plan_that_is_a_pipe_or_device_is_refused_promptly(target: str, tmp_path: Path):
    if target == "fifo":
        path = tmp_path / "plan.toml"
        os.mkfifo(path)
    elif target == "link-to-dev-zero":
        path = tmp_path / "plan.toml"
        path.symlink_to("/dev/zero")
    else:
        path = Path(target)
    before = snapshot(tmp_path)
    proc = run_child(["-c", _PLAN_CHILD, str(path)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["api"] == "E-FILE-TYPE", result
    assert result["exit"] == 2 and "E-FILE-TYPE" in result["stderr"], result
    assert "Traceback" not in result["stderr"]
    assert snapshot(tmp_path) == before


# --- --out "" --------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", EMPTY_OUT, ids=str)
def test_empty_out_is_refused(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, EMPTY_OUT[command])
    assert result.exit_code == 2, result.output
    assert "empty" in result.stderr and "Traceback" not in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing in the current folder


def test_empty_out_is_refused_in_a_real_process(tmp_path: Path):
    proc = run_child(["-m", "nbgeo.cli", "rules", "--out", "", "--rule", "chargers_in_city"], cwd=tmp_path)
    assert proc.returncode == 2 and "empty" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- the output-path builder itself ---------------------------------------------------------------------

def test_output_path_refuses_a_link_planted_in_the_output_folder(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere.tif").write_text(SECRET, encoding="utf-8")
    (out / "surface.tif").symlink_to(tmp_path / "elsewhere.tif")
    with pytest.raises(NbgeoError) as caught:
        paths.output_path(out, "surface", ".tif")
    assert caught.value.code == "E-PATH-OUTSIDE"
    assert paths.output_path(out, "surface", "_zones.gpkg") == out / "surface_zones.gpkg"
    assert paths.output_path(out, "宁波_充电-2025", ".tif").name == "宁波_充电-2025.tif"
