"""DEM slope, GDAL-exact pixel indexing and zonal statistics on small rasters whose answers are known."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.errors
import rasterio.features
import shapely
from affine import Affine
from shapely import Point, box

from nbgeo import raster
from nbgeo.errors import CRSError, LimitError, ValidationError

CRS = "EPSG:32651"
ORIGIN = (500_000.0, 3_300_000.0)


def write_tif(path: Path, z: np.ndarray, *, cell: float = 10.0, crs: str | None = CRS, nodata: float | None = -9999.0,
              transform: Affine | None = None) -> Path:
    """A one-band float GeoTIFF with the top-left corner at ORIGIN."""
    profile = {"driver": "GTiff", "width": z.shape[1], "height": z.shape[0], "count": 1, "dtype": "float32",
               "transform": transform or Affine(cell, 0, ORIGIN[0], 0, -cell, ORIGIN[1])}
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with warnings.catch_warnings():
        # A file without georeferencing is what some tests want.
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(z.astype("float32"), 1)
    return path


def cell_box(r0: float, c0: float, r1: float, c1: float, cell: float = 10.0) -> shapely.Polygon:
    """A box from pixel coordinates (rows down, columns right) to map coordinates."""
    x0, y0 = ORIGIN
    return box(x0 + c0 * cell, y0 - r1 * cell, x0 + c1 * cell, y0 - r0 * cell)


@pytest.fixture
def ramp(tmp_path: Path) -> Path:
    """20 × 20 cells of 10 m rising 1 m per cell eastwards: 10 % or atan(0.1) everywhere inside."""
    z = np.tile(np.arange(20, dtype=float), (20, 1))
    return write_tif(tmp_path / "ramp.tif", z)


def test_slope_of_planes_is_exact() -> None:
    rows, cols = np.mgrid[0:6, 0:7].astype(float)
    z = 3.0 * cols * 10 + 4.0 * rows * 10  # gradient (3, 4) per metre-cell of 10 m: |g| = 5 / 10 m
    s = raster.slope(z, xres=10.0, yres=10.0, unit="percent")
    assert np.allclose(s[1:-1, 1:-1], 500.0)
    assert np.isnan(s[0]).all() and np.isnan(s[:, -1]).all()
    deg = raster.slope(z, xres=10.0, yres=10.0, unit="degree")
    assert np.allclose(deg[1:-1, 1:-1], np.degrees(np.arctan(5.0)))


def test_slope_is_nan_next_to_nodata_and_rejects_bad_units() -> None:
    z = np.ones((5, 5))
    z[2, 2] = -9999.0
    s = raster.slope(z, xres=1.0, yres=1.0, nodata=-9999.0)
    assert np.isnan(s[1:4, 1:4]).all()
    with pytest.raises(Exception, match="slope unit"):
        raster.slope(z, xres=1.0, yres=1.0, unit="radian")


def test_pixel_index_matches_gdal_rasterize_on_random_polygons_with_holes() -> None:
    rng = np.random.default_rng(7)
    transform = Affine(30.0, 0, 1000.0, 0, -30.0, 50_000.0)
    shape = (200, 240)
    centres = rng.uniform([1000, 50_000 - 200 * 30], [1000 + 240 * 30, 50_000], (120, 2))
    angles = np.linspace(0, 2 * np.pi, 31)[:-1]
    radius = rng.uniform(15, 600, (120, 1)) * (1 + 0.4 * rng.uniform(-1, 1, (120, 30)))
    ring = np.stack([centres[:, :1] + radius * np.cos(angles), centres[:, 1:] + radius * np.sin(angles)], -1)
    polys = shapely.make_valid(shapely.polygons(np.concatenate([ring, ring[:, :1]], 1)))
    holed = shapely.difference(polys[:30], shapely.buffer(shapely.points(centres[:30]), 100))
    geoms = [g for g in [*polys[30:], *holed, shapely.union_all(polys[:4])]
             if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    idx = raster.pixel_index(geoms, tuple(transform)[:6], shape)
    for i, g in enumerate(geoms):
        mask = rasterio.features.geometry_mask([g], shape, transform, invert=True)
        expected = set(zip(*np.nonzero(mask), strict=True))
        mine = idx.site == i
        assert set(zip(idx.row[mine].tolist(), idx.col[mine].tolist(), strict=True)) == expected, i


def test_pixel_index_points_outside_and_lines() -> None:
    idx = raster.pixel_index([Point(5, -5), Point(-1, -1), shapely.LineString([(0, 0), (5, -5)]), Point()],
                             (1, 0, 0, 0, -1, 0), (10, 10))
    assert idx.site.tolist() == [0] and idx.row.tolist() == [5] and idx.col.tolist() == [5]
    assert idx.counts(4).tolist() == [1, 0, 0, 0]


def test_zonal_stats_counts_centres_and_skips_nodata(tmp_path: Path) -> None:
    z = np.arange(100, dtype=float).reshape(10, 10)
    z[0, 0] = -9999.0
    path = write_tif(tmp_path / "z.tif", z)
    sites = gpd.GeoDataFrame(geometry=[cell_box(0, 0, 2, 2), cell_box(0.4, 0.4, 3.6, 2.6), Point(*ORIGIN)],
                             crs=CRS, index=["corner", "centres", "pt"])
    stats = raster.zonal_stats(sites, path, stats=["count", "min", "max", "mean", "sum", "std"])
    assert stats.loc["corner", "count"] == 3  # four cells, one of them nodata
    assert stats.loc["corner", ["min", "max", "sum"]].tolist() == [1.0, 11.0, 22.0]
    # Centres at rows 0.5..3.5 in [0.4, 3.6) and cols 0.5..2.5 in [0.4, 2.6): 4 × 3 cells, minus the nodata one.
    assert stats.loc["centres", "count"] == 11
    assert np.isnan(stats.loc["pt", "mean"])  # the point falls in the nodata cell
    values = np.array([1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32], dtype=float)
    assert stats.loc["centres", "std"] == pytest.approx(values.std())


def test_zonal_stats_equal_rasterstats(tmp_path: Path) -> None:
    import rasterstats
    rng = np.random.default_rng(3)
    path = write_tif(tmp_path / "noise.tif", rng.normal(50, 10, (120, 150)))
    pts = shapely.points(rng.uniform(ORIGIN[0], ORIGIN[0] + 1500, 40), rng.uniform(ORIGIN[1] - 1200, ORIGIN[1], 40))
    sites = gpd.GeoDataFrame(geometry=shapely.buffer(pts, rng.uniform(5, 120, 40), quad_segs=5), crs=CRS)
    mine = raster.zonal_stats(sites, path, stats=["count", "mean", "max"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # rasterstats 0.21 multiplies Affine with *
        theirs = rasterstats.zonal_stats(list(sites.geometry), str(path), stats=["count", "mean", "max"])
    assert mine["count"].tolist() == [t["count"] for t in theirs]
    assert np.allclose(mine["mean"], [np.nan if t["mean"] is None else t["mean"] for t in theirs], equal_nan=True)


def test_slope_stats_on_a_ramp(ramp: Path) -> None:
    sites = gpd.GeoDataFrame(geometry=[cell_box(2, 2, 6, 6), cell_box(0, 0, 3, 3), Point(ORIGIN[0] + 55, ORIGIN[1] - 55)],
                             crs=CRS, index=["inner", "edge", "pt"])
    s = raster.slope_stats(sites, ramp, stats=["count", "mean", "max"], unit="percent")
    assert s.loc["inner", "count"] == 16 and s.loc["inner", "mean"] == pytest.approx(10.0)
    assert s.loc["edge", "count"] == 4  # row 0 and column 0 lie on the DEM's edge: no slope there
    assert s.loc["pt", "max"] == pytest.approx(10.0)
    deg = raster.slope_stats(sites, ramp, stats=["mean"], unit="degree")
    assert deg.loc["inner", "mean"] == pytest.approx(np.degrees(np.arctan(0.1)))


def test_slope_stats_equal_zonal_stats_of_the_full_slope_raster(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    from scipy import ndimage

    z = ndimage.gaussian_filter(rng.normal(0, 40, (90, 110)), 3) + 100
    z[40:44, 50:53] = -9999.0
    dem = write_tif(tmp_path / "dem.tif", z, cell=25.0)
    full = raster.slope(z, xres=25.0, yres=25.0, unit="percent", nodata=-9999.0)
    slope_tif = write_tif(tmp_path / "slope.tif", np.where(np.isnan(full), -9999.0, full), cell=25.0)
    pts = shapely.points(rng.uniform(ORIGIN[0], ORIGIN[0] + 110 * 25, 30), rng.uniform(ORIGIN[1] - 90 * 25, ORIGIN[1], 30))
    sites = gpd.GeoDataFrame(geometry=shapely.buffer(pts, 90.0), crs=CRS)
    direct = raster.slope_stats(sites, dem, stats=["count", "mean", "max"], unit="percent")
    via = raster.zonal_stats(sites, slope_tif, stats=["count", "mean", "max"])
    assert direct["count"].tolist() == via["count"].tolist()
    assert np.allclose(direct["mean"], via["mean"], rtol=1e-5, equal_nan=True)


def test_slope_in_a_geographic_dem_uses_metres(tmp_path: Path) -> None:
    # A ramp of 1 m per 0.001° eastwards at 30°N: 0.001° of longitude is about 96.5 m there.
    z = np.tile(np.arange(30, dtype=float), (30, 1))
    transform = Affine(0.001, 0, 121.0, 0, -0.001, 30.015)
    path = write_tif(tmp_path / "geo.tif", z, crs="EPSG:4326", transform=transform)
    sites = gpd.GeoDataFrame(geometry=[box(121.01, 29.995, 121.02, 30.005)], crs=4326)
    mean = raster.slope_stats(sites, path, stats=["mean"], unit="percent").iloc[0]["mean"]
    assert mean == pytest.approx(100 / 96.49, rel=2e-3)


def test_crs_mismatch_is_an_error_naming_both(ramp: Path) -> None:
    sites = gpd.GeoDataFrame(geometry=[box(121.5, 29.8, 121.6, 29.9)], crs=4326)
    with pytest.raises(CRSError, match=r"EPSG:4326.*EPSG:32651") as info:
        raster.slope_stats(sites, ramp)
    assert info.value.code == "E-CRS-MISMATCH"
    with pytest.raises(CRSError, match="no CRS"):
        raster.zonal_stats(gpd.GeoSeries([box(0, 0, 1, 1)]), ramp)


def test_verify_raster_refuses_bad_files(tmp_path: Path, ramp: Path) -> None:
    fake = tmp_path / "dem.tif"
    fake.write_text("<VRTDataset rasterXSize='10'></VRTDataset>", encoding="utf-8")
    assert [p.code for p in raster.verify_raster(fake)[1]] == ["E-FORMAT-FORBIDDEN"]
    nogeo = write_tif(tmp_path / "nogeo.tif", np.zeros((4, 4)), crs=None, transform=Affine.identity())
    assert [p.code for p in raster.verify_raster(nogeo)[1]] == ["E-RASTER-NOGEOREF"]
    nonodata = write_tif(tmp_path / "nn.tif", np.zeros((4, 4)), nodata=None)
    info, problems = raster.verify_raster(nonodata)
    assert info is not None and [p.code for p in problems] == ["W-RASTER-NODATA"]
    assert raster.verify_raster(ramp, expected_crs="EPSG:4326")[1][0].code == "E-CRS-MISMATCH"
    assert raster.verify_raster(tmp_path / "missing.tif")[1][0].code == "E-FILE-MISSING"
    with pytest.raises(ValidationError):
        raster.open_raster(nogeo)


def test_pixel_limit_is_checked_from_the_header(ramp: Path) -> None:
    from nbgeo import limits

    with limits.override(max_pixels=100):
        assert raster.verify_raster(ramp)[1][0].code == "E-LIMIT-PIXELS"
        with pytest.raises(LimitError):
            raster.open_raster(ramp)
    assert raster.verify_raster(ramp)[1] == []


def test_large_extents_are_read_in_strips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    z = rng.normal(0, 5, (60, 40)).cumsum(axis=0)
    dem = write_tif(tmp_path / "d.tif", z)
    sites = gpd.GeoDataFrame(geometry=[cell_box(1, 1, 20, 39), cell_box(30, 3, 59, 20), cell_box(10, 5, 50, 9)],
                             crs=CRS)
    whole = raster.slope_stats(sites, dem, stats=["count", "mean", "max"])
    monkeypatch.setattr(raster, "_READ_BUDGET", 200)  # a few rows at a time
    strips = raster.slope_stats(sites, dem, stats=["count", "mean", "max"])
    assert whole["count"].tolist() == strips["count"].tolist()
    assert np.allclose(whole[["mean", "max"]], strips[["mean", "max"]])


def test_sample_dem_is_illustrative_and_steep_only_under_the_red_line(sample) -> None:
    dem = sample.raster("dem")
    assert dem.meta.illustrative and "illustrative" in dem.meta.note.lower()
    assert dem.crs == "EPSG:4326" and Path(dem.path).stat().st_size < 3_000_000
    red = sample["constraints"][sample["constraints"]["kind"] == "ecological_red_line"]
    farm = sample["constraints"][sample["constraints"]["kind"] == "basic_farmland"]
    on_hills = raster.slope_stats(red.geometry, dem, stats=["mean"], unit="percent")["mean"]
    on_plain = raster.slope_stats(farm.geometry, dem, stats=["mean"], unit="percent")["mean"]
    assert (on_hills > 8).all() and (on_plain < 2).all()
