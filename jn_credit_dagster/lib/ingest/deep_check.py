"""The weekly deep check: Great Expectations itself re-validates stored months and its counts are
held to what the ingest's own pass recorded (ingest.expectation_results).

The two see a row the same way but for two things the contract explains: GX sees an unparseable
value as missing (the ingest says `bad_type:<列名>` instead of `required:<列名>`), and GX judges the
partial values of a malformed record (the ingest gives it only `malformed_row`). So a count may
exceed the recorded one by at most those rows; any other difference is a finding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg2 import sql

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest import gx_validation, quality, tables
from jn_credit_dagster.lib.ingest.specs import FeedSpec
from jn_credit_dagster.lib.ingest.suites import MALFORMED_REASON, Suite


@dataclass(frozen=True)
class Finding:
    feed: str
    month: dt.date
    reason: str
    recorded: int
    validated: int
    allowed: int  # how far above the recorded count GX may go

    def __str__(self) -> str:
        return (f"{self.feed} {self.month:%Y-%m} {self.reason}: recorded {self.recorded}, GX {self.validated}"
                f" (explained up to {self.recorded + self.allowed})")


def months_recorded(url: str, since: dt.date | None = None) -> list[tuple[str, dt.date]]:
    with database.transaction(url) as cur:
        cur.execute("SELECT DISTINCT feed, month FROM ingest.expectation_results WHERE month >= %s ORDER BY month, feed",
                    (since or dt.date.min,))
        return cur.fetchall()


def check_month(url: str, spec: FeedSpec, suite: Suite, month: dt.date) -> list[Finding]:
    with database.transaction(url) as cur:
        recorded = {r["reason"]: r for r in quality.recorded_results(cur, spec.id, month)}  # one expectation a reason
        cur.execute(sql.SQL("SELECT r, count(*) FROM {}, unnest(reasons) r WHERE month = %s GROUP BY r").format(
            tables.quarantine_table(spec)), (month,))
        reasons = dict(cur.fetchall())
        cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE month = %s").format(tables.delivered_view(spec)), (month,))
        stored = cur.fetchone()[0]
    if not recorded:
        return []
    counted = next(iter(recorded.values()))["element_count"]
    if stored != counted or not stored:  # rows gone or added since (GX needs rows to validate at all)
        return [] if stored == counted else [Finding(spec.id, month, "element_count", counted, stored, 0)]
    malformed = reasons.get(MALFORMED_REASON, 0)
    parsed = {f"required:{c.header}": f"bad_type:{c.header}" for c in spec.columns if c.type in tables.PARSERS}
    findings = []
    for outcome in gx_validation.validate_month(url, spec, suite, month):  # GX orders results its own way
        mine = recorded.get(outcome.reason)
        if mine is None:
            findings.append(Finding(spec.id, month, outcome.reason, -1, outcome.unexpected or 0, 0))
            continue
        got, want = outcome.unexpected or 0, mine["unexpected_count"]
        allowed = malformed + reasons.get(parsed.get(mine["reason"], ""), 0)
        if not want <= got <= want + allowed:
            findings.append(Finding(spec.id, month, mine["reason"], want, got, allowed))
    return findings
