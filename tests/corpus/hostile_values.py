"""Hostile values for plans and manifests, and hostile shapes and text for data, built by code.

* :func:`toml_dumps` writes a parsed plan or manifest back as TOML (inline tables for nested
  values), so a test can change one value and keep every other byte meaningful.
* :func:`wrong_values` gives, for one value, the wrong types and out-of-range values to try:
  text for a number, a list for text, a table for a scalar, a boolean for an integer, a
  negative number, NaN and infinity (TOML ``nan`` / ``inf``).
* :func:`plan_mutations` and :func:`manifest_mutations` enumerate every key of every table of
  the shipped plan and manifest with each wrong value.
* :func:`star`, :func:`comb` build polygons whose validity check, repair or overlay is
  superlinear (every edge crossing nearly every other; two interleaved combs).
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from shapely import Polygon, box, transform, union_all
from shapely.affinity import translate

X0, Y0 = 121.55, 29.87  # Ningbo's old town centre

# --- TOML -----------------------------------------------------------------------------------------


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def _pairs(table: dict[str, Any], skip: tuple[str, ...] = ()) -> list[str]:
    return [f"{json.dumps(k, ensure_ascii=False)} = {_value(v)}\n" for k, v in table.items() if k not in skip]


def toml_dumps(data: dict[str, Any]) -> str:
    """A plan or manifest as TOML: ``[name]`` and ``[a.b]`` tables, ``[[name]]`` arrays (and ``[[suitability.criteria]]``)."""
    out: list[str] = []
    for name, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                out.append(f"\n[[{name}]]\n")
                nested = [k for k, v in item.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
                out += _pairs(item, skip=tuple(nested))
                for key in nested:
                    for sub in item[key]:
                        out.append(f"\n[[{name}.{key}]]\n")
                        out += _pairs(sub)
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()) and name != "plan":
            for sub_name, sub in value.items():
                out.append(f"\n[{name}.{json.dumps(sub_name, ensure_ascii=False)}]\n")
                out += _pairs(sub)
        elif isinstance(value, dict):
            out.append(f"\n[{name}]\n")
            out += _pairs(value)
        else:
            out.append(f"{json.dumps(name)} = {_value(value)}\n")
    return "".join(out).lstrip("\n")


def wrong_values(value: Any) -> list[tuple[str, Any]]:
    """The wrong types (and out-of-range numbers) to try in place of ``value``: ``(label, wrong value)``."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, bool):
        out += [("int for bool", 1), ("text for bool", "yes")]
    elif isinstance(value, (int, float)):
        out += [("text for number", str(value)), ("bool for number", True), ("list for number", [value]),
                ("table for number", {"value": value}), ("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf)]
    elif isinstance(value, str):
        out += [("list for text", [value]), ("table for text", {"value": value}), ("number for text", 5),
                ("bool for text", True)]
    elif isinstance(value, dict):
        out += [("text for table", "x"), ("list for table", [1]), ("number for table", 3)]
        for key, item in value.items():  # one level down: the values of an inline table
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                out += [(f"text in table ({key})", {**value, key: "x"}), (f"nan in table ({key})", {**value, key: math.nan})]
            elif isinstance(item, (str, list)):
                out += [(f"table in table ({key})", {**value, key: {"a": {"b": 1}}})]
    elif isinstance(value, list):
        out += [("text for list", "x"), ("table for list", {"a": 1})]
    return out


#: Keys whose wrong value is still a legal value of another form (``keep = false``, free text).
_FREE_TEXT = {"phrase", "title", "title_en", "source", "note", "unit", "description", "licence", "name"}


def _tables(data: dict[str, Any]) -> Iterator[tuple[str, int | None, int | None, dict[str, Any]]]:
    """Every table of a plan: (table name, index, criterion index, the table)."""
    for name, value in data.items():
        if isinstance(value, dict):
            yield name, None, None, value
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield name, i, None, item
                for j, crit in enumerate(item.get("criteria", []) if name == "suitability" else []):
                    yield name, i, j, crit


def plan_mutations(path: str | Path) -> Iterator[tuple[str, str, str, int | None, int | None, Any]]:
    """Every key of every table of a plan with each wrong value: ``(id, table, key, index, criterion, value)``."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    for table, index, crit, values in _tables(data):
        for key, value in values.items():
            if key == "criteria":
                continue
            for label, wrong in wrong_values(value):
                if key in _FREE_TEXT and isinstance(wrong, str):
                    continue
                where = f"{table}[{index}]" if index is not None else table
                where += f".criteria[{crit}]" if crit is not None else ""
                yield f"{where}.{key}: {label}", table, key, index, crit, wrong


def mutate_plan(path: str | Path, table: str, key: str, index: int | None, crit: int | None, wrong: Any) -> str:
    """The plan's TOML with one value replaced."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    target = data[table] if index is None else data[table][index]
    if crit is not None:
        target = target["criteria"][crit]
    target[key] = wrong
    return toml_dumps(data)


def manifest_mutations(path: str | Path) -> Iterator[tuple[str, str, str | None, str, Any]]:
    """Every key of every table of a manifest with each wrong value: ``(id, section, name, key, value)``."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    for section, value in data.items():
        tables = [(None, value)] if section == "dataset" else list(value.items())
        for name, table in tables:
            for key, item in table.items():
                for label, wrong in wrong_values(item):
                    if key in _FREE_TEXT and isinstance(wrong, str):
                        continue
                    where = section if name is None else f"{section}.{name}"
                    yield f"{where}.{key}: {label}", section, name, key, wrong


def mutate_manifest(path: str | Path, section: str, name: str | None, key: str, wrong: Any) -> str:
    """The manifest's TOML with one value replaced."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    (data[section] if name is None else data[section][name])[key] = wrong
    return toml_dumps(data)


# --- shapes ---------------------------------------------------------------------------------------


def star(n: int, *, x: float = X0, y: float = Y0, r: float = 0.01) -> Polygon:
    """A ring of ``n`` vertices whose every edge crosses nearly every other (invalid)."""
    k = n // 2 - 1
    if k % 2 == 0 or math.gcd(k, n) != 1:
        k -= 1
        while math.gcd(k, n) != 1:
            k -= 2
    a = np.arange(n) * k * 2 * np.pi / n
    return Polygon(np.c_[x + r * np.cos(a), y + r * np.sin(a)])


def comb(teeth: int, *, x: float = X0, y: float = Y0, size: float = 0.02, turned: bool = False) -> Polygon:
    """A valid comb of ``teeth`` thin teeth on a spine; ``turned`` teeth run east-west instead of north-south.

    A comb and its turned twin over the same square cross ``teeth²`` times: a valid pair whose overlay is
    quadratic in their vertices.
    """
    w = size / (2 * teeth)
    shape = union_all([box(0, -w, size, 0)] + [box(2 * i * w, 0, (2 * i + 1) * w, size) for i in range(teeth)])
    if turned:
        shape = transform(shape, lambda xy: xy[:, ::-1])
    return translate(shape, x, y)


# --- datasets and plans ---------------------------------------------------------------------------

_SOURCE = {"source": "nbgeo hostile-values corpus", "licence": "CC0-1.0"}


def write_dataset(folder: Path, layers: dict[str, Any], *, rasters: dict[str, Path] | None = None,
                  networks: dict[str, str] | None = None, **manifest_keys: dict[str, Any]) -> Path:
    """A dataset folder: each layer (a GeoDataFrame, written as GeoJSON) with its manifest table.

    ``rasters`` names GeoTIFFs already in ``folder``; ``networks`` maps a network name to OSM XML text
    (written as ``NAME.osm``); ``manifest_keys`` adds keys to a layer's table.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"dataset": {"name": "hostile"}, "layers": {}}
    for name, gdf in layers.items():
        gdf.to_file(folder / f"{name}.geojson", driver="GeoJSON")
        data["layers"][name] = {"file": f"{name}.geojson", **_SOURCE, **manifest_keys.get(name, {})}
    if rasters:
        data["rasters"] = {name: {"file": path.name, **_SOURCE} for name, path in rasters.items()}
    if networks:
        data["networks"] = {}
        for name, text in networks.items():
            (folder / f"{name}.osm").write_text(text, encoding="utf-8")
            data["networks"][name] = {"file": f"{name}.osm", **_SOURCE}
    (folder / "dataset.toml").write_text(toml_dumps(data), encoding="utf-8")
    return folder


def write_plan(path: Path, **tables: Any) -> Path:
    """A plan file: ``[plan]`` for 2020-2025 and the given arrays of tables (``targets=[{...}]``, ...)."""
    head = {"id": "hostile", "title": "hostile values", "baseline": 2020, "horizon": 2025}
    path.write_text(toml_dumps({"plan": {**head, **tables.pop("plan", {})}, **tables}), encoding="utf-8")
    return path


def osm_xml(nodes: list[tuple[Any, Any, Any]], ways: list[tuple[int, list[int], dict[str, str]]]) -> str:
    """OSM XML text: ``nodes`` as (id, lon, lat) (any text for lon/lat), ``ways`` as (id, node ids, tags)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">']
    parts += [f'<node id="{i}" lat="{lat}" lon="{lon}" version="1"/>' for i, lon, lat in nodes]
    for wid, refs, tags in ways:
        parts.append(f'<way id="{wid}" version="1">' + "".join(f'<nd ref="{r}"/>' for r in refs)
                     + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()) + "</way>")
    return "".join(parts) + "</osm>\n"
