"""What goes on an audit map first (issue 16) and what keeps it small (issue 18): the draw order, the sites
an audit found, legend words instead of ids, counts per grid cell for dense layers."""

from __future__ import annotations

import html

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nbgeo import audit, maps, plan
from nbgeo.layers import Dataset
from nbgeo.renderers import mapcodec, mapsites, mapspec, readable, theme


@pytest.fixture(scope="module")
def result(sample, ningbo_plan):
    return audit.run_audit(sample, ningbo_plan)


def _kinds(spec):
    return [(lyr["group"], lyr["kind"]) for lyr in spec["layers"]]


@pytest.mark.parametrize("asked", [["micro_parks", "constraints", "districts", "smart_roads", "chargers"],
                                   ["chargers", "smart_roads", "districts", "constraints", "micro_parks"]])
def test_areas_under_lines_under_points_whatever_the_order_asked(sample, asked):
    spec = maps.map_spec(sample, layers=asked)
    assert [lyr["id"] for lyr in spec["layers"]] == ["districts", "constraints", "micro_parks", "smart_roads",
                                                     "chargers"]


def test_results_above_data_and_in_family_order(result):
    order = _kinds(maps.map_spec(result.dataset, report=result))
    rank = {("data", "polygon"): 0, ("data", "line"): 1, ("data", "point"): 2, ("result", "polygon"): 3,
            ("result", "line"): 4, ("result", "point"): 5}
    assert [rank[k] for k in order] == sorted(rank[k] for k in order)


def test_unknown_layers_keep_the_order_asked_among_their_family():
    def square(x):
        return gpd.GeoDataFrame(geometry=[shapely.box(121 + x, 29, 121.01 + x, 29.01)], crs=4326)

    ds = Dataset.from_gdfs({"b": square(0), "a": square(0.1), "districts": square(0.2)})
    assert [lyr["id"] for lyr in maps.map_spec(ds, layers=["b", "a", "districts"])["layers"]] == ["districts", "b", "a"]


def test_legend_names_overlays_in_words_not_ids(result, ningbo_plan):
    for lang in ("zh", "en"):
        spec = maps.map_spec(result.dataset, report=result, lang=lang)
        titles = [lyr["title"] for lyr in spec["layers"] if lyr["group"] == "result"]
        ids = [r.id for r in ningbo_plan.rules] + [c.id for c in ningbo_plan.coverage]
        assert titles and not [t for t in titles for i in ids if i in t]
    zh = [lyr["title"] for lyr in maps.map_spec(result.dataset, report=result)["layers"]]
    assert "小微企业园不得占用生态保护红线 · 1 处不符合" in zh
    assert "充换电设施 1 公里 内未覆盖的小微企业园（35 处）" in zh
    en = [lyr["title"] for lyr in maps.map_spec(result.dataset, report=result, lang="en")["layers"]]
    assert "Micro-enterprise parks outside the ecological red line · 1 failing" in en


def test_sites_list_failing_then_uncovered_with_names(result):
    sites = maps.map_spec(result.dataset, report=result)["sites"]
    items = sites["items"]
    statuses = [it["status"] for it in items]
    fails = {it["id"] for it in items if it["status"] == "fail"}
    expected = {f["feature_id"] for e in result.sections["rules"] for f in e.get("findings", [])
                if f.get("status") == "fail"}
    assert fails == expected
    # grouped by severity (the law's first), then verdict; each item in its group, groups in that order
    keys = [(plan.SEVERITIES.index(g["sev"]["severity"]), mapsites.FOCUS_STATUSES.index(g["status"]))
            for g in sites["groups"]]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert [it["g"] for it in items] == sorted(it["g"] for it in items)
    assert all(sites["groups"][it["g"]]["status"] == it["status"] for it in items)
    assert sum(g["count"] for g in sites["groups"]) == len(items)
    # each entry names what it was checked against: the rule's or requirement's title
    titles = set(readable.plan_titles(result.plan, "zh").values())
    assert all(it["title"] and set(it["title"].split("; ")) <= {html.escape(t, quote=True) for t in titles}
               for it in items)
    uncovered = sum(len(g) for t, g in result.overlays.items() if t.startswith("Uncovered"))
    assert statuses.count("uncovered") == uncovered == 65
    cl1 = next(it for it in items if it["id"] == "CL00001" and it["status"] == "fail")
    assert cl1["name"] == result.dataset["clusters"].loc["CL00001", "name"]
    # both rules' findings, each by the rule's title and its reason in the map's language (zh by default)
    titles = readable.plan_titles(result.plan, "zh")
    for rule in ("petrochemical_setback", "petrochemical_setback_schools_hospitals"):
        assert f"{titles[rule]}：CL00001 — " in cl1["reason"] and rule not in cl1["reason"]
    assert "距居住" in cl1["reason"] and "距学校" in cl1["reason"]
    lat, lon = cl1["ll"]
    assert shapely.contains_xy(result.dataset["clusters"].loc["CL00001", "geometry"], lon, lat)
    assert sites["more"] == 0 and f"{len(fails)} 不符合" in sites["summary"]


def test_every_site_and_result_layer_shows_its_severity_and_basis(result):
    """Issue 15 on the map: each listed site and each finding layer says how binding it is and what it rests on."""
    spec = maps.map_spec(result.dataset, report=result, lang="en")
    rules = {e["id"]: e for e in result.sections["rules"]}
    worst = {}  # per failing site, its most binding severity over the rules it fails, and those rules' bases
    for e in rules.values():
        for f in e["findings"]:
            if f["status"] == "fail":
                worst.setdefault(f["feature_id"], []).append((plan.SEVERITIES.index(f["severity"]), f["basis"]))
    items = spec["sites"]["items"]
    assert items and all(it["sev"]["text"] in {"prohibited", "restricted", "advisory"} for it in items)
    for it in (i for i in items if i["status"] == "fail"):
        rank, _ = min(worst[it["id"]], key=lambda w: w[0])
        assert it["sev"]["severity"] == plan.SEVERITIES[rank] and it["sev"]["colour"] == theme.severity_colour(
            plan.SEVERITIES[rank])
        for _, basis in worst[it["id"]]:
            assert html.escape(basis["instrument"], quote=True) in it["sev"]["basis"]
        assert it["sev"]["advisory"] == (plan.SEVERITIES[rank] == "建议")
    cov = {e["id"]: e for e in result.sections["coverage"]}
    uncovered = [i for i in items if i["status"] == "uncovered"]
    assert uncovered and {i["sev"]["severity"] for i in uncovered} == {e["severity"] for e in cov.values()
                                                                     if e["status"] != "met"}
    # a parcel on farmland (禁止, 土地管理法 第三十五条) outside the town boundary (限制) is shown as 禁止, both bases
    both = next(i for i in items if i["id"] == "LT00002")
    assert both["sev"]["text"] == "prohibited" and "第三十五条" in both["sev"]["basis"] and "; " in both["sev"]["basis"]
    slope = next(i for i in items if i["id"] == "MP00001")  # red line (禁止) and slope (建议): the law wins
    assert slope["sev"]["text"] == "prohibited" and "CJJ 83-2016" in slope["sev"]["basis"]
    findings = [ly for ly in spec["layers"] if ly["group"] == "result" and ly["sevSlot"]]
    assert len(findings) >= 10
    for ly in findings:
        assert ly["sev"] is None or ly["sev"]["text"] in ly["sevMarks"]
        assert {m["text"] for m in ly["sevMarks"].values()} <= {"prohibited", "restricted", "advisory"}


def test_sites_are_capped_per_group_and_say_how_many_more(result):
    full = mapsites.focus_sites(result.overlays, result.dataset, "en")
    total = len(full["items"])
    assert total > 60 and full["more"] == 0  # the sample's failing and uncovered sites, fewer than the cap
    sites = mapsites.focus_sites(result.overlays, result.dataset, "en", limit=10)
    assert [g["count"] for g in sites["groups"]] == [g["count"] for g in full["groups"]]  # counted whole
    assert [g["shown"] for g in sites["groups"]] == [min(10, g["count"]) for g in full["groups"]]
    assert len(sites["items"]) == sum(g["shown"] for g in sites["groups"]) and sites["more"] == total - len(sites["items"])
    for g in sites["groups"]:
        assert (f"{g['count'] - 10} more" in g["moreText"]) if g["count"] > 10 else g["moreText"] == ""
        assert (f"show {g['shown'] - mapsites.LIST_PAGE} more" == g["expandText"]) == (g["shown"] > mapsites.LIST_PAGE)


def _province_findings(n: int) -> dict[str, gpd.GeoDataFrame]:
    """``n`` failing sites in each severity and ``n`` uncovered ones, with long names and reasons."""
    rng = np.random.default_rng(16)
    out = {}
    for k, sev in enumerate([*plan.SEVERITIES, None]):
        xy = np.column_stack([rng.uniform(120.9, 122.3, n), rng.uniform(28.9, 30.4, n)])
        out[f"rule {k}"] = gpd.GeoDataFrame(
            {"status": "uncovered" if sev is None else "fail", "severity": sev, "basis": "《某某条例》第十条" * 3,
             "label": [f"site {i} fails a long reason " + "x" * 120 for i in range(n)],
             "feature_id": [f"F{k}-{i:06d}" for i in range(n)]},
            geometry=shapely.points(xy), crs=4326)
    return out


def test_a_province_of_failing_sites_keeps_the_page_bounded():
    """Thousands of failing sites: every group counted whole, at most FOCUS_LIMIT of each shipped, the JSON bounded."""
    import json

    small, large = _province_findings(200), _province_findings(5_000)
    empty = Dataset.from_gdfs({"x": gpd.GeoDataFrame(geometry=[shapely.Point(121.5, 29.8)], crs=4326)})
    sizes = {}
    for name, overlays in (("small", small), ("large", large)):
        sites = mapsites.focus_sites(overlays, empty, "zh")
        n = len(next(iter(overlays.values())))
        assert [g["count"] for g in sites["groups"]] == [n] * 4
        assert [g["shown"] for g in sites["groups"]] == [mapsites.FOCUS_LIMIT] * 4
        assert sites["more"] == 4 * (n - mapsites.FOCUS_LIMIT) and f"{n - mapsites.FOCUS_LIMIT:,}" in sites[
            "groups"][0]["moreText"]
        sizes[name] = len(json.dumps(sites, ensure_ascii=False))
    # the page does not grow with the number of sites: 25 times the sites, the same size within 2 %
    assert sizes["large"] <= 1.02 * sizes["small"] and sizes["large"] < 4 * mapsites.FOCUS_LIMIT * 1_000


def test_no_sites_without_an_audit(sample):
    assert maps.map_spec(sample)["sites"] is None


def test_hostile_names_in_the_sites_list_are_escaped():
    gdf = gpd.GeoDataFrame({"name": ["<img src=x onerror=alert(1)>{{7*7}}"]}, geometry=[shapely.Point(121.5, 29.8)],
                           crs=4326, index=["S<1>"])
    found = gpd.GeoDataFrame({"status": ["uncovered"], "label": ["</script>${x}"]}, geometry=[shapely.Point(121.5, 29.8)],
                             crs=4326, index=["S<1>"])
    sites = mapsites.focus_sites({"t": found}, Dataset.from_gdfs({"sites": gdf}), "en")
    it = sites["items"][0]
    assert it["id"] == "S&lt;1&gt;" and "<" not in it["name"] and "{{" not in it["name"] and "<" not in it["reason"]
    assert "$" not in it["reason"]


def test_dense_points_are_counted_per_cell_and_drawn_one_by_one_zoomed_in(sample):
    layer = maps.map_spec(sample, layers=["chargers"])["layers"][0]
    agg = layer["agg"]
    assert agg["raw"] and agg["rawZoom"] == mapspec.RAW_ZOOM and layer["count"] == 10600
    assert [lv["z"] for lv in agg["levels"]] == list(range(7, mapspec.RAW_ZOOM))
    for lv in agg["levels"]:
        assert sum(mapcodec.unvarint(lv["n"])) == 10600 and lv["cells"] == len(mapcodec.unvarint(lv["n"]))
    assert len(mapcodec.unvarint(layer["geom"]["x"])) == 10600  # the points, for zoomed-in views


def test_layers_over_the_limit_ship_counts_only(monkeypatch, sample):
    monkeypatch.setitem(mapspec.RAW_MAX, "point", 5000)
    monkeypatch.setitem(mapspec.RAW_MAX, "polygon", 100)
    spec = maps.map_spec(sample, layers=["chargers", "micro_parks", "clusters"])
    chargers, parks, clusters = (next(lyr for lyr in spec["layers"] if lyr["id"] == i)
                                 for i in ("chargers", "micro_parks", "clusters"))
    assert not chargers["agg"]["raw"] and chargers["geom"]["x"] == "" and chargers["count"] == 10600
    assert chargers["agg"]["levels"][-1]["z"] > mapspec.RAW_ZOOM  # cells at every zoom instead
    assert not parks["agg"]["raw"] and parks["count"] == 242 and parks["geom"]["p"] == ""
    assert sum(mapcodec.unvarint(parks["agg"]["levels"][0]["n"])) == 242
    assert clusters["agg"] is None and clusters["count"] == 14


def test_grid_levels_count_every_point_and_stop_at_the_cell_limit():
    rng = np.random.default_rng(1)
    pts = np.column_stack([121 + rng.random(5000), 29 + rng.random(5000)])
    levels = mapsites.grid_levels(pts, max_cells=3000)
    assert [lv["z"] for lv in levels] == list(range(7, 7 + len(levels))) and levels
    for lv in levels:
        x = np.cumsum(mapcodec.unvarint(lv["x"]))
        y = np.cumsum(mapcodec.unvarint(lv["y"]))
        n = mapcodec.unvarint(lv["n"])
        assert sum(n) == 5000 and lv["cells"] <= 3000
        # each cell holds exactly the points that fall in it
        cell = lv["cell"]
        want = np.unique(np.floor(pts / cell).astype(int), axis=0, return_counts=True)
        assert np.array_equal(np.column_stack([x, y]), want[0]) and np.array_equal(n, want[1])
    nxt = int(np.unique(np.floor(pts / mapsites._cell_degrees(levels[-1]["z"] + 1)).astype(int), axis=0).shape[0])
    assert nxt > 3000  # the next level would have been over the limit


def test_the_sample_audit_map_stays_small(result):
    html = maps.audit_map(result).get_root().render()
    assert len(html.encode()) < 2_500_000


def test_siting_layers_are_named_by_their_question_not_its_id(sample, ningbo_plan):
    from nbgeo import optimize
    from nbgeo.audit import AuditReport

    question = ningbo_plan.siting[0]
    found, _ = optimize.site_from_spec(question, sample, ningbo_plan)
    for lang, words in (("zh", "充换电设施新增选址（服务小微企业园）"), ("en", question.title)):
        overlays = found.overlays(lang=lang)
        r = AuditReport(plan=ningbo_plan, dataset=sample, year=2025, targets=(), sections={}, overlays=overlays)
        titles = [lyr["title"] for lyr in maps.map_spec(sample, layers=["districts"], report=r, lang=lang)["layers"]
                  if lyr["group"] == "result"]
        assert len(titles) == len(overlays) and all(t.startswith(words) for t in titles), titles
        assert not [t for t in titles if question.id in t]
        proposed = [it for it in maps.map_spec(sample, layers=["districts"], report=r)["sites"]["items"]]
        assert proposed and {it["status"] for it in proposed} == {"proposed"}
        assert all(it["id"].startswith("N") for it in proposed)  # the candidate's id, from its label


def test_past_the_path_budget_the_largest_data_layers_become_counts(monkeypatch, result):
    monkeypatch.setattr(mapspec, "VECTOR_MIN", 0)
    monkeypatch.setattr(mapspec, "VECTOR_BUDGET", 1100)  # the audit's 86 finding paths, then ~1,000 of the data
    spec = maps.map_spec(result.dataset, report=result)
    cells = {lyr["id"] for lyr in spec["layers"] if lyr["agg"] and not lyr["agg"]["raw"]}
    # land parcels (3,000) and schools and hospitals (655) go first, the largest; districts never do
    assert cells == {"land_transfers", "receptors"}
    findings = [lyr for lyr in spec["layers"] if lyr["group"] == "result"]
    assert findings and not any(lyr["agg"] for lyr in findings)
    paths = sum(lyr["count"] for lyr in spec["layers"] if lyr["kind"] != "point" and not lyr["agg"])
    assert paths <= 1100
