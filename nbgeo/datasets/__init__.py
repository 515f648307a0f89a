"""The embedded Ningbo sample and plan files, reachable from an installed nbgeo.

Examples
--------
>>> from nbgeo import datasets
>>> datasets.available()
('ningbo', 'ningbo_2025', 'ningbo_2035')
>>> datasets.get_path("ningbo").name
'ningbo'
>>> datasets.get_path("nowhere")
Traceback (most recent call last):
...
nbgeo.errors.InputError: no embedded dataset 'nowhere'; available: ningbo, ningbo_2025, ningbo_2035
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ["available", "get_path"]

_HERE = Path(__file__).resolve().parent
_PATHS = {
    "ningbo": _HERE / "ningbo",
    "ningbo_2025": _HERE / "plans" / "ningbo_2025.toml",
    "ningbo_2035": _HERE / "plans" / "ningbo_2035.toml",
}


def available() -> tuple[str, ...]:
    """Names of the embedded datasets and plans."""
    return tuple(_PATHS)


def get_path(name: str) -> Path:
    """Return the path of an embedded dataset folder or plan file.

    Parameters
    ----------
    name
        ``"ningbo"`` (the sample dataset folder), ``"ningbo_2025"`` (the plan file) or
        ``"ningbo_2035"`` (the plan carried on to 2035; illustrative, its 2035 values are assumed).

    Returns
    -------
    pathlib.Path
        The folder or file inside the installed package.
    """
    try:
        return _PATHS[name]
    except KeyError:
        msg = f"no embedded dataset {name!r}; available: {', '.join(_PATHS)}"
        raise InputError(msg, code="E-DATASET-UNKNOWN") from None
