"""The bad-input corpus, built by code so every byte of every case is reviewable.

Each :class:`Case` writes a small dataset folder (``dataset.toml`` plus the
layer files) holding one fault, and names the nbgeo code it must end in.
``ERRORS`` must each end in exit code 2 with that code; ``ACCEPTED`` are
inputs nbgeo reads, reporting the named warning (or nothing) and losing
nothing. ``row`` is the row of the checklist in ``../shared/RELIABILITY.md``
§4 the case covers (``+`` marks cases beyond the checklist: Chinese data,
FileGDB, Excel, manifests).

Build them all into a folder (for inspection, or as fuzzing seeds)::

    python tests/corpus/cases.py /tmp/corpus
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
from shapely import Polygon

X0, Y0 = 121.55, 29.87  # Ningbo's old town centre


@dataclass(frozen=True)
class Case:
    """One corpus input: how to build it, and what nbgeo must say about it."""

    id: str
    row: str
    code: str
    build: Callable[[Path], None]
    layer: str | None = "constraints"
    feature: object = None
    cli_args: tuple[str, ...] = ()
    api_kwargs: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)


# --- helpers --------------------------------------------------------------------------------------

def manifest(folder: Path, file: str, *, kind: str = "constraints", **keys: Any) -> None:
    lines = ['[dataset]\nname = "corpus"\n\n', f"[layers.{kind}]\n", f'file = "{file}"\n',
             'source = "nbgeo test corpus"\nlicence = "CC0-1.0"\n']
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in keys.items()]
    (folder / "dataset.toml").write_text("".join(lines), encoding="utf-8")


def zone(fid: str = "z1", name: str = "湖", kind: str = "water") -> dict[str, Any]:
    return {"id": fid, "name": name, "kind": kind}


def charger(fid: str = "c1") -> dict[str, Any]:
    return {"id": fid, "type": "charging", "ports": 2, "year": 2022}


def square(x: float = X0, y: float = Y0, d: float = 0.01) -> list[list[list[float]]]:
    return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]


def feature(props: dict[str, Any], geometry: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    return {"type": "Feature", **extra, "properties": props, "geometry": geometry}


def poly(coords: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": coords}


def geojson_text(features: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features}, ensure_ascii=False)


def geojson_case(features: list[dict[str, Any]] | Callable[[], str], *, kind: str = "constraints", **keys: Any
                 ) -> Callable[[Path], None]:
    """A builder writing one GeoJSON layer (features, or raw text from a callable) and its manifest."""

    def build(folder: Path) -> None:
        text = features() if callable(features) else geojson_text(features)
        (folder / f"{kind}.geojson").write_text(text, encoding="utf-8")
        manifest(folder, f"{kind}.geojson", kind=kind, **keys)

    return build


def good_zones(n: int = 3) -> list[dict[str, Any]]:
    return [feature(zone(f"z{i + 1}"), poly(square(X0 + 0.02 * i))) for i in range(n)]


def gdf_zones(geoms: list[Any], crs: Any = 4326, ids: list[str] | None = None) -> gpd.GeoDataFrame:
    ids = ids or [f"z{i + 1}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"id": ids, "name": ["湖"] * len(geoms), "kind": ["water"] * len(geoms)},
                            geometry=geoms, crs=crs)


def gpkg_case(make: Callable[[], gpd.GeoDataFrame], *, kind: str = "constraints", **keys: Any) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        pyogrio.write_dataframe(make(), folder / f"{kind}.gpkg", driver="GPKG", layer=kind)
        manifest(folder, f"{kind}.gpkg", kind=kind, **keys)

    return build


def shp_files(folder: Path, gdf: gpd.GeoDataFrame, stem: str = "zones", encoding: str = "UTF-8") -> None:
    pyogrio.write_dataframe(gdf, folder / f"{stem}.shp", driver="ESRI Shapefile", encoding=encoding)


def shp_case(mutate: Callable[[Path], None] | None = None, *, gdf: Callable[[], gpd.GeoDataFrame] | None = None,
             encoding: str = "UTF-8", **keys: Any) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        shp_files(folder, gdf() if gdf else gdf_zones([Polygon(square()[0]), Polygon(square(X0 + 0.02)[0])]),
                  encoding=encoding)
        if mutate is not None:
            mutate(folder)
        manifest(folder, "zones.shp", **keys)

    return build


def gbk_names() -> gpd.GeoDataFrame:
    g = gdf_zones([Polygon(square()[0]), Polygon(square(X0 + 0.02)[0])])
    g["name"] = ["宁波市鄞州区东钱湖", "北仑区梅山水道"]
    return g


def zip_of(folder: Path, name: str, members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def shp_bytes(gdf: gpd.GeoDataFrame, encoding: str = "UTF-8", stem: str = "zones",
              drop: tuple[str, ...] = ()) -> dict[str, bytes]:
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"nbgeo-corpus-{os.getpid()}-{id(gdf)}"
    scratch.mkdir(parents=True, exist_ok=True)
    shp_files(scratch, gdf, stem=stem, encoding=encoding)
    out = {}
    for part in sorted(scratch.iterdir()):
        if part.suffix not in drop:
            out[f"{stem}/{part.name}"] = part.read_bytes()
        part.unlink()
    scratch.rmdir()
    return out


def zip_case(members: Callable[[], dict[str, bytes]], *, after: Callable[[Path], None] | None = None,
             **keys: Any) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        path = zip_of(folder, "zones.zip", members())
        if after is not None:
            after(path)
        manifest(folder, "zones.zip", **keys)

    return build


def write_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> None:
    """An Excel workbook with one sheet per entry, its rows as given (the first is the header)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)


def xlsx_case(sheets: dict[str, list[list[Any]]], *, kind: str = "chargers", **keys: Any) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        write_workbook(folder / "parks.xlsx", sheets)
        manifest(folder, "parks.xlsx", kind=kind, **keys)

    return build


def csv_case(text: str, *, file_encoding: str = "utf-8", kind: str = "chargers", **keys: Any
             ) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / "parks.csv").write_bytes(text.encode(file_encoding))
        manifest(folder, "parks.csv", kind=kind, **keys)

    return build


def raw_case(name: str, data: bytes | Callable[[Path], None], **keys: Any) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        if callable(data):
            data(folder / name)
        else:
            (folder / name).write_bytes(data)
        manifest(folder, name, **keys)

    return build


def gdb_case(layers: dict[str, gpd.GeoDataFrame] | None, *, zipped: bool = False, **keys: Any
             ) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        gdb = folder / "zones.gdb"
        if layers is None:
            gdb.mkdir()
            (gdb / "timestamps").write_bytes(b"\x00" * 16)
        for name, gdf in (layers or {}).items():
            pyogrio.write_dataframe(gdf, gdb, driver="OpenFileGDB", layer=name)
        manifest(folder, "zones.gdb", **keys)

    return build


def truncate(path: Path, keep: float) -> None:
    """Keep ``keep`` bytes (an int), drop ``-keep`` bytes (a negative int), or keep a fraction (0 < keep < 1)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(keep) if keep >= 1 or keep < 0 else int(len(data) * keep)])


CHARGER_ROWS = [["id", "经度", "纬度", "type", "ports", "year"],
                ["c1", X0, Y0, "charging", 2, 2022],
                ["c2", X0 + 0.01, Y0, "charging", 4, 2023]]

# --- the cases that must be refused (exit code 2) ------------------------------------------------

def _bomb() -> dict[str, bytes]:
    return {"zones/zones.geojson": geojson_text(good_zones(1)).encode() + b" " * (30 * 2**20)}


def _encrypted(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            data[i + offset] |= 0x01
            start = i + 4
    path.write_bytes(bytes(data))


def _crc_damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    i = data.find(b"PK\x03\x04")
    name_len = int.from_bytes(data[i + 26:i + 28], "little")
    extra = int.from_bytes(data[i + 28:i + 30], "little")
    body = i + 30 + name_len + extra
    data[body + 5] ^= 0xFF
    path.write_bytes(bytes(data))


def _plain_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE zones (id TEXT, name TEXT)")
    con.commit()
    con.close()


def _two_layer_gpkg(folder: Path) -> None:
    g = gdf_zones([Polygon(square()[0])])
    pyogrio.write_dataframe(g, folder / "zones.gpkg", driver="GPKG", layer="zones_2022")
    pyogrio.write_dataframe(g, folder / "zones.gpkg", driver="GPKG", layer="zones_2023", append=False)


def _gpkg(name: str = "zones.gpkg", layer: str = "zones") -> Callable[[Path], None]:
    def write(path: Path) -> None:
        pyogrio.write_dataframe(gdf_zones([Polygon(square(X0 + 0.02 * i)[0]) for i in range(40)]), path,
                                driver="GPKG", layer=layer)

    return write


def _xls_bytes() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def _fgb(path: Path) -> None:
    pyogrio.write_dataframe(gdf_zones([Polygon(square(X0 + 0.02 * i)[0]) for i in range(50)]), path,
                            driver="FlatGeobuf")


def _truncated(writer: Callable[[Path], None], keep: float) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        writer(path)
        truncate(path, keep)

    return write


def _symlink_out(folder: Path) -> None:
    outside = folder.parent / f"{folder.name}-outside.geojson"
    outside.write_text(geojson_text(good_zones(1)), encoding="utf-8")
    (folder / "zones.geojson").symlink_to(outside)
    manifest(folder, "zones.geojson")


def _gbk_shp_in_zip() -> dict[str, bytes]:
    return shp_bytes(gbk_names(), encoding="GBK", drop=(".cpg",))


def _two_shp_zip() -> dict[str, bytes]:
    g = gdf_zones([Polygon(square()[0])])
    return {**shp_bytes(g, stem="zones_2022"), **shp_bytes(g, stem="zones_2023")}


def _wrong_cpg(folder: Path) -> None:
    (folder / "zones.cpg").write_text("UTF-8")


def _drop(suffix: str) -> Callable[[Path], None]:
    return lambda folder: (folder / f"zones{suffix}").unlink()


def _cut(suffix: str, keep: int) -> Callable[[Path], None]:
    return lambda folder: truncate(folder / f"zones{suffix}", keep)


def _mismatched_dbf(folder: Path) -> None:
    scratch = folder / "other"
    scratch.mkdir()
    shp_files(scratch, gdf_zones([Polygon(square()[0])]))
    (folder / "zones.dbf").write_bytes((scratch / "zones.dbf").read_bytes())
    for part in scratch.iterdir():
        part.unlink()
    scratch.rmdir()


def _many_vertices() -> gpd.GeoDataFrame:
    angles = np.linspace(0, 2 * np.pi, 500, endpoint=False)
    ring = np.column_stack([X0 + 0.01 * np.cos(angles), Y0 + 0.01 * np.sin(angles)])
    return gdf_zones([Polygon(square()[0]), Polygon(ring)])


ERRORS: list[Case] = [
    # geometry
    Case("bowtie", "1", "E-GEOM-SELFX", geojson_case(
        [*good_zones(1), feature(zone("z2"), poly([[[X0, Y0], [X0 + .01, Y0 + .01], [X0 + .01, Y0], [X0, Y0 + .01],
                                                   [X0, Y0]]]))]), feature="z2"),
    Case("unclosed-ring", "2", "E-GEOM-UNCLOSED", geojson_case(
        [*good_zones(2), feature(zone("z3"), poly([square()[0][:4]]))]), feature="z3"),
    Case("ring-three-positions", "3", "E-GEOM-FEWPOINTS", geojson_case(
        [feature(zone("z1"), poly([[[X0, Y0], [X0 + .01, Y0], [X0, Y0]]]))]), feature="z1"),
    Case("nan-vertex-gpkg", "4", "E-GEOM-NONFINITE", gpkg_case(lambda: gdf_zones(
        [Polygon(square()[0]), Polygon([(X0, Y0), (np.nan, Y0), (X0 + .01, Y0 + .01), (X0, Y0)])])), feature="z2"),
    Case("inf-vertex-gpkg", "5", "E-GEOM-NONFINITE", gpkg_case(lambda: gdf_zones(
        [Polygon([(X0, Y0), (np.inf, Y0), (X0 + .01, Y0 + .01), (X0, Y0)])])), feature="z1"),
    Case("nan-literal", "6", "E-GEOM-NONFINITE", geojson_case(lambda: geojson_text(
        [feature(charger(), {"type": "Point", "coordinates": [float("nan"), Y0]})]), kind="chargers"),
        layer="chargers", feature="c1"),
    Case("huge-number-literal", "7", "E-FILE-PARSE", geojson_case(lambda: geojson_text(
        [feature(charger(), {"type": "Point", "coordinates": [1, 2]})]).replace("[1, 2]", "[1e400, 2]"),
        kind="chargers"), layer="chargers"),
    Case("coordinates-1e300", "8", "E-CRS-OUTOFBOUNDS", geojson_case(
        [feature(charger(), {"type": "Point", "coordinates": [1e300, 1e300]})], kind="chargers"), layer="chargers",
        feature="c1"),
    Case("outside-cgcs2000-area", "8", "E-CRS-OUTOFBOUNDS", gpkg_case(lambda: gdf_zones(
        [Polygon(square()[0]), Polygon(square(10.0, 50.0)[0])], crs=4490)), feature="z2"),
    Case("hole-outside-shell", "11", "E-GEOM-HOLE", geojson_case(
        [feature(zone(), poly([square()[0], square(X0 + 0.05, Y0 + 0.05, 0.002)[0]]))]), feature="z1"),
    Case("nested-holes", "11", "E-GEOM-HOLE", geojson_case(
        [feature(zone(), poly([square(X0, Y0, 0.1)[0], square(X0 + .01, Y0 + .01, .08)[0],
                               square(X0 + .02, Y0 + .02, .01)[0]]))]), feature="z1"),
    Case("overlapping-parts", "12", "E-GEOM-SELFX", geojson_case(
        [feature(zone(), {"type": "MultiPolygon", "coordinates": [square(X0, Y0, .02), square(X0 + .01, Y0 + .01, .02)]})]),
        feature="z1"),
    Case("spike", "13", "E-GEOM-DEGENERATE", geojson_case(
        [feature(zone(), poly([[[X0, Y0], [X0 + .02, Y0], [X0 + .02, Y0 + .02], [X0 + .01, Y0 + .02],
                                [X0 + .01, Y0 + .05], [X0 + .01, Y0 + .02], [X0, Y0 + .02], [X0, Y0]]]))]), feature="z1"),
    Case("zero-area-ring", "13", "E-GEOM-DEGENERATE", geojson_case(
        [feature(zone(), poly([[[X0, Y0], [X0, Y0 + .01], [X0, Y0 + .02], [X0, Y0]]]))]), feature="z1"),
    Case("mixed-geometry-types", "16", "E-LAYER-GEOMTYPE", geojson_case(
        [*good_zones(1), feature(zone("z2"), {"type": "Point", "coordinates": [X0, Y0]}),
         feature(zone("z3"), {"type": "LineString", "coordinates": [[X0, Y0], [X0 + .1, Y0]]})]), feature="z2"),
    Case("string-coordinates", "20", "E-GEOM-PARSE", geojson_case(
        [feature(charger("c1"), {"type": "Point", "coordinates": [X0, Y0]}),
         feature(charger("c2"), {"type": "Point", "coordinates": [str(X0), str(Y0)]})], kind="chargers"),
        layer="chargers", feature="c2"),
    Case("missing-prj", "21", "E-CRS-MISSING", shp_case(_drop(".prj"))),
    Case("crs-file-vs-manifest", "22", "E-CRS-MISMATCH", gpkg_case(lambda: gdf_zones(
        [Polygon(square()[0])]).to_crs(4549), crs="EPSG:4326")),
    Case("lonlat-swapped", "23", "E-CRS-AXIS", geojson_case(
        [feature(charger("c1"), {"type": "Point", "coordinates": [X0, Y0]}),
         feature(charger("c2"), {"type": "Point", "coordinates": [Y0, X0]})], kind="chargers"),
        layer="chargers", feature="c2"),
    Case("lonlat-swapped-csv", "23", "E-CRS-AXIS", csv_case(
        f"id,lon,lat,type,ports,year\nc1,{X0},{Y0},charging,2,2022\nc2,{Y0},{X0},charging,2,2022\n", datum="WGS84"),
        layer="chargers", feature="c2"),
    Case("degrees-in-gauss-kruger", "24", "E-CRS-UNITS", gpkg_case(lambda: gdf_zones(
        [Polygon(square()[0])]).set_crs(4549, allow_override=True))),
    Case("metres-in-lonlat", "24", "E-CRS-UNITS", gpkg_case(lambda: gdf_zones(
        [Polygon(square()[0])]).to_crs(4549).set_crs(4326, allow_override=True)), feature="z1"),
    Case("gauss-kruger-zone-prefix", "24", "E-CRS-ZONE", gpkg_case(lambda: gdf_zones(
        [Polygon(square()[0])]).to_crs(4528).set_crs(4549, allow_override=True)), feature="z1"),
    Case("gcj02-outside-china", "26", "E-CRS-OUTOFBOUNDS", geojson_case(
        [feature(charger("c1"), {"type": "Point", "coordinates": [X0, Y0]}),
         feature(charger("c2"), {"type": "Point", "coordinates": [0, 0]})], kind="chargers", datum="GCJ-02"),
        layer="chargers", feature="c2"),
    Case("gcj02-projected", "26", "E-CRS-DATUM", gpkg_case(lambda: gdf_zones(
        [Polygon(square()[0])]).to_crs(4549), datum="GCJ-02")),
    Case("csv-datum-undeclared", "26", "E-CRS-DATUM", csv_case(
        f"id,lon,lat,type,ports,year\nc1,{X0},{Y0},charging,2,2022\n"), layer="chargers"),
    Case("antimeridian", "27", "E-GEOM-ANTIMERIDIAN", geojson_case(
        [feature(zone(), poly([[[179, 1], [-179, 1], [-179, -1], [179, -1], [179, 1]]]))]), feature="z1"),
    Case("duplicate-feature-id", "28", "E-ID-DUPLICATE", geojson_case(lambda: geojson_text(
        [{"type": "Feature", "id": 7, "properties": {"name": "湖", "kind": "water"}, "geometry": poly(square())},
         {"type": "Feature", "id": 7, "properties": {"name": "湖", "kind": "water"},
          "geometry": poly(square(X0 + .02))}])), feature="7"),
    Case("duplicate-id-attribute", "29", "E-ID-DUPLICATE", geojson_case(
        [feature(zone("z1"), poly(square())), feature(zone("z1"), poly(square(X0 + .02)))]), feature="z1"),
    Case("null-id", "30", "E-ID-MISSING", geojson_case(
        [feature(zone("z1"), poly(square())), feature({**zone(), "id": None}, poly(square(X0 + .02)))])),
    Case("no-id-column", "30", "E-ID-MISSING", geojson_case(
        [feature({"name": "湖", "kind": "water"}, poly(square()))])),
    # encodings
    Case("gbk-shapefile-without-cpg", "34", "E-ENC-SUSPECT", shp_case(_drop(".cpg"), gdf=gbk_names, encoding="GBK")),
    Case("gbk-shapefile-wrong-cpg", "34", "E-ENC-INVALID", shp_case(_wrong_cpg, gdf=gbk_names, encoding="GBK")),
    Case("gbk-shapefile-zipped-without-cpg", "34", "E-ENC-SUSPECT", zip_case(_gbk_shp_in_zip)),
    Case("mojibake-saved-as-utf8", "34", "E-ENC-SUSPECT", geojson_case(
        [feature(zone(name="宁波市鄞州区".encode("gbk").decode("latin-1")), poly(square()))])),
    Case("latin1-bytes-in-geojson", "35", "E-ENC-INVALID", raw_case("zones.geojson", geojson_text(
        [feature(zone(name="Caf\u00e9"), poly(square()))]).encode("latin-1"))),
    Case("gbk-csv-without-encoding", "35", "E-ENC-INVALID", csv_case(
        f"id,经度,纬度,type,ports,year\nc1,{X0},{Y0},charging,2,2022\n", file_encoding="gbk", datum="GCJ-02"),
        layer="chargers"),
    Case("unknown-encoding", "35", "E-ENC-UNKNOWN", csv_case(
        f"id,lon,lat,type,ports,year\nc1,{X0},{Y0},charging,2,2022\n", datum="WGS84"),
        layer="chargers", cli_args=("--encoding", "klingon"), api_kwargs={"encoding": "klingon"}),
    # truncated and corrupt files
    Case("truncated-geojson", "37", "E-FILE-TRUNCATED", geojson_case(lambda: geojson_text(good_zones(5))[:-150])),
    Case("invalid-json", "38", "E-FILE-PARSE", geojson_case(lambda: geojson_text(good_zones(3)).replace(
        '"properties": {', '"properties": {{', 1))),
    Case("binary-garbage", "38", "E-FILE-PARSE", raw_case("zones.geojson", bytes(range(256)) * 8)),
    Case("zip-named-geojson", "38", "E-FORMAT-MISMATCH", raw_case("zones.geojson", b"PK\x03\x04" + b"\x00" * 60)),
    Case("empty-file", "38", "E-FILE-EMPTY", raw_case("zones.geojson", b"")),
    Case("missing-shx", "39", "E-SHP-MISSING-PART", shp_case(_drop(".shx"))),
    Case("missing-dbf", "40", "E-SHP-MISSING-PART", shp_case(_drop(".dbf"))),
    Case("truncated-shp", "41", "E-FILE-TRUNCATED", shp_case(_cut(".shp", -40))),
    Case("truncated-dbf", "41", "E-FILE-TRUNCATED", shp_case(_cut(".dbf", -30))),
    Case("dbf-from-another-export", "41", "E-FILE-CORRUPT", shp_case(_mismatched_dbf)),
    Case("truncated-gpkg", "42", "E-FILE-CORRUPT", raw_case("zones.gpkg", _truncated(_gpkg(), 0.6))),
    Case("sqlite-not-geopackage", "42", "E-FORMAT-FORBIDDEN", raw_case("zones.gpkg", _plain_sqlite)),
    Case("truncated-flatgeobuf", "42", "E-FILE-TRUNCATED", raw_case("zones.fgb", _truncated(_fgb, 300))),
    Case("filegdb-without-catalog", "+", "E-FILE-CORRUPT", gdb_case(None)),
    Case("filegdb-two-layers", "+", "E-LAYER-AMBIGUOUS", gdb_case(
        {"zones_2022": gdf_zones([Polygon(square()[0])]), "zones_2023": gdf_zones([Polygon(square()[0])])})),
    Case("filegdb-missing-layer", "48", "E-LAYER-MISSING", gdb_case(
        {"zones_2022": gdf_zones([Polygon(square()[0])])}, layer="zones_2024")),
    # zips
    Case("zip-two-shapefiles", "44", "E-LAYER-AMBIGUOUS", zip_case(_two_shp_zip)),
    Case("truncated-zip", "45", "E-ZIP-CORRUPT", zip_case(
        lambda: shp_bytes(gdf_zones([Polygon(square()[0])])), after=lambda p: truncate(p, 0.7))),
    Case("zip-crc-damaged", "45", "E-ZIP-CORRUPT", zip_case(
        lambda: {"zones/zones.geojson": geojson_text(good_zones(20)).encode()}, after=_crc_damage)),
    Case("zip-encrypted-member", "45", "E-ZIP-ENCRYPTED", zip_case(
        lambda: {"zones/zones.geojson": geojson_text(good_zones(2)).encode()}, after=_encrypted)),
    Case("zip-bomb", "46", "E-LIMIT-ZIPRATIO", zip_case(_bomb)),
    Case("zip-member-escapes", "62", "E-PATH-OUTSIDE", zip_case(
        lambda: {"../../zones.geojson": geojson_text(good_zones(1)).encode()})),
    Case("zip-only-vrt", "60", "E-FORMAT-FORBIDDEN", zip_case(
        lambda: {"zones.vrt": b"<OGRVRTDataSource><OGRVRTLayer name='x'><SrcDataSource>/etc/hostname"
                              b"</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"})),
    Case("zip-nested-zip", "43", "E-LAYER-MISSING", zip_case(
        lambda: {"inner.zip": b"PK\x05\x06" + b"\x00" * 18})),
    # layers
    Case("empty-zone-layer", "47", "E-LAYER-EMPTY", geojson_case([])),
    Case("gpkg-missing-layer", "48", "E-LAYER-MISSING", gpkg_case(lambda: gdf_zones([Polygon(square()[0])]),
                                                                  layer="parcels")),
    Case("gpkg-two-layers", "48", "E-LAYER-AMBIGUOUS", lambda f: (_two_layer_gpkg(f), manifest(f, "zones.gpkg"))),
    Case("too-many-features", "49", "E-LIMIT-FEATURES", geojson_case(good_zones(12)),
         cli_args=("--max-features", "10"), limits={"max_features": 10}),
    Case("too-many-vertices", "50", "E-LIMIT-VERTICES", gpkg_case(_many_vertices),
         cli_args=("--max-vertices", "100"), limits={"max_vertices": 100}, feature="z2"),
    Case("input-too-large", "+", "E-LIMIT-SIZE", geojson_case(good_zones(200)),
         cli_args=("--max-input-mb", "0.01"), limits={"max_input_bytes": 10_000}),
    # hostile paths and formats
    Case("vrt-named-geojson", "60", "E-FORMAT-FORBIDDEN", raw_case("zones.geojson",
         b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/hostname</SrcDataSource>'
         b"</OGRVRTLayer></OGRVRTDataSource>")),
    Case("gdalg-named-geojson", "60", "E-FORMAT-FORBIDDEN", raw_case("zones.geojson",
         b'{"type": "gdal_streamed_alg", "command_line": "gdal vector pipeline ! read /etc/passwd ! write '
         b'--of stream streamed_dataset"}')),
    Case("vrt-file", "60", "E-FORMAT-FORBIDDEN", raw_case("zones.vrt", b"<OGRVRTDataSource/>")),
    Case("xls-file", "+", "E-FORMAT-FORBIDDEN", raw_case("parks.xls", _xls_bytes())),
    Case("vsicurl-path", "61", "E-PATH-REMOTE", lambda f: manifest(f, "/vsicurl/http://127.0.0.1:9/zones.geojson")),
    Case("http-path", "61", "E-PATH-REMOTE", lambda f: manifest(f, "http://127.0.0.1:9/zones.geojson")),
    Case("dotdot-path", "62", "E-PATH-OUTSIDE", lambda f: manifest(f, "../../etc/zones.geojson")),
    Case("symlink-out", "62", "E-PATH-OUTSIDE", _symlink_out),
    Case("missing-file", "+", "E-FILE-MISSING", lambda f: manifest(f, "zones.geojson")),
    # tables of coordinates
    Case("excel-no-coordinate-columns", "+", "E-COLUMN-MISSING", xlsx_case(
        {"parks": [["id", "地址", "type", "ports", "year"], ["c1", "鄞州区", "charging", 2, 2022]]}, datum="GCJ-02"),
        layer="chargers"),
    Case("excel-dms-coordinates", "+", "E-VALUE-TYPE", xlsx_case(
        {"parks": [*CHARGER_ROWS, ["c3", "121°33′E", "29°52′N", "charging", 2, 2022]]}, datum="GCJ-02"),
        layer="chargers", feature="c3"),
    Case("excel-two-sheets", "+", "E-LAYER-AMBIGUOUS", xlsx_case(
        {"2022": CHARGER_ROWS, "2023": CHARGER_ROWS}, datum="GCJ-02"), layer="chargers"),
    Case("excel-missing-sheet", "+", "E-LAYER-MISSING", xlsx_case(
        {"2022": CHARGER_ROWS}, datum="GCJ-02", **{"layer": "2024"}), layer="chargers"),
    Case("excel-truncated", "+", "E-FILE-CORRUPT", lambda f: (xlsx_case({"p": CHARGER_ROWS}, datum="GCJ-02")(f),
                                                              truncate(f / "parks.xlsx", 0.5)), layer="chargers"),
    Case("excel-bomb", "46", "E-LIMIT-ZIPRATIO", lambda f: (
        zip_of(f, "parks.xlsx", {"[Content_Types].xml": b"<Types/>", "xl/sharedStrings.xml": b" " * (30 * 2**20)}),
        manifest(f, "parks.xlsx", kind="chargers", datum="GCJ-02")), layer="chargers"),
    Case("csv-ragged-rows", "+", "E-FILE-PARSE", csv_case(
        f"id,lon,lat,type,ports,year\nc1,{X0},{Y0},charging,2,2022\nc2,{X0},{Y0},charging,2,2022,x,y\n",
        datum="WGS84"), layer="chargers"),
    Case("csv-one-coordinate", "+", "E-VALUE-MISSING", csv_case(
        f"id,lon,lat,type,ports,year\nc1,{X0},,charging,2,2022\n", datum="WGS84"), layer="chargers", feature="c1"),
    # manifest and schema
    Case("manifest-syntax", "+", "E-MANIFEST-SYNTAX", lambda f: (f / "dataset.toml").write_text("[layers.zones\n")),
    Case("manifest-unknown-key", "+", "E-MANIFEST-KEY", lambda f: manifest(f, "zones.geojson", colour="red")),
    Case("manifest-unknown-datum", "+", "E-CRS-DATUM", lambda f: manifest(f, "zones.geojson", datum="Beijing54")),
    Case("manifest-bad-crs", "+", "E-CRS-INVALID", lambda f: manifest(f, "zones.geojson", crs="EPSG:99999")),
    Case("value-not-allowed", "+", "E-VALUE-CATEGORY", geojson_case(
        [feature(zone(kind="volcano"), poly(square()))]), feature="z1"),
    Case("year-not-a-number", "+", "E-VALUE-TYPE", geojson_case(
        [feature({**charger(), "year": "soon"}, {"type": "Point", "coordinates": [X0, Y0]})], kind="chargers"),
        layer="chargers", feature="c1"),
    Case("required-column-missing", "+", "E-COLUMN-MISSING", geojson_case(
        [feature({"id": "z1", "name": "湖"}, poly(square()))])),
    Case("assume-crs-invalid", "21", "E-CRS-INVALID", shp_case(_drop(".prj")),
         cli_args=("--assume-crs", "EPSG:99999"), api_kwargs={"assume_crs": "EPSG:99999"}),
]


# --- inputs nbgeo must accept, with the warning it owes (or none) -----------------------------------

def _line(coords: list[tuple[float, ...]]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(c) for c in coords]}


ACCEPTED: list[Case] = [
    Case("empty-geometry", "9", "W-GEOM-EMPTY", geojson_case(
        [*good_zones(1), feature(zone("z2"), {"type": "Polygon", "coordinates": []})]), feature="z2"),
    Case("null-geometry", "10", "W-GEOM-NULL", geojson_case([*good_zones(1), feature(zone("z2"), None)]),
         feature="z2"),
    Case("repeated-vertices", "14", "W-GEOM-REPEATED", geojson_case(
        [feature(zone(), poly([[[X0, Y0], [X0 + .01, Y0], [X0 + .01, Y0], [X0 + .01, Y0 + .01], [X0, Y0]]]))])),
    Case("clockwise-exterior", "15", "", geojson_case(
        [feature(zone(), poly([list(reversed(square()[0]))]))])),
    Case("z-with-nan", "18", "W-GEOM-Z", geojson_case(lambda: geojson_text(
        [feature(charger(), {"type": "Point", "coordinates": [X0, Y0, float("nan")]})]), kind="chargers"),
        layer="chargers", feature="c1"),
    Case("four-element-positions", "19", "W-GEOM-M-DROPPED", geojson_case(
        [feature(charger(), {"type": "Point", "coordinates": [X0, Y0, 3.0, 4.0]})], kind="chargers"),
        layer="chargers"),
    Case("legacy-crs-member", "25", "W-GEOJSON-NONRFC", geojson_case(lambda: geojson_text(
        [feature(zone(), poly([[[13531000.0, 3486000.0], [13532000.0, 3486000.0], [13532000.0, 3487000.0],
                                [13531000.0, 3486000.0]]]))],
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}))),
    Case("gbk-shapefile-with-cpg", "33", "", shp_case(gdf=gbk_names, encoding="GBK")),
    Case("gbk-shapefile-with-encoding-option", "34", "", shp_case(_drop(".cpg"), gdf=gbk_names,
                                                                                encoding="GBK"),
         cli_args=("--encoding", "GBK"), api_kwargs={"encoding": "GBK"}),
    Case("utf8-bom", "36", "", lambda f: ((f / "zones.geojson").write_bytes(
        b"\xef\xbb\xbf" + geojson_text(good_zones(2)).encode()), manifest(f, "zones.geojson"))),
    Case("zipped-shapefile", "43", "", zip_case(lambda: shp_bytes(gdf_zones([Polygon(square()[0])])))),
    Case("zip-with-named-layer", "44", "", zip_case(_two_shp_zip, **{"layer": "zones_2023"})),
    Case("missing-prj-assumed", "21", "W-CRS-ASSUMED", shp_case(_drop(".prj")),
         cli_args=("--assume-crs", "EPSG:4490"), api_kwargs={"assume_crs": "EPSG:4490"}),
    Case("bowtie-repaired", "1", "W-GEOM-REPAIRED", geojson_case(
        [feature(zone(), poly([[[X0, Y0], [X0 + .01, Y0 + .01], [X0 + .01, Y0], [X0, Y0 + .01], [X0, Y0]]]))]),
        feature="z1", cli_args=("--repair",), api_kwargs={"repair": True}),
    Case("unclosed-ring-repaired", "2", "W-GEOM-REPAIRED", geojson_case(
        [feature(zone(), poly([square()[0][:4]]))]), feature="z1", cli_args=("--repair",),
        api_kwargs={"repair": True}),
    Case("filegdb", "+", "", gdb_case({"zones": gdf_zones([Polygon(square()[0])])})),
    Case("excel-gcj02", "+", "", xlsx_case({"parks": CHARGER_ROWS}, datum="GCJ-02"), layer="chargers"),
    Case("csv-amap-location-column", "+", "", csv_case(
        f'id,location,type,ports,year\nc1,"{X0},{Y0}",charging,2,2022\n', datum="GCJ-02"), layer="chargers"),
    Case("gbk-csv-with-encoding", "35", "", csv_case(
        f"id,经度,纬度,type,ports,year\nc1,{X0},{Y0},charging,2,2022\n", file_encoding="gbk", datum="BD-09",
        **{"encoding": "GBK"}), layer="chargers"),
    Case("roads-lines", "+", "", geojson_case(
        [feature({"id": "r1", "name": "路", "year": 2022, "kind": "new"}, _line([(X0, Y0), (X0 + .01, Y0)]))],
        kind="smart_roads"), layer="smart_roads"),
]


def build_all(root: Path, cases: list[Case]) -> dict[str, Path]:
    """Build every case into its own folder under ``root``."""
    out = {}
    for case in cases:
        folder = root / case.id
        folder.mkdir(parents=True)
        with warnings.catch_warnings():  # the builders make NaN rings on purpose
            warnings.simplefilter("ignore", RuntimeWarning)
            case.build(folder)
        out[case.id] = folder
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-build")
    built = build_all(target / "errors", ERRORS) | build_all(target / "accepted", ACCEPTED)
    print(f"built {len(ERRORS)} refused and {len(ACCEPTED)} accepted cases into {target}")
