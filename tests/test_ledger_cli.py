"""`jn-credit ledger`: every path found for a month, what became of it, and the per-feed
reconciliation delivered = accepted + quarantined against the warehouse tables (DESIGN.md)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

PENALTY = yaml.safe_load((Path(__file__).parent / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]


def penalty(n, **changes):
    return {**PENALTY, "行政处罚决定书文号": f"济任市监罚〔2020〕{n}号", **changes}


def test_ledger_lists_every_path_and_reconciles_every_feed(deliver, inbox, ingest, tmp_path, db):
    first = deliver("amr", "2020-08", "penalty.20200815.csv", [penalty(1), penalty(2, 处罚决定日期="2020-09-30")])
    shutil.copy(first, first.with_name("penalty.20200816.csv"))  # the same bytes again: a no-op
    deliver("court", "2020-08", "penalty.20200820.xlsx", [penalty(3)], fmt="xlsx")
    deliver("tax", "2020-08", "penalty.20200821.csv", [{"行政相对人名称": "缺列"}])  # rejected whole
    os.symlink("/etc/passwd", inbox / "tax" / "2020-08" / "penalty.20200822.csv")  # never opened
    ingest("penalty", "2020-08")
    done = subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", "ledger", "--month", "2020-08",
                           "--format", "json", "--database-url", db], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    files = {f["path"]: f for f in doc["files"]}
    assert {p: (f["status"], f["reason_code"], f["redelivery_of"]) for p, f in files.items()} == {
        "amr/2020-08/penalty.20200815.csv": ("loaded", None, None),
        "amr/2020-08/penalty.20200816.csv": ("redelivery", None, "amr/2020-08/penalty.20200815.csv"),
        "court/2020-08/penalty.20200820.xlsx": ("loaded", None, None),
        "tax/2020-08/penalty.20200821.csv": ("rejected", "missing_columns", None),
        "tax/2020-08/penalty.20200822.csv": ("rejected", "outside_inbox", None),
    }
    assert files["tax/2020-08/penalty.20200822.csv"]["sha256"] is None
    feed = doc["feeds"]["penalty"]
    loaded = [f for f in doc["files"] if f["feed"] == "penalty" and f["status"] == "loaded"]
    assert feed["accepted"] == sum(f["accepted"] for f in loaded) == feed["raw_rows"] == 2
    assert feed["quarantined"] == sum(f["quarantined"] for f in loaded) == feed["quarantine_rows"] == 1
    assert feed["rows"] == feed["accepted"] + feed["quarantined"] and feed["files"] == 5
    table = subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", "ledger", "--month", "2020-08",
                            "--database-url", db], capture_output=True, text=True, timeout=120)
    assert table.returncode == 0 and "outside_inbox" in table.stdout and "missing_columns" in table.stdout
