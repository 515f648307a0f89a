"""The law apart from our suggestions (issue 15): every entry and finding carries its basis and severity.

A plan says what each target, rule and coverage requirement rests on (``basis``: the instrument, its kind
and article, a quoted phrase) and how binding it is (``severity``: 禁止, 限制 or 建议). Every output shows
both on every finding; a 建议 (a suggestion of nbgeo or the office) changes the exit code only with
``--strict``. The three control lines (三区三线) are constraint classes known in one place.
"""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from nbgeo import audit, datasets, io, plan, report, runs
from nbgeo.cli import main
from nbgeo.errors import PlanError
from nbgeo.landuse.control_lines import CONTROL_LINES, control_line
from nbgeo.layers import CONSTRAINT_KINDS

PLANS = sorted(Path(datasets.__file__).parent.joinpath("plans").glob("*.toml"))
TABLES = ("targets", "indicators", "rules", "coverage", "suitability", "siting")
HEAD = '[plan]\nid = "p"\ntitle = "t"\nbaseline = 2020\nhorizon = 2025\nsource = "某规划"\n\n'


@pytest.fixture(scope="module")
def sample():
    return io.read_sample()


@pytest.fixture(scope="module")
def ningbo():
    return plan.read_plan(datasets.get_path("ningbo_2025"))


@pytest.fixture(scope="module")
def result(sample, ningbo):
    return audit.run_audit(sample, ningbo)


# ---- the plan reader ----------------------------------------------------------------------------------------


def _problems(tmp_path: Path, text: str) -> PlanError:
    path = tmp_path / "plan.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        plan.read_plan(path)
    return caught.value


def test_a_misspelt_severity_is_refused_with_its_line_and_a_did_you_mean(tmp_path):
    err = _problems(tmp_path, '[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "count"\nthreshold = 1\n'
                              'severity = "prohibted"\n')
    assert "line 13" in err.message and "[[targets]] #1, key 'severity'" in err.message
    assert "did you mean 'prohibited'?" in err.message and err.code == "E-PLAN-SEVERITY"
    assert err.problems[0].line == 13


def test_a_bad_basis_is_refused_on_its_line_naming_the_sub_key(tmp_path):
    err = _problems(tmp_path, '[[rules]]\nid = "r"\nlayer = "parks"\nkind = "spacing"\nmin_distance = 5\n'
                              'basis = { instrument = "x", kind = "lw", artcle = "第一条" }\n')
    lines = {p.line for p in err.problems}
    assert lines == {13}
    assert "unknown key 'artcle' of basis" in err.message and "did you mean 'article'?" in err.message
    assert "basis.kind: must be one of law, regulation, standard, plan, office" in err.message
    assert "did you mean 'law'?" in err.message


def test_a_basis_needs_an_instrument_and_a_kind(tmp_path):
    err = _problems(tmp_path, '[[coverage]]\nid = "c"\ndemand = "a"\nfacilities = "b"\ndistance = 5\n'
                              'basis = { article = "第一条" }\n')
    assert "basis needs 'instrument'" in err.message and "basis needs 'kind'" in err.message
    assert "line 13" in err.message


def test_proposed_and_a_binding_severity_contradict(tmp_path):
    err = _problems(tmp_path, '[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "count"\nthreshold = 1\n'
                              'proposed = true\nseverity = "禁止"\n')
    assert "proposed = true says 建议" in err.message and "line 14" in err.message


def test_a_misspelt_control_line_gets_a_did_you_mean(tmp_path):
    err = _problems(tmp_path, '[[rules]]\nid = "r"\nlayer = "parks"\nkind = "exclusion"\nagainst = "c"\n'
                              'control_line = "生态红线"\n')
    assert "did you mean '生态保护红线'?" in err.message and err.code == "E-PLAN-CONTROL-LINE"
    assert "line 13" in err.message


def test_a_control_line_rule_must_check_against_that_line(tmp_path):
    err = _problems(tmp_path, '[[rules]]\nid = "r"\nlayer = "parks"\nkind = "exclusion"\nagainst = "c"\n'
                              'against_where = { kind = "water" }\ncontrol_line = "永久基本农田"\n')
    assert "control_line 'basic_farmland' (永久基本农田), but against_where selects kind 'water'" in err.message
    assert "line 14" in err.message and err.code == "E-PLAN-CONTROL-LINE"


def test_english_aliases_read_as_the_chinese_severity_and_defaults_follow_the_plan(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(HEAD + '[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "count"\nthreshold = 1\n'
                           'phrase = "原文"\nseverity = "advisory"\n\n'
                           '[[targets]]\nid = "b"\nlayer = "chargers"\nmetric = "count"\nthreshold = 1\nphrase = "原文"\n\n'
                           '[[rules]]\nid = "r"\nlayer = "parks"\nkind = "exclusion"\nagainst = "c"\n'
                           'control_line = "城镇开发边界"\n', encoding="utf-8")
    p = plan.read_plan(path)
    a, b = p.targets
    assert (a.severity, a.proposed, a.basis["kind"]) == ("建议", True, "office")
    assert (b.severity, b.proposed) == ("限制", False)
    assert dict(b.basis) == {"phrase": "原文", "instrument": "某规划", "kind": "plan", "article": "", "url": ""}
    rule = p.rules[0]
    assert (rule.control_line, rule.severity) == ("urban_development_boundary", "限制")
    assert "三条控制线" in rule.basis["instrument"]


def test_the_schema_offers_the_severities_and_the_basis():
    schema = json.loads(plan.plan_json_schema())
    assert set(schema["$defs"]["Basis"]["required"]) == {"instrument", "kind"}
    severity = schema["$defs"]["TargetModel"]["properties"]["severity"]
    assert {"禁止", "限制", "建议", "prohibited", "restricted", "advisory"} <= set(json.dumps(severity,
                                                                                              ensure_ascii=False)
                                                                                   .replace('"', " ").split())


# ---- the shipped plans --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_every_entry_of_the_shipped_plans_states_its_basis_and_severity(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    missing = [f"[[{t}]] {item['id']}" for t in TABLES for item in data.get(t, [])
               if "severity" not in item or "instrument" not in item.get("basis", {})]
    assert not missing, missing
    p = plan.read_plan(path)
    for item in (*p.targets, *p.indicators, *p.rules, *p.coverage, *p.suitability, *p.siting):
        assert item.severity in plan.SEVERITIES and item.basis["instrument"] and item.basis["kind"]
        assert item.proposed == (item.severity == "建议")


def test_the_control_line_rules_cite_the_law_and_bind(ningbo):
    by_line: dict[str, list] = {}
    for r in ningbo.rules:
        if r.control_line:
            by_line.setdefault(r.control_line, []).append(r)
    assert set(by_line) == set(CONTROL_LINES)
    farmland = by_line["basic_farmland"]
    assert all(r.severity == "禁止" and r.basis["kind"] == "law" and r.basis["article"] == "第三十五条"
               and "土地管理法" in r.basis["instrument"] for r in farmland)
    assert all(r.severity == "禁止" and "三条控制线" in r.basis["instrument"] for r in by_line["ecological_red_line"])
    assert [r.severity for r in by_line["urban_development_boundary"]] == ["限制"]


# ---- 三区三线 on the sample ----------------------------------------------------------------------------------


def test_the_three_control_lines_are_known_once_and_drawn_illustrative(sample):
    assert set(CONTROL_LINES) <= set(CONSTRAINT_KINDS)
    assert control_line("永久基本农田").code == "basic_farmland" and control_line("farmland") is None
    layer = sample.layer("constraints")
    kinds = set(layer.gdf["kind"])
    assert set(CONTROL_LINES) <= kinds
    assert layer.meta.illustrative
    assert all(name.endswith("(示意)") for name in layer.gdf["name"])


def test_the_control_line_rules_find_the_planted_sites_with_their_severity(result):
    rules = {e["id"]: e for e in result.sections["rules"]}
    planted = {"red_line_micro_parks": ["MP00001"], "red_line_land_transfers": ["LT00001"],
               "farmland_micro_parks": ["MP00002"], "farmland_land_transfers": ["LT00002"]}
    for rid, ids in planted.items():
        assert [f["feature_id"] for f in rules[rid]["findings"] if f["status"] == "fail"] == ids
        assert {f["severity"] for f in rules[rid]["findings"]} == {"禁止"}
    town = rules["industrial_land_in_town_boundary"]
    assert town["control_line"] == "urban_development_boundary" and town["severity"] == "限制"
    assert town["failed"] > 0 and {f["severity"] for f in town["findings"]} == {"限制"}


# ---- every output, every finding ----------------------------------------------------------------------------


def _assert_bound(entry: dict) -> None:
    assert entry["severity"] in plan.SEVERITIES, entry
    assert set(entry["basis"]) >= {"phrase", "instrument", "kind", "article"} and entry["basis"]["instrument"]


def test_audit_json_puts_basis_and_severity_on_every_entry_and_finding(result):
    doc = json.loads(report.to_json(result))
    entries = [*doc["targets"], *doc["indicators"], *doc["rules"], *doc["coverage"], *doc["progress"]]
    assert len(entries) > 30
    for entry in entries:
        _assert_bound(entry)
    findings = [f for r in doc["rules"] for f in r["findings"]]
    assert len(findings) > 10
    for f in findings:
        _assert_bound(f)


def test_the_terminal_tables_show_severity_and_basis(result, sample, ningbo):
    text = result.to_text().splitlines()
    assert text[0] == result.headline().text("en")  # the headline first (nbgeo.pace), then the table
    assert "severity" in text[1] and "basis" in text[1]  # under the headline
    # rows name their target by its title (the terminal table is in words); severities are words too
    # the table is the block of lines under its header, each opening with a title; the notes after it
    # (count notes, worst-year notes) name targets by title too, so they are not counted as rows
    rows = list(itertools.takewhile(lambda line: any(line.startswith(t.title[:30]) for t in ningbo.targets),
                                    text[2:]))
    assert text[2 + len(rows)].startswith(f"{sum(t.status == 'met' for t in result.targets)} met")
    assert len(rows) == len(result.targets) and all(re.search(r"\s(prohibited|restricted|advisory)\s", r)
                                                    for r in rows)
    zh = result.to_text("zh").splitlines()
    assert sum(bool(re.search(r"\s(禁止|限制|建议)\s", r)) for r in zh[2:]) == len(result.targets)
    out = runs.rules_run(sample, ningbo, rule_ids=["farmland_micro_parks", "charger_spacing"])
    lines = out.text.splitlines()
    assert "severity" in lines[0] and "basis" in lines[0]
    # severities in the terminal's language (nbgeo.renderers.terminal): English by default, Chinese with zh
    assert "prohibited" in lines[1] and "第三十五条" in lines[1] and "advisory" in lines[2]
    assert "MP00002 fail [prohibited]" in out.text and "CH10600 fail [advisory]" in out.text
    zh = runs.rules_run(sample, ningbo, rule_ids=["farmland_micro_parks", "charger_spacing"], text_lang="zh").text
    assert "MP00002 不符合 [禁止]" in zh and "CH10600 不符合 [建议]" in zh and "约束程度" in zh.splitlines()[0]


def _md_tables(md: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in md.splitlines():
        if line.startswith("| "):
            current.append([c.strip() for c in line.strip("|").split(" | ")])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_shows_severity_and_basis_on_every_row(result):
    md = report.to_markdown(result, lang="zh")
    tables = [t for t in _md_tables(md) if "约束程度" in t[0]]
    assert len(tables) >= 4  # targets, indicators, rules, coverage and each rule's findings
    rows = 0
    for table in tables:
        col = table[0].index("约束程度")
        for row in table[2:]:
            assert row[col].replace("◇ ", "") in plan.SEVERITIES, row
            rows += 1
    assert rows > 40
    finding_tables = [t for t in tables if "依据" in t[0] and "原因" in t[0]] or [t for t in tables if "依据" in t[0]]
    assert any("第三十五条" in row[t[0].index("依据")] for t in finding_tables for row in t[2:])
    assert "◇" in md and "--strict" in md


class _Rows(HTMLParser):
    """Table rows of a page: per row, the classes of its spans and its text (up to the row's ``</tr>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.section = ""
        self.open = False  # inside a row: what follows a table (a section's status counts) is no row's

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id") or ""
        elif tag == "tr":
            self.rows.append({"class": a.get("class") or "", "spans": [], "text": "", "id": a.get("id") or "",
                              "section": self.section})
            self.open = True
        elif tag == "span" and self.open:
            self.rows[-1]["spans"].append(a.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "tr":
            self.open = False

    def handle_data(self, data):
        if self.open:
            self.rows[-1]["text"] += data


def test_html_shows_a_severity_badge_and_the_basis_on_every_finding(result):
    page = report.to_html(result, lang="en", with_map=False)
    parser = _Rows()
    parser.feed(page)
    findings = ("targets", "section-rules", "section-coverage", "section-indicators")
    verdict_rows = [r for r in parser.rows if "pill" in r["spans"] and r["section"] in findings]
    assert len(verdict_rows) > 40
    for row in verdict_rows:
        assert "sev" in row["spans"], row["text"][:120]
    targets = [r for r in parser.rows if r["id"].startswith("target-")]
    assert targets and all("basis:" in r["text"] for r in targets)
    assert any("第三十五条" in r["text"] and "prohibited" in r["text"] for r in verdict_rows)
    advisory = [r for r in verdict_rows if r["class"] == "advisory"]
    assert advisory and all("advisory" in r["text"] for r in advisory)
    assert "change the exit code only with --strict" in page


# ---- the exit code ------------------------------------------------------------------------------------------


@pytest.fixture
def advisory_plan(tmp_path):
    """A plan whose one target is met and whose only failing rule and coverage are suggestions (建议)."""
    path = tmp_path / "advisory.toml"
    path.write_text(HEAD + '[[targets]]\nid = "featured_parks"\nlayer = "featured_parks"\nmetric = "count"\n'
                           'threshold = 50\n\n'
                           '[[rules]]\nid = "charger_spacing"\nlayer = "chargers"\nkind = "spacing"\n'
                           'min_distance = 20\nseverity = "建议"\n\n'
                           '[[rules]]\nid = "farmland"\nlayer = "featured_parks"\nkind = "exclusion"\n'
                           'against = "constraints"\nagainst_where = { kind = "basic_farmland" }\nmax_area = 0\n'
                           'control_line = "永久基本农田"\n\n'
                           '[[coverage]]\nid = "parks_5g_1m"\ndemand = "featured_parks"\nfacilities = "base_stations_5g"\n'
                           'distance = 1\nmode = "straight"\nthreshold = 100\nseverity = "advisory"\n',
                    encoding="utf-8")
    return path


def test_a_failing_suggestion_alone_does_not_set_the_exit_code_unless_strict(sample, advisory_plan):
    p = plan.read_plan(advisory_plan)
    lax = audit.run_audit(sample, p, progress=False)
    assert {e["id"]: e["status"] for e in lax.sections["rules"]} == {"charger_spacing": "fail", "farmland": "pass"}
    assert lax.sections["coverage"][0]["status"] == "not_met"
    assert lax.exit_code == 0 and lax.advisories == 2 and lax.summary()["passed"] is True
    strict = audit.run_audit(sample, p, progress=False, strict=True)
    assert strict.exit_code == 1
    assert "--strict counts them" in lax.to_text()


@pytest.mark.parametrize(("command", "extra"), [("rules", []), ("coverage", ["--no-map"])])
def test_the_commands_count_suggestions_only_with_strict(tmp_path, advisory_plan, command, extra):
    base = [command, str(datasets.get_path("ningbo")), "--plan", str(advisory_plan), *extra]
    lax = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "lax")])
    assert lax.exit_code == 0, lax.output
    strict = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "strict"), "--strict"])
    assert strict.exit_code == 1, strict.output
    doc = json.loads((tmp_path / "lax" / f"{command}.json").read_text(encoding="utf-8"))
    for entry in doc[command]:
        _assert_bound(entry)
