"""Binary COPY stores exactly what COPY (FORMAT csv) of the same frame stores: every type the
feeds use, the values at their edges, and every feed's rule cases through the loader."""

import datetime as dt

import polars as pl
import pytest
from psycopg2 import sql

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest import copy_binary
from jn_credit_dagster.lib.ingest.loader import csv_payload
from test_feed_rules import CASES, _rows

TYPES = {"t": "text", "d": "date", "i4": "integer", "i8": "bigint", "n": "numeric", "arr": "text[]", "j": "jsonb"}
EDGES = pl.DataFrame({
    "t": ["a", "", None, '济宁"x\\y,z\n\r\t', "\\.", "NULL", " 　 "],
    "d": [dt.date(2099, 12, 1), dt.date(1970, 1, 1), None, dt.date(1, 1, 1), dt.date(9999, 12, 31),
          dt.date(1999, 12, 31), dt.date(2000, 1, 1)],
    "i4": pl.Series([1, -2147483648, None, 2147483647, 0, -1, 65536], dtype=pl.Int64),
    "i8": pl.Series([1, -9223372036854775807, None, 9223372036854775807, 0, -1, 1 << 40], dtype=pl.Int64),
    "n": ["0.2", "-0.00", None, "+007.50", "-12345678901234.5678", "100000000", "0.000000000000000001"],
    "arr": [["警告", "罚款"], [], None, ['a"b', "c\\d", "", "{x}", "NULL", " "], ["x"], ["a,b"], ["}{"]],
    "j": ['{"a": 1}', None, '{"济": "宁", "b": [1, 2.50]}', "[]", '"x"', "null", '{"k": "\\"q\\""}'],
})


def _stored(cur, table: str) -> list[str]:
    """Each row as PostgreSQL renders it (numeric scale, array quoting and all)."""
    cur.execute(sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(table)))
    return [r[0] for r in cur.fetchall()]


def _both_ways(db, frame: pl.DataFrame, types: dict[str, str]) -> tuple[list[str], list[str]]:
    columns = sql.SQL(", ").join(sql.SQL("{} " + types[c]).format(sql.Identifier(c)) for c in frame.columns)
    with database.transaction(db) as cur:
        for name in ("by_binary", "by_csv"):
            cur.execute(sql.SQL("CREATE TEMP TABLE {} ({})").format(sql.Identifier(name), columns))
        cur.copy_expert("COPY by_binary FROM STDIN WITH (FORMAT binary)",
                        copy_binary.encode(frame, [types[c] for c in frame.columns]))
        cur.copy_expert("COPY by_csv FROM STDIN WITH (FORMAT csv)", csv_payload(frame))
        stored = _stored(cur, "by_binary"), _stored(cur, "by_csv")
        cur.execute("DROP TABLE by_binary, by_csv")
    return stored


def test_every_type_at_its_edges(db):
    binary, text = _both_ways(db, EDGES, TYPES)
    assert len(binary) == EDGES.height
    assert binary == text


def test_a_slice_of_a_frame(db):
    """Arrow arrays that start inside their buffers (a slice) are read from where they start."""
    sliced = pl.concat([EDGES, EDGES.reverse()], rechunk=True).slice(3, 8)
    binary, text = _both_ways(db, sliced, TYPES)
    assert len(binary) == 8
    assert binary == text


def test_decimals_of_every_shape(db):
    values = ["0", "-0", "+0", "00012", "1.5", "-1.50", "123.4567", "99999999.9999", "0.0001", "10000",
              "-999999999999999999", "1.000000000000000000", "000000000000000000000000001.25",
              "123456789012345678901234567890.123456", "-0.000000000000000000000000000000000001", None]
    frame = pl.DataFrame({"n": values})
    binary, text = _both_ways(db, frame, {"n": "numeric"})
    assert binary == text


@pytest.mark.parametrize("size", [1, 7, 1 << 20, -1])
def test_the_payload_reads_whole_at_any_read_size(size):
    """The signature, the rows and the trailer come out whole and in order, however they are read."""
    whole = bytes(copy_binary.encode(EDGES, list(TYPES.values())))
    assert whole.startswith(copy_binary.HEADER) and whole.endswith(copy_binary.TRAILER)
    payload, read = copy_binary.encode(EDGES, list(TYPES.values())), []
    while piece := payload.read(size):
        assert isinstance(piece, bytes) and (size < 0 or len(piece) <= size)
        read.append(piece)
    assert b"".join(read) == whole and payload.read(size) == b""


@pytest.mark.parametrize("frame, types", [
    (pl.DataFrame({"i4": pl.Series([2147483648], dtype=pl.Int64)}), ["integer"]),
    (pl.DataFrame({"n": ["1.5e3"]}), ["numeric"]),
    (pl.DataFrame({"n": [".5"]}), ["numeric"]),
    (pl.DataFrame({"n": ["5."]}), ["numeric"]),
    (pl.DataFrame({"n": ["+-5"]}), ["numeric"]),
    (pl.DataFrame({"arr": [["a", None]]}), ["text[]"]),
    (pl.DataFrame({"t": ["a"]}), ["numeric(10,2)"]),
    (pl.DataFrame({"d": ["2020-01-01"]}), ["date"]),
])
def test_what_binary_would_not_carry_is_refused(frame, types):
    with pytest.raises(copy_binary.NotEncodable):
        copy_binary.encode(frame, types)


@pytest.mark.parametrize("good_last", [False, True], ids=["every case", "a broken row, then the good one"])
@pytest.mark.parametrize("feed", sorted(CASES))
def test_the_loader_stores_the_same_either_way(feed, good_last, deliver, ingest, query, monkeypatch):
    """A broken row, then the good one: the accepted row is a slice of the frame starting inside it."""
    case_file = CASES[feed]
    rows = _rows(case_file)
    deliver(case_file["unit"], case_file["month"], f"{feed}.{case_file['delivery'].replace('-', '')}.csv",
            [rows[1], rows[0]] if good_last else rows)

    def stored():
        return [query(sql.SQL("SELECT t::text FROM {} t ORDER BY row_no").format(sql.Identifier(schema, feed)))
                for schema in ("raw", "quarantine")]

    encoded, encode = [], copy_binary.encode

    def counted(frame, types):
        payload = encode(frame, types)
        encoded.append(frame.height)
        return payload
    monkeypatch.setattr(copy_binary, "encode", counted)
    ingest(feed, case_file["month"])
    binary = stored()
    assert binary[0] and sum(encoded) == len(binary[0]) + len(binary[1]), "every row went in binary"

    def refuse(frame, types):
        raise copy_binary.NotEncodable("the CSV path, for comparison")
    monkeypatch.setattr(copy_binary, "encode", refuse)
    ingest(feed, case_file["month"])
    assert stored() == binary
