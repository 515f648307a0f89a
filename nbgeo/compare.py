"""``nbgeo.compare``: the public API of :mod:`nbgeo.renderers.compare`, where the renderers live together.

``from nbgeo import compare`` keeps working; other names are looked up in
:mod:`nbgeo.renderers.compare` too. To patch a function (in tests), patch it
there: this module only forwards.
"""

from __future__ import annotations

from typing import Any

from .renderers import compare as _module
from .renderers.compare import *  # noqa: F403  # the public API, for readers and type checkers

__all__ = _module.__all__


def __getattr__(name: str) -> Any:
    return getattr(_module, name)
