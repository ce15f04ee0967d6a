"""One asset check per indicator of the catalog, on indicators/results: WARN when the city is red,
ERROR when the indicator's SQL failed; the metadata shows value, numerator, denominator, score, status
and the evidence."""

import json

import dagster as dg

from jn_credit_dagster import partitions
from jn_credit_dagster.defs.indicators.assets import RESULTS_KEY
from jn_credit_dagster.lib.catalog import Indicator, load_catalog
from jn_credit_dagster.resources import Warehouse
from jn_credit_dagster.lib.failures import asset_failures


def _meta_number(value):
    return dg.MetadataValue.float(float(value)) if value is not None else dg.MetadataValue.null()


def indicator_check(ind: Indicator) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=RESULTS_KEY,
        name=ind.id,
        partitions_def=partitions.monthly(),
        description=f"{ind.id} {ind.name}：全市状态为 red 时以 WARN 报出（{ind.description}）。",
    )
    @asset_failures
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        month = partitions.month_of(context.partition_key)
        with warehouse.transaction() as cur:
            cur.execute("""SELECT value, numerator, denominator, score, status, evidence FROM wh.indicator_results
                           WHERE month = %s AND indicator = %s AND scope = 'city'""", (month, ind.id))
            row = cur.fetchone()
        if row is None:
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                       description=f"{ind.id} has no city row for {context.partition_key}")
        value, numerator, denominator, score, status, evidence = row
        evidence = evidence or {}
        error = "error" in evidence
        text = json.dumps(evidence, ensure_ascii=False, indent=1, default=str)
        return dg.AssetCheckResult(
            passed=status != "red" and not error,
            severity=dg.AssetCheckSeverity.ERROR if error else dg.AssetCheckSeverity.WARN,
            description=(f"SQL 出错：{evidence['error']}" if error else
                         f"缺少 SQL 文件 {evidence['missing']}" if "missing" in evidence else
                         f"{ind.name}：{status}"),
            metadata={
                "value": _meta_number(value),
                "numerator": _meta_number(numerator),
                "denominator": _meta_number(denominator),
                "score": _meta_number(score),
                "status": status,
                "evidence": dg.MetadataValue.md(f"```json\n{text[:20000]}\n```"),
            },
        )

    return _check


@dg.definitions
def indicator_checks() -> dg.Definitions:
    return dg.Definitions(asset_checks=[indicator_check(i) for i in load_catalog().indicators.values()])
