"""The commands whose pages the reader-text tests read, once for all of them (not a test module)."""

from __future__ import annotations

from nbgeo import datasets

#: The two plans the compare page sets side by side.
PLANS = datasets.get_path("ningbo_2025"), datasets.get_path("ningbo_2035")

#: page kind → (command line without ``--out``/``--lang``, the page's file stem)
PAGES = {
    "audit": (["audit"], "audit"),
    "midterm": (["audit", "--year", "2023"], "audit"),
    "rules": (["rules"], "rules"),
    "coverage": (["coverage"], "coverage"),
    "site": (["site"], "audit"),
    "compare": (["compare", str(PLANS[0]), str(PLANS[1]), "--year", "2025"], "compare"),
}

#: (page kind, command line) of each.
COMMANDS = [(kind, args) for kind, (args, _) in PAGES.items()]
