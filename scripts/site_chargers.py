"""How many new chargers, and where, bring every micro-park within 1 km of one?

The sample's audit finds micro-parks with no charging facility within 1 km by road. This script
answers the planner's next question with the plan's siting question ``chargers_for_micro_parks``:
the fewest new sites that serve every park, chosen among road nodes that pass the plan's siting
rules for chargers (not in water or the red line, inside the city, 20 m from any other charger).
It prints the answer per district and writes into OUT:

* ``sites.gpkg``: the chosen sites, every candidate with its verdict, every park before and after;
* ``sites.csv``: the chosen sites with their coordinates, district and the parks each one serves.

Compare the answer by road with the straight-line one (``--straight``): roads bend and streets are
one-way, so more sites are needed. Exit code 0 when every park can be served, 1 when some cannot
(no allowed candidate reaches them), 2 for bad input.

Usage::

    python scripts/site_chargers.py --out maps/chargers
    python scripts/site_chargers.py --out out --straight --distance 800 --exact
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbgeo import _atomic, datasets, io, optimize, plan
from nbgeo.cli import echo  # prints without the escape sequences data may hold
from nbgeo.errors import NbgeoError
from nbgeo.plan import SitingSpec
from nbgeo.sanitize import to_csv


def site_chargers(*, dataset: Path | None, out: Path, straight: bool, distance: float | None, exact: bool) -> int:
    ds = io.read_dataset(dataset or datasets.get_path("ningbo"))
    p = plan.read_plan(datasets.get_path("ningbo_2025"))
    question = next(s for s in p.siting if s.id == "chargers_for_micro_parks")
    if distance is not None:  # the same question at another distance
        question = SitingSpec(id=question.id, title=question.title, params={**question.params, "distance": distance})
    result, _ = optimize.site_from_spec(question, ds, p, by="straight" if straight else None,
                                        candidates="grid" if straight else None,
                                        method="milp" if exact else None)
    sol = result.solution
    how = "by road" if result.by == "road" else "in a straight line"
    echo(f"{question.title} ({how}, {result.distance:,.0f} m)")
    echo(f"  {len(result.chosen)} new sites ({sol.method}, {sol.status}): parks served "
          f"{100 * sol.share_before:.1f}% -> {100 * sol.share_after:.1f}%  [{result.status}]")
    echo(f"  candidates: {result.candidate_source}; {len(result.candidates):,} considered, "
          f"{int((result.candidates['status'] == 'fail').sum()):,} fail a siting rule")
    table = result.by_district[["sites", "share_before", "share_after", "new_sites"]].round(1)
    echo(table.to_string())
    for note in (sol.note, *result.notes):
        if note:
            echo(f"  note: {note}")
    optimize.write_result([result], out / "sites.gpkg", overwrite=True)
    served = result.demand[result.demand["newly_served"]].groupby("new_site").size()
    rows = result.chosen.assign(lon=result.chosen.geometry.x.round(6), lat=result.chosen.geometry.y.round(6),
                                parks=served.reindex(result.chosen.index, fill_value=0))
    csv = to_csv(rows[["order", "lon", "lat", "district", "parks"]].rename_axis("id"))
    _atomic.write_text(out / "sites.csv", csv, overwrite=True)
    echo(f"wrote {out / 'sites.gpkg'} and {out / 'sites.csv'}")
    return 0 if result.status == "met" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=None, help="dataset folder (default: the sample)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--straight", action="store_true", help="straight-line distance, grid candidates")
    parser.add_argument("--distance", type=float, default=None, help="service distance in metres (default 1000)")
    parser.add_argument("--exact", action="store_true", help="solve exactly (HiGHS) whatever the size")
    args = parser.parse_args(argv)
    try:
        return site_chargers(dataset=args.dataset, out=args.out, straight=args.straight, distance=args.distance,
                             exact=args.exact)
    except NbgeoError as exc:
        echo(f"error {exc.code}: {exc}", err=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
