"""``nbgeo.maps``: the public API of :mod:`nbgeo.renderers.maps`, where the renderers live together.

``from nbgeo import maps`` keeps working; other names are looked up in
:mod:`nbgeo.renderers.maps` too. To patch a function (in tests), patch it
there: this module only forwards.
"""

from __future__ import annotations

from typing import Any

from .renderers import maps as _module
from .renderers.maps import *  # noqa: F403  # the public API, for readers and type checkers

__all__ = _module.__all__


def __getattr__(name: str) -> Any:
    return getattr(_module, name)
