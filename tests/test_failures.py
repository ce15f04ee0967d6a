"""Issue 11, "retries that make sense" and "errors that name their cause": defs/failures.py in real
Dagster steps and against a real (and an absent) PostgreSQL."""

import socket

import dagster as dg
import psycopg2

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.failures import asset_failures, reason, run_failure_reason, unreachable

FAST_RETRY = dg.RetryPolicy(max_retries=2)  # DB_RETRY's shape without its delay


def _materialize(error: Exception):
    attempts = []

    @dg.asset(key=["wh", "probe"], partitions_def=partitions.monthly(), retry_policy=FAST_RETRY)
    @asset_failures
    def probe(context: dg.AssetExecutionContext) -> None:
        attempts.append(context.retry_number)
        raise error

    with dg.instance_for_test() as instance:
        result = dg.materialize([probe], partition_key="2020-08", instance=instance, raise_on_error=False)
    return attempts, run_failure_reason(result.all_events)


def test_a_deterministic_failure_runs_once_and_names_asset_month_and_cause():
    try:
        try:
            open("/nonexistent/amr/2020-08/penalty.20200806.csv")
        except OSError as e:
            raise ValueError("reading the file failed") from e
    except ValueError as e:
        error = e
    attempts, message = _materialize(error)
    assert attempts == [0]
    assert message.startswith("wh/probe 2020-08: [Errno 2] No such file or directory: "), message
    assert "amr/2020-08/penalty.20200806.csv" in message


def test_a_transient_database_error_is_retried():
    attempts, message = _materialize(psycopg2.OperationalError("server closed the connection unexpectedly"))
    assert attempts == [0, 1, 2]
    assert message == "wh__probe: server closed the connection unexpectedly"  # the cause, not "Exceeded max_retries"


def test_reason_is_one_scrubbed_line():
    try:
        raise RuntimeError("x") from OSError("cannot open ID370811198503021235.csv\nsecond line")
    except RuntimeError as e:
        assert reason(e) == "cannot open ID370*************35.csv"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_names_host_port_and_cause(database_url):
    assert unreachable(database_url) is None
    port = _free_port()
    message = unreachable(f"postgresql://user:secret@127.0.0.1:{port}/x")
    assert message.startswith(f"cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused"), message
    assert "secret" not in message
