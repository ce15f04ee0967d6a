"""A month's small files are judged as one frame (lib/ingest/loader.py): the same rows, reasons,
duplicates and outcomes as each file judged alone, and a batch the judge refuses falls back to that."""

from pathlib import Path

import pytest
import yaml

from jn_credit_dagster.lib.ingest import loader
from jn_credit_dagster.lib.ingest.frame_judge import FrameJudge

GOOD = yaml.safe_load((Path(__file__).parent / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]
MONTH = "2020-08"


def penalty(n, **changes):
    return {**GOOD, "行政处罚决定书文号": f"济任市监罚〔2020〕{n}号", **changes}


@pytest.fixture
def small_files(deliver):
    """Three small files of three formats, two units and three delivery dates: a rule that reads the
    delivery date, a key repeated across files, a bad USCC and a bad number."""
    deliver("amr", MONTH, "penalty.20200810.csv", [
        penalty(1),  # decided 2020-08-14, after this delivery
        penalty(2, 处罚决定日期="2020-08-05"),
        penalty(3, 统一社会信用代码="91370811MA3C5K7X07")])
    deliver("tax", MONTH, "penalty.20200820.json", [
        penalty(1),  # before this delivery: correct
        penalty(2, 处罚决定日期="2020-08-05"),  # the key of amr's correct row 2
        penalty(4)], fmt="json")
    deliver("amr", MONTH, "penalty.20200825.xlsx", [penalty(5), penalty(6, **{"罚款金额（万元）": "二千元"})], fmt="xlsx")


@pytest.fixture
def judged(monkeypatch):
    """The number of frames the judge is given (a spy: the real judge runs)."""
    calls = []
    real = FrameJudge.judge

    def spy(self, chunk, **kwargs):
        calls.append(chunk.height)
        return real(self, chunk, **kwargs)

    monkeypatch.setattr(FrameJudge, "judge", spy)
    return calls


def loaded(query):
    """What the month holds: every row of raw and quarantine (reasons included) and the ledger."""
    return (query("SELECT unit, row_no, decision_no, decided_on, fine_amount, delivery_date FROM raw.penalty "
                  "ORDER BY unit, file_sha256, row_no"),
            query("SELECT unit, row_no, reasons, fine_amount FROM quarantine.penalty ORDER BY unit, file_sha256, row_no"),
            query("SELECT path, status, rows, accepted, quarantined, reason_code FROM ingest.ledger "
                  "WHERE asset = 'penalty' ORDER BY path"))


def test_small_files_judged_together_as_each_alone(small_files, ingest, query, judged, monkeypatch):
    ingest("penalty", MONTH)
    assert judged == [8]  # one frame for the three files
    together = loaded(query)
    raw, quarantine, ledger = together
    # amr's row 1 is decided after its delivery, tax's row 1 before: each judged by its own delivery date
    assert sorted((u, no) for u, _, no, *_ in raw) == [
        ("amr", "济任市监罚〔2020〕2号"), ("amr", "济任市监罚〔2020〕5号"),
        ("tax", "济任市监罚〔2020〕1号"), ("tax", "济任市监罚〔2020〕4号")]
    assert sorted((u, r, tuple(rs)) for u, r, rs, _ in quarantine) == [
        ("amr", 1, ("date_after_delivery:处罚决定日期",)), ("amr", 2, ("bad_type:罚款金额（万元）",)),
        ("amr", 3, ("invalid_uscc:统一社会信用代码", "date_after_delivery:处罚决定日期")), ("tax", 2, ("duplicate_key",))]
    assert [(status, rows) for _, status, rows, *_ in ledger] == [("loaded", 3), ("loaded", 2), ("loaded", 3)]

    judged.clear()
    monkeypatch.setattr(loader, "SMALL_FILE_BYTES", 0)  # every file judged alone
    ingest("penalty", MONTH)
    assert judged == [3, 3, 2]
    assert loaded(query) == together


def test_a_batch_the_judge_refuses_is_judged_file_by_file(small_files, deliver, ingest, query, judged, monkeypatch):
    # decimals too long for the others' exact arithmetic: the batch fails, then this file alone
    deliver("tax", MONTH, "penalty.20200822.csv", [penalty(7, **{"罚款金额（万元）": "0." + "0" * 30 + "1"})])
    result = ingest("penalty", MONTH)
    assert judged[0] == 9 and judged[1:] == [3, 3, 1, 2]
    assert [(f.rel.split("/")[-1], f.status, f.reason_code) for f in result.files if f.status != "loaded"] == [
        ("penalty.20200822.csv", "rejected", "value_too_large")]
    together = loaded(query)

    monkeypatch.setattr(loader, "SMALL_FILE_BYTES", 0)
    ingest("penalty", MONTH)
    assert loaded(query) == together
