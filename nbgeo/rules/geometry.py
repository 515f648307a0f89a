"""The spatial work the rules share: pairs from one STRtree query, exact vectorised measures on them.

The pieces a map shows for a rule are made here too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
    order = np.lexsort((o, s))  # layer order, not the tree's: ties then do not depend on what the tree holds
    s, o = s[order], o[order]
    d = shapely.distance(sites[s], others[o])
    r = np.broadcast_to(np.asarray(reach, dtype=float), len(others))
    keep = d <= r[o]
    return s[keep], o[keep], d[keep]


def first_per_site(s: NDArray[np.int64], key: NDArray[np.float64]) -> NDArray[np.int64]:
    """Positions (into the pair arrays) of the pair with the smallest ``key`` for each site."""
    order = np.lexsort((key, s))
    _, first = np.unique(s[order], return_index=True)
    return order[first]


@dataclass(frozen=True)
class Groups:
    """A layer's features and the groups of them whose interiors overlap, found but not merged.

    A rule must not count an overlap of two excluded areas (or two adjacent
    districts drawn with a small overlap) twice, so features whose interiors
    overlap, directly or through others, count as one: group ``k`` has the id
    ``ids[k]`` (the feature's own id, or ``"a+b"`` for a group), numbered as
    the merged layer lists them (lone features first, in layer order, then the
    groups). The merge itself is never computed for the whole layer: a union
    of every overlapping district of a province is far more work than the
    audit (issue 18); :func:`group_pairs` merges, per site, only the pieces of
    the members that site meets.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import box
    >>> g = overlap_groups(np.array([box(0, 0, 2, 2), box(5, 0, 6, 1), box(1, 0, 3, 2)]), ["a", "b", "c"])
    >>> g.group.tolist(), g.ids.tolist()
    ([1, 0, 1], ['b', 'a+c'])
    """

    geoms: NDArray[np.object_]
    group: NDArray[np.int64]
    ids: NDArray[np.object_]

    @property
    def member_ids(self) -> NDArray[np.object_]:
        """The id of each feature's group."""
        return self.ids[self.group]


def overlap_groups(geoms: NDArray[np.object_], ids: Any) -> Groups:
    """The groups of features whose interiors overlap (see :class:`Groups`); touching features stay apart."""
    ids = np.asarray([str(i) for i in ids], dtype=object)
    n = len(geoms)
    alone_groups = Groups(geoms, np.arange(n, dtype=np.int64), ids)
    if n < 2:
        return alone_groups
    s, o = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = s < o
    s, o = s[keep], o[keep]
    overlapping = ~shapely.touches(geoms[s], geoms[o])
    s, o = s[overlapping], o[overlapping]
    if not len(s):
        return alone_groups
    count, label = connected_components(coo_matrix((np.ones(len(s)), (s, o)), shape=(n, n)), directed=False)
    size = np.bincount(label, minlength=count)
    alone = size[label] == 1
    group = np.empty(n, dtype=np.int64)
    group[alone] = np.arange(int(alone.sum()))
    # The groups of several features follow the lone ones, in the order of their labels.
    multi_labels = np.unique(label[~alone])
    group[~alone] = int(alone.sum()) + np.searchsorted(multi_labels, label[~alone])
    out_ids = np.empty(int(alone.sum()) + len(multi_labels), dtype=object)
    out_ids[group[alone]] = ids[alone]
    members = np.flatnonzero(~alone)
    members = members[np.argsort(group[members], kind="stable")]
    cuts = np.flatnonzero(np.diff(group[members])) + 1
    out_ids[int(alone.sum()):] = ["+".join(ids[m]) for m in np.split(members, cuts)]  # one per group (few)
    log.info("%d of %d features overlap others, in %d groups", len(members), n, len(multi_labels))
    return Groups(geoms, group, out_ids)


def group_pairs(
    groups: Groups, sites: NDArray[np.object_], s: NDArray[np.int64], m: NDArray[np.int64],
    margin: float | NDArray[np.float64] = 1.0, *, site_ids: Any = None, what: str = "merge of overlapping features",
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.object_], NDArray[np.object_]]:
    """Pairs of sites and features turned into pairs of sites and groups, each with its own geometry.

    ``(s, m)`` are pairs of a site and a feature it meets (from an STRtree
    query). Returns pairs ``(s, v)`` sorted by site and group, the geometries
    ``v`` points into and their group ids: where a site meets one feature of a
    group, that feature; where it meets several, the union of those features
    clipped to the site's box grown by ``margin`` (scalar or one per pair),
    which is the group's geometry wherever the site can reach. Only the
    pieces near each such site are merged, so the work follows the sites in
    overlaps, not the size of the groups.
    """
    gid = groups.group[m]
    order = np.lexsort((m, gid, s))
    s, m, gid = s[order], m[order], gid[order]
    margins = np.broadcast_to(np.asarray(margin, dtype=float), len(order))[order]
    start = np.r_[True, (s[1:] != s[:-1]) | (gid[1:] != gid[:-1])] if len(s) else np.zeros(0, dtype=bool)
    pair = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    count = np.bincount(pair, minlength=len(first)) if len(s) else np.zeros(0, dtype=np.int64)
    v = m[first].copy()
    vgeoms, vids = groups.geoms, groups.member_ids
    multi = np.flatnonzero(count > 1)
    if len(multi):
        in_multi = count[pair] > 1
        ms, mm, mp = s[in_multi], m[in_multi], pair[in_multi]
        limits.check_overlay_work(sites, groups.geoms, ms, mm, a_ids=np.arange(len(sites)) if site_ids is None else site_ids,
                                  b_ids=groups.member_ids, what=what)
        row = np.searchsorted(multi, mp)
        rank = np.arange(len(mp)) - np.searchsorted(mp, mp)
        b = shapely.bounds(sites[ms])
        grow = margins[in_multi]
        pieces = shapely.intersection(groups.geoms[mm], shapely.box(b[:, 0] - grow, b[:, 1] - grow, b[:, 2] + grow,
                                                                    b[:, 3] + grow))
        merged = np.full(len(multi), None, dtype=object)
        for r in range(int(rank.max()) + 1):  # one vectorised union per rank (a handful), not per site
            at = rank == r
            merged[row[at]] = pieces[at] if r == 0 else shapely.union(merged[row[at]], pieces[at])
        v[multi] = len(vgeoms) + np.arange(len(multi))
        vgeoms = np.concatenate([vgeoms, merged])
        vids = np.concatenate([vids, groups.ids[gid[first[multi]]]])
    return s[first], v, vgeoms, vids


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
    sites: NDArray[np.object_], groups: Groups, kind: str, site_ids: Any,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.object_], NDArray[np.object_]]:
    """Pairs of sites and groups of areas (:class:`Groups`) that intersect, with the size of their overlap.

    Sizes are areas for polygons, lengths for lines and, for points, the depth
    of the point inside the group (its distance to the group's edge).
    ``site_ids`` name the sites in a refusal over the work budget. Returns the
    pairs ``(s, v)``, their sizes, and the geometries and group ids ``v``
    points into (see :func:`group_pairs`).
    """
    areas = groups.geoms
    tree = shapely.STRtree(areas)
    area_ids = groups.member_ids
    if kind == "polygon":
        # Boxes that meet are enough: the clipping measures 0 where the polygons do not overlap.
        s, m = query_boxes(tree, shapely.bounds(areas), sites)
        s, o, areas, area_ids = group_pairs(groups, sites, s, m, site_ids=site_ids)
        limits.check_overlay_work(sites, areas, s, o, a_ids=site_ids, b_ids=area_ids, what="overlap measure")
        size = overlap_area(sites, areas, s, o)
        some = size > 0
        return s[some], o[some], size[some], areas, area_ids
    s, m = query_boxes(tree, shapely.bounds(areas), sites, "intersects")
    if kind == "point":
        return _point_depths(groups, sites, s, m, site_ids)
    s, o, areas, area_ids = group_pairs(groups, sites, s, m, site_ids=site_ids)
    shapely.prepare(areas)
    inside = shapely.contains_properly(areas[o], sites[s])
    size = geometry_size(sites[s], kind)
    cut = ~inside
    limits.check_overlay_work(sites, areas, s[cut], o[cut], a_ids=site_ids, b_ids=area_ids, what="overlap measure")
    size[cut] = geometry_size(shapely.intersection(sites[s[cut]], areas[o[cut]]), kind)
    return s, o, size, areas, area_ids


def _point_depths(
    groups: Groups, sites: NDArray[np.object_], s: NDArray[np.int64], m: NDArray[np.int64], site_ids: Any,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.object_], NDArray[np.object_]]:
    """Depth of each point inside each group it lies in: its distance to the edge of the group's union.

    A point in several features of a group is measured against their union
    clipped to a square around it; when the edge found is nearer than the
    square's side the depth is exact (anything beyond the square is farther),
    otherwise the square grows and that point is measured again.
    """
    depth_in = shapely.distance(sites[s], shapely.boundary(groups.geoms[m]))
    # A square of half-side twice the deepest feature's depth, plus 1 m, usually settles it at once.
    half = np.zeros(len(sites))
    np.maximum.at(half, s, depth_in)
    grow_m = 2 * half[s] + 1.0
    ps, o, areas, area_ids = group_pairs(groups, sites, s, m, grow_m, site_ids=site_ids)
    key_m = s * len(groups.ids) + groups.group[m]
    key = np.unique(key_m)  # the pairs' keys, in the pairs' order (by site, then group)
    grow = np.zeros(len(ps))
    np.maximum.at(grow, np.searchsorted(key, key_m), grow_m)
    depth = shapely.distance(sites[ps], shapely.boundary(areas[o]))
    todo = np.flatnonzero((o >= len(groups.geoms)) & (depth >= grow * (1 - 1e-9)))
    while len(todo):  # the square's edge was the nearest: grow it fourfold (rare; a few rounds at most)
        grow[todo] *= 4
        sel = np.isin(key_m, key[todo])
        _, again_o, again, _ = group_pairs(groups, sites, s[sel], m[sel], grow[np.searchsorted(key, key_m[sel])],
                                           site_ids=site_ids)
        areas[o[todo]] = again[again_o]
        depth[todo] = shapely.distance(sites[ps[todo]], shapely.boundary(areas[o[todo]]))
        todo = todo[depth[todo] >= grow[todo] * (1 - 1e-9)]
    return ps, o, depth, areas, area_ids


def spatial_tiles(geoms: NDArray[np.object_], n_tiles: int) -> NDArray[np.int64]:
    """A tile number for each geometry: at least ``n_tiles`` tiles of about equal counts, in strips by x then y.

    Geometries without a box (missing or empty) go to tile 0.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import Point
    >>> spatial_tiles(np.array([Point(x, y) for x in range(4) for y in range(4)]), 4).tolist()
    [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]
    """
    n = len(geoms)
    if n_tiles <= 1 or n == 0:
        return np.zeros(n, dtype=np.int64)
    b = shapely.bounds(geoms)
    cx = np.nan_to_num((b[:, 0] + b[:, 2]) / 2)
    cy = np.nan_to_num((b[:, 1] + b[:, 3]) / 2)
    strips = int(np.ceil(np.sqrt(n_tiles)))
    per_strip = int(np.ceil(n_tiles / strips))
    rank_x = np.empty(n, dtype=np.int64)
    rank_x[np.lexsort((cy, cx))] = np.arange(n)
    strip = rank_x * strips // n
    order = np.lexsort((cx, cy, strip))
    start = np.searchsorted(strip[order], np.arange(strips))
    size = np.diff(np.r_[start, n])
    rank_y = np.empty(n, dtype=np.int64)
    rank_y[order] = np.arange(n) - start[strip[order]]
    tile = strip * per_strip + rank_y * per_strip // np.maximum(size[strip], 1)
    tile[shapely.is_missing(geoms) | shapely.is_empty(geoms)] = 0
    return tile


def neighbourhoods(geoms: NDArray[np.object_], reach: float, group: NDArray[np.int64], n_groups: int,
                   among: NDArray[np.object_] | None = None) -> list[NDArray[np.int64]]:
    """For each group of geometries: its members and every geometry within ``reach`` of one (sorted positions).

    With ``among``, the neighbours are positions in ``among`` (the members not included).

    "Within reach" is judged on boxes grown by ``reach``, which never misses a
    pair closer than ``reach``. A rule whose verdict on a site depends only on
    the sites within its reach (spacing, overlap) gives, on a group's
    neighbourhood, the verdicts it gives on the whole layer for the group's
    own members.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import Point
    >>> pts = np.array([Point(0, 0), Point(5, 0), Point(50, 0), Point(58, 0)])
    >>> [h.tolist() for h in neighbourhoods(pts, 10.0, np.array([0, 0, 1, 1]), 2)]
    [[0, 1], [2, 3]]
    >>> [h.tolist() for h in neighbourhoods(pts, 45.0, np.array([0, 0, 1, 1]), 2)]
    [[0, 1, 2], [1, 2, 3]]
    """
    others = geoms if among is None else among
    size = max(len(others), 1)
    has = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    tree_has = np.flatnonzero(~(shapely.is_missing(others) | shapely.is_empty(others)))
    s, o = shapely.STRtree(others[tree_has]).query(grown_boxes(geoms[has], reach))
    own = group * size + np.arange(len(geoms)) if among is None else np.zeros(0, dtype=np.int64)
    key = np.unique(np.r_[group[has[s]] * size + tree_has[o], own])
    owner, member = np.divmod(key, size)
    cuts = np.searchsorted(owner, np.arange(n_groups + 1))
    return [member[cuts[k]:cuts[k + 1]] for k in range(n_groups)]
