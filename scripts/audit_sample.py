"""Audit a dataset against the Ningbo 2025 plan and exit with the audit's code.

A script to copy and adapt for batch audits::

    python scripts/audit_sample.py [DATASET] [--out DIR] [--year YEAR]

Exit 0 when every target is met, 1 when one is not, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys

import nbgeo
from nbgeo import report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default=str(nbgeo.datasets.get_path("ningbo")))
    parser.add_argument("--plan", default=str(nbgeo.datasets.get_path("ningbo_2025")))
    parser.add_argument("--out", default="out")
    parser.add_argument("--year", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        dataset = nbgeo.read_dataset(args.dataset)
        plan = nbgeo.read_plan(args.plan)
        result = nbgeo.run_audit(dataset, plan, year=args.year)
        report.write_report(result, args.out, overwrite=True, with_map=False)
    except nbgeo.NbgeoError as exc:
        print(f"error {exc.code}: {exc}", file=sys.stderr)
        return 2
    df = result.to_dataframe()
    for row in df[df.status != "met"].itertuples():
        print(f"{row.id} {row.year}: {row.actual} {row.op} {row.threshold} {row.unit} -> {row.status}")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
