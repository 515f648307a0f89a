"""Inline SVG charts: well-formed, faithful to the numbers, self-contained, and inert with hostile text."""

from __future__ import annotations

import html
import itertools
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbgeo import charts, progress
from nbgeo.plan import Target
from nbgeo.progress import assess

PAYLOADS = ["<script>alert(1)</script>", "{{ 7*7 }}", "{% if 1 %}x{% endif %}", "${globalThis.x=1}", "`tick`",
            "\" onload=\"alert(1)", "' onmouseover='alert(1)", "javascript:alert(1)", "a\\b", "\u202eevil"]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _roads(**kw) -> progress.Progress:
    t = Target(id="roads", layer="smart_roads", metric="length", threshold=200, unit="km", **kw)
    return assess(t, {2020: 0, 2021: 40, 2022: 94, 2023: 149}, baseline=2020, deadline=2025, as_of=2023)


@pytest.fixture(scope="module")
def sample_entries(sample, ningbo_plan):
    return [e.to_dict() for e in progress.track(ningbo_plan, sample, as_of=2023)]


def test_every_sample_chart_is_well_formed(sample_entries):
    for entry in sample_entries:
        root = _parse(charts.progress_chart(entry))
        assert root.tag == "svg" and root.get("role") == "img"
        known = [h for h in entry["history"] if h["actual"] is not None]
        if entry["years"] == "each_year":
            assert len(root.findall("rect")) == len([h for h in known if h["status"] != "baseline"])
        else:
            assert len(root.findall("circle")) == len(known)


def test_points_sit_where_the_values_are():
    svg = charts.progress_chart(_roads(), width=300, height=150)
    root = _parse(svg)
    circles = root.findall("circle")
    ys = [float(c.get("cy")) for c in circles]
    xs = [float(c.get("cx")) for c in circles]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert ys[0] > ys[1] > ys[2] > ys[3]  # growing values are drawn higher up
    # Linear: equal value steps are equal pixel steps (0, 40 → 94, 149 are not; 0→40 and 40→80 would be).
    scale = (ys[0] - ys[1]) / 40
    assert ys[0] - ys[3] == pytest.approx(149 * scale, abs=0.2)
    # The path passes through the baseline point and ends at the threshold's height.
    path = next(p for p in root.findall("polyline") if p.get("stroke-dasharray"))
    points = [tuple(map(float, pt.split(","))) for pt in path.get("points").split()]
    assert points[0] == (xs[0], ys[0])
    assert points[-1][1] == pytest.approx(ys[0] - 200 * scale, abs=0.2)
    # The latest year is the larger dot and carries its flag.
    assert float(circles[-1].get("r")) > float(circles[0].get("r"))
    assert "on track" in circles[-1].find("title").text


def test_flag_and_milestones_shown():
    root = _parse(charts.progress_chart(_roads(milestones={2022: 100}), lang="zh"))
    diamonds = [p for p in root.findall("path") if p.find("title") is not None]
    assert len(diamonds) == 1 and "100" in diamonds[0].find("title").text
    texts = [t.text or "" for t in root.iter("text")]
    assert any(t.startswith("进度正常") for t in texts) or any(t.startswith("进度滞后") for t in texts)


def test_gap_in_history_breaks_the_line():
    t = Target(id="x", layer="chargers", metric="count", threshold=10)
    p = assess(t, {2020: 0, 2021: 1, 2022: None, 2023: 5, 2024: 7}, baseline=2020, deadline=2025, as_of=2024)
    root = _parse(charts.progress_chart(p))
    solid = [pl for pl in root.findall("polyline") if not pl.get("stroke-dasharray")]
    assert [len(pl.get("points").split()) for pl in solid] == [2, 2]


def test_nothing_external_and_no_script(sample_entries):
    page = charts.progress_html(sample_entries)
    for forbidden in ("<script", "http:", "https:", "href", "src=", "url(", "@import", "<foreignObject"):
        assert forbidden not in page
    assert page.index("Spatial targets") < page.index("Other quantified targets")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_is_inert_and_readable(payload):
    t = Target(id=payload, layer="chargers", metric="count", threshold=10, unit=payload, title=payload,
               phrase=payload)
    p = assess(t, {2020: 0, 2021: 3}, baseline=2020, deadline=2025, as_of=2021,
               notes={2021: payload})
    entry = {**p.to_dict(), "note": payload}
    for out in (charts.progress_chart(entry), charts.progress_html([entry])):
        stripped = re.sub(r"<[^>]*>", "", out.split("<style>")[0] + out.split("</style>")[-1])
        for ch in "{}$`\\<>":
            assert ch not in stripped
        assert "<script" not in out
        assert not re.search(r"\son\w+\s*=\s*[\"']", out)  # no event-handler attribute got through
        assert payload in html.unescape(stripped)
    root = _parse(charts.progress_chart(entry))  # still well-formed, and no attribute is an event handler
    assert not [k for el in root.iter() for k in el.attrib if k.lower().startswith("on")]


def test_indicator_table(sample, ningbo_plan):
    from nbgeo import audit

    rows = audit.run_audit(sample, ningbo_plan).sections["indicators"]
    table = charts.indicator_table_html(rows)
    assert table.count("<tr>") == 1 + len(rows)
    assert "illustrative" in table and "rd_share" in table
    assert charts.indicator_table_html([]) == ""


@given(lo=st.floats(-1e6, 1e6), span=st.floats(1e-3, 1e7))
def test_ticks_cover_the_range(lo, span):
    hi = lo + span
    ticks = charts.nice_ticks(lo, hi)
    step = ticks[1] - ticks[0]
    assert step > 0
    assert ticks[0] <= lo + 1e-6 * step and ticks[-1] >= hi - 1e-6 * step  # covered, to a millionth of a step
    assert 3 <= len(ticks) <= 12
    assert all(b - a == pytest.approx(step, rel=1e-6) for a, b in itertools.pairwise(ticks))
