"""Ingest one feed's month: every file of <inbox>/*/<M>/<feed>.* into raw, quarantine and the ledger.

A file is the unit of failure. Each one is read, judged and written on its own, in one streaming
pass: frames of text (frames.py) → the feed's suite compiled to Polars (frame_judge.py) → COPY of
the correct rows into a fresh month table of raw.<feed> and of the others, with every reason,
into one of quarantine.<feed>. Whatever goes wrong with a file — a parse error, a guard, a value
no column can hold — makes that file `rejected` with a reason code and the others load. Small files
(≤ 1 MB, most of a city month's) are read ahead and judged together as one frame, each row with its own
delivery's date and unit, then written each in its turn: the same rows and reasons, the suite's fixed
cost paid once rather than once per file.

The month is published atomically: the fresh tables are filled in one transaction, indexed,
analysed and swapped in for the month's partitions, with the ledger entries and the expectation
counts, in the same transaction. Readers see the old month or the whole new one; a crash leaves
the old one. Should PostgreSQL itself refuse a file's rows, that transaction is lost: the month is
loaded again with the file rejected.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import polars.selectors as cs
import psycopg2
from psycopg2 import sql

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest import copy_binary, ledger, tables
from jn_credit_dagster.lib.ingest.frame_judge import DecimalRangeError, FrameJudge, copy_csv_text
from jn_credit_dagster.lib.ingest.frames import CarefulPathNeeded, fast_csv_frames, table_frames
from jn_credit_dagster.lib.ingest.inbox import Delivery, scan
from jn_credit_dagster.lib.ingest.prefetch import Prefetched
from jn_credit_dagster.lib.ingest.readers import Unreadable, detect_encoding, fingerprint, open_table
from jn_credit_dagster.lib.common.city import UNITS
from jn_credit_dagster.lib.ingest.specs import FeedSpec, normalise_header
from jn_credit_dagster.lib.ingest.suites import DUPLICATE_REASON, MALFORMED_REASON, TYPE_REASON, Suite

# Problems of a path that the inbox asset records (no feed can claim the file); the others belong
# to the feed the name gives.
INBOX_PROBLEMS = {"bad_name", "unknown_feed"}


@dataclass
class FileOutcome:
    rel: str
    sha256: str | None
    status: str  # loaded | rejected | redelivery | pending
    reason_code: str | None = None
    reason: str | None = None
    rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    encoding: str | None = None
    size: int | None = None
    reasons: Counter = field(default_factory=Counter)  # quarantined rows per reason, this file's alone
    bad_type_rows: int = 0  # its rows with any bad_type reason (the suite's type expectation counts rows)


@dataclass
class MonthResult:
    feed: str
    month: dt.date
    files: list[FileOutcome] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    expectations: list[dict] = field(default_factory=list)  # GX-shaped results of the suite, from this pass
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


class FileRejected(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


class _RefusedByDatabase(Exception):
    """PostgreSQL refused a file's rows: the transaction is lost; load the month again without it."""

    def __init__(self, rel: str, error: psycopg2.Error):
        super().__init__(f"{rel}: {error}")
        self.rel = rel
        self.reason = " ".join(str(error).split())[:300]


def load_month(url: str, spec: FeedSpec, suite: Suite, inbox: Path, month: dt.date, archive: Path) -> MonthResult:
    """Load the feed's month in its own transaction (committed on return)."""
    refused: dict[str, str] = {}
    while True:
        try:
            with database.transaction(url) as cur:
                return MonthLoader(cur, spec, suite, inbox, month, archive, refused).run()
        except _RefusedByDatabase as e:
            if e.rel in refused:
                raise
            refused[e.rel] = e.reason


def _columns_for(spec: FeedSpec, header: list[str]) -> tuple[list[str], list[str]]:
    """The spec column (or extra label) of each header position, and the labels of the extras."""
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
    """Loads one feed's month on an open transaction; the caller commits."""

    def __init__(self, cursor, spec: FeedSpec, suite: Suite, inbox: Path, month: dt.date, archive: Path,
                 refused: dict[str, str] | None = None):
        self.cur, self.spec, self.suite = cursor, spec, suite
        self.inbox, self.month, self.archive = inbox, month, archive
        self.refused = refused or {}
        self.result = MonthResult(spec.id, month)
        self.judge = FrameJudge(spec, suite, dt.date.today())
        self.raw_cols = [c.name for c in spec.columns]
        self.keys = list(spec.key) if spec.checks_duplicates else []
        self._accepted = _AcceptedKeys(self.keys)  # keys of this month's correct rows so far
        self._seen: dict[tuple, str] = {}  # (unit, sha256) -> rel of the first file with that content
        self._copies: dict[tuple, list[str]] = {}
        self._keys_table = False
        self._any_other_month: bool | None = None
        self._writer = _CopyWriter(cursor.connection)
        # small files judged ahead, in one frame with the month's other small files: rel -> (sha256, named, typed, extras)
        self._judged: dict[str, tuple[str, pl.DataFrame, pl.DataFrame, list[str]]] = {}
        self._tried: set[str] = set()  # files already offered to a batch (taken or left to be judged alone)

    # -- the month ----------------------------------------------------------------------------
    def run(self) -> MonthResult:
        started = time.perf_counter()
        cur, spec, month = self.cur, self.spec, self.month
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ingest:{spec.id}:{month}",))
        cur.execute("SET LOCAL jit = off")
        earlier = ledger.earlier_redeliveries(cur, spec.id, month)
        self.fresh_raw = tables.fresh_month_table(cur, tables.raw_table(spec), month)
        self.fresh_quarantine = tables.fresh_month_table(cur, tables.quarantine_table(spec), month)
        self._types = {t.strings: tables.column_types(cur, t) for t in (self.fresh_raw, self.fresh_quarantine)}

        deliveries = [d for d in scan(self.inbox, {spec.id}, month)
                      if d.feed == spec.id and (d.problem is None or d.problem[0] not in INBOX_PROBLEMS)]
        outcomes = []
        try:
            for i, d in enumerate(deliveries):
                if d.rel not in self._tried and _small(d):
                    self._judge_small_files(deliveries[i:])
                outcomes.append((d, self._file(d)))
        finally:
            self._writer.close()
        self.result.files = [o for _, o in outcomes]
        for o in self.result.files:  # a file taken back (rejected, read again) counts nothing
            self.result.reasons.update(o.reasons)

        cur.execute(sql.SQL("ANALYZE {}").format(self.fresh_quarantine))  # raw's: with its parent's, below
        tables.swap_month(cur, tables.raw_table(spec), self.fresh_raw, month)
        tables.swap_month(cur, tables.quarantine_table(spec), self.fresh_quarantine, month)
        tables.analyse_month(cur, tables.raw_table(spec), month, self.result.accepted)
        for d, o in outcomes:
            if o.status != "redelivery":
                copies = earlier.get((d.unit, d.feed, o.sha256), []) + self._copies.get((d.unit, o.sha256), [])
                ledger.record(cur, asset=spec.id, d=d, sha=o.sha256, status=o.status, archive_root=self.archive,
                              encoding=o.encoding, size=o.size, rows=o.rows, accepted=o.accepted,
                              quarantined=o.quarantined, reason_code=o.reason_code, reason=o.reason,
                              redeliveries=list(dict.fromkeys(copies)))
        self._record_expectations()
        self.result.seconds = time.perf_counter() - started
        return self.result

    # -- one file -------------------------------------------------------------------------------
    def _file(self, d: Delivery) -> FileOutcome:
        if d.problem is not None:  # a path with nothing to read (a link, a pipe, still being written)
            code, reason = d.problem
            return FileOutcome(d.rel, None, "pending" if code == "still_arriving" else "rejected", code, reason)
        try:
            fp = fingerprint(d.path, text=d.fmt in ("csv", "json"))
        except Unreadable as e:
            return FileOutcome(d.rel, None, "rejected", getattr(e, "code", "unreadable"), _one_line(e))
        except OSError as e:
            return FileOutcome(d.rel, None, "rejected", "unreadable", _one_line(e))
        outcome = FileOutcome(d.rel, fp.sha256, "loaded", encoding=fp.encoding, size=fp.bytes)
        identity = (d.unit, fp.sha256)
        if identity in self._seen:  # the same bytes again in this unit's folder of this month: a no-op
            self._copies.setdefault(identity, []).append(d.rel)
            outcome.status = "redelivery"
            return outcome
        self._seen[identity] = d.rel
        try:
            if d.unit not in UNITS:
                raise FileRejected("unknown_unit", f"unknown unit folder {d.unit!r}")
            if not self.spec.allows(d.unit):
                raise FileRejected("unit_not_allowed", f"unit {d.unit} may not deliver {self.spec.id}")
            if d.rel in self.refused:
                raise FileRejected("refused_by_database", self.refused[d.rel])
            self._load_file(d, outcome, fp.clean)
        except _RefusedByDatabase:
            raise
        except FileRejected as e:
            self._forget(d, outcome)
            outcome.status, outcome.reason_code, outcome.reason = "rejected", e.code, e.reason
        except (psycopg2.DataError, psycopg2.IntegrityError) as e:  # the server refuses this file's rows
            raise _RefusedByDatabase(d.rel, e) from e
        except psycopg2.Error:  # a lost connection, a canceled statement (Ctrl-C, SIGTERM): not the file's doing
            raise
        except Unreadable as e:
            self._forget(d, outcome)
            outcome.status, outcome.reason_code, outcome.reason = "rejected", getattr(e, "code", "unreadable"), _one_line(e)
        except DecimalRangeError as e:  # PostgreSQL's numeric would hold it; no amount of the contract is that long
            self._forget(d, outcome)
            outcome.status, outcome.reason_code, outcome.reason = "rejected", "value_too_large", _one_line(e)
        except Exception as e:  # noqa: BLE001 - whatever one file holds, it is judged alone
            self._forget(d, outcome)
            outcome.status, outcome.reason_code = "rejected", getattr(e, "code", "unreadable")
            outcome.reason = f"{type(e).__name__}: {_one_line(e)}"
        return outcome

    def _load_file(self, d: Delivery, outcome: FileOutcome, clean: bool) -> None:
        """The fast path for a clean CSV (no NUL, no BOM inside), else record by record from the one
        opening that gave the header; a small file judged ahead (with others) is only taken."""
        judged = self._judged.pop(d.rel, None)
        if judged is not None and judged[0] == outcome.sha256:
            _, named, typed, extras = judged
            self._take(d, outcome, [(named, typed)], extras)
            return
        with open_table(d.path, d.fmt, outcome.encoding) as table:
            header = list(table.header)
            targets, extras = _columns_for(self.spec, header)
            if not _fast(d, clean, header):
                self._judge_frames(d, outcome, table_frames(table, len(header)), targets, extras)
                return
        try:
            self._judge_frames(d, outcome, fast_csv_frames(d.path, outcome.encoding or "utf-8", len(header)),
                               targets, extras, nul_free=True)
            return
        except CarefulPathNeeded:
            self._forget(d, outcome)
            outcome.encoding = detect_encoding(d.path)  # the first megabyte's guess may have been wrong
        with open_table(d.path, d.fmt, outcome.encoding) as table:
            self._judge_frames(d, outcome, table_frames(table, len(header)), targets, extras)

    # -- small files, judged together ----------------------------------------------------------------
    def _judge_small_files(self, upcoming: list[Delivery]) -> None:
        """Read the next small files of the month and judge their rows as one frame: the suite costs
        ~30 ms a frame whatever its size, and a city month has hundreds of files of a few hundred rows.
        Each file's judged rows wait in self._judged for its turn, when they are written as its own (its
        duplicates, its outcome). A file that cannot be read here, or a batch the judge refuses (one
        file's decimals too long for the others'), is judged alone in its turn, as a large file is."""
        staged, rows = [], 0
        for d in upcoming:
            if rows >= SMALL_BATCH_ROWS:
                break
            if d.rel in self._tried or not _small(d):
                continue
            self._tried.add(d.rel)
            read = self._read_small(d)
            if read is not None:
                staged.append((d, *read))
                rows += read[1].height
        if len(staged) < 2:
            return
        batch = pl.concat([named.select(*[pl.col(c).cast(pl.String) for c in self.raw_cols],
                                        pl.col("row_no").cast(pl.Int64), pl.col("_malformed").cast(pl.String),
                                        pl.lit(d.delivery_date, pl.Date).alias("delivery_date"),
                                        pl.lit(d.unit, pl.String).alias("unit"))
                           for d, _, named, _ in staged])
        try:
            typed = self.judge.judge(batch, month=self.month)
        except Exception:  # noqa: BLE001 - each file is judged alone in its turn, and fails alone
            return
        offset = 0
        for d, sha, named, extras in staged:
            self._judged[d.rel] = (sha, named, typed.slice(offset, named.height), extras)
            offset += named.height

    def _read_small(self, d: Delivery) -> tuple[str, pl.DataFrame, list[str]] | None:
        """(sha256, named rows, extras) of a small file read in one frame, else None (its turn reads it)."""
        if d.unit not in UNITS or not self.spec.allows(d.unit) or d.rel in self.refused:
            return None
        try:
            fp = fingerprint(d.path, text=d.fmt in ("csv", "json"))
            if (d.unit, fp.sha256) in self._seen:
                return None
            with open_table(d.path, d.fmt, fp.encoding) as table:
                header = list(table.header)
                targets, extras = _columns_for(self.spec, header)
                fast = _fast(d, fp.clean, header)
                frames = fast_csv_frames(d.path, fp.encoding or "utf-8", len(header)) if fast \
                    else table_frames(table, len(header))
                first = next(frames, None)
                if first is None or next(frames, None) is not None:
                    return None
            return fp.sha256, self._named(first, targets, nul_free=fast), extras
        except Exception:  # noqa: BLE001 - whatever it is, the file's own turn meets it and says so
            return None

    def _forget(self, d: Delivery, outcome: FileOutcome) -> None:
        """Take back what a file wrote before it failed."""
        self._writer.drain()
        outcome.rows = outcome.accepted = outcome.quarantined = outcome.bad_type_rows = 0
        outcome.reasons.clear()
        if outcome.sha256 is None or not hasattr(self, "fresh_raw"):
            return
        for fresh in (self.fresh_raw, self.fresh_quarantine):
            self.cur.execute(sql.SQL("DELETE FROM {} WHERE unit = %s AND file_sha256 = %s").format(fresh),
                             (d.unit, outcome.sha256))
        self._accepted.forget(d.rel)

    def _judge_frames(self, d: Delivery, outcome: FileOutcome, frames, targets: list[str], extras: list[str],
                      nul_free: bool = False) -> None:
        """`nul_free`: the file's bytes have no NUL (its fingerprint says so), so neither has its text."""
        with Prefetched(frames, name="read-frames") as ahead:  # the next frame is read while this one is judged
            named = (self._named(frame, targets, nul_free) for frame in ahead)
            self._take(d, outcome, ((n, self.judge.judge(n, month=self.month, delivery_date=d.delivery_date,
                                                          unit=d.unit)) for n in named), extras)

    def _take(self, d: Delivery, outcome: FileOutcome, judged, extras: list[str]) -> None:
        """Write a file's judged frames ((named, typed) pairs, in order) to raw and quarantine."""
        if self.spec.kind == "snapshot":  # a snapshot's key is unique within the delivery
            self._accepted = _AcceptedKeys(self.keys)
        for named, typed in judged:
            self._accept(d, outcome, named, typed, extras)
        self._writer.drain()  # the file's rows are in, or its failure is its own
        if outcome.rows == 0:
            raise FileRejected("empty", "no data rows")

    def _named(self, frame: pl.DataFrame, targets: list[str], nul_free: bool) -> pl.DataFrame:
        """The delivered text under the spec's names (and the extras'), as the judge and quarantine take it."""
        positions = [f"c{i}" for i in range(len(targets))]
        if not nul_free and frame.select(
                pl.any_horizontal(pl.col(c).str.contains("\x00", literal=True).any() for c in positions)).item():
            raise FileRejected("unreadable", "contains NUL characters: not text")
        named = frame.select(*[pl.col(p).alias(t) for p, t in zip(positions, targets)], "row_no", "_malformed")
        return named.with_columns(pl.lit(None, pl.String).alias(c) for c in self.raw_cols if c not in named.columns)

    def _accept(self, d: Delivery, outcome: FileOutcome, named: pl.DataFrame, typed: pl.DataFrame,
                extras: list[str]) -> None:
        reasons = self._duplicates(d, named, typed)
        correct = reasons.list.len() == 0

        meta = [pl.lit(self.month, pl.Date).alias("month"), pl.lit(d.unit).alias("unit"),
                pl.lit(outcome.sha256).alias("file_sha256"), pl.lit(d.delivery_date, pl.Date).alias("delivery_date"),
                pl.lit(d.seq, pl.Int64).alias("seq"), pl.col("row_no")]
        extra = _extra_json(extras)
        accepted = int(correct.sum())
        if accepted:  # one pass: only the columns COPY takes are filtered
            rows = pl.concat([named.select(cs.starts_with("_extra_")), typed.with_columns(correct.alias("__ok"))],
                             how="horizontal")
            self._copy(d, self.fresh_raw, rows.lazy().filter("__ok").select(
                *meta, extra, *self.judge.copy_values()).collect())
        if accepted < named.height:
            bad = named.filter(~correct).with_columns(reasons.filter(~correct).alias("_reasons"))
            self._copy(d, self.fresh_quarantine, bad.select(
                *meta, pl.col("_reasons").alias("reasons"),
                *[pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in self.raw_cols],
                extra, pl.col("_malformed").alias("malformed")))
            bad_reasons = bad.get_column("_reasons")
            outcome.reasons.update(dict(bad_reasons.explode().value_counts().iter_rows()))
            joined = bad_reasons.list.join("\x00")  # no reason holds a NUL: a row with any bad_type reason
            outcome.bad_type_rows += int((joined.str.starts_with(f"{TYPE_REASON}:")
                                          | joined.str.contains(f"\x00{TYPE_REASON}:", literal=True)).sum())
        outcome.accepted += accepted
        outcome.quarantined += named.height - accepted
        outcome.rows = outcome.accepted + outcome.quarantined

    def _duplicates(self, d: Delivery, named: pl.DataFrame, typed: pl.DataFrame) -> pl.Series:
        """The rows' reasons, with duplicate_key for a row repeating the key of an earlier correct row:
        earlier in this frame, in an earlier frame or file of the month (a snapshot: of the delivery),
        or — an event feed — accepted from another month's folder earlier in delivery order (by index)."""
        reasons = typed.get_column("_reasons")
        if not self.keys:
            return reasons
        keys = self.keys
        ok = (reasons.list.len() == 0)
        frame = typed.select(keys).with_columns(
            ok.alias("_ok"), pl.all_horizontal(pl.col(k).is_not_null() for k in keys).alias("_complete"),
            named.get_column("_malformed").is_not_null().alias("_malformed"),
            pl.struct(keys).hash(seed=KEY_HASH_SEED).alias("_h"))
        frame = frame.with_columns((self._repeated_in_frame(frame) | self._accepted.hits(frame)).alias("_dup"))
        older = self._earlier_months(d, frame.filter("_complete").select(keys))
        if older is not None:
            hit = frame.select(keys).join(older.with_columns(pl.lit(True).alias("_hit")), on=keys, how="left",
                                          maintain_order="left").get_column("_hit").fill_null(False)
            frame = frame.with_columns((pl.col("_dup") | hit).alias("_dup"))
        dup = frame.select(pl.col("_complete") & pl.col("_dup") & ~pl.col("_malformed")).to_series()
        # the first correct row of each key: unique, the others are dup
        self._accepted.add(d.rel, frame.filter(pl.col("_complete") & pl.col("_ok") & ~dup).select(*keys, "_h"))
        return pl.DataFrame({"_reasons": reasons, "_dup": dup}).select(
            pl.when("_dup").then(pl.col("_reasons").list.concat(pl.lit([DUPLICATE_REASON])))
            .otherwise(pl.col("_reasons")).alias("_reasons")).to_series()

    def _repeated_in_frame(self, frame: pl.DataFrame) -> pl.Series:
        """Whether an earlier correct row of the frame has the row's key. Only rows whose key's hash
        repeats within the frame can, and they are few: the window runs on them alone."""
        dup = pl.zeros(frame.height, pl.Boolean, eager=True)
        repeated = frame.get_column("_h").is_duplicated()
        if not repeated.any():
            return dup
        okn = pl.col("_ok").cast(pl.Int32)
        few = frame.with_row_index("_i").filter(repeated).filter((okn.cum_sum().over(self.keys) - okn) > 0)
        return dup.scatter(few.get_column("_i"), True)

    def _earlier_months(self, d: Delivery, keys: pl.DataFrame) -> pl.DataFrame | None:
        """The frame's keys already accepted from another month's folder earlier in delivery order:
        the keys go to a temporary table by COPY and meet raw.<feed>'s key index."""
        if self.spec.kind != "event" or not keys.height or not self._other_months():
            return None
        self._writer.drain()  # one command at a time on the connection, and a refused file named first
        keys = keys.unique()
        spec, cur = self.spec, self.cur
        names = sql.SQL(", ").join(map(sql.Identifier, spec.key))
        if not self._keys_table:
            cur.execute(sql.SQL("CREATE TEMP TABLE frame_keys ({}) ON COMMIT DROP").format(sql.SQL(", ").join(
                sql.SQL("{} " + tables.SQL_TYPES[spec.column(k).type]).format(sql.Identifier(k)) for k in spec.key)))
            self._keys_table = True
        else:
            cur.execute("TRUNCATE frame_keys")
        buffer = io.BytesIO()
        keys.select(pl.col(k).cast(pl.String) for k in spec.key).write_csv(buffer, include_header=False,
                                                                           quote_style="non_numeric")
        buffer.seek(0)
        cur.copy_expert(sql.SQL("COPY frame_keys ({}) FROM STDIN WITH (FORMAT csv)").format(names).as_string(cur), buffer)
        same = sql.SQL(" AND ").join(sql.SQL("r.{k} = k.{k}").format(k=sql.Identifier(k)) for k in spec.key)
        cur.execute(sql.SQL("SELECT {names} FROM frame_keys k WHERE EXISTS (SELECT 1 FROM {raw} r WHERE {same} "
                            "AND r.month <> %s AND (r.delivery_date, r.month) < (%s, %s))").format(
            names=names, raw=tables.raw_table(spec), same=same), (self.month, d.delivery_date, self.month))
        found = cur.fetchall()
        return pl.DataFrame(found, schema=keys.schema, orient="row") if found else None

    def _other_months(self) -> bool:
        """Whether raw.<feed> holds any other month at all (most first loads: no lookups)."""
        if self._any_other_month is None:
            self._writer.drain()
            self.cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE month <> %s)").format(
                tables.raw_table(self.spec)), (self.month,))
            self._any_other_month = self.cur.fetchone()[0]
        return self._any_other_month

    def _copy(self, d: Delivery, table: sql.Identifier, frame: pl.DataFrame) -> None:
        """COPY the rows on the writer thread (which renders them), while the next frame is judged."""
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            table, sql.SQL(", ").join(map(sql.Identifier, frame.columns))).as_string(self.cur)
        self._writer.put(d.rel, statement, frame, [self._types[table.strings].get(c, "") for c in frame.columns])

    # -- the suite's results from this pass -----------------------------------------------------------
    def _record_expectations(self) -> None:
        total = self.result.rows
        counts = self.result.reasons
        results = []
        for position, rule in enumerate(self.suite.rules):
            if rule.reason == f"{TYPE_REASON}:*":
                unexpected = sum(f.bad_type_rows for f in self.result.files)
            else:
                unexpected = counts.get(rule.reason, 0)
            results.append({"position": position, "type": rule.type, "kwargs": rule.kwargs, "reason": rule.reason,
                            "severity": rule.severity, "element_count": total, "unexpected_count": unexpected,
                            "success": unexpected == 0})
        self.cur.execute("DELETE FROM ingest.expectation_results WHERE feed = %s AND month = %s",
                         (self.spec.id, self.month))
        self.cur.executemany(
            "INSERT INTO ingest.expectation_results (feed, month, position, expectation_type, kwargs, reason, severity, "
            "element_count, unexpected_count, success) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(self.spec.id, self.month, r["position"], r["type"], json.dumps(r["kwargs"], ensure_ascii=False),
              r["reason"], r["severity"], r["element_count"], r["unexpected_count"], r["success"]) for r in results])
        self.result.expectations = results


KEY_HASH_SEED = 20200825
SMALL_FILE_BYTES = 1 << 20  # a file this small is judged in one frame with the month's other small files …
SMALL_BATCH_ROWS = 50_000  # … up to about this many rows at once


def _fast(d: Delivery, clean: bool, header: list[str]) -> bool:
    """Whether Arrow may read the file (a clean CSV whose header has no line break), not record by record."""
    return d.fmt == "csv" and clean and not any("\n" in h or "\r" in h for h in header)


def _small(d: Delivery) -> bool:
    if d.problem is not None or not d.has_content:
        return False
    try:
        return d.path.lstat().st_size <= SMALL_FILE_BYTES
    except OSError:
        return False


class _AcceptedKeys:
    """The keys of the correct rows so far, kept by their 64-bit hash and checked exactly on a hit:
    a frame is matched without joining it to every key of the month (memory stays flat)."""

    def __init__(self, keys: list[str]):
        self.keys = keys
        self.hashes: set[int] = set()
        self.by_file: dict[str, list[pl.DataFrame]] = {}

    def hits(self, frame: pl.DataFrame) -> pl.Series:
        """Which rows of `frame` (its key columns and `_h`) repeat a kept key."""
        hashes = frame.get_column("_h")
        common = self.hashes.intersection(hashes.to_list())  # a loop in C, not one in Python per row
        if not common:
            return pl.zeros(frame.height, pl.Boolean, eager=True)
        maybe = hashes.is_in(pl.Series(list(common), dtype=hashes.dtype).implode())
        candidates = frame.with_row_index("_i").filter(maybe)
        kept = pl.concat([f for files in self.by_file.values() for f in files]).filter(
            pl.col("_h").is_in(candidates.get_column("_h").unique().implode()))
        exact = candidates.join(kept.select(self.keys), on=self.keys, how="semi").get_column("_i")
        return pl.zeros(frame.height, pl.Boolean, eager=True).scatter(exact, True)

    def add(self, rel: str, keys: pl.DataFrame) -> None:
        if keys.height:
            self.hashes.update(keys.get_column("_h").to_list())
            self.by_file.setdefault(rel, []).append(keys)

    def forget(self, rel: str) -> None:
        for keys in self.by_file.pop(rel, []):
            self.hashes.difference_update(keys.get_column("_h").to_list())


class _CopyWriter:
    """COPY one frame behind the judging, in two stages on threads of their own: one renders a frame
    (Arrow and Polars render without the GIL) while the other streams the frame before it into
    PostgreSQL, so the server's COPY rarely waits. A frame goes in binary (copy_binary), else, a
    value the binary form cannot carry as text would, as CSV. A failure is raised in the loader's
    thread, naming its file."""

    def __init__(self, connection):
        self._cursor = connection.cursor()
        self._frames: queue.Queue = queue.Queue(maxsize=2)  # bounded: memory stays flat
        self._payloads: queue.Queue = queue.Queue(maxsize=1)
        self._error: tuple[str, psycopg2.Error] | None = None
        self._failure: BaseException | None = None  # rendering failed (not the database's refusal)
        self._threads = [threading.Thread(target=self._render, name="copy-render", daemon=True),
                         threading.Thread(target=self._send, name="copy-writer", daemon=True)]
        for thread in self._threads:
            thread.start()

    def _render(self) -> None:
        while True:
            item = self._frames.get()
            try:
                if item is None:
                    self._payloads.put(None)
                    return
                rel, statement, frame, types = item
                if self._error is None and self._failure is None:
                    try:
                        statement, buffer = copy_payload(statement, frame, types)
                    except BaseException as e:  # noqa: BLE001 - raised in the loader's thread
                        self._failure = e
                    else:
                        self._payloads.put((rel, statement, buffer))
            finally:
                self._frames.task_done()

    def _send(self) -> None:
        while True:
            item = self._payloads.get()
            try:
                if item is None:
                    return
                rel, statement, buffer = item
                if self._error is None:
                    try:
                        self._cursor.copy_expert(statement, buffer, size=1 << 20)
                    except psycopg2.Error as e:
                        self._error = (rel, e)
            finally:
                self._payloads.task_done()

    def put(self, rel: str, statement: str, frame: pl.DataFrame, types: list[str]) -> None:
        """`statement`: COPY … FROM STDIN, its options to come; `types`: each column's PostgreSQL type."""
        self._raise()
        self._frames.put((rel, statement, frame, types))

    def drain(self) -> None:
        self._frames.join()  # every frame rendered and handed on …
        self._payloads.join()  # … and sent
        self._raise()

    def close(self) -> None:
        self._frames.put(None)
        for thread in self._threads:
            thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        if self._error is not None:
            rel, error = self._error
            raise _RefusedByDatabase(rel, error)


def copy_payload(statement: str, frame: pl.DataFrame, types: list[str]) -> tuple[str, copy_binary.Payload | io.BytesIO]:
    """The COPY statement (`statement` with its options) and its data: binary, else CSV."""
    try:
        return f"{statement} WITH (FORMAT binary, FREEZE)", copy_binary.encode(frame, types)
    except copy_binary.NotEncodable:
        return f"{statement} WITH (FORMAT csv, FREEZE)", csv_payload(frame)


def csv_payload(frame: pl.DataFrame) -> io.BytesIO:
    """The frame as COPY (FORMAT csv) reads it into the same columns (decimals come as their normalised text)."""
    buffer = io.BytesIO()
    # every text quoted: a value reading `\.` alone on a line would end COPY's data early
    copy_csv_text(frame).write_csv(buffer, include_header=False, quote_style="non_numeric")
    buffer.seek(0)
    return buffer


def _extra_json(labels: list[str]) -> pl.Expr:
    """The unknown columns' non-empty values as a JSON object ({header: value}), else null."""
    if not labels:
        return pl.lit(None, pl.String).alias("extra")
    members = []
    for i, label in enumerate(labels, 1):
        v = pl.col(f"_extra_{i}")
        as_json = pl.struct(v.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")  # {"v":…}
        members.append(pl.when(v != "").then(pl.lit(json.dumps(label, ensure_ascii=False) + ":") + as_json))
    body = pl.concat_str(members, separator=",", ignore_nulls=True)
    return pl.when(body != "").then(pl.lit("{") + body + pl.lit("}")).alias("extra")


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return (text or type(e).__name__)[:300]


__all__ = ["FileOutcome", "FileRejected", "MALFORMED_REASON", "MonthLoader", "MonthResult", "load_month"]
