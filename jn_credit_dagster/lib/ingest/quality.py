"""What a feed-month's check reports, from the ingest's own pass: each expectation's counts in the
shape of a Great Expectations validation result, the files rejected whole, the top reasons and a
sample of quarantined rows (personal ID numbers masked). Nothing is scanned a second time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from psycopg2 import sql

from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.common.present import markdown_table
from jn_credit_dagster.lib.ingest.specs import FeedSpec

SAMPLE_ROWS = 10


@dataclass
class QualityReport:
    passed: bool
    severity: str  # critical | warning: the GX severity the failure maps from
    counts: dict[str, int] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)  # markdown
    validation: dict | None = None  # GX ExpectationSuiteValidationResult shape


def _rejected(cur, asset: str, month: dt.date) -> list[tuple]:
    cur.execute("SELECT path, reason_code, reason FROM ingest.ledger WHERE asset = %s AND month = %s "
                "AND status = 'rejected' ORDER BY path", (asset, month))
    return cur.fetchall()


def recorded_results(cur, feed: str, month: dt.date) -> list[dict]:
    cur.execute("SELECT position, expectation_type, kwargs, reason, severity, element_count, unexpected_count, success "
                "FROM ingest.expectation_results WHERE feed = %s AND month = %s ORDER BY position", (feed, month))
    names = ("position", "type", "kwargs", "reason", "severity", "element_count", "unexpected_count", "success")
    return [dict(zip(names, row)) for row in cur.fetchall()]


def validation_result(suite_name: str, results: list[dict]) -> dict:
    """The counts as GX 1.x shapes an ExpectationSuiteValidationResult (to_json_dict)."""
    entries = []
    for r in results:
        n, u = r["element_count"], r["unexpected_count"]
        entries.append({
            "success": r["success"],
            "expectation_config": {"type": r["type"], "kwargs": r["kwargs"], "meta": {"reason": r["reason"]},
                                   "severity": r["severity"]},
            "result": {"element_count": n, "unexpected_count": u,
                       "unexpected_percent": round(100.0 * u / n, 4) if n else None},
        })
    good = sum(e["success"] for e in entries)
    return {"success": good == len(entries), "suite_name": suite_name,
            "statistics": {"evaluated_expectations": len(entries), "successful_expectations": good,
                           "unsuccessful_expectations": len(entries) - good,
                           "success_percent": round(100.0 * good / len(entries), 2) if entries else None},
            "results": entries}


def feed_report(cur, spec: FeedSpec, month: dt.date) -> QualityReport:
    rejected = _rejected(cur, spec.id, month)
    results = recorded_results(cur, spec.id, month)
    delivered = results[0]["element_count"] if results else 0
    cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE month = %s").format(tables.quarantine_table(spec)), (month,))
    quarantined = cur.fetchone()[0]
    shown = spec.columns[:6]
    cur.execute(sql.SQL("SELECT l.path, q.row_no, array_to_string(q.reasons, '; '), {} FROM {} q "
                        "LEFT JOIN ingest.ledger l ON l.sha256 = q.file_sha256 AND l.unit = q.unit AND l.month = q.month "
                        "AND l.feed = %s WHERE q.month = %s ORDER BY l.path, q.row_no LIMIT %s")
                .format(sql.SQL(", ").join(sql.SQL("q.{}").format(sql.Identifier(c.name)) for c in shown),
                        tables.quarantine_table(spec)), (spec.id, month, SAMPLE_ROWS))
    sample = cur.fetchall()

    failed = [r for r in results if not r["success"]]
    critical = bool(rejected) or any(r["severity"] == "critical" for r in failed)
    warned = any(r["severity"] == "warning" for r in failed)
    report = QualityReport(
        passed=not (critical or warned),
        severity="critical" if critical else "warning",
        counts={"delivered_rows": delivered, "accepted_rows": delivered - quarantined, "quarantined_rows": quarantined,
                "rejected_files": len(rejected), "expectations": len(results), "expectations_failed": len(failed)},
        validation=validation_result(spec.id, results),
    )
    if failed:
        report.tables["failed_expectations"] = markdown_table(
            ["expectation", "原因代码", "severity", "行数"],
            [(r["type"] + (f"({r['kwargs']['column']})" if "column" in r["kwargs"] else ""), r["reason"], r["severity"],
              r["unexpected_count"]) for r in failed])
        top = sorted(failed, key=lambda r: -r["unexpected_count"])[:10]
        report.tables["top_reasons"] = markdown_table(["原因代码", "行数"], [(r["reason"], r["unexpected_count"]) for r in top])
    if sample:
        report.tables["quarantine_sample"] = markdown_table(
            ["文件", "行", "原因"] + [c.header for c in shown], sample,
            personal=[i + 3 for i, c in enumerate(shown) if c.personal])
    if rejected:
        report.tables["rejected_files"] = markdown_table(["文件", "原因代码", "原因"], rejected)
    return report


def inbox_report(cur, month: dt.date) -> QualityReport:
    rejected = _rejected(cur, "inbox", month)
    report = QualityReport(passed=not rejected, severity="critical", counts={"rejected_files": len(rejected)})
    if rejected:
        report.tables["rejected_files"] = markdown_table(["文件", "原因代码", "原因"], rejected)
    return report
