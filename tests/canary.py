"""Hostile text for the canary suite (tests/test_html_safety.py and tests/test_browser.py).

Every payload is put into every text slot a map or report has, tagged with the
slot's name (``"<payload> #value"``), so a test can check each slot on its
own: nothing evaluated (in Python or in the browser) and every text still
readable as the same characters.
"""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
from shapely import Point, box

from nbgeo import audit
from nbgeo.layers import Dataset, Layer, LayerMeta
from nbgeo.plan import Plan, Target

PID = os.getpid()

#: Hostile payloads: HTML tags and attributes, script breakouts, JS template literals and backticks,
#: Jinja expressions, statements and comments, javascript: URLs, CSS, markup sections, RTL and BOM.
PAYLOADS: list[str] = [
    "<script>globalThis.PWNED='script'</script>",
    "</script><script>globalThis.PWNED='breakout'</script>",
    "<img src=x onerror=\"globalThis.PWNED='img'\">",
    "<svg onload=globalThis.PWNED='svg'>",
    "\"><img src=x onerror=globalThis.PWNED='attr-dq'>",
    "'><img src=x onerror=globalThis.PWNED='attr-sq'>",
    "${globalThis.PWNED='template-literal'}",
    "`;globalThis.PWNED='backtick';`",
    "CANARY{{7*7}}",
    "PIDX{{ cycler.__init__.__globals__.os.getpid() }}",
    "{% if true %}JINJA-IF-EVALUATED{% endif %}",
    "before{# jinja comment #}after",
    "{% if %}",
    "{{{what a mess}}}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config }}{{ self }}",
    "javascript:globalThis.PWNED='js-url'",
    "<a href=\"javascript:globalThis.PWNED='link'\">click</a>",
    "<iframe src=\"javascript:globalThis.PWNED='iframe'\"></iframe>",
    "<style>body{display:none}</style>",
    "width:expression(globalThis.PWNED='css')",
    "</style><script>globalThis.PWNED='style-breakout'</script>",
    "<!-- comment --><![CDATA[x]]>",
    "]]><script>globalThis.PWNED='cdata'</script>",
    "<b onmouseover=globalThis.PWNED='hover'>hover</b>",
    "' || (globalThis.PWNED='quote') || '",
    "\u202egnp.exe",
    "\ufeffBOM at start",
    "&lt;already escaped&gt; &amp; &#36;",
    "back\\slash \\u0041 \\x41",
    "line\u2028separator\u2029para",
    "%s %d {0} {name}",
    "<template><script>globalThis.PWNED='template'</script></template>",
    "data:text/html,<script>globalThis.PWNED='data-url'</script>",
    "x|y *z* [l](javascript:alert(1)) _u_ ~s~",
    "宁波<b>粗体</b>「引号」",
]

#: Text that must never appear in any output: what the Jinja payloads would print if they ran.
EVALUATED = ("CANARY49", f"PIDX{PID}", "JINJA-IF-EVALUATED #", "beforeafter", "<class '", "TemplateReference")

#: The text slots a map or report has.
MAP_SLOTS = ("value", "column", "id", "layer", "legend", "overlay", "label", "title", "phrase", "unit", "source",
             "dataset", "section")
REPORT_SLOTS = ("title", "phrase", "target_title", "unit", "note", "section", "section_key", "section_value",
                "source", "licence", "layer", "dataset")
MD_SLOTS = ("title", "phrase", "unit", "section", "source", "licence", "layer")


def tagged(payload: str, slot: str) -> str:
    """The payload as placed in ``slot``."""
    return f"{payload} #{slot}"


def hostile_report() -> audit.AuditReport:
    """An audit whose every text slot holds every payload (tagged with the slot)."""
    layers: dict[str, Layer] = {}
    targets = []
    overlays: dict[str, gpd.GeoDataFrame] = {}
    sections: dict[str, list[dict[str, Any]]] = {}
    for i, p in enumerate(PAYLOADS):
        x, y = 121.2 + 0.02 * (i % 12), 29.7 + 0.03 * (i // 12)
        name = tagged(p, "layer")
        gdf = gpd.GeoDataFrame({tagged(p, "column"): [tagged(p, "value")]}, geometry=[Point(x, y)], crs=4326,
                               index=[tagged(p, "id")])
        meta = LayerMeta(name=name, source=tagged(p, "source"), licence=tagged(p, "licence"), note=tagged(p, "note"),
                         illustrative=True)
        layers[name] = Layer(gdf, meta)
        targets.append(Target(id=f"t{i:02d}", layer=name, metric="count", threshold=1, phrase=tagged(p, "phrase"),
                              title=tagged(p, "target_title"), unit=tagged(p, "unit")))
        overlays[tagged(p, "overlay")] = gpd.GeoDataFrame(
            {"status": [tagged(p, "legend"), "fail"], "label": [tagged(p, "label"), "plain"]},
            geometry=[box(x, y + 0.01, x + 0.01, y + 0.02), Point(x + 0.005, y - 0.01)], crs=4326)
        sections[tagged(p, "section")] = [{"id": f"s{i}", "status": "fail",
                                           tagged(p, "section_key"): tagged(p, "section_value")}]
    dataset = Dataset(name=" ".join(tagged(p, "dataset") for p in PAYLOADS), layers=layers)
    plan = Plan(id="hostile", title=" ".join(tagged(p, "title") for p in PAYLOADS), baseline=2020, horizon=2025,
                targets=tuple(targets), title_en=" ".join(tagged(p, "title") for p in PAYLOADS))
    base = audit.run_audit(dataset, plan)
    return audit.AuditReport(plan=plan, dataset=dataset, year=base.year, targets=base.targets, sections=sections,
                             overlays=overlays, created="2025-01-01T00:00:00Z")
