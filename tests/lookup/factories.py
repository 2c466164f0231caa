"""Builders of valid registry rows for tests (numbers with correct check characters), and their loader."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from lookup.history import import_history
from lookup.importers import import_schools, import_students
from lookup.numbers import id_check_char, make_j_number, make_l_number

SCHOOL_HEADER = "code,name,division_code,authority_code"
STUDENT_HEADER = "number,kind,name,id_number,birth_date,gender,school_code,status"
HISTORY_HEADER = "old_number,new_number,reason,changed_on"
UNIT_HEADER = "code,name,level,parent_code,complaint_phone,complaint_email"

# Schools covering the traps of DESIGN.md, all valid.
SCHOOLS = [
    "2111000001,北京市朝阳区实验小学,110105,",            # municipal district
    "3142000001,仙桃市第一中学,429004,",                  # province-administered city
    "2144000001,东莞市莞城中心小学,441900,",              # prefecture without counties
    "3413000001,石家庄市第一中学,130102,130100",          # 市直属: authority is the prefecture
    "3413000002,河北省实验中学,130102,130000",            # 省直属: authority is the province
    "2166000001,兵团第八师石河子第一小学,659001,660800",  # 兵团 school
    "2113000003,长安区第三小学,130102,",                  # ordinary county school
]


def id_number(address: str = "130102", birth: str = "20120305", sequence: int = 1) -> str:
    first17 = f"{address}{birth}{sequence:03d}"
    return first17 + id_check_char(first17)


def g_row(sequence: int = 1, *, name: str = "张三", school: str = "2113000003",
          address: str = "130102", birth: str = "20120305", status: str = "在读") -> str:
    ident = id_number(address, birth, sequence)
    gender = "M" if sequence % 2 else "F"
    date = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    return f"G{ident},G,{name},{ident},{date},{gender},{school},{status}"


def j_number(sequence: int = 1, region: str = "130102",
             birth: datetime.date = datetime.date(2013, 7, 1)) -> str:
    return make_j_number(region, birth, sequence)


def j_row(sequence: int = 1, *, name: str = "李四", school: str = "2113000003") -> str:
    return f"{j_number(sequence)},J,{name},,2013-07-01,F,{school},在读"


def l_row(random4: int = 1234, *, name: str = "王五", school: str = "2113000003") -> str:
    number = make_l_number("130102", datetime.date(2014, 2, 28), random4)
    return f"{number},L,{name},,2014-02-28,M,{school},在读"


def import_registry(session: Session, write: Callable[[str, list[str]], Path], *, students: Sequence[str],
                    id_hash_key: bytes, history: Sequence[str] = ()) -> None:
    """Load SCHOOLS, then ``students`` and ``history`` (CSV lines without their header),
    through the real importers. ``write(name, lines)`` makes each CSV file; nothing is committed."""
    import_schools(session, write("schools.csv", [SCHOOL_HEADER, *SCHOOLS]))
    import_students(session, write("students.csv", [STUDENT_HEADER, *students]), id_hash_key)
    if history:
        import_history(session, write("history.csv", [HISTORY_HEADER, *history]))
