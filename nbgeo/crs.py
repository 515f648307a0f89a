"""Coordinate reference systems for Chinese planning data.

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

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
from pyproj import CRS, Geod

from . import settings
from .errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CGCS2000",
    "DATUMS",
    "CoordinateIssue",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_coordinates",
    "convert_datum",
    "convert_gdf_datum",
    "gauss_kruger_crs",
    "gauss_kruger_zone",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "offset_metres",
    "out_of_china",
    "parse_crs",
    "require_projected",
    "to_metric",
    "utm_crs",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "working_crs",
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


def working_crs() -> CRS:
    """The projected CRS for metric work over Ningbo (see ``settings.working_crs``).

    Examples
    --------
    >>> working_crs().is_projected
    True
    """
    return CRS.from_user_input(settings.working_crs)


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
    """Reproject a layer to a metric CRS: ``crs`` if given, else the working CRS for Ningbo.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(121.5, 29.87)], crs=4326)
    >>> round(to_metric(g).geometry.x.iloc[0])
    500000
    >>> to_metric(g, "EPSG:4549").crs.name
    'CGCS2000 / 3-degree Gauss-Kruger CM 120E'
    """
    if gdf.crs is None:
        msg = "the layer has no CRS, so it cannot be reprojected (hint: set its CRS, or pass --assume-crs)"
        raise CRSError(msg, code="E-CRS-MISSING")
    target = working_crs() if crs is None else parse_crs(crs)
    require = target.is_projected and target.axis_info and target.axis_info[0].unit_name in ("metre", "meter")
    if not require:
        msg = f"{target.to_string()} is not a projected CRS in metres"
        raise CRSError(msg, code="E-CRS-UNITS")
    return gdf if gdf.crs.equals(target) else gdf.to_crs(target)


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
