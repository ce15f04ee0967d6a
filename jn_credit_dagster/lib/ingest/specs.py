"""Feed specs: one YAML per feed under assets/feeds/ (the columns of FEEDS.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from jn_credit_dagster.lib.common import paths
from jn_credit_dagster.lib.common.city import UNITS

TYPES = {"text", "code", "code_list", "uscc", "date", "decimal", "integer", "month", "year", "period"}
KINDS = {"snapshot", "event", "state"}



def normalise_header(header: str) -> str:
    """Surrounding spaces and full-width brackets are tolerated in headers (FEEDS.md)."""
    return header.strip(" \t\r\n\u3000\ufeff").replace("（", "(").replace("）", ")")


@dataclass(frozen=True)
class Column:
    name: str  # canonical, an SQL identifier
    header: str  # the Chinese column name of FEEDS.md
    type: str
    required: bool = False
    synonyms: dict[str, str] = field(default_factory=dict)
    personal: bool = False  # a personal identifier: masked in every report, export and log


@dataclass(frozen=True)
class Subject:
    """A column naming the subject a row is about (wh.subjects), and the column giving its name."""
    uscc: str
    name: str | None = None


@dataclass(frozen=True)
class FeedSpec:
    id: str
    name: str
    kind: str
    units: tuple[str, ...] | None  # None: any unit may deliver it
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    subjects: tuple[Subject, ...] = ()

    def allows(self, unit: str) -> bool:
        return self.units is None or unit in self.units

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def match_header(self, header: str) -> Column | None:
        """The column a file header names: its Chinese name (tolerantly) or its canonical name."""
        wanted = normalise_header(header)
        for c in self.columns:
            if wanted in (normalise_header(c.header), c.name):
                return c
        return None

    @property
    def checks_duplicates(self) -> bool:
        """Event feeds with a key reject repeats of accepted rows; a keyed snapshot must be unique."""
        return bool(self.key) and self.kind in ("event", "snapshot")


_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
# Names the tables and the typed relation use for delivery facts; a column may not take them.
RESERVED = {"month", "as_of_month", "unit", "file_sha256", "delivery_date", "seq", "row_no", "file_idx", "extra",
            "reasons", "malformed", "malformed_detail"}


def _parse(path: Path) -> FeedSpec:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    columns = tuple(
        Column(
            name=c["name"], header=c["header"], type=c["type"], required=bool(c.get("required", False)),
            synonyms={str(k): str(v) for k, v in (c.get("synonyms") or {}).items()},
            personal=bool(c.get("personal", False)),
        )
        for c in doc["columns"]
    )
    units = doc.get("units", "any")
    spec = FeedSpec(
        id=doc["id"], name=doc["name"], kind=doc["kind"],
        units=None if units == "any" else tuple(str(u) for u in units),
        columns=columns, key=tuple(doc.get("key") or ()), description=doc.get("description", ""),
        subjects=tuple(Subject(s["uscc"], s.get("name")) for s in doc.get("subjects") or ()),
    )
    problems = []
    if spec.id != path.stem or not _IDENT.match(spec.id):
        problems.append(f"id {spec.id!r} must be the file name and an identifier")
    if spec.kind not in KINDS:
        problems.append(f"kind {spec.kind!r} not in {sorted(KINDS)}")
    names = [c.name for c in columns]
    for c in columns:
        if c.type not in TYPES or not _IDENT.match(c.name) or c.name in RESERVED:
            problems.append(f"column {c.name!r}: bad name or type {c.type!r}")
    if len(set(names)) != len(names) or len({normalise_header(c.header) for c in columns}) != len(columns):
        problems.append("column names and headers must be unique")
    # a state feed's latest state may be per delivering unit (self_report: 指标编号 + unit)
    if not set(spec.key) <= set(names) | ({"unit"} if spec.kind == "state" else set()):
        problems.append(f"key {spec.key} names unknown columns")
    if spec.kind == "state" and not spec.key:  # the latest state is per key
        problems.append("a state feed needs a key")
    for s in spec.subjects:
        if s.uscc not in names or (s.name is not None and s.name not in names):
            problems.append(f"subject {s} names unknown columns")
    if spec.units is not None and not set(spec.units) <= set(UNITS):
        problems.append(f"unknown units {sorted(set(spec.units) - set(UNITS))}")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return spec


@cache
def load_specs(directory: Path = paths.FEED_SPECS) -> dict[str, FeedSpec]:
    specs = [_parse(p) for p in sorted(directory.glob("*.yaml"))]
    return {s.id: s for s in specs}
