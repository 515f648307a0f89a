"""Build ``nbgeo/datasets/ningbo/receptors.geojson``: real schools and hospitals from OpenStreetMap.

The input is ``ningbo_osm_schools_hospitals.geojson`` (560 schools and 95 hospitals in Ningbo as polygons,
``name``, ``county``, ``kind``; WGS 84), extracted from OpenStreetMap by the public repository
qingwalashi/nignbohub (``ningbo_school_boundaries.json``, ``ningbo_hospital_boundaries.json``, commit
15e16ddd, August 2025), with the source's invalid polygons repaired by a zero-width buffer. This script:

1. gives each feature an ``id`` (``RC00001`` ..., in the input's order: schools, then hospitals);
2. rounds coordinates to 6 decimals (about 0.1 m), as every layer of the sample is, and repairs any polygon
   the rounding made invalid (``make_valid``, keeping the polygonal part);
3. writes GeoJSON.

Licence: Open Database License (ODbL) 1.0, © OpenStreetMap contributors. The layer stays under the ODbL;
the manifest, the sample's README and every map that shows it say so.

Usage::

    python scripts/build_receptors.py PATH/ningbo_osm_schools_hospitals.geojson \\
        [--out nbgeo/datasets/ningbo/receptors.geojson]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[1]


def build(source: Path) -> gpd.GeoDataFrame:
    """The receptors layer from the extract: ids, the three columns, coordinates to 6 decimals, all valid."""
    gdf = gpd.read_file(source)
    if gdf.crs is None or not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.set_crs(4326, allow_override=True) if gdf.crs is None else gdf.to_crs(4326)
    geoms = shapely.transform(gdf.geometry.values, lambda xy: np.round(xy, 6))
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        fixed = shapely.make_valid(geoms[bad])
        geoms[bad] = [shapely.unary_union([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"])
                      for g in fixed]
    ids = [f"RC{i:05d}" for i in range(1, len(gdf) + 1)]
    return gpd.GeoDataFrame({"id": ids, "name": gdf["name"].to_numpy(), "kind": gdf["kind"].to_numpy(),
                             "county": gdf["county"].to_numpy()}, geometry=geoms, crs=4326)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "nbgeo" / "datasets" / "ningbo" / "receptors.geojson")
    args = parser.parse_args(argv)
    gdf = build(args.source)
    args.out.unlink(missing_ok=True)
    gdf.to_file(args.out, driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 6,
                                                                             "RFC7946": "YES"})
    counts = ", ".join(f"{kind} {int(n)}" for kind, n in gdf["kind"].value_counts().items())
    print(f"wrote {args.out}: {len(gdf)} features ({counts})")
    return args.out


if __name__ == "__main__":
    main()
