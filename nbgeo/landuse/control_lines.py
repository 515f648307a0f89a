"""The three control lines of China's territorial spatial plans (三区三线的三条控制线), as constraint classes.

A planning office's constraints layer holds polygons of the ecological protection red line (生态保护红线),
permanent basic farmland (永久基本农田) and the urban development boundary (城镇开发边界). Each is a value
of the layer's ``kind`` column, known here by one code (what a plan's ``against_where`` and ``control_line``
name) and its Chinese name (what a bureau's data usually holds, and what a plan may write instead).

Each class carries the instrument a rule about it rests on and the severity of that rule: building on
the red line or on permanent basic farmland is prohibited (禁止); industrial sites outside the urban
development boundary are restricted (限制). The facts come from the instruments; a ``phrase`` is a word-for-word
quotation, and the English wording is nbgeo's.

* 《中华人民共和国土地管理法》(2019 年修正) 第三十五条: 永久基本农田经依法划定后，任何单位和个人不得擅自占用或者改变其用途.
* 中共中央办公厅 国务院办公厅《关于在国土空间规划中统筹划定落实三条控制线的指导意见》(2019): 生态保护红线内,
  除自然保护地核心保护区外的其他区域严格禁止开发性、生产性建设活动; 城镇开发边界外不进行城镇集中建设 (nbgeo's
  summary, not a quotation).

Examples
--------
>>> control_line("生态保护红线").code, control_line("basic_farmland").zh
('ecological_red_line', '永久基本农田')
>>> control_line("urban_development_boundary").severity
'限制'
>>> control_line("红线") is None
True
>>> sorted(NAMES)[:2]
['basic_farmland', 'ecological_red_line']
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CONTROL_LINES", "GUIDANCE_2019", "LAND_LAW", "NAMES", "ControlLine", "control_line"]

#: The instrument of the three control lines.
GUIDANCE_2019 = "中共中央办公厅 国务院办公厅《关于在国土空间规划中统筹划定落实三条控制线的指导意见》(2019)"
#: The Land Administration Law as amended in 2019 (in force 2020-01-01).
LAND_LAW = "《中华人民共和国土地管理法》(2019 年修正)"


@dataclass(frozen=True)
class ControlLine:
    """One control line: its code in a constraints layer, its names, and what a rule about it rests on.

    ``basis`` is a plan's ``basis`` table (``phrase``, ``instrument``, ``kind``, ``article``); ``severity``
    is 禁止 (prohibited) or 限制 (restricted).
    """

    code: str
    zh: str
    en: str
    severity: str
    basis: Mapping[str, str]


CONTROL_LINES: Mapping[str, ControlLine] = MappingProxyType({line.code: line for line in (
    ControlLine("ecological_red_line", "生态保护红线", "ecological protection red line", "禁止", MappingProxyType({
        "phrase": "其他区域严格禁止开发性、生产性建设活动", "instrument": GUIDANCE_2019, "kind": "regulation",
        "article": ""})),
    ControlLine("basic_farmland", "永久基本农田", "permanent basic farmland", "禁止", MappingProxyType({
        "phrase": "永久基本农田经依法划定后，任何单位和个人不得擅自占用或者改变其用途", "instrument": LAND_LAW,
        "kind": "law", "article": "第三十五条"})),
    ControlLine("urban_development_boundary", "城镇开发边界", "urban development boundary", "限制", MappingProxyType({
        "phrase": "", "instrument": GUIDANCE_2019, "kind": "regulation", "article": ""})),
)})

#: Every name a control line is known by (codes and Chinese names) → its code.
NAMES: Mapping[str, str] = MappingProxyType({
    **{code: code for code in CONTROL_LINES},
    **{line.zh: code for code, line in CONTROL_LINES.items()},
    "永久基本农田保护红线": "basic_farmland",
})


def control_line(name: object) -> ControlLine | None:
    """The control line a code or Chinese name stands for, or None."""
    code = NAMES.get(str(name).strip()) if isinstance(name, str) else None
    return CONTROL_LINES[code] if code else None
