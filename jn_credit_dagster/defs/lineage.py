"""The partition mappings of the asset graph: which months of an upstream asset month M reads.

The windows are the catalog's (lib/indicators/catalog.py): `month` (M itself), `to_date` (every month up to M),
`last_N_months` (M−N+1 … M); `whole` is an unpartitioned reference table. An asset whose month M reads
its own earlier months depends on itself through `previous_month()`, so Dagster runs a backfill's
months in order and marks later months stale when an earlier one changes.
"""

import datetime as dt
import warnings

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.lib.indicators.catalog import MONTH, TO_DATE, WHOLE, window_months

# A code server loaded today still maps every earlier month two years from now (deploys reload it far
# sooner). Each month of headroom costs: Dagster walks the offset a month at a time.
HEADROOM_MONTHS = 24


def _window(start_offset: int, end_offset: int = 0) -> dg.TimeWindowPartitionMapping:
    """A window ending `end_offset` months from M. The flag letting it start before the first partition
    is beta in Dagster 1.13: chosen knowingly, so its warning is not repeated on every load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.TimeWindowPartitionMapping(start_offset=start_offset, end_offset=end_offset,
                                             allow_nonexistent_upstream_partitions=True)


def every_earlier_month() -> dg.TimeWindowPartitionMapping:
    """M and every month before it, back to the first partition. The offset reaches from the first
    partition to today plus HEADROOM_MONTHS, not a fixed century: Dagster walks the offset a month at a
    time each time it maps a run's partitions (~24 times a run); 1200 months cost ~6 s of CPU per month
    run, 215 (ten years' headroom) still ~0.5 s."""
    first = partitions.month_of(partitions.monthly().get_first_partition_key())
    today = dt.date.today()
    return _window(-((today.year - first.year) * 12 + today.month - first.month + HEADROOM_MONTHS))


def last_months(n: int) -> dg.TimeWindowPartitionMapping:
    """M and the n − 1 months before it."""
    return _window(-(n - 1))


def previous_month() -> dg.TimeWindowPartitionMapping:
    """M − 1 (none for the first partition): the self-dependency of an asset that reads its own past."""
    return _window(-1, -1)


def window_mapping(window: str) -> dg.PartitionMapping | None:
    """The mapping of a catalog window; None where Dagster's default is right (M itself, an
    unpartitioned reference table)."""
    if window in (MONTH, WHOLE):
        return None
    if window == TO_DATE:
        return every_earlier_month()
    months = window_months(window)
    if months is None:
        raise ValueError(f"unknown window {window!r}")
    return last_months(months)
