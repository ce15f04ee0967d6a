"""The state feeds' fact tables (issue 4): wh/<feed>, the latest state of the feed as of each month.

One asset per state feed, made from its spec (lib/warehouse/facts.py): a new state feed gets its fact table with
no Python. Each materialization deletes and inserts its month in one transaction.
"""


import dagster as dg
from psycopg2 import sql

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.lineage import every_earlier_month
from jn_credit_dagster.defs.warehouse.assets import GROUP
from jn_credit_dagster.defs.ingest.steps import feed_key
from jn_credit_dagster.lib.warehouse import facts
from jn_credit_dagster.lib.common.present import markdown_table
from jn_credit_dagster.lib.ingest.specs import FeedSpec
from jn_credit_dagster.defs.resources import DB_RETRY, WAREHOUSE_POOL, Warehouse
from jn_credit_dagster.defs.failures import asset_failures

PREVIEW_ROWS = 10



def fact_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["wh", feed])


def fact_asset(spec: FeedSpec) -> dg.AssetsDefinition:
    key_headers = "、".join("报送单位" if k == "unit" else spec.column(k).header for k in spec.key)
    shown = [c for c in spec.columns][:6]

    @dg.asset(
        key=fact_key(spec.id),
        group_name=GROUP,
        partitions_def=partitions.monthly(),
        # M reads every month up to M: a re-delivery into an earlier month's folder makes later months stale
        deps=[dg.AssetDep(feed_key(spec.id), partition_mapping=every_earlier_month())],
        kinds={"postgres"},
        retry_policy=DB_RETRY,
        pool=WAREHOUSE_POOL,
        description=f"{spec.name}（状态类）截至当月末的最新状态：当月及以前各月报送的正确行中，每个键（{key_headers}）"
                    "取最新一条（报送日期、月份、序号、行号依次比较）。指标读取此表。",
        metadata={"dagster/table_name": f"wh.{spec.id}", "key": key_headers, "source": f"raw.{spec.id}"},
    )
    @asset_failures
    def _fact(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        with warehouse.transaction() as cur:
            rows = facts.build_latest_state(cur, spec, month)
            cur.execute(sql.SQL("SELECT unit, count(*) FROM {} WHERE as_of_month = %s GROUP BY unit ORDER BY unit").format(
                facts.fact_table(spec)), (month,))
            by_unit = cur.fetchall()
            cur.execute(sql.SQL("SELECT unit, {} FROM {} WHERE as_of_month = %s ORDER BY {} LIMIT %s").format(
                sql.SQL(", ").join(sql.Identifier(c.name) for c in shown), facts.fact_table(spec),
                sql.SQL(", ").join(map(sql.Identifier, spec.key))), (month, PREVIEW_ROWS))
            preview = cur.fetchall()
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(rows),
            "units": dg.MetadataValue.md(markdown_table(["报送单位", "键数"], by_unit)),
            "preview": dg.MetadataValue.md(markdown_table(
                ["报送单位"] + [c.header for c in shown], preview,
                personal=[i + 1 for i, c in enumerate(shown) if c.personal])),
        })

    return _fact


@dg.definitions
def fact_assets() -> dg.Definitions:
    return dg.Definitions(assets=[fact_asset(spec) for spec in facts.state_specs()])
