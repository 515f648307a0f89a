"""Checks on the committed ``ningbo`` sample dataset and on the script that makes it.

The files are read directly with geopandas/pyogrio (not through nbgeo's
loader), so these tests pin down the data itself: schema, validity, placement
inside the districts, the stated counts, and the planted failures that the
plan checks rely on.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from nbgeo.crs import NINGBO_TM
from nbgeo.layers import LAYERS
from nbgeo.renderers.mapspec import map_spec

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "nbgeo" / "datasets" / "ningbo"
MANIFEST = tomllib.loads((DATA / "dataset.toml").read_text(encoding="utf-8"))
LAYER_NAMES = list(MANIFEST["layers"])
YEARS = range(2020, 2026)
GEOD = Geod(ellps="WGS84")

_CACHE: dict[str, gpd.GeoDataFrame] = {}


def read(name: str) -> gpd.GeoDataFrame:
    """Read one layer of the manifest (cached for the session)."""
    if name not in _CACHE:
        _CACHE[name] = gpd.read_file(DATA / MANIFEST["layers"][name]["file"], engine="pyogrio")
    return _CACHE[name]


def metric(name: str) -> gpd.GeoDataFrame:
    """One layer in the working CRS (cached)."""
    key = f"{name}@metric"
    if key not in _CACHE:
        _CACHE[key] = read(name).to_crs(NINGBO_TM)
    return _CACHE[key]


@pytest.fixture(scope="module")
def district_union() -> shapely.Geometry:
    """Union of the districts in the working CRS, grown by 1 m of tolerance."""
    geom = shapely.union_all(metric("districts").geometry.values).buffer(1.0)
    shapely.prepare(geom)
    return geom


def load_make_sample():
    """Import scripts/make_sample.py as a module (once)."""
    if "make_sample" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_sample", REPO / "scripts" / "make_sample.py")
        module = importlib.util.module_from_spec(spec)
        # Registered before running: its dataclass resolves annotations through sys.modules.
        sys.modules["make_sample"] = module
        spec.loader.exec_module(module)
    return sys.modules["make_sample"]


# ---- manifest and schema ---------------------------------------------------


def test_manifest_shape():
    assert MANIFEST["dataset"]["name"] == "ningbo-sample"
    assert set(LAYER_NAMES) == set(LAYERS), "one manifest table per known layer kind"
    for name, meta in MANIFEST["layers"].items():
        for key in ("file", "source", "licence", "datum", "crs", "illustrative", "note"):
            assert key in meta, f"{name} lacks {key}"
        assert meta["datum"] == "WGS84"
        assert meta["crs"] == "EPSG:4326"
        assert meta["illustrative"] is (name not in ("districts", "receptors"))


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_layer_schema(name):
    gdf = read(name)
    spec = LAYERS[name]
    assert (DATA / MANIFEST["layers"][name]["file"]).exists()
    assert gdf.crs.equals("EPSG:4326")
    assert set(gdf.geom_type) <= set(spec.geom_types)
    assert "id" in gdf.columns
    assert gdf["id"].map(type).eq(str).all()
    assert gdf["id"].is_unique
    for col in spec.columns:
        names = [col.name.format(year=y) for y in YEARS] if col.is_yearly else [col.name]
        for column in names:
            assert column in gdf.columns, f"{name} lacks {column}"
            assert gdf[column].notna().all(), f"{name}.{column} has nulls"
            if col.allowed:
                assert set(gdf[column]) <= set(col.allowed), f"{name}.{column}: {set(gdf[column]) - set(col.allowed)}"
            if col.dtype in ("int", "year"):
                assert np.issubdtype(gdf[column].dtype, np.integer), f"{name}.{column} is {gdf[column].dtype}"
            if col.dtype == "float":
                assert np.issubdtype(gdf[column].dtype, np.number)


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_geometries_valid_and_inside_districts(name, district_union):
    gdf = metric(name)
    assert gdf.geometry.notna().all()
    assert not gdf.geometry.is_empty.any()
    assert gdf.is_valid.all()
    if set(gdf.geom_type) == {"Point"}:
        inside = shapely.contains_xy(district_union, gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
    else:
        inside = shapely.within(gdf.geometry.values, district_union)
    assert inside.all(), f"{(~inside).sum()} features of {name} outside the districts"


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_coordinates_rounded(name):
    xy = shapely.get_coordinates(read(name).geometry.values)
    assert np.allclose(xy, np.round(xy, 6), atol=1e-9, rtol=0)


# ---- stated counts -----------------------------------------------------------


def test_districts():
    d = read("districts")
    assert len(d) == 10
    assert set(d["id"]) == {"330203", "330205", "330206", "330211", "330212",
                            "330213", "330225", "330226", "330281", "330282"}
    assert (d["id"] == d["adcode"]).all()
    assert shapely.coverage_is_valid(metric("districts").geometry.values)
    assert (DATA / "districts.geojson").stat().st_size < 400_000


def test_clusters_tiers_and_outputs():
    c = read("clusters")
    assert c["tier"].value_counts().to_dict() == {"千亿级": 4, "五百亿级": 10}
    out = c[[f"output_{y}" for y in YEARS]].to_numpy()
    assert (np.diff(out, axis=1) > 0).all(), "outputs grow every year"
    km2 = metric("clusters").area / 1e6
    assert km2.between(8, 40).all()

    def reach(year: int) -> tuple[int, int]:
        o = c[f"output_{year}"]
        return int((o >= 1000).sum()), int(((o >= 500) & (o < 1000)).sum())

    # The planted shortfall: 3 of the 4 declared 千亿级 zones reach 1000 in 2025.
    assert reach(2025)[0] == 3
    short = c[(c["tier"] == "千亿级") & (c["output_2025"] < 1000)]
    assert len(short) == 1
    declared_500 = c[c["tier"] == "五百亿级"]["output_2025"]
    assert declared_500.between(500, 1000, inclusive="left").sum() >= 10
    assert reach(2025)[1] >= 10
    assert reach(2023)[0] < reach(2025)[0]
    assert reach(2023)[1] < reach(2025)[1]


def test_featured_parks():
    fp = read("featured_parks")
    assert len(fp) == 50
    assert set(fp["industry"]) == set(LAYERS["featured_parks"].column("industry").allowed)
    assert fp["year"].between(2019, 2025).all()
    assert (fp["year"] <= 2023).sum() == 42
    assert (metric("featured_parks").area / 1e6).between(0.5, 3).all()
    inside = metric("featured_parks").intersects(shapely.union_all(metric("clusters").geometry.values))
    assert inside.sum() >= 30, "mostly inside the zones"


def test_micro_parks():
    mp = read("micro_parks")
    done = mp["status"].isin(["built", "upgraded"]) & mp["year"].between(2021, 2025)
    assert 200 <= done.sum() <= 230
    assert 10 <= (mp["status"] == "planned").sum() <= 20
    assert (mp["year"] < 2021).sum() > 0
    assert (metric("micro_parks").area / 1e4).between(2, 15).all()
    # Spread over all ten districts.
    reps = metric("micro_parks").representative_point()
    for district in metric("districts").itertuples():
        assert reps.within(district.geometry).sum() >= 5, district.name


def test_future_zones():
    fz = read("future_zones")
    assert len(fz) == 6
    assert fz["theme"].is_unique
    assert fz["year"].between(2021, 2025).all()
    assert (metric("future_zones").area / 1e6).between(2, 10).all()


def test_points_by_year():
    ch = read("chargers")
    assert (ch["year"] <= 2025).sum() > 10_000
    assert (ch["year"] <= 2023).sum() < 10_000
    assert ch["year"].between(2018, 2025).all()
    assert ch["ports"].between(1, 20).all()
    assert 0.9 < (ch["type"] == "charging").mean() < 0.99
    bs = read("base_stations_5g")
    assert (bs["year"] <= 2025).sum() > 40_000
    assert (bs["year"] <= 2023).sum() < 40_000
    assert bs["year"].between(2019, 2025).all()


def test_smart_roads_length():
    roads = read("smart_roads")
    km = roads.geometry.apply(GEOD.geometry_length) / 1000
    assert km.between(1, 10).all()
    assert 40 <= len(roads) <= 60
    assert km.sum() >= 200
    assert km[roads["year"] <= 2023].sum() < 200


def test_land_transfers_industrial_share():
    lt = read("land_transfers")
    assert 2500 <= len(lt) <= 3500
    measured_ha = metric("land_transfers").area / 1e4
    assert measured_ha.between(0.5, 20).all()
    assert np.allclose(lt["area"], measured_ha, rtol=0.03)
    for year, group in lt.groupby("year"):
        for weight in (measured_ha[group.index], group["area"]):
            share = weight[group["use"] == "industrial"].sum() / weight.sum()
            if year == 2023:
                assert 0.29 < share < 0.35, f"{year}: {share:.1%}"
            else:
                assert share >= 0.35, f"{year}: {share:.1%}"
    assert sorted(lt["year"].unique()) == [2021, 2022, 2023, 2024, 2025]


# ---- planted violations ------------------------------------------------------


def test_planted_violations():
    c = metric("constraints")
    red = shapely.union_all(c.geometry[c["kind"] == "ecological_red_line"].values)
    farm = shapely.union_all(c.geometry[c["kind"] == "basic_farmland"].values)
    water = shapely.union_all(c.geometry[c["kind"] == "water"].values)
    planted = {"micro_parks": {"MP00001", "MP00002"}, "land_transfers": {"LT00001", "LT00002"}}
    for name, ids in planted.items():
        g = metric(name)
        assert set(g["id"][g.intersects(red) | g.intersects(farm)]) == ids, name
        assert not g.intersects(water).any()

    everything = shapely.union_all(c.geometry[c["kind"] != "urban_development_boundary"].values)  # protected land
    for name in ("clusters", "featured_parks", "future_zones"):
        assert not metric(name).intersects(everything).any(), name

    petro = metric("clusters").set_index("name").geometry["宁波石化经济技术开发区"]
    residential = c[c["kind"] == "residential"]
    assert residential[residential.distance(petro) < 800]["id"].tolist() == ["CN00067"]

    ch = metric("chargers")
    tree = shapely.STRtree(ch.geometry.values)
    left, right = tree.query(ch.geometry.values, predicate="dwithin", distance=20)
    pairs = {(ch["id"].iloc[i], ch["id"].iloc[j]) for i, j in zip(left, right, strict=True) if i < j}
    assert pairs == {("CH00001", "CH10600")}


def test_folder_size():
    total = sum(p.stat().st_size for p in DATA.iterdir() if p.is_file())
    assert total < 8 * 1024 * 1024


# ---- the generator -------------------------------------------------------------


def test_make_sample_is_deterministic(tmp_path):
    make_sample = load_make_sample()
    paths = []
    for run in ("a", "b"):
        out = tmp_path / run
        written = make_sample.main(["--seed", "2025", "--out", str(out), "--layers", "future_zones", "--quiet"])
        paths.append(written["future_zones"])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    # The committed layer is what the script makes with the default seed.
    fresh = gpd.read_file(paths[0])
    committed = read("future_zones")
    assert fresh.drop(columns="geometry").equals(committed.drop(columns="geometry"))
    assert fresh.geometry.geom_equals_exact(committed.geometry, tolerance=1e-9).all()


def test_make_sample_other_seed_differs(tmp_path):
    make_sample = load_make_sample()
    gdfs, _ = make_sample.generate(7, ["future_zones"])
    assert not gdfs["future_zones"].geometry.geom_equals_exact(read("future_zones").geometry, tolerance=1e-9).all()
    assert gdfs["future_zones"]["theme"].tolist() == read("future_zones")["theme"].tolist()


# ---- the real schools and hospitals (OpenStreetMap, ODbL) ------------------------------------------


def test_receptors_are_the_real_schools_and_hospitals():
    gdf = read("receptors")
    assert len(gdf) == 655 and gdf["kind"].value_counts().to_dict() == {"school": 560, "hospital": 95}
    assert gdf["id"].is_unique and gdf["name"].notna().all()
    meta = MANIFEST["layers"]["receptors"]
    assert "OpenStreetMap" in meta["source"] and "ODbL" in meta["licence"]
    assert "© OpenStreetMap contributors" in meta["licence"] and meta["illustrative"] is False
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "receptors" in readme and "ODbL" in readme and "OpenStreetMap contributors" in readme


def test_the_map_attributes_the_receptors_to_openstreetmap(sample):
    spec = map_spec(sample, layers=["districts", "receptors"], lang="en")
    texts = [s["text"] for s in spec["sources"]]
    assert any("OpenStreetMap contributors" in t and "ODbL-1.0" in t for t in texts), texts
    zh = map_spec(sample, layers=["receptors"], lang="zh")
    assert zh["sources"][0]["layers"] == "环境敏感目标" and not zh["sources"][0]["illustrative"]
