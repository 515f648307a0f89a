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

from .assignment import concat_ranges

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["SpacingCover", "cover_with_conflicts", "propagate"]

#: How many of the best sites the look-ahead examines before taking the least harmful.
LOOK_AHEAD = 20

_GONE = -(1 << 40)  # the gain of a site that can no longer be chosen


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


class _State:
    """The chosen sites and what follows from them, kept up to date one site at a time.

    ``count[i]``: available sites reaching point ``i``; ``gain[j]``: uncovered points site ``j`` reaches
    (a large negative number once ``j`` is no longer available).
    Taking a site updates both over the columns it and the sites it blocks reach, nothing more.
    """

    def __init__(self, a: sparse.csr_array, at: sparse.csr_array, conflicts: sparse.csr_array) -> None:
        self.a, self.at, self.conflicts = a, at, conflicts
        m, n = a.shape
        self.chosen = np.zeros(n, dtype=bool)
        self.order: list[int] = []
        self.covered = np.zeros(m, dtype=bool)
        self.avail = np.ones(n, dtype=bool)
        self.count = np.diff(a.indptr).astype(np.int64)
        self.gain = np.diff(at.indptr).astype(np.int64)
        self.dirty: list[NDArray[np.int64]] = [np.arange(m, dtype=np.int64)]  # points propagation must look at

    def copy_with(self, sites: list[int]) -> _State:
        """A fresh state with ``sites`` taken, in that order."""
        out = _State(self.a, self.at, self.conflicts)
        for j in sites:
            out.take(j)
        return out

    def _points(self, sites: NDArray[np.int64]) -> NDArray[np.int64]:
        ptr = self.at.indptr.astype(np.int64)
        return self.at.indices[concat_ranges(ptr[sites], ptr[sites + 1])].astype(np.int64)

    def _block(self, sites: NDArray[np.int64]) -> None:
        sites = sites[self.avail[sites]]
        if sites.size == 0:
            return
        self.avail[sites] = False
        self.gain[sites] = _GONE  # never the largest gain again
        points, lost = np.unique(self._points(sites), return_counts=True)
        self.count[points] -= lost
        self.dirty.append(points)

    def take(self, j: int) -> None:
        """Choose site ``j`` (available or not: the caller checks): cover its points, block its conflicts."""
        if self.chosen[j]:
            return
        self.chosen[j] = True
        self.order.append(j)
        self._block(np.array([j], dtype=np.int64))
        self._block(self.conflicts.indices[self.conflicts.indptr[j]:self.conflicts.indptr[j + 1]].astype(np.int64))
        new = self.at.indices[self.at.indptr[j]:self.at.indptr[j + 1]]
        new = new[~self.covered[new]].astype(np.int64)
        self.covered[new] = True
        # Every site reaching a newly covered point gains one point less.
        ptr = self.a.indptr.astype(np.int64)
        sites, lost = np.unique(self.a.indices[concat_ranges(ptr[new], ptr[new + 1])], return_counts=True)
        self.gain[sites] -= lost


def propagate(state: _State) -> tuple[NDArray[np.bool_], bool]:
    """Take every site that some uncovered point can no longer do without; return the dead points and any clash.

    Dead points are uncovered points that no available site reaches. A clash is
    two such forced sites that conflict (the one covering more is taken, the other's point stays dead).
    """
    clash = False
    while state.dirty:
        points = np.unique(np.concatenate(state.dirty))
        state.dirty.clear()
        single = points[~state.covered[points] & (state.count[points] == 1)]
        if single.size == 0:
            continue
        # Each such point's one site; when forced sites conflict, those covering the most go first.
        rows = state.a[single]
        ok = state.avail[rows.indices]
        site_of = np.zeros(single.size, dtype=np.int64)
        site_of[np.repeat(np.arange(single.size), np.diff(rows.indptr))[ok]] = rows.indices[ok]
        for p, j in zip(*(x[np.lexsort((site_of, -state.gain[site_of]))].tolist() for x in (single, site_of)),
                        strict=True):
            if state.covered[p]:
                continue  # a site taken just before covers it
            if state.avail[j]:
                state.take(j)
            else:
                clash = True  # blocked by a forced site taken just before: this point can no longer be covered
    return ~state.covered & (state.count == 0), clash


def _stranded(state: _State, j: int) -> int:
    """How many uncovered points taking site ``j`` would leave with no available site."""
    blocked = state.conflicts.indices[state.conflicts.indptr[j]:state.conflicts.indptr[j + 1]].astype(np.int64)
    blocked = blocked[state.avail[blocked]]
    if blocked.size == 0:
        return 0
    # The points the blocked sites reach, and how many of their available sites are blocked.
    points, lost = np.unique(state._points(blocked), return_counts=True)
    mine = state.at.indices[state.at.indptr[j]:state.at.indptr[j + 1]]
    return int((~state.covered[points] & (lost >= state.count[points]) & ~np.isin(points, mine)).sum())


def _greedy(state: _State) -> None:
    """Cover what is uncovered: the site of largest gain that strands nothing, then propagate; in place."""
    while True:
        propagate(state)
        gain = state.gain  # unavailable sites hold _GONE
        if not gain.size or gain.max() <= 0:
            return
        top = min(LOOK_AHEAD, gain.size)
        best = np.argpartition(-gain, top - 1)[:top]
        best = best[gain[best] > 0]
        best = best[np.lexsort((best, -gain[best]))]  # largest gain first, ties to the lowest index
        # The first that strands nothing; if each strands some, the one that strands fewest.
        harm: list[tuple[int, int, int]] = []
        for j in best.tolist():
            harm.append((_stranded(state, j), -int(gain[j]), j))
            if harm[-1][0] == 0:
                break
        state.take(min(harm)[2])


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
    a.sort_indices()
    at = sparse.csr_array(a.T)
    at.sort_indices()
    conflicts = sparse.csr_array(conflicts, dtype=np.float64)
    state = _State(a, at, conflicts)
    # Propagation from nothing: what it forces is in every cover, so what it leaves dead is proved uncoverable.
    dead, clash = propagate(state)
    proved = dead.copy()
    _greedy(state)
    best = state
    best_left = int((~best.covered).sum())
    # Repair: force a site onto an uncovered point, drop what it conflicts with, cover again.
    tried: set[int] = set()
    while best_left > int(proved.sum()) and time.perf_counter() < deadline:
        left = np.flatnonzero(~best.covered & ~proved)
        options = [int(j) for p in left.tolist() for j in a.indices[a.indptr[p]:a.indptr[p + 1]].tolist()
                   if int(j) not in tried]
        improved = False
        for j in options:
            if time.perf_counter() > deadline:
                break
            tried.add(j)
            clashing = set(conflicts.indices[conflicts.indptr[j]:conflicts.indptr[j + 1]].tolist())
            trial = state.copy_with([s for s in best.order if s not in clashing])
            trial.take(j)
            _greedy(trial)
            trial_left = int((~trial.covered).sum())
            if trial_left < best_left:
                best, best_left, improved = trial, trial_left, True
                tried.clear()
                break
        if not improved:
            break
    uncovered = ~best.covered
    return SpacingCover(chosen=list(best.order), uncovered=uncovered, proved=proved & uncovered, clash=clash)
