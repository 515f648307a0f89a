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
``--max-input-mb``, ``--max-pixels``, ``--max-work-seconds`` and
``--max-total-work-seconds`` set them for one run.

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
max_work_seconds : float
    Most work one geometry (or one pair of geometries, for an overlay) may
    bring to a slow step, in estimated seconds (10).
max_total_work_seconds : float
    Most work all the geometries of one slow step on one layer may bring,
    in estimated seconds (30).

Work budgets
------------
Size limits do not bound time: GEOS's validity check, ``make_valid`` and
overlays (intersection, difference) are superlinear in the number of *pairs of
edges that may cross*, not in vertices. A star-shaped ring of 100,000 vertices,
each edge crossing nearly every other, keeps ``is_valid`` busy for 9 s (one of
999,990 vertices for a quarter of an hour); ``make_valid`` needs 33 s for a
1,000-vertex star; the intersection of two valid combs of 1,201 vertices each
takes 16 s. Ordinary shapes of a million vertices take well under a second.

So the slow steps budget their *work*, counted before GEOS starts
(:func:`check_work`, :func:`check_overlay_work`): the vertices of each geometry
and the pairs of its edges whose bounding boxes meet (other than neighbours:
the possible crossings), priced with the cost per vertex and per possible
crossing of each step measured on a 2-core machine (:data:`WORK_COSTS`,
``bench/bench_work.py``). A geometry over :data:`max_work_seconds`, or a step
over :data:`max_total_work_seconds`, is refused with a
:class:`~nbgeo.errors.LimitError` (``E-LIMIT-WORK``) naming the features, their
vertices and possible crossings. The possible crossings are exact upper bounds
(the edges meeting along x or along y, whichever is fewer) unless those are
large; then they are estimated from up to 4,096 evenly spaced edges, each
counted exactly.

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
import shapely

from .errors import LimitError, Problem

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import ArrayLike

__all__ = [
    "SPLIT_COSTS",
    "WORK_COSTS",
    "check_costs",
    "check_features",
    "check_input_size",
    "check_overlay_work",
    "check_pixels",
    "check_vertices",
    "check_work",
    "check_zip",
    "current",
    "max_features",
    "max_input_bytes",
    "max_pixels",
    "max_total_work_seconds",
    "max_vertices",
    "max_work_seconds",
    "max_zip_ratio",
    "override",
    "possible_crossings",
    "ring_coordinates",
    "work_seconds",
]

max_input_bytes: int = 2 * 1024**3
max_zip_ratio: float = 100.0
max_features: int = 5_000_000
max_vertices: int = 1_000_000
max_pixels: int = 1_000_000_000
max_work_seconds: float = 10.0
max_total_work_seconds: float = 30.0

#: Estimated seconds per vertex and per possible crossing of each slow step, measured on the benchmark's 2-core
#: machine (``bench/bench_work.py`` prints them), rounded up. The validity check runs ``is_valid`` and
#: ``is_valid_reason``; a repair runs ``make_valid`` (slow on rings with many holes: 40 µs a vertex); an overlay is
#: one intersection or difference of a pair.
WORK_COSTS: dict[str, tuple[float, float]] = {
    "validity check": (1.0e-6, 5.0e-9),
    "repair": (5.0e-5, 8.0e-5),
    "overlay": (1.0e-6, 6.0e-5),
}

#: Estimated seconds of cutting zones into grid cells (:func:`nbgeo.coverage.grid_split_work`): per cell of a
#: zone's box (made, tested, its piece measured), per cell the zone's boundary passes through (intersected with
#: the zone), per vertex of the zone read for each such cell (GEOS clips the zone to the cell first), and per
#: vertex of the zone cut. Fitted to the CPU time of ``bench/bench_work.py --split`` (the sample's clusters and
#: synthetic zones, from 5 to 8,192 vertices, from a tenth of a cell to 64 cells across) and rounded up.
SPLIT_COSTS: dict[str, float] = {"cell": 4.0e-6, "cut cell": 1.5e-5, "vertex read": 2.0e-8, "vertex cut": 3.0e-7}

_NAMES = ("max_input_bytes", "max_zip_ratio", "max_features", "max_vertices", "max_pixels", "max_work_seconds",
          "max_total_work_seconds")



def current() -> dict[str, float]:
    """Every limit as it is set now, by name: what another process (a Dask worker) needs to apply the same.

    Examples
    --------
    >>> from nbgeo import limits
    >>> with limits.override(max_features=5):
    ...     limits.current()["max_features"]
    5
    >>> with limits.override(**limits.current()):
    ...     limits.max_features
    5000000
    """
    module = sys.modules[__name__]
    return {name: getattr(module, name) for name in _NAMES}

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


# --------------------------------------------------------------------------------------------------------------
# Work budgets: vertices and possible crossings, priced per step
# --------------------------------------------------------------------------------------------------------------

_FIRST_SAMPLE = 256  # sample edges spread evenly over all edges, counted first
_SAMPLE = 4096  # most sample edges counted when a bound is too loose to use


def ring_coordinates(geoms: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of every ring and line part: ``(coords, ring index per vertex, geometry index per ring)``.

    Multi-part geometries and collections (of collections) are taken apart; points have no ring.

    Examples
    --------
    >>> from shapely import LineString, MultiPolygon, box
    >>> xy, ring, owner = ring_coordinates([LineString([(0, 0), (1, 1)]), MultiPolygon([box(0, 0, 1, 1)])])
    >>> len(xy), ring.tolist(), owner.tolist()
    (7, [0, 0, 0, 0, 0, 1, 1], [1, 0])
    """
    parts, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    for _ in range(4):  # collections of multi-geometries: take them apart too
        multi = shapely.get_type_id(parts) >= 4
        if not multi.any():
            break
        inner, which = shapely.get_parts(parts[multi], return_index=True)
        owner = np.concatenate([owner[~multi], owner[multi][which]])
        parts = np.concatenate([parts[~multi], inner])
    types = shapely.get_type_id(parts)
    polys = types == 3
    rings, ring_part = shapely.get_rings(parts[polys], return_index=True)
    lines = np.isin(types, (1, 2))
    chains = np.concatenate([rings, parts[lines]])
    chain_owner = np.concatenate([owner[polys][ring_part], owner[lines]])
    xy, chain = shapely.get_coordinates(chains, return_index=True)
    return xy, chain, chain_owner


def _edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The box of every edge of every ring and line: lower-left and upper-right corners, and its geometry's row."""
    xy, chain, chain_owner = ring_coordinates(geoms)
    same = chain[1:] == chain[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    return np.fmin(a, b), np.fmax(a, b), chain_owner[chain[:-1][same]]


def _meeting(q_lo: np.ndarray, q_hi: np.ndarray, q_group: np.ndarray, t_lo: np.ndarray | None = None,
             t_hi: np.ndarray | None = None, t_group: np.ndarray | None = None) -> np.ndarray:
    """For each query box, an upper bound of the target boxes of its group that meet it (targets: the queries).

    Along one axis the targets meeting a query's interval are those starting before it ends, less those ending
    before it starts (a subset of the former); the bound is the fewer of the counts along x and along y. Group
    and coordinate rank are folded into one sortable integer key, so all groups are counted at once.
    """
    same = t_lo is None
    t_lo, t_hi = (q_lo, q_hi) if t_lo is None or t_hi is None else (t_lo, t_hi)
    t_group = q_group if t_group is None else t_group
    n_q, n_t = len(q_group), len(t_group)
    bound = np.full(n_q, np.iinfo(np.int64).max, dtype=np.int64)
    for k in (0, 1):
        values = [q_lo[:, k], q_hi[:, k]] if same else [q_lo[:, k], q_hi[:, k], t_lo[:, k], t_hi[:, k]]
        _, rank = np.unique(np.concatenate(values), return_inverse=True)
        span = np.int64(rank.max(initial=0) + 2)
        rank = rank.astype(np.int64)
        q_start, q_end = q_group * span + rank[:n_q], q_group * span + rank[n_q:2 * n_q]
        if same:
            t_start, t_end = np.sort(q_start), np.sort(q_end)
        else:
            t_start = np.sort(t_group * span + rank[2 * n_q:2 * n_q + n_t])
            t_end = np.sort(t_group * span + rank[2 * n_q + n_t:])
        count = np.searchsorted(t_start, q_end, "right") - np.searchsorted(t_end, q_start, "left")
        bound = np.minimum(bound, count)
    return bound


def _estimated_hits(t_lo: np.ndarray, t_hi: np.ndarray, q_lo: np.ndarray, q_hi: np.ndarray, *,
                    enough: float) -> float:
    """Estimated total of target boxes meeting each query box, counted exactly for evenly spaced queries.

    Up to :data:`_SAMPLE` queries, in order of a spread-out sequence (the first :data:`_FIRST_SAMPLE` evenly
    spaced over all, then the rest), each counted against the targets whose left edge lies within reach of it
    along x (sorted once; the few edges wider than 4 × the 99th-percentile width are compared with every
    query). Counting stops once the estimate, after at least 16 queries, is more than 4 × ``enough``, or
    after the first evenly spaced ones when they meet more than 64 boxes each (a steady mean: the rest only
    guard against a rare cluster hiding between samples where boxes meet few others).
    """
    n = len(q_lo)
    if n == 0 or len(t_lo) == 0:
        return 0.0
    width = t_hi[:, 0] - t_lo[:, 0]
    reach = 4 * float(np.quantile(width, 0.99))
    wide = width > reach
    short = np.flatnonzero(~wide)
    order = short[np.argsort(t_lo[short, 0], kind="stable")]
    xs = t_lo[order, 0]
    w_lo, w_hi = t_lo[wide], t_hi[wide]
    first = np.unique(np.linspace(0, n - 1, min(n, _FIRST_SAMPLE)).astype(np.int64))
    rest = np.setdiff1d(np.unique(np.linspace(0, n - 1, min(n, _SAMPLE)).astype(np.int64)), first)
    hits = done = 0
    for i in np.concatenate([first, rest]):
        lo, hi = q_lo[i], q_hi[i]
        near = order[np.searchsorted(xs, lo[0] - reach, "left"):np.searchsorted(xs, hi[0], "right")]
        hits += int(np.count_nonzero((t_hi[near, 0] >= lo[0]) & (t_lo[near, 1] <= hi[1]) & (t_hi[near, 1] >= lo[1])))
        if len(w_lo):
            hits += int(np.count_nonzero(((w_lo <= hi) & (w_hi >= lo)).all(axis=1)))
        done += 1
        if (done >= 16 and hits / done * n > 4 * enough) or (done == len(first) and hits > 64 * done):
            break  # far too much; or the edges meet many others each, so the mean is already steady
    return hits / done * n


def possible_crossings(geoms: ArrayLike, *, enough: ArrayLike = np.inf) -> np.ndarray:
    """For each geometry, the pairs of its edges (other than neighbours) whose bounding boxes meet.

    This is the superlinear part of GEOS's validity check, ``make_valid`` and overlays: an edge can only cross
    an edge whose box meets its own. The count is an upper bound (the edges meeting along x or along y,
    whichever is fewer); where that bound exceeds ``enough`` it is replaced by an estimate from up to 4,096
    evenly spaced sample edges, each counted exactly (stopping early once far more than ``enough``).

    Parameters
    ----------
    geoms
        Geometries (missing and empty ones have none).
    enough
        Bounds at most this large (per geometry, or one for all) are kept as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import Point, Polygon
    >>> square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    >>> a = np.arange(101) * 49 * 2 * np.pi / 101            # a star: every edge crosses nearly every other
    >>> star = Polygon(np.c_[np.cos(a), np.sin(a)])
    >>> possible_crossings([square, star, Point(0, 0), None]).tolist()
    [0.0, 4943.0, 0.0, 0.0]
    """
    arr = np.asarray(geoms, dtype=object)
    limit = np.broadcast_to(np.asarray(enough, dtype=float), arr.shape)
    out = np.zeros(len(arr))
    present = np.flatnonzero(~shapely.is_missing(arr))
    # A geometry of m edges has fewer than m²/2 pairs: only count where that is not already small.
    big = present[shapely.get_num_coordinates(arr[present]).astype(float) ** 2 / 2 > 64]
    if not len(big):
        return out
    lo, hi, row = _edges(arr[big])
    if not len(row):
        return out
    meets = _meeting(lo, hi, row.astype(np.int64))
    # Each edge meets itself and its two neighbours; each pair is seen from both ends.
    pairs = np.bincount(row, weights=np.maximum(meets - 3, 0), minlength=len(big)) / 2
    order = np.argsort(row, kind="stable")
    starts = np.searchsorted(row[order], np.arange(len(big) + 1))
    for j in np.flatnonzero(pairs > limit[big]):
        mine = order[starts[j]:starts[j + 1]]
        hits = _estimated_hits(lo[mine], hi[mine], lo[mine], hi[mine], enough=2 * limit[big][j] + 3 * len(mine))
        pairs[j] = min(pairs[j], max(0.0, (hits - 3 * len(mine)) / 2))
    out[big] = pairs
    return out


def _cross_pairs(a: np.ndarray, b: np.ndarray, s: np.ndarray, o: np.ndarray, *, enough: np.ndarray) -> np.ndarray:
    """For each pair ``(a[s[k]], b[o[k]])``, the pairs of an edge of one and an edge of the other whose boxes meet."""
    out = np.zeros(len(s))
    a_lo, a_hi, a_row = _edges(a)
    b_lo, b_hi, b_row = _edges(b)
    a_order, b_order = np.argsort(a_row, kind="stable"), np.argsort(b_row, kind="stable")
    a_start = np.searchsorted(a_row[a_order], np.arange(len(a) + 1))
    b_start = np.searchsorted(b_row[b_order], np.arange(len(b) + 1))
    by_b = np.argsort(o, kind="stable")
    firsts = np.flatnonzero(np.r_[True, np.diff(o[by_b]) != 0])
    for pairs in np.split(by_b, firsts[1:]):  # one pass per geometry of b: its edges sorted once for its partners
        other = o[pairs[0]]
        tb = b_order[b_start[other]:b_start[other + 1]]
        rows = [a_order[a_start[i]:a_start[i + 1]] for i in s[pairs]]
        sizes = [len(r) for r in rows]
        if not len(tb) or not sum(sizes):
            continue
        q = np.concatenate(rows)
        group = np.repeat(np.arange(len(pairs)), sizes)
        zeros = np.zeros(len(q), np.int64)
        meets = _meeting(a_lo[q], a_hi[q], zeros, b_lo[tb], b_hi[tb], np.zeros(len(tb), np.int64))
        counts = np.bincount(group, weights=meets, minlength=len(pairs))
        for j in np.flatnonzero(counts > enough[pairs]):
            mine = q[group == j]
            counts[j] = min(counts[j], _estimated_hits(b_lo[tb], b_hi[tb], a_lo[mine], a_hi[mine],
                                                       enough=float(enough[pairs][j])))
        out[pairs] = counts
    return out


def _about(count: float) -> str:
    """A count to two significant digits, as a plain number: ``199,989,898`` → ``200,000,000``."""
    return f"{float(f'{count:.2g}'):,.0f}" if count >= 100 else f"{count:,.0f}"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.2g} s"
    if seconds < 90:
        return f"{seconds:,.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.0f} h"


def _refuse(step: str, what: dict[int, str], costs: np.ndarray, over: np.ndarray, *, total: bool, where: str,
            problems: list[Problem]) -> LimitError:
    hint = ("simplify or split the geometry, or raise the budget with --max-work-seconds / --max-total-work-seconds "
            "(nbgeo.limits.max_work_seconds, max_total_work_seconds) if you can wait")
    shown = "; ".join(what[int(i)] for i in over[:5]) + (f"; and {len(over) - 5} more" if len(over) > 5 else "")
    if total:
        msg = (f"{where}the {step} would take about {_duration(float(costs.sum()))} in all, more than the budget of "
               f"{_duration(max_total_work_seconds)} (the largest: {shown}) (hint: {hint})")
    else:
        noun = "geometry" if len(over) == 1 else "geometries"
        msg = (f"{where}the {step} of {len(over)} {noun} would take more than the budget of "
               f"{_duration(max_work_seconds)} each ({shown}) (hint: {hint})")
    return LimitError(msg, code="E-LIMIT-WORK", problems=problems)


def work_seconds(geoms: ArrayLike, *, step: str) -> np.ndarray:
    """The estimated seconds a slow step would spend on each geometry: its vertices and possible crossings priced.

    Parameters
    ----------
    geoms
        The geometries.
    step
        ``"validity check"`` or ``"repair"`` (a key of :data:`WORK_COSTS`).

    Examples
    --------
    >>> from shapely import box
    >>> work_seconds([box(0, 0, 1, 1), None], step="repair").tolist()
    [0.00025, 0.0]
    """
    per_vertex, per_crossing = WORK_COSTS[step]
    arr = np.asarray(geoms, dtype=object)
    vertices = shapely.get_num_coordinates(arr).astype(float)
    # The crossings matter only up to what is left of the budget once the vertices are paid for; a geometry
    # costing more than a tenth of the step's budget is estimated closely, so the total is not overstated.
    room = min(max_work_seconds, max_total_work_seconds / 10) - per_vertex * vertices
    crossings = possible_crossings(arr, enough=np.maximum(room, 0) / per_crossing)
    return per_vertex * vertices + per_crossing * crossings


def _over_budget(costs: np.ndarray) -> tuple[np.ndarray, bool]:
    """The items over the per-item budget; or, when none is but the sum is over the total, the largest ten."""
    over = np.flatnonzero(costs > max_work_seconds)
    total = not len(over) and float(costs.sum()) > max_total_work_seconds
    if total:
        over = np.argsort(-costs, kind="stable")[:10]
    return over, total


def check_work(geoms: ArrayLike, ids: ArrayLike, *, step: str, file: str | None = None,
               layer: str | None = None) -> np.ndarray:
    """Refuse a slow step whose work exceeds :data:`max_work_seconds` per geometry or :data:`max_total_work_seconds`.

    Parameters
    ----------
    geoms
        The geometries the step will take.
    ids
        Their feature ids, for the message.
    step
        ``"validity check"`` or ``"repair"`` (a key of :data:`WORK_COSTS`).
    file, layer
        Where they come from, for the message.

    Returns
    -------
    numpy.ndarray
        The estimated seconds of each geometry (:func:`work_seconds`).

    Raises
    ------
    LimitError
        ``E-LIMIT-WORK``, naming every geometry over the budget (or the largest ones when only the total is).

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import Polygon
    >>> a = np.arange(20_001) * 9_999 * 2 * np.pi / 20_001
    >>> star = Polygon(np.c_[np.cos(a), np.sin(a)])
    >>> check_work([star], ["z1"], step="validity check").round(2).tolist()
    [1.02]
    >>> check_work([star], ["z1"], step="repair", layer="zones")
    Traceback (most recent call last):
    ...
    nbgeo.errors.LimitError: layer 'zones': the repair of 1 geometry would take more than the budget of 10 s each (feature 'z1': 20,002 vertices and about 200,000,000 possible edge crossings, about 4 h) (hint: simplify or split the geometry, or raise the budget with --max-work-seconds / --max-total-work-seconds (nbgeo.limits.max_work_seconds, max_total_work_seconds) if you can wait)
    """
    arr = np.asarray(geoms, dtype=object)
    costs = work_seconds(arr, step=step)
    over, total = _over_budget(costs)
    if len(over):
        per_vertex, per_crossing = WORK_COSTS[step]
        ids_a = np.asarray(ids, dtype=object)
        vertices = shapely.get_num_coordinates(arr).astype(float)
        crossings = (costs - per_vertex * vertices) / per_crossing
        what = {int(i): f"feature {ids_a[i]!r}: {int(vertices[i]):,} vertices and about {_about(crossings[i])} "
                        f"possible edge crossings, about {_duration(costs[i])}" for i in over}
        problems = [Problem("E-LIMIT-WORK", f"the {step} would take about {_duration(costs[i])} ({what[int(i)]})",
                            file=file, layer=layer, feature=ids_a[i]) for i in over]
        raise _refuse(step, what, costs, over, total=total, where=_where(file, layer), problems=problems)
    return costs


def check_costs(costs: ArrayLike, ids: ArrayLike, *, step: str, file: str | None = None,
                layer: str | None = None, details: list[str] | None = None) -> None:
    """Refuse a step its caller has priced, item by item in estimated seconds, when it is over the budgets.

    Parameters
    ----------
    costs
        Estimated seconds of each item (from :data:`WORK_COSTS`).
    ids
        The feature id of each item.
    step
        What the step does, for the message.
    file, layer
        Where the features come from.
    details
        What makes each item costly (e.g. ``"40,000 cells × 5,000 vertices"``).

    Examples
    --------
    >>> check_costs([2.0, 3.0], ["a", "b"], step="split")
    >>> check_costs([2.0, 30.0], ["a", "b"], step="split", layer="zones", details=["", "1,000,000 cells"])
    Traceback (most recent call last):
    ...
    nbgeo.errors.LimitError: layer 'zones': the split of 1 geometry would take more than the budget of 10 s each (feature 'b': 1,000,000 cells, about 30 s) (hint: simplify or split the geometry, or raise the budget with --max-work-seconds / --max-total-work-seconds (nbgeo.limits.max_work_seconds, max_total_work_seconds) if you can wait)
    """
    cost_a = np.asarray(costs, dtype=float)
    over, total = _over_budget(cost_a)
    if len(over):
        ids_a = np.asarray(ids, dtype=object)
        what = {int(i): f"feature {ids_a[i]!r}: " + (f"{details[i]}, " if details and details[i] else "")
                + f"about {_duration(cost_a[i])}" for i in over}
        problems = [Problem("E-LIMIT-WORK", f"the {step} would take about {_duration(cost_a[i])}", file=file,
                            layer=layer, feature=ids_a[i]) for i in over]
        raise _refuse(step, what, cost_a, over, total=total, where=_where(file, layer), problems=problems)


def check_overlay_work(a: ArrayLike, b: ArrayLike, s: ArrayLike, o: ArrayLike, *, a_ids: ArrayLike,
                       b_ids: ArrayLike, what: str = "overlay", where: str = "") -> np.ndarray:
    """Refuse overlays of the pairs ``(a[s[k]], b[o[k]])`` whose work exceeds the budgets.

    A pair's work is the vertices of both geometries (each pair reads them again) and the pairs of an edge of
    one and an edge of the other whose boxes meet, priced with ``WORK_COSTS["overlay"]``.

    Parameters
    ----------
    a, b
        The geometries of both sides.
    s, o
        Row numbers into ``a`` and ``b`` of each pair.
    a_ids, b_ids
        Feature ids of ``a`` and ``b`` (all rows), for the message.
    what
        The step, e.g. ``"overlap measure of rule 'x'"``.
    where
        A prefix for the message naming file and layers.

    Returns
    -------
    numpy.ndarray
        The estimated seconds of each pair.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import box
    >>> a = np.array([box(0, 0, 2, 2)]); b = np.array([box(1, 1, 3, 3)])
    >>> check_overlay_work(a, b, [0], [0], a_ids=["p1"], b_ids=["r1"]).round(4).tolist()
    [0.0015]
    """
    per_vertex, per_crossing = WORK_COSTS["overlay"]
    a_arr, b_arr = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    s_a, o_a = np.asarray(s, dtype=np.int64), np.asarray(o, dtype=np.int64)
    if not len(s_a):
        return np.zeros(0)
    n_a = shapely.get_num_coordinates(a_arr).astype(float)
    n_b = shapely.get_num_coordinates(b_arr).astype(float)
    vertices = n_a[s_a] + n_b[o_a]
    room = min(max_work_seconds, max_total_work_seconds / 10) - per_vertex * vertices
    enough = np.maximum(room, 0) / per_crossing
    crossings = n_a[s_a] * n_b[o_a]  # every edge of one against every edge of the other: exact when small
    costs = per_vertex * vertices + per_crossing * crossings
    # Bound the crossings properly only where the crude product could matter.
    fits = costs.max() <= max_work_seconds / 2 and costs.sum() <= max_total_work_seconds / 2
    big = np.flatnonzero(per_crossing * crossings > min(max_work_seconds, max_total_work_seconds) / 1000)
    if len(big) and not fits:
        crossings[big] = _cross_pairs(a_arr, b_arr, s_a[big], o_a[big], enough=enough[big])
        costs = per_vertex * vertices + per_crossing * crossings
    a_names, b_names = np.asarray(a_ids, dtype=object), np.asarray(b_ids, dtype=object)
    over, total = _over_budget(costs)
    if len(over):
        labels = {int(k): f"{a_names[s_a[k]]!r} with {b_names[o_a[k]]!r}: {int(vertices[k]):,} vertices and about "
                          f"{_about(crossings[k])} possible edge crossings, about {_duration(costs[k])}" for k in over}
        problems = [Problem("E-LIMIT-WORK", f"the {what} with {b_names[o_a[k]]!r} would take about "
                            f"{_duration(costs[k])}", feature=a_names[s_a[k]]) for k in over]
        raise _refuse(what, labels, costs, over, total=total, where=where, problems=problems)
    return costs
