"""The asset graph's months, through Dagster's own machinery: a backfill launched as the UI launches one
(an asset backfill on the instance, advanced by the daemon's backfill iteration) runs an event feed's
months in order and writes exactly the rows of running them one by one; re-ingesting an earlier month
marks every later month that reads it stale (Dagster's stale-status resolver, as the UI computes it)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from conftest import scratch_database
from dagster._core.definitions.data_version import StaleStatus
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.backfill import execute_backfill_iteration

from jn_credit_dagster.definitions import defs
from jn_credit_dagster.defs.ingest.assets import feed_asset, inbox_asset
from jn_credit_dagster.defs.warehouse.facts import fact_asset
from jn_credit_dagster.defs.warehouse.subjects import subjects_asset
from jn_credit_dagster.defs.ingest.steps import INBOX_KEY, feed_key
from jn_credit_dagster.lib.common import database, digest
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.defs.resources import Inbox, Warehouse

PENALTY = yaml.safe_load((Path(__file__).parent / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]
MONTHS = ["2020-07", "2020-08", "2020-09"]
# When the backfill is launched: 2020-09 is then the last partition. (A backfill of earlier months also runs
# every later month of what reads them to date: launched today, the test would run six years of months.)
LAUNCHED = dt.datetime(2020, 9, 25, 12, 0, tzinfo=dt.UTC)
RESULTS = dg.AssetKey(["indicators", "results"])
# An event feed, its latest-state neighbour and the subject master: enough to show the months' order.
BACKFILLED = [INBOX_KEY, feed_key("penalty"), feed_key("blacklist"), dg.AssetKey(["wh", "blacklist"]),
              dg.AssetKey(["wh", "subjects"])]


def _penalty(decided: str, number: str) -> dict:
    return dict(PENALTY, 处罚决定日期=decided, 行政处罚决定书文号=number)


@pytest.fixture
def three_months(deliver):
    """2020-07's decision delivered again in 2020-08's folder: a duplicate_key there only when July ran first."""
    deliver("amr", "2020-07", "penalty.20200720.csv", [_penalty("2020-07-10", "济任市监罚〔2020〕7号")])
    deliver("amr", "2020-08", "penalty.20200820.csv", [_penalty("2020-07-10", "济任市监罚〔2020〕7号"),
                                                       _penalty("2020-08-10", "济任市监罚〔2020〕8号")])
    deliver("amr", "2020-09", "penalty.20200920.csv", [_penalty("2020-09-10", "济任市监罚〔2020〕9号")])


@pytest.fixture
def daemon_instance(monkeypatch):
    """An instance whose run launcher executes each launched run in this process, as it is launched."""
    monkeypatch.setenv("JN_CREDIT_AUTOMATION", "off")
    with dg.instance_for_test(overrides={
            "run_launcher": {"module": "dagster._core.launcher.sync_in_memory_run_launcher",
                             "class": "SyncInMemoryRunLauncher"},
            "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}}) as instance:
        yield instance


def _workspace(instance):
    origin = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(executable_path=sys.executable, module_name="jn_credit_dagster.definitions",
                                                    attribute="defs", working_directory=str(Path(__file__).parents[1])),
        location_name="jn_credit_dagster")
    return create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance)


def _penalty_months_in_order(instance) -> list[str]:
    records = instance.fetch_materializations(feed_key("penalty"), limit=100, ascending=True).records
    return [r.partition_key for r in records]


def test_a_backfill_runs_the_months_in_order_and_equals_one_by_one(db, inbox, three_months, daemon_instance,
                                                                   monkeypatch):
    monkeypatch.setenv("JN_CREDIT_INBOX", str(inbox))
    with database.transaction(db) as cur:  # what earlier tests of this worker built, beyond the feeds `db` empties
        cur.execute("TRUNCATE wh.subjects, wh.calendar, wh.units, wh.districts, wh.indicator_results, wh.indicator_totals")
    definitions = defs()
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id="lineage", asset_graph=definitions.resolve_asset_graph(), partition_names=MONTHS,
        asset_selection=BACKFILLED, backfill_timestamp=LAUNCHED.timestamp(), tags={}, dynamic_partitions_store=daemon_instance,
        all_partitions=False, title=None, description=None,
        run_config={"execution": {"config": {"in_process": {}}}})  # no step subprocesses: seconds, not minutes
    daemon_instance.add_backfill(backfill)
    launched_per_tick = []
    with _workspace(daemon_instance) as workspace:
        for _ in range(20):  # the daemon's ticks, each launching what has its upstream months done
            before = len(daemon_instance.get_runs())
            list(execute_backfill_iteration(workspace, logging.getLogger("backfill")))
            runs = daemon_instance.get_runs()[: len(daemon_instance.get_runs()) - before]
            launched_per_tick.append(sorted((r.tags.get("dagster/partition", ""), r.status.value,
                                             tuple(sorted(k.to_user_string() for k in r.asset_selection or ())))
                                            for r in runs))
            if daemon_instance.get_backfill("lineage").status != BulkActionStatus.REQUESTED:
                break
    assert daemon_instance.get_backfill("lineage").status == BulkActionStatus.COMPLETED_SUCCESS, launched_per_tick
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in daemon_instance.get_runs())
    # penalty's month M waited for M − 1: launched one month per tick, and materialized in order
    penalty_ticks = [[month for month, _, keys in tick if "raw/penalty" in keys] for tick in launched_per_tick]
    assert [t for t in penalty_ticks if t] == [[m] for m in MONTHS], launched_per_tick
    assert _penalty_months_in_order(daemon_instance) == MONTHS
    with database.transaction(db) as cur:
        cur.execute("SELECT month, reasons FROM quarantine.penalty")
        assert [(f"{m:%Y-%m}", r) for m, r in cur.fetchall()] == [("2020-08", ["duplicate_key"])]
        backfilled = digest.warehouse_digest(cur)

    with scratch_database("lineage_one_by_one") as url:
        database.ensure_schema(url)
        specs = load_specs()
        assets = [inbox_asset(), feed_asset(specs["penalty"]), feed_asset(specs["blacklist"]),
                  fact_asset(specs["blacklist"]), subjects_asset()]
        for month in MONTHS:
            result = dg.materialize(assets, partition_key=month,
                                    resources={"warehouse": Warehouse(database_url=url), "inbox": Inbox(path=str(inbox))},
                                    instance=dg.DagsterInstance.ephemeral())
            assert result.success
        with database.transaction(url) as cur:
            one_by_one = digest.warehouse_digest(cur)
    assert digest.differences(backfilled, one_by_one) == {}
    assert backfilled["raw.penalty"][0] == 3 and backfilled["quarantine.penalty"][0] == 1


# --- stale marks ------------------------------------------------------------------------------------------

def _stale(workspace, key: dg.AssetKey, month: str) -> StaleStatus:
    """The status the UI shows: the workspace's stale-status resolver, a fresh one per look."""
    return workspace.create_request_context().stale_status_loader.get_status(key, month)


def _run(definitions, job: str, keys, month, instance, inbox):
    subset = definitions.resolve_job_def(job)
    if keys is not None:
        subset = subset.get_subset(asset_selection=set(keys))
    result = subset.execute_in_process(partition_key=month, instance=instance, raise_on_error=False,
                                       resources={"inbox": Inbox(path=str(inbox)), "warehouse": Warehouse()})
    assert result.success, month


def test_reingesting_an_earlier_month_marks_the_later_months_stale(db, inbox, deliver, three_months,
                                                                   daemon_instance):
    from jn_credit_dagster.defs.jobs import FINAL_JOB, REFRESH_JOB
    from jn_credit_dagster.defs.reports.assets import RECTIFICATION_KEY

    definitions = defs()
    deliver("bigdata", "2020-07", "activity.20200720.csv", [{"x": "1"}])
    for month in MONTHS[:2]:
        _run(definitions, REFRESH_JOB, None, month, daemon_instance, inbox)
    _run(definitions, FINAL_JOB, [RECTIFICATION_KEY], "2020-08", daemon_instance, inbox)  # a report, no PDF
    penalty, activity, blacklist = feed_key("penalty"), feed_key("activity"), feed_key("blacklist")
    with _workspace(daemon_instance) as workspace:
        everything = [RESULTS, RECTIFICATION_KEY, penalty, activity, blacklist, dg.AssetKey(["wh", "subjects"])]
        assert {(k.to_user_string(), m) for k in everything for m in ("2020-07", "2020-08")
                if k != RECTIFICATION_KEY or m == "2020-08"
                if _stale(workspace, k, m) != StaleStatus.FRESH} == set()

        # activity is read for M alone by the indicators (I18, I39): July's re-ingest leaves August's fresh;
        # the reports read the ledger to date: August's are stale
        _run(definitions, REFRESH_JOB, [activity], "2020-07", daemon_instance, inbox)
        assert _stale(workspace, RESULTS, "2020-07") == StaleStatus.STALE
        assert _stale(workspace, RESULTS, "2020-08") == StaleStatus.FRESH
        assert _stale(workspace, RECTIFICATION_KEY, "2020-08") == StaleStatus.STALE

        # penalty is read to date (I06, I35) and judges duplicates against earlier months: everything of
        # August that reads it goes stale, its own August included; a feed that does not read it stays fresh
        _run(definitions, REFRESH_JOB, [RESULTS], "2020-08", daemon_instance, inbox)
        assert _stale(workspace, RESULTS, "2020-08") == StaleStatus.FRESH
        _run(definitions, REFRESH_JOB, [penalty], "2020-07", daemon_instance, inbox)
        for key in (RESULTS, penalty, dg.AssetKey(["wh", "subjects"])):
            assert _stale(workspace, key, "2020-08") == StaleStatus.STALE, key
        assert _stale(workspace, RECTIFICATION_KEY, "2020-08") == StaleStatus.STALE
        assert _stale(workspace, blacklist, "2020-08") == StaleStatus.FRESH
        causes = workspace.create_request_context().stale_status_loader.get_stale_root_causes(RESULTS, "2020-08")
        assert {(c.key.asset_key, c.key.partition_key) for c in causes} >= {(penalty, "2020-07")}
