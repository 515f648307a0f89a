"""Deprecated: ``nbgeo.theme`` moved to :mod:`nbgeo.renderers.theme`; each name read here warns ``DeprecationWarning``."""

from __future__ import annotations

import warnings
from typing import Any

from .renderers import theme as _module


def __getattr__(name: str) -> Any:
    value = getattr(_module, name)
    warnings.warn(f"nbgeo.theme.{name} is deprecated: use nbgeo.renderers.theme.{name}", DeprecationWarning, stacklevel=2)
    return value
