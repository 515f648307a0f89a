"""One status type, one theme, one word table (issue: "one concept, one place").

The verdict colours, the stylesheet and the zh/en words used to be copied in six modules and had
drifted (a failing site was #d32f2f on the map and #cf222e in the report; "met" was 已完成 in the
charts and 达标 in the tables). These tests keep them in one place.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nbgeo
from nbgeo import charts
from nbgeo.renderers import labels, mapspec, theme
from nbgeo.status import BAD, WARN, Status, is_bad, worst

PACKAGE = Path(nbgeo.__file__).parent


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_a_colour_and_words(status: Status):
    assert re.fullmatch(r"#[0-9a-f]{6}", theme.colour(status))
    zh, en = labels.status_word(status, "zh"), labels.status_word(status, "en")
    assert zh and en and zh != status.value
    assert "_" not in en, f"snake_case reaches a reader: {en!r}"


def test_every_label_has_both_languages():
    for key, (zh, en) in labels.LABELS.items():
        assert re.fullmatch(r"[a-z]+\.\S+", key), key
        assert zh.strip() and en.strip(), key


def test_findings_share_one_colour_everywhere():
    red = theme.colour("fail")
    assert {theme.colour(s) for s in BAD} == {red}
    assert mapspec._CATEGORY_COLOURS["status"]["fail"] == red
    assert mapspec._CATEGORY_COLOURS["status"]["uncovered"] == red
    assert charts.STATUS_COLOURS["off_track"] == red
    assert charts.STATUS_COLOURS["met"] == theme.colour("met") == mapspec._CATEGORY_COLOURS["status"]["met"]


def test_status_words_are_the_same_in_every_renderer():
    for lang in labels.LANGS:
        assert charts.STATUS_LABELS[lang]["met"] == labels.status_word("met", lang)
        assert mapspec._value_label("uncovered", lang) == labels.status_word("uncovered", lang)


def test_worst_and_is_bad():
    assert worst(["met", "at_risk", "unknown"]) == Status.UNKNOWN
    assert worst(["pass", "fail", "not_met"]) == Status.FAIL
    assert worst([]) is None
    assert all(is_bad(s) for s in BAD) and not any(is_bad(s) for s in WARN)


def test_no_module_keeps_its_own_copy():
    """No verdict colour table, word table or page stylesheet outside theme.py and labels.py."""
    colour_copy = re.compile(r"""["'](?:met|not_met|fail|pass|uncovered)["']\s*:\s*["']#[0-9a-fA-F]{6}""")
    word_copy = re.compile(r"""["'](?:met|not_met|unknown)["']\s*:\s*\(\s*["']""")
    css_copy = re.compile(r"font:14px/1\.\d+ system-ui")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("theme.py", "labels.py"):
            continue
        text = path.read_text(encoding="utf-8")
        for name, pattern in (("colours", colour_copy), ("words", word_copy), ("css", css_copy)):
            if pattern.search(text):
                offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []
