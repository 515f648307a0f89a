"""Exact sums of float64 values, mergeable across partitions (:class:`ExactSum`).

Plumbing shared by :mod:`nbgeo.targets` (every target's sums) and :mod:`nbgeo.engine` (the
partitioned steps); it imports nothing from nbgeo. The public name is
:class:`nbgeo.engine.ExactSum`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ExactSum"]

_SHIFT = 1126  # 2**-1126 is the smallest unit of a float64 written as (53-bit integer) * 2**e
_EXP_SLOTS = 2200  # exponents e + _SHIFT lie in [0, 2100)
_HALF = 26


@dataclass
class ExactSum:
    """The exact sum of float64 values per group, mergeable across partitions.

    Each float is an integer times a power of two, so a sum of floats is an
    integer multiple of ``2**-1126``: it is accumulated as a Python integer
    (vectorised: integer mantissas are added per group and exponent in
    ``int64``, split in halves so nothing overflows), and converted to a float
    only at the end, correctly rounded. The result is the same for any order
    or partitioning of the values. NaNs are skipped (as pandas ``sum`` does);
    infinities give ``inf``, ``-inf`` or NaN (both signs).

    Examples
    --------
    >>> s = ExactSum.of(np.array([0, 0, 0]), np.array([1e16, 1.0, -1e16]), 1)
    >>> s.values().tolist(), float(np.sum([1e16, 1.0, -1e16]))
    ([1.0], 0.0)
    >>> a = ExactSum.of(np.array([0, 1]), np.array([0.1, 0.2]), 2)
    >>> b = ExactSum.of(np.array([0]), np.array([0.7]), 2)
    >>> (a + b).values().tolist()
    [0.7999999999999999, 0.2]
    """

    numerators: list[int]
    pos_inf: list[int] = field(default_factory=list)
    neg_inf: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.numerators)
        self.pos_inf = self.pos_inf or [0] * n
        self.neg_inf = self.neg_inf or [0] * n

    @classmethod
    def zeros(cls, groups: int) -> ExactSum:
        """An empty sum over ``groups`` groups."""
        return cls([0] * groups)

    @classmethod
    def of(cls, groups: np.ndarray, values: np.ndarray, ngroups: int) -> ExactSum:
        """Sum ``values`` per group code (``0 <= groups < ngroups``)."""
        out = cls.zeros(ngroups)
        values = np.asarray(values, dtype=np.float64)
        groups = np.asarray(groups, dtype=np.int64)
        finite = np.isfinite(values)
        if not finite.all():
            for sign, target in ((np.inf, out.pos_inf), (-np.inf, out.neg_inf)):
                counts = np.bincount(groups[values == sign], minlength=ngroups)
                for g in np.flatnonzero(counts):
                    target[g] += int(counts[g])
            values, groups = values[finite], groups[finite]
        nonzero = values != 0.0
        values, groups = values[nonzero], groups[nonzero]
        if not len(values):
            return out
        mantissa, exponent = np.frexp(values)
        whole = (mantissa * 2.0**53).astype(np.int64)  # exact: |whole| < 2**53
        shift = exponent.astype(np.int64) - 53 + _SHIFT  # >= 0 for every float64
        sign = np.sign(whole)
        magnitude = np.abs(whole)
        high = sign * (magnitude >> _HALF)
        low = sign * (magnitude & ((1 << _HALF) - 1))
        key = groups * _EXP_SLOTS + shift
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        high_sums = np.add.reduceat(high[order], starts)  # each term < 2**27: safe for 2**36 values
        low_sums = np.add.reduceat(low[order], starts)
        nums = out.numerators
        for k, h, lo in zip(key[starts].tolist(), high_sums.tolist(), low_sums.tolist(), strict=True):
            g, s = divmod(k, _EXP_SLOTS)
            nums[g] += ((h << _HALF) + lo) << s
        return out

    def __add__(self, other: ExactSum) -> ExactSum:
        return ExactSum([a + b for a, b in zip(self.numerators, other.numerators, strict=True)],
                        [a + b for a, b in zip(self.pos_inf, other.pos_inf, strict=True)],
                        [a + b for a, b in zip(self.neg_inf, other.neg_inf, strict=True)])

    def cumulative(self) -> ExactSum:
        """Running sums over the groups in order (exact)."""
        nums, pos, neg = [], [], []
        n = p = m = 0
        for a, b, c in zip(self.numerators, self.pos_inf, self.neg_inf, strict=True):
            n, p, m = n + a, p + b, m + c
            nums.append(n)
            pos.append(p)
            neg.append(m)
        return ExactSum(nums, pos, neg)

    def values(self) -> np.ndarray:
        """The sums as float64, each correctly rounded."""
        out = np.empty(len(self.numerators))
        for i, (num, pos, neg) in enumerate(zip(self.numerators, self.pos_inf, self.neg_inf, strict=True)):
            if pos and neg:
                out[i] = math.nan
            elif pos or neg:
                out[i] = math.inf if pos else -math.inf
            else:
                try:
                    out[i] = num / (1 << _SHIFT)  # int / int is correctly rounded in Python
                except OverflowError:
                    out[i] = math.inf if num > 0 else -math.inf
        return out
