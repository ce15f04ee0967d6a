"""`jn-credit ledger`: every path found for a month, what became of it and why, and per feed what
the warehouse tables hold, so that delivered = accepted + quarantined can be reconciled file by file
and feed by feed (DESIGN.md, "Command-line contract")."""

from __future__ import annotations

import datetime as dt

from psycopg2 import sql

from . import tables
from .specs import load_specs


def month_ledger(cur, month: dt.date) -> dict:
    cur.execute("""SELECT path, unit, feed, sha256, status, reason_code, reason, rows, accepted, quarantined,
                          redeliveries, month
                   FROM ingest.ledger WHERE month = %s OR month IS NULL ORDER BY path""", (month,))
    files = []
    for path, unit, feed, sha, status, code, reason, rows, accepted, quarantined, copies, folder in cur.fetchall():
        files.append({"path": path, "unit": unit, "feed": feed, "sha256": sha, "status": status,
                      "reason_code": code, "reason": reason, "rows": rows, "accepted": accepted,
                      "quarantined": quarantined, "redelivery_of": None})
        files += [{"path": copy, "unit": unit, "feed": feed, "sha256": sha, "status": "redelivery",
                   "reason_code": None, "reason": None, "rows": 0, "accepted": 0, "quarantined": 0,
                   "redelivery_of": path} for copy in copies]
    files.sort(key=lambda f: f["path"])
    feeds = {}
    for feed, spec in load_specs().items():
        mine = [f for f in files if f["feed"] == feed]
        loaded = [f for f in mine if f["status"] == "loaded"]
        cur.execute(sql.SQL("SELECT (SELECT count(*) FROM {} WHERE month = %s), (SELECT count(*) FROM {} WHERE month = %s)")
                    .format(tables.raw_table(spec), tables.quarantine_table(spec)), (month, month))
        raw_rows, quarantine_rows = cur.fetchone()
        feeds[feed] = {"files": len(mine), "rows": sum(f["rows"] for f in loaded),
                       "accepted": sum(f["accepted"] for f in loaded),
                       "quarantined": sum(f["quarantined"] for f in loaded),
                       "raw_rows": raw_rows, "quarantine_rows": quarantine_rows}
    return {"month": f"{month:%Y-%m}", "files": files, "feeds": feeds}
