"""Geometries written as text in a table: a WKT or hex WKB column of a CSV file or an Excel sheet.

A bureau's spreadsheet of parks often holds each park's outline as well-known text (``POLYGON ((...))``)
or as hex WKB (what ``ST_AsHEXEWKB`` and many exports write), not as longitude and latitude columns. The
column is the one the manifest names (``geometry_column = "边界"``) or, when none is named and no
coordinate columns are declared, one whose name says it (``wkt``, ``geometry``, ``geom``, ``shape``,
``几何``, ``图形``, ...). Every cell is parsed; one that is not a geometry is an ``E-GEOM-PARSE`` problem
naming its row. The datum is the layer's declared ``datum``, as for coordinate columns.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"id": ["a", "b"], "wkt": ["POINT (121.5 29.9)", "POLYGON ((0 0, 1 0, 1 1, 0 0))"]})
>>> geometry_column(df, None)
'wkt'
>>> geoms, problems = parse(df["wkt"], df["id"].to_numpy(), file="p.csv", layer=None)
>>> [g.geom_type for g in geoms], problems
(['Point', 'Polygon'], [])
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely

from ..errors import InputError, Problem
from .sources import location

__all__ = ["GEOMETRY_NAMES", "geometry_column", "parse"]

#: Column names read as a geometry column when the manifest names none (compared without case).
GEOMETRY_NAMES = frozenset({"wkt", "wkb", "geometry", "geom", "the_geom", "shape", "几何", "图形", "空间信息",
                            "几何信息"})
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


def geometry_column(df: pd.DataFrame, declared: str | None, *, file: str = "", layer: str | None = None
                    ) -> str | None:
    """The column holding WKT or hex WKB: the declared one (which must exist), else one named so, else None."""
    names = [str(c) for c in df.columns]
    if declared is not None:
        if declared not in names:
            msg = f"{location(file, layer)}: no column {declared!r} (geometry_column); columns: {', '.join(names)}"
            raise InputError(msg, code="E-COLUMN-MISSING")
        return declared
    return next((c for c in names if c.strip().lower() in GEOMETRY_NAMES), None)


def parse(values: pd.Series, ids: np.ndarray, *, file: str, layer: str | None, column: str = "wkt"
          ) -> tuple[np.ndarray, list[Problem]]:
    """The geometry of every cell (None where empty) and a problem for each cell that is not a geometry."""
    text = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    present = (text.notna() & (text.astype(str) != "")).to_numpy()
    cells = text.where(present, None).to_numpy(dtype=object)
    hexed = np.array([isinstance(v, str) and bool(_HEX.match(v)) for v in cells])
    geoms = np.full(len(cells), None, dtype=object)
    words = present & ~hexed
    if words.any():
        geoms[words] = shapely.from_wkt(cells[words].astype(str), on_invalid="ignore")
    if hexed.any():
        geoms[hexed] = shapely.from_wkb(cells[hexed].astype(str), on_invalid="ignore")
    bad = np.flatnonzero(present & pd.isna(geoms))
    problems = [Problem("E-GEOM-PARSE", f"{str(cells[row])[:60]!r} is not a WKT or hex WKB geometry", file=file,
                        layer=layer, feature=ids[row], column=column,
                        hint="write well-known text such as POLYGON ((121.5 29.9, ...)), or hex WKB")
                for row in bad[:20]]
    if len(bad) > 20:
        problems.append(Problem("E-GEOM-PARSE", f"{len(bad) - 20} more cells are not geometries", file=file,
                                layer=layer, column=column))
    return geoms, problems
