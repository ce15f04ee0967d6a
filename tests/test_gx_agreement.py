"""The suites mean the same thing twice: compiled to SQL by the loader, and run by GX itself in
the asset check. For every feed's rule cases, GX's unexpected count of each expectation equals
the number of quarantined rows carrying that expectation's reason."""

from collections import Counter

import pytest
from psycopg2 import sql

from jn_credit_dagster.lib.ingest import gx_validation
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.lib.ingest.suites import load_suite
from jn_credit_dagster.lib.ingest.tables import PARSERS
from test_feed_rules import CASES, _rows


@pytest.mark.parametrize("feed", sorted(CASES))
def test_gx_counts_match_the_quarantine(feed, deliver, ingest, query, db):
    case_file = CASES[feed]
    deliver(case_file["unit"], case_file["month"], f"{feed}.{case_file['delivery'].replace('-', '')}.csv", _rows(case_file))
    result = ingest(feed, case_file["month"])
    reasons = Counter(r for (rs,) in query(sql.SQL("SELECT reasons FROM {}").format(sql.Identifier("quarantine", feed)))
                      for r in rs)
    spec = load_specs()[feed]
    required_parsed = {f"required:{c.header}": f"bad_type:{c.header}" for c in spec.columns if c.type in PARSERS}
    outcomes = gx_validation.validate_month(db, spec, load_suite(feed), result.month)
    assert len(outcomes) == len(load_suite(feed).rules)
    for o in outcomes:
        if o.reason == "bad_type:*":
            expected = sum(n for r, n in reasons.items() if r.startswith("bad_type:"))
        elif o.reason in required_parsed:
            # GX sees an unparseable value as missing (where the rule applies); the loader says bad_type instead
            assert reasons[o.reason] <= (o.unexpected or 0) <= reasons[o.reason] + reasons[required_parsed[o.reason]]
            continue
        else:
            expected = reasons[o.reason]
        assert (o.unexpected or 0) == expected, f"{feed} {o.expectation} {o.reason}"
        assert o.success == (expected == 0)
