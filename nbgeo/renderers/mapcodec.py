"""Geometry and ids packed for nbgeo's map runtime: integer coordinates, deltas, varints (see :mod:`nbgeo.renderers.maps`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..crs import choose_working_crs, wgs84_to_gcj02
from .html import safe_text

if TYPE_CHECKING:
    import geopandas as gpd


#: Coordinates are stored as integers in units of 1e-6 degree (about 0.1 m).
SCALE = 1_000_000

__all__ = ["SCALE", "douglas_peucker", "encode_ids", "encode_points", "encode_shapes", "family", "gcj02", "layer_geojson", "simplified",
           "unvarint", "varint"]


def encode_ids(index: pd.Index) -> list[str] | dict[str, Any]:
    """Feature ids: runs of ``PREFIX`` + zero-padded numbers compress to ``[start, count]`` pairs.

    Examples
    --------
    >>> encode_ids(pd.Index([f"CH{i:05d}" for i in [*range(1, 10), 20]]))
    {'p': 'CH', 'w': 5, 'r': [[1, 9], [20, 1]]}
    >>> encode_ids(pd.Index(["a<b", "c"]))
    ['a&lt;b', 'c']
    """
    ids = [str(i) for i in index]
    if ids:
        first = ids[0]
        width = len(first) - len(first.rstrip("0123456789"))
        prefix = first[: len(first) - width]
        if (
            width
            and safe_text(prefix) == prefix
            and all(len(i) == len(first) and i.startswith(prefix) and i[len(prefix):].isdigit() for i in ids)
        ):
            nums = np.fromiter((int(i[len(prefix):]) for i in ids), dtype=np.int64, count=len(ids))
            breaks = np.flatnonzero(np.diff(nums) != 1) + 1
            starts = np.concatenate([[0], breaks])
            if len(starts) * 3 < len(nums):
                counts = np.diff(np.concatenate([starts, [len(nums)]]))
                return {"p": prefix, "w": width,
                        "r": [[int(nums[s]), int(c)] for s, c in zip(starts, counts, strict=True)]}
    return [safe_text(i) for i in ids]


#: Alphabet of the integer strings (URL-safe base 64: nothing to escape in JSON, HTML or JS).
_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)
_CHUNK_LIMITS = np.array([32**k for k in range(1, 13)], dtype=np.uint64)


def varint(values: Any) -> str:
    """Signed integers as one ASCII string: zig-zag, then 5 bits per character plus a continuation bit.

    A coordinate delta of a few hundred metres takes 3-4 characters instead of
    7-8 digits and a comma; a category code takes one. ``map.js`` decodes it
    (``ints``).

    Examples
    --------
    >>> varint([0, -1, 1, 15, 16, -700000])
    'ABCegB_l3qB'
    >>> unvarint(varint([0, -1, 1, 15, 16, -700000, 2**40]))
    [0, -1, 1, 15, 16, -700000, 1099511627776]
    """
    v = np.asarray(values, dtype=np.int64).ravel()
    if not len(v):
        return ""
    z = ((v << 1) ^ (v >> 63)).view(np.uint64)
    chunks = 1 + (z[:, None] >= _CHUNK_LIMITS[None, :]).sum(axis=1)
    k = np.arange(int(chunks.max()))
    digits = ((z[:, None] >> (k[None, :] * 5).astype(np.uint64)) & np.uint64(31)).astype(np.uint8)
    digits |= ((k[None, :] < (chunks[:, None] - 1)) * 32).astype(np.uint8)
    return _ALPHABET[digits[k[None, :] < chunks[:, None]]].tobytes().decode("ascii")


def unvarint(text: str) -> list[int]:
    """The inverse of :func:`_varint` (for tests and tools)."""
    lut = {int(c): i for i, c in enumerate(_ALPHABET)}
    out, value, shift = [], 0, 0
    for ch in text.encode("ascii"):
        d = lut[ch]
        value |= (d & 31) << shift
        if d & 32:
            shift += 5
        else:
            out.append(-((value + 1) >> 1) if value & 1 else value >> 1)
            value, shift = 0, 0
    return out


def _int_coords(coords: np.ndarray) -> np.ndarray:
    return np.rint(coords * SCALE).astype(np.int64)


def _deltas(ints: np.ndarray) -> np.ndarray:
    """Differences of consecutive integer coordinates (rows), the first relative to (0, 0)."""
    return np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))


def encode_points(coords: np.ndarray) -> dict[str, Any]:
    """Points as varint deltas of integer coordinates (origin, then ``x`` and ``y``)."""
    d = _deltas(_int_coords(coords)) if len(coords) else np.zeros((0, 2), dtype=np.int64)
    return {"o": [0, 0], "x": varint(d[:, 0]), "y": varint(d[:, 1])}


def encode_shapes(geoms: np.ndarray, polygon: bool, shift: Callable[[np.ndarray], np.ndarray] | None) -> dict[str, Any]:
    """Encode lines or polygons as delta-coded integers plus per-level counts (see map.js decodeShapes)."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    wanted = (3,) if polygon else (1, 2)  # Polygon; LineString, LinearRing
    keep = np.isin(shapely.get_type_id(parts), wanted) & ~shapely.is_empty(parts)
    parts, part_of = parts[keep], part_of[keep]
    per_feature = np.bincount(part_of, minlength=len(geoms))
    if polygon:
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        per_part = np.bincount(ring_of, minlength=len(parts))
    else:
        rings, per_part = parts, None
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(coord_of, minlength=len(rings))
    if polygon and len(coords):  # drop each ring's closing vertex: Leaflet closes rings itself
        last = np.cumsum(counts) - 1
        mask = np.ones(len(coords), dtype=bool)
        mask[last[counts > 0]] = False
        coords = coords[mask]
        counts = np.maximum(counts - 1, 0)
    if shift is not None and len(coords):
        coords = shift(coords)
    deltas = _deltas(_int_coords(coords)) if len(coords) else np.zeros((0, 2), dtype=np.int64)
    out: dict[str, Any] = {"o": [0, 0], "c": varint(deltas), "v": varint(counts), "p": varint(per_feature)}
    if per_part is not None:
        out["r"] = varint(per_part)
    return out


def gcj02(coords: np.ndarray) -> np.ndarray:
    """Shift ``(n, 2)`` WGS 84 lon/lat to GCJ-02 (for Amap tiles)."""
    lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def simplified(gdf: gpd.GeoDataFrame, simplify_m: float, crs: Any = None, *, budget: int | None = None) -> np.ndarray:
    """Geometries simplified by ``simplify_m`` metres in ``crs``, back in EPSG:4326.

    ``crs`` is the dataset's working CRS; default: one chosen from the layer's extent. With ``budget``,
    a layer left with more vertices than that is simplified again at 4, 16, ... times the tolerance
    (up to 1.3 km) until it fits: a province-wide layer is drawn at the zoom that shows it whole, not
    at street level (what is simplified is only what is drawn; every measure uses the data).

    Examples
    --------
    >>> import geopandas as gpd
    >>> ring = gpd.GeoDataFrame(geometry=[shapely.Point(121.5, 29.8).buffer(0.05, 256)], crs=4326)
    >>> [int(shapely.get_num_coordinates(simplified(ring, 5.0, budget=b)).sum()) > 100 for b in (None, 100)]
    [True, False]
    """
    geoms = np.asarray(gdf.geometry.values)
    if simplify_m <= 0 or not len(geoms) or not (shapely.get_type_id(geoms) != 0).any():
        return geoms
    # For drawing only: a best-effort CRS is fine where one too large to measure in would be refused.
    metric = gdf.geometry.to_crs(crs if crs is not None else choose_working_crs(gdf, strict=False).crs)
    # Douglas-Peucker without topology repair: for drawing only, and several times faster on large rings
    tolerance, out = simplify_m, douglas_peucker(np.asarray(metric.values), simplify_m)
    while budget is not None and tolerance <= 1300 and int(shapely.get_num_coordinates(out).sum()) > budget:
        tolerance *= 4  # each round simplifies the last one's result: a fraction of the vertices
        out = douglas_peucker(out, tolerance)
    return np.asarray(type(metric)(out, index=metric.index, crs=metric.crs).to_crs(4326).values)


#: A multipolygon of more parts than this is simplified group by group (:func:`douglas_peucker`).
MANY_PARTS = 64


def douglas_peucker(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """``shapely.simplify(geoms, tolerance, preserve_topology=False)``, the same shapes, in near-linear time.

    GEOS repairs a simplified multipolygon that came out invalid with ``buffer(0)`` of the whole of it,
    which on one multipolygon of tens of thousands of parts (a province's service area) took minutes.
    A simplified part lies within its part's envelope, so parts whose envelopes do not touch, directly
    or through others, cannot make one another invalid: each such group is simplified (and repaired
    if need be) as its own multipolygon, all groups in one vectorised call. Where no group needed a
    repair the parts come back in their order, as GEOS gives them; a repaired group's parts come in
    the order GEOS's repair gives them, the same polygons as from the whole (up to part order and
    the ring's starting vertex).

    Examples
    --------
    >>> squares = shapely.multipolygons([shapely.box(i * 10, 0, i * 10 + 5, 5) for i in range(100)])
    >>> out = douglas_peucker(np.array([squares, shapely.Point(0, 0)]), 1.0)
    >>> bool(shapely.equals_exact(out[0], shapely.simplify(squares, 1.0, preserve_topology=False), 0))
    True
    """
    geoms = np.asarray(geoms, dtype=object)
    parts_n = shapely.get_num_geometries(geoms)
    many = (shapely.get_type_id(geoms) == 6) & (parts_n > MANY_PARTS)
    few = geoms.copy()
    few[many] = None  # simplified below, group by group
    out = np.array(shapely.simplify(few, tolerance, preserve_topology=False), dtype=object)
    for i in np.flatnonzero(many):
        out[i] = _grouped(geoms[i], tolerance)
    return out


def _grouped(multi: shapely.MultiPolygon, tolerance: float) -> shapely.Geometry:
    """One multipolygon of many parts simplified group by group (see :func:`douglas_peucker`)."""
    parts = shapely.get_parts(multi)
    n = len(parts)
    boxes = shapely.envelope(parts)
    left, right = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    _, group = connected_components(sparse.coo_array((np.ones(len(left)), (left, right)), shape=(n, n)),
                                    directed=False)
    order = np.argsort(group, kind="stable")  # each group's parts keep their order
    done = shapely.simplify(shapely.multipolygons(parts[order], indices=group[order]), tolerance,
                            preserve_topology=False)
    pieces, owner = shapely.get_parts(done, return_index=True)
    sizes = np.bincount(group, minlength=len(done))
    if len(pieces) == n and (np.bincount(owner, minlength=len(done)) == sizes).all():
        back = np.empty(n, dtype=object)  # no group lost or gained a part: the parts in their order
        back[order] = pieces
        pieces = back
    return shapely.multipolygons(pieces) if len(pieces) else shapely.from_wkt("MULTIPOLYGON EMPTY")


def family(type_ids: np.ndarray) -> np.ndarray:
    """0 points, 1 lines, 2 polygons, -1 other (per shapely type id)."""
    fam = np.full(type_ids.shape, -1)
    fam[np.isin(type_ids, (0, 4))] = 0
    fam[np.isin(type_ids, (1, 2, 5))] = 1
    fam[np.isin(type_ids, (3, 6))] = 2
    return fam




def layer_geojson(gdf: gpd.GeoDataFrame, *, columns: list[str] | None = None, simplify_m: float = 10.0) -> dict[str, Any]:
    """A GeoJSON FeatureCollection for the web: escaped text, simplified and rounded geometry.

    Polygons and lines are simplified by ``simplify_m`` metres (in the working
    CRS) and every coordinate is rounded to 6 decimals (about 0.1 m).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"name": ["<b>{{7*7}}</b>"]}, geometry=[Point(121.1234567, 29.1)], crs=4326,
    ...                      index=["p1"])
    >>> fc = layer_geojson(g)
    >>> fc["features"][0]["properties"]
    {'id': 'p1', 'name': '&lt;b&gt;&#123;&#123;7*7&#125;&#125;&lt;/b&gt;'}
    >>> fc["features"][0]["geometry"]["coordinates"]
    [121.123457, 29.1]
    """
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    geoms = shapely.set_precision(simplified(gdf, simplify_m), 1e-6)
    columns = [c for c in (columns if columns is not None else list(gdf.columns)) if c != gdf.geometry.name]
    props = pd.DataFrame({safe_text(c): gdf[c].map(safe_text).to_numpy() for c in columns})
    ids = [safe_text(i) for i in gdf.index]
    records = props.to_dict("records")
    features = [
        {"type": "Feature", "properties": {"id": fid, **rec}, "geometry": json.loads(geo)}
        for fid, rec, geo in zip(ids, records, shapely.to_geojson(geoms), strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}
