"""When and how units hand files over: dates, names, formats, header and value spellings."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .months import add_workdays, first_day, is_workday, last_day, workday_on_or_after, workdays_in_month
from .spec import YUAN_COLS, Feed
from .writers import FORMATS, Style

XLSX_MAX_ROWS = 50_000  # units do not send Excel for bulk extracts


@dataclass
class Batch:
    """One delivery: its date and the rows it carries (a generator factory: rows are never held)."""

    date: dt.date
    rows: Callable[[], Iterator[tuple[dict, dict | None]]]
    expected_rows: int = 0
    dirt: bool = True  # False: a delivery of corrections only
    tags: dict = field(default_factory=dict)


def due_date(r: random.Random, ym, late_rate: float) -> tuple[dt.date, bool]:
    """A delivery of a feed due by the 25th: mostly a working day from the 8th to the 25th, some late."""
    days = workdays_in_month(ym)
    if r.random() < late_rate:
        # late: after the 25th, sometimes well into the next month
        start = dt.date(ym[0], ym[1], 26)
        return workday_on_or_after(start + dt.timedelta(days=r.choice((0, 0, 1, 3, 6, 10, 14)))), True
    window = [d for d in days if 8 <= d.day <= 25] or list(days)
    # units bunch up before the deadline
    weights = [1 + (d.day >= 18) * 2 for d in window]
    return r.choices(window, weights)[0], False


def free_date(r: random.Random, ym, late_rate: float) -> dt.date:
    """A delivery with no deadline of its own: any working day of the month, sometimes into the next."""
    days = workdays_in_month(ym)
    if r.random() < late_rate:
        return workday_on_or_after(last_day(ym) + dt.timedelta(days=1 + r.randrange(8)))
    return r.choice(days[len(days) // 4:])


def batch_dates(r: random.Random, ym, n: int, late_rate: float) -> list[dt.date]:
    """n batches spread over the month (双公示 units send weekly or so); the last may slip into the next."""
    days = workdays_in_month(ym)
    out = sorted(r.sample(days, min(n, len(days))))
    if r.random() < late_rate:
        out[-1] = add_workdays(last_day(ym), 1 + r.randrange(5))
    return sorted(out)


def date_in(r: random.Random, ym, until: dt.date, workday: bool = True) -> dt.date:
    """A date in month ym not after `until` (events happen before they are delivered)."""
    start, end = first_day(ym), min(last_day(ym), until)
    if end < start:
        return start
    span = (end - start).days
    for _ in range(10):
        d = start + dt.timedelta(days=r.randrange(span + 1))
        if not workday or is_workday(d):
            return d
    return d


def choose_format(r: random.Random, unit_habit: str | None, expected_rows: int) -> str:
    fmts = list(FORMATS)
    weights = [35, 15, 12, 6, 20, 12]
    if unit_habit and r.random() < 0.7:
        fmt = unit_habit
    else:
        fmt = r.choices(fmts, weights)[0]
    if fmt == "xlsx" and expected_rows > XLSX_MAX_ROWS:
        fmt = r.choice(("csv-utf8", "csv-gbk", "json"))
    return fmt


def choose_style(r: random.Random, feed: Feed, ym, fmt: str) -> Style:
    date_format = r.choices(("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"), (80, 10, 10))[0]
    thousands = frozenset(c for c in feed.columns if c in YUAN_COLS) if fmt.startswith("csv") and r.random() < 0.2 else frozenset()
    return Style(date_format=date_format, thousands=thousands, decimals=feed.decimals,
                 stamp=dt.datetime(ym[0], ym[1], 1, 8, 30, 0))


def choose_headers(r: random.Random, feed: Feed, ascii_rate: float) -> tuple[list[str], list[str]]:
    """The header row as this unit types it, and the canonical column behind each header."""
    columns = list(feed.columns)
    if feed.optional_droppable and r.random() < 0.08:
        drop = r.choice(feed.optional_droppable)
        columns.remove(drop)
    headers = list(columns)
    if r.random() < ascii_rate:
        headers = [h.replace("（", "(").replace("）", ")") for h in headers]
    if r.random() < 0.05:
        headers = [f" {h} " if i % 3 == 0 else h for i, h in enumerate(headers)]
    if r.random() < 0.05:  # a row counter column the contract does not know: kept raw, ignored
        headers.insert(0, "序号")
        columns.insert(0, "__seq__")
    return headers, columns
