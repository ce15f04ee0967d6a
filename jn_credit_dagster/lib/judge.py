"""The one set-based statement that judges a staged month of a feed and files every row.

Staged text rows are typed (tables.typed_value), judged by every expectation of the feed's
suite compiled to SQL (suites.Rule.predicate), checked for repeated keys, and inserted into
raw.<feed> when no reason applies, else into quarantine.<feed> with all of them.
"""

from __future__ import annotations

import datetime as dt

from psycopg2 import sql

from . import tables
from .specs import FeedSpec
from .suites import DUPLICATE_REASON, MALFORMED_REASON, Suite

STAGE = sql.Identifier("stage")
STAGE_FILES = sql.Identifier("stage_files")


def stage_ddl(spec: FeedSpec) -> list[sql.Composable]:
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c.name)) for c in spec.columns)
    return [
        sql.SQL("CREATE TEMP TABLE {} (file_idx integer, row_no integer, {}, _malformed text) ON COMMIT DROP")
        .format(STAGE, columns),
        sql.SQL("CREATE TEMP TABLE {} (file_idx integer PRIMARY KEY, file_sha256 text, unit text, "
                "delivery_date date, seq integer, extra_headers text[]) ON COMMIT DROP").format(STAGE_FILES),
    ]


def _reason_array(cases: list[sql.Composable]) -> sql.Composable:
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


def _duplicate(spec: FeedSpec, month: dt.date) -> sql.Composable:
    """True when an earlier correct row has the same key: in this month's deliveries (file then
    row order; files are numbered in delivery order) or, for event feeds, already accepted
    from another month's folder that comes earlier in the delivery order."""
    if not spec.checks_duplicates:
        return sql.SQL("false")
    key = [sql.Identifier(k) for k in spec.key]
    complete = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(k) for k in key)
    scope = [sql.Identifier("file_idx")] if spec.kind == "snapshot" else []
    earlier_here = sql.SQL(
        "count(*) FILTER (WHERE cardinality(_base) = 0) OVER (PARTITION BY {} ORDER BY file_idx, row_no "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > 0"
    ).format(sql.SQL(", ").join(scope + key))
    if spec.kind != "event":
        return sql.SQL("({}) AND {}").format(complete, earlier_here)
    same_key = sql.SQL(" AND ").join(sql.SQL("r.{k} = j.{k}").format(k=k) for k in key)
    earlier_month = sql.SQL(
        "EXISTS (SELECT 1 FROM {raw} r WHERE {same} AND r.month <> {m} "
        "AND (r.delivery_date, r.month) < (j.delivery_date, {m}))"
    ).format(raw=tables.raw_table(spec), same=same_key, m=sql.Literal(month))
    return sql.SQL("({}) AND ({} OR {})").format(complete, earlier_here, earlier_month)


def judge_and_load(spec: FeedSpec, suite: Suite, month: dt.date, extra_columns: int) -> sql.Composable:
    ident = sql.Identifier
    cols = spec.columns
    typed = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(tables.typed_value(c, sql.SQL("s.{}").format(ident(c.name))), ident(c.name))
        for c in cols
    )
    raw_text = sql.SQL(", ").join(sql.SQL("s.{} AS {}").format(ident(c.name), ident(c.name + "__raw")) for c in cols)
    if extra_columns:
        values = sql.SQL(", ").join(sql.SQL("s.{}").format(ident(f"_extra_{i}")) for i in range(1, extra_columns + 1))
        extra = sql.SQL(
            "(SELECT jsonb_object_agg(x.h, x.v) FROM unnest(f.extra_headers, ARRAY[{}]) AS x(h, v) "
            "WHERE x.h IS NOT NULL AND x.v IS NOT NULL)").format(values)
    else:
        extra = sql.SQL("NULL::jsonb")
    type_errors = tables.type_errors(
        spec, lambda c: sql.SQL("t.{}").format(ident(c.name)), lambda c: sql.SQL("t.{}").format(ident(c.name + "__raw")))

    row_rules = [r for r in suite.rules if not r.computed_by_parser and not r.needs_duplicates]
    duplicate_rules = [r for r in suite.rules if r.needs_duplicates]
    malformed = sql.Literal(MALFORMED_REASON)

    meta_out = sql.SQL(", ").join(map(ident, tables.META))
    raw_cols = sql.SQL(", ").join(ident(c.name) for c in cols)
    raw_text_out = sql.SQL(", ").join(ident(c.name + "__raw") for c in cols)

    return sql.SQL("""
WITH typed AS (
    SELECT t.*, {type_errors} AS _type_errors
    FROM (SELECT {month}::date AS month, f.unit, f.file_sha256, f.delivery_date, f.seq, s.file_idx, s.row_no,
                 {typed}, {raw_text}, s._malformed IS NOT NULL AS _malformed,
                 s._malformed::jsonb AS malformed_detail, {extra} AS extra
          FROM {stage} s JOIN {stage_files} f USING (file_idx)
          OFFSET 0) t  -- a fence: each value is parsed once
), judged AS (
    -- a ragged row's values may sit under the wrong headers: malformed_row is its only reason
    SELECT j.*, CASE WHEN _malformed THEN ARRAY[{malformed}]::text[]
                     ELSE j._type_errors || {row_reasons} END AS _base
    FROM typed j
), keyed AS (
    SELECT j.*, {duplicate} AS _duplicate_key FROM judged j
), final AS (
    SELECT k.*, CASE WHEN _malformed THEN _base ELSE _base || {duplicate_reasons} END AS _reasons FROM keyed k
), accepted AS (
    INSERT INTO {raw} ({meta}, {raw_cols}, extra)
    SELECT {meta}, {raw_cols}, extra FROM final WHERE cardinality(_reasons) = 0
    RETURNING 1
)
INSERT INTO {quarantine} ({meta}, reasons, {raw_cols}, extra, malformed)
SELECT {meta}, _reasons, {raw_text_out}, extra, malformed_detail FROM final WHERE cardinality(_reasons) > 0
""").format(
        type_errors=type_errors, month=sql.Literal(month), typed=typed, raw_text=raw_text, extra=extra,
        stage=STAGE, stage_files=STAGE_FILES, malformed=malformed,
        row_reasons=_reason_array([_case(r, spec) for r in row_rules]),
        duplicate=_duplicate(spec, month),
        duplicate_reasons=_reason_array([_case(r, spec) for r in duplicate_rules]),
        raw=tables.raw_table(spec), quarantine=tables.quarantine_table(spec),
        meta=meta_out, raw_cols=raw_cols, raw_text_out=raw_text_out,
    )


__all__ = ["judge_and_load", "stage_ddl", "STAGE", "STAGE_FILES", "DUPLICATE_REASON"]
