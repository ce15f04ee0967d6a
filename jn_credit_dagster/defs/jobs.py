import dagster as dg

from jn_credit_dagster import partitions
from jn_credit_dagster.resources import DB_RETRY


@dg.definitions
def jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[
        dg.define_asset_job(
            "monthly_refresh",
            selection=dg.AssetSelection.all(),
            partitions_def=partitions.monthly(),
            description="Every asset of one month, from the inbox to whatever the month produces (with their checks).",
            op_retry_policy=DB_RETRY,  # the checks read the warehouse too
        ),
        dg.define_asset_job(
            "ingest_month",
            selection=dg.AssetSelection.groups("ingest"),
            partitions_def=partitions.monthly(),
            description="Only the feeds of one month: inbox → GX → raw / quarantine / ledger.",
            op_retry_policy=DB_RETRY,
        ),
    ])
