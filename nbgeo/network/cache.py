"""The network cache: parsed networks kept in memory and on disk, keyed by the file's content."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _cache, settings
from ..errors import RoadNetworkError
from ..layers import LayerMeta
from .graph import CACHE_VERSION, RoadNetwork

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Sequence


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """The file's SHA-256, remembered per (path, size, modification time) so a big extract is hashed once."""
    st = path.stat()
    stamp = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if stamp not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[stamp] = h.hexdigest()
    return _HASHES[stamp]


_MEMORY: dict[tuple[str, LayerMeta], RoadNetwork] = {}


def cached_network(key_parts: Sequence[str], build: Any, meta: LayerMeta, *, use_cache: bool | None) -> RoadNetwork:
    """Return the network for a key from memory, the disk cache, or ``build()`` (then cache it).

    The disk cache (:mod:`nbgeo._cache`) verifies each entry against the key
    parts and the nbgeo version and signs it; an entry that fails is rebuilt.
    """
    key = hashlib.sha256("|".join((CACHE_VERSION, *key_parts)).encode()).hexdigest()[:32]
    # The same object for the same key and provenance: its reversed matrix, KD-tree and components,
    # built on first use, are then built once per process.
    if (key, meta) in _MEMORY:
        return _MEMORY[(key, meta)]
    if any(k == key for k, _ in _MEMORY):
        base = next(net for (k, _), net in _MEMORY.items() if k == key)
        _MEMORY[(key, meta)] = replace(base, meta=meta)
        return _MEMORY[(key, meta)]
    use = settings.use_cache if use_cache is None else use_cache
    parts = (CACHE_VERSION, *key_parts)
    arrays = _cache.read_entry("networks", parts) if use else None
    if arrays is not None:
        try:
            net = RoadNetwork.from_arrays(arrays, meta=meta)
        except RoadNetworkError as exc:
            log.warning("Ignoring the cached network %s: %s; rebuilding it", _cache.entry_path("networks", parts), exc)
        else:
            _MEMORY[(key, meta)] = net
            return net
    net = replace(build(), meta=meta)
    if use:
        _cache.write_entry("networks", parts, net.to_arrays())
    _MEMORY[(key, meta)] = net
    return net
