"""What a `jn-credit run`/`demo` shows a person: progress lines and a summary on stdout, Dagster's
event log in a file under JN_CREDIT_HOME/logs/ (streamed to stderr with --verbose), all scrubbed.

- `log_path(command)`: a new file `JN_CREDIT_HOME/logs/<command>-<YYYYmmdd-HHMMSS>.log`.
- `capture(path, verbose)`: while active, everything written to stderr (Dagster's console logger,
  warnings, library chatter) goes to `path`, line by line through lib/privacy.scrub, and also to the
  real stderr when `verbose`.
- `Progress(instance, run_id, month, say)`: a thread that reads the run's events from the instance
  once a second and says one line per finished step: month, step, files and rows when it has them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import sys
import threading
from pathlib import Path

from . import paths
from .privacy import scrub


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


class Progress:
    """One line per finished step of a run, from the instance's event log (polled, no callbacks)."""

    def __init__(self, instance, run_id: str, month: str, say, interval: float = 1.0):
        self._instance, self._run_id, self._month, self._say = instance, run_id, month, say
        self._interval, self._cursor, self._done = interval, None, 0
        self._stop = threading.Event()
        self._rows: dict[str, str] = {}
        self._thread = threading.Thread(target=self._loop, name="jn-credit-progress", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        self._poll()  # whatever arrived since the last tick

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._poll()
            except Exception:  # noqa: BLE001 - progress is a courtesy: never break the run for it
                pass

    def _poll(self) -> None:
        import dagster as dg

        records = self._instance.get_records_for_run(self._run_id, cursor=self._cursor, of_type={
            dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_UP_FOR_RETRY})
        self._cursor = records.cursor
        for record in records.records:
            event = record.event_log_entry.dagster_event
            step = event.step_key or "?"
            if event.is_step_materialization:
                meta = event.step_materialization_data.materialization.metadata
                files = meta.get("files_loaded")
                rows = meta.get("delivered_rows") or meta.get("dagster/row_count") or meta.get("rows")
                parts = [f"{getattr(files, 'value', files)} files" if files is not None else "",
                         f"{getattr(rows, 'value', rows)} rows" if rows is not None else ""]
                self._rows[step] = "  ".join(p for p in parts if p)
            elif event.event_type_value == "STEP_SUCCESS":
                self._done += 1
                self._say(f"  {self._month}  [{self._done:>3}] {step:<32} ok  {self._rows.get(step, '')}".rstrip())
            elif event.event_type_value == "STEP_UP_FOR_RETRY":
                self._say(f"  {self._month}        {step:<32} retrying (transient database error)")
            else:
                self._done += 1
                self._say(f"  {self._month}  [{self._done:>3}] {step:<32} FAILED")
