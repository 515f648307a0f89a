"""nbgeo: a city's industrial spatial plan as code that planners can check.

The modules are the public API (``nbgeo.audit.run_audit``, ``nbgeo.io.read_dataset``,
...); the core types are re-exported here.

Examples
--------
>>> import nbgeo
>>> plan = nbgeo.read_plan(nbgeo.datasets.get_path("ningbo_2025"))
>>> report = nbgeo.run_audit(nbgeo.read_sample(), plan)
>>> report.year
2025
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from . import audit as audit
from . import charts as charts
from . import compare as compare
from . import coverage as coverage
from . import crs as crs
from . import datasets as datasets
from . import errors as errors
from . import filters as filters
from . import html as html
from . import indicators as indicators
from . import io as io
from . import layers as layers
from . import network as network
from . import plan as plan
from . import progress as progress
from . import settings as settings
from . import targets as targets
from . import validate as validate
from .audit import AuditReport, run_audit
from .errors import NbgeoError
from .io import read_dataset, read_sample
from .layers import Dataset
from .plan import Plan, Target, read_plan

__all__ = [
    "AuditReport",
    "Dataset",
    "NbgeoError",
    "Plan",
    "Target",
    "__version__",
    "audit",
    "charts",
    "compare",
    "coverage",
    "crs",
    "datasets",
    "errors",
    "html",
    "indicators",
    "io",
    "layers",
    "network",
    "plan",
    "progress",
    "read_dataset",
    "read_plan",
    "read_sample",
    "run_audit",
    "settings",
    "targets",
    "validate",
]

try:
    __version__ = version("nbgeo")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

# The library only logs; applications (like the nbgeo CLI) decide where logs go.
logging.getLogger(__name__).addHandler(logging.NullHandler())
