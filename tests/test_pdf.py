"""PDFs of the pages (``--format pdf``): printed by headless Chromium, A4, numbered, headed, maps as pictures.

These need Chromium: when it is not installed they skip with the reason, unless ``NBGEO_REQUIRE_BROWSER`` is
set (CI sets it), when they fail. The test of the error without a browser runs everywhere.
"""

from __future__ import annotations

import re
import unicodedata

import pypdf
import pytest
from click.testing import CliRunner

from nbgeo.cli import main


@pytest.fixture(scope="module")
def coverage_pdf(has_browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("coverage")
    # coverage requirements are suggestions (建议): a miss changes the exit code with --strict
    result = CliRunner().invoke(main, ["-q", "coverage", "--out", str(out), "--format", "pdf", "--format", "html",
                                       "--strict"])
    assert result.exit_code == 1, result.output
    return out


def _pages(path) -> list[str]:
    """Each page's text; NFKC, since the fonts map some ideographs to their Kangxi radicals (⽬ for 目)."""
    reader = pypdf.PdfReader(path)
    return [re.sub(r"\s+", " ", unicodedata.normalize("NFKC", page.extract_text())) for page in reader.pages]


def _page_objects(data: bytes) -> int:
    """Pages counted without pypdf: the page objects of the file (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def test_every_page_is_a4_numbered_and_headed(coverage_pdf):
    path = coverage_pdf / "coverage.pdf"
    reader = pypdf.PdfReader(path)
    count = len(reader.pages)
    assert count >= 3 and _page_objects(path.read_bytes()) == count
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 595.3) < 1.5 and abs(height - 841.9) < 1.5  # A4 in points
    for number, text in enumerate(_pages(path), start=1):
        assert f"{number} / {count}" in text, (number, text[-200:])
        assert "服务覆盖" in text and "未通过" in text  # the running head: the page's title and verdict


def test_tables_fit_and_folded_rows_are_printed(coverage_pdf):
    text = " ".join(_pages(coverage_pdf / "coverage.pdf"))
    # every heading of the coverage table, the last ones included (a table wider than A4 would lose them)
    for heading in ("状态", "名称", "图层", "实际值", "目标值", "差额", "服务设施", "距离", "需求点", "已覆盖点数",
                    "编号"):  # the last: the id column of the folded uncovered sites
        assert heading in text, heading
    # the uncovered sites sit in folded <details> on screen; print opens them (with names and districts)
    html = (coverage_pdf / "coverage.html").read_text(encoding="utf-8")
    assert "<details" in html and "MP00220" in html
    row = r"MP00220 慈溪市小微企业园 220 ?\(? ?示意 ?\)? 慈溪市 3,954"  # its distance in whole metres
    assert re.search(row, text), "the folded row, with its name and district"


def test_the_map_is_printed_as_a_picture(coverage_pdf):
    reader = pypdf.PdfReader(coverage_pdf / "coverage.pdf")
    pictures = []
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject")
        for ref in (xobjects.get_object().values() if xobjects else ()):
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                pictures.append((int(obj["/Width"]), int(obj["/Height"])))
    assert any(w > 800 and h > 500 for w, h in pictures), pictures  # the map as drawn on screen


def test_rules_and_audit_pdfs(has_browser, ningbo_plan, tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["-q", "rules", "--out", str(out), "--format", "pdf", "--no-map",
                                       "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert not (out / "rules.html").exists()  # --format pdf alone: the page is only printed
    pages = _pages(out / "rules.pdf")
    assert len(pages) >= 1 and "Siting rules" in pages[0] and f"1 / {len(pages)}" in pages[0]
    titles = {x.id: x.title for x in (*ningbo_plan.targets, *ningbo_plan.rules, *ningbo_plan.coverage)}
    assert titles["petrochemical_setback"] in " ".join(pages)  # readers see each rule by its title
    audited = tmp_path / "a"
    result = CliRunner().invoke(main, ["-q", "audit", "--out", str(audited), "--no-map", "--format", "pdf",
                                       "--lang", "en"])  # the English titles; a zh page shows the plan's Chinese
    assert result.exit_code == 1, result.output
    text = " ".join(_pages(audited / "audit.pdf"))
    assert titles["clusters_100bn"] in text and titles["micro_parks_chargers_1km"] in text
    assert "clusters_100bn" not in text and "micro_parks_chargers_1km" not in text  # ids stay in the JSON


def test_no_browser_is_a_clear_error_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("NBGEO_CHROMIUM", str(tmp_path / "no-such-browser"))
    monkeypatch.setenv("PATH", str(tmp_path))  # nor one on PATH
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["coverage", "--out", str(out), "--format", "pdf"])
    assert result.exit_code == 2
    assert "E-MAP-BROWSER" in result.output and "apt-get install chromium" in result.output
    assert "NBGEO_CHROMIUM" in result.output
    assert not out.exists()
