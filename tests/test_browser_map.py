"""The problems on the map, in a real browser (issue 16): on every page that carries an audit map
(the audit, a mid-term audit, a siting-rules map, the coverage map and the siting page), the sites the
audit found are drawn above every other layer, listed beside the map, and a click on the list zooms to
the site; the legend is words and fits whole in a still image; areas draw under lines under points.

Uses the headless Chromium of nbgeo.renderers.chromium; skips with the reason when there is none, and
fails instead when NBGEO_REQUIRE_BROWSER is set (CI), as tests/test_browser.py does.
"""

from __future__ import annotations

import html
import importlib.util
import struct
from pathlib import Path

import pytest

from nbgeo import audit, maps, report, runs

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _siting_script():
    spec = importlib.util.spec_from_file_location("siting_audit", SCRIPTS / "siting_audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pages(tmp_path_factory, sample, ningbo_plan):
    """Each kind of page that embeds or is an audit map, with what it should list."""
    out = tmp_path_factory.mktemp("pages")
    found = {}
    r = audit.run_audit(sample, ningbo_plan)
    report.write_report(r, out / "audit", formats=("html",))
    found["audit"] = (out / "audit" / "audit.html", r)
    mid = audit.run_audit(sample, ningbo_plan, year=2023)
    report.write_report(mid, out / "mid", formats=("html",), lang="en")
    found["midterm"] = (out / "mid" / "audit.html", mid)
    assert _siting_script().siting_audit("micro_parks", dataset=None, plan_path=None, out=out / "rules",
                                         lang="zh") == 1
    found["rules"] = (out / "rules" / "micro_parks_siting.html", None)
    runs.coverage_run(sample, ningbo_plan).write(out / "coverage")
    found["coverage"] = (out / "coverage" / "coverage.html", None)
    runs.site_run(sample, ningbo_plan, questions=["chargers_for_micro_parks"]).write(out / "site")
    found["site"] = (out / "site" / "audit.html", None)
    maps.write_map(maps.audit_map(r, lang="en"), out / "map.html")  # the standalone map of `nbgeo map`
    found["map"] = (out / "map.html", r)
    return found


KINDS = ["audit", "midterm", "rules", "coverage", "site", "map"]

# Where the map and the list beside it lie, and what the list shows.
_PLACES = """(() => {
    const inst = nbgeo.instances[0], c = inst.map.getContainer(), list = document.querySelector('.nb-sitelist');
    c.scrollIntoView({block: 'start'});
    const rect = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const groups = [...list.querySelectorAll('.nb-sgroup')].map(g => ({
        head: g.querySelector('.nb-sgroup-h').innerText, rows: g.querySelectorAll('.nb-site').length,
        shown: [...g.querySelectorAll('.nb-site')].filter(r => r.offsetParent !== null).length,
        button: g.querySelector('.nb-sites-exp') ? g.querySelector('.nb-sites-exp').innerText : null}));
    const first = list.querySelector('.nb-site');
    return {map: rect(c), list: rect(list), inside: c.contains(list), groups: groups, lang: inst.spec.lang,
            page: inst.spec.sites.page, spec: inst.spec.sites.groups.map(g => [g.count, g.shown]),
            first: first.innerText, title: inst.spec.sites.items[0].title, name: inst.spec.sites.items[0].name,
            id: inst.spec.sites.items[0].id};
})()"""


@pytest.mark.parametrize("kind", KINDS)
def test_the_sites_list_lies_beside_the_map_grouped_by_severity(browser, pages, kind):
    """Wide: a column to the right of the map; narrow: below it; never over it. Groups with counts and expanders."""
    path, _ = pages[kind]
    with browser.page(1500, 1000) as page:
        assert browser.load(page, path).ready
        got = browser.evaluate(page, _PLACES)
        assert not got["inside"] and _overlap(got["map"], got["list"]) == 0
        assert got["list"][0] >= got["map"][2] and got["list"][2] - got["list"][0] >= 300  # to the right
        assert got["list"][1] < got["map"][3] and got["list"][3] > got["map"][1]  # side by side
        words = {"zh": ("禁止", "限制", "建议", "不符合", "未覆盖", "建议新增选址"),
                 "en": ("prohibited", "restricted", "advisory", "failing", "uncovered", "proposed new sites")}
        for g, (count, shown) in zip(got["groups"], got["spec"], strict=True):
            head = " ".join(g["head"].split())
            assert any(w in head for w in words[got["lang"]][:3]) and any(w in head for w in words[got["lang"]][3:])
            assert head.endswith(f"{count:,}") and g["rows"] == shown and g["shown"] == min(shown, got["page"])
            assert (g["button"] is not None) == (shown > got["page"])
        # an entry: its badge, id, name and what it was checked against
        first = " ".join(got["first"].split())
        assert html.unescape(got["id"]) in first and html.unescape(got["title"]).split("; ")[0][:20] in first
        assert html.unescape(got["name"]) in first
        # the "N more" button shows the rest of its group, and folds it again
        opened = browser.evaluate(page, """(() => {
            const b = document.querySelector('.nb-sitelist .nb-sites-exp'); if (!b) return null;
            const g = b.parentNode, count = () => [...g.querySelectorAll('.nb-site')].filter(r => r.offsetParent).length;
            b.click(); const open = count(), text = b.innerText; b.click();
            return {open: open, closed: count(), all: g.querySelectorAll('.nb-site').length, text: text};
        })()""")
        if opened is not None:
            assert opened["open"] == opened["all"] > opened["closed"] == got["page"]
    with browser.page(900, 900) as page:  # a narrow screen: the list under the map, the map as wide as before
        assert browser.load(page, path).ready
        got = browser.evaluate(page, _PLACES)
        assert _overlap(got["map"], got["list"]) == 0 and got["list"][1] >= got["map"][3] - 0.5
        assert got["map"][3] - got["map"][1] >= 400


def test_the_sites_list_prints_under_the_map(browser, pages):
    path, _ = pages["audit"]
    with browser.page(1500, 1000) as page:
        assert browser.load(page, path).ready
        browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=page)
        got = browser.evaluate(page, _PLACES.replace("c.scrollIntoView", "inst.side.scrollIntoView"))
        buttons = browser.evaluate(page, """[...document.querySelectorAll('.nb-sites-exp')]
            .filter(b => b.offsetParent !== null).length""")
    assert got["list"][1] >= got["map"][3] - 0.5 and buttons == 0


def test_clicking_a_folded_entry_and_a_marker_opens_its_group(browser, pages):
    """An entry past a group's first ones is one click away, and zooming to its marker unfolds the group."""
    path, _ = pages["audit"]
    with browser.page(1500, 1000) as page:
        assert browser.load(page, path).ready
        k = browser.evaluate(page, """(() => { const row = document.querySelector('.nb-sitelist .nb-extra');
            return row ? Number(row.getAttribute('data-k')) : null; })()""")
        assert k is not None  # the sample's uncovered roads are more than a page
        got = browser.evaluate(page, f"""(() => {{
            const inst = nbgeo.instances[0]; inst.map.getContainer().scrollIntoView({{block: 'start'}});
            inst.sites.markers[{k}].fire('click');
            const row = document.querySelector('.nb-sitelist .nb-site[data-k="{k}"]');
            return {{shown: row.offsetParent !== null, active: row.classList.contains('nb-active'),
                    popup: document.querySelector('.nb-popup')?.innerText || '', id: inst.sites.items[{k}].id}};
        }})()""")
    assert got["shown"] and got["active"] and html.unescape(got["id"]) in got["popup"]

# The map scrolled into view, its state, and what lies on top at each listed site's pixel.
_ON_TOP = """(() => {
    const inst = nbgeo.instances[0], m = inst.map, c = m.getContainer();
    c.scrollIntoView({block: 'start'});
    m.closePopup();
    const r = c.getBoundingClientRect(), z = n => Number(getComputedStyle(m.getPane(n)).zIndex);
    const hits = inst.sites.items.map((it, k) => {
        const p = m.latLngToContainerPoint(it.ll);
        if (p.x < 2 || p.y < 2 || p.x > r.width - 2 || p.y > r.height - 2) return 'outside';
        const top = document.elementFromPoint(r.left + p.x, r.top + p.y);
        if (!top) return 'nothing';
        if (top.closest('.leaflet-control')) return 'panel';
        const focus = top.closest('.nb-focus');
        return focus ? 'focus' : (top.tagName + '.' + top.className);
    });
    return {hits: hits, n: inst.sites.items.length, listed: document.querySelectorAll('.nb-sitelist .nb-site').length,
            statuses: inst.sites.items.map(it => it.status),
            markers: c.querySelectorAll('.leaflet-pane .nb-focus').length,
            panes: {focus: z('nbFocus'), overlay: z('overlayPane'), points: z('nbPoints'), results: z('nbResults'),
                    labels: z('nbLabels'), marker: z('markerPane')}};
})()"""


@pytest.mark.parametrize("kind", KINDS)
def test_sites_are_drawn_above_every_layer_and_listed(browser, pages, kind):
    path, _ = pages[kind]
    with browser.page(1500, 1000) as page:
        rep = browser.load(page, path)
        assert rep.ready and rep.errors == [] and rep.external_requests == []
        got = browser.evaluate(page, _ON_TOP)
        assert got["n"] > 0 and got["listed"] == got["n"] == got["markers"]
        wanted = {"site": "proposed", "coverage": "uncovered"}.get(kind, "fail")
        assert wanted in got["statuses"]
        panes = got["panes"]
        assert panes["focus"] > max(panes["overlay"], panes["points"], panes["results"], panes["labels"],
                                    panes["marker"])
        # at city scale, whatever is at a listed site's pixel (not under a panel) is a site marker
        seen = [h for h in got["hits"] if h not in ("outside", "panel")]
        assert seen and all(h == "focus" for h in seen), got["hits"]
        # zoomed to each of the first sites in turn, its marker is what the pixel shows
        for k in range(min(3, got["n"])):
            hit = browser.evaluate(page, f"""(() => {{
                const inst = nbgeo.instances[0], m = inst.map, c = m.getContainer();
                inst.sites.zoomTo({k}); m.closePopup();
                const r = c.getBoundingClientRect(), p = m.latLngToContainerPoint(inst.sites.items[{k}].ll);
                const top = document.elementFromPoint(r.left + p.x, r.top + p.y);
                return top && top.closest('.nb-focus') ? top.closest('.nb-focus').className : String(top && top.className);
            }})()""")
            assert "nb-focus" in hit


def _click(browser, page, x, y):
    for kind in ("mousePressed", "mouseReleased"):
        browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                     session=page)
    browser.pump(0.3)


@pytest.mark.parametrize("kind", KINDS)
def test_clicking_a_listed_site_zooms_the_map_to_it(browser, pages, kind):
    path, _ = pages[kind]
    with browser.page(1500, 1000) as page:
        assert browser.load(page, path).ready
        before = browser.evaluate(page, """(() => { const m = nbgeo.instances[0].map;
            m.getContainer().scrollIntoView({block: 'start'}); return m.getZoom(); })()""")
        last = browser.evaluate(page, "nbgeo.instances[0].sites.items.length") - 1
        for k in sorted({0, min(last, 4)}):
            box = browser.evaluate(page, f"""(() => {{
                const row = document.querySelector('.nb-sitelist .nb-site[data-k="{k}"]');
                row.scrollIntoView({{block: 'nearest'}});
                const b = row.getBoundingClientRect();
                return {{x: b.left + b.width / 2, y: b.top + b.height / 2}};
            }})()""")
            _click(browser, page, box["x"], box["y"])
            got = browser.evaluate(page, f"""(() => {{
                const inst = nbgeo.instances[0], m = inst.map, it = inst.sites.items[{k}];
                const p = m.latLngToContainerPoint(it.ll), size = m.getSize();
                return {{zoom: m.getZoom(), x: p.x, y: p.y, w: size.x, h: size.y,
                        active: document.querySelector('.nb-site.nb-active')?.getAttribute('data-k'),
                        popup: document.querySelector('.nb-popup')?.innerText || '', id: it.id}};
            }})()""")
            assert got["zoom"] > before and got["zoom"] >= 12
            assert 0 < got["x"] < got["w"] and 0 < got["y"] < got["h"]  # the site is in view
            assert got["active"] == str(k) and html.unescape(got["id"]) in got["popup"]


_BADGES = """(() => {
    const inst = nbgeo.instances[0], c = inst.map.getContainer();
    const style = el => { const s = getComputedStyle(el); return [s.backgroundColor, s.borderTopStyle]; };
    const rows = [...document.querySelectorAll('.nb-sitelist .nb-site')].map(row => {
        const b = row.querySelector('.nb-basis .nb-sev');
        return {adv: row.classList.contains('nb-adv'), badge: b ? b.innerText : null, style: b ? style(b) : null,
                advBadge: b ? b.classList.contains('nb-sev-adv') : null,
                basis: row.querySelector('.nb-basis') ? row.querySelector('.nb-basis').innerText : ''};
    });
    inst.sites.zoomTo(0);
    const pop = document.querySelector('.nb-popup');
    const legend = [...c.querySelectorAll('.nb-layers .nb-layer-h')].filter(h => h.querySelector('.nb-sev')).length;
    return {rows: rows, popup: pop ? pop.innerText : '', popupBadge: !!(pop && pop.querySelector('.nb-sev')),
            legend: legend};
})()"""


@pytest.mark.parametrize("kind", KINDS)
def test_every_listed_site_and_its_popup_show_severity_and_basis(browser, pages, kind):
    """Issue 15 on the map: a badge (禁止 / 限制 filled, 建议 outlined apart) and the basis on every site."""
    path, _ = pages[kind]
    with browser.page(1500, 1000) as page:
        rep = browser.load(page, path)
        assert rep.ready and rep.errors == []
        got = browser.evaluate(page, _BADGES)
        words = {"禁止", "限制", "建议", "prohibited", "restricted", "advisory"}
        assert got["rows"] and all(r["badge"] and r["badge"].lstrip("\u25c7\u00a0 ") in words for r in got["rows"])
        assert all(len(r["basis"]) > len(r["badge"]) + 1 for r in got["rows"])  # the badge, then the instrument
        for r in got["rows"]:  # a suggestion is drawn apart: outlined and dashed on a tinted row
            assert r["adv"] == r["advBadge"]
            assert (r["style"][1] == "dashed") == r["adv"]
        assert got["popupBadge"] and got["rows"][0]["basis"].split(" ", 1)[-1][:8] in got["popup"]
        assert got["legend"] > 0  # each finding layer's legend entry carries its badge


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


_LEGEND = """(() => {
    const fits = nbgeo.imageMode(), inst = nbgeo.instances[0], c = inst.map.getContainer();
    inst.fig.scrollIntoView({block: 'start'});
    const rect = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const list = document.querySelector('.nb-sitelist');
    return {fits: fits, box: rect(inst.fig.querySelector('.nb-layers')), map: rect(c), fig: rect(inst.fig),
            view: [window.innerWidth, window.innerHeight], text: inst.fig.querySelector('.nb-layers').innerText,
            list: list ? list.getBoundingClientRect().width : 0, embedded: inst.spec.embedded,
            visible: inst.layers.filter(e => inst.map.hasLayer(e.layer)).map(e => e.spec.id)};
})()"""

#: The most of the map's area the still image's legend may cover (it lies in a band under the map: none).
LEGEND_SHARE = 0.02


def _overlap(a, b):
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def _area(r):
    return (r[2] - r[0]) * (r[3] - r[1])


def _check_still_legend(got):
    """The legend lies whole in the picture, covers at most LEGEND_SHARE of the map, and leaves the map room."""
    assert got["fits"] == [True]
    left, top, right, bottom = got["box"]
    assert left >= got["fig"][0] - 0.5 and right <= got["fig"][2] + 0.5 and bottom <= got["fig"][3] + 0.5
    if not got["embedded"]:  # the standalone map is the picture: the legend within the window
        assert left >= 0 and top >= 0 and right <= got["view"][0] and bottom <= got["view"][1]
        assert _area(got["map"]) >= 0.5 * got["view"][0] * got["view"][1]
    assert _overlap(got["box"], got["map"]) <= LEGEND_SHARE * _area(got["map"])
    assert got["list"] == 0  # no sites list in a picture: the sites are labelled on the map


@pytest.mark.parametrize("kind", KINDS)
def test_the_still_image_holds_the_whole_legend_in_words(browser, pages, kind, ningbo_plan):
    path, _ = pages[kind]
    with browser.page(1500, 1000) as page:
        assert browser.load(page, path).ready
        spec_layers = browser.evaluate(page, """nbgeo.instances[0].spec.layers.map(l => ({id: l.id, title: l.title,
            legend: l.legend && l.legend.items ? l.legend.items.map(i => i.label) : [], group: l.group}))""")
        got = browser.evaluate(page, _LEGEND)
        png = browser.screenshot(page)
    _check_still_legend(got)
    assert _png_size(png) == (1500, 1000)
    text = " ".join(got["text"].split())
    shown = [lyr for lyr in spec_layers if lyr["id"] in got["visible"]]
    assert shown
    for lyr in shown:  # every drawn layer's name and every entry of its legend, in words
        words = [lyr["title"], *(lyr["legend"] if len(lyr["legend"]) > 1 else [])]
        for w in words:
            assert " ".join(html.unescape(w).split()) in text, (lyr["id"], w)
    titles = {" ".join(html.unescape(lyr["title"]).split()) for lyr in spec_layers if lyr["id"] not in got["visible"]}
    assert not any(t in text for t in titles if all(t not in " ".join(html.unescape(s["title"]).split())
                                                    for s in shown))  # entries only for what is drawn
    ids = [r.id for r in ningbo_plan.rules] + [c.id for c in ningbo_plan.coverage] + [q.id for q in ningbo_plan.siting]
    assert [i for i in ids if i in text] == []  # names, not ids


def test_cli_png_lays_the_legend_out_whole(browser, tmp_path):
    from click.testing import CliRunner

    from nbgeo.cli import main

    res = CliRunner().invoke(main, ["map", "--out", str(tmp_path / "m.html"), "--png", str(tmp_path / "m.png"),
                                    "--size", "1200x800", "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert _png_size((tmp_path / "m.png").read_bytes()) == (1200, 800)
    # the same steps as the PNG, in a browser we can ask: the legend lies inside the picture
    with browser.page(1200, 800) as page:
        assert browser.load(page, tmp_path / "m.html").ready
        got = browser.evaluate(page, _LEGEND)
    _check_still_legend(got)


_STACK = """(() => {
    const inst = nbgeo.instances[0], order = [];
    for (let o = inst.renderer._drawFirst; o; o = o.next) {
        const id = o.layer.nbLayer;
        if (id !== undefined && order[order.length - 1] !== id) order.push(id);
    }
    return order;
})()"""


def test_areas_draw_under_lines_whatever_order_the_layers_are_asked_in(browser, sample, tmp_path):
    m = maps.dataset_map(sample, layers=["smart_roads", "micro_parks", "constraints", "districts"])
    maps.write_map(m, tmp_path / "m.html")
    with browser.page(1200, 800) as page:
        assert browser.load(page, tmp_path / "m.html").ready
        assert browser.evaluate(page, _STACK) == ["districts", "constraints", "micro_parks", "smart_roads"]
        # switched off and on again, the districts go back under the rest (Leaflet alone would draw them last)
        browser.evaluate(page, """(() => { const row = [...document.querySelectorAll('.nb-layer')].find(r =>
            r.innerText.includes('区县')); const box = row.querySelector('input'); box.click(); box.click(); })()""")
        assert browser.evaluate(page, _STACK) == ["districts", "constraints", "micro_parks", "smart_roads"]
        # and what the eye sees at a micro-park: the park's colour, not the district fill
        hit = browser.evaluate(page, """(() => {
            const inst = nbgeo.instances[0], m = inst.map, e = inst.byId['micro_parks'];
            const shape = e.spec._shapes[0]; m.fitBounds(shape.getBounds(), {animate: false, maxZoom: 16});
            const p = m.latLngToContainerPoint(shape.getCenter());
            const hits = []; inst.renderer._ctx && inst.renderer._redraw();
            m.eachLayer(l => { if (l.nbLayer && l._containsPoint && l._containsPoint(p)) hits.push(l.nbLayer); });
            return {top: inst.renderer._hoveredLayer ? null : hits[hits.length - 1], all: hits};
        })()""")
        order = ["districts", "constraints", "micro_parks", "smart_roads"]
        assert hit["all"] and max(hit["all"], key=order.index) == "micro_parks"
