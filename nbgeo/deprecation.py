"""Renamed public names keep working for a while: they warn :class:`DeprecationWarning` and pass on.

One helper for every renamed keyword (:func:`renamed_keywords`) and one for every renamed function
(:func:`renamed_function`), so the message reads the same everywhere. It imports nothing from nbgeo.

Examples
--------
>>> import warnings
>>> @renamed_keywords(cutoff="distance", mode=("by", {"network": "road"}))
... def reach(*, distance: float, by: str = "road") -> str:
...     return f"{distance:g} m by {by}"
>>> reach(distance=500)
'500 m by road'
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     reach(cutoff=500, mode="network")
'500 m by road'
>>> [str(w.message) for w in caught]  # doctest: +NORMALIZE_WHITESPACE
["reach(): the keyword 'cutoff' is deprecated; use distance=", "reach(): the keyword 'mode' is deprecated; use by="]
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

__all__ = ["renamed_function", "renamed_keywords"]

P = ParamSpec("P")
R = TypeVar("R")

#: An old keyword's new name, or its new name and how its old values read now.
Rename = str | tuple[str, Mapping[Any, Any]]


def renamed_keywords(**renames: Rename) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let a function take keywords under their old names too, with a :class:`DeprecationWarning`.

    Parameters
    ----------
    **renames
        ``old="new"``, or ``old=("new", {old_value: new_value})`` when the values were renamed too
        (values not in the mapping pass unchanged).

    Returns
    -------
    callable
        A decorator: the function, taking the old keywords too (``functools.wraps`` keeps its name,
        docstring and signature, so its doctests still run).

    Examples
    --------
    >>> @renamed_keywords(radius="distance")
    ... def area(*, distance: float) -> float:
    ...     return 3.0 * distance**2
    >>> area(distance=2.0)
    12.0
    >>> area(radius=2.0, distance=2.0)
    Traceback (most recent call last):
    ...
    TypeError: area() got both 'radius' (deprecated) and 'distance'
    """
    table = {old: (new, {}) if isinstance(new, str) else (new[0], dict(new[1])) for old, new in renames.items()}

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        name = getattr(func, "__name__", "function")

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for old in [o for o in table if o in kwargs]:
                new, values = table[old]
                if new in kwargs:
                    msg = f"{name}() got both {old!r} (deprecated) and {new!r}"
                    raise TypeError(msg)
                warnings.warn(f"{name}(): the keyword {old!r} is deprecated; use {new}=", DeprecationWarning,
                              stacklevel=2)
                value = kwargs.pop(old)
                try:
                    kwargs[new] = values.get(value, value)
                except TypeError:  # an unhashable value: not one of the renamed ones
                    kwargs[new] = value
            return func(*args, **kwargs)

        return wrapper

    return decorate


def renamed_function(func: Callable[P, R], old: str, *, where: str) -> Callable[P, R]:
    """The function ``func`` under its old name ``old`` (in ``where``), warning that the name is deprecated.

    Examples
    --------
    >>> import warnings
    >>> def distances_within() -> int:
    ...     return 1
    >>> old = renamed_function(distances_within, "coverage_matrix", where="nbgeo.coverage")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     old()
    1
    >>> str(caught[0].message)
    'nbgeo.coverage.coverage_matrix is deprecated; use nbgeo.coverage.distances_within'
    """
    new = getattr(func, "__name__", "function")

    @functools.wraps(func)
    def shim(*args: P.args, **kwargs: P.kwargs) -> R:
        warnings.warn(f"{where}.{old} is deprecated; use {where}.{new}", DeprecationWarning, stacklevel=2)
        return func(*args, **kwargs)

    shim.__name__ = old
    shim.__qualname__ = old
    shim.__doc__ = f"Deprecated name of :func:`{where}.{new}`."
    shim.__deprecated__ = f"use {where}.{new}"  # type: ignore[attr-defined]  # as PEP 702's decorator marks it
    return shim
