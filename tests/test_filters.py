"""One filter dialect, one year rule, one definition of every target metric (nbgeo.filters, nbgeo.targets).

The same filter selects the same features in [[targets]], [[rules]], [[coverage]] and [[siting]]; a layer
without its year column is handled by one rule in targets, coverage and siting; the default and the Dask
engine give the same value for every metric.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import Point, box

from nbgeo import audit, coverage, filters, optimize, plan, rules, targets
from nbgeo.cli import main
from nbgeo.crs import NINGBO_TM
from nbgeo.engine import DefaultEngine
from nbgeo.errors import FilterError, MissingDataError
from nbgeo.layers import Dataset
from nbgeo.plan import Plan, SitingSpec, Target

# --------------------------------------------------------------------------------------------------------------
# A small layer whose selections are known, row by row
# --------------------------------------------------------------------------------------------------------------

LEADS = ["绿色石化;新材料", "高端装备", None, "新材料 ； 绿色石化", "绿色石化化工", "绿色石化", "新材料",
         "汽车;高端装备", "绿色石化", None, "高端装备;绿色石化", "新材料"]
STATUS = ["built", "planned", None, "upgraded", "built", "planned", "built", "upgraded", None, "built", "planned",
          "built"]
YEARS = [2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026, None, 2021, 2022, 2024]
OPENED = ["2019", "2021", "n/a", "2023", None, "2025", "2020", "2022", "2024", "2018", "2021", "2026"]
IDS = [f"P{i:02d}" for i in range(len(LEADS))]


def _parks() -> gpd.GeoDataFrame:
    """Twelve parks 10 km apart (so that nothing serves them), each with a bit that identifies it in a sum."""
    return gpd.GeoDataFrame(
        {"name": IDS, "lead": LEADS, "status": STATUS, "year": YEARS, "opened": OPENED,
         "bit": [float(2**i) for i in range(len(IDS))]},
        geometry=[Point(500_000 + 10_000 * i, 3_300_000) for i in range(len(IDS))], crs=NINGBO_TM, index=IDS)


def _dataset(parks: gpd.GeoDataFrame | None = None) -> Dataset:
    chargers = gpd.GeoDataFrame({"type": ["charging"], "ports": [2], "year": [2020]},
                                geometry=[Point(400_000, 3_200_000)], crs=NINGBO_TM, index=["C1"])
    cands = gpd.GeoDataFrame(geometry=[Point(400_000, 3_100_000)], crs=NINGBO_TM, index=["K1"])
    return Dataset.from_gdfs({"parks": _parks() if parks is None else parks, "chargers": chargers, "cands": cands},
                             name="filters")


def _items(text: str | None) -> list[str]:
    return [] if text is None else [i.strip() for i in text.replace("；", ";").split(";")]


def _number(text: object) -> float | None:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


# Each filter as TOML, and an independent row-by-row reading of what it means.
FILTERS = {
    "contains": ('{ lead = { contains = "绿色石化" } }', lambda i: "绿色石化" in _items(LEADS[i])),
    "contains_any": ('{ lead = { contains = ["汽车", "新材料"] } }',
                     lambda i: bool({"汽车", "新材料"} & set(_items(LEADS[i])))),
    "range": ('{ year = { ">=" = 2021, "<" = 2025 } }', lambda i: YEARS[i] is not None and 2021 <= YEARS[i] < 2025),
    "not_equal": ('{ status = { "!=" = "planned" } }', lambda i: STATUS[i] is not None and STATUS[i] != "planned"),
    "not_in": ('{ status = { "!=" = ["planned", "built"] } }', lambda i: STATUS[i] == "upgraded"),
    "equal_list": ('{ status = ["built", "upgraded"] }', lambda i: STATUS[i] in ("built", "upgraded")),
    "text_as_number": ('{ opened = { "<=" = 2021 } }', lambda i: (_number(OPENED[i]) or 9999) <= 2021),
    "text_equal_number": ("{ opened = [2021, 2024] }", lambda i: _number(OPENED[i]) in (2021, 2024)),
    "two_columns": ('{ status = "built", lead = { contains = "新材料" } }',
                    lambda i: STATUS[i] == "built" and "新材料" in _items(LEADS[i])),
}


def _plan_text(where: str) -> str:
    """A plan with the same filter on the parks in a target, a rule, a coverage requirement and a siting question.

    Years play no part here (every year column is ""), so that the filter alone selects.
    """
    return f"""
[plan]
id = "filters"
title = "one dialect"
baseline = 2020
horizon = 2025

[[targets]]
id = "picked"
layer = "parks"
metric = "sum"
column = "bit"
threshold = 1
year_column = ""
where = {where}

[[rules]]
id = "apart"
layer = "parks"
kind = "spacing"
min_distance = 10
where = {where}

[[coverage]]
id = "served"
demand = "parks"
facilities = "chargers"
distance = 100
mode = "straight"
year_column = ""
demand_where = {where}

[[siting]]
id = "next"
demand = "parks"
facilities = "chargers"
distance = 100
by = "straight"
k = 1
candidates = "cands"
year_column = ""
demand_where = {where}
"""


def _read(tmp_path: Path, text: str) -> Plan:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return plan.read_plan(path)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_a_filter_selects_the_same_features_in_every_section(tmp_path: Path, name: str) -> None:
    where, means = FILTERS[name]
    expected = [pid for i, pid in enumerate(IDS) if means(i)]
    assert 0 < len(expected) < len(IDS)  # the filter selects something, and not everything
    p, ds = _read(tmp_path, _plan_text(where)), _dataset()

    # [[targets]]: the sum of the selected parks' bits names exactly which were counted.
    (total,) = targets.evaluate_targets(p, ds)
    assert total.status == "met"
    picked = int(total.actual or 0)
    assert [pid for i, pid in enumerate(IDS) if picked >> i & 1] == expected
    # [[rules]]: the sites the rule judged.
    (rule,) = rules.evaluate_rules(p, ds)
    assert rule.frame.index.tolist() == expected
    # [[coverage]]: nothing serves the parks, so every selected site is listed as not covered.
    (entry,), _ = coverage.evaluate_plan_coverage(p, ds, overlays=False)
    assert entry["sites"] == len(expected)
    assert sorted(u["id"] for u in entry["uncovered"]) == expected
    # [[siting]]: the demand the question serves.
    result, _ = optimize.site_from_spec(p.siting[0], ds, p)
    assert sorted(result.demand.index) == expected


def test_the_sample_plans_contains_filter_means_the_same_in_a_target(sample, ningbo_plan) -> None:
    """The sample's petrochemical setback rule filters zones with contains; a target with that filter counts them."""
    rule = next(r for r in ningbo_plan.rules if r.id == "petrochemical_setback")
    judged = rules.evaluate_rule(rule, sample).frame.index
    t = Target(id="petro", layer="clusters", metric="count", threshold=1, year_column="", where=rule.params["where"])
    (r,) = targets.evaluate_target(t, sample, year=2025)
    assert 0 < len(judged) < len(sample["clusters"]) and r.actual == len(judged)


# --------------------------------------------------------------------------------------------------------------
# The dialect itself
# --------------------------------------------------------------------------------------------------------------


def test_missing_values_match_no_condition() -> None:
    g = pd.DataFrame({"s": ["a", None, "b"], "n": [1.0, np.nan, 3.0]})
    assert filters.filter_mask(g, {"s": {"!=": "a"}}).tolist() == [False, False, True]
    assert filters.filter_mask(g, {"n": {"!=": 1}}).tolist() == [False, False, True]
    assert filters.filter_mask(g, {"n": {"<": 10}}).tolist() == [True, False, True]
    assert filters.filter_mask(g, {"s": {"contains": "b"}}).tolist() == [False, False, True]
    assert filters.filter_mask(g, None).tolist() == [True, True, True]


def test_contains_matches_whole_items_only() -> None:
    g = pd.DataFrame({"lead": ["绿色石化化工", " 绿色石化 ", "a;绿色石化", "绿色石化；b", "x.y", "x;y"]})
    assert filters.filter_mask(g, {"lead": {"contains": "绿色石化"}}).tolist() == [False, True, True, True, False,
                                                                               False]
    assert filters.filter_mask(g, {"lead": {"contains": "x.y"}}).tolist() == [False, False, False, False, True,
                                                                            False]


@pytest.mark.parametrize(("where", "code", "words"), [
    ({"stauts": "built"}, "E-FILTER-COLUMN", "has no column 'stauts' (hint: did you mean 'status'?"),
    ({"year": "2021"}, "E-FILTER-TYPE", "holds number values, the filter gives '2021' (hint: write the number"),
    ({"year": {"contains": "2021"}}, "E-FILTER-TYPE", "contains looks for an item in text"),
    ({"flag": {">=": 1}}, "E-FILTER-TYPE", "holds bool values; >= compares numbers"),
    ({"flag": 1}, "E-FILTER-TYPE", "holds bool values, the filter gives 1"),
    ({"geometry": "x"}, "E-FILTER-TYPE", "is the geometry"),
    ({"year": {"=>": 2021}}, "E-FILTER-OPERATOR", "unknown operator '=>' (hint: did you mean '>='?"),
    ({"year": {">=": "2021"}}, "E-FILTER-VALUE", ">= compares numbers, got '2021'"),
    ({"status": []}, "E-FILTER-VALUE", "an empty list matches nothing"),
    ({"status": ["built", 2]}, "E-FILTER-VALUE", "mix number and text"),
    ({"status": {}}, "E-FILTER-FORM", "an empty operator table"),
    ({"status": {"contains": ""}}, "E-FILTER-VALUE", "contains takes text"),
])
def test_a_filter_that_does_not_fit_is_bad_input_naming_the_key(where, code: str, words: str) -> None:
    g = _parks()
    g["flag"] = g["year"].notna()
    key = "coverage 'c', key 'demand_where'"
    with pytest.raises(FilterError) as err:
        filters.filter_mask(g, where, layer="parks", key=key)
    assert err.value.code == code
    assert err.value.message.startswith(key + ": ") and words in err.value.message
    # The checks read the columns and their dtypes only: any slice of the layer (a partition, no rows) raises alike.
    with pytest.raises(FilterError) as again:
        filters.filter_mask(g.iloc[:0], where, layer="parks", key=key)
    assert again.value.message == err.value.message


def test_the_plan_reader_checks_every_filter_with_file_line_and_key(tmp_path: Path) -> None:
    text = _plan_text('{ status = "built" }').replace(
        'demand_where = { status = "built" }\n\n[[siting]]', 'demand_where = { year = { "=>" = 2021 } }\n\n[[siting]]')
    with pytest.raises(FilterError) as err:
        _read(tmp_path, text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "=>" in t)
    assert err.value.code == "E-FILTER-OPERATOR"
    assert f"plan.toml, line {line}: [[coverage]] #1, key 'demand_where': column 'year': unknown operator '=>'" \
        in err.value.message
    criteria = ('\n[[suitability]]\nid = "s"\nlayer = "parks"\n\n[[suitability.criteria]]\nkind = "slope"\n'
                'weight = 1\nbest = 0\nworst = 10\n\n[[suitability.criteria]]\nkind = "exclude"\nlayer = "parks"\n'
                'where = { lead = { contains = 5 } }\n')
    text = _plan_text('{ status = "built" }') + criteria
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "contains = 5" in t)
    with pytest.raises(FilterError, match=rf"line {line}: \[\[suitability.criteria\]\] #2, key 'where'"):
        _read(tmp_path, text)
    with pytest.raises(FilterError, match="target 't', key 'numerator'"):
        Target(id="t", layer="parks", metric="share", threshold=1, numerator={"use": {"in": ["a"]}})


def test_every_filter_is_checked_against_the_dataset_before_any_work(tmp_path: Path, monkeypatch) -> None:
    text = (_plan_text('{ status = "built" }')
            .replace("where = { status = \"built\" }\n\n[[coverage]]", "where = { stauts = \"built\" }\n\n[[coverage]]")
            .replace("demand_where = { status = \"built\" }\n\n[[siting]]",
                     "demand_where = { year = \"2021\" }\n\n[[siting]]"))
    p, ds = _read(tmp_path, text), _dataset()

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the filters were checked")

    monkeypatch.setattr(targets, "evaluate_target", no_work)
    monkeypatch.setattr(audit, "evaluate_targets", no_work)
    with pytest.raises(FilterError) as err:
        audit.run_audit(ds, p)
    message = err.value.message
    assert message.startswith("plan 'filters' does not fit dataset 'filters': 2 problems:")
    assert "rule 'apart', key 'where': layer 'parks' has no column 'stauts' (hint: did you mean 'status'?" in message
    assert "coverage 'served', key 'demand_where': layer 'parks', column 'year' holds number values" in message
    assert [pr.column for pr in err.value.problems] == ["stauts", "year"]


def test_cli_exit_2_for_a_filter_that_does_not_fit(tmp_path: Path, write_dataset) -> None:
    ds = _dataset()
    folder = write_dataset({name: ds[name].to_crs(4326).rename_axis("id").reset_index() for name in ds.names})
    bad = tmp_path / "bad.toml"
    bad.write_text(_plan_text('{ lead = { contains = "绿色石化" }, stauts = "built" }'), encoding="utf-8")
    for command in (["audit", str(folder), "--plan", str(bad), "--out", str(tmp_path / "a"), "--no-map"],
                    ["site", str(folder), "--plan", str(bad), "--out", str(tmp_path / "s"), "--no-map"],
                    ["coverage", str(folder), "--plan", str(bad), "--out", str(tmp_path / "c")]):
        r = CliRunner().invoke(main, command)
        assert r.exit_code == 2, r.output
        assert "E-FILTER-COLUMN" in r.output and "key 'where': layer 'parks' has no column 'stauts'" in r.output
        assert not (tmp_path / command[-2 if command[-1] == "--no-map" else -1]).exists()  # nothing written
    good = tmp_path / "good.toml"
    good.write_text(_plan_text('{ lead = { contains = "绿色石化" }, status = { "!=" = "planned" } }'),
                    encoding="utf-8")
    r = CliRunner().invoke(main, ["site", str(folder), "--plan", str(good), "--out", str(tmp_path / "ok"),
                                  "--no-map"])
    assert r.exit_code == 0, r.output


# --------------------------------------------------------------------------------------------------------------
# One year rule
# --------------------------------------------------------------------------------------------------------------


def test_a_layer_without_its_year_column_is_handled_alike_everywhere() -> None:
    undated = _parks().drop(columns=["year"])
    ds = _dataset(undated)
    said = "layer 'parks' has no year column 'year'"

    t = Target(id="parks", layer="parks", metric="count", threshold=1)
    (r,) = targets.evaluate_target(t, ds, year=2025)
    assert r.status == "unknown" and r.actual is None and r.note.startswith(said)

    spec = plan.CoverageSpec(id="c", demand="parks", facilities="chargers",
                             params={"distance": 100, "mode": "straight"})
    entries, _ = coverage.evaluate_coverage(spec, ds, year=2025, overlays=False)
    assert [(e["status"], e["actual"]) for e in entries] == [("unknown", None)]
    assert entries[0]["note"].startswith(said)

    with pytest.raises(MissingDataError, match=said) as err:
        optimize.site(ds, demand="parks", facilities="chargers", distance=100, k=1, candidates=ds["cands"],
                      year=2025)
    assert err.value.code == "E-DATA-YEAR"
    p = Plan(id="p", title="p", baseline=2020, horizon=2025, coverage=(spec,),
             siting=(SitingSpec(id="s", params={"coverage": "c", "k": 1, "candidates": "cands", "by": "straight"}),))
    with pytest.raises(MissingDataError, match=said):
        optimize.site_from_spec(p.siting[0], ds, p)

    # Saying that the layer has no years counts every park, in each of them.
    (r,) = targets.evaluate_target(Target(id="parks", layer="parks", metric="count", threshold=1, year_column=""),
                                   ds, year=2025)
    assert r.actual == len(undated)
    spec = plan.CoverageSpec(id="c", demand="parks", facilities="chargers",
                             params={"distance": 100, "mode": "straight", "demand_year_column": ""})
    entries, _ = coverage.evaluate_coverage(spec, ds, year=2025, overlays=False)
    assert entries[0]["sites"] == len(undated) and entries[0]["status"] == "not_met"
    p = Plan(id="p", title="p", baseline=2020, horizon=2025, coverage=(spec,),
             siting=(SitingSpec(id="s", params={"coverage": "c", "k": 1, "candidates": "cands", "by": "straight"}),))
    result, _ = optimize.site_from_spec(p.siting[0], ds, p)
    assert len(result.demand) == len(undated)


def test_the_facilities_year_column_is_the_facilities_own(tmp_path: Path) -> None:
    """Coverage and siting read each side's year: facilities of later years do not serve, undated ones always do."""
    ds = _dataset()
    near = gpd.GeoDataFrame({"type": ["charging"] * 2, "built": [2024, 2030]},
                            geometry=[Point(500_000, 3_300_050), Point(510_000, 3_300_050)], crs=NINGBO_TM,
                            index=["C1", "C2"])
    ds = Dataset.from_gdfs({"parks": ds["parks"], "chargers": near, "cands": ds["cands"]}, name="near")
    spec = plan.CoverageSpec(id="c", demand="parks", facilities="chargers",
                             params={"distance": 100, "mode": "straight", "demand_year_column": "",
                                     "facilities_year_column": "built"})
    entries, _ = coverage.evaluate_coverage(spec, ds, year=2025, overlays=False)
    assert entries[0]["covered_sites"] == 1  # C2 comes in 2030
    result = optimize.site(ds, demand="parks", facilities="chargers", distance=100, k=1, candidates=ds["cands"],
                           year=2025, demand_year_column="", facilities_year_column="built")
    assert int((result.demand["served_before"] >= 1).sum()) == 1


def test_year_rule_in_the_engines_yearly_steps() -> None:
    pts = gpd.GeoDataFrame({"kw": [1.0]}, geometry=[Point(1, 1)], crs=NINGBO_TM)
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 2, 2)], crs=NINGBO_TM)
    with pytest.raises(MissingDataError, match="layer 'points' has no year column 'year'"):
        DefaultEngine().zonal_yearly(pts, zones)


# --------------------------------------------------------------------------------------------------------------
# One definition of every metric, which both engines run
# --------------------------------------------------------------------------------------------------------------


def _metric_targets() -> tuple[Target, ...]:
    return (
        Target(id="count", layer="parks", metric="count", threshold=1, where={"lead": {"contains": "绿色石化"}}),
        Target(id="sum", layer="parks", metric="sum", column="kw", threshold=1, year_column=""),
        Target(id="tiers", layer="parks", metric="tier_count", column="out_{year}", tier="big",
               tiers={"big": 100.0, "mid": 50.0}, threshold=1, year_column=""),
        Target(id="length", layer="parks", metric="length", unit="km", threshold=1, years="each_year"),
        Target(id="area", layer="parks", metric="area", unit="ha", threshold=1, where={"status": {"!=": "planned"}}),
        Target(id="share_area", layer="parks", metric="share", unit="%", threshold=1, years="each_year",
               numerator={"status": "built"}),
        Target(id="share_kw", layer="parks", metric="share", unit="%", threshold=1, weight="kw", year_column="",
               numerator={"year": {">=": 2022}}),
        Target(id="share_none", layer="parks", metric="share", unit="%", threshold=1, weight="count",
               numerator={"status": "built"}, where={"status": "gone"}),
    )


def _metric_dataset() -> Dataset:
    """Parcels whose kw values a plain floating-point sum gets wrong (1e16 + 1 - 1e16 is 0 in float64)."""
    parks = _parks()
    parks["geometry"] = [box(p.x, p.y, p.x + 100 + i, p.y + 50 + 3 * i) for i, p in enumerate(parks.geometry)]
    parks["kw"] = [1e16, 1.0, -1e16, 0.1, 0.2, 0.3, 1e-3, 5.0, np.nan, 2.5, 1e16, -1e16]
    rng = np.random.default_rng(7)
    for year in range(2020, 2026):
        parks[f"out_{year}"] = rng.uniform(20, 160, len(parks))
    return Dataset.from_gdfs({"parks": parks}, name="metrics")


def test_a_metrics_terms_add_up_over_any_split_of_its_layer() -> None:
    ds = _metric_dataset()
    for target in _metric_targets():
        frame = targets.target_frame(target, ds)
        whole = targets.target_terms(frame, target, 2024)
        for cut in (1, 5, 11):
            parts = targets.target_terms(frame.iloc[:cut], target, 2024) + targets.target_terms(
                frame.iloc[cut:], target, 2024)
            assert parts.count == whole.count
            np.testing.assert_array_equal(parts.sums.values(), whole.sums.values())


def test_sums_are_exact() -> None:
    (r,) = targets.evaluate_target(_metric_targets()[1], _metric_dataset(), year=2025)
    assert r.actual == pytest.approx(1.0 + 0.1 + 0.2 + 0.3 + 1e-3 + 5.0 + 2.5, abs=1e-9)


@pytest.fixture(scope="module")
def dask_engine():
    pytest.importorskip("dask_geopandas")
    pytest.importorskip("distributed")
    from nbgeo.engine import DaskEngine

    with DaskEngine(n_workers=1, partition_rows=3) as engine:
        yield engine


def test_default_and_dask_engines_agree_on_every_metric(dask_engine) -> None:
    p = Plan(id="m", title="m", baseline=2020, horizon=2025, targets=_metric_targets())
    ds = _metric_dataset()
    for year in (2022, 2025):
        expected = DefaultEngine().evaluate_targets(p, ds, year=year)
        assert dask_engine.evaluate_targets(p, ds, year=year) == expected
        assert {r.metric for r in expected} == {"count", "sum", "tier_count", "length", "area", "share"}
    statuses = {r.id: r.status for r in expected}
    assert statuses.pop("share_none") == "unknown" and "unknown" not in statuses.values()
