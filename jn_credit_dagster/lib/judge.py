"""The set-based statements that judge a staged month of a feed and file every row.

Staged text rows are trimmed, typed (tables.typed_value) and judged by every expectation of
the feed's suite compiled to SQL (suites.Rule.predicate). Rows without a reason go to
raw.<feed>, the others to quarantine.<feed> with all of them — in one statement.

Repeated keys need the order of rows, and only correct rows block a key. Sorting a whole month
for that would be wasteful, so a first, narrow statement picks the rows whose key occurs more
than once in the month, judges just those, and records which of them repeat an earlier correct
row (`stage_duplicates`); keys accepted from earlier months are looked up in raw.<feed> by index.
"""

from __future__ import annotations

import datetime as dt

from psycopg2 import sql
from psycopg2.extras import execute_values

from . import tables
from .specs import FeedSpec
from .suites import MALFORMED_REASON, Suite

STAGE = sql.Identifier("stage")
STAGE_FILES = sql.Identifier("stage_files")
DUPLICATES = sql.Identifier("stage_duplicates")
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
        sql.SQL("CREATE TEMP TABLE {} (file_idx integer, row_no integer, PRIMARY KEY (file_idx, row_no)) "
                "ON COMMIT DROP").format(DUPLICATES),
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


def has_repeated_keys(spec: FeedSpec) -> sql.Composable | None:
    """Whether any key occurs twice in this month's staged rows: most months none does, and
    then the duplicate pass is skipped."""
    if not spec.checks_duplicates:
        return None
    key = [tables.typed_value(spec.column(k), sql.SQL("s.{}").format(I(k))) for k in spec.key]
    scope = [sql.SQL("s.file_idx")] if spec.kind == "snapshot" else []
    return sql.SQL("SELECT EXISTS (SELECT 1 FROM {} s GROUP BY {} HAVING count(*) > 1)").format(
        STAGE, sql.SQL(", ").join(scope + key))


def find_duplicates(spec: FeedSpec, suite: Suite, month: dt.date, extra_columns: int) -> sql.Composable | None:
    """Fill stage_duplicates with the rows repeating the key of an earlier correct row of this
    month (in file, then row order; files are numbered in delivery order). Only rows whose key
    occurs more than once are judged here."""
    if not spec.checks_duplicates:
        return None
    key_text = [tables.typed_value(spec.column(k), sql.SQL("s.{}").format(I(k))) for k in spec.key]
    key_tuple = sql.SQL("ROW({})").format(sql.SQL(", ").join(key_text))
    scope = [I("file_idx")] if spec.kind == "snapshot" else []
    scope_tuple = sql.SQL("s.file_idx") if scope else sql.SQL("0")
    repeated = sql.SQL(
        "({scope}, {key}) IN (SELECT {scope}, {key} FROM {stage} s GROUP BY 1, 2 HAVING count(*) > 1)"
    ).format(scope=scope_tuple, key=key_tuple, stage=STAGE)
    keys = sql.SQL(", ").join(map(I, spec.key))
    complete = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(I(k)) for k in spec.key)
    return sql.SQL("""
INSERT INTO {duplicates} (file_idx, row_no)
SELECT file_idx, row_no FROM (
    SELECT file_idx, row_no, {complete} AND count(*) FILTER (WHERE cardinality(_base) = 0) OVER (
        PARTITION BY {partition} ORDER BY file_idx, row_no ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > 0 AS dup
    FROM ({judged}) c
) w WHERE dup
""").format(duplicates=DUPLICATES, complete=complete, partition=sql.SQL(", ").join(scope + [keys]),
            judged=judged(spec, suite, month, extra_columns, repeated))


def _earlier_month(spec: FeedSpec, month: dt.date) -> sql.Composable:
    """For event feeds: the key was accepted from another month's folder earlier in delivery order."""
    if not (spec.checks_duplicates and spec.kind == "event"):
        return sql.SQL("false")
    same = sql.SQL(" AND ").join(sql.SQL("r.{k} = j.{k}").format(k=I(k)) for k in spec.key)
    return sql.SQL("EXISTS (SELECT 1 FROM {raw} r WHERE {same} AND r.month <> {m} "
                   "AND (r.delivery_date, r.month) < (j.delivery_date, {m}))").format(
        raw=tables.raw_table(spec), same=same, m=sql.Literal(month))


def judge_and_load(spec: FeedSpec, suite: Suite, month: dt.date, extra_columns: int) -> sql.Composable:
    """Judge every staged row and insert it into raw (typed) or quarantine (as delivered). The
    delivered text is kept only for quarantined rows, so the materialized result stays narrow."""
    cols = sql.SQL(", ").join(I(c.name) for c in spec.columns)
    delivered = sql.SQL(", ").join(
        sql.SQL("CASE WHEN cardinality(_reasons) > 0 THEN {} END AS {}").format(I(c.name + "__raw"), I(c.name + "__raw"))
        for c in spec.columns)
    delivered_out = sql.SQL(", ").join(I(c.name + "__raw") for c in spec.columns)
    meta = sql.SQL(", ").join(map(I, tables.META))
    duplicate_rules = _array([_case(r, spec) for r in suite.rules if r.needs_duplicates])
    return sql.SQL("""
WITH final AS (
    SELECT {meta}, {cols}, extra, malformed_detail, _reasons, {delivered}
    FROM (
        SELECT k.*, CASE WHEN _malformed THEN _base ELSE _base || {duplicate_rules} END AS _reasons
        FROM (
            SELECT j.*, (EXISTS (SELECT 1 FROM {duplicates} d WHERE d.file_idx = j.file_idx AND d.row_no = j.row_no)
                         OR {earlier_month}) AS _duplicate_key
            FROM ({judged}) j
            OFFSET 0  -- each row's key is looked up once
        ) k
    ) r
), accepted AS (
    INSERT INTO {raw} ({meta}, {cols}, extra)
    SELECT {meta}, {cols}, extra FROM final WHERE cardinality(_reasons) = 0
)
INSERT INTO {quarantine} ({meta}, reasons, {cols}, extra, malformed)
SELECT {meta}, _reasons, {delivered_out}, extra, malformed_detail FROM final WHERE cardinality(_reasons) > 0
""").format(duplicates=DUPLICATES, earlier_month=_earlier_month(spec, month),
            judged=judged(spec, suite, month, extra_columns, sql.SQL("true")),
            duplicate_rules=duplicate_rules, raw=tables.raw_table(spec), quarantine=tables.quarantine_table(spec),
            meta=meta, cols=cols, delivered=delivered, delivered_out=delivered_out)


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
