"""Siting answers are always valid and always say what they are (issue 19).

Each case is checked on small instances against brute force (every subset of
sites, with the best assignment under capacity computed independently, as a
maximum flow by networkx) or against HiGHS solved to optimality. A hypothesis
property runs the same checks on random instances with capacity, existing
facilities and spacing conflicts.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbgeo import optimize
from nbgeo.optimize import CoverageMatrix, assignment, exact, highs, spacing
from nbgeo.optimize.solution import _conflict_graph

SCALE = float(os.environ.get("NBGEO_HYPOTHESIS_SCALE", "1"))


# --- brute force ----------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """A small instance: ``a[i, j]`` when site ``j`` reaches demand point ``i``; ``ex`` the same for existing ones."""

    a: np.ndarray
    weights: np.ndarray
    capacity: np.ndarray | None = None
    ex: np.ndarray | None = None
    ex_capacity: np.ndarray | None = None
    conflicts: tuple[tuple[int, int], ...] = ()

    @property
    def n_sites(self) -> int:
        return self.a.shape[1]

    def matrix(self, a: np.ndarray | None = None) -> CoverageMatrix:
        a = self.a if a is None else a
        d, s = np.nonzero(a)
        return CoverageMatrix.from_pairs(d, s, np.zeros(d.size), n_demand=a.shape[0], n_sites=a.shape[1], radius=1)

    def kwargs(self) -> dict:
        out: dict = {"weights": self.weights, "conflicts": list(self.conflicts) or None}
        if self.capacity is not None:
            out["capacity"] = self.capacity
        if self.ex is not None:
            out["existing"] = self.matrix(self.ex)
            if self.capacity is not None:
                out["existing_capacity"] = self.ex_capacity
        return out

    def served(self, sites) -> float:
        """Weight served by the existing facilities and ``sites``: union without capacity, else a maximum flow."""
        sites = list(sites)
        w = self.weights
        if self.capacity is None:
            hit = self.a[:, sites].any(axis=1) if sites else np.zeros(len(w), dtype=bool)
            if self.ex is not None:
                hit |= self.ex.any(axis=1)
            return float(w[hit].sum())
        g = nx.DiGraph()
        for i, wi in enumerate(w):
            g.add_edge("s", ("d", i), capacity=float(wi))
            for j in sites:
                if self.a[i, j]:
                    g.add_edge(("d", i), ("c", j), capacity=float("inf"))
            for e in range(0 if self.ex is None else self.ex.shape[1]):
                if self.ex[i, e]:
                    g.add_edge(("d", i), ("e", e), capacity=float("inf"))
        for j in sites:
            g.add_edge(("c", j), "t", capacity=float(self.capacity[j]))
        for e in range(0 if self.ex is None else self.ex.shape[1]):
            g.add_edge(("e", e), "t", capacity=float(self.ex_capacity[e]))
        if "t" not in g:
            return 0.0
        return float(nx.maximum_flow_value(g, "s", "t"))

    def allowed(self, sites) -> bool:
        chosen = set(sites)
        return not any(a in chosen and b in chosen for a, b in self.conflicts)

    def subsets(self, max_size: int | None = None):
        top = self.n_sites if max_size is None else min(max_size, self.n_sites)
        for size in range(top + 1):
            for sites in itertools.combinations(range(self.n_sites), size):
                if self.allowed(sites):
                    yield sites

    def best_k(self, k: int) -> float:
        """The most weight ``k`` new sites can add (brute force)."""
        base = self.served(())
        return max(self.served(s) for s in self.subsets(k)) - base

    def fewest(self, target: float) -> tuple[int | None, float, int]:
        """Brute-force LSCP: (fewest sites serving ``target``, or None; the most weight servable; its fewest sites)."""
        by_size = [(len(s), self.served(s)) for s in self.subsets()]
        meeting = [n for n, v in by_size if v >= target - 1e-7]
        most = max(v for _, v in by_size)
        return (min(meeting) if meeting else None), most, min(n for n, v in by_size if v >= most - 1e-7)


def check_valid(case: Case, sol, *, k: int | None = None) -> None:
    """Every answer: distinct sites in range, no conflict, at most k, what it claims to serve, each site useful."""
    sites = sol.sites.tolist()
    assert len(set(sites)) == len(sites) and all(0 <= j < case.n_sites for j in sites)
    assert case.allowed(sites), f"chose conflicting sites {sites}"
    if k is not None:
        assert len(sites) <= k
    assert sol.weight_after == pytest.approx(case.served(sites), abs=1e-6)
    assert sol.weight_before == pytest.approx(case.served(()), abs=1e-6)
    assert (sol.gains > 0).all(), f"a chosen site adds nothing: gains {sol.gains.tolist()}"
    assert sol.status in ("optimal", "within_gap", "time_limit", "heuristic")
    assert sol.solver in ("highs", "lagrangian", "greedy", "greedy+swaps")


def check_lscp(case: Case, sol, share: float) -> None:
    """Set covering: ``met`` is the exact verdict, a shortfall is true and explained, status words hold."""
    check_valid(case, sol)
    total = float(case.weights.sum())
    wanted = share * total
    got = case.served(sol.sites.tolist())
    assert sol.met == (got >= wanted - 1e-7)
    reachable = case.served(range(case.n_sites))  # every site open, spacing aside
    target = min(wanted, reachable)
    fewest, most, fewest_for_most = case.fewest(target)
    feasible = fewest is not None
    if not sol.met:
        assert sol.note, "an unmet target without a reason"
    if sol.method == "milp" and sol.status == "optimal":
        if feasible:
            assert got >= target - 1e-7 and len(sol.sites) == fewest
        else:
            assert got == pytest.approx(most) and len(sol.sites) == fewest_for_most
            assert f"at most {100 * most / total:.1f}%" in sol.note and "proved by HiGHS" in sol.note
    if sol.method == "greedy":
        if not case.conflicts:
            # Without conflicts the heuristics always reach what can be reached (the assignment repairs capacity).
            assert got >= target - 1e-7
        elif got < target - 1e-7:
            if feasible:
                assert "not proven" in sol.note, sol.note
            if "(proved" in sol.note:
                assert not feasible
        if sol.status == "optimal":
            assert feasible and len(sol.sites) == fewest
    if sol.bound is not None and feasible and got >= target - 1e-7:
        assert sol.bound <= fewest + 1e-9


def check_mclp(case: Case, sol, k: int) -> None:
    """Maximal covering: never above the optimum, bound above it, 'optimal' only when it is."""
    check_valid(case, sol, k=k)
    best = case.best_k(k)
    assert sol.objective <= best + 1e-7
    if sol.bound is not None:
        assert sol.bound >= best - 1e-7
    if sol.status == "optimal":
        assert sol.objective == pytest.approx(best)
    if len(sol.sites) < k:
        # "only N sites serve more": no site the rules allow would add anything.
        assert "only" in sol.note
        chosen = sol.sites.tolist()
        now = case.served(chosen)
        for j in range(case.n_sites):
            if j not in chosen and case.allowed([*chosen, j]):
                assert case.served([*chosen, j]) <= now + 1e-7


# --- 1. a time-limited set covering MILP never returns an invalid answer ---------------------------------------------


def _uniform(seed: int, n_demand: int, n_sites: int, side: float = 20_000.0, radius: float = 1500.0):
    """Demand spread evenly (hard for the MILP), candidates uniform: as bench/bench_optimize.py's hard instances."""
    rng = np.random.default_rng(seed)
    return optimize.coverage_matrix(rng.uniform(0, side, (n_demand, 2)), rng.uniform(0, side, (n_sites, 2)), radius)


def _covers(m: CoverageMatrix, sites) -> bool:
    return bool((m.covered(sites) == m.covered()).all())


def test_time_limited_milp_returns_a_cover_from_the_best_heuristic():
    # 1,000 sites x 5,000 points: HiGHS finds nothing in 0.05 s (it returned 0 sites, status time_limit, before).
    m = _uniform(0, 5000, 1000)
    s = optimize.set_covering(m, method="milp", time_limit=0.05, time_budget=4.0)
    assert _covers(m, s.sites) and s.status == "time_limit"
    assert "HiGHS stopped at its time limit (0.05 s)" in s.note
    # What HiGHS has after 0.05 s depends on the machine: nothing (the heuristic's answer is returned), a larger
    # answer (the heuristic's smaller one replaces it), or, on a fast machine, one at least as small (kept).
    if s.solver == "lagrangian":
        assert ("the answer is the lagrangian heuristic's" in s.note
                or f"the lagrangian heuristic found {len(s.sites)}, which are returned" in s.note), s.note
        greedy = optimize.set_covering(m, improve=False)
        assert len(s.sites) < len(greedy.sites)  # the Lagrangian heuristic's answer, not the plain greedy's
    else:
        assert s.solver == "highs" and "its best answer is returned" in s.note, s.note
    assert s.bound is not None and s.bound <= len(s.sites)


def _fake_highs(x_for, status):
    """A stand-in for HiGHS that answers ``x_for(n_col)`` with ``status``."""

    def solve(cost, lower, upper, integer, a, row_lower, row_upper, **_):
        x = x_for(len(cost))
        return highs.MilpAnswer(x, None if x is None else float(cost @ x), None, status, 0.01, "fake")

    return solve


@pytest.mark.parametrize(("x_for", "status", "said", "mclp_said"), [
    (lambda n: None, "no_solution", "without an answer", "HiGHS found no valid answer"),
    # HiGHS's vector when it has no solution: not a cover; for MCLP valid, but worse than the greedy's
    (np.zeros, "time_limit", "is not a cover", "served less than the greedy heuristic's answer"),
])
def test_an_invalid_or_missing_milp_answer_is_set_aside(monkeypatch, x_for, status, said, mclp_said):
    cover = {0: [0, 1, 2], 1: [3, 4, 5], 2: [2, 3]}
    case = Case(np.array([[i in cover[j] for j in range(3)] for i in range(6)]), np.ones(6))
    monkeypatch.setattr(exact, "solve_milp", _fake_highs(x_for, status))
    s = optimize.set_covering(case.matrix(), method="milp", time_limit=1.0)
    check_lscp(case, s, 1.0)
    assert s.met and sorted(s.sites.tolist()) == [0, 1] and s.solver == "lagrangian"
    assert said in s.note and s.status == "optimal"  # the heuristic's own bound proves it
    m = optimize.maximal_covering(case.matrix(), 1, method="milp", time_limit=1.0)
    assert m.sites.tolist() == [0] and m.solver in ("greedy", "greedy+swaps") and mclp_said in m.note


# --- 2. capacity: no stranded demand ---------------------------------------------------------------------------------


def test_the_assignment_does_not_strand_demand():
    # Site 0 reaches points 0 (at 0 m) and 1; site 1 reaches only point 0. Each serves one unit. Serving the
    # nearest first gives point 0 to site 0 and strands point 1; the best assignment serves both.
    m = CoverageMatrix.from_pairs([0, 1, 0], [0, 0, 1], [0.0, 5.0, 1.0], n_demand=2, n_sites=2, radius=10)
    for method in ("greedy", "milp"):
        s = optimize.set_covering(m, capacity=1, method=method)
        assert s.met and sorted(s.sites.tolist()) == [0, 1] and s.share_after == 1.0
    t = assignment.transport(m.by_demand(), np.ones(2), np.ones(2))
    assert t.served.tolist() == [1.0, 1.0]


def test_augmenting_paths_find_a_site_that_serves_nothing_directly():
    # Open site 0 (capacity 1) reaches points 0 and 1 and serves one of them. Candidate 1 reaches only point 0:
    # if site 0 serves point 0, candidate 1 serves nothing directly, but it frees site 0 for point 1.
    a = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    from scipy import sparse

    cand = sparse.csc_array(a)
    t = assignment.transport(sparse.csr_array(a[:, [0]]), np.ones(2), np.ones(1))
    path = assignment.reroutable(t, np.ones(2))
    assert path.tolist() == [True, True]
    sites = assignment.Sites(cand, np.ones(3))
    aug = assignment.augment(sites, np.ones(2), [0], allowed=np.ones(3, dtype=bool), conflicts=None, k=None, need=2.0)
    assert aug.chosen == [0, 1] and aug.transport.weight(np.ones(2)) == 2.0
    # Candidate 2 reaches nothing: once the demand is served, or with no path, nothing more can be added.
    done = assignment.augment(sites, np.ones(2), [0, 1], allowed=np.ones(3, dtype=bool), conflicts=None, k=3, need=None)
    assert done.exhausted and done.chosen == [0, 1]


@pytest.mark.parametrize("seed", range(60))
def test_capacitated_set_cover_is_met_whenever_it_can_be(seed):
    rng = np.random.default_rng(seed)
    n_demand, n_sites = int(rng.integers(4, 9)), int(rng.integers(3, 7))
    a = rng.random((n_demand, n_sites)) < 0.4
    case = Case(a, rng.integers(1, 5, n_demand).astype(float), capacity=rng.integers(1, 7, n_sites).astype(float))
    for method in ("greedy", "milp"):
        s = optimize.set_covering(case.matrix(), method=method, **case.kwargs())
        check_lscp(case, s, 1.0)
        if not s.met:
            assert "capacity limits" in s.note or "out of reach" in s.note


def test_capacitated_greedy_met_against_highs_on_the_issues_instances():
    # The issue's 150 random instances: the greedy said "not met" on 17 that HiGHS could serve.
    wrong = 0
    for seed in range(150):
        rng = np.random.default_rng(seed)
        a = rng.random((10, 7)) < 0.35
        case = Case(a, rng.integers(1, 5, 10).astype(float), capacity=np.full(7, float(rng.integers(2, 8))))
        greedy = optimize.set_covering(case.matrix(), **case.kwargs())
        exact = optimize.set_covering(case.matrix(), method="milp", **case.kwargs())
        assert exact.status == "optimal"
        wrong += greedy.met != exact.met
    assert wrong == 0


# --- 3. spacing conflicts ----------------------------------------------------------------------------------------------


def test_the_greedy_finds_a_cover_that_the_textbook_greedy_misses():
    # Site 0 reaches the most (points 0-3) but conflicts with 3, the only site reaching point 5, and with 4.
    # The cover is {1, 2, 3}: sites 1 and 2 serve points 0-3, site 3 points 4-5.
    cover = {0: [0, 1, 2, 3], 1: [0, 1], 2: [2, 3], 3: [4, 5], 4: [3, 4]}
    a = np.array([[i in cover[j] for j in range(5)] for i in range(6)])
    case = Case(a, np.ones(6), conflicts=((0, 3), (0, 4)))
    s = optimize.set_covering(case.matrix(), **case.kwargs())
    check_lscp(case, s, 1.0)
    assert s.met and sorted(s.sites.tolist()) == [1, 2, 3]
    found = spacing.cover_with_conflicts(case.matrix().by_demand(), _conflict_graph(case.conflicts, 5),
                                          deadline=float("inf"))
    assert found.complete and not found.clash


@pytest.mark.parametrize("seed", range(200))
def test_conflicts_never_raise_and_the_greedy_says_what_it_proved(seed):
    # The issue's random instances: the MILP raised "Infeasible" on 41 of 600; the greedy missed covers on 6 of 120.
    rng = np.random.default_rng(seed)
    a = rng.random((10, 7)) < 0.35
    weights = rng.integers(1, 5, 10).astype(float)
    pairs = tuple(p for p in itertools.combinations(range(7), 2) if rng.random() < 0.25)
    case = Case(a, weights, conflicts=pairs)
    for method in ("greedy", "milp"):
        check_lscp(case, optimize.set_covering(case.matrix(), method=method, **case.kwargs()), 1.0)


def test_an_impossible_cover_gives_the_best_partial_answer_and_the_true_maximum():
    # Points 0-2 need site 0 or 1, point 3 only site 2, point 4 only site 3; sites 2 and 3 conflict, and so
    # do 0 and 2. Everything reachable is 100%, but no answer serves both points 3 and 4.
    cover = {0: [0, 1, 2], 1: [0, 1, 2], 2: [3], 3: [4]}
    a = np.array([[i in cover[j] for j in range(4)] for i in range(5)])
    case = Case(a, np.array([1.0, 1.0, 1.0, 5.0, 2.0]), conflicts=((2, 3), (0, 2)))
    exact = optimize.set_covering(case.matrix(), method="milp", **case.kwargs())
    check_lscp(case, exact, 1.0)
    assert not exact.met and exact.status == "optimal" and sorted(exact.sites.tolist()) == [1, 2]
    assert "at most 80.0% of the demand weight can be served with the spacing rules (proved by HiGHS)" in exact.note
    greedy = optimize.set_covering(case.matrix(), **case.kwargs())
    check_lscp(case, greedy, 1.0)
    assert not greedy.met and "(proved" in greedy.note  # points 3 and 4 each have one site, and they conflict
    # The stated maximum ignores no conflict: here nothing is out of reach, so no "most that can be served" at all
    assert "most that can be served" not in greedy.note


def test_the_greedys_stated_maximum_is_labelled_an_upper_bound():
    # One point out of reach of every site, and a conflict that makes the rest impossible to cover fully.
    cover = {0: [0], 1: [1]}
    a = np.array([[i in cover[j] for j in range(2)] for i in range(3)])
    case = Case(a, np.ones(3), conflicts=((0, 1),))
    greedy = optimize.set_covering(case.matrix(), **case.kwargs())
    check_lscp(case, greedy, 1.0)
    assert "at most 66.7% can be served (an upper bound: it ignores the spacing rules)" in greedy.note
    exact = optimize.set_covering(case.matrix(), method="milp", **case.kwargs())
    assert "at most 33.3% of the demand weight can be served with the spacing rules (proved by HiGHS)" in exact.note


def test_propagation_proves_what_it_claims():
    # Point 0 only site 0, point 1 only site 1; they conflict: no cover, and propagation proves it.
    a = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1]], dtype=float)
    conflicts = _conflict_graph([(0, 1)], 3)
    from scipy import sparse

    found = spacing.cover_with_conflicts(sparse.csr_array(a), conflicts, deadline=float("inf"))
    assert found.clash and not found.complete and found.proved.any()
    # Without the clash nothing is proved, and the cover is found.
    free = spacing.cover_with_conflicts(sparse.csr_array(a), _conflict_graph([(0, 2)], 3),
                                         deadline=float("inf"))
    assert free.complete and not free.proved.any() and sorted(free.chosen) == [0, 1]


# --- 4. mip_gap > 0 is "within gap", not "optimal" --------------------------------------------------------------------


def test_a_gap_limited_answer_says_within_gap():
    m = _uniform(0, 1500, 300, side=8000.0, radius=1000.0)
    s = optimize.set_covering(m, method="milp", mip_gap=0.1, time_limit=120)
    assert _covers(m, s.sites) and s.status == "within_gap" and s.solver == "highs"
    assert 0 < s.gap <= 0.1 and math_ceil(s.bound) < len(s.sites)
    # When the gap closes anyway, the answer is proved optimal and says so.
    easy = CoverageMatrix.from_pairs([0, 1, 2], [0, 0, 1], [0.0] * 3, n_demand=3, n_sites=2, radius=1)
    e = optimize.set_covering(easy, method="milp", mip_gap=0.5)
    assert e.status == "optimal" and e.gap == 0.0
    mc = optimize.maximal_covering(easy, 1, method="milp", mip_gap=0.5)
    assert mc.status == "optimal" and mc.bound == mc.objective == 2.0


def math_ceil(x: float) -> int:
    import math

    return math.ceil(x - 1e-6)


def test_solver_statuses_are_what_highs_reports():
    from scipy import sparse

    a = sparse.csr_array(np.array([[1.0, 1.0]]))
    ok = highs.solve_milp(np.ones(2), np.zeros(2), np.ones(2), np.ones(2, dtype=bool), a, np.ones(1),
                           np.full(1, np.inf), maximise=False, time_limit=None, mip_gap=0.0)
    assert ok.status == "optimal" and ok.objective == ok.bound == 1.0
    never = highs.solve_milp(np.ones(2), np.zeros(2), np.ones(2), np.ones(2, dtype=bool), a, np.full(1, 3.0),
                              np.full(1, np.inf), maximise=False, time_limit=None, mip_gap=0.0)
    assert never.status == "infeasible" and never.x is None and not never.has_solution
    # Maximising: the bound is an upper bound.
    up = highs.solve_milp(np.array([2.0, 3.0]), np.zeros(2), np.ones(2), np.ones(2, dtype=bool), a,
                           np.full(1, -np.inf), np.ones(1), maximise=True, time_limit=None, mip_gap=0.0)
    assert up.status == "optimal" and up.objective == up.bound == 3.0


# --- 5. no site that serves nothing --------------------------------------------------------------------------------


def test_a_site_that_adds_nothing_is_dropped(monkeypatch):
    # Sites 0 and 1 serve everything; site 2 only what site 0 does. With k = 3 an optimal MILP answer may
    # include site 2 (HiGHS did, on the sample): it is dropped, and the note says only 2 sites serve more.
    cover = {0: [0, 1], 1: [2], 2: [0]}
    case = Case(np.array([[i in cover[j] for j in range(3)] for i in range(3)]), np.ones(3))
    monkeypatch.setattr(exact, "solve_milp", _fake_highs(lambda n: np.r_[np.ones(3), np.ones(n - 3)], "optimal"))
    s = optimize.maximal_covering(case.matrix(), 3, method="milp")
    assert sorted(s.sites.tolist()) == [0, 1] and s.stats["sites_dropped"] == 1
    assert s.note.startswith("only 2 site(s) serve more demand") and (s.gains > 0).all()
    monkeypatch.undo()
    for method in ("greedy", "milp"):
        check_mclp(case, optimize.maximal_covering(case.matrix(), 3, method=method), 3)


# --- 6. zero-weight demand ------------------------------------------------------------------------------------------------


def test_zero_weight_points_need_no_site_and_the_answer_says_so():
    # Point 2 (weight 0) is reached only by site 1: no site is added for it.
    cover = {0: [0, 1], 1: [2]}
    case = Case(np.array([[i in cover[j] for j in range(2)] for i in range(3)]), np.array([1.0, 1.0, 0.0]))
    for method in ("greedy", "milp"):
        s = optimize.set_covering(case.matrix(), weights=case.weights, method=method)
        check_lscp(case, s, 1.0)
        assert s.sites.tolist() == [0] and s.met and s.share_after == 1.0
        assert "1 of the 1 reachable demand point(s) of weight 0 are left unserved" in s.note
        assert s.stats["zero_weight_points"] == 1
        mc = optimize.maximal_covering(case.matrix(), 2, weights=case.weights, method=method)
        assert mc.sites.tolist() == [0] and mc.met  # every point of weight > 0 served


def test_a_zero_weight_demand_site_reports_its_reach_not_a_share(sample):
    parks = sample["micro_parks"].copy()
    parks["jobs"] = 1.0
    parks.iloc[0, parks.columns.get_loc("jobs")] = 0.0
    from nbgeo.layers import Dataset

    ds = Dataset.from_gdfs({"micro_parks": parks, "chargers": sample["chargers"].iloc[:0],
                            "districts": sample["districts"]}, name="zero")
    r = optimize.site(ds, demand="micro_parks", facilities="chargers", distance=1000, cell=2000, weight="jobs",
                      method="milp")
    first = r.demand.loc[parks.index[0]]
    # Before the fix it read 1.0 (fully served) whatever its reach; now its reach, 0 or 1.
    assert first["served_before"] == 0.0 and first["served_after"] in (0.0, 1.0)


# --- 7. the greedy's bound is useful ----------------------------------------------------------------------------------


def _clustered(seed: int, n_demand: int = 5000, n_sites: int = 1000, side: float = 20_000.0, radius: float = 900.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, side, (max(8, n_demand // 400), 2))
    demand = centres[rng.integers(0, len(centres), n_demand)] + rng.normal(0, side / 40, (n_demand, 2))
    weights = rng.integers(1, 10, n_demand).astype(float)
    return optimize.coverage_matrix(np.clip(demand, 0, side), rng.uniform(0, side, (n_sites, 2)), radius), weights


@pytest.mark.parametrize("k", [10, 25, 50])
def test_the_greedy_bound_is_near_the_optimum(k):
    m, w = _clustered(0)
    g = optimize.maximal_covering(m, k, weights=w)
    exact = optimize.maximal_covering(m, k, weights=w, method="milp")
    assert exact.status == "optimal"
    assert g.bound >= exact.objective - 1e-6
    assert g.bound <= 1.01 * exact.objective  # within 1 % of the optimum
    # The online bound it replaces, f(S) + the k largest gains left, was far looser.
    residual = w * ~m.covered(g.sites)
    gains = np.sort(m.by_site() @ residual)[::-1]
    assert g.objective + gains[:k].sum() > g.bound
    if g.status == "optimal":
        assert g.objective == pytest.approx(exact.objective)


# --- the property: every answer feasible, met exact, status words true --------------------------------------------


@st.composite
def cases(draw):
    n_demand = draw(st.integers(1, 7))
    n_sites = draw(st.integers(1, 6))
    a = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n_sites, max_size=n_sites), min_size=n_demand,
                               max_size=n_demand)))
    weights = np.array(draw(st.lists(st.integers(0, 5), min_size=n_demand, max_size=n_demand)), dtype=float)
    capacity = None
    if draw(st.booleans()):
        capacity = np.array(draw(st.lists(st.integers(0, 8), min_size=n_sites, max_size=n_sites)), dtype=float)
    ex = ex_cap = None
    if draw(st.booleans()):
        n_ex = draw(st.integers(1, 2))
        ex = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n_ex, max_size=n_ex), min_size=n_demand,
                                    max_size=n_demand)))
        if capacity is not None:
            ex_cap = np.array(draw(st.lists(st.integers(0, 6), min_size=n_ex, max_size=n_ex)), dtype=float)
    pairs = list(itertools.combinations(range(n_sites), 2))
    conflicts = tuple(draw(st.lists(st.sampled_from(pairs), unique=True, max_size=4))) if pairs else ()
    return Case(a, weights, capacity, ex, ex_cap, conflicts)


@settings(max_examples=max(10, int(150 * SCALE)), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), share=st.sampled_from([1.0, 0.8, 0.5]), k=st.integers(0, 4),
       method=st.sampled_from(["greedy", "milp"]))
def test_every_answer_is_feasible_and_says_what_it_is(case, share, k, method):
    lscp = optimize.set_covering(case.matrix(), share=share, method=method, time_budget=2.0, **case.kwargs())
    check_lscp(case, lscp, share)
    mclp = optimize.maximal_covering(case.matrix(), k, method=method, **case.kwargs())
    check_mclp(case, mclp, k)
