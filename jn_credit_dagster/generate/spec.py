"""The feeds of FEEDS.md as the generator needs them: columns, who delivers, when it is due."""

from __future__ import annotations

from dataclasses import dataclass, field

from .names import COUNTY_UNITS

CITY_UNITS = ("fgw", "court", "amr", "approval", "bigdata", "water", "power", "gas", "commerce", "transport",
              "cbirc", "pboc", "finance", "miit", "tax", "customs", "emergency", "stats", "police", "energy",
              "civil", "hrss", "justice", "mof", "ggzy", "culture", "health", "civilization")
AREA_UNITS = COUNTY_UNITS + ("gxq", "tbh", "jjkfq")
ALL_UNITS = CITY_UNITS + AREA_UNITS

UNIT_NAME = {
    "fgw": "济宁市发展和改革委员会", "court": "济宁市中级人民法院", "amr": "济宁市市场监督管理局",
    "approval": "济宁市行政审批服务局", "bigdata": "济宁市大数据中心", "water": "济宁中水务有限公司",
    "power": "国网山东省电力公司济宁供电公司", "gas": "济宁华润燃气有限公司", "commerce": "济宁市商务局",
    "transport": "济宁市交通运输局", "cbirc": "中国银行保险监督管理委员会济宁监管分局",
    "pboc": "中国人民银行济宁市中心支行", "finance": "济宁市地方金融监督管理局", "miit": "济宁市工业和信息化局",
    "tax": "国家税务总局济宁市税务局", "customs": "中华人民共和国济宁海关", "emergency": "济宁市应急管理局",
    "stats": "济宁市统计局", "police": "济宁市公安局", "energy": "济宁市能源局", "civil": "济宁市民政局",
    "hrss": "济宁市人力资源和社会保障局", "justice": "济宁市司法局", "mof": "济宁市财政局",
    "ggzy": "济宁市公共资源交易服务中心", "culture": "济宁市文化和旅游局", "health": "济宁市卫生健康委员会",
    "civilization": "中共济宁市委精神文明建设委员会办公室",
    "370811": "济宁市任城区人民政府", "370812": "济宁市兖州区人民政府", "370826": "微山县人民政府",
    "370827": "鱼台县人民政府", "370828": "金乡县人民政府", "370829": "嘉祥县人民政府", "370830": "汶上县人民政府",
    "370831": "泗水县人民政府", "370832": "梁山县人民政府", "370881": "曲阜市人民政府", "370883": "邹城市人民政府",
    "gxq": "济宁高新技术产业开发区管理委员会", "tbh": "济宁太白湖新区管理委员会",
    "jjkfq": "济宁经济技术开发区管理委员会",
}

SUBJECT_COLS = ["行政相对人名称", "行政相对人类别", "统一社会信用代码", "法定代表人", "证件类型", "证件号码"]
YUAN = "（元）"


@dataclass(frozen=True)
class Feed:
    name: str
    kind: str  # snapshot | event | state
    columns: tuple
    required: frozenset
    units: tuple
    key: tuple = ()
    decimals: dict = field(default_factory=dict)
    optional_droppable: tuple = ()  # optional columns a unit may leave out of its file


def _feed(name, kind, columns, required, units, key=(), decimals=None, droppable=()):
    return Feed(name, kind, tuple(columns), frozenset(required), tuple(units), tuple(key), decimals or {}, tuple(droppable))


LICENSE_UNITS = ("approval", "amr", "transport", "health", "culture", "emergency", "commerce", "civil", "hrss",
                 "justice", "police", "energy") + AREA_UNITS
PENALTY_UNITS = ("amr", "tax", "transport", "emergency", "health", "culture", "hrss", "police", "energy",
                 "civil") + AREA_UNITS
COMMITMENT_UNITS = ("amr", "approval", "justice", "civil") + AREA_UNITS
JOINT_CASE_UNITS = ("fgw", "court", "tax", "amr", "370883", "370881", "370811")
ACTIVITY_UNITS = ("fgw", "civilization", "amr", "tax", "court", "pboc", "cbirc", "justice") + AREA_UNITS
BLACKLIST_OWNERS = {"01": ("court",), "02": ("tax",), "03": ("emergency",), "04": ("amr",), "05": ("stats",),
                    "06": ("customs",), "07": ("police",), "08": ("fgw", "amr"), "09": ("court",),
                    "10": ("finance",), "11": ("finance",), "12": ("energy",), "13": ("civil",), "14": ("hrss",)}
BLACKLIST_UNITS = ("court", "tax", "emergency", "amr", "stats", "customs", "police", "finance", "energy", "civil",
                   "hrss", "fgw")

LICENSE_COLS = SUBJECT_COLS + [
    "行政许可决定文书名称", "行政许可决定文书号", "许可类别", "许可证书名称", "许可编号", "许可内容", "许可决定日期",
    "有效期自", "有效期至", "许可机关", "许可机关统一社会信用代码", "当前状态", "数据来源单位",
    "数据来源单位统一社会信用代码", "备注"]
PENALTY_COLS = SUBJECT_COLS + [
    "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容", "罚款金额（万元）",
    "没收违法所得、没收非法财物的金额（万元）", "暂扣或吊销证照名称及编号", "处罚决定日期", "处罚有效期", "公示截止期",
    "处罚机关", "处罚机关统一社会信用代码", "数据来源单位", "数据来源单位统一社会信用代码", "备注"]
BILL_COLS = ["户号", "户名", "统一社会信用代码", "账期", "应缴金额（元）", "实缴金额（元）", "欠费金额（元）", "连续欠费月数"]
BILL_REQ = ["户号", "户名", "账期", "应缴金额（元）", "实缴金额（元）", "欠费金额（元）", "连续欠费月数"]

FEEDS = {f.name: f for f in (
    _feed("registry", "snapshot",
          ["统一社会信用代码", "主体名称", "主体类型", "法定代表人", "成立日期", "登记状态", "注销日期", "所属区县"],
          ["统一社会信用代码", "主体名称", "主体类型", "成立日期", "登记状态", "所属区县"], ["amr"]),
    _feed("license", "event", LICENSE_COLS,
          ["行政相对人名称", "行政相对人类别", "行政许可决定文书名称", "行政许可决定文书号", "许可类别", "许可内容",
           "许可决定日期", "有效期自", "有效期至", "许可机关", "许可机关统一社会信用代码", "当前状态", "数据来源单位",
           "数据来源单位统一社会信用代码"], LICENSE_UNITS, ("行政许可决定文书号", "许可机关统一社会信用代码"),
          droppable=("备注", "许可证书名称", "许可编号")),
    _feed("penalty", "event", PENALTY_COLS,
          ["行政相对人名称", "行政相对人类别", "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据", "处罚类别",
           "处罚内容", "处罚决定日期", "处罚有效期", "处罚机关", "处罚机关统一社会信用代码", "数据来源单位",
           "数据来源单位统一社会信用代码"], PENALTY_UNITS, ("行政处罚决定书文号", "处罚机关统一社会信用代码"),
          {"罚款金额（万元）": 4, "没收违法所得、没收非法财物的金额（万元）": 4},
          droppable=("备注", "暂扣或吊销证照名称及编号")),
    _feed("water_bill", "event", BILL_COLS, BILL_REQ, ["water"], ("户号", "账期")),
    _feed("power_bill", "event", BILL_COLS, BILL_REQ, ["power"], ("户号", "账期")),
    _feed("gas_bill", "event", BILL_COLS, BILL_REQ, ["gas"], ("户号", "账期")),
    _feed("logistics", "event",
          ["统一社会信用代码", "企业名称", "业务类型", "记录类型", "记录日期", "记录内容", "涉及金额（元）"],
          ["统一社会信用代码", "企业名称", "业务类型", "记录类型", "记录日期", "记录内容"], ["commerce", "transport"]),
    _feed("xyd_registration", "state", ["统一社会信用代码", "企业名称", "注册平台", "注册日期", "状态"],
          ["统一社会信用代码", "企业名称", "注册平台", "注册日期", "状态"], ["fgw", "cbirc"], ("统一社会信用代码", "注册平台")),
    _feed("xyd_loan", "event",
          ["贷款编号", "统一社会信用代码", "企业名称", "金融机构", "贷款产品", "放款金额（万元）", "放款日期", "到期日期",
           "放款渠道", "是否信用贷款"],
          ["贷款编号", "统一社会信用代码", "企业名称", "金融机构", "放款金额（万元）", "放款日期", "到期日期", "放款渠道",
           "是否信用贷款"], ["cbirc", "pboc", "finance"], ("贷款编号", "金融机构"), {"放款金额（万元）": 2}, ("贷款产品",)),
    _feed("blacklist", "state",
          ["名单类型", "主体名称", "主体类别", "统一社会信用代码", "证件号码", "列入日期", "列入机关", "列入事由", "列入依据",
           "移出日期", "移出事由"],
          ["名单类型", "主体名称", "主体类别", "列入日期", "列入机关", "列入事由"], BLACKLIST_UNITS),
    _feed("uscc_issue", "state",
          ["问题编号", "统一社会信用代码", "主体名称", "问题类型", "下发日期", "纠正状态", "纠正日期", "纠正后代码"],
          ["问题编号", "统一社会信用代码", "主体名称", "问题类型", "下发日期", "纠正状态"], ["amr"], ("问题编号",)),
    _feed("commitment", "event", ["承诺编号", "统一社会信用代码", "主体名称", "承诺类型", "承诺事项", "承诺日期", "受理单位"],
          ["承诺编号", "统一社会信用代码", "主体名称", "承诺类型", "承诺事项", "承诺日期", "受理单位"], COMMITMENT_UNITS,
          ("承诺编号",)),
    _feed("arrears", "state",
          ["台账编号", "债务方名称", "债务方类型", "债权企业名称", "债权企业统一社会信用代码", "欠款金额（万元）",
           "已清偿金额（万元）", "认定日期", "截至日期"],
          ["台账编号", "债务方名称", "债务方类型", "债权企业名称", "债权企业统一社会信用代码", "欠款金额（万元）",
           "已清偿金额（万元）", "认定日期", "截至日期"], ["miit"], ("台账编号",),
          {"欠款金额（万元）": 2, "已清偿金额（万元）": 2}),
    _feed("tax_grade", "state", ["统一社会信用代码", "纳税人名称", "评价年度", "信用级别"],
          ["统一社会信用代码", "纳税人名称", "评价年度", "信用级别"], ["tax"], ("统一社会信用代码", "评价年度")),
    _feed("customs_aeo", "state", ["统一社会信用代码", "企业名称", "认证类型", "认证日期", "状态"],
          ["统一社会信用代码", "企业名称", "认证类型", "认证日期", "状态"], ["customs"], ("统一社会信用代码",)),
    _feed("joint_case", "state",
          ["案例编号", "奖惩类型", "主体名称", "统一社会信用代码", "依据备忘录", "措施", "实施日期", "实施单位", "反馈国家平台日期"],
          ["案例编号", "奖惩类型", "主体名称", "依据备忘录", "措施", "实施日期", "实施单位"], JOINT_CASE_UNITS, ("案例编号",)),
    _feed("objection", "state",
          ["异议编号", "信息类别", "信息文书号", "统一社会信用代码", "受理日期", "是否有效异议", "办结日期", "处理结果",
           "信息来源单位"],
          ["异议编号", "信息类别", "受理日期", "是否有效异议", "信息来源单位"], ["fgw"], ("异议编号",)),
    _feed("repair", "state", ["修复编号", "统一社会信用代码", "主体名称", "修复信息类型", "关联文书号", "申请日期", "办结日期", "结果"],
          ["修复编号", "统一社会信用代码", "主体名称", "修复信息类型", "关联文书号", "申请日期"], ["fgw"], ("修复编号",)),
    _feed("activity", "event", ["活动名称", "活动日期", "活动形式", "参与人数", "组织单位"],
          ["活动名称", "活动日期", "活动形式", "组织单位"], ACTIVITY_UNITS),
    _feed("city_stats", "state", ["指标", "期间", "数值"], ["指标", "期间", "数值"], ["stats"], ("指标", "期间"),
          {"数值": 2}),
    _feed("service_item", "snapshot", ["事项编码", "事项名称", "实施单位", "是否法定可承诺", "是否实行信用承诺"],
          ["事项编码", "事项名称", "实施单位", "是否法定可承诺", "是否实行信用承诺"], ["approval"], ("事项编码",)),
    _feed("credit_event", "state", ["事件编号", "事件日期", "领域", "性质", "是否主动处理", "处理日期", "相关单位", "来源"],
          ["事件编号", "事件日期", "领域", "性质", "是否主动处理"], ["fgw"], ("事件编号",)),
    _feed("self_report", "state", ["指标编号", "填报值", "说明", "佐证链接"], ["指标编号", "填报值"], ALL_UNITS,
          ("指标编号",), droppable=("佐证链接",)),
)}

# INDICATORS.md "Deliveries due by the 25th"
DUE = {("amr", "registry"), ("amr", "uscc_issue"), ("water", "water_bill"), ("power", "power_bill"),
       ("gas", "gas_bill"), ("commerce", "logistics"), ("transport", "logistics"), ("fgw", "xyd_registration"),
       ("fgw", "objection"), ("fgw", "repair"), ("fgw", "credit_event"), ("cbirc", "xyd_loan"),
       ("miit", "arrears"), ("approval", "service_item"), ("court", "blacklist")}

# Self-reported indicators and who reports them (INDICATORS.md); "every 双公示 unit" and "all" are sampled.
SELF_REPORT = {
    "I01": ("fgw", "court", "amr", "approval", "bigdata"), "I02": ("fgw",),
    "I05": ("approval", "amr", "tax", "transport", "emergency", "370883", "370881"), "I08": ("fgw", "civilization"),
    "I11": ("fgw", "cbirc"), "I15": ("approval", "commerce", "transport", "culture", "health"),
    "I21": ("mof", "approval", "amr", "ggzy"), "I22": ("fgw", "amr", "tax", "370811"),
    "I23": ("fgw", "court", "amr", "370883"), "I32": ("fgw",), "I33": ("fgw",), "I37": ("fgw", "amr"), "I38": ("fgw",),
}
YUAN_COLS = frozenset(c for f in FEEDS.values() for c in f.columns if c.endswith(YUAN))
