"""Deprecated: ``nbgeo.labels`` moved to :mod:`nbgeo.renderers.labels`; each name read here warns ``DeprecationWarning``."""

from __future__ import annotations

import warnings
from typing import Any

from .renderers import labels as _module


def __getattr__(name: str) -> Any:
    value = getattr(_module, name)
    warnings.warn(f"nbgeo.labels.{name} is deprecated: use nbgeo.renderers.labels.{name}", DeprecationWarning, stacklevel=2)
    return value
