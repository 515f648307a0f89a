"""The plan's non-spatial indicators: the yearly table, its manifest entry, verdicts, and the sample."""

from __future__ import annotations

import importlib.util
import operator
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nbgeo import audit, datasets, io, plan
from nbgeo.errors import DataError, InputError, LimitError, PlanError
from nbgeo.indicators import IndicatorTable, evaluate_indicators, read_table, table_for

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CSV = REPO / "nbgeo" / "datasets" / "ningbo" / "indicators.csv"
HEAD = '[plan]\nid = "p"\ntitle = "t"\nbaseline = 2020\nhorizon = 2025\n'


def _csv(tmp_path: Path, text: str, name: str = "ind.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _plan(tmp_path: Path, body: str) -> plan.Plan:
    path = tmp_path / "plan.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return plan.read_plan(path)


# ---- the table -----------------------------------------------------------------------------------


def test_read_table_values_missing_cells_and_thousands(tmp_path):
    t = read_table(_csv(tmp_path, '# made up\nyear, firms ,share\n2021,"4,057",2.3\n2020,3100,\n'))
    assert t.years == [2020, 2021]  # sorted
    assert t.value("firms", 2021) == 4057 and t.value("share", 2020) is None
    assert t.value("nope", 2020) is None and t.value("firms", 1999) is None


def test_read_table_with_bom_and_gbk(tmp_path):
    assert read_table(_csv(tmp_path, "\ufeffyear,x\n2020,1\n")).value("x", 2020) == 1
    gbk = _csv(tmp_path, "year,绿色工厂\n2020,300\n", name="gbk.csv", encoding="gbk")
    with pytest.raises(InputError, match="not valid UTF-8") as exc:
        read_table(gbk)
    assert exc.value.code == "E-ENC-INVALID"
    assert read_table(gbk, encoding="gbk").value("绿色工厂", 2020) == 300


@pytest.mark.parametrize(("text", "code", "message"), [
    ("firms\n10\n", "E-TABLE-YEAR", "has no 'year' column"),
    ("year,firms\n2020,1\n2020,2\n", "E-TABLE-YEAR", "year 2020 appears on more than one line"),
    ("year,firms\n2020,1\nnext,2\n", "E-TABLE-YEAR", "line 3, column 'year': 'next' is not a year"),
    ("year,firms\n2020.5,1\n", "E-TABLE-YEAR", "is not a year"),
    ("year,firms\n2020,1\n2021,12%\n", "E-TABLE-VALUE", "line 3, column 'firms': '12%' is not a number"),
    ("year,firms,firms\n2020,1,2\n", "E-TABLE-COLUMN", "appears twice"),
    ("", "E-TABLE-PARSE", "not a readable CSV"),
])
def test_bad_tables_name_line_and_column(tmp_path, text, code, message):
    with pytest.raises(DataError, match=message) as exc:
        read_table(_csv(tmp_path, text))
    assert exc.value.code == code


def test_only_small_local_csv(tmp_path, monkeypatch):
    with pytest.raises(InputError, match=r"only \.csv files") as exc:
        read_table(_csv(tmp_path, "year\n2020\n", name="ind.xlsx"))
    assert exc.value.code == "E-FORMAT-FORBIDDEN"
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    monkeypatch.setattr(io.tables, "MAX_TABLE_BYTES", 10)
    with pytest.raises(LimitError, match="bytes"):
        read_table(_csv(tmp_path, "year,firms\n2020,1\n"))


# ---- the manifest entry --------------------------------------------------------------------------


def _dataset_folder(tmp_path: Path, entry: str, csv: str = "year,firms\n2020,10\n") -> Path:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "ind.csv").write_text(csv, encoding="utf-8")
    (folder / "dataset.toml").write_text(f'[dataset]\nname = "x"\n\n[tables.indicators]\n{entry}\n',
                                         encoding="utf-8")
    return folder


def test_manifest_entry(tmp_path):
    folder = _dataset_folder(tmp_path, 'file = "ind.csv"\nsource = "yearbook"\nillustrative = false')
    t = table_for(folder)
    assert (t.source, t.illustrative, t.file, t.value("firms", 2020)) == ("yearbook", False, "ind.csv", 10)
    assert table_for(folder / "dataset.toml").values.equals(t.values)


@pytest.mark.parametrize(("entry", "message"), [
    ('file = "ind.csv"\ncolour = "red"', "unknown key"),
    ('source = "x"', "missing key 'file'"),
    ('file = "../ind.csv"', "outside the dataset folder"),
    ('file = "ind.csv"\nillustrative = "yes"', "must be true or false"),
])
def test_bad_manifest_entries(tmp_path, entry, message):
    folder = _dataset_folder(tmp_path, entry)
    (tmp_path / "ind.csv").write_text("year,firms\n2020,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        table_for(folder)


def test_no_table(tmp_path, tiny_dataset):
    assert table_for(tiny_dataset) is None  # in memory: no manifest
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "dataset.toml").write_text('[dataset]\nname = "x"\n', encoding="utf-8")
    assert table_for(folder) is None


# ---- plan and verdicts ---------------------------------------------------------------------------


def test_indicators_in_plan_file(tmp_path):
    p = _plan(tmp_path, '\n[[indicators]]\nid = "firms"\ncolumn = "高新技术企业"\nthreshold = 8000\nunit = "firms"\n'
                        'milestones = { 2023 = 6000 }\n')
    (spec,) = p.indicators
    assert (spec.column, spec.threshold, dict(spec.milestones)) == ("高新技术企业", 8000.0, {2023: 6000.0})
    with pytest.raises(PlanError, match=r"line 10.*\[\[indicators\]\] #1, key 'unit_of'"):
        _plan(tmp_path, '\n[[indicators]]\nid = "firms"\nthreshold = 8000\nunit_of = "firms"\n')
    with pytest.raises(PlanError, match="missing key 'threshold'"):
        _plan(tmp_path, '\n[[indicators]]\nid = "firms"\n')
    with pytest.raises(PlanError, match="duplicate indicator id 'a'"):
        _plan(tmp_path, '\n[[indicators]]\nid = "a"\nthreshold = 1\n\n[[indicators]]\nid = "a"\nthreshold = 2\n')


def test_verdicts_met_not_met_unknown(tmp_path):
    p = _plan(tmp_path, '\n[[indicators]]\nid = "firms"\nthreshold = 100\n'
                        '\n[[indicators]]\nid = "share"\nop = "<="\nthreshold = 5\nyears = "each_year"\n'
                        '\n[[indicators]]\nid = "absent"\nthreshold = 1\n')
    t = IndicatorTable(pd.DataFrame({"firms": [90.0, 120.0], "share": [4.0, 6.0]}, index=[2021, 2022]),
                       source="s", illustrative=True)
    rows = evaluate_indicators(p, t, year=2022)
    got = [(r["id"], r["year"], r["status"], r["margin"]) for r in rows]
    assert got == [("firms", 2022, "met", 20.0), ("share", 2021, "met", 1.0), ("share", 2022, "not_met", -1.0),
                   ("absent", 2022, "unknown", None)]
    assert "no column 'absent'" in rows[-1]["note"]
    assert all(r["illustrative"] and r["source"] == "s" for r in rows)
    no_table = evaluate_indicators(p, None, year=2022)
    assert {r["status"] for r in no_table} == {"unknown"} and "no indicator table" in no_table[0]["note"]


# ---- the sample ----------------------------------------------------------------------------------


def test_embedded_plan_declares_the_brief_indicators(ningbo_plan):
    got = {i.id: (i.op, i.threshold, i.unit, i.years) for i in ningbo_plan.indicators[:4]}
    assert got == {"rd_share": (">=", 2.8, "%", "horizon"), "high_tech_firms": (">=", 8000, "firms", "horizon"),
                   "single_champions": (">=", 100, "firms", "horizon"),
                   "green_factories": (">=", 1000, "factories", "horizon")}
    assert all(i.phrase for i in ningbo_plan.indicators)
    # The plan's other quantified targets follow (tests/test_seed_targets.py lists each).
    assert len(ningbo_plan.indicators) == 48


def test_sample_table_is_illustrative_and_complete(sample, ningbo_plan):
    t = table_for(sample)
    assert t.illustrative and "make_indicators.py" in t.source
    assert SAMPLE_CSV.read_text(encoding="utf-8").startswith("# Illustrative")
    assert t.years == list(range(2020, 2026))
    assert set(t.values.columns) == {i.column for i in ningbo_plan.indicators}
    assert t.values.notna().all().all()


def test_sample_verdicts_2025(sample, ningbo_plan):
    rows = evaluate_indicators(ningbo_plan, table_for(sample), year=2025)
    got = {(r["id"], r["year"]): r["status"] for r in rows}
    assert {k[0]: v for k, v in got.items() if k[0] in ("rd_share", "high_tech_firms", "single_champions",
                                                         "green_factories")} == {
        "rd_share": "met", "high_tech_firms": "met", "single_champions": "met", "green_factories": "not_met"}
    # Every verdict, computed again from the CSV with plain pandas and the plan's words for the years.
    csv = pd.read_csv(SAMPLE_CSV, comment="#", index_col="year")
    ops = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
    expected = {}
    for i in ningbo_plan.indicators:
        values = {2025: csv.loc[2021:2025, i.column].sum()} if i.years == "cumulative" else \
            csv.loc[2021:2025, i.column].to_dict() if i.years == "each_year" else {2025: csv.loc[2025, i.column]}
        expected |= {(i.id, y): "met" if ops[i.op](v, i.threshold) else "not_met" for y, v in values.items()}
    assert got == expected
    assert sum(s == "met" for s in got.values()) == 37 and len(got) == 52


def test_audit_carries_indicators_and_table_provenance(sample, ningbo_plan):
    r = audit.run_audit(sample, ningbo_plan, year=2023)
    assert list(dict.fromkeys(e["id"] for e in r.sections["indicators"])) == [i.id for i in ningbo_plan.indicators]
    statuses = {e["id"]: e["status"] for e in r.sections["indicators"]}
    assert [statuses[i] for i in ("rd_share", "high_tech_firms", "single_champions", "green_factories")] == \
        ["not_met"] * 4
    counts: dict[str, int] = {}
    for e in r.sections["indicators"]:
        counts[e["status"]] = counts.get(e["status"], 0) + 1
    assert r.summary()["indicators"] == counts and sum(counts.values()) == 47 + 3  # core_technologies 2021-2023
    d = r.to_dict()
    assert d["dataset"]["tables"]["indicators"]["illustrative"] is True
    # Spatial targets come first in audit.json, the indicators after them.
    keys = list(d)
    assert keys.index("targets") < keys.index("indicators")


def test_dataset_without_table_reports_unknown(tmp_path, ningbo_plan):
    folder = tmp_path / "ds"
    shutil.copytree(datasets.get_path("ningbo"), folder)
    manifest = folder / "dataset.toml"
    text = manifest.read_text(encoding="utf-8")
    start = text.index("[tables.indicators]")
    end = text.find("\n[", start)  # the next table of the manifest, if any
    manifest.write_text(text[:start] + ("" if end < 0 else text[end + 1:]), encoding="utf-8")
    r = audit.run_audit(io.read_dataset(folder), ningbo_plan)
    rows = sum(len(ningbo_plan.years) if i.years == "each_year" else 1 for i in ningbo_plan.indicators)
    assert r.summary()["indicators"] == {"unknown": rows} and rows == 52


def _load_script():
    spec = importlib.util.spec_from_file_location("make_indicators", REPO / "scripts" / "make_indicators.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_rebuilds_the_committed_table(tmp_path):
    script = _load_script()
    out = script.main(["--seed", "2025", "--out", str(tmp_path / "ind.csv")])
    assert out.read_bytes() == SAMPLE_CSV.read_bytes()
    other = script.main(["--seed", "7", "--out", str(tmp_path / "other.csv")])
    assert other.read_bytes() != SAMPLE_CSV.read_bytes()
    assert read_table(other).years == list(range(2020, 2026))
