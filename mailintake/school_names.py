"""School names in free text (学校名称), and the registry names each may stand for.

Pure, like :mod:`mailintake.extract`: the caller passes the place index, so
nothing here touches the database. :mod:`mailintake.school_match` compares
the names found here with ``schools.name``, by equality (one index probe each).

A school's name ends in one of a few words (学校, 中学, 小学, 附中, 中心校,
教学点 …) after a name part: a place, a number, a word (仙桃市第一中学,
北京市朝阳区实验小学, 育才小学). Parents write the name as it is registered,
without the place the registry puts first (第一中学, with 仙桃 named elsewhere
in the mail), with a short place (仙桃第一中学) or in the spoken short form
(仙桃一中, 北京四中). Chinese text does not mark where a name starts, so every
tail of the name part is tried (孩子原来长安区第一小学 → … 长安区第一小学 …
第一小学), the longest one the registry knows counting most; words that are
never part of a name (的, 在, 是, 读 …) end the name part, and a name part that
is only chatter (孩子学校, 民办学校, 我的小学同学, 中学生) names nothing.

Bounded for large mail: the first :data:`MAX_TEXT` characters are scanned, at
most :data:`MAX_MENTIONS` names are kept, each with at most :data:`MAX_FORMS`
exact names, and a name part is at most :data:`MAX_HEAD` characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mailintake.places import PlaceIndex, is_ancestor

MAX_TEXT = 50_000
MAX_MENTIONS = 10
MAX_FORMS = 300
MAX_HEAD = 24
MAX_PLACE_CODES = 4  # places named elsewhere in the mail that may precede a bare name

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_NUMERALS = "〇零一二两三四五六七八九十百0123456789"
# The words a school's name ends in (the longer ones end in these too:
# 九年一贯制学校, 初级中学, 附属中学, 中心小学 …), and the spoken short
# form: a numeral and 中 or 小 (仙桃一中, 长安区二小), not 中学 or 小学.
_SUFFIX = re.compile(r"学校|中学|小学|附中|附小|中心校|教学点|分校"
                     r"|(?<=[〇零一二两三四五六七八九十百0-9])[中小](?!学)")
# The full form of an abbreviated ending, also tried.
_LONGER = {"附中": "附属中学", "附小": "附属小学", "中心校": "中心学校"}
# After the ending, these make it another word: 中学生, 小学部, 小学阶段, 学校标识码.
_NOT_AFTER = frozenset("生部段阶标")
# After a short form, only these may follow (or no Chinese character at all):
# 北京四中的, 仙桃一中高一, 长安区一小三年级; not 一小时, 一中心, 初一中途.
_SHORT_FOLLOW = frozenset("的读就在是了上念老校班初高年转和与及或也都还去到" + _NUMERALS)
# Characters no school or place name contains: they end a name part.
# (Not 上 上海, 从 从化, 和 和平, 都 成都, 于 于都, 个 个旧, 那 那曲, 如 如东, 会 会理,
# 们 图们, 让 让胡路, 要 高要: tests/mailintake/test_school_names.py checks every division's name.)
_BREAKERS = ("的我你他她它您在是了说读就去到吗呢吧啊呀哦嗯这哪把被给跟但却很没不已请问该此其"
             "及与或也又还并而因所虽转念")
# What ends a name part, looking back from its ending.
_NOT_NAME = re.compile(rf"[^{_CJK}0-9〇]|[{_BREAKERS}]")
# Words in front of a name that also begin places (于都县, 从化区, 和平区, 上海市):
# dropped unless a place starts there (就读于育才小学, 孩子上育才小学).
_PREPOSITIONS = frozenset("于从和上向")
# Words that say what kind of school, not which: 问题是民办学校, 当地小学, 农村学校.
_KINDS = (
    "民办", "公办", "私立", "公立", "寄宿", "重点", "普通", "农村", "乡村", "乡下", "城里", "县里", "市里",
    "镇上", "村里", "乡镇", "当地", "本地", "外地", "附近", "一所", "同一", "不同", "其他", "其它", "别的",
    "全国", "全省", "全市", "全县", "各级", "培训", "新的", "好的", "正规", "一些", "很多",
)
# Chatter in front of a name, dropped; a name part of only these names nothing.
_CHATTER = sorted((
    *_KINDS, "孩子", "小孩", "女儿", "儿子", "学生", "家长", "原来", "现在", "目前", "以前", "之前", "后来",
    "当时", "当初", "今年", "去年", "明年", "本来", "原先", "就读", "接收", "户籍地", "初级", "高级", "完全",
    "职业",
), key=len, reverse=True)
_CHATTER_RUN = re.compile("(?:" + "|".join(_CHATTER) + ")+")
_LONG_DIGITS = re.compile(r"[0-9]{5,}")  # a phone or ID number, never a school's number
_DIGITS = re.compile(r"[0-9]+")
# Spaces or one line break between Chinese characters or digits; see compact().
# (One pattern led by a character class: several times faster than lookbehinds.)
_GAP = re.compile(rf"([{_CJK}0-9])([ \t]*\r?\n[ \t]*|[ \t]+)(?=([{_CJK}0-9]))")


@dataclass(frozen=True)
class SchoolMention:
    """A school name in the text, and the exact names it may stand for.

    ``forms`` maps each exact name to how many characters of what the mail
    wrote it accounts for: a longer written match counts more (北京市第四中学
    over a school called just 第四中学).
    """

    written: str  # as written, chatter in front dropped: 仙桃一中, 长安区第一小学
    forms: dict[str, int]
    start: int  # where it stands in the scanned text, to see one name inside another
    end: int
    short: bool  # a spoken short form (仙桃一中): not listed when the registry has no such school


def compact(text: str) -> str:
    """Spaces and single line breaks next to Chinese characters removed, as a reader skips them.

    >>> compact("长安区 第一\\n小学，学号 12 34，第 1\\n小学")
    '长安区第一小学，学号12 34，第1\\n小学'
    """
    return _GAP.sub(_join, text)


def _join(gap: re.Match[str]) -> str:
    # Between Chinese characters: spaces or a wrapped line; next to a digit: spaces only;
    # between digits: nothing (a school code or phone number stays as written).
    before, space, after = gap.groups()
    digits = (before < "\u3400") + (after < "\u3400")
    return before + space if digits == 2 or (digits and "\n" in space) else before


def chinese_numeral(n: int, zero: str = "〇") -> str:
    """A school's number as its name writes it: 1-99 counted, larger ones digit by digit.

    >>> [chinese_numeral(n) for n in (1, 10, 14, 20, 99, 101, 166)]
    ['一', '十', '十四', '二十', '九十九', '一〇一', '一六六']
    """
    digits = zero + "一二三四五六七八九"
    if not 0 < n < 100:
        return "".join(digits[int(d)] for d in str(n))
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else "十" if tens == 1 else digits[tens] + "十") + (digits[ones] if ones else "")


def spellings(name: str) -> tuple[str, ...]:
    """The name, and with its Arabic numbers in Chinese numerals, as registered names have them.

    >>> spellings("长安区第1小学"), spellings("第101中学")
    (('长安区第1小学', '长安区第一小学'), ('第101中学', '第一〇一中学', '第一零一中学'))
    """
    if not _DIGITS.search(name):
        return (name,)
    return tuple(dict.fromkeys([name, _in_numerals(name, "〇"), _in_numerals(name, "零")]))


def _in_numerals(name: str, zero: str) -> str:
    return _DIGITS.sub(lambda m: chinese_numeral(int(m.group()), zero), name)


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u4dbf" or "\u4e00" <= char <= "\u9fff"


def _head(text: str, end: int, places: PlaceIndex) -> tuple[int, str]:
    """The name part that ends at ``end``: where it starts, and the part without chatter in front."""
    window = text[max(0, end - MAX_HEAD):end]
    stop = _NOT_NAME.search(window[::-1])
    head = _LONG_DIGITS.split(window[len(window) - stop.start():] if stop else window)[-1]
    while True:
        chatter = _CHATTER_RUN.match(head)
        if chatter:
            head = head[chatter.end():]
        if not (head[:1] in _PREPOSITIONS and places.match_at(head, 0) is None):
            return end - len(head), head
        head = head[1:]


def _place_runs(head: str, places: PlaceIndex) -> list[tuple[int, int, tuple[str, ...]]]:
    """Runs of place names in the name part: (start, end, codes of the last place of the run)."""
    runs: list[tuple[int, int, tuple[str, ...]]] = []
    position = 0
    while position < len(head):
        hit = places.match_at(head, position)
        if hit is None:
            position += 1
            continue
        start, codes = position, ()
        while hit is not None:
            position += hit[0]
            # 长春市朝阳区 is 220104 only, not also Beijing's 朝阳区.
            below = tuple(c for c in hit[1] if any(is_ancestor(p, c) for p in codes))
            codes = below or hit[1]
            hit = places.match_at(head, position)
        runs.append((start, position, codes))
    return runs


def _forms(head: str, words: Sequence[str], written_word: int, places: PlaceIndex,
           mail_codes: Sequence[str], *, short: bool) -> dict[str, int]:
    forms: dict[str, int] = {}

    def add(name: str, weight: int) -> None:
        for spelled in spellings(name):
            if len(forms) < MAX_FORMS and forms.get(spelled, -1) < weight:
                forms[spelled] = weight

    n = len(head)
    shortest = 0 if short else 2  # 第一中学: at least two characters before the ending
    # The name as written, from each possible start.
    for i in range(n - shortest + 1):
        for word in words:
            add(head[i:] + word, n - i + written_word)
    # A place in the name part, in full and with the places above it:
    # 仙桃第一中学 → 仙桃市第一中学, 湖北省仙桃市第一中学; 朝阳区实验小学 → 北京市朝阳区实验小学.
    runs = _place_runs(head, places)
    for start, end, codes in runs:
        for code in codes[:3]:
            for prefix in places.prefixes(code):
                for word in words:
                    add(prefix + head[end:] + word, n - start + written_word)
    if short:
        return forms  # a short form names its place itself
    # A bare name with a place named elsewhere in the mail: 第一中学 … 仙桃 → 仙桃市第一中学.
    cores = {0, *(end for _, end, _ in runs), *(i for i, c in enumerate(head) if c == "第" or c.isdigit()),
             *range(max(0, n - 6), n - 1)}
    prefixes = dict.fromkeys(p for code in mail_codes for p in places.prefixes(code))
    for i in sorted(c for c in cores if n - c >= 2):
        for prefix in prefixes:
            for word in words:
                add(prefix + head[i:] + word, n - i + written_word)
    return forms


def _ends_in_place(head: str, places: PlaceIndex) -> bool:
    return any((hit := places.match_at(head, i)) is not None and i + hit[0] == len(head)
               for i in range(len(head) - 1))


# One name found: where its name part starts, the name part, the name as
# written, the endings to try after the name part, and how long the ending was written.
_Name = tuple[int, str, str, tuple[str, ...], int]


def _spoken(text: str, start: int, end: int, places: PlaceIndex) -> _Name | None:
    """A short form ending in 中 or 小 at ``start``: a place, a numeral, the ending (仙桃一中)."""
    after = text[end:end + 1]
    if after and _is_cjk(after) and after not in _SHORT_FOLLOW:
        return None
    numeral_start = start
    while numeral_start > 0 and start - numeral_start < 4 and text[numeral_start - 1] in _NUMERALS:
        numeral_start -= 1
    numeral = text[numeral_start:start]
    head_start, head = _head(text, numeral_start, places)
    if len(head) < 2 or not _ends_in_place(head, places):
        return None
    ending = "第" + numeral + ("中学" if text[start] == "中" else "小学")
    return head_start, head, head + numeral + text[start], (ending,), end - numeral_start


def _full(text: str, start: int, end: int, places: PlaceIndex) -> _Name | None:
    """A name with one of the endings in full at ``start`` (育才小学, 仙桃市第一中学)."""
    word = text[start:end]
    if text[end:end + 1] in _NOT_AFTER or (word == "小学" and text[start - 1:start] == "中"):  # 中小学
        return None
    head_start, head = _head(text, start, places)
    if len(head) < 2 or not any(_is_cjk(c) for c in head) or head.endswith(_KINDS):
        return None
    words = (word, _LONGER[word]) if word in _LONGER else (word,)
    return head_start, head, head + word, words, end - start


def find(text: str, places: PlaceIndex, mail_codes: Sequence[str] = ()) -> tuple[SchoolMention, ...]:
    """The school names ``text`` (already NFKC-normalised) names, each once, in order.

    ``mail_codes`` are the divisions the mail names elsewhere, certain ones
    first: a bare name (第一中学) is also tried after their names.

    >>> index = PlaceIndex([("420000", "湖北省"), ("429004", "仙桃市")])
    >>> [m.written for m in find("孩子在仙桃一中读书，原来在育才小学，我的小学同学都是中学生", index)]
    ['仙桃一中', '育才小学']
    >>> forms = find("湖北仙桃一中", index)[0].forms
    >>> forms["湖北仙桃第一中学"], forms["仙桃市第一中学"], forms["湖北省仙桃市第一中学"], forms["第一中学"]
    (6, 6, 6, 2)
    """
    text = compact(text[:MAX_TEXT])
    mail_codes = list(mail_codes)[:MAX_PLACE_CODES]
    found: dict[str, SchoolMention] = {}
    for match in _SUFFIX.finditer(text):
        start, end = match.span()
        short = end - start == 1
        name = (_spoken if short else _full)(text, start, end, places)
        if name is None or name[2] in found:
            continue
        head_start, head, written, words, written_word = name
        forms = _forms(head, words, written_word, places, mail_codes, short=short)
        found[written] = SchoolMention(written, forms, head_start, end, short)
        if len(found) >= MAX_MENTIONS:
            break
    return tuple(found.values())
