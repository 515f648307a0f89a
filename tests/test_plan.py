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


# --------------------------------------------------------------------------------------------------------------
# Issue 14: the plan validated when it is read, every problem at once, typed per kind; a JSON Schema for editors
# --------------------------------------------------------------------------------------------------------------

MANY_WRONG = HEAD + """
[[targets]]
id = "parks"
layer = "micro_parks"
metric = "cuont"
threshold = 5

[[rules]]
id = "red_line_micro_parks"
layer = "micro_parks"
kind = "exclusion"
against = "constraints"
distnace = 100

[[rules]]
id = "spacing"
layer = "micro_parks"
kind = "spacnig"
min_distance = 500

[[rules]]
id = "setback_in_exclusion"
layer = "micro_parks"
kind = "exclusion"
against = "constraints"
distance = 100

[[coverage]]
id = "c"
demand = "micro_parks"
facilities = "chargers"
distance = 1000
treshold = 90

[[suitability]]
id = "s"
layer = "chargers"

[[suitability.criteria]]
kind = "distance"
layer = "clusters"
weight = 1
best = 0
worst = 0
"""


def _line(text: str, start: str, nth: int = 1) -> int:
    return [n for n, t in enumerate(text.splitlines(), 1) if t.startswith(start)][nth - 1]


def test_read_plan_reports_every_problem_with_file_line_key_and_suggestion(tmp_path):
    path = _write(tmp_path, MANY_WRONG)
    with pytest.raises(PlanError) as caught:
        plan.read_plan(path)
    problems = caught.value.problems
    assert all(isinstance(p, plan.PlanProblem) and p.file == str(path) for p in problems)
    found = {(p.table, p.index, p.key, p.line): p for p in problems}
    text = MANY_WRONG
    assert ("targets", 0, "metric", _line(text, "metric")) in found
    assert "did you mean 'count'" in found["targets", 0, "metric", _line(text, "metric")].message
    typo = found["rules", 0, "distnace", _line(text, "distnace")]
    assert "did you mean 'distance'?" in typo.message and typo.code == "E-PLAN-KEY"
    kind = found["rules", 1, "kind", _line(text, 'kind = "spacnig"')]
    assert "did you mean 'spacing'?" in kind.message
    other_kind = found["rules", 2, "distance", _line(text, "distance = 100")]
    assert "unknown key for kind 'exclusion' (a key of setback)" in other_kind.message
    assert "did you mean 'threshold'?" in found["coverage", 0, "treshold", _line(text, "treshold")].message
    criterion = found["suitability.criteria", 0, None, _line(text, "[[suitability.criteria]]")]
    assert "best and worst must differ" in criterion.message
    assert len(problems) == 6
    # the message lists them all, each on its line
    assert str(caught.value).startswith(f"{path}: 6 problems:")
    assert problems[0].to_dict()["line"] == _line(text, "metric")


def test_every_problem_ends_in_exit_2_through_the_cli(tmp_path):
    from click.testing import CliRunner

    from nbgeo.cli import main

    path = _write(tmp_path, MANY_WRONG)
    result = CliRunner().invoke(main, ["rules", "--plan", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "6 problems" in result.stderr
    assert f"line {_line(MANY_WRONG, 'distnace')}: [[rules]] #1, key 'distnace'" in result.stderr
    assert "did you mean 'distance'?" in result.stderr and "did you mean 'spacing'?" in result.stderr
    assert not (tmp_path / "out").exists() and "Traceback" not in result.output


def test_a_rule_key_of_another_kind_is_refused_when_read_not_when_evaluated(tmp_path):
    text = HEAD + ('\n[[rules]]\nid = "r"\nlayer = "micro_parks"\nkind = "spacing"\nmin_distance = 500\n'
                   'max_distance = 100\n')
    with pytest.raises(PlanError, match=r"line 12: \[\[rules\]\] #1, key 'max_distance': unknown key for kind "
                                        r"'spacing' \(a key of access, within\)") as caught:
        plan.read_plan(_write(tmp_path, text))
    assert caught.value.code == "E-PLAN-KEY"


def test_specs_arrive_typed_and_checked(tmp_path):
    from nbgeo.errors import RuleError
    from nbgeo.plan import models

    with pytest.raises(RuleError, match="key 'min_distance': must be a distance in metres") as caught:
        plan.RuleSpec("r", "parks", "spacing", {"min_distance": float("nan")})
    assert caught.value.code == "E-RULE-VALUE"
    with pytest.raises(PlanError, match="target 't', key 'since': must be a year") as caught:
        plan.Target(id="t", layer="parks", metric="count", threshold=1, since=True)
    assert caught.value.code == "E-PLAN-TARGET"
    # the tables coverage, siting and suitability read from the plan, checked by their models
    assert [i.key for i in models.issues("coverage", {"id": "c", "demand": "a", "facilities": "b",
                                                      "distance": -1})] == ["distance"]
    assert [i.message for i in models.issues("siting", {"id": "s", "k": 2.5})] == [
        "must be a number of sites from 0 to 100,000, got 2.5 (a number)"]
    assert [i.message for i in models.issues("suitability", {"id": "s", "layer": "chargers"})] == [
        "missing key 'criteria'"]


def test_the_json_schema_is_generated_shipped_and_printed(tmp_path):
    import json
    from importlib.resources import files

    from click.testing import CliRunner

    from nbgeo.cli import main
    from nbgeo.plan import models

    shipped = files("nbgeo").joinpath("schemas/plan.schema.json").read_text(encoding="utf-8")
    assert shipped == models.plan_json_schema(), "regenerate: nbgeo schema plan > nbgeo/schemas/plan.schema.json"
    result = CliRunner().invoke(main, ["schema", "plan"])
    assert result.exit_code == 0 and result.output == shipped
    schema = json.loads(shipped)
    rules = schema["properties"]["rules"]["items"]
    assert rules["discriminator"]["propertyName"] == "kind"
    assert set(rules["discriminator"]["mapping"]) == set(models.RULE_KINDS)
    spacing = schema["$defs"]["SpacingRule"]
    assert spacing["additionalProperties"] is False and "distance" not in spacing["properties"]
    assert spacing["properties"]["min_distance"]["maximum"] == 1e6


def test_the_schema_accepts_the_shipped_plans_and_their_keys():
    import tomllib

    from nbgeo import datasets
    from nbgeo.plan import models

    for name in ("ningbo_2025", "ningbo_2035"):
        data = tomllib.loads(Path(datasets.get_path(name)).read_text(encoding="utf-8"))
        models.PlanFileModel.model_validate(data)


# --------------------------------------------------------------------------------------------------------------
# The plan against the dataset, before any work
# --------------------------------------------------------------------------------------------------------------


def _sample_plan_with(tmp_path: Path, *changes: tuple[str, str, int]) -> tuple[Path, str]:
    """The sample plan with the n-th occurrence of each text replaced."""
    from nbgeo import datasets

    text = Path(datasets.get_path("ningbo_2025")).read_text(encoding="utf-8")
    for old, new, nth in changes:
        parts = text.split(old)
        assert len(parts) > nth, old
        text = old.join(parts[:nth]) + new + old.join(parts[nth:])
    return _write(tmp_path, text), text


MISMATCHES = (('layer = "clusters"', 'layer = "cluster"', 1), ('dem = "dem"', 'dem = "dme"', 1),
              ('column = "output_{year}"', 'column = "ouptut_{year}"', 2))


def test_every_name_the_dataset_lacks_is_bad_input_with_line_and_suggestion(tmp_path):
    from nbgeo import io

    path, text = _sample_plan_with(tmp_path, *MISMATCHES)
    p = plan.read_plan(path)
    with pytest.raises(PlanError) as caught:
        plan.check_against(p, io.read_sample())
    problems = {(q.code, q.key): q for q in caught.value.problems}
    assert set(problems) == {("E-PLAN-LAYER", "layer"), ("E-PLAN-RASTER", "dem"), ("E-PLAN-COLUMN", "column")}
    layer = problems["E-PLAN-LAYER", "layer"]
    assert layer.line == _line(text, 'layer = "cluster"') and "did you mean 'clusters'?" in layer.message
    assert "did you mean 'dem'?" in problems["E-PLAN-RASTER", "dem"].message
    assert "did you mean 'output_2025'?" in problems["E-PLAN-COLUMN", "column"].message
    assert caught.value.code == "E-PLAN-LAYER" and "3 problems" in str(caught.value)


def test_a_layer_the_dataset_lacks_ends_in_exit_2_before_any_work(tmp_path):
    from click.testing import CliRunner

    from nbgeo.cli import main

    path, text = _sample_plan_with(tmp_path, MISMATCHES[0])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", "--plan", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output  # it was 1: the target read 'unknown'
    assert "E-PLAN-LAYER" in result.stderr and "did you mean 'clusters'?" in result.stderr
    line = _line(text, 'layer = "cluster"')
    assert f"line {line}: [[targets]] #1, key 'layer'" in result.stderr
    assert not out.exists()


def test_the_shipped_plans_fit_the_sample():
    from nbgeo import datasets, io

    ds = io.read_sample()
    for name in ("ningbo_2025", "ningbo_2035"):
        plan.check_against(plan.read_plan(datasets.get_path(name)), ds)
    for path in sorted(Path(__file__).parents[1].glob("data/plans/*.toml")):
        plan.check_against(plan.read_plan(path), ds)


def test_a_siting_question_naming_a_missing_coverage_id_is_refused_when_read(tmp_path):
    path, text = _sample_plan_with(tmp_path, ('coverage = "micro_parks_chargers_1km"', 'coverage = "micro_parks_charger_1km"', 1))
    with pytest.raises(PlanError) as caught:
        plan.read_plan(path)
    assert caught.value.code == "E-PLAN-REF"
    assert f"line {_line(text, 'coverage = ' + chr(34) + 'micro_parks_charger_1km')}: [[siting]] #1, key 'coverage'" \
        in str(caught.value) and "did you mean 'micro_parks_chargers_1km'?" in str(caught.value)
