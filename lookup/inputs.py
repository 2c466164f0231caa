"""What a lookup asks, parsed from a form or a JSON body: one set of rules for both.

Pure functions over plain data. Every rejection is a :class:`NumberError`
naming the field, with the Chinese sentence to show; none of them depends on
the registry, so a rejection never tells anything about a student.

>>> parse_query({"name": " 张三 ", "id_number": "11010519491231002x"})
ById(name='张三', id_number=IdNumber(number='11010519491231002X', ...))
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace

from lookup.numbers import (
    IdNumber,
    NumberError,
    StudentNumber,
    id_check_char,
    normalize,
    parse_id_number,
    parse_school_code,
    parse_student_number,
)

MAX_NAME = 40  # characters; the longest names in the registry are well below this
MAX_FIELD = 64  # characters of any raw field, before normalising
ID_FIELDS = frozenset({"name", "id_number"})
BIRTH_FIELDS = frozenset({"name", "birth_date", "school_code"})
CHECK_FIELDS = frozenset({"name", "number"})

# Middle dots that separate the parts of a name (买买提·艾力), as typed by
# different input methods; the registry writes U+00B7.
_DOTS = dict.fromkeys(map(ord, "\u2022\u2027\u30fb\uff65\u2219\u22c5\u0387\u16eb\u2e31"), "\u00b7")
_DATE = re.compile(r"([0-9]{4})[-/.年]?([0-9]{1,2})[-/.月]?([0-9]{1,2})日?")


@dataclass(frozen=True)
class ById:
    """Name and resident ID number: most students (their number is G + the ID number)."""

    name: str
    id_number: IdNumber


@dataclass(frozen=True)
class ByBirth:
    """Name, birth date and school code: students with no ID number (J and L numbers)."""

    name: str
    birth_date: datetime.date
    school_code: str


@dataclass(frozen=True)
class ByNumber:
    """Name and a national number the family or school holds, perhaps an old one."""

    name: str
    number: StudentNumber


Query = ById | ByBirth | ByNumber


def _raw(data: Mapping[str, object], field: str, noun: str) -> str:
    value = data.get(field)
    if value is None or value == "":
        raise NumberError(field, "empty", f"请输入{noun}")
    if not isinstance(value, str):
        raise NumberError(field, "format", f"{noun}应为文字")
    if len(value) > MAX_FIELD:
        raise NumberError(field, "length", f"{noun}过长，请核对后重新输入")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Co") for ch in value if ch not in "\t\n\r"):
        raise NumberError(field, "format", f"{noun}中含有无法识别的字符，请重新输入")
    return value


def normalize_name(text: str) -> str:
    """A name as it is compared: width folded, spaces dropped, one kind of middle dot.

    >>> normalize_name(" 买买提・艾力 ")
    '买买提·艾力'
    >>> normalize_name("Ｍａｒｙ Ｗａｎｇ")
    'MaryWang'
    """
    folded = unicodedata.normalize("NFKC", text).translate(_DOTS)
    return "".join(ch for ch in folded if not ch.isspace() and unicodedata.category(ch) != "Cf")


def parse_name(data: Mapping[str, object]) -> str:
    """The student's name: letters of any script (rare characters included) and middle dots.

    >>> parse_name({"name": "张 三"})
    '张三'
    >>> parse_name({"name": "张三3"})
    Traceback (most recent call last):
    lookup.numbers.NumberError: 姓名只能包含文字和间隔号“·”，请核对后重新输入
    """
    name = normalize_name(_raw(data, "name", "姓名"))
    if not name:
        raise NumberError("name", "empty", "请输入姓名")
    if len(name) > MAX_NAME:
        raise NumberError("name", "length", "姓名过长，请核对后重新输入")
    if not all(ch == "\u00b7" or unicodedata.category(ch)[0] in "LM" for ch in name):
        raise NumberError("name", "format", "姓名只能包含文字和间隔号“·”，请核对后重新输入")
    return name


def parse_birth_date(data: Mapping[str, object], *, today: datetime.date | None = None) -> datetime.date:
    """A birth date as a date input, a parent or a clerk writes it.

    >>> parse_birth_date({"birth_date": "2013年7月1日"})
    datetime.date(2013, 7, 1)
    >>> parse_birth_date({"birth_date": "2013-02-29"})
    Traceback (most recent call last):
    lookup.numbers.NumberError: 出生日期不存在，请核对后重新输入
    """
    text = normalize(_raw(data, "birth_date", "出生日期"))
    match = _DATE.fullmatch(text)
    if not match:
        raise NumberError("birth_date", "format", "出生日期格式应为“年-月-日”，例如 2013-07-01")
    try:
        born = datetime.date(*map(int, match.groups()))
    except ValueError:
        raise NumberError("birth_date", "birth_date", "出生日期不存在，请核对后重新输入") from None
    if born > (today or datetime.date.today()) or born.year < 1900:
        raise NumberError("birth_date", "birth_date", "出生日期不在有效范围内，请核对后重新输入")
    return born


def parse_query(data: Mapping[str, object], *, way: str | None = None,
                today: datetime.date | None = None) -> Query:
    """The lookup ``data`` asks for: by ID number (``way="id"``), or by birth date and
    school code (``way="birth"``).

    A form says which way it is; for an API request (``way=None``) the fields
    present decide, and both, or neither, is an error naming what to fill in.

    >>> parse_query({"name": "李四", "birth_date": "2013-07-01", "school_code": "2113000003"})
    ByBirth(name='李四', birth_date=datetime.date(2013, 7, 1), school_code='2113000003')
    >>> parse_query({"name": "李四"})
    Traceback (most recent call last):
    lookup.numbers.NumberError: 请输入身份证号；没有身份证号的学生请填写出生日期和学校标识码
    """
    if way is None:
        present = {key for key, value in data.items() if value not in (None, "")}
        by_birth = bool(present & {"birth_date", "school_code"})
        if "id_number" in present and by_birth:
            raise NumberError("id_number", "format",
                              "请只选择一种查询方式：身份证号，或出生日期加学校标识码")
        if "id_number" not in present and not by_birth:
            raise NumberError("id_number", "empty",
                              "请输入身份证号；没有身份证号的学生请填写出生日期和学校标识码")
        way = "birth" if by_birth else "id"
    name = parse_name(data)
    if way == "id":
        id_number = parse_id_number(_raw(data, "id_number", "身份证号"), today=today)
        return ById(name, _upgraded(id_number))
    born = parse_birth_date(data, today=today)
    return ByBirth(name, born, parse_school_code(_raw(data, "school_code", "学校标识码")))


def parse_check(data: Mapping[str, object], *, today: datetime.date | None = None) -> ByNumber:
    """A number check: the name and a national number (学籍号), old or current.

    >>> parse_check({"name": "李四", "number": "j110105201009010074"}).number.kind
    'J'
    """
    name = parse_name(data)
    number = parse_student_number(_raw(data, "number", "学籍号"), today=today)
    return ByNumber(name, number)


def _upgraded(id_number: IdNumber) -> IdNumber:
    # A first-generation 15-digit number becomes the 18-character one the
    # registry holds (GB 11643: insert the century, append the check character).
    if not id_number.legacy:
        return id_number
    first17 = id_number.number[:6] + "19" + id_number.number[6:]
    return replace(id_number, number=first17 + id_check_char(first17), legacy=False)


def identity_keys(query: Query) -> tuple[str, str, str | None]:
    """What identifies the child a query is about, as plain strings to be keyed-hashed.

    Three keys, each limited on its own, so that guessing any one missing
    piece is stopped: the number (an ID number, a national number, or birth
    date and school), the name with the birth date, and for lookups without an
    ID number the name with the school. The same child has the same keys
    whichever way it is asked about.

    >>> identity_keys(parse_query({"name": "张三", "id_number": "11010519491231002X"}))
    ('id:11010519491231002X', 'nb:张三|1949-12-31', None)
    """
    if isinstance(query, ById):
        first, born = f"id:{query.id_number.number}", query.id_number.birth_date
    elif isinstance(query, ByNumber):
        number = query.number
        first = f"id:{number.id_number}" if number.kind == "G" else f"num:{number.number}"
        born = number.birth_date
    else:
        first, born = f"sb:{query.school_code}|{query.birth_date.isoformat()}", query.birth_date
    third = f"ns:{query.name}|{query.school_code}" if isinstance(query, ByBirth) else None
    return first, f"nb:{query.name}|{born.isoformat()}", third
