"""Keep the local Dagster instance's SQLite event files open while `jn-credit run` writes them.

Dagster's default local instance stores a run's events in `DAGSTER_HOME/history/runs/<run_id>.db`
and asset events also in `index.db`, opening and closing a connection for every event. In WAL mode
the last connection to close a database checkpoints the WAL into it and deletes it: extra fsyncs on
every one of the several hundred events a month's run stores (22 ms an event instead of 7 ms on the
2-core test machine). While one idle connection stays open, a closing connection is never the last:
the WAL stays, SQLite checkpoints it as it fills, every commit is as durable as before. An instance
on PostgreSQL storage has no such files and nothing is held.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class WalHolder:
    def __init__(self, dagster_home: str | Path):
        self.folder = Path(dagster_home) / "history" / "runs"
        self._open: dict[str, sqlite3.Connection] = {}

    def hold(self, name: str) -> bool:
        """Hold `name` (e.g. "index.db") open once it exists and is in WAL mode; True when held."""
        if name in self._open:
            return True
        path = self.folder / name
        if not path.is_file() or path.stat().st_size == 0:
            return False
        conn = sqlite3.connect(path, timeout=1, check_same_thread=False)
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.close()
                return False
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()  # joins the WAL; no transaction stays open
        except sqlite3.Error:
            conn.close()
            return False
        self._open[name] = conn
        return True

    def release(self, name: str) -> None:
        conn = self._open.pop(name, None)
        if conn is not None:
            conn.close()  # the last connection: SQLite checkpoints the WAL now

    def close(self) -> None:
        for name in list(self._open):
            self.release(name)
