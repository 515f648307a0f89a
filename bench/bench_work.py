"""Work budgets: the worst case each slow step lets through, and what it refuses.

GEOS's validity check, ``make_valid`` and overlays are superlinear in the pairs of edges that may
cross. ``nbgeo.limits`` prices each geometry (vertices and possible crossings, ``WORK_COSTS``)
and refuses one over ``max_work_seconds`` (10 s) or a step over ``max_total_work_seconds`` (30 s).
For each step this measures the costliest input the budgets allow (a star polygon, a grid of
holes, two interleaved combs, sized to sit just under the budget) and checks it finishes within
30 s; then it times the refusal of the 999,990-vertex star from issue 13.

Rows: ``nbgeo s`` is the whole step (the budget check plus GEOS) in CPU seconds (GEOS runs on one
core, so on an idle machine that is its wall time; the wall time and the load are printed to stderr);
the baseline column holds the 30 s target, so the ratio is the headroom. ``python bench/bench_work.py`` prints the rows alone.

``python bench/bench_work.py --split --factors 1,10,100`` prints, for zones cut into 250 m cells (the sample's
industrial clusters tiled ×N as ``bench/scale.py`` tiles them, and synthetic zones of growing size and detail),
the estimate the split is budgeted with next to its CPU time, and the former price and time (issue 18).
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from _common import row

from nbgeo import coverage, limits
from nbgeo.errors import LimitError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus.hostile_values import comb, star

TARGET = 30.0


def _largest(build, step: str, lo: int, hi: int) -> tuple[int, object]:
    """The largest size whose shape the budgets let through ``step`` (bisection on the size)."""

    def fits(size: int) -> bool:
        shape = build(size)
        try:
            if step == "overlay":
                limits.check_overlay_work([shape[0]], [shape[1]], [0], [0], a_ids=["a"], b_ids=["b"])
            else:
                limits.check_work([shape], ["x"], step=step)
        except LimitError:
            return False
        return True

    while hi - lo > max(2, lo // 200):
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo, build(lo)


def _timed(fn) -> tuple[float, object]:
    """CPU seconds of ``fn`` (GEOS runs on one core: on an idle machine, its wall time), with the wall time logged.

    CPU time, because the benchmark machine is shared: wall times there swing with the other jobs' load.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"#   {cpu:.2f} CPU s, {wall:.2f} wall s (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    return cpu, out


def _holes(n: int) -> shapely.Polygon:
    """A square with about n / 5 square holes, two of which overlap: an invalid polygon of n vertices."""
    side = max(2, int(math.sqrt(n / 5)))
    i, j = np.repeat(np.arange(side), side), np.tile(np.arange(side), side)
    holes = [list(h.exterior.coords) for h in shapely.box(3 * i + 1, 3 * j + 1, 3 * i + 2, 3 * j + 2)]
    holes.append(list(shapely.box(1.5, 1.5, 2.5, 2.5).exterior.coords))
    return shapely.Polygon([(0, 0), (3 * side + 1, 0), (3 * side + 1, 3 * side + 1), (0, 3 * side + 1)], holes)


def run() -> list[dict]:
    rows = []
    budget = limits.max_work_seconds

    # Validity check: is_valid and is_valid_reason on the largest star the per-geometry budget allows.
    n, shape = _largest(star, "validity check", 1_000, 200_000)
    t, _ = _timed(lambda: (limits.check_work([shape], ["x"], step="validity check"), shapely.is_valid(shape),
                           shapely.is_valid_reason(shape)))
    rows.append(row(f"validity check: star at the budget ({budget:g} s)", n, t, "30 s target", TARGET, t < TARGET))

    # ... and three of them, which the total budget (30 s for the step) still allows.
    shapes = [star(n), star(n - 2), star(n - 4)]
    t, _ = _timed(lambda: (limits.check_work(shapes, ["a", "b", "c"], step="validity check"),
                           shapely.is_valid(shapes), shapely.is_valid_reason(shapes)))
    rows.append(row("validity check: 3 such stars (the total budget)", 3 * n, t, "30 s target", TARGET, t < TARGET))

    # Repair: make_valid on the largest star, and the largest grid of holes (40 µs a vertex), the budget allows.
    n, shape = _largest(star, "repair", 50, 5_000)
    t, _ = _timed(lambda: (limits.check_work([shape], ["x"], step="repair"), shapely.make_valid(
        shape, method="structure", keep_collapsed=False)))
    rows.append(row(f"repair (make_valid): star at the budget ({budget:g} s)", n, t, "30 s target", TARGET, t < TARGET))
    n, shape = _largest(_holes, "repair", 1_000, 1_000_000)
    t, _ = _timed(lambda: (limits.check_work([shape], ["x"], step="repair"), shapely.make_valid(
        shape, method="structure", keep_collapsed=False)))
    vertices = int(shapely.get_num_coordinates(shape))
    rows.append(row("repair (make_valid): grid of holes at the budget", vertices, t, "30 s target", TARGET,
                    t < TARGET))

    # Overlay: the intersection of two interleaved valid combs, the largest the budget allows.
    def pair(teeth: int) -> tuple[shapely.Polygon, shapely.Polygon]:
        return comb(teeth), comb(teeth, turned=True)

    teeth, (a, b) = _largest(pair, "overlay", 20, 1_000)
    t, _ = _timed(lambda: (limits.check_overlay_work([a], [b], [0], [0], a_ids=["a"], b_ids=["b"]),
                           shapely.intersection(a, b)))
    vertices = int(shapely.get_num_coordinates(a) + shapely.get_num_coordinates(b))
    rows.append(row(f"overlay: two combs of {teeth} teeth at the budget", vertices, t, "30 s target", TARGET,
                    t < TARGET))

    # The refusal itself: the 999,990-vertex star of issue 13 (its is_valid would take a quarter of an hour).
    big = star(999_990)
    estimate = float(limits.WORK_COSTS["validity check"][1]) * limits.possible_crossings([big])[0]

    def refuse() -> bool:
        try:
            limits.check_work([big], ["z1"], step="validity check")
        except LimitError:
            return True
        return False

    t, refused = _timed(refuse)
    rows.append(row("refusal of the 999,990-vertex star", 999_990, t, "GEOS is_valid (estimated)", estimate,
                    bool(refused)))
    return rows


def _blobs(vertices: int, radius: float, count: int = 20) -> gpd.GeoDataFrame:
    """``count`` wavy zones of ``vertices`` vertices and about ``radius`` m, side by side, off the grid lines."""
    a = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = radius * (1 + 0.2 * np.sin(7 * a))
    return gpd.GeoDataFrame(geometry=[shapely.Polygon(np.c_[r * np.cos(a) + 5 * radius * i + 0.37, r * np.sin(a) + 11.1])
                                      for i in range(count)], crs="EPSG:32651")


def _small(count: int, across: float, vertices: int) -> gpd.GeoDataFrame:
    """``count`` round zones ``across`` m wide of ``vertices`` vertices, scattered over 200 km (seed 1)."""
    centres = np.random.default_rng(1).uniform(0, 200_000, (count, 2))
    a = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    ring = np.c_[np.cos(a), np.sin(a)] * across / 2
    return gpd.GeoDataFrame(geometry=shapely.polygons(centres[:, None, :] + ring[None]), crs="EPSG:32651")


def split_rows(factors: list[int], *, before: bool = True) -> list[dict]:
    """The grid split of zones into 250 m cells: the estimate (``coverage.grid_split_work``) against the CPU.

    On the sample's industrial clusters tiled ×N as ``bench/scale.py`` tiles them, and on synthetic zones of
    growing size and detail. Each split runs under the default budgets (a refusal is printed, not raised);
    ``before`` also times the former split, every cell of a zone's box intersected with the zone
    (``tests/test_coverage_split.py``'s reference), and prints its former price (1 µs × cells × (vertices + 5)).
    """
    from scale import tiled_layer
    from test_coverage_split import cell_by_cell

    cases = [(f"sample clusters x{f}", lambda f=f: tiled_layer("clusters", f)) for f in factors]
    cases += [(f"{v:,}-vertex zones of {r / 1000:g} km (20)", lambda v=v, r=r: _blobs(v, r))
              for v in (64, 1_024, 8_192) for r in (2_000.0, 8_000.0)]
    cases += [(f"{n:,} {v:,}-vertex zones of {d:g} m", lambda n=n, d=d, v=v: _small(n, d, v))
              for n, d, v in ((20_000, 120.0, 5), (20_000, 120.0, 200), (5_000, 600.0, 64), (2_000, 300.0, 2_000))]
    rows = []
    for name, make in cases:
        zones = make()
        work = coverage.grid_split_work(zones.geometry.values, 250)
        estimate = float(work["seconds"].sum())
        try:
            t, units = _timed(lambda z=zones: coverage.demand_units(z, weight="area", split="grid", cell=250,
                                                                     crs=z.crs, layer="clusters"))
            measured: str = f"{t:.2f} CPU s, {len(units):,} cells"
        except LimitError as exc:
            t, measured = math.nan, f"refused: {str(exc)[:90]}"
        old = ""
        if before:
            t_old, _ = _timed(lambda z=zones: cell_by_cell(np.asarray(z.geometry.values, dtype=object), 250))
            price = float((1e-6 * work["cells"] * (work["vertices"] + 5)).sum())
            old = f"   before: priced {price:.2f} s, took {t_old:.2f} CPU s"
        print(f"{name:<34} {len(zones):>6,} zones  {work['cells'].sum():>10,.0f} cells  "
              f"{work['edge_cells'].sum():>9,.0f} cut  estimate {estimate:6.2f} s   {measured}{old}", flush=True)
        rows.append(row(f"grid split 250 m: {name}", int(work["cells"].sum()), t, "estimate", estimate,
                        not math.isnan(t)))
    return rows


if __name__ == "__main__":
    if "--split" in sys.argv:  # python bench/bench_work.py --split [--factors 1,10,100] [--no-before]
        arg = sys.argv[sys.argv.index("--factors") + 1] if "--factors" in sys.argv else "1,10"
        split_rows([int(f) for f in arg.split(",")], before="--no-before" not in sys.argv)
        raise SystemExit(0)
    for r in run():
        print(f"{r['name']:<52} n={r['n']:>9,}  {r['nbgeo_s']:>8.2f} s   {r['baseline']}: {r['baseline_s']:,.1f} s"
              f"   {'ok' if r['same_result'] else 'NO'}")
