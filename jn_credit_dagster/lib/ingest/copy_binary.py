"""A Polars frame as one payload of PostgreSQL's binary COPY: typed values go in as they are.

The server then parses neither CSV nor any date, number or array: measured on the bench's
penalty file, a third less of its CPU per row than COPY (FORMAT csv) of the same rows, and the
server's COPY is the longest stage of a load. The rows are assembled by Arrow's kernels and numpy
(no Python per row). `encode` is given each column's PostgreSQL type as format_type names it; a
value the binary form cannot carry exactly as the text form would (an integer outside the
column's range, a decimal that is not plain digits, a type not known here) raises
NotEncodable, and the caller sends that frame as CSV, which the server reads as it always has.

Wire format (PostgreSQL's documentation, "COPY — Binary Format"): a signature and two zero
words, per row a 16-bit field count and per field a 32-bit length (-1: NULL) and the value in the
type's send/recv form, then a 16-bit -1.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
TRAILER = b"\xff\xff"
TEXT_OID = 25  # an array's element type, which array_recv checks against the column's
POSTGRES_EPOCH_DAYS = 10957  # 2000-01-01, day 0 of PostgreSQL's date, counted from 1970-01-01
NUMERIC_NEG = 0x4000
_INTEGERS = {"smallint": ">i2", "integer": ">i4", "bigint": ">i8"}
TYPES = {"text", "date", "jsonb", "numeric", "text[]", *_INTEGERS}
_NOTHING = pa.scalar(b"", pa.large_binary())  # the separator of Arrow's joins
_JSONB_VERSION = pa.scalar(b"\x01", pa.large_binary())
_POWERS = np.array([1, 10, 100, 1000])


class NotEncodable(ValueError):
    """The frame has a column or value the binary form would not carry as COPY's text form does."""


class Payload:
    """A complete binary COPY payload as a file for psycopg2's copy_expert: the signature, the rows'
    buffer as Arrow's join left it, and the trailer, read a piece at a time (never joined into one
    more copy of the rows: a megabyte-sized read copies its piece once, as a BytesIO read would)."""

    def __init__(self, rows: memoryview):
        self._pieces = [memoryview(HEADER), rows, memoryview(TRAILER)]
        self._at = 0  # the read position within the first piece left

    def read(self, size: int = -1) -> bytes:
        while self._pieces and self._at == len(self._pieces[0]):
            self._pieces.pop(0)
            self._at = 0
        if not self._pieces:
            return b""
        piece, start = self._pieces[0], self._at
        self._at = len(piece) if size < 0 else min(len(piece), start + size)
        return bytes(piece[start:self._at])

    def __bytes__(self) -> bytes:
        return b"".join(self._pieces)


def encode(frame: pl.DataFrame, types: list[str]) -> Payload:
    """The frame's rows, its columns in order, as a complete binary COPY payload."""
    if len(types) != frame.width:
        raise NotEncodable("a type for every column")
    n = frame.height
    fields = [_binary(np.full(n, 2), np.full(n, frame.width, ">i2").view(np.uint8))]
    for column, kind in zip(frame.iter_columns(), types):
        fields += _fields(column, kind)
    rows = pc.binary_join_element_wise(*fields, _NOTHING)
    offsets = _offsets(rows)
    return Payload(memoryview(rows.buffers()[2])[offsets[0]:offsets[-1]])


def _fields(column: pl.Series, kind: str) -> list[pa.Array]:
    """The column's fields as arrays whose concatenation, row by row, is each row's field."""
    if kind not in TYPES:
        raise NotEncodable(f"no binary form for {kind}")
    n = len(column)
    if column.dtype == pl.Null:
        return [_binary(np.full(n, 4), np.full(n, -1, ">i4").view(np.uint8))]
    if kind in ("text", "jsonb"):
        if column.dtype != pl.String:
            raise NotEncodable(f"{kind} from {column.dtype}")
        value = _arrow(column).cast(pa.large_binary())
        if kind == "jsonb":  # jsonb_recv: a version byte, then the JSON text
            value = pc.binary_join_element_wise(_JSONB_VERSION, value, _NOTHING)
        return _sized(value)
    if kind == "date":
        if column.dtype != pl.Date:
            raise NotEncodable(f"date from {column.dtype}")
        array = _arrow(column)
        days = np.frombuffer(array.buffers()[1], np.int32, n, array.offset * 4) - np.int32(POSTGRES_EPOCH_DAYS)
        return [_fixed(days.astype(">i4").view(np.uint8).reshape(n, 4), _valid(array))]
    if kind in _INTEGERS:
        if not column.dtype.is_integer():
            raise NotEncodable(f"{kind} from {column.dtype}")
        wire = np.dtype(_INTEGERS[kind])
        limits = np.iinfo(wire)
        low, high = column.min(), column.max()
        if low is not None and (low < limits.min or high > limits.max):
            raise NotEncodable(f"a value outside {kind}")
        values = column.fill_null(0).to_numpy().astype(wire)
        return [_fixed(values.view(np.uint8).reshape(n, wire.itemsize), _valid(_arrow(column)))]
    if kind == "numeric":
        return [_fixed(*_numeric(column))]
    return _sized(_text_array(column))  # text[]


def _arrow(column: pl.Series) -> pa.Array:
    array = column.to_arrow(compat_level=pl.CompatLevel.oldest())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _offsets(array: pa.Array) -> np.ndarray:
    """The int64 offsets of a large string, binary or list array (its slice of them)."""
    return np.frombuffer(array.buffers()[1], np.int64, len(array) + 1, array.offset * 8)


def _valid(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.ones(len(array), bool)
    return array.is_valid().to_numpy(zero_copy_only=False)


def _binary(lengths: np.ndarray, data: np.ndarray) -> pa.Array:
    """A large_binary array of consecutive values of these byte lengths (no nulls)."""
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _fixed(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Fields of same-width values (a row of bytes each): the width and the value, or -1 for NULL."""
    n, width = values.shape
    rows = np.empty((n, 4 + width), np.uint8)
    rows[:, :4] = np.array([width], ">i4").view(np.uint8)
    rows[:, 4:] = values
    if valid.all():
        return _binary(np.full(n, 4 + width), rows.reshape(-1))
    rows[~valid, :4] = 0xFF
    keep = np.ones((n, 4 + width), bool)
    keep[~valid, 4:] = False
    return _binary(np.where(valid, 4 + width, 4), rows[keep])


def _sized(value: pa.Array) -> list[pa.Array]:
    """A variable-length value's fields (large_binary): its byte length (-1 for NULL), then itself."""
    lengths = np.diff(_offsets(value))
    if value.null_count:
        lengths = np.where(_valid(value), lengths, -1)
        value = value.fill_null(b"")
    return [_binary(np.full(len(value), 4), lengths.astype(">i4").view(np.uint8)), value]


def _numeric(column: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """numeric_recv's form of decimal text (as rows of bytes, and which rows are not NULL): digit
    count, weight, sign and display scale (16 bits each), then base-10000 digits. The text is
    jn.to_decimal's: an optional sign, digits, and a dot followed by digits or nothing, as checked
    here. Its scale is the text's fractional digits, as numeric_in takes it; each base-10000 digit
    is summed from the text's own digits, as many for every row (leading zero digits are the
    server's to strip, as it does for text's)."""
    if column.dtype != pl.String:
        raise NotEncodable(f"numeric from {column.dtype}")
    n = len(column)
    array = _arrow(column.fill_null("0"))
    offsets = _offsets(array)
    lengths = np.diff(offsets)
    data = np.frombuffer(array.buffers()[2], np.uint8)[offsets[0]:offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    row = np.repeat(np.arange(n), lengths)
    at = np.arange(len(data)) - starts[row]  # each byte's place in its text
    digit = data.astype(np.int64) - 48
    is_digit = (digit >= 0) & (digit <= 9)
    is_dot, is_sign = data == ord("."), (data == ord("+")) | (data == ord("-"))
    dots = np.bincount(row[is_dot], minlength=n)
    ends = starts + lengths - 1
    if n and (not (is_digit | is_dot | (is_sign & (at == 0))).all() or (dots > 1).any() or (lengths < 1).any()
              or not is_digit[ends].all() or (at[is_dot] == 0).any() or not is_digit[np.flatnonzero(is_dot) - 1].all()):
        raise NotEncodable("numeric text that is not plain digits")
    dot = lengths.copy()
    dot[row[is_dot]] = at[is_dot]
    dscale = np.where(dot < lengths, lengths - dot - 1, 0)
    scale = -(-dscale // 4) * 4  # the fraction in whole base-10000 digits
    row_dot = dot[row]
    exponent = np.where(at < row_dot, row_dot - at - 1, row_dot - at) + scale[row]  # of each digit, scaled
    counted = is_digit & (digit > 0)  # zeros add nothing
    # each digit adds to its base-10000 digit, counted from the scaled value's last
    group, within = exponent[counted] // 4, exponent[counted] % 4
    ndigits = int(group.max(initial=0)) + 1
    sums = np.bincount(row[counted] * ndigits + (ndigits - 1 - group),  # exact: each sum is at most 9999
                       weights=digit[counted] * _POWERS[within], minlength=n * ndigits)
    head = np.empty((n, 4 + ndigits), ">i2")
    head[:, 0] = ndigits
    head[:, 1] = ndigits - 1 - scale // 4
    head[:, 2] = np.where(data[starts] == ord("-"), NUMERIC_NEG, 0) if n else 0
    head[:, 3] = dscale
    head[:, 4:] = sums.reshape(n, ndigits)
    return head.view(np.uint8).reshape(n, -1), column.is_not_null().to_numpy()


def _text_array(column: pl.Series) -> pa.Array:
    """array_recv's form of a one-dimensional text[]: dimensions, a has-NULLs flag, the element
    type, then per dimension its length and lower bound (1), then each element as a field.
    An empty list is the empty array (no dimensions), as '{}' is."""
    if column.dtype != pl.List(pl.String):
        raise NotEncodable(f"text[] from {column.dtype}")
    lists = _arrow(column)
    elements = lists.flatten()  # the values of the non-NULL lists
    if elements.null_count:
        raise NotEncodable("an array with NULL elements")
    counts = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    items = pc.binary_join_element_wise(*_sized(elements.cast(pa.large_binary())), _NOTHING)
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), items), _NOTHING)
    head = np.zeros((len(counts), 5), ">i4")
    head[:, 0] = counts > 0
    head[:, 2] = TEXT_OID
    head[:, 3] = counts
    head[:, 4] = 1
    kept = np.ones((len(counts), 20), bool)
    kept[counts == 0, 12:] = False  # no dimension to describe
    heads = _binary(np.where(counts > 0, 20, 12), head.view(np.uint8).reshape(len(counts), 20)[kept])
    value = pc.binary_join_element_wise(heads, joined, _NOTHING)
    if lists.null_count:
        value = pc.if_else(lists.is_valid(), value, pa.scalar(None, pa.large_binary()))
    return value
