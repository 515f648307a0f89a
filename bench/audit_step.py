"""Time one coverage requirement or rule of a province alone (issue 18): CPU, peak memory, its audit entries.

    nice -n 5 .venv/bin/python bench/audit_step.py bench/.cache/province-x10-seed2025 featured_parks_5g_500m \
        [--profile] [--save OUT.json]

Reads the dataset, the plan and (for a step by road) the network, not timed; then evaluates the coverage
requirement (with its service-area overlay) or the rule with that id as the audit does, and prints CPU
seconds, wall seconds and the peak RSS of the whole process as one JSON line; ``--save`` writes the entries
and a digest of the overlays' geometry, to compare two versions.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import json
import os
import pstats
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("province", type=Path)
    parser.add_argument("requirement", help="the id of a [[coverage]] requirement or a rule of the plan")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("NBGEO_CACHE_DIR", tempfile.mkdtemp(prefix="nbgeo-covstep-"))
    import shapely

    from nbgeo import io, limits, network
    from nbgeo import plan as plan_mod
    from nbgeo.coverage import evaluate_plan_coverage
    from nbgeo.rules import evaluate_rules

    limits.max_input_bytes = 2**40
    ds = io.read_dataset(args.province)
    plan = plan_mod.read_plan(args.province / "plan.toml")
    rule = next((r for r in plan.rules if r.id == args.requirement), None)
    req = next((c for c in plan.coverage if c.id == args.requirement), None)
    if rule is None and req is None:
        parser.error(f"no coverage requirement or rule {args.requirement!r} in the plan")
    if (rule or req).params.get("by", (rule or req).params.get("mode", "network")) in ("network", "road"):
        for name in network.dataset_networks(ds):
            network.read_dataset_network(ds, name)
    prof = cProfile.Profile() if args.profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    if rule is not None:
        results = evaluate_rules(dataclasses.replace(plan, rules=(rule,)), ds)
        rows, shapes = [r.to_dict() for r in results], {r.rule.id: r.offending() for r in results}
    else:
        rows, shapes = evaluate_plan_coverage(dataclasses.replace(plan, coverage=(req,)), ds, year=plan.horizon)
    if prof:
        prof.disable()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    digest = {title: hashlib.sha256(b"".join(shapely.to_wkb(gdf.geometry.values, hex=False))).hexdigest()[:16]
              for title, gdf in shapes.items()}
    out = {"step": args.requirement, "cpu_s": round(cpu1 - cpu0, 2), "wall_s": round(wall1 - wall0, 2),
           "peak_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2), "overlays": digest}
    print(json.dumps(out))
    if args.save:
        args.save.write_text(json.dumps({"entries": rows, "overlays": digest}, default=str, indent=1, sort_keys=True))
    if prof:
        pstats.Stats(prof).sort_stats(os.environ.get("SORT", "tottime")).print_stats(int(os.environ.get("TOP", "18")))


if __name__ == "__main__":
    main()
