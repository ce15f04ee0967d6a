"""One asset check per indicator of the catalog, on indicators/results: WARN when the city is red,
ERROR when the indicator's SQL failed; the metadata shows value, numerator, denominator, score, status
and the evidence. All of them are evaluated in one step (a multi-asset check): each is still its own
check with its own result in the UI."""

import json

import dagster as dg

from jn_credit_dagster import partitions
from jn_credit_dagster.defs.indicators.assets import RESULTS_KEY
from jn_credit_dagster.lib.catalog import Indicator, load_catalog
from jn_credit_dagster.resources import Warehouse
from jn_credit_dagster.lib.failures import asset_failures


def _meta_number(value):
    return dg.MetadataValue.float(float(value)) if value is not None else dg.MetadataValue.null()


def _result(ind: Indicator, row, partition_key: str) -> dg.AssetCheckResult:
    if row is None:
        return dg.AssetCheckResult(asset_key=RESULTS_KEY, check_name=ind.id, passed=False,
                                   severity=dg.AssetCheckSeverity.ERROR,
                                   description=f"{ind.id} has no city row for {partition_key}")
    value, numerator, denominator, score, status, evidence = row
    evidence = evidence or {}
    error = "error" in evidence
    text = json.dumps(evidence, ensure_ascii=False, indent=1, default=str)
    return dg.AssetCheckResult(
        asset_key=RESULTS_KEY,
        check_name=ind.id,
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


def indicator_checks(inds: list[Indicator], name: str = "indicator_checks") -> dg.AssetChecksDefinition:
    """The checks of `inds`, one per indicator, evaluated together in one step: one query for all of
    them instead of a step each (a step costs more in Dagster's bookkeeping than the query)."""
    by_id = {ind.id: ind for ind in inds}

    @dg.multi_asset_check(
        name=name,
        specs=[dg.AssetCheckSpec(
            ind.id, asset=RESULTS_KEY, partitions_def=partitions.monthly(),
            description=f"{ind.id} {ind.name}：全市状态为 red 时以 WARN 报出（{ind.description}）。")
            for ind in inds],
        can_subset=True,
    )
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        yield from _evaluate(context, warehouse)

    @asset_failures
    def _evaluate(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> list[dg.AssetCheckResult]:
        month = partitions.month_of(context.partition_key)
        wanted = sorted(key.name for key in context.selected_asset_check_keys if key.name in by_id)
        with warehouse.transaction() as cur:
            cur.execute("""SELECT indicator, value, numerator, denominator, score, status, evidence
                           FROM wh.indicator_results
                           WHERE month = %s AND indicator = ANY(%s) AND scope = 'city'""", (month, wanted))
            rows = {r[0]: r[1:] for r in cur.fetchall()}
        return [_result(by_id[check_id], rows.get(check_id), context.partition_key) for check_id in wanted]

    return _checks


def indicator_check(ind: Indicator) -> dg.AssetChecksDefinition:
    """One indicator's check alone (tests materialize a few)."""
    return indicator_checks([ind], name=f"indicator_check_{ind.id}")


@dg.definitions
def indicator_checks_defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[indicator_checks(list(load_catalog().indicators.values()))])
