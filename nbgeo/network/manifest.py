"""The road networks a dataset's manifest declares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..layers import LayerMeta
from ..manifest import manifest_path, read_manifest
from .graph import RoadNetwork
from .read import read_network

if TYPE_CHECKING:
    from ..layers import Dataset


# --------------------------------------------------------------------------------------------
# Networks declared in a dataset manifest
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSource:
    """A road network declared in a dataset manifest: where it is, what it is, and which roads to read."""

    path: Path
    meta: LayerMeta
    network_type: str = "drive"
    declared_crs: str | None = None

    def read(self, *, use_cache: bool | None = None, crs: Any = None) -> RoadNetwork:
        """Read the network (cached), in the metric CRS ``crs`` (a dataset's working CRS; see :func:`read_network`)."""
        return read_network(self.path, network_type=self.network_type, use_cache=use_cache, meta=self.meta,
                            crs=crs, source_crs=self.declared_crs)


def dataset_networks(dataset: Dataset | str | Path) -> dict[str, NetworkSource]:
    """The road networks a dataset's manifest declares in ``[networks.NAME]`` tables.

    A network table has ``file`` (relative to the dataset folder), ``source``,
    ``licence``, ``illustrative``, ``note`` and optionally ``network_type``,
    ``crs`` (the CRS of the file's coordinates: checked against the file, and
    used where a GraphML or GeoPackage file declares none; OSM files are WGS 84
    longitude/latitude) and ``datum`` (WGS84 or CGCS2000). The CRS distances
    are measured in is the dataset's working CRS, not a key here::

        [networks.roads]
        file = "roads.osm.pbf"
        source = "OpenStreetMap, extract of 2025-06-01"
        licence = "ODbL-1.0"
        illustrative = false

    Given a :class:`~nbgeo.layers.Dataset`, its ``networks`` (whatever it
    was read from); given a folder, those its manifest declares
    (:func:`nbgeo.manifest.read_manifest` checks every key).

    Examples
    --------
    >>> from nbgeo import datasets
    >>> nets = dataset_networks(datasets.get_path("ningbo"))
    >>> list(nets), nets["roads"].meta.illustrative, nets["roads"].path.name
    (['roads'], True, 'roads.osm.pbf')
    >>> from nbgeo.layers import Dataset
    >>> dataset_networks(Dataset(name="in memory", layers={}))
    {}
    """
    if not isinstance(dataset, (str, Path)):  # a dataset holds its networks, whatever it was read from
        files = dict(dataset.networks)
    elif not manifest_path(dataset).is_file():
        return {}
    else:  # the one manifest reader checks every key (nbgeo.manifest)
        files = read_manifest(dataset).network_files()
    return {name: NetworkSource(path=Path(f.path), meta=f.meta, network_type=f.network_type,
                                declared_crs=f.declared_crs) for name, f in files.items()}


def read_dataset_network(dataset: Dataset | str | Path, name: str = "roads", *,
                         use_cache: bool | None = None) -> RoadNetwork:
    """Read the road network a dataset's manifest declares (see :func:`dataset_networks`).

    Given a :class:`~nbgeo.layers.Dataset`, the network is measured in the
    dataset's working CRS, as its layers are; given a folder, in one chosen
    from the network's own extent.

    Raises
    ------
    InputError
        ``E-NET-MISSING`` when the manifest declares no such network.

    Examples
    --------
    >>> from nbgeo import io
    >>> net = read_dataset_network(io.read_sample())
    >>> net.meta.illustrative, net.meta.file
    (True, 'roads.osm.pbf')
    >>> from nbgeo.layers import Dataset
    >>> read_dataset_network(Dataset(name="in memory", layers={}))
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: dataset 'in memory' declares no road network 'roads' (hint: add a [networks.roads] table with file = '...osm.pbf' to dataset.toml)
    """
    nets = dataset_networks(dataset)
    if name not in nets:
        where = getattr(dataset, "name", str(dataset))
        msg = (f"dataset {where!r} declares no road network {name!r}"
               f"{'; declared: ' + ', '.join(nets) if nets else ''}")
        raise InputError(msg + " (hint: add a [networks.roads] table with file = '...osm.pbf' to dataset.toml)",
                         code="E-NET-MISSING")
    choice = getattr(dataset, "crs_choice", None)
    return nets[name].read(use_cache=use_cache, crs=None if choice is None else choice.text)
