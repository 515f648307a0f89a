"""The shipped plans quote the published text of the plan's targets word for word (issue 15).

The text is read from one place, ``tests/seed_text.py``: the copy in ``tests/data`` of the project's
seed (``shared/seed/plan_targets_news_summary.txt``), a published news summary of
宁波市制造业高质量发展“十四五”规划 listing its detailed targets. The newspaper column wraps lines in the
middle of words, so the only normalisation is joining its lines; everything else (spaces, full-width
punctuation) must match exactly. ``tests/test_seed_targets.py`` checks that every quantified target of the
text is modelled, and that the copy is byte-identical to the seed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from seed_text import COPY as SEED
from seed_text import published as _published

from nbgeo import datasets, plan

PLANS = sorted(Path(datasets.__file__).parent.joinpath("plans").glob("*.toml"))
# The tables whose phrase quotes the plan itself; a [[rules]] phrase quotes a law or standard instead.
QUOTING = ("targets", "indicators", "coverage", "siting")


def _phrases(path: Path) -> list[tuple[str, str, str]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [(table, str(item["id"]), item["phrase"]) for table in QUOTING for item in data.get(table, [])
            if "phrase" in item]


def test_the_seed_copy_is_the_published_text():
    text = _published()
    assert "宁波市制造业高质量发展“十四五”规划" in text
    assert "力争形成4个千亿级、10个五百亿级重点产业集聚区" in text  # wrapped across lines in the file
    assert "力争形成4个千亿级、10个五百亿级重点产业集聚区" not in SEED.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_every_phrase_quotes_the_published_text(path):
    text = _published()
    found = _phrases(path)
    assert len(found) >= 9, "every shipped plan quotes its targets"
    wrong = [f"[[{table}]] {ident}: {phrase!r}" for table, ident, phrase in found if phrase not in text]
    assert not wrong, "phrases not in the published text:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_every_target_and_indicator_has_a_phrase(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    missing = [item["id"] for table in ("targets", "indicators") for item in data.get(table, [])
               if not item.get("phrase")]
    assert not missing


def test_the_issue_examples():
    ningbo = plan.read_plan(datasets.get_path("ningbo_2025"))
    assert ningbo.target("clusters_100bn").phrase == "力争形成4个千亿级、10个五百亿级重点产业集聚区"
    assert ningbo.target("chargers").phrase == "全市充换电设施数量突破1万个"


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_the_source_says_the_wording_is_quoted_from_a_news_summary(path):
    source = plan.read_plan(path).source
    assert "宁波市制造业高质量发展“十四五”规划" in source
    assert "quoted from a published news summary" in source
    assert "brief" not in source and "unverified" not in source
