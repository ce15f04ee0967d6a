"""The SQL of the data indicators (sql/indicators/<id>.sql, INDICATORS.md): each file run with its three
parameters on fixtures delivered through the real ingestion; numerators and denominators written out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
import yaml

from jn_credit_dagster.defs.warehouse.assets import calendar_asset, units_asset
from jn_credit_dagster.defs.resources import Warehouse

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"
SQL = ROOT / "sql" / "indicators"
COLUMNS = ["scope", "scope_key", "numerator", "denominator", "value", "evidence"]
DATA_INDICATORS = [i["id"] for i in yaml.safe_load((ROOT / "assets" / "indicators.yaml").read_text(encoding="utf-8"))["indicators"]
                   if i.get("source") == "data"]

COUNTS = {"I07", "I18", "I27", "I28", "I29", "I30", "I31", "I34", "I39"}

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(body: str) -> str:
    """A valid USCC (GB 32100) from its first 17 characters."""
    check = 31 - sum(_ALPHABET.index(c) * w for c, w in zip(body, _WEIGHTS)) % 31
    return body + _ALPHABET[0 if check == 31 else check]


A = uscc("91370811MA3C5K7X0")  # = 91370811MA3C5K7X06, 任城区
B = uscc("91370883MA3F7H2L5")  # 邹城市
C = uscc("91370826MA3A1B2C3")
D = uscc("91370881MA3D4E5F6")
X = uscc("91370800MA3X9Y8W7")  # never in the registry


def good(feed: str, **changes) -> dict:
    row = dict(yaml.safe_load((CASES / f"{feed}.yaml").read_text(encoding="utf-8"))["good"])
    row.update(changes)
    return row


def month_params(month: str) -> dict:
    first = dt.date.fromisoformat(month + "-01")
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    start = first.replace(year=first.year - 1)
    start = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)  # first day of M−11
    return {"month": first, "month_end": following - dt.timedelta(days=1), "window_start": start}


@pytest.fixture
def indicator(query, build_facts):
    """indicator(id, "YYYY-MM") -> {scope: {scope_key: row dict}}, on M's facts; checks the output contract."""
    def run(ident: str, month: str) -> dict:
        build_facts(month)
        text = (SQL / f"{ident}.sql").read_text(encoding="utf-8")
        rows = query(text, month_params(month))
        result: dict = {}
        for row in rows:
            record = dict(zip(COLUMNS, row))
            assert record["scope"] in ("city", "unit", "district")
            assert record["scope_key"] not in result.get(record["scope"], {})
            result.setdefault(record["scope"], {})[record["scope_key"]] = record
        assert list(result["city"]) == ["370800"]
        return result
    return run


@pytest.fixture
def feed(deliver, ingest):
    """feed(name, unit, month, [(delivery YYYYMMDD, rows), ...]) delivers the files and ingests the month."""
    def run(name, unit, month, files):
        for n, (date, rows) in enumerate(files):
            suffix = f".{n + 1}" if sum(d == date for d, _ in files) > 1 else ""
            deliver(unit, month, f"{name}.{date}{suffix}.csv", rows)
        result = ingest(name, month)
        return result
    return run


def _materialize(*assets):
    result = dg.materialize(list(assets), resources={"warehouse": Warehouse()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success


@pytest.fixture
def calendar(db, tmp_path, monkeypatch):
    path = tmp_path / "calendar.yaml"
    path.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("JN_CREDIT_CALENDAR", str(path))
    _materialize(calendar_asset(), units_asset())


def nd(row):
    return row["numerator"], row["denominator"]


def registry_row(code, name, district, kind="企业", status="存续"):
    return good("registry", 统一社会信用代码=code, 主体名称=name, 所属区县=district, 主体类型=kind, 登记状态=status,
                注销日期="2020-06-30" if status != "存续" else "")


def registry_september(feed):
    """amr's registry: 2020-08 one row; 2020-09 two deliveries, the later one counts; 2020-10 none."""
    feed("registry", "amr", "2020-08", [("20200820", [registry_row(A, "甲公司", "370811")])])
    feed("registry", "amr", "2020-09", [
        ("20200910", [registry_row(C, "丙公司", "370826")]),
        ("20200920", [registry_row(A, "甲公司", "370811"), registry_row(B, "乙公司", "370883"),
                      registry_row(C, "丙公司", "370826", status="注销"),
                      registry_row(D, "丁商店", "370881", kind="个体工商户")]),
    ])


def test_every_data_indicator_has_a_file_and_keeps_the_contract_on_an_empty_warehouse(indicator, calendar):
    assert len(DATA_INDICATORS) == 26
    for ident in DATA_INDICATORS:
        text = (SQL / f"{ident}.sql").read_text(encoding="utf-8")
        assert "%(" not in text.replace("%(month)s", "").replace("%(month_end)s", "").replace("%(window_start)s", "")
        result = indicator(ident, "2020-10")
        city = result["city"]["370800"]
        assert set(result) == {"city"}
        if ident in COUNTS:  # a count: 0
            assert city["value"] == 0 and city["denominator"] is None, ident
        else:  # a ratio (or I06's records per subject) with a zero or unknown denominator: NULL, never 0 or 1
            assert city["denominator"] in (0, None) and city["value"] is None, ident
        assert isinstance(city["evidence"], dict)


def test_i03_i04_quality_and_timeliness_with_the_2020_national_day(feed, indicator, calendar):
    feed("registry", "amr", "2020-10", [("20201010", [registry_row(A, "甲公司", "370811"),
                                                      registry_row(B, "乙公司", "370883")])])
    feed("license", "approval", "2020-10", [("20201016", [
        good("license", 行政许可决定文书号="L-1", 许可决定日期="2020-09-30", 有效期自="2020-09-30"),   # wd 7: on time
        good("license", 行政许可决定文书号="L-2", 行政相对人类别="企业"),                              # quarantined
    ])])
    feed("license", "370883", "2020-10", [("20201016", [
        good("license", 行政许可决定文书号="L-3", 许可决定日期="2020-10-12", 有效期自="2020-10-12")])])  # county unit
    feed("penalty", "amr", "2020-10", [("20201019", [
        good("penalty", 行政处罚决定书文号="P-1", 统一社会信用代码=B, 处罚决定日期="2020-09-30")])])  # wd 8: late

    i03 = indicator("I03", "2020-10")
    assert nd(i03["city"]["370800"]) == (3, 4) and i03["city"]["370800"]["value"] == Decimal("0.75")
    assert {k: nd(r) for k, r in i03["unit"].items()} == {"approval": (1, 2), "370883": (1, 1), "amr": (1, 1)}
    # approval's rows are about 甲 (任城区); 370883's own row is its district's; the penalty is about 乙 (邹城市)
    assert {k: nd(r) for k, r in i03["district"].items()} == {"370811": (1, 2), "370883": (2, 2)}
    assert [(r["unit"], r["row_no"]) for r in i03["unit"]["approval"]["evidence"]["rows"]] == [("approval", 2)]

    i04 = indicator("I04", "2020-10")
    city = i04["city"]["370800"]
    assert nd(city) == (2, 3) and round(city["value"], 12) == round(Decimal(2) / 3, 12)
    assert {k: nd(r) for k, r in i04["unit"].items()} == {"approval": (1, 1), "370883": (1, 1), "amr": (0, 1)}
    assert i04["unit"]["amr"]["value"] == 0
    assert {k: nd(r) for k, r in i04["district"].items()} == {"370811": (1, 1), "370883": (1, 2)}
    (late,) = city["evidence"]["rows"]
    assert (late["feed"], late["unit"], late["row_no"], late["wd"]) == ("penalty", "amr", 1, 8)

    # a month with nothing delivered: zero denominators, value NULL
    empty = indicator("I03", "2020-11")["city"]["370800"]
    assert nd(empty) == (0, 0) and empty["value"] is None


def test_registry_based_ratios_use_the_latest_earlier_snapshot_and_the_latest_state(feed, indicator):
    registry_september(feed)  # E(2020-09) = E(2020-10) = {A, B}; C 注销, D 个体
    feed("xyd_registration", "fgw", "2020-09", [("20200915", [good("xyd_registration", 统一社会信用代码=A)])])
    feed("xyd_registration", "fgw", "2020-10", [("20201015", [good("xyd_registration", 统一社会信用代码=A, 状态="注销")])])
    feed("commitment", "approval", "2020-09", [("20200915", [good("commitment", 承诺编号="CN-1"),
                                                           good("commitment", 承诺编号="CN-2")])])
    feed("commitment", "approval", "2020-10", [("20201015", [good("commitment", 承诺编号="CN-3")])])
    feed("tax_grade", "tax", "2020-09", [("20200915", [
        good("tax_grade", 统一社会信用代码=A, 评价年度="2019", 信用级别="A"),
        good("tax_grade", 统一社会信用代码=B, 评价年度="2018", 信用级别="A"),
        good("tax_grade", 统一社会信用代码=B, 评价年度="2019", 信用级别="B")])])
    feed("customs_aeo", "customs", "2020-09", [("20200915", [good("customs_aeo", 统一社会信用代码=B)])])
    feed("customs_aeo", "customs", "2020-10", [("20201015", [good("customs_aeo", 统一社会信用代码=B, 状态="撤销")])])

    i12 = indicator("I12", "2020-10")["city"]["370800"]
    assert nd(i12) == (0, 2) and i12["value"] == 0  # A's registration was cancelled by the later delivery
    assert nd(indicator("I12", "2020-09")["city"]["370800"]) == (1, 2)
    i20 = indicator("I20", "2020-10")["city"]["370800"]
    assert nd(i20) == (3, 2) and i20["value"] == Decimal("1.5")
    assert nd(indicator("I17", "2020-10")["city"]["370800"]) == (1, 2)  # A (tax A for 2019); B's AEO revoked
    assert nd(indicator("I17", "2020-09")["city"]["370800"]) == (2, 2)
    # before any registry delivery: E = 0
    assert indicator("I20", "2020-07")["city"]["370800"]["value"] is None


def test_i24_blacklist_share_with_an_exit_and_breakdowns(feed, indicator):
    registry_september(feed)
    feed("blacklist", "court", "2020-09", [("20200915", [
        good("blacklist", 统一社会信用代码=B, 列入日期="2020-08-03"),
        good("blacklist", 统一社会信用代码=A, 列入日期="2020-09-01")])])
    feed("blacklist", "court", "2020-10", [("20201016", [
        good("blacklist", 统一社会信用代码=A, 列入日期="2020-09-01", 移出日期="2020-10-10", 移出事由="履行完毕")])])

    october = indicator("I24", "2020-10")
    assert nd(october["city"]["370800"]) == (1, 2) and october["city"]["370800"]["value"] == Decimal("0.5")
    assert nd(october["unit"]["court"]) == (1, 2)
    assert nd(october["district"]["370883"]) == (1, 1) and october["district"]["370883"]["value"] == 1
    assert nd(october["district"]["370811"]) == (0, 1) and october["district"]["370811"]["value"] == 0
    assert nd(indicator("I24", "2020-09")["city"]["370800"]) == (2, 2)


def test_i25_exits_inside_and_outside_the_window(feed, indicator):
    feed("blacklist", "court", "2020-10", [("20201016", [
        good("blacklist", 统一社会信用代码=A, 列入日期="2019-01-01", 移出日期="2019-06-01", 移出事由="履行完毕"),  # before
        good("blacklist", 统一社会信用代码=B, 列入日期="2019-05-01", 移出日期="2020-03-01", 移出事由="履行完毕"),  # exit in
        good("blacklist", 统一社会信用代码=C, 列入日期="2020-05-01"),                                              # listed
        good("blacklist", 统一社会信用代码=D, 列入日期="2020-01-01", 移出日期="2020-10-05", 移出事由="履行完毕"),  # exit in
        good("blacklist", 主体类别="自然人", 统一社会信用代码="", 证件号码="370811198503120016",
             主体名称="李娜", 列入日期="2020-01-01", 移出日期="2020-02-01", 移出事由="履行完毕"),                    # person
    ])])
    city = indicator("I25", "2020-10")["city"]["370800"]
    assert nd(city) == (2, 3) and round(city["value"], 12) == round(Decimal(2) / 3, 12)
    assert city["evidence"]["exited"] == sorted([B, D])
    # 2021-06: window from 2020-07-01: only D exited in it; listed: C, D
    assert nd(indicator("I25", "2021-06")["city"]["370800"]) == (1, 2)


def test_i06_records_per_subject(feed, indicator):
    registry_september(feed)  # |E| = 2
    feed("city_stats", "stats", "2020-09", [("20200915", [good("city_stats", 期间="2019", 数值="100")])])  # P = 1 000 000
    feed("water_bill", "water", "2020-10", [("20201010", [
        good("water_bill", 户号="W1"), good("water_bill", 户号="W2", 统一社会信用代码=X),
        good("water_bill", 户号="W3", 户名="王芳", 统一社会信用代码="")])])
    feed("xyd_loan", "cbirc", "2020-09", [("20200915", [good("xyd_loan")])])
    city = indicator("I06", "2020-10")["city"]["370800"]
    assert city["value"] == Decimal(3) / 2 + Decimal(1) / 1000000
    assert city["evidence"]["enterprise_records"] == 3 and city["evidence"]["natural_person_records"] == 1
    assert indicator("I06", "2020-08")["city"]["370800"]["value"] is None  # no population yet


def test_i07_link_rates(feed, indicator):
    registry_september(feed)
    feed("water_bill", "water", "2020-10", [("20201010", [
        good("water_bill", 户号="W1"), good("water_bill", 户号="W2", 统一社会信用代码=X),
        good("water_bill", 户号="W3", 户名="王芳", 统一社会信用代码="")])])
    feed("logistics", "commerce", "2020-10", [("20201010", [good("logistics")])])
    feed("logistics", "transport", "2020-10", [("20201010", [good("logistics", 统一社会信用代码=B)])])
    result = indicator("I07", "2020-10")
    city = result["city"]["370800"]
    assert city["value"] == Decimal("1.0")  # water 1/2 + logistics 1/2 + power 0 + gas 0
    assert city["evidence"]["feeds"]["water_bill"]["linked"] == 1 and city["evidence"]["feeds"]["water_bill"]["with_uscc"] == 2
    assert {k: r["value"] for k, r in result["unit"].items()} == {"water": Decimal("0.5"), "commerce": 0, "transport": 1}


def test_i09_duplicate_and_erroneous_codes(feed, indicator):
    feed("registry", "amr", "2020-10", [
        ("20201005", [registry_row(C, "丙公司", "370826")]),  # an earlier delivery: not measured
        ("20201020", [registry_row(A, "甲公司", "370811"), registry_row(A, "甲贸易公司", "370811"),
                      registry_row(B, "乙公司", "370883"), registry_row(B, "乙公司", "370883"),
                      registry_row("91370826MA3A1B2C30", "错码公司", "370826")])])
    result = indicator("I09", "2020-10")
    assert nd(result["city"]["370800"]) == (3, 5) and result["city"]["370800"]["value"] == Decimal("0.6")
    assert {k: nd(r) for k, r in result["district"].items()} == {"370811": (2, 2), "370883": (0, 2), "370826": (1, 1)}
    assert indicator("I09", "2020-11")["city"]["370800"]["value"] is None  # no delivery in M: no fallback


def test_state_ratios_i10_i16(feed, indicator):
    feed("uscc_issue", "amr", "2020-09", [("20200915", [
        good("uscc_issue", 问题编号="CW-1", 纠正状态="未纠正", 纠正日期="", 纠正后代码=""),
        good("uscc_issue", 问题编号="CW-2", 纠正状态="未纠正", 纠正日期="", 纠正后代码="")])])
    feed("uscc_issue", "amr", "2020-10", [("20201015", [good("uscc_issue", 问题编号="CW-1")])])
    feed("arrears", "miit", "2020-09", [("20200915", [
        good("arrears"), good("arrears", 台账编号="QQ-2", **{"欠款金额（万元）": "100"}, **{"已清偿金额（万元）": "0"})])])
    feed("arrears", "miit", "2020-10", [("20201015", [good("arrears", **{"已清偿金额（万元）": "120.5"})])])
    assert nd(indicator("I10", "2020-10")["city"]["370800"]) == (1, 2)
    september = indicator("I10", "2020-09")["city"]["370800"]
    assert nd(september) == (0, 2) and september["value"] == 0
    i16 = indicator("I16", "2020-10")["city"]["370800"]
    assert nd(i16) == (Decimal("120.5"), Decimal("220.5"))  # ledger 1 repaid in full
    assert nd(indicator("I16", "2020-09")["city"]["370800"]) == (Decimal("80"), Decimal("220.5"))


def test_i13_i14_loans_over_gdp(feed, indicator):
    feed("city_stats", "stats", "2020-10", [("20201015", [
        good("city_stats", 指标="地区生产总值（亿元）", 期间="2019", 数值="4000"),
        good("city_stats", 指标="地区生产总值（亿元）", 期间="2020-Q1", 数值="1000"),
        good("city_stats", 指标="地区生产总值（亿元）", 期间="2020-Q2", 数值="1000")])])
    feed("xyd_loan", "cbirc", "2020-08", [("20200820", [
        good("xyd_loan", 贷款编号="L1"),                                                     # platform, 300
        good("xyd_loan", 贷款编号="L2", **{"放款金额（万元）": "100"}, 放款日期="2019-10-15"),       # outside the window
        good("xyd_loan", 贷款编号="L3", **{"放款金额（万元）": "200"}, 放款渠道="线下"),
        good("xyd_loan", 贷款编号="L4", **{"放款金额（万元）": "50"}, 放款渠道="线下", 是否信用贷款="否")])])
    i13 = indicator("I13", "2020-10")["city"]["370800"]
    assert nd(i13) == (300, 40000000) and i13["value"] == Decimal(300) / 40000000  # 2020 has only two quarters
    assert nd(indicator("I14", "2020-10")["city"]["370800"]) == (200, 40000000)
    feed("city_stats", "stats", "2020-11", [("20201115", [
        good("city_stats", 指标="地区生产总值（亿元）", 期间="2020-Q3", 数值="1000"),
        good("city_stats", 指标="地区生产总值（亿元）", 期间="2020-Q4", 数值="1500")])])
    assert indicator("I13", "2020-11")["city"]["370800"]["denominator"] == 45000000  # four quarters summed
    assert indicator("I13", "2020-09")["city"]["370800"]["value"] is None  # no GDP delivered yet


def test_i18_i19_activity_and_service_items(feed, indicator):
    feed("activity", "370811", "2020-10", [("20201020", [good("activity", 活动日期="2020-10-01"),
                                                        good("activity", 活动日期="2020-10-15")])])
    feed("activity", "370811", "2020-09", [("20200920", [good("activity", 活动日期="2020-09-15")])])
    assert indicator("I18", "2020-10")["city"]["370800"]["value"] == 2
    feed("service_item", "approval", "2020-08", [("20200820", [
        good("service_item", 事项编码="S0", 是否法定可承诺="否", 是否实行信用承诺="否")])])
    feed("service_item", "approval", "2020-09", [("20200920", [
        good("service_item", 事项编码="S1"), good("service_item", 事项编码="S2", 是否实行信用承诺="否"),
        good("service_item", 事项编码="S3", 是否法定可承诺="否", 是否实行信用承诺="否")])])
    assert nd(indicator("I19", "2020-10")["city"]["370800"]) == (1, 2)  # September's snapshot
    august = indicator("I19", "2020-08")["city"]["370800"]
    assert nd(august) == (0, 0) and august["value"] is None


def test_i26_joint_case_feedback(feed, indicator):
    feed("joint_case", "fgw", "2020-10", [("20201031", [
        good("joint_case", 案例编号="J1", 实施日期="2020-10-06", 反馈国家平台日期="2020-10-30"),
        good("joint_case", 案例编号="J2", 实施日期="2020-10-10", 反馈国家平台日期="2020-10-31"),
        good("joint_case", 案例编号="J3", 实施日期="2020-10-12", 反馈国家平台日期=""),
        good("joint_case", 案例编号="J4", 实施日期="2020-09-20", 反馈国家平台日期="")])])
    assert nd(indicator("I26", "2020-10")["city"]["370800"]) == (1, 3)
    feed("joint_case", "fgw", "2021-02", [("20210228", [
        good("joint_case", 案例编号="J5", 实施日期="2021-02-03", 反馈国家平台日期="2021-02-28")])])
    assert nd(indicator("I26", "2021-02")["city"]["370800"]) == (1, 1)  # end(M) in February


def test_credit_events_i27_to_i31(feed, indicator, calendar):
    def event(no, date, domain="商务诚信", nature="负面", proactive="否", handled=""):
        return good("credit_event", 事件编号=no, 事件日期=date, 领域=domain, 性质=nature, 是否主动处理=proactive, 处理日期=handled)
    feed("credit_event", "fgw", "2020-09", [("20200920", [
        event("E1", "2020-05-01"), event("E2", "2020-05-01", nature="正面"), event("E3", "2020-05-01", proactive="是"),
        event("E4", "2019-09-15"), event("E5", "2020-09-01", domain="政务诚信", nature="严重失信"),
        event("E6", "2020-06-01")])])
    feed("credit_event", "fgw", "2020-10", [("20201020", [
        event("E6", "2020-06-01", proactive="是", handled="2020-10-10"),  # a state update
        event("E7", "2020-09-30", domain="社会诚信", nature="重大失信", proactive="是", handled="2020-10-19"),  # wd 8
        event("E8", "2020-09-30", domain="社会诚信", nature="重大失信", proactive="是", handled="2020-10-16"),  # wd 7
        event("E9", "2020-10-05", domain="社会诚信", nature="重大失信", proactive="是")])])
    counts = {i: indicator(i, "2020-10")["city"]["370800"]["value"] for i in ("I27", "I28", "I29", "I30", "I31")}
    assert counts == {"I27": 1, "I28": 1, "I29": 0, "I30": 0, "I31": 2}
    assert indicator("I28", "2020-09")["city"]["370800"]["value"] == 2  # E1, E6 before its update
    assert [e["event_no"] for e in indicator("I31", "2020-10")["city"]["370800"]["evidence"]["events"]] == ["E7", "E9"]


def test_i34_repair_overdue(feed, indicator, calendar):
    def repair(no, applied, closed="", kind="行政处罚"):
        return good("repair", 修复编号=no, 申请日期=applied, 办结日期=closed, 修复信息类型=kind,
                    结果="同意" if closed else "办理中")
    feed("repair", "fgw", "2020-10", [("20201030", [
        repair("R1", "2020-09-30", "2020-10-12"),   # wd 3
        repair("R2", "2020-09-28", "2020-10-10"),   # wd 4 (10-10 is a working Saturday)
        repair("R3", "2020-10-20"),                 # open: wd to end(M) 8
        repair("R4", "2020-10-20", kind="严重失信名单"),
        repair("R5", "2019-10-01"),                 # outside the window
        repair("R6", "2020-09-01", "2020-09-10")])])  # wd 7
    city = indicator("I34", "2020-10")["city"]["370800"]
    assert city["value"] == 2 and [r["repair_no"] for r in city["evidence"]["overdue"]] == ["R6", "R3"]


def test_i35_i36_objections(feed, indicator):
    feed("license", "approval", "2020-09", [("20200920", [good("license", 行政许可决定文书号="L-1"),
                                                         good("license", 行政许可决定文书号="L-2")])])
    feed("penalty", "amr", "2020-10", [("20201020", [good("penalty")])])
    feed("objection", "fgw", "2020-10", [("20201025", [
        good("objection", 异议编号="O1"),                                                    # 7 days
        good("objection", 异议编号="O2", 是否有效异议="否"),
        good("objection", 异议编号="O3", 受理日期="2019-08-01", 办结日期="2019-08-05"),       # outside
        good("objection", 异议编号="O4", 受理日期="2020-09-01", 办结日期="2020-09-21")])])    # 20 days
    i35 = indicator("I35", "2020-10")["city"]["370800"]
    assert nd(i35) == (2, 3)
    i36 = indicator("I36", "2020-10")["city"]["370800"]
    assert nd(i36) == (27, 2) and i36["value"] == Decimal("13.5")
    assert indicator("I35", "2020-08")["city"]["370800"]["value"] is None  # no license/penalty rows yet


def test_i39_prohibited_content(feed, indicator):
    feed("penalty", "amr", "2020-10", [("20201020", [good("penalty"),
                                                   good("penalty", 行政处罚决定书文号="P-2", 违法事实="驾驶机动车闯红灯")])])
    feed("commitment", "approval", "2020-10", [("20201020", [good("commitment", 承诺事项="按时缴纳物业费，无欠缴物业费记录")])])
    result = indicator("I39", "2020-10")
    assert result["city"]["370800"]["value"] == 2
    assert {k: r["value"] for k, r in result["unit"].items()} == {"amr": 1, "approval": 1}
    assert indicator("I39", "2020-09")["city"]["370800"]["value"] == 0
