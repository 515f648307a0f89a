"""Units of measure a bureau's tables are written in, and the exact factors between them.

nbgeo's columns each hold one unit (:attr:`nbgeo.layers.Column.unit`: a micro-park's ``area`` in m², a land
transfer's ``area`` in hectares, a project's ``investment`` and a zone's ``output_{year}`` in 亿元). A bureau's
export gives 用地面积 in 亩, 公顷 or 平方米, 总投资 in 万元 or 元, lengths in 米 or 公里; ``units = { area = "亩" }``
in a layer's ``dataset.toml`` table says which, and :mod:`nbgeo.fieldmap` converts on read.

Every unit here has one dimension (area, money, length), a factor to the dimension's base unit (m², 元, m) held
exactly as a fraction, and the source of that factor:

* 亩 (市亩): 1 市尺 = 1/3 m and 1 亩 = 60 平方丈 = 6,000 平方市尺 = 10000/15 m², exactly, by the 市制 units of
  国务院《关于统一我国计量制度的命令》 (1959);
* 公顷 (hm², ha) = 10⁴ m² and 平方公里 (km²) = 10⁶ m² = 100 公顷: GB 3100-1993 (公顷 among the legal units used
  with the SI; 公里 the common name of 千米) and the SI Brochure (BIPM, 9th ed., 2019, table 8: the hectare);
* 万元 = 10⁴ 元 and 亿元 = 10⁸ 元: the Chinese numerals 万 (10⁴) and 亿 (10⁸), as statistical yearbooks use them;
* 公里 (千米, km) = 1,000 m: the SI prefix kilo (GB 3100-1993).

A unit is named in Chinese or English, by name or symbol (亩, mu, 公顷, ha, hm², 平方米, m², ㎡, 平方公里, km²,
元, 万元, 亿元, 米, m, 公里, km ...); case and spaces do not matter.

Examples
--------
>>> unit("亩").dimension, unit("MU") is unit("市亩"), unit("hm2").symbol
('area', True, 'ha')
>>> factor("亩", "m²")
Fraction(2000, 3)
>>> float(factor("万元", "亿元")), float(factor("平方公里", "公顷")), float(factor("公里", "米"))
(0.0001, 100.0, 1000.0)
>>> unit("acre") is None
True
>>> suggest("亩亩", "area")
'亩'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

__all__ = ["DIMENSIONS", "UNITS", "Unit", "convert_text", "factor", "known", "suggest", "unit"]


@dataclass(frozen=True)
class Unit:
    """One unit of measure.

    Attributes
    ----------
    symbol
        The symbol nbgeo writes it with (``"m²"``, ``"亩"``, ``"ha"``, ``"亿元"`` ...).
    name_zh
        Its Chinese name (平方米, 亩, 公顷 ...).
    name_en
        Its English name.
    dimension
        ``"area"``, ``"money"`` or ``"length"``.
    factor
        How many of the dimension's base unit (m², 元, m) one of it is, exactly.
    source
        Where the factor comes from.
    aliases
        The other names and symbols it is known by.
    """

    symbol: str
    name_zh: str
    name_en: str
    dimension: str
    factor: Fraction
    source: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name it is known by: symbol, Chinese and English names, aliases."""
        return tuple(dict.fromkeys((self.symbol, self.name_zh, self.name_en, *self.aliases)))

    def shown(self) -> str:
        """The unit for a list of choices: ``"亩 (mu, 市亩)"``."""
        others = [n for n in self.names if n != self.name_zh]
        return f"{self.name_zh} ({', '.join(others[:4])})"


_SHIZHI = "市制: 1 市尺 = 1/3 m, 1 亩 = 60 平方丈 = 10000/15 m² (国务院《关于统一我国计量制度的命令》, 1959)"
_HECTARE = "GB 3100-1993 (公顷, hm², a legal unit used with the SI); SI Brochure, 9th ed. (BIPM, 2019), table 8"
_SI = "SI prefix kilo = 10³ (GB 3100-1993; 公里 is the common name of 千米)"
_NUMERALS = "the Chinese numerals 万 = 10⁴ and 亿 = 10⁸"

#: Every unit nbgeo converts, by its symbol.
UNITS: MappingProxyType[str, Unit] = MappingProxyType({u.symbol: u for u in (
    Unit("m²", "平方米", "square metre", "area", Fraction(1), "the SI unit of area",
         ("m2", "m^2", "㎡", "sq m", "square meter", "平米")),
    Unit("亩", "亩", "mu", "area", Fraction(10000, 15), _SHIZHI, ("市亩", "畝")),
    Unit("ha", "公顷", "hectare", "area", Fraction(10**4), _HECTARE, ("hm²", "hm2", "hectares")),
    Unit("km²", "平方公里", "square kilometre", "area", Fraction(10**6), _SI,
         ("km2", "km^2", "㎢", "平方千米", "square kilometer")),
    Unit("元", "元", "yuan", "money", Fraction(1), "the unit of the renminbi", ("CNY", "RMB")),
    Unit("万元", "万元", "10,000 yuan", "money", Fraction(10**4), _NUMERALS, ("wan yuan", "10k yuan")),
    Unit("亿元", "亿元", "100 million yuan", "money", Fraction(10**8), _NUMERALS, ("yi yuan",)),
    Unit("m", "米", "metre", "length", Fraction(1), "the SI unit of length", ("meter", "metres", "meters")),
    Unit("km", "公里", "kilometre", "length", Fraction(1000), _SI, ("千米", "kilometer", "kilometres")),
)})

#: The dimensions, each with its base unit (factor 1).
DIMENSIONS: MappingProxyType[str, str] = MappingProxyType({"area": "m²", "money": "元", "length": "m"})


def _key(name: str) -> str:
    return "".join(name.split()).lower()


_BY_NAME: dict[str, Unit] = {_key(n): u for u in UNITS.values() for n in u.names}


def unit(name: str) -> Unit | None:
    """The unit called ``name`` (any of its names, case and spaces ignored), or None.

    Examples
    --------
    >>> unit(" Ha ").name_zh, unit("平方公里").symbol, unit("furlong")
    ('公顷', 'km²', None)
    """
    return _BY_NAME.get(_key(name)) if isinstance(name, str) else None


def known(dimension: str | None = None) -> str:
    """The units of ``dimension`` (or all), for a message: ``"平方米 (m², square metre, m2, m^2), 亩 (...)"``.

    Examples
    --------
    >>> known("money")
    '元 (yuan, CNY, RMB), 万元 (10,000 yuan, wan yuan, 10k yuan), 亿元 (100 million yuan, yi yuan)'
    """
    return ", ".join(u.shown() for u in UNITS.values() if dimension in (None, u.dimension))


def suggest(name: str, dimension: str | None = None) -> str | None:
    """The closest name of a unit (of ``dimension``, or any) to ``name``, or None."""
    names = [n for u in UNITS.values() if dimension in (None, u.dimension) for n in u.names]
    close = difflib.get_close_matches(_key(name), [_key(n) for n in names], n=1, cutoff=0.5)
    return next((n for n in names if _key(n) == close[0]), None) if close else None


def factor(source: str, target: str) -> Fraction:
    """The exact factor from ``source`` to ``target`` (a value in ``source`` times it is the value in ``target``).

    Raises
    ------
    ValueError
        When either is not a unit, or they measure different things.

    Examples
    --------
    >>> factor("公顷", "亩"), factor("元", "亿元")
    (Fraction(15, 1), Fraction(1, 100000000))
    >>> factor("亩", "亿元")
    Traceback (most recent call last):
    ...
    ValueError: '亩' is a unit of area and '亿元' of money: no factor converts one to the other
    """
    a, b = unit(source), unit(target)
    if a is None or b is None:
        msg = f"not a unit: {source if a is None else target!r}; known: {known()}"
        raise ValueError(msg)
    if a.dimension != b.dimension:
        msg = f"{source!r} is a unit of {a.dimension} and {target!r} of {b.dimension}: no factor converts one to the other"
        raise ValueError(msg)
    return a.factor / b.factor


def convert_text(source: str, target: str) -> str:
    """How a conversion reads in a mapping's description: ``"亩 → m²"``.

    Examples
    --------
    >>> convert_text("mu", "m²"), convert_text("万元", "亿元")
    ('亩 → m²', '万元 → 亿元')
    """
    a, b = unit(source), unit(target)
    return f"{a.symbol if a else source} → {b.symbol if b else target}"
