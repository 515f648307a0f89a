"""The pages nbgeo renders itself, from templates in which escaping is the default.

The audit page, its section tables, the compare page, the progress cards and
charts and the Jupyter table are Jinja2 templates shipped in
``nbgeo/renderers/templates/`` and rendered by the one environment of this module:

* **every** ``{{ value }}`` is passed through :func:`nbgeo.renderers.html.safe_text`
  (HTML escaping plus ``{ } $ ` \\`` as entities, so text stays inert inside
  the folium map, JavaScript template literals and any later Jinja pass), by
  the environment's ``finalize`` hook, before autoescaping sees it;
* only markup built by nbgeo's own code passes unescaped, and only when it is
  wrapped with :func:`trusted` (a chart drawn from escaped parts, the embedded
  map, the stylesheet);
* data reaches a template only as variables of :func:`render`; no template is
  built from a string at run time;
* the environment is a sandbox that refuses what a template never needs: any
  attribute but ``loop``'s, any call but nbgeo's own macros, ``+ % *`` on
  trusted markup, the ``~`` operator (it would join trusted markup with text
  escaped by MarkupSafe alone), and every filter but a few that return plain
  values (``join`` escapes like the rest); undefined names are errors
  (``StrictUndefined``), so a misspelt variable fails instead of vanishing.

Templates are written one element per line for reading; the line breaks and
the indentation that follows them in the template text are dropped when it is
compiled, so the pages come out as compact as hand-built ones (a space that
matters is written within a line).

Examples
--------
>>> from nbgeo.renderers import render
>>> bar = {"width": 80, "height": 6, "rx": "3", "fill": "40.0", "colour": "#1a7f37", "label": "{{7*7}} <b>"}
>>> svg = render.render("bar.svg.j2", bar=bar)
>>> "aria-label='&#123;&#123;7*7&#125;&#125; &lt;b&gt;'" in svg, svg.count("<rect")
(True, 2)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from .html import safe_text

__all__ = ["ENV", "TEMPLATES", "render", "text", "trusted"]

#: The folder of nbgeo's page templates (shipped with the package).
TEMPLATES = Path(__file__).with_name("templates")

_NEWLINE_INDENT = re.compile(r"\n[ \t]*")


def trusted(markup: str) -> Markup:
    """Mark markup that nbgeo's own code built as safe to place in a page unescaped.

    Only for markup whose every text already went through
    :func:`~nbgeo.html.safe_text` (a chart, the embedded map and its assets)
    or that holds no text from a plan or data (the stylesheet). Anything else
    is passed to :func:`render` as it is and escaped there.

    Examples
    --------
    >>> trusted("<svg></svg>")
    Markup('<svg></svg>')
    """
    return Markup(markup)  # noqa: S704  # the one place nbgeo marks its own markup safe (see the docstring)


def text(value: object) -> Markup:
    """``value`` as the templates print it: trusted markup as it is, anything else through ``safe_text``.

    This is the environment's ``finalize`` hook, applied to every ``{{ … }}``.

    Examples
    --------
    >>> text("${x} <i>"), text(trusted("<i>")), text(None)
    (Markup('&#36;&#123;x&#125; &lt;i&gt;'), Markup('<i>'), Markup(''))
    """
    if isinstance(value, Markup):
        return value
    return trusted(safe_text(value))


def _join(items: Iterable[object], sep: str = "") -> Markup:
    """The ``join`` filter: every item and the separator escaped as ``{{ … }}`` would be."""
    return text(sep).join(text(item) for item in items)


class _Compact(Extension):
    """Drops line breaks and indentation from template text; refuses the ``~`` operator."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        for token in stream:
            if token.type == "tilde":
                msg = "'~' is not used in nbgeo templates: it would join trusted markup with MarkupSafe-only escaping"
                raise TemplateSyntaxError(msg, token.lineno, stream.name, stream.filename)
            yield Token(token.lineno, "data", _NEWLINE_INDENT.sub("", token.value)) if token.type == "data" else token


class _Sandbox(ImmutableSandboxedEnvironment):
    """A sandbox for templates that only read plain data (dicts, lists, strings, numbers)."""

    intercepted_binops = frozenset({"+", "%", "*"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Templates read their data by key; only the loop's counters are attributes.
        return isinstance(obj, LoopContext) and not callable(value) and super().is_safe_attribute(obj, attr, value)

    def is_safe_callable(self, obj: Any) -> bool:
        # nbgeo's own macros, nothing else: no method of the data, no function handed in.
        return isinstance(obj, Macro) and super().is_safe_callable(obj)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        # Markup + text or Markup % text would escape the text with MarkupSafe alone ({ } $ ` \ left as is).
        if isinstance(left, Markup) or isinstance(right, Markup):
            msg = f"'{operator}' on trusted markup is not allowed in nbgeo templates"
            raise SecurityError(msg)
        return super().call_binop(context, operator, left, right)


def _environment() -> _Sandbox:
    env = _Sandbox(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=text,
        extensions=[_Compact],
        auto_reload=False,
    )
    # Filters that return plain values (escaped on output like any other), and a join that escapes its parts.
    keep = ("default", "first", "last", "length")
    env.filters = {name: env.filters[name] for name in keep} | {"join": _join}
    env.globals.clear()
    env.tests = {name: env.tests[name] for name in ("defined", "none", "number", "string")}
    return env


#: The one template environment of nbgeo (sandboxed, autoescaping, ``safe_text`` by default).
ENV = _environment()


def render(name: str, /, **context: Any) -> str:
    """Render the template ``name`` (a file of ``nbgeo/renderers/templates``) with ``context`` as its variables.

    Parameters
    ----------
    name
        The template's file name, e.g. ``"audit.html.j2"``.
    **context
        Its variables: plain values (escaped with :func:`~nbgeo.html.safe_text`
        when printed) or :func:`trusted` markup.

    Returns
    -------
    str
        The rendered page or fragment.

    Examples
    --------
    >>> bar = {"width": 80, "height": 6, "rx": "3", "fill": "8.0", "colour": "#000", "label": "</svg><script>"}
    >>> render("bar.svg.j2", bar=bar)[:98]
    "<svg class='pbar' width='80' height='6' viewBox='0 0 80 6' role='img' aria-label='&lt;/svg&gt;&lt;"
    """
    return ENV.get_template(name).render(**context)
