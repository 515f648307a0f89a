"""Progress and scenarios: tracking every target of the sample year by year, and the site changes of a large layer.

The site changes of the 41,500 5G stations (a scenario with stations removed, moved, modified and
re-numbered) are timed against the per-feature way: a dict by id, one geometry comparison and one
attribute comparison per feature, and a geometry lookup for every vanished id.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from _common import row, timed

from nbgeo import compare, datasets, io, plan, progress


def _scenario(gdf):
    """A changed copy: 500 removed, 300 moved 50 m, 200 with another year, 100 re-numbered, 400 added."""
    rng = np.random.default_rng(9)
    b = gdf.copy()
    idx = rng.permutation(len(b))
    removed, moved, modified, renamed = idx[:500], idx[500:800], idx[800:1000], idx[1000:1100]
    geoms = np.asarray(b.geometry.values).copy()
    geoms[moved] = shapely.transform(geoms[moved], lambda xy: xy + np.array([0.0005, 0.0]))
    b = b.set_geometry(geoms)
    b.iloc[modified, b.columns.get_loc("year")] = 2030
    ids = b.index.to_numpy().copy()
    ids[renamed] = [f"NEW{i:05d}" for i in range(len(renamed))]
    b.index = ids
    b = b.drop(b.index[removed])
    extra = gdf.iloc[:400].copy()
    extra.index = [f"ADD{i:05d}" for i in range(400)]
    extra = extra.set_geometry(shapely.transform(np.asarray(extra.geometry.values), lambda xy: xy + np.array([0.01, 0.01])))
    return pd.concat([b, extra])


def _loop(a, b):
    """The per-feature way."""
    a_rows = {str(i): (g, y) for i, g, y in zip(a.index, a.geometry, a["year"], strict=True)}
    b_rows = {str(i): (g, y) for i, g, y in zip(b.index, b.geometry, b["year"], strict=True)}
    moved, modified, unchanged = [], [], 0
    for fid, (ga, ya) in a_rows.items():
        if fid in b_rows:
            gb, yb = b_rows[fid]
            same_geom = shapely.normalize(ga).equals_exact(shapely.normalize(gb), 1e-7)
            if not same_geom:
                moved.append(fid)
            if ya != yb:
                modified.append(fid)
            unchanged += same_geom and ya == yb
    gone = [f for f in a_rows if f not in b_rows]
    new = [f for f in b_rows if f not in a_rows]
    by_wkb = {}
    for f in gone:
        by_wkb.setdefault(shapely.normalize(shapely.set_precision(a_rows[f][0], 1e-6)).wkb_hex, []).append(f)
    renamed = []
    for f in new:
        key = shapely.normalize(shapely.set_precision(b_rows[f][0], 1e-6)).wkb_hex
        if by_wkb.get(key):
            renamed.append((by_wkb[key].pop(0), f))
    renamed_a = {p[0] for p in renamed}
    renamed_b = {p[1] for p in renamed}
    return (tuple(sorted(f for f in new if f not in renamed_b)), tuple(sorted(f for f in gone if f not in renamed_a)),
            tuple(sorted(moved)), tuple(sorted(modified)), tuple(sorted(renamed)), unchanged)


def run() -> list[dict]:
    rows = []
    ds = io.read_dataset(datasets.get_path("ningbo"))
    p = plan.read_plan(datasets.get_path("ningbo_2025"))
    t_track, entries = timed(lambda: progress.track(p, ds, as_of=2023), repeat=3)
    rows.append(row(f"progress: {len(entries)} targets and indicators tracked 2020-2023 on the sample", len(entries), t_track,
                    None, None, None))

    a = ds["base_stations_5g"]
    b = _scenario(a)
    t_fast, s = timed(lambda: compare.site_changes(a, b, layer="base_stations_5g"), repeat=3)
    t_loop, naive = timed(lambda: _loop(a, b), repeat=1)
    ours = (s.added, s.removed, s.moved, s.modified, s.renamed, s.unchanged)
    rows.append(row("compare: site changes of 41,500 5G stations", len(a), t_fast, "per-feature loop", t_loop,
                    ours == naive))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
