"""Years and numbers in the forms a bureau's tables write them, read as plain numbers.

A planning bureau's 出让年份 or 建成年份 arrives as ``2021``, ``2021.0``, ``"2021年"``, ``"2021-06-30"``,
``"2021/6/30"``, ``"2021.06"``, or as a date cell of a spreadsheet or a GeoPackage; its numbers as
``"1,234.5"`` (a thousands separator) or in full-width digits (``"１２３"``, as a Chinese input method types
them). :func:`read_years` and :func:`read_numbers` read these, vectorised (pandas string operations and
:func:`pandas.to_datetime` on explicit year, month and day columns; no loop per value), for every year and number
column of a layer's schema as it is read (:func:`nbgeo.fieldmap.apply`).

What cannot be read is left as it was, so that validation names it with its feature
(:func:`nbgeo.validate.verify_layer`: ``E-VALUE-TYPE``, with :data:`YEAR_FORMS` as the hint). A date is
read only when it is a real one (``"2021-02-30"`` is not), and a number only when its separators group
thousands (``"1,23"`` is not a number: is it 1.23 or 123?).

Examples
--------
>>> import pandas as pd, datetime
>>> read_years(pd.Series(["2021年", "2022-06-30", "2023/6/30", "2024.06", 2025.0, datetime.date(2020, 1, 2)])).tolist()
[2021, 2022, 2023, 2024, 2025, 2020]
>>> read_years(pd.Series(["2021年", "soon", None])).tolist()
[2021, 'soon', None]
>>> read_numbers(pd.Series(["1,234.5", "１２３", " 7 ", None])).tolist()
[1234.5, 123.0, 7.0, nan]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["YEAR_FORMS", "read_numbers", "read_years"]

#: The forms a year is read from, for hints.
YEAR_FORMS = ("2021, 2021.0, 2021年, 2021年6月, 2021年6月30日, 2021-06-30, 2021/6/30, 2021.06, 2021-06, "
              "a date or date-time cell")

# Full-width digits, point, comma, signs and space (U+FF10...) as their ASCII forms.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋　", "0123456789.,-+ ")

# Every form starts with the four-digit year: a year alone (2021, 2021.0, 2021年, 2021年度), or a date (the year and
# month, perhaps the day and a time) whose month and day must make a real date.
_PLAIN = r"\d{4}(?:\.0+)?|\d{4}\s*年度?"
_DATED = (r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?"  # 2021年6月, 2021年6月30日
          r"|\d{4}([-/.])\d{1,2}(?:\1\d{1,2})?"  # 2021-06-30, 2021/6/30, 2021.06: one separator throughout
          r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")  # and a time
_GROUPED = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"


def _text(values: pd.Series) -> pd.Series:
    """The values as stripped ASCII text (full-width digits made plain)."""
    return values.astype(object).astype(str).str.translate(_FULL_WIDTH).str.strip()


def _result(values: pd.Series, read: pd.Series, blank: pd.Series, *, whole: bool) -> pd.Series:
    """``values`` with ``read`` (numbers) where it is set, missing where ``blank``; the rest as it was.

    All read: a float column, or ``int64`` when ``whole`` and no value is missing. Else an object column
    mixing the numbers read (Python ints when whole) with the values that could not be, so that validation
    names each of those.
    """
    unread = values.notna() & read.isna() & ~blank
    if not unread.any():
        out = read.astype(float)
        if whole and out.notna().all() and bool((out % 1 == 0).all()):
            return out.astype("int64")
        return out
    exact = whole and bool((read.dropna() % 1 == 0).all())
    numbers = (read.astype("Int64") if exact else read).astype(object).where(read.notna(), None)
    return numbers.where(~unread, values.astype(object))


def _once_per_value(read: Callable[[pd.Series], pd.Series], values: pd.Series) -> pd.Series | None:
    """``read(values)``, worked out once per distinct value; None when most values differ (no gain) or none is set.

    A year column of a million rows holds a few dozen distinct texts ("2021年", "2021/6/30"): the string
    operations run on those and the answers are spread back by position. Missing values stay missing.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if not len(uniques) or len(uniques) * 4 > len(values):
        return None  # nothing to share (and an empty ``uniques`` would come straight back here)
    once = read(pd.Series(uniques, dtype=object))
    missing = codes < 0
    if not missing.any():
        return pd.Series(once.to_numpy()[codes], index=values.index, dtype=once.dtype)
    taken = np.where(missing, 0, codes)
    if once.dtype == object:
        spread = once.to_numpy()[taken].copy()
        spread[missing] = None
        return pd.Series(spread, index=values.index, dtype=object)
    spread = once.to_numpy(dtype=float)[taken]
    spread[missing] = np.nan
    return pd.Series(spread, index=values.index)


def read_years(values: pd.Series) -> pd.Series:
    """The year of each value, from the forms :data:`YEAR_FORMS` lists; what is not one of them stays as it was.

    Numbers are years as they are (2021, 2021.0); a number with a fraction is read as ``YYYY.MM`` (2021.06,
    as a spreadsheet turns the text "2021.06" into a number) when the fraction is a month, and left as it is
    otherwise (2021.75). Dates and date-times give their year (a time zone does not move it). Blank text is
    a missing year.

    Examples
    --------
    >>> import pandas as pd
    >>> read_years(pd.Series([2021, 2022])).dtype
    dtype('int64')
    >>> read_years(pd.Series(["２０２１年６月", "2021-02-30", "2021.13", 2021.75, "   "])).tolist()
    [2021, '2021-02-30', '2021.13', 2021.75, None]
    >>> read_years(pd.to_datetime(pd.Series(["2021-06-30", None]))).tolist()
    [2021.0, nan]
    """
    if pd.api.types.is_bool_dtype(values):
        return values
    if pd.api.types.is_numeric_dtype(values) and not bool((values.astype(float) % 1 != 0).any()):
        return values  # plain years, as most files give them
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
        once = _once_per_value(read_years, values)
        if once is not None:
            return once
    index = values.index
    values = values.reset_index(drop=True)  # positions, whatever the index holds
    none = pd.Series(False, index=values.index)
    if pd.api.types.is_datetime64_any_dtype(values):
        return _result(values, values.dt.year.astype(float), none, whole=True).set_axis(index)
    if pd.api.types.is_numeric_dtype(values):
        number = values.astype(float)
        fractional = number.notna() & (number % 1 != 0)
        years = _text_years(number[fractional].astype(str))
        read = number.where(~fractional, years)
        return _result(values, read, none, whole=True).set_axis(index)
    read = pd.Series(np.nan, index=values.index, dtype=float)
    blank = none.copy()
    present = values.notna()
    if present.any():
        text = _text(values[present])
        read[present] = _text_years(text)
        blank[present] = text.eq("")
    return _result(values, read, blank, whole=True).set_axis(index)


def _text_years(text: pd.Series) -> pd.Series:
    """The year of each text in one of the forms, NaN for a blank or any other text."""
    year = pd.to_numeric(text.str.slice(0, 4), errors="coerce").where(text.str.fullmatch(_PLAIN).fillna(False))
    dated = year.isna() & text.str.fullmatch(_DATED).fillna(False).astype(bool)
    if dated.any():  # as year-month(-day), read by pandas with explicit formats: 2021-02-30 is no date
        iso = (text[dated].str.replace(r"(?<=\d)[ T]\d{1,2}:.*$", "", regex=True).str.replace(r"\s+", "", regex=True)
               .str.replace(r"[年月/.]", "-", regex=True).str.replace(r"[-日号]+$", "", regex=True))
        day = iso.str.count("-") == 2
        dates = pd.concat([pd.to_datetime(iso[day], format="%Y-%m-%d", errors="coerce"),
                           pd.to_datetime(iso[~day], format="%Y-%m", errors="coerce")])
        year[dates.index] = dates.dt.year
    return year


def read_numbers(values: pd.Series, *, whole: bool = False) -> pd.Series:
    """Numbers written as text with thousands separators or full-width digits, read; the rest stays as it was.

    A column of numbers is returned as it is. In text, ``","`` (or ``"，"``) counts only where it groups
    digits by thousands (``"1,234,567.5"``); blank text is a missing value. With ``whole`` (a count), a
    column read whole is ``int64`` when none is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> read_numbers(pd.Series(["12", "３４"]), whole=True).tolist(), read_numbers(pd.Series([1.5])).dtype
    ([12, 34], dtype('float64'))
    >>> read_numbers(pd.Series(["1,23", "十亿", "-1,000", ""])).tolist()
    ['1,23', '十亿', -1000.0, None]
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    once = _once_per_value(lambda v: read_numbers(v, whole=whole), values)
    if once is not None:
        return once
    index = values.index
    values = values.reset_index(drop=True)
    read = pd.Series(np.nan, index=values.index, dtype=float)
    blank = pd.Series(False, index=values.index)
    present = values.notna()
    if present.any():
        text = _text(values[present])
        grouped = text.str.fullmatch(_GROUPED).fillna(False).astype(bool)
        text = text.where(~grouped, text.str.replace(",", "", regex=False))
        blank[present] = text.eq("")
        read[present] = pd.to_numeric(text.where(~blank[present]), errors="coerce")
    return _result(values, read, blank, whole=whole).set_axis(index)
