"""Place names in free text: provinces, prefectures and counties of GB/T 2260.

Pure: the index is built from (code, name) pairs the caller reads from the
divisions table, so nothing here touches the database.

Parents write "海淀" for 海淀区 and "内蒙古" for 内蒙古自治区. A short form is
accepted only when it names exactly one division and is not an everyday word;
a full name that several divisions share (朝阳区: Beijing and Changchun) is
kept with every code, narrowed by another place the text names (北京市朝阳区).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lookup.divisions import OUTSIDE_SYSTEM, PSEUDO_NAMES

# The 55 officially recognised minorities, for the names of autonomous areas
# (长阳土家族自治县 → 长阳). Longest first, so 土家 is tried before 土.
_ETHNIC = sorted([
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇",
    "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙",
    "鄂伦春", "赫哲", "门巴", "珞巴", "基诺", "各",  # 各族: 龙胜各族自治县
], key=len, reverse=True)
_AUTONOMOUS = re.compile(r"^(.{2,}?)(?:(?:" + "|".join(_ETHNIC) + r")族?)*自治(?:区|州|县|旗)$")
_SUFFIX = re.compile(r"^(.{2,}?)(?:特别行政区|地区|林区|特区|新区|省|市|区|县|旗|盟)$")
# Names and short forms that are everyday words far more often than places
# (城区 is a district of 阳泉, and every city's "urban area").
_COMMON_WORDS = frozenset({
    "城区", "郊区", "矿区", "平安", "吉利", "友好", "胜利", "红旗", "前进", "团结", "和平", "新华", "东方",
    "永安", "长安", "太平", "光明", "文明", "先锋", "开发", "城关", "中心", "新城", "老城", "市中", "城中",
    "城东", "城西", "城南", "城北", "东区", "西区", "南区", "北区", "中区", "安定", "永定", "永和", "和顺",
    "清河", "通道", "新民", "安宁", "康乐", "江南", "东海", "高新", "经济", "开放", "城市", "建设", "海港",
})


@dataclass(frozen=True)
class PlaceMention:
    """A place the text names: as written, and the division codes it may be."""

    text: str
    codes: tuple[str, ...]


def short_form(name: str) -> str | None:
    """The name without its administrative suffix, when at least two characters remain.

    >>> names = ("海淀区", "新疆维吾尔自治区", "长阳土家族自治县", "浦东新区", "城区", "北京市")
    >>> [short_form(n) for n in names]
    ['海淀', '新疆', '长阳', '浦东', None, '北京']
    """
    for pattern in (_AUTONOMOUS, _SUFFIX):
        match = pattern.match(name)
        if match:
            return match.group(1)
    return None


def is_ancestor(parent: str, child: str) -> bool:
    """Whether ``parent`` is the province or prefecture of ``child`` (by the codes, GB/T 2260).

    >>> is_ancestor("110000", "110105"), is_ancestor("130100", "130102"), is_ancestor("130102", "130102")
    (True, True, False)
    """
    return parent != child and parent in (child[:2] + "0000", child[:4] + "00")


def _current(codes: Iterable[str], abolished: set[str]) -> list[str]:
    codes = list(codes)
    return [c for c in codes if c not in abolished] or codes


class PlaceIndex:
    """Names and short forms of the divisions, for a longest-first scan of text."""

    def __init__(self, divisions: Iterable[tuple[str, str] | tuple[str, str, int | None]]) -> None:
        """From (code, name) or (code, name, valid_to) rows; valid_to None (or absent) is a current division.

        A name that a current division carries means that one, not a division
        abolished under the same name (仙桃市 is 429004, no longer 422401):
        a third of the names GB/T 2260 ever used were used again this way.
        """
        full: dict[str, list[str]] = {}
        abolished: set[str] = set()
        for code, name, *valid_to in divisions:
            if name in PSEUDO_NAMES or code[:2] in OUTSIDE_SYSTEM or len(name) < 2 or name in _COMMON_WORDS:
                continue
            full.setdefault(name, []).append(code)
            if valid_to and valid_to[0] is not None:
                abolished.add(code)
        full = {name: _current(codes, abolished) for name, codes in full.items()}
        short: dict[str, set[str]] = {}
        for name, codes in full.items():
            shortened = short_form(name)
            if shortened:
                short.setdefault(shortened, set()).update(codes)
        # 石家庄 is 石家庄市, not also 石家庄地区 (abolished in 1993).
        short = {name: set(_current(codes, abolished)) for name, codes in short.items()}
        names = {name: tuple(sorted(codes)) for name, codes in full.items()}
        # Code → full name, for the names schools carry (仙桃市第一中学, 北京市朝阳区实验小学).
        self.full_names = {code: name for name, codes in full.items() for code in codes}
        for name, codes in short.items():
            # "乌鲁木齐" is the city, not also its 乌鲁木齐县; "海南" the province,
            # not 海南藏族自治州; "吉林" the province, not 吉林市.
            tops = {c for c in codes if not any(is_ancestor(o, c) for o in codes)}
            provinces = {c for c in tops if c.endswith("0000")}
            codes = tops if len(tops) == 1 else provinces if len(provinces) == 1 else codes
            if len(codes) == 1 and name not in names and name not in _COMMON_WORDS:
                names[name] = tuple(codes)
        self.names = names
        self.provinces = frozenset(code[:2] for codes in full.values() for code in codes
                                   if code.endswith("0000"))
        # For each first character, the lengths of the names starting with it, longest first.
        lengths: dict[str, set[int]] = {}
        for name in names:
            lengths.setdefault(name[0], set()).add(len(name))
        self._lengths = {ch: sorted(found, reverse=True) for ch, found in lengths.items()}

    def match_at(self, text: str, position: int) -> tuple[int, tuple[str, ...]] | None:
        """The longest place name starting at ``position``: its length and codes.

        >>> PlaceIndex([("420000", "湖北省"), ("429004", "仙桃市")]).match_at("湖北仙桃一中", 2)
        (2, ('429004',))
        """
        if position >= len(text):
            return None
        room = len(text) - position
        for length in self._lengths.get(text[position], ()):
            codes = self.names.get(text[position:position + length]) if length <= room else None
            if codes:
                return length, codes
        return None

    def prefixes(self, code: str) -> tuple[str, ...]:
        """The ways a name may begin with this division: its full name, with or without those above.

        Pseudo-prefectures (110100 市辖区) have no name and are skipped.

        >>> index = PlaceIndex([("110000", "北京市"), ("110100", "市辖区"), ("110105", "朝阳区")])
        >>> index.prefixes("110105")
        ('北京市朝阳区', '北京市', '朝阳区')
        """
        chain = [self.full_names[c] for c in dict.fromkeys((code[:2] + "0000", code[:4] + "00", code))
                 if c in self.full_names]
        # Every ordered selection of the chain (北京市朝阳区, 河北省石家庄市, 湖北省仙桃市, 长安区 …).
        picks = [[name for bit, name in enumerate(chain) if mask >> bit & 1]
                 for mask in range(1, 1 << len(chain))]
        return tuple(sorted({"".join(pick) for pick in picks}, key=lambda p: (-len(p), p)))

    def find(self, text: str) -> tuple[PlaceMention, ...]:
        """Every place named in ``text``, longest names first, each division once.

        >>> index = PlaceIndex([("110000", "北京市"), ("110105", "朝阳区"), ("110108", "海淀区"),
        ...                     ("220104", "朝阳区"), ("220000", "吉林省")])
        >>> index.find("我家在北京市朝阳区，孩子在海淀上学")
        (PlaceMention(text='北京市', codes=('110000',)), PlaceMention(text='朝阳区', codes=('110105',)), PlaceMention(text='海淀', codes=('110108',)))
        >>> PlaceIndex([("422401", "仙桃市", 1996), ("429004", "仙桃市", None)]).find("湖北仙桃")
        (PlaceMention(text='仙桃', codes=('429004',)),)
        """  # noqa: E501
        found: list[tuple[str, tuple[str, ...]]] = []
        position, end = 0, len(text)
        while position < end:
            hit = self.match_at(text, position) if text[position] in self._lengths else None
            if hit is None:
                position += 1
                continue
            length, codes = hit
            found.append((text[position:position + length], codes))
            position += length
        named = {code for _, codes in found for code in codes}
        mentions: dict[tuple[str, ...], PlaceMention] = {}
        for piece, codes in found:
            if len(codes) > 1:
                narrowed = tuple(c for c in codes if any(is_ancestor(o, c) for o in named))
                codes = narrowed or codes
            mentions.setdefault(codes, PlaceMention(piece, codes))
        return tuple(mentions.values())
