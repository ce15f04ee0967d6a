"""统一社会信用代码, 身份证号 and names, and the city's population of subjects.

A subject is a pure function of (seed, kind, index): nothing about the city is held in memory, so
the registry of any month can be streamed and any feed can refer to any subject.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from jn_credit_dagster.lib.common.identifiers import USCC_ALPHABET, id_check_char, uscc_check_char

from . import names as N
from .months import first_day, last_day, month_index
from .seeding import Bits, bits

_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_GB11714_VALUE = {c: int(c) if c.isdigit() else ord(c) - 55 for c in USCC_ALPHABET}  # A=10 … Y=34


def org_code(body8: str) -> str:
    """GB 11714 organisation code: 8 characters and their check character."""
    total = sum(_GB11714_VALUE[c] * w for c, w in zip(body8, _GB11714_WEIGHTS))
    c = 11 - total % 11
    return body8 + ("X" if c == 10 else "0" if c == 11 else str(c))


def _base31(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 31)
        out.append(USCC_ALPHABET[r])
    return "".join(reversed(out))


def make_uscc(prefix2: str, district: str, serial: int, style: str) -> str:
    """A valid USCC whose organisation code is a bijection of `serial` (so codes never collide)."""
    if style == "numeric":
        body = f"{(serial * 48271 + 10_000_019) % 100_000_000:08d}"
    elif style == "L":
        body = "L" + _base31((serial * 1_000_003) % 31**7, 7)
    else:  # "MA", "MJ", "MF", "MB": the letter-led codes issued since 2015
        body = style + _base31((serial * 1_000_003) % 31**6, 6)
    first17 = prefix2 + district + org_code(body)
    return first17 + uscc_check_char(first17)


def break_uscc(code: str, b: Bits) -> str:
    """An invalid variant of a code, of the kinds units really send."""
    how = b.below(10)
    if how < 6:  # wrong check character
        wrong = [c for c in USCC_ALPHABET if c != code[17]]
        return code[:17] + b.pick(wrong)
    if how < 8:  # a typo in the body: a letter GB 32100 excludes
        i = 8 + b.below(9)
        return code[:i] + b.pick("IOZSV") + code[i + 1:]
    if how < 9:  # one character lost
        return code[:17]
    # two characters swapped in the body: same letters, wrong check
    i = 8 + b.below(8)
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    return swapped if swapped != code else code[:17] + ("1" if code[17] != "1" else "2")


def make_id(area: str, birth: dt.date, seq: int, male: bool) -> str:
    seq = seq % 500 * 2 + (1 if male else 0)
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def break_id(code: str, b: Bits, today: dt.date) -> str:
    how = b.below(4)
    if how < 2:
        return code[:17] + b.pick([c for c in "0123456789X" if c != code[17]])
    if how == 2:  # an impossible birth date
        return code[:6] + code[6:10] + "0231" + code[14:17] + id_check_char(code[:6] + code[6:10] + "0231" + code[14:17])
    future = f"{today.year + 1 + b.below(5)}0101"  # born in the future
    first17 = code[:6] + future + code[14:17]
    return first17 + id_check_char(first17)


def person_name(b: Bits, district: str | None = None) -> tuple[str, bool]:
    local = N.LOCAL_SURNAME.get(district or "")
    surname = local if local and b.chance(0.25) else b.pick(N.SURNAMES)
    male = b.chance(0.5)
    pool = N.GIVEN_MALE if male else N.GIVEN_FEMALE
    given = b.pick(pool) + (b.pick(pool) if b.chance(0.72) else "")
    return surname + given, male


def village(b: Bits) -> str:
    return b.pick(N.SURNAMES) + b.pick(N.VILLAGE_SUFFIX)


def area_name(b: Bits, district: str) -> str:
    return "济宁市" if district == "370800" or b.chance(0.15) else N.DISTRICT_NAME[district]


# Registration-department prefix → (主体类型, name builder tag, code style of new / old codes)
KINDS = {
    "91": ("企业", "company"), "92": ("个体工商户", "shop"), "93": ("农民专业合作社", "coop"),
    "11": ("机关", "office"), "12": ("事业单位", "institution"), "13": ("其他组织", "association"),
    "31": ("其他组织", "lawfirm"), "32": ("其他组织", "notary"), "33": ("其他组织", "legalservice"),
    "51": ("社会组织", "association"), "52": ("社会组织", "nonprofit"), "53": ("社会组织", "foundation"),
    "71": ("其他组织", "temple"), "81": ("其他组织", "union"), "A1": ("事业单位", "army"),
    "N1": ("农村集体经济组织", "group"), "N2": ("农村集体经济组织", "villagecoop"), "N3": ("农村集体经济组织", "towncoop"),
    "Y1": ("其他组织", "other"),
}
KIND_NO = {k: i for i, k in enumerate(KINDS)}
NEW_STYLE = {"91": "MA", "92": "MA", "93": "MA", "51": "MJ", "52": "MJ", "53": "MJ",
             "N1": "MF", "N2": "MF", "N3": "MF", "31": "MB", "32": "MB", "33": "MB", "71": "MB", "81": "MB"}

# City-scale counts at 2020-12 and monthly growth (Jining: ~200k enterprises, 600k 个体, 18k 合作社).
CITY_COUNTS = {
    "91": (240_000, 2_100), "92": (740_000, 5_800), "93": (19_500, 45), "11": (1_300, 0), "12": (2_600, 2),
    "13": (40, 0), "31": (130, 1), "32": (13, 0), "33": (90, 0), "51": (950, 4), "52": (1_400, 6),
    "53": (30, 0), "71": (260, 0), "81": (2_800, 8), "A1": (8, 0), "N1": (300, 0), "N2": (6_200, 0),
    "N3": (150, 0), "Y1": (60, 0),
}
CITY_ANCHOR = (2020, 12)
MONTHLY_EXIT = {"91": 0.0035, "92": 0.0070, "93": 0.0030}  # others rarely end
_EXITS = ("注销",) * 17 + ("吊销",) * 2 + ("迁出",)


@dataclass(slots=True, frozen=True)
class Subject:
    kind: str
    index: int
    uscc: str
    name: str
    type_label: str
    rep: str  # 法定代表人 / 经营者 / 负责人
    district: str
    established: dt.date
    ended: dt.date | None
    end_status: str | None

    def status_on(self, day: dt.date) -> str:
        return self.end_status if self.ended and self.ended <= day else "存续"


# Subject index i lies in district _RESIDUE_DISTRICT[i % 1000]: lets feeds draw a subject of a given county.
_RESIDUE_DISTRICT: list[str] = []
for code, _, _, share, _ in N.DISTRICTS:
    _RESIDUE_DISTRICT += [code] * round(share * 1000)
_RESIDUE_DISTRICT = (_RESIDUE_DISTRICT + [N.DISTRICT_CODES[0]] * 1000)[:1000]
RESIDUES = {code: [r for r in range(1000) if _RESIDUE_DISTRICT[r] == code] for code in N.DISTRICT_CODES}


class Population:
    """Every subject of the city, computed on demand from (seed, kind, index)."""

    def __init__(self, seed: int, scale: str):
        self.seed = seed
        self._key = f"{seed}\x1fsubject\x1f"  # == seeding.bits(seed, "subject", kind, index), inlined: hot path
        factor = {"city": 1.0, "small": 0.01}[scale]
        self.counts = {k: (max(1, round(base * factor)), growth * factor) for k, (base, growth) in CITY_COUNTS.items()}

    def count(self, kind: str, ym: tuple[int, int]) -> int:
        """Subjects of a kind registered by the end of month ym (indices 0 … count−1)."""
        base, growth = self.counts[kind]
        return max(1, int(base + growth * (month_index(ym) - month_index(CITY_ANCHOR))))

    def _established(self, kind: str, index: int, b: Bits) -> dt.date:
        base, growth = self.counts[kind]
        anchor = month_index(CITY_ANCHOR)
        if growth > 0:
            offset = math.floor((index - base) / growth)  # month relative to the anchor
            if offset >= -72:
                ym = divmod(anchor + offset + 1, 12)
                ym = (ym[0], ym[1] + 1)
                return first_day(ym) + dt.timedelta(days=b.below(last_day(ym).day))
        # older subjects: registered 1985 … 2014
        return dt.date(1985, 1, 1) + dt.timedelta(days=b.below(365 * 30))

    def subject(self, kind: str, index: int) -> Subject:
        b = Bits(int.from_bytes(hashlib.blake2b(f"{self._key}{kind}\x1f{index}".encode(), digest_size=64).digest(), "big"))
        district = _RESIDUE_DISTRICT[index % 1000]
        established = self._established(kind, index, b)
        ended = end_status = None
        hazard = MONTHLY_EXIT.get(kind, 0.0005)
        u = b.unit()
        if u < 0.06 and established.year < 2015:  # ended before the data starts, still listed for a while
            ended = dt.date(2016, 1, 1) + dt.timedelta(days=b.below(365 * 3))
        else:
            months = math.floor(math.log(1 - b.unit()) / math.log(1 - hazard)) + 1
            start = max(month_index((established.year, established.month)), month_index((2019, 1)))
            ym = divmod(start + months, 12)
            ym = (ym[0], ym[1] + 1)
            if ym[0] < 2100:
                ended = first_day(ym) + dt.timedelta(days=b.below(28))
        if ended:
            end_status = b.pick(_EXITS)
        style = NEW_STYLE.get(kind, "numeric") if established >= dt.date(2015, 10, 1) else "numeric"
        if kind == "92" and style == "numeric" and b.chance(0.6):
            style = "L"
        serial = KIND_NO[kind] * 10_000_000 + index
        uscc = make_uscc(kind, district, serial, style)
        rep, _ = person_name(b, district)
        name = self._name(kind, district, rep, index, b)
        return Subject(kind, index, uscc, name, KINDS[kind][0], rep, district, established, ended, end_status)

    def _name(self, kind: str, district: str, rep: str, index: int, b: Bits) -> str:
        tag = KINDS[kind][1]
        short = N.DISTRICT_SHORT[district]
        full = N.DISTRICT_NAME[district]
        town = b.pick(N.TOWNS[district])
        brand = b.pick(N.BRAND) + b.pick(N.BRAND)
        if tag == "company":
            where = b.pick(("济宁", "济宁", "山东", short if district not in ("370800", "370871") else "济宁"))
            trade, form = b.pick(N.TRADES), b.pick(N.FORMS)
            if b.chance(0.08):
                return f"{brand}（济宁）{trade}有限公司"
            if b.chance(0.05):
                return f"山东{brand}{trade}有限公司{short}分公司"
            return f"{where}{brand}{trade}{form}"
        if tag == "shop":
            who = rep[0] + "记" if b.chance(0.3) else (brand if b.chance(0.5) else rep)
            return f"{full}{town if b.chance(0.4) else ''}{who}{b.pick(N.SHOPS)}"
        if tag == "coop":
            return f"{full}{town}{village(b)}{b.pick(N.COOP_PRODUCTS)}专业合作社"
        if tag == "office":
            if b.chance(0.3):
                return f"{full}{town}{'人民政府' if town.endswith(('镇', '乡')) else '办事处'}"
            return f"{area_name(b, district)}{b.pick(N.DEPARTMENTS)}"
        if tag == "institution":
            if b.chance(0.3):
                return f"{full}{town}{b.pick(('卫生院', '中心小学', '中心幼儿园', '农业综合服务中心'))}"
            return area_name(b, district) + b.pick(N.INSTITUTIONS).format(n="一二三四五六七八九十"[b.below(10)])
        if tag == "association":
            return f"{area_name(b, district)}{b.pick(N.ASSOCIATIONS)}"
        if tag == "nonprofit":
            return f"{full}{brand}{b.pick(('幼儿园', '养老服务中心', '职业培训学校', '社会工作服务中心'))}"
        if tag == "foundation":
            return f"济宁市{brand}慈善基金会"
        if tag == "lawfirm":
            return f"山东{brand}律师事务所"
        if tag == "notary":
            return f"山东省{full}公证处"
        if tag == "legalservice":
            return f"{full}{town}法律服务所"
        if tag == "temple":
            return f"{full}{town}{village(b)}{b.pick(('基督教堂', '清真寺', '天主堂'))}"
        if tag == "union":
            return f"{where_company(b)}工会委员会"
        if tag == "army":
            return f"中国人民武装警察部队济宁支队{'一二三四五六七八'[index % 8]}中队"
        if tag == "group":
            return f"{full}{town}{village(b)}第{'一二三四五'[b.below(5)]}村民小组经济合作社"
        if tag == "villagecoop":
            return f"{full}{town}{village(b)}股份经济合作社"
        if tag == "towncoop":
            return f"{full}{town}经济联合总社"
        return f"济宁{brand}经济联合会"

    def pick(self, b: Bits, ym: tuple[int, int], kind: str, district: str | None = None) -> Subject:
        """A subject of `kind` that exists at the end of ym (in `district` if given) and is 存续 there."""
        n = self.count(kind, ym)
        end = last_day(ym)
        for attempt in range(40):
            if district and n >= 1000:
                residues = RESIDUES[district]
                i = b.below(max(1, n // 1000)) * 1000 + b.pick(residues)
                if i >= n:
                    continue
            else:
                i = b.below(n)
            s = self.subject(kind, i)
            if s.established <= end and (s.ended is None or s.ended > end) or attempt == 39:
                return s
        raise AssertionError("unreachable")


def where_company(b: Bits) -> str:
    return f"济宁{b.pick(N.BRAND)}{b.pick(N.BRAND)}{b.pick(N.TRADES)}有限公司"


def person(seed: int, key, district: str, today: dt.date) -> tuple[str, str]:
    """A natural person (name, 身份证号) keyed by anything; adults 18–80 as of `today`."""
    b = Bits(bits(seed, "person", key))
    name, male = person_name(b, district)
    r = b.below(100)
    area = district if r < 70 and district not in ("370800", "370871") else (
        b.pick(N.ID_AREAS_OLD) if r < 85 else b.pick(N.ID_AREAS_ELSEWHERE))
    if area in ("370800", "370871"):
        area = "370811"
    birth = today - dt.timedelta(days=365 * 18 + b.below(365 * 62))
    return name, make_id(area, birth, b.below(1000), male)

