"""The subject master wh.subjects (issue 4): one row per 统一社会信用代码 per month, built in SQL.

For month M: every valid USCC of M's registry snapshot (wh.registry_snapshot) with its 主体名称,
主体类型 and 所属区县 (of its first row), and whether it is an existing enterprise (E(M), INDICATORS.md:
on a snapshot row with 主体类型 企业 and 登记状态 存续; the first such row is `existing_row`, the line
`jn-credit explain` counts), plus every valid USCC on correct rows delivered
in M or before (month folder ≤ M) of the other feeds that name a subject by USCC. Those not in the
registry get in_registry false, the latest name a feed gave them, a kind from the USCC's type code
(wh.uscc_kind) and the district of the USCC's division code (positions 3–8) when that is a known
district. `sources` lists the feeds naming the subject. The indicators read their subject lookups
(district, E(M), registry membership) from this table, so the registry is sorted once per month.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from psycopg2 import sql

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.ingest.specs import load_specs

SUBJECTS = sql.Identifier("wh", "subjects")
REGISTRY = "registry"
BUILD = "subjects"  # its name in wh.fact_builds, beside the state feeds'
PREVIEW_ROWS = 20
WORK_MEM = "256MB"  # a city's mentions hash and sort in memory, not on disk
# Every part of the build is per USCC (its registry rows, the feeds naming it, its name), so the month
# is built as `PARTS` disjoint sets of USCCs (by a hash), each on a connection of its own: the one
# statement ran on one core while the other idled (~6 s of a city month's ~8).
PARTS = 2


def subject_columns() -> list[tuple[str, str, str | None, bool]]:
    """(feed, USCC column, name column or None, checked at ingest) of every feed but the registry that
    names a subject (its spec's `subjects:`). A uscc-typed column's value on a correct row is valid; a
    text one (uscc_issue's 统一社会信用代码, as issued) is kept only where valid."""
    column_type = {(f, c.name): c.type for f, spec in load_specs().items() for c in spec.columns}
    return [(feed, s.uscc, s.name, column_type[feed, s.uscc] == "uscc")
            for feed, spec in load_specs().items() if feed != REGISTRY for s in spec.subjects]


def insert_statement(table: sql.Identifier = SUBJECTS, in_parts: bool = False) -> sql.Composed:
    """The one INSERT … SELECT into `table` of month %(month)s (districts: %(districts)s); `in_parts`:
    only the USCCs of part %(part)s of %(parts)s."""
    def part_of(uscc: sql.Composable) -> sql.Composable:
        if not in_parts:
            return sql.SQL("")
        return sql.SQL(" AND (hashtext({}) & 2147483647) %% %(parts)s = %(part)s").format(uscc)

    columns = subject_columns()
    feeds = sorted({feed for feed, _, _, _ in columns})  # a feed's bit in a subject's mask of sources
    mentions = sql.SQL("\n        UNION ALL ").join(
        sql.SQL("SELECT {bit}::bigint AS bit, t.{uscc} AS uscc, {name} AS name, t.delivery_date, t.month, t.seq, t.row_no "
                "FROM {table} t WHERE t.month <= %(month)s AND t.{uscc} IS NOT NULL{valid}{part}").format(
            bit=sql.Literal(1 << feeds.index(feed)), uscc=sql.Identifier(uscc),
            name=sql.SQL("t.{}").format(sql.Identifier(name)) if name else sql.SQL("NULL::text"),
            table=tables.raw_table(load_specs()[feed]),
            valid=sql.SQL("") if checked else sql.SQL(" AND jn.uscc_valid(t.{})").format(sql.Identifier(uscc)),
            part=part_of(sql.SQL("t.{}").format(sql.Identifier(uscc))))
        for feed, uscc, name, checked in columns)
    return sql.SQL("""
    WITH registry AS (  -- correct rows: the USCC is valid (ingest checked it); the first row speaks for it
        SELECT DISTINCT ON (s.uscc) s.uscc, s.subject_name, s.subject_type, s.district,
               min(s.row_no) FILTER (WHERE s.subject_type = '企业' AND s.registration_status = '存续') OVER w AS existing_row
        FROM wh.registry_snapshot(%(month)s) s WHERE true{registry_part}
        -- the window over all of the USCC's rows, ordered as DISTINCT ON needs them: one sort for both
        WINDOW w AS (PARTITION BY s.uscc ORDER BY s.row_no ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        ORDER BY s.uscc, s.row_no
    ), mentions AS (
        {mentions}
    ), masks AS (  -- the feeds naming each USCC as bits: hashed, where a list per USCC would sort ~1 M rows
        SELECT m.uscc, bit_or(m.bit) AS mask FROM mentions m GROUP BY m.uscc
    ), labels AS (  -- each of the few masks that occur, spelled out as the sorted list of its feeds
        SELECT k.mask, array_agg(f.feed ORDER BY f.feed) AS sources
        FROM (SELECT DISTINCT mask FROM masks) k, unnest({feeds}::text[]) WITH ORDINALITY AS f(feed, i)
        WHERE k.mask & (1::bigint << (f.i::int - 1)) <> 0 GROUP BY k.mask
    ), sources AS (
        SELECT k.uscc, l.sources FROM masks k JOIN labels l ON l.mask = k.mask
    ), names AS (  -- the latest name a feed gave, needed only where the registry gives none
        SELECT DISTINCT ON (m.uscc) m.uscc, btrim(m.name) AS name FROM mentions m
        WHERE nullif(btrim(m.name), '') IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM registry r WHERE r.uscc = m.uscc AND r.subject_name IS NOT NULL)
        ORDER BY m.uscc, m.delivery_date DESC, m.month DESC, m.seq DESC, m.row_no DESC
    )
    INSERT INTO {table} (month, uscc, name, kind, district, in_registry, sources, existing, existing_row)
    SELECT %(month)s, coalesce(r.uscc, f.uscc), coalesce(r.subject_name, n.name),
           CASE WHEN r.uscc IS NOT NULL THEN wh.subject_kind(r.subject_type) ELSE wh.uscc_kind(f.uscc) END,
           CASE WHEN r.uscc IS NOT NULL THEN r.district
                WHEN substr(f.uscc, 3, 6) = ANY(%(districts)s) THEN substr(f.uscc, 3, 6) END,
           r.uscc IS NOT NULL,
           CASE WHEN r.uscc IS NOT NULL THEN ARRAY[{registry}] || coalesce(f.sources, '{{}}') ELSE f.sources END,
           r.existing_row IS NOT NULL, r.existing_row
    -- the few names joined last, as the small side of a hash
    FROM registry r FULL JOIN sources f ON f.uscc = r.uscc LEFT JOIN names n ON n.uscc = f.uscc""").format(
        mentions=mentions, registry=sql.Literal(REGISTRY), feeds=sql.Literal(feeds), table=table,
        registry_part=part_of(sql.SQL("s.uscc")))


def build_month(cur, month: dt.date, districts: list[str], url: str | None = None, parts: int = PARTS) -> dict:
    """Replace M's rows of wh.subjects on `cur` (the caller's transaction), `districts` being the known
    district codes; records the build in wh.fact_builds. Given the warehouse's `url`, built in `parts`
    side by side (alone when `cur` has written: its rows are in no snapshot a helper reads). Returns the
    counts and a preview."""
    cur.execute("SET LOCAL work_mem = %s", (WORK_MEM,))
    params = {"month": month, "districts": districts}
    if url and parts > 1 and not database.has_written(cur):
        fresh, inserted = _insert_in_parts(cur, url, month, params, parts)
    else:
        fresh = tables.fresh_month_table(cur, SUBJECTS, month)
        cur.execute(insert_statement(fresh), params)
        inserted = cur.rowcount
    tables.swap_month(cur, SUBJECTS, fresh, month)  # the primary key is built here, on the rows in place
    tables.analyse_month(cur, SUBJECTS, month, inserted)  # the indicators plan on real counts
    cur.execute("""INSERT INTO wh.fact_builds (feed, as_of_month, rows, built_at) VALUES (%s, %s, %s, now())
                   ON CONFLICT (feed, as_of_month) DO UPDATE SET rows = excluded.rows, built_at = excluded.built_at""",
                (BUILD, month, inserted))
    cur.execute("""SELECT kind, count(*), count(*) FILTER (WHERE in_registry), count(*) FILTER (WHERE district IS NULL)
                   FROM wh.subjects WHERE month = %s GROUP BY kind ORDER BY kind""", (month,))
    kinds = cur.fetchall()
    # registry subjects first, by USCC: each part read in the primary key's order, not a sort of the month
    cur.execute("""SELECT * FROM (
                       (SELECT uscc, name, kind, district, in_registry, array_to_string(sources, ', ') FROM wh.subjects
                        WHERE month = %(month)s AND in_registry ORDER BY uscc LIMIT %(n)s)
                       UNION ALL
                       (SELECT uscc, name, kind, district, in_registry, array_to_string(sources, ', ') FROM wh.subjects
                        WHERE month = %(month)s AND NOT in_registry ORDER BY uscc LIMIT %(n)s)) p
                   ORDER BY in_registry DESC, uscc LIMIT %(n)s""", {"month": month, "n": PREVIEW_ROWS})
    preview = cur.fetchall()
    return {"rows": inserted, "kinds": kinds, "preview": preview}


def _insert_in_parts(cur, url: str, month: dt.date, params: dict, parts: int) -> tuple[sql.Identifier, int]:
    """M's rows in a fresh table, each part inserted by a helper reading `cur`'s snapshot. The fresh table
    is committed empty first, so the helpers can fill it; readers never see it until `cur` swaps it in.
    A part that fails drops it (a failure after the swap leaves it to the next build, which drops it).
    One build of a month at a time."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"wh.subjects {month:%Y-%m}",))
    with database.transaction(url) as own:
        fresh = tables.fresh_month_table(own, SUBJECTS, month)
    snapshot = database.export_snapshot(cur)

    def insert(part: int) -> int:
        with database.reading_snapshot(url, snapshot, read_only=False) as helper:
            helper.execute("SET LOCAL work_mem = %s", (WORK_MEM,))
            helper.execute(insert_statement(fresh, in_parts=True), {**params, "parts": parts, "part": part})
            return helper.rowcount

    try:
        with ThreadPoolExecutor(parts, thread_name_prefix="subjects") as pool:
            return fresh, sum(pool.map(insert, range(parts)))
    except BaseException:
        with database.transaction(url) as own:  # the parts that were written go with it
            own.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(fresh))
        raise


def built(cur, month: dt.date) -> bool:
    cur.execute("SELECT 1 FROM wh.fact_builds WHERE feed = %s AND as_of_month = %s", (BUILD, month))
    return cur.fetchone() is not None
