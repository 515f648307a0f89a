"""Coverage: which demand sites are served by which facilities, by road or in a straight line.

Coverage answers the planner's question behind a count of chargers: *which
parks, districts and roads do they serve, within what distance?* Demand is
anything with a location and a weight: micro-parks and featured parks
(counted), industrial zones (by area), roads (by length), a population or
employment grid (by its value). Facilities are points (chargers, 5G
stations) or any geometry.

Coverage formula
----------------
Demand is split into *units* ``i`` with weights ``w_i`` (a site, a grid cell
of a zone, a piece of road) and a covered part ``c_i``:

.. math::

   \\text{share} = 100 \\cdot \\frac{\\sum_i c_i}{\\sum_i w_i}, \\qquad
   c_i = w_i \\cdot [\\, d(i, F) \\le r \\,]

where ``d(i, F)`` is the distance from unit ``i`` to the nearest facility,
``r`` the service distance, and ``[·]`` is 1 when true. In a straight line
(``by="straight"``) ``d`` is the planar distance in the metric working CRS (0 when a
facility lies inside a site); by road (``by="road"``) it is the road distance of
:func:`nbgeo.network.nearest_facility`, snapping included, travelled from the
site to the facility (one-way streets count). Road pieces are covered in part:
a piece of length ``L`` between nodes ``a`` and ``b`` is covered over
``min(L, (r - D_a)^+ + (r - D_b)^+)``, where ``D`` is the node's road distance
to the nearest facility and only directions open to traffic count
(:func:`road_coverage`).

Since a road is never shorter than the straight line between its ends,
network coverage is never above straight-line coverage, and the two agree
when every site lies on a straight road to its facility.

Examples
--------
>>> import geopandas as gpd, numpy as np
>>> from shapely import Point
>>> from nbgeo import coverage
>>> parks = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(900, 0), Point(3000, 0)], index=["P1", "P2", "P3"],
...                          crs="EPSG:32651")
>>> chargers = gpd.GeoDataFrame(geometry=[Point(100, 0)], index=["C1"], crs="EPSG:32651")
>>> cov = coverage.coverage(parks, chargers, distance=1000, by="straight")
>>> round(cov.share, 2), cov.uncovered().index.tolist()
(66.67, ['P3'])
"""

from __future__ import annotations

import warnings
from typing import Any

from ..deprecation import renamed_function
from .areas import service_areas
from .distances import BY, distances_within, site_distances
from .inputs import demand_units, grid_split_work, raster_demand
from .measure import Coverage, coverage, road_coverage
from .requirements import PLAN_MODES, SPEC_KEYS, evaluate_coverage, evaluate_plan_coverage, to_text

__all__ = [
    "BY",
    "PLAN_MODES",
    "SPEC_KEYS",
    "Coverage",
    "coverage",
    "demand_units",
    "distances_within",
    "evaluate_coverage",
    "evaluate_plan_coverage",
    "grid_split_work",
    "raster_demand",
    "road_coverage",
    "service_areas",
    "site_distances",
    "to_text",
]


#: Old names, kept for a while (they warn DeprecationWarning).
_OLD = {
    # Two different functions were called coverage_matrix; this one gives road or straight distances.
    "coverage_matrix": lambda: renamed_function(distances_within, "coverage_matrix", where=__name__),
    "MODES": lambda: tuple(PLAN_MODES),
}


def __getattr__(name: str) -> Any:
    if name not in _OLD:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    if name == "MODES":
        warnings.warn("nbgeo.coverage.MODES is deprecated; use nbgeo.coverage.BY ('road', 'straight') in Python, "
                      "nbgeo.coverage.PLAN_MODES for the words of a plan's mode key", DeprecationWarning, stacklevel=2)
    return _OLD[name]()
