"""Per-feed tables and the typed relation, generated from the feed spec.

raw.<feed>         correct rows, typed, one column per spec column
quarantine.<feed>  incorrect rows as delivered (text), with every reason
ingest.<feed>_delivered  both, typed the same way: the relation the GX suite validates

raw.<feed> and quarantine.<feed> are partitioned by month (LIST): a month is loaded into fresh
tables in ingest_months and swapped in whole, so readers see the old month or the new one.
"""

from __future__ import annotations

import json

from psycopg2 import sql

from jn_credit_dagster.lib.ingest.specs import Column, FeedSpec

SQL_TYPES = {
    "text": "text", "code": "text", "uscc": "text", "period": "text", "code_list": "text[]",
    "date": "date", "month": "date", "decimal": "numeric", "integer": "bigint", "year": "integer",
}
PARSERS = {  # types a value can fail to parse as; the parse functions live in sql/schema/010_functions.sql
    "date": "to_date", "month": "to_month", "decimal": "to_decimal", "integer": "to_int",
    "year": "to_year", "period": "to_period",
}
ANALYZE_SHARE = 0.1  # a month this large a share of a table's rows refreshes its parent's statistics
BLANKS = " \t\r\n\u3000"  # surrounding blanks, the full-width space included; empty = missing

# Delivery facts every row carries, in both tables.
META_COLUMNS = (
    ("month", "date NOT NULL"), ("unit", "text NOT NULL"), ("file_sha256", "text NOT NULL"),
    ("delivery_date", "date NOT NULL"), ("seq", "integer NOT NULL"), ("row_no", "integer NOT NULL"),
)
META = [name for name, _ in META_COLUMNS]


def trimmed(src: sql.Composable) -> sql.Composable:
    return sql.SQL("NULLIF(btrim({s}, {b}), '')").format(s=src, b=sql.Literal(BLANKS))


def typed_value(column: Column, src: sql.Composable) -> sql.Composable:
    """The normalised, typed value of a delivered text value (NULL when empty or unparseable)."""
    return typed_value_of_trimmed(column, trimmed(src))


def typed_value_of_trimmed(column: Column, v: sql.Composable) -> sql.Composable:
    """As typed_value, for a value already trimmed (NULL when empty)."""
    synonyms = sql.SQL("{}::jsonb").format(sql.Literal(json.dumps(column.synonyms, ensure_ascii=False)))
    if column.type == "uscc":
        return sql.SQL("upper({})").format(v)
    if column.type == "code" and column.synonyms:
        return sql.SQL("jn.to_code({}, {})").format(v, synonyms)
    if column.type == "code_list":  # synonyms first: one 2019 value may stand for several items
        for old, new in column.synonyms.items():
            v = sql.SQL("replace({}, {}, {})").format(v, sql.Literal(old), sql.Literal(new))
        return sql.SQL("jn.to_code_list({})").format(v)
    if column.type in PARSERS:
        return sql.SQL("jn.{}({})").format(sql.Identifier(PARSERS[column.type]), v)
    return v


def _table(schema: str, spec: FeedSpec) -> sql.Identifier:
    return sql.Identifier(schema, spec.id)


# Every feed's quarantined rows in one relation, generated from the specs: no SQL lists the feeds.
EVERY_QUARANTINE = sql.Identifier("quarantine", "every_feed")


def every_quarantine_view(specs) -> sql.Composable:
    """CREATE OR REPLACE VIEW quarantine.every_feed (feed, month, unit, file_sha256, row_no, key, reasons):
    `key` is the row's key columns joined by '|' (the feed's key, else the USCC naming its subject)."""
    def key(spec: FeedSpec) -> sql.Composable:
        columns = list(spec.key) or [s.uscc for s in spec.subjects[:1]]
        if not columns:
            return sql.SQL("NULL::text")
        return sql.SQL("concat_ws('|', {})").format(sql.SQL(", ").join(sql.SQL("q.{}").format(sql.Identifier(c))
                                                                      for c in columns))
    return sql.SQL("CREATE OR REPLACE VIEW {} AS ").format(EVERY_QUARANTINE) + sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {feed}::text AS feed, q.month, q.unit, q.file_sha256, q.row_no, {key} AS key, q.reasons "
                "FROM {table} q").format(feed=sql.Literal(spec.id), key=key(spec), table=quarantine_table(spec))
        for spec in specs)


def raw_table(spec: FeedSpec) -> sql.Identifier:
    return _table("raw", spec)


def quarantine_table(spec: FeedSpec) -> sql.Identifier:
    return _table("quarantine", spec)


def delivered_view(spec: FeedSpec) -> sql.Identifier:
    return sql.Identifier("ingest", f"{spec.id}_delivered")


def typed_columns(spec: FeedSpec) -> list[sql.Composable]:
    """The column definitions of the spec's columns, typed as in raw.<feed>."""
    return [sql.SQL("{} " + SQL_TYPES[c.type]).format(sql.Identifier(c.name)) for c in spec.columns]


def ddl(spec: FeedSpec) -> list[sql.Composable]:
    """Idempotent DDL: partitioned tables, columns added by a later spec, indexes, the GX view."""
    meta = sql.SQL(", ").join(sql.SQL("{} " + t).format(sql.Identifier(n)) for n, t in META_COLUMNS)
    raw_cols = typed_columns(spec)
    text_cols = [sql.SQL("{} text").format(sql.Identifier(c.name)) for c in spec.columns]
    raw, quarantine = raw_table(spec), quarantine_table(spec)
    statements = [_set_aside_unpartitioned(table) for table in (raw, quarantine)]
    statements += [
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, {}, extra jsonb) PARTITION BY LIST (month)").format(
            raw, meta, sql.SQL(", ").join(raw_cols)),
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, reasons text[] NOT NULL, {}, extra jsonb, malformed jsonb) "
                "PARTITION BY LIST (month)").format(quarantine, meta, sql.SQL(", ").join(text_cols)),
    ]
    statements += [sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {}").format(raw, c) for c in raw_cols]
    statements += [sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {}").format(quarantine, c) for c in text_cols]
    if spec.checks_duplicates and spec.kind == "event":  # a key accepted from an earlier month, looked up by index
        statements.append(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
            sql.Identifier(f"{spec.id}_key"), raw, sql.SQL(", ").join(map(sql.Identifier, spec.key))))
    if spec.kind == "snapshot":  # a month reads one delivery's rows (wh.snapshot_delivery; I09 its quarantine too)
        statements += [sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (file_sha256)").format(
            sql.Identifier(f"{spec.id}_file"), table) for table in (raw, quarantine)]
    statements.append(sql.SQL("DROP VIEW IF EXISTS {}").format(delivered_view(spec)))
    statements.append(_view(spec))
    return statements


def _set_aside_unpartitioned(table: sql.Identifier) -> sql.Composable:
    """A table of an earlier version (not partitioned) is renamed <feed>__unpartitioned; its rows
    are moved into month partitions by migrate_unpartitioned."""
    schema, name = table.strings
    return sql.SQL("""DO $$ DECLARE idx text; BEGIN
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = {schema} AND c.relname = {name} AND c.relkind = 'r') THEN
        DROP VIEW IF EXISTS {view};
        -- its index names are the partitioned table's to take
        FOR idx IN SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = {regclass}::regclass LOOP
            EXECUTE 'DROP INDEX ' || idx;
        END LOOP;
        ALTER TABLE {table} RENAME TO {old};
    END IF;
END $$""").format(schema=sql.Literal(schema), name=sql.Literal(name), table=table,
                  old=sql.Identifier(f"{name}__unpartitioned"),
                  view=sql.Identifier("ingest", f"{name}_delivered"), regclass=sql.Literal(f'{schema}."{name}"'))


def month_partition(table: sql.Identifier, month) -> sql.Identifier:
    """The partition of a table partitioned by month (raw.<feed>, quarantine.<feed>, wh.subjects) holding one month."""
    schema, name = table.strings
    return sql.Identifier("ingest_months", f"{schema}_{name}_{month:%Y_%m}")


def fresh_month_table(cur, table: sql.Identifier, month) -> sql.Identifier:
    """An empty table shaped like `table` for one month, made in the caller's transaction (so that
    COPY FREEZE may fill it); swap_month puts it in place of the month's partition."""
    schema, name = table.strings
    fresh = sql.Identifier("ingest_months", f"{schema}_{name}_{month:%Y_%m}__new")
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(fresh))
    cur.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, CHECK (month = {}))").format(
        fresh, table, sql.Literal(month)))
    return fresh


def column_types(cur, table: sql.Identifier) -> dict[str, str]:
    """Each column of `table` and its type as format_type names it (what a binary COPY must send)."""
    cur.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table.as_string(cur),))
    return dict(cur.fetchall())


def swap_month(cur, table: sql.Identifier, fresh: sql.Identifier, month) -> None:
    """Replace the month's partition by `fresh` (indexes are built here, after the rows are in)."""
    target = month_partition(table, month)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(fresh, sql.Identifier(target.strings[1])))
    cur.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
        table, target, sql.Literal(month)))


def analyse_month(cur, table: sql.Identifier, month, rows: int) -> None:
    """Statistics for a month just swapped in, before the next step reads it. The parent's span the
    months (a join plans on them even where one partition is read) and autovacuum never analyses a
    partitioned table; but ANALYZE of a parent re-samples every month's partition too, so the parent
    is analysed only when it never was or the month's `rows` are a tenth of it or more (autovacuum's
    rule), else just the month's partition."""
    cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table.as_string(cur),))
    known = cur.fetchone()[0]
    whole = known < 0 or rows > ANALYZE_SHARE * known
    cur.execute(sql.SQL("ANALYZE {}").format(table if whole else month_partition(table, month)))


def migrate_unpartitioned(cur, spec: FeedSpec) -> None:
    """Move the rows of an earlier version's unpartitioned tables into month partitions."""
    for table in (raw_table(spec), quarantine_table(spec)):
        schema, name = table.strings
        old = sql.Identifier(schema, f"{name}__unpartitioned")
        cur.execute("SELECT to_regclass(%s)", (f"{schema}.{name}__unpartitioned",))
        if cur.fetchone()[0] is None:
            continue
        cur.execute(sql.SQL("SELECT DISTINCT month FROM {}").format(old))
        for (month,) in cur.fetchall():
            fresh = fresh_month_table(cur, table, month)
            cur.execute(sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE month = %s").format(fresh, old), (month,))
            swap_month(cur, table, fresh, month)
        cur.execute(sql.SQL("DROP TABLE {}").format(old))


def _view(spec: FeedSpec) -> sql.Composable:
    meta = sql.SQL(", ").join(map(sql.Identifier, META))
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in spec.columns)
    typed = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(typed_value(c, sql.Identifier(c.name)), sql.Identifier(c.name))
        for c in spec.columns
    )
    return sql.SQL(
        "CREATE VIEW {view} AS "
        "SELECT {meta}, {names}, '{{}}'::text[] AS _type_errors, false AS _malformed, "
        "false AS _duplicate_key, '{{}}'::text[] AS reasons FROM {raw} "
        "UNION ALL "
        "SELECT {meta}, {typed}, ARRAY(SELECT r FROM unnest(reasons) r WHERE r LIKE 'bad\\_type:%'), "
        "malformed IS NOT NULL, 'duplicate_key' = ANY(reasons), reasons FROM {quarantine}"
    ).format(view=delivered_view(spec), meta=meta, names=names, typed=typed,
             raw=raw_table(spec), quarantine=quarantine_table(spec))
