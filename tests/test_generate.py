"""The sample-data generator: deterministic, complete, and honest about the dirt it injects.

The manifest is checked against an independent reading of every file: a small validator written
here from FEEDS.md (not from the generator's own tables) must find exactly the recorded defects.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jn_credit_dagster.generate import generate  # noqa: E402
from jn_credit_dagster.lib.common.identifiers import id_card_valid, uscc_valid  # noqa: E402

FIRST, LAST = "2020-09", "2020-11"  # spans the 2020-10-01…08 holiday and the working Saturday 10-10
RATES = {"file_breakage": 1.0, "dirty_row": 0.05, "prohibited": 0.01, "redelivery": 0.05}

CITY_UNITS = ["fgw", "court", "amr", "approval", "bigdata", "water", "power", "gas", "commerce", "transport",
              "cbirc", "pboc", "finance", "miit", "tax", "customs", "emergency", "stats", "police", "energy",
              "civil", "hrss", "justice", "mof", "ggzy", "culture", "health", "civilization"]
AREA_UNITS = ["370811", "370812", "370826", "370827", "370828", "370829", "370830", "370831", "370832",
              "370881", "370883", "gxq", "tbh", "jjkfq"]
BLACKLIST_OWNERS = {"01": {"court"}, "02": {"tax"}, "03": {"emergency"}, "04": {"amr"}, "05": {"stats"},
                    "06": {"customs"}, "07": {"police"}, "08": {"fgw", "amr"}, "09": {"court"}, "10": {"finance"},
                    "11": {"finance"}, "12": {"energy"}, "13": {"civil"}, "14": {"hrss"}}
FEED_UNITS = {  # None: any unit
    "registry": {"amr"}, "license": None, "penalty": None, "water_bill": {"water"}, "power_bill": {"power"},
    "gas_bill": {"gas"}, "logistics": {"commerce", "transport"}, "xyd_registration": {"fgw", "cbirc"},
    "xyd_loan": {"cbirc", "pboc", "finance"}, "blacklist": set().union(*BLACKLIST_OWNERS.values()),
    "uscc_issue": {"amr"}, "commitment": None, "arrears": {"miit"}, "tax_grade": {"tax"}, "customs_aeo": {"customs"},
    "joint_case": None, "objection": {"fgw"}, "repair": {"fgw"}, "activity": None, "city_stats": {"stats"},
    "service_item": {"approval"}, "credit_event": {"fgw"}, "self_report": None,
}
KEYS = {"license": ("行政许可决定文书号", "许可机关统一社会信用代码"), "penalty": ("行政处罚决定书文号", "处罚机关统一社会信用代码"),
        "water_bill": ("户号", "账期"), "power_bill": ("户号", "账期"), "gas_bill": ("户号", "账期"),
        "xyd_loan": ("贷款编号", "金融机构"), "commitment": ("承诺编号",)}
NAME_RE = re.compile(r"^(?P<feed>[a-z_]+)\.(?P<day>\d{8})(?:\.(?P<n>\d+))?\.(?P<ext>csv|xlsx|json)$")


def name_match(name: str):
    """The parts of a contract file name, or None (a real delivery date is part of the contract)."""
    g = NAME_RE.match(name)
    if g is None:
        return None
    try:
        dt.datetime.strptime(g["day"], "%Y%m%d")
    except ValueError:
        return None
    return g


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "inbox"
    manifest = generate(path, FIRST, LAST, scale="small", seed=7, rates=RATES)
    return path, manifest


# ---------------------------------------------------------------- reading files, independently

def read_rows(path: Path) -> tuple[list[str], list[list]]:
    """Header and data rows of a CSV (any of the contract's encodings), .xlsx or JSON file."""
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
        return [str(h) for h in rows[0]], rows[1:]
    raw = path.read_bytes()
    if path.suffix == ".json":
        objs = json.loads(raw.decode("utf-8"))
        header = list(objs[0]) if objs else []
        return header, [[o.get(h) for h in header] for o in objs]
    if raw.startswith(b"\xef\xbb\xbf"):
        text = raw[3:].decode("utf-8")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def canon(header: str) -> str:
    return header.strip().replace("(", "（").replace(")", "）")


def records(path: Path) -> list[dict]:
    header, rows = read_rows(path)
    names = [canon(h) for h in header]
    return [dict(zip(names, row)) for row in rows]


def empty(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def as_date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            if fmt == "%Y%m%d" and not re.fullmatch(r"\d{8}", s):
                continue
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            pass
    return None


def as_number(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    s = str(v).strip().replace(",", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", s):
        return None
    return float(s)


def as_int(v):
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else None
    s = str(v).strip()
    return int(s) if re.fullmatch(r"-?\d+", s) else None


# ---------------------------------------------------------------- an independent validator (FEEDS.md ★ rules)

REQUIRED = {
    "registry": "统一社会信用代码 主体名称 主体类型 成立日期 登记状态 所属区县",
    "license": "行政相对人名称 行政相对人类别 行政许可决定文书名称 行政许可决定文书号 许可类别 许可内容 许可决定日期 有效期自 有效期至 "
               "许可机关 许可机关统一社会信用代码 当前状态 数据来源单位 数据来源单位统一社会信用代码",
    "penalty": "行政相对人名称 行政相对人类别 行政处罚决定书文号 违法行为类型 违法事实 处罚依据 处罚类别 处罚内容 处罚决定日期 处罚有效期 "
               "处罚机关 处罚机关统一社会信用代码 数据来源单位 数据来源单位统一社会信用代码",
    "bill": "户号 户名 账期 应缴金额（元） 实缴金额（元） 欠费金额（元） 连续欠费月数",
    "logistics": "统一社会信用代码 企业名称 业务类型 记录类型 记录日期 记录内容",
    "xyd_registration": "统一社会信用代码 企业名称 注册平台 注册日期 状态",
    "xyd_loan": "贷款编号 统一社会信用代码 企业名称 金融机构 放款金额（万元） 放款日期 到期日期 放款渠道 是否信用贷款",
    "blacklist": "名单类型 主体名称 主体类别 列入日期 列入机关 列入事由",
    "uscc_issue": "问题编号 统一社会信用代码 主体名称 问题类型 下发日期 纠正状态",
    "commitment": "承诺编号 统一社会信用代码 主体名称 承诺类型 承诺事项 承诺日期 受理单位",
    "arrears": "台账编号 债务方名称 债务方类型 债权企业名称 债权企业统一社会信用代码 欠款金额（万元） 已清偿金额（万元） 认定日期 截至日期",
    "tax_grade": "统一社会信用代码 纳税人名称 评价年度 信用级别",
    "customs_aeo": "统一社会信用代码 企业名称 认证类型 认证日期 状态",
    "joint_case": "案例编号 奖惩类型 主体名称 依据备忘录 措施 实施日期 实施单位",
    "objection": "异议编号 信息类别 受理日期 是否有效异议 信息来源单位",
    "repair": "修复编号 统一社会信用代码 主体名称 修复信息类型 关联文书号 申请日期",
    "activity": "活动名称 活动日期 活动形式 组织单位",
    "city_stats": "指标 期间 数值",
    "service_item": "事项编码 事项名称 实施单位 是否法定可承诺 是否实行信用承诺",
    "credit_event": "事件编号 事件日期 领域 性质 是否主动处理",
    "self_report": "指标编号 填报值",
}
CODES = {
    "registry": {"主体类型": "企业 个体工商户 农民专业合作社 农村集体经济组织 社会组织 事业单位 机关 其他组织",
                 "登记状态": "存续 注销 吊销 迁出",
                 "所属区县": "370800 370811 370812 370826 370827 370828 370829 370830 370831 370832 370881 370883 370871"},
    "license": {"许可类别": "普通 特许 认可 核准 登记 其他", "当前状态": "有效 无效 1 2"},
    "logistics": {"业务类型": "仓储 运输 货代 快递 多式联运", "记录类型": "资质 合同履约 违约 投诉 表彰"},
    "xyd_registration": {"注册平台": "全国信易贷平台 济宁市金融信用服务平台", "状态": "正常 注销"},
    "xyd_loan": {"放款渠道": "全国信易贷平台 地方信易贷平台 线下", "是否信用贷款": "是 否"},
    "blacklist": {"名单类型": " ".join(BLACKLIST_OWNERS), "主体类别": "法人及非法人组织 自然人 个体工商户"},
    "uscc_issue": {"问题类型": "重码 错码", "纠正状态": "已纠正 未纠正"},
    "commitment": {"承诺类型": "审批替代型 主动承诺型 信用修复型 行业自律型 证明事项型"},
    "arrears": {"债务方类型": "政府部门 国有企业"},
    "tax_grade": {"信用级别": "A B M C D"},
    "customs_aeo": {"认证类型": "高级认证企业 其他注册登记和备案企业 失信企业", "状态": "有效 撤销"},
    "joint_case": {"奖惩类型": "守信激励 失信惩戒"},
    "objection": {"信息类别": "行政许可 行政处罚 严重失信名单 其他", "是否有效异议": "是 否"},
    "repair": {"修复信息类型": "行政处罚 严重失信名单", "结果": "同意 不同意 办理中"},
    "activity": {"活动形式": "进校园 进企业 进社区 进村镇 案例发布 政策解读 信用日 其他"},
    "city_stats": {"指标": "常住人口（万人） 地区生产总值（亿元） 法人企业数"},
    "service_item": {"是否法定可承诺": "是 否", "是否实行信用承诺": "是 否"},
    "credit_event": {"领域": "政务诚信 商务诚信 社会诚信 司法公信", "性质": "正面 负面 严重失信 重大失信", "是否主动处理": "是 否"},
    "self_report": {"指标编号": "I01 I02 I05 I08 I11 I15 I21 I22 I23 I32 I33 I37 I38 D1 D2"},
}
DATES = {"registry": "成立日期 注销日期", "license": "许可决定日期 有效期自 有效期至", "penalty": "处罚决定日期 处罚有效期 公示截止期",
         "logistics": "记录日期", "xyd_registration": "注册日期", "xyd_loan": "放款日期 到期日期", "blacklist": "列入日期 移出日期",
         "uscc_issue": "下发日期 纠正日期", "commitment": "承诺日期", "arrears": "认定日期 截至日期", "customs_aeo": "认证日期",
         "joint_case": "实施日期 反馈国家平台日期", "objection": "受理日期 办结日期", "repair": "申请日期 办结日期",
         "activity": "活动日期", "credit_event": "事件日期 处理日期"}
NOT_AFTER_DELIVERY = {"registry": "成立日期", "license": "许可决定日期", "penalty": "处罚决定日期", "logistics": "记录日期",
                      "xyd_registration": "注册日期", "xyd_loan": "放款日期", "blacklist": "列入日期 移出日期",
                      "commitment": "承诺日期"}
ORDER = {  # (later, earlier, strict)
    "license": [("有效期至", "有效期自", False)], "penalty": [("处罚有效期", "处罚决定日期", False), ("公示截止期", "处罚决定日期", False)],
    "xyd_loan": [("到期日期", "放款日期", True)], "blacklist": [("移出日期", "列入日期", False)],
    "objection": [("办结日期", "受理日期", False)], "repair": [("办结日期", "申请日期", False)],
}
USCC_ALWAYS = {"license": "许可机关统一社会信用代码 数据来源单位统一社会信用代码 统一社会信用代码",
               "penalty": "处罚机关统一社会信用代码 数据来源单位统一社会信用代码 统一社会信用代码",
               "registry": "统一社会信用代码", "bill": "统一社会信用代码", "logistics": "统一社会信用代码",
               "xyd_registration": "统一社会信用代码", "xyd_loan": "统一社会信用代码", "commitment": "统一社会信用代码",
               "arrears": "债权企业统一社会信用代码", "tax_grade": "统一社会信用代码", "customs_aeo": "统一社会信用代码",
               "joint_case": "统一社会信用代码", "repair": "统一社会信用代码"}
ID_TYPES = {"身份证", "护照号", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证"}
PENALTY_KINDS = {"警告", "通报批评", "罚款", "没收违法所得", "没收非法财物", "暂扣许可证件", "降低资质等级", "吊销许可证件",
                 "限制开展生产经营活动", "责令停产停业", "责令关闭", "限制从业", "行政拘留", "其他",
                 "没收违法所得、没收非法财物", "暂扣或者吊销许可证、暂扣或者吊销执照"}
PROHIBITED_WORDS = ("信访", "拆迁", "闯红灯", "不文明养犬", "欠缴物业费", "未执行垃圾分类", "未按规定分类投放垃圾")
PROHIBITED_COLS = {"penalty": ("违法行为类型", "违法事实", "处罚依据"), "blacklist": ("列入事由",), "commitment": ("承诺事项",)}


def check_row(feed: str, unit: str, month: str, delivered: dt.date, row: dict) -> set[str]:
    """Reasons FEEDS.md gives this row (duplicate_key aside)."""
    group = "bill" if feed.endswith("_bill") else feed
    reasons: set[str] = set()
    present = {c for c, v in row.items() if not empty(v)}
    for col in REQUIRED[group].split():
        if col not in present:
            reasons.add(f"required:{col}")
    for col, allowed in CODES.get(feed, {}).items():
        if col in present and str(row[col]).strip() not in allowed.split():
            reasons.add(f"invalid_code:{col}")
    for col in USCC_ALWAYS.get(group, "").split():
        if col in present and not uscc_valid(str(row[col])):
            reasons.add(f"invalid_uscc:{col}")
    dates = {}
    for col in DATES.get(feed, "").split():
        if col in present:
            dates[col] = as_date(row[col])
            if dates[col] is None:
                reasons.add(f"bad_type:{col}")
    for col in NOT_AFTER_DELIVERY.get(feed, "").split():
        if dates.get(col) and dates[col] > delivered:
            reasons.add(f"date_after_delivery:{col}")
    for later, earlier, strict in ORDER.get(feed, []):
        a, b = dates.get(later), dates.get(earlier)
        if a and b and (a <= b if strict else a < b):
            reasons.add(f"date_order:{later}")
    for col in PROHIBITED_COLS.get(feed, ()):
        if col in present and any(w in str(row[col]) for w in PROHIBITED_WORDS):
            reasons.add("prohibited_category")

    def number(col, kind=as_number):
        if col not in present:
            return None
        v = kind(row[col])
        if v is None:
            reasons.add(f"bad_type:{col}")
        return v

    if feed in ("license", "penalty"):
        cat = str(row.get("行政相对人类别") or "").strip()
        if cat in ("法人及非法人组织", "个体工商户"):
            for col in ("统一社会信用代码", "法定代表人"):
                if col not in present:
                    reasons.add(f"required:{col}")
        if cat == "自然人":
            for col in ("证件类型", "证件号码"):
                if col not in present:
                    reasons.add(f"required:{col}")
        kind = str(row.get("证件类型") or "").strip()
        if "证件类型" in present and kind not in ID_TYPES and not kind.startswith("其他-"):
            reasons.add("invalid_code:证件类型")
        if kind == "身份证" and "证件号码" in present and not id_card_valid(str(row["证件号码"]), delivered):
            reasons.add("invalid_id:证件号码")
        if "行政相对人类别" in present and cat not in ("法人及非法人组织", "自然人", "个体工商户"):
            reasons.add("invalid_code:行政相对人类别")
    if feed == "penalty":
        kinds = [k.strip() for k in re.split("[;；]", str(row.get("处罚类别") or "")) if k.strip()]
        if "处罚类别" in present and any(k not in PENALTY_KINDS for k in kinds):
            reasons.add("invalid_code:处罚类别")
        fine = number("罚款金额（万元）")
        if "罚款" in kinds and "罚款金额（万元）" not in present:
            reasons.add("required:罚款金额（万元）")
        if fine is not None and (fine < 0 or fine >= 100000 or ("罚款" in kinds and fine <= 0)):
            reasons.add("out_of_range:罚款金额（万元）")
        conf = number("没收违法所得、没收非法财物的金额（万元）")
        if conf is not None and conf < 0:
            reasons.add("out_of_range:没收违法所得、没收非法财物的金额（万元）")
    if group == "bill":
        if "账期" in present and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(row["账期"]).strip()):
            reasons.add("bad_type:账期")
        due, paid, owed = (number(c) for c in ("应缴金额（元）", "实缴金额（元）", "欠费金额（元）"))
        months = number("连续欠费月数", as_int)
        for col, v in (("应缴金额（元）", due), ("实缴金额（元）", paid), ("欠费金额（元）", owed), ("连续欠费月数", months)):
            if v is not None and v < 0:
                reasons.add(f"out_of_range:{col}")
        if None not in (due, paid, owed) and paid <= due and abs(owed - (due - paid)) > 0.01:
            reasons.add("inconsistent:欠费金额（元）")
    if feed == "logistics":
        v = number("涉及金额（元）")
        if v is not None and v < 0:
            reasons.add("out_of_range:涉及金额（元）")
    if feed == "xyd_loan":
        v = number("放款金额（万元）")
        if v is not None and not 0 < v < 1_000_000:
            reasons.add("out_of_range:放款金额（万元）")
    if feed == "blacklist":
        t, cat = str(row.get("名单类型") or "").strip(), str(row.get("主体类别") or "").strip()
        if t in BLACKLIST_OWNERS and unit not in BLACKLIST_OWNERS[t]:
            reasons.add("not_owner:名单类型")
        if cat == "法人及非法人组织":
            if "统一社会信用代码" not in present:
                reasons.add("required:统一社会信用代码")
            elif not uscc_valid(str(row["统一社会信用代码"])):
                reasons.add("invalid_uscc:统一社会信用代码")
        if cat == "自然人":
            if "证件号码" not in present:
                reasons.add("required:证件号码")
            elif not id_card_valid(str(row["证件号码"]), delivered):
                reasons.add("invalid_id:证件号码")
        if "移出日期" in present and "移出事由" not in present:
            reasons.add("required:移出事由")
    if feed == "registry" and str(row.get("登记状态") or "").strip() in ("注销", "吊销", "迁出") and "注销日期" not in present:
        reasons.add("required:注销日期")
    if feed == "uscc_issue" and str(row.get("纠正状态") or "").strip() == "已纠正":
        if "纠正日期" not in present:
            reasons.add("required:纠正日期")
        if str(row.get("问题类型") or "").strip() == "错码" and not uscc_valid(str(row.get("纠正后代码") or "")):
            reasons.add("invalid_uscc:纠正后代码")
    if feed == "arrears":
        owed, paid = number("欠款金额（万元）"), number("已清偿金额（万元）")
        if owed is not None and owed <= 0:
            reasons.add("out_of_range:欠款金额（万元）")
        if paid is not None and (paid < 0 or (owed is not None and paid > owed)):
            reasons.add("out_of_range:已清偿金额（万元）")
    if feed == "tax_grade" and "评价年度" in present and not re.fullmatch(r"\d{4}", str(row["评价年度"]).strip()):
        reasons.add("bad_type:评价年度")
    if feed == "activity":
        d = dates.get("活动日期")
        if d and f"{d:%Y-%m}" != month:
            reasons.add("outside_month:活动日期")
        n = number("参与人数", as_int)
        if n is not None and n < 0:
            reasons.add("out_of_range:参与人数")
    if feed == "city_stats":
        v = number("数值")
        if v is not None and v <= 0:
            reasons.add("out_of_range:数值")
    if feed == "service_item" and str(row.get("是否实行信用承诺") or "").strip() == "是" \
            and str(row.get("是否法定可承诺") or "").strip() == "否":
        reasons.add("inconsistent:是否实行信用承诺")
    return reasons


def delivery_order(m: dict, inbox: Path):
    """Readable data files in the contract's order: delivery date, month folder, .n."""
    rejected = {f["file"] for f in m["file_defects"]}
    redelivered = {r["file"] for r in m["redeliveries"]}
    out = []
    for path in inbox.rglob("*"):
        rel = path.relative_to(inbox).as_posix()
        if not path.is_file() or rel == "manifest.json" or rel in rejected or rel in redelivered:
            continue
        unit, month, name = rel.split("/")
        g = NAME_RE.match(name)
        out.append((dt.datetime.strptime(g["day"], "%Y%m%d").date(), month, int(g["n"] or 1), rel, unit, g["feed"]))
    return sorted(out)


# ---------------------------------------------------------------- tests

def test_deterministic(tmp_path, inbox):
    path, _ = inbox
    again = tmp_path / "again"
    generate(again, FIRST, LAST, scale="small", seed=7, rates=RATES)

    def digests(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in root.rglob("*") if p.is_file()}
    mine = digests(path)
    assert mine == digests(again)
    other = tmp_path / "other-seed"
    generate(other, FIRST, FIRST, scale="small", seed=8, rates=RATES)
    theirs = digests(other)
    registry = {v for k, v in theirs.items() if "/registry." in k}
    assert registry and not registry & set(mine.values())  # another seed, another city


def test_xlsx_has_fixed_timestamps(inbox):
    path, m = inbox
    xlsx = [d["file"] for d in m["deliveries"] if d["format"] == "xlsx"]
    assert xlsx
    with zipfile.ZipFile(path / xlsx[0]) as z:
        stamps = {i.date_time for i in z.infolist()}
        core = z.read("docProps/core.xml").decode()
    assert len(stamps) == 1 and stamps.pop()[:2] == tuple(int(x) for x in xlsx[0].split("/")[1].split("-"))
    assert "2020-" in core and str(dt.date.today().year + 1) not in core


def test_layout_and_manifest_cover_every_file(inbox):
    path, m = inbox
    files = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    assert "manifest.json" in files
    listed = {d["file"] for d in m["deliveries"]}
    assert files - {"manifest.json"} == listed
    bad_names = {f["file"] for f in m["file_defects"] if f["expected_rejection"] == "bad_name"}
    for rel in files - {"manifest.json"}:
        parts = rel.split("/")
        assert len(parts) == 3 and parts[0] in CITY_UNITS + AREA_UNITS and re.fullmatch(r"\d{4}-\d{2}", parts[1]), rel
        assert (name_match(parts[2]) is None) == (rel in bad_names), rel


def test_every_feed_unit_and_format_present(inbox):
    path, m = inbox
    good = [d for d in m["deliveries"] if not d.get("expected_rejection")]
    assert {d["feed"] for d in good} == set(FEED_UNITS)
    assert {d["unit"] for d in good} == set(CITY_UNITS + AREA_UNITS)
    assert {d["format"] for d in good} == {"csv-utf8", "csv-utf8-bom", "csv-gbk", "csv-gb18030", "xlsx", "json"}
    for d in good:
        unit_ok = FEED_UNITS[d["feed"]]
        assert unit_ok is None or d["unit"] in unit_ok, d
        raw = (path / d["file"]).read_bytes()
        if d["format"] == "csv-utf8-bom":
            assert raw.startswith(b"\xef\xbb\xbf")
        elif d["format"] in ("csv-gbk", "csv-gb18030"):
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            raw.decode("gbk" if d["format"] == "csv-gbk" else "gb18030")
        elif d["format"] == "json":
            assert isinstance(json.loads(raw), list)
    # both working-day traps of October 2020 are used by someone
    days = {d["delivered"] for d in good}
    assert "2020-10-10" in days or any(d["delivered"] >= "2020-10-09" and d["month"] == "2020-09" for d in good)
    assert {d["month"] for d in good} == {"2020-09", "2020-10", "2020-11"}


def test_identifiers_valid_except_recorded(inbox):
    path, m = inbox
    broken = {(d["file"], d["row_no"], r.split(":", 1)[1]) for d in m["row_defects"] for r in d["expected_reasons"]
              if r.startswith(("invalid_uscc:", "invalid_id:"))}
    seen = set()
    uscc_total = id_total = 0
    for day, month, n, rel, unit, feed in delivery_order(m, path):
        for row_no, row in enumerate(records(path / rel), 1):
            for col, v in row.items():
                if empty(v):
                    continue
                if ("统一社会信用代码" in col or col == "纠正后代码") and not (feed == "uscc_issue" and col == "统一社会信用代码"):
                    uscc_total += 1
                    ok = uscc_valid(str(v))
                    assert ok != ((rel, row_no, col) in broken), (rel, row_no, col, v)
                    seen.add((rel, row_no, col))
                if col == "证件号码" and (row.get("证件类型") == "身份证" or row.get("主体类别") == "自然人"):
                    id_total += 1
                    ok = id_card_valid(str(v), day)
                    assert ok != ((rel, row_no, col) in broken), (rel, row_no, col, v)
                    seen.add((rel, row_no, col))
    assert broken <= seen
    assert uscc_total > 10_000 and id_total > 100
    prefixes = set()
    for row in records(path / next(d["file"] for d in m["deliveries"] if d["feed"] == "registry" and d["format"])):
        prefixes.add(str(row["统一社会信用代码"])[:2])
    assert {"91", "92", "93", "11", "12", "51", "52", "53", "N2"} <= prefixes
    assert any(not p.isdigit() for p in prefixes)


def test_manifest_agrees_with_independent_check(inbox):
    path, m = inbox
    expected = {(d["file"], d["row_no"]): set(d["expected_reasons"]) for d in m["row_defects"]}
    accepted: dict[str, set] = {}
    mismatches, checked = [], 0
    for day, month, n, rel, unit, feed in delivery_order(m, path):
        codes: set = set()  # 事项编码 seen in this snapshot
        for row_no, row in enumerate(records(path / rel), 1):
            got = check_row(feed, unit, month, day, row)
            if feed in KEYS:
                key = tuple(str(row.get(k) or "").strip().upper() for k in KEYS[feed])
                if all(key) and key in accepted.setdefault(feed, set()):
                    got.add("duplicate_key")
                elif not got and all(key):
                    accepted[feed].add(key)
            if feed == "service_item":
                code = str(row.get("事项编码") or "").strip()
                if code in codes:
                    got.add("duplicate_key")
                codes.add(code)
            checked += 1
            want = expected.pop((rel, row_no), set())
            if got != want:
                mismatches.append((rel, row_no, sorted(want), sorted(got)))
    assert not mismatches, mismatches[:20]
    assert not expected, list(expected)[:10]  # every recorded defect was found in a file
    assert checked > 20_000
    kinds = {d["kind"] for d in m["row_defects"]}
    assert kinds >= {"required", "invalid_uscc", "invalid_id", "invalid_code", "bad_type", "out_of_range",
                     "date_after_delivery", "date_order", "inconsistent", "not_owner", "outside_month",
                     "prohibited_category", "duplicate_key"}


def test_whole_file_breakage(inbox):
    path, m = inbox
    kinds = {f["expected_rejection"]: f for f in m["file_defects"]}
    assert set(kinds) == {"unit_not_allowed", "unknown_feed", "unreadable", "empty", "missing_columns", "bad_name"}
    for f in m["file_defects"]:
        p = path / f["file"]
        unit, _, name = f["file"].split("/")
        g = name_match(name)
        if f["expected_rejection"] == "unit_not_allowed":
            assert FEED_UNITS[g["feed"]] is not None and unit not in FEED_UNITS[g["feed"]]
        elif f["expected_rejection"] == "unknown_feed":
            assert g["feed"] not in FEED_UNITS
        elif f["expected_rejection"] == "unreadable":
            with pytest.raises(Exception):
                openpyxl.load_workbook(p)
        elif f["expected_rejection"] == "empty":
            header, rows = read_rows(p)
            assert header and rows == []
        elif f["expected_rejection"] == "missing_columns":
            header, rows = read_rows(p)
            assert set(REQUIRED[g["feed"]].split()) - {canon(h) for h in header} and rows
        else:
            assert g is None


def test_redeliveries_corrections_and_state_updates(inbox):
    path, m = inbox
    assert m["redeliveries"] and m["corrections"] and m["state_updates"]
    for r in m["redeliveries"]:
        assert (path / r["file"]).read_bytes() == (path / r["redelivery_of"]).read_bytes()
    defects = {(d["file"], d["row_no"]) for d in m["row_defects"]}
    for c in m["corrections"]:
        orig, fix = c["original"], c["correction"]
        assert (orig["file"], orig["row_no"]) in defects and (fix["file"], fix["row_no"]) not in defects
        o = records(path / orig["file"])[orig["row_no"] - 1]
        f = records(path / fix["file"])[fix["row_no"] - 1]
        assert all(str(o[k]) == str(f[k]) == str(c["key"][k]) for k in c["key"])
    kinds = {s["kind"] for s in m["state_updates"]}
    assert {"registration_cancelled", "blacklist_exit", "joint_case_feedback", "xyd_registration_cancelled"} <= kinds
    for s in m["state_updates"]:
        row = records(path / s["file"])[s["row_no"] - 1]
        assert all(str(row[k]) == str(v) or as_date(row[k]) == as_date(v) for k, v in s["key"].items()), s
        if s["kind"] == "blacklist_exit":
            assert not empty(row["移出日期"]) and not empty(row["移出事由"])
        if s["kind"].startswith("registration_"):
            assert row["登记状态"] in ("注销", "吊销", "迁出")
        if s["kind"] == "objection_closed":
            assert not empty(row["办结日期"])
        if s["kind"] == "arrears_repaid":
            assert as_number(row["已清偿金额（万元）"]) == as_number(row["欠款金额（万元）"])
    for f in m["findings"]:
        rows = records(path / f["file"])
        a, b = rows[f["same_code_as_row"] - 1], rows[f["row_no"] - 1]
        assert a["统一社会信用代码"] == b["统一社会信用代码"] and a["主体名称"] != b["主体名称"]


def test_volumes_and_units_of_measure(inbox):
    path, m = inbox
    by_feed: dict[str, int] = {}
    for d in m["deliveries"]:
        if d["rows"] and not d.get("redelivery_of") and d["month"] == "2020-10":
            by_feed[d["feed"]] = by_feed.get(d["feed"], 0) + d["rows"]
    assert 8_000 < by_feed["registry"] < 12_000  # 1/100 of Jining's ~940k subjects
    assert 200 < by_feed["license"] + by_feed["penalty"] < 1_000
    stats = [r for d in m["deliveries"] if d["feed"] == "city_stats" and d["month"] == FIRST
             for r in records(path / d["file"])]
    gdp = [as_number(r["数值"]) for r in stats if r["指标"] == "地区生产总值（亿元）" and str(r["期间"]).startswith("2019-")]
    assert len(gdp) == 4 and 4300 < sum(gdp) < 4450
    assert any(r["指标"] == "常住人口（万人）" and 820 < as_number(r["数值"]) < 850 for r in stats)
    fines = [as_number(r["罚款金额（万元）"]) for d in m["deliveries"] if d["feed"] == "penalty" and d["format"]
             for r in records(path / d["file"]) if not empty(r.get("罚款金额（万元）"))]
    assert sorted(f for f in fines if f is not None)[len(fines) // 2] < 5  # 万元: a typical fine is a few thousand 元


def test_inbox_must_be_new_unless_overwriting_a_sample(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("not a sample")
    with pytest.raises(FileExistsError):
        generate(tmp_path / "mine", "2020-09", "2020-09", overwrite=True)  # never deletes foreign files
    sample = tmp_path / "sample"
    generate(sample, "2020-09", "2020-09", rates={"file_breakage": 0.0})
    with pytest.raises(FileExistsError):
        generate(sample, "2020-09", "2020-09")
    generate(sample, "2020-10", "2020-10", overwrite=True)
    assert sorted(p.name for p in (sample / "amr").iterdir()) == ["2020-10"]


def test_alongside_writes_the_same_city_a_month_at_a_time(tmp_path, inbox):
    from jn_credit_dagster.generate.alongside import Alongside

    def digests(root, month="*"):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in root.glob(f"*/{month}/*") if p.is_file()}

    path, _ = inbox
    months = sorted({p.name for p in path.glob("*/*") if p.is_dir()})
    out = tmp_path / "alongside"
    sample = Alongside(out, FIRST, LAST, scale="small", seed=7, rates=RATES)
    try:
        for month in months:
            sample.wait(month)  # once it returns, the month's folders are complete
            assert digests(out, month) == digests(path, month)
        assert sample.finish() > 0
    finally:
        sample.close()
    assert digests(out) == digests(path) and (out / "manifest.json").read_bytes() == (path / "manifest.json").read_bytes()

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("not a sample")
    failing = Alongside(tmp_path / "mine", FIRST, LAST, overwrite=True)
    try:
        with pytest.raises(RuntimeError, match="FileExistsError"):
            failing.wait(months[0])
    finally:
        failing.close()
    assert (tmp_path / "mine" / "notes.txt").exists()
