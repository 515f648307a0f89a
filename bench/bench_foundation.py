"""Foundation benchmarks: the sample audit end to end, and GCJ-02 conversion against a per-point loop."""

from __future__ import annotations

import math

import numpy as np
from _common import row, timed

from nbgeo import audit, crs, datasets, io, plan


def _gcj_loop(lons: list[float], lats: list[float]) -> list[tuple[float, float]]:
    """The per-point way (the textbook formula, one point at a time, inverted by iteration)."""
    a, ee = 6378245.0, 0.00669342162296594323
    out = []
    for glon, glat in zip(lons, lats, strict=True):
        lon, lat = glon, glat
        for _ in range(30):
            x, y = lon - 105.0, lat - 35.0
            common = (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
            tlat = (-100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + common
                    + (20 * math.sin(y * math.pi) + 40 * math.sin(y / 3 * math.pi)) * 2 / 3
                    + (160 * math.sin(y / 12 * math.pi) + 320 * math.sin(y * math.pi / 30)) * 2 / 3)
            tlon = (300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + common
                    + (20 * math.sin(x * math.pi) + 40 * math.sin(x / 3 * math.pi)) * 2 / 3
                    + (150 * math.sin(x / 12 * math.pi) + 300 * math.sin(x / 30 * math.pi)) * 2 / 3)
            rad = lat / 180 * math.pi
            magic = 1 - ee * math.sin(rad) ** 2
            dlat = tlat * 180 / ((a * (1 - ee)) / (magic * math.sqrt(magic)) * math.pi)
            dlon = tlon * 180 / (a / math.sqrt(magic) * math.cos(rad) * math.pi)
            dx, dy = lon + dlon - glon, lat + dlat - glat
            lon, lat = lon - dx, lat - dy
            if abs(dx) < 1e-9 and abs(dy) < 1e-9:
                break
        out.append((lon, lat))
    return out


def run() -> list[dict]:
    rows = []
    ds_path, plan_path = datasets.get_path("ningbo"), datasets.get_path("ningbo_2025")

    def _audit():
        return audit.run_audit(io.read_dataset(ds_path), plan.read_plan(plan_path))

    t_audit, report = timed(_audit, repeat=3)
    features = sum(len(layer.gdf) for layer in report.dataset.layers.values())
    rows.append(row("audit of the Ningbo sample (read+validate+targets)", features, t_audit, None, None, None))

    rng = np.random.default_rng(0)
    n = 200_000
    lon, lat = rng.uniform(120.9, 122.3, n), rng.uniform(28.9, 30.4, n)
    t_vec, (wlon, wlat) = timed(lambda: crs.gcj02_to_wgs84(lon, lat))
    t_loop, loop = timed(lambda: _gcj_loop(lon.tolist(), lat.tolist()), repeat=1)
    loop_arr = np.asarray(loop)
    same = bool(np.allclose(loop_arr[:, 0], wlon, atol=1e-8) and np.allclose(loop_arr[:, 1], wlat, atol=1e-8))
    rows.append(row("GCJ-02 -> WGS 84 (iterative inverse)", n, t_vec, "per-point Python loop", t_loop, same))
    return rows
