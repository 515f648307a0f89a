"""Suitability surfaces on hand-made layers and rasters with known scores, masks, candidates, and the plan tables."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely import LineString, Point, box

from nbgeo import plan as plan_mod
from nbgeo import suitability
from nbgeo.crs import NINGBO_TM
from nbgeo.errors import InputError, PlanError
from nbgeo.layers import Dataset, LayerMeta, Raster
from nbgeo.suitability import Criterion, Surface

# A 2 km × 1 km study area in the working CRS, on whole 100 m cells.
X0, Y0 = 500_000.0, 3_300_000.0


def _dataset(tmp_path, *, with_dem: bool = True) -> Dataset:
    crs = NINGBO_TM
    area = gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(X0, Y0, X0 + 2000, Y0 + 1000)], crs=crs, index=["d1"])
    road = gpd.GeoDataFrame({"name": ["r"], "year": [2021], "kind": ["new"]},
                            geometry=[LineString([(X0, Y0 + 50), (X0 + 2000, Y0 + 50)])], crs=crs, index=["r1"])
    lake = gpd.GeoDataFrame({"name": ["lake", "school"], "kind": ["water", "school"]},
                            geometry=[box(X0 + 1500, Y0 + 500, X0 + 2000, Y0 + 1000),
                                      box(X0, Y0 + 900, X0 + 100, Y0 + 1000)], crs=crs, index=["c1", "c2"])
    # Drawn on whole cells of this CRS, so measured in it too.
    ds = Dataset.from_gdfs({"districts": area, "smart_roads": road, "constraints": lake}, name="tiny",
                           working_crs=crs)
    if not with_dem:
        return ds
    # A DEM rising 5 m per 100 m eastwards (5 % slope), in the same grid, one cell wider on every side.
    cols, rows = 22, 12
    z = np.tile(np.arange(cols, dtype=np.float32) * 5.0, (rows, 1))
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32",
                       crs=rasterio.crs.CRS.from_user_input(crs), nodata=-9999.0,
                       transform=Affine(100.0, 0, X0 - 100, 0, -100.0, Y0 + 1100)) as dst:
        dst.write(z, 1)
    meta = LayerMeta(name="dem", file="dem.tif", source="test", illustrative=True)
    from dataclasses import replace

    return replace(ds, rasters={"dem": Raster(path=str(path), meta=meta, crs=crs)})


def test_criterion_transfer_both_ways():
    near = Criterion("distance", weight=1, best=0, worst=1000, layer="x")
    assert near.score(np.array([0.0, 250.0, 1000.0, 5000.0, np.nan])).tolist()[:4] == [1.0, 0.75, 0.0, 0.0]
    more = Criterion("raster", weight=1, best=100, worst=0, raster="pop")
    assert more.score(np.array([0.0, 50.0, 200.0])).tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"kind": "slope", "weight": 1, "best": 1}, "worst must be a number"),
    ({"kind": "slope", "weight": 0, "best": 1, "worst": 5}, "weight must be a positive"),
    ({"kind": "exclude"}, "needs a layer"),
    ({"kind": "distance", "weight": 1, "best": 0, "worst": 1}, "a layer or a network"),
    ({"kind": "slope", "weight": 1, "best": 0, "worst": 5, "unit": "radian"}, "unit must be"),
    ({"kind": "colour"}, "kind must be one of"),
])
def test_bad_criteria(kwargs, match):
    with pytest.raises(InputError, match=match):
        Criterion(**kwargs)


def test_distance_score_masks_and_grid(tmp_path):
    ds = _dataset(tmp_path, with_dem=False)
    crit = [Criterion("distance", weight=1, best=0, worst=1000, layer="smart_roads"),
            Criterion("exclude", layer="constraints", where={"kind": "water"})]
    s = suitability.surface(ds, crit, cell=100)
    assert s.shape == (10, 20)
    # Row 9 (the southernmost) holds the road; row 0 is 900 m north of it.
    west = s.score[:, 0]
    assert west[9] == pytest.approx(1.0)
    assert west[4] == pytest.approx(1 - 500 / 1000)
    assert west[0] == pytest.approx(1 - 900 / 1000)
    # The lake (the north-east 5 × 5 cells, plus the cells its outline touches) is masked.
    assert np.isnan(s.score[0:5, 15:20]).all()
    assert s.masked["exclude constraints"] >= 25
    assert np.isfinite(s.score[5:, :15]).all()


def test_slope_from_the_dem_and_weights(tmp_path):
    ds = _dataset(tmp_path)
    crit = [Criterion("slope", weight=3, best=0, worst=10),  # 5 % everywhere: score 0.5
            Criterion("distance", weight=1, best=0, worst=1000, layer="smart_roads")]
    s = suitability.surface(ds, crit, cell=100)
    slope_score = s.scores["slope (percent)"]
    assert np.nanmin(slope_score) == pytest.approx(0.5, abs=1e-6) and np.nanmax(slope_score) == pytest.approx(0.5)
    # Weighted mean: (3 × 0.5 + 1 × road score) / 4.
    assert s.score[9, 10] == pytest.approx((3 * 0.5 + 1.0) / 4)
    assert s.score[0, 10] == pytest.approx((3 * 0.5 + 0.1) / 4)
    assert s.illustrative


def test_missing_dem_and_layers_are_errors(tmp_path):
    ds = _dataset(tmp_path, with_dem=False)
    with pytest.raises(InputError, match="no raster 'dem'"):
        suitability.surface(ds, [Criterion("slope", weight=1, best=0, worst=10)], cell=100)
    with pytest.raises(InputError, match="no layer 'ports'"):
        suitability.surface(ds, [Criterion("distance", weight=1, best=0, worst=10, layer="ports")], cell=100)
    with pytest.raises(InputError, match="scoring criterion"):
        suitability.surface(ds, [Criterion("exclude", layer="constraints")], cell=100)


def test_no_data_under_the_dem_is_masked(tmp_path):
    ds = _dataset(tmp_path)
    area = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 4000, Y0 + 1000)], crs=NINGBO_TM)  # past the DEM
    s = suitability.surface(ds, [Criterion("slope", weight=1, best=0, worst=10)], cell=100, area=area)
    assert any(k.startswith("no data") for k in s.masked)
    assert np.isnan(s.score[:, 25:]).all() and np.isfinite(s.score[:, 2:18]).all()


def _toy_surface() -> Surface:
    score = np.array([[0.9, 0.9, 0.1, 0.8],
                      [0.9, 0.2, 0.1, np.nan],
                      [0.3, 0.3, 0.95, 0.95]], dtype=np.float32)
    return Surface(score=score, transform=Affine(100.0, 0, X0, 0, -100.0, Y0 + 300), crs=NINGBO_TM, cell=100.0,
                   criteria=(), scores={}, masked={}, id="toy")


def test_best_cells_order_threshold_and_spacing():
    s = _toy_surface()
    best = s.best_cells(min_score=0.8)
    assert best["score"].round(2).tolist() == [0.95, 0.95, 0.9, 0.9, 0.9, 0.8]
    assert best.index[:2].tolist() == ["S2_2", "S2_3"]  # ties: row-major order
    spread = s.best_cells(min_score=0.0, spacing=200)  # 2 × 2 blocks: the best cell of each
    assert spread.index.tolist() == ["S2_2", "S0_0", "S0_3", "S2_0"]
    xy = spread.to_crs(NINGBO_TM).geometry.iloc[0]
    assert (xy.x, xy.y) == pytest.approx((X0 + 250, Y0 + 50))
    assert s.best_cells(n=2).index.tolist() == ["S2_2", "S2_3"]


def test_zones_by_score_and_area():
    s = _toy_surface()
    zones = s.zones(min_score=0.8)
    assert zones["cells"].tolist() == [2, 3, 1]  # best mean first: the 0.95 pair, the 0.9 L, the 0.8 cell
    assert zones["mean_score"].round(2).tolist() == [0.95, 0.9, 0.8]
    areas = zones.to_crs(NINGBO_TM).area.round(3).tolist()
    assert areas == [20_000.0, 30_000.0, 10_000.0]
    assert s.zones(min_score=0.8, min_area=25_000)["cells"].tolist() == [3]
    assert len(s.zones(min_score=0.99)) == 0


def test_sample_and_classes_and_tif(tmp_path):
    s = _toy_surface()
    pts = gpd.GeoSeries([Point(X0 + 50, Y0 + 250), Point(X0 + 350, Y0 + 150), Point(X0 - 10, Y0)], crs=NINGBO_TM)
    out = s.sample(pts)
    assert out[0] == pytest.approx(0.9) and math.isnan(out[1]) and math.isnan(out[2])
    classes = s.classes(min_score=0.6)
    assert set(classes["label"]) == {"toy: score 0.8–1.0"} and classes.attrs["nbgeo_value"] == "score"
    path = s.write_tif(tmp_path / "toy.tif")
    with rasterio.open(path) as src:
        back = src.read(1)
        assert src.crs is not None and src.transform == s.transform
    assert np.allclose(back, s.score, equal_nan=True)


def test_plan_tables_parse_and_fail_clearly(tmp_path):
    text = ('[plan]\nid = "p"\ntitle = "t"\nbaseline = 2020\nhorizon = 2025\n\n'
            '[[suitability]]\nid = "s"\nlayer = "chargers"\ncell = 200\n\n'
            '[[suitability.criteria]]\nkind = "distance"\nlayer = "smart_roads"\nweight = 2\nbest = 0\nworst = 900\n\n'
            '[[suitability.criteria]]\nkind = "exclude"\nlayer = "constraints"\nwhere = { kind = "water" }\n')
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    p = plan_mod.read_plan(path)
    crit = suitability.criteria_from_spec(p.suitability[0])
    assert [c.kind for c in crit] == ["distance", "exclude"] and crit[1].where == {"kind": "water"}
    surf = suitability.surface_from_spec(p.suitability[0], _dataset(tmp_path, with_dem=False))
    assert surf.cell == 200.0 and surf.id == "s"
    path.write_text(text.replace("worst = 900", "worst = 900\nslope = 3"), encoding="utf-8")
    with pytest.raises(PlanError, match="unknown key"):
        suitability.criteria_from_spec(plan_mod.read_plan(path).suitability[0])
    path.write_text(text.replace('kind = "distance"', 'kind = "magic"'), encoding="utf-8")
    with pytest.raises(PlanError, match=r"line 13: .*'kind': .*must be one of"):  # refused as the plan is read
        suitability.criteria_from_spec(plan_mod.read_plan(path).suitability[0])


def test_sample_surfaces(sample, ningbo_plan):
    spec = next(s for s in ningbo_plan.suitability if s.id == "micro_park_land")
    surf = suitability.surface_from_spec(spec, sample, cell=500)
    stats = surf.stats()
    assert 0 <= stats["min"] < stats["mean"] < stats["max"] <= 1
    # Protected land is masked: no cell centre inside the red line keeps a score.
    red = sample["constraints"].query("kind == 'ecological_red_line'")
    cells = surf.best_cells(min_score=0.0)
    assert not cells.geometry.within(red.union_all()).any()
    zones = surf.zones(min_score=0.7, min_area=13_333)
    assert len(zones) and (zones["area_m2"] >= 13_333).all()


def test_distance_to_ports_and_to_the_road_network(tmp_path, monkeypatch):
    from nbgeo import network

    ds = _dataset(tmp_path, with_dem=False)
    ports = gpd.GeoDataFrame({"name": ["port"]}, geometry=[Point(X0 + 1950, Y0 + 950)], crs=NINGBO_TM,
                             index=["PT1"])
    ds = Dataset.from_gdfs({**{n: ds[n] for n in ds.names}, "ports": ports}, name="with ports", working_crs=NINGBO_TM)
    s = suitability.surface(ds, [Criterion("distance", weight=1, best=0, worst=3000, layer="ports")], cell=100)
    # The port sits in the north-east cell; the south-west cell centre is 1,900 × 900 m away.
    assert s.score[0, 19] == pytest.approx(1.0)
    assert s.score[9, 0] == pytest.approx(1 - math.hypot(1900, 900) / 3000)
    # A road network of the dataset: one road along the west edge, x = 50 m.
    net = network.network_from_arrays(np.array([X0 + 50, X0 + 50]), np.array([Y0, Y0 + 1000]), u=[0, 1], v=[1, 0],
                                      crs=NINGBO_TM)
    monkeypatch.setattr(suitability, "read_dataset_network", lambda dataset, name="roads", **kw: net)
    s = suitability.surface(ds, [Criterion("distance", weight=1, best=0, worst=1000, network="roads")], cell=100)
    assert s.score[5, 0] == pytest.approx(1.0) and s.score[5, 10] == pytest.approx(0.0)
    assert s.score[5, 5] == pytest.approx(0.5)
