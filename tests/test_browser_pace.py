"""The mid-term page in a real browser (issue 16): the first status a reader sees in the header is the pace.

Headless Chromium (nbgeo.renderers.chromium) opens the 2023 audit page in Chinese and English, with its map,
and reads the header as it is shown (innerText); like tests/test_browser.py, these tests skip with the reason
when Chromium is missing, and fail instead when ``NBGEO_REQUIRE_BROWSER`` is set.
"""

from __future__ import annotations

import re

import pytest

from nbgeo import audit, report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mid(sample, ningbo_plan):
    return audit.run_audit(sample, ningbo_plan, year=2023)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_mid_term_header_shows_pace_first(browser, mid, lang, tmp_path):
    page_file = tmp_path / "audit.html"
    page_file.write_text(report.to_html(mid, lang=lang), encoding="utf-8")
    with browser.page(1400, 900) as page:
        rep = browser.load(page, page_file)
        assert rep.ready and rep.errors == [] and rep.external_requests == []
        shown = browser.evaluate(page, """(() => Array.from(document.querySelectorAll('header .verdict'))
            .map(e => ({text: e.innerText, top: e.getBoundingClientRect().top,
                        left: e.getBoundingClientRect().left, visible: e.offsetWidth > 0})))()""")
    parts = mid.headline().parts(lang)
    assert [re.sub(r"\s+", " ", s["text"]).strip() for s in shown] == [p["text"] for p in parts]
    first, second = shown
    assert first["visible"] and second["visible"]
    # read first: above the second, or on the same line to its left
    assert (first["top"], first["left"]) < (second["top"], second["left"])
    assert first["text"].startswith("进度：" if lang == "zh" else "On pace: ")
