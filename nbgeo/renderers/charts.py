"""Small inline SVG charts of each target's value per year against the path to its threshold.

Also the report fragments that show them (:func:`progress_html`) and the
table of the plan's non-spatial indicators (:func:`indicator_table_html`).

The charts are plain SVG markup written by nbgeo: no JavaScript, no external
assets, no web fonts, a few kilobytes each, so the HTML report stays one
offline file and a chart shows the same in a browser, an e-mail or Jupyter.
The geometry is computed here; the markup is the templates
``chart.svg.j2``, ``progress.html.j2`` and ``indicators.html.j2`` rendered by
:mod:`nbgeo.renderers.render`, so every text that reaches a chart (ids, titles, units,
notes, tooltips) is escaped with :func:`nbgeo.renderers.html.safe_text` by default.

A chart reads one entry of the ``progress`` section of ``audit.json``
(:meth:`nbgeo.progress.Progress.to_dict`), so a report can be redrawn from
the JSON alone:

* the dashed line is the required path from the baseline value to the
  threshold at the deadline (through the plan's milestones, drawn as
  diamonds); ``each_year`` targets have bars for each year instead;
* the dotted line is the threshold;
* the solid line and dots are the measured values, each dot coloured by the
  flag of its year (hover for the figures).

Examples
--------
>>> from nbgeo import charts, datasets, io, plan, progress
>>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
>>> entry = progress.track(p, io.read_sample(), as_of=2023)[5].to_dict()
>>> svg = charts.progress_chart(entry)
>>> svg.startswith("<svg") and svg.count("<circle") == 4 and "<script" not in svg
True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..progress import AT_RISK_BAND, AT_RISK_SHORTFALL, Progress
from . import readable, render, theme
from .labels import LABELS, LANGS, status_word

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["STATUS_COLOURS", "STATUS_LABELS", "indicator_table_html", "nice_ticks", "progress_chart",
           "progress_html"]

#: The progress flags, in the order of the legend.
_FLAGS = ("met", "on_track", "at_risk", "off_track", "missed", "no_data", "baseline")

#: Colour of each progress flag (dots, bars and pills): the theme's, as on every page.
STATUS_COLOURS = {**{s: theme.colour(s) for s in _FLAGS}, "": theme.MUTED}

#: What each flag is called, in English and Chinese (the status words of nbgeo.labels).
STATUS_LABELS = {lang: {**{s: status_word(s, lang) for s in _FLAGS}, "": ""} for lang in LANGS}


def _words(lang: str) -> dict[str, str]:
    """The charts' own words (``chart.*`` in nbgeo.labels) in ``lang``."""
    return {k.split(".", 1)[1]: v[0 if lang == "zh" else 1] for k, v in LABELS.items() if k.startswith("chart.")}


_OPS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]``, about ``count`` intervals.

    Examples
    --------
    >>> nice_ticks(0, 10600)
    [0.0, 2500.0, 5000.0, 7500.0, 10000.0, 12500.0]
    >>> nice_ticks(0, 2.8)
    [0.0, 1.0, 2.0, 3.0]
    >>> nice_ticks(5, 5)
    [4.0, 4.5, 5.0, 5.5, 6.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        pad = abs(lo) * 0.2 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    start = math.floor(lo / step + 1e-9) * step
    ticks: list[float] = []
    value = start
    while value < hi - 1e-9 * step or not ticks:
        ticks.append(round(value, 10))
        value += step
    ticks.append(round(value, 10))
    return [float(t) for t in ticks]


def _short(value: float) -> str:
    """A compact axis label: 12.5k, 2,500, 2.8."""
    if abs(value) >= 10_000:
        return f"{value / 1000:,.4g}k"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _entry(entry: Progress | Mapping[str, Any]) -> dict[str, Any]:
    return entry.to_dict() if isinstance(entry, Progress) else dict(entry)


def progress_chart(entry: Progress | Mapping[str, Any], *, width: int = 360, height: int = 170,
                   lang: str = "en") -> str:
    """One target's actual value per year against the path to its threshold, as an SVG element.

    Parameters
    ----------
    entry
        A :class:`~nbgeo.progress.Progress` or its ``to_dict()`` (an entry of
        the ``progress`` section of ``audit.json``).
    width, height
        Size in CSS pixels.
    lang
        ``"en"`` or ``"zh"`` for the tooltips.

    Returns
    -------
    str
        ``<svg>...</svg>``, to be placed inline in HTML.

    Examples
    --------
    >>> from nbgeo.plan import Target
    >>> from nbgeo.progress import assess
    >>> t = Target(id="<b>roads</b>", layer="smart_roads", metric="length", threshold=200, unit="km")
    >>> p = assess(t, {2020: 0, 2021: 40, 2022: 94}, baseline=2020, deadline=2025, as_of=2022)
    >>> svg = progress_chart(p)
    >>> "<b>" in svg, "&lt;b&gt;roads&lt;/b&gt;" in svg, svg.count("<circle")
    (False, True, 3)
    """
    e = _entry(entry)
    words = _words(lang)
    labels = STATUS_LABELS.get(lang, STATUS_LABELS["en"])
    history = e.get("history") or []
    first = int(e["baseline"])
    last = int(e["deadline"])
    threshold = float(e["threshold"])
    unit = f" {readable.unit(e['unit'], lang)}" if e.get("unit") else ""
    each_year = e.get("years") == "each_year"
    op = _OPS.get(e.get("op", ">="), e.get("op", ""))

    values = [h["actual"] for h in history if h.get("actual") is not None]
    path_values = [h["expected"] for h in history if h.get("expected") is not None]
    milestones = {int(y): float(v) for y, v in (e.get("milestones") or {}).items()}
    everything = [threshold, *values, *path_values, *milestones.values()]
    lo, hi = min(everything), max(everything)
    # Bars start at zero; a line starts at zero too unless all values sit high above it
    # (an R&D share moving from 2.2 to 2.8 % would be a flat line on a zero-based axis).
    if lo >= 0 and (each_year or lo < 0.5 * hi):
        lo = 0.0
    ticks = nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]

    ml, mr, mt, mb = 40, 58, 18, 20
    plot_w, plot_h = width - ml - mr, height - mt - mb
    span = max(last - first, 1)

    def x(year: float) -> float:
        return round(ml + (year - first) / span * plot_w, 1)

    def y(value: float) -> float:
        return round(mt + (1 - (value - lo) / (hi - lo)) * plot_h, 1)

    # the tooltip names the target by its title (its id is a key for audit.json), in the reader's words
    name = readable.title(e, lang) or readable.words(str(e["id"]), lang)
    title = (f"{name}: {words['actual']} {first}–{min(int(e['as_of']), last)}, {words['threshold']} "
             f"{op} {_num(threshold)}{unit} {words['by']} {last}")
    if e.get("status"):
        title += f" — {labels.get(str(e['status']), e['status'])}"
    # the note in the reader's language, from its key and values (nbgeo.progress)
    if e.get("note"):
        title += words["colon"] + readable.note_text(e, lang)
    as_of = int(e["as_of"])
    ty = y(threshold)
    view: dict[str, Any] = {
        "width": width, "height": height, "title": title, "left": ml, "right": ml + plot_w, "top": mt,
        "bottom": mt + plot_h, "axis_y": y(lo),
        # Grid and y labels.
        "grid": [{"y": y(tick), "label_x": ml - 4, "label_y": y(tick) + 3, "label": _short(tick)} for tick in ticks],
        # X labels: every year on short periods, else the ends and every fifth year.
        "xlabels": [{"x": x(year), "y": height - 6, "text": year} for year in range(first, last + 1)
                    if span <= 8 or year in (first, last) or (year % 5 == 0 and last - year >= 2 and year - first >= 2)],
        # The evaluation year.
        "as_of": {"x": x(as_of), "title": f"{words['as_of']} {as_of}"} if first < as_of < last else None,
        # The threshold, labelled in the right margin.
        "threshold": {"y": ty, "title": f"{words['threshold']} {op} {_num(threshold)}{unit}", "label_x": ml + plot_w + 4,
                      "label_y": ty + 3, "label": f"{op} {_short(threshold)}"},
        "bars": [], "path": None, "milestones": [], "lines": [], "dots": [], "flag": None,
    }
    if each_year:
        step = plot_w / span
        bar_w = round(max(step * 0.55, 2.0), 1)
        base = y(max(lo, 0.0))
        for h in history:
            if h.get("actual") is None or h.get("status") == "baseline":
                continue
            top = y(h["actual"])
            view["bars"].append({
                "x": round(x(h["year"]) - bar_w / 2, 1), "y": min(top, base), "width": bar_w,
                "height": round(abs(base - top), 1), "colour": STATUS_COLOURS.get(h.get("status", ""), "#8c959f"),
                "title": f"{h['year']}: {_num(h['actual'])}{unit} — {labels.get(h.get('status', ''), h.get('status', ''))}",
            })
    else:
        path_points = [(h["year"], h["expected"]) for h in history if h.get("expected") is not None]
        if len(path_points) >= 2:
            view["path"] = {"points": " ".join(f"{x(yr)},{y(v)}" for yr, v in path_points), "title": words["path"]}
        for year, value in milestones.items():
            if first < year < last:
                mx, my = x(year), y(value)
                view["milestones"].append({"d": f"M{mx} {my - 5}L{mx + 5} {my}L{mx} {my + 5}L{mx - 5} {my}Z",
                                           "title": f"{words['milestone']} {year}: {_num(value)}{unit}"})
        # The measured values: a line through consecutive known years, broken where a year is unknown.
        segment: list[str] = []
        for h in [*history, {"actual": None}]:
            if h.get("actual") is None:
                if len(segment) >= 2:
                    view["lines"].append(" ".join(segment))
                segment = []
                continue
            segment.append(f"{x(h['year'])},{y(h['actual'])}")
    # Dots, coloured by each year's flag (bars carry the colour themselves).
    for h in history:
        if h.get("actual") is None or (each_year and h.get("status") != "baseline"):
            continue
        status = h.get("status", "")
        tip = f"{h['year']}: {_num(h['actual'])}{unit} — {labels.get(status, status)}"
        if h.get("expected") is not None and not each_year:
            tip += f" ({words['path']} {_num(h['expected'])}{unit})"
        if h.get("note"):
            tip += words["then"] + readable.note_text(h, lang)
        view["dots"].append({"x": x(h["year"]), "y": y(h["actual"]), "r": 4.5 if h["year"] == min(as_of, last) else 3.5,
                             "colour": STATUS_COLOURS.get(status, "#8c959f"), "title": tip})
    # The flag of the evaluation year, top left, so the chart reads on its own.
    status = str(e.get("status", ""))
    if status:
        view["flag"] = {"x": ml, "y": mt - 6, "colour": STATUS_COLOURS.get(status, "#57606a"),
                        "text": f"{labels.get(status, status)} · {min(as_of, last)}"}
    return render.render("chart.svg.j2", **view)


_CSS = """
.nbgeo-progress .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:12px}
.nbgeo-progress figure{margin:0;border:1px solid #d0d7de;border-radius:8px;padding:10px 12px;background:#fff}
.nbgeo-progress figcaption{font-size:13px;margin-bottom:4px}
.nbgeo-progress .status{color:#fff;border-radius:10px;padding:1px 8px;font-size:12px;float:right}
.nbgeo-progress .muted{color:#656d76;font-size:12px}
.nbgeo-progress .key{display:inline-block;margin-right:12px}
.nbgeo-progress .dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:4px}
.nbgeo-progress h3{font-size:15px;margin:14px 0 8px}
"""


def _card(e: dict[str, Any], lang: str) -> dict[str, Any]:
    labels = STATUS_LABELS.get(lang, STATUS_LABELS["en"])
    status = e.get("status", "")
    return {"id": e["id"], "status": labels.get(status, status), "colour": STATUS_COLOURS.get(status, "#8c959f"),
            "proposed": bool(e.get("proposed")), "title": readable.title(e, lang),
            "phrase": "" if readable.title(e, lang) == e.get("phrase") else e.get("phrase"),
            "note": readable.note_text(e, lang), "chart": render.trusted(progress_chart(e, lang=lang))}


def progress_html(entries: Sequence[Progress | Mapping[str, Any]], *, lang: str = "en") -> str:
    """The progress section of a report: a legend, then one chart card per target, spatial targets first.

    Parameters
    ----------
    entries
        The ``progress`` section (or :func:`nbgeo.progress.track`'s result).
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    str
        An HTML fragment with its own scoped CSS; empty when there are no entries.

    Examples
    --------
    >>> from nbgeo.plan import Target
    >>> from nbgeo.progress import assess
    >>> t = Target(id="parks", layer="featured_parks", metric="count", threshold=50, phrase="{{7*7}}")
    >>> html = progress_html([assess(t, {2020: 14, 2021: 23}, baseline=2020, deadline=2025, as_of=2021)])
    >>> "{{" in html, "&#123;&#123;7*7&#125;&#125;" in html, "on track" in html
    (False, True, True)
    """
    rows = [_entry(e) for e in entries]
    if not rows:
        return ""
    words = _words(lang)
    labels = STATUS_LABELS.get(lang, STATUS_LABELS["en"])
    first = rows[0]
    keys = [{"colour": STATUS_COLOURS[s], "text": labels[s]}
            for s in ("on_track", "at_risk", "off_track", "met", "missed", "no_data")]
    rule = words["rule"].format(baseline=first["baseline"], deadline=first["deadline"],
                                shortfall=f"{AT_RISK_SHORTFALL:.0%}", band=f"{AT_RISK_BAND:.0%}")
    groups = []
    for kind, heading in (("target", words["spatial"]), ("indicator", words["indicators"])):
        cards = [_card(r, lang) for r in rows if r.get("kind", "target") == kind]
        if cards:
            groups.append({"heading": heading, "cards": cards})
    return render.render("progress.html.j2", css=render.trusted(_CSS), keys=keys, words=words, rule=rule,
                         groups=groups)


def indicator_table_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """The verdicts on the plan's non-spatial indicators (the ``indicators`` section) as an HTML table.

    Examples
    --------
    >>> row = {"id": "rd_share", "title": "R&D <share>", "phrase": "研发", "year": 2025, "op": ">=",
    ...        "threshold": 2.8, "actual": 2.82, "unit": "%", "status": "met", "margin": 0.02, "note": "",
    ...        "source": "yearbook", "illustrative": True}
    >>> html = indicator_table_html([row])
    >>> "R&amp;D &lt;share&gt;" in html, "illustrative" in html
    (True, True)
    """
    if not rows:
        return ""
    view = []
    for r in rows:
        flags = []
        if r.get("illustrative"):
            flags.append("illustrative 示意")
        if r.get("proposed"):
            flags.append("proposed by nbgeo")
        view.append({
            "id": r.get("id"), "flags": flags, "title": r.get("title"), "phrase": r.get("phrase"), "year": r.get("year"),
            "actual": _num(r.get("actual")), "op": _OPS.get(r.get("op", ""), r.get("op", "")),
            "threshold": _num(r.get("threshold")), "unit": r.get("unit"), "note": r.get("note"),
            "status": {"text": r.get("status"), "colour": theme.colour(r.get("status", ""))},
            "margin": "—" if r.get("margin") is None else f"{r['margin']:+,.6g}",
        })
    sources = sorted({str(r.get("source")) for r in rows if r.get("source")})
    return render.render("indicators.html.j2", rows=view, sources=sources)
