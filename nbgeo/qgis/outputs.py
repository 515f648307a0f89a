"""The QGIS outputs of a command: styled findings, the dataset's layers and ``project.qgz``.

A command's files are written into a staging folder and published as one set (:mod:`nbgeo._atomic`); the
writers here follow that: each takes the path to write, and the project writer reads the styled
GeoPackages already written beside it. Paths to the dataset's files are made relative to the folder the
set is published in, so the project opens wherever the folder and the dataset move together.

Examples
--------
>>> import tempfile, pathlib, zipfile
>>> from nbgeo import io
>>> ds = io.read_sample()
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> files = qgis_files(ds, out, overlays={})
>>> list(files)
['project.qgz']
>>> for name, write in files.items():
...     write(out / name)
>>> zipfile.ZipFile(out / "project.qgz").namelist()
['project.qgs']
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS, Transformer

from ..errors import OutputError
from ..status import Status
from .project import ProjectLayer, styled_layers, write_project
from .styles import geometry_family, style_geopackage

__all__ = ["FILES", "dataset_layers", "qgis_files", "write_findings"]

#: Every file the QGIS format may add to a command's outputs.
FILES = ("findings.gpkg", "dataset.gpkg", "project.qgz")

Writer = Callable[[Path], object]
_PLAIN = {".geojson", ".json", ".gpkg", ".shp", ".fgb"}  # files QGIS opens as nbgeo read them
_SAME_DATUM = {"WGS84", "CGCS2000"}  # within a metre of each other; GCJ-02 and BD-09 are shifted by hundreds


def _kind_of(statuses: set[str]) -> str:
    """The style of an overlay from the statuses it holds."""
    if statuses & {Status.FAIL, Status.PASS} or statuses <= {Status.UNKNOWN}:
        return "rule_sites"
    if statuses & {Status.UNCOVERED, Status.COVERED, "service_area"}:
        return "uncovered"
    if statuses <= {Status.PROPOSED}:
        return "chosen"
    return "findings"


def _names(dataset: Any) -> pd.Series:
    """Feature id → name over every layer of ``dataset`` that has names (ids are unique per dataset)."""
    parts = [layer.gdf["name"].astype("string") for layer in dataset.layers.values() if "name" in layer.gdf]
    names = pd.concat(parts) if parts else pd.Series(dtype="string")
    return names[~names.index.duplicated()]


def write_findings(overlays: Mapping[str, gpd.GeoDataFrame], path: Path, *, dataset: Any = None,
                   lang: str = "zh") -> list[str]:
    """Write each overlay (failing sites, uncovered sites, proposed sites) as styled layers of one GeoPackage.

    An overlay with several geometry types becomes one layer per type. Each feature carries ``id`` (or
    ``feature_id``), its ``status`` and, when the dataset names it, its ``name``. Returns the layers written.
    """
    names = _names(dataset) if dataset is not None else pd.Series(dtype="string")
    written: list[str] = []
    for title, gdf in overlays.items():
        if not len(gdf):
            continue
        out = gdf.to_crs(4326)
        if "feature_id" not in out and out.index.name is not None:
            out = out.rename_axis("id").reset_index()
        key = out["feature_id"] if "feature_id" in out else out.get("id")
        if key is not None and "name" not in out:
            out["name"] = key.astype(str).map(names)
        for column in out.columns:
            if column != out.geometry.name and out[column].dtype == object:
                out[column] = out[column].map(lambda v: None if v is None else str(v))
        kind = _kind_of(set(out["status"].astype(str)))
        families = out.geometry.geom_type.map(geometry_family)
        for family in ("point", "line", "polygon"):
            part = out[(families == family).to_numpy()]
            if not len(part):
                continue
            base = re.sub(r"\W+", "_", title).strip("_")[:50] or "findings"
            layer = f"{base}_{family}" if families.nunique() > 1 else base
            while layer in written:
                layer += "_"
            try:
                pyogrio.write_dataframe(part.reset_index(drop=True), path, driver="GPKG", layer=layer,
                                        append=path.exists(), promote_to_multi=True)
            except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError) as exc:
                msg = f"could not write {str(path)!r}: {exc}"
                raise OutputError(msg, code="E-IO-WRITE") from None
            with sqlite3.connect(path) as db:  # the title the report gives it is the name QGIS shows
                db.execute("UPDATE gpkg_contents SET identifier = ? WHERE table_name = ?",
                           (title if families.nunique() == 1 else f"{title} ({family})", layer))
            style_geopackage(path, layer, kind, lang)
            written.append(layer)
    return written


def _relative(path: Path, folder: Path) -> str:
    """``path`` as QGIS reads a relative source (``./x`` or ``../x``), or absolute across drives."""
    try:
        rel = os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:
        return path.resolve().as_posix()
    rel = Path(rel).as_posix()
    return rel if rel.startswith("../") else f"./{rel}"


def dataset_layers(dataset: Any, folder: Path) -> tuple[list[ProjectLayer], dict[str, gpd.GeoDataFrame]]:
    """The dataset's layers for a project published in ``folder``, and those that must be copied.

    A layer is referenced in its own file when QGIS reads that file as nbgeo did (a local vector file in
    WGS 84 or CGCS2000, with no layer filter); any other layer (a database table, a zip, GCJ-02 data) is
    returned to be copied, as nbgeo read it, into ``dataset.gpkg`` beside the project.
    """
    layers, copies = [], {}
    base = Path(dataset.path) if dataset.path and not str(dataset.path).startswith("postgresql") else None
    for name, layer in dataset.layers.items():
        gdf, meta = layer.gdf, layer.meta
        if not len(gdf):
            continue
        file = base / meta.file if base is not None and meta.file else None
        families = set(gdf.geometry.geom_type.dropna().map(geometry_family))
        plain = (file is not None and file.suffix.lower() in _PLAIN and file.is_file()
                 and meta.datum in _SAME_DATUM and len(families) == 1)
        if plain and file is not None:
            source = _relative(file, folder)
            if file.suffix.lower() == ".gpkg":
                found = [n for n, _ in pyogrio.list_layers(file)]
                source += f"|layername={name if name in found else found[0]}"
        else:
            copies[name] = gdf
            source = f"./dataset.gpkg|layername={name}"
        fields = tuple(str(c) for c in gdf.columns if c != gdf.geometry.name)
        for family in sorted(families):
            layers.append(ProjectLayer(name=name, title=name, source=source, family=family, group="data",
                                       kind="data", fields=fields, licence=meta.licence, origin=meta.source,
                                       note=meta.note))
    return layers, copies


def _crs_of(dataset: Any) -> tuple[CRS, str]:
    choice = getattr(dataset, "crs_choice", None)
    crs = choice.crs if choice is not None else dataset.working_crs
    return CRS.from_user_input(crs), CRS.from_user_input(crs).name


def qgis_files(dataset: Any, folder: str | Path, *, overlays: Mapping[str, gpd.GeoDataFrame] | None = None,
               lang: str = "zh", title: str = "nbgeo") -> dict[str, Writer]:
    """The writers of the QGIS outputs of a command publishing into ``folder``: findings, copies, project.

    ``project.qgz`` comes last: it lists every GeoPackage that nbgeo styled in the folder it is written to
    (the findings, ``sites.gpkg``, suitability zones ...), above the dataset's layers.
    """
    final = Path(folder)
    layers, copies = dataset_layers(dataset, final)
    files: dict[str, Writer] = {}
    if overlays and any(len(g) for g in overlays.values()):
        files["findings.gpkg"] = lambda path: write_findings(overlays, path, dataset=dataset, lang=lang)
    if copies:
        def write_copies(path: Path) -> None:
            for name, gdf in copies.items():
                pyogrio.write_dataframe(gdf.rename_axis("id").reset_index(), path, driver="GPKG", layer=name,
                                        append=path.exists(), promote_to_multi=True)
        files["dataset.gpkg"] = write_copies
    crs, crs_name = _crs_of(dataset)
    bounds = [layer.gdf.total_bounds for layer in dataset.layers.values() if len(layer.gdf)]
    extent = None
    if bounds:
        west, south = min(b[0] for b in bounds), min(b[1] for b in bounds)
        east, north = max(b[2] for b in bounds), max(b[3] for b in bounds)
        extent = Transformer.from_crs(4326, crs, always_xy=True).transform_bounds(west, south, east, north)

    def write(path: Path) -> None:
        write_project(path, [*styled_layers(path.parent), *layers], crs_wkt=crs.to_wkt(), crs_name=crs_name,
                      crs_authid=f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else "", extent=extent, title=title,
                      lang=lang)
    files["project.qgz"] = write
    return files
