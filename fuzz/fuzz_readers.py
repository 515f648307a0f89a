"""atheris fuzz target for nbgeo's readers: any bytes, as any allowed format, end in data or an NbgeoError.

The first byte picks the format; the rest is written to a file with that
suffix and read with :func:`nbgeo.io.read_file`, which runs the whole reading
path (path and content checks, zip and Shapefile structure, GDAL or the table
readers, the GeoJSON diagnosis, validation). An ``NbgeoError`` is the expected
way to fail; any other exception is a bug and stops the fuzzer with the input
saved as ``crash-*``.

Run it through ``make fuzz`` (``FUZZ_SECONDS``, default 60), or directly::

    python fuzz/fuzz_readers.py -max_total_time=60 -rss_limit_mb=2048 fuzz/corpus fuzz/seeds

``make fuzz`` builds ``fuzz/seeds`` from the bad-input corpus (``tests/corpus``)
and the embedded sample, so the fuzzer starts from real files.
"""

from __future__ import annotations

# ruff: noqa: PLC0415 - nbgeo is imported inside atheris's instrumentation, not at the top
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

SUFFIXES = (".geojson", ".gpkg", ".zip", ".fgb", ".csv", ".xlsx", ".json")
_SHM = "/dev/shm"  # noqa: S108 - a private mkdtemp folder in memory: the fuzzer writes a file per run
_WORK = Path(tempfile.mkdtemp(prefix="nbgeo-fuzz-", dir=_SHM if os.path.isdir(_SHM) else None))


def one_input(data: bytes) -> None:
    """Read ``data[1:]`` as the format ``data[0]`` selects; raise only for bugs."""
    from nbgeo import io, limits
    from nbgeo.errors import NbgeoError

    if not data:
        return
    suffix = SUFFIXES[data[0] % len(SUFFIXES)]
    path = _WORK / f"layer{suffix}"
    path.write_bytes(data[1:])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Small limits keep each run fast; they are checked like the real ones.
            with limits.override(max_features=20_000, max_vertices=200_000, max_input_bytes=32 * 2**20):
                io.read_file(path, datum="WGS84" if suffix in (".csv", ".xlsx") else None)
    except NbgeoError:
        pass
    finally:
        for leftover in _WORK.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def seed(folder: Path) -> int:
    """Write one seed file per input of the corpus and the sample into ``folder``; return how many."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from corpus.cases import ACCEPTED, ERRORS, build_all

    from nbgeo import datasets

    folder.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix="nbgeo-seeds-"))
    try:
        files = [p for p in datasets.get_path("ningbo").iterdir() if p.suffix in SUFFIXES]
        for group, cases in (("errors", ERRORS), ("accepted", ACCEPTED)):
            for case_folder in build_all(built / group, cases).values():
                files += [p for p in case_folder.iterdir() if p.suffix in SUFFIXES and p.is_file()]
        count = 0
        for i, file in enumerate(files):
            data = file.read_bytes()
            if len(data) > 1_000_000:
                continue
            (folder / f"seed-{i:04d}{file.suffix}").write_bytes(bytes([SUFFIXES.index(file.suffix)]) + data)
            count += 1
        return count
    finally:
        shutil.rmtree(built, ignore_errors=True)


def main() -> None:
    """Write seeds (``--seed FOLDER``), or fuzz with libFuzzer's command-line options."""
    if len(sys.argv) > 2 and sys.argv[1] == "--seed":
        print(f"wrote {seed(Path(sys.argv[2]))} seeds into {sys.argv[2]}")
        return
    fuzz(sys.argv, one_input)


def fuzz(argv: list[str], target: Callable[[bytes], None], *work: Path) -> None:
    """Run atheris on ``target`` with nbgeo instrumented; remove this module's and ``work``'s folders after."""
    import atheris

    with atheris.instrument_imports(include=["nbgeo"]):
        import nbgeo.io
        import nbgeo.plan
        import nbgeo.validate  # noqa: F401
    atheris.Setup(argv, target)
    try:
        atheris.Fuzz()
    finally:
        for folder in (_WORK, *work):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
