"""What metadata and reports show of rows: markdown tables, with personal ID numbers masked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# 18-character 身份证号 (and the old 15-digit form) wherever they appear in a value
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{6})(\d{3}[0-9Xx]|\d{1})(?![0-9A-Za-z])")


def mask_id(value: str) -> str:
    """Keep the area code and the last character; the birth date and sequence never show."""
    value = value.strip()
    if len(value) <= 4:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def scrub(value) -> str:
    text = "" if value is None else str(value)
    return _ID_NUMBER.sub(lambda m: mask_id(m.group(0)), text)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence], personal: Iterable[int] = ()) -> str:
    """A markdown table; columns at `personal` positions are masked whole, every cell is scrubbed."""
    personal = set(personal)

    def cell(i, v):
        text = mask_id(str(v)) if i in personal and v not in (None, "") else scrub(v)
        return text.replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(i, v) for i, v in enumerate(row)) + " |" for row in rows]
    return "\n".join(lines)
