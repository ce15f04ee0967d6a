"""The month's reports (issue 5): the national-platform package, the rectification workbook and the
bulletin, three monthly-partitioned assets of one multi-asset downstream of the indicators (one load of
the month's report data), and the bulletin's explanation files (explain/<ID>.csv, one per red or yellow
data indicator: millions of lines at city scale), an asset of their own, all written from the warehouse
alone into JN_CREDIT_HOME/reports/<YYYY-MM>/ (plain code in jn_credit_dagster/reports/)."""

import time
from concurrent.futures import ThreadPoolExecutor

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster import reports
from jn_credit_dagster.defs.indicators.assets import RESULTS_KEY
from jn_credit_dagster.defs.lineage import every_earlier_month, last_months
from jn_credit_dagster.defs.ingest.steps import INBOX_KEY, feed_key
from jn_credit_dagster.defs.failures import asset_failures
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.reports import bulletin, data, explanations, package, rectification
from jn_credit_dagster.defs.resources import DB_RETRY, Warehouse

GROUP = "reports"
PACKAGE_KEY = dg.AssetKey(["reports", "national_package"])
RECTIFICATION_KEY = dg.AssetKey(["reports", "rectification"])
BULLETIN_KEY = dg.AssetKey(["reports", "bulletin"])
EXPLANATIONS_KEY = dg.AssetKey(["reports", "explanations"])


def _load(warehouse: Warehouse, month):
    with warehouse.transaction() as cur:
        try:
            return data.load(cur, month)
        except data.NotComputed as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc


def _file(path, size, sha256) -> dict:
    return {"path": dg.MetadataValue.path(str(path)), "bytes": dg.MetadataValue.int(size), "sha256": sha256}


def report_deps() -> list[dg.AssetDep]:
    """What a month's report data reads (reports/data.py): the indicators of M and the 11 months before
    (the previous month's for the change, the 12 months' totals), and the ingest ledger of M and every
    earlier month (the files the month was built from) with M's quarantined rows — written by the inbox
    scan and the feed assets."""
    to_date = every_earlier_month()
    return [dg.AssetDep(RESULTS_KEY, partition_mapping=last_months(12)),
            dg.AssetDep(INBOX_KEY, partition_mapping=to_date),
            *(dg.AssetDep(feed_key(f), partition_mapping=to_date) for f in load_specs())]


def _package(context, warehouse: Warehouse, d: data.ReportData) -> dg.MaterializeResult:
    with warehouse.transaction() as cur:
        result = package.build(cur, d, reports.out_dir(d.month))
    return dg.MaterializeResult(asset_key=PACKAGE_KEY, metadata={
        **_file(result["path"], result["bytes"], result["sha256"]),
        "files": dg.MetadataValue.json(result["files"]),
        "dagster/row_count": dg.MetadataValue.int(sum(f["rows"] for f in result["files"])),
        "source_fingerprint": d.source_fingerprint,
    })


def _rectification(context, warehouse: Warehouse, d: data.ReportData) -> dg.MaterializeResult:
    result = rectification.build(d, reports.out_dir(d.month))
    return dg.MaterializeResult(asset_key=RECTIFICATION_KEY, metadata={
        **_file(result["path"], result["bytes"], result["sha256"]),
        "sheets": dg.MetadataValue.json(result["sheets"]),
        "dagster/row_count": dg.MetadataValue.int(sum(result["sheets"].values())),
        "source_fingerprint": d.source_fingerprint,
    })


def _bulletin(context, warehouse: Warehouse, d: data.ReportData) -> dg.MaterializeResult:
    out = reports.out_dir(d.month)
    # links to the rows behind each red / yellow indicator: files the explanations asset writes beside it
    explained = explanations.planned(d.indicators, out)
    result = bulletin.build(d, out, rectification.workbook_name(d.key), explanations=explained)
    html = result["files"][result["path"].name]
    return dg.MaterializeResult(asset_key=BULLETIN_KEY, metadata={
        **_file(result["path"], html["bytes"], html["sha256"]),
        "files": dg.MetadataValue.json({name: {"path": str(f["path"]), "bytes": f["bytes"], "sha256": f["sha256"]}
                                        for name, f in result["files"].items()}),
        "indicators": dg.MetadataValue.int(len(d.indicators)),
        "units": dg.MetadataValue.int(len(d.units)),
        "explanations": dg.MetadataValue.json({i: str(p) for i, p in explained.items()}),  # linked, not written here
        "total_score": dg.MetadataValue.float(float(d.doc["total_score"] or 0.0)),
        "source_fingerprint": d.source_fingerprint,
    })


# In the order they are reported: the bulletin links the workbook (by its name, known beforehand).
WRITERS = {PACKAGE_KEY: _package, RECTIFICATION_KEY: _rectification, BULLETIN_KEY: _bulletin}


def report_specs() -> list[dg.AssetSpec]:
    deps = report_deps()
    common = {"group_name": GROUP, "partitions_def": partitions.monthly()}
    return [
        dg.AssetSpec(PACKAGE_KEY, deps=deps, kinds={"python"}, **common,
                     description="国家平台报送包：当月入库的双公示（行政许可、行政处罚）记录（国家标准列序，UTF-8 CSV）、"
                                 "联合奖惩案例反馈清单、自主上报指标表和清单（行数、SHA-256），打成一个可逐字节复现的 zip；证件号码脱敏。"),
        dg.AssetSpec(RECTIFICATION_KEY, deps=deps, kinds={"python"}, **common,
                     description="整改清单：每个有问题的单位一个工作表——缺报、迟报、隔离行及原因（脱敏）、其负责的未达标指标和整改期限。"),
        dg.AssetSpec(BULLETIN_KEY, deps=[*deps, RECTIFICATION_KEY], kinds={"html", "pdf"}, **common,
                     description="月度通报：总分及近 12 个月走势、一二级指标、全部指标（值、得分、状态、较上月）、红黄预警及责任单位、"
                                 "各单位报送情况（链接整改清单）、区县表、邹城市和曲阜市专页、数据来源附录；HTML 和 PDF（无头 Chromium 打印）。"),
    ]


def report_assets_list() -> list[dg.AssetsDefinition]:
    """The three reports as one multi-asset: the month's report data is loaded once for whichever of them
    the run selects. Not in the `warehouse` pool: they read a few thousand rows, then write files (the
    bulletin's PDF takes Chromium seconds that should not hold a warehouse slot)."""

    @dg.multi_asset(
        name="month_reports",
        specs=report_specs(),
        can_subset=True,
        retry_policy=DB_RETRY,
    )
    def month_reports(context: dg.AssetExecutionContext, warehouse: Warehouse):
        yield from _write_selected(context, warehouse)

    return [month_reports]


@asset_failures
def _write_selected(context: dg.AssetExecutionContext, warehouse: Warehouse) -> list[dg.MaterializeResult]:
    d = _load(warehouse, partitions.month_of(context.partition_key))
    selected = [key for key in WRITERS if key in context.selected_asset_keys]
    with ThreadPoolExecutor(1, thread_name_prefix="bulletin") as pool:
        # begun first: most of its time is Chromium printing the PDF, which the other two are written beside
        early = {BULLETIN_KEY: pool.submit(_bulletin, context, warehouse, d)} if BULLETIN_KEY in selected else {}
        return [early[key].result() if key in early else WRITERS[key](context, warehouse, d) for key in selected]


def explanations_asset() -> dg.AssetsDefinition:
    """explain/<ID>.csv of M, on its own: the bulletin links them but does not wait for them (which
    indicators it links is known from the indicators alone). Like the other reports it only reads the
    warehouse (one snapshot, however many lines): no warehouse slot."""

    @dg.asset(
        key=EXPLANATIONS_KEY,
        group_name=GROUP,
        partitions_def=partitions.monthly(),
        # the indicators' statuses of M pick the files; their lines are the feeds' rows of M and before
        deps=[dg.AssetDep(RESULTS_KEY), *(d for d in report_deps() if d.asset_key != RESULTS_KEY)],
        kinds={"csv"},
        retry_policy=DB_RETRY,
        description="通报的明细文件：每项红色、黄色数据指标一个 explain/<编号>.csv（与 `jn-credit explain 编号 --month M "
                    "--format csv` 逐字节相同），列出构成其全市值的每一行（计入分子、分母或未计入及原因，来源文件和行号），"
                    "证件号码脱敏；与通报同目录，通报中的预警指标链接到它们。",
    )
    @asset_failures
    def explanation_files(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        started = time.perf_counter()
        with warehouse.transaction() as cur:
            try:
                city = explanations.wanted_in(cur, month)
            except data.NotComputed as exc:
                raise dg.Failure(str(exc), allow_retries=False) from exc
        written = explanations.build(warehouse.url(), month, city, reports.out_dir(month))
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(reports.out_dir(month) / explanations.FOLDER)),
            "files": dg.MetadataValue.json({i: {"path": str(f["path"]), "lines": f["lines"],
                                                "seconds": round(f["seconds"], 2)} for i, f in written.items()}),
            "dagster/row_count": dg.MetadataValue.int(sum(f["lines"] for f in written.values())),
            "seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 2)),
        })

    return explanation_files


@dg.definitions
def report_assets() -> dg.Definitions:
    return dg.Definitions(assets=[*report_assets_list(), explanations_asset()])
