"""A fingerprint of the warehouse, to tell whether two runs of the same month produced the same data.

Generic on purpose: every base table of the schemas raw, quarantine and wh, and the ingest ledger, whatever
their columns — so the comparison stays valid when the ingest engine or a table changes. Per table: the
row count and an order-independent hash (the sorted MD5s of the rows' text). Columns that record *when*
or *which run* (timestamps, run ids) or the order rows were written in (identity keys) differ between
two honest runs and are left out.
"""

from __future__ import annotations

from psycopg2 import sql

SCHEMAS = ("raw", "quarantine", "wh")
EXTRA_TABLES = (("ingest", "ledger"),)
VOLATILE_TYPES = ("timestamp with time zone", "timestamp without time zone")
VOLATILE_NAMES = ("run_id", "dagster_run_id")


def tables(cur) -> list[tuple[str, str]]:
    cur.execute("""SELECT table_schema, table_name FROM information_schema.tables
                   WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s)
                   ORDER BY 1, 2""", (list(SCHEMAS),))
    return [tuple(r) for r in cur.fetchall()] + [t for t in EXTRA_TABLES]


def stable_columns(cur, schema: str, table: str) -> list[str]:
    cur.execute("""SELECT column_name FROM information_schema.columns
                   WHERE table_schema = %s AND table_name = %s
                     AND data_type <> ALL(%s) AND column_name <> ALL(%s) AND is_identity = 'NO'
                   ORDER BY ordinal_position""", (schema, table, list(VOLATILE_TYPES), list(VOLATILE_NAMES)))
    return [r[0] for r in cur.fetchall()]


def table_digest(cur, schema: str, table: str) -> tuple[int, str]:
    columns = stable_columns(cur, schema, table)
    row = sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    cur.execute(sql.SQL("""SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '')
                           FROM (SELECT md5({row}) AS h FROM {table}) AS t""")
                .format(row=row, table=sql.Identifier(schema, table)))
    count, digest = cur.fetchone()
    return int(count), digest


def warehouse_digest(cur) -> dict[str, tuple[int, str]]:
    """{"schema.table": (rows, hash)} for every table of the warehouse and the ledger."""
    return {f"{schema}.{table}": table_digest(cur, schema, table) for schema, table in tables(cur)}


def differences(a: dict, b: dict) -> dict[str, tuple]:
    """The tables whose rows or hash differ (or that exist on one side only)."""
    return {name: (a.get(name), b.get(name)) for name in sorted(set(a) | set(b)) if a.get(name) != b.get(name)}
