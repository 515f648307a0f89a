"""The scale benchmark's province generator (bench/scale.py): the plan's scaling and the tiling."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nbgeo import datasets
from nbgeo.plan import read_plan

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def scale():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_scale_generator", BENCH / "scale.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def test_plan_scaling_multiplies_counts_and_sums_only(scale, tmp_path):
    text = datasets.get_path("ningbo_2025").read_text(encoding="utf-8")
    before, after = tomllib.loads(text), tomllib.loads(scale.scale_plan(text, 7))
    for old, new in zip(before["targets"], after["targets"], strict=True):
        factor = 7 if old["metric"] in ("count", "tier_count", "length") else 1
        assert new["threshold"] == old["threshold"] * factor, old["id"]
    assert [t["metric"] for t in before["targets"]].count("share") == 1  # the one share target stays as it is
    for section in ("rules", "coverage", "indicators", "suitability"):
        assert after[section] == before[section], section
    assert [s.get("k") for s in after["siting"]] == [None if s.get("k") is None else 7 * s["k"]
                                                      for s in before["siting"]]
    out = tmp_path / "plan.toml"
    out.write_text(scale.scale_plan(text, 7), encoding="utf-8")
    assert read_plan(out).targets[0].threshold == 28  # still a valid plan for nbgeo


def test_tiles_are_translated_jittered_copies_with_unique_ids(scale):
    gdf = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.Point(0, 0), shapely.box(10, 10, 20, 30)],
                           crs="EPSG:32651", index=["P1", "P2"])
    offsets = scale.grid(4, 1, 100.0, 200.0)
    tiled = scale._tile_layer(gdf, offsets, 1, 1)
    assert list(tiled.index) == ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]  # numbered on, as one layer
    assert tiled.index.is_unique and list(tiled["name"][:3]) == ["a", "b", "a #001"]
    assert shapely.equals(tiled.geometry.values[:2], gdf.geometry.values).all()  # copy 0 is the layer as it is
    # Every later copy is the translation by its offset plus a small per-feature jitter (never none).
    for k in (1, 2, 3):
        moved = np.array(tiled.geometry.values[2 * k].coords[0]) - offsets[k]
        assert 0 < np.hypot(*moved) < 40, k
    # Copy 3 sits one row up and one column right (2 columns), moved by the seeded shift.
    assert offsets[3][0] == pytest.approx(100 + scale.GAP_M, abs=scale.SHIFT_M)
    assert offsets[3][1] == pytest.approx(200 + scale.GAP_M, abs=scale.SHIFT_M)
    big = gdf.set_axis(["CH09", "CH10"])
    assert list(scale._tile_layer(big, scale.grid(12, 1, 100.0, 200.0), 1, 1).index[[0, 1, 2, 23]]) == [
        "CH009", "CH010", "CH019", "CH120"]  # one width for every copy
    odd = gdf.set_axis(["a", "b7"])
    assert list(scale._tile_layer(odd, offsets[:2], 1, 1).index) == ["a", "b7", "a-001", "b7-001"]
    again = scale._tile_layer(gdf, scale.grid(4, 1, 100.0, 200.0), 1, 1)
    assert shapely.equals_exact(again.geometry.values, tiled.geometry.values, 0).all()  # reproducible from the seed
    other = scale._tile_layer(gdf, scale.grid(4, 2, 100.0, 200.0), 2, 1)
    assert not shapely.equals_exact(other.geometry.values[2:], tiled.geometry.values[2:], 1e-9).any()
