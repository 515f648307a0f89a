"""No silent datum (issue 15): where each layer's datum comes from is said, and GCJ-02 read as WGS 84 is found.

The sample's layers are WGS 84; shifted to GCJ-02 (as an Amap export would hold them) the test against the
real districts must say so, and the same layers moved far from Ningbo must not raise a false alarm.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nbgeo import audit, datasets, io, report
from nbgeo.crs import convert_gdf_datum, gcj02_doubtful, gcj02_suspect, ningbo_outline, wgs84_to_gcj02
from nbgeo.errors import ValidationError
from nbgeo.plan import Plan

SAMPLE = datasets.get_path("ningbo")


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "ds"
    shutil.copytree(SAMPLE, folder)
    return folder


def _to_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return convert_gdf_datum(gdf, from_datum="WGS84", to_datum="GCJ-02")


@pytest.mark.parametrize("name", ["chargers.gpkg", "base_stations_5g.gpkg", "districts.geojson"])
def test_the_sample_shifted_to_gcj02_is_suspect_and_as_it_is_not(name):
    gdf = gpd.read_file(SAMPLE / name)
    assert gcj02_suspect(gdf.geometry.values, ningbo_outline()) is None
    found = gcj02_suspect(_to_gcj02(gdf).geometry.values, ningbo_outline())
    assert found is not None
    assert found.votes_for >= 6 and found.votes_against == 0
    assert 400 < found.offset_m < 600  # the Amap offset at Ningbo


def test_no_layer_of_the_sample_is_suspect(sample):
    assert not [p for p in sample.problems if p.code == "W-CRS-GCJ02-SUSPECT"]


def test_the_sample_moved_far_from_ningbo_is_not_suspect():
    # The base stations, moved to Chengdu (and shifted to GCJ-02 there), and to Paris: no false alarm.
    gdf = gpd.read_file(SAMPLE / "base_stations_5g.gpkg")
    for dx, dy in ((-17.5, 0.9), (-119.2, 18.9)):
        moved = gdf.set_geometry(shapely.transform(gdf.geometry.values, lambda c, dx=dx, dy=dy: np.add(c, (dx, dy))))
        assert gcj02_suspect(moved.geometry.values, ningbo_outline()) is None
        assert gcj02_suspect(_to_gcj02(moved).geometry.values, ningbo_outline()) is None


def test_an_offset_the_other_way_is_not_taken_for_gcj02():
    # The GCJ-02 offset applied backwards (data moved 500 m north-west) must not pass for GCJ-02.
    gdf = gpd.read_file(SAMPLE / "base_stations_5g.gpkg")
    xy = shapely.get_coordinates(gdf.geometry.values)
    gx, gy = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    back = shapely.points(2 * xy[:, 0] - gx, 2 * xy[:, 1] - gy)
    assert gcj02_suspect(back, ningbo_outline()) is None


def test_a_gcj02_layer_read_as_wgs84_is_a_warning_with_the_fix(tmp_path):
    folder = _copy(tmp_path)
    _to_gcj02(gpd.read_file(SAMPLE / "chargers.gpkg")).to_file(folder / "chargers.gpkg", driver="GPKG")
    ds = io.read_dataset(folder)
    found = [p for p in ds.problems if p.code == "W-CRS-GCJ02-SUSPECT"]
    assert len(found) == 1
    assert (found[0].file, found[0].layer) == ("chargers.gpkg", "chargers")
    assert "datum = \"GCJ-02\" under [layers.chargers]" in (found[0].hint or "")
    assert "declares datum = \"WGS84\"" in found[0].message
    # Declared, it is converted back to the sample's positions and the warning is gone.
    toml = folder / "dataset.toml"
    text = toml.read_text(encoding="utf-8")
    start = text.index("[layers.chargers]")
    toml.write_text(text[:start] + text[start:].replace('datum = "WGS84"', 'datum = "GCJ-02"', 1), encoding="utf-8")
    ds = io.read_dataset(folder)
    assert not [p for p in ds.problems if p.code == "W-CRS-GCJ02-SUSPECT"]
    sample = gpd.read_file(SAMPLE / "chargers.gpkg")
    assert np.abs(shapely.get_coordinates(ds["chargers"].geometry.values)
                  - shapely.get_coordinates(sample.geometry.values)).max() < 1e-7


def _undeclared(folder: Path, names: tuple[str, ...]) -> None:
    """Drop the datum and crs keys of these layers, as a newcomer's manifest would have none."""
    out, current = [], None
    for line in (folder / "dataset.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            current = line.strip("[]").split(".")[-1]
        if current in names and line.split("=")[0].strip() in ("datum", "crs"):
            continue
        out.append(line)
    (folder / "dataset.toml").write_text("\n".join(out) + "\n", encoding="utf-8")


def test_where_each_datum_comes_from_is_said(tmp_path):
    folder = _copy(tmp_path)
    gpd.read_file(SAMPLE / "chargers.gpkg").to_crs(4490).to_file(folder / "chargers.gpkg", driver="GPKG")
    _undeclared(folder, ("micro_parks", "chargers"))
    ds = io.read_dataset(folder)
    basis = {n: (layer.meta.datum, layer.meta.datum_basis) for n, layer in ds.layers.items()}
    assert basis["districts"] == ("WGS84", "declared")
    assert basis["micro_parks"] == ("WGS84", "rfc7946")
    assert basis["chargers"] == ("CGCS2000", "file")
    info = audit.dataset_info(ds)["layers"]
    assert info["micro_parks"]["datum_basis"] == "rfc7946"


def test_a_geopackage_without_crs_is_an_error_naming_the_layer_unless_assumed(tmp_path):
    folder = _copy(tmp_path)
    gdf = gpd.read_file(SAMPLE / "chargers.gpkg")
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gdf.set_crs(None, allow_override=True).to_file(folder / "chargers.gpkg", driver="GPKG")
    _undeclared(folder, ("chargers",))
    with pytest.raises(ValidationError) as info:
        io.read_dataset(folder)
    missing = [p for p in info.value.problems if p.code == "E-CRS-MISSING"]
    assert [(p.file, p.layer) for p in missing] == [("chargers.gpkg", "chargers")]
    ds = io.read_dataset(folder, assume_crs="EPSG:4326")
    assert ds.layer("chargers").meta.datum_basis == "assumed"
    assert [p.code for p in ds.problems if p.layer == "chargers"] == ["W-CRS-ASSUMED"]


def test_a_wgs84_layer_declared_gcj02_is_doubted(tmp_path):
    # The sample's chargers are WGS 84: declared GCJ-02, nbgeo would move them ~500 m north-west.
    folder = _copy(tmp_path)
    toml = folder / "dataset.toml"
    text = toml.read_text(encoding="utf-8")
    start = text.index("[layers.base_stations_5g]")
    toml.write_text(text[:start] + text[start:].replace('datum = "WGS84"', 'datum = "GCJ-02"', 1), encoding="utf-8")
    ds = io.read_dataset(folder)
    found = [p for p in ds.problems if p.code == "W-CRS-GCJ02-DOUBTFUL"]
    assert [(p.file, p.layer) for p in found] == [("base_stations_5g.gpkg", "base_stations_5g")]
    assert "look WGS 84 already" in found[0].message
    assert 'declare datum = "WGS84" under [layers.base_stations_5g]' in (found[0].hint or "")
    assert not [p for p in ds.problems if p.code == "W-CRS-GCJ02-SUSPECT"]


def test_real_gcj02_data_declared_so_is_not_doubted():
    gdf = gpd.read_file(SAMPLE / "base_stations_5g.gpkg")
    assert gcj02_doubtful(_to_gcj02(gdf).geometry.values, ningbo_outline()) is None
    assert gcj02_doubtful(gdf.geometry.values, ningbo_outline()).looks == "WGS84"


def test_the_sources_table_says_where_each_datum_comes_from(tmp_path):
    folder = _copy(tmp_path)
    _undeclared(folder, ("micro_parks",))
    ds = io.read_dataset(folder)
    result = audit.run_audit(ds, Plan(id="p", title="t", baseline=2020, horizon=2025))
    html_en, html_zh = report.to_html(result, lang="en", with_map=False), report.to_html(result, lang="zh", with_map=False)
    assert "GeoJSON: WGS 84 by RFC 7946" in html_en and "declared in dataset.toml" in html_en
    assert "GeoJSON 规定为 WGS 84 (RFC 7946)" in html_zh
    md = report.to_markdown(result, lang="en")
    assert "WGS84 (GeoJSON: WGS 84 by RFC 7946)" in md and "WGS84 (declared in dataset.toml)" in md


def test_a_shapefile_without_prj_is_an_error_unless_the_manifest_gives_its_crs(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    gpd.read_file(SAMPLE / "future_zones.geojson").to_file(folder / "parks.shp", encoding="UTF-8")
    (folder / "parks.prj").unlink()
    (folder / "dataset.toml").write_text('[layers.future_zones]\nfile = "parks.shp"\n', encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        io.read_dataset(folder)
    assert [(p.code, p.file, p.layer) for p in info.value.problems if p.is_error] == [
        ("E-CRS-MISSING", "parks.shp", "future_zones")]
    (folder / "dataset.toml").write_text('[layers.future_zones]\nfile = "parks.shp"\ncrs = "EPSG:4490"\n',
                                         encoding="utf-8")
    ds = io.read_dataset(folder)
    assert ds.layer("future_zones").meta.datum_basis == "manifest_crs"


def test_baidu_bd09_data_read_as_wgs84_is_told_from_gcj02(tmp_path):
    gdf = gpd.read_file(SAMPLE / "base_stations_5g.gpkg")
    found = gcj02_suspect(convert_gdf_datum(gdf, from_datum="WGS84", to_datum="BD-09").geometry.values,
                          ningbo_outline())
    assert found is not None and found.looks == "BD-09" and 900 < found.offset_m < 1400
    assert gcj02_suspect(_to_gcj02(gdf).geometry.values, ningbo_outline()).looks == "GCJ-02"
    folder = _copy(tmp_path)
    convert_gdf_datum(gdf, from_datum="WGS84", to_datum="BD-09").to_file(folder / "base_stations_5g.gpkg",
                                                                        driver="GPKG")
    ds = io.read_dataset(folder)
    found = [p for p in ds.problems if p.layer == "base_stations_5g"]
    assert [p.code for p in found] == ["W-CRS-BD09-SUSPECT"]
    assert 'declare datum = "BD-09"' in (found[0].hint or "")
