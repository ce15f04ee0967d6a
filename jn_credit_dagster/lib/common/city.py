"""The city's reference data, stated once: the responsible units (FEEDS.md), the county-level areas
and zones, the districts the indicators break down by, the two monitored by the nation on their own,
and the time zone every month, deadline and schedule is counted in."""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo

CODE = "370800"  # 济宁市
TIMEZONE_NAME = "Asia/Shanghai"  # the year, the month and the 25th turn at Beijing midnight
TIMEZONE = ZoneInfo(TIMEZONE_NAME)

UNITS = {
    "fgw": "市发展改革委（市信用办）", "tax": "市税务局", "court": "市中级人民法院", "customs": "济宁海关",
    "amr": "市市场监督管理局", "emergency": "市应急管理局", "approval": "市行政审批服务局",
    "stats": "市统计局", "bigdata": "市大数据中心", "police": "市公安局", "water": "济宁中水务（供水）",
    "energy": "市能源局", "power": "国网济宁供电公司", "civil": "市民政局", "gas": "济宁华润燃气",
    "hrss": "市人力资源社会保障局", "commerce": "市商务局", "justice": "市司法局",
    "transport": "市交通运输局", "mof": "市财政局", "cbirc": "市银保监分局",
    "ggzy": "市公共资源交易服务中心", "pboc": "人民银行济宁市中心支行", "culture": "市文化和旅游局",
    "finance": "市地方金融监管局", "health": "市卫生健康委", "miit": "市工业和信息化局",
    "civilization": "市文明办",
    # county-level areas (GB/T 2260) and the zones, which deliver like units
    "370811": "任城区", "370812": "兖州区", "370826": "微山县", "370827": "鱼台县",
    "370828": "金乡县", "370829": "嘉祥县", "370830": "汶上县", "370831": "泗水县",
    "370832": "梁山县", "370881": "曲阜市", "370883": "邹城市",
    "gxq": "济宁高新区", "tbh": "太白湖新区", "jjkfq": "济宁经济技术开发区",
}

# The zones deliver like units but are no district of their own (FEEDS.md "区县").
ZONES = frozenset({"gxq", "tbh", "jjkfq"})
CITY_LEVEL = (CODE, "市本级")
HIGH_TECH_ZONE = ("370871", "济宁高新区")  # its statistics code
# Monitored by the nation on their own: a page each in the bulletin, in this order.
MONITORED = ("370883", "370881")  # 邹城市, 曲阜市


def unit_name(unit: str) -> str:
    return UNITS.get(unit, unit)


def unit_kind(unit: str) -> str:
    if unit.isdigit():  # county-level areas are named by their GB/T 2260 code
        return "county"
    return "zone" if unit in ZONES else "department"


def unit_rows() -> list[tuple[str, str, str, str | None]]:
    """(code, name, kind, district) for every unit: the rows of wh.units."""
    return [(u, name, unit_kind(u), u if unit_kind(u) == "county" else None) for u, name in UNITS.items()]


def district_rows() -> list[tuple[str, str, bool]]:
    """(code, name, monitored) for every district: the city level, the counties, the high-tech zone."""
    counties = sorted((u, name) for u, name in UNITS.items() if unit_kind(u) == "county")
    return [(code, name, code in MONITORED) for code, name in [CITY_LEVEL, *counties, HIGH_TECH_ZONE]]


def automation_on() -> bool:
    """Schedules and sensors run by default only where JN_CREDIT_AUTOMATION=on (production): a
    laptop's `jn-credit dev` runs the daemon without them until someone turns them on in the UI."""
    return os.environ.get("JN_CREDIT_AUTOMATION", "").lower() in {"on", "1", "true", "running"}
