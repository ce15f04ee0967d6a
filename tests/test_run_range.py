"""`jn-credit run --months`: a range in one process that stops at a failed month and, run again,
resumes there; `jn-credit ledger` reconciling every feed of a month; and the one judge of
on-time / late / missing (lib/ingest/deliveries_due.py) agreeing from the inbox and from the ledger."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from jn_credit_dagster.lib.ingest import deliveries_due
from jn_credit_dagster.lib.warehouse import month_state

CASES = Path(__file__).parent / "cases"


def case(feed: str) -> dict:
    return yaml.safe_load((CASES / f"{feed}.yaml").read_text(encoding="utf-8"))


def jn_credit(*args, env):
    return subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=900, check=False)


def deliver_every_feed(deliver, month: str, day: str) -> int:
    """Each feed of tests/cases: its good row and its first case's row (usually quarantined), by its
    unit, delivered on `day` of `month`."""
    count = 0
    for path in sorted(CASES.glob("*.yaml")):
        c = yaml.safe_load(path.read_text(encoding="utf-8"))
        bad = {**c["good"], **c["cases"][0].get("set", {})} if c.get("cases") else None
        deliver(c["unit"], month, f"{c['feed']}.{month.replace('-', '')}{day}.csv", [c["good"], *([bad] if bad else [])])
        count += 1
    return count


def runs_of(dagster_home: Path, month: str) -> list:
    return on_instance(dagster_home, lambda instance: instance.get_runs(filters=dg.RunsFilter(tags={"month": month})))


def materializations_of(dagster_home: Path, *key: str) -> int:
    return on_instance(dagster_home, lambda instance: len(
        instance.fetch_materializations(dg.AssetKey(list(key)), limit=100).records))


def on_instance(dagster_home: Path, read):
    os.environ["DAGSTER_HOME"], saved = str(dagster_home), os.environ.get("DAGSTER_HOME")
    try:
        with dg.DagsterInstance.get() as instance:
            return read(instance)
    finally:
        if saved is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = saved


def test_a_range_stops_at_the_failed_month_and_resumes_there(db, deliver, inbox, query, tmp_path):
    penalty = case("penalty")
    deliver("amr", "2020-07", "penalty.20200720.csv", [penalty["good"]])
    feeds = deliver_every_feed(deliver, "2020-08", "27")  # after the 25th: late where due
    env = {"DAGSTER_HOME": str(tmp_path / "dh"), "JN_CREDIT_HOME": str(tmp_path / "h")}
    # a real failure: the warehouse refuses August's indicator totals (indicators/results fails); NOT VALID:
    # rows an earlier test left are not this test's business
    query("ALTER TABLE wh.indicator_totals ADD CONSTRAINT test_refuses_august CHECK (month <> DATE '2020-08-01') NOT VALID")
    first = jn_credit("run", "--inbox", str(inbox), "--months", "2020-07:2020-08", env=env)
    assert first.returncode == 1, first.stdout[-3000:]
    assert len(first.stderr.strip().splitlines()) == 1, first.stderr[-3000:]
    assert "2020-08" in first.stderr and "test_refuses_august" in first.stderr, first.stderr
    assert "[1/2] 2020-07  ok" in first.stdout and "[2/2] 2020-08  FAILED" in first.stdout, first.stdout
    assert query("SELECT to_char(month, 'YYYY-MM') FROM ingest.materialized_months") == [("2020-07",)]
    assert len(runs_of(tmp_path / "dh", "2020-07")) == 1
    # the whole reference tables are rebuilt once per range, by its first month's run
    assert materializations_of(tmp_path / "dh", "wh", "calendar") == 1
    assert materializations_of(tmp_path / "dh", "raw", "penalty") == 2

    query("ALTER TABLE wh.indicator_totals DROP CONSTRAINT test_refuses_august")
    second = jn_credit("run", "--inbox", str(inbox), "--months", "2020-07:2020-08", env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "[1/2] 2020-07  skipped" in second.stdout and "[2/2] 2020-08  ok" in second.stdout, second.stdout
    assert "2 months, 1 run, 1 skipped" in second.stdout
    assert len(runs_of(tmp_path / "dh", "2020-07")) == 1, "July was not run again"
    august = runs_of(tmp_path / "dh", "2020-08")
    assert [r.status for r in august] == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    assert (tmp_path / "h" / "reports" / "2020-08").is_dir(), "the last month's reports"
    assert not (tmp_path / "h" / "reports" / "2020-07").exists(), "reports for the last month only"

    # nothing changed: nothing runs (test_the_fingerprint_… shows what a change does)
    third = jn_credit("run", "--inbox", str(inbox), "--months", "2020-07:2020-08", env=env)
    assert third.returncode == 0 and "2 months, 0 run, 2 skipped" in third.stdout, third.stdout + third.stderr
    assert len(runs_of(tmp_path / "dh", "2020-08")) == 2

    # the month's ledger reconciles every feed: Σ accepted of its loaded files = raw rows, Σ quarantined = quarantine rows
    done = jn_credit("ledger", "--month", "2020-08", "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    delivered = {f["feed"] for f in doc["files"] if f["status"] == "loaded"}
    assert len(delivered) == feeds
    for feed, totals in doc["feeds"].items():
        loaded = [f for f in doc["files"] if f["feed"] == feed and f["status"] == "loaded"]
        assert totals["raw_rows"] == totals["accepted"] == sum(f["accepted"] for f in loaded), feed
        assert totals["quarantine_rows"] == totals["quarantined"] == sum(f["quarantined"] for f in loaded), feed
        assert sum(f["rows"] for f in loaded) == totals["accepted"] + totals["quarantined"], feed
    assert sum(t["quarantine_rows"] for t in doc["feeds"].values()) > 0
    table = jn_credit("ledger", "--month", "2020-08", env=env)
    assert table.returncode == 0, table.stderr
    rows = {line.split()[0]: line for line in table.stdout.splitlines() if line.split()}
    # registry is due from amr by the 25th and came on the 27th; logistics from transport never came
    assert "迟" in rows["amr"] and "缺" in rows["transport"] and "缺" not in rows["commerce"], table.stdout
    assert "不一致" not in table.stdout and "一致" in table.stdout


def test_the_fingerprint_covers_the_month_and_every_earlier_one(inbox, deliver):
    july = deliver("amr", "2020-07", "penalty.20200720.csv", [case("penalty")["good"]])
    deliver("amr", "2020-08", "penalty.20200820.csv", [case("penalty")["good"]])
    september = deliver("amr", "2020-09", "penalty.20200920.csv", [case("penalty")["good"]])
    august = dt.date(2020, 8, 1)
    before = month_state.fingerprint(inbox, august)
    assert before.files == 2 and before == month_state.fingerprint(inbox, august)
    os.utime(september, ns=(1, 1))
    assert month_state.fingerprint(inbox, august) == before, "a later month's file is not August's input"
    os.utime(july, ns=(1, 1))
    assert month_state.fingerprint(inbox, august) != before, "an earlier month's file is"
    after_touch = month_state.fingerprint(inbox, august)
    (inbox / "amr" / "stray.csv").write_text("x")  # outside month folders: every month's inbox scan reports it
    assert month_state.fingerprint(inbox, august) != after_touch


def test_on_time_late_missing_is_judged_alike_from_the_inbox_and_from_the_ledger(db, deliver, inbox, ingest):
    registry = case("registry")["good"]
    deliver("amr", "2020-08", "registry.20200825.csv", [registry])  # the 25th itself: on time
    deliver("court", "2020-08", "blacklist.20200826.csv", [case("blacklist")["good"]])  # late
    deliver("court", "2020-08", "blacklist.20200901.csv", [case("blacklist")["good"]])  # a later one changes nothing
    august = dt.date(2020, 8, 1)
    for feed in ("registry", "blacklist"):
        ingest(feed, "2020-08")
    from jn_credit_dagster.lib.common import database
    with database.transaction(db) as cur:
        from_ledger = deliveries_due.from_ledger(cur, august)
    from_inbox = deliveries_due.from_inbox(inbox, august)
    assert from_ledger == from_inbox
    status = {(d.unit, d.feed): d.status for d in from_inbox}
    assert status[("amr", "registry")] == "on_time" and status[("court", "blacklist")] == "late"
    assert status[("amr", "uscc_issue")] == "missing"
    assert {(g.unit, g.feed) for g in deliveries_due.gaps(inbox, august)} == {k for k, v in status.items() if v != "on_time"}
