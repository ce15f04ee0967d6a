"""The indicators of a month (INDICATORS.md): one monthly-partitioned asset that computes every indicator
of the catalog (assets/indicators.yaml) into wh.indicator_results and wh.indicator_totals."""

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.indicators.checks import RESULTS_KEY, check_results, check_spec
from jn_credit_dagster.defs.lineage import window_mapping
from jn_credit_dagster.defs.warehouse.assets import CALENDAR_KEY, DISTRICTS_KEY, UNITS_KEY
from jn_credit_dagster.defs.warehouse.facts import fact_key
from jn_credit_dagster.defs.warehouse.subjects import SUBJECTS_KEY
from jn_credit_dagster.defs.ingest.steps import feed_key
from jn_credit_dagster.lib.indicators import compute as indicators
from jn_credit_dagster.lib.indicators.catalog import SUBJECTS_TABLE, Catalog, load_catalog, widest
from jn_credit_dagster.lib.common.present import markdown_table, number
from jn_credit_dagster.lib.common.status import BELOW_TARGET
from jn_credit_dagster.defs.resources import DB_RETRY, WAREHOUSE_POOL, Warehouse
from jn_credit_dagster.defs.failures import asset_failures

GROUP = "indicators"


def city_table(result: indicators.MonthIndicators) -> str:
    catalog = load_catalog()
    rows = []
    for ind_id, r in result.city.items():
        note = ("缺少 SQL 文件 " + r.evidence["missing"] if "missing" in r.evidence
                else "SQL 出错：" + r.evidence["error"] if "error" in r.evidence else "")
        rows.append([ind_id, catalog[ind_id].name, number(r.value), number(r.numerator), number(r.denominator),
                     number(r.score), number(r.max_score), r.status, note])
    return markdown_table(["编号", "名称", "值", "分子", "分母", "得分", "满分", "状态", "备注"], rows)


def explain_commands(result: indicators.MonthIndicators) -> str:
    """The command that lists the rows behind each red or yellow data indicator of the month."""
    lines = [f"- {i} {r.status}: `jn-credit explain {i} --month {result.month:%Y-%m} --format csv`"
             for i, r in result.city.items() if r.source == "data" and r.status in BELOW_TARGET]
    return "\n".join(lines) or "本月无红色、黄色数据指标。"


REFERENCE_KEYS = {"wh.calendar": CALENDAR_KEY, "wh.units": UNITS_KEY, "wh.districts": DISTRICTS_KEY}


def table_key(table: str) -> dg.AssetKey:
    """The asset that writes a table the catalog names: raw.<feed> and quarantine.<feed> are both the
    feed's ingest, wh.<state feed> its latest state, wh.subjects the subject master."""
    schema, name = table.split(".", 1)
    if schema in ("raw", "quarantine"):
        return feed_key(name)
    if table == SUBJECTS_TABLE:
        return SUBJECTS_KEY
    return REFERENCE_KEYS.get(table) or fact_key(name)


def catalog_deps(catalog: Catalog) -> list[dg.AssetDep]:
    """One dependency per asset the catalog's `reads:` name, over the widest window any indicator reads
    it with (I06 reads raw/penalty to date, I03 its month: to date)."""
    windows: dict[dg.AssetKey, str] = {}
    for table, window in catalog.reads().items():
        key = table_key(table)
        windows[key] = widest(windows[key], window) if key in windows else window
    return [dg.AssetDep(key, partition_mapping=window_mapping(window)) for key, window in windows.items()]


def lineage_table(catalog: Catalog) -> str:
    """Per indicator: what it reads (and the months) and who answers for it, for the asset's page."""
    rows = [[ind.id, ind.name, "、".join(f"{t} ({w})" for t, w in ind.reads if not t.startswith("quarantine."))
             + ("、quarantine.* (month)" if any(t.startswith("quarantine.") for t, _ in ind.reads) else ""),
             "、".join(ind.units)] for ind in catalog.indicators.values()]
    return markdown_table(["编号", "名称", "读取（月份范围）", "责任单位"], rows)


def results_asset(sql_dir=indicators.SQL_DIR) -> dg.AssetsDefinition:
    catalog = load_catalog()

    @dg.asset(
        key=RESULTS_KEY,
        group_name=GROUP,
        partitions_def=partitions.monthly(),
        # what the catalog says the indicators read (assets/indicators.yaml `reads:`), each over its months
        deps=catalog_deps(catalog),
        kinds={"postgres"},
        check_specs=[check_spec(ind) for ind in catalog.indicators.values()],
        retry_policy=DB_RETRY,
        pool=WAREHOUSE_POOL,
        description="城市信用状况监测预警指标（2020 版）：目录 assets/indicators.yaml 中每项指标的当月值、分子、分母、"
                    "得分和状态（数据指标执行 sql/indicators/<编号>.sql，自主上报指标取各单位截至当月的最新填报，"
                    "按最大值合并），含全市行及分单位、分区县行；总分 = I01…I39 得分之和 − 附加扣分。"
                    "尚无 SQL 文件的数据指标记为 n/a 并在证据中注明。",
        metadata={
            "dagster/table_name": "wh.indicator_results",
            "indicators": dg.MetadataValue.int(len(catalog.indicators)),
            "explain": "jn-credit explain ID --month YYYY-MM [--scope city|unit:CODE|district:CODE] [--format json|table|csv]",
            "lineage": dg.MetadataValue.md(lineage_table(catalog)),
        },
    )
    @asset_failures
    def indicator_results(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        try:
            with warehouse.transaction() as cur:
                result = indicators.compute_month(cur, month, sql_dir=sql_dir, url=warehouse.url())
                checks = check_results(cur, catalog, month, context.partition_key)
        except indicators.FactsNotBuilt as error:  # a retry would not build them
            raise dg.Failure(str(error), allow_retries=False) from error
        if result.missing:
            context.log.warning(f"no SQL file yet for {', '.join(result.missing)}: stored as n/a")
        for ind_id, error in result.errors.items():
            context.log.error(f"{ind_id}: its SQL failed ({error}); stored as n/a")
        counts = result.count_by_status()
        return dg.MaterializeResult(check_results=checks, metadata={
            "dagster/row_count": dg.MetadataValue.int(len(result.rows)),
            "total_score": dg.MetadataValue.float(float(result.total_score)),
            "max_score": dg.MetadataValue.float(float(result.max_score)),
            **{f"status_{k.replace('/', '')}": dg.MetadataValue.int(v) for k, v in counts.items()},
            "deductions": dg.MetadataValue.json(result.deductions),
            "missing_sql": ", ".join(result.missing) or "—",
            "sql_errors": dg.MetadataValue.json(result.errors),
            "city": dg.MetadataValue.md(city_table(result)),
            "explain": dg.MetadataValue.md(explain_commands(result)),
        })

    return indicator_results


@dg.definitions
def indicator_assets() -> dg.Definitions:
    return dg.Definitions(assets=[results_asset()])
