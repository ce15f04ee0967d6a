"""What metadata and reports show of rows: markdown tables, with personal ID numbers masked
(lib/privacy.py) and passwords in URLs hidden."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .privacy import mask_personal, scrub

# The names reports and metadata have always used: lib/privacy.py holds the rule.
mask_id = mask_personal
__all__ = ["mask_id", "markdown_table", "scrub"]


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence], personal: Iterable[int] = ()) -> str:
    """A markdown table; columns at `personal` positions are masked whole, every cell is scrubbed."""
    personal = set(personal)

    def cell(i, v):
        text = mask_id(str(v)) if i in personal and v not in (None, "") else scrub(v)
        return text.replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(i, v) for i, v in enumerate(row)) + " |" for row in rows]
    return "\n".join(lines)
