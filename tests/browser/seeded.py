"""The registry the browser tests' live server holds, loaded through the real importers.

A handful of students, one of each kind a family may ask about: G students
(found by their ID number), a J and an L student (no ID number: found by
birth date and school), and a student whose J number was replaced by a G
number (学籍号变更, shown by the number check).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lookup.registry import seed
from lookup.search import shown_number
from tests.lookup.factories import g_row, id_number, import_registry, j_number, j_row, l_row


@dataclass(frozen=True)
class Seeded:
    """One student as a test types and expects it."""

    row: str  # the students.csv line
    name: str
    kind: str
    id_number: str = ""
    birth_date: str = ""
    school_code: str = ""

    @property
    def number(self) -> str:
        return self.row.split(",")[0]


ZHANG = Seeded(g_row(1, name="张三"), "张三", "G", id_number=id_number(sequence=1))
ZHAO = Seeded(g_row(3, name="赵六", school="2111000001", address="110105", birth="20110817"),
              "赵六", "G", id_number=id_number("110105", "20110817", 3))
LI = Seeded(j_row(1, name="李四"), "李四", "J", birth_date="2013-07-01", school_code="2113000003")
WANG = Seeded(l_row(name="王五"), "王五", "L", birth_date="2014-02-28", school_code="2113000003")
# 陈七 was registered with a J number, then got an ID number and a G number.
CHEN = Seeded(g_row(5, name="陈七"), "陈七", "G", id_number=id_number(sequence=5))
CHEN_OLD_NUMBER = j_number(2)
CHEN_SHOWN_NUMBER = shown_number(CHEN.number)  # a number check never shows a whole ID number

# A valid ID number (correct check character, same birthplace as 张三) of nobody.
UNKNOWN_ID = id_number(sequence=99)


def wrong_check_character(number: str) -> str:
    """``number`` with its last (check) character changed: a typical typo."""
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def load(engine: Engine, folder: Path, id_hash_key: bytes) -> None:
    """Fill a migrated database: the authority tree, then schools, students and number history."""
    def write(name: str, lines: list[str]) -> Path:
        path = folder / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    students = [ZHANG, ZHAO, LI, WANG, CHEN]
    history = [f"{CHEN_OLD_NUMBER},{CHEN.number},补录身份证号,{datetime.date(2019, 9, 1)}"]
    with Session(engine) as session:
        seed(session)
        import_registry(session, write, students=[s.row for s in students], history=history,
                        id_hash_key=id_hash_key)
        session.commit()
