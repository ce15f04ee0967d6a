"""The weekly deep check: GX re-validates every stored month of the last year and fails loudly
where its counts differ from what the ingest recorded (lib/ingest/deep_check.py). The everyday checks
come from the ingest's own pass (raw/<feed>:expectations, defs/ingest/assets.py)."""

import datetime as dt

import dagster as dg

from jn_credit_dagster.defs.automation.schedules import default_status
from jn_credit_dagster.lib.common import city
from jn_credit_dagster.lib.ingest import deep_check
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.lib.ingest.suites import load_suite
from jn_credit_dagster.defs.resources import Warehouse

DEEP_CHECK_JOB = "weekly_deep_check"


class DeepCheckConfig(dg.Config):
    months_back: int = 12  # how far back stored months are re-validated


@dg.op(description="Great Expectations re-validates stored feed-months against the counts the ingest recorded.")
def deep_check_months(context: dg.OpExecutionContext, config: DeepCheckConfig, warehouse: Warehouse) -> dg.Output:
    url, specs = warehouse.url(), load_specs()
    today = dt.date.today()
    year, month = divmod(today.year * 12 + today.month - 1 - config.months_back, 12)
    since = dt.date(year, month + 1, 1)
    findings, checked = [], 0
    for feed, month in deep_check.months_recorded(url, since):
        if feed not in specs:
            continue
        checked += 1
        findings += deep_check.check_month(url, specs[feed], load_suite(feed), month)
    if findings:
        raise dg.Failure(f"GX disagrees with the recorded counts in {len(findings)} places: "
                         + "; ".join(map(str, findings[:10])), allow_retries=False,
                         metadata={"findings": dg.MetadataValue.md("\n".join(f"- {f}" for f in findings))})
    context.log.info(f"{checked} feed-months re-validated by GX: every count as recorded")
    return dg.Output(checked, metadata={"feed_months": checked})


@dg.job(name=DEEP_CHECK_JOB, description="每周深度校验：GX 重新校验已入库月份，与入库时记录的计数比对。")
def weekly_deep_check():
    deep_check_months()


@dg.definitions
def ingest_checks() -> dg.Definitions:
    return dg.Definitions(
        jobs=[weekly_deep_check],
        schedules=[dg.ScheduleDefinition(name="weekly_deep_check_schedule", job=weekly_deep_check,
                                         cron_schedule="0 3 * * 0", execution_timezone=city.TIMEZONE_NAME,
                                         default_status=default_status(),
                                         description="Sundays 03:00: GX re-validates the last year's feed-months.")])
