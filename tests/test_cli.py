"""`jn-credit` as a user runs it: a real process, a real inbox, a real database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PENALTY = yaml.safe_load((Path(__file__).parent / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]


def jn_credit(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=600)


def test_run_materializes_the_month(db, deliver, inbox, query, tmp_path):
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY, dict(PENALTY, 行政处罚决定书文号="X-2", 处罚机关统一社会信用代码="bad")])
    done = jn_credit("run", "--inbox", str(inbox), "--month", "2020-08", env={"DAGSTER_HOME": str(tmp_path / "dh")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2020-08: run" in done.stdout and "succeeded" in done.stdout
    assert "raw/penalty" in done.stdout and "check raw/penalty:expectations failed (WARN)" in done.stdout
    assert query("SELECT count(*) FROM raw.penalty") == [(1,)]
    assert query("SELECT reasons FROM quarantine.penalty") == [(["invalid_uscc:处罚机关统一社会信用代码"],)]
    assert any((tmp_path / "dh").iterdir()), "runs are recorded in DAGSTER_HOME for the UI"


@pytest.mark.parametrize("args, message", [
    (["run", "--month", "2020-13"], "month must be YYYY-MM"),
    (["run", "--month", "2018-12"], "outside the partitions"),
    (["run", "--inbox", "/nonexistent/inbox", "--month", "2020-08"], "is not a folder"),
])
def test_errors_exit_non_zero_with_one_line(args, message, db, inbox, tmp_path):
    if "--inbox" not in args:
        args = [*args, "--inbox", str(inbox)]
    done = jn_credit(*args, env={"DAGSTER_HOME": str(tmp_path / "dh")})
    assert done.returncode != 0
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.embedded
def test_embedded_postgres_without_a_server(deliver, inbox, tmp_path):
    """No DATABASE_URL: the embedded PostgreSQL under JN_CREDIT_HOME serves, same code path."""
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(JN_CREDIT_HOME=str(tmp_path / "h"), DAGSTER_HOME=str(tmp_path / "dh"))
    done = subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", "run", "--inbox", str(inbox), "--month", "2020-08"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 accepted" in done.stdout
    assert (tmp_path / "h" / "pgdata" / "PG_VERSION").exists()
