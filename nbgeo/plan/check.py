"""The plan against the dataset, before any work: every layer, raster and column it names must be there.

A plan names layers (a target's ``layer``, a rule's ``against``, coverage's ``demand`` and
``facilities``, a siting question's ``candidates``, a criterion's ``layer``), rasters (a slope rule's
``dem``, a criterion's ``raster``), columns (filters, a ``sum``'s ``column``, a ``share``'s ``weight``,
``class_column``, ``match``, a year column it names). :func:`check_against` finds every one the dataset lacks and refuses the pair with one
error listing them all, each with the plan's file and line and the dataset's closest name.

A layer's default year column (``year``) is not a reference: a layer without it is ``unknown`` in
targets and coverage, the one year rule of :mod:`nbgeo.filters`. A year column the plan names
explicitly must exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import paths
from .._values import TomlLines
from ..errors import FilterError, InputError, PlanError
from ..filters import filter_mask, plan_filters
from .models import suggest
from .reader import PlanProblem

if TYPE_CHECKING:
    from ..layers import Dataset
    from .specs import Plan

__all__ = ["Reference", "check_against", "references"]

#: Siting candidates that are not layer names.
_CANDIDATE_WORDS = ("network", "grid")
#: Weights that are not columns.
_WEIGHT_WORDS = ("count", "area", "length")


@dataclass(frozen=True)
class Reference:
    """One name the plan expects in the dataset.

    ``what`` is ``"layer"``, ``"raster"`` or ``"column"`` (of ``layer``); ``table``, ``index`` and ``key``
    say where the plan names it.
    """

    what: str
    name: str
    table: str
    index: int | None
    key: str
    owner: str
    layer: str | None = None
    years: tuple[int, ...] = ()


def _columns(owner: str, table: str, i: int, layer: Any, key: str, value: Any, years: tuple[int, ...] = ()
             ) -> Iterator[Reference]:
    if isinstance(layer, str) and isinstance(value, str) and value:
        yield Reference("column", value, table, i, key, owner, layer=layer, years=years)


def references(plan: Plan) -> list[Reference]:
    """Every layer, raster, column and coverage id the plan names, with where it names it.

    Examples
    --------
    >>> from nbgeo import datasets, plan
    >>> refs = references(plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> sorted({r.what for r in refs}), refs[0].owner, refs[0].name
    (['column', 'layer', 'raster'], "target 'clusters_100bn'", 'clusters')
    """
    out: list[Reference] = []
    years = (plan.baseline, *plan.years)
    for i, t in enumerate(plan.targets):
        owner = f"target {t.id!r}"
        out.append(Reference("layer", t.layer, "targets", i, "layer", owner))
        if t.column:
            out += _columns(owner, "targets", i, t.layer, "column", t.column, years if "{year}" in t.column else ())
        if t.metric == "share" and t.weight not in _WEIGHT_WORDS:
            out += _columns(owner, "targets", i, t.layer, "weight", t.weight)
        if t.year_column != "year":
            out += _columns(owner, "targets", i, t.layer, "year_column", t.year_column)
    for i, r in enumerate(plan.rules):
        owner, p = f"rule {r.id!r}", r.params
        out.append(Reference("layer", r.layer, "rules", i, "layer", owner))
        if "against" in p:
            out.append(Reference("layer", str(p["against"]), "rules", i, "against", owner))
            out += _columns(owner, "rules", i, p["against"], "class_column", p.get("class_column"))
        if r.kind == "slope":
            out.append(Reference("raster", str(p.get("dem", "dem")), "rules", i, "dem", owner))
        if r.kind == "area":
            out += _columns(owner, "rules", i, r.layer, "column", p.get("column"))
        for site_col, zone_col in dict(p.get("match") or {}).items():
            out += _columns(owner, "rules", i, r.layer, "match", site_col)
            out += _columns(owner, "rules", i, p.get("against"), "match", zone_col)
    coverage_ids = {c.id: c for c in plan.coverage}
    for i, c in enumerate(plan.coverage):
        owner, p = f"coverage {c.id!r}", c.params
        out.append(Reference("layer", c.demand, "coverage", i, "demand", owner))
        out.append(Reference("layer", c.facilities, "coverage", i, "facilities", owner))
        if p.get("weight", "count") not in _WEIGHT_WORDS:
            out += _columns(owner, "coverage", i, c.demand, "weight", p.get("weight"))
        out += _year_columns(owner, "coverage", i, c.demand, c.facilities, p)
    for i, s in enumerate(plan.siting):
        owner, p = f"siting {s.id!r}", s.params
        cov = coverage_ids.get(str(p.get("coverage")))
        demand = p.get("demand") or (cov.demand if cov else None)
        facilities = p.get("facilities") or (cov.facilities if cov else None)
        for key in ("demand", "facilities"):
            if key in p:
                out.append(Reference("layer", str(p[key]), "siting", i, key, owner))
        candidates = p.get("candidates")
        if isinstance(candidates, str) and candidates not in _CANDIDATE_WORDS and ":" not in candidates:
            out.append(Reference("layer", candidates, "siting", i, "candidates", owner))
        if p.get("weight", "count") not in _WEIGHT_WORDS:
            out += _columns(owner, "siting", i, demand, "weight", p.get("weight"))
        out += _year_columns(owner, "siting", i, demand, facilities, p)
    criteria = 0
    for su in plan.suitability:
        for j, c in enumerate(su.params.get("criteria", ())):
            owner = f"suitability {su.id!r}, criterion #{j + 1}"
            if "layer" in c:
                out.append(Reference("layer", str(c["layer"]), "suitability.criteria", criteria + j, "layer", owner))
            if c.get("kind") in ("slope", "raster"):
                out.append(Reference("raster", str(c.get("raster", "dem")), "suitability.criteria", criteria + j,
                                     "raster", owner))
        criteria += len(su.params.get("criteria", ()))
    return out


def _year_columns(owner: str, table: str, i: int, demand: Any, facilities: Any, p: Mapping[str, Any]
                  ) -> Iterator[Reference]:
    """The year columns a coverage requirement or siting question names explicitly."""
    both = p.get("year_column")
    for side, layer in (("demand", demand), ("facilities", facilities)):
        key = f"{side}_year_column"
        if key in p:
            yield from _columns(owner, table, i, layer, key, p[key])
        elif both and both != "year":
            yield from _columns(owner, table, i, layer, "year_column", both)


def _lines(plan: Plan) -> TomlLines:
    if plan.path:
        try:
            return TomlLines(paths.read_input(plan.path, what="plan file").decode("utf-8", "replace"))
        except InputError:
            pass
    return TomlLines("")


def check_against(plan: Plan, dataset: Dataset) -> None:
    """Check every name the plan gives the dataset, and every filter, before any work starts.

    Parameters
    ----------
    plan
        The plan, as read.
    dataset
        The dataset it is run on.

    Raises
    ------
    PlanError
        ``E-PLAN-LAYER``, ``E-PLAN-RASTER``, ``E-PLAN-COLUMN`` or a filter's code (the first
        problem's), listing every mismatch with the plan's file and line and the dataset's closest name.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from nbgeo import datasets, io, plan
    >>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
    >>> ds = io.read_sample()
    >>> check_against(p, ds)
    >>> wrong = replace(p, targets=(replace(p.targets[0], layer="cluster"),))
    >>> check_against(wrong, ds)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbgeo.errors.PlanError: ...ningbo_2025.toml, line ...: [[targets]] #1, key 'layer': target 'clusters_100bn' reads layer 'cluster', which the dataset 'ningbo-sample' lacks (hint: did you mean 'clusters'? layers: ...)
    """
    lines = _lines(plan)
    where = plan.path or f"plan {plan.id!r}"
    found: list[PlanProblem] = []
    layers = list(dataset.layers)
    rasters = list(getattr(dataset, "rasters", {}) or {})

    def add(ref: Reference, code: str, msg: str, hint: str, *, layer: str | None = None,
            column: str | None = None) -> None:
        line = lines.line(ref.table, ref.index, ref.key)
        at = f"{where}, line {line}" if line else where
        text = f"{at}: [[{ref.table}]] #{(ref.index or 0) + 1}, key {ref.key!r}: {msg} (hint: {hint})"
        found.append(PlanProblem(code, text, file=plan.path, layer=layer, column=column, hint=hint, line=line,
                                 table=ref.table, index=ref.index, key=ref.key))

    for ref in references(plan):
        if ref.what == "layer" and ref.name not in dataset:
            add(ref, "E-PLAN-LAYER", f"{ref.owner} reads layer {ref.name!r}, which the dataset {dataset.name!r} "
                f"lacks", _did_you_mean(ref.name, layers, "layers"), layer=ref.name)
        elif ref.what == "raster" and ref.name not in rasters:
            add(ref, "E-PLAN-RASTER", f"{ref.owner} reads raster {ref.name!r}, which the dataset {dataset.name!r} "
                f"lacks", _did_you_mean(ref.name, rasters, "rasters"))
        elif ref.what == "column" and ref.layer is not None and ref.layer in dataset:
            columns = [str(c) for c in dataset[ref.layer].columns if c != "geometry"]
            wanted = [ref.name.format(year=y) for y in ref.years] if ref.years else [ref.name]
            if not set(wanted) & set(columns):
                add(ref, "E-PLAN-COLUMN", f"{ref.owner} reads column {ref.name!r} of layer {ref.layer!r}, which "
                    f"it lacks", _did_you_mean(wanted[-1], columns, "columns"), layer=ref.layer, column=ref.name)
    for use in plan_filters(plan):
        if use.layer not in dataset:
            continue  # reported above, as a layer the dataset lacks
        try:
            filter_mask(dataset[use.layer].iloc[:0], use.where, layer=use.layer, key=use.label)
        except FilterError as exc:
            column = exc.problems[0].column if exc.problems else None
            found.append(PlanProblem(exc.code, f"{where}: {exc.message}", file=plan.path, layer=use.layer,
                                     column=column, hint=exc.problems[0].hint if exc.problems else None,
                                     key=use.key))
    if not found:
        return
    cls = FilterError if found[0].code.startswith("E-FILTER") else PlanError
    if len(found) == 1:
        raise cls(found[0].message, code=found[0].code, problems=tuple(found))
    lines_out = [f"plan {plan.id!r} does not fit dataset {dataset.name!r}: {len(found)} problems:",
                 *(f"  {p.message}" for p in found)]
    raise cls("\n".join(lines_out), code=found[0].code, problems=tuple(found))


def _did_you_mean(name: str, options: list[str], what: str) -> str:
    close = suggest(name, options)
    shown = ", ".join(sorted(options)[:12]) + (", ..." if len(options) > 12 else "")
    return f"{close} {what}: {shown}" if close else f"{what}: {shown or 'none'}"
