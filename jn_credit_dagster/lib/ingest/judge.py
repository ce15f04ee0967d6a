"""The suites compiled to SQL: the reference the vectorised judge (frame_judge) is held to.

Staged text rows are trimmed, typed (tables.typed_value) and judged by every expectation of the
feed's suite compiled to SQL (suites.Rule.predicate), in one set-based statement (`judged`).
Repeated keys are the loader's (they need the order of deliveries across files and months).
"""

from __future__ import annotations

import datetime as dt

from psycopg2 import sql
from psycopg2.extras import execute_values

from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.ingest.specs import FeedSpec
from jn_credit_dagster.lib.ingest.suites import MALFORMED_REASON, Suite

STAGE = sql.Identifier("stage")
STAGE_FILES = sql.Identifier("stage_files")
I = sql.Identifier


def stage_ddl(spec: FeedSpec) -> list[sql.Composable]:
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(I(c.name)) for c in spec.columns)
    return [
        # ord numbers the rows as COPY stores them; row_no is given by the parser, else derived from ord
        sql.SQL("CREATE TEMP TABLE {} (ord bigint GENERATED ALWAYS AS IDENTITY, file_idx integer, "
                "row_no integer, {}, _malformed text) ON COMMIT DROP").format(STAGE, columns),
        sql.SQL("CREATE TEMP TABLE {} (file_idx integer PRIMARY KEY, file_sha256 text, unit text, "
                "delivery_date date, seq integer, extra_headers text[], first_ord bigint) ON COMMIT DROP")
        .format(STAGE_FILES),
    ]


def _array(cases: list[sql.Composable]) -> sql.Composable:
    if not cases:
        return sql.SQL("'{}'::text[]")
    return sql.SQL("array_remove(ARRAY[{}]::text[], NULL)").format(sql.SQL(", ").join(cases))


def _case(rule, spec: FeedSpec) -> sql.Composable:
    predicate = rule.predicate()
    parsed = {f"required:{c.header}": c for c in spec.columns if c.type in tables.PARSERS}
    if rule.reason in parsed:  # a value that was given but does not parse is bad_type, not missing
        bad_type = sql.Literal(f"bad_type:{parsed[rule.reason].header}")
        predicate = sql.SQL("({}) AND NOT ({} = ANY(_type_errors))").format(predicate, bad_type)
    return sql.SQL("CASE WHEN {} THEN {} END").format(predicate, sql.Literal(rule.reason))


def judged(spec: FeedSpec, suite: Suite, month: dt.date, extra_columns: int, where: sql.Composable) -> sql.Composable:
    """SELECT of the staged rows matching `where` (over stage s), typed, with `_base` reasons:
    every reason except a repeated key. Each layer is fenced (OFFSET 0) so values are trimmed
    and parsed once and rules read plain columns."""
    cols = spec.columns
    parsed = [c for c in cols if c.type in tables.PARSERS]
    trimmed = sql.SQL(", ").join(
        [sql.SQL("{} AS {}").format(tables.trimmed(sql.SQL("s.{}").format(I(c.name))), I(c.name)) for c in cols]
        + [sql.SQL("s.{} AS {}").format(I(c.name), I(c.name + "__raw")) for c in cols])
    typed = sql.SQL(", ").join(
        [sql.SQL("{} AS {}").format(tables.typed_value_of_trimmed(c, sql.SQL("x.{}").format(I(c.name))), I(c.name))
         for c in cols]
        + [sql.SQL("x.{} AS {}").format(I(c.name), I(c.name + "__v")) for c in parsed]
        + [sql.SQL("x.{}").format(I(c.name + "__raw")) for c in cols])
    type_errors = _array([
        sql.SQL("CASE WHEN t.{c} IS NULL AND t.{v} IS NOT NULL THEN {r} END").format(
            c=I(c.name), v=I(c.name + "__v"), r=sql.Literal(f"bad_type:{c.header}")) for c in parsed])
    if extra_columns:
        extras = [I(f"_extra_{i}") for i in range(1, extra_columns + 1)]
        extra = sql.SQL("(SELECT jsonb_object_agg(e.h, e.v) FROM unnest(f.extra_headers, ARRAY[{}]) AS e(h, v) "
                        "WHERE e.h IS NOT NULL AND e.v IS NOT NULL)").format(
            sql.SQL(", ").join(sql.SQL("x.{}").format(e) for e in extras))
        extra_raw = sql.SQL(", {}").format(sql.SQL(", ").join(sql.SQL("s.{}").format(e) for e in extras))
    else:
        extra, extra_raw = sql.SQL("NULL::jsonb"), sql.SQL("")
    rules = [_case(r, spec) for r in suite.rules if not r.computed_by_parser and not r.needs_duplicates]
    return sql.SQL("""
SELECT j.*, CASE WHEN j._malformed THEN ARRAY[{malformed}]::text[] ELSE j._type_errors || {rules} END AS _base
FROM (
    SELECT t.*, {type_errors} AS _type_errors
    FROM (
        SELECT {month}::date AS month, f.unit, f.file_sha256, f.delivery_date, f.seq, x.file_idx, x.row_no,
               {typed}, x._malformed IS NOT NULL AS _malformed, x._malformed::jsonb AS malformed_detail,
               {extra} AS extra
        FROM (SELECT s.file_idx, COALESCE(s.row_no, s.ord - sf.first_ord + 1)::integer AS row_no, s._malformed,
                     {trimmed}{extra_raw}
              FROM {stage} s JOIN {stage_files} sf USING (file_idx) WHERE {where} OFFSET 0) x
        JOIN {stage_files} f USING (file_idx)
        OFFSET 0
    ) t
) j
""").format(malformed=sql.Literal(MALFORMED_REASON), rules=_array(rules), type_errors=type_errors,
            month=sql.Literal(month), typed=typed, extra=extra, trimmed=trimmed, extra_raw=extra_raw,
            stage=STAGE, stage_files=STAGE_FILES, where=where)


def reference_judge(cur, spec: FeedSpec, suite: Suite, rows: list[dict], *, month: dt.date,
                    delivery_date: dt.date, unit: str) -> list[tuple[int, list[str]]]:
    """(row_no, _base reasons) of each given text row (column name -> text, plus row_no and an
    optional _malformed JSON text) as the SQL engine judges it: staged in stage_ddl's temporary
    tables inside a savepoint that is rolled back, so nothing else in the transaction changes.
    The reference the vectorised judge (frame_judge) is held to; current_date is the session's."""
    names = [c.name for c in spec.columns]
    cur.execute("SAVEPOINT reference_judge")
    try:
        for statement in stage_ddl(spec):
            cur.execute(statement)
        cur.execute(sql.SQL("INSERT INTO {} VALUES (1, 'reference', %s, %s, 1, NULL, 1)").format(STAGE_FILES),
                    (unit, delivery_date))
        targets = sql.SQL(", ").join(map(I, ["file_idx", "row_no", *names, "_malformed"]))
        insert = sql.SQL("INSERT INTO {} ({}) VALUES %s").format(STAGE, targets)
        execute_values(cur, insert.as_string(cur), [(1, r["row_no"], *(r.get(n) for n in names), r.get("_malformed"))
                                                    for r in rows], page_size=1000)
        cur.execute(sql.SQL("SELECT row_no, _base FROM ({}) j ORDER BY row_no").format(
            judged(spec, suite, month, 0, sql.SQL("true"))))
        return [(n, list(reasons)) for n, reasons in cur.fetchall()]
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT reference_judge")
        cur.execute("RELEASE SAVEPOINT reference_judge")
