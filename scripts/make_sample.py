"""Generate the illustrative layers of the ``ningbo`` sample dataset.

Every layer but ``districts`` is **made up**: shapes, counts, years and
outputs are invented by this script, placed inside the real district
boundaries (``districts.geojson``, built by ``scripts/build_districts.py``).
Industrial zones sit at the approximate locations of the real development
zones they stand for; everything else is drawn at random from a density
model of Ningbo (urban centres, development zones, plains; no points in
water or on the ecological red line).

The data is tuned so that a plan check has something to find:

* one declared 千亿级 zone (宁波国家高新区) reaches only 960 亿元 in 2025,
  so the "4 zones of 100 billion" target fails (3 reach it);
* the industrial share of transferred land is about 31 % in 2023 and at
  least 35 % in every other year;
* a handful of planted siting violations, listed in :data:`PLANTED` and in
  the dataset README.

The output is deterministic for a given ``--seed``: each layer draws from its
own random generator, seeded by ``(seed, layer name)``, so generating one
layer alone (``--layers``) gives the same features as a full run.

Usage::

    python scripts/make_sample.py [--seed 2025] [--out nbgeo/datasets/ningbo] [--layers chargers ...]
"""

from __future__ import annotations

import argparse
import sys
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer
from shapely import ops

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nbgeo.crs import NINGBO_TM  # noqa: E402  # the CRS the sample was drawn in
from nbgeo.layers import INDUSTRIES  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

DEFAULT_OUT = REPO / "nbgeo" / "datasets" / "ningbo"
DEFAULT_DISTRICTS = DEFAULT_OUT / "districts.geojson"
DECIMALS = 6
_GEOD = Geod(ellps="WGS84")

#: Layers in generation order, with their file format and id prefix.
LAYER_FILES: dict[str, tuple[str, str]] = {
    "clusters": ("geojson", "CL"),
    "constraints": ("geojson", "CN"),
    "featured_parks": ("geojson", "FP"),
    "micro_parks": ("geojson", "MP"),
    "future_zones": ("geojson", "FZ"),
    "land_transfers": ("gpkg", "LT"),
    "smart_roads": ("geojson", "SR"),
    "chargers": ("gpkg", "CH"),
    "base_stations_5g": ("gpkg", "BS"),
}

# --------------------------------------------------------------------------
# The made-up facts, in one place
# --------------------------------------------------------------------------

#: Urban centres of the density model: name, lon, lat, weight, sigma (km).
CENTRES: tuple[tuple[str, float, float, float, float], ...] = (
    ("三江口", 121.550, 29.875, 1.00, 5.0),
    ("鄞州新城", 121.560, 29.820, 0.55, 3.5),
    ("望春", 121.455, 29.880, 0.20, 3.0),
    ("慈城", 121.470, 29.970, 0.12, 3.0),
    ("高新区", 121.620, 29.890, 0.30, 3.0),
    ("镇海", 121.700, 29.950, 0.30, 3.5),
    ("北仑", 121.840, 29.900, 0.45, 5.0),
    ("慈溪", 121.250, 30.170, 0.45, 5.0),
    ("前湾", 121.270, 30.290, 0.20, 5.0),
    ("余姚", 121.150, 30.040, 0.40, 4.5),
    ("奉化", 121.410, 29.660, 0.22, 3.5),
    ("宁海", 121.430, 29.290, 0.18, 3.5),
    ("象山", 121.870, 29.480, 0.16, 3.5),
)

#: Industrial zones: name, lon, lat, target area (km²), declared tier, lead industries,
#: and output in 亿元 for 2020, 2023 and 2025 (2021, 2022, 2024 are interpolated).
CLUSTERS: tuple[tuple[str, float, float, float, str, str, tuple[float, float, float]], ...] = (
    ("宁波石化经济技术开发区", 121.660, 30.010, 36, "千亿级", "绿色石化;新材料", (2150, 2900, 3250)),
    ("宁波经济技术开发区", 121.800, 29.870, 32, "千亿级", "汽车及零部件;高端装备", (1050, 1380, 1620)),
    ("宁波前湾新区(杭州湾经济技术开发区)", 121.270, 30.300, 38, "千亿级", "汽车及零部件;智能家电", (700, 930, 1180)),
    # The planted shortfall: declared 千亿级 but 960 亿元 in 2025.
    ("宁波国家高新区", 121.620, 29.890, 18, "千亿级", "新一代电子信息制造;软件和信息服务", (620, 820, 960)),
    ("余姚经济开发区", 121.170, 30.040, 14, "五百亿级", "智能家电;关键基础件", (380, 480, 560)),
    ("慈溪高新技术产业开发区", 121.300, 30.200, 16, "五百亿级", "智能家电;关键基础件", (420, 530, 610)),
    ("宁波保税区", 121.870, 29.935, 9, "五百亿级", "新一代电子信息制造;文体用品", (430, 560, 640)),
    ("鄞州经济开发区", 121.575, 29.780, 12, "五百亿级", "时尚纺织服装;关键基础件", (350, 460, 540)),
    ("奉化经济开发区", 121.430, 29.650, 11, "五百亿级", "关键基础件;高端装备", (310, 420, 515)),
    ("宁海经济开发区", 121.450, 29.320, 12, "五百亿级", "文体用品;高端装备", (330, 440, 525)),
    ("象山经济开发区", 121.870, 29.480, 10, "五百亿级", "时尚纺织服装;高端装备", (320, 430, 510)),
    ("大榭开发区", 121.960, 29.930, 10, "五百亿级", "绿色石化;新材料", (600, 760, 880)),
    ("望春工业园区", 121.470, 29.880, 12, "五百亿级", "时尚纺织服装;智能家电", (400, 520, 600)),
    ("江北高新技术产业园区", 121.550, 29.960, 10, "五百亿级", "高端装备;新材料", (390, 505, 580)),
)

#: Ecological red line over the hills: name, lon, lat, area (km²).
RED_LINES = (
    ("四明山生态保护红线", 121.150, 29.760, 260),
    ("天童—太白山生态保护红线", 121.790, 29.790, 45),
    ("奉化西部山区生态保护红线", 121.250, 29.600, 120),
    ("宁海南部山区生态保护红线", 121.300, 29.220, 220),
    ("象山南部山区生态保护红线", 121.800, 29.360, 60),
)

#: Water: name, lon, lat, area (km²), aspect ratio, orientation (degrees).
WATERS = (
    ("东钱湖", 121.640, 29.770, 20.0, 1.5, 70),
    ("横山水库", 121.280, 29.550, 3.0, 2.5, 30),
    ("皎口水库", 121.300, 29.770, 2.5, 3.0, 120),
    ("四明湖", 121.130, 29.950, 5.0, 1.8, 20),
    ("亭下水库", 121.270, 29.660, 3.0, 2.5, 60),
)

#: Plains where basic farmland lies: lon, lat, sigma (km), number of patches.
PLAINS = (
    (121.300, 30.110, 7.0, 7),  # 三北平原 (Cixi/Yuyao)
    (121.300, 29.990, 5.0, 4),  # 姚江平原
    (121.420, 29.830, 4.0, 4),  # 鄞西平原 (Haishu)
    (121.510, 29.730, 4.0, 4),  # 鄞南平原
    (121.460, 29.700, 3.0, 3),  # 奉化平原
    (121.470, 29.360, 3.0, 2),  # 宁海平原
    (121.830, 29.510, 3.0, 2),  # 象山丹城
)

#: Future-industry pilot zones: name, theme, lon, lat, area (km²), year.
FUTURE_ZONES = (
    ("甬江科创区人工智能先导区", "人工智能", 121.600, 29.935, 6.0, 2021),
    ("梅山深海空天信息先导区", "深海空天信息", 121.960, 29.790, 5.0, 2022),
    ("前湾氢能与储能先导区", "氢能与储能", 121.390, 30.250, 7.0, 2022),
    ("南部商务区区块链先导区", "区块链", 121.530, 29.825, 3.0, 2023),
    ("余姚基因技术先导区", "基因技术", 121.100, 30.020, 4.0, 2024),
    ("奉化第三代半导体先导区", "第三代半导体", 121.500, 29.665, 4.0, 2025),
)

#: Smart-road corridors: name and waypoints (lon, lat), in order of priority.
CORRIDORS = (
    ("三江口—高新区—北仑", ((121.50, 29.870), (121.62, 29.880), (121.72, 29.875), (121.80, 29.870), (121.87, 29.925))),
    ("三江口—江北—镇海", ((121.55, 29.885), (121.555, 29.955), (121.62, 29.990), (121.66, 30.005))),
    ("鄞州—奉化", ((121.55, 29.860), (121.57, 29.800), (121.52, 29.720), (121.43, 29.660))),
    ("望春—余姚", ((121.47, 29.880), (121.35, 29.930), (121.25, 29.990), (121.17, 30.040))),
    ("余姚—慈溪—前湾", ((121.17, 30.040), (121.24, 30.120), (121.30, 30.200), (121.27, 30.290))),
    ("慈溪—江北", ((121.30, 30.200), (121.42, 30.100), (121.50, 30.020), (121.55, 29.960))),
    ("奉化—宁海", ((121.43, 29.650), (121.45, 29.500), (121.45, 29.320))),
    ("宁海—象山", ((121.45, 29.320), (121.60, 29.400), (121.75, 29.450), (121.87, 29.480))),
)

#: Yearly counts of things that are built: {year: count}.
FEATURED_PARK_YEARS = {2019: 6, 2020: 8, 2021: 9, 2022: 10, 2023: 9, 2024: 5, 2025: 3}
MICRO_PARK_YEARS = {2019: 6, 2020: 6, 2021: 40, 2022: 45, 2023: 46, 2024: 44, 2025: 40}
MICRO_PARKS_PLANNED = 15  # status "planned", year 2026
CHARGER_YEARS = {2018: 600, 2019: 700, 2020: 1000, 2021: 1300, 2022: 1700, 2023: 2000, 2024: 1900, 2025: 1400}
BASE_STATION_YEARS = {2019: 1500, 2020: 6500, 2021: 8000, 2022: 9000, 2023: 7500, 2024: 5000, 2025: 4000}
LAND_YEARS = {2021: 620, 2022: 640, 2023: 560, 2024: 600, 2025: 580}
#: Industrial share of transferred land by area; 2023 is the planted failure (< 35 %).
INDUSTRIAL_SHARE = {2021: 0.385, 2022: 0.40, 2023: 0.31, 2024: 0.375, 2025: 0.39}
#: Cumulative smart-road km at the end of each year (~150 km by 2023, ~215 km by 2025).
ROAD_KM = {2021: 40, 2022: 95, 2023: 150, 2024: 185, 2025: 215}

#: Micro-parks per district (by adcode): denser in the plains and the urban districts.
MICRO_PARK_QUOTA = {
    "330203": 30, "330205": 20, "330206": 28, "330211": 22, "330212": 36,
    "330213": 20, "330225": 14, "330226": 16, "330281": 28, "330282": 28,
}

#: The planted violations, filled in as they are generated (layer -> list of (id, what)).
PLANTED: dict[str, list[tuple[str, str]]] = {}


# --------------------------------------------------------------------------
# Geometry helpers (all in the metric working CRS)
# --------------------------------------------------------------------------

_TO_METRIC = Transformer.from_crs("EPSG:4326", NINGBO_TM, always_xy=True)


def to_metric(lon: float, lat: float) -> tuple[float, float]:
    """Project one lon/lat point to the working CRS."""
    x, y = _TO_METRIC.transform(lon, lat)
    return float(x), float(y)


def blob(x: float, y: float, area: float, rng: np.random.Generator, *, roughness: float = 0.18,
         aspect: float = 1.0, angle: float = 0.0, n: int = 48) -> shapely.Polygon:
    """An irregular roundish polygon of exactly ``area`` m² centred on ``(x, y)``."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    radius = np.ones(n)
    # A few low harmonics make the outline lumpy without self-intersections.
    for k in (2, 3, 4, 5):
        radius += roughness / k * rng.uniform(0.5, 1.0) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    px, py = radius * np.cos(theta) * np.sqrt(aspect), radius * np.sin(theta) / np.sqrt(aspect)
    a = np.deg2rad(angle)
    rx, ry = px * np.cos(a) - py * np.sin(a), px * np.sin(a) + py * np.cos(a)
    poly = shapely.Polygon(np.column_stack([rx, ry]))
    scale = np.sqrt(area / poly.area)
    return shapely.affinity.affine_transform(poly, [scale, 0, 0, scale, x, y])


def rectangles(x: np.ndarray, y: np.ndarray, area: np.ndarray, aspect: np.ndarray,
               angle: np.ndarray) -> np.ndarray:
    """Vectorised rotated rectangles of the given areas (m²), centred on ``x, y``."""
    w = np.sqrt(area * aspect) / 2
    h = np.sqrt(area / aspect) / 2
    corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], dtype=float)
    cx = corners[None, :, 0] * w[:, None]
    cy = corners[None, :, 1] * h[:, None]
    a = np.deg2rad(angle)[:, None]
    rx = x[:, None] + cx * np.cos(a) - cy * np.sin(a)
    ry = y[:, None] + cx * np.sin(a) + cy * np.cos(a)
    return shapely.polygons(np.stack([rx, ry], axis=-1))


def largest_polygon(geom: shapely.Geometry) -> shapely.Geometry:
    """The largest polygon part of a geometry (or an empty polygon)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else shapely.Polygon()


def greedy_disjoint(geoms: np.ndarray, gap: float = 0.0) -> np.ndarray:
    """Indices of a subset of ``geoms`` with no two closer than ``gap`` (first come, first kept)."""
    tree = shapely.STRtree(geoms)
    if gap > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=gap)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    mask = left < right
    neighbours: dict[int, list[int]] = {}
    for i, j in zip(left[mask].tolist(), right[mask].tolist(), strict=True):
        neighbours.setdefault(i, []).append(j)
    keep = np.ones(len(geoms), dtype=bool)
    for i in range(len(geoms)):
        if keep[i]:
            for j in neighbours.get(i, ()):
                keep[j] = False
    return np.flatnonzero(keep)


def allocate(counts: dict[int, int], rng: np.random.Generator) -> np.ndarray:
    """Shuffled array of years with the given counts."""
    years = np.concatenate([np.full(n, year) for year, n in counts.items()])
    return rng.permutation(years)


def make_ids(prefix: str, n: int) -> list[str]:
    """Unique ids ``PREFIX00001``... (at least five digits)."""
    width = max(5, len(str(n)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


# --------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------


@dataclass
class Sample:
    """Generates the sample layers; each layer is computed once, on demand.

    Parameters
    ----------
    seed
        Seed of every random draw.
    districts_path
        The converted district boundaries (WGS 84).
    """

    seed: int = 2025
    districts_path: Path = DEFAULT_DISTRICTS
    planted: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def rng(self, name: str) -> np.random.Generator:
        """The random generator of one layer, seeded by ``(seed, name)``."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    # ---- base geography -------------------------------------------------

    @cached_property
    def districts(self) -> gpd.GeoDataFrame:
        """The districts in the working CRS."""
        if not self.districts_path.exists():
            msg = f"{self.districts_path} not found; run scripts/build_districts.py first"
            raise SystemExit(msg)
        return gpd.read_file(self.districts_path).to_crs(NINGBO_TM)

    @cached_property
    def land(self) -> shapely.Geometry:
        """Union of the districts, shrunk by 2 m so that rounding never pushes a shape out."""
        geom = shapely.union_all(self.districts.geometry.values).buffer(-2.0)
        shapely.prepare(geom)
        return geom

    @cached_property
    def centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Urban centres as arrays x, y, weight, sigma (m)."""
        xy = np.array([to_metric(lon, lat) for _, lon, lat, _, _ in CENTRES])
        w = np.array([c[3] for c in CENTRES])
        s = np.array([c[4] for c in CENTRES]) * 1000
        return xy[:, 0], xy[:, 1], w / w.sum(), s

    def sample_points(self, rng: np.random.Generator, n: int, *, background: float = 0.15,
                      extra: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]] | None = None,
                      extra_share: float = 0.0, avoid: shapely.Geometry | None = None,
                      within: shapely.Geometry | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` points from the density model, on land and outside ``avoid``.

        The model is a mixture: Gaussian kernels around the urban centres, a
        uniform background over the land (``background``), and optionally an
        ``extra`` sampler (near zones or roads) with share ``extra_share``.
        """
        cx, cy, w, s = self.centres
        within = self.land if within is None else within
        xmin, ymin, xmax, ymax = within.bounds
        xs, ys = [], []
        have = 0
        while have < n:
            m = max(4 * (n - have), 1000)
            u = rng.random(m)
            k = rng.choice(len(w), size=m, p=w)
            x = cx[k] + rng.normal(0, 1, m) * s[k]
            y = cy[k] + rng.normal(0, 1, m) * s[k]
            bg = u < background
            x[bg] = rng.uniform(xmin, xmax, bg.sum())
            y[bg] = rng.uniform(ymin, ymax, bg.sum())
            if extra is not None:
                ex = (u >= background) & (u < background + extra_share)
                x[ex], y[ex] = extra(rng, int(ex.sum()))
            ok = shapely.contains_xy(within, x, y)
            if avoid is not None:
                ok &= ~shapely.contains_xy(avoid, x, y)
            xs.append(x[ok])
            ys.append(y[ok])
            have += int(ok.sum())
        return np.concatenate(xs)[:n], np.concatenate(ys)[:n]

    # ---- clusters -------------------------------------------------------

    @cached_property
    def clusters(self) -> gpd.GeoDataFrame:
        """Industrial zones at the approximate places of the real ones."""
        rng = self.rng("clusters")
        placed: list[shapely.Geometry] = []
        rows = []
        for name, lon, lat, area_km2, tier, leads, (o20, o23, o25) in CLUSTERS:
            x, y = to_metric(lon, lat)
            target = area_km2 * 1e6
            shape = blob(x, y, target, rng, aspect=rng.uniform(1.0, 1.8), angle=rng.uniform(0, 180))
            taken = shapely.union_all(placed) if placed else shapely.Polygon()
            # Grow the shape until its part on land, clear of earlier zones, has the target area.
            for _ in range(6):
                geom = largest_polygon(shape.intersection(self.land).difference(taken.buffer(200)))
                if geom.area >= 0.97 * target:
                    break
                shape = shapely.affinity.scale(shape, 1.12, 1.12, origin=(x, y))
            placed.append(geom)
            # Smooth growth: geometric between the anchor years, with a little noise.
            g1 = (o23 / o20) ** (1 / 3)
            g2 = (o25 / o23) ** (1 / 2)
            outputs = {
                2020: o20, 2021: o20 * g1 * rng.uniform(0.99, 1.01), 2022: o20 * g1**2 * rng.uniform(0.99, 1.01),
                2023: o23, 2024: o23 * g2 * rng.uniform(0.99, 1.01), 2025: o25,
            }
            row = {"name": name, "tier": tier, "lead_industries": leads}
            row |= {f"output_{year}": round(float(v), 1) for year, v in outputs.items()}
            rows.append(row | {"geometry": geom})
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=NINGBO_TM)

    @cached_property
    def cluster_union(self) -> shapely.Geometry:
        """Union of the zones (prepared)."""
        geom = shapely.union_all(self.clusters.geometry.values)
        shapely.prepare(geom)
        return geom

    # ---- constraints ----------------------------------------------------

    @cached_property
    def constraints(self) -> gpd.GeoDataFrame:
        """Red line, water, farmland and sensitive uses; includes the planted residential area."""
        rng = self.rng("constraints")
        rows: list[dict] = []
        keep_clear = self.cluster_union.buffer(1000)

        for name, lon, lat, area_km2 in RED_LINES:
            x, y = to_metric(lon, lat)
            shape = blob(x, y, area_km2 * 1e6, rng, roughness=0.3, aspect=rng.uniform(1, 1.6),
                         angle=rng.uniform(0, 180), n=72)
            geom = shape.intersection(self.land).difference(keep_clear)
            rows.append({"name": f"{name}(示意)", "kind": "ecological_red_line", "geometry": geom})

        for name, lon, lat, area_km2, aspect, angle in WATERS:
            x, y = to_metric(lon, lat)
            shape = blob(x, y, area_km2 * 1e6, rng, roughness=0.25, aspect=aspect, angle=angle)
            geom = shape.intersection(self.land).difference(self.cluster_union.buffer(100))
            rows.append({"name": f"{name}(示意)", "kind": "water", "geometry": geom})

        red_and_water = shapely.union_all([r["geometry"] for r in rows])
        # Basic farmland: patches in the plains, clear of zones, towns, water and the red line.
        cx, cy, _, _ = self.centres
        busy = shapely.union_all([keep_clear, red_and_water.buffer(300),
                                  *shapely.buffer(shapely.points(cx, cy), 3500)])
        k = 0
        for lon, lat, sigma, count in PLAINS:
            px, py = to_metric(lon, lat)
            got = 0
            for _ in range(200):
                if got == count:
                    break
                x, y = px + rng.normal(0, sigma * 1000), py + rng.normal(0, sigma * 1000)
                shape = blob(x, y, rng.uniform(1.0, 5.0) * 1e6, rng, roughness=0.3,
                             aspect=rng.uniform(1, 2.5), angle=rng.uniform(0, 180))
                if not self.land.contains(shape) or shape.intersects(busy):
                    continue
                k += 1
                got += 1
                rows.append({"name": f"基本农田保护区 {k:02d}(示意)", "kind": "basic_farmland", "geometry": shape})
                busy = busy.union(shape.buffer(500))

        # Urban residential areas, schools, hospitals and heritage sites in the core.
        urban = [("residential", "居住区", 12, (0.4e6, 1.5e6)), ("school", "学校", 10, (3e4, 8e4)),
                 ("hospital", "医院", 6, (3e4, 8e4)), ("other_sensitive", "文物保护单位", 2, (2e4, 5e4))]
        core = [c for c in CENTRES if c[0] in ("三江口", "鄞州新城", "慈城", "望春")]
        petro = self.clusters.geometry.iloc[0]
        for kind, label, count, (amin, amax) in urban:
            got = 0
            while got < count:
                _, lon, lat, _, sigma = core[rng.integers(len(core))]
                cx0, cy0 = to_metric(lon, lat)
                x, y = cx0 + rng.normal(0, sigma * 600), cy0 + rng.normal(0, sigma * 600)
                area = rng.uniform(amin, amax)
                if kind == "residential":
                    shape = blob(x, y, area, rng, roughness=0.2, aspect=rng.uniform(1, 2), angle=rng.uniform(0, 180))
                else:
                    shape = rectangles(np.array([x]), np.array([y]), np.array([area]),
                                       np.array([rng.uniform(1, 2)]), np.array([rng.uniform(0, 90)]))[0]
                if (not self.land.contains(shape) or shape.intersects(busy) or shape.intersects(keep_clear)
                        or shape.distance(petro) < 800):
                    continue
                got += 1
                rows.append({"name": f"{label} {got:02d}(示意)", "kind": kind, "geometry": shape})
                busy = busy.union(shape.buffer(150))

        # Planted: a residential area about 400 m from the petrochemical zone (镇海).
        town = shapely.Point(*to_metric(121.700, 29.950))
        edge = ops.nearest_points(petro, town)[0]
        ux, uy = town.x - edge.x, town.y - edge.y
        norm = np.hypot(ux, uy)
        ux, uy = ux / norm, uy / norm
        shape = blob(0, 0, 0.6e6, rng, roughness=0.1)
        for step in np.arange(300, 3000, 50):
            cand = shapely.affinity.translate(shape, edge.x + ux * (step + 450), edge.y + uy * (step + 450))
            if cand.distance(self.cluster_union) >= 300 and self.land.contains(cand):
                break
        rows.append({"name": "石化区周边居住区(示意)", "kind": "residential", "geometry": cand})
        self.planted.setdefault("constraints", []).append(
            (len(rows) - 1, f"residential area {cand.distance(petro):.0f} m from 宁波石化经济技术开发区"))

        # The urban development boundary (城镇开发边界, one of the three control lines): the towns and the
        # zones with a margin, clear of the red line, water and farmland (the lines do not overlap). Drawn
        # last, so that the features above keep their ids; parcels and parks do not avoid it (see no_go).
        protected = shapely.union_all([r["geometry"] for r in rows
                                       if r["kind"] in ("ecological_red_line", "water", "basic_farmland")])
        towns = [shapely.Point(*to_metric(lon, lat)).buffer(sigma * 1200) for _, lon, lat, _, sigma in CENTRES]
        boundary = shapely.union_all([*towns, self.cluster_union.buffer(1500)])
        boundary = shapely.make_valid(boundary.intersection(self.land).difference(protected))
        parts = sorted((g for g in shapely.get_parts(boundary) if g.geom_type == "Polygon" and g.area >= 1e6),
                       key=lambda g: (-round(g.area), g.centroid.x))
        for k, part in enumerate(parts, 1):
            rows.append({"name": f"城镇开发边界 {k:02d}(示意)", "kind": "urban_development_boundary", "geometry": part})

        gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=NINGBO_TM)
        gdf["geometry"] = [largest_polygon(g) if g.geom_type == "GeometryCollection" else g
                           for g in shapely.make_valid(gdf.geometry.values)]
        return gdf

    def constraint_union(self, *kinds: str) -> shapely.Geometry:
        """Union of the constraint polygons of the given kinds (prepared)."""
        c = self.constraints
        geom = shapely.union_all(c.geometry[c["kind"].isin(kinds)].values)
        shapely.prepare(geom)
        return geom

    @cached_property
    def no_go(self) -> shapely.Geometry:
        """Everything parcels and parks must avoid: every constraint polygon but the urban development boundary."""
        kinds = self.constraints["kind"].unique()
        return self.constraint_union(*(k for k in kinds if k != "urban_development_boundary"))

    @cached_property
    def no_points(self) -> shapely.Geometry:
        """Where no charger or base station stands: water and the red line."""
        return self.constraint_union("water", "ecological_red_line")

    # ---- parks and zones ------------------------------------------------

    @cached_property
    def featured_parks(self) -> gpd.GeoDataFrame:
        """50 featured parks, 40 inside the zones and 10 near them; all 12 industries."""
        rng = self.rng("featured_parks")
        clusters = self.clusters
        area = clusters.area.to_numpy()
        # Two parks per zone, the other 12 by zone area.
        quota = np.full(len(clusters), 2) + np.bincount(
            rng.choice(len(clusters), 12, p=area / area.sum()), minlength=len(clusters))
        outside_industries = ["生物医药", "生物医药", "生物医药", "节能环保", "节能环保", "软件和信息服务",
                              "新材料", "智能家电", "新一代电子信息制造", "高端装备"]
        rows: list[dict] = []
        taken: list[shapely.Geometry] = []

        def fits(shape: shapely.Geometry) -> bool:
            return not shape.intersects(self.no_go) and not any(shape.distance(t) < 150 for t in taken)

        for i, zone in enumerate(clusters.itertuples()):
            leads = zone.lead_industries.split(";")
            inner = zone.geometry.buffer(-300)
            xmin, ymin, xmax, ymax = inner.bounds
            got, tries = 0, 0
            while got < quota[i] and tries < 400:
                tries += 1
                x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
                if not inner.contains(shapely.Point(x, y)):
                    continue
                shape = blob(x, y, rng.uniform(0.6, 2.5) * 1e6, rng, roughness=0.15,
                             aspect=rng.uniform(1, 2), angle=rng.uniform(0, 180), n=24)
                shape = largest_polygon(shape.intersection(zone.geometry))
                if not 0.5e6 <= shape.area <= 3e6 or not fits(shape):
                    continue
                industry = leads[rng.integers(len(leads))] if rng.random() < 0.8 else INDUSTRIES[rng.integers(12)]
                rows.append({"name": f"{zone.name}{industry}特色产业园", "industry": industry, "geometry": shape})
                taken.append(shape)
                got += 1
        # Ten parks near (within 6 km of) a zone, on land and off the constraints.
        near = self.cluster_union.buffer(6000).difference(self.cluster_union.buffer(300))
        xs, ys = self.sample_points(rng, 2000, background=0.0, within=near.intersection(self.land))
        j = 0
        for x, y in zip(xs, ys, strict=True):
            if j == len(outside_industries):
                break
            shape = blob(x, y, rng.uniform(0.6, 2.5) * 1e6, rng, roughness=0.15, aspect=rng.uniform(1, 2),
                         angle=rng.uniform(0, 180), n=24)
            if not self.land.contains(shape) or shape.intersects(self.cluster_union) or not fits(shape):
                continue
            industry = outside_industries[j]
            district = self.district_of(shape)
            rows.append({"name": f"{district}{industry}特色产业园", "industry": industry, "geometry": shape})
            taken.append(shape)
            j += 1
        gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=NINGBO_TM)
        # Names must be unique: number repeats.
        gdf["name"] = _number_duplicates(gdf["name"])
        gdf["year"] = allocate(FEATURED_PARK_YEARS, rng)[: len(gdf)]
        missing = set(INDUSTRIES) - set(gdf["industry"])
        if missing:
            msg = f"featured parks miss industries {missing}; change the seed or the quotas"
            raise RuntimeError(msg)
        return gdf

    def district_of(self, geom: shapely.Geometry) -> str:
        """The Chinese name of the district holding a geometry's representative point."""
        point = geom.representative_point()
        hit = self.districts[self.districts.contains(point)]
        return str(hit["name"].iloc[0]) if len(hit) else ""

    @cached_property
    def micro_parks(self) -> gpd.GeoDataFrame:
        """About 240 micro-enterprise parks over all ten districts, two planted on constraints."""
        rng = self.rng("micro_parks")
        n_total = sum(MICRO_PARK_QUOTA.values())
        # Candidate footprints: rectangles of 2-15 ha from the density model.
        xs, ys = self.sample_points(rng, 60_000, background=0.25)
        area = np.exp(rng.normal(np.log(5e4), 0.5, len(xs))).clip(2.2e4, 14.5e4)
        shapes = rectangles(xs, ys, area, rng.uniform(1, 2.2, len(xs)), rng.uniform(0, 90, len(xs)))

        planted = self._planted_on_constraints(rng, ("ecological_red_line", "basic_farmland"), (6e4, 8e4))
        ok = shapely.contains(self.land, shapes) & ~shapely.intersects(self.no_go, shapes)
        district_ids = np.full(len(xs), "", dtype=object)
        for d in self.districts.itertuples():
            district_ids[shapely.contains_xy(d.geometry, xs, ys)] = d.id
        chosen = []
        for adcode, quota in MICRO_PARK_QUOTA.items():
            idx = np.flatnonzero(ok & (district_ids == adcode))
            chosen.append(idx[: quota * 3])
        order = np.concatenate(chosen)
        pool = np.concatenate([planted, shapes[order]])
        kept = greedy_disjoint(pool, gap=100)
        pool_district = np.concatenate([[self.district_id(g) for g in planted], district_ids[order]])
        # Take each district's quota (planted parks count towards theirs).
        picked, counts = [], dict.fromkeys(MICRO_PARK_QUOTA, 0)
        for i in kept:
            d = pool_district[i]
            if counts.get(d, 10**9) < MICRO_PARK_QUOTA.get(d, 0):
                picked.append(i)
                counts[d] += 1
        if len(picked) != n_total:
            msg = f"placed {len(picked)} micro-parks, wanted {n_total}: {counts}"
            raise RuntimeError(msg)
        geoms = pool[picked]
        n_planted = len(planted)
        years = allocate(MICRO_PARK_YEARS, rng)
        status = np.where(rng.random(len(years)) < 0.35, "upgraded", "built")
        status[years < 2021] = "built"
        years = np.concatenate([years, np.full(MICRO_PARKS_PLANNED, 2026)])
        status = np.concatenate([status, np.full(MICRO_PARKS_PLANNED, "planned")])
        perm = rng.permutation(n_total - n_planted) + n_planted
        order = np.concatenate([np.arange(n_planted), perm])  # planted parks are built ones
        footprint = shapely.area(geoms)
        floor = np.round(footprint * rng.uniform(1.2, 2.8, n_total), -1)
        names = [f"{self.district_of(g)}小微企业园 {k:03d}(示意)" for k, g in enumerate(geoms, 1)]
        gdf = gpd.GeoDataFrame({
            "name": names,
            "status": status[np.argsort(order)],
            "year": years[np.argsort(order)].astype(int),
            "area": floor,
            "enterprises": np.maximum(5, np.round(floor / rng.uniform(600, 1600, n_total))).astype(int),
        }, geometry=geoms, crs=NINGBO_TM)
        for i in range(n_planted):
            kind = "ecological red line" if i == 0 else "basic farmland"
            self.planted.setdefault("micro_parks", []).append((i, f"overlaps the {kind}"))
        return gdf

    def district_id(self, geom: shapely.Geometry) -> str:
        """The adcode of the district holding a geometry's representative point."""
        point = geom.representative_point()
        hit = self.districts[self.districts.contains(point)]
        return str(hit["id"].iloc[0]) if len(hit) else ""

    def _planted_on_constraints(self, rng: np.random.Generator, kinds: Sequence[str],
                                area: tuple[float, float]) -> np.ndarray:
        """One rectangle per kind, straddling the edge of the first polygon of that kind
        at the point nearest the city centre, on land and clear of water."""
        c = self.constraints
        centre = shapely.Point(*to_metric(121.55, 29.875))
        water = self.constraint_union("water")
        out = []
        for kind in kinds:
            polys = c.geometry[c["kind"] == kind].to_numpy()
            # The polygon of this kind nearest the centre (a different one per layer via rng).
            near = np.argsort(shapely.distance(polys, centre))[: 3]
            poly = polys[near[rng.integers(len(near))]]
            edge = ops.nearest_points(poly.boundary, centre)[0]
            for shift in np.arange(0, 5000, 100):
                # Slide along the boundary until the rectangle is on land and off the water.
                p = poly.boundary.interpolate(poly.boundary.project(edge) + shift)
                shape = rectangles(np.array([p.x]), np.array([p.y]), np.array([rng.uniform(*area)]),
                                   np.array([1.5]), np.array([rng.uniform(0, 90)]))[0]
                if self.land.contains(shape) and not shape.intersects(water) and shape.difference(poly).area > 0:
                    break
            out.append(shape)
        return np.array(out, dtype=object)

    @cached_property
    def future_zones(self) -> gpd.GeoDataFrame:
        """Six future-industry pilot zones, one per theme."""
        rng = self.rng("future_zones")
        rows = []
        avoid = shapely.union_all([self.cluster_union.buffer(200), self.no_go.buffer(50)])
        for name, theme, lon, lat, area_km2, year in FUTURE_ZONES:
            x, y = to_metric(lon, lat)
            shape = blob(x, y, area_km2 * 1e6, rng, roughness=0.2, aspect=rng.uniform(1, 1.8),
                         angle=rng.uniform(0, 180))
            for _ in range(6):
                geom = largest_polygon(shape.intersection(self.land).difference(avoid))
                if geom.area >= 0.95 * area_km2 * 1e6:
                    break
                shape = shapely.affinity.scale(shape, 1.1, 1.1, origin=(x, y))
            rows.append({"name": name, "theme": theme, "year": year, "geometry": geom})
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=NINGBO_TM)

    # ---- land transfers -------------------------------------------------

    @cached_property
    def land_transfers(self) -> gpd.GeoDataFrame:
        """About 3,000 parcels, 2021-2025; industrial share 31 % in 2023, >= 35 % otherwise."""
        rng = self.rng("land_transfers")
        n_total = sum(LAND_YEARS.values())
        xs, ys = self.sample_points(rng, int(n_total * 2.2), background=0.1,
                                    extra=self._near_clusters, extra_share=0.3)
        area = np.exp(rng.normal(np.log(2.6e4), 0.75, len(xs))).clip(0.55e4, 19.5e4)
        base_angle = rng.choice([0.0, 90.0, 35.0, 125.0], len(xs))
        shapes = rectangles(xs, ys, area, rng.uniform(1, 2.5, len(xs)), base_angle + rng.normal(0, 8, len(xs)))
        ok = shapely.contains(self.land, shapes) & ~shapely.intersects(self.no_go, shapes)
        planted = self._planted_on_constraints(rng, ("ecological_red_line", "basic_farmland"), (3e4, 5e4))
        pool = np.concatenate([planted, shapes[ok]])
        kept = greedy_disjoint(pool, gap=5)[:n_total]
        if len(kept) < n_total:
            msg = f"only {len(kept)} parcels fit, wanted {n_total}"
            raise RuntimeError(msg)
        geoms = pool[kept]
        n_planted = len(planted)
        years = np.concatenate([[2022, 2024], rng.permutation(np.concatenate(
            [np.full(n, y) for y, n in LAND_YEARS.items()]))[: n_total - n_planted]])
        measured = shapely.area(geoms)
        # Industrial use goes to the parcels nearest a zone (with noise) until the year's share is met.
        dist = shapely.distance(geoms, self.cluster_union) * rng.uniform(0.5, 1.5, n_total)
        dist += rng.uniform(0, 1500, n_total)
        use = np.full(n_total, "", dtype=object)
        for year, share in INDUSTRIAL_SHARE.items():
            idx = np.flatnonzero(years == year)
            target = share * measured[idx].sum()
            total = 0.0
            for i in idx[np.argsort(dist[idx])]:
                if total + measured[i] <= target:
                    use[i] = "industrial"
                    total += measured[i]
        rest = use == ""
        use[rest] = rng.choice(["commercial", "residential", "public", "logistics", "other"], rest.sum(),
                               p=[0.22, 0.45, 0.12, 0.15, 0.06])
        # The two planted parcels are industrial land on protected ground.
        use[:n_planted] = "industrial"
        declared = np.round(measured / 1e4 * rng.uniform(0.985, 1.015, n_total), 2)
        for i, kind in enumerate(("ecological red line", "basic farmland")):
            self.planted.setdefault("land_transfers", []).append((i, f"overlaps the {kind}"))
        return gpd.GeoDataFrame({"use": use.astype(str), "year": years.astype(int), "area": declared},
                                geometry=geoms, crs=NINGBO_TM)

    def _near_clusters(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Points uniform in the zones grown by 1.5 km."""
        grown = self.cluster_union.buffer(1500)
        shapely.prepare(grown)
        xmin, ymin, xmax, ymax = grown.bounds
        xs, ys = [], []
        have = 0
        while have < n:
            x = rng.uniform(xmin, xmax, 4 * n + 100)
            y = rng.uniform(ymin, ymax, 4 * n + 100)
            ok = shapely.contains_xy(grown, x, y)
            xs.append(x[ok])
            ys.append(y[ok])
            have += int(ok.sum())
        return np.concatenate(xs)[:n], np.concatenate(ys)[:n]

    # ---- roads and points -----------------------------------------------

    @cached_property
    def smart_roads(self) -> gpd.GeoDataFrame:
        """Segments of 1.5-8 km cut from corridors between the zones, ~215 km in all."""
        rng = self.rng("smart_roads")
        pieces = []
        for name, waypoints in CORRIDORS:
            line = shapely.LineString([to_metric(lon, lat) for lon, lat in waypoints])
            # A gentle meander so the corridors are not ruler-straight.
            dense = shapely.segmentize(line, 400)
            xy = shapely.get_coordinates(dense)
            t = np.linspace(0, 1, len(xy))
            wiggle = sum(rng.uniform(100, 300) * np.sin(2 * np.pi * (k * t + rng.random())) for k in (3, 7, 13))
            dx, dy = np.gradient(xy[:, 0]), np.gradient(xy[:, 1])
            norm = np.hypot(dx, dy)
            xy[:, 0] += -dy / norm * wiggle * np.sin(np.pi * t)
            xy[:, 1] += dx / norm * wiggle * np.sin(np.pi * t)
            line = shapely.LineString(xy)
            pos, k = rng.uniform(200, 800), 0
            while pos < line.length - 1500:
                length = min(rng.uniform(1500, 8000), line.length - pos)
                seg = ops.substring(line, pos, pos + length)
                pos += length + rng.uniform(100, 1500)
                if not self.land.contains(seg) or seg.intersects(self.no_points):
                    continue
                k += 1
                pieces.append({"name": f"{name}智慧道路 第{k}段(示意)", "geometry": seg.simplify(2)})
        gdf = gpd.GeoDataFrame(pieces, geometry="geometry", crs=NINGBO_TM)
        gdf = gdf.iloc[rng.permutation(len(gdf))].reset_index(drop=True)
        # Keep segments until the total reaches the 2025 length; years follow the cumulative lengths.
        km = gdf.to_crs(4326).geometry.apply(_GEOD.geometry_length).to_numpy() / 1000
        keep = np.cumsum(km) <= ROAD_KM[2025] + 2
        gdf, km = gdf[keep].reset_index(drop=True), km[keep]
        mid = np.cumsum(km) - km / 2
        bounds = np.array(list(ROAD_KM.values()))
        gdf["year"] = np.array(list(ROAD_KM))[np.searchsorted(bounds, mid).clip(0, len(bounds) - 1)]
        gdf["kind"] = np.where(rng.random(len(gdf)) < 0.35, "new", "renovated")
        gdf = gdf.sort_values("year", kind="stable").reset_index(drop=True)
        return gdf[["name", "year", "kind", "geometry"]]

    @cached_property
    def chargers(self) -> gpd.GeoDataFrame:
        """About 10,600 chargers: urban, in and near the zones (and so their parks), along roads; one planted pair."""
        rng = self.rng("chargers")
        n_total = sum(CHARGER_YEARS.values())
        roads = self.smart_roads

        def near_things(r: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
            # Half along the smart roads (within 150 m), half in the zones and parks grown by 500 m.
            n_road = n // 2
            lines = roads.geometry.to_numpy()[r.integers(len(roads), size=n_road)]
            pts = shapely.line_interpolate_point(lines, r.random(n_road), normalized=True)
            rx = shapely.get_x(pts) + r.normal(0, 150, n_road)
            ry = shapely.get_y(pts) + r.normal(0, 150, n_road)
            zx, zy = self._near_clusters(r, n - n_road)
            return np.concatenate([rx, zx]), np.concatenate([ry, zy])

        xs, ys = self.sample_points(rng, int(n_total * 1.06), background=0.12, extra=near_things,
                                    extra_share=0.3, avoid=self.no_points)
        points = shapely.points(xs, ys)
        # 21 m, not 20, so that rounding to 6 decimals cannot bring a pair under 20 m.
        kept = greedy_disjoint(points, gap=21)[: n_total - 1]
        points = points[kept]
        # Planted: a second charger 12 m from the first.
        p0 = points[0]
        points = np.concatenate([points, [shapely.Point(p0.x + 9.0, p0.y + 8.0)]])
        years = allocate(CHARGER_YEARS, rng)
        kind = np.where(rng.random(n_total) < 0.05, "swapping", "charging")
        ports = np.where(kind == "swapping", rng.integers(1, 5, n_total),
                         np.clip(np.round(rng.gamma(2.0, 3.0, n_total)), 1, 20)).astype(int)
        self.planted["chargers"] = [(0, "12 m from the last charger"), (n_total - 1, "12 m from the first charger")]
        return gpd.GeoDataFrame({"type": kind, "ports": ports, "year": years.astype(int)},
                                geometry=points, crs=NINGBO_TM)

    @cached_property
    def base_stations_5g(self) -> gpd.GeoDataFrame:
        """About 41,500 5G base stations; the earliest in the city centre."""
        rng = self.rng("base_stations_5g")
        n_total = sum(BASE_STATION_YEARS.values())
        xs, ys = self.sample_points(rng, n_total, background=0.3, avoid=self.no_points)
        # Roll-out from the centre outwards, with noise.
        cx, cy = to_metric(121.55, 29.875)
        rank = np.argsort(np.hypot(xs - cx, ys - cy) * rng.uniform(0.3, 1.7, n_total))
        years = np.empty(n_total, dtype=int)
        years[rank] = np.concatenate([np.full(n, y) for y, n in BASE_STATION_YEARS.items()])
        return gpd.GeoDataFrame({"year": years}, geometry=shapely.points(xs, ys), crs=NINGBO_TM)

    # ---- output ---------------------------------------------------------

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """One layer in WGS 84, with ids, rounded to 6 decimals."""
        gdf = getattr(self, name).copy()
        prefix = LAYER_FILES[name][1]
        gdf = gdf.to_crs("EPSG:4326")
        geoms = shapely.set_precision(gdf.geometry.values, 10.0**-DECIMALS)
        gdf = gdf.set_geometry(geoms)
        gdf.insert(0, "id", make_ids(prefix, len(gdf)))
        return gdf.reset_index(drop=True)


def _number_duplicates(names: pd.Series) -> list[str]:
    """Append " 2", " 3"... to repeated names so every name is unique."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


def write_layer(gdf: gpd.GeoDataFrame, out: Path, name: str) -> Path:
    """Write one layer as GeoJSON or a one-layer GeoPackage without spatial index."""
    ext = LAYER_FILES[name][0]
    path = out / f"{name}.{ext}"
    path.unlink(missing_ok=True)
    if ext == "geojson":
        gdf.to_file(path, driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=DECIMALS, WRITE_NAME="NO")
    else:
        gdf.to_file(path, driver="GPKG", engine="pyogrio", layer=name, SPATIAL_INDEX="NO")
    return path


def generate(seed: int = 2025, layers: Sequence[str] | None = None, *,
             districts_path: Path = DEFAULT_DISTRICTS) -> tuple[dict[str, gpd.GeoDataFrame], dict]:
    """Generate layers in memory.

    Parameters
    ----------
    seed
        Random seed.
    layers
        Names of the layers to make (default: all of :data:`LAYER_FILES`).
    districts_path
        The district boundaries to place things in.

    Returns
    -------
    tuple
        ``{layer name: GeoDataFrame in EPSG:4326}`` and the planted violations
        ``{layer name: [(row, what)]}``.
    """
    names = list(LAYER_FILES) if layers is None else list(layers)
    unknown = set(names) - set(LAYER_FILES)
    if unknown:
        msg = f"unknown layers {sorted(unknown)}; choose from {', '.join(LAYER_FILES)}"
        raise SystemExit(msg)
    sample = Sample(seed=seed, districts_path=districts_path)
    return {name: sample.layer(name) for name in names}, sample.planted


def report(gdfs: dict[str, gpd.GeoDataFrame], planted: dict) -> None:
    """Print the figures a reviewer wants to see."""
    wc = NINGBO_TM
    for name, gdf in gdfs.items():
        print(f"\n{name}: {len(gdf)} features")
        if "year" in gdf:
            print("  by year:", gdf["year"].value_counts().sort_index().to_dict())
    if "clusters" in gdfs:
        c = gdfs["clusters"]
        km2 = c.to_crs(wc).area / 1e6
        print(f"  clusters area km² min {km2.min():.1f} max {km2.max():.1f}")
        for year in (2023, 2025):
            out = c[f"output_{year}"]
            print(f"  {year}: >=1000: {(out >= 1000).sum()}, 500-1000: {((out >= 500) & (out < 1000)).sum()}")
    if "land_transfers" in gdfs:
        lt = gdfs["land_transfers"]
        measured = lt.to_crs(wc).area / 1e4
        geodesic = lt.geometry.apply(lambda g: abs(_GEOD.geometry_area_perimeter(g)[0])) / 1e4
        print(f"  parcel ha min {measured.min():.2f} max {measured.max():.2f}; declared/measured "
              f"{(lt['area'] / measured).min():.3f}-{(lt['area'] / measured).max():.3f}")
        for year, g in lt.groupby("year"):
            ind = g["use"] == "industrial"
            print(f"  {year}: {len(g)} parcels {geodesic[g.index].sum():7.1f} ha; industrial share "
                  f"geodesic {geodesic[g.index][ind].sum() / geodesic[g.index].sum():.1%}, "
                  f"declared {g['area'][ind].sum() / g['area'].sum():.1%}")
    if "smart_roads" in gdfs:
        r = gdfs["smart_roads"]
        km = r.geometry.apply(_GEOD.geometry_length) / 1000
        print(f"  segments {km.min():.1f}-{km.max():.1f} km; cumulative km by year:",
              {int(y): round(float(km[r['year'] <= y].sum()), 1) for y in sorted(r["year"].unique())})
    if "micro_parks" in gdfs:
        m = gdfs["micro_parks"]
        ha = m.to_crs(wc).area / 1e4
        done = m["status"].isin(["built", "upgraded"]) & m["year"].between(2021, 2025)
        print(f"  ha {ha.min():.1f}-{ha.max():.1f}; built/upgraded 2021-2025: {done.sum()}; status:",
              m["status"].value_counts().to_dict())
        print("  by district:", m["name"].str[:3].value_counts().to_dict())
    for name in ("featured_parks", "future_zones"):
        if name in gdfs:
            km2 = gdfs[name].to_crs(wc).area / 1e6
            print(f"  {name} km² {km2.min():.2f}-{km2.max():.2f}")
    if "constraints" in gdfs:
        print("  kinds:", gdfs["constraints"]["kind"].value_counts().to_dict())
    if planted:
        print("\nplanted violations:")
        for name, items in planted.items():
            for row, what in items:
                label = gdfs[name]["id"].iloc[row] if isinstance(row, (int, np.integer)) and name in gdfs else row
                print(f"  {name} {label}: {what}")


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    """Command-line entry point; returns the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--districts", type=Path, default=DEFAULT_DISTRICTS, help="districts GeoJSON")
    parser.add_argument("--layers", nargs="+", choices=list(LAYER_FILES), help="only these layers")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    gdfs, planted = generate(args.seed, args.layers, districts_path=args.districts)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = {name: write_layer(gdf, args.out, name) for name, gdf in gdfs.items()}
    if not args.quiet:
        report(gdfs, planted)
        print("\nfiles:")
        for path in paths.values():
            print(f"  {path.name:<24} {path.stat().st_size / 1024:8.0f} KB")
        total = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
        print(f"  folder total {total / 1024 / 1024:.2f} MB")
    return paths


if __name__ == "__main__":
    main()
