"""A deterministic synthetic student registry (学籍), written as CSV files.

For ``xueji demo`` and for benchmarks: the authority units (plus the 兵团 units
no GB/T 2260 division describes), schools spread over real counties with every
routing trap DESIGN.md names, a streamed students file and number histories.
Everything is drawn from one seeded :class:`random.Random`: a seed gives the
same bytes.

Uniqueness without memory: every number lives in a space keyed by its 6-digit
prefix (an ID number's address code, a J or L number's school division). A
per-prefix counter is mapped to (birth day, sequence) by an affine permutation,
so distinct draws give distinct numbers and no set of seen values is kept.
G sequences 000-899 come from the G space; 900-999 are G numbers that replaced
a J number (900 + the J sequence, drawn from the J space of the same prefix),
so old and current numbers can never collide.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

from stdnum.cn import ric
from stdnum.iso7064 import mod_11_2

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
_AREA = {"11": "010", "12": "022", "13": "0311", "14": "0351", "15": "0471", "21": "024",
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
_SURNAME_POOL = tuple(_SURNAMES) + ("欧阳", "司马", "上官", "诸葛", "司徒", "东方", "慕容", "皇甫")
_MALE = tuple("伟强磊军勇杰涛明超辉刚鹏浩宇轩然博文俊晨阳子豪皓睿泽翔凯铭瑞一诚鑫天佳嘉亮健斌成龙飞"
              * 16 + "堃喆镕昇彧焜犇赟")
_FEMALE = tuple("芳娜敏静丽艳娟霞婷雪慧颖琳欣怡梦涵诗雨萱思佳琪晨可馨悦瑶妍婧子一嘉语桐" * 16
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

# Birth days 2008-01-01 .. 2019-08-31: ages of the 2025-26 school year. The bands
# are senior, junior and primary ages; each admits only some school categories.
_START = dt.date(2008, 1, 1).toordinal()
_DAYS = dt.date(2019, 8, 31).toordinal() - _START + 1
_BANDS = (dt.date(2010, 9, 1).toordinal() - _START, dt.date(2013, 9, 1).toordinal() - _START)
_BAND_CATEGORIES = ({"34", "36"}, {"31", "34", "36"}, {"21", "36"})
_LAST_CHANGE = dt.date(2026, 8, 31).toordinal()
_YMD = [dt.date.fromordinal(_START + d).strftime("%Y%m%d") for d in range(_DAYS)]
_ISO = [dt.date.fromordinal(_START + d).isoformat() for d in range(_DAYS)]
_SEQ3 = [f"{i:03d}" for i in range(1000)]
_SEQ4 = [f"{i:04d}" for i in range(10000)]
_STATUSES = ("在读",) * 93 + ("休学",) * 2 + ("转出",) * 3 + ("毕业",) * 2

UNIT_HEADER = ("code", "name", "level", "parent_code", "complaint_phone", "complaint_email")
SCHOOL_HEADER = ("code", "name", "division_code", "authority_code")
STUDENT_HEADER = ("number", "kind", "name", "id_number", "birth_date", "gender", "school_code",
                  "status")
HISTORY_HEADER = ("old_number", "new_number", "reason", "changed_on")
J_TO_G, ID_CHANGED = "补录身份证号", "身份证号变更"


@dataclass(frozen=True)
class DemoFiles:
    units_csv: Path
    schools_csv: Path
    students_csv: Path
    history_csv: Path
    n_units: int
    n_schools: int
    n_students: int
    n_history: int


@dataclass(frozen=True)
class _School:
    code: str
    name: str
    division: str
    authority: str  # empty: the division's own unit
    address: str  # address code of its students' ID numbers
    category: str
    weight: float


class _Space:
    """Numbers sharing a 6-digit prefix: each draw gives a new (birth day, tail)."""

    def __init__(self, tails: int, seed: int) -> None:
        self.size, self.tails, self.seed = _DAYS * tails, tails, seed
        # Near the golden ratio, so consecutive draws spread over all birth days.
        mult = int(self.size * 0.618034) | 1
        while math.gcd(mult, self.size) != 1:
            mult += 2
        self.mult, self.next = mult, dict[str, int]()

    def draw(self, prefix: str) -> tuple[int, int]:
        count = self.next.get(prefix, 0)
        if count >= self.size:
            raise ValueError(f"synthetic number space of {prefix} is exhausted")
        self.next[prefix] = count + 1
        return divmod((count * self.mult + int(prefix) * 7919 + self.seed) % self.size, self.tails)


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


def _plan_schools(rng: random.Random, units: Sequence[UnitLike], n: int) -> list[_School]:
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
        schools.append(_School(code, f"{prefix}{number}{middle}{_SUFFIX[category]}", division,
                               authority, address, category, rng.uniform(0.3, 3.0)))
    return schools


class _Pools:
    """Schools grouped by a number prefix, each group split by the birth bands it admits."""

    def __init__(self, schools: Sequence[_School], key: Callable[[_School], str]) -> None:
        groups: dict[str, list[_School]] = {}
        for school in schools:
            groups.setdefault(key(school), []).append(school)
        self.keys = sorted(groups)
        self.cum = list(itertools.accumulate(sum(s.weight for s in groups[k]) for k in self.keys))
        self.bands = {}
        for k, members in groups.items():
            bands = []
            for admitted in _BAND_CATEGORIES:
                fitting = [s for s in members if s.category in admitted] or members
                bands.append((list(itertools.accumulate(s.weight for s in fitting)), fitting))
            self.bands[k] = bands

    def prefix(self, rnd: Callable[[], float]) -> str:
        return self.keys[min(bisect.bisect(self.cum, rnd() * self.cum[-1]), len(self.keys) - 1)]

    def school(self, prefix: str, day: int, rnd: Callable[[], float]) -> _School:
        band = 0 if day < _BANDS[0] else 1 if day < _BANDS[1] else 2
        cum, members = self.bands[prefix][band]
        return members[min(bisect.bisect(cum, rnd() * cum[-1]), len(members) - 1)]


def _id_number(prefix: str, day: int, seq: int) -> str:
    body = prefix + _YMD[day] + _SEQ3[seq]
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


def _j_number(prefix: str, day: int, seq: int) -> str:
    body = prefix + _YMD[day] + _SEQ3[seq]
    return "J" + body + mod_11_2.calc_check_digit(body)


class _StudentWriter:
    """Streams students and their number histories; holds counters, never rows."""

    CHUNK = 1000
    HISTORY = 0.009  # of all students, i.e. 1% of the G ones

    def __init__(self, rng: random.Random, schools: Sequence[_School], seed: int) -> None:
        self.rng, self.rnd = rng, rng.random
        self.by_address = _Pools(schools, lambda s: s.address)
        self.by_division = _Pools(schools, lambda s: s.division)
        self.g, self.j, self.l = _Space(900, seed), _Space(100, seed), _Space(10_000, seed)
        self.n_history = self.chains = 0

    def name(self, male: bool) -> str:
        rnd, pool = self.rnd, _MALE if male else _FEMALE
        given = pool[int(rnd() * len(pool))]
        if rnd() < 0.8:
            given += pool[int(rnd() * len(pool))]
        return _SURNAME_POOL[int(rnd() * len(_SURNAME_POOL))] + given

    def draw_g(self, prefix: str, parity: int) -> tuple[int, int]:
        # Draws alternate in parity, so a second draw always gives the wanted gender.
        day, seq = self.g.draw(prefix)
        return (day, seq) if seq & 1 == parity else self.g.draw(prefix)

    def g_student(self, r: float, history: csv.Writer) -> tuple[str, ...]:
        prefix, rnd = self.by_address.prefix(self.rnd), self.rnd
        olds: list[tuple[str, str]] = []  # earlier numbers, oldest first, with the reason
        old_days: list[int] = []
        if r >= self.HISTORY:
            day, seq = self.g.draw(prefix)
        elif self.chains < 2 or r > self.HISTORY * 0.95:  # J -> old G -> current G
            self.chains += 1
            old_day, tail = self.j.draw(prefix)
            old_days.append(old_day)
            olds += [(_j_number(prefix, old_day, tail), J_TO_G),
                     ("G" + _id_number(prefix, old_day, 900 + tail), ID_CHANGED)]
            day, seq = self.draw_g(prefix, tail & 1)
        elif r < self.HISTORY * 0.6:  # the student later supplied an ID number
            day, tail = self.j.draw(prefix)
            seq = 900 + tail
            olds.append((_j_number(prefix, day, tail), J_TO_G))
        else:  # the ID number itself changed (birth date corrected, household moved)
            day, seq = self.g.draw(prefix)
            other = prefix if rnd() < 0.7 else self.by_address.prefix(rnd)
            old_day, old_seq = self.draw_g(other, seq & 1)
            old_days.append(old_day)
            olds.append(("G" + _id_number(other, old_day, old_seq), ID_CHANGED))
        school = self.by_address.school(prefix, day, rnd)
        ident = _id_number(prefix, day, seq)
        if olds:
            self.write_history(history, olds, "G" + ident, max([day, *old_days]))
        return ("G" + ident, "G", self.name(seq & 1 == 1), ident, _ISO[day],
                "M" if seq & 1 else "F", school.code, _STATUSES[int(rnd() * 100)])

    def write_history(self, out: csv.Writer, olds: list[tuple[str, str]], current: str,
                      latest_birth: int) -> None:
        # Changes happen at school age, one after the other, before 2026-09-01.
        when = _START + latest_birth + 6 * 365 - 1
        for k, (old, reason) in enumerate(olds):
            when = self.rng.randint(when + 1, _LAST_CHANGE - (len(olds) - 1 - k))
            new = olds[k + 1][0] if k + 1 < len(olds) else current
            out.writerow((old, new, reason, dt.date.fromordinal(when).isoformat()))
        self.n_history += len(olds)

    def jl_student(self, r: float) -> tuple[str, ...]:
        rnd = self.rnd
        prefix = self.by_division.prefix(rnd)
        if r < 0.97:
            kind, (day, tail) = "J", self.j.draw(prefix)
            number = _j_number(prefix, day, tail)
        else:
            kind, (day, tail) = "L", self.l.draw(prefix)
            number = "L" + prefix + _YMD[day] + _SEQ4[tail]  # no check character
        school = self.by_division.school(prefix, day, rnd)
        return (number, kind, self.name(tail & 1 == 1), "", _ISO[day], "M" if tail & 1 else "F",
                school.code, _STATUSES[int(rnd() * 100)])

    def write(self, n: int, students: csv.Writer, history: csv.Writer,
              progress: Callable[[int], None] | None) -> None:
        rows: list[tuple[str, ...]] = []
        rnd = self.rnd
        for i in range(n):
            r = rnd()  # one draw picks the kind (90% G, 7% J, 3% L) and the history variant
            rows.append(self.g_student(r, history) if r < 0.9 else self.jl_student(r))
            if len(rows) == self.CHUNK or i == n - 1:
                students.writerows(rows)
                rows.clear()
                if progress is not None:
                    progress(i + 1)


def _writer(handle: object) -> csv.Writer:
    return csv.writer(handle, lineterminator="\n")  # type: ignore[arg-type]


def write_demo_registry(out_dir: Path, units: Sequence[UnitLike], *, n_students: int = 100_000,
                        n_schools: int = 3000, seed: int = 2016,
                        progress: Callable[[int], None] | None = None) -> DemoFiles:
    """Write units.csv, schools.csv, students.csv and history.csv into ``out_dir``.

    ``progress`` is called with the number of students written so far.
    """
    if not any(u.code == NATIONAL for u in units):
        raise ValueError(f"the units must include the national unit {NATIONAL}")
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.csv" for name in ("units", "schools", "students", "history")]
    known = {u.code for u in units}
    unit_rows = sorted([(u.code, u.name, u.level, u.parent_code or "") for u in units]
                       + [(*b[:3], b.parent_code or "") for b in BINGTUAN_UNITS
                          if b.code not in known])
    schools = _plan_schools(rng, [u for u in units if u.code[:2] != "66"], n_schools)
    with open(paths[0], "w", encoding="utf-8", newline="") as handle:
        out = _writer(handle)
        out.writerow(UNIT_HEADER)
        for code, name, level, parent in unit_rows:
            # Placeholders: a demo must never send anyone to a real hotline or mailbox.
            phone = f"{_AREA.get(code[:2], '010')}-{rng.randrange(20_000_000, 90_000_000)}"
            out.writerow((code, name, level, parent, phone, f"xueji-{code}@example.edu.cn"))
    with open(paths[1], "w", encoding="utf-8", newline="") as handle:
        out = _writer(handle)
        out.writerow(SCHOOL_HEADER)
        out.writerows((s.code, s.name, s.division, s.authority) for s in schools)
    writer = _StudentWriter(rng, schools, seed)
    with (open(paths[2], "w", encoding="utf-8", newline="", buffering=1 << 20) as students,
          open(paths[3], "w", encoding="utf-8", newline="") as history):
        student_out, history_out = _writer(students), _writer(history)
        student_out.writerow(STUDENT_HEADER)
        history_out.writerow(HISTORY_HEADER)
        writer.write(n_students, student_out, history_out, progress)
    return DemoFiles(*paths, n_units=len(unit_rows), n_schools=len(schools),
                     n_students=n_students, n_history=writer.n_history)
