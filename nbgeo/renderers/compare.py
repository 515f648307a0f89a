"""Scenarios side by side: two datasets, or two plans, audited and compared.

"As built" against "proposed", this year's data against last year's, the
2025 plan against the 2035 one: :func:`compare` audits both scenarios and
:func:`compare_reports` lines the results up:

* **targets**, by id and year: both values and verdicts, the change of the
  value, and whether the verdict got better or worse;
* **every other section** of the audit (rule findings, coverage, indicators,
  progress, ... whatever the audits hold): the status counts of each side and
  every entry whose status or figures changed, matched by its identifying
  fields (``id``, ``rule``, ``feature``, ``year``, ...);
* **sites**, per layer: features added and removed (by id), moved or
  reshaped (same id, other geometry), with changed attributes, and renamed
  (a new id at exactly the old geometry, matched by geometry).

A change is a *regression* when a verdict got worse (met → not met, pass →
fail, on track → off track, ...); ``nbgeo compare`` exits 1 when there is
any, so a batch job can refuse a proposal that breaks the plan.

:func:`write_comparison` writes ``compare.json`` (format ``nbgeo.compare/1``)
and ``compare.html``: one offline page with the tables and a map of scenario
B with the sites added, removed and moved drawn on top (A's geometry for what
was removed or moved away).

Examples
--------
>>> import dataclasses
>>> from nbgeo import compare, datasets, io, plan
>>> ds = io.read_sample()
>>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
>>> fewer = dataclasses.replace(ds, layers={**ds.layers, "chargers": dataclasses.replace(
...     ds.layer("chargers"), gdf=ds["chargers"].iloc[:9000])})
>>> c = compare.compare(ds, fewer, p, labels=("as built", "proposed"), progress=False)
>>> c.sites["chargers"].removed[:2], len(c.sites["chargers"].removed)
(('CH09001', 'CH09002'), 1600)
>>> [(t["id"], t["change"]) for t in c.targets if t["change"] != "same"]
[('chargers', 'now_not_met')]
>>> c.exit_code
1
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import _atomic, settings
from ..audit import SCHEMA as AUDIT_SCHEMA
from ..audit import nbgeo_version, run_audit
from ..crs import choose_working_crs
from ..errors import OutputError
from . import assets, chromium, labels, maps, readable, render, theme
from .entries import basis_text, severity_badge
from .maps import audit_map

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import folium

    from ..audit import AuditReport
    from ..layers import Dataset
    from ..plan import Plan

__all__ = [
    "KEY_FIELDS",
    "SCHEMA",
    "STATUS_RANK",
    "Comparison",
    "SiteChanges",
    "compare",
    "compare_map",
    "compare_reports",
    "site_changes",
    "to_html",
    "to_json",
    "write_comparison",
]

log = logging.getLogger(__name__)

#: The version of the ``compare.json`` format.
SCHEMA = "nbgeo.compare/1"

#: How good a status is (lower is better); statuses not listed rank in the middle.
STATUS_RANK: dict[str, int] = {
    "met": 0, "pass": 0, "on_track": 0, "covered": 0,
    "at_risk": 1, "unknown": 1, "no_data": 1, "baseline": 1,
    "not_met": 2, "fail": 2, "off_track": 2, "missed": 2, "uncovered": 2,
}

#: The fields that identify an entry of an audit section, in the order they are matched on.
KEY_FIELDS = ("id", "kind", "rule", "target", "coverage", "layer", "feature", "site", "demand", "facility", "year")

#: Coordinates closer than this (degrees, about 1 cm) count as the same geometry.
TOLERANCE_DEG = 1e-7


def _rank(status: str | None) -> int:
    return STATUS_RANK.get(str(status), 1)


# --------------------------------------------------------------------------------------------------
# sites


@dataclass(frozen=True)
class SiteChanges:
    """How one layer differs between scenario A and scenario B.

    Attributes
    ----------
    layer
        The layer.
    added, removed
        Ids only in B, only in A (after renamed features are taken out).
    moved
        Ids in both whose geometry differs (moved or reshaped).
    modified
        Ids in both whose attributes differ (in the columns both have).
    renamed
        ``(id in A, id in B)`` pairs with the same geometry and different ids.
    unchanged
        How many features are the same in both, id, geometry and attributes.
    columns_added, columns_removed
        Columns only in B, only in A.
    """

    layer: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    unchanged: int = 0
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    in_a: bool = True
    in_b: bool = True

    @property
    def changed(self) -> bool:
        """Whether anything differs."""
        return bool(self.added or self.removed or self.moved or self.modified or self.renamed
                    or self.columns_added or self.columns_removed or not (self.in_a and self.in_b))

    def counts(self) -> dict[str, int]:
        """How many features fall in each kind of change."""
        return {"added": len(self.added), "removed": len(self.removed), "moved": len(self.moved),
                "modified": len(self.modified), "renamed": len(self.renamed), "unchanged": self.unchanged}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: the counts and every id."""
        return {"layer": self.layer, "in_a": self.in_a, "in_b": self.in_b, **self.counts(),
                "added_ids": list(self.added), "removed_ids": list(self.removed), "moved_ids": list(self.moved),
                "modified_ids": list(self.modified), "renamed_ids": [list(p) for p in self.renamed],
                "columns_added": list(self.columns_added), "columns_removed": list(self.columns_removed)}


def _geometry_keys(geoms: np.ndarray) -> np.ndarray:
    """A hashable key per geometry, equal for equal shapes (vertex order and ~1 cm noise aside)."""
    snapped = shapely.normalize(shapely.set_precision(geoms, TOLERANCE_DEG * 10))
    return np.asarray(shapely.to_wkb(snapped, hex=True), dtype=object)


def _same_values(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality that treats two missing values as equal and 1 == 1.0."""
    left, right = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    missing_l, missing_r = pd.isna(a).to_numpy(), pd.isna(b).to_numpy()
    equal = np.asarray(left == right, dtype=bool)  # element-wise on object arrays
    try:
        num_l, num_r = pd.to_numeric(a, errors="raise"), pd.to_numeric(b, errors="raise")
        equal |= np.isclose(num_l.to_numpy(dtype=float), num_r.to_numpy(dtype=float), rtol=0, atol=1e-9)
    except (TypeError, ValueError):
        pass
    return equal | (missing_l & missing_r)


def site_changes(a: gpd.GeoDataFrame | None, b: gpd.GeoDataFrame | None, *, layer: str = "") -> SiteChanges:
    """Features added, removed, moved, modified and renamed between two versions of a layer.

    Features are matched by id (the index). Geometries are compared after
    normalising vertex order, to within about 1 cm; features that appear
    under a new id at exactly the geometry of a vanished one are *renamed*,
    not added and removed.

    Parameters
    ----------
    a, b
        The layer in scenario A and in scenario B (EPSG:4326, indexed by id);
        None when the scenario lacks the layer.
    layer
        Its name, for the result.

    Returns
    -------
    SiteChanges

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> a = gpd.GeoDataFrame({"ports": [2, 4, 6]}, geometry=[Point(0, 0), Point(1, 1), Point(2, 2)],
    ...                      index=["c1", "c2", "c3"], crs=4326)
    >>> b = gpd.GeoDataFrame({"ports": [2, 8, 6, 1]}, geometry=[Point(0, 0), Point(1, 1.5), Point(2, 2),
    ...                      Point(5, 5)], index=["c1", "c2", "c9", "c4"], crs=4326)
    >>> s = site_changes(a, b, layer="chargers")
    >>> s.added, s.removed, s.moved, s.modified, s.renamed, s.unchanged
    (('c4',), (), ('c2',), ('c2',), (('c3', 'c9'),), 1)
    """
    if a is None or b is None:
        present = b if a is None else a
        ids = tuple(sorted(map(str, present.index))) if present is not None else ()
        return SiteChanges(layer=layer, added=ids if a is None else (), removed=ids if b is None else (),
                           in_a=a is not None, in_b=b is not None)
    ids_a = pd.Index(a.index.astype(str).to_numpy(dtype=object))
    ids_b = pd.Index(b.index.astype(str).to_numpy(dtype=object))
    keep_a, keep_b = ~ids_a.duplicated(), ~ids_b.duplicated()
    if not (keep_a.all() and keep_b.all()):
        a, b, ids_a, ids_b = a[keep_a], b[keep_b], ids_a[keep_a], ids_b[keep_b]
        log.warning("layer %r has duplicate ids; only the first feature of each id is compared", layer)
    # Positions of the common ids in each layer, and of the ids only one side has.
    pos_b_of_a = ids_b.get_indexer(ids_a)
    in_b = pos_b_of_a >= 0
    pa = np.flatnonzero(in_b)
    pb = pos_b_of_a[in_b]
    only_a_pos = np.flatnonzero(~in_b)
    only_b_mask = np.ones(len(ids_b), dtype=bool)
    only_b_mask[pb] = False
    only_b_pos = np.flatnonzero(only_b_mask)

    geoms_a, geoms_b = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
    ga, gb = geoms_a[pa], geoms_b[pb]
    missing_a, missing_b = shapely.is_missing(ga), shapely.is_missing(gb)
    same_geom = shapely.equals_exact(ga, gb, tolerance=TOLERANCE_DEG)
    # Only geometries that differ as written get the costlier check up to vertex order.
    recheck = np.flatnonzero(~same_geom & ~missing_a & ~missing_b)
    if len(recheck):
        same_geom[recheck] = shapely.equals_exact(shapely.normalize(ga[recheck]), shapely.normalize(gb[recheck]),
                                                  tolerance=TOLERANCE_DEG)
    same_geom = np.where(missing_a | missing_b, missing_a & missing_b, same_geom)

    geom_a, geom_b = a.geometry.name, b.geometry.name
    cols_a = [c for c in a.columns if c != geom_a]
    cols_b = [c for c in b.columns if c != geom_b]
    shared = [c for c in cols_a if c in cols_b]
    same_attrs = np.ones(len(pa), dtype=bool)
    for column in shared:
        same_attrs &= _same_values(a[column].iloc[pa], b[column].iloc[pb])

    only_a = ids_a.to_numpy()[only_a_pos]
    only_b = ids_b.to_numpy()[only_b_pos]
    # Renamed: a vanished id and a new id at the same geometry, paired in order of appearance.
    renamed: list[tuple[str, str]] = []
    if len(only_a) and len(only_b):
        left = pd.DataFrame({"key": _geometry_keys(geoms_a[only_a_pos]), "id_a": only_a})
        right = pd.DataFrame({"key": _geometry_keys(geoms_b[only_b_pos]), "id_b": only_b})
        left = left[left["key"].notna()]
        right = right[right["key"].notna()]
        left["n"] = left.groupby("key").cumcount()
        right["n"] = right.groupby("key").cumcount()
        pairs = left.merge(right, on=["key", "n"], how="inner")
        renamed = list(zip(pairs["id_a"].tolist(), pairs["id_b"].tolist(), strict=True))
    renamed_a = {p[0] for p in renamed}
    renamed_b = {p[1] for p in renamed}
    common_ids = ids_a.to_numpy()[pa]
    return SiteChanges(
        layer=layer,
        added=tuple(sorted(i for i in only_b.tolist() if i not in renamed_b)),
        removed=tuple(sorted(i for i in only_a.tolist() if i not in renamed_a)),
        moved=tuple(sorted(common_ids[~same_geom].tolist())),
        modified=tuple(sorted(common_ids[~same_attrs].tolist())),
        renamed=tuple(sorted(renamed)),
        unchanged=int((same_geom & same_attrs).sum()),
        columns_added=tuple(sorted(str(c) for c in cols_b if c not in cols_a)),
        columns_removed=tuple(sorted(str(c) for c in cols_a if c not in cols_b)),
    )


# --------------------------------------------------------------------------------------------------
# targets and sections


def _change(status_a: str | None, status_b: str | None, margin_a: float | None, margin_b: float | None) -> str:
    """How a verdict changed from A to B."""
    if status_a is None:
        return "only_b"
    if status_b is None:
        return "only_a"
    if status_a != status_b:
        if status_a == "not_met" and status_b == "met":
            return "now_met"
        if status_a == "met" and status_b == "not_met":
            return "now_not_met"
        return "better" if _rank(status_b) < _rank(status_a) else "worse" if _rank(status_b) > _rank(status_a) \
            else "changed"
    if margin_a is not None and margin_b is not None:
        scale = max(1e-9, 1e-9 * max(abs(margin_a), abs(margin_b)))
        if margin_b - margin_a > scale:
            return "better"
        if margin_a - margin_b > scale:
            return "worse"
    return "same"


def _targets_side_by_side(a: AuditReport, b: AuditReport) -> list[dict[str, Any]]:
    left = {(r.id, r.year): r for r in a.targets}
    right = {(r.id, r.year): r for r in b.targets}
    keys = list(left) + [k for k in right if k not in left]
    rows = []
    for key in keys:
        ra, rb = left.get(key), right.get(key)
        first = ra or rb
        assert first is not None

        def side(r: Any) -> dict[str, Any] | None:
            if r is None:
                return None
            return {"op": r.op, "threshold": r.threshold, "actual": r.actual, "status": r.status, "margin": r.margin,
                    "severity": r.severity, "basis": dict(r.basis)}

        delta = None
        if ra is not None and rb is not None and ra.actual is not None and rb.actual is not None:
            delta = round(rb.actual - ra.actual, 6)
        rows.append({
            "id": first.id, "year": first.year, "layer": first.layer, "title": first.title, "phrase": first.phrase,
            "unit": first.unit, "a": side(ra), "b": side(rb), "delta": delta,
            "change": _change(ra.status if ra else None, rb.status if rb else None,
                              ra.margin if ra else None, rb.margin if rb else None),
        })
    return rows


def _entry_key(entry: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((f, str(entry[f])) for f in KEY_FIELDS if f in entry and entry[f] is not None)


def _scalars(entry: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in entry.items():
        if isinstance(v, bool) or k in KEY_FIELDS:
            continue
        if isinstance(v, (int, float)) and math.isfinite(v):
            out[k] = float(v)
    return out


def _section_side_by_side(name: str, left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]]
                          ) -> dict[str, Any]:
    def counts(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in entries:
            out[str(e.get("status"))] = out.get(str(e.get("status")), 0) + 1
        return out

    by_a = {_entry_key(e): e for e in left}
    by_b = {_entry_key(e): e for e in right}
    changes = []
    unchanged = 0
    for key in list(by_a) + [k for k in by_b if k not in by_a]:
        ea, eb = by_a.get(key), by_b.get(key)
        status_a = None if ea is None else str(ea.get("status"))
        status_b = None if eb is None else str(eb.get("status"))
        figures: dict[str, list[float | None]] = {}
        if ea is not None and eb is not None:
            sa, sb = _scalars(ea), _scalars(eb)
            for k in sorted(set(sa) | set(sb)):
                if sa.get(k) is None or sb.get(k) is None or not math.isclose(sa[k], sb[k], rel_tol=1e-9,
                                                                              abs_tol=1e-12):
                    figures[k] = [sa.get(k), sb.get(k)]
        if ea is not None and eb is not None and status_a == status_b and not figures:
            unchanged += 1
            continue
        if status_a is None:
            change = "only_b"
        elif status_b is None:
            change = "only_a"
        elif _rank(status_b) < _rank(status_a):
            change = "better"
        elif _rank(status_b) > _rank(status_a):
            change = "worse"
        else:
            change = "same" if status_a == status_b else "changed"
        title = (ea or eb or {}).get("title", "")
        # how binding each side's entry is and what it rests on, A then B like the figures (None: not there)
        changes.append({"key": dict(key), "title": title, "a": status_a, "b": status_b, "change": change,
                        "figures": figures, "severity": [None if e is None else e.get("severity") for e in (ea, eb)],
                        "basis": [None if e is None else e.get("basis") for e in (ea, eb)]})
    return {"a": counts(left), "b": counts(right), "changes": changes, "unchanged": unchanged}


@dataclass(frozen=True)
class Comparison:
    """Two audits side by side.

    Attributes
    ----------
    a, b
        The audits of scenario A and scenario B.
    labels
        What to call them (``("as built", "proposed")``).
    targets
        One row per target and year: ``a`` and ``b`` (value, verdict, margin),
        ``delta`` (B minus A) and ``change`` (``same``, ``better``, ``worse``,
        ``now_met``, ``now_not_met``, ``only_a``, ``only_b``).
    sections
        Per audit section: status counts of each side and the changed entries.
    sites
        Per layer: :class:`SiteChanges`.
    """

    a: AuditReport
    b: AuditReport
    labels: tuple[str, str]
    targets: list[dict[str, Any]]
    sections: dict[str, dict[str, Any]]
    sites: dict[str, SiteChanges]
    created: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    @property
    def regressions(self) -> list[dict[str, Any]]:
        """Every verdict that got worse from A to B (targets, then section entries)."""
        out = [{"section": "targets", "id": t["id"], "year": t["year"], "a": t["a"]["status"], "b": t["b"]["status"],
                "severity": t["b"]["severity"], "basis": t["b"]["basis"]} for t in self.targets
               if t["a"] is not None and t["b"] is not None and _rank(t["b"]["status"]) > _rank(t["a"]["status"])]
        for name, section in self.sections.items():
            out += [{"section": name, **c["key"], "a": c["a"], "b": c["b"], "severity": c["severity"][1],
                     "basis": c["basis"][1]} for c in section["changes"] if c["change"] == "worse"]
        return out

    @property
    def exit_code(self) -> int:
        """1 when any verdict got worse from A to B, else 0."""
        return 1 if self.regressions else 0

    def summary(self) -> dict[str, Any]:
        """Counts: target changes, regressions, and site changes per layer."""
        changes: dict[str, int] = {}
        for t in self.targets:
            changes[t["change"]] = changes.get(t["change"], 0) + 1
        return {"targets": changes, "regressions": len(self.regressions),
                "sites": {name: s.counts() for name, s in self.sites.items() if s.changed}}

    def to_dict(self) -> dict[str, Any]:
        """The comparison in the versioned ``compare.json`` format (``nbgeo.compare/1``)."""

        def scenario(r: AuditReport, label: str) -> dict[str, Any]:
            return {"label": label, "dataset": {"name": r.dataset.name, "path": r.dataset.path,
                                                "illustrative": r.dataset.illustrative},
                    "plan": {"id": r.plan.id, "title": r.plan.title, "baseline": r.plan.baseline,
                             "horizon": r.plan.horizon, "path": r.plan.path},
                    "year": r.year, "summary": r.summary(), "audit_schema": AUDIT_SCHEMA}

        return {
            "schema": SCHEMA, "nbgeo": nbgeo_version(), "created": self.created,
            "a": scenario(self.a, self.labels[0]), "b": scenario(self.b, self.labels[1]),
            "targets": self.targets, "sections": self.sections,
            "sites": {name: s.to_dict() for name, s in self.sites.items()},
            "regressions": self.regressions, "summary": self.summary(),
        }

    def to_text(self) -> str:
        """Targets side by side, then what changed in the sections and the sites, for a terminal."""
        la, lb = self.labels
        rows = [("target", "year", la, "", lb, "", "change", "severity", "basis")]
        for t in self.targets:
            def cell(side: dict[str, Any] | None) -> tuple[str, str]:
                if side is None:
                    return "—", ""
                return readable.number(side["actual"]), readable.words(side["status"], "en")
            a_val, a_st = cell(t["a"])
            b_val, b_st = cell(t["b"])
            bound = t["b"] or t["a"]
            rows.append((t["id"], readable.year(t["year"]), a_val, a_st, b_val, b_st,
                         readable.words(t["change"], "en", namespace="value"), bound["severity"],
                         basis_text(bound["basis"])))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        for name, section in self.sections.items():
            moved = [c for c in section["changes"] if c["change"] in ("better", "worse", "only_a", "only_b")]
            counts_a = ", ".join(f"{n:,} {readable.words(k, 'en')}" for k, n in section["a"].items()) or "none"
            counts_b = ", ".join(f"{n:,} {readable.words(k, 'en')}" for k, n in section["b"].items()) or "none"
            lines.append(f"{name}: {la} {counts_a}; {lb} {counts_b}; {len(moved)} verdicts changed")
        for name, s in self.sites.items():
            if s.changed:
                c = s.counts()
                lines.append(f"sites {name}: +{c['added']} added, -{c['removed']} removed, {c['moved']} moved, "
                             f"{c['modified']} modified, {c['renamed']} renamed")
        n = len(self.regressions)
        lines.append(f"{n} regression{'s' if n != 1 else ''} from {la} to {lb}")
        return "\n".join(lines)


def compare_reports(a: AuditReport, b: AuditReport, *, labels: tuple[str, str] = ("A", "B")) -> Comparison:
    """Line up two audits: targets, every section, and the sites of every layer.

    Parameters
    ----------
    a, b
        Audits of the two scenarios (e.g. from :func:`nbgeo.audit.run_audit`).
    labels
        What to call the two scenarios.

    Returns
    -------
    Comparison
    """
    sections = {}
    for name in list(a.sections) + [n for n in b.sections if n not in a.sections]:
        sections[name] = _section_side_by_side(name, a.sections.get(name, []), b.sections.get(name, []))
    sites = {}
    names = list(a.dataset.names) + [n for n in b.dataset.names if n not in a.dataset.names]
    for name in names:
        if a.dataset is b.dataset:
            sites[name] = SiteChanges(layer=name, unchanged=len(a.dataset[name]))
            continue
        left = a.dataset[name] if name in a.dataset else None
        right = b.dataset[name] if name in b.dataset else None
        sites[name] = site_changes(left, right, layer=name)
    return Comparison(a=a, b=b, labels=labels, targets=_targets_side_by_side(a, b), sections=sections, sites=sites)


def compare(dataset_a: Dataset, dataset_b: Dataset, plan_a: Plan, plan_b: Plan | None = None, *,
            year: int | None = None, labels: tuple[str, str] | None = None, progress: bool = True) -> Comparison:
    """Audit two scenarios and compare them.

    Parameters
    ----------
    dataset_a, dataset_b
        The two datasets (the same object to compare two plans on one dataset).
    plan_a, plan_b
        The plans; ``plan_b`` defaults to ``plan_a``.
    year
        The evaluation year of both audits; default ``settings.default_year``,
        else the earlier of the two plans' horizons, so both are judged on
        the same year.
    labels
        What to call the scenarios; default the datasets' names, or the plans'
        ids when the dataset is the same.
    progress
        Also compare the progress per year (the ``progress`` sections).

    Returns
    -------
    Comparison
    """
    plan_b = plan_b or plan_a
    if labels is None:
        labels = (plan_a.id, plan_b.id) if dataset_a is dataset_b else (dataset_a.name, dataset_b.name)
        if labels[0] == labels[1]:
            labels = ("A", "B")
    if year is None:
        year = settings.default_year or min(plan_a.horizon, plan_b.horizon)
    if dataset_a is not dataset_b:
        dataset_a, dataset_b = _one_working_crs(dataset_a, dataset_b)
    report_a = run_audit(dataset_a, plan_a, year=year, progress=progress)
    report_b = run_audit(dataset_b, plan_b, year=year, progress=progress)
    return compare_reports(report_a, report_b, labels=labels)


def _one_working_crs(dataset_a: Dataset, dataset_b: Dataset) -> tuple[Dataset, Dataset]:
    """Both datasets measured in one working CRS, chosen from both extents.

    So a site that did not change measures the same in A and B. A CRS either declares is kept.
    """
    choice_a, choice_b = dataset_a.crs_choice, dataset_b.crs_choice
    if (choice_a is None or choice_b is None or choice_a.source != "data" or choice_b.source != "data"
            or choice_a.crs.equals(choice_b.crs)):
        return dataset_a, dataset_b
    layers = [layer.gdf for ds in (dataset_a, dataset_b) for layer in ds.layers.values()]
    joint = choose_working_crs(layers, strict=False)
    if joint.problem is not None:  # too far apart to share one: each is measured in its own
        log.warning("Scenarios A and B are measured in different working CRSs: %s", joint.problem)
        return dataset_a, dataset_b
    return replace(dataset_a, crs_choice=joint), replace(dataset_b, crs_choice=joint)


# --------------------------------------------------------------------------------------------------
# output


def overlays(comparison: Comparison) -> dict[str, gpd.GeoDataFrame]:
    """Map overlays of the site changes: added and moved (as in B), removed and moved away (as in A).

    Each overlay has ``status`` (``added``, ``removed``, ``moved_from``,
    ``moved_to``, ``renamed``) and a plain-text ``label``.
    """
    la, lb = comparison.labels
    frames: dict[str, list[gpd.GeoDataFrame]] = {"added": [], "removed": [], "moved_from": [], "moved_to": []}
    for name, s in comparison.sites.items():
        if not s.changed:
            continue
        ds_a, ds_b = comparison.a.dataset, comparison.b.dataset

        def take(ds: Dataset, ids: Sequence[str], status: str, text: str, layer: str = name) -> None:
            if not ids or layer not in ds:
                return
            gdf = ds[layer]
            index = pd.Index(gdf.index.astype(str))
            rows = gdf.iloc[index.get_indexer(list(ids))]
            rows = rows[~(rows.geometry.isna() | rows.geometry.is_empty)]
            if rows.empty:
                return
            frames[status].append(gpd.GeoDataFrame(
                {"status": status, "layer": layer, "label": [f"{layer} {i}: {text}" for i in rows.index.astype(str)]},
                geometry=rows.geometry.to_numpy(), crs=4326, index=rows.index.astype(str)))

        take(ds_b, s.added, "added", f"only in {lb}")
        take(ds_a, s.removed, "removed", f"only in {la}")
        take(ds_a, s.moved, "moved_from", f"geometry in {la}")
        take(ds_b, s.moved, "moved_to", f"geometry in {lb}")
    titles = {"added": f"Added in {lb}", "removed": f"Removed (only in {la})", "moved_from": f"Moved: as in {la}",
              "moved_to": f"Moved: as in {lb}"}
    out = {}
    for status, parts in frames.items():
        if parts:
            out[titles[status]] = gpd.GeoDataFrame(pd.concat(parts), crs=4326)
    return out


def compare_map(comparison: Comparison, *, lang: str = "zh") -> folium.Map:
    """A map of scenario B with the site changes on top (A's geometry for what was removed or moved away)."""
    b = comparison.b
    shown = replace(b, overlays={**overlays(comparison), **b.overlays})
    return audit_map(shown, lang=lang)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def to_json(comparison: Comparison) -> str:
    """The comparison as ``compare.json`` text (always valid JSON)."""
    return json.dumps(_clean(comparison.to_dict()), ensure_ascii=False, indent=2, allow_nan=False)




def _pill(text: str | None, lang: str = "en") -> dict[str, str] | None:
    """A verdict or change as ``macros.html.j2``'s pill, in the reader's words (compare.json keeps the keys)."""
    return None if text is None else {"text": readable.words(text, lang, namespace="value"),
                                      "colour": theme.colour(text)}


def _fmt(value: float | None) -> str:
    return readable.number(value)


#: Figures shown first when an entry changed, and years (printed without a thousands separator).
_FIGURE_ORDER = ("actual", "value", "expected", "threshold", "margin", "gap", "ratio", "projected", "share",
                 "distance_m", "deadline")
_YEAR_FIELDS = {"year", "deadline", "baseline", "as_of"}


def _figure(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    return readable.year(value) if name in _YEAR_FIELDS and float(value).is_integer() else _fmt(value)


def _ordered(figures: Mapping[str, list[float | None]], limit: int = 5) -> list[tuple[str, list[float | None]]]:
    rank = {k: i for i, k in enumerate(_FIGURE_ORDER)}
    return sorted(figures.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))[:limit]


#: The words of compare.html (``compare.*`` in nbgeo.renderers.labels).
_PAGE_WORDS = ("vs", "ill", "summary", "targets_are", "targets", "target", "year", "delta", "unit", "verdict", "entry",
               "change", "no_change", "sites", "layer", "added", "removed", "moved", "modified", "renamed", "same",
               "examples", "matched")


def _counts_text(counts: Mapping[str, int], lang: str) -> str:
    return ", ".join(f"{n:,} {readable.words(k, lang)}" for k, n in counts.items()) or "—"


def to_html(comparison: Comparison, *, map_html: str | None = None, head_extra: str = "", lang: str = "zh") -> str:
    """The comparison as one HTML page in ``lang`` (zh or en); ``map_html`` (:func:`nbgeo.maps.embed_html`) is placed in it.

    ``map_html`` and ``head_extra`` are placed as they are (nbgeo's own map and
    assets); every other text is escaped by the template. Every word of the page comes from
    :mod:`nbgeo.renderers.labels` in ``lang``; entries are shown by their plan titles (the id is the tooltip).
    """
    lang = labels.check_lang(lang)
    la, lb = comparison.labels
    a, b = comparison.a, comparison.b
    summary = comparison.summary()
    regressions = summary["regressions"]
    titles = {**readable.plan_titles(a.plan, lang), **readable.plan_titles(b.plan, lang)}

    def word(key: str, **values: Any) -> str:
        return labels.word(f"compare.{key}", lang).format(**values)

    def scenario(r: AuditReport, label: str) -> dict[str, Any]:
        return {"label": label, "text": word("describe", dataset=r.dataset.name, plan=r.plan.id, year=r.year)}

    def bound(severities: Sequence[Any], bases: Sequence[Any]) -> dict[str, Any]:
        """Each side's severity badge and basis, once when both sides agree."""
        sev = [v for v in dict.fromkeys(severities) if v is not None]
        return {"sevs": [severity_badge(v, lang) for v in sev], "advisory": sev == ["建议"],
                "basis": " / ".join(dict.fromkeys(basis_text(b) for b in bases if b is not None))}

    def side(s: dict[str, Any] | None) -> dict[str, Any] | None:
        if s is None:
            return None
        return {"actual": _fmt(s["actual"]), "op": s["op"], "threshold": _fmt(s["threshold"]),
                "status": _pill(s["status"], lang)}

    targets = [{"id": t["id"], "title": readable.title(t, lang) or readable.words(t["id"], lang),
                "phrase": "" if readable.title(t, lang) == t.get("phrase") else t.get("phrase") or "",
                "year": readable.year(t["year"]), "a": side(t["a"]), "b": side(t["b"]),
                "delta": "" if t["delta"] is None else readable.delta(t["delta"]),
                "unit": readable.unit(t["unit"], lang), "change": _pill(t["change"], lang),
                **bound([x["severity"] for x in (t["a"], t["b"]) if x], [x["basis"] for x in (t["a"], t["b"]) if x])}
               for t in comparison.targets]
    sections = []
    for name, section in comparison.sections.items():
        changed = [c for c in section["changes"] if c["change"] != "same" or c["figures"]]
        changes = []
        for c in changed[:200]:
            key = dict(c["key"])
            ident = str(key.pop("id", ""))
            head = titles.get(ident) or c["title"] or readable.words(ident, lang)
            changes.append({
                "id": ident, "head": head,
                "rest": " · ".join(f"{readable.words(k, lang, namespace='column')} {readable.value_text(v, lang)}"
                                   for k, v in key.items() if k not in ("kind", "layer") or not ident),
                "a": _pill(c["a"], lang), "b": _pill(c["b"], lang), "change": _pill(c["change"], lang),
                "figures": "; ".join(f"{readable.words(k, lang, namespace='column')}: {_figure(k, v[0])} → "
                                     f"{_figure(k, v[1])}" for k, v in _ordered(c["figures"])),
                **bound(c.get("severity") or (), c.get("basis") or ()),
            })
        sections.append({
            "title": labels.label("section", name, lang) if f"section.{name}" in labels.LABELS
            else readable.words(name, lang),
            "unchanged": word("unchanged", n=section["unchanged"]), "changes": changes,
            "counts_a": _counts_text(section["a"], lang), "counts_b": _counts_text(section["b"], lang),
            "more": word("more", n=len(changed) - 200) if len(changed) > 200 else None,
        })
    sites = []
    for name, s in comparison.sites.items():
        c = s.counts()
        sites.append({
            "name": name, "layer": readable.words(name, lang),
            "counts": [f"{c[k]:,}" for k in ("added", "removed", "moved", "modified", "renamed", "unchanged")],
            "note": "" if s.in_a and s.in_b else word("only_in", x=lb if not s.in_a else la),
            "examples": ", ".join([*s.added[:3], *s.removed[:3], *s.moved[:3]]),
        })
    w = {k: word(k) for k in _PAGE_WORDS} | {"figures": word("figures", a=la, b=lb), "map": word("map", a=la, b=lb)}
    return render.render(
        "compare.html.j2", lang="zh-CN" if lang == "zh" else "en", css=render.trusted(theme.PAGE_CSS),
        head=render.trusted(head_extra), w=w,
        a=scenario(a, la), b=scenario(b, lb), created=comparison.created,
        illustrative=a.dataset.illustrative or b.dataset.illustrative,
        regressions={"count": regressions, "shown": f"{regressions:,}", "tone": "fail" if regressions else "pass",
                     "colour": theme.BAD if regressions else theme.GOOD, "text": word("regressions", a=la, b=lb)},
        cards=[{"colour": theme.colour(k), "count": n, "label": readable.words(k, lang)}
               for k, n in summary["targets"].items()],
        targets=targets, sections=sections, sites=sites, map=render.trusted(map_html or ""),
    )


def write_comparison(comparison: Comparison, out_dir: str | Path, *, overwrite: bool = False, lang: str = "zh",
                     with_map: bool = True, formats: Sequence[str] = ("html",)) -> dict[str, Path]:
    """Write ``compare.json`` and each of ``formats`` into ``out_dir``, as one set.

    ``formats``: ``html`` (``compare.html``), ``pdf`` (``compare.pdf``, the page printed by headless Chromium:
    A4, numbered, the title and the number of regressions at the head of every page).

    All are rendered first; the set then replaces the earlier comparison's outputs in ``out_dir`` as a whole
    (:func:`nbgeo._atomic.output_set`), keeping every other file there; a failure leaves the earlier ones as they
    were. With ``pdf`` and no browser installed, nothing is done (``E-MAP-BROWSER``).

    Returns
    -------
    dict
        ``{"json": path, "html": path, "pdf": path}`` for the files written.
    """
    unknown = sorted(set(formats) - {"html", "pdf"})
    if unknown:
        msg = f"unknown format {', '.join(map(repr, unknown))}; compare writes html and pdf"
        raise OutputError(msg, code="E-IO-FORMAT")
    if "pdf" in formats:
        chromium.require_chromium()  # no browser: say so before any work
    out = Path(out_dir)
    names = {"json": "compare.json", **{f: f"compare.{f}" for f in ("html", "pdf") if f in formats}}
    _atomic.check_outputs(out, command="compare", names=names.values(), overwrite=overwrite)
    json_text = to_json(comparison)
    map_html, head = None, ""
    if with_map:
        map_html = maps.embed_html(compare_map(comparison, lang=lang), height="640px", element_id="nbgeo-compare-map")
        head = assets.head_html()
    html_text = to_html(comparison, map_html=map_html, head_extra=head, lang=lang)
    with _atomic.output_set(out, command="compare", overwrite=overwrite, expect=names.values()) as staging:
        (staging / names["json"]).write_text(json_text, encoding="utf-8")
        if "html" in names:
            (staging / names["html"]).write_text(html_text, encoding="utf-8")
        if "pdf" in names:  # printed from a private copy of the page
            with tempfile.TemporaryDirectory(prefix="nbgeo-print-") as tmp:
                page = Path(tmp) / "page.html"
                page.write_text(html_text, encoding="utf-8")
                chromium.print_pdf(page, staging / names["pdf"], overwrite=True)
    return {key: out / name for key, name in names.items()}
