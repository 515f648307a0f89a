"""Set covering by a Lagrangian heuristic (Beasley 1990; Caprara, Fischetti and Toth 1999)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, sparse

from .assignment import concat_ranges, merge_rows
from .highs import cover_by_highspy
from .neighbourhoods import improve_cover
from .solution import Instance

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from numpy.typing import NDArray


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


#: The LP relaxation by interior point (HiGHS) is tried up to this many matrix entries: its time grows faster
#: than the size (measured, issue 18: 22,000 entries 0.1 s of CPU, 445,000 entries 17 s, and 1.5 M entries not
#: solved in the minute the whole search may take; dual simplex took longer still at 445,000).
_LP_MAX_PAIRS = 600_000


def _lp_relaxation(cov: _Cover, *, time_limit: float) -> tuple[float, NDArray[np.float64]] | None:
    """The LP relaxation solved by HiGHS: its optimum and its duals, or None if not solved in ``time_limit`` s.

    For set covering, the best bound any Lagrangian multipliers give equals
    the LP optimum, and the LP's optimal duals are such multipliers (Beasley
    1990): the bound the subgradient method approaches, slowly on large
    instances (issue 18), reached here at once. Interior point: these LPs are
    highly fractional (on 20,000 x 40,000 half the columns), where it beats
    dual simplex by far. Not tried above :data:`_LP_MAX_PAIRS` entries.
    """
    if time_limit < 0.5 or cov.a.nnz > _LP_MAX_PAIRS:
        return None
    res = optimize.linprog(np.ones(cov.n), A_ub=-cov.a, b_ub=-np.ones(cov.m), bounds=(0, None),
                           method="highs-ipm", options={"time_limit": float(time_limit)})
    if res.status != 0 or res.ineqlin is None:
        log.info("set covering: the LP relaxation was not solved (%s)", res.message)
        return None
    return float(res.fun), np.maximum(-np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0)


def _highs_cover(cov: _Cover, start: NDArray[np.bool_] | None, *, time_limit: float
                 ) -> tuple[NDArray[np.bool_] | None, float, bool]:
    """HiGHS's branch and bound on the set covering model for ``time_limit`` s: its cover, bound and proof.

    On large instances its value is its primal heuristics: on 50,000 x
    100,000 (issue 18) its feasibility jump finds, before the root LP is
    solved, a cover about 7 % smaller than the Lagrangian heuristic's (2,640
    sites against 2,828), in 12 s of CPU. Its bound is ``-inf`` until the
    root LP is solved. It starts from the cover ``start``. The cover (None if
    none was found or it is not one) comes back without its redundant columns.
    """
    if time_limit < 0.5:
        return None, -math.inf, False
    x, bound, status = cover_by_highspy(cov.a, start, time_limit=time_limit)
    lower = -math.inf if bound is None else bound
    if x is None or not (cov.count(x) >= 1).all():  # never trust a vector without checking it
        return None, lower, False
    return _cover_prune(cov, x, np.zeros(cov.n)), lower, status == "optimal"


def _lagrangian_cover(cov: _Cover, start: NDArray[np.bool_], *, deadline: float, polish: int = 100,
                      fix_polish: int = 20, fix_share: float = 0.2, patience: int = 3, every: int = 5,
                      root_share: float = 1 / 3, offset: int = 0, lp_share: float = 1 / 3,
                      milp_share: float = 1 / 2,
                      ) -> tuple[NDArray[np.bool_], float, dict[str, Any]]:
    """A small cover of ``cov``, improving on the cover ``start``, and a lower bound on the smallest.

    First the LP relaxation by interior point (HiGHS, ``lp_share`` of the
    time; its optimum bounds the smallest cover) up to :data:`_LP_MAX_PAIRS`
    matrix entries; above that, where the Lagrangian heuristic's covers fall
    short (about 10 % above HiGHS's on 50,000 x 100,000, issue 18), HiGHS's
    branch and bound for ``milp_share`` of the time, whose primal heuristics
    (feasibility jump, before its root LP) give the cover to improve on
    (:func:`_highs_cover`); there, after step 1 (for the bound), the rest
    of the time goes to re-solving one neighbourhood of the cover at a time
    (:func:`nbgeo.optimize.neighbourhoods.improve_cover`) instead of steps 2
    and 3. Otherwise the Lagrangian heuristic (Beasley 1990; Caprara,
    Fischetti and Toth 1999):

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
    # The LP relaxation (HiGHS) may take lp_share of the time: the best bound any multipliers give. Its duals do
    # not start the subgradient: measured on 5,000 x 10,000 they led to larger covers (115 against 113).
    lp = _lp_relaxation(cov, time_limit=lp_share * (deadline - started))
    lp_value = -math.inf if lp is None else lp[0]
    # Where the LP is out of reach, HiGHS's branch and bound may take milp_share of the time left, for its primal
    # heuristics. Below that size it is left out: stopped by the clock, it would make the answer depend on the
    # machine's speed, and there the Lagrangian heuristic reaches the best covers HiGHS finds (issue 18).
    now = time.perf_counter()
    found, milp_bound, milp_proved = _highs_cover(cov, start, time_limit=milp_share * (deadline - now)
                                                  if cov.a.nnz > _LP_MAX_PAIRS else 0.0)
    milp_sites = None if found is None else int(found.sum())
    if found is not None and int(found.sum()) < int(start.sum()):
        start = found
    if found is not None and milp_proved:
        stats0: dict[str, Any] = {"lagrangian_bound": None, "root_sites": int(found.sum()), "refinements": 0,
                                  "steps": 0, "covers": 0, "lp_bound": None if lp is None else round(lp_value, 4),
                                  "milp_sites": milp_sites, "milp_bound": round(float(found.sum()), 4)}
        log.info("set covering: HiGHS proved %d sites the fewest", offset + int(found.sum()))
        return found, float(found.sum()), stats0
    # The bound may take a third of the time left: the covers improve most once columns are fixed.
    now = time.perf_counter()
    root = _subgradient(cov, u0, int(start.sum()), step=2.0, polish=polish, every=every,
                        deadline=now + root_share * (deadline - now))
    best = root
    if best.cover is None:
        best.cover = start
    bound = max(root.bound, lp_value, milp_bound)
    if math.ceil(bound - 1e-6) >= best.size:
        root.proven = True
    stats: dict[str, Any] = {"lagrangian_bound": round(root.bound, 4), "root_sites": best.size, "refinements": 0,
                             "steps": root.steps, "covers": root.covers,
                             "lp_bound": None if lp is None else round(lp_value, 4), "milp_sites": milp_sites,
                             "milp_bound": None if not math.isfinite(milp_bound) else round(milp_bound, 4)}
    log.info("set covering: Lagrangian bound %.2f, %d sites after %.2f s", offset + bound, offset + best.size,
             time.perf_counter() - started)
    if root.proven:
        return best.cover, bound, stats
    if cov.a.nnz > _LP_MAX_PAIRS:
        # At this size column fixing finds nothing better than HiGHS's cover in the time left; re-solving one
        # neighbourhood at a time does (issue 18, 50,000 x 100,000: 2,623 sites against 2,645 in a 50 s budget, 2,492 in 300 s).
        x, more = improve_cover(cov.a, best.cover, deadline=deadline)
        stats.update({"neighbourhoods": more["neighbourhoods"], "neighbourhood_saved": more["saved"]})
        log.info("set covering: %d sites after %d neighbourhoods", offset + int(x.sum()), more["neighbourhoods"])
        return x, bound, stats
    # Drop the columns no better cover can hold; if a row loses all of its columns, none exists.
    reduced = _lagrangian_bound(cov, root.u)[1]
    # A cover holding column j has at least L(u) + c_j(u) columns: the bound and reduced costs of the same u.
    useful = np.flatnonzero(root.bound + reduced <= best.size - 1 + 1e-6)
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


def set_cover_lagrangian(inst: Instance, need: NDArray[np.bool_], *, time_budget: float
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
    for key in ("lagrangian_bound", "lp_bound", "milp_bound", "milp_sites"):  # on the whole problem
        if more.get(key) is not None:
            more[key] = round(float(forced.size) + more[key], 4) if key != "milp_sites" else forced.size + more[key]
    stats.update(more)
    chosen = np.sort(np.concatenate((forced, cols[np.flatnonzero(x)])))
    stats["sites_saved"] = stats["greedy_sites"] - int(chosen.size)
    # The number of sites is whole: the bound rounds up (less a hair for rounding in the sums).
    lower = min(float(forced.size + math.ceil(bound - 1e-6)), float(chosen.size))
    return chosen.tolist(), lower, stats
