"""National land-use code tables, selectable by name in a dataset's value mapping.

A bureau's parcels carry a 地类编码 (or 地类名称) from a national classification, not nbgeo's land
uses. Each table here holds one classification's codes and names (facts from the standard, its
source cited) and which of nbgeo's uses (``industrial``, ``logistics``, ``commercial``,
``residential``, ``public``, ``other``) each class counts as, so that ``dataset.toml`` can say::

    [layers.land_transfers]
    file = "供地.shp"
    columns = { use = "DLBM", year = "GYNF" }
    values.use = "gb_land_use_2023"

Tables: :mod:`~nbgeo.landuse.gb_land_use_2023` (国土空间调查、规划、用途管制用地用海分类, 2023) and
:mod:`~nbgeo.landuse.gb_t_21010_2017` (GB/T 21010-2017 土地利用现状分类). The same code means different
things in the two (1001 is 工业用地 in one and 铁路用地 in the other), so a table is always named.

Examples
--------
>>> t = TABLES["gb_land_use_2023"]
>>> t.use_of("100102"), t.use_of("1101"), t.use_of("0101"), t.use_of("工业用地")
('industrial', 'logistics', 'other', 'industrial')
>>> TABLES["gb_t_21010_2017"].use_of("0601"), TABLES["gb_t_21010_2017"].use_of(601)
('industrial', 'industrial')
>>> TABLES["gb_t_21010_2017"].use_of("0608") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import gb_land_use_2023, gb_t_21010_2017

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["TABLES", "CodeTable", "code_text"]


def code_text(value: Any) -> str:
    """A code as text, as the tables write it: digits with their leading zero back (``601`` -> ``"0601"``).

    Codes have 2, 4 or 6 digits; a number column (a DBF ``N`` field, a spreadsheet) drops the leading zero
    of 01-09, which this restores. Anything else is returned stripped.

    Examples
    --------
    >>> code_text(601), code_text(601.0), code_text(" 100101 "), code_text("工业用地")
    ('0601', '0601', '100101', '工业用地')
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if re.fullmatch(r"\d{1,6}", text) and len(text) % 2:
        text = "0" + text
    return text


@dataclass(frozen=True)
class CodeTable:
    """One classification: its name, title, source, codes and the use of each class."""

    name: str
    title: str
    source: str
    codes: Mapping[str, str]
    uses: Mapping[str, str]
    names: Mapping[str, str] = field(default_factory=dict)  # class name -> its code (built on creation)

    def __post_init__(self) -> None:
        by_name: dict[str, str] = {}
        for code, name in self.codes.items():
            by_name.setdefault(name, code)  # a name given twice (never in these tables) keeps its first code
        object.__setattr__(self, "names", MappingProxyType(by_name))

    def use_of(self, value: Any) -> str | None:
        """The use a code or class name counts as, or None when the table has no such class."""
        text = code_text(value)
        code = text if text in self.codes else self.names.get(text)
        if code is None:
            return None
        for length in (6, 4, 2):
            use = self.uses.get(code[:length]) if len(code) >= length else None
            if use is not None:
                return use
        return "other"


#: The tables, by the name a value mapping gives.
TABLES: Mapping[str, CodeTable] = MappingProxyType({
    module.NAME: CodeTable(module.NAME, module.TITLE, module.SOURCE, MappingProxyType(module.CODES),
                           MappingProxyType(module.USES))
    for module in (gb_land_use_2023, gb_t_21010_2017)
})
