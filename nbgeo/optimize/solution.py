"""What the solvers return (:class:`Solution`) and the instance they solve, prepared from the inputs."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from ..errors import InputError
from .assignment import assign_exact
from .matrix import CoverageMatrix, hstack_matrices

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray


log = logging.getLogger(__name__)

#: The solvers :func:`maximal_covering` and :func:`set_covering` accept.
METHODS = ("greedy", "milp", "auto")

#: ``method="auto"`` solves exactly up to this many (merged) coverage pairs, greedily above.
AUTO_MILP_MAX_PAIRS = 200_000

EPS = 1e-9


# --------------------------------------------------------------------------------------------------------------
# Solutions
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Solution:
    """The answer of a siting model, index-based (see :class:`SitingResult` for the geographic one).

    Attributes
    ----------
    problem
        ``"mclp"`` (maximal covering) or ``"lscp"`` (set covering).
    method
        ``"greedy"`` (heuristics only) or ``"milp"`` (the exact solver was run).
    solver
        Whose answer this is: ``"highs"`` (the exact solver), ``"lagrangian"``
        (the set covering heuristic), ``"greedy"`` or ``"greedy+swaps"`` (the
        greedy improved by swaps). When the exact solver was run but another
        answer is returned, :attr:`note` says why.
    sites
        Indices of the chosen sites, in the order the greedy adds them (for an
        exact answer, the greedy order among the chosen sites). Every site
        serves something the others do not: a site that adds nothing is dropped.
    gains
        Demand weight each chosen site adds, in that order (each > 0); with
        capacity, the weight assigned to it in the final assignment.
    weights
        Demand weight of every demand point.
    served_before, served
        Share of each demand point's weight served by existing facilities
        alone, and once the chosen sites are added (0 or 1 without capacity).
    coverable
        Demand points that an existing facility or an allowed site can reach.
    objective
        Weight the new sites add: ``weights @ (served - served_before)``.
    bound
        For MCLP, an upper bound on the best ``objective`` with ``k`` sites
        (the MILP's dual bound or the Lagrangian one, the smaller; None for a
        greedy answer with capacity); for LSCP, a lower bound on the number of
        sites (the MILP's, or the Lagrangian heuristic's rounded up; None for
        the other greedy answers). When no answer can meet the target, the
        bound is on the sites that serve the most that can be.
    status
        ``"optimal"`` (proved: the answer meets its bound), ``"within_gap"``
        (the exact solver stopped within ``mip_gap`` of its bound),
        ``"time_limit"`` (the exact solver stopped at its time limit; the best
        answer known is returned) or ``"heuristic"`` (no proof either way).
    target
        LSCP: the weight the sites had to serve in total; MCLP: None.
    runtime_s
        Solver wall time in seconds.
    note
        Anything a reader should know (e.g. why fewer than ``k`` sites were chosen), in English.
    note_parts
        The same notes for readers in any language: one ``{"key", "values"}`` per note, the key a ``note.*``
        entry of :mod:`nbgeo.renderers.labels` (clauses joined with ``+``), worded by
        :func:`nbgeo.renderers.readable.note_text`.
    """

    problem: str
    method: str
    solver: str
    sites: NDArray[np.int64]
    gains: NDArray[np.float64]
    weights: NDArray[np.float64]
    served_before: NDArray[np.float64]
    served: NDArray[np.float64]
    coverable: NDArray[np.bool_]
    objective: float
    bound: float | None
    status: str
    runtime_s: float
    target: float | None = None
    k: int | None = None
    note: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    note_parts: tuple[dict[str, Any], ...] = ()

    @property
    def total_weight(self) -> float:
        """Weight of all demand."""
        return float(self.weights.sum())

    @property
    def weight_before(self) -> float:
        """Weight served by existing facilities alone."""
        return float(self.weights @ self.served_before)

    @property
    def weight_after(self) -> float:
        """Weight served once the chosen sites are added."""
        return float(self.weights @ self.served)

    @property
    def share_before(self) -> float:
        """Share of the demand weight served before, in [0, 1]."""
        total = self.total_weight
        return self.weight_before / total if total > 0 else 1.0

    @property
    def share_after(self) -> float:
        """Share of the demand weight served after, in [0, 1]."""
        total = self.total_weight
        return self.weight_after / total if total > 0 else 1.0

    @property
    def gap(self) -> float | None:
        """Relative distance to the bound: ``(bound - objective) / bound`` (MCLP) or ``(sites - bound) / sites`` (LSCP)."""
        if self.bound is None:
            return None
        if self.problem == "mclp":
            return 0.0 if self.bound <= EPS else max(0.0, (self.bound - self.objective) / self.bound)
        n = len(self.sites)
        return 0.0 if n == 0 else max(0.0, (n - math.ceil(self.bound - 1e-6)) / n)

    @property
    def met(self) -> bool:
        """LSCP: whether the target weight is served; MCLP: whether every coverable demand point of weight > 0 is."""
        if self.target is not None:
            return self.weight_after >= self.target - EPS * max(1.0, self.target)
        return bool(np.all(self.served[self.coverable & (self.weights > 0)] >= 1 - 1e-9))


# --------------------------------------------------------------------------------------------------------------
# Problem preparation
# --------------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Instance:
    """One problem, with existing facilities already applied."""

    matrix: CoverageMatrix
    weights: NDArray[np.float64]
    capacity: NDArray[np.float64] | None  # per candidate site
    existing: CoverageMatrix | None
    existing_capacity: NDArray[np.float64] | None
    served_before: NDArray[np.float64]
    coverable: NDArray[np.bool_]
    conflicts: sparse.csr_array | None = None

    @property
    def capacitated(self) -> bool:
        """Whether new sites have a capacity."""
        return self.capacity is not None

    def with_existing(self, sites: NDArray[np.int64] | None = None) -> tuple[CoverageMatrix, NDArray[np.float64]]:
        """The candidate columns (all, or ``sites``) then the existing facilities', and their capacities."""
        assert self.capacity is not None
        mat = self.matrix if sites is None else self.matrix.subset(sites)
        cap = self.capacity if sites is None else self.capacity[sites]
        if self.existing is None or self.existing.n_sites == 0:
            return mat, cap
        assert self.existing_capacity is not None
        return hstack_matrices(mat, self.existing), np.concatenate((cap, self.existing_capacity))


def _as_capacity(value: ArrayLike | None, n: int, what: str) -> NDArray[np.float64] | None:
    if value is None:
        return None
    cap = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    if np.isnan(cap).any() or (cap < 0).any():
        msg = f"{what} must be >= 0 (use inf for unlimited), got min {np.nanmin(cap) if cap.size else 0!r}"
        raise InputError(msg, code="E-OPT-CAPACITY")
    return cap


def _conflict_graph(conflicts: ArrayLike | None, n: int) -> sparse.csr_array | None:
    """Pairs of sites that must not both be chosen, as a symmetric 0/1 matrix."""
    if conflicts is None:
        return None
    pairs = np.asarray(conflicts, dtype=np.int64).reshape(-1, 2)
    if pairs.size == 0:
        return None
    if pairs.min() < 0 or pairs.max() >= n:
        msg = f"conflicts name sites outside 0..{n - 1}"
        raise InputError(msg, code="E-OPT-CONFLICTS")
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    a, b = np.concatenate((pairs[:, 0], pairs[:, 1])), np.concatenate((pairs[:, 1], pairs[:, 0]))
    graph = sparse.csr_array((np.ones(a.size), (a, b)), shape=(n, n))
    graph.sum_duplicates()
    graph.data[:] = 1.0
    return graph


def prepare(
    matrix: CoverageMatrix,
    weights: ArrayLike | None,
    existing: CoverageMatrix | ArrayLike | None,
    capacity: ArrayLike | None,
    existing_capacity: ArrayLike | None,
    conflicts: ArrayLike | None = None,
) -> Instance:
    """The instance the solvers work on, every input checked (weights, existing sites, capacities, conflicts)."""
    if not isinstance(matrix, CoverageMatrix):
        msg = f"matrix must be a CoverageMatrix (see coverage_matrix), got {type(matrix).__name__}"
        raise InputError(msg, code="E-OPT-INPUT")
    m = matrix.n_demand
    if weights is None:
        w = np.ones(m, dtype=np.float64)
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (m,):
            msg = f"weights must have one value per demand point ({m}), got {w.size}"
            raise InputError(msg, code="E-OPT-WEIGHTS")
        if not np.isfinite(w).all() or (w < 0).any():
            msg = "weights must be finite and >= 0"
            raise InputError(msg, code="E-OPT-WEIGHTS")
    served_mask = None
    if existing is not None and not isinstance(existing, CoverageMatrix):
        # Only which demand points existing facilities serve is known: enough without capacity.
        served_mask = np.asarray(existing, dtype=bool).ravel()
        if served_mask.shape != (m,):
            msg = f"existing must be a CoverageMatrix or one flag per demand point ({m}), got {served_mask.size}"
            raise InputError(msg, code="E-OPT-MATRIX")
        if capacity is not None or existing_capacity is not None:
            msg = "with capacity, existing facilities must be given as a CoverageMatrix (who they can serve)"
            raise InputError(msg, code="E-OPT-CAPACITY")
        existing = None
    if existing is not None and existing.n_demand != m:
        msg = f"the existing facilities' matrix has {existing.n_demand} demand points, the candidates' {m}"
        raise InputError(msg, code="E-OPT-MATRIX")
    cap = _as_capacity(capacity, matrix.n_sites, "capacity")
    ecap = None
    if existing is not None and (cap is not None or existing_capacity is not None):
        ecap = _as_capacity(existing_capacity if existing_capacity is not None else capacity, existing.n_sites,
                            "existing_capacity")
        if cap is None:  # only the existing facilities are limited; new sites are not
            cap = np.full(matrix.n_sites, np.inf)
    coverable = matrix.covered()
    if existing is not None:
        coverable |= existing.covered()
    if served_mask is not None:
        coverable |= served_mask
        before = served_mask.astype(np.float64)
    elif existing is None or existing.n_sites == 0:
        before = np.zeros(m, dtype=np.float64)
    elif ecap is None:
        before = existing.covered().astype(np.float64)
    else:
        before, _ = assign_exact(existing, w, ecap)
    return Instance(matrix=matrix, weights=w, capacity=cap, existing=existing, existing_capacity=ecap,
                     served_before=before, coverable=coverable, conflicts=_conflict_graph(conflicts, matrix.n_sites))
