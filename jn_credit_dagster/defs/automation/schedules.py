"""Schedules (Asia/Shanghai): the nightly refresh of the current month and the final run of the
month after its deliveries closed on the 25th.

The nightly runs `warehouse_refresh` (every asset of the partition but the reports: no PDF at night);
the final runs `monthly_refresh` (every asset, the reports included). Both are idempotent: a
partition is rebuilt atomically from the inbox, and the run key of a tick is fixed, so a tick
evaluated twice launches one run.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.jobs import FINAL_JOB, REFRESH_JOB
from jn_credit_dagster.lib.common import city
from jn_credit_dagster.lib.ingest.deliveries_due import DUE_DAY

SHANGHAI = city.TIMEZONE
TIMEZONE = city.TIMEZONE_NAME
NIGHTLY_CRON = "0 2 * * *"  # 02:00 every day
FINAL_CRON = f"0 6 {DUE_DAY + 1} * *"  # 06:00 on the 26th, after that night's refresh


def default_status() -> dg.DefaultScheduleStatus:
    """Off unless automation is on (lib/common/city.py): a laptop's daemon should not refresh on its own."""
    return dg.DefaultScheduleStatus.RUNNING if city.automation_on() else dg.DefaultScheduleStatus.STOPPED


def run_tags(month: str, trigger: str, **more: str) -> dict[str, str]:
    """The tags every automated run carries: the month (run queue limits key on it) and what started it."""
    return {"month": month, "trigger": trigger, **more}


def _local(context: dg.ScheduleEvaluationContext) -> dt.datetime:
    return context.scheduled_execution_time.astimezone(SHANGHAI)


def nightly_refresh_schedule() -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_refresh",
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=TIMEZONE,
        job_name=REFRESH_JOB,
        default_status=default_status(),
        description="Every night at 02:00 (Asia/Shanghai): the current month, whose deliveries are still "
                    "coming in, from the inbox to its indicators (no reports).",
        tags={"trigger": "nightly_schedule"},
    )
    def _nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        local = _local(context)
        month = partitions.key_of(local.date())
        return dg.RunRequest(run_key=f"nightly:{local:%Y-%m-%d}", partition_key=month,
                             tags=run_tags(month, "nightly_schedule"))

    return _nightly


def monthly_final_schedule() -> dg.ScheduleDefinition:
    @dg.schedule(
        name="monthly_final",
        cron_schedule=FINAL_CRON,
        execution_timezone=TIMEZONE,
        job_name=FINAL_JOB,
        default_status=default_status(),
        description=f"On the {DUE_DAY + 1}th at 06:00 (Asia/Shanghai): the month whose deliveries closed on "
                    f"the {DUE_DAY}th, every asset including its reports, tagged final.",
        tags={"trigger": "monthly_schedule"},
    )
    def _final(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        month = partitions.key_of(_local(context).date())
        return dg.RunRequest(run_key=f"final:{month}", partition_key=month,
                             tags=run_tags(month, "monthly_schedule", final="true"))

    return _final


@dg.definitions
def schedules() -> dg.Definitions:
    return dg.Definitions(schedules=[nightly_refresh_schedule(), monthly_final_schedule()])
