"""nbgeo in QGIS: styled GeoPackages, a project of each output folder, and the Processing plugin.

- :mod:`nbgeo.qgis.styles`: QML and SLD of each kind of output layer, stored in a GeoPackage.
- :mod:`nbgeo.qgis.project`: the ``.qgz`` project XML.
- :mod:`nbgeo.qgis.outputs`: what ``--format qgis`` adds to a command's outputs.
- :mod:`nbgeo.qgis.install`: ``nbgeo qgis install`` (the plugin ships in ``nbgeo/qgis/plugin``).

None of this imports QGIS: nbgeo writes files that QGIS reads, and the plugin runs the ``nbgeo`` command.
"""

from __future__ import annotations

from .install import install_plugin, plugin_source
from .outputs import FILES, qgis_files, write_findings
from .project import ProjectLayer, write_project
from .styles import KINDS, categories, style_geopackage

__all__ = ["FILES", "KINDS", "ProjectLayer", "categories", "install_plugin", "plugin_source", "qgis_files",
           "style_geopackage", "write_findings", "write_project"]
