"""Text for readers (issue 16): every page in Chinese or English throughout, figures rounded, no raw keys.

Every command that writes pages (audit, the mid-term audit ``--year 2023``, rules, coverage, site, compare) is
run in zh and en; every ``.html`` file it writes is checked, so pages that commands add later are checked too.
The visible text (script and style stripped; in Chromium ``document.body.innerText``) must hold no
``snake_case`` token (a key such as ``now_not_met`` or ``by_district``), no year with a thousands separator,
and no PROJ string or WKT; every ``.md`` file must hold no HTML entity. File names (``make_sample.py``) are
names, not words, and are allowed.

In Chromium, the visible text of every page in zh and en (every ``<details>`` opened, the map's legend
included) is checked by tests/test_done_deliverables.py, issue 16's matrix of pages.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from page_commands import COMMANDS

from nbgeo.cli import main
from nbgeo.renderers import labels, readable
from nbgeo.rules.result import reason_text

# --------------------------------------------------------------------------------------------------------------
# what a reader must not see
# --------------------------------------------------------------------------------------------------------------

#: File names are names (``make_sample.py``, ``ningbo_school_boundaries.json``): taken out before the check.
FILE_NAME = re.compile(r"[\w./-]+\.(?:py|json|geojson|gpkg|tif|tiff|csv|pbf|toml|osm|qgz|md|html|xlsx|pdf)\b")
YEAR_WITH_SEPARATOR = re.compile(r"(?<![\d,.])2,0[1-5]\d(?![\d,])")
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
PROJ = re.compile(r"\+proj=|PROJCRS\[|GEOGCRS\[")


def raw_keys(text: str) -> list[str]:
    """The snake_case tokens of a visible text (file names left out)."""
    return sorted(set(readable.SNAKE.findall(FILE_NAME.sub(" ", text))))


def problems(text: str) -> dict[str, list[str]]:
    found = {"snake_case": raw_keys(text), "year with separator": YEAR_WITH_SEPARATOR.findall(text),
             "PROJ/WKT": PROJ.findall(text)}
    return {k: v for k, v in found.items() if v}


class _Visible(HTMLParser):
    """The text of a page as written (script, style and template contents left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    parser.close()
    return " ".join(parser.parts)


def markdown_text(md: str) -> str:
    """Markdown as read: a backslash escape shows the character itself."""
    return re.sub(r"\\(.)", r"\1", md)


# --------------------------------------------------------------------------------------------------------------
# readable.py
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (84.5815, "84.6 %"), (100, "100.0 %"), (0.04, "0.0 %"), (None, "—"), (math.nan, "—")])
def test_percent_has_one_decimal(value, expected):
    assert readable.percent(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (3.4949, "+3.5"), (-247, "-247"), (0, "±0"), (-16.4692, "-16.5"), (12345.6, "+12,346"), (0.02, "+0.02"),
    (-0.004, "-0.004"), (math.inf, "—")])
def test_delta_is_signed_and_rounded(value, expected):
    assert readable.delta(value) == expected


def test_metres_counts_and_years():
    assert readable.metres(4303.2) == "4,303 m" and readable.metres(4303.2, "zh") == "4,303 米"
    assert readable.count(41500) == "41,500" and readable.count(2.6) == "3"
    assert [readable.year(y) for y in (2020, 2023.0, "2025")] == ["2020", "2023", "2025"]
    assert readable.number(216004.2) == "216,004" and readable.number(38.99493) == "38.99"
    assert readable.number(2023) == "2,023"  # a count; a year goes through readable.year
    assert readable.quantity(32411.38, "m2") == "32,411 m²" and readable.quantity(3, "zones", "zh") == "3 个"


@pytest.mark.parametrize(("crs", "en", "zh"), [
    ("EPSG:4549", "CGCS2000 / 3-degree Gauss-Kruger CM 120E", "CGCS2000 3度带高斯-克吕格 中央经线120°E"),
    ("EPSG:4526", "CGCS2000 / 3-degree Gauss-Kruger zone 38", "CGCS2000 3度带高斯-克吕格 第38带"),
    ("EPSG:32651", "WGS 84 / UTM zone 51N", "WGS 84 UTM 第51N带"),
    ("EPSG:4326", "WGS 84", "WGS 84"),
])
def test_crs_by_name(crs, en, zh):
    assert readable.crs_name(crs, "en") == en and readable.crs_name(crs, "zh") == zh


def test_a_proj_string_or_wkt_is_named_not_printed():
    from pyproj import CRS

    proj = "+proj=tmerc +lat_0=29.67 +lon_0=121.56 +k=0.999971 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
    for text in (proj, CRS(proj).to_wkt()):
        name = readable.crs_name(text, "en")
        assert "Transverse Mercator CM 121.56E" in name and not PROJ.search(name), name
        assert "中央经线121.56°E" in readable.crs_name(text, "zh")
    assert readable.crs_name("not a crs at all") == "not a crs at all"


def test_a_dash_says_what_it_means():
    assert readable.dash() == "—"
    assert readable.dash("beyond", "en", distance=4000) == "— (beyond the search distance of 4,000 m)"
    assert readable.dash("beyond", "zh", distance=4000) == "—（超出 4,000 米搜索距离）"


def test_words_never_show_a_key():
    assert readable.words("now_not_met", "zh", namespace="value") == "转为未达标"
    assert readable.words("only_a", "en", namespace="value") == "only in A"
    assert readable.words("by_district", "zh") == "分区统计" and readable.words("history", "en") != "history_"
    assert readable.words("land_transfers", "zh") == "土地出让"
    assert readable.words("output_2023", "zh") == "产值 2023 (亿元)"
    # a key no table knows: spaces, never underscores
    assert readable.words("brand_new_key", "zh") == "brand new key"
    assert readable.value_text("straight", "zh") == "直线距离" and readable.value_text("CH00012") == "CH00012"


def test_every_reader_label_has_both_languages_and_no_key():
    for key, (zh, en) in labels.LABELS.items():
        assert zh and en, key
        if key.split(".")[0] in ("column", "value", "unit", "compare", "reason", "dash", "readable"):
            assert not raw_keys(zh.format_map(_Blank())) and not raw_keys(en.format_map(_Blank())), key


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "X"


#: A value for each placeholder of the reason templates.
_SAMPLE_VALUES = {"value": 12.3, "limit": 20.0, "unit": "m", "other": "CH00012 (某设施)", "amount": 3241.5,
                  "amount_unit": "m2", "share": 48.32, "how": "road", "stat": "mean", "cells": 12, "cells_unit": "",
                  "class": "school", "setback": {"school": 100.0, "hospital": 100.0}, "setback_unit": "m",
                  "column": "land_area", "note": "dataset has no layer 'chargers'"}


@pytest.mark.parametrize("key", sorted(k.removeprefix("reason.") for k in labels.LABELS if k.startswith("reason.")))
def test_every_rule_reason_reads_in_both_languages(key):
    zh, en = readable.reason(key, _SAMPLE_VALUES, "zh"), readable.reason(key, _SAMPLE_VALUES, "en")
    assert "{" not in zh + en
    assert zh != en or key == "note"
    assert not re.search(r"[\u4e00-\u9fff]", en.replace("某设施", "")), en   # no Chinese in English
    if key != "note":
        assert re.search(r"[\u4e00-\u9fff]", zh.replace("某设施", "")), zh  # Chinese words in Chinese
    assert reason_text(key, _SAMPLE_VALUES)  # the English of audit.json words the same key


def test_reason_in_audit_json_is_keyed_and_worded_the_same(sample, ningbo_plan):
    from nbgeo import audit

    r = audit.run_audit(sample, ningbo_plan)
    findings = [f for e in r.sections["rules"] for f in e["findings"]]
    assert findings
    for f in findings:
        assert f["reason"] == reason_text(f["reason_key"], f["reason_values"])
        zh = readable.reason(f["reason_key"], f["reason_values"], "zh")
        assert re.search(r"[\u4e00-\u9fff]", zh) and not raw_keys(zh), zh


# --------------------------------------------------------------------------------------------------------------
# every page of every command, zh and en
# --------------------------------------------------------------------------------------------------------------

#: Every command that writes pages (tests/page_commands.py); ``--lang`` and the report formats are added when
#: the command takes them, so a command that gains pages later is checked with them.


def _options(command: str) -> set[str]:
    return {opt for p in main.commands[command].params for opt in getattr(p, "opts", [])}


def _formats(command: str) -> list[str]:
    """``--format html --format md`` as far as the command offers them."""
    for p in main.commands[command].params:
        if "--format" in getattr(p, "opts", []):
            choices = getattr(p.type, "choices", ("html", "md"))
            return [a for f in ("html", "md") if f in choices for a in ("--format", f)]
    return []


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Every command run in zh and en: (name, lang) → its output folder."""
    out: dict[tuple[str, str], Path] = {}
    runner = CliRunner()
    for name, args in COMMANDS:
        opts = _options(args[0])
        for lang in ("zh", "en"):
            folder = tmp_path_factory.mktemp(f"{name}-{lang}")
            extra = ["--out", str(folder / "out")]
            if "--lang" in opts:
                extra += ["--lang", lang]
            extra += _formats(args[0])
            if "--no-progress" in opts:
                extra.append("--no-progress")
            result = runner.invoke(main, [*args, *extra])
            assert result.exit_code in (0, 1), (name, lang, result.output)
            out[(name, lang)] = folder / "out"
    return out


def _files(pages: dict[tuple[str, str], Path], suffix: str) -> list[tuple[str, str, Path]]:
    return [(name, lang, f) for (name, lang), folder in pages.items() for f in sorted(folder.rglob(f"*{suffix}"))]


slow = pytest.mark.slow


@slow
def test_every_command_that_takes_lang_writes_its_pages(pages):
    html = {(name, lang) for name, lang, _ in _files(pages, ".html")}
    for name in ("audit", "midterm", "coverage", "site", "compare"):
        assert {(name, "zh"), (name, "en")} <= html, name


@slow
def test_pages_as_written_show_no_key_no_separated_year_no_proj(pages):
    bad = {}
    for name, lang, path in _files(pages, ".html"):
        found = problems(visible_text(path.read_text(encoding="utf-8")))
        if found:
            bad[f"{name} {lang} {path.name}"] = found
    assert not bad, bad


@slow
def test_markdown_has_no_html_entity_no_key_no_separated_year(pages):
    mds = _files(pages, ".md")
    assert {(n, lang) for n, lang, _ in mds} >= {("audit", "zh"), ("audit", "en"), ("midterm", "zh")}
    bad = {}
    for name, lang, path in mds:
        md = path.read_text(encoding="utf-8")
        found = problems(markdown_text(md)) | ({"entity": ENTITY.findall(md)} if ENTITY.search(md) else {})
        if found:
            bad[f"{name} {lang} {path.name}"] = found
    assert not bad, bad
    audit_md = (pages[("audit", "en")] / "audit.md").read_text(encoding="utf-8")
    assert "R\\&D" in audit_md and "R&amp;D" not in audit_md  # escaped for Markdown, not for HTML


@slow
def test_zh_pages_word_the_rule_reasons_and_units_in_chinese(pages):
    text = visible_text((pages[("audit", "zh")] / "audit.html").read_text(encoding="utf-8"))
    assert "重叠" in text and "防护距离" in text          # rule reasons, from reason_key + reason_values
    assert "overlaps CN" not in text
    assert not re.search(r"\d (?:parks|zones|firms|factories|stations|facilities)\b", text)  # units as words
    en = visible_text((pages[("audit", "en")] / "audit.html").read_text(encoding="utf-8"))
    assert "overlaps CN" in en and "未达标" not in en and "84.6" in en


@slow
def test_compare_follows_lang(pages):
    zh = visible_text((pages[("compare", "zh")] / "compare.html").read_text(encoding="utf-8"))
    en = visible_text((pages[("compare", "en")] / "compare.html").read_text(encoding="utf-8"))
    assert "规划目标" in zh and "转为未达标" in zh and "Targets" not in zh
    assert "Targets" in en and "now not met" in en
    ours = {zh for key, (zh, _) in labels.LABELS.items() if key.startswith("compare.")}
    assert not [w for w in ours if w.split("{")[0].strip() and w.split("{")[0].strip() in en]


# --------------------------------------------------------------------------------------------------------------
# the same pages in a real browser
# --------------------------------------------------------------------------------------------------------------

def _browser_text(browser, path: Path) -> dict[str, str]:
    with browser.page(1400, 900) as page:
        rep = browser.load(page, path, ready="document.readyState === 'complete' && "
                                             "(typeof nbgeoReady === 'undefined' || nbgeoReady === true)")
        assert rep.ready and rep.errors == [], rep.errors
        legend = browser.evaluate(page, "Array.from(document.querySelectorAll('.nb-layers'))"
                                        ".map(e => e.innerText).join('\\n')")
        browser.evaluate(page, "document.querySelectorAll('.nb-layers').forEach(e => e.remove())")
        text = browser.evaluate(page, "document.body.innerText")
    return {"text": text, "legend": legend}


@pytest.fixture(scope="module")
def browser_texts(browser, pages) -> dict[str, dict[str, str]]:
    return {f"{name} {lang} {path.name}": _browser_text(browser, path) for name, lang, path in _files(pages, ".html")}


@slow
def test_zh_pages_in_chromium_read_chinese_en_pages_english(browser_texts):
    for page, t in browser_texts.items():
        text = t["text"]
        if " zh " in page:
            assert any(w in text for w in ("达标", "对比", "评估年份")), page
            for english in ("not met", "Summary", "Targets", "(proposed)", "entries unchanged", "Service area:"):
                assert english not in text, (page, english)
        else:
            for chinese in ("未达标", "规划目标", "数据来源", "转为未达标"):
                assert chinese not in text, (page, chinese)


# --------------------------------------------------------------------------------------------------------------
# notes of progress and of unknown values (keyed like rule reasons: note_key + note_values)
# --------------------------------------------------------------------------------------------------------------

_NOTE_VALUES = {"year": 2023, "deadline": 2025, "baseline": 2020, "first": 2021, "last": 2023, "start_year": 2021,
                "actual": 149.1, "expected": 120.0, "threshold": 200.0, "needed": 25.4, "pace": 54.9,
                "projected": 250.0, "start": 40.0, "value": 98.0, "ratio": 0.83, "band": 0.05, "op": ">=",
                "unit": "km", "years": [2022, 2023], "missed": {"2022": 92.0}, "layer": "land_transfers",
                "column": "rd_share", "note": "dataset has no layer 'chargers'"}

_NOTE_KEYS = sorted(k.removeprefix("note.") for k in labels.LABELS
                    if k.startswith("note.") and not k.startswith("note.op."))


@pytest.mark.parametrize("key", _NOTE_KEYS)
def test_every_note_reads_in_both_languages(key):
    zh, en = readable.note(key, _NOTE_VALUES, "zh"), readable.note(key, _NOTE_VALUES, "en")
    assert "{" not in zh + en and "2,0" not in zh + en      # every placeholder filled, years as years
    assert not re.search(r"[\u4e00-\u9fff]", en), en         # no Chinese in English
    if key not in ("text", "progress.and"):                   # a note as given; a semicolon
        assert re.search(r"[\u4e00-\u9fff]", zh), zh        # Chinese words in Chinese
        assert zh != en
    assert not raw_keys(zh) and not raw_keys(en), (zh, en)


@pytest.mark.parametrize("key", [k for k in _NOTE_KEYS if k.startswith("given.")])
def test_a_measures_english_note_is_read_back_into_its_key(key):
    english = readable.note(key, {"layer": "land_transfers", "year": 2020, "first": 2021, "baseline": 2020,
                                  "column": "rd_share"}, "en")
    found, values = labels.keyed_note(english)
    assert found == key, (english, found)
    assert readable.note(found, values, "en") == english


def test_progress_notes_are_keyed_and_read_in_chinese(sample, ningbo_plan):
    from nbgeo import progress

    entries = progress.progress_section(ningbo_plan, sample, as_of=2023)
    notes = [e for e in entries if e["note"]] + [h for e in entries for h in e["history"] if h["note"]]
    assert len(notes) >= 10
    for e in notes:
        assert e["note_key"] and isinstance(e["note_values"], dict), e
        assert all(f"note.{k}" in labels.LABELS for k in e["note_key"].split("+")), e["note_key"]
        zh = readable.note_text(e, "zh")
        assert re.search(r"[\u4e00-\u9fff]", zh) and not raw_keys(zh), zh
        assert not re.search(r"\b(?:in|of|the|path|needs|year|features)\b", zh), zh  # no English words left
    # the English note of audit.json is kept, and reads as the key's English words
    ahead = next(e for e in entries if e["note_key"].startswith("progress.ahead"))
    assert "at or ahead of the path" in ahead["note"] and "at or ahead of the path" in readable.note_text(ahead, "en")
    assert "达到或超过目标路径" in readable.note_text(ahead, "zh")


@slow
def test_zh_pages_word_progress_notes_in_chinese(pages):
    for name in ("audit", "midterm"):
        zh = visible_text((pages[(name, "zh")] / "audit.html").read_text(encoding="utf-8"))
        for english in ("at or ahead of the path", "behind the path", "features in 20", "a year to 20",
                        "every year", "the indicator table has"):
            assert english not in zh, (name, english)
    zh = visible_text((pages[("midterm", "zh")] / "audit.html").read_text(encoding="utf-8"))
    assert "目标路径" in zh
    md = (pages[("midterm", "zh")] / "audit.md").read_text(encoding="utf-8")
    assert "behind the path" not in md and "at or ahead of the path" not in md
    en = visible_text((pages[("midterm", "en")] / "audit.html").read_text(encoding="utf-8"))
    assert "at or ahead of the path" in en and "目标路径" not in en


# --------------------------------------------------------------------------------------------------------------
# the report's words: no literal in code (issue 16: every visible string from the one zh/en table)
# --------------------------------------------------------------------------------------------------------------

def _code_strings_with_chinese(module) -> list[str]:
    """String literals with Chinese in a module's code (docstrings and severity keys, which are data, left out)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(module))
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docs and re.search(r"[\u4e00-\u9fff]", n.value) and n.value not in ("禁止", "限制", "建议")]


def test_the_report_and_markdown_hold_no_chinese_literal():
    from nbgeo.renderers import markdown, report

    assert _code_strings_with_chinese(report) == [] and _code_strings_with_chinese(markdown) == []
    # the check finds a literal where there is one
    from nbgeo.renderers import mapspec
    assert _code_strings_with_chinese(mapspec)


def test_summary_cards_count_in_the_reports_words(sample, ningbo_plan):
    from nbgeo import audit
    from nbgeo.renderers import report

    r = audit.run_audit(sample, ningbo_plan)
    zh, en = report.to_html(r, with_map=False, lang="zh"), report.to_html(r, with_map=False, lang="en")
    checks, targets = len(r.targets), len({t.id for t in r.targets})
    assert f"/ {checks} 项核查（{targets} 个目标）" in zh and f"of {checks} checks ({targets} targets)" in en
    assert "选址规则未通过" in zh and "Siting rules: not passed" in en
    assert "项核查" not in en and "not passed" not in zh


# --------------------------------------------------------------------------------------------------------------
# plan titles: Chinese on zh pages (the plan's phrase, or a title_zh), English on en pages
# --------------------------------------------------------------------------------------------------------------

def test_plan_titles_follow_the_language(ningbo_plan):
    zh, en = readable.plan_titles(ningbo_plan, "zh"), readable.plan_titles(ningbo_plan, "en")
    assert set(zh) == set(en)
    for target in ningbo_plan.targets:
        assert en[target.id] == target.title and zh[target.id] == (target.phrase or target.title)
    assert readable.title({"title": "T", "title_zh": "标题", "phrase": "原文"}, "zh") == "标题"
    assert readable.title({"title": "T", "phrase": "原文"}, "en") == "T"


def test_zh_report_shows_targets_by_their_chinese_once(sample, ningbo_plan):
    from nbgeo import audit
    from nbgeo.renderers import report

    r = audit.run_audit(sample, ningbo_plan)
    zh = visible_text(report.to_html(r, with_map=False, lang="zh"))
    en = visible_text(report.to_html(r, with_map=False, lang="en"))
    md = report.to_markdown(r, lang="zh")
    for t in ningbo_plan.targets:
        assert t.title not in zh and t.title not in md, t.title      # no English title on a zh page
        assert t.title in en
        assert t.phrase in zh
    first = ningbo_plan.targets[0]
    assert f"{first.phrase}<br>{first.phrase}" not in md and f"{first.phrase}<br>" in md  # the phrase once, not twice


# --------------------------------------------------------------------------------------------------------------
# the map's sites list and popups: rule reasons in the page's language
# --------------------------------------------------------------------------------------------------------------

def test_map_sites_list_words_rule_reasons_in_the_pages_language(sample, ningbo_plan):
    from nbgeo import audit
    from nbgeo.renderers import mapsites

    r = audit.run_audit(sample, ningbo_plan)
    rule_ids = [rule.id for rule in ningbo_plan.rules]
    for lang in ("zh", "en"):
        sites = mapsites.focus_sites(mapsites.worded_findings(r.overlays, r, lang), r.dataset, lang)
        assert sites is not None
        failing = [s["reason"] for s in sites["items"] if s["status"] == "fail"]
        assert failing
        for text in failing:
            assert not raw_keys(text) and not any(f"{i}:" in text for i in rule_ids), text  # no rule id
            if lang == "zh":
                assert re.search(r"[\u4e00-\u9fff]", text) and "overlaps" not in text and "outside" not in text, text
            else:
                assert not re.search(r"(?:重叠|位于|不在)", text), text
    zh = mapsites.worded_findings(r.overlays, r, "zh")
    assert set(zh) == set(r.overlays)                       # every overlay kept, only labels worded
    assert any("重叠" in label for g in zh.values() if "label" in g.columns for label in g["label"])


def test_optimisation_notes_and_candidate_sources_read_in_chinese():
    for english, chinese in (
            ("74,731 of 75,649 candidates are farther than 1000 m from any unserved demand and were not considered",
             "75,649 个候选点中有 74,731 个"),
            ("road network nodes inside the districts, one per 100 m square (generated)", "路网节点"),
            ("best cells of suitability 'charger_sites' (score >= 0.5, one per 500 m block)", "最佳栅格"),
            ("distances are straight-line, not by road; a note nbgeo has no words for", "距离按直线计算")):
        zh = readable.note_text({"note": english}, "zh")
        assert chinese in zh and not raw_keys(zh), zh
        assert readable.note_text({"note": english}, "en") == english.replace("charger_sites", "charger sites")


@slow
def test_zh_site_page_words_optimisation_notes(pages):
    for path in pages[("site", "zh")].rglob("*.html"):
        zh = visible_text(path.read_text(encoding="utf-8"))
        for english in ("candidates are farther than", "road network nodes", "best cells of suitability",
                        "centres of a", "distances are straight-line"):
            assert english not in zh, (path.name, english)


@slow
def test_zh_compare_names_targets_in_chinese(pages, ningbo_plan):
    zh = visible_text((pages[("compare", "zh")] / "compare.html").read_text(encoding="utf-8"))
    en = visible_text((pages[("compare", "en")] / "compare.html").read_text(encoding="utf-8"))
    first = ningbo_plan.targets[0]
    assert first.title not in zh and first.phrase in zh and first.title in en
