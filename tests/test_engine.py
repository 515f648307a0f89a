"""The engines: exact sums, chunking, and the Dask engine giving the default engine's results exactly."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import box

from nbgeo import audit, targets
from nbgeo.cli import main
from nbgeo.crs import NINGBO_TM
from nbgeo.engine import DaskEngine, DefaultEngine, ExactSum, get_engine
from nbgeo.errors import CRSError, InputError
from nbgeo.layers import Dataset
from nbgeo.plan import Plan, Target

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

# --------------------------------------------------------------------------------------------------------------
# Exact sums
# --------------------------------------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, max_size=60), st.integers(min_value=0, max_value=60))
def test_exact_sum_is_correctly_rounded_and_split_invariant(values: list[float], cut: int) -> None:
    arr = np.array(values, dtype=np.float64)
    cut = min(cut, len(arr))
    exact = sum((Fraction(v) for v in values), Fraction(0))
    try:
        expected = float(exact)  # correctly rounded
    except OverflowError:  # the exact sum rounds beyond the float range
        expected = math.inf if exact > 0 else -math.inf
    whole = ExactSum.of(np.zeros(len(arr), dtype=np.int64), arr, 1).values()[0]
    halves = (ExactSum.of(np.zeros(cut, dtype=np.int64), arr[:cut], 1)
              + ExactSum.of(np.zeros(len(arr) - cut, dtype=np.int64), arr[cut:], 1)).values()[0]
    if math.isinf(expected):
        assert math.isinf(whole) and math.isinf(halves)
    else:
        assert whole == expected and halves == expected


def test_exact_sum_groups_and_specials() -> None:
    groups = np.array([0, 1, 1, 2, 2, 2, 3])
    values = np.array([np.nan, np.inf, 1.0, np.inf, -np.inf, 5.0, 5e-324])
    out = ExactSum.of(groups, values, 5).values()
    assert out[0] == 0.0 and out[1] == np.inf and np.isnan(out[2]) and out[3] == 5e-324 and out[4] == 0.0
    running = ExactSum.of(np.array([0, 1, 2]), np.array([0.1, 0.2, 0.3]), 3).cumulative().values()
    assert running.tolist() == [0.1, math.fsum([0.1, 0.2]), math.fsum([0.1, 0.2, 0.3])]


# --------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    """Random points, parcels and overlapping zones in the working CRS, with missing values and ties."""
    rng = np.random.default_rng(42)
    crs = NINGBO_TM
    n = 4000
    x, y = rng.uniform(0, 10_000, n), rng.uniform(0, 10_000, n)
    x[:50], y[:50] = np.round(x[:50] / 1000) * 1000, 500.0  # on zone edges: not `within`
    points = gpd.GeoDataFrame(
        {"year": rng.integers(2018, 2027, n).astype(float), "kw": rng.lognormal(3, 2, n), "kind": rng.choice(["a", "b"], n)},
        geometry=gpd.points_from_xy(x, y), crs=crs, index=[f"P{i:05d}" for i in range(n)])
    points.loc[points.index[::97], "year"] = np.nan
    points.loc[points.index[::89], "kw"] = np.nan
    zones = gpd.GeoDataFrame({"name": [f"z{i}" for i in range(30)]}, geometry=[
        box(c * 1000 + (r % 2) * 300, r * 1000, c * 1000 + 1400, r * 1000 + 1200) for r in range(5) for c in range(6)],
        crs=crs, index=[f"Z{i:02d}" for i in range(30)])
    ox, oy = rng.uniform(0, 9_800, 800), rng.uniform(0, 9_800, 800)
    parcels = gpd.GeoDataFrame({"use": rng.choice(["industrial", "commercial", "other"], 800),
                                "year": rng.integers(2021, 2026, 800)},
                               geometry=shapely.box(ox, oy, ox + rng.uniform(20, 200, 800), oy + 80), crs=crs,
                               index=[f"L{i:04d}" for i in range(800)])
    facilities = points.iloc[::40].copy()  # targets for snapping share coordinates: exact ties
    facilities.index = [f"F{i:03d}" for i in range(len(facilities))]
    facilities = pd.concat([facilities, facilities.iloc[:5].set_axis([f"G{i}" for i in range(5)])])
    return {"points": points, "zones": zones, "parcels": parcels, "facilities": facilities}


@pytest.fixture(scope="module")
def dask_engine():
    with DaskEngine(n_workers=2, partition_rows=700) as engine:
        yield engine


# --------------------------------------------------------------------------------------------------------------
# The default engine against plain geopandas, and independent of its chunk size
# --------------------------------------------------------------------------------------------------------------


def test_points_in_polygons_matches_sjoin(layers) -> None:
    got = DefaultEngine(chunk_rows=333).points_in_polygons(layers["points"], layers["zones"])
    ref = gpd.sjoin(layers["points"], layers["zones"], predicate="within")
    assert sorted(zip(got["left"], got["right"], strict=True)) == sorted(
        zip(ref.index, ref["index_right"], strict=True))
    position = {fid: i for i, fid in enumerate(layers["points"].index)}
    order = [position[f] for f in got["left"]]
    assert order == sorted(order)
    assert got["left"].duplicated().any()  # overlapping zones give a point two rows


def test_within_distance_matches_brute_force(layers) -> None:
    pts, parcels = layers["points"].iloc[:600], layers["parcels"]
    got = DefaultEngine(chunk_rows=101).within_distance(pts, parcels, 150.0)
    dist = shapely.distance(np.asarray(pts.geometry.values)[:, None], np.asarray(parcels.geometry.values)[None, :])
    li, ri = np.nonzero(dist <= 150.0)
    assert list(zip(got["left"], got["right"], strict=True)) == list(
        zip(pts.index[li], parcels.index[ri], strict=True))
    assert np.array_equal(got["distance"].to_numpy(), dist[li, ri])


def test_within_distance_per_feature_reach(layers) -> None:
    pts, parcels = layers["points"].iloc[:400], layers["parcels"]
    reach = np.where(parcels["use"] == "industrial", 300.0, 60.0)
    got = DefaultEngine(chunk_rows=77).within_distance(pts, parcels, reach)
    dist = shapely.distance(np.asarray(pts.geometry.values)[:, None], np.asarray(parcels.geometry.values)[None, :])
    li, ri = np.nonzero(dist <= reach[None, :])
    assert list(zip(got["left"], got["right"], strict=True)) == list(
        zip(pts.index[li], parcels.index[ri], strict=True))
    with pytest.raises(InputError):
        DefaultEngine().within_distance(pts, parcels, reach[:-1])


def test_snap_matches_brute_force_with_first_tie(layers) -> None:
    pts, fac = layers["points"].iloc[:500], layers["facilities"]
    got = DefaultEngine(chunk_rows=64).snap(pts, fac, max_distance=400.0)
    dist = shapely.distance(np.asarray(pts.geometry.values)[:, None], np.asarray(fac.geometry.values)[None, :])
    best = dist.argmin(axis=1)  # argmin takes the first of equal distances
    near = dist[np.arange(len(pts)), best] <= 400.0
    assert list(got["point"]) == list(pts.index)
    assert [t if isinstance(t, str) else None for t in got["target"]] == [
        fac.index[b] if ok else None for b, ok in zip(best, near, strict=True)]
    assert np.allclose(got["distance"].to_numpy()[near], dist[np.arange(len(pts)), best][near], rtol=0, atol=1e-9)
    assert got["distance"].isna().sum() == (~near).sum() > 0


def test_zonal_yearly_matches_pandas(layers) -> None:
    pts, zones = layers["points"], layers["zones"]
    got = DefaultEngine(chunk_rows=500).zonal_yearly(pts, zones, values=["kw"])
    pairs = gpd.sjoin(pts, zones, predicate="within").dropna(subset=["year"])
    ref = pairs.groupby(["index_right", "year"]).agg(count=("kw", "size"), kw=("kw", lambda s: math.fsum(s.dropna())))
    assert got["count"].tolist() == ref["count"].tolist()
    assert got["kw"].tolist() == ref["kw"].tolist()
    cumulative = DefaultEngine().zonal_yearly(pts, zones, values=["kw"], cumulative=True, years=range(2018, 2027))
    assert len(cumulative) == 30 * 9
    assert cumulative.loc[("Z00", 2026), "count"] == (got.loc["Z00", "count"].sum())


@pytest.mark.parametrize("op", ["points_in_polygons", "within_distance", "snap", "zonal_yearly", "yearly_totals"])
def test_default_engine_does_not_depend_on_chunk_size(layers, op: str) -> None:
    def run(engine):
        return _run_op(engine, op, layers)

    pd.testing.assert_frame_equal(run(DefaultEngine(chunk_rows=333)), run(DefaultEngine()), check_exact=True)


def _run_op(engine, op: str, layers, points=None):
    pts = layers["points"] if points is None else points
    if op == "points_in_polygons":
        return engine.points_in_polygons(pts, layers["zones"])
    if op == "within_distance":
        return engine.within_distance(pts, layers["parcels"], 120.0)
    if op == "within_classed_distance":
        return engine.within_distance(pts, layers["parcels"], np.where(layers["parcels"]["use"] == "other", 250.0, 90.0))
    if op == "snap":
        return engine.snap(pts, layers["facilities"], max_distance=300.0)
    if op == "zonal_yearly":
        return engine.zonal_yearly(pts, layers["zones"], values=["kw"], cumulative=True)
    return engine.yearly_totals(pts, values=["kw"], by="kind", cumulative=True)


def test_wrong_crs_and_parameters(layers) -> None:
    engine = DefaultEngine()
    with pytest.raises(CRSError) as err:
        engine.points_in_polygons(layers["points"].to_crs(4326), layers["zones"])
    assert err.value.code == "E-CRS-MISMATCH"
    with pytest.raises(CRSError) as err:
        engine.within_distance(layers["points"].to_crs(4326), layers["zones"].to_crs(4326), 10)
    assert err.value.code == "E-CRS-UNITS"
    with pytest.raises(InputError) as err:
        engine.within_distance(layers["points"], layers["zones"], float("nan"))
    assert err.value.code == "E-PARAM-RANGE"
    with pytest.raises(InputError) as err:
        get_engine("default", scheduler="tcp://127.0.0.1:8786")
    assert err.value.code == "E-ENGINE-SCHEDULER"


# --------------------------------------------------------------------------------------------------------------
# The Dask engine gives the default engine's results, exactly
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["points_in_polygons", "within_distance", "within_classed_distance", "snap",
                                "zonal_yearly", "yearly_totals"])
def test_dask_equals_default(dask_engine, layers, op: str) -> None:
    expected = _run_op(DefaultEngine(), op, layers)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(_run_op(dask_engine, op, layers), expected, check_exact=True)


@pytest.mark.parametrize("op", ["points_in_polygons", "snap", "zonal_yearly"])
def test_dask_geopandas_input_stays_partitioned(dask_engine, layers, op: str) -> None:
    import dask
    import dask_geopandas

    # Dask turns strings into pyarrow strings by default; keep pandas' own so that the ids compare equal.
    with dask.config.set({"dataframe.convert-string": False}):
        partitioned = dask_geopandas.from_geopandas(layers["points"], npartitions=5)
    expected = _run_op(DefaultEngine(), op, layers)
    pd.testing.assert_frame_equal(_run_op(dask_engine, op, layers, points=partitioned), expected, check_exact=True)


def _all_metrics_plan() -> Plan:
    """Targets exercising every metric, filter, weight and year mode, plus ones that cannot be measured."""
    t = [
        Target(id="count_a", layer="points", metric="count", threshold=100, where={"kind": "a"}),
        Target(id="sum_kw", layer="points", metric="sum", column="kw", threshold=1e5, since=2021),
        Target(id="yearly_kw", layer="points", metric="sum", column="kw", threshold=1e4, years="each_year"),
        Target(id="industrial_area", layer="parcels", metric="area", unit="ha", threshold=10,
               where={"use": "industrial"}),
        Target(id="area_km2", layer="parcels", metric="area", unit="km2", threshold=1),
        Target(id="roads_km", layer="roads", metric="length", unit="km", threshold=5, year_column=""),
        Target(id="share_area", layer="parcels", metric="share", unit="%", threshold=35, years="each_year",
               numerator={"use": "industrial"}, weight="area"),
        Target(id="share_count", layer="parcels", metric="share", unit="%", threshold=30, numerator={"use": "other"},
               weight="count"),
        Target(id="share_kw", layer="points", metric="share", unit="%", threshold=50, numerator={"kind": "b"},
               weight="kw", years="each_year"),
        Target(id="tiers", layer="zones_out", metric="tier_count", column="out_{year}", tier="big",
               tiers={"big": 100.0, "mid": 50.0}, threshold=3, year_column=""),
        Target(id="no_layer", layer="nowhere", metric="count", threshold=1),
        Target(id="no_column", layer="points", metric="sum", column="missing", threshold=1),
        Target(id="empty_share", layer="parcels", metric="share", unit="%", threshold=1, numerator={"use": "x"},
               weight="count", where={"use": "none"}),
    ]
    return Plan(id="test", title="test", baseline=2020, horizon=2025, targets=tuple(t))


def _all_metrics_dataset(layers) -> Dataset:
    rng = np.random.default_rng(3)
    roads = gpd.GeoDataFrame({"name": ["r"] * 40}, geometry=[
        shapely.LineString(rng.uniform(0, 9000, (4, 2))) for _ in range(40)], crs=NINGBO_TM)
    zones = layers["zones"].copy()
    for year in range(2020, 2026):
        zones[f"out_{year}"] = rng.uniform(20, 160, len(zones))
    zones.loc[zones.index[3], "out_2025"] = np.nan
    gdfs = {"points": layers["points"], "parcels": layers["parcels"], "roads": roads, "zones_out": zones}
    return Dataset.from_gdfs(gdfs, name="random")


@pytest.mark.parametrize("year", [2021, 2023, 2025])
def test_dask_targets_equal_default_targets(dask_engine, layers, year: int) -> None:
    plan, ds = _all_metrics_plan(), _all_metrics_dataset(layers)
    expected = targets.evaluate_targets(plan, ds, year=year)
    got = dask_engine.evaluate_targets(plan, ds, year=year)
    assert got == expected
    statuses = {r.id: r.status for r in got}
    assert statuses["no_layer"] == statuses["no_column"] == statuses["empty_share"] == "unknown"
    assert {"met", "not_met"} <= set(statuses.values())


def test_dask_rules_equal_default_rules(dask_engine, sample, ningbo_plan) -> None:
    """Every siting rule of the sample plan: verdicts, reasons and offending geometry are the same."""
    from geopandas.testing import assert_geodataframe_equal

    from nbgeo import rules

    expected = rules.evaluate_rules(ningbo_plan, sample)
    got = dask_engine.evaluate_rules(ningbo_plan, sample)
    kinds = {r.rule.kind for r in expected}
    assert {"setback", "exclusion", "within", "spacing"} <= kinds
    assert any(r.failed for r in expected)
    for a, b in zip(expected, got, strict=True):
        pd.testing.assert_frame_equal(b.frame, a.frame, check_exact=True)
        assert (b.note, b.to_dict(all_findings=True)) == (a.note, a.to_dict(all_findings=True))
        assert_geodataframe_equal(b.offending(), a.offending())


def test_dask_snap_equals_coverage_straight_distances(dask_engine, sample) -> None:
    """Coverage's straight-line snapping (each site to its nearest facility), on the cluster: same numbers."""
    from nbgeo import coverage

    parks, chargers = sample.metric("micro_parks"), sample.metric("chargers")
    expected = coverage.site_distances(parks, chargers, by="straight")  # both in the sample's working CRS
    got = dask_engine.snap(parks, chargers)
    assert list(got["point"]) == list(expected.index)
    assert np.array_equal(got["distance"].to_numpy(), expected["distance"].to_numpy())
    # Several chargers inside one park are all at distance 0: either may be named; the engine names the first.
    inside = expected["distance"].to_numpy() == 0
    assert got["target"][~inside].tolist() == expected["facility"][~inside].tolist()
    chosen = chargers.geometry.loc[got["target"][inside]].to_numpy()
    assert (shapely.distance(parks.geometry.to_numpy()[inside], chosen) == 0).all()


def test_dask_snap_to_road_nodes_equals_network_snap(dask_engine) -> None:
    """Snapping demand points to a road network's nodes, as nbgeo.network does it."""
    from nbgeo import network

    rng = np.random.default_rng(5)
    side = 30
    gx, gy = np.meshgrid(np.arange(side) * 100.0, np.arange(side) * 100.0)
    x, y = gx.ravel() + rng.normal(0, 7, side * side), gy.ravel() + rng.normal(0, 7, side * side)
    ids = np.arange(side * side).reshape(side, side)
    u = np.r_[ids[:, :-1].ravel(), ids[:, 1:].ravel(), ids[:-1, :].ravel(), ids[1:, :].ravel()]
    v = np.r_[ids[:, 1:].ravel(), ids[:, :-1].ravel(), ids[1:, :].ravel(), ids[:-1, :].ravel()]
    net = network.network_from_arrays(x, y, u, v, crs=NINGBO_TM)
    pts = rng.uniform(0, 2900, (3000, 2))
    nodes, dist = net.snap(pts)
    node_layer = gpd.GeoDataFrame(geometry=gpd.points_from_xy(net.x, net.y), crs=NINGBO_TM)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=NINGBO_TM)
    got = dask_engine.snap(points, node_layer)
    assert got["target"].tolist() == nodes.tolist()
    assert np.allclose(got["distance"].to_numpy(), dist, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------------------------------------------
# Coverage snapping on the engines: the default engine's coverage, number for number
# --------------------------------------------------------------------------------------------------------------


def _spy(monkeypatch, engine, *names: str) -> Counter:
    """Count the calls of some of an engine's methods, so a test knows the engine did the work."""
    calls: Counter = Counter()
    for name in names:
        method = getattr(engine, name)

        def counted(*args, _method=method, _name=name, **kwargs):
            calls[_name] += 1
            return _method(*args, **kwargs)

        monkeypatch.setattr(engine, name, counted)
    return calls


def _assert_same_coverage(got, expected) -> None:
    """Two Coverage results unit by unit: sites, weights, distances, snapping distances, facilities, covered parts."""
    assert list(got.units.columns) == list(expected.units.columns)
    assert got.units.geometry.geom_equals_exact(expected.units.geometry, tolerance=0).all()
    pd.testing.assert_frame_equal(pd.DataFrame(got.units.drop(columns="geometry")),
                                  pd.DataFrame(expected.units.drop(columns="geometry")),
                                  check_exact=False, rtol=0, atol=1e-9)
    assert (got.share, got.covered, got.total) == (expected.share, expected.covered, expected.total)


def test_engine_access_points_equal_network_access_points(dask_engine) -> None:
    """Points, polygons (with roads crossing them) and lines join the network as nbgeo.network joins them."""
    from nbgeo import network

    net = _grid_with_island()
    rng = np.random.default_rng(11)
    xy = np.r_[rng.uniform([OX - 150, OY - 150], [OX + 650, OY + 650], (1400, 2)),
               rng.uniform([OX + 2900, OY - 100], [OX + 3200, OY + 100], (100, 2))]  # beside the island
    geoms = list(shapely.points(xy))
    geoms += list(shapely.box(xy[:300, 0], xy[:300, 1], xy[:300, 0] + rng.uniform(5, 150, 300),
                              xy[:300, 1] + rng.uniform(5, 150, 300)))
    geoms += [shapely.LineString([p, p + 90]) for p in xy[:200]] + [None, shapely.Point()]
    features = gpd.GeoSeries(geoms, crs=net.crs)
    for direction, max_snap in (("to", None), ("from", 60.0)):
        expected = network.access_points(net, np.asarray(features.values), max_snap=max_snap, direction=direction)
        reached = len(np.unique(expected.owner))
        assert len(expected.owner) > reached > 1000  # polygons and lines reach several nodes
        assert reached < len(features) - 2 if max_snap else reached == len(features) - 2  # all but the missing
        for engine in (DefaultEngine(chunk_rows=97), dask_engine):
            got = engine.access_points(net, features, max_snap=max_snap, direction=direction)
            assert got.n_features == expected.n_features == len(features)
            assert np.array_equal(got.owner, expected.owner) and np.array_equal(got.node, expected.node)
            assert np.array_equal(got.offset, expected.offset)
    with pytest.raises(CRSError) as err:
        dask_engine.access_points(net, features.set_crs(4326, allow_override=True))
    assert err.value.code == "E-CRS-MISMATCH"


# A 6 × 6 street grid of 100 m blocks whose third row is one-way (east), and a two-node island 3 km east.
OX, OY = 505_000.0, 3_305_000.0


def _grid_with_island():
    from nbgeo import network

    n = 6
    ids = np.arange(n * n).reshape(n, n)
    x = np.r_[OX + np.tile(np.arange(n) * 100.0, n), OX + 3000.0, OX + 3100.0]
    y = np.r_[OY + np.repeat(np.arange(n) * 100.0, n), OY, OY]
    east = (ids[:, :-1].ravel(), ids[:, 1:].ravel())
    two_way = ids[:, :-1] != ids[2, 0]  # every row but the third also runs west
    west = (ids[:, 1:][two_way].ravel(), ids[:, :-1][two_way].ravel())
    north, south = (ids[:-1, :].ravel(), ids[1:, :].ravel()), (ids[1:, :].ravel(), ids[:-1, :].ravel())
    u = np.concatenate([east[0], west[0], north[0], south[0], [36, 37]])
    v = np.concatenate([east[1], west[1], north[1], south[1], [37, 36]])
    return network.network_from_arrays(x, y, u, v, crs=NINGBO_TM)


def _tie_layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Demand and facilities with exact ties, a park crossed by a road, off-network and missing sites."""
    p = shapely.Point
    facilities = gpd.GeoDataFrame(
        {"year": [2021, 2021, 2022, 2023, 2021, 2024]},
        geometry=[p(OX + 300, OY + 300), p(OX + 300, OY + 300), p(OX + 100, OY + 100), p(OX + 455, OY + 230),
                  p(OX + 3050, OY + 5), None],
        crs=NINGBO_TM, index=["Fz", "Fa", "Fm", "Fy", "Fi", "Fn"])
    demand = gpd.GeoDataFrame(
        {"year": [2021, 2021, 2022, 2022, 2021, 2023, 2021, 2024]},
        geometry=[p(OX + 200, OY + 200),  # 141.42 m from Fz, Fa and Fm, 200 m from each by road
                  box(OX + 280, OY + 280, OX + 320, OY + 320),  # holds Fz and Fa
                  box(OX + 140, OY + 390, OX + 160, OY + 410),  # crossed by a road, no node inside
                  shapely.LineString([(OX + 10, OY + 250), (OX + 90, OY + 250)]),
                  p(OX + 2000, OY + 2000),  # 2.1 km from the network: off it with max_snap
                  p(OX + 3100, OY + 10),  # beside the island, which nobody snaps to
                  None, p(OX + 250, OY + 210)],
        crs=NINGBO_TM, index=["tie", "park", "crossed", "line", "off", "island", "none", "mid"])
    return demand, facilities


@pytest.mark.parametrize(("by", "direction", "max_snap", "limit"), [
    ("road", "to", None, None), ("road", "from", None, 800.0), ("road", "to", 150.0, 800.0),
    ("straight", "to", None, None), ("straight", "to", None, 150.0)])
def test_coverage_distances_on_engines_equal_in_process(dask_engine, monkeypatch, by, direction, max_snap,
                                                         limit) -> None:
    from nbgeo import coverage

    net = _grid_with_island()
    demand, facilities = _tie_layers()
    expected = coverage.site_distances(demand, facilities, by=by, network=net, distance=limit, max_snap=max_snap,
                                       direction=direction)
    calls = _spy(monkeypatch, dask_engine, "snap", "access_points")
    for engine in (DefaultEngine(chunk_rows=3), dask_engine):
        got = coverage.site_distances(demand, facilities, by=by, network=net, distance=limit, max_snap=max_snap,
                                      direction=direction, engine=engine)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=0, atol=1e-9)
        assert got["facility"].tolist() == expected["facility"].tolist()
        none = coverage.site_distances(demand, facilities.iloc[:0], by=by, network=net, distance=limit,
                                       max_snap=max_snap, direction=direction, engine=engine)
        assert np.isinf(none["distance"]).all() and none["facility"].isna().all()
    assert calls["access_points" if by == "road" else "snap"] > 0
    # What the ties and the odd sites must give, whichever engine measured them.
    d = expected["distance"]
    assert np.isinf(d["none"]) and expected.loc["none", "facility"] is None
    if by == "straight":
        # Fz, Fa and Fm are equally near: the first listed is named; so is Fz of the two chargers in the park.
        assert expected.loc["tie", "facility"] == "Fz" and d["tie"] == pytest.approx(100 * math.sqrt(2))
        assert expected.loc["park", "facility"] == "Fz" and d["park"] == 0.0
        assert d["crossed"] == pytest.approx(math.hypot(140, 90)) if not limit else np.isinf(d["crossed"])
        assert expected.loc["island", "facility"] == "Fi" and d["island"] == pytest.approx(math.hypot(50, 5))
    else:
        # By road from the node under "tie" to Fz (east, then north) or to Fm (south, then west; row 3 is one-way).
        assert d["tie"] == pytest.approx(200.0) and expected.loc["tie", "facility"] in ("Fz", "Fm")
        # The park crossed by a road: 40 m along it to a node, then 200 m by road, no node inside needed.
        assert d["crossed"] == pytest.approx(240.0) and expected.loc["crossed", "snap"] == pytest.approx(40.0)
        if max_snap:  # 2.1 km and 2.6 km from the main grid: off the network
            assert np.isinf(d["off"]) and np.isinf(d["island"]) and expected.loc["off", "facility"] is None
        else:  # the island's own nodes are never snapped to
            assert expected.loc["island", "snap"] == pytest.approx(math.hypot(2600, 10))


def _tie_dataset():
    demand, facilities = _tie_layers()
    return Dataset.from_gdfs({"sites": demand, "posts": facilities}, name="ties")


def _tie_specs():
    from nbgeo.plan import CoverageSpec

    common = {"years": "each_year", "threshold": 60.0}
    return (
        CoverageSpec(id="road", demand="sites", facilities="posts", params={**common, "distance": 250.0}),
        CoverageSpec(id="road_from_snap", demand="sites", facilities="posts",
                     params={**common, "distance": 300.0, "direction": "from", "max_snap": 150.0}),
        CoverageSpec(id="road_grid", demand="sites", facilities="posts",
                     params={**common, "distance": 200.0, "weight": "area", "split": "grid", "cell": 10.0}),
        CoverageSpec(id="line", demand="sites", facilities="posts",
                     params={**common, "distance": 150.0, "mode": "straight"}),
        CoverageSpec(id="line_pieces", demand="sites", facilities="posts",
                     params={**common, "distance": 100.0, "mode": "straight", "weight": "length", "split": "length",
                             "cell": 7.0}),
    )


def test_coverage_requirements_on_engines_equal_in_process(dask_engine, monkeypatch) -> None:
    """Each year's verdict, share, uncovered list and map overlays of hand-made requirements, by road and straight."""
    from geopandas.testing import assert_geodataframe_equal

    from nbgeo import coverage

    ds, net = _tie_dataset(), _grid_with_island()
    plan = Plan(id="ties", title="ties", baseline=2020, horizon=2025, coverage=_tie_specs())
    calls = _spy(monkeypatch, dask_engine, "snap", "access_points")
    runs = {}
    for name, engine in (("none", None), ("chunked", DefaultEngine(chunk_rows=4)), ("dask", dask_engine)):
        runs[name] = [coverage.evaluate_coverage(spec, ds, year=2025, plan=plan, networks={"roads": net},
                                                 engine=engine) for spec in plan.coverage]
    assert calls["snap"] >= 2 * 5 and calls["access_points"] >= 3 * 2
    expected = runs["none"]
    statuses = {e["status"] for entries, _ in expected for e in entries}
    assert statuses == {"met", "not_met"}
    assert any(e["uncovered"] and e["uncovered"][0]["distance_m"] for entries, _ in expected for e in entries)
    for name in ("chunked", "dask"):
        for (entries, shapes), (want, want_shapes) in zip(runs[name], expected, strict=True):
            assert entries == want, name
            assert list(shapes) == list(want_shapes)
            for title, shape in want_shapes.items():
                assert_geodataframe_equal(shapes[title], shape)


def test_sample_coverage_on_dask_equals_in_process(dask_engine, sample, ningbo_plan, monkeypatch) -> None:
    """Every coverage requirement of the sample plan (by road and in a straight line), unit by unit and year by year.

    Every measured Coverage (each requirement, each year) is recorded from both runs and compared at full
    precision: distances, snapping distances, facilities named, covered weights; then the audit entries
    (verdicts, shares, uncovered lists, districts, snapping statistics) and the map overlays.
    """
    from geopandas.testing import assert_geodataframe_equal

    from nbgeo import coverage
    from nbgeo.coverage import requirements

    assert {requirements._spec_params(s)["mode"] for s in ningbo_plan.coverage} == {"network", "straight"}
    real = requirements.cover_units

    def run(engine):
        measured = []

        def record(*args, **kwargs):
            measured.append(real(*args, **kwargs))
            return measured[-1]

        monkeypatch.setattr(requirements, "cover_units", record)
        entries, shapes = coverage.evaluate_plan_coverage(ningbo_plan, sample, engine=engine)
        monkeypatch.setattr(requirements, "cover_units", real)
        return entries, shapes, measured

    expected, want_shapes, want_measured = run(None)
    calls = _spy(monkeypatch, dask_engine, "snap", "access_points")
    got, shapes, measured = run(dask_engine)
    # Demand units and facilities of both network requirements joined the network on the cluster (plus the
    # service areas' facilities); each year of both straight requirements was snapped there.
    assert calls["access_points"] == 2 * 2 + 2 and calls["snap"] == 2 * len(ningbo_plan.years)
    assert len(measured) == len(want_measured) == len(ningbo_plan.coverage) * len(ningbo_plan.years)
    for cov, want in zip(measured, want_measured, strict=True):
        _assert_same_coverage(cov, want)
    assert got == expected
    assert list(shapes) == list(want_shapes)
    for title, shape in want_shapes.items():
        assert_geodataframe_equal(shapes[title], shape)
    # Real numbers were compared: finite distances beyond the service distance, snapping distances, both verdicts.
    units = [c.units for c in want_measured]
    assert all(len(u) and np.isfinite(u["distance"]).any() for u in units)
    assert any((np.isfinite(u["distance"]) & (u["covered"] == 0)).any() for u in units)
    assert sum("snap" in u.columns and bool((u["snap"] > 0).any()) for u in units) == 2 * len(ningbo_plan.years)
    assert "not_met" in {e["status"] for e in expected}
    assert all(e["uncovered"] for e in expected if e["status"] == "not_met")


def test_cli_coverage_on_a_dask_scheduler(dask_engine, tmp_path: Path, monkeypatch) -> None:
    """`nbgeo coverage --engine dask --scheduler ...` (here: the test cluster) writes the same coverage.json."""
    from nbgeo.engine import Engine

    calls = Counter()
    for name in ("snap", "access_points"):
        method = getattr(Engine, name)

        def counted(self, *args, _method=method, _name=name, **kwargs):
            calls[_name] += 1
            return _method(self, *args, **kwargs)

        monkeypatch.setattr(Engine, name, counted)
    runner = CliRunner()
    common = ["-q", "coverage", "--no-map", "--strict", "--id", "micro_parks_chargers_1km", "--id",
              "featured_parks_5g_500m"]
    a = runner.invoke(main, [*common, "--out", str(tmp_path / "a")])
    assert a.exit_code == 1 and not calls, a.output
    b = runner.invoke(main, [*common, "--out", str(tmp_path / "b"), "--engine", "dask", "--scheduler",
                             dask_engine.client.scheduler.address])
    assert b.exit_code == 1, b.output
    assert calls["snap"] > 0 and calls["access_points"] > 0
    ja, jb = (json.loads((tmp_path / d / "coverage.json").read_text(encoding="utf-8")) for d in "ab")
    assert ja == jb and [e["id"] for e in ja["coverage"]] == ["micro_parks_chargers_1km", "featured_parks_5g_500m"]
    assert (tmp_path / "a" / "coverage.geojson").read_bytes() == (tmp_path / "b" / "coverage.geojson").read_bytes()
    assert dask_engine.client.status == "running"  # the command closed its own client only


def test_dask_rules_report_a_bad_rule_at_once(dask_engine, sample) -> None:
    from nbgeo.errors import FilterError
    from nbgeo.plan import RuleSpec

    rule = RuleSpec(id="bad", layer="chargers", kind="setback", params={"against": "constraints", "distance": 50,
                                                                         "where": {"colour": "red"}})
    plan = Plan(id="p", title="p", baseline=2020, horizon=2025, rules=(rule,))
    with pytest.raises(FilterError) as err:
        dask_engine.evaluate_rules(plan, sample)
    assert err.value.code == "E-FILTER-COLUMN"


def test_sample_audit_with_dask_engine(dask_engine, sample, ningbo_plan, monkeypatch) -> None:
    """The whole audit of the sample (targets after leaving out failing sites, rules, coverage, overlays) is the same.

    One coverage requirement is kept (straight line, the quickest): the audit hands its engine to the coverage;
    every requirement is compared in test_sample_coverage_on_dask_equals_in_process.
    """
    from dataclasses import replace

    from geopandas.testing import assert_geodataframe_equal

    plan = replace(ningbo_plan, coverage=tuple(c for c in ningbo_plan.coverage if c.id == "featured_parks_5g_500m"))
    expected = audit.run_audit(sample, plan, exclude_failing=True)
    calls = _spy(monkeypatch, dask_engine, "snap")
    got = audit.run_audit(sample, plan, engine=dask_engine, exclude_failing=True)
    assert calls["snap"] == len(ningbo_plan.years) and len(got.sections["coverage"]) == 1
    assert got.targets == expected.targets
    assert got.sections == expected.sections
    assert list(got.overlays) == list(expected.overlays)
    for title, shapes in expected.overlays.items():
        assert_geodataframe_equal(got.overlays[title], shapes)
    assert dask_engine.client is not None  # an engine passed in stays open for its owner
    assert audit.run_audit(sample, replace(plan, rules=()), engine="default").targets == audit.run_audit(
        sample, replace(plan, rules=())).targets


SMALL_PLAN = """
[plan]
id = "small"
title = "targets and one setback rule of the Ningbo plan"
baseline = 2020
horizon = 2025

[[targets]]
id = "chargers"
layer = "chargers"
metric = "count"
threshold = 10000
op = ">"

[[targets]]
id = "industrial_land_share"
layer = "land_transfers"
metric = "share"
numerator = { use = "industrial" }
weight = "area"
unit = "%"
threshold = 35
years = "each_year"

[[rules]]
id = "petrochemical_setback"
kind = "setback"
layer = "clusters"
where = { lead_industries = { contains = "绿色石化" } }
against = "constraints"
against_where = { kind = ["residential", "school", "hospital"] }
distance = { residential = 1000, school = 1000, hospital = 1000 }
"""


@pytest.fixture
def small_plan(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_PLAN, encoding="utf-8")
    return path


def test_cli_engine_dask_writes_the_same_audit(tmp_path: Path, small_plan: Path) -> None:
    runner = CliRunner()
    common = ["-q", "audit", "--plan", str(small_plan), "--no-map"]
    a = runner.invoke(main, [*common, "--out", str(tmp_path / "a")])
    b = runner.invoke(main, [*common, "--out", str(tmp_path / "b"), "--engine", "dask"])
    assert a.exit_code == b.exit_code == 1, (a.output, b.output)
    ja = json.loads((tmp_path / "a" / "audit.json").read_text(encoding="utf-8"))
    jb = json.loads((tmp_path / "b" / "audit.json").read_text(encoding="utf-8"))
    for doc in (ja, jb):
        doc.pop("created")
    assert ja == jb
    assert [r["status"] for r in ja["rules"]] == ["fail"] and {t["status"] for t in ja["targets"]} == {"met", "not_met"}


def test_cli_scheduler_address(tmp_path: Path, small_plan: Path) -> None:
    from distributed import LocalCluster

    runner = CliRunner()
    bad = runner.invoke(main, ["audit", "--plan", str(small_plan), "--out", str(tmp_path / "x"), "--engine", "dask",
                               "--scheduler", "localhost"])
    assert bad.exit_code == 2 and "E-ENGINE-SCHEDULER" in bad.output
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      scheduler_port=0) as cluster:
        ok = runner.invoke(main, ["-q", "audit", "--plan", str(small_plan), "--out", str(tmp_path / "y"), "--no-map",
                                  "--engine", "dask", "--scheduler", cluster.scheduler_address])
        assert ok.exit_code == 1, ok.output
        assert cluster.scheduler_address.startswith("tcp://")
    assert (tmp_path / "y" / "audit.json").exists()


def test_quiet_cli_keeps_a_local_clusters_logs_quiet(tmp_path) -> None:
    """`nbgeo -q ... --engine dask`: the cluster's own INFO logs (scheduler, nannies, workers) stay off stderr."""
    script = ("import sys, nbgeo.cli as c; c._configure_logging(0, '-q' in sys.argv)\n"
              "from nbgeo.engine import DaskEngine\n"
              "with DaskEngine(n_workers=1) as e: print(e.client.submit(sum, [1, 2]).result())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    quiet = subprocess.run([sys.executable, "-c", script, "-q"], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120, check=True)
    assert quiet.stdout.strip() == "3" and quiet.stderr == ""
    # The same cluster does log at -vv, which is how we know the first run really had something to hide.
    script = script.replace("_configure_logging(0,", "_configure_logging(2,")
    loud = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120, check=True)
    assert "INFO distributed.scheduler" in loud.stderr


# --------------------------------------------------------------------------------------------------------------
# Spacing, overlap, slope and road access on Dask partitions (issue 18)
# --------------------------------------------------------------------------------------------------------------


def _rule_tasks(engine, run) -> tuple[object, int]:
    """What ``run()`` returns, and how many rule partitions the workers evaluated meanwhile."""
    from distributed import get_task_stream

    with get_task_stream(engine.client) as stream:
        out = run()
    return out, sum("_rule_kernel" in str(t["key"]) for t in stream.data)


def _same_results(expected, got) -> None:
    from geopandas.testing import assert_geodataframe_equal

    for a, b in zip(expected, got, strict=True):
        pd.testing.assert_frame_equal(b.frame, a.frame, check_exact=True)
        assert (b.note, b.to_dict(all_findings=True)) == (a.note, a.to_dict(all_findings=True))
        assert_geodataframe_equal(b.offending(), a.offending())


def test_dask_spacing_and_overlap_across_tile_borders_equal_default(dask_engine) -> None:
    """Close pairs and overlaps everywhere, so many straddle the borders of the 700-site tiles."""
    from nbgeo import rules
    from nbgeo.plan import RuleSpec

    rng = np.random.default_rng(18)
    xy = rng.uniform(0, 3000, size=(3000, 2))
    pts = gpd.GeoDataFrame({"year": 2023}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=NINGBO_TM,
                           index=[f"c{i}" for i in range(3000)])
    sizes = rng.uniform(5, 60, size=len(xy))
    parks = gpd.GeoDataFrame(geometry=[box(x, y, x + s, y + s) for (x, y), s in zip(xy, sizes, strict=True)],
                             crs=NINGBO_TM, index=[f"p{i}" for i in range(3000)])
    ds = Dataset.from_gdfs({"chargers": pts, "parks": parks}, name="tiles", working_crs=NINGBO_TM)
    plan = Plan(id="tiles", title="tiles", baseline=2020, horizon=2025, rules=(
        RuleSpec(id="spacing_first", kind="spacing", layer="chargers", params={"min_distance": 40}),
        RuleSpec(id="spacing_both", kind="spacing", layer="chargers", params={"min_distance": 25, "keep": False,
                                                                           "tolerance": 10}),
        RuleSpec(id="overlap_larger", kind="overlap", layer="parks"),
        RuleSpec(id="overlap_first", kind="overlap", layer="parks", params={"keep": "first", "max_share": 5}),
    ))
    expected = rules.evaluate_rules(plan, ds)
    assert all(r.failed > 100 for r in expected)  # the tiles' borders cut through many failing pairs
    got, tasks = _rule_tasks(dask_engine, lambda: dask_engine.evaluate_rules(plan, ds))
    assert tasks >= 4 * 4  # 3000 sites in tiles of 700: at least four tiles per rule, on the workers
    _same_results(expected, got)


def test_dask_sample_rules_run_on_the_workers(dask_engine, sample, ningbo_plan) -> None:
    """Spacing, overlap, slope and road access are evaluated by the workers, with the default engine's results."""
    from nbgeo import rules

    kinds = ("spacing", "overlap", "slope", "access")
    plan = Plan(id="p", title="p", baseline=2020, horizon=2025,
                rules=tuple(r for r in ningbo_plan.rules if r.kind in kinds))
    assert {r.kind for r in plan.rules} == set(kinds)
    assert any(r.params.get("by") == "road" for r in plan.rules)
    expected = rules.evaluate_rules(plan, sample)
    got, tasks = _rule_tasks(dask_engine, lambda: dask_engine.evaluate_rules(plan, sample))
    assert tasks >= len(plan.rules)
    _same_results(expected, got)


def test_dask_workers_apply_the_limits_set_in_the_client(dask_engine, sample, ningbo_plan) -> None:
    """A limit set in the client (``--max-input-mb``, ``--max-work-seconds``, ...) holds on the workers too.

    The workers are other processes: before, they checked nbgeo's default limits, so the ×100 province's
    road access rule, run with ``--max-input-mb 3686``, was refused on the workers (``E-LIMIT-SIZE``) after
    the client had read the same network. Here a lowered work budget must stop the rule on Dask as in this
    process, and the default budget must let it through on both.
    """
    from dataclasses import replace

    from nbgeo import limits
    from nbgeo.errors import LimitError
    from nbgeo.rules import evaluate_rules

    plan = replace(ningbo_plan, rules=tuple(r for r in ningbo_plan.rules if r.id == "red_line_micro_parks"))
    with limits.override(max_work_seconds=1e-7):
        with pytest.raises(LimitError) as here:
            evaluate_rules(plan, sample)
        with pytest.raises(LimitError) as there:
            dask_engine.evaluate_rules(plan, sample)
    assert there.value.code == here.value.code == "E-LIMIT-WORK"
    assert str(there.value) == str(here.value)
    pd.testing.assert_frame_equal(dask_engine.evaluate_rules(plan, sample)[0].frame,
                                  evaluate_rules(plan, sample)[0].frame, check_exact=True)
    with limits.override(max_features=7):
        assert limits.current()["max_features"] == 7
    assert limits.current()["max_features"] == limits.max_features
