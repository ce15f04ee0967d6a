"""monthly_refresh on real Celery workers (issue 14): two `deploy/celery-worker` processes on the machine's
RabbitMQ, the shared Dagster instance of deploy/dagster.yaml on PostgreSQL, `jn-credit run --executor celery`
for a generated month — the warehouse must equal an in-process run of the same month, table by table.

Queues and worker names are unique per module run (parallel CI runs share the broker); workers are stopped
and the queues deleted afterwards. Without any broker at 127.0.0.1:5672 the module is skipped (.ci/run
starts RabbitMQ and sets JN_CREDIT_CELERY_REQUIRED, so CI fails instead of skipping).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import psutil
import psycopg2
import pytest
from dagster._core.events import DagsterEventType
from psycopg2 import sql

from jn_credit_dagster.defs import cluster
from jn_credit_dagster.generate import generate
from jn_credit_dagster.lib.common import database, digest, paths

from conftest import SERVER

pytestmark = pytest.mark.celery

MONTH = "2020-08"
SEED = 7
KILL_STEP = "indicators__results"  # writes wh.indicator_results in one transaction; ~2 s at small scale
BROKER = os.environ.get("JN_CREDIT_CELERY_BROKER") or cluster.DEFAULTS["JN_CREDIT_CELERY_BROKER"]


def broker_problem(url: str) -> str | None:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as e:  # noqa: BLE001 - any failure means "no broker here"
        return f"{type(e).__name__}: {e}"
    return None


@pytest.fixture(scope="module")
def broker() -> str:
    problem = broker_problem(BROKER)
    if problem:
        message = (f"no Celery broker at {BROKER} ({problem}); start RabbitMQ "
                   f"(`service rabbitmq-server start`, as .ci/run does)")
        if os.environ.get("JN_CREDIT_CELERY_REQUIRED"):
            pytest.fail(message)
        pytest.skip(message)
    return BROKER


@pytest.fixture(scope="module")
def new_database(worker_id):
    """new_database(role) -> URL of an empty database on the test server, dropped after the module."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]
    admin = psycopg2.connect(SERVER)
    admin.autocommit = True
    made = []

    def create(role: str) -> str:
        name = f"jn_celery_{role}_{worker_id}_{run}"
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        return f"{SERVER.rsplit('/', 1)[0]}/{name}"

    yield create
    for name in made:
        database.engine(f"{SERVER.rsplit('/', 1)[0]}/{name}").dispose()
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """The module's folder: the generated inbox and JN_CREDIT_HOME, which every run shares (the archive is
    keyed by content, so the ledger's archived paths are equal when runs agree)."""
    root = tmp_path_factory.mktemp("celery")
    generate(root / "inbox", MONTH, MONTH, scale="small", seed=SEED)
    (root / "home").mkdir()
    return root


def fingerprint(url: str) -> dict:
    with database.transaction(url) as cur:
        return digest.warehouse_digest(cur)


@pytest.fixture(scope="module")
def reference(place, new_database) -> dict:
    """The month run in process (the executor `jn-credit run` uses), on its own warehouse."""
    from jn_credit_dagster.definitions import defs

    url = new_database("inprocess")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", url)
        env.setenv("JN_CREDIT_HOME", str(place / "home"))
        env.setenv("JN_CREDIT_INBOX", str(place / "inbox"))
        env.setenv("JN_CREDIT_SETTLE_SECONDS", "0")  # the month was just generated, completely
        env.delenv(cluster.EXECUTOR_ENV, raising=False)
        result = defs().resolve_job_def("monthly_refresh").execute_in_process(
            partition_key=MONTH, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    tables = fingerprint(url)
    assert tables["wh.indicator_results"][0] > 0 and tables["ingest.ledger"][0] > 0
    return tables


class Cluster:
    """The shared Dagster instance (deploy/dagster.yaml on a fresh PostgreSQL database), queue names of its
    own, and the environment every process of the deployment gets (deploy/celery.env)."""

    def __init__(self, root: Path, storage_url: str, broker: str):
        self.uid = uuid.uuid4().hex[:8]
        self.queues = (f"jn_test_{self.uid}", f"jn_test_{self.uid}_warehouse")
        self.dagster_home = root / f"dagster_{self.uid}"
        self.dagster_home.mkdir()
        shutil.copy(paths.PROJECT_ROOT / "deploy" / "dagster.yaml", self.dagster_home / "dagster.yaml")
        storage = psycopg2.extensions.parse_dsn(storage_url)
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(paths.PROJECT_ROOT),  # workers import this checkout
            "JN_CREDIT_SETTLE_SECONDS": "0",  # the month was just generated, completely
            "DAGSTER_HOME": str(self.dagster_home),
            "DAGSTER_PG_HOST": storage.get("host", "127.0.0.1"), "DAGSTER_PG_DB": storage["dbname"],
            "DAGSTER_PG_USERNAME": storage.get("user", "postgres"), "DAGSTER_PG_PASSWORD": storage.get("password", ""),
            "JN_CREDIT_HOME": str(root / "home"), "JN_CREDIT_INBOX": str(root / "inbox"),
            "JN_CREDIT_CELERY_BROKER": broker,
            "JN_CREDIT_CELERY_QUEUE": self.queues[0], "JN_CREDIT_CELERY_WAREHOUSE_QUEUE": self.queues[1],
        }
        self.logs = root / f"logs_{self.uid}"
        self.logs.mkdir()

    def instance(self) -> dg.DagsterInstance:
        with pytest.MonkeyPatch.context() as env:
            for key in ("DAGSTER_PG_HOST", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"):
                env.setenv(key, self.env[key])
            return dg.DagsterInstance.from_config(str(self.dagster_home))

    def delete_queues(self) -> None:
        from kombu import Connection

        with Connection(self.env["JN_CREDIT_CELERY_BROKER"]) as connection:
            channel = connection.channel()
            for queue in self.queues:
                channel.queue_delete(queue)


class Worker:
    """One `deploy/celery-worker` in its own process group (the whole group is its "machine")."""

    def __init__(self, name: str, process: subprocess.Popen, log: Path):
        self.name, self.process, self.log = name, process, log
        self.pids: set[int] = set()

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if f"{self.name}@" in text and " ready." in text:
                parent = psutil.Process(self.process.pid)
                self.pids = {parent.pid, *(p.pid for p in parent.children(recursive=True))}
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def kill(self, sig=signal.SIGKILL) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown of the main process: it stops its pool itself
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self.kill(signal.SIGKILL)  # anything left in the group (pool children)
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def celery_cluster(broker, place, new_database):
    deployment = Cluster(place, new_database("dagster"), broker)
    yield deployment
    deployment.delete_queues()


@pytest.fixture
def start_workers(celery_cluster):
    """start_workers(warehouse_url, n) -> n running workers (concurrency 1 each), stopped after the test."""
    started: list[Worker] = []

    def start(warehouse_url: str, count: int = 2) -> list[Worker]:
        workers = []
        for letter in "abcdefgh"[:count]:
            name = f"jn-{celery_cluster.uid}-{letter}"
            log = celery_cluster.logs / f"{name}.log"
            process = subprocess.Popen(
                [str(paths.PROJECT_ROOT / "deploy" / "celery-worker"), "--concurrency", "1", "--hostname", f"{name}@%h"],
                env={**celery_cluster.env, "DATABASE_URL": warehouse_url}, cwd=paths.PROJECT_ROOT,
                stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
            workers.append(Worker(name, process, log))
        started.extend(workers)
        for worker in workers:
            worker.wait_ready()
        return workers

    yield start
    for worker in started:
        worker.stop()


def launch(celery_cluster, warehouse_url: str) -> subprocess.Popen:
    """`jn-credit run --executor celery` as the office would type it, on the cluster's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "jn_credit_dagster.cli", "run", "--executor", "celery",
         "--inbox", celery_cluster.env["JN_CREDIT_INBOX"], "--month", MONTH],
        env={**celery_cluster.env, "DATABASE_URL": warehouse_url}, cwd=paths.PROJECT_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def new_run_id(instance: dg.DagsterInstance, known: set[str], process: subprocess.Popen, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [r.run_id for r in instance.get_runs() if r.run_id not in known]
        if fresh:
            return fresh[0]
        assert process.poll() is None, process.communicate()[1][-3000:]
        time.sleep(0.2)
    raise AssertionError("the run never appeared in the instance")


def executions(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, Celery worker hostname) each time a worker began a step, in event-log order."""
    found = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data
        if data and "Celery worker" in data.metadata:
            found.append((entry.step_key, data.metadata["Celery worker"].value))
    return found


def step_events(instance, run_id, event_type) -> list[tuple[str, int]]:
    """(step key, pid of the process that wrote it) of every event of that type."""
    return [(e.step_key, e.dagster_event.pid) for e in instance.all_logs(run_id, of_type=event_type)]


def test_monthly_refresh_on_two_celery_workers_equals_in_process(celery_cluster, start_workers, new_database,
                                                                 reference):
    url = new_database("two_workers")
    workers = start_workers(url, 2)
    instance = celery_cluster.instance()
    known = {r.run_id for r in instance.get_runs()}

    process = launch(celery_cluster, url)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    assert f"{MONTH}: run" in out and "succeeded" in out

    run_id = new_run_id(instance, known, process)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    # every step ran in a worker, and both workers took steps: by hostname (the executor's engine
    # event) and by the pid each STEP_START was written from
    ran = executions(instance, run_id)
    starts = step_events(instance, run_id, DagsterEventType.STEP_START)
    from jn_credit_dagster.definitions import defs

    every_step = {node.name for node in defs().resolve_job_def("monthly_refresh").nodes}
    assert {step for step, _ in ran} == {step for step, _ in starts} == every_step
    by_worker = {w.name: {step for step, host in ran if host.startswith(f"{w.name}@")} for w in workers}
    assert all(by_worker.values()), f"a worker ran no step: { {k: len(v) for k, v in by_worker.items()} }"
    assert sum(len(v) for v in by_worker.values()) == len(ran)
    pids = {pid for _, pid in starts}
    for worker in workers:
        assert pids & worker.pids, f"no STEP_START from a process of {worker.name}"
    assert pids <= set().union(*(w.pids for w in workers))

    # the executor sent the steps of pool `warehouse` to the warehouse queue, the others to the default one
    pools = {node.name: node.definition.pool for node in defs().resolve_job_def("monthly_refresh").nodes}
    routed = dict(entry.user_message.removeprefix("step ").split(" → Celery queue ")
                  for entry in instance.all_logs(run_id)
                  if entry.dagster_event is None and " → Celery queue " in entry.user_message)
    assert set(routed) == {step for step, _ in starts}
    expected = {step: celery_cluster.queues[1] if pools[step] == "warehouse" else celery_cluster.queues[0]
                for step in routed}
    assert routed == expected and set(routed.values()) == set(celery_cluster.queues)

    assert digest.differences(reference, fingerprint(url)) == {}


def test_a_worker_killed_mid_step_loses_nothing(celery_cluster, start_workers, new_database, reference):
    """SIGKILL to one worker's whole process group while it runs indicators__results: the step's message
    was never acknowledged (task_acks_late), so RabbitMQ hands it to the other worker when the dead one's
    connection drops; the step's transaction died with it. No Dagster retry is involved."""
    url = new_database("killed_worker")
    workers = start_workers(url, 2)
    instance = celery_cluster.instance()
    known = {r.run_id for r in instance.get_runs()}

    process = launch(celery_cluster, url)
    run_id = new_run_id(instance, known, process)
    victim = None
    deadline = time.monotonic() + 300
    while victim is None and time.monotonic() < deadline and process.poll() is None:
        started = [pid for step, pid in step_events(instance, run_id, DagsterEventType.STEP_START) if step == KILL_STEP]
        if started:
            victim = next(w for w in workers if started[0] in w.pids)
            victim.kill()
            break
        time.sleep(0.05)
    assert victim is not None, "the run never started indicators__results"
    survivor = next(w for w in workers if w is not victim)

    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    assert "succeeded" in out
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS

    # the kill landed mid-step: the victim began the step and never finished it; the survivor ran it again
    hosts = [host.split("@")[0] for step, host in executions(instance, run_id) if step == KILL_STEP]
    assert hosts == [victim.name, survivor.name]
    done = [pid for step, pid in step_events(instance, run_id, DagsterEventType.STEP_SUCCESS) if step == KILL_STEP]
    assert len(done) == 1 and done[0] in survivor.pids
    # redelivered by the broker, not retried by Dagster
    assert KILL_STEP not in {step for step, _ in step_events(instance, run_id, DagsterEventType.STEP_RESTARTED)}

    assert digest.differences(reference, fingerprint(url)) == {}


def test_the_executor_follows_the_environment(monkeypatch):
    """JN_CREDIT_EXECUTOR=celery puts every job of the Definitions on the Celery executor (what the daemon
    launches); unset, Dagster's default stays — and `jn-credit run` executes in process either way."""
    from jn_credit_dagster.definitions import defs

    monkeypatch.delenv(cluster.EXECUTOR_ENV, raising=False)
    assert defs().resolve_job_def("monthly_refresh").executor_def.name == "multi_or_in_process_executor"
    monkeypatch.setenv(cluster.EXECUTOR_ENV, "celery")
    for job in ("monthly_refresh", "ingest_month"):
        assert defs().resolve_job_def(job).executor_def is cluster.celery_executor
    assert cluster.monthly_refresh().executor_def is cluster.celery_executor


def test_workers_and_runs_build_one_celery_configuration(monkeypatch):
    """The worker's app is the run's app: same broker, backend, default queue, and the settings that make
    a lost worker's step come back (acks late, reject on worker lost, one message at a time)."""
    monkeypatch.setenv("JN_CREDIT_CELERY_BROKER", "pyamqp://someone:secret@mq.example:5672//")
    monkeypatch.setenv("JN_CREDIT_CELERY_QUEUE", "steps_x")
    app = cluster.worker_app()
    run_side = cluster.build_executor()
    assert app.conf.broker_url == run_side.broker == "pyamqp://someone:secret@mq.example:5672//"
    assert app.conf.result_backend == run_side.backend == "rpc://"
    assert app.conf.task_default_queue == "steps_x" and run_side.warehouse_queue == "warehouse"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert "execute_plan" in app.tasks


def test_a_celery_run_refuses_what_workers_cannot_share(tmp_path):
    """No DATABASE_URL (the embedded server is this machine's alone), or a DAGSTER_HOME on the default local
    instance: one line on stderr, exit 1, before anything is sent to a broker."""
    (tmp_path / "inbox").mkdir()
    command = [sys.executable, "-m", "jn_credit_dagster.cli", "run", "--executor", "celery",
               "--inbox", str(tmp_path / "inbox"), "--month", MONTH]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DAGSTER_HOME=str(tmp_path / "dagster"), JN_CREDIT_HOME=str(tmp_path / "home"))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "DATABASE_URL" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = subprocess.run(command, env={**env, "DATABASE_URL": SERVER}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "dagster-postgres" in done.stderr, done.stderr[-2000:]
