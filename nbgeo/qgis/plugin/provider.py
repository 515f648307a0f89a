"""The "nbgeo" Processing provider and its one setting: which ``nbgeo`` executable to run."""

import shutil
from pathlib import Path

from processing.core.ProcessingConfig import ProcessingConfig, Setting
from qgis.core import QgsProcessingProvider

from .algorithms import ALGORITHMS

EXECUTABLE = "NBGEO_EXECUTABLE"


def default_executable():
    """What ``nbgeo qgis install`` recorded, else ``nbgeo`` on the PATH."""
    recorded = Path(__file__).resolve().parent / "nbgeo_path.txt"
    if recorded.is_file():
        return recorded.read_text(encoding="utf-8").strip()
    return shutil.which("nbgeo") or "nbgeo"


def executable():
    """The executable set in Processing ▸ Options ▸ Providers ▸ nbgeo (default: :func:`default_executable`)."""
    return ProcessingConfig.getSetting(EXECUTABLE) or default_executable()


class NbgeoProvider(QgsProcessingProvider):
    """nbgeo's commands as Processing algorithms."""

    def load(self):
        """Declare the setting, then load the algorithms."""
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(Setting(self.name(), EXECUTABLE, "nbgeo executable", default_executable(),
                                            valuetype=Setting.FILE))
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        """Forget the setting."""
        ProcessingConfig.removeSetting(EXECUTABLE)

    def loadAlgorithms(self):
        """One algorithm per command."""
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())

    def id(self):
        """The provider id: algorithms are ``nbgeo:audit``, ``nbgeo:rules`` ..."""
        return "nbgeo"

    def name(self):
        """The name shown in the toolbox."""
        return "nbgeo"

    def longName(self):
        """The name with what it is for."""
        return "nbgeo (industrial spatial plan checks)"
