"""What every feed builder needs: the seed, the scale, the city, the rates, the units' own codes."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from . import names as N
from .months import month_index
from .deliveries import due_date, free_date
from .dirt import Rates
from .identities import Population, make_uscc
from .seeding import Bits, rng
from .spec import ALL_UNITS, DUE, UNIT_NAME

UTILITY_UNITS = ("water", "power", "gas")
INSTITUTION_UNITS = ("bigdata", "ggzy")

_CITY_ABBR = {"approval": "济审批", "amr": "济市监", "transport": "济交运", "health": "济卫健", "culture": "济文旅",
              "emergency": "济应急", "commerce": "济商务", "civil": "济民政", "hrss": "济人社", "justice": "济司",
              "police": "济公", "energy": "济能源", "tax": "济税", "fgw": "济发改", "court": "济中法"}
COUNTY_DEPTS = ("行政审批服务局", "市场监督管理局", "综合行政执法局", "应急管理局", "交通运输局", "卫生健康局")


@dataclass
class Ctx:
    seed: int
    scale: str
    factor: float
    pop: Population
    first: tuple[int, int]  # first month of the generated range: state feeds load their history there
    rates: Rates

    def count(self, r: random.Random, city: float, floor: float = 0.0) -> int:
        """A monthly volume: the city figure scaled, randomly rounded so small expectations still occur."""
        x = max(city * self.factor, floor) * (0.85 + 0.3 * r.random())
        return int(x) + (r.random() < x - int(x))

    def bits(self, r: random.Random) -> Bits:
        return Bits(r.getrandbits(512))

    def is_first(self, ym) -> bool:
        return month_index(ym) == month_index(self.first)

    def plan_date(self, unit: str, feed: str, ym) -> tuple[dt.date, bool]:
        """The (only) delivery date of a state feed's month: a pure function, so later months can see it."""
        r = rng(self.seed, "date", unit, feed, ym)
        if (unit, feed) in DUE:
            return due_date(r, ym, self.rates.late_delivery)
        return free_date(r, ym, self.rates.late_delivery), False


def unit_district(unit: str) -> str | None:
    """The district a county or zone unit's subjects carry; None for city units."""
    if unit.isdigit():
        return unit
    return N.ZONE_UNITS.get(unit)


def authority(unit: str, dept_no: int = 0) -> tuple[str, str]:
    """(name, USCC) of the unit, or of one of a county's departments, as the deciding authority."""
    serial = 9_000_000 + ALL_UNITS.index(unit) * 20 + dept_no  # far from the population's 机关 serials
    if unit.isdigit() or unit in N.ZONE_UNITS:
        district = unit_district(unit)
        area = N.DISTRICT_NAME[unit] if unit.isdigit() else N.ZONE_NAME[unit]
        return f"{area}{COUNTY_DEPTS[dept_no % len(COUNTY_DEPTS)]}", make_uscc("11", district, 30_000_000 + serial, "numeric")
    prefix = "91" if unit in UTILITY_UNITS else "12" if unit in INSTITUTION_UNITS else "11"
    kind_offset = {"91": 0, "12": 40_000_000, "11": 30_000_000}[prefix]
    return UNIT_NAME[unit], make_uscc(prefix, "370800", kind_offset + serial, "numeric")


def doc_abbr(unit: str, dept_no: int = 0) -> str:
    if unit.isdigit():
        return "济" + N.DISTRICT_SHORT[unit][:2] + COUNTY_DEPTS[dept_no % len(COUNTY_DEPTS)][:2]
    if unit in N.ZONE_UNITS:
        return "济" + N.ZONE_NAME[unit][2:4] + COUNTY_DEPTS[dept_no % len(COUNTY_DEPTS)][:2]
    return _CITY_ABBR.get(unit, "济" + UNIT_NAME[unit][3:5])
