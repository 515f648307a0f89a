"""Builders and a runner for ``tests/test_hostile_outputs.py`` (issue 13: a report is written as a set, or not at all).

Run as a program, it is the real ``nbgeo`` command line with one pause planted in it, so that a test can send
a real signal to a real ``nbgeo`` process at a known moment::

    python tests/corpus/hostile_outputs.py [--pause-at WHAT] [--lock-timeout S] [--no-exchange] -- ARGS...

``--pause-at`` is one of

``write:NAME``
    when a file whose name ends with NAME starts being written (``Path.write_text``/``write_bytes``): with
    ``write:audit.html``, while the report's HTML is written, after ``audit.json`` (today's and earlier code
    alike write the JSON first);
``rename:N``
    before the N-th rename that publishes or restores outputs (``nbgeo._atomic.fs.rename``);
``compute``
    when the audit starts (``nbgeo.audit.run_audit``), before any output exists;
``render``
    when the report's page starts being rendered (``nbgeo.report.to_html``), before any file is written.

At the pause the runner creates the file named by ``$NBGEO_TEST_MARKER`` and waits until the file named by
``$NBGEO_TEST_GO`` exists (at most 10 minutes); signals arrive during that wait. ``--lock-timeout`` sets
``nbgeo._atomic.locks.LOCK_TIMEOUT``; ``--no-exchange`` turns off Linux's ``renameat2`` so that the portable
two-rename swap runs.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
from shapely import box

if TYPE_CHECKING:
    from collections.abc import Iterator

RUNNER = Path(__file__).resolve()

#: A plan with one target over a two-district dataset: an audit of it takes a second, not ten.
PLAN = """[plan]
id = "tiny"
title = "小计划"
title_en = "A tiny plan"
baseline = 2020
horizon = 2025

[[targets]]
id = "districts"
layer = "districts"
metric = "count"
threshold = 2
year_column = ""
"""


def tiny_inputs(folder: Path) -> tuple[Path, Path]:
    """A two-district dataset and a one-target plan in ``folder``; returns (dataset folder, plan file)."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    districts = gpd.GeoDataFrame({"name": ["海曙区", "江北区"]},
                                 geometry=[box(121.50, 29.85, 121.55, 29.90), box(121.55, 29.85, 121.60, 29.90)],
                                 crs=4326, index=["d1", "d2"])
    districts.rename_axis("id").reset_index().to_file(data / "districts.geojson", driver="GeoJSON")
    (data / "dataset.toml").write_text('[dataset]\nname = "tiny"\n\n[layers.districts]\nfile = "districts.geojson"\n'
                                       'source = "test"\nlicence = "CC0-1.0"\n', encoding="utf-8")
    plan = folder / "plan.toml"
    plan.write_text(PLAN, encoding="utf-8")
    return data, plan


@contextlib.contextmanager
def tmpfs(mount: Path, size: str) -> Iterator[Path | None]:
    """A tmpfs of ``size`` (e.g. ``"1m"``) mounted on the new folder ``mount`` while the block runs.

    Only root may mount one (as in CI); elsewhere, or when mounting fails, the block gets None.
    """
    mount.mkdir()
    if os.geteuid() != 0:
        yield None
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_until_full(folder: Path, *, leave: int = 0) -> Path:
    """Fill the filesystem of ``folder`` with a file ``filler``, then free ``leave`` bytes of it again."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _pause() -> None:
    marker, go = Path(os.environ["NBGEO_TEST_MARKER"]), Path(os.environ["NBGEO_TEST_GO"])
    marker.write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + 600
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _plant(what: str) -> None:
    kind, _, arg = what.partition(":")
    if kind == "write":
        for method in ("write_text", "write_bytes"):
            real = getattr(Path, method)

            @functools.wraps(real)
            def paused(self: Path, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
                name = self.name.split(".nbgeo-")[0].lstrip(".")  # a temporary of audit.html is audit.html too
                if name.endswith(arg) or self.name.endswith(arg):
                    _pause()
                return _real(self, *args, **kwargs)

            setattr(Path, method, paused)
    elif kind == "rename":
        from nbgeo._atomic import fs

        real_rename = fs.rename
        count = {"n": 0}

        def paused_rename(src: Path, dst: Path) -> None:
            count["n"] += 1
            if count["n"] == int(arg):
                _pause()
            real_rename(src, dst)

        fs.rename = paused_rename
    elif kind in ("compute", "render"):
        from nbgeo import audit
        from nbgeo.renderers import report

        module, name = (audit, "run_audit") if kind == "compute" else (report, "to_html")
        real_call = getattr(module, name)

        def paused_call(*args: Any, **kwargs: Any) -> Any:
            _pause()
            return real_call(*args, **kwargs)

        setattr(module, name, paused_call)
    else:
        msg = f"unknown pause {what!r}"
        raise SystemExit(msg)


def main(argv: list[str]) -> None:
    """Plant the pause asked for, then run ``nbgeo`` with the arguments after ``--``."""
    split = argv.index("--")
    options, args = argv[:split], argv[split + 1:]
    from nbgeo._atomic import locks, replace
    from nbgeo.cli import main as nbgeo_main

    while options:
        option = options.pop(0)
        if option == "--pause-at":
            _plant(options.pop(0))
        elif option == "--lock-timeout":
            locks.LOCK_TIMEOUT = float(options.pop(0))
        elif option == "--no-exchange":
            replace._exchange = lambda a, b: False
        else:
            msg = f"unknown option {option!r}"
            raise SystemExit(msg)
    nbgeo_main(args, prog_name="nbgeo")


if __name__ == "__main__":
    main(sys.argv[1:])
