"""The ingest layer as Dagster sees it: asset keys and the work behind each asset."""

from __future__ import annotations

import datetime as dt

import dagster as dg
from psycopg2 import sql

from jn_credit_dagster.lib.ingest import ledger, quality, tables
from jn_credit_dagster.lib.ingest.inbox import scan, stray
from jn_credit_dagster.lib.ingest.loader import INBOX_PROBLEMS, MonthResult, load_month
from jn_credit_dagster.lib.common.present import markdown_table
from jn_credit_dagster.lib.ingest.readers import Unreadable, fingerprint
from jn_credit_dagster.lib.ingest.specs import FeedSpec, load_specs
from jn_credit_dagster.lib.ingest.suites import load_suite
from jn_credit_dagster.defs.resources import Inbox, Warehouse

INBOX_KEY = dg.AssetKey(["ingest", "inbox"])
PREVIEW_ROWS = 10


def feed_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed])


def ingest_feed_month(spec: FeedSpec, month: dt.date, warehouse: Warehouse, inbox: Inbox) -> tuple[MonthResult, str]:
    result = load_month(warehouse.url(), spec, load_suite(spec.id), inbox.root(), month, warehouse.archive_dir())
    with warehouse.transaction() as cur:
        shown = list(spec.columns)[:8]
        cur.execute(sql.SQL("SELECT row_no, {} FROM {} WHERE month = %s ORDER BY file_sha256, row_no LIMIT %s").format(
            sql.SQL(", ").join(sql.Identifier(c.name) for c in shown), tables.raw_table(spec)), (month, PREVIEW_ROWS))
        preview = markdown_table(["行"] + [c.header for c in shown], cur.fetchall(),
                                 personal=[i + 1 for i, c in enumerate(shown) if c.personal])
    return result, preview


def feed_metadata(result: MonthResult, preview: str) -> dict:
    files = markdown_table(
        ["文件", "状态", "行数", "入库", "隔离", "原因"],
        [(f.rel, f.status, f.rows, f.accepted, f.quarantined, f.reason or "") for f in result.files])
    top = markdown_table(["原因", "行数"], result.reasons.most_common(10))
    return {
        "dagster/row_count": dg.MetadataValue.int(result.accepted),
        "delivered_rows": dg.MetadataValue.int(result.rows),
        "accepted_rows": dg.MetadataValue.int(result.accepted),
        "quarantined_rows": dg.MetadataValue.int(result.quarantined),
        "files_loaded": dg.MetadataValue.int(result.count("loaded")),
        "files_rejected": dg.MetadataValue.int(result.count("rejected")),
        "files_redelivered": dg.MetadataValue.int(result.count("redelivery")),
        "files_still_arriving": dg.MetadataValue.int(result.count("pending")),
        "files": dg.MetadataValue.md(files),
        "top_reasons": dg.MetadataValue.md(top),
        "preview": dg.MetadataValue.md(preview),
        "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
    }


def record_inbox_month(month: dt.date, warehouse: Warehouse, inbox: Inbox) -> list[tuple[str, str, str]]:
    """Paths no feed asset can claim (a bad name, an unknown feed; files outside month folders)
    go to the ledger as rejected, so nothing delivered is ever silently skipped."""
    root = inbox.root()
    feeds = set(load_specs())
    rejected = []
    with warehouse.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ingest:inbox:{month}",))
        earlier = ledger.earlier_redeliveries(cur, "inbox", month)
        strays = stray(root, feeds)  # outside any month folder: recorded once, by whichever month sees them first
        cur.execute("SELECT path FROM ingest.ledger WHERE asset = 'inbox' AND month IS NULL")
        strays = [d for d in strays if d.rel not in {p for (p,) in cur.fetchall()}] if strays else strays
        candidates = [d for d in scan(root, feeds, month) if d.problem and d.problem[0] in INBOX_PROBLEMS] + strays
        seen: dict[tuple, str] = {}
        copies: dict[tuple, list[str]] = {}
        recorded = []
        for d in candidates:
            if d.still_arriving:
                continue  # the next run judges it
            code, reason = d.problem or ("bad_name", "not in a <unit>/<YYYY-MM>/ folder")
            sha = size = None
            if d.has_content:  # a link, a pipe, a folder: recorded by path, never opened or archived
                try:
                    fp = fingerprint(d.path, text=False)
                    sha, size = fp.sha256, fp.bytes
                except (OSError, Unreadable):
                    pass
            identity = (d.unit, d.month, sha)
            if sha and identity in seen:
                copies.setdefault(identity, []).append(d.rel)
                continue
            seen[identity] = d.rel
            recorded.append((d, sha, size, code, reason))
        for d, sha, size, code, reason in recorded:
            notes = earlier.get((d.unit, d.feed, sha), []) + copies.get((d.unit, d.month, sha), [])
            if ledger.record(cur, asset="inbox", d=d, sha=sha, size=size, status="rejected",
                             archive_root=warehouse.archive_dir(), reason_code=code, reason=reason,
                             redeliveries=list(dict.fromkeys(notes))):
                rejected.append((d.rel, code, reason))
    return rejected


_SEVERITY = {"critical": dg.AssetCheckSeverity.ERROR, "warning": dg.AssetCheckSeverity.WARN}


def _check(name: str, report: quality.QualityReport) -> dg.AssetCheckResult:
    metadata = {k: dg.MetadataValue.int(v) for k, v in report.counts.items()}
    metadata.update({k: dg.MetadataValue.md(v) for k, v in report.tables.items()})
    if report.validation is not None:
        metadata["validation_result"] = dg.MetadataValue.json(report.validation)
    return dg.AssetCheckResult(check_name=name, passed=report.passed, severity=_SEVERITY[report.severity],
                               metadata=metadata)


def check_result(spec: FeedSpec, month: dt.date, warehouse: Warehouse) -> dg.AssetCheckResult:
    """raw/<feed>:expectations from what the ingest counted (ERROR: a file rejected whole or a
    critical expectation failed; WARN: rows quarantined)."""
    with warehouse.transaction() as cur:
        return _check("expectations", quality.feed_report(cur, spec, month))


def inbox_check_result(month: dt.date, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.transaction() as cur:
        return _check("file_contract", quality.inbox_report(cur, month))
