"""Maps and reports in a real browser: headless Chromium (Debian's ``chromium``), driven over DevTools.

The pages must load with no console error and no request beyond the file
itself, show their layers, legend and panels, answer the mouse, survive the
canary suite, and screenshot cleanly. Chromium is launched with the offline
flags of nbgeo.renderers.chromium.FLAGS and a fresh --user-data-dir per browser.

When Chromium is not installed these tests skip with the reason, unless
``NBGEO_REQUIRE_BROWSER`` is set (CI sets it after installing Chromium): then
they fail, so nothing is silently skipped there.
"""

from __future__ import annotations

import dataclasses
import re
import struct
import unicodedata

import pytest
from canary import MAP_SLOTS, PAYLOADS, hostile_report, tagged

from nbgeo import audit, compare, maps, report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory, sample, ningbo_plan):
    out = tmp_path_factory.mktemp("demo")
    r = audit.run_audit(sample, ningbo_plan)
    maps.write_map(maps.audit_map(r, lang="zh"), out / "map.html")
    report.write_report(r, out, lang="en", formats=("html",))
    return {"map": out / "map.html", "report": out / "audit.html", "report_obj": r}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    r = hostile_report()
    maps.write_map(maps.audit_map(r, lang="zh"), out / "map.html")
    (out / "audit.html").write_text(report.to_html(r, lang="en"), encoding="utf-8")
    # scenario B lacks every (hostile) feature of A: the ids show as removed, the layers in the sites table
    layers = {name: dataclasses.replace(lyr, gdf=lyr.gdf.iloc[:0]) for name, lyr in r.dataset.layers.items()}
    b = dataclasses.replace(r, dataset=dataclasses.replace(r.dataset, layers=layers))
    labels = (" ".join(tagged(p, "title") for p in PAYLOADS), "B")
    comparison = compare.compare_reports(r, b, labels=labels)
    compare.write_comparison(comparison, out)  # in Chinese, as by default
    # in English too: a zh page names a target by the plan's phrase, an en page by its title (issue 16)
    compare.write_comparison(comparison, out / "en", lang="en")
    return {"map": out / "map.html", "report": out / "audit.html", "compare": out / "compare.html",
            "compare_en": out / "en" / "compare.html"}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _norm(text: str) -> str:
    """Whitespace as the browser's innerText gives it (line separators count as spaces)."""
    return re.sub(r"[\s\u2028\u2029]+", " ", unicodedata.normalize("NFC", text)).strip()


def test_demo_map_loads_offline_with_no_error(browser, demo):
    with browser.page(1600, 1000) as page:
        rep = browser.load(page, demo["map"])
        assert rep.ready
        assert rep.errors == []
        assert rep.external_requests == [], rep.external_requests
        assert rep.requests[0] == rep.url
        assert rep.dialogs == []


def test_demo_map_layers_legend_and_panels(browser, demo, tmp_path):
    r = demo["report_obj"]
    spec = maps.map_spec(r.dataset, report=r)
    with browser.page(1600, 1000) as page:
        assert browser.load(page, demo["map"]).ready
        got = browser.evaluate(page, """(() => {
            const inst = nbgeo.instances[0], q = s => document.querySelectorAll(s);
            const painted = c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                                   let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; };
            return {layers: inst.layers.length, rows: q('.nb-layers .nb-layer').length,
                    legend: q('.nb-layers .nb-li').length, checked: q('.nb-layers input:checked').length,
                    targets: q('.nb-targets .nb-t').length, sources: q('.nb-sources .nb-src').length,
                    title: document.querySelector('.nb-title-h').innerText,
                    badges: q('.nb-layers .nb-badge').length, labels: q('.nb-label').length,
                    chargers: painted(inst.byId['chargers'].layer.canvas),
                    vectorPaths: inst.layers.filter(l => l.spec.kind !== 'point').reduce((n, l) => n + l.spec._shapes.length, 0)};
        })()""")
        assert got["layers"] == got["rows"] == len(spec["layers"])
        assert got["legend"] >= 30
        assert got["checked"] == sum(lyr["visible"] for lyr in spec["layers"])
        assert got["targets"] == len({t.id for t in r.targets})
        assert got["sources"] == len(spec["sources"]) and got["title"] == r.plan.title
        assert got["badges"] == sum(lyr["illustrative"] for lyr in spec["layers"])
        assert got["labels"] == 10  # district names
        assert got["chargers"] > 5000  # pixels painted by the chargers' canvas
        assert got["vectorPaths"] == sum(lyr["count"] for lyr in spec["layers"] if lyr["kind"] != "point")
        png = browser.screenshot(page)
    assert _png_size(png) == (1600, 1000) and len(png) > 100_000
    (tmp_path / "map.png").write_bytes(png)


def test_demo_map_answers_the_mouse(browser, demo):
    with browser.page(1600, 1000) as page:
        assert browser.load(page, demo["map"]).ready
        # hover a charger: nbgeo's tooltip shows its id and layer (zoomed in: at city scale they are counts per cell)
        where = browser.evaluate(page, """(() => {
            const inst = nbgeo.instances[0], e = inst.byId['chargers'], m = inst.map;
            m.setView(e.layer.latLng(5000), 14, {animate: false});
            for (let i = 0; i < e.layer.n; i++) {
                const p = m.latLngToContainerPoint(e.layer.latLng(i));
                const inside = p.x > 700 && p.x < 1200 && p.y > 200 && p.y < 800;
                if (inside && inst.hub.hitPoints(p).layer.id === 'chargers') return {x: p.x, y: p.y, i: i};
            }
        })()""")
        browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": where["x"], "y": where["y"]},
                     session=page)
        browser.pump(0.3)
        tip = browser.evaluate(page, "document.querySelector('.leaflet-tooltip.nb-tip')?.innerText || ''")
        assert "充换电设施" in tip
        # click it: the popup has the fixed template, with the feature's fields
        browser.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": where["x"], "y": where["y"],
                                                  "button": "left", "clickCount": 1}, session=page)
        browser.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": where["x"], "y": where["y"],
                                                  "button": "left", "clickCount": 1}, session=page)
        browser.pump(0.3)
        popup = browser.evaluate(page, "document.querySelector('.nb-pop')?.innerText || ''")
        assert "充换电设施" in popup and "年份" in popup and "类型" in popup
        # switch the 5G layer on from the layer panel: one more point canvas
        before = browser.evaluate(page, "document.querySelectorAll('canvas.nb-points').length")
        browser.evaluate(page, """(() => { const rows = [...document.querySelectorAll('.nb-layer')];
            rows.find(r => r.innerText.includes('5G') && r.innerText.includes('41,500')).querySelector('input').click(); })()""")
        assert browser.evaluate(page, "document.querySelectorAll('canvas.nb-points').length") == before + 1


def test_demo_report_loads_offline_with_its_map_and_charts(browser, demo, tmp_path):
    r = demo["report_obj"]
    with browser.page(1400, 1000) as page:
        rep = browser.load(page, demo["report"])
        assert rep.ready and rep.errors == [] and rep.external_requests == [] and rep.dialogs == []
        got = browser.evaluate(page, """(() => ({
            maps: nbgeo.instances.length, charts: document.querySelectorAll('#targets td.chart svg').length,
            bars: document.querySelectorAll('#targets svg.pbar').length,
            provenance: document.querySelectorAll('#provenance tbody tr').length,
            mapHeight: document.querySelector('.nb-embed').offsetHeight,
            layers: document.querySelectorAll('.nb-embed .nb-layer').length}))()""")
        targets = len({t.id for t in r.targets})
        assert got["maps"] == 1 and got["charts"] == targets and got["bars"] == targets
        assert got["provenance"] >= len(r.dataset.layers) and got["mapHeight"] == 680 and got["layers"] > 10
        png = browser.screenshot(page, full_page=True)
    width, height = _png_size(png)
    assert width == 1400 and height > 3000
    (tmp_path / "report.png").write_bytes(png)


def test_request_detector_sees_tile_requests(browser, sample, tmp_path):
    # the same check that finds no request above does find them when a basemap is asked for
    maps.write_map(maps.dataset_map(sample, layers=["districts"], basemap="amap"), tmp_path / "amap.html")
    with browser.page(800, 600) as page:
        rep = browser.load(page, tmp_path / "amap.html")
    assert rep.ready and rep.external_requests
    assert all(re.match(r"https://webrd0[1-4]\.is\.autonavi\.com/appmaptile\?", u) for u in rep.external_requests)


def test_cli_png(has_browser, tmp_path):
    from click.testing import CliRunner

    from nbgeo.cli import main

    res = CliRunner().invoke(main, ["map", "--out", str(tmp_path / "m.html"), "--png", str(tmp_path / "m.png"),
                                    "--size", "1000x700", "--lang", "en"])
    assert res.exit_code == 0, res.output
    data = (tmp_path / "m.png").read_bytes()
    assert _png_size(data) == (1000, 700) and len(data) > 50_000


# -- the canary suite in the browser ------------------------------------------------------------------

_PWNED = "typeof globalThis.PWNED === 'undefined' ? null : String(globalThis.PWNED)"
_ACTIVE = """(() => ({
    handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
    imgs: document.querySelectorAll('img').length, iframes: document.querySelectorAll('iframe').length,
    jsLinks: document.querySelectorAll('a[href^="javascript"]').length,
    scripts: document.scripts.length, templates: document.querySelectorAll('template').length,
    hidden: getComputedStyle(document.body).display}))()"""


@pytest.mark.parametrize("kind", ["map", "report", "compare", "compare_en"])
def test_canaries_do_not_run_in_the_browser(browser, hostile, kind):
    with browser.page(1600, 1000) as page:
        rep = browser.load(page, hostile[kind])
        assert rep.ready and rep.errors == [] and rep.dialogs == []
        assert rep.external_requests == []
        # open every popup, so the popup and tooltip templates run on every payload too
        browser.evaluate(page, """(() => { for (const inst of nbgeo.instances) for (const e of inst.layers)
            for (let i = 0; i < e.spec.count; i++) { e.openPopup(i); e.tooltipHtml(i); } })()""")
        browser.pump(0.3)
        assert browser.evaluate(page, _PWNED) is None
        active = browser.evaluate(page, _ACTIVE)
        assert active["handlers"] == 0 and active["imgs"] == 0 and active["iframes"] == 0
        assert active["jsLinks"] == 0 and active["templates"] == 0 and active["hidden"] != "none"
        assert active["scripts"] == (4 if kind == "map" else 3)


def test_canaries_read_as_text_in_the_map(browser, hostile):
    with browser.page(1600, 1000) as page:
        assert browser.load(page, hostile["map"]).ready
        texts = browser.evaluate(page, """(() => {
            const inst = nbgeo.instances[0], t = s => document.querySelector(s).innerText;
            const popups = inst.layers.map(e => { const out = [];
                for (let i = 0; i < e.spec.count; i++) out.push(e.openPopup(i).innerText); return out.join(' ¶ '); });
            return {panel: t('.nb-layers'), title: t('.nb-title'), targets: t('.nb-targets'), sources: t('.nb-sources'),
                    popups: popups.join(' ¶ ')};
        })()""")
    where = {"value": "popups", "column": "popups", "id": "popups", "label": "popups", "layer": "panel",
             "legend": "panel", "overlay": "panel", "title": "title", "dataset": "title", "phrase": "targets",
             "unit": "targets", "section": "targets", "source": "sources"}
    assert set(where) == set(MAP_SLOTS)
    missing = [(slot, p) for p in PAYLOADS for slot, part in where.items()
               if _norm(tagged(p, slot)) not in _norm(texts[part])]
    assert missing == []


@pytest.mark.parametrize(("kind", "slots"), [
    ("report", ("title", "phrase", "target_title", "unit", "section", "section_key", "section_value", "source",
                "licence", "layer", "dataset")),
    ("compare", ("title", "phrase", "layer", "id")),
    ("compare_en", ("title", "target_title", "layer", "id")),
])
def test_canaries_read_as_text_in_the_report(browser, hostile, kind, slots):
    with browser.page(1400, 1000) as page:
        assert browser.load(page, hostile[kind]).ready
        body = _norm(browser.evaluate(page, "document.body.innerText"))
    missing = [(slot, p) for p in PAYLOADS for slot in slots if _norm(tagged(p, slot)) not in body]
    assert missing == []
