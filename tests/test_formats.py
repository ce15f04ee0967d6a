"""Every delivery format of FEEDS.md reaches the same rows: CSV in UTF-8 (with and without
BOM), GBK and GB18030, .xlsx written by openpyxl (date and number cells), JSON; tolerated
headers, quoting, extra columns, blank and ragged rows."""

import datetime as dt
from decimal import Decimal
import hashlib
import io
import json

import openpyxl
import pytest

from jn_credit_dagster.lib.ingest import readers
from jn_credit_dagster.lib.ingest.frames import CarefulPathNeeded, _transcode
from jn_credit_dagster.lib.ingest.readers import CHUNK

ROWS = [
    {"统一社会信用代码": "91370811MA3C5K7X06", "主体名称": "济宁市任城区鑫源商贸有限公司", "主体类型": "企业",
     "法定代表人": "张伟", "成立日期": "2015-03-02", "登记状态": "存续", "注销日期": "", "所属区县": "370811"},
    {"统一社会信用代码": "92370811MA3D9W1E2A", "主体名称": "任城区张伟日用品店，\"老店\"\n分店", "主体类型": "个体工商户",
     "法定代表人": "张伟", "成立日期": "20180706", "登记状态": "注销", "注销日期": "2020/07/01", "所属区县": "370811"},
]


def _registry(query):
    return query("SELECT uscc, subject_name, established_on, deregistered_on, registration_status FROM raw.registry "
                 "ORDER BY row_no")


EXPECTED = [
    ("91370811MA3C5K7X06", "济宁市任城区鑫源商贸有限公司", dt.date(2015, 3, 2), None, "存续"),
    ("92370811MA3D9W1E2A", "任城区张伟日用品店，\"老店\"\n分店", dt.date(2018, 7, 6), dt.date(2020, 7, 1), "注销"),
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(encoding, deliver, ingest, query):
    deliver("amr", "2020-08", "registry.20200820.csv", ROWS, encoding=encoding)
    result = ingest("registry", "2020-08")
    assert (result.accepted, result.quarantined) == (2, 0)
    assert _registry(query) == EXPECTED
    assert result.files[0].encoding == {"gbk": "gb18030"}.get(encoding, encoding)


def test_gb18030_only_characters(deliver, ingest, query):
    """A character outside GBK (a rare given name) survives a GB18030 file."""
    rows = [dict(ROWS[0], 法定代表人="王𠀋")]
    deliver("amr", "2020-08", "registry.20200820.csv", rows, encoding="gb18030")
    ingest("registry", "2020-08")
    assert query("SELECT legal_rep FROM raw.registry") == [("王𠀋",)]


def test_xlsx_with_typed_cells(inbox, ingest, query):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(ROWS[0]) + [None, None])  # trailing empty header cells, as Excel leaves them
    sheet.append(["91370811MA3C5K7X06", "济宁市任城区鑫源商贸有限公司", "企业", "张伟", dt.datetime(2015, 3, 2), "存续",
                  None, 370811])
    sheet.append([None] * 8)  # an empty row is not a record
    sheet.append(["92370811MA3D9W1E2A", ROWS[1]["主体名称"], "个体工商户", "张伟", dt.date(2018, 7, 6), "注销",
                  "2020/07/01", "370811"])
    path = inbox / "amr" / "2020-08" / "registry.20200820.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    result = ingest("registry", "2020-08")
    assert (result.accepted, result.quarantined) == (2, 0)
    assert _registry(query) == EXPECTED
    assert [r[0] for r in query("SELECT row_no FROM raw.registry ORDER BY row_no")] == [1, 3]


def test_json_array_of_objects(inbox, ingest, query):
    rows = [dict(ROWS[0]), {k: v for k, v in ROWS[1].items() if k != "注销日期"} | {"注销日期": "2020/07/01", "备注": "新增"}]
    del rows[0]["法定代表人"]  # a key an object leaves out is empty
    path = inbox / "amr" / "2020-08" / "registry.20200820.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    result = ingest("registry", "2020-08")
    assert (result.accepted, result.quarantined) == (2, 0)
    assert _registry(query) == EXPECTED
    assert query("SELECT legal_rep, extra FROM raw.registry ORDER BY row_no") == [(None, None), ("张伟", {"备注": "新增"})]


def test_tolerated_headers_and_extra_columns(deliver, ingest, query):
    rows = [{f" {k} ": v for k, v in ROWS[0].items()} | {"内部编号": "A-17"}]
    header = list(rows[0])
    deliver("amr", "2020-08", "registry.20200820.csv", rows, header=header)
    result = ingest("registry", "2020-08")
    assert result.accepted == 1
    assert query("SELECT extra FROM raw.registry") == [({"内部编号": "A-17"},)]


def test_full_width_brackets_in_headers(deliver, ingest, query):
    row = {"户号": "100001", "户名": "济宁市任城区鑫源商贸有限公司", "统一社会信用代码": "91370811MA3C5K7X06", "账期": "2020-07",
           "应缴金额(元)": "1,200.50", "实缴金额(元)": "1,000.50", "欠费金额(元)": "200", "连续欠费月数": "1"}
    deliver("water", "2020-08", "water_bill.20200805.csv", [row])
    result = ingest("water_bill", "2020-08")
    assert result.accepted == 1, result.reasons
    assert query("SELECT billing_month, amount_due FROM raw.water_bill") == [(dt.date(2020, 7, 1), Decimal("1200.50"))]


def test_ragged_and_blank_rows_are_kept(inbox, ingest, query):
    path = inbox / "amr" / "2020-08" / "registry.20200820.csv"
    path.parent.mkdir(parents=True)
    good = ",".join(f'"{v}"' for v in ROWS[0].values())
    path.write_text(",".join(ROWS[0]) + "\n" + good + "\n\n" + good.replace("MA3C5K7X06", "MA3C5K7X06") + ",x,y\n"
                    + "91370811MA3C5K7X06,缺列\n", encoding="utf-8")
    result = ingest("registry", "2020-08")
    assert (result.accepted, result.quarantined) == (1, 2)
    rows = query("SELECT row_no, reasons, malformed FROM quarantine.registry ORDER BY row_no")
    assert rows == [
        (3, ["malformed_row"], {"fields": 10, "expected": 8, "overflow": ["x", "y"]}),
        (4, ["malformed_row"], {"fields": 2, "expected": 8, "overflow": []}),
    ]
    assert query("SELECT uscc, subject_name FROM quarantine.registry WHERE row_no = 4") == [("91370811MA3C5K7X06", "缺列")]


def test_gbk_decodes_as_gb18030_wherever_it_decodes():
    """The transcoder tries GBK first on GB18030 text (lib/ingest/frames.py): sound only because
    every one- and two-byte sequence GBK accepts means the same character in GB18030."""
    sequences = [bytes([b]) for b in range(256)]
    sequences += [bytes([lead, trail]) for lead in range(0x81, 0xFF) for trail in range(0x40, 0xFF)]
    decoded = 0
    for sequence in sequences:
        try:
            text = sequence.decode("gbk")
        except UnicodeDecodeError:
            continue
        decoded += 1
        assert sequence.decode("gb18030") == text, sequence
    assert decoded > 21000


@pytest.mark.parametrize("lines", [
    ["编号,名称", "1,济宁", "2,任城"],  # GBK throughout
    ["编号,名称", "1,济宁\u20ac", "2,\U00020000\u00e9"] * 3,  # with a four-byte character
    ["编号,名称", "1," + "济" * 700_000, "2,任城"],  # a line longer than the transcoder's chunk
    ["编号,名称", "1,济宁", "2,任城\u20ac"],  # no line break at the end, a four-byte character in it
])
def test_transcoding_is_gb18030_decoding(lines, tmp_path):
    data = "\n".join(lines).encode("gb18030")
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    out = io.BytesIO()
    _transcode(path, "gb18030", out)
    assert out.getvalue() == data.decode("gb18030").encode("utf-8")


def test_transcoding_refuses_what_gb18030_cannot_decode(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("编号\n济宁\n".encode("gb18030") + b"\x81\x30\n")  # a four-byte character cut short
    with pytest.raises(CarefulPathNeeded):
        _transcode(path, "gb18030", io.BytesIO())


@pytest.mark.parametrize("where, clean", [
    (None, True),  # no BOM anywhere
    (0, True),  # a BOM that starts the file is the file's own, not a line's
    (1000, False),  # after a line break inside the first chunk
    (CHUNK - 2, False),  # the line break in one chunk, the BOM across into the next
    (CHUNK - 1, False),  # the line break the chunk's last byte
    (CHUNK, False),  # the line break the next chunk's first byte
    (2 * CHUNK + 77, False),  # in a later chunk
])
def test_fingerprint_finds_a_bom_at_any_line_start(where, clean, tmp_path):
    body = bytearray(("济宁," * 10 + "\n").encode("gbk") * (3 * CHUNK // 31))
    if where == 0:
        body[:0] = b"\xef\xbb\xbf"
    elif where is not None:
        body[where:where + 4] = b"\n\xef\xbb\xbf"
    path = tmp_path / "f.csv"
    path.write_bytes(bytes(body))
    fp = readers.fingerprint(path, text=True)
    assert fp.clean is clean
    assert fp.sha256 == hashlib.sha256(bytes(body)).hexdigest() and fp.bytes == len(body)


def test_fingerprint_finds_a_nul_in_a_later_chunk(tmp_path):
    body = b"a,b\n" * CHUNK
    path = tmp_path / "f.csv"
    path.write_bytes(body[:3 * CHUNK] + b"\x00" + body[3 * CHUNK:])
    assert readers.fingerprint(path, text=True).clean is False
