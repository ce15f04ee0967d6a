"""Read a delivered file as a header and a stream of text rows: CSV, .xlsx or JSON.

Nothing here holds a whole file in memory: CSV and JSON are parsed as they are read and
.xlsx a row at a time (xlsx.py). Any path may be handed in: only a regular file is
opened (never through a link, never a pipe or a device). Whatever makes a file unreadable
raises Unreadable with a reason code and a one-line reason; every guard of limits.py has its
own code, so a hostile file costs bounded time and memory and is rejected on its own.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import decimal
import errno
import hashlib
import io
import json
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ijson
import psutil

from jn_credit_dagster.lib.ingest import xlsx
from jn_credit_dagster.lib.ingest.limits import Limits, current

CHUNK = 1 << 20
ENCODINGS = "UTF-8, GBK, GB18030"


class Unreadable(Exception):
    """The file as a whole cannot be read. `code` is the ledger's reason code (unreadable, empty,
    bad_encoding, not_a_file, too_large, too_wide, row_too_large, field_too_large, too_deep,
    xlsx_bomb, too_many_rows, memory_guard); `reason` the one-line reason."""

    def __init__(self, reason: str, code: str = "unreadable"):
        super().__init__(reason)
        self.reason, self.code = reason, code


# -- opening: only regular files, within the size limit ---------------------------------------------

def open_regular(path: Path):
    """A binary file object for `path` if it is a regular file. The final component is not
    followed if it is a link and a pipe is not waited on (O_NOFOLLOW, O_NONBLOCK); fstat of what
    was opened decides, so a path swapped after the inbox scan is caught too."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Unreadable("a link, not a regular file", "not_a_file") from e
        raise Unreadable(f"cannot open: {e.strerror}") from e
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise Unreadable("not a regular file", "not_a_file")
    return os.fdopen(fd, "rb")


def _check_size(f, limits: Limits) -> int:
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        raise Unreadable("0-byte file", "empty")
    if size > limits.max_file_bytes:
        raise Unreadable(f"{size} bytes, more than the limit of {limits.max_file_bytes}", "too_large")
    return size


@dataclass
class Fingerprint:
    sha256: str
    bytes: int
    encoding: str | None  # for text formats: utf-8-sig, utf-8 or gb18030 (which reads GBK too)
    clean: bool = True  # no NUL byte and no BOM after the file's first bytes: nothing to repair


def fingerprint(path: Path, text: bool) -> Fingerprint:
    """SHA-256 of the bytes and, for CSV/JSON, a first guess at the encoding from the first
    megabyte: UTF-8 (BOM or not), else GB18030 (a superset of GBK, so one decoder serves both).
    A guess that the rest of the file contradicts is caught where the file is read. `clean` says
    whether a bulk loader may take the bytes as they are (no NUL, no BOM at a line start)."""
    digest = hashlib.sha256()
    size, head, tail, clean = 0, b"", b"", True
    with open_regular(path) as f:
        while chunk := f.read(CHUNK):
            if not head:
                head = chunk
            digest.update(chunk)
            size += len(chunk)
            if clean and text:
                window = tail + chunk
                clean = b"\x00" not in chunk and b"\n\xef\xbb\xbf" not in window
                tail = window[-3:]
    encoding = None
    if text:
        encoding = "gb18030"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        except UnicodeDecodeError:
            pass
    return Fingerprint(digest.hexdigest(), size, encoding, clean)


# -- encodings -----------------------------------------------------------------------------------

_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
              (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))
_UTF8_HANZI = re.compile(rb"(?:[\xe3-\xe9][\x80-\xbf][\x80-\xbf]){3}")  # three CJK characters in UTF-8


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16/UTF-32 by BOM, or by NUL bytes sitting between characters (no BOM)."""
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return name
    sample = head[:4096]
    if sample.count(0) * 8 >= len(sample) and len(sample) >= 16:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if max(even, odd) > 4 * min(even, odd) + 2:
            return "UTF-16"
    return None


def detect_encoding(path: Path, limits: Limits | None = None) -> str:
    """The encoding of the whole file: UTF-8 only if all of it is, else GB18030, else Unreadable
    (bad_encoding, naming where it broke). A file mixing UTF-8 and another encoding is refused
    rather than read as GB18030 garbage; UTF-16/32 and NUL bytes are named as such."""
    with open_regular(path) as f:
        return _detect(f, limits or current())


def _detect(f, limits: Limits) -> str:
    candidates = {"utf-8": codecs.getincrementaldecoder("utf-8")(),
                  "gb18030": codecs.getincrementaldecoder("gb18030")()}
    failed_at: dict[str, int] = {}
    offset, lines, head = 0, 0, b""
    _check_size(f, limits)
    f.seek(0)
    while chunk := f.read(CHUNK):
        if not head:
            head = chunk
            wide = _wide_encoding(head)
            if wide:
                raise Unreadable(f"{wide} is not one of {ENCODINGS}", "bad_encoding")
        if b"\x00" in chunk:
            at = chunk.index(b"\x00")
            line = lines + chunk.count(b"\n", 0, at) + 1
            raise Unreadable(f"contains NUL bytes (first at byte {offset + at}, line {line})")
        for name, decoder in list(candidates.items()):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                del candidates[name]
                failed_at[name] = offset + e.start
                # UTF-8 that held Chinese text up to here: the rest is another encoding, not GBK throughout
                if name == "utf-8" and (_UTF8_HANZI.search(chunk, 0, e.start) or offset and _UTF8_HANZI.search(head)):
                    line = lines + chunk.count(b"\n", 0, e.start) + 1
                    raise Unreadable(f"mixed encodings: UTF-8 text, then bytes that are not UTF-8 at byte "
                                     f"{offset + e.start} (line {line})", "bad_encoding") from None
        if not candidates:
            break
        offset += len(chunk)
        lines += chunk.count(b"\n")
    for name, decoder in list(candidates.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del candidates[name]
            failed_at[name] = offset
    if "utf-8" in candidates:
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if "gb18030" in candidates:
        return "gb18030"
    raise Unreadable(f"not text in {ENCODINGS} (no longer GB18030 at byte {failed_at.get('gb18030', 0)})",
                     "bad_encoding")


def _decode_error(f, encoding: str | None, where: str) -> Unreadable:
    """Text that the encoding in use cannot decode: the whole-file diagnosis names the byte and
    line (a text reader decodes ahead, so its own position is only roughly where it broke)."""
    try:
        found = detect_encoding(f) if isinstance(f, Path) else _detect(f, current())
    except Unreadable as e:
        if e.code == "bad_encoding":
            return e
        found = None
    name = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "gb18030": "GB18030"}.get(encoding or "", encoding)
    hint = f": the file reads as {found}" if found else ""
    return Unreadable(f"{where} is not valid {name}{hint}", "bad_encoding")


# -- the table -----------------------------------------------------------------------------------

@dataclass
class Table:
    header: list[str]
    rows: Iterator[list[str]]  # data records after the header, as text, possibly ragged
    # the Unreadable that stopped `rows`, kept for a consumer that loses the exception on the way
    # (psycopg2's COPY turns an error in read() into QueryCanceled carrying only its text)
    failure: Unreadable | None = None


@contextlib.contextmanager
def open_table(path: Path, fmt: str, encoding: str | None, limits: Limits | None = None):
    """Yield the file's Table. Errors while opening, and parse errors while its rows are read,
    become Unreadable; errors of the caller's own code pass through untouched."""
    limits = limits or current()
    opened = False
    try:
        with open_regular(path) as f:
            _check_size(f, limits)
            with _OPENERS[fmt](f, encoding, limits) as table:
                opened = True
                yield table
    except Unreadable:
        raise
    except UnicodeDecodeError as e:
        if opened:
            raise
        raise _decode_error(path, encoding, "the header") from e
    except (OSError, ValueError, KeyError, csv.Error, ijson.JSONError, EOFError, zipfile.BadZipFile) as e:
        if opened:
            raise
        raise Unreadable(f"cannot read {fmt}: {type(e).__name__}: {_first_line(e)}") from e


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else ""


def _header(cells: list[str], limits: Limits) -> list[str]:
    """Empty trailing header cells are not columns (Excel's used range, a trailing comma)."""
    width = len(cells)
    while width and not cells[width - 1].strip():
        width -= 1
    if width > limits.max_columns:
        raise Unreadable(f"header of {width} columns, more than the limit of {limits.max_columns}", "too_wide")
    return cells[:width]


def _field_too_large(limits: Limits, where: str) -> Unreadable:
    return Unreadable(f"{where}: a field of more than {limits.max_field_size} characters", "field_too_large")


def _table(header: list[str], rows, fmt: str, limits: Limits) -> Table:
    table = Table(header, iter(()))
    table.rows = _guarded(rows, fmt, limits, table)
    return table


def _guarded(rows, fmt: str, limits: Limits, table: Table):
    """Count the records against the row and memory limits and turn a parse error in the middle of
    a file into Unreadable, naming the record (also kept as table.failure)."""
    try:
        yield from _counted(rows, fmt, limits)
    except Unreadable as e:
        table.failure = e
        raise


def _counted(rows, fmt: str, limits: Limits):
    process = psutil.Process()
    baseline = process.memory_info().rss
    n = 0
    try:
        for n, row in enumerate(rows, 1):
            if n > limits.max_rows:
                raise Unreadable(f"more than {limits.max_rows} rows", "too_many_rows")
            if n % limits.memory_check_rows == 0 and process.memory_info().rss - baseline > limits.max_read_memory:
                raise Unreadable(f"reading grew memory by more than {limits.max_read_memory >> 20} MB "
                                 f"by data row {n}", "memory_guard")
            yield row
    except Unreadable:
        raise
    except UnicodeDecodeError as e:
        raise Unreadable(f"data after row {n} is not valid text in the file's encoding (mixed encodings?)",
                         "bad_encoding") from e
    except MemoryError as e:
        raise Unreadable(f"out of memory after data row {n}", "memory_guard") from e
    except Exception as e:  # noqa: BLE001 - any parser failure makes the file unreadable
        raise Unreadable(f"cannot read {fmt} after data row {n}: {type(e).__name__}: {_first_line(e)}") from e


# -- CSV -----------------------------------------------------------------------------------------

class _Lines:
    """The physical lines of a CSV for the csv module, each record's lines bounded in size (a file
    without line breaks is not read whole), NUL refused, and a BOM at a record's start removed
    (only the file's first bytes may carry one: concatenated files leave them in the middle)."""

    def __init__(self, text, encoding: str | None, limits: Limits):
        self.text, self.encoding, self.limits = text, encoding, limits
        self.line, self.used = 0, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        room = self.limits.max_row_size - self.used
        try:
            line = self.text.readline(room + 1)
        except UnicodeDecodeError as e:
            raise _decode_error(self.text.buffer, self.encoding, f"near line {self.line + 1}") from e
        if not line:
            raise StopIteration
        self.line += 1
        if len(line) > room:
            raise Unreadable(f"a record of more than {self.limits.max_row_size} characters at line {self.line}",
                             "row_too_large")
        if "\x00" in line:
            raise Unreadable(f"contains NUL bytes (line {self.line})")
        if not self.used and line[:1] == "\ufeff":
            line = line[1:]
        self.used += len(line)
        return line


@contextlib.contextmanager
def _csv(f, encoding: str | None, limits: Limits):
    csv.field_size_limit(limits.max_field_size)  # the module's one setting: set at every open
    text = io.TextIOWrapper(f, encoding=encoding, newline="")
    lines = _Lines(text, encoding, limits)
    reader = csv.reader(lines, strict=False)
    try:
        header = next(reader, None)
    except csv.Error as e:
        if "field limit" in str(e):
            raise _field_too_large(limits, "the header") from e
        raise
    if header is None:
        raise Unreadable("no header row", "empty")
    header = _header(header, limits)

    def records():
        n = 0
        while True:
            lines.used = 0
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                if "field limit" in str(e):
                    raise _field_too_large(limits, f"data row {n + 1}") from e
                raise
            n += 1
            yield row

    yield _table(header, records(), "csv", limits)


# -- typed cells (.xlsx, JSON) -------------------------------------------------------------------

def cell_text(value) -> str:
    """An .xlsx or JSON value as the text a CSV would have carried."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _checked_cells(cells: list[str], limits: Limits, n: int) -> list[str]:
    if cells and max(map(len, cells)) > limits.max_field_size:
        raise _field_too_large(limits, f"data row {n}")
    if "\x00" in "".join(cells):
        raise Unreadable(f"contains NUL characters (data row {n})")
    return cells


# -- .xlsx ---------------------------------------------------------------------------------------

def _check_zip(f, limits: Limits) -> None:
    """Sizes from the zip directory, before any XML is parsed. Python's zipfile (which openpyxl
    reads through) never inflates a member past its declared size, so the directory is binding."""
    try:
        members = zipfile.ZipFile(f).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise Unreadable(f"corrupt .xlsx: {type(e).__name__}: {_first_line(e)}") from e
    total = sum(m.file_size for m in members)
    if total > limits.max_xlsx_uncompressed:
        raise Unreadable(f"inflates to {total} bytes, more than the limit of {limits.max_xlsx_uncompressed}",
                         "xlsx_bomb")
    for m in members:
        if m.filename.endswith("sharedStrings.xml") and m.file_size > limits.max_xlsx_shared_strings:
            raise Unreadable(f"shared strings inflate to {m.file_size} bytes, more than the limit of "
                             f"{limits.max_xlsx_shared_strings}", "xlsx_bomb")
        if m.file_size > limits.xlsx_ratio_from and m.file_size > limits.max_xlsx_ratio * max(m.compress_size, 1):
            raise Unreadable(f"{m.filename} inflates {m.file_size // max(m.compress_size, 1)} times, more than "
                             f"{limits.max_xlsx_ratio}", "xlsx_bomb")
    f.seek(0)


@contextlib.contextmanager
def _xlsx(f, _encoding, limits: Limits):
    _check_zip(f, limits)
    try:
        workbook = xlsx.Workbook(f)
    except Exception as e:  # noqa: BLE001 - zip, XML and openpyxl errors all mean a corrupt workbook
        raise Unreadable(f"corrupt .xlsx: {type(e).__name__}: {_first_line(e)}") from e
    try:
        if workbook.sheet is None:
            raise Unreadable("workbook has no sheet", "empty")
        # rows as stored, not padded to the sheet's declared used range (which may say 16,384 columns)
        rows = workbook.rows()
        try:
            first = next(rows, None)
        except Exception as e:  # noqa: BLE001 - the sheet's XML broken before its first row ends
            raise Unreadable(f"corrupt .xlsx: {type(e).__name__}: {_first_line(e)}") from e
        if first is None:
            raise Unreadable("no header row", "empty")
        header = _header([cell_text(v) for v in first], limits)
        width = len(header)

        def cells(rows):
            for n, row in enumerate(rows, 1):
                # a sheet stores no trailing empty cells: a short row is not a ragged one
                if len(row) > width and not any(v is not None and v != "" for v in row[width:]):
                    row = row[:width]
                values = [cell_text(v) for v in row]
                if len(values) < width:
                    values += [""] * (width - len(values))
                yield _checked_cells(values, limits, n)

        yield _table(header, cells(rows), "xlsx", limits)
    finally:
        workbook.close()


# -- JSON ----------------------------------------------------------------------------------------

_OUTSIDE_STRINGS = re.compile(rb'(?:[^"]++|"(?:[^"\\]++|\\.)*+")*+', re.S)  # whole strings and what lies between
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+', re.S)
_BARE = bytes(b for b in range(256) if b not in b' \t\r\n[]{},:"')  # bytes of numbers and literals


class _JsonBytes:
    """UTF-8 bytes of a JSON text for ijson, cut only where no token is open.

    yajl re-reads a token that spans two reads from its start at every read, so a long string fed
    in 64 KB pieces costs quadratic time (50 MB: ~200 s). Here every piece ends outside strings and
    numbers: each byte is scanned a bounded number of times (one regular-expression pass), and a
    string or bare token longer than the field limit is refused as soon as it is seen. A UTF-8
    file is passed through as bytes; another encoding is decoded and re-encoded."""

    def __init__(self, f, encoding: str | None, limits: Limits):
        self.limit = limits.max_field_size
        f.seek(0)
        if encoding in ("utf-8", "utf-8-sig", None):
            if f.read(3) != codecs.BOM_UTF8:
                f.seek(0)
            self._source, self._decoded = f, None
        else:
            self._source = self._decoded = io.TextIOWrapper(f, encoding=encoding, newline="")

    def close(self) -> None:
        if self._decoded is not None:
            self._decoded.detach()  # the binary file stays open for the next pass

    def _read(self, size: int) -> bytes:
        if self._decoded is None:
            return self._source.read(size)
        try:
            return self._decoded.read(size).encode("utf-8")
        except UnicodeDecodeError as e:
            raise Unreadable(f"not valid {self._decoded.encoding} text (mixed encodings?)", "bad_encoding") from e

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        size = size if size > 0 else 1 << 16
        buf = bytearray(self._read(size))
        pos = 0
        while True:
            pos = _OUTSIDE_STRINGS.match(buf, pos).end()
            if pos == len(buf):
                tail = buf[-(self.limit + 1):]
                open_token = len(tail) - len(tail.rstrip(_BARE))
                if open_token > self.limit:
                    raise Unreadable(f"a JSON number or literal of more than {self.limit} bytes", "field_too_large")
                if not open_token or not self._more(buf, size):
                    return bytes(buf)
                continue
            start, inner = pos, pos + 1  # buf[pos] opens a string that is not closed yet
            while True:
                inner = _STRING_REST.match(buf, inner).end()
                if inner < len(buf) and buf[inner] == 0x22:
                    pos = inner + 1
                    break
                if len(buf) - start > self.limit + 2:
                    raise Unreadable(f"a JSON string of more than {self.limit} bytes", "field_too_large")
                if not self._more(buf, size):
                    return bytes(buf)  # ends inside a string: ijson says the JSON is incomplete

    def _more(self, buf: bytearray, size: int) -> bool:
        more = self._read(size)
        buf += more
        return bool(more)


_OPEN, _CLOSE = {"start_map", "start_array"}, {"end_map", "end_array"}


def _json_keys(events, limits: Limits) -> list[str]:
    """The first pass, on parser events alone: the shape (an array of objects), the depth, each
    string's size and the columns (every key of an object), before anything is built."""
    limit = limits.max_field_size
    first = next(events, None)
    if first is None or first[0] != "start_array":
        raise Unreadable("JSON must be an array of objects")
    keys: dict[str, None] = {}
    depth, n, values = 1, 0, 0
    for event, value in events:
        values += 1
        if event == "map_key":
            if depth == 2:
                keys[value] = None
                if len(keys) > limits.max_columns:
                    raise Unreadable(f"objects with more than {limits.max_columns} keys in all", "too_wide")
        elif event in _OPEN:
            depth += 1
            if depth == 2:
                n, values = n + 1, 0
                if event != "start_map":
                    raise Unreadable(f"JSON item {n} is not an object")
                continue
            if depth > limits.max_json_depth:
                raise Unreadable(f"JSON nested more than {limits.max_json_depth} deep (item {n})", "too_deep")
            continue
        elif event in _CLOSE:
            depth -= 1
            if depth == 0:
                return list(keys)
            continue
        elif depth == 1:
            raise Unreadable(f"JSON item {n + 1} is not an object")
        if values > limits.max_item_values:
            raise Unreadable(f"JSON item {n} holds more than {limits.max_item_values} values", "row_too_large")
        if isinstance(value, str):
            if len(value) > limit:
                raise _field_too_large(limits, f"JSON item {n}")
            if "\x00" in value:
                raise Unreadable(f"contains NUL characters (JSON item {n})")
    raise Unreadable("JSON array is not closed")


@contextlib.contextmanager
def _json(f, encoding: str | None, limits: Limits):
    """An array of objects, in two streaming passes. The first checks every guard on parser events
    and finds the columns (every key any object has); only then does the second build the objects
    (in ijson's C builder), one at a time, from the same open file, unchanged since."""
    before = os.fstat(f.fileno())
    source = _JsonBytes(f, encoding, limits)
    try:
        header = _json_keys(ijson.basic_parse(source, buf_size=1 << 16), limits)
    except ijson.JSONError as e:
        raise Unreadable(f"not valid JSON: {_first_line(e)}") from e
    finally:
        source.close()

    def rows():
        now = os.fstat(f.fileno())
        if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise Unreadable("the file changed while it was read")
        again = _JsonBytes(f, encoding, limits)
        try:
            for item in ijson.items(again, "item", buf_size=1 << 16):
                yield [cell_text(item.get(k)) for k in header]
        finally:
            again.close()

    yield _table(header, rows(), "json", limits)


_OPENERS = {"csv": _csv, "xlsx": _xlsx, "json": _json}
