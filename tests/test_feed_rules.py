"""Every ★ rule of FEEDS.md, per feed: a good row is accepted, each broken row is quarantined
with exactly the reasons tests/cases/<feed>.yaml states, and nothing else happens to it."""

from pathlib import Path

import pytest
import yaml
from psycopg2 import sql

from jn_credit_dagster.lib.ingest.specs import load_specs

CASES = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((Path(__file__).parent / "cases").glob("*.yaml"))}


def test_every_feed_has_cases():
    assert set(CASES) == set(load_specs())


def _rows(case_file):
    """The good row first, then one row per case; text key columns made unique per row so that
    only the rule under test can quarantine a row."""
    spec = load_specs()[case_file["feed"]]
    rows = [dict(case_file["good"])] + [{**case_file["good"], **case["set"]} for case in case_file["cases"]]
    text_keys = [spec.column(k).header for k in spec.key if spec.column(k).type == "text"] if spec.checks_duplicates else []
    for n, row in enumerate(rows):
        for header in text_keys:
            if row.get(header) and n:
                row[header] = f"{row[header]}-{n}"
    return rows


@pytest.mark.parametrize("feed", sorted(CASES))
def test_rules(feed, deliver, ingest, query):
    case_file = CASES[feed]
    rows = _rows(case_file)
    deliver(case_file["unit"], case_file["month"], f"{feed}.{case_file['delivery'].replace('-', '')}.csv", rows)
    result = ingest(feed, case_file["month"])

    quarantined = dict(query(sql.SQL("SELECT row_no, reasons FROM {}").format(sql.Identifier("quarantine", feed))))
    accepted = {r[0] for r in query(sql.SQL("SELECT row_no FROM {}").format(sql.Identifier("raw", feed)))}
    assert 1 in accepted, f"the good row was quarantined: {quarantined.get(1)}"
    for n, case in enumerate(case_file["cases"], start=2):
        got = sorted(quarantined.get(n, []))
        assert got == sorted(case["reasons"]), f"{feed} case {case['set']}: expected {case['reasons']}, got {got}"
        assert (n in accepted) == (not case["reasons"])
    assert result.rows == len(rows) == len(accepted) + len(quarantined)
