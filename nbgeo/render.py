"""Deprecated: ``nbgeo.render`` moved to :mod:`nbgeo.renderers.render`; each name read here warns ``DeprecationWarning``."""

from __future__ import annotations

import warnings
from typing import Any

from .renderers import render as _module


def __getattr__(name: str) -> Any:
    value = getattr(_module, name)
    warnings.warn(f"nbgeo.render.{name} is deprecated: use nbgeo.renderers.render.{name}", DeprecationWarning, stacklevel=2)
    return value
