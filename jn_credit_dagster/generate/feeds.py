"""Per-feed row builders: which deliveries a unit makes in a month, and the rows each carries.

A builder returns Batches whose rows are generators of (row, meta): rows are dicts keyed by the
FEEDS.md column names; meta (or None) marks state updates, findings and rows that must stay clean.
State feeds follow records born in cohorts (feed, unit, month); a record is a pure function of its
cohort, so any later month can recompute it to deliver its update.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from . import names as N
from .months import (add_months, add_workdays, first_day, is_workday, last_day, month_index, month_str,
                       workday_on_or_after)
from .context import Ctx, authority, doc_abbr, unit_district
from .deliveries import Batch, batch_dates, date_in
from .identities import KIND_NO, KINDS, break_uscc, person
from .seeding import Bits, bits, rng, unit_float
from .spec import ACTIVITY_UNITS, ALL_UNITS, BLACKLIST_OWNERS, SELF_REPORT, UNIT_NAME

NO_END = dt.date(2099, 12, 31)


def _subject_row(ctx: Ctx, r: random.Random, ym, district, org_share, ind_share, day: dt.date) -> dict:
    """The 行政相对人 columns shared by license and penalty."""
    x = r.random()
    b = ctx.bits(r)
    if x < org_share:
        kind = r.choices(("91", "93", "12", "52", "51"), (85, 5, 4, 4, 2))[0]
        s = ctx.pop.pick(b, ym, kind, district)
        return {"行政相对人名称": s.name, "行政相对人类别": "法人及非法人组织", "统一社会信用代码": s.uscc,
                "法定代表人": s.rep, "证件类型": None, "证件号码": None, "_subject": s}
    if x < org_share + ind_share:
        s = ctx.pop.pick(b, ym, "92", district)
        return {"行政相对人名称": s.name, "行政相对人类别": "个体工商户", "统一社会信用代码": s.uscc,
                "法定代表人": s.rep, "证件类型": None, "证件号码": None, "_subject": s}
    name, idno = person(ctx.seed, ("rel", r.getrandbits(48)), district or "370811", day)
    kind = r.choices(("身份证", "护照号", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证", "其他-军官证"),
                     (95, 1, 1, 1, 1, 1))[0]
    if kind != "身份证":
        idno = {"护照号": f"E{r.randrange(10**8):08d}", "港澳居民来往内地通行证": f"H{r.randrange(10**8):08d}",
                "台湾居民来往大陆通行证": f"{r.randrange(10**8):08d}",
                "外国人永久居留身份证": f"USA{r.randrange(10**12):012d}"}.get(kind, f"军字第{r.randrange(10**7):07d}号")
    return {"行政相对人名称": name, "行政相对人类别": "自然人", "统一社会信用代码": None, "法定代表人": None,
            "证件类型": kind, "证件号码": idno}


def _decision_date(r: random.Random, delivered: dt.date) -> dt.date:
    # most within 7 working days of the decision (I04); some 8 and more
    back = r.choices((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15), (4, 10, 12, 12, 10, 9, 8, 7, 4, 3, 2, 1))[0]
    return add_workdays(delivered, -back) if back else (delivered if is_workday(delivered) else add_workdays(delivered, -1))


def _remark(r: random.Random) -> str | None:
    x = r.random()
    if x < 0.85:
        return None
    if x < 0.93:
        return "已公示,信用中国（山东济宁）同步"
    if x < 0.97:
        return '当事人已于当日签收,"一次告知"'
    return "第一行说明\n第二行说明"


# ---------------------------------------------------------------- 双公示

LICENSE_CITY = {"approval": 9000, "amr": 3000, "transport": 1500, "health": 1100, "culture": 450, "emergency": 200,
                "commerce": 250, "civil": 180, "hrss": 200, "justice": 120, "police": 400, "energy": 80}
PENALTY_CITY = {"amr": 700, "tax": 1600, "transport": 650, "emergency": 120, "health": 200, "culture": 60,
                "hrss": 50, "police": 500, "energy": 30, "civil": 20}
AREA_LICENSE, AREA_PENALTY = 650, 160  # per county unit and month (zones a third of it)


def _volume(unit, table, area):
    if unit in table:
        return table[unit]
    return area / 3 if unit in N.ZONE_UNITS else area * {"370811": 1.6, "370883": 1.4}.get(unit, 1.0)


def _batches(ctx: Ctx, r: random.Random, ym, total: int) -> list[dt.date]:
    n = 1 if total < 40 else min(4, 1 + total // 400) if ctx.scale == "city" else r.choice((1, 1, 2, 3))
    if r.random() < ctx.rates.extra_delivery:
        n += 1
    return batch_dates(r, ym, n, ctx.rates.late_delivery)


def build_shuanggongshi(ctx: Ctx, unit: str, ym, r: random.Random, feed: str) -> list[Batch]:
    total = ctx.count(r, _volume(unit, LICENSE_CITY if feed == "license" else PENALTY_CITY,
                                 AREA_LICENSE if feed == "license" else AREA_PENALTY), floor=2)
    if total == 0:
        return []
    dates = _batches(ctx, r, ym, total)
    district = unit_district(unit)
    per = [total // len(dates) + (i < total % len(dates)) for i in range(len(dates))]
    out, seq0 = [], 0
    for i, (day, n) in enumerate(zip(dates, per)):
        maker = _license_rows if feed == "license" else _penalty_rows
        out.append(Batch(day, maker(ctx, unit, ym, day, n, seq0, district, i), n))
        seq0 += n
    return out


def _license_rows(ctx, unit, ym, day, n, seq0, district, batch_no):
    def rows():
        r = rng(ctx.seed, "license", unit, ym, batch_no)
        synonyms = r.random() < ctx.rates.synonym_2019
        dept = 0
        for k in range(n):
            if unit.isdigit() or unit in N.ZONE_UNITS:
                dept = r.choice((0, 0, 0, 1, 5))
            auth, auth_code = authority(unit, dept)
            decided = _decision_date(r, day)
            row = _subject_row(ctx, r, ym, district, 0.55, 0.30, decided)
            row.pop("_subject", None)
            cert, docname, category, content = r.choice(N.LICENSE_KINDS)
            seq = seq0 + k + 1
            ends = NO_END if category == "登记" else decided + dt.timedelta(days=365 * r.choice((1, 3, 5)) - 1)
            valid = "有效" if r.random() < 0.96 else "无效"
            row.update({
                "行政许可决定文书名称": f"{docname}决定书", "行政许可决定文书号": f"{doc_abbr(unit, dept)}许字〔{ym[0]}〕第{ym[1]:02d}{seq:05d}号",
                "许可类别": category, "许可证书名称": cert or None,
                "许可编号": f"{'JY' if '食品' in cert else 'XK'}{(district or '370800')}{ym[0] % 100:02d}{seq:07d}" if cert else None,
                "许可内容": content, "许可决定日期": decided, "有效期自": decided, "有效期至": ends,
                "许可机关": auth, "许可机关统一社会信用代码": auth_code,
                "当前状态": ({"有效": "1", "无效": "2"}[valid] if synonyms else valid),
                "数据来源单位": auth, "数据来源单位统一社会信用代码": auth_code, "备注": _remark(r)})
            yield row, None
    return rows


_SYN_2019 = {"没收违法所得;没收非法财物": "没收违法所得、没收非法财物", "暂扣许可证件;吊销许可证件": "暂扣或者吊销许可证、暂扣或者吊销执照"}


def _penalty_rows(ctx, unit, ym, day, n, seq0, district, batch_no):
    def rows():
        r = rng(ctx.seed, "penalty", unit, ym, batch_no)
        synonyms = r.random() < ctx.rates.synonym_2019
        sep = "；" if r.random() < 0.2 else ";"
        dept = 0
        for k in range(n):
            if unit.isdigit() or unit in N.ZONE_UNITS:
                dept = r.choice((1, 1, 2, 3, 4, 5))
            auth, auth_code = authority(unit, dept)
            decided = _decision_date(r, day)
            act, basis, cats = r.choice(N.VIOLATIONS)
            person_only = "行政拘留" in cats
            row = _subject_row(ctx, r, ym, district, 0 if person_only else 0.45, 0 if person_only else 0.35, decided)
            row.pop("_subject", None)
            if synonyms and cats in _SYN_2019:
                cats = _SYN_2019[cats]
            fine = None
            if "罚款" in cats:
                fine = round(r.choice((0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)) * (1 + r.randrange(4)), 4)
            confiscated = round(r.uniform(0.01, 5), 4) if "没收" in cats else None
            seq = seq0 + k + 1
            fact = f"经查，当事人于{decided - dt.timedelta(days=r.randint(10, 60)):%Y年%m月%d日}{act}"
            if r.random() < 0.1:
                fact += ',涉案货值"约3000元",已责令改正'
            if r.random() < 0.03:
                fact += "\n（现场检查笔录附后）"
            content = "、".join(filter(None, (f"罚款{fine * 10000:.0f}元" if fine else "", "警告" if "警告" in cats else "",
                                              "没收违法所得" if "没收" in cats else ""))) or cats
            row.update({
                "行政处罚决定书文号": f"{doc_abbr(unit, dept)}罚字〔{ym[0]}〕第{ym[1]:02d}{seq:05d}号",
                "违法行为类型": act, "违法事实": fact, "处罚依据": basis, "处罚类别": cats.replace(";", sep),
                "处罚内容": content, "罚款金额（万元）": fine, "没收违法所得、没收非法财物的金额（万元）": confiscated,
                "暂扣或吊销证照名称及编号": "食品经营许可证JY13708110012345" if "吊销" in cats else None,
                "处罚决定日期": decided, "处罚有效期": decided + dt.timedelta(days=365 * r.choice((1, 3))),
                "公示截止期": decided + dt.timedelta(days=r.choice((90, 365, 1095))) if r.random() < 0.7 else None,
                "处罚机关": auth, "处罚机关统一社会信用代码": auth_code, "数据来源单位": auth,
                "数据来源单位统一社会信用代码": auth_code, "备注": _remark(r)})
            yield row, None
    return rows


# ---------------------------------------------------------------- registry

REGISTRY_MEMORY_MONTHS = 36  # ended subjects stay in the extract this long


def build_registry(ctx: Ctx, unit: str, ym, r: random.Random) -> list[Batch]:
    day, _ = ctx.plan_date(unit, "registry", ym)
    cut = min(day, last_day(ym))
    prev = add_months(ym, -1)
    prev_cut = min(ctx.plan_date(unit, "registry", prev)[0], last_day(prev))
    horizon = first_day(add_months(ym, -REGISTRY_MEMORY_MONTHS))
    expected = sum(ctx.pop.count(k, ym) for k in KINDS)

    def rows():
        rr = rng(ctx.seed, "registry-rows", ym)
        for kind in KINDS:
            for j in range(ctx.pop.count(kind, ym)):
                s = ctx.pop.subject(kind, j)
                if s.established > cut or (s.ended and s.ended < horizon):
                    continue
                status = s.status_on(cut)
                row = {"统一社会信用代码": s.uscc, "主体名称": s.name, "主体类型": s.type_label, "法定代表人": s.rep,
                       "成立日期": s.established, "登记状态": status,
                       "注销日期": s.ended if status != "存续" else None, "所属区县": s.district}
                meta = None
                if status != "存续" and s.ended > prev_cut and not ctx.is_first(ym):
                    kind_name = {"注销": "registration_cancelled", "吊销": "registration_revoked", "迁出": "registration_moved_out"}[status]
                    meta = {"state_update": kind_name, "key": {"统一社会信用代码": s.uscc}, "clean": True}
                yield row, meta
                if rr.random() < ctx.rates.uscc_duplicate:
                    twin = dict(row)
                    other = ctx.pop.subject(kind, (j * 7 + 13) % ctx.pop.count(kind, ym))
                    twin["主体名称"], twin["法定代表人"] = other.name, other.rep
                    if twin["主体名称"] != row["主体名称"]:
                        yield twin, {"finding": "uscc_duplicate", "clean": True}
    return [Batch(day, rows, expected)]


# ---------------------------------------------------------------- bills

BILL_SHARE = {  # utility → subject kind → share of subjects holding an account
    "water_bill": {"91": 0.45, "92": 0.18, "93": 0.2, "11": 0.8, "12": 0.8, "51": 0.3, "52": 0.5, "N2": 0.5},
    "power_bill": {"91": 0.75, "92": 0.30, "93": 0.5, "11": 0.9, "12": 0.9, "51": 0.4, "52": 0.6, "N2": 0.7},
    "gas_bill": {"91": 0.20, "92": 0.07, "11": 0.4, "12": 0.5, "52": 0.3},
}
HOUSEHOLD_ACCOUNTS = {"water_bill": 20_000, "power_bill": 40_000, "gas_bill": 10_000}  # accounts with no USCC
BILL_SCALE = {"water_bill": (60, 20_000), "power_bill": (150, 400_000), "gas_bill": (60, 50_000)}  # 元, log-uniform
ACCOUNT_PREFIX = {"water_bill": "SW", "power_bill": "3708", "gas_bill": "RQ"}


def _in_arrears(seed, feed, acct, ym) -> bool:
    return unit_float(seed, "arrears", feed, acct, ym) < 0.035


def _bill_row(ctx: Ctx, feed: str, ym, acct: str, name: str, uscc: str | None, size: float, big: bool) -> dict:
    b = Bits(bits(ctx.seed, "bill", feed, acct, ym))
    due = round(size * (0.75 + 0.5 * b.unit()), 2)
    if _in_arrears(ctx.seed, feed, acct, ym):
        paid = 0.0 if b.chance(0.6) else round(due * b.unit() * 0.9, 2)
        months = 1
        back = add_months(ym, -1)
        while months < 24 and _in_arrears(ctx.seed, feed, acct, back):
            months += 1
            back = add_months(back, -1)
    else:
        paid = round(due + (round(size * b.unit(), 2) if b.chance(0.04) else 0.0), 2)  # some prepay
        months = 0
    owed = round(max(due - paid, 0.0), 2)
    return {"户号": acct, "户名": name, "统一社会信用代码": uscc, "账期": month_str(ym), "应缴金额（元）": due,
            "实缴金额（元）": paid, "欠费金额（元）": owed, "连续欠费月数": months}


def build_bill(ctx: Ctx, unit: str, ym, r: random.Random, feed: str) -> list[Batch]:
    day, _ = ctx.plan_date(unit, feed, ym)
    shares = BILL_SHARE[feed]
    households = max(3, round(HOUSEHOLD_ACCOUNTS[feed] * ctx.factor))
    expected = households + int(sum(ctx.pop.count(k, ym) * s for k, s in shares.items()) * 0.9)
    lo, hi = BILL_SCALE[feed]
    end = last_day(ym)
    split = r.random() < ctx.rates.extra_delivery  # a second file for part of the accounts
    days = [day]
    if split:
        days.append(workday_on_or_after(day + dt.timedelta(days=r.randint(1, 6))))

    def rows_for(part):
        def rows():
            for kind, share in shares.items():
                for j in range(ctx.pop.count(kind, ym)):
                    u = unit_float(ctx.seed, feed, kind, j)
                    if u >= share or (split and (j % 2) != part):
                        continue
                    s = ctx.pop.subject(kind, j)
                    if s.established > first_day(ym) or (s.ended and s.ended <= end):
                        continue
                    big = kind in ("91", "11", "12")
                    size = math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * (u / share) ** (3 if big else 8))
                    acct = f"{ACCOUNT_PREFIX[feed]}{KIND_NO[kind]:02d}{j:07d}"
                    yield _bill_row(ctx, feed, ym, acct, s.name, s.uscc, size, big), None
            for h in range(households):
                if split and h % 2 != part:
                    continue
                name, _ = person(ctx.seed, ("household", h), N.DISTRICT_CODES[h % 11], end)
                acct = f"{ACCOUNT_PREFIX[feed]}99{h:07d}"
                yield _bill_row(ctx, feed, ym, acct, name, None, lo * 0.5 + (h % 7) * 10, False), None
        return rows
    return [Batch(d, rows_for(i), expected // len(days)) for i, d in enumerate(days)]


# ---------------------------------------------------------------- other event feeds

def _simple_event(ctx, unit, ym, r, feed, city, floor, make_row):
    n = ctx.count(r, city, floor)
    if n == 0:
        return []
    days = [ctx.plan_date(unit, feed, ym)[0]]
    if n > 3 and r.random() < ctx.rates.extra_delivery:
        days.append(workday_on_or_after(days[0] + dt.timedelta(days=r.randint(0, 9))))
    per = [n // len(days) + (i < n % len(days)) for i in range(len(days))]
    out, seq0 = [], 0
    for i, (day, k) in enumerate(zip(days, per)):
        def rows(day=day, k=k, seq0=seq0, i=i):
            rr = rng(ctx.seed, feed, unit, ym, "rows", i)
            for q in range(k):
                yield make_row(rr, day, seq0 + q + 1), None
        out.append(Batch(day, rows, k))
        seq0 += k
    return out


def build_logistics(ctx, unit, ym, r):
    kinds = ("仓储", "货代", "快递", "多式联运") if unit == "commerce" else ("运输", "运输", "运输", "多式联运", "快递")

    def make(rr, day, seq):
        s = ctx.pop.pick(ctx.bits(rr), ym, "91")
        kind = rr.choice(kinds)
        rec = rr.choices(("资质", "合同履约", "违约", "投诉", "表彰"), (40, 40, 8, 7, 5))[0]
        text = {"资质": f"取得{kind}经营资质", "合同履约": f"{kind}合同按期履约", "违约": "未按合同约定时间交付货物",
                "投诉": "客户投诉货物破损,已协商赔付", "表彰": "获评年度诚信物流企业"}[rec]
        amount = round(rr.uniform(500, 2_000_000), 2) if rr.random() < 0.6 else None
        return {"统一社会信用代码": s.uscc, "企业名称": s.name, "业务类型": kind, "记录类型": rec,
                "记录日期": date_in(rr, ym, day), "记录内容": text, "涉及金额（元）": amount}
    return _simple_event(ctx, unit, ym, r, "logistics", 800 if unit == "commerce" else 2500, 3, make)


LOAN_CITY = {"cbirc": 1500, "pboc": 300, "finance": 120}


def build_xyd_loan(ctx, unit, ym, r):
    def make(rr, day, seq):
        kind = "91" if rr.random() < 0.8 else "92"
        s = ctx.pop.pick(ctx.bits(rr), ym, kind)
        bank = rr.choice(N.BANKS)
        lent = date_in(rr, ym, day)
        amount = round(math.exp(rr.uniform(math.log(10), math.log(5000))) if kind == "91" else rr.uniform(5, 100), 2)
        return {"贷款编号": f"{ym[0]}{ym[1]:02d}{ALL_UNITS.index(unit):02d}{seq:06d}", "统一社会信用代码": s.uscc,
                "企业名称": s.name, "金融机构": bank,
                "贷款产品": (rr.choice(N.LOAN_PRODUCTS) if kind == "91" else rr.choice(("个体工商户经营贷", "信易贷", ""))) or None,
                "放款金额（万元）": amount, "放款日期": lent,
                "到期日期": lent + dt.timedelta(days=30 * rr.choice((6, 12, 12, 24, 36))),
                "放款渠道": rr.choices(("全国信易贷平台", "地方信易贷平台", "线下"), (35, 35, 30))[0],
                "是否信用贷款": "是" if rr.random() < 0.6 else "否"}
    return _simple_event(ctx, unit, ym, r, "xyd_loan", LOAN_CITY[unit], 3, make)


COMMITMENT_TYPES = {"approval": ("审批替代型", "证明事项型"), "amr": ("主动承诺型", "行业自律型", "信用修复型"),
                    "justice": ("证明事项型",), "civil": ("主动承诺型", "信用修复型")}
COMMITMENT_CITY = {"approval": 3000, "amr": 1500, "justice": 200, "civil": 100}


def build_commitment(ctx, unit, ym, r):
    district = unit_district(unit)
    types = COMMITMENT_TYPES.get(unit, ("审批替代型", "主动承诺型", "证明事项型"))

    def make(rr, day, seq):
        s = ctx.pop.pick(ctx.bits(rr), ym, rr.choice(("91", "91", "92")), district)
        return {"承诺编号": f"CN{ALL_UNITS.index(unit):02d}{ym[0]}{ym[1]:02d}{seq:06d}", "统一社会信用代码": s.uscc,
                "主体名称": s.name, "承诺类型": rr.choice(types), "承诺事项": rr.choice(N.COMMITMENT_ITEMS),
                "承诺日期": date_in(rr, ym, day), "受理单位": authority(unit)[0]}
    return _simple_event(ctx, unit, ym, r, "commitment", COMMITMENT_CITY.get(unit, 200), 2, make)


ACTIVITY_THEMES = ("“诚信建设万里行”{form}宣传活动", "6·14信用记录关爱日主题宣传", "诚信兴商宣传月活动", "“信用济宁”{form}专题讲座",
                   "典型失信案例发布会", "信用修复政策解读会", "诚信文化{form}志愿服务")


def build_activity(ctx, unit, ym, r):
    def make(rr, day, seq):
        form = rr.choice(("进校园", "进企业", "进社区", "进村镇", "案例发布", "政策解读", "信用日", "其他"))
        return {"活动名称": rr.choice(ACTIVITY_THEMES).format(form=form), "活动日期": date_in(rr, ym, day, workday=False),
                "活动形式": form, "参与人数": rr.randint(20, 2000) if rr.random() < 0.9 else None,
                "组织单位": UNIT_NAME[unit]}
    n_city = 4 if ctx.scale == "city" else 1.2
    return _simple_event(ctx, unit, ym, r, "activity", n_city / ctx.factor, 0, make)


# ---------------------------------------------------------------- state feeds: cohorts

def _state_batch(ctx, unit, feed, ym, lookback, cohort, state_row, monthly_city=0.0):
    """Rows of a state feed for month ym: new records, records updated in ym, and (first month) history.

    cohort(born_ym) -> list of records; state_row(rec, ym, day) -> (row, update_kind | None, changed).
    """
    day, _ = ctx.plan_date(unit, feed, ym)
    first = ctx.is_first(ym)

    def rows():
        for back in range(lookback, -1, -1):
            born = add_months(ym, -back)
            for rec in cohort(born):
                row, update, changed = state_row(rec, ym, day)
                if row is None:
                    continue
                if back == 0 or changed or first:
                    meta = None
                    if update and changed and not first and back > 0:
                        meta = {"state_update": update, "key": {k: _plain(row[k]) for k in rec["_key"]}, "clean": True}
                    yield row, meta
    per_month = monthly_city * ctx.factor
    return [Batch(day, rows, int(per_month * (lookback if first else 2)))]


def _plain(v):
    return v.isoformat() if isinstance(v, dt.date) else v


def _exit_month(u: float, hazard: float) -> int:
    """Months (≥1) until a record changes state, by a monthly hazard (u uniform in [0, 1))."""
    return math.floor(math.log(1 - u) / math.log(1 - hazard)) + 1


BLACKLIST_CITY = {"01": 450, "09": 20, "02": 8, "03": 3, "04": 2, "05": 1, "06": 0.5, "07": 3, "08": 6, "10": 0.3,
                  "11": 2, "12": 1.5, "13": 0.5, "14": 6}


def _blacklist_cohort(ctx, unit, list_type, born):
    r = rng(ctx.seed, "blacklist-cohort", unit, list_type, born)
    n = ctx.count(r, BLACKLIST_CITY[list_type] * (0.6 if list_type == "08" and unit == "fgw" else 1), floor=0.3)
    out = []
    born_day = ctx.plan_date(unit, "blacklist", born)[0]
    for k in range(n):
        people = {"01": 0.55, "09": 0.5, "07": 0.5, "11": 0.3}.get(list_type, 0.0)
        x = r.random()
        listed = date_in(r, born, born_day)
        if x < people:
            name, idno = person(ctx.seed, ("blacklist", unit, list_type, born, k), r.choice(N.DISTRICT_CODES[:11]), listed)
            rec = {"主体名称": name, "主体类别": "自然人", "统一社会信用代码": None, "证件号码": idno}
        else:
            kind = "92" if x > 0.93 else ("51" if list_type == "13" else "91")
            s = ctx.pop.pick(ctx.bits(r), born, kind)
            rec = {"主体名称": s.name, "主体类别": "个体工商户" if kind == "92" else "法人及非法人组织",
                   "统一社会信用代码": s.uscc, "证件号码": None}
        rec.update({"名单类型": list_type, "列入日期": listed, "列入机关": UNIT_NAME[unit] if unit != "court" else r.choice(
            ("济宁市中级人民法院", "任城区人民法院", "邹城市人民法院", "曲阜市人民法院", "嘉祥县人民法院", "梁山县人民法院")),
            "列入事由": N.BLACKLIST_REASONS[list_type], "列入依据": f"《{N.LIST_TYPE_NAME[list_type]}管理办法》" if r.random() < 0.7 else None,
            "_exit": month_index(born) + _exit_month(r.random(), 0.05 if list_type in ("01", "09") else 0.025),
            "_exit_u": r.random(), "_key": ("名单类型", "统一社会信用代码" if rec["统一社会信用代码"] else "证件号码", "列入日期")})
        out.append(rec)
    return out


def build_blacklist(ctx, unit, ym, r):
    types = [t for t, owners in BLACKLIST_OWNERS.items() if unit in owners]
    def cohort(born):
        return [rec for t in types for rec in _blacklist_cohort(ctx, unit, t, born)]

    def state_row(rec, ym_, day):
        exit_idx = rec["_exit"]
        row = {k: v for k, v in rec.items() if not k.startswith("_")}
        row["移出日期"] = row["移出事由"] = None
        now = month_index(ym_)
        if exit_idx < now:  # off the list before this month
            return None, None, False
        if exit_idx == now:
            lo = max(first_day(ym_), rec["列入日期"])
            hi = min(last_day(ym_), day)
            row["移出日期"] = lo + dt.timedelta(days=int(rec["_exit_u"] * max(0, (hi - lo).days)))
            row["移出事由"] = "已履行生效法律文书确定的义务" if rec["名单类型"] in ("01", "09") else "信用修复,期满移出"
            return row, "blacklist_exit", month_index((rec["列入日期"].year, rec["列入日期"].month)) < now
        return row, None, False
    batches = _state_batch(ctx, unit, "blacklist", ym, 24, cohort, state_row, 500 if unit == "court" else 10)
    return batches


def _cohort_records(ctx, feed, unit, born, city, floor, make):
    r = rng(ctx.seed, feed + "-cohort", unit, born)
    day = ctx.plan_date(unit, feed, born)[0]
    return [make(r, born, day, k) for k in range(ctx.count(r, city, floor))]


def _later_date(ym, day, u):
    lo, hi = first_day(ym), min(last_day(ym), day)
    return lo + dt.timedelta(days=int(u * max(0, (hi - lo).days)))


def build_uscc_issue(ctx, unit, ym, r):
    def make(rr, born, day, k):
        s = ctx.pop.pick(ctx.bits(rr), born, rr.choice(("91", "92", "92")))
        dup = rr.random() < 0.3
        code = s.uscc if dup else break_uscc(s.uscc, ctx.bits(rr))  # as issued: 错码 codes are invalid by nature
        return {"问题编号": f"CW{born[0]}{born[1]:02d}{k:04d}", "统一社会信用代码": code, "主体名称": s.name,
                "问题类型": "重码" if dup else "错码", "下发日期": date_in(rr, born, day), "_fixed_code": s.uscc,
                "_fix": month_index(born) + rr.choice((1, 1, 2, 3, 99)), "_u": rr.random(), "_key": ("问题编号",)}

    def state_row(rec, ym_, day):
        row = {k: v for k, v in rec.items() if not k.startswith("_")}
        now = month_index(ym_)
        row.update({"纠正状态": "未纠正", "纠正日期": None, "纠正后代码": None})
        if rec["_fix"] <= now:
            fix_ym = divmod(rec["_fix"], 12)
            fix_ym = (fix_ym[0], fix_ym[1] + 1)
            row.update({"纠正状态": "已纠正", "纠正日期": _later_date(fix_ym, ctx.plan_date(unit, "uscc_issue", fix_ym)[0], rec["_u"]),
                        "纠正后代码": rec["_fixed_code"] if rec["问题类型"] == "错码" else None})
        return row, "uscc_issue_corrected", rec["_fix"] == now
    return _state_batch(ctx, unit, "uscc_issue", ym, 6,
                        lambda born: _cohort_records(ctx, "uscc_issue", unit, born, 120, 1.0, make), state_row)


def build_xyd_registration(ctx, unit, ym, r):
    platform = "全国信易贷平台" if unit == "fgw" else "济宁市金融信用服务平台"

    def make(rr, born, day, k):
        s = ctx.pop.pick(ctx.bits(rr), born, "91" if rr.random() < 0.9 else "93")
        return {"统一社会信用代码": s.uscc, "企业名称": s.name, "注册平台": platform, "注册日期": date_in(rr, born, day),
                "_end": month_index(born) + _exit_month(rr.random(), 0.01), "_key": ("统一社会信用代码", "注册平台")}

    def state_row(rec, ym_, day):
        now = month_index(ym_)
        row = {k: v for k, v in rec.items() if not k.startswith("_")}
        row["状态"] = "注销" if rec["_end"] <= now else "正常"
        if rec["_end"] < now and not ctx.is_first(ym_):
            return None, None, False
        return row, "xyd_registration_cancelled", rec["_end"] == now
    return _state_batch(ctx, unit, "xyd_registration", ym, 24,
                        lambda born: _cohort_records(ctx, "xyd_registration", unit, born,
                                                     1800 if unit == "fgw" else 1200, 2, make), state_row, 1800)


def build_arrears(ctx, unit, ym, r):
    def make(rr, born, day, k):
        s = ctx.pop.pick(ctx.bits(rr), born, "91")
        debtor_kind = rr.choice(("政府部门", "国有企业"))
        debtor = (f"{rr.choice(('济宁市', '邹城市', '曲阜市', '任城区', '嘉祥县'))}{rr.choice(N.DEPARTMENTS)}" if debtor_kind == "政府部门"
                  else f"济宁{rr.choice(('城投', '交投', '能源', '水务', '公用事业'))}{rr.choice(('控股集团有限公司', '发展有限公司'))}")
        return {"台账编号": f"QQ{born[0]}{born[1]:02d}{k:03d}", "债务方名称": debtor, "债务方类型": debtor_kind,
                "债权企业名称": s.name, "债权企业统一社会信用代码": s.uscc, "欠款金额（万元）": round(rr.uniform(20, 3000), 2),
                "认定日期": date_in(rr, born, day), "_born": born, "_key": ("台账编号",)}

    def repaid(rec, upto):
        total, m = 0.0, rec["_born"]
        while month_index(m) <= upto:
            b = Bits(bits(ctx.seed, "arrears-pay", rec["台账编号"], m))
            if month_index(m) > month_index(rec["_born"]) and b.chance(0.35):
                total += rec["欠款金额（万元）"] * (0.1 + 0.5 * b.unit())
            m = add_months(m, 1)
        return round(min(total, rec["欠款金额（万元）"]), 2)

    def state_row(rec, ym_, day):
        now = month_index(ym_)
        paid, before = repaid(rec, now), repaid(rec, now - 1)
        if before >= rec["欠款金额（万元）"]:
            return None, None, False  # settled earlier: off the ledger
        row = {k: v for k, v in rec.items() if not k.startswith("_")}
        row["已清偿金额（万元）"] = paid
        row["截至日期"] = min(last_day(ym_), day)
        kind = "arrears_repaid" if paid >= rec["欠款金额（万元）"] else "arrears_payment"
        # the ledger (台账) is re-sent whole every month; only a payment is a state update
        return row, (kind if paid != before else None), True
    return _state_batch(ctx, unit, "arrears", ym, 36,
                        lambda born: _cohort_records(ctx, "arrears", unit, born, 6, 0.6, make), state_row)


def build_customs_aeo(ctx, unit, ym, r):
    def make(rr, born, day, k):
        s = ctx.pop.pick(ctx.bits(rr), born, "91")
        kind = rr.choices(("高级认证企业", "其他注册登记和备案企业", "失信企业"), (4, 94, 2))[0]
        return {"统一社会信用代码": s.uscc, "企业名称": s.name, "认证类型": kind, "认证日期": date_in(rr, born, day),
                "_end": month_index(born) + _exit_month(rr.random(), 0.01), "_key": ("统一社会信用代码",)}

    def state_row(rec, ym_, day):
        now = month_index(ym_)
        row = {k: v for k, v in rec.items() if not k.startswith("_")}
        row["状态"] = "撤销" if rec["_end"] <= now else "有效"
        if rec["_end"] < now and not ctx.is_first(ym_):
            return None, None, False
        return row, "aeo_revoked", rec["_end"] == now
    return _state_batch(ctx, unit, "customs_aeo", ym, 36,
                        lambda born: _cohort_records(ctx, "customs_aeo", unit, born, 12, 0.5, make), state_row)


MEMOS = {"失信惩戒": ("关于对失信被执行人实施联合惩戒的合作备忘录", "关于对重大税收违法失信主体实施联合惩戒的合作备忘录",
                  "关于对安全生产领域失信生产经营单位及其有关人员开展联合惩戒的合作备忘录"),
         "守信激励": ("关于对纳税信用A级纳税人实施联合激励措施的合作备忘录", "关于对海关高级认证企业实施联合激励的合作备忘录")}
MEASURES = {"失信惩戒": ("限制高消费", "限制参与政府采购", "限制取得政府供应土地", "从严审核行政许可"),
            "守信激励": ("行政审批绿色通道", "纳税服务优先办理", "融资授信便利")}
JOINT_CITY = {"fgw": 20, "court": 40, "tax": 20, "amr": 25}


def _joint_cases(ctx, unit, born):
    def make(rr, born_, day, k):
        kind = "失信惩戒" if rr.random() < 0.7 else "守信激励"
        s = ctx.pop.pick(ctx.bits(rr), born_, "91", unit_district(unit))
        case = {"案例编号": f"LHJC{ALL_UNITS.index(unit):02d}{born_[0]}{born_[1]:02d}{k:04d}", "奖惩类型": kind,
                "主体名称": s.name, "统一社会信用代码": s.uscc if rr.random() < 0.9 else None,
                "依据备忘录": rr.choice(MEMOS[kind]), "措施": rr.choice(MEASURES[kind]), "实施日期": date_in(rr, born_, day),
                "实施单位": UNIT_NAME[unit], "反馈国家平台日期": None}
        # fgw feeds back to the national platform: mostly by the 30th, some late, some never
        fb = rr.random()
        end = dt.date(born_[0], born_[1], min(30, last_day(born_).day))
        if fb < 0.75:
            case["_feedback"] = min(end, case["实施日期"] + dt.timedelta(days=rr.randint(1, 10)))
        elif fb < 0.92:
            case["_feedback"] = end + dt.timedelta(days=rr.randint(2, 20))
        return case
    return _cohort_records(ctx, "joint_case", unit, born, JOINT_CITY.get(unit, 8), 0.6, make)


def build_joint_case(ctx, unit, ym, r):
    day, _ = ctx.plan_date(unit, "joint_case", ym)
    if unit == "fgw":  # fgw reports after the 15th, when the other units' cases are in
        day = workday_on_or_after(max(day, dt.date(ym[0], ym[1], 15)))
    prev = add_months(ym, -1)

    def rows():
        for case in _joint_cases(ctx, unit, ym):
            row = {k: v for k, v in case.items() if not k.startswith("_")}
            if unit == "fgw" and case.get("_feedback") and case["_feedback"] <= day:
                row["反馈国家平台日期"] = case["_feedback"]
            yield row, None
        if unit == "fgw" and not ctx.is_first(ym):  # feedback rows for the other units' cases of last month
            for other in JOINT_CASE_UNITS_OTHER:
                for case in _joint_cases(ctx, other, prev):
                    if case.get("_feedback") and case["_feedback"] <= day:
                        row = {k: v for k, v in case.items() if not k.startswith("_")}
                        row["反馈国家平台日期"] = case["_feedback"]
                        yield row, {"state_update": "joint_case_feedback", "key": {"案例编号": row["案例编号"]},
                                    "clean": True, "of_unit": other}
    n = len(_joint_cases(ctx, unit, ym))
    if n == 0 and unit != "fgw":
        return []
    return [Batch(day, rows, n)]


JOINT_CASE_UNITS_OTHER = ("court", "tax", "amr", "370883", "370881", "370811")


def build_objection(ctx, unit, ym, r):
    def make(rr, born, day, k):
        accepted = date_in(rr, born, day)
        category = rr.choices(("行政许可", "行政处罚", "严重失信名单", "其他"), (20, 50, 20, 10))[0]
        s = ctx.pop.pick(ctx.bits(rr), born, "91")
        return {"异议编号": f"YY{born[0]}{born[1]:02d}{k:04d}", "信息类别": category,
                "信息文书号": f"济市监罚字〔{born[0]}〕第{rr.randint(1, 12):02d}{rr.randint(1, 9999):05d}号" if category == "行政处罚" else None,
                "统一社会信用代码": s.uscc if rr.random() < 0.9 else None, "受理日期": accepted,
                "是否有效异议": "是" if rr.random() < 0.3 else "否",
                "_close": accepted + dt.timedelta(days=rr.choice((3, 5, 8, 12, 20, 30, 45))),
                "处理结果": None, "信息来源单位": rr.choice(("amr", "tax", "court", "transport", "emergency", "370883")),
                "_key": ("异议编号",)}

    def state_row(rec, ym_, day):
        row = {k: v for k, v in rec.items() if not k.startswith("_")}
        closed = rec["_close"]
        row["办结日期"] = None
        cut = min(day, last_day(ym_))
        close_ym = (closed.year, closed.month)
        # a closure is delivered in the month it happens if it happened by the delivery date, else next month
        effective = closed if closed <= ctx.plan_date(unit, "objection", close_ym)[0] else None
        delivered_in = month_index(close_ym) if effective else month_index(close_ym) + 1
        now = month_index(ym_)
        if delivered_in <= now:
            row["办结日期"] = closed
            row["处理结果"] = "异议成立,已更正相关信息" if rec["是否有效异议"] == "是" else "异议不成立,维持原信息"
            if delivered_in < now and not ctx.is_first(ym_):
                return None, None, False
        return row, "objection_closed", delivered_in == now and delivered_in > month_index((rec["受理日期"].year, rec["受理日期"].month))
    return _state_batch(ctx, unit, "objection", ym, 12,
                        lambda born: _cohort_records(ctx, "objection", unit, born, 50, 1.0, make), state_row)


def build_repair(ctx, unit, ym, r):
    def make(rr, born, day, k):
        applied = date_in(rr, born, day)
        kind = "行政处罚" if rr.random() < 0.85 else "严重失信名单"
        s = ctx.pop.pick(ctx.bits(rr), born, "91")
        return {"修复编号": f"XF{born[0]}{born[1]:02d}{k:05d}", "统一社会信用代码": s.uscc, "主体名称": s.name,
                "修复信息类型": kind, "关联文书号": f"济市监罚字〔{born[0] - rr.randint(0, 2)}〕第{rr.randint(1, 9999):05d}号",
                "申请日期": applied, "_done": add_workdays(applied, rr.choice((1, 2, 3, 3, 4, 5, 5, 6, 8, 12))),
                "_ok": rr.random() < 0.88, "_key": ("修复编号",)}

    def state_row(rec, ym_, day):
        row = {k: v for k, v in rec.items() if not k.startswith("_")}
        done = rec["_done"]
        done_ym = (done.year, done.month)
        delivered_in = month_index(done_ym) + (0 if done <= ctx.plan_date(unit, "repair", done_ym)[0] else 1)
        now = month_index(ym_)
        row["办结日期"], row["结果"] = None, "办理中"
        if delivered_in <= now:
            row["办结日期"], row["结果"] = done, ("同意" if rec["_ok"] else "不同意")
            if delivered_in < now and not ctx.is_first(ym_):
                return None, None, False
        return row, "repair_decided", delivered_in == now and delivered_in > month_index((rec["申请日期"].year, rec["申请日期"].month))
    return _state_batch(ctx, unit, "repair", ym, 12,
                        lambda born: _cohort_records(ctx, "repair", unit, born, 120, 2.0, make), state_row)


def build_credit_event(ctx, unit, ym, r):
    def make(rr, born, day, k):
        happened = date_in(rr, born, day, workday=False)
        nature = rr.choices(("正面", "负面", "严重失信", "重大失信"), (40, 45, 10, 5))[0]
        active = "是" if rr.random() < 0.7 else "否"
        return {"事件编号": f"SJ{born[0]}{born[1]:02d}{k:04d}", "事件日期": happened,
                "领域": rr.choice(("政务诚信", "商务诚信", "社会诚信", "司法公信")), "性质": nature, "是否主动处理": active,
                "_handled": add_workdays(happened, rr.choice((1, 3, 5, 7, 9, 15))) if active == "是" else None,
                "相关单位": rr.choice(("emergency", "amr", "police", "finance", "370883", "tax")),
                "来源": rr.choice(("国家公共信用信息中心推送", "媒体报道", "12345热线", "信用中国（山东济宁）监测")),
                "_key": ("事件编号",)}

    def state_row(rec, ym_, day):
        row = {k: v for k, v in rec.items() if not k.startswith("_")}
        row["处理日期"] = None
        h = rec["_handled"]
        now = month_index(ym_)
        if h:
            h_ym = (h.year, h.month)
            delivered_in = month_index(h_ym) + (0 if h <= ctx.plan_date(unit, "credit_event", h_ym)[0] else 1)
            if delivered_in <= now:
                row["处理日期"] = h
                if delivered_in < now and not ctx.is_first(ym_):
                    return None, None, False
            return row, "credit_event_handled", delivered_in == now and delivered_in > month_index((rec["事件日期"].year, rec["事件日期"].month))
        if month_index((rec["事件日期"].year, rec["事件日期"].month)) < now and not ctx.is_first(ym_):
            return None, None, False
        return row, None, False
    return _state_batch(ctx, unit, "credit_event", ym, 12,
                        lambda born: _cohort_records(ctx, "credit_event", unit, born, 30, 1.0, make), state_row)


# ---------------------------------------------------------------- annual / slow feeds

GRADES = (("A", 8), ("B", 55), ("M", 25), ("C", 8), ("D", 4))


def build_tax_grade(ctx, unit, ym, r):
    # 纳税信用 of year Y−1 is published in April of Y; the first month of a run loads the latest year
    if ym[1] == 4:
        year = ym[0] - 1
    elif ctx.is_first(ym):
        year = ym[0] - 1 if ym[1] > 4 else ym[0] - 2
    else:
        return []
    day, _ = ctx.plan_date(unit, "tax_grade", ym)
    year_end = dt.date(year, 12, 31)
    kinds = ("91", "93")
    expected = int(sum(ctx.pop.count(k, (year, 12)) for k in kinds) * 0.7)

    def rows():
        grades, weights = zip(*GRADES)
        cum = [sum(weights[: i + 1]) / 100 for i in range(len(weights))]
        for kind in kinds:
            for j in range(ctx.pop.count(kind, (year, 12))):
                u = unit_float(ctx.seed, "tax-grade", kind, j, year)
                if u >= 0.75:
                    continue
                s = ctx.pop.subject(kind, j)
                if s.established > year_end or (s.ended and s.ended <= year_end):
                    continue
                g = next(gr for gr, c in zip(grades, cum) if u / 0.75 < c)
                yield {"统一社会信用代码": s.uscc, "纳税人名称": s.name, "评价年度": str(year), "信用级别": g}, None
    return [Batch(day, rows, expected)]


GDP = {2018: 4230.0, 2019: 4370.17, 2020: 4494.31}
GDP_QUARTER_SHARE = {2020: (0.205, 0.25, 0.255, 0.29)}
POPULATION = {2018: 834.6, 2019: 834.59, 2020: 835.79}


def _gdp(year):
    if year in GDP:
        return GDP[year]
    return round(GDP[2020] * (1.05 ** (year - 2020)), 2)


def _population(year):
    return POPULATION.get(year, round(835.79 - 0.4 * (year - 2020), 2))


def build_city_stats(ctx, unit, ym, r):
    day, _ = ctx.plan_date(unit, "city_stats", ym)
    rows_ = []
    y, m = ym
    quarters = []
    if ctx.is_first(ym):
        rows_.append(("常住人口（万人）", str(y - 1), _population(y - 1)))
        quarters += [(y - 1, q) for q in range(1, 5)] + [(y, q) for q in range(1, (m - 1) // 3 + 1)]
    else:
        if m == 2:
            rows_.append(("常住人口（万人）", str(y - 1), _population(y - 1)))
        if m in (1, 4, 7, 10):
            quarters.append((y - 1, 4) if m == 1 else (y, (m - 1) // 3))
    for qy, q in quarters:
        share = GDP_QUARTER_SHARE.get(qy, (0.22, 0.245, 0.245, 0.29))[q - 1]
        rows_.append(("地区生产总值（亿元）", f"{qy}-Q{q}", round(_gdp(qy) * share, 2)))
    existing = ctx.pop.count("91", ym) * 0.88 + ctx.pop.count("93", ym) * 0.9
    rows_.append(("法人企业数", month_str(ym), float(round(existing))))

    def rows():
        for ind, period, value in rows_:
            yield {"指标": ind, "期间": period, "数值": value}, None
    return [Batch(day, rows, len(rows_))]


SERVICE_DEPTS = ("市场监督管理局", "行政审批服务局", "交通运输局", "卫生健康委员会", "住房和城乡建设局", "人力资源和社会保障局",
                 "生态环境局", "自然资源和规划局", "教育局", "民政局", "农业农村局", "商务局")
SERVICE_ACTS = ("设立登记", "变更登记", "许可证核发", "许可证延续", "资质认定", "备案", "证明开具", "年度报告")


def build_service_item(ctx, unit, ym, r):
    n_items = (1800 if ctx.scale == "city" else 120) + (month_index(ym) - month_index((2020, 1))) * (3 if ctx.scale == "city" else 1)
    n_items = max(60, n_items)
    adopt = 0.7 + 0.02 * max(0, min(12, month_index(ym) - month_index((2020, 1))))  # commitment spreads through 2020

    def one(i, adopt):
        b = Bits(bits(ctx.seed, "service-item", i))
        dept = b.below(len(SERVICE_DEPTS))
        lawful = "是" if b.unit() < 0.3 else "否"
        uses = "是" if lawful == "是" and b.unit() < adopt else "否"
        return {"事项编码": f"3708{dept:02d}{i:06d}", "事项名称": f"{b.pick(N.TRADES)}{b.pick(SERVICE_ACTS)}",
                "实施单位": f"济宁市{SERVICE_DEPTS[dept]}", "是否法定可承诺": lawful, "是否实行信用承诺": uses}

    def rows_for(adopt):
        def rows():
            for i in range(n_items):
                yield one(i, adopt), None
        return rows
    day, _ = ctx.plan_date(unit, "service_item", ym)
    out = [Batch(day, rows_for(adopt), n_items)]
    if r.random() < ctx.rates.extra_delivery:  # a replacement snapshot later in the month: a few more adopted
        out.append(Batch(workday_on_or_after(day + dt.timedelta(days=r.randint(1, 5))), rows_for(adopt + 0.03),
                         n_items, tags={"replaces_earlier": True}))
    return out


SELF_VALUES = {"I01": lambda r: str(r.choice((6, 7, 8, 9, 10, 10))), "I15": lambda r: str(r.randint(2, 6)),
               "I21": lambda r: str(r.randint(2, 5)), "I22": lambda r: str(r.randint(4, 10)),
               "I23": lambda r: str(r.randint(4, 10))}


def self_report_units() -> tuple:
    return tuple(sorted({u for units in SELF_REPORT.values() for u in units}, key=ALL_UNITS.index))


def build_self_report(ctx, unit, ym, r):
    inds = [i for i, units in SELF_REPORT.items() if unit in units]
    if not inds or not (ctx.is_first(ym) or r.random() < 0.25):
        return []
    day, _ = ctx.plan_date(unit, "self_report", ym)

    def rows():
        rr = rng(ctx.seed, "self-report-rows", unit, ym)
        for ind in inds:
            value = SELF_VALUES.get(ind, lambda q: "是" if q.random() < 0.9 else "否")(rr)
            yield {"指标编号": ind, "填报值": value, "说明": f"{month_str(ym)}{UNIT_NAME[unit]}自主填报",
                   "佐证链接": f"https://xyjn.jining.gov.cn/evidence/{unit}/{ym[0]}{ym[1]:02d}/{ind}.pdf"}, None
        if unit == "fgw" and rr.random() < 0.1:
            yield {"指标编号": rr.choice(("D1", "D2")), "填报值": "否", "说明": "本月无此情形", "佐证链接": None}, None
    return [Batch(day, rows, len(inds))]


BUILDERS = {
    "registry": build_registry,
    "license": lambda ctx, u, ym, r: build_shuanggongshi(ctx, u, ym, r, "license"),
    "penalty": lambda ctx, u, ym, r: build_shuanggongshi(ctx, u, ym, r, "penalty"),
    "water_bill": lambda ctx, u, ym, r: build_bill(ctx, u, ym, r, "water_bill"),
    "power_bill": lambda ctx, u, ym, r: build_bill(ctx, u, ym, r, "power_bill"),
    "gas_bill": lambda ctx, u, ym, r: build_bill(ctx, u, ym, r, "gas_bill"),
    "logistics": build_logistics, "xyd_registration": build_xyd_registration, "xyd_loan": build_xyd_loan,
    "blacklist": build_blacklist, "uscc_issue": build_uscc_issue, "commitment": build_commitment,
    "arrears": build_arrears, "tax_grade": build_tax_grade, "customs_aeo": build_customs_aeo,
    "joint_case": build_joint_case, "objection": build_objection, "repair": build_repair,
    "activity": build_activity, "city_stats": build_city_stats, "service_item": build_service_item,
    "credit_event": build_credit_event, "self_report": build_self_report,
}

# Which units actually deliver a feed (FEEDS.md allows "any" for some; these are the ones that do).
DELIVERING = {"self_report": self_report_units(), "activity": ACTIVITY_UNITS}
