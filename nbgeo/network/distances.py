"""Shortest-path distances by road: from nodes, to the nearest facility, and as a sparse matrix."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from ..deprecation import renamed_keywords
from ..errors import InputError, RoadNetworkError
from .access import Access, access_points, to_network_geoms
from .graph import RoadNetwork, min_per_owner

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


@renamed_keywords(cutoff="distance")
def node_distances(
    net: RoadNetwork,
    sources: ArrayLike,
    *,
    offsets: ArrayLike | None = None,
    distance: float | None = None,
    direction: Literal["to", "from"] = "to",
    search: Literal["auto", "heap", "buckets"] = "auto",
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Road distance between every node and its nearest source node: one multi-source Dijkstra.

    Parameters
    ----------
    net
        The network.
    sources
        Source node indices (e.g. the nodes facilities snap to). Repeats are allowed.
    offsets
        Extra distance at each source (e.g. a facility's snapping distance);
        default 0. The nearest source is then the one with the least
        ``offset + road distance``.
    distance
        Stop at this distance (metres): farther nodes get ``inf``. Inclusive.
    direction
        ``"to"``: distance from each node *to* its nearest source, searched on
        the reversed graph (what "distance to the nearest charger" means).
        ``"from"``: distance from the nearest source to each node.
    search
        How the Dijkstra keeps its frontier; every choice gives the same
        distances. ``"heap"``: SciPy's ``csgraph.dijkstra`` (one Fibonacci
        heap, fastest when the search stays small or the graph fits in the
        processor's cache). ``"buckets"``: nbgeo's vectorised bucket search
        (:func:`_bucket_search`), about twice as fast when many sources sweep
        most of a large graph. ``"auto"`` (default) takes the buckets from
        :data:`_BUCKETS_MIN_SOURCES` sources on graphs of at least
        :data:`_BUCKETS_MIN_EDGES` edges, measured by ``bench/bench_network.py``.

    Returns
    -------
    distance, source
        Per node, the distance in metres (``inf`` when no source is within
        ``distance`` or reachable) and the position in ``sources`` of the nearest
        source (``-1`` where none; on exact ties, one of the nearest).

    Examples
    --------
    >>> from nbgeo.network import network_from_arrays
    >>> import numpy as np
    >>> net = network_from_arrays(np.arange(4) * 100.0, np.zeros(4), u=[0, 1, 2], v=[1, 2, 3], crs="EPSG:32651")
    >>> d, s = node_distances(net, [3])
    >>> d.tolist(), s.tolist()
    ([300.0, 200.0, 100.0, 0.0], [0, 0, 0, 0])
    >>> node_distances(net, [3], direction="from")[0].tolist()
    [inf, inf, inf, 0.0]
    >>> node_distances(net, [1, 3], offsets=[500.0, 0.0], distance=250)[0].tolist()
    [inf, 200.0, 100.0, 0.0]
    >>> node_distances(net, [1, 3], offsets=[500.0, 0.0], distance=250, search="buckets")[0].tolist()
    [inf, 200.0, 100.0, 0.0]
    """
    src = np.asarray(sources, dtype=np.int64).ravel()
    n = net.n_nodes
    if len(src) and (src.min() < 0 or src.max() >= n):
        msg = f"source node out of range 0..{n - 1}"
        raise RoadNetworkError(msg, code="E-NET-NODE")
    if direction not in ("to", "from"):
        msg = f"direction must be 'to' or 'from', got {direction!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    if search not in ("auto", "heap", "buckets"):
        msg = f"search must be 'auto', 'heap' or 'buckets', got {search!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    limit = np.inf if distance is None else float(distance)
    dist = np.full(n, np.inf)
    nearest = np.full(n, -1, dtype=np.int64)
    if len(src) == 0 or n == 0:
        return dist, nearest
    off = np.zeros(len(src)) if offsets is None else np.asarray(offsets, dtype=np.float64).ravel()
    if off.shape != src.shape or (off < 0).any() or not np.isfinite(off).all():
        msg = "offsets must be one finite, non-negative number per source"
        raise RoadNetworkError(msg, code="E-NET-LENGTH")
    graph = net.reverse if direction == "to" else net.matrix
    # At each node keep the source with the least offset (the first, on ties).
    order = np.lexsort((np.arange(len(src)), off, src))
    node_sorted = src[order]
    head = np.r_[True, node_sorted[1:] != node_sorted[:-1]]
    nodes = node_sorted[head]
    best = order[head]
    node_off = off[best]
    keep = node_off <= limit
    nodes, best, node_off = nodes[keep], best[keep], node_off[keep]
    if len(nodes) == 0:
        return dist, nearest

    if search == "buckets" or (search == "auto" and len(nodes) >= _BUCKETS_MIN_SOURCES
                               and graph.nnz >= _BUCKETS_MIN_EDGES):
        d, owner = _bucket_search(graph, nodes, node_off, limit)
        reached = owner >= 0
        dist[reached] = d[reached]
        nearest[reached] = best[owner[reached]]
        return dist, nearest

    if not node_off.any():
        d, _, origin = csgraph.dijkstra(graph, directed=True, indices=nodes, min_only=True, limit=limit,
                                        return_predecessors=True)
        reached = origin >= 0
        dist[reached] = d[reached]
        nearest[reached] = best[np.searchsorted(nodes, origin[reached])]
        return dist, nearest

    # Unequal offsets: one virtual source joined to every source node by an edge of its offset.
    k = len(nodes)
    indptr = np.concatenate([graph.indptr.astype(np.int64), [graph.indptr[-1] + k]])
    aug = sparse.csr_array(
        (np.concatenate([graph.data, node_off]),
         np.concatenate([graph.indices.astype(np.int64), nodes]),
         indptr),
        shape=(n + 1, n + 1),
    )
    d, pred = csgraph.dijkstra(aug, directed=True, indices=n, limit=limit, return_predecessors=True)
    d, pred = d[:n], pred[:n]
    reached = np.isfinite(d)
    # Follow predecessors back to the first node after the virtual source (pointer jumping).
    root = np.where(pred == n, np.arange(n), pred)
    root = np.where(reached, root, np.arange(n))
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    dist[reached] = d[reached]
    lookup = np.full(n, -1, dtype=np.int64)
    lookup[nodes] = best
    nearest[reached] = lookup[root[reached]]
    return dist, nearest


#: ``node_distances(search="auto")`` sweeps with buckets from this many source nodes...
_BUCKETS_MIN_SOURCES = 256
#: ...on graphs with at least this many directed edges (smaller ones fit in cache, where the heap is as fast).
_BUCKETS_MIN_EDGES = 250_000


def _edge_spans(indptr: NDArray[np.int64], nodes: NDArray[np.int64], degree: NDArray[np.int64], total: int
                ) -> NDArray[np.int64]:
    """The CSR positions of the out-edges of ``nodes``, concatenated (``total`` of them, ``total > 0``)."""
    out = np.ones(total, dtype=np.int64)
    has = degree > 0
    starts, counts = indptr[nodes[has]], degree[has]
    ends = np.cumsum(counts)
    out[0] = starts[0]
    # Where each node's run begins, jump from the end of the previous run to its first edge.
    out[ends[:-1]] = starts[1:] - (starts[:-1] + counts[:-1] - 1)
    return np.cumsum(out, out=out)


def _bucket_search(graph: sparse.csr_array, nodes: NDArray[np.int64], offsets: NDArray[np.float64],
                   limit: float) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Multi-source Dijkstra by distance buckets, each bucket relaxed in a few whole-array steps.

    Nodes whose tentative distance lies in ``[lo, lo + delta)``, ``lo`` being
    the least tentative distance of any unsettled node, are taken together:
    all their out-edges are relaxed at once (one gather, one ``minimum.at``
    scatter), and the nodes they improve within the bucket are relaxed again
    until none improves (label correcting inside a bucket, as in Meyer and
    Sanders' delta-stepping, *J. Algorithms* 49, 2003). Every node of the
    bucket then holds its shortest distance: a shorter path would have to
    pass through a node still outside it, at ``lo + delta`` or beyond. With
    ``delta`` at most the shortest edge, each bucket takes one pass (Dinitz's
    rule); nbgeo uses about 2.5 mean edge lengths, which measured best on grids
    and on the sample's network (few buckets, few repeats).

    Each distance is the sum ``d(u) + w(u, v)`` along the path, computed as
    ``csgraph.dijkstra`` computes it, so the two agree to the last bit except
    where two different paths tie to within rounding.

    Parameters
    ----------
    graph
        CSR matrix of edge lengths (non-negative).
    nodes
        Distinct source nodes.
    offsets
        Starting distance of each source node, each at most ``limit``.
    limit
        Nodes farther than this stay unreached (inclusive).

    Returns
    -------
    distance, owner
        Per node, the distance (``inf`` when unreached) and the position in
        ``nodes`` of its nearest source (``-1`` when unreached).
    """
    n = graph.shape[0]
    indptr = graph.indptr.astype(np.int64, copy=False)
    indices, lengths = graph.indices, graph.data
    degree = np.diff(indptr)
    # Distances start just above the limit: one comparison then enforces both "shorter" and "within the limit".
    barrier = np.nextafter(limit, np.inf)
    dist = np.full(n, barrier)
    owner = np.full(n, -1, dtype=np.int64)
    dist[nodes] = offsets
    owner[nodes] = np.arange(len(nodes))
    mean = float(lengths.mean()) if len(lengths) else 1.0
    delta = max(float(lengths.min(initial=0.0)), min(2.5 * mean, limit / 4))
    if not delta > 0:  # every edge has length 0 (or the limit is 0): any positive width is correct
        delta = 1.0
    waiting = np.zeros(n, dtype=bool)  # tentative, unsettled, listed in `front`
    front = nodes.copy()
    waiting[front] = True
    while front.size:
        d_front = dist[front]
        bound = float(d_front.min()) + delta
        take = d_front < bound
        batch, front = front[take], front[~take]
        waiting[batch] = False
        while batch.size:
            deg = degree[batch]
            total = int(deg.sum())
            if total == 0:
                break
            edge = _edge_spans(indptr, batch, deg, total)
            head = indices[edge]
            cand = np.repeat(dist[batch], deg)
            cand += lengths[edge]
            better = np.flatnonzero(cand < dist[head])
            if better.size == 0:
                break
            head, cand = head[better], cand[better]
            via = np.repeat(owner[batch], deg)[better]
            np.minimum.at(dist, head, cand)
            won = cand == dist[head]
            head = head[won]
            owner[head] = via[won]
            near = dist[head] < bound
            batch = head[near]  # improved inside the bucket: relax again
            far = head[~near]
            far = far[~waiting[far]]
            waiting[far] = True
            front = np.concatenate([front, far])
    dist[owner < 0] = np.inf
    return dist, owner


@renamed_keywords(cutoff="distance")
def nearest_facility(
    net: RoadNetwork,
    origins: Any,
    facilities: Any,
    *,
    distance: float | None = None,
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    main_component: bool = True,
) -> pd.DataFrame:
    """Road distance from each origin to its nearest facility, snapping included.

    This is the function to use for "within X km by road of a charger": one
    multi-source Dijkstra over the whole network, however many facilities
    there are (see the module docstring for the exact distance).

    Parameters
    ----------
    net
        The network.
    origins
        A GeoDataFrame / GeoSeries (any CRS; reprojected to the network's) of
        points, polygons or lines, or ``(n, 2)`` coordinates in the network CRS.
    facilities
        The same kinds of input.
    distance
        Only distances up to this (metres, inclusive) are computed; farther
        origins get ``inf``. Much faster on large networks.
    max_snap
        Origins and facilities farther than this from the network (metres) are
        off the network: they reach nothing and are never reached.
    direction
        ``"to"`` (default): from the origin to the facility, which is how a
        driver goes to a charger; on one-way streets it differs from the way
        back. ``"from"``: from the facility to the origin (a service that comes
        to the site).
    main_component
        Snap only to the largest strongly connected part of the network.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``origins`` (same index), with columns ``distance`` (total
        metres: snapping + road + snapping; ``inf`` when none within
        ``distance``), ``facility`` (index label of the nearest facility, or
        None), ``road`` (the part along the network), ``snap`` (origin to its
        access node), ``facility_snap`` (facility's access node to the
        facility) and ``node`` (the origin's access node used, -1 if none).

    Examples
    --------
    >>> from nbgeo.network import network_from_arrays
    >>> import geopandas as gpd, numpy as np
    >>> from shapely import Point
    >>> net = network_from_arrays(np.arange(5) * 100.0, np.zeros(5), u=[0, 1, 2, 3, 1, 2, 3, 4],
    ...                           v=[1, 2, 3, 4, 0, 1, 2, 3], crs="EPSG:32651")
    >>> chargers = gpd.GeoDataFrame(geometry=[Point(400, 30)], index=["CH1"], crs="EPSG:32651")
    >>> parks = gpd.GeoDataFrame(geometry=[Point(0, -40), Point(210, 0)], index=["MP1", "MP2"], crs="EPSG:32651")
    >>> nearest_facility(net, parks, chargers)[["distance", "facility", "road", "snap", "facility_snap"]]
         distance facility   road  snap  facility_snap
    MP1     470.0      CH1  400.0  40.0           30.0
    MP2     240.0      CH1  200.0  10.0           30.0
    """
    o_geoms, o_index = to_network_geoms(origins, net, "origins")
    f_geoms, f_index = to_network_geoms(facilities, net, "facilities")
    # Travel leaves the origin and ends at the facility ("to"), or the other way round ("from").
    back: Literal["to", "from"] = "from" if direction == "to" else "to"
    o_acc = access_points(net, o_geoms, max_snap=max_snap, main_component=main_component, direction=direction)
    f_acc = access_points(net, f_geoms, max_snap=max_snap, main_component=main_component, direction=back)
    return nearest_from_access(net, o_acc, f_acc, origin_index=o_index, facility_index=f_index, distance=distance,
                               direction=direction)


@renamed_keywords(cutoff="distance")
def nearest_from_access(
    net: RoadNetwork,
    origins: Access,
    facilities: Access,
    *,
    origin_index: pd.Index | None = None,
    facility_index: pd.Index | None = None,
    distance: float | None = None,
    direction: Literal["to", "from"] = "to",
) -> pd.DataFrame:
    """:func:`nearest_facility` from access points already found (e.g. on a Dask engine).

    One multi-source Dijkstra from the facilities' access nodes, then each
    origin's best access node: the second half of :func:`nearest_facility`,
    for callers that join features to the network elsewhere
    (:meth:`nbgeo.engine.Engine.access_points`) or once for many queries.

    Parameters
    ----------
    net
        The network.
    origins, facilities
        Their :func:`access_points` (origins found with ``direction``,
        facilities with the opposite one).
    origin_index, facility_index
        Labels of the origins (the result's index) and of the facilities (its
        ``facility`` column); default ``0..n-1``.
    distance, direction
        As for :func:`nearest_facility`.

    Returns
    -------
    pandas.DataFrame
        As :func:`nearest_facility`.

    Examples
    --------
    >>> from nbgeo.network import network_from_arrays
    >>> import numpy as np
    >>> net = network_from_arrays(np.arange(3) * 100.0, np.zeros(3), u=[0, 1, 1, 2], v=[1, 0, 2, 1],
    ...                           crs="EPSG:32651")
    >>> sites = access_points(net, np.array([[0.0, 5.0]]), direction="to")
    >>> chargers = access_points(net, np.array([[200.0, -5.0]]), direction="from")
    >>> nearest_from_access(net, sites, chargers, facility_index=pd.Index(["CH1"]))[["distance", "facility"]]
       distance facility
    0     210.0      CH1
    """
    o_acc, f_acc = origins, facilities
    o_index = pd.RangeIndex(o_acc.n_features) if origin_index is None else origin_index
    f_index = pd.RangeIndex(f_acc.n_features) if facility_index is None else facility_index
    node_dist, src = node_distances(net, f_acc.node, offsets=f_acc.offset, distance=distance, direction=direction)
    total = o_acc.offset + node_dist[o_acc.node]
    if distance is not None:
        total = np.where(total <= distance, total, np.inf)
    best, row = min_per_owner(o_acc.owner, total, o_acc.n_features)
    found = np.isfinite(best)
    pick = row[found]
    fac_row = src[o_acc.node[pick]]
    facility = np.full(len(best), None, dtype=object)
    facility[found] = np.asarray(f_index, dtype=object)[f_acc.owner[fac_row]]
    snap = np.full(len(best), np.nan)
    fsnap = np.full(len(best), np.nan)
    node = np.full(len(best), -1, dtype=np.int64)
    snap[found] = o_acc.offset[pick]
    fsnap[found] = f_acc.offset[fac_row]
    node[found] = o_acc.node[pick]
    # Where nothing was reached, still report how far the origin is from the network.
    nearest_off, _ = min_per_owner(o_acc.owner, o_acc.offset, o_acc.n_features)
    snap[~found] = nearest_off[~found]
    road = best - np.nan_to_num(snap) - np.nan_to_num(fsnap)
    road[~found] = np.nan
    return pd.DataFrame(
        {"distance": best, "facility": pd.Series(facility, index=o_index, dtype=object), "road": road,
         "snap": snap, "facility_snap": fsnap,
         "node": node},
        index=o_index,
    )


@dataclass(frozen=True)
class DistanceMatrix:
    """Sparse origin × destination distances up to a distance.

    Attributes
    ----------
    matrix
        ``scipy.sparse.csr_array`` of shape ``(len(rows), len(columns))``. The
        stored entries are exactly the pairs within ``distance``; their value is
        the distance in metres, **including 0** (stored as an explicit zero).
        Pairs not stored are farther than ``distance``: use :meth:`to_dense`,
        not ``matrix.toarray()``, which would show them as 0.
    rows, columns
        The index labels of the origins and destinations.
    distance
        The distance limit in metres (formerly ``cutoff``, still readable with a DeprecationWarning).
    """

    matrix: sparse.csr_array
    rows: pd.Index
    columns: pd.Index
    distance: float

    @property
    def cutoff(self) -> float:
        """Deprecated name of :attr:`distance`."""
        warnings.warn("DistanceMatrix.cutoff is deprecated; use DistanceMatrix.distance", DeprecationWarning,
                      stacklevel=2)
        return self.distance

    def covers(self, within: float | None = None) -> sparse.csr_array:
        """Boolean sparse matrix: origin ``i`` is within ``within`` (default the distance) of destination ``j``."""
        limit = self.distance if within is None else min(within, self.distance)
        m = self.matrix.tocoo()
        keep = m.data <= limit
        return sparse.csr_array((np.ones(int(keep.sum()), dtype=bool), (m.row[keep], m.col[keep])),
                                shape=self.matrix.shape)

    def to_dense(self, fill: float = np.inf) -> NDArray[np.float64]:
        """A dense array with ``fill`` where the pair is beyond the distance."""
        out = np.full(self.matrix.shape, fill, dtype=np.float64)
        m = self.matrix.tocoo()
        out[m.row, m.col] = m.data
        return out

    def to_frame(self) -> pd.DataFrame:
        """The stored pairs as a long table with columns ``origin``, ``destination``, ``distance``."""
        m = self.matrix.tocoo()
        return pd.DataFrame({"origin": np.asarray(self.rows)[m.row], "destination": np.asarray(self.columns)[m.col],
                             "distance": m.data})


@renamed_keywords(cutoff="distance")
def distance_matrix(
    net: RoadNetwork,
    origins: Any,
    destinations: Any,
    *,
    distance: float,
    max_snap: float | None = None,
    main_component: bool = True,
    max_memory: float = 2e8,
) -> DistanceMatrix:
    """Road distances from every origin to every destination within ``distance``, as a sparse matrix.

    This is the cost matrix of coverage-location models (LSCP, MCLP,
    p-median): demand sites as origins, candidate facility sites as
    destinations. It runs one bounded Dijkstra per destination access node on
    the reversed graph, in batches that keep the working arrays under
    ``max_memory`` bytes.

    Parameters
    ----------
    net
        The network.
    origins, destinations
        As for :func:`nearest_facility`.
    distance
        The largest distance kept (metres).
    max_snap, main_component
        As for :func:`nearest_facility`.
    max_memory
        Upper bound on the bytes of one batch's dense distance block.

    Returns
    -------
    DistanceMatrix

    Examples
    --------
    >>> from nbgeo.network import network_from_arrays
    >>> import numpy as np
    >>> net = network_from_arrays(np.arange(3) * 100.0, np.zeros(3), u=[0, 1, 1, 2], v=[1, 0, 2, 1],
    ...                           crs="EPSG:32651")
    >>> dm = distance_matrix(net, np.array([[0.0, 0.0], [200.0, 0.0]]), np.array([[0.0, 0.0], [100.0, 0.0]]),
    ...                      distance=150)
    >>> dm.to_dense().tolist()
    [[0.0, 100.0], [inf, 100.0]]
    >>> dm.covers().toarray().tolist()
    [[True, True], [False, True]]
    """
    o_geoms, o_index = to_network_geoms(origins, net, "origins")
    d_geoms, d_index = to_network_geoms(destinations, net, "destinations")
    o_acc = access_points(net, o_geoms, max_snap=max_snap, main_component=main_component, direction="to")
    d_acc = access_points(net, d_geoms, max_snap=max_snap, main_component=main_component, direction="from")
    rows_out, cols_out, vals_out = [], [], []
    uniq_nodes, inv = np.unique(d_acc.node, return_inverse=True)
    batch = max(1, int(max_memory // (8 * max(net.n_nodes, 1))))
    for start in range(0, len(uniq_nodes), batch):
        chunk = uniq_nodes[start:start + batch]
        d = csgraph.dijkstra(net.reverse, directed=True, indices=chunk, limit=distance)
        d = np.atleast_2d(d)
        # Access rows of destinations whose node is in this chunk.
        sel = np.flatnonzero((inv >= start) & (inv < start + len(chunk)))
        for j in sel:
            col = d[inv[j] - start]
            tot = o_acc.offset + col[o_acc.node] + d_acc.offset[j]
            ok = tot <= distance
            rows_out.append(o_acc.owner[ok])
            cols_out.append(np.full(int(ok.sum()), d_acc.owner[j], dtype=np.int64))
            vals_out.append(tot[ok])
    shape = (o_acc.n_features, d_acc.n_features)
    if rows_out:
        r = np.concatenate(rows_out)
        c = np.concatenate(cols_out)
        v = np.concatenate(vals_out)
        # Several access pairs per (origin, destination): keep the least distance.
        uniq, inv_key = np.unique(r * shape[1] + c, return_inverse=True)
        v, row = min_per_owner(inv_key, v, len(uniq))
        r, c = r[row], c[row]  # sorted by (origin, destination), as np.unique sorts the keys
    else:
        r = c = np.zeros(0, dtype=np.int64)
        v = np.zeros(0)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=shape[0]), out=indptr[1:])
    matrix = sparse.csr_array((v, c, indptr), shape=shape)
    return DistanceMatrix(matrix=matrix, rows=pd.Index(o_index), columns=pd.Index(d_index), distance=float(distance))
