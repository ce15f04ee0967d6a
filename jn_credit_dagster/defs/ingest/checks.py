"""Asset checks: each feed's Great Expectations suite, run by GX 1.x on the month's delivered rows.

Severity follows the contract: a file rejected whole, or a failed `critical` expectation, is an
ERROR; rows quarantined by `warning` expectations are a WARN. The metadata carries the counts,
the top reasons and a sample of quarantined rows with personal ID numbers masked.
"""

import dagster as dg

from jn_credit_dagster import partitions
from jn_credit_dagster.ingest import INBOX_KEY, feed_key
from jn_credit_dagster.lib import quality
from jn_credit_dagster.lib.specs import FeedSpec, load_specs
from jn_credit_dagster.lib.suites import load_suite
from jn_credit_dagster.resources import Warehouse


def suite_check(spec: FeedSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=feed_key(spec.id),
        name="expectations",
        partitions_def=partitions.monthly(),
        description=f"Great Expectations suite expectations/{spec.id}.json on the month's delivered rows "
                    "(FEEDS.md ★ rules), plus whole-file contract breakage from the ingest ledger.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        report = quality.feed_report(warehouse.url(), spec, load_suite(spec.id), partitions.month_of(context.partition_key))
        return dg.AssetCheckResult(passed=report.passed, severity=_SEVERITY[report.severity], metadata=report.metadata())

    return _check


def inbox_check() -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=INBOX_KEY, name="file_contract", partitions_def=partitions.monthly(),
                    description="Every file in the month's unit folders names a known feed correctly.")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        report = quality.inbox_report(warehouse.url(), partitions.month_of(context.partition_key))
        return dg.AssetCheckResult(passed=report.passed, severity=_SEVERITY[report.severity], metadata=report.metadata())

    return _check


_SEVERITY = {"critical": dg.AssetCheckSeverity.ERROR, "warning": dg.AssetCheckSeverity.WARN}


@dg.definitions
def ingest_checks() -> dg.Definitions:
    return dg.Definitions(asset_checks=[inbox_check(), *(suite_check(s) for s in load_specs().values())])
