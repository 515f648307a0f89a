"""Issue 16's "Done when", as one matrix: every page kind in zh and en, made by the real CLI, read in Chromium.

The pages are those of ``nbgeo audit``, the mid-term ``nbgeo audit --year 2023``, ``nbgeo rules``, ``nbgeo
coverage``, ``nbgeo site`` and ``nbgeo compare``, each run once in zh and once in en (module fixture) with
every page format it offers. For each of the twelve pages the tests check:

(a) no ``snake_case`` key, no year with a thousands separator, no PROJ string and no template syntax
    (``{{``, ``{%``) in ``document.body.innerText`` with every ``<details>`` opened, the map's legend included;
(b) the header's first status: the pace (进度 / On pace) before the horizon, the verdict on final pages, its
    words and counts rebuilt from the JSON and the exit code of the same run;
(c) the failing sites the JSON lists are drawn on the map as site markers, in a pane above every other layer;
(f) ``--format pdf``: pypdf reads at least one page, each with the page's title and "N / M".

And (d) ``nbgeo map --png`` (zh and en) holds the whole legend, (e) the check table as ``.xlsx`` read back
with openpyxl (Chinese headers, frozen header row, filter) and as CSV with a UTF-8 BOM.

Uses the ``browser`` fixture of conftest.py: when Chromium is missing these skip with the reason, and fail
instead when ``NBGEO_REQUIRE_BROWSER`` is set.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pypdf
import pytest
import rasterio
from click.testing import CliRunner
from page_commands import PAGES
from rasterio.errors import NotGeoreferencedWarning
from test_checktable import HEADINGS_ZH
from test_reader_text import problems, raw_keys

from nbgeo.cli import main
from nbgeo.renderers import labels

pytestmark = pytest.mark.slow  # each page is made by the CLI and read in Chromium

COMMANDS = PAGES  # page kind → (command line, the page's file stem)
LANGS = ("zh", "en")
CELLS = [(kind, lang) for kind in COMMANDS for lang in LANGS]
_IDS = [f"{kind}-{lang}" for kind, lang in CELLS]

_READY = "document.readyState === 'complete' && (typeof nbgeoReady === 'undefined' || nbgeoReady === true)"


def _offered_formats(command: str) -> tuple[str, ...]:
    for p in main.commands[command].params:
        if "--format" in getattr(p, "opts", []):
            return tuple(getattr(p.type, "choices", ()))
    return ()


@dataclass(frozen=True)
class Run:
    """One command run: its output folder, exit code, the page's file stem and the formats asked for."""

    folder: Path
    exit_code: int
    stem: str
    formats: tuple[str, ...]

    @property
    def page(self) -> Path:
        return self.folder / f"{self.stem}.html"

    def json(self) -> dict:
        return json.loads((self.folder / f"{self.stem}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def made(browser, tmp_path_factory) -> dict[tuple[str, str], Run]:
    """Every page kind made by the CLI in zh and en, with html, pdf, xlsx and csv as far as offered."""
    out: dict[tuple[str, str], Run] = {}
    runner = CliRunner()
    for kind, lang in CELLS:
        args, stem = COMMANDS[kind]
        offered = _offered_formats(args[0])
        formats = tuple(f for f in ("html", "pdf", "xlsx", "csv") if f in offered)
        folder = tmp_path_factory.mktemp(f"{kind}-{lang}") / "out"
        result = runner.invoke(main, ["-q", *args, "--out", str(folder), "--lang", lang,
                                      *(a for f in formats for a in ("--format", f))])
        assert result.exit_code in (0, 1), (kind, lang, result.output)
        out[(kind, lang)] = Run(folder, result.exit_code, stem, formats)
    return out


def _squash(text: str) -> str:
    """Text as compared: NFKC (the PDF fonts give some ideographs as radicals) with all whitespace removed."""
    return re.sub(r"[\s\u2028\u2029]+", "", unicodedata.normalize("NFKC", html.unescape(text)))


def _norm(text: str) -> str:
    return re.sub(r"[\s\u2028\u2029]+", " ", text).strip()


# --------------------------------------------------------------------------------------------------------------
# (a) no key in the visible text
# --------------------------------------------------------------------------------------------------------------

_OPEN_AND_READ = """(() => {
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    return {text: document.body.innerText, details: document.querySelectorAll('details').length,
            closed: document.querySelectorAll('details:not([open])').length};
})()"""


@pytest.mark.parametrize(("kind", "lang"), CELLS, ids=_IDS)
def test_no_key_in_the_visible_text(browser, made, kind, lang):
    with browser.page(1400, 900) as page:
        rep = browser.load(page, made[(kind, lang)].page, ready=_READY)
        assert rep.ready and rep.errors == [] and rep.external_requests == []
        got = browser.evaluate(page, _OPEN_AND_READ)
    assert got["closed"] == 0
    text = got["text"]
    found = problems(text)
    templates = re.findall(r".{0,30}(?:\{\{|\{%).{0,30}", text)
    assert not found and not templates, {"found": found, "template syntax": templates}


# --------------------------------------------------------------------------------------------------------------
# (b) the header's first status
# --------------------------------------------------------------------------------------------------------------

_HEADER = """(() => Array.from(document.querySelectorAll('header .verdict')).map(e => {
    const b = e.getBoundingClientRect();
    return {text: e.innerText, kind: e.getAttribute('data-kind'), top: b.top, left: b.left, visible: e.offsetWidth > 0};
}))()"""


def _counted(counts: dict[str, int], order: tuple[str, ...], words: dict[str, str], always: tuple[str, ...]) -> str:
    return " · ".join(f"{counts.get(s, 0):,} {words[s]}" for s in order if s in always or counts.get(s))


def _expected_first(kind: str, lang: str, run: Run) -> str:
    """The header's first status, rebuilt from the JSON and the exit code of the same run."""
    data = run.json()
    verdict = labels.word("report.verdict_pass" if run.exit_code == 0 else "report.verdict_fail", lang)
    status = {s: labels.status_word(s, lang) for s in ("met", "not_met", "unknown", "pass", "fail")}
    if kind == "compare":
        n = int(data["summary"]["regressions"])
        words = labels.word("compare.regressions", lang).format(a=data["a"]["label"], b=data["b"]["label"])
        return f"{n:,} {words}"
    if kind == "rules":
        counts: dict[str, int] = {}
        for e in data["rules"]:
            counts[e["status"]] = counts.get(e["status"], 0) + 1
        return " · ".join([verdict, _counted(counts, ("pass", "fail", "unknown"), status, ("pass", "fail"))])
    if kind == "coverage":
        counts = {}
        for e in data["coverage"]:
            counts[e["status"]] = counts.get(e["status"], 0) + 1
        return " · ".join([verdict, _counted(counts, ("met", "not_met", "unknown"), status, ("met", "not_met"))])
    # an audit page: the pace of every target and indicator first when before the horizon
    assert data["headline"]["passed"] == (run.exit_code == 0)
    counts = {}
    for t in data["targets"]:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    if data["year"] < data["plan"]["horizon"]:
        pace: dict[str, int] = {}
        for e in data["progress"]:
            pace[e["status"]] = pace.get(e["status"], 0) + 1
        order = ("on_track", "at_risk", "off_track", "met", "missed", "no_data")
        words = {s: labels.word(f"pace.{s}", lang) for s in order}
        return labels.word("pace.head", lang) + _counted(pace, order, words, order[:3])
    return " · ".join([verdict, _counted(counts, ("met", "not_met", "unknown"), status, ("met", "not_met"))])


@pytest.mark.parametrize(("kind", "lang"), CELLS, ids=_IDS)
def test_the_header_leads_with_the_right_status(browser, made, kind, lang):
    run = made[(kind, lang)]
    with browser.page(1400, 900) as page:
        assert browser.load(page, run.page, ready=_READY).ready
        shown = browser.evaluate(page, _HEADER)
    assert shown, "no status in the header"
    first = shown[0]
    assert first["visible"]
    assert _norm(first["text"]) == _expected_first(kind, lang, run)
    if kind == "midterm":  # pace, then the final thresholds, read in that order
        assert first["kind"] == "pace" and first["text"].startswith("进度" if lang == "zh" else "On pace")
        second = shown[1]
        assert second["visible"] and (first["top"], first["left"]) < (second["top"], second["left"])
        data = run.json()
        assert labels.word("pace.final", lang).format(horizon=data["plan"]["horizon"]) in second["text"]
        assert [_norm(s["text"]) for s in shown] == data["headline"]["text"][lang].split(" | ")
    elif kind != "compare":
        assert len(shown) == 1 and first["kind"] == "verdict"


# --------------------------------------------------------------------------------------------------------------
# (c) failing sites above every other layer
# --------------------------------------------------------------------------------------------------------------

def _wanted_sites(kind: str, data: dict) -> tuple[str, set[str]]:
    """The status the map draws the page's problem sites with, and their ids, from the page's JSON."""
    if kind == "coverage":
        return "uncovered", {str(s["id"]) for e in data["coverage"] for s in e["uncovered"]}
    if kind == "site":
        return "proposed", {str(s["id"]) for e in data["optimisation"] for s in e["chosen"]}
    if kind == "compare":  # the map is B's: the rules B fails (the JSON counts rules, not sites)
        failed = int(data["sections"].get("rules", {}).get("b", {}).get("fail", 0))
        return "fail", {f"rule #{i}" for i in range(failed)}
    return "fail", {str(f["feature_id"]) for e in data["rules"] for f in e["findings"] if f["status"] == "fail"}


_PANES = """(() => {
    const inst = nbgeo.instances[0], m = inst.map, panes = m.getPanes(), focus = m.getPane('nbFocus');
    const z = p => Number(getComputedStyle(p).zIndex) || 0;
    // every pane a layer can draw in (tooltips and popups are not layers); nested panes count by their own z
    const others = Object.entries(panes).filter(([n, p]) => !['nbFocus', 'tooltipPane', 'popupPane', 'mapPane'].includes(n))
        .map(([n, p]) => [n, z(p)]);
    const sites = inst.sites || {items: [], markers: []};
    const items = (sites.items || []).map((it, k) => {
        const marker = (sites.markers || [])[k], el = marker && marker.getElement ? marker.getElement() : null;
        return {id: String(it.id).replace(/<[^>]*>/g, ''), status: it.status,
                inFocus: !!(el && focus && el.parentNode === focus && marker.options.pane === 'nbFocus')};
    });
    return {focus: focus ? z(focus) : null, others: others, items: items,
            more: (inst.spec.sites && inst.spec.sites.more) || 0};
})()"""


@pytest.mark.parametrize(("kind", "lang"), CELLS, ids=_IDS)
def test_failing_sites_are_drawn_above_every_other_layer(browser, made, kind, lang):
    run = made[(kind, lang)]
    status, ids = _wanted_sites(kind, run.json())
    assert ids or kind == "compare", f"the sample has {status} sites on the {kind} page"
    with browser.page(1400, 900) as page:
        assert browser.load(page, run.page, ready=_READY).ready
        assert browser.evaluate(page, "typeof nbgeo !== 'undefined' && nbgeo.instances.length") == 1
        got = browser.evaluate(page, _PANES)
    assert got["focus"] is not None, "no pane for the sites"
    assert got["others"] and got["focus"] > max(z for _, z in got["others"]), got
    drawn = [it for it in got["items"] if it["status"] == status]
    assert bool(drawn) == bool(ids), f"{len(drawn)} {status} sites on the map, {len(ids)} in the JSON"
    assert all(it["inFocus"] for it in drawn), [it["id"] for it in drawn if not it["inFocus"]]
    if kind != "compare":  # the sites drawn are those the JSON lists, all of them unless the list says more
        shown = {html.unescape(it["id"]) for it in drawn}
        assert shown <= ids, sorted(shown - ids)[:5]
        assert shown == ids or got["more"] > 0


# --------------------------------------------------------------------------------------------------------------
# (d) the whole legend in `nbgeo map --png`
# --------------------------------------------------------------------------------------------------------------

PNG_SIZE = (1400, 900)

_LEGEND = """(() => {
    const fits = nbgeo.imageMode(), inst = nbgeo.instances[0], c = inst.map.getContainer();
    const panel = inst.fig.querySelector('.nb-layers'), box = panel.getBoundingClientRect();
    return {fits: fits, box: [box.left, box.top, box.right, box.bottom], text: panel.innerText,
            layers: inst.spec.layers.filter(l => inst.map.hasLayer(inst.byId[l.id].layer)).map(l => ({id: l.id,
                title: l.title, legend: l.legend && l.legend.items ? l.legend.items.map(i => i.label) : []}))};
})()"""


@pytest.fixture(scope="module")
def pngs(browser, tmp_path_factory) -> dict[str, Path]:
    out = {}
    for lang in LANGS:
        folder = tmp_path_factory.mktemp(f"png-{lang}")
        result = CliRunner().invoke(main, ["-q", "map", "--out", str(folder / "map.html"), "--png",
                                           str(folder / "map.png"), "--size", "x".join(map(str, PNG_SIZE)),
                                           "--lang", lang])
        assert result.exit_code == 0, result.output
        out[lang] = folder
    return out


def _read_png(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return src.read()


@pytest.mark.parametrize("lang", LANGS)
def test_the_png_holds_the_whole_legend(browser, pngs, ningbo_plan, lang):
    folder = pngs[lang]
    pixels = _read_png(folder / "map.png")
    assert pixels.shape[1:] == PNG_SIZE[::-1]
    with browser.page(*PNG_SIZE) as page:  # the page the PNG was taken of, laid out as for the picture
        assert browser.load(page, folder / "map.html").ready
        got = browser.evaluate(page, _LEGEND)
    assert got["fits"] == [True]
    left, top, right, bottom = (round(v) for v in got["box"])
    assert 0 <= left < right <= PNG_SIZE[0] and 0 <= top < bottom <= PNG_SIZE[1], got["box"]
    text = " ".join(got["text"].split())
    assert got["layers"]
    for layer in got["layers"]:  # every drawn layer by its name, and each entry of its legend, in words
        for w in [layer["title"], *(layer["legend"] if len(layer["legend"]) > 1 else [])]:
            assert " ".join(html.unescape(w).split()) in text, (layer["id"], w)
    assert not raw_keys(text), raw_keys(text)
    ids = [x.id for x in (*ningbo_plan.rules, *ningbo_plan.coverage, *ningbo_plan.siting)]
    assert [i for i in ids if i in text] == []
    # in the picture itself the legend's box holds text down to its last line (dark strokes on the panel)
    grey = pixels[:3].mean(axis=0)[top:bottom, left:right]
    assert (grey > 200).mean() > 0.5  # the panel's light background, not the map
    lines = (grey < 110).any(axis=1)
    assert lines.mean() > 0.2 and lines[-max(8, (bottom - top) // 6):].any()


# --------------------------------------------------------------------------------------------------------------
# (e) the check table as xlsx and csv
# --------------------------------------------------------------------------------------------------------------

TABLE_CELLS = [(k, lang) for k, lang in CELLS if "xlsx" in _offered_formats(COMMANDS[k][0][0])]


def _table_rows(kind: str, data: dict) -> int:
    findings = sum(len(e["findings"]) for e in data.get("rules", []))
    uncovered = sum(len(e["uncovered"]) for e in data.get("coverage", []))
    return findings + uncovered


@pytest.mark.parametrize(("kind", "lang"), TABLE_CELLS, ids=[f"{k}-{lang}" for k, lang in TABLE_CELLS])
def test_the_check_table_reads_back(made, kind, lang):
    run = made[(kind, lang)]
    assert {"xlsx", "csv"} <= set(run.formats)
    sheet = openpyxl.load_workbook(run.folder / "site_checks.xlsx").active
    head = [c.value for c in sheet[1]]
    if lang == "zh":
        assert head == HEADINGS_ZH and sheet.title == "图斑核查表"
    else:
        assert len(head) == len(HEADINGS_ZH) and not any(re.search(r"[\u4e00-\u9fff]", h) for h in head), head
        assert head[-2:] == ["longitude (WGS84)", "latitude (WGS84)"]
    assert all(c.font.bold for c in sheet[1])
    rows = _table_rows(kind, run.json())
    assert rows and sheet.max_row == rows + 1
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(head))}{rows + 1}"
    data = (run.folder / "site_checks.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == head and len(lines) >= rows + 1


# --------------------------------------------------------------------------------------------------------------
# (f) the PDF of every page
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "lang"), CELLS, ids=_IDS)
def test_the_pdf_has_its_pages(made, kind, lang):
    run = made[(kind, lang)]
    assert "pdf" in run.formats, f"nbgeo {COMMANDS[kind][0][0]} offers no --format pdf"
    path = run.folder / f"{run.stem}.pdf"
    reader = pypdf.PdfReader(path)
    count = len(reader.pages)
    assert count >= 1 and len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes())) == count
    page_html = (run.folder / f"{run.stem}.html").read_text(encoding="utf-8") if "html" in run.formats else ""
    title = re.search(r"<title>(.*?)</title>", page_html, re.S)
    assert title, "the page has a title"
    head = _squash(re.sub(r"\s*—\s*nbgeo\s*$", "", title.group(1)))
    for number, page in enumerate(reader.pages, start=1):
        text = unicodedata.normalize("NFKC", page.extract_text())
        assert head in _squash(text), (number, text[-300:])
        assert re.search(rf"(?<!\d){number}\s*/\s*{count}(?!\d)", text), (number, text[-200:])


def test_compare_pdf_without_a_browser_is_a_clear_error_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("NBGEO_CHROMIUM", str(tmp_path / "no-such-browser"))
    monkeypatch.setenv("PATH", str(tmp_path))  # nor one on PATH
    out = tmp_path / "out"
    args, _ = COMMANDS["compare"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--format", "pdf"])
    assert result.exit_code == 2 and "E-MAP-BROWSER" in result.output and "apt-get install chromium" in result.output
    assert not out.exists()
