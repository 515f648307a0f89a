from __future__ import annotations

from pathlib import Path

import pytest

from nbgeo import plan
from nbgeo.errors import PlanError

HEAD = """[plan]
id = "p"
title = "t"
baseline = 2020
horizon = 2025
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_embedded_plan_has_every_brief_target(ningbo_plan):
    ids = {t.id for t in ningbo_plan.targets}
    assert ids >= {"clusters_100bn", "clusters_50bn", "featured_parks", "micro_parks", "industrial_land_share",
                   "chargers", "smart_roads", "base_stations_5g", "future_zones"}
    assert all(t.phrase for t in ningbo_plan.targets)
    share = ningbo_plan.target("industrial_land_share")
    assert (share.metric, share.years, share.op, share.threshold) == ("share", "each_year", ">=", 35.0)
    assert ningbo_plan.target("chargers").op == ">"
    assert ningbo_plan.target("smart_roads").unit == "km"


def test_targets_are_immutable(ningbo_plan):
    t = ningbo_plan.targets[0]
    with pytest.raises(AttributeError):
        t.threshold = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        t.tiers["x"] = 1  # type: ignore[index]


def test_unknown_key_names_line_and_key(tmp_path):
    text = HEAD + '\n[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "count"\nthreshold = 5\n\n' \
        '[[targets]]\nid = "b"\nlayer = "chargers"\nmetric = "count"\nthrehsold = 5\n'
    with pytest.raises(PlanError) as exc:
        plan.read_plan(_write(tmp_path, text))
    message = str(exc.value)
    assert "line 17" in message and "'threhsold'" in message and "[[targets]] #2" in message


def test_bad_metric_names_its_line(tmp_path):
    text = HEAD + '\n[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "volume"\nthreshold = 5\n'
    with pytest.raises(PlanError, match=r"line 10.*'metric'.*count, tier_count"):
        plan.read_plan(_write(tmp_path, text))


def test_syntax_error_names_line(tmp_path):
    with pytest.raises(PlanError, match=r"line 3") as exc:
        plan.read_plan(_write(tmp_path, '[plan]\nid = "p"\ntitle = \n'))
    assert exc.value.code == "E-PLAN-SYNTAX"


def test_threshold_must_be_number(tmp_path):
    text = HEAD + '\n[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "count"\nthreshold = "many"\n'
    with pytest.raises(PlanError, match=r"line 11.*threshold.*must be a number"):
        plan.read_plan(_write(tmp_path, text))


def test_duplicate_ids_and_years(tmp_path):
    t = '\n[[targets]]\nid = "a"\nlayer = "chargers"\nmetric = "count"\nthreshold = 5\n'
    with pytest.raises(PlanError, match="duplicate target id 'a'"):
        plan.read_plan(_write(tmp_path, HEAD + t + t))
    with pytest.raises(PlanError, match="must come before"):
        plan.read_plan(_write(tmp_path, HEAD.replace("2020", "2030")))


def test_missing_file_and_not_utf8(tmp_path):
    with pytest.raises(PlanError, match="does not exist"):
        plan.read_plan(tmp_path / "nope.toml")
    bad = tmp_path / "gbk.toml"
    bad.write_bytes("[plan]\ntitle = '宁波'\n".encode("gbk"))
    with pytest.raises(PlanError, match="not UTF-8"):
        plan.read_plan(bad)


def test_rules_and_coverage_keep_their_parameters(tmp_path):
    text = HEAD + '\n[[rules]]\nid = "r"\nlayer = "micro_parks"\nkind = "exclusion"\nagainst = "constraints"\n' \
        'max_share = 0.0\n\n[[coverage]]\nid = "c"\ndemand = "micro_parks"\nfacilities = "chargers"\n' \
        'distance = 1000\nproposed = true\n'
    p = plan.read_plan(_write(tmp_path, text))
    assert p.rules[0].params == {"against": "constraints", "max_share": 0.0}
    assert p.coverage[0].params["distance"] == 1000 and p.coverage[0].proposed
