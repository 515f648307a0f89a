"""A synthetic province for the scale benchmark: the Ningbo sample tiled ×N in every layer (issue 18).

The illustrative sample (``nbgeo/datasets/ningbo``, read through nbgeo's own reader) is copied N
times onto a grid of ``ceil(sqrt(N))`` columns, each copy translated by whole sample extents
(plus a 2 km gap and a seeded shift of up to 500 m) in the sample's working CRS, then written
back in WGS 84. Every feature of every copy but the first is also moved by a seeded random
offset (5 m standard deviation for points, 3 m for lines and polygons), so copies are not
identical; copy 0 is the sample as it is. Everything is reproducible from ``--seed``.

- Vector layers: every layer, as GeoPackage; ids stay a prefix and a number, numbered on
  from copy to copy (``CH00001`` becomes ``CH0000001`` at ×100, and copy 1 starts at ``CH0010601``);
  names get `` #NNN``, the copy's number. At ×100: 1.06 M chargers, 4.15 M 5G stations, 300 k land parcels,
  24.2 k micro-parks.
- Road network: the sample's network as nbgeo reads it (85 k nodes, 191 k directed edges),
  tiled and written as an osmnx-style GeoPackage (``nodes``: osmid; ``edges``: u, v and a
  straight segment per directed edge, no ``oneway`` column: one row per direction), so
  ×100 is 8.5 M nodes and 19.1 M directed edges.
- DEM: a float32 GeoTIFF in WGS 84 at the sample's 0.001°, over the province's extent; each
  cell takes the sample's value at the same place in its copy (nearest cell, through the
  working CRS), nodata between copies.
- The indicator table is copied unchanged (it is not spatial).
- The manifest declares the sample's working CRS (``[crs] working``): the province is far
  wider than nbgeo's 0.1 % limit for one transverse Mercator (``E-CRS-EXTENT``), and in that
  CRS the copies are exact translations, so lengths and areas are the sample's.
- The plan: the sample's 2025 plan with every threshold that is a count or a sum multiplied
  by N (targets whose metric is ``count``, ``tier_count``, ``length``, ``area`` or ``sum``; the
  siting ``k``); shares, percentages, distances, areas of one site, slopes and the
  indicators' thresholds (not spatial: their table is not tiled) stay as they are.

The province is written once to ``$NBGEO_BENCH_CACHE`` (default ``bench/.cache``, git-ignored)
as ``province-xN-seedS/`` with ``dataset.toml``, ``plan.toml`` and ``manifest.json`` saying it is
synthetic and illustrative, and is never committed. ``python bench/scale.py --factor 10``
builds it (or says where it is).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

from nbgeo import datasets, io, network

HERE = Path(__file__).resolve().parent
SEED = 2025
GAP_M = 2_000.0  # between copies, besides the seeded shift
SHIFT_M = 500.0  # the largest seeded shift of a whole copy
JITTER_M = {"Point": 5.0, "MultiPoint": 5.0}  # per-feature offsets (standard deviation); 3 m for the rest
JITTER_OTHER_M = 3.0
SCALED_METRICS = {"count", "tier_count", "length", "area", "sum"}
DESCRIPTION = ("Synthetic and illustrative: copies of the nbgeo Ningbo sample on a grid, jittered, for benchmarks "
               "only; not real places or facilities.")
FORMAT_VERSION = 2  # bump when the output changes, so old caches are rebuilt


def sample_fingerprint() -> str:
    """A sha256 over the sample's files and its 2025 plan: a province built from another sample is rebuilt.

    The sample grows (new layers, targets, indicators); a cached province made from an older
    one would measure an audit that no longer exists.
    """
    digest = hashlib.sha256()
    folder = datasets.get_path("ningbo")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(datasets.get_path("ningbo_2025").read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where provinces are written: ``$NBGEO_BENCH_CACHE`` or ``bench/.cache``."""
    return Path(os.environ.get("NBGEO_BENCH_CACHE", HERE / ".cache"))


def grid(factor: int, seed: int, width: float, height: float) -> np.ndarray:
    """The ``(dx, dy)`` offset in metres of each copy: a grid of whole extents plus a seeded shift; copy 0 at 0."""
    cols = math.ceil(math.sqrt(factor))
    k = np.arange(factor)
    rng = np.random.default_rng([seed, 0])
    shift = rng.uniform(-SHIFT_M, SHIFT_M, (factor, 2))
    shift[0] = 0.0
    return np.column_stack([(k % cols) * (width + GAP_M), (k // cols) * (height + GAP_M)]) + shift


def _numbered_ids(index: pd.Index, copies: int) -> list[pd.Index]:
    """The ids of each copy: ``CH00001`` .. ``CH10600`` become ``CH0000001`` .. ``CH1060000`` over 100 copies.

    Copy ``k`` numbers on from the last copy, in the same prefix and width, as a real
    layer of that size would be numbered (nbgeo's map packs such runs of ids); ids that are
    not a prefix and a number get ``-NNN``, the copy's number, after copy 0.
    """
    parts = index.astype(str).str.extract(r"^(\D*)(\d+)$")
    if parts.isna().any().any() or parts[0].nunique() != 1:
        return [index.astype(str) if k == 0 else index.astype(str) + f"-{k:03d}" for k in range(copies)]
    prefix, nums = parts[0].iloc[0], parts[1].astype(np.int64).to_numpy()
    step = int(nums.max())
    width = max(len(str(step * copies)), parts[1].str.len().max())
    return [pd.Index([f"{prefix}{n:0{width}d}" for n in nums + k * step], name=index.name) for k in range(copies)]


def _tile_layer(gdf: gpd.GeoDataFrame, offsets: np.ndarray, seed: int, layer_no: int) -> gpd.GeoDataFrame:
    """``len(offsets)`` copies of a metric layer, each translated and jittered per feature."""
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    kinds = shapely.get_type_id(geoms)
    sigma = np.where(np.isin(kinds, (0, 4)), JITTER_M["Point"], JITTER_OTHER_M)
    ids = _numbered_ids(gdf.index, len(offsets))
    parts = []
    for k, (dx, dy) in enumerate(offsets):
        rng = np.random.default_rng([seed, layer_no, k])
        move = rng.normal(0.0, 1.0, (len(geoms), 2)) * sigma[:, None] if k else np.zeros((len(geoms), 2))
        moved = shapely.set_coordinates(shapely.transform(geoms, lambda xy: xy),  # a copy to modify
                                        coords + move[owner] + (dx, dy))
        copy = gdf.drop(columns=gdf.geometry.name).copy()
        copy.index = ids[k]
        if k:
            if "name" in copy.columns:
                copy["name"] = copy["name"].astype(str) + f" #{k:03d}"
        parts.append(gpd.GeoDataFrame(copy, geometry=moved, crs=gdf.crs))
    out = pd.concat(parts)
    out.index.name = gdf.index.name
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.name, crs=gdf.crs)


def _write_network(net: network.RoadNetwork, offsets: np.ndarray, seed: int, path: Path) -> dict:
    """The network tiled: nodes (osmid, point) and one straight edge row per directed edge, in WGS 84."""
    coo = net.matrix.tocoo()
    u0, v0 = coo.row.astype(np.int64), coo.col.astype(np.int64)
    n, m = net.n_nodes, len(u0)
    to_lonlat = Transformer.from_crs(net.crs, 4326, always_xy=True)
    rng = np.random.default_rng([seed, 99])
    first = True
    for k, (dx, dy) in enumerate(offsets):  # one copy at a time: ×100 is 19 M edges
        jitter = rng.normal(0.0, 1.0, (n, 2)) * JITTER_M["Point"] if k else np.zeros((n, 2))
        lon, lat = to_lonlat.transform(net.x + dx + jitter[:, 0], net.y + dy + jitter[:, 1])
        ids = np.arange(n, dtype=np.int64) + k * n + 1
        nodes = gpd.GeoDataFrame({"osmid": ids}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
        lines = shapely.linestrings(np.stack([np.column_stack([lon[u0], lat[u0]]),
                                              np.column_stack([lon[v0], lat[v0]])], axis=1))
        edges = gpd.GeoDataFrame({"u": u0 + k * n + 1, "v": v0 + k * n + 1}, geometry=lines, crs=4326)
        pyogrio.write_dataframe(nodes, path, layer="nodes", driver="GPKG", append=not first)
        pyogrio.write_dataframe(edges, path, layer="edges", driver="GPKG", append=not first)
        first = False
    return {"nodes": n * len(offsets), "directed_edges": m * len(offsets)}


def _write_dem(src_path: Path, work_crs: str, offsets: np.ndarray, origin: tuple[float, float],
               size: tuple[float, float], bounds: tuple[float, float, float, float], seed: int, path: Path) -> dict:
    """A WGS 84 DEM over ``bounds`` at the sample's resolution; each cell the sample's value in its copy."""
    with rasterio.open(src_path) as src:
        data = src.read(1)
        st, nodata, res = src.transform, src.nodata, src.res[0]
    west, south, east, north = bounds
    width, height = math.ceil((east - west) / res), math.ceil((north - south) / res)
    transform = from_origin(west, north, res, res)
    fwd = Transformer.from_crs(4326, work_crs, always_xy=True)
    back = Transformer.from_crs(work_crs, 4326, always_xy=True)
    cols = math.ceil(math.sqrt(len(offsets)))
    step_x, step_y = size[0] + GAP_M, size[1] + GAP_M
    noise = np.random.default_rng([seed, 77])
    profile = {"driver": "GTiff", "dtype": "float32", "nodata": nodata, "width": width, "height": height, "count": 1,
               "crs": "EPSG:4326", "transform": transform, "tiled": True, "blockxsize": 256, "blockysize": 256,
               "compress": "deflate", "BIGTIFF": "IF_SAFER"}
    strip = 256
    lon_c = west + (np.arange(width) + 0.5) * res
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, height, strip):
            rows = min(strip, height - r0)
            lat_c = north - (np.arange(r0, r0 + rows) + 0.5) * res
            lon, lat = np.meshgrid(lon_c, lat_c)
            x, y = fwd.transform(lon.ravel(), lat.ravel())
            # Which copy: the nearest grid origin below and left, then whether the offset lands in the sample.
            gx = np.floor((x - origin[0] + GAP_M / 2) / step_x).astype(np.int64)
            gy = np.floor((y - origin[1] + GAP_M / 2) / step_y).astype(np.int64)
            k = gy * cols + gx
            ok = (gx >= 0) & (gx < cols) & (gy >= 0) & (k < len(offsets))
            kk = np.where(ok, k, 0)
            sx, sy = back.transform(x - offsets[kk, 0], y - offsets[kk, 1])
            col = np.floor((np.asarray(sx) - st.c) / st.a).astype(np.int64)
            row = np.floor((np.asarray(sy) - st.f) / st.e).astype(np.int64)
            ok &= (col >= 0) & (col < data.shape[1]) & (row >= 0) & (row < data.shape[0])
            out = np.full(lon.size, nodata, dtype=np.float32)
            vals = data[row[ok], col[ok]]
            jitter = noise.normal(0.0, 0.05, vals.size).astype(np.float32)  # centimetres: copies differ a little
            out[ok] = np.where(vals == nodata, nodata, vals + np.where(kk[ok] > 0, jitter, 0))
            dst.write(out.reshape(rows, width), 1, window=((r0, r0 + rows), (0, width)))
    return {"width": width, "height": height, "cells": width * height}


def scale_plan(text: str, factor: int) -> str:
    """The plan text with the thresholds that are counts or sums multiplied by ``factor``.

    Line by line, so the plan's comments and layout stay: inside a ``[[targets]]`` table whose
    ``metric`` is a count or a sum, ``threshold`` is multiplied; inside ``[[siting]]``, ``k``.
    """
    blocks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            blocks.append([])
        blocks[-1].append(line)
    out = []
    for block in blocks:
        head = block[0].strip() if block else ""
        metric = next((re.match(r'\s*metric\s*=\s*"([^"]+)"', b) for b in block
                       if re.match(r'\s*metric\s*=', b)), None)
        key = None
        if head == "[[targets]]" and metric is not None and metric[1] in SCALED_METRICS:
            key = "threshold"
        elif head == "[[siting]]":
            key = "k"
        for line in block:
            match = re.match(rf"(\s*{key}\s*=\s*)([0-9.]+)(.*)", line, re.DOTALL) if key else None
            if match:
                value = float(match[2]) * factor
                shown = f"{int(value)}" if value.is_integer() else f"{value:g}"
                out.append(f"{match[1]}{shown}{match[3].rstrip()}  # ×{factor} (bench/scale.py)\n")
            else:
                out.append(line)
    return "".join(out)


def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value).lower()


def province_grid(metric: dict[str, gpd.GeoDataFrame], net: network.RoadNetwork, factor: int,
                  seed: int) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """The offset of each copy, and the sample's lower-left corner and extent (its layers and network)."""
    bounds = np.array([g.total_bounds for g in metric.values()])
    x0, y0 = min(bounds[:, 0].min(), net.x.min()), min(bounds[:, 1].min(), net.y.min())
    x1, y1 = max(bounds[:, 2].max(), net.x.max()), max(bounds[:, 3].max(), net.y.max())
    return grid(factor, seed, x1 - x0, y1 - y0), (x0, y0), (x1 - x0, y1 - y0)


def tiled_layer(name: str, factor: int, *, seed: int = SEED) -> gpd.GeoDataFrame:
    """One layer of the ×``factor`` province as :func:`build` tiles it, in the sample's working CRS, unwritten.

    For measuring one step on a province-sized layer without building (or reading) the whole province.
    """
    ds = io.read_dataset(datasets.get_path("ningbo"))
    metric = {n: ds.metric(n) for n in ds.names}
    offsets, _, _ = province_grid(metric, network.read_dataset_network(ds, "roads"), factor, seed)
    return _tile_layer(metric[name], offsets, seed, list(ds.names).index(name) + 1)


def build(factor: int, *, seed: int = SEED, out: Path | None = None, force: bool = False) -> Path:
    """Write the ×``factor`` province (once) and return its folder."""
    folder = (out or cache_dir()) / f"province-x{factor}-seed{seed}"
    if (folder / "manifest.json").exists() and not force:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if (manifest.get("format_version") == FORMAT_VERSION
                and manifest.get("sample_sha256") == sample_fingerprint()):
            return folder
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.perf_counter()
    sample_dir = datasets.get_path("ningbo")
    ds = io.read_dataset(sample_dir)
    work = ds.crs_choice.text
    metric = {name: ds.metric(name) for name in ds.names}
    net = network.read_dataset_network(ds, "roads")
    offsets, (x0, y0), (width, height) = province_grid(metric, net, factor, seed)
    counts: dict[str, int] = {}
    lines = ["# A synthetic province made by bench/scale.py: SYNTHETIC AND ILLUSTRATIVE, not real data.\n",
             f"# The Ningbo sample tiled x{factor} (seed {seed}); see manifest.json. Never commit it.\n\n",
             "[dataset]\n", f"name = {_toml(f'synthetic-province-x{factor}')}\n",
             f"title = {_toml(f'Synthetic province: the Ningbo sample x{factor} (illustrative)')}\n",
             f"description = {_toml(DESCRIPTION)}\n",
             f"\n[crs]\nworking = {_toml(work)}\n"]
    for no, name in enumerate(ds.names):
        tiled = _tile_layer(metric[name], offsets, seed, no + 1).to_crs(4326)
        io.write_layer(tiled, tmp / f"{name}.gpkg", layer=name)
        counts[name] = len(tiled)
        meta = ds.layers[name].meta
        lines += [f"\n[layers.{name}]\n", f'file = "{name}.gpkg"\n',
                  f"source = {_toml(f'bench/scale.py --factor {factor} --seed {seed} from the Ningbo sample')}\n",
                  f"licence = {_toml(meta.licence)}\n", 'datum = "WGS84"\ncrs = "EPSG:4326"\nillustrative = true\n',
                  f"note = {_toml(f'Synthetic: {factor} jittered copies of the sample layer. {meta.note}')}\n"]
    for table in ("indicators",):
        shutil.copy(sample_dir / f"{table}.csv", tmp / f"{table}.csv")
        lines += [f"\n[tables.{table}]\n", f'file = "{table}.csv"\n',
                  'source = "copied unchanged from the Ningbo sample (not spatial, not tiled)"\n',
                  'licence = "CC0-1.0 (made up by the nbgeo authors)"\nillustrative = true\n']
    print(f"# layers written in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    net_counts = _write_network(net, offsets, seed, tmp / "roads.gpkg")
    lines += ["\n[networks.roads]\n", 'file = "roads.gpkg"\n',
              f"source = {_toml(f'bench/scale.py --factor {factor} --seed {seed} from the sample network')}\n",
              'licence = "CC0-1.0 (made up by the nbgeo authors)"\ndatum = "WGS84"\ncrs = "EPSG:4326"\n',
              'illustrative = true\nnetwork_type = "drive"\n']
    print(f"# network written in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    ext = np.array([pyogrio.read_info(tmp / f"{n}.gpkg")["total_bounds"] for n in ds.names])  # lon/lat extent
    pad = 0.01
    lon_bounds = (float(ext[:, 0].min()) - pad, float(ext[:, 1].min()) - pad,
                  float(ext[:, 2].max()) + pad, float(ext[:, 3].max()) + pad)
    dem = _write_dem(sample_dir / "dem.tif", work, offsets, (x0, y0), (width, height), lon_bounds, seed,
                     tmp / "dem.tif")
    lines += ["\n[rasters.dem]\n", 'file = "dem.tif"\n',
              f"source = {_toml(f'bench/scale.py --factor {factor} --seed {seed} from the sample DEM')}\n",
              'licence = "CC0-1.0 (made up by the nbgeo authors)"\ndatum = "WGS84"\ncrs = "EPSG:4326"\n',
              'illustrative = true\nnote = "Synthetic: the sample DEM repeated under every copy"\n']
    (tmp / "dataset.toml").write_text("".join(lines), encoding="utf-8")
    plan_text = datasets.get_path("ningbo_2025").read_text(encoding="utf-8")
    (tmp / "plan.toml").write_text(scale_plan(plan_text, factor), encoding="utf-8")
    manifest = {"synthetic": True, "illustrative": True, "format_version": FORMAT_VERSION,
                "what": "The nbgeo Ningbo sample (itself illustrative, except the district boundaries) tiled "
                        f"x{factor} for benchmarks (bench/scale.py); not real data, never to be committed",
                "sample_sha256": sample_fingerprint(), "factor": factor, "seed": seed, "grid_columns": math.ceil(math.sqrt(factor)),
                "copy_size_m": [round(width), round(height)], "gap_m": GAP_M, "shift_m": SHIFT_M,
                "working_crs": work, "features": counts, "network": net_counts, "dem": dem,
                "plan": f"the sample's 2025 plan; thresholds of {sorted(SCALED_METRICS)} targets and siting k x{factor}",
                "build_s": round(time.perf_counter() - started, 1)}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=None, help="cache folder (default: $NBGEO_BENCH_CACHE or "
                        "bench/.cache)")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    folder = build(args.factor, seed=args.seed, out=args.out, force=args.force)
    print(folder)
    print(json.dumps(json.loads((folder / "manifest.json").read_text(encoding="utf-8")), indent=2,
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
