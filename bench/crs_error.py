"""Length error of the working CRS far from Ningbo, against the geodesic (issue 14).

Prints, for places across the world, the relative error of two 40 km lines (east-west and north-south) measured
in the old fixed Ningbo transverse Mercator and in the working CRS nbgeo now chooses from the data's extent.

    .venv/bin/python bench/crs_error.py
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
from pyproj import Geod
from shapely import LineString

from nbgeo import crs

PLACES = {"Ningbo": (121.55, 29.87), "Chengdu": (104.07, 30.67), "Urumqi": (87.6, 43.8), "Paris": (2.35, 48.85),
          "Chicago": (-87.6, 41.9), "São Paulo": (-46.63, -23.55)}
GEOD = Geod(ellps="WGS84")


def main() -> None:
    print(f"{'place':<10} {'fixed Ningbo TM':>17} {'chosen working CRS':>20}  chosen")
    for name, (lon, lat) in PLACES.items():
        we, sn = (lon - 0.25, lon + 0.25), (lat - 0.18, lat + 0.18)
        lines = gpd.GeoSeries([LineString([(we[0], lat), (we[1], lat)]), LineString([(lon, sn[0]), (lon, sn[1])])],
                              crs=4326)
        truth = np.array([GEOD.line_length(list(we), [lat, lat]), GEOD.line_length([lon, lon], list(sn))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old = lines.to_crs(crs.NINGBO_TM).length.to_numpy()
        choice = crs.choose_working_crs(lines)
        new = lines.to_crs(choice.crs).length.to_numpy()
        worst_old, worst_new = (float(np.max(np.abs(x / truth - 1))) for x in (old, new))
        print(f"{name:<10} {100 * worst_old:>16.3f}% {100 * worst_new:>19.5f}%  {choice.crs.name}")


if __name__ == "__main__":
    main()
