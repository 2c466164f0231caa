"""Parsing real-world Chinese mail: charsets, headers, bodies, attachments, limits.

The fixtures in fixtures/ are hand-made byte for byte as the clients named in
their file names write mail; the NOTES.md section "Python's email package on
Chinese mail" lists what each of them would break.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailintake import headers
from mailintake.charsets import canonical, decode
from mailintake.parsing import Limits, Parsed, Refused, parse

FIXTURES = Path(__file__).parent / "fixtures"


def parsed(name: str) -> Parsed:
    result = parse((FIXTURES / name).read_bytes())
    assert isinstance(result, Parsed), result
    return result


def message(body: str = "正文", **fields: str) -> bytes:
    mail = EmailMessage()
    for name, value in fields.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


# --- charsets -------------------------------------------------------------------------------

def test_gb2312_label_keeps_gbk_only_name_characters():
    mail = parsed("gb2312-label-gbk-chars.eml")
    for name in ("堃", "喆", "镕", "昇"):
        assert name in mail.text
    assert mail.from_name == "王堃"
    assert mail.subject == "关于孙喆、朱镕、李昇的学籍号"
    assert "\ufffd" not in mail.text + mail.subject


@pytest.mark.parametrize("label", ["gb2312", "GBK", "x-gbk", "csgb2312", "cp936", "GB18030", "euc-cn",
                                   '"gb2312"', "windows-936"])
def test_every_gb_label_is_decoded_as_gb18030(label):
    assert canonical(label) == "gb18030"
    assert decode("王堃镕".encode("gb18030"), label).text == "王堃镕"


@pytest.mark.parametrize("label", ["big5", "Big5-HKSCS", "x-big5", "cn-big5", "cp950"])
def test_big5_labels_are_decoded_as_big5_hkscs(label):
    assert canonical(label) == "big5hkscs"
    assert decode("學籍號碼".encode("big5"), label).text == "學籍號碼"


def test_big5_mail_reads_in_traditional_characters():
    mail = parsed("big5.eml")
    assert mail.subject == "學籍查詢"
    assert mail.from_name == "陳大文"
    assert mail.text == "您好，我的孩子學籍號碼查詢不到，請協助處理，謝謝。"


def test_parts_mislabelled_iso_8859_1_are_detected_as_gb18030_and_utf8():
    mail = parsed("mislabelled-iso-8859-1.eml")
    assert mail.text == "孩子的学籍号显示为重复，请帮忙核查。\n\n转学手续已办完。"
    assert "charset-detected:iso-8859-1->gb18030" in mail.defects


@pytest.mark.parametrize("label", ["gb2312", "big5", "iso-8859-1", "koi8-r"])
def test_valid_utf8_wins_over_any_label(label):
    assert decode("王堃，学籍".encode(), label).text == "王堃，学籍"


@pytest.mark.parametrize("text, codec", [("您好，我的孩子叫王堃", "gb18030"), ("學籍號碼查詢", "big5"),
                                         ("Привет, как дела?", "koi8-r"), ("Grüße aus Köln", "latin-1")])
def test_labelled_text_that_is_not_utf8_keeps_its_label(text, codec):
    assert decode(text.encode(codec), codec).text == text


@pytest.mark.parametrize("codec", ["iso-2022-jp", "hz", "utf-7"])
def test_seven_bit_encodings_are_decoded_by_their_label(codec):
    assert decode("学籍".encode(codec), codec).text == "学籍"


def test_iso_8859_1_label_reads_windows_1252_like_browsers():
    # alaveteli's mislabelled-as-iso-8859-1.eml: byte 0x96 is an en dash.
    assert decode(b"NEXT \x96 REQUEST", "iso-8859-1").text == "NEXT – REQUEST"


@pytest.mark.parametrize("label", [None, "", "x-no-such-charset", "base64", "zlib", "a" * 200])
def test_unknown_or_missing_labels_fall_back_to_detection_never_lookup_error(label):
    assert decode("请核查学籍号".encode("gb18030"), label).text == "请核查学籍号"


def test_missing_content_type_body_is_detected():
    mail = parsed("no-content-type.eml")
    assert mail.subject == "休学申请"
    assert mail.text == "学生因病需要休学一年，请问怎么办理？"


# --- headers --------------------------------------------------------------------------------

def test_raw_8bit_headers_are_decoded_with_the_body_charset():
    mail = parsed("raw-8bit-headers.eml")
    assert (mail.subject, mail.from_name, mail.from_addr) == ("学籍转接问题", "张三丰", "zsf@sina.com")


def test_encoded_words_split_inside_a_character_are_joined_before_decoding():
    data = "学籍".encode("gbk")
    value = (f"=?gbk?B?{base64.b64encode(data[:3]).decode()}?= "
             f"=?gbk?B?{base64.b64encode(data[3:]).decode()}?=")
    assert headers.decode_words(value) == "学籍"


def test_broken_base64_padding_in_a_subject_is_tolerated():
    # rt's new-ticket-from-gb18030: "=?gb18030?B?suLK1A===?=".
    assert headers.text("=?gb18030?B?suLK1A===?=") == "测试"


def test_header_values_lose_line_breaks_so_they_cannot_inject_headers():
    mail = parse(b"Subject: =?utf-8?Q?hi=0D=0ABcc:_x@evil.cn?=\r\nFrom: a@b.cn\r\n\r\nx")
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_garbage_message_id_date_and_addresses_never_raise():
    mail = parsed("broken-headers.eml")
    assert (mail.message_id, mail.date, mail.from_addr, mail.to) == (None, None, None, ())
    assert mail.subject == "测试"
    assert mail.text == "内容"


@pytest.mark.parametrize("value, expected", [
    ("<abc@qq.com>", "<abc@qq.com>"),
    ("  <abc@qq.com> (comment)", "<abc@qq.com>"),
    ("abc@qq.com", "<abc@qq.com>"),
    ("[<<garbage", None),
    ("<>", None),
    ("<" + "a" * 300 + "@x.cn>", None),
    ("<学籍@qq.com>", None),
])
def test_message_ids_are_normalised_or_dropped(value, expected):
    assert headers.message_id(value) == expected


def test_references_keep_order_without_repeats_and_are_bounded():
    value = " ".join(f"<{i}@x.cn>" for i in range(200)) + " <0@x.cn>"
    ids = headers.message_ids(value)
    assert len(ids) == 50 and ids[-1] == "<199@x.cn>"


def test_addresses_are_split_before_names_are_decoded():
    mail = parse(message(From='"=?utf-8?B?5byg5LiJ?=" <Zhang@QQ.com>',
                         To='"Doe, John" <j@x.cn>, =?gbk?B?wO7LxA==?= <li@163.com>, not-an-address',
                         Cc="<c@126.com>", Reply_To="reply@qq.com"))
    assert (mail.from_name, mail.from_addr, mail.reply_to) == ("张三", "Zhang@qq.com", "reply@qq.com")
    assert [(a.name, a.address) for a in mail.to] == [("Doe, John", "j@x.cn"), ("李四", "li@163.com")]
    assert [a.address for a in mail.cc] == ["c@126.com"]


@pytest.mark.parametrize("value, expected", [("<>", ""), ("<bounce@x.cn>", "bounce@x.cn"), (None, None)])
def test_return_path_distinguishes_the_null_path_from_absence(value, expected):
    fields = {"From": "a@b.cn"} | ({"Return_Path": value} if value else {})
    assert parse(message(**fields)).return_path == expected


def test_date_is_aware_and_an_unknown_zone_is_utc():
    mail = parse(message(Date="Mon, 02 Mar 2026 09:15:00 -0000"))
    assert mail.date == datetime.datetime(2026, 3, 2, 9, 15, tzinfo=datetime.UTC)


def test_classification_headers_are_decoded_and_case_insensitive():
    mail = parse(message(Auto_Submitted="auto-replied", X_Xueji_Loop="2026-000123"))
    assert mail.headers["Auto-Submitted"] == "auto-replied"
    assert "x-xueji-loop" in mail.headers


# --- bodies ---------------------------------------------------------------------------------

def test_html_only_mail_becomes_text_and_sanitised_html():
    mail = parsed("html-only.eml")
    assert mail.text == "老师好：\n\n孩子的学籍号是G11010519491231002X，学校在海淀区。\n\n谢谢"
    for unsafe in ("<script", "onclick", "javascript:", "<img", "<style", "tracker.example"):
        assert unsafe not in mail.html_sanitised
    assert "<b>G11010519491231002X</b>" in mail.html_sanitised


def test_plain_text_is_preferred_to_html_and_both_are_kept():
    mail = parsed("qq-reply.eml")
    assert mail.text.startswith("好的，谢谢老师")
    assert "<br>" not in mail.text
    assert mail.html_sanitised is not None


@pytest.mark.parametrize("fixture, reply", [
    ("qq-reply.eml", "好的，谢谢老师，我明天带材料去学校。"),
    ("163-reply.eml", "问题已经解决了，谢谢！"),
    ("outlook-reply.eml", "材料已补交。\n\n王老师"),
])
def test_reply_text_drops_quoted_mail_and_client_signatures_but_text_keeps_all(fixture, reply):
    mail = parsed(fixture)
    assert mail.reply_text == reply
    assert "您的来信已受理" in mail.text


def test_inline_uuencoded_files_become_attachments():
    body = "见附件\nbegin 644 成绩.txt\n#86)C\n`\nend\n谢谢"
    mail = parse(message(body))
    assert [(a.filename, a.data) for a in mail.attachments] == [("成绩.txt", b"abc")]
    assert "begin 644" not in mail.text


# --- attachments ----------------------------------------------------------------------------

def test_attachment_names_rfc2231_rfc2047_and_paths():
    mail = parsed("attachment-names.eml")
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("成绩单.pdf", "application/pdf"), ("户口本照片.jpg", "image/jpeg"), ("evil.txt", "text/plain")]
    assert mail.attachments[0].data.startswith(b"%PDF")
    assert mail.text == "见附件。"


def test_an_attachment_without_a_name_gets_one():
    mail = EmailMessage()
    mail.set_content("x")
    mail.add_attachment(b"\x89PNG", maintype="image", subtype="png")
    assert parse(mail.as_bytes()).attachments[0].filename == "attachment-1.png"


def attachments(count: int, size: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "p@qq.com"
    mail.set_content("附件")
    for i in range(count):
        mail.add_attachment(b"x" * size, maintype="application", subtype="octet-stream", filename=f"{i}.bin")
    return mail.as_bytes()


@pytest.mark.parametrize("raw, limits, reason", [
    (attachments(4, 10), Limits(max_attachments=3), "too_many_attachments"),
    (attachments(1, 2000), Limits(max_attachment_bytes=1000), "attachment_too_large"),
    (attachments(3, 800), Limits(max_total_attachment_bytes=2000), "attachments_too_large"),
])
def test_attachment_limits_refuse_the_message(raw, limits, reason):
    result = parse(raw, limits=limits)
    assert isinstance(result, Refused) and result.reason == reason


# --- limits ---------------------------------------------------------------------------------

def nested(depth: int) -> bytes:
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                    for i in range(depth))
    return b"From: a@b.cn\r\n" + head + b"Content-Type: text/plain\r\n\r\nx\r\n"


def many_headers(count: int) -> bytes:
    return b"".join(b"X-H%d: v\r\n" % i for i in range(count))


def many_parts(count: int) -> bytes:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(count))
    return b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + parts + b"--b--\r\n"


@pytest.mark.parametrize("raw, limits, reason", [
    (b"", Limits(), "empty"),
    (b" \r\n\r\n ", Limits(), "empty"),
    (b"Subject: x\r\n\r\n" + b"x" * 2000, Limits(max_bytes=1000), "too_large"),
    (b"Subject: x\r\n\r\n" + b"x\n" * 2000, Limits(max_lines=1000), "too_many_lines"),
    (b"Subject: " + b"x" * 2000 + b"\r\n\r\nbody", Limits(max_header_bytes=1000), "header_too_large"),
    (many_headers(100) + b"\r\nb", Limits(max_headers=50), "too_many_headers"),
    (many_parts(40), Limits(max_parts=30), "too_many_parts"),
    (nested(12), Limits(max_depth=10), "too_deep"),
    # A part's own header section counts too, not only the top one.
    (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
     + many_headers(100) + b"\r\nbody\r\n--b--\r\n",
     Limits(max_headers=50), "too_many_headers"),
])
def test_limits_refuse_with_a_reason_instead_of_raising(raw, limits, reason):
    result = parse(raw, limits=limits)
    assert isinstance(result, Refused)
    assert result.reason == reason and result.message


def test_a_20k_part_bomb_is_refused_before_it_is_parsed():
    raw = many_parts(20_000)
    started = time.perf_counter()
    result = parse(raw)
    elapsed = time.perf_counter() - started
    assert isinstance(result, Refused) and result.reason == "too_many_parts"
    # The whole parse takes 0.4 s with compat32 and 3.5 s with policy.default
    # (NOTES.md); stopping at part 301 takes a few milliseconds.
    assert elapsed < 0.2, elapsed


def test_deep_nesting_never_reaches_the_recursion_limit():
    result = parse(nested(2000))
    assert isinstance(result, Refused) and result.reason in ("too_deep", "too_many_parts")


def test_content_hash_is_of_the_raw_bytes():
    raw = message()
    assert parse(raw).content_sha256 == hashlib.sha256(raw).hexdigest()
