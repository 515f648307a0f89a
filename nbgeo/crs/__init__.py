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

The GCJ-02 and BD-09 formulas are given in :mod:`nbgeo.crs.offsets`.

Modules
-------
:mod:`nbgeo.crs.datums`
    CGCS2000, its Gauss-Krüger zones, UTM; parsing a CRS a user gives, and
    refusing to measure in degrees.
:mod:`nbgeo.crs.offsets`
    GCJ-02 and BD-09 to and from WGS 84.
:mod:`nbgeo.crs.working`
    The working CRS chosen from the data (:class:`WorkingCRS`).
:mod:`nbgeo.crs.checks`
    Coordinates that do not fit their declared CRS.
:mod:`nbgeo.crs.detect`
    GCJ-02 coordinates read as WGS 84, told from their place against the real districts.

Everything public is importable from :mod:`nbgeo.crs` itself.

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

from .checks import AREA_MARGIN_DEG, CoordinateIssue, check_coordinates
from .datums import CGCS2000, gauss_kruger_crs, gauss_kruger_zone, parse_crs, require_projected, utm_crs
from .detect import Gcj02Suspicion, ReferenceOutline, gcj02_doubtful, gcj02_suspect, ningbo_outline
from .offsets import (
    DATUMS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert_datum,
    convert_gdf_datum,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    offset_metres,
    out_of_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from .working import (
    EXTENT_HINT,
    GK_SCALE_ERROR,
    MAX_SCALE_ERROR,
    NINGBO_TM,
    WorkingCRS,
    choose_working_crs,
    dataset_crs_choice,
    metric_crs_for,
    to_metric,
    working_crs,
    working_crs_for,
)

__all__ = [
    "AREA_MARGIN_DEG",
    "CGCS2000",
    "DATUMS",
    "EXTENT_HINT",
    "GK_SCALE_ERROR",
    "MAX_SCALE_ERROR",
    "NINGBO_TM",
    "CoordinateIssue",
    "Gcj02Suspicion",
    "ReferenceOutline",
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
    "gcj02_doubtful",
    "gcj02_suspect",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "metric_crs_for",
    "ningbo_outline",
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
