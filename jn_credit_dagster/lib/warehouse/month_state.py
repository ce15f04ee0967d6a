"""Which months the warehouse holds from which inputs, so that `jn-credit run --months` resumes a range
where it stopped instead of redoing it.

A month's **fingerprint** is a SHA-256 over
- the code version: the content of the package's code, SQL, feed specs and suites (`code_version`);
- the inbox listing of every month folder up to and including M, and of the paths outside month
  folders: each path relative to the inbox, its kind (file, link, folder, pipe…), size and mtime in
  nanoseconds, from lstat (nothing is opened or followed). Earlier months are in it because M reads
  them: a state feed's latest state as of M depends on every earlier delivery (FEEDS.md).

It is stored in `ingest.materialized_months` only after M's run succeeded, and removed before M runs
again, so a month that failed or was interrupted is never taken for done. Touching a file (same bytes,
new mtime) makes the month run again: a stat is cheap and never wrong in the unsafe direction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jn_credit_dagster.lib.common import paths

MONTH_FOLDER = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
CODE_SUFFIXES = {".py", ".sql", ".yaml", ".yml", ".json", ".j2", ".html", ".css"}
CODE_FOLDERS = ("jn_credit_dagster", "sql", "assets", "expectations")


@cache
def code_version() -> str:
    """SHA-256 (16 hex) of the files that decide what a run computes; the same tree gives the same value."""
    h = hashlib.sha256()
    for folder in CODE_FOLDERS:
        root = paths.PROJECT_ROOT / folder
        for path in sorted(p for p in root.rglob("*") if p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts
                           and p.is_file()):
            h.update(str(path.relative_to(paths.PROJECT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISLNK, "link"), (stat.S_ISDIR, "folder"),
                       (stat.S_ISFIFO, "pipe")):
        if test(mode):
            return name
    return "other"


def _walk(folder: str, rel: str):
    """(relative path, lstat) of everything under `folder`, links never followed."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    for entry in entries:
        path_rel = f"{rel}/{entry.name}" if rel else entry.name
        st = entry.stat(follow_symlinks=False)
        yield path_rel, st
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(entry.path, path_rel)


def listing(inbox: Path, month: dt.date) -> list[tuple[str, str, int, int]]:
    """(path, kind, size, mtime_ns) of every path in unit folders that month M can read: month folders
    up to M and anything outside month folders (files at the inbox root are not deliveries)."""
    last = f"{month:%Y-%m}"
    out = []
    for unit in sorted(os.scandir(inbox), key=lambda e: e.name):
        st = unit.stat(follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            if stat.S_ISLNK(st.st_mode):
                out.append((unit.name, "link", st.st_size, st.st_mtime_ns))
            continue
        for rel, st in _walk(unit.path, unit.name):
            second = rel.split("/")[1]
            if MONTH_FOLDER.match(second) and second > last:
                continue
            kind = _kind(st.st_mode)
            out.append((rel, kind, st.st_size if kind == "file" else 0, st.st_mtime_ns if kind != "folder" else 0))
    return out


@dataclass(frozen=True)
class Fingerprint:
    value: str
    files: int
    code_version: str


def fingerprint(inbox: Path, month: dt.date) -> Fingerprint:
    entries = listing(inbox, month)
    h = hashlib.sha256(f"v1\0{code_version()}\0{month:%Y-%m}\0".encode())
    for rel, kind, size, mtime in entries:
        h.update(f"{rel}\0{kind}\0{size}\0{mtime}\n".encode())
    return Fingerprint(h.hexdigest(), sum(1 for e in entries if e[1] == "file"), code_version())


@dataclass(frozen=True)
class Materialized:
    fingerprint: str
    run_id: str
    reports: bool
    finished_at: dt.datetime


def stored(cur, month: dt.date) -> Materialized | None:
    cur.execute("SELECT fingerprint, run_id, reports, finished_at FROM ingest.materialized_months WHERE month = %s",
                (month,))
    row = cur.fetchone()
    return Materialized(*row) if row else None


def forget(cur, month: dt.date) -> None:
    """Before M runs again: until it succeeds, it is not done."""
    cur.execute("DELETE FROM ingest.materialized_months WHERE month = %s", (month,))


def remember(cur, month: dt.date, fp: Fingerprint, run_id: str, reports: bool) -> None:
    cur.execute("""INSERT INTO ingest.materialized_months (month, fingerprint, code_version, files, run_id, reports)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (month) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
                       code_version = EXCLUDED.code_version, files = EXCLUDED.files, run_id = EXCLUDED.run_id,
                       reports = EXCLUDED.reports, finished_at = now()""",
                (month, fp.value, fp.code_version, fp.files, run_id, reports))


def reports_written(cur, month: dt.date, run_id: str) -> None:
    cur.execute("UPDATE ingest.materialized_months SET reports = true, run_id = %s, finished_at = now() "
                "WHERE month = %s", (run_id, month))
