"""One generated month three ways: in process, on 1 Celery worker, on 2 Celery workers; wall times and
where they go. Needs PostgreSQL (DATABASE_URL names a server; fresh databases are made and dropped) and
RabbitMQ (JN_CREDIT_CELERY_BROKER, default 127.0.0.1:5672).

    python bench/celery.py                      # small scale (seconds per step)
    python bench/celery.py --scale city         # a city month (2.0 M rows): minutes per run

Each mode is `jn-credit run` as typed (with `--executor celery` for the workers), on its own warehouse and
the same Dagster instance (deploy/dagster.yaml on PostgreSQL, pool `warehouse` = 2). Workers start fresh
before their run (concurrency 1 each: one worker = one core's worth of a machine) and are not warmed up.
The last line is `inprocess_s=… one_worker_s=… two_workers_s=…`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jn_credit_dagster.defs import cluster  # noqa: E402
from jn_credit_dagster.generate import generate  # noqa: E402
from jn_credit_dagster.lib.common import database, digest  # noqa: E402

SERVER = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def make_database(admin, name: str) -> str:
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{SERVER.rsplit('/', 1)[0]}/{name}"


def start_worker(env: dict, name: str, log: Path) -> subprocess.Popen:
    process = subprocess.Popen([str(ROOT / "deploy" / "celery-worker"), "--concurrency", "1",
                                "--hostname", f"{name}@%h"], env=env, cwd=ROOT, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker {name} did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()  # warm shutdown of the main process: it stops its pool itself
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # anything left of its group
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def breakdown(instance, run_id: str) -> dict:
    """Seconds: the run's wall time, Σ step compute (STEP_START → end), Σ waits between the executor's
    submit and a worker picking the step up (broker queue + pool slot hand-off; summed over steps that
    wait side by side, so it can exceed the run), Σ worker overhead before the step starts (build the
    plan, open resources)."""
    from dagster._core.events import DagsterEventType

    marks = defaultdict(dict)
    for e in instance.all_logs(run_id):
        ev = e.dagster_event
        if ev is None:
            continue
        kind, step = ev.event_type_value, e.step_key
        if kind == "ENGINE_EVENT" and step and ev.message and ev.message.startswith("Submitting celery task"):
            marks[step].setdefault("submit", e.timestamp)
        elif kind == "ENGINE_EVENT" and step and ev.message and "in celery worker" in ev.message:
            marks[step]["picked"] = e.timestamp
        elif kind == DagsterEventType.STEP_START.value:
            marks[step]["start"] = e.timestamp
        elif kind in (DagsterEventType.STEP_SUCCESS.value, DagsterEventType.STEP_FAILURE.value):
            marks[step]["end"] = e.timestamp
    stats = instance.get_run_stats(run_id)
    total = lambda a, b: sum(m[b] - m[a] for m in marks.values() if a in m and b in m)  # noqa: E731
    return {"run": stats.end_time - stats.start_time, "steps": len(marks), "compute": total("start", "end"),
            "queue": total("submit", "picked"), "worker_overhead": total("picked", "start")}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=["small", "city"], default="small")
    p.add_argument("--month", default="2020-08")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()

    import dagster as dg

    work = Path(tempfile.mkdtemp(prefix="bench_celery_"))
    uid = uuid.uuid4().hex[:8]
    admin = psycopg2.connect(SERVER)
    admin.autocommit = True
    names = {m: f"bench_celery_{m}_{uid}" for m in ("dagster", "inprocess", "one_worker", "two_workers")}
    urls = {m: make_database(admin, n) for m, n in names.items()}
    storage = psycopg2.extensions.parse_dsn(urls["dagster"])
    (work / "dagster").mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", work / "dagster" / "dagster.yaml")
    queues = (f"bench_{uid}", f"bench_{uid}_warehouse")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT), "DAGSTER_HOME": str(work / "dagster"),
           "DAGSTER_PG_HOST": storage.get("host", "127.0.0.1"), "DAGSTER_PG_DB": storage["dbname"],
           "DAGSTER_PG_USERNAME": storage.get("user", "postgres"), "DAGSTER_PG_PASSWORD": storage.get("password", ""),
           "JN_CREDIT_HOME": str(work / "home"), "JN_CREDIT_INBOX": str(work / "inbox"),
           "JN_CREDIT_CELERY_QUEUE": queues[0], "JN_CREDIT_CELERY_WAREHOUSE_QUEUE": queues[1]}
    os.environ.update({k: env[k] for k in env if k.startswith("DAGSTER_PG_") or k == "DAGSTER_HOME"})
    started = time.perf_counter()
    generate(work / "inbox", args.month, args.month, scale=args.scale, seed=args.seed)
    files = sum(1 for f in (work / "inbox").rglob("*") if f.is_file())
    print(f"generated {args.scale} {args.month}: {files} files in {time.perf_counter() - started:.1f}s ({work / 'inbox'})")

    walls, details = {}, {}
    workers: list[subprocess.Popen] = []
    try:
        with dg.DagsterInstance.get() as instance:
            for mode, count in (("inprocess", 0), ("one_worker", 1), ("two_workers", 2)):
                menv = {**env, "DATABASE_URL": urls[mode]}
                workers = [start_worker(menv, f"bench-{uid}-{mode}-{i}", work / f"{mode}-{i}.log") for i in range(count)]
                command = [sys.executable, "-m", "jn_credit_dagster.cli", "run", "--inbox", env["JN_CREDIT_INBOX"],
                           "--month", args.month] + (["--executor", "celery"] if count else [])
                known = {r.run_id for r in instance.get_runs()}
                began = time.perf_counter()
                done = subprocess.run(command, env=menv, cwd=ROOT, capture_output=True, text=True)
                walls[mode] = time.perf_counter() - began
                for w in workers:
                    stop_worker(w)
                workers = []
                if done.returncode != 0:
                    raise SystemExit(f"{mode} failed: {done.stderr[-2000:]}")
                run_id = next(r.run_id for r in instance.get_runs() if r.run_id not in known)
                details[mode] = breakdown(instance, run_id)
        prints = {}
        for mode in walls:
            with database.transaction(urls[mode]) as cur:
                prints[mode] = digest.warehouse_digest(cur)
        same = all(digest.differences(prints["inprocess"], prints[m]) == {} for m in prints)
        rows = sum(n for n, _ in prints["inprocess"].values())
        print(f"warehouse: {len(prints['inprocess'])} tables, {rows} rows; identical in all three runs: {'yes' if same else 'NO'}")
        print(f"{'mode':<12} {'wall_s':>7} {'run_s':>7} {'steps':>5} {'Σcompute':>9} {'Σqueue':>8} {'Σworker_ovh':>11}")
        for mode, d in details.items():
            print(f"{mode:<12} {walls[mode]:7.1f} {d['run']:7.1f} {d['steps']:5d} {d['compute']:9.1f} "
                  f"{d['queue']:8.1f} {d['worker_overhead']:11.1f}")
    finally:
        for w in workers:
            stop_worker(w)
        from kombu import Connection

        with Connection(env.get("JN_CREDIT_CELERY_BROKER") or cluster.DEFAULTS["JN_CREDIT_CELERY_BROKER"]) as c:
            channel = c.channel()
            for queue in queues:
                channel.queue_delete(queue)
        for name in names.values():
            database.engine(f"{SERVER.rsplit('/', 1)[0]}/{name}").dispose()
            with admin.cursor() as cur:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        shutil.rmtree(work, ignore_errors=True)
    print(f"inprocess_s={walls['inprocess']:.1f} one_worker_s={walls['one_worker']:.1f} "
          f"two_workers_s={walls['two_workers']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
