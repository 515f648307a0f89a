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

Numbers in another unit of the same dimension (用地面积 in 亩 for an ``area`` in m², 总投资 in 万元 for an
``investment`` in 亿元) are converted on read, exactly (:mod:`nbgeo.units`), with ``units``::

    [layers.micro_parks]
    columns = { area = "用地面积", year = "建成日期" }
    units = { area = "亩" }

and the years and numbers of every schema column, mapped or not, are read from the forms bureaus write them
in: ``"2021年"``, ``"2021-06-30"``, ``"2021/6/30"``, ``"2021.06"``, date cells, ``"1,234.5"``, full-width digits
(:mod:`nbgeo.forms`). A unit nbgeo does not know, or one of another dimension (亩 for a column in 亿元), is an
error naming the manifest line (:func:`check_units`, :func:`unit_problem`).

Examples
--------
>>> import geopandas as gpd, shapely
>>> g = gpd.GeoDataFrame({"用地面积": [150.0], "建成日期": ["2021年"]}, geometry=[shapely.Point(121.5, 29.9)])
>>> fm = FieldMap("micro_parks", columns={"area": "用地面积", "year": "建成日期"}, units={"area": "亩"})
>>> out, problems = apply(g, fm)
>>> out["area"].tolist(), out["year"].tolist(), problems
([100000.0], [2021], [])
>>> fm.describe()
['area ← 用地面积 (亩 → m²)', 'year ← 建成日期']
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

from . import units as unit_table
from ._values import type_name
from .errors import Problem
from .forms import read_numbers, read_years
from .landuse import TABLES, code_text
from .layers import LAYERS

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd

__all__ = ["SHAPEFILE_NAME_LENGTH", "FieldMap", "apply", "check_columns", "check_units", "check_values", "unit_problem"]

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


def check_units(value: Any) -> str | None:
    """What is wrong with a ``units`` table (per column of ours: the unit the file gives it in), or None.

    Only the shape and the names are checked here; whether a unit fits its column is :func:`unit_problem`'s
    question, which needs the layer.

    Examples
    --------
    >>> check_units({"area": "亩", "investment": "万元"}) is None
    True
    >>> print(check_units({"area": "mou"}))
    units.area: unknown unit 'mou'; did you mean 'mu'? Units: 平方米 (m², square metre, m2, m^2), 亩 (mu, 市亩, 畝), ...
    """
    if not isinstance(value, dict):
        return f"must be a table such as units = {{ area = \"亩\" }}, got {type_name(value)}"
    for column, name in value.items():
        if not isinstance(name, str) or not name.strip():
            return f"units.{column}: must name a unit as text, such as \"亩\", got {name!r} ({type_name(name)})"
        if unit_table.unit(name) is None:
            near = unit_table.suggest(name)
            return (f"units.{column}: unknown unit {name!r}" + (f"; did you mean {near!r}?" if near else ".")
                    + f" Units: {unit_table.known()}")
    return None


def _unit_column(layer: str, key: str) -> tuple[str, str] | None:
    """The schema column a ``units`` key names, and its unit; None when the layer's schema has none.

    The key is a column, a yearly family (``output_{year}``) or one year of it (``output_2021``).
    """
    spec = LAYERS.get(layer)
    if spec is None:
        return None
    for column in spec.columns:
        if column.name == key:
            return column.name, column.unit
        if column.is_yearly:
            prefix, suffix = column.name.split("{year}")
            if re.fullmatch(re.escape(prefix) + r"\d{4}" + re.escape(suffix), key):
                return column.name, column.unit
    return None


def unit_problem(layer: str, units: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    """The first ``units`` entry that does not fit layer ``layer``'s schema: ``(key, code, problem, hint)``, or None.

    Each key must be a column of the layer's schema that has a unit (:attr:`nbgeo.layers.Column.unit`); each
    unit one nbgeo knows (``E-UNIT-UNKNOWN``, with the units of the column's dimension and the closest name),
    of the column's dimension (``E-UNIT-DIMENSION``: 亩 for a column in 亿元 is refused).

    Examples
    --------
    >>> unit_problem("micro_parks", {"area": "亩"}) is None
    True
    >>> key, code, problem, hint = unit_problem("projects", {"investment": "亩"})
    >>> code, problem
    ('E-UNIT-DIMENSION', "'亩' is a unit of area, but column 'investment' holds money, in 亿元")
    >>> hint
    'units of money: 元 (yuan, CNY, RMB), 万元 (10,000 yuan, wan yuan, 10k yuan), 亿元 (100 million yuan, yi yuan)'
    >>> unit_problem("micro_parks", {"area": "亩s"})[1:3]
    ('E-UNIT-UNKNOWN', "unknown unit '亩s'; did you mean '亩'?")
    """
    spec = LAYERS.get(layer)
    for key, name in units.items():
        if spec is None:
            return (key, "E-MANIFEST-KEY", f"layer {layer!r} is not one of nbgeo's layer kinds, so its columns have "
                    "no unit to convert to", "units apply to the columns of nbgeo's layers: " + ", ".join(
                        f"{s.name}.{c.name} ({c.unit})" for s in LAYERS.values() for c in s.columns if c.unit))
        found = _unit_column(layer, key)
        with_units = [c for c in spec.columns if c.unit]
        listed = ", ".join(f"{c.name} ({c.unit})" for c in with_units) or "none"
        if found is None or not found[1]:
            problem = (f"column {key!r} of {layer!r} has no unit (a count, a year or text)" if found else
                       f"layer {layer!r} has no column {key!r}{_near(key, [c.name for c in with_units])}")
            return key, "E-MANIFEST-KEY", problem, f"the columns of {layer!r} with a unit: {listed}"
        column, target = found
        dimension = unit_table.UNITS[target].dimension
        given = unit_table.unit(name) if isinstance(name, str) else None
        if given is None:
            near = unit_table.suggest(str(name), dimension)
            return (key, "E-UNIT-UNKNOWN", f"unknown unit {name!r}" + (f"; did you mean {near!r}?" if near else ""),
                    f"units of {dimension}: {unit_table.known(dimension)}")
        if given.dimension != dimension:
            return (key, "E-UNIT-DIMENSION", f"{name!r} is a unit of {given.dimension}, but column {column!r} holds "
                    f"{dimension}, in {target}", f"units of {dimension}: {unit_table.known(dimension)}")
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
    units
        A column of ours (or a yearly family, ``output_{year}``) -> the unit the file gives it in (:mod:`nbgeo.units`),
        converted on read to the unit of the column (:attr:`nbgeo.layers.Column.unit`).
    lines
        ``"columns.NAME"`` / ``"values.NAME"`` / ``"units.NAME"`` -> ``"FILE, line N"`` of the manifest (for a
        PostGIS dataset: the database, its manifest table and the layer's row).
    holder
        What holds the fields, for messages: ``"file"``, or ``"table"`` for a PostGIS layer.
    """

    layer: str
    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    lines: Mapping[str, str] = field(default_factory=dict)
    holder: str = "file"

    def where(self, key: str) -> str:
        """Where the manifest says ``key`` (``"columns.name"``), for the start of a message."""
        found = self.lines.get(key) or self.lines.get(key.split(".", 1)[0])
        return f"{found}: {key}" if found else key

    def unit_of(self, ours: str) -> tuple[str, str] | None:
        """``(their unit, our unit)`` of column ``ours`` (named itself or by its yearly family), or None."""
        column = _unit_column(self.layer, ours)
        if column is None or not column[1]:
            return None
        for key in (ours, column[0]):  # the column itself first, then its yearly family
            if key in self.units:
                return self.units[key], column[1]
        return None

    def describe(self) -> list[str]:
        """One line per mapped column: ``"use ← 地类编码 (table title)"``, ``"area ← 用地面积 (亩 → m²)"``.

        For the validate output, the sources table of every report and ``audit.json``. A unit given for a
        yearly family (``output_{year}``) shows on each of its mapped columns, or on a line of its own.
        """
        out = []
        shown: set[str] = set()
        for ours in dict.fromkeys([*self.columns, *self.values, *self.units]):
            converted = self.unit_of(ours)
            if ours in self.units and ours not in self.columns and ours not in self.values and any(
                    self.unit_of(c) == converted and c in shown for c in self.columns):
                continue  # a yearly family, shown on each of its columns already
            text = f"{ours} ← {self.columns.get(ours, ours)}"
            spec = self.values.get(ours)
            if isinstance(spec, str):
                text += f" ({TABLES[spec].title})"
            elif spec:
                text += " (" + "; ".join(f"{k} ← {', '.join(map(str, v if isinstance(v, list) else [v]))}"
                                         for k, v in spec.items()) + ")"
            if converted is not None:
                text += f" ({unit_table.convert_text(*converted)})"
                shown.add(ours)
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
            problems.append(Problem("E-MAPPING-FIELD", f"{where} = {theirs!r}: the {fm.holder} has no field "
                                    f"{theirs!r}{cut}", file=file, layer=fm.layer, column=ours,
                                    hint=f"the {fm.holder}'s fields: {', '.join(names) or '(none)'}"))
        elif ours in names and ours != theirs and ours not in fm.columns.values():
            problems.append(Problem("E-MAPPING-FIELD", f"{where} = {theirs!r}: the {fm.holder} already has a field {ours!r},"
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


def _schema_columns(gdf: pd.DataFrame, layer: str) -> list[tuple[str, str]]:
    """``(column, dtype)`` of each column of the layer's schema the layer has (each year of a yearly family)."""
    spec = LAYERS.get(layer)
    if spec is None:
        return []
    names = _fields(gdf)
    out = []
    for column in spec.columns:
        if column.is_yearly:
            prefix, suffix = column.name.split("{year}")
            pattern = re.compile(re.escape(prefix) + r"\d{4}" + re.escape(suffix))
            out += [(n, column.dtype) for n in names if pattern.fullmatch(n)]
        elif column.name in names:
            out.append((column.name, column.dtype))
    return out


def _read_forms(gdf: gpd.GeoDataFrame, layer: str) -> None:
    """Years and numbers of the schema's columns read from the forms bureaus write them in (:mod:`nbgeo.forms`)."""
    for name, dtype in _schema_columns(gdf, layer):
        values = gdf[name]
        if dtype == "year":
            read = read_years(values)
        elif dtype in ("int", "float"):
            read = read_numbers(values, whole=dtype == "int")
        else:
            continue
        if read is not values:  # numbers already: left alone
            gdf[name] = read


def _convert(gdf: gpd.GeoDataFrame, fm: FieldMap, *, file: str | None) -> list[Problem]:
    """Numbers given in another unit (``units``) converted to the column's, exactly as :mod:`nbgeo.units` says."""
    if not fm.units:
        return []
    found = unit_problem(fm.layer, fm.units)
    if found is not None:
        key, code, problem, hint = found
        return [Problem(code, f"{fm.where(f'units.{key}')} = {fm.units[key]!r}: {problem}", file=file,
                        layer=fm.layer, column=key, hint=hint)]
    problems: list[Problem] = []
    names = _fields(gdf)
    for key in fm.units:
        family = _unit_column(fm.layer, key)
        if not any(n == key or (family is not None and family[0] == key and _unit_column(fm.layer, n) == family)
                   for n in names):
            problems.append(Problem("E-MAPPING-FIELD", f"{fm.where(f'units.{key}')}: the layer has no column {key!r}"
                                    f"{_near(key, names)}", file=file, layer=fm.layer, column=key,
                                    hint=f"its columns: {', '.join(names) or '(none)'}; map the field first with "
                                    f"columns.{key} = \"...\""))
    for name in names:
        converted = fm.unit_of(name)
        if converted is None:
            continue
        ratio = unit_table.factor(*converted)
        values = gdf[name]
        numbers = pd.to_numeric(values, errors="coerce")
        scaled = numbers * ratio.numerator / ratio.denominator  # the exact factor, two roundings
        gdf[name] = scaled if pd.api.types.is_numeric_dtype(values) else scaled.astype(object).where(
            numbers.notna(), values)  # what is not a number stays, for validation to name
    return problems


def apply(gdf: gpd.GeoDataFrame, fm: FieldMap, *, file: str | None = None
          ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """The layer with its fields renamed, values recoded and numbers converted as ``fm`` says, and the problems.

    Only the copy in memory changes. Columns are renamed first (the manifest's, then schema columns
    cut to 10 characters), then values are recoded by our column names; then the years and numbers of the
    schema's columns are read from the forms bureaus write them in (``"2021年"``, ``"2021-06-30"``, a date
    cell, ``"1,234.5"``: :mod:`nbgeo.forms`), mapped or not; last, numbers in another unit (``units``) are
    converted to the column's (:mod:`nbgeo.units`).

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
    _read_forms(gdf, fm.layer)
    problems += _convert(gdf, fm, file=file)
    return gdf, problems
