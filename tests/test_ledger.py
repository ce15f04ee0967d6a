"""Nothing lost: the ledger, byte-identical re-deliveries, corrections, state updates, repeated
keys across deliveries and months, whole-file rejections, and the atomic month rebuild."""

import shutil
from pathlib import Path

import psycopg2
import pytest
import yaml

CASES = Path(__file__).parent / "cases"
PENALTY = yaml.safe_load((CASES / "penalty.yaml").read_text(encoding="utf-8"))["good"]
REGISTRY = yaml.safe_load((CASES / "registry.yaml").read_text(encoding="utf-8"))["good"]
BLACKLIST = yaml.safe_load((CASES / "blacklist.yaml").read_text(encoding="utf-8"))["good"]


def penalty(n, **changes):
    return {**PENALTY, "行政处罚决定书文号": f"济任市监罚〔2020〕{n}号", **changes}


def test_ledger_records_each_file(deliver, ingest, query):
    deliver("amr", "2020-08", "penalty.20200820.csv", [penalty(1), penalty(2, 处罚决定日期="2020-09-01")])
    ingest("penalty", "2020-08")
    rows = query("SELECT unit, feed, month::text, delivery_date::text, rows, accepted, quarantined, status, encoding "
                 "FROM ingest.ledger")
    assert rows == [("amr", "penalty", "2020-08-01", "2020-08-20", 2, 1, 1, "loaded", "utf-8")]


def test_byte_identical_redelivery_is_a_no_op(deliver, inbox, ingest, query):
    first = deliver("amr", "2020-08", "penalty.20200820.csv", [penalty(1), penalty(2)])
    shutil.copy(first, inbox / "amr" / "2020-08" / "penalty.20200825.csv")  # the same bytes again
    result = ingest("penalty", "2020-08")
    assert (result.accepted, result.quarantined, result.count("redelivery")) == (2, 0, 1)
    assert ingest("penalty", "2020-08").accepted == 2  # and re-materializing changes nothing
    assert query("SELECT count(*) FROM raw.penalty") == [(2,)]
    assert query("SELECT path, redeliveries FROM ingest.ledger") == [
        ("amr/2020-08/penalty.20200820.csv", ["amr/2020-08/penalty.20200825.csv"])]


def test_the_same_bytes_in_another_month_are_that_months_delivery(deliver, inbox, ingest, query):
    """FEEDS.md: a delivery is (unit, feed, month folder, SHA-256)."""
    first = deliver("amr", "2020-08", "penalty.20200820.csv", [penalty(1), penalty(2)])
    later = inbox / "amr" / "2020-09" / "penalty.20200903.csv"
    later.parent.mkdir(parents=True)
    shutil.copy(first, later)
    ingest("penalty", "2020-08")
    september = ingest("penalty", "2020-09")
    # delivered again on time, and judged: the keys were accepted from August's folder already
    assert (september.count("loaded"), september.rows, september.quarantined) == (1, 2, 2)
    assert query("SELECT path, status, redeliveries FROM ingest.ledger ORDER BY path") == [
        ("amr/2020-08/penalty.20200820.csv", "loaded", []), ("amr/2020-09/penalty.20200903.csv", "loaded", [])]
    assert query("SELECT DISTINCT reasons FROM quarantine.penalty") == [(["duplicate_key"],)]


def test_an_unchanged_snapshot_next_quarter_is_that_months_list(deliver, inbox, ingest, query):
    """The same service_item bytes in two months' folders: each month reads its own delivery (I19)."""
    item = {"事项编码": "37080001", "事项名称": "食品经营许可", "实施单位": "市行政审批服务局",
            "是否法定可承诺": "是", "是否实行信用承诺": "是"}
    first = deliver("approval", "2020-07", "service_item.20200720.csv", [item, {**item, "事项编码": "37080002"}])
    later = inbox / "approval" / "2020-10" / "service_item.20201020.csv"
    later.parent.mkdir(parents=True)
    shutil.copy(first, later)
    ingest("service_item", "2020-07")
    assert ingest("service_item", "2020-10").accepted == 2
    assert query("SELECT month::text, count(*) FROM raw.service_item GROUP BY 1 ORDER BY 1") == [
        ("2020-07-01", 2), ("2020-10-01", 2)]
    assert query("SELECT count(*) FROM wh.service_item_snapshot('2020-10-01')") == [(2,)]
    assert query("SELECT month::text FROM wh.snapshot_delivery('service_item', '2020-10-01')") == [("2020-10-01",)]


def test_repeated_key_of_an_accepted_row_is_a_duplicate(deliver, ingest, query):
    deliver("amr", "2020-07", "penalty.20200731.csv", [penalty(1, 处罚决定日期="2020-07-20")])
    deliver("amr", "2020-08", "penalty.20200815.csv", [penalty(2), penalty(2, 处罚内容="重复"), penalty(1)])
    deliver("amr", "2020-08", "penalty.20200820.csv", [penalty(2, 备注="第三次")])
    ingest("penalty", "2020-07")
    result = ingest("penalty", "2020-08")
    assert (result.accepted, result.quarantined) == (1, 3)
    assert query("SELECT l.path, q.row_no, q.reasons FROM quarantine.penalty q JOIN ingest.ledger l "
                 "ON l.sha256 = q.file_sha256 ORDER BY 1, 2") == [
        ("amr/2020-08/penalty.20200815.csv", 2, ["duplicate_key"]),
        ("amr/2020-08/penalty.20200815.csv", 3, ["duplicate_key"]),
        ("amr/2020-08/penalty.20200820.csv", 1, ["duplicate_key"]),
    ]


def test_correction_of_a_quarantined_row_is_judged_on_its_own(deliver, ingest, query):
    deliver("amr", "2020-08", "penalty.20200815.csv", [penalty(1, **{"罚款金额（万元）": ""})])
    deliver("amr", "2020-08", "penalty.20200817.csv", [penalty(1)])  # the corrected row, same key
    result = ingest("penalty", "2020-08")
    assert (result.accepted, result.quarantined) == (1, 1)
    assert query("SELECT reasons FROM quarantine.penalty") == [(["required:罚款金额（万元）"],)]
    assert query("SELECT delivery_date::text FROM raw.penalty") == [("2020-08-17",)]


def test_state_feed_keeps_every_update(deliver, ingest, query):
    deliver("court", "2020-08", "blacklist.20200810.csv", [BLACKLIST])
    deliver("court", "2020-09", "blacklist.20200905.csv",
            [dict(BLACKLIST, 移出日期="2020-09-01", 移出事由="已履行义务")])
    ingest("blacklist", "2020-08")
    ingest("blacklist", "2020-09")
    assert query("SELECT month::text, removed_on::text FROM raw.blacklist ORDER BY month") == [
        ("2020-08-01", None), ("2020-09-01", "2020-09-01")]


def test_snapshot_feed_keeps_each_delivery(deliver, ingest, query):
    deliver("amr", "2020-08", "registry.20200805.csv", [REGISTRY])
    deliver("amr", "2020-08", "registry.20200820.2.csv", [REGISTRY, dict(REGISTRY, 统一社会信用代码="92370811MA3D9W1E2A")])
    assert ingest("registry", "2020-08").accepted == 3
    assert query("SELECT seq, count(*) FROM raw.registry GROUP BY 1 ORDER BY 1") == [(1, 1), (2, 2)]


REJECTIONS = [
    ("court", "registry.20200820.csv", "unit_not_allowed"),
    ("nobody", "penalty.20200820.csv", "unknown_unit"),
]


@pytest.mark.parametrize("unit, name, code", REJECTIONS)
def test_rejected_by_unit(unit, name, code, deliver, ingest, query, tmp_path):
    feed = name.split(".")[0]
    deliver(unit, "2020-08", name, [REGISTRY if feed == "registry" else penalty(1)])
    result = ingest(feed, "2020-08")
    assert (result.rows, result.count("rejected")) == (0, 1)
    (reason_code, archived), = query("SELECT reason_code, archived_path FROM ingest.ledger")
    assert reason_code == code and Path(archived).read_bytes() == (tmp_path / "inbox" / unit / "2020-08" / name).read_bytes()


def test_rejected_whole_files(inbox, deliver, ingest, query):
    month = inbox / "amr" / "2020-08"
    deliver("amr", "2020-08", "penalty.20200801.csv", [{k: v for k, v in penalty(1).items() if k != "处罚机关"}])
    deliver("amr", "2020-08", "penalty.20200802.csv", [], header=list(PENALTY))  # header only
    (month / "penalty.20200803.csv").write_bytes(b"")  # nothing at all
    (month / "penalty.20200804.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (month / "penalty.20200805.csv").write_bytes("行政相对人名称\n".encode() + b"\xff\xfe\xfa\x80\x81\n")
    (month / "penalty.20200806.json").write_text('{"not": "an array"}', encoding="utf-8")
    result = ingest("penalty", "2020-08")
    assert result.rows == 0
    got = {r[0].rsplit("/", 1)[1]: r[1] for r in query("SELECT path, reason_code, reason FROM ingest.ledger")}
    assert got == {
        "penalty.20200801.csv": "missing_columns", "penalty.20200802.csv": "empty", "penalty.20200803.csv": "empty",
        "penalty.20200804.xlsx": "unreadable", "penalty.20200805.csv": "bad_encoding", "penalty.20200806.json": "unreadable",
    }
    assert "处罚机关" in query("SELECT reason FROM ingest.ledger WHERE reason_code = 'missing_columns'")[0][0]
    assert all(Path(p).exists() for (p,) in query("SELECT archived_path FROM ingest.ledger"))


def test_a_failure_midway_leaves_the_previous_month_visible(deliver, ingest, query, db):
    deliver("amr", "2020-08", "penalty.20200815.csv", [penalty(1), penalty(2)])
    ingest("penalty", "2020-08")
    before = query("SELECT row_no, decision_no FROM raw.penalty ORDER BY 1"), query("SELECT sha256, path FROM ingest.ledger")
    # A real failure inside the load, after the rows are written: the server refuses the ledger entry.
    query("CREATE FUNCTION public.boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF NEW.path LIKE '%%20200820%%' THEN RAISE EXCEPTION 'disk full (simulated by a trigger)'; END IF; "
          "RETURN NEW; END $$")
    query("CREATE TRIGGER boom BEFORE INSERT ON ingest.ledger FOR EACH ROW EXECUTE FUNCTION public.boom()")
    try:
        deliver("amr", "2020-08", "penalty.20200820.csv", [penalty(3), penalty(4)])
        with pytest.raises(psycopg2.errors.RaiseException):
            ingest("penalty", "2020-08")
        assert (query("SELECT row_no, decision_no FROM raw.penalty ORDER BY 1"),
                query("SELECT sha256, path FROM ingest.ledger")) == before
    finally:
        query("DROP TRIGGER boom ON ingest.ledger")
        query("DROP FUNCTION public.boom()")


def test_rows_the_server_refuses_reject_their_file_alone(deliver, ingest, query):
    """A constraint a DBA added to raw.penalty refuses one file's row: that file is rejected, the
    other loads (the month is loaded again without it)."""
    query("ALTER TABLE raw.penalty ADD CONSTRAINT no_boom CHECK (subject_name <> 'BOOM')")
    try:
        deliver("amr", "2020-08", "penalty.20200815.csv", [penalty(1), penalty(2)])
        deliver("court", "2020-08", "penalty.20200820.csv", [penalty(3), penalty(4, 行政相对人名称="BOOM")])
        result = ingest("penalty", "2020-08")
        assert [(f.rel, f.status, f.reason_code) for f in result.files] == [
            ("amr/2020-08/penalty.20200815.csv", "loaded", None),
            ("court/2020-08/penalty.20200820.csv", "rejected", "refused_by_database")]
        assert "no_boom" in result.files[1].reason
        assert query("SELECT row_no FROM raw.penalty ORDER BY 1") == [(1,), (2,)]
    finally:
        query("ALTER TABLE raw.penalty DROP CONSTRAINT no_boom")


def test_a_refused_first_file_is_rejected_alone_before_files_of_every_format(deliver, ingest, query):
    """The refused file comes first, files of every format after it: the month is loaded again
    without it, and every other file loads."""
    query("ALTER TABLE raw.penalty ADD CONSTRAINT no_boom CHECK (subject_name <> 'BOOM')")
    try:
        deliver("court", "2020-08", "penalty.20200815.csv", [penalty(1, 行政相对人名称="BOOM"), penalty(2)])
        deliver("amr", "2020-08", "penalty.20200818.csv", [penalty(3), penalty(4)])
        deliver("amr", "2020-08", "penalty.20200820.xlsx", [penalty(5)], fmt="xlsx")
        deliver("court", "2020-08", "penalty.20200825.json", [penalty(6)], fmt="json")
        result = ingest("penalty", "2020-08")
        assert [(f.rel, f.status, f.reason_code) for f in result.files] == [
            ("court/2020-08/penalty.20200815.csv", "rejected", "refused_by_database"),
            ("amr/2020-08/penalty.20200818.csv", "loaded", None),
            ("amr/2020-08/penalty.20200820.xlsx", "loaded", None),
            ("court/2020-08/penalty.20200825.json", "loaded", None)]
        assert query("SELECT unit, count(*) FROM raw.penalty GROUP BY 1 ORDER BY 1") == [("amr", 3), ("court", 1)]
    finally:
        query("ALTER TABLE raw.penalty DROP CONSTRAINT no_boom")


def test_expectation_counts_are_those_of_the_rows_kept_when_a_file_fails_late(deliver, inbox, ingest, query, monkeypatch):
    """A file whose first frames were judged (some rows quarantined) and that then fails — here UTF-8 by its
    first megabyte, with GBK bytes after it — is taken back whole: its rows and its reasons' counts too, so
    each expectation's unexpected_count is what quarantine.<feed> holds."""
    from jn_credit_dagster.lib.ingest import frames
    monkeypatch.setattr(frames, "FRAME_BYTES", 64 << 10)  # many frames judged before the bad bytes
    monkeypatch.setattr(frames, "BLOCK_BYTES", 64 << 10)
    header = list(penalty(0))
    rows = [penalty(n, 处罚决定日期="2020-13-45" if n % 100 == 0 else "2020-08-14") for n in range(1, 4001)]
    path = inbox / "court" / "2020-08" / "penalty.20200820.csv"
    path.parent.mkdir(parents=True)
    lines = [",".join(header)] + [",".join(str(r[h]) for h in header) for r in rows]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    assert len(data) > 1 << 20  # the encoding is guessed from the first megabyte
    path.write_bytes(data + ",".join(str(v) for v in penalty(9999).values()).encode("gbk") + b"\n")
    deliver("amr", "2020-08", "penalty.20200815.csv", [penalty(1, 处罚决定日期="2020-13-45"), penalty(2)])
    result = ingest("penalty", "2020-08")
    assert [(f.rel, f.status, f.reason_code) for f in result.files] == [
        ("amr/2020-08/penalty.20200815.csv", "loaded", None), ("court/2020-08/penalty.20200820.csv", "rejected", "bad_encoding")]
    assert result.reasons["bad_type:处罚决定日期"] == 1
    recorded = dict(query("SELECT reason, unexpected_count FROM ingest.expectation_results WHERE feed = 'penalty'"))
    stored = query("SELECT reasons FROM quarantine.penalty")
    assert recorded["bad_type:*"] == sum(any(r.startswith("bad_type:") for r in reasons) for (reasons,) in stored)
    for reason, count in recorded.items():
        if reason != "bad_type:*":
            assert count == sum(reason in reasons for (reasons,) in stored), reason


def test_a_loaded_month_leaves_the_planner_statistics(deliver, ingest, query):
    """ANALYZE before the next step reads: a fresh database plans on real counts, not guesses."""
    deliver("amr", "2020-08", "penalty.20200815.csv", [penalty(n) for n in range(1, 41)] + [penalty(99, 处罚决定日期="x")])
    ingest("penalty", "2020-08")
    assert query("SELECT reltuples FROM pg_class WHERE oid = 'ingest_months.raw_penalty_2020_08'::regclass") == [(40,)]
    assert query("SELECT reltuples FROM pg_class WHERE oid = 'ingest_months.quarantine_penalty_2020_08'::regclass") == [(1,)]
    stats = query("SELECT count(*) FROM pg_stats WHERE schemaname = 'raw' AND tablename = 'penalty' AND inherited")
    assert stats[0][0] > 10  # the parent's statistics across its months
    # a small month next: its partition is analysed; the parent (which would re-sample every month) is
    # left until a month is a tenth of it or more
    deliver("amr", "2020-09", "penalty.20200915.csv", [penalty(n) for n in range(101, 104)])
    ingest("penalty", "2020-09")
    assert query("SELECT reltuples FROM pg_class WHERE oid = 'ingest_months.raw_penalty_2020_09'::regclass") == [(3,)]
    assert query("SELECT reltuples FROM pg_class WHERE oid = 'raw.penalty'::regclass") == [(40,)]
    deliver("amr", "2020-10", "penalty.20201015.csv", [penalty(n) for n in range(201, 211)])
    ingest("penalty", "2020-10")
    assert query("SELECT reltuples FROM pg_class WHERE oid = 'raw.penalty'::regclass") == [(53,)]


def test_a_text_value_that_reads_like_the_end_of_copy_data_is_kept(deliver, ingest, query):
    """`\\.` alone on a line ends COPY's data: every text is quoted, so such a value is just a value —
    here a one-column key looked up against an earlier month's rows."""
    commitment = yaml.safe_load((CASES / "commitment.yaml").read_text(encoding="utf-8"))["good"]
    deliver("amr", "2020-07", "commitment.20200720.csv", [dict(commitment, 承诺编号="\\.", 承诺日期="2020-07-01")])
    deliver("amr", "2020-08", "commitment.20200815.csv", [dict(commitment, 承诺编号="\\."), dict(commitment, 承诺编号="B")])
    assert ingest("commitment", "2020-07").accepted == 1
    august = ingest("commitment", "2020-08")
    assert (august.accepted, august.quarantined) == (1, 1)
    assert query("SELECT commitment_no, reasons FROM quarantine.commitment") == [("\\.", ["duplicate_key"])]


def test_an_amount_too_long_for_an_exact_decimal_rejects_its_file_alone(deliver, ingest):
    deliver("amr", "2020-08", "penalty.20200815.csv", [penalty(1, **{"罚款金额（万元）": "1" * 40})])
    deliver("court", "2020-08", "penalty.20200820.csv", [penalty(2)])
    result = ingest("penalty", "2020-08")
    assert [(f.status, f.reason_code) for f in result.files] == [("rejected", "value_too_large"), ("loaded", None)]


def test_frames_of_one_file_judge_as_one(deliver, ingest, query, monkeypatch):
    """A large file is read in frames: keys repeated across frames, ragged and blank records between
    them, and row numbers come out exactly as for one frame (frames of ~4 KB here)."""
    from jn_credit_dagster.lib.ingest import frames

    monkeypatch.setattr(frames, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(frames, "FRAME_BYTES", 4096)
    rows = [penalty(n) for n in range(1, 301)] + [penalty(7), penalty(150, 备注="again")]
    path = deliver("amr", "2020-08", "penalty.20200815.csv", rows)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(101, "\n")                      # a blank record: row 101 is skipped, row 102 on counts it
    lines.insert(201, '"short","row"\n')         # a ragged record: row 201
    path.write_text("".join(lines), encoding="utf-8")
    result = ingest("penalty", "2020-08")
    assert (result.accepted, result.quarantined) == (300, 3)
    assert query("SELECT row_no, reasons FROM quarantine.penalty ORDER BY row_no") == [
        (201, ["malformed_row"]), (303, ["duplicate_key"]), (304, ["duplicate_key"])]
    assert query("SELECT min(row_no), max(row_no), count(DISTINCT row_no) FROM raw.penalty") == [(1, 302, 300)]
    assert query("SELECT decision_no FROM raw.penalty WHERE row_no = 102") == [("济任市监罚〔2020〕101号",)]
