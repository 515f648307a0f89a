"""Generate the illustrative yearly indicator table of the ``ningbo`` sample (``indicators.csv``).

The plan's non-spatial targets (R&D share 2.8 %, 8,000 high-tech firms, 100
single-champion firms, 1,000 green factories, and every other quantified
target of the published text: firms by size, patents, standards, investment,
...) need yearly values to be checked. The real ones come from statistical
yearbooks; this script **makes them up**:

* a *level* (an indicator judged in the year, ``years = "horizon"``) starts from
  an invented 2020 value and grows by invented yearly steps, each step scaled
  by seeded noise of a few per cent (:data:`INDICATORS`);
* a *flow* (what each year added, for ``years = "cumulative"`` and
  ``"each_year"``) is an invented value per year, scaled by seeded noise
  (:data:`FLOWS`);
* an *index* of another column (2020 = 100) is computed from it (:data:`INDEXES`).

The values are tuned so that a check has something to find: in 2023 the R&D
share is a little behind the straight path to 2.8 % (at risk), the green
factories far behind (off track, and still short of 1,000 in 2025); the
dataset README lists which of the others are met in 2025. The file says it is
illustrative in its first line, and the manifest marks it ``illustrative = true``.

Usage::

    python scripts/make_indicators.py [--seed 2025] [--out nbgeo/datasets/ningbo/indicators.csv]
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nbgeo import _atomic  # noqa: E402

DEFAULT_OUT = REPO / "nbgeo" / "datasets" / "ningbo" / "indicators.csv"
YEARS = range(2020, 2026)

#: column: (made-up 2020 value, made-up yearly steps 2021-2025, decimals, relative noise of each step)
INDICATORS: dict[str, tuple[float, tuple[float, ...], int, float]] = {
    "rd_share": (2.20, (0.12, 0.11, 0.11, 0.13, 0.15), 2, 0.02),
    "high_tech_firms": (3100, (950, 1000, 1100, 1000, 1150), 0, 0.03),
    "single_champions": (64, (9, 10, 8, 7, 6), 0, 0.03),
    "green_factories": (300, (90, 90, 80, 90, 110), 0, 0.03),
    # The other quantified targets of the published text, judged in the year (years = "horizon").
    "landmark_chains_output": (14200, (1000, 1150, 1250, 1200, 1350), 0, 0.02),
    "clusters_246_index": (100, (9.5, 7.0, 7.5, 8.0, 9.0), 1, 0.02),
    "little_giants": (180, (60, 80, 90, 100, 110), 0, 0.03),
    "rd_spending_index": (100, (17, 16, 18, 20, 22), 1, 0.02),
    "firms_5bn": (62, (6, 7, 8, 9, 10), 0, 0.0),
    "firms_10bn": (30, (3, 4, 4, 5, 5), 0, 0.0),
    "firms_50bn": (7, (1, 1, 2, 2, 2), 0, 0.0),
    "firms_100bn": (3, (1, 0, 1, 1, 1), 0, 0.0),
    "fortune_global_500": (0, (0, 0, 0, 1, 0), 0, 0.0),
    "china_manufacturing_500": (14, (1, 1, 1, 2, 2), 0, 0.0),
    "listed_market_value": (8800, (1500, 1300, 1400, 1500, 1800), 0, 0.02),
    "refinancing_index": (100, (25, 20, 22, 18, 20), 1, 0.02),
    "fangshui_output_index": (100, (18, 19, 20, 22, 25), 1, 0.02),
    "fangshui_tax_index": (100, (14, 15, 16, 17, 18), 1, 0.02),
    "industrial_firms": (8800, (250, 300, 300, 350, 350), 0, 0.02),
    "industrial_internet_coverage": (55, (10, 10, 9, 8, 6), 1, 0.0),
    "supos_projects": (260, (120, 150, 160, 170, 190), 0, 0.02),
    "industrial_apps": (120, (70, 80, 80, 90, 100), 0, 0.02),
    "alliance_members": (38, (6, 7, 8, 9, 9), 0, 0.0),
    "digital_core_share": (9.0, (1.0, 1.1, 1.2, 1.3, 1.3), 1, 0.0),
    "integrated_circuits_output": (520, (80, 90, 100, 110, 130), 0, 0.02),
    "water_use_index": (94.0, (-1.0, -1.0, -1.2, -1.1, -1.0), 1, 0.0),
    "solid_waste_reuse": (97.2, (0.3, 0.4, 0.4, 0.4, 0.4), 1, 0.0),
    "patents_per_10bn_revenue": (105, (8, 9, 9, 10, 11), 0, 0.02),
    "invention_patents": (26000, (3500, 3800, 4000, 4200, 4500), 0, 0.02),
    "china_quality_award": (0, (0, 0, 0, 0, 0), 0, 0.0),
    "innovation_centres": (0, (0, 1, 0, 0, 0), 0, 0.0),
    "digital_economy_index": (100, (18, 20, 20, 22, 26), 1, 0.02),
    "big_strong_firms_index": (100, (15, 17, 18, 20, 22), 1, 0.02),
    "fdi_index": (100, (12, 18, 20, 22, 25), 1, 0.02),
}

#: column: (made-up values added in each year 2020-2025, decimals, relative noise of each value).
#: For ``years = "cumulative"`` (the years after 2020 added up) and ``"each_year"`` indicators.
FLOWS: dict[str, tuple[tuple[float, ...], int, float]] = {
    "national_clusters": ((0, 1, 2, 1, 1, 0), 0, 0.0),
    "core_technologies": ((78, 92, 104, 96, 108, 112), 0, 0.0),
    "research_institutes": ((15, 18, 20, 22, 21, 23), 0, 0.0),
    "national_tech_centres": ((1, 2, 2, 3, 1, 2), 0, 0.0),
    "provincial_tech_centres": ((8, 9, 10, 11, 9, 8), 0, 0.0),
    "new_listed_firms": ((9, 14, 12, 8, 7, 6), 0, 0.0),
    "small_to_large": ((280, 320, 310, 290, 300, 330), 0, 0.0),
    "tech_smes": ((550, 600, 640, 610, 580, 620), 0, 0.0),
    "internet_platforms": ((1, 2, 2, 3, 2, 2), 0, 0.0),
    "industrial_investment": ((1000, 1150, 1230, 1260, 1220, 1250), 0, 0.02),
    "standards_national": ((80, 95, 100, 105, 98, 110), 0, 0.0),
    "zhejiang_made_standards": ((25, 30, 28, 32, 30, 27), 0, 0.0),
    "pct_patents": ((70, 85, 95, 100, 110, 120), 0, 0.0),
}

#: column: the column it indexes (2020 = 100).
INDEXES: dict[str, str] = {"single_champions_index": "single_champions"}

HEADER = ("# Illustrative, made up by scripts/make_indicators.py --seed {seed}: "
          "not real statistics of Ningbo. Values for 2020-2025.")


def _rng(seed: int, column: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(column.encode())])


def generate(seed: int) -> dict[str, list[float]]:
    """The made-up yearly values of every indicator, by column.

    Each column draws from its own generator, seeded by ``(seed, column)``.
    """
    out: dict[str, list[float]] = {}
    for column, (start, steps, decimals, noise) in INDICATORS.items():
        scale = 1.0 + noise * _rng(seed, column).standard_normal(len(steps))
        values = np.concatenate([[start], start + np.cumsum(np.asarray(steps) * scale)])
        out[column] = [round(float(v), decimals) for v in values]
    for column, (flows, decimals, noise) in FLOWS.items():
        scale = 1.0 + noise * _rng(seed, column).standard_normal(len(flows))
        out[column] = [round(float(v), decimals) for v in np.asarray(flows) * scale]
    for column, base in INDEXES.items():
        series = np.asarray(out[base])
        out[column] = [round(float(v), 1) for v in 100 * series / series[0]]
    return out


def _decimals(column: str) -> int:
    if column in INDICATORS:
        return INDICATORS[column][2]
    return FLOWS[column][1] if column in FLOWS else 1


def to_csv(values: dict[str, list[float]], seed: int) -> str:
    """The table as CSV text: a comment line, a header, one line per year."""
    lines = [HEADER.format(seed=seed), ",".join(["year", *values])]
    for i, year in enumerate(YEARS):
        cells = [f"{series[i]:.{_decimals(column)}f}" for column, series in values.items()]
        lines.append(",".join([str(year), *cells]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    text = to_csv(generate(args.seed), args.seed)
    _atomic.write_text(args.out, text, overwrite=True)
    return args.out


if __name__ == "__main__":
    print(main())
