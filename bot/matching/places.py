"""Names of places and organisations: China's administrative divisions and jieba's place/organisation tags.

Two process-wide, read-only tables, loaded once on first use (neither depends on a knowledge base):

- the gazetteer (`data/places.tsv`, built from cpca's code table by scripts/build_places.py): every
  province, prefecture-level city and county, by its full name (朝阳区, 廊坊市) and, where residents
  drop the suffix, its short name (廊坊, 上海, 河北, 保定). Like cpca itself, counties elsewhere keep their
  suffix (区, 县, 市): without it too many are ordinary words (合作市, 东方市, 开平区). Counties of the
  nearby provinces are known by their short names too (朝阳, 海淀 in the home province; 香河, 武清 in
  the provinces the knowledge base speaks of), as residents name them that way every day;
- towns (乡镇, 街道) of the home province and the nearby ones, by their full names (望京街道, 燕郊镇) and,
  in the home province, by the short names residents use every day (望京, 台湖, 金融街), unless jieba knows
  the short name as an ordinary word (梨园). The towns of the home county itself (通州区's 宋庄, 潞城) are no
  other place: a district-wide service is theirs too; a place-specific entry names its own;
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
from itertools import compress
from operator import add
from pathlib import Path

from bot.matching import kept_tables

DATA = Path(__file__).with_name("data") / "places.tsv"
EXTRA = Path(__file__).with_name("data") / "places-extra.tsv"  # new areas (雄安新区): no division, often named

# jieba tags of proper names: places, organisations, persons (also many place names), other names, and
# abbreviations (管委会, 京津冀).
NAME_TAGS = frozenset({"ns", "nt", "nr", "nrt", "nrfg", "nz", "j"})
# One-character words that are grammar, never part of a name: pronouns (我 这 哪 本 各), prepositions,
# conjunctions, particles, adverbs, numerals, locatives (上 下 中), verbs (去 到 附). Measure words and
# bound morphemes (张 家 台, 园 湾) are common in names.
GRAMMAR_TAGS = frozenset({"r", "p", "c", "u", "uj", "ul", "uz", "ud", "ug", "uv", "d", "m", "mq", "y", "e", "o",
                          "f", "v", "vn", "vd", "t", "tg"})
GRAMMAR_MAX_CHARS = 2  # 我们 这个 附近: longer grammar words do not stand before a kind word
# Suffixes dropped to make the short name residents use (河北省 → 河北, 上海市 → 上海): cpca's own rule.
_SHORTEN = re.compile(r"(省|市|特别行政区|(?:[\u4e00-\u9fff]{1,4}族)*自治区|地区|盟)$")
# An autonomous prefecture is called by its place name (延边朝鲜族自治州 → 延边).
_PREFECTURE = re.compile(r"^([\u4e00-\u9fff]{2,}?)(?:[\u4e00-\u9fff]{1,4}族)+自治州$")
_DISTRICT = re.compile(r"(区|县)$")
# China's 55 minority nationalities, by the names divisions carry before 族: an ethnic township's short name is
# what comes before them (于家务回族乡 → 于家务). Any four characters before 族 took the name too (于家务回族 as one
# "nationality" left nothing).
_NATIONALITIES = str.split(
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 "
    "哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 "
    "土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 "
    "俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
)
_TOWN = re.compile(rf"(街道|地区|(?:(?:{'|'.join(_NATIONALITIES)})族)*(?:乡|镇)|苏木)$")  # 望京街道, 于家务回族乡


@dataclass(frozen=True, slots=True)
class Place:
    name: str  # the full official name
    level: str  # province | city | county | town
    province: str
    county: str = ""  # a town's county (通州区)


class Tags:
    """jieba's part-of-speech tags of its dictionary words: names of every length, every one-character word,
    grammar words (我们 这个 附近), and the two-character words that are ordinary words rather than names."""

    def __init__(self, names: dict[str, str], chars: dict[str, str], grammar: frozenset[str],
                 ordinary: frozenset[str]):
        self.names, self.chars, self.grammar, self.ordinary = names, chars, grammar, ordinary

    @classmethod
    def parse(cls, text: str, forms: frozenset[str] = frozenset()) -> Tags:
        """`forms`: the two-character place names whose ordinariness matters (the gazetteer's); other
        ordinary words are not kept (a smaller table loads faster)."""
        names: dict[str, str] = {}
        chars: dict[str, str] = {}
        ordinary = set()
        grammar = set()
        for line in text.splitlines():
            word, _freq, tag = line.split(" ")
            if len(word) == 1:
                chars.setdefault(word, tag)
            elif tag in NAME_TAGS:
                names.setdefault(word, tag)
            elif tag in GRAMMAR_TAGS and len(word) <= GRAMMAR_MAX_CHARS:
                grammar.add(word)
            if len(word) == 2 and word in forms and tag not in NAME_TAGS:
                ordinary.add(word)
        return cls(names, chars, frozenset(grammar - names.keys()), frozenset(ordinary - names.keys()))

    def columns(self) -> dict[str, list[str]]:
        return {"names": list(self.names), "name_tags": list(self.names.values()), "chars": list(self.chars),
                "char_tags": list(self.chars.values()), "grammar": sorted(self.grammar),
                "ordinary": sorted(self.ordinary)}

    @classmethod
    def from_columns(cls, c: dict[str, list[str]]) -> Tags:
        """Raises ValueError for columns that are not a table of tags (a kept file of another shape)."""
        try:
            names, name_tags, chars, char_tags = c["names"], c["name_tags"], c["chars"], c["char_tags"]
            grammar, ordinary = c["grammar"], c["ordinary"]
        except KeyError as exc:
            raise ValueError(f"no column {exc}") from None
        if len(names) != len(name_tags) or len(chars) != len(char_tags):
            raise ValueError("columns of different lengths")
        return cls(dict(zip(names, name_tags, strict=True)), dict(zip(chars, char_tags, strict=True)),
                   frozenset(grammar), frozenset(ordinary))

    def tag(self, word: str) -> str | None:
        return self.chars.get(word) if len(word) == 1 else self.names.get(word)


@cache
def jieba_tags() -> Tags:
    """Read from jieba's own dictionary file once per machine (about half a second), then from the table
    kept in CACHE_DIR beside the stored dictionary (kept_tables.py: JSON, read without running code). A
    kept table that cannot be read or written is rebuilt or skipped, never an error."""
    import jieba

    with jieba.get_dict_file() as f:
        raw = f.read()
    # Keyed by the gazetteer too (which two-character place names are ordinary words depends on it), and by
    # the tag sets that sort the words and the rules that shorten names (a code change must not read an old table).
    rules = repr((sorted(NAME_TAGS), sorted(GRAMMAR_TAGS), GRAMMAR_MAX_CHARS, _TOWN.pattern, _SHORTEN.pattern,
                  _DISTRICT.pattern)).encode()
    source = raw + DATA.read_bytes() + EXTRA.read_bytes() + rules

    def make() -> dict[str, list[str]]:
        forms = frozenset(f for p in load_places() for f in Gazetteer.forms_of(p) if len(f) == 2)
        return Tags.parse(raw.decode("utf-8"), forms).columns()

    return kept_tables.kept("jieba-tags", source, make, Tags.from_columns)


class Gazetteer:
    """Every surface form (full or short name) of China's divisions, looked up by substring."""

    def __init__(self, places: list[Place], home_province: str, near: frozenset[str], ordinary: frozenset[str],
                 home: frozenset[str] = frozenset()):
        """`home`: the knowledge base's names of its own place (通州区, 通州): that county's towns are home."""
        self.forms: dict[str, Place] = {}
        # The home county's own towns (西集, 宋庄): not other places as such, but another one than an entry's
        # own town is (scope.py `foreign`).
        self.home_towns: dict[str, Place] = {}
        # ...and those whose short name is an ordinary word (梨园): a town only before a kind word (梨园社区).
        self.home_towns_before_kind: dict[str, Place] = {}
        for p in places:
            if p.level == "town" and p.province == home_province and (
                    p.county in home or _DISTRICT.sub("", p.county) in home):
                for form in self.forms_of(p):
                    if len(form) >= 2 and (form == p.name or form not in ordinary):
                        self.home_towns.setdefault(form, p)
                    elif len(form) >= 2:
                        self.home_towns_before_kind.setdefault(form, p)
                continue
            if p.level == "town" and p.province not in near | {home_province}:
                continue
            for form in self._forms(p, near | {home_province}, home_province):
                if len(form) < 2:
                    continue
                if len(form) == 2 and p.level == "county" and form in ordinary and p.province != home_province:
                    continue
                if p.level == "town" and form != p.name and form in ordinary:
                    continue  # 梨园: an ordinary word first
                # A full name wins over another place's short name; otherwise the first (largest) keeps it.
                if form not in self.forms or form == p.name:
                    self.forms[form] = p
        self.longest = max((len(f) for f in self.forms), default=0)
        # Every form's beginnings: `find` reads on from a position only while the text can still be a name.
        self._prefixes = frozenset(f[:k] for f in self.forms for k in range(2, len(f) + 1))

    @staticmethod
    def forms_of(p: Place) -> list[str]:
        """Every form a place may be known by, wherever it is (the full name, the short one)."""
        if p.level == "town":
            return [p.name, _TOWN.sub("", p.name)]
        return [p.name, _SHORTEN.sub("", p.name), _DISTRICT.sub("", _SHORTEN.sub("", p.name))]

    @staticmethod
    def _forms(p: Place, near: frozenset[str], home_province: str = "") -> list[str]:
        forms = [p.name]
        if p.level == "town":
            if p.province == home_province:
                forms.append(_TOWN.sub("", p.name))
        elif p.level != "county":
            m = _PREFECTURE.match(p.name)
            forms.append(m.group(1) if m else _SHORTEN.sub("", p.name))
        elif p.province in near:
            forms.append(_DISTRICT.sub("", _SHORTEN.sub("", p.name)))
        return forms

    def find(self, text: str) -> list[tuple[int, int, Place]]:
        """(start, end, place) of every name in `text`, longest first at each position, not overlapping."""
        out = []
        forms, prefixes = self.forms, self._prefixes
        n = len(text)
        # A name (two characters or more) starts only where two characters begin a form: those positions are
        # found in C loops (every pair of neighbours looked up at once), the rest of the text is not walked.
        starts = compress(range(n - 1), map(prefixes.__contains__, map(add, text, text[1:])))
        free = 0  # the first position not inside a name found
        for i in starts:
            if i < free:
                continue
            # The longest form here: every shorter beginning of it is a beginning of some form. (Trying each
            # length from the longest form's down took most of a large knowledge base's start.)
            size, k = 0, 2
            while i + k <= n and text[i:i + k] in prefixes:
                if text[i:i + k] in forms:
                    size = k
                k += 1
            if size:
                out.append((i, i + size, forms[text[i:i + size]]))
                free = i + size
        return out


_lock = threading.Lock()
_gazetteers: dict[tuple[str, frozenset[str], frozenset[str]], Gazetteer] = {}


def load_places(*paths: Path) -> list[Place]:
    """The divisions of places.tsv, then the places of places-extra.tsv (the first of a name is kept)."""
    out = []
    for path in paths or (DATA, EXTRA):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                name, level, province, *county = line.split("\t")
                out.append(Place(name, level, province, county[0] if county else ""))
    return out


def gazetteer(home_province: str = "", near: frozenset[str] = frozenset(),
              home: frozenset[str] = frozenset()) -> Gazetteer:
    """The gazetteer for a knowledge base whose home is in `home_province` (北京市), is called `home` (通州区,
    通州) and speaks of the `near` provinces (天津市, 河北省); built once per process for each."""
    key = (home_province, near, home)
    with _lock:
        if key not in _gazetteers:
            _gazetteers[key] = Gazetteer(load_places(), home_province, near, jieba_tags().ordinary, home)
        return _gazetteers[key]
