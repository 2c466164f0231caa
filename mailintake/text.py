"""A message body as text: HTML made text or sanitised, uuencoded files taken out, a reply's own words.

Pure functions over str. ``reply_part`` knows how the clients Chinese
parents use mark the mail they answer (QQ Mail, 163/126, Outlook in Chinese,
Foxmail, Gmail, Apple Mail) and the lines phones append ("发自我的iPhone").
mail-parser-reply was tried and not used: its Chinese rules miss QQ Mail's
"原始邮件" separator, 163's "在 …，… 写道：", full-width colons after 发件人,
and most phone signatures.
"""

from __future__ import annotations

import binascii
import html
import re
from html.parser import HTMLParser

import nh3

_BLOCKS = frozenset({"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4",
                     "h5", "h6", "blockquote", "pre", "hr", "section", "article", "header",
                     "footer", "address", "dd", "dt", "dl"})
_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")
# Display never fetches a remote image (a tracking beacon) or runs a script.
_TAGS = nh3.ALLOWED_TAGS - {"img"}
_SCHEMES = {"http", "https", "mailto"}
_UU_BEGIN = re.compile(r"^begin [0-7]{3,4} ([^\n]{1,255})\n", re.M)
_UU_END = re.compile(r"^end[ \t]*$", re.M)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "pre":
            self.pre += 1
        if tag in _BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")
        elif tag in ("td", "th"):
            self.out.append(" ")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag in _BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCKS and tag != "br":
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(data if self.pre else _SPACES.sub(" ", data))


def html_to_text(markup: str) -> str:
    """The text a reader sees in an HTML body, one block per line.

    >>> html_to_text("<html><style>p{}</style><p>您好，</p><div>学籍号&nbsp;查询<br>谢谢</div></html>")
    '您好，\\n\\n学籍号 查询\\n谢谢'
    """
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = (line.strip() for line in "".join(parser.out).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def sanitise_html(markup: str) -> str:
    """HTML safe to show in the console: no script, style, event handler or remote image.

    >>> sanitise_html('<p onclick="x()">您好<script>alert(1)</script><img src="http://t/x.gif"></p>')
    '<p>您好</p>'
    """
    return nh3.clean(markup, tags=_TAGS, url_schemes=_SCHEMES, link_rel="noopener noreferrer nofollow")


def plain_to_html(text: str) -> str:
    """Escape text for display inside HTML.

    >>> plain_to_html("<b>")
    '&lt;b&gt;'
    """
    return html.escape(text, quote=False)


# Where the mail being answered begins: one line, indented or quoted or not.
_LEAD, _TAIL = r"^[ \t\u00a0>]*", r"[ \t\u00a0]*$"
_COLON = "[:：]"
_QUOTE_HEAD = re.compile("|".join(_LEAD + p + _TAIL for p in (
    r"-{2,}[ \u00a0]*原始邮件[ \u00a0]*-{2,}",  # QQ Mail, Foxmail
    r"-{2,}[ \u00a0]*(?:Original|Original Message|Forwarded message"
    r"|邮件原件|原邮件|转发的邮件)[ \u00a0]*-{2,}",
    r"_{20,}",  # Outlook's rule above its header block
)), re.M)
# Attribution lines; searched only in text that has their verb, as the
# date anywhere in a line makes them the costly patterns.
_WROTE = re.compile("|".join(_LEAD + p + _TAIL for p in (
    r"在\s*\d{4}[-/年]\d{1,2}[-/月]\d{1,2}.{0,160}写道\s*[:：]?",  # 163, 126, Yeah.net
    r".{0,120}\d{4}年\d{1,2}月\d{1,2}日.{0,60}写道\s*[:：]?",  # Gmail, Apple Mail in Chinese
    r"(?:At|On)\s.{4,160}\s(?:wrote|写道)\s*[:：]?",
)), re.M)
# Outlook's and Foxmail's header block. "发件人:" alone may be the writer's
# own sentence, so a second header field must follow within three lines.
_FROM_LINE = re.compile(_LEAD + r"(?:发件人|From)[ \t]*" + _COLON + r".*$", re.M)
_HEADER_FIELD = re.compile(_LEAD + r"(?:发送时间|发送日期|日期|时间|收件人|抄送|主题|Sent|Date|To|Cc|Subject)"
                           r"[ \t]*" + _COLON, re.M)
# Lines a client adds below the writer's words.
_SIGNATURE = re.compile("|".join(r"^[ \t]*" + p + r"[ \t]*$" for p in (
    r"-- ?",  # RFC 3676 §4.3 signature separator
    r"(?:发自|来自)我的\s*(?:iPhone|iPad|Android|华为|荣耀|小米|红米|OPPO|vivo|魅族|三星|一加|"
    r"手机|平板|Redmi|HUAWEI|HONOR|Xiaomi|Galaxy).{0,20}",  # 发自我的iPhone, 来自我的华为手机
    r"从我的.{1,20}发送",  # 从我的 iPhone 发送
    r"(?:发自|来自)\s*(?:网易邮箱|QQ邮箱|手机QQ邮箱|新浪邮箱|搜狐邮箱|139邮箱|Foxmail|Outlook).{0,20}",
    r"Sent from my .{1,40}",
    r"(?:Get|获取)\s*Outlook\s*(?:for|适用于).{0,30}",
)), re.M | re.I)


def _quote_start(text: str) -> int:
    head = _QUOTE_HEAD.search(text)
    end = head.start() if head else len(text)
    if "写道" in text or "wrote" in text:
        wrote = _WROTE.search(text, 0, end)
        end = wrote.start() if wrote else end
    for line in _FROM_LINE.finditer(text, 0, end):
        following = text[line.end():line.end() + 400].split("\n", 4)[1:4]
        if any(_HEADER_FIELD.match(x) for x in following):
            return line.start()
    return end


def _trailing_quote(lines: list[str]) -> int:
    # A block of "> " lines at the end, and the attribution line above it.
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and (lines[start - 1].lstrip().startswith(">") or not lines[start - 1].strip()):
        start -= 1
    if start == end:
        return len(lines)
    if start and lines[start - 1].rstrip().endswith((":", "：")):
        start -= 1
    return start


def reply_part(text: str) -> str:
    """The writer's own words: quoted earlier mail and client signatures removed.

    When nothing would remain (a forward with no comment) the whole text is kept.

    >>> reply_part("好的，谢谢。\\n\\n发自我的iPhone\\n\\n------------------ 原始邮件 ------------------\\n"
    ...            "发件人: \\"学籍服务\\"<66119801@moe.edu.cn>;\\n主题: 回复")
    '好的，谢谢。'
    >>> reply_part("问题已解决。\\n\\n在 2026-03-01 10:20:30，\\"张三\\" <z@163.com> 写道：\\n> 原文")
    '问题已解决。'
    """
    text = text.replace("\r\n", "\n")
    lines = text[:_quote_start(text)].split("\n")
    mine = "\n".join(lines[:_trailing_quote(lines)])
    signature = _SIGNATURE.search(mine)
    reply = (mine[:signature.start()] if signature else mine).strip()
    return reply or text.strip()


def _uu_line(data: bytes) -> bytes:
    try:
        return binascii.a2b_uu(data)
    except binascii.Error:
        # Encoders that pad lines wrongly: decode only what the length byte
        # announces (what the old uu module did).
        length = (((data[0] - 32) & 63) * 4 + 5) // 3
        try:
            return binascii.a2b_uu(data[:length])
        except binascii.Error:
            return b""


def split_uuencoded(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Uuencoded files pasted into a text body, taken out of it as (file name, bytes).

    >>> split_uuencoded("see file\\nbegin 644 a.txt\\n#86)C\\n`\\nend\\nbye")
    ('see file\\n\\nbye', [('a.txt', b'abc')])
    """
    if "begin " not in text:
        return text, []
    files, kept, position = [], [], 0
    while begin := _UU_BEGIN.search(text, position):
        end = _UU_END.search(text, begin.end())
        if end is None:
            break
        lines = [line for line in text[begin.end():end.start()].encode("latin-1", "replace").split(b"\n")
                 if line.strip()]
        try:
            data = b"".join(map(binascii.a2b_uu, lines))
        except binascii.Error:
            data = b"".join(map(_uu_line, lines))
        files.append((begin.group(1).strip(), data))
        kept.append(text[position:begin.start()])
        position = end.end()
    return "".join(kept) + text[position:], files
