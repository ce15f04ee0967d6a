"""`jn-credit`: the one command line for scripts, tests and people (DESIGN.md)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .lib import database, paths
from .lib.inbox import parse_month


def _environment(args) -> None:
    """Flags win over the environment; children (Dagster runs, the UI) inherit the result."""
    if getattr(args, "database_url", None):
        os.environ["DATABASE_URL"] = args.database_url
    if getattr(args, "inbox", None):
        inbox = Path(args.inbox).expanduser().resolve()
        if not inbox.is_dir():
            raise SystemExit(f"jn-credit: error: inbox {inbox} is not a folder")
        os.environ["JN_CREDIT_INBOX"] = str(inbox)
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(paths.home() / "dagster")))
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").touch()  # the default local instance, said explicitly
    # Start the embedded server (if that is the warehouse) once, here, and hand its URL to every
    # step and child process: they share one server that lives as long as this command.
    os.environ["DATABASE_URL"] = database.resolve_url()


def run_month(month: str, tags: dict | None = None):
    """Materialize every asset of the month in process, checks included; returns the result."""
    import dagster as dg

    from . import partitions
    from .definitions import defs

    parse_month(month)
    if month not in partitions.monthly().get_partition_keys():
        raise ValueError(f"month {month} is outside the partitions "
                         f"({partitions.monthly().get_first_partition_key()} … current month)")
    job = defs().resolve_job_def("monthly_refresh")
    return job.execute_in_process(partition_key=month, instance=dg.DagsterInstance.get(),
                                  tags={"trigger": "cli", "month": month, **(tags or {})}, raise_on_error=False)


def run_month_on_celery(month: str, tags: dict | None = None):
    """The same run with every step on the Celery workers (cluster.py); waits for the run to end."""
    import dagster as dg

    from . import cluster

    # The run carries the inbox it was launched with: every worker must see that path (a shared mount).
    inbox = {"resources": {"inbox": {"config": {"path": os.environ["JN_CREDIT_INBOX"]}}}}
    with dg.DagsterInstance.get() as instance:
        return cluster.run_month(month, instance, tags={"trigger": "cli", **(tags or {})}, run_config=inbox)


def _summarise(result) -> list[str]:
    lines = []
    for event in result.get_asset_materialization_events():
        m = event.step_materialization_data.materialization
        meta = m.metadata
        if "delivered_rows" in meta:
            lines.append(f"  {m.asset_key.to_user_string():<24} {meta['accepted_rows'].value:>9} accepted "
                         f"{meta['quarantined_rows'].value:>7} quarantined {meta['files_rejected'].value:>3} files rejected")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            lines.append(f"  check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
                         f"failed ({evaluation.severity.value})")
    return lines


def cmd_run(args) -> int:
    if args.executor == "celery" and not (args.database_url or os.environ.get("DATABASE_URL")):
        raise ValueError("--executor celery: the workers write the warehouse through DATABASE_URL; set it")
    _environment(args)
    if not os.environ.get("JN_CREDIT_INBOX"):
        raise ValueError("no inbox: pass --inbox DIR or set JN_CREDIT_INBOX")
    result = run_month_on_celery(args.month) if args.executor == "celery" else run_month(args.month)
    print(f"{args.month}: run {result.run_id} {'succeeded' if result.success else 'FAILED'}")
    print("\n".join(_summarise(result)))
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        message = failure.step_failure_data.error.message.strip().splitlines()[0] if failure else "run failed"
        raise RuntimeError(f"{args.month}: {message}")
    return 0


def cmd_dev(args) -> int:
    """The Dagster UI and the daemon (schedules, sensors, run queue) on workspace.yaml, in the
    foreground until interrupted — what `dagster dev` does, from the non-superseded commands."""
    _environment(args)
    workspace = str(paths.PROJECT_ROOT / "workspace.yaml")
    scripts = Path(sys.executable).parent
    daemon = subprocess.Popen([str(scripts / "dagster-daemon"), "run", "-w", workspace], cwd=paths.PROJECT_ROOT)
    print(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})", flush=True)
    try:
        return subprocess.call([str(scripts / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1",
                                "-p", str(args.port)], cwd=paths.PROJECT_ROOT)
    except KeyboardInterrupt:
        return 0
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def cmd_generate(args) -> int:
    from .generate import generate

    first, _, last = args.months.partition(":")
    parse_month(first)
    parse_month(last or first)
    generate(Path(args.inbox), first, last or first, scale=args.scale, seed=args.seed, progress=print)
    print(f"sample inbox written to {Path(args.inbox).resolve()}")
    return 0


def cmd_demo(args) -> int:
    import datetime as dt

    from .generate import generate

    end = parse_month(args.month)
    start = dt.date(end.year - (end.month <= 11), (end.month - 12) % 12 + 1, 1)
    out = Path(args.out or paths.home() / "demo").resolve()
    inbox = out / "inbox"
    args.inbox = None
    _environment(args)
    os.environ["JN_CREDIT_INBOX"] = str(inbox)
    print(f"generating a small sample city {start:%Y-%m}…{args.month} in {inbox}")
    generate(inbox, f"{start:%Y-%m}", args.month, scale="small", seed=args.seed, overwrite=True)
    month = start
    while month <= end:
        result = run_month(f"{month:%Y-%m}", tags={"trigger": "demo"})
        print(f"{month:%Y-%m}: {'ok' if result.success else 'FAILED'}")
        if not result.success:
            raise RuntimeError(f"demo run for {month:%Y-%m} failed")
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    print("\n".join(_summarise(result)))
    print(f"\ninbox:        {inbox}\nwarehouse:    {os.environ.get('DATABASE_URL') or 'embedded PostgreSQL under ' + str(paths.home())}"
          f"\nDagster runs: {os.environ['DAGSTER_HOME']}\nopen the UI:  jn-credit dev --inbox {inbox}")
    return 0


def _display_width(text: str) -> int:
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    space = " " * max(0, width - _display_width(text))
    return space + text if right else text + space


def _cell(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if abs(value) < 1 else f"{round(value, 4):g}"


def cmd_indicators(args) -> int:
    """Print the month's stored indicators (DESIGN.md): never computes; `jn-credit run` does."""
    import json

    from .lib import indicators

    month = parse_month(args.month)
    with database.transaction(database.resolve_url(args.database_url)) as cur:
        doc = indicators.read_month(cur, month)
    if doc is None:
        raise RuntimeError(f"{args.month} has no indicators yet: run `jn-credit run --inbox DIR --month {args.month}` first")
    evidence = {i["id"]: i.pop("_evidence") for i in doc["indicators"]}
    if args.format == "json":
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    status_zh = {"green": "绿", "yellow": "黄", "red": "红", "n/a": "无数据"}
    headers = ["编号", "名称", "值", "分子", "分母", "得分", "满分", "状态"]
    rows = []
    for i in doc["indicators"]:
        mark = "（缺 SQL）" if "missing" in evidence[i["id"]] else "（SQL 出错）" if "error" in evidence[i["id"]] else ""
        rows.append([i["id"], i["name"], _cell(i["value"]), _cell(i["numerator"]), _cell(i["denominator"]),
                     _cell(i["score"]), _cell(i["max_score"]), status_zh.get(i["status"], i["status"]) + mark])
    widths = [max(_display_width(str(r[c])) for r in [headers, *rows]) for c in range(len(headers))]
    numeric = {2, 3, 4, 5, 6}
    print(f"济宁市 {doc['month']} 城市信用监测预警指标（{doc['city']}）")
    for r in [headers, *rows]:
        print("  ".join(_pad(str(v), widths[c], right=c in numeric and r is not headers) for c, v in enumerate(r)))
    deductions = "；".join(f"{d['id']} {d['name']} {d['points']:g}" for d in doc["deductions"]) or "无"
    print(f"附加扣分：{deductions}")
    print(f"总分：{_cell(doc['total_score'])}")
    missing = [evidence[i]["missing"] for i in evidence if "missing" in evidence[i]]
    if missing:
        print(f"未计算（缺少 SQL 文件，按无数据处理）：{len(missing)} 项 — {', '.join(missing)}")
    failed = [i for i in evidence if "error" in evidence[i]]
    if failed:
        print(f"SQL 出错（按无数据处理）：{', '.join(failed)}")
    return 0


def cmd_report(args) -> int:
    """The month's bulletin, rectification workbook and national package, from the warehouse alone."""
    from .reports import build_all

    month = parse_month(args.month)
    out = Path(args.out).expanduser().resolve()
    done = build_all(database.resolve_url(args.database_url), month, out)
    for name, result in done.items():
        print(f"{name:<17} {result['path']}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jn-credit", description="济宁市城市信用监测预警数据平台")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, func, help_text):
        c = sub.add_parser(name, help=help_text)
        c.add_argument("--database-url", help="PostgreSQL URL (default: DATABASE_URL, else the embedded server)")
        c.set_defaults(func=func)
        return c

    c = command("run", cmd_run, "materialize every asset of a month, in process")
    c.add_argument("--inbox", help="inbox folder (default: JN_CREDIT_INBOX)")
    c.add_argument("--month", required=True, help="YYYY-MM")
    c.add_argument("--executor", choices=["in_process", "celery"], default="in_process",
                   help="celery: every step on the Celery workers (README, \"Running on several machines\")")
    c = command("dev", cmd_dev, "open the Dagster UI on this project")
    c.add_argument("--inbox", help="inbox folder (default: JN_CREDIT_INBOX)")
    c.add_argument("--port", type=int, default=3000)
    c = command("generate", cmd_generate, "write a sample city's feeds in the inbox layout")
    c.add_argument("--inbox", required=True)
    c.add_argument("--months", required=True, help="YYYY-MM:YYYY-MM")
    c.add_argument("--scale", choices=["small", "city"], default="small")
    c.add_argument("--seed", type=int, default=0)
    c = command("demo", cmd_demo, "generate a small city, run its 12 months, print where everything is")
    c.add_argument("--month", default="2020-08")
    c.add_argument("--out")
    c.add_argument("--seed", type=int, default=0)
    c = command("indicators", cmd_indicators, "print a computed month's indicators (after `jn-credit run`)")
    c.add_argument("--month", required=True, help="YYYY-MM")
    c.add_argument("--format", choices=["json", "table"], default="table")
    c = command("report", cmd_report, "write a computed month's bulletin, rectification workbook and national package")
    c.add_argument("--month", required=True, help="YYYY-MM")
    c.add_argument("--out", required=True, help="folder to write into")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - every failure ends as one line and a non-zero status
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"jn-credit: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
