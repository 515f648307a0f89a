"""Capacitated assignment: which open site serves which demand, so that no demand is stranded.

When a site can serve at most ``c_j`` units of demand weight, which demand
it serves matters: a site that serves the demand nearest to it first may take
the only demand another site could reach, and strand the rest. Here demand is
assigned to the open sites by a transport LP, the most weight in all:

.. math::

   \\max \\sum_{ij} w_i f_{ij} \\quad\\text{s.t.}\\quad \\sum_j f_{ij} \\le 1,\\;
   \\sum_i w_i f_{ij} \\le c_j,\\; f_{ij} \\ge 0 \\text{ where } a_{ij} = 1

(:func:`transport`, solved by HiGHS), which is a maximum flow from the demand
to the sites. Its optimality has a certificate that also says which closed
site could add anything (:func:`augment`): a new site serves more only if it
reaches a demand point from which an *augmenting path* starts or passes
(unserved demand, then a full site that reaches it, then demand that site
serves, then another full site, ...). When no allowed site reaches such a
point, no set of further sites can serve more: the shortfall is proved.

Everything works on plain sparse 0/1 matrices (demand × sites), so this module
imports nothing else from nbgeo's optimiser (:func:`assign_exact` only reads a
:class:`~nbgeo.optimize.CoverageMatrix` it is given).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .highs import solve_milp

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .matrix import CoverageMatrix

__all__ = ["Augmented", "Sites", "Transport", "augment", "concat_ranges", "merge_rows", "prune", "reroutable", "transport"]

_EPS = 1e-9


def merge_rows(a: sparse.csr_array, weights: NDArray[np.float64], rows: NDArray[np.int64]
               ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Group the demand ``rows`` that exactly the same sites reach.

    Returns the representative row of each group, each row's group number
    (aligned with ``rows``) and the summed weight of each group. Rows are
    fingerprinted by two independent random 64-bit sums over their site sets,
    then every row is compared with its group's representative exactly; a
    (vanishingly unlikely) collision only means that row stays on its own.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> a = sparse.csr_array(np.array([[1.0, 1], [0, 1], [1, 1]]))
    >>> reps, group, weight = merge_rows(a, np.array([1.0, 2, 3]), np.arange(3))
    >>> reps.tolist(), group.tolist(), weight.tolist()
    ([1, 0], [1, 0, 1], [2.0, 4.0])
    """
    if rows.size == 0:
        return rows, np.zeros(0, dtype=np.int64), np.zeros(0)
    sub = a[rows]
    sub.sort_indices()
    rng = np.random.default_rng(20251)
    keys = rng.integers(0, np.iinfo(np.uint64).max, size=(2, a.shape[1]), dtype=np.uint64, endpoint=True)
    lengths = np.diff(sub.indptr)
    seg = np.repeat(np.arange(rows.size), lengths)
    h1 = np.zeros(rows.size, dtype=np.uint64)
    h2 = np.zeros(rows.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        np.add.at(h1, seg, keys[0][sub.indices])
        np.add.at(h2, seg, keys[1][sub.indices])
    order = np.lexsort((h2, h1, lengths))
    key_sorted = np.stack((lengths[order].astype(np.uint64), h1[order], h2[order]))
    new_group = np.ones(rows.size, dtype=bool)
    new_group[1:] = (key_sorted[:, 1:] != key_sorted[:, :-1]).any(axis=0)
    group_sorted = np.cumsum(new_group) - 1
    group = np.empty(rows.size, dtype=np.int64)
    group[order] = group_sorted
    rep = order[new_group]  # position in `rows` of each group's first member
    # Exact check: every member's site list equals its representative's.
    member_rep = rep[group]
    s1, e1 = sub.indptr[:-1].astype(np.int64), sub.indptr[1:].astype(np.int64)
    same_len = lengths == lengths[member_rep]
    idx_a = sub.indices[concat_ranges(s1, e1)]
    idx_b = sub.indices[concat_ranges(s1[member_rep], s1[member_rep] + lengths)]
    diff = np.zeros(rows.size, dtype=bool)
    if same_len.all() and idx_a.size:
        mismatch = idx_a != idx_b
        np.logical_or.at(diff, seg, mismatch)
    else:
        diff = ~same_len
    if diff.any():  # split any collided rows into groups of their own
        extra = np.flatnonzero(diff)
        group[extra] = len(rep) + np.arange(extra.size)
        rep = np.concatenate((rep, extra))
    group_weight = np.bincount(group, weights=weights[rows], minlength=len(rep))
    return rows[rep], group, group_weight


def concat_ranges(starts: NDArray[np.int64], ends: NDArray[np.int64]) -> NDArray[np.int64]:
    """The concatenation of ``range(s, e)`` for every pair, without a Python loop.

    Examples
    --------
    >>> concat_ranges(np.array([0, 5]), np.array([2, 8])).tolist()
    [0, 1, 5, 6, 7]
    """
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(total, dtype=np.int64) + offsets


@dataclass(frozen=True, eq=False)
class Transport:
    """An optimal assignment of demand to open sites.

    Attributes
    ----------
    served
        Share of each demand point's weight served, in [0, 1].
    load
        Weight each site serves.
    rows, group, group_weight
        The demand points with weight and a site (``rows``), their group of
        points reached by the same sites (:func:`merge_rows`) and each group's weight.
    pair_group, pair_site, flow
        Every (group, site) pair and the share of the group's weight it carries.
    """

    served: NDArray[np.float64]
    load: NDArray[np.float64]
    rows: NDArray[np.int64]
    group: NDArray[np.int64]
    group_weight: NDArray[np.float64]
    pair_group: NDArray[np.int64]
    pair_site: NDArray[np.int64]
    flow: NDArray[np.float64]

    def weight(self, weights: NDArray[np.float64]) -> float:
        """Weight served in all."""
        return float(weights @ self.served)


def transport(a: sparse.csr_array, weights: NDArray[np.float64], capacity: NDArray[np.float64]) -> Transport:
    """Serve the most weight from the sites (columns of ``a``) under their capacities: a transport LP.

    Demand points that the same sites reach are merged first (their weights
    add up), so the LP has one row per group and per site.

    Parameters
    ----------
    a
        Demand points × open sites, 0/1 (CSR).
    weights
        Demand weight per point.
    capacity
        Weight each site can serve at most (``inf``: unlimited).

    Returns
    -------
    Transport

    Examples
    --------
    Site 0 reaches points 0 and 1, site 1 only point 0; each serves one unit. Serving
    the nearest first could give point 0 to site 0 and strand point 1; the LP serves both:

    >>> import numpy as np
    >>> from scipy import sparse
    >>> t = transport(sparse.csr_array(np.array([[1.0, 1], [1, 0]])), np.ones(2), np.ones(2))
    >>> t.served.tolist(), t.load.tolist()
    ([1.0, 1.0], [1.0, 1.0])
    """
    a = sparse.csr_array(a)
    n_demand, n_sites = a.shape
    served = np.zeros(n_demand)
    rows = np.flatnonzero((np.diff(a.indptr) > 0) & (weights > 0))
    reps, group, gw = merge_rows(a, weights, rows)
    ga = a[reps].tocoo()
    pair_group, pair_site = ga.row.astype(np.int64), ga.col.astype(np.int64)
    n_pairs, n_groups = pair_group.size, reps.size
    if n_pairs == 0:
        empty = np.zeros(0)
        return Transport(served, np.zeros(n_sites), rows, group, gw, pair_group, pair_site, empty)
    # Rows: one per group (sum of shares <= 1), one per site (served weight <= capacity).
    cons = sparse.csr_array(
        (np.concatenate((np.ones(n_pairs), gw[pair_group])),
         (np.concatenate((pair_group, n_groups + pair_site)), np.tile(np.arange(n_pairs), 2))),
        shape=(n_groups + n_sites, n_pairs),
    )
    row_upper = np.concatenate((np.ones(n_groups), capacity))
    ans = solve_milp(gw[pair_group], np.zeros(n_pairs), np.ones(n_pairs), np.zeros(n_pairs, dtype=bool), cons,
                     np.full(cons.shape[0], -np.inf), row_upper, maximise=True, time_limit=None, mip_gap=0.0)
    assert ans.x is not None  # an LP with x = 0 feasible always has an optimum
    f = np.clip(ans.x, 0.0, 1.0)
    share = np.minimum(np.bincount(pair_group, weights=f, minlength=n_groups), 1.0)
    served[rows] = share[group]
    load = np.bincount(pair_site, weights=f * gw[pair_group], minlength=n_sites).astype(np.float64)
    return Transport(served, load, rows, group, gw, pair_group, pair_site, f)


def reroutable(t: Transport, weights: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Demand points where an augmenting path of the assignment ``t`` starts or passes.

    A path starts at demand with unserved weight and alternates: to an open
    site that reaches it, then to demand that site serves, and so on. A new
    site that reaches one of these points can serve more (it takes over the
    last point of the path, each site on the way takes over the one before);
    a new site that reaches none cannot, as ``t`` is optimal.

    Examples
    --------
    One site of capacity 1 reaches points 0 and 1 and serves point 0; point 1
    is unserved. A new site reaching either point would serve one more unit:

    >>> import numpy as np
    >>> from scipy import sparse
    >>> t = transport(sparse.csr_array(np.array([[1.0], [1.0], [0.0]])), np.array([1.0, 1.0, 0.0]), np.ones(1))
    >>> reroutable(t, np.array([1.0, 1.0, 0.0])).tolist()
    [True, True, False]
    """
    out = (weights > 0) & (t.served < 1 - 1e-9)  # unserved demand starts a path (alone if no site reaches it)
    n_groups = t.group_weight.size
    if n_groups == 0:
        return out
    n_sites = t.load.size
    unserved = t.group_weight * (1.0 - np.bincount(t.pair_group, weights=t.flow, minlength=n_groups))
    starts = np.flatnonzero(unserved > _EPS * max(1.0, float(t.group_weight.max())))
    if starts.size == 0:
        return out
    # Nodes: groups, then sites, then a source joined to the groups with unserved weight.
    carries = t.flow * t.group_weight[t.pair_group] > _EPS * max(1.0, float(t.group_weight.max()))
    src = np.concatenate((t.pair_group, n_groups + t.pair_site[carries], np.full(starts.size, n_groups + n_sites)))
    dst = np.concatenate((n_groups + t.pair_site, t.pair_group[carries], starts))
    size = n_groups + n_sites + 1
    graph = sparse.csr_array((np.ones(src.size), (src, dst)), shape=(size, size))
    reached = csgraph.breadth_first_order(graph, n_groups + n_sites, directed=True, return_predecessors=False)
    hit = np.zeros(n_groups, dtype=bool)
    hit[reached[reached < n_groups]] = True
    out[t.rows[hit[t.group]]] = True
    return out


@dataclass(frozen=True, eq=False)
class Augmented:
    """What :func:`augment` chose and proved.

    Attributes
    ----------
    chosen
        The sites, those given first, then those added.
    transport
        The optimal assignment with them (candidate columns first, then the fixed ones).
    added
        How many sites were added.
    exhausted
        True when no further allowed site could serve anything more: what is
        unserved cannot be served by adding sites (proved by the assignment's optimality).
    """

    chosen: list[int]
    transport: Transport
    added: int
    exhausted: bool


@dataclass(frozen=True, eq=False)
class Sites:
    """The sites demand may be assigned to: candidates, and sites open anyway (existing facilities).

    Attributes
    ----------
    cand, cand_cap
        Demand × candidate sites (CSC, 0/1) and their capacities.
    fixed, fixed_cap
        Demand × sites open anyway, and their capacities; None for none.
    """

    cand: sparse.csc_array
    cand_cap: NDArray[np.float64]
    fixed: sparse.csc_array | None = None
    fixed_cap: NDArray[np.float64] | None = None

    def open(self, chosen: list[int]) -> tuple[sparse.csr_array, NDArray[np.float64]]:
        """Demand × (the ``chosen`` candidates, then the fixed sites), and their capacities."""
        cols = np.asarray(chosen, dtype=np.int64)
        mat = self.cand[:, cols]
        cap = self.cand_cap[cols]
        if self.fixed is not None and self.fixed.shape[1]:
            assert self.fixed_cap is not None
            mat = sparse.hstack((mat, self.fixed), format="csc")
            cap = np.concatenate((cap, self.fixed_cap))
        return sparse.csr_array(mat), cap


def augment(
    sites: Sites,
    weights: NDArray[np.float64],
    chosen: list[int],
    *,
    allowed: NDArray[np.bool_],
    conflicts: sparse.csr_array | None,
    k: int | None,
    need: float | None,
) -> Augmented:
    """Add candidate sites until ``need`` weight is served in all, ``k`` are chosen, or none can serve more.

    After each addition the demand is assigned afresh (:func:`transport`), so
    nothing is stranded. The next site is the one that serves the most
    unserved weight directly (at most its capacity); when none reaches any,
    the one that reaches the most weight on an augmenting path
    (:func:`reroutable`), which frees a full site for unserved demand.

    Parameters
    ----------
    sites
        The candidates and the sites open anyway.
    weights
        Demand weight per point.
    chosen
        The candidates chosen so far.
    allowed
        Candidates that may be chosen.
    conflicts
        Symmetric 0/1 matrix of candidates that must not both be chosen, or None.
    k, need
        Stop at ``k`` sites, or once ``need`` weight (existing facilities' included) is served. There is
        no time limit: stopping short of ``need`` while a site could still help would leave an answer
        that claims less than can be served.

    Returns
    -------
    Augmented

    Examples
    --------
    Open site 0 (capacity 1) reaches points 0 and 1; candidate 1 reaches only
    point 0, candidate 2 nothing. Candidate 1 serves nothing unserved
    directly, but it takes point 0 over and frees site 0 for point 1:

    >>> import numpy as np
    >>> from scipy import sparse
    >>> sites = Sites(sparse.csc_array(np.array([[1.0, 1, 0], [1, 0, 0]])), np.ones(3))
    >>> aug = augment(sites, np.ones(2), [0], allowed=np.ones(3, dtype=bool), conflicts=None, k=None, need=2.0)
    >>> aug.chosen, aug.transport.served.tolist(), aug.exhausted
    ([0, 1], [1.0, 1.0], False)
    """
    chosen = list(chosen)
    added = 0
    total = float(weights.sum())
    tol = _EPS * max(1.0, total)
    cand_cap = sites.cand_cap
    at = sparse.csr_array(sites.cand.T)
    while True:
        mat, cap = sites.open(chosen)
        t = transport(mat, weights, cap)
        served = t.weight(weights)
        if (need is not None and served >= need - tol) or (k is not None and len(chosen) >= k):
            return Augmented(chosen, t, added, exhausted=False)
        free = allowed.copy()
        free[np.asarray(chosen, dtype=np.int64)] = False
        if conflicts is not None and chosen:
            free[conflicts[np.asarray(chosen, dtype=np.int64)].indices] = False
        free &= cand_cap > tol
        residual = weights * (1.0 - t.served)
        gain = np.where(free, np.minimum(cand_cap, at @ residual), -np.inf)
        if not gain.size or gain.max() <= tol:
            path = reroutable(t, weights)
            gain = np.where(free, np.minimum(np.minimum(cand_cap, at @ (weights * path)), float(residual.sum())),
                            -np.inf)
            if not gain.size or gain.max() <= tol:
                return Augmented(chosen, t, added, exhausted=True)
        chosen.append(int(np.argmax(gain)))
        added += 1


def prune(
    sites: Sites,
    weights: NDArray[np.float64],
    chosen: list[int],
    *,
    need: float,
    deadline: float,
) -> list[int]:
    """Drop chosen sites while the rest still serve ``need`` weight, the least loaded first.

    Sites the assignment leaves idle go at once; each other site is tried in
    turn (one :func:`transport` each) until the ``deadline``.

    Examples
    --------
    Site 0 alone can serve both points (capacity 2); site 1 is not needed:

    >>> import numpy as np
    >>> from scipy import sparse
    >>> sites = Sites(sparse.csc_array(np.array([[1.0, 1], [1, 0]])), np.array([2.0, 1.0]))
    >>> prune(sites, np.ones(2), [1, 0], need=2.0, deadline=float("inf"))
    [0]
    """
    total = float(weights.sum())
    tol = _EPS * max(1.0, total)
    mat, cap = sites.open(chosen)
    t = transport(mat, weights, cap)
    load = t.load[: len(chosen)]
    used = load > tol
    keep = [j for j, u in zip(chosen, used, strict=True) if u]
    for j in np.asarray(chosen, dtype=np.int64)[used][np.argsort(load[used], kind="stable")].tolist():
        if time.perf_counter() > deadline or len(keep) <= 1:
            break
        trial = [s for s in keep if s != j]
        mat, cap = sites.open(trial)
        if transport(mat, weights, cap).weight(weights) >= need - tol:
            keep = trial
    kept = set(keep)
    return [j for j in chosen if j in kept]


def assign_exact(matrix: CoverageMatrix, weights: NDArray[np.float64], capacity: NDArray[np.float64],
                  sites: NDArray[np.int64] | None = None) -> tuple[NDArray[Any], NDArray[Any]]:
    """Serve the most weight from the given (open) sites under their capacities (:func:`transport`).

    Returns the share of each demand point served and the load of each open site.
    """
    sub = matrix if sites is None else matrix.subset(sites)
    cap = capacity if sites is None else capacity[sites]
    t = transport(sub.by_demand(), weights, cap)
    return t.served, t.load
