"""The month partitions every asset shares."""

from __future__ import annotations

import datetime as dt
import os
from functools import cache

import dagster as dg

from jn_credit_dagster.lib.common import city

DEFAULT_FIRST_MONTH = "2019-01"  # a year of history before the 2020 edition
KEY_FORMAT = "%Y-%m"  # partition keys read like the inbox's month folders: 2020-08


@cache
def monthly() -> dg.MonthlyPartitionsDefinition:
    """From JN_CREDIT_FIRST_MONTH (default 2019-01) up to and including the current month:
    the nightly refresh works on the month whose deliveries are still coming in."""
    first = os.environ.get("JN_CREDIT_FIRST_MONTH", DEFAULT_FIRST_MONTH)
    return dg.MonthlyPartitionsDefinition(start_date=first, fmt=KEY_FORMAT, end_offset=1, timezone=city.TIMEZONE_NAME)


def month_of(partition_key: str) -> dt.date:
    return dt.datetime.strptime(partition_key, KEY_FORMAT).date()


def key_of(month: dt.date) -> str:
    return month.strftime(KEY_FORMAT)
