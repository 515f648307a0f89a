"""Checks shared by the tests of reading and writing whole datasets (files and PostGIS)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbgeo.layers import Dataset


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
