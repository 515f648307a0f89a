"""The coverage matrix of the location models: which candidate site serves which demand point."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from ..coverage import distances_within
from ..crs import metric_crs_for
from ..deprecation import renamed_keywords
from ..errors import CRSError, InputError, LimitError
from .assignment import concat_ranges

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ..network import RoadNetwork


# --------------------------------------------------------------------------------------------------------------
# The coverage matrix
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CoverageMatrix:
    """Which sites cover which demand points, and at what distance.

    Stored by site (compressed sparse columns): site ``j`` covers the demand
    points ``indices[indptr[j]:indptr[j + 1]]`` (ascending) at the distances
    ``distance[indptr[j]:indptr[j + 1]]``. A distance of 0 is kept (a charger
    inside a park), which a plain scipy matrix of distances would drop.

    Build one with :func:`coverage_matrix` or :meth:`from_pairs`.

    Parameters
    ----------
    indptr, indices, distance
        The compressed columns.
    n_demand
        Number of demand points (rows).
    radius
        The service distance in metres.
    by
        ``"straight"`` or ``"road"``.

    Examples
    --------
    >>> m = CoverageMatrix.from_pairs([0, 2, 2], [1, 0, 1], [5.0, 0.0, 7.5], n_demand=3, n_sites=2, radius=10)
    >>> m.shape, m.nnz, m.covers(1).tolist(), m.distances(1).tolist()
    ((3, 2), 3, [0, 2], [5.0, 7.5])
    >>> m.covered().tolist()
    [True, False, True]
    """

    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]
    distance: NDArray[np.float64]
    n_demand: int
    radius: float
    by: str = "straight"

    @classmethod
    def from_pairs(
        cls,
        demand: ArrayLike,
        site: ArrayLike,
        distance: ArrayLike,
        *,
        n_demand: int,
        n_sites: int,
        radius: float,
        by: str = "straight",
        unique: bool = False,
    ) -> CoverageMatrix:
        """Build the matrix from (demand, site, distance) triples; a repeated pair keeps its shortest distance.

        ``unique=True`` promises that no pair repeats, for a faster build.
        """
        d_idx = np.asarray(demand, dtype=np.int64).ravel()
        s_idx = np.asarray(site, dtype=np.int64).ravel()
        dist = np.asarray(distance, dtype=np.float64).ravel()
        if not d_idx.size == s_idx.size == dist.size:
            msg = f"demand, site and distance must have one entry per pair, got {d_idx.size}, {s_idx.size}, {dist.size}"
            raise InputError(msg, code="E-OPT-MATRIX")
        if d_idx.size and (d_idx.min() < 0 or d_idx.max() >= n_demand or s_idx.min() < 0 or s_idx.max() >= n_sites):
            msg = f"pair indices out of range for {n_demand} demand points and {n_sites} sites"
            raise InputError(msg, code="E-OPT-MATRIX")
        if unique:
            # Pairs known to be distinct (a KD-tree's): scipy's compiled conversion sorts them, zeros kept.
            csc = sparse.csc_array((dist, (d_idx, s_idx)), shape=(n_demand, n_sites))
            csc.sort_indices()
            return cls(indptr=csc.indptr.astype(np.int64), indices=csc.indices.astype(np.int32),
                       distance=csc.data.astype(np.float64), n_demand=int(n_demand), radius=float(radius), by=by)
        # Sort by site, then demand, then distance, so the first of each repeated pair is its shortest.
        order = np.lexsort((dist, d_idx, s_idx))
        d_idx, s_idx, dist = d_idx[order], s_idx[order], dist[order]
        if d_idx.size:
            first = np.ones(d_idx.size, dtype=bool)
            first[1:] = (d_idx[1:] != d_idx[:-1]) | (s_idx[1:] != s_idx[:-1])
            d_idx, s_idx, dist = d_idx[first], s_idx[first], dist[first]
        indptr = np.zeros(n_sites + 1, dtype=np.int64)
        np.cumsum(np.bincount(s_idx, minlength=n_sites), out=indptr[1:])
        return cls(indptr=indptr, indices=d_idx.astype(np.int32), distance=dist, n_demand=int(n_demand),
                   radius=float(radius), by=by)

    @classmethod
    def from_distances(cls, matrix: sparse.sparray | sparse.spmatrix, *, radius: float,
                       by: str = "straight") -> CoverageMatrix:
        """Build the matrix from sparse demand × site distances whose stored entries (zeros included) are the pairs.

        This reads :attr:`nbgeo.network.DistanceMatrix.matrix`; entries beyond ``radius`` are dropped.
        """
        coo = sparse.coo_array(matrix)
        keep = coo.data <= radius
        return cls.from_pairs(coo.row[keep], coo.col[keep], coo.data[keep], n_demand=coo.shape[0],
                              n_sites=coo.shape[1], radius=radius, by=by)

    @property
    def n_sites(self) -> int:
        """Number of sites (columns)."""
        return len(self.indptr) - 1

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_demand, n_sites)``."""
        return self.n_demand, self.n_sites

    @property
    def nnz(self) -> int:
        """Number of (demand, site) pairs within the radius."""
        return int(self.indptr[-1])

    def covers(self, site: int) -> NDArray[np.int32]:
        """The demand points site ``site`` covers."""
        return self.indices[self.indptr[site]:self.indptr[site + 1]]

    def distances(self, site: int) -> NDArray[np.float64]:
        """Distances from site ``site`` to the demand points it covers, in metres."""
        return self.distance[self.indptr[site]:self.indptr[site + 1]]

    def by_site(self) -> sparse.csr_array:
        """The 0/1 matrix with one row per site (``a`` transposed), as CSR."""
        ones = np.ones(self.nnz, dtype=np.float64)
        return sparse.csr_array((ones, self.indices, self.indptr), shape=(self.n_sites, self.n_demand))

    def by_demand(self) -> sparse.csr_array:
        """The 0/1 matrix ``a`` with one row per demand point, as CSR with sorted indices."""
        out = self.by_site().T.tocsr()
        out.sort_indices()
        return out

    def covered(self, sites: ArrayLike | None = None) -> NDArray[np.bool_]:
        """Whether each demand point lies within reach of any of ``sites`` (default: all sites)."""
        hit = np.zeros(self.n_demand, dtype=bool)
        if sites is None:
            hit[self.indices] = True
            return hit
        chosen = np.asarray(sites, dtype=np.int64)
        if chosen.size:
            hit[self.subset(chosen).indices] = True
        return hit

    def subset(self, sites: ArrayLike) -> CoverageMatrix:
        """The matrix restricted to ``sites`` (in that order)."""
        chosen = np.asarray(sites, dtype=np.int64)
        starts, ends = self.indptr[chosen], self.indptr[chosen + 1]
        take = concat_ranges(starts, ends)
        indptr = np.zeros(chosen.size + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=indptr[1:])
        return CoverageMatrix(indptr=indptr, indices=self.indices[take], distance=self.distance[take],
                              n_demand=self.n_demand, radius=self.radius, by=self.by)


def metric_crs_of(like: Any, *others: Any) -> Any:
    """The CRS straight-line distances are measured in: the same choice as :mod:`nbgeo.coverage`.

    See :func:`nbgeo.crs.metric_crs_for`.
    """
    return metric_crs_for(like, *others)


def _metric_geoms(obj: Any, what: str, crs: Any) -> tuple[NDArray[np.float64] | None, Any]:
    """``(xy, None)`` for points, ``(None, geoms)`` otherwise, in ``crs``.

    An ``(n, 2)`` array is taken as metric coordinates as given.
    """
    if isinstance(obj, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = obj.geometry if isinstance(obj, gpd.GeoDataFrame) else obj
        if geoms.crs is None:
            msg = f"the {what} have no CRS; set one (e.g. gdf.set_crs(4326)) before siting"
            raise CRSError(msg, code="E-CRS-MISSING")
        values = np.asarray((geoms if geoms.crs.equals(crs) else geoms.to_crs(crs)).values)
        bad = shapely.is_missing(values) | shapely.is_empty(values)
        if bad.any():
            ids = [str(i) for i in geoms.index[bad][:5]]
            msg = f"{int(bad.sum())} of the {what} have no geometry (first: {', '.join(ids)})"
            raise InputError(msg + " (hint: drop or fix them first)", code="E-GEOM-EMPTY")
        if values.size and bool((shapely.get_type_id(values) == 0).all()):
            return shapely.get_coordinates(values)[:, :2], None
        return None, values
    xy = np.asarray(obj, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        msg = f"the {what} must be a GeoDataFrame, a GeoSeries or an (n, 2) array of metres, got shape {xy.shape}"
        raise InputError(msg, code="E-OPT-INPUT")
    if not np.isfinite(xy).all():
        msg = f"the {what} have non-finite coordinates"
        raise InputError(msg, code="E-OPT-INPUT")
    return xy, None


@renamed_keywords(radius="distance")
def coverage_matrix(
    demand: Any,
    sites: Any,
    distance: float,
    *,
    network: RoadNetwork | None = None,
    max_snap: float | None = None,
    max_pairs: int = 200_000_000,
) -> CoverageMatrix:
    """Which ``sites`` lie within ``distance`` metres of each ``demand`` point.

    Straight-line distances come from a KD-tree when both sides are points and
    from shapely's ``dwithin`` over an STRtree otherwise (the distance from a
    park's outline, 0 inside it). With ``network`` they are by road, from the
    demand to the site, snapping included and one-way streets respected
    (:func:`nbgeo.coverage.distances_within`).

    Parameters
    ----------
    demand, sites
        GeoDataFrames or GeoSeries (any CRS; measured in the demand's CRS when
        it is projected in metres, else in the working CRS), or ``(n, 2)``
        arrays of metric coordinates.
    distance
        The service distance in metres.
    network
        A road network (:class:`nbgeo.network.RoadNetwork`); None for straight-line distance.
    max_snap
        By road: points farther than this from the network reach nothing.
    max_pairs
        Refuse to build more pairs than this (memory: 20 bytes a pair).

    Returns
    -------
    CoverageMatrix

    Examples
    --------
    >>> import numpy as np
    >>> m = coverage_matrix(np.array([[0.0, 0.0], [0.0, 500.0]]), np.array([[0.0, 300.0]]), 250)
    >>> m.covers(0).tolist(), m.distances(0).tolist()
    ([1], [200.0])

    By road, on a one-way street running east, the site at x = 100 m reaches
    the demand point at x = 0 only the long way round:

    >>> from nbgeo import network
    >>> net = network.network_from_arrays(np.array([0.0, 100.0, 100.0, 0.0]), np.array([0.0, 0.0, 100.0, 100.0]),
    ...                                   u=[0, 1, 2, 3], v=[1, 2, 3, 0], crs="EPSG:32651")
    >>> coverage_matrix(np.array([[0.0, 0.0]]), np.array([[100.0, 0.0]]), 350, network=net).distances(0).tolist()
    [100.0]
    >>> coverage_matrix(np.array([[100.0, 0.0]]), np.array([[0.0, 0.0]]), 350, network=net).distances(0).tolist()
    [300.0]
    """
    if isinstance(distance, bool) or not (isinstance(distance, (int, float)) and math.isfinite(distance) and distance >= 0):
        msg = f"distance must be in metres (>= 0), got {distance!r}"
        raise InputError(msg, code="E-OPT-RADIUS")
    if network is not None:

        dm = distances_within(demand, sites, distance=float(distance), by="road", network=network, max_snap=max_snap)
        return CoverageMatrix.from_distances(dm.matrix, radius=distance, by="road")

    crs = metric_crs_of(demand, sites)
    d_xy, d_geoms = _metric_geoms(demand, "demand points", crs)
    s_xy, s_geoms = _metric_geoms(sites, "sites", crs)
    n_demand = len(d_xy) if d_xy is not None else len(d_geoms)
    n_sites = len(s_xy) if s_xy is not None else len(s_geoms)
    if n_demand == 0 or n_sites == 0:
        return CoverageMatrix.from_pairs([], [], [], n_demand=n_demand, n_sites=n_sites, radius=distance)
    if d_xy is not None and s_xy is not None:
        pairs = cKDTree(s_xy).sparse_distance_matrix(cKDTree(d_xy), distance, output_type="ndarray")
        if len(pairs) > max_pairs:
            msg = f"{len(pairs):,} (demand, site) pairs within {distance:g} m exceed max_pairs={max_pairs:,}"
            raise LimitError(msg + " (hint: fewer candidates or a shorter distance)", code="E-LIMIT-PAIRS")
        return CoverageMatrix.from_pairs(pairs["j"], pairs["i"], pairs["v"], n_demand=n_demand, n_sites=n_sites,
                                         radius=distance, unique=True)

    if d_geoms is None:
        d_geoms = shapely.points(d_xy)
    if s_geoms is None:
        s_geoms = shapely.points(s_xy)
    d_idx, s_idx = shapely.STRtree(s_geoms).query(d_geoms, predicate="dwithin", distance=distance)
    if len(d_idx) > max_pairs:
        msg = f"{len(d_idx):,} (demand, site) pairs within {distance:g} m exceed max_pairs={max_pairs:,}"
        raise LimitError(msg + " (hint: fewer candidates or a shorter distance)", code="E-LIMIT-PAIRS")
    dist = shapely.distance(d_geoms[d_idx], s_geoms[s_idx])
    return CoverageMatrix.from_pairs(d_idx, s_idx, dist, n_demand=n_demand, n_sites=n_sites, radius=distance)


def hstack_matrices(a: CoverageMatrix, b: CoverageMatrix) -> CoverageMatrix:
    """The columns of ``a`` followed by those of ``b``."""
    indptr = np.concatenate((a.indptr, a.indptr[-1] + b.indptr[1:]))
    return CoverageMatrix(indptr=indptr, indices=np.concatenate((a.indices, b.indices)),
                          distance=np.concatenate((a.distance, b.distance)), n_demand=a.n_demand, radius=a.radius,
                          by=a.by)
