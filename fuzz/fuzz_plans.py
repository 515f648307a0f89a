"""atheris fuzz targets for nbgeo's TOML readers: any text as a plan, or as a dataset manifest, ends in data or an NbgeoError.

Two targets, chosen with ``--target``:

``plan``
    The bytes are a plan file: :func:`nbgeo.plan.read_plan`, then the plan's targets,
    indicators and siting rules are evaluated on a tiny dataset (a wrong value that the
    reader let through would fail there).
``manifest``
    The bytes are the ``dataset.toml`` of a tiny dataset folder (a GeoJSON layer, a DEM,
    an indicator table and an OSM road file beside it): :func:`nbgeo.io.read_dataset`,
    then the readers of its ``[tables]`` and ``[networks]`` sections.

An ``NbgeoError`` is the expected way to fail; any other exception is a bug and stops the
fuzzer with the input saved as ``crash-*``. Run them through ``make fuzz``, or directly::

    python fuzz/fuzz_plans.py --target plan -max_total_time=120 fuzz/corpus-plan fuzz/seeds-plan

``--seed FOLDER --target NAME`` writes the seeds: the shipped plans, or the shipped manifest
and the test corpus's manifests.
"""

from __future__ import annotations

# ruff: noqa: PLC0415 - nbgeo is imported inside atheris's instrumentation, not at the top
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

_SHM = "/dev/shm"  # noqa: S108 - a private mkdtemp folder in memory: the fuzzer writes a file per run
_WORK = Path(tempfile.mkdtemp(prefix="nbgeo-fuzz-toml-", dir=_SHM if os.path.isdir(_SHM) else None))
_STATE: dict[str, Any] = {}

_OSM = ('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">'
        '<node id="1" lat="29.870" lon="121.550" version="1"/><node id="2" lat="29.871" lon="121.551" version="1"/>'
        '<node id="3" lat="29.872" lon="121.550" version="1"/>'
        '<way id="1" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>'
        "</osm>\n")


def _tiny_dataset() -> Path:
    """A dataset folder with one small file of each kind a manifest can name (built once)."""
    if "folder" in _STATE:
        return Path(_STATE["folder"])
    import numpy as np
    import rasterio
    from rasterio.transform import Affine

    from nbgeo import datasets

    folder = _WORK / "dataset"
    folder.mkdir()
    (folder / "constraints.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "z1", "name": "湖", '
        '"kind": "water"}, "geometry": {"type": "Polygon", "coordinates": [[[121.55, 29.87], [121.56, 29.87], '
        '[121.56, 29.88], [121.55, 29.88], [121.55, 29.87]]]}}]}', encoding="utf-8")
    with rasterio.open(folder / "dem.tif", "w", driver="GTiff", width=8, height=8, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.005, 0, 121.54, 0, -0.005, 29.89), nodata=-9999) as dst:
        dst.write(np.arange(64, dtype="float32").reshape(8, 8), 1)
    shutil.copy(datasets.get_path("ningbo") / "indicators.csv", folder / "indicators.csv")
    (folder / "roads.osm").write_text(_OSM, encoding="utf-8")
    _STATE["folder"] = str(folder)
    return folder


def _tiny_layers() -> Any:
    """An in-memory dataset for evaluating fuzzed plans (built once)."""
    if "layers" not in _STATE:
        import geopandas as gpd
        from shapely import Point, box

        from nbgeo.layers import Dataset

        chargers = gpd.GeoDataFrame({"type": ["charging"] * 3, "ports": [2, 4, 1], "year": [2021, 2023, 2025]},
                                    geometry=[Point(121.55 + 0.001 * i, 29.87) for i in range(3)], crs=4326,
                                    index=["c1", "c2", "c3"])
        zones = gpd.GeoDataFrame({"name": ["a", "b"], "output_2025": [1200.0, 600.0], "year": [2021, 2022],
                                  "use": ["industrial", "commercial"], "status": ["built", "upgraded"]},
                                 geometry=[box(121.55, 29.87, 121.56, 29.88), box(121.57, 29.87, 121.58, 29.88)],
                                 crs=4326, index=["z1", "z2"])
        _STATE["layers"] = Dataset.from_gdfs({"chargers": chargers, "clusters": zones, "micro_parks": zones,
                                              "land_transfers": zones}, name="tiny")
    return _STATE["layers"]


def one_input_plan(data: bytes) -> None:
    """Read ``data`` as a plan and evaluate its targets, indicators and rules; raise only for bugs."""
    from nbgeo import plan, rules, targets
    from nbgeo.errors import NbgeoError

    path = _WORK / "plan.toml"
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = plan.read_plan(path)
            ds = _tiny_layers()
            targets.evaluate_targets(p, ds)
            for rule in p.rules[:5]:
                if rule.kind not in ("slope", "access"):  # no DEM or road network in the tiny dataset
                    rules.evaluate_rule(rule, ds)
    except NbgeoError:
        pass


def one_input_manifest(data: bytes) -> None:
    """Read ``data`` as the manifest of a tiny dataset, with its tables and networks; raise only for bugs."""
    from nbgeo import indicators, io, limits, network
    from nbgeo.errors import NbgeoError

    folder = _tiny_dataset()
    (folder / "dataset.toml").write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with limits.override(max_features=20_000, max_vertices=200_000, max_input_bytes=32 * 2**20):
                io.read_dataset(folder)
                indicators.table_for(folder)
                for source in network.dataset_networks(folder).values():
                    source.read(use_cache=False)
    except NbgeoError:
        pass


TARGETS = {"plan": one_input_plan, "manifest": one_input_manifest}


def seed(folder: Path, target: str) -> int:
    """Write the seeds of ``target`` into ``folder``; return how many."""
    from nbgeo import datasets

    folder.mkdir(parents=True, exist_ok=True)
    if target == "plan":
        files = [datasets.get_path("ningbo_2025"), datasets.get_path("ningbo_2035")]
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from corpus.cases import ACCEPTED, ERRORS, build_all

        built = Path(tempfile.mkdtemp(prefix="nbgeo-seeds-"))
        files = [datasets.get_path("ningbo") / "dataset.toml"]
        for group, cases in (("errors", ERRORS[:20]), ("accepted", ACCEPTED[:10])):
            files += [f / "dataset.toml" for f in build_all(built / group, cases).values()
                      if (f / "dataset.toml").is_file()]
    for i, file in enumerate(files):
        (folder / f"seed-{i:04d}.toml").write_bytes(Path(file).read_bytes())
    return len(files)


def main() -> None:
    """Write seeds (``--seed FOLDER --target NAME``), or fuzz one target with libFuzzer's options."""
    args = sys.argv[1:]
    target = "plan"
    if "--target" in args:
        i = args.index("--target")
        target = args[i + 1]
        del args[i:i + 2]
    if target not in TARGETS:
        sys.exit(f"--target must be one of {', '.join(TARGETS)}, got {target!r}")
    if len(args) > 1 and args[0] == "--seed":
        print(f"wrote {seed(Path(args[1]), target)} seeds into {args[1]}")
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fuzz_readers import fuzz

    fuzz([sys.argv[0], *args], TARGETS[target], _WORK)


if __name__ == "__main__":
    main()
