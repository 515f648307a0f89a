"""Downloading a network with osmnx (a place name or a polygon), cached like a file."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import shapely

from .. import _cache, settings
from ..errors import CRSError, InputError, RoadNetworkError
from ..layers import LayerMeta
from .build import declared_work_crs, network_from_graph
from .cache import cached_network
from .graph import RoadNetwork
from .osm import NETWORK_TYPES

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    import networkx as nx


# --------------------------------------------------------------------------------------------
# Downloading with osmnx
# --------------------------------------------------------------------------------------------


def _download(query_key: str, fetch: Any, *, network_type: str, crs: Any, use_cache: bool | None,
              source: str) -> RoadNetwork:
    import osmnx as ox  # noqa: PLC0415  (about 1 s to import; only downloads and GraphML need it)

    if network_type not in NETWORK_TYPES:
        msg = f"network_type must be one of {', '.join(NETWORK_TYPES)}, got {network_type!r}"
        raise InputError(msg, code="E-NET-TYPE")
    work_crs = declared_work_crs(crs)
    use = settings.use_cache if use_cache is None else use_cache
    meta = LayerMeta(name="roads", source=source, licence="ODbL-1.0 (© OpenStreetMap contributors)")

    def build() -> RoadNetwork:
        # osmnx keeps its own cache of the raw responses beside ours, in the same checked folder: never in
        # osmnx's default ./cache of the working directory.
        saved = (ox.settings.use_cache, ox.settings.cache_folder)
        folder = _cache.subfolder("osmnx") if use else None
        ox.settings.use_cache = folder is not None
        if folder is not None:
            ox.settings.cache_folder = str(folder)
        try:
            graph = fetch(ox)
        except Exception as exc:  # network errors, empty responses, geocoding failures
            msg = f"could not download the road network ({source}): {type(exc).__name__}: {exc}"
            raise RoadNetworkError(msg, code="E-NET-DOWNLOAD") from None
        finally:
            ox.settings.use_cache, ox.settings.cache_folder = saved
        return network_from_graph(graph, crs=work_crs)

    return cached_network((query_key, network_type, work_crs or "chosen from its extent (nbgeo.crs v1)"), build, meta,
                   use_cache=use_cache)


def network_from_place(
    query: str | Mapping[str, str],
    *,
    network_type: str = "drive",
    crs: Any = None,
    use_cache: bool | None = None,
) -> RoadNetwork:
    """Download the drivable road network of a place from OpenStreetMap (osmnx), cached on disk.

    Parameters
    ----------
    query
        A place name or structured query that Nominatim geocodes to a polygon,
        e.g. ``"宁波市, 浙江省, 中国"``.
    network_type
        ``"drive"`` or ``"drive_service"``.
    crs
        The metric CRS to work in (default ``settings.working_crs`` if set,
        else one chosen from the network's extent).
    use_cache
        Read and write the caches (default ``settings.use_cache``): osmnx's
        cache of the raw responses and nbgeo's cache of the built matrix, both
        in the user's cache directory (or ``settings.cache_folder``). A second
        call with the same query reads the disk and makes no request.

    Returns
    -------
    RoadNetwork
        With OSM's licence (ODbL) in ``meta``.
    """
    key = f"place:{query!r}"

    def fetch(ox: Any) -> nx.MultiDiGraph:
        return ox.graph_from_place(query, network_type=network_type, simplify=True, retain_all=True)

    return _download(key, fetch, network_type=network_type, crs=crs, use_cache=use_cache,
                     source=f"OpenStreetMap via osmnx, place {query!r}")


def network_from_polygon(
    polygon: shapely.Geometry | gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    network_type: str = "drive",
    crs: Any = None,
    use_cache: bool | None = None,
) -> RoadNetwork:
    """Download the drivable road network inside a polygon (e.g. the city boundary), cached on disk.

    Parameters
    ----------
    polygon
        A shapely polygon in WGS 84 longitude/latitude, or a GeoSeries /
        GeoDataFrame with a CRS (unioned, e.g. the sample's districts).
    network_type, crs, use_cache
        As for :func:`network_from_place`.

    Returns
    -------
    RoadNetwork
    """
    if hasattr(polygon, "geometry"):
        gs = polygon.geometry
        if gs.crs is None:
            msg = "the polygon's GeoSeries has no CRS"
            raise CRSError(msg, code="E-CRS-MISSING")
        geom = shapely.union_all(gs.to_crs(4326).values)
    else:
        geom = polygon
    if not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)) or geom.is_empty:
        msg = f"network_from_polygon needs a (Multi)Polygon in WGS 84, got {getattr(geom, 'geom_type', type(geom))}"
        raise InputError(msg, code="E-GEOM-TYPE")
    wkb_hash = hashlib.sha256(shapely.to_wkb(shapely.normalize(geom), output_dimension=2)).hexdigest()

    def fetch(ox: Any) -> nx.MultiDiGraph:
        return ox.graph_from_polygon(geom, network_type=network_type, simplify=True, retain_all=True)

    return _download(f"polygon:{wkb_hash}", fetch, network_type=network_type, crs=crs, use_cache=use_cache,
                     source=f"OpenStreetMap via osmnx, polygon {wkb_hash[:12]}")
