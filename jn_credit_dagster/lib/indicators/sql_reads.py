"""What an indicator's SQL file reads: the schema-qualified tables it names, and those behind the
warehouse functions it calls (sql/schema/030_indicator_helpers.sql), each with the window of months
read where the text says it.

The catalog declares each indicator's `reads:`; this module is the independent reading of the SQL that
a test holds the declaration against. It reads the text, not a plan: a window it cannot tell is None.
"""

from __future__ import annotations

import re

from jn_credit_dagster.lib.indicators.catalog import MONTH, TO_DATE, WHOLE  # the catalog's words for windows
from jn_credit_dagster.lib.ingest.specs import load_specs


# The warehouse functions the indicator SQL calls → the tables (and windows) their bodies read.
# wh.snapshot_delivery / wh.snapshot_file take the feed as their first argument: see _snapshot_reads.
FUNCTION_READS: dict[str, dict[str, str]] = {
    "wh.registry_snapshot": {"raw.registry": TO_DATE},  # M's folder, else the latest earlier one
    "wh.existing_enterprises": {"raw.registry": TO_DATE},
    # The registry part of wh.subjects (the same DISTINCT ON over M's snapshot): the indicators read the
    # table itself once their subject lookups move to it, so the lineage already goes through wh/subjects.
    "wh.subject_district": {"wh.subjects": MONTH},
    "wh.service_item_snapshot": {"raw.service_item": TO_DATE},
    "wh.population": {"wh.city_stats": MONTH},
    "wh.gdp": {"wh.city_stats": MONTH},
    "wh.negative_credit_events": {"wh.credit_event": MONTH},
    "wh.xyd_loan_share": {"raw.xyd_loan": TO_DATE, "wh.city_stats": MONTH},
    "wh.wd": {"wh.calendar": WHOLE},
}
SNAPSHOT_FUNCTIONS = ("wh.snapshot_delivery", "wh.snapshot_file")
# The ingest ledger is written by the feed assets alongside raw.<feed>; the SQL that reads it reads
# that feed's rows too, so it is no table of its own in the lineage. jn.* functions are pure.
NOT_LINEAGE = {"ingest.ledger"}
# Views over every feed's table of a schema, generated from the feed specs (lib/ingest/tables.py).
EVERY_FEED_VIEWS = {"quarantine.every_feed": "quarantine"}

_NAME = re.compile(r"\b(raw|quarantine|wh|ingest|jn)\.([a-z_][a-z0-9_]*)\b(\s*\()?", re.IGNORECASE)
_SNAPSHOT = re.compile(r"\bwh\.snapshot_(?:delivery|file)\s*\(\s*'([a-z_]+)'", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")
# Where the clause that filters a table's months ends: the next FROM, UNION, JOIN, closing parenthesis.
_CLAUSE_END = re.compile(r"\bFROM\b|\bUNION\b|\bJOIN\b|\)", re.IGNORECASE)
_TO_DATE = re.compile(r"\bmonth\s*<=\s*:month\b")
_THIS_MONTH = re.compile(r"\b(?:as_of_)?month\s*=\s*:month\b")
_PARAMETER = re.compile(r"%\((\w+)\)s")


def strip_comments(text: str) -> str:
    """The text without -- comments, its bind parameters %(name)s written :name (no parentheses)."""
    return _PARAMETER.sub(r":\1", _COMMENT.sub("", text))


def _window(after: str) -> str | None:
    clause = after[:m.start()] if (m := _CLAUSE_END.search(after)) else after
    if _TO_DATE.search(clause):
        return TO_DATE
    if _THIS_MONTH.search(clause):
        return MONTH
    return None


def _widest(a: str | None, b: str | None) -> str | None:
    order = [None, MONTH, TO_DATE, WHOLE]
    return a if order.index(a) >= order.index(b) else b


def sql_reads(text: str) -> dict[str, str | None]:
    """table → window (month, to_date, whole, or None where the text does not say) of one SQL text."""
    text = strip_comments(text)
    found: dict[str, str | None] = {}

    def add(table: str, window: str | None) -> None:
        found[table] = _widest(found[table], window) if table in found else window

    for m in _NAME.finditer(text):
        name = f"{m.group(1)}.{m.group(2)}".lower()
        if m.group(3):  # a function call
            if name in FUNCTION_READS:
                for table, window in FUNCTION_READS[name].items():
                    add(table, window)
            elif name.startswith("wh.") and name not in SNAPSHOT_FUNCTIONS:
                raise ValueError(f"{name}(): a warehouse function lib/indicators/sql_reads.py does not know the reads of")
            continue
        if name in NOT_LINEAGE or name.startswith("jn."):
            continue
        if name in EVERY_FEED_VIEWS:
            for feed in load_specs():
                add(f"{EVERY_FEED_VIEWS[name]}.{feed}", _window(text[m.end():]))
            continue
        add(name, _window(text[m.end():]))
    for m in _SNAPSHOT.finditer(text):
        add(f"raw.{m.group(1).lower()}", TO_DATE)
    # I09 reads the registry through the ledger's deliveries of M: the rows joined keep the ledger's month
    if "ingest.ledger" in text.lower():
        for table, window in list(found.items()):
            if window is None and table.split(".")[0] in ("raw", "quarantine"):
                found[table] = _ledger_window(text)
    return found


def _ledger_window(text: str) -> str | None:
    m = re.search(r"\bingest\.ledger\b", text, re.IGNORECASE)
    return _window(text[m.end():]) if m else None
