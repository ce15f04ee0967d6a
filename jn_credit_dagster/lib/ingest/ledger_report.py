"""`jn-credit ledger`: every path found for a month, what became of it and why, and per feed what
the warehouse tables hold, so that delivered = accepted + quarantined can be reconciled file by file
and feed by feed (DESIGN.md, "Command-line contract"); and the same month as a delivery matrix a
person reads (units × feeds: loaded, late, rejected, missing)."""

from __future__ import annotations

import datetime as dt

from psycopg2 import sql

from jn_credit_dagster.lib.common.city import UNITS
from jn_credit_dagster.lib.common.present import display_width, pad
from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.ingest.deliveries_due import Due, deadline
from jn_credit_dagster.lib.ingest.specs import load_specs


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


# --- the delivery matrix (`jn-credit ledger --format table`) -------------------------------------------

MARKS = {"loaded": "✓", "late": "迟", "rejected": "✗", "missing": "缺", "none": "·"}
LEGEND = "✓ 已入库  迟 迟报（25 日后）  ✗ 整件拒收  缺 缺报  · 未报（非应报）  n 个文件时标 ✓n"


def delivery_matrix(doc: dict, due: list[Due]) -> tuple[list[str], list[str], dict[tuple[str, str], dict]]:
    """Units (rows) × feeds (columns) of a month's ledger document, each cell: files loaded and
    rejected, and the due status where the delivery is due (lib/ingest/deliveries_due.py judges it)."""
    cells: dict[tuple[str, str], dict] = {}

    def cell(unit, feed):
        return cells.setdefault((unit, feed), {"loaded": 0, "rejected": 0, "due": None})

    for f in doc["files"]:
        if f["unit"] and f["feed"] and f["status"] in ("loaded", "rejected"):
            cell(f["unit"], f["feed"])[f["status"]] += 1
    for d in due:
        cell(d.unit, d.feed)["due"] = d.status
    order = list(load_specs())
    feeds = sorted({feed for _, feed in cells}, key=lambda f: (order.index(f) if f in order else len(order), f))
    unit_order = list(UNITS)
    units = sorted({unit for unit, _ in cells}, key=lambda u: (unit_order.index(u) if u in unit_order else len(unit_order), u))
    return units, feeds, cells


def mark(c: dict | None) -> str:
    """What one cell shows: missing and late first (they go on the rectification list), then loaded
    (with the number of files when more than one), then rejected."""
    if c is None:
        return MARKS["none"]
    if c["due"] == "missing":
        return MARKS["missing"]
    text = ""
    if c["loaded"]:
        text = MARKS["loaded"] + (str(c["loaded"]) if c["loaded"] > 1 else "")
    if c["due"] == "late":
        text = MARKS["late"] + text[1:] if text else MARKS["late"]
    if c["rejected"]:
        text += MARKS["rejected"] + (str(c["rejected"]) if c["rejected"] > 1 else "")
    return text or MARKS["none"]


def matrix_lines(doc: dict, due: list[Due]) -> list[str]:
    """The delivery matrix as text a person reads: one row per unit, one column per feed (numbered,
    with the key below), then the per-feed reconciliation and every rejected path with its reason."""
    units, feeds, cells = delivery_matrix(doc, due)
    numbers = {feed: str(i + 1) for i, feed in enumerate(feeds)}
    rows = [["单位", *numbers.values(), "入库", "拒收", "迟报", "缺报"]]
    for unit in units:
        mine = [cells.get((unit, feed)) for feed in feeds]
        present = [c for c in mine if c]
        rows.append([f"{unit} {UNITS.get(unit, '')}".strip(), *(mark(c) for c in mine),
                     str(sum(c["loaded"] for c in present)), str(sum(c["rejected"] for c in present)),
                     str(sum(c["due"] == "late" for c in present)), str(sum(c["due"] == "missing" for c in present))])
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"{doc['month']} 报送矩阵（单位 × 数据项，应报 {sum(1 for _ in due)} 项，截止 {deadline(_month(doc))}）"]
    lines += ["  ".join(pad(v, widths[i], right=i > 0) for i, v in enumerate(r)).rstrip() for r in rows]
    lines.append(LEGEND)
    lines.append("数据项：" + "  ".join(f"{n} {feed}" for feed, n in numbers.items()))
    lines.append("")
    lines.append("逐项核对（入库 = raw 表行数，隔离 = quarantine 表行数）：")
    head = ["数据项", "文件", "行数", "入库", "隔离", "raw", "quarantine", "核对"]
    table = [head]
    for feed, t in doc["feeds"].items():
        if t["files"] or t["raw_rows"] or t["quarantine_rows"]:
            ok = t["accepted"] == t["raw_rows"] and t["quarantined"] == t["quarantine_rows"]
            table.append([feed, *(str(t[k]) for k in ("files", "rows", "accepted", "quarantined", "raw_rows",
                                                       "quarantine_rows")), "一致" if ok else "不一致"])
    widths = [max(display_width(r[i]) for r in table) for i in range(len(head))]
    lines += ["  ".join(pad(v, widths[i], right=0 < i < len(head) - 1) for i, v in enumerate(r)).rstrip() for r in table]
    rejected = [f for f in doc["files"] if f["status"] == "rejected"]
    lines.append("")
    lines.append(f"拒收 {len(rejected)} 个路径：" if rejected else "无拒收路径。")
    lines += [f"  {f['path']}  {f['reason_code']}: {f['reason']}" for f in rejected]
    return lines


def _month(doc: dict) -> dt.date:
    return dt.datetime.strptime(doc["month"], "%Y-%m").date()

