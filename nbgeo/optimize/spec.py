"""Siting questions from the plan's ``[[siting]]`` tables, and the sites written to a GeoPackage."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyogrio
import pyogrio.errors

from .._atomic import atomic_path
from ..deprecation import renamed_function
from ..errors import OutputError, PlanError
from ..network import read_dataset_network
from ..plan import basis_of
from ..qgis import style_geopackage
from ..suitability import surface_from_spec
from .candidates import candidates_from_network
from .siting import SitingResult, site

if TYPE_CHECKING:
    from ..layers import Dataset
    from ..network import RoadNetwork
    from ..plan import Plan, SitingSpec


# --------------------------------------------------------------------------------------------------------------
# Siting questions from the plan, and their outputs
# --------------------------------------------------------------------------------------------------------------

#: Keys a ``[[siting]]`` table of a plan may have beyond id, title, phrase, proposed.
SITING_KEYS = {
    "coverage": "id of a [[coverage]] requirement whose demand, facilities, distance, mode, network, filters, weight "
                "and threshold the question takes (any key below overrides it)",
    "demand": "the demand layer", "facilities": "the facility layer new sites join",
    "distance": "service distance in metres", "by": "'road' (default with a network) or 'straight'",
    "network": "the dataset's road network (default 'roads')",
    "k": "choose the best k new sites (maximal covering); without k, the fewest sites (set covering)",
    "share": "set covering: serve this share (0-1] of the demand weight (default: the requirement, or all)",
    "required": "the share in percent the result must reach to be met",
    "candidates": "'network' (road nodes), 'grid', 'suitability:ID' (best cells of a [[suitability]] surface), "
                  "'zones:ID' (its zones of a minimum area) or a layer of the dataset",
    "cell": "metres: grid spacing, road-node thinning, or spacing of suitability cells (default 250)",
    "min_score": "suitability candidates: lowest score (default 0.5)",
    "min_area": "suitability zones: least area in m² (default: the surface's min_area, else 0)",
    "demand_where": "filter of the demand layer", "facilities_where": "filter of the facility layer",
    "weight": "demand weight: 'count', 'area', 'length' or a column", "split": "'none', 'grid' or 'length'",
    "split_cell": "cell or piece size for split", "year_column": "the column holding a feature's year",
    "demand_year_column": "the demand layer's year column (default: year_column; '' when it has no years)",
    "facilities_year_column": "the facility layer's year column (default: year_column; '' when it has no years)",
    "capacity": "demand weight one new facility can serve", "existing_capacity": "the same for existing ones",
    "method": "'greedy', 'milp' or 'auto'", "time_limit": "seconds for the exact solver and the heuristic's improvement",
    "allow_unknown": "let candidates with an unknown verdict under a rule be chosen",
    "source": "where the question comes from", "note": "anything else",
}


def _spec_value(params: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = params.get(key, default)
    return dict(value) if isinstance(value, Mapping) else value


def site_from_spec(
    spec: SitingSpec,
    dataset: Dataset,
    plan: Plan,
    *,
    year: int | None = None,
    by: str | None = None,
    k: int | None = None,
    share: float | None = None,
    candidates: str | None = None,
    cell: float | None = None,
    method: str | None = None,
    time_limit: float | None = None,
    network: RoadNetwork | None = None,
) -> tuple[SitingResult, Any]:
    """Answer a ``[[siting]]`` question of the plan (keyword arguments override its keys).

    Returns
    -------
    SitingResult, Surface or None
        The answer, and the suitability surface its candidates came from (if any).

    Examples
    --------
    >>> from nbgeo.plan import Plan, SitingSpec
    >>> from nbgeo import datasets, io, plan as plan_mod
    >>> p = plan_mod.read_plan(datasets.get_path("ningbo_2025"))
    >>> q = SitingSpec(id="q", params={"demand": "micro_parks", "facilities": "chargers", "distance": 1000,
    ...                                "by": "straight", "k": 5, "candidates": "grid", "cell": 1000})
    >>> r, _ = site_from_spec(q, io.read_sample(), p)
    >>> r.solution.problem, len(r.chosen), str(r.status)
    ('mclp', 5, 'proposed')
    """
    p = dict(spec.params)
    unknown = sorted(set(p) - set(SITING_KEYS))
    if unknown:
        msg = f"siting {spec.id!r}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(SITING_KEYS))}"
        raise PlanError(msg, code="E-PLAN-SITING")
    base: dict[str, Any] = {}
    if "coverage" in p:
        cov = next((c for c in plan.coverage if c.id == p["coverage"]), None)
        if cov is None:
            msg = (f"siting {spec.id!r}: the plan has no coverage requirement {p['coverage']!r}; "
                   f"coverage: {', '.join(c.id for c in plan.coverage) or '(none)'}")
            raise PlanError(msg, code="E-PLAN-SITING")
        cp = dict(cov.params)
        base = {"demand": cov.demand, "facilities": cov.facilities, "distance": cp.get("distance"),
                "by": {"network": "road"}.get(cp.get("mode", "network"), cp.get("mode", "network")),
                "network": cp.get("network", "roads"), "demand_where": _spec_value(cp, "demand_where"),
                "facilities_where": _spec_value(cp, "facilities_where"), "weight": cp.get("weight", "count"),
                "split": cp.get("split"), "split_cell": cp.get("cell", 100.0),
                "year_column": cp.get("year_column", "year"), "required": float(cp.get("threshold", 100.0)),
                **{k: cp[k] for k in ("demand_year_column", "facilities_year_column") if k in cp}}
    q = {**base, **{key: _spec_value(p, key) for key in p if key != "coverage"}}
    for key in ("demand", "facilities", "distance"):
        if q.get(key) is None:
            msg = f"siting {spec.id!r}: missing key {key!r} (or a coverage requirement that gives it)"
            raise PlanError(msg, code="E-PLAN-SITING")
    how = by or q.get("by") or "road"
    how = "road" if how == "network" else how
    net = network
    if how == "road" and net is None:

        net = read_dataset_network(dataset, str(q.get("network") or "roads"))
    if how != "road":
        net = None
    k = k if k is not None else q.get("k")
    if k is None:
        share = share if share is not None else q.get("share")
        if share is None:
            share = min(1.0, float(q.get("required", 100.0)) / 100.0)
    else:
        share = None
    size = float(cell if cell is not None else q.get("cell", 250.0))
    source_key = candidates or q.get("candidates") or ("network" if how == "road" else "grid")
    surface_obj = None
    cands = None
    source = None
    districts = dataset["districts"] if "districts" in dataset else None
    if source_key == "network":
        if net is None:
            msg = f"siting {spec.id!r}: road-node candidates need a road network (by = 'road')"
            raise PlanError(msg, code="E-PLAN-SITING")
        cands = candidates_from_network(net, area=districts, spacing=size)
        source = f"road network nodes inside the districts, one per {size:g} m square (generated)"
    elif source_key == "grid":
        cands = None  # site() makes the grid
    elif source_key.startswith(("suitability:", "zones:")):

        kind, _, sid = source_key.partition(":")
        sspec = next((s for s in plan.suitability if s.id == sid), None)
        if sspec is None:
            msg = (f"siting {spec.id!r}: the plan has no suitability surface {sid!r}; "
                   f"surfaces: {', '.join(s.id for s in plan.suitability) or '(none)'}")
            raise PlanError(msg, code="E-PLAN-SITING")
        surface_obj = surface_from_spec(sspec, dataset)
        min_score = float(q.get("min_score", sspec.params.get("min_score", 0.5)))
        if kind == "suitability":
            cands = surface_obj.best_cells(min_score=min_score, spacing=size)
        else:
            cands = surface_obj.zones(min_score=min_score,
                                      min_area=float(q.get("min_area", sspec.params.get("min_area", 0.0))))
        source = str(cands["source"].iloc[0]) if len(cands) else f"{source_key} (no cell qualifies)"
    elif source_key in dataset:
        cands = dataset[source_key]
        source = f"layer {source_key!r} of the dataset"
    else:
        msg = (f"siting {spec.id!r}: candidates must be 'network', 'grid', 'suitability:ID', 'zones:ID' or a layer, "
               f"got {source_key!r}")
        raise PlanError(msg, code="E-PLAN-SITING")
    result = site(
        dataset, demand=str(q["demand"]), facilities=str(q["facilities"]), distance=float(q["distance"]), k=k,
        share=share, by=how, network=net, candidates=cands, candidate_source=source, cell=size, plan=plan,
        allow_unknown=bool(q.get("allow_unknown", False)), demand_where=q.get("demand_where"),
        facilities_where=q.get("facilities_where"), year=year if year is not None else plan.horizon,
        year_column=str(q.get("year_column", "year")), demand_year_column=q.get("demand_year_column"),
        facilities_year_column=q.get("facilities_year_column"), weight=str(q.get("weight", "count")), split=q.get("split"),
        split_cell=float(q.get("split_cell", 100.0)), capacity=q.get("capacity"),
        existing_capacity=q.get("existing_capacity"), method=method or str(q.get("method", "auto")),
        time_limit=time_limit if time_limit is not None else q.get("time_limit"),
        required=q.get("required"), id=spec.id, title=spec.title,
    )
    result = dataclasses.replace(result, severity=str(spec.severity), basis=basis_of(spec))
    return result, surface_obj


def write_result(results: Sequence[SitingResult], path: str | Path, *, overwrite: bool = False,
                 lang: str = "zh") -> Path:
    """Write siting results to one GeoPackage, atomically, each layer with its QGIS style (in ``lang``).

    Layers per result ``ID``: ``ID_sites`` (the chosen sites, in order),
    ``ID_candidates`` (every candidate with its verdict under the rules) and
    ``ID_demand`` (every demand site, served before and after). All in
    EPSG:4326.

    Examples
    --------
    >>> import tempfile, pathlib, pyogrio
    >>> from nbgeo import io
    >>> r = site(io.read_sample(), demand="micro_parks", facilities="chargers", distance=1000, k=3, cell=1000)
    >>> out = write_result([r], pathlib.Path(tempfile.mkdtemp()) / "sites.gpkg")
    >>> [name for name, _ in pyogrio.list_layers(out)]  # and the table of their QGIS styles
    ['chargers_for_micro_parks_sites', 'chargers_for_micro_parks_candidates', 'chargers_for_micro_parks_demand', 'layer_styles']
    """
    final = Path(path)
    with atomic_path(final, overwrite=overwrite, suffix=".gpkg") as tmp:
        tmp.unlink()  # GDAL creates the file itself
        for r in results:
            demand = r.demand.copy()
            demand["new_distance"] = demand["new_distance"].where(np.isfinite(demand["new_distance"]))
            demand["distance_before"] = demand["distance_before"].where(np.isfinite(demand["distance_before"]))
            for name, gdf in ((f"{r.id}_sites", r.chosen), (f"{r.id}_candidates", r.candidates),
                              (f"{r.id}_demand", demand)):
                out = gdf.copy()
                out.index = out.index.astype(str)
                out = out.rename_axis("id").reset_index()
                for column in out.columns:
                    if out[column].dtype == object and column != out.geometry.name:
                        values = out[column]
                        out[column] = values.astype(str).where(values.notna(), None)  # text, missing kept
                try:
                    pyogrio.write_dataframe(out, tmp, driver="GPKG", layer=name, append=tmp.exists())
                except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError,
                        pyogrio.errors.GeometryError) as exc:
                    msg = f"could not write {str(final)!r}: {exc}; the previous file, if any, is unchanged"
                    raise OutputError(msg, code="E-IO-WRITE") from None
                style_geopackage(tmp, name, {"sites": "chosen", "candidates": "candidates",
                                             "demand": "demand"}[name.removeprefix(f"{r.id}_")], lang)
    return final


save_result = renamed_function(write_result, "save_result", where="nbgeo.optimize")
