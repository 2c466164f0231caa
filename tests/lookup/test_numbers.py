"""Tests for lookup.numbers: ID numbers, student numbers, school codes."""

from __future__ import annotations

import datetime
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_11_2

from lookup.numbers import (
    IdNumber,
    NumberError,
    StudentNumber,
    g_number_for,
    id_check_char,
    make_j_number,
    make_l_number,
    mask_id_number,
    normalize,
    parse_id_number,
    parse_school_code,
    parse_student_number,
    school_code_province,
)

TODAY = datetime.date(2025, 3, 1)
D = datetime.date

# GB 11643's own table, written out independently of python-stdnum so that
# the two implementations check each other.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_char(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def build_id(address: str, birth: str, seq: int) -> str:
    first17 = f"{address}{birth}{seq:03d}"
    return first17 + check_char(first17)


def wrong_check(number: str) -> str:
    """The same number with a check character that is certainly wrong."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")


VALID_ID = build_id("440305", "20100615", 123)  # odd sequence: a boy
VALID_ID_F = build_id("310104", "20121130", 46)
KNOWN = "11010519491231002X"  # the standard's worked example


def code_of(func, *args, **kwargs) -> str:
    with pytest.raises(NumberError) as info:
        func(*args, **kwargs)
    assert str(info.value) == info.value.message
    return info.value.code


# --- normalize --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("１１０１０５", "110105"),
        ("ｘ", "X"),
        ("x", "X"),
        ("g110", "G110"),
        (" 110 105\t", "110105"),
        ("110\u3000105", "110105"),
        ("110\u00a0105\n", "110105"),
        *[(f"110{h}105", "110105") for h in "-‐‑‒–—―−﹣－"],
        ("\ufeff110\u200b105", "110105"),  # pasted out of a chat message
        ("11010519491231002×", KNOWN),  # IME multiplication sign for X
        ("ｇ１１０１０５－１９４９　１２３１－００２ｘ", "G" + KNOWN),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@given(st.text())
def test_normalize_never_raises_and_is_stable(text):
    once = normalize(text)
    assert not any(ch.isspace() or ch == "-" for ch in once)
    # Stable on anything that can be a number; joining the pieces of exotic
    # text may form new combined characters, which no number contains.
    if once.isascii():
        assert normalize(once) == once


# --- ID numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "expected"),
    [("11010519491231002", "X"), (VALID_ID[:17], VALID_ID[17]), (VALID_ID_F[:17], VALID_ID_F[17])],
)
def test_id_check_char(first17, expected):
    assert id_check_char(first17) == expected


@pytest.mark.parametrize("bad", ["", "1101051949123100", "110105194912310021", "1101051949123100A"])
def test_id_check_char_needs_17_digits(bad):
    with pytest.raises(ValueError):
        id_check_char(bad)


@pytest.mark.parametrize(
    ("text", "number", "address", "birth", "gender"),
    [
        (KNOWN, KNOWN, "110105", D(1949, 12, 31), "F"),
        (KNOWN.lower(), KNOWN, "110105", D(1949, 12, 31), "F"),
        ("１１０１０５１９４９１２３１００２Ｘ", KNOWN, "110105", D(1949, 12, 31), "F"),
        ("110105 19491231 002x", KNOWN, "110105", D(1949, 12, 31), "F"),
        ("110105-1949-1231-002X", KNOWN, "110105", D(1949, 12, 31), "F"),
        (VALID_ID, VALID_ID, "440305", D(2010, 6, 15), "M"),
        (VALID_ID_F, VALID_ID_F, "310104", D(2012, 11, 30), "F"),
        # Birthplace codes are not judged here, even one no table has.
        (build_id("999999", "20100101", 1), build_id("999999", "20100101", 1), "999999",
         D(2010, 1, 1), "M"),
    ],
)
def test_parse_id_number_valid(text, number, address, birth, gender):
    idn = parse_id_number(text, today=TODAY)
    assert idn == IdNumber(number, address, birth, gender, legacy=False)
    assert mod_11_2.is_valid(idn.number)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        (" \u3000-", "empty"),
        (KNOWN[:17], "length"),
        (KNOWN + "1", "length"),
        ("1101051949123", "length"),
        ("1101051949123100X", "length"),
        ("11010519491231002Y", "format"),
        ("1101051949123100X2", "format"),  # X only as the last character
        ("X10105194912310021", "format"),
        ("11010549123100X", "format"),  # legacy numbers have no check character
        ("11010519491231002\u0663", "format"),  # Arabic-Indic three is a digit, not ours
        (wrong_check(KNOWN), "checksum"),
        (wrong_check(VALID_ID), "checksum"),
        (build_id("110105", "20101301", 1), "birth_date"),  # month 13
        (build_id("110105", "20100431", 1), "birth_date"),  # 31 April
        (build_id("110105", "20100000", 1), "birth_date"),
        (build_id("110105", "18991231", 1), "birth_date"),
        (build_id("110105", "20250302", 1), "birth_date"),  # tomorrow
        (build_id("110105", "21000101", 1), "birth_date"),
    ],
)
def test_parse_id_number_invalid(text, code):
    assert code_of(parse_id_number, text, today=TODAY) == code


@pytest.mark.parametrize(
    ("birth", "ok"),
    [
        ("20080229", True),
        ("20090229", False),
        ("20000229", True),  # divisible by 400
        ("19000229", False),  # divisible by 100 only
        ("20080230", False),
    ],
)
def test_february_29(birth, ok):
    number = build_id("110105", birth, 17)
    if ok:
        assert parse_id_number(number, today=TODAY).birth_date.strftime("%Y%m%d") == birth
    else:
        assert code_of(parse_id_number, number, today=TODAY) == "birth_date"


def test_birth_today_is_accepted_tomorrow_is_not():
    number = build_id("110105", "20250301", 2)
    assert parse_id_number(number, today=TODAY).birth_date == TODAY
    assert code_of(parse_id_number, number, today=TODAY - datetime.timedelta(days=1)) == (
        "birth_date"
    )


def test_messages_and_field():
    with pytest.raises(NumberError) as info:
        parse_id_number(wrong_check(KNOWN), field="guardian_id")
    assert (info.value.field, info.value.code) == ("guardian_id", "checksum")
    assert str(info.value) == "身份证号校验位不正确，请核对后重新输入"
    assert isinstance(info.value, ValueError)
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.field, again.code, again.message) == ("guardian_id", "checksum", str(again))


@pytest.mark.parametrize(
    ("text", "birth", "gender"),
    [
        ("110105491231002", D(1949, 12, 31), "F"),
        ("440305850615123", D(1985, 6, 15), "M"),
        ("４４０３０５ ８５０６１５ １２３", D(1985, 6, 15), "M"),
    ],
)
def test_legacy_15_digit(text, birth, gender):
    idn = parse_id_number(text, today=TODAY)
    assert idn.legacy and idn.birth_date == birth and idn.gender == gender
    assert idn.number == normalize(text) and idn.address_code == idn.number[:6]


@pytest.mark.parametrize(("text", "code"), [("110105490230002", "birth_date"),
                                            ("110105000229002", "birth_date")])  # 1900: no Feb 29
def test_legacy_bad_dates(text, code):
    assert code_of(parse_id_number, text, today=TODAY) == code


# --- masking ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110105200901011234", "110***********1234"),
        (KNOWN, "110***********002X"),
        ("110105491231002", "110********1002"),
        ("11010519491231002x", "110***********002X"),
        ("", ""),
        ("1234567", "*******"),  # never shown: not a number we know
        ("G" + KNOWN, "*" * 19),
    ],
)
def test_mask_id_number(number, masked):
    assert mask_id_number(number) == masked


# --- student numbers ----------------------------------------------------------


def test_g_number():
    sn = parse_student_number("g" + VALID_ID.lower(), today=TODAY)
    assert sn == StudentNumber("G" + VALID_ID, "G", "440305", D(2010, 6, 15), VALID_ID)
    assert g_number_for(VALID_ID) == sn.number
    assert g_number_for(KNOWN.lower()) == "G" + KNOWN


def test_g_number_errors_speak_of_the_student_number():
    with pytest.raises(NumberError) as info:
        parse_student_number("G" + wrong_check(VALID_ID), today=TODAY)
    assert (info.value.field, info.value.code) == ("number", "checksum")
    assert str(info.value) == "学籍号校验位不正确，请核对后重新输入"


def test_g_number_for_rejects_legacy_and_invalid():
    assert code_of(g_number_for, "110105491231002") == "length"
    assert code_of(g_number_for, wrong_check(KNOWN)) == "checksum"


J_OK = make_j_number("110105", D(2010, 9, 1), 7)
J_X = make_j_number("110105", D(2010, 9, 1), 4)  # this sequence happens to need an X


def test_j_number():
    assert "J11010520100901007" + check_char("11010520100901007") == J_OK
    assert J_X.endswith("X")
    for number in (J_OK, J_X, J_X.lower()):
        sn = parse_student_number(number, today=TODAY)
        assert (sn.kind, sn.region_code, sn.birth_date, sn.id_number) == (
            "J", "110105", D(2010, 9, 1), None)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        (wrong_check(J_OK), "checksum"),
        (wrong_check(J_X), "checksum"),
        ("G" + wrong_check(KNOWN), "checksum"),
        ("G110105491231002", "length"),  # G + legacy 15-digit: never a G number
        (VALID_ID, "length"),  # the ID number without its G
        ("G" + VALID_ID + "1", "length"),
        ("A" + VALID_ID, "format"),
        ("1" + VALID_ID, "format"),
        ("X" + VALID_ID, "format"),
        ("L11010520100901004X", "format"),  # L has no check character
        ("J1101052010090100X7", "format"),
        ("G" + build_id("110105", "20100229", 1), "birth_date"),
        ("J" + build_id("110105", "20100229", 1), "birth_date"),
        ("L110105201002291234", "birth_date"),
        ("L110105203001011234", "birth_date"),
        ("J" + build_id("110105", "20300101", 1), "birth_date"),
    ],
)
def test_parse_student_number_invalid(text, code):
    assert code_of(parse_student_number, text, today=TODAY) == code


@pytest.mark.parametrize("last4", ["0000", "1234", "9999", "0042", "4321"])
def test_l_number_any_last_digits(last4):
    sn = parse_student_number(f"L11010520100901{last4}", today=TODAY)
    assert (sn.kind, sn.region_code, sn.birth_date, sn.id_number) == (
        "L", "110105", D(2010, 9, 1), None)


@pytest.mark.parametrize(
    ("call", "exc", "code"),
    [
        (lambda: make_j_number("11010", D(2010, 1, 1), 1), NumberError, "region"),
        (lambda: make_l_number("11010A", D(2010, 1, 1), 1), NumberError, "region"),
        (lambda: make_l_number("110105", D(1899, 1, 1), 1), NumberError, "birth_date"),
        (lambda: make_j_number("110105", D.today() + datetime.timedelta(days=1), 1),
         NumberError, "birth_date"),
        (lambda: make_j_number("110105", D(2010, 1, 1), 1000), ValueError, None),
        (lambda: make_j_number("110105", D(2010, 1, 1), -1), ValueError, None),
        (lambda: make_l_number("110105", D(2010, 1, 1), 10000), ValueError, None),
    ],
)
def test_make_rejects(call, exc, code):
    with pytest.raises(exc) as info:
        call()
    assert getattr(info.value, "code", None) == code


# --- school codes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "province"),
    [
        ("2111000001", "2111000001", "11"),
        ("２１４４ ００１２３４", "2144001234", "44"),
        ("31-65-000009", "3165000009", "65"),
    ],
)
def test_school_code_valid(text, code, province):
    assert parse_school_code(text) == code
    assert school_code_province(text) == province


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("211100000", "length"),
        ("21110000011", "length"),
        ("211100000X", "format"),
        ("21110000O1", "format"),
        ("211100000\u0663", "format"),
    ],
)
def test_school_code_invalid(text, code):
    assert code_of(parse_school_code, text) == code


# --- properties ---------------------------------------------------------------

addresses = st.text("0123456789", min_size=6, max_size=6)
births = st.dates(min_value=D(1900, 1, 1), max_value=TODAY)


@given(addresses, births, st.integers(0, 999))
def test_id_round_trip(address, birth, seq):
    number = build_id(address, birth.strftime("%Y%m%d"), seq)
    idn = parse_id_number(number, today=TODAY)
    assert idn == IdNumber(number, address, birth, "M" if seq % 2 else "F", legacy=False)
    assert mod_11_2.is_valid(number) and id_check_char(number[:17]) == number[17]
    assert parse_id_number(" ".join(number.lower()), today=TODAY) == idn
    g = parse_student_number(g_number_for(number), today=TODAY)
    assert (g.id_number, g.region_code, g.birth_date) == (number, address, birth)


@given(addresses, births, st.integers(0, 999), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_change_is_detected(address, birth, seq, position, new):
    number = build_id(address, birth.strftime("%Y%m%d"), seq)
    if position < 17 and new == "X" or number[position] == new:
        new = str((int(number[position]) + 1) % 10) if position < 17 else wrong_check(number)[-1]
    changed = number[:position] + new + number[position + 1:]
    assert changed != number
    # A changed date digit may make an impossible date first; otherwise the
    # check character catches it (MOD 11-2 detects every single substitution).
    assert code_of(parse_id_number, changed, today=TODAY) in ("checksum", "birth_date")


@given(addresses, births, st.integers(0, 999), st.integers(0, 9999))
def test_j_and_l_round_trip(region, birth, seq, random4):
    j = parse_student_number(make_j_number(region, birth, seq), today=TODAY)
    lnum = parse_student_number(make_l_number(region, birth, random4), today=TODAY)
    for sn, kind in ((j, "J"), (lnum, "L")):
        assert (sn.kind, sn.region_code, sn.birth_date, sn.id_number) == (kind, region, birth, None)
    assert lnum.number.endswith(f"{random4:04d}")


@given(addresses, births, st.text("0123456789", min_size=4, max_size=4))
def test_l_number_never_fails_a_checksum(region, birth, last4):
    # Whatever the last four digits, MOD 11-2 must not be applied to L numbers.
    number = f"L{region}{birth:%Y%m%d}{last4}"
    assert parse_student_number(number, today=TODAY).number == number


@given(st.text("0123456789X", min_size=0, max_size=20))
def test_mask_keeps_length_and_hides_the_middle(number):
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    if len(number) in (15, 18):
        assert masked[:3] == number[:3] and masked[-4:] == number[-4:]
        assert set(masked[3:-4]) == {"*"}
    else:
        assert set(masked) <= {"*"}


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_unrolled_check_character_agrees_with_stdnum(digits):
    assert id_check_char(digits) == mod_11_2.calc_check_digit(digits)
