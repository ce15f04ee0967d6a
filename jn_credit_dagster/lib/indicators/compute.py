"""The indicators of a month (INDICATORS.md): compute, score, and store them in wh.indicator_results.

Every indicator of the catalog gets a city row (scope 'city', scope_key '370800'), and may get rows per
unit / per district:

- a **data** indicator runs its SQL file (`<sql_dir>/<id>.sql`, one SELECT with the bound parameters
  `month`, `month_end`, `window_start`) and keeps every row it returns. A catalog data indicator whose
  file does not exist yet is stored as value NULL, status `n/a`, evidence {"missing": "<file>"}; a file
  whose SQL fails is stored the same way with {"error": …} (the run goes on; the asset check of that
  indicator fails with ERROR severity).
- a **self-report** indicator (INDICATORS.md "Self-report"): each unit's latest `self_report` row for
  it delivered in M or before (the fact wh.self_report of M, key 指标编号 + unit); units combine by
  max (是 = 1, 否 = 0, numbers as numbers). A unit's latest value that is neither is ignored and listed in
  the evidence (an earlier value of that unit does not come back). One row per reporting unit too.
- a **deduction** (D1, D2) is an event of the month its 是 is delivered in, not a state that carries
  over: for a month X, each unit's latest D row delivered in X's folder counts. It applies in M when
  such a 是 exists for a month X in the catalog's `months` back from M (D1: M−2, M−1, M; D2: M only);
  value 1 then (score = its negative points, status red), 0 when reports exist but none is 是 (green),
  NULL when nothing was reported in those months (n/a). One deduction per month however many 是.

Scores and statuses come from the catalog (`score()`, `status()`), for every row, by the same rule.
Total = Σ city scores of I01…I39 (a null score counts 0) + the deductions' (negative) scores.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from psycopg2.extras import Json, execute_values

from jn_credit_dagster.lib.warehouse import facts, subjects
from jn_credit_dagster.lib.common import database, paths
from jn_credit_dagster.lib.indicators.catalog import Catalog, Indicator, load_catalog, score, status
from jn_credit_dagster.lib.common.status import NA, STATUSES

SQL_DIR = paths.SQL / "indicators"
CITY = "370800"
SCOPES = ("city", "unit", "district")
COLUMNS = ("month", "indicator", "scope", "scope_key", "value", "numerator", "denominator", "score",
           "max_score", "status", "source", "evidence")
YES, NO = "是", "否"


@dataclass
class Row:
    indicator: str
    scope: str
    scope_key: str
    value: float | None
    numerator: float | None
    denominator: float | None
    score: float | None
    max_score: float
    status: str
    source: str
    evidence: dict = field(default_factory=dict)


@dataclass
class MonthIndicators:
    """What compute_month stored for a month."""

    month: dt.date
    rows: list[Row]
    total_score: float
    max_score: float
    deductions: list[dict]
    missing: list[str]  # ids of data indicators whose SQL file does not exist
    errors: dict[str, str]  # id → the error of its SQL

    @property
    def city(self) -> dict[str, Row]:
        return {r.indicator: r for r in self.rows if r.scope == "city"}

    def count_by_status(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for r in self.city.values():
            counts[r.status] += 1
        return counts


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def parameters(month: dt.date) -> dict[str, dt.date]:
    """The bound parameters of every indicator SQL file."""
    month = month.replace(day=1)
    return {"month": month, "month_end": add_months(month, 1) - dt.timedelta(days=1),
            "window_start": add_months(month, -11)}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _scored(ind: Indicator, scope: str, key: str, value, numerator=None, denominator=None,
            evidence: dict | None = None) -> Row:
    v = _float(value)
    s = score(ind, v)
    return Row(indicator=ind.id, scope=scope, scope_key=key, value=v, numerator=_float(numerator),
               denominator=_float(denominator), score=s, max_score=0.0 if ind.is_deduction else ind.points,
               status=status(ind, v, s), source=ind.source, evidence=evidence or {})


def sql_file(ind: Indicator, sql_dir: Path) -> Path:
    return Path(sql_dir) / Path(ind.sql).name


def shown_path(path: Path) -> str:
    """sql/indicators/I03.sql for the project's own files; the full path for any other folder."""
    try:
        return str(path.resolve().relative_to(paths.PROJECT_ROOT))
    except ValueError:
        return str(path.resolve())


# ---------------------------------------------------------------- data indicators

def data_rows(cur, ind: Indicator, month: dt.date, sql_dir: Path) -> tuple[list[Row], str | None]:
    """(rows, error): the rows of the indicator's SQL, scored; a missing file or failing SQL → one n/a city row."""
    path = sql_file(ind, sql_dir)
    if not path.is_file():
        return [_scored(ind, "city", CITY, None, evidence={"missing": shown_path(path)})], None
    cur.execute("SAVEPOINT indicator_sql")
    try:
        cur.execute(path.read_text(encoding="utf-8"), parameters(month))
        names = [d.name for d in cur.description or ()]
        fetched = [dict(zip(names, r)) for r in cur.fetchall()]
        cur.execute("RELEASE SAVEPOINT indicator_sql")
    except Exception as exc:  # noqa: BLE001 - a broken file must not stop the other indicators; it is stored
        cur.execute("ROLLBACK TO SAVEPOINT indicator_sql")
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [_scored(ind, "city", CITY, None, evidence={"error": message, "file": shown_path(path)})], message
    needed = {"scope", "scope_key", "value", "numerator", "denominator"}
    if fetched and not needed <= set(fetched[0]):
        message = f"{shown_path(path)} returns no column(s) {sorted(needed - set(fetched[0]))}"
        return [_scored(ind, "city", CITY, None, evidence={"error": message, "file": shown_path(path)})], message
    rows, seen = [], set()
    for r in fetched:
        scope, key = r["scope"], None if r["scope_key"] is None else str(r["scope_key"])
        if scope == "city":
            key = CITY
        if scope not in SCOPES or key is None or (scope, key) in seen:
            message = f"{shown_path(path)} returns a bad or repeated scope ({scope!r}, {key!r})"
            return [_scored(ind, "city", CITY, None, evidence={"error": message, "file": shown_path(path)})], message
        seen.add((scope, key))
        evidence = r.get("evidence")
        if isinstance(evidence, str):
            evidence = json.loads(evidence)
        if evidence is not None and not isinstance(evidence, dict):
            evidence = {"evidence": evidence}
        if r["value"] is None and r["denominator"] == 0:
            # INDICATORS.md: a ratio over nothing is null (n/a), never 0 or 1 — and the evidence says so
            evidence = {**(evidence or {}), "n/a": "the denominator is 0"}
        rows.append(_scored(ind, scope, key, r["value"], r["numerator"], r["denominator"], evidence))
    if ("city", CITY) not in seen:
        rows.insert(0, _scored(ind, "city", CITY, None, evidence={"problem": f"{shown_path(path)} returned no city row"}))
    return rows, None


# ---------------------------------------------------------------- self-report

def reported_value(ind: Indicator, text: str | None) -> float | None:
    """是 = 1, 否 = 0; a yes/no (or deduction) takes 1 / 0 as numbers too, a count any number ≥ 0.
    None: neither (ignored, listed in the evidence)."""
    t = (text or "").strip()
    if t == YES:
        return 1.0
    if t == NO:
        return 0.0
    try:
        number = Decimal(t)
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    if ind.kind in ("yes_no", "deduction") and number not in (0, 1):
        return None
    return float(number)


def _latest_reports(cur, ids: list[str], month: dt.date) -> list[dict]:
    """Each unit's latest self_report row per indicator, delivered in M or before (wh.self_report)."""
    cur.execute("""
        SELECT indicator_id, unit, reported_value, month, delivery_date FROM wh.self_report
        WHERE as_of_month = %(month)s AND indicator_id = ANY(%(ids)s) ORDER BY indicator_id, unit""",
                {"ids": ids, "month": month})
    return [dict(zip(("indicator", "unit", "reported", "month", "delivery_date"), r)) for r in cur.fetchall()]


def _monthly_reports(cur, ids: list[str], first: dt.date, month: dt.date) -> list[dict]:
    """Each unit's latest self_report row per indicator per month folder, for the folders first…M."""
    cur.execute("""
        SELECT DISTINCT ON (indicator_id, unit, month) indicator_id, unit, reported_value, month, delivery_date
        FROM raw.self_report
        WHERE indicator_id = ANY(%(ids)s) AND month BETWEEN %(first)s AND %(month)s
        ORDER BY indicator_id, unit, month, delivery_date DESC, seq DESC, row_no DESC""",
                {"ids": ids, "first": first, "month": month})
    return [dict(zip(("indicator", "unit", "reported", "month", "delivery_date"), r)) for r in cur.fetchall()]


def _report(r: dict) -> dict:
    return {"unit": r["unit"], "reported": r["reported"], "month": f"{r['month']:%Y-%m}",
            "delivery_date": r["delivery_date"].isoformat()}


def self_report_rows(ind: Indicator, reports: list[dict]) -> list[Row]:
    """City: the max over units of their latest valid value; a row per unit with its own latest value."""
    unit_rows, values, ignored = [], {}, []
    for r in sorted(reports, key=lambda r: r["unit"]):
        value = reported_value(ind, r["reported"])
        evidence = _report(r)
        if value is None:
            ignored.append(_report(r))
            evidence["ignored"] = "neither 是/否 nor a number this indicator takes"
        else:
            values[r["unit"]] = value
        unit_rows.append(_scored(ind, "unit", r["unit"], value, evidence=evidence))
    city_value = max(values.values()) if values else None
    city_evidence = {"units": values, "ignored": ignored, "rule": "each unit's latest report delivered in M or "
                     "before; units combine by max (是 = 1, 否 = 0)"}
    return [_scored(ind, "city", CITY, city_value, evidence=city_evidence), *unit_rows]


def deduction_rows(ind: Indicator, reports: list[dict], month: dt.date) -> list[Row]:
    """Applies (1) when some unit's latest report of a month folder in the window is 是."""
    first = add_months(month, -(ind.months - 1))
    window = [r for r in reports if r["indicator"] == ind.id and first <= r["month"] <= month]
    per_unit: dict[str, list[dict]] = {}
    for r in window:
        per_unit.setdefault(r["unit"], []).append(r)
    unit_rows, values, ignored, yes_months = [], {}, [], set()
    for unit in sorted(per_unit):
        valid = []
        for r in per_unit[unit]:
            value = reported_value(ind, r["reported"])
            if value is None:
                ignored.append(_report(r))
            else:
                valid.append(value)
                if value == 1:
                    yes_months.add(f"{r['month']:%Y-%m}")
        value = max(valid) if valid else None
        if value is not None:
            values[unit] = value
        unit_rows.append(_scored(ind, "unit", unit, value, evidence={"reports": [_report(r) for r in per_unit[unit]]}))
    city_value = max(values.values()) if values else None
    evidence = {"window": [f"{first:%Y-%m}", f"{month:%Y-%m}"], "months_with_yes": sorted(yes_months),
                "units": values, "ignored": ignored,
                "rule": f"a 是 delivered in a month's folder deducts in that month and the {ind.months - 1} after"}
    return [_scored(ind, "city", CITY, city_value, evidence=evidence), *unit_rows]


# ---------------------------------------------------------------- the month

class FactsNotBuilt(RuntimeError):
    """The indicators of a month read the state feeds' facts of that month (wh.<feed>, lib/warehouse/facts.py) and
    its subjects (wh.subjects, lib/warehouse/subjects.py)."""


WORK_MEM = "256MB"  # a city's registry snapshot sorts in memory, not on disk
WORKERS = min(4, os.cpu_count() or 1)  # indicator SQL files run side by side, given the warehouse's URL


def _all_data_rows(cur, inds: list[Indicator], month: dt.date, sql_dir: Path,
                   url: str | None, workers: int) -> dict[str, tuple[list[Row], str | None]]:
    """Each data indicator's rows and error. Given `url`, `workers` files at a time, each on a connection of
    its own reading `cur`'s snapshot (a city month's ~6 s become about its slowest file, I09's); on `cur`
    alone when it has written in its transaction (a snapshot shows others nothing uncommitted)."""
    if not url or workers < 2 or database.has_written(cur):
        return {ind.id: data_rows(cur, ind, month, sql_dir) for ind in inds}
    snapshot = database.export_snapshot(cur)

    def run(ind: Indicator) -> tuple[str, tuple[list[Row], str | None]]:
        with database.reading_snapshot(url, snapshot) as helper:
            helper.execute("SET LOCAL work_mem = %s", (WORK_MEM,))
            return ind.id, data_rows(helper, ind, month, sql_dir)

    with ThreadPoolExecutor(workers, thread_name_prefix="indicator") as pool:
        return dict(pool.map(run, inds))


def compute_month(cur, month: dt.date, sql_dir: Path | str = SQL_DIR, catalog: Catalog | None = None,
                  url: str | None = None, workers: int = WORKERS) -> MonthIndicators:
    """Compute every indicator of the catalog for M and replace M's rows, on `cur` (the caller's transaction);
    given the warehouse's `url`, the data indicators' SQL runs `workers` files at a time."""
    catalog = catalog or load_catalog()
    month = month.replace(day=1)
    unbuilt = facts.unbuilt(cur, month) + ([] if subjects.built(cur, month) else [subjects.BUILD])
    if unbuilt:  # an empty latest state would read as "nothing listed", and score
        raise FactsNotBuilt(f"the latest state of {', '.join(unbuilt)} is not built for {month:%Y-%m}: "
                            f"materialize {', '.join('wh/' + f for f in unbuilt)} for that month first")
    cur.execute("SET LOCAL work_mem = %s", (WORK_MEM,))
    sql_dir = Path(sql_dir)
    rows: list[Row] = []
    missing, errors = [], {}
    plain_self = [i.id for i in catalog.indicators.values() if i.source == "self_report" and not i.is_deduction]
    latest = _latest_reports(cur, plain_self, month)
    deductions = catalog.deductions
    longest = max((d.months for d in deductions), default=1)
    monthly = _monthly_reports(cur, [d.id for d in deductions], add_months(month, -(longest - 1)), month)
    data = [i for i in catalog.indicators.values() if not i.is_deduction and i.source != "self_report"]
    computed = _all_data_rows(cur, data, month, sql_dir, url, workers)
    for ind in catalog.indicators.values():
        if ind.is_deduction:
            rows += deduction_rows(ind, monthly, month)
        elif ind.source == "self_report":
            rows += self_report_rows(ind, [r for r in latest if r["indicator"] == ind.id])
        else:
            found, error = computed[ind.id]
            rows += found
            if not sql_file(ind, sql_dir).is_file():
                missing.append(ind.id)
            if error:
                errors[ind.id] = error
    city = {r.indicator: r for r in rows if r.scope == "city"}
    scored = [i for i in catalog.indicators.values() if not i.is_deduction]
    max_total = sum(i.points for i in scored)
    applied = [{"id": d.id, "name": d.name, "points": d.points, "months": city[d.id].evidence["months_with_yes"]}
               for d in deductions if city[d.id].value]
    total = sum(city[i.id].score or 0.0 for i in scored) + sum(d["points"] for d in applied)
    total = round(total, 6)

    cur.execute("DELETE FROM wh.indicator_results WHERE month = %s", (month,))
    cur.execute("DELETE FROM wh.indicator_totals WHERE month = %s", (month,))
    execute_values(cur, f"INSERT INTO wh.indicator_results ({', '.join(COLUMNS)}) VALUES %s", [
        (month, r.indicator, r.scope, r.scope_key, r.value, r.numerator, r.denominator, r.score, r.max_score,
         r.status, r.source, Json(r.evidence, dumps=_dumps)) for r in rows], page_size=1000)
    cur.execute("INSERT INTO wh.indicator_totals (month, total_score, max_score, deductions) VALUES (%s, %s, %s, %s)",
                (month, total, max_total, Json(applied, dumps=_dumps)))
    return MonthIndicators(month=month, rows=rows, total_score=total, max_score=max_total, deductions=applied,
                           missing=missing, errors=errors)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


# ---------------------------------------------------------------- reading back (the CLI, reports)

def read_month(cur, month: dt.date, catalog: Catalog | None = None) -> dict | None:
    """DESIGN.md's JSON object for M from the stored rows, or None when M has not been computed.

    Indicators in the catalog's order: I01…I39 by number, then D1, D2 (catalog.IDS)."""
    catalog = catalog or load_catalog()
    month = month.replace(day=1)
    cur.execute("SELECT total_score, deductions FROM wh.indicator_totals WHERE month = %s", (month,))
    total = cur.fetchone()
    if total is None:
        return None
    cur.execute("""SELECT indicator, value, numerator, denominator, score, max_score, status, source, evidence
                   FROM wh.indicator_results WHERE month = %s AND scope = 'city'""", (month,))
    stored = {r[0]: r for r in cur.fetchall()}
    indicators = []
    for ind in catalog.indicators.values():
        r = stored.get(ind.id)
        if r is None:  # a catalog entry added after M was computed
            entry = dict(value=None, numerator=None, denominator=None, score=None,
                         max_score=0.0 if ind.is_deduction else ind.points, status=NA, evidence={"not_computed": True})
        else:
            entry = dict(value=_float(r[1]), numerator=_float(r[2]), denominator=_float(r[3]), score=_float(r[4]),
                         max_score=_float(r[5]), status=r[6], evidence=r[8] or {})
        indicators.append({"id": ind.id, "name": ind.name, "value": entry["value"], "numerator": entry["numerator"],
                           "denominator": entry["denominator"], "unit": ind.unit, "score": entry["score"],
                           "max_score": entry["max_score"], "status": entry["status"], "source": ind.source,
                           "_evidence": entry["evidence"]})
    return {"month": f"{month:%Y-%m}", "city": CITY, "indicators": indicators,
            "total_score": _float(total[0]), "deductions": total[1] or []}
