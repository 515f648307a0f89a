"""Validate layers against their schemas, reporting every problem at once.

:func:`verify_layer` returns a list of :class:`~nbgeo.errors.Problem`, each
naming the layer, feature id and column, with a stable code and a hint.
:func:`raise_for_problems` turns the errors among them into one
:class:`~nbgeo.errors.ValidationError` that lists all of them.

Checks are vectorised; only offending features are turned into problems,
and at most ``max_per_code`` are listed per code (with a count of the rest).

:func:`repair_layer` fixes what can be fixed without guessing (invalid
polygons with ``make_valid``, never ``buffer(0)``, which silently drops half a
bowtie; repeated vertices) and returns one ``W-GEOM-REPAIRED`` problem per
changed feature, with its area before and after, so that every change reaches
the audit report.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, Polygon
>>> g = gpd.GeoDataFrame({"type": ["charging", "plasma"], "ports": [2, 4], "year": [2021, 2022]},
...                      geometry=[Point(121.5, 29.9), Polygon([(0, 0), (1, 1), (1, 0)])],
...                      crs=4326, index=["c1", "c2"])
>>> [p.code for p in verify_layer(g, layer="chargers")]
['E-LAYER-GEOMTYPE', 'E-VALUE-CATEGORY']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import limits
from .crs import check_coordinates, choose_working_crs
from .errors import Problem, ValidationError
from .forms import YEAR_FORMS
from .layers import LAYERS, POLYGONS

if TYPE_CHECKING:
    from .layers import LayerSpec

__all__ = ["REPAIRABLE", "geometry_code", "raise_for_problems", "repair_layer", "verify_layer"]

_YEAR_RANGE = (1900, 2100)


class _Where(TypedDict):
    """The keyword arguments that every :func:`_add` call of one layer shares."""

    layer: str
    file: str | None
    max_per_code: int


def _add(problems: list[Problem], code: str, ids: list[object], message: str, *, layer: str, file: str | None,
         column: str | None = None, hint: str | None = None, max_per_code: int = 20) -> None:
    for fid in ids[:max_per_code]:
        problems.append(Problem(code, message, file=file, layer=layer, feature=fid, column=column, hint=hint))
    if len(ids) > max_per_code:
        more = len(ids) - max_per_code
        problems.append(Problem(code, f"{message} ({more} more features not listed)", file=file, layer=layer,
                                column=column, hint=hint))


def _each(problems: list[Problem], code: str, values: pd.Series, message: str, *, layer: str, file: str | None,
          column: str, hint: str, max_per_code: int = 20) -> None:
    """One problem per feature, naming its value: ``"'soon' is not a year in 'year'"`` (at most ``max_per_code``)."""
    for fid, value in values.iloc[:max_per_code].items():
        shown = repr(value.item() if isinstance(value, np.generic) else value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        problems.append(Problem(code, f"{shown} {message}", file=file, layer=layer, feature=fid, column=column,
                                hint=hint))
    if len(values) > max_per_code:
        problems.append(Problem(code, f"{len(values) - max_per_code} more values {message} (not listed)", file=file,
                                layer=layer, column=column, hint=hint))


_TYPE_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                        "MultiPolygon", "GeometryCollection"])

#: Codes that ``repair_layer`` (``--repair``) can fix.
REPAIRABLE = frozenset({"E-GEOM-SELFX", "E-GEOM-HOLE", "E-GEOM-DEGENERATE", "E-GEOM-INVALID", "E-GEOM-FEWPOINTS"})


def geometry_code(geom: object, reason: str, *, measure: bool = True) -> str:
    """Map GEOS's validity reason for an invalid geometry to nbgeo's stable code.

    A self-intersection that ``make_valid`` resolves without changing the area
    is a zero-width spike or a collapsed ring (``E-GEOM-DEGENERATE``); one that
    changes the area is a real crossing such as a bowtie (``E-GEOM-SELFX``).
    With ``measure=False`` (a geometry too costly to repair within
    :data:`nbgeo.limits.max_work_seconds`) no ``make_valid`` runs and every
    self-intersection is ``E-GEOM-SELFX``.

    Examples
    --------
    >>> from shapely import wkt
    >>> bowtie = wkt.loads("POLYGON((0 0,2 2,2 0,0 2,0 0))")
    >>> spike = wkt.loads("POLYGON((0 0,2 0,2 2,1 2,1 5,1 2,0 2,0 0))")
    >>> [geometry_code(g, shapely.is_valid_reason(g)) for g in (bowtie, spike)]
    ['E-GEOM-SELFX', 'E-GEOM-DEGENERATE']
    """
    if reason.startswith("Too few points"):
        return "E-GEOM-FEWPOINTS"
    if reason.startswith(("Hole lies outside shell", "Holes are nested", "Interior is disconnected")):
        return "E-GEOM-HOLE"
    if reason.startswith(("Ring Self-intersection", "Duplicate Rings")):
        return "E-GEOM-DEGENERATE"
    if reason.startswith(("Self-intersection", "Nested shells")):
        if not measure:
            return "E-GEOM-SELFX"
        before = float(shapely.area(geom))
        after = float(shapely.area(shapely.make_valid(geom, method="structure", keep_collapsed=False)))
        if after == 0.0 or abs(after - before) <= 1e-9 * max(abs(after), 1e-300):
            return "E-GEOM-DEGENERATE"
        return "E-GEOM-SELFX"
    return "E-GEOM-INVALID"


def _geometry_problems(gdf: gpd.GeoDataFrame, spec: LayerSpec | None, *, layer: str, file: str | None,
                       max_per_code: int, datum: str) -> list[Problem]:
    problems: list[Problem] = []
    geoms = np.asarray(gdf.geometry.values)
    ids = gdf.index.to_numpy()
    kw = _Where(layer=layer, file=file, max_per_code=max_per_code)

    missing = shapely.is_missing(geoms)
    _add(problems, "W-GEOM-NULL", list(ids[missing]), "feature has no geometry; it is left out of every measure",
         hint="give it a geometry or delete it", **kw)
    present = ~missing
    empty = present & shapely.is_empty(geoms)
    _add(problems, "W-GEOM-EMPTY", list(ids[empty]), "feature has an empty geometry; it is left out of every measure",
         **kw)
    solid = present & ~empty

    # Non-finite coordinates first: every later test is meaningless on them.
    coords, index = shapely.get_coordinates(geoms[solid], return_index=True)
    bad_rows = np.unique(index[~np.isfinite(coords).all(axis=1)])
    nonfinite = np.zeros(len(geoms), dtype=bool)
    nonfinite[np.flatnonzero(solid)[bad_rows]] = True
    _add(problems, "E-GEOM-NONFINITE", list(ids[nonfinite]), "geometry has NaN or infinite coordinates",
         hint="fix the coordinates at the source; nbgeo will not guess them", **kw)

    has_z = solid & shapely.has_z(geoms)
    if has_z.any():
        _add(problems, "W-GEOM-Z", list(ids[has_z]), "geometry has Z values; nbgeo works in 2D and ignores them",
             **kw)

    usable = solid & ~nonfinite
    if spec is not None:
        types = shapely.get_type_id(geoms)
        type_names = np.where(types >= 0, _TYPE_NAMES[np.clip(types, 0, 7)], "")
        wrong = usable & ~np.isin(type_names, spec.geom_types)
        for type_name in sorted(set(type_names[wrong])):
            rows = wrong & (type_names == type_name)
            _add(problems, "E-LAYER-GEOMTYPE", list(ids[rows]),
                 f"geometry is a {type_name}; layer {layer!r} holds {' or '.join(spec.geom_types)}",
                 hint="split mixed layers into one file per geometry type", **kw)

    # GEOS's validity check is superlinear in the edges that may cross: refuse what would not finish in time.
    limits.check_work(geoms[usable], ids[usable], step="validity check", file=file, layer=layer)
    invalid = usable & ~shapely.is_valid(geoms)
    if invalid.any():
        rows = np.flatnonzero(invalid)
        reasons = shapely.is_valid_reason(geoms[rows])
        # Telling a spike from a crossing takes a make_valid: only where a repair would fit the budgets.
        cost = limits.work_seconds(geoms[rows], step="repair")
        measure = (cost <= limits.max_work_seconds) & (np.cumsum(cost) <= limits.max_total_work_seconds)
        by_code: dict[str, list[tuple[object, str]]] = {}
        for row, reason, fits in zip(rows, reasons, measure, strict=True):
            by_code.setdefault(geometry_code(geoms[row], reason, measure=bool(fits)), []).append((ids[row], reason))
        for code, found in by_code.items():
            for fid, reason in found[:max_per_code]:
                problems.append(Problem(code, f"invalid geometry: {reason}", file=file, layer=layer, feature=fid,
                                        hint="repair with make_valid (nbgeo --repair), not buffer(0)"))
            if len(found) > max_per_code:
                problems.append(Problem(code, f"{len(found) - max_per_code} more invalid geometries",
                                        file=file, layer=layer))

    # Coordinates that cannot be right in the declared CRS: swapped, wrong units, outside its area.
    if gdf.crs is not None and len(coords):
        solid_ids = ids[np.flatnonzero(solid)]
        for issue in check_coordinates(coords[:, 0], coords[:, 1], gdf.crs, datum=datum):
            fids = list(pd.unique(solid_ids[np.unique(index[issue.rows])]))
            _add(problems, issue.code, fids, f"{issue.message} ({int(issue.rows.sum())} vertices)",
                 hint=issue.hint, **kw)

    lines_or_polys = usable & (shapely.get_dimensions(geoms) >= 1)
    if lines_or_polys.any():
        rows = np.flatnonzero(lines_or_polys)
        ring_xy, vertex_ring, ring_geom = limits.ring_coordinates(geoms[rows])
        same_ring = vertex_ring[1:] == vertex_ring[:-1]
        step = np.diff(ring_xy, axis=0)
        repeated = same_ring & (step == 0).all(axis=1)
        if repeated.any():
            where = rows[np.unique(ring_geom[vertex_ring[1:][repeated]])]
            problems.append(Problem(
                "W-GEOM-REPEATED", f"{int(repeated.sum())} repeated consecutive vertices in {len(where)} features "
                f"(first: {', '.join(map(repr, ids[where][:5]))}); harmless, removed by --repair",
                file=file, layer=layer))
        if gdf.crs is not None and gdf.crs.is_geographic:
            jump = same_ring & (np.abs(step[:, 0]) > 180)
            if jump.any():
                where = rows[np.unique(ring_geom[vertex_ring[1:][jump]])]
                _add(problems, "E-GEOM-ANTIMERIDIAN", list(ids[where]),
                     "geometry jumps more than 180° of longitude: it crosses the antimeridian",
                     hint="split it at 180° (RFC 7946 §3.1.9); planar areas of such shapes are wrong", **kw)
    return problems


def _column_problems(gdf: gpd.GeoDataFrame, spec: LayerSpec, *, layer: str, file: str | None,
                     max_per_code: int) -> list[Problem]:
    problems: list[Problem] = []
    kw = _Where(layer=layer, file=file, max_per_code=max_per_code)
    for col in spec.columns:
        if col.is_yearly:
            prefix, suffix = col.name.split("{year}")
            present = [c for c in gdf.columns if c.startswith(prefix) and c.endswith(suffix)
                       and c[len(prefix):len(c) - len(suffix) or None].isdigit()]
            if not present and col.required:
                problems.append(Problem("E-COLUMN-MISSING", f"no yearly columns {col.name!r} (e.g. "
                                        f"{col.name.format(year=2025)!r})", file=file, layer=layer,
                                        column=col.name, hint=f"add one column per year: {col.description}"))
            columns = present
        elif col.name not in gdf.columns:
            if col.required:
                problems.append(Problem("E-COLUMN-MISSING", f"required column {col.name!r} is missing",
                                        file=file, layer=layer, column=col.name,
                                        hint=f"add it: {col.description or col.name}"
                                        + (f" (allowed: {', '.join(col.allowed)})" if col.allowed else "")))
            continue
        else:
            columns = [col.name]
        for name in columns:
            values = gdf[name]
            if col.dtype in ("int", "float", "year"):
                numeric = pd.to_numeric(values, errors="coerce")
                bad = values.notna() & numeric.isna()
                if col.dtype == "year":
                    what, hint = "a year", f"write the year in one of the forms nbgeo reads: {YEAR_FORMS}"
                else:
                    what = "a number"
                    hint = (f"write a number such as 1234.5 (a thousands separator and full-width digits are read)"
                            f"{': ' + col.description if col.description else ''}")
                _each(problems, "E-VALUE-TYPE", values[bad], f"is not {what} in {name!r}", column=name, hint=hint,
                      **kw)
                if col.dtype == "year":
                    out = numeric.notna() & ((numeric < _YEAR_RANGE[0]) | (numeric > _YEAR_RANGE[1])
                                             | (numeric != numeric.round()))
                    _each(problems, "E-VALUE-YEAR", values[out],
                          f"is not a year: a year is a whole number from {_YEAR_RANGE[0]} to {_YEAR_RANGE[1]} in "
                          f"{name!r}", column=name, hint=f"write the year in one of the forms nbgeo reads: {YEAR_FORMS}",
                          **kw)
                    missing = values.isna()
                    _add(problems, "W-VALUE-MISSING", list(gdf.index[missing]),
                         "year is missing; the feature is left out of yearly counts", column=name,
                         hint="fill in the year", **kw)
            if col.allowed:
                bad = values.notna() & ~values.isin(col.allowed)
                _add(problems, "E-VALUE-CATEGORY", list(gdf.index[bad]),
                     f"value not allowed in {name!r}", column=name,
                     hint=f"allowed: {', '.join(col.allowed)}", **kw)
    return problems


def verify_layer(gdf: gpd.GeoDataFrame, *, layer: str, file: str | None = None,
                 spec: LayerSpec | None = None, max_per_code: int = 20, datum: str = "WGS84") -> list[Problem]:
    """Check one layer against its schema and return every problem found.

    Parameters
    ----------
    gdf
        The layer, indexed by feature id.
    layer
        Its name; its schema is looked up in :data:`nbgeo.layers.LAYERS` unless ``spec`` is given.
    file
        The file it came from, for the messages.
    spec
        A schema to use instead of the registered one.
    max_per_code
        How many features to list for each problem code.
    datum
        The datum the coordinates are in (GCJ-02 and BD-09 data must lie in China).

    Returns
    -------
    list of Problem
        Empty when the layer is clean.
    """
    spec = spec or LAYERS.get(layer)
    problems: list[Problem] = []
    if len(gdf) == 0:
        zones = spec is not None and set(spec.geom_types) <= set(POLYGONS)
        problems.append(Problem("E-LAYER-EMPTY" if zones else "W-LAYER-EMPTY", "the layer has no features",
                                file=file, layer=layer,
                                hint="an empty export? measures over zones need the zones" if zones else None))
    if gdf.crs is None:
        problems.append(Problem("E-CRS-MISSING", "the layer has no CRS", file=file, layer=layer,
                                hint="add a .prj, declare crs in dataset.toml, or pass --assume-crs"))
    if gdf.index.has_duplicates:
        dups = list(pd.unique(gdf.index[gdf.index.duplicated(keep=False)]))
        _add(problems, "E-ID-DUPLICATE", dups, "feature id is not unique", layer=layer, file=file, column="id",
             hint="give every feature its own id", max_per_code=max_per_code)
    if gdf.index.hasnans:
        problems.append(Problem("E-ID-MISSING", f"{int(gdf.index.isna().sum())} feature(s) have no id",
                                file=file, layer=layer, column="id", hint="fill the id column"))
    with np.errstate(all="ignore"):  # huge or non-finite coordinates are reported, not warned about
        problems += _geometry_problems(gdf, spec, layer=layer, file=file, max_per_code=max_per_code, datum=datum)
    if spec is not None:
        problems += _column_problems(gdf, spec, layer=layer, file=file, max_per_code=max_per_code)
    return problems


def _metric_areas(before: np.ndarray, after: np.ndarray, crs: object) -> tuple[np.ndarray, np.ndarray]:
    """Planar areas in m² before and after a repair.

    In the layer's own CRS when it is projected, else in one working CRS chosen from the geometries'
    extent (best effort: a repair is reported, not refused).
    """
    out = []
    metric = None
    for geoms in (before, after):
        series = gpd.GeoSeries(geoms, crs=crs)
        if series.crs is not None and series.crs.is_geographic:
            metric = metric or choose_working_crs(series, strict=False).crs
            series = series.to_crs(metric)
        out.append(np.asarray(series.area, dtype=float))
    return out[0], out[1]


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (``make_valid`` may add points or lines)."""
    out = geoms.copy()
    mixed = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), (3, 6)))
    for row in mixed:  # few: only repaired geometries that are not (only) polygons
        parts = shapely.get_parts(geoms[row])
        polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out[row] = shapely.union_all(polys) if len(polys) else shapely.from_wkt("POLYGON EMPTY")
    return out


def repair_layer(gdf: gpd.GeoDataFrame, *, layer: str, file: str | None = None,
                 spec: LayerSpec | None = None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Repair what can be repaired without guessing, and list every change.

    * Invalid polygons are rebuilt with ``shapely.make_valid(method="structure")``
      (never ``buffer(0)``): a bowtie becomes two triangles, overlapping parts
      are unioned, a zero-area ring collapses to nothing. Polygon layers keep
      only the polygonal parts of the result.
    * Repeated consecutive vertices are removed (the shape is unchanged).

    Non-finite coordinates, wrong CRSs and bad attributes are not touched:
    there is no safe guess for them.

    Parameters
    ----------
    gdf
        The layer, indexed by feature id.
    layer, file
        Names for the messages; ``layer`` also selects the schema.
    spec
        A schema to use instead of the registered one.

    Returns
    -------
    (GeoDataFrame, list of Problem)
        The repaired copy, and one ``W-GEOM-REPAIRED`` problem per changed
        feature (area before and after, in m²) plus one for repeated vertices.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Polygon
    >>> bowtie = Polygon([(121.5, 29.8), (121.6, 29.9), (121.6, 29.8), (121.5, 29.9), (121.5, 29.8)])
    >>> g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[bowtie], crs=4326, index=["z1"])
    >>> fixed, changes = repair_layer(g, layer="clusters")
    >>> fixed.geometry.iloc[0].geom_type, fixed.geometry.iloc[0].is_valid, g.geometry.iloc[0].is_valid
    ('MultiPolygon', True, False)
    >>> print(changes[0])  # doctest: +ELLIPSIS
    [W-GEOM-REPAIRED] layer 'clusters', feature 'z1': repaired with make_valid (Self-intersection[121.55 29.85]): area ... m² → 53,557,... m², Polygon → MultiPolygon (hint: ...)
    """
    with np.errstate(all="ignore"):
        return _repair(gdf, layer=layer, file=file, spec=spec or LAYERS.get(layer))


def _repair(gdf: gpd.GeoDataFrame, *, layer: str, file: str | None,
            spec: LayerSpec | None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    geoms = np.asarray(gdf.geometry.values).copy()
    ids = gdf.index.to_numpy()
    changes: list[Problem] = []
    present = ~shapely.is_missing(geoms)
    present[present] = ~shapely.is_empty(geoms[present])
    finite = present.copy()
    if present.any():
        coords, index = shapely.get_coordinates(geoms[present], return_index=True)
        bad = np.unique(index[~np.isfinite(coords).all(axis=1)])
        finite[np.flatnonzero(present)[bad]] = False
    invalid = np.zeros(len(geoms), dtype=bool)
    limits.check_work(geoms[finite], ids[finite], step="validity check", file=file, layer=layer)
    invalid[finite] = ~shapely.is_valid(geoms[finite])

    if invalid.any():
        rows = np.flatnonzero(invalid)
        before = geoms[rows]
        limits.check_work(before, ids[rows], step="repair", file=file, layer=layer)
        reasons = shapely.is_valid_reason(before)
        after = shapely.make_valid(before, method="structure", keep_collapsed=False)
        if spec is not None and set(spec.geom_types) <= set(POLYGONS):
            after = _polygonal(after)
        # GEOS's make_valid is not robust in floating point: on rare inputs its result touches itself.
        # Union the parts (exact, then snapped to 1e-9 of a degree or 0.1 mm); what still fails stays reported.
        grid = 1e-9 if gdf.crs is not None and gdf.crs.is_geographic else 1e-4
        for size in (None, grid, grid * 100):
            for j in np.flatnonzero(~shapely.is_valid(after)):
                try:
                    after[j] = shapely.union_all(shapely.get_parts(after[j]), grid_size=size)
                except shapely.errors.GEOSException:
                    continue
        if spec is not None and set(spec.geom_types) <= set(POLYGONS):
            after = _polygonal(after)
        done = shapely.is_valid(after)
        rows, before, after, reasons = rows[done], before[done], after[done], reasons[done]
        area0, area1 = _metric_areas(before, after, gdf.crs)
        n0, n1 = shapely.get_num_coordinates(before), shapely.get_num_coordinates(after)
        for i, row in enumerate(rows):
            if shapely.is_empty(after[i]):
                what = "collapsed to nothing: it is left out of every measure"
            else:
                what = f"{before[i].geom_type} → {after[i].geom_type}"
                if n1[i] > 4 * n0[i]:
                    what += f", {n0[i]} → {n1[i]} vertices"
            changes.append(Problem(
                "W-GEOM-REPAIRED",
                f"repaired with make_valid ({reasons[i]}): area {area0[i]:,.0f} m² → {area1[i]:,.0f} m², {what}",
                file=file, layer=layer, feature=ids[row], hint="check the repaired shape against the source"))
        if len(rows):
            geoms[rows] = after

    lines_or_polys = np.flatnonzero(finite & (shapely.get_dimensions(geoms) >= 1))
    lines_or_polys = lines_or_polys[shapely.is_valid(geoms[lines_or_polys])]
    if len(lines_or_polys):
        cleaned = shapely.remove_repeated_points(geoms[lines_or_polys], tolerance=0.0)
        removed = shapely.get_num_coordinates(geoms[lines_or_polys]) - shapely.get_num_coordinates(cleaned)
        # Only where the shape stays what it was: a valid geometry of the same type.
        touched = (removed > 0) & shapely.is_valid(cleaned) & (
            shapely.get_type_id(cleaned) == shapely.get_type_id(geoms[lines_or_polys]))
        if touched.any():
            geoms[lines_or_polys[touched]] = cleaned[touched]
            names = ", ".join(map(repr, ids[lines_or_polys[touched]][:20]))
            more = f" and {int(touched.sum()) - 20} more" if touched.sum() > 20 else ""
            changes.append(Problem(
                "W-GEOM-REPAIRED", f"removed {int(removed.sum())} repeated vertices from {int(touched.sum())} "
                f"features ({names}{more}); their shapes are unchanged", file=file, layer=layer))

    out = gdf.copy()
    out[out.geometry.name] = geoms
    return out, changes


def raise_for_problems(problems: list[Problem], *, context: str) -> None:
    """Raise one ValidationError listing every error in ``problems``; warnings alone pass.

    Examples
    --------
    >>> from nbgeo.errors import Problem
    >>> raise_for_problems([Problem("W-GEOM-EMPTY", "empty")], context="x")
    >>> raise_for_problems([Problem("E-ID-MISSING", "no id", layer="chargers")], context="dataset 'x'")
    Traceback (most recent call last):
    ...
    nbgeo.errors.ValidationError: dataset 'x': 1 error(s)
      - [E-ID-MISSING] layer 'chargers': no id
    """
    if any(p.is_error for p in problems):
        raise ValidationError.from_problems(problems, context=context)
