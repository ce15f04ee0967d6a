"""One monthly-partitioned asset per feed of FEEDS.md, plus the inbox scan that claims the rest."""

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.lineage import previous_month
from jn_credit_dagster.defs.ingest.steps import INBOX_KEY, check_result, feed_key, feed_metadata, inbox_check_result, ingest_feed_month, record_inbox_month
from jn_credit_dagster.defs.failures import asset_failures
from jn_credit_dagster.lib.common.present import markdown_table
from jn_credit_dagster.lib.common.city import UNITS
from jn_credit_dagster.lib.ingest.specs import FeedSpec, load_specs
from jn_credit_dagster.lib.ingest.tables import SQL_TYPES
from jn_credit_dagster.defs.resources import DB_RETRY, WAREHOUSE_POOL, Inbox, Warehouse


def reads_earlier_months(spec: FeedSpec) -> bool:
    """An event feed with a key judges a row a duplicate against rows accepted from earlier months'
    folders (lib/ingest/loader.py): its month M reads its own earlier months."""
    return spec.kind == "event" and bool(spec.key)


def feed_deps(spec: FeedSpec) -> list[dg.AssetDep]:
    """The inbox scan of M, and, for a feed whose month reads its own past, its month M − 1 (which
    depends on M − 2, …): a backfill runs its months in order, and a re-ingested month marks the
    later ones stale."""
    deps = [dg.AssetDep(INBOX_KEY)]
    if reads_earlier_months(spec):
        deps.append(dg.AssetDep(feed_key(spec.id), partition_mapping=previous_month()))
    return deps


def feed_asset(spec: FeedSpec) -> dg.AssetsDefinition:
    units = spec.units or ()
    who = "、".join(UNITS[u] for u in units) if units else "任何责任单位"

    @dg.asset(
        key=feed_key(spec.id),
        group_name="ingest",
        partitions_def=partitions.monthly(),
        deps=feed_deps(spec),
        kinds={"postgres", "great_expectations", "csv"},
        check_specs=[dg.AssetCheckSpec(
            "expectations", asset=feed_key(spec.id), partitions_def=partitions.monthly(),
            description=f"Great Expectations suite expectations/{spec.id}.json (FEEDS.md ★ rules), counted by the "
                        "ingest's own pass (GX re-validates in CI and the weekly deep check), plus whole-file "
                        "contract breakage from the ingest ledger.")],
        owners=[f"team:{u}" for u in units],
        tags={"feed_kind": spec.kind, "units": "any" if not units else "listed"},
        retry_policy=DB_RETRY,
        pool=WAREHOUSE_POOL,
        description=(f"{spec.name}（{spec.id}，{spec.kind}）— 报送单位：{who}。每月 inbox/<单位>/<月>/ 下的文件经"
                     f"校验后，正确行入 raw.{spec.id}，问题行连同原因入 quarantine.{spec.id}。"),
        metadata={
            "dagster/table_name": f"raw.{spec.id}",
            "dagster/column_schema": dg.TableSchema(columns=[
                dg.TableColumn(c.name, SQL_TYPES[c.type], description=c.header + ("（必填）" if c.required else ""))
                for c in spec.columns]),
            "feed": spec.id,
            "名称": spec.name,
            "key": ", ".join(spec.key) or "—",
            "units": ", ".join(units) or "any",
        },
    )
    @asset_failures
    def _feed(context: dg.AssetExecutionContext, warehouse: Warehouse, inbox: Inbox) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        result, preview = ingest_feed_month(spec, month, warehouse, inbox)
        context.log.info(f"{spec.id} {context.partition_key}: {result.accepted} accepted, {result.quarantined} "
                         f"quarantined, {result.count('rejected')} files rejected in {result.seconds:.1f}s")
        return dg.MaterializeResult(metadata=feed_metadata(result, preview),
                                    check_results=[check_result(spec, month, warehouse)])

    return _feed


def inbox_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=INBOX_KEY,
        group_name="ingest",
        partitions_def=partitions.monthly(),
        kinds={"postgres"},
        check_specs=[dg.AssetCheckSpec("file_contract", asset=INBOX_KEY, partitions_def=partitions.monthly(),
                                       description="Every file in the month's unit folders names a known feed correctly.")],
        retry_policy=DB_RETRY,
        pool=WAREHOUSE_POOL,
        description="收件箱扫描：本月文件夹中无法归属任何数据项的文件（文件名不合规、未知数据项、不在月份文件夹中）"
                    "整件拒收，记入台账并归档，绝不静默跳过。",
    )
    @asset_failures
    def inbox_scan(context: dg.AssetExecutionContext, warehouse: Warehouse, inbox: Inbox) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        rejected = record_inbox_month(month, warehouse, inbox)
        return dg.MaterializeResult(check_results=[inbox_check_result(month, warehouse)], metadata={
            "files_rejected": dg.MetadataValue.int(len(rejected)),
            "rejected": dg.MetadataValue.md(markdown_table(["文件", "原因代码", "原因"], rejected)),
        })

    return inbox_scan


@dg.definitions
def ingest_assets() -> dg.Definitions:
    return dg.Definitions(assets=[inbox_asset(), *(feed_asset(spec) for spec in load_specs().values())])
