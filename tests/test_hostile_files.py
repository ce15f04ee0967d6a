"""Hostile deliveries (issue 10): each a real path in a test inbox, each rejected, skipped or loaded
on its own with its own reason code, while a good file of the same feed in another unit's folder
still loads. Paths that are not regular files are never opened, followed or archived. The memory
cases run in a child process under an address-space limit."""

import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from unittest.mock import ANY
import yaml
from openpyxl.styles import Font

from jn_credit_dagster.defs.ingest.steps import record_inbox_month
from jn_credit_dagster.lib.ingest import readers
from jn_credit_dagster.lib.ingest.inbox import parse_month, scan
from jn_credit_dagster.defs.resources import Inbox, Warehouse

CASES = Path(__file__).parent / "cases"
PENALTY = yaml.safe_load((CASES / "penalty.yaml").read_text(encoding="utf-8"))["good"]
HEADER = list(PENALTY)
MONTH = "2020-08"


def penalty(n, **changes):
    return {**PENALTY, "行政处罚决定书文号": f"济任市监罚〔2020〕{n}号", **changes}


def csv_line(values) -> str:
    return ",".join('"' + str(v).replace('"', '""') + '"' for v in values) + "\n"


@pytest.fixture
def good(deliver):
    """The good file of the same feed, in another unit's folder."""
    return deliver("tax", MONTH, "penalty.20200825.csv", [penalty(1)])


@pytest.fixture
def hostile(inbox):
    """The path of a hostile delivery in amr's month folder (folders made)."""
    def place(name):
        path = inbox / "amr" / MONTH / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    return place


def outcome(result, name):
    return next(f for f in result.files if f.rel.endswith("/" + name))


def assert_good_loaded(result):
    good = outcome(result, "penalty.20200825.csv")
    assert (good.status, good.accepted) == ("loaded", 1), good


def assert_rejected(ingest, name, code, reason_part=""):
    result = ingest("penalty", MONTH)
    assert_good_loaded(result)
    bad = outcome(result, name)
    assert (bad.status, bad.reason_code) == ("rejected", code), bad
    assert reason_part in bad.reason and "\n" not in bad.reason and "UnicodeDecodeError" not in bad.reason
    return bad


def nested_json(depth: int) -> str:
    return '[{"行政相对人名称": ' + '{"a": ' * depth + "1" + "}" * depth + "}]"


# -- reader guards, through the loader ------------------------------------------------------------

@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deep_json_is_too_deep(depth, hostile, good, ingest):
    hostile("penalty.20200820.json").write_text(nested_json(depth), encoding="utf-8")
    assert_rejected(ingest, "penalty.20200820.json", "too_deep", "more than 32 deep")


def test_csv_with_a_20_mb_field(hostile, good, ingest):
    """A record the Python reader must take (a ragged row sends the file there)."""
    hostile("penalty.20200820.csv").write_text(
        csv_line(HEADER) + csv_line(penalty(2, 违法事实="违" * (20 << 20)).values()) + '"short",row\n', encoding="utf-8")
    assert_rejected(ingest, "penalty.20200820.csv", "field_too_large", "data row 1")


def test_well_formed_csv_with_a_20_mb_field(hostile, good, ingest):
    path = hostile("penalty.20200820.csv")
    path.write_text(csv_line(HEADER) + csv_line(penalty(2, 违法事实="违" * (20 << 20)).values()), encoding="utf-8")
    with pytest.raises(readers.Unreadable) as caught, readers.open_table(path, "csv", "utf-8") as table:
        list(table.rows)
    assert caught.value.code == "field_too_large"  # the reader refuses it ...
    assert_rejected(ingest, "penalty.20200820.csv", "field_too_large")  # ... and so does the fast path


def _wide_workbook(path: Path, filled: bool) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(list(penalty(3).values()))
    bold = Font(bold=True)
    for column in range(len(HEADER) + 1, 1701):
        cell = sheet.cell(row=1, column=column)
        if filled:
            cell.value = f"列{column}"
        else:
            cell.font = bold  # an empty, formatted cell: Excel's used range now says 1,700 columns
    book.save(path)


def test_xlsx_with_1700_header_cells_trailing_empty_loads(hostile, good, ingest):
    path = hostile("penalty.20200820.xlsx")
    _wide_workbook(path, filled=False)
    assert openpyxl.load_workbook(path, read_only=True).worksheets[0].max_column == 1700
    result = ingest("penalty", MONTH)
    assert_good_loaded(result)
    wide = outcome(result, "penalty.20200820.xlsx")
    assert (wide.status, wide.accepted, wide.quarantined) == ("loaded", 1, 0), wide


def test_xlsx_with_1700_header_columns_is_too_wide(hostile, good, ingest):
    _wide_workbook(hostile("penalty.20200820.xlsx"), filled=True)
    assert_rejected(ingest, "penalty.20200820.xlsx", "too_wide", "1700 columns")


def write_xlsx_bomb(path: Path) -> None:
    """A real workbook whose shared strings inflate to more than 1 GiB from ~7 MB on disk."""
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(list(penalty(4).values()))
    book.save(path)
    with zipfile.ZipFile(path) as source:
        members = [(m, source.read(m)) for m in source.infolist() if m.filename != "xl/sharedStrings.xml"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for member, data in members:
            out.writestr(member, data)
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            block = (b"<si><t>" + "违".encode() * 330 + b"</t></si>") * 1024
            for _ in range(1050):
                strings.write(block)
            strings.write(b"</sst>")


def test_xlsx_bomb_is_refused_before_parsing(hostile, good, ingest):
    path = hostile("penalty.20200820.xlsx")
    write_xlsx_bomb(path)
    assert path.stat().st_size < 16 << 20
    assert sum(m.file_size for m in zipfile.ZipFile(path).infolist()) > 1 << 30
    assert_rejected(ingest, "penalty.20200820.xlsx", "xlsx_bomb", "inflates to")


def test_json_string_of_50_mb(hostile, good, ingest, monkeypatch):
    path = hostile("penalty.20200820.json")
    path.write_text('[{"行政相对人名称": "' + "济" * ((50 << 20) // 3) + '"}]', encoding="utf-8")
    started = time.perf_counter()
    assert_rejected(ingest, "penalty.20200820.json", "field_too_large", "JSON string of more than")
    print(f"\n50 MB JSON string rejected in {time.perf_counter() - started:.2f} s")
    # with the limit raised it is read whole, in linear time (bench: tests print the seconds only)
    monkeypatch.setenv("JN_CREDIT_MAX_FIELD_SIZE", str(64 << 20))
    started = time.perf_counter()
    with readers.open_table(path, "json", "utf-8") as table:
        (row,) = list(table.rows)
    print(f"50 MB JSON string read in {time.perf_counter() - started:.2f} s")
    assert len(row[0]) == (50 << 20) // 3


def test_zero_byte_file_is_empty(hostile, good, ingest):
    hostile("penalty.20200820.csv").write_bytes(b"")
    assert_rejected(ingest, "penalty.20200820.csv", "empty", "0-byte")


def test_utf16_csv_is_bad_encoding(hostile, good, ingest):
    hostile("penalty.20200820.csv").write_text(csv_line(HEADER) + csv_line(penalty(5).values()), encoding="utf-16")
    bad = assert_rejected(ingest, "penalty.20200820.csv", "bad_encoding")
    assert bad.reason == "UTF-16 is not one of UTF-8, GBK, GB18030"


def test_mixed_encoding_csv_names_where(hostile, good, ingest):
    utf8 = (csv_line(HEADER) + csv_line(penalty(6).values())).encode("utf-8")
    gbk = csv_line(penalty(7).values()).encode("gbk")
    hostile("penalty.20200820.csv").write_bytes(utf8 + gbk)
    bad = assert_rejected(ingest, "penalty.20200820.csv", "bad_encoding", "mixed encodings")
    assert f"byte {len(utf8) + 1} (line 3)" in bad.reason  # the first GBK byte that is not UTF-8: after a `"`


def test_nul_bytes_are_unreadable(hostile, good, ingest):
    hostile("penalty.20200820.csv").write_text(csv_line(HEADER) + csv_line(penalty(8, 备注="a\x00b").values()),
                                               encoding="utf-8")
    assert_rejected(ingest, "penalty.20200820.csv", "unreadable", "contains NUL bytes")


def test_a_data_row_starting_with_a_bom(hostile, good, ingest, query):
    rows = csv_line(penalty(9).values()) + "\ufeff" + csv_line(penalty(10).values())
    hostile("penalty.20200820.csv").write_text("\ufeff" + csv_line(HEADER) + rows, encoding="utf-8")
    result = ingest("penalty", MONTH)
    assert_good_loaded(result)
    bom = outcome(result, "penalty.20200820.csv")
    assert (bom.status, bom.accepted, bom.quarantined) == ("loaded", 2, 0), (bom, result.reasons)
    names = query("SELECT DISTINCT subject_name FROM raw.penalty")
    assert names == [(PENALTY["行政相对人名称"],)]


# -- the inbox boundary --------------------------------------------------------------------------

def _inbox_scan(inbox):
    return sorted(record_inbox_month(parse_month(MONTH), Warehouse(), Inbox(path=str(inbox))))


def test_delivery_number_too_large(hostile, good, ingest, inbox, query):
    hostile("penalty.20200820.2147483648.csv").write_text(csv_line(HEADER) + csv_line(penalty(11).values()),
                                                          encoding="utf-8")
    result = ingest("penalty", MONTH)
    assert [f.rel for f in result.files] == ["tax/2020-08/penalty.20200825.csv"]
    assert_good_loaded(result)
    assert _inbox_scan(inbox) == [("amr/2020-08/penalty.20200820.2147483648.csv", "bad_name",
                                   "delivery number too large (at most 2147483647)")]
    assert query("SELECT seq, reason_code FROM ingest.ledger WHERE asset = 'inbox'") == [(1, "bad_name")]


def _outside_csv(tmp_path) -> Path:
    outside = tmp_path / "elsewhere" / "data.csv"
    outside.parent.mkdir()
    outside.write_text(csv_line(HEADER) + csv_line(penalty(12, 行政相对人名称="外部数据").values()), encoding="utf-8")
    return outside


NOT_FILES = {
    "link_outside_csv": ("outside_inbox", "a link to a path outside the inbox", "link"),
    "link_etc_passwd": ("outside_inbox", "a link to a path outside the inbox", "link"),
    "link_dev_zero": ("outside_inbox", "a link to a path outside the inbox", "link"),
    "dangling_link": ("not_a_file", "a link, not a regular file", "link"),
    "named_pipe": ("not_a_file", "a named pipe, not a regular file", "pipe"),
    "folder": ("not_a_file", "a folder, not a file", "folder"),
}


def _make(case, path: Path, tmp_path: Path) -> None:
    if case == "link_outside_csv":
        path.symlink_to(_outside_csv(tmp_path))
    elif case == "link_etc_passwd":
        path.symlink_to("/etc/passwd")
    elif case == "link_dev_zero":
        path.symlink_to("/dev/zero")
    elif case == "dangling_link":
        path.symlink_to(path.parent / "penalty.20200821.csv")  # inside the inbox, not there
    elif case == "named_pipe":
        os.mkfifo(path)
    elif case == "folder":
        path.mkdir()
        (path / "notes.txt").write_text("x", encoding="utf-8")


@pytest.mark.parametrize("case", list(NOT_FILES))
def test_paths_that_are_not_files_are_never_read(case, hostile, good, ingest, inbox, tmp_path, query):
    path = hostile("penalty.20200820.csv")
    _make(case, path, tmp_path)
    code, reason, kind = NOT_FILES[case]
    d = next(d for d in scan(inbox, {"penalty"}, parse_month(MONTH)) if d.rel == "amr/2020-08/penalty.20200820.csv")
    assert (d.problem, d.kind, d.has_content, d.feed) == ((code, reason), kind, False, "penalty")
    with pytest.raises(readers.Unreadable) as caught:  # a reader handed it opens nothing (no wait on a pipe)
        readers.fingerprint(path, text=True)
    assert caught.value.code == "not_a_file"
    result = ingest("penalty", MONTH)
    assert [(f.rel, f.status, f.reason_code, f.sha256) for f in result.files] == [
        ("amr/2020-08/penalty.20200820.csv", "rejected", code, None), ("tax/2020-08/penalty.20200825.csv", "loaded", None, ANY)]
    assert_good_loaded(result)
    assert query("SELECT DISTINCT subject_name FROM raw.penalty") == [(PENALTY["行政相对人名称"],)]
    # a file inside a folder named like a delivery is a delivery in the wrong place
    inside = [("amr/2020-08/penalty.20200820.csv/notes.txt", "bad_name", "not in a <unit>/<YYYY-MM>/ folder")]
    assert _inbox_scan(inbox) == (inside if case == "folder" else [])
    copies = [p for p in tmp_path.rglob("*") if p.name == "penalty.20200820.csv" and not p.is_relative_to(inbox)]
    assert copies == []  # never archived


@pytest.mark.parametrize("case", list(NOT_FILES))
def test_paths_that_are_not_files_have_a_ledger_entry(case, hostile, good, ingest, inbox, tmp_path, query):
    _make(case, hostile("penalty.20200820.csv"), tmp_path)
    ingest("penalty", MONTH)
    _inbox_scan(inbox)
    code = NOT_FILES[case][0]
    assert query("SELECT status, reason_code, archived_path FROM ingest.ledger WHERE path = %s",
                 ("amr/2020-08/penalty.20200820.csv",)) == [("rejected", code, None)]


def test_linked_unit_and_month_folders_are_not_entered(inbox, tmp_path, deliver, ingest):
    outside = _outside_csv(tmp_path).parent
    (outside / MONTH).mkdir()
    (outside / MONTH / "penalty.20200820.csv").write_text(csv_line(HEADER) + csv_line(penalty(13).values()),
                                                          encoding="utf-8")
    (inbox / "court").symlink_to(outside)  # a unit folder that is a link
    (inbox / "amr").mkdir()
    (inbox / "amr" / MONTH).symlink_to(outside / MONTH)  # a month folder that is a link
    deliver("tax", MONTH, "penalty.20200825.csv", [penalty(1)])
    found = {d.rel: (d.problem[0], d.month) for d in scan(inbox, {"penalty"}) if d.problem}
    assert found == {"court": ("outside_inbox", None), f"amr/{MONTH}": ("outside_inbox", parse_month(MONTH))}
    result = ingest("penalty", MONTH)
    assert [f.rel for f in result.files] == ["tax/2020-08/penalty.20200825.csv"]


def test_a_file_still_arriving_is_left_for_the_next_run(hostile, good, ingest, inbox, monkeypatch, query):
    old = time.time() - 3600
    os.utime(good, (old, old))
    fresh = hostile("penalty.20200820.csv")
    fresh.write_text(csv_line(HEADER) + csv_line(penalty(14).values()), encoding="utf-8")
    monkeypatch.setenv("JN_CREDIT_SETTLE_SECONDS", "60")
    (d,) = [d for d in scan(inbox, {"penalty"}, parse_month(MONTH)) if d.rel.startswith("amr/")]
    assert d.problem == ("still_arriving", "modified less than 60 s ago: left for the next run") and d.has_content
    result = ingest("penalty", MONTH)
    assert [(f.rel, f.status, f.reason_code) for f in result.files] == [
        ("amr/2020-08/penalty.20200820.csv", "pending", "still_arriving"), ("tax/2020-08/penalty.20200825.csv", "loaded", None)]
    assert query("SELECT status, reason_code, archived_path FROM ingest.ledger WHERE path LIKE 'amr/%%'") == [
        ("pending", "still_arriving", None)]
    assert _inbox_scan(inbox) == []  # neither rejected nor archived: it is not judged yet
    os.utime(fresh, (old, old))  # the upload finished long ago: the next run takes it
    assert outcome(ingest("penalty", MONTH), "penalty.20200820.csv").accepted == 1
    assert query("SELECT count(*) FROM raw.penalty") == [(2,)]


# -- memory: a whole ingest of the worst files, bounded -----------------------------------------------

CHILD = """
import datetime as dt, json, os, resource, sys
from pathlib import Path
from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest import loader
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.lib.ingest.suites import load_suite
inbox, archive = Path(sys.argv[1]), Path(sys.argv[2])
result = loader.load_month(os.environ["DATABASE_URL"], load_specs()["penalty"], load_suite("penalty"), inbox,
                           dt.date(2020, 8, 1), archive)
vm_peak = next(line for line in open("/proc/self/status") if line.startswith("VmPeak")).split()[1]
print(json.dumps({"files": {f.rel.rsplit("/", 1)[1]: [f.status, f.reason_code, f.accepted] for f in result.files},
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  "vm_peak_mb": int(vm_peak) // 1024}))
"""
ADDRESS_SPACE = 4 << 30


def _child(inbox, tmp_path, limit=ADDRESS_SPACE):
    done = subprocess.run(["prlimit", f"--as={limit}", sys.executable, "-c", CHILD, str(inbox), str(tmp_path / "archive")],
                          capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[1],
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_memory_stays_bounded_under_an_address_space_limit(hostile, good, inbox, tmp_path, db):
    hostile("penalty.20200801.json").write_text(nested_json(100_000), encoding="utf-8")
    write_xlsx_bomb(hostile("penalty.20200802.xlsx"))
    hostile("penalty.20200803.json").write_text('[{"行政相对人名称": "' + "济" * ((50 << 20) // 3) + '"}]',
                                                encoding="utf-8")
    hostile("penalty.20200804.csv").write_text(
        csv_line(HEADER) + csv_line(penalty(2, 违法事实="违" * (20 << 20)).values()) + '"short",row\n', encoding="utf-8")
    hostile("penalty.20200806.csv").write_text(csv_line(HEADER) + "x" * (100 << 20), encoding="utf-8")  # no line end
    got = _child(inbox, tmp_path)
    assert got["files"] == {
        "penalty.20200801.json": ["rejected", "too_deep", 0],
        "penalty.20200802.xlsx": ["rejected", "xlsx_bomb", 0],
        "penalty.20200803.json": ["rejected", "field_too_large", 0],
        "penalty.20200804.csv": ["rejected", "field_too_large", 0],
        "penalty.20200806.csv": ["rejected", "row_too_large", 0],
        "penalty.20200825.csv": ["loaded", None, 1],
    }
    assert got["peak_rss_mb"] < 1024
    print(f"\npeak RSS of the hostile ingest: {got['peak_rss_mb']} MB under --as={ADDRESS_SPACE >> 20} MB")


def test_the_memory_guard_rejects_a_file_that_grows_memory(hostile, good, ingest, monkeypatch):
    """Rows that each hold little but, read as this process holds them, pass the budget: with a
    budget of 1 MB and a check every 10 rows, a file of 5,000 rows trips the guard."""
    monkeypatch.setenv("JN_CREDIT_MAX_READ_MEMORY", str(1 << 20))
    monkeypatch.setenv("JN_CREDIT_MEMORY_CHECK_ROWS", "10")
    rows = [penalty(100 + i, 违法事实="违" * 2000) for i in range(5000)]
    path = hostile("penalty.20200820.json")
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    bad = assert_rejected(ingest, "penalty.20200820.json", "memory_guard", "grew memory by more than 1 MB")
    assert bad.accepted == 0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the test process itself is unharmed
