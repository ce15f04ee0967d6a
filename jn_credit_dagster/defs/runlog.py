"""What a `jn-credit run`/`demo` shows a person: progress lines and a summary on stdout, Dagster's
event log in a file under JN_CREDIT_HOME/logs/ (streamed to stderr with --verbose), all scrubbed.

- `log_path(command)`: a new file `JN_CREDIT_HOME/logs/<command>-<YYYYmmdd-HHMMSS>.log`.
- `capture(path, verbose)`: while active, everything written to stderr (Dagster's console logger,
  warnings, library chatter) goes to `path`, line by line through lib/privacy.scrub, and also to the
  real stderr when `verbose`.
- `RangeProgress(months, say)`: the display of a range of months (one month is a range of one): a
  line per month run or skipped and per failed step; on a terminal, a status line rewritten in place
  (month i of n, step, files, rows, elapsed, estimate). `MonthProgress` follows one month's run from
  the instance's event log, polled once a second in a thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import shutil
import sys
import threading
import time
from pathlib import Path

from jn_credit_dagster.lib.common import paths
from jn_credit_dagster.lib.common.privacy import scrub


def log_path(command: str) -> Path:
    folder = paths.home() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{command}-{dt.datetime.now():%Y%m%d-%H%M%S}.log"


class _Tee(io.TextIOBase):
    def __init__(self, file, echo):
        self._file, self._echo, self._pending = file, echo, ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False  # no colour codes in the file

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                self._emit(line + "\n")
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._emit(self._pending)
                self._pending = ""
            self._file.flush()
            if self._echo is not None:
                self._echo.flush()

    def _emit(self, line: str) -> None:
        line = scrub(line)
        self._file.write(line)
        if self._echo is not None:
            self._echo.write(line)


@contextlib.contextmanager
def capture(path: Path, verbose: bool = False):
    with open(path, "a", encoding="utf-8") as file:
        tee = _Tee(file, sys.__stderr__ if verbose else None)
        try:
            with contextlib.redirect_stderr(tee):
                yield tee
        finally:
            tee.flush()


def clock(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def _count(value) -> int:
    value = getattr(value, "value", value)
    return int(value) if isinstance(value, (int, float)) else 0


QUIET_SECONDS = 15  # without a terminal: at most this long between two progress lines
TICK_SECONDS = 0.2


class RangeProgress:
    """The display of a range of months: a line per month (and per failed or retried step; for a
    single month, per finished step) for any reader; on a terminal also a status line rewritten in place — month i of n, the running step,
    files and rows so far, elapsed time and an estimate of what is left."""

    def __init__(self, months: list[str], say, stream=None, interval: float = 1.0, steps: bool | None = None):
        self.months, self.say, self.interval = months, say, interval
        self.steps = len(months) == 1 if steps is None else steps  # a line per finished step: one month only
        self.stream = stream if stream is not None else sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.durations: list[float] = []  # seconds each month that ran took
        self.decided = 0  # months run or skipped so far
        self._last_line = self.started
        self._lock = threading.Lock()

    def prefix(self, month: str) -> str:
        return f"[{self.months.index(month) + 1:>{len(str(len(self.months)))}}/{len(self.months)}] {month}"

    def line(self, text: str) -> None:
        """A permanent line (the status line, if any, is cleared first)."""
        self._last_line = time.monotonic()
        with self._lock:
            if self.live:
                self.stream.write("\r\x1b[K")
            self.say(text)

    def status(self, text: str) -> None:
        """On a terminal, rewritten in place every tick; elsewhere (a pipe, a CI log) a line every
        QUIET_SECONDS, so that a long month still shows that it moves."""
        if self.live:
            with self._lock:
                self.stream.write("\r\x1b[K" + scrub(text)[:max(20, shutil.get_terminal_size().columns - 1)])
                self.stream.flush()
        elif not self.steps and time.monotonic() - self._last_line >= QUIET_SECONDS:
            self.line(text)

    def skipped(self, month: str, why: str) -> None:
        self.decided += 1
        self.line(f"{self.prefix(month)}  skipped: {why}")

    def left(self, fraction: float) -> float | None:
        """Seconds left, assuming every month not yet decided runs: the mean month so far, else the
        current month's pace."""
        remaining = len(self.months) - self.decided
        if self.durations:
            per_month = sum(self.durations) / len(self.durations)
        elif fraction > 0.05:
            per_month = (time.monotonic() - self._month_started) / fraction
        else:
            return None
        return per_month * max(0.0, remaining - fraction)

    def month(self, instance, run_id: str, month: str, what: str = "") -> MonthProgress:
        self._month_started = time.monotonic()
        return MonthProgress(self, instance, run_id, month, what)

    def finished(self, seconds: float) -> None:
        self.decided += 1
        self.durations.append(seconds)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class MonthProgress:
    """Follows one month's run in the instance's event log (polled once a second, no callbacks)."""

    def __init__(self, display: RangeProgress, instance, run_id: str, month: str, what: str):
        self.display, self._instance, self._run_id, self.month, self.what = display, instance, run_id, month, what
        self._cursor, self._steps = None, None
        self.done, self.files, self.rows, self.failed, self.running = 0, 0, 0, [], ""
        self._step_rows: dict[str, str] = {}
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jn-credit-progress", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self._poll()  # whatever arrived since the last tick
        self.seconds = time.monotonic() - self.started

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(TICK_SECONDS):
            try:
                if time.monotonic() - last >= self.display.interval:
                    last = time.monotonic()
                    self._poll()
                    self._draw()
            except Exception:  # noqa: BLE001 - progress is a courtesy: never break the run for it
                pass

    def _total(self):
        if self._steps is None:
            run = self._instance.get_run_by_id(self._run_id)
            if run is not None and run.execution_plan_snapshot_id:
                plan = self._instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
                self._steps = len(plan.steps)
        return self._steps

    def _draw(self) -> None:
        total = self._total()
        fraction = self.done / total if total else 0.0
        left = self.display.left(fraction)
        self.display.status(
            f"{self.display.prefix(self.month)}  {self.what}step {self.done + 1}/{total or '?'} {self.running}  "
            f"{self.files} files  {self.rows} rows  {clock(self.display.elapsed())} elapsed"
            + (f"  ~{clock(left)} left" if left is not None else ""))

    def _poll(self) -> None:
        import dagster as dg

        records = self._instance.get_records_for_run(self._run_id, cursor=self._cursor, of_type={
            dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_UP_FOR_RETRY})
        self._cursor = records.cursor
        for record in records.records:
            event = record.event_log_entry.dagster_event
            step = event.step_key or "?"
            kind = event.event_type_value
            if event.is_step_materialization:
                meta = event.step_materialization_data.materialization.metadata
                if "delivered_rows" in meta:  # a feed: what the month's files held
                    self.files += _count(meta.get("files_loaded"))
                    self.rows += _count(meta.get("delivered_rows"))
                files = meta.get("files_loaded")
                rows = meta.get("delivered_rows") or meta.get("dagster/row_count") or meta.get("rows")
                self._step_rows[step] = "  ".join(p for p in (
                    f"{_count(files)} files" if files is not None else "",
                    f"{_count(rows)} rows" if rows is not None else "") if p)
            elif kind == "STEP_START":
                self.running = step
            elif kind == "STEP_SUCCESS":
                self.done += 1
                if self.display.steps:
                    self.display.line(f"  {self.month}  [{self.done:>3}] {step:<32} ok  {self._step_rows.get(step, '')}".rstrip())
            elif kind == "STEP_UP_FOR_RETRY":
                self.display.line(f"{self.display.prefix(self.month)}  {step} retrying (transient database error)")
            elif kind == "STEP_FAILURE":
                self.done += 1
                self.failed.append(step)
                self.display.line(f"{self.display.prefix(self.month)}  {step} FAILED")
