"""How big audit.html is and how long it takes to open, for the sample and a tiled province (issues 16, 18).

For each dataset: run the audit, write ``audit.html`` exactly as ``nbgeo audit --out`` does
(:func:`nbgeo.report.write_report`), then open it in headless Chromium (nbgeo.renderers.chromium,
offline flags, a fresh profile per page) and read, from the page itself, the time from the start of
navigation to the map being drawn (``nbgeoReadyAt``, set by map.js when ``nbgeo.attach`` returns;
the median of ``--loads`` loads). Also the standalone map (``nbgeo map``) and what takes the bytes:
the largest layers of the map's spec.

``--tiled N`` (default 100) adds the sample's audit tiled ×N in memory: every layer and every finding
of the audit copied N times on a grid, ids numbered on as bench/scale.py does; no audit is run, so it
measures the map and the page a ×N audit would give (its findings are the sample's, N times), not the
audit's run time.

The province is the one of ``bench/scale.py`` (``--factor N``; built once into ``bench/.cache``,
a few minutes at ×10). Its audit takes minutes of its own (roads by network at ×10); it is not
timed here: ``bench/province.py`` times it. Prints a table; writes nothing but into ``--work``.

Run: ``nice -n 10 .venv/bin/python bench/map_size.py --factor 10`` (``--factor 1`` for the sample only).
``--page PATH`` (repeatable) only sizes and opens pages already written, e.g. the real ×100 audit.html
that ``bench/province.py --factor 100 --only cli-default --keep DIR`` kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from nbgeo import audit, datasets, io, maps, plan, report  # noqa: E402
from nbgeo.renderers import chromium  # noqa: E402


def _open_ms(browser: chromium.Browser, path: Path, loads: int) -> tuple[float, list[str]]:
    times, errors = [], []
    for _ in range(loads):
        with browser.page(1600, 1000) as page:
            rep = browser.load(page, path, timeout=120.0, settle=0.1)
            if not rep.ready:
                return float("nan"), [*rep.errors, "not ready within 120 s"]
            errors += rep.errors + rep.external_requests
            times.append(float(browser.evaluate(page, "window.nbgeoReadyAt")))
    return statistics.median(times), errors


def _layer_bytes(spec: dict[str, Any]) -> list[tuple[str, int, int, bool]]:
    """(layer id, features, bytes of its JSON, aggregated) for the 5 largest layers of a map spec."""
    sizes = [(str(lyr["id"]), int(lyr["count"]), len(json.dumps(lyr, ensure_ascii=False).encode()), bool(lyr["agg"]))
             for lyr in spec["layers"]]
    return sorted(sizes, key=lambda s: -s[2])[:5]


def _tile(gdf: gpd.GeoDataFrame, n: int, step: tuple[float, float], id_column: str | None = None
          ) -> gpd.GeoDataFrame:
    """``gdf`` copied ``n`` times on a grid of ``ceil(sqrt(n))`` columns, ``step`` degrees apart; ids
    ``PREFIX`` + number numbered on from copy to copy (``CH00001`` -> ``CH0000001``, ...) as bench/scale.py does."""
    cols = math.ceil(math.sqrt(n))
    k = np.repeat(np.arange(n), len(gdf))
    geoms = np.tile(np.asarray(gdf.geometry.values), n)
    _, where = shapely.get_coordinates(geoms, return_index=True)
    offsets = np.column_stack([(k % cols) * step[0], (k // cols) * step[1]])[where]
    moved = shapely.transform(geoms, lambda c: c + offsets)
    out = gpd.GeoDataFrame(pd.DataFrame({c: np.tile(gdf[c].to_numpy(), n) for c in gdf.columns
                                         if c != gdf.geometry.name}), geometry=moved, crs=gdf.crs)

    def renumber(values: Any) -> list[str]:
        ids = [str(v) for v in values]
        digits = [len(i) - len(i.rstrip("0123456789")) for i in ids]
        if not ids or not all(digits):
            return [f"{i}-{c}" for i, c in zip(np.tile(ids, n), k, strict=True)]
        width = max(digits) + len(str(n - 1))
        nums = np.tile([int(i[len(i) - d:]) for i, d in zip(ids, digits, strict=True)], n) + k * len(ids)
        prefixes = np.tile([i[: len(i) - d] for i, d in zip(ids, digits, strict=True)], n)
        return [f"{p}{m:0{width}d}" for p, m in zip(prefixes, nums, strict=True)]

    if id_column is not None:
        out[id_column] = renumber(gdf[id_column])
    else:
        out.index = pd.Index(renumber(gdf.index) if not isinstance(gdf.index, pd.RangeIndex) else range(len(out)))
    out.attrs = dict(gdf.attrs)
    return out


def tiled_audit(result: Any, n: int) -> Any:
    """The sample's audit, its layers and its overlays tiled ×n in memory (no new audit: only the map is measured)."""
    ds = result.dataset
    x0, y0, x1, y1 = ds["districts"].total_bounds
    step = (x1 - x0 + 0.05, y1 - y0 + 0.05)
    layers = {name: dataclasses.replace(layer, gdf=_tile(layer.gdf, n, step)) for name, layer in ds.layers.items()}
    overlays = {title: _tile(g, n, step, "feature_id" if "feature_id" in g.columns else None)
                for title, g in result.overlays.items() if g is not None and len(g)}
    return dataclasses.replace(result, dataset=dataclasses.replace(ds, layers=layers), overlays=overlays)


def measure_tiled(result: Any, n: int, work: Path, loads: int) -> dict[str, Any]:
    """The map of the sample's audit tiled ×n (its audit.html as write_report writes it), sized and opened."""
    print(f"# tiled x{n}: tiling the sample's audit in memory ...", file=sys.stderr, flush=True)
    big = tiled_audit(result, n)
    return _pages(f"tiled x{n}", big, work, loads, audit_s=float("nan"))


def measure(name: str, folder: Path | None, plan_path: Path, work: Path, loads: int) -> dict[str, Any]:
    ds = io.read_dataset(folder) if folder is not None else io.read_sample()
    print(f"# {name}: auditing ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = audit.run_audit(ds, plan.read_plan(plan_path))
    audit_s = time.perf_counter() - start
    row = _pages(name, result, work, loads, audit_s=audit_s)
    row["result"] = result
    return row


def _pages(name: str, result: Any, work: Path, loads: int, *, audit_s: float) -> dict[str, Any]:
    ds = result.dataset
    out = work / name
    start = time.perf_counter()
    report.write_report(result, out, formats=("html",), overwrite=True)
    write_s = time.perf_counter() - start
    maps.write_map(maps.audit_map(result), out / "map.html", overwrite=True)
    spec = maps.map_spec(ds, report=result)
    with chromium.Browser(timeout=180.0) as browser:
        report_ms, report_errors = _open_ms(browser, out / "audit.html", loads)
        map_ms, map_errors = _open_ms(browser, out / "map.html", loads)
    return {"name": name, "features": sum(len(ds[n]) for n in ds.names), "audit_s": audit_s, "write_s": write_s,
            "audit_html_mb": (out / "audit.html").stat().st_size / 1e6, "report_ms": report_ms,
            "map_html_mb": (out / "map.html").stat().st_size / 1e6, "map_ms": map_ms,
            "sites": len(spec["sites"]["items"]) if spec["sites"] else 0, "errors": report_errors + map_errors,
            "largest": _layer_bytes(spec)}


def open_pages(paths: list[Path], loads: int) -> int:
    """Size and open pages already written (no audit run); prints one line per page."""
    with chromium.Browser(timeout=180.0) as browser:
        for path in paths:
            ms, errors = _open_ms(browser, path, loads)
            print(f"{path}: {path.stat().st_size / 1e6:.2f} MB, opens in {ms:.0f} ms (median of {loads} loads)"
                  f"{'; page errors or requests: ' + str(errors[:5]) if errors else ''}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=10, help="also the province tiled ×N (1: the sample only)")
    parser.add_argument("--tiled", type=int, default=100, help="also the sample's audit tiled ×N in memory, "
                        "layers and findings (the map of a ×N audit without running one; 0: not)")
    parser.add_argument("--loads", type=int, default=3, help="loads per page (the median is printed)")
    parser.add_argument("--work", type=Path, default=None, help="where the pages go (default: a temporary folder)")
    parser.add_argument("--page", type=Path, action="append", default=[],
                        help="only open this page already written (repeatable), e.g. a real audit.html")
    args = parser.parse_args(argv)
    if chromium.find_chromium() is None:
        print("no Chromium: install it (apt-get install chromium) or set NBGEO_CHROMIUM", file=sys.stderr)
        return 2
    if args.page:
        return open_pages(args.page, args.loads)
    work = args.work or Path(tempfile.mkdtemp(prefix="nbgeo-map-size-"))
    runs = [("sample", None, datasets.get_path("ningbo_2025"))]
    if args.factor > 1:
        import scale  # bench/scale.py: builds the province once, or says where it is

        folder = scale.build(args.factor)
        runs.append((f"x{args.factor}", folder, folder / "plan.toml"))
    rows = [measure(name, folder, plan_path, work, args.loads) for name, folder, plan_path in runs]
    if args.tiled > 1:
        rows.append(measure_tiled(rows[0]["result"], args.tiled, work, args.loads))
    head = (f"{'dataset':<11} {'features':>10} {'audit.html MB':>14} {'open ms':>8} {'map.html MB':>12} "
            f"{'open ms':>8} {'sites':>6} {'write s':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['name']:<11} {r['features']:>10,} {r['audit_html_mb']:>14.2f} {r['report_ms']:>8.0f} "
              f"{r['map_html_mb']:>12.2f} {r['map_ms']:>8.0f} {r['sites']:>6} {r['write_s']:>8.1f}")
    for r in rows:
        print(f"\n{r['name']}: largest layers of the map (id, features, JSON bytes, counts per cell):")
        for lid, n, size, agg in r["largest"]:
            print(f"  {lid:<24} {n:>10,} {size / 1e6:>8.2f} MB {'cells' if agg else ''}")
        if r["errors"]:
            print(f"  page errors or requests: {r['errors'][:5]}")
    print(f"\nopen ms: navigation start to the map drawn (median of {args.loads}); pages in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
