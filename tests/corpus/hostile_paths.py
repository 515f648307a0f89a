"""Hostile paths (issue 13), built by code: every case is a few reviewable lines.

Three families, each refused with exit code 2 and a named code:

* ``DATASET_CASES``: a dataset folder whose manifest or files lead outside it:
  layer names that are paths (``x/../../../../victim``), a control character in
  a layer's file name (GDAL opened a VRT beside it), Shapefile, GeoPackage and
  GeoTIFF sidecars that are symbolic links out of the folder, named pipes and
  ``/dev/zero`` where a manifest, ``.prj``, ``.cpg`` or FileGDB catalog should be.
* ``PLAN_CASES``: plan files whose ids (or layer names) would become file names
  outside ``--out``.
* ``EMPTY_OUT``: every command given ``--out ""``, which wrote into the current folder.

Each dataset case builds inside ``root`` (a test's temporary folder)::

    root/outside/            files the hostile links and VRTs point at
    root/work/a/b/c/ds/      the dataset (dataset.toml + layers)
    root/work/a/b/c/out/     where the command may write (run from root/work/a/b/c)

so that a layer called ``x/../../../../victim`` written with ``--out out`` would
land in ``root/work/victim.gpkg``; the tests snapshot all of ``root`` and allow
changes only inside ``out``.

Build them all for inspection (named pipes and links included)::

    python tests/corpus/hostile_paths.py /tmp/hostile
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely import Polygon

from nbgeo import datasets

X0, Y0 = 121.55, 29.87
SAMPLE = datasets.get_path("ningbo")
SECRET = "hunter2-canary"  # the content of every file outside the dataset; it must never be read


@dataclass(frozen=True)
class Layout:
    """Where a case lives inside a test's temporary ``root``."""

    root: Path

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    @property
    def cwd(self) -> Path:
        return self.root / "work" / "a" / "b" / "c"

    @property
    def ds(self) -> Path:
        return self.cwd / "ds"

    @property
    def out(self) -> Path:
        return self.cwd / "out"

    def make(self) -> Layout:
        self.outside.mkdir(parents=True, exist_ok=True)
        self.ds.mkdir(parents=True, exist_ok=True)
        return self


@dataclass(frozen=True)
class DatasetCase:
    """A dataset folder holding one hostile path, and the code nbgeo must refuse it with."""

    id: str
    code: str
    build: Callable[[Layout, str], None]  # (layout, canary URL)
    blocks: bool = False  # a named pipe or a device: today's code hangs or runs out of memory on it
    cli: tuple[str, ...] = ("validate", "ds", "--out", "out")


# --- helpers --------------------------------------------------------------------------------------

def square(x: float = X0, y: float = Y0, d: float = 0.01) -> list[list[float]]:
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


def zones_geojson() -> str:
    feature = {"type": "Feature", "properties": {"id": "z1", "name": "湖", "kind": "water"},
               "geometry": {"type": "Polygon", "coordinates": [square()]}}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False)


def manifest(folder: Path, layers: dict[str, str], *, extra: str = "") -> None:
    """Write dataset.toml: ``layers`` maps a layer name (any text) to its file (any text)."""
    lines = ['[dataset]\nname = "hostile"\n']
    for name, file in layers.items():
        lines.append(f"\n[layers.{json.dumps(name, ensure_ascii=False)}]\nfile = {json.dumps(file, ensure_ascii=False)}\n"
                     'source = "nbgeo hostile-path corpus"\nlicence = "CC0-1.0"\ncrs = "EPSG:4326"\n')
    (folder / "dataset.toml").write_text("".join(lines) + extra, encoding="utf-8")


def plain(ds: Path) -> None:
    """A valid one-layer dataset; cases then plant their one fault in it."""
    (ds / "zones.geojson").write_text(zones_geojson(), encoding="utf-8")
    manifest(ds, {"constraints": "zones.geojson"})


def shapefile(folder: Path, stem: str = "zones") -> None:
    gdf = gpd.GeoDataFrame({"id": ["z1"], "name": ["湖"], "kind": ["water"]}, geometry=[Polygon(square())],
                           crs=4326)
    pyogrio.write_dataframe(gdf, folder / f"{stem}.shp", driver="ESRI Shapefile", encoding="UTF-8")


def shapefile_case(part: str, *, target: str = "copy") -> Callable[[Layout, str], None]:
    """A Shapefile whose ``part`` (".dbf", ".prj", ...) is a link out of the folder, a pipe, or /dev/zero."""

    def build(lay: Layout, url: str) -> None:
        shapefile(lay.ds)
        manifest(lay.ds, {"constraints": "zones.shp"})
        own = lay.ds / f"zones{part}"
        if target == "copy":  # the real part, moved outside and linked back in
            shapefile(lay.outside, "secret")
            outside = lay.outside / f"secret{part}"
            if not outside.exists():  # parts pyogrio does not write (.qix): any file outside
                outside.write_text(SECRET, encoding="utf-8")
            own.unlink(missing_ok=True)
            own.symlink_to(outside)
        elif target == "fifo":
            own.unlink(missing_ok=True)
            os.mkfifo(own)
        else:  # a device
            own.unlink(missing_ok=True)
            own.symlink_to(target)

    return build


def layer_name_case(name: str) -> Callable[[Layout, str], None]:
    """A layer whose name is a path; ``{root}`` stands for the case's root (an absolute path kept inside it)."""

    def build(lay: Layout, url: str) -> None:
        (lay.ds / "zones.geojson").write_text(zones_geojson(), encoding="utf-8")
        manifest(lay.ds, {name.replace("{root}", str(lay.root)): "zones.geojson"})

    return build


def dem_dataset(lay: Layout, *, file: str = "dem.tif", name: str = "dem") -> Path:
    """A valid dataset with the sample's DEM declared as ``[rasters.NAME]``; returns the DEM's path."""
    plain(lay.ds)
    dem = lay.ds / file
    dem.write_bytes((SAMPLE / "dem.tif").read_bytes())
    with (lay.ds / "dataset.toml").open("a", encoding="utf-8") as fh:
        fh.write(f"\n[rasters.{json.dumps(name)}]\nfile = {json.dumps(file, ensure_ascii=False)}\n")
    return dem


def raster_name_case(lay: Layout, url: str) -> None:
    dem_dataset(lay, name="../dem")


def vrt_text(source: str, layer: str = "secret") -> str:
    """An OGR VRT presenting a CSV (WKT geometry) as a polygon layer."""
    return (f'<OGRVRTDataSource><OGRVRTLayer name="zones"><SrcDataSource>{source}</SrcDataSource>'
            f"<SrcLayer>{layer}</SrcLayer><GeometryType>wkbPolygon</GeometryType><LayerSRS>EPSG:4326</LayerSRS>"
            '<GeometryField encoding="WKT" field="wkt"/></OGRVRTLayer></OGRVRTDataSource>')


def secret_csv(folder: Path) -> Path:
    ring = ", ".join(f"{x} {y}" for x, y in square())
    path = folder / "secret.csv"
    path.write_text(f'id,name,kind,wkt\nz1,{SECRET},water,"POLYGON (({ring}))"\n', encoding="utf-8")
    return path


def newline_name_case(*, remote: bool) -> Callable[[Layout, str], None]:
    """``file = "zo\\nnes.geojson"``: nbgeo checked that file, GDAL opened ``zones.geojson``, a VRT."""

    def build(lay: Layout, url: str) -> None:
        (lay.ds / "zo\nnes.geojson").write_text(zones_geojson(), encoding="utf-8")
        source = f"/vsicurl/{url}/secret.csv" if remote else str(secret_csv(lay.outside))
        (lay.ds / "zones.geojson").write_text(vrt_text(source), encoding="utf-8")
        manifest(lay.ds, {"constraints": "zo\nnes.geojson"})

    return build


def gpkg_wal_case(lay: Layout, url: str) -> None:
    gdf = gpd.GeoDataFrame({"id": ["z1"], "name": ["湖"], "kind": ["water"]}, geometry=[Polygon(square())], crs=4326)
    pyogrio.write_dataframe(gdf, lay.ds / "zones.gpkg", driver="GPKG", layer="zones")
    (lay.outside / "secret.gpkg-wal").write_text(SECRET, encoding="utf-8")
    (lay.ds / "zones.gpkg-wal").symlink_to(lay.outside / "secret.gpkg-wal")
    manifest(lay.ds, {"constraints": "zones.gpkg"})


def manifest_case(kind: str) -> Callable[[Layout, str], None]:
    """dataset.toml itself is a named pipe, /dev/zero, or a link to a file outside."""

    def build(lay: Layout, url: str) -> None:
        (lay.ds / "zones.geojson").write_text(zones_geojson(), encoding="utf-8")
        if kind == "fifo":
            os.mkfifo(lay.ds / "dataset.toml")
        elif kind == "outside":
            manifest(lay.outside, {"constraints": str(lay.ds / "zones.geojson")})
            (lay.ds / "dataset.toml").symlink_to(lay.outside / "dataset.toml")
        else:
            (lay.ds / "dataset.toml").symlink_to(kind)

    return build


def gdb_catalog_case(kind: str) -> Callable[[Layout, str], None]:
    """A FileGDB whose catalog table (a00000001.gdbtable) is a named pipe or /dev/zero."""

    def build(lay: Layout, url: str) -> None:
        gdb = lay.ds / "zones.gdb"
        gdf = gpd.GeoDataFrame({"id": ["z1"], "name": ["湖"], "kind": ["water"]}, geometry=[Polygon(square())],
                               crs=4326)
        pyogrio.write_dataframe(gdf, gdb, driver="OpenFileGDB", layer="zones")
        catalog = gdb / "a00000001.gdbtable"
        catalog.unlink()
        if kind == "fifo":
            os.mkfifo(catalog)
        else:
            catalog.symlink_to(kind)
        manifest(lay.ds, {"constraints": "zones.gdb"})

    return build


def raster_sidecar_case(kind: str) -> Callable[[Layout, str], None]:
    """A DEM whose PAM sidecar (dem.tif.aux.xml), read by GDAL on open, is a named pipe or a link outside."""

    def build(lay: Layout, url: str) -> None:
        aux = dem_dataset(lay).with_name("dem.tif.aux.xml")
        if kind == "fifo":
            os.mkfifo(aux)
        else:
            (lay.outside / "secret.aux.xml").write_text("<PAMDataset/>", encoding="utf-8")
            aux.symlink_to(lay.outside / "secret.aux.xml")

    return build


def raster_newline_case(lay: Layout, url: str) -> None:
    dem_dataset(lay, file="d\nem.tif")


def overview_vrt(dem: Path, url: str) -> Path:
    """An external overview ``dem.tif.ovr`` that is a raster VRT fetching its pixels from ``url``."""
    import rasterio

    with rasterio.open(dem) as src:
        width, height = src.width // 2, src.height // 2
    ovr = dem.with_name(dem.name + ".ovr")
    ovr.write_text(f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><VRTRasterBand dataType="Float32" '
                   f'band="1"><SimpleSource><SourceFilename>/vsicurl/{url}/dem.tif</SourceFilename>'
                   "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>", encoding="utf-8")
    return ovr


REPAIR = ("validate", "ds", "--repair", "--out", "out")
#: Layer names that are paths: `validate ds --repair --out out` wrote out/repaired/<name>.gpkg wherever it led.
LAYER_NAMES = {"layer-name-traversal": "x/../../../../victim", "layer-name-absolute": "{root}/victim",
               "layer-name-backslash": "x\\..\\..\\victim", "layer-name-dotdot": "..", "layer-name-empty": "",
               "layer-name-newline": "zo\nnes"}


def nul_name_case(lay: Layout, url: str) -> None:
    """A NUL in a layer's file name: Python cannot even look the file up (it ended in exit code 3)."""
    plain(lay.ds)
    manifest(lay.ds, {"constraints": "zo\x00nes.geojson"})


DATASET_CASES: list[DatasetCase] = [
    *(DatasetCase(case_id, "E-NAME-UNSAFE", layer_name_case(name), cli=REPAIR) for case_id, name in LAYER_NAMES.items()),
    DatasetCase("raster-name-traversal", "E-NAME-UNSAFE", raster_name_case),
    # A control character in a file name: GDAL opened zones.geojson (a VRT) instead of zo\nnes.geojson.
    DatasetCase("file-name-newline-vrt-local", "E-PATH-CONTROL", newline_name_case(remote=False)),
    DatasetCase("file-name-newline-vrt-http", "E-PATH-CONTROL", newline_name_case(remote=True)),
    DatasetCase("raster-file-name-newline", "E-PATH-CONTROL", raster_newline_case),
    DatasetCase("file-name-nul", "E-PATH-CONTROL", nul_name_case),
    # Sidecars GDAL opens on its own, linked to files outside the dataset folder.
    DatasetCase("shp-dbf-outside", "E-PATH-OUTSIDE", shapefile_case(".dbf")),
    DatasetCase("shp-shx-outside", "E-PATH-OUTSIDE", shapefile_case(".shx")),
    DatasetCase("shp-prj-outside", "E-PATH-OUTSIDE", shapefile_case(".prj")),
    DatasetCase("shp-cpg-outside", "E-PATH-OUTSIDE", shapefile_case(".cpg")),
    DatasetCase("shp-qix-outside", "E-PATH-OUTSIDE", shapefile_case(".qix")),
    DatasetCase("gpkg-wal-outside", "E-PATH-OUTSIDE", gpkg_wal_case),
    DatasetCase("tif-aux-xml-outside", "E-PATH-OUTSIDE", raster_sidecar_case("outside")),
    DatasetCase("manifest-link-outside", "E-PATH-OUTSIDE", manifest_case("outside")),
    # Named pipes and devices where a file is expected: they hung or ended in MemoryError.
    DatasetCase("manifest-fifo", "E-FILE-TYPE", manifest_case("fifo"), blocks=True),
    DatasetCase("manifest-dev-zero", "E-PATH-OUTSIDE", manifest_case("/dev/zero"), blocks=True),
    DatasetCase("shp-prj-fifo", "E-FILE-TYPE", shapefile_case(".prj", target="fifo"), blocks=True),
    DatasetCase("shp-cpg-fifo", "E-FILE-TYPE", shapefile_case(".cpg", target="fifo"), blocks=True),
    DatasetCase("shp-prj-dev-zero", "E-PATH-OUTSIDE", shapefile_case(".prj", target="/dev/zero"), blocks=True),
    DatasetCase("shp-cpg-dev-zero", "E-PATH-OUTSIDE", shapefile_case(".cpg", target="/dev/zero"), blocks=True),
    DatasetCase("gdb-catalog-fifo", "E-FILE-TYPE", gdb_catalog_case("fifo"), blocks=True),
    DatasetCase("gdb-catalog-dev-zero", "E-PATH-OUTSIDE", gdb_catalog_case("/dev/zero"), blocks=True),
    DatasetCase("tif-aux-xml-fifo", "E-FILE-TYPE", raster_sidecar_case("fifo"), blocks=True),
]


# --- plans ----------------------------------------------------------------------------------------

PLAN_HEAD = '[plan]\nid = "hostile"\ntitle = "hostile ids"\nbaseline = 2020\nhorizon = 2025\n'
#: One valid table of each kind, on the sample dataset; ``{id}`` and ``{layer}`` are filled in.
PLAN_TABLES = {
    "targets": '[[targets]]\nid = {id}\nlayer = {layer}\nmetric = "count"\nthreshold = 1\n',
    "rules": '[[rules]]\nid = {id}\nlayer = {layer}\nkind = "within"\nagainst = "districts"\nmax_distance = 0\n'
             "tolerance = 50\n",
    "coverage": '[[coverage]]\nid = {id}\ndemand = "featured_parks"\nfacilities = {layer}\ndistance = 500\n'
                'mode = "straight"\nthreshold = 100\n',
    "indicators": '[[indicators]]\nid = {id}\nthreshold = 1\ncolumn = "rd_share"\n',
    "suitability": '[[suitability]]\nid = {id}\nlayer = {layer}\ncell = 2000\nmin_score = 0.1\n\n'
                   '[[suitability.criteria]]\nkind = "distance"\nlayer = "clusters"\nweight = 1\nbest = 0\n'
                   "worst = 5000\n",
    "siting": '[[siting]]\nid = {id}\ndemand = "future_zones"\nfacilities = {layer}\ndistance = 1000\n'
              'by = "straight"\nk = 1\ncandidates = "grid"\ncell = 5000\n',
}


@dataclass(frozen=True)
class PlanCase:
    """A plan whose ``table`` holds an id (or layer) that cannot name a file."""

    id: str
    table: str
    key: str
    value: str

    def hostile(self, root: Path) -> str:
        """The hostile value; ``{root}`` stands for the test's root (an absolute path kept inside it)."""
        return self.value.replace("{root}", str(root))

    def text(self, root: Path) -> str:
        """The plan file; the hostile table comes after a valid target so its line is not the first."""
        value = self.hostile(root)
        ident = json.dumps(value if self.key == "id" else "ok_id", ensure_ascii=False)
        layer = json.dumps(value if self.key != "id" else "chargers", ensure_ascii=False)
        body = PLAN_TABLES["targets"].format(id='"first"', layer='"chargers"')
        if self.table == "plan":
            return PLAN_HEAD.replace('id = "hostile"', f"id = {ident}") + "\n" + body
        return PLAN_HEAD + "\n" + body + "\n" + PLAN_TABLES[self.table].format(id=ident, layer=layer)

    def line(self, root: Path) -> int:
        """The line of the hostile key in :meth:`text`."""
        text = self.text(root)
        quoted = json.dumps(self.hostile(root), ensure_ascii=False)
        return next(no for no, line in enumerate(text.splitlines(), 1) if line.startswith(f"{self.key} = {quoted}"))


PLAN_CASES: list[PlanCase] = [
    PlanCase("suitability-id-traversal", "suitability", "id", "../../escaped"),
    PlanCase("suitability-id-absolute", "suitability", "id", "{root}/escaped"),
    PlanCase("siting-id-traversal", "siting", "id", "../../escaped"),
    PlanCase("target-id-traversal", "targets", "id", "../x"),
    PlanCase("rule-id-newline", "rules", "id", "a\nb"),
    PlanCase("coverage-id-backslash", "coverage", "id", "..\\x"),
    PlanCase("indicator-id-empty", "indicators", "id", ""),
    PlanCase("plan-id-dotdot", "plan", "id", ".."),
    PlanCase("target-layer-traversal", "targets", "layer", "../../chargers"),
    PlanCase("suitability-layer-absolute", "suitability", "layer", "/etc/passwd"),
]


# --- --out "" ---------------------------------------------------------------------------------------

#: Every command with an output, given an empty --out (and --png): each wrote into the current folder.
EMPTY_OUT: dict[str, list[str]] = {
    "audit": ["audit", "--out", "", "--no-map", "--no-progress"],
    "map": ["map", "--out", ""],
    "map-png": ["map", "--out", "m.html", "--png", ""],
    "site": ["site", "--out", "", "--no-map", "--demand", "future_zones", "--facilities", "chargers",
             "--distance", "1000", "--by", "straight", "--k", "1", "--candidates", "grid", "--cell", "5000"],
    "coverage": ["coverage", "--out", "", "--no-map", "--id", "featured_parks_5g_500m"],
    "rules": ["rules", "--out", "", "--rule", "chargers_in_city"],
    "compare": ["compare", str(datasets.get_path("ningbo_2025")), str(datasets.get_path("ningbo_2035")),
                "--out", "", "--no-map", "--no-progress"],
    "validate": ["validate", str(SAMPLE), "--out", ""],
}


def build_all(root: Path) -> dict[str, Path]:
    """Build every dataset case under ``root/<id>`` and every plan under ``root/plans``."""
    built = {}
    for case in DATASET_CASES:
        lay = Layout(root / case.id).make()
        case.build(lay, "http://127.0.0.1:9")
        built[case.id] = lay.ds
    (root / "plans").mkdir(parents=True, exist_ok=True)
    for plan_case in PLAN_CASES:
        (root / "plans" / f"{plan_case.id}.toml").write_text(plan_case.text(root), encoding="utf-8")
    return built


if __name__ == "__main__":
    for name, folder in build_all(Path(sys.argv[1])).items():
        print(f"{name}: {folder}")
