"""Set covering at scale: a cover improved one neighbourhood at a time (large neighbourhood search with HiGHS).

On 50,000 candidate sites x 100,000 demand points (issue 18) the Lagrangian
heuristic and HiGHS's feasibility jump both stop near 2,640 sites, while
covers of 2,492 exist (found by this search given five minutes): a whole-problem
method spreads its effort over 50,000 columns, and HiGHS's branch and bound
cannot even solve the root LP there. A few hundred neighbouring columns with
the rest of the cover fixed is a problem HiGHS solves exactly in a fraction of
a second, and its answer can only replace the cover's own columns there when
it is smaller: the cover shrinks monotonically and stays a cover (Shaw 1998's
large neighbourhood search; the neighbourhoods here come from the matrix, not
from coordinates, so road-distance matrices work alike).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from .assignment import concat_ranges
from .highs import cover_by_highspy

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["NEIGHBOURHOOD_NODES", "NEIGHBOURHOOD_SIZE", "improve_cover"]

log = logging.getLogger(__name__)

#: Columns per neighbourhood: measured on 50,000 x 100,000 (issue 18), 300 to 600 columns (one site's
#: neighbours and theirs) gave the most sites saved per CPU second; HiGHS solves most of them at the root.
NEIGHBOURHOOD_SIZE = 400

#: HiGHS's branch-and-bound node limit per neighbourhood: a count, not seconds, so that the answer does not
#: depend on the machine's speed (only the deadline can cut the search short).
NEIGHBOURHOOD_NODES = 200


def _ranges(ptr: NDArray[Any], idx: NDArray[Any], of: NDArray[np.int64]) -> NDArray[np.int64]:
    """The entries of rows ``of`` of the CSR structure ``(ptr, idx)``, concatenated."""
    return idx[concat_ranges(ptr[of].astype(np.int64), ptr[of + 1].astype(np.int64))].astype(np.int64)


def neighbourhood(a: sparse.csr_array, at: sparse.csr_array, seed: int, size: int) -> NDArray[np.int64]:
    """The ``size`` columns nearest column ``seed``: those sharing the most rows with its neighbours' rows.

    Near means sharing rows: first the columns that share a row with ``seed``
    (its neighbours), ranked by how many of ``seed``'s rows they share; if they
    are fewer than ``size``, the columns sharing rows with any of them, ranked
    by how many of those rows they share. ``seed`` is always in.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> a = sparse.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=float))
    >>> neighbourhood(a, a.T.tocsr(), 0, 2).tolist(), neighbourhood(a, a.T.tocsr(), 0, 3).tolist()
    ([0, 1], [0, 1, 2])
    """
    n = a.shape[1]
    rows = np.unique(_ranges(at.indptr, at.indices, np.array([seed], dtype=np.int64)))
    for _ in range(2):
        near = np.bincount(_ranges(a.indptr, a.indices, rows), minlength=n)
        near[seed] = np.iinfo(near.dtype).max  # the seed first, always
        found = np.flatnonzero(near)
        if found.size >= size or _ == 1:
            break
        rows = np.unique(_ranges(at.indptr, at.indices, found))
    if found.size <= size:
        return found
    order = np.lexsort((found, -near[found]))  # the most shared rows first, ties to the lowest index
    return np.sort(found[order[:size]])


def improve_cover(a: sparse.csr_array, x: NDArray[np.bool_], *, deadline: float, size: int = NEIGHBOURHOOD_SIZE,
                  nodes: int = NEIGHBOURHOOD_NODES, seed: int = 0) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """A cover of the 0/1 matrix ``a`` (rows x columns) no larger than the cover ``x``, improved until ``deadline``.

    Each step takes a column of the cover (in a random order fixed by
    ``seed``), its :func:`neighbourhood` of ``size`` columns, and the rows that
    only the cover's columns in it reach; HiGHS solves that covering problem
    on the neighbourhood's columns (``nodes`` branch-and-bound nodes at most,
    started from the cover's own columns there), and a smaller answer takes
    their place. A pass takes every column of the cover that no improved
    neighbourhood has touched; the search stops after a pass that saved
    nothing, or at the ``deadline`` (``time.perf_counter()``).

    Returns the cover and counters: neighbourhoods solved, columns saved, passes.

    Examples
    --------
    >>> import numpy as np, time
    >>> from scipy import sparse
    >>> a = sparse.csr_array(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float))
    >>> x, stats = improve_cover(a, np.array([True, True, True]), deadline=time.perf_counter() + 10)
    >>> int(x.sum()), stats["saved"]
    (2, 1)
    """
    a = sparse.csr_array(a)
    at = sparse.csr_array(a.T.tocsr())
    x = np.asarray(x, dtype=bool).copy()
    count = np.bincount(_ranges(at.indptr, at.indices, np.flatnonzero(x)), minlength=a.shape[0])
    if not (count > 0).all():
        raise ValueError("improve_cover needs a cover to start from")
    rng = np.random.default_rng(seed)
    stats: dict[str, Any] = {"neighbourhoods": 0, "saved": 0, "passes": 0}
    while time.perf_counter() < deadline:
        stats["passes"] += 1
        saved = stats["saved"]
        touched = np.zeros(a.shape[1], dtype=bool)
        for s in rng.permutation(np.flatnonzero(x)):
            if time.perf_counter() >= deadline:
                break
            if touched[s] or not x[s]:
                continue
            cols = neighbourhood(a, at, int(s), size)
            mine = cols[x[cols]]
            hit = _ranges(at.indptr, at.indices, mine)
            rows, times = np.unique(hit, return_counts=True)
            alone = rows[count[rows] == times]  # reached by no cover column outside the neighbourhood
            sub = sparse.csr_array(a[alone][:, cols])
            left = max(deadline - time.perf_counter(), 0.0)
            got, _, _ = cover_by_highspy(sub, x[cols], time_limit=left, node_limit=nodes)
            stats["neighbourhoods"] += 1
            if got is None or int(got.sum()) >= mine.size or not (sub @ got.astype(np.float64) >= 1).all():
                continue
            np.subtract.at(count, hit, 1)
            np.add.at(count, _ranges(at.indptr, at.indices, cols[got]), 1)
            x[cols] = got
            touched[cols] = True
            stats["saved"] += int(mine.size - got.sum())
        log.debug("set covering: neighbourhood pass %d, %d columns, %d saved so far", stats["passes"], int(x.sum()),
                  stats["saved"])
        if stats["saved"] == saved:
            break
    return x, stats
