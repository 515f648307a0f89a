"""Registers the nbgeo Processing provider when QGIS loads the plugin."""

from qgis.core import QgsApplication

from .provider import NbgeoProvider


class NbgeoPlugin:
    """Adds the provider on start and removes it on unload."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):
        """Add the provider to the Processing registry."""
        self.provider = NbgeoProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        """QGIS calls this once its window exists."""
        self.initProcessing()

    def unload(self):
        """Remove the provider."""
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
