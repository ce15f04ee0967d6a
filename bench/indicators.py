"""Every indicator of one month on a city-scale year: the warehouse facts and each indicator timed.

    python bench/generate.py --scale city --months 2019-09:2020-08 --out /data/city   # once, ~10 min
    python bench/indicators.py --inbox /data/city --months 2019-09:2020-08 [--database-url URL]

Loads the inbox into the database (every feed, month by month in delivery order, two feeds side by
side; skipped for the months already in the ledger), builds the calendar, units and districts, then for
the last month times: each state feed's latest state (wh.<feed>), the subject master (wh.subjects),
each data indicator's SQL, and compute_month as the indicators asset runs it (every indicator, scored
and stored). The database is kept, so a second run only measures. Target: compute_month < 60 s.
Last line: indicators_seconds=<compute_month> facts_seconds=<facts + subjects>
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jn_credit_dagster.lib.common.city import district_rows  # noqa: E402
from jn_credit_dagster.lib.warehouse import subjects  # noqa: E402
from jn_credit_dagster.defs.warehouse.assets import calendar_asset, districts_asset, units_asset  # noqa: E402
from jn_credit_dagster.lib.common import database  # noqa: E402
from jn_credit_dagster.lib.warehouse import facts  # noqa: E402
from jn_credit_dagster.lib.indicators import compute as indicators  # noqa: E402
from jn_credit_dagster.lib.indicators.catalog import load_catalog  # noqa: E402
from jn_credit_dagster.lib.ingest.loader import MonthLoader  # noqa: E402
from jn_credit_dagster.lib.ingest.specs import load_specs  # noqa: E402
from jn_credit_dagster.lib.ingest.suites import load_suite  # noqa: E402
from jn_credit_dagster.defs.resources import Warehouse  # noqa: E402


def months(span: str) -> list[dt.date]:
    first, last = (dt.date.fromisoformat(m + "-01") for m in span.split(":"))
    found = []
    while first <= last:
        found.append(first)
        first = indicators.add_months(first, 1)
    return found


def load_feed(url: str, feed: str, inbox: str, wanted: list[dt.date], archive: str) -> tuple[str, int, float]:
    """One feed, its months in order (an event feed's duplicates look back at earlier months)."""
    spec, suite, rows, started = load_specs()[feed], load_suite(feed), 0, time.perf_counter()
    for month in wanted:
        with database.transaction(url) as cur:
            rows += MonthLoader(cur, spec, suite, Path(inbox), month, Path(archive)).run().rows
    return feed, rows, time.perf_counter() - started


def load(url: str, inbox: Path, span: list[dt.date]) -> None:
    with database.transaction(url) as cur:
        cur.execute("SELECT DISTINCT month FROM ingest.ledger")
        done = {r[0] for r in cur.fetchall()}
    wanted = [m for m in span if m not in done]
    if not wanted:
        print(f"inbox already loaded for {span[0]:%Y-%m}…{span[-1]:%Y-%m}")
        return
    started = time.perf_counter()
    # spawned, not forked: a forked worker would share this process's pooled connections
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = [pool.submit(load_feed, url, feed, str(inbox), wanted, str(inbox.parent / "archive"))
                for feed in sorted(load_specs(), key=lambda f: -sum(p.stat().st_size for p in inbox.glob(f"*/*/{f}.*")))]
        total = 0
        for job in jobs:
            feed, rows, seconds = job.result()
            total += rows
            print(f"  loaded {feed:<17} {rows:>11,} rows  {seconds:7.1f}s", flush=True)
    print(f"loaded {total:,} rows of {len(wanted)} months in {time.perf_counter() - started:.0f}s")


def reference_tables(url: str) -> None:
    result = dg.materialize([calendar_asset(), units_asset(), districts_asset()],
                            resources={"warehouse": Warehouse(database_url=url)}, instance=dg.DagsterInstance.ephemeral())
    assert result.success


def timed(label: str, work) -> float:
    started = time.perf_counter()
    outcome = work()
    seconds = time.perf_counter() - started
    print(f"  {label:<34} {seconds:8.2f}s  {outcome}", flush=True)
    return seconds


def measure(url: str, month: dt.date) -> None:
    print(f"month {month:%Y-%m}")
    with database.transaction(url) as cur:
        cur.execute("SELECT count(*) FROM ingest.ledger WHERE status = 'loaded' AND month <= %s", (month,))
        files = cur.fetchone()[0]
        cur.execute("SELECT coalesce(sum(accepted), 0) FROM ingest.ledger WHERE month <= %s", (month,))
        print(f"warehouse: {files:,} files, {cur.fetchone()[0]:,} correct rows delivered up to {month:%Y-%m}")
    print("warehouse facts (each in its own transaction, as its asset):")
    fact_seconds = 0.0
    for spec in facts.state_specs():
        with database.transaction(url) as cur:
            fact_seconds += timed(f"wh.{spec.id}", lambda: f"{facts.build_latest_state(cur, spec, month):,} rows")
    with database.transaction(url) as cur:
        fact_seconds += timed("wh.subjects", lambda: f"{subjects.build_month(cur, month, [c for c, _, _ in district_rows()])['rows']:,} rows")
    with database.transaction(url) as cur:
        cur.execute("ANALYZE")  # as autovacuum would after a load; the plans below assume statistics

    print("each data indicator's SQL:")
    catalog = load_catalog()
    per_indicator = {}
    with database.transaction(url) as cur:
        cur.execute("SET LOCAL work_mem = '256MB'")  # as compute_month
        for ind in catalog.indicators.values():
            if ind.source == "data":
                per_indicator[ind.id] = timed(
                    f"{ind.id} {ind.name}", lambda: _summary(indicators.data_rows(cur, ind, month, indicators.SQL_DIR)))
    print(f"  sum of the indicator SQL: {sum(per_indicator.values()):.2f}s; slowest: "
          + ", ".join(f"{i} {s:.2f}s" for i, s in sorted(per_indicator.items(), key=lambda kv: -kv[1])[:3]))
    print("compute_month (every indicator, scored and stored, as the indicators asset):")
    with database.transaction(url) as cur:
        total = timed("indicators/results", lambda: _total(indicators.compute_month(cur, month)))
    print(f"indicators_seconds={total:.2f} facts_seconds={fact_seconds:.2f}")


def _summary(found) -> str:
    rows, error = found
    city = rows[0]
    return f"value={city.value!r} rows={len(rows)}" + (f" ERROR {error}" if error else "")


def _total(result: indicators.MonthIndicators) -> str:
    return f"total_score={result.total_score} statuses={result.count_by_status()} rows={len(result.rows)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inbox", type=Path, required=True, help="a city-scale inbox (bench/generate.py --out)")
    parser.add_argument("--months", required=True, help="YYYY-MM:YYYY-MM; the last one is measured")
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded server")
    args = parser.parse_args()
    url = database.resolve_url(args.database_url)
    database.ensure_schema(url)
    span = months(args.months)
    load(url, args.inbox.resolve(), span)
    reference_tables(url)
    measure(url, span[-1])


if __name__ == "__main__":
    main()
