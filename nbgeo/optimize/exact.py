"""The exact models, solved by HiGHS through :func:`scipy.optimize.milp`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import sparse

from .assignment import merge_rows
from .highs import MilpAnswer, solve_milp
from .solution import EPS, Instance

if TYPE_CHECKING:
    from numpy.typing import NDArray


# --------------------------------------------------------------------------------------------------------------
# Exact models (HiGHS)
# --------------------------------------------------------------------------------------------------------------


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


def _with_conflicts(inst: Instance, cons: sparse.csr_array, row_lower: NDArray[np.float64],
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


def solve_exact(
    inst: Instance,
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
    full_cover = problem == "lscp" and need is not None and need >= float(gw.sum()) - EPS * max(1.0, need)
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
            last = (want - EPS * max(1.0, want), np.inf)  # a hair below: the target may be exactly the most
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
    inst: Instance,
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
        last_bounds = (want - EPS * max(1.0, want), np.inf)
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
