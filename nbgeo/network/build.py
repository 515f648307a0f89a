"""Building networks from arrays and from networkx graphs (osmnx's or any other)."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from scipy import sparse

from .. import settings
from ..crs import working_crs_for
from ..errors import CRSError, RoadNetworkError
from ..layers import LayerMeta
from .graph import RoadNetwork

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import networkx as nx
    from numpy.typing import ArrayLike, NDArray

    #: Nodes ``x, y`` (the given ones first), segments ``u -> v``, their lengths and the edge each comes from.
    Chains = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64],
                   NDArray[np.float64], NDArray[np.int64]]


# --------------------------------------------------------------------------------------------
# Building networks
# --------------------------------------------------------------------------------------------


def _check_metric_crs(crs: Any) -> str:
    """The CRS as a string, after checking it is projected in metres."""
    if isinstance(crs, (str, int)):
        return _check_metric_crs_cached(crs)
    return _check_metric_crs_uncached(crs)


@functools.lru_cache(maxsize=64)
def _check_metric_crs_cached(crs: str | int) -> str:
    return _check_metric_crs_uncached(crs)


def _check_metric_crs_uncached(crs: Any) -> str:

    try:
        parsed = CRS.from_user_input(crs)
    except Exception as exc:
        msg = f"road network CRS {crs!r} is not a CRS pyproj understands: {exc}"
        raise CRSError(msg, code="E-CRS-INVALID") from None
    units = {ax.unit_name for ax in parsed.axis_info}
    if parsed.is_geographic or not units <= {"metre", "meter"}:
        msg = (f"road network CRS must be projected in metres, got {parsed.name!r} ({', '.join(sorted(units))})")
        raise CRSError(msg + " (hint: project the coordinates, e.g. to nbgeo.crs.working_crs_for(...))",
                       code="E-CRS-GEOGRAPHIC")
    # Keep the text given (or the text the CRS was made from): looking up an authority code for a custom
    # projection scans PROJ's database.
    return crs if isinstance(crs, str) else str(parsed.srs or parsed.to_string())


def declared_work_crs(crs: Any) -> str | None:
    """The metric CRS a caller or ``settings.working_crs`` declares, checked; None to choose from the data."""
    if crs is None:
        crs = settings.working_crs
    return None if crs is None else _check_metric_crs(crs)


def lonlat_work_crs(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> str:
    """The working CRS chosen from the extent of nodes at ``lon, lat`` (WGS 84), as text."""
    bounds = np.column_stack([lon, lat, lon, lat])
    return _check_metric_crs(str(working_crs_for(bounds).srs))


def network_from_arrays(
    x: ArrayLike,
    y: ArrayLike,
    u: ArrayLike,
    v: ArrayLike,
    length: ArrayLike | None = None,
    *,
    crs: Any,
    node_ids: ArrayLike | None = None,
    meta: LayerMeta | None = None,
) -> RoadNetwork:
    """Build a network from node coordinates and directed edges, keeping the shortest parallel edge.

    Parameters
    ----------
    x, y
        Node coordinates in ``crs`` (a projected CRS in metres).
    u, v
        Directed edges as node positions: a road from ``u[i]`` to ``v[i]``.
        A two-way street is two edges.
    length
        Edge lengths in metres; default: the straight distance between the nodes.
    crs
        The CRS of ``x`` and ``y``.
    node_ids
        Original node ids (default: ``0..n-1``).
    meta
        Provenance.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    RoadNetworkError
        For node positions out of range, or negative or non-finite lengths or coordinates.

    Examples
    --------
    Two parallel roads from node 0 to node 1 keep the shorter; self-loops are dropped.

    >>> import numpy as np
    >>> net = network_from_arrays(np.array([0.0, 100.0]), np.array([0.0, 0.0]), u=[0, 0, 1], v=[1, 1, 1],
    ...                           length=[180.0, 120.0, 5.0], crs="EPSG:32651")
    >>> net.matrix.toarray().tolist()
    [[0.0, 120.0], [0.0, 0.0]]
    >>> network_from_arrays(np.zeros(2), np.zeros(2), u=[0], v=[5], crs="EPSG:32651")
    Traceback (most recent call last):
    ...
    nbgeo.errors.RoadNetworkError: edge 0 refers to node 5, but the network has 2 nodes (0..1)
    """
    crs_text = _check_metric_crs(crs)
    xs = np.ascontiguousarray(x, dtype=np.float64).ravel()
    ys = np.ascontiguousarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape:
        msg = f"x and y differ in length ({len(xs)} and {len(ys)})"
        raise RoadNetworkError(msg, code="E-NET-ARRAYS")
    n = len(xs)
    bad_xy = ~(np.isfinite(xs) & np.isfinite(ys))
    if bad_xy.any():
        msg = f"{int(bad_xy.sum())} node(s) have non-finite coordinates, the first is node {int(np.argmax(bad_xy))}"
        raise RoadNetworkError(msg, code="E-NET-COORDS")
    us = np.asarray(u, dtype=np.int64).ravel()
    vs = np.asarray(v, dtype=np.int64).ravel()
    if us.shape != vs.shape:
        msg = f"u and v differ in length ({len(us)} and {len(vs)})"
        raise RoadNetworkError(msg, code="E-NET-ARRAYS")
    for name, ends in (("u", us), ("v", vs)):
        out = (ends < 0) | (ends >= n)
        if out.any():
            i = int(np.argmax(out))
            msg = f"edge {i} refers to node {int(ends[i])}, but the network has {n} nodes (0..{n - 1})"
            raise RoadNetworkError(msg, code="E-NET-NODE")
        del name
    if length is None:
        w = np.hypot(xs[vs] - xs[us], ys[vs] - ys[us])
    else:
        w = np.asarray(length, dtype=np.float64).ravel()
        if w.shape != us.shape:
            msg = f"length has {len(w)} values for {len(us)} edges"
            raise RoadNetworkError(msg, code="E-NET-ARRAYS")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            i = int(np.argmax(bad))
            msg = f"{int(bad.sum())} edge length(s) are negative or not finite; edge {i} ({us[i]}->{vs[i]}) has {w[i]}"
            raise RoadNetworkError(msg, code="E-NET-LENGTH")
    # Drop self-loops (they never shorten a path), then keep the shortest of parallel edges:
    # sort by (u, v, length) and take the first of each (u, v) run.
    keep = us != vs
    us, vs, w = us[keep], vs[keep], w[keep]
    order = np.lexsort((w, vs, us))
    us, vs, w = us[order], vs[order], w[order]
    first = np.ones(len(us), dtype=bool)
    first[1:] = (us[1:] != us[:-1]) | (vs[1:] != vs[:-1])
    us, vs, w = us[first], vs[first], w[first]
    dropped = int((~first).sum())
    # Build CSR directly (no COO → CSR summing step): rows are already sorted.
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(us, minlength=n), out=indptr[1:])
    index_dtype = np.int32 if max(n, len(us)) < 2**31 - 1 else np.int64
    matrix = sparse.csr_array((w, vs.astype(index_dtype), indptr.astype(index_dtype)), shape=(n, n))
    ids = np.arange(n, dtype=np.int64) if node_ids is None else np.asarray(node_ids, dtype=np.int64).ravel()
    if len(ids) != n:
        msg = f"node_ids has {len(ids)} values for {n} nodes"
        raise RoadNetworkError(msg, code="E-NET-ARRAYS")
    if dropped:
        log.debug("Kept the shortest of parallel edges: %d longer duplicates dropped", dropped)
    return RoadNetwork(x=xs, y=ys, matrix=matrix, crs=crs_text, node_ids=ids,
                       meta=meta or LayerMeta(name="roads", source="in memory"))


def network_from_graph(
    graph: nx.Graph,
    *,
    weight: str | None = None,
    crs: Any = None,
    split_curves: bool = True,
    meta: LayerMeta | None = None,
) -> RoadNetwork:
    """Convert a networkx graph (e.g. from osmnx) to a :class:`RoadNetwork`, once.

    Parameters
    ----------
    graph
        A ``MultiDiGraph`` (osmnx), ``DiGraph``, ``MultiGraph`` or ``Graph``
        (undirected edges become two-way streets). Nodes need ``x`` and ``y``;
        edges may have a ``geometry`` (a LineString from ``u`` to ``v``).
    weight
        Edge attribute holding the length in metres (e.g. osmnx's
        ``"length"``). Default: measure every edge in the metric CRS from its
        geometry (or the straight line between its nodes), so that road and
        straight-line distances are measured alike.
    crs
        The metric CRS of the network. Default: the graph's own CRS if it is
        projected, else ``settings.working_crs`` if set, else one chosen from
        the nodes' extent (:func:`nbgeo.crs.working_crs_for`).
    split_curves
        Split curved edges at their vertices, so that every point of the road
        is near a node (default). Each piece gets its share of the edge's
        ``weight`` in proportion to its length.
    meta
        Provenance.

    Returns
    -------
    RoadNetwork

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.MultiDiGraph(crs="EPSG:32651")
    >>> g.add_node(10, x=0.0, y=0.0); g.add_node(11, x=100.0, y=0.0)
    >>> _ = g.add_edge(10, 11, length=250.0); _ = g.add_edge(10, 11, length=130.0)
    >>> net = network_from_graph(g, weight="length")
    >>> float(net.matrix[0, 1]), net.node_ids.tolist()
    (130.0, [10, 11])
    """
    graph_crs = graph.graph.get("crs")
    if graph_crs is None and crs is None:
        msg = "the graph has no 'crs' attribute; pass crs= (the CRS of the nodes' x and y)"
        raise CRSError(msg, code="E-CRS-MISSING")
    source_crs = CRS.from_user_input(graph_crs if graph_crs is not None else crs)
    if crs is None and source_crs.is_projected:
        target: Any = source_crs
    else:
        target = declared_work_crs(crs)
    if target is None:  # nodes in longitude/latitude: measure them in a CRS chosen from their extent
        lonlat = np.array([(d.get("x", np.nan), d.get("y", np.nan)) for _, d in graph.nodes(data=True)],
                          dtype=np.float64).reshape(-1, 2)
        if not source_crs.equals("EPSG:4326"):
            lon, lat = Transformer.from_crs(source_crs, 4326, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
            lonlat = np.column_stack([lon, lat])
        target = lonlat_work_crs(lonlat[:, 0], lonlat[:, 1])
    crs_text = _check_metric_crs(target)
    target = CRS.from_user_input(crs_text)

    labels = list(graph.nodes)
    n = len(labels)
    position = {label: i for i, label in enumerate(labels)}
    try:
        coords = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype=np.float64).reshape(n, 2)
        nx_, ny_ = coords[:, 0].copy(), coords[:, 1].copy()
    except KeyError:
        msg = "every node of the graph needs 'x' and 'y' attributes"
        raise RoadNetworkError(msg, code="E-NET-COORDS") from None
    transform = None
    if not source_crs.equals(target):
        transform = Transformer.from_crs(source_crs, target, always_xy=True)
        nx_, ny_ = transform.transform(nx_, ny_)
        nx_, ny_ = np.asarray(nx_, dtype=np.float64), np.asarray(ny_, dtype=np.float64)

    multi = graph.is_multigraph()
    us, vs, ws, geoms = [], [], [], []
    want_geom = split_curves or weight is None

    def take(pa: int, pb: int, data: Mapping[str, Any]) -> None:
        us.append(pa)
        vs.append(pb)
        ws.append(np.nan if weight is None else data.get(weight, np.nan))
        geoms.append(data.get("geometry") if want_geom else None)

    if graph.is_directed():
        # The adjacency dicts directly: several times faster than networkx's edge views on big graphs.
        for a, nbrs in graph.adjacency():
            pa = position[a]
            for b, attrs in nbrs.items():
                pb = position[b]
                for data in (attrs.values() if multi else (attrs,)):
                    take(pa, pb, data)
    else:
        for edge in graph.edges(keys=True, data=True) if multi else graph.edges(data=True):
            take(position[edge[0]], position[edge[1]], edge[-1])
    u = np.asarray(us, dtype=np.int64)
    v = np.asarray(vs, dtype=np.int64)
    w = np.asarray(ws, dtype=np.float64)
    if weight is not None and np.isnan(w).any():
        i = int(np.argmax(np.isnan(w)))
        msg = (f"{int(np.isnan(w).sum())} edge(s) lack the {weight!r} attribute, e.g. {labels[u[i]]!r} -> "
               f"{labels[v[i]]!r}")
        raise RoadNetworkError(msg + " (hint: pass weight=None to measure lengths from the geometry)",
                               code="E-NET-LENGTH")
    if not graph.is_directed():
        u, v = np.concatenate([u, v]), np.concatenate([v, u])
        w = np.concatenate([w, w])
        geoms = geoms + [None if g is None else shapely.reverse(g) for g in geoms]

    x, y, u, v, length, _ = split_edges(
        nx_, ny_, u, v, w, np.asarray(geoms, dtype=object), transform=transform, split=split_curves,
    )
    node_ids = np.full(len(x), -1, dtype=np.int64)
    if all(isinstance(label, (int, np.integer)) for label in labels):
        node_ids[:n] = np.asarray(labels, dtype=np.int64)
    else:
        node_ids[:n] = np.arange(n)
    net = network_from_arrays(x, y, u, v, length, crs=crs_text, node_ids=node_ids, meta=meta)
    log.info("Converted a graph of %d nodes and %d edges to %r", n, len(us), net)
    return net


def split_edges(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    w: NDArray[np.float64],
    geoms: NDArray[np.object_],
    *,
    transform: Any,
    split: bool,
) -> Chains:
    """Edges as straight segments: curved edges become chains through their interior vertices.

    Interior vertices shared by the edges between the same two nodes (the two
    directions of a street) become the same new node, so a two-way street stays
    two-way along its whole length. Lengths: ``w`` spread over the pieces in
    proportion to their length, or the pieces' own lengths where ``w`` is NaN.
    """
    has_geom = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if len(geoms) else np.zeros(0, dtype=bool)
    if not split or not has_geom.any():
        planar = np.hypot(x[v] - x[u], y[v] - y[u])
        curved = np.zeros(len(u))
        if has_geom.any():  # not split: measure the curve's own length
            gx = shapely.get_coordinates(list(geoms[has_geom]), return_index=True)
            curved[has_geom] = _polyline_lengths(gx, has_geom.sum(), transform)
            planar = np.where(has_geom, curved, planar)
        length = np.where(np.isnan(w), planar, w)
        return x, y, u, v, length, np.arange(len(u))

    idx_geom = np.flatnonzero(has_geom)
    coords, owner = shapely.get_coordinates(geoms[idx_geom], return_index=True)
    if transform is not None:
        cx, cy = transform.transform(coords[:, 0], coords[:, 1])
        coords = np.column_stack([cx, cy])
    counts = np.bincount(owner, minlength=len(idx_geom))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    interior = np.ones(len(coords), dtype=bool)
    interior[first] = False
    interior[first + counts - 1] = False
    i_xy = coords[interior]
    n_interior = np.zeros(len(u), dtype=np.int64)
    n_interior[idx_geom] = np.maximum(counts - 2, 0)
    return split_chains(x, y, u, v, w, n_interior, i_xy[:, 0], i_xy[:, 1])


def split_chains(x: NDArray[np.float64], y: NDArray[np.float64], u: NDArray[np.int64], v: NDArray[np.int64],
                 w: NDArray[np.float64], n_interior: NDArray[np.int64], inner_x: NDArray[np.float64],
                 inner_y: NDArray[np.float64]) -> Chains:
    """Edges as chains of straight segments from their interior vertices, given as coordinate arrays.

    ``n_interior[i]`` is the number of interior vertices of edge ``i`` (from
    ``u`` to ``v``); ``inner_x, inner_y`` hold them, edge after edge, in the
    order the edge passes them (no geometry objects: see :func:`split_edges`).
    """
    n = len(x)
    if not len(u):
        return x, y, u, v, np.where(np.isnan(w), 0.0, w), np.arange(0)
    i_owner = np.repeat(np.arange(len(u)), n_interior)
    i_xy = np.column_stack([inner_x, inner_y])

    # New nodes: one per (node pair, vertex position to the millimetre).
    a = np.minimum(u[i_owner], v[i_owner])
    b = np.maximum(u[i_owner], v[i_owner])
    key = np.column_stack([a, b, np.round(i_xy[:, 0] * 1000).astype(np.int64),
                           np.round(i_xy[:, 1] * 1000).astype(np.int64)])
    uniq, first_of, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    del uniq
    new_x = np.concatenate([x, i_xy[first_of, 0]])
    new_y = np.concatenate([y, i_xy[first_of, 1]])
    new_ids = n + inv.ravel()

    # Chains: for each edge, [u, interior..., v]; segments are consecutive pairs within a chain.
    chain_len = n_interior + 2
    ends = np.cumsum(chain_len)
    starts = ends - chain_len
    seq = np.empty(int(ends[-1]), dtype=np.int64)
    seq[starts] = u
    seq[ends - 1] = v
    fill = np.ones(len(seq), dtype=bool)
    fill[starts] = False
    fill[ends - 1] = False
    seq[fill] = new_ids  # interior vertices come in edge order, as get_coordinates returns them
    seg_edge = np.repeat(np.arange(len(u)), chain_len - 1)
    link = np.ones(len(seq) - 1, dtype=bool)
    link[ends[:-1] - 1] = False
    su, sv = seq[:-1][link], seq[1:][link]
    seg_len = np.hypot(new_x[sv] - new_x[su], new_y[sv] - new_y[su])
    edge_planar = np.bincount(seg_edge, weights=seg_len, minlength=len(u))
    pieces = np.bincount(seg_edge, minlength=len(u))
    given = w[seg_edge]
    share = np.where(edge_planar[seg_edge] > 0, seg_len / np.where(edge_planar > 0, edge_planar, 1)[seg_edge],
                     1.0 / pieces[seg_edge])
    length = np.where(np.isnan(given), seg_len, given * share)
    return new_x, new_y, su, sv, length, seg_edge


def _polyline_lengths(coords_owner: tuple[NDArray[np.float64], NDArray[np.int64]], count: int,
                      transform: Any) -> NDArray[np.float64]:
    coords, owner = coords_owner
    if transform is not None:
        cx, cy = transform.transform(coords[:, 0], coords[:, 1])
        coords = np.column_stack([cx, cy])
    seg = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    same = owner[1:] == owner[:-1]
    return np.asarray(np.bincount(owner[1:][same], weights=seg[same], minlength=count), dtype=np.float64)
