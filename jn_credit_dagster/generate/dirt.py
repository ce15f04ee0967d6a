"""Defects injected on purpose, and the manifest that records each one.

Every injector breaks exactly one ★ rule of FEEDS.md (adjusting neighbouring values where needed so
that no second rule breaks) and returns the reason codes the ingestion engine must give the row.
Rules that compare two values are judged only when both are present and parse: blanking or garbling
one operand yields `required:`/`bad_type:` alone.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import asdict, dataclass, fields

from .identities import Bits, break_id, break_uscc
from .names import PROHIBITED
from .spec import BLACKLIST_OWNERS


@dataclass(frozen=True)
class Rates:
    dirty_row: float = 0.03  # share of rows given one ★ defect
    bulk_dirty_row: float = 0.002  # the same for the bulk feeds (registry, bills, tax_grade)
    duplicate: float = 0.008  # keyed event rows repeated (duplicate_key)
    correction: float = 0.5  # share of quarantined keyed event rows re-sent corrected
    prohibited: float = 0.004  # penalty/blacklist/commitment rows recording a prohibited category
    uscc_duplicate: float = 0.0005  # registry rows whose code is given to a second name (重码, not quarantined)
    redelivery: float = 0.03  # files re-delivered byte-identically
    late_delivery: float = 0.12  # deliveries after the deadline
    extra_delivery: float = 0.2  # a second delivery of a feed in a month
    synonym_2019: float = 0.08  # files using the 2019 code vocabulary
    ascii_brackets: float = 0.2  # files whose headers use ( ) instead of （ ）
    file_breakage: float = 0.3  # per month and kind of whole-file breakage

    @classmethod
    def from_any(cls, value) -> "Rates":
        if value is None:
            return cls()
        if isinstance(value, Rates):
            return value
        known = {f.name for f in fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown defect rates: {sorted(unknown)}")
        return cls(**value)

    def as_dict(self) -> dict:
        return asdict(self)


BULK_FEEDS = frozenset({"registry", "water_bill", "power_bill", "gas_bill", "tax_grade"})
FILE_BREAKAGES = ("unit_not_allowed", "unknown_feed", "unreadable", "empty", "missing_columns", "bad_name")

BAD_DATES = ("2020-02-30", "2020/13/01", "20201345", "二〇二〇年三月", "2020.03.15", "3/15/2020", "待定")
BAD_NUMBERS = ("壹万", "1.2.3", "12万", "N/A", "约500", "—")


@dataclass
class Env:
    """What an injector knows besides the row."""

    r: random.Random
    delivered: dt.date
    ym: tuple[int, int]
    unit: str

    def bits(self) -> Bits:
        return Bits(self.r.getrandbits(256))


def _present(row, col):
    v = row.get(col)
    return v is not None and v != ""


def _days(r, lo, hi):
    return dt.timedelta(days=r.randint(lo, hi))


# ---- injector factories: each returns fn(row, env) -> list of reasons, or None when not applicable


def blank(*cols, when=None):
    def inj(row, env):
        options = [c for c in cols if _present(row, c)]
        if not options or (when and not when(row)):
            return None
        col = env.r.choice(options)
        row[col] = None
        return [f"required:{col}"]
    return "required", inj


def conditional_blank(col, when):
    def inj(row, env):
        if not when(row) or not _present(row, col):
            return None
        row[col] = None
        return [f"required:{col}"]
    return "required", inj


def bad_uscc(*cols, when=None):
    def inj(row, env):
        options = [c for c in cols if _present(row, c) and isinstance(row[c], str) and len(row[c]) == 18]
        if not options or (when and not when(row)):
            return None
        col = env.r.choice(options)
        row[col] = break_uscc(row[col], env.bits())
        return [f"invalid_uscc:{col}"]
    return "invalid_uscc", inj


def bad_id(col, when):
    def inj(row, env):
        if not when(row) or not _present(row, col):
            return None
        row[col] = break_id(row[col], env.bits(), env.delivered)
        return [f"invalid_id:{col}"]
    return "invalid_id", inj


def bad_code(col, wrong, when=None):
    def inj(row, env):
        if when and not when(row):
            return None
        row[col] = env.r.choice(wrong)
        return [f"invalid_code:{col}"]
    return "invalid_code", inj


def bad_date(*cols):
    def inj(row, env):
        options = [c for c in cols if _present(row, c)]
        if not options:
            return None
        col = env.r.choice(options)
        row[col] = env.r.choice(BAD_DATES)
        return [f"bad_type:{col}"]
    return "bad_type", inj


def bad_value(col, wrong):
    def inj(row, env):
        if not _present(row, col):
            return None
        row[col] = env.r.choice(wrong)
        return [f"bad_type:{col}"]
    return "bad_type", inj


def after_delivery(col, fix=None, when=None):
    def inj(row, env):
        if not _present(row, col) or (when and not when(row)):
            return None
        row[col] = env.delivered + _days(env.r, 1, 20)
        if fix:
            fix(row)
        return [f"date_after_delivery:{col}"]
    return "date_after_delivery", inj


def before(col, earlier, strict_ok=True):
    """Set `col` before `earlier` (or, for strict rules, equal to it)."""
    def inj(row, env):
        if not _present(row, col) or not isinstance(row.get(earlier), dt.date):
            return None
        back = env.r.randint(0 if not strict_ok else 1, 60)
        row[col] = row[earlier] - dt.timedelta(days=back)
        return [f"date_order:{col}"]
    return "date_order", inj


def prohibited(col, template):
    def inj(row, env):
        word, act = env.r.choice(PROHIBITED)
        row[col] = template.format(act=act, word=word)
        return ["prohibited_category"]
    return "prohibited_category", inj


def numeric(col, make, when=None, kind="out_of_range"):
    def inj(row, env):
        if when and not when(row):
            return None
        reasons = make(row, env.r)
        return reasons
    return kind, inj


# ---- per feed

def _is(col, *values):
    return lambda row: row.get(col) in values


ORG = ("法人及非法人组织", "个体工商户")
_subject_rules = [
    conditional_blank("统一社会信用代码", _is("行政相对人类别", *ORG)),
    conditional_blank("法定代表人", _is("行政相对人类别", *ORG)),
    conditional_blank("证件号码", _is("行政相对人类别", "自然人")),
    conditional_blank("证件类型", _is("行政相对人类别", "自然人")),
    bad_id("证件号码", _is("证件类型", "身份证")),
    bad_code("行政相对人类别", ("企业", "法人", "个人", "其他")),
    bad_code("证件类型", ("军官证", "居民身份证", "身份证号码"), when=_is("行政相对人类别", "自然人")),
]


def _fine_too_big(row, r):
    v = row.get("罚款金额（万元）")
    if not isinstance(v, float):
        return None
    # the classic: the amount typed in 元 into a 万元 column
    row["罚款金额（万元）"] = max(round(v * 10000, 2), 100000.0 + r.randint(0, 50000)) if r.random() < 0.7 else -round(v, 4)
    return ["out_of_range:罚款金额（万元）"]


def _confiscation_negative(row, r):
    col = "没收违法所得、没收非法财物的金额（万元）"
    if not isinstance(row.get(col), float):
        return None
    row[col] = -row[col]
    return [f"out_of_range:{col}"]


def _penalty_fix(row):
    for col in ("处罚有效期", "公示截止期"):
        if isinstance(row.get(col), dt.date) and row[col] < row["处罚决定日期"]:
            row[col] = row["处罚决定日期"] + dt.timedelta(days=365)


def _bill_out_of_range(row, r):
    due = row["应缴金额（元）"]
    which = r.randrange(4)
    if which == 0:
        row["应缴金额（元）"], row["实缴金额（元）"], row["欠费金额（元）"] = -due - 1.0, 0.0, 0.0
        return ["out_of_range:应缴金额（元）"]
    if which == 1:
        paid = -round(r.uniform(1, 100), 2)
        row["实缴金额（元）"], row["欠费金额（元）"] = paid, round(due - paid, 2)
        return ["out_of_range:实缴金额（元）"]
    if which == 2:
        over = round(r.uniform(1, 100), 2)
        row["实缴金额（元）"], row["欠费金额（元）"] = round(due + over, 2), -over
        return ["out_of_range:欠费金额（元）"]
    row["连续欠费月数"] = -1
    return ["out_of_range:连续欠费月数"]


def _bill_inconsistent(row, r):
    due, paid = row["应缴金额（元）"], row["实缴金额（元）"]
    if paid > due:
        return None
    row["欠费金额（元）"] = round(due - paid + r.choice((1.0, 10.0, 100.0, round(r.uniform(0.5, 500), 2))), 2)
    return ["inconsistent:欠费金额（元）"]


def _loan_amount(row, r):
    row["放款金额（万元）"] = r.choice((0.0, -50.0, float(r.randint(1_000_000, 9_000_000))))
    return ["out_of_range:放款金额（万元）"]


def _arrears_amount(row, r):
    if r.random() < 0.5:
        row["已清偿金额（万元）"] = round(row["欠款金额（万元）"] + r.uniform(1, 100), 2)
        return ["out_of_range:已清偿金额（万元）"]
    row["欠款金额（万元）"], row["已清偿金额（万元）"] = 0.0, 0.0
    return ["out_of_range:欠款金额（万元）"]


def _negative(col):
    def make(row, r):
        if not isinstance(row.get(col), (int, float)):
            return None
        row[col] = -abs(row[col]) - (1 if isinstance(row[col], int) else 1.0)
        return [f"out_of_range:{col}"]
    return make


def _outside_month(row, env):
    first = dt.date(env.ym[0], env.ym[1], 1)
    row["活动日期"] = first - _days(env.r, 1, 40) if env.r.random() < 0.6 else first + dt.timedelta(days=32 + env.r.randint(0, 20))
    return ["outside_month:活动日期"]


def _not_owner_inj(row, env):
    theirs = [t for t, owners in BLACKLIST_OWNERS.items() if env.unit not in owners]
    row["名单类型"] = env.r.choice(theirs)
    return ["not_owner:名单类型"]


def _service_inconsistent(row, env):
    row["是否法定可承诺"], row["是否实行信用承诺"] = "否", "是"
    return ["inconsistent:是否实行信用承诺"]


INJECTORS = {
    "registry": [
        blank("主体名称", "成立日期", "所属区县", "统一社会信用代码", "主体类型"),
        conditional_blank("注销日期", _is("登记状态", "注销", "吊销", "迁出")),
        bad_uscc("统一社会信用代码"),
        bad_code("主体类型", ("有限责任公司", "私营企业", "企业法人", "个体户")),
        bad_code("登记状态", ("在业", "开业", "正常", "撤销")),
        bad_code("所属区县", ("370802", "370899", "济宁市", "3708")),
        bad_date("成立日期", "注销日期"),
        after_delivery("成立日期"),
    ],
    "license": [
        blank("行政相对人名称", "行政许可决定文书名称", "许可内容", "许可机关", "数据来源单位", "有效期自"),
        *_subject_rules,
        bad_uscc("统一社会信用代码", "许可机关统一社会信用代码", "数据来源单位统一社会信用代码"),
        bad_code("许可类别", ("一般", "行政确认", "审批")),
        bad_code("当前状态", ("3", "正常", "撤销")),
        bad_date("许可决定日期", "有效期自", "有效期至"),
        after_delivery("许可决定日期"),
        before("有效期至", "有效期自"),
    ],
    "penalty": [
        blank("行政相对人名称", "违法行为类型", "违法事实", "处罚依据", "处罚内容", "处罚机关", "数据来源单位"),
        *_subject_rules,
        conditional_blank("罚款金额（万元）", lambda row: "罚款" in (row.get("处罚类别") or "")),
        bad_uscc("统一社会信用代码", "处罚机关统一社会信用代码", "数据来源单位统一社会信用代码"),
        bad_code("处罚类别", ("罚金", "训诫", "责令改正", "警告;罚金")),
        bad_value("罚款金额（万元）", BAD_NUMBERS),
        bad_date("处罚决定日期", "处罚有效期", "公示截止期"),
        numeric("罚款金额（万元）", _fine_too_big),
        numeric("没收违法所得、没收非法财物的金额（万元）", _confiscation_negative),
        after_delivery("处罚决定日期", fix=_penalty_fix),
        before("处罚有效期", "处罚决定日期"),
        before("公示截止期", "处罚决定日期"),
        prohibited("违法行为类型", "{act}"),
        prohibited("违法事实", "经查，当事人存在{act}行为"),
    ],
    "bill": [
        blank("户名", "连续欠费月数", "实缴金额（元）"),
        bad_uscc("统一社会信用代码"),
        bad_value("账期", ("2020年3月", "2020-13", "三月", "2020.03")),
        bad_value("应缴金额（元）", BAD_NUMBERS),
        bad_value("连续欠费月数", ("1.5", "两个月", "无")),
        numeric("应缴金额（元）", _bill_out_of_range),
        numeric("欠费金额（元）", _bill_inconsistent, kind="inconsistent"),
    ],
    "logistics": [
        blank("企业名称", "记录内容", "统一社会信用代码"),
        bad_uscc("统一社会信用代码"),
        bad_code("业务类型", ("冷链", "配送", "装卸")),
        bad_code("记录类型", ("表扬", "荣誉", "处罚")),
        bad_date("记录日期"),
        bad_value("涉及金额（元）", BAD_NUMBERS),
        after_delivery("记录日期"),
        numeric("涉及金额（元）", _negative("涉及金额（元）")),
    ],
    "xyd_registration": [
        blank("企业名称"),
        bad_uscc("统一社会信用代码"),
        bad_code("注册平台", ("信用中国", "山东省信易贷平台")),
        bad_code("状态", ("有效", "停用")),
        bad_date("注册日期"),
        after_delivery("注册日期"),
    ],
    "xyd_loan": [
        blank("企业名称"),
        bad_uscc("统一社会信用代码"),
        bad_code("放款渠道", ("银行", "线上", "平台")),
        bad_code("是否信用贷款", ("Y", "N", "信用")),
        bad_value("放款金额（万元）", BAD_NUMBERS),
        bad_date("放款日期", "到期日期"),
        numeric("放款金额（万元）", _loan_amount),
        after_delivery("放款日期", fix=lambda row: row.update({"到期日期": row["放款日期"] + dt.timedelta(days=365)})),
        before("到期日期", "放款日期", strict_ok=False),
    ],
    "blacklist": [
        blank("主体名称", "列入机关", "列入事由"),
        conditional_blank("统一社会信用代码", _is("主体类别", "法人及非法人组织")),
        conditional_blank("证件号码", _is("主体类别", "自然人")),
        conditional_blank("移出事由", lambda row: _present(row, "移出日期")),
        bad_uscc("统一社会信用代码", when=_is("主体类别", "法人及非法人组织")),
        bad_id("证件号码", _is("主体类别", "自然人")),
        bad_code("名单类型", ("15", "99", "00")),
        bad_code("主体类别", ("企业", "个人")),
        ("not_owner", _not_owner_inj),
        bad_date("列入日期"),
        after_delivery("列入日期", when=lambda row: not _present(row, "移出日期")),
        after_delivery("移出日期"),
        before("移出日期", "列入日期"),
        prohibited("列入事由", "{act}"),
    ],
    "uscc_issue": [
        blank("主体名称"),
        conditional_blank("纠正日期", _is("纠正状态", "已纠正")),
        bad_uscc("纠正后代码", when=lambda row: row.get("纠正状态") == "已纠正" and row.get("问题类型") == "错码"),
        bad_code("问题类型", ("错号", "重号")),
        bad_code("纠正状态", ("已整改", "整改中"), when=_is("纠正状态", "未纠正")),
        bad_date("下发日期"),
    ],
    "commitment": [
        blank("主体名称", "受理单位"),
        bad_uscc("统一社会信用代码"),
        bad_code("承诺类型", ("自愿承诺", "告知承诺")),
        bad_date("承诺日期"),
        after_delivery("承诺日期"),
        prohibited("承诺事项", "承诺今后不再{act}"),
    ],
    "arrears": [
        blank("债务方名称", "债权企业名称"),
        bad_uscc("债权企业统一社会信用代码"),
        bad_code("债务方类型", ("事业单位", "民营企业")),
        bad_date("认定日期"),
        bad_value("欠款金额（万元）", BAD_NUMBERS),
        numeric("已清偿金额（万元）", _arrears_amount),
    ],
    "tax_grade": [
        blank("纳税人名称"),
        bad_uscc("统一社会信用代码"),
        bad_code("信用级别", ("AA", "E", "B+")),
        bad_value("评价年度", ("二〇一九", "2019年度", "19年")),
    ],
    "customs_aeo": [
        blank("企业名称"),
        bad_uscc("统一社会信用代码"),
        bad_code("认证类型", ("一般认证企业", "一般信用企业")),
        bad_code("状态", ("失效", "暂停")),
        bad_date("认证日期"),
    ],
    "joint_case": [
        blank("措施", "依据备忘录"),
        bad_uscc("统一社会信用代码"),
        bad_code("奖惩类型", ("联合惩戒", "联合激励")),
        bad_date("实施日期"),
    ],
    "objection": [
        blank("信息来源单位"),
        bad_code("信息类别", ("失信名单", "行政强制")),
        bad_code("是否有效异议", ("有效", "无效")),
        bad_date("受理日期"),
        before("办结日期", "受理日期"),
    ],
    "repair": [
        blank("主体名称", "关联文书号"),
        bad_uscc("统一社会信用代码"),
        bad_code("修复信息类型", ("行政许可", "失信被执行人")),
        bad_code("结果", ("已修复", "通过")),
        bad_date("申请日期"),
        before("办结日期", "申请日期"),
    ],
    "activity": [
        blank("活动名称", "组织单位"),
        bad_code("活动形式", ("讲座", "培训", "座谈会")),
        bad_value("参与人数", ("约200人", "若干", "二百")),
        numeric("参与人数", _negative("参与人数")),
        ("outside_month", _outside_month),
    ],
    "city_stats": [
        bad_code("指标", ("户籍人口（万人）", "GDP")),
        numeric("数值", lambda row, r: (row.update({"数值": r.choice((0.0, -1.0))}), ["out_of_range:数值"])[1]),
        bad_value("数值", BAD_NUMBERS),
    ],
    "service_item": [
        blank("事项名称", "实施单位"),
        ("inconsistent", _service_inconsistent),
        bad_code("是否法定可承诺", ("可以", "Y"), when=_is("是否实行信用承诺", "否")),
        bad_code("是否实行信用承诺", ("部分", "N")),
    ],
    "credit_event": [
        bad_code("领域", ("经济诚信", "金融诚信")),
        bad_code("性质", ("一般失信", "中性")),
        bad_code("是否主动处理", ("已处理", "未处理")),
        bad_date("事件日期"),
    ],
    "self_report": [
        blank("填报值"),
        bad_code("指标编号", ("I03", "I40", "I-01")),  # I03 is computed from data, not self-reported
    ],
}
for _bill in ("water_bill", "power_bill", "gas_bill"):
    INJECTORS[_bill] = INJECTORS["bill"]


def inject(feed: str, row: dict, env: Env, prohibited_only: bool = False) -> tuple[str, list[str]] | None:
    """Break one rule of `row` in place; returns (defect kind, expected reasons) or None."""
    table = INJECTORS.get(feed, [])
    choices = [(k, f) for k, f in table if (k == "prohibited_category") == prohibited_only]
    env.r.shuffle(choices)
    for kind, fn in choices[:6]:
        reasons = fn(row, env)
        if reasons:
            return kind, reasons
    return None


def has_prohibited(feed: str) -> bool:
    return any(k == "prohibited_category" for k, _ in INJECTORS.get(feed, []))


class Manifest:
    """Everything injected, in the order it was written (<inbox>/manifest.json).

    Paths are relative to the inbox; row_no is the 1-based data record (header excluded; JSON: array
    index; xlsx: data row). Sections:
      deliveries     every file: month, unit, feed, file, format, encoding, delivered, rows, late
                     (None unless the feed is due by the 25th), rows_over_7_workdays (license/penalty),
                     redelivery_of / expected_rejection where they apply
      row_defects    month, unit, feed, file, row_no, kind, expected_reasons (codes of the engine)
      file_defects   month, unit, feed (None for an unknown feed), file, expected_rejection
      redeliveries   month, unit, feed, file, redelivery_of (byte-identical earlier file)
      corrections    month, unit, feed, key, original {file, row_no} (quarantined), correction {file, row_no}
      state_updates  month, unit, feed, kind, key, file, row_no (+ of_unit for joint_case feedback)
      findings       accepted rows that indicators must notice: registry 重码 (kind uscc_duplicate)
      summary        month → unit → feed → kind → count, over all of the above
    """

    def __init__(self, seed: int, scale: str, months: list[str], rates: Rates):
        self.data = {
            "generator": "jn_credit_dagster.generate", "version": 1, "seed": seed, "scale": scale,
            "months": months, "rates": rates.as_dict(),
            "deliveries": [], "row_defects": [], "file_defects": [], "redeliveries": [], "corrections": [],
            "state_updates": [], "findings": [], "summary": {},
        }

    def count(self, month, unit, feed, kind, n=1):
        s = self.data["summary"].setdefault(month, {}).setdefault(unit, {}).setdefault(feed, {})
        s[kind] = s.get(kind, 0) + n

    def merge(self, part: dict):
        """Append another manifest's entries (a month generated elsewhere)."""
        for key, value in part.items():
            if isinstance(value, list) and key != "months":
                self.data[key].extend(value)
        for month, units in part["summary"].items():
            for unit, feeds in units.items():
                for feed, kinds in feeds.items():
                    for kind, n in kinds.items():
                        self.count(month, unit, feed, kind, n)

    def add(self, section: str, entry: dict, kind: str | None = None):
        self.data[section].append(entry)
        if kind:
            self.count(entry["month"], entry["unit"], entry["feed"], kind)
