"""Folium maps of a dataset and its audit. Renderers return a ``folium.Map``; the caller saves.

Every text that reaches the map (values, column names, layer names, legend
text) passes through :func:`nbgeo.html.safe_text` first: folium and branca
evaluate Jinja in such text and insert it as raw HTML.

Examples
--------
>>> from nbgeo import io, maps
>>> m = maps.dataset_map(io.read_sample(), layers=["districts", "clusters"])
>>> html = m.get_root().render()
>>> "宁波" in html or "Haishu" in html
True
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from .html import safe_text

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

    from .audit import AuditReport
    from .layers import Dataset

__all__ = ["LAYER_STYLES", "audit_map", "dataset_map", "layer_geojson"]

#: Colour and draw order of each layer kind.
LAYER_STYLES: dict[str, dict[str, Any]] = {
    "districts": {"color": "#555555", "fill": "#ffffff", "weight": 1.5, "fill_opacity": 0.0},
    "constraints": {"color": "#2e7d32", "fill": "#66bb6a", "weight": 0.5, "fill_opacity": 0.25},
    "land_transfers": {"color": "#8d6e63", "fill": "#bcaaa4", "weight": 0.3, "fill_opacity": 0.5},
    "clusters": {"color": "#b71c1c", "fill": "#e57373", "weight": 1.5, "fill_opacity": 0.35},
    "featured_parks": {"color": "#6a1b9a", "fill": "#ba68c8", "weight": 1, "fill_opacity": 0.5},
    "future_zones": {"color": "#0d47a1", "fill": "#64b5f6", "weight": 1.5, "fill_opacity": 0.45},
    "micro_parks": {"color": "#e65100", "fill": "#ffb74d", "weight": 1, "fill_opacity": 0.7},
    "smart_roads": {"color": "#00838f", "fill": "#00838f", "weight": 3, "fill_opacity": 1.0},
    "chargers": {"color": "#1b5e20", "fill": "#43a047", "weight": 0, "fill_opacity": 0.8, "radius": 2},
    "base_stations_5g": {"color": "#4a148c", "fill": "#7e57c2", "weight": 0, "fill_opacity": 0.5, "radius": 1.5},
}
_DEFAULT_STYLE = {"color": "#37474f", "fill": "#90a4ae", "weight": 1, "fill_opacity": 0.4, "radius": 3}
_MAX_PROPS = 6


def layer_geojson(gdf: gpd.GeoDataFrame, *, columns: list[str] | None = None, simplify_m: float = 10.0) -> dict[str, Any]:
    """A GeoJSON FeatureCollection for the web: escaped text, simplified and rounded geometry.

    Polygons and lines are simplified by ``simplify_m`` metres (in the working
    CRS) and every coordinate is rounded to 6 decimals (about 0.1 m).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"name": ["<b>{{7*7}}</b>"]}, geometry=[Point(121.1234567, 29.1)], crs=4326,
    ...                      index=["p1"])
    >>> fc = layer_geojson(g)
    >>> fc["features"][0]["properties"]
    {'id': 'p1', 'name': '&lt;b&gt;&#123;&#123;7*7&#125;&#125;&lt;/b&gt;'}
    >>> fc["features"][0]["geometry"]["coordinates"]
    [121.123457, 29.1]
    """
    from .crs import working_crs

    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    geoms = np.asarray(gdf.geometry.values)
    if simplify_m > 0 and not shapely.get_type_id(geoms).max(initial=0) == 0:
        metric = gdf.geometry.to_crs(working_crs()).simplify(simplify_m, preserve_topology=True)
        geoms = np.asarray(metric.to_crs(4326).values)
    geoms = shapely.set_precision(geoms, 1e-6)
    columns = [c for c in (columns if columns is not None else list(gdf.columns)) if c != gdf.geometry.name]
    props = pd.DataFrame({safe_text(c): gdf[c].map(safe_text).to_numpy() for c in columns})
    ids = [safe_text(i) for i in gdf.index]
    records = props.to_dict("records")
    features = [
        {"type": "Feature", "properties": {"id": fid, **rec}, "geometry": json.loads(geo)}
        for fid, rec, geo in zip(ids, records, shapely.to_geojson(geoms), strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def _layer_title(dataset: Dataset, name: str, lang: str) -> str:
    from .layers import LAYERS

    spec = LAYERS.get(name)
    title = (spec.title_zh if lang == "zh" else spec.title_en) if spec else name
    if dataset.layer(name).meta.illustrative:
        title += " (示意)" if lang == "zh" else " (illustrative)"
    return title


def _add_layer(m: folium.Map, dataset: Dataset, name: str, lang: str) -> None:
    import folium

    gdf = dataset[name]
    style = {**_DEFAULT_STYLE, **LAYER_STYLES.get(name, {})}
    columns = [c for c in gdf.columns if c != gdf.geometry.name and not str(c).startswith("output_")]
    columns = columns[:_MAX_PROPS]
    is_point = bool(len(gdf)) and bool((gdf.geom_type == "Point").all())
    if is_point:
        # Large point layers: properties cost bytes per feature, so keep only a few.
        columns = [c for c in columns if c in ("type", "year", "name")]
    data = layer_geojson(gdf, columns=columns)
    title = safe_text(_layer_title(dataset, name, lang))
    group = folium.FeatureGroup(name=title, show=name not in ("base_stations_5g", "land_transfers"))
    fields = ["id", *[safe_text(c) for c in columns]]
    tooltip = folium.GeoJsonTooltip(fields=fields, aliases=fields, sticky=True) if len(gdf) < 5000 else None
    kwargs: dict[str, Any] = {}
    if is_point:
        kwargs["marker"] = folium.CircleMarker(radius=style["radius"], weight=0, fill=True,
                                               fill_color=style["fill"], fill_opacity=style["fill_opacity"])
    folium.GeoJson(
        data,
        name=title,
        style_function=lambda _f, s=style: {
            "color": s["color"], "weight": s["weight"], "fillColor": s["fill"], "fillOpacity": s["fill_opacity"],
        },
        tooltip=tooltip,
        **kwargs,
    ).add_to(group)
    group.add_to(m)


def _legend_html(dataset: Dataset, names: list[str], lang: str) -> str:
    rows = []
    for name in names:
        style = {**_DEFAULT_STYLE, **LAYER_STYLES.get(name, {})}
        rows.append(
            f"<div><span style='display:inline-block;width:12px;height:12px;margin-right:6px;"
            f"background:{style['fill']};border:1px solid {style['color']}'></span>"
            f"{safe_text(_layer_title(dataset, name, lang))}</div>"
        )
    note = ("标注“示意”的图层为示意数据，非真实数据" if lang == "zh"
            else "Layers marked illustrative are made up, not real data")
    if not dataset.illustrative:
        note = ""
    return (
        "<div style='position:fixed;bottom:24px;left:12px;z-index:1000;background:rgba(255,255,255,.92);"
        "padding:8px 10px;border-radius:6px;font:12px/1.5 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)'>"
        f"<b>{'图例' if lang == 'zh' else 'Legend'}</b>{''.join(rows)}"
        f"<div style='margin-top:4px;color:#9a6700;max-width:220px'>{safe_text(note)}</div></div>"
    )


def dataset_map(dataset: Dataset, *, layers: list[str] | None = None, lang: str = "zh") -> folium.Map:
    """A map of the dataset's layers with a layer control and a legend.

    Parameters
    ----------
    dataset
        The layers.
    layers
        Which layers to draw (default: all, in a sensible draw order).
    lang
        ``"zh"`` or ``"en"`` for labels.

    Returns
    -------
    folium.Map
    """
    import branca
    import folium

    order = list(LAYER_STYLES)
    names = layers or sorted(dataset.names, key=lambda n: order.index(n) if n in order else len(order))
    bounds = dataset["districts"].total_bounds if "districts" in dataset else dataset[names[0]].total_bounds
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    for name in names:
        _add_layer(m, dataset, name, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    m.get_root().html.add_child(branca.element.Element(_legend_html(dataset, names, lang)))
    return m


def audit_map(report: AuditReport, *, lang: str = "zh") -> folium.Map:
    """The map of an audit: every layer of its dataset with a legend.

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> type(audit_map(r)).__name__
    'Map'
    """
    import folium

    m = dataset_map(report.dataset, lang=lang)
    colours = {"fail": "#d50000", "unknown": "#ff9800", "uncovered": "#d50000", "proposed": "#2962ff"}
    for title, gdf in report.overlays.items():
        if gdf.empty:
            continue
        data = layer_geojson(gdf, columns=[c for c in ("status", "label") if c in gdf.columns])
        group = folium.FeatureGroup(name=safe_text(title), show=True)
        folium.GeoJson(
            data,
            style_function=lambda f: {"color": colours.get(f["properties"].get("status"), "#d50000"),
                                      "weight": 2, "fillOpacity": 0.4},
            marker=folium.CircleMarker(radius=5, weight=2, fill=True, fill_opacity=0.7),
            tooltip=folium.GeoJsonTooltip(fields=list(data["features"][0]["properties"])),
        ).add_to(group)
        group.add_to(m)
    return m
