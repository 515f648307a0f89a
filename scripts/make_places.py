"""Generate the illustrative layers of the plan's places: projects, computing centres, 前湾沪浙合作发展区.

The plan's published targets (``../shared/seed/``) name places as well as numbers:

* 力争每年有10个超百亿项目、100个超十亿制造业项目在建 — projects under construction each year;
* 打造智能超算中心, 建成一批标志性产业链数据中心 — a supercomputing centre and data centres;
* 高起点建设前湾沪浙合作发展区 — the Qianwan Shanghai–Zhejiang cooperation zone.

This script **makes up** a layer for each, placed inside the real district boundaries
with the density model of ``scripts/make_sample.py`` (whose generator it reuses, so the
points keep out of the illustrative water and ecological red line). Nothing here is a real
project, centre or boundary: nbgeo could not source the zone's extent, so its polygon is an
illustrative blob at the approximate place of 宁波前湾新区.

``projects`` has one row per project and year it is under construction (the yearly
list of projects under construction, 年度在建项目, as a city publishes it): ``project``,
``name``, ``sector`` (``manufacturing`` or ``other``), ``investment`` (total, 亿元),
``start_year``, ``end_year``, ``district`` and ``year`` (the list's year). The counts of each
year are set in :data:`UNDER_CONSTRUCTION` so that a plan check has something to find:
9 projects of 100 亿元 or more in 2023 (the plan asks 10 each year) and 98 manufacturing
projects of 10 亿元 or more in 2024 (it asks 100).

The output is deterministic for a given ``--seed``: each layer draws from its own generator,
seeded by ``(seed, layer name)``.

Usage::

    python scripts/make_places.py [--seed 2025] [--out nbgeo/datasets/ningbo]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nbgeo.crs import NINGBO_TM  # noqa: E402  # the CRS the sample was drawn in
from nbgeo.layers import INDUSTRIES  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence


def _load_make_sample() -> Any:
    """``scripts/make_sample.py`` as a module (its generator, density model and writers)."""
    if "make_sample" in sys.modules:
        return sys.modules["make_sample"]
    spec = importlib.util.spec_from_file_location("make_sample", Path(__file__).with_name("make_sample.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample"] = module  # its dataclass looks its module up while it runs
    spec.loader.exec_module(module)
    return module


make_sample = _load_make_sample()

DEFAULT_OUT = make_sample.DEFAULT_OUT
YEARS = tuple(range(2020, 2026))

#: Layers, with their file format and id prefix.
LAYER_FILES: dict[str, tuple[str, str]] = {
    "projects": ("gpkg", "PJ"),
    "computing_centres": ("geojson", "DC"),
    "qianwan_zone": ("geojson", "QW"),
}

# --------------------------------------------------------------------------
# The made-up facts, in one place
# --------------------------------------------------------------------------

#: Projects under construction in each year 2020-2025, by class: (sector, lowest and highest investment in 亿元).
#: The plan's counts are "≥ 100 亿元, any sector" (A) and "≥ 10 亿元, manufacturing" (A and B manufacturing).
UNDER_CONSTRUCTION: dict[str, tuple[str, float, float, tuple[int, ...]]] = {
    "A_manufacturing": ("manufacturing", 105, 420, (6, 8, 9, 7, 9, 10)),
    "A_other": ("other", 105, 300, (2, 2, 3, 2, 2, 2)),
    "B_manufacturing": ("manufacturing", 10.5, 95, (86, 96, 101, 109, 89, 97)),
    "B_other": ("other", 10.5, 95, (10, 12, 12, 14, 12, 10)),
    "C_small": ("manufacturing", 1.0, 9.5, (40, 45, 50, 50, 45, 40)),
}

#: The smart supercomputing centre: lon, lat (near the high-tech zone), year in service.
SUPERCOMPUTING = (121.628, 29.884, 2023)
#: Data centres of the landmark industrial chains opened each year (10 by 2025, 6 by 2023).
DATA_CENTRE_YEARS = {2021: 1, 2022: 2, 2023: 3, 2024: 2, 2025: 2}
#: The cooperation zone: centre lon, lat (宁波前湾新区, 慈溪), area in km², year set up.
QIANWAN = (121.255, 30.285, 120.0, 2021)


def _active_spans(need: Sequence[int], rng: np.random.Generator) -> list[tuple[int, int]]:
    """(start, end) years of projects such that exactly ``need[i]`` are under construction in ``YEARS[i]``.

    Projects run 2-4 years; when a year needs fewer than are still running, the ones due to end
    soonest end a year early; when it needs more, new ones start.
    """
    spans: list[list[int]] = []
    for year, n in zip(YEARS, need, strict=True):
        running = sorted((s for s in spans if s[0] < year <= s[1]), key=lambda s: s[1])
        for span in running[: max(len(running) - n, 0)]:
            span[1] = year - 1
        new = n - min(len(running), n)
        duration = rng.integers(2, 5, new)
        # The projects of the first year started up to two years before it.
        start = year - (rng.integers(0, 3, new) if year == YEARS[0] else np.zeros(new, dtype=int))
        end = np.maximum(start + duration - 1, year)
        spans.extend([int(s), int(e)] for s, e in zip(start, end, strict=True))
        spans = [s for s in spans if s[1] >= s[0]]
    # A project whose span ended before YEARS[0] is never listed.
    return [(s, e) for s, e in spans if e >= YEARS[0]]


class Places:
    """The generator of the three layers, on the sample's districts and density model."""

    def __init__(self, seed: int = 2025, districts_path: Path = make_sample.DEFAULT_DISTRICTS) -> None:
        self.seed = seed
        self.sample = make_sample.Sample(seed=seed, districts_path=districts_path)

    def projects(self) -> gpd.GeoDataFrame:
        """One row per project and year under construction."""
        rng = self.sample.rng("projects")
        frames = []
        for cls, (sector, low, high, need) in UNDER_CONSTRUCTION.items():
            spans = np.array(_active_spans(need, rng))
            n = len(spans)
            # Log-uniform investments, rounded to 0.1 亿元 and kept off the round thresholds.
            investment = np.round(np.exp(rng.uniform(np.log(low), np.log(high), n)), 1)
            frames.append(pd.DataFrame({"class": cls, "sector": sector, "investment": investment,
                                        "start_year": spans[:, 0], "end_year": spans[:, 1]}))
        projects = pd.concat(frames, ignore_index=True)
        n = len(projects)
        xs, ys = self.sample.sample_points(rng, n, background=0.1, extra=self.sample._near_clusters,
                                           extra_share=0.6, avoid=self.sample.no_points)
        projects["industry"] = np.asarray(INDUSTRIES)[rng.integers(len(INDUSTRIES), size=n)]
        projects["project"] = make_sample.make_ids("P", n)
        projects["name"] = [f"示意项目 {p} ({i})" for p, i in zip(projects["project"], projects["industry"],
                                                                 strict=True)]
        points = gpd.GeoDataFrame(projects, geometry=shapely.points(xs, ys), crs=NINGBO_TM)
        districts = self.sample.districts[["name", "geometry"]].rename(columns={"name": "district"})
        points = gpd.sjoin(points, districts, how="left", predicate="within").drop(columns="index_right")
        # One row per year on the list: the years of the span inside 2020-2025.
        first = points["start_year"].clip(lower=YEARS[0])
        last = points["end_year"].clip(upper=YEARS[-1])
        repeat = (last - first + 1).to_numpy()
        rows = points.loc[points.index.repeat(repeat)].copy()
        rows["year"] = np.repeat(first.to_numpy(), repeat) + np.concatenate([np.arange(k) for k in repeat])
        rows = rows.sort_values(["year", "project"], kind="stable").reset_index(drop=True)
        columns = ["project", "name", "sector", "industry", "investment", "start_year", "end_year", "district",
                   "year", "geometry"]
        return rows[columns]

    def computing_centres(self) -> gpd.GeoDataFrame:
        """The supercomputing centre and the data centres of the landmark industrial chains."""
        rng = self.sample.rng("computing_centres")
        n = sum(DATA_CENTRE_YEARS.values())
        xs, ys = self.sample.sample_points(rng, n, background=0.05, extra=self.sample._near_clusters,
                                           extra_share=0.7, avoid=self.sample.no_points)
        chains = rng.permutation(np.asarray(INDUSTRIES))[:n]
        years = np.concatenate([np.full(k, y) for y, k in DATA_CENTRE_YEARS.items()])
        sx, sy = make_sample.to_metric(SUPERCOMPUTING[0], SUPERCOMPUTING[1])
        return gpd.GeoDataFrame({
            "name": ["示意 智能超算中心", *(f"示意 {c}产业链数据中心" for c in chains)],
            "kind": ["supercomputing", *(["data_centre"] * n)],
            "chain": ["", *chains],
            "year": np.concatenate([[SUPERCOMPUTING[2]], years]).astype(int),
        }, geometry=shapely.points(np.r_[sx, xs], np.r_[sy, ys]), crs=NINGBO_TM)

    def qianwan_zone(self) -> gpd.GeoDataFrame:
        """An illustrative polygon of the cooperation zone, on land at the approximate place of 前湾新区."""
        rng = self.sample.rng("qianwan_zone")
        lon, lat, km2, year = QIANWAN
        x, y = make_sample.to_metric(lon, lat)
        shape = make_sample.blob(x, y, km2 * 1e6, rng, aspect=1.8, angle=rng.uniform(-10, 10))
        geom = make_sample.largest_polygon(shape.intersection(self.sample.land))
        return gpd.GeoDataFrame({"name": ["前湾沪浙合作发展区 (示意范围)"], "year": [year]}, geometry=[geom],
                                crs=NINGBO_TM)

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """One layer in WGS 84, with ids, rounded to 6 decimals."""
        gdf = getattr(self, name)().to_crs("EPSG:4326")
        gdf = gdf.set_geometry(shapely.set_precision(gdf.geometry.values, 10.0**-make_sample.DECIMALS))
        prefix = LAYER_FILES[name][1]
        gdf.insert(0, "id", make_sample.make_ids(prefix, len(gdf)))
        return gdf.reset_index(drop=True)


def write_layer(gdf: gpd.GeoDataFrame, out: Path, name: str) -> Path:
    """Write one layer as GeoJSON or a one-layer GeoPackage without spatial index."""
    ext = LAYER_FILES[name][0]
    path = out / f"{name}.{ext}"
    path.unlink(missing_ok=True)
    if ext == "geojson":
        gdf.to_file(path, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=make_sample.DECIMALS,
                    WRITE_NAME="NO")
    else:
        gdf.to_file(path, driver="GPKG", engine="pyogrio", layer=name, SPATIAL_INDEX="NO")
    return path


def report(gdfs: dict[str, gpd.GeoDataFrame]) -> None:
    """Print the figures the dataset README quotes."""
    p = gdfs.get("projects")
    if p is not None:
        print(f"projects: {p['project'].nunique()} projects, {len(p)} project-years")
        for year, g in p.groupby("year"):
            big = int((g["investment"] >= 100).sum())
            manu = int(((g["investment"] >= 10) & (g["sector"] == "manufacturing")).sum())
            print(f"  {year}: >= 100 亿元 {big:3d}; manufacturing >= 10 亿元 {manu:4d}; listed {len(g)}")
    c = gdfs.get("computing_centres")
    if c is not None:
        print("computing centres by kind and year:", c.groupby(["kind", "year"]).size().to_dict())
    q = gdfs.get("qianwan_zone")
    if q is not None:
        print(f"qianwan zone: {float(q.to_crs(NINGBO_TM).area.iloc[0]) / 1e6:.1f} km²")


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    """Command-line entry point; returns the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    places = Places(seed=args.seed)
    gdfs = {name: places.layer(name) for name in LAYER_FILES}
    args.out.mkdir(parents=True, exist_ok=True)
    paths = {name: write_layer(gdf, args.out, name) for name, gdf in gdfs.items()}
    if not args.quiet:
        report(gdfs)
    return paths


if __name__ == "__main__":
    main()
