"""The spatial work the rules share: pairs from one STRtree query, exact vectorised measures on them.

The pieces a map shows for a rule are made here too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .. import limits
from .._clip import overlap_area
from ..errors import CRSError, RuleError

if TYPE_CHECKING:
    from numpy.typing import NDArray


log = logging.getLogger(__name__)


def geometries(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> NDArray[np.object_]:
    """The geometries of a frame or series as an object array, for shapely's vectorised functions."""
    return np.asarray(getattr(gdf, "geometry", gdf).values, dtype=object)


def same_metric_crs(*frames: tuple[str, gpd.GeoDataFrame | gpd.GeoSeries | None]) -> Any:
    """The one projected CRS the inputs share; a CRSError naming both CRSs otherwise."""
    named = [(what, gdf) for what, gdf in frames if gdf is not None]
    first_what, first = named[0]
    if first.crs is None:
        msg = f"the {first_what} have no CRS"
        raise CRSError(msg + " (hint: set it with .set_crs(...))", code="E-CRS-MISSING")
    crs = CRS.from_user_input(first.crs)
    for what, gdf in named[1:]:
        if gdf.crs is None:
            msg = f"the {what} have no CRS; the {first_what} are in {crs.to_string()}"
            raise CRSError(msg + " (hint: set it with .set_crs(...))", code="E-CRS-MISSING")
        other = CRS.from_user_input(gdf.crs)
        if not other.equals(crs):
            msg = (f"the {first_what} are in {crs.to_string()} but the {what} are in {other.to_string()}; "
                   "nbgeo does not reproject silently")
            raise CRSError(msg + f" (hint: bring both into one metric CRS, e.g. .to_crs({crs.to_string()!r}))",
                           code="E-CRS-MISMATCH")
    if crs.is_geographic:
        msg = f"the {first_what} are in the geographic CRS {crs.to_string()}; distances and areas need metres"
        raise CRSError(msg + " (hint: use Dataset.metric(...) or .to_crs(a projected CRS))", code="E-CRS-GEOGRAPHIC")
    return first.crs


def grown_boxes(geoms: NDArray[np.object_], grow: float | NDArray[np.float64]) -> NDArray[np.object_]:
    """Bounding boxes grown by ``grow`` on every side (a scalar, or one value per geometry)."""
    b = shapely.bounds(geoms)
    g = np.broadcast_to(np.asarray(grow, dtype=float), len(geoms))
    return shapely.box(b[:, 0] - g, b[:, 1] - g, b[:, 2] + g, b[:, 3] + g)


_PREFILTER_MIN = 100_000  # sites; below this the STRtree alone is quicker


_GRID_CELLS = 1 << 22


def may_touch(site_bounds: NDArray[np.float64], box_bounds: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which sites' bounding boxes may touch one of the boxes, from a coarse occupancy grid.

    Conservative (never drops a site that touches a box): each box marks every
    grid cell it covers; a site smaller than a cell is looked up at the (at
    most four) cells its corners fall in; larger sites are always kept. On
    layers where constraints cover a small part of the city this spares the
    spatial index most of its queries.
    """
    x0, y0 = box_bounds[:, 0].min(), box_bounds[:, 1].min()
    x1, y1 = box_bounds[:, 2].max(), box_bounds[:, 3].max()
    span = max(x1 - x0, y1 - y0, 1e-9)
    sizes = np.maximum(site_bounds[:, 2] - site_bounds[:, 0], site_bounds[:, 3] - site_bounds[:, 1])
    cell = max(float(np.nanmedian(sizes)) * 2, span / np.sqrt(_GRID_CELLS), 1e-9)
    nx, ny = int(np.ceil((x1 - x0) / cell)) + 1, int(np.ceil((y1 - y0) / cell)) + 1
    # Mark the cells each box covers with a 2-D difference array, then sum it up.
    bi0 = ((box_bounds[:, 1] - y0) // cell).astype(np.int64)
    bi1 = ((box_bounds[:, 3] - y0) // cell).astype(np.int64)
    bj0 = ((box_bounds[:, 0] - x0) // cell).astype(np.int64)
    bj1 = ((box_bounds[:, 2] - x0) // cell).astype(np.int64)
    diff = np.zeros((ny + 1, nx + 1), dtype=np.int32)
    np.add.at(diff, (bi0, bj0), 1)
    np.add.at(diff, (bi0, bj1 + 1), -1)
    np.add.at(diff, (bi1 + 1, bj0), -1)
    np.add.at(diff, (bi1 + 1, bj1 + 1), 1)
    occupied = diff.cumsum(axis=0).cumsum(axis=1)[:ny, :nx] > 0
    outside = ((site_bounds[:, 2] < x0) | (site_bounds[:, 0] > x1) | (site_bounds[:, 3] < y0)
               | (site_bounds[:, 1] > y1))
    with np.errstate(invalid="ignore"):
        si0 = np.clip((site_bounds[:, 1] - y0) // cell, 0, ny - 1)
        si1 = np.clip((site_bounds[:, 3] - y0) // cell, 0, ny - 1)
        sj0 = np.clip((site_bounds[:, 0] - x0) // cell, 0, nx - 1)
        sj1 = np.clip((site_bounds[:, 2] - x0) // cell, 0, nx - 1)
    bad = np.isnan(si0) | np.isnan(si1) | np.isnan(sj0) | np.isnan(sj1)
    si0, si1, sj0, sj1 = (np.nan_to_num(v).astype(np.int64) for v in (si0, si1, sj0, sj1))
    small = (si1 - si0 <= 1) & (sj1 - sj0 <= 1)
    hit = occupied[si0, sj0] | occupied[si0, sj1] | occupied[si1, sj0] | occupied[si1, sj1]
    return ~bad & ~outside & (hit | ~small)


def query_boxes(tree: shapely.STRtree, box_bounds: NDArray[np.float64], sites: NDArray[np.object_],
           predicate: str | None = None) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``tree.query(sites, predicate)``, with the occupancy-grid prefilter on large site layers."""
    if len(sites) < _PREFILTER_MIN or not len(box_bounds):
        return tree.query(sites, predicate=predicate)
    keep = np.flatnonzero(may_touch(shapely.bounds(sites), box_bounds))
    s, o = tree.query(sites[keep], predicate=predicate)
    return keep[s], o


def near_pairs(
    sites: NDArray[np.object_], others: NDArray[np.object_], reach: float | NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Pairs ``(site, other)`` closer than ``reach`` (scalar or per other), with their distances.

    One STRtree query of the sites against the others' boxes grown by their
    reach (a necessary condition, as the box distance never exceeds the true
    one), then exact distances on the candidates only.
    """
    empty = np.zeros(0, dtype=np.int64)
    if not len(sites) or not len(others):
        return empty, empty, np.zeros(0)
    boxes = grown_boxes(others, reach)
    s, o = query_boxes(shapely.STRtree(boxes), shapely.bounds(boxes), sites)
    d = shapely.distance(sites[s], others[o])
    r = np.broadcast_to(np.asarray(reach, dtype=float), len(others))
    keep = d <= r[o]
    return s[keep], o[keep], d[keep]


def first_per_site(s: NDArray[np.int64], key: NDArray[np.float64]) -> NDArray[np.int64]:
    """Positions (into the pair arrays) of the pair with the smallest ``key`` for each site."""
    order = np.lexsort((key, s))
    _, first = np.unique(s[order], return_index=True)
    return order[first]


def dissolve_by_id(geoms: NDArray[np.object_], ids: NDArray[Any]) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """Merge features whose interiors overlap, so that overlaps are not counted twice.

    Returns the geometries and their ids (``"a+b"`` for merged groups). Layers
    without overlapping features (the usual case) come back unchanged.
    """
    ids = np.asarray([str(i) for i in ids], dtype=object)
    if len(geoms) < 2:
        return geoms, ids
    s, o = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = s < o
    s, o = s[keep], o[keep]
    limits.check_overlay_work(geoms, geoms, s, o, a_ids=ids, b_ids=ids, what="merge of overlapping features")
    overlapping = ~shapely.touches(geoms[s], geoms[o])
    s, o = s[overlapping], o[overlapping]
    if not len(s):
        return geoms, ids
    n = len(geoms)
    graph = coo_matrix((np.ones(len(s)), (s, o)), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    size = np.bincount(label, minlength=count)
    alone = size[label] == 1
    merged_geoms, merged_ids = list(geoms[alone]), list(ids[alone])
    order = np.argsort(label, kind="stable")
    members = order[size[label[order]] > 1]
    for group in np.split(members, np.flatnonzero(np.diff(label[members])) + 1):
        # One iteration per group of overlapping features (few), not per feature or site.
        merged_geoms.append(shapely.union_all(geoms[group]))
        merged_ids.append("+".join(ids[group]))
    log.info("Merged %d overlapping features into %d", n, count)
    return np.asarray(merged_geoms, dtype=object), np.asarray(merged_ids, dtype=object)


def geometry_kind(geoms: NDArray[np.object_]) -> str:
    """``point``, ``line`` or ``polygon``: the dimension of a layer's geometries."""
    # Type ids: 0 point, 1-2 lines, 3 polygon, 4 multipoint, 5 multiline, 6 multipolygon; -1 missing.
    dim_of_type = np.array([0, 1, 1, 2, 0, 1, 2, -1, -1], dtype=np.int64)
    types = shapely.get_type_id(geoms)
    dims = dim_of_type[types[(types >= 0) & (types < 7)]]
    dims = dims[dims >= 0]
    if not len(dims):
        return "polygon"
    if (dims != dims[0]).any():
        msg = "a rule's sites must all be points, all lines or all polygons"
        raise RuleError(msg + " (hint: split the layer by geometry type)", code="E-RULE-GEOMTYPE")
    return ("point", "line", "polygon")[int(dims[0])]


def geometry_size(geoms: NDArray[np.object_], kind: str) -> NDArray[np.float64]:
    """Area of polygons, length of lines (``kind`` from :func:`geometry_kind`)."""
    return shapely.area(geoms) if kind == "polygon" else shapely.length(geoms)


def pieces_frame(index: Any, geoms: Any, role: str, other: Any) -> gpd.GeoDataFrame:
    """The pieces a map shows for a rule: geometries with their site, role and the feature involved."""
    return gpd.GeoDataFrame({"role": role, "other": pd.Series(list(other), dtype=object).to_numpy()},
                            geometry=list(geoms), index=list(index))


def site_pieces(sites: gpd.GeoDataFrame, rows: pd.DataFrame) -> gpd.GeoDataFrame:
    """The sites of ``rows`` themselves, as pieces."""
    return pieces_frame(rows.index, sites.geometry.loc[rows.index], "site", rows["other"])


def concat_pieces(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Pieces of several kinds in one frame."""
    return gpd.GeoDataFrame(pd.concat(frames), geometry="geometry")


def overlap_measure(
    sites: NDArray[np.object_], areas: NDArray[np.object_], kind: str, ids: tuple[Any, Any],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Pairs of sites and (disjoint) areas that intersect, with the size of their overlap.

    Sizes are areas for polygons, lengths for lines and, for points, the depth
    of the point inside the area (its distance to the area's edge). ``ids``
    are the site and area ids, for a refusal over the work budget.
    """
    tree = shapely.STRtree(areas)
    if kind == "polygon":
        # Boxes that meet are enough: the clipping measures 0 where the polygons do not overlap.
        s, o = query_boxes(tree, shapely.bounds(areas), sites)
        limits.check_overlay_work(sites, areas, s, o, a_ids=ids[0], b_ids=ids[1], what="overlap measure")
        size = overlap_area(sites, areas, s, o)
        some = size > 0
        return s[some], o[some], size[some]
    s, o = query_boxes(tree, shapely.bounds(areas), sites, "intersects")
    if kind == "point":
        return s, o, shapely.distance(sites[s], shapely.boundary(areas[o]))
    shapely.prepare(areas)
    inside = shapely.contains_properly(areas[o], sites[s])
    size = geometry_size(sites[s], kind)
    cut = ~inside
    limits.check_overlay_work(sites, areas, s[cut], o[cut], a_ids=ids[0], b_ids=ids[1], what="overlap measure")
    size[cut] = geometry_size(shapely.intersection(sites[s[cut]], areas[o[cut]]), kind)
    return s, o, size
