"""Reading network files: OSM PBF/XML (optionally compressed), GraphML and GeoPackage."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyogrio
import shapely
from pyproj import CRS

from .. import limits, settings
from ..crs import parse_crs
from ..errors import CRSError, InputError, RoadNetworkError
from ..layers import LayerMeta
from .build import declared_work_crs, lonlat_work_crs, network_from_arrays, network_from_graph, split_edges
from .cache import cached_network, file_sha256
from .graph import RoadNetwork
from .osm import NETWORK_TYPES, read_osm

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    pass

# Magic bytes of the formats read_network opens (after an optional compression layer).
_GZIP, _BZIP2 = b"\x1f\x8b", b"BZh"


def _sniff(path: Path) -> str:
    """The format of a network file from its content: ``pbf``, ``xml`` or ``gpkg``."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith((_GZIP, _BZIP2)):
        return "xml"  # osmium reads .osm.gz / .osm.bz2; GraphML is never compressed here
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if len(head) >= 8 and b"OSMHeader" in head[:32]:
        return "pbf"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "xml"
    return "unknown"


def _check_network_path(path: str | Path) -> Path:
    text = str(path)
    if any(marker in text for marker in ("://", "/vsi", ":::")) and not settings.allow_network:
        msg = f"{text!r} is a remote or virtual path; nbgeo reads road networks only from local files"
        raise InputError(msg, code="E-PATH-REMOTE")
    p = Path(text)
    if not p.is_file():
        msg = f"road network file {text!r} does not exist" if not p.exists() else f"{text!r} is not a file"
        raise InputError(msg, code="E-FILE-MISSING")

    limits.check_input_size(p.stat().st_size, file=text, what="the road network file")
    return p


def read_network(
    path: str | Path,
    *,
    network_type: str = "drive",
    crs: Any = None,
    use_cache: bool | None = None,
    meta: LayerMeta | None = None,
    source_crs: Any = None,
) -> RoadNetwork:
    """Read a road network from a local file, converting it once and caching the result.

    Parameters
    ----------
    path
        ``.osm.pbf`` / ``.pbf``, ``.osm`` (also ``.osm.gz``, ``.osm.bz2``),
        ``.graphml`` (osmnx ``save_graphml``) or ``.gpkg`` (osmnx
        ``save_graph_geopackage``: layers ``nodes`` and ``edges``).
    network_type
        For OSM files, which ways are roads: ``"drive"`` (public drivable
        streets, as osmnx's "drive") or ``"drive_service"`` (with service roads).
    crs
        The metric CRS to work in: for a dataset, its ``working_crs`` (as
        :func:`read_dataset_network` passes it). Default:
        ``settings.working_crs`` if set, else one chosen from the network's own
        extent (:func:`nbgeo.crs.working_crs_for`).
    use_cache
        Read and write the disk cache (default ``settings.use_cache``). The
        cache key is the file's SHA-256, so an edited file is read anew; an
        entry that does not verify is ignored and rebuilt (a WARNING).
    meta
        Provenance to attach (e.g. from a dataset manifest).
    source_crs
        The CRS of the file's coordinates as a manifest declares it: checked
        against the file's own (``E-CRS-MISMATCH``; OSM files are WGS 84
        longitude/latitude by definition), and used where a GraphML graph or
        GeoPackage declares none.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    InputError
        For a remote path, a missing file or an unknown format.
    RoadNetworkError
        For a file that cannot be parsed or holds no roads.

    Examples
    --------
    >>> from nbgeo import datasets
    >>> net = read_network(datasets.get_path("ningbo") / "roads.osm.pbf")
    >>> net.n_edges > 150_000, bool(net.in_main_component.mean() > 0.95)
    (True, True)
    >>> read_network("https://example.com/ningbo.osm.pbf")
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: 'https://example.com/ningbo.osm.pbf' is a remote or virtual path; nbgeo reads road networks only from local files
    """
    p = _check_network_path(path)
    if network_type not in NETWORK_TYPES:
        msg = f"network_type must be one of {', '.join(NETWORK_TYPES)}, got {network_type!r}"
        raise InputError(msg, code="E-NET-TYPE")
    work_crs = declared_work_crs(crs)
    kind = _sniff(p)
    suffixes = "".join(p.suffixes).lower()
    if kind == "xml" and suffixes.endswith(".graphml"):
        kind = "graphml"
    if kind == "unknown":
        msg = (f"road network file {str(p)!r}: unknown format (expected OSM PBF, OSM XML, GraphML or a "
               f"GeoPackage of osmnx nodes and edges)")
        raise InputError(msg, code="E-FORMAT-FORBIDDEN")
    declared = None if source_crs is None else parse_crs(source_crs, what=f"road network {p.name!r}: crs")
    if declared is not None and kind in ("pbf", "xml") and not _is_wgs84_lonlat(declared):
        msg = (f"road network file {str(p)!r} is OpenStreetMap data, which is WGS 84 longitude/latitude by "
               f"definition, but its crs is declared as {declared.name!r}")
        raise CRSError(msg + " (hint: drop the crs key, or declare EPSG:4326; to choose the CRS distances are "
                       "measured in, use [crs] working in dataset.toml or --crs)", code="E-CRS-MISMATCH")
    meta = meta or LayerMeta(name="roads", file=p.name, source=str(p))
    # A CRS chosen from the file's extent depends only on its content, which the hash already keys.
    parts = (file_sha256(p), kind, network_type, work_crs or "chosen from its extent (nbgeo.crs v1)",
             *(() if declared is None or kind in ("pbf", "xml") else (f"declared {declared.srs}",)))

    def build() -> RoadNetwork:
        if kind in ("pbf", "xml"):
            return read_osm(p, network_type=network_type, crs=work_crs)
        if kind == "graphml":
            return _read_graphml(p, crs=work_crs, declared=declared)
        return _read_graph_gpkg(p, crs=work_crs, declared=declared)

    net = cached_network(parts, build, meta, use_cache=use_cache)
    log.info("Read %r from %s", net, p)
    return net


def _is_wgs84_lonlat(crs: Any) -> bool:
    """Whether a CRS is longitude/latitude on WGS 84 or CGCS2000 (one datum for planning work)."""
    return bool(crs.is_geographic and crs.ellipsoid is not None
                and crs.ellipsoid.name in ("WGS 84", "GRS 1980", "CGCS2000"))


def _check_declared(path: Path, own: Any, declared: Any) -> Any:
    """The file's own CRS, checked against the declared one; the declared one where the file has none."""
    if declared is None or own is None:
        return own if own is not None else declared

    if not CRS.from_user_input(own).equals(declared):
        msg = (f"road network file {str(path)!r} is in {CRS.from_user_input(own).name!r}, but its crs is declared "
               f"as {declared.name!r}")
        raise CRSError(msg + " (hint: correct the manifest's crs, or the file)", code="E-CRS-MISMATCH")
    return own


def _read_graphml(path: Path, *, crs: str | None, declared: Any = None) -> RoadNetwork:
    import osmnx as ox  # noqa: PLC0415  (about 1 s to import; only downloads and GraphML need it)

    try:
        graph = ox.load_graphml(path)
    except Exception as exc:  # osmnx/networkx raise many types for a bad file
        msg = f"road network file {str(path)!r} is not a GraphML graph osmnx can read: {exc}"
        raise RoadNetworkError(msg, code="E-NET-PARSE") from None
    own = _check_declared(path, graph.graph.get("crs"), declared)
    if own is not None:
        graph.graph["crs"] = own
    return network_from_graph(graph, crs=crs)


def _read_graph_gpkg(path: Path, *, crs: str | None, declared: Any = None) -> RoadNetwork:
    """A GeoPackage with osmnx's ``nodes`` (osmid) and ``edges`` (u, v, geometry) layers."""
    try:
        layers = {name for name, _ in pyogrio.list_layers(path)}
        if not {"nodes", "edges"} <= layers:
            msg = f"road network GeoPackage {str(path)!r} needs layers 'nodes' and 'edges', has {sorted(layers)}"
            raise RoadNetworkError(msg, code="E-NET-PARSE")
        nodes = pyogrio.read_dataframe(path, layer="nodes")
        edges = pyogrio.read_dataframe(path, layer="edges")
    except pyogrio.errors.DataSourceError as exc:
        msg = f"road network file {str(path)!r} cannot be read: {exc}"
        raise RoadNetworkError(msg, code="E-NET-PARSE") from None
    for layer, gdf, cols in (("nodes", nodes, ("osmid",)), ("edges", edges, ("u", "v"))):
        missing = [c for c in cols if c not in gdf.columns]
        if missing:
            msg = f"road network GeoPackage {str(path)!r}: layer {layer!r} lacks column(s) {', '.join(missing)}"
            raise RoadNetworkError(msg, code="E-NET-PARSE")
    own = _check_declared(path, nodes.crs, declared)
    if own is None:
        msg = f"road network GeoPackage {str(path)!r} has no CRS"
        raise CRSError(msg + " (hint: declare it with crs = '...' in [networks.NAME])", code="E-CRS-MISSING")
    nodes = nodes.set_crs(own, allow_override=True)
    edges = edges.set_crs(own, allow_override=True) if edges.crs is None else edges
    if crs is None:
        lonlat = nodes.geometry.to_crs(4326)
        crs = lonlat_work_crs(shapely.get_x(lonlat.values), shapely.get_y(lonlat.values))
    nodes = nodes.to_crs(crs)
    edges = edges.to_crs(crs)
    ids = nodes["osmid"].to_numpy(dtype=np.int64)
    order = np.argsort(ids)
    pos_u = np.searchsorted(ids, edges["u"].to_numpy(dtype=np.int64), sorter=order)
    pos_v = np.searchsorted(ids, edges["v"].to_numpy(dtype=np.int64), sorter=order)
    u = order[np.clip(pos_u, 0, len(ids) - 1)]
    v = order[np.clip(pos_v, 0, len(ids) - 1)]
    known = (ids[u] == edges["u"].to_numpy(dtype=np.int64)) & (ids[v] == edges["v"].to_numpy(dtype=np.int64))
    if not known.all():
        msg = f"road network GeoPackage {str(path)!r}: {int((~known).sum())} edge(s) refer to unknown nodes"
        raise RoadNetworkError(msg, code="E-NET-NODE")
    x, y = shapely.get_x(nodes.geometry.values), shapely.get_y(nodes.geometry.values)
    # osmnx saves undirected by default (one row per street, in either order), or directed (one row per
    # direction). Orient each row's geometry from u to v; a two-way street gets both directions and a
    # one-way street the direction its geometry was drawn in.
    geoms = np.asarray(edges.geometry.values, dtype=object)
    start = shapely.get_point(geoms, 0)
    starts_at_u = shapely.distance(start, shapely.points(x[u], y[u])) <= shapely.distance(
        start, shapely.points(x[v], y[v]))
    geoms_uv = np.where(starts_at_u, geoms, shapely.reverse(geoms))
    if "oneway" in edges.columns:
        oneway = edges["oneway"].map(lambda val: str(val).strip().lower() in ("true", "1", "yes")).to_numpy(bool)
    else:
        oneway = np.ones(len(edges), dtype=bool)  # plain u -> v rows
        starts_at_u = np.ones(len(edges), dtype=bool)
    forward = ~oneway | starts_at_u
    backward = ~oneway | ~starts_at_u
    all_u = np.concatenate([u[forward], v[backward]])
    all_v = np.concatenate([v[forward], u[backward]])
    all_geoms = np.concatenate([geoms_uv[forward], shapely.reverse(geoms_uv[backward])])
    w = np.full(len(all_u), np.nan)
    x2, y2, su, sv, length, _ = split_edges(x, y, all_u, all_v, w, all_geoms, transform=None, split=True)
    node_ids = np.full(len(x2), -1, dtype=np.int64)
    node_ids[: len(ids)] = ids
    return network_from_arrays(x2, y2, su, sv, length, crs=crs, node_ids=node_ids)
