"""The local instance the CLI writes: Dagster's SQLite event log with its connections kept open
(defs/event_log.py). Same files as Dagster's default, readable by it; bounded; wipe and dispose."""

from __future__ import annotations

import dagster as dg
import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from jn_credit_dagster.cli import _instance_yaml
from jn_credit_dagster.defs.event_log import KEEP_RUNS, KeptOpenSqliteEventLogStorage


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a", "b", "c"]))
def tally(context) -> dg.MaterializeResult:
    context.log.info("counted")
    return dg.MaterializeResult(metadata={"rows": 3})


def test_the_cli_instance_keeps_its_event_log_open_and_dagster_reads_the_same_files(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    _instance_yaml(home)
    config = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))
    assert config["telemetry"] == {"enabled": False}
    assert config["event_log_storage"]["class"] == "KeptOpenSqliteEventLogStorage"

    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, KeptOpenSqliteEventLogStorage)
        run_ids = []
        for key in ["a", "b", "c"] * 2:
            result = dg.materialize([tally], instance=instance, partition_key=key)
            assert result.success
            run_ids.append(result.run_id)
        # index.db and at most KEEP_RUNS run files stay open, however many runs it has stored
        assert "index" in storage._engines and len(storage._engines) <= KEEP_RUNS + 1
        assert set(storage._engines) - {"index"} <= set(run_ids[-KEEP_RUNS:])
        ours = {r: [e.dagster_event_type for e in instance.all_logs(r)] for r in run_ids}
        latest = instance.get_latest_materialization_event(tally.key)

    plain = SqliteEventLogStorage(str(home / "history" / "runs"))  # Dagster's own, on the same files
    for run_id, types in ours.items():
        assert [e.dagster_event_type for e in plain.get_logs_for_run(run_id)] == types
        assert dg.DagsterEventType.ASSET_MATERIALIZATION in types and dg.DagsterEventType.RUN_SUCCESS in types
    assert plain.get_latest_materialization_events([tally.key])[tally.key].run_id == latest.run_id == run_ids[-1]


def test_wipe_closes_the_files_it_deletes_and_the_storage_goes_on(tmp_path):
    storage = KeptOpenSqliteEventLogStorage(str(tmp_path / "runs"))
    with storage.run_connection("r1") as conn:
        conn.exec_driver_sql("SELECT 1")
    assert (tmp_path / "runs" / "r1.db").exists() and "r1" in storage._engines
    storage.wipe()
    assert not (tmp_path / "runs" / "r1.db").exists() and storage._engines.keys() <= {"index"}
    with storage.run_connection("r2") as conn:  # a new run after the wipe gets a new file
        conn.exec_driver_sql("SELECT 1")
    assert (tmp_path / "runs" / "r2.db").exists()
    storage.dispose()
    assert not storage._engines


def test_a_chosen_storage_is_left_alone_and_an_older_home_is_brought_up_to_date(tmp_path):
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    text = "storage:\n  postgres:\n    postgres_url: postgresql://x@y/z\n"
    (chosen / "dagster.yaml").write_text(text, encoding="utf-8")
    _instance_yaml(chosen)
    config = yaml.safe_load((chosen / "dagster.yaml").read_text(encoding="utf-8"))
    assert "event_log_storage" not in config and config["storage"] == {"postgres": {"postgres_url": "postgresql://x@y/z"}}

    older = tmp_path / "older"  # a home the CLI wrote before: telemetry only
    older.mkdir()
    (older / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    _instance_yaml(older)
    _instance_yaml(older)  # twice: nothing added twice
    text = (older / "dagster.yaml").read_text(encoding="utf-8")
    assert text.count("event_log_storage:") == 1 and text.count("telemetry:") == 1
