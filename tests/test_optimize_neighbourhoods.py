"""Set covering by neighbourhoods (nbgeo.optimize.neighbourhoods): always a cover, never larger, exact where it can be.

Instances as the benchmark's (bench/bench_optimize.py): demand in clusters, sites uniform; HiGHS's proved
optimum is the reference where it is reached.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import sparse

from nbgeo import optimize
from nbgeo.optimize import lagrangian
from nbgeo.optimize.neighbourhoods import improve_cover, neighbourhood


def _instance(seed: int, n_demand: int = 3000, n_sites: int = 900, side: float = 18_000.0, radius: float = 900.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, side, (max(8, n_demand // 400), 2))
    demand = centres[rng.integers(0, len(centres), n_demand)] + rng.normal(0, side / 25, (n_demand, 2))
    m = optimize.coverage_matrix(np.clip(demand, 0, side), rng.uniform(0, side, (n_sites, 2)), radius)
    a = m.by_demand()
    return m, sparse.csr_array(a[np.diff(a.indptr) > 0])


def _is_cover(a: sparse.csr_array, x: np.ndarray) -> bool:
    return bool((a @ x.astype(np.float64) >= 1).all())


def _every_other(a: sparse.csr_array) -> np.ndarray:
    """A poor cover: every column that covers some row."""
    return np.bincount(a.indices, minlength=a.shape[1]) > 0


def test_a_line_of_columns_has_its_nearest_columns_as_neighbourhood():
    """Column j covers rows j and j + 1: the columns nearest the middle one are its neighbours on the line."""
    n = 21
    a = sparse.csr_array((np.ones(2 * n), (np.r_[np.arange(n), np.arange(n) + 1], np.r_[np.arange(n), np.arange(n)])),
                         shape=(n + 1, n))
    at = a.T.tocsr()
    assert neighbourhood(a, at, 10, 3).tolist() == [9, 10, 11]
    assert neighbourhood(a, at, 10, 5).tolist() == [8, 9, 10, 11, 12]
    assert neighbourhood(a, at, 0, 2).tolist() == [0, 1]  # the end of the line
    assert neighbourhood(a, at, 10, 100).tolist() == [8, 9, 10, 11, 12]  # two steps at most


@pytest.mark.parametrize("seed", range(3))
def test_improving_a_poor_cover_gives_a_smaller_cover(seed):
    _, a = _instance(seed)
    start = _every_other(a)
    x, stats = improve_cover(a, start, deadline=time.perf_counter() + 60, size=150)
    assert _is_cover(a, x)
    assert int(x.sum()) == int(start.sum()) - stats["saved"] < int(start.sum())
    assert stats["neighbourhoods"] > 0 and stats["passes"] >= 1


@pytest.mark.parametrize("seed", range(2))
def test_one_neighbourhood_holding_every_column_solves_the_problem_exactly(seed):
    """With a neighbourhood as large as the problem, a step is HiGHS on the whole problem: the optimum."""
    m, a = _instance(seed, n_demand=800, n_sites=200, side=8_000.0)
    exact = optimize.set_covering(m, method="milp")
    assert exact.status == "optimal"
    x, _ = improve_cover(a, _every_other(a), deadline=time.perf_counter() + 60, size=a.shape[1], nodes=100_000)
    assert _is_cover(a, x) and int(x.sum()) == len(exact.sites)


def test_the_search_is_the_same_on_every_run():
    """Neighbourhoods are limited by nodes, not seconds: two runs give the same cover."""
    _, a = _instance(5)
    start = _every_other(a)
    first, stats = improve_cover(a, start, deadline=time.perf_counter() + 60, size=120, seed=3)
    again, _ = improve_cover(a, start, deadline=time.perf_counter() + 60, size=120, seed=3)
    assert stats["saved"] > 0 and np.array_equal(first, again)


def test_no_time_returns_the_start_and_a_non_cover_is_refused():
    _, a = _instance(1)
    start = _every_other(a)
    x, stats = improve_cover(a, start, deadline=time.perf_counter() - 1)
    assert np.array_equal(x, start) and stats["saved"] == 0
    broken = start.copy()
    broken[np.flatnonzero(broken)[: broken.sum() // 2]] = False
    assert not _is_cover(a, broken)
    with pytest.raises(ValueError, match="cover"):
        improve_cover(a, broken, deadline=time.perf_counter() + 1)


def test_large_problems_improve_highs_cover_by_neighbourhoods(monkeypatch):
    """Above the LP's size (lowered here to every size) the time after the bound goes to neighbourhoods."""
    m, _ = _instance(2)
    monkeypatch.setattr(lagrangian, "_LP_MAX_PAIRS", 0)
    s = optimize.set_covering(m, time_budget=10.0)
    assert bool((m.covered(s.sites) == m.covered()).all())
    if s.status != "optimal":  # HiGHS may prove the optimum first on a fast machine: nothing left to improve
        assert s.stats["neighbourhoods"] >= 1
        assert len(s.sites) <= s.stats["milp_sites"]
