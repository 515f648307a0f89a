"""Access points: how a feature (point, line or polygon) reaches the road network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError
from .graph import RoadNetwork, min_per_owner

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray


# Non-point geometries reach every node within this distance of them (metres): a numerical
# tolerance for nodes lying on a line or a polygon's edge, not a snapping radius.
_ON_GEOMETRY_M = 1.0

# --------------------------------------------------------------------------------------------
# Access points: how a feature reaches the network
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Where features meet the network: one row per (feature, node) pair.

    Attributes
    ----------
    owner
        Position of the feature (``0..n_features-1``).
    node
        Node index.
    offset
        Metres between the feature and the node: straight for snapping (0 inside a
        polygon), along the road for a road crossing a polygon.
    n_features
        Number of features, including those without any access node.
    """

    owner: NDArray[np.int64]
    node: NDArray[np.int64]
    offset: NDArray[np.float64]
    n_features: int


def to_network_geoms(features: Any, net: RoadNetwork, what: str) -> tuple[NDArray[np.object_], pd.Index]:
    """Shapely geometries in the network CRS, and the features' index."""
    if isinstance(features, (gpd.GeoDataFrame, gpd.GeoSeries)):
        gs = features.geometry
        if gs.crs is None:
            msg = f"the {what} have no CRS (hint: set_crs(...) to the CRS of their coordinates)"
            raise CRSError(msg, code="E-CRS-MISSING")
        if not gs.crs.equals(net.crs):
            gs = gs.to_crs(net.crs)
        return np.asarray(gs.values, dtype=object), features.index
    arr = np.asarray(features)
    if arr.dtype != object:
        xy = arr.astype(np.float64).reshape(-1, 2)
        return shapely.points(xy), pd.RangeIndex(len(xy))
    return arr.ravel(), pd.RangeIndex(arr.size)


def access_points(net: RoadNetwork, geoms: ArrayLike, *, max_snap: float | None = None,
                  main_component: bool = True, direction: Literal["to", "from"] = "to") -> Access:
    """The network nodes through which each geometry is reached, with the distance to each.

    * A **point** is reached at its nearest node (KD-tree), at the straight
      distance to it (the snapping distance).
    * A **polygon** (a park) is reached at every node inside it or on its
      edge, at the node nearest to it, and along every road that crosses it:
      from the crossing, the road leads on to its next node (``direction="to"``:
      leaving the park) or comes from its previous node (``"from"``: arriving),
      at the distance along that road. So a park crossed by a road is reached
      from that road at no extra distance, with no node inside it needed.
    * A **line** is reached at every node within 1 m of it and at its nearest node.

    Parameters
    ----------
    net
        The network.
    geoms
        Shapely geometries (or ``(n, 2)`` coordinates) in the network's CRS.
    max_snap
        Drop access nodes farther than this (metres): such features count as
        off the network.
    main_component
        Reach only nodes of the largest strongly connected component.
    direction
        ``"to"`` when travel starts at the geometry, ``"from"`` when it ends there
        (only roads crossing polygons depend on it).

    Returns
    -------
    Access

    Examples
    --------
    >>> from nbgeo.network import network_from_arrays
    >>> import numpy as np, shapely
    >>> net = network_from_arrays(np.array([0.0, 50.0, 100.0]), np.zeros(3), u=[0, 1, 1, 2], v=[1, 0, 2, 1],
    ...                           crs="EPSG:32651")
    >>> acc = access_points(net, [shapely.Point(10, 5), shapely.box(40, -10, 110, 10)])
    >>> acc.owner.tolist(), acc.node.tolist(), acc.offset.round(2).tolist()
    ([0, 1, 1, 1], [0, 0, 1, 2], [11.18, 40.0, 0.0, 0.0])

    A park between two nodes, crossed by the road: 30 m along the road to node 1.

    >>> park = shapely.box(60, -10, 70, 10)
    >>> acc = access_points(net, [park])
    >>> acc.node.tolist(), acc.offset.tolist()
    ([1, 2], [10.0, 30.0])
    """
    arr = np.asarray(geoms)
    if arr.dtype != object:
        arr = shapely.points(np.asarray(arr, dtype=np.float64).reshape(-1, 2))
    arr = arr.ravel()
    n = len(arr)
    owners, nodes, offsets = [], [], []
    type_id = shapely.get_type_id(arr)
    valid = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    candidates = net.snap_nodes(main_component)
    if len(candidates) == 0:
        return Access(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), n)
    is_point = valid & (type_id == 0)
    if is_point.any():
        pos = np.flatnonzero(is_point)
        node, dist = net.snap(np.column_stack([shapely.get_x(arr[pos]), shapely.get_y(arr[pos])]),
                              main_component=main_component)
        ok = node >= 0
        owners.append(pos[ok])
        nodes.append(node[ok])
        offsets.append(dist[ok])
    other = valid & ~is_point
    if other.any():
        pos = np.flatnonzero(other)
        tree = net._strtree_main if main_component else net._strtree_all
        # Every node on or within 1 m of the geometry (inside, for a polygon)...
        left, right = tree.query(arr[pos], predicate="dwithin", distance=_ON_GEOMETRY_M)
        # ...and the nearest node to the geometry, wherever it is.
        near_left, near_right = tree.query_nearest(arr[pos], all_matches=False)
        left = np.concatenate([left, near_left])
        right = np.concatenate([right, near_right])
        nodes_xy = shapely.points(net.x[candidates[right]], net.y[candidates[right]])
        owners.append(pos[left])
        nodes.append(candidates[right])
        offsets.append(shapely.distance(arr[pos[left]], nodes_xy))
        polygons = pos[np.isin(type_id[pos], (3, 6))]
        if len(polygons):
            o, nd, off = _crossing_access(net, arr, polygons, direction, main_component)
            owners.append(o)
            nodes.append(nd)
            offsets.append(off)
    if owners:
        owner = np.concatenate(owners).astype(np.int64)
        node = np.concatenate(nodes).astype(np.int64)
        offset = np.concatenate(offsets).astype(np.float64)
    else:
        owner, node, offset = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    if max_snap is not None:
        keep = offset <= max_snap
        owner, node, offset = owner[keep], node[keep], offset[keep]
    # One row per (feature, node), with the least offset, sorted by feature then node.
    uniq, inv = np.unique(owner * max(net.n_nodes, 1) + node, return_inverse=True)
    offset, row = min_per_owner(inv, offset, len(uniq))
    return Access(owner=owner[row], node=node[row], offset=offset, n_features=n)


def _crossing_access(net: RoadNetwork, arr: NDArray[np.object_], polygons: NDArray[np.int64],
                     direction: str, main_component: bool) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                                                     NDArray[np.float64]]:
    """Access through the roads that cross polygons: the next (or previous) node, at the distance along the road."""
    left, right, segments, pieces = net.crossing_pieces(arr[polygons])
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(left) == 0:
        return empty
    a, b = pieces.a[right], pieces.b[right]
    ax, ay = net.x[a], net.y[a]
    dx, dy = net.x[b] - ax, net.y[b] - ay
    norm = dx * dx + dy * dy
    f_min = np.ones(len(left))
    f_max = np.zeros(len(left))
    # A piece the polygon covers lies wholly in it: from its start (0) to its end (1), no overlay needed (the
    # intersection would be the piece itself, whose ends give exactly 0 and 1).
    shapely.prepare(arr[polygons])
    whole = (norm > 0) & shapely.covers(arr[polygons[left]], segments)
    f_min[whole], f_max[whole] = 0.0, 1.0
    cut = np.flatnonzero(~whole)
    inside = shapely.intersection(segments[cut], arr[polygons[left[cut]]])
    coords, at = shapely.get_coordinates(inside, return_index=True)
    idx = cut[at]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = ((coords[:, 0] - ax[idx]) * dx[idx] + (coords[:, 1] - ay[idx]) * dy[idx]) / norm[idx]
    f = np.clip(np.nan_to_num(f, nan=0.0), 0.0, 1.0)
    np.minimum.at(f_min, idx, f)
    np.maximum.at(f_max, idx, f)
    got = f_min <= f_max  # pairs whose intersection had coordinates
    l_ab, l_ba = pieces.length_ab[right], pieces.length_ba[right]
    owner = polygons[left]
    with np.errstate(invalid="ignore"):  # 0 × inf where a direction is closed: NaN, dropped below
        if direction == "to":  # leave the polygon along a->b to b, or along b->a to a
            cand = [(b, (1 - f_max) * l_ab), (a, f_min * l_ba)]
        else:  # arrive from a along a->b, or from b along b->a
            cand = [(a, f_min * l_ab), (b, (1 - f_max) * l_ba)]
    out_o, out_n, out_d = [], [], []
    for node, off in cand:
        ok = got & np.isfinite(off)
        if main_component:
            ok &= net.in_main_component[node]
        out_o.append(owner[ok])
        out_n.append(node[ok])
        out_d.append(off[ok])
    return np.concatenate(out_o), np.concatenate(out_n), np.concatenate(out_d)
