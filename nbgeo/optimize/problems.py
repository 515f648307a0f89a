"""The two location problems: maximal covering (MCLP) and set covering (LSCP), capacity and spacing included."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy import sparse

from ..errors import InputError
from .assignment import Sites, assign_exact, augment, prune
from .exact import solve_exact
from .heuristics import drop_redundant, interchange, mclp_bound, run_greedy, shrink_cover
from .lagrangian import set_cover_lagrangian
from .matrix import CoverageMatrix
from .solution import AUTO_MILP_MAX_PAIRS, EPS, METHODS, Instance, Solution, prepare
from .spacing import cover_with_conflicts

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray


# --------------------------------------------------------------------------------------------------------------
# Public solvers
# --------------------------------------------------------------------------------------------------------------


def _served_weight(inst: Instance, sites: list[int]) -> float:
    """Weight served by existing facilities and ``sites`` together (with capacity, by the best assignment)."""
    if inst.capacitated:
        both, caps = inst.with_existing(np.asarray(sites, dtype=np.int64))
        return float(inst.weights @ assign_exact(both, inst.weights, caps)[0])
    return float(inst.weights @ np.maximum(inst.served_before, inst.matrix.covered(sites)))


def check_method(method: str) -> None:
    """Raise ``E-OPT-METHOD`` unless ``method`` is one of :data:`METHODS`."""
    if method not in METHODS:
        msg = f"method must be one of {', '.join(METHODS)}, got {method!r}"
        raise InputError(msg, code="E-OPT-METHOD")


def _use_milp(method: str, inst: Instance) -> bool:
    return method == "milp" or (method == "auto" and inst.matrix.nnz <= AUTO_MILP_MAX_PAIRS)


def _tol(inst: Instance) -> float:
    """Rounding allowance on sums of demand weight."""
    return EPS * max(1.0, float(inst.weights.sum()))


def _allowed_with(inst: Instance, chosen: list[int]) -> NDArray[np.bool_]:
    """Sites that may still join ``chosen``: not chosen, and in conflict with none of them."""
    free = np.ones(inst.matrix.n_sites, dtype=bool)
    idx = np.asarray(chosen, dtype=np.int64)
    free[idx] = False
    if inst.conflicts is not None and idx.size:
        free[inst.conflicts[idx].indices] = False
    return free


class Note(NamedTuple):
    """A note on an answer: its English (joined into :attr:`Solution.note`), and its ``note.*`` key and values.

    The key names entries of :mod:`nbgeo.renderers.labels` (clauses joined with ``+``) that word the note in
    zh or en from ``values`` (:attr:`Solution.note_parts`, :func:`nbgeo.renderers.readable.note_text`).
    """

    text: str
    key: str
    values: dict[str, Any]


#: The reader's key of what makes an answer invalid (the English of :func:`_invalid`), for a note's ``why``.
_WHY = (("names a site twice", "invalid_twice"), ("has ", "invalid_too_many"),
        ("chooses two sites", "invalid_conflict"), ("is not a cover", "invalid_not_cover"))


def _why_key(why: str) -> str:
    """``why`` (from :func:`_invalid`) as a ``value.*`` key; no answer at all is ``none_in_time``."""
    return next((key for start, key in _WHY if why.startswith(start)), "none_in_time") if why else "none_in_time"


def _limit(time_limit: float | None) -> tuple[str, dict[str, Any]]:
    """The time-limit clause of a note's key, and its values (none without a limit)."""
    return ("+optimize.limit", {"time_limit": time_limit, "time_limit_unit": "s"}) if time_limit is not None else ("", {})


def _invalid(inst: Instance, chosen: list[int], *, k: int | None, need: float | None) -> str:
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


def _sites(inst: Instance) -> Sites:
    """The candidates and the existing facilities, as 0/1 demand × site matrices with capacities (for :mod:`nbgeo.optimize.assignment`)."""
    assert inst.capacity is not None
    fixed = None
    if inst.existing is not None and inst.existing.n_sites:
        fixed = sparse.csc_array(inst.existing.by_site().T)
    return Sites(sparse.csc_array(inst.matrix.by_site().T), inst.capacity, fixed, inst.existing_capacity)


def _useful(inst: Instance, chosen: list[int]) -> list[int]:
    """``chosen`` without the sites that serve nothing the others do not (all such sites at once).

    Without capacity, the sites the greedy never takes when it may take only
    these; with capacity, the sites the best assignment leaves idle.
    """
    if not chosen:
        return chosen
    if not inst.capacitated:
        residual = inst.weights * (1.0 - inst.served_before)
        order, _, _ = run_greedy(inst, residual, k=None, need=None, allowed=np.asarray(chosen, dtype=np.int64))
        kept = set(order)
    else:
        both, caps = inst.with_existing(np.asarray(chosen, dtype=np.int64))
        load = assign_exact(both, inst.weights, caps)[1][: len(chosen)]
        kept = {j for j, used in zip(chosen, load > _tol(inst), strict=True) if used}
    return [j for j in chosen if j in kept]


def _top_up(inst: Instance, chosen: list[int], k: int, *, rounds: int = 5) -> tuple[list[int], int, int]:
    """Drop the sites of an MCLP answer that add nothing, then add sites while one serves more, up to ``k``.

    Without capacity, by the greedy; with capacity, by :func:`nbgeo.optimize.assignment.augment`
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
            more, _, _ = run_greedy(inst, residual, k=k - len(chosen), need=None,
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
    inst: Instance,
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
    notes: list[Note],
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
            order, gains, _ = run_greedy(inst, residual, k=None, need=None, allowed=sites)
        else:
            order = list(chosen)
        dropped = sites.size - len(order)
        sites, gain_arr = np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=np.float64)
    else:
        both, caps = inst.with_existing(sites)
        served, load = assign_exact(both, w, caps)
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
        if bound is not None and status != "optimal" and bound - objective <= EPS * max(1.0, bound):
            status = "optimal"  # the bound certifies the answer
        if k is not None and sites.size < k:
            rules = " that the spacing rules allow" if inst.conflicts is not None else ""
            notes = [Note(f"only {sites.size} site(s) serve more demand; no further site{rules} would serve "
                          "anything that is not already served", "optimize.only_sites",
                          {"sites": int(sites.size), "rules": "with_spacing_allowed" if rules else ""}), *notes]
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
                notes = [*notes, Note(f"{left} of the {int(zero.sum())} reachable demand point(s) of weight 0 are "
                                      "left unserved: they carry no demand, so no site is added for them",
                                      "optimize.zero_left", {"left": left, "total": int(zero.sum())})]
    return Solution(problem=problem, method=method, solver=solver, sites=sites, gains=gain_arr, weights=w,
                    served_before=inst.served_before, served=served, coverable=inst.coverable, objective=objective,
                    bound=bound, status=status, runtime_s=runtime, target=target, k=k,
                    note="; ".join(n.text for n in notes if n.text), stats=stats,
                    note_parts=tuple({"key": n.key, "values": n.values} for n in notes if n.text))


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
        (without capacity; see :func:`interchange`).
    max_swaps, swap_time
        Limits of that improvement: number of swaps and seconds (``swap_time``
        also bounds the search for the Lagrangian bound, :func:`mclp_bound`).
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
    check_method(method)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        msg = f"k must be a whole number of sites >= 0, got {k!r}"
        raise InputError(msg, code="E-OPT-K")
    k = int(k)
    inst = prepare(matrix, weights, existing, capacity, existing_capacity, conflicts)
    started = time.perf_counter()
    residual = inst.weights * (1.0 - inst.served_before)
    chosen, greedy_gains, _ = run_greedy(inst, residual, k=k, need=None)
    swaps = 0
    solver = "greedy"
    if improve and not inst.capacitated and chosen:
        chosen, swaps = interchange(inst, chosen, max_swaps=max_swaps, time_budget=swap_time)
        solver = "greedy+swaps" if swaps else solver
    # Swaps (or, with capacity, the greedy's rough assignment) may leave room for a site that serves more.
    added = dropped = 0
    if swaps or inst.capacitated:
        chosen, added, dropped = _top_up(inst, chosen, k)
    stats: dict[str, Any] = {"candidates": matrix.n_sites, "demand": matrix.n_demand, "pairs": matrix.nnz,
                             "swaps": swaps, "sites_topped_up": added, "sites_dropped": dropped}
    notes: list[Note] = []
    status = "heuristic"
    bound: float | None = None
    if _use_milp(method, inst):
        heuristic, heuristic_solver = chosen, solver
        ex = solve_exact(inst, problem="mclp", k=k, target=None, time_limit=time_limit, mip_gap=mip_gap)
        stats.update(ex.stats)
        bound, status, solver = ex.bound, ex.status, "highs"
        why = "" if ex.chosen is None else _invalid(inst, ex.chosen, k=k, need=None)
        if ex.chosen is None or why:
            notes.append(Note(f"HiGHS found no valid answer ({why or 'none in the time allowed'}); the answer is "
                              f"the {heuristic_solver} heuristic's", "optimize.highs_none+optimize.heuristic_answer",
                              {"why": _why_key(why), "heuristic": heuristic_solver}))
            chosen, solver, status = heuristic, heuristic_solver, "time_limit" if ex.chosen is None else "heuristic"
        elif ex.status != "optimal" and _served_weight(inst, ex.chosen) < _served_weight(inst, heuristic) - _tol(inst):
            notes.append(Note(f"HiGHS's best in the time allowed served less than the {heuristic_solver} "
                              "heuristic's answer, which is returned", "optimize.highs_worse",
                              {"heuristic": heuristic_solver}))
            chosen, solver = heuristic, heuristic_solver
        else:
            chosen, more_added, stats["sites_dropped"] = _top_up(inst, ex.chosen, k)
            stats["sites_topped_up"] = more_added
            if ex.status == "time_limit":
                clause, values = _limit(time_limit)
                notes.append(Note(f"HiGHS stopped at its time limit ({time_limit:g} s) before proving its best "
                                  "answer optimal; that answer is returned",
                                  f"optimize.stopped{clause}+optimize.unproven", values))
    if status != "optimal" and not inst.capacitated:
        # The Lagrangian bound: the greedy's only bound, and often tighter than HiGHS's when it stopped early.
        objective = _served_weight(inst, chosen) - float(inst.weights @ inst.served_before)
        bound_started = time.perf_counter()
        lagrangian = mclp_bound(inst, chosen, k, objective, deadline=bound_started + swap_time)
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

#: The note of a heuristic that did not reach the target under spacing conflicts.
_SHORT = Note("with the spacing rules the heuristic did not reach the target; " + _NOT_PROVEN,
              "optimize.spacing_short+optimize.not_proven", {})


@dataclass(eq=False)
class _Heuristic:
    """A set covering heuristic's answer."""

    chosen: list[int]
    lower: float | None  # a lower bound on the sites needed, if known
    solver: str
    notes: list[Note] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def _lscp_heuristic(inst: Instance, *, target: float, full: bool, improve: bool, time_budget: float) -> _Heuristic:
    """The best heuristic answer to serve ``target`` weight in all (existing facilities' included).

    Without capacity and conflicts, the whole demand: the Lagrangian heuristic
    (or, without ``improve``, the greedy). With conflicts: the greedy with
    look-ahead and repair (:func:`nbgeo.optimize.spacing.cover_with_conflicts`), then
    shrunk. With capacity: the greedy, then sites added while the best
    assignment falls short (:func:`nbgeo.optimize.assignment.augment`), then pruned. A
    share of the demand: the greedy.
    """
    deadline = time.perf_counter() + time_budget
    w = inst.weights
    residual = w * (1.0 - inst.served_before)
    before = float(w @ inst.served_before)
    tol = _tol(inst)
    if inst.capacitated:
        chosen, _, _ = run_greedy(inst, residual, k=None, need=target - before)
        sites = _sites(inst)
        aug = augment(sites, w, chosen, allowed=np.ones(inst.matrix.n_sites, dtype=bool), conflicts=inst.conflicts,
                      k=None, need=target)
        out = _Heuristic(aug.chosen, None, "greedy", stats={"sites_added_by_assignment": aug.added})
        if aug.transport.weight(w) >= target - tol:
            out.chosen = prune(sites, w, aug.chosen, need=target, deadline=deadline)
        elif inst.conflicts is not None:
            out.notes.append(_SHORT)
        return out
    need_mask = (residual > 0) & inst.coverable
    if full and inst.conflicts is None:
        if improve:
            chosen, lower, stats = set_cover_lagrangian(inst, need_mask, time_budget=time_budget)
            return _Heuristic(chosen, lower, "lagrangian", stats=stats)
        chosen, gains, _ = run_greedy(inst, need_mask.astype(np.float64), k=None, need=None)
        return _Heuristic(drop_redundant(inst, chosen, gains, need_mask)[0], None, "greedy")
    if full:
        assert inst.conflicts is not None
        rows = np.flatnonzero(need_mask)
        found = cover_with_conflicts(inst.matrix.by_demand()[rows], inst.conflicts, deadline=deadline)
        reached = np.zeros(inst.matrix.n_demand, dtype=bool)
        reached[rows[~found.uncovered]] = True
        chosen, _ = drop_redundant(inst, found.chosen, [0.0] * len(found.chosen), reached)
        out = _Heuristic(chosen, None, "greedy", stats={"sites_saved": 0})
        if improve and len(chosen) > 1:
            out.chosen, out.stats["sites_saved"] = shrink_cover(inst, chosen, reached,
                                                                 time_budget=max(0.0, deadline - time.perf_counter()))
        if not found.complete:
            left = int(found.uncovered.sum())
            if found.clash or found.proved.any():
                out.notes.append(Note(f"the spacing rules make a full cover impossible (proved: some demand points "
                                      f"can each be served by one site only, and those sites conflict or are "
                                      f"blocked); {left} demand point(s) are left unserved",
                                      "optimize.spacing_impossible", {"left": left}))
            else:
                out.notes.append(Note(f"with the spacing rules the heuristic left {left} demand point(s) unserved; "
                                      + _NOT_PROVEN, "optimize.spacing_left+optimize.not_proven", {"left": left}))
        return out
    chosen, _, _ = run_greedy(inst, residual, k=None, need=target - before)
    out = _Heuristic(chosen, None, "greedy")
    if _served_weight(inst, chosen) < target - tol:
        out.notes.append(_SHORT)
    return out


def _lscp_partial(inst: Instance, *, time_limit: float | None, mip_gap: float, stats: dict[str, Any]
                  ) -> tuple[list[int], float | None, str, list[Note]] | None:
    """When no answer meets the target: the most weight that can be served, with the fewest sites (two MILPs).

    Returns the sites, a lower bound on the sites for that weight, the status
    and the notes; None if the exact solver found nothing in the time allowed.
    """
    total = float(inst.weights.sum())
    first = solve_exact(inst, problem="mclp", k=None, target=None, time_limit=time_limit, mip_gap=mip_gap)
    if first.chosen is None or _invalid(inst, first.chosen, k=None, need=None):
        return None
    most = _served_weight(inst, first.chosen)
    second = solve_exact(inst, problem="lscp", k=None, target=most, time_limit=time_limit, mip_gap=mip_gap)
    stats.update({"max_weight_model": first.stats, **second.stats})
    fewest = second.chosen is not None and not _invalid(inst, second.chosen, k=None, need=most)
    chosen = second.chosen if fewest and second.chosen is not None else first.chosen
    rules = " with the spacing rules" if inst.conflicts is not None else ""
    values: dict[str, Any] = {"most": 100 * most / total, "most_unit": "%", "rules": "with_spacing" if rules else ""}
    if first.status == "optimal":
        what = f"at most {100 * most / total:.1f}% of the demand weight can be served{rules} (proved by HiGHS)"
        key = "optimize.cannot_meet+optimize.at_most_proved"
    else:
        upper = total if first.bound is None else min(total, float(inst.weights @ inst.served_before) + first.bound)
        what = (f"HiGHS found an answer serving {100 * most / total:.1f}% of the demand weight{rules}; at most "
                f"{100 * upper / total:.1f}% can be (its bound)")
        key = "optimize.cannot_meet+optimize.at_most_found"
        values.update(upper=100 * upper / total, upper_unit="%")
    surely = fewest and second.status == "optimal"
    fewest_note = ("these sites serve that with the fewest sites" if surely else
                   "these sites serve that, perhaps not with the fewest")
    key += "+optimize.fewest" if surely else "+optimize.fewest_maybe"
    statuses = {first.status, second.status if fewest else "time_limit"}
    status = "time_limit" if "time_limit" in statuses else "within_gap" if "within_gap" in statuses else "optimal"
    return (chosen, second.bound if fewest else None, status,
            [Note(f"the target cannot be met: {what}; {fewest_note}", key, values)])


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
        (:func:`_lagrangian_cover`); on large problems (over 600,000 pairs
        after the reductions), HiGHS's feasibility jump, then one
        neighbourhood of the cover at a time re-solved by HiGHS
        (:func:`nbgeo.optimize.neighbourhoods.improve_cover`), where a larger
        budget buys a smaller cover (2,623 sites in 50 s, 2,492 in 300 s on
        50,000 sites x 100,000 points). It also gives a lower bound on the number of
        sites (:attr:`Solution.bound`, :attr:`Solution.gap`); when its answer
        meets the bound, the status is ``"optimal"``. The answer is the same on
        every machine unless the time budget cuts the search short (the
        reductions that come first, dropping dominated sites and implied
        demand points, always run). With
        conflicts (sites that must not both be chosen), which the relaxation
        does not model, a greedy with look-ahead and repair builds the cover
        (:func:`nbgeo.optimize.spacing.cover_with_conflicts`), which then tries to
        serve everyone with one site fewer, again and again: a maximal
        covering with one site fewer, improved by swaps (:func:`shrink_cover`).
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
    check_method(method)
    if not (isinstance(share, (int, float)) and 0 < share <= 1):
        msg = f"share must be in (0, 1], got {share!r}"
        raise InputError(msg, code="E-OPT-SHARE")
    inst = prepare(matrix, weights, existing, capacity, existing_capacity, conflicts)
    w = inst.weights
    total = float(w.sum())
    started = time.perf_counter()
    tol = _tol(inst)
    # The most that can be served, every allowed site open (spacing conflicts aside).
    if inst.capacitated:
        both, caps = inst.with_existing()
        reachable = float(w @ assign_exact(both, w, caps)[0])
    else:
        reachable = float(w @ np.maximum(inst.served_before, inst.coverable))
    wanted = share * total
    target = min(wanted, reachable)
    notes: list[Note] = []
    if wanted > reachable + tol:
        lost = ~inst.coverable & (w > 0)
        most = (f"{100 * reachable / total:.1f}% is the most that can be served" if inst.conflicts is None else
                f"at most {100 * reachable / total:.1f}% can be served (an upper bound: it ignores the spacing rules)")
        most_key = "+optimize.most_reachable" if inst.conflicts is None else "+optimize.most_bound"
        values = {"lost": int(lost.sum()), "weight": float(w[lost].sum()), "reach": 100 * reachable / total,
                  "reach_unit": "%"}
        notes.append(Note(f"{int(lost.sum())} demand point(s) (weight {float(w[lost].sum()):.6g}) lie out of reach "
                          f"of every site: {most}", "optimize.out_of_reach" + most_key, values))
        if inst.capacitated and not lost.any():
            notes[-1] = Note(f"capacity limits what can be served: {most}", "optimize.capacity" + most_key, values)
    full = not inst.capacitated and target >= reachable - tol
    stats: dict[str, Any] = {"candidates": matrix.n_sites, "demand": matrix.n_demand, "pairs": matrix.nnz,
                             "sites_saved": 0}
    bound: float | None = None
    heuristic: _Heuristic | None = None
    partial_goal: float | None = None
    if _use_milp(method, inst):
        ex = solve_exact(inst, problem="lscp", k=None, target=target, time_limit=time_limit, mip_gap=mip_gap)
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
            notes.append(Note(f"HiGHS's answer {why} and was set aside", "optimize.set_aside", {"why": _why_key(why)}))
            chosen = None
        if chosen is None or (status == "time_limit" and partial is None):
            # The exact solver stopped early: the best heuristic answer may be better, and its bound tighter.
            heuristic = _lscp_heuristic(inst, target=target, full=full, improve=improve, time_budget=time_budget)
            stats.update(heuristic.stats)
            h_met = _served_weight(inst, heuristic.chosen) >= target - tol
            if heuristic.lower is not None and partial is None:
                bound = heuristic.lower if bound is None else max(bound, heuristic.lower)
            limit = "" if time_limit is None else f" ({time_limit:g} s)"
            clause, limit_values = _limit(time_limit)
            said = {**limit_values, "heuristic": heuristic.solver}
            if chosen is None:
                if ex.status == "infeasible":
                    found = (f"HiGHS proved that no answer meets the target but found none serving the most in the "
                             f"time allowed{limit}")
                    key = f"optimize.infeasible_none{clause}"
                else:
                    found = f"HiGHS stopped at its time limit{limit} " + ("with an invalid answer" if why else
                                                                           "without an answer")
                    key = f"optimize.stopped{clause}+optimize.{'invalid_answer' if why else 'no_answer'}"
                notes.append(Note(f"{found}; the answer is the {heuristic.solver} heuristic's",
                                  key + "+optimize.heuristic_answer", said))
                chosen, solver, status = heuristic.chosen, heuristic.solver, "time_limit"
                notes.extend(heuristic.notes)
            elif h_met and partial is None and len(heuristic.chosen) < len(chosen):
                notes.append(Note(f"HiGHS stopped at its time limit{limit} with {len(chosen)} sites; the "
                                  f"{heuristic.solver} heuristic found {len(heuristic.chosen)}, which are returned",
                                  f"optimize.stopped{clause}+optimize.stopped_more",
                                  {**said, "sites": len(chosen), "found": len(heuristic.chosen)}))
                chosen, solver = heuristic.chosen, heuristic.solver
            else:
                notes.append(Note(f"HiGHS stopped at its time limit{limit}; its best answer is returned",
                                  f"optimize.stopped{clause}+optimize.stopped_best", said))
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
