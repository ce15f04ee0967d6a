"""The first worksheet of an .xlsx, row by row: the values openpyxl's read-only mode gives
(`iter_rows(values_only=True)` after `reset_dimensions()`), at a fraction of its cost.

What a workbook means is openpyxl's, and used as it is: the package manifest, the shared strings, the
workbook (its epoch, its sheets in order) and the styles (which are dates). What is ours is the walk
through the sheet. openpyxl's read-only sheet first parses the whole sheet XML in search of a
<dimension> (openpyxl's own writer puts none, so the search runs to the end), then builds a dict per
cell and an object per inline string. Here each <row> is read once, by openpyxl's rules: a value by its
type (`t`), numbers in a date style as dates, a cell without `r` after the one before it, a row
missing from the file as an empty row, a row as wide as its last cell. Parts openpyxl reads but no
value depends on (merged cells, page setup, conditional formats…) are not parsed.
tests/test_xlsx.py holds the two to the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, iterparse

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHEET_MAIN_NS

_ROW, _VALUE, _INLINE, _TEXT = (f"{{{SHEET_MAIN_NS}}}{tag}" for tag in ("row", "v", "is", "t"))
_DIGITS = "0123456789"


class Workbook:
    """An .xlsx opened for its first worksheet's rows (`sheet` is None when it has none)."""

    def __init__(self, source):
        reader = ExcelReader(source, read_only=True, data_only=True, keep_links=False)
        try:
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            self.sheet = next((rel.target for _, rel in reader.parser.find_sheets()
                               if rel.target in reader.valid_files and "chartsheet" not in rel.Type), None)
        except BaseException:
            reader.archive.close()
            raise
        self._archive = reader.archive
        self._strings = reader.shared_strings
        self._epoch = reader.wb.epoch
        self._dates, self._durations = reader.wb._date_formats, reader.wb._timedelta_formats
        self._columns: dict[str, int] = {}  # column letters -> index, as column_index_from_string gives

    def close(self) -> None:
        self._archive.close()

    def rows(self) -> Iterator[tuple]:
        """Each row's values from row 1 on, a row the file leaves out as ()."""
        expected, number = 1, 0
        with self._archive.open(self.sheet) as source:
            for _, element in iterparse(source):
                if element.tag != _ROW:
                    continue
                number, values = self._row(element, number)
                element.clear()
                while expected < number:
                    expected += 1
                    yield ()
                if expected <= number:  # a row numbered again, or back, is not read twice
                    expected += 1
                    yield values

    def _row(self, row: Element, before: int) -> tuple[int, tuple]:
        r = row.get("r")
        number = before + 1 if r is None else _row_number(r)
        values, placed, column = [], None, 0  # placed: (column, value) pairs, once cells come out of order
        for cell in row:
            reference = cell.get("r")
            column = column + 1 if not reference else self._column(reference)
            value = self._value(cell)
            if placed is None and column == len(values) + 1:
                values.append(value)
            else:
                if placed is None:
                    placed = list(enumerate(values, 1))
                placed.append((column, value))
        if placed is None:
            return number, tuple(values)
        values = [None] * max(placed[-1][0], 0)  # as wide as its last cell; a later cell wins
        for column, value in placed:
            if 1 <= column <= len(values):
                values[column - 1] = value
        return number, tuple(values)

    def _column(self, reference: str) -> int:
        letters = reference.rstrip(_DIGITS)
        if letters == reference or not letters.isalpha():
            return coordinate_to_tuple(reference)[1]  # openpyxl's answer (or error) for the odd ones
        column = self._columns.get(letters)
        if column is None:
            column = self._columns[letters] = column_index_from_string(letters)
        return column

    def _value(self, cell: Element):
        kind = cell.get("t", "n")
        style = cell.get("s", 0)
        if style:
            style = int(style)
        if kind == "inlineStr":
            inline = cell.find(_INLINE)
            return None if inline is None else _inline_text(inline)
        value = cell.findtext(_VALUE, None) or None
        if value is None:
            return None
        if kind == "n":
            number = float(value) if "." in value or "E" in value or "e" in value else int(value)
            if style in self._dates:
                try:
                    return from_excel(number, self._epoch, timedelta=style in self._durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"  # openpyxl's error value for a date it cannot represent
            return number
        if kind == "s":
            return self._strings[int(value)]
        if kind == "b":
            return bool(int(value))
        if kind == "d":
            return from_ISO8601(value)
        return value  # "str" (a formula's text), "e" (an error such as #N/A) and the rest: as stored


def _row_number(r: str) -> int:
    try:
        return int(r)
    except ValueError:
        number = float(r)
        if not number.is_integer():
            raise ValueError(f"{r} is not a valid row number") from None
        return int(number)


def _inline_text(inline: Element) -> str:
    """An inline string's text: the usual one <t> directly, anything else (rich text runs, phonetic
    hints, an empty <t/>) as openpyxl's Text gives its content."""
    if len(inline) == 1:
        t = inline[0]
        if t.tag == _TEXT and t.text is not None and not len(t):
            return t.text
    return Text.from_tree(inline).content
