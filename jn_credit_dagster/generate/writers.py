"""File writers: CSV (UTF-8 ± BOM, GBK, GB18030), .xlsx (openpyxl write-only) and JSON arrays.

All stream row by row. Output is byte-for-byte reproducible: no wall clock reaches a file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import openpyxl
from openpyxl.xml.functions import tostring

FORMATS = {  # format key → (extension, text encoding)
    "csv-utf8": ("csv", "utf-8"),
    "csv-utf8-bom": ("csv", "utf-8-sig"),
    "csv-gbk": ("csv", "gbk"),
    "csv-gb18030": ("csv", "gb18030"),
    "xlsx": ("xlsx", None),
    "json": ("json", "utf-8"),
}


@dataclass
class Style:
    """How one unit's file spells its values."""

    date_format: str = "%Y-%m-%d"
    thousands: frozenset = frozenset()  # columns written with thousands separators (元 amounts)
    decimals: dict = field(default_factory=dict)  # column → decimal places
    stamp: dt.datetime = dt.datetime(2020, 1, 1)  # the xlsx document/zip timestamp


def _text(col: str, value, style: Style) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.date):
        return value.strftime(style.date_format)
    if isinstance(value, float):
        places = style.decimals.get(col, 2)
        if col in style.thousands:
            return f"{value:,.{places}f}"
        return f"{value:.{places}f}"
    return str(value)


def write_csv(path: Path, encoding: str, headers: list[str], columns: list[str], rows: Iterable[dict],
              style: Style) -> int:
    n = 0
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")  # RFC 4180
        w.writerow(headers)
        for row in rows:
            w.writerow([_text(c, row.get(c), style) for c in columns])
            n += 1
    return n


def _json_value(col: str, value, style: Style):
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, style.decimals.get(col, 2))
    if isinstance(value, (int, str)):
        return value
    return _text(col, value, style)


def write_json(path: Path, headers: list[str], columns: list[str], rows: Iterable[dict], style: Style) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("[")
        for row in rows:
            obj = {h: _json_value(c, row.get(c), style) for h, c in zip(headers, columns)}
            fh.write(("\n" if n == 0 else ",\n") + json.dumps(obj, ensure_ascii=False))
            n += 1
        fh.write("\n]\n")
    return n


def _cell(col: str, value, style: Style):
    if value is None:
        return None
    if isinstance(value, float):
        return round(value, style.decimals.get(col, 2))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def write_xlsx(path: Path, headers: list[str], columns: list[str], rows: Iterable[dict], style: Style,
               sheet_title: str = "Sheet1") -> int:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title)
    ws.append(headers)
    n = 0
    for row in rows:
        cells = [_cell(c, row.get(c), style) for c in columns]
        ws.append(cells)
        n += 1
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps docProps/core.xml and every zip member with the current time: pin both.
    wb.properties.creator = "jn-credit generate"
    wb.properties.created = wb.properties.modified = style.stamp
    core = tostring(wb.properties.to_tree())
    _rezip(buf.getvalue(), path, {"docProps/core.xml": core}, style.stamp)
    return n


def _rezip(data: bytes, path: Path, replace: dict, stamp: dt.datetime) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            dst.writestr(member, replace.get(info.filename, src.read(info.filename)))


def write(path: Path, fmt: str, headers: list[str], columns: list[str], rows: Iterable[dict], style: Style) -> int:
    ext, encoding = FORMATS[fmt]
    if ext == "csv":
        return write_csv(path, encoding, headers, columns, rows, style)
    if ext == "json":
        return write_json(path, headers, columns, rows, style)
    return write_xlsx(path, headers, columns, rows, style)
