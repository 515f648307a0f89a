"""GCJ-02 / BD-09 against published reference pairs; CGCS2000 Gauss-Krüger, UTM and the working CRS.

Reference pairs (public documentation and code; values copied as published):

* Amap (高德) Web-service coordinate-conversion API, documented example: the
  GPS (WGS 84) point ``116.481499,39.990475`` converts to GCJ-02
  ``116.487585177952,39.991754014757``. Source: the API's documentation
  (lbs.amap.com/api/webservice/guide/api/convert, request example) and its
  response example as mirrored in the Amap API collection on apifox.com
  (project 759159, api 14671355). This is the output of Amap's own service.
* wandergis/coordtransform (the widely used JavaScript library),
  ``test/app.js``: for the input ``116.404, 39.915`` it lists
  ``wgs84togcj02 → [116.41024449916938, 39.91640428150164]``,
  ``gcj02tobd09 → [116.41036949371029, 39.92133699351021]``,
  ``bd09togcj02 → [116.39762729119315, 39.90865673957631]`` and
  ``gcj02towgs84 → [116.39775550083061, 39.91359571849836]``.
  Its two inverses are one-step approximations; nbgeo iterates to the exact
  inverse, so those two agree only to the library's own error (centimetres).
* caijun/geoChina (R package, ``conv`` documentation): Beijing railway station
  WGS-84 ``(39.90105, 116.42079)``, GCJ-02 ``(39.90245, 116.42703)``, BD-09
  ``(39.90851, 116.43351)`` (latitude first, 5 decimals), stated there to
  agree with Baidu's conversion API.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS, Geod, Transformer

from nbgeo import crs
from nbgeo.errors import CRSError

GEOD = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def test_amap_service_example():
    lon, lat = crs.wgs84_to_gcj02(116.481499, 39.990475)
    assert metres(lon, lat, 116.487585177952, 39.991754014757) < 0.05  # Amap rounds to 1e-12°, 5 cm is its noise


@pytest.mark.parametrize(("func", "expected"), [
    (crs.wgs84_to_gcj02, (116.41024449916938, 39.91640428150164)),
    (crs.gcj02_to_bd09, (116.41036949371029, 39.92133699351021)),
])
def test_coordtransform_forward_pairs_exactly(func, expected):
    lon, lat = func(116.404, 39.915)
    assert float(lon) == pytest.approx(expected[0], abs=1e-11)
    assert float(lat) == pytest.approx(expected[1], abs=1e-11)


@pytest.mark.parametrize(("func", "expected"), [
    (crs.bd09_to_gcj02, (116.39762729119315, 39.90865673957631)),
    (crs.gcj02_to_wgs84, (116.39775550083061, 39.91359571849836)),
])
def test_coordtransform_inverse_pairs_within_their_approximation(func, expected):
    lon, lat = func(116.404, 39.915)
    assert metres(lon, lat, *expected) < 0.2
    # ...and nbgeo's inverse is the exact one: forward again gives back the input.
    forward = crs.wgs84_to_gcj02 if func is crs.gcj02_to_wgs84 else crs.gcj02_to_bd09
    again = forward(lon, lat)
    assert metres(*again, 116.404, 39.915) < 1e-3


def test_geochina_beijing_railway_station():
    wgs = (116.42079, 39.90105)
    gcj = crs.wgs84_to_gcj02(*wgs)
    bd = crs.wgs84_to_bd09(*wgs)
    assert metres(*gcj, 116.42703, 39.90245) < 1.5  # 5 published decimals are ±0.6 m
    assert metres(*bd, 116.43351, 39.90851) < 1.5
    back = crs.bd09_to_wgs84(116.43351, 39.90851)
    assert metres(*back, *wgs) < 1.5


def test_round_trip_under_one_metre_across_ningbo_and_china():
    rng = np.random.default_rng(6)
    lon = np.concatenate([rng.uniform(120.9, 122.3, 5000), rng.uniform(74, 134, 5000)])
    lat = np.concatenate([rng.uniform(28.85, 30.35, 5000), rng.uniform(18, 53, 5000)])
    for there, back in ((crs.wgs84_to_gcj02, crs.gcj02_to_wgs84), (crs.wgs84_to_bd09, crs.bd09_to_wgs84)):
        lon2, lat2 = back(*there(lon, lat))
        assert GEOD.inv(lon, lat, lon2, lat2)[2].max() < 1.0


# --- CGCS2000, Gauss-Krüger zones, UTM, and the working CRS --------------------------------------------

@pytest.mark.parametrize(("lon", "width", "prefixed", "epsg", "zone"), [
    (121.4, 3, False, 4549, 40), (121.6, 3, False, 4550, 41), (121.4, 3, True, 4528, 40),
    (121.6, 3, True, 4529, 41), (121.6, 6, False, 4510, 21), (121.6, 6, True, 4499, 21),
    (75.0, 3, True, 4513, 25), (135.0, 3, False, 4554, 45),
])
def test_gauss_kruger_zone_crs(lon, width, prefixed, epsg, zone):
    found = crs.gauss_kruger_crs(lon, zone_width=width, prefixed=prefixed)
    assert found.to_epsg() == epsg
    assert crs.gauss_kruger_zone(lon, zone_width=width)[0] == zone
    cm = crs.gauss_kruger_zone(lon, zone_width=width)[1]
    x, _ = Transformer.from_crs(4490, found, always_xy=True).transform(cm, 30.0)
    assert x == pytest.approx((zone * 1e6 if prefixed else 0) + 500_000, abs=1e-3)  # the CM maps to the false easting


def test_gauss_kruger_outside_china():
    with pytest.raises(CRSError) as exc:
        crs.gauss_kruger_crs(10.0)
    assert exc.value.code == "E-CRS-OUTOFBOUNDS"


def test_utm_for_ningbo_and_the_southern_hemisphere():
    assert crs.utm_crs(121.55, 29.87).to_epsg() == 32651
    assert crs.utm_crs(121.55, -29.87).to_epsg() == 32751
    with pytest.raises(CRSError):
        crs.utm_crs(121.5, 85.0)


def test_working_crs_scale_error_is_tiny_across_ningbo():
    working = crs.working_crs_for((120.9, 28.85, 122.3, 30.35))
    assert working.is_projected and working.axis_info[0].unit_name == "metre"
    from pyproj import Proj

    proj = Proj(working)
    lon, lat = np.meshgrid(np.linspace(120.9, 122.3, 15), np.linspace(28.85, 30.35, 15))
    factors = proj.get_factors(lon.ravel(), lat.ravel())
    assert np.abs(np.asarray(factors.meridional_scale) - 1).max() < 1e-4  # under 0.01 % over all of Ningbo
    # A 3-degree zone would exceed that at the city's far side.
    gk = Proj(CRS.from_epsg(4549))
    assert np.abs(np.asarray(gk.get_factors(122.3, 29.9).meridional_scale) - 1).max() > 1e-4


def test_to_metric_and_require_projected():
    import geopandas as gpd
    from shapely import Point

    g = gpd.GeoDataFrame(geometry=[Point(121.5, 29.87), Point(121.6, 29.87)], crs=4490)
    m = crs.to_metric(g)  # a transverse Mercator centred between the two points
    assert (m.geometry.x.iloc[0] + m.geometry.x.iloc[1]) / 2 == pytest.approx(500_000, abs=1e-3)
    assert m.geometry.iloc[0].distance(m.geometry.iloc[1]) == pytest.approx(
        metres(121.5, 29.87, 121.6, 29.87), rel=1e-5)
    crs.require_projected(m, what="a buffer")
    with pytest.raises(CRSError) as exc:
        crs.require_projected(g, what="a 500 m buffer")
    assert exc.value.code == "E-CRS-UNITS"
    with pytest.raises(CRSError):
        crs.to_metric(g, "EPSG:4326")


@pytest.mark.parametrize(("x", "y", "declared", "datum", "code"), [
    ([121.55], [29.87], "EPSG:4490", "WGS84", None),
    ([29.87], [121.55], "EPSG:4490", "WGS84", "E-CRS-AXIS"),
    ([29.87], [121.55], "EPSG:4326", "GCJ-02", "E-CRS-AXIS"),
    ([0.0], [0.0], "EPSG:4326", "GCJ-02", "E-CRS-OUTOFBOUNDS"),
    ([0.0], [0.0], "EPSG:4326", "WGS84", None),  # a valid place for WGS 84, if an odd one
    ([10.0], [50.0], "EPSG:4490", "CGCS2000", "E-CRS-OUTOFBOUNDS"),
    ([655_000.0], [3_305_000.0], "EPSG:4326", "WGS84", "E-CRS-UNITS"),
    ([121.55], [29.87], "EPSG:4549", "WGS84", "E-CRS-UNITS"),
    ([655_000.0], [3_305_000.0], "EPSG:4549", "WGS84", None),
    ([40_655_000.0], [3_305_000.0], "EPSG:4549", "WGS84", "E-CRS-ZONE"),
    ([655_000.0], [3_305_000.0], "EPSG:4528", "WGS84", "E-CRS-ZONE"),
    ([40_655_000.0], [3_305_000.0], "EPSG:4528", "WGS84", None),
    ([5_000_000.0], [9_000_000.0], "EPSG:4549", "WGS84", "E-CRS-OUTOFBOUNDS"),
    ([np.nan], [29.87], "EPSG:4490", "WGS84", None),  # non-finite values are E-GEOM-NONFINITE, not here
])
def test_check_coordinates(x, y, declared, datum, code):
    issues = crs.check_coordinates(x, y, declared, datum=datum)
    assert [i.code for i in issues] == ([code] if code else [])


def test_zone_prefix_hint_names_the_zone_crs():
    issue = crs.check_coordinates([40_655_000.0], [3_305_000.0], "EPSG:4549")[0]
    assert "EPSG:4528" in issue.hint


def test_parse_crs_refuses_nonsense():
    with pytest.raises(CRSError) as exc:
        crs.parse_crs("not a crs")
    assert exc.value.code == "E-CRS-INVALID"
    assert crs.parse_crs(crs.CGCS2000).to_epsg() == 4490
