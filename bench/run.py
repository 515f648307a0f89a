"""Run every benchmark (bench/bench_*.py), print one table, write bench/results.json.

Each benchmark module has ``run() -> list[dict]`` returning rows in the format of
``bench/_common.row``. Baselines are measured in the same run, so compare ratios,
not absolute times across machines. ``python bench/run.py NAME...`` runs only the
modules whose name contains one of the NAMEs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main(argv: list[str]) -> int:
    modules = sorted(HERE.glob("bench_*.py"))
    if argv:
        modules = [m for m in modules if any(a in m.stem for a in argv)]
    rows = []
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        start = time.perf_counter()
        print(f"# {path.stem} ...", file=sys.stderr, flush=True)
        rows.extend(module.run())
        print(f"# {path.stem} done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    header = f"{'benchmark':<46} {'n':>10} {'nbgeo s':>9} {'baseline':<34} {'base s':>9} {'ratio':>8} same"
    print(header)
    print("-" * len(header))
    for r in rows:
        base_s = "—" if r["baseline_s"] is None else f"{r['baseline_s']:.4f}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        same = {True: "yes", False: "NO", None: "—"}[r["same_result"]]
        print(f"{r['name']:<46} {r['n']:>10,} {r['nbgeo_s']:>9.4f} {(r['baseline'] or '—'):<34} {base_s:>9} "
              f"{ratio:>8} {same}")
    sized = [r for r in rows if r.get("nbgeo_mb") is not None]  # rows that also measure output size
    if sized:
        header = f"{'output size':<46} {'nbgeo MB':>10} {'baseline MB':>12} {'ratio':>8}"
        print()
        print(header)
        print("-" * len(header))
        for r in sized:
            ratio = "—" if r.get("size_ratio") is None else f"{r['size_ratio']:.1f}x"
            print(f"{r['name']:<46} {r['nbgeo_mb']:>10.3f} {r['baseline_mb']:>12.3f} {ratio:>8}")
    out = HERE / "results.json"
    out.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0 if all(r["same_result"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
