"""Documented defaults that nbgeo's functions read at call time.

Change a setting by assigning to it (``nbgeo.settings.use_cache = False``);
a keyword argument of the same name overrides it for one call.

working_crs : str | None
    ``None`` (the default): every dataset is measured in a working CRS chosen
    from its own extent (:func:`nbgeo.crs.working_crs_for`: a CGCS2000
    Gauss-Krüger zone or a transverse Mercator centred on the data, accurate
    to 0.1 %). Set it (``"EPSG:4549"``) to measure everything in one CRS
    instead; a dataset's own ``[crs] working`` and the ``--crs`` option win
    over it. A set CRS is used even where it is inaccurate; its error over the
    data is recorded in ``audit.json``.
display_crs : str
    The CRS of web maps and GeoJSON output (RFC 7946 requires WGS 84).
geographic_crs : str
    CGCS2000 geographic coordinates; treated as WGS 84 to within about 5 cm, well
    below the accuracy of any planning layer.
default_year : int | None
    The year an audit is evaluated for; ``None`` means the plan's horizon.
tolerance_band : float
    Relative band around a rule's limit within which a site is reported
    ``unknown`` rather than pass or fail (0.0 disables the band).
cache_folder : str | None
    Where built road networks and osmnx's downloads are cached. ``None``
    (default) means ``$NBGEO_CACHE_DIR`` when set, else the user's cache
    directory (``platformdirs.user_cache_dir("nbgeo")``, e.g.
    ``~/.cache/nbgeo``); never the working directory. Every entry is verified
    before use; a folder that is a symlink, not writable, or writable by
    others is not used (see :mod:`nbgeo._cache`).
use_cache : bool
    Whether to read and write that cache.
allow_network : bool
    Whether readers may open remote paths (``http://``, ``/vsicurl/``, ...).

Examples
--------
>>> from nbgeo import settings
>>> settings.display_crs
'EPSG:4326'
"""

from __future__ import annotations

__all__ = [
    "allow_network",
    "cache_folder",
    "default_year",
    "display_crs",
    "geographic_crs",
    "tolerance_band",
    "use_cache",
    "working_crs",
]

working_crs: str | None = None
display_crs: str = "EPSG:4326"
geographic_crs: str = "EPSG:4490"
default_year: int | None = None
tolerance_band: float = 0.0
cache_folder: str | None = None
use_cache: bool = True
allow_network: bool = False
