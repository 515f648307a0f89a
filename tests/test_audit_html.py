"""The audit report object and the escaping function."""

from __future__ import annotations

import math

import pytest

from nbgeo import audit, report
from nbgeo.html import safe_text

PAYLOADS = ["{{ cycler.__init__.__globals__.os.getpid() }}", "{% if %}", "<img src=x onerror=alert(1)>",
            "</script><script>alert(1)</script>", "${globalThis.PWNED=1}", "`x`", "{# c #}", "a\\b"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_safe_text_leaves_nothing_active(payload):
    out = safe_text(payload)
    for ch in "<>{}$`\\":
        assert ch not in out
    import html

    assert html.unescape(out) == payload  # still readable as the same text


def test_report_dataframe_and_html(sample, ningbo_plan):
    r = audit.run_audit(sample, ningbo_plan)
    df = r.to_dataframe()
    assert len(df) == len(r.targets) and set(df["status"]) <= {"met", "not_met", "unknown"}
    assert "<table>" in r._repr_html_()
    s = r.summary()
    assert s["targets"]["met"] + s["targets"]["not_met"] + s["targets"]["unknown"] == len(r.targets)
    assert r.exit_code == 1 and s["passed"] is False


def test_json_is_valid_with_nan(sample, ningbo_plan):
    r = audit.run_audit(sample, ningbo_plan)
    r.sections["extra"] = [{"status": "pass", "value": math.nan}]
    text = report.to_json(r)
    assert "NaN" not in text and '"value": null' in text


def test_hostile_plan_text_is_escaped_in_report(sample, ningbo_plan):
    import dataclasses

    hostile = dataclasses.replace(ningbo_plan, title="<script>alert(1)</script>{{7*7}}")
    html = report.to_html(audit.run_audit(sample, hostile))
    assert "<script>alert(1)" not in html and "{{7*7}}" not in html
    # The title is shown as the literal text, not evaluated: 7*7 stays 7*7.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#123;&#123;7*7&#125;&#125;" in html
