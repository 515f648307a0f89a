"""A layer's own field names and value codes, read as nbgeo's: ``columns`` and ``values`` in ``dataset.toml``.

A planning bureau's exports keep their own names (名称, 用地面积, 出让年份, 地类编码) and codes. A layer's
table in the manifest maps them, one column of ours to one field of theirs, and many of their values
(codes or labels) to one of ours, or to a national code table by name (:mod:`nbgeo.landuse`)::

    [layers.land_transfers]
    file = "供地.shp"
    columns = { use = "地类编码", year = "出让年份", area = "用地面积" }
    values.use = "gb_land_use_2023"

    [layers.micro_parks]
    file = "小微园.gpkg"
    columns = { name = "名称", enterprises = "入驻企业数" }
    values.status = { built = ["新建", "已建成"], upgraded = ["提升", "改造提升"], planned = ["规划"] }

:func:`check_columns` and :func:`check_values` check both tables when the manifest is read
(:func:`nbgeo.manifest.read_manifest`); :func:`apply` renames and recodes a layer as it is read
(:func:`nbgeo.io.reading.read_any`), in memory only: the bureau's files are never changed. A field the
file does not have is an error naming the manifest line, with the closest field of the file.

Shapefile (dBASE) field names hold 10 characters, so ``enterprises`` arrives as ``enterprise`` and
``lead_industries`` as ``lead_indus``: a field that is exactly a column of the layer's schema cut to 10
characters is read as that column, with a warning saying so (``W-COLUMN-TRUNCATED``). Yearly columns
cannot be recognised that way (``output_2021`` ... ``output_2025`` all become ``output_202``, then
``output_2_1``, ``output_2_2`` ...), so those are an error showing the mapping line to add.

Examples
--------
>>> import geopandas as gpd, shapely
>>> g = gpd.GeoDataFrame({"名称": ["A"], "地类编码": ["100101"]}, geometry=[shapely.Point(121.5, 29.9)])
>>> fm = FieldMap("land_transfers", columns={"name": "名称", "use": "地类编码"}, values={"use": "gb_land_use_2023"})
>>> out, problems = apply(g, fm)
>>> out[["name", "use"]].iloc[0].tolist(), problems
(['A', 'industrial'], [])
>>> fm.describe()
['name ← 名称', 'use ← 地类编码 (国土空间调查、规划、用途管制用地用海分类（2023）)']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._values import type_name
from .errors import Problem
from .landuse import TABLES, code_text
from .layers import LAYERS

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

__all__ = ["SHAPEFILE_NAME_LENGTH", "FieldMap", "apply", "check_columns", "check_values"]

#: The longest field name a Shapefile's dBASE table holds.
SHAPEFILE_NAME_LENGTH = 10


def _near(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_columns(value: Any) -> str | None:
    """What is wrong with a ``columns`` table (a column of ours = a field of theirs), or None.

    Examples
    --------
    >>> check_columns({"name": "名称"}) is None
    True
    >>> check_columns({"name": 3})
    "must map each column to the file's field name as text: 'name' maps to 3 (an integer)"
    >>> check_columns({"name": "名称", "title": "名称"})
    "maps field '名称' to both 'name' and 'title'; a field is read as one column"
    """
    if not isinstance(value, dict):
        return f"must be a table such as columns = {{ name = \"名称\" }}, got {type_name(value)}"
    seen: dict[str, str] = {}
    for ours, theirs in value.items():
        if not isinstance(theirs, str) or not theirs.strip():
            return f"must map each column to the file's field name as text: {ours!r} maps to {theirs!r} " \
                   f"({type_name(theirs)})"
        if theirs in seen:
            return f"maps field {theirs!r} to both {seen[theirs]!r} and {ours!r}; a field is read as one column"
        seen[theirs] = ours
    return None


def _their_values(spec: Any) -> list[Any] | None:
    items = spec if isinstance(spec, list) else [spec]
    if not items or any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in items):
        return None
    return items


def check_values(value: Any) -> str | None:
    """What is wrong with a ``values`` table (per column: a code table's name, or ours = [theirs, ...]), or None.

    Examples
    --------
    >>> check_values({"use": "gb_land_use_2023"}) is None
    True
    >>> check_values({"use": "gb_land_use_2032"})
    "values.use: no code table 'gb_land_use_2032'; did you mean 'gb_land_use_2023'? Tables: gb_land_use_2023, gb_t_21010_2017"
    >>> check_values({"status": {"built": ["新建"], "upgraded": ["新建"]}})
    "values.status: their value '新建' is given for both 'built' and 'upgraded'; each of their values reads as one of ours"
    """
    if not isinstance(value, dict):
        return f"must be a table such as values.use = \"gb_land_use_2023\", got {type_name(value)}"
    for column, spec in value.items():
        if isinstance(spec, str):
            if spec not in TABLES:
                near = _near(spec, list(TABLES)) or "."
                return f"values.{column}: no code table {spec!r}{near} Tables: {', '.join(TABLES)}"
            continue
        if not isinstance(spec, dict) or not spec:
            return (f"values.{column}: must name a code table ({', '.join(TABLES)}) or map values of ours to "
                    f"lists of theirs, such as {{ built = [\"新建\", \"已建成\"] }}; got {type_name(spec)}")
        seen: dict[str, str] = {}
        for ours, theirs in spec.items():
            items = _their_values(theirs)
            if items is None:
                return (f"values.{column}.{ours}: must be their value or a list of their values (text or whole "
                        f"numbers), got {theirs!r} ({type_name(theirs)})")
            for item in items:
                key = code_text(item)
                if key in seen and seen[key] != ours:
                    return (f"values.{column}: their value {item!r} is given for both {seen[key]!r} and "
                            f"{ours!r}; each of their values reads as one of ours")
                seen[key] = ours
    return None


@dataclass(frozen=True)
class FieldMap:
    """The ``columns`` and ``values`` of one layer, and where the manifest says them (for messages).

    Attributes
    ----------
    layer
        The layer's name (its kind, when nbgeo knows it: its schema's columns are recognised when cut short).
    columns
        A column of ours -> the file's field.
    values
        A column of ours -> a code table's name, or a value of ours -> the list of theirs it stands for.
    lines
        ``"columns.NAME"`` / ``"values.NAME"`` -> ``"FILE, line N"`` of the manifest.
    """

    layer: str
    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    lines: Mapping[str, str] = field(default_factory=dict)

    def where(self, key: str) -> str:
        """Where the manifest says ``key`` (``"columns.name"``), for the start of a message."""
        found = self.lines.get(key) or self.lines.get(key.split(".", 1)[0])
        return f"{found}: {key}" if found else key

    def describe(self) -> list[str]:
        """One line per mapped column: ``"use ← 地类编码 (table title)"``, for the validate output."""
        out = []
        for ours in dict.fromkeys([*self.columns, *self.values]):
            text = f"{ours} ← {self.columns.get(ours, ours)}"
            spec = self.values.get(ours)
            if isinstance(spec, str):
                text += f" ({TABLES[spec].title})"
            elif spec:
                text += " (" + "; ".join(f"{k} ← {', '.join(map(str, v if isinstance(v, list) else [v]))}"
                                         for k, v in spec.items()) + ")"
            out.append(text)
        return out


def _fields(gdf: pd.DataFrame) -> list[str]:
    geometry = getattr(gdf, "_geometry_column_name", None)
    return [str(c) for c in gdf.columns if c != geometry]


def _rename(gdf: gpd.GeoDataFrame, fm: FieldMap, *, file: str | None) -> tuple[dict[str, str], list[Problem]]:
    problems: list[Problem] = []
    names = _fields(gdf)
    renames: dict[str, str] = {}
    for ours, theirs in fm.columns.items():
        where = fm.where(f"columns.{ours}")
        if theirs not in names:
            short = theirs[:SHAPEFILE_NAME_LENGTH]
            cut = (f"; Shapefile field names hold {SHAPEFILE_NAME_LENGTH} characters, so it is {short!r} here"
                   if len(theirs) > SHAPEFILE_NAME_LENGTH and short in names else _near(theirs, names))
            problems.append(Problem("E-MAPPING-FIELD", f"{where} = {theirs!r}: the file has no field {theirs!r}{cut}",
                                    file=file, layer=fm.layer, column=ours,
                                    hint=f"the file's fields: {', '.join(names) or '(none)'}"))
        elif ours in names and ours != theirs and ours not in fm.columns.values():
            problems.append(Problem("E-MAPPING-FIELD", f"{where} = {theirs!r}: the file already has a field {ours!r},"
                                    " so the layer would have it twice", file=file, layer=fm.layer, column=ours,
                                    hint=f"map {ours!r} from one field only: remove the mapping, or rename the field"))
        else:
            renames[theirs] = ours
    return renames, problems


def _truncated(names: list[str], fm: FieldMap, *, file: str | None) -> tuple[dict[str, str], list[Problem]]:
    """Fields that are a schema column cut to 10 characters: renamed (plain columns) or refused (yearly)."""
    spec = LAYERS.get(fm.layer)
    if spec is None:
        return {}, []
    renames: dict[str, str] = {}
    problems: list[Problem] = []
    mapped = set(fm.columns.values()) | set(fm.columns)
    for column in spec.columns:
        if column.is_yearly:
            prefix = column.name.split("{year}")[0]
            if len(prefix) + 4 <= SHAPEFILE_NAME_LENGTH or any(re.fullmatch(re.escape(prefix) + r"\d{4}", n)
                                                                for n in names):
                continue
            cut = [n for n in names if n not in mapped and len(n) == SHAPEFILE_NAME_LENGTH
                   and n.startswith(prefix[:SHAPEFILE_NAME_LENGTH - 2])]
            if cut:
                guess = ", ".join(f"{prefix}{2021 + i} = \"{n}\"" for i, n in enumerate(cut))
                problems.append(Problem(
                    "E-COLUMN-TRUNCATED", f"fields {', '.join(map(repr, cut))} look like the yearly columns "
                    f"{column.name} cut to {SHAPEFILE_NAME_LENGTH} characters (a Shapefile's limit); nbgeo cannot "
                    "tell which year each holds", file=file, layer=fm.layer, column=cut[0],
                    hint=f"say it in dataset.toml, [layers.{fm.layer}]: columns = {{ {guess} }} (the years "
                    "here are a guess in the fields' order: check them against the source)"))
            continue
        short = column.name[:SHAPEFILE_NAME_LENGTH]
        if (len(column.name) > SHAPEFILE_NAME_LENGTH and column.name not in names and short in names
                and short not in mapped):
            renames[short] = column.name
            problems.append(Problem(
                "W-COLUMN-TRUNCATED", f"field {short!r} read as {column.name!r}: Shapefile field names hold "
                f"{SHAPEFILE_NAME_LENGTH} characters", file=file, layer=fm.layer, column=column.name,
                hint=f"to say so in dataset.toml, [layers.{fm.layer}]: columns.{column.name} = \"{short}\""))
    return renames, problems


def _recode(gdf: gpd.GeoDataFrame, fm: FieldMap, *, file: str | None) -> list[Problem]:
    problems: list[Problem] = []
    names = _fields(gdf)
    for column, spec in fm.values.items():
        where = fm.where(f"values.{column}")
        if column not in names:
            problems.append(Problem("E-MAPPING-FIELD", f"{where}: the layer has no column {column!r}"
                                    f"{_near(column, names)}", file=file, layer=fm.layer, column=column,
                                    hint=f"its columns: {', '.join(names) or '(none)'}; map the field first with "
                                    f"columns.{column} = \"...\""))
            continue
        series = gdf[column]
        present = series.dropna().unique()
        if isinstance(spec, str):
            table = TABLES[spec]
            lookup = {value: table.use_of(value) for value in present}
            unknown = [value for value, use in lookup.items() if use is None]
            if unknown:
                rows = series.isin(unknown)
                ids = gdf.loc[rows, "id"].head(5).tolist() if "id" in gdf.columns else []
                problems.append(Problem(
                    "E-VALUE-CODE", f"{where} = {spec!r}: {int(rows.sum())} feature(s) have codes that are not in "
                    f"{table.title}: {', '.join(map(repr, unknown[:5]))}"
                    + (f" (features {', '.join(map(str, ids))})" if ids else ""), file=file, layer=fm.layer,
                    column=column, hint="is it the other table? Or map these values yourself: "
                    f"values.{column} = {{ other = [...] }}"))
                continue
        else:
            theirs = {code_text(v): ours for ours, items in spec.items()
                      for v in (items if isinstance(items, list) else [items])}
            lookup = {value: theirs.get(code_text(value), value) for value in present}
        gdf[column] = series.astype(object).map(lambda v, lk=lookup: lk.get(v, v))
    return problems


def apply(gdf: gpd.GeoDataFrame, fm: FieldMap, *, file: str | None = None
          ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """The layer with its fields renamed and values recoded as ``fm`` says, and the problems found.

    Only the copy in memory changes. Columns are renamed first (the manifest's, then schema columns
    cut to 10 characters), then values are recoded by our column names.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"enterprise": [12], "名称": ["A"]}, geometry=[shapely.Point(121.5, 29.9)])
    >>> out, problems = apply(g, FieldMap("micro_parks", columns={"name": "名字"}))
    >>> [p.code for p in problems], list(out.columns)
    (['E-MAPPING-FIELD', 'W-COLUMN-TRUNCATED'], ['enterprises', '名称', 'geometry'])
    >>> print(problems[0].message)
    columns.name = '名字': the file has no field '名字'; did you mean '名称'?
    """
    renames, problems = _rename(gdf, fm, file=file)
    cut, found = _truncated([n for n in _fields(gdf) if n not in renames], fm, file=file)
    renames.update(cut)
    problems += found
    if renames:
        gdf = gdf.rename(columns=renames)
    else:
        gdf = gdf.copy()
    problems += _recode(gdf, fm, file=file)
    return gdf, problems
