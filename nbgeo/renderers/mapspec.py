"""What a map shows, as plain data: layer styles, legends, the verdict panel, sources, basemaps (:func:`map_spec`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from ..errors import MapError
from ..layers import LAYERS
from . import labels, mapcodec, mapsites, theme
from .html import safe_text

if TYPE_CHECKING:
    import geopandas as gpd

    from ..audit import AuditReport
    from ..layers import Dataset
    from ..targets import TargetResult

__all__ = ["BASEMAPS", "LAYER_STYLES", "SECTION_TITLES", "map_spec"]

#: Style of each layer kind: outline, fill, widths, point radius, the column that colours it, draw order.
LAYER_STYLES: dict[str, dict[str, Any]] = {
    "districts": {"color": "#6b7785", "fill": "#fbfaf6", "weight": 1.2, "fill_opacity": 1.0, "by": None},
    "constraints": {"color": "#ffffff", "fill": "#6aa84f", "weight": 0.5, "fill_opacity": 0.35, "by": "kind"},
    "receptors": {"color": "#7a4e2d", "fill": "#e9c46a", "weight": 0.6, "fill_opacity": 0.8, "by": "kind"},
    "land_transfers": {"color": "#ffffff", "fill": "#bcaaa4", "weight": 0.3, "fill_opacity": 0.75, "by": "use"},
    "clusters": {"color": "#5b2a86", "fill": "#9c6ade", "weight": 1.4, "fill_opacity": 0.22, "by": "tier",
                 "color_stroke": True},
    "future_zones": {"color": "#0d47a1", "fill": "#64b5f6", "weight": 1.2, "fill_opacity": 0.55, "by": "theme"},
    "featured_parks": {"color": "#ffffff", "fill": "#ba68c8", "weight": 0.6, "fill_opacity": 0.8, "by": "industry"},
    "micro_parks": {"color": "#ffffff", "fill": "#ffb74d", "weight": 0.5, "fill_opacity": 0.9, "by": "status"},
    "smart_roads": {"color": "#00838f", "fill": "#00838f", "weight": 2.5, "fill_opacity": 1.0, "by": "kind"},
    "base_stations_5g": {"color": "#5e35b1", "fill": "#7e57c2", "weight": 0, "fill_opacity": 0.7, "radius": 1.3,
                         "by": "year"},
    "chargers": {"color": "#1b5e20", "fill": "#2e7d32", "weight": 0, "fill_opacity": 0.85, "radius": 2.0,
                 "by": "type"},
}
_DEFAULT_STYLE: dict[str, Any] = {"color": "#37474f", "fill": "#78909c", "weight": 1.0, "fill_opacity": 0.45,
                                  "radius": 3.0, "by": None}
#: Layers that start hidden (large or busy); they are in the file and one click away.
_HIDDEN = frozenset({"base_stations_5g", "land_transfers"})
#: Point layers with more features than this show counts per grid cell at city scale, points once zoomed in.
AGG_MIN = 2_000
#: Layers with more features than this ship counts per grid cell only (the map stays under 10 MB at ×100;
#: the features that matter, failing, uncovered and proposed, are in the result layers and the sites list).
RAW_MAX = {"point": 60_000, "line": 20_000, "polygon": 20_000}
#: Most vertices of one line or polygon layer after simplification (about 0.6 MB of the page): past it a layer
#: is simplified harder (see :func:`nbgeo.renderers.mapcodec.simplified`).
VERTEX_BUDGET = 120_000
#: Most lines and polygons drawn one by one (Leaflet paths; about 1 s to draw 15,000 on a laptop): past it the
#: largest data layers show counts per cell instead; the audit's findings always draw.
VECTOR_BUDGET = 15_000
VECTOR_MIN = 6_000
#: The zoom from which a point layer of more than AGG_MIN points is drawn point by point.
RAW_ZOOM = 13
#: Drawing order of geometry families: areas under lines under points, whatever order layers are listed in.
_KIND_RANK = {"polygon": 0, "line": 1, "point": 2}
_MAX_FIELDS = 12

#: Fixed colours of known categories; other values get colours from _PALETTE.
_CATEGORY_COLOURS: dict[str, dict[str, str]] = {
    # red is kept for findings (fail, not met, uncovered): data categories use other colours
    "tier": {"千亿级": "#5b2a86", "五百亿级": "#9c6ade", "其他": "#8d99a6"},
    "status": {"built": "#ef6c00", "upgraded": "#f9a825", "planned": "#90a4ae",
               "service_area": "#0e7490", "existing": "#475569",
               # verdicts, and the sites that differ between two scenarios (nbgeo.compare), as everywhere
               **theme.STATUS_COLOURS, **theme.CHANGE_COLOURS},
    "use": {"industrial": "#8e5a3c", "commercial": "#e0a458", "residential": "#f2cc8f", "public": "#81b29a",
            "logistics": "#6d6875", "other": "#c9c5c1"},
    "kind": {"ecological_red_line": "#2e7d32", "water": "#4f9bd9", "basic_farmland": "#c0ca33",
             "residential": "#f4a261", "school": "#e9c46a", "hospital": "#c08497", "other_sensitive": "#9e9e9e",
             "urban_development_boundary": "#7e57c2", "new": "#00838f", "renovated": "#7cb342"},
    "type": {"charging": "#2e7d32", "swapping": "#1565c0"},
}
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
            "#393b79", "#7f7f7f", "#637939", "#c49c94")
_OTHER_COLOUR = "#9aa5b1"
#: Sequential ramp (light to dark) for ordered categories such as years, and for continuous values.
_RAMP = ("#a0da39", "#4ac16d", "#1fa187", "#277f8e", "#365c8d", "#46327e")  # viridis without its pale yellow
_MAX_CATEGORIES = 12
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")

#: Basemaps: tile URL, attribution, the datum of the tiles. None = no basemap (the default; works offline).
BASEMAPS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "osm": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "subdomains": "abc", "maxZoom": 19,
            "attribution": "&copy; OpenStreetMap contributors", "datum": "WGS84"},
    "tianditu": {
        "url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
               "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=<key>",
        "labels": "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva"
                  "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=<key>",
        "subdomains": "01234567", "maxZoom": 18, "attribution": "&copy; 天地图 Tianditu", "datum": "CGCS2000"},
    "amap": {"url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
             "subdomains": "1234", "maxZoom": 18, "attribution": "&copy; 高德地图 AutoNavi", "datum": "GCJ-02"},
}
_TIANDITU_KEY_RE = re.compile(r"^[0-9a-fA-F]{32}$")




def _lang(lang: str) -> str:
    if lang not in labels.LANGS:
        msg = f"unknown map language {lang!r}; use 'zh' or 'en'"
        raise MapError(msg, code="E-MAP-LANG")
    return lang


def _t(lang: str, key: str) -> str:
    return labels.word(f"status.{key}" if f"status.{key}" in labels.LABELS else f"map.{key}", lang)


def _field_label(column: str, lang: str) -> str:
    return labels.field_label(column, lang)


def _value_label(value: str, lang: str) -> str:
    return labels.label("value", value, lang)


def _fmt_number(value: float, *, year: bool = False) -> str:
    """A number for people: thousands separators, no float noise.

    Examples
    --------
    >>> _fmt_number(10600.0), _fmt_number(2.345678), _fmt_number(2023.0, year=True), _fmt_number(1234.567)
    ('10,600', '2.346', '2023', '1,234.57')
    """
    if not np.isfinite(value):
        return ""
    if year and float(value).is_integer():
        return str(int(value))
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.2f}"
    return f"{value:.4g}"


_CATEGORY_COLUMNS = frozenset({"status", "kind", "type", "use", "tier", "industry", "theme"})


def _display(values: pd.Series, column: str, lang: str, *, category: bool = False) -> tuple[np.ndarray, list[str]]:
    """Factorize a column into codes and escaped display strings (each distinct value formatted once).

    Category values known to nbgeo are shown in ``lang`` (``built`` → ``新建``).
    """
    series = values
    if series.dtype == object:
        series = series.map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:
        codes, uniques = pd.factorize(series.astype(str), use_na_sentinel=True)
    is_year = column == "year" or column.endswith("_year")
    texts = []
    for value in uniques:
        if isinstance(value, (bool, np.bool_)):
            texts.append(safe_text(str(value)))
        elif isinstance(value, (int, float, np.integer, np.floating)):
            texts.append(safe_text(_fmt_number(float(value), year=is_year)))
        else:
            texts.append(safe_text(_value_label(str(value), lang) if category else value))
    return np.asarray(codes), texts




# --------------------------------------------------------------------------------------------------
# colours and legends


def _check_colour(colour: str) -> str:
    if not _COLOUR_RE.match(colour):
        msg = f"not a #rrggbb colour: {colour!r}"
        raise MapError(msg, code="E-MAP-STYLE")
    return colour


def _ramp(n: int) -> list[str]:
    """``n`` colours evenly spaced along the sequential ramp."""
    stops = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in _RAMP], dtype=float)
    pos = np.linspace(0, len(_RAMP) - 1, max(n, 1))
    lo = np.floor(pos).astype(int).clip(0, len(_RAMP) - 2)
    frac = (pos - lo)[:, None]
    rgb = stops[lo] * (1 - frac) + stops[lo + 1] * frac
    return ["#{:02x}{:02x}{:02x}".format(*np.rint(c).astype(int)) for c in rgb]


def _categorical(values: pd.Series, column: str, lang: str, known: Sequence[str] = ()) -> dict[str, Any]:
    """Per-feature colour codes and legend items for a categorical column."""
    codes, uniques = pd.factorize(values.astype(object).where(values.notna(), None), use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    raw = [str(u) for u in uniques]
    ordered_years = column == "year" or column.endswith("_year") or pd.api.types.is_numeric_dtype(values)
    if ordered_years:
        order = sorted(range(len(raw)), key=lambda i: float(uniques[i]))
    else:
        rank = {v: i for i, v in enumerate(known)}
        order = sorted(range(len(raw)), key=lambda i: (rank.get(raw[i], len(rank)), -counts[i], raw[i]))
    shown = order if len(order) <= _MAX_CATEGORIES else order[: _MAX_CATEGORIES - 1]
    fixed = _CATEGORY_COLOURS.get(column, {})
    if ordered_years:
        colours = _ramp(len(shown))
    else:
        spare = iter(c for c in _PALETTE if c not in fixed.values())
        colours = [fixed.get(raw[i]) or next(spare, _OTHER_COLOUR) for i in shown]
    slot = np.full(len(uniques) + 1, len(shown), dtype=np.int64)  # the last slot: other / missing
    for k, i in enumerate(shown):
        slot[i] = k
    ci = slot[codes]  # code -1 (missing) indexes the last element: "other"
    items = [{"label": safe_text(_value_label(raw[i], lang)), "color": colours[k], "count": f"{counts[i]:,}"}
             for k, i in enumerate(shown)]
    rest = int(len(values) - sum(counts[i] for i in shown))
    palette = list(colours)
    if rest:
        palette.append(_OTHER_COLOUR)
        items.append({"label": safe_text("其他/缺失" if lang == "zh" else "other / missing"), "color": _OTHER_COLOUR,
                      "count": f"{rest:,}"})
    return {"colors": palette, "ci": mapcodec.varint(ci), "legend": {"type": "categorical", "items": items,
                                                               "title": safe_text(_field_label(column, lang))}}


def _continuous(values: pd.Series, column: str, lang: str, bins: int = 24) -> dict[str, Any]:
    """Per-feature colour codes along the ramp for a numeric column, and a gradient legend."""
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(num)
    lo, hi = (float(np.min(num[finite])), float(np.max(num[finite]))) if finite.any() else (0.0, 0.0)
    span = hi - lo if hi > lo else 1.0
    ci = np.where(finite, np.clip(((num - lo) / span * (bins - 1)).round(), 0, bins - 1), bins).astype(int)
    colours = [*_ramp(bins), _OTHER_COLOUR]
    return {"colors": colours, "ci": mapcodec.varint(ci),
            "legend": {"type": "continuous", "title": safe_text(_field_label(column, lang)),
                       "colors": _ramp(6), "min": safe_text(_fmt_number(lo)), "max": safe_text(_fmt_number(hi))}}


# --------------------------------------------------------------------------------------------------
# layers


def _known_values(layer_name: str, column: str) -> tuple[str, ...]:
    spec = LAYERS.get(layer_name)
    col = spec.column(column) if spec else None
    return col.allowed if col else ()


def _layer_specs(
    gdf: gpd.GeoDataFrame,
    *,
    key: str,
    title: str,
    group: str,
    style: Mapping[str, Any],
    lang: str,
    visible: bool = True,
    illustrative: bool = False,
    note: str = "",
    by: str | None = None,
    continuous: str | None = None,
    name_field: str | None = None,
    label_field: str | None = None,
    simplify_m: float = 5.0,
    shift: Callable[[np.ndarray], np.ndarray] | None = None,
    crs: Any = None,
    cells_only: bool = False,
) -> list[dict[str, Any]]:
    """The runtime specs of one GeoDataFrame: one per geometry family it holds (usually one).

    Lines and polygons are simplified in ``crs`` (see :func:`_simplified`).
    """
    geom_name = gdf.geometry.name
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    type_ids = shapely.get_type_id(np.asarray(gdf.geometry.values))
    if np.isin(type_ids, (4, 7)).any():  # MultiPoint / GeometryCollection: one feature per part
        gdf = gdf.explode(index_parts=False)
        type_ids = shapely.get_type_id(np.asarray(gdf.geometry.values))
    families = mapcodec.family(type_ids)
    present = [f for f in (2, 1, 0) if (families == f).any()]
    columns = [c for c in gdf.columns if c != geom_name][:_MAX_FIELDS]
    specs = []
    for fam in present:
        sub = gdf[families == fam] if len(present) > 1 else gdf
        kind = ("point", "line", "polygon")[fam]
        sub_title = title
        if len(present) > 1:
            sub_title += {"zh": {0: " (点)", 1: " (线)", 2: " (面)"}, "en": {0: " (points)", 1: " (lines)",
                                                                           2: " (areas)"}}[lang][fam]
        specs.append(_one_layer(sub, kind=kind, key=f"{key}:{kind}" if len(present) > 1 else key, title=sub_title,
                                group=group, style=style, lang=lang, visible=visible, illustrative=illustrative,
                                note=note, by=by, continuous=continuous, columns=columns, name_field=name_field,
                                label_field=label_field, simplify_m=simplify_m, shift=shift, crs=crs,
                                cells_only=cells_only))
    return specs


#: Where a feature's id goes in a templated text (:func:`templated`): a private-use character, never in data.
HOLE = "\ue000"


def templated(values: np.ndarray) -> dict[str, Any] | None:
    r"""Texts that differ only by one feature id each, as a few templates, a code per text and the ids.

    A finding's label per feature ("MP00001：4 公里（按道路）范围内没有充换电设施") differs from the next
    only by its id: 22,508 of them took 1.5 MB of the x100 province's audit.html. The digits after the first
    run of letters in each text become :data:`HOLE`; the texts are kept as ``t[c[i]]`` with the hole replaced
    by ``x[i]`` (map.js ``propValue``), the same strings. None where that does not halve the templates.

    Examples
    --------
    >>> p = templated(np.array([f"MP{i:05d}: no charger within 4 km" for i in range(6)] + ["none"], dtype=object))
    >>> p["t"], mapcodec.unvarint(p["c"]), p["x"][:2]
    (['MP\ue000: no charger within 4 km', 'none'], [0, 0, 0, 0, 0, 0, 1], ['00000', '00001'])
    >>> [t.replace(HOLE, x) for t, x in zip((p["t"][c] for c in mapcodec.unvarint(p["c"])), p["x"])][0]
    'MP00000: no charger within 4 km'
    >>> templated(np.array(["a1", "b2"], dtype=object)) is None
    True
    """
    texts = pd.Series(values, dtype=object).astype(str)
    if len(texts) < 4 or texts.str.contains(HOLE, regex=False).any():
        return None
    parts = texts.str.extract(r"^(.*?[A-Za-z]+)([0-9]+)(.*)$", flags=re.S)
    found = parts[1].notna()
    ids = parts[1].where(found, "")
    shapes = (parts[0] + HOLE + parts[2]).where(found, texts)
    codes, uniques = pd.factorize(shapes)
    if len(uniques) * 2 > len(texts):
        return None
    return {"t": [str(u) for u in uniques], "c": mapcodec.varint(codes), "x": ids.tolist()}


def _one_layer(gdf: gpd.GeoDataFrame, *, kind: str, key: str, title: str, group: str, style: Mapping[str, Any],
               lang: str, visible: bool, illustrative: bool, note: str, by: str | None, continuous: str | None,
               columns: list[str], name_field: str | None, label_field: str | None, simplify_m: float,
               shift: Callable[[np.ndarray], np.ndarray] | None, crs: Any = None, cells_only: bool = False
               ) -> dict[str, Any]:
    n = len(gdf)
    agg = _aggregate(gdf, kind, lang, shift, force=cells_only) if group == "data" else None
    if agg is not None and not agg["raw"]:
        gdf = gdf.iloc[:0]  # counts per cell only: the spec keeps the layer's count, not its features
    if kind == "point":
        coords = shapely.get_coordinates(np.asarray(gdf.geometry.values))
        if shift is not None and len(coords):
            coords = shift(coords)
        geom = mapcodec.encode_points(coords)
    else:
        geom = mapcodec.encode_shapes(mapcodec.simplified(gdf, simplify_m, crs, budget=VERTEX_BUDGET),
                                      kind == "polygon", shift)
    props: dict[str, Any] = {}
    fields: list[list[str]] = []
    shipped = len(gdf)
    marks: dict[str, dict[str, Any]] = {}
    for i, column in enumerate(columns):
        codes, texts = _display(gdf[column], str(column), lang, category=column == by or column in _CATEGORY_COLUMNS)
        if column == "severity":  # a finding's severity: its word, drawn as a badge (mapsites.severity_mark)
            shown = [mapsites.severity_mark(v, "", lang) for v in pd.factorize(gdf[column], use_na_sentinel=True)[1]]
            texts, marks = [m["text"] for m in shown], {m["text"]: m for m in shown}
        slot = f"f{i}"
        if len(texts) * 2 <= shipped:
            props[slot] = {"d": texts, "c": mapcodec.varint(codes)}
        else:
            values = np.asarray([*texts, ""], dtype=object)[codes]
            props[slot] = templated(values) or {"v": values.tolist()}
        fields.append([slot, safe_text(_field_label(str(column), lang))])
    slot_of = {c: f"f{i}" for i, c in enumerate(columns)}
    if continuous and continuous in gdf.columns:
        colouring = _continuous(gdf[continuous], continuous, lang)
    elif by and by in gdf.columns and len(gdf):
        colouring = _categorical(gdf[by], by, lang, _known_values(key, by))
    else:
        colouring = {"colors": [_check_colour(style["fill"] if kind != "line" else style["color"])], "ci": None,
                     "legend": None}
    for colour in colouring["colors"]:
        _check_colour(colour)
    tip = [slot_of[c] for c in (by, continuous, "year") if c and c in slot_of]
    sev = None  # one severity and basis for the whole layer (a rule's, a requirement's): shown in its legend
    if "severity" in gdf.columns and len(gdf) and gdf["severity"].nunique(dropna=False) == 1:
        basis = gdf["basis"].iloc[0] if "basis" in gdf.columns and gdf["basis"].nunique(dropna=False) == 1 else ""
        sev = mapsites.severity_mark(gdf["severity"].iloc[0], basis, lang)
    spec: dict[str, Any] = {
        "id": safe_text(key), "title": safe_text(title), "kind": kind, "group": group, "visible": bool(visible),
        "count": n, "countText": f"{n:,}", "illustrative": bool(illustrative), "note": safe_text(note),
        "badge": safe_text(_t(lang, "badge")), "idLabel": safe_text(_t(lang, "id")),
        "style": {"color": _check_colour(style["color"]), "fill": _check_colour(style["fill"]),
                  "weight": float(style["weight"]), "opacity": float(style.get("opacity", 0.95)),
                  "fillOpacity": float(style["fill_opacity"]), "radius": float(style.get("radius", 3.0)),
                  "ring": _check_colour(style["ring"]) if style.get("ring") else None,
                  "colorStroke": bool(style.get("color_stroke")), "dash": style.get("dash")},
        "colors": colouring["colors"], "ci": colouring["ci"], "legend": colouring["legend"],
        "ids": mapcodec.encode_ids(gdf.index), "props": props, "fields": [f for f in fields],
        "tipFields": [[s, lbl] for s, lbl in fields if s in tip], "nameField": slot_of.get(name_field or ""),
        "geom": geom, "agg": agg, "sev": sev, "sevSlot": slot_of.get("severity"), "sevMarks": marks,
    }
    if spec["style"]["dash"] is not None and not re.fullmatch(r"[0-9 ,.]+", str(spec["style"]["dash"])):
        msg = f"bad dash pattern {spec['style']['dash']!r}"
        raise MapError(msg, code="E-MAP-STYLE")
    if label_field and label_field in gdf.columns and kind == "polygon" and n <= 500:
        points = shapely.get_coordinates(shapely.point_on_surface(np.asarray(gdf.geometry.values)))
        if shift is not None and len(points):
            points = shift(points)
        enc = mapcodec.encode_points(points)
        enc["t"] = [safe_text(v) for v in gdf[label_field].tolist()]
        spec["labels"] = enc
    return spec


def _aggregate(gdf: gpd.GeoDataFrame, kind: str, lang: str, shift: Callable[[np.ndarray], np.ndarray] | None,
               *, force: bool = False) -> dict[str, Any] | None:
    """Counts per grid cell for a dense layer (see :func:`nbgeo.renderers.mapsites.grid_levels`), or None.

    Points above :data:`AGG_MIN` get cells up to :data:`RAW_ZOOM` and their points beyond it; any layer
    above :data:`RAW_MAX` (or any, with ``force``) gets cells at every zoom and no features (``raw`` is False).
    """
    n = len(gdf)
    raw = n <= RAW_MAX[kind] and not force
    if raw and (kind != "point" or n <= AGG_MIN):
        return None
    geoms = np.asarray(gdf.geometry.values)
    points = shapely.get_coordinates(geoms if kind == "point" else shapely.point_on_surface(geoms))
    if shift is not None and len(points):
        points = shift(points)
    zooms = tuple(range(7, RAW_ZOOM)) if raw else tuple(range(7, 17))
    return {"raw": raw, "rawZoom": RAW_ZOOM if raw else None, "levels": mapsites.grid_levels(points, zooms=zooms),
            "note": safe_text(_t(lang, "agg" if raw else "agg_only"))}


def _vector_count(gdf: gpd.GeoDataFrame | None) -> int:
    """Features of ``gdf`` that are lines or polygons (drawn one by one as Leaflet paths)."""
    if gdf is None or not len(gdf):
        return 0
    return int((~np.isin(shapely.get_type_id(np.asarray(gdf.geometry.values)), (-1, 0, 4))).sum())


def _cells_only(dataset: Dataset, names: Sequence[str], results: int) -> set[str]:
    """The line and polygon layers drawn as counts per cell so that the map keeps to :data:`VECTOR_BUDGET` paths.

    The findings (``results`` paths) always draw; of the data, the largest layers go first (never the
    districts, the map's base).
    """
    sizes = {n: _vector_count(dataset[n]) for n in names if n != "districts"}
    sizes = {n: c for n, c in sizes.items() if 0 < c <= RAW_MAX["polygon"]}  # larger ones are cells anyway
    budget = max(VECTOR_MIN, VECTOR_BUDGET - results)
    total, chosen = sum(sizes.values()), set()
    for name in sorted(sizes, key=lambda n: -sizes[n]):
        if total <= budget:
            break
        chosen.add(name)
        total -= sizes[name]
    return chosen


def _data_layers(dataset: Dataset, names: Sequence[str], lang: str, shift: Callable[[np.ndarray], np.ndarray] | None,
                 simplify_m: float, *, basemap: bool = False, results: int = 0) -> list[dict[str, Any]]:
    specs: list[dict[str, Any]] = []
    crs = dataset.crs_choice.crs if dataset.crs_choice is not None else None
    cells = _cells_only(dataset, names, results)
    for name in names:
        layer = dataset.layer(name)
        meta, gdf = layer.meta, layer.gdf
        spec = LAYERS.get(name)
        title = (spec.title_zh if lang == "zh" else spec.title_en) if spec else name
        style = {**_DEFAULT_STYLE, **LAYER_STYLES.get(name, {})}
        if basemap and name == "districts":  # the land colour would hide the tiles
            style["fill_opacity"] = 0.0
        label_field = None
        if name == "districts":
            label_field = "name_en" if lang == "en" and "name_en" in gdf.columns else "name"
        specs += _layer_specs(
            gdf, key=name, title=title, group="data", style=style, lang=lang, visible=name not in _HIDDEN,
            illustrative=meta.illustrative, note=meta.note, by=style.get("by"), name_field="name",
            label_field=label_field, simplify_m=simplify_m, shift=shift, crs=crs, cells_only=name in cells,
        )
    return specs


_RESULT_STYLE = {"color": "#b91c1c", "fill": "#ef4444", "weight": 2.5, "fill_opacity": 0.22, "radius": 5.5,
                 "ring": "#ffffff", "opacity": 1.0, "color_stroke": True}


def _result_layers(overlays: Mapping[str, gpd.GeoDataFrame], lang: str,
                   shift: Callable[[np.ndarray], np.ndarray] | None, simplify_m: float, crs: Any = None,
                   report: AuditReport | None = None) -> list[dict[str, Any]]:
    specs: list[dict[str, Any]] = []
    for i, (title, given) in enumerate(overlays.items()):
        if given is None or given.empty:
            continue
        gdf = given.to_crs(4326) if given.crs is not None and not given.crs.equals("EPSG:4326") else given
        continuous = gdf.attrs.get("nbgeo_value") or ("distance_m" if "distance_m" in gdf.columns else None)
        by = "status" if "status" in gdf.columns else None
        style = dict(_RESULT_STYLE)
        # Service areas are context, not findings: a light fill without a heavy outline, and off at first
        # (city-wide buffers would cover everything); one click in the layer panel shows them.
        context = "status" in gdf.columns and set(gdf["status"].dropna().astype(str)) <= {"service_area", "covered"}
        if context:
            style.update(fill_opacity=0.14, weight=0.6, opacity=0.6)
        # An overlay may ask for lighter lines or fills (a suitability surface); only these numbers, checked.
        asked = gdf.attrs.get("nbgeo_style", {})
        style.update({k: float(v) for k, v in asked.items() if k in ("weight", "fill_opacity", "opacity")
                      and isinstance(v, (int, float)) and 0 <= float(v) <= 10})
        words = mapsites.overlay_title(str(title), given, report, lang)
        specs += _layer_specs(gdf, key=f"overlay-{i}", title=words, group="result", style=style, lang=lang,
                              by=by, continuous=continuous, name_field="label", simplify_m=simplify_m, shift=shift,
                              visible=not context, crs=crs)
    return specs


def _target_panel(results: Sequence[TargetResult], sections: Mapping[str, list[dict[str, Any]]], year: int,
                  lang: str) -> dict[str, Any]:
    by_id: dict[str, list[TargetResult]] = {}
    for r in results:
        by_id.setdefault(r.id, []).append(r)
    rows = []
    counts = {"met": 0, "not_met": 0, "unknown": 0}
    for tid, unsorted in by_id.items():
        rs = sorted(unsorted, key=lambda r: r.year)
        last = rs[-1]
        for r in rs:
            counts[r.status] = counts.get(r.status, 0) + 1
        worst = next((s for s in ("not_met", "unknown") if any(r.status == s for r in rs)), "met")
        label = (last.phrase if lang == "zh" else last.title) or last.title or last.phrase or tid
        op = {">=": "≥", "<=": "≤"}.get(last.op, last.op)
        actual = "—" if last.actual is None else _fmt_number(last.actual)
        value = f"{actual} {last.unit} ({op} {_fmt_number(last.threshold)}) · {last.year}"
        share = _share(last)
        years = [{"year": r.year, "status": r.status,
                  "text": safe_text(f"{r.year}: {'—' if r.actual is None else _fmt_number(r.actual)} {r.unit} "
                                    f"({_t(lang, r.status)})")} for r in rs]
        rows.append({"label": safe_text(label), "value": safe_text(value), "status": worst if len(rs) > 1 else last.status,
                     "statusText": safe_text(_t(lang, last.status)), "share": share, "years": years})
    parts = [f"{counts['met']} {_t(lang, 'met')}", f"{counts['not_met']} {_t(lang, 'not_met')}"]
    if counts["unknown"]:
        parts.append(f"{counts['unknown']} {_t(lang, 'unknown')}")
    # the summary's lines are escaped one by one and joined with nbgeo's own <br>
    lines = [safe_text(" · ".join(parts))]
    for name, entries in sections.items():
        if name in _PANEL_SKIPS:
            continue
        tally: dict[str, int] = {}
        for e in entries:
            s = str(e.get("status", "unknown"))
            tally[s] = tally.get(s, 0) + 1
        if tally:
            lines.append(safe_text(f"{_section_title(name, lang)}: " + " · ".join(f"{n} {_value_label(s, lang)}"
                                                             for s, n in sorted(tally.items()))))
    head = f"{_t(lang, 'targets')} · {year}"
    return {"title": safe_text(head), "summary": "<br>".join(lines), "rows": rows}


#: Sections that are not verdicts (they never change the exit code): left out of the map's summary.
_PANEL_SKIPS = frozenset({"progress"})

#: Titles of the audit sections nbgeo knows (zh, en); kept for callers of nbgeo < 0.3, see nbgeo.labels.
SECTION_TITLES: dict[str, tuple[str, str]] = {k.split(".", 1)[1]: v for k, v in labels.LABELS.items()
                                              if k.startswith("section.")}


def _section_title(name: str, lang: str) -> str:
    return labels.label("section", name, lang)


def _share(r: TargetResult) -> float | None:
    """How far along a target is, 0..1, for the progress bar; None when there is nothing to show.

    Examples
    --------
    >>> from nbgeo.targets import TargetResult
    >>> r = TargetResult("a", "l", "count", 2025, ">=", 4.0, 3.0, "zones", "not_met", -1.0)
    >>> _share(r)
    0.75
    """
    if r.actual is None or not r.threshold:
        return None
    if r.op in (">=", ">"):
        return float(max(0.0, min(1.0, r.actual / r.threshold)))
    if r.op in ("<=", "<"):
        return 1.0 if r.actual <= r.threshold else float(max(0.0, min(1.0, r.threshold / r.actual)))
    return None


def _sources(dataset: Dataset, names: Sequence[str], lang: str) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, bool], list[str]] = {}
    for name in names:
        m = dataset.layer(name).meta
        spec = LAYERS.get(name)
        title = (spec.title_zh if lang == "zh" else spec.title_en) if spec else name
        groups.setdefault((m.source, m.licence, m.illustrative), []).append(title)
    sep = "、" if lang == "zh" else ", "
    return [{"layers": safe_text(sep.join(titles)), "text": safe_text(f"{source} · {licence}"),
             "illustrative": ill} for (source, licence, ill), titles in groups.items()]


def _basemap(basemap: str, tianditu_key: str | None) -> dict[str, Any] | None:
    if basemap not in BASEMAPS:
        msg = f"unknown basemap {basemap!r}; choose one of: {', '.join(BASEMAPS)}"
        raise MapError(msg, code="E-MAP-BASEMAP")
    spec = BASEMAPS[basemap]
    if spec is None:
        return None
    out = {k: v for k, v in spec.items() if k != "datum"}
    if basemap == "tianditu":
        key = tianditu_key or os.environ.get("NBGEO_TIANDITU_KEY", "")
        if not _TIANDITU_KEY_RE.match(key):
            msg = ("the Tianditu basemap needs your 32-character hexadecimal key: pass tianditu_key= "
                   "(--tianditu-key) or set NBGEO_TIANDITU_KEY; get one at console.tianditu.gov.cn")
            raise MapError(msg, code="E-MAP-BASEMAP-KEY")
        out["url"] = out["url"].replace("<key>", key)
        out["labels"] = out["labels"].replace("<key>", key)
    return out


def _bounds(specs_source: Sequence[gpd.GeoDataFrame], shift: Callable[[np.ndarray], np.ndarray] | None
            ) -> list[list[float]] | None:
    boxes = [g.total_bounds for g in specs_source if len(g) and np.isfinite(g.total_bounds).all()]
    if not boxes:
        return None
    b = np.array(boxes)
    corners = np.array([[b[:, 0].min(), b[:, 1].min()], [b[:, 2].max(), b[:, 3].max()]])
    if shift is not None:
        corners = shift(corners)
    return [[float(corners[0, 1]), float(corners[0, 0])], [float(corners[1, 1]), float(corners[1, 0])]]


def map_spec(
    dataset: Dataset,
    *,
    layers: Sequence[str] | None = None,
    report: AuditReport | None = None,
    lang: str = "zh",
    basemap: str = "none",
    tianditu_key: str | None = None,
    title: str | None = None,
    embedded: bool = False,
    simplify_m: float = 5.0,
) -> dict[str, Any]:
    """Everything the map runtime draws, as JSON-ready data with every text escaped.

    Parameters
    ----------
    dataset
        The layers.
    layers
        Which layers to draw (default: all, in draw order).
    report
        An audit of the dataset: adds its overlays, the target panel and its title.
    lang
        ``"zh"`` or ``"en"``.
    basemap
        ``"none"`` (default: nothing is loaded from the network), ``"osm"``, ``"tianditu"`` or ``"amap"``.
    tianditu_key
        Your Tianditu key (or set ``NBGEO_TIANDITU_KEY``).
    title
        Overrides the title card.
    embedded
        For a map inside another page (the audit report): no title card or target panel.
    simplify_m
        Tolerance for simplifying lines and polygons, in metres.

    Returns
    -------
    dict

    Examples
    --------
    >>> from nbgeo import io
    >>> spec = map_spec(io.read_sample(), layers=["chargers"], lang="en")
    >>> layer = spec["layers"][0]
    >>> layer["kind"], layer["count"], [i["label"] for i in layer["legend"]["items"]]
    ('point', 10600, ['charging', 'battery swapping'])
    """
    lang = _lang(lang)
    order = list(LAYER_STYLES)
    names = list(layers) if layers is not None else sorted(
        dataset.names, key=lambda n: order.index(n) if n in order else len(order))
    bm = _basemap(basemap, tianditu_key)
    shift = mapcodec.gcj02 if basemap == "amap" else None
    notes = []
    if any(dataset.layer(n).meta.illustrative for n in names):
        notes.append(safe_text(_t(lang, "illustrative")))
    if shift is not None:
        notes.append(safe_text(_t(lang, "shift")))
    overlays = (mapsites.worded_coverage(mapsites.worded_findings(report.overlays, report, lang), lang)
                if report is not None else {})
    specs = _data_layers(dataset, names, lang, shift, simplify_m, basemap=bm is not None,
                         results=sum(_vector_count(g) for g in overlays.values()))
    crs = dataset.crs_choice.crs if dataset.crs_choice is not None else None
    specs = _result_layers(overlays, lang, shift, simplify_m, crs, report) + specs
    sites = mapsites.focus_sites(overlays, dataset, lang, shift, report=report) if report is not None else None
    bounds = _bounds([dataset[n] for n in names] + [g for g in overlays.values() if g is not None], shift)
    if report is not None:
        plan = report.plan
        head = title or (plan.title if lang == "zh" else (plan.title_en or plan.title))
        sub = f"{_t(lang, 'year')} {report.year} · {_t(lang, 'dataset')} {dataset.name}"
        targets = _target_panel(report.targets, report.sections, report.year, lang) if report.targets else None
    else:
        head = title or dataset.title or dataset.name
        sub = f"{_t(lang, 'dataset')} {dataset.name} · {sum(len(dataset[n]) for n in names):,} {_t(lang, 'features')}"
        targets = None
    # draw order: data bottom-up, then results; the layer panel lists results first, then data top-down
    return {
        "version": 1, "lang": lang, "scale": mapcodec.SCALE, "embedded": embedded, "bounds": bounds,
        "background": "#dfe7ec" if bm is None else "#f2efe9", "basemap": bm,
        "title": safe_text(head), "subtitle": safe_text(sub), "notes": notes,
        "attributionPrefix": "Leaflet · nbgeo", "attribution": "",
        "groups": [{"id": "result", "title": safe_text(_t(lang, "result"))},
                   {"id": "data", "title": safe_text(_t(lang, "data"))}],
        "i18n": {k: safe_text(_t(lang, k)) for k in ("layers", "fold", "sources", "badge", "sites_collapse",
                                                           "legend")},
        "layers": _draw_order(specs), "targets": targets, "sources": _sources(dataset, names, lang),
        "sites": sites,
    }


def _draw_order(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bottom-up: data, then results; in each, areas, then lines, then points (whatever order they were asked in).

    Data areas of layers nbgeo knows keep :data:`LAYER_STYLES`'s order (districts at the bottom), so a
    land fill never covers the parks drawn before it.

    Examples
    --------
    >>> specs = [{"id": i, "group": "data", "kind": k} for i, k in
    ...          [("micro_parks", "polygon"), ("chargers", "point"), ("roads", "line"), ("districts", "polygon")]]
    >>> [s["id"] for s in _draw_order(specs)]
    ['districts', 'micro_parks', 'roads', 'chargers']
    """
    known = list(LAYER_STYLES)

    def rank(pos: int, s: dict[str, Any]) -> tuple[int, int, int, int]:
        base = str(s["id"]).split(":", 1)[0]
        layer_rank = known.index(base) if s["group"] == "data" and base in known else len(known)
        return (0 if s["group"] == "data" else 1, _KIND_RANK.get(s["kind"], 0), layer_rank, pos)

    return [s for _, s in sorted(enumerate(specs), key=lambda p: rank(*p))]
