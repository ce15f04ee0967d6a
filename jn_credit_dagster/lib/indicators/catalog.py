"""The indicator catalog (assets/indicators.yaml): groups, indicators, and how a value scores.

INDICATORS.md is the contract; the catalog holds what the office may change (point splits, ref/tol,
status thresholds). Loading validates the whole file and raises one ValueError listing every problem.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from jn_credit_dagster.lib.common import paths
from jn_credit_dagster.lib.common.city import UNITS
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.lib.common.status import GREEN, NA, RED, YELLOW

CATALOG = paths.PROJECT_ROOT / "assets" / "indicators.yaml"

IDS = tuple(f"I{n:02d}" for n in range(1, 40)) + ("D1", "D2")
KINDS = {"target_1", "higher_better", "lower_better", "yes_no", "count", "deduction"}
VALUE_UNITS = {"ratio", "count", "days", "yes_no", "amount"}
SOURCES = {"data", "self_report"}
SYMBOLIC_UNITS = {"all", "double_publicity", "blacklist_owners", "source_units"}
FIRST_LEVEL = {"信用制度和基础建设": 20, "营商环境": 21, "信用监管": 43, "权益保护": 16}  # national 2020 edition
TOTAL_POINTS = 100
# The kinds whose f needs a reference value (ref) or a tolerance (tol); the others take neither.
NEEDS = {"higher_better": "ref", "count": "ref", "lower_better": "tol"}
# The months a `reads:` entry reads of a partitioned table (assets/indicators.yaml "reads"); `whole` is an
# unpartitioned reference table.
MONTH, TO_DATE, WHOLE = "month", "to_date", "whole"
LAST_MONTHS = re.compile(r"last_(\d+)_months")
REFERENCE_TABLES = ("wh.calendar", "wh.units", "wh.districts")
SUBJECTS_TABLE = "wh.subjects"
EVERY_QUARANTINE = "quarantine.*"
# Points may be split in fractions by the office; sums are compared up to float noise.
_EPS = 1e-9


@dataclass(frozen=True)
class Thresholds:
    green: float = 0.9
    yellow: float = 0.6


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    points: float
    first_level: str


@dataclass(frozen=True)
class Indicator:
    id: str
    seed: str  # the number in the source plan, "(四)" or "附加 1"
    name: str
    group: str | None  # None for the deductions
    points: float  # negative for a deduction
    kind: str
    unit: str
    units: tuple[str, ...]
    source: str
    description: str
    thresholds: Thresholds
    ref: float | None = None
    tol: float | None = None
    sql: str | None = None
    months: int = 1  # deductions: the months one 是 deducts in, M included
    reads: tuple[tuple[str, str], ...] = ()  # (table, window), `quarantine.*` expanded

    @property
    def read_windows(self) -> dict[str, str]:
        return dict(self.reads)

    @property
    def is_deduction(self) -> bool:
        return self.kind == "deduction"


@dataclass(frozen=True)
class Catalog:
    path: Path
    groups: dict[str, Group]
    indicators: dict[str, Indicator]
    symbolic_units: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.indicators[indicator_id]

    def in_group(self, group_id: str) -> list[Indicator]:
        return [i for i in self.indicators.values() if i.group == group_id]

    @property
    def deductions(self) -> list[Indicator]:
        return [i for i in self.indicators.values() if i.is_deduction]

    @property
    def data_indicators(self) -> list[Indicator]:
        return [i for i in self.indicators.values() if i.source == "data"]

    def reads(self) -> dict[str, str]:
        """table → the widest window any indicator reads it with (what the indicators asset depends on)."""
        found: dict[str, str] = {}
        for ind in self.indicators.values():
            for table, window in ind.reads:
                found[table] = widest(found[table], window) if table in found else window
        return found

    def feed_indicators(self) -> dict[str, tuple[str, ...]]:
        """feed → the indicators computed from its correct rows (its raw or latest-state table; wh.subjects
        counts as the registry, whose snapshot gives a subject its district): a late or missing
        delivery of the feed holds them back."""
        out: dict[str, list[str]] = {}
        for ind in self.indicators.values():
            for table, _ in ind.reads:
                feed = None if table.startswith("quarantine.") else table_feed(table)
                if feed is not None and ind.id not in out.setdefault(feed, []):
                    out[feed].append(ind.id)
        return {feed: tuple(ids) for feed, ids in sorted(out.items())}

    def quarantine_readers(self) -> dict[str, tuple[str, ...]]:
        """feed → the indicators that count its quarantined rows (I03 and I39 today)."""
        out: dict[str, list[str]] = {}
        for ind in self.indicators.values():
            for table, _ in ind.reads:
                if table.startswith("quarantine."):
                    out.setdefault(table.split(".", 1)[1], []).append(ind.id)
        return {feed: tuple(ids) for feed, ids in sorted(out.items())}


def window_months(window: str) -> int | None:
    """How many months up to M a window reads: 1 for `month`, N for last_N_months, None for to_date/whole."""
    if window == MONTH:
        return 1
    m = LAST_MONTHS.fullmatch(window)
    return int(m.group(1)) if m else None


def widest(a: str, b: str) -> str:
    """The window covering both (to_date covers any last_N_months, which covers month)."""
    rank = {WHOLE: 10**9, TO_DATE: 10**8}
    return a if rank.get(a, window_months(a) or 0) >= rank.get(b, window_months(b) or 0) else b


def table_feed(table: str) -> str | None:
    """The feed whose asset writes a table: raw.<feed>, quarantine.<feed>, wh.<state feed>; the
    registry for wh.subjects; None for a reference table."""
    schema, name = table.split(".", 1)
    if table == SUBJECTS_TABLE:
        return "registry"
    if schema in ("raw", "quarantine") or (schema == "wh" and table not in REFERENCE_TABLES):
        return name
    return None


def _reads(raw: Any) -> tuple[tuple[str, str], ...]:
    """The `reads:` mapping as (table, window) pairs, `quarantine.*` spelled out for every feed."""
    pairs = []
    for table, window in (raw or {}).items():
        if str(table) == EVERY_QUARANTINE:
            pairs += [(f"quarantine.{feed}", str(window)) for feed in load_specs()]
        else:
            pairs.append((str(table), str(window)))
    return tuple(pairs)


def _check_reads(ind: Indicator) -> list[str]:
    """Every table is one an asset writes, with a window its partitioning allows."""
    problems, where = [], f"indicator {ind.id}: reads"
    specs = load_specs()
    if not ind.reads:
        return [f"{where}: none declared (every indicator names the tables it is computed from)"]
    for table, window in ind.reads:
        schema, _, name = table.partition(".")
        known = (schema in ("raw", "quarantine") and name in specs) or table in REFERENCE_TABLES \
            or table == SUBJECTS_TABLE or (schema == "wh" and name in specs and specs[name].kind == "state")
        if not known:
            problems.append(f"{where} {table!r}: not raw.<feed>, quarantine.<feed>, wh.<state feed>, "
                            f"{SUBJECTS_TABLE} or one of {', '.join(REFERENCE_TABLES)}")
        if table in REFERENCE_TABLES:
            if window != WHOLE:
                problems.append(f"{where} {table}: a reference table is read {WHOLE}, not {window!r}")
        elif window not in (MONTH, TO_DATE) and not (LAST_MONTHS.fullmatch(window) and window_months(window) > 1):
            problems.append(f"{where} {table}: window {window!r} is not {MONTH}, {TO_DATE} or last_N_months (N ≥ 2)")
    if ind.is_deduction and dict(ind.reads).get("raw.self_report") not in (
            MONTH if ind.months == 1 else f"last_{ind.months}_months",):
        problems.append(f"{where}: a deduction reads raw.self_report over its {ind.months} month(s)")
    return problems


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _thresholds(raw: Any, default: Thresholds) -> Thresholds:
    if raw is None:
        return default
    return Thresholds(green=float(raw.get("green", default.green)), yellow=float(raw.get("yellow", default.yellow)))


def _indicator(raw: dict, default: Thresholds) -> Indicator:
    return Indicator(
        id=str(raw["id"]), seed=str(raw["seed"]), name=str(raw["name"]),
        group=None if raw.get("group") is None else str(raw["group"]),
        points=float(raw["points"]), kind=str(raw["kind"]), unit=str(raw["unit"]),
        units=tuple(str(u) for u in raw["units"]), source=str(raw["source"]),
        description=str(raw["description"]), thresholds=_thresholds(raw.get("status"), default),
        ref=_number(raw.get("ref")), tol=_number(raw.get("tol")),
        sql=None if raw.get("sql") is None else str(raw["sql"]), months=int(raw.get("months", 1)),
        reads=_reads(raw.get("reads")),
    )


def _check_indicator(ind: Indicator, groups: dict[str, Group], symbolic: set[str]) -> list[str]:
    problems = []
    where = f"indicator {ind.id}"
    if ind.kind not in KINDS:
        problems.append(f"{where}: kind {ind.kind!r} not in {sorted(KINDS)}")
    if ind.unit not in VALUE_UNITS:
        problems.append(f"{where}: unit {ind.unit!r} not in {sorted(VALUE_UNITS)}")
    if ind.source not in SOURCES:
        problems.append(f"{where}: source {ind.source!r} not in {sorted(SOURCES)}")
    unknown = [u for u in ind.units if u not in UNITS and u not in symbolic]
    if unknown or not ind.units:
        problems.append(f"{where}: unknown or no responsible units {unknown}")
    if ind.is_deduction:
        if ind.group is not None or ind.points >= 0 or ind.source != "self_report" or ind.months < 1:
            problems.append(f"{where}: a deduction has no group, negative points, source self_report, months ≥ 1")
    else:
        if ind.group not in groups:
            problems.append(f"{where}: group {ind.group!r} does not exist")
        if ind.points <= 0:
            problems.append(f"{where}: points must be positive")
    needed = NEEDS.get(ind.kind)
    for key in ("ref", "tol"):
        value = getattr(ind, key)
        if key == needed and (value is None or value <= 0):
            problems.append(f"{where}: kind {ind.kind} needs a positive {key}")
        elif key != needed and value is not None:
            problems.append(f"{where}: kind {ind.kind} takes no {key}")
    if ind.source == "data" and not (ind.sql and ind.sql.startswith("sql/") and ind.sql.endswith(".sql")):
        problems.append(f"{where}: a data indicator names its SQL file (sql/….sql), got {ind.sql!r}")
    if ind.source == "self_report" and ind.sql is not None:
        problems.append(f"{where}: a self-report indicator has no SQL")
    problems += _check_reads(ind)
    t = ind.thresholds
    if not 0 <= t.yellow <= t.green <= 1:
        problems.append(f"{where}: status thresholds need 0 ≤ yellow ≤ green ≤ 1, got {t}")
    return problems


def _check_sums(groups: dict[str, Group], indicators: list[Indicator]) -> list[str]:
    problems = []
    for g in groups.values():
        members = [i for i in indicators if i.group == g.id]
        total = sum(i.points for i in members)
        if not members or not math.isclose(total, g.points, abs_tol=_EPS):
            problems.append(f"group {g.id} {g.name}: its indicators sum to {total:g} points, "
                            f"the group has {g.points:g}")
        if g.first_level not in FIRST_LEVEL:
            problems.append(f"group {g.id}: first level {g.first_level!r} not in {sorted(FIRST_LEVEL)}")
    for name, points in FIRST_LEVEL.items():
        total = sum(g.points for g in groups.values() if g.first_level == name)
        if not math.isclose(total, points, abs_tol=_EPS):
            problems.append(f"first level {name}: its groups sum to {total:g} points, not {points}")
    total = sum(g.points for g in groups.values())
    if not math.isclose(total, TOTAL_POINTS, abs_tol=_EPS):
        problems.append(f"the groups sum to {total:g} points, not {TOTAL_POINTS}")
    return problems


def parse_catalog(path: Path) -> Catalog:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    try:
        default = _thresholds(doc.get("status"), Thresholds())
        symbolic = {str(k): dict(v or {}) for k, v in (doc.get("symbolic_units") or {}).items()}
        declared_levels = {str(k): float(v) for k, v in (doc.get("first_level") or {}).items()}
        groups = {str(k): Group(id=str(k), name=str(v["name"]), points=float(v["points"]),
                                first_level=str(v["first_level"]))
                  for k, v in doc["groups"].items()}
        indicators = [_indicator(raw, default) for raw in doc["indicators"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: malformed catalog ({type(exc).__name__}: {exc})") from exc

    problems = []
    # The first-level points are the national edition's: the file may restate them, not change them.
    if declared_levels and declared_levels != {k: float(v) for k, v in FIRST_LEVEL.items()}:
        problems.append(f"first_level must be {FIRST_LEVEL}, got {declared_levels}")
    if set(symbolic) != SYMBOLIC_UNITS:
        problems.append(f"symbolic_units must define exactly {sorted(SYMBOLIC_UNITS)}")
    for name, spec in symbolic.items():
        if not set(spec.get("members", ())) <= set(UNITS):
            problems.append(f"symbolic unit {name}: unknown members")
    ids = [i.id for i in indicators]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"duplicate ids {duplicates}")
    if set(ids) != set(IDS):
        problems.append(f"ids must be I01…I39, D1, D2: missing {sorted(set(IDS) - set(ids))}, "
                        f"unexpected {sorted(set(ids) - set(IDS))}")
    if any(not re.fullmatch(r"G\d+", g) for g in groups):
        problems.append("group ids are G1, G2, …")
    for ind in indicators:
        problems += _check_indicator(ind, groups, SYMBOLIC_UNITS)
    problems += _check_sums(groups, indicators)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    order = {i: n for n, i in enumerate(IDS)}
    return Catalog(path=Path(path), groups=groups, symbolic_units=symbolic,
                   indicators={i.id: i for i in sorted(indicators, key=lambda i: order[i.id])})


@cache
def load_catalog(path: Path = CATALOG) -> Catalog:
    return parse_catalog(path)


def score(indicator: Indicator, value: float | None) -> float | None:
    """points × f(value) by kind (INDICATORS.md "Scoring"); None where the value is null.

    A deduction's value is 1 when it applies in the month (0 otherwise): it scores points × 1, negative."""
    if value is None:
        return None
    kind = indicator.kind
    if kind in ("target_1", "yes_no", "deduction"):
        f = value
    elif kind in ("higher_better", "count"):
        f = min(value / indicator.ref, 1.0)
    elif kind == "lower_better":
        f = max(0.0, 1.0 - value / indicator.tol)
    else:
        raise ValueError(f"indicator {indicator.id}: unknown kind {kind!r}")
    return indicator.points * f


def status(indicator: Indicator, value: float | None, score: float | None) -> str:
    """green / yellow / red by f = score / points against the indicator's thresholds; n/a on null.

    A deduction is red when it applies and green when it does not."""
    if value is None or score is None:
        return NA
    if indicator.is_deduction:
        return RED if value else GREEN
    f = score / indicator.points
    # points × f / points may land a hair under a threshold it meets exactly (3 × 0.9 / 3)
    if f >= indicator.thresholds.green - _EPS:
        return GREEN
    if f >= indicator.thresholds.yellow - _EPS:
        return YELLOW
    return RED
