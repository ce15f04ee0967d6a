"""Great Expectations suites (expectations/<feed>.json) and their set-based SQL form.

A suite is the single statement of a feed's row rules. Each expectation compiles to an SQL
predicate over the feed's typed columns: lib/ingest/judge.py uses them as the reference the ingest's own
judge (lib/ingest/frame_judge.py, the same suite compiled to Polars) is held to, reason for reason. GX
itself validates the suites in CI and in the weekly deep check. Every expectation names the reason
code a failing row gets in `meta.reason`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from psycopg2 import sql

from jn_credit_dagster.lib.common import paths

# Reasons the parser and typer produce themselves; their expectations exist for GX only.
TYPE_REASON = "bad_type"
MALFORMED_REASON = "malformed_row"
DUPLICATE_REASON = "duplicate_key"

_UNEXPECTED_ROWS = re.compile(r"^\s*SELECT \* FROM \{batch\} WHERE (?P<pred>.+?)\s*;?\s*$", re.S | re.I)


@dataclass(frozen=True)
class Rule:
    type: str
    kwargs: dict
    reason: str
    severity: str  # critical | warning | info (GX FailureSeverity)

    @property
    def computed_by_parser(self) -> bool:
        return self.reason.endswith("*") or self.reason == MALFORMED_REASON

    @property
    def needs_duplicates(self) -> bool:
        return "_duplicate_key" in json.dumps(self.kwargs)

    def predicate(self) -> sql.Composable:
        """SQL that is true for a row this expectation finds unexpected."""
        kw = self.kwargs
        col = sql.Identifier(kw["column"]) if "column" in kw else None
        if self.type == "expect_column_values_to_not_be_null":
            return sql.SQL("{c} IS NULL").format(c=col)
        if self.type == "expect_column_values_to_be_in_set":
            return sql.SQL("{c} IS NOT NULL AND NOT ({c} = ANY({v}))").format(c=col, v=sql.Literal(list(kw["value_set"])))
        if self.type == "expect_column_values_to_match_regex":
            return sql.SQL("{c} IS NOT NULL AND {c} !~ {r}").format(c=col, r=sql.Literal(kw["regex"]))
        if self.type == "expect_column_values_to_not_match_regex_list":
            return sql.SQL("{c} ~ ANY({r})").format(c=col, r=sql.Literal(list(kw["regex_list"])))
        if self.type == "expect_column_values_to_be_between":
            parts = []
            if kw.get("min_value") is not None:
                op = "<=" if kw.get("strict_min") else "<"
                parts.append(sql.SQL("{c} " + op + " {v}").format(c=col, v=sql.Literal(kw["min_value"])))
            if kw.get("max_value") is not None:
                op = ">=" if kw.get("strict_max") else ">"
                parts.append(sql.SQL("{c} " + op + " {v}").format(c=col, v=sql.Literal(kw["max_value"])))
            return sql.SQL("{c} IS NOT NULL AND ({p})").format(c=col, p=sql.SQL(" OR ").join(parts))
        if self.type == "unexpected_rows_expectation":
            match = _UNEXPECTED_ROWS.match(kw["unexpected_rows_query"])
            if not match:
                raise ValueError(f"unexpected_rows_query must read 'SELECT * FROM {{batch}} WHERE …': {kw}")
            return sql.SQL("(" + match["pred"] + ")")
        raise ValueError(f"expectation type {self.type} has no SQL form yet")


@dataclass(frozen=True)
class Suite:
    name: str
    rules: tuple[Rule, ...]
    document: dict  # the JSON as GX writes it, for great_expectations.ExpectationSuite(**document)


def _parse(path: Path) -> Suite:
    doc = json.loads(path.read_text(encoding="utf-8"))
    rules = []
    for e in doc["expectations"]:
        reason = (e.get("meta") or {}).get("reason")
        if not reason:
            raise ValueError(f"{path}: every expectation needs meta.reason: {e}")
        if e["kwargs"].get("mostly", 1) != 1:
            raise ValueError(f"{path}: 'mostly' is not a row rule: {e}")
        rules.append(Rule(e["type"], e["kwargs"], reason, e.get("severity", "critical")))
    reasons = [r.reason for r in rules]
    if len(set(reasons)) != len(reasons):  # a quarantined row's reason names one expectation
        raise ValueError(f"{path}: two expectations give the same meta.reason")
    return Suite(doc["name"], tuple(rules), doc)


@cache
def load_suite(feed: str, directory: Path = paths.SUITES) -> Suite:
    return _parse(directory / f"{feed}.json")
