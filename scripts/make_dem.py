"""Write the sample's illustrative DEM: synthetic terrain with hills where the ecological red line lies.

The DEM is made up. Ningbo's real hills (四明山, 天童–太白山, the ranges of 奉化, 宁海 and 象山) are where
the sample's illustrative red-line polygons lie, so the terrain puts its hills there too: it rises from
a flat coastal plain (2–8 m) starting 200 m outside each red-line polygon to 200–600 m about 1.3 km inside
it, with rough ridges on top. The plain carries a few metres of smooth relief; the sea (outside the
districts) is 0 m.

Grid: EPSG:4326, 0.001° cells (about 97 m × 111 m), float32 metres, nodata -9999 (none present),
deflate-compressed with the floating-point predictor, 256 × 256 tiles. Deterministic for a given --seed.

Usage::

    python scripts/make_dem.py                      # writes nbgeo/datasets/ningbo/dem.tif
    python scripts/make_dem.py --out /tmp/dem.tif --seed 7
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import rasterio
import rasterio.features
from rasterio.transform import from_origin
from scipy import ndimage

from nbgeo import _atomic, io

WEST, NORTH, EAST, SOUTH = 120.850, 30.500, 122.300, 28.840
CELL = 0.001
NODATA = -9999.0


def _noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth random relief with unit standard deviation."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return (field - field.mean()) / field.std()


def make_dem(seed: int = 2025) -> tuple[np.ndarray, rasterio.Affine]:
    """The DEM array (metres) and its geotransform."""
    sample = io.read_sample()
    width, height = round((EAST - WEST) / CELL), round((NORTH - SOUTH) / CELL)
    transform = from_origin(WEST, NORTH, CELL, CELL)
    rng = np.random.default_rng(seed)

    constraints = sample["constraints"]
    red = constraints[constraints["kind"] == "ecological_red_line"]
    land = rasterio.features.geometry_mask(sample["districts"].geometry, (height, width), transform, invert=True)
    inside = rasterio.features.rasterize(((g, i + 1) for i, g in enumerate(red.geometry)), (height, width),
                                         transform=transform, fill=0, dtype="int32")

    # Distances into and out of the red line, in metres (cells are about 97 m × 111 m here).
    lat = np.radians((NORTH + SOUTH) / 2)
    sampling = (CELL * 111_320.0, CELL * 111_320.0 * np.cos(lat))
    into = ndimage.distance_transform_edt(inside > 0, sampling=sampling)
    out_of = ndimage.distance_transform_edt(inside == 0, sampling=sampling)
    signed = np.where(inside > 0, into, -out_of)

    # The hills: a smoothstep from 200 m outside to 1.3 km inside, each range with its own height.
    t = np.clip((signed + 200.0) / 1500.0, 0.0, 1.0)
    rise = t * t * (3 - 2 * t)
    nearest = ndimage.distance_transform_edt(inside == 0, return_distances=False, return_indices=True)
    which = inside[nearest[0], nearest[1]]
    heights = np.concatenate([[0.0], rng.uniform(200.0, 600.0, len(red))])
    ridges = 1.0 + 0.25 * _noise(rng, (height, width), 4.0) + 0.1 * _noise(rng, (height, width), 1.5)
    hills = heights[which] * rise * ridges

    plain = 5.0 + 2.0 * _noise(rng, (height, width), 40.0)
    dem = np.where(land, np.maximum(plain + hills, 0.5), 0.0)
    return np.round(dem, 1).astype("float32"), transform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "nbgeo/datasets/ningbo/dem.tif")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    dem, transform = make_dem(args.seed)
    profile = {
        "driver": "GTiff", "width": dem.shape[1], "height": dem.shape[0], "count": 1, "dtype": "float32",
        "crs": "EPSG:4326", "transform": transform, "nodata": NODATA, "compress": "deflate", "predictor": 3,
        "zlevel": 9, "tiled": True, "blockxsize": 256, "blockysize": 256,
    }
    with _atomic.atomic_path(args.out, overwrite=True) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(dem, 1)
            dst.update_tags(ILLUSTRATIVE="true", SOURCE=f"synthetic terrain, scripts/make_dem.py --seed {args.seed}")
    print(f"wrote {args.out}: {dem.shape[1]} × {dem.shape[0]} cells, {float(dem.min()):.1f}–{float(dem.max()):.1f} m, "
          f"{args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
