"""The rules of a plan on a dataset: each ``[[rules]]`` spec to its ``check_*`` function, and what follows."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError, LimitError
from ..filters import filter_mask
from ..layers import Layer
from ..network import read_dataset_network
from ..plan import RuleSpec
from .against import check_access, check_exclusion, check_setback, check_within
from .own import check_area, check_overlap, check_slope, check_spacing
from .result import RuleResult, unit_of

if TYPE_CHECKING:

    from ..layers import Dataset
    from ..plan import Plan

log = logging.getLogger(__name__)


def filter_sites(gdf: gpd.GeoDataFrame, where: Mapping[str, Any] | None, *, layer: str = "",
                 key: str = "") -> gpd.GeoDataFrame:
    """The rows matching a filter, in the one dialect of :mod:`nbgeo.filters`.

    A value is one value or a list of values (equality), or a table of
    operators: ``{contains = "绿色石化"}`` for ``;``-separated lists,
    ``{">=" = 2021}`` and the other comparisons, ``{"!=" = "planned"}``.

    Raises
    ------
    FilterError
        A malformed filter or one that does not fit the layer, naming ``key``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> g = gpd.GeoDataFrame({"lead": ["绿色石化;新材料", "高端装备"], "year": [2020, 2023]})
    >>> filter_sites(g, {"lead": {"contains": "绿色石化"}}).index.tolist()
    [0]
    >>> filter_sites(g, {"year": {">=": 2021}}).index.tolist()
    [1]
    """
    if not where:
        return gdf
    return gdf[filter_mask(gdf, where, layer=layer, key=key).to_numpy()]


def unknown_result(rule: RuleSpec, note: str, sites: gpd.GeoDataFrame | None = None) -> RuleResult:
    """Every site ``unknown`` for the same reason (a layer, raster or network the rule needs is missing)."""
    index = sites.index if sites is not None else pd.Index([], name="id")
    frame = pd.DataFrame({"status": "unknown", "value": np.nan, "limit": np.nan, "margin": np.nan,
                          "unit": unit_of(rule), "other": pd.Series(None, index=index, dtype=object)},
                         index=index)
    frame["status"] = frame["status"].astype(object)
    return RuleResult(rule=rule, frame=frame, note=note, _reasoner=lambda rows: [("note", {"note": note})] * len(rows))


def evaluate_rule(rule: RuleSpec, dataset: Dataset, *, tolerance_band: float | None = None) -> RuleResult:
    """Evaluate one rule of the plan on the dataset's layers.

    Sites are the rule's ``layer`` (filtered by ``where``); ``against`` names
    the layer it is checked against (filtered by ``against_where``); ``dem``
    the raster of a slope rule (default ``"dem"``). Missing layers or rasters
    make every site ``unknown`` with the reason; an empty site layer passes
    with nothing checked.

    Parameters
    ----------
    rule
        The rule, from the plan.
    dataset
        The layers.
    tolerance_band
        Relative tolerance band; default ``settings.tolerance_band``.

    Returns
    -------
    RuleResult

    Raises
    ------
    FilterError
        A filter on a column the layer lacks (:func:`nbgeo.plan.check_against` finds it before any work).

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> rule = next(r for r in p.rules if r.id == "petrochemical_setback")
    >>> r = evaluate_rule(rule, io.read_sample())
    >>> r.status, r.failing_ids.tolist()
    ('fail', ['CL00001'])
    >>> r.reasons()["CL00001"]
    'only 350 m from residential CN00067 (石化区周边居住区(示意)); setback 1,000 m'
    """
    try:
        return _evaluate(rule, dataset, tolerance_band=tolerance_band)
    except LimitError as exc:  # name the rule and the layers' files: the budget message names the features

        files = {name: dataset.layer(name).meta.file for name in (rule.layer, rule.params.get("against"))
                 if isinstance(name, str) and name in dataset}
        where = ", ".join(f"layer {name!r} (file {file!r})" if file else f"layer {name!r}"
                          for name, file in files.items())
        problems = [replace(q, layer=q.layer or rule.layer, file=q.file or files.get(rule.layer)) for q in exc.problems]
        raise LimitError(f"rule {rule.id!r} on {where}: {exc.message}", code=exc.code, problems=problems) from None


def _evaluate(rule: RuleSpec, dataset: Dataset, *, tolerance_band: float | None) -> RuleResult:
    p = rule.params
    if rule.layer not in dataset:
        return unknown_result(rule, f"dataset has no layer {rule.layer!r}")
    sites = filter_sites(dataset.metric(rule.layer), p.get("where"), layer=rule.layer,
                         key=f"rule {rule.id!r}, key 'where'")
    sites = sites[~(sites.geometry.isna() | sites.geometry.is_empty)]
    if sites.empty:
        result = unknown_result(rule, f"no sites in layer {rule.layer!r} match the rule")
        return RuleResult(rule=rule, frame=result.frame, note=f"no sites to check in layer {rule.layer!r}")
    common: dict[str, Any] = {"tolerance": p.get("tolerance"), "tolerance_band": tolerance_band, "rule": rule}

    against = None
    if "against" in p:
        name = str(p["against"])
        if name not in dataset:
            return unknown_result(rule, f"dataset has no layer {name!r} to check against", sites)
        against = filter_sites(dataset.metric(name), p.get("against_where"), layer=name,
                               key=f"rule {rule.id!r}, key 'against_where'")
        against = against[~(against.geometry.isna() | against.geometry.is_empty)]
        if against.empty and rule.kind in ("within", "access"):
            return unknown_result(rule, f"no features of layer {name!r} to measure against", sites)

    kind = rule.kind
    if kind == "within":
        return check_within(sites, against, min_share=float(p.get("min_share", 100.0)),
                            max_distance=float(p.get("max_distance", 0.0)), match=p.get("match"), **common)
    if kind == "exclusion":
        return check_exclusion(sites, against, max_area=p.get("max_area"), max_share=p.get("max_share"),
                               max_length=p.get("max_length"), **common)
    if kind == "setback":
        distance = p["distance"]
        return check_setback(sites, against, distance=dict(distance) if isinstance(distance, Mapping) else distance,
                             class_column=p.get("class_column"), **common)
    if kind == "spacing":
        return check_spacing(sites, min_distance=float(p["min_distance"]), keep=p.get("keep", "first"), **common)
    if kind == "access":
        net = None
        if p.get("by", "straight") == "road":
            name = str(p.get("network", "roads"))
            try:
                net = read_dataset_network(dataset, name)
            except InputError as exc:
                if exc.code != "E-NET-MISSING":
                    raise
                # Like a missing layer or DEM: the sites cannot be measured, so they are unknown.
                return unknown_result(rule, f"dataset declares no road network {name!r} to measure by road", sites)
        return check_access(sites, against, max_distance=float(p["max_distance"]), network=net, **common)
    if kind == "area":
        return check_area(sites, min_area=p.get("min_area"), max_area=p.get("max_area"), unit=p.get("unit", "m2"),
                          column=p.get("column"), **common)
    if kind == "slope":
        dem_name = str(p.get("dem", "dem"))
        if dem_name not in dataset.rasters:
            return unknown_result(rule, f"dataset has no raster {dem_name!r} (a DEM) to measure slope", sites)
        dem = dataset.raster(dem_name)
        # The DEM keeps its own grid: the sites (held in EPSG:4326, datum already converted) go to its CRS.
        in_dem = dataset[rule.layer].loc[sites.index].to_crs(dem.crs)
        unit = str(p.get("unit", "percent"))
        result = check_slope(in_dem, dem, max_slope=float(p["max_slope"]), stat=str(p.get("stat", "mean")),
                             unit=unit, **common)
        return result
    return check_overlap(sites, max_area=p.get("max_area"), max_share=p.get("max_share"),
                         keep=p.get("keep", "larger"), **common)


def evaluate_rules(plan: Plan, dataset: Dataset, *, tolerance_band: float | None = None) -> list[RuleResult]:
    """Evaluate every rule of a plan, in plan order.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> results = evaluate_rules(plan.read_plan(datasets.get_path("ningbo_2025")), io.read_sample())
    >>> sorted({r.status for r in results})
    ['fail', 'pass']
    """
    return [evaluate_rule(rule, dataset, tolerance_band=tolerance_band) for rule in plan.rules]


def failing_ids(results: list[RuleResult]) -> dict[str, set[str]]:
    """The ids of the sites that fail at least one rule, by layer.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> results = evaluate_rules(plan.read_plan(datasets.get_path("ningbo_2025")), io.read_sample())
    >>> sorted(failing_ids(results)["chargers"])
    ['CH10600']
    """
    out: dict[str, set[str]] = {}
    for result in results:
        ids = result.failing_ids
        if len(ids):
            out.setdefault(result.rule.layer, set()).update(str(i) for i in ids)
    return out


def without_failing(dataset: Dataset, results: list[RuleResult]) -> Dataset:
    """The dataset without the sites that fail a rule, for counts and coverage that honour the rules.

    Each layer that loses sites says so in its provenance note.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> ds = io.read_sample()
    >>> results = evaluate_rules(plan.read_plan(datasets.get_path("ningbo_2025")), ds)
    >>> kept = without_failing(ds, results)
    >>> len(ds["chargers"]) - len(kept["chargers"]), "CH10600" in kept["chargers"].index
    (1, False)
    """
    failing = failing_ids(results)
    if not failing:
        return dataset
    layers = dict(dataset.layers)
    for name, ids in failing.items():
        if name not in layers:
            continue
        layer = layers[name]
        keep = ~layer.gdf.index.astype(str).isin(list(ids))
        dropped = int((~keep).sum())
        note = f"{layer.meta.note}; " if layer.meta.note else ""
        meta = replace(layer.meta, note=f"{note}{dropped} site(s) failing a siting rule left out")
        layers[name] = Layer(layer.gdf[keep], meta)
        log.info("Left out %d site(s) of layer %r that fail a siting rule", dropped, name)
    return replace(dataset, layers=layers, _metric_cache={})
