"""One generated month through `jn-credit run`, from an empty database, against raw COPY.

    python bench/month.py --scale city --month 2020-08 [--inbox DIR]

Generates the month (unless --inbox already holds it), creates an empty database on DATABASE_URL's
server, runs `jn-credit run` for the month (every asset: ingest, warehouse, indicators, reports) in a
child process with its own DAGSTER_HOME, and prints per stage the seconds (the run's step statistics)
and the CPU seconds of the run's process and of PostgreSQL together (sampled from /proc), so how many
cores the stage kept busy. copy_s is a raw COPY of all the month's CSV bytes into unlogged text tables:
the speed at which PostgreSQL alone takes the same bytes. The line before the last is the floor the
run's CPU sets: cpu_s / cores, and the x it would give with every core busy throughout.
Last line: run_s=… copy_s=… x=run_s/copy_s
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


def _cpu_seconds(pid: int, tick: int) -> float | None:
    """user + system CPU seconds of process `pid` (all its threads) and of its children waited for (the
    bulletin's Chromium), from /proc; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(f) for f in fields[11:15]) / tick


class CpuTimeline(threading.Thread):
    """The CPU seconds of the run's own process and of PostgreSQL's backends serving its database,
    sampled together from /proc while the run goes: (time, run CPU, server CPU) every `interval`.
    Together they are the run's CPU, the figure to compare on a machine other work shares; against
    the step windows they give each stage's CPU, and so how many cores it kept busy. Needs the
    server on this host and /proc readable."""

    def __init__(self, server: str, database: str, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.server, self.database, self.pid, self.interval = server, database, pid, interval
        self.seen: dict[int, float] = {}  # backend pid → its CPU seconds when last seen
        self.run_cpu = 0.0
        self.samples: list[tuple[float, float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        watcher = psycopg2.connect(self.server)
        watcher.autocommit = True
        with watcher.cursor() as cur:
            while not self.done.is_set():
                cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))
                for (pid,) in cur.fetchall():
                    seconds = _cpu_seconds(pid, tick)
                    if seconds is not None:
                        self.seen[pid] = seconds
                self.run_cpu = _cpu_seconds(self.pid, tick) or self.run_cpu
                self.samples.append((time.time(), self.run_cpu, sum(self.seen.values())))
                self.done.wait(self.interval)
        watcher.close()

    def stop(self) -> float:
        self.done.set()
        self.join()
        return sum(self.seen.values())

    def between(self, start: float, end: float) -> float:
        """CPU seconds (run + server) spent from `start` to `end` (epoch seconds), by the samples
        nearest inside; a step shorter than the interval may show none."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return 0.0
        (_, run0, server0), (_, run1, server1) = inside[0], inside[-1]
        return (run1 - run0) + (server1 - server0)


def step_windows(dagster_home: Path) -> dict[str, tuple[float, float]]:
    """step key → (start, end) in epoch seconds, from the run's step statistics."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    instance = dg.DagsterInstance.get()
    run = instance.get_runs(limit=1)[0]
    return {step.step_key: (step.start_time, step.end_time)
            for step in instance.get_run_step_stats(run.run_id) if step.start_time and step.end_time}


def stage_of(step_key: str) -> str:
    """An asset prefix (raw, wh, indicators…); a report step on its own, by its asset
    (reports/explanations beside month_reports, the multi-asset of the other three)."""
    return step_key.replace("__", "/") if step_key.startswith("reports__") else step_key.split("__")[0]


def by_stage(windows: dict[str, tuple[float, float]], cpu: CpuTimeline) -> dict[str, tuple[float, float]]:
    """stage → (seconds, CPU seconds), the slowest first."""
    stages: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key, (start, end) in windows.items():
        stages[stage_of(key)][0] += end - start
        stages[stage_of(key)][1] += cpu.between(start, end)
    return dict(sorted(((k, (v[0], v[1])) for k, v in stages.items()), key=lambda kv: -kv[1][0]))


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
        started = time.perf_counter()
        with tempfile.TemporaryFile("w+") as out:
            child = subprocess.Popen([sys.executable, "-m", "jn_credit_dagster.cli", "run", "--inbox", str(inbox),
                                      "--month", args.month, "--database-url", url],
                                     env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
            cpu = CpuTimeline(server, args.database, child.pid)
            cpu.start()
            returncode = child.wait()
            run_s = time.perf_counter() - started
            pg_cpu = cpu.stop()
            if returncode:
                out.seek(0)
                print(out.read()[-4000:])
                raise SystemExit(f"jn-credit run failed ({returncode})")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run's own process (PostgreSQL's time is not in it)
        windows = step_windows(home / "dagster")
        print(f"  {'stage':<24} {'wall':>7} {'CPU':>7} {'cores':>6}")
        for stage, (seconds, cpu_s) in by_stage(windows, cpu).items():
            print(f"  {stage:<24} {seconds:6.1f}s {cpu_s:6.1f}s {cpu_s / seconds if seconds else 0:6.2f}")
        total_cpu = usage.ru_utime + usage.ru_stime + pg_cpu
        print(f"  CPU: run process user {usage.ru_utime:.1f}s sys {usage.ru_stime:.1f}s, PostgreSQL {pg_cpu:.1f}s, "
              f"total {total_cpu:.1f}s; load average {os.getloadavg()[0]:.1f}")
        slowest = sorted(((k, end - start) for k, (start, end) in windows.items()), key=lambda kv: -kv[1])[:8]
        print("  slowest steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in slowest))

        copy_s, copied = raw_copy(url, csvs)
        print(f"raw COPY of {copied / 2**20:.0f} MB of CSV: {copy_s:.1f}s")
    # What the run's CPU allows at best: every core busy from start to end. x cannot go below this
    # without taking work out, whatever is overlapped.
    cores = os.cpu_count() or 1
    print(f"cpu_s={total_cpu:.1f} cores={cores} floor_s={total_cpu / cores:.1f} x_floor={total_cpu / cores / copy_s:.1f}")
    print(f"run_s={run_s:.1f} copy_s={copy_s:.1f} x={run_s / copy_s:.1f}")


if __name__ == "__main__":
    main()
