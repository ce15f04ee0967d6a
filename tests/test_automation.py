"""Schedules and sensors through Dagster's own test contexts, on a real inbox folder and database."""

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.automation.schedules import monthly_final_schedule, nightly_refresh_schedule
from jn_credit_dagster.defs.automation.sensors import (KEEP_MONTHS, deadline_sensor, inbox_sensor,
                                                       run_failure_alert_sensor, write_cursor)
from jn_credit_dagster.definitions import defs
from jn_credit_dagster.defs.jobs import REFRESH_JOB
from jn_credit_dagster.defs.ingest.steps import INBOX_KEY
from jn_credit_dagster.lib.ingest import deliveries_due
from jn_credit_dagster.lib.common import paths
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.defs.resources import Alerts, Inbox, Warehouse

SHANGHAI = ZoneInfo("Asia/Shanghai")
PENALTY = yaml.safe_load((Path(__file__).parent / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]
NOW = dt.datetime(2020, 9, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def definitions():
    return defs()


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


# --- schedules -----------------------------------------------------------------------------------------

def _tick(schedule, when, instance, definitions):
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                        repository_def=definitions.get_repository_def())
    return schedule.evaluate_tick(context).run_requests


def test_nightly_refresh_is_the_current_month_in_shanghai(instance, definitions):
    schedule = definitions.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.job_name == REFRESH_JOB
    # 2020-08-31 18:00 UTC is 02:00 on 1 September in Jining: the new month
    (request,) = _tick(schedule, dt.datetime(2020, 8, 31, 18, 0, tzinfo=dt.timezone.utc), instance, definitions)
    assert request.partition_key == "2020-09"
    assert request.tags["trigger"] == "nightly_schedule" and request.tags["month"] == "2020-09"
    again = _tick(schedule, dt.datetime(2020, 9, 1, 2, 0, tzinfo=SHANGHAI), instance, definitions)
    assert again[0].run_key == request.run_key  # the same tick evaluated twice: one run


def test_monthly_final_runs_on_the_26th_for_the_closed_month(instance, definitions):
    schedule = definitions.resolve_schedule_def("monthly_final")
    assert schedule.cron_schedule == "0 6 26 * *" and schedule.execution_timezone == "Asia/Shanghai"
    (request,) = _tick(schedule, dt.datetime(2020, 8, 26, 6, 0, tzinfo=SHANGHAI), instance, definitions)
    assert request.partition_key == "2020-08" and request.run_key == "final:2020-08"
    assert {k: v for k, v in request.tags.items() if not k.startswith("dagster/")} == {
        "month": "2020-08", "trigger": "monthly_schedule", "final": "true"}
    job = definitions.resolve_job_def(schedule.job_name)
    assert set(job.asset_layer.executable_asset_keys) == set(definitions.resolve_asset_graph().get_all_asset_keys())


def _report_keys(definitions) -> set:
    graph = definitions.resolve_asset_graph()
    return {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "reports"}


def test_the_nightly_job_holds_no_report_and_the_final_every_one(definitions):
    """Per cadence: at night the warehouse (inbox → indicators, checks included), on the 26th the reports too."""
    graph = definitions.resolve_asset_graph()
    reports = _report_keys(definitions)
    assert {"reports/bulletin", "reports/rectification", "reports/national_package"} <= {
        k.to_user_string() for k in reports}
    nightly = definitions.resolve_job_def(nightly_refresh_schedule().job_name)
    final = definitions.resolve_job_def(monthly_final_schedule().job_name)
    assert set(nightly.asset_layer.executable_asset_keys) == set(graph.get_all_asset_keys()) - reports
    assert set(final.asset_layer.executable_asset_keys) >= reports
    assert {c.asset_key for c in nightly.asset_layer.asset_graph.asset_check_keys} >= {INBOX_KEY}


def test_a_nightly_run_never_prints_a_pdf(db, deliver, inbox, instance, definitions, tmp_path):
    """The nightly schedule's run of a month with data, in process: indicators materialize, no report does,
    and no file is written under the reports folder (no Chromium)."""
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    (request,) = _tick(definitions.resolve_schedule_def("nightly_refresh"),
                       dt.datetime(2020, 8, 20, 2, 0, tzinfo=SHANGHAI), instance, definitions)
    job = definitions.resolve_job_def(nightly_refresh_schedule().job_name)
    result = job.execute_in_process(partition_key=request.partition_key, instance=instance, tags=request.tags,
                                    resources={"inbox": Inbox(path=str(inbox)), "warehouse": Warehouse()},
                                    raise_on_error=False)
    assert result.success
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["indicators", "results"]) in done and not done & _report_keys(definitions)
    assert not list((paths.home() / "reports").rglob("*.pdf"))


# --- the inbox sensor ----------------------------------------------------------------------------------

def _evaluate_inbox(instance, definitions, inbox, cursor=None, now=NOW):
    sensor = inbox_sensor(clock=lambda: now)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions,
                                      resources={"inbox": Inbox(path=str(inbox)), "warehouse": Warehouse()})
    return sensor.evaluate_tick(context)


def test_a_new_file_is_one_run_and_the_same_file_again_none(db, deliver, inbox, instance, definitions):
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    first = _evaluate_inbox(instance, definitions, inbox)
    (request,) = first.run_requests
    assert request.partition_key == "2020-08" and request.job_name in (None, REFRESH_JOB)
    assert request.tags["trigger"] == "inbox_sensor" and request.tags["month"] == "2020-08"
    # what changed and what reads it: the feed, the subjects it names, the indicators; no other feed, no report
    assert {k.to_user_string() for k in request.asset_selection} == {
        "ingest/inbox", "raw/penalty", "wh/subjects", "indicators/results"}
    assert request.tags["feeds"] == "penalty" and request.run_key.startswith("inbox:2020-08:")
    assert len(first.cursor) < 200 and "2020-08" in json.loads(first.cursor)["months"]

    second = _evaluate_inbox(instance, definitions, inbox, cursor=first.cursor)
    assert second.run_requests == [] and second.skip_message
    # the cursor lost (a new sensor, a reset): the same file gives the same run key, which Dagster launches once
    assert _evaluate_inbox(instance, definitions, inbox).run_requests[0].run_key == request.run_key


def test_changed_content_is_a_new_run_a_touch_is_not(db, deliver, inbox, instance, definitions):
    path = deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    cursor = _evaluate_inbox(instance, definitions, inbox).cursor
    content = path.read_bytes()
    path.write_bytes(content)  # same bytes, new mtime
    assert _evaluate_inbox(instance, definitions, inbox, cursor=cursor).run_requests == []
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY, dict(PENALTY, 行政处罚决定书文号="X-2")])
    changed = _evaluate_inbox(instance, definitions, inbox, cursor=cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2020-08"]
    assert _evaluate_inbox(instance, definitions, inbox, cursor=changed.cursor).run_requests == []


def test_one_run_per_month_with_new_files(db, deliver, inbox, instance, definitions):
    deliver("amr", "2020-07", "penalty.20200720.csv", [PENALTY])
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    deliver("amr", "2020-08", "license.20200821.csv", [{"x": "1"}])
    deliver("amr", "2020-08", "处罚清单.csv", [{"x": "1"}])  # a bad name: the inbox scan rejects it, in that run
    deliver("amr", "2031-01", "penalty.20310120.csv", [PENALTY])  # no such partition yet
    result = _evaluate_inbox(instance, definitions, inbox)
    requests = {r.partition_key: r for r in result.run_requests}
    assert sorted(requests) == ["2020-07", "2020-08"]
    assert requests["2020-08"].tags["files"] == "3" and requests["2020-08"].tags["feeds"] == "license,penalty,处罚清单"


def test_files_already_in_the_ledger_need_no_run(db, deliver, inbox, instance, definitions, ingest):
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    ingest("penalty", "2020-08")  # loaded by hand (jn-credit run) before the sensor ever saw it
    result = _evaluate_inbox(instance, definitions, inbox)
    assert result.run_requests == [] and "2020-08" in json.loads(result.cursor)["months"]


def test_the_cursor_stays_bounded():
    months = {f"{2000 + i // 12}-{i % 12 + 1:02d}": {"0" * 16} for i in range(KEEP_MONTHS + 10)}
    kept = json.loads(write_cursor(months))["months"]
    assert len(kept) == KEEP_MONTHS and max(kept) == max(months)


def test_the_requested_run_launches_on_the_definitions(db, deliver, inbox, instance, definitions):
    """The request runs as the daemon would submit it: the refresh job narrowed to its selection, for its
    partition; a state feed's file selects its latest state too, and the checks of what it selects."""
    deliver("court", "2020-08", "blacklist.20200820.csv", [{"x": "1"}])
    (request,) = _evaluate_inbox(instance, definitions, inbox).run_requests
    job = definitions.resolve_job_def(REFRESH_JOB)
    assert request.partition_key in job.partitions_def.get_partition_keys(current_time=NOW)
    subset = job.get_subset(asset_selection=set(request.asset_selection))
    assert set(subset.asset_layer.executable_asset_keys) == set(request.asset_selection)
    assert {k.to_user_string() for k in request.asset_selection} == {
        "ingest/inbox", "raw/blacklist", "wh/blacklist", "wh/subjects", "indicators/results"}
    result = subset.execute_in_process(partition_key=request.partition_key, instance=instance, tags=request.tags,
                                       resources={"inbox": Inbox(path=str(inbox)), "warehouse": Warehouse()},
                                       raise_on_error=False)
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"ingest/inbox", "raw/blacklist", "wh/blacklist", "wh/subjects"} <= done
    assert {e.check_name for e in result.get_asset_check_evaluations()} >= {"expectations", "file_contract"}


# --- the deadline sensor -------------------------------------------------------------------------------

def _deliver_due(inbox, month="2020-08", skip=()):
    for unit, feeds in deliveries_due.DUE.items():
        for feed in feeds:
            if (unit, feed) not in skip:
                path = inbox / unit / month / f"{feed}.{month.replace('-', '')}20.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("x\n1\n", encoding="utf-8")


def _evaluate_deadline(instance, inbox, when, cursor=None, alert_log=None):
    sensor = deadline_sensor(clock=lambda: when)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={
        "inbox": Inbox(path=str(inbox)), "alerts": Alerts(log_path=str(alert_log) if alert_log else None)})
    return sensor.evaluate_tick(context)


def test_the_25th_flags_units_with_a_missing_delivery(inbox, instance, tmp_path):
    _deliver_due(inbox, skip={("amr", "uscc_issue"), ("court", "blacklist")})
    log = tmp_path / "alerts.jsonl"
    result = _evaluate_deadline(instance, inbox, dt.datetime(2020, 8, 25, 9, 0, tzinfo=SHANGHAI), alert_log=log)
    (observation,) = result.asset_events
    assert observation.asset_key == INBOX_KEY and observation.partition == "2020-08"
    assert observation.metadata["units_missing"].value == 2
    assert observation.metadata["missing_units"].value == "amr, court"
    assert "uscc_issue" in observation.metadata["gaps"].value and result.cursor == "2020-08"
    (alert,) = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert alert["kind"] == "deadline" and alert["month"] == "2020-08" and alert["units"] == ["amr", "court"]
    assert "blacklist" in alert["text"]

    # recorded as the daemon records it, the flag is an event of ingest/inbox, partition 2020-08, in the UI
    instance.report_runless_asset_event(observation)
    (record,) = instance.fetch_observations(INBOX_KEY, limit=5).records
    assert record.partition_key == "2020-08"

    # once per month
    again = _evaluate_deadline(instance, inbox, dt.datetime(2020, 8, 25, 15, 0, tzinfo=SHANGHAI), cursor=result.cursor,
                               alert_log=log)
    assert again.asset_events == [] and "already flagged" in again.skip_message
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1


def test_before_the_25th_nothing_is_flagged(inbox, instance):
    result = _evaluate_deadline(instance, inbox, dt.datetime(2020, 8, 24, 23, 59, tzinfo=SHANGHAI))
    assert result.asset_events == [] and "25th" in result.skip_message
    # 16:00 UTC on the 24th is already the 25th in Jining
    late = _evaluate_deadline(instance, inbox, dt.datetime(2020, 8, 24, 16, 30, tzinfo=dt.timezone.utc))
    assert late.asset_events[0].metadata["units_missing"].value == len(deliveries_due.DUE)


def test_everything_delivered_is_recorded_without_alert(inbox, instance, tmp_path):
    _deliver_due(inbox)
    log = tmp_path / "alerts.jsonl"
    result = _evaluate_deadline(instance, inbox, dt.datetime(2020, 8, 25, 9, 0, tzinfo=SHANGHAI), alert_log=log)
    assert result.asset_events[0].metadata["units_missing"].value == 0 and not log.exists()


def test_due_deliveries_are_feeds_the_units_may_deliver():
    specs = load_specs()
    for unit, feeds in deliveries_due.DUE.items():
        for feed in feeds:
            assert specs[feed].allows(unit), (unit, feed)


def test_late_and_wrongly_named_deliveries(inbox):
    _deliver_due(inbox, skip={("water", "water_bill"), ("gas", "gas_bill"), ("power", "power_bill")})
    for unit in ("water", "gas"):
        (inbox / unit / "2020-08").mkdir(parents=True, exist_ok=True)
    (inbox / "water" / "2020-08" / "water_bill.20200827.csv").write_text("x", encoding="utf-8")
    (inbox / "gas" / "2020-08" / "gas_bill.csv").write_text("x", encoding="utf-8")  # not a delivery
    (inbox / "power" / "2020-07").mkdir(parents=True)
    (inbox / "power" / "2020-07" / "power_bill.20200801.csv").write_text("x", encoding="utf-8")  # another month
    gaps = {(g.unit, g.feed): g.status for g in deliveries_due.gaps(inbox, dt.date(2020, 8, 1))}
    assert gaps == {("water", "water_bill"): "late", ("gas", "gas_bill"): "missing", ("power", "power_bill"): "missing"}
    assert deliveries_due.missing_by_unit(inbox, dt.date(2020, 8, 1)) == {"gas": ["gas_bill"], "power": ["power_bill"]}


# --- failed runs ---------------------------------------------------------------------------------------

def test_a_failed_run_sends_an_alert(instance, tmp_path):
    @dg.op
    def load_penalty():
        raise RuntimeError("connection to 370811198503120016 refused")

    @dg.job(tags={"month": "2020-08", "trigger": "inbox_sensor"})
    def failing():
        load_penalty()

    result = failing.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_run_failure)
    log = tmp_path / "alerts.jsonl"
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_event=failure.dagster_event, dagster_instance=instance,
        dagster_run=run, resources={"alerts": Alerts(log_path=str(log))}).for_run_failure()
    run_failure_alert_sensor()(context)
    (alert,) = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert alert["kind"] == "run_failure" and alert["month"] == "2020-08" and alert["title"] == "运行失败：failing 2020-08"
    assert alert["details"]["run_id"] == result.run_id and alert["details"]["trigger"] == "inbox_sensor"
    assert "load_penalty" in alert["text"] and "370811198503120016" not in alert["text"]


def test_a_run_that_will_be_retried_sends_no_alert_yet(instance, tmp_path):
    @dg.op
    def crash():
        raise RuntimeError("run worker lost")

    @dg.job(tags={"month": "2020-08", "dagster/will_retry": "true"})
    def retried():
        crash()

    result = retried.execute_in_process(instance=instance, raise_on_error=False)
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_run_failure)
    log = tmp_path / "alerts.jsonl"
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_event=failure.dagster_event, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id), resources={"alerts": Alerts(log_path=str(log))}).for_run_failure()
    run_failure_alert_sensor()(context)
    assert not log.exists()


def test_partitions_reach_the_current_month():
    assert partitions.key_of(NOW.date()) in partitions.monthly().get_partition_keys(current_time=NOW)


# --- the production instance -----------------------------------------------------------------------------

def test_deploy_dagster_yaml_is_a_working_postgres_instance(database_url, tmp_path, monkeypatch):
    """deploy/dagster.yaml as production loads it, on this worker's test database."""
    import shutil
    from urllib.parse import urlparse

    url = urlparse(database_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).parent.parent / "deploy" / "dagster.yaml", home / "dagster.yaml")
    for name, value in {"USERNAME": url.username or "postgres", "PASSWORD": url.password or "",
                        "HOST": url.hostname, "DB": url.path.lstrip("/")}.items():
        monkeypatch.setenv(f"DAGSTER_PG_{name}", value)
    if url.port not in (None, 5432):
        pytest.skip("deploy/dagster.yaml names port 5432")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs > 0
        assert {"key": "month", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in \
            config.run_queue_config.tag_concurrency_limits
        assert config.pool_config.default_pool_limit >= 1
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure  # only crashed run workers are retried
        assert instance.get_runs() == []


def test_every_step_writing_the_warehouse_retries_and_shares_the_pool(definitions):
    """Generic over the definitions: assets added later that use the warehouse must do the same. The reports
    only read it (then write files, the PDF by Chromium): they hold no warehouse slot."""
    users = [a for a in definitions.resolve_asset_graph().assets_defs
             if a.keys and "warehouse" in a.required_resource_keys]  # assets, not the (reading) checks
    reports = [a for a in users if {a.group_names_by_key[k] for k in a.keys} == {"reports"}]
    writers = [a for a in users if a not in reports]
    assert writers and reports
    for assets_def in reports:
        assert assets_def.op.pool is None, assets_def.keys
        assert assets_def.op.retry_policy is not None, assets_def.keys
    for assets_def in writers:
        assert assets_def.op.pool == "warehouse", assets_def.keys
        assert assets_def.op.retry_policy is not None and assets_def.op.retry_policy.max_retries >= 1, assets_def.keys
