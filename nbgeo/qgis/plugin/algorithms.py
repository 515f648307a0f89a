"""nbgeo's commands as Processing algorithms: each runs the ``nbgeo`` executable in a subprocess.

nbgeo is never imported here, so its GDAL and QGIS's never meet in one process. An algorithm builds the
command line from its parameters, runs it while watching for cancel (which terminates nbgeo: its outputs
are published as one set, so a cancelled run leaves the earlier outputs as they were), turns
``nbgeo: error E-...: message`` into a :class:`QgsProcessingException` carrying the code, and then loads
the styled GeoPackages of the output folder and opens the HTML report.
"""

import os
import queue
import re
import subprocess
import threading
import time
import webbrowser
from pathlib import Path

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProject,
    QgsVectorLayer,
)

ERROR = re.compile(r"^nbgeo: error (E-[A-Z0-9-]+): (.*)$")
#: Exit codes that are results, not failures: 0 everything met, 1 something is not.
RESULTS = (0, 1)
#: nbgeo's step lines (``NBGEO_STEPS=lines``): ``nbgeo-step: start|end|failed DEPTH [SECONDS] NAME``.
STEP = re.compile(r"^nbgeo-step: (start|end|failed) (\d+) (?:([\d.]+) )?(.*)$")
#: How many top-level steps each command takes (reading, its work, writing), for the share of the bar.
STEPS = {"audit": 8, "rules": 3, "coverage": 3, "site": 3, "compare": 12}


class NbgeoError(QgsProcessingException):
    """nbgeo refused the input: ``code`` is its stable error code (E-IO-..., E-PLAN-...)."""

    def __init__(self, code, message, exit_code):
        super().__init__(f"nbgeo error {code}: {message}")
        self.code = code
        self.exit_code = exit_code


def run_nbgeo(args, feedback, *, executable=None):
    """Run ``nbgeo ARGS``; return (exit code, stdout). Progress and cancel go through ``feedback``."""
    from .provider import executable as configured  # noqa: PLC0415 - the provider imports this module

    command = [executable or configured(), *args]
    feedback.pushCommandInfo(" ".join(command))
    expected = next((STEPS[a] for a in args if a in STEPS), 4)
    done = []
    try:  # nbgeo reports each step as a line when asked, however quiet (-q) it is otherwise
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                encoding="utf-8", errors="replace", env={**os.environ, "NBGEO_STEPS": "lines"})
    except OSError as exc:
        raise QgsProcessingException(f"cannot run {command[0]!r}: {exc}; set the nbgeo executable in "
                                     "Processing ▸ Options ▸ Providers ▸ nbgeo") from None
    err_lines, out_lines = [], []

    def pump(stream, sink, show):
        for line in stream:
            sink.append(line.rstrip("\n"))
            show(line.rstrip("\n"))

    events = queue.SimpleQueue()  # step lines, applied to the feedback by this (QGIS's) thread, not the reader's

    def step_or_log(line):
        found = STEP.match(line)
        if found is None:
            feedback.pushConsoleInfo(line)
        else:
            events.put(found)

    def show_steps():
        while not events.empty():
            found = events.get()
            if found[1] == "start":
                feedback.setProgressText(found[4])
            elif found[2] == "0":  # a top-level step ended: its share of the bar
                done.append(found[4])
                feedback.pushInfo(f"{found[4]}: {float(found[3]):.1f} s")
                feedback.setProgress(min(95.0, 95.0 * len(done) / expected))

    threads = [threading.Thread(target=pump, args=(proc.stderr, err_lines, step_or_log), daemon=True),
               threading.Thread(target=pump, args=(proc.stdout, out_lines, lambda _line: None), daemon=True)]
    for thread in threads:
        thread.start()
    while proc.poll() is None:
        if feedback.isCanceled():
            proc.terminate()  # nbgeo discards the outputs it was building, as on Ctrl-C
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            feedback.reportError("cancelled: nbgeo was stopped; the earlier outputs, if any, are unchanged")
            raise QgsProcessingException("cancelled")
        show_steps()
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=5)
    show_steps()
    code = proc.returncode
    for line in err_lines:
        found = ERROR.match(line)
        if found:
            feedback.reportError(line)
            raise NbgeoError(found[1], found[2], code)
    if code not in RESULTS:
        said = [line for line in err_lines if not STEP.match(line)]
        raise QgsProcessingException(f"nbgeo exited with {code}: {' '.join(said[-3:]) or 'no message'}")
    for line in out_lines:
        feedback.pushInfo(line)
    feedback.setProgress(95)
    return code, "\n".join(out_lines)


def load_outputs(folder, context, feedback):
    """Add every layer of the folder's GeoPackages to the project at the end (each carries its style)."""
    loaded = []
    for path in sorted(Path(folder).glob("*.gpkg")):
        probe = QgsVectorLayer(str(path), path.stem, "ogr")
        for sub in probe.dataProvider().subLayers() if probe.isValid() else []:
            name = sub.split("!!::!!")[1]
            layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
            if not layer.isValid():
                continue
            layer.loadDefaultStyle()
            key = f"{path.name}:{name}"
            context.temporaryLayerStore().addMapLayer(layer)
            context.addLayerToLoadOnCompletion(layer.id(), QgsProcessingContext.LayerDetails(
                name, QgsProject.instance(), key))
            loaded.append(key)
    feedback.pushInfo(f"{len(loaded)} styled layer(s) to load: {', '.join(loaded) or 'none'}")
    return loaded


class _Command(QgsProcessingAlgorithm):
    """One nbgeo command over a dataset folder, a plan and a year, writing an output folder."""

    command = ""
    title = ""
    help = ""
    qgis_format = True  # the command takes --format qgis (styled findings and project.qgz)

    def createInstance(self):
        return type(self)()

    def name(self):
        return self.command

    def displayName(self):
        return self.title

    def shortHelpString(self):
        return self.help

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            "DATASET", "Dataset folder (empty: the embedded Ningbo sample)",
            behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterFile("PLAN", "Plan file (.toml; empty: the embedded 2025 plan)",
                                                     extension="toml", optional=True))
        self.addParameter(QgsProcessingParameterNumber("YEAR", "Evaluation year (0: the plan's horizon)",
                                                       type=QgsProcessingParameterNumber.Integer,
                                                       defaultValue=0, minValue=0, maxValue=2200))
        self.addParameter(QgsProcessingParameterBoolean("OPEN_REPORT", "Open the HTML report", defaultValue=True))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "Output folder"))
        self.addOutput(QgsProcessingOutputFolder("OUTPUT_FOLDER", "Output folder"))
        self.addOutput(QgsProcessingOutputFile("REPORT", "HTML report"))
        self.addOutput(QgsProcessingOutputFile("PROJECT", "QGIS project"))
        self.addOutput(QgsProcessingOutputNumber("EXIT_CODE", "nbgeo exit code (0 all met, 1 something not)"))

    def arguments(self, parameters, context, out):
        """The command line after ``nbgeo``."""
        args = [self.command]
        dataset = self.parameterAsFile(parameters, "DATASET", context)
        if dataset:
            args.append(dataset)
        plan = self.parameterAsFile(parameters, "PLAN", context)
        if plan:
            args += ["--plan", plan]
        year = self.parameterAsInt(parameters, "YEAR", context)
        if year:
            args += ["--year", str(year)]
        return [*args, "--out", out, "--overwrite", *self.format_args()]

    def format_args(self):  # the page (--format html) stays: --format alone would replace it
        return ["--format", "html", "--format", "qgis"] if self.qgis_format else []

    def processAlgorithm(self, parameters, context, feedback):
        out = self.parameterAsString(parameters, "OUTPUT", context)
        Path(out).mkdir(parents=True, exist_ok=True)
        code, _ = run_nbgeo(["-q", *self.arguments(parameters, context, out)], feedback)
        load_outputs(out, context, feedback)
        report = next((Path(out) / n for n in ("audit.html", "compare.html", "coverage.html", "rules.html")
                       if (Path(out) / n).is_file()), None)
        if report is not None and self.parameterAsBool(parameters, "OPEN_REPORT", context):
            webbrowser.open(report.as_uri())
        feedback.setProgress(100)
        project = Path(out) / "project.qgz"
        return {"OUTPUT_FOLDER": out, "REPORT": str(report) if report else None,
                "PROJECT": str(project) if project.is_file() else None, "EXIT_CODE": code}


class Audit(_Command):
    command, title = "audit", "Audit a dataset against a plan"
    help = "Targets, siting rules, coverage and progress: audit.json, audit.html, findings.gpkg and project.qgz."


def _simple(command, title, help_text):
    """An algorithm that is just a command with the common parameters."""
    return type(command.title(), (_Command,), {"command": command, "title": title, "help": help_text,
                                              "__doc__": help_text})


Rules = _simple("rules", "Check the siting rules",
                "Every site against the plan's siting rules: rules.json, rule_sites.csv, rules.html, findings.gpkg, "
                "project.qgz.")
Coverage = _simple("coverage", "Check coverage",
                   "Who the facilities serve: coverage.json, coverage.html, findings.gpkg (uncovered sites), "
                   "project.qgz.")
Site = _simple("site", "Site new facilities",
               "Answer the plan's siting questions: sites.gpkg (chosen sites, candidates, demand), audit.html, "
               "project.qgz.")


class Compare(_Command):
    command, title = "compare", "Compare two scenarios"
    help = "Two plans or two datasets side by side: compare.json and compare.html."
    qgis_format = False

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile("A", "Scenario A (a plan .toml or a dataset folder)",
                                                     behavior=QgsProcessingParameterFile.File))
        self.addParameter(QgsProcessingParameterFile("B", "Scenario B (a plan .toml or a dataset folder)",
                                                     behavior=QgsProcessingParameterFile.File))
        super().initAlgorithm(config)

    def arguments(self, parameters, context, out):
        a = self.parameterAsFile(parameters, "A", context)
        b = self.parameterAsFile(parameters, "B", context)
        rest = super().arguments(parameters, context, out)[1:]
        dataset = self.parameterAsFile(parameters, "DATASET", context)
        if dataset:  # compare takes the dataset as an option, not an argument
            rest = ["--dataset", *rest]
        return ["compare", a, b, *rest]


ALGORITHMS = (Audit, Rules, Coverage, Site, Compare)
