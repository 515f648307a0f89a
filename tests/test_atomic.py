"""Outputs are atomic: a killed writer or a full disk leaves the previous output byte-identical, and no partial file.

``../shared/RELIABILITY.md`` checklist 67-68 and §5.2. The kill tests fork a
writer that rewrites the same outputs in a loop and SIGKILL it at random
moments; the disk-full tests write into a tiny tmpfs (mounted when the tests
run as root, as in CI) and, everywhere, through an injected ``ENOSPC``.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from corpus.hostile_outputs import fill_until_full, tmpfs
from shapely import Point, box

from nbgeo import _atomic, io
from nbgeo.errors import OutputError


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _kill_writer_at_random(write_forever, *, kills: int, seed: int) -> None:
    """Fork a child running ``write_forever``, SIGKILL it after a random delay, ``kills`` times."""
    rng = random.Random(seed)
    for _ in range(kills):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer
            os.close(ready_r)
            try:
                os.write(ready_w, b"1")
                write_forever()
            finally:
                os._exit(0)
        os.close(ready_w)
        os.read(ready_r, 1)
        os.close(ready_r)
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_sigkill_during_byte_writes_never_leaves_a_partial_file(tmp_path: Path):
    target = tmp_path / "audit.json"
    versions = [bytes([65 + i]) * (3 * 2**20 + i) for i in range(3)]  # 3 MiB each: a write takes a while
    _atomic.write_bytes(target, versions[0])

    def write_forever() -> None:
        i = 0
        while True:
            i = (i + 1) % len(versions)
            _atomic.write_bytes(target, versions[i], overwrite=True)

    _kill_writer_at_random(write_forever, kills=25, seed=67)
    assert target.read_bytes() in versions  # complete: one of the versions, byte for byte
    assert _visible(tmp_path) == ["audit.json"]
    # A killed writer cannot remove its temporary file; the next write removes those of dead writers.
    _atomic.write_bytes(target, versions[0], overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json"]
    assert target.read_bytes() == versions[0]


def test_sigkill_during_geopackage_writes(tmp_path: Path):
    rng = np.random.default_rng(1)
    xy = rng.uniform([121.0, 29.5], [122.0, 30.2], size=(20_000, 2))
    layers = [gpd.GeoDataFrame({"id": [f"c{i}" for i in range(n)], "ports": np.arange(n)},
                               geometry=[Point(x, y) for x, y in xy[:n]], crs=4326) for n in (20_000, 15_000)]
    target = tmp_path / "chargers.gpkg"
    io.write_layer(layers[0], target)

    def write_forever() -> None:
        i = 0
        while True:
            i = 1 - i
            io.write_layer(layers[i], target, overwrite=True)

    _kill_writer_at_random(write_forever, kills=12, seed=68)
    con = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    assert len(io.read_layer(target)) in (20_000, 15_000)
    assert _visible(tmp_path) == ["chargers.gpkg"]


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 1 MiB tmpfs when we may mount one (root, as in CI); None otherwise."""
    with tmpfs(tmp_path / "tiny", "1m") as disk:
        yield disk


def test_disk_full_on_a_real_tmpfs(tiny_disk: Path | None, tmp_path: Path, monkeypatch):
    folder = tiny_disk
    if folder is None:  # not root: the same test through an injected ENOSPC
        folder = tmp_path / "out"
        folder.mkdir()
        real_write = Path.write_bytes

        def full(self: Path, data: bytes) -> int:
            if ".nbgeo-" in self.name:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(self, data)

        monkeypatch.setattr(Path, "write_bytes", full)
    target = folder / "audit.html"
    before = b"<html>the previous report</html>"
    target.write_bytes(before)
    if tiny_disk is not None:
        fill_until_full(folder)
    with pytest.raises(OutputError) as exc:
        _atomic.write_bytes(target, b"x" * (2 * 2**20), overwrite=True)
    assert exc.value.code == "E-IO-NOSPACE" and "unchanged" in str(exc.value)
    assert target.read_bytes() == before
    assert {p.name for p in folder.iterdir()} <= {"audit.html", "filler"}  # no temporary left behind


def test_disk_full_while_gdal_writes_a_geopackage(tiny_disk: Path | None, tmp_path: Path, monkeypatch):
    g = gpd.GeoDataFrame({"id": [f"p{i}" for i in range(5000)]},
                         geometry=[box(121 + i * 1e-4, 29.8, 121 + i * 1e-4 + 5e-5, 29.80005) for i in range(5000)],
                         crs=4326)
    folder = tiny_disk or tmp_path
    target = folder / "parcels.gpkg"
    before = b"previous bytes"
    target.write_bytes(before)
    if tiny_disk is not None:
        fill_until_full(folder)
    else:  # inject ENOSPC at the fsync that follows GDAL's write
        def no_space(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OutputError) as exc:
        io.write_layer(g, target, overwrite=True)
    assert exc.value.code in ("E-IO-NOSPACE", "E-IO-WRITE")
    assert target.read_bytes() == before
    assert {p.name for p in folder.iterdir()} <= {"parcels.gpkg", "filler"}  # no temporary left behind


def test_injected_enospc_keeps_previous_output(tmp_path: Path, monkeypatch):
    target = tmp_path / "audit.json"
    _atomic.write_text(target, '{"old": true}')

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OutputError) as exc:
        _atomic.write_text(target, '{"new": true}', overwrite=True)
    assert exc.value.code == "E-IO-NOSPACE"
    assert target.read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json"]


def test_error_inside_the_block_removes_the_temporary(tmp_path: Path):
    target = tmp_path / "map.html"
    with pytest.raises(ZeroDivisionError), _atomic.atomic_path(target) as tmp:
        tmp.write_text("half a map")
        _ = 1 / 0
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_a_folder_whole(tmp_path: Path):
    target = tmp_path / "repaired"
    with _atomic.atomic_dir(target) as tmp:
        (tmp / "a.gpkg").write_bytes(b"a")
    with pytest.raises(OutputError):
        with _atomic.atomic_dir(target) as tmp:
            pass
    with pytest.raises(RuntimeError), _atomic.atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b.gpkg").write_bytes(b"half")
        raise RuntimeError
    assert sorted(p.name for p in target.iterdir()) == ["a.gpkg"]  # the failed rewrite left the old folder
    with _atomic.atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b.gpkg").write_bytes(b"b")
    assert sorted(p.name for p in target.iterdir()) == ["b.gpkg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repaired"]


def test_write_layer_refuses_unknown_formats_and_non_finite_coordinates(tmp_path: Path):
    g = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(121.5, 29.9)], crs=4326)
    with pytest.raises(OutputError) as exc:
        io.write_layer(g, tmp_path / "x.kml")
    assert exc.value.code == "E-IO-FORMAT" and "Shapefiles (.shp)" in str(exc.value)
    bad = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(np.nan, 29.9)], crs=4326)
    with pytest.raises(Exception) as exc2:
        io.write_layer(bad, tmp_path / "x.geojson")
    assert exc2.value.code == "E-GEOM-NONFINITE"
    assert list(tmp_path.iterdir()) == []


def _refusal(write) -> str:
    with pytest.raises(OutputError) as exc:
        write()
    assert exc.value.code == "E-IO-EXISTS"
    return str(exc.value)


def test_one_overwrite_check_for_every_writer(tmp_path: Path):
    """Each writer refuses an existing target by default, through check_overwrite: one code, one message."""
    target = tmp_path / "planner.txt"
    target.write_text("the planner's own", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "keep.txt").write_text("keep", encoding="utf-8")
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "nowhere")

    def in_path() -> None:
        with _atomic.atomic_path(target):
            pass

    def in_files() -> None:
        with _atomic.atomic_files([tmp_path / "new.html", target]):
            pass

    def in_dir() -> None:
        with _atomic.atomic_dir(tmp_path / "folder"):
            pass

    messages = {
        _refusal(lambda: _atomic.check_overwrite(target, overwrite=False)),
        _refusal(lambda: _atomic.write_text(target, "x")),
        _refusal(lambda: _atomic.write_bytes(target, b"x")),
        _refusal(in_path),
        _refusal(in_files),
        _refusal(lambda: _atomic.check_outputs(tmp_path, command="x", names=["planner.txt"])),
    }
    assert messages == {f"{str(target)!r} exists; pass --overwrite (overwrite=True) to replace it"}
    assert "exists; pass --overwrite (overwrite=True)" in _refusal(in_dir)
    assert "exists; pass --overwrite" in _refusal(lambda: _atomic.write_text(dangling, "x"))  # a link counts
    assert target.read_text(encoding="utf-8") == "the planner's own"
    assert not (tmp_path / "new.html").exists() and (tmp_path / "folder" / "keep.txt").exists()
    _atomic.check_overwrite(tmp_path / "absent", overwrite=False)
    assert _atomic.write_text(target, "replaced", overwrite=True).read_text(encoding="utf-8") == "replaced"


def test_no_writer_checks_whether_a_process_id_is_alive():
    """Leftovers are removed by the lock holder, never after ``os.kill(pid, 0)``, which is wrong on Windows."""
    package = Path(_atomic.__file__).parent.parent
    offenders = [str(p.relative_to(package)) for p in sorted(package.rglob("*.py"))
                 if "os.kill(" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_the_windows_lock_branch_locks_one_byte_far_past_the_note(tmp_path: Path, monkeypatch):
    """On Windows the lock is msvcrt.locking on a byte past the holder's note; checked here with a stand-in."""
    from nbgeo._atomic import locks

    calls: list[tuple[int, int, int]] = []
    held = {"busy": False}

    class FakeMsvcrt:
        LK_NBLCK, LK_UNLCK = 2, 0

        @staticmethod
        def locking(fd: int, mode: int, nbytes: int) -> None:
            calls.append((os.lseek(fd, 0, os.SEEK_CUR), mode, nbytes))
            if mode == FakeMsvcrt.LK_NBLCK and held["busy"]:
                raise PermissionError(13, "locked by another process")

    monkeypatch.setattr(locks.sys, "platform", "win32")
    monkeypatch.setattr(locks, "msvcrt", FakeMsvcrt, raising=False)
    fd = os.open(tmp_path / ".a.nbgeo-lock", os.O_RDWR | os.O_CREAT)
    try:
        assert locks._try_lock(fd) is True
        held["busy"] = True
        assert locks._try_lock(fd) is False  # another process holds it: not ours, try again later
        locks._unlock(fd)
    finally:
        os.close(fd)
    offset = locks._WIN_LOCK_OFFSET
    assert calls == [(offset, 2, 1), (offset, 2, 1), (offset, 0, 1)]


def test_a_shapefile_set_that_cannot_be_written_leaves_the_old_set_and_no_temporaries(tmp_path: Path):
    old = gpd.GeoDataFrame({"name": ["old"]}, geometry=[Point(121.5, 29.9)], crs=4326)
    io.write_layer(old, tmp_path / "x.shp")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["x.cpg", "x.dbf", "x.prj", "x.shp", "x.shx"]
    with pytest.raises(OutputError) as exc:  # any one part of the set exists: refused before writing
        (tmp_path / "x.shp").unlink()
        io.write_layer(old, tmp_path / "x.shp")
    assert exc.value.code == "E-IO-EXISTS" and "x.shx" in exc.value.message
    (tmp_path / "x.shp").write_bytes(before["x.shp"])
    mixed = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[Point(121.5, 29.9), Point(1, 2).buffer(1)], crs=4326)
    with pytest.raises(OutputError) as exc2:
        io.write_layer(mixed, tmp_path / "x.shp", overwrite=True)
    assert exc2.value.code == "E-IO-WRITE" and "one geometry type" in exc2.value.message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
