"""Time reading a province's road network alone (issue 18, bottleneck 1): CPU, peak memory, a fingerprint.

    nice -n 5 .venv/bin/python bench/network_read.py bench/.cache/province-x10-seed2025 [--save OUT.npz]

Reads ``roads.gpkg`` with the working CRS the province's dataset.toml declares, into an empty disk cache
(so the conversion and the cache write are both measured), then reads it again from the cache. Prints one
JSON line: CPU seconds and peak RSS of the cold read, the warm read's CPU seconds, and a SHA-256 of the
network's arrays, so two versions of the reader can be compared for identical results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
import tomllib
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("province", type=Path)
    parser.add_argument("--save", type=Path, help="also save the network's arrays here (to diff two versions)")
    args = parser.parse_args()
    os.environ["NBGEO_CACHE_DIR"] = tempfile.mkdtemp(prefix="nbgeo-netread-")
    import numpy as np  # after the cache folder is chosen

    from nbgeo import limits, network

    toml = tomllib.loads((args.province / "dataset.toml").read_text())
    work = toml["crs"]["working"]
    path = args.province / "roads.gpkg"
    limits.max_input_bytes = max(limits.max_input_bytes, path.stat().st_size + 1)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    net = network.read_network(path, crs=work, source_crs="EPSG:4326")
    cpu1, wall1 = time.process_time(), time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    arrays = net.to_arrays()
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}{a.dtype.str}{a.shape}".encode())
        digest.update(a.data)
    if args.save:
        np.savez(args.save, **arrays)
    network.cache._MEMORY.clear()  # the warm read comes from the disk cache, not this process
    cpu2 = time.process_time()
    again = network.read_network(path, crs=work, source_crs="EPSG:4326")
    cpu3 = time.process_time()
    print(json.dumps({"file": str(path), "nodes": net.n_nodes, "edges": net.n_edges,
                      "cold_cpu_s": round(cpu1 - cpu0, 1), "cold_wall_s": round(wall1 - wall0, 1),
                      "peak_gib": round(peak, 2), "warm_cpu_s": round(cpu3 - cpu2, 1),
                      "same_after_cache": again.n_edges == net.n_edges, "sha256": digest.hexdigest()[:16]}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
