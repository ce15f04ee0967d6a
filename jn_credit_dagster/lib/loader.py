"""Ingest one feed's month: every file of <inbox>/*/<M>/<feed>.* into raw, quarantine and the ledger.

The month is rebuilt in one transaction (delete, then load), so re-materializing is idempotent
and a failure midway leaves the previous state visible. Rows stream from the files into a
temporary table through COPY; everything after that is set-based SQL (judge.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from psycopg2 import sql

from . import judge, ledger
from .inbox import Delivery, scan
from .readers import Table, Unreadable, detect_encoding, fingerprint, open_table
from .specs import UNITS, FeedSpec, normalise_header
from .suites import Suite

COPY_BATCH = 5000  # rows per chunk handed to COPY: memory stays flat whatever the file size
PG_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "gb18030": "GB18030"}


@dataclass
class FileOutcome:
    rel: str
    sha256: str | None
    status: str  # loaded | rejected | redelivery
    reason_code: str | None = None
    reason: str | None = None
    rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    encoding: str | None = None


@dataclass
class MonthResult:
    feed: str
    month: dt.date
    files: list[FileOutcome] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def rows(self) -> int:
        return self.accepted + self.quarantined


class _CopyStream:
    """A file-like object whose read() renders the next batch of rows as CSV for COPY."""

    def __init__(self, rows):
        self._rows = iter(rows)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def read(self, _size=-1):
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerows(itertools.islice(self._rows, COPY_BATCH))
        return self._buffer.getvalue()

    readline = read


def _staged_rows(rows, width: int):
    """Number the records, drop blank ones, and flag ragged ones (their values are kept)."""
    for n, row in enumerate(rows, 1):
        if len(row) != width:
            while len(row) > width and not row[-1].strip():
                row.pop()  # trailing empty fields carry nothing
            if len(row) != width:
                if not any(v.strip() for v in row):
                    continue
                overflow = row[width:]
                detail = json.dumps({"fields": len(row), "expected": width, "overflow": overflow}, ensure_ascii=False)
                row = row[:width] + [""] * (width - len(row))
                row += (n, detail)
                yield row
                continue
        if not any(row):
            continue
        row += (n, "")
        yield row


class FileRejected(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


def _columns_for(spec: FeedSpec, header: list[str]) -> tuple[list[str], list[str]]:
    """Staging column for each header position, and the headers no spec column claims."""
    targets, extras, seen = [], [], set()
    for position, name in enumerate(header, 1):
        column = spec.match_header(name)
        if column is None:
            label = normalise_header(name) or f"column {position}"
            while label in extras:
                label += "#"
            extras.append(label)
            targets.append(f"_extra_{len(extras)}")
        elif column.name in seen:
            raise FileRejected("bad_header", f"column {column.header} appears twice")
        else:
            seen.add(column.name)
            targets.append(column.name)
    missing = [c.header for c in spec.required if c.name not in seen]
    if missing:
        raise FileRejected("missing_columns", "missing required columns: " + "、".join(missing))
    return targets, extras


class MonthLoader:
    """Loads one feed's month on an open connection; the caller owns the transaction."""

    def __init__(self, cursor, spec: FeedSpec, suite: Suite, inbox: Path, month: dt.date, archive: Path):
        self.cur, self.spec, self.suite = cursor, spec, suite
        self.inbox, self.month, self.archive = inbox, month, archive
        self.result = MonthResult(spec.id, month)
        self.extra_columns = 0
        self._seen: dict[str, str] = {}  # sha256 -> rel of the first file with that content
        self._pending_redeliveries: dict[str, list[str]] = {}  # copies of a file first seen this month

    def run(self) -> MonthResult:
        started = time.perf_counter()
        cur, spec = self.cur, self.spec
        self._earlier_redeliveries = {}
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ingest:{spec.id}:{self.month}",))
        # One big statement per month: JIT compilation costs more than it saves here.
        cur.execute("SET LOCAL jit = off")
        cur.execute("SET LOCAL work_mem = '64MB'")
        for table in ("raw", "quarantine"):
            cur.execute(sql.SQL("DELETE FROM {} WHERE month = %s").format(sql.Identifier(table, spec.id)), (self.month,))
        # copies seen in later months stay noted on the rebuilt entries
        cur.execute("DELETE FROM ingest.ledger WHERE asset = %s AND month = %s RETURNING sha256, redeliveries",
                    (spec.id, self.month))
        self._earlier_redeliveries = dict(cur.fetchall())
        for statement in judge.stage_ddl(spec):
            cur.execute(statement)

        deliveries = [d for d in scan(self.inbox, {spec.id}, self.month) if d.feed == spec.id and not d.problem]
        staged = []
        for idx, delivery in enumerate(deliveries, 1):
            outcome = self._stage(idx, delivery)
            self.result.files.append(outcome)
            if outcome.status == "loaded":
                staged.append((delivery, outcome))

        if staged:
            repeated = judge.has_repeated_keys(spec)
            if repeated is not None and (cur.execute(repeated) or cur.fetchone()[0]):
                cur.execute(judge.find_duplicates(spec, self.suite, self.month, self.extra_columns))
            cur.execute(judge.judge_and_load(spec, self.suite, self.month, self.extra_columns))
            self._count(staged)
        for delivery, outcome in zip(deliveries, self.result.files):
            if outcome.status != "redelivery":
                self._record(delivery, outcome)
        cur.execute(sql.SQL("SELECT r, count(*) FROM {}, unnest(reasons) r WHERE month = %s GROUP BY r").format(
            sql.Identifier("quarantine", spec.id)), (self.month,))
        self.result.reasons = Counter(dict(cur.fetchall()))
        self.result.seconds = time.perf_counter() - started
        return self.result

    # -- one file -------------------------------------------------------------------------
    def _stage(self, idx: int, d: Delivery) -> FileOutcome:
        fp = fingerprint(d.path, text=d.fmt in ("csv", "json"))
        outcome = FileOutcome(d.rel, fp.sha256, "loaded", encoding=fp.encoding)
        if self._is_redelivery(d, fp.sha256):
            outcome.status = "redelivery"
            return outcome
        self._seen[fp.sha256] = d.rel
        try:
            if d.unit not in UNITS:
                raise FileRejected("unknown_unit", f"unknown unit folder {d.unit!r}")
            if not self.spec.allows(d.unit):
                raise FileRejected("unit_not_allowed", f"unit {d.unit} may not deliver {self.spec.id}")
            self.cur.execute("SAVEPOINT file")
            try:
                rows = self._copy_csv_directly(idx, d, fp) if d.fmt == "csv" and fp.clean else None
                if rows is None:
                    outcome.encoding = detect_encoding(d.path) if d.fmt != "xlsx" else None
                    with open_table(d.path, d.fmt, outcome.encoding) as table:
                        rows = self._copy(idx, d, table, fp.sha256)
            except (Unreadable, psycopg2.DataError) as e:
                self.cur.execute("ROLLBACK TO SAVEPOINT file")
                message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise FileRejected(e.code if isinstance(e, Unreadable) else "unreadable", message) from e
            except FileRejected:
                self.cur.execute("ROLLBACK TO SAVEPOINT file")
                raise
            if rows == 0:
                self.cur.execute("ROLLBACK TO SAVEPOINT file")
                raise FileRejected("empty", "no data rows")
            self.cur.execute("RELEASE SAVEPOINT file")
        except FileRejected as e:
            outcome.status, outcome.reason_code, outcome.reason = "rejected", e.code, e.reason
        return outcome

    def _is_redelivery(self, d: Delivery, sha: str) -> bool:
        """Byte-identical to a file already in the ledger or earlier in this month: a no-op."""
        if sha in self._seen:
            self._pending_redeliveries.setdefault(sha, []).append(d.rel)
            return True
        if ledger.first_path(self.cur, sha) is not None:
            ledger.add_redelivery(self.cur, sha, d.rel)
            return True
        return False

    def _prepare_file(self, idx: int, d: Delivery, header: list[str], sha: str) -> list[str]:
        """Register the file in stage_files and make COPY number its rows; returns the stage
        column for each header position."""
        targets, extras = _columns_for(self.spec, header)
        for i in range(self.extra_columns + 1, len(extras) + 1):
            self.cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} text").format(judge.STAGE, sql.Identifier(f"_extra_{i}")))
        self.extra_columns = max(self.extra_columns, len(extras))
        self.cur.execute(sql.SQL("SELECT nextval(pg_get_serial_sequence('stage', 'ord'))"))
        first_ord = self.cur.fetchone()[0] + 1
        self.cur.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s)").format(judge.STAGE_FILES),
            (idx, sha, d.unit, d.delivery_date, d.seq, extras, first_ord))
        self.cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN file_idx SET DEFAULT {}").format(judge.STAGE, sql.Literal(idx)))
        return targets

    def _copy_csv_directly(self, idx: int, d: Delivery, fp) -> int | None:
        """The fast path for a well-formed CSV: PostgreSQL parses and decodes the file itself and
        COPY numbers the rows. Anything unusual (a ragged or blank row, an encoding the guess got
        wrong) makes COPY fail; the file then goes the careful way through Python (None)."""
        with open_table(d.path, "csv", fp.encoding) as table:
            header = table.header
        targets = self._prepare_file(idx, d, header, fp.sha256)
        copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING {})").format(
            judge.STAGE, sql.SQL(", ").join(map(sql.Identifier, targets)), sql.Literal(PG_ENCODINGS[fp.encoding]))
        self.cur.execute("SAVEPOINT fast_copy")
        try:
            with open(d.path, "rb") as f:
                self.cur.copy_expert(copy.as_string(self.cur), f, size=1 << 20)
            rows = self.cur.rowcount
        except psycopg2.Error:
            self.cur.execute("ROLLBACK TO SAVEPOINT fast_copy")
            self.cur.execute(sql.SQL("DELETE FROM {} WHERE file_idx = %s").format(judge.STAGE_FILES), (idx,))
            return None
        self.cur.execute("RELEASE SAVEPOINT fast_copy")
        return rows

    def _copy(self, idx: int, d: Delivery, table: Table, sha: str) -> int:
        """The careful path: Python parses (any format), numbers records, skips blank ones and
        flags ragged ones, streaming batches to COPY."""
        targets = self._prepare_file(idx, d, table.header, sha)
        copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            judge.STAGE, sql.SQL(", ").join(map(sql.Identifier, [*targets, "row_no", "_malformed"])))
        try:
            self.cur.copy_expert(copy.as_string(self.cur), _CopyStream(_staged_rows(table.rows, len(targets))))
        except psycopg2.errors.QueryCanceled:
            if table.failure is not None:  # the reader refused the file mid-COPY; psycopg2 kept only its text
                raise table.failure from None
            raise
        return self.cur.rowcount

    # -- after the judgement ----------------------------------------------------------------
    def _count(self, staged) -> None:
        by_sha = {o.sha256: o for _, o in staged}
        for table, attr in (("raw", "accepted"), ("quarantine", "quarantined")):
            self.cur.execute(
                sql.SQL("SELECT file_sha256, count(*) FROM {} WHERE month = %s GROUP BY 1").format(
                    sql.Identifier(table, self.spec.id)), (self.month,))
            for sha, n in self.cur.fetchall():
                setattr(by_sha[sha], attr, n)
        for _, o in staged:
            o.rows = o.accepted + o.quarantined

    def _record(self, d: Delivery, o: FileOutcome) -> None:
        ledger.record(self.cur, asset=self.spec.id, d=d, sha=o.sha256, status=o.status, archive_root=self.archive,
                      encoding=o.encoding, rows=o.rows, accepted=o.accepted, quarantined=o.quarantined,
                      reason_code=o.reason_code, reason=o.reason,
                      redeliveries=list(dict.fromkeys(self._earlier_redeliveries.get(o.sha256, [])
                                                      + self._pending_redeliveries.get(o.sha256, []))))
