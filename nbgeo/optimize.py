"""Siting optimisation: where new facilities serve the most demand, or all of it with the fewest sites.

An audit says what is missing; this module says where to add sites. Both
classic coverage location models run over a sparse coverage matrix
``a[i, j] = 1`` when candidate site ``j`` lies within the service distance
``r`` of demand point ``i``, by straight line or by road
(:func:`coverage_matrix`). Existing facilities are kept: the demand they serve
already counts as served. Candidate sites that fail one of the plan's siting
rules are removed before any solver sees them (:func:`site`).

Maximal covering (MCLP, Church and ReVelle 1974): at most ``k`` new sites that
serve the most demand weight ``w``. With ``x_j`` = 1 when site ``j`` is built
and ``y_i`` the share of demand point ``i`` served:

.. math::

   \\max \\sum_i w_i y_i \\quad\\text{s.t.}\\quad y_i \\le \\sum_j a_{ij} x_j,\\;
   \\sum_j x_j \\le k,\\; x_j \\in \\{0, 1\\},\\; 0 \\le y_i \\le 1

over the demand points no existing facility serves.

Set covering (LSCP, Toregas et al. 1971): the fewest new sites that serve a
share ``s`` of all demand weight ``W`` (``s = 1``: every demand point of
positive weight that any allowed site can reach; the others are reported as
uncoverable):

.. math::

   \\min \\sum_j x_j \\quad\\text{s.t.}\\quad \\sum_i w_i y_i \\ge s W - W_0,\\;
   y_i \\le \\sum_j a_{ij} x_j

where ``W_0`` is the weight existing facilities serve (with ``s = 1`` this is
the textbook ``sum_j a_ij x_j >= 1`` for every coverable ``i`` with ``w_i > 0``).
A demand point of weight 0 carries no demand: it counts in no share, so no site
is ever added for it alone, and a set covering answer that leaves such points
unserved says so in its note.

Capacity: when a site can serve at most ``c_j`` units of demand weight,
demand is divisible and assigned in fractions ``f_ij``:

.. math::

   \\sum_j f_{ij} \\le 1,\\quad \\sum_i w_i f_{ij} \\le c_j x_j,\\quad
   f_{ij} \\le x_j,\\quad \\text{objective } \\sum_{ij} w_i f_{ij}

Existing facilities take part in that assignment with their own capacity.
Whatever chose the sites, the demand is then assigned to them by the best
assignment (a transport LP, :func:`nbgeo._assign.transport`), so no demand is
stranded that another assignment would serve.

Spacing conflicts: pairs of sites that must not both be chosen add
``x_a + x_b <= 1``. A full cover may then not exist; the exact solver then
returns the most weight that can be served, with the fewest sites.

Every answer is checked before it is returned: no conflict, at most ``k``
sites, the target met (or the shortfall explained), every site serving
something (a site that adds nothing is dropped), and ``status`` saying what
is proved (:class:`Solution`).

Solvers
-------
``"greedy"``
    Adds the site with the largest gain, one at a time. Coverage is
    submodular, so the textbook does this lazily (CELF, Leskovec et al. 2007:
    a priority queue of stale gains, re-evaluated only when they reach the
    top). nbgeo keeps every gain *exact* instead, at less cost: when a demand
    point becomes served, its weight is subtracted from the gain of every site
    that reaches it, in one vectorised scatter over its row of the matrix. Each
    (demand, site) pair is touched once in the whole run, and the next site is
    one ``argmax`` (ties go to the lowest index, as in the textbook). The MCLP
    answer is then improved by swaps (:func:`_interchange`, every swap valued
    at once on sparse matrices) and comes with the Lagrangian bound
    (:func:`_mclp_bound`), an upper bound on the optimum that can certify it
    without a MILP. The LSCP answer (every coverable
    demand point served, no capacity) comes from a Lagrangian heuristic
    (Beasley 1990; Caprara, Fischetti and Toth 1999) after the problem is
    shrunk without changing its optimum (dominated sites and implied demand
    points dropped, sites that alone reach a point taken): subgradient
    optimisation of the Lagrangian relaxation, covers built from its
    multipliers and pruned of redundant sites, then column fixing and
    refinement (:func:`_lagrangian_cover`), for up to ``time_budget``
    seconds. Its bound is a lower bound on the number of sites, so the answer
    says how far from the fewest it can be, and is certified optimal when it
    meets the bound. On the benchmark's 1,000 × 5,000 instances it finds the
    MILP's optimum (``make bench``). With conflicts between sites, a greedy
    with look-ahead and repair (:func:`nbgeo._spacing.cover_with_conflicts`)
    builds the cover, which then drops sites made redundant and tries to
    serve everything with one site fewer, again and again
    (:func:`_shrink_cover`); when it finds no cover, the note says whether
    that is proved. With capacity, sites are added after the greedy while
    the best assignment falls short (:func:`nbgeo._assign.augment`), then
    pruned. Partial (``share < 1``) LSCP keeps the greedy's answer.
``"milp"``
    The exact model above, solved by HiGHS (through
    :func:`scipy.optimize.milp`) after merging demand points that the same
    sites reach (their weights add up). If a time limit stops it, its best
    answer is checked and compared with the best heuristic answer (the
    Lagrangian heuristic for set covering, the greedy with swaps for maximal
    covering): the better valid one is returned, and :attr:`Solution.solver`
    and the note say whose it is. For small and medium instances, and to
    measure the heuristics' gap (``make bench``).

Examples
--------
Three demand points in a row, 0, 100 and 200 m; two candidates at 50 m and 200 m:

>>> import numpy as np
>>> from nbgeo import optimize
>>> demand = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
>>> sites = np.array([[50.0, 0.0], [200.0, 0.0]])
>>> m = optimize.coverage_matrix(demand, sites, 60)
>>> m.covers(0).tolist(), m.covers(1).tolist()
([0, 1], [2])
>>> best = optimize.maximal_covering(m, 1)
>>> best.sites.tolist(), best.objective
([0], 2.0)
>>> optimize.set_covering(m, method="milp").sites.tolist()
[0, 1]
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import sparse

from ._assign import Sites, augment, concat_ranges, merge_rows, prune, transport
from ._highs import MilpAnswer, solve_milp
from ._spacing import cover_with_conflicts
from .errors import InputError, LimitError
from .filters import filter_mask, year_mask

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

    from .layers import Dataset
    from .network import RoadNetwork
    from .plan import Plan, SitingSpec

__all__ = [
    "BY",
    "METHODS",
    "SITING_KEYS",
    "CoverageMatrix",
    "Screening",
    "SitingResult",
    "Solution",
    "candidates_from_grid",
    "candidates_from_network",
    "coverage_matrix",
    "maximal_covering",
    "save_result",
    "screen_candidates",
    "set_covering",
    "site",
    "site_from_spec",
]

log = logging.getLogger(__name__)

#: The solvers :func:`maximal_covering` and :func:`set_covering` accept.
METHODS = ("greedy", "milp", "auto")

#: ``method="auto"`` solves exactly up to this many (merged) coverage pairs, greedily above.
AUTO_MILP_MAX_PAIRS = 200_000

_EPS = 1e-9


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
        ``"straight-line"`` or ``"road"``.

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
    by: str = "straight-line"

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
        by: str = "straight-line",
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
                       by: str = "straight-line") -> CoverageMatrix:
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


def _metric_crs(like: Any, *others: Any) -> Any:
    """The CRS straight-line distances are measured in: the same choice as :mod:`nbgeo.coverage`.

    See :func:`nbgeo.crs.metric_crs_for`.
    """
    from .crs import metric_crs_for

    return metric_crs_for(like, *others)


def _metric_geoms(obj: Any, what: str, crs: Any) -> tuple[NDArray[np.float64] | None, Any]:
    """``(xy, None)`` for points, ``(None, geoms)`` otherwise, in ``crs``.

    An ``(n, 2)`` array is taken as metric coordinates as given.
    """
    import geopandas as gpd
    import shapely

    from .errors import CRSError

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


def coverage_matrix(
    demand: Any,
    sites: Any,
    radius: float,
    *,
    network: RoadNetwork | None = None,
    max_snap: float | None = None,
    max_pairs: int = 200_000_000,
) -> CoverageMatrix:
    """Which ``sites`` lie within ``radius`` metres of each ``demand`` point.

    Straight-line distances come from a KD-tree when both sides are points and
    from shapely's ``dwithin`` over an STRtree otherwise (the distance from a
    park's outline, 0 inside it). With ``network`` they are by road, from the
    demand to the site, snapping included and one-way streets respected
    (:func:`nbgeo.coverage.coverage_matrix`).

    Parameters
    ----------
    demand, sites
        GeoDataFrames or GeoSeries (any CRS; measured in the demand's CRS when
        it is projected in metres, else in the working CRS), or ``(n, 2)``
        arrays of metric coordinates.
    radius
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
    if isinstance(radius, bool) or not (isinstance(radius, (int, float)) and math.isfinite(radius) and radius >= 0):
        msg = f"radius must be a distance in metres (>= 0), got {radius!r}"
        raise InputError(msg, code="E-OPT-RADIUS")
    if network is not None:
        from .coverage import coverage_matrix as road_matrix

        dm = road_matrix(demand, sites, distance=float(radius), mode="network", network=network, max_snap=max_snap)
        return CoverageMatrix.from_distances(dm.matrix, radius=radius, by="road")
    from scipy.spatial import cKDTree

    crs = _metric_crs(demand, sites)
    d_xy, d_geoms = _metric_geoms(demand, "demand points", crs)
    s_xy, s_geoms = _metric_geoms(sites, "sites", crs)
    n_demand = len(d_xy) if d_xy is not None else len(d_geoms)
    n_sites = len(s_xy) if s_xy is not None else len(s_geoms)
    if n_demand == 0 or n_sites == 0:
        return CoverageMatrix.from_pairs([], [], [], n_demand=n_demand, n_sites=n_sites, radius=radius)
    if d_xy is not None and s_xy is not None:
        pairs = cKDTree(s_xy).sparse_distance_matrix(cKDTree(d_xy), radius, output_type="ndarray")
        if len(pairs) > max_pairs:
            msg = f"{len(pairs):,} (demand, site) pairs within {radius:g} m exceed max_pairs={max_pairs:,}"
            raise LimitError(msg + " (hint: fewer candidates or a shorter radius)", code="E-LIMIT-PAIRS")
        return CoverageMatrix.from_pairs(pairs["j"], pairs["i"], pairs["v"], n_demand=n_demand, n_sites=n_sites,
                                         radius=radius, unique=True)
    import shapely

    if d_geoms is None:
        d_geoms = shapely.points(d_xy)
    if s_geoms is None:
        s_geoms = shapely.points(s_xy)
    d_idx, s_idx = shapely.STRtree(s_geoms).query(d_geoms, predicate="dwithin", distance=radius)
    if len(d_idx) > max_pairs:
        msg = f"{len(d_idx):,} (demand, site) pairs within {radius:g} m exceed max_pairs={max_pairs:,}"
        raise LimitError(msg + " (hint: fewer candidates or a shorter radius)", code="E-LIMIT-PAIRS")
    dist = shapely.distance(d_geoms[d_idx], s_geoms[s_idx])
    return CoverageMatrix.from_pairs(d_idx, s_idx, dist, n_demand=n_demand, n_sites=n_sites, radius=radius)


# --------------------------------------------------------------------------------------------------------------
# Solutions
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Solution:
    """The answer of a siting model, index-based (see :class:`SitingResult` for the geographic one).

    Attributes
    ----------
    problem
        ``"mclp"`` (maximal covering) or ``"lscp"`` (set covering).
    method
        ``"greedy"`` (heuristics only) or ``"milp"`` (the exact solver was run).
    solver
        Whose answer this is: ``"highs"`` (the exact solver), ``"lagrangian"``
        (the set covering heuristic), ``"greedy"`` or ``"greedy+swaps"`` (the
        greedy improved by swaps). When the exact solver was run but another
        answer is returned, :attr:`note` says why.
    sites
        Indices of the chosen sites, in the order the greedy adds them (for an
        exact answer, the greedy order among the chosen sites). Every site
        serves something the others do not: a site that adds nothing is dropped.
    gains
        Demand weight each chosen site adds, in that order (each > 0); with
        capacity, the weight assigned to it in the final assignment.
    weights
        Demand weight of every demand point.
    served_before, served
        Share of each demand point's weight served by existing facilities
        alone, and once the chosen sites are added (0 or 1 without capacity).
    coverable
        Demand points that an existing facility or an allowed site can reach.
    objective
        Weight the new sites add: ``weights @ (served - served_before)``.
    bound
        For MCLP, an upper bound on the best ``objective`` with ``k`` sites
        (the MILP's dual bound or the Lagrangian one, the smaller; None for a
        greedy answer with capacity); for LSCP, a lower bound on the number of
        sites (the MILP's, or the Lagrangian heuristic's rounded up; None for
        the other greedy answers). When no answer can meet the target, the
        bound is on the sites that serve the most that can be.
    status
        ``"optimal"`` (proved: the answer meets its bound), ``"within_gap"``
        (the exact solver stopped within ``mip_gap`` of its bound),
        ``"time_limit"`` (the exact solver stopped at its time limit; the best
        answer known is returned) or ``"heuristic"`` (no proof either way).
    target
        LSCP: the weight the sites had to serve in total; MCLP: None.
    runtime_s
        Solver wall time in seconds.
    note
        Anything a reader should know (e.g. why fewer than ``k`` sites were chosen).
    """

    problem: str
    method: str
    solver: str
    sites: NDArray[np.int64]
    gains: NDArray[np.float64]
    weights: NDArray[np.float64]
    served_before: NDArray[np.float64]
    served: NDArray[np.float64]
    coverable: NDArray[np.bool_]
    objective: float
    bound: float | None
    status: str
    runtime_s: float
    target: float | None = None
    k: int | None = None
    note: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def total_weight(self) -> float:
        """Weight of all demand."""
        return float(self.weights.sum())

    @property
    def weight_before(self) -> float:
        """Weight served by existing facilities alone."""
        return float(self.weights @ self.served_before)

    @property
    def weight_after(self) -> float:
        """Weight served once the chosen sites are added."""
        return float(self.weights @ self.served)

    @property
    def share_before(self) -> float:
        """Share of the demand weight served before, in [0, 1]."""
        total = self.total_weight
        return self.weight_before / total if total > 0 else 1.0

    @property
    def share_after(self) -> float:
        """Share of the demand weight served after, in [0, 1]."""
        total = self.total_weight
        return self.weight_after / total if total > 0 else 1.0

    @property
    def gap(self) -> float | None:
        """Relative distance to the bound: ``(bound - objective) / bound`` (MCLP) or ``(sites - bound) / sites`` (LSCP)."""
        if self.bound is None:
            return None
        if self.problem == "mclp":
            return 0.0 if self.bound <= _EPS else max(0.0, (self.bound - self.objective) / self.bound)
        n = len(self.sites)
        return 0.0 if n == 0 else max(0.0, (n - math.ceil(self.bound - 1e-6)) / n)

    @property
    def met(self) -> bool:
        """LSCP: whether the target weight is served; MCLP: whether every coverable demand point of weight > 0 is."""
        if self.target is not None:
            return self.weight_after >= self.target - _EPS * max(1.0, self.target)
        return bool(np.all(self.served[self.coverable & (self.weights > 0)] >= 1 - 1e-9))


# --------------------------------------------------------------------------------------------------------------
# Problem preparation
# --------------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Instance:
    """One problem, with existing facilities already applied."""

    matrix: CoverageMatrix
    weights: NDArray[np.float64]
    capacity: NDArray[np.float64] | None  # per candidate site
    existing: CoverageMatrix | None
    existing_capacity: NDArray[np.float64] | None
    served_before: NDArray[np.float64]
    coverable: NDArray[np.bool_]
    conflicts: sparse.csr_array | None = None

    @property
    def capacitated(self) -> bool:
        return self.capacity is not None

    def with_existing(self, sites: NDArray[np.int64] | None = None) -> tuple[CoverageMatrix, NDArray[np.float64]]:
        """The candidate columns (all, or ``sites``) then the existing facilities', and their capacities."""
        assert self.capacity is not None
        mat = self.matrix if sites is None else self.matrix.subset(sites)
        cap = self.capacity if sites is None else self.capacity[sites]
        if self.existing is None or self.existing.n_sites == 0:
            return mat, cap
        assert self.existing_capacity is not None
        return _hstack(mat, self.existing), np.concatenate((cap, self.existing_capacity))


def _as_capacity(value: ArrayLike | None, n: int, what: str) -> NDArray[np.float64] | None:
    if value is None:
        return None
    cap = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    if np.isnan(cap).any() or (cap < 0).any():
        msg = f"{what} must be >= 0 (use inf for unlimited), got min {np.nanmin(cap) if cap.size else 0!r}"
        raise InputError(msg, code="E-OPT-CAPACITY")
    return cap


def _conflict_graph(conflicts: ArrayLike | None, n: int) -> sparse.csr_array | None:
    """Pairs of sites that must not both be chosen, as a symmetric 0/1 matrix."""
    if conflicts is None:
        return None
    pairs = np.asarray(conflicts, dtype=np.int64).reshape(-1, 2)
    if pairs.size == 0:
        return None
    if pairs.min() < 0 or pairs.max() >= n:
        msg = f"conflicts name sites outside 0..{n - 1}"
        raise InputError(msg, code="E-OPT-CONFLICTS")
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    a, b = np.concatenate((pairs[:, 0], pairs[:, 1])), np.concatenate((pairs[:, 1], pairs[:, 0]))
    graph = sparse.csr_array((np.ones(a.size), (a, b)), shape=(n, n))
    graph.sum_duplicates()
    graph.data[:] = 1.0
    return graph


def _prepare(
    matrix: CoverageMatrix,
    weights: ArrayLike | None,
    existing: CoverageMatrix | ArrayLike | None,
    capacity: ArrayLike | None,
    existing_capacity: ArrayLike | None,
    conflicts: ArrayLike | None = None,
) -> _Instance:
    if not isinstance(matrix, CoverageMatrix):
        msg = f"matrix must be a CoverageMatrix (see coverage_matrix), got {type(matrix).__name__}"
        raise InputError(msg, code="E-OPT-INPUT")
    m = matrix.n_demand
    if weights is None:
        w = np.ones(m, dtype=np.float64)
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (m,):
            msg = f"weights must have one value per demand point ({m}), got {w.size}"
            raise InputError(msg, code="E-OPT-WEIGHTS")
        if not np.isfinite(w).all() or (w < 0).any():
            msg = "weights must be finite and >= 0"
            raise InputError(msg, code="E-OPT-WEIGHTS")
    served_mask = None
    if existing is not None and not isinstance(existing, CoverageMatrix):
        # Only which demand points existing facilities serve is known: enough without capacity.
        served_mask = np.asarray(existing, dtype=bool).ravel()
        if served_mask.shape != (m,):
            msg = f"existing must be a CoverageMatrix or one flag per demand point ({m}), got {served_mask.size}"
            raise InputError(msg, code="E-OPT-MATRIX")
        if capacity is not None or existing_capacity is not None:
            msg = "with capacity, existing facilities must be given as a CoverageMatrix (who they can serve)"
            raise InputError(msg, code="E-OPT-CAPACITY")
        existing = None
    if existing is not None and existing.n_demand != m:
        msg = f"the existing facilities' matrix has {existing.n_demand} demand points, the candidates' {m}"
        raise InputError(msg, code="E-OPT-MATRIX")
    cap = _as_capacity(capacity, matrix.n_sites, "capacity")
    ecap = None
    if existing is not None and (cap is not None or existing_capacity is not None):
        ecap = _as_capacity(existing_capacity if existing_capacity is not None else capacity, existing.n_sites,
                            "existing_capacity")
        if cap is None:  # only the existing facilities are limited; new sites are not
            cap = np.full(matrix.n_sites, np.inf)
    coverable = matrix.covered()
    if existing is not None:
        coverable |= existing.covered()
    if served_mask is not None:
        coverable |= served_mask
        before = served_mask.astype(np.float64)
    elif existing is None or existing.n_sites == 0:
        before = np.zeros(m, dtype=np.float64)
    elif ecap is None:
        before = existing.covered().astype(np.float64)
    else:
        before, _ = _assign_exact(existing, w, ecap)
    return _Instance(matrix=matrix, weights=w, capacity=cap, existing=existing, existing_capacity=ecap,
                     served_before=before, coverable=coverable, conflicts=_conflict_graph(conflicts, matrix.n_sites))


# --------------------------------------------------------------------------------------------------------------
# Greedy with lazy evaluation
# --------------------------------------------------------------------------------------------------------------


def _greedy(
    inst: _Instance,
    residual: NDArray[np.float64],
    *,
    k: int | None,
    need: float | None,
    allowed: NDArray[np.int64] | None = None,
) -> tuple[list[int], list[float], NDArray[np.float64]]:
    """Add sites by largest gain until ``k`` are chosen, ``need`` more weight is served, or nothing gains.

    ``residual`` is the unserved weight of each demand point (changed in
    place). Every site's gain is kept exact: when a demand point's residual
    drops by ``d``, ``d`` is subtracted from the reach of every site that
    covers it, in one vectorised scatter over that point's row of the matrix.
    Returns the chosen sites, their gains and the residual.
    """
    mat = inst.matrix
    n = mat.n_sites
    by_demand = mat.by_demand()
    d_ptr, d_sites = by_demand.indptr.astype(np.int64), by_demand.indices
    cap = inst.capacity
    alternatives = np.diff(d_ptr)  # how many sites reach each demand point
    reach = mat.by_site() @ residual  # unserved weight within reach of each site
    if allowed is not None:
        blocked = np.ones(n, dtype=bool)
        blocked[np.asarray(allowed, dtype=np.int64)] = False
        reach[blocked] = -np.inf
    tol = _EPS * max(1.0, float(residual.max(initial=0.0)))
    chosen: list[int] = []
    gains: list[float] = []
    served_total = 0.0
    while (k is None or len(chosen) < k) and (need is None or served_total < need - _EPS * max(1.0, need)):
        gain = reach if cap is None else np.minimum(reach, cap)
        j = int(np.argmax(gain)) if n else -1
        if j < 0 or gain[j] <= tol:
            break
        # Ties (sites reaching the same unserved demand) go to the lowest index, as in the textbook greedy,
        # whatever rounding the running subtractions left.
        j = int(np.flatnonzero(gain >= gain[j] - _EPS * max(1.0, float(gain[j])))[0])
        rows = mat.covers(j)
        if cap is None:
            rows = rows[residual[rows] > 0]
            taken = residual[rows].copy()
        else:
            # Up to the site's capacity, serve first the demand that the fewest other sites reach (ties: the
            # nearest), so as to strand little; the final assignment is the best one anyway (_finish).
            order = np.lexsort((mat.distances(j), alternatives[rows]))
            rows = rows[order]
            before = np.cumsum(residual[rows]) - residual[rows]
            taken = np.clip(cap[j] - before, 0.0, residual[rows])
            keep = taken > 0
            rows, taken = rows[keep], taken[keep]
        residual[rows] -= taken
        if cap is None:
            residual[rows] = 0.0  # exactly, whatever the rounding
        # Every site reaching these demand points loses what they no longer need.
        spans = concat_ranges(d_ptr[rows], d_ptr[rows + 1])
        np.subtract.at(reach, d_sites[spans], np.repeat(taken, np.diff(d_ptr)[rows]))
        gain_j = float(taken.sum())
        chosen.append(j)
        gains.append(gain_j)
        served_total += gain_j
        reach[j] = -np.inf
        if inst.conflicts is not None:  # sites too close to j (a spacing rule) may no longer be chosen
            reach[inst.conflicts.indices[inst.conflicts.indptr[j]:inst.conflicts.indptr[j + 1]]] = -np.inf
    return chosen, gains, residual


def _interchange(inst: _Instance, chosen: list[int], *, max_swaps: int, time_budget: float) -> tuple[list[int], int]:
    """Improve an MCLP answer by swapping one chosen site for one other site while that serves more.

    Every possible swap is valued at once. With ``c_i`` the number of chosen
    sites covering demand point ``i``, ``gain_c`` the unserved weight site
    ``c`` reaches, ``loss_s`` the weight only site ``s`` serves and
    ``B[s, c]`` the weight only ``s`` serves that ``c`` also reaches, swapping
    ``s`` for ``c`` adds ``gain_c - loss_s + B[s, c]``. ``B`` is sparse, so the
    best swap is the larger of ``max gain - min loss`` and the best over the
    non-zeros of ``B``. Returns the sites and the number of swaps made.
    """
    import pandas as pd

    mat = inst.matrix
    n = mat.n_sites
    if not chosen or len(chosen) >= n:
        return chosen, 0
    w = inst.weights * (1.0 - inst.served_before)
    at = mat.by_site()
    a = mat.by_demand()
    tol = _EPS * max(1.0, float(w.sum()))
    current = np.asarray(chosen, dtype=np.int64)
    swaps = 0
    deadline = time.perf_counter() + time_budget
    while swaps < max_swaps and time.perf_counter() < deadline:
        is_chosen = np.zeros(n, dtype=bool)
        is_chosen[current] = True
        count = a @ is_chosen.astype(np.float64)
        gain = at @ (w * (count == 0))
        gain[is_chosen] = -np.inf
        if inst.conflicts is not None:  # never swap in a site that clashes with a chosen one
            gain[(inst.conflicts @ is_chosen.astype(np.float64)) > 0] = -np.inf
        unique = count == 1
        loss = np.full(n, np.inf)
        loss[current] = at[current] @ (w * unique)
        # The owner of each uniquely served point, and the other sites reaching it.
        rows = np.flatnonzero(unique & (w > 0))
        sub = a[rows]
        owner_mask = is_chosen[sub.indices]
        seg = np.repeat(np.arange(rows.size), np.diff(sub.indptr))
        owner = np.empty(rows.size, dtype=np.int64)
        owner[seg[owner_mask]] = sub.indices[owner_mask]
        other = ~owner_mask
        c_best, s_best = int(np.argmax(gain)), int(np.argmin(loss))
        best_value = gain[c_best] - loss[s_best]  # B[s, c] >= 0 only adds to it
        # B[s, c] is at most loss[s] and at most u[c], the weight only one site serves that c reaches: a pair
        # whose bound gain[c] - loss[s] + min(loss[s], u[c]) cannot beat best_value is not grouped at all.
        u = at @ (w * unique)
        s_of, c_of = owner[seg], sub.indices
        other &= gain[c_of] + np.minimum(0.0, u[c_of] - loss[s_of]) > best_value
        # B over those as (s, c) pairs with summed weights: a hash group-by (no sort) of the keys s * n + c.
        keys = owner[seg[other]] * n + sub.indices[other].astype(np.int64)
        codes, pair_keys = pd.factorize(keys)
        b_weight = np.bincount(codes, weights=w[rows][seg[other]], minlength=len(pair_keys))
        b_s, b_c = pair_keys // n, pair_keys % n
        if len(pair_keys):
            values = gain[b_c] - loss[b_s] + b_weight
            t = int(np.argmax(values))
            if values[t] > best_value:
                best_value, s_best, c_best = float(values[t]), int(b_s[t]), int(b_c[t])
        if not best_value > tol:
            break
        current = np.where(current == s_best, c_best, current)
        swaps += 1
    return current.tolist(), swaps


def _shrink_cover(inst: _Instance, chosen: list[int], need: NDArray[np.bool_], *, time_budget: float
                  ) -> tuple[list[int], int]:
    """Cover the same demand with fewer sites: drop the site that alone serves least, then swap until covered.

    Each round is a maximal covering with one site fewer (unit weight per demand point
    still needing service), improved by :func:`_interchange`; it ends when a round cannot
    cover everything again. Returns the sites and the number of sites saved.
    """
    import dataclasses

    unit = dataclasses.replace(inst, weights=need.astype(np.float64), served_before=np.zeros(inst.matrix.n_demand))
    a = inst.matrix.by_demand()
    at = inst.matrix.by_site()
    current = list(chosen)
    saved = 0
    deadline = time.perf_counter() + time_budget
    while len(current) > 1 and time.perf_counter() < deadline:
        mask = np.zeros(inst.matrix.n_sites)
        mask[current] = 1.0
        count = a @ mask
        alone = at[current] @ (need & (count == 1)).astype(np.float64)
        trial = [j for i, j in enumerate(current) if i != int(np.argmin(alone))]
        trial, _ = _interchange(unit, trial, max_swaps=10 * len(trial) + 10,
                                time_budget=max(0.0, deadline - time.perf_counter()))
        mask[:] = 0.0
        mask[trial] = 1.0
        if bool(((a @ mask)[need] > 0).all()):
            current, saved = trial, saved + 1
        else:
            break
    return current, saved


def _mclp_bound(inst: _Instance, chosen: list[int], k: int, objective: float, *, steps: int | None = None,
                deadline: float = math.inf) -> float:
    """An upper bound on the weight ``k`` new sites can add: the Lagrangian relaxation of MCLP, minimised.

    With ``r_i`` the unserved weight of demand point ``i`` and multipliers
    ``0 <= l_i <= r_i`` on the constraints ``y_i <= sum_j a_ij x_j``:

    .. math::

       L(l) = \\sum_i (r_i - l_i) + \\text{the } k \\text{ largest of } c_j = \\sum_i a_{ij} l_i

    is at least the optimum for every ``l`` (and its minimum is the LP
    relaxation's value). It starts from ``l_i = 0`` on the points ``chosen``
    serves and ``r_i`` elsewhere, where it equals the greedy's online bound
    ``f(S) + the k largest gains left``, and goes down by subgradient steps
    ``l -= t g``, ``g_i`` = (top-``k`` sites covering ``i``) - 1, with Polyak's
    step ``t = theta (L - objective) / |g|^2`` (theta starts at 2 and halves
    after ``steps / 15`` steps without progress), for ``steps`` steps at most
    (default: as many as read 150 million matrix entries, between 30 and
    300, so that the bound is the same on every machine), or until the ``deadline``
    or until it meets ``objective`` (a proof that the answer is optimal).
    Spacing conflicts are relaxed, so the bound holds with them too; not
    with capacity, where a new site can free an existing one to serve demand
    that only the existing one reaches.
    """
    if k <= 0:
        return objective
    at = inst.matrix.by_site()
    n = inst.matrix.n_sites
    r = inst.weights * (1.0 - inst.served_before) * inst.matrix.covered()
    if k >= n:  # every site: all the weight any site reaches
        return float(r.sum())
    if steps is None:
        steps = min(300, max(30, 150_000_000 // max(1, inst.matrix.nnz)))
    patience = max(3, steps // 15)
    lam = np.where(inst.matrix.covered(np.asarray(chosen, dtype=np.int64)), 0.0, r)
    tol = _EPS * max(1.0, float(r.sum()))
    best, theta, stale = math.inf, 2.0, 0
    for _ in range(steps):
        c = at @ lam
        top = np.argpartition(c, n - k)[n - k:]
        value = float(r.sum() - lam.sum() + c[top].sum())
        if value < best - tol:
            best, stale = value, 0
        else:
            stale += 1
            if stale >= patience:
                theta, stale = theta / 2, 0
        if best - objective <= tol or time.perf_counter() > deadline:
            break
        # How many of the top k sites cover each point, from their columns only.
        g = np.bincount(at[np.sort(top)].indices, minlength=r.size) - 1.0
        g[((lam <= 0) & (g > 0)) | ((lam >= r) & (g < 0))] = 0.0  # steps that the box [0, r] would undo
        norm = float(np.einsum("i,i", g, g))
        if norm == 0:
            break
        lam = np.clip(lam - theta * (value - objective) / norm * g, 0.0, r)
    return max(best, objective)


def _drop_redundant(inst: _Instance, chosen: list[int], gains: list[float], need_mask: NDArray[np.bool_]
                    ) -> tuple[list[int], list[float]]:
    """Drop, latest first, every chosen site whose demand the others (and existing facilities) all cover."""
    if len(chosen) < 2:
        return chosen, gains
    mat = inst.matrix
    count = np.zeros(mat.n_demand, dtype=np.int64)
    for j in chosen:
        count[mat.covers(j)] += 1
    keep = []
    for j in reversed(chosen):
        rows = mat.covers(j)
        rows = rows[need_mask[rows]]
        if rows.size and bool((count[rows] >= 2).all()):
            count[mat.covers(j)] -= 1
        else:
            keep.append(j)
    kept = set(keep)
    if len(kept) == len(chosen):
        return chosen, gains
    order = [j for j in chosen if j in kept]
    return order, [g for j, g in zip(chosen, gains, strict=True) if j in kept]


# --------------------------------------------------------------------------------------------------------------
# Set covering: a Lagrangian heuristic
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Cover:
    """A unit-cost set covering problem: every row needs a chosen column; ``a`` is rows × columns, 0/1.

    Every row has at least one column; ``at`` is ``a`` transposed, both CSR with sorted indices.
    """

    a: sparse.csr_array
    at: sparse.csr_array

    @classmethod
    def of(cls, a: sparse.csr_array | sparse.csc_array) -> _Cover:
        a = sparse.csr_array(a, dtype=np.float64, copy=True)
        a.sort_indices()
        at = a.T.tocsr()
        at.sort_indices()
        return cls(a=a, at=at)

    @property
    def m(self) -> int:
        return int(self.a.shape[0])

    @property
    def n(self) -> int:
        return int(self.a.shape[1])

    def rows_of(self, cols: NDArray[np.int64]) -> NDArray[np.int32]:
        """The rows of the given columns, concatenated."""
        ptr = self.at.indptr
        return self.at.indices[concat_ranges(ptr[cols].astype(np.int64), ptr[cols + 1].astype(np.int64))]

    def count(self, x: NDArray[np.bool_]) -> NDArray[np.float64]:
        """How many columns of ``x`` cover each row."""
        return self.a @ x.astype(np.float64)

    def restrict(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> _Cover:
        return _Cover.of(self.a[rows][:, cols])


def _cover_greedy(cov: _Cover, u: NDArray[np.float64], start: NDArray[np.bool_]
                  ) -> tuple[NDArray[np.bool_], int]:
    """Complete the columns ``start`` into a cover, taking the column of best Lagrangian score each time.

    The score (Caprara, Fischetti and Toth 1999) weighs a column's Lagrangian
    cost ``g_j = 1 - sum of u_i`` over the uncovered rows it covers against
    their number ``m_j``: ``g_j / m_j`` when ``g_j > 0``, else ``g_j * m_j``
    (lower is better; with ``u = 0`` this is the textbook greedy). Covering
    rows only raises scores, so a column scoring lowest among all the columns
    that share an uncovered row with it (ties to the lowest index) would be
    taken by the one-at-a-time greedy before any of them, at the same score:
    every such column is taken at once, which builds the same cover in a few
    vectorised rounds. Returns the cover and the matrix entries visited.
    """
    x = start.copy()
    n = cov.n
    rows = np.flatnonzero(cov.count(x) == 0)
    ptr = cov.a.indptr.astype(np.int64)
    lens = ptr[rows + 1] - ptr[rows]
    cols = cov.a.indices[concat_ranges(ptr[rows], ptr[rows + 1])].astype(np.int64)
    many = np.bincount(cols, minlength=n).astype(np.float64)
    cost = 1.0 - np.bincount(cols, weights=np.repeat(u[rows], lens), minlength=n)
    work = 0
    while rows.size:
        work += cols.size
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(cost > 0, cost / many, cost * many)[cols]
        starts = np.zeros(rows.size, dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        best = np.repeat(np.minimum.reduceat(score, starts), lens)
        owner = np.minimum.reduceat(np.where(score == best, cols, n), starts)  # lowest index among the best
        # A column is taken when it owns every uncovered row it covers.
        take = np.zeros(n + 1, dtype=bool)
        take[:n] = (np.bincount(owner, minlength=n + 1)[:n] == many) & (many > 0)
        x |= take[:n]
        done = take[owner]
        done_entries = np.repeat(done, lens)
        gone = cols[done_entries]
        many -= np.bincount(gone, minlength=n)
        cost += np.bincount(gone, weights=np.repeat(u[rows[done]], lens[done]), minlength=n)
        rows, lens, cols = rows[~done], lens[~done], cols[~done_entries]
    return x, work


def _cover_prune(cov: _Cover, x: NDArray[np.bool_], key: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Drop the columns of the cover ``x`` that the others make redundant, the largest ``key`` first.

    Dropping a column never makes another one redundant, so one pass over the
    columns redundant at the start, in that order, each checked again when its turn comes, is enough.
    """
    x = x.copy()
    count = cov.count(x)
    cols = np.flatnonzero(x)
    if cols.size < 2:
        return x
    lens = np.diff(cov.at.indptr)[cols].astype(np.int64)
    starts = np.zeros(cols.size, dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    spare = np.minimum.reduceat(count[cov.rows_of(cols)], starts) >= 2
    spare &= lens > 0
    candidates = cols[spare]
    ptr, idx = cov.at.indptr, cov.at.indices
    for j in candidates[np.lexsort((candidates, -key[candidates]))]:
        rows = idx[ptr[j]:ptr[j + 1]]
        if count[rows].min() >= 2:
            x[j] = False
            count[rows] -= 1.0
    return x


def _cover_heuristic(cov: _Cover, u: NDArray[np.float64], reduced: NDArray[np.float64]
                     ) -> tuple[NDArray[np.bool_], int]:
    """The smaller of two covers built with the multipliers ``u``, and the work done.

    One completes the Lagrangian solution (the columns of negative reduced
    cost), the other starts from nothing (Beasley 1990; Caprara, Fischetti and
    Toth 1999); both then drop redundant columns, those of largest reduced cost first.
    """
    best, work = None, 0
    for start in (reduced < 0, np.zeros(cov.n, dtype=bool)):
        x, w = _cover_greedy(cov, u, start)
        x = _cover_prune(cov, x, reduced)
        work += w + cov.n
        if best is None or int(x.sum()) < int(best.sum()):
            best = x
    assert best is not None
    return best, work


#: What a subgradient step and a cover cost, in matrix entries visited by a step: per entry and per call
#: (measured: a step reads each entry twice at about 2 ns; building a cover about 15 ns per entry it visits,
#: plus 0.3 ms of fixed cost against 10 us for a step).
_STEP_COST = (2, 5_000)
_COVER_COST = (15, 150_000)


@dataclass
class _Dual:
    """What a round of subgradient optimisation found on one (sub)problem."""

    u: NDArray[np.float64]  # the multipliers of the best bound
    bound: float  # the best Lagrangian bound
    cover: NDArray[np.bool_] | None  # the best cover found, if it beats the size it was asked to beat
    size: int  # its size (or that size to beat)
    proven: bool  # ceil(bound) >= size: nothing smaller exists
    steps: int = 0  # subgradient steps taken
    covers: int = 0  # covers built


def _lagrangian_bound(cov: _Cover, u: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """``L(u) = sum_i u_i + sum_j min(0, c_j)`` with reduced costs ``c_j = 1 - sum_i a_ij u_i``, and the ``c``."""
    reduced = 1.0 - cov.at @ u
    return float(u.sum() + reduced[reduced < 0].sum()), reduced


def _subgradient(cov: _Cover, u: NDArray[np.float64], size: int, *, step: float, deadline: float,
                 polish: int, every: int = 5) -> _Dual:
    """Maximise the Lagrangian bound from ``u``, building covers on the way; then ``polish`` rounds near the best ``u``.

    Subgradient steps ``u += step * (size - L) / |s|^2 * s`` with ``s_i = 1 -``
    (number of columns of negative reduced cost covering row ``i``), kept at
    ``u >= 0`` (Held, Wolfe and Crowder 1974); the step halves after 30 steps
    without a better bound and the search stops below 0.005 (Beasley 1990).
    Covers are built with the current ``u`` every ``every`` steps at most, and
    only while building them has cost no more than the steps (both costs are
    estimated from the matrix entries visited, see :data:`_STEP_COST`), then,
    in the polish rounds, once per small step around the best ``u`` (Caprara,
    Fischetti and Toth 1999). Everything is counted in steps and matrix
    entries, not seconds, so the answer does not depend on the machine, unless
    the ``deadline`` (``time.perf_counter()``) cuts it short.
    """
    best = _Dual(u=u.copy(), bound=-math.inf, cover=None, size=size, proven=False)
    step_cost = _STEP_COST[0] * int(cov.a.nnz) + _STEP_COST[1]
    dual_work = heur_work = 0
    stale = since = 0
    phase_steps = -1  # -1 while maximising the bound, then the polish rounds left

    def improve(x: NDArray[np.bool_]) -> None:
        if int(x.sum()) < best.size:
            best.cover, best.size = x, int(x.sum())

    while True:
        bound, reduced = _lagrangian_bound(cov, u)
        if bound > best.bound + 1e-9:
            best.bound, best.u, stale = bound, u.copy(), 0
        else:
            stale += 1
        if math.ceil(best.bound - 1e-6) >= best.size:
            best.proven = True
            return best
        since += 1
        if phase_steps >= 0 or (since >= every and heur_work <= dual_work):
            x, work = _cover_heuristic(cov, u, reduced)
            heur_work, since = heur_work + _COVER_COST[0] * work + _COVER_COST[1], 0
            best.covers += 2
            improve(x)
        negative = reduced < 0
        s = 1.0 - cov.count(negative)
        s[(u <= 0) & (s < 0)] = 0.0
        norm = float(np.einsum("i,i", s, s))  # not s @ s: BLAS threads only slow a vector this size
        if norm == 0:  # the Lagrangian solution covers every row once: it is a cover
            improve(_cover_prune(cov, negative, reduced))
            if math.ceil(best.bound - 1e-6) >= best.size:
                best.proven = True
            return best
        u = np.maximum(0.0, u + step * (best.size - bound) / norm * s)
        dual_work += step_cost
        best.steps += 1
        if phase_steps < 0:
            if stale >= 30:
                step, stale = step / 2, 0
                if step < 0.005:
                    phase_steps, u, step = polish, best.u.copy(), 0.05
        else:
            phase_steps -= 1
        if phase_steps == 0 or time.perf_counter() > deadline:
            return best


def _fix_columns(cov: _Cover, fixed: NDArray[np.bool_], u: NDArray[np.float64], best: _Dual, *,
                 deadline: float, polish: int, share: float, key: NDArray[np.float64], every: int,
                 solved: float | None = None) -> None:
    """Fix columns to 1 a few at a time and search the rest, keeping any smaller cover in ``best`` (in place).

    Each round solves what ``fixed`` leaves uncovered with :func:`_subgradient`
    from the multipliers ``u``, then fixes the ``share`` of the columns of a
    cover built with the best multipliers that have the lowest reduced costs
    (Caprara, Fischetti and Toth 1999). It stops when nothing is left to cover
    or when the fixed columns plus the bound of the rest cannot beat ``best``.
    ``solved``: the first round's problem is already solved, ``u`` its best
    multipliers and this its bound.
    """
    fixed = fixed.copy()
    u = u.copy()
    while time.perf_counter() < deadline:
        n_fixed = int(fixed.sum())
        rows = np.flatnonzero(cov.count(fixed) == 0)
        if rows.size == 0:
            whole = _cover_prune(cov, fixed, key)
            if int(whole.sum()) < best.size:
                best.cover, best.size = whole, int(whole.sum())
            return
        if n_fixed + 1 >= best.size:  # at least one more column is needed: no smaller cover this way
            return
        sub_a = cov.a[rows]
        cols = np.flatnonzero((np.bincount(sub_a.indices, minlength=cov.n) > 0) & ~fixed)
        sub = _Cover.of(sub_a[:, cols])
        if solved is None:
            found = _subgradient(sub, u[rows], best.size - n_fixed, step=0.1, deadline=deadline, polish=polish,
                                 every=every)
        else:
            found = _Dual(u=u[rows], bound=solved, cover=None, size=best.size - n_fixed, proven=False)
            solved = None
        best.steps, best.covers = best.steps + found.steps, best.covers + found.covers + 2
        u[rows] = found.u
        if found.cover is not None:
            whole = fixed.copy()
            whole[cols[found.cover]] = True
            whole = _cover_prune(cov, whole, key)
            if int(whole.sum()) < best.size:
                best.cover, best.size = whole, int(whole.sum())
                log.debug("set covering: a cover of %d columns of the reduced problem, %d fixed", best.size, n_fixed)
        if n_fixed + math.ceil(found.bound - 1e-6) >= best.size:
            return
        _, reduced = _lagrangian_bound(sub, found.u)
        x, _ = _cover_heuristic(sub, found.u, reduced)
        chosen = np.flatnonzero(x)
        k = max(1, math.ceil(share * chosen.size))
        fixed[cols[chosen[np.lexsort((chosen, reduced[chosen]))[:k]]]] = True


def _lagrangian_cover(cov: _Cover, start: NDArray[np.bool_], *, deadline: float, polish: int = 100,
                      fix_polish: int = 20, fix_share: float = 0.2, patience: int = 3, every: int = 5,
                      root_share: float = 1 / 3, offset: int = 0) -> tuple[NDArray[np.bool_], float, dict[str, Any]]:
    """A small cover of ``cov``, improving on the cover ``start``, and a lower bound on the smallest.

    The Lagrangian heuristic (Beasley 1990; Caprara, Fischetti and Toth 1999):

    1. Subgradient optimisation of the Lagrangian relaxation from the
       multipliers ``u_i = min over the columns j covering i of 1 / |rows of j|``,
       building covers on the way, then ``polish`` steps near the best
       multipliers with a cover at each (:func:`_subgradient`). Its bound is a
       lower bound on the smallest cover; a cover that reaches it is optimal
       and ends the search. It may use ``root_share`` of the time left.
    2. Columns that cannot be in a cover smaller than the best one are
       dropped: any cover holding column ``j`` has at least ``L(u) + c_j``
       columns. If a row loses all of its columns, no smaller cover exists.
    3. Column fixing from the best multipliers (:func:`_fix_columns`, fixing
       ``fix_share`` of a cover's columns per round, ``fix_polish`` polish
       steps), then refinement: fix the columns of the best cover that serve it
       best (the smallest ``max(c_j, 0) + sum_i u_i (k_i - 1) / k_i``, ``k_i``
       the columns of the cover on row ``i``) until they cover a share ``pi``
       of the rows, and fix and search the rest again. ``pi`` starts at 0.3 and
       grows by 10 % after a round that finds nothing better; the search stops
       after ``patience`` such rounds in a row, at ``pi >= 1`` or at the ``deadline``.

    ``every``: steps between covers while the bound improves; ``offset``:
    columns taken before, added to the sizes in the log. Returns the cover,
    the Lagrangian bound and counters.
    """
    started = time.perf_counter()
    u0 = np.minimum.reduceat((1.0 / np.maximum(np.diff(cov.at.indptr), 1))[cov.a.indices],
                             cov.a.indptr[:-1].astype(np.int64))
    # The bound may take a third of the time left: the covers improve most once columns are fixed.
    root = _subgradient(cov, u0, int(start.sum()), step=2.0, polish=polish, every=every,
                        deadline=started + root_share * (deadline - started))
    best = root
    if best.cover is None:
        best.cover = start
    bound = root.bound
    stats: dict[str, Any] = {"lagrangian_bound": round(bound, 4), "root_sites": best.size, "refinements": 0,
                             "steps": root.steps, "covers": root.covers}
    log.info("set covering: Lagrangian bound %.2f, %d sites after %.2f s", offset + bound, offset + best.size,
             time.perf_counter() - started)
    if root.proven:
        return best.cover, bound, stats
    # Drop the columns no better cover can hold; if a row loses all of its columns, none exists.
    reduced = _lagrangian_bound(cov, root.u)[1]
    useful = np.flatnonzero(bound + reduced <= best.size - 1 + 1e-6)
    rows_left = np.flatnonzero(np.bincount(cov.rows_of(useful), minlength=cov.m) > 0)
    stats["columns_dropped"] = cov.n - int(useful.size)
    if rows_left.size < cov.m:
        log.info("set covering: %d sites is the fewest (no smaller cover can reach every point)",
                 offset + best.size)
        return best.cover, float(best.size), stats
    small = cov.restrict(np.arange(cov.m), useful)
    key = reduced[useful]

    def attempt(fixed: NDArray[np.bool_]) -> bool:
        """Search with ``fixed`` fixed; True if it found a smaller cover."""
        inner = _Dual(u=root.u, bound=bound, cover=None, size=best.size, proven=False)
        _fix_columns(small, fixed, root.u, inner, deadline=deadline, polish=fix_polish, share=fix_share, key=key,
                     every=every, solved=bound if not fixed.any() else None)
        stats["steps"] += inner.steps
        stats["covers"] += inner.covers
        if inner.cover is None or inner.size >= best.size:
            return False
        x = np.zeros(cov.n, dtype=bool)
        x[useful[inner.cover]] = True
        best.cover, best.size = x, inner.size
        log.info("set covering: %d sites after %.2f s", offset + best.size, time.perf_counter() - started)
        return True

    attempt(np.zeros(small.n, dtype=bool))
    pi, misses = 0.3, 0
    while pi < 1 and misses < patience and math.ceil(bound - 1e-6) < best.size and time.perf_counter() < deadline:
        stats["refinements"] += 1
        # How well each column of the best cover serves it, on the whole problem.
        cols = np.flatnonzero(best.cover)
        count = cov.count(best.cover)
        lens = np.diff(cov.at.indptr)[cols].astype(np.int64)
        starts = np.zeros(cols.size, dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        rows = cov.rows_of(cols)
        share = root.u[rows] * (count[rows] - 1) / count[rows]
        worth = np.maximum(reduced[cols], 0.0) + np.add.reduceat(share, starts)
        order = cols[np.lexsort((cols, worth))]
        # Only columns a smaller cover can hold may be fixed; they are the columns of `small`.
        order = np.searchsorted(useful, order[np.isin(order, useful)])
        # Fix the best columns until they cover a share pi of the rows.
        first_hit = np.full(small.m, np.iinfo(np.int64).max)
        ranks = np.repeat(np.arange(order.size), np.diff(small.at.indptr)[order])
        np.minimum.at(first_hit, small.rows_of(order), ranks)
        reached = np.bincount(first_hit[first_hit < order.size], minlength=order.size).cumsum()
        k = min(int(np.searchsorted(reached, pi * small.m)) + 1, order.size - 1)
        fixed = np.zeros(small.n, dtype=bool)
        fixed[order[:k]] = True
        if attempt(fixed):
            pi, misses = 0.3, 0
        else:
            pi, misses = pi * 1.1, misses + 1
    return best.cover, bound, stats


def _nested(x: sparse.csr_array, *, inside: bool, chunk: int = 20_000_000) -> NDArray[np.bool_]:
    """Which rows of the 0/1 matrix ``x`` another row makes needless, by set inclusion of their columns.

    ``inside=True``: rows whose columns all belong to another row, a larger
    one (a site whose demand another site covers too); ``inside=False``: rows
    that hold all the columns of another row, a smaller one (a demand point
    covered whenever that one is). Of rows with equal sets, the first is kept.
    The overlaps come from the sparse product ``x @ x.T``, a block of rows at
    a time, about ``chunk`` products per block.
    """
    m = x.shape[0]
    size = np.diff(x.indptr).astype(np.int64)
    out = np.zeros(m, dtype=bool)
    xt = x.T.tocsr()
    work = np.bincount(np.repeat(np.arange(m), size), weights=np.diff(xt.indptr)[x.indices], minlength=m)
    cuts = np.searchsorted(np.cumsum(work), np.arange(1, int(work.sum()) // chunk + 1) * chunk)
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, m], strict=True):
        if hi <= lo:
            continue
        block = (x[lo:hi] @ xt).tocoo()
        r, q = block.row.astype(np.int64) + lo, block.col.astype(np.int64)
        if inside:  # r within q, q larger or first
            hit = (block.data == size[r]) & ((size[q] > size[r]) | ((size[q] == size[r]) & (q < r)))
        else:  # q within r, q smaller or first
            hit = (block.data == size[q]) & ((size[q] < size[r]) | ((size[q] == size[r]) & (q < r)))
        out[r[hit]] = True
    return out


def _reduce_cover(a: sparse.csr_array, *, max_work: int = 300_000_000
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Shrink a unit-cost set covering problem (rows × columns) without changing its optimum.

    Repeated while it shrinks the problem: a column whose rows another column covers
    too is dropped (that one can replace it in any cover); a row holding all
    the columns of another row is dropped (covering that one covers it); a
    column that alone covers some row is in every cover: it is taken, with the
    rows it covers. Each dominance test is skipped when its overlap product
    would take more than ``max_work`` multiplications. Returns the rows and
    the columns left, and the columns taken.
    """
    rows = np.arange(a.shape[0], dtype=np.int64)
    cols = np.arange(a.shape[1], dtype=np.int64)
    taken: list[NDArray[np.int64]] = []
    while rows.size and cols.size:
        sub = a[rows][:, cols]
        size = rows.size + cols.size
        used = np.flatnonzero(np.bincount(sub.indices, minlength=cols.size) > 0)
        if used.size < cols.size:
            cols, sub = cols[used], sub[:, used]
        if int((np.diff(sub.indptr).astype(np.int64) ** 2).sum()) <= max_work:
            keep = np.flatnonzero(~_nested(sub.T.tocsr(), inside=True))
            if keep.size < cols.size:
                cols, sub = cols[keep], sub[:, keep]
        if int((np.bincount(sub.indices, minlength=cols.size).astype(np.int64) ** 2).sum()) <= max_work:
            keep = np.flatnonzero(~_nested(sub, inside=False))
            if keep.size < rows.size:
                rows, sub = rows[keep], sub[keep]
        lens = np.diff(sub.indptr)
        if (lens == 1).any():
            force = np.zeros(cols.size, dtype=bool)
            force[sub.indices[sub.indptr[:-1][lens == 1]]] = True
            taken.append(cols[force])
            left = np.flatnonzero(sub @ force.astype(np.float64) == 0)
            rows, sub = rows[left], sub[left]
            cols = cols[np.bincount(sub.indices, minlength=cols.size) > 0]
        # Each pass costs about the same; stop once one removes less than 2 % of what is left.
        if rows.size + cols.size > 0.98 * size:
            break
    return rows, cols, (np.sort(np.concatenate(taken)) if taken else np.zeros(0, dtype=np.int64))


def _set_cover_lagrangian(inst: _Instance, need: NDArray[np.bool_], *, time_budget: float
                          ) -> tuple[list[int], float, dict[str, Any]]:
    """The fewest sites that reach every ``need`` point: reductions, then :func:`_lagrangian_cover`.

    Demand points that exactly the same sites reach are one row; a site that
    alone reaches some point is in every cover and is taken at once. Returns
    the sites, a lower bound on how few can do it, and counters.
    """
    deadline = time.perf_counter() + time_budget
    a = inst.matrix.by_demand()
    rows = np.flatnonzero(need & (np.diff(a.indptr) > 0))
    reps, _, _ = merge_rows(a, np.ones(a.shape[0]), rows)
    sub = a[reps]
    left, cols, forced = _reduce_cover(sub)
    stats: dict[str, Any] = {"demand_groups": int(reps.size), "forced": int(forced.size),
                             "greedy_sites": int(forced.size), "sites_saved": 0}
    if left.size == 0:  # the reductions solved it
        return forced.tolist(), float(forced.size), stats
    cov = _Cover.of(sub[left][:, cols])
    log.info("set covering: %d sites forced, %d demand groups x %d sites left (%d pairs)", forced.size, cov.m,
             cov.n, cov.a.nnz)
    start, _ = _cover_greedy(cov, np.zeros(cov.m), np.zeros(cov.n, dtype=bool))
    start = _cover_prune(cov, start, np.zeros(cov.n))
    stats["greedy_sites"] = int(forced.size + start.sum())
    x, bound, more = _lagrangian_cover(cov, start, deadline=deadline, offset=int(forced.size))
    more["root_sites"] += int(forced.size)
    more["lagrangian_bound"] = round(float(forced.size) + bound, 4)
    stats.update(more)
    chosen = np.sort(np.concatenate((forced, cols[np.flatnonzero(x)])))
    stats["sites_saved"] = stats["greedy_sites"] - int(chosen.size)
    # The number of sites is whole: the bound rounds up (less a hair for rounding in the sums).
    lower = min(float(forced.size + math.ceil(bound - 1e-6)), float(chosen.size))
    return chosen.tolist(), lower, stats


# --------------------------------------------------------------------------------------------------------------
# Exact models (HiGHS)
# --------------------------------------------------------------------------------------------------------------


def _assign_exact(matrix: CoverageMatrix, weights: NDArray[np.float64], capacity: NDArray[np.float64],
                  sites: NDArray[np.int64] | None = None) -> tuple[NDArray[Any], NDArray[Any]]:
    """Serve the most weight from the given (open) sites under their capacities (:func:`nbgeo._assign.transport`).

    Returns the share of each demand point served and the load of each open site.
    """
    sub = matrix if sites is None else matrix.subset(sites)
    cap = capacity if sites is None else capacity[sites]
    t = transport(sub.by_demand(), weights, cap)
    return t.served, t.load


def _hstack(a: CoverageMatrix, b: CoverageMatrix) -> CoverageMatrix:
    """The columns of ``a`` followed by those of ``b``."""
    indptr = np.concatenate((a.indptr, a.indptr[-1] + b.indptr[1:]))
    return CoverageMatrix(indptr=indptr, indices=np.concatenate((a.indices, b.indices)),
                          distance=np.concatenate((a.distance, b.distance)), n_demand=a.n_demand, radius=a.radius,
                          by=a.by)


@dataclass(frozen=True, eq=False)
class _Exact:
    """What the exact model found: the chosen sites (None without a solution), a bound, HiGHS's status."""

    chosen: list[int] | None
    bound: float | None
    status: str
    runtime_s: float
    stats: dict[str, Any]

    @classmethod
    def of(cls, ans: MilpAnswer, n: int, bound: float | None, stats: dict[str, Any]) -> _Exact:
        chosen = None if ans.x is None else np.flatnonzero(ans.x[:n] > 0.5).tolist()
        return cls(chosen, bound, ans.status, ans.runtime_s, stats)


def _with_conflicts(inst: _Instance, cons: sparse.csr_array, row_lower: NDArray[np.float64],
                    row_upper: NDArray[np.float64]) -> tuple[sparse.csr_array, NDArray[np.float64], NDArray[np.float64]]:
    """Add ``x_a + x_b <= 1`` for every pair of sites that must not both be chosen."""
    if inst.conflicts is None:
        return cons, row_lower, row_upper
    pairs = sparse.triu(inst.conflicts, k=1).tocoo()
    n_pairs = pairs.nnz
    rows = np.repeat(np.arange(n_pairs), 2)
    cols = np.column_stack((pairs.row, pairs.col)).ravel()
    extra = sparse.csr_array((np.ones(2 * n_pairs), (rows, cols)), shape=(n_pairs, cons.shape[1]))
    return (sparse.vstack((cons, extra), format="csr"), np.concatenate((row_lower, np.full(n_pairs, -np.inf))),
            np.concatenate((row_upper, np.ones(n_pairs))))


def _milp(
    inst: _Instance,
    *,
    problem: Literal["mclp", "lscp"],
    k: int | None,
    target: float | None,
    time_limit: float | None,
    mip_gap: float,
) -> _Exact:
    """Solve MCLP (at most ``k`` sites) or LSCP (serve ``target`` weight in all) exactly.

    The bound is, for MCLP, on the weight the new sites add; for LSCP, on the number of sites.
    """
    if inst.capacitated:
        return _milp_capacitated(inst, problem=problem, k=k, target=target, time_limit=time_limit,
                                 mip_gap=mip_gap)
    mat = inst.matrix
    n = mat.n_sites
    residual = inst.weights * (1.0 - inst.served_before)
    a = mat.by_demand()
    rows = np.flatnonzero((residual > 0) & (np.diff(a.indptr) > 0))
    reps, _, gw = merge_rows(a, residual, rows)
    sub = a[reps].tocoo()
    g, s = sub.row.astype(np.int64), sub.col.astype(np.int64)
    n_groups = reps.size
    need = None if target is None else target - float(inst.weights @ inst.served_before)
    full_cover = problem == "lscp" and need is not None and need >= float(gw.sum()) - _EPS * max(1.0, need)
    if full_cover:
        # Every coverable group must be reached: sum_j a_gj x_j >= 1, and no y variables are needed.
        cons = sparse.csr_array((np.ones(g.size), (g, s)), shape=(n_groups, n))
        cost, upper = np.ones(n), np.ones(n)
        integer = np.ones(n, dtype=bool)
        row_lower, row_upper = np.ones(n_groups), np.full(n_groups, np.inf)
    else:
        # Columns: x (n sites), then y (one per group). Rows: y_g - sum_j a_gj x_j <= 0, then the k or target row.
        n_col = n + n_groups
        r_parts = [np.arange(n_groups), g]
        c_parts = [n + np.arange(n_groups), s]
        d_parts = [np.ones(n_groups), -np.ones(g.size)]
        if problem == "mclp":
            r_parts.append(np.full(n, n_groups))
            c_parts.append(np.arange(n))
            d_parts.append(np.ones(n))
            last = (-np.inf, float(n if k is None else k))
            cost = np.concatenate((np.zeros(n), gw))
        else:
            r_parts.append(np.full(n_groups, n_groups))
            c_parts.append(n + np.arange(n_groups))
            d_parts.append(gw)
            want = float(need or 0.0)
            last = (want - _EPS * max(1.0, want), np.inf)  # a hair below: the target may be exactly the most
            cost = np.concatenate((np.ones(n), np.zeros(n_groups)))
        cons = sparse.csr_array((np.concatenate(d_parts), (np.concatenate(r_parts), np.concatenate(c_parts))),
                                shape=(n_groups + 1, n_col))
        upper = np.ones(n_col)
        integer = np.concatenate((np.ones(n, dtype=bool), np.zeros(n_groups, dtype=bool)))
        row_lower = np.concatenate((np.full(n_groups, -np.inf), [last[0]]))
        row_upper = np.concatenate((np.zeros(n_groups), [last[1]]))
    cons, row_lower, row_upper = _with_conflicts(inst, cons, row_lower, row_upper)
    ans = solve_milp(cost, np.zeros(len(cost)), upper, integer, cons, row_lower, row_upper,
                     maximise=problem == "mclp", time_limit=time_limit, mip_gap=mip_gap)
    stats = {"demand_groups": int(n_groups), "demand_rows": int(rows.size), "variables": len(cost),
             "constraints": int(cons.shape[0]), "nonzeros": int(cons.nnz)}
    return _Exact.of(ans, n, ans.bound, stats)


def _milp_capacitated(
    inst: _Instance,
    *,
    problem: Literal["mclp", "lscp"],
    k: int | None,
    target: float | None,
    time_limit: float | None,
    mip_gap: float,
) -> _Exact:
    """The capacitated model: existing facilities keep their capacity and may be reassigned."""
    mat, ex = inst.matrix, inst.existing
    assert inst.capacity is not None
    n = mat.n_sites
    n_ex = 0 if ex is None else ex.n_sites
    both, caps = inst.with_existing()
    a = both.by_demand()
    w = inst.weights
    rows = np.flatnonzero((w > 0) & (np.diff(a.indptr) > 0))
    reps, _, gw = merge_rows(a, w, rows)
    sub = a[reps].tocoo()
    g, s = sub.row.astype(np.int64), sub.col.astype(np.int64)
    n_groups, n_pairs = reps.size, g.size
    pair_col = n + np.arange(n_pairs)
    # A new site without a capacity limit can serve at most the demand it reaches: that is its big-M.
    reach = np.bincount(s, weights=gw[g], minlength=n + n_ex)
    new_cap = np.where(np.isinf(caps[:n]), reach[:n], caps[:n])
    is_new = s < n
    n_link = int(is_new.sum())
    cap_row0, link_row0 = n_groups, n_groups + n + n_ex
    last = link_row0 + n_link
    # Rows: groups (sum of shares <= 1); site capacities (served weight - c_j x_j <= 0 for new sites,
    # served weight <= c_e for existing ones); links f_p <= x_j; then the k or target row.
    r_parts = [g, cap_row0 + s, cap_row0 + np.arange(n), link_row0 + np.arange(n_link), link_row0 + np.arange(n_link)]
    c_parts = [pair_col, pair_col, np.arange(n), pair_col[is_new], s[is_new]]
    d_parts = [np.ones(n_pairs), gw[g], -new_cap, np.ones(n_link), -np.ones(n_link)]
    if problem == "mclp":
        r_parts.append(np.full(n, last))
        c_parts.append(np.arange(n))
        d_parts.append(np.ones(n))
        last_bounds = (-np.inf, float(n if k is None else k))
        cost = np.concatenate((np.zeros(n), gw[g]))
    else:
        r_parts.append(np.full(n_pairs, last))
        c_parts.append(pair_col)
        d_parts.append(gw[g])
        want = float(target or 0.0)
        last_bounds = (want - _EPS * max(1.0, want), np.inf)
        cost = np.concatenate((np.ones(n), np.zeros(n_pairs)))
    n_col = n + n_pairs
    cons = sparse.csr_array((np.concatenate(d_parts), (np.concatenate(r_parts), np.concatenate(c_parts))),
                            shape=(last + 1, n_col))
    row_lower = np.concatenate((np.full(last, -np.inf), [last_bounds[0]]))
    row_upper = np.concatenate((np.ones(n_groups), np.zeros(n), caps[n:], np.zeros(n_link), [last_bounds[1]]))
    integer = np.concatenate((np.ones(n, dtype=bool), np.zeros(n_pairs, dtype=bool)))
    cons, row_lower, row_upper = _with_conflicts(inst, cons, row_lower, row_upper)
    ans = solve_milp(cost, np.zeros(n_col), np.ones(n_col), integer, cons, row_lower, row_upper,
                     maximise=problem == "mclp", time_limit=time_limit, mip_gap=mip_gap)
    bound = ans.bound
    if bound is not None and problem == "mclp":
        bound -= float(w @ inst.served_before)  # the model counts what existing facilities serve too
    stats = {"demand_groups": int(n_groups), "demand_rows": int(rows.size), "variables": n_col,
             "constraints": int(cons.shape[0]), "nonzeros": int(cons.nnz)}
    return _Exact.of(ans, n, bound, stats)


# --------------------------------------------------------------------------------------------------------------
# Public solvers
# --------------------------------------------------------------------------------------------------------------


def _served_weight(inst: _Instance, sites: list[int]) -> float:
    """Weight served by existing facilities and ``sites`` together (with capacity, by the best assignment)."""
    if inst.capacitated:
        both, caps = inst.with_existing(np.asarray(sites, dtype=np.int64))
        return float(inst.weights @ _assign_exact(both, inst.weights, caps)[0])
    return float(inst.weights @ np.maximum(inst.served_before, inst.matrix.covered(sites)))


def _check_method(method: str) -> None:
    if method not in METHODS:
        msg = f"method must be one of {', '.join(METHODS)}, got {method!r}"
        raise InputError(msg, code="E-OPT-METHOD")


def _use_milp(method: str, inst: _Instance) -> bool:
    return method == "milp" or (method == "auto" and inst.matrix.nnz <= AUTO_MILP_MAX_PAIRS)


def _tol(inst: _Instance) -> float:
    """Rounding allowance on sums of demand weight."""
    return _EPS * max(1.0, float(inst.weights.sum()))


def _allowed_with(inst: _Instance, chosen: list[int]) -> NDArray[np.bool_]:
    """Sites that may still join ``chosen``: not chosen, and in conflict with none of them."""
    free = np.ones(inst.matrix.n_sites, dtype=bool)
    idx = np.asarray(chosen, dtype=np.int64)
    free[idx] = False
    if inst.conflicts is not None and idx.size:
        free[inst.conflicts[idx].indices] = False
    return free


def _invalid(inst: _Instance, chosen: list[int], *, k: int | None, need: float | None) -> str:
    """What makes ``chosen`` an invalid answer ('' when it is valid): too many sites, a conflict, too little served."""
    idx = np.asarray(chosen, dtype=np.int64)
    if np.unique(idx).size != idx.size:
        return "names a site twice"
    if k is not None and idx.size > k:
        return f"has {idx.size} sites, more than {k}"
    if inst.conflicts is not None and idx.size and bool(inst.conflicts[idx][:, idx].nnz):
        return "chooses two sites that must not both be chosen"
    if need is not None and _served_weight(inst, chosen) < need - _tol(inst):
        return "is not a cover (it serves less than the target)"
    return ""


def _sites(inst: _Instance) -> Sites:
    """The candidates and the existing facilities, as 0/1 demand × site matrices with capacities (for :mod:`_assign`)."""
    assert inst.capacity is not None
    fixed = None
    if inst.existing is not None and inst.existing.n_sites:
        fixed = sparse.csc_array(inst.existing.by_site().T)
    return Sites(sparse.csc_array(inst.matrix.by_site().T), inst.capacity, fixed, inst.existing_capacity)


def _useful(inst: _Instance, chosen: list[int]) -> list[int]:
    """``chosen`` without the sites that serve nothing the others do not (all such sites at once).

    Without capacity, the sites the greedy never takes when it may take only
    these; with capacity, the sites the best assignment leaves idle.
    """
    if not chosen:
        return chosen
    if not inst.capacitated:
        residual = inst.weights * (1.0 - inst.served_before)
        order, _, _ = _greedy(inst, residual, k=None, need=None, allowed=np.asarray(chosen, dtype=np.int64))
        kept = set(order)
    else:
        both, caps = inst.with_existing(np.asarray(chosen, dtype=np.int64))
        load = _assign_exact(both, inst.weights, caps)[1][: len(chosen)]
        kept = {j for j, used in zip(chosen, load > _tol(inst), strict=True) if used}
    return [j for j in chosen if j in kept]


def _top_up(inst: _Instance, chosen: list[int], k: int, *, rounds: int = 5) -> tuple[list[int], int, int]:
    """Drop the sites of an MCLP answer that add nothing, then add sites while one serves more, up to ``k``.

    Without capacity, by the greedy; with capacity, by :func:`nbgeo._assign.augment`
    (the best assignment, so that a site that serves nothing more is proved
    to). Dropping a site may free its place, or unblock a site it conflicted
    with, so both repeat (at most ``rounds`` times). Returns the sites, how many were added and how many dropped.
    """
    added = dropped = 0
    for _ in range(rounds):
        useful = _useful(inst, list(chosen))
        dropped, chosen = dropped + len(chosen) - len(useful), useful
        if len(chosen) >= k:
            break
        if not inst.capacitated:
            residual = inst.weights * (1.0 - inst.served_before)
            residual[inst.matrix.covered(np.asarray(chosen, dtype=np.int64))] = 0.0
            more, _, _ = _greedy(inst, residual, k=k - len(chosen), need=None,
                                 allowed=np.flatnonzero(_allowed_with(inst, chosen)))
            chosen, new = chosen + more, len(more)
        else:
            aug = augment(_sites(inst), inst.weights, chosen, allowed=np.ones(inst.matrix.n_sites, dtype=bool),
                          conflicts=inst.conflicts, k=k, need=None)
            chosen, new = aug.chosen, aug.added
        added += new
        if not new:
            break
    return chosen, added, dropped


def _finish(
    inst: _Instance,
    *,
    problem: str,
    method: str,
    solver: str,
    chosen: list[int],
    bound: float | None,
    status: str,
    runtime: float,
    target: float | None,
    k: int | None,
    notes: list[str],
    stats: dict[str, Any],
    goal: float | None = None,
    gains: list[float] | None = None,
) -> Solution:
    """Evaluate the chosen sites exactly, drop those that serve nothing, and package the answer.

    ``gains``: the greedy's own gains for ``chosen`` in its order (each > 0), which spares replaying it.
    """
    sites = np.asarray(chosen, dtype=np.int64)
    w = inst.weights
    tol = _tol(inst)
    if not inst.capacitated:
        served = np.maximum(inst.served_before, inst.matrix.covered(sites).astype(np.float64))
        # The greedy order among the chosen sites, with each one's marginal gain; sites it never takes add
        # nothing that the others do not serve, together: they are dropped.
        if gains is None:
            residual = w * (1.0 - inst.served_before)
            order, gains, _ = _greedy(inst, residual, k=None, need=None, allowed=sites)
        else:
            order = list(chosen)
        dropped = sites.size - len(order)
        sites, gain_arr = np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=np.float64)
    else:
        both, caps = inst.with_existing(sites)
        served, load = _assign_exact(both, w, caps)
        served = np.maximum(served, 0.0)
        if served @ w < inst.served_before @ w:  # an LP tolerance: never report less than before
            served = np.maximum(served, inst.served_before)
        used = load[: sites.size] > tol  # the best assignment leaves these idle: they serve nothing
        dropped = int((~used).sum())
        sites, gain_arr = sites[used], load[: used.size][used]
    if dropped:
        stats["sites_dropped"] = stats.get("sites_dropped", 0) + dropped
        log.info("%d chosen site(s) served nothing the others do not and were dropped", dropped)
    objective = float(w @ served - w @ inst.served_before)
    if problem == "mclp":
        if bound is not None and status != "optimal" and bound - objective <= _EPS * max(1.0, bound):
            status = "optimal"  # the bound certifies the answer
        if k is not None and sites.size < k:
            rules = " that the spacing rules allow" if inst.conflicts is not None else ""
            notes = [f"only {sites.size} site(s) serve more demand; no further site{rules} would serve anything "
                     "that is not already served", *notes]
    else:
        # The bound is on the sites that serve `goal` (the target, or what is left of it when not all of it
        # can be served); it certifies an answer that serves that much.
        met = goal is None or float(w @ served) >= goal - tol
        if bound is not None and status != "optimal" and met and sites.size <= math.ceil(bound - 1e-6):
            status = "optimal"  # the bound certifies the answer
        zero = (w == 0) & inst.coverable
        if zero.any():
            left = int((zero & (served < 1 - 1e-9)).sum())
            stats["zero_weight_points"] = int(zero.sum())
            if left:
                notes = [*notes, f"{left} of the {int(zero.sum())} reachable demand point(s) of weight 0 are left "
                         "unserved: they carry no demand, so no site is added for them"]
    return Solution(problem=problem, method=method, solver=solver, sites=sites, gains=gain_arr, weights=w,
                    served_before=inst.served_before, served=served, coverable=inst.coverable, objective=objective,
                    bound=bound, status=status, runtime_s=runtime, target=target, k=k,
                    note="; ".join(n for n in notes if n), stats=stats)


def maximal_covering(
    matrix: CoverageMatrix,
    k: int,
    *,
    weights: ArrayLike | None = None,
    existing: CoverageMatrix | ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    existing_capacity: ArrayLike | None = None,
    conflicts: ArrayLike | None = None,
    method: str = "greedy",
    improve: bool = True,
    max_swaps: int = 1000,
    swap_time: float = 30.0,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
) -> Solution:
    """Choose at most ``k`` new sites that serve the most demand weight (MCLP).

    Parameters
    ----------
    matrix
        Demand points × candidate sites (:func:`coverage_matrix`).
    k
        How many new sites at most. Fewer are chosen when no further site would serve anything more.
    weights
        Demand weight per demand point (default 1 each).
    existing
        Demand points × existing facilities (a :class:`CoverageMatrix`), or one
        flag per demand point saying it is already served; what they serve counts as served.
    capacity
        Demand weight a new site can serve at most (scalar or one per site); None for unlimited.
    existing_capacity
        The same for existing facilities (default: ``capacity``).
    conflicts
        Pairs of site indices that must not both be chosen (sites closer than a
        spacing rule allows), as an ``(m, 2)`` array.
    method
        ``"greedy"``, ``"milp"`` or ``"auto"`` (exact up to :data:`AUTO_MILP_MAX_PAIRS` pairs).
    improve
        After the greedy, swap a chosen site for another while that serves more
        (without capacity; see :func:`_interchange`).
    max_swaps, swap_time
        Limits of that improvement: number of swaps and seconds (``swap_time``
        also bounds the search for the Lagrangian bound, :func:`_mclp_bound`).
    time_limit
        Seconds the exact solver may take; then the better of its best answer
        and the heuristic's is returned, with status ``"time_limit"``.
    mip_gap
        Relative optimality gap at which the exact solver may stop (0: prove
        optimality); such an answer has status ``"within_gap"`` unless the gap closed.

    Returns
    -------
    Solution

    Examples
    --------
    Five demand points; site 0 covers {0, 1, 2}, site 1 covers {2, 3}, site 2 covers {3, 4}.
    Greedy takes 0 then 2; with point 0 already served by an existing facility, still 0 and 2:

    >>> m = CoverageMatrix.from_pairs([0, 1, 2, 2, 3, 3, 4], [0, 0, 0, 1, 1, 2, 2], [0.0] * 7,
    ...                               n_demand=5, n_sites=3, radius=1)
    >>> s = maximal_covering(m, 2)
    >>> s.sites.tolist(), s.objective, s.bound, s.status
    ([0, 2], 5.0, 5.0, 'optimal')
    >>> ex = CoverageMatrix.from_pairs([0], [0], [0.0], n_demand=5, n_sites=1, radius=1)
    >>> s = maximal_covering(m, 1, existing=ex, method="milp")
    >>> s.sites.tolist(), s.objective, s.share_before, s.share_after
    ([0], 2.0, 0.2, 0.6)
    >>> maximal_covering(m, 3, capacity=1).objective
    3.0
    """
    _check_method(method)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        msg = f"k must be a whole number of sites >= 0, got {k!r}"
        raise InputError(msg, code="E-OPT-K")
    k = int(k)
    inst = _prepare(matrix, weights, existing, capacity, existing_capacity, conflicts)
    started = time.perf_counter()
    residual = inst.weights * (1.0 - inst.served_before)
    chosen, greedy_gains, _ = _greedy(inst, residual, k=k, need=None)
    swaps = 0
    solver = "greedy"
    if improve and not inst.capacitated and chosen:
        chosen, swaps = _interchange(inst, chosen, max_swaps=max_swaps, time_budget=swap_time)
        solver = "greedy+swaps" if swaps else solver
    # Swaps (or, with capacity, the greedy's rough assignment) may leave room for a site that serves more.
    added = dropped = 0
    if swaps or inst.capacitated:
        chosen, added, dropped = _top_up(inst, chosen, k)
    stats: dict[str, Any] = {"candidates": matrix.n_sites, "demand": matrix.n_demand, "pairs": matrix.nnz,
                             "swaps": swaps, "sites_topped_up": added, "sites_dropped": dropped}
    notes: list[str] = []
    status = "heuristic"
    bound: float | None = None
    if _use_milp(method, inst):
        heuristic, heuristic_solver = chosen, solver
        ex = _milp(inst, problem="mclp", k=k, target=None, time_limit=time_limit, mip_gap=mip_gap)
        stats.update(ex.stats)
        bound, status, solver = ex.bound, ex.status, "highs"
        why = "" if ex.chosen is None else _invalid(inst, ex.chosen, k=k, need=None)
        if ex.chosen is None or why:
            notes.append(f"HiGHS found no valid answer ({why or 'none in the time allowed'}); the answer is the "
                         f"{heuristic_solver} heuristic's")
            chosen, solver, status = heuristic, heuristic_solver, "time_limit" if ex.chosen is None else "heuristic"
        elif ex.status != "optimal" and _served_weight(inst, ex.chosen) < _served_weight(inst, heuristic) - _tol(inst):
            notes.append(f"HiGHS's best in the time allowed served less than the {heuristic_solver} heuristic's "
                         "answer, which is returned")
            chosen, solver = heuristic, heuristic_solver
        else:
            chosen, more_added, stats["sites_dropped"] = _top_up(inst, ex.chosen, k)
            stats["sites_topped_up"] = more_added
            if ex.status == "time_limit":
                notes.append(f"HiGHS stopped at its time limit ({time_limit:g} s) before proving its best answer "
                             "optimal; that answer is returned")
    if status != "optimal" and not inst.capacitated:
        # The Lagrangian bound: the greedy's only bound, and often tighter than HiGHS's when it stopped early.
        objective = _served_weight(inst, chosen) - float(inst.weights @ inst.served_before)
        bound_started = time.perf_counter()
        lagrangian = _mclp_bound(inst, chosen, k, objective, deadline=bound_started + swap_time)
        bound = lagrangian if bound is None else min(bound, lagrangian)
        stats["bound_s"] = round(time.perf_counter() - bound_started, 4)
    as_greedy = solver == "greedy" and not added and not inst.capacitated  # the greedy's own answer and gains
    result = _finish(inst, problem="mclp", method="milp" if _use_milp(method, inst) else "greedy", solver=solver,
                     chosen=chosen, bound=bound, status=status, runtime=time.perf_counter() - started, target=None,
                     k=k, notes=notes, stats=stats, gains=greedy_gains if as_greedy else None)
    log.info("MCLP (%s): %d of at most %d sites add %.6g demand weight (%.1f%% -> %.1f%%) in %.3f s",
             result.solver, len(result.sites), k, result.objective, 100 * result.share_before,
             100 * result.share_after, result.runtime_s)
    return result


#: What a note says when a heuristic could not meet the target under spacing conflicts and nothing proves it impossible.
_NOT_PROVEN = ("it is not proven that no answer within the spacing rules meets the target (hint: method='milp' "
               "settles it)")


@dataclass(eq=False)
class _Heuristic:
    """A set covering heuristic's answer."""

    chosen: list[int]
    lower: float | None  # a lower bound on the sites needed, if known
    solver: str
    notes: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def _lscp_heuristic(inst: _Instance, *, target: float, full: bool, improve: bool, time_budget: float) -> _Heuristic:
    """The best heuristic answer to serve ``target`` weight in all (existing facilities' included).

    Without capacity and conflicts, the whole demand: the Lagrangian heuristic
    (or, without ``improve``, the greedy). With conflicts: the greedy with
    look-ahead and repair (:func:`nbgeo._spacing.cover_with_conflicts`), then
    shrunk. With capacity: the greedy, then sites added while the best
    assignment falls short (:func:`nbgeo._assign.augment`), then pruned. A
    share of the demand: the greedy.
    """
    deadline = time.perf_counter() + time_budget
    w = inst.weights
    residual = w * (1.0 - inst.served_before)
    before = float(w @ inst.served_before)
    tol = _tol(inst)
    if inst.capacitated:
        chosen, _, _ = _greedy(inst, residual, k=None, need=target - before)
        sites = _sites(inst)
        aug = augment(sites, w, chosen, allowed=np.ones(inst.matrix.n_sites, dtype=bool), conflicts=inst.conflicts,
                      k=None, need=target)
        out = _Heuristic(aug.chosen, None, "greedy", stats={"sites_added_by_assignment": aug.added})
        if aug.transport.weight(w) >= target - tol:
            out.chosen = prune(sites, w, aug.chosen, need=target, deadline=deadline)
        elif inst.conflicts is not None:
            out.notes.append("with the spacing rules the heuristic did not reach the target; " + _NOT_PROVEN)
        return out
    need_mask = (residual > 0) & inst.coverable
    if full and inst.conflicts is None:
        if improve:
            chosen, lower, stats = _set_cover_lagrangian(inst, need_mask, time_budget=time_budget)
            return _Heuristic(chosen, lower, "lagrangian", stats=stats)
        chosen, gains, _ = _greedy(inst, need_mask.astype(np.float64), k=None, need=None)
        return _Heuristic(_drop_redundant(inst, chosen, gains, need_mask)[0], None, "greedy")
    if full:
        assert inst.conflicts is not None
        rows = np.flatnonzero(need_mask)
        found = cover_with_conflicts(inst.matrix.by_demand()[rows], inst.conflicts, deadline=deadline)
        reached = np.zeros(inst.matrix.n_demand, dtype=bool)
        reached[rows[~found.uncovered]] = True
        chosen, _ = _drop_redundant(inst, found.chosen, [0.0] * len(found.chosen), reached)
        out = _Heuristic(chosen, None, "greedy", stats={"sites_saved": 0})
        if improve and len(chosen) > 1:
            out.chosen, out.stats["sites_saved"] = _shrink_cover(inst, chosen, reached,
                                                                 time_budget=max(0.0, deadline - time.perf_counter()))
        if not found.complete:
            left = int(found.uncovered.sum())
            if found.clash or found.proved.any():
                out.notes.append(f"the spacing rules make a full cover impossible (proved: some demand points can "
                                 f"each be served by one site only, and those sites conflict or are blocked); "
                                 f"{left} demand point(s) are left unserved")
            else:
                out.notes.append(f"with the spacing rules the heuristic left {left} demand point(s) unserved; "
                                 + _NOT_PROVEN)
        return out
    chosen, _, _ = _greedy(inst, residual, k=None, need=target - before)
    out = _Heuristic(chosen, None, "greedy")
    if _served_weight(inst, chosen) < target - tol:
        out.notes.append("with the spacing rules the heuristic did not reach the target; " + _NOT_PROVEN)
    return out


def _lscp_partial(inst: _Instance, *, time_limit: float | None, mip_gap: float, stats: dict[str, Any]
                  ) -> tuple[list[int], float | None, str, list[str]] | None:
    """When no answer meets the target: the most weight that can be served, with the fewest sites (two MILPs).

    Returns the sites, a lower bound on the sites for that weight, the status
    and the notes; None if the exact solver found nothing in the time allowed.
    """
    total = float(inst.weights.sum())
    first = _milp(inst, problem="mclp", k=None, target=None, time_limit=time_limit, mip_gap=mip_gap)
    if first.chosen is None or _invalid(inst, first.chosen, k=None, need=None):
        return None
    most = _served_weight(inst, first.chosen)
    second = _milp(inst, problem="lscp", k=None, target=most, time_limit=time_limit, mip_gap=mip_gap)
    stats.update({"max_weight_model": first.stats, **second.stats})
    fewest = second.chosen is not None and not _invalid(inst, second.chosen, k=None, need=most)
    chosen = second.chosen if fewest and second.chosen is not None else first.chosen
    rules = " with the spacing rules" if inst.conflicts is not None else ""
    if first.status == "optimal":
        what = f"at most {100 * most / total:.1f}% of the demand weight can be served{rules} (proved by HiGHS)"
    else:
        upper = total if first.bound is None else min(total, float(inst.weights @ inst.served_before) + first.bound)
        what = (f"HiGHS found an answer serving {100 * most / total:.1f}% of the demand weight{rules}; at most "
                f"{100 * upper / total:.1f}% can be (its bound)")
    fewest_note = ("these sites serve that with the fewest sites" if fewest and second.status == "optimal" else
                   "these sites serve that, perhaps not with the fewest")
    statuses = {first.status, second.status if fewest else "time_limit"}
    status = "time_limit" if "time_limit" in statuses else "within_gap" if "within_gap" in statuses else "optimal"
    return chosen, second.bound if fewest else None, status, [f"the target cannot be met: {what}; {fewest_note}"]


def set_covering(
    matrix: CoverageMatrix,
    *,
    share: float = 1.0,
    weights: ArrayLike | None = None,
    existing: CoverageMatrix | ArrayLike | None = None,
    capacity: ArrayLike | None = None,
    existing_capacity: ArrayLike | None = None,
    conflicts: ArrayLike | None = None,
    method: str = "greedy",
    improve: bool = True,
    time_budget: float = 20.0,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
) -> Solution:
    """Choose the fewest new sites that serve ``share`` of the demand weight (LSCP).

    Demand that no existing facility and no candidate site can reach cannot be
    served; the target is then lowered to what can be, the solution says so
    in ``note`` and :attr:`Solution.met` is False. The same holds when
    capacity or spacing conflicts leave less servable: the exact solver then
    returns the most that can be served, with the fewest sites, and proves
    it; a heuristic says whether its shortfall is proved. Demand points of
    weight 0 need no site (see the module's maths); the note says how many are left unserved.

    Parameters
    ----------
    matrix
        Demand points × candidate sites (:func:`coverage_matrix`).
    share
        The share of all demand weight to serve, in (0, 1]; 1 means every demand point.
    weights, existing, capacity, existing_capacity, conflicts, method, time_limit, mip_gap
        As for :func:`maximal_covering`. When the exact solver stops at
        ``time_limit``, the heuristic below runs too (for up to
        ``time_budget`` seconds) and the better answer is returned.
    improve, time_budget
        When every coverable point must be served (and without capacity), the
        greedy answer is improved for up to ``time_budget`` seconds. Without
        conflicts, by the Lagrangian heuristic (Beasley 1990; Caprara, Fischetti
        and Toth 1999): subgradient optimisation of the Lagrangian relaxation,
        covers built from its multipliers, column fixing and refinement
        (:func:`_lagrangian_cover`). It also gives a lower bound on the number of
        sites (:attr:`Solution.bound`, :attr:`Solution.gap`); when its answer
        meets the bound, the status is ``"optimal"``. The answer is the same on
        every machine unless the time budget cuts the search short (the
        reductions that come first, dropping dominated sites and implied
        demand points, always run). With
        conflicts (sites that must not both be chosen), which the relaxation
        does not model, a greedy with look-ahead and repair builds the cover
        (:func:`nbgeo._spacing.cover_with_conflicts`), which then tries to
        serve everyone with one site fewer, again and again: a maximal
        covering with one site fewer, improved by swaps (:func:`_shrink_cover`).
        With capacity, the greedy's sites are pruned for up to ``time_budget`` seconds.

    Returns
    -------
    Solution

    Examples
    --------
    >>> m = CoverageMatrix.from_pairs([0, 1, 2, 2, 3, 3, 4], [0, 0, 0, 1, 1, 2, 2], [0.0] * 7,
    ...                               n_demand=6, n_sites=3, radius=1)
    >>> s = set_covering(m, method="milp")
    >>> s.sites.tolist(), s.met, s.note
    ([0, 2], False, '1 demand point(s) (weight 1) lie out of reach of every site: 83.3% is the most that can be served')
    >>> set_covering(m, share=0.5).sites.tolist()
    [0]

    The textbook greedy's trap: sites 0 and 1 cover the top and bottom rows of
    fourteen points, sites 2, 3 and 4 cover 8, 4 and 2 points across both. The
    greedy takes 2, 3, 4 (each covers more of what is left than a row does);
    the heuristic finds 0 and 1, and its lower bound proves that two is the fewest:

    >>> cover = {0: range(7), 1: range(7, 14), 2: [0, 1, 2, 3, 7, 8, 9, 10], 3: [4, 5, 11, 12], 4: [6, 13]}
    >>> pairs = [(i, j) for j, points in cover.items() for i in points]
    >>> m = CoverageMatrix.from_pairs([i for i, _ in pairs], [j for _, j in pairs], [0.0] * len(pairs),
    ...                               n_demand=14, n_sites=5, radius=1)
    >>> set_covering(m, improve=False).sites.tolist()
    [2, 3, 4]
    >>> s = set_covering(m)
    >>> s.sites.tolist(), s.bound, s.status
    ([0, 1], 2.0, 'optimal')

    A spacing rule that forbids choosing sites 0 and 1 together, each the only
    one to reach some point: no answer serves everyone. The exact solver
    serves the most that can be served, proves it, and says so; the greedy
    proves that no full cover exists, without claiming a maximum:

    >>> m = CoverageMatrix.from_pairs([0, 1, 2], [0, 1, 1], [0.0] * 3, n_demand=3, n_sites=2, radius=1)
    >>> s = set_covering(m, conflicts=[(0, 1)], method="milp")
    >>> s.sites.tolist(), s.met, s.status
    ([1], False, 'optimal')
    >>> s.note
    'the target cannot be met: at most 66.7% of the demand weight can be served with the spacing rules (proved by HiGHS); these sites serve that with the fewest sites'
    >>> g = set_covering(m, conflicts=[(0, 1)])
    >>> g.sites.tolist(), g.status, g.note.startswith("the spacing rules make a full cover impossible (proved")
    ([1], 'heuristic', True)
    """
    _check_method(method)
    if not (isinstance(share, (int, float)) and 0 < share <= 1):
        msg = f"share must be in (0, 1], got {share!r}"
        raise InputError(msg, code="E-OPT-SHARE")
    inst = _prepare(matrix, weights, existing, capacity, existing_capacity, conflicts)
    w = inst.weights
    total = float(w.sum())
    started = time.perf_counter()
    tol = _tol(inst)
    # The most that can be served, every allowed site open (spacing conflicts aside).
    if inst.capacitated:
        both, caps = inst.with_existing()
        reachable = float(w @ _assign_exact(both, w, caps)[0])
    else:
        reachable = float(w @ np.maximum(inst.served_before, inst.coverable))
    wanted = share * total
    target = min(wanted, reachable)
    notes: list[str] = []
    if wanted > reachable + tol:
        lost = ~inst.coverable & (w > 0)
        most = (f"{100 * reachable / total:.1f}% is the most that can be served" if inst.conflicts is None else
                f"at most {100 * reachable / total:.1f}% can be served (an upper bound: it ignores the spacing rules)")
        notes.append(f"{int(lost.sum())} demand point(s) (weight {float(w[lost].sum()):.6g}) lie out of reach of "
                     f"every site: {most}")
        if inst.capacitated and not lost.any():
            notes[-1] = f"capacity limits what can be served: {most}"
    full = not inst.capacitated and target >= reachable - tol
    stats: dict[str, Any] = {"candidates": matrix.n_sites, "demand": matrix.n_demand, "pairs": matrix.nnz,
                             "sites_saved": 0}
    bound: float | None = None
    heuristic: _Heuristic | None = None
    partial_goal: float | None = None
    if _use_milp(method, inst):
        ex = _milp(inst, problem="lscp", k=None, target=target, time_limit=time_limit, mip_gap=mip_gap)
        stats.update(ex.stats)
        chosen, bound, status, solver = ex.chosen, ex.bound, ex.status, "highs"
        partial = None
        if ex.status == "infeasible":
            # No answer meets the target (spacing conflicts): the most that can be served, with the fewest sites.
            partial = _lscp_partial(inst, time_limit=time_limit, mip_gap=mip_gap, stats=stats)
            if partial is not None:
                chosen, bound, status, more = partial
                partial_goal = _served_weight(inst, chosen)
                notes.extend(more)
        why = "" if chosen is None or partial is not None else _invalid(inst, chosen, k=None, need=target)
        if why:
            notes.append(f"HiGHS's answer {why} and was set aside")
            chosen = None
        if chosen is None or (status == "time_limit" and partial is None):
            # The exact solver stopped early: the best heuristic answer may be better, and its bound tighter.
            heuristic = _lscp_heuristic(inst, target=target, full=full, improve=improve, time_budget=time_budget)
            stats.update(heuristic.stats)
            h_met = _served_weight(inst, heuristic.chosen) >= target - tol
            if heuristic.lower is not None and partial is None:
                bound = heuristic.lower if bound is None else max(bound, heuristic.lower)
            limit = "" if time_limit is None else f" ({time_limit:g} s)"
            if chosen is None:
                if ex.status == "infeasible":
                    found = (f"HiGHS proved that no answer meets the target but found none serving the most in the "
                             f"time allowed{limit}")
                else:
                    found = f"HiGHS stopped at its time limit{limit} " + ("with an invalid answer" if why else
                                                                           "without an answer")
                notes.append(f"{found}; the answer is the {heuristic.solver} heuristic's")
                chosen, solver, status = heuristic.chosen, heuristic.solver, "time_limit"
                notes.extend(heuristic.notes)
            elif h_met and partial is None and len(heuristic.chosen) < len(chosen):
                notes.append(f"HiGHS stopped at its time limit{limit} with {len(chosen)} sites; the "
                             f"{heuristic.solver} heuristic found {len(heuristic.chosen)}, which are returned")
                chosen, solver = heuristic.chosen, heuristic.solver
            else:
                notes.append(f"HiGHS stopped at its time limit{limit}; its best answer is returned")
        method_used = "milp"
    else:
        heuristic = _lscp_heuristic(inst, target=target, full=full, improve=improve, time_budget=time_budget)
        stats.update(heuristic.stats)
        chosen, bound, status, solver = heuristic.chosen, heuristic.lower, "heuristic", heuristic.solver
        notes.extend(heuristic.notes)
        method_used = "greedy"
    result = _finish(inst, problem="lscp", method=method_used, solver=solver, chosen=chosen, bound=bound,
                     status=status, runtime=time.perf_counter() - started, target=wanted, k=None, notes=notes,
                     stats=stats, goal=target if partial_goal is None else partial_goal)
    log.info("LSCP (%s): %d sites serve %.1f%% of the demand weight (was %.1f%%) in %.3f s", result.solver,
             len(result.sites), 100 * result.share_after, 100 * result.share_before, result.runtime_s)
    return result


# --------------------------------------------------------------------------------------------------------------
# Candidate sites
# --------------------------------------------------------------------------------------------------------------


def _area_union(area: Any, crs: Any) -> Any:
    """One (multi)polygon in ``crs`` from a GeoDataFrame, GeoSeries or shapely geometry (assumed in ``crs``)."""
    import geopandas as gpd
    import shapely

    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if geoms.crs is None:
            from .errors import CRSError

            msg = "the candidate area has no CRS"
            raise CRSError(msg + " (hint: set_crs(...))", code="E-CRS-MISSING")
        return shapely.union_all(np.asarray(geoms.to_crs(crs).values))
    return area


def candidates_from_grid(area: Any, cell: float, *, crs: Any = None) -> gpd.GeoDataFrame:
    """Candidate sites at the centres of a square grid of ``cell`` metres, inside ``area``.

    The grid is aligned to multiples of ``cell`` in the metric CRS, so the same
    area and cell always give the same sites. Ids are ``G`` and a number.

    Parameters
    ----------
    area
        Polygons (GeoDataFrame or GeoSeries in any CRS, or a shapely geometry in ``crs``).
    cell
        Grid spacing in metres.
    crs
        The metric CRS of the grid (default: the area's own if metric, else the
        working CRS chosen from its extent; required for a shapely geometry).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with the column ``source``.

    Examples
    --------
    >>> from shapely import box
    >>> g = candidates_from_grid(box(0, 0, 1000, 500), 250, crs="EPSG:32651")
    >>> len(g), g.index[:2].tolist(), g["source"].iloc[0]
    (8, ['G000001', 'G000002'], 'grid 250 m')
    """
    import geopandas as gpd
    import shapely

    if isinstance(cell, bool) or not (isinstance(cell, (int, float)) and math.isfinite(cell) and cell > 0):
        msg = f"cell must be a positive number of metres, got {cell!r}"
        raise InputError(msg, code="E-OPT-CELL")
    if crs is None:
        if not isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
            from .errors import CRSError

            msg = "a shapely geometry as the candidate area needs crs= (the metric CRS it is in)"
            raise CRSError(msg, code="E-CRS-MISSING")
        crs = _metric_crs(area)
    shape = _area_union(area, crs)
    x0, y0, x1, y1 = shape.bounds
    xs = np.arange(math.floor(x0 / cell) * cell + cell / 2, x1, cell)
    ys = np.arange(math.floor(y0 / cell) * cell + cell / 2, y1, cell)
    if xs.size * ys.size > 50_000_000:
        msg = f"a {cell:g} m grid over this area has {xs.size * ys.size:,} cells"
        raise LimitError(msg + " (hint: a larger cell)", code="E-LIMIT-CELLS")
    mesh_x, mesh_y = np.meshgrid(xs, ys)
    gx, gy = mesh_x.ravel(), mesh_y.ravel()
    shapely.prepare(shape)
    inside = shapely.contains_xy(shape, gx, gy)
    gx, gy = gx[inside], gy[inside]
    index = [f"G{i:06d}" for i in range(1, gx.size + 1)]
    out = gpd.GeoDataFrame({"source": f"grid {cell:g} m"}, geometry=shapely.points(gx, gy), crs=crs,
                           index=_ids(index))
    return out.to_crs(4326)


def _ids(labels: list[str]) -> Any:
    """A string index named ``id``."""
    import pandas as pd

    return pd.Index(labels, dtype=object, name="id")


def candidates_from_network(network: RoadNetwork, *, area: Any = None, spacing: float = 0.0) -> gpd.GeoDataFrame:
    """Candidate sites at the road network's nodes: kerbside places a driver can reach.

    Only nodes of the largest strongly connected part are used (from them
    every other node can be reached and back). ``spacing`` thins them to at
    most one node per square of that many metres (the lowest-numbered), for
    networks whose curved roads were split into many close nodes.

    Parameters
    ----------
    network
        The road network.
    area
        Keep only nodes inside these polygons (any CRS), e.g. the districts.
    spacing
        Metres; 0 keeps every node.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326, indexed ``N<node>``, with the columns ``node`` and ``source``.

    Examples
    --------
    >>> from nbgeo import network
    >>> net = network.network_from_arrays(np.array([0.0, 100, 200]), np.zeros(3), u=[0, 1, 1, 2], v=[1, 0, 2, 1],
    ...                                   crs="EPSG:32651")
    >>> candidates_from_network(net).index.tolist()
    ['N0', 'N1', 'N2']
    >>> candidates_from_network(net, spacing=150)["node"].tolist()
    [0, 2]
    """
    import geopandas as gpd
    import shapely

    nodes = np.flatnonzero(network.in_main_component)
    x, y = network.x[nodes], network.y[nodes]
    if area is not None:
        shape = _area_union(area, network.crs)
        shapely.prepare(shape)
        keep = shapely.contains_xy(shape, x, y)
        nodes, x, y = nodes[keep], x[keep], y[keep]
    if spacing > 0 and nodes.size:
        key = np.floor(x / spacing).astype(np.int64) * 10_000_003 + np.floor(y / spacing).astype(np.int64)
        _, first = np.unique(key, return_index=True)
        first.sort()
        nodes, x, y = nodes[first], x[first], y[first]
    source = "road network nodes" + (f", one per {spacing:g} m square" if spacing > 0 else "")
    out = gpd.GeoDataFrame({"node": nodes, "source": source}, geometry=shapely.points(x, y), crs=network.crs,
                           index=_ids([f"N{n}" for n in nodes]))
    return out.to_crs(4326)


@dataclass(frozen=True, eq=False)
class Screening:
    """Which candidate sites the plan's siting rules allow.

    Attributes
    ----------
    frame
        One row per candidate (indexed like the candidates): ``status``
        (``pass``, ``fail``, ``unknown``), ``rules`` (ids of the rules it fails
        or is unknown on, ``;``-separated) and ``reason`` (the first of them, in plain words).
    conflicts
        ``(m, 2)`` positions of candidate pairs that must not both be chosen
        (closer than a ``spacing`` rule allows, or overlapping under an ``overlap`` rule).
    rules
        One summary per rule applied: ``id``, ``kind``, ``failed``, ``unknown``, ``conflicts``.
    """

    frame: Any
    conflicts: NDArray[np.int64]
    rules: list[dict[str, Any]]

    @property
    def allowed(self) -> NDArray[np.bool_]:
        """Candidates that pass every rule."""
        return (self.frame["status"] == "pass").to_numpy()


def _candidate_attributes(candidates: gpd.GeoDataFrame, existing: gpd.GeoDataFrame | None, year: int | None
                          ) -> gpd.GeoDataFrame:
    """Candidates with the facility layer's columns, so the rules' filters read them as new facilities.

    A column the candidates lack takes the most common value among the
    existing facilities; ``year`` becomes the evaluation year.
    """
    out = candidates.copy()
    if existing is None:
        return out
    for column in existing.columns:
        if column == existing.geometry.name or column in out.columns:
            continue
        if column == "year" and year is not None:
            out[column] = year
            continue
        values = existing[column].dropna()
        out[column] = values.mode().iloc[0] if len(values) else None
    return out


def _close_pairs(geoms: NDArray[np.object_], distance: float) -> NDArray[np.int64]:
    """Positions ``(a, b)``, ``a < b``, of geometries closer than ``distance``."""
    import shapely

    if len(geoms) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=distance)
    keep = left < right
    left, right = left[keep], right[keep]
    # dwithin is inclusive; a spacing rule fails only strictly closer than its distance.
    close = shapely.distance(geoms[left], geoms[right]) < distance
    return np.column_stack((left[close], right[close])).astype(np.int64)


def screen_candidates(
    candidates: gpd.GeoDataFrame,
    dataset: Dataset,
    plan: Plan,
    *,
    layer: str,
    year: int | None = None,
    tolerance_band: float | None = None,
) -> Screening:
    """Check candidate sites against every siting rule the plan declares for ``layer``.

    Each candidate is treated as a new feature of ``layer`` (with the existing
    features' usual attributes, see :func:`_candidate_attributes`) and every
    rule is evaluated by :mod:`nbgeo.rules`. Rules between sites of one layer
    are split in two: a candidate too close to (``spacing``) or overlapping
    (``overlap``) an *existing* site fails, and pairs of *candidates* that are
    too close or overlap become conflicts the solver never picks together.

    Parameters
    ----------
    candidates
        Candidate sites (any CRS).
    dataset
        The layers the rules read (the existing ``layer`` among them).
    plan
        The plan whose ``[[rules]]`` apply.
    layer
        The facility layer the candidates would join, e.g. ``"chargers"``.
    year
        The evaluation year (the candidates' ``year``).
    tolerance_band
        As for :func:`nbgeo.rules.evaluate_rule`.

    Returns
    -------
    Screening

    Examples
    --------
    A candidate in a lake fails the plan's rule for chargers; one 10 m from an
    existing charger fails the 20 m spacing rule:

    >>> import geopandas as gpd, shapely
    >>> from nbgeo import datasets, io, plan
    >>> ds, p = io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> water = ds.metric("constraints").query("kind == 'water'")
    >>> near = ds.metric("chargers").geometry.iloc[0]
    >>> cands = gpd.GeoDataFrame(geometry=[water.geometry.iloc[0].centroid, shapely.Point(near.x + 10, near.y)],
    ...                          crs=water.crs, index=["in_lake", "too_close"])
    >>> s = screen_candidates(cands, ds, p, layer="chargers")
    >>> s.frame["status"].tolist(), s.frame["rules"].tolist()
    (['fail', 'fail'], ['chargers_off_water_and_red_line', 'charger_spacing'])
    """
    import dataclasses

    import pandas as pd

    from . import rules as rules_mod
    from .layers import Layer, LayerMeta

    existing = dataset[layer] if layer in dataset else None
    cands = _candidate_attributes(candidates.to_crs(4326), existing, year)
    n = len(cands)
    status = np.full(n, "pass", dtype=object)
    failed_rules: list[list[str]] = [[] for _ in range(n)]
    fail_reason = np.full(n, "", dtype=object)
    unknown_reason = np.full(n, "", dtype=object)
    conflicts: list[NDArray[np.int64]] = []
    summaries: list[dict[str, Any]] = []
    meta = LayerMeta(name=layer, source="candidate sites", illustrative=True)
    trial = dataclasses.replace(dataset, layers={**dataset.layers, layer: Layer(cands, meta)}, _metric_cache={})
    positions = pd.Series(np.arange(n), index=cands.index)
    for rule in plan.rules:
        if rule.layer != layer:
            continue
        p = rule.params
        n_conflicts = 0
        if rule.kind in ("spacing", "overlap"):
            # Against the existing sites: a candidate there fails. Among candidates: conflicts.
            applies = rules_mod.filter_sites(trial.metric(layer), p.get("where"), layer=layer)
            others = None
            if existing is not None and len(existing):
                others = rules_mod.filter_sites(dataset.metric(layer), p.get("where"), layer=layer)
            common: dict[str, Any] = {"tolerance": p.get("tolerance"), "tolerance_band": tolerance_band,
                                      "rule": rule}
            if others is None or others.empty:
                result = None
            elif rule.kind == "spacing":
                result = rules_mod.check_setback(applies, others, distance=float(p["min_distance"]), **common)
            else:
                result = rules_mod.check_exclusion(applies, others, max_area=p.get("max_area"),
                                                   max_share=p.get("max_share"), **common)
            geoms = np.asarray(applies.geometry.values)
            pos = positions.loc[applies.index].to_numpy()
            if rule.kind == "spacing":
                pairs = _close_pairs(geoms, float(p["min_distance"]))
            else:
                pairs = _overlapping_pairs(geoms, p)
            if len(pairs):
                conflicts.append(pos[pairs])
            n_conflicts = len(pairs)
        else:
            result = rules_mod.evaluate_rule(rule, trial, tolerance_band=tolerance_band)
        failed = unknown = 0
        if result is not None and len(result.frame):
            frame = result.frame[result.frame["status"].isin(("fail", "unknown"))]
            frame = frame[frame.index.isin(cands.index)]
            if len(frame):
                if rule.kind == "spacing":
                    limit = float(p["min_distance"])
                    why = pd.Series([f"{v:,.3g} m from existing {layer} site {o}; sites keep {limit:,.6g} m apart"
                                     for v, o in zip(frame["value"], frame["other"], strict=True)], index=frame.index)
                elif rule.kind == "overlap":
                    why = pd.Series([f"overlaps existing {layer} site {o} by {v:,.6g} {u}"
                                     for v, o, u in zip(frame["value"], frame["other"], frame["unit"], strict=True)],
                                    index=frame.index)
                else:
                    why = result.reasons(frame.index)
                for fid, st in frame["status"].items():
                    i = positions[fid]
                    failed_rules[i].append(rule.id)
                    if st == "fail":
                        status[i] = "fail"
                        fail_reason[i] = fail_reason[i] or f"{rule.id}: {why[fid]}"
                    else:
                        status[i] = "unknown" if status[i] == "pass" else status[i]
                        unknown_reason[i] = unknown_reason[i] or f"{rule.id}: {why[fid]}"
                failed = int((frame["status"] == "fail").sum())
                unknown = int((frame["status"] == "unknown").sum())
        summaries.append({"id": rule.id, "kind": rule.kind, "failed": failed, "unknown": unknown,
                          "conflicts": n_conflicts})
    reasons = np.where(fail_reason != "", fail_reason, unknown_reason)
    frame = pd.DataFrame({"status": status, "rules": [";".join(r) for r in failed_rules], "reason": reasons},
                         index=cands.index)
    pairs = np.concatenate(conflicts) if conflicts else np.zeros((0, 2), dtype=np.int64)
    log.info("Screened %d candidate sites against %d rule(s) for %r: %d pass, %d fail, %d unknown, %d conflicts",
             n, len(summaries), layer, int((status == "pass").sum()), int((status == "fail").sum()),
             int((status == "unknown").sum()), len(pairs))
    return Screening(frame=frame, conflicts=pairs, rules=summaries)


def _overlapping_pairs(geoms: NDArray[np.object_], params: Any) -> NDArray[np.int64]:
    """Pairs of candidate polygons that overlap by more than an ``overlap`` rule allows."""
    import shapely

    if len(geoms) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    if params.get("max_share") is not None:
        smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
        bad = 100.0 * shared / np.where(smaller > 0, smaller, 1.0) > float(params["max_share"])
    else:
        bad = shared > float(params.get("max_area") or 0.0)
    return np.column_stack((left[bad], right[bad])).astype(np.int64)


# --------------------------------------------------------------------------------------------------------------
# Siting on a dataset
# --------------------------------------------------------------------------------------------------------------

#: How distance is measured: in a straight line, or by road.
BY = ("straight", "road")


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Where to put new facilities: the chosen sites, and coverage before and after, per district.

    Attributes
    ----------
    id, title
        What the question was called.
    demand_layer, facility_layer
        The layers served and serving.
    solution
        The solver's answer (indices into the allowed candidates).
    distance, by
        The service distance (metres) and how it is measured (``"straight"`` or ``"road"``).
    year
        The evaluation year (existing facilities and demand up to it).
    demand
        One row per demand site (EPSG:4326): ``weight``, ``served_before`` and
        ``served_after`` (share of its weight, 0–1), ``newly_served``,
        ``coverable``, ``district``, ``distance_before`` (to the nearest
        existing facility, metres; inf beyond the search), ``new_site`` and
        ``new_distance`` (the nearest chosen site that serves it).
    candidates
        Every candidate considered (EPSG:4326): ``status`` (``pass``,
        ``fail``, ``unknown`` under the rules), ``rules``, ``reason``,
        ``chosen`` and ``order``.
    chosen
        The chosen sites (EPSG:4326), in order: ``order``, ``gain`` (demand
        weight it adds), ``sites_served`` (demand sites it newly serves),
        ``district`` and ``label``.
    by_district
        Per district: demand ``sites``, ``weight``, ``before`` and ``after``
        (served weight), ``share_before`` and ``share_after`` (%), ``new_sites``.
    candidate_source
        How the candidates were made (e.g. ``"grid 250 m inside the districts"``).
    screening
        The rule summaries (:attr:`Screening.rules`), or ``[]`` without a plan.
    required
        The share (%) of demand that must be served, or None (MCLP without a requirement).
    network
        Provenance of the road network, or None.
    illustrative
        Whether any input (layers, network) is illustrative.
    notes
        What a reader should know.
    """

    id: str
    title: str
    demand_layer: str
    facility_layer: str
    solution: Solution
    distance: float
    by: str
    year: int | None
    demand: Any
    candidates: Any
    chosen: Any
    by_district: Any
    candidate_source: str
    screening: list[dict[str, Any]]
    required: float | None
    network: dict[str, Any] | None
    illustrative: bool
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """``met`` when the chosen sites bring coverage to the required share, ``not_met`` if not, else ``proposed``."""
        if self.required is None:
            return "proposed"
        return "met" if 100.0 * self.solution.share_after >= self.required - 1e-9 else "not_met"

    def to_dict(self) -> dict[str, Any]:
        """The entry of ``audit.json``'s ``"optimisation"`` section (JSON-ready)."""
        import pandas as pd

        sol = self.solution
        cands = self.candidates
        chosen = [
            {"id": str(i), "order": int(r.order), "lon": round(float(r.geometry.x), 6), "lat": round(float(r.geometry.y), 6),
             "district": None if r.district is None else str(r.district), "gain": round(float(r.gain), 6),
             "sites_served": int(r.sites_served)}
            for i, r in self.chosen.iterrows()
        ]
        districts = [
            {"district": None if d is None or pd.isna(d) else str(d), "sites": int(r.sites),
             "share_before": _round(r.share_before), "share_after": _round(r.share_after), "new_sites": int(r.new_sites)}
            for d, r in self.by_district.iterrows()
        ]
        left = self.demand[self.demand["served_after"] < 1 - 1e-9]
        unserved = [
            {"id": str(i), "district": None if r.district is None else str(r.district),
             "share_served": round(float(r.served_after), 3), "coverable": bool(r.coverable)}
            for i, r in left.head(1000).iterrows()
        ]
        return {
            "id": self.id, "title": self.title, "status": self.status, "problem": sol.problem, "method": sol.method,
            "solver": sol.solver, "solver_status": sol.status, "demand": self.demand_layer, "facilities": self.facility_layer,
            "distance_m": self.distance, "by": self.by, "year": self.year, "k": sol.k,
            "required_share": self.required, "new_sites": len(sol.sites),
            "demand_sites": len(self.demand), "served_before": int((self.demand["served_before"] >= 1 - 1e-9).sum()),
            "served_after": int((self.demand["served_after"] >= 1 - 1e-9).sum()),
            "share_before": _round(100 * sol.share_before), "share_after": _round(100 * sol.share_after),
            "weight_added": round(sol.objective, 6), "bound": None if sol.bound is None else round(sol.bound, 6),
            "gap": None if sol.gap is None else round(sol.gap, 6),
            "uncoverable_sites": int((~self.demand["coverable"]).sum()),
            "candidates": len(cands), "candidates_allowed": int((cands["status"] == "pass").sum()),
            "candidates_failed": int((cands["status"] == "fail").sum()),
            "candidates_unknown": int((cands["status"] == "unknown").sum()),
            "candidate_source": self.candidate_source, "runtime_s": round(sol.runtime_s, 4),
            "illustrative": self.illustrative, "network": self.network,
            "note": "; ".join(n for n in (sol.note, *self.notes) if n),
            "chosen": chosen, "by_district": districts, "rules": self.screening, "unserved": unserved,
        }

    def overlays(self, *, lang: str = "en") -> dict[str, gpd.GeoDataFrame]:
        """Map layers (EPSG:4326, with ``status`` and ``label``): proposed sites, newly served and still unserved demand."""
        import geopandas as gpd

        zh = lang == "zh"
        out: dict[str, gpd.GeoDataFrame] = {}
        tag = "(示意)" if zh else "(illustrative)"
        suffix = f" {tag}" if self.illustrative else ""
        if len(self.chosen):
            out[(f"{self.id}：建议新增 {len(self.chosen)} 处" if zh else
                 f"{self.id}: {len(self.chosen)} proposed sites") + suffix] = gpd.GeoDataFrame(
                {"status": "proposed", "label": self.chosen["label"].to_numpy()},
                geometry=self.chosen.geometry.to_numpy(), crs=4326)
        d = self.demand
        newly = d[d["newly_served"]]
        if len(newly):
            labels = [(f"{i}：由新址 {r.new_site} 覆盖（{r.new_distance:,.0f} 米）" if zh else
                       f"{i}: served by new site {r.new_site} at {r.new_distance:,.0f} m") for i, r in newly.iterrows()]
            out[(f"{self.id}：新覆盖 {len(newly)} 处" if zh else f"{self.id}: {len(newly)} newly served") + suffix] = (
                gpd.GeoDataFrame({"status": "covered", "label": labels}, geometry=newly.geometry.to_numpy(), crs=4326))
        left = d[d["served_after"] < 1 - 1e-9]
        if len(left):
            labels = [(f"{i}：仍未覆盖" + ("" if r.coverable else "（没有可用候选点能覆盖）") if zh else
                       f"{i}: still unserved" + ("" if r.coverable else " (no allowed candidate reaches it)"))
                      for i, r in left.iterrows()]
            out[(f"{self.id}：仍未覆盖 {len(left)} 处" if zh else f"{self.id}: {len(left)} still unserved") + suffix] = (
                gpd.GeoDataFrame({"status": "uncovered", "label": labels}, geometry=left.geometry.to_numpy(), crs=4326))
        return out


def _round(value: Any, digits: int = 3) -> float | None:
    v = float(value)
    return round(v, digits) if math.isfinite(v) else None


def site(
    dataset: Dataset,
    *,
    demand: str,
    facilities: str,
    distance: float,
    k: int | None = None,
    share: float | None = None,
    by: str = "straight",
    network: RoadNetwork | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    candidate_source: str | None = None,
    cell: float = 250.0,
    plan: Plan | None = None,
    allow_unknown: bool = False,
    demand_where: Any = None,
    facilities_where: Any = None,
    year: int | None = None,
    year_column: str = "year",
    demand_year_column: str | None = None,
    facilities_year_column: str | None = None,
    weight: str = "count",
    split: str | None = None,
    split_cell: float = 100.0,
    capacity: float | None = None,
    existing_capacity: float | None = None,
    method: str = "auto",
    time_limit: float | None = None,
    required: float | None = None,
    id: str | None = None,
    title: str = "",
) -> SitingResult:
    """Where to put new ``facilities`` so that they serve the ``demand`` within ``distance``.

    With ``k``, the best ``k`` new sites (MCLP); otherwise the fewest new
    sites that serve ``share`` of the demand (LSCP, default all of it).
    Existing facilities (up to ``year``) stay, and what they serve counts.
    Candidate sites are screened by the ``plan``'s siting rules for the
    facility layer first (:func:`screen_candidates`): a candidate that fails a
    rule is never chosen (nor one whose verdict is unknown, unless
    ``allow_unknown``), and two candidates a spacing rule keeps apart are
    never both chosen.

    Parameters
    ----------
    dataset
        The layers (``districts`` for the breakdown, if present).
    demand, facilities
        Layer names, e.g. ``"micro_parks"`` and ``"chargers"``.
    distance
        Service distance in metres.
    k, share
        MCLP: at most ``k`` new sites. LSCP: serve ``share`` (0–1] of the demand weight (default 1).
    by
        ``"straight"`` or ``"road"`` (needs ``network``).
    network
        The road network for ``by="road"``.
    candidates
        Candidate sites (any CRS). Default: the road network's nodes (one per
        ``cell`` square) by road, a grid of ``cell`` metres in a straight line,
        inside the districts. Only candidates within ``distance`` (in a straight
        line, which no road beats) of demand that is not yet served are kept.
    candidate_source
        How the candidates were made, for the report.
    cell
        Grid spacing or node thinning, metres.
    plan
        The plan whose rules screen the candidates; None screens nothing.
    allow_unknown
        Let candidates whose verdict under a rule is unknown be chosen.
    demand_where, facilities_where
        Filters of the two layers (the dialect of :mod:`nbgeo.filters`).
    year, year_column, demand_year_column, facilities_year_column
        Keep features whose year column is at most ``year`` (None: all);
        ``year_column`` names it for both layers unless the other two do,
        ``""`` for a layer without years. A layer without its year column
        stops the question with a :class:`~nbgeo.errors.MissingDataError`
        (:mod:`nbgeo.filters`' year rule: what existed in ``year`` is unknown).
    weight, split, split_cell
        Demand weight (``"count"``, ``"area"``, ``"length"`` or a numeric
        column) and how demand is cut into units (``"grid"`` cells of zones,
        ``"length"`` pieces of roads, of ``split_cell`` metres), as for
        :func:`nbgeo.coverage.demand_units`.
    capacity, existing_capacity
        Demand weight one new (existing) facility can serve; None for unlimited.
    method, time_limit
        As for :func:`maximal_covering`; ``"auto"`` (the default) solves exactly
        up to :data:`AUTO_MILP_MAX_PAIRS` pairs, with 60 s unless ``time_limit`` says otherwise.
        A ``time_limit`` also bounds the heuristic's improvement (``swap_time``
        of :func:`maximal_covering`, ``time_budget`` of :func:`set_covering`).
    required
        The share (%) that must be served for the result to be ``met``
        (default: 100 for LSCP, none for MCLP).
    id, title
        Names for the report.

    Returns
    -------
    SitingResult

    Examples
    --------
    How many new chargers, and where, bring every micro-park of the sample
    within 1 km (straight line) of one? Candidates: a 500 m grid, screened by the plan's rules.

    >>> from nbgeo import datasets, io, plan
    >>> ds, p = io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> r = site(ds, demand="micro_parks", facilities="chargers", distance=1000, year=2025, plan=p, cell=500)
    >>> r.status, len(r.chosen) > 0, r.solution.share_after > r.solution.share_before
    ('met', True, True)
    >>> int(r.demand["served_after"].lt(1).sum())
    0
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    from . import coverage as cov_mod

    _check_method(method)
    by = "road" if by == "network" else by
    if by not in BY:
        msg = f"by must be one of {', '.join(BY)}, got {by!r}"
        raise InputError(msg, code="E-OPT-BY")
    if by == "road" and network is None:
        msg = "siting by road needs a road network (pass network=, or by='straight')"
        raise InputError(msg, code="E-NET-MISSING")
    if k is not None and share is not None:
        msg = "give k (the best k new sites) or share (the fewest sites serving that share), not both"
        raise InputError(msg, code="E-OPT-PROBLEM")
    ident = id or f"{facilities}_for_{demand}"
    notes: list[str] = []

    # The demand and the existing facilities, as the coverage audit sees them.
    d_all = dataset[demand]
    d_sel = d_all[filter_mask(d_all, demand_where, layer=demand, key=f"siting {ident!r}, key 'demand_where'")
                  & year_mask(d_all, year, column=year_column if demand_year_column is None else demand_year_column,
                              layer=demand, key="demand_year_column")]
    f_all = dataset[facilities]
    f_sel = f_all[filter_mask(f_all, facilities_where, layer=facilities,
                              key=f"siting {ident!r}, key 'facilities_where'")
                  & year_mask(f_all, year, layer=facilities, key="facilities_year_column",
                              column=year_column if facilities_year_column is None else facilities_year_column)]
    districts = dataset["districts"] if "districts" in dataset else None
    metric = network.crs if network is not None else _metric_crs(dataset.metric(demand))
    mode: Literal["network", "straight"] = "network" if by == "road" else "straight"
    if split not in (None, "none", "grid", "length"):
        msg = f"split must be one of none, grid, length, got {split!r}"
        raise InputError(msg, code="E-OPT-SPLIT")
    # In the dataset's working CRS (the network's, by road), as the coverage audit measures.
    before = cov_mod.coverage(d_sel.to_crs(metric), f_sel.to_crs(metric), distance=distance, mode=mode,
                              network=network, weight=weight, cell=split_cell, districts=districts,
                              split=split)  # type: ignore[arg-type]
    units = before.units
    if units.crs is None or not units.crs.equals(metric):
        units = units.to_crs(metric)
    w = units["weight"].to_numpy(dtype=np.float64)
    served_mask = units["distance"].to_numpy() <= distance

    # Candidates: given, or generated; only those that can reach unserved demand matter.
    if candidates is None:
        if network is not None:
            candidates = candidates_from_network(network, area=districts, spacing=cell)
            source = f"road network nodes inside the districts, one per {cell:g} m square (generated)"
        else:
            if districts is None:
                msg = "cannot generate candidate sites without a districts layer (hint: pass candidates=)"
                raise InputError(msg, code="E-OPT-CANDIDATES")
            candidates = candidates_from_grid(districts, cell, crs=metric)
            source = f"centres of a {cell:g} m grid inside the districts (generated)"
    else:
        if candidates.crs is None:
            from .errors import CRSError

            msg = "the candidate sites have no CRS (hint: set_crs(...))"
            raise CRSError(msg, code="E-CRS-MISSING")
        source = "given"
    source = candidate_source or source
    cand_metric = candidates.to_crs(metric)
    c_geoms = np.asarray(cand_metric.geometry.values)
    u_geoms = np.asarray(units.geometry.values)
    # With capacity a new site near served demand can free an existing one's capacity: keep all within reach
    # of any demand. Without, only sites within reach of unserved demand can add anything.
    capped = capacity is not None or existing_capacity is not None
    targets = np.flatnonzero((w > 0) if capped else (~served_mask & (w > 0)))
    near = np.zeros(len(c_geoms), dtype=bool)
    if targets.size and len(c_geoms):
        _, hit = shapely.STRtree(c_geoms).query(u_geoms[targets], predicate="dwithin", distance=distance)
        near[hit] = True
    considered = candidates[near]
    dropped = int((~near).sum())
    if dropped:
        notes.append(f"{dropped:,} of {len(candidates):,} candidates are farther than {distance:g} m from any "
                     f"{'' if capped else 'unserved '}demand and were not considered")

    # The plan's rules decide which candidates may be chosen.
    if plan is not None and len(considered):
        screening = screen_candidates(considered, dataset, plan, layer=facilities, year=year)
        frame, conflicts, rule_rows = screening.frame, screening.conflicts, screening.rules
    else:
        frame = pd.DataFrame({"status": "pass", "rules": "", "reason": ""}, index=considered.index)
        conflicts, rule_rows = np.zeros((0, 2), dtype=np.int64), []
    ok_status = ("pass", "unknown") if allow_unknown else ("pass",)
    allowed = np.flatnonzero(frame["status"].isin(ok_status).to_numpy())
    remap = np.full(len(considered), -1, dtype=np.int64)
    remap[allowed] = np.arange(allowed.size)
    if len(conflicts):
        conflicts = remap[conflicts]
        conflicts = conflicts[(conflicts >= 0).all(axis=1)]

    # The matrices and the solve.
    allowed_sites = considered.iloc[allowed]
    matrix = coverage_matrix(units, allowed_sites, distance, network=network)
    if capacity is None and existing_capacity is None:
        existing: CoverageMatrix | NDArray[np.bool_] = served_mask
    else:
        existing = coverage_matrix(units, f_sel, distance, network=network)
    # A time limit the planner gives bounds the heuristic's improvement as well as the exact solver.
    heuristic_budget = {} if time_limit is None else {"swap_time" if k is not None else "time_budget": time_limit}
    if method == "auto" and time_limit is None:
        time_limit = 60.0
    common: dict[str, Any] = {"weights": w, "existing": existing, "capacity": capacity,
                              "existing_capacity": existing_capacity, "conflicts": conflicts, "method": method,
                              "time_limit": time_limit, **heuristic_budget}
    if k is not None:
        sol = maximal_covering(matrix, k, **common)
    else:
        sol = set_covering(matrix, share=1.0 if share is None else share, **common)
        if required is None:
            required = 100.0 * (1.0 if share is None else share)

    # Results per demand site, per chosen site and per district.
    chosen_pos = sol.sites
    sub = matrix.subset(chosen_pos)
    new_site = np.full(len(units), None, dtype=object)
    new_dist = np.full(len(units), np.inf)
    if sub.nnz:
        cols = np.repeat(np.arange(sub.n_sites), np.diff(sub.indptr))
        order = np.lexsort((sub.distance, sub.indices))
        rows, cols, dist = sub.indices[order], cols[order], sub.distance[order]
        first = np.r_[True, rows[1:] != rows[:-1]]
        new_site[rows[first]] = np.asarray(allowed_sites.index, dtype=object)[chosen_pos[cols[first]]]
        new_dist[rows[first]] = dist[first]
    # A demand site of weight 0 has no share of weight to serve: its share is that of its units within reach.
    reach_after = served_mask | matrix.covered(chosen_pos)
    u = pd.DataFrame({"site": units["site"].to_numpy(), "weight": w, "before": w * sol.served_before,
                      "after": w * sol.served, "reach_before": served_mask.astype(np.float64),
                      "reach_after": reach_after.astype(np.float64), "coverable": sol.coverable,
                      "distance_before": units["distance"].to_numpy(), "new_site": new_site, "new_distance": new_dist,
                      "district": units["district"].to_numpy()})
    g = u.groupby("site", sort=False)
    per_site = pd.DataFrame({"weight": g["weight"].sum(), "before": g["before"].sum(), "after": g["after"].sum(),
                             "coverable": g["coverable"].all(), "district": g["district"].first(),
                             "distance_before": g["distance_before"].min(), "new_distance": g["new_distance"].min()})
    best = u.loc[g["new_distance"].idxmin().to_numpy(), ["site", "new_site"]]
    per_site["new_site"] = pd.Series(best["new_site"].to_numpy(), index=best["site"].to_numpy(), dtype=object)
    safe_w = per_site["weight"].where(per_site["weight"] > 0)
    per_site["served_before"] = (per_site["before"] / safe_w).fillna(g["reach_before"].mean()).clip(0, 1)
    per_site["served_after"] = (per_site["after"] / safe_w).fillna(g["reach_after"].mean()).clip(0, 1)
    per_site["newly_served"] = (per_site["served_after"] > per_site["served_before"] + 1e-9)
    per_site.loc[~per_site["newly_served"], ["new_site"]] = None
    per_site.loc[~per_site["newly_served"], ["new_distance"]] = np.inf
    demand_out = gpd.GeoDataFrame(
        per_site.drop(columns=["before", "after"]), geometry=d_sel.geometry.loc[per_site.index].to_numpy(), crs=4326)
    demand_out.index.name = demand_out.index.name or "id"

    chosen_gdf = allowed_sites.iloc[chosen_pos]
    chosen_metric = cand_metric.loc[near].iloc[allowed].iloc[chosen_pos]
    district_of = cov_mod._districts_of(np.asarray(chosen_metric.geometry.values), districts, "name", metric)
    newly_by_site = per_site.loc[per_site["newly_served"], "new_site"].value_counts()
    sites_served = newly_by_site.reindex(chosen_gdf.index, fill_value=0).to_numpy()
    labels = [f"{i}: #{n + 1}, serves {s} more {demand} site(s) (+{gain:,.6g} weight)"
              + (f", {dname}" if dname else "")
              for n, (i, s, gain, dname) in enumerate(zip(chosen_gdf.index, sites_served, sol.gains, district_of,
                                                          strict=True))]
    chosen_out = gpd.GeoDataFrame(
        {"order": np.arange(1, len(chosen_pos) + 1), "gain": sol.gains, "sites_served": sites_served,
         "district": district_of, "label": labels},
        geometry=chosen_gdf.geometry.to_crs(4326).to_numpy(), crs=4326, index=chosen_gdf.index)

    cand_out = gpd.GeoDataFrame(frame.copy(), geometry=considered.geometry.to_crs(4326).to_numpy(), crs=4326)
    cand_out["chosen"] = False
    cand_out["order"] = 0
    cand_out.loc[chosen_gdf.index, "chosen"] = True
    cand_out.loc[chosen_gdf.index, "order"] = np.arange(1, len(chosen_pos) + 1)

    new_by_district = pd.Series(district_of, dtype=object).value_counts(dropna=False)
    dg = per_site.groupby("district", sort=True, dropna=False)
    by_district = pd.DataFrame({"sites": dg.size(), "weight": dg["weight"].sum(), "before": dg["before"].sum(),
                                "after": dg["after"].sum()})
    by_district["share_before"] = 100.0 * by_district["before"] / by_district["weight"].where(by_district["weight"] > 0)
    by_district["share_after"] = 100.0 * by_district["after"] / by_district["weight"].where(by_district["weight"] > 0)
    by_district["new_sites"] = new_by_district.reindex(by_district.index, fill_value=0).astype(int).to_numpy()

    net_info = None
    if network is not None:
        meta = network.meta
        net_info = {"file": meta.file, "source": meta.source, "licence": meta.licence,
                    "illustrative": meta.illustrative, "nodes": network.n_nodes, "edges": network.n_edges}
    illustrative = bool(dataset.layer(demand).meta.illustrative or dataset.layer(facilities).meta.illustrative
                        or (network is not None and network.meta.illustrative))
    if by == "straight":
        notes.append("distances are straight-line, not by road")
    return SitingResult(
        id=ident, title=title, demand_layer=demand, facility_layer=facilities, solution=sol, distance=float(distance),
        by=by, year=year, demand=demand_out, candidates=cand_out, chosen=chosen_out, by_district=by_district,
        candidate_source=source, screening=rule_rows, required=required, network=net_info,
        illustrative=illustrative, notes=tuple(notes))


# --------------------------------------------------------------------------------------------------------------
# Siting questions from the plan, and their outputs
# --------------------------------------------------------------------------------------------------------------

#: Keys a ``[[siting]]`` table of a plan may have beyond id, title, phrase, proposed.
SITING_KEYS = {
    "coverage": "id of a [[coverage]] requirement whose demand, facilities, distance, mode, network, filters, weight "
                "and threshold the question takes (any key below overrides it)",
    "demand": "the demand layer", "facilities": "the facility layer new sites join",
    "distance": "service distance in metres", "by": "'road' (default with a network) or 'straight'",
    "network": "the dataset's road network (default 'roads')",
    "k": "choose the best k new sites (maximal covering); without k, the fewest sites (set covering)",
    "share": "set covering: serve this share (0-1] of the demand weight (default: the requirement, or all)",
    "required": "the share in percent the result must reach to be met",
    "candidates": "'network' (road nodes), 'grid', 'suitability:ID' (best cells of a [[suitability]] surface), "
                  "'zones:ID' (its zones of a minimum area) or a layer of the dataset",
    "cell": "metres: grid spacing, road-node thinning, or spacing of suitability cells (default 250)",
    "min_score": "suitability candidates: lowest score (default 0.5)",
    "min_area": "suitability zones: least area in m² (default: the surface's min_area, else 0)",
    "demand_where": "filter of the demand layer", "facilities_where": "filter of the facility layer",
    "weight": "demand weight: 'count', 'area', 'length' or a column", "split": "'none', 'grid' or 'length'",
    "split_cell": "cell or piece size for split", "year_column": "the column holding a feature's year",
    "demand_year_column": "the demand layer's year column (default: year_column; '' when it has no years)",
    "facilities_year_column": "the facility layer's year column (default: year_column; '' when it has no years)",
    "capacity": "demand weight one new facility can serve", "existing_capacity": "the same for existing ones",
    "method": "'greedy', 'milp' or 'auto'", "time_limit": "seconds for the exact solver and the heuristic's improvement",
    "allow_unknown": "let candidates with an unknown verdict under a rule be chosen",
    "source": "where the question comes from", "note": "anything else",
}


def _spec_value(params: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = params.get(key, default)
    return dict(value) if isinstance(value, Mapping) else value


def site_from_spec(
    spec: SitingSpec,
    dataset: Dataset,
    plan: Plan,
    *,
    year: int | None = None,
    by: str | None = None,
    k: int | None = None,
    share: float | None = None,
    candidates: str | None = None,
    cell: float | None = None,
    method: str | None = None,
    time_limit: float | None = None,
    network: RoadNetwork | None = None,
) -> tuple[SitingResult, Any]:
    """Answer a ``[[siting]]`` question of the plan (keyword arguments override its keys).

    Returns
    -------
    SitingResult, Surface or None
        The answer, and the suitability surface its candidates came from (if any).

    Examples
    --------
    >>> from nbgeo.plan import Plan, SitingSpec
    >>> from nbgeo import datasets, io, plan as plan_mod
    >>> p = plan_mod.read_plan(datasets.get_path("ningbo_2025"))
    >>> q = SitingSpec(id="q", params={"demand": "micro_parks", "facilities": "chargers", "distance": 1000,
    ...                                "by": "straight", "k": 5, "candidates": "grid", "cell": 1000})
    >>> r, _ = site_from_spec(q, io.read_sample(), p)
    >>> r.solution.problem, len(r.chosen), r.status
    ('mclp', 5, 'proposed')
    """
    from .errors import PlanError

    p = dict(spec.params)
    unknown = sorted(set(p) - set(SITING_KEYS))
    if unknown:
        msg = f"siting {spec.id!r}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(SITING_KEYS))}"
        raise PlanError(msg, code="E-PLAN-SITING")
    base: dict[str, Any] = {}
    if "coverage" in p:
        cov = next((c for c in plan.coverage if c.id == p["coverage"]), None)
        if cov is None:
            msg = (f"siting {spec.id!r}: the plan has no coverage requirement {p['coverage']!r}; "
                   f"coverage: {', '.join(c.id for c in plan.coverage) or '(none)'}")
            raise PlanError(msg, code="E-PLAN-SITING")
        cp = dict(cov.params)
        base = {"demand": cov.demand, "facilities": cov.facilities, "distance": cp.get("distance"),
                "by": {"network": "road"}.get(cp.get("mode", "network"), cp.get("mode", "network")),
                "network": cp.get("network", "roads"), "demand_where": _spec_value(cp, "demand_where"),
                "facilities_where": _spec_value(cp, "facilities_where"), "weight": cp.get("weight", "count"),
                "split": cp.get("split"), "split_cell": cp.get("cell", 100.0),
                "year_column": cp.get("year_column", "year"), "required": float(cp.get("threshold", 100.0)),
                **{k: cp[k] for k in ("demand_year_column", "facilities_year_column") if k in cp}}
    q = {**base, **{key: _spec_value(p, key) for key in p if key != "coverage"}}
    for key in ("demand", "facilities", "distance"):
        if q.get(key) is None:
            msg = f"siting {spec.id!r}: missing key {key!r} (or a coverage requirement that gives it)"
            raise PlanError(msg, code="E-PLAN-SITING")
    how = by or q.get("by") or "road"
    how = "road" if how == "network" else how
    net = network
    if how == "road" and net is None:
        from .network import read_dataset_network

        net = read_dataset_network(dataset, str(q.get("network") or "roads"))
    if how != "road":
        net = None
    k = k if k is not None else q.get("k")
    if k is None:
        share = share if share is not None else q.get("share")
        if share is None:
            share = min(1.0, float(q.get("required", 100.0)) / 100.0)
    else:
        share = None
    size = float(cell if cell is not None else q.get("cell", 250.0))
    source_key = candidates or q.get("candidates") or ("network" if how == "road" else "grid")
    surface_obj = None
    cands = None
    source = None
    districts = dataset["districts"] if "districts" in dataset else None
    if source_key == "network":
        if net is None:
            msg = f"siting {spec.id!r}: road-node candidates need a road network (by = 'road')"
            raise PlanError(msg, code="E-PLAN-SITING")
        cands = candidates_from_network(net, area=districts, spacing=size)
        source = f"road network nodes inside the districts, one per {size:g} m square (generated)"
    elif source_key == "grid":
        cands = None  # site() makes the grid
    elif source_key.startswith(("suitability:", "zones:")):
        from .suitability import surface_from_spec

        kind, _, sid = source_key.partition(":")
        sspec = next((s for s in plan.suitability if s.id == sid), None)
        if sspec is None:
            msg = (f"siting {spec.id!r}: the plan has no suitability surface {sid!r}; "
                   f"surfaces: {', '.join(s.id for s in plan.suitability) or '(none)'}")
            raise PlanError(msg, code="E-PLAN-SITING")
        surface_obj = surface_from_spec(sspec, dataset)
        min_score = float(q.get("min_score", sspec.params.get("min_score", 0.5)))
        if kind == "suitability":
            cands = surface_obj.best_cells(min_score=min_score, spacing=size)
        else:
            cands = surface_obj.zones(min_score=min_score,
                                      min_area=float(q.get("min_area", sspec.params.get("min_area", 0.0))))
        source = str(cands["source"].iloc[0]) if len(cands) else f"{source_key} (no cell qualifies)"
    elif source_key in dataset:
        cands = dataset[source_key]
        source = f"layer {source_key!r} of the dataset"
    else:
        msg = (f"siting {spec.id!r}: candidates must be 'network', 'grid', 'suitability:ID', 'zones:ID' or a layer, "
               f"got {source_key!r}")
        raise PlanError(msg, code="E-PLAN-SITING")
    result = site(
        dataset, demand=str(q["demand"]), facilities=str(q["facilities"]), distance=float(q["distance"]), k=k,
        share=share, by=how, network=net, candidates=cands, candidate_source=source, cell=size, plan=plan,
        allow_unknown=bool(q.get("allow_unknown", False)), demand_where=q.get("demand_where"),
        facilities_where=q.get("facilities_where"), year=year if year is not None else plan.horizon,
        year_column=str(q.get("year_column", "year")), demand_year_column=q.get("demand_year_column"),
        facilities_year_column=q.get("facilities_year_column"), weight=str(q.get("weight", "count")), split=q.get("split"),
        split_cell=float(q.get("split_cell", 100.0)), capacity=q.get("capacity"),
        existing_capacity=q.get("existing_capacity"), method=method or str(q.get("method", "auto")),
        time_limit=time_limit if time_limit is not None else q.get("time_limit"),
        required=q.get("required"), id=spec.id, title=spec.title,
    )
    return result, surface_obj


def save_result(results: Sequence[SitingResult], path: str | Path, *, overwrite: bool = False) -> Path:
    """Write siting results to one GeoPackage, atomically.

    Layers per result ``ID``: ``ID_sites`` (the chosen sites, in order),
    ``ID_candidates`` (every candidate with its verdict under the rules) and
    ``ID_demand`` (every demand site, served before and after). All in
    EPSG:4326.

    Examples
    --------
    >>> import tempfile, pathlib, pyogrio
    >>> from nbgeo import io
    >>> r = site(io.read_sample(), demand="micro_parks", facilities="chargers", distance=1000, k=3, cell=1000)
    >>> out = save_result([r], pathlib.Path(tempfile.mkdtemp()) / "sites.gpkg")
    >>> [name for name, _ in pyogrio.list_layers(out)]
    ['chargers_for_micro_parks_sites', 'chargers_for_micro_parks_candidates', 'chargers_for_micro_parks_demand']
    """
    import pyogrio
    import pyogrio.errors

    from ._atomic import atomic_path
    from .errors import OutputError

    final = Path(path)
    with atomic_path(final, overwrite=overwrite, suffix=".gpkg") as tmp:
        tmp.unlink()  # GDAL creates the file itself
        for r in results:
            demand = r.demand.copy()
            demand["new_distance"] = demand["new_distance"].where(np.isfinite(demand["new_distance"]))
            demand["distance_before"] = demand["distance_before"].where(np.isfinite(demand["distance_before"]))
            for name, gdf in ((f"{r.id}_sites", r.chosen), (f"{r.id}_candidates", r.candidates),
                              (f"{r.id}_demand", demand)):
                out = gdf.copy()
                out.index = out.index.astype(str)
                out = out.rename_axis("id").reset_index()
                for column in out.columns:
                    if out[column].dtype == object and column != out.geometry.name:
                        out[column] = out[column].map(lambda v: None if v is None else str(v))
                try:
                    pyogrio.write_dataframe(out, tmp, driver="GPKG", layer=name, append=tmp.exists())
                except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError,
                        pyogrio.errors.GeometryError) as exc:
                    msg = f"could not write {str(final)!r}: {exc}; the previous file, if any, is unchanged"
                    raise OutputError(msg, code="E-IO-WRITE") from None
    return final
