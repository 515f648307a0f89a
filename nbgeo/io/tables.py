"""Yearly indicator tables (CSV) of a dataset: read strictly, written back exactly.

A plan states more than spatial targets (an R&D share, a number of
high-tech firms...). Their yearly values live in a CSV file beside the
layers, declared as ``[tables.NAME]`` in the manifest: a ``year`` column and
one column per indicator; an empty cell is a missing value::

    year,rd_share,high_tech_firms
    2020,2.21,3100
    2021,2.33,

:func:`read_table` reads one, :func:`table_csv` writes one back as text that
reads back equal. :mod:`nbgeo.indicators` evaluates them.
"""

from __future__ import annotations

import csv
import io as _io
import logging
from pathlib import Path

import pandas as pd

from ..errors import DataError, InputError, LimitError
from ..layers import IndicatorTable

__all__ = ["MAX_TABLE_BYTES", "parse_table", "read_table", "table_csv"]

log = logging.getLogger(__name__)

#: A yearly indicator table is a few hundred bytes; anything over this is refused.
MAX_TABLE_BYTES = 1_000_000


def parse_table(text: str, *, file: str) -> pd.DataFrame:
    """Parse the CSV text strictly: a unique integer ``year`` column and numeric cells."""
    try:
        raw = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True,
                          comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"indicator table {file!r} is not a readable CSV: {str(exc).strip()}"
        raise DataError(msg, code="E-TABLE-PARSE") from None
    header = next(csv.reader(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")))
    names = [name.strip() for name in header]
    duplicated = [c for c in names if names.count(c) > 1]
    if duplicated:
        msg = f"indicator table {file!r}: column {duplicated[0]!r} appears twice"
        raise DataError(msg, code="E-TABLE-COLUMN")
    raw.columns = [str(c).strip() for c in raw.columns]
    if "year" not in raw.columns:
        msg = (f"indicator table {file!r} has no 'year' column; columns: {', '.join(raw.columns) or '(none)'} "
               "(hint: the first column should be year, then one column per indicator)")
        raise DataError(msg, code="E-TABLE-YEAR")
    years = pd.to_numeric(raw["year"].str.strip(), errors="coerce")
    bad = years.isna() | (years % 1 != 0)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        msg = (f"indicator table {file!r}, line {row + 2}, column 'year': {raw['year'].iloc[row]!r} is not a year")
        raise DataError(msg, code="E-TABLE-YEAR")
    years = years.astype(int)
    if years.duplicated().any():
        year = int(years[years.duplicated()].iloc[0])
        msg = f"indicator table {file!r}: year {year} appears on more than one line"
        raise DataError(msg, code="E-TABLE-YEAR")
    out = {}
    for column in raw.columns:
        if column == "year":
            continue
        cells = raw[column].str.strip().str.replace(",", "", regex=False)
        numbers = pd.to_numeric(cells.where(cells != "", None), errors="coerce")
        bad = numbers.isna() & (cells != "")
        if bad.any():
            row = int(bad.to_numpy().argmax())
            msg = (f"indicator table {file!r}, line {row + 2}, column {column!r}: {raw[column].iloc[row]!r} is not "
                   "a number (hint: write plain numbers such as 2.8 or 8000; leave the cell empty when unknown)")
            raise DataError(msg, code="E-TABLE-VALUE")
        out[column] = numbers.astype(float).to_numpy()
    frame = pd.DataFrame(out, index=pd.Index(years.to_numpy(), name="year"))
    return frame.sort_index()


def read_table(path: str | Path, *, encoding: str | None = None, source: str = "unknown", licence: str = "unknown",
               illustrative: bool = False, note: str = "") -> IndicatorTable:
    """Read a yearly indicator table (CSV).

    Parameters
    ----------
    path
        A local ``.csv`` file.
    encoding
        Its text encoding; default UTF-8 (a byte-order mark is accepted).
    source, licence, illustrative, note
        Provenance to attach.

    Returns
    -------
    IndicatorTable

    Raises
    ------
    InputError
        The file is missing, not a ``.csv``, too large or not in the encoding.
    DataError
        A year or a value is not a number, or a year appears twice; the message
        names the line and column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "ind.csv"
    >>> _ = f.write_text("year,firms\\n2020,10\\n2021,abc\\n", encoding="utf-8")
    >>> read_table(f)
    Traceback (most recent call last):
    ...
    nbgeo.errors.DataError: indicator table 'ind.csv', line 3, column 'firms': 'abc' is not a number (hint: write plain numbers such as 2.8 or 8000; leave the cell empty when unknown)
    """
    p = Path(path)
    if p.suffix.lower() != ".csv":
        msg = f"indicator table {str(p)!r}: only .csv files are read, got {p.suffix or '(no suffix)'!r}"
        raise InputError(msg, code="E-FORMAT-FORBIDDEN")
    if not p.is_file():
        msg = f"indicator table {str(p)!r} does not exist"
        raise InputError(msg, code="E-FILE-MISSING")
    size = p.stat().st_size
    if size > MAX_TABLE_BYTES:
        msg = f"indicator table {str(p)!r} is {size:,} bytes; a yearly table should be far below {MAX_TABLE_BYTES:,}"
        raise LimitError(msg, code="E-LIMIT-TABLE")
    data = p.read_bytes()
    try:
        text = data.decode(encoding or "utf-8-sig")
    except (UnicodeDecodeError, LookupError) as exc:
        where = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        msg = (f"indicator table {str(p)!r} is not valid {encoding or 'UTF-8'} text{where} "
               "(hint: set encoding = \"gbk\" in its [tables.indicators] entry if Excel saved it)")
        raise InputError(msg, code="E-ENC-INVALID") from None
    values = parse_table(text, file=p.name)
    return IndicatorTable(values=values, file=p.name, source=source, licence=licence, illustrative=illustrative,
                          note=note)


def table_csv(table: IndicatorTable) -> str:
    """The table as CSV text (``year`` first, full float precision, empty cells for missing values).

    Examples
    --------
    >>> t = IndicatorTable(pd.DataFrame({"firms": [10.0, float("nan")], "share": [0.1, 2.5]},
    ...                                 index=pd.Index([2020, 2021], name="year")))
    >>> print(table_csv(t), end="")
    year,firms,share
    2020,10.0,0.1
    2021,,2.5
    >>> parse_table(table_csv(t), file="t.csv").equals(t.values)
    True
    """
    out = _io.StringIO()
    frame = table.values.copy()
    frame.index = pd.Index([int(y) for y in frame.index], name="year")
    frame.to_csv(out, index=True, index_label="year", float_format=lambda v: repr(float(v)), lineterminator="\n")
    return out.getvalue()
