"""The greedy with exact gains, its swap improvement, and the Lagrangian bound of maximal covering."""

from __future__ import annotations

import dataclasses
import math
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .assignment import concat_ranges
from .solution import EPS, Instance

if TYPE_CHECKING:
    from numpy.typing import NDArray


# --------------------------------------------------------------------------------------------------------------
# Greedy with lazy evaluation
# --------------------------------------------------------------------------------------------------------------


def run_greedy(
    inst: Instance,
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
    tol = EPS * max(1.0, float(residual.max(initial=0.0)))
    chosen: list[int] = []
    gains: list[float] = []
    served_total = 0.0
    while (k is None or len(chosen) < k) and (need is None or served_total < need - EPS * max(1.0, need)):
        gain = reach if cap is None else np.minimum(reach, cap)
        j = int(np.argmax(gain)) if n else -1
        if j < 0 or gain[j] <= tol:
            break
        # Ties (sites reaching the same unserved demand) go to the lowest index, as in the textbook greedy,
        # whatever rounding the running subtractions left.
        j = int(np.flatnonzero(gain >= gain[j] - EPS * max(1.0, float(gain[j])))[0])
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


def interchange(inst: Instance, chosen: list[int], *, max_swaps: int, time_budget: float) -> tuple[list[int], int]:
    """Improve an MCLP answer by swapping one chosen site for one other site while that serves more.

    Every possible swap is valued at once. With ``c_i`` the number of chosen
    sites covering demand point ``i``, ``gain_c`` the unserved weight site
    ``c`` reaches, ``loss_s`` the weight only site ``s`` serves and
    ``B[s, c]`` the weight only ``s`` serves that ``c`` also reaches, swapping
    ``s`` for ``c`` adds ``gain_c - loss_s + B[s, c]``. ``B`` is sparse, so the
    best swap is the larger of ``max gain - min loss`` and the best over the
    non-zeros of ``B``. Returns the sites and the number of swaps made.
    """
    mat = inst.matrix
    n = mat.n_sites
    if not chosen or len(chosen) >= n:
        return chosen, 0
    w = inst.weights * (1.0 - inst.served_before)
    at = mat.by_site()
    a = mat.by_demand()
    tol = EPS * max(1.0, float(w.sum()))
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


def shrink_cover(inst: Instance, chosen: list[int], need: NDArray[np.bool_], *, time_budget: float
                  ) -> tuple[list[int], int]:
    """Cover the same demand with fewer sites: drop the site that alone serves least, then swap until covered.

    Each round is a maximal covering with one site fewer (unit weight per demand point
    still needing service), improved by :func:`interchange`; it ends when a round cannot
    cover everything again. Returns the sites and the number of sites saved.
    """
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
        trial, _ = interchange(unit, trial, max_swaps=10 * len(trial) + 10,
                                time_budget=max(0.0, deadline - time.perf_counter()))
        mask[:] = 0.0
        mask[trial] = 1.0
        if bool(((a @ mask)[need] > 0).all()):
            current, saved = trial, saved + 1
        else:
            break
    return current, saved


def mclp_bound(inst: Instance, chosen: list[int], k: int, objective: float, *, steps: int | None = None,
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
    tol = EPS * max(1.0, float(r.sum()))
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


def drop_redundant(inst: Instance, chosen: list[int], gains: list[float], need_mask: NDArray[np.bool_]
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
