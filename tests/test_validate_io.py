"""Validation reports every problem at once; the reader refuses unsafe paths and converts datums."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point, Polygon

from nbgeo import crs, io
from nbgeo.errors import InputError, ValidationError
from nbgeo.validate import verify_layer

BOWTIE = Polygon([(121.5, 29.8), (121.6, 29.9), (121.6, 29.8), (121.5, 29.9), (121.5, 29.8)])


def _chargers(**overrides):
    data = {"id": ["c1", "c2", "c3"], "type": ["charging", "swapping", "charging"], "ports": [1, 2, 3],
            "year": [2021, 2022, 2023]}
    data.update(overrides)
    geoms = data.pop("geometry", [Point(121.5 + i / 100, 29.9) for i in range(3)])
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326)


def test_every_problem_reported_at_once(write_dataset):
    bad_chargers = _chargers(id=["c1", "c1", None], type=["charging", "laser", "charging"], year=[2021, "soon", 1066])
    parks = gpd.GeoDataFrame({"id": ["m1", "m2"], "name": ["a", "b"], "status": ["built", "built"],
                              "year": [2021, 2022], "area": [1.0, 2.0], "enterprises": [1, 2]},
                             geometry=[BOWTIE, Point(121.5, 29.9).buffer(0.01)], crs=4326)
    folder = write_dataset({"chargers": bad_chargers, "micro_parks": parks})
    with pytest.raises(ValidationError) as exc:
        io.read_dataset(folder)
    codes = {(p.layer, p.code) for p in exc.value.problems}
    assert ("chargers", "E-ID-DUPLICATE") in codes
    assert ("chargers", "E-ID-MISSING") in codes
    assert ("chargers", "E-VALUE-CATEGORY") in codes
    assert ("chargers", "E-VALUE-TYPE") in codes
    assert ("chargers", "E-VALUE-YEAR") in codes
    assert ("micro_parks", "E-GEOM-SELFX") in codes
    selfx = next(p for p in exc.value.problems if p.code == "E-GEOM-SELFX")
    assert selfx.feature == "m1" and selfx.file == "micro_parks.geojson" and "make_valid" in selfx.hint
    category = next(p for p in exc.value.problems if p.code == "E-VALUE-CATEGORY")
    assert category.column == "type" and "charging" in category.hint


def test_missing_column_and_wrong_geometry_type():
    g = _chargers(geometry=[Point(121.5, 29.9), BOWTIE.buffer(0), Point(121.6, 29.9)]).set_index("id")
    problems = verify_layer(g.drop(columns="ports"), layer="chargers")
    assert {p.code for p in problems} == {"E-COLUMN-MISSING", "E-LAYER-GEOMTYPE"}


def test_non_finite_and_swapped_coordinates():
    g = _chargers(geometry=[Point(np.nan, 29.9), Point(29.9, 121.5), Point(121.5, 29.9)]).set_index("id")
    codes = {p.code for p in verify_layer(g, layer="chargers")}
    assert {"E-GEOM-NONFINITE", "E-CRS-AXIS"} <= codes  # RELIABILITY.md checklist 23: swapped axes
    swapped = next(p for p in verify_layer(g, layer="chargers") if p.code == "E-CRS-AXIS")
    assert "swap" in swapped.hint


def test_null_geometry_is_a_warning_not_an_error(write_dataset):
    g = _chargers(geometry=[Point(121.5, 29.9), None, Point(121.6, 29.9)])
    ds = io.read_dataset(write_dataset({"chargers": g}))
    assert [p.code for p in ds.problems] == ["W-GEOM-NULL"]


def test_gcj02_layer_is_converted_on_read(write_dataset):
    wgs = Point(121.55, 29.87)
    glon, glat = crs.wgs84_to_gcj02(wgs.x, wgs.y)
    g = _chargers(geometry=[Point(float(glon), float(glat))] * 3)
    ds = io.read_dataset(write_dataset({"chargers": g}, {"chargers": {"datum": '"GCJ-02"'}}))
    got = ds["chargers"].geometry.iloc[0]
    assert crs.offset_metres(got.x, got.y, wgs.x, wgs.y) < 0.01
    assert ds.layer("chargers").meta.datum == "GCJ-02"


def test_crs_from_manifest_and_mismatch(tmp_path):
    g = _chargers().to_crs(crs.NINGBO_TM)
    g.to_file(tmp_path / "chargers.geojson", driver="GeoJSON")  # no CRS member in RFC 7946 output... GDAL writes it
    (tmp_path / "dataset.toml").write_text('[layers.chargers]\nfile = "chargers.geojson"\ncrs = "EPSG:4326"\n')
    with pytest.raises(ValidationError, match="E-CRS"):
        io.read_dataset(tmp_path)


def test_refuses_remote_vrt_and_outside_paths(tmp_path):
    with pytest.raises(InputError) as exc:
        io.read_layer("/vsicurl/http://127.0.0.1:9/x.geojson")
    assert exc.value.code == "E-PATH-REMOTE"
    vrt = tmp_path / "zones.geojson"
    vrt.write_text('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/hostname</SrcDataSource>'
                   "</OGRVRTLayer></OGRVRTDataSource>")
    with pytest.raises(InputError, match="GDAL VRT") as exc:
        io.read_layer(vrt)
    assert exc.value.code == "E-FORMAT-FORBIDDEN"
    (tmp_path / "dataset.toml").write_text('[layers.chargers]\nfile = "../../etc/passwd.geojson"\n')
    with pytest.raises(InputError) as exc:
        io.read_dataset(tmp_path)
    assert exc.value.code == "E-PATH-OUTSIDE"


def test_truncated_file_is_a_named_error(tmp_path, write_dataset):
    folder = write_dataset({"chargers": _chargers()})
    path = folder / "chargers.geojson"
    path.write_text(path.read_text()[:200])
    with pytest.raises(ValidationError) as exc:
        io.read_dataset(folder)
    # RELIABILITY.md checklist 37: a truncated GeoJSON is named as such.
    assert exc.value.problems[0].code == "E-FILE-TRUNCATED" and exc.value.problems[0].layer == "chargers"


def test_manifest_errors(tmp_path):
    with pytest.raises(InputError, match="no dataset manifest"):
        io.read_dataset(tmp_path)
    (tmp_path / "dataset.toml").write_text('[layers.chargers]\nfile = "c.geojson"\ndatum = "Beijing54"\n')
    with pytest.raises(InputError, match="Beijing54"):
        io.read_dataset(tmp_path)
    (tmp_path / "dataset.toml").write_text('[layers.chargers]\nfile = "c.geojson"\ncolour = "red"\n')
    with pytest.raises(InputError, match="unknown key"):
        io.read_dataset(tmp_path)


def test_sample_reads_clean(sample):
    assert not [p for p in sample.problems if p.is_error]
    assert len(sample["districts"]) == 10
    assert sample.layer("chargers").meta.illustrative
    assert all(layer.gdf.crs.to_epsg() == 4326 for layer in sample.layers.values())
    assert json.dumps([p.to_dict() for p in sample.problems])  # problems are JSON-ready
