"""``nbgeo qgis install``: put the Processing plugin into a QGIS profile.

The plugin's files ship inside nbgeo (``nbgeo/qgis/plugin``), so an installed nbgeo can copy them. The copy
records which ``nbgeo`` executable installed it (``nbgeo_path.txt``), which the plugin runs unless its
Processing settings name another.

Examples
--------
>>> import tempfile, pathlib
>>> profile = pathlib.Path(tempfile.mkdtemp())
>>> target = install_plugin(profile, executable="/opt/nbgeo/bin/nbgeo")
>>> target.relative_to(profile).as_posix()
'python/plugins/nbgeo'
>>> sorted(p.name for p in target.iterdir())[:3], (target / "nbgeo_path.txt").read_text()
(['__init__.py', 'algorithms.py', 'metadata.txt'], '/opt/nbgeo/bin/nbgeo\\n')
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ..errors import OutputError

__all__ = ["default_profile", "install_plugin", "plugin_source"]


def plugin_source() -> Path:
    """The folder of the plugin's files inside the installed nbgeo."""
    return Path(__file__).resolve().parent / "plugin"


def default_profile() -> Path:
    """QGIS 3's default user profile on Linux (``~/.local/share/QGIS/QGIS3/profiles/default``)."""
    return Path.home() / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"


def _executable() -> str:
    """The ``nbgeo`` command beside this Python (its virtual environment), else the one on PATH."""
    beside = Path(sys.executable).parent / "nbgeo"
    return str(beside) if beside.is_file() else (shutil.which("nbgeo") or "nbgeo")


def install_plugin(profile_dir: str | Path | None = None, *, link: bool = False,
                   executable: str | None = None) -> Path:
    """Copy (or, with ``link``, symlink) the plugin into ``profile_dir/python/plugins/nbgeo``; returns that folder.

    An earlier install there is replaced. ``executable`` is the ``nbgeo`` the plugin runs (default: this
    one).
    """
    target = Path(profile_dir or default_profile()) / "python" / "plugins" / "nbgeo"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        if link:
            target.symlink_to(plugin_source(), target_is_directory=True)
        else:
            shutil.copytree(plugin_source(), target, ignore=shutil.ignore_patterns("__pycache__"))
            (target / "nbgeo_path.txt").write_text(f"{executable or _executable()}\n", encoding="utf-8")
    except OSError as exc:
        msg = f"could not install the QGIS plugin into {str(target)!r}: {exc.strerror or exc}; " \
              "pass --profile-dir to choose another QGIS profile"
        raise OutputError(msg, code="E-IO-WRITE") from None
    return target
