"""Every finding in every output carries its severity and its basis (issue 15, done when).

One audit of the sample written in every format (``--format html md qgis xlsx csv``), the ``rules``,
``coverage`` and ``compare`` commands' outputs and the PostGIS tables are walked file by file; each finding
(a target, an indicator, a rule and each of its sites, a coverage requirement and each of its uncovered
sites, a site on the map, a changed entry of a comparison) must say how binding it is (禁止 / 限制 / 建议)
and what it rests on (an instrument, with its article where known).
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from nbgeo import audit, datasets, plan, postgis
from nbgeo.cli import main

SAMPLE = str(datasets.get_path("ningbo"))
WORDS = {"zh": set(plan.SEVERITIES), "en": {"prohibited", "restricted", "advisory"}}
#: Verdicts that are findings (a site or an entry that breaks, misses or is proposed).
FOUND = {"fail", "unknown", "uncovered", "proposed", "not_met"}


def _bound(entry: dict, where: str) -> None:
    assert entry.get("severity") in plan.SEVERITIES, (where, entry)
    basis = entry.get("basis")
    assert isinstance(basis, dict) and basis.get("instrument") and basis.get("kind"), (where, entry)


def _run(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["-q", *args])
    assert result.exit_code in (0, 1), result.output  # 1: something is not met, which the sample has


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("audit")
    _run(["audit", SAMPLE, *[a for f in ("html", "md", "qgis", "xlsx", "csv") for a in ("--format", f)],
          "--out", str(out)])
    return out


# ---- audit ----------------------------------------------------------------------------------------------------


def test_audit_json_every_entry_and_every_listed_site(audited):
    doc = json.loads((audited / "audit.json").read_text(encoding="utf-8"))
    n = 0
    for section in ("targets", "indicators", "progress", "rules", "coverage"):
        for entry in doc[section]:
            _bound(entry, section)
            for key in ("findings", "uncovered"):
                for item in entry.get(key) or ():
                    _bound(item, f"{section}.{key}")
                    n += 1
    assert n > 80  # the sample's rule sites and uncovered sites


def _md_tables(text: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("| "):
            current.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_every_verdict_table_has_severity_and_basis(audited):
    tables = _md_tables((audited / "audit.md").read_text(encoding="utf-8"))
    checked = 0
    for table in tables:
        head = table[0]
        # year-by-year and district breakdowns of one entry, and the sources, are not findings
        if head[0] in ("年份", "区县", "图层") or not ({"状态", "原因", "编号"} & set(head)):
            continue
        assert "约束程度" in head, head
        sev = head.index("约束程度")
        for row in table[2:]:
            assert row[sev].replace("◇ ", "") in WORDS["zh"], (head, row)
            basis = row[head.index("依据")] if "依据" in head else next((c for c in row if "依据:" in c), "")
            assert basis.replace("依据:", "").strip() not in ("", "—"), (head, row)
            checked += 1
    assert checked > 150


class _Page(HTMLParser):
    """Rows of a page's tables (section, class, span classes, text) and its embedded map specs."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.section = ""
        self.scripts: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id") or ""
        elif tag == "tr":
            self.rows.append({"class": a.get("class") or "", "spans": [], "text": "", "section": self.section})
        elif tag == "span" and self.rows:
            self.rows[-1]["spans"].append(a.get("class") or "")
        self._script = tag == "script"
        if self._script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._script:
            self.scripts[-1] += data
        elif self.rows:
            self.rows[-1]["text"] += data


def _map_specs(page: _Page) -> list[dict]:
    """The map specs a page embeds (``nbgeo.render(...)``'s JSON argument, found by its version key)."""
    specs = []
    for script in page.scripts:
        for match in re.finditer(r'\{"version": ?1,', script):
            spec, _ = json.JSONDecoder().raw_decode(script[match.start():])
            specs.append(spec)
    return specs


def test_html_every_verdict_row_has_a_badge_and_the_map_every_site(audited):
    page = _Page()
    page.feed((audited / "audit.html").read_text(encoding="utf-8"))
    verdicts = [r for r in page.rows if "pill" in r["spans"] and r["class"] != "detail"
                and r["section"] in ("targets", "section-rules", "section-coverage", "section-indicators")]
    assert {r["section"] for r in verdicts} == {"targets", "section-rules", "section-coverage", "section-indicators"}
    for row in verdicts:
        assert "sev" in row["spans"], (row["section"], row["text"][:120])
    assert all(r["class"] == "advisory" for r in verdicts if "建议" in r["text"].split("依据")[0][:40])
    specs = _map_specs(page)
    assert specs, "the audit page embeds its map"
    sites = [it for spec in specs if spec.get("sites") for it in spec["sites"]["items"]]
    assert len(sites) > 60
    for it in sites:
        assert it["sev"]["severity"] in plan.SEVERITIES and it["sev"]["text"] in WORDS["zh"]
        assert it["sev"]["basis"] not in ("", "—") and it["sev"]["advisory"] == (it["sev"]["severity"] == "建议")
    findings = [ly for spec in specs for ly in spec["layers"] if ly["group"] == "result" and ly["sevSlot"]]
    assert findings and all(ly["sev"] and ly["sev"]["basis"] not in ("", "—") for ly in findings)


def test_check_table_csv_and_xlsx_every_row(audited):
    csv = pd.read_csv(audited / "site_checks.csv", encoding="utf-8-sig", dtype=str)
    book = openpyxl.load_workbook(audited / "site_checks.xlsx", read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    xlsx = pd.DataFrame(rows[1:], columns=rows[0])
    for table in (csv, xlsx):
        assert len(table) > 80  # every failing and uncovered site of the sample
        assert set(table["约束程度"]) <= WORDS["zh"]
        assert table["依据"].notna().all() and not table["依据"].astype(str).str.strip().isin(["", "—"]).any()
    assert any("第三十五条" in b for b in csv["依据"])


def test_findings_gpkg_and_the_qgis_project(audited):
    layers = [name for name, geom in pyogrio.list_layers(audited / "findings.gpkg") if geom]
    drawn = 0
    for name in layers:
        gdf = gpd.read_file(audited / "findings.gpkg", layer=name)
        found = gdf[gdf["status"].astype(str).isin(FOUND)] if "status" in gdf.columns else gdf.iloc[:0]
        if found.empty:
            continue  # service areas: context, not findings
        assert found["severity"].isin(plan.SEVERITIES).all(), name
        assert found["basis"].notna().all() and not found["basis"].isin(["", "—"]).any(), name
        drawn += len(found)
    assert drawn > 80
    with zipfile.ZipFile(audited / "project.qgz") as z:
        project = z.read(next(n for n in z.namelist() if n.endswith(".qgs"))).decode("utf-8")
    assert "findings.gpkg" in project  # the project draws the very layers checked above


# ---- rules, coverage, compare ---------------------------------------------------------------------------------


def test_rules_outputs_every_site(tmp_path):
    _run(["rules", SAMPLE, "--format", "html", "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "rules.json").read_text(encoding="utf-8"))
    for entry in doc["rules"]:
        _bound(entry, "rules.json")
        for f in entry["findings"]:
            _bound(f, "rules.json findings")
    sites = pd.read_csv(tmp_path / "rule_sites.csv", dtype=str)
    assert len(sites) > 1000 and set(sites["severity"]) <= set(plan.SEVERITIES)
    assert not sites["basis"].isna().any() and not sites["basis"].isin(["", "—"]).any()
    failures = json.loads((tmp_path / "rule_failures.geojson").read_text(encoding="utf-8"))["features"]
    assert failures and all(f["properties"]["severity"] in plan.SEVERITIES and f["properties"]["basis"]
                            for f in failures)
    page = _Page()
    page.feed((tmp_path / "rules.html").read_text(encoding="utf-8"))
    rows = [r for r in page.rows if "pill" in r["spans"] and r["section"] == "section-rules" and r["class"] != "detail"]
    assert rows and all("sev" in r["spans"] for r in rows)


def test_terminal_text_of_rules_and_coverage(sample, ningbo_plan):
    from nbgeo import runs

    text = runs.rules_run(sample, ningbo_plan).text
    # each failing site's line: "  {rule title}: {site id} fail [{severity}]: {reason} · basis: {instrument}"
    lines = [line for line in text.splitlines() if re.match(r"  \S.*: \S+ (fail|unknown|pass) \[", line)]
    assert len(lines) > 10
    for line in lines:
        assert re.search(r"\[(prohibited|restricted|advisory)\]: .+ · basis: \S", line), line
    cov = runs.coverage_run(sample, ningbo_plan, with_map=False).text.splitlines()
    assert cov[0].split()[-2:] == ["severity", "basis"]
    body = [line for line in cov[1:] if line and not line.startswith("*")]
    assert body and all(re.search(r"\s(prohibited|restricted|advisory)\s+\S", line) for line in body)


def test_coverage_outputs_every_uncovered_site(tmp_path):
    _run(["coverage", SAMPLE, "--no-map", "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "coverage.json").read_text(encoding="utf-8"))
    assert sum(len(e.get("uncovered") or ()) for e in doc["coverage"]) > 40
    for entry in doc["coverage"]:
        _bound(entry, "coverage.json")
        for site in entry.get("uncovered") or ():
            _bound(site, "coverage.json uncovered")
    features = json.loads((tmp_path / "coverage.geojson").read_text(encoding="utf-8"))["features"]
    uncovered = [f["properties"] for f in features if f["properties"].get("status") == "uncovered"]
    assert uncovered and all(p["severity"] in plan.SEVERITIES and p["basis"] for p in uncovered)


def test_compare_json_and_page(tmp_path):
    plans = [str(datasets.get_path(p)) for p in ("ningbo_2025", "ningbo_2035")]
    _run(["compare", *plans, "--year", "2025", "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "compare.json").read_text(encoding="utf-8"))
    for t in doc["targets"]:
        for side in ("a", "b"):
            if t[side] is not None:
                _bound(t[side], f"compare target {t['id']} {side}")
    changes = [c for s in doc["sections"].values() for c in s["changes"]]
    assert changes
    for c in changes:
        for side, status in enumerate((c["a"], c["b"])):
            if status is not None:
                _bound({"severity": c["severity"][side], "basis": c["basis"][side]}, f"compare change {c['key']}")
    for r in doc["regressions"]:
        _bound(r, "compare regression")
    page = _Page()
    page.feed((tmp_path / "compare.html").read_text(encoding="utf-8"))
    rows = [r for r in page.rows if "pill" in r["spans"]]
    assert len(rows) >= len(doc["targets"]) and all("sev" in r["spans"] for r in rows)


# ---- PostGIS --------------------------------------------------------------------------------------------------


def test_postgis_every_table(pg_url, postgis_url, sample, ningbo_plan):
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    report = audit.run_audit(sample, ningbo_plan)
    written = postgis.write_report(report, pg_url)
    schema = postgis.parse_url(pg_url).schema
    tables = [t.split(".", 1)[1] for t in written if not t.endswith(".nbgeo_audits")]
    rows = 0
    with psycopg.connect(postgis_url) as conn:
        for table in tables:
            got = conn.execute(sql.SQL("SELECT status, severity, basis FROM {}").format(
                sql.Identifier(schema, table))).fetchall()
            for status, severity, basis in got:
                if table.endswith("_uncovered") or status in FOUND or table == "nbgeo_targets":
                    _bound({"severity": severity, "basis": basis}, f"{table} ({status})")
                    rows += 1
    assert rows > 150
    assert {"nbgeo_targets", "nbgeo_rules_findings", "nbgeo_coverage_uncovered", "nbgeo_overlays"} <= set(tables)


def test_the_escaping_path_holds_for_a_hostile_basis():
    """A basis reaches the map through safe_text only: markup in an instrument's name stays text."""
    from nbgeo.renderers import mapsites

    mark = mapsites.severity_mark("禁止", "<img src=x onerror=alert(1)>《法》", "zh")
    assert "<" not in mark["basis"] and html.unescape(mark["basis"]).startswith("<img")
