"""Rasters for siting: checking a GeoTIFF, DEM slope, and zonal statistics of sites.

One function per topic:

* :func:`verify_raster` checks a raster file before any pixel is read (GeoTIFF
  only, georeferenced, north-up, within ``nbgeo.limits.max_pixels``) and
  :func:`open_raster` opens it with the GTiff driver alone and no file beside
  it, so a VRT or a remote path named ``dem.tif`` (or a VRT named
  ``dem.tif.ovr``) cannot make GDAL read other files or the network.
* :func:`slope` computes the slope of a whole DEM array (Horn's method, the one
  ``gdaldem slope`` uses), in degrees or percent.
* :func:`pixel_index` lists, for every site, the pixels whose *centre* lies
  inside it: GDAL's rasterisation rule (``all_touched=False``), so the pixel
  counts equal those of ``rasterio.features.rasterize`` and ``rasterstats``.
* :func:`zonal_stats` summarises a raster band over every site, and
  :func:`slope_stats` does the same for the slope of a DEM, computing the slope
  only at the pixels the sites cover.

Sites are polygons (their pixel centres) or points (the pixel they fall in).
The sites and the raster must share a CRS: a mismatch is a
:class:`~nbgeo.errors.CRSError` naming both, never a silent reprojection.

Slope (Horn 1981)
-----------------
With the 3 × 3 window ``a b c / d e f / g h i`` around a pixel and cell sizes
``dx``, ``dy`` in metres:

.. math::

   \\frac{\\partial z}{\\partial x} = \\frac{(c + 2f + i) - (a + 2d + g)}{8\\,dx},\\quad
   \\frac{\\partial z}{\\partial y} = \\frac{(g + 2h + i) - (a + 2b + c)}{8\\,dy},\\quad
   s = \\sqrt{(\\partial z/\\partial x)^2 + (\\partial z/\\partial y)^2}

Slope is ``100 s`` percent or ``atan(s)`` degrees. A pixel on the raster's edge,
or next to a nodata pixel, has no slope (NaN), as with ``gdaldem`` without
``-compute_edges``. In a geographic CRS (a DEM in degrees, like SRTM) ``dx``
and ``dy`` are computed for each row's latitude on the CRS's ellipsoid.

Examples
--------
>>> import numpy as np
>>> z = np.tile(np.arange(5, dtype=float) * 10.0, (5, 1))   # rises 10 m per 100 m eastwards
>>> slope(z, xres=100.0, yres=100.0, unit="percent")[2, 2]
np.float64(10.0)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import shapely
from pyproj import CRS
from rasterio.windows import Window

from . import limits, paths
from .crs import parse_crs
from .errors import CRSError, InputError, LimitError, Problem, ValidationError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import geopandas as gpd
    from numpy.typing import NDArray

    from .layers import Raster

__all__ = [
    "SLOPE_UNITS",
    "STATS",
    "PixelIndex",
    "RasterInfo",
    "open_raster",
    "pixel_index",
    "slope",
    "slope_stats",
    "verify_raster",
    "zonal_stats",
]

log = logging.getLogger(__name__)

#: Statistics :func:`zonal_stats` and :func:`slope_stats` compute.
STATS = ("count", "min", "max", "mean", "sum", "std")
#: Units of :func:`slope`.
SLOPE_UNITS = ("degree", "percent")

# Pixels read in one piece; larger extents are processed in strips of rows.
_READ_BUDGET = 1 << 27
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class RasterInfo:
    """What :func:`verify_raster` learnt from a raster's header."""

    path: str
    crs: str
    width: int
    height: int
    count: int
    transform: tuple[float, ...]
    nodata: float | None
    dtype: str
    is_geographic: bool

    @property
    def res(self) -> tuple[float, float]:
        """Pixel width and height in CRS units (both positive)."""
        return abs(self.transform[0]), abs(self.transform[4])


def _path_of(source: str | Path | Raster) -> str:
    return str(getattr(source, "path", source))


def _where(path: str, name: str | None) -> str:
    return f"raster {name!r} ({path})" if name else f"raster {path!r}"


def verify_raster(
    source: str | Path | Raster, *, name: str | None = None, expected_crs: str | None = None,
) -> tuple[RasterInfo | None, list[Problem]]:
    """Check a raster file from its header and return what it holds, or the problems.

    Refused (``E-`` problems): a remote or virtual path, a named pipe or a
    device (``E-FILE-TYPE``), a control character in the path, a file beside
    it that links out of its folder or is a pipe (``E-PATH-OUTSIDE``,
    ``E-FILE-TYPE``; GDAL never opens those, see :func:`open_raster`), a file
    that is not a GeoTIFF by its content, no CRS or no geotransform (``E-RASTER-NOGEOREF``), a
    rotated grid, more than ``nbgeo.limits.max_pixels`` pixels (``E-LIMIT-PIXELS``), or a
    CRS other than ``expected_crs`` (``E-CRS-MISMATCH``). A raster without a
    nodata value gives the warning ``W-RASTER-NODATA``: every pixel is taken as
    data.

    Parameters
    ----------
    source
        The file, or a :class:`~nbgeo.layers.Raster`.
    name
        The raster's name in its manifest, for messages.
    expected_crs
        The CRS the manifest declares; ``None`` accepts the file's.

    Returns
    -------
    tuple
        ``(RasterInfo or None, problems)``; the info is None when an error was found.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> info, problems = verify_raster(datasets.get_path("ningbo") / "dem.tif")
    >>> info.crs, problems
    ('EPSG:4326', [])
    >>> verify_raster("/vsicurl/http://example.com/dem.tif")[1][0].code
    'E-PATH-REMOTE'
    """
    path = _path_of(source)
    where = _where(path, name)
    problems: list[Problem] = []

    def fail(code: str, message: str, hint: str | None = None) -> tuple[None, list[Problem]]:
        problems.append(Problem(code, message, file=path, layer=name, hint=hint))
        return None, problems

    if "://" in path or path.startswith("/vsi"):
        return fail("E-PATH-REMOTE", f"{where} is a remote or GDAL virtual path; nbgeo reads only local files")
    try:  # a regular file (never a pipe or a device), and nothing GDAL could open beside it leads elsewhere
        p = paths.resolve_input(path, what="raster")
        paths.check_sidecars(p, root=p.parent, what="raster")
    except InputError as exc:
        return fail(exc.code, exc.message)
    if Path(path).suffix.lower() not in _SUFFIXES or p.suffix.lower() not in _SUFFIXES:
        return fail("E-FORMAT-FORBIDDEN", f"{where}: rasters must be GeoTIFF files (.tif, .tiff)")
    with open(p, "rb") as fh:
        head = fh.read(4)
    if head not in _TIFF_MAGIC:
        return fail("E-FORMAT-FORBIDDEN", f"{where} is named .tif but its content is not a TIFF; refusing to open it")
    try:
        with _open_gtiff(p) as src:
            crs, transform = src.crs, src.transform
            info = RasterInfo(
                path=str(p), crs=crs.to_string() if crs else "", width=src.width, height=src.height,
                count=src.count, transform=tuple(transform)[:6], nodata=src.nodata, dtype=src.dtypes[0],
                is_geographic=bool(crs and crs.is_geographic),
            )
    except rasterio.errors.RasterioIOError as exc:
        return fail("E-RASTER-CORRUPT", f"{where} cannot be read: {exc}", "is the file complete?")
    if not info.crs or transform.is_identity:
        return fail("E-RASTER-NOGEOREF", f"{where} has no CRS or no geotransform",
                    "georeference it (gdal_translate -a_srs ... -a_ullr ...)")
    if not all(math.isfinite(v) for v in tuple(transform)[:6]) or transform.a == 0:
        return fail("E-RASTER-NOGEOREF", f"{where} has an unusable geotransform {tuple(transform)[:6]} (a pixel "
                    "size of zero, or values that are not finite numbers)", "georeference it again (gdal_translate "
                    "-a_ullr ...)")
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        return fail("E-RASTER-ROTATED", f"{where} is not a north-up grid (geotransform {tuple(transform)[:6]})",
                    "warp it to a north-up grid first (gdalwarp)")
    if info.is_geographic:
        # Degrees beyond the globe: the pixel size or origin is wrong (metres written as degrees, say).
        west, north = transform.c, transform.f
        east, south = west + transform.a * info.width, north + transform.e * info.height
        if not (-90 - 1e-6 <= south and north <= 90 + 1e-6 and -540 <= min(west, east)
                and max(west, east) <= 540):
            return fail("E-RASTER-EXTENT", f"{where} spans longitude {min(west, east):,.6g} to {max(west, east):,.6g} "
                        f"and latitude {south:,.6g} to {north:,.6g}, beyond the globe in {info.crs}",
                        "check its pixel size and origin: are they metres in a projected CRS?")

    if info.width * info.height > limits.max_pixels:
        return fail("E-LIMIT-PIXELS", f"{where}: {info.width:,} × {info.height:,} pixels, more than the limit of "
                    f"{limits.max_pixels:,}", "clip the raster to the area of interest, or raise --max-pixels "
                    "(nbgeo.limits.max_pixels)")
    if expected_crs:


        try:
            expected = parse_crs(expected_crs, what=f"{where}: the manifest's crs")
        except CRSError as exc:
            return fail(exc.code, exc.message)
        if not expected.equals(CRS.from_user_input(info.crs)):
            return fail("E-CRS-MISMATCH", f"{where}: the file's CRS {info.crs} differs from the manifest's "
                        f"{expected_crs}", "correct the manifest's crs, or the file")
    if info.nodata is None:
        problems.append(Problem("W-RASTER-NODATA", f"{where} declares no nodata value; every pixel is taken as data",
                                file=path, layer=name, hint="set one with gdal_edit.py -a_nodata"))
    return info, problems


def open_raster(source: str | Path | Raster) -> rasterio.DatasetReader:
    """Open a verified raster with the GTiff driver only; raises on any ``E-`` problem.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> with open_raster(datasets.get_path("ningbo") / "dem.tif") as src:
    ...     src.count
    1
    """
    info, problems = verify_raster(source)
    errors = [p for p in problems if p.is_error]
    if info is None or errors:
        if len(errors) == 1 and errors[0].code == "E-LIMIT-PIXELS":
            raise LimitError(errors[0].message, code="E-LIMIT-PIXELS")
        raise ValidationError.from_problems(errors, context=_where(_path_of(source), None))
    return _open_gtiff(info.path)


def _open_gtiff(path: str | Path) -> rasterio.DatasetReader:
    """Open a GeoTIFF with the GTiff driver alone, and without any file beside it.

    GDAL opens sidecars with every driver: an external overview ``dem.tif.ovr``
    or mask ``dem.tif.msk`` that is a VRT would read other files or URLs, and a
    ``dem.tif.aux.xml`` that is a named pipe would hang the open. With the
    folder listing disabled (``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR``) GDAL
    knows of no file beside the GeoTIFF, so it opens none.
    """
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
        return rasterio.open(path, driver="GTiff")


def _cell_sizes(info: RasterInfo, rows: NDArray[np.int64]) -> tuple[Any, Any]:
    """Cell width and height in metres for pixels of the given rows (scalars in a projected CRS)."""
    a, e, f = info.transform[0], info.transform[4], info.transform[5]
    if not info.is_geographic:

        factor = CRS.from_user_input(info.crs).axis_info[0].unit_conversion_factor
        return np.float64(abs(a) * factor), np.float64(abs(e) * factor)

    ellipsoid = CRS.from_user_input(info.crs).ellipsoid
    if ellipsoid is None:
        msg = f"raster {info.path!r}: its geographic CRS {info.crs} names no ellipsoid to measure cells in metres"
        raise CRSError(msg + " (hint: assign a CRS such as EPSG:4326 or EPSG:4490)", code="E-CRS-INVALID")
    sa, inv_f = ellipsoid.semi_major_metre, ellipsoid.inverse_flattening
    ecc2 = 0.0 if not inv_f else (2 - 1 / inv_f) / inv_f
    lat = np.radians(f + (rows + 0.5) * e)
    w = np.sqrt(1 - ecc2 * np.sin(lat) ** 2)
    prime_vertical = sa / w
    meridional = sa * (1 - ecc2) / w**3
    rad = math.pi / 180.0
    return abs(a) * rad * prime_vertical * np.cos(lat), abs(e) * rad * meridional


def _check_unit(unit: str) -> None:
    if unit not in SLOPE_UNITS:
        msg = f"slope unit must be one of {', '.join(SLOPE_UNITS)}, got {unit!r}"
        raise InputError(msg, code="E-RASTER-UNIT")


def _horn(win: Sequence[NDArray[Any]] | NDArray[Any], dx: Any, dy: Any, unit: str) -> NDArray[np.float64]:
    """Horn slope from the nine neighbour arrays ``win[k]`` (row-major 3 × 3 order)."""
    a, b, c, d, e, f, g, h, i = win
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * dy)
    # The centre is not in the formula, but a nodata centre has no slope (as in gdaldem).
    s = np.hypot(dzdx, dzdy) + 0.0 * e
    return 100.0 * s if unit == "percent" else np.degrees(np.arctan(s))


def slope(
    z: NDArray[Any], *, xres: float | NDArray[Any], yres: float | NDArray[Any], unit: str = "degree",
    nodata: float | None = None,
) -> NDArray[np.float64]:
    """Slope of a whole DEM array by Horn's method; NaN on the edges and next to nodata.

    Parameters
    ----------
    z
        Elevations (metres), row 0 at the top.
    xres, yres
        Cell width and height in metres: numbers, or one value per row (``(rows, 1)``)
        for a DEM in degrees.
    unit
        ``"degree"`` or ``"percent"``.
    nodata
        The DEM's nodata value; NaN is always nodata.

    Returns
    -------
    numpy.ndarray
        Float64, the shape of ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.add.outer(np.zeros(4), np.arange(4) * 100.0)   # 45° eastwards at 100 m cells
    >>> s = slope(z, xres=100.0, yres=100.0)
    >>> s[1:3, 1:3].round(6).tolist(), bool(np.isnan(s[0, 0]))
    ([[45.0, 45.0], [45.0, 45.0]], True)
    """
    _check_unit(unit)
    arr = np.asarray(z)
    rows, cols = arr.shape
    out = np.full(arr.shape, np.nan)
    if rows < 3 or cols < 3:
        return out
    xr = np.asarray(xres, dtype=float)
    yr = np.asarray(yres, dtype=float)
    # Strips of rows keep the temporary arrays small on large DEMs.
    step = max(1, (1 << 22) // cols)
    for r0 in range(1, rows - 1, step):
        r1 = min(r0 + step, rows - 1)
        block = arr[r0 - 1:r1 + 1].astype(np.float64)
        if nodata is not None:
            block[block == nodata] = np.nan
        n = r1 - r0
        win = [block[dr:dr + n, dc:dc + cols - 2] for dr in range(3) for dc in range(3)]
        dx = xr[r0:r1] if xr.ndim == 2 else xr
        dy = yr[r0:r1] if yr.ndim == 2 else yr
        out[r0:r1, 1:-1] = _horn(win, dx, dy, unit)
    return out


@dataclass(frozen=True)
class PixelIndex:
    """The pixels of every site: ``site[k]`` owns pixel ``(row[k], col[k])``.

    Entries are grouped by site, in increasing site order; a site with no pixel
    centre inside it has no entry.
    """

    site: NDArray[np.int64]
    row: NDArray[np.int64]
    col: NDArray[np.int64]

    def counts(self, n: int) -> NDArray[np.int64]:
        """Pixels per site, for ``n`` sites."""
        return np.bincount(self.site, minlength=n)


def _as_geoms(geoms: Any) -> NDArray[np.object_]:
    values = getattr(geoms, "geometry", geoms)
    return np.asarray(getattr(values, "values", values), dtype=object)


def pixel_index(geoms: Any, transform: Sequence[float], shape: tuple[int, int]) -> PixelIndex:
    """The pixels whose centre lies in each polygon, and the pixel of each point.

    A vectorised scanline fill with GDAL's rule: a pixel belongs to a polygon when
    its centre is inside (rings are filled even-odd; an edge covers the scanlines
    in ``[ymin, ymax)``; crossings round with ``floor(x + 0.5)``). Points take the
    pixel they fall in. Pixels outside the grid are dropped. Lines and empty or
    missing geometries own no pixel.

    Parameters
    ----------
    geoms
        Polygons or points (array, GeoSeries or GeoDataFrame) in the grid's CRS.
    transform
        The grid's affine geotransform ``(a, b, c, d, e, f)``, north-up.
    shape
        ``(rows, cols)`` of the grid.

    Returns
    -------
    PixelIndex

    Examples
    --------
    >>> from shapely import Point, box
    >>> idx = pixel_index([box(0.2, 0.2, 2.7, 1.9), Point(3.5, 0.5)], (1, 0, 0, 0, -1, 4), (4, 4))
    >>> idx.site.tolist(), idx.row.tolist(), idx.col.tolist()
    ([0, 0, 0, 0, 0, 0, 1], [2, 2, 2, 3, 3, 3, 3], [0, 1, 2, 0, 1, 2, 3])
    """
    g = _as_geoms(geoms)
    height, width = int(shape[0]), int(shape[1])
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    if b != 0 or d != 0:
        msg = f"the grid is rotated (geotransform {tuple(transform)[:6]}); nbgeo needs a north-up grid"
        raise InputError(msg + " (hint: warp it with gdalwarp)", code="E-RASTER-ROTATED")
    type_id = shapely.get_type_id(g)
    empty = shapely.is_empty(g) | (type_id < 0)
    sites, rows, cols = [], [], []

    # Points: the pixel they fall in.
    pt = np.flatnonzero((type_id == 0) & ~empty)
    if len(pt):
        xy = shapely.get_coordinates(g[pt])
        pc = np.floor((xy[:, 0] - c) / a).astype(np.int64)
        pr = np.floor((xy[:, 1] - f) / e).astype(np.int64)
        inside = (pr >= 0) & (pr < height) & (pc >= 0) & (pc < width)
        sites.append(pt[inside])
        rows.append(pr[inside])
        cols.append(pc[inside])

    poly = np.flatnonzero(np.isin(type_id, (3, 6)) & ~empty)
    if len(poly):
        parts, part_owner = shapely.get_parts(g[poly], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_owner = part_owner[ring_part]
        xy, ring_of = shapely.get_coordinates(rings, return_index=True)
        u, v = (xy[:, 0] - c) / a, (xy[:, 1] - f) / e
        # Edges join consecutive vertices of one ring (rings are closed).
        same = ring_of[1:] == ring_of[:-1]
        u0, v0, u1, v1 = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
        edge_owner = poly[ring_owner[ring_of[:-1][same]]]
        vlo, vhi = np.minimum(v0, v1), np.maximum(v0, v1)
        # Scanline r (centre r + 0.5) crosses the edge when vlo <= r + 0.5 < vhi.
        r0 = np.clip(np.ceil(vlo - 0.5), 0, height).astype(np.int64)
        r1 = np.clip(np.ceil(vhi - 0.5), 0, height).astype(np.int64)
        n = np.maximum(r1 - r0, 0)
        total = int(n.sum())
        edge = np.repeat(np.arange(len(n)), n)
        first = np.cumsum(n) - n
        row = np.arange(total, dtype=np.int64) - np.repeat(first, n) + np.repeat(r0, n)
        yc = row + 0.5
        du, dv = u1 - u0, v1 - v0
        x = u0[edge] + (yc - v0[edge]) * du[edge] / dv[edge]
        owner = edge_owner[edge]
        # Within one site and row the crossings pair up in order: fill between pairs.
        order = np.lexsort((x, row, owner))
        x, row, owner = x[order], row[order], owner[order]
        start = np.clip(np.floor(x[0::2] + 0.5), 0, width).astype(np.int64)
        stop = np.clip(np.floor(x[1::2] + 0.5), 0, width).astype(np.int64)
        span_row, span_owner = row[0::2], owner[0::2]
        length = np.maximum(stop - start, 0)
        npx = int(length.sum())
        span = np.repeat(np.arange(len(length)), length)
        offset = np.arange(npx, dtype=np.int64) - np.repeat(np.cumsum(length) - length, length)
        sites.append(span_owner[span])
        rows.append(span_row[span])
        cols.append(start[span] + offset)

    if not sites:
        none = np.zeros(0, dtype=np.int64)
        return PixelIndex(none, none, none)
    site, row, col = np.concatenate(sites), np.concatenate(rows), np.concatenate(cols)
    if len(site) and (np.diff(site) < 0).any():  # points and polygons mixed: group by site again
        order = np.argsort(site, kind="stable")
        site, row, col = site[order], row[order], col[order]
    return PixelIndex(site.astype(np.int64), row, col)


def _check_crs(geoms: Any, info: RasterInfo, what: str) -> None:
    crs = getattr(geoms, "crs", None)
    if crs is None:
        msg = f"the {what} have no CRS; the raster {info.path!r} is in {info.crs}"
        raise CRSError(msg + " (hint: set the sites' CRS)", code="E-CRS-MISSING")

    if not CRS.from_user_input(crs).equals(CRS.from_user_input(info.crs)):
        msg = (f"the {what} are in {CRS.from_user_input(crs).to_string()} but the raster {info.path!r} is in "
               f"{info.crs}; nbgeo does not reproject silently")
        raise CRSError(msg + f" (hint: reproject the {what} with .to_crs({info.crs!r}) first)",
                       code="E-CRS-MISMATCH")


def _read_values(
    src: rasterio.DatasetReader, info: RasterInfo, row: NDArray[np.int64], col: NDArray[np.int64], *,
    halo: int, band: int,
) -> NDArray[np.float64]:
    """Values at ``(row + dr, col + dc)`` for every offset of a (2·halo + 1)² window, nodata as NaN.

    Returns an array ``(window size, len(row))``; a pixel whose window leaves
    the raster gets NaN throughout. The extent the pixels span is read in one
    piece when it is small enough, otherwise in strips of rows.
    """
    offsets = [(dr, dc) for dr in range(-halo, halo + 1) for dc in range(-halo, halo + 1)]
    out_dtype = np.float64 if np.dtype(info.dtype).itemsize > 4 or np.dtype(info.dtype).kind in "iu" else np.float32
    out = np.full((len(offsets), len(row)), np.nan, dtype=out_dtype)
    inner = ((row >= halo) & (row < info.height - halo) & (col >= halo) & (col < info.width - halo))
    if not inner.any():
        return out
    c0 = max(int(col[inner].min()) - halo, 0)
    c1 = min(int(col[inner].max()) + halo + 1, info.width)
    width = c1 - c0
    strip = max(1, _READ_BUDGET // max(width, 1) - 2 * halo)
    rmin, rmax = int(row[inner].min()), int(row[inner].max())
    todo = np.flatnonzero(inner)
    if rmax - rmin + 1 <= strip:
        groups: list[tuple[int, int, NDArray[np.int64]]] = [(rmin, rmax + 1, todo)]
    else:
        # Too large to hold at once: visit the pixels strip by strip.
        order = todo[np.argsort(row[todo], kind="stable")]
        bounds = np.arange(rmin, rmax + strip + 1, strip)
        cuts = np.searchsorted(row[order], bounds)
        groups = [(int(lo), int(lo) + strip, order[s:t])
                  for lo, s, t in zip(bounds[:-1], cuts[:-1], cuts[1:], strict=True) if t > s]
    for lo, hi, members in groups:
        r0, r1 = max(lo - halo, 0), min(hi + halo, info.height)
        # Read in the file's own type; nodata is masked on the gathered values only, not the whole block.
        flat_block = src.read(band, window=Window(c0, r0, width, r1 - r0)).ravel()
        # Every window of an inner pixel lies in the block: gather with flat offsets.
        flat = (row[members] - r0) * width + (col[members] - c0)
        everyone = len(members) == len(row)  # the usual case: no edge pixel, one piece
        for k, (dr, dc) in enumerate(offsets):
            raw = flat_block[flat + (dr * width + dc)]
            if everyone:
                out[k] = raw
            else:
                out[k, members] = raw
            if info.nodata is not None:
                bad = raw == info.nodata
                if bad.any():
                    out[k, members[bad]] = np.nan
    return out


def _summarise(values: NDArray[np.float64], index: PixelIndex, n: int, stats: Sequence[str]) -> pd.DataFrame:
    """Per-site statistics of ``values`` (one per pixel entry, NaN ignored)."""
    bad = [s for s in stats if s not in STATS]
    if bad:
        msg = f"unknown statistic(s) {', '.join(map(repr, bad))}; choose from {', '.join(STATS)}"
        raise InputError(msg, code="E-RASTER-STAT")
    valid = ~np.isnan(values)
    site, vals = index.site[valid], values[valid]
    count = np.bincount(site, minlength=n)
    total = np.bincount(site, weights=vals, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    out: dict[str, NDArray[Any]] = {}
    present, starts = np.unique(site, return_index=True)
    for stat in stats:
        if stat == "count":
            out[stat] = count
        elif stat == "sum":
            out[stat] = np.where(count > 0, total, np.nan)
        elif stat == "mean":
            out[stat] = mean
        elif stat in ("min", "max"):
            col = np.full(n, np.nan)
            if len(site):
                col[present] = (np.minimum if stat == "min" else np.maximum).reduceat(vals, starts)
            out[stat] = col
        else:  # std, population (ddof=0) as numpy and rasterstats compute it
            dev = np.bincount(site, weights=(vals - mean[site]) ** 2, minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[stat] = np.where(count > 0, np.sqrt(dev / np.maximum(count, 1)), np.nan)
    return pd.DataFrame(out)


def zonal_stats(
    sites: gpd.GeoSeries | gpd.GeoDataFrame, raster: str | Path | Raster, *,
    stats: Sequence[str] = ("count", "mean", "min", "max"), band: int = 1,
) -> pd.DataFrame:
    """Statistics of a raster band over every site (pixel centres inside polygons; a point's pixel).

    Parameters
    ----------
    sites
        Polygons or points, in the raster's CRS.
    raster
        A GeoTIFF path or :class:`~nbgeo.layers.Raster`.
    stats
        Any of :data:`STATS`; nodata pixels are left out, ``count`` counts the rest.
    band
        The band, from 1.

    Returns
    -------
    pandas.DataFrame
        One row per site, aligned to the sites' index; NaN where a site has no data pixel.

    Raises
    ------
    CRSError
        When the sites are not in the raster's CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from nbgeo import datasets
    >>> parks = gpd.GeoSeries([box(121.50, 29.85, 121.51, 29.86)], crs=4326, index=["p1"])
    >>> zonal_stats(parks, datasets.get_path("ningbo") / "dem.tif", stats=["count"])
        count
    p1    100
    """
    with open_raster(raster) as src:
        info, _ = verify_raster(src.name)
        assert info is not None
        _check_crs(sites, info, "sites")
        index = pixel_index(sites, info.transform, (info.height, info.width))
        values = _read_values(src, info, index.row, index.col, halo=0, band=band)[0]
    frame = _summarise(values, index, len(sites), stats)
    frame.index = sites.index
    return frame


def slope_stats(
    sites: gpd.GeoSeries | gpd.GeoDataFrame, dem: str | Path | Raster, *,
    stats: Sequence[str] = ("count", "mean", "max"), unit: str = "degree", band: int = 1,
) -> pd.DataFrame:
    """Statistics of the DEM's slope over every site, computed only where the sites are.

    Equal to :func:`zonal_stats` on the raster :func:`slope` makes of the whole
    DEM, without making it: the slope is computed at each site pixel from its
    3 × 3 neighbourhood, read in one pass.

    Parameters
    ----------
    sites
        Polygons or points, in the DEM's CRS.
    dem
        The DEM (metres above a datum), a GeoTIFF path or :class:`~nbgeo.layers.Raster`.
    stats
        Any of :data:`STATS`.
    unit
        ``"degree"`` or ``"percent"``.
    band
        The band, from 1.

    Returns
    -------
    pandas.DataFrame
        One row per site, aligned to the sites' index; ``count`` is the number of
        pixels with a slope (not on the DEM's edge, no nodata neighbour).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from nbgeo import datasets
    >>> parks = gpd.GeoSeries([box(121.50, 29.85, 121.51, 29.86)], crs=4326, index=["p1"])
    >>> s = slope_stats(parks, datasets.get_path("ningbo") / "dem.tif", unit="percent")
    >>> int(s.loc["p1", "count"]), bool(s.loc["p1", "mean"] < s.loc["p1", "max"])
    (100, True)
    """
    _check_unit(unit)
    with open_raster(dem) as src:
        info, _ = verify_raster(src.name)
        assert info is not None
        _check_crs(sites, info, "sites")
        index = pixel_index(sites, info.transform, (info.height, info.width))
        window = _read_values(src, info, index.row, index.col, halo=1, band=band)
    dx, dy = _cell_sizes(info, index.row)
    values = _horn(window, dx, dy, unit)
    log.info("Slope at %d pixels of %d sites", len(values), len(sites))
    frame = _summarise(values, index, len(sites), stats)
    frame.index = sites.index
    return frame
