"""The subject master (issue 4): wh.subjects, one row per 统一社会信用代码 per month.

For month M: every valid USCC of M's registry snapshot (wh.registry_snapshot) with its 主体名称,
主体类型 and 所属区县, plus every valid USCC on correct rows delivered in M or before (month folder ≤ M)
of the other feeds that name a subject by USCC. Those not in the registry get in_registry false, the
latest name a feed gave them, a kind from the USCC's type code (wh.uscc_kind) and the district of the
USCC's division code (positions 3–8) when that is a known district. `sources` lists the feeds naming
the subject. The month is deleted and inserted again in one transaction, by one INSERT … SELECT.
"""

import dagster as dg
from psycopg2 import sql

from jn_credit_dagster import partitions
from jn_credit_dagster.defs.lineage import every_earlier_month
from jn_credit_dagster.defs.warehouse.assets import GROUP, _schema
from jn_credit_dagster.lib.city import district_rows
from jn_credit_dagster.ingest import feed_key
from jn_credit_dagster.lib import tables
from jn_credit_dagster.lib.present import markdown_table
from jn_credit_dagster.lib.specs import load_specs
from jn_credit_dagster.resources import DB_RETRY, WAREHOUSE_POOL, Warehouse
from jn_credit_dagster.lib.failures import asset_failures

SUBJECTS_KEY = dg.AssetKey(["wh", "subjects"])
REGISTRY = "registry"
PREVIEW_ROWS = 20


def subject_columns() -> list[tuple[str, str, str | None, bool]]:
    """(feed, USCC column, name column or None, checked at ingest) of every feed but the registry that
    names a subject (its spec's `subjects:`). A uscc-typed column's value on a correct row is valid; a
    text one (uscc_issue's 统一社会信用代码, as issued) is kept only where valid."""
    column_type = {(f, c.name): c.type for f, spec in load_specs().items() for c in spec.columns}
    return [(feed, s.uscc, s.name, column_type[feed, s.uscc] == "uscc")
            for feed, spec in load_specs().items() if feed != REGISTRY for s in spec.subjects]


def insert_statement() -> sql.Composed:
    """DELETE-free: the one INSERT … SELECT of month %(month)s (districts: %(districts)s)."""
    mentions = sql.SQL("\n        UNION ALL ").join(
        sql.SQL("SELECT {feed} AS feed, t.{uscc} AS uscc, {name} AS name, t.delivery_date, t.month, t.seq, t.row_no "
                "FROM {table} t WHERE t.month <= %(month)s AND t.{uscc} IS NOT NULL{valid}").format(
            feed=sql.Literal(feed), uscc=sql.Identifier(uscc),
            name=sql.SQL("t.{}").format(sql.Identifier(name)) if name else sql.SQL("NULL::text"),
            table=tables.raw_table(load_specs()[feed]),
            valid=sql.SQL("") if checked else sql.SQL(" AND jn.uscc_valid(t.{})").format(sql.Identifier(uscc)))
        for feed, uscc, name, checked in subject_columns())
    return sql.SQL("""
    WITH registry AS (
        SELECT DISTINCT ON (s.uscc) s.uscc, s.subject_name, s.subject_type, s.district
        FROM wh.registry_snapshot(%(month)s) s  -- correct rows: the USCC is valid (ingest checked it)
        ORDER BY s.uscc, s.row_no
    ), mentions AS (
        {mentions}
    ), sources AS (
        SELECT d.uscc, array_agg(d.feed ORDER BY d.feed) AS sources
        FROM (SELECT DISTINCT m.uscc, m.feed FROM mentions m) d GROUP BY d.uscc
    ), names AS (  -- the latest name a feed gave, needed only where the registry gives none
        SELECT DISTINCT ON (m.uscc) m.uscc, btrim(m.name) AS name FROM mentions m
        WHERE nullif(btrim(m.name), '') IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM registry r WHERE r.uscc = m.uscc AND r.subject_name IS NOT NULL)
        ORDER BY m.uscc, m.delivery_date DESC, m.month DESC, m.seq DESC, m.row_no DESC
    ), fed AS (
        SELECT s.uscc, s.sources, n.name FROM sources s LEFT JOIN names n ON n.uscc = s.uscc
    )
    INSERT INTO wh.subjects (month, uscc, name, kind, district, in_registry, sources)
    SELECT %(month)s, coalesce(r.uscc, f.uscc), coalesce(r.subject_name, f.name),
           CASE WHEN r.uscc IS NOT NULL THEN wh.subject_kind(r.subject_type) ELSE wh.uscc_kind(f.uscc) END,
           CASE WHEN r.uscc IS NOT NULL THEN r.district
                WHEN substr(f.uscc, 3, 6) = ANY(%(districts)s) THEN substr(f.uscc, 3, 6) END,
           r.uscc IS NOT NULL,
           CASE WHEN r.uscc IS NOT NULL THEN ARRAY[{registry}] || coalesce(f.sources, '{{}}') ELSE f.sources END
    FROM registry r FULL JOIN fed f ON f.uscc = r.uscc""").format(mentions=mentions, registry=sql.Literal(REGISTRY))


def build_month(cur, month) -> dict:
    """Replace M's rows of wh.subjects on `cur` (the caller's transaction); returns the counts and a preview."""
    cur.execute("SET LOCAL work_mem = '256MB'")  # a city's mentions hash and sort in memory, not on disk
    cur.execute("DELETE FROM wh.subjects WHERE month = %s", (month,))
    cur.execute(insert_statement(), {"month": month, "districts": [code for code, _, _ in district_rows()]})
    inserted = cur.rowcount
    cur.execute("ANALYZE wh.subjects")  # the next steps plan on real counts
    cur.execute("""SELECT kind, count(*), count(*) FILTER (WHERE in_registry), count(*) FILTER (WHERE district IS NULL)
                   FROM wh.subjects WHERE month = %s GROUP BY kind ORDER BY kind""", (month,))
    kinds = cur.fetchall()
    cur.execute("""SELECT uscc, name, kind, district, in_registry, array_to_string(sources, ', ')
                   FROM wh.subjects WHERE month = %s ORDER BY in_registry DESC, uscc LIMIT %s""", (month, PREVIEW_ROWS))
    preview = cur.fetchall()
    return {"rows": inserted, "kinds": kinds, "preview": preview}


def subjects_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=SUBJECTS_KEY,
        group_name=GROUP,
        partitions_def=partitions.monthly(),
        # M reads the registry snapshot (M's delivery, else the latest earlier one) and the subjects named
        # by correct rows delivered in M or before: every month up to M of those feeds
        deps=[dg.AssetDep(feed_key(f), partition_mapping=every_earlier_month())
              for f in dict.fromkeys([REGISTRY, *(feed for feed, _, _, _ in subject_columns())])],
        kinds={"postgres"},
        retry_policy=DB_RETRY,
        pool=WAREHOUSE_POOL,
        description="主体库：以统一社会信用代码为键，当月市场主体登记快照中的每个有效代码（名称、主体类型、所属区县），"
                    "加上截至当月各报送数据正确行中出现的其他有效代码（未在登记库中：区县取代码第 3–8 位且为已知区县时，"
                    "类型取代码的登记管理部门和机构类别码），并列出提及该主体的数据项。",
        metadata={
            "dagster/table_name": "wh.subjects",
            "dagster/column_schema": _schema(
                ("month", "date", "月份（当月第一天）"),
                ("uscc", "text", "统一社会信用代码"),
                ("name", "text", "主体名称（登记库；不在登记库时取报送数据中最新的名称）"),
                ("kind", "text", "主体类别：enterprise | individual_business | farmer_cooperative | rural_collective | "
                                 "social_organization | public_institution | government_body | other_organization | legal_person"),
                ("district", "text", "所属区县代码"),
                ("in_registry", "boolean", "是否在当月登记快照中"),
                ("sources", "text[]", "提及该主体的数据项"),
            ),
        },
    )
    @asset_failures
    def wh_subjects(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        with warehouse.transaction() as cur:
            built = build_month(cur, month)
        kinds = built["kinds"]
        in_registry = sum(k[2] for k in kinds)
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(built["rows"]),
            "in_registry": dg.MetadataValue.int(in_registry),
            "not_in_registry": dg.MetadataValue.int(built["rows"] - in_registry),
            **{f"kind_{kind}": dg.MetadataValue.int(n) for kind, n, _, _ in kinds},
            "kinds": dg.MetadataValue.md(markdown_table(["类别", "主体数", "在登记库", "无区县"], kinds)),
            "preview": dg.MetadataValue.md(markdown_table(["统一社会信用代码", "名称", "类别", "区县", "在登记库", "来源"],
                                                          built["preview"])),
        })

    return wh_subjects


@dg.definitions
def subject_assets() -> dg.Definitions:
    return dg.Definitions(assets=[subjects_asset()])
