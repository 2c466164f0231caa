"""Turning the bytes of Chinese mail into text: charset labels, mislabels and guesses.

Mail to the service mailbox comes from every client China uses, and the label
a client writes is often wrong (NOTES.md, "Python's email package on Chinese
mail"). The rules, as browsers apply them (WHATWG Encoding Standard):

- GB2312 and GBK labels, in all their spellings, are decoded as GB18030,
  their superset: GBK-only name characters (堃 喆 镕 昇) labelled GB2312 are
  real, and ``gb2312`` would turn them into U+FFFD;
- Big5 labels are decoded as Big5-HKSCS (then CP950);
- ISO-8859-1 and US-ASCII labels are decoded as Windows-1252;
- a label that does not fit the bytes, an unknown label, or none at all ends
  in a guess: UTF-8, then GB18030 or Big5 if the result reads as Chinese, then
  charset-normalizer restricted to the encodings this mailbox sees.

Nothing here raises on bad input: every function returns text, and says
through its ``how`` result when it had to guess or replace.
"""

from __future__ import annotations

import codecs
import functools
from typing import NamedTuple

from charset_normalizer import from_bytes

# WHATWG names that Python's codec registry does not know, and the GB and
# Big5 family members that Python does know but would decode too narrowly.
_ALIASES = {
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "csgb2312", "cp936", "ms936", "windows-936",
                     "gb_2312-80", "gb_2312", "euc-cn", "x-euc-cn", "chinese", "iso-ir-58",
                     "csiso58gb231280", "gb18030", "gb-18030", "x-gb18030", "gb2312-80"), "gb18030"),
    **dict.fromkeys(("big5", "big5-hkscs", "big5hkscs", "x-big5", "cn-big5", "csbig5",
                     "x-x-big5", "cp950", "ms950", "windows-950"), "big5hkscs"),
    **dict.fromkeys(("us-ascii", "ascii", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1",
                     "latin-1", "l1", "cp819", "ibm819", "windows-1252", "cp1252", "x-cp1252",
                     "ansi_x3.4-1968", "iso-ir-100", "csisolatin1"), "cp1252"),
    **dict.fromkeys(("utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8"), "utf-8"),
}
# What charset-normalizer may choose from when we have to guess: the
# encodings mail to a Chinese ministry is written in. Left open, it reads
# short Big5 or KOI8-R text as Shift_JIS.
_GUESSES = ["utf_8", "gb18030", "big5hkscs", "cp1252", "cp1251", "koi8_r", "cp1250",
            "iso8859_15", "iso8859_2", "cp866"]
_PUNCTUATION = set("，。、；：？！“”‘’（）《》〈〉【】…—～·「」『』　￥")
_MIN_CHINESE = 0.6  # share of common characters above which bytes read as Chinese


class Decoded(NamedTuple):
    text: str
    encoding: str  # the codec used
    how: str  # "label", "detected" (the label was absent, unknown or wrong) or "replaced"


def canonical(label: str | None) -> str | None:
    """The codec a charset label is decoded with, or None if it names no text encoding.

    >>> [canonical(x) for x in ("GB2312", '"x-gbk"', "Big5", "ISO-8859-1", "koi8-r", "base64", "x-bogus")]
    ['gb18030', 'gb18030', 'big5hkscs', 'cp1252', 'koi8-r', None, None]
    """
    if not label:
        return None
    label = label.strip().strip("\"'").strip().lower()
    if not label or len(label) > 40:
        return None
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    # Codecs such as base64 or zlib are registered too, but are no charset.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return _ALIASES.get(info.name, info.name)


@functools.cache
def _common(encoding: str) -> frozenset[str]:
    # The frequent characters of each encoding: GB2312 level 1 (3755 hanzi)
    # and Big5 level 1 (5401). Text decoded with its own codec is almost all
    # of these; decoded with the wrong one (Big5 as GBK, KOI8-R or Latin-1 as
    # GBK) it is mostly kana, Greek, private use and rare hanzi.
    chars: set[str] = set(_PUNCTUATION)
    chars.update(chr(c) for c in range(0xFF01, 0xFF5F))  # full-width ASCII forms
    if encoding == "gb18030":
        for lead in range(0xB0, 0xD8):
            chars.update(bytes((lead, t)).decode("gb2312", "ignore") for t in range(0xA1, 0xFF))
    else:
        for lead in range(0xA4, 0xC7):
            for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
                chars.add(bytes((lead, trail)).decode("big5", "ignore"))
    chars.discard("")
    return frozenset(chars)


def chinese_score(text: str, encoding: str = "gb18030") -> float:
    """The share of non-ASCII characters that are frequent in ``encoding`` (gb18030 or big5hkscs).

    >>> chinese_score("您好，测试")
    1.0
    >>> chinese_score("ｱzｦn｡Aｧﾚｪｺ")
    0.0
    """
    common = _common(encoding)
    wide = [ch for ch in text if ch > "\x7f" and not ch.isspace()]
    if not wide:
        return 0.0
    return sum(ch in common for ch in wide) / len(wide)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _as_chinese(data: bytes) -> Decoded | None:
    best: tuple[float, str, str] | None = None
    for encoding in ("gb18030", "big5hkscs"):
        text = _strict(data, encoding)
        if text is not None:
            score = chinese_score(text, encoding)
            if score >= _MIN_CHINESE and (best is None or score > best[0]):
                best = (score, text, encoding)
    return Decoded(best[1], best[2], "detected") if best else None


def guess(data: bytes) -> Decoded:
    """Text from bytes whose charset is unknown.

    >>> guess("您好，我的孩子叫王堃".encode("gb18030"))
    Decoded(text='您好，我的孩子叫王堃', encoding='gb18030', how='detected')
    >>> guess("學籍號碼".encode("big5")).encoding
    'big5hkscs'
    """
    if data.isascii():
        return Decoded(data.decode("ascii"), "ascii", "detected")
    text = _strict(data, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", "detected")
    chinese = _as_chinese(data)
    if chinese is not None:
        return chinese
    # The Chinese encodings were judged above, by a measure that works on
    # short text too; charset-normalizer picks among the others.
    for match in from_bytes(data[:65536], cp_isolation=_GUESSES):
        if match.encoding not in ("gb18030", "big5hkscs", "utf_8"):
            text = _strict(data, match.encoding)
            if text is not None:
                return Decoded(text, match.encoding, "detected")
    # Nothing fits: this mailbox's most likely encoding, with U+FFFD where it fails.
    return Decoded(data.decode("gb18030", "replace"), "gb18030", "replaced")


def decode(data: bytes, label: str | None) -> Decoded:
    """Text from bytes labelled ``label`` (a MIME charset parameter, or None).

    >>> decode("王堃".encode("gb18030"), "gb2312").text
    '王堃'
    >>> decode("测试".encode("utf-8"), "iso-8859-1")
    Decoded(text='测试', encoding='utf-8', how='detected')
    >>> decode(b"a \\x96 b", "iso-8859-1").text
    'a – b'
    >>> decode("没有".encode("gb18030"), "x-unknown").encoding
    'gb18030'
    >>> decode("没有".encode("utf-8"), "gb2312")
    Decoded(text='没有', encoding='utf-8', how='detected')
    """
    encoding = canonical(label)
    if encoding is None:
        return guess(data)
    if data.isascii() and encoding in ("cp1252", "utf-8", "ascii", "gb18030", "big5hkscs"):
        return Decoded(data.decode("ascii"), "ascii", "label")
    # (7-bit encodings such as ISO-2022-JP and HZ are ASCII bytes: never "UTF-8".)
    if not data.isascii() and encoding != "utf-8" and not encoding.startswith(("utf-16", "utf-32")):
        # Non-ASCII text that is valid UTF-8 is UTF-8 whatever the label says:
        # GBK, Big5, KOI8-R or Latin-1 text almost never is, and clients that
        # write "gb2312" or "iso-8859-1" on what the system produced are common.
        fixed = _strict(data, "utf-8")
        if fixed is not None:
            return Decoded(fixed, "utf-8", "detected")
    text = _strict(data, encoding)
    if encoding == "cp1252":
        # A Western label on other non-ASCII bytes: the same mislabel, with GB18030 or Big5.
        chinese = _as_chinese(data)
        if chinese is not None:
            return chinese
        if text is None:  # bytes Windows-1252 leaves undefined: ISO-8859-1 proper
            return Decoded(data.decode("latin-1"), "latin-1", "label")
        return Decoded(text, encoding, "label")
    if text is not None:
        return Decoded(text, encoding, "label")
    if encoding == "big5hkscs":
        text = _strict(data, "cp950")
        if text is not None:
            return Decoded(text, "cp950", "label")
    guessed = guess(data)
    if guessed.how != "replaced":
        return guessed
    return Decoded(data.decode(encoding, "replace"), encoding, "replaced")
