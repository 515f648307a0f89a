"""A bureau's own field names and codes, mapped in dataset.toml (issue 15): checked, applied on read, never written.

The bureau-style copy of the sample keeps the sample's data under other names: Chinese fields, 地类编码 from
the national classification, status labels in Chinese, a Shapefile in GBK whose long names were cut to 10
characters. With its mapping, it reads as the sample, layer by layer.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from nbgeo import audit, datasets, io, report, runs
from nbgeo.errors import InputError, NbgeoWarning, ValidationError
from nbgeo.plan import Plan

SAMPLE = datasets.get_path("ningbo")
# The sample's land uses as codes of the 2023 classification, and the same in GB/T 21010-2017.
CODES_2023 = {"industrial": "100102", "logistics": "1101", "commercial": "0901", "residential": "070101",
              "public": "0804", "other": "0101"}
STATUS = {"built": "新建", "upgraded": "改造提升", "planned": "规划"}


def _manifest_tail(folder: Path, text: str) -> None:
    """A manifest of two lines of ``[dataset]``, then ``text`` (so its first line is line 3)."""
    (folder / "dataset.toml").write_text('[dataset]\nname = "bureau"\n' + text, encoding="utf-8")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _shapefile(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write a Shapefile in GBK as a bureau's export would be (GDAL cuts long field names, and says so)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gdf.to_file(path, driver="ESRI Shapefile", encoding="GBK", engine="pyogrio")


@pytest.fixture(scope="module")
def bureau(tmp_path_factory) -> Path:
    """A bureau-style copy of three sample layers, with the mapping that reads them as the sample's."""
    folder = tmp_path_factory.mktemp("bureau")
    parks = gpd.read_file(SAMPLE / "micro_parks.geojson")
    parks = parks.assign(status=parks["status"].map(STATUS)).rename(columns={
        "id": "编号", "name": "名称", "status": "建设状态", "year": "建成年份", "area": "用地面积",
        "enterprises": "入驻企业数"})
    parks.to_file(folder / "小微企业园.gpkg", layer="小微企业园")
    land = gpd.read_file(SAMPLE / "land_transfers.gpkg")
    land = land.assign(use=land["use"].map(CODES_2023)).rename(columns={"use": "地类编码", "year": "出让年份",
                                                                         "area": "出让面积"})
    _shapefile(land, folder / "供地.shp")
    clusters = gpd.read_file(SAMPLE / "clusters.geojson")
    _shapefile(clusters, folder / "clusters.shp")
    years = ", ".join(f'output_{2020 + i} = "{name}"' for i, name in
                      enumerate(["output_202", "output_2_1", "output_2_2", "output_2_3", "output_2_4", "output_2_5"]))
    _manifest_tail(folder, f"""[layers.micro_parks]
file = "小微企业园.gpkg"
datum = "WGS84"
columns = {{ id = "编号", name = "名称", status = "建设状态", year = "建成年份", area = "用地面积", enterprises = "入驻企业数" }}
values.status = {{ built = "新建", upgraded = ["改造提升", "提升"], planned = ["规划"] }}

[layers.land_transfers]
file = "供地.shp"
datum = "WGS84"
columns.use = "地类编码"
columns.year = "出让年份"
columns.area = "出让面积"
values.use = "gb_land_use_2023"

[layers.clusters]
file = "clusters.shp"
datum = "WGS84"
columns = {{ {years} }}
""")
    return folder


def _same_layer(ours: gpd.GeoDataFrame, sample: gpd.GeoDataFrame) -> None:
    assert list(ours.index) == list(sample.index)
    for column in sample.columns:
        if column == sample.geometry.name:
            continue
        left, right = ours[column], sample[column]
        if pd.api.types.is_numeric_dtype(right):
            assert (left.astype(float) - right.astype(float)).abs().max() < 1e-6, column
        else:
            assert left.astype(str).tolist() == right.astype(str).tolist(), column


def test_the_bureau_copy_reads_as_the_sample(bureau, sample):
    before = _digest(bureau)
    ds = io.read_dataset(bureau)
    for name in ("micro_parks", "land_transfers", "clusters"):
        _same_layer(ds.layer(name).gdf, sample.layer(name).gdf)
    codes = [p.code for p in ds.problems]
    assert codes.count("W-COLUMN-TRUNCATED") == 1  # clusters' lead_industries, read from lead_indus
    assert _digest(bureau) == before, "the bureau's files are never changed"


def test_the_mapping_is_shown_by_validate(bureau):
    outputs, error = runs.validate_run(bureau)
    assert error is None
    assert "mapped: land_transfers: use ← 地类编码 (国土空间调查、规划、用途管制用地用海分类（2023）)" in outputs.text
    assert "mapped: micro_parks: id ← 编号; name ← 名称; status ← 建设状态 (built ← 新建; upgraded ← 改造提升, 提升;" \
           in outputs.text
    doc = {}
    outputs.files["validation.json"](bureau.parent / "validation.json")
    doc = json.loads((bureau.parent / "validation.json").read_text(encoding="utf-8"))
    assert doc["mappings"]["land_transfers"][1] == "year ← 出让年份"


def test_writing_the_dataset_keeps_our_names_and_no_mapping(bureau, tmp_path):
    ds = io.read_dataset(bureau)
    io.write_dataset(ds, tmp_path / "out")
    again = io.read_dataset(tmp_path / "out")
    assert "columns" not in (tmp_path / "out" / "dataset.toml").read_text(encoding="utf-8")
    assert set(again.layer("land_transfers").gdf["use"]) <= set(CODES_2023)


def _bad(tmp_path: Path, layer_text: str, files: dict[str, gpd.GeoDataFrame]) -> ValidationError:
    for name, gdf in files.items():
        gdf.to_file(tmp_path / name)
    _manifest_tail(tmp_path, layer_text)
    with pytest.raises(ValidationError) as info:
        io.read_dataset(tmp_path)
    return info.value


def _parcels() -> gpd.GeoDataFrame:
    land = gpd.read_file(SAMPLE / "land_transfers.gpkg").head(20)
    return land.assign(use=land["use"].map(CODES_2023)).rename(columns={"use": "地类编码", "year": "出让年份"})


def test_a_missing_field_names_the_manifest_line_and_the_closest_field(tmp_path):
    error = _bad(tmp_path, '[layers.land_transfers]\nfile = "p.gpkg"\ncolumns = { use = "地类代码", year = "出让年份" }\n',
                 {"p.gpkg": _parcels()})
    problem = next(p for p in error.problems if p.code == "E-MAPPING-FIELD")
    assert "dataset.toml, line 5: columns.use = '地类代码': the file has no field '地类代码'; did you mean '地类编码'?" \
        in problem.message
    assert problem.layer == "land_transfers" and "出让年份" in problem.hint


def test_a_long_field_name_cut_short_by_a_shapefile_is_said_so(tmp_path):
    land = gpd.read_file(SAMPLE / "land_transfers.gpkg").head(5).rename(columns={"year": "transfer_year"})
    _shapefile(land, tmp_path / "p.shp")
    _manifest_tail(tmp_path, '[layers.land_transfers]\nfile = "p.shp"\ncolumns.year = "transfer_year"\n')
    with pytest.raises(ValidationError) as info:
        io.read_dataset(tmp_path)
    message = next(p.message for p in info.value.problems if p.code == "E-MAPPING-FIELD")
    assert "line 5: columns.year = 'transfer_year'" in message
    assert "Shapefile field names hold 10 characters, so it is 'transfer_y' here" in message


def test_yearly_columns_cut_short_are_an_error_with_the_line_to_add(tmp_path):
    _shapefile(gpd.read_file(SAMPLE / "clusters.geojson"), tmp_path / "clusters.shp")
    _manifest_tail(tmp_path, '[layers.clusters]\nfile = "clusters.shp"\n')
    with pytest.raises(ValidationError) as info:
        io.read_dataset(tmp_path)
    problem = next(p for p in info.value.problems if p.code == "E-COLUMN-TRUNCATED")
    assert "'output_202', 'output_2_1'" in problem.message and "output_{year}" in problem.message
    assert 'columns = { output_2021 = "output_202", output_2022 = "output_2_1",' in problem.hint
    assert "[layers.clusters]" in problem.hint


def test_a_code_not_in_the_table_is_an_error_with_the_features(tmp_path):
    land = _parcels()
    land.loc[[0, 1], "地类编码"] = "9999"
    error = _bad(tmp_path, '[layers.land_transfers]\nfile = "p.gpkg"\ncolumns = { use = "地类编码", '
                 'year = "出让年份" }\nvalues.use = "gb_land_use_2023"\n', {"p.gpkg": land})
    problem = next(p for p in error.problems if p.code == "E-VALUE-CODE")
    assert "line 6: values.use = 'gb_land_use_2023': 2 feature(s) have codes that are not in " \
           "国土空间调查、规划、用途管制用地用海分类（2023）: '9999' (features LT00001, LT00002)" in problem.message


def test_codes_stored_as_numbers_keep_their_leading_zero(tmp_path):
    land = _parcels()
    land["地类编码"] = [601 if u == "industrial" else 701 for u in gpd.read_file(
        SAMPLE / "land_transfers.gpkg").head(20)["use"]]
    land.to_file(tmp_path / "p.gpkg")
    _manifest_tail(tmp_path, '[layers.land_transfers]\nfile = "p.gpkg"\ncolumns = { use = "地类编码", '
                   'year = "出让年份" }\nvalues.use = "gb_t_21010_2017"\n')
    uses = io.read_dataset(tmp_path).layer("land_transfers").gdf["use"]
    assert set(uses) <= {"industrial", "residential"} and (uses == "industrial").sum() == (
        land["地类编码"] == 601).sum()


@pytest.mark.parametrize(("text", "line", "says"), [
    ('values.use = "gb_land_use_2032"', 5, "no code table 'gb_land_use_2032'; did you mean 'gb_land_use_2023'?"),
    ('values.status = { built = ["新建"], upgraded = ["新建", "提升"] }', 5,
     "their value '新建' is given for both 'built' and 'upgraded'"),
    ('values.status = { built = [1.5] }', 5, "values.status.built: must be their value or a list"),
    ('columns = { name = "名称", title = "名称" }', 5, "maps field '名称' to both 'name' and 'title'"),
    ('columns = { name = true }', 5, "must map each column to the file's field name as text"),
])
def test_the_manifest_reader_checks_the_mapping(tmp_path, text, line, says):
    (tmp_path / "dataset.toml").write_text(
        f'[dataset]\nname = "b"\n[layers.micro_parks]\nfile = "m.gpkg"\n{text}\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        io.read_manifest(tmp_path)
    assert f"dataset.toml, line {line}: [layers.micro_parks], key '{text.split('.')[0].split(' ')[0]}'" \
        in info.value.message
    assert says in info.value.message


def test_a_file_of_the_sample_copied_as_is_needs_no_mapping(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "copy")
    ds = io.read_dataset(tmp_path / "copy")
    assert not any(layer.meta.mapping for layer in ds.layers.values())
    assert not [p for p in ds.problems if "TRUNCATED" in p.code]


def test_each_mapping_line_is_found_however_it_is_written(tmp_path):
    (tmp_path / "dataset.toml").write_text(
        '[layers.micro_parks]\nfile = "m.gpkg"\ncolumns.name = "名称"\ncolumns.year = "年份"\n'
        '\n[layers.micro_parks.values]\nstatus = { built = ["新建"] }\n\n[layers.land_transfers]\nfile = "l.gpkg"\n'
        'columns = { use = "DLBM", year = "NF" }\nvalues.use = "gb_t_21010_2017"\n', encoding="utf-8")
    manifest = io.read_manifest(tmp_path)
    parks, land = manifest.field_map("micro_parks"), manifest.field_map("land_transfers")
    lines = {key: parks.where(key).split(", line ")[1].split(":")[0] for key in parks.lines}
    assert lines == {"columns.name": "3", "columns.year": "4", "values.status": "7"}
    assert land.where("columns.year").endswith("dataset.toml, line 11: columns.year")
    assert land.where("values.use").endswith("dataset.toml, line 12: values.use")


def test_the_readme_mapping_example_is_a_valid_manifest(tmp_path):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = next(b.split("```", 1)[0] for b in readme.split("```toml\n")[1:] if "values.use" in b)
    (tmp_path / "dataset.toml").write_text(block, encoding="utf-8")
    manifest = io.read_manifest(tmp_path)
    assert manifest.field_map("land_transfers").describe()[1] == \
        "use ← 地类编码 (国土空间调查、规划、用途管制用地用海分类（2023）)"
    assert manifest.field_map("micro_parks").values["status"]["upgraded"] == ["改造提升", "提升"]


def test_the_report_sources_table_shows_the_mapping(bureau):
    ds = io.read_dataset(bureau)
    result = audit.run_audit(ds, Plan(id="p", title="t", baseline=2020, horizon=2025))
    doc = json.loads(report.to_json(result))
    assert doc["dataset"]["layers"]["land_transfers"]["mapping"][0] == "use ← 地类编码 (国土空间调查、规划、用途管制用地用海分类（2023）)"
    html = report.to_html(result, lang="zh", with_map=False)
    assert "字段映射: use ← 地类编码" in html and "year ← 出让年份" in html
    md = report.to_markdown(result, lang="en")
    assert "(fields read as: use ← 地类编码" in md


@pytest.mark.parametrize("encoding", ["UTF-8", "GBK"])
def test_writing_a_shapefile_warns_what_it_cut_between_characters(sample, tmp_path, encoding):
    clusters = sample["clusters"].rename(columns={"name": "名称", "output_2024": "工业总产值2024",
                                                  "output_2025": "工业总产值2025"})
    with pytest.warns(NbgeoWarning, match="W-IO-SHAPEFILE-NAMES") as said:
        io.write_layer(clusters, tmp_path / "clusters.shp", encoding=encoding)
    message = str(said[0].message)
    assert "lead_industries -> lead_indus, output_2020 -> output_202, output_2021 -> output_2_1" in message
    # 3 Chinese characters are 9 bytes in UTF-8, 5 are 10 bytes in GBK; GDAL alone would cut UTF-8 mid-character
    cut = {"UTF-8": ("工业总", "工业_1"), "GBK": ("工业总产值", "工业总产_1")}[encoding]
    assert f"工业总产值2024 -> {cut[0]}, 工业总产值2025 -> {cut[1]}" in message
    assert (tmp_path / "clusters.cpg").read_text() == encoding
    fields = list(pyogrio.read_info(tmp_path / "clusters.shp")["fields"])
    assert fields[:3] == ["id", "名称", "tier"] and fields[-2:] == list(cut)


def test_the_mapping_a_shapefile_warning_gives_reads_the_layer_back(sample, tmp_path):
    with pytest.warns(NbgeoWarning) as said:
        io.write_layer(sample["clusters"], tmp_path / "clusters.shp", encoding="GBK")
    columns = str(said[0].message).split("dataset.toml entry: ", 1)[1].split(" (hint")[0]
    (tmp_path / "dataset.toml").write_text(f'[layers.clusters]\nfile = "clusters.shp"\n{columns}\n',
                                           encoding="utf-8")
    back = io.read_dataset(tmp_path).layers["clusters"].gdf
    assert list(back.columns) == list(sample["clusters"].columns)
    assert back.drop(columns="geometry").equals(sample["clusters"].drop(columns="geometry"))


@pytest.mark.parametrize("encoding", ["UTF-8", "GBK"])
def test_writing_a_shapefile_cuts_long_texts_between_characters_and_says_so(tmp_path, encoding):
    import shapely

    long = "宁波前湾新区智能制造产业园" * 30  # 390 characters: 1,170 bytes in UTF-8, 780 in GBK
    parks = gpd.GeoDataFrame({"名称": [long, "短名", None]}, geometry=[shapely.Point(121.5, 29.9)] * 3, crs=4326)
    with pytest.warns(NbgeoWarning, match="W-IO-SHAPEFILE-TEXT") as said:
        io.write_layer(parks, tmp_path / "parks.shp", encoding=encoding)
    assert "名称 (1 value(s))" in str(said[0].message)
    back = pyogrio.read_dataframe(tmp_path / "parks.shp")["名称"]  # decodes: no half character at the end
    assert long.startswith(back[0]) and len(back[0].encode(encoding)) <= 254
    assert len(back[0].encode(encoding)) > 254 - len("区".encode(encoding))  # as much as fits
    assert back[1] == "短名" and back.isna()[2]
