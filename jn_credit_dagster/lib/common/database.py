"""The warehouse connection: DATABASE_URL names a server; without one, an embedded PostgreSQL.

Same SQL, same code path either way: the embedded default is a real PostgreSQL (the `pgserver`
wheel) whose data lives under JN_CREDIT_HOME, so a laptop needs no server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from psycopg2 import sql

from jn_credit_dagster.lib.warehouse import facts
from jn_credit_dagster.lib.common import paths
from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.ingest.specs import load_specs


def resolve_url(explicit: str | None = None) -> str:
    url = explicit or os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgres://", "postgresql://", 1)
    return _embedded_url(str(paths.home() / "pgdata"))


@cache
def _embedded_url(pgdata: str, attempts: int = 3) -> str:
    import pgserver  # imported here: starting a server is not something importing this module does

    os.makedirs(pgdata, exist_ok=True)
    for attempt in range(1, attempts + 1):
        try:
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
            url = server.get_uri()
        except Exception:  # noqa: BLE001 - pg_ctl gives up after 10 s on a busy machine; the server may still come up
            # pgserver keeps a half-started handle; drop it so the next attempt looks afresh
            pgserver.PostgresServer._instances.pop(Path(pgdata), None)
            if attempt == attempts:
                raise
            time.sleep(2 * attempt)
        else:
            _servers.append(server)  # keep a handle: the server stops when the last one goes
            return url
    raise AssertionError("unreachable")


_servers: list = []


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg2://", 1) if url.startswith("postgresql://") else url


# PostgreSQL's JIT compiles a statement whose estimated cost passes jit_above_cost: on a city month's
# warehouse and indicator statements (~1 M rows) that costs more than it saves (I09: 1.7 s of
# compilation for a 4 s statement), so the platform's connections go without.
SESSION_OPTIONS = "-c jit=off"


@cache
def engine(url: str) -> sa.Engine:
    return sa.create_engine(sqlalchemy_url(url), pool_pre_ping=True, connect_args={"options": SESSION_OPTIONS})


@contextlib.contextmanager
def transaction(url: str):
    """A psycopg2 cursor in one transaction on an up-to-date schema: committed on success,
    rolled back on any error."""
    ensure_schema(url)
    with _transaction(url) as cursor:
        yield cursor


@contextlib.contextmanager
def _transaction(url: str):
    connection = engine(url).raw_connection()
    try:
        with connection.cursor() as cursor:
            yield cursor
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()


@contextlib.contextmanager
def reading_snapshot(url: str, snapshot: str, read_only: bool = True):
    """A cursor on `snapshot` (pg_export_snapshot() of a transaction that is still open): a helper
    connection sees exactly what that transaction saw when it exported it. Read-only unless asked:
    a helper that fills a table of its own (wh.subjects' parts) writes."""
    with transaction(url) as cursor:
        repeatable_read(cursor, read_only)
        cursor.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
        yield cursor


def repeatable_read(cursor, read_only: bool = True) -> None:
    """Begin a repeatable-read (read-only) transaction on the cursor's connection (ending any it was in)."""
    cursor.connection.rollback()  # a transaction of its own from here (the pool's ping may have begun one)
    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ" + (", READ ONLY" if read_only else ""))


def export_snapshot(cursor) -> str:
    """The snapshot of the cursor's open transaction, for helper connections (reading_snapshot)."""
    cursor.execute("SELECT pg_export_snapshot()")
    return cursor.fetchone()[0]


def has_written(cursor) -> bool:
    """Whether the cursor's transaction has written: what it wrote is in no snapshot another connection
    can read, so work that reads it stays on this connection."""
    cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
    return cursor.fetchone()[0]


def schema_statements() -> list[str | sql.Composable]:
    statements: list[str | sql.Composable] = [p.read_text(encoding="utf-8") for p in sorted((paths.SQL / "schema").glob("*.sql"))]
    for spec in load_specs().values():
        statements += tables.ddl(spec)
    for spec in facts.state_specs():
        statements += facts.ddl(spec)
    return statements


@cache
def ensure_schema(url: str) -> None:
    """Apply sql/schema/*.sql and the per-feed DDL once per process, and only when it changed.

    An advisory lock keeps concurrent runs (several Dagster steps at once) from racing on DDL.
    """
    with _transaction(url) as cur:
        rendered = [s if isinstance(s, str) else s.as_string(cur) for s in schema_statements()]
        # created last, after any migration of the tables it reads (a view follows a renamed table)
        view = tables.every_quarantine_view(load_specs().values()).as_string(cur)
        fingerprint = hashlib.sha256("\n;\n".join([*rendered, view]).encode()).hexdigest()
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('jn_credit:schema'))")
        cur.execute("CREATE SCHEMA IF NOT EXISTS jn; "
                    "CREATE TABLE IF NOT EXISTS jn.schema_state (fingerprint text NOT NULL)")
        cur.execute("SELECT fingerprint FROM jn.schema_state")
        row = cur.fetchone()
        if row is None or row[0] != fingerprint:
            cur.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(tables.EVERY_QUARANTINE))
            for statement in rendered:
                cur.execute(statement)
            for spec in load_specs().values():
                tables.migrate_unpartitioned(cur, spec)
            cur.execute(view)
            cur.execute("DELETE FROM jn.schema_state")
            cur.execute("INSERT INTO jn.schema_state VALUES (%s)", (fingerprint,))
