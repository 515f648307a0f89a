"""The whole audit of a synthetic province (bench/scale.py), step by step, on each engine (issue 18).

``make bench-scale`` (``SCALE=10`` by default; ``SCALE=100`` for the ×100 province) runs:

1. **Steps, default engine**: in a fresh process, the audit as :func:`nbgeo.audit.run_audit` and
   ``nbgeo audit`` do it, one library step at a time: read the dataset (read and validate), read
   the plan, check its filters, read the road networks, each ``[[rules]]`` rule on its own, the
   targets, each ``[[coverage]]`` requirement on its own, the indicators, the progress, the map
   alone, then the report with its map as ``nbgeo audit --out`` writes it (audit.json and
   audit.html). Each step: wall time, CPU time and peak resident memory (sampled every 20 ms).
2. **Steps, Dask engine**: the same in another process on a local Dask cluster (2 worker
   processes, 1 thread each); CPU time adds the workers'; the workers' peak memory is reported
   per step (the largest resident set so far, per worker).
3. **CLI, default engine** and 4. **CLI, --scheduler**: the real ``nbgeo audit`` command
   end to end under ``/usr/bin/time`` (wall, CPU and peak memory of the largest process); the
   second pointed at a ``dask scheduler`` and a ``dask worker`` (2 processes) started here.

The road-network disk cache starts empty in every run (``NBGEO_CACHE_DIR`` is a fresh folder):
the figures include building the network. The audit.json of every run are compared with the
first (every section but the creation time and nbgeo's version): each row says what it
compares and whether the results are identical. Rows are merged into bench/results.json.

Run: ``nice -n 10 .venv/bin/python bench/province.py --factor 10 [--only steps-default,...]``.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import os
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

RUNS = ("steps-default", "steps-dask", "cli-default", "cli-scheduler")
IGNORED_KEYS = ("created", "nbgeo")  # differ between any two runs


# ---- measuring ------------------------------------------------------------------------------------

def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class _Sampler(threading.Thread):
    """This process's resident memory every 20 ms; ``peak`` since the last ``reset``."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _rss_bytes()
        self._stop = threading.Event()

    def reset(self) -> None:
        self.peak = _rss_bytes()

    def run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_bytes())

    def stop(self) -> None:
        self._stop.set()


class _Steps:
    """Times each step: wall, CPU (this process and, with Dask, the workers') and peak memory."""

    def __init__(self, client: Any = None, profile: bool = False, log: Path | None = None) -> None:
        self.client = client
        self.profile = profile
        self.log = log  # each step's row as a JSON line, as soon as it ends: a run that dies keeps what it measured
        self.rows: list[dict[str, Any]] = []
        self.sampler = _Sampler()
        self.sampler.start()

    def _worker_cpu(self) -> dict[str, float]:
        return self.client.run(time.process_time) if self.client is not None else {}

    def run(self, name: str, fn: Any, *, may_fail: bool = False) -> Any:
        """Run and time ``fn``; with ``may_fail``, running out of memory is recorded in the step and None returned."""
        print(f"#   {name} ...", file=sys.stderr, flush=True)
        self.sampler.reset()
        before = self._worker_cpu()
        prof = cProfile.Profile() if self.profile else None
        start, cpu = time.perf_counter(), time.process_time()
        failed = None
        try:
            result = fn() if prof is None else prof.runcall(fn)
        except Exception as exc:  # out of memory: MemoryError from numpy, or GEOS's std::bad_alloc
            if not may_fail or not (isinstance(exc, MemoryError) or "bad_alloc" in str(exc)):
                raise
            result, failed = None, f"{type(exc).__name__}: {exc}".strip()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        self.sampler.peak = max(self.sampler.peak, _rss_bytes())
        row: dict[str, Any] = {"step": name, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                               "peak_gib": round(self.sampler.peak / 2**30, 3)}
        if failed:
            row["failed"] = failed
        if prof is not None:
            row["hot"] = _hot(prof)
        if self.client is not None:
            after = self._worker_cpu()
            row["worker_cpu_s"] = round(sum(after[w] - before.get(w, 0.0) for w in after), 3)
            row["cpu_s"] = round(cpu + row["worker_cpu_s"], 3)
            row["worker_peak_gib"] = sorted(round(v, 3) for v in self.client.run(_peak_gib).values())
        print(f"#   {name}: {wall:.1f} s wall, {row['cpu_s']:.1f} s CPU, {row['peak_gib']:.2f} GiB", file=sys.stderr,
              flush=True)
        self.rows.append(row)
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
        return result


def _hot(prof: cProfile.Profile, n: int = 8) -> list[str]:
    """The ``n`` functions with the most time of their own in a step (cProfile; under it, times are inflated)."""
    stats = pstats.Stats(prof)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:n]  # type: ignore[attr-defined]
    return [f"{tt:.2f} s own, {ct:.2f} s with callees, {nc} calls: {Path(file).name}:{line} {func}"
            for (file, line, func), (_, nc, tt, ct, _) in rows]


def _input_mb(folder: Path) -> int:
    """MiB to allow per input file: the largest file of the province, rounded up (x100's roads.gpkg is 3.7 GB,
    over nbgeo's default limit of 2,048 MiB, ``E-LIMIT-SIZE``)."""
    return max(2048, *(-(-p.stat().st_size // 2**20) for p in folder.iterdir() if p.is_file()))


def _without_roads(plan: Any, unread: list[str], steps: _Steps) -> Any:
    """The plan without its rules and coverage by road (their network could not be read); noted as skipped steps."""
    rules = tuple(r for r in plan.rules if not (r.kind == "access" and r.params.get("by", "road") == "road"))
    cover = tuple(c for c in plan.coverage if c.params.get("mode", "network") != "network")
    for item in [*(r for r in plan.rules if r not in rules), *(c for c in plan.coverage if c not in cover)]:
        steps.rows.append({"step": f"{item.id} (by road)", "skipped": f"network(s) {', '.join(unread)} not read"})
    return dataclasses.replace(plan, rules=rules, coverage=cover)


def run_steps(folder: Path, out: Path, engine: str, profile: bool = False) -> dict[str, Any]:
    """The audit of ``folder`` step by step (see the module's docstring); writes out/audit.json, out/audit.html."""
    from nbgeo import io, maps, network, report
    from nbgeo import plan as plan_mod
    from nbgeo.audit import AuditReport, with_binding
    from nbgeo.coverage import evaluate_plan_coverage
    from nbgeo.filters import check_plan_filters
    from nbgeo.indicators import evaluate_indicators, table_for
    from nbgeo.progress import progress_section
    from nbgeo.rules import evaluate_rules_in_year, rule_entries
    from nbgeo.targets import evaluate_targets

    started = time.perf_counter()
    from nbgeo import limits

    limits.max_input_bytes = max(limits.max_input_bytes, _input_mb(folder) * 2**20)  # as --max-input-mb does
    out.mkdir(parents=True, exist_ok=True)
    steps = _Steps(profile=profile, log=out / "steps.jsonl")
    ds = steps.run("read dataset (read and validate every layer)", lambda: io.read_dataset(folder))
    plan = steps.run("read plan", lambda: plan_mod.read_plan(folder / "plan.toml"))
    steps.run("check plan filters", lambda: check_plan_filters(plan, ds))
    runner = None
    if engine != "default":
        from nbgeo.engine import get_engine

        runner = steps.run(f"start engine ({engine})", lambda: get_engine("dask", scheduler=None))
        steps.client = runner.client
    unread = []  # networks that did not fit in memory: the steps by road are then skipped, and say so
    for name in network.dataset_networks(ds):
        net = steps.run(f"read network {name!r} (cold cache)", lambda n=name: network.read_dataset_network(ds, n),
                        may_fail=True)
        if net is None:
            unread.append(name)
        else:
            steps.rows[-1]["network"] = {"nodes": net.n_nodes, "directed_edges": net.n_edges}
    if unread:
        plan = _without_roads(plan, unread, steps)
    when = plan.horizon
    rule_results = []
    rule_year: dict[str, Any] = {}
    for rule in plan.rules:
        # as run_audit: only the sites that exist in the audited year are judged (nbgeo.rules.years)
        one = dataclasses.replace(plan, rules=(rule,))
        found, years = steps.run(f"rule {rule.id} ({rule.kind})", lambda p=one: evaluate_rules_in_year(
            p, ds, when, evaluate=runner.evaluate_rules if runner else None))
        rule_results += found
        rule_year.update(years)
    targets = steps.run("targets", lambda: runner.evaluate_targets(plan, ds, year=when) if runner
                        else evaluate_targets(plan, ds, year=when))
    coverage_rows: list[dict[str, Any]] = []
    coverage_shapes: dict[str, Any] = {}
    for req in plan.coverage:
        one = dataclasses.replace(plan, coverage=(req,))
        found_rows, shapes = steps.run(f"coverage {req.id} ({req.params.get('mode')}, {req.params.get('distance')} m)",
                                       lambda p=one: evaluate_plan_coverage(p, ds, year=when, engine=runner))
        coverage_rows += found_rows
        coverage_shapes.update(shapes)
    sections: dict[str, Any] = {}
    if plan.indicators:
        sections["indicators"] = steps.run("indicators", lambda: evaluate_indicators(plan, table_for(ds), year=when))
    sections["progress"] = with_binding(plan, steps.run("progress", lambda: progress_section(plan, ds, as_of=when,
                                                                                          snapshots=None)))
    # The report as run_audit assembles it (the same section and overlay names; nbgeo has no public way to
    # build an AuditReport from parts evaluated one by one).
    if rule_results:
        sections["rules"] = rule_entries(rule_results, rule_year)
    offending = [(r, r.offending()) for r in rule_results]
    overlays: dict[str, Any] = {f"rule {r.rule.id}: {r.failed} fail, {r.unknown} unknown": shapes
                                for r, shapes in offending if len(shapes)}
    if plan.coverage:
        sections["coverage"] = coverage_rows
        overlays.update(coverage_shapes)
    result = AuditReport(plan=plan, dataset=ds, year=when, targets=tuple(targets), sections=sections,
                         overlays=overlays)
    out.mkdir(parents=True, exist_ok=True)
    steps.run("map alone (maps.audit_map + write_map)",
              lambda: maps.write_map(maps.audit_map(result), out / "map_alone.html"))
    steps.run("report with map (audit.json + audit.html, as nbgeo audit --out)",
              lambda: report.write_report(result, out, overwrite=True, with_map=True))
    if runner is not None:
        worker_peaks = sorted(runner.client.run(_peak_gib).values())
        runner.close()
    else:
        worker_peaks = []
    steps.sampler.stop()
    return {"steps": steps.rows, "total_wall_s": round(time.perf_counter() - started, 2),
            "total_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in steps.rows), 2), "peak_gib": round(_peak_gib(), 3),
            "worker_peak_gib": [round(v, 3) for v in worker_peaks],
            "sizes_mb": {p.name: round(p.stat().st_size / 1e6, 2) for p in sorted(out.glob("*.html"))}}


# ---- runs in fresh processes ----------------------------------------------------------------------

def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ, NBGEO_CACHE_DIR=str(cache), PYTHONUNBUFFERED="1")
    env.pop("NBGEO_DEFAULT_YEAR", None)
    return env


def _limit(gib: float | None) -> Any:
    """A preexec function capping a child's address space at ``gib`` GiB: a MemoryError, not the OOM killer."""
    if not gib:
        return None
    cap = int(gib * 2**30)
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _steps_subprocess(folder: Path, out: Path, engine: str, work: Path, memory_gib: float | None = None
                      ) -> dict[str, Any]:
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    proc = subprocess.run([sys.executable, __file__, "--steps", str(folder), "--out", str(out), "--engine", engine],
                          stdout=subprocess.PIPE, text=True, check=False, cwd=ROOT, env=_env(cache),
                          preexec_fn=_limit(memory_gib))
    if proc.returncode != 0:  # killed (e.g. out of memory) or failed: keep the steps it finished
        done = out / "steps.jsonl"
        rows = [json.loads(line) for line in done.read_text(encoding="utf-8").splitlines()] if done.exists() else []
        return {"error": f"exit {proc.returncode} during the step after the last one listed", "steps": rows,
                "total_wall_s": round(sum(r.get("wall_s", 0.0) for r in rows), 2),
                "total_cpu_s": round(sum(r.get("cpu_s", 0.0) for r in rows), 2)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _timed_cli(args: list[str], work: Path) -> dict[str, Any]:
    """``nbgeo audit ARGS`` under /usr/bin/time -v: wall, user + system CPU, the largest process's peak."""
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    nbgeo = str(Path(sys.executable).with_name("nbgeo"))
    proc = subprocess.run(["/usr/bin/time", "-v", nbgeo, "-q", "audit", *args], capture_output=True, text=True,
                          check=False, cwd=ROOT, env={**_env(cache), "NBGEO_STEPS": "lines"})
    err = proc.stderr
    # nbgeo's own steps (NBGEO_STEPS=lines, nbgeo.steps): the wall time of each, in the order they end
    steps = [{"step": m[3], "depth": int(m[1]), "wall_s": float(m[2])}
             for m in re.finditer(r"^nbgeo-step: (?:end|failed) (\d+) ([0-9.]+) (.+)$", err, re.M)]

    def grab(label: str) -> str:
        match = re.search(rf"{re.escape(label)}: (.+)", err)
        return match[1].strip() if match else ""

    parts = [float(p) for p in grab("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")] or [0.0]
    wall = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    out = {"exit": int(grab("Exit status") or proc.returncode), "wall_s": round(wall, 2),
           "cpu_s": round(float(grab("User time (seconds)") or 0) + float(grab("System time (seconds)") or 0), 2),
           "peak_gib": round(int(grab("Maximum resident set size (kbytes)") or 0) / 2**20, 3)}
    if steps:
        out["nbgeo_steps"] = steps
    if out["exit"] > 1:
        out["stderr"] = err[-2000:]
    return out


class _Cluster:
    """A ``dask scheduler`` and a ``dask worker`` (2 processes, 1 thread each) as subprocesses."""

    def __init__(self, work: Path) -> None:
        self.file = work / "scheduler.json"
        dask = str(Path(sys.executable).with_name("dask"))
        self.log = (work / "cluster.log").open("w", encoding="utf-8")
        common = {"cwd": ROOT, "stdout": subprocess.DEVNULL, "stderr": self.log}
        self.procs = [subprocess.Popen([dask, "scheduler", "--no-dashboard", "--port", "0", "--scheduler-file",
                                        str(self.file)], **common)]
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        self.procs.append(subprocess.Popen([dask, "worker", "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                                            "--scheduler-file", str(self.file)], **common))
        from distributed import Client

        with Client(self.address) as client:
            client.wait_for_workers(2, timeout=120)

    def worker_peaks(self) -> list[float]:
        from distributed import Client

        with Client(self.address) as client:
            return sorted(round(v, 3) for v in client.run(_peak_gib).values())

    def close(self) -> None:
        for proc in reversed(self.procs):  # only the processes started here, by their own handles
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.log.close()


def _comparable(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k not in IGNORED_KEYS}


def _first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}.{key}: only in one"
            diff = _first_difference(a[key], b[key], f"{where}.{key}")
            if diff:
                return diff
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = _first_difference(x, y, f"{where}[{i}]")
            if diff:
                return diff
        return None
    return None if a == b else f"{where}: {str(a)[:80]!r} vs {str(b)[:80]!r}"


def _loadavg() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (the runs share it; each row records them)."""
    with open("/proc/loadavg", encoding="ascii") as fh:
        return [float(v) for v in fh.read().split()[:3]]


def run(factor: int, only: tuple[str, ...] = RUNS, memory_gib: float | None = None, keep: Path | None = None,
        against: Path | None = None) -> list[dict[str, Any]]:
    """Build (or reuse) the ×``factor`` province and measure the runs; return result rows.

    ``keep``: a folder to copy each run's outputs (audit.json, audit.html, steps.jsonl) into, e.g. to open
    the real audit.html with bench/map_size.py --page; otherwise they are deleted with the work folder.
    ``against``: a run's outputs kept that way (``DIR/xN-RUN``) whose audit.json is the reference of every run
    here, so that runs too long to make in one sitting are still compared (e.g. ×100 on Dask against the
    ×100 ``nbgeo audit`` made before).
    """
    from _common import row
    from scale import build

    started = time.perf_counter()
    folder = build(factor)
    print(f"# province x{factor}: {folder} ({time.perf_counter() - started:.1f} s to build or find)", file=sys.stderr,
          flush=True)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    work = Path(tempfile.mkdtemp(prefix=f"nbgeo-province-x{factor}-"))
    size = f"x{factor} province ({manifest['features']['chargers']:,} chargers, " \
           f"{manifest['features']['base_stations_5g']:,} 5G stations, {manifest['network']['directed_edges']:,} edges)"
    results: dict[str, dict[str, Any]] = {}
    plan_arg = ["--plan", str(folder / "plan.toml"), "--max-input-mb", str(_input_mb(folder))]
    try:
        for name in only:
            out = work / name
            print(f"# {name} ...", file=sys.stderr, flush=True)
            load_before = _loadavg()
            if name.startswith("steps-"):
                results[name] = _steps_subprocess(folder, out, name.removeprefix("steps-"), work, memory_gib)
            elif name == "cli-default":
                results[name] = _timed_cli([str(folder), *plan_arg, "--out", str(out)], work)
            elif name == "cli-scheduler":
                cluster = _Cluster(work)
                try:
                    results[name] = _timed_cli([str(folder), *plan_arg, "--out", str(out), "--scheduler",
                                                cluster.address], work)
                    results[name]["worker_peak_gib"] = cluster.worker_peaks()
                    results[name]["cpu_note"] = ("cpu_s is the nbgeo process's only: the scheduler and workers are "
                                                 "not its children")
                finally:
                    cluster.close()
            results[name]["audit_json"] = (out / "audit.json").exists()
            results[name]["loadavg_before_after"] = [load_before, _loadavg()]
            html = out / "audit.html"
            if html.exists():
                results[name]["audit_html_mb"] = round(html.stat().st_size / 1e6, 2)
            if keep is not None and out.exists():
                shutil.copytree(out, keep / f"x{factor}-{name}", dirs_exist_ok=True)
            print(f"# {name}: {json.dumps({k: v for k, v in results[name].items() if k != 'steps'})}",
                  file=sys.stderr, flush=True)
        rows = []
        reference = next((n for n in only if results[n].get("audit_json")), None)
        ref = _comparable(work / reference / "audit.json") if reference else None
        if against is not None:
            reference = f"{against.name} (kept from an earlier run)"
            results[reference] = {}
            ref = _comparable(against / "audit.json")
        for name in only:
            r = results[name]
            same = diff = None
            if ref is not None and r.get("audit_json"):
                diff = _first_difference(ref, _comparable(work / name / "audit.json"))
                same = diff is None
            wall = r.get("total_wall_s", r.get("wall_s"))
            entry = row(f"scale audit {size}: {name}", manifest["features"]["chargers"], wall or 0.0,
                        None if name == reference else reference, None if name == reference or not reference
                        else results[reference].get("total_wall_s", results[reference].get("wall_s")), same)
            entry.update({"group": "scale", "factor": factor, "run": name,
                          "compares": "first run (reference)" if name == reference else
                          f"audit.json (every section but {', '.join(IGNORED_KEYS)}) against {reference}",
                          "difference": diff, **{k: v for k, v in r.items() if k != "audit_json"}})
            rows.append(entry)
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        print(f"\n## {r['name']}: {r.get('total_wall_s', r.get('wall_s'))} s wall, "
              f"{r.get('total_cpu_s', r.get('cpu_s'))} s CPU, peak {r.get('peak_gib')} GiB"
              f"{', workers ' + str(r['worker_peak_gib']) + ' GiB' if r.get('worker_peak_gib') else ''}; "
              f"identical to the reference: {r['same_result']}{'' if not r.get('difference') else ' (' + r['difference'] + ')'}")
        for s in r.get("nbgeo_steps", []):
            print(f"{'  ' * s['depth']}{s['step']}: {s['wall_s']:.1f} s wall")
        if r.get("steps"):
            print(f"{'step':<78} {'wall s':>8} {'CPU s':>8} {'peak GiB':>9}")
            for s in r["steps"]:
                if "wall_s" not in s:
                    print(f"{s['step'][:78]:<78} skipped: {s.get('skipped')}")
                    continue
                print(f"{s['step'][:78]:<78} {s['wall_s']:>8.2f} {s['cpu_s']:>8.2f} {s['peak_gib']:>9.2f}"
                      f"{'  FAILED: ' + s['failed'] if s.get('failed') else ''}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=int(os.environ.get("SCALE", "10")))
    parser.add_argument("--only", default=",".join(RUNS), help=f"comma-separated runs among {', '.join(RUNS)}")
    parser.add_argument("--memory-limit", type=float, default=None, metavar="GIB",
                        help="cap each step run's address space (a MemoryError is recorded, not the OOM killer)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="copy each run's outputs (audit.json, audit.html) into DIR/xN-RUN")
    parser.add_argument("--against", type=Path, default=None, metavar="DIR",
                        help="compare every run's audit.json with DIR/audit.json (a run kept by --keep)")
    parser.add_argument("--steps", type=Path, help=argparse.SUPPRESS)  # internal: one step run in this process
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="default", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="with --steps: cProfile each step, list its hot spots")
    args = parser.parse_args(argv)
    if args.steps:
        print(json.dumps(run_steps(args.steps, args.out, args.engine, profile=args.profile)))
        return 0
    from _common import merge_results

    only = tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = set(only) - set(RUNS)
    if unknown:
        parser.error(f"unknown run(s) {sorted(unknown)}; choose among {', '.join(RUNS)}")
    rows = run(args.factor, only, args.memory_limit, args.keep, args.against)
    print_table(rows)
    print(f"wrote {merge_results(rows)}")
    return 0 if all(r["same_result"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
