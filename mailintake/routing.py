"""What a message names, resolved against the registry, for the one routing function.

:func:`mailintake.extract.candidates` finds school codes, student numbers,
ID numbers, school names and place names in the text; this module looks
them up. Precedence, strongest evidence first (each level is used only when the ones
before it identify no school):

1. numbers: a 学校标识码 the registry knows is a school of the matter;
   a J or L number (or an old number that became another, through the
   number history) is a student, and the student's school is a school of
   the matter; so is the school of a student whose ID number (or the ID
   number inside a G number) matches ``students.id_hash`` — only the keyed
   hash is ever compared;
2. school names (仙桃市第一中学, 仙桃一中, 第一中学 with 仙桃 named elsewhere;
   :mod:`mailintake.school_match`); a name that stands for several schools
   is not guessed: the mail is triaged with the candidates shown, and the
   places do not route it either;
3. places: the unit they name, the deepest when they lie on one line of the
   tree (北京市海淀区 → 海淀区), otherwise their lowest common authority, as
   the 2014 notice item 1 does for schools.

The schools then go to ``hotline.routing.route`` through ``create_ticket``
(2014 notice item 1). What nothing resolves is shown in the trace as a
candidate, for the agent who triages the ticket (issue 6 item 3). The trace
names schools and units, never a student's number or ID number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import routing
from hotline.routing_rule import RoutingError, Tree, UnitRef, chain, lowest_common_authority
from hotline.tickets.intake import StudentRef
from lookup.models import NumberChange, School, Student, Unit
from mailintake.extract import Candidates
from mailintake.school_match import resolve_names

# A mail that lists more schools than this is no complaint about each of
# them (a pasted spreadsheet); the first ones route it, the agent sees all.
MAX_SCHOOLS = 20
MAX_STUDENTS = 50


@dataclass(frozen=True)
class MailRoute:
    """What routing needs of a message, and the lines that explain it."""

    school_codes: tuple[str, ...]
    students: tuple[StudentRef, ...]
    place_unit: UnitRef | None  # only when no school is known
    trace: tuple[str, ...]


def _schools(session: Session, codes: Iterable[str]) -> dict[str, str]:
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    return dict(session.execute(select(School.code, School.name).where(School.code.in_(codes))).all())


def _by_number(session: Session, numbers: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Student number as written → (the student's current number, school code)."""
    if not numbers:
        return {}
    found = {n: (n, s) for n, s in session.execute(
        select(Student.number, Student.school_code).where(Student.number.in_(numbers)))}
    missing = [n for n in numbers if n not in found]
    if missing:
        # A J number that became a G number (2016 notice attachment 1: the
        # history is kept), perhaps more than once: follow it to the end.
        renamed = dict(session.execute(select(NumberChange.old_number, NumberChange.new_number)
                                       .where(NumberChange.old_number.in_(missing))).all())
        for old, new in renamed.items():
            for _ in range(8):
                onward = session.scalar(select(NumberChange.new_number).where(NumberChange.old_number == new))
                if onward is None:
                    break
                new = onward
            school = session.scalar(select(Student.school_code).where(Student.number == new))
            if school is not None:
                found[old] = (new, school)
    return found


def _place_unit(session: Session, found: Candidates) -> tuple[UnitRef | None, list[str]]:
    """The unit the places name, and the lines that say which places counted."""
    lines: list[str] = []
    certain = [p for p in found.places if len(p.codes) == 1]
    unsure = [p for p in found.places if len(p.codes) > 1]
    if unsure:
        lines.append("邮件提到的地名有多个同名行政区，未用于分办：" + "、".join(
            f"{p.text}（{'、'.join(p.codes)}）" for p in unsure[:10]))
    if not certain:
        return None, lines
    codes = list(dict.fromkeys(p.codes[0] for p in certain))
    active = set(session.scalars(select(Unit.code).where(Unit.code.in_(codes), Unit.active)))
    codes = [c for c in codes if c in active]
    if not codes:
        return None, lines
    tree = routing.load_tree(session, codes)
    try:
        chosen = deepest_or_common(tree, codes)
    except RoutingError:
        return None, lines
    lines.append("邮件提到的地名：" + "、".join(p.text for p in certain[:10]))
    lines.append(f"未提到可识别的学校，依据地名由 {chosen.label()} 负责处理")
    return chosen, lines


def deepest_or_common(tree: Tree, codes: list[str]) -> UnitRef:
    """The deepest unit when all lie on one line from the root, else their lowest common authority.

    >>> tree = {"000000": UnitRef("000000", "教育部", "national", None),
    ...         "110000": UnitRef("110000", "北京市教育委员会", "province", "000000"),
    ...         "110108": UnitRef("110108", "北京市海淀区教育委员会", "county", "110000"),
    ...         "130000": UnitRef("130000", "河北省教育厅", "province", "000000")}
    >>> deepest_or_common(tree, ["110000", "110108"]).code
    '110108'
    >>> deepest_or_common(tree, ["110108", "130000"]).code
    '000000'
    """
    lines = {code: [u.code for u in chain(tree, code)] for code in codes}
    deepest = max(codes, key=lambda c: len(lines[c]))
    if all(code in lines[deepest] for code in codes):
        return tree[deepest]
    return lowest_common_authority(tree, codes)


def resolve(session: Session, found: Candidates) -> MailRoute:
    """Look up everything ``found`` names; see the module's docstring for the rules."""
    trace: list[str] = []
    named = _schools(session, found.school_codes)
    unknown = [c for c in found.school_codes if c not in named]
    if named:
        trace.append("邮件提到的学校：" + "、".join(f"{name}（{code}）" for code, name in named.items()))
    if unknown:
        trace.append("邮件中的学校标识码在学籍库中不存在，未用于分办：" + "、".join(unknown[:10]))
    schools = list(named)
    students: list[StudentRef] = []

    numbers = _by_number(session, found.student_numbers[:MAX_STUDENTS])
    for written in found.student_numbers[:MAX_STUDENTS]:
        current, school = numbers.get(written, (written, None))
        # A G number is "G" + the ID number: kept, it would be the ID number
        # in clear (as hotline.console.call_search keeps students). The J or
        # L number written finds the record again through the history.
        students.append(StudentRef(number=written if current.startswith("G") else current))
        if school:
            schools.append(school)
    ids = found.ids[:MAX_STUDENTS]
    by_hash = {h: (n, s) for h, n, s in session.execute(
        select(Student.id_hash, Student.number, Student.school_code)
        .where(Student.id_hash.in_([i.id_hash for i in ids])))} if ids else {}
    for mention in ids:
        number, school = by_hash.get(mention.id_hash, (None, None))
        kept = number if number and not number.startswith("G") else None
        students.append(StudentRef(number=kept, id_hash=mention.id_hash, id_masked=mention.masked[-18:]))
        if school:
            schools.append(school)
    matched = len(numbers) + len(by_hash)
    if matched:
        via = sorted({s for _, s in numbers.values()} | {s for _, s in by_hash.values()})
        trace.append(f"邮件中的 {matched} 个学籍号或身份证号对应在籍学生，所在学校：" + "、".join(via[:10]))
    if len(students) > matched:
        trace.append(f"邮件中另有 {len(students) - matched} 个学籍号或身份证号在学籍库中找不到")

    schools = list(dict.fromkeys(schools))
    if len(schools) > MAX_SCHOOLS:
        trace.append(f"邮件涉及 {len(schools)} 所学校，按前 {MAX_SCHOOLS} 所分办")
        schools = schools[:MAX_SCHOOLS]
    ambiguous = False
    if schools and found.school_names:
        written = "、".join(m.written for m in found.school_names)
        trace.append(f"邮件提到的学校名称（已有学校标识码或学籍号，未用于分办）：{written}")
    elif found.school_names:
        by_name = resolve_names(session, found.school_names, found.place_codes)
        trace.extend(by_name.trace)
        schools, ambiguous = list(by_name.school_codes[:MAX_SCHOOLS]), by_name.ambiguous
    place_unit = None
    if schools or ambiguous:
        if found.places:
            places = "、".join(p.text for p in found.places[:10])
            held = "已有学校" if schools else "学校名称待确定"
            trace.append(f"邮件提到的地名（{held}，未用于分办）：{places}")
        if ambiguous:
            trace.append("邮件中的学校名称对应多所学校，不作推测，由受理单位分办")
    else:
        place_unit, lines = _place_unit(session, found)
        trace.extend(lines)
        if place_unit is None and found.empty:
            trace.append("邮件未提到可识别的学校标识码、学籍号、身份证号或地名，由受理单位分办")
        elif place_unit is None:
            trace.append("邮件提到的内容不足以确定负责单位，由受理单位分办")
    return MailRoute(tuple(schools), tuple(students), place_unit, tuple(trace))
