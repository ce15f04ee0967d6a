"""The warehouse's fact tables of the state feeds, generated from the feed spec like raw.<feed>.

wh.<feed>  for each state feed (FEEDS.md "kind: state") and each month M (`as_of_month`): the latest
           state as of end(M) — among the correct rows delivered in M or before (month folder ≤ M), the latest
           row per key by (delivery date, month, seq, row_no, unit, file) (INDICATORS.md "Latest state").
           Every column of raw.<feed>, so a fact row still names the file and row it came from.

Event feeds need no second table: ingest already keeps one accepted row per key (a repeat is a
`duplicate_key`), so raw.<feed> is their fact table, partitioned by the month it was delivered in.
Snapshot feeds are read as one delivery's rows (wh.snapshot_file), indexed by file.
"""

from __future__ import annotations

import datetime as dt

from psycopg2 import sql

from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.ingest.specs import FeedSpec, load_specs

# FEEDS.md "Order": among rows of one key, the latest delivery wins; unit and file only break exact ties.
LATEST_FIRST = ("delivery_date", "month", "seq", "row_no", "unit", "file_sha256")


def state_specs() -> list[FeedSpec]:
    return [s for s in load_specs().values() if s.kind == "state"]


def fact_table(spec: FeedSpec) -> sql.Identifier:
    return sql.Identifier("wh", spec.id)


def columns(spec: FeedSpec) -> list[str]:
    """The columns a fact row carries over from raw.<feed>, in table order."""
    return [*tables.META, *(c.name for c in spec.columns), "extra"]


def ddl(spec: FeedSpec) -> list[sql.Composable]:
    """Idempotent DDL: the table (as_of_month + raw.<feed>'s columns), columns a later spec adds, the index."""
    table = fact_table(spec)
    typed = [sql.SQL("{} " + t).format(sql.Identifier(n)) for n, t in tables.META_COLUMNS]
    typed += [*tables.typed_columns(spec), sql.SQL("extra jsonb")]
    return [
        sql.SQL("CREATE TABLE IF NOT EXISTS {} (as_of_month date NOT NULL, {})").format(table, sql.SQL(", ").join(typed)),
        *(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {}").format(table, c) for c in typed),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (as_of_month)").format(sql.Identifier(f"{spec.id}_as_of"), table),
    ]


def build_statement(spec: FeedSpec) -> sql.Composed:
    """The one INSERT … SELECT of month %(month)s's latest state."""
    names = sql.SQL(", ").join(map(sql.Identifier, columns(spec)))
    key = [sql.Identifier(k) for k in spec.key]
    order = key + [sql.SQL("{} DESC").format(sql.Identifier(c)) for c in LATEST_FIRST]
    return sql.SQL(
        "INSERT INTO {fact} (as_of_month, {names}) "
        "SELECT DISTINCT ON ({key}) %(month)s, {names} FROM {raw} WHERE month <= %(month)s ORDER BY {order}"
    ).format(fact=fact_table(spec), names=names, key=sql.SQL(", ").join(key), raw=tables.raw_table(spec),
             order=sql.SQL(", ").join(order))


def build_latest_state(cur, spec: FeedSpec, month: dt.date) -> int:
    """Replace M's latest state of the feed on `cur` (the caller's transaction); returns its row count.
    wh.fact_builds records the build, so a reader can tell "no rows" from "not built"."""
    cur.execute(sql.SQL("DELETE FROM {} WHERE as_of_month = %s").format(fact_table(spec)), (month,))
    cur.execute(build_statement(spec), {"month": month})
    rows = cur.rowcount
    cur.execute(sql.SQL("ANALYZE {}").format(fact_table(spec)))  # the indicators read it next: plan on real counts
    cur.execute("""INSERT INTO wh.fact_builds (feed, as_of_month, rows, built_at) VALUES (%s, %s, %s, now())
                   ON CONFLICT (feed, as_of_month) DO UPDATE SET rows = excluded.rows, built_at = excluded.built_at""",
                (spec.id, month, rows))
    return rows


def unbuilt(cur, month: dt.date) -> list[str]:
    """The state feeds whose latest state of M has not been built."""
    cur.execute("SELECT feed FROM wh.fact_builds WHERE as_of_month = %s", (month,))
    built = {r[0] for r in cur.fetchall()}
    return [s.id for s in state_specs() if s.id not in built]


def build_latest_states(cur, month: dt.date) -> dict[str, int]:
    """Every state feed's latest state of M (what the indicators read), in the caller's transaction."""
    return {spec.id: build_latest_state(cur, spec, month) for spec in state_specs()}
