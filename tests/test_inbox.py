"""Files no feed can claim are still delivered: the inbox scan rejects and archives them."""

from pathlib import Path

from jn_credit_dagster.defs.ingest.steps import record_inbox_month
from jn_credit_dagster.lib.ingest.inbox import parse_month
from jn_credit_dagster.defs.resources import Inbox, Warehouse


def test_unclaimed_files_are_rejected_once(db, inbox, query, tmp_path):
    month = inbox / "amr" / "2020-08"
    month.mkdir(parents=True)
    (month / "penalties.20200820.csv").write_text("a\n1\n", encoding="utf-8")     # unknown feed
    (month / "penalty.20200231.csv").write_text("b\n2\n", encoding="utf-8")       # no such delivery date
    (month / "penalty.20200820.CSV").write_text("c\n3\n", encoding="utf-8")       # not the contract's extension
    (month / "sub").mkdir()
    (month / "sub" / "penalty.20200820.csv").write_text("d\n4\n", encoding="utf-8")  # nested too deep
    (inbox / "amr" / "penalty.20200820.csv").write_text("e\n5\n", encoding="utf-8")  # outside any month folder
    (inbox / "manifest.json").write_text("{}", encoding="utf-8")  # the inbox root is not a delivery
    (month / "penalty.20200820.csv").write_text("行政相对人名称\n", encoding="utf-8")  # a feed's own file: not ours

    def scan():
        return sorted(record_inbox_month(parse_month("2020-08"), Warehouse(), Inbox(path=str(inbox))))

    first = scan()
    assert first == [
        ("amr/2020-08/penalties.20200820.csv", "unknown_feed", "unknown feed 'penalties'"),
        ("amr/2020-08/penalty.20200231.csv", "bad_name", "delivery date 20200231 is not a date"),
        ("amr/2020-08/penalty.20200820.CSV", "bad_name", "name is not <feed>.<YYYYMMDD>[.<n>].<csv|xlsx|json>"),
        ("amr/2020-08/sub/penalty.20200820.csv", "bad_name", "not in a <unit>/<YYYY-MM>/ folder"),
        ("amr/penalty.20200820.csv", "bad_name", "not in a <unit>/<YYYY-MM>/ folder"),
    ]
    assert scan() == first[:3]  # files outside month folders are on record already; the month is rebuilt
    ledger = query("SELECT path, status, month::text, archived_path FROM ingest.ledger ORDER BY path")
    assert [(p, s) for p, s, _, _ in ledger] == [(p, "rejected") for p, _, _ in first]
    assert all(Path(a).read_bytes() == (inbox / p).read_bytes() for p, _, _, a in ledger)
    assert [m for _, _, m, _ in ledger][-1] is None
