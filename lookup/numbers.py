"""Student numbers, resident ID numbers and school codes: normalising, checking, building.

Pure functions over strings, no database: the rules are those of DESIGN.md,
"Student numbers". Every rejection is a :class:`NumberError` whose message is
the Chinese sentence shown to the person who typed the number, so views and
the hotline never word their own.

>>> parse_student_number("g 110105 19491231 002x").id_number
'11010519491231002X'
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

# Explicit [0-9] everywhere: "\d" and str.isdigit() also accept Arabic-Indic
# and other Unicode digits, which NFKC leaves alone and int() would happily read.
_ID18 = re.compile(r"[0-9]{17}[0-9X]")
_ID15 = re.compile(r"[0-9]{15}")
_DIGITS18 = re.compile(r"[0-9]{18}")
_DIGITS = re.compile(r"[0-9]+")
_CLEAN = re.compile(r"[0-9A-Z]*")

# Hyphens NFKC leaves as they are (it already folds － and ﹣ into "-"), plus
# the invisible characters that come along when a number is copied out of a
# chat message: all are separators to the person typing, never part of a number.
_DROP = dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b"
                               "\u200b\u200c\u200d\u2060\ufeff"))
# Chinese input methods offer "×" where the ID check character X is wanted,
# and many people type it; it can never mean anything else in a number.
_DROP[ord("\u00d7")] = "X"

_MIN_YEAR = 1900
_ID, _STUDENT, _SCHOOL = "身份证号", "学籍号", "学校标识码"


class NumberError(ValueError):
    """A number the user typed is malformed.

    ``field`` names the form field, ``code`` is one of ``empty``, ``length``,
    ``format``, ``checksum``, ``birth_date`` or ``region``, and ``message`` is
    the sentence for the user.

    >>> exc = NumberError("id_number", "checksum", "身份证号校验位不正确，请核对后重新输入")
    >>> str(exc) == exc.message, isinstance(exc, ValueError)
    (True, True)
    """

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message

    def __reduce__(self):  # the default would call __init__ with the message alone
        return type(self), (self.field, self.code, self.message)


def _fail(field: str, code: str, noun: str, detail: str = "") -> NumberError:
    # The messages shared by every kind of number; length and format are worded
    # by the caller because they depend on what the number looks like.
    message = detail or {
        "empty": f"请输入{noun}",
        "birth_date": f"{noun}中的出生日期不正确，请核对后重新输入",
        "checksum": f"{noun}校验位不正确，请核对后重新输入",
    }[code]
    return NumberError(field, code, message)


def normalize(text: str) -> str:
    """The number as it was meant, from what a parent typed on a phone.

    Full-width characters are folded (NFKC), spaces, tabs and hyphens of every
    kind removed, letters upper-cased. Never raises; the result may still be
    invalid.

    >>> normalize("１１０１０５　１９４９-１２３１ ００２ｘ")
    '11010519491231002X'
    >>> normalize("g–1101")
    'G1101'
    """
    # Fast paths for what machines and most people send: imports call this
    # several times a row, millions of times.
    if _CLEAN.fullmatch(text):
        return text
    if text.isascii():  # NFKC leaves ASCII alone
        return "".join(text.translate(_DROP).split()).upper()
    folded = unicodedata.normalize("NFKC", text).translate(_DROP)
    return "".join(ch for ch in folded if not ch.isspace()).upper()


@dataclass(frozen=True)
class IdNumber:
    """A checked resident ID number (GB 11643)."""

    number: str  # normalised: 18 characters, or 15 digits for a legacy number
    address_code: str  # birthplace at issue; not checked here (see parse_id_number)
    birth_date: datetime.date
    gender: str  # "M" or "F"
    legacy: bool  # first-generation 15-digit number: 19YY birth year, no check character


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character ("0"-"9" or "X") of 17 digits.

    >>> id_check_char("11010519491231002")
    'X'
    """
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError(f"expected 17 digits, got {first17!r}")
    return _check_char(first17)


def _check_char(digits17: str) -> str:
    # ISO 7064 MOD 11-2 in one int() call, as python-stdnum computes it for
    # ID numbers: the weights are 2^(17-i) mod 11, and 13 = 2 (mod 11), so
    # reading the digits in base 13 sums them with those weights. This runs
    # for every row of an import; the tests compare it with stdnum's.
    return "0123456789X"[(1 - 2 * int(digits17, 13)) % 11]


def _birth_date(yyyymmdd: str, today: datetime.date | None) -> datetime.date | None:
    # None for anything no living student's record can hold: an impossible
    # calendar date (19XX0229 in a common year), a future date, or before 1900.
    try:
        born = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None
    if born.year < _MIN_YEAR or born > (today or datetime.date.today()):
        return None
    return born


def _id_parts(number: str, *, noun: str, field: str, today: datetime.date | None) -> IdNumber:
    # Shared by ID numbers and G student numbers, whose errors must name the
    # number the user actually typed (noun) and its form field.
    legacy = len(number) == 15
    born = _birth_date("19" + number[6:12] if legacy else number[6:14], today)
    if born is None:
        raise _fail(field, "birth_date", noun)
    # The date is checked first: a typo in it then says where the mistake is,
    # where a checksum failure would only say that there is one.
    if not legacy and number[17] != _check_char(number[:17]):
        raise _fail(field, "checksum", noun)
    sequence_last = number[14] if legacy else number[16]
    gender = "M" if int(sequence_last) % 2 else "F"
    return IdNumber(number, number[:6], born, gender, legacy)


def parse_id_number(
    text: str, *, field: str = "id_number", today: datetime.date | None = None
) -> IdNumber:
    """Check a resident ID number as typed and take it apart.

    The birthplace code is deliberately not checked: a code unknown for the
    birth year is only a warning (late household registrations are real), and
    the caller has the division table to judge it.

    >>> parse_id_number("11010519491231002x")
    IdNumber(number='11010519491231002X', address_code='110105', birth_date=datetime.date(1949, 12, 31), gender='F', legacy=False)
    >>> parse_id_number("110105491231002").birth_date
    datetime.date(1949, 12, 31)
    >>> parse_id_number("110105194912310021")
    Traceback (most recent call last):
    lookup.numbers.NumberError: 身份证号校验位不正确，请核对后重新输入
    """  # noqa: E501
    number = normalize(text)
    if not number:
        raise _fail(field, "empty", _ID)
    if len(number) not in (15, 18):
        raise _fail(field, "length", _ID, f"身份证号应为18位，您输入了{len(number)}位")
    if not (_ID18 if len(number) == 18 else _ID15).fullmatch(number):
        raise _fail(field, "format", _ID, "身份证号只能由数字组成，18位号码的最后一位可以是X")
    return _id_parts(number, noun=_ID, field=field, today=today)


def mask_id_number(number: str) -> str:
    """The number with all but its first 3 and last 4 characters hidden.

    Anything that is not 15 or 18 characters long is hidden entirely: it is
    not a number we know how much of is safe to show.

    >>> mask_id_number("110105200901011234")
    '110***********1234'
    >>> mask_id_number("110105490101123")
    '110********1123'
    >>> mask_id_number("1101052009")
    '**********'
    """
    number = normalize(number)
    if len(number) not in (15, 18):
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


@dataclass(frozen=True)
class StudentNumber:
    """A checked national student registry number (全国学籍号)."""

    number: str  # 19 characters
    kind: str  # "G", "J" or "L"
    region_code: str  # G: the ID number's address code; J, L: the school's region code
    birth_date: datetime.date
    id_number: str | None  # G only: the 18-character ID number it contains


def parse_student_number(
    text: str, *, field: str = "number", today: datetime.date | None = None
) -> StudentNumber:
    """Check a student number as typed and take it apart.

    >>> parse_student_number("J110105201009010074").kind
    'J'
    >>> parse_student_number("L11010520100901004X")
    Traceback (most recent call last):
    lookup.numbers.NumberError: 学籍号字母后应为18位数字，G、J开头的最后一位可以是X
    """
    number = normalize(text)
    if not number:
        raise _fail(field, "empty", _STUDENT)
    if len(number) != 19:
        raise _fail(field, "length", _STUDENT, f"学籍号应为19位，您输入了{len(number)}位")
    kind, body = number[0], number[1:]
    if kind not in ("G", "J", "L"):
        raise _fail(field, "format", _STUDENT, "学籍号应以字母G、J或L开头")
    # L numbers end in four random digits, not a check character: an X there
    # is a typo, and the MOD 11-2 check must never be applied to them.
    if not (_DIGITS18 if kind == "L" else _ID18).fullmatch(body):
        raise _fail(
            field, "format", _STUDENT, "学籍号字母后应为18位数字，G、J开头的最后一位可以是X"
        )
    if kind == "G":
        # Only 18-character ID numbers are embedded; a legacy 15-digit one
        # would make a 16-character number and fail the length check above.
        idn = _id_parts(body, noun=_STUDENT, field=field, today=today)
        return StudentNumber(number, kind, idn.address_code, idn.birth_date, idn.number)
    born = _birth_date(body[6:14], today)
    if born is None:
        raise _fail(field, "birth_date", _STUDENT)
    if kind == "J" and body[17] != _check_char(body[:17]):
        raise _fail(field, "checksum", _STUDENT)
    return StudentNumber(number, kind, body[:6], born, None)


def _j_l_prefix(region_code: str, birth_date: datetime.date) -> str:
    # Refuse what parse_student_number would refuse, so that every number we
    # issue can be looked up again.
    if not re.fullmatch(r"[0-9]{6}", region_code):
        raise NumberError("region_code", "region", "地区代码应为6位数字")
    digits = f"{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}"
    if _birth_date(digits, None) is None:
        raise _fail("birth_date", "birth_date", _STUDENT)
    return region_code + digits


def make_j_number(region_code: str, birth_date: datetime.date, sequence: int) -> str:
    """A J number: the school's region code, birth date, sequence and check character.

    >>> make_j_number("110105", datetime.date(2010, 9, 1), 7)
    'J110105201009010074'
    """
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0-999, got {sequence}")
    first17 = _j_l_prefix(region_code, birth_date) + f"{sequence:03d}"
    return "J" + first17 + id_check_char(first17)


def make_l_number(region_code: str, birth_date: datetime.date, random4: int) -> str:
    """A temporary L number: the school's region code, birth date and 4 random digits.

    >>> make_l_number("110105", datetime.date(2010, 9, 1), 42)
    'L110105201009010042'
    """
    if not 0 <= random4 <= 9999:
        raise ValueError(f"random4 must be 0-9999, got {random4}")
    return "L" + _j_l_prefix(region_code, birth_date) + f"{random4:04d}"


def g_number_for(id_number: str) -> str:
    """The G number of an 18-character ID number (checked first).

    >>> g_number_for("11010519491231002x")
    'G11010519491231002X'
    """
    idn = parse_id_number(id_number)
    if idn.legacy:
        # A G number holds the 18-character number; the 15-digit one must be
        # replaced by the student's current ID number, not converted here.
        raise _fail("id_number", "length", _ID, "学籍号须使用18位身份证号，请提供18位号码")
    return "G" + idn.number


def parse_school_code(text: str, *, field: str = "school_code") -> str:
    """A 学校标识码 as typed, normalised: exactly 10 digits.

    >>> parse_school_code("２１１１ ０００００１")
    '2111000001'
    """
    code = normalize(text)
    if not code:
        raise _fail(field, "empty", _SCHOOL)
    if not _DIGITS.fullmatch(code):
        raise _fail(field, "format", _SCHOOL, "学校标识码应为10位数字")
    if len(code) != 10:
        raise _fail(field, "length", _SCHOOL, f"学校标识码应为10位数字，您输入了{len(code)}位")
    return code


def school_code_province(code: str) -> str:
    """The province code inside a school code (its 3rd and 4th digits).

    It is the only place the code carries: a school's county and authority
    come from its record (DESIGN.md), never from its code.

    >>> school_code_province("2111000001")
    '11'
    """
    return parse_school_code(code)[2:4]
