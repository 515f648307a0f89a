"""Every format of every command (issue 16: "Every command gives a page", "Honest output sets").

* :func:`nbgeo.report.write_report` writes every format ``nbgeo audit --format`` writes, from the same code: for
  the same audit, the same bytes (html, md, json, csv), the same cells (xlsx), the same page texts (pdf), the
  same QGIS layers.
* ``nbgeo rules`` and ``nbgeo coverage`` write each ``--format`` as one set; their Markdown (``rules.md``,
  ``coverage.md``) is audit.md's section for that part, in zh and en, escaped for Markdown.
* An entry judged every year (the ``each_year`` indicator ``core_technologies``, the ``each_year`` target
  ``industrial_land_share``) keeps a row per year, together and in year order, with its chart drawn once.
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata

import openpyxl
import pyogrio
import pytest
from click.testing import CliRunner

import nbgeo
from nbgeo import audit, report, runs
from nbgeo.cli import main
from nbgeo.renderers import labels, readable

#: The audit's timestamp, fixed so that two runs of the same audit are the same files.
_WHEN = datetime.datetime(2026, 3, 1, 8, 30, tzinfo=datetime.UTC)


class _FixedClock(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return _WHEN.astimezone(tz) if tz is not None else _WHEN.replace(tzinfo=None)


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(audit, "datetime", _FixedClock)


def _cli(*args):
    result = CliRunner().invoke(main, ["-q", *args])
    assert result.exit_code in (0, 1), result.output
    return result


def _api_and_cli(tmp_path, formats, *extra):
    """The same audit (year 2023, no map) written by ``nbgeo audit`` and by ``write_report``."""
    cli, api = tmp_path / "cli", tmp_path / "api"
    _cli("audit", "--out", str(cli), "--no-map", "--year", "2023", *(a for f in formats for a in ("--format", f)),
         *extra)
    found = nbgeo.run_audit(nbgeo.read_sample(), nbgeo.read_plan(nbgeo.datasets.get_path("ningbo_2025")), year=2023)
    coords = ("gcj02",) if "--coords" in extra else ()
    written = report.write_report(found, api, formats=formats, with_map=False, coords=coords)
    return cli, api, written


def _cells(path):
    book = openpyxl.load_workbook(path)
    return {sheet.title: ([[c.value for c in row] for row in sheet.iter_rows()], sheet.freeze_panes,
                          sheet.auto_filter.ref) for sheet in book.worksheets}


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_the_api_writes_every_format_the_cli_writes_the_same(tmp_path, fixed_clock):
    formats = ("html", "md", "xlsx", "csv", "qgis")
    cli, api, written = _api_and_cli(tmp_path, formats, "--coords", "gcj02")
    # (the sample's layers are files a QGIS project can open as they are: no dataset.gpkg of copies)
    assert _listing(api) == _listing(cli) == [".nbgeo-outputs.json", "audit.html", "audit.json", "audit.md",
                                              "findings.gpkg", "project.qgz", "site_checks.csv", "site_checks.xlsx"]
    assert sorted(written) == ["csv", "findings.gpkg", "html", "json", "md", "project.qgz", "xlsx"]
    for name in ("audit.json", "audit.html", "audit.md", "site_checks.csv"):
        assert (api / name).read_bytes() == (cli / name).read_bytes(), name
    assert "2026-03-01T08:30:00Z" in (api / "audit.json").read_text(encoding="utf-8")  # the clock was fixed
    sheets = _cells(api / "site_checks.xlsx")
    assert sheets == _cells(cli / "site_checks.xlsx")
    (rows, frozen, filtered), = sheets.values()
    assert frozen == "A2" and filtered and "经度(GCJ-02)" in rows[0] and len(rows) > 10  # --coords gcj02 both ways
    layers = [tuple(x) for x in pyogrio.list_layers(api / "findings.gpkg")]
    assert len(layers) >= 2 and layers == [tuple(x) for x in pyogrio.list_layers(cli / "findings.gpkg")]
    for name, _ in layers:
        assert pyogrio.read_info(api / "findings.gpkg", layer=name)["features"] == \
            pyogrio.read_info(cli / "findings.gpkg", layer=name)["features"], name


def test_the_api_refuses_an_unknown_format_before_writing(tmp_path):
    found = audit.run_audit(nbgeo.read_sample(), nbgeo.read_plan(nbgeo.datasets.get_path("ningbo_2025")))
    with pytest.raises(nbgeo.errors.OutputError, match=r"unknown report format.*'docx'") as exc:
        report.write_report(found, tmp_path / "x", formats=("md", "docx"))
    assert exc.value.code == "E-IO-FORMAT" and not (tmp_path / "x").exists()


def _pdf_texts(path):
    import pypdf

    reader = pypdf.PdfReader(path)
    return [re.sub(r"\s+", " ", unicodedata.normalize("NFKC", page.extract_text())) for page in reader.pages]


@pytest.mark.slow
def test_the_api_prints_the_pdf_the_cli_prints(tmp_path, fixed_clock, browser):
    cli, api, written = _api_and_cli(tmp_path, ("pdf",))
    assert _listing(api) == _listing(cli) == [".nbgeo-outputs.json", "audit.json", "audit.pdf"]
    assert sorted(written) == ["json", "pdf"]
    texts = _pdf_texts(api / "audit.pdf")
    assert len(texts) >= 3 and texts == _pdf_texts(cli / "audit.pdf")
    assert f"1 / {len(texts)}" in texts[0] and "2023" in texts[0]


# -- each command, each format, as one set ----------------------------------------------------------------------

_OWN = {"rules": list(runs.RULES_FILES), "coverage": list(runs.COVERAGE_FILES[:2])}


@pytest.mark.parametrize("command", ["rules", "coverage"])
def test_each_format_of_a_command_is_one_set(tmp_path, command):
    out = tmp_path / command
    expected = {"html": [f"{command}.html"], "md": [f"{command}.md"], "xlsx": ["site_checks.xlsx"],
                "csv": ["site_checks.csv"], "qgis": ["findings.gpkg", "project.qgz"]}
    overwrite: tuple[str, ...] = ()
    for fmt, files in expected.items():
        _cli(command, "--out", str(out), "--no-map", "--format", fmt, *overwrite)
        assert _listing(out) == sorted([".nbgeo-outputs.json", *_OWN[command], *files]), fmt  # last set gone
        overwrite = ("--overwrite",)
    (out / "notes.md").write_text("mine", encoding="utf-8")
    _cli(command, "--out", str(out), "--no-map", "--format", "md", "--format", "csv", "--overwrite")
    assert _listing(out) == sorted([".nbgeo-outputs.json", *_OWN[command], f"{command}.md", "site_checks.csv",
                                    "notes.md"])
    manifest = json.loads((out / ".nbgeo-outputs.json").read_text(encoding="utf-8"))
    assert sorted(manifest["sets"][command]["files"]) == sorted([*_OWN[command], f"{command}.md", "site_checks.csv"])


# -- rules.md and coverage.md: audit.md's own sections -----------------------------------------------------------


def _md_section(md: str, title: str) -> str:
    start = md.index(f"\n## {title}\n")
    end = md.find("\n## ", start + 1)
    return md[start:end]


def _written(outputs, tmp_path, name: str) -> str:
    outputs.write(tmp_path / outputs.command)
    return (tmp_path / outputs.command / name).read_text(encoding="utf-8")


#: File names (make_sample.py) are names, not words: left out of the snake_case check.
_FILE_NAME = re.compile(r"[\w./-]+\.(?:py|json|geojson|gpkg|csv|toml|md)\b")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rules_md_and_coverage_md_are_audit_mds_sections(sample, ningbo_plan, tmp_path, lang):
    whole = _written(runs.audit_outputs(audit.run_audit(sample, ningbo_plan), formats=("md",), lang=lang),
                     tmp_path, "audit.md")
    for name, run in (("rules", runs.rules_run), ("coverage", runs.coverage_run)):
        page = _written(run(sample, ningbo_plan, formats=("md",), lang=lang), tmp_path, f"{name}.md")
        title = labels.word(f"section.{name}", lang)
        section = _md_section(page, title)
        assert section == _md_section(whole, title), name  # the same words, rows and figures
        assert len(section.splitlines()) > 10
        assert page.startswith(f"# {title} · ")  # the page of that part: no target table, no other section
        others = {labels.word(f"section.{n}", lang) for n in ("rules", "coverage", "indicators")} - {title}
        assert not any(f"\n## {o}\n" in page for o in others) and f"\n## {labels.word('report.targets', lang)}\n" \
            not in page
        verdict = page.split("\n\n")[2]
        entries = json.loads((tmp_path / name / f"{name}.json").read_text(encoding="utf-8"))[name]
        bad = sum(e["status"] in ("fail", "not_met", "unknown") for e in entries)
        assert verdict.startswith("**") and f" {bad:,} " in verdict, verdict
        # Markdown escapes with backslashes, never HTML entities; years plain; no key in Chinese
        assert not re.search(r"&(?:#\d+|[a-zA-Z]+);", page)
        read = re.sub(r"\\(.)", r"\1", page)
        assert not re.search(r"(?<![\d,.])2,0[1-5]\d(?![\d,])", read)
        if lang == "zh":
            assert not readable.SNAKE.findall(_FILE_NAME.sub(" ", read)), readable.SNAKE.findall(read)
    coverage_md = (tmp_path / "coverage" / "coverage.md").read_text(encoding="utf-8")
    beyond = readable.dash("beyond", lang, distance=4000)
    assert beyond in coverage_md or beyond.replace("(", "\\(").replace(")", "\\)") in coverage_md  # "—" says why


# -- an entry judged every year: its rows together, its chart once ----------------------------------------------


def _rows(page: str, ident: str) -> list[str]:
    return [r for r in re.findall(r"<tr(?: class='advisory')?>(<td.*?)</tr>", page, re.S) if f"title='{ident}'" in r]


def test_an_each_year_entry_keeps_its_yearly_rows_and_draws_its_chart_once(sample, ningbo_plan):
    found = audit.run_audit(sample, ningbo_plan)
    years = [e for e in found.sections["indicators"] if e["id"] == "core_technologies"]
    assert [e["years"] for e in years] == ["each_year"] * 5 and {e["status"] for e in years} == {"met", "not_met"}
    page = report.to_html(found, with_map=False, lang="en")
    rows = _rows(page, "core_technologies")
    assert [re.search(r"<td class='num'>(20\d\d)</td>", r).group(1) for r in rows] == [
        "2021", "2022", "2023", "2024", "2025"]  # a row per year, together, in year order
    charts = [re.search(r"<td class='chart'>(.*?)</td>$", r, re.S).group(1) for r in rows]
    chart = report.default_charts(found, lang="en")
    assert charts[0] == chart("indicators", "core_technologies") and charts[1:] == [""] * 4  # once, on the first
    assert page.count(charts[0]) == 1
    land = chart("targets", "industrial_land_share")  # the each-year target: one chart for its row of years
    assert land.startswith("<svg") and page.count(land) == 1
    title = readable.title(years[0], "en")
    # the Markdown: the same row group (year column shown), and one history table for the indicator
    md = report.to_markdown(found, lang="en")
    section = _md_section(md, labels.word("section.indicators", "en"))
    lines = [line for line in section.splitlines() if line.startswith("| ") and title in line]
    assert len(lines) == 5 and [re.search(r"\| (20\d\d) \|", line).group(1) for line in lines] == [
        "2021", "2022", "2023", "2024", "2025"]
    block = section[section.index(lines[0]):section.index(lines[-1])]
    assert block.count("\n") == 4  # contiguous: no other row between the years
    assert md.count(f"**{title}** — ") == 1
