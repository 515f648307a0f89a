"""Helpers shared by the benchmarks: timing, and the row format of bench/results.json."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(fn: Callable[[], Any], *, repeat: int = 3) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def row(name: str, n: int, nbgeo_s: float, baseline: str | None, baseline_s: float | None,
        same_result: bool | None) -> dict[str, Any]:
    """One row of bench/results.json; ratio is baseline time over nbgeo time."""
    ratio = None if not baseline_s else round(baseline_s / nbgeo_s, 2)
    return {"name": name, "n": n, "nbgeo_s": round(nbgeo_s, 4), "baseline": baseline,
            "baseline_s": None if baseline_s is None else round(baseline_s, 4), "ratio": ratio,
            "same_result": same_result}


def merge_results(rows: list[dict]) -> Path:
    """Merge ``rows`` into bench/results.json, replacing rows of the same name."""
    out = Path(__file__).resolve().parent / "results.json"
    old = json.loads(out.read_text(encoding="utf-8")) if out.exists() else []
    names = {r["name"] for r in rows}
    merged = [r for r in old if r.get("name") not in names] + rows
    out.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
