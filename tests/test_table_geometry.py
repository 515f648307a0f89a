"""Polygons and lines in spreadsheets and CSV files: a WKT or hex WKB column (issue 15).

The bureau keeps its featured parks in an Excel workbook, each park's outline as WKT copied from a web map,
so in GCJ-02; with ``datum = "GCJ-02"`` the layer reads as the sample's (within the offset's round trip).
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from corpus.cases import write_workbook

from nbgeo import datasets, io
from nbgeo.crs import convert_gdf_datum
from nbgeo.errors import ValidationError

SAMPLE = datasets.get_path("ningbo")


def _manifest(folder, text):
    (folder / "dataset.toml").write_text('[dataset]\nname = "bureau"\n' + text, encoding="utf-8")


def test_an_excel_sheet_of_wkt_polygons_in_gcj02_reads_as_the_sample(tmp_path, sample):
    parks = gpd.read_file(SAMPLE / "featured_parks.geojson")
    shifted = convert_gdf_datum(parks, from_datum="WGS84", to_datum="GCJ-02")
    rows = [["编号", "name", "industry", "year", "边界"]]
    rows += [[r.id, r.name, r.industry, int(r.year), r.geometry.wkt] for r in shifted.itertuples()]
    roads = gpd.read_file(SAMPLE / "smart_roads.geojson").head(5)
    write_workbook(tmp_path / "园区.xlsx", {"特色产业园": rows, "智慧道路": [["id", "name", "year", "kind", "wkt"]] + [
        [r.id, r.name, int(r.year), r.kind, r.geometry.wkt] for r in roads.itertuples()]})
    _manifest(tmp_path, '[layers.featured_parks]\nfile = "园区.xlsx"\nlayer = "特色产业园"\ndatum = "GCJ-02"\n'
              'geometry_column = "边界"\ncolumns = { id = "编号" }\n\n'
              '[layers.smart_roads]\nfile = "园区.xlsx"\nlayer = "智慧道路"\ndatum = "WGS84"\n')
    ds = io.read_dataset(tmp_path)
    got, want = ds["featured_parks"], sample["featured_parks"]
    assert list(got.index) == list(want.index) and set(got.geom_type) == {"Polygon"}
    assert got["industry"].tolist() == want["industry"].tolist() and got["year"].tolist() == want["year"].tolist()
    moved = got.to_crs(4549).geometry.hausdorff_distance(want.to_crs(4549).geometry, align=False)
    assert moved.max() < 1.0, "GCJ-02 converted back to WGS 84 (the offset is about 500 m here)"
    assert set(ds["smart_roads"].geom_type) == {"LineString"} and len(ds["smart_roads"]) == 5


def test_a_csv_with_hex_wkb_and_a_bad_cell(tmp_path):
    points = [shapely.Point(121.55, 29.87), shapely.Point(121.56, 29.88)]
    lines = ["id,type,ports,year,geometry"]
    lines += [f"c{i},charging,2,2022,{shapely.to_wkb(p, hex=True)}" for i, p in enumerate(points)]
    lines.append("c9,charging,2,2022,POINT (121.5 oops)")
    (tmp_path / "chargers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _manifest(tmp_path, '[layers.chargers]\nfile = "chargers.csv"\ndatum = "WGS84"\n')
    with pytest.raises(ValidationError) as info:
        io.read_dataset(tmp_path)
    problem = next(p for p in info.value.problems if p.code == "E-GEOM-PARSE")
    assert problem.feature == "c9" and problem.column == "geometry"
    assert "'POINT (121.5 oops)' is not a WKT or hex WKB geometry" in problem.message
    (tmp_path / "chargers.csv").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    ds = io.read_dataset(tmp_path)
    assert ds["chargers"].geometry.geom_equals_exact(gpd.GeoSeries(points, index=ds["chargers"].index, crs=4326), 1e-12).all()


def test_a_declared_geometry_column_must_exist(tmp_path):
    (tmp_path / "c.csv").write_text("id,type,ports,year,lon,lat\nc1,charging,2,2022,121.5,29.9\n", encoding="utf-8")
    _manifest(tmp_path, '[layers.chargers]\nfile = "c.csv"\ndatum = "WGS84"\ngeometry_column = "shape"\n')
    with pytest.raises(ValidationError, match=r"no column 'shape' \(geometry_column\); columns: id, type"):
        io.read_dataset(tmp_path)
