"""Distances from demand to facilities, by road or in a straight line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from ..deprecation import renamed_keywords
from ..errors import InputError
from ..network import Access, DistanceMatrix, access_points, distance_matrix, nearest_facility, nearest_from_access
from ..network.access import to_network_geoms
from .inputs import metric_layer, working_crs_of

if TYPE_CHECKING:
    import geopandas as gpd

    from ..engine import Engine
    from ..network import Access, DistanceMatrix, RoadNetwork

#: How distance is measured: along the roads (the road network) or in a straight line.
BY = ("road", "straight")

# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


@renamed_keywords(mode=("by", {"network": "road"}), cutoff="distance")
def site_distances(
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    by: Literal["road", "straight"] = "road",
    network: RoadNetwork | None = None,
    distance: float | None = None,
    max_snap: float | None = None,
    direction: Literal["to", "from"] = "to",
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Distance from every demand site to its nearest facility, aligned to the demand index.

    Parameters
    ----------
    demand, facilities
        GeoDataFrames (any CRS; measured in the network's or the working CRS).
    by
        ``"road"`` (needs ``network``) or ``"straight"`` (formerly ``mode="network"`` / ``"straight"``).
    network
        The road network.
    distance
        Distances above this (metres) are reported as ``inf`` (faster by road; formerly ``cutoff``).
    max_snap, direction
        See :func:`nbgeo.network.nearest_facility`.
    engine
        Where the snapping runs (:mod:`nbgeo.engine`); default: in this
        process. In a straight line the engine finds each site's nearest
        facility (:meth:`~nbgeo.engine.Engine.snap`); by road it joins sites
        and facilities to the network (:meth:`~nbgeo.engine.Engine.access_points`)
        and the Dijkstra runs here. The results are the same either way.

    Returns
    -------
    pandas.DataFrame
        Columns ``distance`` and ``facility`` (on equal distances, the first
        facility); by road also ``road``, ``snap``, ``facility_snap`` and ``node``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> parks = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), Point(50, 0)], index=["a", "b"], crs="EPSG:32651")
    >>> chargers = gpd.GeoDataFrame(geometry=[Point(5, 5), Point(80, 40)], index=["c", "d"], crs="EPSG:32651")
    >>> site_distances(parks, chargers, by="straight")
       distance facility
    a   0.000000        c
    b  45.276926        c
    """
    if by not in BY:
        msg = f"by must be one of {', '.join(BY)}, got {by!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    if by == "road" and network is None:
        msg = "coverage by road needs a road network (pass network=, or use by='straight')"
        raise InputError(msg, code="E-NET-MISSING")
    if engine is not None:
        return Snapping(engine, demand, facilities, by=by, network=network, max_snap=max_snap,
                         direction=direction).distances(distance=distance)
    if by == "road":
        assert network is not None
        return nearest_facility(network, demand, facilities, distance=distance, max_snap=max_snap,
                                     direction=direction)
    crs = working_crs_of(network, demand, facilities)
    return _straight_distances(metric_layer(demand, "demand", crs), metric_layer(facilities, "facilities", crs), distance)


def _straight_distances(d: gpd.GeoDataFrame, f: gpd.GeoDataFrame, distance: float | None,
                        engine: Engine | None = None) -> pd.DataFrame:
    """Straight distance from each site of ``d`` to its nearest facility of ``f`` (same metric CRS).

    Sites without a facility within ``distance`` get ``inf``. Of equally near
    facilities (several inside one park) the first is named, whichever engine
    searched: the engine only finds the pairs, the distances are measured here.
    """
    dist = np.full(len(d), np.inf)
    facility = np.full(len(d), None, dtype=object)
    d_geoms = np.asarray(d.geometry.values, dtype=object)
    f_geoms = np.asarray(f.geometry.values, dtype=object)
    f_ok = ~(shapely.is_missing(f_geoms) | shapely.is_empty(f_geoms))
    d_ok = ~(shapely.is_missing(d_geoms) | shapely.is_empty(d_geoms))
    if f_ok.any() and d_ok.any():
        if engine is None:
            tree = shapely.STRtree(f_geoms[f_ok])
            left, right = tree.query_nearest(d_geoms[d_ok], max_distance=distance, all_matches=True)
            order = np.lexsort((right, left))
            left, right = left[order], right[order]
            first = np.r_[True, left[1:] != left[:-1]] if len(left) else np.zeros(0, dtype=bool)
            left, right = left[first], right[first]
        else:

            snapped = engine.snap(gpd.GeoDataFrame(geometry=d_geoms[d_ok], crs=d.crs),
                                  gpd.GeoDataFrame(geometry=f_geoms[f_ok], crs=f.crs), max_distance=distance)
            target = snapped["target"].to_numpy(dtype=np.float64, na_value=np.nan)  # positions in f_ok
            left = np.flatnonzero(~np.isnan(target))
            right = target[left].astype(np.int64)
        pos = np.flatnonzero(d_ok)[left]
        fac_pos = np.flatnonzero(f_ok)[right]
        dist[pos] = shapely.distance(d_geoms[pos], f_geoms[fac_pos])
        facility[pos] = np.asarray(f.index, dtype=object)[fac_pos]
    return pd.DataFrame({"distance": dist, "facility": pd.Series(facility, index=d.index, dtype=object)},
                        index=d.index)


def _subset(access: Access, keep: np.ndarray | None) -> Access:
    """The access points of the features ``keep`` selects, numbered among them."""
    if keep is None:
        return access
    keep = np.asarray(keep, dtype=bool)
    renumber = np.cumsum(keep) - 1
    rows = keep[access.owner]
    return Access(owner=renumber[access.owner[rows]], node=access.node[rows], offset=access.offset[rows],
                       n_features=int(keep.sum()))


def access_of(network: RoadNetwork, features: Any, what: str, *, max_snap: float | None,
            direction: Literal["to", "from"], engine: Engine | None) -> tuple[Access, pd.Index]:
    """Where features join the network (:func:`nbgeo.network.access_points`), here or on an engine; their index."""
    geoms, index = to_network_geoms(features, network, what)
    if engine is None:
        return access_points(network, geoms, max_snap=max_snap, direction=direction), index

    return engine.access_points(network, gpd.GeoSeries(geoms, crs=network.crs), max_snap=max_snap,
                                direction=direction), index


class Snapping:
    """Coverage's snapping, once for demand units and facilities measured year after year.

    By road, every unit and every facility is joined to the network once (on
    the engine, if any: the access points of a feature do not depend on the
    year); each year then takes the access points of its units and facilities
    and runs one multi-source Dijkstra in this process, as
    :func:`nbgeo.network.nearest_facility` does. In a straight line, each
    year's units are snapped to that year's facilities (on the engine, if
    any), with a tree of that year's facilities: one tree of all the
    facilities for all years means measuring every pair within the search
    distance (4 x the service distance), which at 10x the sample cost more
    than six trees.
    """

    def __init__(self, engine: Engine | None, demand: Any, facilities: Any, *, by: str,
                 network: RoadNetwork | None, max_snap: float | None, direction: Literal["to", "from"]) -> None:
        self.engine, self.by, self.network, self.max_snap, self.direction = engine, by, network, max_snap, direction
        if by == "straight":
            crs = working_crs_of(network, demand, facilities)
            demand, facilities = metric_layer(demand, "demand", crs), metric_layer(facilities, "facilities", crs)
        self.demand, self.facilities = demand, facilities
        self._demand_access: tuple[Access, pd.Index] | None = None
        self._facility_access: tuple[Access, pd.Index] | None = None

    def _access(self) -> tuple[tuple[Access, pd.Index], tuple[Access, pd.Index]]:
        """Where every unit and every facility joins the network (travel starts at the units for 'to')."""
        assert self.network is not None
        if self._demand_access is None or self._facility_access is None:
            back: Literal["to", "from"] = "from" if self.direction == "to" else "to"
            self._demand_access = access_of(self.network, self.demand, "origins", max_snap=self.max_snap,
                                          direction=self.direction, engine=self.engine)
            self._facility_access = access_of(self.network, self.facilities, "facilities", max_snap=self.max_snap,
                                            direction=back, engine=self.engine)
        return self._demand_access, self._facility_access

    def distances(self, demand_keep: np.ndarray | None = None, facility_keep: np.ndarray | None = None, *,
                  distance: float | None) -> pd.DataFrame:
        """As :func:`site_distances`, for the units and facilities the boolean masks keep (default: all)."""
        if self.by == "straight":
            d = self.demand if demand_keep is None else self.demand[demand_keep]
            f = self.facilities if facility_keep is None else self.facilities[facility_keep]
            return _straight_distances(d, f, distance, self.engine)
        assert self.network is not None
        (o_acc, o_index), (f_acc, f_index) = self._access()
        return nearest_from_access(
            self.network, _subset(o_acc, demand_keep), _subset(f_acc, facility_keep),
            origin_index=o_index if demand_keep is None else o_index[demand_keep],
            facility_index=f_index if facility_keep is None else f_index[facility_keep], distance=distance,
            direction=self.direction)


@renamed_keywords(mode=("by", {"network": "road"}))
def distances_within(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    distance: float,
    by: Literal["road", "straight"] = "road",
    network: RoadNetwork | None = None,
    max_snap: float | None = None,
) -> DistanceMatrix:
    """Which candidate facility sites would serve which demand sites: the input of LSCP / MCLP models.

    Parameters
    ----------
    demand
        Demand sites (rows of the matrix).
    candidates
        Candidate (or existing) facility sites (columns).
    distance
        Service distance in metres: pairs farther apart are not stored.
    by, network, max_snap
        As for :func:`site_distances`.

    Returns
    -------
    nbgeo.network.DistanceMatrix
        Sparse distances; ``.covers()`` gives the boolean coverage matrix
        ``a_ij`` of the location models, ``.to_dense()`` a dense cost matrix.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> sites = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(500, 0)], index=["s1", "s2"], crs="EPSG:32651")
    >>> cands = gpd.GeoDataFrame(geometry=[Point(0, 300), Point(900, 0)], index=["k1", "k2"], crs="EPSG:32651")
    >>> m = distances_within(sites, cands, distance=450, by="straight")
    >>> m.covers().toarray().tolist(), m.columns.tolist()
    ([[True, False], [False, True]], ['k1', 'k2'])
    """
    if by == "road":
        if network is None:
            msg = "distances by road need a road network (pass network=, or use by='straight')"
            raise InputError(msg, code="E-NET-MISSING")
        return distance_matrix(network, demand, candidates, distance=distance, max_snap=max_snap)
    if by != "straight":
        msg = f"by must be one of {', '.join(BY)}, got {by!r}"
        raise InputError(msg, code="E-PARAM-VALUE")
    crs = working_crs_of(network, demand, candidates)
    d = metric_layer(demand, "demand", crs)
    c = metric_layer(candidates, "candidates", crs)
    d_geoms = np.asarray(d.geometry.values, dtype=object)
    c_geoms = np.asarray(c.geometry.values, dtype=object)
    tree = shapely.STRtree(c_geoms)
    rows, cols = tree.query(d_geoms, predicate="dwithin", distance=distance)
    dist = shapely.distance(d_geoms[rows], c_geoms[cols])
    order = np.lexsort((cols, rows))
    rows, cols, dist = rows[order], cols[order], dist[order]
    indptr = np.zeros(len(d) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(d)), out=indptr[1:])
    matrix = sparse.csr_array((dist, cols, indptr), shape=(len(d), len(c)))
    return DistanceMatrix(matrix=matrix, rows=pd.Index(d.index), columns=pd.Index(c.index),
                               distance=float(distance))
