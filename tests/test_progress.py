"""Progress per year: the path, the flags on hand-made histories, and the sample as a planner sees it in 2023."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point

from nbgeo import datasets, plan, progress
from nbgeo.errors import InputError, PlanError
from nbgeo.layers import Dataset
from nbgeo.plan import IndicatorSpec, Target
from nbgeo.progress import assess, required_path
from nbgeo.renderers import readable
from nbgeo.renderers.html import safe_text

SAMPLE = datasets.get_path("ningbo")
#: The sample plan's targets and indicators before issue 15 added the rest of the published text's.
FIRST_13 = ("clusters_100bn", "clusters_50bn", "featured_parks", "micro_parks", "industrial_land_share", "chargers",
            "smart_roads", "base_stations_5g", "future_zones", "rd_share", "high_tech_firms", "single_champions",
            "green_factories")
HEAD = '[plan]\nid = "p"\ntitle = "t"\nbaseline = 2020\nhorizon = 2025\n'


def more(threshold: float = 100, **kw) -> Target:
    return Target(id="t", layer="chargers", metric="count", threshold=threshold, **kw)


def run(goal, values, as_of=2023, **kw):
    return assess(goal, values, baseline=2020, deadline=2025, as_of=as_of, **kw)


# ---- the path ------------------------------------------------------------------------------------


def test_linear_path_from_baseline_value():
    assert required_path(2020, 20, 2025, 100) == {2020: 20, 2021: 36, 2022: 52, 2023: 68, 2024: 84, 2025: 100}


def test_path_through_milestones():
    path = required_path(2020, 0, 2025, 100, {2022: 10, 2024: 90})
    assert path == {2020: 0, 2021: 5, 2022: 10, 2023: 50, 2024: 90, 2025: 100}
    # Milestones outside the open interval are ignored by the path itself.
    assert required_path(2020, 0, 2025, 100, {2019: 50, 2025: 1}) == required_path(2020, 0, 2025, 100)


def test_path_downwards():
    assert required_path(2020, 100, 2025, 80)[2023] == pytest.approx(88)


# ---- flags on hand-made histories ----------------------------------------------------------------


def test_ahead_of_path_is_on_track():
    p = run(more(), {2020: 20, 2021: 40, 2022: 55, 2023: 70})
    assert p.status == "on_track"
    assert (p.actual, p.expected, p.gap) == (70, 68, 2)
    assert p.ratio == pytest.approx(50 / 48)
    assert p.needed_per_year == pytest.approx(15)  # 30 to go in 2 years
    assert p.achieved_per_year == pytest.approx(50 / 3)
    assert [h.status for h in p.history] == ["baseline", "on_track", "on_track", "on_track", "", ""]
    assert [h.expected for h in p.history] == [20, 36, 52, 68, 84, 100]


def test_exactly_on_path_is_on_track():
    assert run(more(), {2020: 20, 2023: 68}).status == "on_track"


def test_slightly_behind_is_at_risk():
    # 65 against 68: 45 of the 48 required since 2020 (93.75 %), within the 10 % shortfall.
    p = run(more(), {2020: 20, 2021: 36, 2022: 60, 2023: 65})
    assert p.status == "at_risk"
    assert p.ratio == pytest.approx(45 / 48)
    assert p.projected == pytest.approx(75)  # last year +5: 65 + 2 * 5 does not reach 100


def test_shortfall_boundary():
    # ratio exactly 0.9: 20 + 0.9 * 48 = 63.2
    assert run(more(), {2020: 20, 2022: 63.2, 2023: 63.2}).status == "at_risk"
    assert run(more(), {2020: 20, 2022: 63.1, 2023: 63.1}).status == "off_track"
    assert run(more(), {2020: 20, 2022: 63.2, 2023: 63.2}, shortfall=0.05).status == "off_track"


def test_far_behind_and_slow_is_off_track():
    p = run(more(), {2020: 20, 2021: 30, 2022: 40, 2023: 50})
    assert p.status == "off_track"
    assert p.ratio == pytest.approx(30 / 48)
    assert p.projected == pytest.approx(70)
    assert "behind the path 68" in p.note and "70 by 2025" in p.note


def test_far_behind_but_last_year_fast_enough_is_at_risk():
    # 55 against 68 (73 % of the progress required), but +25 last year reaches 105 by 2025.
    p = run(more(), {2020: 20, 2021: 25, 2022: 30, 2023: 55})
    assert p.ratio < 0.9
    assert p.projected == pytest.approx(105)
    assert p.status == "at_risk"


def test_strict_operator_needs_more_than_the_threshold_at_the_deadline():
    t = more(op=">")
    assert run(t, {2020: 0, 2025: 100}, as_of=2025).status == "missed"
    assert run(t, {2020: 0, 2025: 101}, as_of=2025).status == "met"


def test_deadline_gives_met_or_missed_and_later_years_are_ignored():
    history = {2020: 20, 2021: 40, 2022: 60, 2023: 80, 2024: 90, 2025: 99, 2026: 150}
    p = run(more(), history, as_of=2027)
    assert p.status == "missed" and p.actual == 99
    assert run(more(), {**history, 2025: 100}, as_of=2025).status == "met"


def test_no_peeking_at_later_years():
    early = {2020: 20, 2021: 30, 2022: 40, 2023: 50}
    with_future = {**early, 2024: 99, 2025: 120}
    assert run(more(), with_future).to_dict() == run(more(), early).to_dict()


def test_flags_per_year_are_what_each_year_saw():
    p = run(more(), {2020: 20, 2021: 40, 2022: 45, 2023: 75}, as_of=2023)
    # 2022: 45 vs 52, 25 of 32 required (78 %), and +5 last year → 55 by 2025: off track then.
    assert [h.status for h in p.history[:4]] == ["baseline", "on_track", "off_track", "on_track"]


def test_lower_is_better_target():
    t = Target(id="energy", layer="chargers", metric="count", op="<=", threshold=80)
    assert run(t, {2020: 100, 2023: 87}).status == "on_track"  # path 88
    behind = run(t, {2020: 100, 2022: 96, 2023: 95})  # 5 of 12 required
    assert behind.status == "off_track" and behind.ratio == pytest.approx(5 / 12)
    assert run(t, {2020: 100, 2025: 80}, as_of=2025).status == "met"


def test_milestones_set_the_pace():
    linear = run(more(), {2020: 0, 2023: 55})
    assert linear.expected == 60 and linear.status == "at_risk"
    paced = run(more(milestones={2023: 40}), {2020: 0, 2023: 55})
    assert paced.pace == "milestones" and paced.expected == 40 and paced.status == "on_track"
    strict = run(more(milestones={2022: 70}), {2020: 0, 2021: 45, 2022: 50}, as_of=2022)
    assert strict.expected == 70 and strict.status == "off_track"


def test_unknown_value_is_no_data_with_the_reason():
    p = run(more(), {2020: 20, 2021: 30, 2022: None, 2023: None}, notes={2022: "layer missing", 2023: "gone"})
    assert p.status == "no_data" and p.note == "gone"
    assert [h.status for h in p.history[:4]] == ["baseline", "off_track", "no_data", "no_data"]


def test_missing_baseline_starts_the_path_later():
    p = run(more(), {2020: None, 2021: 40, 2022: 50, 2023: 70})
    assert p.history[1].status == "baseline" and p.history[0].expected is None
    assert p.expected == pytest.approx(40 + 60 * 2 / 4)
    assert "path starts at 2021" in p.note


def test_nothing_known():
    p = run(more(), {2020: None, 2021: None}, notes={2021: "dataset has no layer 'chargers'"})
    assert p.status == "no_data" and "no layer" in p.note


def test_before_baseline_is_an_error_and_baseline_year_is_the_start():
    with pytest.raises(InputError, match="before the plan's baseline"):
        run(more(), {2020: 1}, as_of=2019)
    assert run(more(), {2020: 20}, as_of=2020).status == "baseline"


# ---- each_year targets ---------------------------------------------------------------------------


def share(**kw) -> Target:
    return Target(id="share", layer="land_transfers", metric="share", numerator={"use": "industrial"}, op=">=",
                  threshold=35, unit="%", years="each_year", **kw)


def test_each_year_judged_per_year():
    p = run(share(), {2020: None, 2021: 38.5, 2022: 40.2, 2023: 31.0}, as_of=2023)
    assert [h.status for h in p.history] == ["baseline", "on_track", "on_track", "off_track", "", ""]
    assert p.status == "off_track" and p.missed_years == (2023,)
    assert p.pace == "each_year" and p.ratio is None
    assert "missed in 2023 (31 %)" in p.note


def test_each_year_stays_off_track_after_a_missed_year_and_ends_missed():
    values = {2021: 38.5, 2022: 40.2, 2023: 31.0, 2024: 37.6, 2025: 39.0}
    in_2024 = run(share(), values, as_of=2024)
    assert in_2024.history[4].status == "on_track"  # 2024 itself was fine
    assert in_2024.status == "off_track"
    assert run(share(), values, as_of=2025).status == "missed"


def test_each_year_close_to_threshold_is_at_risk():
    p = run(share(), {2021: 40, 2022: 36}, as_of=2022)  # margin 1 < 5 % of 35
    assert p.history[2].status == "at_risk" and p.status == "at_risk"
    assert run(share(), {2021: 40, 2022: 36}, as_of=2022, band=0.01).status == "on_track"


def test_each_year_all_met_at_horizon():
    values = dict.fromkeys(range(2021, 2026), 40.0)
    assert run(share(), values, as_of=2025).status == "met"
    assert run(share(), {**values, 2024: None}, as_of=2025).status == "no_data"


# ---- properties ----------------------------------------------------------------------------------

RANK = {"on_track": 0, "at_risk": 1, "off_track": 2}


@settings(max_examples=150, deadline=None)
@given(start=st.floats(0, 1000), gain=st.floats(1, 1000), steps=st.lists(st.floats(0, 300), min_size=3, max_size=3),
       bump=st.floats(0, 500))
def test_more_is_never_worse(start, gain, steps, bump):
    """For a target that asks for more, a higher value this year never gives a worse flag."""
    t = more(threshold=start + gain)
    values = {2020: start}
    for i, step in enumerate(steps, start=2021):
        values[i] = values[i - 1] + step
    low = run(t, values)
    high = run(t, {**values, 2023: values[2023] + bump})
    assert RANK[high.status] <= RANK[low.status]
    if values[2023] >= low.expected:
        assert low.status == "on_track"


# ---- plans, the sample, snapshots ----------------------------------------------------------------


def test_milestones_in_plan_file(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(HEAD + '\n[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "count"\nthreshold = 5\n'
                    "milestones = { 2022 = 2, 2024 = 4 }\n", encoding="utf-8")
    assert dict(plan.read_plan(path).target("a").milestones) == {2022: 2.0, 2024: 4.0}
    path.write_text(HEAD + '\n[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "count"\nthreshold = 5\n'
                    "milestones = { 2025 = 4 }\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"line 12.*'milestones'.*2025 lies outside the plan period"):
        plan.read_plan(path)
    with pytest.raises(PlanError, match="milestone key 'soon' is not a year"):
        more(milestones={"soon": 3})


def test_milestones_checked_when_plan_is_built_in_code():
    with pytest.raises(PlanError, match="2019 lies outside"):
        plan.Plan(id="p", title="t", baseline=2020, horizon=2025, targets=(more(milestones={2019: 1}),))


def test_sample_as_a_planner_sees_it_in_2023(sample, ningbo_plan):
    entries = progress.track(ningbo_plan, sample, as_of=2023)
    status = {e.id: e.status for e in entries}
    assert {k: status[k] for k in FIRST_13} == {
        "clusters_100bn": "off_track", "clusters_50bn": "at_risk", "featured_parks": "on_track",
        "micro_parks": "on_track", "industrial_land_share": "off_track", "chargers": "on_track",
        "smart_roads": "on_track", "base_stations_5g": "on_track", "future_zones": "on_track",
        "rd_share": "at_risk", "high_tech_firms": "on_track", "single_champions": "on_track",
        "green_factories": "off_track",
    }
    # The targets of issue 15: planted shortfalls seen in 2023 (9 projects of 100 亿元 in 2023; 92 core
    # technologies in 2021), cumulative indicators paced from 0 (5 national clusters: 1 + 2 + 1 = 4 by 2023,
    # ahead of the path's 3).
    assert (status["projects_100bn"], status["core_technologies"], status["national_clusters"]) == \
        ("off_track", "off_track", "on_track")
    # Every indicator's values are the ones its words say, computed again from the CSV with pandas.
    csv = pd.read_csv(SAMPLE / "indicators.csv", comment="#", index_col="year").loc[2020:2023]
    for spec in ningbo_plan.indicators:
        column = csv[spec.column]
        values = column.where(column.index > 2020, 0).cumsum() if spec.years == "cumulative" else column
        alone = assess(spec, values.to_dict(), baseline=2020, deadline=2025, as_of=2023, kind="indicator")
        assert alone.status == status[spec.id], spec.id
    by_id = {e.id: e for e in entries}
    chargers = by_id["chargers"]
    assert (chargers.baseline_value, chargers.actual, chargers.expected) == (2300, 7300, pytest.approx(6920))
    assert by_id["clusters_50bn"].ratio == pytest.approx(4 / 4.2)
    assert by_id["industrial_land_share"].missed_years == (2023,)
    assert [e.kind for e in entries] == ["target"] * len(ningbo_plan.targets) + ["indicator"] * 48
    text = json.dumps([e.to_dict() for e in entries], allow_nan=False)  # valid JSON
    assert '"status": "at_risk"' in text


def test_sample_at_the_horizon(sample, ningbo_plan):
    status = {e.id: e.status for e in progress.track(ningbo_plan, sample, as_of=2025)}
    missed = sorted(k for k, v in status.items() if v == "missed")
    # The first three since the sample was made; the others are the illustrative values of issue 15 that
    # miss in 2025 (README of the sample), and the each-year targets that missed a year.
    assert missed == sorted([
        "clusters_100bn", "green_factories", "industrial_land_share",
        "projects_100bn", "projects_10bn_manufacturing", "core_technologies",
        "rd_spending_index", "provincial_tech_centres", "firms_100bn", "new_listed_firms", "fangshui_tax_index",
        "industrial_internet_coverage", "digital_core_share", "zhejiang_made_standards", "china_quality_award",
        "big_strong_firms_index", "single_champions_index", "fdi_index"])
    assert set(status.values()) == {"met", "missed"}


def test_snapshot_replaces_the_year_columns(sample):
    t = Target(id="ch", layer="chargers", metric="count", threshold=10, year_column="")
    snap = Dataset.from_gdfs({"chargers": gpd.GeoDataFrame(geometry=[Point(121.5, 29.9)] * 3, crs=4326)})
    values, _ = progress.target_history(t, sample, [2021, 2022], snapshots={2022: snap})
    assert values == {2021: 10600.0, 2022: 3.0}


def test_track_refuses_snapshot_outside_period(sample, ningbo_plan):
    with pytest.raises(InputError, match="snapshot year 2030"):
        progress.track(ningbo_plan, sample, as_of=2023, snapshots={2030: sample})


def test_indicator_goal_is_assessed_like_a_target():
    i = IndicatorSpec(id="rd", threshold=2.8, unit="%")
    p = assess(i, {2020: 2.2, 2022: 2.4, 2023: 2.5}, baseline=2020, deadline=2025, as_of=2023, kind="indicator")
    assert p.kind == "indicator" and p.status == "off_track"  # 0.3 of 0.36 (83 %), +0.1 a year → 2.7


def test_to_text_lists_every_target_and_counts(sample, ningbo_plan):
    entries = progress.track(ningbo_plan, sample, as_of=2023)
    text = progress.to_text(entries)
    assert "progress as of 2023 towards 2025" in text
    assert all(f"\n{e.id} " in text for e in entries)
    first = progress.to_text([e for e in entries if e.id in FIRST_13])
    assert first.splitlines()[-1] == "8 on track, 2 at risk, 3 off track"
    counts = {s: sum(e.status == s for e in entries) for s in progress.STATUSES}
    assert text.splitlines()[-1] == ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n)


def test_2035_plan_is_marked_assumed_and_paced_through_the_2025_targets(ningbo_plan, sample):
    p35 = plan.read_plan(datasets.get_path("ningbo_2035"))
    assert (p35.baseline, p35.horizon) == (2020, 2035)
    assert "illustrative" in p35.title_en and "assumed" in p35.source
    goals = [*p35.targets, *p35.indicators]
    assert all(g.proposed and ("assumed" in g.title) for g in goals)
    by_2025 = {g.id: g for g in [*ningbo_plan.targets, *ningbo_plan.indicators]}
    # The 2035 plan carries on the 13 targets it was written for; the ones added with issue 15 have no
    # assumed 2035 value.
    assert {g.id for g in goals} == set(FIRST_13)
    for g in goals:
        if g.years in ("cumulative", "horizon"):
            assert dict(g.milestones) == {2025: by_2025[g.id].threshold}
            assert g.threshold > by_2025[g.id].threshold
    entries = {e.id: e for e in progress.track(p35, sample, as_of=2025)}
    # On the 2035 path the 2025 milestone is the 2025 threshold.
    assert entries["chargers"].expected == 10000 and entries["chargers"].status == "on_track"
    assert {k for k, e in entries.items() if e.status == "off_track"} == {
        "clusters_100bn", "industrial_land_share", "green_factories"}


# ---- the command line ----------------------------------------------------------------------------


def test_cli_audit_2023_prints_and_writes_the_progress(tmp_path):
    from click.testing import CliRunner

    from nbgeo.cli import main

    result = CliRunner().invoke(main, ["audit", "--year", "2023", "--out", str(tmp_path), "--no-map"])
    assert result.exit_code == 1, result.output  # the 2025 thresholds are not met in 2023
    assert "progress as of 2023 towards 2025" in result.output
    data = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    counts = {s: sum(e["status"] == s for e in data["progress"]) for s in progress.STATUSES}
    assert ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n) in result.output
    assert data["summary"]["progress"] == {s: n for s, n in counts.items() if n}
    assert len(data["progress"]) == 14 + 48
    met = sum(r["status"] == "met" for r in data["indicators"])
    assert f"indicators 2023: {met} of {len(data['indicators'])} met" in result.output
    assert {r["id"]: r["status"] for r in data["indicators"] if r["id"] in FIRST_13} == dict.fromkeys(
        ("rd_share", "high_tech_firms", "single_champions", "green_factories"), "not_met")
    entry = next(e for e in data["progress"] if e["id"] == "clusters_50bn")
    assert [h["status"] for h in entry["history"]] == ["baseline", "off_track", "off_track", "at_risk", "", ""]
    page = (tmp_path / "audit.html").read_text(encoding="utf-8")
    assert "有风险 · 2023" in page  # the report is in Chinese by default
    # A chart per entry (an each-year indicator's chart is drawn again by each of its yearly rows).
    # Each chart is named by its entry's title in the reader's language (the id is a key for audit.json), as the
    # page escapes it: on this Chinese page the plan's own phrase where the entry quotes one (issue 16).
    def zh_name(e: dict) -> str:
        return e.get("title_zh") or e["phrase"] or e["title"] or readable.words(e["id"], "zh")

    assert sum(bool(e["phrase"]) and e["phrase"] != e["title"] for e in data["progress"]) >= 14
    assert all(f"role='img' aria-label='{safe_text(zh_name(e))}: " in page for e in data["progress"])
    assert page.count("<svg class='nbgeo-chart'") >= len(data["progress"])  # the report is in Chinese by default


def test_cli_audit_without_progress(tmp_path):
    from click.testing import CliRunner

    from nbgeo.cli import main

    result = CliRunner().invoke(main, ["audit", "--no-progress", "--out", str(tmp_path), "--no-map"])
    assert result.exit_code == 1 and "progress as of" not in result.output
    assert "progress" not in json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))


def test_cli_audit_with_a_snapshot(tmp_path):
    import shutil

    from click.testing import CliRunner

    from nbgeo import datasets
    from nbgeo.cli import main

    snap = tmp_path / "zones_2022"
    shutil.copytree(datasets.get_path("ningbo"), snap)
    zones = gpd.read_file(snap / "future_zones.geojson")
    zones.iloc[:1].to_file(snap / "future_zones.geojson", driver="GeoJSON")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", "--year", "2023", "--snapshot", f"2022={snap}", "--out", str(out),
                                       "--no-map"])
    assert result.exit_code == 1, result.output
    data = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    history = next(e for e in data["progress"] if e["id"] == "future_zones")["history"]
    assert [h["actual"] for h in history[:4]] == [0, 1, 1, 4]  # 2022 from the snapshot, the rest from the years


@pytest.mark.parametrize(("args", "message"), [
    (["--snapshot", "2022"], "is not YEAR=DATASET"),
    (["--snapshot", "2022=a", "--snapshot", "2022=b"], "two snapshots for 2022"),
    (["--snapshot", "2022={sample}", "--no-progress"], "drop --no-progress"),
    (["--snapshot", "2031={sample}"], "E-PROGRESS-YEAR"),
])
def test_cli_audit_bad_snapshots_exit_2(tmp_path, args, message):
    from click.testing import CliRunner

    from nbgeo import datasets
    from nbgeo.cli import main

    args = [a.format(sample=datasets.get_path("ningbo")) for a in args]
    result = CliRunner().invoke(main, ["audit", *args, "--out", str(tmp_path / "o"), "--no-map"])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "o").exists()
