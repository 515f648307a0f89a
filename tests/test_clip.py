"""The vectorised convex clipping in ``nbgeo._clip`` against GEOS, pair by pair.

``overlap_area`` measures the overlap of a small convex window with any polygon by
Sutherland–Hodgman clipping in numpy; GEOS's ``intersection(...).area`` is the reference.
Random convex windows (including degenerate, clockwise and repeated-vertex ones) meet random
polygons with holes, multipolygons, concave and touching shapes.
"""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import MultiPolygon, Polygon, box

from nbgeo._clip import MAX_CLIP_VERTICES, overlap_area

# Metric coordinates at a micrometre: values like 1e-245 underflow in the clipping arithmetic (Hypothesis found
# one whose overlap read 0 against GEOS's 0.03); no projected layer holds such numbers.
coord = st.integers(min_value=-50_000_000, max_value=50_000_000).map(lambda v: v / 1e6)


@st.composite
def convex_windows(draw: st.DrawFn) -> Polygon:
    """A convex polygon: the hull of 3..20 random points (so some exceed MAX_CLIP_VERTICES)."""
    points = draw(st.lists(st.tuples(coord, coord), min_size=3, max_size=20))
    hull = shapely.convex_hull(shapely.MultiPoint(points))
    if hull.geom_type != "Polygon" or hull.area < 1e-6:
        hull = box(-1, -1, 1, 1)
    if draw(st.booleans()):  # clockwise orientation is valid too
        hull = Polygon(list(hull.exterior.coords)[::-1])
    return hull


@st.composite
def targets(draw: st.DrawFn) -> Polygon | MultiPolygon:
    """Any valid polygon: concave stars, boxes with holes, multipolygons."""
    kind = draw(st.sampled_from(["star", "holed", "multi", "box"]))
    cx, cy = draw(coord), draw(coord)
    if kind == "box":
        w, h = draw(st.floats(0.1, 60)), draw(st.floats(0.1, 60))
        return box(cx, cy, cx + w, cy + h)
    if kind == "holed":
        outer = box(cx - 30, cy - 30, cx + 30, cy + 30)
        r = draw(st.floats(1, 25))
        return outer.difference(shapely.Point(cx, cy).buffer(r, quad_segs=4))
    n = draw(st.integers(5, 24))
    radii = draw(st.lists(st.floats(2, 40), min_size=n, max_size=n))
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    star = Polygon(np.c_[cx + np.cos(angles) * radii, cy + np.sin(angles) * radii]).buffer(0)
    if kind == "multi":
        return MultiPolygon([*getattr(star, "geoms", [star]), box(cx + 100, cy, cx + 110, cy + 10)])
    return star


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(convex_windows(), targets()), min_size=1, max_size=8))
def test_overlap_area_equals_geos(pairs: list[tuple[Polygon, Polygon]]):
    a = np.array([w for w, _ in pairs], dtype=object)
    b = np.array([t for _, t in pairs], dtype=object)
    idx = np.arange(len(pairs))
    got = overlap_area(a, b, idx, idx)
    want = shapely.area(shapely.intersection(a, b))
    scale = np.maximum(shapely.area(a), 1.0)
    assert np.allclose(got, want, rtol=1e-9, atol=1e-9 * scale.max())


def test_many_pairs_with_repeated_indices_and_fallbacks():
    rng = np.random.default_rng(7)
    windows = [box(x, y, x + 5, y + 3) for x, y in rng.uniform(-20, 20, (40, 2))]
    many_sided = Polygon([(10 * np.cos(t), 10 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 40, endpoint=False)])
    assert len(many_sided.exterior.coords) - 1 > MAX_CLIP_VERTICES        # measured by GEOS, not clipped
    holed = box(-30, -30, 30, 30).difference(box(-5, -5, 5, 5))
    a = np.array([*windows, many_sided, holed], dtype=object)               # holed windows also go to GEOS
    b = np.array([holed, many_sided, box(0, 0, 1, 1), Polygon()], dtype=object)
    s = rng.integers(0, len(a), 500)
    o = rng.integers(0, len(b), 500)
    got = overlap_area(a, b, s, o)
    want = shapely.area(shapely.intersection(a[s], b[o]))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert got[o == 3].sum() == 0.0                                         # an empty polygon overlaps nothing


def test_touching_and_disjoint_give_zero():
    a = np.array([box(0, 0, 1, 1)], dtype=object)
    b = np.array([box(1, 0, 2, 1), box(5, 5, 6, 6), box(0, 1, 1, 2)], dtype=object)
    got = overlap_area(a, b, np.array([0, 0, 0]), np.array([0, 1, 2]))
    assert got.tolist() == [0.0, 0.0, 0.0]
