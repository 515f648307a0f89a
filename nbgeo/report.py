"""Audit reports as JSON and as one HTML page, written atomically.

``audit.json`` follows the versioned format of :mod:`nbgeo.audit`; non-finite
numbers become ``null`` (``allow_nan=False``: the file is always valid JSON).
``audit.html`` is one page: summary, target table, provenance of every layer,
and the map (embedded, so the page is a single file). Every text from the
plan or the data passes through :func:`nbgeo.html.safe_text`.

Examples
--------
>>> from nbgeo import audit, datasets, io, plan, report
>>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
>>> import json
>>> json.loads(report.to_json(r))["schema"]
'nbgeo.audit/1'
"""

from __future__ import annotations

import html as _html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _atomic
from .html import safe_text

if TYPE_CHECKING:
    from .audit import AuditReport

__all__ = ["to_html", "to_json", "write_report"]

_STATUS_COLOURS = {"met": "#1a7f37", "not_met": "#cf222e", "unknown": "#9a6700",
                   "pass": "#1a7f37", "fail": "#cf222e"}


def _clean(value: Any) -> Any:
    """Replace non-finite floats by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def to_json(report: AuditReport) -> str:
    """The report as ``audit.json`` text (UTF-8, indented, always valid JSON)."""
    return json.dumps(_clean(report.to_dict()), ensure_ascii=False, indent=2, allow_nan=False)


def _fmt(value: float | None, spec: str = ",.6g") -> str:
    return "—" if value is None else format(value, spec)


def _target_rows(report: AuditReport) -> str:
    rows = []
    for r in report.targets:
        colour = _STATUS_COLOURS.get(r.status, "#555")
        progress = ""
        if r.actual is not None and r.threshold and r.op in (">=", ">"):
            share = max(0.0, min(1.0, r.actual / r.threshold))
            progress = (f"<div class='bar'><div style='width:{share * 100:.1f}%;background:{colour}'></div></div>")
        rows.append(
            "<tr>"
            f"<td><b>{safe_text(r.id)}</b><div class='muted'>{safe_text(r.title)}</div></td>"
            f"<td lang='zh'>{safe_text(r.phrase)}</td><td>{r.year}</td>"
            f"<td class='num'>{_fmt(r.actual)}{progress}</td>"
            f"<td class='num'>{safe_text(r.op)} {_fmt(r.threshold)}</td><td>{safe_text(r.unit)}</td>"
            f"<td><span class='pill' style='background:{colour}'>{safe_text(r.status)}</span>"
            f"<div class='muted'>{safe_text(r.note)}</div></td>"
            f"<td class='num'>{_fmt(r.margin, '+,.6g')}</td></tr>"
        )
    return "".join(rows)


def _plan_sections(report: AuditReport) -> str:
    """Hook for nbgeo.charts: the plan's indicators (after the spatial targets) and the progress charts."""
    from .charts import indicator_table_html, progress_html

    parts = []
    if report.sections.get("indicators"):
        parts.append("<section><h2>Other quantified targets (indicators)</h2>"
                     f"{indicator_table_html(report.sections['indicators'])}</section>")
    if report.sections.get("progress"):
        parts.append(f"<section><h2>Progress through the years</h2>{progress_html(report.sections['progress'])}"
                     "</section>")
    return "".join(parts)


def _provenance_rows(report: AuditReport) -> str:
    rows = []
    for name, layer in report.dataset.layers.items():
        meta = layer.meta
        flag = "<span class='pill' style='background:#9a6700'>illustrative</span>" if meta.illustrative else "real"
        rows.append(
            f"<tr><td>{safe_text(name)}</td><td class='num'>{len(layer.gdf):,}</td><td>{flag}</td>"
            f"<td>{safe_text(meta.source)}</td><td>{safe_text(meta.licence)}</td><td>{safe_text(meta.datum)}</td>"
            f"<td>{safe_text(meta.note)}</td></tr>"
        )
    return "".join(rows)


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;
margin:0;color:#1f2328;background:#f6f8fa}
header{background:#0b3d91;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
main{padding:18px 28px;max-width:1400px}section{background:#fff;border:1px solid #d0d7de;border-radius:8px;
padding:14px 18px;margin-bottom:18px}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #eaeef2;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}.num{text-align:right;white-space:nowrap}
.muted{color:#656d76;font-size:12px}.pill{color:#fff;border-radius:10px;padding:1px 8px;font-size:12px}
.bar{height:5px;background:#eaeef2;border-radius:3px;margin-top:3px}.bar div{height:5px;border-radius:3px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;
min-width:120px}.card b{font-size:22px;display:block}.warn{background:#fff8c5;border-color:#d4a72c}
iframe{width:100%;height:640px;border:1px solid #d0d7de;border-radius:6px}
"""


def to_html(report: AuditReport, *, map_html: str | None = None) -> str:
    """The report as one HTML page; ``map_html`` (a saved folium map) is embedded in it.

    The map is embedded with ``<iframe srcdoc>``, HTML-escaped, so the report
    stays one file and the map's scripts cannot reach the report's page.
    """
    s = report.summary()["targets"]
    plan = report.plan
    cards = "".join(
        f"<div class='card'><b style='color:{_STATUS_COLOURS[k]}'>{s[k]}</b>{label}</div>"
        for k, label in (("met", "targets met"), ("not_met", "targets not met"), ("unknown", "unknown"))
    )
    illustrative = ""
    if report.dataset.illustrative:
        names = ", ".join(n for n, lyr in report.dataset.layers.items() if lyr.meta.illustrative)
        illustrative = (f"<section class='warn'><b>Illustrative data.</b> These layers are made up or placed by "
                        f"hand, not real data: {safe_text(names)}. 示意数据，非真实数据。</section>")
    map_section = ""
    if map_html is not None:
        map_section = f"<section><h2>Map</h2><iframe srcdoc=\"{_html.escape(map_html, quote=True)}\"></iframe></section>"
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{safe_text(plan.title)} — nbgeo audit</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{safe_text(plan.title)}</h1><div>{safe_text(plan.title_en)} · evaluated for "
        f"{report.year} · dataset {safe_text(report.dataset.name)} · {safe_text(report.created)}</div></header><main>"
        f"{illustrative}<section><h2>Summary</h2><div class='cards'>{cards}</div></section>"
        "<section><h2>Targets</h2><table><thead><tr><th>target</th><th>plan phrase</th><th>year</th>"
        "<th>actual</th><th>threshold</th><th>unit</th><th>status</th><th>margin</th></tr></thead>"
        f"<tbody>{_target_rows(report)}</tbody></table><p class='muted'>Source: {safe_text(plan.source)}</p></section>"
        f"{_plan_sections(report)}"
        f"{map_section}"
        "<section><h2>Data provenance</h2><table><thead><tr><th>layer</th><th>features</th><th>kind</th>"
        "<th>source</th><th>licence</th><th>datum</th><th>note</th></tr></thead>"
        f"<tbody>{_provenance_rows(report)}</tbody></table></section>"
        "</main></body></html>"
    )


def write_report(report: AuditReport, out_dir: str | Path, *, overwrite: bool = False, lang: str = "zh",
                 with_map: bool = True) -> dict[str, Path]:
    """Write ``audit.json`` and ``audit.html`` into ``out_dir``, each atomically.

    Both files are rendered in memory first, so a failure leaves no partial
    output and earlier files untouched.

    Returns
    -------
    dict
        ``{"json": path, "html": path}``.
    """
    out = Path(out_dir)
    paths = {"json": out / "audit.json", "html": out / "audit.html"}
    if not overwrite:
        for path in paths.values():
            if path.exists():
                from .errors import OutputError

                msg = f"{str(path)!r} exists; pass overwrite=True (--overwrite) to replace it"
                raise OutputError(msg, code="E-IO-EXISTS")
    json_text = to_json(report)
    map_html = None
    if with_map:
        from .maps import audit_map

        map_html = audit_map(report, lang=lang).get_root().render()
    html_text = to_html(report, map_html=map_html)
    _atomic.write_text(paths["json"], json_text)
    _atomic.write_text(paths["html"], html_text)
    return paths
