"""The calendar of working days (INDICATORS.md "Working days"): the official PRC calendar from the
`chinesecalendar` package where it covers the year, else the office's table in assets/calendar.yaml,
else weekends alone — plus single-day overrides from that table for any year.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import chinese_calendar
import yaml

from jn_credit_dagster.lib.common import paths

OVERRIDES_ENV = "JN_CREDIT_CALENDAR"  # another override file (tests, a trial table)
DEFAULT_OVERRIDES = paths.PROJECT_ROOT / "assets" / "calendar.yaml"

# Where a day's verdict comes from: the package, the office's table, or nothing but the weekday.
CHINESECALENDAR, OVERRIDE, WEEKENDS = "chinesecalendar", "override", "weekends"


@dataclass(frozen=True)
class Day:
    day: dt.date
    workday: bool
    workday_seq: int
    source: str
    holiday_name: str | None


@dataclass(frozen=True)
class YearOverrides:
    holidays: dict[dt.date, str | None] = field(default_factory=dict)
    workdays: dict[dt.date, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Calendar:
    days: list[Day]
    by_package: list[int]  # years chinesecalendar covers
    by_office: list[int]  # years it does not, configured in the override table
    weekends_only: list[int]  # neither: weekends alone count
    overridden_days: int  # days whose verdict the override table set

    def rows(self) -> list[tuple]:
        return [(d.day, d.workday, d.workday_seq, d.source, d.holiday_name) for d in self.days]


def overrides_path() -> Path:
    return Path(os.environ.get(OVERRIDES_ENV) or DEFAULT_OVERRIDES)


@cache
def package_covers(year: int) -> bool:
    """chinesecalendar raises NotImplementedError for a year outside its table (1.11: 2004–2026)."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _days(value) -> list[dt.date]:
    """A date, or a range 'YYYY-MM-DD..YYYY-MM-DD' with both ends included."""
    if isinstance(value, dt.datetime):
        return [value.date()]
    if isinstance(value, dt.date):
        return [value]
    text = str(value).strip()
    first, _, last = text.partition("..")
    start = dt.date.fromisoformat(first.strip())
    end = dt.date.fromisoformat(last.strip()) if last else start
    if end < start:
        raise ValueError(f"range {text} ends before it starts")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _entries(year: int, items: Iterable | None) -> dict[dt.date, str | None]:
    found: dict[dt.date, str | None] = {}
    for item in items or ():
        if isinstance(item, dict):
            if "days" not in item:
                raise ValueError(f"{year}: an entry needs `days`: {item}")
            days, name = _days(item["days"]), item.get("name")
        else:
            days, name = _days(item), None
        for day in days:
            if day.year != year:
                raise ValueError(f"{year}: {day} is not in {year}")
            found[day] = None if name is None else str(name)
    return found


def load_overrides(path: Path | None = None) -> dict[int, YearOverrides]:
    """The override table: {year: {holidays: [...], workdays: [...]}}; a missing file is an empty table."""
    path = path or overrides_path()
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of years")
    table: dict[int, YearOverrides] = {}
    for key, body in data.items():
        try:
            year = int(key)
            body = body or {}
            unknown = set(body) - {"holidays", "workdays"}
            if unknown:
                raise ValueError(f"{year}: unknown keys {sorted(unknown)}")
            entry = YearOverrides(_entries(year, body.get("holidays")), _entries(year, body.get("workdays")))
            both = sorted(set(entry.holidays) & set(entry.workdays))
            if both:
                raise ValueError(f"{year}: both holiday and working day: {', '.join(map(str, both))}")
        except (TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"{path}: {error}") from error
        table[year] = entry
    return table


def _package_day(day: dt.date) -> tuple[bool, str | None]:
    workday = chinese_calendar.is_workday(day)
    _, holiday = chinese_calendar.get_holiday_detail(day)
    # the package names a holiday by its English value; the warehouse keeps the Chinese name
    return workday, None if holiday is None else _CHINESE_NAMES.get(holiday, holiday)


_CHINESE_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


def build(first_year: int, last_year: int, overrides: dict[int, YearOverrides] | None = None) -> Calendar:
    """Every day of first_year…last_year with its verdict and the running count of working days."""
    if last_year < first_year:
        raise ValueError(f"no years: {first_year}…{last_year}")
    overrides = load_overrides() if overrides is None else overrides
    by_package, by_office, weekends_only = [], [], []
    days: list[Day] = []
    seq = overridden = 0
    for year in range(first_year, last_year + 1):
        table = overrides.get(year, YearOverrides())
        if package_covers(year):
            by_package.append(year)
            default_source = CHINESECALENDAR
        elif table.holidays:
            by_office.append(year)
            default_source = OVERRIDE
        else:
            weekends_only.append(year)
            default_source = WEEKENDS
        day = dt.date(year, 1, 1)
        while day.year == year:
            if day in table.holidays or day in table.workdays:
                workday = day in table.workdays
                name = table.workdays.get(day) if workday else table.holidays.get(day)
                source = OVERRIDE
                overridden += 1
            elif default_source == CHINESECALENDAR:
                workday, name = _package_day(day)
                source = CHINESECALENDAR
            else:
                workday, name, source = day.weekday() < 5, None, default_source
            seq += workday
            days.append(Day(day, workday, seq, source, name))
            day += dt.timedelta(days=1)
    return Calendar(days, by_package, by_office, weekends_only, overridden)
