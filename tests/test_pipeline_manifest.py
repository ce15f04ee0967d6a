"""The sample city and the ingestion agree: every defect the generator injected is found, with
exactly the recorded reasons, and nothing else is quarantined or rejected."""

import json

import pytest

from jn_credit_dagster.generate import generate
from jn_credit_dagster.lib.ingest.readers import fingerprint
from jn_credit_dagster.lib.ingest.specs import load_specs

MONTHS = ["2020-09", "2020-10"]
RATES = {"file_breakage": 1.0, "dirty_row": 0.05, "prohibited": 0.01, "redelivery": 0.05}


@pytest.fixture
def loaded(inbox, ingest):
    generate(inbox, MONTHS[0], MONTHS[-1], scale="small", seed=11, rates=RATES)
    manifest = json.loads((inbox / "manifest.json").read_text(encoding="utf-8"))
    for month in MONTHS:  # months in order, as the nightly and monthly runs do
        for feed in load_specs():
            ingest(feed, month)
    return manifest


def test_quarantine_matches_the_manifest(loaded, query):
    found = {}
    for feed in load_specs():
        rows = query(f"SELECT l.path, q.row_no, q.reasons FROM quarantine.{feed} q "  # noqa: S608 - feed ids of our specs
                     "JOIN ingest.ledger l ON l.sha256 = q.file_sha256")
        found.update({(path, row_no): sorted(reasons) for path, row_no, reasons in rows})
    expected = {(d["file"], d["row_no"]): sorted(d["expected_reasons"]) for d in loaded["row_defects"]}
    assert len(expected) > 100
    missing = {k: v for k, v in expected.items() if k not in found}
    unexpected = {k: v for k, v in found.items() if k not in expected}
    wrong = {k: (expected[k], found[k]) for k in expected.keys() & found.keys() if expected[k] != found[k]}
    assert not missing and not unexpected and not wrong, (list(missing.items())[:5], list(unexpected.items())[:5],
                                                          list(wrong.items())[:5])


def test_rejections_and_redeliveries_match_the_manifest(loaded, query, inbox):
    from jn_credit_dagster.defs.ingest.steps import record_inbox_month
    from jn_credit_dagster.lib.ingest.inbox import parse_month
    from jn_credit_dagster.defs.resources import Inbox, Warehouse

    for month in MONTHS:
        record_inbox_month(parse_month(month), Warehouse(), Inbox(path=str(inbox)))
    rejected = {path: (sha, code) for sha, path, code in
                query("SELECT sha256, path, reason_code FROM ingest.ledger WHERE status = 'rejected'")}
    noted = {p: first for first, ps in query("SELECT path, redeliveries FROM ingest.ledger") for p in ps}
    assert loaded["file_defects"]
    for defect in loaded["file_defects"]:
        # the same bytes again in the same unit's month folder are a no-op, noted on the first copy
        sha, code = rejected[noted.get(defect["file"], defect["file"])]
        assert sha == fingerprint(inbox / defect["file"], text=False).sha256
        assert code == defect["expected_rejection"], defect
    assert len(rejected) <= len(loaded["file_defects"])
    assert {d["file"] for d in loaded["redeliveries"]} <= set(noted)
