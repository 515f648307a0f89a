"""Siting rules: for every site a verdict, the measured value, the limit, a signed margin and a reason.

A rule is declared in the plan as a ``[[rules]]`` table (see :class:`~nbgeo.plan.RuleSpec`)::

    [[rules]]
    id = "red_line_micro_parks"
    kind = "exclusion"
    layer = "micro_parks"                             # the sites checked
    against = "constraints"                           # the layer they are checked against
    against_where = { kind = "ecological_red_line" }
    max_area = 0                                      # m² of overlap allowed
    phrase = "生态保护红线内严格禁止开发性、生产性建设活动"

and evaluated by :func:`evaluate_rule`; the ``check_*`` functions do the work on
GeoDataFrames in one metric CRS and can be called directly.

Kinds
-----
============  =====================================================  ======================  =========
kind          measured value per site                                limit (parameter)       unit
============  =====================================================  ======================  =========
within        share of the site inside ``against`` (polygons,        ``min_share`` (100)     %
              lines); distance outside it (points)                   ``max_distance`` (0)    m
exclusion     overlap with ``against``: area (polygons), length      ``max_area`` (0) or     m², m, %
              (lines), depth inside (points); or its share           ``max_share``
setback       distance to the nearest ``against`` feature, against   ``distance``: a number  m
              that feature's class's distance                        or {class = metres}
spacing       distance to the nearest other site of the layer        ``min_distance``        m
access        distance to the nearest ``against`` feature            ``max_distance``        m
area          the site's area (or a column's value)                  ``min_area``/``max_area``  m², ha
slope         mean or max slope of the DEM over the site             ``max_slope``           %, degree
overlap       area the site shares with larger sites of the layer    ``max_area`` (0) or     m², %
                                                                     ``max_share``
============  =====================================================  ======================  =========

The margin is signed, positive on the good side: ``limit - value`` for upper
limits and ``value - limit`` for lower ones. A site fails when the margin is
negative. It is ``unknown`` when the data to measure it is missing (no DEM
under it, a missing layer) or when ``|margin| <= band``, the tolerance band:
the rule's ``tolerance`` (in its unit) or else ``settings.tolerance_band``
times the limit. A site at the natural bound of its measure (no overlap at all,
wholly inside) is certain and passes whatever the band.

Pairs of sites and the features they are checked against come from one
spatial-index query per rule (an STRtree over bounding boxes grown by the
distance that matters), followed by exact vectorised shapely measures on the
candidate pairs: there is no loop over sites. Distances beyond the limit and
band are not measured: such a site passes a setback or spacing rule with no
value (``NaN``; "nothing within ...").

For ``spacing`` and ``overlap`` a pair of sites breaks the rule once: only one
of the two fails, so excluding failing sites keeps one (a nested site is
counted once). ``keep = "first"`` lets the site listed first keep its place,
``keep = "larger"`` (overlap's default) the larger one, and ``keep = false``
fails both.

In an audit of a year (``nbgeo audit --year``, ``nbgeo rules --year``) only the sites that exist that year are
judged, against the features that existed then; later sites are counted apart, never failed
(:mod:`nbgeo.rules.years`, on the one year rule of :mod:`nbgeo.filters`).

Every distance, area and length is measured in one metric CRS
(:meth:`nbgeo.layers.Dataset.metric`); two inputs in different CRSs are an
error (:class:`~nbgeo.errors.CRSError`), never reprojected silently.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> sites = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(50, 0, 60, 10)], crs=3857, index=["a", "b"])
>>> red = gpd.GeoDataFrame(geometry=[box(8, 0, 30, 10)], crs=3857, index=["r1"])
>>> r = check_exclusion(sites, red, max_area=0)
>>> r.frame[["status", "value", "limit", "margin", "unit"]]
  status  value  limit  margin unit
a   fail   20.0    0.0   -20.0   m2
b   pass    0.0    0.0     0.0   m2
>>> r.reasons()["a"]
'overlaps r1 by 20 m² (20.0 % of the site); limit 0 m²'
"""

from __future__ import annotations

from .against import check_access, check_exclusion, check_setback, check_within
from .evaluate import evaluate_rule, evaluate_rules, failing_ids, filter_sites, without_failing
from .own import check_area, check_overlap, check_slope, check_spacing
from .result import KINDS, STATUSES, RuleResult
from .years import (
    RuleYear,
    dataset_in_year,
    evaluate_rules_in_year,
    later_counts,
    later_lines,
    rule_entries,
    rule_years,
)

__all__ = [
    "KINDS",
    "STATUSES",
    "RuleResult",
    "RuleYear",
    "check_access",
    "check_area",
    "check_exclusion",
    "check_overlap",
    "check_setback",
    "check_slope",
    "check_spacing",
    "check_within",
    "dataset_in_year",
    "evaluate_rule",
    "evaluate_rules",
    "evaluate_rules_in_year",
    "failing_ids",
    "filter_sites",
    "later_counts",
    "later_lines",
    "rule_entries",
    "rule_years",
    "without_failing",
]
