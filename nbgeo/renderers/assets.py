"""The JavaScript and CSS that nbgeo pages inline, read at run time from installed packages.

nbgeo's maps and reports load nothing from the network: Leaflet 1.9.4 is read
from the ``django-js-lib-leaflet`` package (a PyPI repackaging of the
official Leaflet build, an install requirement of nbgeo) and inlined into
every page, with the images its stylesheet refers to turned into ``data:``
URIs. nbgeo's own map runtime and styles live in ``nbgeo/renderers/static``. Nothing
third-party is copied into the nbgeo source tree.

Everything returned here is ready to sit between ``<script>`` or ``<style>``
tags: :func:`script_safe` neutralises ``</script`` and ``<!--``.

Examples
--------
>>> from nbgeo.renderers import assets
>>> assets.LEAFLET_VERSION in assets.leaflet_js()[:200]
True
>>> "url(images/" in assets.leaflet_css()
False
"""

from __future__ import annotations

import base64
import functools
import re
from importlib import resources

from ..errors import MapError

__all__ = [
    "LEAFLET_VERSION",
    "head_html",
    "leaflet_css",
    "leaflet_js",
    "runtime_css",
    "runtime_js",
    "script_safe",
]

#: The Leaflet release nbgeo inlines (from ``django-js-lib-leaflet==1.9.4.x``).
LEAFLET_VERSION = "1.9.4"

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_DIR = ("static", "js_lib_leaflet")
_IMAGES = ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")


def _leaflet_file(name: str) -> bytes:
    try:
        root = resources.files(_LEAFLET_PACKAGE)
    except ModuleNotFoundError:
        msg = ("the Leaflet assets are missing: the package 'django-js-lib-leaflet' is not installed; "
               "reinstall nbgeo (pip install nbgeo) or run: pip install 'django-js-lib-leaflet==1.9.4.1'")
        raise MapError(msg, code="E-MAP-ASSET") from None
    path = root.joinpath(*_LEAFLET_DIR, name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        msg = f"the Leaflet asset {name!r} is missing from the installed package {_LEAFLET_PACKAGE!r}; reinstall it"
        raise MapError(msg, code="E-MAP-ASSET") from None


def script_safe(text: str) -> str:
    """Make JS or CSS text safe to place between ``<script>``/``<style>`` tags.

    ``</script`` (any case) would close the element early and ``<!--`` can
    switch the HTML parser into a legacy escape state; both are rewritten to
    equivalent JavaScript/CSS (``<\\/script``, ``<\\!--``).

    Examples
    --------
    >>> script_safe('var s = "</SCRIPT><!--";')
    'var s = "<\\\\/SCRIPT><\\\\!--";'
    """
    text = re.sub(r"</(script|style)", lambda m: "<\\/" + m.group(1), text, flags=re.IGNORECASE)
    return text.replace("<!--", "<\\!--")


def _strip_source_map(text: str) -> str:
    # A sourceMappingURL makes browser devtools request a file that is not there.
    return re.sub(r"^\s*//# sourceMappingURL=.*$", "", text, flags=re.MULTILINE)


@functools.cache
def leaflet_js() -> str:
    """Leaflet's minified build, plus offline paths for its default marker icons.

    Raises
    ------
    MapError
        When the package is missing or holds another Leaflet version.
    """
    js = _leaflet_file("leaflet.js").decode("utf-8")
    if f"Leaflet {LEAFLET_VERSION}" not in js[:400]:
        msg = (f"the installed {_LEAFLET_PACKAGE!r} does not hold Leaflet {LEAFLET_VERSION}; "
               "install the pinned version: pip install 'django-js-lib-leaflet==1.9.4.1'")
        raise MapError(msg, code="E-MAP-ASSET")
    uris = {name: _data_uri(name) for name in ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")}
    # Leaflet finds its marker images next to its stylesheet; inlined, there is no such place, so
    # point the default icon at data: URIs (folium Markers added to an nbgeo map then work offline too).
    icons = (
        "L.Icon.Default.imagePath='';L.Icon.Default.mergeOptions({"
        f"iconUrl:'{uris['marker-icon.png']}',iconRetinaUrl:'{uris['marker-icon-2x.png']}',"
        f"shadowUrl:'{uris['marker-shadow.png']}'}});"
    )
    return script_safe(_strip_source_map(js).rstrip() + "\n" + icons + "\n")


def _data_uri(name: str) -> str:
    return "data:image/png;base64," + base64.b64encode(_leaflet_file(f"images/{name}")).decode("ascii")


@functools.cache
def leaflet_css() -> str:
    """Leaflet's stylesheet with its images inlined as ``data:`` URIs."""
    css = _leaflet_file("leaflet.css").decode("utf-8")
    for name in _IMAGES:
        css = css.replace(f"url(images/{name})", f"url({_data_uri(name)})")
    return script_safe(_strip_source_map(css))


def _static(name: str) -> str:
    return resources.files("nbgeo.renderers").joinpath("static", name).read_text(encoding="utf-8")


@functools.cache
def runtime_js() -> str:
    """The map runtime of nbgeo (``nbgeo/renderers/static/map.js``): layers, legend, panels, tooltips."""
    return script_safe(_static("map.js"))


@functools.cache
def runtime_css() -> str:
    """The styles of nbgeo's map controls (``nbgeo/renderers/static/map.css``)."""
    return script_safe(_static("map.css"))


def head_html() -> str:
    """``<style>`` and ``<script>`` elements with Leaflet and the nbgeo runtime, for a page's ``<head>``.

    Examples
    --------
    >>> h = head_html()
    >>> h.count("<script>"), h.count("<style>"), "<link" in h
    (2, 2, False)
    """
    return (f"<style>{leaflet_css()}</style><style>{runtime_css()}</style>"
            f"<script>{leaflet_js()}</script><script>{runtime_js()}</script>")
