"""`jn-credit`: the one command line for scripts, tests and people (DESIGN.md)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from jn_credit_dagster.lib.common import database, paths
from jn_credit_dagster.defs.failures import run_failure_reason, unreachable
from jn_credit_dagster.lib.ingest.inbox import parse_month
from jn_credit_dagster.lib.common.present import display_width, number, pad
from jn_credit_dagster.lib.common.privacy import mask_url, scrub

PID_TAG, HOST_TAG = "jn_credit/pid", "jn_credit/host"  # which process runs an in-process run


def say(text: str = "") -> None:
    """Every line the CLI prints passes lib/privacy.scrub (IDs masked, URL passwords hidden)."""
    print(scrub(text), flush=True)


# any of these in dagster.yaml means its author chose the storage (deploy/dagster.yaml: PostgreSQL)
STORAGE_KEYS = {"storage", "run_storage", "event_log_storage", "schedule_storage"}


def _instance_yaml(dagster_home: Path) -> None:
    """The instance the CLI writes: Dagster's default local one, with usage telemetry off unless the
    file says otherwise (a government data platform does not phone home by default), and, unless the
    file chooses a storage, its event log kept open (defs/event_log.py: the same files, faster)."""
    import json

    import yaml

    path = dagster_home / "dagster.yaml"
    runs = str(dagster_home.resolve() / "history" / "runs")  # where Dagster's default keeps them
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    config = yaml.safe_load(text) or {}
    if not isinstance(config, dict):
        return
    added = []
    if "telemetry" not in config:
        added.append("# written by jn-credit: no usage telemetry\ntelemetry:\n  enabled: false\n")
    if not STORAGE_KEYS & config.keys():
        added.append("# written by jn-credit: the local event log with its SQLite connections kept open "
                     "(defs/event_log.py)\nevent_log_storage:\n  module: jn_credit_dagster.defs.event_log\n"
                     f"  class: KeptOpenSqliteEventLogStorage\n  config:\n    base_dir: {json.dumps(runs)}\n")
    if added:
        sep = "\n" if text and not text.endswith("\n") else ""
        path.write_text(text + sep + "".join(added), encoding="utf-8")


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
    _instance_yaml(dagster_home)
    # Start the embedded server (if that is the warehouse) once, here, and hand its URL to every
    # step and child process: they share one server that lives as long as this command.
    os.environ["DATABASE_URL"] = database.resolve_url()
    _reachable(os.environ["DATABASE_URL"])  # in seconds, one line: not a run whose every step retries and fails


def _reachable(url: str) -> str:
    problem = unreachable(url)
    if problem:
        raise RuntimeError(problem)
    return url


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_stale_runs(instance, month: str) -> list[str]:
    """Runs of `month` left STARTED by a CLI process of this host that no longer exists: marked failed,
    with the reason (a server's runs are run monitoring's business, deploy/dagster.yaml)."""
    import dagster as dg

    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags={"month": month})):
        pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
        if pid and pid.isdigit() and host == socket.gethostname() and not _alive(int(pid)):
            instance.report_run_failed(run, f"the jn-credit process (pid {pid}) running it is gone (killed?); "
                                            f"marked failed by the next run of {month}")
            failed.append(run.run_id)
    return failed


def month_range(text: str) -> list[str]:
    """`YYYY-MM:YYYY-MM` (or one month) → the partition keys from the first to the last, in order."""
    from jn_credit_dagster.defs import partitions

    first, _, last = text.partition(":")
    last = last or first
    if parse_month(last) < parse_month(first):
        raise ValueError(f"--months {text}: the last month comes before the first")
    keys = partitions.monthly().get_partition_keys()
    for month in (first, last):
        if month not in keys:
            raise ValueError(f"month {month} is outside the partitions ({keys[0]} … current month)")
    return keys[keys.index(first):keys.index(last) + 1]


@dataclass
class MonthOutcome:
    month: str
    ran: str  # "all" | "data" | "reports" | "skipped"
    seconds: float = 0.0
    result: object = None
    note: str = ""


def run_months(months: list[str], *, reports: str = "last", force: bool = False, tags: dict | None = None,
               verbose: bool = False, log=None, before_month=None) -> list[MonthOutcome]:
    """Materialize `months` in order, in this process, with the definitions loaded once; each month's
    checks run with it. A month whose fingerprint (lib/warehouse/month_state.py) matches the stored one
    is skipped (unless `force`); the first month that fails stops the range (its exception says why).
    Reports for the last month, or for every month with reports="all"."""
    import dagster as dg

    from jn_credit_dagster.defs import runlog

    with dg.DagsterInstance.get() as instance:
        run = _RangeRun(months, reports, force, tags or {}, verbose, log or runlog.log_path("run"),
                        instance, Path(os.environ["JN_CREDIT_INBOX"]), os.environ["DATABASE_URL"],
                        runlog.RangeProgress(months, say))
        outcomes = []
        for m in months:
            if before_month is not None:
                before_month(m)  # the demo: wait until the month's sample files are written
            outcomes.append(run.month(m))
        return outcomes


@dataclass
class _RangeRun:
    """What every month of a range run shares: the options, the instance, the display."""
    months: list[str]
    reports: str
    force: bool
    tags: dict
    verbose: bool
    log: Path
    instance: object
    inbox: Path
    url: str
    display: object
    references_built: bool = False  # the whole (unpartitioned) tables, rebuilt once per range

    @functools.cached_property
    def definitions(self):
        """Loaded when the first month has to run (a range that is all skipped never pays for it)."""
        from .definitions import defs

        return defs()

    def selection(self, with_reports: bool) -> list:
        specs = self.definitions.resolve_all_asset_specs()
        return [s.key for s in specs if (with_reports or s.group_name != "reports")
                and not (self.references_built and s.partitions_def is None)]

    def month(self, month: str) -> MonthOutcome:
        """One month: skipped, its reports only, or run; raises when its run fails."""
        from jn_credit_dagster.defs import runlog
        from jn_credit_dagster.lib.warehouse import month_state

        display, date = self.display, parse_month(month)
        want_reports = self.reports == "all" or month == self.months[-1]
        fp = month_state.fingerprint(self.inbox, date)
        with database.transaction(self.url) as cur:
            done = None if self.force else month_state.stored(cur, date)
            if done is None or done.fingerprint != fp.value:
                month_state.forget(cur, date)  # until this run succeeds, the month is not done
        if done is not None and done.fingerprint == fp.value and (done.reports or not want_reports):
            display.skipped(month, f"materialized by run {done.run_id[:8]} ({done.finished_at:%Y-%m-%d %H:%M}) "
                                   f"from the same {fp.files} files and code {fp.code_version[:8]}")
            return MonthOutcome(month, "skipped")
        if done is not None and done.fingerprint == fp.value:  # the data is there; only the reports were never written
            ran = "reports"
            selection = [s.key for s in self.definitions.resolve_all_asset_specs() if s.group_name == "reports"]
        else:
            ran, selection = ("all" if want_reports else "data"), self.selection(want_reports)
        for stale in fail_stale_runs(self.instance, month):
            display.line(f"{display.prefix(month)}  run {stale} was left STARTED by a process that is gone: marked failed")
        run_id = str(uuid.uuid4())
        with runlog.capture(self.log, self.verbose), display.month(
                self.instance, run_id, month, "reports: " if ran == "reports" else "") as progress:
            result = self.definitions.resolve_job_def("monthly_refresh").execute_in_process(
                partition_key=month, instance=self.instance, run_id=run_id, raise_on_error=False,
                asset_selection=selection,
                tags={"trigger": "cli", "month": month, PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(),
                      **self.tags})
        display.finished(progress.seconds)
        if not result.success or _stop_requested():  # a stopped month is not done, even if its steps all ran
            display.line(f"{display.prefix(month)}  FAILED after {progress.seconds:.1f} s (run {run_id})")
            raise _failed(result, month)
        self.references_built = self.references_built or ran != "reports"
        with database.transaction(self.url) as cur:
            if ran == "reports":
                month_state.reports_written(cur, date, run_id)
            else:
                month_state.remember(cur, date, fp, run_id, reports=want_reports)
        outcome = MonthOutcome(month, ran, progress.seconds, result, _month_line(result))
        display.line(f"{display.prefix(month)}  ok  {progress.done} steps in {progress.seconds:.1f} s  {outcome.note}  "
                     f"({runlog.clock(display.elapsed())} elapsed"
                     + (f", ~{runlog.clock(display.left(0.0))} left)" if month != self.months[-1] else ")"))
        return outcome


class Interrupted(Exception):
    pass


_signals: list[str] = []  # the stop signals received by this process


def _stop_on_sigterm() -> None:
    """SIGTERM does what Ctrl-C does: Dagster interrupts the step, its open transaction rolls back;
    the run is then recorded as canceled (not failed) with the signal's name."""
    main = os.getpid()

    def handler(signum, frame):
        if os.getpid() != main:  # a forked worker (a pool's): die as SIGTERM means, no traceback
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        _signals.append(signal.Signals(signum).name)
        raise KeyboardInterrupt  # where the main thread is: Dagster turns it into a canceled run

    def on_int(signum, frame):
        _signals.append("SIGINT")
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGTERM, handler)
    # Dagster puts handlers of its own in place during a step, and Python drops an exception raised in a
    # garbage-collector callback: the wakeup pipe hears every stop signal whoever's handler then runs.
    global _wakeup
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    _wakeup = read


_wakeup: int | None = None


def _stop_requested() -> bool:
    """Whether a stop signal has arrived, heard by our handlers or only by the wakeup pipe."""
    if _wakeup is not None:
        try:
            heard = os.read(_wakeup, 512)
        except BlockingIOError:
            heard = b""
        stops = {signal.SIGINT.value: "SIGINT", signal.SIGTERM.value: "SIGTERM"}
        _signals.extend(stops[n] for n in heard if n in stops and stops[n] not in _signals)
    return bool(_signals)


def _interrupted(result) -> bool:
    if _stop_requested():
        return True
    return any(e.is_step_failure and _caused_by_interrupt(e.step_failure_data.error) for e in result.all_events)


def _caused_by_interrupt(error) -> bool:
    """The step's error or one of its causes is an interrupt (defs/failures.py turns one into a Failure)."""
    while error is not None:
        if "Interrupt" in (error.cls_name or ""):
            return True
        error = error.cause
    return False


def _failed(result, month: str) -> Exception:
    from dagster import DagsterInstance, DagsterRunStatus

    instance = DagsterInstance.get()
    run = instance.get_run_by_id(result.run_id)
    if _interrupted(result):
        why = _signals[0] if _signals else "an interrupt"
        if run is not None and run.status != DagsterRunStatus.CANCELED:
            instance.report_run_canceled(run, f"jn-credit stopped by {why}")
        done = ("its steps had finished; the month will run again" if result.success
                else "the open transaction was rolled back")
        return Interrupted(f"{month}: run {result.run_id} canceled ({why}); {done}")
    problem = unreachable(os.environ["DATABASE_URL"])
    return RuntimeError(f"{month}: {problem or run_failure_reason(result.all_events)}")


def run_month_on_celery(month: str, tags: dict | None = None):
    """The same run with every step on the Celery workers (cluster.py); waits for the run to end."""
    import dagster as dg

    from jn_credit_dagster.defs import cluster

    # The run carries the inbox it was launched with: every worker must see that path (a shared mount).
    inbox = {"resources": {"inbox": {"config": {"path": os.environ["JN_CREDIT_INBOX"]}}}}
    with dg.DagsterInstance.get() as instance:
        return cluster.run_month(month, instance, tags={"trigger": "cli", **(tags or {})}, run_config=inbox)


def _feed_totals(result) -> dict[str, int]:
    totals = {"files": 0, "accepted": 0, "quarantined": 0, "rejected": 0}
    for event in result.get_asset_materialization_events():
        meta = event.step_materialization_data.materialization.metadata
        if "delivered_rows" in meta:
            totals["files"] += meta["files_loaded"].value if "files_loaded" in meta else 0
            totals["accepted"] += meta["accepted_rows"].value
            totals["quarantined"] += meta["quarantined_rows"].value
            totals["rejected"] += meta["files_rejected"].value
    return totals


def _failed_checks(result) -> list[str]:
    return [f"{e.asset_key.to_user_string()}:{e.check_name} ({e.severity.value})"
            for e in result.get_asset_check_evaluations() if not e.passed]


def _month_line(result) -> str:
    t = _feed_totals(result)
    return (f"{t['accepted']} rows accepted, {t['quarantined']} quarantined, {t['rejected']} files rejected, "
            f"{len(_failed_checks(result))} checks not passed")


def _summarise(outcomes: list[MonthOutcome], seconds: float) -> list[str]:
    """The one summary of a range: what ran, what was skipped, the totals, and the last month's checks."""
    ran = [o for o in outcomes if o.ran != "skipped"]
    head = (f"{outcomes[0].month}…{outcomes[-1].month}: {len(outcomes)} months, {len(ran)} run, "
            f"{len(outcomes) - len(ran)} skipped (unchanged since they succeeded), in {seconds:.1f} s")
    lines = [head]
    totals = {"files": 0, "accepted": 0, "quarantined": 0, "rejected": 0}
    for o in ran:
        for k, v in _feed_totals(o.result).items():
            totals[k] += v
    if ran:
        lines.append(f"  rows accepted {totals['accepted']}, quarantined {totals['quarantined']}; files rejected "
                     f"{totals['rejected']} (file by file: jn-credit ledger --month M)")
    last_run = next((o for o in reversed(outcomes) if o.result is not None), None)
    if last_run is not None:  # the last month run, feed by feed, and its checks that did not pass
        result = last_run.result
        lines.append(f"  {last_run.month}: run {result.run_id} {'succeeded' if result.success else 'FAILED'}")
        for event in result.get_asset_materialization_events():
            m = event.step_materialization_data.materialization
            meta = m.metadata
            if "delivered_rows" in meta:
                lines.append(f"    {m.asset_key.to_user_string():<24} {meta['accepted_rows'].value:>9} accepted "
                             f"{meta['quarantined_rows'].value:>7} quarantined {meta['files_rejected'].value:>3} files rejected")
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                lines.append(f"    check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
                             f"failed ({evaluation.severity.value})")
    return lines


def cmd_run(args) -> int:
    if bool(args.month) == bool(args.months):
        raise ValueError("pass one of --month YYYY-MM or --months YYYY-MM:YYYY-MM")
    if args.executor == "celery" and not (args.database_url or os.environ.get("DATABASE_URL")):
        raise ValueError("--executor celery: the workers write the warehouse through DATABASE_URL; set it")
    if args.executor == "celery" and args.months:
        raise ValueError("--executor celery runs one --month at a time")
    _environment(args)
    if not os.environ.get("JN_CREDIT_INBOX"):
        raise ValueError("no inbox: pass --inbox DIR or set JN_CREDIT_INBOX")
    from jn_credit_dagster.defs import runlog

    _stop_on_sigterm()
    if args.executor == "celery":
        result = run_month_on_celery(args.month)
        say(f"{args.month}: run {result.run_id} {'succeeded' if result.success else 'FAILED'}")
        if not result.success:
            raise _failed(result, args.month)
        return 0
    months = month_range(args.months or args.month)
    log = runlog.log_path("run")
    say(f"{months[0]}…{months[-1]}: {len(months)} months; event log {log}"
        + ("" if args.verbose else " (--verbose streams it)"))
    started = time.monotonic()
    # one --month always runs; a range resumes: months unchanged since they succeeded are skipped
    outcomes = run_months(months, reports=args.reports, force=args.force or bool(args.month),
                          verbose=args.verbose, log=log)
    say("\n".join(_summarise(outcomes, time.monotonic() - started)))
    return 0


def cmd_dev(args) -> int:
    """The Dagster UI and the daemon (schedules, sensors, run queue) on workspace.yaml, in the
    foreground until interrupted — what `dagster dev` does, from the non-superseded commands. Each
    child leads its own process group (with the code servers it starts); SIGTERM or SIGINT is passed
    to every group, and the command returns when they are gone (SIGKILL after GRACE_SECONDS)."""
    _environment(args)
    workspace = str(paths.PROJECT_ROOT / "workspace.yaml")
    scripts = Path(sys.executable).parent
    commands = [[str(scripts / "dagster-daemon"), "run", "-w", workspace],
                [str(scripts / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(args.port)]]
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    children = [subprocess.Popen(c, cwd=paths.PROJECT_ROOT, start_new_session=True) for c in commands]
    say(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']}, "
        f"warehouse {mask_url(os.environ['DATABASE_URL'])})")
    try:
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.2)
    finally:
        _stop_groups(children, stopping[0] if stopping else signal.SIGTERM)
    return 0 if stopping else next((c.returncode for c in children if c.returncode), 0)


GRACE_SECONDS = 10


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_groups(children, signum) -> None:
    """`signum` to every child's process group; SIGKILL to any group still there after GRACE_SECONDS."""
    for c in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(c.pid, signum)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        for c in children:
            c.poll()  # reap the leaders
        if not any(_group_alive(c.pid) for c in children):
            break
        time.sleep(0.1)
    for c in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(c.pid, signal.SIGKILL)
        c.wait()


def cmd_generate(args) -> int:
    from .generate import generate

    first, _, last = args.months.partition(":")
    parse_month(first)
    parse_month(last or first)
    generate(Path(args.inbox), first, last or first, scale=args.scale, seed=args.seed, progress=print)
    say(f"sample inbox written to {Path(args.inbox).resolve()}")
    return 0


def cmd_demo(args) -> int:
    import datetime as dt

    from .generate.alongside import Alongside

    end = parse_month(args.month)
    start = dt.date(end.year - (end.month <= 11), (end.month - 12) % 12 + 1, 1)
    out = Path(args.out or paths.home() / "demo").resolve()
    inbox = out / "inbox"
    args.inbox = None
    began = time.monotonic()
    _environment(args)  # starts the embedded PostgreSQL when there is no DATABASE_URL
    database_s = time.monotonic() - began
    os.environ["JN_CREDIT_INBOX"] = str(inbox)
    from jn_credit_dagster.defs import runlog

    os.environ.setdefault("JN_CREDIT_SETTLE_SECONDS", "0")  # the demo wrote every file itself, completely
    # Sample data a re-run regenerates: its commits need not wait for the WAL flush (libpq reads
    # PGOPTIONS; a crash could lose the last commits, never corrupt). A real `run` keeps the server's setting.
    os.environ.setdefault("PGOPTIONS", "-c synchronous_commit=off")
    from jn_credit_dagster.defs import event_log

    event_log.commit_without_fsync()  # and the same for its Dagster run history
    say(f"generating a small sample city {start:%Y-%m}…{args.month} in {inbox}, a month ahead of the runs")
    sample = Alongside(inbox, f"{start:%Y-%m}", args.month, scale="small", seed=args.seed, overwrite=True)
    try:
        _stop_on_sigterm()  # after the generator's process is forked: it must not inherit it
        log = runlog.log_path("demo")
        months = month_range(f"{start:%Y-%m}:{args.month}")
        say(f"{months[0]}…{months[-1]}: {len(months)} months; event log {log}"
            + ("" if args.verbose else " (--verbose streams it)"))
        began = time.monotonic()
        outcomes = run_months(months, reports="last", tags={"trigger": "demo"}, verbose=args.verbose, log=log,
                              before_month=sample.wait)
        months_s = time.monotonic() - began
        generate_s = sample.finish()
    finally:
        sample.close()
    say("\n".join(_summarise(outcomes, months_s)))
    say(f"stages: database {database_s:.1f} s, months {months_s:.1f} s "
        f"(the sample generated alongside, all {len(months)} months in {generate_s:.1f} s)")
    from .reports import out_dir

    say(f"\nreports:      {out_dir(end)}\ninbox:        {inbox}\nwarehouse:    {mask_url(os.environ['DATABASE_URL'])}"
        f"\nDagster runs: {os.environ['DAGSTER_HOME']}\nevent log:    {log}\nopen the UI:  jn-credit dev --inbox {inbox}")
    return 0


def cmd_indicators(args) -> int:
    """Print the month's stored indicators (DESIGN.md): never computes; `jn-credit run` does."""
    import json

    from jn_credit_dagster.lib.indicators import compute as indicators
    from jn_credit_dagster.lib.common.status import STATUS_ZH

    month = parse_month(args.month)
    with database.transaction(_reachable(database.resolve_url(args.database_url))) as cur:
        doc = indicators.read_month(cur, month)
    if doc is None:
        raise RuntimeError(f"{args.month} has no indicators yet: run `jn-credit run --inbox DIR --month {args.month}` first")
    evidence = {i["id"]: i.pop("_evidence") for i in doc["indicators"]}
    if args.format == "json":
        say(json.dumps(doc, ensure_ascii=False))
        return 0
    headers = ["编号", "名称", "值", "分子", "分母", "得分", "满分", "状态"]
    rows = []
    for i in doc["indicators"]:
        mark = "（缺 SQL）" if "missing" in evidence[i["id"]] else "（SQL 出错）" if "error" in evidence[i["id"]] else ""
        rows.append([i["id"], i["name"], number(i["value"]), number(i["numerator"]), number(i["denominator"]),
                     number(i["score"]), number(i["max_score"]), STATUS_ZH.get(i["status"], i["status"]) + mark])
    widths = [max(display_width(str(r[c])) for r in [headers, *rows]) for c in range(len(headers))]
    numeric = {2, 3, 4, 5, 6}
    say(f"济宁市 {doc['month']} 城市信用监测预警指标（{doc['city']}）")
    for r in [headers, *rows]:
        say("  ".join(pad(str(v), widths[c], right=c in numeric and r is not headers) for c, v in enumerate(r)))
    deductions = "；".join(f"{d['id']} {d['name']} {d['points']:g}" for d in doc["deductions"]) or "无"
    say(f"附加扣分：{deductions}")
    say(f"总分：{number(doc['total_score'])}")
    missing = [evidence[i]["missing"] for i in evidence if "missing" in evidence[i]]
    if missing:
        say(f"未计算（缺少 SQL 文件，按无数据处理）：{len(missing)} 项 — {', '.join(missing)}")
    failed = [i for i in evidence if "error" in evidence[i]]
    if failed:
        say(f"SQL 出错（按无数据处理）：{', '.join(failed)}")
    return 0


def cmd_explain(args) -> int:
    """The rows behind one indicator value (DESIGN.md): csv and json stream every line; table shows the
    sums, the reasons rows were left out and the first lines."""
    try:
        return _explain(args)
    except BrokenPipeError:  # the reader stopped early (`| head`): no error line, the shell's status for SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _explain(args) -> int:
    from jn_credit_dagster.lib.indicators import explain

    month = parse_month(args.month)
    scope = explain.Scope.parse(args.scope)
    ind = explain.indicator(args.id)
    with database.transaction(_reachable(database.resolve_url(args.database_url))) as cur:
        if args.format == "csv":
            explain.stored(cur, ind, month, scope)  # a value that was never computed is an error, not an empty file
            sys.stdout.flush()  # the CSV goes to the bytes underneath, after anything printed before
            explain.write_csv(cur.connection, ind, month, scope, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return 0
        head = explain.overview(cur, ind, month, scope)
        if args.format == "json":
            explain.write_json(cur.connection, head, ind, month, scope, sys.stdout)
            return 0
        first = list(explain.lines(cur.connection, ind, month, scope, limit=args.limit))
    say(f"{head['indicator']} {head['name']} · {head['month']} · {head['scope']} · 值 {number(head['value'])} "
        f"（{head['status']}）")
    say(f"分子 {number(head['numerator'])}：{head['numerator_lines']} 行，Σ weight = {number(head['numerator_sum'])}")
    say(f"分母 {number(head['denominator'])}：{head['denominator_lines']} 行，Σ weight = {number(head['denominator_sum'])}")
    say("与存储值一致" if head["adds_up"] else "与存储值不一致！")
    if head["left_out"]:
        say(f"未计入：{sum(head['left_out'].values())} 行")
        for reason, n in head["left_out"].items():
            say(f"  {n:>8}  {reason}")
    if first:
        columns = first[0][0]
        rows = [["" if v is None else number(v) if isinstance(v, (int, float)) else str(v) for v in line] for _, line in first]
        widths = [max(display_width(str(r[c])) for r in [columns, *rows]) for c in range(len(columns))]
        say(f"前 {len(rows)} 行（--format csv 输出全部）：")
        for r in [columns, *rows]:
            say("  ".join(pad(str(v), widths[c]) for c, v in enumerate(r)))
    return 0


def cmd_report(args) -> int:
    """The month's bulletin, rectification workbook and national package, from the warehouse alone."""
    from .reports import write_all

    month = parse_month(args.month)
    out = Path(args.out).expanduser().resolve()
    done = write_all(_reachable(database.resolve_url(args.database_url)), month, out)
    for name, result in done.items():
        say(f"{name:<17} {result['path']}")
    return 0


def cmd_ledger(args) -> int:
    """Every path found for the month and what became of it (DESIGN.md's JSON shape), or the delivery
    matrix (units × feeds) with the per-feed reconciliation."""
    import json

    from jn_credit_dagster.lib.ingest.deliveries_due import from_ledger
    from jn_credit_dagster.lib.ingest.ledger_report import matrix_lines, month_ledger
    from jn_credit_dagster.lib.common.present import scrub

    month = parse_month(args.month)
    with database.transaction(_reachable(database.resolve_url(args.database_url))) as cur:
        doc = month_ledger(cur, month)
        due = from_ledger(cur, month)
    for f in doc["files"]:
        f["path"] = scrub(f["path"])
        f["redelivery_of"] = f["redelivery_of"] and scrub(f["redelivery_of"])
    if args.format == "json":
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    say("\n".join(matrix_lines(doc, due)))
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
    c.add_argument("--month", help="YYYY-MM: one month, always run")
    c.add_argument("--months", help="YYYY-MM:YYYY-MM: each month in order; months unchanged since they succeeded "
                                    "are skipped (README, \"Loading a history\")")
    c.add_argument("--reports", choices=["last", "all"], default="last",
                   help="write the reports of the range's last month only (default) or of every month")
    c.add_argument("--force", action="store_true", help="run every month of the range, changed or not")
    c.add_argument("--verbose", action="store_true", help="stream Dagster's event log to stderr too")
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
    c.add_argument("--verbose", action="store_true", help="stream Dagster's event log to stderr too")
    c = command("indicators", cmd_indicators, "print a computed month's indicators (after `jn-credit run`)")
    c.add_argument("--month", required=True, help="YYYY-MM")
    c.add_argument("--format", choices=["json", "table"], default="table")
    c = command("ledger", cmd_ledger, "every path found for a month and what became of it")
    c.add_argument("--month", required=True, help="YYYY-MM")
    c.add_argument("--format", choices=["json", "table"], default="table")
    c = command("explain", cmd_explain, "the rows behind one indicator value: numerator, denominator, left out and why")
    c.add_argument("id", help="indicator id, e.g. I24")
    c.add_argument("--month", required=True, help="YYYY-MM")
    c.add_argument("--scope", default="city", help="city, unit:CODE or district:CODE")
    c.add_argument("--format", choices=["json", "table", "csv"], default="table")
    c.add_argument("--limit", type=int, default=20, help="lines the table shows (csv and json show all)")
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
    except KeyboardInterrupt:
        print("jn-credit: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - every failure ends as one line and a non-zero status
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"jn-credit: {'interrupted' if isinstance(e, Interrupted) else 'error'}: {scrub(message)}", file=sys.stderr)
        return 130 if isinstance(e, Interrupted) else 1


if __name__ == "__main__":
    sys.exit(main())
