"""Areas of polygon intersections, pair by pair, vectorised (plumbing for :mod:`nbgeo.rules`).

:func:`overlap_area` returns ``area(a[s[k]] ∩ b[o[k]])`` for index pairs ``(s, o)``.
When ``a[s[k]]`` is a small convex polygon (a parcel, a park outline: at most
:data:`MAX_CLIP_VERTICES` corners, no hole) the area comes from clipping every
ring of ``b[o[k]]`` by the half-planes of the window's edges (Sutherland–Hodgman),
run on all pairs at once in numpy; other pairs go to GEOS. Clipping any ring by
a convex window is exact: where the clipped ring falls apart it is joined by
zero-width slivers along the window's edge, which add no area. Holes of ``b``
are clipped the same way and subtracted. Coordinates are read once per
polygon, not once per pair.

Examples
--------
>>> import numpy as np
>>> from shapely import Polygon, box
>>> a = np.array([box(0, 0, 10, 10), Polygon([(0, 0), (10, 0), (5, 5), (10, 10), (0, 10)])], dtype=object)
>>> b = np.array([box(5, 5, 20, 20), box(5, -5, 20, 20)], dtype=object)
>>> overlap_area(a, b, np.array([0, 1]), np.array([0, 1])).tolist()   # the second window is not convex: GEOS
[25.0, 25.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["MAX_CLIP_VERTICES", "overlap_area"]

#: Convex windows with more corners than this are measured by GEOS instead.
MAX_CLIP_VERTICES = 16


def _ragged(starts: NDArray[np.int64], lengths: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices ``starts[i] + 0..lengths[i]-1`` for every i, and the i each belongs to."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return starts[owner] + offset, owner


def _windows(a: NDArray[np.object_]) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.int64]]:
    """Which polygons can be clipped by, their corners counter-clockwise (padded), and their edge counts."""
    n = len(a)
    ok = (shapely.get_type_id(a) == 3) & ~shapely.is_empty(a)
    ok[ok] &= shapely.get_num_interior_rings(a[ok]) == 0
    ok[ok] &= shapely.get_num_coordinates(a[ok]) <= MAX_CLIP_VERTICES + 1
    idx = np.flatnonzero(ok)
    xy, owner = shapely.get_coordinates(a[idx], return_index=True)
    counts = np.bincount(owner, minlength=len(idx))
    starts = np.cumsum(counts) - counts
    k_max = max(int(counts.max(initial=1)) - 1, 1)
    pos = np.arange(len(owner)) - starts[owner]
    corners = np.empty((len(idx), k_max + 1, 2))
    corners[:] = xy[np.minimum(starts, len(xy) - 1)][:, None, :] if len(xy) else 0.0
    corners[owner, pos] = xy
    # Orientation and convexity from the turn at every corner (zero-length edges ignored).
    ex = np.diff(corners[..., 0], axis=1)
    ey = np.diff(corners[..., 1], axis=1)
    n_edges = counts - 1
    valid = np.arange(k_max)[None, :] < n_edges[:, None]
    turn_x = np.where(valid, ex, 0.0)
    turn_y = np.where(valid, ey, 0.0)
    signed = 0.5 * (corners[:, :-1, 0] * corners[:, 1:, 1] - corners[:, 1:, 0] * corners[:, :-1, 1]).sum(axis=1)
    nxt_x = np.roll(turn_x, -1, axis=1)
    nxt_y = np.roll(turn_y, -1, axis=1)
    last = np.clip(n_edges - 1, 0, k_max - 1)
    rows = np.arange(len(idx))
    nxt_x[rows, last] = turn_x[:, 0]
    nxt_y[rows, last] = turn_y[:, 0]
    cross = turn_x * nxt_y - turn_y * nxt_x
    length = np.hypot(turn_x, turn_y) * np.hypot(nxt_x, nxt_y)
    angle = np.where(valid & (length > 0), np.arctan2(cross, turn_x * nxt_x + turn_y * nxt_y), 0.0)
    sign = np.sign(signed)[:, None]
    convex = ((sign * cross >= -1e-9 * length) | ~valid).all(axis=1) & (
        np.abs(np.abs(angle.sum(axis=1)) - 2 * np.pi) < 1e-6) & (signed != 0)
    flip = signed < 0
    corners[flip] = corners[flip, ::-1]
    # Reversing a padded row moves the padding to the front: roll it back behind the real corners.
    shift = k_max - n_edges[flip]
    for_rows = np.flatnonzero(flip)
    cols = (np.arange(k_max + 1)[None, :] + shift[:, None]) % (k_max + 1)
    corners[for_rows] = corners[for_rows[:, None], cols]
    ok[idx[~convex]] = False
    out = np.zeros((n, k_max + 1, 2))
    out[idx] = corners
    edges = np.zeros(n, dtype=np.int64)
    edges[idx] = n_edges
    return ok, out, edges


def _rings(b: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64],
                                            NDArray[np.int64], NDArray[np.bool_]]:
    """Every ring of every polygon: vertices (without the closing one), ring starts, lengths, owner, hole flag."""
    parts, part_of = shapely.get_parts(b, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring_id = shapely.get_coordinates(rings, return_index=True)
    lengths = np.bincount(ring_id, minlength=len(rings)) - 1
    starts = np.cumsum(lengths + 1) - (lengths + 1)
    is_hole = np.ones(len(rings), dtype=bool)
    is_hole[np.unique(ring_part, return_index=True)[1]] = False
    return xy, starts, lengths, part_of[ring_part], is_hole


def _clip_areas(corners: NDArray[np.float64], n_edges: NDArray[np.int64], ring_xy: NDArray[np.float64],
                ring_start: NDArray[np.int64], ring_len: NDArray[np.int64], ring_owner: NDArray[np.int64],
                is_hole: NDArray[np.bool_], pair_window: NDArray[np.int64], pair_subject: NDArray[np.int64],
                n_subjects: int) -> NDArray[np.float64]:
    """Areas of window ∩ subject for each pair (window and subject given as row numbers)."""
    n = len(pair_window)
    # Rings of each pair's subject, then their vertices.
    rings_per_subject = np.bincount(ring_owner, minlength=n_subjects)
    first_ring = np.cumsum(rings_per_subject) - rings_per_subject
    order = np.argsort(ring_owner, kind="stable")
    ring_idx, ring_pair = _ragged(first_ring[pair_subject], rings_per_subject[pair_subject])
    ring_idx = order[ring_idx]
    vert, ring_of = _ragged(ring_start[ring_idx], ring_len[ring_idx])
    x, y = ring_xy[vert, 0], ring_xy[vert, 1]
    ring_id, vpair = ring_of, ring_pair[ring_of]
    # Work relative to each window's first corner: projected coordinates are large, areas small.
    win = corners[pair_window]
    origin = win[:, :1, :].copy()
    win = win - origin
    x, y = x - origin[vpair, 0, 0], y - origin[vpair, 0, 1]
    edges = n_edges[pair_window]
    # Cull: a run of vertices all beyond one side of the window's bounding box only shapes what the
    # clipping cuts away, so only its first and last vertex are kept (the chord between them lies
    # beyond the same side). Most of a large polygon's vertices go here, before the real clipping.
    lo = np.where(np.arange(win.shape[1])[None, :] <= edges[:, None], 0.0, np.nan)[..., None] + win
    xmin, ymin = np.nanmin(lo[..., 0], axis=1), np.nanmin(lo[..., 1], axis=1)
    xmax, ymax = np.nanmax(lo[..., 0], axis=1), np.nanmax(lo[..., 1], axis=1)
    code = np.select([x < xmin[vpair], x > xmax[vpair], y < ymin[vpair], y > ymax[vpair]], [1, 2, 3, 4], 0)
    first = np.r_[True, ring_id[1:] != ring_id[:-1]]
    last = np.r_[first[1:], True]
    prev = np.arange(-1, len(x) - 1)
    prev[first] = np.flatnonzero(last)
    nxt = np.arange(1, len(x) + 1)
    nxt[last] = np.flatnonzero(first)
    keep = (code == 0) | (code[prev] != code) | (code[nxt] != code)
    x, y, ring_id, vpair = x[keep], y[keep], ring_id[keep], vpair[keep]
    for k in range(corners.shape[1] - 1):
        if not len(x):
            break
        ax, ay = win[:, k, 0], win[:, k, 1]
        ex, ey = win[:, k + 1, 0] - ax, win[:, k + 1, 1] - ay
        side = ex[vpair] * (y - ay[vpair]) - ey[vpair] * (x - ax[vpair])  # >= 0: left of the edge, inside
        side[edges[vpair] <= k] = 1.0  # this window has fewer edges: keep everything
        # Each vertex i and the next one of its ring, j, form an edge of the ring.
        first = np.r_[True, ring_id[1:] != ring_id[:-1]]
        last = np.r_[first[1:], True]
        nxt = np.arange(1, len(x) + 1)
        nxt[last] = np.flatnonzero(first)
        inside = side >= 0
        inside_j = inside[nxt]
        cross = inside != inside_j
        # An edge emits its crossing (if it crosses) and then its end j (if j is inside).
        emit = cross.astype(np.int64) + inside_j
        src = np.repeat(np.arange(len(x)), emit)
        first_slot = np.r_[True, src[1:] != src[:-1]]
        take_cross = cross[src] & first_slot
        j = nxt[src]
        nx, ny = x[j], y[j]
        ci = src[take_cross]
        cj = nxt[ci]
        t = side[ci] / (side[ci] - side[cj])
        nx[take_cross] = x[ci] + t * (x[cj] - x[ci])
        ny[take_cross] = y[ci] + t * (y[cj] - y[ci])
        x, y, ring_id, vpair = nx, ny, ring_id[src], vpair[src]

    area = np.zeros(n)
    if len(x):
        starts = np.flatnonzero(np.r_[True, ring_id[1:] != ring_id[:-1]])
        nxt = np.arange(1, len(x) + 1)
        nxt[np.r_[starts[1:], len(x)] - 1] = starts
        twice = np.add.reduceat(x * y[nxt] - x[nxt] * y, starts)
        rid = ring_id[starts]
        sign = np.where(is_hole[ring_idx[rid]], -1.0, 1.0)
        np.add.at(area, ring_pair[rid], sign * 0.5 * np.abs(twice))
    # Rounding leaves areas of about eps × size² where the polygons only come close: that is no overlap.
    size = np.ptp(win[..., 0], axis=1) ** 2 + np.ptp(win[..., 1], axis=1) ** 2
    area[area <= 1e3 * np.finfo(float).eps * size] = 0.0
    return area


def overlap_area(a: NDArray[np.object_], b: NDArray[np.object_], s: NDArray[np.int64],
                 o: NDArray[np.int64]) -> NDArray[np.float64]:
    """``area(a[s[k]] ∩ b[o[k]])`` for every pair ``k`` (see the module docstring)."""
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    out = np.zeros(len(s))
    if not len(s):
        return out
    used_a, s_row = np.unique(s, return_inverse=True)
    ok, corners, n_edges = _windows(a[used_a])
    fast = ok[s_row]
    if fast.any():
        used_b, o_row = np.unique(o[fast], return_inverse=True)
        ring_xy, ring_start, ring_len, ring_owner, is_hole = _rings(b[used_b])
        out[fast] = _clip_areas(corners, n_edges, ring_xy, ring_start, ring_len, ring_owner, is_hole,
                                s_row[fast], o_row, len(used_b))
    slow = np.flatnonzero(~fast)
    if len(slow):
        # A window wholly inside its subject needs no overlay; the others go to GEOS.
        shapely.prepare(b)
        whole = shapely.contains_properly(b[o[slow]], a[s[slow]])
        out[slow[whole]] = shapely.area(a[s[slow[whole]]])
        cut = slow[~whole]
        out[cut] = shapely.area(shapely.intersection(a[s[cut]], b[o[cut]]))
    return out
