"""The month's reports (issue 5): the national-platform package, the rectification workbook and the
bulletin, each a monthly-partitioned asset downstream of the indicators, written from the warehouse alone
into JN_CREDIT_HOME/reports/<YYYY-MM>/ (plain code in jn_credit_dagster/reports/)."""

import dagster as dg

from jn_credit_dagster import partitions, reports
from jn_credit_dagster.defs.indicators.assets import RESULTS_KEY
from jn_credit_dagster.reports import bulletin, data, package, rectification
from jn_credit_dagster.resources import DB_RETRY, WAREHOUSE_POOL, Warehouse
from jn_credit_dagster.lib.failures import asset_failures

GROUP = "reports"
PACKAGE_KEY = dg.AssetKey(["reports", "national_package"])
RECTIFICATION_KEY = dg.AssetKey(["reports", "rectification"])
BULLETIN_KEY = dg.AssetKey(["reports", "bulletin"])


def _load(warehouse: Warehouse, month):
    with warehouse.transaction() as cur:
        try:
            return data.load(cur, month)
        except data.NotComputed as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc


def _file(path, size, sha256) -> dict:
    return {"path": dg.MetadataValue.path(str(path)), "bytes": dg.MetadataValue.int(size), "sha256": sha256}


def report_assets_list() -> list[dg.AssetsDefinition]:
    """The three report assets (built in a function, as the other defs modules do)."""

    @dg.asset(
        key=PACKAGE_KEY, group_name=GROUP, partitions_def=partitions.monthly(), deps=[RESULTS_KEY], kinds={"python"},
        retry_policy=DB_RETRY, pool=WAREHOUSE_POOL,
        description="国家平台报送包：当月入库的双公示（行政许可、行政处罚）记录（国家标准列序，UTF-8 CSV）、联合奖惩案例反馈清单、"
                    "自主上报指标表和清单（行数、SHA-256），打成一个可逐字节复现的 zip；证件号码脱敏。",
    )
    @asset_failures
    def national_package(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        d = _load(warehouse, month)
        with warehouse.transaction() as cur:
            result = package.build(cur, d, reports.out_dir(month))
        return dg.MaterializeResult(metadata={
            **_file(result["path"], result["bytes"], result["sha256"]),
            "files": dg.MetadataValue.json(result["files"]),
            "dagster/row_count": dg.MetadataValue.int(sum(f["rows"] for f in result["files"])),
            "source_fingerprint": d.source_fingerprint,
        })


    @dg.asset(
        key=RECTIFICATION_KEY, group_name=GROUP, partitions_def=partitions.monthly(), deps=[RESULTS_KEY], kinds={"python"},
        retry_policy=DB_RETRY, pool=WAREHOUSE_POOL,
        description="整改清单：每个有问题的单位一个工作表——缺报、迟报、隔离行及原因（脱敏）、其负责的未达标指标和整改期限。",
    )
    @asset_failures
    def rectification_workbook(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        d = _load(warehouse, month)
        result = rectification.build(d, reports.out_dir(month))
        return dg.MaterializeResult(metadata={
            **_file(result["path"], result["bytes"], result["sha256"]),
            "sheets": dg.MetadataValue.json(result["sheets"]),
            "dagster/row_count": dg.MetadataValue.int(sum(result["sheets"].values())),
            "source_fingerprint": d.source_fingerprint,
        })


    @dg.asset(
        key=BULLETIN_KEY, group_name=GROUP, partitions_def=partitions.monthly(), deps=[RESULTS_KEY, RECTIFICATION_KEY],
        kinds={"html", "pdf"}, retry_policy=DB_RETRY, pool=WAREHOUSE_POOL,
        description="月度通报：总分及近 12 个月走势、一二级指标、全部指标（值、得分、状态、较上月）、红黄预警及责任单位、"
                    "各单位报送情况（链接整改清单）、区县表、邹城市和曲阜市专页、数据来源附录；HTML 和 PDF（无头 Chromium 打印）。",
    )
    @asset_failures
    def bulletin_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        d = _load(warehouse, month)
        result = bulletin.build(d, reports.out_dir(month), rectification.workbook_name(d.key))
        html = result["files"][result["path"].name]
        return dg.MaterializeResult(metadata={
            **_file(result["path"], html["bytes"], html["sha256"]),
            "files": dg.MetadataValue.json({name: {"path": str(f["path"]), "bytes": f["bytes"], "sha256": f["sha256"]}
                                            for name, f in result["files"].items()}),
            "indicators": dg.MetadataValue.int(len(d.indicators)),
            "units": dg.MetadataValue.int(len(d.units)),
            "total_score": dg.MetadataValue.float(float(d.doc["total_score"] or 0.0)),
            "source_fingerprint": d.source_fingerprint,
        })

    return [national_package, rectification_workbook, bulletin_report]


@dg.definitions
def report_assets() -> dg.Definitions:
    return dg.Definitions(assets=report_assets_list())
