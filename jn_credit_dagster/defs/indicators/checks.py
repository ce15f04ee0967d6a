"""One asset check per indicator of the catalog, on indicators/results: WARN when the city is red,
ERROR when the indicator's SQL failed; the metadata shows value, numerator, denominator, score, status
and the evidence.

The checks are evaluated by the results step itself, from the rows it has just stored (one query for
all of them): as separate steps, each cost a Dagster step's start-up and event writes for one small
query, 41 times a month."""

import json

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.lib.indicators.catalog import Catalog, Indicator

RESULTS_KEY = dg.AssetKey(["indicators", "results"])


def _meta_number(value):
    return dg.MetadataValue.float(float(value)) if value is not None else dg.MetadataValue.null()


def check_spec(ind: Indicator) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        ind.id, asset=RESULTS_KEY, partitions_def=partitions.monthly(),
        description=f"{ind.id} {ind.name}：全市状态为 red 时以 WARN 报出（{ind.description}）。")


def check_result(ind: Indicator, row: tuple | None, partition_key: str) -> dg.AssetCheckResult:
    """The check of one indicator from its stored city row (value, numerator, denominator, score, status,
    evidence), None when there is none."""
    if row is None:
        return dg.AssetCheckResult(check_name=ind.id, passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                   description=f"{ind.id} has no city row for {partition_key}")
    value, numerator, denominator, score, status, evidence = row
    evidence = evidence or {}
    error = "error" in evidence
    text = json.dumps(evidence, ensure_ascii=False, indent=1, default=str)
    return dg.AssetCheckResult(
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


def check_results(cur, catalog: Catalog, month, partition_key: str) -> list[dg.AssetCheckResult]:
    """Every indicator's check from M's stored city rows, read back in one query on `cur`."""
    cur.execute("""SELECT indicator, value, numerator, denominator, score, status, evidence FROM wh.indicator_results
                   WHERE month = %s AND scope = 'city'""", (month,))
    stored = {r[0]: r[1:] for r in cur.fetchall()}
    return [check_result(ind, stored.get(ind.id), partition_key) for ind in catalog.indicators.values()]
