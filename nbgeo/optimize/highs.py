"""The exact solver: HiGHS through :func:`scipy.optimize.milp`, its public wrapper.

One function, :func:`solve_milp`, states a model as ``row_lower <= a @ x <=
row_upper``, ``lower <= x <= upper``, some ``x`` whole, and says plainly what
HiGHS found:

- ``"optimal"``: a solution whose objective meets the best bound (HiGHS closed
  the gap, to its absolute tolerance of 1e-6);
- ``"within_gap"``: a solution within the relative gap ``mip_gap`` of the bound, not proved optimal;
- ``"time_limit"``: the best solution found when the time limit stopped the search;
- ``"no_solution"``: the time limit stopped the search before any solution was found;
- ``"infeasible"``: HiGHS proved that no solution exists.

A solution is returned only when HiGHS reports one (scipy passes HiGHS's
vector on only when its objective is finite), so ``x`` is None otherwise.

Why scipy and not ``highspy``: scipy's wrapper is public, silent (the
``highspy.Highs`` constructor prints a banner before any option can be set,
ERGO-Code/HiGHS#2749) and reports the time-limited incumbent, the dual bound
(``mip_dual_bound``) and the gap (``mip_gap``). What it does not report is
the dual bound of a search stopped before its first solution; callers then
rely on their own bound.

The exception is :func:`cover_by_highspy`, set covering at scale: scipy's
bundled HiGHS has no feasibility jump, whose cover is what a time-limited
search on 50,000 x 100,000 is worth (issue 18), and cannot start from a
given cover; the banner goes to the null device.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np
from scipy import optimize as sp_optimize
from scipy import sparse

from ..errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["MilpAnswer", "cover_by_highspy", "cover_model", "solve_milp"]

log = logging.getLogger(__name__)

# scipy.optimize.milp's status codes.
_OPTIMAL, _LIMIT, _INFEASIBLE, _UNBOUNDED = 0, 1, 2, 3


@dataclass(frozen=True, eq=False)
class MilpAnswer:
    """What HiGHS found.

    Attributes
    ----------
    x
        The solution (None unless HiGHS reports one).
    objective
        Its objective, ``cost @ x`` (None without a solution).
    bound
        The best bound on the optimum: an upper bound when maximising, a
        lower bound when minimising (None when HiGHS gives none).
    status
        ``"optimal"``, ``"within_gap"``, ``"time_limit"``, ``"no_solution"`` or ``"infeasible"``.
    runtime_s
        Wall time of the solve in seconds.
    message
        HiGHS's own words.
    """

    x: NDArray[np.float64] | None
    objective: float | None
    bound: float | None
    status: str
    runtime_s: float
    message: str = ""

    @property
    def has_solution(self) -> bool:
        """Whether a solution came back."""
        return self.x is not None


def solve_milp(
    cost: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    integer: NDArray[np.bool_],
    a: sparse.sparray,
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    *,
    maximise: bool,
    time_limit: float | None,
    mip_gap: float,
) -> MilpAnswer:
    """Optimise ``cost @ x`` over ``row_lower <= a @ x <= row_upper``, ``lower <= x <= upper``, ``x[integer]`` whole.

    Parameters
    ----------
    cost, lower, upper, integer
        One entry per variable; bounds may be infinite.
    a, row_lower, row_upper
        The constraint rows (sparse), with their bounds.
    maximise
        Maximise instead of minimise.
    time_limit
        Seconds HiGHS may take (None: no limit).
    mip_gap
        Relative gap at which HiGHS may stop (0: prove optimality).

    Returns
    -------
    MilpAnswer

    Examples
    --------
    The fewest of three sets covering {0, 1, 2}: {0, 1} and {2} (rows are elements, columns sets):

    >>> import numpy as np
    >>> from scipy import sparse
    >>> a = sparse.csr_array(np.array([[1.0, 0, 0], [1, 1, 0], [0, 0, 1]]))
    >>> ans = solve_milp(np.ones(3), np.zeros(3), np.ones(3), np.ones(3, dtype=bool), a, np.ones(3),
    ...                  np.full(3, np.inf), maximise=False, time_limit=None, mip_gap=0.0)
    >>> ans.status, ans.x.round().tolist(), ans.objective, ans.bound
    ('optimal', [1.0, 0.0, 1.0], 2.0, 2.0)

    A model with no solution says so instead of returning a vector:

    >>> bad = solve_milp(np.ones(1), np.zeros(1), np.ones(1), np.ones(1, dtype=bool), sparse.csr_array([[1.0]]),
    ...                  np.array([2.0]), np.array([np.inf]), maximise=False, time_limit=None, mip_gap=0.0)
    >>> bad.status, bad.x
    ('infeasible', None)
    """
    cost = np.asarray(cost, dtype=np.float64)
    n_col = cost.size
    integer = np.asarray(integer, dtype=bool)
    if n_col == 0 or a.shape[0] == 0:
        # Nothing to decide: every variable at its lower bound is optimal, as long as no cost pulls the other
        # way, which holds for nbgeo's models (minimise >= 0 costs, or nothing to maximise).
        x = np.asarray(lower, dtype=np.float64).copy()
        value = float(cost @ x) if n_col else 0.0
        return MilpAnswer(x, value, value, "optimal", 0.0, "empty model")
    options: dict[str, float | bool] = {"disp": False, "mip_rel_gap": float(mip_gap)}
    if time_limit is not None:
        options["time_limit"] = max(float(time_limit), 1e-3)
    constraint = sp_optimize.LinearConstraint(sparse.csr_array(a), row_lower, row_upper)
    sign = -1.0 if maximise else 1.0  # scipy minimises
    started = time.perf_counter()
    res = sp_optimize.milp(sign * cost, integrality=integer.astype(np.int8), bounds=sp_optimize.Bounds(lower, upper),
                           constraints=constraint, options=options)
    runtime = time.perf_counter() - started
    message = str(res.message)
    if res.status == _INFEASIBLE:
        return MilpAnswer(None, None, None, "infeasible", runtime, message)
    if res.status == _UNBOUNDED or res.status not in (_OPTIMAL, _LIMIT):
        msg = f"HiGHS ended with {message!r}"
        raise InputError(msg + " (hint: report this model to the nbgeo authors)", code="E-OPT-SOLVER")
    if res.x is None:
        return MilpAnswer(None, None, None, "no_solution", runtime, message)
    x = np.asarray(res.x, dtype=np.float64)
    value = float(cost @ x)  # the objective of the solution returned, not of anything else
    dual = getattr(res, "mip_dual_bound", None)
    if not integer.any():
        bound: float | None = value if res.status == _OPTIMAL else None  # an LP solved to optimality is its bound
    elif dual is None or not math.isfinite(float(dual)):
        bound = None
    else:
        bound = sign * float(dual)
    if res.status == _LIMIT:
        status = "time_limit"
    elif not integer.any() or mip_gap == 0 or (bound is not None and abs(bound - value) <= 1e-6):
        status = "optimal"  # HiGHS proved it (to its absolute gap tolerance)
    else:
        status = "within_gap"
    if status == "optimal" and integer.any():
        # Proved optimal: the optimum is the best bound (HiGHS's may lag it by its absolute tolerance).
        bound = value
    log.debug("HiGHS: %s, objective %s, bound %s, %.3f s", status, value, bound, runtime)
    return MilpAnswer(x, value, bound, status, runtime, message)


def _silent_highs() -> Any:
    """A ``highspy.Highs`` with its output off, its banner (printed by the C++ constructor) sent to the null device."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def cover_model(a: sparse.csr_array | sparse.csc_array, *, integer: bool = True) -> highspy.HighsLp:
    """The unit-cost set covering model of the 0/1 matrix ``a`` (rows to cover x columns) for ``highspy``.

    ``min sum x_j`` subject to ``a x >= 1`` and ``0 <= x <= 1``; the columns are integers unless
    ``integer`` is False (the LP relaxation).

    Examples
    --------
    >>> lp = cover_model(sparse.csr_array(np.array([[1.0, 0], [1, 1]])), integer=False)
    >>> lp.num_row_, lp.num_col_, list(lp.row_lower_), len(lp.integrality_)
    (2, 2, [1.0, 1.0], 0)
    """
    a = sparse.csr_array(a)
    n_rows, n_cols = a.shape
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.col_cost_ = np.ones(n_cols)
    lp.col_lower_, lp.col_upper_ = np.zeros(n_cols), np.ones(n_cols)
    lp.row_lower_, lp.row_upper_ = np.ones(n_rows), np.full(n_rows, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = np.ones(a.nnz)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols
    return lp


def cover_by_highspy(a: sparse.csr_array, start: NDArray[np.bool_] | None, *, time_limit: float,
                     node_limit: int | None = None) -> tuple[NDArray[np.bool_] | None, float | None, str]:
    """The fewest columns of the 0/1 matrix ``a`` covering every row, by HiGHS (``highspy``) for ``time_limit`` s.

    Unlike :func:`solve_milp`, this calls the ``highspy`` package, whose HiGHS
    (1.10 and later) runs the feasibility jump heuristic before the root LP,
    and it starts from the cover ``start`` when given. Presolve is off: the
    caller reduces the problem first. Returns HiGHS's best vector (as found,
    not checked: None without one), its bound on the optimum (None without
    one) and its status, ``"optimal"`` when proved. ``node_limit``: at most
    that many branch-and-bound nodes (a limit that, unlike time, does not
    depend on the machine).

    Examples
    --------
    >>> a = sparse.csr_array(np.array([[1.0, 0, 0], [1, 1, 0], [0, 0, 1]]))
    >>> x, bound, status = cover_by_highspy(a, None, time_limit=10.0)
    >>> x.tolist(), bound, status
    ([True, False, True], 2.0, 'optimal')
    """
    h = _silent_highs()
    h.setOptionValue("time_limit", max(float(time_limit), 1e-3))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("presolve", "off")
    if node_limit is not None:
        h.setOptionValue("mip_max_nodes", int(node_limit))
    h.passModel(cover_model(a))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start.astype(np.float64).tolist()
        h.setSolution(sol)
    started = time.perf_counter()
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    x = None
    if info.primal_solution_status == 2:  # kSolutionStatusFeasible
        x = np.asarray(h.getSolution().col_value, dtype=np.float64) > 0.5
    bound = float(info.mip_dual_bound) if math.isfinite(float(info.mip_dual_bound)) else None
    word = "optimal" if status == highspy.HighsModelStatus.kOptimal else "time_limit"
    log.debug("highspy set covering: %s, %s columns, bound %s, %.3f s", word, None if x is None else int(x.sum()),
              bound, time.perf_counter() - started)
    return x, bound, word
