"""Siting-rule benchmarks against the plain geopandas / rasterstats way, measured in the same run.

* setback: 1,000,000 point sites × 5,000 sensitive polygons (about 60 vertices, 50–300 m across), 300 m.
  Baseline: buffer the polygons by 300 m, then ``geopandas.sjoin(..., predicate="intersects")``.
* exclusion: 1,000,000 parcel polygons (30–120 m, rotated) × 5,000 excluded polygons, no overlap allowed.
  Baseline: ``geopandas.overlay(how="intersection")`` and the overlap area summed per parcel (the plain way to
  get the area a tolerance needs).
* slope: a 10,000 × 10,000 DEM (10 m cells) and 5,000 park polygons (2–15 ha), mean and max slope.
  Baseline: ``rasterstats.zonal_stats`` on the slope raster, which is made beforehand and not timed; nbgeo reads
  the DEM and computes the slope itself inside the timing. Pixel counts must be identical.

A buffer is a polygon inscribed in the true circle (16 segments a quarter), so buffering misses sites within a
fraction of a metre of the limit. The generated sites keep 3 m away from it (by GEOS ``dwithin`` at 297 and 303 m),
so that the verdicts can be compared exactly: ``same`` means identical verdicts for every site (and identical pixel
counts, equal means to 1e-5, for the slope).

Run: ``python bench/run.py rules`` (about 3 minutes on 2 cores, under 5 GiB of memory).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from _common import row, timed

from nbgeo import raster, rules

CRS = "EPSG:32651"
EXTENT = 150_000.0
SETBACK = 300.0


def _blobs(rng: np.random.Generator, n: int, extent: float, r_min: float, r_max: float) -> np.ndarray:
    """``n`` star-shaped polygons of 60 vertices."""
    centre = rng.uniform(0, extent, (n, 2))
    angle = np.linspace(0, 2 * np.pi, 61)[:-1]
    radius = rng.uniform(r_min, r_max, (n, 1)) * (1 + 0.25 * rng.uniform(-1, 1, (n, 60)))
    ring = np.stack([centre[:, :1] + radius * np.cos(angle), centre[:, 1:] + radius * np.sin(angle)], -1)
    return shapely.polygons(np.concatenate([ring, ring[:, :1]], 1))


def _setback_inputs(rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    sensitive = _blobs(rng, 5_000, EXTENT, 25, 150)
    pts = shapely.points(rng.uniform(0, EXTENT, (1_150_000, 2)))
    tree = shapely.STRtree(sensitive)
    near = np.zeros(len(pts), dtype=bool)
    near[tree.query(pts, predicate="dwithin", distance=SETBACK + 3)[0]] = True
    clear = np.zeros(len(pts), dtype=bool)
    clear[tree.query(pts, predicate="dwithin", distance=SETBACK - 3)[0]] = True
    pts = pts[~(near & ~clear)][:1_000_000]
    sites = gpd.GeoDataFrame(geometry=pts, crs=CRS, index=pd.RangeIndex(len(pts)))
    return sites, gpd.GeoDataFrame({"kind": ["residential"] * len(sensitive)}, geometry=sensitive, crs=CRS)


def _bench_setback(rng: np.random.Generator) -> dict:
    sites, sensitive = _setback_inputs(rng)

    def nbgeo_way() -> np.ndarray:
        return rules.check_setback(sites, sensitive, distance=SETBACK, tolerance=0).frame["status"].to_numpy() == "fail"

    def geopandas_way() -> np.ndarray:
        zones = gpd.GeoDataFrame(geometry=sensitive.buffer(SETBACK), crs=CRS)
        joined = gpd.sjoin(sites, zones, predicate="intersects", how="inner")
        fail = np.zeros(len(sites), dtype=bool)
        fail[joined.index.unique()] = True
        return fail

    t_nbgeo, mine = timed(nbgeo_way)
    t_base, theirs = timed(geopandas_way)
    print(f"setback: {int(mine.sum()):,} of {len(sites):,} sites fail", flush=True)
    return row("rule setback, 1M points × 5k polygons", len(sites), t_nbgeo, "buffer + gpd.sjoin", t_base,
               bool((mine == theirs).all()))


def _bench_exclusion(rng: np.random.Generator) -> dict:
    excluded = gpd.GeoDataFrame(geometry=_blobs(rng, 5_000, EXTENT, 50, 300), crs=CRS)
    n = 1_000_000
    centre = rng.uniform(0, EXTENT, (n, 2))
    half = rng.uniform(15, 60, (n, 2))
    turn = rng.uniform(0, np.pi / 2, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    local = corners[None] * half[:, None, :]
    cos, sin = np.cos(turn)[:, None], np.sin(turn)[:, None]
    ring = np.stack([centre[:, :1] + local[..., 0] * cos - local[..., 1] * sin,
                     centre[:, 1:] + local[..., 0] * sin + local[..., 1] * cos], -1)
    parcels = gpd.GeoDataFrame({"pid": np.arange(n)}, geometry=shapely.polygons(ring), crs=CRS)

    def nbgeo_way() -> np.ndarray:
        return rules.check_exclusion(parcels, excluded, max_area=0, tolerance=0).frame["status"].to_numpy() == "fail"

    def geopandas_way() -> np.ndarray:
        pieces = gpd.overlay(parcels, excluded, how="intersection", keep_geom_type=True)
        area = pieces.geometry.area.groupby(pieces["pid"].to_numpy()).sum()
        fail = np.zeros(n, dtype=bool)
        fail[area.index[area.to_numpy() > 0]] = True
        return fail

    t_nbgeo, mine = timed(nbgeo_way)
    t_base, theirs = timed(geopandas_way)
    print(f"exclusion: {int(mine.sum()):,} of {n:,} parcels overlap", flush=True)
    return row("rule exclusion, 1M parcels × 5k polygons", n, t_nbgeo, "gpd.overlay + area per parcel", t_base,
               bool((mine == theirs).all()))


def _bench_slope(rng: np.random.Generator, folder: Path) -> dict:
    import rasterio
    import rasterstats
    from rasterio.transform import from_origin
    from scipy import ndimage

    size, cell = 10_000, 10.0
    coarse = ndimage.gaussian_filter(rng.normal(0, 60, (1_000, 1_000)), 2)
    dem = ndimage.zoom(coarse, 10, order=1, output=np.float32) + 50
    transform = from_origin(500_000.0, 3_400_000.0, cell, cell)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32", "crs": CRS,
               "transform": transform, "nodata": -9999.0, "tiled": True, "blockxsize": 512, "blockysize": 512}
    dem_path, slope_path = folder / "dem.tif", folder / "slope.tif"
    with rasterio.open(dem_path, "w", **profile) as dst:
        dst.write(dem, 1)
    full = raster.slope(dem, xres=cell, yres=cell, unit="degree", nodata=-9999.0)
    del dem
    with rasterio.open(slope_path, "w", **profile) as dst:
        dst.write(np.where(np.isnan(full), -9999.0, full).astype("float32"), 1)
    del full
    centres = shapely.points(rng.uniform(500_500, 500_000 + size * cell - 500, 5_000),
                             rng.uniform(3_400_000 - size * cell + 500, 3_399_500, 5_000))
    radius = np.sqrt(rng.uniform(2e4, 15e4, 5_000) / np.pi)  # 2–15 ha
    parks = gpd.GeoDataFrame(geometry=shapely.buffer(centres, radius, quad_segs=6), crs=CRS)
    stats = ["count", "mean", "max"]

    def nbgeo_way() -> pd.DataFrame:
        return raster.slope_stats(parks, dem_path, stats=stats, unit="degree")

    def rasterstats_way() -> list[dict]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)  # rasterstats 0.21 multiplies Affine with *
            return rasterstats.zonal_stats(list(parks.geometry), str(slope_path), stats=stats)

    t_nbgeo, mine = timed(nbgeo_way)
    t_base, theirs = timed(rasterstats_way, repeat=1)
    counts = [t["count"] for t in theirs]
    means = np.array([np.nan if t["mean"] is None else t["mean"] for t in theirs])
    same = mine["count"].tolist() == counts and bool(np.allclose(mine["mean"], means, rtol=1e-5, equal_nan=True))
    print(f"slope: {int(mine['count'].sum()):,} pixels in {len(parks):,} parks", flush=True)
    return row("slope rule, 10k×10k DEM × 5k parks", len(parks), t_nbgeo, "rasterstats.zonal_stats", t_base, same)


def run() -> list[dict]:
    rng = np.random.default_rng(2025)
    rows = [_bench_setback(rng), _bench_exclusion(rng)]
    with tempfile.TemporaryDirectory(prefix="nbgeo-bench-") as tmp:
        rows.append(_bench_slope(rng, Path(tmp)))
    for r in rows:
        print(f"{r['name']}: nbgeo {r['nbgeo_s']:.3f} s, {r['baseline']} {r['baseline_s']:.3f} s, "
              f"{r['ratio']}×, same result: {r['same_result']}", flush=True)
    return rows
