"""The indicators of a month (INDICATORS.md): one monthly-partitioned asset that computes every indicator
of the catalog (assets/indicators.yaml) into wh.indicator_results and wh.indicator_totals."""

import dagster as dg

from jn_credit_dagster import partitions
from jn_credit_dagster.defs.indicators.checks import RESULTS_KEY, check_results, check_spec
from jn_credit_dagster.defs.warehouse.assets import CALENDAR_KEY, DISTRICTS_KEY, UNITS_KEY
from jn_credit_dagster.defs.warehouse.facts import fact_key
from jn_credit_dagster.defs.warehouse.subjects import SUBJECTS_KEY
from jn_credit_dagster.ingest import feed_key
from jn_credit_dagster.lib import indicators
from jn_credit_dagster.lib.catalog import load_catalog
from jn_credit_dagster.lib.present import markdown_table
from jn_credit_dagster.lib.specs import load_specs
from jn_credit_dagster.resources import DB_RETRY, WAREHOUSE_POOL, Warehouse
from jn_credit_dagster.lib.failures import asset_failures

GROUP = "indicators"


def _number(value, digits=4):
    return "—" if value is None else f"{value:.{digits}g}" if abs(value) < 1 else f"{round(value, digits):g}"


def city_table(result: indicators.MonthIndicators) -> str:
    catalog = load_catalog()
    rows = []
    for ind_id, r in result.city.items():
        note = ("缺少 SQL 文件 " + r.evidence["missing"] if "missing" in r.evidence
                else "SQL 出错：" + r.evidence["error"] if "error" in r.evidence else "")
        rows.append([ind_id, catalog[ind_id].name, _number(r.value), _number(r.numerator), _number(r.denominator),
                     _number(r.score), _number(r.max_score), r.status, note])
    return markdown_table(["编号", "名称", "值", "分子", "分母", "得分", "满分", "状态", "备注"], rows)


def results_asset(sql_dir=indicators.SQL_DIR) -> dg.AssetsDefinition:
    catalog = load_catalog()

    @dg.asset(
        key=RESULTS_KEY,
        group_name=GROUP,
        partitions_def=partitions.monthly(),
        # state feeds through their latest state (wh/<feed>); event and snapshot feeds are read raw
        deps=[*(fact_key(f) if s.kind == "state" else feed_key(f) for f, s in load_specs().items()),
              SUBJECTS_KEY, CALENDAR_KEY, UNITS_KEY, DISTRICTS_KEY],
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
        },
    )
    @asset_failures
    def indicator_results(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        try:
            with warehouse.transaction() as cur:
                result = indicators.compute_month(cur, month, sql_dir=sql_dir)
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
        })

    return indicator_results


@dg.definitions
def indicator_assets() -> dg.Definitions:
    return dg.Definitions(assets=[results_asset()])
