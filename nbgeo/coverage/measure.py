"""Coverage: which demand is within the service distance of a facility, by district."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..deprecation import renamed_keywords
from ..errors import InputError
from ..network import node_distances, road_pieces
from .distances import access_of, site_distances
from .inputs import demand_units, metric_layer, working_crs_of

if TYPE_CHECKING:
    import geopandas as gpd

    from ..engine import Engine
    from ..network import RoadNetwork


# --------------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Coverage:
    """Coverage of demand by facilities within a service distance.

    Attributes
    ----------
    units
        One row per demand unit (a site, or a piece of one), in the metric
        CRS: ``site``, ``weight``, ``distance`` (metres to the nearest
        facility; ``inf`` if none within the search), ``facility``,
        ``covered`` (covered part of the weight) and ``district``.
    distance
        The service distance in metres.
    distance_by
        ``"road"`` or ``"straight"``: the ``by`` it was measured with (formerly ``mode``, ``"network"`` or
        ``"straight"``).
    weight
        What the weights measure.
    """

    units: gpd.GeoDataFrame
    distance: float
    distance_by: str
    weight: str

    @property
    def mode(self) -> str:
        """Deprecated: :attr:`distance_by` in the old words (``"network"`` or ``"straight"``)."""
        warnings.warn("Coverage.mode is deprecated; use Coverage.distance_by ('road' or 'straight')",
                      DeprecationWarning, stacklevel=2)
        return "network" if self.distance_by == "road" else self.distance_by

    @property
    def total(self) -> float:
        """Total demand weight."""
        return float(self.units["weight"].sum())

    @property
    def covered(self) -> float:
        """Covered demand weight."""
        return float(self.units["covered"].sum())

    @property
    def share(self) -> float:
        """Covered share of the demand in percent (NaN when there is no demand)."""
        total = self.total
        return 100.0 * self.covered / total if total > 0 else float("nan")

    def sites(self) -> pd.DataFrame:
        """Per demand site: weight, covered weight, covered share (%), least distance, nearest facility."""
        u = self.units
        g = u.groupby("site", sort=False)
        out = pd.DataFrame({"weight": g["weight"].sum(), "covered": g["covered"].sum(),
                            "distance": g["distance"].min()})
        out["share"] = 100.0 * out["covered"] / out["weight"].where(out["weight"] > 0)
        nearest = u.loc[u.groupby("site", sort=False)["distance"].idxmin().to_numpy(), ["site", "facility"]]
        out["facility"] = pd.Series(nearest["facility"].to_numpy(), index=nearest["site"].to_numpy(), dtype=object)
        out.index.name = "site"
        return out

    def uncovered(self) -> pd.DataFrame:
        """The sites not fully covered, farthest first (see :meth:`sites`)."""
        s = self.sites()
        return s[s["covered"] < s["weight"] - 1e-9].sort_values("distance", ascending=False, kind="stable")

    def by(self, column: str = "district") -> pd.DataFrame:
        """Coverage per group of units (e.g. per district): weight, covered, share (%), sites, uncovered sites."""
        u = self.units
        sites = self.sites()
        site_group = u.groupby("site", sort=False)[column].first()
        g = u.groupby(column, sort=True, dropna=False)
        out = pd.DataFrame({"weight": g["weight"].sum(), "covered": g["covered"].sum()})
        out["share"] = 100.0 * out["covered"] / out["weight"].where(out["weight"] > 0)
        not_full = sites["covered"] < sites["weight"] - 1e-9
        out["sites"] = site_group.value_counts(dropna=False).reindex(out.index, fill_value=0)
        out["uncovered_sites"] = site_group[not_full.reindex(site_group.index).to_numpy()].value_counts(
            dropna=False).reindex(out.index, fill_value=0)
        return out


def districts_of(points: np.ndarray, districts: gpd.GeoDataFrame | None, column: str, crs: Any) -> np.ndarray:
    """The district name of each point (``None`` outside every district)."""
    out = np.full(len(points), None, dtype=object)
    if districts is None or len(points) == 0:
        return out
    d = metric_layer(districts, "districts", crs)
    names = d[column].to_numpy(dtype=object) if column in d.columns else np.asarray(d.index, dtype=object)
    tree = shapely.STRtree(np.asarray(d.geometry.values, dtype=object))
    left, right = tree.query(points, predicate="intersects")
    # A point on a shared border belongs to the first district listed.
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    head = np.r_[True, left[1:] != left[:-1]] if len(left) else np.zeros(0, dtype=bool)
    out[left[head]] = names[right[head]]
    return out


@renamed_keywords(mode=("by", {"network": "road"}))
def coverage(
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    distance: float,
    by: Literal["road", "straight"] = "road",
    network: RoadNetwork | None = None,
    weight: str = "count",
    split: Literal["none", "grid", "length"] | None = None,
    cell: float = 100.0,
    districts: gpd.GeoDataFrame | None = None,
    district_column: str = "name",
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    search: float | None = None,
    engine: Engine | None = None,
) -> Coverage:
    """Coverage of demand by facilities within ``distance`` (see the module docstring for the formula).

    Parameters
    ----------
    demand
        Demand sites: points, polygons or lines (any CRS).
    facilities
        Facilities (any CRS).
    distance
        Service distance in metres (inclusive).
    by
        ``"road"`` or ``"straight"`` (formerly ``mode="network"`` / ``"straight"``).
    network
        The road network (for ``"road"``).
    weight, split, cell
        How demand is weighed and cut, see :func:`demand_units`.
    districts
        Polygons to break the coverage down by (e.g. the dataset's districts).
    district_column
        Their name column.
    max_snap, direction
        See :func:`nbgeo.network.nearest_facility`.
    search
        Distances are computed up to this (default ``4 × distance``) so that
        uncovered sites still show how far they are; beyond it they are ``inf``.
    engine
        Where the snapping runs (see :func:`site_distances`); same results.

    Returns
    -------
    Coverage

    Examples
    --------
    Coverage by road is never above coverage in a straight line.

    >>> import geopandas as gpd, numpy as np
    >>> from shapely import Point
    >>> from nbgeo import network
    >>> net = network.network_from_arrays(np.array([0.0, 600, 600]), np.array([0.0, 0, 600]), u=[0, 1, 1, 2],
    ...                                   v=[1, 0, 2, 1], crs="EPSG:32651")
    >>> parks = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(600, 0), Point(0, 600)], crs="EPSG:32651")
    >>> charger = gpd.GeoDataFrame(geometry=[Point(600, 600)], crs="EPSG:32651")
    >>> by_road = coverage(parks, charger, distance=800, network=net)
    >>> straight = coverage(parks, charger, distance=800, by="straight", network=net)
    >>> round(by_road.share, 1), round(straight.share, 1)
    (33.3, 66.7)
    """
    if not (isinstance(distance, (int, float)) and np.isfinite(distance) and distance >= 0):
        msg = f"distance must be a finite number of metres >= 0, got {distance!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    crs = working_crs_of(network, demand, facilities)
    units = demand_units(demand, weight=weight, split=split, cell=cell, crs=crs)
    reps = shapely.point_on_surface(np.asarray(units.geometry.values, dtype=object))
    units["district"] = districts_of(reps, districts, district_column, crs)
    return cover_units(units, facilities, distance=float(distance), by=by, network=network, weight=weight,
                  max_snap=max_snap, direction=direction, search=search, engine=engine)


def search_limit(distance: float, search: float | None) -> float:
    """How far distances are computed: ``search``, at least the service distance (default 4 × it)."""
    return 4.0 * distance if search is None else max(float(search), distance)


def cover_units(units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, *, distance: float,
           by: Literal["road", "straight"],
           network: RoadNetwork | None, weight: str, max_snap: float | None, direction: Literal["to", "from"],
           search: float | None, engine: Engine | None = None, distances: pd.DataFrame | None = None) -> Coverage:
    """Measure prepared units (see :func:`demand_units`) against facilities.

    ``distances``, when given, are the units' :func:`site_distances` (in their order), measured beforehand.
    """
    units = units.copy()
    limit = search_limit(distance, search)
    if len(units):
        dist = distances if distances is not None else site_distances(
            units, facilities, by=by, network=network, distance=limit, max_snap=max_snap, direction=direction,
            engine=engine)
        units["distance"] = dist["distance"].to_numpy()
        units["facility"] = dist["facility"].to_numpy()
        if "snap" in dist.columns:
            units["snap"] = dist["snap"].to_numpy()
    else:
        units["distance"] = np.zeros(0)
        units["facility"] = np.zeros(0, dtype=object)
    units["covered"] = np.where(units["distance"].to_numpy() <= distance, units["weight"].to_numpy(), 0.0)
    if "district" not in units.columns:
        units["district"] = None
    return Coverage(units=units, distance=float(distance), distance_by=by, weight=weight)


def road_coverage(
    network: RoadNetwork,
    facilities: gpd.GeoDataFrame,
    *,
    distance: float,
    districts: gpd.GeoDataFrame | None = None,
    district_column: str = "name",
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    engine: Engine | None = None,
) -> Coverage:
    """Length of road within ``distance`` by road of a facility, exactly, piece by piece.

    Each street between two nodes is one unit weighing its length. A point at
    distance ``t`` from node ``a`` on a street of length ``L`` to node ``b``
    reaches a facility after ``t + D_a`` (going back to ``a``, if the street
    is open that way) or ``L - t + D_b`` (going on to ``b``); the covered
    length is the measure of the ``t`` for which one of them is at most the
    service distance. With an ``engine``, the facilities are joined to the
    network on it (:meth:`~nbgeo.engine.Engine.access_points`); same results.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> from shapely import Point
    >>> from nbgeo import network
    >>> two_way = network.network_from_arrays(np.array([0.0, 1000]), np.zeros(2), u=[0, 1], v=[1, 0],
    ...                                       crs="EPSG:32651")
    >>> charger = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:32651")
    >>> road_coverage(two_way, charger, distance=300).covered
    300.0
    >>> one_way = network.network_from_arrays(np.array([0.0, 1000]), np.zeros(2), u=[1], v=[0], crs="EPSG:32651")
    >>> road_coverage(one_way, charger, distance=300).covered
    300.0
    >>> road_coverage(one_way, charger, distance=300, direction="from").covered
    0.0
    """
    reach = road_reach(network, facilities, distance=distance, max_snap=max_snap, direction=direction,
                        engine=engine)
    a, b = reach["a"], reach["b"]
    x, y = network.x, network.y
    lines = shapely.linestrings(np.stack([np.column_stack([x[a], y[a]]), np.column_stack([x[b], y[b]])], axis=1)) \
        if len(a) else np.zeros(0, dtype=object)
    frac = np.minimum(1.0, reach["reach_a"] + reach["reach_b"])
    units = gpd.GeoDataFrame(
        {"site": np.arange(len(a)), "weight": reach["length"], "distance": reach["distance"],
         "facility": reach["facility"], "covered": frac * reach["length"], "reach_a": reach["reach_a"],
         "reach_b": reach["reach_b"]},
        geometry=lines, crs=network.crs,
    )
    mids = shapely.points((x[a] + x[b]) / 2, (y[a] + y[b]) / 2)
    units["district"] = districts_of(np.asarray(mids, dtype=object), districts, district_column, network.crs)
    return Coverage(units=units, distance=float(distance), distance_by="road", weight="length")


def road_reach(network: RoadNetwork, facilities: Any, *, distance: float, max_snap: float | None,
                direction: Literal["to", "from"], engine: Engine | None = None) -> dict[str, np.ndarray]:
    """Per street piece (nodes a < b): the share of it within reach from each end, and the nearest facility."""
    f_acc, f_index = access_of(network, facilities, "facilities", max_snap=max_snap,
                             direction="from" if direction == "to" else "to", engine=engine)
    d_node, src = node_distances(network, f_acc.node, offsets=f_acc.offset, distance=distance,
                                      direction=direction)
    pieces = road_pieces(network)
    a, b = pieces.a, pieces.b
    # Travelling to a facility ("to"): from a point on a->b one drives on to b along a->b (if it exists), or
    # back to a along b->a. From a facility ("from"): one arrives at a and drives on along a->b, or via b->a.
    # The share of the piece within reach from each end: (r - D_end) / L, clipped to [0, 1]; a direction
    # closed to traffic reaches nothing.
    with np.errstate(divide="ignore", invalid="ignore"):
        if direction == "to":
            reach_b = np.where(pieces.has_ab, (distance - d_node[b]) / pieces.length_ab, 0.0)
            reach_a = np.where(pieces.has_ba, (distance - d_node[a]) / pieces.length_ba, 0.0)
        else:
            reach_a = np.where(pieces.has_ab, (distance - d_node[a]) / pieces.length_ab, 0.0)
            reach_b = np.where(pieces.has_ba, (distance - d_node[b]) / pieces.length_ba, 0.0)
    reach_a = np.clip(np.nan_to_num(reach_a, nan=0.0, neginf=0.0, posinf=1.0), 0.0, 1.0)
    reach_b = np.clip(np.nan_to_num(reach_b, nan=0.0, neginf=0.0, posinf=1.0), 0.0, 1.0)
    near_node = np.where(d_node[a] <= d_node[b], a, b)
    fac = np.full(len(a), None, dtype=object)
    has = src[near_node] >= 0
    fac[has] = np.asarray(f_index, dtype=object)[f_acc.owner[src[near_node[has]]]]
    return {"a": a, "b": b, "reach_a": reach_a, "reach_b": reach_b,
            "length": np.fmin(pieces.length_ab, pieces.length_ba), "distance": np.fmin(d_node[a], d_node[b]),
            "facility": fac}
