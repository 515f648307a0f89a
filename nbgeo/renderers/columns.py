"""Which columns each section table of a page shows, and which fold under each row.

A section's entries can carry twenty keys (a coverage requirement: its phrase, weights, network, ...); a table
of all of them is wider than a screen and pushes what a planner reads first off it. Each section names the
columns a planner reads first; the other values of an entry are listed in a folded "more columns" under its row,
and every value stays in the JSON.

Examples
--------
>>> split_columns("rules", ["status", "id", "layer", "kind", "checked", "failed", "note"])
(['status', 'id', 'layer', 'kind', 'checked', 'failed'], ['note'])
"""

from __future__ import annotations

__all__ = ["MAX_COLUMNS", "PLANNER_COLUMNS", "split_columns"]

#: The columns a planner reads first in each section's table; the others fold into each row's details.
#: An entry with a title shows it instead of its id (the id is the title's tooltip: entries.section_layout).
PLANNER_COLUMNS: dict[str, tuple[str, ...]] = {
    "coverage": ("status", "severity", "id", "title", "basis", "layer", "actual", "threshold", "margin", "facilities",
                 "distance_m", "sites", "covered_sites"),
    "rules": ("status", "id", "title", "layer", "kind", "severity", "basis", "checked", "failed", "unknown"),
    # the data column an indicator reads is for the analyst (folded under the row, and in the JSON)
    "indicators": ("status", "severity", "id", "title", "basis", "years", "year", "actual", "threshold", "unit",
                   "margin"),
}
#: The most columns a section table shows when its section has no planner's list.
MAX_COLUMNS = 10


def split_columns(name: str, columns: list[str]) -> tuple[list[str], list[str]]:
    """The columns shown in a section's table, and those folded into each row's details (in page order).

    Examples
    --------
    >>> split_columns("coverage", ["status", "id", "phrase", "actual", "weight"])
    (['status', 'id', 'actual'], ['phrase', 'weight'])
    >>> split_columns("other", [str(i) for i in range(12)])[1]
    ['10', '11']
    """
    wanted = PLANNER_COLUMNS.get(name)
    if wanted is None:
        return columns[:MAX_COLUMNS], columns[MAX_COLUMNS:]
    shown = [k for k in wanted if k in columns]
    return shown, [k for k in columns if k not in shown]
