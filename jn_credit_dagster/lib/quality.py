"""What an asset check reports: GX outcomes, ledger rejections, quarantine reasons and samples."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import dagster as dg
from psycopg2 import sql

from . import database, gx_validation, tables
from .present import markdown_table
from .specs import FeedSpec
from .suites import Suite

SAMPLE_ROWS = 10


@dataclass
class QualityReport:
    passed: bool
    severity: str  # critical | warning: the GX severity the failure maps from
    counts: dict[str, int] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)  # markdown

    def metadata(self) -> dict:
        out = {k: dg.MetadataValue.int(v) for k, v in self.counts.items()}
        out.update({k: dg.MetadataValue.md(v) for k, v in self.tables.items()})
        return out


def _rejected(cur, asset: str, month: dt.date) -> list[tuple]:
    cur.execute("SELECT path, reason_code, reason FROM ingest.ledger WHERE asset = %s AND month = %s "
                "AND status = 'rejected' ORDER BY path", (asset, month))
    return cur.fetchall()


def feed_report(url: str, spec: FeedSpec, suite: Suite, month: dt.date) -> QualityReport:
    with database.transaction(url) as cur:
        rejected = _rejected(cur, spec.id, month)
        cur.execute(sql.SQL("SELECT (SELECT count(*) FROM {} WHERE month = %s), (SELECT count(*) FROM {} WHERE month = %s)")
                    .format(tables.raw_table(spec), tables.quarantine_table(spec)), (month, month))
        accepted, quarantined = cur.fetchone()
        cur.execute(sql.SQL("SELECT r, count(*) FROM {}, unnest(reasons) r WHERE month = %s GROUP BY r ORDER BY 2 DESC, 1")
                    .format(tables.quarantine_table(spec)), (month,))
        reasons = cur.fetchall()
        shown = spec.columns[:6]
        cur.execute(sql.SQL("SELECT l.path, q.row_no, array_to_string(q.reasons, '; '), {} FROM {} q "
                            "LEFT JOIN ingest.ledger l ON l.sha256 = q.file_sha256 WHERE q.month = %s "
                            "ORDER BY l.path, q.row_no LIMIT %s")
                    .format(sql.SQL(", ").join(sql.SQL("q.{}").format(sql.Identifier(c.name)) for c in shown),
                            tables.quarantine_table(spec)), (month, SAMPLE_ROWS))
        sample = cur.fetchall()

    outcomes = gx_validation.validate_month(url, spec, suite, month) if accepted + quarantined else []
    failed = [o for o in outcomes if not o.success]
    critical = bool(rejected) or any(o.severity == "critical" for o in failed)
    warned = any(o.severity == "warning" for o in failed)
    report = QualityReport(
        passed=not (critical or warned),
        severity="critical" if critical else "warning",
        counts={"delivered_rows": accepted + quarantined, "accepted_rows": accepted, "quarantined_rows": quarantined,
                "rejected_files": len(rejected), "expectations": len(outcomes), "expectations_failed": len(failed)},
    )
    if failed:
        report.tables["failed_expectations"] = markdown_table(
            ["expectation", "原因代码", "severity", "行数"], [(o.expectation, o.reason, o.severity, o.unexpected) for o in failed])
    if reasons:
        report.tables["top_reasons"] = markdown_table(["原因代码", "行数"], reasons[:10])
        report.tables["quarantine_sample"] = markdown_table(
            ["文件", "行", "原因"] + [c.header for c in shown], sample,
            personal=[i + 3 for i, c in enumerate(shown) if c.personal])
    if rejected:
        report.tables["rejected_files"] = markdown_table(["文件", "原因代码", "原因"], rejected)
    return report


def inbox_report(url: str, month: dt.date) -> QualityReport:
    with database.transaction(url) as cur:
        rejected = _rejected(cur, "inbox", month)
    report = QualityReport(passed=not rejected, severity="critical", counts={"rejected_files": len(rejected)})
    if rejected:
        report.tables["rejected_files"] = markdown_table(["文件", "原因代码", "原因"], rejected)
    return report
