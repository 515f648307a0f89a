"""Siting optimisation: where new facilities serve the most demand, or all of it with the fewest sites.

An audit says what is missing; this module says where to add sites. Both
classic coverage location models run over a sparse coverage matrix
``a[i, j] = 1`` when candidate site ``j`` lies within the service distance
``r`` of demand point ``i``, by straight line or by road
(:func:`coverage_matrix`). Existing facilities are kept: the demand they serve
already counts as served. Candidate sites that fail one of the plan's siting
rules are removed before any solver sees them (:func:`site`).

Maximal covering (MCLP, Church and ReVelle 1974): at most ``k`` new sites that
serve the most demand weight ``w``. With ``x_j`` = 1 when site ``j`` is built
and ``y_i`` the share of demand point ``i`` served:

.. math::

   \\max \\sum_i w_i y_i \\quad\\text{s.t.}\\quad y_i \\le \\sum_j a_{ij} x_j,\\;
   \\sum_j x_j \\le k,\\; x_j \\in \\{0, 1\\},\\; 0 \\le y_i \\le 1

over the demand points no existing facility serves.

Set covering (LSCP, Toregas et al. 1971): the fewest new sites that serve a
share ``s`` of all demand weight ``W`` (``s = 1``: every demand point of
positive weight that any allowed site can reach; the others are reported as
uncoverable):

.. math::

   \\min \\sum_j x_j \\quad\\text{s.t.}\\quad \\sum_i w_i y_i \\ge s W - W_0,\\;
   y_i \\le \\sum_j a_{ij} x_j

where ``W_0`` is the weight existing facilities serve (with ``s = 1`` this is
the textbook ``sum_j a_ij x_j >= 1`` for every coverable ``i`` with ``w_i > 0``).
A demand point of weight 0 carries no demand: it counts in no share, so no site
is ever added for it alone, and a set covering answer that leaves such points
unserved says so in its note.

Capacity: when a site can serve at most ``c_j`` units of demand weight,
demand is divisible and assigned in fractions ``f_ij``:

.. math::

   \\sum_j f_{ij} \\le 1,\\quad \\sum_i w_i f_{ij} \\le c_j x_j,\\quad
   f_{ij} \\le x_j,\\quad \\text{objective } \\sum_{ij} w_i f_{ij}

Existing facilities take part in that assignment with their own capacity.
Whatever chose the sites, the demand is then assigned to them by the best
assignment (a transport LP, :func:`nbgeo.optimize.assignment.transport`), so no demand is
stranded that another assignment would serve.

Spacing conflicts: pairs of sites that must not both be chosen add
``x_a + x_b <= 1``. A full cover may then not exist; the exact solver then
returns the most weight that can be served, with the fewest sites.

Every answer is checked before it is returned: no conflict, at most ``k``
sites, the target met (or the shortfall explained), every site serving
something (a site that adds nothing is dropped), and ``status`` saying what
is proved (:class:`Solution`).

Solvers
-------
``"greedy"``
    Adds the site with the largest gain, one at a time. Coverage is
    submodular, so the textbook does this lazily (CELF, Leskovec et al. 2007:
    a priority queue of stale gains, re-evaluated only when they reach the
    top). nbgeo keeps every gain *exact* instead, at less cost: when a demand
    point becomes served, its weight is subtracted from the gain of every site
    that reaches it, in one vectorised scatter over its row of the matrix. Each
    (demand, site) pair is touched once in the whole run, and the next site is
    one ``argmax`` (ties go to the lowest index, as in the textbook). The MCLP
    answer is then improved by swaps (:func:`interchange`, every swap valued
    at once on sparse matrices) and comes with the Lagrangian bound
    (:func:`mclp_bound`), an upper bound on the optimum that can certify it
    without a MILP. The LSCP answer (every coverable
    demand point served, no capacity) comes from a Lagrangian heuristic
    (Beasley 1990; Caprara, Fischetti and Toth 1999) after the problem is
    shrunk without changing its optimum (dominated sites and implied demand
    points dropped, sites that alone reach a point taken): subgradient
    optimisation of the Lagrangian relaxation, covers built from its
    multipliers and pruned of redundant sites, then column fixing and
    refinement (:func:`_lagrangian_cover`), for up to ``time_budget``
    seconds. Its bound is a lower bound on the number of sites, so the answer
    says how far from the fewest it can be, and is certified optimal when it
    meets the bound. On the benchmark's 1,000 × 5,000 instances it finds the
    MILP's optimum (``make bench``). With conflicts between sites, a greedy
    with look-ahead and repair (:func:`nbgeo.optimize.spacing.cover_with_conflicts`)
    builds the cover, which then drops sites made redundant and tries to
    serve everything with one site fewer, again and again
    (:func:`shrink_cover`); when it finds no cover, the note says whether
    that is proved. With capacity, sites are added after the greedy while
    the best assignment falls short (:func:`nbgeo.optimize.assignment.augment`), then
    pruned. Partial (``share < 1``) LSCP keeps the greedy's answer.
``"milp"``
    The exact model above, solved by HiGHS (through
    :func:`scipy.optimize.milp`) after merging demand points that the same
    sites reach (their weights add up). If a time limit stops it, its best
    answer is checked and compared with the best heuristic answer (the
    Lagrangian heuristic for set covering, the greedy with swaps for maximal
    covering): the better valid one is returned, and :attr:`Solution.solver`
    and the note say whose it is. For small and medium instances, and to
    measure the heuristics' gap (``make bench``).

Examples
--------
Three demand points in a row, 0, 100 and 200 m; two candidates at 50 m and 200 m:

>>> import numpy as np
>>> from nbgeo import optimize
>>> demand = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]])
>>> sites = np.array([[50.0, 0.0], [200.0, 0.0]])
>>> m = optimize.coverage_matrix(demand, sites, 60)
>>> m.covers(0).tolist(), m.covers(1).tolist()
([0, 1], [2])
>>> best = optimize.maximal_covering(m, 1)
>>> best.sites.tolist(), best.objective
([0], 2.0)
>>> optimize.set_covering(m, method="milp").sites.tolist()
[0, 1]
"""

from __future__ import annotations

from .candidates import Screening, candidates_from_grid, candidates_from_network, screen_candidates
from .matrix import CoverageMatrix, coverage_matrix
from .problems import maximal_covering, set_covering
from .siting import BY, SitingResult, site
from .solution import METHODS, Solution
from .spec import SITING_KEYS, save_result, site_from_spec, write_result

__all__ = [
    "BY",
    "METHODS",
    "SITING_KEYS",
    "CoverageMatrix",
    "Screening",
    "SitingResult",
    "Solution",
    "candidates_from_grid",
    "candidates_from_network",
    "coverage_matrix",
    "maximal_covering",
    "save_result",
    "screen_candidates",
    "set_covering",
    "site",
    "site_from_spec",
    "write_result",
]
