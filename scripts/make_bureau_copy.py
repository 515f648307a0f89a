"""Make a bureau-style copy of the embedded Ningbo sample: the same data, handed over the way a planning office would.

A planning bureau's exports keep their own names, codes, formats and datums. This script rewrites every layer of
the sample so (all of it is as illustrative as the sample, and labelled so):

* Chinese field names (编号, 名称, 用地面积, 入驻企业数, 出让年份, 地类编码 ...) and Chinese labels
  (新建 / 改造提升 / 规划, 充电站 / 换电站, 生态保护红线 ...);
* the bureau's units: micro-parks' 用地面积 in 亩, parcels' 出让面积 in 平方米, zones' 工业总产值 and projects'
  总投资 in 万元 (``units`` in the manifest; nbgeo converts them on read, :mod:`nbgeo.units`);
* years as bureaus write them: 出让年份 as ``"2021年"``, micro-parks' 建成日期 as a GeoPackage date field, the
  chargers' 投运日期 as ``"2021/6/30"`` text (nbgeo reads the year of each, :mod:`nbgeo.forms`);
* Shapefiles in GBK (with a ``.cpg``), whose long names GDAL cuts to 10 bytes: ``行政区划代码`` arrives as
  ``行政区划代``, the yearly outputs ``工业总产值2020`` ... as ``工业总产值``, ``工业总产_1`` ...;
* a 地类编码 column of national codes (国土空间调查、规划、用途管制用地用海分类 2023: 100101-100103 industrial,
  1101/110101 logistics ...) instead of nbgeo's ``use``;
* an Excel workbook ``园区.xlsx`` whose sheets are layers: the featured parks and the future-industry zones as WKT
  polygons in GCJ-02, as copied from a web map;
* the chargers, and the computing centres, as GBK CSV files of Amap (GCJ-02) longitude/latitude;
* the yearly list of projects under construction as a workbook ``重大项目.xlsx`` (one row per project and year,
  with 项目名称, 总投资(亿元), 开工年份, 竣工年份 ... and GCJ-02 经度/纬度 columns), as a development-and-reform
  office keeps it;
* the 前湾 zone's outline as a GBK Shapefile in the bureau's projected CRS, CGCS2000 / 3-degree Gauss-Krüger
  CM 120°E (EPSG:4549), as a surveyed boundary comes;
* ``dataset.toml`` with the mapping (``columns``, ``values``) that reads it all as the sample.

The rasters, the road network and the indicator table are copied as they are. ``nbgeo audit`` on the copy gives
the sample's audit, target by target (``tests/test_bureau_copy.py``).

Usage::

    python scripts/make_bureau_copy.py OUT_FOLDER
    nbgeo validate OUT_FOLDER && nbgeo audit OUT_FOLDER --out OUT_FOLDER/audit
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nbgeo import datasets  # noqa: E402
from nbgeo.crs import convert_gdf_datum  # noqa: E402
from nbgeo.landuse import TABLES  # noqa: E402
from nbgeo.layers import LAYERS  # noqa: E402
from nbgeo.sanitize import to_csv, to_xlsx  # noqa: E402
from nbgeo.units import factor  # noqa: E402

SAMPLE = datasets.get_path("ningbo")

#: Per layer: the file it becomes (``file`` or ``file#sheet``), and our column -> the bureau's field name.
FIELDS: dict[str, tuple[str, dict[str, str]]] = {
    "districts": ("区县界线.shp", {"id": "编号", "name": "名称", "name_en": "英文名称", "adcode": "行政区划代码"}),
    "clusters": ("产业集聚区.shp", {"id": "编号", "name": "名称", "tier": "能级", "lead_industries": "主导产业",
                                   **{f"output_{y}": f"工业总产值{y}" for y in range(2020, 2026)}}),
    "featured_parks": ("园区.xlsx#特色产业园", {"id": "编号", "name": "园区名称", "industry": "主导产业",
                                              "year": "认定年份"}),
    "future_zones": ("园区.xlsx#未来产业先导区", {"id": "编号", "name": "名称", "theme": "产业方向",
                                               "year": "设立年份"}),
    "micro_parks": ("小微企业园.gpkg", {"id": "编号", "name": "名称", "status": "建设状态", "year": "建成日期",
                                      "area": "用地面积", "enterprises": "入驻企业数"}),
    "land_transfers": ("供地.shp", {"id": "宗地编号", "use": "地类编码", "year": "出让年份", "area": "出让面积"}),
    "chargers": ("充电设施.csv", {"id": "编号", "type": "类型", "ports": "充电桩数", "year": "投运日期"}),
    "smart_roads": ("智慧道路.geojson", {"id": "编号", "name": "道路名称", "year": "建成年份", "kind": "建设方式"}),
    "base_stations_5g": ("5G基站.gpkg", {"id": "站址编号", "year": "开通年份"}),
    "constraints": ("管控边界.shp", {"id": "编号", "name": "名称", "kind": "管控类型"}),
    "receptors": ("学校医院.geojson", {"id": "编号", "name": "名称", "kind": "类别", "county": "所在区县"}),
    "projects": ("重大项目.xlsx#在建项目", {"id": "序号", "project": "项目代码", "name": "项目名称",
                                         "sector": "项目类别", "industry": "行业", "investment": "总投资(万元)",
                                         "start_year": "开工年份", "end_year": "竣工年份", "district": "所属区县",
                                         "year": "年份"}),
    "computing_centres": ("算力中心.csv", {"id": "编号", "name": "名称", "kind": "类型", "chain": "服务产业链",
                                       "year": "投运年份"}),
    "qianwan_zone": ("前湾合作区范围.shp", {"id": "编号", "name": "名称", "year": "设立年份"}),
}

#: Our value -> the bureau's label, per layer and column.
LABELS: dict[tuple[str, str], dict[str, str]] = {
    ("micro_parks", "status"): {"built": "新建", "upgraded": "改造提升", "planned": "规划"},
    ("chargers", "type"): {"charging": "充电站", "swapping": "换电站"},
    ("smart_roads", "kind"): {"new": "新建", "renovated": "改造"},
    ("constraints", "kind"): {"ecological_red_line": "生态保护红线", "water": "水域", "basic_farmland": "永久基本农田",
                              "residential": "居住区", "school": "学校", "hospital": "医院",
                              "other_sensitive": "其他敏感目标", "urban_development_boundary": "城镇开发边界"},
    ("receptors", "kind"): {"school": "学校", "hospital": "医院"},
    ("projects", "sector"): {"manufacturing": "制造业", "other": "非制造业"},
    ("computing_centres", "kind"): {"supercomputing": "智能超算中心", "data_centre": "产业链数据中心"},
}

#: Per layer: our column (or yearly family) -> the unit the bureau writes it in (``units`` in the manifest).
UNITS: dict[str, dict[str, str]] = {
    "micro_parks": {"area": "亩"},
    "land_transfers": {"area": "平方米"},
    "clusters": {"output_{year}": "万元"},
    "projects": {"investment": "万元"},
}
#: Per layer: how the bureau writes its year column: "年" ("2021年"), "date" (a date field), "slash" ("2021/6/30").
YEARS: dict[str, str] = {"land_transfers": "年", "micro_parks": "date", "chargers": "slash"}

#: The national classification the parcels' 地类编码 come from.
LAND_USE_TABLE = "gb_land_use_2023"
#: Layers held in GCJ-02, as copied from a web map (declared in the manifest; nbgeo converts them).
GCJ02 = ("featured_parks", "future_zones", "chargers", "projects", "computing_centres")
#: Layers held in the bureau's projected CRS (the .prj says so; nbgeo reprojects them).
PROJECTED = {"qianwan_zone": "EPSG:4549"}  # CGCS2000 / 3-degree Gauss-Kruger CM 120E


def _codes_by_use() -> dict[str, list[str]]:
    """Every 4- and 6-digit code of the 2023 classification, grouped by the use nbgeo reads it as."""
    table = TABLES[LAND_USE_TABLE]
    out: dict[str, list[str]] = {}
    for code in table.codes:
        use = table.use_of(code)
        if use is not None and len(code) >= 4:
            out.setdefault(use, []).append(code)
    return {use: sorted(codes) for use, codes in out.items()}


def _bureau_table(name: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer under the bureau's names and labels (codes for land use, spread over each use's classes)."""
    fields = FIELDS[name][1]
    out = gdf.copy()
    for (layer, column), labels in LABELS.items():
        if layer == name:
            unlabelled = sorted(set(out[column].dropna()) - set(labels))
            if unlabelled:  # a value the sample gained since: say so rather than hand over blanks
                raise ValueError(f"{name}.{column}: no bureau label for {unlabelled}; add them to LABELS")
            out[column] = out[column].map(labels)
    if name == "land_transfers":
        codes = _codes_by_use()
        out["use"] = [codes[use][i % len(codes[use])] for i, use in enumerate(out["use"])]
    for key, theirs in UNITS.get(name, {}).items():  # our numbers in the bureau's unit, unrounded
        spec = LAYERS[name].column(key)
        assert spec is not None and spec.unit, (name, key)
        ratio = factor(spec.unit, theirs)
        prefix, yearly, suffix = key.partition("{year}")
        for column in [c for c in out.columns if c == key or (yearly and re.fullmatch(
                re.escape(prefix) + r"\d{4}" + re.escape(suffix), str(c)))]:
            out[column] = out[column] * ratio.numerator / ratio.denominator
    if name in YEARS:
        out["year"] = _bureau_years(out["year"], YEARS[name])
    return out.rename(columns=fields)


def _bureau_years(years: pd.Series, form: str) -> pd.Series:
    """Years as the bureau writes them; the month and day of a date are made up (the sample has years only)."""
    if form == "年":
        return years.astype(int).astype(str) + "年"
    row = pd.Series(range(len(years)), index=years.index)
    dates = pd.to_datetime(pd.DataFrame({"year": years.astype(int), "month": 1 + row % 12, "day": 1 + (row * 7) % 28}))
    if form == "date":
        return dates.dt.date  # a GeoPackage Date field
    return dates.dt.year.astype(str) + "/" + dates.dt.month.astype(str) + "/" + dates.dt.day.astype(str)


def _shapefile(gdf: gpd.GeoDataFrame, path: Path, ours: list[str]) -> dict[str, str]:
    """Write a GBK Shapefile as a bureau's export is; return our column -> the field name GDAL actually kept."""
    with warnings.catch_warnings():  # GDAL says it cut the names: that is the point of this copy
        warnings.simplefilter("ignore")
        gdf.to_file(path, driver="ESRI Shapefile", encoding="GBK", engine="pyogrio")
    kept = [str(f) for f in pyogrio.read_info(path)["fields"]]
    return dict(zip(ours, kept, strict=True))


def _wkt_sheet(gdf: gpd.GeoDataFrame, geometry_field: str) -> pd.DataFrame:
    """A sheet: the attributes, then each feature's outline as WKT (9 decimals, about 0.1 mm)."""
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    table[geometry_field] = shapely.to_wkt(gdf.geometry.values, rounding_precision=9)
    return table


def _points_table(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Points as longitude/latitude columns (经度, 纬度; 9 decimals), as a spreadsheet holds them."""
    xy = shapely.get_coordinates(gdf.geometry.values)
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).assign(经度=xy[:, 0].round(9), 纬度=xy[:, 1].round(9))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _table(section: str, entries: dict[str, Any]) -> str:
    return f"[{section}]\n" + "".join(f"{key} = {_toml_value(value)}\n" for key, value in entries.items())


def make_bureau_copy(out: str | Path, *, sample: Path = SAMPLE) -> Path:
    """Write the bureau-style copy of ``sample`` into the new folder ``out`` and return it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = make_bureau_copy(pathlib.Path(tempfile.mkdtemp()) / "bureau")
    >>> sorted(p.name for p in folder.glob("*.shp"))
    ['产业集聚区.shp', '供地.shp', '前湾合作区范围.shp', '区县界线.shp', '管控边界.shp']
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=False)
    manifest = tomllib.loads((sample / "dataset.toml").read_text(encoding="utf-8"))
    layers: dict[str, dict[str, Any]] = {}
    books: dict[str, dict[str, pd.DataFrame]] = {}  # workbook -> its sheets, one per layer
    for name, (target, fields) in FIELDS.items():
        raw = manifest["layers"][name]
        gdf = gpd.read_file(sample / raw["file"])
        if name in GCJ02:
            gdf = convert_gdf_datum(gdf, from_datum="WGS84", to_datum="GCJ-02")
        if name in PROJECTED:
            gdf = gdf.to_crs(PROJECTED[name])
        table = _bureau_table(name, gdf)
        file, _, sheet = target.partition("#")
        entry: dict[str, Any] = {"file": file}
        columns = dict(fields)
        if sheet and (table.geom_type == "Point").all():
            entry.update(layer=sheet, x_column="经度", y_column="纬度")
            books.setdefault(file, {})[sheet] = _points_table(table)
        elif sheet:
            entry["layer"] = sheet
            entry["geometry_column"] = "边界"
            books.setdefault(file, {})[sheet] = _wkt_sheet(table, "边界")
        elif file.endswith(".shp"):
            entry["encoding"] = "GBK"
            columns = _shapefile(table, out / file, list(fields))
        elif file.endswith(".csv"):
            entry.update(encoding="GBK", x_column="经度", y_column="纬度")
            _points_csv(table, out / file)
        elif file.endswith(".gpkg"):  # through Arrow, so that a date column is a GeoPackage Date field
            table.to_file(out / file, layer=Path(file).stem, driver="GPKG", engine="pyogrio", use_arrow=True)
        else:
            table.to_file(out / file, driver="GeoJSON")
        if name in GCJ02:
            entry["datum"] = "GCJ-02"
        entry.update(source=f"{raw['source']} (bureau-style copy: scripts/make_bureau_copy.py)",
                     licence=raw["licence"], illustrative=raw.get("illustrative", False),
                     note=f"{raw.get('note', '')}; rewritten under a bureau's names by scripts/make_bureau_copy.py")
        entry["columns"] = {ours: theirs for ours, theirs in columns.items() if ours != theirs}
        labels = {column: {ours: theirs for ours, theirs in values.items()}
                  for (layer, column), values in LABELS.items() if layer == name}
        if labels:
            entry["values"] = labels
        if name == "land_transfers":
            entry["values"] = {"use": LAND_USE_TABLE}
        if name in UNITS:
            entry["units"] = UNITS[name]
        layers[name] = entry
    for file, sheets in books.items():  # each workbook, one sheet per layer
        (out / file).write_bytes(to_xlsx(sheets))
    for section in ("rasters", "networks", "tables"):
        for raw in manifest.get(section, {}).values():
            shutil.copy2(sample / raw["file"], out / raw["file"])
    text = ["# Illustrative: a bureau-style copy of the nbgeo Ningbo sample, made by scripts/make_bureau_copy.py.",
            "# Same data as the sample, under a planning bureau's field names, codes, formats and datums; the",
            "# columns/values tables read it as the sample's. Not a real bureau's data.", "",
            _table("dataset", {"name": "ningbo-bureau-copy",
                               "title": "宁波样例数据的规划局式副本(示意) / Bureau-style copy of the Ningbo sample",
                               "description": "Illustrative: the nbgeo sample rewritten as a bureau would hand it "
                                              "over (scripts/make_bureau_copy.py)."})]
    for name, entry in layers.items():
        text.append(_table(f"layers.{name}", entry))
    for section in ("rasters", "networks", "tables"):
        for name, raw in manifest.get(section, {}).items():
            text.append(_table(f"{section}.{name}", raw))
    (out / "dataset.toml").write_text("\n".join(text), encoding="utf-8")
    return out


def _points_csv(table: gpd.GeoDataFrame, path: Path) -> None:
    """Points as longitude/latitude columns (经度, 纬度) of a GBK CSV file, as a spreadsheet exports them."""
    path.write_bytes(to_csv(_points_table(table), index=False).encode("GBK"))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python scripts/make_bureau_copy.py OUT``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder to create (must not exist)")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"{args.out} exists; give a new folder", file=sys.stderr)
        return 2
    folder = make_bureau_copy(args.out)
    print(f"wrote {folder}: " + ", ".join(sorted(p.name for p in folder.iterdir())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
