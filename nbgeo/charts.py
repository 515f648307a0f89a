"""``nbgeo.charts``: the public API of :mod:`nbgeo.renderers.charts`, where the renderers live together.

``from nbgeo import charts`` keeps working; other names are looked up in
:mod:`nbgeo.renderers.charts` too. To patch a function (in tests), patch it
there: this module only forwards.
"""

from __future__ import annotations

from typing import Any

from .renderers import charts as _module
from .renderers.charts import *  # noqa: F403  # the public API, for readers and type checkers

__all__ = _module.__all__


def __getattr__(name: str) -> Any:
    return getattr(_module, name)
