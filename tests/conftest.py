"""Shared fixtures: tiny in-code layers, and the embedded sample read once per session."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import settings
from shapely import LineString, Point, box

from nbgeo import datasets, io, plan
from nbgeo.layers import Dataset
from nbgeo.renderers import chromium

# Ningbo's old town centre, in WGS 84; small features are laid out around it.
X0, Y0 = 121.55, 29.87

pytest_plugins = ["pg_cluster"]  # a throwaway PostgreSQL + PostGIS cluster for the database tests

# Property tests draw the same examples on every run, so a red run can be replayed and CI judges the change,
# not the draw (a polar extent drawn once in a fresh clone was such a find: it is now an explicit example).
# NBGEO_HYPOTHESIS_EXPLORE=1 draws new examples each run; `make fuzz` explores the readers further.
settings.register_profile("nbgeo", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("NBGEO_HYPOTHESIS_EXPLORE") else "nbgeo")


@pytest.fixture(scope="session")
def sample() -> Dataset:
    """The embedded Ningbo sample, read once."""
    return io.read_sample()


@pytest.fixture(scope="session")
def ningbo_plan() -> plan.Plan:
    """The embedded 2025 plan."""
    return plan.read_plan(datasets.get_path("ningbo_2025"))


@pytest.fixture
def tiny_dataset() -> Dataset:
    """A hand-made dataset whose measures are known exactly."""
    chargers = gpd.GeoDataFrame(
        {"type": ["charging", "swapping", "charging", "charging"], "ports": [2, 1, 4, 8],
         "year": [2020, 2022, 2024, 2026]},
        geometry=[Point(X0 + 0.01 * i, Y0) for i in range(4)], crs=4326, index=["c1", "c2", "c3", "c4"],
    )
    roads = gpd.GeoDataFrame(
        {"name": ["a", "b"], "year": [2021, 2023], "kind": ["new", "renovated"]},
        geometry=[LineString([(X0, Y0), (X0, Y0 + 0.01)]), LineString([(X0, Y0), (X0 + 0.01, Y0)])],
        crs=4326, index=["r1", "r2"],
    )
    # Land parcels in a metric CRS: exact areas (ha) by construction.
    from nbgeo.crs import NINGBO_TM

    ox, oy = 505000.0, 3305000.0
    parcels = gpd.GeoDataFrame(
        {"use": ["industrial", "commercial", "industrial", "residential"], "year": [2021, 2021, 2022, 2022]},
        geometry=[box(ox, oy, ox + 100, oy + 100), box(ox + 200, oy, ox + 300, oy + 300),
                  box(ox, oy + 500, ox + 100, oy + 700), box(ox + 200, oy + 500, ox + 400, oy + 700)],
        crs=NINGBO_TM, index=["p1", "p2", "p3", "p4"],
    )
    return Dataset.from_gdfs({"chargers": chargers, "smart_roads": roads, "land_transfers": parcels}, name="tiny")


@pytest.fixture
def write_dataset(tmp_path: Path):
    """Write layers and a manifest to a folder and return its path."""

    def _write(layers: dict[str, gpd.GeoDataFrame], manifest_extra: dict[str, dict[str, str]] | None = None) -> Path:
        lines = ['[dataset]\nname = "test"\n']
        for name, gdf in layers.items():
            gdf.to_file(tmp_path / f"{name}.geojson", driver="GeoJSON")
            lines.append(f'[layers.{name}]\nfile = "{name}.geojson"\nsource = "test"\nlicence = "CC0-1.0"\n')
            for key, value in (manifest_extra or {}).get(name, {}).items():
                lines.append(f"{key} = {value}\n")
        (tmp_path / "dataset.toml").write_text("".join(lines), encoding="utf-8")
        return tmp_path

    return _write


@pytest.fixture(scope="module")
def has_browser():
    """Chromium is installed, for tests that run it through nbgeo (PNG, PDF); with NBGEO_REQUIRE_BROWSER set, a
    missing browser fails, not skips."""
    if chromium.find_chromium() is None:
        reason = "Chromium is not installed (apt-get install chromium); the browser tests did NOT run"
        if os.environ.get("NBGEO_REQUIRE_BROWSER"):
            pytest.fail(reason + ", but NBGEO_REQUIRE_BROWSER is set")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(has_browser):
    """One headless Chromium per test module, for tests that drive pages themselves."""
    with chromium.Browser() as b:
        yield b
