"""Property tests: whatever the input, a loader gives valid data or an nbgeo error, and the geometry tools never crash.

``../shared/RELIABILITY.md`` §5.4. Example counts are set per test below and
scale with ``NBGEO_HYPOTHESIS_SCALE`` (e.g. 10 for a long run); the runs are
derandomised so that CI is reproducible, and ``make fuzz`` explores further.
Run with ``--hypothesis-show-statistics`` to see the counts.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import Polygon

from nbgeo import crs, io
from nbgeo.errors import NbgeoError
from nbgeo.validate import repair_layer, verify_layer

SCALE = float(os.environ.get("NBGEO_HYPOTHESIS_SCALE", "1"))
FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
FOUND = Path(__file__).parent / "corpus" / "fuzz_found"


def _n(examples: int) -> int:
    return max(10, int(examples * SCALE))


common = {"deadline": None, "derandomize": True, "suppress_health_check": [HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow]}

# Coordinates near Ningbo, plus the values that break naive code.
near = st.floats(min_value=-0.05, max_value=0.05, allow_nan=False)
wild = st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 0.0, 180.5, 91.0])
x_coord = st.one_of(near.map(lambda d: 121.55 + d), wild)
y_coord = st.one_of(near.map(lambda d: 29.87 + d), wild)
position = st.tuples(x_coord, y_coord)
ring = st.lists(position, min_size=0, max_size=9)


@st.composite
def rings(draw: st.DrawFn) -> list[tuple[float, float]]:
    points = draw(ring)
    if points and draw(st.booleans()):
        points = [*points, points[0]]  # usually closed, sometimes not
    return points


def _json_number(v: float) -> object:
    return v if math.isfinite(v) else str(v)  # non-finite values written as text: a classic export bug


@st.composite
def geojson_layers(draw: st.DrawFn) -> str:
    n = draw(st.integers(min_value=0, max_value=5))
    features = []
    for i in range(n):
        kind = draw(st.sampled_from(["Polygon", "Point", "MultiPolygon", "null", "LineString"]))
        if kind == "null":
            geometry = None
        elif kind == "Point":
            x, y = draw(position)
            geometry = {"type": "Point", "coordinates": [_json_number(x), _json_number(y)]}
        elif kind == "LineString":
            geometry = {"type": "LineString", "coordinates": [[_json_number(a), _json_number(b)]
                                                               for a, b in draw(ring)]}
        else:
            polys = [[[[_json_number(a), _json_number(b)] for a, b in draw(rings())]]
                     for _ in range(draw(st.integers(1, 2)))]
            geometry = {"type": "Polygon", "coordinates": polys[0]} if kind == "Polygon" else {
                "type": "MultiPolygon", "coordinates": polys}
        fid = draw(st.sampled_from([f"z{i}", "z0", None]))
        props = {"id": fid, "name": draw(st.text(max_size=6)), "kind": draw(st.sampled_from(["water", "lava"]))}
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def _assert_usable(ds: object) -> None:
    for layer in ds.layers.values():
        geoms = np.asarray(layer.gdf.geometry.values)
        solid = ~shapely.is_missing(geoms)
        solid[solid] = ~shapely.is_empty(geoms[solid])
        assert shapely.is_valid(geoms[solid]).all()
        coords = shapely.get_coordinates(geoms[solid])
        assert np.isfinite(coords).all()
        assert layer.gdf.crs.to_epsg() == 4326
        assert not layer.gdf.index.has_duplicates and not layer.gdf.index.hasnans


@settings(max_examples=_n(100), **common)
@given(text=geojson_layers(), repair=st.booleans())
def test_geojson_loader_gives_valid_data_or_an_nbgeo_error(tmp_path_factory, text: str, repair: bool):
    folder = tmp_path_factory.mktemp("prop")
    (folder / "constraints.geojson").write_text(text, encoding="utf-8")
    try:
        ds = io.read_file(folder / "constraints.geojson", repair=repair)
    except NbgeoError as exc:
        assert exc.code.startswith("E-")
        return
    _assert_usable(ds)


@settings(max_examples=_n(100), **common)
@given(rows=st.lists(st.tuples(st.sampled_from(["c1", "c2", "", "c1"]),
                               st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str),
                                         st.sampled_from(["121.55", "29.87", "121°33′", "", "abc", "1e400"])),
                               st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str),
                                         st.sampled_from(["29.87", "121.55", "", "北纬30"]))), max_size=6),
       datum=st.sampled_from(["WGS84", "GCJ-02", "BD-09", "CGCS2000"]))
def test_csv_loader_gives_valid_data_or_an_nbgeo_error(tmp_path_factory, rows, datum: str):
    folder = tmp_path_factory.mktemp("csv")
    lines = ["id,lon,lat,type,ports,year"] + [f"{i},{x},{y},charging,2,2022" for i, x, y in rows]
    (folder / "chargers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        ds = io.read_file(folder / "chargers.csv", datum=datum)
    except NbgeoError as exc:
        assert exc.code.startswith("E-")
        return
    _assert_usable(ds)


@st.composite
def any_polygons(draw: st.DrawFn) -> Polygon:
    points = draw(st.lists(st.tuples(near, near), min_size=3, max_size=12))
    holes = draw(st.lists(st.lists(st.tuples(near, near), min_size=3, max_size=6), max_size=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return Polygon([(121.55 + x, 29.87 + y) for x, y in points],
                       [[(121.55 + x, 29.87 + y) for x, y in h] for h in holes])


@settings(max_examples=_n(1000), **common)
@given(polys=st.lists(any_polygons(), min_size=1, max_size=4))
def test_repair_makes_every_polygon_valid_and_lists_each_change(polys):
    g = gpd.GeoDataFrame({"name": ["n"] * len(polys), "kind": ["water"] * len(polys)}, geometry=polys, crs=4326,
                         index=[f"z{i}" for i in range(len(polys))])
    problems = verify_layer(g, layer="constraints")
    fixed, changes = repair_layer(g, layer="constraints")
    geoms = np.asarray(fixed.geometry.values)
    assert set(shapely.get_type_id(geoms[~shapely.is_empty(geoms)])) <= {3, 6}  # still polygons
    invalid_before = {p.feature for p in problems if p.code.startswith("E-GEOM-")}
    changed = {p.feature for p in changes if p.feature is not None}
    still = {p.feature for p in verify_layer(fixed, layer="constraints") if p.code.startswith("E-GEOM-")}
    # Every invalid feature was repaired and said so, or (GEOS could not) is still reported as an error.
    assert invalid_before <= changed | still
    assert all(shapely.is_valid(geoms[i]) for i, fid in enumerate(fixed.index) if fid not in still)
    assert len(still) <= len(invalid_before)
    for p in changes:
        if p.feature is not None:
            assert "m² →" in p.message
    untouched = [i for i, fid in enumerate(g.index) if fid not in changed]
    assert all(shapely.equals(geoms[i], polys[i]) for i in untouched) or changes


@settings(max_examples=_n(1500), **common)
@given(xy=st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True),
                             st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=20),
       declared=st.sampled_from(["EPSG:4326", "EPSG:4490", "EPSG:4549", "EPSG:4528", "EPSG:32651"]),
       datum=st.sampled_from(["WGS84", "GCJ-02"]))
def test_coordinate_checks_never_crash_and_flag_only_finite_vertices(xy, declared, datum):
    x, y = np.array(xy).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        issues = crs.check_coordinates(x, y, declared, datum=datum if declared in ("EPSG:4326", "EPSG:4490")
                                       else "WGS84")
    finite = np.isfinite(x) & np.isfinite(y)
    for issue in issues:
        assert not issue.rows[~finite].any()
        assert issue.code in ("E-CRS-AXIS", "E-CRS-UNITS", "E-CRS-ZONE", "E-CRS-OUTOFBOUNDS")


@settings(max_examples=_n(1500), **common)
@given(lon=st.floats(72.1, 137.8), lat=st.floats(0.9, 55.8), datum=st.sampled_from(["GCJ-02", "BD-09"]))
def test_datum_round_trip_is_under_a_metre_everywhere_it_applies(lon, lat, datum):
    there = crs.convert_datum(lon, lat, from_datum="WGS84", to_datum=datum)
    back = crs.convert_datum(*there, from_datum=datum)
    assert crs.offset_metres(lon, lat, float(back[0]), float(back[1])) < 1.0


@settings(max_examples=_n(200), **common)
@given(g=st.lists(any_polygons(), min_size=1, max_size=3), suffix=st.sampled_from([".geojson", ".gpkg"]),
       # Any text but Latin-1 symbol soup: that is exactly what GBK read as Latin-1 looks like, and the reader
       # rightly flags it (E-ENC-SUSPECT); accented letters and no-break spaces stay in.
       names=st.lists(st.text(st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="".join(
           chr(c) for c in range(0x80, 0x100) if chr(c) not in "\xa0éèüößçñ")), max_size=8), min_size=3, max_size=3))
def test_save_and_read_round_trip(tmp_path_factory, g, suffix, names):
    polys = [p for p in (shapely.make_valid(p, method="structure", keep_collapsed=False) for p in g)
             if not p.is_empty and p.is_valid]
    if not polys:
        return
    layer = gpd.GeoDataFrame({"name": (names * 2)[:len(polys)]}, geometry=polys, crs=4326,
                             index=pd_index(len(polys)))
    path = tmp_path_factory.mktemp("rt") / f"zones{suffix}"
    io.write_layer(layer, path)
    back = io.read_layer(path).set_index("id")
    assert list(back.index) == list(layer.index)
    assert list(back["name"].fillna("")) == list(layer["name"])
    for a, b in zip(layer.geometry, back.geometry, strict=True):
        if suffix == ".gpkg":
            assert shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=0.0), (a.wkt, b.wkt)
        else:  # RFC 7946 output keeps 7 decimals (about 1 cm); vertices that round together merge
            assert shapely.hausdorff_distance(a, b) < 1e-7, (a.wkt, b.wkt)


def pd_index(n: int) -> list[str]:
    return [f"z{i}" for i in range(n)]


# --- the fuzz target, driven by hypothesis over mutated seeds ------------------------------------

@pytest.fixture(scope="module")
def fuzz_target():
    sys.path.insert(0, str(FUZZ))
    import fuzz_readers

    return fuzz_readers


def test_inputs_the_fuzzer_found_are_handled(fuzz_target):
    found = sorted(FOUND.iterdir())
    assert found, "the fuzzer's finds are kept as regression inputs"
    for path in found:
        fuzz_target.one_input(path.read_bytes())  # raises only for non-nbgeo exceptions


SEEDS = [
    b"\x00" + json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "z1", "name": "湖", "kind": "water"},
         "geometry": {"type": "Polygon", "coordinates": [[[121.55, 29.87], [121.56, 29.87], [121.56, 29.88],
                                                          [121.55, 29.87]]]}}]}).encode(),
    b"\x04id,lon,lat,type,ports,year\nc1,121.55,29.87,charging,2,2022\n",
]


@settings(max_examples=_n(200), **common)
@given(seed=st.sampled_from(SEEDS), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                                   max_size=6), cut=st.integers(0, 10**6))
def test_mutated_inputs_never_escape_as_other_exceptions(fuzz_target, seed, flips, cut):
    data = bytearray(seed[: max(1, cut % (len(seed) + 1))])
    for pos, value in flips:
        data[pos % len(data)] = value
    fuzz_target.one_input(bytes(data))
