"""Resource limits on inputs, checked before the heavy work starts.

A planner's folder may hold a zip bomb, a GeoPackage with a hundred million
rows, one polygon with ten million vertices, or a GeoTIFF whose header
declares 10 GB of pixels in a 1 MB file. Each of these would exhaust memory
or time long before anything useful happens, so nbgeo checks them first and
refuses with a :class:`~nbgeo.errors.LimitError` naming the limit and how to
raise it (``../shared/RELIABILITY.md`` §5.7).

The limits are module attributes, like :mod:`nbgeo.settings`; change one by
assignment, or for a block of code with :func:`override`. The CLI options
``--max-features``, ``--max-vertices``, ``--max-zip-ratio``,
``--max-input-mb`` and ``--max-pixels`` set them for one run.

max_input_bytes : int
    Largest input file, or uncompressed zip content, in bytes (2 GiB).
max_zip_ratio : float
    Largest uncompressed-to-compressed size ratio of a zip archive (100:1;
    ordinary shapefiles compress 3-10:1, the bomb in the reference was 295:1).
max_features : int
    Most features in one layer (5,000,000), from the layer's header.
max_vertices : int
    Most vertices in one geometry (1,000,000).
max_pixels : int
    Most pixels in one raster band read (1e9).

Examples
--------
>>> from nbgeo import limits
>>> limits.check_features(10, file="parks.gpkg")
>>> with limits.override(max_features=5):
...     limits.check_features(10, file="parks.gpkg", layer="parks")
Traceback (most recent call last):
...
nbgeo.errors.LimitError: file 'parks.gpkg', layer 'parks': 10 features, more than the limit of 5 (hint: raise it with --max-features or nbgeo.limits.max_features)
>>> limits.max_features
5000000
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

import numpy as np

from .errors import LimitError, Problem

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import ArrayLike

__all__ = [
    "check_features",
    "check_input_size",
    "check_pixels",
    "check_vertices",
    "check_zip",
    "max_features",
    "max_input_bytes",
    "max_pixels",
    "max_vertices",
    "max_zip_ratio",
    "override",
]

max_input_bytes: int = 2 * 1024**3
max_zip_ratio: float = 100.0
max_features: int = 5_000_000
max_vertices: int = 1_000_000
max_pixels: int = 1_000_000_000

_NAMES = ("max_input_bytes", "max_zip_ratio", "max_features", "max_vertices", "max_pixels")


@contextlib.contextmanager
def override(**values: float | None) -> Iterator[None]:
    """Set some limits for the duration of a ``with`` block; ``None`` keeps a limit as it is.

    Examples
    --------
    >>> from nbgeo import limits
    >>> with limits.override(max_vertices=10, max_pixels=None):
    ...     limits.max_vertices
    10
    >>> limits.max_vertices
    1000000
    """
    module = sys.modules[__name__]
    unknown = set(values) - set(_NAMES)
    if unknown:
        msg = f"unknown limit(s) {', '.join(sorted(unknown))}; known: {', '.join(_NAMES)}"
        raise LimitError(msg, code="E-PARAM-RANGE")
    saved = {name: getattr(module, name) for name in _NAMES}
    try:
        for name, value in values.items():
            if value is None:
                continue
            if not value > 0:
                msg = f"limit {name} must be positive, got {value!r}"
                raise LimitError(msg, code="E-PARAM-RANGE")
            setattr(module, name, type(saved[name])(value))
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


def _where(file: str | None, layer: str | None) -> str:
    parts = []
    if file:
        parts.append(f"file {file!r}")
    if layer:
        parts.append(f"layer {layer!r}")
    return ", ".join(parts) + ": " if parts else ""


def check_input_size(size: int, *, file: str | None = None, what: str = "the file") -> None:
    """Refuse an input larger than :data:`max_input_bytes`.

    Examples
    --------
    >>> check_input_size(1024, file="zones.geojson")
    """
    if size > max_input_bytes:
        msg = (f"{_where(file, None)}{what} is {size / 2**20:,.0f} MiB, more than the limit of "
               f"{max_input_bytes / 2**20:,.0f} MiB (hint: raise it with --max-input-mb or "
               "nbgeo.limits.max_input_bytes)")
        raise LimitError(msg, code="E-LIMIT-SIZE")


def check_zip(compressed: int, uncompressed: int, *, file: str | None = None) -> None:
    """Refuse a zip archive whose content would expand too much, from its directory alone.

    Parameters
    ----------
    compressed, uncompressed
        Total sizes of the members, as the archive's central directory declares them.

    Examples
    --------
    >>> check_zip(1_000, 5_000, file="parks.zip")
    >>> check_zip(10_000, 5_000_000, file="bomb.zip")
    Traceback (most recent call last):
    ...
    nbgeo.errors.LimitError: file 'bomb.zip': the archive expands 500:1, more than the limit of 100:1; it looks like a zip bomb (hint: raise it with --max-zip-ratio or nbgeo.limits.max_zip_ratio if you trust the file)
    """
    check_input_size(uncompressed, file=file, what="the archive's uncompressed content")
    ratio = uncompressed / max(compressed, 1)
    # Tiny archives compress poorly or absurdly well without being a threat.
    if ratio > max_zip_ratio and uncompressed > 1024 * 1024:
        msg = (f"{_where(file, None)}the archive expands {ratio:,.0f}:1, more than the limit of "
               f"{max_zip_ratio:,.0f}:1; it looks like a zip bomb (hint: raise it with --max-zip-ratio or "
               "nbgeo.limits.max_zip_ratio if you trust the file)")
        raise LimitError(msg, code="E-LIMIT-ZIPRATIO")


def check_features(count: int, *, file: str | None = None, layer: str | None = None) -> None:
    """Refuse a layer with more than :data:`max_features` features (from its header)."""
    if count > max_features:
        msg = (f"{_where(file, layer)}{count:,} features, more than the limit of {max_features:,} "
               "(hint: raise it with --max-features or nbgeo.limits.max_features)")
        raise LimitError(msg, code="E-LIMIT-FEATURES")


def check_vertices(counts: ArrayLike, ids: ArrayLike, *, file: str | None = None, layer: str | None = None) -> None:
    """Refuse geometries with more than :data:`max_vertices` vertices, naming every one.

    Parameters
    ----------
    counts
        Vertices per geometry (``shapely.get_num_coordinates``).
    ids
        The feature id of each geometry.

    Examples
    --------
    >>> check_vertices([5, 12], ["a", "b"])
    >>> with override(max_vertices=10):
    ...     check_vertices([5, 12], ["a", "b"], layer="zones")
    Traceback (most recent call last):
    ...
    nbgeo.errors.LimitError: layer 'zones': 1 geometry has more than 10 vertices (feature 'b': 12) (hint: simplify it, or raise the limit with --max-vertices or nbgeo.limits.max_vertices)
    """
    counts_a = np.asarray(counts)
    over = np.flatnonzero(counts_a > max_vertices)
    if not len(over):
        return
    ids_a = np.asarray(ids, dtype=object)
    shown = ", ".join(f"feature {ids_a[i]!r}: {int(counts_a[i]):,}" for i in over[:10])
    more = f" and {len(over) - 10} more" if len(over) > 10 else ""
    hint = "simplify it, or raise the limit with --max-vertices or nbgeo.limits.max_vertices"
    noun = "geometry has" if len(over) == 1 else "geometries have"
    msg = (f"{_where(file, layer)}{len(over)} {noun} more than {max_vertices:,} vertices ({shown}{more}) "
           f"(hint: {hint})")
    problems = [Problem("E-LIMIT-VERTICES", f"{int(counts_a[i]):,} vertices, more than {max_vertices:,}", file=file,
                        layer=layer, feature=ids_a[i], hint=hint) for i in over]
    raise LimitError(msg, code="E-LIMIT-VERTICES", problems=problems)


def check_pixels(width: int, height: int, *, file: str | None = None) -> None:
    """Refuse a raster read of more than :data:`max_pixels` pixels per band, from its header.

    Examples
    --------
    >>> check_pixels(10_000, 10_000)
    >>> check_pixels(100_000, 100_000, file="dem.tif")
    Traceback (most recent call last):
    ...
    nbgeo.errors.LimitError: file 'dem.tif': 100,000 × 100,000 = 10,000,000,000 pixels per band, more than the limit of 1,000,000,000 (hint: read a window, or raise it with --max-pixels or nbgeo.limits.max_pixels)
    """
    pixels = int(width) * int(height)
    if pixels > max_pixels:
        msg = (f"{_where(file, None)}{int(width):,} × {int(height):,} = {pixels:,} pixels per band, more than "
               f"the limit of {max_pixels:,} (hint: read a window, or raise it with --max-pixels or "
               "nbgeo.limits.max_pixels)")
        raise LimitError(msg, code="E-LIMIT-PIXELS")
