"""Offline web maps of a dataset and its audit. Renderers return a ``folium.Map``; the caller saves.

A map is one self-contained HTML file: Leaflet and nbgeo's small map runtime
are inlined (see :mod:`nbgeo.renderers.assets`), so it opens offline, on an intranet,
or where CDNs and OSM tiles are unreachable. There is no basemap unless one
is asked for (``basemap="osm"``, ``"tianditu"`` with a key, or ``"amap"``,
whose GCJ-02 tiles make nbgeo shift every layer to GCJ-02 and say so).

What the map shows:

- one layer per kind, in a layer panel that is also the legend: categorical
  colours (tier, industry theme, status, ...) with counts, and continuous
  ramps (e.g. coverage distance); every illustrative layer carries a visible
  badge, and a sources panel gives the provenance of every layer;
- the audit's overlays on top (failing sites, offending geometry, uncovered
  demand, service areas, proposed sites), coloured by status;
- a panel with the target verdicts, and Chinese or English labels.

Large layers are cheap: points are drawn on one canvas from delta-encoded
integer coordinates (tens of thousands without a single ``Marker``), lines
and polygons are simplified in metres and rounded to 6 decimals (~0.1 m),
and attributes are dictionary-encoded.

Safety: every text from the data or the plan (values, column names, layer
names, legend entries, titles, phrases) passes through
:func:`nbgeo.renderers.html.safe_text` before it enters the page, and nbgeo's runtime
inserts it only into its own fixed templates. The map's data never goes
through folium's or branca's Jinja templates (they would evaluate ``{{ }}``).

Examples
--------
>>> from nbgeo import io, maps
>>> m = maps.dataset_map(io.read_sample(), layers=["districts", "clusters"])
>>> html = m.get_root().render()
>>> "宁波" in html or "Haishu" in html
True
>>> "cdn.jsdelivr.net" in html or "<script src=" in html
False
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import folium
from branca.element import Element, MacroElement

from .. import _atomic
from ..deprecation import renamed_function
from ..errors import MapError
from . import assets
from .mapcodec import SCALE, layer_geojson
from .mapspec import BASEMAPS, LAYER_STYLES, SECTION_TITLES, map_spec

if TYPE_CHECKING:
    from branca.element import Figure

    from ..audit import AuditReport
    from ..layers import Dataset

__all__ = [
    "BASEMAPS",
    "LAYER_STYLES",
    "SCALE",
    "SECTION_TITLES",
    "OfflineMap",
    "audit_map",
    "dataset_map",
    "embed_html",
    "layer_geojson",
    "map_spec",
    "save_map",
    "write_map",
]


# --------------------------------------------------------------------------------------------------
# folium glue: raw elements that never go through Jinja


class _Raw(Element):
    """Text placed into the page as it is: never compiled as a Jinja template (unlike branca's Element)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


def _spec_json(spec: Mapping[str, Any]) -> str:
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return assets.script_safe(text)


class _NbgeoLayers(MacroElement):
    """The map's content: one spec, drawn by the inlined nbgeo runtime."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self._name = "NbgeoLayers"
        self.spec = spec

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # branca's MacroElement returns None too
        """Add ``nbgeo.attach(<map>, <spec>)`` to the page's script, as it is (never through Jinja)."""
        figure = cast("Figure", self.get_root())
        parent = self._parent
        assert parent is not None
        figure.script.add_child(_Raw(f"nbgeo.attach({parent.get_name()},{_spec_json(self.spec)});\n"),
                                name=self.get_name())


class OfflineMap(folium.Map):
    """A ``folium.Map`` that loads nothing from the network.

    folium's CDN links (Leaflet, jQuery, Bootstrap, Font Awesome) are dropped;
    Leaflet and nbgeo's runtime are inlined into the page head instead. Other
    folium elements added to it still work as long as they need only Leaflet
    (folium plugins that link their own CDN files will load those).
    """

    default_js: list[tuple[str, str]] = []  # noqa: RUF012  # folium's own (class) attribute, emptied
    default_css: list[tuple[str, str]] = []  # noqa: RUF012

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as folium.Map.render
        """Render the map, with Leaflet and the nbgeo runtime inlined into the page head."""
        figure = cast("Figure", self.get_root())
        figure.header.add_child(_Raw(assets.head_html()), name="nbgeo_assets")
        super().render(**kwargs)


def _new_map(title: str) -> OfflineMap:
    m = OfflineMap(location=[29.87, 121.55], zoom_start=9, tiles=None, prefer_canvas=True, zoom_control="bottomright",
                   control_scale=False, zoom_snap=0.25)
    cast("Figure", m.get_root()).title = title
    return m


def dataset_map(
    dataset: Dataset,
    *,
    layers: Sequence[str] | None = None,
    lang: str = "zh",
    basemap: str = "none",
    tianditu_key: str | None = None,
    title: str | None = None,
) -> folium.Map:
    """A map of the dataset's layers with a layer panel, legends and data sources.

    Parameters
    ----------
    dataset
        The layers.
    layers
        Which layers to draw (default: all, in a sensible draw order).
    lang
        ``"zh"`` or ``"en"`` for labels.
    basemap
        ``"none"`` (default), ``"osm"``, ``"tianditu"`` (needs ``tianditu_key``) or ``"amap"``.
    tianditu_key
        Your Tianditu key.
    title
        Title card text (default: the dataset's title).

    Returns
    -------
    folium.Map
        An :class:`OfflineMap`; save it with :func:`write_map` (atomic) or ``.save()``.

    Examples
    --------
    >>> from nbgeo import io
    >>> m = dataset_map(io.read_sample(), layers=["chargers"], lang="en")
    >>> isinstance(m, folium.Map), "nbgeo.attach(" in m.get_root().render()
    (True, True)
    """
    spec = map_spec(dataset, layers=layers, lang=lang, basemap=basemap, tianditu_key=tianditu_key, title=title)
    m = _new_map(spec["title"])
    _NbgeoLayers(spec).add_to(m)
    return m


def audit_map(
    report: AuditReport,
    *,
    lang: str = "zh",
    basemap: str = "none",
    tianditu_key: str | None = None,
    layers: Sequence[str] | None = None,
) -> folium.Map:
    """The map of an audit: every layer, the audit's overlays on top, and the target verdicts.

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> m = audit_map(r)
    >>> type(m).__name__, "nbgeo.attach(" in m.get_root().render()
    ('OfflineMap', True)
    """
    spec = map_spec(report.dataset, layers=layers, report=report, lang=lang, basemap=basemap,
                    tianditu_key=tianditu_key)
    m = _new_map(spec["title"])
    _NbgeoLayers(spec).add_to(m)
    return m


def _find_spec(m: folium.Map) -> dict[str, Any]:
    for child in m._children.values():
        if isinstance(child, _NbgeoLayers):
            return child.spec
    msg = "this map was not made by nbgeo.maps (no nbgeo layers on it); build it with dataset_map or audit_map"
    raise MapError(msg, code="E-MAP-FOREIGN")


def embed_html(m: folium.Map, *, height: str = "640px", element_id: str = "nbgeo-map") -> str:
    """A ``<div>`` and ``<script>`` that draw map ``m`` inside another page (e.g. the audit report).

    The page must carry :func:`nbgeo.assets.head_html` in its head (once). The
    map is drawn straight into the page: no iframe, no second copy of the data.

    Examples
    --------
    >>> from nbgeo import io
    >>> html = embed_html(dataset_map(io.read_sample(), layers=["districts"]), height="400px")
    >>> html.startswith('<div class="nb-embed"'), "nbgeo.mount(" in html
    (True, True)
    """
    if not re.fullmatch(r"[0-9.]+(px|vh|%|em|rem)", height):
        msg = f"bad map height {height!r}; use a CSS length such as '640px'"
        raise MapError(msg, code="E-MAP-STYLE")
    if not re.fullmatch(r"[A-Za-z][\w-]*", element_id):
        msg = f"bad element id {element_id!r}"
        raise MapError(msg, code="E-MAP-STYLE")
    spec = dict(_find_spec(m), embedded=True)
    return (f'<div class="nb-embed" id="{element_id}" style="height:{height}"></div>'
            f"<script>nbgeo.mount({json.dumps(element_id)},{_spec_json(spec)});</script>")


def write_map(m: folium.Map, path: str | Path, *, overwrite: bool = False) -> Path:
    """Render ``m`` in memory and write it atomically (a failure leaves no partial file).

    An existing ``path`` is replaced only with ``overwrite=True``
    (:func:`nbgeo._atomic.check_overwrite`, ``E-IO-EXISTS``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nbgeo import io
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "m.html"
    >>> write_map(dataset_map(io.read_sample(), layers=["districts"]), out).stat().st_size > 100_000
    True
    """
    html = m.get_root().render()
    return _atomic.write_text(path, html, overwrite=overwrite)


save_map = renamed_function(write_map, "save_map", where="nbgeo.maps")
