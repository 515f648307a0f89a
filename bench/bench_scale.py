"""Scale run: 10,000,000 generated points through the heaviest audit step, on each engine.

The step is what a province-wide facility layer costs an audit: point in
polygon of every point (EV chargers, 5G stations) against Ningbo's ten real
district boundaries, then counts and exact sums of a value per district and
year, cumulative to each year (:meth:`nbgeo.engine.Engine.zonal_yearly`).

Each engine runs in its own process, so that its peak memory is its own:

- default engine: the 10 M points are one GeoDataFrame in memory (as a planner
  would have them) and the engine works through them 1 M rows at a time;
- Dask engine: a LocalCluster of 2 worker processes (1 thread each); the points
  are generated on the workers, partition by partition (as if read from
  partitioned files), held there, and never pass through the client.

Both get the same points (seeded per chunk) and must give identical results.
Timings are for the step itself (wall and CPU seconds, the CPU summed over the
processes: on a shared machine the wall time also measures the neighbours);
generating the points is reported apart.
Peak memory is each process's maximum resident set: the one process for the
default engine; the client (with the scheduler) plus each worker for Dask.

Run alone with ``python bench/bench_scale.py`` (or ``python bench/run.py scale``);
``NBGEO_BENCH_SCALE_N`` changes the number of points (default 10,000,000).
``make bench`` runs it with the default: 2–5 minutes on the project's
2-core machine.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_DEFAULT = 10_000_000
CHUNK = 500_000
YEARS = tuple(range(2018, 2026))
SEED = 2025


def _zones():
    from nbgeo import io

    return io.read_sample().metric("districts")[["name", "geometry"]]


@functools.lru_cache(maxsize=1)
def _crs():
    """The sample's working CRS: the points are drawn in the districts' metric coordinates."""
    from nbgeo import io

    return io.read_sample().working_crs


def make_points(start: int, count: int, bounds: tuple[float, float, float, float]):
    """``count`` points from row ``start`` on: uniform over ``bounds``, a year and a capacity (kW)."""
    import geopandas as gpd

    rng = np.random.default_rng([SEED, start])
    x = rng.uniform(bounds[0], bounds[2], count)
    y = rng.uniform(bounds[1], bounds[3], count)
    return gpd.GeoDataFrame(
        {"year": rng.integers(YEARS[0], YEARS[-1] + 1, count), "kw": rng.lognormal(3.5, 1.0, count)},
        geometry=gpd.points_from_xy(x, y), crs=_crs(), index=np.arange(start, start + count))


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _result(frame) -> dict:
    return {"count": [int(c) for c in frame["count"]], "kw": [float(v) for v in frame["kw"]],
            "index": [[str(z), int(y)] for z, y in frame.index]}


def _run_default(n: int) -> dict:
    import pandas as pd

    from nbgeo.engine import DefaultEngine

    zones = _zones()
    bounds = tuple(zones.total_bounds)
    start = time.perf_counter()
    points = pd.concat([make_points(s, min(CHUNK, n - s), bounds) for s in range(0, n, CHUNK)])
    generate_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    frame = DefaultEngine(chunk_rows=1_000_000).zonal_yearly(points, zones, values=["kw"], years=YEARS,
                                                             cumulative=True)
    step_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {"engine": "default", "n": n, "generate_s": generate_s, "step_s": step_s, "cpu_s": cpu_s,
            "peak_gib": _peak_gib(), "result": _result(frame)}


def _run_dask(n: int) -> dict:
    import dask.dataframe as dd
    import dask_geopandas  # noqa: F401  (registers the GeoDataFrame collection)
    from distributed import wait

    from nbgeo.engine import DaskEngine

    zones = _zones()
    bounds = tuple(zones.total_bounds)
    with DaskEngine(n_workers=2) as engine:
        client = engine.client
        starts = list(range(0, n, CHUNK))
        points = dd.from_map(make_points, starts, [min(CHUNK, n - s) for s in starts], [bounds] * len(starts),
                             meta=make_points(0, 0, bounds), divisions=[*starts, n - 1], enforce_metadata=False)
        start = time.perf_counter()
        points = points.persist()
        wait(points)
        generate_s = time.perf_counter() - start
        cpu_before = client.run(time.process_time)
        start, cpu = time.perf_counter(), time.process_time()
        frame = engine.zonal_yearly(points, zones, values=["kw"], years=YEARS, cumulative=True)
        step_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
        cpu_after = client.run(time.process_time)
        cpu_s += sum(cpu_after[w] - cpu_before[w] for w in cpu_after)
        workers = client.run(_peak_gib)
    return {"engine": "dask", "n": n, "generate_s": generate_s, "step_s": step_s, "cpu_s": cpu_s,
            "peak_gib": _peak_gib() + sum(workers.values()), "client_peak_gib": _peak_gib(),
            "worker_peak_gib": sorted(workers.values()), "result": _result(frame)}


def _in_subprocess(engine: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--engine", engine, "--n", str(n)],
                          capture_output=True, text=True, check=False, cwd=HERE.parent)
    if proc.returncode != 0:
        msg = f"the {engine} engine run failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    from _common import row

    n = int(os.environ.get("NBGEO_BENCH_SCALE_N", N_DEFAULT))
    default = _in_subprocess("default", n)
    dask = _in_subprocess("dask", n)
    same = default["result"] == dask["result"]
    name = f"scale: point in polygon + yearly sums, {n / 1e6:g} M points"
    for r in (default, dask):
        extra = (f"; client {r['client_peak_gib']:.2f} GiB + workers "
                 f"{' + '.join(f'{w:.2f}' for w in r['worker_peak_gib'])} GiB") if r["engine"] == "dask" else ""
        print(f"# scale {r['engine']:>7} engine: {r['step_s']:7.1f} s for the step ({r['cpu_s']:.1f} CPU s; "
              f"{r['generate_s']:.1f} s to generate the points), peak memory {r['peak_gib']:.2f} GiB{extra}",
              file=sys.stderr, flush=True)
    total = sum(default["result"]["count"][len(YEARS) - 1::len(YEARS)])
    print(f"# scale: {total:,} of {n:,} points fall inside a district; results identical: {same}",
          file=sys.stderr, flush=True)
    rows = [
        row(f"{name}, default engine", n, default["step_s"], None, None, None),
        row(f"{name}, dask engine (2 workers)", n, dask["step_s"], "default engine", default["step_s"], same),
    ]
    for r, result in zip(rows, (default, dask), strict=True):
        r["peak_gib"] = round(result["peak_gib"], 2)
        r["cpu_s"] = round(result["cpu_s"], 1)
    return rows


def main(argv: list[str]) -> int:
    if "--engine" not in argv:  # the whole benchmark, as bench/run.py runs it
        sys.path.insert(0, str(HERE))
        for r in run():
            print(json.dumps(r))
        return 0
    engine = argv[argv.index("--engine") + 1]
    n = int(argv[argv.index("--n") + 1]) if "--n" in argv else N_DEFAULT
    out = _run_default(n) if engine == "default" else _run_dask(n)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
