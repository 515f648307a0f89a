"""Target evaluation on hand-made layers with known answers, and on the sample against an independent count."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from pyproj import Geod

from nbgeo import datasets, targets
from nbgeo.plan import Plan, Target


def _one(target: Target, ds, year: int = 2025):
    (result,) = targets.evaluate_target(target, ds, year=year)
    return result


def test_count_cumulative_and_filter(tiny_dataset):
    t = Target(id="c", layer="chargers", metric="count", threshold=3, op=">=")
    r = _one(t, tiny_dataset)
    assert (r.actual, r.status, r.margin) == (3.0, "met", 0.0)  # c4 comes in 2026
    r = _one(Target(id="c", layer="chargers", metric="count", threshold=3, where={"type": "charging"}), tiny_dataset)
    assert (r.actual, r.status, r.margin) == (2.0, "not_met", -1.0)
    r = _one(Target(id="c", layer="chargers", metric="count", threshold=1, since=2021), tiny_dataset, year=2023)
    assert r.actual == 1.0  # only c2 (2022) lies in 2021..2023


def test_strict_greater_than(tiny_dataset):
    r = _one(Target(id="c", layer="chargers", metric="count", threshold=3, op=">"), tiny_dataset)
    assert (r.status, r.margin) == ("not_met", 0.0)


def test_sum_of_column(tiny_dataset):
    r = _one(Target(id="p", layer="chargers", metric="sum", column="ports", threshold=7), tiny_dataset)
    assert r.actual == 7.0 and r.status == "met"


def test_length_is_geodesic_km(tiny_dataset):
    geod = Geod(ellps="WGS84")
    north = geod.inv(121.55, 29.87, 121.55, 29.88)[2] / 1000
    east = geod.inv(121.55, 29.87, 121.56, 29.87)[2] / 1000
    r = _one(Target(id="l", layer="smart_roads", metric="length", threshold=2, unit="km"), tiny_dataset)
    assert r.actual == pytest.approx(north + east, rel=2e-4)
    r = _one(Target(id="l", layer="smart_roads", metric="length", threshold=2, unit="km"), tiny_dataset, year=2022)
    assert r.actual == pytest.approx(north, rel=2e-4)  # the second road comes in 2023


def test_area_in_hectares(tiny_dataset):
    r = _one(Target(id="a", layer="land_transfers", metric="area", threshold=1, unit="ha"), tiny_dataset)
    assert r.actual == pytest.approx(1 + 3 + 2 + 4, rel=1e-6)


def test_yearly_share(tiny_dataset):
    t = Target(id="s", layer="land_transfers", metric="share", numerator={"use": "industrial"}, threshold=35,
               unit="%", years="each_year")
    p = Plan(id="p", title="t", baseline=2020, horizon=2022, targets=(t,))
    r2021, r2022 = targets.evaluate_target(t, tiny_dataset, year=2022, plan=p)
    assert r2021.year == 2021 and r2021.actual == pytest.approx(25.0) and r2021.status == "not_met"
    assert r2022.actual == pytest.approx(100 * 2 / 6) and r2022.margin == pytest.approx(100 / 3 - 35)


def test_tier_count_counts_each_zone_once_in_its_highest_tier():
    from shapely import Point

    from nbgeo.layers import Dataset

    g = gpd.GeoDataFrame({"output_2025": [1200.0, 999.0, 500.0, 499.9, None]},
                         geometry=[Point(121.5, 29.9)] * 5, crs=4326)
    ds = Dataset.from_gdfs({"clusters": g})
    tiers = {"千亿级": 1000, "五百亿级": 500}
    kw = {"layer": "clusters", "metric": "tier_count", "column": "output_{year}", "tiers": tiers, "year_column": ""}
    assert _one(Target(id="a", tier="千亿级", threshold=1, **kw), ds).actual == 1.0
    assert _one(Target(id="b", tier="五百亿级", threshold=1, **kw), ds).actual == 2.0
    assert _one(Target(id="b", tier="五百亿级", threshold=1, **kw), ds, year=2024).status == "unknown"


def test_unknown_when_layer_or_column_missing(tiny_dataset):
    r = _one(Target(id="x", layer="future_zones", metric="count", threshold=6), tiny_dataset)
    assert (r.status, r.actual, r.margin) == ("unknown", None, None) and "no layer" in r.note
    r = _one(Target(id="x", layer="chargers", metric="sum", column="power", threshold=6), tiny_dataset)
    assert r.status == "unknown" and "power" in r.note


# --- the sample, against an independent computation straight from the files ---------------------------------

def _read(name):
    path = datasets.get_path("ningbo")
    files = {p.stem: p for p in path.iterdir() if p.suffix in (".geojson", ".gpkg")}
    return pyogrio.read_dataframe(files[name])


def test_sample_counts_match_independent_reading(sample, ningbo_plan):
    by_id = {r.id: r for r in targets.evaluate_targets(ningbo_plan, sample) if r.year == 2025}
    chargers = _read("chargers")
    assert by_id["chargers"].actual == (chargers["year"] <= 2025).sum()
    stations = _read("base_stations_5g")
    assert by_id["base_stations_5g"].actual == (stations["year"] <= 2025).sum()
    micro = _read("micro_parks")
    expected = (micro["status"].isin(["built", "upgraded"]) & micro["year"].between(2021, 2025)).sum()
    assert by_id["micro_parks"].actual == expected
    clusters = _read("clusters")
    assert by_id["clusters_100bn"].actual == (clusters["output_2025"] >= 1000).sum()
    assert by_id["clusters_50bn"].actual == clusters["output_2025"].between(500, 1000, inclusive="left").sum()


def test_sample_length_and_share_match_geodesic_computation(sample, ningbo_plan):
    geod = Geod(ellps="WGS84")
    results = targets.evaluate_targets(ningbo_plan, sample)
    roads = _read("smart_roads")
    roads = roads[roads["year"] <= 2025]
    km = sum(geod.geometry_length(g) for g in roads.geometry) / 1000
    (length,) = [r for r in results if r.id == "smart_roads"]
    assert length.actual == pytest.approx(km, rel=2e-4)

    parcels = _read("land_transfers")
    parcels["geodesic_area"] = [abs(geod.geometry_area_perimeter(g)[0]) for g in parcels.geometry]
    for r in (r for r in results if r.id == "industrial_land_share"):
        year = parcels[parcels["year"] == r.year]
        expected = 100 * year.loc[year["use"] == "industrial", "geodesic_area"].sum() / year["geodesic_area"].sum()
        assert r.actual == pytest.approx(expected, abs=0.01)


def test_sample_has_met_and_unmet_targets(sample, ningbo_plan):
    results = targets.evaluate_targets(ningbo_plan, sample)
    status = {(r.id, r.year): r.status for r in results}
    assert status[("industrial_land_share", 2023)] == "not_met"
    assert status[("industrial_land_share", 2022)] == "met"
    assert status[("clusters_100bn", 2025)] == "not_met"
    assert status[("chargers", 2025)] == "met"
