"""Text from plans and data made harmless where it leaves nbgeo: the terminal and spreadsheets.

Two places interpret text that nbgeo passes through from a planner's files:

* **The terminal.** ANSI/OSC escape sequences in a feature name, a plan phrase or a layer
  name would be obeyed: a dataset could clear the screen, move the cursor, rewrite the
  title bar, or print a fake "all met" over the real table. :func:`terminal_text` removes
  escape sequences and control characters (C0 but newline and tab, DEL, C1) and the Unicode
  controls that reorder text (bidirectional overrides). The CLI applies it to everything it
  prints (its one ``echo``) and to every log line (:class:`TerminalFormatter`).
* **Spreadsheets.** A CSV cell beginning with ``= + - @``, a tab or a carriage return is a
  formula to Excel and LibreOffice (``=HYPERLINK(...)`` leaks data when clicked;
  ``=cmd|...`` ran commands in old versions). :func:`spreadsheet_cell` prefixes such text
  cells with ``'`` as OWASP's CSV-injection guidance describes; numbers, negative ones
  included, stay numbers. :func:`to_csv` is how nbgeo writes every CSV, :func:`to_xlsx` every
  Excel workbook.

(HTML has its own single escaping function, :func:`nbgeo.html.safe_text`.)

Examples
--------
>>> terminal_text("fake \\x1b[2J\\x1b[1;1Hall met\\x07")
'fake all met'
>>> spreadsheet_cell("=HYPERLINK(\\"http://x\\")"), spreadsheet_cell(-5), spreadsheet_cell("-5 m")
('\\'=HYPERLINK("http://x")', -5, "'-5 m")
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import openpyxl

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

__all__ = ["TerminalFormatter", "columns", "spreadsheet_cell", "spreadsheet_safe", "terminal_text", "to_csv", "to_xlsx"]

# Escape sequences (ECMA-48): CSI "ESC [" (or the 8-bit CSI 0x9B) then parameters and one final byte; OSC, DCS,
# SOS, PM and APC strings "ESC ] ... BEL or ST" (or their 8-bit forms), which carry titles, hyperlinks and
# clipboard writes; and two-byte "ESC x" sequences. Unterminated strings run to the end of the text.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
# Control characters left after that: C0 except tab and newline, DEL, C1; and the Unicode controls that reorder
# or hide text (bidirectional embeddings, overrides and isolates, which can make "not met" read as "met").
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")

#: Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def terminal_text(text: object) -> str:
    """``text`` without escape sequences or control characters, safe to print on a terminal.

    Newlines and tabs are kept; a carriage return is dropped (it would let a line overwrite itself).

    Examples
    --------
    >>> terminal_text("\\x1b]0;owned\\x07met\\r\\n2 \\u202enot\\u202c")
    'met\\n2 not'
    >>> terminal_text("ok\\tline\\nnext")
    'ok\\tline\\nnext'
    """
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))

def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def columns(rows: Sequence[Sequence[str]], *, last_free: bool = False) -> list[str]:
    """Rows of cells as lines of aligned columns for a terminal, wide (CJK) characters counted as two.

    ``last_free``: the last column (a note) is not padded and does not widen the table.

    Examples
    --------
    >>> columns([("目标", "状态"), ("道路", "达标"), ("5G", "met")])
    ['目标  状态', '道路  达标', '5G    met']
    """
    n = len(rows[0]) if rows else 0
    fixed = n - 1 if last_free else n
    widths = [max(_width(r[i]) for r in rows) for i in range(fixed)]
    out = []
    for r in rows:
        cells = [c + " " * (w - _width(c)) for c, w in zip(r[:fixed], widths, strict=True)]
        out.append("  ".join([*cells, *r[fixed:]]).rstrip())
    return out



class TerminalFormatter(logging.Formatter):
    """A logging formatter whose lines (message, arguments and traceback) pass through :func:`terminal_text`.

    Examples
    --------
    >>> record = logging.LogRecord("nbgeo", logging.INFO, __file__, 1, "read layer %r", ("\\x1b[31mred",), None)
    >>> TerminalFormatter("%(message)s").format(record)
    "read layer '\\\\x1b[31mred'"
    >>> record = logging.LogRecord("nbgeo", logging.INFO, __file__, 1, "read layer %s", ("\\x1b[31mred",), None)
    >>> TerminalFormatter("%(message)s").format(record)
    'read layer red'
    """

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102 - see the class
        return terminal_text(super().format(record))


def spreadsheet_cell(value: Any) -> Any:
    """A cell that a spreadsheet will show as written: text starting a formula gets a leading ``'``.

    Only text is changed: numbers (negative ones too), missing values and booleans pass as they are.

    Examples
    --------
    >>> [spreadsheet_cell(v) for v in ("@SUM(A1)", "+86 574", "\\tx", "MP00001", -2.5, None)]
    ["'@SUM(A1)", "'+86 574", "'\\tx", 'MP00001', -2.5, None]
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index labels are passed through :func:`spreadsheet_cell`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"feature_id": ["=1+1", "ok"], "margin": [-3.0, 2.0]}, index=["-a", "b"])
    >>> spreadsheet_safe(df).to_dict("list"), spreadsheet_safe(df).index.tolist()
    ({'feature_id': ["'=1+1", 'ok'], 'margin': [-3.0, 2.0]}, ["'-a", 'b'])
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) in ("string", "str", "category"):
            out[column] = out[column].astype(object).map(spreadsheet_cell)
    out.columns = [spreadsheet_cell(c) for c in out.columns]
    if out.index.dtype == object or str(out.index.dtype) in ("string", "str"):
        out.index = out.index.map(spreadsheet_cell).rename(spreadsheet_cell(out.index.name))
    elif isinstance(out.index.name, str):
        out.index = out.index.rename(spreadsheet_cell(out.index.name))
    return out


def to_csv(frame: pd.DataFrame, *, index: bool = True) -> str:
    """``frame`` as CSV text with formula-starting text cells neutralised (:func:`spreadsheet_safe`).

    Records end in CRLF, as RFC 4180 has them, so that a cell holding a lone carriage return is quoted
    (with ``\\n`` line ends pandas leaves it bare, and a spreadsheet starts a new row there).

    Examples
    --------
    >>> import pandas as pd
    >>> to_csv(pd.DataFrame({"id": ["=HYPERLINK(1)", "a\\rb"], "value": [-1, 2]}), index=False)
    'id,value\\r\\n\\'=HYPERLINK(1),-1\\r\\n"a\\rb",2\\r\\n'
    """
    return spreadsheet_safe(frame).to_csv(index=index, lineterminator="\r\n")


def to_xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An Excel workbook, one sheet per frame (its name the key), every text cell as :func:`to_csv` writes it.

    The columns are the header row; the index is not written.

    Examples
    --------
    >>> import pandas as pd
    >>> data = to_xlsx({"园区": pd.DataFrame({"id": ["=1+1"], "wkt": ["POINT (121.5 29.9)"]})})
    >>> book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    >>> book.sheetnames, [list(r) for r in book["园区"].iter_rows(values_only=True)]
    (['园区'], [['id', 'wkt'], ["'=1+1", 'POINT (121.5 29.9)']])
    """
    book = openpyxl.Workbook(write_only=True)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        safe = spreadsheet_safe(frame)
        sheet.append([str(c) for c in safe.columns])
        for row in safe.itertuples(index=False):
            sheet.append([v.item() if hasattr(v, "item") else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
