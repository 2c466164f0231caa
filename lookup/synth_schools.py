"""School planning for the synthetic registry, and the tables it draws names from.

Which counties, prefectures and provinces get schools, with every routing trap
DESIGN.md names (county, city-direct, province-direct, municipal district,
province-administered city, prefecture without counties, 兵团), the schools'
标识码 and names; plus the 兵团 units, capital area codes and the surname and
given-name pools the student generator draws from.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

NATIONAL = "000000"
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})


class UnitLike(Protocol):
    """What the generator needs of a unit; ``lookup.divisions.UnitRow`` fits."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def parent_code(self) -> str | None: ...


class ExtraUnit(NamedTuple):
    code: str
    name: str
    level: str
    parent_code: str | None


def chinese_number(n: int) -> str:
    """Numerals as school names write them, for 1-99; Arabic digits beyond.

    >>> [chinese_number(n) for n in (1, 10, 14, 20, 99, 120)]
    ['一', '十', '十四', '二十', '九十九', '120']
    """
    if not 0 < n < 100:
        return str(n)
    digits = "一二三四五六七八九"
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else "十" if tens == 1 else digits[tens - 1] + "十"
    return head + (digits[ones - 1] if ones else "")


def place_name(unit_name: str) -> str:
    """The place a unit is named after, whichever naming the caller used.

    >>> [place_name(n) for n in ("朝阳区教育局", "北京市教育委员会", "湖北省教育厅", "仙桃市")]
    ['朝阳区', '北京市', '湖北省', '仙桃市']
    """
    for suffix in ("教育委员会", "教育厅", "教育局"):
        if unit_name.endswith(suffix):
            return unit_name[: -len(suffix)]
    return unit_name


# The 兵团 sits outside GB/T 2260: its education bureau is a province-level unit
# and its 14 divisions (师) prefecture-level units under it.
BINGTUAN_UNITS: tuple[ExtraUnit, ...] = (
    ExtraUnit("660000", "新疆生产建设兵团教育局", "province", NATIONAL),
    *(ExtraUnit(f"66{i:02d}00", f"新疆生产建设兵团第{chinese_number(i)}师教育局", "prefecture",
                "660000") for i in range(1, 15)),
)
# The 659xxx city each 师 runs (师市合一); the 11th and 12th 师 have none.
_SEATS = ("659002", "659006", "659003", "659008", "659007", "659004", "659010", "659001",
          "659012", "659005", None, None, "659011", "659009")
# Area code of each province's capital, for placeholder hotlines.
AREA = {"11": "010", "12": "022", "13": "0311", "14": "0351", "15": "0471", "21": "024",
        "22": "0431", "23": "0451", "31": "021", "32": "025", "33": "0571", "34": "0551",
        "35": "0591", "36": "0791", "37": "0531", "41": "0371", "42": "027", "43": "0731",
        "44": "020", "45": "0771", "46": "0898", "50": "023", "51": "028", "52": "0851",
        "53": "0871", "54": "0891", "61": "029", "62": "0931", "63": "0971", "64": "0951",
        "65": "0991", "66": "0991"}

_SURNAMES = ("王李张刘陈" * 8 + "杨黄赵吴周徐孙马朱胡郭何高林罗" * 4
             + "郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
             "廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
# Two-character surnames and GBK-only given-name characters (堃 喆 镕 昇 …) are
# rare but real, and they break code that assumes one character or GB2312.
SURNAME_POOL = tuple(_SURNAMES) + ("欧阳", "司马", "上官", "诸葛", "司徒", "东方", "慕容", "皇甫")
MALE = tuple("伟强磊军勇杰涛明超辉刚鹏浩宇轩然博文俊晨阳子豪皓睿泽翔凯铭瑞一诚鑫天佳嘉亮健斌成龙飞"
             * 16 + "堃喆镕昇彧焜犇赟")
FEMALE = tuple("芳娜敏静丽艳娟霞婷雪慧颖琳欣怡梦涵诗雨萱思佳琪晨可馨悦瑶妍婧子一嘉语桐" * 16
               + "玥珺琇祎喆堃")

# 学校标识码 categories: 21 primary, 31 junior secondary, 34 complete secondary, 36 twelve-year.
_SUFFIX = {"21": "小学", "31": "初级中学", "34": "中学", "36": "外国语学校"}
_CATEGORIES = {"city_direct": ("21", "21", "31", "34", "34", "34", "36"),
               "province_direct": ("34", "34", "34", "34", "36")}
_DEFAULT_CATEGORIES = ("21",) * 12 + ("31",) * 5 + ("34",) * 2 + ("36",)
# Kinds with a fixed share of schools; the place kinds share the rest by size.
_FIXED_SHARES = {"city_direct": 0.06, "province_direct": 0.02, "bingtuan": 0.005}
_PLACE_WEIGHTS = {"county": 1, "municipal_district": 1, "province_city": 1,
                  "prefecture_without_counties": 4}
MIN_PER_KIND = 3


@dataclass(frozen=True)
class School:
    code: str
    name: str
    division: str
    authority: str  # empty: the division's own unit
    address: str  # address code of its students' ID numbers
    category: str
    weight: float


def _candidates(units: Sequence[UnitLike]) -> dict[str, list[tuple[str, str, str, str]]]:
    """Per trap kind, the (division, authority, name prefix, address code) a school may get."""
    by_code = {u.code: u for u in units}
    with_counties = {u.parent_code for u in units if u.level == "county"}
    kinds: dict[str, list[tuple[str, str, str, str]]] = {
        k: [] for k in (*_PLACE_WEIGHTS, *_FIXED_SHARES)}
    for u in units:
        parent = by_code.get(u.parent_code or "")
        province = by_code.get(u.code[:2] + "0000")
        if u.level == "prefecture" and u.code not in with_counties:
            kinds["prefecture_without_counties"].append((u.code, "", place_name(u.name), u.code))
        elif u.level != "county" or parent is None:
            continue
        elif parent.level == "prefecture":
            kinds["county"].append((u.code, "", place_name(u.name), u.code))
            kinds["city_direct"].append((u.code, parent.code, place_name(parent.name), u.code))
        elif parent.level == "province":
            kind = "municipal_district" if u.code[:2] in MUNICIPALITIES else "province_city"
            kinds[kind].append((u.code, u.code, place_name(u.name), u.code))
        if province is not None and u.level in ("county", "prefecture"):
            kinds["province_direct"].append((u.code, province.code, place_name(province.name),
                                             u.code))
    xinjiang = [u.code for u in units if u.code[:2] == "65" and u.level == "county"]
    cities = [c for c in xinjiang if c.startswith("659")] or xinjiang
    for i, (unit, seat) in enumerate(zip(BINGTUAN_UNITS[1:], _SEATS, strict=True)):
        if not cities:
            break
        division = seat if seat in by_code else cities[i % len(cities)]
        address = division if division.startswith("659") else seat or "659001"
        kinds["bingtuan"].append((division, unit.code, place_name(unit.name), address))
    return {k: v for k, v in kinds.items() if v}


def plan_schools(rng: random.Random, units: Sequence[UnitLike], n: int) -> list[School]:
    candidates = _candidates(units)
    places = {k: len(candidates[k]) * w for k, w in _PLACE_WEIGHTS.items() if k in candidates}
    if not places:
        raise ValueError("the units contain no county or prefecture to place schools in")
    quotas = {k: max(MIN_PER_KIND, round(s * n)) for k, s in _FIXED_SHARES.items()
              if k in candidates}
    rest = n - sum(quotas.values())
    for kind, weight in places.items():
        quotas[kind] = max(MIN_PER_KIND, round(rest * weight / sum(places.values())))
    largest = max(places, key=places.__getitem__)
    quotas[largest] += n - sum(quotas.values())
    if quotas[largest] < MIN_PER_KIND:
        raise ValueError(f"n_schools={n} is too small for {MIN_PER_KIND} schools of each kind")
    plan = [kind for kind, quota in quotas.items() for _ in range(quota)]
    rng.shuffle(plan)
    serial, used = rng.randrange(10**6), dict[tuple[str, str], int]()
    schools = []
    for i, kind in enumerate(plan):
        division, authority, prefix, address = rng.choice(candidates[kind])
        category = rng.choice(_CATEGORIES.get(kind, _DEFAULT_CATEGORIES))
        experimental = kind == "province_direct"
        n_th = used[prefix, category] = used.get((prefix, category), 0) + 1
        middle = "实验" if experimental else ""
        number = "" if experimental and n_th == 1 else f"第{chinese_number(n_th)}"
        province = "66" if kind == "bingtuan" else division[:2]
        # 7919 is coprime to 10**6, so serials stay unique for up to a million schools.
        code = f"{category}{province}{(serial + i * 7919) % 10**6:06d}"
        schools.append(School(code, f"{prefix}{number}{middle}{_SUFFIX[category]}", division,
                              authority, address, category, rng.uniform(0.3, 3.0)))
    return schools
