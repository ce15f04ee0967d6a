"""Read a delivered file as a header and a stream of text rows: CSV, .xlsx or JSON.

Nothing here holds a whole file in memory: CSV and JSON are parsed as they are read and
.xlsx through openpyxl's read-only mode. Whatever makes a file unreadable raises Unreadable
with a one-line reason.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ijson
import openpyxl

CHUNK = 1 << 20


class Unreadable(Exception):
    """The file as a whole cannot be read (corrupt, wrong encoding, not the declared format)."""


@dataclass
class Fingerprint:
    sha256: str
    bytes: int
    encoding: str | None  # for text formats: utf-8-sig, utf-8 or gb18030 (which reads GBK too)


def fingerprint(path: Path, text: bool) -> Fingerprint:
    """SHA-256 of the bytes and, for CSV/JSON, a first guess at the encoding from the first
    megabyte: UTF-8 (BOM or not), else GB18030 (a superset of GBK, so one decoder serves both).
    A guess that the rest of the file contradicts is caught where the file is read."""
    digest = hashlib.sha256()
    size, head = 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if not head:
                head = chunk
            digest.update(chunk)
            size += len(chunk)
    encoding = None
    if text:
        encoding = "gb18030"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        except UnicodeDecodeError:
            pass
    return Fingerprint(digest.hexdigest(), size, encoding)


def detect_encoding(path: Path) -> str:
    """The encoding of the whole file: UTF-8 only if all of it is, else GB18030, else Unreadable."""
    candidates = {"utf-8": codecs.getincrementaldecoder("utf-8")(), "gb18030": codecs.getincrementaldecoder("gb18030")()}
    head = b""
    with open(path, "rb") as f:
        while (chunk := f.read(CHUNK)) and candidates:
            head = head or chunk[:3]
            for name, decoder in list(candidates.items()):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    del candidates[name]
    for name, decoder in list(candidates.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del candidates[name]
    if "utf-8" in candidates:
        return "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
    if "gb18030" in candidates:
        return "gb18030"
    raise Unreadable("not text in UTF-8, GBK or GB18030")


@dataclass
class Table:
    header: list[str]
    rows: Iterator[list[str]]  # data records after the header, as text, possibly ragged


@contextlib.contextmanager
def open_table(path: Path, fmt: str, encoding: str | None):
    """Yield the file's Table. Errors while opening, and parse errors while its rows are read,
    become Unreadable; errors of the caller's own code pass through untouched."""
    opened = False
    try:
        with _OPENERS[fmt](path, encoding) as table:
            opened = True
            yield table
    except (OSError, ValueError, KeyError, csv.Error, ijson.JSONError, EOFError) as e:
        if opened:
            raise
        raise Unreadable(f"cannot read {fmt}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e


@contextlib.contextmanager
def _csv(path: Path, encoding: str | None):
    csv.field_size_limit(1 << 24)  # a long 违法事实 is data, not corruption
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, strict=False)
        header = next(reader, None)
        if header is None:
            raise Unreadable("empty file: no header row")
        yield Table(header, _guarded(reader, "csv"))


def _guarded(rows, fmt):
    """Turn a parse error in the middle of a file into Unreadable, naming the record."""
    n = 0
    try:
        for n, row in enumerate(rows, 1):
            yield row
    except Unreadable:
        raise
    except Exception as e:  # noqa: BLE001 - any parser failure makes the file unreadable
        raise Unreadable(f"cannot read {fmt} after data row {n}: {type(e).__name__}: {e}") from e


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


@contextlib.contextmanager
def _xlsx(path: Path, _encoding):
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - zip, XML and openpyxl errors all mean a corrupt workbook
        raise Unreadable(f"corrupt .xlsx: {type(e).__name__}: {e}") from e
    try:
        if not workbook.worksheets:
            raise Unreadable("workbook has no sheet")
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise Unreadable("empty file: no header row")
        header = [cell_text(v) for v in first]
        while header and not header[-1].strip():
            header.pop()
        width = len(header)

        def padded(row):
            # a sheet stores no trailing empty cells: a short row is not a ragged one
            cells = [cell_text(v) for v in row]
            return cells + [""] * (width - len(cells)) if len(cells) < width else cells

        yield Table(header, _guarded((padded(row) for row in rows), "xlsx"))
    finally:
        workbook.close()


class _Utf8(object):
    """ijson reads bytes; re-encode a decoded text stream (GBK JSON is still JSON)."""

    def __init__(self, text):
        self._text = text

    def read(self, size=-1):
        return self._text.read(size).encode("utf-8")


@contextlib.contextmanager
def _json(path: Path, encoding: str | None):
    """An array of objects. Two streaming passes: the columns are every key any object has."""
    def items(f):
        for n, item in enumerate(ijson.items(_Utf8(f), "item"), 1):
            if not isinstance(item, dict):
                raise Unreadable(f"JSON item {n} is not an object")
            yield item

    with open(path, encoding=encoding) as f:
        first = next(ijson.basic_parse(_Utf8(f)), None)
        if first is None or first[0] != "start_array":
            raise Unreadable("JSON must be an array of objects")
        f.seek(0)
        keys: dict[str, None] = {}
        for item in items(f):
            keys.update(dict.fromkeys(item))
    header = list(keys)

    def rows():
        with open(path, encoding=encoding) as f:
            for item in items(f):
                yield [cell_text(item.get(k)) for k in header]

    yield Table(header, _guarded(rows(), "json"))


_OPENERS = {"csv": _csv, "xlsx": _xlsx, "json": _json}
