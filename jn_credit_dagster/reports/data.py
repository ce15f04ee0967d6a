"""Everything a month's reports need, read from the warehouse in one place (never from the inbox).

`load(cur, month)` returns a ReportData: the month's stored indicators (wh.indicator_results /
wh.indicator_totals, as `lib.indicators.read_month` gives them), the previous month's for the change,
the last 12 months' totals, the deliveries due by the 25th (INDICATORS.md) judged from the ingest ledger,
the month's quarantined rows (personal IDs masked), and the ledger files the month was built from.
Every text that leaves this module for a report has passed `privacy.scrub` (or `mask_personal`); the
writers scrub again where the text leaves (bulletin: Jinja's finalize, workbook: every cell).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from psycopg2 import sql

from jn_credit_dagster.lib.common.city import UNITS, district_rows
from jn_credit_dagster.lib.indicators import compute as indicators
from jn_credit_dagster.lib.indicators.catalog import Catalog, Indicator, load_catalog
from jn_credit_dagster.lib.ingest.deliveries_due import DUE, Due, deadline, from_ledger
from jn_credit_dagster.lib.common.present import mask_id, scrub
from jn_credit_dagster.lib.ingest.specs import FeedSpec, load_specs
from jn_credit_dagster.lib.common.status import BELOW_TARGET


class NotComputed(RuntimeError):
    """The month's indicators are not in the warehouse."""



@dataclass
class Quarantined:
    feed: str
    unit: str
    file_sha256: str
    row_no: int
    reasons: list[str]
    values: dict[str, str]  # header → value as delivered, personal columns masked, all scrubbed

    @property
    def text(self) -> str:
        return "；".join(f"{k}={v}" for k, v in self.values.items() if v)


@dataclass
class UnitReport:
    unit: str
    name: str
    due: list[Due] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)  # reason → rows
    held_back: list[str] = field(default_factory=list)  # indicator ids this unit holds back
    below_target: list[dict] = field(default_factory=list)  # indicators it owns below target (city or own row)

    @property
    def sheet(self) -> str:
        """Its workbook sheet: the unit's code (short, ASCII, a valid sheet title), masked like any text
        (`*` is not allowed in a sheet title, so masked characters read `_`)."""
        return scrub(self.unit).replace("*", "_")[:31]

    @property
    def late(self) -> list[Due]:
        return [d for d in self.due if d.status == "late"]

    @property
    def missing(self) -> list[Due]:
        return [d for d in self.due if d.status == "missing"]

    @property
    def on_time(self) -> list[Due]:
        return [d for d in self.due if d.status == "on_time"]

    @property
    def has_findings(self) -> bool:
        return bool(self.late or self.missing or self.quarantined or self.below_target)


@dataclass
class ReportData:
    month: dt.date
    catalog: Catalog
    doc: dict  # read_month's JSON (with _evidence) for M
    previous: dict | None  # the same for M−1, None when not computed
    history: list[tuple[dt.date, float | None]]  # the last 12 months' totals (None: not computed)
    unit_rows: dict[str, dict[str, dict]]  # unit → indicator → stored unit row
    district_rows: dict[str, dict[str, dict]]  # district code → indicator → stored district row
    units: dict[str, UnitReport]
    districts: list[tuple[str, str, bool]]  # (code, name, monitored)
    ledger: list[dict]  # the ingest ledger's files of M and before
    double_publicity: list[str]  # units that delivered license / penalty rows in M

    @property
    def key(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def deadline(self) -> dt.date:
        """The rectification deadline: the 25th of the next month, when the next deliveries are due."""
        return deadline(indicators.add_months(self.month, 1))

    @property
    def indicators(self) -> list[dict]:
        return self.doc["indicators"]

    def indicator(self, ind_id: str) -> dict:
        return next(i for i in self.indicators if i["id"] == ind_id)

    def previous_of(self, ind_id: str) -> dict | None:
        if self.previous is None:
            return None
        return next((i for i in self.previous["indicators"] if i["id"] == ind_id), None)

    def responsible(self, ind: Indicator) -> list[str]:
        """Unit codes (or a symbolic group spelled out) responsible for an indicator."""
        out: list[str] = []
        for u in ind.units:
            if u in UNITS:
                out.append(u)
            elif u == "double_publicity":
                out += self.double_publicity
            elif u in self.catalog.symbolic_units and self.catalog.symbolic_units[u].get("members"):
                out += list(self.catalog.symbolic_units[u]["members"])
        return list(dict.fromkeys(out))

    def responsible_text(self, ind: Indicator) -> str:
        names = [f"{UNITS[u]}（{u}）" for u in self.responsible(ind)]
        extra = {"all": "各成员单位、各县市区", "source_units": "异议信息来源单位",
                 "double_publicity": "双公示各责任单位"}
        names += [extra[u] for u in ind.units if u in extra and u != "double_publicity"]
        if "double_publicity" in ind.units and not self.double_publicity:
            names.append(extra["double_publicity"])
        return "、".join(names)

    @property
    def feed_indicators(self) -> dict[str, tuple[str, ...]]:
        """feed → the indicators computed from its rows (the catalog's `reads:`): a late or missing
        delivery holds them back."""
        return self.catalog.feed_indicators()

    @property
    def quarantine_indicators(self) -> dict[str, tuple[str, ...]]:
        """feed → the indicators that count its quarantined rows (the catalog's `reads:`)."""
        return self.catalog.quarantine_readers()

    @property
    def source_fingerprint(self) -> str:
        """SHA-256 over the sorted SHA-256s of the ledger files the reports were built from."""
        return hashlib.sha256("\n".join(sorted(f["sha256"] for f in self.ledger if f["sha256"])).encode()).hexdigest()


def _dict_rows(cur) -> list[dict]:
    names = [d.name for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _scoped(cur, month: dt.date, scope: str) -> dict[str, dict[str, dict]]:
    cur.execute("""SELECT scope_key, indicator, value, numerator, denominator, score, max_score, status, evidence
                   FROM wh.indicator_results WHERE month = %s AND scope = %s
                   ORDER BY scope_key, indicator""", (month, scope))
    out: dict[str, dict[str, dict]] = {}
    for r in _dict_rows(cur):
        for k in ("value", "numerator", "denominator", "score", "max_score"):
            r[k] = None if r[k] is None else float(r[k])
        out.setdefault(r["scope_key"], {})[r["indicator"]] = r
    return out


def _quarantined(cur, month: dt.date, specs: dict[str, FeedSpec]) -> list[Quarantined]:
    out = []
    for feed, spec in specs.items():
        cols = [c for c in spec.columns]
        cur.execute(sql.SQL("SELECT unit, file_sha256, row_no, reasons, {} FROM {} WHERE month = %s "
                            "ORDER BY unit, delivery_date, seq, file_sha256, row_no").format(
            sql.SQL(", ").join(sql.Identifier(c.name) for c in cols), sql.Identifier("quarantine", feed)), (month,))
        for r in cur.fetchall():
            values = {}
            for c, v in zip(cols, r[4:]):
                if v in (None, ""):
                    continue
                values[c.header] = mask_id(str(v)) if c.personal else scrub(v)
            out.append(Quarantined(feed, r[0], r[1], r[2], [scrub(x) for x in r[3]], values))
    return out


def _ledger(cur, month: dt.date) -> list[dict]:
    cur.execute("""SELECT sha256, asset, path, unit, feed, month, delivery_date, bytes, rows, accepted,
                          quarantined, status, reason_code
                   FROM ingest.ledger WHERE month <= %s
                   ORDER BY month, unit, feed, delivery_date, path, sha256""", (month,))
    rows = _dict_rows(cur)
    for r in rows:  # a folder or file name may be anything a unit typed, an ID number included
        r["path"], r["unit"] = scrub(r["path"]), r["unit"] and scrub(r["unit"])
    return rows


def load(cur, month: dt.date, catalog: Catalog | None = None) -> ReportData:
    """The month's report data; NotComputed when its indicators are not in the warehouse."""
    catalog = catalog or load_catalog()
    month = month.replace(day=1)
    doc = indicators.read_month(cur, month, catalog)
    if doc is None:
        raise NotComputed(f"{month:%Y-%m} has no indicators yet: run `jn-credit run --inbox DIR --month {month:%Y-%m}` first")
    previous = indicators.read_month(cur, indicators.add_months(month, -1), catalog)
    first = indicators.add_months(month, -11)
    cur.execute("SELECT month, total_score FROM wh.indicator_totals WHERE month BETWEEN %s AND %s", (first, month))
    totals = {m: None if t is None else float(t) for m, t in cur.fetchall()}
    history = [(indicators.add_months(first, i), totals.get(indicators.add_months(first, i))) for i in range(12)]
    specs = load_specs()
    unit_rows = _scoped(cur, month, "unit")
    district_scoped = _scoped(cur, month, "district")
    cur.execute("""SELECT DISTINCT unit FROM ingest.ledger WHERE month = %s AND feed IN ('license', 'penalty')
                   AND status = 'loaded' AND unit IS NOT NULL ORDER BY unit""", (month,))
    double_publicity = [r[0] for r in cur.fetchall() if r[0] in UNITS]
    data = ReportData(month=month, catalog=catalog, doc=doc, previous=previous, history=history,
                      unit_rows=unit_rows, district_rows=district_scoped, units={}, districts=district_rows(),
                      ledger=_ledger(cur, month), double_publicity=double_publicity)

    units: dict[str, UnitReport] = {}

    def unit(code: str) -> UnitReport:
        if code not in units:
            units[code] = UnitReport(code, UNITS.get(code, code))
        return units[code]

    for d in from_ledger(cur, month):
        unit(d.unit).due.append(d)
    for q in _quarantined(cur, month, specs):
        u = unit(q.unit)
        u.quarantined.append(q)
        for reason in q.reasons:
            u.reasons[reason] = u.reasons.get(reason, 0) + 1
    city = {i["id"]: i for i in doc["indicators"]}
    for ind in catalog.indicators.values():
        if ind.is_deduction:
            continue
        c = city[ind.id]
        owners = set(data.responsible(ind))
        for code in sorted(owners):
            own = unit_rows.get(code, {}).get(ind.id)
            if own is not None and own["status"] in BELOW_TARGET:
                unit(code).below_target.append({"id": ind.id, "name": ind.name, "scope": "本单位", **_brief(own)})
            elif c["status"] in BELOW_TARGET:
                unit(code).below_target.append({"id": ind.id, "name": ind.name, "scope": "全市", **_brief(c)})
        for code, rows in unit_rows.items():  # a unit not named in the catalog whose own row is below target
            own = rows.get(ind.id)
            if code not in owners and own is not None and own["status"] in BELOW_TARGET:
                unit(code).below_target.append({"id": ind.id, "name": ind.name, "scope": "本单位", **_brief(own)})
    for u in units.values():
        held = set()
        for d in u.late + u.missing:
            held.update(data.feed_indicators.get(d.feed, ()))
        held.update(i["id"] for i in u.below_target)
        for f in {q.feed for q in u.quarantined}:
            held.update(data.quarantine_indicators.get(f, ()))
        order = {i: n for n, i in enumerate(catalog.indicators)}
        u.held_back = sorted(held, key=lambda i: order.get(i, 999))
    data.units = dict(sorted(units.items(), key=lambda kv: (kv[0] not in DUE, list(UNITS).index(kv[0])
                                                              if kv[0] in UNITS else 999, kv[0])))
    return data


def _brief(row: dict) -> dict:
    return {"value": row["value"], "score": row["score"], "max_score": row["max_score"], "status": row["status"]}

