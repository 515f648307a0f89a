"""Zones cut into grid cells (issue 18): the same pieces as cutting each zone cell by cell, a budget that
prices the cells made and the cells cut, and a province's industrial zones not refused by it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from nbgeo import coverage, limits
from nbgeo.errors import LimitError

UTM = "EPSG:32651"


def cell_by_cell(geoms: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """The split as nbgeo made it before issue 18: every cell of each zone's box intersected with the zone."""
    pieces, owners = [], []
    for pos, g in enumerate(geoms):
        x0, y0, x1, y1 = g.bounds
        xs = np.arange(np.floor(x0 / cell) * cell, x1, cell)
        ys = np.arange(np.floor(y0 / cell) * cell, y1, cell)
        gx, gy = np.meshgrid(xs, ys)
        cut = shapely.intersection(shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell, gy.ravel() + cell), g)
        keep = shapely.area(cut) > 0
        pieces.append(cut[keep])
        owners.append(np.full(int(keep.sum()), pos))
    return np.concatenate(pieces), np.concatenate(owners)


def assert_same_units(zones: gpd.GeoDataFrame, cell: float) -> gpd.GeoDataFrame:
    units = coverage.demand_units(zones, weight="area", split="grid", cell=cell, crs=zones.crs)
    pieces, owner = cell_by_cell(np.asarray(zones.geometry.values, dtype=object), cell)
    assert units["site"].tolist() == zones.index[owner].tolist()  # the same pieces, in the same order
    expected = shapely.area(pieces)
    np.testing.assert_allclose(units["weight"].to_numpy(), expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(shapely.get_coordinates(units.geometry.values),
                               shapely.get_coordinates(shapely.point_on_surface(pieces)), rtol=0, atol=1e-6)
    return units


def test_the_samples_industrial_zones_give_the_same_cells_as_before(sample):
    # The plan's requirement industrial_zones_chargers_2km cuts the clusters into 250 m cells: same units, so the
    # same coverage shares.
    clusters = sample.metric("clusters")
    units = assert_same_units(clusters, 250.0)
    assert len(units) > 1_000 and units["site"].nunique() == len(clusters)


def test_odd_shapes_and_cells_give_the_same_cells_as_before():
    # Holes, several parts, a zone on grid lines, bounds that are not multiples of the cell, a cell that is
    # not a whole number, a zone smaller than one cell.
    rng = np.random.default_rng(18)
    a = np.sort(rng.uniform(0, 2 * np.pi, 300))
    r = rng.uniform(800, 1_300, 300)
    blob = shapely.Polygon(np.c_[r * np.cos(a) + 401_234.567, r * np.sin(a) + 3_301_987.25],
                           [shapely.Point(401_234.567, 3_301_987.25).buffer(300).exterior.coords])
    parts = shapely.MultiPolygon([box(0, 0, 500, 500), box(1_000.5, 10.25, 1_400.75, 333.3)])
    zones = gpd.GeoDataFrame(geometry=[blob, parts, box(5, 5, 20, 20)], index=["Z1", "Z2", "Z3"], crs=UTM)
    for cell in (100.0, 37.3, 250):
        assert_same_units(zones, cell)


def test_the_estimate_counts_the_cells_made_and_the_cells_cut():
    # A 10 × 10 km square on the grid: 1,600 cells of 250 m, its ring walks through 4 × 39 of them (+ the first);
    # a circle 5 km across: 20 × 20 cells of 250 m. The same circle of 2,001 vertices and radius 2.5 km in 50 m cells: 100 × 100 cells, its ring through about
    # 4 × 2 × 100 (a quarter circle crosses the 50 columns and 50 rows of its quadrant, 400 cells in all).
    a = np.linspace(0, 2 * np.pi, 2_000, endpoint=False)
    circle = shapely.Polygon(np.c_[2_500 * np.cos(a), 2_500 * np.sin(a)])
    work = coverage.grid_split_work([box(0, 0, 10_000, 10_000), circle], 250)
    assert work["cells"].tolist() == [1_600.0, 400.0]
    assert work["edge_cells"][0] == 4 * 39 + 1
    assert work["vertices"].tolist() == [5, 2_001]
    work = coverage.grid_split_work([circle], 50)
    assert work["cells"][0] == 10_000 and 396 <= work["edge_cells"][0] <= 401
    cost = limits.SPLIT_COSTS
    assert work["seconds"][0] == pytest.approx(cost["cell"] * 10_000 + cost["cut cell"] * work["edge_cells"][0]
                                               + cost["vertex read"] * work["edge_cells"][0] * 2_001
                                               + cost["vertex cut"] * 2_001)
    # The walk never counts more cells than the box has: a ring zig-zagging inside one column and row of cells.
    zigzag = shapely.Polygon([(0, 0), (99, 0), (1, 1), (99, 2), (1, 3), (99, 4), (0, 5)])
    assert coverage.grid_split_work([zigzag], 100)["edge_cells"].tolist() == [1.0]


def test_the_estimate_is_what_the_split_refuses_with():
    a = np.linspace(0, 2 * np.pi, 2_000, endpoint=False)
    zone = gpd.GeoDataFrame(geometry=[shapely.Polygon(np.c_[2_500 * np.cos(a), 2_500 * np.sin(a)])], index=["Z1"],
                            crs=UTM)
    work = coverage.grid_split_work(zone.geometry.values, 5)
    seconds = work["seconds"][0]
    with limits.override(max_work_seconds=seconds * 0.99, max_total_work_seconds=1e6), \
            pytest.raises(LimitError) as caught:
        coverage.demand_units(zone, weight="area", split="grid", cell=5, crs=UTM, layer="clusters")
    assert caught.value.code == "E-LIMIT-WORK"
    edge = f"{work['edge_cells'][0]:,.0f}"
    assert f"feature 'Z1': 1,000,000 cells, about {edge} on its edge × 2,001 vertices" in str(caught.value)
    assert 3_900 < work["edge_cells"][0] < 4_100  # a ring 2 × 5,000 m wide and high in 5 m cells


def test_a_province_of_industrial_zones_is_not_refused_by_the_default_budget(sample):
    # The sample's clusters copied 100 times side by side (1,400 zones, as bench/scale.py tiles them): the split
    # into 250 m cells was priced at 31 s before (cells × vertices per zone), over the 30 s step budget, while
    # it took 7 s; priced by the cells made and the cells cut, it runs with the budgets as they are.
    clusters = sample.metric("clusters")
    x0, y0, x1, y1 = clusters.total_bounds
    copies = 100
    geoms = np.tile(np.asarray(clusters.geometry.values, dtype=object), copies)
    copy = np.repeat(np.arange(copies), len(clusters))
    shift = np.c_[(copy % 10) * (x1 - x0 + 2_000), (copy // 10) * (y1 - y0 + 2_000)]
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    moved = shapely.set_coordinates(shapely.transform(geoms, lambda c: c), xy + shift[owner])  # copies, moved
    province = gpd.GeoDataFrame(geometry=moved, crs=clusters.crs)
    assert limits.max_total_work_seconds == 30.0 and limits.max_work_seconds == 10.0  # the defaults
    work = coverage.grid_split_work(moved, 250)
    before = 1e-6 * work["cells"] * (work["vertices"] + 5)  # the former price
    assert before.sum() > limits.max_total_work_seconds  # what refused it
    assert work["seconds"].sum() < limits.max_total_work_seconds / 2
    units = coverage.demand_units(province, weight="area", split="grid", cell=250, crs=province.crs,
                                  layer="clusters")  # not refused
    assert units["site"].nunique() == 1_400
    assert units["weight"].sum() == pytest.approx(copies * clusters.area.sum(), rel=1e-9)
