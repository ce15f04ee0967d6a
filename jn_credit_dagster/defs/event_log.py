"""Dagster's local SQLite event log with its connections kept open (the instance the CLI writes).

Dagster's SqliteEventLogStorage creates a SQLAlchemy engine, opens a connection, commits, closes it
and disposes the engine for every event it stores or reads: ~6 ms of CPU an event on the 2-core test
machine, and a month's run stores ~440 events (steps, outputs, checks, materializations, each
asset event twice: its run's file and index.db) and reads the data versions of every upstream
partition. Kept open, an event costs ~2 ms. An open connection also keeps SQLite from checkpointing
and deleting the WAL each time the last connection closes (extra fsyncs). Durability is unchanged:
every event is still its own committed transaction, in the same files, read by the default
storage as well (the UI of another install, `dagster` itself).

Everything else is Dagster's: schema, migrations, watchers. One engine per file: index.db for as
long as the storage lives, the most recent run files up to KEEP_RUNS (a long-lived webserver must
not hold every run it ever showed). The storage's own lock already serialises its connections, so
one pooled connection per file serves.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

KEEP_RUNS = 4


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()  # before Dagster's __init__ connects
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "KeptOpenSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(self.conn_string_for_shard(shard), pool_size=1, max_overflow=2,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            if shard not in self._initialized_dbs:
                self._initdb(engine)  # creates the file and its tables on first use, as Dagster's own
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine  # most recently used last
        runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in runs[:-KEEP_RUNS]:
            self._engines.pop(old).dispose()
        return engine

    def _close_all(self) -> None:
        while self._engines:
            self._engines.popitem()[1].dispose()  # the last connection closes: SQLite checkpoints the WAL

    def wipe(self) -> None:
        with self._db_lock:
            self._close_all()  # before Dagster unlinks the run files under them
        super().wipe()

    def dispose(self) -> None:
        with self._db_lock:
            self._close_all()
        super().dispose()


def commit_without_fsync() -> None:
    """From now on, the SQLite files this process opens commit without waiting for fsync
    (`synchronous=NORMAL`, SQLite's advice for WAL mode): a power cut may lose the last commits, never
    corrupt a file. Only for the demo, whose run history is of sample data a re-run regenerates (as
    its warehouse commits with synchronous_commit=off)."""
    if not event.contains(Engine, "connect", _no_fsync):
        event.listen(Engine, "connect", _no_fsync)


def _no_fsync(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
