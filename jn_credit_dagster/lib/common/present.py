"""What metadata and reports show of rows: numbers, markdown tables, with personal ID numbers masked
(lib/common/privacy.py) and passwords in URLs hidden."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from jn_credit_dagster.lib.common.privacy import mask_personal, scrub

# The names reports and metadata have always used: lib/common/privacy.py holds the rule.
mask_id = mask_personal
__all__ = ["display_width", "mask_id", "markdown_table", "number", "pad", "scrub"]


def number(value, digits: int = 4) -> str:
    """A number as tables and reports show it: — for none, `digits` significant digits under 1, else
    rounded to `digits` places."""
    if value is None:
        return "—"
    value = float(value)
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{round(value, digits):g}"


def display_width(text: str) -> int:
    """Columns a text takes on a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    """`text` padded to `width` terminal columns, on the left when `right`."""
    space = " " * max(0, width - display_width(text))
    return space + text if right else text + space


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence], personal: Iterable[int] = ()) -> str:
    """A markdown table; columns at `personal` positions are masked whole, every cell is scrubbed."""
    personal = set(personal)

    def cell(i, v):
        text = mask_id(str(v)) if i in personal and v not in (None, "") else scrub(v)
        return text.replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(i, v) for i, v in enumerate(row)) + " |" for row in rows]
    return "\n".join(lines)
