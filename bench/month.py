"""One generated month through `jn-credit run`, from an empty database, against raw COPY.

    python bench/month.py --scale city --month 2020-08 [--inbox DIR]

Generates the month (unless --inbox already holds it), creates an empty database on DATABASE_URL's
server, runs `jn-credit run` for the month (every asset: ingest, warehouse, indicators, reports) in a
child process with its own DAGSTER_HOME, and prints the seconds per stage from the run's step
statistics. copy_s is a raw COPY of all the month's CSV bytes into unlogged text tables: the speed
at which PostgreSQL alone takes the same bytes. Last line: run_s=… copy_s=… x=run_s/copy_s
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import psycopg2
from psycopg2 import sql

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest.readers import fingerprint

PG_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "gb18030": "GB18030"}


def fresh_database(server: str, name: str) -> str:
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    return f"{server.rsplit('/', 1)[0]}/{name}"


def raw_copy(url: str, files: list[Path]) -> tuple[float, int]:
    """COPY every CSV byte of the month into unlogged text tables; (seconds, bytes)."""
    total, seconds = 0, 0.0
    for path in files:
        encoding = fingerprint(path, text=True).encoding
        with open(path, encoding=encoding, newline="") as f:
            width = len(next(csv.reader(f), []))
        columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(width))
        with database.transaction(url) as cur:
            cur.execute("DROP TABLE IF EXISTS bench_month_copy")
            cur.execute(sql.SQL("CREATE UNLOGGED TABLE bench_month_copy ({})").format(columns))
        started = time.perf_counter()
        try:
            with database.transaction(url) as cur, open(path, "rb") as f:
                cur.copy_expert(sql.SQL("COPY bench_month_copy FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING {})")
                                .format(sql.Literal(PG_ENCODINGS[encoding])).as_string(cur), f, size=1 << 20)
        except psycopg2.Error:
            continue  # a file COPY itself cannot take (ragged, mixed encoding) does not count
        seconds += time.perf_counter() - started
        total += path.stat().st_size
    with database.transaction(url) as cur:
        cur.execute("DROP TABLE IF EXISTS bench_month_copy")
    return seconds, total


class ServerCpu(threading.Thread):
    """The CPU seconds of PostgreSQL's backends serving one database, sampled from /proc while the run
    goes (the run's own process is measured by getrusage; together they are the run's CPU, the figure
    to compare on a machine other work shares). Needs the server on this host and /proc readable."""

    def __init__(self, server: str, database: str, interval: float = 0.2):
        super().__init__(daemon=True)
        self.server, self.database, self.interval = server, database, interval
        self.seen: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        watcher = psycopg2.connect(self.server)
        watcher.autocommit = True
        with watcher.cursor() as cur:
            while not self.done.is_set():
                cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))
                for (pid,) in cur.fetchall():
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / tick
                self.done.wait(self.interval)
        watcher.close()

    def stop(self) -> float:
        self.done.set()
        self.join()
        return sum(self.seen.values())


def step_seconds(dagster_home: Path) -> dict[str, float]:
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    instance = dg.DagsterInstance.get()
    run = instance.get_runs(limit=1)[0]
    return {step.step_key: step.end_time - step.start_time
            for step in instance.get_run_step_stats(run.run_id) if step.start_time and step.end_time}


def by_stage(steps: dict[str, float]) -> dict[str, float]:
    """Seconds per asset prefix (raw, wh, indicators…); a report step on its own, by its asset
    (reports/explanations beside month_reports, the multi-asset of the other three)."""
    stages: dict[str, float] = defaultdict(float)
    for key, seconds in steps.items():
        stages[key.replace("__", "/") if key.startswith("reports__") else key.split("__")[0]] += seconds
    return dict(sorted(stages.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["small", "city"], default="city")
    parser.add_argument("--month", default="2020-08")
    parser.add_argument("--inbox", help="an inbox that holds the month already (else one is generated)")
    parser.add_argument("--database", default="jn_bench_month",
                        help="the database made afresh for the run (kept afterwards, to compare results)")
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(args.inbox) if args.inbox else Path(tmp) / "inbox"
        if not args.inbox:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", "generate", "--inbox", str(inbox),
                            "--months", f"{args.month}:{args.month}", "--scale", args.scale], check=True,
                           stdout=subprocess.DEVNULL)
            print(f"generated {args.scale} {args.month} in {time.perf_counter() - started:.0f}s")
        files = sorted(inbox.glob(f"*/{args.month}/*"))
        csvs = [p for p in files if p.suffix == ".csv"]
        print(f"{len(files)} files, {sum(p.stat().st_size for p in files) / 2**20:.0f} MB ({len(csvs)} CSV)")

        url = fresh_database(server, args.database)
        home = Path(tmp) / "home"
        env = {**os.environ, "JN_CREDIT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
               "JN_CREDIT_SETTLE_SECONDS": "0"}
        server_cpu = ServerCpu(server, args.database)
        server_cpu.start()
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", "run", "--inbox", str(inbox),
                               "--month", args.month, "--database-url", url], env=env, capture_output=True, text=True)
        run_s = time.perf_counter() - started
        child = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run's own process (PostgreSQL's time is not in it)
        pg_cpu = server_cpu.stop()
        if done.returncode:
            print(done.stdout[-2000:], done.stderr[-2000:])
            raise SystemExit(f"jn-credit run failed ({done.returncode})")
        steps = step_seconds(home / "dagster")
        for stage, seconds in by_stage(steps).items():
            print(f"  {stage:<24} {seconds:7.1f}s")
        print(f"  CPU: run process user {child.ru_utime:.1f}s sys {child.ru_stime:.1f}s, PostgreSQL {pg_cpu:.1f}s, "
              f"total {child.ru_utime + child.ru_stime + pg_cpu:.1f}s; load average {os.getloadavg()[0]:.1f}")
        slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:8]
        print("  slowest steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in slowest))

        copy_s, copied = raw_copy(url, csvs)
        print(f"raw COPY of {copied / 2**20:.0f} MB of CSV: {copy_s:.1f}s")
    print(f"run_s={run_s:.1f} copy_s={copy_s:.1f} x={run_s / copy_s:.1f}")


if __name__ == "__main__":
    main()
