"""Road networks: read or download them, convert them once to a sparse matrix in metres, measure by road.

A :class:`RoadNetwork` is a directed graph held as a SciPy CSR matrix whose
entry ``(i, j)`` is the length in metres of the road from node ``i`` to node
``j``, with the node coordinates in a metric CRS: a dataset's working CRS when
it is read for a dataset (:func:`read_dataset_network`), else one chosen from
the network's own extent (:func:`nbgeo.crs.working_crs_for`). Everything
network-related in nbgeo runs on it:

* **Reading.** :func:`read_network` opens ``.osm`` XML and ``.osm.pbf``
  extracts (with ``osmium``; osmnx cannot read PBF), ``.graphml`` files saved
  by osmnx, and GeoPackages of osmnx ``nodes``/``edges`` layers.
  :func:`network_from_place` and :func:`network_from_polygon` download a
  city's drivable network with osmnx. Every reader caches the built matrix on
  disk, in the user's cache directory (or ``settings.cache_folder``), keyed
  and verified by the file's content or the query (see :mod:`nbgeo._cache`:
  a damaged, foreign or planted entry is ignored and rebuilt).
* **Conversion.** :func:`network_from_graph` turns a networkx graph into the
  matrix once. Parallel edges keep the **shortest** road (``networkx.to_scipy_sparse_array``
  adds them up, which is wrong for distances). Curved edges are split at their
  vertices, so every node lies on the road and snapping to nodes stays close.
* **Snapping.** Points snap to the nearest node with a KD-tree
  (:meth:`RoadNetwork.snap`); the snapping distance is reported and counted
  in every distance. By default only nodes of the largest strongly connected
  component are snap targets, so a site never lands on an isolated island of
  the network (a car park, a data error).
* **Distances.** :func:`nearest_facility` gives, for arbitrary points, parks or
  lines, the road distance to the nearest facility and which facility it is.
  It is one multi-source Dijkstra with a cutoff on the **reversed** graph,
  because "distance to the nearest charger" is travelled from the site to the
  charger, and one-way streets make that differ from the way back. Small
  searches run ``scipy.sparse.csgraph.dijkstra`` (``min_only``, ``limit``);
  many facilities on a large graph run nbgeo's vectorised bucket search
  (:func:`node_distances`, ``search=``), about twice as fast there, with the
  same distances.

Distance model
--------------
For an origin ``o`` and a set of facilities ``F``, with ``A(g)`` the access
nodes of a geometry ``g`` (see :func:`access_points`) and ``s(g, a)`` the
straight distance from ``g`` to access node ``a``:

.. math::

   d(o, F) = \\min_{f \\in F} \\; \\min_{a \\in A(o),\\, b \\in A(f)}
             \\big( s(o, a) + D(a, b) + s(f, b) \\big)

where ``D(a, b)`` is the shortest road distance from node ``a`` to node ``b``
along the directed graph. The facility-side snapping distances enter the
Dijkstra as starting distances at the facility nodes (for SciPy's, as the
lengths of edges from one virtual source to every facility node), so the
minimum is exact, not an approximation.

Examples
--------
A one-way loop around a block: the way to the facility is not the way back.

>>> import numpy as np
>>> from nbgeo import network
>>> x, y = np.array([0.0, 100.0, 100.0, 0.0]), np.array([0.0, 0.0, 100.0, 100.0])
>>> loop = network.network_from_arrays(x, y, u=[0, 1, 2, 3], v=[1, 2, 3, 0], crs="EPSG:32651")
>>> site, charger = np.array([[100.0, 100.0]]), np.array([[100.0, 0.0]])
>>> float(network.nearest_facility(loop, site, charger)["distance"].iloc[0])
300.0
>>> float(network.nearest_facility(loop, site, charger, direction="from")["distance"].iloc[0])
100.0
"""

from __future__ import annotations

import functools
import hashlib
import io as _io
import logging
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from . import _cache, settings
from .crs import parse_crs, working_crs_for
from .errors import CRSError, InputError, RoadNetworkError
from .layers import LayerMeta
from .manifest import manifest_path, read_manifest

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import geopandas as gpd
    import networkx as nx
    from numpy.typing import ArrayLike, NDArray

    from .layers import Dataset

__all__ = [
    "DRIVE_EXCLUDED",
    "NETWORK_TYPES",
    "Access",
    "DistanceMatrix",
    "NetworkSource",
    "RoadNetwork",
    "access_points",
    "dataset_networks",
    "distance_matrix",
    "is_drivable",
    "nearest_facility",
    "nearest_from_access",
    "network_from_arrays",
    "network_from_graph",
    "network_from_place",
    "network_from_polygon",
    "node_distances",
    "read_dataset_network",
    "read_network",
]

log = logging.getLogger(__name__)

#: Bump when the cached matrix format or the reading rules change.
_CACHE_VERSION = "nbgeo-network/2"

#: ``highway=*`` values that are not roads for cars (after osmnx's "drive" network type).
DRIVE_EXCLUDED = frozenset({
    "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway", "elevator",
    "escalator", "footway", "no", "path", "pedestrian", "planned", "platform", "proposed", "raceway",
    "razed", "rest_area", "service", "services", "steps", "track",
})
#: ``service=*`` values excluded from the drivable network.
_SERVICE_EXCLUDED = {
    "drive": frozenset({"alley", "driveway", "emergency_access", "parking", "parking_aisle", "private"}),
    "drive_service": frozenset({"emergency_access", "parking", "parking_aisle", "private"}),
}
#: The network types nbgeo reads from OSM data.
NETWORK_TYPES = ("drive", "drive_service")

_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ONEWAY_NO = frozenset({"no", "false", "0"})
#: Ways that are one-way unless tagged ``oneway=no`` (OSM wiki: Key:oneway, implied values).
_IMPLIED_ONEWAY_HIGHWAY = frozenset({"motorway"})
_IMPLIED_ONEWAY_JUNCTION = frozenset({"roundabout", "circular"})

# Non-point geometries reach every node within this distance of them (metres): a numerical
# tolerance for nodes lying on a line or a polygon's edge, not a snapping radius.
_ON_GEOMETRY_M = 1.0

# Magic bytes of the formats read_network opens (after an optional compression layer).
_GZIP, _BZIP2 = b"\x1f\x8b", b"BZh"


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph as a CSR matrix of lengths in metres, with node coordinates.

    Build one with :func:`network_from_arrays`, :func:`network_from_graph`,
    :func:`read_network` or :func:`network_from_place`; do not fill the fields by hand.

    Parameters
    ----------
    x, y
        Node coordinates in ``crs`` (metres).
    matrix
        ``n × n`` CSR matrix; entry ``(i, j)`` is the length in metres of the
        shortest road from node ``i`` to node ``j``. Explicit zeros are roads
        of length zero.
    crs
        The metric CRS of the coordinates, as a string pyproj understands.
    node_ids
        The original node ids (OSM ids), ``-1`` for nodes nbgeo added where it
        split a curved road at its vertices.
    meta
        Provenance: file, source, licence, whether it is illustrative.

    Examples
    --------
    >>> import numpy as np
    >>> net = network_from_arrays(np.array([0.0, 3.0]), np.array([0.0, 4.0]), u=[0], v=[1], crs="EPSG:32651")
    >>> net.n_nodes, net.n_edges, float(net.matrix[0, 1])
    (2, 1, 5.0)
    >>> net.snap(np.array([[2.5, 4.0]]))
    (array([1]), array([0.5]))
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    matrix: sparse.csr_array
    crs: str
    node_ids: NDArray[np.int64]
    meta: LayerMeta = field(default_factory=lambda: LayerMeta(name="roads", source="in memory"))

    # ---- size and structure ----------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.matrix.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges (parallel roads counted once, by their shortest)."""
        return int(self.matrix.nnz)

    def __repr__(self) -> str:
        flag = ", illustrative" if self.meta.illustrative else ""
        return f"<RoadNetwork {self.meta.name!r}: {self.n_nodes:,} nodes, {self.n_edges:,} directed edges{flag}>"

    @cached_property
    def reverse(self) -> sparse.csr_array:
        """The transposed matrix: searching it from facilities gives distances *to* them."""
        return sparse.csr_array(self.matrix.T)

    @cached_property
    def edges(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """The directed edges as arrays ``(u, v, length)``, sorted by ``u`` then ``v``."""
        m = self.matrix
        u = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(m.indptr))
        return u, m.indices.astype(np.int64), np.asarray(m.data, dtype=np.float64)

    @cached_property
    def in_main_component(self) -> NDArray[np.bool_]:
        """Whether each node is in the largest strongly connected component.

        From every such node every other one can be reached, in both directions.
        """
        if self.n_nodes == 0:
            return np.zeros(0, dtype=bool)
        _, labels = csgraph.connected_components(self.matrix, directed=True, connection="strong")
        counts = np.bincount(labels)
        return labels == int(np.argmax(counts))

    def _snap_nodes(self, main_component: bool) -> NDArray[np.int64]:
        if main_component:
            return np.flatnonzero(self.in_main_component)
        return np.arange(self.n_nodes, dtype=np.int64)

    @cached_property
    def _kdtree_main(self) -> cKDTree:
        nodes = self._snap_nodes(True)
        return cKDTree(np.column_stack([self.x[nodes], self.y[nodes]]))

    @cached_property
    def _kdtree_all(self) -> cKDTree:
        return cKDTree(np.column_stack([self.x, self.y]))

    @cached_property
    def _strtree_main(self) -> shapely.STRtree:
        nodes = self._snap_nodes(True)
        return shapely.STRtree(shapely.points(self.x[nodes], self.y[nodes]))

    @cached_property
    def _strtree_all(self) -> shapely.STRtree:
        return shapely.STRtree(shapely.points(self.x, self.y))

    @cached_property
    def _piece_tree(self) -> tuple[_Pieces, shapely.STRtree]:
        """The streets (node pairs) and an STRtree of their segments, for roads crossing polygons."""
        pieces = road_pieces(self)
        segments = shapely.linestrings(np.stack([np.column_stack([self.x[pieces.a], self.y[pieces.a]]),
                                                 np.column_stack([self.x[pieces.b], self.y[pieces.b]])], axis=1)) \
            if len(pieces.a) else np.zeros(0, dtype=object)
        return pieces, shapely.STRtree(segments)

    # ---- snapping ----------------------------------------------------------------------------

    def snap(self, xy: ArrayLike, *, main_component: bool = True) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The nearest node of each point, and the straight distance to it in metres.

        Parameters
        ----------
        xy
            ``(n, 2)`` coordinates in the network's CRS.
        main_component
            Snap only to nodes of the largest strongly connected component
            (default), so that a point never lands on an unreachable island.

        Returns
        -------
        nodes, distances
            Node indices (``-1`` for a non-finite point) and distances (``inf`` there).
        """
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        nodes = np.full(len(pts), -1, dtype=np.int64)
        dist = np.full(len(pts), np.inf)
        ok = np.isfinite(pts).all(axis=1)
        candidates = self._snap_nodes(main_component)
        if ok.any() and len(candidates):
            tree = self._kdtree_main if main_component else self._kdtree_all
            d, k = tree.query(pts[ok])
            nodes[ok] = candidates[k]
            dist[ok] = d
        return nodes, dist

    # ---- export -------------------------------------------------------------------------------

    def to_gdf(self) -> gpd.GeoDataFrame:
        """The roads as lines, one per node pair (a two-way street is one line), in the network CRS.

        Columns ``u``, ``v`` (node indices), ``length`` (metres, the shorter
        direction for a two-way street) and ``oneway``.

        Examples
        --------
        >>> import numpy as np
        >>> net = network_from_arrays(np.array([0.0, 10.0, 20.0]), np.zeros(3), u=[0, 1, 1], v=[1, 0, 2],
        ...                           crs="EPSG:32651")
        >>> net.to_gdf()[["u", "v", "length", "oneway"]].to_numpy().tolist()
        [[0, 1, 10.0, False], [1, 2, 10.0, True]]
        """
        import geopandas as gpd

        pieces = road_pieces(self)
        lines = shapely.linestrings(
            np.stack([np.column_stack([self.x[pieces.a], self.y[pieces.a]]),
                      np.column_stack([self.x[pieces.b], self.y[pieces.b]])], axis=1)
        ) if len(pieces.a) else np.array([], dtype=object)
        length = np.fmin(pieces.length_ab, pieces.length_ba)
        return gpd.GeoDataFrame(
            {"u": pieces.a, "v": pieces.b, "length": length, "oneway": ~(pieces.has_ab & pieces.has_ba)},
            geometry=lines, crs=self.crs,
        )

    # ---- cache ----------------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """The network as plain arrays (no objects): what the disk cache keeps."""
        m = self.matrix
        return {"version": np.array(_CACHE_VERSION), "x": self.x, "y": self.y, "node_ids": self.node_ids,
                "indptr": m.indptr, "indices": m.indices, "data": m.data, "crs": np.array(self.crs)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]], *, meta: LayerMeta | None = None) -> RoadNetwork:
        """Rebuild a network from :meth:`to_arrays`, checking that the arrays make one.

        Raises ``E-NET-CACHE`` when they do not: another format, arrays of
        the wrong kind or length, a matrix that points outside the nodes or
        holds negative or non-finite lengths.
        """

        def bad(why: str) -> RoadNetworkError:
            return RoadNetworkError(f"not a road network of format {_CACHE_VERSION}: {why}", code="E-NET-CACHE")

        names = ("version", "x", "y", "node_ids", "indptr", "indices", "data", "crs")
        missing = [name for name in names if name not in arrays]
        if missing:
            raise bad(f"no {', '.join(missing)}")
        a = {name: np.asarray(arrays[name]) for name in names}
        if a["version"].dtype.kind != "U" or str(a["version"][()]) != _CACHE_VERSION:
            raise bad(f"format {a['version']!s}")
        kinds = {"x": "f", "y": "f", "node_ids": "iu", "indptr": "iu", "indices": "iu", "data": "f", "crs": "U"}
        for name, kind in kinds.items():
            if a[name].dtype.kind not in kind or a[name].ndim != (0 if name == "crs" else 1):
                raise bad(f"{name} is {a[name].dtype} of {a[name].ndim} dimension(s)")
        n, indptr, indices, data = len(a["x"]), a["indptr"], a["indices"], a["data"]
        if len(a["y"]) != n or len(a["node_ids"]) != n or len(indptr) != n + 1:
            raise bad("x, y, node_ids and indptr disagree on the number of nodes")
        if indptr[0] != 0 or indptr[-1] != len(indices) or len(data) != len(indices) or (np.diff(indptr) < 0).any():
            raise bad("the matrix's row pointers do not match its entries")
        if len(indices) and (indices.min() < 0 or indices.max() >= n):
            raise bad("the matrix refers to nodes that do not exist")
        if not (np.isfinite(data) & (data >= 0)).all():
            raise bad("road lengths must be finite and not negative")
        matrix = sparse.csr_array((data.astype(np.float64), indices, indptr), shape=(n, n))
        return cls(x=a["x"].astype(np.float64), y=a["y"].astype(np.float64), matrix=matrix, crs=str(a["crs"][()]),
                   node_ids=a["node_ids"].astype(np.int64), meta=meta or LayerMeta(name="roads", source="cache"))

    def to_bytes(self) -> bytes:
        """The network as ``.npz`` bytes (no pickle); :meth:`from_bytes` reads them back."""
        buf = _io.BytesIO()
        np.savez_compressed(buf, allow_pickle=False, **self.to_arrays())
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, meta: LayerMeta | None = None) -> RoadNetwork:
        """Read a network written by :meth:`to_bytes` (never a pickle), checked as :meth:`from_arrays` does."""
        with np.load(_io.BytesIO(data), allow_pickle=False) as z:
            return cls.from_arrays({name: z[name] for name in z.files}, meta=meta)


@dataclass(frozen=True)
class _Pieces:
    """Undirected road pieces: node pairs ``a < b`` with the length of each direction (inf if absent)."""

    a: NDArray[np.int64]
    b: NDArray[np.int64]
    length_ab: NDArray[np.float64]
    length_ba: NDArray[np.float64]

    @property
    def has_ab(self) -> NDArray[np.bool_]:
        return np.isfinite(self.length_ab)

    @property
    def has_ba(self) -> NDArray[np.bool_]:
        return np.isfinite(self.length_ba)


def road_pieces(net: RoadNetwork) -> _Pieces:
    """Pair up the two directions of each street (internal; used for road lengths and service areas)."""
    u, v, w = net.edges
    a, b = np.minimum(u, v), np.maximum(u, v)
    keys = a * net.n_nodes + b
    uniq, inv = np.unique(keys, return_inverse=True)
    length_ab = np.full(len(uniq), np.inf)
    length_ba = np.full(len(uniq), np.inf)
    forward = u < v
    length_ab[inv[forward]] = w[forward]
    length_ba[inv[~forward]] = w[~forward]
    return _Pieces(a=uniq // net.n_nodes, b=uniq % net.n_nodes, length_ab=length_ab, length_ba=length_ba)


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
    from pyproj import CRS

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


def _declared_work_crs(crs: Any) -> str | None:
    """The metric CRS a caller or ``settings.working_crs`` declares, checked; None to choose from the data."""
    if crs is None:
        crs = settings.working_crs
    return None if crs is None else _check_metric_crs(crs)


def _lonlat_work_crs(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> str:
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
    from pyproj import CRS, Transformer

    graph_crs = graph.graph.get("crs")
    if graph_crs is None and crs is None:
        msg = "the graph has no 'crs' attribute; pass crs= (the CRS of the nodes' x and y)"
        raise CRSError(msg, code="E-CRS-MISSING")
    source_crs = CRS.from_user_input(graph_crs if graph_crs is not None else crs)
    if crs is None and source_crs.is_projected:
        target: Any = source_crs
    else:
        target = _declared_work_crs(crs)
    if target is None:  # nodes in longitude/latitude: measure them in a CRS chosen from their extent
        lonlat = np.array([(d.get("x", np.nan), d.get("y", np.nan)) for _, d in graph.nodes(data=True)],
                          dtype=np.float64).reshape(-1, 2)
        if not source_crs.equals("EPSG:4326"):
            lon, lat = Transformer.from_crs(source_crs, 4326, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
            lonlat = np.column_stack([lon, lat])
        target = _lonlat_work_crs(lonlat[:, 0], lonlat[:, 1])
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

    x, y, u, v, length, _ = _split_edges(
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


def _split_edges(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    w: NDArray[np.float64],
    geoms: NDArray[np.object_],
    *,
    transform: Any,
    split: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64],
           NDArray[np.float64], NDArray[np.int64]]:
    """Edges as straight segments: curved edges become chains through their interior vertices.

    Interior vertices shared by the edges between the same two nodes (the two
    directions of a street) become the same new node, so a two-way street stays
    two-way along its whole length. Lengths: ``w`` spread over the pieces in
    proportion to their length, or the pieces' own lengths where ``w`` is NaN.
    """
    n = len(x)
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
    coords, owner = shapely.get_coordinates(list(geoms[idx_geom]), return_index=True)
    if transform is not None:
        cx, cy = transform.transform(coords[:, 0], coords[:, 1])
        coords = np.column_stack([cx, cy])
    counts = np.bincount(owner, minlength=len(idx_geom))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    interior = np.ones(len(coords), dtype=bool)
    interior[first] = False
    interior[first + counts - 1] = False
    i_owner = idx_geom[owner[interior]]
    i_xy = coords[interior]
    n_interior = np.zeros(len(u), dtype=np.int64)
    n_interior[idx_geom] = np.maximum(counts - 2, 0)

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


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


_HASHES: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    """The file's SHA-256, remembered per (path, size, modification time) so a big extract is hashed once."""
    st = path.stat()
    stamp = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if stamp not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[stamp] = h.hexdigest()
    return _HASHES[stamp]


_MEMORY: dict[tuple[str, LayerMeta], RoadNetwork] = {}


def _cached(key_parts: Sequence[str], build: Any, meta: LayerMeta, *, use_cache: bool | None) -> RoadNetwork:
    """Return the network for a key from memory, the disk cache, or ``build()`` (then cache it).

    The disk cache (:mod:`nbgeo._cache`) verifies each entry against the key
    parts and the nbgeo version and signs it; an entry that fails is rebuilt.
    """
    key = hashlib.sha256("|".join((_CACHE_VERSION, *key_parts)).encode()).hexdigest()[:32]
    # The same object for the same key and provenance: its reversed matrix, KD-tree and components,
    # built on first use, are then built once per process.
    if (key, meta) in _MEMORY:
        return _MEMORY[(key, meta)]
    if any(k == key for k, _ in _MEMORY):
        base = next(net for (k, _), net in _MEMORY.items() if k == key)
        _MEMORY[(key, meta)] = replace(base, meta=meta)
        return _MEMORY[(key, meta)]
    use = settings.use_cache if use_cache is None else use_cache
    parts = (_CACHE_VERSION, *key_parts)
    arrays = _cache.read_entry("networks", parts) if use else None
    if arrays is not None:
        try:
            net = RoadNetwork.from_arrays(arrays, meta=meta)
        except RoadNetworkError as exc:
            log.warning("Ignoring the cached network %s: %s; rebuilding it", _cache.entry_path("networks", parts), exc)
        else:
            _MEMORY[(key, meta)] = net
            return net
    net = replace(build(), meta=meta)
    if use:
        _cache.write_entry("networks", parts, net.to_arrays())
    _MEMORY[(key, meta)] = net
    return net


def _sniff(path: Path) -> str:
    """The format of a network file from its content: ``pbf``, ``xml`` or ``gpkg``."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith((_GZIP, _BZIP2)):
        return "xml"  # osmium reads .osm.gz / .osm.bz2; GraphML is never compressed here
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if len(head) >= 8 and b"OSMHeader" in head[:32]:
        return "pbf"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "xml"
    return "unknown"


def _check_network_path(path: str | Path) -> Path:
    text = str(path)
    if any(marker in text for marker in ("://", "/vsi", ":::")) and not settings.allow_network:
        msg = f"{text!r} is a remote or virtual path; nbgeo reads road networks only from local files"
        raise InputError(msg, code="E-PATH-REMOTE")
    p = Path(text)
    if not p.is_file():
        msg = f"road network file {text!r} does not exist" if not p.exists() else f"{text!r} is not a file"
        raise InputError(msg, code="E-FILE-MISSING")
    from . import limits

    limits.check_input_size(p.stat().st_size, file=text, what="the road network file")
    return p


def read_network(
    path: str | Path,
    *,
    network_type: str = "drive",
    crs: Any = None,
    use_cache: bool | None = None,
    meta: LayerMeta | None = None,
    source_crs: Any = None,
) -> RoadNetwork:
    """Read a road network from a local file, converting it once and caching the result.

    Parameters
    ----------
    path
        ``.osm.pbf`` / ``.pbf``, ``.osm`` (also ``.osm.gz``, ``.osm.bz2``),
        ``.graphml`` (osmnx ``save_graphml``) or ``.gpkg`` (osmnx
        ``save_graph_geopackage``: layers ``nodes`` and ``edges``).
    network_type
        For OSM files, which ways are roads: ``"drive"`` (public drivable
        streets, as osmnx's "drive") or ``"drive_service"`` (with service roads).
    crs
        The metric CRS to work in: for a dataset, its ``working_crs`` (as
        :func:`read_dataset_network` passes it). Default:
        ``settings.working_crs`` if set, else one chosen from the network's own
        extent (:func:`nbgeo.crs.working_crs_for`).
    use_cache
        Read and write the disk cache (default ``settings.use_cache``). The
        cache key is the file's SHA-256, so an edited file is read anew; an
        entry that does not verify is ignored and rebuilt (a WARNING).
    meta
        Provenance to attach (e.g. from a dataset manifest).
    source_crs
        The CRS of the file's coordinates as a manifest declares it: checked
        against the file's own (``E-CRS-MISMATCH``; OSM files are WGS 84
        longitude/latitude by definition), and used where a GraphML graph or
        GeoPackage declares none.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    InputError
        For a remote path, a missing file or an unknown format.
    RoadNetworkError
        For a file that cannot be parsed or holds no roads.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> net = read_network(datasets.get_path("ningbo") / "roads.osm.pbf")
    >>> net.n_edges > 150_000, bool(net.in_main_component.mean() > 0.95)
    (True, True)
    >>> read_network("https://example.com/ningbo.osm.pbf")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: 'https://example.com/ningbo.osm.pbf' is a remote or virtual path; nbgeo reads road networks only from local files
    """
    p = _check_network_path(path)
    if network_type not in NETWORK_TYPES:
        msg = f"network_type must be one of {', '.join(NETWORK_TYPES)}, got {network_type!r}"
        raise InputError(msg, code="E-NET-TYPE")
    work_crs = _declared_work_crs(crs)
    kind = _sniff(p)
    suffixes = "".join(p.suffixes).lower()
    if kind == "xml" and suffixes.endswith(".graphml"):
        kind = "graphml"
    if kind == "unknown":
        msg = (f"road network file {str(p)!r}: unknown format (expected OSM PBF, OSM XML, GraphML or a "
               f"GeoPackage of osmnx nodes and edges)")
        raise InputError(msg, code="E-FORMAT-FORBIDDEN")
    declared = None if source_crs is None else parse_crs(source_crs, what=f"road network {p.name!r}: crs")
    if declared is not None and kind in ("pbf", "xml") and not _is_wgs84_lonlat(declared):
        msg = (f"road network file {str(p)!r} is OpenStreetMap data, which is WGS 84 longitude/latitude by "
               f"definition, but its crs is declared as {declared.name!r}")
        raise CRSError(msg + " (hint: drop the crs key, or declare EPSG:4326; to choose the CRS distances are "
                       "measured in, use [crs] working in dataset.toml or --crs)", code="E-CRS-MISMATCH")
    meta = meta or LayerMeta(name="roads", file=p.name, source=str(p))
    # A CRS chosen from the file's extent depends only on its content, which the hash already keys.
    parts = (_sha256(p), kind, network_type, work_crs or "chosen from its extent (nbgeo.crs v1)",
             *(() if declared is None or kind in ("pbf", "xml") else (f"declared {declared.srs}",)))

    def build() -> RoadNetwork:
        if kind in ("pbf", "xml"):
            return _read_osm(p, network_type=network_type, crs=work_crs)
        if kind == "graphml":
            return _read_graphml(p, crs=work_crs, declared=declared)
        return _read_graph_gpkg(p, crs=work_crs, declared=declared)

    net = _cached(parts, build, meta, use_cache=use_cache)
    log.info("Read %r from %s", net, p)
    return net


def _is_wgs84_lonlat(crs: Any) -> bool:
    """Whether a CRS is longitude/latitude on WGS 84 or CGCS2000 (one datum for planning work)."""
    return bool(crs.is_geographic and crs.ellipsoid is not None
                and crs.ellipsoid.name in ("WGS 84", "GRS 1980", "CGCS2000"))


def _check_declared(path: Path, own: Any, declared: Any) -> Any:
    """The file's own CRS, checked against the declared one; the declared one where the file has none."""
    if declared is None or own is None:
        return own if own is not None else declared
    from pyproj import CRS

    if not CRS.from_user_input(own).equals(declared):
        msg = (f"road network file {str(path)!r} is in {CRS.from_user_input(own).name!r}, but its crs is declared "
               f"as {declared.name!r}")
        raise CRSError(msg + " (hint: correct the manifest's crs, or the file)", code="E-CRS-MISMATCH")
    return own


def _read_graphml(path: Path, *, crs: str | None, declared: Any = None) -> RoadNetwork:
    import osmnx as ox

    try:
        graph = ox.load_graphml(path)
    except Exception as exc:  # osmnx/networkx raise many types for a bad file
        msg = f"road network file {str(path)!r} is not a GraphML graph osmnx can read: {exc}"
        raise RoadNetworkError(msg, code="E-NET-PARSE") from None
    own = _check_declared(path, graph.graph.get("crs"), declared)
    if own is not None:
        graph.graph["crs"] = own
    return network_from_graph(graph, crs=crs)


def _read_graph_gpkg(path: Path, *, crs: str | None, declared: Any = None) -> RoadNetwork:
    """A GeoPackage with osmnx's ``nodes`` (osmid) and ``edges`` (u, v, geometry) layers."""
    import pyogrio

    try:
        layers = {name for name, _ in pyogrio.list_layers(path)}
        if not {"nodes", "edges"} <= layers:
            msg = f"road network GeoPackage {str(path)!r} needs layers 'nodes' and 'edges', has {sorted(layers)}"
            raise RoadNetworkError(msg, code="E-NET-PARSE")
        nodes = pyogrio.read_dataframe(path, layer="nodes")
        edges = pyogrio.read_dataframe(path, layer="edges")
    except pyogrio.errors.DataSourceError as exc:
        msg = f"road network file {str(path)!r} cannot be read: {exc}"
        raise RoadNetworkError(msg, code="E-NET-PARSE") from None
    for layer, gdf, cols in (("nodes", nodes, ("osmid",)), ("edges", edges, ("u", "v"))):
        missing = [c for c in cols if c not in gdf.columns]
        if missing:
            msg = f"road network GeoPackage {str(path)!r}: layer {layer!r} lacks column(s) {', '.join(missing)}"
            raise RoadNetworkError(msg, code="E-NET-PARSE")
    own = _check_declared(path, nodes.crs, declared)
    if own is None:
        msg = f"road network GeoPackage {str(path)!r} has no CRS"
        raise CRSError(msg + " (hint: declare it with crs = '...' in [networks.NAME])", code="E-CRS-MISSING")
    nodes = nodes.set_crs(own, allow_override=True)
    edges = edges.set_crs(own, allow_override=True) if edges.crs is None else edges
    if crs is None:
        lonlat = nodes.geometry.to_crs(4326)
        crs = _lonlat_work_crs(shapely.get_x(lonlat.values), shapely.get_y(lonlat.values))
    nodes = nodes.to_crs(crs)
    edges = edges.to_crs(crs)
    ids = nodes["osmid"].to_numpy(dtype=np.int64)
    order = np.argsort(ids)
    pos_u = np.searchsorted(ids, edges["u"].to_numpy(dtype=np.int64), sorter=order)
    pos_v = np.searchsorted(ids, edges["v"].to_numpy(dtype=np.int64), sorter=order)
    u = order[np.clip(pos_u, 0, len(ids) - 1)]
    v = order[np.clip(pos_v, 0, len(ids) - 1)]
    known = (ids[u] == edges["u"].to_numpy(dtype=np.int64)) & (ids[v] == edges["v"].to_numpy(dtype=np.int64))
    if not known.all():
        msg = f"road network GeoPackage {str(path)!r}: {int((~known).sum())} edge(s) refer to unknown nodes"
        raise RoadNetworkError(msg, code="E-NET-NODE")
    x, y = shapely.get_x(nodes.geometry.values), shapely.get_y(nodes.geometry.values)
    # osmnx saves undirected by default (one row per street, in either order), or directed (one row per
    # direction). Orient each row's geometry from u to v; a two-way street gets both directions and a
    # one-way street the direction its geometry was drawn in.
    geoms = np.asarray(edges.geometry.values, dtype=object)
    start = shapely.get_point(geoms, 0)
    starts_at_u = shapely.distance(start, shapely.points(x[u], y[u])) <= shapely.distance(
        start, shapely.points(x[v], y[v]))
    geoms_uv = np.where(starts_at_u, geoms, shapely.reverse(geoms))
    if "oneway" in edges.columns:
        oneway = edges["oneway"].map(lambda val: str(val).strip().lower() in ("true", "1", "yes")).to_numpy(bool)
    else:
        oneway = np.ones(len(edges), dtype=bool)  # plain u -> v rows
        starts_at_u = np.ones(len(edges), dtype=bool)
    forward = ~oneway | starts_at_u
    backward = ~oneway | ~starts_at_u
    all_u = np.concatenate([u[forward], v[backward]])
    all_v = np.concatenate([v[forward], u[backward]])
    all_geoms = np.concatenate([geoms_uv[forward], shapely.reverse(geoms_uv[backward])])
    w = np.full(len(all_u), np.nan)
    x2, y2, su, sv, length, _ = _split_edges(x, y, all_u, all_v, w, all_geoms, transform=None, split=True)
    node_ids = np.full(len(x2), -1, dtype=np.int64)
    node_ids[: len(ids)] = ids
    return network_from_arrays(x2, y2, su, sv, length, crs=crs, node_ids=node_ids)


def _way_direction(tags: Mapping[str, str]) -> int:
    """+1 one-way along the way, -1 one-way against it, 0 two-way."""
    oneway = tags.get("oneway", "").strip().lower()
    if oneway in _ONEWAY_FORWARD:
        return 1
    if oneway in _ONEWAY_BACKWARD:
        return -1
    if oneway in _ONEWAY_NO:
        return 0
    if tags.get("junction", "") in _IMPLIED_ONEWAY_JUNCTION or tags.get("highway", "") in _IMPLIED_ONEWAY_HIGHWAY:
        return 1
    return 0


def is_drivable(tags: Mapping[str, str], network_type: str = "drive") -> bool:
    """Whether an OSM way with these tags belongs to the network type.

    Examples
    --------
    >>> is_drivable({"highway": "residential"}), is_drivable({"highway": "footway"})
    (True, False)
    >>> is_drivable({"highway": "service"}), is_drivable({"highway": "service"}, "drive_service")
    (False, True)
    >>> is_drivable({"highway": "primary", "access": "private"})
    False
    """
    highway = tags.get("highway")
    if not highway:
        return False
    excluded = DRIVE_EXCLUDED - {"service"} if network_type == "drive_service" else DRIVE_EXCLUDED
    if highway in excluded or tags.get("area") == "yes":
        return False
    if tags.get("access") in ("private", "no") or tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no":
        return False
    return tags.get("service", "") not in _SERVICE_EXCLUDED[network_type]


def _read_osm(path: Path, *, network_type: str, crs: str | None) -> RoadNetwork:
    """Read an OSM PBF or XML file with osmium: every vertex of every road is a node."""
    import osmium
    from pyproj import Transformer

    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    way_len: list[int] = []
    way_dir: list[int] = []
    missing = negative = roads = 0
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            if not isinstance(way, osmium.osm.Way):  # the entity filter lets only ways through
                continue
            tags = {t.k: t.v for t in way.tags}
            if not is_drivable(tags, network_type):
                continue
            direction = _way_direction(tags)
            roads += 1
            # A way may refer to nodes missing from a clipped extract: cut it there.
            run = 0
            for node in way.nodes:
                loc = node.location
                if not loc.valid():
                    missing += 1
                    negative += node.ref < 0
                    if run:
                        way_len.append(run)
                        way_dir.append(direction)
                    run = 0
                    continue
                refs.append(node.ref)
                lons.append(loc.lon)
                lats.append(loc.lat)
                run += 1
            if run:
                way_len.append(run)
                way_dir.append(direction)
    except (RuntimeError, osmium.InvalidLocationError) as exc:  # parse errors; a coordinate that is no number
        msg = f"road network file {str(path)!r} cannot be read as OSM data: {exc}"
        raise RoadNetworkError(msg, code="E-NET-PARSE") from None
    if missing:
        log.warning("%s: %d way node(s) missing from the file; their ways were cut there", path, missing)
    segments = sum(n - 1 for n in way_len)
    if not segments:
        if not roads:
            why = "no ways with a drivable highway tag"
        elif negative:
            why = (f"its {roads:,} road ways refer to nodes with negative ids (as JOSM writes unsaved data), whose "
                   "locations nbgeo cannot look up; upload or renumber them")
        elif missing:
            why = f"its {roads:,} road ways refer to {missing:,} nodes that are not in the file (a clipped extract?)"
        else:
            why = f"its {roads:,} road ways have fewer than two nodes each: there is no road segment"
        msg = f"road network file {str(path)!r} has no {network_type!r} roads: {why}"
        raise RoadNetworkError(msg, code="E-NET-EMPTY")

    ref_arr = np.asarray(refs, dtype=np.int64)
    ids, first, inv = np.unique(ref_arr, return_index=True, return_inverse=True)
    node_lon, node_lat = np.asarray(lons)[first], np.asarray(lats)[first]
    if crs is None:
        crs = _lonlat_work_crs(node_lon, node_lat)
    to_metric = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_metric.transform(node_lon, node_lat)
    lens = np.asarray(way_len, dtype=np.int64)
    dirs = np.repeat(np.asarray(way_dir, dtype=np.int64), lens - 1)
    # Consecutive vertices of the same way are the edges.
    link = np.ones(len(inv) - 1, dtype=bool)
    link[np.cumsum(lens)[:-1] - 1] = False
    a, b = inv[:-1][link], inv[1:][link]
    fwd = dirs >= 0
    bwd = dirs <= 0
    u = np.concatenate([a[fwd], b[bwd]])
    v = np.concatenate([b[fwd], a[bwd]])
    net = network_from_arrays(np.asarray(x), np.asarray(y), u, v, crs=crs, node_ids=ids)
    log.info("Read %d ways (%d one-way) from %s", len(lens), int((np.asarray(way_dir) != 0).sum()), path)
    return net


# --------------------------------------------------------------------------------------------
# Downloading with osmnx
# --------------------------------------------------------------------------------------------


def _download(query_key: str, fetch: Any, *, network_type: str, crs: Any, use_cache: bool | None,
              source: str) -> RoadNetwork:
    import osmnx as ox

    if network_type not in NETWORK_TYPES:
        msg = f"network_type must be one of {', '.join(NETWORK_TYPES)}, got {network_type!r}"
        raise InputError(msg, code="E-NET-TYPE")
    work_crs = _declared_work_crs(crs)
    use = settings.use_cache if use_cache is None else use_cache
    meta = LayerMeta(name="roads", source=source, licence="ODbL-1.0 (© OpenStreetMap contributors)")

    def build() -> RoadNetwork:
        # osmnx keeps its own cache of the raw responses beside ours, in the same checked folder: never in
        # osmnx's default ./cache of the working directory.
        saved = (ox.settings.use_cache, ox.settings.cache_folder)
        folder = _cache.subfolder("osmnx") if use else None
        ox.settings.use_cache = folder is not None
        if folder is not None:
            ox.settings.cache_folder = str(folder)
        try:
            graph = fetch(ox)
        except Exception as exc:  # network errors, empty responses, geocoding failures
            msg = f"could not download the road network ({source}): {type(exc).__name__}: {exc}"
            raise RoadNetworkError(msg, code="E-NET-DOWNLOAD") from None
        finally:
            ox.settings.use_cache, ox.settings.cache_folder = saved
        return network_from_graph(graph, crs=work_crs)

    return _cached((query_key, network_type, work_crs or "chosen from its extent (nbgeo.crs v1)"), build, meta,
                   use_cache=use_cache)


def network_from_place(
    query: str | Mapping[str, str],
    *,
    network_type: str = "drive",
    crs: Any = None,
    use_cache: bool | None = None,
) -> RoadNetwork:
    """Download the drivable road network of a place from OpenStreetMap (osmnx), cached on disk.

    Parameters
    ----------
    query
        A place name or structured query that Nominatim geocodes to a polygon,
        e.g. ``"宁波市, 浙江省, 中国"``.
    network_type
        ``"drive"`` or ``"drive_service"``.
    crs
        The metric CRS to work in (default ``settings.working_crs`` if set,
        else one chosen from the network's extent).
    use_cache
        Read and write the caches (default ``settings.use_cache``): osmnx's
        cache of the raw responses and nbgeo's cache of the built matrix, both
        in the user's cache directory (or ``settings.cache_folder``). A second
        call with the same query reads the disk and makes no request.

    Returns
    -------
    RoadNetwork
        With OSM's licence (ODbL) in ``meta``.
    """
    key = f"place:{query!r}"

    def fetch(ox: Any) -> nx.MultiDiGraph:
        return ox.graph_from_place(query, network_type=network_type, simplify=True, retain_all=True)

    return _download(key, fetch, network_type=network_type, crs=crs, use_cache=use_cache,
                     source=f"OpenStreetMap via osmnx, place {query!r}")


def network_from_polygon(
    polygon: shapely.Geometry | gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    network_type: str = "drive",
    crs: Any = None,
    use_cache: bool | None = None,
) -> RoadNetwork:
    """Download the drivable road network inside a polygon (e.g. the city boundary), cached on disk.

    Parameters
    ----------
    polygon
        A shapely polygon in WGS 84 longitude/latitude, or a GeoSeries /
        GeoDataFrame with a CRS (unioned, e.g. the sample's districts).
    network_type, crs, use_cache
        As for :func:`network_from_place`.

    Returns
    -------
    RoadNetwork
    """
    if hasattr(polygon, "geometry"):
        gs = polygon.geometry
        if gs.crs is None:
            msg = "the polygon's GeoSeries has no CRS"
            raise CRSError(msg, code="E-CRS-MISSING")
        geom = shapely.union_all(gs.to_crs(4326).values)
    else:
        geom = polygon
    if not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)) or geom.is_empty:
        msg = f"network_from_polygon needs a (Multi)Polygon in WGS 84, got {getattr(geom, 'geom_type', type(geom))}"
        raise InputError(msg, code="E-GEOM-TYPE")
    wkb_hash = hashlib.sha256(shapely.to_wkb(shapely.normalize(geom), output_dimension=2)).hexdigest()

    def fetch(ox: Any) -> nx.MultiDiGraph:
        return ox.graph_from_polygon(geom, network_type=network_type, simplify=True, retain_all=True)

    return _download(f"polygon:{wkb_hash}", fetch, network_type=network_type, crs=crs, use_cache=use_cache,
                     source=f"OpenStreetMap via osmnx, polygon {wkb_hash[:12]}")


# --------------------------------------------------------------------------------------------
# Networks declared in a dataset manifest
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSource:
    """A road network declared in a dataset manifest: where it is, what it is, and which roads to read."""

    path: Path
    meta: LayerMeta
    network_type: str = "drive"
    declared_crs: str | None = None

    def read(self, *, use_cache: bool | None = None, crs: Any = None) -> RoadNetwork:
        """Read the network (cached), in the metric CRS ``crs`` (a dataset's working CRS; see :func:`read_network`)."""
        return read_network(self.path, network_type=self.network_type, use_cache=use_cache, meta=self.meta,
                            crs=crs, source_crs=self.declared_crs)


def dataset_networks(dataset: Dataset | str | Path) -> dict[str, NetworkSource]:
    """The road networks a dataset's manifest declares in ``[networks.NAME]`` tables.

    A network table has ``file`` (relative to the dataset folder), ``source``,
    ``licence``, ``illustrative``, ``note`` and optionally ``network_type``,
    ``crs`` (the CRS of the file's coordinates: checked against the file, and
    used where a GraphML or GeoPackage file declares none; OSM files are WGS 84
    longitude/latitude) and ``datum`` (WGS84 or CGCS2000). The CRS distances
    are measured in is the dataset's working CRS, not a key here::

        [networks.roads]
        file = "roads.osm.pbf"
        source = "OpenStreetMap, extract of 2025-06-01"
        licence = "ODbL-1.0"
        illustrative = false

    Given a :class:`~nbgeo.layers.Dataset`, its ``networks`` (whatever it
    was read from); given a folder, those its manifest declares
    (:func:`nbgeo.manifest.read_manifest` checks every key).

    Examples
    --------
    >>> from nbgeo import datasets
    >>> nets = dataset_networks(datasets.get_path("ningbo"))
    >>> list(nets), nets["roads"].meta.illustrative, nets["roads"].path.name
    (['roads'], True, 'roads.osm.pbf')
    >>> from nbgeo.layers import Dataset
    >>> dataset_networks(Dataset(name="in memory", layers={}))
    {}
    """
    if not isinstance(dataset, (str, Path)):  # a dataset holds its networks, whatever it was read from
        files = dict(dataset.networks)
    elif not manifest_path(dataset).is_file():
        return {}
    else:  # the one manifest reader checks every key (nbgeo.manifest)
        files = read_manifest(dataset).network_files()
    return {name: NetworkSource(path=Path(f.path), meta=f.meta, network_type=f.network_type,
                                declared_crs=f.declared_crs) for name, f in files.items()}


def read_dataset_network(dataset: Dataset | str | Path, name: str = "roads", *,
                         use_cache: bool | None = None) -> RoadNetwork:
    """Read the road network a dataset's manifest declares (see :func:`dataset_networks`).

    Given a :class:`~nbgeo.layers.Dataset`, the network is measured in the
    dataset's working CRS, as its layers are; given a folder, in one chosen
    from the network's own extent.

    Raises
    ------
    InputError
        ``E-NET-MISSING`` when the manifest declares no such network.

    Examples
    --------
    >>> from nbgeo import io
    >>> net = read_dataset_network(io.read_sample())
    >>> net.meta.illustrative, net.meta.file
    (True, 'roads.osm.pbf')
    >>> from nbgeo.layers import Dataset
    >>> read_dataset_network(Dataset(name="in memory", layers={}))
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: dataset 'in memory' declares no road network 'roads' (hint: add a [networks.roads] table with file = '...osm.pbf' to dataset.toml)
    """
    nets = dataset_networks(dataset)
    if name not in nets:
        where = getattr(dataset, "name", str(dataset))
        msg = (f"dataset {where!r} declares no road network {name!r}"
               f"{'; declared: ' + ', '.join(nets) if nets else ''}")
        raise InputError(msg + " (hint: add a [networks.roads] table with file = '...osm.pbf' to dataset.toml)",
                         code="E-NET-MISSING")
    choice = getattr(dataset, "crs_choice", None)
    return nets[name].read(use_cache=use_cache, crs=None if choice is None else choice.text)


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


def _to_network_geoms(features: Any, net: RoadNetwork, what: str) -> tuple[NDArray[np.object_], pd.Index]:
    """Shapely geometries in the network CRS, and the features' index."""
    import geopandas as gpd

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
    candidates = net._snap_nodes(main_component)
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
    offset, row = _min_per_owner(inv, offset, len(uniq))
    return Access(owner=owner[row], node=node[row], offset=offset, n_features=n)


def _crossing_access(net: RoadNetwork, arr: NDArray[np.object_], polygons: NDArray[np.int64],
                     direction: str, main_component: bool) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                                                     NDArray[np.float64]]:
    """Access through the roads that cross polygons: the next (or previous) node, at the distance along the road."""
    pieces, tree = net._piece_tree
    left, right = tree.query(arr[polygons], predicate="intersects")
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(left) == 0:
        return empty
    a, b = pieces.a[right], pieces.b[right]
    inside = shapely.intersection(tree.geometries[right], arr[polygons[left]])
    coords, idx = shapely.get_coordinates(inside, return_index=True)
    ax, ay = net.x[a], net.y[a]
    dx, dy = net.x[b] - ax, net.y[b] - ay
    norm = dx * dx + dy * dy
    with np.errstate(divide="ignore", invalid="ignore"):
        f = ((coords[:, 0] - ax[idx]) * dx[idx] + (coords[:, 1] - ay[idx]) * dy[idx]) / norm[idx]
    f = np.clip(np.nan_to_num(f, nan=0.0), 0.0, 1.0)
    f_min = np.ones(len(left))
    f_max = np.zeros(len(left))
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


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


def node_distances(
    net: RoadNetwork,
    sources: ArrayLike,
    *,
    offsets: ArrayLike | None = None,
    cutoff: float | None = None,
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
    cutoff
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
        ``cutoff`` or reachable) and the position in ``sources`` of the nearest
        source (``-1`` where none; on exact ties, one of the nearest).

    Examples
    --------
    >>> import numpy as np
    >>> net = network_from_arrays(np.arange(4) * 100.0, np.zeros(4), u=[0, 1, 2], v=[1, 2, 3], crs="EPSG:32651")
    >>> d, s = node_distances(net, [3])
    >>> d.tolist(), s.tolist()
    ([300.0, 200.0, 100.0, 0.0], [0, 0, 0, 0])
    >>> node_distances(net, [3], direction="from")[0].tolist()
    [inf, inf, inf, 0.0]
    >>> node_distances(net, [1, 3], offsets=[500.0, 0.0], cutoff=250)[0].tolist()
    [inf, 200.0, 100.0, 0.0]
    >>> node_distances(net, [1, 3], offsets=[500.0, 0.0], cutoff=250, search="buckets")[0].tolist()
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
    limit = np.inf if cutoff is None else float(cutoff)
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


def _min_per_owner(owner: NDArray[np.int64], value: NDArray[np.float64], n: int
                   ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Per owner ``0..n-1``: the least value and the row where it occurs (-1 for owners without rows)."""
    best = np.full(n, np.inf)
    row = np.full(n, -1, dtype=np.int64)
    if len(owner) == 0:
        return best, row
    order = np.lexsort((value, owner))
    head = np.r_[True, owner[order][1:] != owner[order][:-1]]
    first = order[head]
    best[owner[first]] = value[first]
    row[owner[first]] = first
    return best, row


def nearest_facility(
    net: RoadNetwork,
    origins: Any,
    facilities: Any,
    *,
    cutoff: float | None = None,
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
    cutoff
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
        ``cutoff``), ``facility`` (index label of the nearest facility, or
        None), ``road`` (the part along the network), ``snap`` (origin to its
        access node), ``facility_snap`` (facility's access node to the
        facility) and ``node`` (the origin's access node used, -1 if none).

    Examples
    --------
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
    o_geoms, o_index = _to_network_geoms(origins, net, "origins")
    f_geoms, f_index = _to_network_geoms(facilities, net, "facilities")
    # Travel leaves the origin and ends at the facility ("to"), or the other way round ("from").
    back: Literal["to", "from"] = "from" if direction == "to" else "to"
    o_acc = access_points(net, o_geoms, max_snap=max_snap, main_component=main_component, direction=direction)
    f_acc = access_points(net, f_geoms, max_snap=max_snap, main_component=main_component, direction=back)
    return nearest_from_access(net, o_acc, f_acc, origin_index=o_index, facility_index=f_index, cutoff=cutoff,
                               direction=direction)


def nearest_from_access(
    net: RoadNetwork,
    origins: Access,
    facilities: Access,
    *,
    origin_index: pd.Index | None = None,
    facility_index: pd.Index | None = None,
    cutoff: float | None = None,
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
    cutoff, direction
        As for :func:`nearest_facility`.

    Returns
    -------
    pandas.DataFrame
        As :func:`nearest_facility`.

    Examples
    --------
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
    node_dist, src = node_distances(net, f_acc.node, offsets=f_acc.offset, cutoff=cutoff, direction=direction)
    total = o_acc.offset + node_dist[o_acc.node]
    if cutoff is not None:
        total = np.where(total <= cutoff, total, np.inf)
    best, row = _min_per_owner(o_acc.owner, total, o_acc.n_features)
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
    nearest_off, _ = _min_per_owner(o_acc.owner, o_acc.offset, o_acc.n_features)
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
    """Sparse origin × destination distances up to a cutoff.

    Attributes
    ----------
    matrix
        ``scipy.sparse.csr_array`` of shape ``(len(rows), len(columns))``. The
        stored entries are exactly the pairs within ``cutoff``; their value is
        the distance in metres, **including 0** (stored as an explicit zero).
        Pairs not stored are farther than ``cutoff``: use :meth:`to_dense`,
        not ``matrix.toarray()``, which would show them as 0.
    rows, columns
        The index labels of the origins and destinations.
    cutoff
        The distance limit in metres.
    """

    matrix: sparse.csr_array
    rows: pd.Index
    columns: pd.Index
    cutoff: float

    def covers(self, within: float | None = None) -> sparse.csr_array:
        """Boolean sparse matrix: origin ``i`` is within ``within`` (default the cutoff) of destination ``j``."""
        limit = self.cutoff if within is None else min(within, self.cutoff)
        m = self.matrix.tocoo()
        keep = m.data <= limit
        return sparse.csr_array((np.ones(int(keep.sum()), dtype=bool), (m.row[keep], m.col[keep])),
                                shape=self.matrix.shape)

    def to_dense(self, fill: float = np.inf) -> NDArray[np.float64]:
        """A dense array with ``fill`` where the pair is beyond the cutoff."""
        out = np.full(self.matrix.shape, fill, dtype=np.float64)
        m = self.matrix.tocoo()
        out[m.row, m.col] = m.data
        return out

    def to_frame(self) -> pd.DataFrame:
        """The stored pairs as a long table with columns ``origin``, ``destination``, ``distance``."""
        m = self.matrix.tocoo()
        return pd.DataFrame({"origin": np.asarray(self.rows)[m.row], "destination": np.asarray(self.columns)[m.col],
                             "distance": m.data})


def distance_matrix(
    net: RoadNetwork,
    origins: Any,
    destinations: Any,
    *,
    cutoff: float,
    max_snap: float | None = None,
    main_component: bool = True,
    max_memory: float = 2e8,
) -> DistanceMatrix:
    """Road distances from every origin to every destination within ``cutoff``, as a sparse matrix.

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
    cutoff
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
    >>> import numpy as np
    >>> net = network_from_arrays(np.arange(3) * 100.0, np.zeros(3), u=[0, 1, 1, 2], v=[1, 0, 2, 1],
    ...                           crs="EPSG:32651")
    >>> dm = distance_matrix(net, np.array([[0.0, 0.0], [200.0, 0.0]]), np.array([[0.0, 0.0], [100.0, 0.0]]),
    ...                      cutoff=150)
    >>> dm.to_dense().tolist()
    [[0.0, 100.0], [inf, 100.0]]
    >>> dm.covers().toarray().tolist()
    [[True, True], [False, True]]
    """
    o_geoms, o_index = _to_network_geoms(origins, net, "origins")
    d_geoms, d_index = _to_network_geoms(destinations, net, "destinations")
    o_acc = access_points(net, o_geoms, max_snap=max_snap, main_component=main_component, direction="to")
    d_acc = access_points(net, d_geoms, max_snap=max_snap, main_component=main_component, direction="from")
    rows_out, cols_out, vals_out = [], [], []
    uniq_nodes, inv = np.unique(d_acc.node, return_inverse=True)
    batch = max(1, int(max_memory // (8 * max(net.n_nodes, 1))))
    for start in range(0, len(uniq_nodes), batch):
        chunk = uniq_nodes[start:start + batch]
        d = csgraph.dijkstra(net.reverse, directed=True, indices=chunk, limit=cutoff)
        d = np.atleast_2d(d)
        # Access rows of destinations whose node is in this chunk.
        sel = np.flatnonzero((inv >= start) & (inv < start + len(chunk)))
        for j in sel:
            col = d[inv[j] - start]
            tot = o_acc.offset + col[o_acc.node] + d_acc.offset[j]
            ok = tot <= cutoff
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
        v, row = _min_per_owner(inv_key, v, len(uniq))
        r, c = r[row], c[row]  # sorted by (origin, destination), as np.unique sorts the keys
    else:
        r = c = np.zeros(0, dtype=np.int64)
        v = np.zeros(0)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=shape[0]), out=indptr[1:])
    matrix = sparse.csr_array((v, c, indptr), shape=shape)
    return DistanceMatrix(matrix=matrix, rows=pd.Index(o_index), columns=pd.Index(d_index), cutoff=float(cutoff))
