"""The monthly deliveries due by the 25th (INDICATORS.md, "Deliveries due by the 25th"), as data,
and the one judge of on time / late / missing for a (unit, feed, month) — used by the deadline sensor
(from the inbox's files), the reports and `jn-credit ledger` (from the ingest ledger).

For month M every unit below owes each of its feeds by the 25th of M. A delivery is a correctly named
file `<unit>/<M>/<feed>.<YYYYMMDD>[.<n>].<ext>` in the inbox (FEEDS.md); one dated after the 25th is
late; none at all is missing. Whether the delivered file keeps the contract is the asset checks' job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from jn_credit_dagster.lib.ingest.inbox import scan

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


ON_TIME, LATE, MISSING = "on_time", "late", "missing"

# A ledger entry with a unit, feed and month came from a correctly named file in a known feed's folder:
# a delivery in INDICATORS.md's sense, whatever its content (that is the checks' business). These
# reason codes mark entries that are not deliveries at all.
NOT_A_DELIVERY = ("bad_name", "unknown_feed", "unknown_unit", "unit_not_allowed", "not_a_file", "outside_inbox",
                  "still_arriving")


@dataclass(frozen=True)
class Due:
    """One delivery due for a month and how it stands."""
    unit: str
    feed: str
    status: str  # on_time | late | missing
    delivered: dt.date | None = None  # the earliest delivery date in the month's folder

    @property
    def status_zh(self) -> str:
        return STATUS_ZH[self.status]


STATUS_ZH = {ON_TIME: "按时", LATE: "迟报", MISSING: "缺报"}


def deadline(month: dt.date) -> dt.date:
    return month.replace(day=DUE_DAY)


def judge(month: dt.date, first_delivery: dt.date | None) -> str:
    """The one rule: no delivery is missing; a first delivery dated after the 25th of M is late."""
    if first_delivery is None:
        return MISSING
    return LATE if first_delivery > deadline(month) else ON_TIME


def judged(month: dt.date, first: dict[tuple[str, str], dt.date], due: dict[str, tuple[str, ...]] = DUE) -> list[Due]:
    """Every (unit, feed) of `due`, unit by unit, from the earliest delivery date of each pair."""
    return [Due(unit, feed, judge(month, first.get((unit, feed))), first.get((unit, feed)))
            for unit, feeds in due.items() for feed in feeds]


def from_inbox(inbox: Path, month: dt.date, due: dict[str, tuple[str, ...]] = DUE) -> list[Due]:
    """Judged from the files in the inbox now (the deadline sensor: before or without a run)."""
    month = month.replace(day=1)
    feeds = {f for fs in due.values() for f in fs}
    first: dict[tuple[str, str], dt.date] = {}
    for d in scan(inbox, feeds, month):
        if d.problem is None:
            key = (d.unit, d.feed)
            first[key] = min(first.get(key, d.delivery_date), d.delivery_date)
    return judged(month, first, due)


def from_ledger(cur, month: dt.date, due: dict[str, tuple[str, ...]] = DUE) -> list[Due]:
    """Judged from the ingest ledger (reports, `jn-credit ledger`): what the month's run saw."""
    cur.execute("""SELECT unit, feed, min(delivery_date) FROM ingest.ledger
                   WHERE month = %s AND unit IS NOT NULL AND feed IS NOT NULL AND delivery_date IS NOT NULL
                     AND coalesce(reason_code, '') <> ALL(%s)
                   GROUP BY unit, feed""", (month.replace(day=1), list(NOT_A_DELIVERY)))
    return judged(month.replace(day=1), {(u, f): d for u, f, d in cur.fetchall()}, due)


def gaps(inbox: Path, month: dt.date, due: dict[str, tuple[str, ...]] = DUE) -> list[Due]:
    """Every due (unit, feed) without an on-time delivery in the inbox for `month`, unit by unit."""
    return [d for d in from_inbox(inbox, month, due) if d.status != ON_TIME]


def missing_by_unit(inbox: Path, month: dt.date, due: dict[str, tuple[str, ...]] = DUE) -> dict[str, list[str]]:
    """unit -> its due feeds with no delivery at all for `month` (only units with a gap)."""
    out: dict[str, list[str]] = {}
    for gap in gaps(inbox, month, due):
        if gap.status == MISSING:
            out.setdefault(gap.unit, []).append(gap.feed)
    return out
