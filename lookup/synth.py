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

from stdnum.cn import ric
from stdnum.iso7064 import mod_11_2

from lookup.synth_schools import (
    AREA,
    BINGTUAN_UNITS,
    FEMALE,
    MALE,
    NATIONAL,
    SURNAME_POOL,
    School,
    UnitLike,
    plan_schools,
)

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


class _Pools:
    """Schools grouped by a number prefix, each group split by the birth bands it admits."""

    def __init__(self, schools: Sequence[School], key: Callable[[School], str]) -> None:
        groups: dict[str, list[School]] = {}
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

    def school(self, prefix: str, day: int, rnd: Callable[[], float]) -> School:
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

    def __init__(self, rng: random.Random, schools: Sequence[School], seed: int) -> None:
        self.rng, self.rnd = rng, rng.random
        self.by_address = _Pools(schools, lambda s: s.address)
        self.by_division = _Pools(schools, lambda s: s.division)
        self.g, self.j, self.l = _Space(900, seed), _Space(100, seed), _Space(10_000, seed)
        self.n_history = self.chains = 0

    def name(self, male: bool) -> str:
        rnd, pool = self.rnd, MALE if male else FEMALE
        given = pool[int(rnd() * len(pool))]
        if rnd() < 0.8:
            given += pool[int(rnd() * len(pool))]
        return SURNAME_POOL[int(rnd() * len(SURNAME_POOL))] + given

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
    schools = plan_schools(rng, [u for u in units if u.code[:2] != "66"], n_schools)
    with open(paths[0], "w", encoding="utf-8", newline="") as handle:
        out = _writer(handle)
        out.writerow(UNIT_HEADER)
        for code, name, level, parent in unit_rows:
            # Placeholders: a demo must never send anyone to a real hotline or mailbox.
            phone = f"{AREA.get(code[:2], '010')}-{rng.randrange(20_000_000, 90_000_000)}"
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
