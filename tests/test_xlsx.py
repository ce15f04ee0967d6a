"""xlsx.Workbook gives the rows openpyxl's read-only mode gives (iter_rows(values_only=True) after
reset_dimensions()): workbooks written by openpyxl with every kind of value, and sheets written by
hand in the forms other producers use (no `r`, rows left out or repeated, shared and rich strings,
every cell type, dates by style and epoch)."""

import datetime as dt
import io
import re
import zipfile

import openpyxl
import pytest
from openpyxl.chart import BarChart
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from jn_credit_dagster.lib.ingest import xlsx

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def openpyxl_rows(data: bytes) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def our_rows(data: bytes) -> list[tuple]:
    workbook = xlsx.Workbook(io.BytesIO(data))
    try:
        return [tuple(row) for row in workbook.rows()]
    finally:
        workbook.close()


def saved(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def every_kind_of_value(epoch=None) -> bytes:
    workbook = openpyxl.Workbook()
    if epoch is not None:
        workbook.epoch = epoch
    sheet = workbook.active
    sheet.append(["名称", "日期", "金额", "备注"])
    sheet.append(["济宁市鑫源商贸有限公司", dt.date(2020, 8, 5), 2000, " 前后有空格 "])
    sheet.append(["换行\n第二行", dt.datetime(2020, 8, 5, 13, 45, 10), 0.2, "_x000D_ 转义"])
    sheet.append([None, dt.time(9, 30), -1.5e-7, True])
    sheet.append(["", dt.timedelta(days=1, hours=2), 12345678901234, False])
    sheet.append([CellRichText(["富", TextBlock(InlineFont(b=True), "文本")]), "=1+1", 1e21, "=A1"])
    sheet.cell(row=9, column=2, value="中间空了两行")
    sheet.cell(row=10, column=6, value="更宽的一行")
    sheet.cell(row=11, column=1, value=dt.date(1900, 1, 1))
    sheet["B11"].number_format = 'yyyy"年"m"月"d"日"'
    sheet["B11"] = 44056
    sheet["C11"] = 0.25
    sheet["C11"].number_format = "0.00%"
    sheet["D11"] = 44056.5
    sheet["D11"].number_format = "[h]:mm:ss"
    return saved(workbook)


@pytest.mark.parametrize("epoch", [None, CALENDAR_MAC_1904], ids=["1900", "1904"])
def test_a_workbook_openpyxl_wrote(epoch):
    data = every_kind_of_value(epoch)
    rows = our_rows(data)
    assert rows == openpyxl_rows(data)
    assert rows[1][:3] == ("济宁市鑫源商贸有限公司", dt.datetime(2020, 8, 5), 2000)
    assert rows[6] == () and rows[7] == ()  # rows 7 and 8 are not in the file


def test_a_workbook_written_row_by_row():
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["主体名称", "统一社会信用代码", "决定日期"])
    for n in range(300):
        sheet.append([f"主体{n}", f"91370800MA3C{n:06d}", dt.date(2020, 1, 1) + dt.timedelta(days=n)])
    data = saved(workbook)
    assert our_rows(data) == openpyxl_rows(data)
    assert len(our_rows(data)) == 301


def test_the_first_worksheet_not_a_chartsheet_first():
    workbook = openpyxl.Workbook()
    workbook.active.append(["甲"])
    workbook.create_chartsheet("图表", 0).add_chart(BarChart())
    second = workbook.create_sheet("乙")
    second.append(["乙"])
    data = saved(workbook)
    assert our_rows(data) == openpyxl_rows(data) == [("甲",)]


def _styles(data: bytes) -> dict[str, str]:
    """The `s` openpyxl gave the template's date, duration and percent cells."""
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    return {ref: re.search(rf'<c r="{ref}" s="(\d+)"', sheet).group(1) for ref in ("A1", "B1", "C1")}


def by_hand(sheet_data: str, shared: list[str] | None = None) -> bytes:
    """openpyxl's package around a <sheetData> written here: {date}, {duration} and {percent} stand
    for style ids with those number formats; `shared` replaces the shared strings' <si> items."""
    template = openpyxl.Workbook()
    sheet = template.active
    sheet["A1"], sheet["B1"], sheet["C1"], sheet["D1"] = 1, 1, 1, "共享"
    sheet["A1"].number_format, sheet["B1"].number_format, sheet["C1"].number_format = "yyyy-mm-dd", "[h]:mm", "0%"
    data = saved(template)
    styles = _styles(data)
    sheet_xml = (f'<worksheet xmlns="{NS}"><sheetData>'
                 + sheet_data.format(date=styles["A1"], duration=styles["B1"], percent=styles["C1"])
                 + "</sheetData></worksheet>")
    parts = {"xl/worksheets/sheet1.xml": lambda _: sheet_xml.encode()}
    if shared is not None:  # openpyxl writes no shared strings of its own: the part and its content type
        parts["[Content_Types].xml"] = lambda body: body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" '
                                                        b'ContentType="application/vnd.openxmlformats-officedocument.'
                                                        b'spreadsheetml.sharedStrings+xml"/></Types>')
        parts["xl/sharedStrings.xml"] = lambda _: f'<sst xmlns="{NS}">{"".join(shared)}</sst>'.encode()
    return rezipped(data, parts)


def rezipped(data: bytes, parts: dict) -> bytes:
    """The package with each named part replaced by parts[name](its bytes, or b"" for a new part)."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = source.read(item.filename)
            target.writestr(item, parts[item.filename](body) if item.filename in parts else body)
        for name in parts.keys() - set(source.namelist()):
            target.writestr(name, parts[name](b""))
    return out.getvalue()


HAND_WRITTEN = {
    "no r on rows or cells": '<row><c t="inlineStr"><is><t>a</t></is></c><c><v>1</v></c></row>'
                             '<row><c><v>2.5</v></c><c/><c t="b"><v>1</v></c></row>',
    "rows left out, repeated and going back": '<row r="2"><c r="A2"><v>2</v></c></row><row r="2"><c r="A2"><v>9</v></c></row>'
                                              '<row r="5"><c r="B5"><v>5</v></c></row><row r="4"><c r="A4"><v>4</v></c></row>'
                                              '<row r="6.0"><c r="C6"><v>6</v></c></row><row r="7"/>',
    "cells out of order and repeated": '<row r="1"><c r="C1"><v>3</v></c><c r="A1"><v>1</v></c><c r="A1"><v>7</v></c></row>'
                                       '<row r="2"><c r="B2"><v>2</v></c><c><v>3</v></c><c r="E2"><v>5</v></c><c r="A2"><v>1</v></c></row>',
    "lower-case and wide references": '<row r="1"><c r="b1"><v>1</v></c><c r="AA1"><v>27</v></c><c r="XFD1"><v>16384</v></c></row>',
    "every cell type": '<row r="1"><c r="A1" t="str"><v>公式的文字</v></c><c r="B1" t="e"><v>#N/A</v></c>'
                       '<c r="C1" t="b"><v>0</v></c><c r="D1" t="d"><v>2020-08-05T10:20:30</v></c>'
                       '<c r="E1" t="n"><v>1E3</v></c><c r="F1"><v>-0</v></c><c r="G1"><v></v></c>'
                       '<c r="H1" t="s"><v>0</v></c><c r="I1" t="s"><v>1</v></c><c r="J1" t="s"><v>2</v></c>'
                       '<c r="K1" t="s"><v>3</v></c><c r="L1"><f>1+1</f><v>2</v></c><c r="M1" t="inlineStr"/></row>',
    "inline strings of every shape": '<row r="1"><c r="A1" t="inlineStr"><is><t xml:space="preserve"> 空格 </t></is></c>'
                                     '<c r="B1" t="inlineStr"><is><r><t>富</t></r><r><rPr><b/></rPr><t>文本</t></r></is></c>'
                                     '<c r="C1" t="inlineStr"><is><t/></is></c>'
                                     '<c r="D1" t="inlineStr"><is><t>注音</t><rPh sb="0" eb="1"><t>zhuyin</t></rPh></is></c>'
                                     '<c r="E1" t="inlineStr"><is><t>a&amp;b&lt;c&#x4E2D;</t></is></c></row>',
    "numbers in date styles": '<row r="1"><c r="A1" s="{date}"><v>44056</v></c><c r="B1" s="{date}"><v>44056.75</v></c>'
                              '<c r="C1" s="{date}"><v>0.5</v></c><c r="D1" s="{date}"><v>59</v></c>'
                              '<c r="E1" s="{duration}"><v>1.25</v></c><c r="F1" s="{percent}"><v>0.125</v></c>'
                              '<c r="G1" s="{date}"><v>99999999999</v></c><c r="H1" s="{date}" t="inlineStr"><is><t>文字</t></is></c>'
                              '<c r="I1" s="0"><v>1</v></c></row>',
}
SHARED = ["<si><t>共享</t></si>", "<si><r><t>多</t></r><r><t>段</t></r></si>",
          "<si><t>带_x005F_x000D_转义</t><rPh sb=\"0\" eb=\"1\"><t>x</t></rPh></si>", "<si><t/></si>"]


@pytest.mark.filterwarnings("ignore:Cell G1 is marked as a date")  # openpyxl's, for the serial beyond 9999
@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_a_sheet_written_by_hand(name):
    data = by_hand(HAND_WRITTEN[name], SHARED)
    assert our_rows(data) == openpyxl_rows(data)


@pytest.mark.parametrize("broken", ['<row r="x"><c r="A1"><v>1</v></c></row>', '<row r="1"><c r="A1"><v>abc</v></c></row>',
                                    '<row r="1"><c r="A1" t="s"><v>99</v></c></row>', '<row r="1"><c r="1A"><v>1</v></c></row>',
                                    '<row r="1"><c r="A1" s="x" t="inlineStr"><is><t>a</t></is></c></row>'])
def test_what_openpyxl_cannot_read_is_not_read(broken):
    data = by_hand(broken, SHARED)
    with pytest.raises(Exception) as theirs:
        openpyxl_rows(data)
    with pytest.raises(type(theirs.value)):
        our_rows(data)


def test_rows_are_read_as_the_sheet_streams():
    """A row is handed out once it is parsed: a sheet whose XML breaks off after two rows still gives
    them, then the parser's error (openpyxl's read-only mode parses the whole sheet before the first row)."""
    whole = by_hand('<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>')
    cut = rezipped(whole, {"xl/worksheets/sheet1.xml": lambda body: body[:body.index(b"</sheetData>")]})
    workbook = xlsx.Workbook(io.BytesIO(cut))
    rows = workbook.rows()
    assert next(rows) == (1,) and next(rows) == (2,)
    with pytest.raises(SyntaxError):  # xml.etree's ParseError
        next(rows)
    workbook.close()
