"""Siting audit of one layer: is every site where it may be, and if not, why?

Evaluates the plan's siting rules that check LAYER (exclusion, setback, slope, ...), prints each rule's
verdict with the failing sites and their reasons, and writes into OUT:

* ``<layer>_sites.csv``: every site under every rule (status, value, limit, margin, unit, reason);
* ``<layer>_siting.html``: an offline map of the layer, the layers its rules check against, and the
  failing sites with their offending geometry (the overlap, the line to the nearest sensitive site).

Exit code 0 when every site passes, 1 when one fails or is unknown, 2 for bad input.

Usage::

    python scripts/siting_audit.py micro_parks --out maps/siting
    python scripts/siting_audit.py chargers --dataset data/zones --plan data/plans/ningbo_2025.toml --out out
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from nbgeo import _atomic, audit, datasets, io, maps, paths, plan, rules
from nbgeo.cli import echo  # prints without the escape sequences data may hold
from nbgeo.errors import NbgeoError
from nbgeo.sanitize import to_csv


def siting_audit(layer: str, *, dataset: Path | None, plan_path: Path | None, out: Path, lang: str) -> int:
    ds = io.read_dataset(dataset or datasets.get_path("ningbo"))
    full_plan = plan.read_plan(plan_path or datasets.get_path("ningbo_2025"))
    specs = tuple(r for r in full_plan.rules if r.layer == layer)
    if not specs:
        layers = sorted({r.layer for r in full_plan.rules})
        echo(f"the plan has no siting rule for layer {layer!r}; rules check: {', '.join(layers)}", err=True)
        return 2
    # A plan of these rules alone: the audit then holds only their verdicts and overlays.
    only = plan.Plan(id=f"{full_plan.id}:{layer}", title=f"{full_plan.title} — {layer}", baseline=full_plan.baseline,
                     horizon=full_plan.horizon, rules=specs, source=full_plan.source)
    report = audit.run_audit(ds, only)
    results = [rules.evaluate_rule(spec, ds) for spec in specs]

    for spec, result in zip(specs, results, strict=True):
        echo(f"{spec.id} ({spec.kind}): {result.status} — {result.checked:,} sites, {result.failed} fail, "
              f"{result.unknown} unknown")
        echo(f"  {spec.phrase}")
        for finding in result.findings()[:10]:
            echo(f"  {finding['feature_id']} {finding['status']}: {finding['reason']}")

    sites = pd.concat([r.table.assign(rule=r.rule.id) for r in results if r.checked])
    sites = sites.rename_axis("feature_id").reset_index()
    columns = ["feature_id", "rule", "status", "value", "limit", "margin", "unit", "other", "reason"]
    # The layer name becomes part of the file names: the one builder keeps them inside OUT.
    csv_file, html_file = paths.output_path(out, layer, "_sites.csv"), paths.output_path(out, layer, "_siting.html")
    csv_path = _atomic.write_text(csv_file, to_csv(sites[columns], index=False), overwrite=True)
    against = [str(s.params["against"]) for s in specs if s.params.get("against") in ds]
    shown = list(dict.fromkeys([layer, *against]))
    html_path = maps.write_map(maps.audit_map(report, layers=shown, lang=lang), html_file, overwrite=True)
    echo(f"wrote {csv_path} and {html_path}")
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layer", help="the layer whose sites are audited, e.g. micro_parks")
    parser.add_argument("--dataset", type=Path, default=None, help="dataset folder (default: the embedded sample)")
    parser.add_argument("--plan", dest="plan_path", type=Path, default=None, help="plan file (default: embedded)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the CSV and the map")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    args = parser.parse_args(argv)
    try:
        return siting_audit(args.layer, dataset=args.dataset, plan_path=args.plan_path, out=args.out, lang=args.lang)
    except NbgeoError as exc:
        echo(f"siting_audit: error {exc.code}: {exc}", err=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
