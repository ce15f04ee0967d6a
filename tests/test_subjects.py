"""The subject master wh.subjects (issue 4) from small deliveries, through the asset wh/subjects."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import yaml
from psycopg2 import sql

from jn_credit_dagster.defs.warehouse.subjects import subjects_asset
from jn_credit_dagster.lib.common.identifiers import uscc_check_char, uscc_valid
from jn_credit_dagster.lib.common.city import district_rows
from jn_credit_dagster.lib.warehouse import subjects as master
from jn_credit_dagster.lib.warehouse.subjects import subject_columns
from jn_credit_dagster.defs.resources import Warehouse
from jn_credit_dagster.lib.common import database

CASES = Path(__file__).parent / "cases"


def good(feed):
    return yaml.safe_load((CASES / f"{feed}.yaml").read_text(encoding="utf-8"))["good"]


def uscc(first17: str) -> str:
    code = first17 + uscc_check_char(first17)
    assert uscc_valid(code)
    return code


REGISTRY, LOGISTICS, TAX, PENALTY = good("registry"), good("logistics"), good("tax_grade"), good("penalty")
ENTERPRISE = REGISTRY["统一社会信用代码"]          # 91370811…: in the registry, 任城区
INDIVIDUAL = uscc("92370883MA3D9W1E2")            # 个体工商户 in the registry, 邹城市
DROPPED = uscc("91370812MA3C5K7X1")               # in an earlier delivery of the month only
OLD_MONTH = uscc("91370826MA3C5K7X2")             # only in July's registry snapshot
CITY_LEVEL = LOGISTICS["统一社会信用代码"]         # 91370800…: logistics only, city level
ELSEWHERE = uscc("91110101MA3C5K7X3")             # logistics only, a Beijing division code
COOPERATIVE = uscc("93370881MA3C5K7X4")           # tax_grade only (July), 曲阜市
QUARANTINED = uscc("91370811MA3C5K7X5")           # only on a quarantined logistics row
LATER = uscc("91370811MA3C5K7X7")                 # only delivered in September


def registry_row(code, name, **changes):
    return dict(REGISTRY, 统一社会信用代码=code, 主体名称=name, **changes)


@pytest.fixture
def loaded(db, deliver, ingest, query):
    query("DELETE FROM wh.subjects")
    deliver("amr", "2020-07", "registry.20200720.csv", [registry_row(OLD_MONTH, "旧主体", 所属区县="370826")])
    deliver("amr", "2020-08", "registry.20200810.csv", [registry_row(DROPPED, "早先的主体", 所属区县="370812")])
    deliver("amr", "2020-08", "registry.20200820.csv", [
        REGISTRY,
        registry_row(INDIVIDUAL, "邹城市张记小吃店", 主体类型="个体工商户", 所属区县="370883"),
        registry_row(ENTERPRISE[:-1] + "7", "错码主体"),  # invalid USCC: quarantined, not a subject
    ])
    deliver("tax", "2020-07", "tax_grade.20200715.csv", [
        TAX, dict(TAX, 统一社会信用代码=COOPERATIVE, 纳税人名称="曲阜市丰收农民专业合作社")])
    deliver("commerce", "2020-08", "logistics.20200812.csv", [
        dict(LOGISTICS, 企业名称="济宁市鑫通物流（旧名）"),
        dict(LOGISTICS, 统一社会信用代码=ELSEWHERE, 企业名称="北京某物流有限公司"),
        dict(LOGISTICS, 统一社会信用代码=QUARANTINED, 业务类型="不存在的类型"),
        dict(LOGISTICS, 统一社会信用代码=ENTERPRISE, 企业名称="物流里的另一个名字"),
    ])
    deliver("transport", "2020-08", "logistics.20200818.csv", [LOGISTICS])  # the latest name
    deliver("amr", "2020-08", "penalty.20200820.csv", [PENALTY])  # names the enterprise; its authority is no subject
    deliver("tax", "2020-09", "tax_grade.20200910.csv", [dict(TAX, 统一社会信用代码=LATER)])
    for feed, month in [("registry", "2020-07"), ("registry", "2020-08"), ("tax_grade", "2020-07"),
                        ("logistics", "2020-08"), ("penalty", "2020-08"), ("tax_grade", "2020-09")]:
        ingest(feed, month)
    assert query("SELECT count(*) FROM quarantine.logistics") == [(1,)]
    assert query("SELECT count(*) FROM quarantine.registry") == [(1,)]
    return db


def materialize(month):
    return dg.materialize([subjects_asset()], partition_key=month, resources={"warehouse": Warehouse()},
                          instance=dg.DagsterInstance.ephemeral())


def subjects(query, month):
    rows = query("SELECT uscc, name, kind, district, in_registry, sources FROM wh.subjects WHERE month = %s",
                 (month,))
    return {r[0]: r[1:] for r in rows}


def test_registry_snapshot_and_feed_subjects(loaded, query):
    result = materialize("2020-08")
    found = subjects(query, "2020-08-01")
    assert found == {
        ENTERPRISE: (REGISTRY["主体名称"], "enterprise", "370811", True, ["registry", "logistics", "penalty", "tax_grade"]),
        INDIVIDUAL: ("邹城市张记小吃店", "individual_business", "370883", True, ["registry"]),
        CITY_LEVEL: (LOGISTICS["企业名称"], "enterprise", "370800", False, ["logistics"]),
        ELSEWHERE: ("北京某物流有限公司", "enterprise", None, False, ["logistics"]),
        COOPERATIVE: ("曲阜市丰收农民专业合作社", "farmer_cooperative", "370881", False, ["tax_grade"]),
    }, "M's latest registry delivery only; feeds delivered in M or before; correct rows only"
    assert PENALTY["处罚机关统一社会信用代码"] not in found
    meta = result.asset_materializations_for_node("wh__subjects")[0].metadata
    assert meta["dagster/row_count"].value == 5
    assert meta["in_registry"].value == 2 and meta["not_in_registry"].value == 3
    assert meta["kind_enterprise"].value == 3 and meta["kind_individual_business"].value == 1
    assert meta["kind_farmer_cooperative"].value == 1
    assert ELSEWHERE in meta["preview"].value and "| enterprise | 3 | 1 | 1 |" in meta["kinds"].value


def test_each_month_its_own_snapshot_and_rebuilt_whole(loaded, query):
    materialize("2020-07")
    materialize("2020-08")
    july = subjects(query, "2020-07-01")
    assert july == {
        OLD_MONTH: ("旧主体", "enterprise", "370826", True, ["registry"]),
        ENTERPRISE: (TAX["纳税人名称"], "enterprise", "370811", False, ["tax_grade"]),
        COOPERATIVE: ("曲阜市丰收农民专业合作社", "farmer_cooperative", "370881", False, ["tax_grade"]),
    }
    before = subjects(query, "2020-08-01")
    query("INSERT INTO wh.subjects VALUES ('2020-08-01', %s, 'stale', 'enterprise', NULL, false, '{x}')", (LATER,))
    materialize("2020-08")
    assert subjects(query, "2020-08-01") == before, "the month is deleted and inserted again"
    assert subjects(query, "2020-07-01") == july, "other months are untouched"
    materialize("2020-09")  # no registry delivery in September: August's snapshot is September's
    september = subjects(query, "2020-09-01")
    assert september[INDIVIDUAL][3] is True and september[LATER][:4] == (TAX["纳税人名称"], "enterprise", "370811", False)


def test_built_in_parts_as_in_one_statement(loaded, query, monkeypatch):
    """Given the URL, the month's USCCs are built in two parts on helper connections reading the lead's
    snapshot: the same rows as one statement alone. A lead that has written builds alone; a part that
    fails leaves the month as it was and no fresh table behind."""
    month, districts = dt.date(2020, 8, 1), [code for code, _, _ in district_rows()]
    helpers = []
    real = database.reading_snapshot
    monkeypatch.setattr(database, "reading_snapshot", lambda *a, **k: helpers.append(a) or real(*a, **k))  # a spy
    with database.transaction(loaded) as cur:
        master.build_month(cur, month, districts)
    alone = subjects(query, "2020-08-01")
    assert helpers == [] and len(alone) == 5
    with database.transaction(loaded) as cur:
        built = master.build_month(cur, month, districts, url=loaded)
    assert len(helpers) == 2 and built["rows"] == 5
    assert subjects(query, "2020-08-01") == alone
    assert query("SELECT count(DISTINCT (hashtext(uscc) & 2147483647) %% 2) FROM wh.subjects") == [(2,)], \
        "both parts hold subjects"

    with database.transaction(loaded) as cur:
        cur.execute("DELETE FROM wh.fact_builds WHERE feed = 'nothing'")  # a write: no snapshot shows it
        cur.execute("SELECT pg_current_xact_id()")
        master.build_month(cur, month, districts, url=loaded)
    assert len(helpers) == 2 and subjects(query, "2020-08-01") == alone

    statement = master.insert_statement
    monkeypatch.setattr(master, "insert_statement", lambda table, in_parts=False: statement(table, in_parts) + (
        sql.SQL(" WHERE 1 / %(part)s > 0") if in_parts else sql.SQL("")))  # part 0 fails, part 1 is written
    with pytest.raises(Exception, match="division by zero"), database.transaction(loaded) as cur:
        master.build_month(cur, month, districts, url=loaded)
    assert subjects(query, "2020-08-01") == alone
    fresh_tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'ingest_months' AND right(tablename, 5) = '__new'"
    assert query(fresh_tables) == [(0,)], "the part written is dropped with the part that failed"
    monkeypatch.setattr(master, "insert_statement", statement)
    with database.transaction(loaded) as cur:
        master.build_month(cur, month, districts, url=loaded)
    assert subjects(query, "2020-08-01") == alone
    assert query(fresh_tables) == [(0,)]


def test_subject_columns_exclude_authorities():
    columns = {(feed, column) for feed, column, _, _ in subject_columns()}
    assert ("penalty", "uscc") in columns and ("arrears", "creditor_uscc") in columns
    assert ("uscc_issue", "uscc") in columns and ("uscc_issue", "corrected_uscc") in columns
    assert not any(c in ("authority_uscc", "source_unit_uscc") for _, c in columns)
    assert not any(feed == "registry" for feed, _ in columns)
    names = {(feed, column): name for feed, column, name, _ in subject_columns()}
    unchecked = {(feed, column) for feed, column, _, checked in subject_columns() if not checked}
    assert unchecked == {("uscc_issue", "uscc")}  # text as issued: validated when read
    assert names[("logistics", "uscc")] == "company_name" and names[("arrears", "creditor_uscc")] == "creditor_name"
    assert names[("water_bill", "uscc")] == "account_name" and names[("objection", "uscc")] is None


def test_existing_enterprises_are_marked_from_any_row(db, deliver, ingest, query):
    """E(M) (INDICATORS.md): a USCC on some snapshot row with 企业 and 存续, whichever row speaks for it;
    existing_row is that row (the line `jn-credit explain` counts), the first of them."""
    query("DELETE FROM wh.subjects")
    moved_then_open = uscc("91370811MA3C5K7X8")
    deliver("amr", "2020-08", "registry.20200820.csv", [
        REGISTRY,
        registry_row(INDIVIDUAL, "邹城市张记小吃店", 主体类型="个体工商户", 所属区县="370883"),
        registry_row(moved_then_open, "先迁出", 登记状态="迁出", 注销日期="2020-07-31"),
        registry_row(moved_then_open, "后存续", 所属区县="370812"),
        registry_row(moved_then_open, "又一行存续"),
    ])
    deliver("commerce", "2020-08", "logistics.20200812.csv", [LOGISTICS])
    ingest("registry", "2020-08")
    ingest("logistics", "2020-08")
    materialize("2020-08")
    rows = dict(query("SELECT uscc, (name, district, existing, existing_row)::text FROM wh.subjects WHERE month = '2020-08-01'"))
    assert rows == {ENTERPRISE: f"({REGISTRY['主体名称']},370811,t,1)", INDIVIDUAL: "(邹城市张记小吃店,370883,f,)",
                    moved_then_open: "(先迁出,370811,t,4)", CITY_LEVEL: f"({LOGISTICS['企业名称']},370800,f,)"}
    # the planner's statistics of the whole table: a USCC is one row of the month every reader reads
    assert query("SELECT n_distinct FROM pg_stats WHERE schemaname = 'wh' AND tablename = 'subjects' "
                 "AND attname = 'uscc' AND inherited") == [(-1.0,)]
    # a warehouse of an earlier version (one table, no existing_row): the column is added and its built
    # months filled, once, and the months move into partitions
    query("CREATE TABLE wh.subjects_old AS SELECT * FROM wh.subjects; DROP TABLE wh.subjects; "
          "ALTER TABLE wh.subjects_old RENAME TO subjects; ALTER TABLE wh.subjects ADD PRIMARY KEY (month, uscc); "
          "ALTER TABLE wh.subjects DROP COLUMN existing_row")
    query("DELETE FROM jn.schema_state")
    database.ensure_schema.__wrapped__(db)
    assert dict(query("SELECT uscc, (name, district, existing, existing_row)::text FROM wh.subjects "
                      "WHERE month = '2020-08-01'")) == rows
    assert query("SELECT relkind::text FROM pg_class WHERE oid = 'wh.subjects'::regclass") == [("p",)]
    assert query("SELECT count(*) FROM ingest_months.wh_subjects_2020_08") == [(len(rows),)]
