"""Helpers shared by the benchmarks: timing, and the row format of bench/results.json."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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
