"""The renderers: everything nbgeo draws for people, in one place.

Modules
-------
:mod:`nbgeo.renderers.html`
    The one escaping function for HTML, attributes, scripts and Markdown
    (:func:`~nbgeo.renderers.html.safe_text`, :func:`~nbgeo.renderers.html.md_text`).
:mod:`nbgeo.renderers.render`
    The one sandboxed Jinja2 environment; every ``{{ value }}`` is escaped.
:mod:`nbgeo.renderers.theme`, :mod:`nbgeo.renderers.labels`
    Status colours, page styles; the zh/en words of every page.
:mod:`nbgeo.renderers.assets`, ``static/``, ``templates/``
    Leaflet and nbgeo's map runtime inlined into each page; the page templates.
:mod:`nbgeo.renderers.mapcodec`, :mod:`nbgeo.renderers.mapspec`, :mod:`nbgeo.renderers.maps`
    Geometry packed for the page; the layers, legends and panels of a map;
    the offline folium maps (``nbgeo.maps``).
:mod:`nbgeo.renderers.charts`, :mod:`nbgeo.renderers.report`, :mod:`nbgeo.renderers.compare`
    SVG charts; ``audit.json``/``audit.html``/``audit.md``; two plans side by side.
:mod:`nbgeo.renderers.chromium`
    Headless Chromium for PNGs and the browser tests (optional: a browser must be installed).

Layers: ``html``, ``render``, ``theme`` and ``labels`` import nothing of nbgeo
but :mod:`nbgeo.errors` and :mod:`nbgeo.status` (so :mod:`nbgeo.audit`'s
Jupyter table may use them); the page renderers (``maps``, ``charts``,
``report``, ``compare``) sit above :mod:`nbgeo.audit` and below the CLI.
This ``__init__`` imports none of them, so importing one leaf does not
import the rest. ``nbgeo.maps``, ``nbgeo.report``, ``nbgeo.charts``,
``nbgeo.compare`` and ``nbgeo.html`` forward to these modules under their
earlier names; ``nbgeo.render``, ``nbgeo.theme`` and ``nbgeo.labels`` do
too, with a ``DeprecationWarning``.

Examples
--------
>>> from nbgeo.renderers import html, maps
>>> import nbgeo.maps
>>> nbgeo.maps.audit_map is maps.audit_map, html.safe_text("<b>")
(True, '&lt;b&gt;')
"""
