"""The jobs, one per cadence: the refresh of a month's warehouse (nightly, and the inbox sensor's runs,
which select what changed and what is downstream of it), and the month's final with its reports."""

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.resources import DB_RETRY

REFRESH_JOB = "warehouse_refresh"
FINAL_JOB = "monthly_refresh"
REPORTS_GROUP = "reports"


def refresh_selection() -> dg.AssetSelection:
    """Everything but the reports: the inbox, the feeds, the warehouse, the indicators."""
    return dg.AssetSelection.all() - dg.AssetSelection.groups(REPORTS_GROUP)


@dg.definitions
def jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[
        dg.define_asset_job(
            REFRESH_JOB,
            selection=refresh_selection(),
            partitions_def=partitions.monthly(),
            description="One month from the inbox to its indicators (with their checks), no reports: the nightly "
                        "refresh, and the inbox sensor's runs (a subset: the feeds that changed and what reads them).",
            op_retry_policy=DB_RETRY,  # the checks read the warehouse too
        ),
        dg.define_asset_job(
            FINAL_JOB,
            selection=dg.AssetSelection.all(),
            partitions_def=partitions.monthly(),
            description="Every asset of one month, from the inbox to the reports (with their checks): the final "
                        "of the 26th and `jn-credit run`.",
            op_retry_policy=DB_RETRY,
        ),
        dg.define_asset_job(
            "ingest_month",
            selection=dg.AssetSelection.groups("ingest"),
            partitions_def=partitions.monthly(),
            description="Only the feeds of one month: inbox → GX → raw / quarantine / ledger.",
            op_retry_policy=DB_RETRY,
        ),
    ])
