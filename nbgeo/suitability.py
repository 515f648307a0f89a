"""Suitability: where the land suits a kind of site, as a weighted multi-criteria surface.

A surface is a grid of square cells in the metric working CRS over a study
area (by default the dataset's districts). Every *scoring* criterion maps a
measured value ``v`` to a score in [0, 1] with a linear transfer between the
value that is best and the value that is worst:

.. math::

   s_k = \\operatorname{clip}\\!\\left(\\frac{\\text{worst}_k - v}{\\text{worst}_k - \\text{best}_k}, 0, 1\\right),
   \\qquad S = \\frac{\\sum_k w_k s_k}{\\sum_k w_k}

(``best`` may be above ``worst``: more is better). *Masks* are hard: a cell
in an excluded area, or outside a required one, or where a criterion has no
data (no DEM under it), has no score (NaN) and never yields a candidate.

Criteria (``kind``)
-------------------
``slope``
    Slope of a DEM raster of the dataset (``raster``, default ``"dem"``) in
    ``unit`` (``"percent"`` or ``"degree"``). The DEM is resampled to the
    grid (bilinear), then Horn's slope is taken on the grid, the usual
    ``gdalwarp`` + ``gdaldem slope`` recipe (:func:`nbgeo.raster.slope`).
``distance``
    Straight-line distance in metres from the cell centre to the nearest
    feature of a ``layer`` (roads, ports, zones; ``where`` filters it), or to
    the nearest road of a road ``network`` of the dataset. Measured as
    ``gdal_proximity`` and GIS "Euclidean distance" tools do: from the cell
    centre to the centre of the nearest cell the features touch (an exact
    Euclidean distance transform), so it is within half a cell diagonal of
    the distance to the geometry itself.
``raster``
    The value of another raster of the dataset (a population grid, say),
    resampled to the grid (bilinear).
``exclude``
    Hard mask: every cell that touches a feature of ``layer`` (optionally
    grown by ``buffer`` metres) is excluded: red line, water, basic farmland.
``within``
    Hard mask: only cells whose centre lies inside ``layer`` keep a score.

A plan declares surfaces in ``[[suitability]]`` tables, one criterion per
``[[suitability.criteria]]`` sub-table::

    [[suitability]]
    id = "micro_park_land"
    title = "Where new micro-enterprise parks fit"
    layer = "micro_parks"          # the kind of site the surface is for
    cell = 100                     # metres
    min_area = 13333               # m², for candidate zones
    min_score = 0.6

    [[suitability.criteria]]
    kind = "slope"
    weight = 0.4
    best = 2                       # percent
    worst = 10

    [[suitability.criteria]]
    kind = "exclude"
    layer = "constraints"
    where = { kind = ["ecological_red_line", "water", "basic_farmland"] }

Candidate sites come from a surface as its best cells (:meth:`Surface.best_cells`)
or as polygons of contiguous good cells of a minimum area (:meth:`Surface.zones`);
:func:`nbgeo.optimize.site` takes either.

Examples
--------
>>> from nbgeo import datasets, io, plan, suitability
>>> ds, p = io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025"))
>>> spec = next(s for s in p.suitability if s.id == "micro_park_land")
>>> surf = suitability.surface_from_spec(spec, ds)
>>> 0.0 <= float(surf.stats()["mean"]) <= 1.0, surf.cell
(True, 100.0)
>>> zones = surf.zones(min_score=0.7, min_area=13333)
>>> bool((zones["area_m2"] >= 13333).all()), bool((zones["mean_score"] >= 0.7).all())
(True, True)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from rasterio import features
from rasterio.warp import Resampling, reproject
from scipy import ndimage

from ._atomic import atomic_path
from .errors import CRSError, InputError, LimitError, PlanError
from .filters import check_filter, filter_mask
from .network import read_dataset_network
from .raster import open_raster, slope

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import NDArray

    from .layers import Dataset
    from .plan import SuitabilitySpec

__all__ = [
    "CRITERIA",
    "MAX_CELLS",
    "Criterion",
    "Surface",
    "criteria_from_spec",
    "surface",
    "surface_from_spec",
]

log = logging.getLogger(__name__)

#: The kinds of criteria.
CRITERIA = ("slope", "distance", "raster", "exclude", "within")
_SCORING = ("slope", "distance", "raster")

#: Largest grid (cells over the study area's bounding box) a surface may have.
MAX_CELLS = 50_000_000

_KEYS = {
    "slope": {"kind", "weight", "best", "worst", "raster", "unit", "title"},
    "distance": {"kind", "weight", "best", "worst", "layer", "where", "network", "title"},
    "raster": {"kind", "weight", "best", "worst", "raster", "band", "title"},
    "exclude": {"kind", "layer", "where", "buffer", "title"},
    "within": {"kind", "layer", "where", "title"},
}


@dataclass(frozen=True)
class Criterion:
    """One criterion of a surface.

    Parameters
    ----------
    kind
        One of :data:`CRITERIA`.
    weight
        Relative weight of a scoring criterion (> 0); weights are normalised to sum to 1.
    best, worst
        The values scored 1 and 0 (linear in between, clipped outside).
    layer, where
        The dataset layer (and ``{column: value(s)}`` filter) of ``distance``, ``exclude`` and ``within``.
    network
        For ``distance``: the name of a road network of the dataset, instead of a layer.
    raster
        For ``slope`` (default ``"dem"``) and ``raster``: the dataset raster.
    unit
        For ``slope``: ``"percent"`` (default) or ``"degree"``.
    buffer
        For ``exclude``: grow the excluded features by this many metres.
    title
        A label for the report.

    Examples
    --------
    >>> Criterion("distance", weight=1, best=0, worst=2000, layer="smart_roads").score(np.array([0, 500, 4000.0]))
    array([1.  , 0.75, 0.  ])
    >>> Criterion("slope", weight=1, best=10, worst=10)
    Traceback (most recent call last):
    ...
    nbgeo.errors.InputError: criterion slope: best and worst must differ, both are 10
    """

    kind: str
    weight: float = 1.0
    best: float | None = None
    worst: float | None = None
    layer: str | None = None
    where: Mapping[str, Any] = field(default_factory=dict)
    network: str | None = None
    raster: str | None = None
    unit: str = "percent"
    buffer: float = 0.0
    title: str = ""

    def __post_init__(self) -> None:
        what = f"criterion {self.kind}" + (f" ({self.layer})" if self.layer else "")

        def fail(msg: str) -> None:
            raise InputError(f"{what}: {msg}", code="E-SUIT-CRITERION")

        if self.kind not in CRITERIA:
            fail(f"kind must be one of {', '.join(CRITERIA)}, got {self.kind!r}")
        if self.kind in _SCORING:
            for key in ("best", "worst"):
                value = getattr(self, key)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    fail(f"{key} must be a number, got {value!r}")
            if self.best == self.worst:
                fail(f"best and worst must differ, both are {self.best:g}")
            if isinstance(self.weight, bool) or not isinstance(self.weight, (int, float)) or not self.weight > 0:
                fail(f"weight must be a positive number, got {self.weight!r}")
        if self.kind in ("exclude", "within") and not self.layer:
            fail("needs a layer")
        if self.kind == "distance" and bool(self.layer) == bool(self.network):
            fail("needs a layer or a network (one of them)")
        if self.kind == "slope" and self.unit not in ("percent", "degree"):
            fail(f"unit must be 'percent' or 'degree', got {self.unit!r}")
        if self.kind == "raster" and not self.raster:
            fail("needs a raster")
        if not (isinstance(self.buffer, (int, float)) and math.isfinite(self.buffer) and self.buffer >= 0):
            fail(f"buffer must be a distance >= 0 in metres, got {self.buffer!r}")
        check_filter(self.where, key=f"{what}, key 'where'")

    @property
    def label(self) -> str:
        """A short description, e.g. ``"distance to smart_roads"``."""
        if self.title:
            return self.title
        if self.kind == "slope":
            return f"slope ({self.unit})"
        if self.kind == "distance":
            return f"distance to {self.layer or 'network ' + str(self.network)}"
        if self.kind == "raster":
            return f"raster {self.raster}"
        return f"{self.kind} {self.layer}"

    def score(self, value: NDArray[np.float64]) -> NDArray[np.float64]:
        """The linear transfer from values to scores in [0, 1]; NaN stays NaN."""
        assert self.best is not None and self.worst is not None
        return np.clip((self.worst - value) / (self.worst - self.best), 0.0, 1.0)


def criteria_from_spec(spec: SuitabilitySpec) -> tuple[Criterion, ...]:
    """The criteria of a plan's ``[[suitability]]`` table, checked.

    Examples
    --------
    >>> from nbgeo.plan import SuitabilitySpec
    >>> spec = SuitabilitySpec(id="s", layer="chargers", params={"criteria": [{"kind": "slope", "weight": 1,
    ...                        "best": 0, "worst": 8, "colour": "red"}]})
    >>> criteria_from_spec(spec)
    Traceback (most recent call last):
    ...
    nbgeo.errors.PlanError: suitability 's', criterion #1 (slope): unknown key(s) colour; known: best, kind, raster, title, unit, weight, worst
    """
    raw = spec.params.get("criteria", ())
    if not raw:
        msg = f"suitability {spec.id!r}: no criteria (add [[suitability.criteria]] tables)"
        raise PlanError(msg, code="E-PLAN-SUITABILITY")
    out = []
    for i, item in enumerate(raw, 1):
        where = f"suitability {spec.id!r}, criterion #{i}"
        if not isinstance(item, Mapping) or "kind" not in item:
            msg = f"{where}: each criterion is a table with a kind"
            raise PlanError(msg, code="E-PLAN-SUITABILITY")
        kind = item["kind"]
        if kind not in _KEYS:
            msg = f"{where}: kind must be one of {', '.join(CRITERIA)}, got {kind!r}"
            raise PlanError(msg, code="E-PLAN-SUITABILITY")
        unknown = sorted(set(item) - _KEYS[kind])
        if unknown:
            msg = f"{where} ({kind}): unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS[kind]))}"
            raise PlanError(msg, code="E-PLAN-SUITABILITY")
        try:
            fields: dict[str, Any] = {k: dict(v) if k == "where" else v for k, v in item.items()}
            out.append(Criterion(**fields))
        except InputError as exc:
            raise PlanError(f"{where}: {exc.message}", code="E-PLAN-SUITABILITY") from None
    if not any(c.kind in _SCORING for c in out):
        msg = f"suitability {spec.id!r}: at least one scoring criterion (slope, distance, raster) is needed"
        raise PlanError(msg, code="E-PLAN-SUITABILITY")
    return tuple(out)


# --------------------------------------------------------------------------------------------------------------
# The surface
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Surface:
    """A suitability surface: a score in [0, 1] per cell, NaN where masked.

    Attributes
    ----------
    score
        ``(rows, cols)`` float32, row 0 at the top (north).
    transform
        The grid's affine transform (``rasterio.Affine``) in ``crs``.
    crs
        The metric CRS of the grid.
    cell
        Cell size in metres.
    criteria
        The criteria, in order.
    scores
        Each scoring criterion's own score grid, by label.
    masked
        Cells excluded by each mask (and ``"outside the area"``, ``"no data"``), by label: counts.
    id, title
        Names for the report.
    illustrative
        Whether any input layer or raster is illustrative.
    """

    score: NDArray[np.float32]
    transform: Any
    crs: Any
    cell: float
    criteria: tuple[Criterion, ...]
    scores: dict[str, NDArray[np.float32]]
    masked: dict[str, int]
    id: str = "suitability"
    title: str = ""
    illustrative: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.score.shape

    def centres(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Metric coordinates of the centres of the given cells."""
        t = self.transform
        return t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e

    def stats(self) -> dict[str, float]:
        """Cells with a score, and the score's min, mean and max."""
        valid = self.score[np.isfinite(self.score)]
        if valid.size == 0:
            return {"cells": 0, "min": math.nan, "mean": math.nan, "max": math.nan}
        return {"cells": int(valid.size), "min": float(valid.min()), "mean": float(valid.mean()),
                "max": float(valid.max())}

    def sample(self, points: Any) -> NDArray[np.float64]:
        """The score at points (a GeoDataFrame / GeoSeries in any CRS); NaN outside the grid or where masked."""
        geoms = points.geometry if hasattr(points, "geometry") else points
        xy = shapely.get_coordinates(np.asarray(geoms.to_crs(self.crs).values))
        t = self.transform
        cols = np.floor((xy[:, 0] - t.c) / t.a).astype(np.int64)
        rows = np.floor((xy[:, 1] - t.f) / t.e).astype(np.int64)
        ok = (rows >= 0) & (rows < self.shape[0]) & (cols >= 0) & (cols < self.shape[1])
        out = np.full(len(xy), np.nan)
        out[ok] = self.score[rows[ok], cols[ok]]
        return out

    def best_cells(self, *, n: int | None = None, min_score: float = 0.0, spacing: float | None = None
                   ) -> gpd.GeoDataFrame:
        """Candidate sites at the centres of the best cells, best first.

        Parameters
        ----------
        n
            At most this many (default: all that qualify).
        min_score
            Only cells scoring at least this.
        spacing
            Keep only the best cell of each square block of about ``spacing``
            metres, so candidates spread out (default: every cell).

        Returns
        -------
        geopandas.GeoDataFrame
            Points in EPSG:4326 indexed ``S<row>_<col>``, with ``score`` and ``source``.
        """
        rows, cols = np.nonzero(np.isfinite(self.score) & (self.score >= min_score))
        values = self.score[rows, cols].astype(np.float64)
        if spacing and spacing > self.cell and rows.size:
            block = max(1, round(spacing / self.cell))
            key = (rows // block) * (self.shape[1] // block + 1) + cols // block
            # The best cell of each block (ties: the first in row-major order).
            order = np.lexsort((rows * self.shape[1] + cols, -values, key))
            first = np.r_[True, key[order][1:] != key[order][:-1]]
            keep = order[first]
            rows, cols, values = rows[keep], cols[keep], values[keep]
        order = np.lexsort((rows * self.shape[1] + cols, -values))
        if n is not None:
            order = order[:n]
        rows, cols, values = rows[order], cols[order], values[order]
        x, y = self.centres(rows, cols)
        source = f"best cells of suitability {self.id!r} (score >= {min_score:g}" + (
            f", one per {spacing:g} m block)" if spacing and spacing > self.cell else ")")
        index = pd.Index([f"S{r}_{c}" for r, c in zip(rows, cols, strict=True)], dtype=object, name="id")
        gdf = gpd.GeoDataFrame({"score": values, "source": source}, geometry=shapely.points(x, y), crs=self.crs,
                               index=index)
        return gdf.to_crs(4326)

    def zones(self, *, min_score: float, min_area: float = 0.0) -> gpd.GeoDataFrame:
        """Candidate zones: polygons of edge-connected cells scoring at least ``min_score``, of at least ``min_area`` m².

        Returns
        -------
        geopandas.GeoDataFrame
            Polygons in EPSG:4326, best mean score first, indexed ``Z1``...,
            with ``cells``, ``area_m2``, ``mean_score``, ``max_score`` and ``source``.
        """
        good = np.isfinite(self.score) & (self.score >= min_score)
        labels, n = ndimage.label(good)
        columns = ["cells", "area_m2", "mean_score", "max_score", "source"]
        source = f"zones of suitability {self.id!r} (score >= {min_score:g}, area >= {min_area:g} m²)"
        if n == 0:
            return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=4326)
        flat = labels.ravel()
        counts = np.bincount(flat, minlength=n + 1)
        big = counts * self.cell * self.cell >= min_area
        big[0] = False
        scores = np.where(good, self.score, 0.0).ravel().astype(np.float64)
        sums = np.bincount(flat, weights=scores, minlength=n + 1)
        maxes = np.zeros(n + 1)
        np.maximum.at(maxes, flat, scores)
        keep_labels = np.where(big[labels], labels, 0).astype(np.int32)
        polys: dict[int, list[Any]] = {}
        for geom, value in features.shapes(keep_labels, mask=keep_labels > 0, transform=self.transform,
                                           connectivity=4):
            polys.setdefault(int(value), []).append(shapely.geometry.shape(geom))
        ids = sorted(polys)
        geoms = [shapely.union_all(polys[i]) if len(polys[i]) > 1 else polys[i][0] for i in ids]
        ids_arr = np.asarray(ids, dtype=np.int64)
        frame = pd.DataFrame({"cells": counts[ids_arr], "area_m2": counts[ids_arr] * self.cell * self.cell,
                              "mean_score": sums[ids_arr] / counts[ids_arr], "max_score": maxes[ids_arr],
                              "source": source})
        gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs=self.crs)
        gdf = gdf.sort_values(["mean_score", "area_m2"], ascending=False, kind="stable").reset_index(drop=True)
        gdf.index = pd.Index([f"Z{i}" for i in range(1, len(gdf) + 1)], dtype=object, name="id")
        return gdf.to_crs(4326)

    def classes(self, *, breaks: Sequence[float] = (0.2, 0.4, 0.6, 0.8), min_score: float = 0.4
                ) -> gpd.GeoDataFrame:
        """The surface as polygons of score classes, for a map (EPSG:4326).

        Classes below ``min_score`` are left out, so the map shows where land
        suits rather than drowning in the rest. Columns ``status``
        (``"suitability"``), ``label`` (e.g. ``"score 0.6–0.8"``) and ``score``
        (the class's middle, for a colour ramp: ``attrs["nbgeo_value"]`` names
        it; ``attrs["nbgeo_style"]`` asks the map for thin outlines).

        Examples
        --------
        >>> from affine import Affine
        >>> s = Surface(score=np.array([[0.1, 0.5], [0.9, np.nan]], dtype=np.float32),
        ...             transform=Affine(100, 0, 500000, 0, -100, 3300000), crs="EPSG:32651", cell=100.0,
        ...             criteria=(), scores={}, masked={}, id="demo")
        >>> s.classes()[["label", "score"]].values.tolist()
        [['demo: score 0.4–0.6', 0.5], ['demo: score 0.8–1.0', 0.9]]
        """
        edges = np.asarray([0.0, *breaks, 1.0])
        finite = np.isfinite(self.score)
        klass = np.zeros(self.shape, dtype=np.int32)  # 0: masked or below min_score
        klass[finite] = np.clip(np.searchsorted(edges, self.score[finite], side="right"), 1, len(edges) - 1)
        lows_all = edges[:-1]
        klass[finite & (lows_all[np.maximum(klass, 1) - 1] < min_score - 1e-9)] = 0
        geoms, values = [], []
        for geom, value in features.shapes(klass, mask=klass > 0, transform=self.transform, connectivity=4):
            geoms.append(shapely.geometry.shape(geom))
            values.append(int(value))
        k = np.asarray(values, dtype=np.int64)
        lows, highs = edges[k - 1] if len(k) else np.zeros(0), edges[k] if len(k) else np.zeros(0)
        labels = [f"{self.id}: score {lo:.1f}–{hi:.1f}" for lo, hi in zip(lows, highs, strict=True)]
        gdf = gpd.GeoDataFrame({"status": "suitability", "label": labels, "score": np.round((lows + highs) / 2, 6)},
                               geometry=geoms, crs=self.crs).to_crs(4326)
        gdf.attrs["nbgeo_value"] = "score"
        gdf.attrs["nbgeo_style"] = {"weight": 0.3, "fill_opacity": 0.55}
        return gdf

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: grid, criteria with their weights, masked cells, score statistics."""
        total = sum(c.weight for c in self.criteria if c.kind in _SCORING)
        return {
            "id": self.id, "title": self.title, "cell_m": self.cell, "rows": self.shape[0], "cols": self.shape[1],
            "crs": str(self.crs), "illustrative": self.illustrative,
            "criteria": [{"kind": c.kind, "label": c.label,
                          "weight": round(c.weight / total, 6) if c.kind in _SCORING else None,
                          "best": c.best, "worst": c.worst} for c in self.criteria],
            "masked_cells": dict(self.masked), **{f"score_{k}": (None if not math.isfinite(v) else round(v, 6))
                                                 for k, v in self.stats().items() if k != "cells"},
            "cells": self.stats()["cells"],
        }

    def write_tif(self, path: Any, *, overwrite: bool = False) -> Any:
        """Write the score as a float32 GeoTIFF (NaN = nodata), atomically."""
        with atomic_path(path, overwrite=overwrite) as tmp, rasterio.open(
            tmp, "w", driver="GTiff", height=self.shape[0], width=self.shape[1], count=1, dtype="float32",
            crs=rasterio.crs.CRS.from_user_input(self.crs), transform=self.transform, nodata=np.nan,
            compress="deflate",
        ) as dst:
            dst.write(self.score.astype(np.float32), 1)
            dst.set_band_description(1, f"suitability {self.id}")
        return path


# --------------------------------------------------------------------------------------------------------------
# Building a surface
# --------------------------------------------------------------------------------------------------------------


def _layer(dataset: Dataset, name: str, where: Mapping[str, Any], crs: Any, what: str) -> gpd.GeoDataFrame:
    if name not in dataset:
        msg = f"{what}: dataset {dataset.name!r} has no layer {name!r}; layers: {', '.join(dataset.names)}"
        raise InputError(msg, code="E-LAYER-MISSING")
    gdf = dataset.metric(name)
    gdf = gdf[filter_mask(gdf, where, layer=name, key=f"{what}, key 'where'").to_numpy()]
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    return gdf if gdf.crs.equals(crs) else gdf.to_crs(crs)


def _resample(dataset: Dataset, name: str, shape: tuple[int, int], transform: Any, crs: Any, what: str,
              band: int = 1, min_size: int = 1) -> NDArray[np.float64]:
    """A dataset raster resampled (bilinear) onto the grid; NaN where it has no data.

    ``min_size``: the fewest rows and columns the raster must have (a slope needs 3 × 3 pixels: resampled from
    fewer, the terrain would come out flat).
    """
    if name not in dataset.rasters:
        msg = (f"{what}: dataset {dataset.name!r} has no raster {name!r}; "
               f"rasters: {', '.join(dataset.rasters) or '(none)'}")
        raise InputError(msg, code="E-RASTER-MISSING")
    out = np.full(shape, np.nan, dtype=np.float64)
    with open_raster(dataset.raster(name)) as src:
        if band < 1 or band > src.count:
            msg = f"{what}: raster {name!r} has {src.count} band(s), not band {band}"
            raise InputError(msg, code="E-RASTER-BAND")
        if min(src.height, src.width) < min_size:
            msg = (f"{what}: raster {name!r} ({dataset.raster(name).meta.file}) has {src.width} × {src.height} "
                   f"pixels; a slope needs at least {min_size} × {min_size} (resampled, fewer would read as flat land)")
            raise InputError(msg + " (hint: use a DEM that covers the area with more pixels)", code="E-RASTER-SMALL")
        reproject(source=rasterio.band(src, band), destination=out, src_nodata=src.nodata, dst_nodata=np.nan,
                  dst_transform=transform, dst_crs=rasterio.crs.CRS.from_user_input(crs),
                  resampling=Resampling.bilinear)
    return out


def _proximity(geoms: NDArray[np.object_], shape: tuple[int, int], transform: Any, cell: float
               ) -> NDArray[np.float64]:
    """Distance from every cell centre to the nearest cell the geometries touch (``inf`` with none)."""
    if len(geoms) == 0:
        return np.full(shape, np.inf)
    hit = features.rasterize(((g, 1) for g in geoms), out_shape=shape, transform=transform, fill=0,
                             all_touched=True, dtype="uint8").astype(bool)
    if not hit.any():
        return np.full(shape, np.inf)
    return ndimage.distance_transform_edt(~hit, sampling=cell)


def surface(
    dataset: Dataset,
    criteria: Sequence[Criterion],
    *,
    cell: float = 100.0,
    area: gpd.GeoDataFrame | None = None,
    id: str = "suitability",
    title: str = "",
) -> Surface:
    """Build a suitability surface from criteria (see the module docstring for the formula).

    Parameters
    ----------
    dataset
        The layers and rasters the criteria read.
    criteria
        The criteria (:class:`Criterion`), at least one scoring.
    cell
        Cell size in metres.
    area
        The study area (polygons, any CRS); default the dataset's ``districts``.
    id, title
        Names for the report.

    Returns
    -------
    Surface

    Examples
    --------
    Distance to the sample's smart roads alone, red line excluded:

    >>> from nbgeo import io
    >>> ds = io.read_sample()
    >>> crit = [Criterion("distance", weight=1, best=0, worst=5000, layer="smart_roads"),
    ...         Criterion("exclude", layer="constraints", where={"kind": "ecological_red_line"})]
    >>> s = surface(ds, crit, cell=1000)
    >>> s.masked["exclude constraints"] > 0, round(float(np.nanmax(s.score)), 3)
    (True, 1.0)
    """
    if isinstance(cell, bool) or not (isinstance(cell, (int, float)) and math.isfinite(cell) and cell > 0):
        msg = f"cell must be a positive number of metres, got {cell!r}"
        raise InputError(msg, code="E-SUIT-CELL")
    criteria = tuple(criteria)
    if not any(c.kind in _SCORING for c in criteria):
        msg = "a surface needs at least one scoring criterion (slope, distance, raster)"
        raise InputError(msg, code="E-SUIT-CRITERION")
    crs = dataset.working_crs
    if area is None:
        if "districts" not in dataset:
            msg = "no study area: pass area= or give the dataset a districts layer"
            raise InputError(msg, code="E-SUIT-AREA")
        area_gdf = dataset.metric("districts")
    else:
        if area.crs is None:

            msg = "the study area has no CRS (hint: set_crs(...))"
            raise CRSError(msg, code="E-CRS-MISSING")
        area_gdf = area
    area_gdf = area_gdf if area_gdf.crs.equals(crs) else area_gdf.to_crs(crs)
    x0, y0, x1, y1 = area_gdf.total_bounds
    # Whole cells, aligned to multiples of the cell size; a micrometre of reprojection noise adds no cell.
    x0, y0 = math.floor(x0 / cell + 1e-9) * cell, math.floor(y0 / cell + 1e-9) * cell
    cols, rows = max(1, math.ceil((x1 - x0) / cell - 1e-9)), max(1, math.ceil((y1 - y0) / cell - 1e-9))
    if rows * cols > MAX_CELLS:
        msg = f"a {cell:g} m grid over the study area has {rows * cols:,} cells, more than {MAX_CELLS:,}"
        raise LimitError(msg + " (hint: a larger cell or a smaller area)", code="E-LIMIT-CELLS")
    transform = Affine(cell, 0.0, x0, 0.0, -cell, y0 + rows * cell)
    shape = (rows, cols)
    inside = features.rasterize(((g, 1) for g in area_gdf.geometry.values), out_shape=shape, transform=transform,
                                fill=0, dtype="uint8").astype(bool)
    valid = inside.copy()
    masked = {"outside the area": int((~inside).sum())}
    total_weight = 0.0
    acc = np.zeros(shape, dtype=np.float64)
    scores: dict[str, NDArray[np.float32]] = {}
    illustrative = False
    for c in criteria:
        what = f"criterion {c.label}"
        if c.kind in ("exclude", "within"):
            gdf = _layer(dataset, str(c.layer), c.where, crs, what)
            illustrative |= dataset.layer(str(c.layer)).meta.illustrative
            geoms = np.asarray(gdf.geometry.values)
            if c.kind == "exclude" and c.buffer > 0:
                geoms = shapely.buffer(geoms, c.buffer)
            hit = np.zeros(shape, dtype=bool)
            if len(geoms):
                hit = features.rasterize(((g, 1) for g in geoms), out_shape=shape, transform=transform, fill=0,
                                         all_touched=c.kind == "exclude", dtype="uint8").astype(bool)
            drop = valid & (hit if c.kind == "exclude" else ~hit)
            masked[c.label] = int(drop.sum())
            valid &= ~drop
            continue
        value = np.full(shape, np.nan)
        if c.kind == "slope":

            name = c.raster or "dem"
            # Resample with a one-cell margin, so that cells on the grid's edge still have their 3 × 3 window.
            padded = Affine(cell, 0.0, transform.c - cell, 0.0, -cell, transform.f + cell)
            dem = _resample(dataset, name, (rows + 2, cols + 2), padded, crs, what, min_size=3)
            illustrative |= dataset.raster(name).meta.illustrative
            value = slope(dem, xres=cell, yres=cell, unit=c.unit)[1:-1, 1:-1]
        elif c.kind == "raster":
            value = _resample(dataset, str(c.raster), shape, transform, crs, what)
            illustrative |= dataset.raster(str(c.raster)).meta.illustrative
        else:  # distance
            if c.network:

                net = read_dataset_network(dataset, c.network)
                edges = net.to_gdf()
                geoms = np.asarray((edges if edges.crs.equals(crs) else edges.to_crs(crs)).geometry.values)
                illustrative |= net.meta.illustrative
            else:
                geoms = np.asarray(_layer(dataset, str(c.layer), c.where, crs, what).geometry.values)
                illustrative |= dataset.layer(str(c.layer)).meta.illustrative
            value = _proximity(geoms, shape, transform, cell)
        s = c.score(value)
        nodata = valid & ~np.isfinite(s)
        if nodata.any():
            masked[f"no data: {c.label}"] = int(nodata.sum())
            valid &= ~nodata
        scores[c.label] = s.astype(np.float32)
        acc += c.weight * np.nan_to_num(s)
        total_weight += c.weight
    score = np.where(valid, acc / total_weight, np.nan).astype(np.float32)
    out = Surface(score=score, transform=transform, crs=crs, cell=float(cell), criteria=criteria, scores=scores,
                  masked=masked, id=id, title=title, illustrative=illustrative)
    stats = out.stats()
    log.info("Suitability %r: %d × %d cells of %g m, %d scored, mean %.3f", id, rows, cols, cell, stats["cells"],
             stats["mean"] if stats["cells"] else float("nan"))
    return out


def surface_from_spec(spec: SuitabilitySpec, dataset: Dataset, *, cell: float | None = None) -> Surface:
    """Build the surface a plan's ``[[suitability]]`` table declares (``cell`` overrides its cell size)."""
    params = spec.params
    size = float(cell if cell is not None else params.get("cell", 100.0))
    area = None
    if params.get("area"):
        name = str(params["area"])
        if name not in dataset:
            msg = f"suitability {spec.id!r}: dataset has no area layer {name!r}"
            raise InputError(msg, code="E-LAYER-MISSING")
        area = dataset.metric(name)
    return surface(dataset, criteria_from_spec(spec), cell=size, area=area, id=spec.id, title=spec.title)
