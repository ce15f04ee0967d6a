"""Ingest speed and memory against the physical limit of this machine.

Writes an N-row `penalty` CSV in GBK (about 2% of rows broken on purpose), then measures
  (a) a raw COPY of that file into an unlogged table of text columns: the physical limit of parsing;
  (b) the project's full ingest of it: hash, encoding detection, parse, rules, load, quarantine,
      publish (indexes, statistics, partition swap, ledger); run in a child process so its peak RSS
      is its own;
  (c) the durable-landing limit: the same rows, already typed and clean, COPY FREEZE'd into a fresh
      month table, indexed and swapped in as raw.penalty's partition — what landing the data costs.
Uses DATABASE_URL (else the embedded server); touches only month 2099-12 and removes it after.
Last line: ratio=<(a)/(b) as rows/s> landing_ratio=<(c)/(b)> peak_rss_mb=<MB>

    python bench/ingest.py --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from psycopg2 import sql

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.common.identifiers import id_check_char, uscc_check_char
from jn_credit_dagster.lib.ingest.specs import load_specs

MONTH = dt.date(2099, 12, 1)
UNIT = "amr"
NAME = "penalty.20991220.csv"


def uscc(rng: random.Random, prefix: str) -> str:
    body = prefix + rng.choice(["370811", "370812", "370883", "370881"]) + "".join(
        rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc_check_char(body)


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    header = [c.header for c in load_specs()["penalty"].columns]
    authorities = [(f"济宁市{d}市场监督管理局", uscc(rng, "11")) for d in ("任城区", "兖州区", "邹城市", "曲阜市")]
    with open(path, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for n in range(rows):
            authority, authority_uscc = authorities[n % 4]
            person = n % 5 == 0
            decided = dt.date(2099, 11, 1) + dt.timedelta(days=n % 40)
            birth = f"19{60 + n % 40}0{1 + n % 9}1{n % 9}"
            id17 = f"370811{birth}{n % 1000:03d}"
            row = [
                "张伟" if person else f"济宁市鑫源{n}商贸有限公司", "自然人" if person else "法人及非法人组织",
                "" if person else uscc(rng, "91"), "" if person else "李娜",
                "身份证" if person else "", id17 + id_check_char(id17) if person else "",
                f"济市监罚〔2099〕{n}号", "销售不合格产品", "当事人销售的电热水壶经抽检不合格，违反产品质量法",
                "《中华人民共和国产品质量法》第四十九条", "警告;罚款", "警告，罚款人民币2000元", "0.2", "",
                "", decided.isoformat(), (decided + dt.timedelta(days=365)).isoformat(), "", authority,
                authority_uscc, "济宁市市场监督管理局", authorities[0][1], "",
            ]
            if n % 50 == 7:  # about 2% broken: a bad check character, a missing fine, a future date
                broken = n % 3
                if broken == 0 and not person:
                    row[2] = row[2][:17] + ("0" if row[2][17] != "0" else "1")
                elif broken == 1:
                    row[12] = ""
                else:
                    row[15] = "2100-01-05"
            w.writerow(row)


def raw_copy(url: str, path: Path) -> float:
    header = [c.header for c in load_specs()["penalty"].columns]
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(len(header)))
    with database.transaction(url) as cur:
        cur.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cur.execute(sql.SQL("CREATE UNLOGGED TABLE bench_raw_copy ({})").format(columns))
    started = time.perf_counter()
    with database.transaction(url) as cur, open(path, "rb") as f:
        cur.copy_expert("COPY bench_raw_copy FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'GBK')", f)
    seconds = time.perf_counter() - started
    with database.transaction(url) as cur:
        cur.execute("DROP TABLE bench_raw_copy")
    return seconds


def full_ingest(url: str, inbox: Path, archive: Path) -> dict:
    from jn_credit_dagster.lib.ingest.loader import load_month
    from jn_credit_dagster.lib.ingest.suites import load_suite

    spec = load_specs()["penalty"]
    database.ensure_schema(url)
    started = time.perf_counter()
    result = load_month(url, spec, load_suite("penalty"), inbox, MONTH, archive)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "accepted": result.accepted, "quarantined": result.quarantined}


def landing(url: str, tmp: Path) -> float:
    """(c): typed clean rows COPY FREEZE'd into a fresh month table, indexed by the swap."""
    spec = load_specs()["penalty"]
    typed = tmp / "typed.csv"
    with database.transaction(url) as cur, open(typed, "wb") as f:
        cur.copy_expert(sql.SQL("COPY (SELECT * FROM {} WHERE month = {}) TO STDOUT WITH (FORMAT csv)").format(
            tables.raw_table(spec), sql.Literal(MONTH)).as_string(cur), f)
    started = time.perf_counter()
    with database.transaction(url) as cur, open(typed, "rb") as f:
        fresh = tables.fresh_month_table(cur, tables.raw_table(spec), MONTH)
        cur.copy_expert(sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, FREEZE)").format(fresh).as_string(cur), f,
                        size=1 << 20)
        tables.swap_month(cur, tables.raw_table(spec), fresh, MONTH)
    return time.perf_counter() - started


def cleanup(url: str) -> None:
    spec = load_specs()["penalty"]
    with database.transaction(url) as cur:
        for table in (tables.raw_table(spec), tables.quarantine_table(spec)):
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(tables.month_partition(table, MONTH)))
        cur.execute("DELETE FROM ingest.ledger WHERE month = %s", (MONTH,))
        cur.execute("DELETE FROM ingest.expectation_results WHERE month = %s", (MONTH,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("INBOX", "ARCHIVE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["JN_CREDIT_SETTLE_SECONDS"] = "0"  # the bench wrote its file itself, completely
    url = database.resolve_url()
    if args.child:
        print(json.dumps(full_ingest(url, Path(args.child[0]), Path(args.child[1]))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox"
        path = inbox / UNIT / f"{MONTH:%Y-%m}" / NAME
        path.parent.mkdir(parents=True)
        started = time.perf_counter()
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(f"wrote {args.rows:,} rows of penalty in GBK: {size_mb:.0f} MB in {time.perf_counter() - started:.1f}s")

        database.ensure_schema(url)
        cleanup(url)
        copy_seconds = raw_copy(url, path)
        copy_rate = args.rows / copy_seconds
        print(f"(a) raw COPY into an unlogged text table: {copy_seconds:.2f}s  {copy_rate:,.0f} rows/s")

        child = subprocess.run([sys.executable, __file__, "--child", str(inbox), str(Path(tmp) / "archive")],
                               capture_output=True, text=True, check=True)
        outcome = json.loads(child.stdout.strip().splitlines()[-1])
        if outcome["accepted"] + outcome["quarantined"] != args.rows:
            raise SystemExit(f"the ingest did not take every row: {outcome}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ingest_rate = args.rows / outcome["seconds"]
        print(f"(b) full ingest (parse, rules, load, quarantine): {outcome['seconds']:.2f}s  {ingest_rate:,.0f} rows/s  "
              f"accepted={outcome['accepted']:,} quarantined={outcome['quarantined']:,}")
        landing_seconds = landing(url, Path(tmp))
        landing_rate = outcome["accepted"] / landing_seconds
        print(f"(c) durable landing of the typed clean rows (COPY FREEZE into a fresh month partition, indexed): "
              f"{landing_seconds:.2f}s  {landing_rate:,.0f} rows/s  ({landing_rate / copy_rate:.2f} of (a))")
        cleanup(url)
    print(f"ratio={ingest_rate / copy_rate:.2f} landing_ratio={ingest_rate / landing_rate:.2f} peak_rss_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
