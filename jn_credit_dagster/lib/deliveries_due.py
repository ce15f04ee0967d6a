"""The monthly deliveries due by the 25th (INDICATORS.md, "Deliveries due by the 25th"), as data,
and who has not delivered them.

For month M every unit below owes each of its feeds by the 25th of M. A delivery is a correctly named
file `<unit>/<M>/<feed>.<YYYYMMDD>[.<n>].<ext>` in the inbox (FEEDS.md); one dated after the 25th is
late; none at all is missing. Whether the delivered file keeps the contract is the asset checks' job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .inbox import scan

DUE_DAY = 25

# unit -> feeds due every month (INDICATORS.md)
DUE: dict[str, tuple[str, ...]] = {
    "amr": ("registry", "uscc_issue"),
    "water": ("water_bill",),
    "power": ("power_bill",),
    "gas": ("gas_bill",),
    "commerce": ("logistics",),
    "transport": ("logistics",),
    "fgw": ("xyd_registration", "objection", "repair", "credit_event"),
    "cbirc": ("xyd_loan",),
    "miit": ("arrears",),
    "approval": ("service_item",),
    "court": ("blacklist",),
}


@dataclass(frozen=True)
class Gap:
    unit: str
    feed: str
    status: str  # "missing" | "late"
    delivered: dt.date | None = None  # the earliest delivery date, for a late one


def deadline(month: dt.date) -> dt.date:
    return month.replace(day=DUE_DAY)


def gaps(inbox: Path, month: dt.date, due: dict[str, tuple[str, ...]] = DUE) -> list[Gap]:
    """Every (unit, feed) of `due` without an on-time delivery in the inbox for `month`, unit by unit."""
    month = month.replace(day=1)
    feeds = {f for fs in due.values() for f in fs}
    delivered: dict[tuple[str, str], dt.date] = {}
    for d in scan(inbox, feeds, month):
        if d.problem is None and d.unit in due and d.feed in due[d.unit]:
            key = (d.unit, d.feed)
            delivered[key] = min(delivered.get(key, d.delivery_date), d.delivery_date)
    found = []
    for unit, unit_feeds in due.items():
        for feed in unit_feeds:
            first = delivered.get((unit, feed))
            if first is None:
                found.append(Gap(unit, feed, "missing"))
            elif first > deadline(month):
                found.append(Gap(unit, feed, "late", first))
    return found


def missing_by_unit(inbox: Path, month: dt.date, due: dict[str, tuple[str, ...]] = DUE) -> dict[str, list[str]]:
    """unit -> its due feeds with no delivery at all for `month` (only units with a gap)."""
    out: dict[str, list[str]] = {}
    for gap in gaps(inbox, month, due):
        if gap.status == "missing":
            out.setdefault(gap.unit, []).append(gap.feed)
    return out
