"""GB/T 21010-2017 土地利用现状分类: codes and names, and the use nbgeo reads from each.

Source: GB/T 21010-2017《土地利用现状分类》 (国家质量监督检验检疫总局、国家标准化管理委员会, 2017-11-01),
table 1: 12 一级类 and 73 二级类. The codes and names below are facts from that table; the table as
Python data, and :data:`USES` (which of nbgeo's land uses each class counts as), are ours.

0807 文化设施用地 agrees with an independent code list in a public GitHub repository (found with the project's
code search), whose 0801-0808 and 0810 match this table; that list gives 0809 as 仓储用地, against 公用设施用地
here, which the 三调 working classification (DLBM 0809 公用设施用地) supports. The standard remains the authority.

Examples
--------
>>> CODES["0601"], CODES["0604"], len([c for c in CODES if len(c) == 4])
('工业用地', '仓储用地', 73)
"""

from __future__ import annotations

__all__ = ["CODES", "NAME", "SOURCE", "TITLE", "USES"]

#: The name a value mapping selects this table by: ``values.use = "gb_t_21010_2017"``.
NAME = "gb_t_21010_2017"
TITLE = "GB/T 21010-2017 土地利用现状分类"
SOURCE = ("GB/T 21010-2017《土地利用现状分类》, table 1 (一级类 and 二级类); codes and names quoted, the table "
          "and the use of each class are nbgeo's")

#: Every class: code -> name.
CODES: dict[str, str] = {
    "01": "耕地", "0101": "水田", "0102": "水浇地", "0103": "旱地",
    "02": "园地", "0201": "果园", "0202": "茶园", "0203": "橡胶园", "0204": "其他园地",
    "03": "林地", "0301": "乔木林地", "0302": "竹林地", "0303": "红树林地", "0304": "森林沼泽", "0305": "灌木林地",
    "0306": "灌丛沼泽", "0307": "其他林地",
    "04": "草地", "0401": "天然牧草地", "0402": "沼泽草地", "0403": "人工牧草地", "0404": "其他草地",
    "05": "商服用地", "0501": "零售商业用地", "0502": "批发市场用地", "0503": "餐饮用地", "0504": "旅馆用地",
    "0505": "商务金融用地", "0506": "娱乐用地", "0507": "其他商服用地",
    "06": "工矿仓储用地", "0601": "工业用地", "0602": "采矿用地", "0603": "盐田", "0604": "仓储用地",
    "07": "住宅用地", "0701": "城镇住宅用地", "0702": "农村宅基地",
    "08": "公共管理与公共服务用地", "0801": "机关团体用地", "0802": "新闻出版用地", "0803": "教育用地",
    "0804": "科研用地", "0805": "医疗卫生用地", "0806": "社会福利用地", "0807": "文化设施用地", "0808": "体育用地",
    "0809": "公用设施用地", "0810": "公园与绿地",
    "09": "特殊用地", "0901": "军事设施用地", "0902": "使领馆用地", "0903": "监教场所用地", "0904": "宗教用地",
    "0905": "殡葬用地", "0906": "风景名胜设施用地",
    "10": "交通运输用地", "1001": "铁路用地", "1002": "轨道交通用地", "1003": "公路用地", "1004": "城镇村道路用地",
    "1005": "交通服务场站用地", "1006": "农村道路", "1007": "机场用地", "1008": "港口码头用地",
    "1009": "管道运输用地",
    "11": "水域及水利设施用地", "1101": "河流水面", "1102": "湖泊水面", "1103": "水库水面", "1104": "坑塘水面",
    "1105": "沿海滩涂", "1106": "内陆滩涂", "1107": "沟渠", "1108": "沼泽地", "1109": "水工建筑用地",
    "1110": "冰川及永久积雪",
    "12": "其他土地", "1201": "空闲地", "1202": "设施农用地", "1203": "田坎", "1204": "盐碱地", "1205": "沙地",
    "1206": "裸土地", "1207": "裸岩石砾地",
}

#: nbgeo's land use (``land_transfers.use``) of each class, by the longest code prefix that matches; every
#: other class is ``other``. Note 1001 is 铁路用地 here, not 工业用地 as in the 2023 classification: a code
#: means something only with its table.
USES: dict[str, str] = {
    "0601": "industrial", "0604": "logistics", "05": "commercial", "07": "residential", "08": "public",
}
