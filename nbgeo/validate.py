"""Validate layers against their schemas, reporting every problem at once.

:func:`verify_layer` returns a list of :class:`~nbgeo.errors.Problem`, each
naming the layer, feature id and column, with a stable code and a hint.
:func:`raise_for_problems` turns the errors among them into one
:class:`~nbgeo.errors.ValidationError` that lists all of them.

Checks are vectorised; only offending features are turned into problems,
and at most ``max_per_code`` are listed per code (with a count of the rest).

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

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from .errors import Problem, ValidationError
from .layers import LAYERS

if TYPE_CHECKING:
    import geopandas as gpd

    from .layers import LayerSpec

__all__ = ["raise_for_problems", "verify_layer"]

_YEAR_RANGE = (1900, 2100)


def _add(problems: list[Problem], code: str, ids: list[object], message: str, *, layer: str, file: str | None,
         column: str | None = None, hint: str | None = None, max_per_code: int = 20) -> None:
    for fid in ids[:max_per_code]:
        problems.append(Problem(code, message, file=file, layer=layer, feature=fid, column=column, hint=hint))
    if len(ids) > max_per_code:
        more = len(ids) - max_per_code
        problems.append(Problem(code, f"{message} ({more} more features not listed)", file=file, layer=layer,
                                column=column, hint=hint))


def _geometry_problems(gdf: gpd.GeoDataFrame, spec: LayerSpec | None, *, layer: str, file: str | None,
                       max_per_code: int) -> list[Problem]:
    problems: list[Problem] = []
    geoms = np.asarray(gdf.geometry.values)
    ids = gdf.index.to_numpy()
    kw = {"layer": layer, "file": file, "max_per_code": max_per_code}

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
         hint="fix the coordinates at the source", **kw)

    usable = solid & ~nonfinite
    if spec is not None:
        types = shapely.get_type_id(geoms)
        names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                          "MultiPolygon", "GeometryCollection"])
        type_names = np.where(types >= 0, names[np.clip(types, 0, 7)], "")
        wrong = usable & ~np.isin(type_names, spec.geom_types)
        for type_name in sorted(set(type_names[wrong])):
            rows = wrong & (type_names == type_name)
            _add(problems, "E-LAYER-GEOMTYPE", list(ids[rows]),
                 f"geometry is a {type_name}; layer {layer!r} holds {' or '.join(spec.geom_types)}",
                 hint="split mixed layers into one file per geometry type", **kw)

    invalid = usable & ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        for fid, reason in zip(ids[invalid][:max_per_code], reasons[:max_per_code], strict=False):
            code = "E-GEOM-SELFX" if "Self-intersection" in reason else "E-GEOM-INVALID"
            problems.append(Problem(code, f"invalid geometry: {reason}", file=file, layer=layer, feature=fid,
                                    hint="repair with make_valid (nbgeo --repair), not buffer(0)"))
        if invalid.sum() > max_per_code:
            problems.append(Problem("E-GEOM-INVALID", f"{int(invalid.sum()) - max_per_code} more invalid geometries",
                                    file=file, layer=layer))

    # Longitude/latitude sanity: swapped axes or coordinates that are not degrees at all.
    if gdf.crs is not None and gdf.crs.is_geographic and len(coords):
        finite = coords[np.isfinite(coords).all(axis=1)]
        if len(finite):
            lon, lat = finite[:, 0], finite[:, 1]
            outside = (np.abs(lat) > 90) | (np.abs(lon) > 180)
            if outside.any():
                swapped = bool(((np.abs(lon[outside]) <= 90) & (np.abs(lat[outside]) <= 180)).all())
                hint = ("latitude and longitude look swapped: swap the columns" if swapped
                        else "the coordinates look projected (metres): declare the file's real CRS")
                problems.append(Problem("E-CRS-OUTOFBOUNDS",
                                        f"{int(outside.sum())} coordinate(s) outside the longitude/latitude range",
                                        file=file, layer=layer, hint=hint))
    return problems


def _column_problems(gdf: gpd.GeoDataFrame, spec: LayerSpec, *, layer: str, file: str | None,
                     max_per_code: int) -> list[Problem]:
    problems: list[Problem] = []
    kw = {"layer": layer, "file": file, "max_per_code": max_per_code}
    for col in spec.columns:
        if col.is_yearly:
            prefix, suffix = col.name.split("{year}")
            present = [c for c in gdf.columns if c.startswith(prefix) and c.endswith(suffix)
                       and c[len(prefix):len(c) - len(suffix) or None].isdigit()]
            if not present and col.required:
                problems.append(Problem("E-COLUMN-MISSING", f"no yearly columns {col.name!r} (e.g. "
                                        f"{col.name.format(year=2025)!r})", file=file, layer=layer,
                                        column=col.name, hint=col.description or None))
            columns = present
        elif col.name not in gdf.columns:
            if col.required:
                problems.append(Problem("E-COLUMN-MISSING", f"required column {col.name!r} is missing",
                                        file=file, layer=layer, column=col.name,
                                        hint=f"add it: {col.description}" if col.description else None))
            continue
        else:
            columns = [col.name]
        for name in columns:
            values = gdf[name]
            if col.dtype in ("int", "float", "year"):
                numeric = pd.to_numeric(values, errors="coerce")
                bad = values.notna() & numeric.isna()
                _add(problems, "E-VALUE-TYPE", list(gdf.index[bad]), f"value is not a number in {name!r}",
                     column=name, **kw)
                if col.dtype == "year":
                    out = numeric.notna() & ((numeric < _YEAR_RANGE[0]) | (numeric > _YEAR_RANGE[1])
                                             | (numeric != numeric.round()))
                    _add(problems, "E-VALUE-YEAR", list(gdf.index[out]),
                         f"year must be a whole number from {_YEAR_RANGE[0]} to {_YEAR_RANGE[1]}", column=name, **kw)
                    missing = values.isna()
                    _add(problems, "W-VALUE-MISSING", list(gdf.index[missing]),
                         "year is missing; the feature is left out of yearly counts", column=name, **kw)
            if col.allowed:
                bad = values.notna() & ~values.isin(col.allowed)
                _add(problems, "E-VALUE-CATEGORY", list(gdf.index[bad]),
                     f"value not allowed in {name!r}", column=name,
                     hint=f"allowed: {', '.join(col.allowed)}", **kw)
    return problems


def verify_layer(gdf: gpd.GeoDataFrame, *, layer: str, file: str | None = None,
                 spec: LayerSpec | None = None, max_per_code: int = 20) -> list[Problem]:
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

    Returns
    -------
    list of Problem
        Empty when the layer is clean.
    """
    spec = spec or LAYERS.get(layer)
    problems: list[Problem] = []
    if gdf.crs is None:
        problems.append(Problem("E-CRS-MISSING", "the layer has no CRS", file=file, layer=layer,
                                hint="add a .prj, or declare crs in the dataset manifest"))
    if gdf.index.has_duplicates:
        dups = list(pd.unique(gdf.index[gdf.index.duplicated(keep=False)]))
        _add(problems, "E-ID-DUPLICATE", dups, "feature id is not unique", layer=layer, file=file, column="id",
             hint="give every feature its own id", max_per_code=max_per_code)
    if gdf.index.hasnans:
        problems.append(Problem("E-ID-MISSING", f"{int(gdf.index.isna().sum())} feature(s) have no id",
                                file=file, layer=layer, column="id", hint="fill the id column"))
    problems += _geometry_problems(gdf, spec, layer=layer, file=file, max_per_code=max_per_code)
    if spec is not None:
        problems += _column_problems(gdf, spec, layer=layer, file=file, max_per_code=max_per_code)
    return problems


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
