"""Road networks: read or download them, convert them once to a sparse matrix in metres, measure by road.

A :class:`RoadNetwork` is a directed graph held as a SciPy CSR matrix whose
entry ``(i, j)`` is the length in metres of the road from node ``i`` to node
``j``, with the node coordinates in a metric CRS: a dataset's working CRS when
it is read for a dataset (:func:`read_dataset_network`), else one chosen from
the network's own extent (:func:`nbgeo.crs.working_crs_for`). Everything
network-related in nbgeo runs on it:

* **Reading.** :func:`read_network` opens ``.osm`` XML and ``.osm.pbf``
  extracts (with ``osmium``; osmnx cannot read PBF), ``.graphml`` files saved
  by osmnx, and GeoPackages of osmnx ``nodes``/``edges`` layers.
  :func:`network_from_place` and :func:`network_from_polygon` download a
  city's drivable network with osmnx. Every reader caches the built matrix on
  disk, in the user's cache directory (or ``settings.cache_folder``), keyed
  and verified by the file's content or the query (see :mod:`nbgeo._cache`:
  a damaged, foreign or planted entry is ignored and rebuilt).
* **Conversion.** :func:`network_from_graph` turns a networkx graph into the
  matrix once. Parallel edges keep the **shortest** road (``networkx.to_scipy_sparse_array``
  adds them up, which is wrong for distances). Curved edges are split at their
  vertices, so every node lies on the road and snapping to nodes stays close.
* **Snapping.** Points snap to the nearest node with a KD-tree
  (:meth:`RoadNetwork.snap`); the snapping distance is reported and counted
  in every distance. By default only nodes of the largest strongly connected
  component are snap targets, so a site never lands on an isolated island of
  the network (a car park, a data error).
* **Distances.** :func:`nearest_facility` gives, for arbitrary points, parks or
  lines, the road distance to the nearest facility and which facility it is.
  It is one multi-source Dijkstra with a cutoff on the **reversed** graph,
  because "distance to the nearest charger" is travelled from the site to the
  charger, and one-way streets make that differ from the way back. Small
  searches run ``scipy.sparse.csgraph.dijkstra`` (``min_only``, ``limit``);
  many facilities on a large graph run nbgeo's vectorised bucket search
  (:func:`node_distances`, ``search=``), about twice as fast there, with the
  same distances.

Distance model
--------------
For an origin ``o`` and a set of facilities ``F``, with ``A(g)`` the access
nodes of a geometry ``g`` (see :func:`access_points`) and ``s(g, a)`` the
straight distance from ``g`` to access node ``a``:

.. math::

   d(o, F) = \\min_{f \\in F} \\; \\min_{a \\in A(o),\\, b \\in A(f)}
             \\big( s(o, a) + D(a, b) + s(f, b) \\big)

where ``D(a, b)`` is the shortest road distance from node ``a`` to node ``b``
along the directed graph. The facility-side snapping distances enter the
Dijkstra as starting distances at the facility nodes (for SciPy's, as the
lengths of edges from one virtual source to every facility node), so the
minimum is exact, not an approximation.

Examples
--------
A one-way loop around a block: the way to the facility is not the way back.

>>> import numpy as np
>>> from nbgeo import network
>>> x, y = np.array([0.0, 100.0, 100.0, 0.0]), np.array([0.0, 0.0, 100.0, 100.0])
>>> loop = network.network_from_arrays(x, y, u=[0, 1, 2, 3], v=[1, 2, 3, 0], crs="EPSG:32651")
>>> site, charger = np.array([[100.0, 100.0]]), np.array([[100.0, 0.0]])
>>> float(network.nearest_facility(loop, site, charger)["distance"].iloc[0])
300.0
>>> float(network.nearest_facility(loop, site, charger, direction="from")["distance"].iloc[0])
100.0
"""

from __future__ import annotations

from .access import Access, access_points
from .build import network_from_arrays, network_from_graph
from .distances import DistanceMatrix, distance_matrix, nearest_facility, nearest_from_access, node_distances
from .download import network_from_place, network_from_polygon
from .graph import RoadNetwork, road_pieces
from .manifest import NetworkSource, dataset_networks, read_dataset_network
from .osm import DRIVE_EXCLUDED, NETWORK_TYPES, is_drivable
from .read import read_network

__all__ = [
    "DRIVE_EXCLUDED",
    "NETWORK_TYPES",
    "Access",
    "DistanceMatrix",
    "NetworkSource",
    "RoadNetwork",
    "access_points",
    "dataset_networks",
    "distance_matrix",
    "is_drivable",
    "nearest_facility",
    "nearest_from_access",
    "network_from_arrays",
    "network_from_graph",
    "network_from_place",
    "network_from_polygon",
    "node_distances",
    "read_dataset_network",
    "read_network",
    "road_pieces",
]
