"""Layer kinds, their schemas, and the in-memory dataset.

A dataset is a set of named layers. Each *kind* of layer (``clusters``,
``chargers``, ...) has a schema: the geometry types it may hold and the
columns it needs. :data:`LAYERS` is the registry; :class:`Dataset` holds the
layers of one dataset together with the provenance its manifest declares.

Every layer is held in WGS 84 longitude/latitude (EPSG:4326) after any datum
conversion, indexed by its feature ``id``; :meth:`Dataset.metric` returns the
same layer in the dataset's metric working CRS for lengths, areas and
distances. That CRS is decided once per dataset, from the extent of all its
layers (:func:`nbgeo.crs.choose_working_crs`), unless the dataset declares one;
:attr:`Dataset.working_crs` is it, and ``Dataset.crs_choice`` says why.

Examples
--------
>>> from nbgeo.layers import LAYERS
>>> LAYERS["chargers"].geom_types
('Point',)
>>> [c.name for c in LAYERS["chargers"].columns]
['type', 'ports', 'year']
>>> [(c.name, c.unit) for c in LAYERS["projects"].columns if c.unit]
[('investment', '亿元')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .crs import choose_working_crs
from .errors import CRSError, LayerError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    import geopandas as gpd
    import pandas as pd
    from pyproj import CRS

    from .crs import WorkingCRS
    from .errors import Problem

__all__ = [
    "INDUSTRIES",
    "LAYERS",
    "Column",
    "Dataset",
    "IndicatorTable",
    "Layer",
    "LayerMeta",
    "LayerSpec",
    "NetworkFile",
    "Raster",
]

#: The plan's industries (the themes of featured parks), in the plan's own words.
INDUSTRIES = (
    "汽车及零部件",
    "绿色石化",
    "新材料",
    "高端装备",
    "新一代电子信息制造",
    "软件和信息服务",
    "关键基础件",
    "生物医药",
    "节能环保",
    "时尚纺织服装",
    "智能家电",
    "文体用品",
)

#: Themes of the future-industry pilot zones (未来产业先导区).
FUTURE_THEMES = ("人工智能", "深海空天信息", "氢能与储能", "区块链", "基因技术", "第三代半导体", "量子信息", "柔性电子")

#: Uses of transferred land parcels.
LAND_USES = ("industrial", "commercial", "residential", "public", "logistics", "other")

#: Kinds of constraint polygons: the three control lines (三区三线, :mod:`nbgeo.landuse.control_lines`: the red
#: line, permanent basic farmland, the urban development boundary), water and sensitive uses.
CONSTRAINT_KINDS = (
    "ecological_red_line",
    "water",
    "basic_farmland",
    "residential",
    "school",
    "hospital",
    "other_sensitive",
    "urban_development_boundary",
)

POLYGONS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")


@dataclass(frozen=True)
class Column:
    """One column of a layer schema.

    Parameters
    ----------
    name
        Column name; ``{year}`` marks a family of yearly columns (``output_2021``...).
    dtype
        ``"str"``, ``"int"``, ``"float"`` or ``"year"``.
    required
        Whether the layer is invalid without it.
    allowed
        For categorical columns, the values allowed.
    description
        What it holds, with its unit in words.
    unit
        The unit its numbers are in, as :mod:`nbgeo.units` names it (``"m²"``, ``"ha"``, ``"亿元"``), or ``""``
        for a count, a year or text. A bureau's table in another unit of the same dimension says so in
        ``dataset.toml`` (``units = { area = "亩" }``) and is converted on read (:mod:`nbgeo.fieldmap`).
    """

    name: str
    dtype: str = "str"
    required: bool = True
    allowed: tuple[str, ...] = ()
    description: str = ""
    unit: str = ""

    @property
    def is_yearly(self) -> bool:
        """Whether this column is a family of yearly columns."""
        return "{year}" in self.name


@dataclass(frozen=True)
class LayerSpec:
    """The schema of one kind of layer."""

    name: str
    title_zh: str
    title_en: str
    geom_types: tuple[str, ...]
    columns: tuple[Column, ...] = ()
    description: str = ""

    def column(self, name: str) -> Column | None:
        """Return the column spec called ``name``, or None."""
        return next((c for c in self.columns if c.name == name), None)


_NAME = Column("name", "str", description="name of the feature")

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "districts", "区县", "Districts", POLYGONS,
            (_NAME, Column("name_en", "str", required=False), Column("adcode", "str", required=False)),
            "county-level districts of the city",
        ),
        LayerSpec(
            "clusters", "产业集聚区", "Industrial agglomeration zones", POLYGONS,
            (
                _NAME,
                Column("tier", "str", allowed=("千亿级", "五百亿级", "其他"), description="declared tier"),
                Column("lead_industries", "str", description="lead industries, separated by ';'"),
                Column("output_{year}", "float", description="industrial output in 亿元 (100 million yuan)",
                       unit="亿元"),
            ),
            "industrial agglomeration zones with their output by year",
        ),
        LayerSpec(
            "featured_parks", "特色产业园", "Featured industrial parks", POLYGONS,
            (_NAME, Column("industry", "str", allowed=INDUSTRIES), Column("year", "year")),
            "featured industrial parks, each with one theme industry of the plan",
        ),
        LayerSpec(
            "micro_parks", "小微企业园", "Micro-enterprise parks", (*POLYGONS, "Point"),
            (
                _NAME,
                Column("status", "str", allowed=("built", "upgraded", "planned")),
                Column("year", "year", description="year built or upgraded"),
                Column("area", "float", description="floor area in m²", unit="m²"),
                Column("enterprises", "int", description="number of enterprises housed"),
            ),
            "micro-enterprise parks built or upgraded",
        ),
        LayerSpec(
            "future_zones", "未来产业先导区", "Future-industry pilot zones", POLYGONS,
            (_NAME, Column("theme", "str", allowed=FUTURE_THEMES), Column("year", "year")),
            "future-industry pilot zones",
        ),
        LayerSpec(
            "land_transfers", "土地出让", "Land transfers", POLYGONS,
            (Column("use", "str", allowed=LAND_USES), Column("year", "year"),
             Column("area", "float", required=False, description="declared area in hectares", unit="ha")),
            "parcels of land transferred (出让), by use and year",
        ),
        LayerSpec(
            "chargers", "充换电设施", "EV charging and swapping", ("Point",),
            (Column("type", "str", allowed=("charging", "swapping")), Column("ports", "int"), Column("year", "year")),
            "EV charging and battery-swapping facilities",
        ),
        LayerSpec(
            "smart_roads", "智慧道路", "Smart roads", LINES,
            (_NAME, Column("year", "year"), Column("kind", "str", allowed=("new", "renovated"))),
            "roads built or renovated as smart roads",
        ),
        LayerSpec(
            "base_stations_5g", "5G基站", "5G base stations", ("Point",),
            (Column("year", "year"),),
            "5G base stations by year in service",
        ),
        LayerSpec(
            "constraints", "约束区", "Constraints", POLYGONS,
            (_NAME, Column("kind", "str", allowed=CONSTRAINT_KINDS)),
            "ecological red line, water, basic farmland, and sensitive land uses",
        ),
        LayerSpec(
            "receptors", "环境敏感目标", "Schools and hospitals", POLYGONS,
            (_NAME, Column("kind", "str", allowed=("school", "hospital")),
             Column("county", "str", required=False, description="the county-level district")),
            "schools and hospitals: the sensitive places a setback keeps industry away from",
        ),
        LayerSpec(
            "projects", "在建项目", "Projects under construction", ("Point",),
            (_NAME, Column("project", "str", description="the project's id, the same in every year"),
             Column("sector", "str", allowed=("manufacturing", "other")),
             Column("investment", "float", description="total investment in 亿元 (100 million yuan)",
                    unit="亿元"),
             Column("year", "year", description="a year the project is under construction (one row per year)"),
             Column("start_year", "year", required=False), Column("end_year", "year", required=False)),
            "major projects, one row per year each is under construction",
        ),
        LayerSpec(
            "computing_centres", "算力中心", "Computing centres", ("Point",),
            (_NAME, Column("kind", "str", allowed=("supercomputing", "data_centre")),
             Column("chain", "str", required=False, description="the landmark industrial chain it serves"),
             Column("year", "year", description="year in service")),
            "the smart supercomputing centre and the data centres of the landmark industrial chains",
        ),
        LayerSpec(
            "qianwan_zone", "前湾沪浙合作发展区", "Qianwan Shanghai–Zhejiang cooperation zone", POLYGONS,
            (_NAME, Column("year", "year", description="year set up")),
            "the extent of the Qianwan Shanghai–Zhejiang cooperation zone",
        ),
    )
}


@dataclass(frozen=True)
class LayerMeta:
    """Provenance of one layer, as its dataset manifest declares it.

    Parameters
    ----------
    name
        Layer name.
    file
        The file it was read from (or a database table), or None.
    source
        Where the data comes from.
    licence
        Its licence.
    datum
        The datum of the coordinates *in the source* (WGS84, CGCS2000, GCJ-02, BD-09);
        the layer in memory is always WGS 84.
    crs
        The CRS of the source file.
    illustrative
        True when the data was made up or placed by hand.
    note
        Anything else a reader of the report should know.
    mapping
        How the file's own fields and values were read (``"use ← 地类编码 (...)"``), one line per column
        (the manifest's ``columns`` and ``values``: :mod:`nbgeo.fieldmap`).
    datum_basis
        Where ``datum`` comes from, so that no datum is taken silently: ``"declared"`` (the manifest's
        ``datum``), ``"rfc7946"`` (a GeoJSON file: WGS 84 by RFC 7946), ``"file"`` (the CRS the file
        declares), ``"manifest_crs"`` (the manifest's ``crs``, the file declaring none), ``"assumed"``
        (``--assume-crs``), ``"default"`` (a PostGIS manifest row with no datum: WGS 84); empty for layers
        built in memory.
    """

    name: str
    file: str | None = None
    source: str = "unknown"
    licence: str = "unknown"
    datum: str = "WGS84"
    crs: str = "EPSG:4326"
    illustrative: bool = False
    note: str = ""
    mapping: tuple[str, ...] = ()
    datum_basis: str = ""


@dataclass(frozen=True)
class Layer:
    """One layer: a GeoDataFrame in EPSG:4326 indexed by feature id, and its provenance."""

    gdf: gpd.GeoDataFrame
    meta: LayerMeta

    @property
    def name(self) -> str:
        """The layer's name."""
        return self.meta.name

    @property
    def spec(self) -> LayerSpec | None:
        """The layer's schema, or None for a layer kind nbgeo does not know."""
        return LAYERS.get(self.meta.name)


@dataclass(frozen=True)
class Raster:
    """One raster of a dataset (a DEM, say): its local file and its provenance.

    The pixels stay on disk; :mod:`nbgeo.raster` reads the windows it needs.
    ``crs`` is the raster's own CRS as the file declares it (checked against
    the manifest when the dataset is read).
    """

    path: str
    meta: LayerMeta
    crs: str = ""

    @property
    def name(self) -> str:
        """The raster's name in the manifest."""
        return self.meta.name


@dataclass(frozen=True)
class NetworkFile:
    """A road network of a dataset: its local file (an OSM extract, GraphML or GeoPackage) and its provenance.

    The roads stay on disk until a measure by road needs them; :mod:`nbgeo.network`
    reads them (:func:`nbgeo.network.read_dataset_network`).

    Attributes
    ----------
    path
        The file.
    meta
        Its provenance, as ``[networks.NAME]`` declares it.
    network_type
        Which roads to keep: ``"drive"`` or ``"drive_service"``.
    declared_crs
        The CRS the manifest declares for the file's coordinates, or None.
    """

    path: str
    meta: LayerMeta
    network_type: str = "drive"
    declared_crs: str | None = None

    @property
    def name(self) -> str:
        """The network's name in the manifest."""
        return self.meta.name


@dataclass(frozen=True)
class IndicatorTable:
    """Yearly values of the plan's indicators, with their provenance.

    Attributes
    ----------
    values
        One row per year (the index, ``int``), one ``float`` column per
        indicator; missing values are NaN.
    file, source, licence, illustrative, note
        Provenance, as the manifest declares it.
    """

    values: pd.DataFrame
    file: str | None = None
    source: str = "unknown"
    licence: str = "unknown"
    illustrative: bool = False
    note: str = ""

    @property
    def years(self) -> list[int]:
        """The years of the table, in order."""
        return [int(y) for y in self.values.index]

    def value(self, column: str, year: int) -> float | None:
        """The value of ``column`` in ``year``, or None when missing.

        Examples
        --------
        >>> import pandas as pd
        >>> t = IndicatorTable(pd.DataFrame({"firms": [10.0, float("nan")]}, index=[2020, 2021]))
        >>> t.value("firms", 2020), t.value("firms", 2021), t.value("firms", 2030)
        (10.0, None, None)
        """
        if column not in self.values.columns or year not in self.values.index:
            return None
        v = float(self.values.at[year, column])
        return v if math.isfinite(v) else None

    def info(self) -> dict[str, Any]:
        """Provenance as JSON-ready data (the ``dataset.tables`` part of ``audit.json``)."""
        return {"file": self.file, "source": self.source, "licence": self.licence,
                "illustrative": self.illustrative, "note": self.note, "years": self.years,
                "columns": [str(c) for c in self.values.columns]}

    def __eq__(self, other: object) -> bool:
        """Equal values and provenance (``file``, where it happens to be stored, aside)."""
        if not isinstance(other, IndicatorTable):
            return NotImplemented
        mine, theirs = self.info(), other.info()
        mine.pop("file")
        theirs.pop("file")
        return mine == theirs and self.values.shape == other.values.shape and self.values.equals(other.values)

    __hash__ = None  # type: ignore[assignment]  # holds a DataFrame


@dataclass(frozen=True)
class Dataset:
    """A named set of layers with their provenance, rasters, road networks and tables.

    Build one with :func:`nbgeo.io.read_dataset` (a folder),
    :func:`nbgeo.io.read_postgis` (a PostGIS schema) or :meth:`from_gdfs`
    (in memory); each carries all four, and :func:`nbgeo.io.write_dataset`
    writes all four.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"type": ["charging"], "ports": [4], "year": [2022]},
    ...                      geometry=[Point(121.55, 29.87)], crs=4326, index=["c1"])
    >>> ds = Dataset.from_gdfs({"chargers": g}, name="tiny")
    >>> ds.names, len(ds["chargers"])
    (('chargers',), 1)
    >>> ds.working_crs.name, round(ds.metric("chargers").geometry.x.iloc[0])
    ('CGCS2000 / TM 121.55E 29.87N (nbgeo)', 500000)

    A dataset derived with ``dataclasses.replace`` keeps its working CRS (so
    a scenario is measured as its base is); pass ``crs_choice=None`` to choose
    again from the new layers.
    """

    name: str
    layers: Mapping[str, Layer]
    path: str | None = None
    title: str = ""
    problems: tuple[Problem, ...] = ()
    rasters: Mapping[str, Raster] = field(default_factory=dict)
    networks: Mapping[str, NetworkFile] = field(default_factory=dict)
    tables: Mapping[str, IndicatorTable] = field(default_factory=dict)
    crs_choice: WorkingCRS | None = field(default=None, compare=False)
    _metric_cache: dict[str, tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]] = field(default_factory=dict, repr=False,
                                                                                compare=False)

    def __post_init__(self) -> None:
        if self.crs_choice is None:  # chosen from the layers once, here; an extent too large shows on use
            choice = choose_working_crs([layer.gdf for layer in self.layers.values()], strict=False)
            object.__setattr__(self, "crs_choice", choice)

    @classmethod
    def from_gdfs(
        cls,
        gdfs: Mapping[str, gpd.GeoDataFrame],
        *,
        name: str = "dataset",
        illustrative: bool = False,
        source: str = "in memory",
        working_crs: object | None = None,
        rasters: Mapping[str, Raster] | None = None,
        networks: Mapping[str, NetworkFile] | None = None,
        tables: Mapping[str, IndicatorTable] | None = None,
    ) -> Dataset:
        """Build a dataset from GeoDataFrames (reprojected to EPSG:4326 if needed).

        ``working_crs`` declares the CRS to measure in; by default it is chosen
        from the layers' extent (:func:`nbgeo.crs.choose_working_crs`).
        ``rasters``, ``networks`` and ``tables`` are carried as given.

        Examples
        --------
        >>> import geopandas as gpd, pandas as pd
        >>> from shapely import Point
        >>> g = gpd.GeoDataFrame({"type": ["charging"], "ports": [4], "year": [2022]},
        ...                      geometry=[Point(121.55, 29.87)], crs=4326, index=["c1"])
        >>> t = IndicatorTable(pd.DataFrame({"firms": [10.0]}, index=pd.Index([2024], name="year")))
        >>> Dataset.from_gdfs({"chargers": g}, tables={"indicators": t}).tables["indicators"].years
        [2024]
        """
        layers = {}
        for layer_name, gdf in gdfs.items():
            if gdf.crs is None:
                msg = f"layer {layer_name!r} has no CRS"
                raise CRSError(msg, code="E-CRS-MISSING")
            crs = gdf.crs.to_string()
            g = gdf if gdf.crs.equals("EPSG:4326") else gdf.to_crs(4326)
            meta = LayerMeta(name=layer_name, source=source, crs=crs, illustrative=illustrative)
            layers[layer_name] = Layer(g, meta)
        choice = choose_working_crs([layer.gdf for layer in layers.values()], override=working_crs,
                                    strict=False)
        return cls(name=name, layers=layers, crs_choice=choice, rasters=dict(rasters or {}),
                   networks=dict(networks or {}), tables=dict(tables or {}))

    @property
    def names(self) -> tuple[str, ...]:
        """The layer names, in manifest order."""
        return tuple(self.layers)

    def __contains__(self, name: object) -> bool:
        return name in self.layers

    def __iter__(self) -> Iterator[str]:
        return iter(self.layers)

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        """The layer's GeoDataFrame in EPSG:4326."""
        return self.layer(name).gdf

    def layer(self, name: str) -> Layer:
        """The layer called ``name``; a LayerError naming the available ones if absent."""
        try:
            return self.layers[name]
        except KeyError:
            msg = (
                f"dataset {self.name!r} has no layer {name!r}; "
                f"available: {', '.join(self.layers) or '(none)'}"
            )
            raise LayerError(msg, code="E-LAYER-MISSING") from None

    @property
    def working_crs(self) -> CRS:
        """The projected CRS this dataset is measured in (see ``crs_choice`` for why).

        Raises ``E-CRS-EXTENT`` when the layers span too much of the Earth for
        any one CRS to hold lengths and areas within 0.1 %.
        """
        assert self.crs_choice is not None, "set in __post_init__"
        return self.crs_choice.require()

    def metric(self, name: str) -> gpd.GeoDataFrame:
        """The layer projected to the dataset's working CRS (cached per dataset).

        The cache remembers which GeoDataFrame it projected, and into which
        CRS, so a scenario derived with ``dataclasses.replace(ds, layers={...})``
        or ``replace(ds, crs_choice=...)`` (which share the cache dict) never
        gets the projection of the layer it replaced, or in the CRS it replaced.
        """
        source = self[name]
        crs = self.working_crs
        key = f"{name}\n{self.crs_choice.text if self.crs_choice is not None else ''}"  # a new CRS, a new entry
        hit = self._metric_cache.get(key)
        if hit is None or hit[0] is not source:
            hit = (source, source.to_crs(crs))
            self._metric_cache[key] = hit
        return hit[1]

    def keep_rows(self, keep: Mapping[str, Any]) -> Dataset:
        """The dataset with only the rows ``keep[name]`` (a boolean mask on the layer's rows) of some layers.

        The other layers, the rasters, networks, tables and the working CRS stay as they are, and a
        layer's projection to the working CRS already made is cut, not made again (a year of a large
        layer costs no second reprojection). An audit of an earlier year judges its sites this way.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import Point
        >>> g = gpd.GeoDataFrame({"year": [2020, 2024]}, geometry=[Point(121.5, 29.8), Point(121.6, 29.9)],
        ...                      crs=4326, index=["a", "b"])
        >>> ds = Dataset.from_gdfs({"chargers": g})
        >>> early = ds.keep_rows({"chargers": g["year"] <= 2022})
        >>> early["chargers"].index.tolist(), early.metric("chargers").index.tolist(), early.working_crs == ds.working_crs
        (['a'], ['a'], True)
        """
        layers = dict(self.layers)
        cache: dict[str, tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]] = {}
        for name, mask in keep.items():
            layer = self.layer(name)
            rows = np.asarray(mask, dtype=bool)
            kept = layer.gdf[rows]
            layers[name] = Layer(kept, layer.meta)
            key = f"{name}\n{self.crs_choice.text if self.crs_choice is not None else ''}"
            hit = self._metric_cache.get(key)
            if hit is not None and hit[0] is layer.gdf:  # the projection made already, cut like the layer
                cache[key] = (kept, hit[1][rows])
        return replace(self, layers=layers, _metric_cache=cache)

    def raster(self, name: str) -> Raster:
        """The raster called ``name``; a LayerError naming the available ones if absent."""
        return _named(self, self.rasters, name, "raster", "rasters", "E-RASTER-MISSING")

    def network(self, name: str) -> NetworkFile:
        """The road network called ``name``; a LayerError naming the declared ones if absent."""
        return _named(self, self.networks, name, "road network", "networks", "E-NET-MISSING")

    @property
    def illustrative(self) -> bool:
        """Whether any layer or raster is illustrative."""
        return (any(layer.meta.illustrative for layer in self.layers.values())
                or any(raster.meta.illustrative for raster in self.rasters.values()))


def _named(dataset: Dataset, items: Mapping[str, Any], name: str, what: str, table: str, code: str) -> Any:
    """``items[name]``, or a LayerError naming the available ones and the manifest table to add."""
    try:
        return items[name]
    except KeyError:
        msg = (f"dataset {dataset.name!r} has no {what} {name!r}; available: {', '.join(items) or '(none)'} "
               f"(hint: add [{table}.{name}] to dataset.toml)")
        raise LayerError(msg, code=code) from None
