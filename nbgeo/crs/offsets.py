"""GCJ-02 and BD-09, the offset datums of Chinese web maps, to and from WGS 84 (nbgeo converts them itself).

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

"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import Geod

from ..errors import CRSError

if TYPE_CHECKING:

    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray


log = logging.getLogger(__name__)

#: Datums a layer may declare in a dataset manifest. CGCS2000 and WGS84 are
#: one datum for planning purposes; GCJ-02 and BD-09 need conversion.
DATUMS = ("WGS84", "CGCS2000", "GCJ-02", "BD-09")

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


def normalise_datum(datum: str) -> str:
    """The datum's canonical name among :data:`DATUMS` (CGCS2000 counts as WGS84), or ``E-CRS-DATUM``.

    Examples
    --------
    >>> normalise_datum("gcj02"), normalise_datum("EPSG:4490")
    ('GCJ-02', 'WGS84')
    """
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
    src, dst = normalise_datum(from_datum), normalise_datum(to_datum)
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
    if gdf.crs is None or not gdf.crs.is_geographic:
        msg = (
            f"datum conversion from {from_datum} needs geographic coordinates, got CRS {gdf.crs!r}; "
            "GCJ-02 and BD-09 data is always longitude/latitude"
        )
        raise CRSError(msg, code="E-CRS-DATUM")
    src, dst = normalise_datum(from_datum), normalise_datum(to_datum)
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

