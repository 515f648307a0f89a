"""Siting on a dataset: candidates, demand, existing facilities, solved and checked (:func:`site`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..coverage import coverage
from ..coverage.measure import districts_of
from ..errors import CRSError, InputError
from ..filters import filter_mask, year_mask
from ..layers import LAYERS
from ..plan import short_basis
from ..renderers import labels
from ..status import Status
from .candidates import candidates_from_grid, candidates_from_network, screen_candidates
from .matrix import CoverageMatrix, coverage_matrix, metric_crs_of
from .problems import check_method, maximal_covering, set_covering
from .solution import Solution

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import NDArray

    from ..layers import Dataset
    from ..network import RoadNetwork
    from ..plan import Plan


# --------------------------------------------------------------------------------------------------------------
# Siting on a dataset
# --------------------------------------------------------------------------------------------------------------

#: How distance is measured: in a straight line, or by road.
BY = ("straight", "road")


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Where to put new facilities: the chosen sites, and coverage before and after, per district.

    Attributes
    ----------
    id, title
        What the question was called.
    demand_layer, facility_layer
        The layers served and serving.
    solution
        The solver's answer (indices into the allowed candidates).
    distance, by
        The service distance (metres) and how it is measured (``"straight"`` or ``"road"``).
    year
        The evaluation year (existing facilities and demand up to it).
    demand
        One row per demand site (EPSG:4326): ``weight``, ``served_before`` and
        ``served_after`` (share of its weight, 0–1), ``newly_served``,
        ``coverable``, ``district``, ``distance_before`` (to the nearest
        existing facility, metres; inf beyond the search), ``new_site`` and
        ``new_distance`` (the nearest chosen site that serves it).
    candidates
        Every candidate considered (EPSG:4326): ``status`` (``pass``,
        ``fail``, ``unknown`` under the rules), ``rules``, ``reason``,
        ``chosen`` and ``order``.
    chosen
        The chosen sites (EPSG:4326), in order: ``order``, ``gain`` (demand
        weight it adds), ``sites_served`` (demand sites it newly serves),
        ``district`` and ``label``.
    by_district
        Per district: demand ``sites``, ``weight``, ``before`` and ``after``
        (served weight), ``share_before`` and ``share_after`` (%), ``new_sites``.
    candidate_source
        How the candidates were made (e.g. ``"grid 250 m inside the districts"``).
    screening
        The rule summaries (:attr:`Screening.rules`), or ``[]`` without a plan.
    required
        The share (%) of demand that must be served, or None (MCLP without a requirement).
    network
        Provenance of the road network, or None.
    illustrative
        Whether any input (layers, network) is illustrative.
    notes
        What a reader should know.
    severity, basis
        How binding the question is and what it rests on (from its ``[[siting]]`` table; a question asked
        in code is nbgeo's suggestion, 建议).
    """

    id: str
    title: str
    demand_layer: str
    facility_layer: str
    solution: Solution
    distance: float
    by: str
    year: int | None
    demand: Any
    candidates: Any
    chosen: Any
    by_district: Any
    candidate_source: str
    screening: list[dict[str, Any]]
    required: float | None
    network: dict[str, Any] | None
    illustrative: bool
    notes: tuple[str, ...] = ()
    severity: str = "建议"
    basis: dict[str, str] | None = None

    @property
    def status(self) -> Status:
        """``met`` when the chosen sites bring coverage to the required share, ``not_met`` if not, else ``proposed``.

        A :class:`nbgeo.status.Status`, so it equals its word (``r.status == "met"``).
        """
        if self.required is None:
            return Status.PROPOSED
        return Status.MET if 100.0 * self.solution.share_after >= self.required - 1e-9 else Status.NOT_MET

    def to_dict(self) -> dict[str, Any]:
        """The entry of ``audit.json``'s ``"optimisation"`` section (JSON-ready)."""
        sol = self.solution
        cands = self.candidates
        chosen = [
            {"id": str(i), "order": int(r.order), "lon": round(float(r.geometry.x), 6), "lat": round(float(r.geometry.y), 6),
             "district": None if r.district is None else str(r.district), "gain": round(float(r.gain), 6),
             "sites_served": int(r.sites_served)}
            for i, r in self.chosen.iterrows()
        ]
        districts = [
            {"district": None if d is None or pd.isna(d) else str(d), "sites": int(r.sites),
             "share_before": _round(r.share_before), "share_after": _round(r.share_after), "new_sites": int(r.new_sites)}
            for d, r in self.by_district.iterrows()
        ]
        left = self.demand[self.demand["served_after"] < 1 - 1e-9]
        unserved = [
            {"id": str(i), "district": None if r.district is None else str(r.district),
             "share_served": round(float(r.served_after), 3), "coverable": bool(r.coverable)}
            for i, r in left.head(1000).iterrows()
        ]
        return {
            "id": self.id, "title": self.title, "status": self.status, "severity": self.severity,
            "basis": dict(self.basis or {"phrase": "", "instrument": "nbgeo", "kind": "office", "article": "",
                                         "url": ""}),
            "problem": sol.problem, "method": sol.method,
            "solver": sol.solver, "solver_status": sol.status, "demand": self.demand_layer, "facilities": self.facility_layer,
            "distance_m": self.distance, "by": self.by, "year": self.year, "k": sol.k,
            "required_share": self.required, "new_sites": len(sol.sites),
            "demand_sites": len(self.demand), "served_before": int((self.demand["served_before"] >= 1 - 1e-9).sum()),
            "served_after": int((self.demand["served_after"] >= 1 - 1e-9).sum()),
            "share_before": _round(100 * sol.share_before), "share_after": _round(100 * sol.share_after),
            "weight_added": round(sol.objective, 6), "bound": None if sol.bound is None else round(sol.bound, 6),
            "gap": None if sol.gap is None else round(sol.gap, 6),
            "uncoverable_sites": int((~self.demand["coverable"]).sum()),
            "candidates": len(cands), "candidates_allowed": int((cands["status"] == Status.PASS).sum()),
            "candidates_failed": int((cands["status"] == Status.FAIL).sum()),
            "candidates_unknown": int((cands["status"] == Status.UNKNOWN).sum()),
            "candidate_source": self.candidate_source, "runtime_s": round(sol.runtime_s, 4),
            "illustrative": self.illustrative, "network": self.network,
            "note": "; ".join(n for n in (sol.note, *self.notes) if n),
            # the same notes for readers, each a note.* key and its values (readable.note_text words them)
            "note_parts": [*sol.note_parts, *({"key": k, "values": v} for k, v in map(labels.keyed_note, self.notes))],
            "chosen": chosen, "by_district": districts, "rules": self.screening, "unserved": unserved,
        }

    def overlays(self, *, lang: str = "en") -> dict[str, gpd.GeoDataFrame]:
        """Map layers (EPSG:4326, with ``status`` and ``label``): proposed sites, newly served and still unserved demand.

        Proposed and still unserved sites also carry the question's ``severity`` and ``basis`` (as text).
        """
        out: dict[str, gpd.GeoDataFrame] = {}

        def word(key: str, **values: Any) -> str:
            return labels.word(f"map.siting_{key}", lang).format(**values)

        suffix = labels.word("map.suitability_ill", lang) if self.illustrative else ""
        # proposed and still unserved sites are findings: their question's severity and basis go with them
        binding = {"severity": self.severity, "basis": short_basis(self.basis or {"instrument": "nbgeo"})}
        if len(self.chosen):
            spec = LAYERS.get(self.demand_layer)
            demand = ((spec.title_zh if lang == "zh" else spec.title_en) if spec is not None else
                      self.demand_layer.replace("_", " "))
            sep = "，" if lang == "zh" else ", "
            said = [word("chosen", site=i, order=int(r.order), n=f"{int(r.sites_served):,}", demand=demand,
                         gain=f"{float(r.gain):,.6g}", district=f"{sep}{r.district}" if isinstance(r.district, str) and r.district else "")
                    for i, r in self.chosen.iterrows()]
            out[word("proposed", id=self.id, n=f"{len(self.chosen):,}") + suffix] = gpd.GeoDataFrame(
                {"status": Status.PROPOSED, "label": said, **binding},
                geometry=self.chosen.geometry.to_numpy(), crs=4326)
        d = self.demand
        newly = d[d["newly_served"]]
        if len(newly):
            said = [word("served_by", site=i, new=r.new_site, distance=f"{r.new_distance:,.0f}")
                    for i, r in newly.iterrows()]
            out[word("newly", id=self.id, n=f"{len(newly):,}") + suffix] = (
                gpd.GeoDataFrame({"status": Status.COVERED, "label": said}, geometry=newly.geometry.to_numpy(), crs=4326))
        left = d[d["served_after"] < 1 - 1e-9]
        if len(left):
            said = [word("still" if r.coverable else "unreachable", site=i) for i, r in left.iterrows()]
            out[word("left", id=self.id, n=f"{len(left):,}") + suffix] = (
                gpd.GeoDataFrame({"status": Status.UNCOVERED, "label": said, **binding},
                                 geometry=left.geometry.to_numpy(), crs=4326))
        return out


def _round(value: Any, digits: int = 3) -> float | None:
    v = float(value)
    return round(v, digits) if math.isfinite(v) else None


def site(
    dataset: Dataset,
    *,
    demand: str,
    facilities: str,
    distance: float,
    k: int | None = None,
    share: float | None = None,
    by: str = "straight",
    network: RoadNetwork | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    candidate_source: str | None = None,
    cell: float = 250.0,
    plan: Plan | None = None,
    allow_unknown: bool = False,
    demand_where: Any = None,
    facilities_where: Any = None,
    year: int | None = None,
    year_column: str = "year",
    demand_year_column: str | None = None,
    facilities_year_column: str | None = None,
    weight: str = "count",
    split: str | None = None,
    split_cell: float = 100.0,
    capacity: float | None = None,
    existing_capacity: float | None = None,
    method: str = "auto",
    time_limit: float | None = None,
    required: float | None = None,
    id: str | None = None,
    title: str = "",
) -> SitingResult:
    """Where to put new ``facilities`` so that they serve the ``demand`` within ``distance``.

    With ``k``, the best ``k`` new sites (MCLP); otherwise the fewest new
    sites that serve ``share`` of the demand (LSCP, default all of it).
    Existing facilities (up to ``year``) stay, and what they serve counts.
    Candidate sites are screened by the ``plan``'s siting rules for the
    facility layer first (:func:`screen_candidates`): a candidate that fails a
    rule is never chosen (nor one whose verdict is unknown, unless
    ``allow_unknown``), and two candidates a spacing rule keeps apart are
    never both chosen.

    Parameters
    ----------
    dataset
        The layers (``districts`` for the breakdown, if present).
    demand, facilities
        Layer names, e.g. ``"micro_parks"`` and ``"chargers"``.
    distance
        Service distance in metres.
    k, share
        MCLP: at most ``k`` new sites. LSCP: serve ``share`` (0–1] of the demand weight (default 1).
    by
        ``"straight"`` or ``"road"`` (needs ``network``).
    network
        The road network for ``by="road"``.
    candidates
        Candidate sites (any CRS). Default: the road network's nodes (one per
        ``cell`` square) by road, a grid of ``cell`` metres in a straight line,
        inside the districts. Only candidates within ``distance`` (in a straight
        line, which no road beats) of demand that is not yet served are kept.
    candidate_source
        How the candidates were made, for the report.
    cell
        Grid spacing or node thinning, metres.
    plan
        The plan whose rules screen the candidates; None screens nothing.
    allow_unknown
        Let candidates whose verdict under a rule is unknown be chosen.
    demand_where, facilities_where
        Filters of the two layers (the dialect of :mod:`nbgeo.filters`).
    year, year_column, demand_year_column, facilities_year_column
        Keep features whose year column is at most ``year`` (None: all);
        ``year_column`` names it for both layers unless the other two do,
        ``""`` for a layer without years. A layer without its year column
        stops the question with a :class:`~nbgeo.errors.MissingDataError`
        (:mod:`nbgeo.filters`' year rule: what existed in ``year`` is unknown).
    weight, split, split_cell
        Demand weight (``"count"``, ``"area"``, ``"length"`` or a numeric
        column) and how demand is cut into units (``"grid"`` cells of zones,
        ``"length"`` pieces of roads, of ``split_cell`` metres), as for
        :func:`nbgeo.coverage.demand_units`.
    capacity, existing_capacity
        Demand weight one new (existing) facility can serve; None for unlimited.
    method, time_limit
        As for :func:`maximal_covering`; ``"auto"`` (the default) solves exactly
        up to :data:`AUTO_MILP_MAX_PAIRS` pairs, with 60 s unless ``time_limit`` says otherwise.
        A ``time_limit`` also bounds the heuristic's improvement (``swap_time``
        of :func:`maximal_covering`, ``time_budget`` of :func:`set_covering`).
    required
        The share (%) that must be served for the result to be ``met``
        (default: 100 for LSCP, none for MCLP).
    id, title
        Names for the report.

    Returns
    -------
    SitingResult

    Examples
    --------
    How many new chargers, and where, bring every micro-park of the sample
    within 1 km (straight line) of one? Candidates: a 500 m grid, screened by the plan's rules.

    >>> from nbgeo import datasets, io, plan
    >>> ds, p = io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> r = site(ds, demand="micro_parks", facilities="chargers", distance=1000, year=2025, plan=p, cell=500)
    >>> str(r.status), len(r.chosen) > 0, r.solution.share_after > r.solution.share_before
    ('met', True, True)
    >>> int(r.demand["served_after"].lt(1).sum())
    0
    """
    check_method(method)
    by = "road" if by == "network" else by
    if by not in BY:
        msg = f"by must be one of {', '.join(BY)}, got {by!r}"
        raise InputError(msg, code="E-OPT-BY")
    if by == "road" and network is None:
        msg = "siting by road needs a road network (pass network=, or by='straight')"
        raise InputError(msg, code="E-NET-MISSING")
    if k is not None and share is not None:
        msg = "give k (the best k new sites) or share (the fewest sites serving that share), not both"
        raise InputError(msg, code="E-OPT-PROBLEM")
    ident = id or f"{facilities}_for_{demand}"
    notes: list[str] = []

    # The demand and the existing facilities, as the coverage audit sees them.
    d_all = dataset[demand]
    d_sel = d_all[filter_mask(d_all, demand_where, layer=demand, key=f"siting {ident!r}, key 'demand_where'")
                  & year_mask(d_all, year, column=year_column if demand_year_column is None else demand_year_column,
                              layer=demand, key="demand_year_column")]
    f_all = dataset[facilities]
    f_sel = f_all[filter_mask(f_all, facilities_where, layer=facilities,
                              key=f"siting {ident!r}, key 'facilities_where'")
                  & year_mask(f_all, year, layer=facilities, key="facilities_year_column",
                              column=year_column if facilities_year_column is None else facilities_year_column)]
    districts = dataset["districts"] if "districts" in dataset else None
    metric = network.crs if network is not None else metric_crs_of(dataset.metric(demand))
    how: Literal["road", "straight"] = "road" if by == "road" else "straight"
    if split not in (None, "none", "grid", "length"):
        msg = f"split must be one of none, grid, length, got {split!r}"
        raise InputError(msg, code="E-OPT-SPLIT")
    # In the dataset's working CRS (the network's, by road), as the coverage audit measures.
    before = coverage(d_sel.to_crs(metric), f_sel.to_crs(metric), distance=distance, by=how,
                              network=network, weight=weight, cell=split_cell, districts=districts,
                              split=split)  # type: ignore[arg-type]
    units = before.units
    if units.crs is None or not units.crs.equals(metric):
        units = units.to_crs(metric)
    w = units["weight"].to_numpy(dtype=np.float64)
    served_mask = units["distance"].to_numpy() <= distance

    # Candidates: given, or generated; only those that can reach unserved demand matter.
    if candidates is None:
        if network is not None:
            candidates = candidates_from_network(network, area=districts, spacing=cell)
            source = f"road network nodes inside the districts, one per {cell:g} m square (generated)"
        else:
            if districts is None:
                msg = "cannot generate candidate sites without a districts layer (hint: pass candidates=)"
                raise InputError(msg, code="E-OPT-CANDIDATES")
            candidates = candidates_from_grid(districts, cell, crs=metric)
            source = f"centres of a {cell:g} m grid inside the districts (generated)"
    else:
        if candidates.crs is None:

            msg = "the candidate sites have no CRS (hint: set_crs(...))"
            raise CRSError(msg, code="E-CRS-MISSING")
        source = "given"
    source = candidate_source or source
    cand_metric = candidates.to_crs(metric)
    c_geoms = np.asarray(cand_metric.geometry.values)
    u_geoms = np.asarray(units.geometry.values)
    # With capacity a new site near served demand can free an existing one's capacity: keep all within reach
    # of any demand. Without, only sites within reach of unserved demand can add anything.
    capped = capacity is not None or existing_capacity is not None
    targets = np.flatnonzero((w > 0) if capped else (~served_mask & (w > 0)))
    near = np.zeros(len(c_geoms), dtype=bool)
    if targets.size and len(c_geoms):
        _, hit = shapely.STRtree(c_geoms).query(u_geoms[targets], predicate="dwithin", distance=distance)
        near[hit] = True
    considered = candidates[near]
    dropped = int((~near).sum())
    if dropped:
        notes.append(f"{dropped:,} of {len(candidates):,} candidates are farther than {distance:g} m from any "
                     f"{'' if capped else 'unserved '}demand and were not considered")

    # The plan's rules decide which candidates may be chosen.
    if plan is not None and len(considered):
        screening = screen_candidates(considered, dataset, plan, layer=facilities, year=year)
        frame, conflicts, rule_rows = screening.frame, screening.conflicts, screening.rules
    else:
        frame = pd.DataFrame({"status": Status.PASS, "rules": "", "reason": ""}, index=considered.index)
        conflicts, rule_rows = np.zeros((0, 2), dtype=np.int64), []
    ok_status = (Status.PASS, Status.UNKNOWN) if allow_unknown else (Status.PASS,)
    allowed = np.flatnonzero(frame["status"].isin(ok_status).to_numpy())
    remap = np.full(len(considered), -1, dtype=np.int64)
    remap[allowed] = np.arange(allowed.size)
    if len(conflicts):
        conflicts = remap[conflicts]
        conflicts = conflicts[(conflicts >= 0).all(axis=1)]

    # The matrices and the solve.
    allowed_sites = considered.iloc[allowed]
    matrix = coverage_matrix(units, allowed_sites, distance, network=network)
    if capacity is None and existing_capacity is None:
        existing: CoverageMatrix | NDArray[np.bool_] = served_mask
    else:
        existing = coverage_matrix(units, f_sel, distance, network=network)
    # A time limit the planner gives bounds the heuristic's improvement as well as the exact solver.
    heuristic_budget = {} if time_limit is None else {"swap_time" if k is not None else "time_budget": time_limit}
    if method == "auto" and time_limit is None:
        time_limit = 60.0
    common: dict[str, Any] = {"weights": w, "existing": existing, "capacity": capacity,
                              "existing_capacity": existing_capacity, "conflicts": conflicts, "method": method,
                              "time_limit": time_limit, **heuristic_budget}
    if k is not None:
        sol = maximal_covering(matrix, k, **common)
    else:
        sol = set_covering(matrix, share=1.0 if share is None else share, **common)
        if required is None:
            required = 100.0 * (1.0 if share is None else share)

    # Results per demand site, per chosen site and per district.
    chosen_pos = sol.sites
    sub = matrix.subset(chosen_pos)
    new_site = np.full(len(units), None, dtype=object)
    new_dist = np.full(len(units), np.inf)
    if sub.nnz:
        cols = np.repeat(np.arange(sub.n_sites), np.diff(sub.indptr))
        order = np.lexsort((sub.distance, sub.indices))
        rows, cols, dist = sub.indices[order], cols[order], sub.distance[order]
        first = np.r_[True, rows[1:] != rows[:-1]]
        new_site[rows[first]] = np.asarray(allowed_sites.index, dtype=object)[chosen_pos[cols[first]]]
        new_dist[rows[first]] = dist[first]
    # A demand site of weight 0 has no share of weight to serve: its share is that of its units within reach.
    reach_after = served_mask | matrix.covered(chosen_pos)
    u = pd.DataFrame({"site": units["site"].to_numpy(), "weight": w, "before": w * sol.served_before,
                      "after": w * sol.served, "reach_before": served_mask.astype(np.float64),
                      "reach_after": reach_after.astype(np.float64), "coverable": sol.coverable,
                      "distance_before": units["distance"].to_numpy(), "new_site": new_site, "new_distance": new_dist,
                      "district": units["district"].to_numpy()})
    g = u.groupby("site", sort=False)
    per_site = pd.DataFrame({"weight": g["weight"].sum(), "before": g["before"].sum(), "after": g["after"].sum(),
                             "coverable": g["coverable"].all(), "district": g["district"].first(),
                             "distance_before": g["distance_before"].min(), "new_distance": g["new_distance"].min()})
    best = u.loc[g["new_distance"].idxmin().to_numpy(), ["site", "new_site"]]
    per_site["new_site"] = pd.Series(best["new_site"].to_numpy(), index=best["site"].to_numpy(), dtype=object)
    safe_w = per_site["weight"].where(per_site["weight"] > 0)
    per_site["served_before"] = (per_site["before"] / safe_w).fillna(g["reach_before"].mean()).clip(0, 1)
    per_site["served_after"] = (per_site["after"] / safe_w).fillna(g["reach_after"].mean()).clip(0, 1)
    per_site["newly_served"] = (per_site["served_after"] > per_site["served_before"] + 1e-9)
    per_site.loc[~per_site["newly_served"], ["new_site"]] = None
    per_site.loc[~per_site["newly_served"], ["new_distance"]] = np.inf
    demand_out = gpd.GeoDataFrame(
        per_site.drop(columns=["before", "after"]), geometry=d_sel.geometry.loc[per_site.index].to_numpy(), crs=4326)
    demand_out.index.name = demand_out.index.name or "id"

    chosen_gdf = allowed_sites.iloc[chosen_pos]
    chosen_metric = cand_metric.loc[near].iloc[allowed].iloc[chosen_pos]
    district_of = districts_of(np.asarray(chosen_metric.geometry.values), districts, "name", metric)
    newly_by_site = per_site.loc[per_site["newly_served"], "new_site"].value_counts()
    sites_served = newly_by_site.reindex(chosen_gdf.index, fill_value=0).to_numpy()
    spec = LAYERS.get(demand)
    demand_words = spec.title_en if spec is not None else demand.replace("_", " ")  # a reader sees no layer key
    labels = [f"{i}: #{n + 1}, serves {s} more {demand_words} site(s) (+{gain:,.6g} weight)"
              + (f", {dname}" if dname else "")
              for n, (i, s, gain, dname) in enumerate(zip(chosen_gdf.index, sites_served, sol.gains, district_of,
                                                          strict=True))]
    chosen_out = gpd.GeoDataFrame(
        {"order": np.arange(1, len(chosen_pos) + 1), "gain": sol.gains, "sites_served": sites_served,
         "district": district_of, "label": labels},
        geometry=chosen_gdf.geometry.to_crs(4326).to_numpy(), crs=4326, index=chosen_gdf.index)

    cand_out = gpd.GeoDataFrame(frame.copy(), geometry=considered.geometry.to_crs(4326).to_numpy(), crs=4326)
    cand_out["chosen"] = False
    cand_out["order"] = 0
    cand_out.loc[chosen_gdf.index, "chosen"] = True
    cand_out.loc[chosen_gdf.index, "order"] = np.arange(1, len(chosen_pos) + 1)

    new_by_district = pd.Series(district_of, dtype=object).value_counts(dropna=False)
    dg = per_site.groupby("district", sort=True, dropna=False)
    by_district = pd.DataFrame({"sites": dg.size(), "weight": dg["weight"].sum(), "before": dg["before"].sum(),
                                "after": dg["after"].sum()})
    by_district["share_before"] = 100.0 * by_district["before"] / by_district["weight"].where(by_district["weight"] > 0)
    by_district["share_after"] = 100.0 * by_district["after"] / by_district["weight"].where(by_district["weight"] > 0)
    by_district["new_sites"] = new_by_district.reindex(by_district.index, fill_value=0).astype(int).to_numpy()

    net_info = None
    if network is not None:
        meta = network.meta
        net_info = {"file": meta.file, "source": meta.source, "licence": meta.licence,
                    "illustrative": meta.illustrative, "nodes": network.n_nodes, "edges": network.n_edges}
    illustrative = bool(dataset.layer(demand).meta.illustrative or dataset.layer(facilities).meta.illustrative
                        or (network is not None and network.meta.illustrative))
    if by == "straight":
        notes.append("distances are straight-line, not by road")
    return SitingResult(
        id=ident, title=title, demand_layer=demand, facility_layer=facilities, solution=sol, distance=float(distance),
        by=by, year=year, demand=demand_out, candidates=cand_out, chosen=chosen_out, by_district=by_district,
        candidate_source=source, screening=rule_rows, required=required, network=net_info,
        illustrative=illustrative, notes=tuple(notes))
