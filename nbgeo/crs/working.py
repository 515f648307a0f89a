"""The working CRS: the projected CRS nbgeo measures in, chosen from the data's extent (see :mod:`nbgeo.crs`)."""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Proj
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion

from .. import settings
from .._extent import footprint
from ..errors import CRSError, Problem
from .datums import gauss_kruger_crs, gauss_kruger_zone, parse_crs

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

    from .._extent import Footprint

log = logging.getLogger(__name__)

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


