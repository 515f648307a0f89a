"""Evaluate a plan's targets against a dataset: one verdict per target and year.

Each result carries the measured ``actual``, the ``threshold``, the ``unit``, a
``status`` (``met``, ``not_met``, or ``unknown`` when the data needed is
missing, with the reason in ``note``) and a signed ``margin`` (positive on the
good side of the threshold).

Lengths and areas are measured in the metric working CRS
(:func:`nbgeo.crs.working_crs`), never in degrees.

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

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .plan import AREA_UNITS

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

    from .layers import Dataset
    from .plan import Plan, Target

__all__ = ["STATUSES", "TargetResult", "evaluate_target", "evaluate_targets", "filter_mask"]

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data, in the ``audit.json`` field order."""
        return asdict(self)


class _Unknown(Exception):
    """Internal: the data needed to measure a target is missing."""


def filter_mask(gdf: gpd.GeoDataFrame, where: Mapping[str, Any], *, layer: str = "") -> pd.Series:
    """Boolean mask of the rows matching every ``{column: value(s)}`` filter.

    Examples
    --------
    >>> import geopandas as gpd
    >>> g = gpd.GeoDataFrame({"status": ["built", "planned", "upgraded"]})
    >>> filter_mask(g, {"status": ("built", "upgraded")}).tolist()
    [True, False, True]
    """
    mask = pd.Series(True, index=gdf.index)
    for column, wanted in where.items():
        if column not in gdf.columns:
            msg = f"layer {layer!r} has no column {column!r} used in a filter"
            raise _Unknown(msg)
        values = wanted if isinstance(wanted, (tuple, list)) else (wanted,)
        mask &= gdf[column].isin(values)
    return mask


def _year_mask(gdf: gpd.GeoDataFrame, target: Target, year: int) -> pd.Series:
    if not target.year_column:
        return pd.Series(True, index=gdf.index)
    if target.year_column not in gdf.columns:
        msg = f"layer {target.layer!r} has no year column {target.year_column!r}"
        raise _Unknown(msg)
    years = pd.to_numeric(gdf[target.year_column], errors="coerce")
    if target.years == "each_year":
        mask = years == year
    else:
        mask = years <= year
        if target.since is not None:
            mask &= years >= target.since
    return mask.fillna(False).astype(bool)


def _column(gdf: gpd.GeoDataFrame, target: Target, year: int) -> pd.Series:
    assert target.column is not None
    name = target.column.format(year=year)
    if name not in gdf.columns:
        msg = f"layer {target.layer!r} has no column {name!r}"
        raise _Unknown(msg)
    return pd.to_numeric(gdf[name], errors="coerce")


def _measure(target: Target, dataset: Dataset, year: int) -> float:
    """The metric's value for one year; raises _Unknown when it cannot be measured."""
    if target.layer not in dataset:
        msg = f"dataset has no layer {target.layer!r}"
        raise _Unknown(msg)
    gdf = dataset[target.layer]
    mask = _year_mask(gdf, target, year) & filter_mask(gdf, target.where, layer=target.layer)
    metric = target.metric
    if metric == "count":
        return float(mask.sum())
    if metric == "sum":
        return float(_column(gdf, target, year)[mask].sum())
    if metric == "tier_count":
        values = _column(gdf, target, year)[mask].to_numpy()
        # The highest tier whose lower bound a zone reaches: counted once, there.
        bounds = sorted(target.tiers.items(), key=lambda kv: kv[1], reverse=True)
        highest = np.full(values.shape, None, dtype=object)
        for name, bound in reversed(bounds):
            highest[values >= bound] = name
        return float((highest == target.tier).sum())
    geoms = dataset.metric(target.layer).geometry[mask]
    if metric == "length":
        return float(geoms.length.sum() / 1000.0)
    if metric == "area":
        return float(geoms.area.sum() / AREA_UNITS[target.unit])
    # share: the numerator's part of the year's total weight, in percent.
    if target.weight == "area":
        weights = dataset.metric(target.layer).geometry.area
    elif target.weight == "count":
        weights = pd.Series(1.0, index=gdf.index)
    else:
        if target.weight not in gdf.columns:
            msg = f"layer {target.layer!r} has no weight column {target.weight!r}"
            raise _Unknown(msg)
        weights = pd.to_numeric(gdf[target.weight], errors="coerce").fillna(0.0)
    total = float(weights[mask].sum())
    if total <= 0:
        msg = f"no {target.layer!r} features in {year}"
        raise _Unknown(msg)
    part = mask & filter_mask(gdf, target.numerator, layer=target.layer)
    return 100.0 * float(weights[part].sum()) / total


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
    if target.years == "each_year":
        years = [y for y in (plan.years if plan else (year,)) if y <= year] or [year]
    else:
        years = [year]
    results = []
    for y in years:
        try:
            actual: float | None = _measure(target, dataset, y)
        except _Unknown as exc:
            actual, note = None, str(exc)
        else:
            note = ""
        if actual is None or not np.isfinite(actual):
            status, margin = "unknown", None
            actual = None
            note = note or "the measured value is not a finite number"
        else:
            actual = round(actual, 6)
            status = "met" if target.compare(actual) else "not_met"
            margin = round(target.margin(actual), 6)
        results.append(
            TargetResult(
                id=target.id, layer=target.layer, metric=target.metric, year=y, op=target.op,
                threshold=target.threshold, actual=actual, unit=target.unit, status=status, margin=margin,
                title=target.title, phrase=target.phrase, note=note, proposed=target.proposed,
            )
        )
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
