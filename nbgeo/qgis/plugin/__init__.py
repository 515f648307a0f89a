"""The nbgeo QGIS plugin: a Processing provider that runs the installed ``nbgeo`` command."""


def classFactory(iface):
    """QGIS's entry point: the plugin object."""
    from .plugin import NbgeoPlugin  # noqa: PLC0415 - QGIS imports the package before QGIS's modules are ready

    return NbgeoPlugin(iface)
