"""The page of each command: rules.html and coverage.html are audit.html's section for that part.

Through the API (:func:`nbgeo.report.to_html` with ``sections=``, :mod:`nbgeo.runs`) and the command line, and
in a real browser (headless Chromium; skipped with the reason when it is not installed, failed when
``NBGEO_REQUIRE_BROWSER`` is set): the pages load offline with no error, their tables fit the page, long ones
scroll within their box, and print opens every folded row.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re

import openpyxl
import pytest
from click.testing import CliRunner

from nbgeo import audit, report, runs
from nbgeo.cli import main
from nbgeo.html import safe_text
from nbgeo.renderers import checktable, chromium, labels


@pytest.fixture(scope="module")
def found(sample, ningbo_plan):
    return audit.run_audit(sample, ningbo_plan)


@pytest.fixture(scope="module")
def pages(sample, ningbo_plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("pages")
    runs.rules_run(sample, ningbo_plan, lang="en").write(out)
    runs.coverage_run(sample, ningbo_plan, lang="en").write(out)
    return out


def _section(page: str, name: str) -> str:
    start = page.index(f"<section id='section-{name}'>")
    return page[start:page.index("</section>", start)]


def test_a_section_page_is_the_audit_pages_section(found):
    whole = report.to_html(found, with_map=False, lang="en")
    for name in ("rules", "coverage"):
        page = report.to_html(found, with_map=False, lang="en", sections=[name])
        assert _section(page, name) == _section(whole, name)  # the same markup, from the same template
        others = {"rules", "coverage", "indicators"} - {name}
        assert not any(f"id='section-{other}'" in page for other in others)
        assert "id='targets'" not in page and "id='provenance'" in page
        title = labels.word(f"section.{name}", "en")
        assert re.search(rf"<h1>{title} · ", page)


def test_the_verdict_counts_the_sections_entries(found):
    statuses = [e["status"] for e in found.sections["coverage"]]
    met, not_met = statuses.count("met"), statuses.count("not_met")
    assert not_met and {e["severity"] for e in found.sections["coverage"]} == {"建议"}
    # the verdict is the command's exit code: suggestions (建议) not met fail the page only when strict
    for strict, verdict in ((False, "Passed"), (True, "Not passed")):
        page = report.to_html(dataclasses.replace(found, strict=strict), with_map=False, lang="en",
                              sections=["coverage"])
        headline = re.search(r"<div class='headline'>(.*?)</div></div>", page).group(1)
        assert re.sub(r"<[^>]+>", "", headline) == f"{verdict} · {met} met · {not_met} not met"  # counts in bold


def test_coverage_table_shows_the_planners_columns(found):
    page = report.to_html(found, with_map=False, lang="en", sections=["coverage"])
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", _section(page, "coverage")).group(1)
    columns = re.findall(r"<th>(.*?)</th>", head)
    # how binding each requirement is and what it rests on come right after its verdict and title (issue 15)
    assert columns == ["status", "severity", "title", "basis", "layer", "actual", "threshold", "margin", "facilities",
                       "distance (m)", "sites", "sites covered"]
    # readers see each requirement's title; its id is the title's tooltip
    # (a hyphenated word is kept whole in a span of its own: "micro-enterprise" is not split across lines)
    for e in found.sections["coverage"]:
        cell = re.search(f"<td class='txt' title='{e['id']}'>(.*?)</td>", page)
        assert cell and re.sub(r"</?span[^>]*>", "", cell.group(1)) == safe_text(e["title"]), e["id"]
    assert "<span class='whole'>micro-enterprise</span>" in page
    # the rest stays on the page, folded under each row, and in coverage.json
    assert page.count("<summary>more columns</summary>") == len(found.sections["coverage"])
    assert "<dt>total weight</dt>" in page and "total_weight" not in page  # keys in words
    # uncovered sites with their name and district
    uncovered = re.search(r"<summary>uncovered sites: 35</summary>.*?<thead><tr>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r"<th>(.*?)</th>", uncovered) == ["id", "name", "district", "distance (m)", "share",
                                                              "severity", "basis"]


def test_the_commands_write_their_pages(pages):
    rules = (pages / "rules.html").read_text(encoding="utf-8")
    coverage = (pages / "coverage.html").read_text(encoding="utf-8")
    assert "id='section-rules'" in rules and "nbgeo.mount(" in rules
    assert "id='section-coverage'" in coverage and "nbgeo.mount(" in coverage
    entries = json.loads((pages / "rules.json").read_text(encoding="utf-8"))["rules"]
    assert all(f"title='{e['id']}'>" in rules for e in entries)  # each rule by its title, its id the tooltip
    assert "http://" not in rules.replace("http://www.w3.org", "")  # offline: no URL but SVG's namespace


def test_the_cli_writes_what_the_api_writes(tmp_path):
    out = tmp_path / "c"
    result = CliRunner().invoke(main, ["-q", "coverage", "--out", str(out), "--no-map", "--id", "featured_parks_5g_500m"])
    assert result.exit_code == 0, result.output
    page = (out / "coverage.html").read_text(encoding="utf-8")
    assert "id='section-coverage'" in page and "nbgeo.mount(" not in page
    result = CliRunner().invoke(main, ["-q", "rules", "--out", str(out / "r"), "--format", "qgis", "--no-map"])
    assert result.exit_code == 1, result.output
    assert not (out / "r" / "rules.html").exists() and (out / "r" / "project.qgz").exists()


# -- in a real browser ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rules", "coverage"])
def test_pages_load_offline_with_their_map(browser, pages, ningbo_plan, name):
    with browser.page(1400, 900) as page:
        rep = browser.load(page, pages / f"{name}.html")
        assert rep.ready and rep.errors == [] and rep.external_requests == []
        legend = browser.evaluate(page, "nbgeo.instances[0].layers.length + ' ' + "
                                        "document.querySelector('.nb-embed .nb-layers').innerText")
        count, _, text = legend.partition(" ")
        assert int(count) >= 3  # districts, the checked layers and the findings on top
        finding = "petrochemical_setback" if name == "rules" else "micro_parks_chargers_1km"
        spec = next(x for x in (*ningbo_plan.rules, *ningbo_plan.coverage) if x.id == finding)
        assert spec.title in text and finding not in text, text  # the map names its overlays by title
        assert browser.evaluate(page, f"!!document.querySelector('#section-{name} table')")


_WIDTHS = """JSON.stringify([...document.querySelectorAll('section[id^=section-] table')].map(t => {
  const box = t.closest('section').getBoundingClientRect();
  return [t.getBoundingClientRect().right, box.right, t.closest('.scroll').scrollWidth,
          t.closest('.scroll').clientWidth]; }))"""


@pytest.mark.slow
def test_coverage_tables_fit_on_screen_and_long_ones_scroll(browser, pages):
    with browser.page(1400, 900) as page:
        assert browser.load(page, pages / "coverage.html").ready
        browser.evaluate(page, "document.querySelectorAll('details').forEach(d => { d.open = true; })")
        for right, box, scroll_width, client_width in json.loads(browser.evaluate(page, _WIDTHS)):
            assert scroll_width <= client_width + 1 and right <= box + 1  # nothing sits off-screen
        # the distance of the farthest uncovered site (3,953.5 m, shown in whole metres) is on screen, within the table's box
        cell = browser.evaluate(page, """(() => { const td = [...document.querySelectorAll('td')]
            .find(td => td.textContent.trim() === '3,954'); const r = td.getBoundingClientRect();
            return [r.right, window.innerWidth]; })()""")
        assert 0 < cell[0] <= cell[1]
        box = json.loads(browser.evaluate(page, """JSON.stringify((() => {
            const s = document.querySelector('#section-coverage .scroll'); const c = getComputedStyle(s);
            return [c.overflowY, c.maxHeight, s.scrollHeight, s.clientHeight]; })())"""))
        assert box[0] == "auto" and box[1] != "none" and box[2] > box[3]  # long: it scrolls in its box


@pytest.mark.slow
def test_print_opens_details_and_keeps_rows_whole(browser, pages):
    with browser.page(794, 1123) as page:
        assert browser.load(page, pages / "coverage.html").ready
        shown = "document.querySelector('details:not([open]) table').checkVisibility()"
        assert browser.evaluate(page, shown) is False  # folded on screen
        browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=page)
        assert browser.evaluate(page, shown) is True  # open in print, with no script
        style = json.loads(browser.evaluate(page, """JSON.stringify((() => {
            const tr = getComputedStyle(document.querySelector('#section-coverage tbody tr'));
            const s = getComputedStyle(document.querySelector('#section-coverage .scroll'));
            return [tr.breakInside, s.maxHeight, s.overflowY,
                    getComputedStyle(document.querySelector('.nb-embed')).display,
                    getComputedStyle(document.querySelector('nav')).display]; })())"""))
        assert style == ["avoid", "none", "visible", "none", "none"]


# -- hostile text -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The canary audit with a rules section whose every text is a payload, and its page and check table."""
    from canary import PAYLOADS, hostile_report, tagged

    r = hostile_report()
    layers = list(r.dataset.layers)
    rules = [{"id": tagged(p, "rule"), "layer": layers[i], "kind": "exclusion", "status": "fail", "checked": 1,
              "failed": 1, "unknown": 0,
              "basis": {"phrase": tagged(p, "phrase"), "instrument": tagged(p, "basis"), "kind": "law",
                        "article": tagged(p, "article"), "url": ""},
              "findings": [{"feature_id": tagged(p, "id"), "status": "fail", "value": 1.0, "limit": 0.0,
                            "margin": -1.0, "unit": tagged(p, "unit"), "reason": tagged(p, "reason")}]}
             for i, p in enumerate(PAYLOADS)]
    found = dataclasses.replace(r, sections={"rules": rules})
    out = tmp_path_factory.mktemp("hostile")
    (out / "rules.html").write_text(report.to_html(found, lang="en", sections=["rules"]), encoding="utf-8")
    return {"report": found, "out": out, "payloads": PAYLOADS, "tagged": tagged}


def test_hostile_text_stays_text_in_the_page_and_the_table(hostile):
    from canary import EVALUATED

    page = (hostile["out"] / "rules.html").read_text(encoding="utf-8")
    for marker in EVALUATED:
        assert marker not in page
    tagged = hostile["tagged"]
    for p in hostile["payloads"]:
        for slot in ("rule", "basis", "article", "reason", "id"):
            assert safe_text(tagged(p, slot)) in page, slot
        if set("<>{}$`\"'&") & set(p):
            assert p not in page
    table = checktable.check_table(hostile["report"], lang="en")
    assert len(table) == len(hostile["payloads"])
    assert table["rule or requirement"].tolist() == [tagged(p, "rule") for p in hostile["payloads"]]
    sheet = openpyxl.load_workbook(io.BytesIO(checktable.to_xlsx(table))).active
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    cells = {c.value for row in sheet.iter_rows(min_row=2) for c in row}
    assert all(("'" + v if v.startswith(("=", "+", "-", "@")) else v) in cells for v in table["reason"])


@pytest.mark.slow
def test_hostile_page_prints_with_its_title_as_text(browser, hostile):
    with browser.page(1200, 900) as page:
        rep = browser.load(page, hostile["out"] / "rules.html")
        assert rep.ready and rep.errors == [] and rep.dialogs == []
        assert browser.evaluate(page, "globalThis.PWNED === undefined")
    data = chromium.print_pdf(hostile["out"] / "rules.html", hostile["out"] / "rules.pdf")
    import pypdf

    first = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "PWNED='svg'" in first  # the running head shows the title's payloads as text
