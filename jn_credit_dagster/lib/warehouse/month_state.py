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
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jn_credit_dagster.lib.common import paths
from jn_credit_dagster.lib.ingest.inbox import MONTH_FOLDER, kind_of, tree

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


def listing(inbox: Path, month: dt.date) -> list[tuple[str, str, int, int]]:
    """(path, kind, size, mtime_ns) of every path in unit folders that month M can read: month folders
    up to M and anything outside month folders (files at the inbox root are not deliveries; a link there is)."""
    last = f"{month:%Y-%m}"
    out = []
    for path, st in tree(inbox):
        parts = path.relative_to(inbox).parts
        kind = kind_of(st.st_mode)
        if len(parts) == 1:  # a unit's folder, or what lies at the root
            if kind == "link":
                out.append((parts[0], kind, st.st_size, st.st_mtime_ns))
            continue
        if MONTH_FOLDER.match(parts[1]) and parts[1] > last:
            continue
        out.append(("/".join(parts), kind, st.st_size if kind == "file" else 0, st.st_mtime_ns if kind != "folder" else 0))
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
