"""The one look of nbgeo's pages and maps: status colours and the page stylesheet.

Every renderer (the map, the audit and compare pages, the charts, the Jupyter table) takes its colours
from here, so a finding is the same red on the map, in the table and in the chart.

Examples
--------
>>> from nbgeo.renderers.theme import colour
>>> colour("fail") == colour("not_met") == colour("uncovered") == colour("worse")
True
>>> colour("met"), colour("something nbgeo does not know")
('#1a7f37', '#57606a')
"""

from __future__ import annotations

__all__ = ["CHANGE_COLOURS", "NEUTRAL", "PAGE_CSS", "SEVERITY_COLOURS", "STATUS_COLOURS", "colour", "severity_colour"]

GOOD = "#1a7f37"
BAD = "#cf222e"
WARN = "#9a6700"
RISK = "#bf8700"
PROPOSED = "#1d4ed8"
NEUTRAL = "#57606a"
MUTED = "#8c959f"

#: Colour of every status (see :class:`nbgeo.status.Status`).
STATUS_COLOURS: dict[str, str] = {
    "met": GOOD, "pass": GOOD, "covered": GOOD, "on_track": GOOD,
    "not_met": BAD, "fail": BAD, "uncovered": BAD, "missed": BAD, "off_track": BAD,
    "unknown": WARN, "at_risk": RISK, "proposed": PROPOSED, "no_data": MUTED, "baseline": NEUTRAL,
}

#: Colour of every kind of change between two scenarios (:mod:`nbgeo.compare`).
CHANGE_COLOURS: dict[str, str] = {
    "better": GOOD, "now_met": GOOD, "added": GOOD, "worse": BAD, "now_not_met": BAD, "removed": BAD,
    "same": NEUTRAL, "changed": WARN, "only_a": MUTED, "only_b": MUTED, "moved_from": MUTED, "moved_to": "#bf5af2",
}


#: Colour of every severity: prohibited by law or plan, restricted, and nbgeo's or the office's suggestion.
SEVERITY_COLOURS: dict[str, str] = {"禁止": "#82071e", "限制": WARN, "建议": PROPOSED}


def severity_colour(severity: str) -> str:
    """The colour of a severity badge (禁止, 限制, 建议); neutral grey for anything else.

    Examples
    --------
    >>> severity_colour("建议") == colour("proposed"), severity_colour("?")
    (True, '#57606a')
    """
    return SEVERITY_COLOURS.get(severity, NEUTRAL)


def colour(key: str) -> str:
    """The colour of a status or a change; neutral grey for anything else."""
    return STATUS_COLOURS.get(key) or CHANGE_COLOURS.get(key) or NEUTRAL


#: The stylesheet of every nbgeo page (audit, compare, the sections of each command).
PAGE_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#eaeef2;--bg:#f6f8fa;--brand:#0b3d91}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
margin:0;color:var(--fg);background:var(--bg)}
header{background:var(--brand);color:#fff;padding:22px 32px 18px}
header h1{margin:0;font-size:24px;line-height:1.3}header .sub{opacity:.85;margin-top:4px}
.verdict{display:inline-block;margin-top:10px;padding:3px 12px;border-radius:14px;font-weight:600;font-size:13px}
.verdict.fail{background:#ffebe9;color:#a40e26}.verdict.pass{background:#dafbe1;color:#116329}
.verdict.pace{background:#fff;color:var(--fg)}.verdict+.verdict{margin-left:8px}.verdict b{font-size:15px}
.counts{margin-top:12px;font-size:13px}.counts ul{margin:4px 0 0;padding-left:20px}.final{margin-top:4px}
nav{padding:8px 32px;background:#fff;border-bottom:1px solid var(--line);font-size:13px;position:sticky;top:0;z-index:1000}
nav a{color:var(--brand);text-decoration:none;margin-right:16px}nav a:hover{text-decoration:underline}
main{padding:20px 32px;max-width:1440px;margin:0 auto}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin-bottom:18px}
section h2{margin:0 0 10px;font-size:18px}section h3{margin:14px 0 6px;font-size:15px}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--soft);padding:7px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600;font-size:13px;word-break:keep-all}
tbody tr:hover{background:#fafbfc}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.muted{color:var(--muted);font-size:12px}.small{font-size:12px}
.pill{display:inline-block;color:#fff;border-radius:10px;padding:1px 8px;font-size:12px;white-space:nowrap}
.sev{display:inline-block;border:1px solid;border-radius:3px;padding:0 5px;font-size:11px;white-space:nowrap;
margin-top:3px}.basis{font-size:12px;color:var(--muted)}tr.advisory td{background:#f5f8ff}
.chip{display:inline-block;color:#fff;border-radius:3px;padding:0 4px;font-size:11px;margin:2px 2px 0 0}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px;background:#fff}
.card b{font-size:26px;display:block;line-height:1.2;font-variant-numeric:tabular-nums}
.card .of{font-size:12px;color:var(--muted)}
.warn{background:#fff8c5;border-color:#d4a72c}
.val{font-weight:600;font-variant-numeric:tabular-nums}.pbar{display:block;margin-top:5px}
td.txt{min-width:14em}.whole{white-space:nowrap}td.chart{width:310px;padding:4px}td.chart svg{display:block;max-width:100%;height:auto}
.phrase{font-size:13px}.tid{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;
color:var(--muted)}
.nb-embed{width:100%;border:1px solid var(--line);border-radius:8px;overflow:hidden}
footer{color:var(--muted);font-size:12px;padding:0 32px 28px;max-width:1440px;margin:0 auto}
.scroll{overflow:auto;max-height:70vh}.scroll thead th{position:sticky;top:0;z-index:1}
tr.detail>td{padding-top:0;border-bottom:1px solid var(--soft)}details>summary{cursor:pointer;color:var(--brand)}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0;font-size:12px}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0}
.nb-print-map{display:none;width:100%;border:1px solid var(--line)}
@page{size:A4;margin:18mm 12mm 16mm}
@media print{nav{display:none}body{background:#fff}main{padding:0;max-width:none}header{padding:10px 0}
section{border:none;padding:0;break-inside:auto}h2,h3{break-after:avoid}tr,.card{break-inside:avoid}
thead{display:table-header-group}.scroll{overflow:visible;max-height:none}.scroll thead th{position:static}
body{font-size:11px}table{font-size:10px}th{white-space:normal;word-break:keep-all;font-size:10px}th,td{padding:3px 4px}
td.txt{min-width:9em}td.chart{width:220px}.pbar{width:70px}.card b{font-size:18px}header h1{font-size:18px}
details::details-content{content-visibility:visible;display:block}details>summary{color:var(--fg)}
.nb-embed{display:none}.nb-print-map{display:block;break-inside:avoid}#map{break-inside:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
