"""整改清单: one .xlsx workbook per month, a sheet per unit that has something to fix.

The first sheet (汇总) lists the units and their counts; each unit's sheet (titled with its unit code,
which the bulletin links to) has its title, the deadline, and one table: 缺报 and 迟报 deliveries due by
the 25th (with the indicators they hold back), 隔离行 (the month's quarantined rows with their reasons,
personal IDs masked), and 未达标指标 (indicators below target that it owns, status red or yellow).

The workbook is for people: every text cell is scrubbed (lib/common/privacy.py) and stored as a string, so a
delivered value such as `=HYPERLINK(…)` or `+1-2` is shown as typed and never evaluated as a formula.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

from jn_credit_dagster.lib.common.privacy import scrub

from jn_credit_dagster.lib.common.present import number as fmt
from jn_credit_dagster.lib.common.status import STATUS_ZH

from .data import ReportData

HEADER = ["序号", "类别", "数据 / 指标", "说明", "原因", "影响指标", "整改期限"]
SUMMARY_HEADER = ["单位代码", "单位名称", "缺报", "迟报", "隔离行", "未达标指标", "整改期限"]
BOLD = Font(bold=True)
FILL = PatternFill("solid", fgColor="DDE6F0")


def items(data: ReportData, unit) -> list[list]:
    """The rows of a unit's sheet, without the 序号."""
    due_by = data.deadline.isoformat()
    feed_indicators, quarantine_indicators = data.feed_indicators, data.quarantine_indicators  # once, not per row
    out = []
    for d in unit.missing:
        out.append(["缺报", d.feed, f"{data.key} 应于 {data.month:%Y-%m}-25 前报送，未收到", "missing",
                    "、".join(feed_indicators.get(d.feed, ())), due_by])
    for d in unit.late:
        out.append(["迟报", d.feed, f"首次报送 {d.delivered.isoformat()}，晚于 {data.month:%Y-%m}-25", "late",
                    "、".join(feed_indicators.get(d.feed, ())), due_by])
    for q in unit.quarantined:
        out.append(["隔离行", f"{q.feed} 文件 {q.file_sha256[:12]} 第 {q.row_no} 行", q.text[:2000],
                    "；".join(q.reasons), "、".join(quarantine_indicators.get(q.feed, ())), due_by])
    for i in unit.below_target:
        out.append(["未达标指标", f"{i['id']} {i['name']}",
                    f"{i['scope']}：值 {fmt(i['value'])}，得分 {fmt(i['score'])}/{fmt(i['max_score'])}",
                    f"状态{STATUS_ZH.get(i['status'], i['status'])}", i["id"], due_by])
    return out


def _as_text(workbook: openpyxl.Workbook) -> None:
    """Every string cell scrubbed and typed as a string: openpyxl would store `=…` as a formula."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    text = scrub(cell.value)
                    cell.value = text
                    cell.data_type = "s"


def workbook_name(month_key: str) -> str:
    """The workbook's file name: the bulletin links into it by this name."""
    return f"rectification_{month_key}.xlsx"


def build(data: ReportData, out_dir: Path) -> dict:
    """Write rectification_<YYYY-MM>.xlsx; returns {path, bytes, sha256, sheets: {sheet: rows}}."""
    workbook = openpyxl.Workbook()
    summary = workbook.active
    summary.title = "汇总"
    summary.append([f"济宁市社会信用体系建设 {data.month.year}年{data.month.month}月 整改清单"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([f"整改期限：{data.deadline.isoformat()}（下月报送截止日）；证件号码已脱敏"])
    summary.append(SUMMARY_HEADER)
    for cell in summary[3]:
        cell.font, cell.fill = BOLD, FILL
    sheets: dict[str, int] = {}
    for unit in data.units.values():
        if not unit.has_findings:
            continue
        rows = items(data, unit)
        sheet = workbook.create_sheet(unit.sheet)
        sheet.append([f"{unit.name}（{unit.unit}） {data.key} 整改清单"])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([f"整改期限：{data.deadline.isoformat()}"])
        sheet.append(HEADER)
        for cell in sheet[3]:
            cell.font, cell.fill = BOLD, FILL
        for n, row in enumerate(rows, 1):
            sheet.append([n, *row])
        for col, width in zip("ABCDEFG", (6, 10, 34, 60, 36, 18, 12)):
            sheet.column_dimensions[col].width = width
        for row in sheet.iter_rows(min_row=4):
            row[3].alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A4"
        sheets[unit.sheet] = len(rows)
        summary.append([unit.unit, unit.name, len(unit.missing), len(unit.late), len(unit.quarantined),
                        len(unit.below_target), data.deadline.isoformat()])
        link = summary.cell(row=summary.max_row, column=1)
        link.hyperlink = f"#'{unit.sheet}'!A1"
        link.font = Font(color="0563C1", underline="single")
    for col, width in zip("ABCDEFG", (10, 28, 8, 8, 8, 12, 12)):
        summary.column_dimensions[col].width = width
    _as_text(workbook)
    stamp = dt.datetime(data.month.year, data.month.month, 1)
    workbook.properties.created = workbook.properties.modified = stamp
    workbook.properties.creator = "jn-credit-dagster"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / workbook_name(data.key)
    workbook.save(path)
    payload = path.read_bytes()
    return {"path": path, "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest(), "sheets": sheets}
