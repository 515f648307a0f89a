"""Coverage: shares against independent straight-line computations, by road against hand-computed answers."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point, box

from nbgeo import coverage, network
from nbgeo.errors import InputError, PlanError
from nbgeo.layers import Dataset
from nbgeo.plan import CoverageSpec, Plan

UTM = "EPSG:32651"


def gdf(geoms, index=None, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=UTM, index=index)


def grid_network(n: int = 6, spacing: float = 100.0, one_way_rows: tuple[int, ...] = ()) -> network.RoadNetwork:
    """An n × n street grid; rows in ``one_way_rows`` run east only."""
    ids = np.arange(n * n).reshape(n, n)
    x = np.tile(np.arange(n) * spacing, n).astype(float)
    y = np.repeat(np.arange(n) * spacing, n).astype(float)
    u, v = [], []
    for r in range(n):
        for c in range(n - 1):
            u.append(ids[r, c])
            v.append(ids[r, c + 1])
            if r not in one_way_rows:
                u.append(ids[r, c + 1])
                v.append(ids[r, c])
    for c in range(n):
        for r in range(n - 1):
            u += [ids[r, c], ids[r + 1, c]]
            v += [ids[r + 1, c], ids[r, c]]
    return network.network_from_arrays(x, y, u, v, crs=UTM)


# ---- straight line: against geopandas ----------------------------------------------------------


def test_straight_point_coverage_matches_geopandas():
    rng = np.random.default_rng(7)
    sites = gdf(shapely.points(rng.uniform(0, 5000, (400, 2))), index=[f"s{i}" for i in range(400)])
    chargers = gdf(shapely.points(rng.uniform(0, 5000, (30, 2))), index=[f"c{i}" for i in range(30)])
    cov = coverage.coverage(sites, chargers, distance=600, by="straight")
    joined = gpd.sjoin_nearest(sites, chargers, distance_col="d")
    nearest = joined.groupby(level=0)["d"].min()
    assert cov.share == pytest.approx(100 * (nearest <= 600).mean())
    assert set(cov.uncovered().index) == set(nearest[nearest > 600].index)
    dist = coverage.site_distances(sites, chargers, by="straight")
    assert np.allclose(dist["distance"].to_numpy(), nearest.reindex(sites.index).to_numpy())


def test_straight_ties_name_the_first_facility():
    """Of equally near facilities (several inside a park, or at the same distance), the first listed is named."""
    sites = gdf([box(0, 0, 100, 100), Point(500, 0), Point(40, 40)], index=["park", "between", "on"])
    chargers = gdf([Point(700, 0), Point(80, 80), Point(20, 20), Point(300, 0), Point(40, 40), Point(40, 40)],
                   index=["c6", "c5", "c4", "c3", "c2", "c1"])
    dist = coverage.site_distances(sites, chargers, by="straight")
    assert dist["facility"].tolist() == ["c5", "c6", "c2"]
    assert dist["distance"].tolist() == [0.0, 200.0, 0.0]
    # The same with the chargers listed the other way round: the choice follows the order, not the labels.
    flipped = coverage.site_distances(sites, chargers.iloc[::-1], by="straight")
    assert flipped["facility"].tolist() == ["c1", "c3", "c1"]


def test_straight_area_coverage_matches_the_exact_overlay():
    zones = gdf([box(0, 0, 2000, 1000), box(3000, 0, 3500, 3000)], index=["Z1", "Z2"])
    chargers = gdf([Point(500, 500), Point(2600, 800), Point(3250, 2900)])
    served = shapely.union_all(shapely.buffer(np.asarray(chargers.geometry.values), 700, quad_segs=64))
    exact = zones.geometry.intersection(served).area.sum() / zones.area.sum() * 100
    cov = coverage.coverage(zones, chargers, distance=700, by="straight", weight="area", split="grid", cell=10)
    assert cov.share == pytest.approx(exact, abs=0.2)
    assert cov.total == pytest.approx(zones.area.sum())
    # Whole zones: neither is entirely within 700 m, but both have a charger within 700 m of their edge.
    whole = coverage.coverage(zones, chargers, distance=700, by="straight", weight="area")
    assert whole.share == 100.0


def test_demand_units_conserve_weight():
    zone = gdf([box(0, 0, 333, 255)], index=["Z"], jobs=[1000.0])
    cells = coverage.demand_units(zone, weight="jobs", split="grid", cell=50, crs=UTM)
    assert cells["weight"].sum() == pytest.approx(1000.0)
    area = coverage.demand_units(zone, weight="area", split="grid", cell=50, crs=UTM)
    assert area["weight"].sum() == pytest.approx(333 * 255)
    road = gdf([LineString([(0, 0), (1000, 0), (1000, 250)])], index=["R"])
    pieces = coverage.demand_units(road, weight="length", split="length", cell=100, crs=UTM)
    assert pieces["weight"].sum() == pytest.approx(1250.0)
    assert pieces["weight"].max() <= 100.0 + 1e-9
    with pytest.raises(InputError, match="no weight column"):
        coverage.demand_units(zone, weight="people", crs=UTM)


# ---- by road --------------------------------------------------------------------------------------


def test_network_and_straight_agree_on_a_straight_road():
    # Everything lies on one straight two-way road: road distance = straight distance.
    xs = np.arange(0, 5001, 50.0)
    line = network.network_from_arrays(xs, np.zeros(len(xs)), np.r_[np.arange(len(xs) - 1), np.arange(1, len(xs))],
                                       np.r_[np.arange(1, len(xs)), np.arange(len(xs) - 1)], crs=UTM)
    rng = np.random.default_rng(3)
    sites = gdf([Point(x, 0) for x in rng.choice(xs, 60)])
    chargers = gdf([Point(x, 0) for x in rng.choice(xs, 4, replace=False)])
    for dist in (100, 300, 800):
        by_road = coverage.coverage(sites, chargers, distance=dist, network=line)
        straight = coverage.coverage(sites, chargers, distance=dist, by="straight")
        assert by_road.share == straight.share
        assert np.array_equal(by_road.units["distance"].to_numpy(), straight.units["distance"].to_numpy())
    m_road = coverage.distances_within(sites, chargers, distance=500, network=line)
    m_line = coverage.distances_within(sites, chargers, distance=500, by="straight")
    assert np.array_equal(m_road.to_dense(), m_line.to_dense())



def test_the_old_names_warn_and_mean_the_same():
    """mode= became by= ('network' reads 'road'), cutoff= became distance=, coverage_matrix became
    distances_within, Coverage.mode became Coverage.distance_by: the old spellings still work, with a warning."""
    net = grid_network(5, 100.0)
    sites = gdf([Point(0, 0), Point(0, 300), Point(400, 400)], index=["a", "b", "c"])
    chargers = gdf([Point(100, 0)], index=["x"])
    road = coverage.coverage(sites, chargers, distance=250, network=net)
    line = coverage.coverage(sites, chargers, distance=250, by="straight")
    assert road.distance_by == "road" and line.distance_by == "straight"
    with pytest.warns(DeprecationWarning, match="'mode' is deprecated; use by="):
        old_road = coverage.coverage(sites, chargers, distance=250, mode="network", network=net)
    with pytest.warns(DeprecationWarning, match="'mode' is deprecated"):
        old_line = coverage.coverage(sites, chargers, distance=250, mode="straight")
    assert old_road.units["distance"].tolist() == road.units["distance"].tolist()
    assert old_line.units["distance"].tolist() == line.units["distance"].tolist()
    with pytest.warns(DeprecationWarning, match="Coverage.mode is deprecated"):
        assert (road.mode, line.mode) == ("network", "straight")
    with pytest.warns(DeprecationWarning, match="'cutoff' is deprecated; use distance="):
        old = coverage.site_distances(sites, chargers, network=net, cutoff=150)
    pd.testing.assert_frame_equal(old, coverage.site_distances(sites, chargers, network=net, distance=150))
    with pytest.warns(DeprecationWarning, match="coverage_matrix is deprecated; use nbgeo.coverage.distances_within"):
        m = coverage.coverage_matrix(sites, chargers, distance=500, network=net)
    assert np.array_equal(m.to_dense(), coverage.distances_within(sites, chargers, distance=500, network=net).to_dense())
    with pytest.warns(DeprecationWarning, match="'mode' is deprecated"):
        area = coverage.service_areas(chargers, distance=100, mode="straight")
    assert float(area.area.iloc[0]) == pytest.approx(float(coverage.service_areas(chargers, distance=100,
                                                                                   by="straight").area.iloc[0]))
    with pytest.warns(DeprecationWarning, match="MODES is deprecated"):
        assert coverage.MODES == ("network", "straight") == tuple(coverage.PLAN_MODES)
    with pytest.raises(TypeError, match=r"got both 'mode' \(deprecated\) and 'by'"):
        coverage.coverage(sites, chargers, distance=250, mode="straight", by="straight")
    with pytest.raises(InputError, match="by must be one of road, straight"):
        coverage.site_distances(sites, chargers, by="network", network=net)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.floats(50, 600))
def test_network_coverage_never_exceeds_straight_and_grows_with_facilities(seed, k, dist):
    net = grid_network(6, 100.0, one_way_rows=(1, 4))
    rng = np.random.default_rng(seed)
    sites = gdf(shapely.points(rng.uniform(-20, 520, (40, 2))))
    chargers = gdf(shapely.points(rng.uniform(0, 500, (k, 2))))
    by_road = coverage.coverage(sites, chargers, distance=dist, network=net)
    straight = coverage.coverage(sites, chargers, distance=dist, by="straight")
    assert 0.0 <= by_road.share <= straight.share <= 100.0
    assert (by_road.units["distance"].to_numpy() >= straight.units["distance"].to_numpy() - 1e-9).all()
    more = pd.concat([chargers, gdf(shapely.points(rng.uniform(0, 500, (3, 2))))], ignore_index=True)
    assert coverage.coverage(sites, more, distance=dist, network=net).share >= by_road.share


def test_one_way_streets_change_who_is_covered():
    # Row 1 (y = 100) runs east only. From its east end to a charger at its west end one must go round
    # (down, west along row 0, up: 400 m); from the charger to the site it is 200 m straight along row 1.
    net = grid_network(3, 100.0, one_way_rows=(1,))
    charger = gdf([Point(0, 100)])
    sites = gdf([Point(200, 100), Point(0, 100)], index=["east", "west"])
    cov = coverage.coverage(sites, charger, distance=250, network=net)
    assert cov.uncovered().index.tolist() == ["east"]
    assert cov.units.set_index("site").loc["east", "distance"] == 400.0
    served = coverage.coverage(sites, charger, distance=250, network=net, direction="from")
    assert served.share == 100.0
    assert served.units.set_index("site").loc["east", "distance"] == 200.0


def test_road_coverage_hand_computed():
    #  0 --- 1 --- 2 (two-way, 100 m each)   2 -> 3 one-way (100 m)   charger at node 0
    net = network.network_from_arrays(np.array([0.0, 100, 200, 300]), np.zeros(4), u=[0, 1, 1, 2, 2],
                                      v=[1, 0, 2, 1, 3], crs=UTM)
    charger = gdf([Point(0, 0)])
    cov = coverage.road_coverage(net, charger, distance=150)
    # 0-1 fully (100), 1-2 half (50), 2-3 nothing (one-way away from the charger: no way back).
    assert cov.covered == pytest.approx(150.0)
    assert cov.total == pytest.approx(300.0)
    back = coverage.road_coverage(net, charger, distance=250, direction="from")
    # From the charger: 0-1, 1-2 and the first 50 m of 2 -> 3.
    assert back.covered == pytest.approx(250.0)


def test_road_coverage_against_sampled_points():
    net = grid_network(5, 200.0, one_way_rows=(2,))
    chargers = gdf([Point(0, 0), Point(800, 400)])
    exact = coverage.road_coverage(net, chargers, distance=330)
    # Sample every street at 1 m and measure each point by road on a densified copy of the network.
    streets = net.to_gdf()
    dense = network.network_from_graph(_graph_of(net), split_curves=True)
    sample = coverage.demand_units(streets, weight="length", split="length", cell=1.0, crs=UTM)
    sampled = coverage.coverage(sample, chargers, distance=330, network=dense, weight="weight")
    assert exact.share == pytest.approx(sampled.share, abs=0.3)


def _graph_of(net: network.RoadNetwork):
    """The network as a networkx graph whose edges are drawn every metre (so nodes lie every metre)."""
    import networkx as nx

    g = nx.MultiDiGraph(crs=net.crs)
    for i in range(net.n_nodes):
        g.add_node(i, x=float(net.x[i]), y=float(net.y[i]))
    u, v, _ = net.edges
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        line = shapely.segmentize(LineString([(net.x[a], net.y[a]), (net.x[b], net.y[b])]), 1.0)
        g.add_edge(a, b, geometry=line)
    return g


def test_service_areas():
    chargers = gdf([Point(0, 0), Point(5000, 0)])
    straight = coverage.service_areas(chargers, distance=1000, by="straight")
    assert straight.area.iloc[0] == pytest.approx(2 * math.pi * 1000**2, rel=0.01)
    net = grid_network(11, 200.0)
    area = coverage.service_areas(gdf([Point(0, 0)]), distance=450, network=net, resolution=25)
    shape = area.geometry.iloc[0]
    assert shape.contains(Point(200, 200)) and shape.contains(Point(400, 0))
    assert not shape.intersects(Point(600, 0)) and not shape.intersects(Point(400, 400))
    assert coverage.service_areas(gdf([]), distance=450, network=net).empty


def _blobs(seed: int, size: int = 80) -> np.ndarray:
    """A grid of irregular blobs, some touching at corners, some with holes (as service areas trace)."""
    rng = np.random.default_rng(seed)
    field = rng.random((size, size))
    for _ in range(2):  # smooth it, so that cells clump into blobs with ragged edges
        field = (field + np.roll(field, 1, 0) + np.roll(field, 1, 1) + np.roll(field, -1, 0) + np.roll(field, -1, 1)) / 5
    return (field > np.quantile(field, 0.55)).astype(np.uint8)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_traced_polygons_are_the_shapes_rasterio_traces(seed):
    from affine import Affine
    from rasterio import features

    from nbgeo.coverage import areas

    grid = _blobs(seed)
    transform = Affine(150.0, 0, 500000.0, 0, -150.0, 3300000.0)
    theirs = [shapely.geometry.shape(g) for g, v in features.shapes(grid, mask=grid > 0, transform=transform) if v]
    ours = areas._traced_polygons(grid, transform)
    assert len(ours) == len(theirs) > 20 and any(len(p.interiors) for p in theirs)
    assert shapely.to_wkb(shapely.multipolygons(ours)) == shapely.to_wkb(shapely.multipolygons(theirs))


@pytest.mark.parametrize(("seed", "tolerance"), [(1, 75.0), (2, 75.0), (3, 200.0)])
def test_simplifying_parts_by_groups_is_simplifying_the_whole(seed, tolerance):
    from affine import Affine

    from nbgeo.coverage import areas

    polys = areas._traced_polygons(_blobs(seed), Affine(150.0, 0, 0, 0, -150.0, 12000.0))
    whole = shapely.simplify(shapely.multipolygons(polys), tolerance)
    ours = areas._simplify_parts(polys, tolerance)
    assert shapely.get_num_coordinates(ours) < shapely.get_num_coordinates(shapely.multipolygons(polys))
    assert shapely.to_wkb(ours) == shapely.to_wkb(whole)


def test_service_area_of_many_facilities_takes_polygons_at_their_centroid():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 30000, size=(2500, 2))  # over 2,000 facilities: the area is traced on a grid
    points = [Point(x, y) for x, y in xy]
    squares = [box(x - 20, y - 30, x + 20, y + 30) for x, y in xy]  # centred on the points
    mixed = [sq if i % 3 == 0 else pt for i, (pt, sq) in enumerate(zip(points, squares, strict=True))]
    areas = [coverage.service_areas(gdf(g), distance=800, by="straight").geometry.iloc[0]
             for g in (points, squares, mixed)]
    assert areas[0].area > 0
    assert shapely.to_wkb(areas[1]) == shapely.to_wkb(areas[0]) == shapely.to_wkb(areas[2])


def test_coverage_by_district():
    districts = gpd.GeoDataFrame({"name": ["西区", "东区"]}, geometry=[box(-100, -100, 500, 500), box(500, -100, 1100, 500)],
                                 crs=UTM)
    sites = gdf([Point(0, 0), Point(100, 0), Point(900, 0), Point(2000, 0)], index=["a", "b", "c", "d"])
    cov = coverage.coverage(sites, gdf([Point(0, 10)]), distance=200, by="straight", districts=districts)
    by = cov.by("district")
    assert by.loc["西区", "share"] == 100.0 and by.loc["西区", "sites"] == 2
    assert by.loc["东区", "share"] == 0.0 and by.loc["东区", "uncovered_sites"] == 1
    outside = by[by.index.isna()]
    assert outside["sites"].tolist() == [1]


def test_no_demand_and_no_facilities():
    cov = coverage.coverage(gdf([]), gdf([Point(0, 0)]), distance=100, by="straight")
    assert math.isnan(cov.share)
    cov = coverage.coverage(gdf([Point(0, 0)]), gdf([]), distance=100, by="straight")
    assert cov.share == 0.0
    with pytest.raises(InputError, match="needs a road network"):
        coverage.coverage(gdf([Point(0, 0)]), gdf([Point(0, 0)]), distance=100)


# ---- plan requirements ------------------------------------------------------------------------


@pytest.fixture
def small_dataset() -> Dataset:
    from nbgeo.crs import NINGBO_TM

    ox, oy = 505000.0, 3305000.0
    parks = gpd.GeoDataFrame(
        {"name": ["a", "b", "c", "d"], "status": ["built", "built", "built", "planned"], "year": [2021, 2022, 2024, 2026]},
        geometry=[box(ox, oy, ox + 50, oy + 50), box(ox + 2000, oy, ox + 2050, oy + 50),
                  box(ox, oy + 3000, ox + 50, oy + 3050), box(ox + 10, oy, ox + 20, oy + 10)],
        crs=NINGBO_TM, index=["MP1", "MP2", "MP3", "MP4"],
    )
    chargers = gpd.GeoDataFrame(
        {"type": ["charging"] * 3, "ports": [2, 2, 2], "year": [2021, 2023, 2025]},
        geometry=[Point(ox + 300, oy), Point(ox + 2400, oy), Point(ox, oy + 2600)],
        crs=NINGBO_TM, index=["C1", "C2", "C3"],
    )
    return Dataset.from_gdfs({"micro_parks": parks, "chargers": chargers}, name="small")


def spec(**params) -> CoverageSpec:
    base = {"distance": 500.0, "mode": "straight"}
    return CoverageSpec(id="mp", demand="micro_parks", facilities="chargers", params={**base, **params},
                        phrase="示例", title="parks near chargers", proposed=True)


def test_evaluate_coverage_year_by_year(small_dataset):
    plan = Plan(id="p", title="t", baseline=2020, horizon=2025, coverage=(spec(),))
    entries, shapes = coverage.evaluate_coverage(spec(), small_dataset, year=2025, plan=plan)
    (e,) = entries
    assert (e["status"], e["actual"], e["margin"], e["proposed"], e["metric"]) == ("met", 100.0, 0.0, True, "coverage")
    # 2021: MP1 only, with C1 (300 m); 2022: MP2 has no charger yet; 2024: MP3 waits for C3 (2025).
    assert [(y["year"], y["share"], y["sites"]) for y in e["by_year"]] == [
        (2021, 100.0, 1), (2022, 50.0, 2), (2023, 100.0, 2), (2024, 66.667, 3), (2025, 100.0, 3)]
    assert shapes and all(g.crs.to_epsg() == 4326 for g in shapes.values())
    each = coverage.evaluate_coverage(spec(years="each_year"), small_dataset, year=2024, plan=plan, overlays=False)[0]
    assert [(x["year"], x["status"]) for x in each] == [(2021, "met"), (2022, "not_met"), (2023, "met"),
                                                         (2024, "not_met")]
    uncovered = each[-1]["uncovered"]
    # No charger within the search radius (4 × 500 m): the distance is unknown, not made up.
    assert [u["id"] for u in uncovered] == ["MP3"] and uncovered[0]["distance_m"] is None


def test_evaluate_coverage_by_road_snaps_once_for_all_years(small_dataset, monkeypatch):
    from nbgeo.coverage import distances as coverage_distances
    from nbgeo.crs import NINGBO_TM

    ox, oy = 505000.0, 3305000.0
    net = grid_network(8, 400.0)
    net = network.network_from_arrays(net.x + ox - 200, net.y + oy - 200, *net.edges[:2], crs=NINGBO_TM)
    plan = Plan(id="p", title="t", baseline=2020, horizon=2025, coverage=(spec(mode="network", distance=700.0),))
    calls = []
    real = coverage_distances.access_points
    monkeypatch.setattr(coverage_distances, "access_points", lambda *a, **k: calls.append(1) or real(*a, **k))
    (e,), _ = coverage.evaluate_coverage(plan.coverage[0], small_dataset, year=2025, plan=plan,
                                         networks={"roads": net}, overlays=False)
    assert len(calls) == 2  # the parks and the chargers, once, for the five years
    parks, chargers = small_dataset["micro_parks"], small_dataset["chargers"]
    for by_year in e["by_year"]:
        y = by_year["year"]
        alone = coverage.coverage(parks[parks["year"] <= y], chargers[chargers["year"] <= y], distance=700.0,
                                  network=net)
        assert by_year["share"] == round(alone.share, 3), y
    assert {y["share"] for y in e["by_year"]} != {100.0}  # some year leaves a park uncovered


def test_evaluate_coverage_filters_and_unknowns(small_dataset):
    built = spec(demand_where={"status": "built"}, year_column="")
    (e,), _ = coverage.evaluate_coverage(built, small_dataset, year=2025, overlays=False)
    assert e["sites"] == 3
    (e,), _ = coverage.evaluate_coverage(spec(mode="network"), small_dataset, year=2025)
    assert e["status"] == "unknown" and "no road network" in e["note"]
    missing = CoverageSpec(id="x", demand="featured_parks", facilities="chargers", params={"distance": 5})
    (e,), _ = coverage.evaluate_coverage(missing, small_dataset, year=2025)
    assert e["status"] == "unknown" and "featured_parks" in e["note"]
    with pytest.raises(PlanError, match="unknown key"):
        coverage.evaluate_coverage(spec(radius=3), small_dataset, year=2025)
    with pytest.raises(PlanError, match="distance must be"):
        coverage.evaluate_coverage(spec(distance=-1), small_dataset, year=2025)


# ---- the sample's coverage requirements --------------------------------------------------------


@pytest.fixture(scope="module")
def sample_coverage(sample, ningbo_plan):
    entries, shapes = coverage.evaluate_plan_coverage(ningbo_plan, sample)
    return {e["id"]: e for e in entries}, shapes


def test_sample_5g_coverage_agrees_with_independent_straight_line_measures(sample, sample_coverage):
    from scipy.spatial import cKDTree

    entries, _ = sample_coverage
    stations = sample.metric("base_stations_5g")
    parks = sample.metric("featured_parks")
    for year in (2023, 2025):
        near = gpd.sjoin_nearest(parks[parks["year"] <= year], stations[stations["year"] <= year], distance_col="d")
        expected = 100 * (near.groupby(level=0)["d"].min() <= 500).mean()
        got = {y["year"]: y["share"] for y in entries["featured_parks_5g_500m"]["by_year"]}[year]
        assert got == pytest.approx(expected, abs=1e-3)
    # Smart roads: sample the lines every 5 m and measure each sample to the nearest station.
    roads = sample.metric("smart_roads")
    dense = shapely.segmentize(np.asarray(roads.geometry.values), 5.0)
    coords, owner = shapely.get_coordinates(dense, return_index=True)
    same = owner[1:] == owner[:-1]
    mid = (coords[1:][same] + coords[:-1][same]) / 2
    seg = np.hypot(*(coords[1:][same] - coords[:-1][same]).T)
    tree = cKDTree(shapely.get_coordinates(stations.geometry.values))
    d, _ = tree.query(mid)
    expected = 100 * seg[d <= 500].sum() / seg.sum()
    assert entries["smart_roads_5g_500m"]["actual"] == pytest.approx(expected, abs=0.5)
    assert entries["smart_roads_5g_500m"]["status"] == "not_met"


def test_sample_micro_parks_by_road(sample, sample_coverage):
    entries, shapes = sample_coverage
    e = entries["micro_parks_chargers_1km"]
    assert (e["status"], e["proposed"], e["network"]["illustrative"]) == ("not_met", True, True)
    built = sample.metric("micro_parks")
    built = built[built["status"].isin(["built", "upgraded"]) & (built["year"] <= 2025)]
    assert e["sites"] == len(built)
    assert e["covered_sites"] + len(e["uncovered"]) == e["sites"]
    assert e["actual"] == pytest.approx(100 * e["covered_sites"] / e["sites"])
    # Road distances are never shorter than straight ones, so straight-line coverage is at least as high.
    straight = coverage.coverage(built, sample.metric("chargers"), distance=1000, by="straight")
    assert straight.share >= e["actual"]
    far = [u["distance_m"] for u in e["uncovered"] if u["distance_m"] is not None]
    assert far == sorted(far, reverse=True) and min(far) > 1000
    assert sum(d["sites"] for d in e["by_district"]) == e["sites"]
    assert [y["year"] for y in e["by_year"]] == [2021, 2022, 2023, 2024, 2025]
    shares = [y["share"] for y in e["by_year"]]
    assert shares == sorted(shares)  # chargers are only ever added
    uncovered = shapes["Uncovered: micro_parks_chargers_1km"]
    assert set(uncovered.index) == {u["id"] for u in e["uncovered"]}
    assert (uncovered["status"] == "uncovered").all() and uncovered.crs.to_epsg() == 4326
    area = next(g for title, g in shapes.items() if title.startswith("Service area: micro_parks"))
    assert area["status"].tolist() == ["service_area"] and "illustrative roads" in area["label"].iloc[0]


def test_coverage_command(tmp_path):
    import json

    from click.testing import CliRunner

    from nbgeo.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["coverage", "--out", str(out), "--id", "featured_parks_5g_500m",
                                       "--id", "micro_parks_chargers_1km", "--no-map", "--strict"])
    assert result.exit_code == 1, result.output  # both are suggestions (建议): they count with --strict
    # the terminal names the requirement by its title and words its status (nbgeo.renderers.terminal)
    assert "Every micro-enterprise park within 1 km" in result.output and "not met" in result.output
    assert "micro_parks_chargers_1km" not in result.output and "not_met" not in result.output
    doc = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "nbgeo.coverage/1" and doc["dataset"]["illustrative"] is True
    assert [e["id"] for e in doc["coverage"]] == ["micro_parks_chargers_1km", "featured_parks_5g_500m"]
    shapes = json.loads((out / "coverage.geojson").read_text(encoding="utf-8"))
    statuses = {f["properties"]["status"] for f in shapes["features"]}
    assert statuses == {"service_area", "uncovered"}
    assert "nbgeo.mount(" not in (out / "coverage.html").read_text(encoding="utf-8")  # the page, without its map
    again = CliRunner().invoke(main, ["coverage", "--out", str(out), "--id", "featured_parks_5g_500m"])
    assert again.exit_code == 2 and "exists" in again.output
    only_met = CliRunner().invoke(main, ["coverage", "--out", str(out), "--id", "featured_parks_5g_500m",
                                         "--overwrite"])
    assert only_met.exit_code == 0, only_met.output
    assert (out / "coverage.html").stat().st_size > 10_000
    bad = CliRunner().invoke(main, ["coverage", "--out", str(out), "--id", "nope", "--overwrite"])
    assert bad.exit_code == 2 and "no coverage requirement 'nope'" in bad.output


def test_population_grid_as_demand(tmp_path):
    import rasterio
    from affine import Affine

    from nbgeo.crs import NINGBO_TM
    from nbgeo.layers import LayerMeta, Raster

    # 4 × 4 cells of 100 m; people in four cells, one of them nodata.
    people = np.array([[100, 0, 0, 50], [0, 0, 0, 0], [0, 0, -9, 0], [20, 0, 0, 30]], dtype="float32")
    path = tmp_path / "population.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32", crs=NINGBO_TM,
                       transform=Affine(100, 0, 500000, 0, -100, 3300400), nodata=-9) as dst:
        dst.write(people, 1)
    grid = coverage.raster_demand(path)
    assert grid["value"].sum() == 200.0 and len(grid) == 4
    charger = gpd.GeoDataFrame(geometry=[Point(500050, 3300350)], crs=NINGBO_TM, index=["C"])
    # Within 301 m of the charger at the centre of the top-left cell: 100 + 50 (300 m away) + 20 (300 m).
    cov = coverage.coverage(grid, charger, distance=301, by="straight", weight="value")
    assert cov.share == pytest.approx(100 * 170 / 200)
    ds = Dataset(name="grid", layers=Dataset.from_gdfs({"chargers": charger.assign(type="charging", ports=1,
                                                                                     year=2020)}).layers,
                 rasters={"population": Raster(path=str(path), meta=LayerMeta(name="population"))})
    req = CoverageSpec(id="people", demand="population", facilities="chargers",
                       params={"distance": 301, "mode": "straight", "weight": "value"})
    (e,), _ = coverage.evaluate_coverage(req, ds, year=2025, overlays=False)
    assert e["actual"] == pytest.approx(85.0) and e["status"] == "not_met"
