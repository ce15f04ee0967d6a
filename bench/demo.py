"""`jn-credit demo` from a fresh JN_CREDIT_HOME: wall time, CPU time and where the time goes.

    python bench/demo.py [--month 2020-08] [--home DIR] [--keep]

Runs the demo in a child process exactly as a new user would (no DATABASE_URL: the embedded
PostgreSQL starts under the fresh home), then reads the demo's Dagster runs from its instance and
splits the time into stages: the demo's own (database start, the months, with the generation
alongside them) and, within the months, the steps by kind — ingest (inbox scan + feeds, their checks in the same step),
warehouse, indicators, indicator checks, reports — and the per-run overhead (run wall time not
spent in any step: run creation, plan, event storage). Last line: demo_s=<seconds> months=<n>.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def stage_of(step_key: str) -> str:
    if step_key.startswith(("ingest__", "raw__")):
        return "ingest (with GX checks)"
    if step_key.startswith("wh__"):
        return "warehouse"
    if step_key == "indicators__results":
        return "indicators"
    if step_key.startswith("indicators__results_"):
        return "indicator checks"
    return step_key.split("__")[0]


def run_breakdown(dagster_home: Path) -> tuple[dict[str, float], float, int]:
    """Seconds per stage over the demo's runs, the runs' overhead, and the number of runs."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    import dagster as dg

    stages: dict[str, float] = defaultdict(float)
    overhead = 0.0
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"trigger": "demo"}))
        for run in runs:
            record = instance.get_run_record_by_id(run.run_id)
            steps = [s for s in instance.get_run_step_stats(run.run_id) if s.start_time and s.end_time]
            in_steps = 0.0
            for s in steps:
                stages[stage_of(s.step_key)] += s.end_time - s.start_time
                in_steps += s.end_time - s.start_time
            if record.start_time and record.end_time:
                overhead += (record.end_time - record.start_time) - in_steps
    return dict(sorted(stages.items(), key=lambda kv: -kv[1])), overhead, len(runs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--month", default="2020-08")
    p.add_argument("--home", help="JN_CREDIT_HOME to use (emptied first); default a temporary folder")
    p.add_argument("--keep", action="store_true", help="keep the home afterwards")
    args = p.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="jn-credit-demo-bench-")).resolve()
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DAGSTER_HOME", "JN_CREDIT_INBOX"}}
    env["JN_CREDIT_HOME"] = str(home)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "jn_credit_dagster.cli", "demo", "--month", args.month],
                            cwd=home, env=env, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:  # the demo's own progress, as it comes
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    proc.wait()
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"demo failed (exit {proc.returncode})")
    out = "".join(lines)
    stage_line = re.search(r"stages: database ([\d.]+) s, months ([\d.]+) s \(.* in ([\d.]+) s\)", out)
    months = len(re.findall(r"^\[\s*\d+/\d+\] \d{4}-\d{2}  ok", out, flags=re.MULTILINE))
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"demo wall {wall:.1f} s; CPU of the demo and the children it waited for "
          f"{usage.ru_utime:.1f} s user + {usage.ru_stime:.1f} s sys (not the embedded PostgreSQL: it daemonizes)")
    if stage_line:
        database_s, months_s, generate_s = (float(x) for x in stage_line.groups())
        print(f"  {'embedded PostgreSQL start':<28} {database_s:7.1f} s")
        print(f"  {'the months (runs)':<28} {months_s:7.1f} s")
        print(f"  {'  generating alongside them':<28} {generate_s:7.1f} s")
        print(f"  {'process start, imports':<28} {wall - database_s - months_s:7.1f} s")
    stages, overhead, runs = run_breakdown(home / "dagster")
    print(f"within the {runs} runs (step wall time, summed):")
    for stage, seconds in stages.items():
        print(f"  {stage:<28} {seconds:7.1f} s")
    print(f"  {'run overhead (outside steps)':<28} {overhead:7.1f} s")
    if not args.keep and not args.home:
        shutil.rmtree(home, ignore_errors=True)
    print(f"demo_s={wall:.1f} months={months}")


if __name__ == "__main__":
    main()
