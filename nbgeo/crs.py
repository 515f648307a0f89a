"""Coordinate reference systems: where nbgeo measures, and the coordinates of Chinese planning data.

The working CRS
---------------
nbgeo measures lengths, areas and distances (by road too) in a projected
*working CRS* decided once per dataset from the extent of all its layers
(:attr:`nbgeo.layers.Dataset.working_crs`, :func:`choose_working_crs`), and
for bare GeoDataFrames from their own extent (:func:`working_crs_for`,
:func:`metric_crs_for`):

* a CRS the user declares wins: ``--crs``, then ``[crs] working`` in
  ``dataset.toml``, then ``settings.working_crs``; its error over the data is
  measured and recorded, and a warning (``W-CRS-ACCURACY``) says when it is
  beyond 0.1 %;
* in China, the CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534-4554) whose
  central meridian is nearest, when lengths and areas over the whole extent
  are within :data:`GK_SCALE_ERROR` (0.01 %) in it;
* otherwise a transverse Mercator on CGCS2000 (China) or WGS 84 (elsewhere)
  centred on the extent, with the scale on its central meridian set so that
  the error at the centre equals the error at the edges.

A transverse Mercator's scale at ``x`` from its central meridian is
:math:`k = k_0 (1 + x^2 / 2R^2 + \\dots)`: 0.077 % at 250 km, and an area's
error is twice a length's. Balanced with :math:`k_0 = 2 / (1 + k_{edge})`,
lengths and areas stay within 0.1 % (:data:`MAX_SCALE_ERROR`) up to about
285 km either side of the centre. The error is not assumed but measured with
PROJ's scale factors on an outline of the data (:mod:`nbgeo._extent`), which
also handles the antimeridian (the longitudes are taken as the shortest band
holding the data) and the poles (near a pole the extent is narrow in
kilometres however many degrees it spans). An extent too large for 0.1 %
raises ``E-CRS-EXTENT`` with a hint to split it. ``audit.json`` records the
choice under ``dataset.working_crs`` (:meth:`WorkingCRS.to_dict`).

Before nbgeo chose its CRS, it used :data:`NINGBO_TM` (central meridian
121.5°E) everywhere: right in Ningbo, 3.5 % too long in Chengdu, 9 % in
Urumqi and 27-42 % in Europe and the Americas.

Coordinates of Chinese planning data
------------------------------------
Three families of coordinates meet in Ningbo's data:

* **WGS 84 / CGCS2000** (EPSG:4326 / EPSG:4490): the two differ by a few
  centimetres, so nbgeo treats them as one datum for planning work.
* **Gauss-Krüger projections on CGCS2000** (3- and 6-degree zones): the
  projected coordinates of Chinese surveying and land-registry data.
* **GCJ-02 and BD-09**: the obfuscated datums of Chinese web maps (Amap,
  Tencent; Baidu). They have no EPSG code and PROJ does not support them
  (OSGeo/PROJ#982), so nbgeo converts them itself with the published
  formulas. Data copied from a Chinese web map is usually GCJ-02 even when it
  says WGS 84; the offset in Ningbo is about 500 m.

GCJ-02 formula
--------------
The forward transform adds an offset ``(dlon, dlat)`` computed from
``x = lon - 105`` and ``y = lat - 35`` by two fixed trigonometric series on
the Krasovsky ellipsoid (a = 6378245 m, e² = 0.00669342162296594323):

.. math::

   dlat = \\frac{T_{lat}(x, y) \\cdot 180}{\\frac{a (1 - e^2)}{W^3} \\pi},\\quad
   dlon = \\frac{T_{lon}(x, y) \\cdot 180}{\\frac{a}{W} \\cos\\varphi \\, \\pi},\\quad
   W = \\sqrt{1 - e^2 \\sin^2 \\varphi}

Points outside mainland China's rough bounding box are returned unchanged,
as the web maps do. The inverse is computed by fixed-point iteration until
the residual is below 1e-9 degrees (about 0.1 mm).

Examples
--------
>>> import numpy as np
>>> from nbgeo import crs
>>> lon, lat = crs.wgs84_to_gcj02(np.array([121.55]), np.array([29.87]))
>>> bool(400 < crs.offset_metres(121.55, 29.87, float(lon[0]), float(lat[0])) < 700)
True
>>> back_lon, back_lat = crs.gcj02_to_wgs84(lon, lat)
>>> float(abs(back_lon[0] - 121.55) + abs(back_lat[0] - 29.87)) < 1e-8
True
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pyproj import CRS, Geod

from . import settings
from ._extent import footprint
from .errors import CRSError, Problem

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

    from ._extent import Footprint

__all__ = [
    "CGCS2000",
    "DATUMS",
    "EXTENT_HINT",
    "GK_SCALE_ERROR",
    "MAX_SCALE_ERROR",
    "NINGBO_TM",
    "CoordinateIssue",
    "WorkingCRS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_coordinates",
    "choose_working_crs",
    "convert_datum",
    "convert_gdf_datum",
    "dataset_crs_choice",
    "gauss_kruger_crs",
    "gauss_kruger_zone",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "metric_crs_for",
    "offset_metres",
    "out_of_china",
    "parse_crs",
    "require_projected",
    "to_metric",
    "utm_crs",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "working_crs",
    "working_crs_for",
]

#: Datums a layer may declare in a dataset manifest. CGCS2000 and WGS84 are
#: one datum for planning purposes; GCJ-02 and BD-09 need conversion.
DATUMS = ("WGS84", "CGCS2000", "GCJ-02", "BD-09")

#: China Geodetic Coordinate System 2000, geographic (the datum of Chinese surveying since 2008).
CGCS2000 = "EPSG:4490"

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0  # BD-09's angular constant
_GEOD = Geod(ellps="WGS84")
log = logging.getLogger(__name__)

FloatArray = "NDArray[np.float64]"


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where a point lies outside the box GCJ-02 applies to.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees.

    Returns
    -------
    numpy.ndarray
        Boolean mask, True where no offset applies.

    Examples
    --------
    >>> out_of_china([121.5, 2.35], [29.9, 48.85]).tolist()
    [False, True]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The GCJ-02 offset in degrees at WGS 84 positions ``lon, lat``."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    # The shared periodic term, then each axis's own series.
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    t_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    t_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    t_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    t_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    t_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (t_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    if lon_a.shape != lat_a.shape:
        msg = f"lon and lat must have the same shape, got {lon_a.shape} and {lat_a.shape}"
        raise CRSError(msg, code="E-CRS-SHAPE")
    return lon_a, lat_a


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert WGS 84 coordinates to GCJ-02 (the Amap / Tencent datum).

    Parameters
    ----------
    lon, lat
        WGS 84 longitude and latitude in degrees (scalars or arrays).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(121.55, 29.87)
    >>> round(float(lon) - 121.55, 4), round(float(lat) - 29.87, 4)
    (0.0042, -0.0026)
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _offset(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-9, max_iter: int = 30
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert GCJ-02 coordinates to WGS 84 by iterative inversion.

    Starting from the GCJ-02 position, each step subtracts the forward
    residual; the offset field is smooth, so this converges to ``tol`` degrees
    in a handful of steps (round-trip error well under 1 mm).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees.
    tol
        Stop when every residual is below this, in degrees.
    max_iter
        Upper bound on the number of steps.

    Returns
    -------
    tuple of numpy.ndarray
        WGS 84 longitude and latitude.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(121.5546, 29.8677)
    >>> glon, glat = wgs84_to_gcj02(lon, lat)
    >>> bool(abs(float(glon) - 121.5546) < 1e-9 and abs(float(glat) - 29.8677) < 1e-9)
    True
    """
    lon_g, lat_g = _as_arrays(lon, lat)
    lon_w, lat_w = lon_g.copy(), lat_g.copy()
    for _ in range(max_iter):
        lon_f, lat_f = wgs84_to_gcj02(lon_w, lat_w)
        d_lon = lon_f - lon_g
        d_lat = lat_f - lat_g
        lon_w = lon_w - d_lon
        lat_w = lat_w - d_lat
        residual = np.nanmax(np.abs(np.concatenate([np.ravel(d_lon), np.ravel(d_lat)])), initial=0.0)
        if residual < tol:
            break
    return lon_w, lat_w


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert GCJ-02 coordinates to BD-09 (the Baidu datum).

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(121.5546, 29.8677)
    >>> round(float(lon) - 121.5546, 3), round(float(lat) - 29.8677, 3)
    (0.006, 0.006)
    """
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-9, max_iter: int = 30
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert BD-09 coordinates to GCJ-02 by iterative inversion.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(*gcj02_to_bd09(121.5546, 29.8677))
    >>> bool(abs(float(lon) - 121.5546) < 1e-9 and abs(float(lat) - 29.8677) < 1e-9)
    True
    """
    lon_b, lat_b = _as_arrays(lon, lat)
    lon_g, lat_g = lon_b - 0.0065, lat_b - 0.006
    for _ in range(max_iter):
        lon_f, lat_f = gcj02_to_bd09(lon_g, lat_g)
        d_lon = lon_f - lon_b
        d_lat = lat_f - lat_b
        lon_g = lon_g - d_lon
        lat_g = lat_g - d_lat
        residual = np.nanmax(np.abs(np.concatenate([np.ravel(d_lon), np.ravel(d_lat)])), initial=0.0)
        if residual < tol:
            break
    return lon_g, lat_g


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert WGS 84 coordinates to BD-09 (through GCJ-02).

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(*wgs84_to_bd09(121.55, 29.87))
    >>> bool(abs(float(lon) - 121.55) < 1e-8 and abs(float(lat) - 29.87) < 1e-8)
    True
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert BD-09 coordinates to WGS 84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_CONVERTERS = {
    ("GCJ-02", "WGS84"): gcj02_to_wgs84,
    ("WGS84", "GCJ-02"): wgs84_to_gcj02,
    ("BD-09", "WGS84"): bd09_to_wgs84,
    ("WGS84", "BD-09"): wgs84_to_bd09,
    ("BD-09", "GCJ-02"): bd09_to_gcj02,
    ("GCJ-02", "BD-09"): gcj02_to_bd09,
}


def _normalise_datum(datum: str) -> str:
    key = datum.strip().upper().replace("_", "-")
    aliases = {"WGS-84": "WGS84", "EPSG:4326": "WGS84", "EPSG:4490": "CGCS2000", "GCJ02": "GCJ-02",
               "BD09": "BD-09", "CGCS-2000": "CGCS2000"}
    key = aliases.get(key, key)
    if key not in DATUMS:
        msg = f"unknown datum {datum!r}; expected one of {', '.join(DATUMS)}"
        raise CRSError(msg, code="E-CRS-DATUM")
    # CGCS2000 and WGS 84 differ by centimetres: one datum for planning work.
    return "WGS84" if key == "CGCS2000" else key


def convert_datum(
    lon: ArrayLike, lat: ArrayLike, *, from_datum: str, to_datum: str = "WGS84"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert coordinates between WGS84/CGCS2000, GCJ-02 and BD-09.

    Examples
    --------
    >>> glon, glat = convert_datum(121.55, 29.87, from_datum="WGS84", to_datum="GCJ-02")
    >>> lon, lat = convert_datum(glon, glat, from_datum="GCJ-02")
    >>> round(float(lon), 6), round(float(lat), 6)
    (121.55, 29.87)
    """
    src, dst = _normalise_datum(from_datum), _normalise_datum(to_datum)
    if src == dst:
        return _as_arrays(lon, lat)
    return _CONVERTERS[(src, dst)](lon, lat)


def convert_gdf_datum(gdf: gpd.GeoDataFrame, *, from_datum: str, to_datum: str = "WGS84") -> gpd.GeoDataFrame:
    """Return a copy of a geographic GeoDataFrame with every vertex converted.

    The input must be in geographic coordinates (EPSG:4326 or EPSG:4490);
    the output keeps its CRS, since GCJ-02 and BD-09 have none of their own.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(121.5542, 29.8674)], crs=4326)
    >>> w = convert_gdf_datum(g, from_datum="GCJ-02")
    >>> round(float(w.geometry.x.iloc[0]), 4), round(float(w.geometry.y.iloc[0]), 4)
    (121.55, 29.87)
    """
    import shapely

    if gdf.crs is None or not gdf.crs.is_geographic:
        msg = (
            f"datum conversion from {from_datum} needs geographic coordinates, got CRS {gdf.crs!r}; "
            "GCJ-02 and BD-09 data is always longitude/latitude"
        )
        raise CRSError(msg, code="E-CRS-DATUM")
    src, dst = _normalise_datum(from_datum), _normalise_datum(to_datum)
    out = gdf.copy()
    if src == dst:
        return out

    def _transform(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = convert_datum(coords[:, 0], coords[:, 1], from_datum=src, to_datum=dst)
        return np.column_stack([lon, lat])

    out[out.geometry.name] = shapely.transform(np.asarray(gdf.geometry.values), _transform)
    return out


def offset_metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance in metres between two lon/lat points.

    Examples
    --------
    >>> round(offset_metres(121.5, 29.9, 121.5, 30.0))
    11085
    """
    return float(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


def gauss_kruger_zone(longitude: float, *, zone_width: Literal[3, 6] = 3) -> tuple[int, int]:
    """Return ``(zone number, central meridian)`` of the CGCS2000 Gauss-Krüger zone holding ``longitude``.

    3-degree zones are centred on multiples of 3°E (zone = CM / 3); 6-degree
    zones on 3°E + 6°k (zone = (CM + 3) / 6). China uses 3-degree zones 25-45
    and 6-degree zones 13-23.

    Examples
    --------
    >>> gauss_kruger_zone(121.4), gauss_kruger_zone(121.6), gauss_kruger_zone(121.6, zone_width=6)
    ((40, 120), (41, 123), (21, 123))
    """
    if not 73.5 <= longitude <= 135.5:
        msg = f"longitude {longitude} is outside China's Gauss-Krüger zones (73.5°E to 135.5°E)"
        raise CRSError(msg, code="E-CRS-OUTOFBOUNDS")
    if zone_width == 3:
        cm = min(max(int(3 * round(longitude / 3)), 75), 135)
        return cm // 3, cm
    if zone_width == 6:
        cm = min(max(int(6 * np.floor(longitude / 6) + 3), 75), 135)
        return (cm + 3) // 6, cm
    msg = f"zone_width must be 3 or 6, got {zone_width!r}"
    raise CRSError(msg, code="E-CRS-ZONE")


def gauss_kruger_crs(longitude: float, *, zone_width: Literal[3, 6] = 3, prefixed: bool = False) -> CRS:
    """Return the CGCS2000 Gauss-Krüger CRS whose zone contains ``longitude``.

    Parameters
    ----------
    longitude
        Any longitude inside the zone, in degrees east.
    zone_width
        3 (cadastral and city surveys) or 6 (national series).
    prefixed
        False for the "CM" variants (false easting 500 km, eastings of six
        digits); True for the "zone" variants whose eastings carry the zone
        number in front (e.g. 40 500 000 m in 3-degree zone 40).

    Examples
    --------
    >>> gauss_kruger_crs(121.4).name
    'CGCS2000 / 3-degree Gauss-Kruger CM 120E'
    >>> gauss_kruger_crs(121.6).name
    'CGCS2000 / 3-degree Gauss-Kruger CM 123E'
    >>> gauss_kruger_crs(121.6, zone_width=6).name
    'CGCS2000 / Gauss-Kruger CM 123E'
    >>> gauss_kruger_crs(121.4, prefixed=True).name
    'CGCS2000 / 3-degree Gauss-Kruger zone 40'
    """
    _, cm = gauss_kruger_zone(longitude, zone_width=zone_width)
    if zone_width == 3:
        return CRS.from_epsg((4513 if prefixed else 4534) + (cm - 75) // 3)
    return CRS.from_epsg((4491 if prefixed else 4502) + (cm - 75) // 6)


def utm_crs(longitude: float, latitude: float) -> CRS:
    """Return the WGS 84 UTM zone CRS holding a point (Ningbo lies in zone 51N, EPSG:32651).

    CGCS2000 has no UTM definitions of its own; WGS 84 UTM agrees with it to
    centimetres, so this is the CRS to use when a partner asks for UTM.

    Examples
    --------
    >>> utm_crs(121.55, 29.87).to_epsg(), utm_crs(-70.6, -33.4).to_epsg()
    (32651, 32719)
    """
    if not (-180 <= longitude <= 180 and -80 <= latitude <= 84):
        msg = f"({longitude}, {latitude}) is outside UTM's range (latitude -80° to 84°)"
        raise CRSError(msg, code="E-CRS-OUTOFBOUNDS")
    zone = min(int((longitude + 180) // 6) + 1, 60)
    return CRS.from_epsg((32600 if latitude >= 0 else 32700) + zone)


def working_crs(like: object | None = None) -> CRS:
    """The projected CRS for metric work: chosen from ``like``'s extent (see :func:`working_crs_for`).

    Without ``like`` this returns ``settings.working_crs`` when it is set;
    otherwise it is deprecated (nbgeo no longer has one CRS for all data): it
    warns and returns :data:`NINGBO_TM`, the fixed CRS of earlier versions.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> working_crs(gpd.GeoSeries([Point(13.4, 52.5), Point(13.5, 52.6)], crs=4326)).name
    'WGS 84 / TM 13.45E 52.55N (nbgeo)'
    """
    if like is not None:
        return working_crs_for(like)
    if settings.working_crs is not None:
        return parse_crs(settings.working_crs, what="settings.working_crs")
    warnings.warn("nbgeo.crs.working_crs() without data is deprecated: the working CRS is chosen from the data "
                  "(Dataset.working_crs, nbgeo.crs.working_crs_for(gdf)); this returns NINGBO_TM, the fixed "
                  "CRS of earlier versions", DeprecationWarning, stacklevel=2)
    return CRS.from_user_input(NINGBO_TM)


def parse_crs(value: object, *, what: str = "CRS") -> CRS:
    """Parse a CRS given by a user (``"EPSG:4490"``, ``4549``, WKT, PROJ string) or raise ``E-CRS-INVALID``.

    Examples
    --------
    >>> parse_crs("EPSG:4490").name
    'China Geodetic Coordinate System 2000'
    >>> parse_crs("EPSG:99999", what="--assume-crs")
    Traceback (most recent call last):
    ...
    nbgeo.errors.CRSError: --assume-crs 'EPSG:99999' is not a CRS pyproj knows (hint: use an EPSG code such as EPSG:4490 (CGCS2000) or EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E))
    """
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        return CRS.from_user_input(value)
    except (ProjCRSError, TypeError, ValueError):
        msg = (f"{what} {value!r} is not a CRS pyproj knows (hint: use an EPSG code such as EPSG:4490 "
               "(CGCS2000) or EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E))")
        raise CRSError(msg, code="E-CRS-INVALID") from None


def require_projected(gdf: gpd.GeoDataFrame, *, what: str = "this operation", layer: str | None = None) -> None:
    """Refuse to measure in degrees: raise ``E-CRS-UNITS`` unless ``gdf`` is in a projected CRS in metres.

    A buffer of 500 "metres" on longitude/latitude data is a buffer of 500
    degrees; nbgeo measures only in metres (``to_metric`` reprojects).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(121.55, 29.87)], crs=4326)
    >>> require_projected(to_metric(g), what="a 500 m buffer")
    >>> require_projected(g, what="a 500 m buffer", layer="chargers")
    Traceback (most recent call last):
    ...
    nbgeo.errors.CRSError: layer 'chargers' is in degrees (EPSG:4326); a 500 m buffer needs metres (hint: reproject with nbgeo.crs.to_metric, which uses the working CRS)
    """
    name = f"layer {layer!r}" if layer else "the layer"
    if gdf.crs is None:
        msg = f"{name} has no CRS; {what} needs metres (hint: set its CRS, or pass --assume-crs)"
        raise CRSError(msg, code="E-CRS-MISSING")
    unit = gdf.crs.axis_info[0].unit_name if gdf.crs.axis_info else ""
    if not gdf.crs.is_projected or unit not in ("metre", "meter"):
        msg = (f"{name} is in {'degrees' if gdf.crs.is_geographic else unit or 'unknown units'} "
               f"({gdf.crs.to_string()}); {what} needs metres "
               "(hint: reproject with nbgeo.crs.to_metric, which uses the working CRS)")
        raise CRSError(msg, code="E-CRS-UNITS")


def to_metric(gdf: gpd.GeoDataFrame, crs: object | None = None) -> gpd.GeoDataFrame:
    """Reproject a layer to a metric CRS: ``crs`` if given, else the working CRS chosen from its extent.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(121.5, 29.87), Point(121.6, 29.97)], crs=4326)
    >>> to_metric(g).crs.name
    'CGCS2000 / TM 121.55E 29.92N (nbgeo)'
    >>> to_metric(g, "EPSG:4549").crs.name
    'CGCS2000 / 3-degree Gauss-Kruger CM 120E'
    """
    if gdf.crs is None:
        msg = "the layer has no CRS, so it cannot be reprojected (hint: set its CRS, or pass --assume-crs)"
        raise CRSError(msg, code="E-CRS-MISSING")
    target = working_crs_for(gdf) if crs is None else parse_crs(crs)
    require = target.is_projected and target.axis_info and target.axis_info[0].unit_name in ("metre", "meter")
    if not require:
        msg = f"{target.to_string()} is not a projected CRS in metres"
        raise CRSError(msg, code="E-CRS-UNITS")
    return gdf if gdf.crs.equals(target) else gdf.to_crs(target)


# --- The working CRS: chosen from the data -----------------------------------------------------------

#: The largest relative error of a length or an area that nbgeo accepts from its working CRS (0.1 %).
MAX_SCALE_ERROR = 1e-3

#: A CGCS2000 3-degree Gauss-Krüger zone is the working CRS when its error over the data stays within
#: this (0.01 %, 1:10 000): city data near a zone's central meridian is then measured in the zone its
#: surveys use. Further out, the centred transverse Mercator is always more accurate.
GK_SCALE_ERROR = 1e-4

#: The transverse Mercator of nbgeo before 0.9, fixed on Ningbo (central meridian 121.5°E): the CRS the
#: sample's illustrative layers were drawn in (``scripts/make_sample.py``). Not a working CRS elsewhere.
NINGBO_TM = "+proj=tmerc +lat_0=0 +lon_0=121.5 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs +type=crs"

#: CGCS2000's area of use (EPSG:4490): a transverse Mercator centred here is built on CGCS2000.
_CHINA = (73.62, 16.7, 134.77, 53.56)
#: What to do about an extent too large for one working CRS (the hint of ``E-CRS-EXTENT``).
EXTENT_HINT = ("split the data into parts under about 500 km across, or declare the CRS to measure in "
               "([crs] working = \"EPSG:...\" in dataset.toml, or --crs) and accept its error")
_FALSE_EN = 500_000.0  # false easting and northing of a centred TM: positive coordinates over 500 km


@dataclass(frozen=True)
class WorkingCRS:
    """The CRS a dataset is measured in, and why.

    Attributes
    ----------
    crs
        The projected CRS in metres (for an extent that is too large, the best
        one found; :meth:`require` raises instead of returning it).
    source
        ``"data"`` (chosen from the extent), or where it was declared:
        ``"--crs"``, ``"dataset.toml"``, ``"settings.working_crs"``, ``"argument"``.
    reason
        Why it was chosen, in words.
    extent
        The data's ``(west, south, east, north)`` in degrees (``west > east``
        across the antimeridian), or None without data.
    length_error, area_error
        The largest relative error of a length and of an area over the extent
        (None without data).
    problem
        Why no CRS could be chosen that holds :data:`MAX_SCALE_ERROR`, or None.
    """

    crs: CRS
    source: str
    reason: str
    extent: tuple[float, float, float, float] | None = None
    length_error: float | None = None
    area_error: float | None = None
    problem: str | None = None

    @property
    def text(self) -> str:
        """The CRS as text that parses back to it (``EPSG:4550``, or WKT), without a database search."""
        return str(self.crs.srs)

    @property
    def accurate(self) -> bool:
        """Whether lengths and areas over the extent are within :data:`MAX_SCALE_ERROR`."""
        return max(self.length_error or 0.0, self.area_error or 0.0) <= MAX_SCALE_ERROR

    def require(self) -> CRS:
        """The CRS; ``E-CRS-EXTENT`` when the extent is too large for any working CRS to be accurate."""
        if self.problem is not None:
            raise CRSError(self.problem + f" (hint: {EXTENT_HINT})", code="E-CRS-EXTENT")
        return self.crs

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: name, EPSG code (if it has one), PROJ string, WKT, source, reason and errors."""
        match = re.fullmatch(r"EPSG:(\d+)", self.text.strip(), flags=re.IGNORECASE)
        with warnings.catch_warnings():  # PROJ strings drop the datum's name: said once here, not warned
            warnings.simplefilter("ignore", UserWarning)
            proj = self.crs.to_proj4()
        return {
            "name": self.crs.name,
            "epsg": int(match[1]) if match else None,
            "proj": proj,
            "wkt": self.crs.to_wkt(),
            "source": self.source,
            "reason": self.reason,
            "extent": None if self.extent is None else [round(v, 6) for v in self.extent],
            "max_length_error": None if self.length_error is None else float(f"{self.length_error:.3g}"),
            "max_area_error": None if self.area_error is None else float(f"{self.area_error:.3g}"),
        }


def _lonlat_bounds(data: object) -> NDArray[np.float64]:
    """``(n, 4)`` longitude/latitude bounds of the features of ``data`` (see :func:`working_crs_for`)."""
    import geopandas as gpd
    import shapely

    if isinstance(data, (gpd.GeoDataFrame, gpd.GeoSeries)):
        gs = data.geometry
        if gs.crs is None:
            msg = "the layer has no CRS, so nbgeo cannot tell where it is (hint: set its CRS, or pass --assume-crs)"
            raise CRSError(msg, code="E-CRS-MISSING")
        if not gs.crs.equals("EPSG:4326"):
            gs = gs.to_crs(4326)
        geoms = np.asarray(gs.values, dtype=object)
        b = shapely.bounds(geoms)
        # A feature drawn across 180° in longitude/latitude spans the globe: take its vertices instead.
        wide = np.flatnonzero(b[:, 2] - b[:, 0] > 180.0)
        if len(wide):
            xy = shapely.get_coordinates(geoms[wide])
            b = np.concatenate([np.delete(b, wide, axis=0), np.column_stack([xy, xy])])
        return b
    if isinstance(data, (list, tuple)) and not (len(data) == 4 and all(isinstance(v, (int, float, np.number))
                                                                       for v in data)):
        parts = [_lonlat_bounds(d) for d in data]
        return np.concatenate(parts) if parts else np.zeros((0, 4))
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim == 1 and arr.shape == (4,):
        w, s, e, n = arr
        if w > e:  # an RFC 7946 bbox across the antimeridian
            return np.array([[w, s, 180.0, n], [-180.0, s, e, n]])
        return arr.reshape(1, 4)
    if arr.ndim == 2 and arr.shape[1] == 4:
        return arr
    msg = ("a working CRS is chosen from a GeoDataFrame or GeoSeries, a list of them, a (west, south, east, north) "
           f"bbox in degrees or an (n, 4) array of such bounds; got {type(data).__name__}")
    raise CRSError(msg, code="E-CRS-EXTENT")


def _scale_errors(crs: CRS, fp: Footprint) -> tuple[float, float]:
    """Largest relative errors of lengths and of areas in ``crs`` over the footprint's outline."""
    from pyproj import Proj

    lon = ((fp.lon + 180.0) % 360.0) - 180.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = Proj(crs).get_factors(np.append(lon, fp.lon0), np.append(fp.lat, fp.lat0), errcheck=False)
        k = np.concatenate([np.asarray(f.meridional_scale), np.asarray(f.parallel_scale)])
        areal = np.asarray(f.areal_scale)
    if not (np.isfinite(k).all() and np.isfinite(areal).all()):
        return math.inf, math.inf
    return float(np.abs(k - 1.0).max()), float(np.abs(areal - 1.0).max())


@lru_cache(maxsize=128)
def _centred_tm(lon0: float, lat0: float, k0: float, china: bool) -> CRS:
    """A transverse Mercator on CGCS2000 (China) or WGS 84, centred on ``(lon0, lat0)`` with scale ``k0``."""
    from pyproj.crs import ProjectedCRS
    from pyproj.crs.coordinate_operation import TransverseMercatorConversion

    name = (f"{'CGCS2000' if china else 'WGS 84'} / TM {abs(lon0):.2f}{'E' if lon0 >= 0 else 'W'} "
            f"{abs(lat0):.2f}{'N' if lat0 >= 0 else 'S'} (nbgeo)")
    conversion = TransverseMercatorConversion(latitude_natural_origin=lat0, longitude_natural_origin=lon0,
                                              false_easting=_FALSE_EN, false_northing=_FALSE_EN,
                                              scale_factor_natural_origin=k0)
    built = ProjectedCRS(conversion=conversion, geodetic_crs=CRS.from_epsg(4490 if china else 4326), name=name)
    # From its WKT, so that ``srs`` is text that parses back to the same CRS (see WorkingCRS.text).
    return CRS.from_wkt(built.to_wkt())


def _where(fp: Footprint, crs: CRS) -> str:
    """The extent in degrees, and about how many km it spans east-west and north-south in ``crs``."""
    from pyproj import Proj

    def deg(v: float, pos: str, neg: str) -> str:
        return f"{abs(v):.2f}°{pos if v >= 0 else neg}"

    text = (f"{deg(fp.west, 'E', 'W')} to {deg(fp.east, 'E', 'W')}, {deg(fp.south, 'N', 'S')} to "
            f"{deg(fp.north, 'N', 'S')}{', across the antimeridian' if fp.crosses_antimeridian else ''}")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, y = Proj(crs)(((fp.lon + 180.0) % 360.0) - 180.0, fp.lat, errcheck=False)
    x, y = np.asarray(x), np.asarray(y)
    if np.isfinite(x).all() and np.isfinite(y).all() and (np.abs(x) < 1e9).all():
        text += f"; about {np.ptp(x) / 1000:,.0f} km east-west, {np.ptp(y) / 1000:,.0f} km north-south"
    return text


def _declared(override: object, fp: Footprint | None, source: str) -> WorkingCRS:
    """A working CRS given by the user: checked to be metric; its error over the data is measured and said."""
    crs = parse_crs(override, what=f"the working CRS ({source})")
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if not crs.is_projected or unit not in ("metre", "meter"):
        msg = (f"the working CRS ({source}) {crs.name!r} is not a projected CRS in metres "
               "(hint: a projected CRS such as EPSG:4549, CGCS2000 / 3-degree Gauss-Kruger CM 120E)")
        raise CRSError(msg, code="E-CRS-UNITS")
    if fp is None:
        return WorkingCRS(crs, source, f"declared ({source})")
    length, area = _scale_errors(crs, fp)
    reason = (f"declared ({source}); over the data ({_where(fp, crs)}) lengths are within ±{length:.3%} and "
              f"areas within ±{area:.3%}")
    if max(length, area) > MAX_SCALE_ERROR:
        reason += f", beyond the {MAX_SCALE_ERROR:.1%} nbgeo holds when it chooses"
        log.warning("The declared working CRS %s is off by up to %.3f %% over the data", crs.name,
                    100 * max(length, area))
    return WorkingCRS(crs, source, reason, fp.bounds, length, area)


def choose_working_crs(data: object, *, override: object | None = None, source: str = "argument",
                       strict: bool = True) -> WorkingCRS:
    """Choose the CRS to measure ``data`` in, and say why (see :func:`working_crs_for`).

    Parameters
    ----------
    data
        What is measured: as for :func:`working_crs_for` (None: no data).
    override
        A CRS the user declared; it wins, and its error over the data is
        measured and reported. Default: ``settings.working_crs`` if set.
    source
        Where ``override`` comes from, for the record (``"--crs"``, ``"dataset.toml"``...).
    strict
        Raise ``E-CRS-EXTENT`` when the data is too large for 0.1 %; with
        False, return the best CRS with ``problem`` set (:meth:`WorkingCRS.require` raises it).

    Returns
    -------
    WorkingCRS

    Examples
    --------
    >>> c = choose_working_crs((121.0, 29.5, 122.2, 30.3))
    >>> c.crs.name, c.source, c.length_error < 1e-4
    ('CGCS2000 / TM 121.60E 29.90N (nbgeo)', 'data', True)
    >>> choose_working_crs((120.1, 30.2, 120.3, 30.4)).crs.name  # Hangzhou: 3-degree zone CM 120E
    'CGCS2000 / 3-degree Gauss-Kruger CM 120E'
    >>> choose_working_crs((-10.0, 40.0, 10.0, 50.0))
    Traceback (most recent call last):
    ...
    nbgeo.errors.CRSError: the data (10.00°W to 10.00°E, 40.00°N to 50.00°N; about 1,702 km east-west, 1,106 km north-south) is too large to measure in one transverse Mercator: lengths and areas would be off by up to 0.898% (nbgeo holds 0.1%) (hint: split the data into parts under about 500 km across, or declare the CRS to measure in ([crs] working = "EPSG:..." in dataset.toml, or --crs) and accept its error)
    """
    fp = None if data is None else footprint(_lonlat_bounds(data))
    if override is None and settings.working_crs is not None:
        override, source = settings.working_crs, "settings.working_crs"
    if override is not None:
        return _declared(override, fp, source)
    if fp is None:
        return WorkingCRS(_centred_tm(0.0, 0.0, 1.0, False), "data",
                          "no features to measure: a placeholder transverse Mercator at 0°E, 0°N")
    lon0, lat0 = round(fp.lon0, 2), round(fp.lat0, 2)
    china = _CHINA[0] <= lon0 <= _CHINA[2] and _CHINA[1] <= lat0 <= _CHINA[3]
    gk_note = ""
    if china:
        gk = gauss_kruger_crs(lon0)
        gk_length, gk_area = _scale_errors(gk, fp)
        zone, cm = gauss_kruger_zone(lon0)
        if max(gk_length, gk_area) <= GK_SCALE_ERROR:
            reason = (f"the data ({_where(fp, gk)}) lies near the central meridian {cm}°E of CGCS2000 3-degree "
                      f"Gauss-Krüger zone {zone}: lengths within ±{gk_length:.3%}, areas within ±{gk_area:.3%}")
            return WorkingCRS(gk, "data", reason, fp.bounds, gk_length, gk_area)
        gk_note = (f"; the nearest CGCS2000 3-degree Gauss-Krüger zone (EPSG:{gk.to_epsg()}, CM {cm}°E) would be "
                   f"off by up to ±{max(gk_length, gk_area):.3%}")
    # The scale of a transverse Mercator grows as 1 + x²/2R² away from its central meridian; a scale k0 < 1
    # on the meridian splits the error evenly between the middle (too short) and the edges (too long).
    k_edge = 1.0 + _scale_errors(_centred_tm(lon0, lat0, 1.0, china), fp)[0]
    k0 = round(2.0 / (1.0 + k_edge), 6) if math.isfinite(k_edge) else 1.0
    tm = _centred_tm(lon0, lat0, k0, china)
    length, area = _scale_errors(tm, fp)
    where = _where(fp, tm)
    if max(length, area) > MAX_SCALE_ERROR:
        worst = f"{max(length, area):.3%}" if math.isfinite(max(length, area)) else "more than 100 %"
        problem = (f"the data ({where}) is too large to measure in one transverse Mercator: lengths and areas "
                   f"would be off by up to {worst} (nbgeo holds {MAX_SCALE_ERROR:.1%})")
        choice = WorkingCRS(tm, "data", problem, fp.bounds, length, area, problem)
        if strict:
            choice.require()
        return choice
    reason = (f"a transverse Mercator centred on the data ({where}), scale {k0:g} on its central meridian: "
              f"lengths within ±{length:.3%}, areas within ±{area:.3%}{gk_note}")
    return WorkingCRS(tm, "data", reason, fp.bounds, length, area)


def working_crs_for(data: object, *, override: object | None = None) -> CRS:
    """The projected CRS in metres to measure ``data`` in, chosen from its extent.

    * A declared CRS wins: ``override``, else ``settings.working_crs`` if set.
    * In China (the centre within CGCS2000's area of use), the CGCS2000
      3-degree Gauss-Krüger zone (EPSG:4534-4554) whose central meridian is
      nearest, when lengths and areas over the whole extent are within
      :data:`GK_SCALE_ERROR` (0.01 %) in it.
    * Otherwise a transverse Mercator on CGCS2000 (China) or WGS 84
      (elsewhere) centred on the extent (central meridian and latitude of
      origin at its centre, rounded to 0.01°; false easting and northing
      500 km), with the scale on the central meridian set so that the error
      is as large at the centre as at the edges.

    The scale error of a transverse Mercator at ``x`` km from its central
    meridian is about :math:`x^2 / 2R^2` (R ≈ 6371 km), and an area's is twice
    that. With the balanced scale, lengths and areas stay within 0.1 % up to
    about 285 km either side of the centre (570 km across), anywhere on Earth:
    near the poles, the extent is narrow in km however many degrees it spans,
    and across the antimeridian the longitudes are taken as one band. A larger
    extent raises ``E-CRS-EXTENT`` with a hint to split it. The errors are
    measured with PROJ's scale factors on an outline of the data, not
    assumed.

    Parameters
    ----------
    data
        A GeoDataFrame or GeoSeries (any CRS), a list of them (e.g. the
        layers of a dataset), a ``(west, south, east, north)`` bbox in degrees
        (``west > east`` across the antimeridian, as in RFC 7946), or an
        ``(n, 4)`` array of such bounds.
    override
        A CRS to use instead (checked to be projected in metres).

    Returns
    -------
    pyproj.CRS

    Examples
    --------
    >>> working_crs_for((13.2, 52.3, 13.7, 52.7)).name  # Berlin
    'WGS 84 / TM 13.45E 52.50N (nbgeo)'
    >>> working_crs_for((177.0, -19.0, -179.5, -16.0)).name  # Fiji, across the antimeridian
    'WGS 84 / TM 178.75E 17.50S (nbgeo)'
    >>> working_crs_for((13.2, 52.3, 13.7, 52.7), override="EPSG:25833").name
    'ETRS89 / UTM zone 33N'
    """
    return choose_working_crs(data, override=override).crs


def metric_crs_for(like: object, *others: object) -> CRS:
    """The CRS to measure bare layers in: ``like``'s own if metric, else one chosen from all their extents.

    ``like``'s own CRS if it is projected in metres, else the working CRS
    chosen from the extent of all the layers given (:func:`working_crs_for`).

    This is how nbgeo's functions that take GeoDataFrames, not a dataset,
    decide where to measure; a dataset's layers (``Dataset.metric``) are
    already in the dataset's working CRS, so they keep it.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> sites = gpd.GeoSeries([Point(-46.6, -23.5)], crs=4326)
    >>> shops = gpd.GeoSeries([Point(-46.7, -23.6)], crs=4326)
    >>> metric_crs_for(sites, shops).name
    'WGS 84 / TM 46.65W 23.55S (nbgeo)'
    >>> metric_crs_for(sites.to_crs(31983), shops).name
    'SIRGAS 2000 / UTM zone 23S'
    """
    import geopandas as gpd

    crs = getattr(like, "crs", None)
    if isinstance(crs, CRS) and crs.is_projected and all(ax.unit_name in ("metre", "meter") for ax in crs.axis_info):
        return crs
    frames = [f for f in (like, *others) if isinstance(f, (gpd.GeoDataFrame, gpd.GeoSeries)) and f.crs is not None]
    return working_crs_for(frames)


def dataset_crs_choice(layers: Mapping[str, Any], problems: list[Problem], *, override: object | None = None,
                       source: str = "argument", file: str | None = None) -> WorkingCRS | None:
    """A dataset reader's working CRS: an extent too large, or a bad or inaccurate declared CRS, become problems.

    Parameters
    ----------
    layers
        The dataset's layers (``Layer`` objects, or GeoDataFrames), all in EPSG:4326.
    problems
        The reader's problems so far; this appends ``E-CRS-EXTENT`` (too large
        to measure within 0.1 %), ``E-CRS-INVALID``/``E-CRS-UNITS`` (a declared
        CRS that is not a metric CRS) or ``W-CRS-ACCURACY`` (a declared CRS
        that is off by more than 0.1 % over the data). With errors already
        there (layers not yet in EPSG:4326), it chooses nothing.
    override, source
        As for :func:`choose_working_crs`.
    file
        The manifest (or file, or database) the problems are reported against.

    Returns
    -------
    WorkingCRS or None
        None when nothing could be chosen (the problems say why).

    Examples
    --------
    >>> found = []
    >>> dataset_crs_choice({}, found, override="EPSG:4326", source="--crs")
    >>> [(p.code, p.message) for p in found]
    [('E-CRS-UNITS', "the working CRS (--crs) 'WGS 84' is not a projected CRS in metres")]
    """
    if any(p.is_error for p in problems):
        return None
    gdfs = [getattr(layer, "gdf", layer) for layer in layers.values()]
    try:
        choice = choose_working_crs(gdfs, override=override, source=source, strict=False)
    except CRSError as exc:  # a declared CRS that is not a metric CRS
        message, _, hint = exc.message.partition(" (hint: ")
        problems.append(Problem(exc.code, message, file=file, hint=hint.rstrip(")") or None))
        return None
    if choice.problem is not None:
        problems.append(Problem("E-CRS-EXTENT", choice.problem, file=file, hint=EXTENT_HINT))
    elif not choice.accurate:
        worst = max(choice.length_error or 0.0, choice.area_error or 0.0)
        problems.append(Problem("W-CRS-ACCURACY", f"the working CRS {choice.crs.name!r} ({source}) is off by up to "
                                f"{worst:.3%} over the data", file=file,
                                hint="leave it out, and nbgeo chooses one within 0.1 %"))
    return choice


# --- Sanity checks of coordinates against their CRS -------------------------------------------------

@dataclass(frozen=True)
class CoordinateIssue:
    """Vertices whose values do not fit the CRS they are declared in.

    Attributes
    ----------
    code
        ``E-CRS-AXIS`` (latitude and longitude swapped), ``E-CRS-UNITS``
        (degrees where metres were meant, or the reverse), ``E-CRS-ZONE``
        (Gauss-Krüger eastings with or without the zone prefix the CRS
        expects) or ``E-CRS-OUTOFBOUNDS`` (outside the CRS's area of use).
    rows
        Boolean mask over the vertices checked.
    message, hint
        What is wrong and what to do.
    """

    code: str
    rows: NDArray[np.bool_]
    message: str
    hint: str


#: Margin around a CRS's area of use, in degrees. Generous on purpose: city
#: data in one Gauss-Krüger zone routinely runs a degree into the next one.
AREA_MARGIN_DEG = 2.0


@lru_cache(maxsize=64)
def _area(crs_wkt: str) -> tuple[float, float, float, float] | None:
    crs = CRS.from_wkt(crs_wkt)
    area = crs.area_of_use or (crs.geodetic_crs.area_of_use if crs.geodetic_crs else None)
    if area is None:
        return None
    w, s, e, n = area.bounds
    if w > e:  # crosses the antimeridian: treat as the whole world
        return None
    return (w - AREA_MARGIN_DEG, max(s - AREA_MARGIN_DEG, -90.0), e + AREA_MARGIN_DEG, min(n + AREA_MARGIN_DEG, 90.0))


@lru_cache(maxsize=64)
def _to_lonlat(crs_wkt: str):
    from pyproj import Transformer

    crs = CRS.from_wkt(crs_wkt)
    return Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)


def _false_easting(crs: CRS) -> float | None:
    op = crs.coordinate_operation
    if op is None:
        return None
    for param in op.params:
        if param.name == "False easting":
            return float(param.value)
    return None


def _zone_hint(x: NDArray[np.float64]) -> str:
    """Suggest the CGCS2000 Gauss-Krüger CRS that eastings like ``x`` belong to."""
    zones = np.unique((x[x >= 1e7] // 1e6).astype(int))
    if len(zones) == 1:
        zone = int(zones[0])
        if 25 <= zone <= 45:
            return f"the eastings start with zone number {zone}: use EPSG:{4513 + zone - 25} (3-degree zone {zone})"
        if 13 <= zone <= 23:
            return f"the eastings start with zone number {zone}: use EPSG:{4491 + zone - 13} (6-degree zone {zone})"
    return ("they look like Gauss-Krüger metres: declare the real CRS, e.g. EPSG:4549 (CM 120E) or "
            "EPSG:4550 (CM 123E) for Ningbo")


def check_coordinates(x: ArrayLike, y: ArrayLike, crs: CRS | str, *, datum: str = "WGS84") -> list[CoordinateIssue]:
    """Find vertices that cannot be right in ``crs``: swapped axes, wrong units, outside the area of use.

    Non-finite values are skipped (they are reported as ``E-GEOM-NONFINITE``).
    The checks are vectorised over all vertices.

    Parameters
    ----------
    x, y
        Vertex coordinates in the CRS's x/y order (longitude first for
        geographic CRSs, as GeoPandas holds them).
    crs
        The CRS the values are declared in.
    datum
        The layer's declared datum; GCJ-02 and BD-09 data must lie in China.

    Returns
    -------
    list of CoordinateIssue
        Empty when every vertex fits.

    Examples
    --------
    >>> [(i.code, int(i.rows.sum())) for i in check_coordinates([121.5, 29.9], [29.9, 121.5], "EPSG:4490")]
    [('E-CRS-AXIS', 1)]
    >>> [i.code for i in check_coordinates([121.5], [29.9], "EPSG:4549")]
    ['E-CRS-UNITS']
    >>> [i.code for i in check_coordinates([40_650_000.0], [3_300_000.0], "EPSG:4549")]
    ['E-CRS-ZONE']
    >>> check_coordinates([650_000.0], [3_300_000.0], "EPSG:4549")
    []
    """
    with np.errstate(all="ignore"):
        return _check_coordinates(x, y, crs, datum=datum)


def _check_coordinates(x: ArrayLike, y: ArrayLike, crs: CRS | str, *, datum: str) -> list[CoordinateIssue]:
    crs = crs if isinstance(crs, CRS) else parse_crs(crs)
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    finite = np.isfinite(xa) & np.isfinite(ya)
    issues: list[CoordinateIssue] = []
    name = crs.name

    def add(code: str, rows: NDArray[np.bool_], message: str, hint: str) -> None:
        if rows.any():
            issues.append(CoordinateIssue(code, rows, message, hint))

    if crs.is_geographic:
        china = _normalise_datum(datum) in ("GCJ-02", "BD-09")
        area = (72.004, 0.8293, 137.8347, 55.8271) if china else _area(crs.to_wkt())

        def inside(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
            ok = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
            if area is not None:
                ok &= (lon >= area[0]) & (lon <= area[2]) & (lat >= area[1]) & (lat <= area[3])
            return ok

        ok = ~finite | inside(xa, ya)
        swapped = ~ok & inside(ya, xa)
        add("E-CRS-AXIS", swapped, "latitude and longitude look swapped",
            "swap the columns: x is longitude (about 121.5 in Ningbo), y is latitude (about 29.9)")
        rest = ~ok & ~swapped
        big = rest & ((np.abs(xa) > 1000) | (np.abs(ya) > 1000)) & (np.abs(xa) < 1e9) & (np.abs(ya) < 1e9)
        add("E-CRS-UNITS", big, f"values in metres where {name} expects degrees", _zone_hint(xa[big]))
        region = "China (the only place GCJ-02/BD-09 apply)" if china else f"the area of use of {name}"
        add("E-CRS-OUTOFBOUNDS", rest & ~big, f"coordinates outside {region}",
            "check the source: a placeholder (0, 0), a typo, or a different CRS")
        return issues

    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    degrees_like = finite & (np.abs(xa) <= 180) & (np.abs(ya) <= 90)
    if unit in ("metre", "meter") and finite.any() and degrees_like[finite].all():
        add("E-CRS-UNITS", degrees_like, f"values look like degrees but {name} is in metres",
            "declare the file's real CRS, e.g. crs = \"EPSG:4490\" (CGCS2000) or \"EPSG:4326\"")
        return issues
    area = _area(crs.to_wkt())
    if area is None or crs.geodetic_crs is None:
        return issues
    lon, lat = _to_lonlat(crs.to_wkt()).transform(xa, ya)
    lon, lat = np.asarray(lon), np.asarray(lat)
    outside = finite & ~(np.isfinite(lon) & np.isfinite(lat) & (lon >= area[0]) & (lon <= area[2])
                         & (lat >= area[1]) & (lat <= area[3]))
    if not outside.any():
        return issues
    false_easting = _false_easting(crs)
    zone_rows = np.zeros_like(outside)
    if false_easting is not None and "Gauss-Kruger" in name:
        if false_easting < 1e6:  # CM variant; prefixed eastings are >= 10,000 km
            zone_rows = outside & (xa >= 1e7)
            hint = _zone_hint(xa[zone_rows])
            add("E-CRS-ZONE", zone_rows, f"eastings carry a zone prefix but {name} has none", hint)
        else:
            zone_rows = outside & (xa < 1e6) & (xa > 0)
            add("E-CRS-ZONE", zone_rows, f"eastings lack the zone prefix {int(false_easting // 1e6)} that {name} expects",
                "use the matching CM variant, e.g. EPSG:4549 (CM 120E) instead of EPSG:4528 (zone 40)")
    rest = outside & ~zone_rows
    add("E-CRS-OUTOFBOUNDS", rest, f"coordinates outside the area of use of {name}",
        "check the declared CRS: the values may belong to another zone or projection")
    return issues
