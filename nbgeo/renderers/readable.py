"""Text for readers: numbers rounded the way a planner writes them, years as years, CRSs by name, words for keys.

Every page, Markdown file and terminal table nbgeo writes for people formats its figures here, so that the
same value reads the same everywhere: ``84.6 %``, ``+3.5``, ``4,303 m``, ``2023`` (never ``2,023``),
``CGCS2000 / 3-degree Gauss-Kruger CM 120E`` rather than a PROJ string or WKT, and a dash that says what it
means. Machine files (``audit.json``, CSV) keep the exact values; this module only words them.

:func:`words` turns any key nbgeo uses (a column, a status, a layer, a rule kind, a value) into the reader's
words in zh or en from :mod:`nbgeo.renderers.labels`; a key the table lacks is shown with spaces for its
underscores, so no ``snake_case`` token reaches a reader. :func:`reason` words a rule finding from its
language-neutral form (``reason_key`` plus ``reason_values`` in ``audit.json``).

Examples
--------
>>> from nbgeo.renderers import readable
>>> readable.percent(84.5815), readable.delta(3.4949), readable.metres(4303.2), readable.year(2023.0)
('84.6 %', '+3.5', '4,303 m', '2023')
>>> readable.metres(4303.2, "zh"), readable.words("not_met", "zh"), readable.words("covered_sites", "en")
('4,303 米', '未达标', 'sites covered')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pyproj import CRS

from ..layers import LAYERS
from . import labels
from .figures import count, delta, finite, number, percent, year

__all__ = [
    "SNAKE",
    "count",
    "crs_name",
    "dash",
    "delta",
    "is_key",
    "metres",
    "note",
    "note_text",
    "number",
    "percent",
    "plain",
    "plan_titles",
    "quantity",
    "reason",
    "unit",
    "value_text",
    "words",
    "year",
]

#: A ``snake_case`` token: what must never reach a reader (the browser tests search the visible text with it).
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]*[a-z0-9]\b")

_KEY = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")

#: A file name in a sentence (``scripts/make_sample.py``): a name, left as it is.
_FILE_NAME = re.compile(r"[\w./-]+\.[A-Za-z][A-Za-z0-9]{1,4}\b")

#: The namespaces of :data:`nbgeo.renderers.labels.LABELS` searched for a key, in order.
_NAMESPACES = ("status", "column", "field", "value", "section", "kind", "unit")


_finite = finite


def metres(value: Any, lang: str = "en") -> str:
    """A distance in metres, whole metres with thousands separators: ``4,303 m`` / ``4,303 米``.

    Examples
    --------
    >>> metres(4303.2), metres(12.56, "zh"), metres(None)
    ('4,303 m', '13 米', '—')
    """
    if not _finite(value):
        return dash()
    return f"{round(float(value)):,} {'米' if lang == 'zh' else 'm'}"


#: Units nbgeo measures in, with their zh and en symbols.
_UNITS: dict[str, tuple[str, str]] = {
    # units of the plan's indicators written as phrases (a label key cannot hold spaces)
    "patents per 100亿元": ("件/百亿元", "patents per 100亿元"),
    "% of GDP": ("%（占 GDP）", "% of GDP"),
    "index, 2015 = 100": ("（2015 年 = 100）", "index, 2015 = 100"),
    "index, 2020 = 100": ("（2020 年 = 100）", "index, 2020 = 100"),
    "m": ("米", "m"), "km": ("公里", "km"), "m2": ("平方米", "m²"), "ha": ("公顷", "ha"), "%": ("%", "%"),
    "percent": ("%", "%"), "degree": ("°", "°"), "mu": ("亩", "mu"), "s": ("秒", "s"),
}


def unit(name: Any, lang: str = "en") -> str:
    """A unit's reader symbol: measurement units by symbol, counted things (``parks``) through ``unit.*`` labels.

    Examples
    --------
    >>> unit("m2"), unit("km", "zh"), unit("parks", "zh"), unit("parks", "en"), unit("light_years", "en")
    ('m²', '公里', '个', 'parks', 'light years')
    """
    text = "" if name is None else str(name)
    if text in _UNITS:
        return _UNITS[text][0 if lang == "zh" else 1]
    return words(text, lang, namespace="unit")


def quantity(value: Any, unit_name: Any, lang: str = "en") -> str:
    """A value with its unit, rounded for its unit: metres whole, percentages to 1 decimal.

    Examples
    --------
    >>> quantity(4303.2, "m"), quantity(84.58, "%"), quantity(1.336, "ha", "zh"), quantity(3, "zones", "zh")
    ('4,303 m', '84.6 %', '1.34 公顷', '3 个')
    """
    if not _finite(value):
        return dash()
    u = "" if unit_name is None else str(unit_name)
    if u == "m":
        return metres(value, lang)
    if u in ("%", "percent"):
        return percent(value)
    if u == "m2":
        return f"{number(value, digits=0)} {unit(u, lang)}"
    symbol = unit(u, lang)
    return f"{number(value)}{'' if symbol in ('°', '') or symbol.startswith('（') else ' '}{symbol}".strip()


def dash(meaning: str | None = None, lang: str = "en", **values: Any) -> str:
    """A dash for a missing value; with ``meaning`` (a ``dash.*`` label key) it says why.

    Examples
    --------
    >>> dash()
    '—'
    >>> dash("beyond", "en", distance=500), dash("beyond", "zh", distance=2000)
    ('— (beyond the search distance of 500 m)', '—（超出 2,000 米搜索距离）')
    """
    if meaning is None:
        return "—"
    text = labels.word(f"dash.{meaning}", lang)
    return "—" + text.format(**{k: _value_word(v, lang) for k, v in values.items()})


def _value_word(value: Any, lang: str) -> str:
    if _finite(value):
        return number(value)
    return words(str(value), lang) if isinstance(value, str) and is_key(value) else str(value)


def is_key(text: str) -> bool:
    """True for a ``snake_case`` identifier (``covered_sites``), the form a reader must not see.

    Examples
    --------
    >>> is_key("covered_sites"), is_key("clusters"), is_key("R&D share"), is_key("output_2020")
    (True, False, False, True)
    """
    return bool(_KEY.fullmatch(text))


def words(key: Any, lang: str = "en", *, namespace: str | None = None) -> str:
    """The reader's words for a key nbgeo uses: status, column, field, value, section, kind, unit or layer.

    ``namespace`` is searched first; then every namespace of the word table, then the layer titles of
    :data:`nbgeo.layers.LAYERS`. A key nowhere is shown with spaces for its underscores.

    Examples
    --------
    >>> words("uncovered", "zh"), words("by_district", "zh"), words("micro_parks", "zh")
    ('未覆盖', '分区统计', '小微企业园')
    >>> words("featured_parks", "en"), words("some_new_key", "zh"), words("parks", "zh", namespace="unit")
    ('Featured industrial parks', 'some new key', '个')
    >>> words("clusters", "zh"), words("clusters", "zh", namespace="unit")  # a layer by its title, a unit as one
    ('产业集聚区', '个')
    """
    text = "" if key is None else str(key)
    search = ((namespace,) if namespace else ()) + _NAMESPACES
    if namespace != "unit" and text in LAYERS:  # a layer by its title: clusters is 产业集聚区, not the unit 个
        search = tuple(ns for ns in search if ns != "unit")
    for ns in search:
        pair = labels.LABELS.get(f"{ns}.{text}")
        if pair is not None:
            return pair[0 if lang == "zh" else 1]
    spec = LAYERS.get(text)
    if spec is not None:
        title = spec.title_zh if lang == "zh" else spec.title_en
        if title:
            return title
    field = labels.field_label(text, lang)
    if field != text:
        return field
    return text.replace("_", " ") if is_key(text) else text


def title(item: Any, lang: str = "en") -> str:
    """An entry's title for a reader, in ``lang``.

    In zh its ``title_zh`` if it has one, else its ``phrase`` (the plan's own Chinese, which it quotes), else
    its ``title``; in en its ``title``, else its ``phrase``.

    ``item`` is a mapping (an ``audit.json`` entry) or an object (a target, rule, requirement of a plan).

    Examples
    --------
    >>> t = {"id": "micro_parks", "title": "Micro-enterprise parks built", "phrase": "建成小微企业园 200 个以上"}
    >>> title(t, "zh"), title(t, "en"), title({"id": "x", "title": "X"}, "zh")
    ('建成小微企业园 200 个以上', 'Micro-enterprise parks built', 'X')
    """
    def get(name: str) -> str:
        value = item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)
        return str(value) if value else ""

    if lang == "zh":
        return get("title_zh") or get("phrase") or get("title")
    return get("title") or get("phrase")


def plan_titles(plan: Any, lang: str = "en") -> dict[str, str]:
    """Every id a plan declares (targets, rules, coverage, indicators, suitability, siting) → its title.

    Pages show an entry by its title (:func:`title`: in zh the plan's Chinese phrase); the id stays in
    ``audit.json`` and in the entry's tooltip.

    Examples
    --------
    >>> from nbgeo import datasets, plan
    >>> titles = plan_titles(plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> titles["red_line_micro_parks"]
    'Micro-enterprise parks outside the ecological red line'
    >>> plan_titles(plan.read_plan(datasets.get_path("ningbo_2025")), "zh")["micro_parks"]
    '全市累计建成和提升小微企业园 200 个以上'
    """
    groups = ("targets", "rules", "coverage", "indicators", "suitability", "siting")
    return {str(item.id): text for name in groups for item in getattr(plan, name, ()) if (text := title(item, lang))}


def value_text(value: Any, lang: str = "en") -> str:
    """A cell's text: numbers for reading, identifiers (``straight``, ``by_district``) as words, other text as it is.

    Text from data is shown exactly; a whole value that is a key is worded (:func:`plain` words keys inside
    nbgeo's own sentences).

    Examples
    --------
    >>> value_text("straight", "zh"), value_text(True, "en"), value_text(1234.5678), value_text("CH00012")
    ('直线距离', 'yes', '1,235', 'CH00012')
    """
    if isinstance(value, bool):
        return labels.word(f"readable.{'yes' if value else 'no'}", lang)
    if value is None or isinstance(value, (int, float)):
        return number(value)
    text = str(value)
    if is_key(text) or f"value.{text}" in labels.LABELS or f"kind.{text}" in labels.LABELS:
        return words(text, lang, namespace="value")
    return text


def plain(text: str, lang: str = "en") -> str:
    """Free text (a note from a measure) with every ``snake_case`` key in it worded; file names stay as they are.

    Examples
    --------
    >>> plain("no 'land_transfers' features in 2020", "zh")
    "no '土地出让' features in 2020"
    >>> plain("generated by scripts/make_sample.py; see brand_new_key")
    'generated by scripts/make_sample.py; see brand new key'
    """
    out, last = [], 0
    for m in _FILE_NAME.finditer(text):
        out += [SNAKE.sub(lambda k: words(k.group(0), lang), text[last:m.start()]), m.group(0)]
        last = m.end()
    out.append(SNAKE.sub(lambda k: words(k.group(0), lang), text[last:]))
    return "".join(out)


def crs_name(crs: Any, lang: str = "en") -> str:
    """A CRS by name (datum, projection, central meridian), never a PROJ string or WKT.

    Examples
    --------
    >>> crs_name("EPSG:4549"), crs_name("EPSG:4549", "zh")
    ('CGCS2000 / 3-degree Gauss-Kruger CM 120E', 'CGCS2000 3度带高斯-克吕格 中央经线120°E')
    >>> crs_name("+proj=tmerc +lon_0=121.56 +lat_0=29.67 +ellps=GRS80 +units=m")
    'Transverse Mercator CM 121.56E, origin 29.67N (GRS 1980 ellipsoid)'
    >>> crs_name("EPSG:4326", "zh"), crs_name(None)
    ('WGS 84', '—')
    """
    if crs is None:
        return dash()
    try:
        c = CRS.from_user_input(crs)
    except Exception:
        return str(crs)
    name = c.name or ""
    if name.lower() in ("unknown", "unnamed", "") or "(nbgeo)" in name:
        name = _built_name(c)
    name = name.replace(" (nbgeo)", "")
    return _zh_crs(name) if lang == "zh" else name


def _built_name(c: Any) -> str:
    """A name for a CRS without one (a PROJ string): its method, central meridian, origin and datum."""
    op = c.coordinate_operation
    if op is None:
        return c.datum.name if c.datum else "unknown CRS"
    params = {p.name: p.value for p in op.params}
    lon = params.get("Longitude of natural origin", params.get("Longitude of origin"))
    lat = params.get("Latitude of natural origin", params.get("Latitude of origin"))
    text = op.method_name
    if lon is not None:
        text += f" CM {abs(lon):g}{'E' if lon >= 0 else 'W'}"
    if lat:
        text += f", origin {abs(lat):g}{'N' if lat >= 0 else 'S'}"
    datum = c.datum.name if c.datum else ""
    if datum.startswith("Unknown based on "):
        datum = datum.removeprefix("Unknown based on ")
    short = {"China 2000": "CGCS2000", "World Geodetic System 1984": "WGS 84",
             "World Geodetic System 1984 ensemble": "WGS 84"}.get(datum, datum)
    return f"{short} / {text}" if short in ("CGCS2000", "WGS 84") else f"{text} ({short})" if short else text


_ZH_CRS = (
    (re.compile(r"(\d+)-degree Gauss-Kruger CM (\d+(?:\.\d+)?)E"), r"\1度带高斯-克吕格 中央经线\2°E"),
    (re.compile(r"(\d+)-degree Gauss-Kruger zone (\d+)"), r"\1度带高斯-克吕格 第\2带"),
    (re.compile(r"Gauss-Kruger CM (\d+(?:\.\d+)?)E"), r"高斯-克吕格 中央经线\1°E"),
    (re.compile(r"UTM zone (\d+)([NS])"), r"UTM 第\1\2带"),
    (re.compile(r"Transverse Mercator CM (\d+(?:\.\d+)?)E"), r"横轴墨卡托 中央经线\1°E"),
    (re.compile(r"TM (\d+(?:\.\d+)?)E (\d+(?:\.\d+)?)N"), r"横轴墨卡托 中央经线\1°E 原点纬度\2°N"),
    (re.compile(r", origin (\d+(?:\.\d+)?)N"), r" 原点纬度\1°N"),
    (re.compile(r"Pseudo-Mercator"), "伪墨卡托 (Web 墨卡托)"),
    (re.compile(r" / "), " "),
)


def _zh_crs(name: str) -> str:
    for pattern, repl in _ZH_CRS:
        name = pattern.sub(repl, name)
    return name


def reason(key: str, values: Mapping[str, Any], lang: str = "en") -> str:
    """A rule finding's reason in the reader's language, from its key and values (``reason.*`` labels).

    Values named like a unit's quantity (``value``, ``limit``, ``amount``) are written with the finding's
    ``unit`` (or their own ``*_unit``); ``other`` is a feature's id, ``share`` a percentage.

    Examples
    --------
    >>> v = {"value": 12.3, "limit": 20, "unit": "m", "other": "CH00012"}
    >>> reason("spacing.near", v, "en")
    '12 m from CH00012; at least 20 m required'
    >>> reason("spacing.near", v, "zh")
    '距 CH00012 仅 12 米；至少应为 20 米'
    """
    template = labels.word(f"reason.{key}", lang)
    default_unit = values.get("unit")
    words_for: dict[str, str] = {}
    for name, v in values.items():
        if name.endswith("unit"):
            words_for[name] = unit(v, lang)
        elif name == "share":
            words_for[name] = percent(v)
        elif isinstance(v, Mapping):
            sep, per = ("、" if lang == "zh" else ", "), values.get(f"{name}_unit")
            words_for[name] = sep.join(f"{words(k, lang, namespace='value')} {quantity(x, per, lang)}"
                                       for k, x in v.items())
        elif _finite(v):
            words_for[name] = quantity(v, values.get(f"{name}_unit", default_unit), lang)
        elif v is None:
            words_for[name] = dash()
        else:
            words_for[name] = value_text(v, lang)
    return template.format_map(_Missing(words_for))


class _Missing(dict[str, str]):
    """Format values: a placeholder without a value shows a dash rather than raising."""

    def __missing__(self, key: str) -> str:
        return "—"


#: Values of a note that are years (never with a thousands separator).
_YEAR_VALUES = frozenset({"year", "deadline", "baseline", "first", "last", "start_year"})


def note(key: str, values: Mapping[str, Any], lang: str = "en") -> str:
    """A note (progress, an unknown value) in the reader's language from its key and values (``note.*`` labels).

    ``key`` may join clauses with ``+``; figures are written with the note's ``unit``, years as years, ``op``
    in words, ``ratio`` and ``band`` (shares of 1) as percentages, a value with a ``NAME_unit`` in that unit, ``missed`` (year → value) as a list.

    Examples
    --------
    >>> v = {"actual": 149.1, "year": 2023, "expected": 120, "needed": 25.45, "deadline": 2025, "unit": "km"}
    >>> note("progress.ahead+progress.needs", v, "en")
    '149.1 km in 2023, at or ahead of the path 120 km; needs 25.45 km a year to 2025'
    >>> note("progress.ahead+progress.needs", v, "zh")
    '2023 年为 149.1 公里，达到或超过目标路径 120 公里；至 2025 年每年需增加 25.45 公里'
    >>> note("given.no_features", {"layer": "land_transfers", "year": "2020"}, "zh")
    '2020 年无土地出让要素'
    """
    u = values.get("unit")
    words_for: dict[str, str] = {}
    for name, v in values.items():
        if name.endswith("unit"):
            words_for[name] = unit(v, lang)
        elif name in _YEAR_VALUES:
            words_for[name] = year(v)
        elif name == "years":
            words_for[name] = ("、" if lang == "zh" else ", ").join(year(y) for y in v)
        elif name == "op":
            words_for[name] = labels.LABELS.get(f"note.op.{v}", (str(v), str(v)))[0 if lang == "zh" else 1]
        elif name in ("ratio", "band"):
            words_for[name] = percent(100 * float(v), digits=0) if _finite(v) else dash()
        elif name == "missed" and isinstance(v, Mapping):
            words_for[name] = ("、" if lang == "zh" else ", ").join(
                f"{year(y)}（{quantity(x, u, lang)}）" if lang == "zh" else f"{year(y)} ({quantity(x, u, lang)})"
                for y, x in v.items())
        elif name == "layer":
            words_for[name] = words(v, lang)
        elif name == "note":
            words_for[name] = plain(str(v), lang)
        elif _finite(v):
            words_for[name] = quantity(v, values.get(f"{name}_unit", u), lang)
        elif v is None:
            words_for[name] = dash()
        else:
            words_for[name] = value_text(v, lang)
    return "".join(labels.word(f"note.{k}", lang).format_map(_Missing(words_for)) for k in key.split("+"))


def note_text(entry: Mapping[str, Any], lang: str = "en") -> str:
    """An entry's note for a reader, in ``lang``.

    From ``note_parts`` (a list of ``{"key", "values"}``, one per note) or ``note_key`` and ``note_values``
    when it has them, else its English ``note`` read back into a key
    (:func:`nbgeo.renderers.labels.keyed_note`), else worded as free text.

    Examples
    --------
    >>> note_text({"note": "no 'land_transfers' features in 2020"}, "zh"), note_text({"note": ""}, "zh")
    ('2020 年无土地出让要素', '')
    """
    if entry.get("note_parts"):  # several notes, each with its key (an optimisation's)
        return labels.word("chart.then", lang).join(note(str(part["key"]), part.get("values") or {}, lang)
                                                    for part in entry["note_parts"])
    if entry.get("note_key"):
        return note(str(entry["note_key"]), entry.get("note_values") or {}, lang)
    text = str(entry.get("note") or "")
    if not text:
        return ""
    key, values = labels.keyed_note(text)
    if key == "text" and "; " in text:  # several notes joined (an optimisation's): each read back on its own
        return labels.word("chart.then", lang).join(note(*labels.keyed_note(part), lang) for part in text.split("; "))
    return note(key, values, lang)
