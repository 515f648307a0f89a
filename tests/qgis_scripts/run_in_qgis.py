"""Run inside QGIS's own Python (/usr/bin/python3), headless: every nbgeo algorithm, then report as JSON.

Usage: python3 run_in_qgis.py PLUGINS_DIR NBGEO_EXECUTABLE WORK_DIR BAD_DATASET > results.json
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

plugins, executable, work, bad = sys.argv[1:5]
app = QgsApplication([], False)
app.initQgis()
sys.path.append("/usr/share/qgis/python/plugins")
sys.path.insert(0, plugins)
from processing.core.Processing import Processing  # noqa: E402
from processing.core.ProcessingConfig import ProcessingConfig  # noqa: E402

Processing.initialize()
import processing  # noqa: E402

from nbgeo import classFactory  # noqa: E402 - the plugin as installed by `nbgeo qgis install`

plugin = classFactory(None)
plugin.initProcessing()
ProcessingConfig.setSettingValue("NBGEO_EXECUTABLE", executable)
results = {"algorithms": sorted(a.id() for a in QgsApplication.processingRegistry().providerById("nbgeo").algorithms())}


def describe(layer):
    renderer = layer.renderer()
    out = {"valid": layer.isValid(), "renderer": renderer.type() if renderer else None,
           "features": layer.featureCount(), "labels": layer.labelsEnabled()}
    if renderer is not None and renderer.type() == "categorizedSymbol":
        out["attr"] = renderer.classAttribute()
        out["categories"] = [[str(c.value()), c.label(), c.symbol().color().name()] for c in renderer.categories()]
    return out


runs = {"audit": {}, "rules": {}, "coverage": {}, "site": {}, "compare": {"A": sys.argv[5], "B": sys.argv[6],
                                                                          "YEAR": 2025}}
for name, extra in runs.items():
    out = str(Path(work) / name)
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    bar: list[float] = []
    feedback.progressChanged.connect(bar.append)
    started = time.monotonic()
    try:
        res = processing.run(f"nbgeo:{name}", {"OUTPUT": out, "OPEN_REPORT": False, **extra}, context=context,
                             feedback=feedback)
    except QgsProcessingException as exc:
        results[name] = {"error": str(exc)}
        continue
    results.setdefault("timings", {})[name] = time.monotonic() - started
    to_load = context.layersToLoadOnCompletion()
    layers = {}
    for layer_id, details in to_load.items():
        layer = context.getMapLayer(layer_id)
        layers[details.name] = describe(layer)
    results[name] = {"exit_code": res["EXIT_CODE"], "files": sorted(p.name for p in Path(out).iterdir()), "bar": bar,
                     "layers": layers, "project": res.get("PROJECT"), "report": res.get("REPORT")}

# The project of the audit: every layer resolves, in the working CRS; then render it.
project = QgsProject.instance()
project.clear()
ok = project.read(str(Path(work) / "audit" / "project.qgz"))
tree = [[g.name(), [lyr.name() for lyr in g.findLayers()]] for g in project.layerTreeRoot().findGroups()]
layers = list(project.mapLayers().values())
results["project"] = {
    "read": ok, "crs": project.crs().description(), "crs_valid": project.crs().isValid(),
    "layers": len(layers), "invalid": [lyr.name() for lyr in layers if not lyr.isValid()],
    "groups": tree, "relative": not project.filePathStorage() if hasattr(project, "filePathStorage") else None,
    "licences": {lyr.name(): list(lyr.metadata().licenses()) for lyr in layers},
    "renderers": {lyr.name(): lyr.renderer().type() for lyr in layers if isinstance(lyr, QgsVectorLayer)},
}
settings = QgsMapSettings()
order = project.layerTreeRoot().layerOrder()
settings.setLayers(order)
settings.setDestinationCrs(project.crs())
extent = QgsRectangle()
for lyr in order:
    if lyr.name().startswith("rule"):
        box = settings.layerExtentToOutputExtent(lyr, lyr.extent())
        extent.combineExtentWith(box)
extent.scale(1.3)
settings.setExtent(extent)
settings.setOutputSize(QSize(900, 700))
settings.setBackgroundColor(QColor("white"))
job = QgsMapRendererParallelJob(settings)
job.start()
job.waitForFinished()
image = job.renderedImage()
png = str(Path(work) / "audit" / "project.png")
image.save(png, "PNG")
counts = {}
for y in range(0, image.height()):
    for x in range(0, image.width()):
        key = QColor(image.pixel(x, y)).name()
        counts[key] = counts.get(key, 0) + 1
results["render"] = {"png": png, "size": [image.width(), image.height()],
                     "top": sorted(counts.items(), key=lambda kv: -kv[1])[:12], "colours": counts}

# A bad dataset: nbgeo refuses it; the error reaches Processing with nbgeo's code.
try:
    processing.run("nbgeo:audit", {"DATASET": bad, "OUTPUT": str(Path(work) / "bad"), "OPEN_REPORT": False},
                   context=QgsProcessingContext(), feedback=QgsProcessingFeedback())
    results["bad"] = {"raised": None}
except QgsProcessingException as exc:
    results["bad"] = {"raised": type(exc).__name__, "code": getattr(exc, "code", None), "message": str(exc),
                      "is_processing_exception": isinstance(exc, QgsProcessingException)}
# Cancel: the run stops (nbgeo is terminated) and publishes nothing.
feedback = QgsProcessingFeedback()
timer = threading.Timer(2.0, feedback.cancel)
timer.start()
started = time.monotonic()
try:
    processing.run("nbgeo:audit", {"OUTPUT": str(Path(work) / "cancelled"), "OPEN_REPORT": False},
                   context=QgsProcessingContext(), feedback=feedback)
    results["cancel"] = {"raised": None}
except QgsProcessingException as exc:
    results["cancel"] = {"raised": type(exc).__name__, "message": str(exc).strip().splitlines()[-1],
                         "seconds": time.monotonic() - started,
                         "files": sorted(p.name for p in (Path(work) / "cancelled").iterdir())}
print("RESULTS " + json.dumps(results, ensure_ascii=False))
app.exitQgis()
