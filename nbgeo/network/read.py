"""Reading network files: OSM PBF/XML (optionally compressed), GraphML and GeoPackage."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from .. import limits, settings
from ..crs import parse_crs
from ..errors import CRSError, InputError, RoadNetworkError
from ..layers import LayerMeta
from .build import declared_work_crs, lonlat_work_crs, network_from_arrays, network_from_graph, split_chains
from .cache import cached_network, file_sha256
from .graph import RoadNetwork
from .osm import NETWORK_TYPES, read_osm

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

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


#: Edge rows read, parsed and reduced to coordinate arrays at a time (bounds the WKB and geometry objects held).
GPKG_BATCH_ROWS = 262_144


def _gpkg_fail(path: Path, exc: Exception) -> RoadNetworkError:
    msg = f"road network file {str(path)!r} cannot be read: {exc}"
    return RoadNetworkError(msg, code="E-NET-PARSE")


def _gpkg_batches(path: Path, layer: str, columns: list[str]) -> Iterator[tuple[dict[str, Any], Any]]:
    """``(meta, batch)`` for each Arrow record batch of a layer: its columns and its geometry as WKB."""
    try:
        with pyogrio.open_arrow(path, layer=layer, columns=columns, batch_size=GPKG_BATCH_ROWS,
                                use_pyarrow=True) as (meta, reader):
            for batch in reader:
                yield meta, batch
    except pyogrio.errors.DataSourceError as exc:
        raise _gpkg_fail(path, exc) from None


def _geometry_column(meta: dict[str, Any], batch: Any) -> Any:
    return batch.column(meta.get("geometry_name") or "wkb_geometry")


def _wkb_vertices(column: Any, kind: int) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                  NDArray[np.int64]] | None:
    """Vertices of an Arrow WKB column read straight from its bytes, or None when shapely must parse it.

    ``x, y`` of every vertex (record after record) and the vertex count per
    record, when every record is a plain little-endian 2D geometry of type
    ``kind`` (1 point, 2 line string). None otherwise (nulls, other types,
    Z/M, big-endian, a line of one point, which GEOS refuses).
    """
    if column.null_count or not len(column):
        return None
    bufs = column.buffers()
    wide = str(column.type) == "large_binary"
    raw = np.frombuffer(bufs[1], dtype=np.int64 if wide else np.int32)
    offsets: NDArray[np.int64] = raw[column.offset: column.offset + len(column) + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    starts, size = offsets[:-1], np.diff(offsets)
    head = 5 if kind == 1 else 9
    if (size < head).any() or int(offsets[-1]) > len(data):
        return None
    b = data[starts[:, None] + np.arange(head)].astype(np.int64)
    geom_type = b[:, 1] | b[:, 2] << 8 | b[:, 3] << 16 | b[:, 4] << 24
    points = np.ones(len(starts), dtype=np.int64) if kind == 1 else b[:, 5] | b[:, 6] << 8 | b[:, 7] << 16 | b[:, 8] << 24
    plain = (b[:, 0] == 1).all() and (geom_type == kind).all() and (size == head + 16 * points).all()
    if not plain or (kind == 2 and (points == 1).any()):
        return None
    lo, hi = int(offsets[0]), int(offsets[-1])
    keep = np.ones(hi - lo, dtype=bool)
    keep[(starts - lo)[:, None] + np.arange(head)] = False
    xy = np.ascontiguousarray(data[lo:hi][keep]).view("<f8").reshape(-1, 2)
    return xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64), points


def _column(batch: Any, name: str) -> NDArray[np.int64]:
    return np.asarray(batch.column(name).to_numpy(zero_copy_only=False), dtype=np.int64)


def _truthy(values: Any) -> NDArray[np.bool_]:
    """The ``oneway`` column of osmnx as booleans ("True", "1", "yes", any case), judged once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    yes = np.array([str(val).strip().lower() in ("true", "1", "yes") for val in uniques] + [False], dtype=bool)
    return yes[codes]  # code -1 (missing) takes the trailing False, as str(None) / str(nan) did


def _read_gpkg_nodes(path: Path) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], Any]:
    """Node ids and coordinates (in the file's CRS), batch by batch, and the layer's CRS."""
    ids, xs, ys, crs = [], [], [], None
    for meta, batch in _gpkg_batches(path, "nodes", ["osmid"]):
        crs = meta.get("crs")
        column = _geometry_column(meta, batch)
        ids.append(_column(batch, "osmid"))
        fast = _wkb_vertices(column, 1)
        if fast is None:
            geoms = shapely.from_wkb(column.to_numpy(zero_copy_only=False))
            fast = shapely.get_x(geoms), shapely.get_y(geoms), np.ones(len(geoms), dtype=np.int64)
        xs.append(fast[0])
        ys.append(fast[1])
    if crs is None:  # an empty layer yields no batch: ask for its CRS
        crs = pyogrio.read_info(path, layer="nodes").get("crs")
    cat = np.concatenate
    return (cat(ids) if ids else np.zeros(0, np.int64), cat(xs) if xs else np.zeros(0), cat(ys) if ys else np.zeros(0),
            crs)


class _EdgeRows:
    """The edge layer as arrays, read batch by batch.

    ``u``, ``v`` (osmids); per row its vertex count and first vertex's
    offset in ``cx, cy`` (all vertices, row after row, as drawn); whether it
    is a (non-empty) LineString; and for other geometry types (rare:
    multi-part lines) the vertices of ``shapely.reverse`` in ``cx, cy`` too.
    """

    def __init__(self, path: Path, oneway: bool) -> None:
        us, vs, counts, lines, ways = [], [], [], [], []
        xs: list[NDArray[np.float64]] = []
        ys: list[NDArray[np.float64]] = []
        rev_rows, rev_counts, rev_xs, rev_ys = [], [], [], []
        rows = 0
        self.crs = None
        for meta, batch in _gpkg_batches(path, "edges", ["u", "v", *(["oneway"] if oneway else [])]):
            self.crs = meta.get("crs")
            column = _geometry_column(meta, batch)
            us.append(_column(batch, "u"))
            vs.append(_column(batch, "v"))
            if oneway:
                ways.append(_truthy(batch.column("oneway").to_pandas()))
            fast = _wkb_vertices(column, 2)
            if fast is not None:  # plain line strings: every non-empty row starts at a point
                xs.append(fast[0])
                ys.append(fast[1])
                counts.append(fast[2])
                lines.append(fast[2] > 0)
                rows += len(column)
                continue
            geoms = shapely.from_wkb(column.to_numpy(zero_copy_only=False))
            coords, owner = shapely.get_coordinates(geoms, return_index=True)
            counts.append(np.bincount(owner, minlength=len(geoms)))
            xs.append(coords[:, 0].copy())
            ys.append(coords[:, 1].copy())
            kind = shapely.get_type_id(geoms)
            line = ((kind == 1) | (kind == 2)) & (counts[-1] > 0)  # where shapely.get_point(g, 0) is a point
            lines.append(line)
            odd = np.flatnonzero(~line & (counts[-1] > 0))
            if len(odd):  # reversing a multi-part line is not reversing its vertex list: keep GEOS's own
                rc, ro = shapely.get_coordinates(shapely.reverse(geoms[odd]), return_index=True)
                rev_rows.append(rows + odd)
                rev_counts.append(np.bincount(ro, minlength=len(odd)))
                rev_xs.append(rc[:, 0].copy())
                rev_ys.append(rc[:, 1].copy())
            rows += len(geoms)
            del geoms, coords, owner
        if self.crs is None:
            self.crs = pyogrio.read_info(path, layer="edges").get("crs")
        cat = np.concatenate
        self.u = cat(us) if us else np.zeros(0, np.int64)
        self.v = cat(vs) if vs else np.zeros(0, np.int64)
        self.oneway = cat(ways) if ways else np.ones(rows, dtype=bool)
        self.count = cat(counts).astype(np.int64) if counts else np.zeros(0, np.int64)
        self.line = cat(lines) if lines else np.zeros(0, dtype=bool)
        n_drawn = int(self.count.sum())
        self.cx = cat([*xs, *rev_xs]) if xs else np.zeros(0)
        self.cy = cat([*ys, *rev_ys]) if ys else np.zeros(0)
        self.start = np.zeros(rows, dtype=np.int64)
        np.cumsum(self.count[:-1], out=self.start[1:])
        # Where each row's reversed vertices start: its own, read backwards, or its block after the drawn ones.
        self.rev_start = np.full(rows, -1, dtype=np.int64)
        if rev_rows:
            rc = cat(rev_counts)
            self.rev_start[cat(rev_rows)] = n_drawn + np.r_[0, np.cumsum(rc)[:-1]]


def _interior(rows: _EdgeRows, idx: NDArray[np.int64], reverse: NDArray[np.bool_],
              ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Interior vertices of the directed edges made from rows ``idx``, read backwards where ``reverse``.

    How many each edge has, and their positions in ``rows.cx, rows.cy``,
    edge after edge in the order the edge passes them.
    """
    count = rows.count[idx]
    k = np.maximum(count - 2, 0)
    start = rows.start[idx]
    backwards = reverse & rows.line[idx]  # a LineString reversed: its own vertices, last to first
    alt = reverse & ~rows.line[idx]  # another geometry reversed by GEOS: its stored reversed vertices
    first = np.where(backwards, start + count - 2, np.where(alt, rows.rev_start[idx], start) + 1)
    step = np.where(backwards, -1, 1)
    total = int(k.sum())
    ramp = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    return k, np.repeat(first, k) + np.repeat(step, k) * ramp


def _read_graph_gpkg(path: Path, *, crs: str | None, declared: Any = None) -> RoadNetwork:
    """A GeoPackage with osmnx's ``nodes`` (osmid) and ``edges`` (u, v, geometry) layers.

    Read as arrays, in batches of :data:`GPKG_BATCH_ROWS` rows: no geometry object outlives its batch, the
    vertices are reprojected once as one coordinate array and oriented by index arithmetic, so memory stays
    near the size of the coordinates.
    """
    try:
        layers = {name for name, _ in pyogrio.list_layers(path)}
        if not {"nodes", "edges"} <= layers:
            msg = f"road network GeoPackage {str(path)!r} needs layers 'nodes' and 'edges', has {sorted(layers)}"
            raise RoadNetworkError(msg, code="E-NET-PARSE")
        fields = {layer: set(pyogrio.read_info(path, layer=layer)["fields"]) for layer in ("nodes", "edges")}
    except pyogrio.errors.DataSourceError as exc:
        raise _gpkg_fail(path, exc) from None
    for layer, cols in (("nodes", ("osmid",)), ("edges", ("u", "v"))):
        missing = [c for c in cols if c not in fields[layer]]
        if missing:
            msg = f"road network GeoPackage {str(path)!r}: layer {layer!r} lacks column(s) {', '.join(missing)}"
            raise RoadNetworkError(msg, code="E-NET-PARSE")
    ids, x, y, node_crs = _read_gpkg_nodes(path)
    own = _check_declared(path, node_crs, declared)
    if own is None:
        msg = f"road network GeoPackage {str(path)!r} has no CRS"
        raise CRSError(msg + " (hint: declare it with crs = '...' in [networks.NAME])", code="E-CRS-MISSING")
    has_oneway = "oneway" in fields["edges"]
    rows = _EdgeRows(path, oneway=has_oneway)
    edge_crs = own if rows.crs is None else rows.crs
    if crs is None:
        lon, lat = Transformer.from_crs(own, 4326, always_xy=True).transform(x, y)
        crs = lonlat_work_crs(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    for src, ax, ay in ((own, x, y), (edge_crs, rows.cx, rows.cy)):
        if len(ax):
            Transformer.from_crs(src, crs, always_xy=True).transform(ax, ay, inplace=True)
    order = np.argsort(ids)
    pos_u = np.searchsorted(ids, rows.u, sorter=order)
    pos_v = np.searchsorted(ids, rows.v, sorter=order)
    u = order[np.clip(pos_u, 0, len(ids) - 1)]
    v = order[np.clip(pos_v, 0, len(ids) - 1)]
    known = (ids[u] == rows.u) & (ids[v] == rows.v)
    if not known.all():
        msg = f"road network GeoPackage {str(path)!r}: {int((~known).sum())} edge(s) refer to unknown nodes"
        raise RoadNetworkError(msg, code="E-NET-NODE")
    # osmnx saves undirected by default (one row per street, in either order), or directed (one row per
    # direction). Orient each row from u to v (the end of its line nearer u, as GEOS measures it); a two-way
    # street gets both directions and a one-way street the direction its line was drawn in.
    if has_oneway:
        sx, sy = rows.cx[rows.start[rows.line]], rows.cy[rows.start[rows.line]]
        lu, lv = u[rows.line], v[rows.line]
        starts_at_u = np.zeros(len(u), dtype=bool)
        starts_at_u[rows.line] = (np.sqrt((sx - x[lu]) ** 2 + (sy - y[lu]) ** 2)
                                  <= np.sqrt((sx - x[lv]) ** 2 + (sy - y[lv]) ** 2))
    else:
        starts_at_u = np.ones(len(u), dtype=bool)  # plain u -> v rows
    forward = ~rows.oneway | starts_at_u
    backward = ~rows.oneway | ~starts_at_u
    fwd, bwd = np.flatnonzero(forward), np.flatnonzero(backward)
    k_f, at_f = _interior(rows, fwd, ~starts_at_u[fwd])
    k_b, at_b = _interior(rows, bwd, starts_at_u[bwd])
    all_u = np.concatenate([u[fwd], v[bwd]])
    all_v = np.concatenate([v[fwd], u[bwd]])
    at = np.concatenate([at_f, at_b])
    del at_f, at_b
    w = np.full(len(all_u), np.nan)
    has_geom = np.concatenate([rows.count[fwd], rows.count[bwd]]) > 0
    n_interior = np.concatenate([k_f, k_b])
    inner_x, inner_y = rows.cx[at], rows.cy[at]
    del rows, at
    if has_geom.any():
        x2, y2, su, sv, length, _ = split_chains(x, y, all_u, all_v, w, n_interior, inner_x, inner_y)
    else:
        x2, y2, su, sv, length = x, y, all_u, all_v, np.hypot(x[all_v] - x[all_u], y[all_v] - y[all_u])
    node_ids = np.full(len(x2), -1, dtype=np.int64)
    node_ids[: len(ids)] = ids
    return network_from_arrays(x2, y2, su, sv, length, crs=crs, node_ids=node_ids)
