"""The whole platform as the office runs it: a generated small city, `jn-credit run` for two months as
real processes, then `jn-credit indicators --format json` — every indicator there once, in catalog order,
each with a number or, where null, status n/a and a reason stored in wh.indicator_results.evidence."""

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from jn_credit_dagster.generate import generate
from jn_credit_dagster.defs.warehouse.assets import district_rows
from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.warehouse import facts, subjects
from jn_credit_dagster.lib.indicators import compute as indicators
from jn_credit_dagster.lib.indicators.catalog import IDS, load_catalog
from jn_credit_dagster.lib.common.city import UNITS

DISTRICTS = [code for code, _, _ in district_rows()]  # wh/subjects' known districts

MONTHS = ["2020-07", "2020-08"]
SEED = 7

# Where a data indicator's SQL returns NULL, the key of its evidence that says why: an input that is
# missing (None) or a denominator that is 0.
NULL_REASONS = {
    "I06": {"population": None, "existing_enterprises": 0},
    "I09": {"file": None},
    "I12": {"registry_file": None},
    "I13": {"gdp_wan_yuan": None},
    "I14": {"gdp_wan_yuan": None},
    "I16": {"ledgers": 0},
    "I19": {"file": None},
    "I20": {"registry_file": None, "existing_enterprises": 0},
}
def explanation(ind_id: str, source: str, evidence: dict) -> str | None:
    """Why a null value is null, as the stored evidence says it; None when it says nothing."""
    for key in ("missing", "error", "problem", "not_computed", "n/a"):
        if key in evidence:
            return f"{key}: {evidence[key]}"
    if source == "self_report":
        if not evidence.get("units") and not evidence.get("ignored"):
            return "no self-report"
        if not evidence.get("units"):
            return "every report ignored"
        return None
    for key, empty in NULL_REASONS.get(ind_id, {}).items():
        if key in evidence and evidence[key] == empty:
            return f"{key} = {empty}"
    return None


def city_rows(query, month: str) -> dict[str, tuple]:
    rows = query("SELECT indicator, source, denominator, evidence FROM wh.indicator_results "
                 "WHERE month = %s AND scope = 'city'", (f"{month}-01",))
    return {r[0]: r[1:] for r in rows}


def assert_nulls_explained(nulls: dict[str, tuple]) -> None:
    unexplained = {}
    for ind_id, (source, denominator, evidence) in nulls.items():
        if explanation(ind_id, source, evidence) is not None:
            continue
        unexplained[ind_id] = (denominator, evidence)
    assert not unexplained, f"null with no reason in the evidence: {unexplained}"


def jn_credit(*args, env):
    return subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)


def test_two_months_of_a_small_city_end_to_end(db, inbox, query, tmp_path):
    generate(inbox, MONTHS[0], MONTHS[-1], scale="small", seed=SEED)
    env = {"DATABASE_URL": db, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    for month in MONTHS:
        done = jn_credit("run", "--inbox", str(inbox), "--month", month, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"{month}: run" in done.stdout and "succeeded" in done.stdout
        assert "raw/registry" in done.stdout

    shown = jn_credit("indicators", "--month", MONTHS[-1], "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    doc = json.loads(shown.stdout)
    assert doc["month"] == MONTHS[-1] and doc["city"] == "370800"
    assert [i["id"] for i in doc["indicators"]] == list(IDS) == list(load_catalog().indicators)

    stored = city_rows(query, MONTHS[-1])
    assert set(stored) == set(IDS)
    nulls = {}
    for i in doc["indicators"]:
        if i["value"] is None:
            assert i["status"] == "n/a" and i["score"] is None, i
            nulls[i["id"]] = stored[i["id"]]
        else:
            assert isinstance(i["value"], (int, float)) and not isinstance(i["value"], bool), i
            assert i["status"] in ("green", "yellow", "red"), i
    assert_nulls_explained(nulls)
    data = [i for i in doc["indicators"] if i["source"] == "data"]
    assert data and all(i["value"] is not None for i in data), \
        "a generated city has the data of every data indicator"
    assert isinstance(doc["total_score"], (int, float)) and 0 < doc["total_score"] <= 100
    assert doc["total_score"] == pytest.approx(sum(i["score"] or 0 for i in doc["indicators"]))

    # the bulletin's per-unit pages: I03 and I04 for the units that delivered license/penalty in M
    per_unit = query("""SELECT indicator, scope_key, value, denominator FROM wh.indicator_results
                        WHERE month = %s AND scope = 'unit' AND indicator IN ('I03', 'I04')""", (f"{MONTHS[-1]}-01",))
    delivering = {u for (u,) in query("""SELECT unit FROM raw.penalty WHERE month = %(m)s
                                         UNION SELECT unit FROM raw.license WHERE month = %(m)s""",
                                      {"m": f"{MONTHS[-1]}-01"})}
    assert delivering
    for ind_id in ("I03", "I04"):
        units = {key for i, key, _, _ in per_unit if i == ind_id}
        assert delivering <= units <= set(UNITS), (ind_id, delivering - units)
    assert all(value is not None and denominator > 0 for i, unit, value, denominator in per_unit
               if i == "I04" and unit in delivering)


def test_null_indicators_of_an_empty_month_say_why(db):
    """Nothing delivered at all: every indicator that is null says why in its evidence; every
    self-report and deduction says "no self-report"."""
    with database.transaction(db) as cur:
        facts.build_latest_states(cur, dt.date(2018, 12, 1))
        subjects.build_month(cur, dt.date(2018, 12, 1), DISTRICTS)
        result = indicators.compute_month(cur, dt.date(2018, 12, 1))
        cur.execute("DELETE FROM wh.indicator_results WHERE month = '2018-12-01'")
        cur.execute("DELETE FROM wh.indicator_totals WHERE month = '2018-12-01'")
    city = result.city
    assert list(city) == list(IDS)
    nulls = {i: (r.source, r.denominator, r.evidence) for i, r in city.items() if r.value is None}
    assert all(city[i].status == "n/a" for i in nulls)
    assert {i for i, r in city.items() if r.source == "self_report"} <= set(nulls)
    assert all(explanation(i, *nulls[i][::2]) == "no self-report" for i in nulls if nulls[i][0] == "self_report")
    assert_nulls_explained(nulls)
    # the ratios over nothing say so themselves (the runner adds it for every zero denominator)
    zero_denominator = {i for i, (_, denominator, _) in nulls.items() if denominator == 0}
    assert zero_denominator and all("n/a" in nulls[i][2] for i in zero_denominator)
