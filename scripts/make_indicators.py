"""Generate the illustrative yearly indicator table of the ``ningbo`` sample (``indicators.csv``).

The plan's non-spatial targets (R&D share 2.8 %, 8,000 high-tech firms,
100 single-champion firms, 1,000 green factories) need yearly values to be
checked. The real ones come from statistical yearbooks; this script **makes
them up**: each indicator starts from an invented 2020 value and grows by
invented yearly steps, each step scaled by seeded noise of a few per cent.

The steps are tuned so that a progress check has something to find in 2023:
the R&D share a little behind the straight path to 2.8 % (at risk), the green
factories far behind (off track, and still short of 1,000 in 2025), the other
two ahead. The file says it is illustrative in its first line, and the
manifest marks it ``illustrative = true``.

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
}

HEADER = ("# Illustrative, made up by scripts/make_indicators.py --seed {seed}: "
          "not real statistics of Ningbo. Values for 2020-2025.")


def generate(seed: int) -> dict[str, list[float]]:
    """The made-up yearly values of every indicator, by column.

    Each column draws from its own generator, seeded by ``(seed, column)``.
    """
    out: dict[str, list[float]] = {}
    for column, (start, steps, decimals, noise) in INDICATORS.items():
        rng = np.random.default_rng([seed, zlib.crc32(column.encode())])
        scale = 1.0 + noise * rng.standard_normal(len(steps))
        values = np.concatenate([[start], start + np.cumsum(np.asarray(steps) * scale)])
        out[column] = [round(float(v), decimals) for v in values]
    return out


def to_csv(values: dict[str, list[float]], seed: int) -> str:
    """The table as CSV text: a comment line, a header, one line per year."""
    lines = [HEADER.format(seed=seed), ",".join(["year", *values])]
    for i, year in enumerate(YEARS):
        cells = []
        for column, series in values.items():
            decimals = INDICATORS[column][2]
            cells.append(f"{series[i]:.{decimals}f}")
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
