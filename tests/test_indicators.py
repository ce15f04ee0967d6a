"""The indicators of a month: data SQL files (a temporary folder of them), self-reports, deductions,
the asset and its checks through `materialize`, and `jn-credit indicators` as a real process."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from jn_credit_dagster.defs.indicators.assets import results_asset
from jn_credit_dagster.defs.warehouse.facts import fact_asset
from jn_credit_dagster.defs.warehouse.subjects import subjects_asset
from jn_credit_dagster.defs.warehouse.assets import district_rows
from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.warehouse import facts, subjects
from jn_credit_dagster.lib.indicators import compute as indicators
from jn_credit_dagster.lib.indicators.catalog import IDS, load_catalog
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.defs.resources import Warehouse

DISTRICTS = [code for code, _, _ in district_rows()]  # wh/subjects' known districts

CASES = Path(__file__).parent / "cases"
PENALTY = yaml.safe_load((CASES / "penalty.yaml").read_text(encoding="utf-8"))["good"]
SELF_REPORT = yaml.safe_load((CASES / "self_report.yaml").read_text(encoding="utf-8"))["good"]

# Three small real indicator files, in the shape sql/indicators/<id>.sql has (city row + per unit).
SQL = {
    # correct / delivered penalty rows of M (a target-1 ratio; per unit too)
    "I03": """
        WITH d AS (
            SELECT unit, 1 AS ok FROM raw.penalty WHERE month = %(month)s
            UNION ALL SELECT unit, 0 FROM quarantine.penalty WHERE month = %(month)s),
        s AS (SELECT 'unit' AS scope, unit AS scope_key, sum(ok) AS n, count(*) AS d FROM d GROUP BY unit
              UNION ALL SELECT 'city', '370800', coalesce(sum(ok), 0), count(*) FROM d)
        SELECT scope, scope_key, n::numeric AS numerator, d::numeric AS denominator,
               CASE WHEN d > 0 THEN n::numeric / d END AS value,
               jsonb_build_object('month_end', %(month_end)s::text) AS evidence
        FROM s""",
    # a ratio whose denominator is 0 when no license was delivered: NULL, never 0 or 1
    "I04": """
        SELECT 'city' AS scope, '370800' AS scope_key, count(*)::numeric AS numerator,
               count(*)::numeric AS denominator, CASE WHEN count(*) > 0 THEN 1.0 END AS value,
               '{}'::jsonb AS evidence
        FROM raw.license WHERE month = %(month)s""",
    # a count over the last 12 months (lower-better, tol 1: any row is red)
    "I39": """
        SELECT 'city' AS scope, '370800' AS scope_key, count(*)::numeric AS numerator, NULL::numeric AS denominator,
               count(*)::numeric AS value, jsonb_build_object('from', %(window_start)s::text) AS evidence
        FROM raw.penalty WHERE month BETWEEN %(window_start)s AND %(month)s""",
}


@pytest.fixture
def sql_dir(tmp_path):
    folder = tmp_path / "sql_indicators"
    folder.mkdir()
    for ind_id, text in SQL.items():
        (folder / f"{ind_id}.sql").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def wh(db, query):
    query("DELETE FROM wh.indicator_results; DELETE FROM wh.indicator_totals")
    return db


def compute(url, month, sql_dir):
    """M's facts, then M's indicators, as the monthly job runs them."""
    month = dt.date.fromisoformat(month + "-01")
    with database.transaction(url) as cur:
        facts.build_latest_states(cur, month)
        subjects.build_month(cur, month, DISTRICTS)
        return indicators.compute_month(cur, month, sql_dir=sql_dir)


def report(deliver, ingest, unit, day, values):
    """A self_report delivery of `unit` dated `day` (YYYY-MM-DD) with {indicator: 填报值}, ingested."""
    month = day[:7]
    rows = [dict(SELF_REPORT, 指标编号=k, 填报值=v) for k, v in values.items()]
    deliver(unit, month, f"self_report.{day.replace('-', '')}.csv", rows)
    ingest("self_report", month)


def test_data_indicators_scored_per_kind_and_per_unit(wh, deliver, ingest, sql_dir):
    deliver("amr", "2020-08", "penalty.20200820.csv",
            [PENALTY, dict(PENALTY, 行政处罚决定书文号="X-2"), dict(PENALTY, 行政处罚决定书文号="X-3", 处罚机关统一社会信用代码="bad")])
    ingest("penalty", "2020-08")
    result = compute(wh, "2020-08", sql_dir)
    city = result.city
    i03 = city["I03"]  # target-1: 2 correct of 3 delivered → f = 0.667 → yellow
    assert (i03.numerator, i03.denominator) == (2, 3)
    assert i03.value == pytest.approx(2 / 3) and i03.score == pytest.approx(2.0) and i03.status == "yellow"
    assert i03.evidence == {"month_end": "2020-08-31"} and i03.max_score == 3
    unit = next(r for r in result.rows if r.indicator == "I03" and r.scope == "unit")
    assert (unit.scope_key, unit.status) == ("amr", "yellow") and unit.score == pytest.approx(2.0)
    assert (city["I04"].value, city["I04"].score, city["I04"].status) == (None, None, "n/a")  # 0 / 0
    assert (city["I39"].value, city["I39"].score, city["I39"].status) == (2, 0, "red")  # lower-better, tol 1
    assert city["I39"].evidence == {"from": "2019-09-01"}
    # a catalog data indicator without its file: n/a, and the evidence says which file
    assert city["I06"].value is None and city["I06"].status == "n/a"
    assert city["I06"].evidence == {"missing": str((sql_dir / "I06.sql").resolve())}
    assert "I06" in result.missing and "I03" not in result.missing
    assert set(city) == set(IDS)
    stored = dict(query_rows(wh, "SELECT indicator, status FROM wh.indicator_results WHERE scope = 'city' AND month = '2020-08-01'"))
    assert stored["I03"] == "yellow" and stored["I06"] == "n/a" and len(stored) == len(IDS)


def test_missing_file_in_the_project_folder_names_the_catalog_path(wh, tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    result = compute(wh, "2020-08", empty)
    assert len(result.missing) == len(load_catalog().data_indicators)
    assert indicators.shown_path(indicators.SQL_DIR / "I03.sql") == "sql/indicators/I03.sql"


def test_failing_sql_is_stored_as_an_error_and_the_rest_go_on(wh, sql_dir):
    (sql_dir / "I18.sql").write_text("SELECT no_such_column FROM raw.activity", encoding="utf-8")
    result = compute(wh, "2020-08", sql_dir)
    assert result.city["I18"].status == "n/a" and "no_such_column" in result.city["I18"].evidence["error"]
    assert result.city["I04"].status == "n/a" and "I18" in result.errors


def query_rows(url, statement, params=()):
    with database.transaction(url) as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def test_self_report_latest_per_unit_combined_by_max(wh, deliver, ingest, sql_dir):
    report(deliver, ingest, "fgw", "2020-07-20", {"I01": "8", "I02": "否"})
    report(deliver, ingest, "fgw", "2020-08-10", {"I01": "9"})
    report(deliver, ingest, "fgw", "2020-08-20", {"I01": "3"})  # later: replaces 9 (and July's 8)
    report(deliver, ingest, "court", "2020-08-15", {"I01": "5", "I02": "是"})
    report(deliver, ingest, "amr", "2020-08-16", {"I01": "已完成"})  # neither: ignored, listed
    july = compute(wh, "2020-07", sql_dir).city
    assert july["I01"].value == 8 and july["I02"].value == 0 and july["I02"].status == "red"
    result = compute(wh, "2020-08", sql_dir)
    city = result.city
    assert city["I01"].value == 5 and city["I01"].score == pytest.approx(1.5) and city["I01"].status == "red"
    assert city["I01"].evidence["units"] == {"court": 5.0, "fgw": 3.0}
    assert [i["unit"] for i in city["I01"].evidence["ignored"]] == ["amr"]
    units = {r.scope_key: r for r in result.rows if r.indicator == "I01" and r.scope == "unit"}
    assert units["fgw"].value == 3 and units["court"].value == 5
    assert units["amr"].value is None and units["amr"].status == "n/a"
    assert city["I02"].value == 1 and city["I02"].score == 2 and city["I02"].status == "green"  # max(否, 是)
    assert city["I05"].value is None and city["I05"].status == "n/a" and city["I05"].source == "self_report"


def test_d1_deducts_three_months_d2_one(wh, deliver, ingest, sql_dir):
    report(deliver, ingest, "fgw", "2020-06-20", {"D1": "是", "D2": "是", "I02": "是"})
    report(deliver, ingest, "amr", "2020-07-20", {"D1": "否", "D2": "否"})
    totals = {}
    for month in ("2020-06", "2020-07", "2020-08", "2020-09"):
        result = compute(wh, month, sql_dir)
        totals[month] = result
        plain = sum(r.score or 0 for i, r in result.city.items() if i.startswith("I"))
        assert result.total_score == pytest.approx(plain + sum(d["points"] for d in result.deductions))
    ids = {m: [d["id"] for d in r.deductions] for m, r in totals.items()}
    assert ids == {"2020-06": ["D1", "D2"], "2020-07": ["D1"], "2020-08": ["D1"], "2020-09": []}
    assert totals["2020-06"].deductions[0] == {"id": "D1", "name": "材料弄虚作假", "points": -20.0, "months": ["2020-06"]}
    d1 = {m: (r.city["D1"].value, r.city["D1"].score, r.city["D1"].status) for m, r in totals.items()}
    assert d1["2020-08"] == (1, -20, "red") and d1["2020-09"] == (0, 0, "green")  # July's 否 is still in the window
    assert totals["2020-07"].city["D2"].status == "green" and totals["2020-08"].city["D2"].status == "n/a"
    # I02 是 (2 points) + I39 no penalty row (4 points) − 20 − 10; I02's 是 is a state: it carries over
    assert totals["2020-06"].total_score == pytest.approx(2 + 4 - 30)
    assert totals["2020-09"].total_score == pytest.approx(2 + 4)


def test_asset_and_red_check_warns(wh, deliver, ingest, sql_dir):
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    ingest("penalty", "2020-08")
    catalog = load_catalog()
    result = dg.materialize(
        [*(fact_asset(spec) for spec in facts.state_specs()), subjects_asset(), results_asset(sql_dir)],
        partition_key="2020-08", resources={"warehouse": Warehouse()},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    meta = result.asset_materializations_for_node("indicators__results")[0].metadata
    assert meta["status_red"].value >= 1 and "I03" in meta["city"].value and "I06" in meta["missing_sql"].value
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == set(catalog.indicators), "every indicator's check, from the results step itself"
    assert not checks["I39"].passed and checks["I39"].severity == dg.AssetCheckSeverity.WARN
    assert checks["I39"].metadata["status"].value == "red" and checks["I39"].metadata["value"].value == 1
    assert checks["I03"].passed and checks["I03"].metadata["score"].value == pytest.approx(3)
    assert checks["I06"].passed and "I06.sql" in checks["I06"].metadata["evidence"].value


def test_results_without_the_months_facts_fail_and_say_which(wh, sql_dir):
    """An empty latest state would score as "nothing listed": the asset refuses and names what to build."""
    with database.transaction(wh) as cur:
        facts.build_latest_state(cur, load_specs()["blacklist"], dt.date(2020, 8, 1))
    result = dg.materialize([results_asset(sql_dir)], partition_key="2020-08", resources={"warehouse": Warehouse()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("indicators__results").error.message
    assert "wh/arrears" in failure and "wh/self_report" in failure and "wh/blacklist" not in failure
    assert "wh/subjects" in failure
    with database.transaction(wh) as cur:
        cur.execute("SELECT count(*) FROM wh.indicator_totals WHERE month = '2020-08-01'")
        assert cur.fetchone()[0] == 0


def jn_credit(*args):
    return subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)


def test_cli_prints_the_design_json_and_a_table(wh, deliver, ingest, sql_dir):
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])
    ingest("penalty", "2020-08")
    report(deliver, ingest, "fgw", "2020-08-20", {"D2": "是", "I02": "是"})
    result = compute(wh, "2020-08", sql_dir)
    done = jn_credit("indicators", "--month", "2020-08", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert list(doc) == ["month", "city", "indicators", "total_score", "deductions"]
    assert (doc["month"], doc["city"]) == ("2020-08", "370800")
    assert [i["id"] for i in doc["indicators"]] == list(IDS)  # I01…I39, then D1, D2
    keys = ["id", "name", "value", "numerator", "denominator", "unit", "score", "max_score", "status", "source"]
    assert all(list(i) == keys for i in doc["indicators"])
    by_id = {i["id"]: i for i in doc["indicators"]}
    assert by_id["I03"] == {"id": "I03", "name": "双公示信息质量", "value": 1.0, "numerator": 1.0, "denominator": 1.0,
                            "unit": "ratio", "score": 3.0, "max_score": 3.0, "status": "green", "source": "data"}
    assert by_id["I06"]["value"] is None and by_id["I06"]["status"] == "n/a"
    assert by_id["I02"]["source"] == "self_report" and by_id["D2"]["score"] == -10.0
    assert doc["total_score"] == pytest.approx(result.total_score) == pytest.approx(3 + 2 - 10)
    assert doc["deductions"] == [{"id": "D2", "name": "信息安全事故", "points": -10.0, "months": ["2020-08"]}]
    table = jn_credit("indicators", "--month", "2020-08")
    assert table.returncode == 0, table.stderr
    assert "编号" in table.stdout and "双公示信息质量" in table.stdout and "缺 SQL" in table.stdout
    assert "I06.sql" in table.stdout and "总分" in table.stdout


def test_cli_uncomputed_month_is_one_line_error(wh):
    done = jn_credit("indicators", "--month", "2020-09", "--format", "json")
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "jn-credit run" in done.stderr


def test_indicator_files_side_by_side_give_what_they_give_one_by_one(wh, deliver, ingest, sql_dir, monkeypatch):
    """Given the warehouse's URL, the data indicators' SQL runs on helper connections reading the lead
    transaction's snapshot: the same rows as one by one on the lead. A lead that has written in its
    transaction (uncommitted, so not in a snapshot others read) computes on its own."""
    deliver("amr", "2020-08", "penalty.20200820.csv",
            [PENALTY, dict(PENALTY, 行政处罚决定书文号="X-2"), dict(PENALTY, 行政处罚决定书文号="X-3", 处罚机关统一社会信用代码="bad")])
    ingest("penalty", "2020-08")
    month = dt.date(2020, 8, 1)
    helpers = []
    real = database.reading_snapshot
    monkeypatch.setattr(database, "reading_snapshot", lambda *a: helpers.append(a) or real(*a))  # a spy
    with database.transaction(wh) as cur:
        facts.build_latest_states(cur, month)
        subjects.build_month(cur, month, DISTRICTS)
        written_first = indicators.compute_month(cur, month, sql_dir=sql_dir, url=wh, workers=2)
    assert helpers == []
    with database.transaction(wh) as cur:
        alone = indicators.compute_month(cur, month, sql_dir=sql_dir)
    with database.transaction(wh) as cur:
        side_by_side = indicators.compute_month(cur, month, sql_dir=sql_dir, url=wh, workers=2)
    data = [i for i in load_catalog().indicators.values() if not i.is_deduction and i.source != "self_report"]
    assert len(helpers) == len(data)
    assert side_by_side.rows == alone.rows == written_first.rows and alone.city["I03"].denominator == 3
    assert side_by_side.total_score == alone.total_score
