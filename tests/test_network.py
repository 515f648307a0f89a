"""Road networks: distances against hand-computed answers, the readers on real files, caching, download."""

from __future__ import annotations

import gzip
import http.server
import json
import logging
import math
import shutil
import sys
import threading
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely import LineString, Point, box

from nbgeo import network
from nbgeo import settings as nb_settings
from nbgeo.crs import NINGBO_TM
from nbgeo.errors import CRSError, InputError, RoadNetworkError
from nbgeo.network import cache as network_cache
from nbgeo.network import distances as network_distances
from nbgeo.network import read as network_read

DATA = Path(__file__).resolve().parent / "data"
OSM = DATA / "tiny_city.osm"
UTM = "EPSG:32651"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own empty disk and memory cache."""
    monkeypatch.setattr(nb_settings, "cache_folder", str(tmp_path / "cache"))
    monkeypatch.setattr(network_cache, "_MEMORY", {})
    monkeypatch.setattr(network_cache, "_HASHES", {})


# ---- a small network with every difficulty, distances computed by hand ------------------------
#
#   4 (100,100)
#   |    ^
#   0 -- 1 -- 2 --> 3 (300,0)        3 -> 4 is one-way (length sqrt(200² + 100²) = 223.607)
#                                    2 -> 3 is one-way; 0 -> 1 has a parallel road of 250 m
#   5 -- 6 (1000,1000)-(1000,1100)   an island
SIDE = math.hypot(200, 100)


@pytest.fixture
def block() -> network.RoadNetwork:
    x = np.array([0, 100, 200, 300, 100, 1000, 1000], dtype=float)
    y = np.array([0, 0, 0, 0, 100, 1000, 1100], dtype=float)
    u = [0, 0, 1, 1, 2, 2, 3, 4, 1, 5, 6]
    v = [1, 1, 0, 2, 1, 3, 4, 1, 4, 6, 5]
    length = [100, 250, 100, 100, 100, 100, SIDE, 100, 100, 100, 100]
    return network.network_from_arrays(x, y, u, v, length, crs=UTM)


def pts(*xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[Point(p) for p in xy], crs=UTM, index=[f"p{i}" for i in range(len(xy))])


def test_parallel_edges_keep_the_shortest_not_the_sum(block):
    assert block.matrix[0, 1] == 100.0
    assert block.n_edges == 10  # 11 given, one longer parallel dropped
    g = nx.MultiDiGraph()
    g.add_edge(0, 1, length=100.0)
    g.add_edge(0, 1, length=250.0)
    # The trap nbgeo avoids: networkx adds parallel edges up.
    assert nx.to_scipy_sparse_array(g, weight="length")[0, 1] == 350.0


def test_one_way_streets_make_to_and_from_differ(block):
    d_to, _ = network.node_distances(block, [3], direction="to")
    d_from, _ = network.node_distances(block, [3], direction="from")
    assert d_to[:5].tolist() == [300.0, 200.0, 100.0, 0.0, 300.0]
    # From the facility back to node 0: 3 -> 4 -> 1 -> 0.
    assert d_from[0] == pytest.approx(SIDE + 200)
    assert d_from[4] == pytest.approx(SIDE)


def test_unreachable_nodes_are_inf(block):
    d, src = network.node_distances(block, [3])
    assert np.isinf(d[5:]).all()
    assert (src[5:] == -1).all()
    assert block.in_main_component.tolist() == [True] * 5 + [False] * 2


def test_sites_snap_to_the_main_component_unless_told_otherwise(block):
    near_island = pts((1000, 1040))
    charger = pts((300, 0))
    main = network.nearest_facility(block, near_island, charger)
    # Snapped to node 3 (the nearest node of the connected part), 1,255 m away.
    assert main["snap"].iloc[0] == pytest.approx(math.hypot(700, 1040))
    assert main["distance"].iloc[0] == pytest.approx(math.hypot(700, 1040))
    island = network.nearest_facility(block, near_island, charger, main_component=False)
    assert np.isinf(island["distance"].iloc[0])
    assert island["facility"].iloc[0] is None
    assert island["snap"].iloc[0] == pytest.approx(40.0)


def test_facilities_off_the_network_add_their_snapping_distance(block):
    res = network.nearest_facility(block, pts((0, -30)), pts((300, 40)))
    row = res.iloc[0]
    assert (row["distance"], row["road"], row["snap"], row["facility_snap"]) == pytest.approx((370, 300, 30, 40))
    assert row["facility"] == "p0"
    assert row["node"] == 0


def test_nearest_facility_counts_the_facility_offset_exactly(block):
    # A is 180 m off node 4 (road 200 from node 0); B is on node 3 (road 300) but 100 m off it.
    facilities = gpd.GeoDataFrame(geometry=[Point(0, 250), Point(300, -100)], index=["A", "B"], crs=UTM)
    res = network.nearest_facility(block, pts((0, 0)), facilities)
    assert res["facility"].iloc[0] == "A"
    assert res["distance"].iloc[0] == pytest.approx(200 + math.hypot(100, 150))
    # Move B onto the network: now B is nearer (300 < 380).
    facilities = gpd.GeoDataFrame(geometry=[Point(0, 250), Point(300, 0)], index=["A", "B"], crs=UTM)
    res = network.nearest_facility(block, pts((0, 0)), facilities)
    assert res["facility"].iloc[0] == "B"
    assert res["distance"].iloc[0] == 300.0


def test_cutoff_is_inclusive(block):
    origins = pts((0, 0), (100, 0), (200, 0))
    res = network.nearest_facility(block, origins, pts((300, 0)), distance=200)
    assert res["distance"].tolist() == [np.inf, 200.0, 100.0]
    assert res["facility"].tolist() == [None, "p0", "p0"]



def test_cutoff_is_the_deprecated_name_of_distance(block):
    origins, facility = pts((0, 0), (100, 0), (200, 0)), pts((300, 0))
    with pytest.warns(DeprecationWarning, match="nearest_facility\\(\\): the keyword 'cutoff' is deprecated"):
        old = network.nearest_facility(block, origins, facility, cutoff=200)
    assert old["distance"].tolist() == [np.inf, 200.0, 100.0]
    with pytest.warns(DeprecationWarning, match="node_distances\\(\\): the keyword 'cutoff'"):
        d, _ = network.node_distances(block, [0], cutoff=150)
    assert d.tolist() == network.node_distances(block, [0], distance=150)[0].tolist()
    with pytest.warns(DeprecationWarning, match="distance_matrix\\(\\): the keyword 'cutoff'"):
        dm = network.distance_matrix(block, origins, facility, cutoff=200)
    assert dm.distance == 200.0 and dm.to_dense().ravel().tolist() == [np.inf, 200.0, 100.0]
    with pytest.warns(DeprecationWarning, match="DistanceMatrix.cutoff is deprecated"):
        assert dm.cutoff == 200.0

def test_max_snap_puts_far_sites_off_the_network(block):
    res = network.nearest_facility(block, pts((0, -500), (0, -5)), pts((300, 0)), max_snap=100)
    assert np.isinf(res["distance"].iloc[0])
    assert res["distance"].iloc[1] == 305.0


def test_polygons_are_reached_from_any_node_inside_them(block):
    # A park containing nodes 2 and 3, and one beside the road (20 m below node 1).
    parks = gpd.GeoDataFrame(geometry=[box(150, -50, 350, 50), box(80, -60, 120, -20)], index=["in", "beside"],
                             crs=UTM)
    res = network.nearest_facility(block, parks, pts((300, 0)))
    assert res.loc["in", "distance"] == 0.0
    assert res.loc["beside", "distance"] == 220.0
    assert res.loc["beside", "snap"] == 20.0


def test_lines_are_reached_along_their_length(block):
    line = gpd.GeoDataFrame(geometry=[LineString([(-50, 0.5), (150, 0.5)])], crs=UTM)
    res = network.nearest_facility(block, line, pts((300, 0)))
    # Nodes 0 and 1 lie 0.5 m from the line; from node 1 the facility is 200 m away.
    assert res["distance"].iloc[0] == pytest.approx(200.5)


def test_origins_keep_their_index_and_missing_geometries(block):
    origins = gpd.GeoDataFrame(geometry=[Point(0, 0), None, shapely.Point()], index=["a", "b", "c"], crs=UTM)
    res = network.nearest_facility(block, origins, pts((300, 0)))
    assert res.index.tolist() == ["a", "b", "c"]
    assert res["distance"].iloc[0] == 300.0
    assert np.isinf(res["distance"].iloc[1:]).all()


def test_no_facilities_means_nothing_is_reached(block):
    res = network.nearest_facility(block, pts((0, 0)), np.zeros((0, 2)))
    assert np.isinf(res["distance"].iloc[0]) and res["facility"].iloc[0] is None


def test_reprojection_of_inputs(block):
    to_ll = Transformer.from_crs(UTM, 4326, always_xy=True)
    lon, lat = to_ll.transform(0.0, 0.0)
    origin = gpd.GeoDataFrame(geometry=[Point(lon, lat)], crs=4326)
    res = network.nearest_facility(block, origin, pts((300, 0)))
    assert res["distance"].iloc[0] == pytest.approx(300.0, abs=1e-3)
    with pytest.raises(CRSError, match="no CRS"):
        network.nearest_facility(block, gpd.GeoDataFrame(geometry=[Point(0, 0)]), pts((300, 0)))


def test_bad_arrays_are_refused():
    with pytest.raises(RoadNetworkError, match="negative or not finite"):
        network.network_from_arrays([0, 1], [0, 0], [0], [1], [-1.0], crs=UTM)
    with pytest.raises(RoadNetworkError, match="non-finite coordinates"):
        network.network_from_arrays([0, np.nan], [0, 0], [0], [1], crs=UTM)
    with pytest.raises(CRSError, match="projected in metres"):
        network.network_from_arrays([0, 1], [0, 0], [0], [1], crs=4326)
    with pytest.raises(RoadNetworkError, match="out of range"):
        network.node_distances(network.network_from_arrays([0, 1], [0, 0], [0], [1], crs=UTM), [7])


def test_distance_matrix_against_nearest_facility(block):
    origins = pts((0, 0), (100, 100), (200, 10), (1000, 1000))
    dests = gpd.GeoDataFrame(geometry=[Point(300, 0), Point(0, 20)], index=["d0", "d1"], crs=UTM)
    dm = network.distance_matrix(block, origins, dests, distance=350)
    dense = dm.to_dense()
    assert dense[0].tolist() == [300.0, 20.0]
    assert dense[1].tolist() == [300.0, 220.0]
    assert dense[2, 0] == 110.0
    # The island's site snaps to node 3 (the main component): far, beyond the cutoff.
    assert np.isinf(dense[3]).all()
    for j, name in enumerate(dests.index):
        near = network.nearest_facility(block, origins, dests.loc[[name]], distance=350)["distance"].to_numpy()
        assert np.array_equal(dense[:, j], near)
    frame = dm.to_frame()
    assert set(frame["destination"]) == {"d0", "d1"} and (frame["distance"] <= 350).all()
    assert dm.covers(100).toarray().tolist() == [[False, True], [False, False], [False, False], [False, False]]


def test_distance_matrix_in_small_batches_matches_one_batch(block):
    origins = pts(*[(x, 0) for x in range(0, 301, 50)])
    dests = pts((0, 0), (300, 0), (100, 100))
    one = network.distance_matrix(block, origins, dests, distance=1000).to_dense()
    many = network.distance_matrix(block, origins, dests, distance=1000, max_memory=1).to_dense()
    assert np.array_equal(one, many)


# ---- property: the same distances as networkx on random graphs ---------------------------------


@st.composite
def random_networks(draw):
    n = draw(st.integers(2, 25))
    m = draw(st.integers(1, 80))
    u = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    v = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = draw(st.lists(st.integers(0, 500), min_size=m, max_size=m))
    k = draw(st.integers(1, min(n, 6)))
    sources = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
    offsets = draw(st.lists(st.integers(0, 300), min_size=k, max_size=k))
    cutoff = draw(st.one_of(st.none(), st.integers(0, 1500)))
    return n, u, v, [float(x) for x in w], sources, [float(x) for x in offsets], cutoff


@pytest.mark.parametrize("search", ["heap", "buckets"])
@settings(max_examples=120, deadline=None)
@given(random_networks())
def test_node_distances_match_networkx(search, case):
    n, u, v, w, sources, offsets, cutoff = case
    net = network.network_from_arrays(np.arange(n, dtype=float), np.zeros(n), u, v, w, crs=UTM)
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from([(b, a, x) for a, b, x in zip(u, v, w, strict=True) if a != b], weight="length")
    # Offsets as edges from one virtual source (the reversed graph: distances *to* the sources).
    for s, off in zip(sources, offsets, strict=True):
        g.add_edge("virtual", s, length=off)
    expected = nx.single_source_dijkstra_path_length(g, "virtual", cutoff=cutoff, weight="length")
    d, src = network.node_distances(net, sources, offsets=offsets, distance=cutoff, search=search)
    for node in range(n):
        if node in expected:
            assert d[node] == pytest.approx(expected[node])
            # The reported source really gives that distance.
            s = sources[src[node]]
            to_s = nx.shortest_path_length(g, s, node, weight="length") if node != s else 0.0
            assert offsets[src[node]] + to_s == pytest.approx(d[node])
        else:
            assert np.isinf(d[node]) and src[node] == -1


def _street_grid(side: int, seed: int) -> network.RoadNetwork:
    """A perturbed street grid with one-way streets, parallel roads and a few zero-length links."""
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    x = np.tile(np.arange(side), side) * 100.0 + rng.normal(0, 12, side * side)
    y = np.repeat(np.arange(side), side) * 100.0 + rng.normal(0, 12, side * side)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    one_way = rng.random(len(a)) < 0.1
    u = np.concatenate([a, b[~one_way]])
    v = np.concatenate([b, a[~one_way]])
    length = np.hypot(x[v] - x[u], y[v] - y[u]) * rng.uniform(1.0, 1.2, len(u))
    length[rng.random(len(u)) < 0.01] = 0.0
    par = rng.random(len(u)) < 0.02
    u, v = np.concatenate([u, u[par]]), np.concatenate([v, v[par]])
    length = np.concatenate([length, length[par] * rng.uniform(0.5, 1.5, int(par.sum()))])
    return network.network_from_arrays(x, y, u, v, length, crs=UTM)


@pytest.mark.parametrize(("k", "cutoff", "with_offsets"), [
    (1, None, False), (40, 800.0, False), (40, 800.0, True), (600, 2000.0, False), (600, None, True), (3000, 300.0, True),
])
def test_bucket_search_gives_scipys_distances_on_a_street_grid(k, cutoff, with_offsets):
    net = _street_grid(70, seed=k)
    rng = np.random.default_rng(k)
    sources = rng.integers(0, net.n_nodes, k)  # repeats included
    offsets = rng.uniform(0, 150, k) if with_offsets else None
    heap_d, _ = network.node_distances(net, sources, offsets=offsets, distance=cutoff, search="heap")
    bucket_d, bucket_s = network.node_distances(net, sources, offsets=offsets, distance=cutoff, search="buckets")
    np.testing.assert_array_equal(np.isinf(bucket_d), np.isinf(heap_d))
    np.testing.assert_allclose(bucket_d, heap_d, rtol=0, atol=1e-9)
    assert (0 < np.isfinite(heap_d).mean() <= 1) and ((bucket_s >= 0) == np.isfinite(bucket_d)).all()
    # The source named for every node really is at that distance (ties may name another one of the nearest).
    off = np.zeros(k) if offsets is None else offsets
    reached = np.flatnonzero(bucket_s >= 0)
    for node in rng.choice(reached, size=min(200, len(reached)), replace=False):
        s = int(bucket_s[node])
        alone, _ = network.node_distances(net, [sources[s]], offsets=[off[s]], search="heap")
        assert alone[node] == pytest.approx(bucket_d[node], abs=1e-9)


def test_bucket_search_edge_cases():
    # Every road of length 0: the width of a bucket cannot come from the lengths.
    net = network.network_from_arrays(np.arange(4) * 1.0, np.zeros(4), u=[0, 1, 2], v=[1, 2, 3], length=[0.0] * 3,
                                      crs=UTM)
    d, s = network.node_distances(net, [3], search="buckets")
    assert d.tolist() == [0.0, 0.0, 0.0, 0.0] and s.tolist() == [0, 0, 0, 0]
    # A zero cutoff reaches the sources only, and a source beyond the cutoff by its offset reaches nothing.
    d, _ = network.node_distances(net, [3], distance=0, search="buckets")
    assert d.tolist() == [0.0, 0.0, 0.0, 0.0]
    line = network.network_from_arrays(np.arange(4) * 100.0, np.zeros(4), u=[0, 1, 2], v=[1, 2, 3], crs=UTM)
    assert network.node_distances(line, [3], distance=0, search="buckets")[0].tolist() == [np.inf] * 3 + [0.0]
    assert np.isinf(network.node_distances(line, [3], offsets=[5.0], distance=4, search="buckets")[0]).all()
    # Nodes without out-edges (a dead end of a one-way street) and isolated nodes.
    iso = network.network_from_arrays(np.arange(5) * 100.0, np.zeros(5), u=[0, 1], v=[1, 2], crs=UTM)
    d, s = network.node_distances(iso, [2, 4], search="buckets")
    assert d.tolist() == [200.0, 100.0, 0.0, np.inf, 0.0] and s.tolist() == [0, 0, 0, -1, 1]
    with pytest.raises(InputError, match="search must be"):
        network.node_distances(line, [3], search="fast")


def test_auto_search_takes_buckets_only_for_many_sources_on_big_graphs(monkeypatch):
    calls = []
    real = network_distances._bucket_search
    monkeypatch.setattr(network_distances, "_bucket_search", lambda *a: calls.append(len(a[1])) or real(*a))
    net = _street_grid(30, seed=1)
    many = np.arange(0, net.n_nodes, 2)
    assert len(many) >= network_distances._BUCKETS_MIN_SOURCES
    network.node_distances(net, many)
    assert calls == []  # a small graph: the heap
    monkeypatch.setattr(network_distances, "_BUCKETS_MIN_EDGES", net.n_edges)
    network.node_distances(net, many[: network_distances._BUCKETS_MIN_SOURCES - 1])
    assert calls == []  # few sources: the heap
    network.node_distances(net, many)
    assert calls == [len(many)]


# ---- graphs from networkx / osmnx --------------------------------------------------------------


def test_curved_edges_are_split_and_two_way_streets_share_their_vertices():
    g = nx.MultiDiGraph(crs=UTM)
    g.add_node(1, x=0.0, y=0.0)
    g.add_node(2, x=200.0, y=0.0)
    curve = LineString([(0, 0), (100, 100), (200, 0)])
    g.add_edge(1, 2, geometry=curve, length=300.0)
    g.add_edge(2, 1, geometry=shapely.reverse(curve), length=300.0)
    net = network.network_from_graph(g)
    assert net.n_nodes == 3  # the apex is one node shared by both directions
    assert net.node_ids.tolist() == [1, 2, -1]
    apex = pts((100, 101))
    end = gpd.GeoDataFrame(geometry=[Point(200, 0)], crs=UTM)
    assert network.nearest_facility(net, apex, end)["distance"].iloc[0] == pytest.approx(1 + math.hypot(100, 100))
    assert network.nearest_facility(net, apex, end, direction="from")["distance"].iloc[0] == pytest.approx(
        1 + math.hypot(100, 100))
    # With the osmnx length, each piece gets its share (150 m each).
    weighted = network.network_from_graph(g, weight="length")
    assert sorted(weighted.matrix.data.tolist()) == [150.0] * 4


def test_graph_in_lon_lat_is_projected_and_undirected_graphs_are_two_way():
    to_ll = Transformer.from_crs(NINGBO_TM, 4326, always_xy=True)
    g = nx.Graph(crs="EPSG:4326")
    for i, (x, y) in enumerate([(500000.0, 3300000.0), (500300.0, 3300400.0)]):
        lon, lat = to_ll.transform(x, y)
        g.add_node(i, x=lon, y=lat)
    g.add_edge(0, 1)
    net = network.network_from_graph(g)
    assert net.matrix[0, 1] == pytest.approx(500.0, abs=1e-6)
    assert net.matrix[1, 0] == pytest.approx(500.0, abs=1e-6)


def test_graph_errors():
    g = nx.MultiDiGraph()
    g.add_node(1, x=0.0, y=0.0)
    with pytest.raises(CRSError, match="no 'crs'"):
        network.network_from_graph(g)
    g.graph["crs"] = UTM
    g.add_node(2, x=1.0, y=0.0)
    g.add_edge(1, 2)
    with pytest.raises(RoadNetworkError, match="lack the 'length' attribute"):
        network.network_from_graph(g, weight="length")


# ---- OSM files ----------------------------------------------------------------------------------


def project(lon: float, lat: float) -> tuple[float, float]:
    return Transformer.from_crs(4326, NINGBO_TM, always_xy=True).transform(lon, lat)


def osm_nodes() -> dict[int, tuple[float, float]]:
    """Node coordinates of tiny_city.osm in the working CRS, read independently of nbgeo."""
    import xml.etree.ElementTree as ET  # a trusted test file

    root = ET.parse(OSM).getroot()
    return {int(n.get("id")): project(float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}


def hop(a: int, b: int) -> float:
    nodes = osm_nodes()
    return math.dist(nodes[a], nodes[b])


def road(net: network.RoadNetwork, a: int, b: int) -> float:
    ids = net.node_ids.tolist()
    d, _ = network.node_distances(net, [ids.index(b)])
    return float(d[ids.index(a)])


def test_osm_reader_keeps_roads_and_their_directions():
    net = network.read_network(OSM)
    assert set(net.node_ids.tolist()) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 30, 31, 40, 41, 42}
    # One-way rows: 4 -> 5 -> 6 only; 9 -> 8 -> 7 only (oneway=-1).
    assert road(net, 4, 6) == pytest.approx(hop(4, 5) + hop(5, 6))
    assert road(net, 6, 4) == pytest.approx(min(hop(6, 3) + hop(3, 2) + hop(2, 1) + hop(1, 4),
                                                hop(6, 3) + hop(3, 2) + hop(2, 5) + hop(5, 2) + hop(2, 1) + hop(1, 4),
                                                hop(6, 9) + hop(9, 8) + hop(8, 7) + hop(7, 4)))
    assert road(net, 9, 7) == pytest.approx(hop(9, 8) + hop(8, 7))
    assert road(net, 7, 9) == pytest.approx(hop(7, 4) + hop(4, 5) + hop(5, 6) + hop(6, 9))
    # The footway 5-8 is no road: from 5 to 8 goes round.
    assert road(net, 5, 8) == pytest.approx(hop(5, 6) + hop(6, 9) + hop(9, 8))
    # The curved road, vertex by vertex.
    assert road(net, 42, 9) == pytest.approx(hop(42, 41) + hop(41, 40) + hop(40, 9))
    # The island is there but cut off.
    assert math.isinf(road(net, 30, 1))
    main = dict(zip(net.node_ids.tolist(), net.in_main_component.tolist(), strict=True))
    assert not main[30] and not main[31] and main[5]


def test_osm_reader_network_types():
    with_service = network.read_network(OSM, network_type="drive_service")
    assert 20 in with_service.node_ids.tolist()
    assert 21 not in with_service.node_ids.tolist()  # private
    with pytest.raises(InputError, match="network_type"):
        network.read_network(OSM, network_type="walk")


def _copy_osm(src: Path, dst: Path) -> Path:
    import osmium

    with osmium.SimpleWriter(str(dst)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj)
    return dst


def test_pbf_and_compressed_xml_read_the_same_network(tmp_path):
    xml = network.read_network(OSM)
    pbf = network.read_network(_copy_osm(OSM, tmp_path / "tiny_city.osm.pbf"))
    gz = tmp_path / "tiny_city.osm.gz"
    gz.write_bytes(gzip.compress(OSM.read_bytes()))
    for other in (pbf, network.read_network(gz)):
        assert other.node_ids.tolist() == xml.node_ids.tolist()
        assert np.allclose(other.x, xml.x) and np.allclose(other.y, xml.y)
        assert (other.matrix != xml.matrix).nnz == 0


def test_implied_one_way_roads_and_missing_nodes(tmp_path, caplog):
    import osmium
    from osmium.osm.mutable import Node, Way

    path = tmp_path / "implied.osm.pbf"
    with osmium.SimpleWriter(str(path)) as w:
        for i, lon in enumerate([121.550, 121.551, 121.552, 121.553, 121.554], start=1):
            w.add_node(Node(id=i, location=(lon, 29.87)))
        w.add_way(Way(id=1, nodes=[1, 2], tags={"highway": "motorway"}))
        w.add_way(Way(id=2, nodes=[2, 3], tags={"highway": "primary", "junction": "roundabout"}))
        w.add_way(Way(id=3, nodes=[3, 4], tags={"highway": "motorway", "oneway": "no"}))
        w.add_way(Way(id=4, nodes=[4, 99, 5], tags={"highway": "residential"}))  # node 99 is missing
    with caplog.at_level(logging.WARNING, logger="nbgeo.network"):
        net = network.read_network(path)
    assert "missing from the file" in caplog.text
    m = net.matrix
    ids = net.node_ids.tolist()
    assert m[ids.index(1), ids.index(2)] > 0 and m[ids.index(2), ids.index(1)] == 0
    assert m[ids.index(2), ids.index(3)] > 0 and m[ids.index(3), ids.index(2)] == 0
    assert m[ids.index(3), ids.index(4)] > 0 and m[ids.index(4), ids.index(3)] > 0
    # The way through the missing node is cut: node 5 keeps no edge to node 4.
    assert 5 not in ids or m[ids.index(4), ids.index(5)] == 0


def test_osm_reader_agrees_with_osmnx():
    import osmnx as ox

    graph = ox.graph_from_xml(OSM, simplify=False, retain_all=True)
    drive = [(a, b, k) for a, b, k, d in graph.edges(keys=True, data=True) if not network.is_drivable(d)]
    graph.remove_edges_from(drive)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    theirs = network.network_from_graph(graph, crs=NINGBO_TM)
    ours = network.read_network(OSM)
    order = np.argsort(theirs.node_ids)
    assert theirs.node_ids[order].tolist() == ours.node_ids.tolist()
    for target in range(ours.n_nodes):
        d_ours, _ = network.node_distances(ours, [target])
        d_theirs, _ = network.node_distances(theirs, [order[target]])
        assert np.allclose(d_ours, d_theirs[order], equal_nan=True)


def test_graphml_and_geopackage_read_the_same_distances(tmp_path):
    import osmnx as ox

    ours = network.read_network(OSM)
    from_graphml = network.read_network(DATA / "tiny_city.graphml")
    graph = ox.load_graphml(DATA / "tiny_city.graphml")
    gpkg = tmp_path / "tiny_city.gpkg"
    ox.save_graph_geopackage(graph, gpkg)
    from_gpkg = network.read_network(gpkg)
    for other in (from_graphml, from_gpkg):
        ids = other.node_ids.tolist()
        # osmnx simplified away the nodes in the middle of streets (1, 3, 8, ...); these remain.
        for a in (2, 4, 6, 9, 42):
            for b in (2, 5, 7, 42):
                d_other = network.node_distances(other, [ids.index(b)])[0][ids.index(a)]
                assert d_other == pytest.approx(road(ours, a, b), rel=1e-9), (a, b)


def _gpkg_network(path, **kwargs):
    network_cache._MEMORY.clear()
    return network.read_network(path, use_cache=False, **kwargs).to_arrays()


def _same_arrays(a, b):
    assert sorted(a) == sorted(b)
    for name in a:
        assert np.array_equal(a[name], b[name]), name


@pytest.fixture
def osmnx_gpkg(tmp_path):
    """tiny_city as osmnx saves it: curved streets, one row per street, a oneway column of booleans."""
    import osmnx as ox

    gpkg = tmp_path / "tiny_city.gpkg"
    ox.save_graph_geopackage(ox.load_graphml(DATA / "tiny_city.graphml"), gpkg)
    return gpkg


def test_geopackage_read_in_small_batches_or_through_shapely_is_the_same_network(osmnx_gpkg, monkeypatch):
    whole = _gpkg_network(osmnx_gpkg)
    assert len(whole["x"]) > len(gpd.read_file(osmnx_gpkg, layer="nodes"))  # bends of curved streets are nodes
    monkeypatch.setattr(network_read, "GPKG_BATCH_ROWS", 3)  # 3 rows at a time: a street's rows span batches
    _same_arrays(_gpkg_network(osmnx_gpkg), whole)
    # The WKB bytes read directly, or every batch parsed by shapely (as for Z, nulls, multi-part lines).
    monkeypatch.setattr(network_read, "_wkb_vertices", lambda column, kind: None)
    _same_arrays(_gpkg_network(osmnx_gpkg), whole)


def test_geopackage_rows_are_oriented_from_u_to_v_whichever_way_they_are_drawn(tmp_path):
    # One two-way street 1 - 2 drawn from 2 to 1 with a bend, one one-way 2 -> 3 drawn from 2 (its start),
    # one one-way 3 -> 4 drawn from 4 (so 4 -> 3 is the way it goes, as osmnx reads a reversed one-way).
    nodes = gpd.GeoDataFrame({"osmid": [1, 2, 3, 4]},
                             geometry=[Point(0, 0), Point(100, 0), Point(200, 0), Point(300, 0)], crs=UTM)
    edges = gpd.GeoDataFrame(
        {"u": [1, 2, 3], "v": [2, 3, 4], "oneway": ["False", "yes", "True"]},
        geometry=[LineString([(100, 0), (70, 40), (30, 40), (0, 0)]), LineString([(100, 0), (200, 0)]),
                  LineString([(300, 0), (270, 10), (230, 10), (200, 0)])], crs=UTM)
    gpkg = tmp_path / "drawn.gpkg"
    nodes.to_file(gpkg, layer="nodes")
    edges.to_file(gpkg, layer="edges")
    for batch in (1, 100):
        network_read.GPKG_BATCH_ROWS, saved = batch, network_read.GPKG_BATCH_ROWS
        try:
            network_cache._MEMORY.clear()
            net = network.read_network(gpkg, crs=UTM, use_cache=False)
        finally:
            network_read.GPKG_BATCH_ROWS = saved
        ids = net.node_ids.tolist()
        d = {(a, b): network.node_distances(net, [ids.index(b)])[0][ids.index(a)] for a in (1, 2, 3, 4)
             for b in (1, 2, 3, 4)}
        bend = 2 * 50 + 40
        assert d[(1, 2)] == pytest.approx(bend) and d[(2, 1)] == pytest.approx(bend)
        assert d[(2, 3)] == pytest.approx(100) and math.isinf(d[(3, 2)])
        assert d[(4, 3)] == pytest.approx(2 * math.hypot(30, 10) + 40) and math.isinf(d[(3, 4)])
        # The bends are nodes (one per bend, shared by both directions of the two-way street).
        xy = {(round(float(a), 6), round(float(b), 6)) for a, b in zip(net.x, net.y, strict=True)}
        assert len(net.x) == 8 and {(70, 40), (30, 40), (270, 10), (230, 10)} <= xy


def test_network_cache_round_trip_is_uncompressed_and_the_same(osmnx_gpkg, tmp_path):
    import zipfile

    first = network.read_network(osmnx_gpkg)
    entries = list((tmp_path / "cache").rglob("*.npz"))
    assert len(entries) == 1
    with zipfile.ZipFile(entries[0]) as zf:
        assert {info.compress_type for info in zf.infolist()} == {zipfile.ZIP_STORED}
    network_cache._MEMORY.clear()
    again = network.read_network(osmnx_gpkg)
    assert again is not first
    _same_arrays(again.to_arrays(), first.to_arrays())


def _random_streets(seed: int) -> network.RoadNetwork:
    """Random two-way streets over 6 km, most short, some longer than the pieces found from their nodes."""
    rng = np.random.default_rng(seed)
    n = 400
    x, y = rng.uniform(0, 6000, n), rng.uniform(0, 6000, n)
    near = np.argsort(np.hypot(x[:, None] - x, y[:, None] - y), axis=1)[:, 1:4]  # short: three neighbours
    u = np.repeat(np.arange(n), 3)
    v = near.ravel()
    far = rng.integers(0, n, size=(40, 2))  # long: across the map
    u, v = np.concatenate([u, far[:, 0]]), np.concatenate([v, far[:, 1]])
    return network.network_from_arrays(x, y, np.concatenate([u, v]), np.concatenate([v, u]), crs=UTM)


def _random_parks(seed: int, count: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed + 100)
    cx, cy = rng.uniform(-500, 6500, count), rng.uniform(-500, 6500, count)
    size = rng.choice([5.0, 60.0, 400.0, 2500.0], count)  # from a plot to a district
    parks = shapely.buffer(shapely.points(cx, cy), size, quad_segs=3)
    parks[::7] = shapely.box(cx[::7], cy[::7], cx[::7] + size[::7], cy[::7] + 3 * size[::7])
    return parks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crossing_pieces_are_those_a_tree_of_every_piece_finds(seed):
    net = _random_streets(seed)
    parks = _random_parks(seed)
    left, right, segments, pieces = net.crossing_pieces(parks)
    every = net._segments(pieces, np.arange(len(pieces.a)))
    t_left, t_right = shapely.STRtree(every).query(parks, predicate="intersects")
    assert len(t_left) > 100 and (pieces.a != pieces.b).all()
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == sorted(zip(t_left.tolist(), t_right.tolist(), strict=True))
    assert shapely.equals(segments, every[right]).all()


@pytest.mark.parametrize("direction", ["to", "from"])
def test_pieces_inside_a_park_reach_it_as_the_overlay_says(direction, monkeypatch):
    net = _random_streets(3)
    parks = _random_parks(3)
    ours = network.access_points(net, parks, direction=direction, main_component=False)
    # Without the shortcut for pieces the park covers: every piece through the overlay.
    monkeypatch.setattr(shapely, "covers", lambda a, b: np.zeros(len(b), dtype=bool))
    overlay = network.access_points(net, parks, direction=direction, main_component=False)
    assert len(ours.owner) > 200
    for name in ("owner", "node", "offset"):
        assert np.array_equal(getattr(ours, name), getattr(overlay, name)), name


def test_reader_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(InputError, match="remote"):
        network.read_network("https://example.com/city.osm.pbf")
    with pytest.raises(InputError, match="does not exist"):
        network.read_network(tmp_path / "none.osm.pbf")
    text = tmp_path / "roads.osm.pbf"
    text.write_text("id,lon,lat\n1,121.5,29.8\n")
    with pytest.raises(InputError, match="unknown format") as err:
        network.read_network(text)
    assert err.value.code == "E-FORMAT-FORBIDDEN"
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"\x00\x00\x00\x0d\x0a\x09OSMHeader" + b"\xff" * 40)
    with pytest.raises(RoadNetworkError) as err:
        network.read_network(broken)
    assert err.value.code == "E-NET-PARSE"
    from nbgeo import limits
    from nbgeo.errors import LimitError

    with limits.override(max_input_bytes=1000), pytest.raises(LimitError):
        network.read_network(OSM)
    no_roads = tmp_path / "buildings.osm"
    no_roads.write_text('<osm version="0.6"><node id="1" lat="29.87" lon="121.55"/></osm>')
    with pytest.raises(RoadNetworkError) as err:
        network.read_network(no_roads)
    assert err.value.code == "E-NET-EMPTY"


def test_the_matrix_is_cached_on_disk_by_content(tmp_path, monkeypatch):
    copy = tmp_path / "city.osm"
    shutil.copy(OSM, copy)
    first = network.read_network(copy)
    cached = list((Path(nb_settings.cache_folder) / "networks").glob("*.npz"))
    assert len(cached) == 1
    # A new process (empty memory) reads the disk cache, not the file: prove it by breaking the parser.
    monkeypatch.setattr(network_cache, "_MEMORY", {})
    monkeypatch.setattr(network_read, "read_osm", lambda *a, **k: pytest.fail("parsed again"))
    again = network.read_network(copy)
    assert (again.matrix != first.matrix).nnz == 0 and again.crs == first.crs
    # An edited file is a new key.
    copy.write_text(OSM.read_text(encoding="utf-8").replace('lon="121.5520"', 'lon="121.5521"'), encoding="utf-8")
    monkeypatch.undo()
    monkeypatch.setattr(nb_settings, "cache_folder", str(tmp_path / "cache"))
    network.read_network(copy)
    assert len(list((Path(nb_settings.cache_folder) / "networks").glob("*.npz"))) == 2


def test_network_round_trips_through_bytes(block):
    back = network.RoadNetwork.from_bytes(block.to_bytes())
    assert (back.matrix != block.matrix).nnz == 0
    assert back.node_ids.tolist() == block.node_ids.tolist() and back.crs == block.crs


def test_to_gdf_has_one_line_per_street(block):
    gdf = block.to_gdf()
    assert len(gdf) == 6
    one_way = gdf.set_index(["u", "v"])["oneway"]
    assert one_way[(2, 3)] and one_way[(3, 4)] and not one_way[(0, 1)]


# ---- downloading, against a local stand-in for Overpass and Nominatim ---------------------------

POLYGON = box(121.549, 29.869, 121.557, 29.875)


def _overpass_json() -> dict:
    """The Overpass answer for tiny_city.osm's drivable ways, as the real API would give it."""
    import xml.etree.ElementTree as ET

    root = ET.parse(OSM).getroot()
    elements = [{"type": "node", "id": int(n.get("id")), "lat": float(n.get("lat")), "lon": float(n.get("lon"))}
                for n in root.iter("node")]
    for w in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        if network.is_drivable(tags):
            elements.append({"type": "way", "id": int(w.get("id")),
                             "nodes": [int(nd.get("ref")) for nd in w.iter("nd")], "tags": tags})
    return {"version": 0.6, "generator": "nbgeo test stand-in", "elements": elements}


@pytest.fixture
def stand_in(monkeypatch):
    """A tiny HTTP server on 127.0.0.1 answering like Overpass and Nominatim; counts requests."""
    import osmnx as ox

    hits: list[str] = []
    overpass = json.dumps(_overpass_json()).encode()
    nominatim = json.dumps([{
        "place_id": 1, "osm_type": "relation", "osm_id": 1, "lat": "29.872", "lon": "121.553",
        "display_name": "Tiny City", "class": "boundary", "type": "administrative", "importance": 0.9,
        "boundingbox": ["29.869", "29.875", "121.549", "121.557"], "geojson": shapely.geometry.mapping(POLYGON),
    }]).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            hits.append(self.path)
            self._send(nominatim if self.path.startswith("/nominatim/search") else b"{}")

        def do_POST(self):
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(overpass)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(ox.settings, "overpass_url", base + "/api")
    monkeypatch.setattr(ox.settings, "nominatim_url", base + "/nominatim/")
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    yield hits
    server.shutdown()
    server.server_close()


def test_download_by_polygon_is_cached(stand_in):
    net = network.network_from_polygon(POLYGON)
    assert stand_in == ["/api/interpreter"]
    assert "ODbL" in net.meta.licence
    ours = network.read_network(OSM)
    for a, b in ((4, 6), (6, 4), (9, 7), (42, 2)):
        assert road(net, a, b) == pytest.approx(road(ours, a, b), rel=1e-9)
    # Again: from memory; then from disk in a "new process"; no new request either time.
    network.network_from_polygon(POLYGON)
    network_cache._MEMORY.clear()
    again = network.network_from_polygon(POLYGON)
    assert stand_in == ["/api/interpreter"]
    assert (again.matrix != net.matrix).nnz == 0


def test_download_by_place_name(stand_in):
    net = network.network_from_place("Tiny City")
    assert [h.split("?")[0] for h in stand_in] == ["/nominatim/search", "/api/interpreter"]
    ours = network.read_network(OSM)
    for a, b in ((4, 6), (6, 4), (7, 9)):
        assert road(net, a, b) == pytest.approx(road(ours, a, b), rel=1e-9)


# ---- the sample's illustrative road network, and the script that makes it ---------------------


@pytest.fixture(scope="module")
def sample_roads():
    from nbgeo import io

    ds = io.read_sample()
    return ds, network.read_dataset_network(ds)


def test_sample_roads_are_declared_illustrative_and_small():
    from nbgeo import datasets

    (source,) = network.dataset_networks(datasets.get_path("ningbo")).values()
    assert source.meta.illustrative and "Illustrative" in source.meta.note
    assert source.path.stat().st_size < 2 * 1024 * 1024


def test_sample_roads_fit_the_districts_and_are_one_network(sample_roads):
    ds, net = sample_roads
    land = shapely.union_all(ds.metric("districts").geometry.values).buffer(10)
    assert shapely.contains_xy(land, net.x, net.y).all()
    assert net.in_main_component.mean() > 0.95
    streets = net.to_gdf()
    assert streets["oneway"].sum() > 1000  # the old town, the expressways and their ramps


def test_sample_roads_carry_the_smart_roads_and_reach_every_park(sample_roads):
    ds, net = sample_roads
    smart = ds.metric("smart_roads")
    vertices = shapely.get_coordinates(smart.geometry.values)
    _, gap = net.snap(vertices, main_component=False)
    assert gap.max() < 1.0
    streets = shapely.STRtree(np.asarray(net.to_gdf().geometry.values))
    for layer in ("featured_parks", "micro_parks"):
        parks = np.asarray(ds.metric(layer).geometry.values)
        crossed = np.unique(streets.query(parks, predicate="intersects")[0])
        assert len(crossed) == len(parks), layer
        # ...so every park is reached at no snapping distance.
        acc = network.access_points(net, parks, main_component=False)
        nearest = np.full(len(parks), np.inf)
        np.minimum.at(nearest, acc.owner, acc.offset)
        assert np.median(nearest) == 0.0 and nearest.max() < 200, layer


def test_make_roads_is_deterministic_and_readable(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_roads", Path(__file__).parents[1] / "scripts" / "make_roads.py")
    make_roads = importlib.util.module_from_spec(spec)
    sys.modules["make_roads"] = make_roads  # dataclasses look their module up there
    spec.loader.exec_module(make_roads)
    box_args = ["--bbox", "121.50", "29.84", "121.60", "29.91", "--quiet"]
    first = make_roads.main([*box_args, "--out", str(tmp_path / "a")])
    second = make_roads.main([*box_args, "--out", str(tmp_path / "b")])
    assert first.read_bytes() == second.read_bytes()
    net = network.read_network(first)
    assert net.n_nodes > 1000 and net.in_main_component.mean() > 0.9
    # The old town's one-way streets are there.
    assert network.road_pieces(net).has_ab.sum() != network.road_pieces(net).has_ba.sum() or (
        net.to_gdf()["oneway"].any())


def test_osm_xml_entities_are_refused(tmp_path):
    # An external entity would read a local file into a street name (XXE); osmium refuses entities.
    evil = tmp_path / "evil.osm"
    evil.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n'
        '<osm version="0.6"><node id="1" lat="29.87" lon="121.55"/><node id="2" lat="29.871" lon="121.55"/>'
        '<way id="3"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/><tag k="name" v="&secret;"/>'
        "</way></osm>\n", encoding="utf-8")
    with pytest.raises(RoadNetworkError, match="entities are not supported") as err:
        network.read_network(evil)
    assert err.value.code == "E-NET-PARSE"
