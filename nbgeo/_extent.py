"""Where data lies in longitude/latitude: its extent across the antimeridian, and an outline to measure on.

:func:`footprint` takes the longitude/latitude bounds of every feature and
returns a :class:`Footprint`: the smallest band of longitudes that holds them
all (which may cross the antimeridian: then ``west > east``, as in an RFC 7946
bbox), its centre, and a few outline points at which :mod:`nbgeo.crs` checks
how far a projection's scale strays from 1 over the data.

The outline is built per band of latitude: in each of ``bins`` bands, the
westernmost and easternmost longitude any feature reaches, at both edges of
the band. A transverse Mercator's scale grows with the distance from its
central meridian, which is largest at those points, so the outline bounds the
scale error over every feature without projecting every vertex; it is
conservative by at most one band's height.

Examples
--------
>>> import numpy as np
>>> fp = footprint(np.array([[179.2, -18.2, 179.9, -16.1], [-179.9, -17.0, -179.8, -16.5]]))
>>> fp.west, fp.east, fp.crosses_antimeridian, round(fp.lon0, 2)
(179.2, -179.8, True, 179.7)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["Footprint", "footprint", "unwrap"]


@dataclass(frozen=True)
class Footprint:
    """The longitude/latitude extent of some data, and outline points to measure on.

    Attributes
    ----------
    west, south, east, north
        The extent in degrees; ``west > east`` when it crosses the antimeridian.
    lon0, lat0
        Its centre: the middle of the band of longitudes (near a pole, where the data spans more than 90°
        of longitude, the longitude of its centre on the sphere), and of the latitudes.
    lon, lat
        Outline points (longitudes unwrapped around ``lon0``, so they may pass ±180).
    """

    west: float
    south: float
    east: float
    north: float
    lon0: float
    lat0: float
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]

    @property
    def crosses_antimeridian(self) -> bool:
        """Whether the band of longitudes crosses 180°."""
        return self.west > self.east

    @property
    def width_deg(self) -> float:
        """Degrees of longitude the data spans."""
        return (self.east - self.west) % 360.0 if self.crosses_antimeridian else self.east - self.west

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)``."""
        return (self.west, self.south, self.east, self.north)


def unwrap(lon: NDArray[np.float64], lon0: float) -> NDArray[np.float64]:
    """Longitudes shifted by whole turns into ``[lon0 - 180, lon0 + 180)``.

    Examples
    --------
    >>> unwrap(np.array([-179.5, 179.5]), 179.0).tolist()
    [180.5, 179.5]
    """
    return lon0 + np.mod(np.asarray(lon, dtype=np.float64) - lon0 + 180.0, 360.0) - 180.0


def _longitude_band(start: NDArray[np.float64], end: NDArray[np.float64]) -> tuple[float, float]:
    """The shortest arc of longitudes covering every ``[start, end]`` interval: the circle minus its largest gap."""
    order = np.argsort(start, kind="stable")
    s = start[order]
    covered = np.maximum.accumulate(end[order])  # how far east the intervals so far reach
    wrap_gap = s[0] + 360.0 - covered[-1]
    if len(s) > 1:
        gaps = s[1:] - covered[:-1]
        i = int(np.argmax(gaps))
        if gaps[i] > wrap_gap:  # the largest empty stretch is inside -180..180: the data crosses 180°
            return float(s[i + 1]), float(covered[i])
    return float(s[0]), float(covered[-1])


def _polar_centre(b: NDArray[np.float64], lon0: float) -> float:
    """The longitude of the data's centre on the sphere, for data that spans more than 90° of longitude.

    Near a pole the middle of the band of longitudes can be far from the data: a 400 km disc touching
    the North Pole spans 270° of longitude, and a meridian through the band's middle may pass 150 km
    beside it, where a transverse Mercator is already off by 0.16 %. The meridian through the mean of
    the corners' unit vectors passes through the data. ``lon0`` is kept when that mean is at the pole.
    """
    lon = np.radians(np.concatenate([b[:, 0], b[:, 2], b[:, 0], b[:, 2]]))
    lat = np.radians(np.concatenate([b[:, 1], b[:, 1], b[:, 3], b[:, 3]]))
    x, y = float(np.mean(np.cos(lat) * np.cos(lon))), float(np.mean(np.cos(lat) * np.sin(lon)))
    if np.hypot(x, y) < 1e-9:
        return lon0
    return float(np.degrees(np.arctan2(y, x)))


def footprint(bounds: NDArray[np.float64], *, bins: int = 64) -> Footprint | None:
    """The footprint of features given by their longitude/latitude bounds, or None when there are none.

    Parameters
    ----------
    bounds
        ``(n, 4)`` array of ``minx, miny, maxx, maxy`` in degrees (longitudes in
        -180..180). Rows with non-finite values (empty geometries) or values
        beyond ±180° / ±90° are skipped.
        A feature that itself crosses the antimeridian must be given as its
        parts (or its vertices), since its bounds would span the globe.
    bins
        Bands of latitude for the outline.

    Returns
    -------
    Footprint or None

    Examples
    --------
    >>> fp = footprint(np.array([[121.0, 29.5, 121.2, 29.6], [121.8, 30.0, 122.0, 30.2]]))
    >>> fp.bounds, round(fp.lon0, 2), round(fp.lat0, 2)
    ((121.0, 29.5, 122.0, 30.2), 121.5, 29.85)
    >>> footprint(np.full((1, 4), np.nan)) is None
    True
    """
    b = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    # Coordinates that are no place on Earth (the validator reports them) say nothing about where the data is.
    with np.errstate(invalid="ignore"):
        b = b[(np.abs(b[:, [0, 2]]) <= 180.0).all(axis=1) & (np.abs(b[:, [1, 3]]) <= 90.0).all(axis=1)]
    if not len(b):
        return None
    minx, miny, maxx, maxy = b.T
    west, east = _longitude_band(minx, np.maximum(maxx, minx))
    width = (east - west) % 360.0 if west > east else east - west
    lon0 = float(((west + width / 2.0 + 180.0) % 360.0) - 180.0)
    if width > 90.0:
        lon0 = _polar_centre(b, lon0)
    south, north = float(miny.min()), float(maxy.max())
    lat0 = (south + north) / 2.0
    # Corners of every feature's bounds, longitudes unwrapped around the centre.
    lons = unwrap(np.concatenate([minx, maxx, minx, maxx]), lon0)
    lats = np.concatenate([miny, miny, maxy, maxy])
    height = north - south
    band = np.zeros(len(lats), dtype=np.int64) if height <= 0 else np.clip(
        ((lats - south) / height * bins).astype(np.int64), 0, bins - 1)
    low = np.full(bins, np.inf)
    high = np.full(bins, -np.inf)
    np.minimum.at(low, band, lons)
    np.maximum.at(high, band, lons)
    used = np.flatnonzero(np.isfinite(low))
    edges = np.linspace(south, north, bins + 1)
    lo_lat, hi_lat = edges[used], edges[used + 1]
    out_lon = np.concatenate([low[used], low[used], high[used], high[used]])
    out_lat = np.concatenate([lo_lat, hi_lat, lo_lat, hi_lat])
    # The equator, where a band holds it: the widest point of a parallel-bounded band.
    across = (lo_lat < 0) & (hi_lat > 0)
    out_lon = np.concatenate([out_lon, low[used][across], high[used][across]])
    out_lat = np.concatenate([out_lat, np.zeros(2 * int(across.sum()))])
    # A band spanning many degrees (around a pole) reaches farthest from the central meridian 90° away
    # from it, not at its ends: sample it there and every 15°.
    extra_lon, extra_lat = [], []
    for b in used[(high[used] - low[used]) > 30.0]:
        lons_b = np.concatenate([np.arange(low[b], high[b], 15.0), [lon0 - 90.0, lon0 + 90.0]])
        lons_b = lons_b[(lons_b >= low[b]) & (lons_b <= high[b])]
        for edge in (edges[b], edges[b + 1]):
            extra_lon.append(lons_b)
            extra_lat.append(np.full(len(lons_b), edge))
    if extra_lon:
        out_lon = np.concatenate([out_lon, *extra_lon])
        out_lat = np.concatenate([out_lat, *extra_lat])
    return Footprint(west=float(west), south=south, east=float(east), north=north, lon0=lon0, lat0=lat0,
                     lon=out_lon, lat=np.clip(out_lat, -90.0, 90.0))
