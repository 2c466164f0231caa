"""Synthetic mail for bench/mail.py: the charsets, sizes and kinds the service mailbox gets.

Deterministic for a seed. Each message comes with the outcome the pipeline
must give it, so the bench checks what it measures:

- 55 % complaints (``ticket``): a school code, a J number, a place, or
  nothing routable; one in twenty with a 40 kB attachment;
- 15 % replies (``reply``) to an earlier complaint of the same sender, by
  In-Reply-To, some with the quoted original below;
- 12 % auto-replies (``auto``), out-of-office subjects or RFC 3834 headers;
- 8 % bounces (``bounce``): delivery status notifications;
- 5 % duplicates (``duplicate``): the same bytes again, as a retry leaves them;
- 5 % loops (``loop``): our own mail coming back.

Charsets: UTF-8, GB18030, GBK, GB2312 labels over GBK-only characters (as
old clients send them), and Big5 in traditional characters; sizes from a
few hundred bytes to about 60 kB of text.
"""

from __future__ import annotations

import base64
import email.utils
import random
from dataclasses import dataclass

MAILBOX = "66119801@moe.edu.cn"
# What people write, in simplified characters and (for Big5 mail) traditional ones.
WORDS = {
    False: {"text": "老师您好，我家孩子今年转学到新学校，学籍一直没有转过来，新学校说系统里查不到，"
                    "请帮忙核实一下。孩子叫王堃，谢谢！",
            "parent": "家长", "subject": "学籍问题", "re": "回复：", "more": "补充情况：",
            "quoted": "\n\n------------------ 原始邮件 ------------------\n",
            "away": "自动回复：您好，我正在休假", "away_body": "您的来信已收到，我将尽快回复。",
            "ack": "回执", "school": "学校标识码", "number": "学籍号"},
    True: {"text": "老師您好，我家孩子今年轉學，學籍一直沒有轉過來，新學校說系統裡查不到，請幫忙核實。",
           "parent": "家長", "subject": "學籍問題", "re": "回覆：", "more": "補充情況：",
           "quoted": "\n\n------------------ 原始郵件 ------------------\n",
           "away": "自動回覆：您好，我正在休假", "away_body": "您的來信已收到，我將盡快回覆。",
           "ack": "回執", "school": "學校標識碼", "number": "學籍號"},
}
PLACES = ("北京市海淀区", "河北省石家庄市长安区", "湖北省武汉市江岸区", "广东省东莞市", "四川省成都市武侯区")


@dataclass(frozen=True)
class Mail:
    raw: bytes
    expected: str  # the outcome the pipeline must record


def _header(value: str, charset: str) -> str:
    """An RFC 2047 encoded word in ``charset`` (the way Chinese clients write subjects)."""
    return f"=?{charset}?B?{base64.b64encode(value.encode(_codec(charset))).decode()}?="


def _codec(charset: str) -> str:
    return "gb18030" if charset in ("gb2312", "gbk") else charset


def _body(text: str, charset: str) -> bytes:
    return base64.encodebytes(text.encode(_codec(charset))).replace(b"\n", b"\r\n")


def _message(*, sender: str, subject: str, body: str, charset: str, message_id: str,
             extra: str = "", attachment: bytes | None = None) -> bytes:
    name = WORDS[charset == "big5"]["parent"]
    head = (f"From: {_header(name, charset)} <{sender}>\r\nTo: {MAILBOX}\r\n"
            f"Subject: {_header(subject, charset)}\r\nDate: {email.utils.formatdate(localtime=False)}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n{extra}")
    text = (f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            ).encode() + _body(body, charset)
    if attachment is None:
        return head.encode() + text
    boundary = "----=_Part_bench"
    name = _header("材料.pdf", charset)
    part = (f"\r\n--{boundary}\r\nContent-Type: application/pdf; name=\"{name}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode()
    data = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    return (head.encode() + f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n"
            .encode() + text + part + data + f"--{boundary}--\r\n".encode())


def _bounce(rng: random.Random, i: int) -> bytes:
    boundary = "bounce-boundary"
    original = f"<ticket-2026-{rng.randrange(1, 999999):06d}.1.{i:016x}@moe.edu.cn>"
    return (f"From: MAILER-DAEMON@mx.qq.com\r\nTo: {MAILBOX}\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <bounce{i}@mx.qq.com>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
            "The mail system could not deliver your message.\r\n"
            f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.qq.com\r\n\r\n"
            f"Final-Recipient: rfc822; gone{i}@qq.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original}\r\n"
            f"Subject: ack\r\n\r\n--{boundary}--\r\n").encode()


def corpus(n: int, *, schools: list[str], students: list[str], seed: int = 6) -> list[Mail]:
    """``n`` messages in the order they arrive, each with its expected outcome."""
    rng = random.Random(seed)
    mails: list[Mail] = []
    complaints: list[tuple[str, str, str, str]] = []  # (sender, message id, subject, charset)
    for i in range(n):
        draw = rng.random()
        charset = rng.choice(("utf-8", "gb18030", "gbk", "gb2312", "big5"))
        size = rng.choice((1, 1, 1, 1, 1, 1, 3, 10, 30, 100))  # repetitions: ~200 B to ~60 kB
        message_id = f"<bench.{i}.{rng.randrange(1 << 40):x}@qq.com>"
        if draw < 0.15 and complaints:
            # The complainant answers from the same client, in the same charset.
            sender, original, subject, charset = rng.choice(complaints)
            w = WORDS[charset == "big5"]
            body = w["more"] + w["text"] + (w["quoted"] + w["text"] * 2 if rng.random() < 0.5 else "")
            mails.append(Mail(_message(sender=sender, subject=w["re"] + subject, body=body, charset=charset,
                                       message_id=message_id, extra=f"In-Reply-To: {original}\r\n"), "reply"))
            continue
        w = WORDS[charset == "big5"]
        if draw < 0.27:
            extra = "Auto-Submitted: auto-replied\r\n" if rng.random() < 0.5 else ""
            mails.append(Mail(_message(sender=f"p{i}@163.com", subject=w["away"], body=w["away_body"],
                                       charset=charset, message_id=message_id, extra=extra), "auto"))
        elif draw < 0.35:
            mails.append(Mail(_bounce(rng, i), "bounce"))
        elif draw < 0.40 and mails:
            earlier = rng.choice([m for m in mails[-50:] if m.expected != "duplicate"])
            mails.append(Mail(earlier.raw, "duplicate"))
        elif draw < 0.45:
            raw = _message(sender=f"p{i}@qq.com", subject=w["ack"], body=w["ack"], charset=charset,
                           message_id=message_id, extra=f"X-Xueji-Loop: {MAILBOX}\r\n")
            mails.append(Mail(raw, "loop"))
        else:
            what = rng.random()
            named = (f"{w['school']} {rng.choice(schools)}。" if what < 0.5 else
                     f"{w['number']} {rng.choice(students)}。" if what < 0.65 and students else
                     f"我家在{rng.choice(PLACES)}。" if what < 0.8 and charset != "big5" else "")
            sender = f"parent{rng.randrange(n)}@qq.com"
            subject = f"{w['subject']} {i}"
            attachment = rng.randbytes(40_000) if rng.random() < 0.05 else None
            raw = _message(sender=sender, subject=subject, body=(named + w["text"]) * size, charset=charset,
                           message_id=message_id, attachment=attachment)
            mails.append(Mail(raw, "ticket"))
            complaints.append((sender, message_id, subject, charset))
    return mails
