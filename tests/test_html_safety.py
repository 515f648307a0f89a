"""The canary suite in Python: hostile text in every slot of maps, reports and Markdown.

Each payload of ``tests/canary.py`` sits in every text slot (values, column
names and so field labels, feature ids, layer names, legend entries, overlay
titles and labels, plan title, phrases, units, section names, keys and values,
provenance, dataset name). Checked here: nothing is evaluated (no Jinja output,
not the PID), no payload reaches the page as markup, and every slot still
reads as the same text. tests/test_browser.py runs the same pages in Chromium.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from canary import EVALUATED, MAP_SLOTS, MD_SLOTS, PAYLOADS, REPORT_SLOTS, hostile_report, tagged

from nbgeo import maps, report
from nbgeo.html import md_text, safe_text

ACTIVE = set("<>{}$`\\\"'&")


@pytest.fixture(scope="module")
def outputs():
    r = hostile_report()
    return {
        "map": maps.audit_map(r, lang="zh").get_root().render(),
        "map_en": maps.audit_map(r, lang="en").get_root().render(),
        "report": report.to_html(r, lang="en"),
        "md": report.to_markdown(r, lang="zh"),
        "json": report.to_json(r),
    }


def test_there_are_enough_payloads():
    assert len(PAYLOADS) >= 25 and len(set(PAYLOADS)) == len(PAYLOADS)


@pytest.mark.parametrize("kind", ["map", "map_en", "report", "md"])
def test_nothing_was_evaluated(outputs, kind):
    for marker in EVALUATED:
        assert marker not in outputs[kind], marker


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if ACTIVE & set(p)])  # RTL, BOM...: nothing to neutralise
def test_payload_never_reaches_a_page_as_markup(outputs, payload):
    for kind in ("map", "map_en", "report", "md"):
        assert payload not in outputs[kind], kind


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_map_slot_reads_the_same(outputs, payload):
    for slot in MAP_SLOTS:
        text = tagged(payload, slot)
        assert safe_text(text) in outputs["map"], slot
        assert html.unescape(safe_text(text)) == text
    assert safe_text(tagged(payload, "target_title")) in outputs["map_en"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_report_slot_reads_the_same(outputs, payload):
    for slot in REPORT_SLOTS:
        assert safe_text(tagged(payload, slot)) in outputs["report"], slot


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_markdown_slot_reads_the_same(outputs, payload):
    for slot in MD_SLOTS:
        assert md_text(tagged(payload, slot)) in outputs["md"], slot


def test_json_keeps_the_raw_text(outputs):
    # audit.json is data, not a page: the text is kept as it was (JSON escapes what JSON needs)
    import json

    data = json.loads(outputs["json"])
    assert data["plan"]["title"] == " ".join(tagged(p, "title") for p in PAYLOADS)


class _Markup(HTMLParser):
    """Every element and attribute of a page (script and style contents are not parsed as markup)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, int] = {}
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attrs += [(tag, k, v or "") for k, v in attrs]


def _markup(page: str) -> _Markup:
    parser = _Markup()
    parser.feed(page)
    parser.close()
    return parser


@pytest.mark.parametrize("kind", ["map", "report"])
def test_only_nbgeo_markup_in_the_pages(outputs, sample, ningbo_plan, kind):
    from nbgeo import audit

    benign_report = audit.run_audit(sample, ningbo_plan)
    benign = (maps.audit_map(benign_report).get_root().render() if kind == "map"
              else report.to_html(benign_report, lang="en"))
    hostile, plain = _markup(outputs[kind]), _markup(benign)
    for tag in ("script", "style", "link", "img", "iframe", "object", "embed", "template", "base", "form", "meta"):
        assert hostile.tags.get(tag, 0) == plain.tags.get(tag, 0), tag
    assert not [a for a in hostile.attrs if a[1].startswith("on")]  # no event handler attributes
    assert all(v.startswith("#") for tag, k, v in hostile.attrs if k in ("href", "src", "action", "formaction"))
    assert {tag for tag in hostile.tags} <= {tag for tag in plain.tags} | {"svg", "rect", "line", "circle",
                                                                             "text", "title", "path", "g", "polyline"}


def test_safe_text_covers_every_active_character():
    for payload in PAYLOADS:
        out = safe_text(payload)
        assert not ({"<", ">", "{", "}", "$", "`", "\\", '"', "'"} & set(out))
        assert html.unescape(out) == payload
