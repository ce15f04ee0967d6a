"""Months and the official PRC working-day calendar, as the units' deliveries follow it."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar


def parse_month(text: str) -> tuple[int, int]:
    year, month = text.split("-")
    y, m = int(year), int(month)
    if not 1 <= m <= 12:
        raise ValueError(f"not a month: {text!r}")
    return y, m


def month_str(ym: tuple[int, int]) -> str:
    return f"{ym[0]:04d}-{ym[1]:02d}"


def add_months(ym: tuple[int, int], n: int) -> tuple[int, int]:
    k = ym[0] * 12 + ym[1] - 1 + n
    return k // 12, k % 12 + 1


def month_index(ym: tuple[int, int]) -> int:
    return ym[0] * 12 + ym[1] - 1


def months_between(first: str, last: str) -> list[tuple[int, int]]:
    a, b = parse_month(first), parse_month(last)
    if month_index(b) < month_index(a):
        raise ValueError(f"empty month range {first}:{last}")
    return [add_months(a, i) for i in range(month_index(b) - month_index(a) + 1)]


def first_day(ym: tuple[int, int]) -> dt.date:
    return dt.date(ym[0], ym[1], 1)


def last_day(ym: tuple[int, int]) -> dt.date:
    return first_day(add_months(ym, 1)) - dt.timedelta(days=1)


@lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    # Outside the package's table (future years) weekends alone count, as INDICATORS.md says.
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n ≥ 1), or before it for n < 0."""
    step = 1 if n >= 0 else -1
    left = abs(n)
    while left:
        day += dt.timedelta(days=step)
        if is_workday(day):
            left -= 1
    return day


def workdays_between(a: dt.date, b: dt.date) -> int:
    """wd(a, b) of INDICATORS.md: working days w with a < w ≤ b."""
    count, day = 0, a
    while day < b:
        day += dt.timedelta(days=1)
        count += is_workday(day)
    return count


@lru_cache(maxsize=512)
def workdays_in_month(ym: tuple[int, int]) -> tuple[dt.date, ...]:
    day, end, out = first_day(ym), last_day(ym), []
    while day <= end:
        if is_workday(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return tuple(out)


def workday_on_or_before(day: dt.date) -> dt.date:
    while not is_workday(day):
        day -= dt.timedelta(days=1)
    return day


def workday_on_or_after(day: dt.date) -> dt.date:
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return day
