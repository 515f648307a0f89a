"""OpenStreetMap ways to drivable roads: which ways are roads for cars, which way they run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import osmium
from pyproj import Transformer

from ..errors import RoadNetworkError
from .build import lonlat_work_crs, network_from_arrays
from .graph import RoadNetwork

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Mapping


#: ``highway=*`` values that are not roads for cars (after osmnx's "drive" network type).
DRIVE_EXCLUDED = frozenset({
    "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway", "elevator",
    "escalator", "footway", "no", "path", "pedestrian", "planned", "platform", "proposed", "raceway",
    "razed", "rest_area", "service", "services", "steps", "track",
})
#: ``service=*`` values excluded from the drivable network.
_SERVICE_EXCLUDED = {
    "drive": frozenset({"alley", "driveway", "emergency_access", "parking", "parking_aisle", "private"}),
    "drive_service": frozenset({"emergency_access", "parking", "parking_aisle", "private"}),
}
#: The network types nbgeo reads from OSM data.
NETWORK_TYPES = ("drive", "drive_service")

_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ONEWAY_NO = frozenset({"no", "false", "0"})
#: Ways that are one-way unless tagged ``oneway=no`` (OSM wiki: Key:oneway, implied values).
_IMPLIED_ONEWAY_HIGHWAY = frozenset({"motorway"})
_IMPLIED_ONEWAY_JUNCTION = frozenset({"roundabout", "circular"})


def _way_direction(tags: Mapping[str, str]) -> int:
    """+1 one-way along the way, -1 one-way against it, 0 two-way."""
    oneway = tags.get("oneway", "").strip().lower()
    if oneway in _ONEWAY_FORWARD:
        return 1
    if oneway in _ONEWAY_BACKWARD:
        return -1
    if oneway in _ONEWAY_NO:
        return 0
    if tags.get("junction", "") in _IMPLIED_ONEWAY_JUNCTION or tags.get("highway", "") in _IMPLIED_ONEWAY_HIGHWAY:
        return 1
    return 0


def is_drivable(tags: Mapping[str, str], network_type: str = "drive") -> bool:
    """Whether an OSM way with these tags belongs to the network type.

    Examples
    --------
    >>> is_drivable({"highway": "residential"}), is_drivable({"highway": "footway"})
    (True, False)
    >>> is_drivable({"highway": "service"}), is_drivable({"highway": "service"}, "drive_service")
    (False, True)
    >>> is_drivable({"highway": "primary", "access": "private"})
    False
    """
    highway = tags.get("highway")
    if not highway:
        return False
    excluded = DRIVE_EXCLUDED - {"service"} if network_type == "drive_service" else DRIVE_EXCLUDED
    if highway in excluded or tags.get("area") == "yes":
        return False
    if tags.get("access") in ("private", "no") or tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no":
        return False
    return tags.get("service", "") not in _SERVICE_EXCLUDED[network_type]


def read_osm(path: Path, *, network_type: str, crs: str | None) -> RoadNetwork:
    """Read an OSM PBF or XML file with osmium: every vertex of every road is a node."""
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    way_len: list[int] = []
    way_dir: list[int] = []
    missing = negative = roads = 0
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            if not isinstance(way, osmium.osm.Way):  # the entity filter lets only ways through
                continue
            tags = {t.k: t.v for t in way.tags}
            if not is_drivable(tags, network_type):
                continue
            direction = _way_direction(tags)
            roads += 1
            # A way may refer to nodes missing from a clipped extract: cut it there.
            run = 0
            for node in way.nodes:
                loc = node.location
                if not loc.valid():
                    missing += 1
                    negative += node.ref < 0
                    if run:
                        way_len.append(run)
                        way_dir.append(direction)
                    run = 0
                    continue
                refs.append(node.ref)
                lons.append(loc.lon)
                lats.append(loc.lat)
                run += 1
            if run:
                way_len.append(run)
                way_dir.append(direction)
    except (RuntimeError, osmium.InvalidLocationError) as exc:  # parse errors; a coordinate that is no number
        msg = f"road network file {str(path)!r} cannot be read as OSM data: {exc}"
        raise RoadNetworkError(msg, code="E-NET-PARSE") from None
    if missing:
        log.warning("%s: %d way node(s) missing from the file; their ways were cut there", path, missing)
    segments = sum(n - 1 for n in way_len)
    if not segments:
        if not roads:
            why = "no ways with a drivable highway tag"
        elif negative:
            why = (f"its {roads:,} road ways refer to nodes with negative ids (as JOSM writes unsaved data), whose "
                   "locations nbgeo cannot look up; upload or renumber them")
        elif missing:
            why = f"its {roads:,} road ways refer to {missing:,} nodes that are not in the file (a clipped extract?)"
        else:
            why = f"its {roads:,} road ways have fewer than two nodes each: there is no road segment"
        msg = f"road network file {str(path)!r} has no {network_type!r} roads: {why}"
        raise RoadNetworkError(msg, code="E-NET-EMPTY")

    ref_arr = np.asarray(refs, dtype=np.int64)
    ids, first, inv = np.unique(ref_arr, return_index=True, return_inverse=True)
    node_lon, node_lat = np.asarray(lons)[first], np.asarray(lats)[first]
    if crs is None:
        crs = lonlat_work_crs(node_lon, node_lat)
    to_metric = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_metric.transform(node_lon, node_lat)
    lens = np.asarray(way_len, dtype=np.int64)
    dirs = np.repeat(np.asarray(way_dir, dtype=np.int64), lens - 1)
    # Consecutive vertices of the same way are the edges.
    link = np.ones(len(inv) - 1, dtype=bool)
    link[np.cumsum(lens)[:-1] - 1] = False
    a, b = inv[:-1][link], inv[1:][link]
    fwd = dirs >= 0
    bwd = dirs <= 0
    u = np.concatenate([a[fwd], b[bwd]])
    v = np.concatenate([b[fwd], a[bwd]])
    net = network_from_arrays(np.asarray(x), np.asarray(y), u, v, crs=crs, node_ids=ids)
    log.info("Read %d ways (%d one-way) from %s", len(lens), int((np.asarray(way_dir) != 0).sum()), path)
    return net
