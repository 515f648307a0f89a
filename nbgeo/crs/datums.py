"""CGCS2000 and its Gauss-Krüger zones, UTM, and the checks that a CRS given by a user is one and is metric."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import numpy as np
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from ..errors import CRSError

if TYPE_CHECKING:

    import geopandas as gpd


log = logging.getLogger(__name__)

#: China Geodetic Coordinate System 2000, geographic (the datum of Chinese surveying since 2008).
CGCS2000 = "EPSG:4490"


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
    >>> from nbgeo.crs import to_metric
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


