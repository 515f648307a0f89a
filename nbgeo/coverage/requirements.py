"""The coverage requirements of a plan (``[[coverage]]``), checked and reported."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError, MissingDataError, PlanError
from ..filters import filter_mask, year_mask
from ..network import read_dataset_network
from ..plan import OPERATORS, YEAR_MODES, basis_of, margin_of, meets, short_basis
from ..status import Status
from .areas import service_areas
from .distances import Snapping
from .inputs import SPLITS, demand_units, raster_demand
from .measure import Coverage, cover_units, districts_of, search_limit

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

    from ..engine import Engine
    from ..layers import Dataset
    from ..network import RoadNetwork
    from ..plan import CoverageSpec, Plan

#: The words of a plan's ``mode`` key (the plan file's vocabulary), and the ``by`` of the Python API they mean.
PLAN_MODES = {"network": "road", "straight": "straight"}

#: Keys a ``[[coverage]]`` table of a plan may have beyond id, demand, facilities, phrase, title, proposed.
SPEC_KEYS = {
    "distance": "service distance in metres (required)",
    "mode": "'network' (by road, default) or 'straight'",
    "network": "name of the dataset's road network (default 'roads')",
    "weight": "'count' (default), 'area', 'length' or a column of the demand layer",
    "split": "'none' (whole sites, default), 'grid' (zones cut into cells) or 'length' (lines cut into pieces)",
    "cell": "cell size or piece length in metres for split (default 100)",
    "op": "comparison of the share with the threshold (default '>=')",
    "threshold": "required share in percent (default 100)",
    "unit": "unit of the share (default '%')",
    "demand_where": "filter of the demand layer, {column = value or [values]} (the dialect of nbgeo.filters)",
    "facilities_where": "filter of the facilities layer",
    "year_column": "column holding the year a feature exists from (default 'year'; '' for none)",
    "demand_year_column": "the demand layer's year column (default: year_column; '' when it has no years)",
    "facilities_year_column": "the facilities layer's year column (default: year_column; '' when it has no years)",
    "years": "'cumulative' (default: one verdict at the evaluation year) or 'each_year'",
    "max_snap": "metres beyond which a site counts as off the road network",
    "direction": "'to' (site to facility, default) or 'from' (facility to site)",
}


# --------------------------------------------------------------------------------------------
# Coverage requirements of a plan
# --------------------------------------------------------------------------------------------


def _spec_params(spec: CoverageSpec) -> dict[str, Any]:
    """Validated parameters of a ``[[coverage]]`` table, with defaults filled in."""
    params = dict(spec.params)

    def fail(msg: str) -> PlanError:
        return PlanError(f"coverage {spec.id!r}: {msg}", code="E-PLAN-COVERAGE")

    unknown = set(params) - set(SPEC_KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(SPEC_KEYS)}")
    if "distance" not in params:
        raise fail("missing key 'distance' (the service distance in metres)")
    dist = params["distance"]
    if isinstance(dist, bool) or not isinstance(dist, (int, float)) or not dist > 0:
        raise fail(f"distance must be a positive number of metres, got {dist!r}")
    out = {
        "distance": float(dist), "mode": params.get("mode", "network"), "network": params.get("network", "roads"),
        "weight": params.get("weight", "count"), "split": params.get("split", "none"),
        "cell": float(params.get("cell", 100.0)), "op": params.get("op", ">="),
        "threshold": float(params.get("threshold", 100.0)), "unit": params.get("unit", "%"),
        "demand_where": dict(params.get("demand_where", {})), "facilities_where": dict(params.get("facilities_where", {})),
        "year_column": params.get("year_column", "year"), "years": params.get("years", "cumulative"),
        "max_snap": params.get("max_snap"), "direction": params.get("direction", "to"),
    }
    for side in ("demand", "facilities"):
        out[f"{side}_year_column"] = params.get(f"{side}_year_column", out["year_column"])

    for key, allowed in (("mode", tuple(PLAN_MODES)), ("split", SPLITS), ("op", OPERATORS), ("years", YEAR_MODES),
                         ("direction", ("to", "from"))):
        if out[key] not in allowed:
            raise fail(f"{key} must be one of {', '.join(allowed)}, got {out[key]!r}")
    out["by"] = PLAN_MODES[out["mode"]]
    return out


def evaluate_coverage(
    spec: CoverageSpec,
    dataset: Dataset,
    *,
    year: int,
    plan: Plan | None = None,
    networks: Mapping[str, RoadNetwork] | None = None,
    overlays: bool = True,
    area_cache: dict[tuple[Any, ...], gpd.GeoDataFrame] | None = None,
    engine: Engine | None = None,
) -> tuple[list[dict[str, Any]], dict[str, gpd.GeoDataFrame]]:
    """Evaluate one coverage requirement of a plan: verdicts, plus map overlays.

    Each verdict has the fields of a target result (``id``, ``layer``,
    ``metric`` = ``"coverage"``, ``year``, ``op``, ``threshold``, ``actual``
    (the covered share in %), ``unit``, ``status`` (``met`` / ``not_met`` /
    ``unknown``), ``margin``, ``title``, ``phrase``, ``note``, ``proposed``)
    and the details: ``facilities``, ``distance_m``, ``mode``, ``weight``,
    ``sites``, ``covered_sites``, ``uncovered`` (ids, farthest first, with
    their distance), ``by_district``, ``by_year`` and the ``network``'s
    provenance.

    Parameters
    ----------
    spec
        The requirement (from the plan's ``[[coverage]]`` table; keys in :data:`SPEC_KEYS`).
    dataset
        The layers.
    year
        The evaluation year.
    plan
        The plan, for the years of ``by_year``.
    networks
        Road networks by name; default: those the dataset's manifest declares.
    overlays
        Also compute the service area and the uncovered sites for the map.
    area_cache
        A dict in which service areas are kept, so that requirements on the
        same facilities and distance share one (see :func:`evaluate_plan_coverage`).
    engine
        Where the snapping runs (:mod:`nbgeo.engine`; default: in this
        process). By road, every demand unit and facility is joined to the
        network once on the engine, and each year's Dijkstra runs here; in a
        straight line, each year's units are snapped to that year's
        facilities on the engine. The verdicts are the same.

    Returns
    -------
    list of dict, dict
        The verdicts (one, or one per year for ``years = "each_year"``) and
        the overlays by title (EPSG:4326, columns ``status`` and ``label``).
    """
    p = _spec_params(spec)
    years = [y for y in (plan.years if plan else (year,)) if y <= year] or [year]
    base: dict[str, Any] = {
        "id": spec.id, "layer": spec.demand, "metric": "coverage", "op": p["op"], "threshold": p["threshold"],
        "unit": p["unit"], "title": spec.title, "phrase": spec.phrase, "proposed": spec.proposed,
        "severity": spec.severity, "basis": basis_of(spec),
        "facilities": spec.facilities, "distance_m": p["distance"], "mode": p["mode"], "weight": p["weight"],
    }

    def unknown(note: str, when: list[int]) -> tuple[list[dict[str, Any]], dict[str, gpd.GeoDataFrame]]:
        return [{**base, "year": y, "actual": None, "status": Status.UNKNOWN, "margin": None, "note": note}
                for y in when], {}

    eval_years = years if p["years"] == "each_year" else [year]
    rasters = getattr(dataset, "rasters", {})
    demand_is_grid = spec.demand not in dataset and spec.demand in rasters
    for layer in (spec.demand, spec.facilities):
        if layer not in dataset and not (layer == spec.demand and demand_is_grid):
            return unknown(f"dataset has no layer {layer!r}", eval_years)
    net = None
    if p["mode"] == "network":
        if networks is not None and p["network"] in networks:
            net = networks[p["network"]]
        else:
            try:
                net = read_dataset_network(dataset, p["network"])
            except InputError as exc:
                if exc.code != "E-NET-MISSING":  # a network that is declared but cannot be read is bad input
                    raise
                return unknown(f"no road network: {exc.message}", eval_years)
        base["network"] = {"name": p["network"], "file": net.meta.file, "source": net.meta.source,
                           "licence": net.meta.licence, "illustrative": net.meta.illustrative,
                           "nodes": net.n_nodes, "edges": net.n_edges}
    fac_all = dataset.metric(spec.facilities)
    if demand_is_grid:  # a population / employment grid: cells weighted by their value
        demand_all = raster_demand(rasters[spec.demand]).to_crs(fac_all.crs)
    else:
        demand_all = dataset.metric(spec.demand)
    if net is not None and not demand_all.crs.equals(net.crs):
        demand_all = demand_all.to_crs(net.crs)
        fac_all = fac_all.to_crs(net.crs)
    d_mask = filter_mask(demand_all, p["demand_where"], layer=spec.demand,
                         key=f"coverage {spec.id!r}, key 'demand_where'")
    f_mask = filter_mask(fac_all, p["facilities_where"], layer=spec.facilities,
                         key=f"coverage {spec.id!r}, key 'facilities_where'")

    # Which sites and facilities exist in a year (nbgeo.filters' year rule). A raster grid has no features to date.
    def in_year(side: str, gdf: gpd.GeoDataFrame, y: int) -> pd.Series:
        column = "" if side == "demand" and demand_is_grid else p[f"{side}_year_column"]
        return year_mask(gdf, y, column=column, layer=getattr(spec, side), key=f"{side}_year_column")

    try:  # a layer without its year column cannot say what existed: unknown, with the reason
        in_year("demand", demand_all.iloc[:0], year)
        in_year("facilities", fac_all.iloc[:0], year)
    except MissingDataError as exc:
        return unknown(exc.message, eval_years)
    districts = dataset.metric("districts") if "districts" in dataset else None
    crs = demand_all.crs
    # Cut the demand into units once; each year keeps the units of the sites that exist by then.
    try:
        units_all = demand_units(demand_all[d_mask], weight=p["weight"], split=p["split"], cell=p["cell"], crs=crs,
                                 layer=spec.demand)
    except InputError as exc:
        return unknown(exc.message, eval_years)
    reps = shapely.point_on_surface(np.asarray(units_all.geometry.values, dtype=object))
    units_all["district"] = districts_of(reps, districts, "name", crs)
    results: dict[int, Coverage] = {}
    fac_chosen = fac_all[f_mask]
    # By road, units and facilities join the network once for all the years.
    snapping = Snapping(engine, units_all, fac_chosen, by=p["by"], network=net, max_snap=p["max_snap"],
                        direction=p["direction"])
    for y in years:
        site_year = in_year("demand", demand_all, y)
        present = set(demand_all.index[d_mask & site_year])
        unit_keep = units_all["site"].isin(present).to_numpy()
        fac_keep = in_year("facilities", fac_chosen, y).to_numpy()
        units, facilities = units_all[unit_keep], fac_chosen[fac_keep]
        # Only the verdict years list how far the uncovered sites are; the other years need the share alone.
        search = None if y in eval_years else p["distance"]
        distances = None if not len(units) else snapping.distances(
            unit_keep, fac_keep, distance=search_limit(p["distance"], search))
        results[y] = cover_units(units, facilities, distance=p["distance"], by=p["by"], network=net,
                            weight=p["weight"], max_snap=p["max_snap"], direction=p["direction"], search=search,
                            distances=distances)

    def verdict(y: int) -> dict[str, Any]:
        cov = results[y]
        share = cov.share
        entry = {**base, "year": y}
        if not np.isfinite(share):
            entry.update(actual=None, status=Status.UNKNOWN, margin=None,
                         note=f"no {spec.demand!r} sites in {y} after the filters")
            return entry
        actual = round(share, 6)
        met, margin = meets(p["op"], actual, p["threshold"]), margin_of(p["op"], actual, p["threshold"])
        sites = cov.sites()
        unc = cov.uncovered()
        entry.update(actual=actual, status=Status.MET if met else Status.NOT_MET, margin=round(margin, 6), note="")
        entry["sites"] = len(sites)
        entry["covered_sites"] = int((sites["covered"] >= sites["weight"] - 1e-9).sum())
        entry["covered_weight"] = round(cov.covered, 3)
        entry["total_weight"] = round(cov.total, 3)
        # how far the distances of uncovered sites were searched: a null distance_m is beyond it
        entry["search_m"] = search_limit(p["distance"], None)
        entry["uncovered"] = [
            {"id": str(i), "distance_m": None if not np.isfinite(r.distance) else round(float(r.distance), 1),
             "share": round(float(r.share), 3), "severity": spec.severity, "basis": base["basis"]}
            for i, r in unc.head(1000).iterrows()  # each uncovered site is a finding: its severity and basis too
        ]
        if len(unc) > 1000:
            entry["note"] = f"{len(unc)} sites not fully covered; the 1,000 farthest are listed"
        by_d = cov.by("district")
        entry["by_district"] = [
            {"district": None if pd.isna(k) else str(k), "share": None if pd.isna(r.share) else round(float(r.share), 3),
             "sites": int(r.sites), "uncovered_sites": int(r.uncovered_sites)}
            for k, r in by_d.iterrows()
        ]
        entry["by_year"] = [
            {"year": yy, "share": None if not np.isfinite(results[yy].share) else round(results[yy].share, 3),
             "sites": int(results[yy].units["site"].nunique())}
            for yy in years if yy <= y
        ]
        if "snap" in cov.units.columns and len(cov.units):
            snap = cov.units.groupby("site", sort=False)["snap"].min().to_numpy(dtype=float)
            snap = snap[np.isfinite(snap)]
            if len(snap):
                entry["snap_m"] = {"median": round(float(np.median(snap)), 1), "max": round(float(snap.max()), 1)}
        return entry

    entries = [verdict(y) for y in eval_years]
    shapes: dict[str, gpd.GeoDataFrame] = {}
    if overlays:
        facilities = fac_all[f_mask & in_year("facilities", fac_all, year)]
        key = (spec.facilities, repr(sorted(p["facilities_where"].items())), p["facilities_year_column"], year,
               p["distance"],
               p["mode"], p["network"] if net is not None else None, p["max_snap"], p["direction"])
        cache = {} if area_cache is None else area_cache
        if key not in cache:
            cache[key] = service_areas(facilities, distance=p["distance"], by=p["by"], network=net,
                                       max_snap=p["max_snap"], direction=p["direction"], resolution=_MAP_RESOLUTION,
                                       engine=engine)
        shapes = _overlays(spec, p, results[year], dataset, cache[key], net)
    log.info("Coverage %r: %s", spec.id, ", ".join(f"{e['year']} {e['status']}" for e in entries))
    return entries, shapes


#: Grid of the service areas drawn on the audit map (metres): a picture, not a measure.
_MAP_RESOLUTION = 150.0


def _overlays(spec: CoverageSpec, p: dict[str, Any], cov: Coverage, dataset: Dataset,
              area: gpd.GeoDataFrame, net: RoadNetwork | None) -> dict[str, gpd.GeoDataFrame]:

    how = "by road" if p["mode"] == "network" else "straight-line"
    km = f"{p['distance'] / 1000:g} km" if p["distance"] >= 1000 else f"{p['distance']:g} m"
    flag = " (illustrative roads)" if net is not None and net.meta.illustrative else ""
    out: dict[str, gpd.GeoDataFrame] = {}
    area = area.copy()
    if len(area):
        area["status"] = "service_area"
        area["label"] = f"{spec.facilities}: within {km} {how}{flag}"
        out[f"Service area: {spec.id} ({km} {how})"] = area[["status", "label", "geometry"]].to_crs(4326)
    unc = cov.uncovered()
    part, measures = "", {}
    if len(unc):
        sites = dataset[spec.demand].loc[unc.index]
        part = {"area": "area", "length": "length"}.get(p["weight"], p["weight"])

        def label(site: object, dist: float, share: float) -> str:
            if p["split"] != "none":  # a zone or road only partly served: say how much
                return f"{site}: {share:.0f} % of its {part} within {km} {how} of a {spec.facilities} feature"
            if np.isfinite(dist):
                return f"{site}: {dist:,.0f} m {how} to the nearest {spec.facilities} feature"
            return f"{site}: no {spec.facilities} feature within {4 * p['distance']:,.0f} m {how}"

        labels = [label(i, d, sh) for i, d, sh in zip(unc.index, unc["distance"], unc["share"], strict=True)]
        measures = {str(i): [float(d), float(sh)] for i, d, sh in zip(unc.index, unc["distance"], unc["share"],
                                                                       strict=True)}
        # each uncovered site is a finding: how binding it is and what it rests on travel with it (issue 15)
        out[f"Uncovered: {spec.id}"] = gpd.GeoDataFrame({"status": Status.UNCOVERED, "label": labels,
                                                         "severity": spec.severity,
                                                         "basis": short_basis(basis_of(spec))},
                                                        geometry=sites.geometry.values, crs=sites.crs,
                                                        index=sites.index)
    # The labels above are English (findings.gpkg); the map words them in its reader's language from these
    # measures (nbgeo.renderers.mapsites.worded_coverage): no layer key or English sentence on a zh page.
    words = {"facilities": spec.facilities, "distance": float(p["distance"]), "mode": str(p["mode"]),
             "illustrative_roads": bool(flag), "part": str(part) if len(unc) else "",
             "split": p["split"] != "none"}
    for name, shapes in out.items():  # which requirement drew them, for the map's words (nbgeo.renderers.mapsites)
        shapes.attrs["nbgeo_coverage"] = spec.id
        shapes.attrs["nbgeo_coverage_words"] = {**words, "sites": measures if name.startswith("Uncovered") else {}}
    return out


def evaluate_plan_coverage(
    plan: Plan,
    dataset: Dataset,
    *,
    year: int | None = None,
    overlays: bool = True,
    engine: Engine | None = None,
) -> tuple[list[dict[str, Any]], dict[str, gpd.GeoDataFrame]]:
    """Evaluate every ``[[coverage]]`` requirement of a plan (see :func:`evaluate_coverage`).

    The dataset's road networks are read once and shared. With an ``engine``
    (:mod:`nbgeo.engine`, e.g. a :class:`~nbgeo.engine.DaskEngine`), the
    snapping of demand sites and facilities runs on it, with the same results.

    Examples
    --------
    >>> from nbgeo import datasets, io, plan
    >>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> entries, shapes = evaluate_plan_coverage(p, io.read_sample(), overlays=False)
    >>> {e["metric"] for e in entries} <= {"coverage"}
    True
    """
    when = plan.horizon if year is None else year
    networks: dict[str, RoadNetwork] = {}
    areas: dict[tuple[Any, ...], gpd.GeoDataFrame] = {}
    entries: list[dict[str, Any]] = []
    shapes: dict[str, gpd.GeoDataFrame] = {}
    for spec in plan.coverage:
        p = _spec_params(spec)
        if p["mode"] == "network" and p["network"] not in networks:
            try:
                networks[p["network"]] = read_dataset_network(dataset, p["network"])
            except InputError:
                pass  # evaluate_coverage reports it as unknown, with the reason
        found, more = evaluate_coverage(spec, dataset, year=when, plan=plan, networks=networks, overlays=overlays,
                                        area_cache=areas, engine=engine)
        entries.extend(found)
        shapes.update(more)
    return entries, shapes


def to_text(entries: list[dict[str, Any]]) -> str:
    """The coverage verdicts as a plain-text table, for a terminal.

    Examples
    --------
    >>> print(to_text([{"id": "mp", "year": 2025, "actual": 84.6, "op": ">=", "threshold": 100.0, "status": "not_met",
    ...                 "mode": "network", "distance_m": 1000.0, "sites": 227, "covered_sites": 192,
    ...                 "proposed": True, "severity": "建议", "basis": {"instrument": "nbgeo", "kind": "office"}}]))
    coverage  year  share  threshold  within           sites    status   severity  basis
    mp*       2025  84.6%  >= 100%    1,000 m by road  192/227  not_met  建议        nbgeo
    * proposed by nbgeo beyond the plan's text
    """
    rows = [("coverage", "year", "share", "threshold", "within", "sites", "status", "severity", "basis")]
    for e in entries:
        share = "—" if e.get("actual") is None else f"{e['actual']:.1f}%"
        how = "by road" if e.get("mode") == "network" else "straight"
        sites = f"{e['covered_sites']}/{e['sites']}" if "sites" in e else "—"
        rows.append((e["id"] + ("*" if e.get("proposed") else ""), str(e["year"]), share,
                     f"{e['op']} {e['threshold']:g}%", f"{e['distance_m']:,.0f} m {how}", sites, e["status"],
                     str(e.get("severity") or "—"), short_basis(e.get("basis"))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if any(e.get("proposed") for e in entries):
        lines.append("* proposed by nbgeo beyond the plan's text")
    return "\n".join(lines)
