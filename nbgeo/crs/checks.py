"""Sanity checks of coordinates against the CRS they are declared in (axis order, units, zone prefix, area of use)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from pyproj import CRS, Transformer

from .datums import parse_crs
from .offsets import normalise_datum

if TYPE_CHECKING:

    from numpy.typing import ArrayLike, NDArray


log = logging.getLogger(__name__)


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
        china = normalise_datum(datum) in ("GCJ-02", "BD-09")
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

