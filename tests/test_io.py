"""Reading every format planners send, and writing GeoJSON and GeoPackage, with the values checked."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from dataset_checks import assert_same_files
from shapely import Point, Polygon, box

from nbgeo import crs, datasets, indicators, io, limits, network
from nbgeo.cli import main
from nbgeo.errors import DataError, InputError, LayerError, LimitError, NbgeoError, OutputError
from nbgeo.layers import Dataset, IndicatorTable

X0, Y0 = 121.55, 29.87


def _zones(n: int = 3, crs_: object = 4326) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [f"z{i}" for i in range(n)], "name": ["东钱湖"] * n, "kind": ["water"] * n},
                            geometry=[box(X0 + 0.02 * i, Y0, X0 + 0.02 * i + 0.01, Y0 + 0.01) for i in range(n)],
                            crs=crs_)


def _manifest(folder: Path, file: str, kind: str = "constraints", **keys: str) -> Path:
    extra = "".join(f'{k} = "{v}"\n' for k, v in keys.items())
    (folder / "dataset.toml").write_text(f'[layers.{kind}]\nfile = "{file}"\n{extra}', encoding="utf-8")
    return folder


@pytest.mark.parametrize(("suffix", "driver"), [(".geojson", "GeoJSON"), (".gpkg", "GPKG"), (".fgb", "FlatGeobuf"),
                                                (".shp", "ESRI Shapefile")])
def test_each_vector_format_reads_the_same_layer(tmp_path: Path, suffix: str, driver: str):
    pyogrio.write_dataframe(_zones(), tmp_path / f"constraints{suffix}", driver=driver)
    ds = io.read_dataset(_manifest(tmp_path, f"constraints{suffix}"))
    g = ds["constraints"]  # FlatGeobuf stores features in spatial-index order
    assert sorted(g.index) == ["z0", "z1", "z2"] and list(g["name"]) == ["东钱湖"] * 3
    assert g.geometry["z1"].normalize().equals_exact(_zones().geometry.iloc[1].normalize(), tolerance=1e-9)


def test_filegdb_folder_and_zipped_filegdb(tmp_path: Path):
    gdb = tmp_path / "plan.gdb"
    pyogrio.write_dataframe(_zones(), gdb, driver="OpenFileGDB", layer="constraints")
    pyogrio.write_dataframe(_zones(1), gdb, driver="OpenFileGDB", layer="parks", append=False)
    with pytest.raises(NbgeoError) as exc:
        io.read_dataset(_manifest(tmp_path, "plan.gdb"))
    assert exc.value.code == "E-LAYER-AMBIGUOUS" and "constraints, parks" in str(exc.value)
    ds = io.read_dataset(_manifest(tmp_path, "plan.gdb", layer="constraints"))
    assert len(ds["constraints"]) == 3
    with zipfile.ZipFile(tmp_path / "plan.zip", "w") as zf:
        for part in gdb.iterdir():
            zf.write(part, f"export/plan.gdb/{part.name}")
    ds = io.read_dataset(_manifest(tmp_path, "plan.zip", layer="constraints"))
    assert list(ds["constraints"].index) == ["z0", "z1", "z2"]


def test_zipped_shapefile_in_gbk_with_cpg_reads_chinese(tmp_path: Path):
    parts = tmp_path / "parts"
    parts.mkdir()
    pyogrio.write_dataframe(_zones(), parts / "constraints.shp", encoding="GBK")
    assert (parts / "constraints.cpg").read_text() == "GBK"
    with zipfile.ZipFile(tmp_path / "zones.zip", "w") as zf:
        for part in parts.iterdir():
            zf.write(part, part.name)
    g = io.read_dataset(_manifest(tmp_path, "zones.zip"))["constraints"]
    assert list(g["name"]) == ["东钱湖"] * 3


def test_excel_list_of_parks_copied_from_amap_is_converted_from_gcj02(tmp_path: Path):
    import openpyxl

    wgs = [(121.55, 29.87), (121.60, 29.90)]
    gcj = [tuple(float(v) for v in crs.wgs84_to_gcj02(x, y)) for x, y in wgs]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "2023年"
    sheet.append(["id", "名称", "经度（GCJ-02）", "纬度（GCJ-02）", "type", "ports", "year"])
    for i, (x, y) in enumerate(gcj):
        sheet.append([f"c{i}", f"充电站{i}", x, y, "charging", 4, 2023])
    book.create_sheet("说明")  # an empty notes sheet is not a second layer
    book.save(tmp_path / "chargers.xlsx")
    ds = io.read_dataset(_manifest(tmp_path, "chargers.xlsx", kind="chargers", datum="GCJ-02"))
    g = ds["chargers"]
    for (x, y), got in zip(wgs, g.geometry, strict=True):
        assert crs.offset_metres(x, y, got.x, got.y) < 0.01
    assert g["ports"].tolist() == [4, 4] and g["year"].tolist() == [2023, 2023]
    assert ds.layer("chargers").meta.datum == "GCJ-02"


def test_csv_with_one_location_column_in_bd09(tmp_path: Path):
    x, y = (float(v) for v in crs.wgs84_to_bd09(121.55, 29.87))
    (tmp_path / "chargers.csv").write_text(
        f'id,name,location,type,ports,year\nc1,站,"{x},{y}",charging,2,2022\nc2,站,,charging,2,2022\n',
        encoding="utf-8")
    ds = io.read_dataset(_manifest(tmp_path, "chargers.csv", kind="chargers", datum="BD-09"))
    got = ds["chargers"].geometry.iloc[0]
    assert crs.offset_metres(121.55, 29.87, got.x, got.y) < 0.01
    assert [p.code for p in ds.problems] == ["W-GEOM-NULL"]  # the row without a location is counted, not lost


def test_csv_columns_can_be_declared(tmp_path: Path):
    (tmp_path / "chargers.csv").write_text("id;东;北;type;ports;year\nc1;121.55;29.87;charging;2;2022\n",
                                           encoding="utf-8")
    with pytest.raises(NbgeoError) as exc:
        io.read_dataset(_manifest(tmp_path, "chargers.csv", kind="chargers", datum="WGS84"))
    assert "E-COLUMN-MISSING" in {p.code for p in exc.value.problems}
    ds = io.read_dataset(_manifest(tmp_path, "chargers.csv", kind="chargers", datum="WGS84", x_column="东",
                                   y_column="北"))
    assert ds["chargers"].geometry.iloc[0].equals(Point(121.55, 29.87))


def test_gauss_kruger_layer_is_validated_in_its_crs_and_reprojected(tmp_path: Path):
    projected = _zones().to_crs(4549)
    pyogrio.write_dataframe(projected, tmp_path / "constraints.gpkg", driver="GPKG")
    ds = io.read_dataset(_manifest(tmp_path, "constraints.gpkg"))
    assert ds["constraints"].crs.to_epsg() == 4326
    assert ds["constraints"].geometry.iloc[0].equals_exact(_zones().geometry.iloc[0], tolerance=1e-9)


def test_read_layer_raises_for_unreadable_features_and_keeps_warnings(tmp_path: Path):
    text = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a"}, "geometry": {"type": "Point", "coordinates": [X0, Y0, 1, 2]}},
    ]})
    (tmp_path / "p.geojson").write_text(text)
    g = io.read_layer(tmp_path / "p.geojson")
    assert [p["code"] for p in g.attrs["nbgeo_problems"]] == ["W-GEOM-M-DROPPED"]
    (tmp_path / "q.geojson").write_text(text.replace("[121.55, 29.87, 1, 2]", '["121.55", "29.87"]'))
    with pytest.raises(NbgeoError) as exc:
        io.read_layer(tmp_path / "q.geojson")
    assert exc.value.code == "E-GEOM-PARSE" and exc.value.problems[0].feature == "a"


def test_assume_crs_only_fills_a_missing_crs(tmp_path: Path):
    pyogrio.write_dataframe(_zones(), tmp_path / "constraints.shp", driver="ESRI Shapefile")
    (tmp_path / "constraints.prj").unlink()
    g = io.read_layer(tmp_path / "constraints.shp", assume_crs="EPSG:4490")
    assert g.crs.to_epsg() == 4490 and g.attrs["nbgeo_problems"][-1]["code"] == "W-CRS-ASSUMED"
    pyogrio.write_dataframe(_zones(), tmp_path / "other.gpkg", driver="GPKG")
    assert io.read_layer(tmp_path / "other.gpkg", assume_crs="EPSG:4549").crs.to_epsg() == 4326


def test_remote_paths_only_with_allow_network(tmp_path: Path):
    for path in ("http://127.0.0.1:9/zones.geojson", "s3://bucket/zones.gpkg", "/vsizip//tmp/x.zip/a.shp"):
        with pytest.raises(InputError) as exc:
            io.read_layer(path)
        assert exc.value.code == "E-PATH-REMOTE"
    with pytest.raises(InputError) as exc:  # allowed, but still only allow-listed formats
        io.read_layer("http://127.0.0.1:9/zones.vrt", allow_network=True)
    assert exc.value.code == "E-FORMAT-FORBIDDEN"
    with pytest.raises(InputError) as exc:  # allowed: GDAL is asked, and the port is closed
        io.read_layer("http://127.0.0.1:9/zones.geojson", allow_network=True)
    assert exc.value.code == "E-FILE-PARSE"


def test_limits_are_checked_before_reading(tmp_path: Path):
    pyogrio.write_dataframe(_zones(30), tmp_path / "constraints.gpkg", driver="GPKG")
    with limits.override(max_features=10), pytest.raises(LimitError) as exc:
        io.read_layer(tmp_path / "constraints.gpkg")
    assert exc.value.code == "E-LIMIT-FEATURES" and "30 features" in str(exc.value)
    with pytest.raises(LimitError):
        with limits.override(max_features=-1):
            pass
    assert limits.max_features == 5_000_000


def test_layer_choice_in_a_geopackage(tmp_path: Path):
    path = tmp_path / "plan.gpkg"
    pyogrio.write_dataframe(_zones(2), path, driver="GPKG", layer="zones_2022")
    pyogrio.write_dataframe(_zones(3), path, driver="GPKG", layer="zones_2023", append=False)
    with pytest.raises(LayerError) as exc:
        io.read_layer(path)
    assert exc.value.code == "E-LAYER-AMBIGUOUS" and "zones_2022, zones_2023" in str(exc.value)
    assert len(io.read_layer(path, layer="zones_2023")) == 3


def test_write_layer_geojson_is_rfc7946(tmp_path: Path):
    g = _zones(2).to_crs(4549).set_index("id")
    cw = Polygon([(X0, Y0), (X0, Y0 + 0.01), (X0 + 0.01, Y0 + 0.01), (X0 + 0.01, Y0), (X0, Y0)])  # clockwise
    g.loc["z1", "geometry"] = gpd.GeoSeries([cw], crs=4326).to_crs(4549).iloc[0]
    out = io.write_layer(g, tmp_path / "zones.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in doc  # WGS 84 only
    ring = np.array(doc["features"][1]["geometry"]["coordinates"][0])
    signed = np.sum((ring[1:, 0] - ring[:-1, 0]) * (ring[1:, 1] + ring[:-1, 1]))
    assert signed < 0  # counter-clockwise exterior (RFC 7946 §3.1.6)
    assert doc["features"][0]["properties"]["id"] == "z0"
    assert abs(ring[0][0] - X0) < 1e-6  # reprojected to longitude/latitude


def test_write_dataset_round_trip_keeps_provenance(tmp_path: Path):
    src = io.read_dataset(datasets.get_path("ningbo"))
    out = io.write_dataset(src, tmp_path / "copy")
    again = io.read_dataset(out)
    assert again.names == src.names
    for name in src.names:
        assert len(again[name]) == len(src[name])
        assert again.layer(name).meta.illustrative == src.layer(name).meta.illustrative
        assert again.layer(name).meta.licence == src.layer(name).meta.licence
    with pytest.raises(NbgeoError) as exc:
        io.write_dataset(src, out)
    assert exc.value.code == "E-IO-EXISTS"


def test_write_layer_refuses_nul_and_invalid(tmp_path: Path):
    g = _zones(1)
    g.loc[0, "name"] = "a\x00b"
    with pytest.raises(NbgeoError) as exc:
        io.write_layer(g, tmp_path / "a.gpkg")
    assert exc.value.code == "E-VALUE-CONTROL"
    bowtie = gpd.GeoDataFrame({"id": ["b"]}, geometry=[Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])], crs=4326)
    with pytest.raises(NbgeoError) as exc:
        io.write_layer(bowtie, tmp_path / "b.gpkg")
    assert exc.value.code == "E-GEOM-INVALID"
    assert list(tmp_path.iterdir()) == []


def test_validate_command_on_a_single_file(tmp_path: Path):
    from click.testing import CliRunner

    pyogrio.write_dataframe(_zones(), tmp_path / "constraints.gpkg", driver="GPKG")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "constraints.gpkg")])
    assert result.exit_code == 0 and "constraints (3)" in result.output
    (tmp_path / "sites.csv").write_text(f"id,lng,lat,type,ports,year\nc1,{X0},{Y0},charging,2,2022\n")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "sites.csv"), "--kind", "chargers"])
    assert result.exit_code == 2 and "E-CRS-DATUM" in result.stderr
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "sites.csv"), "--kind", "chargers",
                                       "--datum", "GCJ-02"])
    assert result.exit_code == 0, result.output


# ---- a dataset holds its layers, rasters, road networks and tables (issue 14) --------------------------------


def test_write_dataset_keeps_rasters_networks_and_tables(tmp_path: Path):
    src = io.read_sample()
    assert src.tables and src.networks and src.rasters
    again = io.read_dataset(io.write_dataset(src, tmp_path / "copy"))
    assert_same_files(src, again)
    assert indicators.table_for(again) == indicators.table_for(src)  # found in the copy, not in the sample's folder
    assert network.dataset_networks(again)["roads"].path.parent.parent == tmp_path / "copy"
    assert again.crs_choice.text == src.crs_choice.text


def test_a_dataset_built_in_memory_carries_networks_and_tables(tmp_path: Path):
    src = io.read_sample()
    built = Dataset.from_gdfs({"chargers": src["chargers"]}, name="built", networks=src.networks,
                              tables=src.tables, rasters=src.rasters)
    assert indicators.table_for(built) is src.tables["indicators"]
    assert network.dataset_networks(built)["roads"].path == Path(src.networks["roads"].path)
    again = io.read_dataset(io.write_dataset(built, tmp_path / "built"))
    assert_same_files(built, again)


def test_what_write_dataset_cannot_write_is_named_and_nothing_is_written(tmp_path: Path):
    from dataclasses import replace

    import pandas as pd

    src = io.read_sample()
    gone = replace(src.networks["roads"], path=str(tmp_path / "gone.osm.pbf"))
    built = Dataset.from_gdfs({"chargers": src["chargers"]}, networks={"roads": gone})
    with pytest.raises(OutputError, match=r"network 'roads'.*gone\.osm\.pbf") as exc:
        io.write_dataset(built, tmp_path / "out")
    assert exc.value.code == "E-IO-SOURCE"
    text_cell = IndicatorTable(pd.DataFrame({"firms": ["many"]}, index=pd.Index([2024], name="year")))
    built = Dataset.from_gdfs({"chargers": src["chargers"]}, tables={"indicators": text_cell})
    with pytest.raises(DataError, match=r"table 'indicators': column 'firms'") as exc:
        io.write_dataset(built, tmp_path / "out")
    assert exc.value.code == "E-TABLE-WRITE"
    assert list(tmp_path.iterdir()) == []


def test_readers_use_the_dataset_not_the_manifest_again(tmp_path: Path):
    # The manifest is read once, by read_dataset: networks and tables come from the Dataset afterwards.
    import shutil

    folder = tmp_path / "ds"
    shutil.copytree(datasets.get_path("ningbo"), folder)
    ds = io.read_dataset(folder)
    (folder / "dataset.toml").write_text("not = [valid", encoding="utf-8")
    assert indicators.table_for(ds).years[0] == 2020
    assert list(network.dataset_networks(ds)) == ["roads"]


@pytest.mark.parametrize(("section", "key", "value", "code"), [
    ("networks.roads", "colour", '"red"', "E-MANIFEST-KEY"),   # was accepted until the network was read
    ("tables.indicators", "encoding", '"klingon"', "E-MANIFEST-KEY"),  # was accepted until the table was read
    ("tables.indicators", "file", '"../outside.csv"', "E-PATH-OUTSIDE"),
    ("networks.roads", "file", '"../roads.osm.pbf"', "E-PATH-OUTSIDE"),
])
def test_one_manifest_reader_checks_every_table_when_the_dataset_is_read(tmp_path: Path, section, key, value, code):
    import shutil

    folder = tmp_path / "ds"
    shutil.copytree(datasets.get_path("ningbo"), folder)
    manifest = folder / "dataset.toml"
    text = manifest.read_text(encoding="utf-8")
    header = f"[{section}]\n"
    if key == "file":  # the table's own file line
        line = text.index("file = ", text.index(header))
        text = text[:line] + f"file = {value}" + text[text.index("\n", line):]
    else:
        text = text.replace(header, f"{header}{key} = {value}\n")
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(NbgeoError) as exc:
        io.read_dataset(folder)
    assert exc.value.code == code, str(exc.value)
    assert f"[{section}]" in str(exc.value) and "dataset.toml, line " in str(exc.value)


def test_deprecated_writers_still_work_and_say_so(tmp_path: Path):
    src = io.read_sample()
    with pytest.warns(DeprecationWarning, match="write_layer"):
        io.save_layer(src["chargers"], tmp_path / "c.gpkg")
    with pytest.warns(DeprecationWarning, match="write_dataset"):
        io.save_dataset(src, tmp_path / "copy")
    assert io.read_dataset(tmp_path / "copy").tables == src.tables


def test_write_layer_refuses_to_replace_a_file_unless_asked(tmp_path: Path):
    g = io.read_sample()["chargers"]
    out = io.write_layer(g, tmp_path / "c.gpkg")
    before = out.read_bytes()
    with pytest.raises(NbgeoError) as exc:
        io.write_layer(g.iloc[:3], out)
    assert exc.value.code == "E-IO-EXISTS" and out.read_bytes() == before
    io.write_layer(g.iloc[:3], out, overwrite=True)
    assert len(io.read_layer(out)) == 3
