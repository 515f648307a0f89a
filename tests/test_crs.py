from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely import Point, Polygon

from nbgeo import crs
from nbgeo.errors import CRSError

GEOD = Geod(ellps="WGS84")


def _metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_gcj_round_trip_under_one_metre_over_china():
    rng = np.random.default_rng(1)
    lon = rng.uniform(74, 134, 20_000)
    lat = rng.uniform(18, 53, 20_000)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    blon, blat = crs.gcj02_to_wgs84(glon, glat)
    err = _metres(lon, lat, blon, blat)
    assert err.max() < 0.01  # 1 cm, far inside the 1 m the brief asks for


def test_gcj_offset_in_ningbo_is_hundreds_of_metres():
    lon, lat = crs.wgs84_to_gcj02(np.array([121.0, 121.55, 122.2]), np.array([29.3, 29.87, 30.2]))
    offsets = _metres([121.0, 121.55, 122.2], [29.3, 29.87, 30.2], lon, lat)
    assert np.all((offsets > 300) & (offsets < 800))


def test_gcj_outside_china_is_identity():
    lon, lat = crs.wgs84_to_gcj02([2.35, -74.0], [48.85, 40.7])
    assert lon.tolist() == [2.35, -74.0] and lat.tolist() == [48.85, 40.7]


def test_bd09_round_trip():
    lon, lat = np.array([121.55, 116.4]), np.array([29.87, 39.9])
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    assert np.all(_metres(lon, lat, blon, blat) > 500)  # BD-09 adds ~1 km on top of GCJ-02
    wlon, wlat = crs.bd09_to_wgs84(blon, blat)
    assert _metres(lon, lat, wlon, wlat).max() < 0.01


def test_convert_gdf_datum_keeps_rings_and_crs():
    poly = Polygon([(121.5, 29.8), (121.6, 29.8), (121.6, 29.9), (121.5, 29.8)])
    g = gpd.GeoDataFrame({"name": ["p"]}, geometry=[poly], crs=4326)
    out = crs.convert_gdf_datum(g, from_datum="GCJ-02")
    assert out.crs == g.crs and out.geometry.iloc[0].is_valid
    assert len(out.geometry.iloc[0].exterior.coords) == 4
    assert g.geometry.iloc[0].equals(poly)  # the input is not modified


def test_convert_gdf_datum_refuses_projected():
    g = gpd.GeoDataFrame(geometry=[Point(500000, 3300000)], crs=crs.NINGBO_TM)
    with pytest.raises(CRSError, match="geographic"):
        crs.convert_gdf_datum(g, from_datum="GCJ-02")


def test_unknown_datum():
    with pytest.raises(CRSError, match="unknown datum"):
        crs.convert_datum(1, 2, from_datum="Beijing54")


@pytest.mark.parametrize(("lon", "width", "epsg"), [(121.4, 3, 4549), (121.6, 3, 4550), (121.6, 6, 4510),
                                                     (117.0, 6, 4509), (75.0, 3, 4534)])
def test_gauss_kruger_zones(lon, width, epsg):
    assert crs.gauss_kruger_crs(lon, zone_width=width).to_epsg() == epsg


def test_working_crs_scale_error_small_over_ningbo():
    # A 10 km east-west line at either edge of Ningbo: projected length within 0.02 % of geodesic.
    from pyproj import Transformer

    t = Transformer.from_crs(4326, crs.NINGBO_TM, always_xy=True)
    for lon in (120.9, 122.3):
        x1, y1 = t.transform(lon, 29.9)
        x2, y2 = t.transform(lon + 0.1, 29.9)
        projected = np.hypot(x2 - x1, y2 - y1)
        geodesic = _metres(lon, 29.9, lon + 0.1, 29.9)
        assert abs(projected / geodesic - 1) < 2e-4
