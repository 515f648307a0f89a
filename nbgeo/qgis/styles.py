"""QGIS styles (QML and SLD) for nbgeo's output layers, stored in a GeoPackage's ``layer_styles`` table.

Every output layer kind is a categorised renderer on its verdict: the categories are status words
(:class:`nbgeo.status.Status`), coloured as the HTML report colours them (:mod:`nbgeo.theme`) and named as its
legend names them (:mod:`nbgeo.labels`); features are labelled with their id and Chinese name. The style is
written into the GeoPackage itself (the ``layer_styles`` table QGIS and GDAL read), so dragging the file into
QGIS shows the verdict colours with no further step.

Examples
--------
>>> from nbgeo.qgis.styles import categories, qml
>>> [(c.value, c.legend, c.colour) for c in categories("rule_sites", "zh")]
[('fail', '不符合', '#cf222e'), ('unknown', '未知', '#9a6700'), ('pass', '符合', '#1a7f37')]
>>> '<renderer-v2 type="categorizedSymbol" attr="status"' in qml("rule_sites", "point", ["id", "status"])
True
"""

from __future__ import annotations

import logging
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError
from ..renderers import labels, theme
from ..status import Status

__all__ = ["KINDS", "Category", "categories", "geometry_family", "label_expression", "qml", "sld", "sqlite_name",
           "style_geopackage"]

#: Each kind of output layer: the field (or QGIS expression) its categories are read from, and its categories.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "findings": ("status", (Status.FAIL, Status.NOT_MET, Status.UNCOVERED, Status.UNKNOWN, Status.AT_RISK,
                            Status.PROPOSED, "service_area", Status.COVERED, Status.PASS)),
    "rule_sites": ("status", (Status.FAIL, Status.UNKNOWN, Status.PASS)),
    "uncovered": ("status", (Status.UNCOVERED, Status.COVERED, "service_area")),
    "chosen": ("'proposed'", (Status.PROPOSED,)),
    "candidates": ("status", (Status.FAIL, Status.UNKNOWN, Status.PASS)),
    "demand": ("CASE WHEN \"served_after\" THEN 'covered' ELSE 'uncovered' END", (Status.UNCOVERED, Status.COVERED)),
    "zones": ("'suitability'", ("suitability",)),
    "data": ("'data'", ("data",)),
}

#: The reader's word of the categories that are not statuses.
_OTHER_WORDS = {"service_area": "value.service_area", "suitability": "section.suitability", "data": "map.data"}
_OTHER_COLOURS = {"service_area": theme.NEUTRAL, "suitability": theme.STATUS_COLOURS["met"], "data": theme.MUTED}
_FAMILIES = {"POINT": "point", "MULTIPOINT": "point", "LINESTRING": "line", "MULTILINESTRING": "line",
             "POLYGON": "polygon", "MULTIPOLYGON": "polygon"}
# WKB geometry type codes (ISO: +1000 Z, +2000 M, +3000 ZM) of the families nbgeo styles.
_WKB_FAMILIES = {1: "point", 4: "point", 2: "line", 5: "line", 3: "polygon", 6: "polygon"}
# The distinct (byte order, type) of a GeoPackage geometry blob's WKB, found by SQLite alone: the blob is "GP",
# a version byte, a flags byte whose bits 1-3 give the envelope's size, 4 bytes of SRS id, the envelope, the WKB.
_ENVELOPE = "(CASE ((instr('0123456789ABCDEF', substr(hex(substr({g}, 4, 1)), 2, 1)) - 1) >> 1) & 7 " \
            "WHEN 0 THEN 0 WHEN 1 THEN 32 WHEN 2 THEN 48 WHEN 3 THEN 48 ELSE 64 END)"
log = logging.getLogger(__name__)
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"
_SLD = "http://www.opengis.net/sld"


@dataclass(frozen=True)
class Category:
    """One category of a style: the value matched, its legend word and its colour (``#rrggbb``)."""

    value: str
    legend: str
    colour: str


def _check_kind(kind: str) -> tuple[str, tuple[str, ...]]:
    if kind not in KINDS:
        msg = f"unknown kind of output layer {kind!r}; kinds: {', '.join(KINDS)}"
        raise ValueError(msg)
    return KINDS[kind]


def categories(kind: str, lang: str = "zh") -> list[Category]:
    """The categories of ``kind``, in legend order, with the report's words in ``lang`` and the theme's colours."""
    labels.check_lang(lang)
    _, values = _check_kind(kind)
    out = []
    for value in values:
        if value in _OTHER_WORDS:
            out.append(Category(str(value), labels.word(_OTHER_WORDS[value], lang), _OTHER_COLOURS[value]))
        else:
            out.append(Category(str(value), labels.status_word(value, lang), theme.colour(value)))
    return out


def sqlite_name(name: str) -> str:
    """An SQLite identifier, quoted: the one way nbgeo puts a table or column name into GeoPackage SQL.

    Examples
    --------
    >>> sqlite_name('rule "x"; DROP TABLE gpkg_contents')
    '"rule ""x""; DROP TABLE gpkg_contents"'
    """
    return '"' + name.replace('"', '""') + '"'


def _stored_families(db: sqlite3.Connection, layer: str, column: str) -> set[str | None]:
    """The families of the geometries a GeoPackage layer holds (for a layer declared as any ``GEOMETRY``)."""
    table, geom = sqlite_name(layer), sqlite_name(column)
    envelope = _ENVELOPE.format(g=geom)
    rows = db.execute(f"SELECT DISTINCT hex(substr({geom}, 9 + {envelope}, 5)) FROM {table} "  # noqa: S608 (quoted)
                      f"WHERE {geom} IS NOT NULL").fetchall()
    families: set[str | None] = set()
    for (head,) in rows:
        if len(head) != 10:
            families.add(None)
            continue
        order, code = head[:2], bytes.fromhex(head[2:])
        families.add(_WKB_FAMILIES.get(int.from_bytes(code, "little" if order == "01" else "big") % 1000))
    return families


def geometry_family(type_name: str) -> str:
    """``point``, ``line`` or ``polygon`` for a geometry type name (``MultiPolygon``, ``POINT`` ...)."""
    family = _FAMILIES.get(type_name.upper().removesuffix(" Z").removesuffix("Z"))
    if family is None:
        msg = f"nbgeo styles points, lines and polygons, not {type_name!r}; write one layer per geometry type"
        raise OutputError(msg, code="E-IO-WRITE")
    return family


def label_expression(fields: Sequence[str]) -> str | None:
    """The QGIS expression labelling a feature with its id and Chinese name, from the fields it has (or None)."""
    parts = [f'"{name}"' for name in ("feature_id", "id", "name") if name in fields]
    if "feature_id" in fields and "id" in fields:
        parts.remove('"id"')
    return " || ' ' || ".join(f"coalesce({p}, '')" for p in parts) or None


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    value = hex_colour.lstrip("#")
    return ",".join(str(int(value[i:i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _options(parent: ET.Element, values: dict[str, str]) -> None:
    holder = ET.SubElement(parent, "Option", type="Map")
    for name, value in values.items():
        ET.SubElement(holder, "Option", name=name, value=value, type="QString")


def _symbol(parent: ET.Element, name: str, family: str, colour: str, *, faint: bool = False) -> None:
    """One symbol; ``faint`` for context (the dataset's layers, service areas), which must not hide findings."""
    kind = {"point": "marker", "line": "line", "polygon": "fill"}[family]
    symbol = ET.SubElement(parent, "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    attrib = {"enabled": "1", "locked": "0", "pass": "0"}
    if family == "point":
        layer = ET.SubElement(symbol, "layer", attrib={"class": "SimpleMarker", **attrib})
        _options(layer, {"name": "circle", "color": _rgba(colour, 160 if faint else 255),
                         "outline_color": "255,255,255,255", "outline_style": "no" if faint else "solid",
                         "outline_width": "0.3", "outline_width_unit": "MM", "size": "0.8" if faint else "2.6",
                         "size_unit": "MM"})
    elif family == "line":
        layer = ET.SubElement(symbol, "layer", attrib={"class": "SimpleLine", **attrib})
        _options(layer, {"line_color": _rgba(colour), "line_width": "0.3" if faint else "0.8",
                         "line_width_unit": "MM", "line_style": "solid", "capstyle": "round", "joinstyle": "round"})
    else:
        layer = ET.SubElement(symbol, "layer", attrib={"class": "SimpleFill", **attrib})
        _options(layer, {"color": _rgba(colour, 25 if faint else 90), "style": "solid",
                         "outline_color": _rgba(colour, 160 if faint else 255), "outline_style": "solid",
                         "outline_width": "0.2" if faint else "0.6", "outline_width_unit": "MM"})


#: Categories drawn faintly: context, not findings.
_FAINT = frozenset({"service_area", "data"})


def style_elements(kind: str, family: str, fields: Sequence[str], lang: str = "zh") -> list[ET.Element]:
    """The ``renderer-v2`` and ``labeling`` elements of a style (a QML's body, a project layer's too)."""
    attr, _ = _check_kind(kind)
    renderer = ET.Element("renderer-v2", type="categorizedSymbol", attr=attr, symbollevels="0",
                          enableorderby="0", forceraster="0")
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, cat in enumerate(categories(kind, lang)):
        ET.SubElement(cats, "category", value=cat.value, label=cat.legend, symbol=str(i), render="true")
        _symbol(symbols, str(i), family, cat.colour, faint=cat.value in _FAINT)
    out = [renderer]
    expression = label_expression(fields)
    if expression is not None:
        labeling = ET.Element("labeling", type="simple")
        settings = ET.SubElement(labeling, "settings", calloutType="simple")
        ET.SubElement(settings, "text-style", fieldName=expression, isExpression="1", fontSize="8",
                      fontSizeUnit="Point", textColor="31,35,40,255", fontFamily="Noto Sans CJK SC",
                      namedStyle="Regular", textOpacity="1")
        ET.SubElement(settings, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferSizeUnits="MM",
                      bufferColor="255,255,255,255", bufferOpacity="1")
        placement = {"point": "6", "line": "2", "polygon": "1"}[family]  # around, curved, over the centroid
        ET.SubElement(settings, "placement", placement=placement, dist="1", distUnits="MM")
        ET.SubElement(settings, "rendering", obstacle="1", scaleVisibility="0",
                      fontMinPixelSize="3", maxNumLabels="2000", limitNumLabels="0")
        out.append(labeling)
    return out


def qml(kind: str, family: str, fields: Sequence[str], lang: str = "zh") -> str:
    """The QML of ``kind`` for a layer of ``family`` (point, line, polygon) with ``fields``."""
    root = ET.Element("qgis", version="3.22.0", styleCategories="Symbology|Labeling",
                      labelsEnabled="1" if label_expression(fields) else "0")
    root.extend(style_elements(kind, family, fields, lang))
    ET.SubElement(root, "layerGeometryType").text = {"point": "0", "line": "1", "polygon": "2"}[family]
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")


def _sld_symbolizer(rule: ET.Element, family: str, colour: str) -> None:
    def param(parent: ET.Element, tag: str, name: str, value: str) -> None:
        ET.SubElement(parent, f"{{{_SE}}}{tag}", name=name).text = value

    if family == "point":
        sym = ET.SubElement(rule, f"{{{_SE}}}PointSymbolizer")
        mark = ET.SubElement(ET.SubElement(sym, f"{{{_SE}}}Graphic"), f"{{{_SE}}}Mark")
        ET.SubElement(mark, f"{{{_SE}}}WellKnownName").text = "circle"
        param(ET.SubElement(mark, f"{{{_SE}}}Fill"), "SvgParameter", "fill", colour)
        param(ET.SubElement(mark, f"{{{_SE}}}Stroke"), "SvgParameter", "stroke", "#ffffff")
        ET.SubElement(sym[0], f"{{{_SE}}}Size").text = "9"
    elif family == "line":
        stroke = ET.SubElement(ET.SubElement(rule, f"{{{_SE}}}LineSymbolizer"), f"{{{_SE}}}Stroke")
        param(stroke, "SvgParameter", "stroke", colour)
        param(stroke, "SvgParameter", "stroke-width", "3")
    else:
        sym = ET.SubElement(rule, f"{{{_SE}}}PolygonSymbolizer")
        fill = ET.SubElement(sym, f"{{{_SE}}}Fill")
        param(fill, "SvgParameter", "fill", colour)
        param(fill, "SvgParameter", "fill-opacity", "0.35")
        stroke = ET.SubElement(sym, f"{{{_SE}}}Stroke")
        param(stroke, "SvgParameter", "stroke", colour)
        param(stroke, "SvgParameter", "stroke-width", "2")


def sld(kind: str, family: str, layer: str, fields: Sequence[str], lang: str = "zh") -> str:
    """The SLD 1.1 of ``kind``: one rule per category (a filter on the status field), and the labels.

    Categories read from an expression rather than a field (chosen sites, zones) have no filter.
    """
    attr, _ = _check_kind(kind)
    root = ET.Element(f"{{{_SLD}}}StyledLayerDescriptor", version="1.1.0")
    named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    ET.SubElement(named, f"{{{_SE}}}Name").text = layer
    style = ET.SubElement(named, f"{{{_SLD}}}UserStyle")
    ET.SubElement(style, f"{{{_SE}}}Name").text = layer
    fts = ET.SubElement(style, f"{{{_SE}}}FeatureTypeStyle")
    by_field = attr in fields
    for cat in categories(kind, lang):
        rule = ET.SubElement(fts, f"{{{_SE}}}Rule")
        ET.SubElement(rule, f"{{{_SE}}}Name").text = cat.value
        ET.SubElement(ET.SubElement(rule, f"{{{_SE}}}Description"), f"{{{_SE}}}Title").text = cat.legend
        if by_field:
            equal = ET.SubElement(ET.SubElement(rule, f"{{{_OGC}}}Filter"), f"{{{_OGC}}}PropertyIsEqualTo")
            ET.SubElement(equal, f"{{{_OGC}}}PropertyName").text = attr
            ET.SubElement(equal, f"{{{_OGC}}}Literal").text = cat.value
        _sld_symbolizer(rule, family, cat.colour)
    name = next((n for n in ("feature_id", "id", "name") if n in fields), None)
    if name is not None:
        rule = ET.SubElement(fts, f"{{{_SE}}}Rule")
        text = ET.SubElement(rule, f"{{{_SE}}}TextSymbolizer")
        ET.SubElement(ET.SubElement(text, f"{{{_SE}}}Label"), f"{{{_OGC}}}PropertyName").text = name
    ET.register_namespace("se", _SE)
    ET.register_namespace("ogc", _OGC)
    ET.register_namespace("sld", _SLD)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


_CREATE = """CREATE TABLE IF NOT EXISTS "layer_styles" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), "f_geometry_column" TEXT(256),
"styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, "useAsDefault" BOOLEAN, "description" TEXT,
"owner" TEXT(30), "ui" TEXT(30), "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""


def style_geopackage(path: str | Path, layer: str, kind: str, lang: str = "zh") -> None:
    """Store the style of ``kind`` as the default style of ``layer`` in the GeoPackage at ``path``.

    The style goes into the ``layer_styles`` table (created, and registered in ``gpkg_contents``, when
    missing), replacing nbgeo's earlier style of that layer; QGIS applies it when the layer is opened.

    Examples
    --------
    >>> import tempfile, pathlib, sqlite3, geopandas as gpd
    >>> from shapely import Point
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.gpkg"
    >>> gpd.GeoDataFrame({"id": ["MP1"], "status": ["fail"]}, geometry=[Point(121.5, 29.9)],
    ...                  crs=4326).to_file(path, layer="rule_sites")
    >>> style_geopackage(path, "rule_sites", "rule_sites")
    >>> with sqlite3.connect(path) as db:
    ...     db.execute("SELECT f_table_name, f_geometry_column, styleName, useAsDefault FROM layer_styles").fetchall()
    [('rule_sites', 'geom', 'nbgeo', 1)]
    """
    _check_kind(kind)
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT column_name, geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ?",
                           (layer,)).fetchone()
        if found is None:
            msg = f"{str(path)!r} has no vector layer {layer!r} to style"
            raise OutputError(msg, code="E-IO-WRITE")
        column, type_name = found
        fields = [row[1] for row in db.execute(f"PRAGMA table_info({sqlite_name(layer)})")]  # no parameters there
        declared = _FAMILIES.get(type_name.upper().removesuffix(" Z").removesuffix("Z"))
        held = {declared} if declared is not None else _stored_families(db, layer, column)
        family = next(iter(held)) if len(held) == 1 else None
        if family is None:  # declared as any geometry and holding several families, or none
            log.info("%s: layer %r holds %s; QGIS styles one geometry type per layer, so it is left unstyled",
                     path, layer, "no geometry" if not held else "mixed geometry types")
            return
        db.execute(_CREATE)
        if db.execute("SELECT 1 FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone() is None:
            db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, last_change) VALUES "
                       "('layer_styles', 'attributes', 'layer_styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))")
            # GDAL keeps its feature counts there; a table it does not count is one it may not list.
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_ogr_contents'").fetchone() is not None:
                db.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES ('layer_styles', NULL)")
        db.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (layer,))
        db.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = 'nbgeo'", (layer,))
        db.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                   "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) "
                   "VALUES ('', '', ?, ?, 'nbgeo', ?, ?, 1, ?, '', '')",
                   (layer, column, qml(kind, family, fields, lang), sld(kind, family, layer, fields, lang),
                    f"nbgeo {kind} ({lang})"))
