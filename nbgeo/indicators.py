"""The plan's non-spatial targets: a small yearly table beside the layers.

A plan states more than spatial targets: an R&D share of 2.8 %, 8,000
high-tech firms, 100 single-champion firms, 1,000 green factories. Their
yearly values live in a CSV file beside the layers, declared in the
dataset's manifest::

    [tables.indicators]
    file = "indicators.csv"
    source = "Ningbo statistical yearbook, table 12-3"
    licence = "..."
    illustrative = false
    note = "..."
    encoding = "utf-8"       # optional; e.g. "gbk" for a file saved by Excel in China

The table has a ``year`` column and one column per indicator (the
``column`` of an ``[[indicators]]`` table of the plan, by default its
``id``); an empty cell is a missing value::

    year,rd_share,high_tech_firms
    2020,2.21,3100
    2021,2.33,

:func:`evaluate_indicators` gives one verdict per indicator (and per year for
``each_year`` indicators) in the format of the audit's target results, so the
report lists them after the spatial targets.

Examples
--------
>>> from nbgeo import datasets, indicators, io, plan
>>> p = plan.read_plan(datasets.get_path("ningbo_2025"))
>>> table = indicators.table_for(io.read_sample())
>>> table.illustrative, table.years[0], table.years[-1]
(True, 2020, 2025)
>>> rows = indicators.evaluate_indicators(p, table, year=2025)
>>> [(r["id"], r["status"]) for r in rows][:2]
[('rd_share', 'met'), ('high_tech_firms', 'met')]
"""

from __future__ import annotations

import csv
import io as _io
import logging
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import DataError, InputError, LimitError

if TYPE_CHECKING:

    from .layers import Dataset
    from .plan import IndicatorSpec, Plan

__all__ = [
    "MAX_TABLE_BYTES",
    "IndicatorTable",
    "evaluate_indicators",
    "indicator_history",
    "read_table",
    "table_for",
    "tables_info",
]

log = logging.getLogger(__name__)

#: A yearly indicator table is a few hundred bytes; anything over this is refused.
MAX_TABLE_BYTES = 1_000_000

_MANIFEST_KEYS = {"file", "source", "licence", "illustrative", "note", "encoding"}


@dataclass(frozen=True)
class IndicatorTable:
    """Yearly values of the plan's indicators, with their provenance.

    Attributes
    ----------
    values
        One row per year (the index, ``int``), one ``float`` column per
        indicator; missing values are NaN.
    file, source, licence, illustrative, note
        Provenance, as the manifest declares it.
    """

    values: pd.DataFrame
    file: str | None = None
    source: str = "unknown"
    licence: str = "unknown"
    illustrative: bool = False
    note: str = ""

    @property
    def years(self) -> list[int]:
        """The years of the table, in order."""
        return [int(y) for y in self.values.index]

    def value(self, column: str, year: int) -> float | None:
        """The value of ``column`` in ``year``, or None when missing.

        Examples
        --------
        >>> t = IndicatorTable(pd.DataFrame({"firms": [10.0, float("nan")]}, index=[2020, 2021]))
        >>> t.value("firms", 2020), t.value("firms", 2021), t.value("firms", 2030)
        (10.0, None, None)
        """
        if column not in self.values.columns or year not in self.values.index:
            return None
        v = float(self.values.at[year, column])
        return v if math.isfinite(v) else None

    def info(self) -> dict[str, Any]:
        """Provenance as JSON-ready data (the ``dataset.tables`` part of ``audit.json``)."""
        return {"file": self.file, "source": self.source, "licence": self.licence,
                "illustrative": self.illustrative, "note": self.note, "years": self.years,
                "columns": [str(c) for c in self.values.columns]}


def _parse(text: str, *, file: str) -> pd.DataFrame:
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
    values = _parse(text, file=p.name)
    return IndicatorTable(values=values, file=p.name, source=source, licence=licence, illustrative=illustrative,
                          note=note)


def _manifest_entry(dataset_path: Path) -> tuple[Path, dict[str, Any]] | None:
    manifest = dataset_path / "dataset.toml" if dataset_path.is_dir() else dataset_path
    if not manifest.is_file():
        return None
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{manifest}: not a valid TOML manifest: {exc}"
        raise InputError(msg, code="E-MANIFEST-SYNTAX") from None
    entry = data.get("tables", {}).get("indicators")
    if entry is None:
        return None
    if not isinstance(entry, dict):
        msg = f"{manifest}: [tables.indicators] must be a table with at least file = \"...\""
        raise InputError(msg, code="E-MANIFEST-KEY")
    return manifest, entry


def table_for(dataset: Dataset | str | Path) -> IndicatorTable | None:
    """The indicator table a dataset's manifest declares (``[tables.indicators]``), or None.

    Parameters
    ----------
    dataset
        A dataset read from disk (its ``path`` locates the manifest), or the
        dataset folder or manifest itself. In-memory datasets have no table.

    Returns
    -------
    IndicatorTable or None
    """
    path = dataset if isinstance(dataset, (str, Path)) else dataset.path
    if path is None:
        return None
    found = _manifest_entry(Path(path))
    if found is None:
        return None
    manifest, entry = found
    unknown = set(entry) - _MANIFEST_KEYS
    if unknown:
        msg = (f"{manifest}: [tables.indicators]: unknown key(s) {', '.join(sorted(unknown))}; "
               f"known: {', '.join(sorted(_MANIFEST_KEYS))}")
        raise InputError(msg, code="E-MANIFEST-KEY")
    if "file" not in entry:
        msg = f"{manifest}: [tables.indicators]: missing key 'file'"
        raise InputError(msg, code="E-MANIFEST-KEY")
    illustrative = entry.get("illustrative", False)
    if not isinstance(illustrative, bool):
        msg = f"{manifest}: [tables.indicators]: illustrative must be true or false, got {illustrative!r}"
        raise InputError(msg, code="E-MANIFEST-KEY")
    folder = manifest.parent.resolve()
    file_path = (folder / str(entry["file"])).resolve()
    if folder not in file_path.parents:
        msg = f"{manifest}: [tables.indicators]: file {entry['file']!r} lies outside the dataset folder"
        raise InputError(msg, code="E-PATH-OUTSIDE")
    table = read_table(file_path, encoding=entry.get("encoding"), source=str(entry.get("source", "unknown")),
                       licence=str(entry.get("licence", "unknown")), illustrative=illustrative,
                       note=str(entry.get("note", "")))
    log.info("Read indicator table %s: %d years, %d columns", entry["file"], len(table.values),
             len(table.values.columns))
    return table


def tables_info(dataset: Dataset) -> dict[str, Any]:
    """Provenance of the dataset's tables, for ``audit.json`` (empty when it has none).

    Examples
    --------
    >>> from nbgeo import io
    >>> tables_info(io.read_sample())["indicators"]["illustrative"]
    True
    """
    table = table_for(dataset)
    return {} if table is None else {"indicators": table.info()}


def indicator_history(spec: IndicatorSpec, table: IndicatorTable | None, years: list[int] | range
                      ) -> dict[int, tuple[float | None, str]]:
    """The indicator's value for each year, with the reason when it is missing.

    Examples
    --------
    >>> from nbgeo.plan import IndicatorSpec
    >>> t = IndicatorTable(pd.DataFrame({"firms": [10.0, 12.0]}, index=[2020, 2021]))
    >>> indicator_history(IndicatorSpec(id="firms", threshold=20), t, [2020, 2021, 2022])
    {2020: (10.0, ''), 2021: (12.0, ''), 2022: (None, 'the indicator table has no value for 2022')}
    """
    out: dict[int, tuple[float | None, str]] = {}
    for year in years:
        if table is None:
            out[year] = (None, "the dataset has no indicator table ([tables.indicators] in its manifest)")
        elif spec.column not in table.values.columns:
            out[year] = (None, f"the indicator table has no column {spec.column!r}")
        else:
            value = table.value(spec.column, year)
            out[year] = (value, "" if value is not None else f"the indicator table has no value for {year}")
    return out


def evaluate_indicators(plan: Plan, table: IndicatorTable | None, *, year: int) -> list[dict[str, Any]]:
    """One verdict per indicator (per year for ``each_year`` ones), as JSON-ready dicts.

    Each dict has the fields of a target result (``id``, ``year``, ``op``,
    ``threshold``, ``actual``, ``unit``, ``status`` — ``met``, ``not_met`` or
    ``unknown`` —, ``margin``, ``title``, ``phrase``, ``note``, ``proposed``)
    plus the table's ``source`` and whether it is ``illustrative``.

    Parameters
    ----------
    plan
        The plan, whose ``indicators`` are evaluated.
    table
        The yearly table, e.g. from :func:`table_for`; None gives ``unknown``.
    year
        The evaluation year.
    """
    rows: list[dict[str, Any]] = []
    for spec in plan.indicators:
        if spec.years == "each_year":
            years = [y for y in plan.years if y <= year] or [year]
        else:
            years = [year]
        for y, (value, note) in indicator_history(spec, table, years).items():
            if value is None:
                status, margin = "unknown", None
            else:
                status = "met" if spec.compare(value) else "not_met"
                margin = round(spec.margin(value), 6)
            rows.append({
                "id": spec.id, "kind": "indicator", "column": spec.column, "year": y, "op": spec.op,
                "threshold": spec.threshold, "actual": value, "unit": spec.unit, "status": status, "margin": margin,
                "title": spec.title, "phrase": spec.phrase, "note": note, "proposed": spec.proposed,
                "source": table.source if table is not None else "",
                "illustrative": table.illustrative if table is not None else False,
            })
    return rows

