"""Map benchmarks: nbgeo's offline maps against the naive folium way, time and size, in the same run.

The naive way is what a folium user writes first: one ``folium.Marker`` per
point and ``folium.GeoJson`` of the raw polygons (with folium's CDN links,
which nbgeo replaces by inlined Leaflet). Times include rendering the HTML
(``get_root().render()``), where folium spends them. Sizes are the HTML's
bytes; a layer's size is the map with it minus the same map without it, so
the fixed cost of the libraries does not hide the layer's own cost.
"""

from __future__ import annotations

import html
import time

import folium
from _common import row, timed

from nbgeo import audit, datasets, io, maps, plan, report
from nbgeo.layers import Dataset


def _render(m: folium.Map) -> str:
    return m.get_root().render()


def _naive(gdfs: dict, markers: bool = True) -> tuple[str, int]:
    """The naive folium map: a Marker per point, raw GeoJson per polygon/line layer. Returns (html, features)."""
    m = folium.Map(location=[29.87, 121.55], zoom_start=9)
    features = 0
    for name, gdf in gdfs.items():
        if (gdf.geom_type == "Point").all():
            if markers:
                group = folium.FeatureGroup(name=name)
                for x, y in zip(gdf.geometry.x, gdf.geometry.y, strict=True):
                    folium.Marker([y, x]).add_to(group)
                group.add_to(m)
        else:
            folium.GeoJson(gdf.reset_index(), name=name).add_to(m)
        features += len(gdf)
    folium.LayerControl().add_to(m)
    return _render(m), features


def _mb(text: str) -> float:
    return len(text.encode()) / 1e6


def _size_row(name: str, n: int, nbgeo_s: float, baseline: str, baseline_s: float, same: bool,
              nbgeo_bytes: int, baseline_bytes: int) -> dict:
    out = row(name, n, nbgeo_s, baseline, baseline_s, same)
    out.update(nbgeo_mb=round(nbgeo_bytes / 1e6, 3), baseline_mb=round(baseline_bytes / 1e6, 3),
               size_ratio=round(baseline_bytes / nbgeo_bytes, 1) if nbgeo_bytes else None)
    return out


def run() -> list[dict]:
    rows = []
    ds = io.read_sample()
    p = plan.read_plan(datasets.get_path("ningbo_2025"))
    chargers = ds["chargers"]
    one = Dataset.from_gdfs({"chargers": chargers.iloc[:1]})

    # -- the charger layer: canvas points vs one Marker per point --------------------------------------
    only = Dataset.from_gdfs({"chargers": chargers})
    t_nb, page = timed(lambda: _render(maps.dataset_map(only)), repeat=3)
    empty_nb = _render(maps.dataset_map(one))
    t_naive, (naive_page, naive_n) = timed(lambda: _naive({"chargers": chargers}), repeat=1)
    naive_empty, _ = _naive({"chargers": chargers.iloc[:1]})
    layer_nb = len(page.encode()) - len(empty_nb.encode())
    layer_naive = len(naive_page.encode()) - len(naive_empty.encode())
    drawn = maps.map_spec(only)["layers"][0]["count"]
    rows.append(_size_row("map: charger layer (bytes of the layer)", len(chargers), t_nb, "folium Marker per point",
                          t_naive, drawn == naive_n == naive_page.count("L.marker("), layer_nb, layer_naive))
    rows.append(_size_row("map: charger layer (whole page)", len(chargers), t_nb, "folium Marker per point", t_naive,
                          drawn == naive_n, len(page.encode()), len(naive_page.encode())))

    # -- every polygon and line layer: simplified, rounded, encoded vs raw GeoJson -------------------
    shapes = {n: ds[n] for n in ds.names if not (ds[n].geom_type == "Point").all()}
    vertices = sum(int(g.geometry.count_coordinates().sum()) for g in shapes.values())
    shp = Dataset(name="shapes", layers={n: ds.layer(n) for n in shapes})
    t_nb, page = timed(lambda: _render(maps.dataset_map(shp)), repeat=3)
    t_naive, (naive_page, naive_n) = timed(lambda: _naive(shapes), repeat=1)
    rows.append(_size_row(f"map: {len(shapes)} polygon/line layers ({vertices:,} vertices)",
                          sum(len(g) for g in shapes.values()), t_nb, "folium GeoJson, raw", t_naive,
                          naive_n == sum(lyr["count"] for lyr in maps.map_spec(shp)["layers"]),
                          len(page.encode()), len(naive_page.encode())))

    # -- the full sample map of the audit, and the naive full map ---------------------------------
    result = audit.run_audit(ds, p)
    t_nb, page = timed(lambda: _render(maps.audit_map(result)), repeat=3)
    all_layers = {n: ds[n] for n in ds.names}
    t_naive, (naive_page, naive_n) = timed(lambda: _naive(all_layers), repeat=1)
    total = sum(len(g) for g in all_layers.values())
    rows.append(_size_row("map: full sample audit map", total, t_nb, "folium: Markers + raw GeoJson", t_naive,
                          naive_n == total, len(page.encode()), len(naive_page.encode())))

    # -- audit.html: the map drawn into the page vs the old iframe srcdoc copy ----------------------
    start = time.perf_counter()
    page = report.to_html(result)
    t_report = time.perf_counter() - start
    map_page = _render(maps.audit_map(result))
    old = len(report.to_html(result, with_map=False).encode()) + len(html.escape(map_page, quote=True).encode())
    rows.append(_size_row("audit.html (report with its map)", total, t_report, "map in <iframe srcdoc>", None,
                          None, len(page.encode()), old))
    return rows
