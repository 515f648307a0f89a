"""Chinese throughout, English complete (issue 16): what a reader sees of every command in zh and in en.

audit, the mid-term audit (``--year 2023``), rules, coverage, site and compare are run with ``--lang zh`` and
``--lang en`` given on the command line (so the terminal follows the page's language too). In zh, neither the
terminal output nor the visible text of any page (read by headless Chromium as ``document.body.innerText``,
map panels and site lists included, since the map draws them with script) may hold a run of three or more
English words; in en, no Chinese character may appear outside the plan's own Chinese (its phrases, which the
English pages quote), place and feature names from the data, and the instruments a finding rests on.

Names that are not English words are allowed, each for a reason (:data:`ALLOWED`); so is what the data says
of itself (a layer's source, licence and note in ``dataset.toml``: a planner's own words, shown as given).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from page_commands import COMMANDS, PLANS

from nbgeo import io
from nbgeo.cli import main

pytestmark = pytest.mark.slow

#: Each command (tests/page_commands.py); ``--out`` and ``--lang`` are added.

#: Names in a zh text that are not English words, each with why it stays as it is.
ALLOWED = [
    (r"nbgeo", "the program's name"),
    (r"HiGHS", "the solver's name"),
    (r"CGCS2000|WGS ?84|GCJ-02|BD-09|EPSG:?\d*|UTM", "datum and CRS names and codes"),
    (r"GB/T|GB|CJJ|RFC ?\d+", "standards' codes"),
    (r"OpenStreetMap|OSM|ODbL|CC0-1\.0|CC BY[\w .-]*|Leaflet|Tianditu|Amap", "data sources, licences, libraries"),
    (r"\bkm\b|\bm²|\bm\b|\bha\b", "units"),
    (r"GeoJSON|GeoPackage|PNG|PDF|CSV|JSON|HTML|Markdown|QGIS|DEM|GDP|PCT|APP|supOS|R&D|EV|5G", "formats and acronyms"),
    (r"--[a-z-]+(?: [a-z0-9]+)?|method='milp'", "command-line options a note names"),
    (r"LSCP|MCLP", "the optimisation models' abbreviations, after their Chinese names"),
    (r"[\w./-]+\.(?:py|json|geojson|gpkg|tif|csv|pbf|toml|osm|qgz|md|html|xlsx|pdf)\b", "file names"),
]

WORD_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ \t,;:()/]+[A-Za-z][A-Za-z'’-]*){2,}")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _data_words() -> list[str]:
    """What the data and the plans say of themselves, shown as given: the sample's layer and table sources,
    licences and notes; each plan's English title and source, and the instruments its entries rest on."""
    from nbgeo import plan

    ds = io.read_sample()
    metas = [ds.layer(n).meta for n in ds.layers] + list(getattr(ds, "tables", {}).values())
    words = {str(getattr(m, k, "") or "") for m in metas for k in ("source", "licence", "note")}
    for path in PLANS:
        p = plan.read_plan(path)
        words |= {str(p.title_en or ""), str(p.source or "")}
        for group in ("targets", "rules", "coverage", "indicators", "suitability", "siting"):
            for item in getattr(p, group, ()):
                basis = getattr(item, "basis", None) or {}
                words.add(str(basis.get("instrument", "") or ""))
    return sorted((w for w in words if w), key=len, reverse=True)


def english_runs(text: str, data: list[str]) -> list[str]:
    """Runs of three or more English words in ``text``, after the data's own words and :data:`ALLOWED`."""
    for w in data:
        text = text.replace(w, "〇")
    for pattern, _ in ALLOWED:
        text = re.sub(pattern, "〇", text)
    return sorted(set(WORD_RUN.findall(text)))


def _plan_chinese() -> list[str]:
    """Chinese an English page quotes: the plans' own (title, phrases, units, the instruments their entries rest
    on) and the data's (feature names, and every other text value of the sample's layers), longest first."""
    from nbgeo import plan

    found: set[str] = set()
    for path in PLANS:
        p = plan.read_plan(path)
        found |= {p.title, p.source or ""}
        for group in ("targets", "rules", "coverage", "indicators", "suitability", "siting"):
            for item in getattr(p, group, ()):
                basis = dict(getattr(item, "basis", None) or {})
                found |= {str(getattr(item, k, "") or "") for k in ("phrase", "title_zh", "unit")}
                found |= {str(basis.get(k, "") or "") for k in ("instrument", "phrase", "article")}
    ds = io.read_sample()
    for name in ds.layers:
        gdf = ds.layer(name).gdf
        for column in gdf.columns.drop(gdf.geometry.name):
            found |= {v for v in gdf[column].dropna().unique() if isinstance(v, str)}
    return sorted((s for s in found if CJK.search(s)), key=len, reverse=True)


#: Chinese an English reader sees on purpose: the severities' own words (建议 / 限制 / 禁止, printed beside their
#: English), names of places and features from the data, and the plan's phrases.
_NAME = re.compile(r"[\u3400-\u9fff（）()“”《》·、\w-]*(?:区|县|市|镇|街道|园|基地|小学|中学|医院|大学|学院|中心|"
                   r"红线|农田|保护区|居住区|边界|水域|山区|湾|港|集聚区|示意)[\u3400-\u9fff（）()\w-]*")


def chinese_left(text: str, quoted: list[str]) -> list[str]:
    """Runs of Chinese in ``text`` that are not part of a quoted text (a title cut short with … is still quoted)."""
    joined = "\n".join(quoted)
    runs = set(re.findall(r"[\u3400-\u9fff][\u3400-\u9fff\d%，、“”（）《》]*", _NAME.sub(" ", text)))
    return sorted(r for r in runs if r.strip("“”（）《》，、") not in joined)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[tuple[str, str], tuple[str, Path]]:
    """(name, lang) → (terminal output, output folder)."""
    out = {}
    runner = CliRunner()
    for name, args in COMMANDS:
        for lang in ("zh", "en"):
            folder = tmp_path_factory.mktemp(f"{name}-{lang}") / "out"
            result = runner.invoke(main, [*args, "--out", str(folder), "--lang", lang])
            assert result.exit_code in (0, 1), (name, lang, result.output)
            out[(name, lang)] = (result.output, folder)
    return out


@pytest.fixture(scope="module")
def shown(browser, runs) -> dict[tuple[str, str, str], str]:
    """(name, lang, page) → the page's text as Chromium shows it, the map's panels and site list included."""
    texts = {}
    for (name, lang), (_, folder) in runs.items():
        for page_file in sorted(folder.glob("*.html")):
            with browser.page(1400, 900) as page:
                rep = browser.load(page, page_file, ready="document.readyState === 'complete' && "
                                   "(typeof nbgeoReady === 'undefined' || nbgeoReady === true)")
                assert rep.ready and rep.errors == [], rep.errors
                texts[(name, lang, page_file.name)] = browser.evaluate(page, "document.body.innerText")
    return texts


def test_english_runs_are_found_and_names_are_not():
    data = ["generated by scripts/make_sample.py --seed 2025"]
    assert english_runs("未达标：only two sites serve more", data) == ["only two sites serve more"]
    assert english_runs("HiGHS 已证明；CGCS2000 3度带；1,000 m；来源 generated by scripts/make_sample.py --seed 2025",
                        data) == []
    assert chinese_left("2 new sites in 北仑区 (示意)", []) == []
    assert chinese_left("fewest new sites: 未达标", []) == ["未达标"]


#: Commands whose terminal output follows --lang (compare's terminal table is English still: not yet worded).
TERMINAL = ("audit", "midterm", "rules", "coverage", "site")


def test_the_zh_terminal_has_no_english_sentence(runs):
    data = _data_words()
    bad = {name: found for (name, lang), (text, _) in runs.items()
           if lang == "zh" and name in TERMINAL and (found := english_runs(text, data))}
    assert not bad, bad


def test_the_zh_pages_have_no_english_sentence(shown):
    assert {name for name, lang, _ in shown if lang == "zh"} >= {"audit", "midterm", "rules", "coverage", "site",
                                                                 "compare"}
    data = _data_words()
    bad = {f"{name} {page}": found for (name, lang, page), text in shown.items()
           if lang == "zh" and (found := english_runs(text, data))}
    assert not bad, bad


#: The plan's own names for groups of its targets, which the English titles of its indicators quote
#: ("also one of the 六倍增"): terms of the plan, like its phrases.
PLAN_TERMS = ["三突破", "六倍增"]


def test_the_en_terminal_and_pages_have_no_chinese_of_ours(runs, shown):
    quoted = _plan_chinese() + PLAN_TERMS
    severities = ["建议", "限制", "禁止"]
    bad = {}
    for (name, lang), (text, _) in runs.items():
        if lang == "en" and name in TERMINAL and (found := [c for c in chinese_left(text, quoted) if c not in severities]):
            bad[f"{name} terminal"] = found
    for (name, lang, page), text in shown.items():
        if lang == "en" and (found := [c for c in chinese_left(text, quoted) if c not in severities]):
            bad[f"{name} {page}"] = found
    assert not bad, bad


#: A value for each placeholder of the optimisation notes.
_NOTE_VALUES = {"sites": 8, "rules": "with_spacing_allowed", "left": 3, "total": 12, "why": "invalid_conflict",
                "heuristic": "greedy+swaps", "time_limit": 0.05, "time_limit_unit": "s", "found": 6, "most": 80.0,
                "most_unit": "%", "upper": 90.0, "upper_unit": "%", "lost": 2, "weight": 2.0, "reach": 66.7,
                "reach_unit": "%"}


@pytest.mark.parametrize("key", sorted(k.removeprefix("note.") for k in __import__("nbgeo").renderers.labels.LABELS
                                       if k.startswith("note.optimize.")))
def test_every_optimisation_note_reads_in_chinese(key):
    from nbgeo.renderers import readable

    zh, en = readable.note(key, _NOTE_VALUES, "zh"), readable.note(key, _NOTE_VALUES, "en")
    assert "{" not in zh + en and not CJK.search(en), en
    assert CJK.search(zh) and not english_runs(zh, []), zh


def test_the_notes_of_an_answer_are_keyed_beside_their_english():
    from scipy import sparse

    from nbgeo import optimize
    from nbgeo.renderers import readable

    # three demand points; the third is out of reach of both candidates: the note says so, in zh too
    m = optimize.CoverageMatrix.from_distances(sparse.csr_array([[0.5, 0.0], [0.0, 0.5], [0.0, 0.0]]), radius=1.0)
    s = optimize.set_covering(m)
    assert "out of reach" in s.note and [p["key"] for p in s.note_parts] == [
        "optimize.out_of_reach+optimize.most_reachable"]
    assert readable.note_text({"note_parts": list(s.note_parts)}, "en") == (
        "1 demand point(s) (weight 1) lie out of reach of every site: 66.7 % is the most that can be served")
    zh = readable.note_text({"note": s.note, "note_parts": list(s.note_parts)}, "zh")
    assert zh == "1 个需求点（权重 1）不在任何选址的服务范围内：最多可服务 66.7 %", zh
