"""Set covering when some pairs of sites must not both be chosen (a spacing rule between new sites).

With such *conflicts* a cover may not exist at all, and the textbook greedy
may miss one that does: a site it takes early can block the only sites that
reach some other point. :func:`cover_with_conflicts` avoids that in three
steps, and says which of its conclusions are proved:

1. **Propagation.** A point that only one available site reaches forces that
   site; the sites it conflicts with are no longer available, which may force
   others, and so on. Starting from no site, every forced site is in every
   cover: a point left with no available site, or two forced sites in
   conflict, *proves* that no cover exists.
2. **Greedy with look-ahead.** The site reaching the most uncovered points
   is taken, unless taking it would leave some uncovered point with no
   available site (every site reaching it conflicts with this one): then the
   next best is tried. Propagation runs again after each site.
3. **Repair.** For a point still uncovered, a site that reaches it is forced
   in, the chosen sites it conflicts with are dropped, and the greedy covers
   again what they left; the change is kept if fewer points stay uncovered.

Whatever is still uncovered afterwards is reported as not covered, and as
*proved* uncoverable only when step 1 proved it.

Works on plain sparse 0/1 matrices, so it imports nothing from nbgeo's optimiser.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["SpacingCover", "cover_with_conflicts", "propagate"]

#: How many of the best sites the look-ahead examines before taking the least harmful.
LOOK_AHEAD = 20


@dataclass(frozen=True, eq=False)
class SpacingCover:
    """The sites chosen under conflicts, and what they leave uncovered.

    Attributes
    ----------
    chosen
        The sites, in the order taken.
    uncovered
        Points none of them covers.
    proved
        Points proved uncoverable (no cover that respects the conflicts reaches
        them all); ``uncovered`` minus these may be coverable.
    clash
        True when two sites that some points each need alone conflict: no cover exists.
    """

    chosen: list[int]
    uncovered: NDArray[np.bool_]
    proved: NDArray[np.bool_]
    clash: bool

    @property
    def complete(self) -> bool:
        """Whether every point is covered."""
        return not bool(self.uncovered.any())


@dataclass(eq=False)
class _State:
    """The chosen sites and what follows from them."""

    a: sparse.csr_array  # points x sites
    at: sparse.csr_array  # sites x points
    conflicts: sparse.csr_array
    chosen: NDArray[np.bool_]
    order: list[int]

    def covered(self) -> NDArray[np.bool_]:
        return (self.a @ self.chosen.astype(np.float64)) > 0

    def available(self) -> NDArray[np.bool_]:
        blocked = (self.conflicts @ self.chosen.astype(np.float64)) > 0
        return ~self.chosen & ~blocked

    def take(self, sites: NDArray[np.int64]) -> None:
        for j in sites.tolist():
            if not self.chosen[j]:
                self.chosen[j] = True
                self.order.append(j)


def propagate(state: _State) -> tuple[NDArray[np.bool_], bool]:
    """Take every site that some uncovered point can no longer do without; return the dead points and any clash.

    Dead points are uncovered points that no available site reaches. A clash is
    two such forced sites that conflict (the one covering more is taken, the other's point stays dead).
    """
    clash = False
    while True:
        covered = state.covered()
        avail = state.available()
        count = state.a @ avail.astype(np.float64)
        single = np.flatnonzero(~covered & (count == 1))
        if single.size == 0:
            return ~covered & (count == 0), clash
        rows = state.a[single]
        forced = np.unique(rows.indices[avail[rows.indices]])
        # Forced sites that conflict with each other: keep those that cover the most uncovered points first.
        gain = state.at[forced] @ (~covered).astype(np.float64)
        forced = forced[np.lexsort((forced, -gain))]
        inner = state.conflicts[forced][:, forced]
        if inner.nnz:
            clash = True
            keep = np.ones(forced.size, dtype=bool)
            for i in range(forced.size):
                if keep[i]:
                    keep[inner.indices[inner.indptr[i]:inner.indptr[i + 1]]] = False
                    keep[i] = True
            forced = forced[keep]
        state.take(forced)


def _stranded(state: _State, j: int, uncovered: NDArray[np.bool_], avail: NDArray[np.bool_],
              count: NDArray[np.float64]) -> int:
    """How many uncovered points taking site ``j`` would leave with no available site."""
    blocked = state.conflicts.indices[state.conflicts.indptr[j]:state.conflicts.indptr[j + 1]]
    blocked = blocked[avail[blocked]]
    if blocked.size == 0:
        return 0
    # The points the blocked sites reach, and how many of their available sites are blocked.
    points, lost = np.unique(state.at[blocked].indices, return_counts=True)
    mine = state.at.indices[state.at.indptr[j]:state.at.indptr[j + 1]]
    return int((uncovered[points] & (lost >= count[points]) & ~np.isin(points, mine)).sum())


def _greedy(state: _State) -> None:
    """Cover what is uncovered: the site of largest gain that strands nothing, then propagate; in place."""
    while True:
        propagate(state)
        uncovered = ~state.covered()
        avail = state.available()
        count = state.a @ avail.astype(np.float64)
        open_points = uncovered & (count > 0)
        if not open_points.any():
            return
        gain = np.where(avail, state.at @ open_points.astype(np.float64), -1.0)
        best = np.argsort(-gain, kind="stable")[:LOOK_AHEAD]
        best = best[gain[best] > 0]
        harm = [(_stranded(state, int(j), open_points, avail, count), -gain[j], int(j)) for j in best]
        state.take(np.array([min(harm)[2]], dtype=np.int64))


def cover_with_conflicts(a: sparse.csr_array, conflicts: sparse.csr_array, *, deadline: float) -> SpacingCover:
    """Cover every row of ``a`` (points × sites, 0/1) with sites no two of which conflict, if the heuristic can.

    Parameters
    ----------
    a
        The points that need a site × the sites (CSR). Every point should have a site.
    conflicts
        Symmetric sites × sites 0/1 matrix: pairs that must not both be chosen.
    deadline
        ``time.perf_counter()`` time after which the repair stops.

    Returns
    -------
    SpacingCover

    Examples
    --------
    Site 0 reaches points 0 and 1, site 1 point 1, site 2 point 2; sites 0 and 2
    conflict. The textbook greedy takes site 0 first and cannot reach point 2;
    the look-ahead sees that and takes sites 1 and 2... but then point 0 has
    only site 0, which conflicts with 2: propagation proves that no cover exists.

    >>> import numpy as np
    >>> from scipy import sparse
    >>> a = sparse.csr_array(np.array([[1.0, 0, 0], [1, 1, 0], [0, 0, 1]]))
    >>> c = sparse.csr_array(np.array([[0.0, 0, 1], [0, 0, 0], [1, 0, 0]]))
    >>> r = cover_with_conflicts(a, c, deadline=float("inf"))
    >>> r.complete, r.clash, r.chosen
    (False, True, [0])

    Without the conflict there is a cover, sites 0 and 2:

    >>> cover_with_conflicts(a, sparse.csr_array((3, 3)), deadline=float("inf")).chosen
    [0, 2]
    """
    a = sparse.csr_array(a, dtype=np.float64)
    at = sparse.csr_array(a.T)
    conflicts = sparse.csr_array(conflicts, dtype=np.float64)
    n = a.shape[1]
    state = _State(a, at, conflicts, np.zeros(n, dtype=bool), [])
    # Propagation from nothing: what it forces is in every cover, so what it leaves dead is proved uncoverable.
    dead, clash = propagate(state)
    proved = dead.copy()
    _greedy(state)
    best = _State(a, at, conflicts, state.chosen.copy(), list(state.order))
    best_left = int((~best.covered()).sum())
    # Repair: force a site onto an uncovered point, drop what it conflicts with, cover again.
    tried: set[int] = set()
    while best_left > int(proved.sum()) and time.perf_counter() < deadline:
        left = np.flatnonzero(~best.covered() & ~proved)
        options = [(int(j), int(p)) for p in left.tolist() for j in a.indices[a.indptr[p]:a.indptr[p + 1]].tolist()
                   if int(j) not in tried]
        if not options:
            break
        improved = False
        for j, _ in options:
            if time.perf_counter() > deadline:
                break
            tried.add(j)
            keep = best.chosen & ~(conflicts[[j]].toarray().ravel() > 0)
            trial = _State(a, at, conflicts, keep, [s for s in best.order if keep[s]])
            trial.take(np.array([j], dtype=np.int64))
            _greedy(trial)
            trial_left = int((~trial.covered()).sum())
            if trial_left < best_left:
                best, best_left, improved = trial, trial_left, True
                tried.clear()
                break
        if not improved:
            break
    uncovered = ~best.covered()
    return SpacingCover(chosen=list(best.order), uncovered=uncovered, proved=proved & uncovered, clash=clash)
