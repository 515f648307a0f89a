"""Generate the illustrative road network of the ``ningbo`` sample: ``roads.osm.pbf``.

**The roads are made up.** They are not Ningbo's streets: they are drawn to
fit the sample's other layers so that coverage by road can be tried on it. A
planner would use an OpenStreetMap extract (``.osm.pbf``) or the surveying
bureau's road centrelines in their place; the file format is the same as an
OSM extract, so nbgeo reads both alike.

What the network holds (all tags as in OpenStreetMap):

* **Country roads** (``unclassified``, every fourth one ``secondary``): a
  perturbed 2.5 km lattice over the land, thinned to a third on the
  ecological red line (mountain roads), never across lakes or reservoirs.
* **Town streets** around each urban centre of the sample's density model
  (``tertiary``, every third ``primary``) on a 500 m grid, and a **dense
  old town** at 三江口 (``residential`` on 250 m) where most streets are
  **one-way** (alternating directions, ``oneway=yes`` / ``oneway=-1``).
* **Industrial estate roads** (``secondary``) on a 500 m grid in and around
  every industrial zone.
* **Trunk roads** along the smart-road corridors between the zones, and every
  **smart road** of ``smart_roads.geojson`` (``trunk``, tagged ``smart_road=yes``
  and named).
* **Expressways** (``motorway``) as dual carriageways, each carriageway a
  one-way way, joined to the streets only at interchanges by one-way
  ``motorway_link`` ramps; they cross other roads without junctions.
* An **access road** from every featured park and micro-park to the nearest
  road, unless a road already runs through it.

Every way carries ``note=illustrative``. Streets are noded where they cross;
vertices are at most 200 m apart. The output is deterministic for a seed.

Usage::

    python scripts/make_roads.py [--seed 2025] [--out nbgeo/datasets/ningbo] [--bbox W S E N]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nbgeo.crs import NINGBO_TM  # noqa: E402  # the CRS the sample was drawn in

if TYPE_CHECKING:
    from collections.abc import Sequence

DATA = REPO / "nbgeo" / "datasets" / "ningbo"
NOTE = "illustrative"
MAX_VERTEX_GAP = 200.0  # metres between consecutive vertices of a way

#: Expressways: ref, name and waypoints (lon, lat). Approximate courses, made up.
MOTORWAYS = (
    ("G1501", "宁波绕城高速(示意)", ((121.43, 29.93), (121.52, 30.00), (121.66, 29.98), (121.72, 29.90),
                                   (121.66, 29.80), (121.55, 29.77), (121.45, 29.80), (121.43, 29.93))),
    ("G92", "杭甬高速(示意)", ((121.43, 29.93), (121.30, 29.97), (121.17, 30.02), (121.05, 30.06))),
    ("G15", "沈海高速 北段(示意)", ((121.52, 30.00), (121.40, 30.12), (121.28, 30.20), (121.24, 30.33))),
    ("G15", "沈海高速 南段(示意)", ((121.45, 29.80), (121.42, 29.66), (121.44, 29.50), (121.43, 29.31))),
    ("S20", "穿山疏港高速(示意)", ((121.72, 29.90), (121.84, 29.90), (121.96, 29.93))),
    ("S19", "甬台温复线 象山支线(示意)", ((121.44, 29.40), (121.60, 29.43), (121.78, 29.47), (121.88, 29.48))),
)
#: The dense old town: centre (lon, lat) and radius (m).
OLD_TOWN = (121.550, 29.875, 3000.0)


def load_make_sample():
    """Import scripts/make_sample.py for the density model and the corridors."""
    if "make_sample" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_sample", Path(__file__).with_name("make_sample.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["make_sample"] = module
        spec.loader.exec_module(module)
    return sys.modules["make_sample"]


@dataclass
class Way:
    """One road before noding: a line in the working CRS and its OSM tags."""

    geom: shapely.LineString
    tags: dict[str, str]
    rank: int  # which source wins where two overlap (higher wins)


def lattice(x0: float, y0: float, x1: float, y1: float, spacing: float, rng: np.random.Generator,
            jitter: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates of a perturbed square lattice covering a box: arrays of shape (rows, cols)."""
    xs = np.arange(np.floor(x0 / spacing) * spacing, x1 + spacing, spacing)
    ys = np.arange(np.floor(y0 / spacing) * spacing, y1 + spacing, spacing)
    gx, gy = np.meshgrid(xs, ys)
    gx = gx + rng.normal(0, jitter * spacing, gx.shape)
    gy = gy + rng.normal(0, jitter * spacing, gy.shape)
    return gx, gy


def lattice_edges(gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every edge between lattice neighbours as a 2-point line, with its row/column number and orientation."""
    h = shapely.linestrings(np.stack([np.stack([gx[:, :-1], gy[:, :-1]], -1), np.stack([gx[:, 1:], gy[:, 1:]], -1)],
                                     axis=2).reshape(-1, 2, 2))
    v = shapely.linestrings(np.stack([np.stack([gx[:-1], gy[:-1]], -1), np.stack([gx[1:], gy[1:]], -1)],
                                     axis=2).reshape(-1, 2, 2))
    h_line = np.repeat(np.arange(gx.shape[0]), gx.shape[1] - 1)
    v_line = np.tile(np.arange(gx.shape[1]), gx.shape[0] - 1)
    lines = np.concatenate([h, v])
    number = np.concatenate([h_line, v_line])
    horizontal = np.r_[np.ones(len(h), bool), np.zeros(len(v), bool)]
    return lines, number, horizontal


class RoadBuilder:
    """Draws the made-up roads to fit the sample layers (all in the working CRS)."""

    def __init__(self, seed: int, data: Path, bbox: Sequence[float] | None) -> None:
        self.seed = seed
        self.ms = load_make_sample()
        self.wc = NINGBO_TM
        read = lambda name: gpd.read_file(data / name).to_crs(self.wc)  # noqa: E731
        self.districts = read("districts.geojson")
        self.constraints = read("constraints.geojson")
        self.clusters = read("clusters.geojson")
        self.smart = read("smart_roads.geojson")
        self.parks = gpd.GeoDataFrame(
            geometry=np.concatenate([read("featured_parks.geojson").geometry.values,
                                     read("micro_parks.geojson").geometry.values]), crs=self.wc)
        land = shapely.union_all(self.districts.geometry.values).buffer(-5)
        if bbox is not None:
            to_m = Transformer.from_crs(4326, self.wc, always_xy=True)
            (ax, bx), (ay, by) = to_m.transform([bbox[0], bbox[2]], [bbox[1], bbox[3]])
            land = land.intersection(shapely.box(ax, ay, bx, by))
        water = shapely.union_all(self.constraints.geometry[self.constraints["kind"] == "water"].values)
        self.red = shapely.union_all(self.constraints.geometry[self.constraints["kind"] == "ecological_red_line"].values)
        self.land = land
        self.allowed = land.difference(water.buffer(30))
        for g in (self.land, self.allowed, self.red):
            shapely.prepare(g)
        self.ways: list[Way] = []

    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def to_metric(self, lon: float, lat: float) -> tuple[float, float]:
        return self.ms.to_metric(lon, lat)

    def clip(self, lines: np.ndarray, area: shapely.Geometry | None = None) -> np.ndarray:
        """The parts of the lines inside the allowed land (and ``area``), at least 20 m long."""
        region = self.allowed if area is None else self.allowed.intersection(area)
        shapely.prepare(region)
        inside = shapely.contains(region, lines)
        out = list(lines[inside])
        rest = lines[~inside & shapely.intersects(region, lines)]
        if len(rest):
            out.extend(shapely.get_parts(shapely.line_merge(shapely.intersection(rest, region))))
        parts = np.asarray([g for g in out if g.geom_type == "LineString" and g.length >= 20], dtype=object)
        return parts

    def add(self, lines: np.ndarray, tags: dict[str, str] | list[dict[str, str]], rank: int) -> None:
        per = tags if isinstance(tags, list) else [tags] * len(lines)
        self.ways.extend(Way(g, {**t, "note": NOTE}, rank) for g, t in zip(lines, per, strict=True))

    # ---- the layers of the network -----------------------------------------------------------

    def country_roads(self) -> None:
        rng = self.rng("country")
        x0, y0, x1, y1 = self.land.bounds
        gx, gy = lattice(x0, y0, x1, y1, 2500.0, rng, jitter=0.2)
        lines, number, _ = lattice_edges(gx, gy)
        mids = shapely.line_interpolate_point(lines, 0.5, normalized=True)
        keep = ~shapely.contains(self.red, mids) | (rng.random(len(lines)) < 0.35)
        lines, number = lines[keep], number[keep]
        lines = shapely.segmentize(lines, 600)
        # A gentle bend, so that country roads are not ruler-straight.
        coords, owner = shapely.get_coordinates(lines, return_index=True)
        inner = np.r_[False, owner[1:] == owner[:-1]] & np.r_[owner[:-1] == owner[1:], False]
        coords[inner] += rng.normal(0, 60, (int(inner.sum()), 2))  # ends stay put: roads still meet
        lines = shapely.set_coordinates(lines, coords)
        tags = [{"highway": "secondary" if n % 4 == 0 else "unclassified"} for n in number]
        kept = self.clip(lines)
        # Tags follow the source line (the clip keeps order only for whole lines): re-derive by position.
        self._add_matched(kept, lines, tags, rank=1)

    def _add_matched(self, parts: np.ndarray, sources: np.ndarray, tags: list[dict[str, str]], rank: int) -> None:
        tree = shapely.STRtree(sources)
        mids = shapely.line_interpolate_point(parts, 0.5, normalized=True)
        idx = tree.query_nearest(mids, all_matches=False)[1]
        self.add(parts, [tags[i] for i in idx], rank)

    def towns(self) -> None:
        rng = self.rng("towns")
        for name, lon, lat, _w, sigma in self.ms.CENTRES:
            cx, cy = self.to_metric(lon, lat)
            radius = 1.2 * sigma * 1000
            gx, gy = lattice(cx - radius, cy - radius, cx + radius, cy + radius, 500.0, rng)
            lines, number, _ = lattice_edges(gx, gy)
            tags = [{"highway": "primary" if n % 3 == 0 else "tertiary"} for n in number]
            parts = self.clip(lines, shapely.Point(cx, cy).buffer(radius))
            self._add_matched(parts, lines, tags, rank=2)
            del name

    def old_town(self) -> None:
        rng = self.rng("old_town")
        lon, lat, radius = OLD_TOWN
        cx, cy = self.to_metric(lon, lat)
        gx, gy = lattice(cx - radius, cy - radius, cx + radius, cy + radius, 250.0, rng, jitter=0.08)
        lines, number, horizontal = lattice_edges(gx, gy)
        tags = []
        for n, is_row in zip(number, horizontal, strict=True):
            t = {"highway": "residential"}
            # Most streets are one-way, in alternating directions; every fourth stays two-way.
            if n % 4 != 0:
                t["oneway"] = "yes" if n % 2 else "-1"
            if not is_row and n % 4 == 0:
                t["highway"] = "secondary"
            tags.append(t)
        parts = self.clip(lines, shapely.Point(cx, cy).buffer(radius))
        self._add_matched(parts, lines, tags, rank=3)

    def estates(self) -> None:
        rng = self.rng("estates")
        for geom in self.clusters.geometry.values:
            area = geom.buffer(400)
            x0, y0, x1, y1 = area.bounds
            gx, gy = lattice(x0, y0, x1, y1, 500.0, rng, jitter=0.1)
            lines, _, _ = lattice_edges(gx, gy)
            self.add(self.clip(lines, area), {"highway": "secondary"}, rank=2)

    def corridors(self) -> None:
        for name, waypoints in self.ms.CORRIDORS:
            line = shapely.LineString([self.to_metric(lon, lat) for lon, lat in waypoints])
            self.add(self.clip(np.array([line])), {"highway": "trunk", "name": f"{name}干道(示意)"}, rank=4)
        for name, geom in zip(self.smart["name"], self.smart.geometry.values, strict=True):
            self.add(self.clip(np.array([geom])), {"highway": "trunk", "name": str(name), "smart_road": "yes"}, rank=5)

    def park_access(self) -> None:
        lines = np.asarray([w.geom for w in self.ways], dtype=object)
        tree = shapely.STRtree(lines)
        parks = np.asarray(self.parks.geometry.values, dtype=object)
        crossed = np.zeros(len(parks), dtype=bool)
        crossed[np.unique(tree.query(parks, predicate="intersects")[0])] = True
        pts = shapely.point_on_surface(parks[~crossed])
        near = tree.query_nearest(pts, all_matches=False)[1]
        spurs = []
        for p, i in zip(pts, near, strict=True):
            a, b = shapely.get_coordinates(shapely.shortest_line(p, lines[i]))
            d = b - a
            n = np.hypot(*d)
            if n < 1:
                continue
            # Run 1 m past the road so that noding joins the spur to it.
            spurs.append(shapely.LineString([a, b + d / n]))
        if spurs:
            self.add(self.clip(np.asarray(spurs, dtype=object)), {"highway": "residential", "name": "园区道路(示意)"}, rank=0)

    def motorways(self) -> list[tuple[shapely.LineString, dict[str, str], np.ndarray]]:
        """Dual carriageways (one-way each) and the points where interchanges go."""
        out = []
        for ref, name, waypoints in MOTORWAYS:
            line = shapely.LineString([self.to_metric(lon, lat) for lon, lat in waypoints])
            line = shapely.segmentize(line, 300)
            for piece in shapely.get_parts(shapely.intersection(line, self.land)):
                if piece.geom_type != "LineString" or piece.length < 3000:
                    continue
                ramps = np.asarray([shapely.line_interpolate_point(piece, t)
                                    for t in np.arange(1500, piece.length - 1000, 6000.0)], dtype=object)
                # Right-hand traffic: each direction's carriageway lies 15 m to the right of the centre line.
                for direction in (piece, shapely.reverse(piece)):
                    carriage = shapely.offset_curve(direction, -15.0)
                    if carriage.geom_type != "LineString":
                        continue
                    start = shapely.get_point(direction, 0)
                    if shapely.distance(shapely.get_point(carriage, -1), start) < shapely.distance(
                            shapely.get_point(carriage, 0), start):
                        carriage = shapely.reverse(carriage)  # travel in the direction of `direction`
                    out.append((carriage, {"highway": "motorway", "oneway": "yes", "ref": ref, "name": name,
                                           "note": NOTE}, ramps))
        return out


def _densify_and_node(ways: list[Way]) -> tuple[list[np.ndarray], list[dict[str, str]]]:
    """Node the surface roads where they cross; return each piece's vertices (in its source's direction)."""
    geoms = np.asarray([w.geom for w in ways], dtype=object)
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(geoms)))
    noded = noded[shapely.length(noded) > 0.5]
    # Which source does each piece belong to? The highest-ranked one it lies on.
    tree = shapely.STRtree(geoms)
    mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    left, right = tree.query(mids, predicate="dwithin", distance=0.05)
    rank = np.asarray([w.rank for w in ways])
    order = np.lexsort((-rank[right], left))
    left, right = left[order], right[order]
    first = np.r_[True, left[1:] != left[:-1]]
    src = np.full(len(noded), -1)
    src[left[first]] = right[first]
    coords_out, tags_out = [], []
    for piece, s in zip(noded, src, strict=True):
        if s < 0:
            continue
        source = geoms[s]
        xy = shapely.get_coordinates(shapely.segmentize(piece, MAX_VERTEX_GAP))
        # Keep the source's direction, which one-way tags refer to.
        if shapely.line_locate_point(source, shapely.Point(xy[0])) > shapely.line_locate_point(
                source, shapely.Point(xy[-1])):
            xy = xy[::-1]
        coords_out.append(xy)
        tags_out.append(ways[s].tags)
    return coords_out, tags_out


def build(seed: int = 2025, data: Path = DATA, bbox: Sequence[float] | None = None) -> dict:
    """Build the network in memory: node coordinates (lon, lat) and ways (node-id lists with tags)."""
    b = RoadBuilder(seed, data, bbox)
    b.country_roads()
    b.towns()
    b.old_town()
    b.estates()
    b.corridors()
    b.park_access()
    surface_xy, surface_tags = _densify_and_node(b.ways)
    to_ll = Transformer.from_crs(b.wc, 4326, always_xy=True)

    nodes: dict[tuple[int, int, int], int] = {}
    node_ll: list[tuple[float, float]] = []

    def node_ids(xy: np.ndarray, layer: int) -> list[int]:
        lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
        out = []
        for x, y in zip(np.round(np.asarray(lon) * 1e7).astype(np.int64), np.round(np.asarray(lat) * 1e7).astype(np.int64),
                        strict=True):
            key = (layer, int(x), int(y))
            if key not in nodes:
                nodes[key] = len(node_ll) + 1
                node_ll.append((x / 1e7, y / 1e7))
            out.append(nodes[key])
        return out

    ways = []
    for xy, tags in zip(surface_xy, surface_tags, strict=True):
        refs = node_ids(xy, 0)
        refs = [r for k, r in enumerate(refs) if k == 0 or r != refs[k - 1]]
        if len(refs) >= 2:
            ways.append((refs, tags))

    # Expressways: their own nodes; ramps to the nearest street node at each interchange.
    from scipy.spatial import cKDTree

    street_ids = np.asarray(sorted({r for refs, _ in ways for r in refs}))
    ll = np.asarray(node_ll)
    to_m = Transformer.from_crs(4326, b.wc, always_xy=True)
    sx, sy = to_m.transform(ll[street_ids - 1, 0], ll[street_ids - 1, 1])
    street_tree = cKDTree(np.column_stack([sx, sy]))
    for carriage, tags, ramps in b.motorways():
        xy = shapely.get_coordinates(shapely.segmentize(carriage, MAX_VERTEX_GAP))
        refs = node_ids(xy, 1)
        ways.append((refs, tags))
        cw_tree = cKDTree(xy)
        for p in ramps:
            d, k = street_tree.query([p.x, p.y])
            if d > 1500:
                continue
            street = int(street_ids[k])
            _, i = cw_tree.query([p.x, p.y])
            i = min(int(i), len(refs) - 3)
            link = {"highway": "motorway_link", "oneway": "yes", "note": NOTE}
            ways.append(([refs[i], street], link))       # off-ramp
            ways.append(([street, refs[i + 2]], link))   # on-ramp, downstream
    return {"nodes": node_ll, "ways": ways}


def write_pbf(net: dict, path: Path) -> Path:
    """Write the network as an OSM PBF file (nodes, then ways)."""
    import osmium
    from osmium.osm.mutable import Node
    from osmium.osm.mutable import Way as OsmWay

    path.unlink(missing_ok=True)
    header = osmium.io.Header()
    header.set("generator", "nbgeo scripts/make_roads.py (illustrative, made-up roads)")
    with osmium.SimpleWriter(str(path), header=header) as writer:
        for i, (lon, lat) in enumerate(net["nodes"], start=1):
            writer.add_node(Node(id=i, location=(lon, lat)))
        for j, (refs, tags) in enumerate(net["ways"], start=1):
            writer.add_way(OsmWay(id=j, nodes=refs, tags=tags))
    return path


def main(argv: Sequence[str] | None = None) -> Path:
    """Command-line entry point; returns the file written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the sample layers")
    parser.add_argument("--out", type=Path, default=DATA, help="output folder")
    parser.add_argument("--bbox", type=float, nargs=4, metavar=("W", "S", "E", "N"),
                        help="only this lon/lat box (for quick tests)")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    net = build(args.seed, args.data, args.bbox)
    args.out.mkdir(parents=True, exist_ok=True)
    path = write_pbf(net, args.out / "roads.osm.pbf")
    if not args.quiet:
        oneway = sum(1 for _, t in net["ways"] if t.get("oneway") in ("yes", "-1"))
        kinds: dict[str, int] = {}
        for _, t in net["ways"]:
            kinds[t["highway"]] = kinds.get(t["highway"], 0) + 1
        print(f"{len(net['nodes']):,} nodes, {len(net['ways']):,} ways ({oneway:,} one-way)")
        print("ways by highway:", dict(sorted(kinds.items())))
        print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return path


if __name__ == "__main__":
    main()
