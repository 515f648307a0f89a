"""Maps: the spec the runtime draws (encoding, legends, panels), offline pages, basemaps, sizes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import LineString, MultiPoint, MultiPolygon, Point, Polygon, box

from nbgeo import audit, maps
from nbgeo.crs import NINGBO_TM, wgs84_to_gcj02
from nbgeo.errors import MapError, OutputError
from nbgeo.layers import Dataset
from nbgeo.renderers import assets, mapcodec

X0, Y0 = 121.55, 29.87


# -- a Python twin of map.js's decoders, to check what the browser will draw ---------------------


def decode_ids(ids, n):
    if isinstance(ids, list):
        return ids
    out = []
    for start, count in ids["r"]:
        out += [ids["p"] + str(start + i).zfill(ids["w"]) for i in range(count)]
    return out


def ints(value):
    return mapcodec.unvarint(value) if isinstance(value, str) else value


def decode_points(geom, scale):
    x = np.cumsum([geom["o"][0], *ints(geom["x"])])[1:] / scale
    y = np.cumsum([geom["o"][1], *ints(geom["y"])])[1:] / scale
    return np.column_stack([x, y])


def decode_shapes(geom, scale, polygon):
    geom = {k: ints(v) if k in "cvpr" else v for k, v in geom.items()}
    c = np.asarray(geom["c"], dtype=np.int64).reshape(-1, 2)
    xy = (np.cumsum(c, axis=0) + np.asarray(geom["o"])) / scale
    k = r = q = 0
    out = []
    for parts in geom["p"]:
        feature = []
        for _ in range(parts):
            rings = geom["r"][q] if polygon else 1
            q += 1 if polygon else 0
            part = []
            for _ in range(rings):
                n = geom["v"][r]
                r += 1
                part.append(xy[k:k + n])
                k += n
            feature.append(part if polygon else part[0])
        out.append(feature)
    assert k == len(xy)
    return out


def prop(layer, field_label, i):
    slot = next(s for s, label in layer["fields"] if label == field_label)
    p = layer["props"][slot]
    if "d" in p:
        codes = ints(p["c"])
        return "" if codes[i] < 0 else p["d"][codes[i]]
    if "t" in p:  # templates with a hole for the feature's id (mapspec.templated)
        return p["t"][ints(p["c"])[i]].replace("\ue000", p["x"][i])
    return p["v"][i]


def layer_of(spec, layer_id):
    return next(lyr for lyr in spec["layers"] if lyr["id"] == layer_id)


# -- encoding ------------------------------------------------------------------------------------


def test_points_round_trip_to_six_decimals(sample):
    spec = maps.map_spec(sample, layers=["chargers"])
    layer = layer_of(spec, "chargers")
    got = decode_points(layer["geom"], spec["scale"])
    want = shapely.get_coordinates(sample["chargers"].geometry.values)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 0.5e-6 + 1e-12
    assert decode_ids(layer["ids"], layer["count"]) == [str(i) for i in sample["chargers"].index]
    assert isinstance(layer["ids"], dict)  # CH00001... compress to runs


def test_polygons_with_holes_and_parts_round_trip():
    outer = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    hole = box(X0 + 0.003, Y0 + 0.003, X0 + 0.006, Y0 + 0.006)
    with_hole = Polygon(outer.exterior.coords, [hole.exterior.coords])
    multi = MultiPolygon([box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.01), box(X0 + 0.04, Y0, X0 + 0.05, Y0 + 0.01)])
    gdf = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[with_hole, multi], crs=4326, index=["f1", "f2"])
    spec = maps.map_spec(Dataset.from_gdfs({"zones": gdf}), simplify_m=0)
    layer = layer_of(spec, "zones")
    shapes = decode_shapes(layer["geom"], spec["scale"], polygon=True)
    assert [len(f) for f in shapes] == [1, 2]  # parts per feature
    assert [len(p) for p in shapes[0]] == [2]  # exterior + hole
    # closing vertices are dropped (Leaflet closes rings): 4 corners per ring
    assert all(len(ring) == 4 for f in shapes for p in f for ring in p)
    rebuilt = Polygon(np.vstack([shapes[0][0][0], shapes[0][0][0][:1]]), [np.vstack([shapes[0][0][1], shapes[0][0][1][:1]])])
    assert rebuilt.equals_exact(with_hole, 1e-6) or rebuilt.normalize().equals_exact(with_hole.normalize(), 1e-6)


def test_lines_and_mixed_geometry_split_into_one_layer_per_family():
    gdf = gpd.GeoDataFrame(
        {"status": ["fail", "fail", "unknown", "fail"], "label": ["p", "line", "area", "mp"]},
        geometry=[Point(X0, Y0), LineString([(X0, Y0), (X0 + 0.01, Y0 + 0.01)]), box(X0, Y0, X0 + 0.01, Y0 + 0.01),
                  MultiPoint([(X0 + 0.02, Y0), (X0 + 0.03, Y0)])],
        crs=4326,
    )
    r = _report_with_overlays({"mixed": gdf})
    spec = maps.map_spec(r.dataset, report=r)
    results = [lyr for lyr in spec["layers"] if lyr["group"] == "result"]
    assert sorted(lyr["kind"] for lyr in results) == ["line", "point", "polygon"]
    points = next(lyr for lyr in results if lyr["kind"] == "point")
    assert points["count"] == 3  # the MultiPoint became two points
    line = next(lyr for lyr in results if lyr["kind"] == "line")
    coords = decode_shapes(line["geom"], spec["scale"], polygon=False)[0][0]
    assert np.allclose(coords, [[X0, Y0], [X0 + 0.01, Y0 + 0.01]], atol=1e-6)


def test_polygons_are_simplified_in_metres():
    # a square of 200 m with a 1 m notch in one side: the notch goes at 5 m, the square stays
    metric = shapely.Polygon([(0, 0), (100, 0), (100, -1), (101, -1), (101, 0), (200, 0), (200, 200), (0, 200)])
    metric = shapely.affinity.translate(metric, 505000, 3305000)
    gdf = gpd.GeoDataFrame({"name": ["x"]}, geometry=[metric], crs=NINGBO_TM).to_crs(4326)
    ds = Dataset.from_gdfs({"zones": gdf})
    raw = decode_shapes(layer_of(maps.map_spec(ds, simplify_m=0), "zones")["geom"], 1e6, True)[0][0][0]
    simple = decode_shapes(layer_of(maps.map_spec(ds, simplify_m=5), "zones")["geom"], 1e6, True)[0][0][0]
    assert len(raw) == 8 and len(simple) == 4
    area = gpd.GeoSeries([Polygon(simple)], crs=4326).to_crs(NINGBO_TM).area.iloc[0]
    assert area == pytest.approx(200 * 200, rel=1e-3)


def test_many_part_areas_simplify_to_the_same_shapes_as_geos():
    """mapcodec.douglas_peucker: group by group, the shapes GEOS gives for the whole multipolygon.

    A service area of a province is one multipolygon of tens of thousands of parts; GEOS repaired its
    simplification with buffer(0) of the whole (minutes at x100). Here 741 parts: at 50 m nothing needs a
    repair and the result is the same WKB; at 200 m the simplified parts overlap, GEOS repairs the whole
    and the groups give the same polygons (normalised: part order and each ring's first vertex aside).
    """
    rng = np.random.default_rng(7)
    area = shapely.union_all(shapely.buffer(shapely.points(rng.uniform(0, 60_000, (1500, 2))), 500, quad_segs=8))
    parts = shapely.get_parts(area)
    assert len(parts) > mapcodec.MANY_PARTS
    geoms = np.array([area, parts[0], shapely.multipolygons(parts[:3]), None], dtype=object)
    for tolerance in (50, 200, 800):
        got = mapcodec.douglas_peucker(geoms, tolerance)
        want = shapely.simplify(geoms, tolerance, preserve_topology=False)
        assert shapely.equals_exact(shapely.normalize(got[:3]), shapely.normalize(want[:3]), 0).all()
        assert got[3] is None
        assert [shapely.to_wkb(g) for g in got[1:3]] == [shapely.to_wkb(g) for g in want[1:3]]
        if tolerance == 50:
            assert shapely.to_wkb(got[0]) == shapely.to_wkb(want[0])
    repaired = shapely.multipolygons(shapely.simplify(parts, 200, preserve_topology=False))
    assert not shapely.is_valid(repaired)  # the repair is exercised at 200 m


def test_labels_that_differ_by_an_id_are_templated_and_read_back_the_same():
    """mapspec.templated: every text comes back exactly (texts without an id, odd ones, escaped ones too)."""
    from nbgeo.renderers import mapspec

    rng = np.random.default_rng(5)
    texts = [f"MP{i:05d}：4 公里（按道路）范围内没有充换电设施" for i in rng.integers(0, 10**5, 300)]
    texts += ["no id here", "", "SR7 &amp; SR8 &#x27;x&#x27;", "G1\n2", "x" * 3, "5G 基站"] * 3
    values = np.array(texts, dtype=object)
    p = mapspec.templated(values)
    assert p is not None and len(p["t"]) <= 10
    codes = mapcodec.unvarint(p["c"])
    assert [p["t"][c].replace(mapspec.HOLE, x) for c, x in zip(codes, p["x"], strict=True)] == texts
    assert len(json.dumps(p, ensure_ascii=False)) < len(json.dumps(texts, ensure_ascii=False)) / 2
    assert mapspec.templated(np.array([f"{i}-{j}" for i, j in zip("abcdefgh", "hgfedcba", strict=True)], dtype=object)) is None
    # a finding layer's labels: templated in the spec, the same label per feature through prop()
    gdf = gpd.GeoDataFrame({"label": [f"CH{i:05d}: too close" for i in range(50)], "status": "fail"},
                           geometry=[Point(X0 + i * 1e-3, Y0) for i in range(50)], crs=4326)
    r = _report_with_overlays({"spacing": gdf})
    spec = maps.map_spec(r.dataset, report=r)
    layer = next(lyr for lyr in spec["layers"] if lyr["group"] == "result")
    slot = next(s for s, _ in layer["fields"] if "t" in layer["props"][s])
    label = next(lbl for s, lbl in layer["fields"] if s == slot)
    assert [prop(layer, label, i) for i in range(50)] == gdf["label"].tolist()


def test_integer_strings_round_trip():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.integers(-2**40, 2**40, 500), rng.integers(-40, 40, 500), [0, -1, 2**53 - 1]])
    text = mapcodec.varint(values)
    assert mapcodec.unvarint(text) == values.tolist()
    assert re.fullmatch(r"[A-Za-z0-9_-]*", text)  # nothing to escape in JSON, HTML or JS


def test_ids_that_do_not_compress_stay_a_list():
    assert mapcodec.encode_ids(__import__("pandas").Index(["b7", "a1", "zz"])) == ["b7", "a1", "zz"]


# -- legends, labels, panels -----------------------------------------------------------------


def test_categorical_legends_count_every_feature(sample):
    spec = maps.map_spec(sample, lang="zh")
    for layer in spec["layers"]:
        legend = layer["legend"]
        if legend and legend["type"] == "categorical":
            total = sum(int(item["count"].replace(",", "")) for item in legend["items"])
            assert total == layer["count"], layer["id"]
            assert len(ints(layer["ci"])) == layer["count"]
            assert max(ints(layer["ci"])) < len(layer["colors"])
    tiers = [i["label"] for i in layer_of(spec, "clusters")["legend"]["items"]]
    assert tiers[:2] == ["千亿级", "五百亿级"]  # the plan's order, not by frequency
    industries = layer_of(spec, "featured_parks")["legend"]["items"]
    assert len(industries) == 12 and all(re.fullmatch(r"#[0-9a-f]{6}", i["color"]) for i in industries)


def test_languages(sample):
    zh = layer_of(maps.map_spec(sample, layers=["chargers"], lang="zh"), "chargers")
    en = layer_of(maps.map_spec(sample, layers=["chargers"], lang="en"), "chargers")
    assert [i["label"] for i in zh["legend"]["items"]] == ["充电站", "换电站"]
    assert [i["label"] for i in en["legend"]["items"]] == ["charging", "battery swapping"]
    assert zh["title"] == "充换电设施" and en["title"] == "EV charging and swapping"
    assert prop(en, "type", 0) in ("charging", "battery swapping")
    with pytest.raises(MapError, match="unknown map language"):
        maps.map_spec(sample, lang="fr")


def test_district_labels_follow_the_language(sample):
    zh = layer_of(maps.map_spec(sample, layers=["districts"], lang="zh"), "districts")["labels"]["t"]
    en = layer_of(maps.map_spec(sample, layers=["districts"], lang="en"), "districts")["labels"]["t"]
    assert any("区" in t for t in zh) and not any("区" in t for t in en)
    assert len(zh) == 10


def test_continuous_legend_for_distances():
    pts = gpd.GeoDataFrame({"status": ["uncovered"] * 3, "label": ["a", "b", "c"], "distance_m": [100.0, 850.5, 2400.0]},
                           geometry=[Point(X0 + 0.01 * i, Y0) for i in range(3)], crs=4326)
    r = _report_with_overlays({"uncovered demand": pts})
    layer = next(lyr for lyr in maps.map_spec(r.dataset, report=r, lang="en")["layers"] if lyr["group"] == "result")
    assert layer["legend"]["type"] == "continuous"
    assert (layer["legend"]["min"], layer["legend"]["max"]) == ("100", "2,400")
    ci = ints(layer["ci"])
    assert ci[0] == 0 and ci[2] == len(layer["colors"]) - 2  # the ends of the ramp; the last slot is "missing"
    assert layer["legend"]["title"] == "distance (m)"


def test_target_panel_groups_years_and_shows_progress(sample, ningbo_plan):
    r = audit.run_audit(sample, ningbo_plan)
    panel = maps.map_spec(sample, report=r, lang="en")["targets"]
    ids = list(dict.fromkeys(t.id for t in r.targets))
    assert len(panel["rows"]) == len(ids)
    land = next(row for row in panel["rows"] if len(row["years"]) > 1)
    assert [y["year"] for y in land["years"]] == [2021, 2022, 2023, 2024, 2025]
    assert land["status"] == "not_met"  # 2023 failed, so the row is flagged
    first = panel["rows"][ids.index("clusters_100bn")]
    assert first["share"] == pytest.approx(0.75) and first["status"] == "not_met"
    met = sum(t.status == "met" for t in r.targets)
    assert f"{met} met" in panel["summary"] and met == 22


def test_illustrative_layers_are_labelled(sample):
    spec = maps.map_spec(sample, lang="en")
    for layer in spec["layers"]:
        assert layer["illustrative"] == sample.layer(layer["id"]).meta.illustrative
    assert any("Illustrative data" in n for n in spec["notes"])
    real = maps.map_spec(sample, layers=["districts"], lang="en")
    assert real["notes"] == [] and not real["layers"][0]["illustrative"]
    assert [s["illustrative"] for s in real["sources"]] == [False]


# -- basemaps -----------------------------------------------------------------------------------


def test_no_basemap_by_default_and_optional_ones(sample):
    assert maps.map_spec(sample, layers=["districts"])["basemap"] is None
    osm = maps.map_spec(sample, layers=["districts"], basemap="osm")["basemap"]
    assert osm["url"].startswith("https://tile.openstreetmap.org/")
    key = "0123456789abcdef0123456789abcdef"
    tdt = maps.map_spec(sample, layers=["districts"], basemap="tianditu", tianditu_key=key)["basemap"]
    assert tdt["url"].endswith("tk=" + key) and tdt["labels"].endswith("tk=" + key)
    with pytest.raises(MapError, match="Tianditu") as exc:
        maps.map_spec(sample, layers=["districts"], basemap="tianditu", tianditu_key="x';alert(1)//")
    assert exc.value.code == "E-MAP-BASEMAP-KEY"
    with pytest.raises(MapError, match="unknown basemap"):
        maps.map_spec(sample, basemap="google")


def test_tianditu_key_from_the_environment(sample, monkeypatch):
    monkeypatch.setenv("NBGEO_TIANDITU_KEY", "f" * 32)
    assert "tk=" + "f" * 32 in maps.map_spec(sample, layers=["districts"], basemap="tianditu")["basemap"]["url"]


def test_amap_shifts_every_layer_to_gcj02_and_says_so(sample):
    plain = maps.map_spec(sample, layers=["chargers", "districts"], lang="en")
    shifted = maps.map_spec(sample, layers=["chargers", "districts"], basemap="amap", lang="en")
    a = decode_points(layer_of(plain, "chargers")["geom"], 1e6)
    b = decode_points(layer_of(shifted, "chargers")["geom"], 1e6)
    glon, glat = wgs84_to_gcj02(a[:, 0], a[:, 1])
    assert np.abs(b - np.column_stack([glon, glat])).max() < 2e-6
    assert 0.003 < float(np.median(b[:, 0] - a[:, 0])) < 0.006  # about 450 m east here
    labels_a = decode_points(layer_of(plain, "districts")["labels"], 1e6)
    labels_b = decode_points(layer_of(shifted, "districts")["labels"], 1e6)
    assert np.all(labels_b[:, 0] > labels_a[:, 0])
    assert any("GCJ-02" in n for n in shifted["notes"]) and not any("GCJ-02" in n for n in plain["notes"])
    assert shifted["bounds"][0][1] > plain["bounds"][0][1]


# -- the page -----------------------------------------------------------------------------------

# What makes a page load something: src= attributes, CSS url() and @import, <link> elements (checked apart).
# (An <a href> only navigates when clicked; Leaflet's attribution has one.)
_NETWORK = re.compile(r"""\bsrc\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I)


def test_map_page_loads_nothing_from_the_network(sample, ningbo_plan):
    html = maps.audit_map(audit.run_audit(sample, ningbo_plan)).get_root().render()
    assert not _NETWORK.search(html)
    assert "<link" not in html and "<script src" not in html
    for cdn in ("cdn.jsdelivr", "code.jquery", "bootstrapcdn", "cdnjs", "unpkg"):
        assert cdn not in html
    assert html.count(f"Leaflet {assets.LEAFLET_VERSION}") == 1
    assert "sourceMappingURL" not in html


def test_map_is_a_folium_map_that_other_elements_can_join(sample):
    m = maps.dataset_map(sample, layers=["districts"])
    assert isinstance(m, folium.Map)
    folium.Marker([Y0, X0], tooltip="hello").add_to(m)
    html = m.get_root().render()
    assert "L.marker(" in html and "hello" in html
    assert "data:image/png;base64," in html  # the default marker icon is inlined
    assert not _NETWORK.search(html)


def test_full_sample_map_is_under_5_mb(sample, ningbo_plan):
    html = maps.audit_map(audit.run_audit(sample, ningbo_plan)).get_root().render()
    assert len(html.encode()) < 5_000_000


def test_large_point_layers_cost_bytes_per_point_not_markers():
    rng = np.random.default_rng(1)
    n = 20_000
    pts = gpd.GeoDataFrame({"type": rng.choice(["charging", "swapping"], n), "ports": rng.integers(1, 9, n),
                            "year": rng.integers(2019, 2026, n)},
                           geometry=gpd.points_from_xy(rng.uniform(121, 122, n), rng.uniform(29.5, 30.3, n)),
                           crs=4326, index=[f"CH{i:06d}" for i in range(n)])
    m = maps.dataset_map(Dataset.from_gdfs({"chargers": pts}))
    html = m.get_root().render()
    empty = maps.dataset_map(Dataset.from_gdfs({"chargers": pts.iloc[:1]})).get_root().render()
    assert (len(html) - len(empty)) / n < 20  # bytes per point, with its three attributes
    # no generated markers: the only L.marker( / circleMarker( are those in the inlined libraries
    for call in ("L.marker(", "L.circleMarker("):
        assert html.count(call) == (assets.runtime_js() + assets.leaflet_js()).count(call)
    assert html.count("nbgeo.attach(") == 1 + assets.runtime_js().count("nbgeo.attach(")


def test_embed_html_draws_the_same_spec_once(sample):
    m = maps.dataset_map(sample, layers=["districts", "chargers"])
    page = m.get_root().render()
    snippet = maps.embed_html(m, height="500px", element_id="m1")
    assert snippet.count("nbgeo.mount(") == 1 and '"embedded":true' in snippet
    assert len(snippet) < len(page)  # no second copy of the assets
    with pytest.raises(MapError):
        maps.embed_html(m, height="500px;background:url(x)")
    with pytest.raises(MapError):
        maps.embed_html(m, element_id="a\"><script>")
    with pytest.raises(MapError, match="not made by nbgeo"):
        maps.embed_html(folium.Map())


def test_write_map_is_atomic(tmp_path, sample, monkeypatch):
    out = tmp_path / "map.html"
    out.write_text("old", encoding="utf-8")
    m = maps.dataset_map(sample, layers=["districts"])

    def broken() -> str:
        msg = "boom"
        raise RuntimeError(msg)

    monkeypatch.setattr(assets, "head_html", broken)
    with pytest.raises(RuntimeError, match="boom"):
        maps.write_map(m, out, overwrite=True)
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    monkeypatch.undo()
    with pytest.raises(OutputError) as exc:  # the planner's file is kept unless told otherwise
        maps.write_map(maps.dataset_map(sample, layers=["districts"]), out)
    assert exc.value.code == "E-IO-EXISTS" and out.read_text(encoding="utf-8") == "old"
    maps.write_map(maps.dataset_map(sample, layers=["districts"]), out, overwrite=True)
    assert out.stat().st_size > 100_000


def test_spec_is_strict_json(sample):
    spec = maps.map_spec(sample, layers=["micro_parks", "clusters"])
    text = json.dumps(spec, allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text


def test_assets_come_from_the_installed_package():
    from importlib import resources

    installed = resources.files("js_lib_leaflet").joinpath("static", "js_lib_leaflet", "leaflet.js").read_text("utf-8")
    assert installed.split("//# sourceMappingURL")[0].strip()[-200:] in assets.leaflet_js()
    assert not list(Path(maps.__file__).parent.glob("**/leaflet*.js"))  # nothing copied into nbgeo


# -- helpers ------------------------------------------------------------------------------------


def _report_with_overlays(overlays):
    from nbgeo.plan import Plan, Target

    base = gpd.GeoDataFrame({"name": ["d"]}, geometry=[box(X0 - 0.1, Y0 - 0.1, X0 + 0.1, Y0 + 0.1)], crs=4326)
    ds = Dataset.from_gdfs({"districts": base}, name="tiny")
    plan = Plan(id="p", title="t", baseline=2020, horizon=2025,
                targets=(Target(id="d", layer="districts", metric="count", threshold=1),))
    r = audit.run_audit(ds, plan)
    return audit.AuditReport(plan=r.plan, dataset=r.dataset, year=r.year, targets=r.targets, overlays=overlays)


def test_the_renderers_keep_their_old_module_names():
    """README code (``from nbgeo import maps, report``) keeps working; moved public modules warn."""
    import importlib

    from nbgeo import charts, compare, html, report
    from nbgeo import renderers as r

    r_modules = importlib.import_module("nbgeo.renderers.maps"), importlib.import_module("nbgeo.renderers.report")
    assert maps.audit_map is r_modules[0].audit_map and maps.write_map is r_modules[0].write_map
    assert report.write_report is r_modules[1].write_report and report.json_safe is r_modules[1].json_safe
    assert compare.compare is importlib.import_module("nbgeo.renderers.compare").compare
    assert charts.progress_chart is importlib.import_module("nbgeo.renderers.charts").progress_chart
    assert html.safe_text("<b>") == "&lt;b&gt;" and r.__name__ == "nbgeo.renderers"
    assert maps.SCALE == mapcodec.SCALE  # other names are forwarded too
    for old in ("render", "theme", "labels"):
        shim, new = importlib.import_module(f"nbgeo.{old}"), importlib.import_module(f"nbgeo.renderers.{old}")
        for name in new.__all__:
            with pytest.warns(DeprecationWarning, match=f"use nbgeo.renderers.{old}.{name}"):
                assert getattr(shim, name) is getattr(new, name)
