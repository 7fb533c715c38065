"""Names of places and organisations: China's administrative divisions and jieba's place/organisation tags.

Two process-wide, read-only tables, loaded once on first use (neither depends on a knowledge base):

- the gazetteer (`data/places.tsv`, built from cpca's code table by scripts/build_places.py): every
  province, prefecture-level city and county, by its full name (朝阳区, 廊坊市) and, where residents
  drop the suffix, its short name (廊坊, 上海, 河北, 保定). Like cpca itself, counties elsewhere keep their
  suffix (区, 县, 市): without it too many are ordinary words (合作市, 东方市, 开平区). Counties of the
  nearby provinces are known by their short names too (朝阳, 海淀 in the home province; 香河, 武清 in
  the provinces the knowledge base speaks of), as residents name them that way every day;
- jieba's dictionary tags, for names the gazetteer lacks: places and organisations (ns, nt: 颐和园,
  协和医院, 北京四中) and other proper names (nr, nz: 张家湾, 人大附中), used to tell a name before a kind
  word (张家湾 + 镇) from an ordinary word (森林 + 公园).

A county's two-character name that jieba knows as an ordinary word (城区, 矿区, 固安) is no name here,
except in the home province (房山, 平谷): a false "another place" on an ordinary question costs the
resident the answer.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "places.tsv"

# jieba tags of proper names: places, organisations, persons (also many place names), other names, and
# abbreviations (管委会, 京津冀).
NAME_TAGS = frozenset({"ns", "nt", "nr", "nrt", "nrfg", "nz", "j"})
# One-character words that are grammar, never part of a name: pronouns (我 这 哪 本 各), prepositions,
# conjunctions, particles, adverbs, numerals, locatives (上 下 中), verbs (去 到 附). Measure words and
# bound morphemes (张 家 台, 园 湾) are common in names.
GRAMMAR_TAGS = frozenset({"r", "p", "c", "u", "uj", "ul", "uz", "ud", "ug", "uv", "d", "m", "mq", "y", "e", "o",
                          "f", "v", "vn", "vd", "t", "tg"})
# Suffixes dropped to make the short name residents use (河北省 → 河北, 上海市 → 上海): cpca's own rule.
_SHORTEN = re.compile(r"(省|市|特别行政区|(?:[\u4e00-\u9fff]{1,4}族)*自治区|地区|盟)$")
# An autonomous prefecture is called by its place name (延边朝鲜族自治州 → 延边).
_PREFECTURE = re.compile(r"^([\u4e00-\u9fff]{2,}?)(?:[\u4e00-\u9fff]{1,4}族)+自治州$")
_DISTRICT = re.compile(r"(区|县)$")
_TAGGED = re.compile(r"^(\S+) \d+ (\S+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Place:
    name: str  # the full official name
    level: str  # province | city | county
    province: str


class Tags:
    """jieba's part-of-speech tags of its dictionary words: names of every length, grammar of one character,
    and the words of up to four characters that are ordinary words rather than names."""

    def __init__(self, text: str):
        self.names: dict[str, str] = {}
        self.chars: dict[str, str] = {}
        ordinary = set()
        grammar = set()
        for m in _TAGGED.finditer(text):
            word, tag = m.group(1), m.group(2)
            if len(word) == 1:
                self.chars.setdefault(word, tag)
            elif tag in NAME_TAGS:
                self.names.setdefault(word, tag)
            elif len(word) <= 4:
                ordinary.add(word)
                if tag in GRAMMAR_TAGS:
                    grammar.add(word)
        self.ordinary = frozenset(ordinary - self.names.keys())
        self.grammar = frozenset(grammar - self.names.keys())  # 我们 这个 附近 哪些: never a name

    def tag(self, word: str) -> str | None:
        return self.chars.get(word) if len(word) == 1 else self.names.get(word)


@cache
def jieba_tags() -> Tags:
    """Read from jieba's own dictionary file (about 0.2 s), once per process."""
    import jieba

    with jieba.get_dict_file() as f:
        return Tags(f.read().decode("utf-8"))


class Gazetteer:
    """Every surface form (full or short name) of China's divisions, looked up by substring."""

    def __init__(self, places: list[Place], home_province: str, near: frozenset[str], ordinary: frozenset[str]):
        self.forms: dict[str, Place] = {}
        for p in places:
            for form in self._forms(p, near | {home_province}):
                if len(form) < 2:
                    continue
                if len(form) == 2 and p.level == "county" and form in ordinary and p.province != home_province:
                    continue
                # A full name wins over another place's short name; otherwise the first (largest) keeps it.
                if form not in self.forms or form == p.name:
                    self.forms[form] = p
        self.longest = max((len(f) for f in self.forms), default=0)

    @staticmethod
    def _forms(p: Place, near: frozenset[str]) -> list[str]:
        forms = [p.name]
        if p.level != "county":
            m = _PREFECTURE.match(p.name)
            forms.append(m.group(1) if m else _SHORTEN.sub("", p.name))
        elif p.province in near:
            forms.append(_DISTRICT.sub("", _SHORTEN.sub("", p.name)))
        return forms

    def find(self, text: str) -> list[tuple[int, int, Place]]:
        """(start, end, place) of every name in `text`, longest first at each position, not overlapping."""
        out = []
        i = 0
        while i < len(text):
            for size in range(min(self.longest, len(text) - i), 1, -1):
                place = self.forms.get(text[i:i + size])
                if place is not None:
                    out.append((i, i + size, place))
                    i += size
                    break
            else:
                i += 1
        return out


_lock = threading.Lock()
_gazetteers: dict[tuple[str, frozenset[str]], Gazetteer] = {}


def load_places(path: Path = DATA) -> list[Place]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, level, province = line.split("\t")
            out.append(Place(name, level, province))
    return out


def gazetteer(home_province: str = "", near: frozenset[str] = frozenset()) -> Gazetteer:
    """The gazetteer for a knowledge base whose home is in `home_province` (北京市) and which speaks of the
    `near` provinces (天津市, 河北省); built once per process for each."""
    key = (home_province, near)
    with _lock:
        if key not in _gazetteers:
            _gazetteers[key] = Gazetteer(load_places(), home_province, near, jieba_tags().ordinary)
        return _gazetteers[key]
