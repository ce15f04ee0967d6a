"""The national-platform package of a month: one deterministic zip.

Members, in this order:
  license.csv     the month's accepted 行政许可 rows (raw.license, folder M)
  penalty.csv     the month's accepted 行政处罚 rows (raw.penalty, folder M)
  joint_case.csv  the joint reward/punishment case feedback list: the latest state (delivered in M or
                  before) of every 联合奖惩案例 whose 实施日期 is in M — the cases I26 measures — with its
                  反馈国家平台日期
  self_report.csv the self-reported indicator form: every self-report indicator (and deduction) of the
                  catalog with the city value, score and status, and each unit's own report
  manifest.json   month, the source fingerprint, and every file's rows, bytes and SHA-256

The column order of license.csv and penalty.csv is the national 双公示 data standard's: it is the order
in which FEEDS.md lists the columns of `license` and `penalty` (the feed specs keep that order).
CSV is UTF-8 without BOM, RFC 4180 (CRLF line ends, minimal quoting); dates ISO, 处罚类别 joined by `;`.
证件号码 is masked (FEEDS.md: personal identifiers are masked in every report and export), and every
other value passes `scrub` (lib/common/privacy.py: 身份证号-shaped runs masked wherever they stand). Values that a
spreadsheet would execute (`=`, `+`, `-`, `@`, tab or CR first) are carried verbatim, unquoted and
unprefixed: the package is for the national platform's importer, a machine, and a `'` prefix would
alter the 双公示 data it checks; people read the rectification workbook, whose cells are never
formulas. Rows are sorted by the feed key, then file and row number; the zip has a
fixed member order, the month's first day as every timestamp, fixed permissions and no comment or extra
fields — the same warehouse gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

from psycopg2 import sql

from jn_credit_dagster.lib.indicators import compute as indicators
from jn_credit_dagster.lib.common.privacy import mask_personal as mask_id
from jn_credit_dagster.lib.common.privacy import scrub
from jn_credit_dagster.lib.common.city import UNITS
from jn_credit_dagster.lib.ingest.specs import FeedSpec, load_specs

from jn_credit_dagster.lib.common.present import number as fmt
from jn_credit_dagster.lib.common.status import STATUS_ZH

from .data import ReportData

PUBLICITY = ("license", "penalty")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return str(value)


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _values(spec: FeedSpec, record) -> list[str]:
    return [mask_id(_cell(v)) if c.personal and v not in (None, "") else scrub(_cell(v))
            for c, v in zip(spec.columns, record)]


def publicity_rows(cur, spec: FeedSpec, month: dt.date) -> list[list[str]]:
    order = [*spec.key, "file_sha256", "row_no"]
    cur.execute(sql.SQL("SELECT {} FROM {} WHERE month = %s ORDER BY {}").format(
        sql.SQL(", ").join(sql.Identifier(c.name) for c in spec.columns), sql.Identifier("raw", spec.id),
        sql.SQL(", ").join(sql.Identifier(c) for c in order)), (month,))
    return [_values(spec, r) for r in cur.fetchall()]


def joint_case_rows(cur, spec: FeedSpec, month: dt.date) -> list[list[str]]:
    month_end = indicators.add_months(month, 1) - dt.timedelta(days=1)
    cols = sql.SQL(", ").join(sql.Identifier(c.name) for c in spec.columns)
    cur.execute(sql.SQL("""
        SELECT {cols} FROM wh.joint_case
        WHERE as_of_month = %(month)s AND implemented_on BETWEEN %(month)s AND %(month_end)s
        ORDER BY case_no""").format(cols=cols), {"month": month, "month_end": month_end})
    return [_values(spec, r) for r in cur.fetchall()]


SELF_REPORT_HEADER = ["指标编号", "指标序号", "指标名称", "指标值", "得分", "满分", "状态", "填报单位及填报值"]


def self_report_rows(data: ReportData) -> list[list[str]]:
    rows = []
    for ind in data.catalog.indicators.values():
        if ind.source != "self_report":
            continue
        city = data.indicator(ind.id)
        reports = "；".join(f"{UNITS.get(code, code)}（{code}）={fmt(rows_[ind.id]['value'])}"
                           for code, rows_ in sorted(data.unit_rows.items()) if ind.id in rows_)
        rows.append([ind.id, ind.seed, ind.name, fmt(city["value"]), fmt(city["score"]), fmt(city["max_score"]),
                     STATUS_ZH.get(city["status"], city["status"]), scrub(reports)])
    return rows


def build(cur, data: ReportData, out_dir: Path) -> dict:
    """Write national_<YYYY-MM>.zip into out_dir; returns {path, bytes, sha256, files: [...]}."""
    specs = load_specs()
    members: list[tuple[str, bytes, int]] = []
    for feed in PUBLICITY:
        spec = specs[feed]
        rows = publicity_rows(cur, spec, data.month)
        members.append((f"{feed}.csv", _csv([c.header for c in spec.columns], rows), len(rows)))
    spec = specs["joint_case"]
    rows = joint_case_rows(cur, spec, data.month)
    members.append(("joint_case.csv", _csv([c.header for c in spec.columns], rows), len(rows)))
    rows = self_report_rows(data)
    members.append(("self_report.csv", _csv(SELF_REPORT_HEADER, rows), len(rows)))
    files = [{"name": name, "rows": n, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
             for name, body, n in members]
    manifest = {"month": data.key, "city": indicators.CITY,
                "source": {"ledger_files": sum(1 for f in data.ledger if f["sha256"]), "fingerprint": data.source_fingerprint},
                "personal_ids": "masked", "encoding": "UTF-8", "files": files}
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    members.append(("manifest.json", manifest_bytes, len(files)))

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"national_{data.key}.zip"
    stamp = (data.month.year, data.month.month, 1, 0, 0, 0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body, _ in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, body, compresslevel=9)
    payload = buffer.getvalue()
    path.write_bytes(payload)
    return {"path": path, "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest(), "files": files,
            "rows": {f["name"]: f["rows"] for f in files}}


def verify(path: Path) -> list[str]:
    """Problems with a package: a member whose size or SHA-256 differs from the manifest's."""
    problems = []
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for f in manifest["files"]:
            body = archive.read(f["name"])
            if hashlib.sha256(body).hexdigest() != f["sha256"] or len(body) != f["bytes"]:
                problems.append(f"{f['name']}: checksum or size differs from the manifest")
    return problems
