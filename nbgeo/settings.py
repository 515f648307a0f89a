"""Documented defaults that nbgeo's functions read at call time.

Change a setting by assigning to it (``nbgeo.settings.working_crs = "EPSG:4550"``);
a keyword argument of the same name overrides it for one call.

working_crs : str
    The projected CRS used for lengths, areas and distances over all of Ningbo.
    Ningbo spans about 120.9°E to 122.3°E and so straddles the 121.5°E edge of
    the CGCS2000 3-degree Gauss-Krüger zones (CM 120°E and CM 123°E). nbgeo
    therefore uses a transverse Mercator on the CGCS2000 ellipsoid (GRS 1980)
    centred on 121.5°E, whose scale error stays under 0.01 % across the city.
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

working_crs: str = (
    "+proj=tmerc +lat_0=0 +lon_0=121.5 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs +type=crs"
)
display_crs: str = "EPSG:4326"
geographic_crs: str = "EPSG:4490"
default_year: int | None = None
tolerance_band: float = 0.0
cache_folder: str | None = None
use_cache: bool = True
allow_network: bool = False
