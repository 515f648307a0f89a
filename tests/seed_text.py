"""The published text of the plan's targets, read from one place for every test.

``tests/data/plan_targets_news_summary.txt`` is a byte-for-byte copy of the project's seed text
(``shared/seed/plan_targets_news_summary.txt`` beside the clone): a published news summary of
宁波市制造业高质量发展“十四五”规划 listing its detailed targets. The tests read the copy, so they run
where ``shared`` is not beside the clone (CI); :func:`shared_seed` finds the original, when it is
there, so a test can check that the copy has not drifted from it.
"""

from __future__ import annotations

from pathlib import Path

NAME = "plan_targets_news_summary.txt"
#: The copy every test reads.
COPY = Path(__file__).parent / "data" / NAME


def published() -> str:
    """The text, its lines joined: the newspaper column wraps lines in the middle of words.

    Nothing else is normalised: spaces and full-width punctuation must match exactly.
    """
    return COPY.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\n", "")


def shared_seed() -> Path | None:
    """The project's seed file (``shared/seed/`` in a folder above the clone), or None when it is not there."""
    for folder in Path(__file__).resolve().parents[1].parents:
        candidate = folder / "shared" / "seed" / NAME
        if candidate.is_file():
            return candidate
    return None
