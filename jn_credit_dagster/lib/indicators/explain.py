"""The rows behind one indicator value (`jn-credit explain`, DESIGN.md "Command-line contract").

Each data indicator has, beside its computing SQL, an explanation file `sql/indicators/explain/<id>.sql`:
one SELECT with the bound parameters of lib/indicators/compute.py (`month`, `month_end`, `window_start`) and the
scope (`scope`, `scope_key`), returning one line per thing the indicator counts or leaves out, with the
columns `in_numerator`, `in_denominator` (1/0), `weight` (what the line adds: 1 for a count, the amount
for a sum; printed as 0 on a line left out), `reason` (why a line is in neither; empty otherwise),
`feed`, `unit`, `month` (the delivery's month folder), `file_sha256`, `row_no`, `key`, then the columns
that decided it. A file only needs to honour the scopes its indicator stores rows for
(wh.indicator_results); the same windows and filters as the computing SQL beside it.

Here the file is wrapped to add each line's `path` from the ingest ledger. Every text value leaves
masked: personal columns (`personal: true` in a feed spec) whole, 身份证号-shaped runs anywhere. The CSV
(`--format csv`, the bulletin's explain/<ID>.csv) is rendered by PostgreSQL itself — COPY … TO STDOUT,
personal columns and paths masked by sql/schema/036_privacy.sql's functions, which tests hold equal to
lib/common/privacy.py — so a city month's million lines stream at the server's speed; the few records
whose other text could need masking are found in the bytes as they arrive and scrubbed by
lib/common/privacy.py. The table and JSON formats read the lines through a server-side cursor and mask
them with lib/common/privacy.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from psycopg2 import sql

from jn_credit_dagster.lib.common import paths, privacy
from jn_credit_dagster.lib.indicators.catalog import Indicator, load_catalog
from jn_credit_dagster.lib.indicators.compute import CITY, parameters
from jn_credit_dagster.lib.ingest.specs import load_specs

EXPLAIN_DIR = paths.SQL / "indicators" / "explain"
LEADING = ("in_numerator", "in_denominator", "weight", "reason", "feed", "unit", "path", "row_no", "key")
# what the wrapper uses to find the path and to order the lines, and does not print
_LOCATION = ("month", "file_sha256", "_delivery")
FETCH = 5000  # lines per round trip of the server-side cursor
# By delivery (feed, unit, month folder, SHA-256), then row. The delivery is compared as its rank in that
# order (`_delivery`, one integer) rather than as four texts: a million-line sort then compares integers
# (~1 s less server CPU for a city month's registry-sized file). The texts stay as the tie-break for a
# line whose delivery has no ledger entry.
_DESCENDING = ("in_numerator", "in_denominator")  # counted lines first
_ORDER_BY = (*_DESCENDING, "_delivery", "row_no", "feed", "unit", "month", "file_sha256")
_ORDER = sql.SQL(", ").join(sql.SQL("{} DESC" if c in _DESCENDING else "{}").format(sql.Identifier("x", c))
                            for c in _ORDER_BY)


class ExplainError(ValueError):
    """Nothing to explain: an unknown or self-reported indicator, a bad scope, a value not computed."""


@dataclass(frozen=True)
class Scope:
    scope: str
    key: str

    @classmethod
    def parse(cls, text: str | None) -> "Scope":
        """`city`, `unit:CODE` or `district:CODE`."""
        text = (text or "city").strip()
        if text == "city":
            return cls("city", CITY)
        kind, _, key = text.partition(":")
        if kind not in ("unit", "district") or not key.strip():
            raise ExplainError(f"bad scope {text!r}: city, unit:CODE or district:CODE")
        return cls(kind, key.strip())

    def __str__(self) -> str:
        return "city" if self.scope == "city" else f"{self.scope}:{self.key}"


@dataclass
class Stored:
    """The indicator's row of wh.indicator_results the explanation must add up to."""

    value: float | None
    numerator: Decimal | None
    denominator: Decimal | None
    status: str


def explain_file(ind: Indicator, folder: Path = EXPLAIN_DIR) -> Path:
    return Path(folder) / f"{ind.id}.sql"


def explainable(folder: Path = EXPLAIN_DIR) -> list[str]:
    """The data indicators of the catalog that have an explanation file."""
    return [i.id for i in load_catalog().indicators.values()
            if i.source == "data" and explain_file(i, folder).is_file()]


def indicator(ind_id: str, folder: Path = EXPLAIN_DIR) -> Indicator:
    catalog = load_catalog()
    ind = catalog.indicators.get(ind_id.strip().upper())
    if ind is None:
        raise ExplainError(f"unknown indicator {ind_id!r}")
    if ind.source != "data":
        raise ExplainError(f"{ind.id} is a self-report: its value is the units' reports "
                           f"(`jn-credit indicators` shows them), not rows of the feeds")
    if not explain_file(ind, folder).is_file():
        raise ExplainError(f"{ind.id} has no explanation file {explain_file(ind, folder)}")
    return ind


def stored(cur, ind: Indicator, month: dt.date, scope: Scope) -> Stored:
    cur.execute("""SELECT value, numerator, denominator, status FROM wh.indicator_results
                   WHERE month = %s AND indicator = %s AND scope = %s AND scope_key = %s""",
                (month, ind.id, scope.scope, scope.key))
    row = cur.fetchone()
    if row is None:
        cur.execute("SELECT DISTINCT scope FROM wh.indicator_results WHERE month = %s AND indicator = %s ORDER BY 1",
                    (month, ind.id))
        scopes = [r[0] for r in cur.fetchall()]
        if not scopes:
            raise ExplainError(f"{ind.id} is not computed for {month:%Y-%m}: run that month first")
        raise ExplainError(f"{ind.id} has no value at {scope} for {month:%Y-%m} "
                           f"(it is computed at: {', '.join(scopes)})")
    return Stored(None if row[0] is None else float(row[0]), row[1], row[2], row[3])


def _params(month: dt.date, scope: Scope) -> dict:
    return {**parameters(month), "scope": scope.scope, "scope_key": scope.key}


def _ledger(path: sql.Composable) -> sql.Composed:
    """The ledger's deliveries as the wrapper joins them: `path` (an expression of the ledger's row) and the
    delivery's rank; OFFSET 0 keeps `path` computed once per delivery, not once per line."""
    return sql.SQL("(SELECT feed, unit, month, sha256, {} AS path, "
                   "row_number() OVER (ORDER BY feed, unit, month, sha256) AS delivery "
                   "FROM ingest.ledger WHERE sha256 IS NOT NULL OFFSET 0)").format(path)


_LEDGER = _ledger(sql.SQL("path"))
_LEDGER_MASKED = _ledger(sql.SQL("nullif(jn.scrub(path), '')"))  # for the CSV, each path masked once


def _wrapped(ind: Indicator, folder: Path, ledger: sql.Composable = _LEDGER) -> sql.Composed:
    """The explanation file with each line's path (the ledger entry of its delivery)."""
    body = explain_file(ind, folder).read_text(encoding="utf-8").strip().rstrip(";")
    return sql.SQL("SELECT e.*, l.path AS path, l.delivery AS _delivery FROM ({body}\n) e LEFT JOIN {ledger} l ON l.feed = e.feed "
                   "AND l.unit = e.unit AND l.month = e.month AND l.sha256 = e.file_sha256").format(
        body=sql.SQL(body), ledger=ledger)


def summary(cur, ind: Indicator, month: dt.date, scope: Scope, folder: Path = EXPLAIN_DIR) -> dict:
    """Lines and Σ weight in the numerator, in the denominator, and the lines left out by reason (one pass)."""
    cur.execute(sql.SQL("SELECT in_numerator, in_denominator, reason, count(*), sum(weight) FROM ({}) x "
                        "GROUP BY 1, 2, 3").format(_wrapped(ind, folder)), _params(month, scope))
    found = {"numerator_lines": 0, "numerator_sum": Decimal(0), "denominator_lines": 0, "denominator_sum": Decimal(0)}
    left_out: dict[str, int] = {}
    for in_numerator, in_denominator, reason, n, total in cur.fetchall():
        for part, counted in (("numerator", in_numerator), ("denominator", in_denominator)):
            if counted:
                found[f"{part}_lines"] += n
                found[f"{part}_sum"] += total or 0
        if not in_numerator and not in_denominator:
            key = privacy.scrub(reason)
            left_out[key] = left_out.get(key, 0) + n
    found["left_out"] = dict(sorted(left_out.items(), key=lambda kv: (-kv[1], kv[0])))
    return found


def estimated_lines(cur, ind: Indicator, month: dt.date, scope: Scope, folder: Path = EXPLAIN_DIR) -> float:
    """The planner's estimate of the explanation's lines (planned, not run)."""
    cur.execute(sql.SQL("EXPLAIN (FORMAT JSON) SELECT * FROM ({}) x").format(_wrapped(ind, folder)), _params(month, scope))
    return float(cur.fetchone()[0][0]["Plan"]["Plan Rows"])


def _personal_columns() -> set[str]:
    return {c.name for spec in load_specs().values() for c in spec.columns if c.personal}


def _shown(value, personal: bool):
    """A cell as it may leave the warehouse."""
    if value is None or isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        value = ";".join("" if v is None else str(v) for v in value)
    text = str(value)
    return privacy.mask_personal(text) if personal and text.strip() else privacy.scrub(text)


def lines(connection, ind: Indicator, month: dt.date, scope: Scope, limit: int | None = None,
          folder: Path = EXPLAIN_DIR) -> Iterator[tuple[list[str], tuple]]:
    """(columns, line) for every line, counted lines first, through a server-side cursor on `connection`
    (in its transaction): LEADING, then the deciding columns."""
    statement = sql.SQL("SELECT * FROM ({}) x ORDER BY {}{}").format(
        _wrapped(ind, folder), _ORDER, sql.SQL("") if limit is None else sql.SQL(" LIMIT {}").format(sql.Literal(int(limit))))
    personal = _personal_columns()
    with connection.cursor(name=f"explain_{ind.id.lower()}") as cur:
        cur.itersize = FETCH
        cur.execute(statement, _params(month, scope))
        first = True
        for row in cur:
            if first:
                names = [d.name for d in cur.description]
                deciding = [n for n in names if n not in LEADING and n not in _LOCATION]
                order = [names.index(n) for n in (*LEADING, *deciding)]
                columns = [*LEADING, *deciding]
                masked = [c in personal for c in columns]
                first = False
            line = [_shown(row[i], m) for i, m in zip(order, masked)]
            if not line[0] and not line[1]:
                line[2] = 0  # a line left out adds nothing; what it would have added is in its own columns
            yield columns, tuple(line)


def _number(value):
    """Decimal → int when whole, else float (JSON, tables)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def overview(cur, ind: Indicator, month: dt.date, scope: Scope, folder: Path = EXPLAIN_DIR) -> dict:
    """The stored value and the explanation's sums, and whether they agree."""
    kept = stored(cur, ind, month, scope)
    sums = summary(cur, ind, month, scope, folder)

    def agrees(stored_value, lines, total):
        if stored_value is None:
            return lines == 0
        return abs(Decimal(str(stored_value)) - total) <= Decimal("1e-9") * max(1, abs(total))

    return {"indicator": ind.id, "name": ind.name, "month": f"{month:%Y-%m}", "scope": str(scope),
            "value": kept.value, "numerator": _number(kept.numerator), "denominator": _number(kept.denominator),
            "status": kept.status,
            "numerator_lines": sums["numerator_lines"], "numerator_sum": _number(sums["numerator_sum"]),
            "denominator_lines": sums["denominator_lines"], "denominator_sum": _number(sums["denominator_sum"]),
            "left_out": sums["left_out"],
            "adds_up": agrees(kept.numerator, sums["numerator_lines"], sums["numerator_sum"])
            and agrees(kept.denominator, sums["denominator_lines"], sums["denominator_sum"])}


# How a cell of each PostgreSQL type category is printed, as lines() and csv.writer printed it: numbers
# as PostgreSQL writes them (plain digits, never 1.2E-7), booleans True/False, dates ISO, arrays joined by
# ';' and every other value as text, masked.
_BOOLEAN, _NUMBER, _DATE, _ARRAY = "B", "N", "date", "A"


def _text(name: str, kind: str) -> sql.Composable | None:
    """The cell as the text that is masked; None for a number, boolean or date (printed as it is)."""
    column = sql.Identifier("x", name)
    if kind in (_NUMBER, _BOOLEAN, _DATE):
        return None
    return (sql.SQL("array_to_string({}, ';', '')") if kind == _ARRAY else sql.SQL("{}::text")).format(column)


def _cell(name: str, kind: str, personal: bool) -> sql.Composable:
    """The cell as COPY prints it. A personal column is masked here; other text is scrubbed as the records
    arrive (scrub_candidates finds the few where that can change anything)."""
    column = sql.Identifier("x", name)
    if kind == _NUMBER:
        return sql.SQL("{}::text").format(column)
    if kind == _BOOLEAN:
        return sql.SQL("CASE WHEN {0} THEN 'True' WHEN NOT {0} THEN 'False' END").format(column)
    if kind == _DATE:
        return sql.SQL("to_char({}, 'YYYY-MM-DD')").format(column)
    text = _text(name, kind)
    if personal:
        return sql.SQL("CASE WHEN btrim({0}, jn.privacy_spaces()) <> '' THEN jn.mask_personal({0}) "
                       "ELSE jn.scrub({0}) END").format(text)
    return sql.SQL("coalesce({}, '')").format(text)


def _kinds(cur, description) -> list[str]:
    """The type category of each described column (pg_type.typcategory; a date is its own kind)."""
    cur.execute("SELECT oid, CASE WHEN oid = 'date'::regtype THEN 'date' ELSE typcategory::text END "
                "FROM pg_type WHERE oid = ANY(%s)", ([d.type_code for d in description],))
    kinds = dict(cur.fetchall())
    return [kinds[d.type_code] for d in description]


def copy_statement(cur, ind: Indicator, month: dt.date, scope: Scope,
                   folder: Path = EXPLAIN_DIR) -> tuple[bytes, list[int]]:
    """COPY (every line, printed as lines() gives it, counted lines first) TO STDOUT as CSV with a header:
    LEADING, then the deciding columns; `weight` 0 on a line left out. Personal columns and paths come
    masked; the positions of the other text cells, which the records' reader must scrub, come with it."""
    wrapped, params = _wrapped(ind, folder), _params(month, scope)
    cur.execute(sql.SQL("SELECT * FROM ({}) x LIMIT 0").format(wrapped), params)  # planned, not run
    kinds = dict(zip((d.name for d in cur.description), _kinds(cur, cur.description)))
    columns = [*LEADING, *(n for n in kinds if n not in LEADING and n not in _LOCATION)]
    personal = _personal_columns()
    cells = [sql.SQL("x.path") if n == "path" else _cell(n, kinds[n], n in personal) for n in columns]
    # a line left out adds nothing; what it would have added is in its own columns
    cells[2] = sql.SQL("CASE WHEN coalesce(x.in_numerator, 0) = 0 AND coalesce(x.in_denominator, 0) = 0 "
                       "THEN '0' ELSE {} END").format(cells[2])
    # NULL and '' both print as an empty field (COPY would quote an empty string)
    select = sql.SQL(", ").join(sql.SQL("nullif({}, '') AS {}").format(c, sql.Identifier(n)) for c, n in zip(cells, columns))
    scrubbed = [i for i, n in enumerate(columns)
                if n != "path" and n not in personal and _text(n, kinds[n]) is not None]
    # Sorted first, printed after: the sort (on disk at city scale) then moves the typed lines, not their
    # wider text; the outer ORDER BY is the same one, which the sorted subquery already satisfies. The sort
    # keys lead the sorted lines: a key after text or NULL columns is found by walking the line's columns
    # on every comparison (a seventh of a million-line file's server CPU).
    sorted_columns = [*_ORDER_BY, *(n for n in kinds if n not in _ORDER_BY)]
    statement = sql.SQL("COPY (SELECT {select} FROM (SELECT {columns} FROM ({wrapped}) x "
                        "ORDER BY {order}) x ORDER BY {order}) TO STDOUT WITH (FORMAT csv, HEADER, ENCODING 'UTF8')").format(
        select=select, columns=sql.SQL(", ").join(sql.Identifier("x", n) for n in sorted_columns),
        wrapped=_wrapped(ind, folder, _LEDGER_MASKED), order=_ORDER)
    return cur.mogrify(statement, params), scrubbed


_FULL_WIDTH_DIGIT = re.compile(rb"\xef\xbc[\x90-\x99]")
_FULL_WIDTH_X = ("Ｘ".encode(), "ｘ".encode())
_ASCII_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))  # digit → '0', else '.'
_LONG_RUN = b"0" * 15
_CENTURIES = (b"18", b"19", b"20")  # digits 7-8 of an 18-character 身份证号 (privacy._ID18)


def scrub_candidates(data: bytes) -> Iterator[int]:
    """Offsets in `data` (COPY's CSV records) of every place privacy.scrub could change, and of a few
    more: each '=' and '://', each full-width digit, and each run of 15 ASCII digits or more that
    privacy.mask_ids masks (privacy.is_id_run: an ID-shaped valid USCC stays readable). Found with bytes
    methods (memchr, translate) rather than a regular expression tried at every position (several times
    slower in Python): this runs over every byte of a million-line file, where testing each line in
    PostgreSQL cost a third of the file's server CPU."""
    for literal in (b"=", b"://"):
        at = data.find(literal)
        while at >= 0:
            yield at
            at = data.find(literal, at + 1)
    for m in _FULL_WIDTH_DIGIT.finditer(data):
        yield m.start()
    for start, end in _long_runs(data):
        run = data[start:end]
        x = data[end:end + 1] in (b"X", b"x") or data[end:end + 3] in _FULL_WIDTH_X  # the run's own X
        size = len(run) + x
        if size in (16, 17) or size == 18 and run[6:8] not in _CENTURIES:
            continue  # no 身份证号's length, or no birth century where it has one: most USCCs, seen at once
        if _is_id_run(run, x):
            yield start


@functools.lru_cache(maxsize=1 << 16)
def _is_id_run(digits: bytes, x: bool) -> bool:
    """privacy.is_id_run of a run, remembered: a column of amounts repeats the same long fraction on
    every line (I06's weight, 1/|E(M)|), which would otherwise be tested a million times."""
    return privacy.is_id_run(digits.decode() + ("X" if x else ""))


def _long_runs(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of 15 ASCII digits or more in `data`."""
    digits = data.translate(_ASCII_DIGITS)
    at = digits.find(_LONG_RUN)
    while at >= 0:
        start, end = digits.rfind(b".", 0, at) + 1, digits.find(b".", at)
        end = len(data) if end < 0 else end
        yield start, end
        at = digits.find(_LONG_RUN, end)


def scrubbed_record(record: bytes, cells: list[int]) -> bytes:
    """One CSV record of COPY with the cells at `cells` scrubbed (privacy.scrub), quoted as COPY quotes."""
    row = next(csv.reader(io.StringIO(record.decode("utf-8"), newline="")))
    for i in cells:
        row[i] = privacy.scrub(row[i])
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerow(row)  # \r and \n both quoted, as COPY quotes them
    return out.getvalue()[:-2].encode("utf-8") + b"\n"


class CsvRecords(io.RawIOBase):
    """COPY's CSV, scrubbed and with CRLF record ends (RFC 4180, what csv.writer wrote), from pieces cut
    anywhere: a newline outside quotes ends a record; one inside a quoted value is the value's own and
    stays. Each piece is taken up to its last whole record (the rest waits for the next); in the records
    scrub_candidates points at, the cells at `scrubbed` are scrubbed. write_csv puts a BufferedWriter in
    front: psycopg2 hands out a record per call, which C then gathers a megabyte at a time, so Python
    runs once a megabyte rather than once a record. `finish` writes what is left."""

    def __init__(self, out, scrubbed: list[int] | None = None):
        super().__init__()
        self.out, self.tail = out, b""
        self.scrubbed = scrubbed or []  # the positions of the cells to scrub (copy_statement)

    def writable(self) -> bool:
        return True

    def write(self, piece) -> int:
        data = self.tail + bytes(piece)
        cut = _records_end(data)
        self.tail = data[cut:]
        self._write(data[:cut])
        return len(piece)

    def finish(self) -> None:
        self._write(self.tail)
        self.tail = b""

    def _write(self, records: bytes) -> None:
        """Whole records (they begin outside quotes): scrubbed where needed, then with CRLF ends."""
        if not records:
            return
        if self.scrubbed:
            records = self._scrubbed(records)
        if b'"' not in records:
            self.out.write(records.replace(b"\n", b"\r\n"))
            return
        parts = records.split(b'"')
        parts[::2] = [p.replace(b"\n", b"\r\n") for p in parts[::2]]  # outside quotes
        self.out.write(b'"'.join(parts))

    def _scrubbed(self, records: bytes) -> bytes:
        pieces, done = [], 0
        for at in sorted(set(scrub_candidates(records))):
            if at < done:
                continue  # in a record already scrubbed
            start = _records_end(records, at)
            end = _record_end(records, records.find(b"\n", at))
            pieces += [records[done:start], scrubbed_record(records[start:end], self.scrubbed)]
            done = end
        return b"".join(pieces) + records[done:] if pieces else records


def _records_end(data: bytes, before: int | None = None) -> int:
    """Just past the last newline outside quotes of `data` (which begins outside quotes), or of its first
    `before` bytes: the end of the whole records there."""
    at = data.rfind(b"\n", 0, len(data) if before is None else before)
    while at >= 0 and data.count(b'"', 0, at) % 2:  # inside a quoted value
        at = data.rfind(b"\n", 0, at)
    return at + 1


def _record_end(data: bytes, at: int) -> int:
    """Just past the record of `data` whose newline, or a newline inside it, is at `at` (-1: the last)."""
    while at >= 0 and data.count(b'"', 0, at) % 2:  # inside a quoted value
        at = data.find(b"\n", at + 1)
    return len(data) if at < 0 else at + 1


CHUNK = 1 << 20  # what Python takes at a time from COPY


def write_csv(connection, ind: Indicator, month: dt.date, scope: Scope, out, folder: Path = EXPLAIN_DIR) -> int:
    """Every line as CSV (DESIGN.md's columns first) into the binary file `out` (UTF-8, CRLF), rendered
    and streamed by the server in `connection`'s transaction; returns the number of lines."""
    with connection.cursor() as cur:
        statement, scrubbed = copy_statement(cur, ind, month, scope, folder)
        records = CsvRecords(out, scrubbed)
        gathered = io.BufferedWriter(records, buffer_size=CHUNK)
        cur.copy_expert(statement, gathered)
        gathered.flush()
        records.finish()
        return cur.rowcount


def write_json(connection, head: dict, ind: Indicator, month: dt.date, scope: Scope, out,
               folder: Path = EXPLAIN_DIR) -> int:
    """`head` and every line as one JSON object ({…, "lines": [{column: value}, …]}), streamed."""
    def dumps(value):
        return json.dumps(value, ensure_ascii=False, default=_number)

    out.write(dumps(head)[:-1] + ', "lines": [')
    n = 0
    for columns, line in lines(connection, ind, month, scope, folder=folder):
        out.write(("," if n else "") + "\n" + dumps(dict(zip(columns, (_number(v) for v in line)))))
        n += 1
    out.write("]}\n")
    return n
