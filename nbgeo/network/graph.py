"""The road network: a directed graph of metres in a projected CRS (:class:`RoadNetwork`)."""

from __future__ import annotations

import io as _io
import itertools
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..errors import RoadNetworkError
from ..layers import LayerMeta

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray


#: Bump when the cached matrix format or the reading rules change.
CACHE_VERSION = "nbgeo-network/2"

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
    >>> from nbgeo.network import network_from_arrays
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

    def snap_nodes(self, main_component: bool) -> NDArray[np.int64]:
        """The nodes a feature may snap to: those of the main component, or all of them."""
        if main_component:
            return np.flatnonzero(self.in_main_component)
        return np.arange(self.n_nodes, dtype=np.int64)

    @cached_property
    def _kdtree_main(self) -> cKDTree:
        nodes = self.snap_nodes(True)
        return cKDTree(np.column_stack([self.x[nodes], self.y[nodes]]))

    @cached_property
    def _kdtree_all(self) -> cKDTree:
        return cKDTree(np.column_stack([self.x, self.y]))

    @cached_property
    def _strtree_main(self) -> shapely.STRtree:
        nodes = self.snap_nodes(True)
        return shapely.STRtree(shapely.points(self.x[nodes], self.y[nodes]))

    @cached_property
    def _strtree_all(self) -> shapely.STRtree:
        return shapely.STRtree(shapely.points(self.x, self.y))

    @cached_property
    def _piece_index(self) -> _PieceIndex:
        """The streets (node pairs), found from their nodes, for roads crossing polygons (no tree of them all)."""
        pieces = road_pieces(self)
        length = np.hypot(self.x[pieces.b] - self.x[pieces.a], self.y[pieces.b] - self.y[pieces.a])
        ends = np.concatenate([pieces.a, pieces.b])
        order = np.argsort(ends, kind="stable")
        at_node = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=self.n_nodes), out=at_node[1:])
        piece_of = np.concatenate([np.arange(len(pieces.a))] * 2)[order]
        long_ids = np.flatnonzero(length > _SHORT_PIECE_M)
        long_tree = shapely.STRtree(self._segments(pieces, long_ids))
        return _PieceIndex(pieces=pieces, at_node=at_node, piece_of=piece_of, long_ids=long_ids, long_tree=long_tree)

    def _segments(self, pieces: _Pieces, ids: NDArray[np.int64]) -> NDArray[np.object_]:
        """The pieces ``ids`` as straight LineStrings from ``a`` to ``b``."""
        if not len(ids):
            return np.zeros(0, dtype=object)
        a, b = pieces.a[ids], pieces.b[ids]
        return np.asarray(shapely.linestrings(np.stack([np.column_stack([self.x[a], self.y[a]]),
                                                        np.column_stack([self.x[b], self.y[b]])], axis=1)),
                          dtype=object)

    def crossing_pieces(self, geoms: NDArray[np.object_]) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                                                     NDArray[np.object_], _Pieces]:
        """The street pieces that intersect each geometry: ``(geometry, piece)`` pairs and the pieces' segments.

        Only the roads near the geometries become segments: a piece no longer
        than ``_SHORT_PIECE_M`` that meets a geometry has both its nodes within
        that distance of the geometry's bounding box, so the candidates are the
        pieces at the nodes the KD-tree finds around each box; the few longer
        pieces keep an STRtree of their own. The ``intersects`` test decides.
        """
        index = self._piece_index
        pieces = index.pieces
        empty = np.zeros(0, np.int64)
        if not len(geoms) or not len(pieces.a):
            return empty, empty, np.zeros(0, dtype=object), pieces
        bounds = shapely.bounds(geoms)
        centre = (bounds[:, :2] + bounds[:, 2:]) / 2
        radius = np.hypot(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]) / 2 + _SHORT_PIECE_M + 1.0
        found = self._kdtree_all.query_ball_point(centre, radius, return_sorted=False)
        counts = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
        owner = np.repeat(np.arange(len(geoms)), counts)
        nodes = np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64, count=int(counts.sum()))
        per_node = index.at_node[nodes + 1] - index.at_node[nodes]
        starts = np.repeat(index.at_node[nodes], per_node)
        ramp = np.arange(int(per_node.sum())) - np.repeat(np.cumsum(per_node) - per_node, per_node)
        cand_owner = np.repeat(owner, per_node)
        cand_piece = index.piece_of[starts + ramp]
        near_long = index.long_tree.query(geoms, predicate="intersects")
        cand_owner = np.concatenate([cand_owner, near_long[0]])
        cand_piece = np.concatenate([cand_piece, index.long_ids[near_long[1]]])
        key = np.unique(cand_owner * len(pieces.a) + cand_piece)
        cand_owner, cand_piece = key // len(pieces.a), key % len(pieces.a)
        segments = self._segments(pieces, cand_piece)
        hit = shapely.intersects(segments, geoms[cand_owner])
        return cand_owner[hit], cand_piece[hit], segments[hit], pieces

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
        candidates = self.snap_nodes(main_component)
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
        >>> from nbgeo.network import network_from_arrays
        >>> import numpy as np
        >>> net = network_from_arrays(np.array([0.0, 10.0, 20.0]), np.zeros(3), u=[0, 1, 1], v=[1, 0, 2],
        ...                           crs="EPSG:32651")
        >>> net.to_gdf()[["u", "v", "length", "oneway"]].to_numpy().tolist()
        [[0, 1, 10.0, False], [1, 2, 10.0, True]]
        """
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
        return {"version": np.array(CACHE_VERSION), "x": self.x, "y": self.y, "node_ids": self.node_ids,
                "indptr": m.indptr, "indices": m.indices, "data": m.data, "crs": np.array(self.crs)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]], *, meta: LayerMeta | None = None) -> RoadNetwork:
        """Rebuild a network from :meth:`to_arrays`, checking that the arrays make one.

        Raises ``E-NET-CACHE`` when they do not: another format, arrays of
        the wrong kind or length, a matrix that points outside the nodes or
        holds negative or non-finite lengths.
        """

        def bad(why: str) -> RoadNetworkError:
            return RoadNetworkError(f"not a road network of format {CACHE_VERSION}: {why}", code="E-NET-CACHE")

        names = ("version", "x", "y", "node_ids", "indptr", "indices", "data", "crs")
        missing = [name for name in names if name not in arrays]
        if missing:
            raise bad(f"no {', '.join(missing)}")
        a = {name: np.asarray(arrays[name]) for name in names}
        if a["version"].dtype.kind != "U" or str(a["version"][()]) != CACHE_VERSION:
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


#: Street pieces longer than this (metres) are kept in a tree of their own; shorter ones are found from their
#: nodes near the geometry (see RoadNetwork.crossing_pieces).
_SHORT_PIECE_M = 500.0


@dataclass(frozen=True)
class _PieceIndex:
    pieces: _Pieces
    at_node: NDArray[np.int64]  # CSR: the pieces at node i are piece_of[at_node[i]:at_node[i + 1]]
    piece_of: NDArray[np.int64]
    long_ids: NDArray[np.int64]
    long_tree: shapely.STRtree


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


def min_per_owner(owner: NDArray[np.int64], value: NDArray[np.float64], n: int
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
