"""Checks shared by the tests of reading and writing whole datasets (files and PostGIS)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner

from nbgeo.cli import main

if TYPE_CHECKING:
    from nbgeo.layers import Dataset

#: The GCJ-02 round trip and the 9 decimals of the WKT and CSV move a vertex by under 0.2 mm.
ABS_TOL = 1e-3
#: The parts of two audit.json compared target by target (the dataset part says where each came from).
AUDIT_PARTS = ("targets", "indicators", "progress", "rules", "coverage", "summary")


def assert_same_files(a: Dataset, b: Dataset) -> None:
    """Rasters and networks: the same bytes and provenance (where the file lies aside); tables: equal."""
    assert list(a.rasters) == list(b.rasters) and list(a.networks) == list(b.networks)
    for items_a, items_b in ((a.rasters, b.rasters), (a.networks, b.networks)):
        for name in items_a:
            x, y = items_a[name], items_b[name]
            assert Path(x.path).read_bytes() == Path(y.path).read_bytes(), name
            assert replace(x.meta, file=None) == replace(y.meta, file=None), name
    for name in a.networks:
        x, y = a.networks[name], b.networks[name]
        assert (x.network_type, x.declared_crs) == (y.network_type, y.declared_crs), name
    assert a.tables == b.tables


def cli_audit(dataset: str | Path, out: Path) -> dict[str, Any]:
    """``nbgeo audit DATASET`` (the embedded plan, no map) through the command line, and its audit.json."""
    result = CliRunner().invoke(main, ["audit", str(dataset), "--out", str(out), "--no-map"])
    assert result.exit_code == 1, result.output  # the sample misses targets on purpose: so must its copies
    return json.loads((out / "audit.json").read_text(encoding="utf-8"))


def assert_same_audit_part(ours: dict[str, Any], theirs: dict[str, Any], part: str) -> None:
    """``part`` of two audit.json documents is there, holds the same entries in the same order, and the same contents."""
    assert ours[part], f"the audit has no {part}: nothing was compared"
    if isinstance(ours[part], list):
        assert [e.get("id") for e in ours[part]] == [e.get("id") for e in theirs[part]]
    assert audit_differences(ours[part], theirs[part], part) == []


def audit_differences(ours: Any, theirs: Any, where: str) -> list[str]:
    """Every difference between two audit.json parts: exact for text and verdicts, numbers within ABS_TOL."""
    if isinstance(ours, dict):
        diffs = [f"{where}: keys {sorted(set(ours) ^ set(theirs))}"] if set(ours) != set(theirs) else []
        return diffs + [d for k in ours if k in theirs for d in audit_differences(ours[k], theirs[k], f"{where}.{k}")]
    if isinstance(ours, list):
        if len(ours) != len(theirs):
            return [f"{where}: {len(ours)} items against {len(theirs)}"]
        return [d for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
                for d in audit_differences(a, b, f"{where}[{i}]")]
    if isinstance(ours, float) or isinstance(theirs, float):
        close = (ours is not None and theirs is not None
                 and math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=ABS_TOL))
        return [] if close else [f"{where}: {ours!r} against {theirs!r}"]
    return [] if ours == theirs else [f"{where}: {ours!r} against {theirs!r}"]
