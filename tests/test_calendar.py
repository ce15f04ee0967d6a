"""The warehouse's reference tables (issue 4): the calendar of working days with wh.wd, the units and
the districts — materialized by Dagster on a real PostgreSQL."""

import datetime as dt

import dagster as dg
import pytest

from jn_credit_dagster.defs.warehouse.assets import calendar_asset, calendar_check, districts_asset, units_asset
from jn_credit_dagster.lib.warehouse import calendar
from jn_credit_dagster.lib.common import city
from jn_credit_dagster.lib.common.city import UNITS
from jn_credit_dagster.defs.resources import Warehouse

D = dt.date.fromisoformat


def _materialize(*definitions):
    return dg.materialize(list(definitions), resources={"warehouse": Warehouse()},
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def _coverage(result) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "calendar_coverage"]
    return evaluation


@pytest.fixture
def overrides(tmp_path, monkeypatch):
    """write(text) puts an override table in a temporary file that JN_CREDIT_CALENDAR names."""
    path = tmp_path / "calendar.yaml"
    path.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv(calendar.OVERRIDES_ENV, str(path))

    def write(text: str):
        path.write_text(text, encoding="utf-8")
    return write


def test_package_coverage():
    # chinesecalendar 1.11 knows 2004–2026; outside it raises NotImplementedError, which we turn into False
    assert calendar.package_covers(2004) and calendar.package_covers(2020) and calendar.package_covers(2026)
    assert not calendar.package_covers(2003) and not calendar.package_covers(2030)


def test_national_day_2020_and_the_adjusted_saturday():
    days = {d.day: d for d in calendar.build(2020, 2020, {}).days}
    assert len(days) == 366
    for offset in range(8):  # 2020-10-01…08: 国庆节 and 中秋 together
        day = days[D("2020-10-01") + dt.timedelta(days=offset)]
        assert not day.workday and day.holiday_name == "国庆节" and day.source == "chinesecalendar"
    assert days[D("2020-10-10")].workday  # a Saturday made a working day
    assert not days[D("2020-10-11")].workday and days[D("2020-10-11")].holiday_name is None
    assert days[D("2020-12-31")].workday_seq == sum(d.workday for d in days.values())


def test_wd_on_the_materialized_calendar(db, query, overrides):
    result = _materialize(calendar_asset(), calendar_check())
    assert result.success
    meta = result.asset_materializations_for_node("wh__calendar")[0].metadata
    this_year = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year
    assert meta["years"].value == f"2018–{this_year + 1}"
    assert "2020" in meta["years_chinesecalendar"].value and "| 2020 | chinesecalendar |" in meta["preview"].value
    assert meta["dagster/row_count"].value == query("SELECT count(*) FROM wh.calendar")[0][0]
    assert _coverage(result).passed  # 2019 … this year all have a holiday table

    # I04: a decision of 2020-09-30 delivered on Friday 2020-10-16 is on time, on Monday 10-19 late
    (row,) = query("""SELECT wh.wd('2020-09-30', '2020-10-16'), wh.wd('2020-09-30', '2020-10-19'),
                             wh.wd('2020-10-01', '2020-10-08'), wh.wd('2020-10-09', '2020-10-10'),
                             wh.wd('2020-10-16', '2020-10-16'), wh.wd('2020-10-19', '2020-09-30'),
                             wh.wd('2020-09-30', '2035-01-01'), wh.wd('1999-01-01', '2020-01-02'),
                             wh.wd(NULL, '2020-01-02')""")
    assert row == (7, 8, 0, 1, 0, 0, None, None, None)
    assert query("SELECT workday, source, holiday_name FROM wh.calendar WHERE day = '2020-10-10'") == [(True, "chinesecalendar", "国庆节")]
    assert query("SELECT provolatile FROM pg_proc WHERE oid = 'wh.wd'::regproc") == [("s",)]

    # rebuilding replaces the rows: same count, same answers
    assert _materialize(calendar_asset()).success
    assert query("SELECT count(*) FROM wh.calendar")[0][0] == meta["dagster/row_count"].value


def test_weekends_only_year_warns_until_the_office_adds_it(db, query, overrides):
    early = dg.MonthlyPartitionsDefinition(start_date="2003-01", fmt="%Y-%m", end_offset=1, timezone=city.TIMEZONE_NAME)
    result = _materialize(calendar_asset(early), calendar_check(early))
    assert result.success  # a warning, not a failure
    check = _coverage(result)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["years_weekends_only"].value == "2003" and "2003" in check.description
    assert query("SELECT workday, source FROM wh.calendar WHERE day = '2003-01-01'") == [(True, "weekends")]
    assert query("SELECT workday FROM wh.calendar WHERE day = '2003-01-04'") == [(False,)]  # a Saturday

    # the office adds 2003's table, and moves one day of a covered year
    overrides("""
2003:
  holidays:
    - {days: 2003-01-01, name: 元旦}
    - {days: 2003-10-01..2003-10-07, name: 国庆节}
  workdays:
    - {days: 2003-09-27, name: 国庆节}
2020:
  holidays:
    - {days: 2020-10-12, name: 临时放假}
""")
    result = _materialize(calendar_asset(early), calendar_check(early))
    assert result.success and _coverage(result).passed
    meta = result.asset_materializations_for_node("wh__calendar")[0].metadata
    assert meta["years_override_table"].value == "2003" and meta["overridden_days"].value == 10
    assert query("SELECT workday, source, holiday_name FROM wh.calendar WHERE day IN ('2003-01-01', '2003-01-02', "
                 "'2003-09-27', '2020-10-12') ORDER BY day") == [
        (False, "override", "元旦"), (True, "override", None), (True, "override", "国庆节"),
        (False, "override", "临时放假")]
    assert query("SELECT wh.wd('2003-09-30', '2003-10-08'), wh.wd('2020-09-30', '2020-10-16')") == [(1, 6)]


def test_override_table_errors(tmp_path):
    path = tmp_path / "calendar.yaml"
    path.write_text("2027: {holidays: [2028-01-01]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not in 2027"):
        calendar.load_overrides(path)
    path.write_text("2027: {holidays: [2027-10-09], workdays: ['2027-10-08..2027-10-09']}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="both holiday and working day: 2027-10-09"):
        calendar.load_overrides(path)
    assert calendar.load_overrides(calendar.DEFAULT_OVERRIDES) == {}  # shipped empty
    assert calendar.load_overrides(tmp_path / "absent.yaml") == {}


def test_broken_override_table_fails_the_asset(db, query, overrides):
    assert _materialize(calendar_asset()).success
    before = query("SELECT count(*), count(*) FILTER (WHERE workday) FROM wh.calendar")
    overrides("2027: {holidays: [not-a-date]}\n")
    result = _materialize(calendar_asset())
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "not-a-date" in failure.step_failure_data.error.to_string()  # the office sees what to fix
    assert query("SELECT count(*), count(*) FILTER (WHERE workday) FROM wh.calendar") == before  # kept


def test_units_and_districts(db, query):
    result = _materialize(units_asset(), districts_asset())
    assert result.success
    assert query("SELECT kind, count(*) FROM wh.units GROUP BY kind ORDER BY kind") == [
        ("county", 11), ("department", len(UNITS) - 14), ("zone", 3)]
    assert query("SELECT name, district FROM wh.units WHERE unit IN ('370883', 'gxq', 'fgw') ORDER BY unit") == [
        ("邹城市", "370883"), ("市发展改革委（市信用办）", None), ("济宁高新区", None)]
    assert query("SELECT count(*) FROM wh.districts")[0][0] == 13
    assert query("SELECT code, name FROM wh.districts WHERE monitored ORDER BY code") == [
        ("370881", "曲阜市"), ("370883", "邹城市")]
    assert query("SELECT name FROM wh.districts WHERE code IN ('370800', '370871') ORDER BY code") == [
        ("市本级",), ("济宁高新区",)]
    # every county unit's district is a district
    assert query("SELECT count(*) FROM wh.units u LEFT JOIN wh.districts d ON d.code = u.district "
                 "WHERE u.district IS NOT NULL AND d.code IS NULL") == [(0,)]
    meta = result.asset_materializations_for_node("wh__units")[0].metadata
    assert meta["dagster/row_count"].value == len(UNITS)
