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


# --- issue 11: safe and honest by default ------------------------------------------------------------------

def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_database_fails_in_seconds_with_one_line_and_no_password(inbox, tmp_path):
    import time
    port = _free_port()
    url = f"postgresql://user:hunter2secret@127.0.0.1:{port}/jn"
    for args in (["run", "--inbox", str(inbox), "--month", "2020-08"], ["indicators", "--month", "2020-08"],
                 ["demo", "--out", str(tmp_path / "demo")]):
        started = time.monotonic()
        done = jn_credit(*args, "--database-url", url,
                         env={"DAGSTER_HOME": str(tmp_path / "dh"), "JN_CREDIT_HOME": str(tmp_path / "h")})
        assert done.returncode == 1 and time.monotonic() - started < 30, done.stderr[-2000:]
        assert done.stderr == f"jn-credit: error: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused\n"
        assert "hunter2secret" not in done.stdout + done.stderr


def test_run_prints_progress_and_log_path_and_never_the_password(db, deliver, inbox, tmp_path):
    from urllib.parse import urlparse
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    url = urlparse(db)
    # the same server, with a password it does not check (trust auth): it must not be printed
    with_password = db.replace(f"{url.scheme}://{url.username}@", f"{url.scheme}://{url.username}:hunter2secret@")
    home, dh = tmp_path / "h", tmp_path / "dh"
    done = jn_credit("run", "--inbox", str(inbox), "--month", "2020-08", "--database-url", with_password,
                     env={"DAGSTER_HOME": str(dh), "JN_CREDIT_HOME": str(home)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "hunter2secret" not in done.stdout + done.stderr
    logs = list((home / "logs").glob("run-*.log"))
    assert len(logs) == 1 and f"event log {logs[0]}" in done.stdout
    assert "STEP_SUCCESS" in logs[0].read_text(encoding="utf-8") and "hunter2secret" not in logs[0].read_text(encoding="utf-8")
    assert "DEBUG" not in done.stderr and len(done.stderr) < 2000, done.stderr[-2000:]
    assert any(line.strip().startswith("2020-08") and "raw__penalty" in line and "1 files" in line and "1 rows" in line
               for line in done.stdout.splitlines()), done.stdout
    assert "enabled: false" in (dh / "dagster.yaml").read_text(encoding="utf-8")  # no telemetry


def test_verbose_streams_the_event_log(db, deliver, inbox, tmp_path):
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    done = jn_credit("run", "--inbox", str(inbox), "--month", "2020-08", "--verbose",
                     env={"DAGSTER_HOME": str(tmp_path / "dh"), "JN_CREDIT_HOME": str(tmp_path / "h")})
    assert done.returncode == 0 and "STEP_SUCCESS" in done.stderr


def test_sigterm_cancels_a_run_and_the_next_run_fails_a_killed_one(db, deliver, inbox, tmp_path):
    import signal
    import time

    import dagster as dg
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dh"), "JN_CREDIT_HOME": str(tmp_path / "h")}
    args = [sys.executable, "-m", "jn_credit_dagster.cli", "run", "--inbox", str(inbox), "--month", "2020-08"]

    def started(proc):
        for _ in range(600):
            if "[" in (tmp_path / "out.txt").read_text(encoding="utf-8"):
                return
            assert proc.poll() is None
            time.sleep(0.1)
        raise AssertionError("no step finished")

    with open(tmp_path / "out.txt", "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, text=True, env=env)
        started(proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "canceled" in err, err
    with open(tmp_path / "out.txt", "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL, env=env)
        started(proc)
        proc.kill()
        proc.wait()
    os.environ["DAGSTER_HOME"], saved = str(tmp_path / "dh"), os.environ.get("DAGSTER_HOME")
    try:
        with dg.DagsterInstance.get() as instance:
            statuses = [r.status for r in instance.get_runs()]
            assert statuses.count(dg.DagsterRunStatus.STARTED) == 1 and dg.DagsterRunStatus.CANCELED in statuses
        done = jn_credit("run", "--inbox", str(inbox), "--month", "2020-08", env=env)
        assert done.returncode == 0 and "marked failed" in done.stdout, done.stderr[-2000:]
        with dg.DagsterInstance.get() as instance:
            assert dg.DagsterRunStatus.STARTED not in [r.status for r in instance.get_runs()]
    finally:
        if saved is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = saved


def test_dev_stops_everything_it_started_on_sigterm(db, inbox, tmp_path):
    import signal
    import time
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dh"), "JN_CREDIT_HOME": str(tmp_path / "h")}
    proc = subprocess.Popen([sys.executable, "-m", "jn_credit_dagster.cli", "dev", "--inbox", str(inbox),
                             "--port", str(_free_port())], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    line = proc.stdout.readline()
    assert "Dagster UI on" in line, line
    children = []
    for _ in range(100):  # the daemon and the webserver, each in a process group of its own
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        if len(children) >= 2:
            break
        time.sleep(0.1)
    assert len(children) == 2
    groups = {os.getpgid(int(c)) for c in children}
    assert os.getpgid(proc.pid) not in groups and len(groups) == 2
    time.sleep(3)  # let them start their code servers
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    for g in groups:
        # a zombie waiting for init to reap it runs nothing and holds nothing: only live processes count
        pids = subprocess.run(["pgrep", "-g", str(g)], capture_output=True, text=True).stdout.split()
        states = {pid: subprocess.run(["ps", "-o", "stat=", "-p", pid], capture_output=True, text=True).stdout.strip()
                  for pid in pids}
        left = [pid for pid, state in states.items() if state and not state.startswith("Z")]
        assert left == [], f"process group {g} still has {left}"
