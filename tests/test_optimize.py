"""Siting optimisation: solvers against known optima and brute force, existing facilities, capacity, the rule filter."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point, box

from nbgeo import optimize
from nbgeo.errors import CRSError, InputError
from nbgeo.optimize import CoverageMatrix


def _matrix(cover: dict[int, list[int]], n_demand: int) -> CoverageMatrix:
    """A matrix from ``{site: [demand points]}``, every distance 0."""
    sites = sorted(cover)
    d = [i for j in sites for i in cover[j]]
    s = [j for j in sites for _ in cover[j]]
    return CoverageMatrix.from_pairs(d, s, [0.0] * len(d), n_demand=n_demand, n_sites=max(sites) + 1, radius=1)


def _served(cover: dict[int, list[int]], chosen: tuple[int, ...], weights: np.ndarray) -> float:
    hit = set().union(*(cover[j] for j in chosen)) if chosen else set()
    return float(sum(weights[i] for i in hit))


def _random_instance(seed: int, n_demand: int = 14, n_sites: int = 8):
    rng = np.random.default_rng(seed)
    cover = {j: sorted(rng.choice(n_demand, size=int(rng.integers(1, 6)), replace=False).tolist())
             for j in range(n_sites)}
    weights = rng.integers(1, 9, n_demand).astype(float)
    return cover, weights


# --- the coverage matrix ------------------------------------------------------------------------------------------


def test_matrix_keeps_zero_distances_and_the_shortest_repeat():
    m = CoverageMatrix.from_pairs([0, 0, 1], [0, 0, 0], [5.0, 2.0, 0.0], n_demand=2, n_sites=1, radius=10)
    assert m.covers(0).tolist() == [0, 1]
    assert m.distances(0).tolist() == [2.0, 0.0]


def test_straight_line_matrix_matches_brute_force():
    rng = np.random.default_rng(3)
    demand, sites = rng.uniform(0, 2000, (300, 2)), rng.uniform(0, 2000, (80, 2))
    m = optimize.coverage_matrix(demand, sites, 250)
    dist = np.hypot(demand[:, None, 0] - sites[None, :, 0], demand[:, None, 1] - sites[None, :, 1])
    expected = dist <= 250
    got = np.zeros_like(expected)
    for j in range(m.n_sites):
        got[m.covers(j), j] = True
        assert np.allclose(m.distances(j), dist[m.covers(j), j])
    assert (got == expected).all()


def test_polygon_demand_measures_from_the_outline():
    parks = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(1000, 0, 1100, 100)], crs="EPSG:32651")
    sites = gpd.GeoDataFrame(geometry=[Point(50, 50), Point(300, 50)], crs="EPSG:32651")
    m = optimize.coverage_matrix(parks, sites, 200)
    assert m.covers(0).tolist() == [0] and m.distances(0).tolist() == [0.0]  # inside the park
    assert m.covers(1).tolist() == [0] and m.distances(1).tolist() == [200.0]  # 200 m from its edge


def test_layers_without_crs_are_refused():
    with pytest.raises(CRSError, match="no CRS"):
        optimize.coverage_matrix(gpd.GeoDataFrame(geometry=[Point(0, 0)]), np.zeros((1, 2)), 10)


# --- maximal covering ---------------------------------------------------------------------------------------------


def test_greedy_trap_and_the_exact_optimum():
    # Site 2 covers the most, but sites 0 and 1 together cover everything.
    cover = {0: [0, 1, 2], 1: [3, 4, 5], 2: [1, 2, 3, 4]}
    m = _matrix(cover, 6)
    plain = optimize.maximal_covering(m, 2, improve=False)
    assert plain.sites[0] == 2 and plain.objective == 5.0
    assert plain.bound >= 6.0  # the online bound stays above the optimum
    exact = optimize.maximal_covering(m, 2, method="milp")
    assert sorted(exact.sites.tolist()) == [0, 1] and exact.objective == 6.0 and exact.status == "optimal"
    swapped = optimize.maximal_covering(m, 2)  # the interchange finds it too
    assert sorted(swapped.sites.tolist()) == [0, 1] and swapped.objective == 6.0


@pytest.mark.parametrize("seed", range(12))
def test_milp_equals_brute_force_and_greedy_stays_below(seed):
    cover, weights = _random_instance(seed)
    m = _matrix(cover, len(weights))
    for k in (1, 2, 3):
        best = max(_served(cover, c, weights) for c in itertools.combinations(cover, k))
        exact = optimize.maximal_covering(m, k, weights=weights, method="milp")
        greedy = optimize.maximal_covering(m, k, weights=weights)
        assert exact.objective == pytest.approx(best)
        assert _served(cover, tuple(exact.sites.tolist()), weights) == pytest.approx(best)
        assert greedy.objective <= best + 1e-9
        assert greedy.bound >= best - 1e-9
        assert greedy.objective == pytest.approx(_served(cover, tuple(greedy.sites.tolist()), weights))
        assert sum(greedy.gains) == pytest.approx(greedy.objective)


def test_existing_facilities_are_kept_and_not_paid_for_twice():
    cover = {0: [0, 1, 2], 1: [3, 4], 2: [5]}
    m = _matrix(cover, 6)
    existing = _matrix({0: [0, 1, 2]}, 6)  # already serves what site 0 would
    for method in ("greedy", "milp"):
        s = optimize.maximal_covering(m, 2, existing=existing, method=method)
        assert sorted(s.sites.tolist()) == [1, 2]
        assert s.objective == 3.0 and s.share_before == 0.5 and s.share_after == 1.0
    mask = np.array([True, True, True, False, False, False])
    assert optimize.maximal_covering(m, 1, existing=mask).sites.tolist() == [1]


def test_fewer_than_k_when_nothing_more_can_be_served():
    m = _matrix({0: [0], 1: [0], 2: [1]}, 2)
    s = optimize.maximal_covering(m, 3)
    assert len(s.sites) == 2 and s.objective == 2.0 and "only 2 site(s)" in s.note
    assert s.status == "optimal"  # the online bound certifies it
    assert len(optimize.maximal_covering(m, 0).sites) == 0


def test_conflicting_sites_are_never_chosen_together():
    cover = {0: [0, 1, 2], 1: [3, 4, 5], 2: [2, 3]}
    m = _matrix(cover, 6)
    assert optimize.maximal_covering(m, 2).objective == 6.0
    for method in ("greedy", "milp"):
        s = optimize.maximal_covering(m, 2, conflicts=[(0, 1)], method=method)
        assert not {0, 1} <= set(s.sites.tolist())
        assert s.objective == 4.0


# --- capacity -----------------------------------------------------------------------------------------------------


def test_capacity_limits_what_a_site_serves():
    # Site 0 reaches all four points but serves two; sites 1 and 2 reach two each.
    cover = {0: [0, 1, 2, 3], 1: [0, 1], 2: [2, 3]}
    m = _matrix(cover, 4)
    assert optimize.maximal_covering(m, 1, capacity=2).objective == 2.0
    for method in ("greedy", "milp"):
        s = optimize.maximal_covering(m, 2, capacity=2, method=method)
        assert s.objective == 4.0 and s.share_after == 1.0
        assert sorted(s.gains.tolist()) == [2.0, 2.0]  # each site's load
    uncapped = optimize.maximal_covering(m, 2)
    assert uncapped.sites.tolist() == [0] and uncapped.objective == 4.0


def test_capacity_of_existing_facilities_and_divisible_demand():
    # An existing facility reaches every point but can serve 3 of the 4 units of weight.
    m = _matrix({0: [0, 1], 1: [3]}, 4)
    existing = _matrix({0: [0, 1, 2, 3]}, 4)
    s = optimize.maximal_covering(m, 1, existing=existing, capacity=1, existing_capacity=3, method="milp")
    assert s.share_before == pytest.approx(0.75) and s.objective == pytest.approx(1.0)
    assert s.served.sum() == pytest.approx(4.0)
    # Splittable demand: one point of weight 3, two sites of capacity 2 serve it together.
    m2 = _matrix({0: [0], 1: [0]}, 1)
    two = optimize.maximal_covering(m2, 2, weights=[3.0], capacity=2, method="milp")
    assert two.objective == pytest.approx(3.0) and len(two.sites) == 2


def test_capacity_needs_a_matrix_of_existing_facilities():
    with pytest.raises(InputError, match="CoverageMatrix"):
        optimize.maximal_covering(_matrix({0: [0]}, 1), 1, existing=[True], capacity=1)


# --- set covering -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_set_cover_milp_is_minimal(seed):
    cover, weights = _random_instance(seed, n_demand=12, n_sites=9)
    m = _matrix(cover, len(weights))
    reachable = set().union(*cover.values())
    best = next(size for size in range(1, 10)
                if any(set().union(*(cover[j] for j in c)) == reachable for c in itertools.combinations(cover, size)))
    exact = optimize.set_covering(m, method="milp")
    greedy = optimize.set_covering(m)
    assert len(exact.sites) == best and exact.bound == pytest.approx(best)
    assert len(greedy.sites) >= best
    for s in (exact, greedy):
        assert set().union(*(cover[j] for j in s.sites.tolist())) == reachable
    assert exact.met == (len(reachable) == len(weights))


def test_set_cover_drops_sites_made_redundant():
    # Greedy takes 0 (3 points), then 1 and 2 for the rest, which cover 0's points too: 0 goes.
    cover = {0: [1, 2, 3], 1: [0, 1, 2], 2: [3, 4, 5]}
    s = optimize.set_covering(_matrix(cover, 6))
    assert sorted(s.sites.tolist()) == [1, 2]


def test_partial_set_cover_by_weight():
    cover = {0: [0], 1: [1], 2: [2, 3]}
    m = _matrix(cover, 4)
    weights = np.array([5.0, 1.0, 1.0, 1.0])
    for method in ("greedy", "milp"):
        s = optimize.set_covering(m, share=0.6, weights=weights, method=method)
        assert s.sites.tolist() == [0] and s.met
        s = optimize.set_covering(m, share=0.8, weights=weights, method=method)
        assert sorted(s.sites.tolist()) == [0, 2]


def test_uncoverable_demand_is_reported_not_infeasible():
    m = _matrix({0: [0, 1]}, 3)
    for method in ("greedy", "milp"):
        s = optimize.set_covering(m, method=method)
        assert s.sites.tolist() == [0] and not s.met
        assert s.coverable.tolist() == [True, True, False] and "out of reach" in s.note


def test_set_cover_with_capacity():
    cover = {0: [0, 1, 2, 3], 1: [0, 1], 2: [2, 3]}
    for method in ("greedy", "milp"):
        s = optimize.set_covering(_matrix(cover, 4), capacity=2, method=method)
        assert len(s.sites) == 2 and s.met


# --- inputs -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "code"), [
    (lambda m: optimize.maximal_covering(m, -1), "E-OPT-K"),
    (lambda m: optimize.maximal_covering(m, 1, method="magic"), "E-OPT-METHOD"),
    (lambda m: optimize.maximal_covering(m, 1, weights=[1.0]), "E-OPT-WEIGHTS"),
    (lambda m: optimize.maximal_covering(m, 1, weights=[1.0, -1.0]), "E-OPT-WEIGHTS"),
    (lambda m: optimize.set_covering(m, share=1.5), "E-OPT-SHARE"),
    (lambda m: optimize.maximal_covering(m, 1, capacity=-2), "E-OPT-CAPACITY"),
    (lambda m: optimize.maximal_covering(m, 1, conflicts=[(0, 9)]), "E-OPT-CONFLICTS"),
])
def test_bad_arguments_are_errors_with_codes(call, code):
    with pytest.raises(InputError) as err:
        call(_matrix({0: [0, 1]}, 2))
    assert err.value.code == code


def test_empty_problems():
    m = CoverageMatrix.from_pairs([], [], [], n_demand=0, n_sites=0, radius=1)
    assert len(optimize.maximal_covering(m, 3).sites) == 0
    s = optimize.set_covering(m, method="milp")
    assert len(s.sites) == 0 and s.met
