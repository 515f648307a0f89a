"""Evaluate a plan's targets against a dataset: one verdict per target and year.

Each result carries the measured ``actual``, the ``threshold``, the ``unit``, a
``status`` (``met``, ``not_met``, or ``unknown`` when the data needed is
missing, with the reason in ``note``) and a signed ``margin`` (positive on the
good side of the threshold).

Lengths and areas are measured in the dataset's metric working CRS
(:attr:`nbgeo.layers.Dataset.working_crs`, chosen from its extent), never in
degrees.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point
>>> from nbgeo.layers import Dataset
>>> from nbgeo.plan import Target
>>> g = gpd.GeoDataFrame({"type": ["charging"] * 3, "ports": [2, 4, 6], "year": [2021, 2022, 2026]},
...                      geometry=[Point(121.5, 29.9)] * 3, crs=4326)
>>> ds = Dataset.from_gdfs({"chargers": g})
>>> t = Target(id="c", layer="chargers", metric="count", threshold=2, unit="facilities")
>>> r = evaluate_target(t, ds, year=2025)[0]
>>> r.actual, r.status, r.margin
(2.0, 'met', 0.0)
>>> evaluate_target(Target(id="s", layer="roads", metric="length", threshold=1), ds, year=2025)[0].status
'unknown'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ._exact import ExactSum
from ._values import numbers_of
from .errors import MissingDataError
from .filters import filter_mask, year_mask
from .plan import AREA_UNITS, basis_of

if TYPE_CHECKING:
    import geopandas as gpd

    from .layers import Dataset
    from .plan import Plan, Target

__all__ = [
    "STATUSES",
    "TargetResult",
    "Terms",
    "evaluate_target",
    "evaluate_targets",
    "filter_mask",
    "needs_geometry",
    "target_frame",
    "target_result",
    "target_terms",
    "target_value",
    "target_years",
]

STATUSES = ("met", "not_met", "unknown")


@dataclass(frozen=True)
class TargetResult:
    """The verdict on one target for one year.

    ``actual`` and ``margin`` are None when the status is ``unknown``.
    """

    id: str
    layer: str
    metric: str
    year: int
    op: str
    threshold: float
    actual: float | None
    unit: str
    status: str
    margin: float | None
    title: str = ""
    phrase: str = ""
    note: str = ""
    proposed: bool = False
    severity: str = "限制"
    basis: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data, in the ``audit.json`` field order."""
        return asdict(self)


# --------------------------------------------------------------------------------------------------------------
# The metrics, defined once: what is counted and summed (on any rows), then the value from the totals
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What a target's metric counts and sums on some rows of its layer.

    Terms of disjoint slices of a layer add up (``a + b``) to the terms of
    the whole: the count is an integer and the sums are exact
    (:class:`nbgeo.engine.ExactSum`), so the value does not depend on how the
    rows were split. That is how the Dask engine measures targets partition
    by partition with the same definition as :func:`evaluate_target`.
    """

    count: int
    sums: ExactSum

    def __add__(self, other: Terms) -> Terms:
        return Terms(self.count + other.count, self.sums + other.sums)


def needs_geometry(target: Target) -> bool:
    """Whether the target's metric measures geometry (then its rows must be in the metric CRS)."""
    return target.metric in ("length", "area") or (target.metric == "share" and target.weight == "area")


def target_frame(target: Target, dataset: Dataset) -> gpd.GeoDataFrame:
    """The rows a target reads: its layer, in the metric working CRS when the metric measures geometry.

    Raises
    ------
    MissingDataError
        When the dataset has no such layer.
    """
    if target.layer not in dataset:
        msg = f"dataset has no layer {target.layer!r}"
        raise MissingDataError(msg, code="E-DATA-LAYER")
    return dataset.metric(target.layer) if needs_geometry(target) else dataset[target.layer]


def _column(gdf: gpd.GeoDataFrame, target: Target, year: int) -> np.ndarray:
    assert target.column is not None
    name = target.column.format(year=year)
    if name not in gdf.columns:
        msg = f"layer {target.layer!r} has no column {name!r}"
        raise MissingDataError(msg, code="E-DATA-COLUMN")
    return numbers_of(gdf[name], layer=target.layer, column=name, what=f"target {target.id!r}").to_numpy(
        dtype=np.float64, na_value=np.nan)


def target_terms(gdf: gpd.GeoDataFrame, target: Target, year: int) -> Terms:
    """The counts and sums that make a target's metric on some rows of its layer (the one definition).

    The rows counted are those of the evaluation ``year`` (:func:`nbgeo.filters.year_mask`) that match the
    target's ``where`` (:func:`nbgeo.filters.filter_mask`). Then, per metric:

    ``count``: how many; ``tier_count``: how many reach ``tier`` as their highest tier in ``column``;
    ``sum``: the sum of ``column``; ``length``, ``area``: the sum of the geometries' lengths or areas
    (metres, m²); ``share``: the sum of the ``weight`` of the rows that also match ``numerator`` (group 0)
    and of all of them (group 1). Missing values are skipped.

    Parameters
    ----------
    gdf
        Rows of the target's layer (all, or a partition), as :func:`target_frame` gives them.
    target, year
        The target and the evaluation year.

    Returns
    -------
    Terms

    Raises
    ------
    MissingDataError
        When a column the metric reads (value, weight or year column) is missing.
    FilterError
        When a filter does not fit the layer.
    """
    mask = (year_mask(gdf, year, column=target.year_column, mode=target.years, since=target.since,
                      layer=target.layer)
            & filter_mask(gdf, target.where, layer=target.layer, key=f"target {target.id!r}, key 'where'")).to_numpy()
    metric = target.metric
    if metric == "count":
        return Terms(int(mask.sum()), ExactSum.zeros(0))
    if metric == "tier_count":
        values = _column(gdf, target, year)[mask]
        # The highest tier whose lower bound a row reaches: counted once, there.
        bounds = sorted(target.tiers.items(), key=lambda kv: kv[1], reverse=True)
        highest = np.full(values.shape, None, dtype=object)
        for name, bound in reversed(bounds):
            highest[values >= bound] = name
        return Terms(int((highest == target.tier).sum()), ExactSum.zeros(0))
    if metric == "sum":
        values = _column(gdf, target, year)[mask]
    elif metric in ("length", "area"):
        measure = gdf.geometry.length if metric == "length" else gdf.geometry.area
        values = measure.to_numpy(dtype=np.float64, na_value=np.nan)[mask]
    else:  # share
        if target.weight == "area":
            weights = gdf.geometry.area.to_numpy(dtype=np.float64, na_value=np.nan)
        elif target.weight == "count":
            weights = np.ones(len(gdf))
        else:
            if target.weight not in gdf.columns:
                msg = f"layer {target.layer!r} has no weight column {target.weight!r}"
                raise MissingDataError(msg, code="E-DATA-COLUMN")
            weights = np.nan_to_num(numbers_of(gdf[target.weight], layer=target.layer, column=target.weight,
                                                 what=f"target {target.id!r}").to_numpy(dtype=np.float64, na_value=np.nan),
                                      nan=0.0, posinf=np.inf, neginf=-np.inf)
        part = mask & filter_mask(gdf, target.numerator, layer=target.layer,
                                  key=f"target {target.id!r}, key 'numerator'").to_numpy()
        codes = np.r_[np.zeros(int(part.sum()), dtype=np.int64), np.ones(int(mask.sum()), dtype=np.int64)]
        return Terms(0, ExactSum.of(codes, np.r_[weights[part], weights[mask]], 2))
    return Terms(0, ExactSum.of(np.zeros(len(values), dtype=np.int64), values, 1))


def target_value(target: Target, terms: Terms, year: int) -> float:
    """The metric's value from its terms (over the whole layer): km, ``unit`` areas, percentages.

    Raises
    ------
    MissingDataError
        For a ``share`` with no weight in the year (nothing to take a share of).
    """
    metric = target.metric
    if metric in ("count", "tier_count"):
        return float(terms.count)
    values = terms.sums.values()
    if metric == "sum":
        return float(values[0])
    if metric == "length":
        return float(values[0] / 1000.0)
    if metric == "area":
        return float(values[0] / AREA_UNITS[target.unit])
    part, total = float(values[0]), float(values[1])
    if total <= 0:
        msg = f"no {target.layer!r} features in {year}"
        raise MissingDataError(msg, code="E-DATA-EMPTY")
    return 100.0 * part / total


def target_result(target: Target, year: int, actual: float | None, note: str = "") -> TargetResult:
    """The verdict for a measured value (None: unknown, with the ``note`` saying why)."""
    if actual is None or not np.isfinite(actual):
        return TargetResult(
            id=target.id, layer=target.layer, metric=target.metric, year=year, op=target.op,
            threshold=target.threshold, actual=None, unit=target.unit, status="unknown", margin=None,
            title=target.title, phrase=target.phrase, note=note or "the measured value is not a finite number",
            proposed=target.proposed, severity=str(target.severity), basis=basis_of(target),
        )
    actual = round(actual, 6)
    return TargetResult(
        id=target.id, layer=target.layer, metric=target.metric, year=year, op=target.op,
        threshold=target.threshold, actual=actual, unit=target.unit,
        status="met" if target.compare(actual) else "not_met", margin=round(target.margin(actual), 6),
        title=target.title, phrase=target.phrase, note=note, proposed=target.proposed,
        severity=str(target.severity), basis=basis_of(target),
    )


def target_years(target: Target, year: int, plan: Plan | None = None) -> list[int]:
    """The years a target is judged in: ``year``, or for ``each_year`` every plan year up to it."""
    if target.years == "each_year":
        return [y for y in (plan.years if plan else (year,)) if y <= year] or [year]
    return [year]


def evaluate_target(target: Target, dataset: Dataset, *, year: int, plan: Plan | None = None) -> list[TargetResult]:
    """Evaluate one target for the evaluation ``year``.

    A ``cumulative`` target gives one result, at ``year``; an ``each_year``
    target gives one per year of the plan period up to ``year`` (or just
    ``year`` without a plan).

    Parameters
    ----------
    target
        The target.
    dataset
        The layers.
    year
        The evaluation year.
    plan
        The plan, for its period.

    Returns
    -------
    list of TargetResult
    """
    results = []
    for y in target_years(target, year, plan):
        try:
            actual: float | None = target_value(target, target_terms(target_frame(target, dataset), target, y), y)
        except MissingDataError as exc:
            actual, note = None, exc.message
        else:
            note = ""
        results.append(target_result(target, y, actual, note))
    return results


def evaluate_targets(plan: Plan, dataset: Dataset, *, year: int | None = None) -> list[TargetResult]:
    """Evaluate every target of a plan; ``year`` defaults to the plan's horizon.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> ds = io.read_dataset(datasets.get_path("ningbo"))
    >>> results = evaluate_targets(p, ds)
    >>> sorted({r.status for r in results}) == ["met", "not_met"]
    True
    """
    when = plan.horizon if year is None else year
    out: list[TargetResult] = []
    for target in plan.targets:
        out.extend(evaluate_target(target, dataset, year=when, plan=plan))
    return out
