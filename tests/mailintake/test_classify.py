"""Automatic mail, bounces and loops never make tickets; replies find their ticket.

Issue 6 items 4 and 5: every kind of automatic mail is recognised by the
signal that marks it, a bounce says which of our messages failed and whether
for good, and the subject tag and the signed reply address thread replies.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from mailintake.classify import (
    bounce_info,
    classify,
    signed_reply_address,
    subject_with_tag,
    ticket_tag,
    verify_reply_address,
)
from mailintake.parsing import Parsed, parse

FIXTURES = Path(__file__).parent / "fixtures"
OURS = ("66119801@moe.edu.cn",)
KEY = b"reply-address-key"


def mail(subject: str = "孩子学籍号查询", sender: str = "家长 <parent@qq.com>", body: str = "老师好",
         **fields: str) -> Parsed:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "66119801@moe.edu.cn"
    message["Subject"] = subject
    for name, value in fields.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    parsed = parse(message.as_bytes())
    assert isinstance(parsed, Parsed)
    return parsed


def kind(parsed: Parsed) -> str:
    return classify(parsed, our_addresses=OURS).name


@pytest.mark.parametrize("fields", [
    {"Auto_Submitted": "auto-replied"},
    {"Auto_Submitted": "auto-generated"},
    {"Auto_Submitted": "auto-notified; owner-email=x@y.cn"},
    {"X_Autoreply": "yes"},
    {"X_Autorespond": "Out of office"},
    {"X_Auto_Response_Suppress": "All"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "list"},
    {"Precedence": "auto_reply"},
    {"List_Id": "<parents.list.example.cn>"},
    {"List_Unsubscribe": "<mailto:leave@list.example.cn>"},
], ids=lambda fields: next(iter(fields.items()))[0])
def test_automatic_mail_headers_mean_auto(fields):
    assert kind(mail(**fields)) == "auto"


def test_auto_submitted_no_is_a_person_writing():
    # RFC 3834 §5: "no" means the message was not sent automatically.
    assert kind(mail(Auto_Submitted="no")) == "normal"


@pytest.mark.parametrize("subject", [
    "自动回复: [学籍工单 2026-000123] 已受理",
    "自动答复：您的来信",
    "回复：自动回复：已受理",
    "【休假中】Re: 已受理",
    "外出：3月10日后回复",
    "Out of Office: Re: ack",
    "Automatic reply: [学籍工单 2026-000123]",
    "AutoReply: ack",
    "Emma McKinney is out of the office",
])
def test_out_of_office_subjects_mean_auto(subject):
    assert kind(mail(subject)) == "auto"


@pytest.mark.parametrize("subject", [
    "暑假休假期间转学手续咨询",
    "关于自动回复邮件的投诉",
    "孩子外出务工，学籍怎么转",
    "Re: [学籍工单 2026-000123] 已受理",
])
def test_a_parent_mentioning_leave_or_auto_replies_is_still_a_person(subject):
    # A false "auto" would drop a complaint without a ticket.
    assert kind(mail(subject)) == "normal"


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.qq.com", "postmaster@163.com",
                                    "Mail Delivery System <Mailer-Daemon@mx.example.cn>"])
def test_mail_system_senders_mean_bounce(sender):
    assert kind(mail("Undelivered Mail Returned to Sender", sender)) == "bounce"


def test_null_return_path_means_bounce():
    assert kind(mail("邮件无法投递", "notice@mx.example.cn", Return_Path="<>")) == "bounce"


def test_out_of_office_with_null_return_path_is_auto_not_bounce():
    # Vacation programs send with the null reverse path too (RFC 3834 §3.3).
    assert kind(mail("Out of Office", "teacher@school.cn", Return_Path="<>")) == "auto"


def test_our_loop_header_means_loop():
    assert classify(mail(X_Xueji_Loop="2026-000123")).name == "loop"
    assert classify(mail(X_Helpdesk_Loop="1"), our_loop_header="X-Helpdesk-Loop").name == "loop"


@pytest.mark.parametrize("sender", ["66119801@moe.edu.cn", "66119801@MOE.EDU.CN",
                                    "66119801+t2026-000123.3f2b46f594@moe.edu.cn"])
def test_mail_from_our_own_addresses_means_loop(sender):
    assert kind(mail(sender=sender)) == "loop"


def test_loop_is_decided_before_anything_else():
    assert kind(mail(sender="66119801@moe.edu.cn", Auto_Submitted="auto-replied")) == "loop"


def test_ordinary_mail_is_normal_with_no_reason():
    assert classify(mail()) == ("normal", "")


@pytest.mark.parametrize("fixture, expected", [
    ("bounce-dsn.eml", "bounce"),
    ("qq-auto-reply.eml", "auto"),
    ("qq-reply.eml", "normal"),
    ("163-reply.eml", "normal"),
    ("outlook-reply.eml", "normal"),
    ("gb2312-label-gbk-chars.eml", "normal"),
])
def test_fixtures_are_classified(fixture, expected):
    parsed = parse((FIXTURES / fixture).read_bytes())
    assert kind(parsed) == expected


# --- bounces --------------------------------------------------------------------------------

def test_a_delivery_status_report_names_our_message_and_a_permanent_failure():
    info = bounce_info(parse((FIXTURES / "bounce-dsn.eml").read_bytes()))
    assert info == ("<ack-2026-000123@moe.edu.cn>", True, ("nosuchuser@qq.com",))


def dsn(status: str, action: str) -> bytes:
    return (b"From: MAILER-DAEMON@mx.cn\r\nContent-Type: multipart/report; report-type=delivery-status;"
            b" boundary=R\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\nnotice\r\n"
            b"--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.cn\r\n\r\n"
            b"Final-Recipient: rfc822; p@qq.com\r\nAction: " + action.encode() + b"\r\nStatus: "
            + status.encode() + b"\r\n\r\n--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            b"Message-ID: <ack-1@moe.edu.cn>\r\nSubject: ack\r\n\r\n--R--\r\n")


@pytest.mark.parametrize("status, action, permanent", [
    ("5.1.1", "failed", True),
    ("5.2.2 (mailbox full)", "failed", True),
    ("4.4.1", "delayed", False),
    ("2.0.0", "delivered", False),
])
def test_only_5xx_statuses_are_permanent(status, action, permanent):
    info = bounce_info(parse(dsn(status, action)))
    assert info.original_message_id == "<ack-1@moe.edu.cn>"
    assert info.permanent is permanent


@pytest.mark.parametrize("body, permanent", [
    ("This is a permanent error. The following address(es) failed:\n  p@qq.com", True),
    ("550 5.1.1 <p@qq.com>: Recipient address rejected", True),
    ("您发送的邮件无法投递：收件人不存在。", True),
    ("451 4.7.1 Greylisted, please try again later", False),
    ("Delivery to the following recipient has been delayed.", False),
])
def test_bounces_without_a_report_are_judged_by_their_text(body, permanent):
    info = bounce_info(mail("Mail delivery failed", "MAILER-DAEMON@mx.cn", body=body))
    assert info.permanent is permanent


def test_a_returned_copy_inline_gives_the_original_message_id():
    body = "failed\n------ This is a copy of the message ------\nMessage-ID: <ack-9@moe.edu.cn>\nSubject: x"
    assert bounce_info(mail("failed", "MAILER-DAEMON@mx.cn", body=body)).original_message_id == \
        "<ack-9@moe.edu.cn>"


# --- threading ------------------------------------------------------------------------------

@pytest.mark.parametrize("subject", [
    "[学籍工单 2026-000123] 已受理",
    "Re: [学籍工单 2026-000123] 已受理",
    "回复：Re: 答复: [学籍工单 2026-000123]",
    "转发: Fwd: [学籍工单 2026-000123]",
    "【学籍工单 2026-000123】",
    "［学籍工单 ２０２６－０００１２３］",
    "[学籍工单2026-000123]",
    "[ 学籍工单  2026 - 000123 ]",
    "关于学籍工单 2026-000123 的补充材料",
])
def test_ticket_tag_is_found_however_clients_write_it(subject):
    assert ticket_tag(subject) == "2026-000123"


@pytest.mark.parametrize("subject", ["学籍号查询", "[工单 2026-000123]", "[学籍工单 2026-0001234]",
                                     "[学籍工单 26-000123]", ""])
def test_no_tag_no_ticket(subject):
    assert ticket_tag(subject) is None


def test_subject_with_tag_adds_the_tag_once():
    tagged = subject_with_tag("学籍号查询", "2026-000123")
    assert ticket_tag(tagged) == "2026-000123"
    assert subject_with_tag(tagged, "2026-000123") == tagged


def test_signed_reply_address_round_trips():
    address = signed_reply_address("66119801@moe.edu.cn", "2026-000123", KEY)
    assert address.startswith("66119801+t2026-000123.") and address.endswith("@moe.edu.cn")
    assert verify_reply_address(address, KEY) == "2026-000123"
    # Some servers lower-case or upper-case the whole address.
    assert verify_reply_address(address.upper(), KEY) == "2026-000123"
    assert verify_reply_address(f" <{address}> ", KEY) == "2026-000123"


def test_tampered_reply_addresses_are_refused():
    address = signed_reply_address("66119801@moe.edu.cn", "2026-000123", KEY)
    local, domain = address.split("@")
    mac = local.rsplit(".", 1)[1]
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    assert verify_reply_address(address.replace(mac, flipped), KEY) is None
    assert verify_reply_address(address.replace("000123", "000124"), KEY) is None
    assert verify_reply_address(address.replace("66119801+", "12345678+"), KEY) is None
    assert verify_reply_address(address, b"another key") is None
    assert verify_reply_address("66119801@moe.edu.cn", KEY) is None
    assert verify_reply_address("not an address", KEY) is None


def test_the_reply_address_of_a_fixture_reply_verifies():
    parsed = parse((FIXTURES / "qq-reply.eml").read_bytes())
    assert verify_reply_address(parsed.to[0].address, b"k") == "2026-000123"
    assert ticket_tag(parsed.subject) == "2026-000123"
    assert parsed.in_reply_to == "<ack-2026-000123@moe.edu.cn>"


def test_a_read_receipt_is_auto_not_a_new_complaint():
    raw = ("From: parent@outlook.com\r\nSubject: 已读: [学籍工单 2026-000123] 已受理\r\n"
           "Content-Type: multipart/report; report-type=disposition-notification; boundary=R\r\n\r\n"
           "--R\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n您的邮件已被阅读。\r\n"
           "--R\r\nContent-Type: message/disposition-notification\r\n\r\n"
           "Final-Recipient: rfc822; parent@outlook.com\r\n"
           "Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--R--\r\n").encode()
    assert kind(parse(raw)) == "auto"
