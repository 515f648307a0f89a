"""Service areas: the ground within the service distance of facilities, as polygons."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio import features
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..deprecation import renamed_keywords
from ..errors import InputError
from .inputs import metric_layer, working_crs_of
from .measure import road_reach

if TYPE_CHECKING:
    import geopandas as gpd

    from ..engine import Engine
    from ..network import RoadNetwork


@renamed_keywords(mode=("by", {"network": "road"}))
def service_areas(
    facilities: gpd.GeoDataFrame,
    *,
    distance: float,
    by: Literal["road", "straight"] = "road",
    network: RoadNetwork | None = None,
    resolution: float = 100.0,
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    engine: Engine | None = None,
) -> gpd.GeoDataFrame:
    """The area served by the facilities, as one (multi)polygon for the map.

    In a straight line (``by="straight"``) it is the union of discs of radius ``distance``.
    By road it is a band of about ``resolution`` metres each side of every piece of road
    within ``distance`` of a facility (:func:`road_coverage`), traced on a grid
    of ``resolution`` metres and simplified (with an ``engine``, the facilities
    join the network on it). It is a picture of the covered roads, not a
    measure: shares come from :func:`coverage`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row in the metric CRS (empty when nothing is served).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> f = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0)], crs="EPSG:32651")
    >>> area = service_areas(f, distance=50, by="straight")
    >>> round(float(area.area.iloc[0]) / 7846, 1)
    2.0
    """
    crs = working_crs_of(network, facilities)
    if by == "straight":
        f = metric_layer(facilities, "facilities", crs)
        geoms = np.asarray(f.geometry.values, dtype=object)
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if len(geoms) == 0:
            area = None
        elif len(geoms) <= 2000:
            area = shapely.union_all(shapely.buffer(geoms, distance, quad_segs=16))
        else:  # many discs: trace them on a grid, much faster than a union of thousands of circles
            points = shapely.get_type_id(geoms) == 0  # a point is its own centroid: no new geometry for it
            centres = np.empty((len(geoms), 2))
            centres[points] = shapely.get_coordinates(geoms[points])
            if not points.all():
                centres[~points] = shapely.get_coordinates(shapely.centroid(geoms[~points]))
            area = _polygonize(centres, distance, resolution)
    else:
        if network is None:
            msg = "network service areas need a road network"
            raise InputError(msg, code="E-NET-MISSING")
        area = _road_band(road_reach(network, facilities, distance=distance, max_snap=max_snap,
                                      direction=direction, engine=engine), network, resolution)
    shapes = [] if area is None or area.is_empty else [area]
    return gpd.GeoDataFrame({"distance": [float(distance)] * len(shapes)}, geometry=shapes, crs=crs)


def _road_band(reach: dict[str, np.ndarray], network: RoadNetwork, resolution: float) -> shapely.Geometry | None:
    """The covered stretches of road, traced on a grid of ``resolution`` metres (one cell each side)."""
    ra, rb = reach["reach_a"], reach["reach_b"]
    if len(ra) == 0:
        return None
    a = np.column_stack([network.x[reach["a"]], network.y[reach["a"]]])
    b = np.column_stack([network.x[reach["b"]], network.y[reach["b"]]])
    full = ra + rb >= 1.0
    # Each covered stretch as (start, end) fractions along its piece: all of it, or the ends within reach.
    t0 = np.concatenate([np.zeros(int(full.sum())), np.zeros(int((~full & (ra > 0)).sum())),
                         1.0 - rb[~full & (rb > 0)]])
    t1 = np.concatenate([np.ones(int(full.sum())), ra[~full & (ra > 0)], np.ones(int((~full & (rb > 0)).sum()))])
    which = np.concatenate([np.flatnonzero(full), np.flatnonzero(~full & (ra > 0)), np.flatnonzero(~full & (rb > 0))])
    if len(which) == 0:
        return None
    p0 = a[which] + (b[which] - a[which]) * t0[:, None]
    p1 = a[which] + (b[which] - a[which]) * t1[:, None]
    # Sample every stretch at half a cell, so that every cell it crosses is marked.
    n = np.maximum(1, np.ceil(np.hypot(*(p1 - p0).T) / (resolution / 2)).astype(np.int64))
    seg = np.repeat(np.arange(len(n)), n + 1)
    frac = np.arange(len(seg)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)
    frac = frac / np.repeat(n, n + 1)
    xy = p0[seg] + (p1[seg] - p0[seg]) * frac[:, None]
    return _polygonize(xy, np.zeros(0), resolution, stamp=1.0 * resolution)


def _polygonize(xy: np.ndarray, radius: np.ndarray | float, resolution: float, *,
                stamp: float | None = None) -> shapely.Geometry | None:
    """Mark the cells of a grid within ``stamp`` (or ``radius``) of each point; trace them into polygons.

    The grid is numpy only (no per-shape Python), traced by ``rasterio.features.shapes`` and
    simplified by half a cell: a picture for the map, not a measure.
    """
    if len(xy) == 0:
        return None
    reach = float(stamp if stamp is not None else radius)
    x0, y0 = xy.min(axis=0) - reach - 2 * resolution
    x1, y1 = xy.max(axis=0) + reach + 2 * resolution
    width = int(np.ceil((x1 - x0) / resolution))
    height = int(np.ceil((y1 - y0) / resolution))
    # The cells whose centre lies within `reach` of a point's cell centre: a disc-shaped stamp.
    k = int(np.ceil(reach / resolution))
    dx, dy = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1))
    inside = np.hypot(dx, dy) * resolution <= reach + resolution / 2
    dx, dy = dx[inside], dy[inside]
    col = ((xy[:, 0] - x0) // resolution).astype(np.int64)
    row = ((y1 - xy[:, 1]) // resolution).astype(np.int64)
    cells = np.unique(row * width + col)
    grid = np.zeros((height, width), dtype=np.uint8)
    cr, cc = cells // width, cells % width
    for ox, oy in zip(dx, dy, strict=True):
        grid[np.clip(cr + oy, 0, height - 1), np.clip(cc + ox, 0, width - 1)] = 1
    transform = Affine(resolution, 0, x0, 0, -resolution, y1)  # north up, as rasterio expects
    polys = _traced_polygons(grid, transform)
    if not len(polys):
        return None
    # shapes() gives disjoint polygons: no union needed.
    return _simplify_parts(polys, resolution / 2)


def _traced_polygons(grid: np.ndarray, transform: Affine) -> np.ndarray:
    """The polygons ``rasterio.features.shapes`` traces around the cells of ``grid`` that are set.

    The same polygons as ``shapely.geometry.shape`` of each, made from one coordinate array in two vectorised
    calls rather than one polygon and one vertex at a time.
    """
    traced = [geom["coordinates"] for geom, val in features.shapes(grid, mask=grid > 0, transform=transform) if val]
    if not traced:
        return np.zeros(0, dtype=object)
    per_polygon = np.fromiter((len(rings) for rings in traced), dtype=np.int64, count=len(traced))
    rings = list(itertools.chain.from_iterable(traced))
    sizes = np.fromiter((len(ring) for ring in rings), dtype=np.int64, count=len(rings))
    coords = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(rings)), dtype=np.float64,
                         count=2 * int(sizes.sum())).reshape(-1, 2)
    linear = shapely.linearrings(coords, indices=np.repeat(np.arange(len(rings)), sizes))
    return np.asarray(shapely.polygons(linear, indices=np.repeat(np.arange(len(traced)), per_polygon)), dtype=object)


def _simplify_parts(polys: np.ndarray, tolerance: float) -> shapely.Geometry:
    """``shapely.simplify(shapely.multipolygons(polys), tolerance)``, the same result, in near-linear time.

    The topology-preserving simplifier keeps each ring clear of the others' segments, checking only those
    whose envelopes meet the ring's; on one multipolygon of thousands of parts that costs far more than the
    parts themselves (5 s of a 6 s service area at 10x the sample). Parts whose envelopes do not touch,
    directly or through others, cannot affect one another: each such group is simplified as its own
    multipolygon, all groups in one vectorised call, and the parts are put back in their order.
    """
    boxes = shapely.envelope(polys)
    left, right = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    n = len(polys)
    _, group = connected_components(sparse.coo_array((np.ones(len(left)), (left, right)), shape=(n, n)),
                                    directed=False)
    order = np.argsort(group, kind="stable")  # parts of a group keep their order
    simplified = shapely.simplify(shapely.multipolygons(polys[order], indices=group[order]), tolerance)
    parts, owner = shapely.get_parts(simplified, return_index=True)
    # get_parts lists groups by group number and each group's parts in order: that is `order` again.
    del owner
    out = np.empty(n, dtype=object)
    out[order] = parts
    return shapely.multipolygons(out)
