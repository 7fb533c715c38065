"""Scope agreement: does a question ask about the place or thing its entry covers?

Every fact in the knowledge base holds for one place (scope.yaml: the city sub-center) and for the
schools, parks, villages and offices its entries name. A question that names somewhere else (上海的延时托管,
朝阳区公租房, 宋庄镇的民宿, 其他学校) must not get this place's figure as if it were that place's: the matcher
turns such an answer into a `partial` that labels the fact with where it holds.

A name counts as the entry's when it is one of the home names or appears anywhere in the entry's topic
(its titles, questions, answers and tags): the knowledge base's own places (天津, 廊坊, 大厂) are in scope
for the topics that speak of them, and only there (廊坊的公租房 is not answered with the sub-center's).
Names are found in the normalised message by:

- the gazetteer of China's divisions (places.py), on jieba's word boundaries (上海市民 holds 上海);
- jieba's place, organisation and other proper-name tags for names it lacks (颐和园, 协和医院, 人大附中);
- a name before a kind word (张家湾 + 镇, 北京四中, 永顺 + 社区卫生服务中心): a proper name or a run of
  characters jieba does not know as words, never an ordinary word (森林公园, 我们小区);
- scope words (scope.yaml): 其他/别的/第二个 before a kind word, and words such as 本部, 外地 alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.knowledge.schema import Entry, KnowledgeBase
from bot.matching.places import GRAMMAR_TAGS, NAME_TAGS, Gazetteer, Tags, gazetteer, jieba_tags
from bot.matching.sounds import Sounds
from bot.matching.tokens import longest_first, plain_tokenizer

OTHER_GAP = 3  # characters allowed between 其他/别的 and its kind word (其他的学校, 别的几个区)
# jieba tags many ordinary two-character words as places (东西, 城市, 上门, 延时): a name found by its tag
# alone must be longer. Two-character places come from the gazetteer (上海, 朝阳) or before a kind word.
TAGGED_NAME_MIN = 3
# ...except at the head of the question before 的, where a place-tagged word is a place (see `_possessor`).
POSSESSOR_TAGS = frozenset({"ns", "j"})
POSSESSIVE = "的"  # grammar, not an administrator's phrase
# Tags that name a place or thing on their own: places, organisations, other proper names. Person names
# (nr) are not: jieba tags odd words so (多少钱 nr); before a kind word they count (马驹桥 + 镇).
STANDALONE_TAGS = frozenset({"ns", "nt", "nz"})
_INSTITUTION = "\x01institution"  # in a found name's key: an institution's name part (see `foreign`)
_INSTITUTION_GAP = 4  # 潞城社区卫生服务中心: characters between the name and its kind word
_UNKNOWN = "\0"  # marks a name found as a run of characters (see `_unknown_names`)
# One-character words that jieba tags as parts of names (宋 nr, 庄 nr): a run of them is a name it lacks.
SINGLE_NAME_TAGS = frozenset({"nr", "nrt", "nz", "ns", "ng"})
# A school known by its number (二中, 101中学, 十一学校): the number, then a kind word of up to four characters.
_NUMBER = re.compile(r"第?(?:[一二三四五六七八九十]+|\d+)")
_KIND_MAX = 4
_SCHOOL_ABBREVIATIONS = frozenset({"中", "小"})  # 二中 for 第二中学, 一小 for 第一小学: grammar, not a list of names


class ScopeChecker:
    """Built once per knowledge base snapshot, from its scope.yaml and entries; immutable afterwards."""

    def __init__(self, kb: KnowledgeBase, normalise: Callable[[str], str], lexicon: frozenset[str] = frozenset(),
                 words: Callable[[str], tuple[str, ...]] | None = None, texts: TopicTexts | None = None):
        """`lexicon`: the knowledge base's names taught to the tokenizer (天时名苑, 中仓): parts of names.
        `words`: the snapshot's jieba words (its names are words); jieba's main dictionary by default.
        `texts`: the topics' texts built beforehand (`topic_texts` of this knowledge base); built if None."""
        self.words = words or plain_tokenizer().words
        s = kb.scope
        self.enabled = bool(s.home)
        self.label = s.label
        norm = lambda w: normalise(w) or w  # noqa: E731
        self.home = tuple(sorted({norm(h) for h in s.home} | set(s.home), key=longest_first))
        self.kinds = tuple(sorted({norm(k) for k in s.kinds}, key=longest_first))
        self.institutions = frozenset(norm(k) for k in s.institutions)
        self._school_kinds = self.institutions | _SCHOOL_ABBREVIATIONS  # what may follow a school's number
        self.others = tuple(sorted({norm(w) for w in s.others}, key=longest_first))
        self.elsewhere = tuple(sorted({norm(w) for w in s.elsewhere}, key=longest_first))
        self._province = s.province
        self._lexicon = lexicon
        self._norm = norm
        self._towns_of_entry: dict[str, frozenset[str]] = {}
        # Every topic's texts, and the same in pinyin (路城, a typo, is 潞城): built with the index and
        # stored with it (facts.py) for a large knowledge base, else here.
        texts = texts or topic_texts(kb, normalise)
        self.topic_text = texts.text
        self.topic_sound = texts.sound
        self._sounds = texts.sounds
        self._near = texts.near
        self._gazetteer: Gazetteer | None = None
        self._tags: Tags | None = None

    def _tables(self) -> tuple[Gazetteer, Tags]:
        # Loaded on the first question that needs them (0.2–0.4 s once per process), not at start-up.
        if self._gazetteer is None or self._tags is None:
            tags = jieba_tags()
            # The provinces the knowledge base speaks of (天津, 河北 for the sub-center): their counties are
            # named without suffix too (香河, 武清).
            near = self._near
            if near is None:
                base = gazetteer(self._province)
                near = provinces_named(self.topic_text.values(), base)
            self._tags, self._gazetteer = tags, gazetteer(self._province, near, frozenset(self.home))
        return self._gazetteer, self._tags

    def without_home(self, text: str) -> str:
        """`text` without its home names (whole words: 北京 stays in 北京四中)."""
        spans = _spans(text, self.words(text))
        home = _masked(text, self.home, {a for a, _b, _t in spans}, {b for _a, b, _t in spans})
        return "".join(c for i, c in enumerate(text) if i not in home)

    def is_division(self, word: str) -> bool:
        """Whether `word` is the name of a province, city or county (天津, 宝坻区)."""
        return word in self._tables()[0].forms

    def foreign(self, text: str, entry: Entry) -> str | None:
        """The first name in `text` (a normalised message) that is not the entry's, or None."""
        if not self.enabled or not text:
            return None
        known = self.topic_text.get(entry.topic, "")
        sound = self.topic_sound.get(entry.topic, "")
        for name, key in self.found(text):
            if key.endswith(_INSTITUTION):
                # 运河中学: the entry's only when its texts name an institution so (潞河中学, and then 潞河附小 too),
                # not when they name 运河 as something else (运河商务区); 绿新公园 is a typo of 绿心's.
                prefix = key.removesuffix(_INSTITUTION)
                if prefix in known and not self._institution_in(prefix, known):
                    return name
                if prefix not in known and not self._sounded(prefix, sound):
                    return name
                continue
            # A name jieba lacks (宋庄, 杨庄换 for 杨庄 + 换) is the entry's when any two of its characters are.
            keys = [key[i:i + 2] for i in range(len(key) - 1)] if name.startswith(_UNKNOWN) else [key]
            if not any(k in known or self._sounded(k, sound) or k in self.home for k in keys):
                return name.removeprefix(_UNKNOWN)
        return self._other_home_town(text, entry, known)

    def _institution_in(self, name: str, known: str) -> bool:
        """Whether `known` names `name` as a school, hospital... (潞河中学附属学校 for 潞河): the name and, within a
        few characters, an institution's kind word."""
        at = known.find(name)
        while at >= 0:
            tail = known[at + len(name):at + len(name) + _INSTITUTION_GAP + 3]
            if any(kind in tail for kind in self.institutions):
                return True
            at = known.find(name, at + 1)
        return False

    def _other_home_town(self, text: str, entry: Entry, known: str) -> str | None:
        """A town of the home county (张家湾) asked of an entry about a place in another one (西集's homestays):
        another place. Asked of an entry about the whole county (一键呼), it is the resident's own: home."""
        asked = self._towns_in(text)
        if not asked:  # most messages name no town: the entry's towns are not read (a cut of all its text)
            return None
        own = self._entry_towns(entry)
        if not own:
            return None
        if own.intersection(asked):
            return None  # 梨园社区的居民能去潞城社区卫生服务中心…: the entry's own place is asked about, from another
        return next((t for t in asked if t not in known and t not in own), None)

    def own_town(self, place: str, entry: Entry) -> str | None:
        """The entry's own town (西集镇) when `place` is another town of the home county: what a reply says the
        facts are for, rather than the whole knowledge base's place. None otherwise."""
        gaz = self._tables()[0]
        home_towns = gaz.home_towns | gaz.home_towns_before_kind
        if place not in home_towns:
            return None
        own = sorted(self._entry_towns(entry), key=longest_first)
        return home_towns[own[0]].name if own else None

    def _entry_towns(self, entry: Entry) -> frozenset[str]:
        towns = self._towns_of_entry.get(entry.id)
        if towns is None:
            text = " ".join(self._norm(x) for x in (entry.title, *entry.questions, entry.answer, *entry.tags))
            towns = frozenset(self._towns_in(text))
            self._towns_of_entry[entry.id] = towns  # one reference assignment: threads may race harmlessly
        return towns

    def _towns_in(self, text: str) -> list[str]:
        """The home county's towns named in `text`, on jieba's word boundaries (通运 is no town in 交通运输) or
        before a kind word; a town whose short name is an ordinary word only before a kind word (梨园社区, not
        梨园 alone)."""
        gaz = self._tables()[0]
        candidates = [form for form in gaz.home_towns if form in text]
        before_kind = [form for form in gaz.home_towns_before_kind if form in text]
        if not candidates and not before_kind:
            return []
        spans = _spans(text, self.words(text))
        starts, ends = {a for a, _b, _t in spans}, {b for _a, b, _t in spans}
        # A town opening a longer name before its kind word is named too (潞城社区卫生服务中心, one word to jieba).
        return [form for form in candidates
                if any(i in starts and (i + len(form) in ends or text.startswith(self.kinds, i + len(form)))
                       for i in _occurrences(text, form))] + \
               [form for form in before_kind
                if any(i in starts and text.startswith(self.kinds, i + len(form)) for i in _occurrences(text, form))]

    def _sounded(self, name: str, sound: str) -> bool:
        """Whether a text of the topic (`sound`) holds `name`'s syllables in a row."""
        syllables = self._sounds.of(name)
        return syllables is not None and syllables in sound

    def _town_before_kind(self, gaz: Gazetteer, text: str, i: int, size: int) -> bool:
        place = gaz.forms[text[i:i + size]]
        return place.level == "town" and place.name != text[i:i + size] and text.startswith(self.kinds, i + size)

    def names(self, text: str) -> list[str]:
        """Names of places, organisations and elsewhere-words in a normalised message, in order."""
        return [name.removeprefix(_UNKNOWN) for name, _key in self.found(text)]

    def found(self, text: str) -> list[tuple[str, str]]:
        """(name, what must be the entry's for the name to be): a name before a kind word is the entry's
        when its name part is (杨庄小区: 杨庄); others as they are."""
        gaz, tags = self._tables()
        spans = _spans(text, self.words(text))
        starts = {a for a, _b, _t in spans}
        ends = {b for _a, b, _t in spans}
        found: list[tuple[int, str, str]] = []
        taken = _masked(text, self.home, starts, ends)
        # Administrative divisions, on word boundaries, longest first.
        i = 0
        while i < len(text):
            if i in starts and i not in taken:
                hit = next((size for size in range(min(gaz.longest, len(text) - i), 1, -1)
                            if i + size in ends and text[i:i + size] in gaz.forms
                            and not taken.intersection(range(i, i + size))), None)
                if hit and self._town_before_kind(gaz, text, i, hit):
                    hit = None  # 龙潭公园: the park named after the town (龙潭街道), found by its kind word below
                if hit:
                    found.append((i, text[i:i + hit], text[i:i + hit]))
                    taken.update(range(i, i + hit))
                    i += hit
                    continue
            i += 1
        for index, (a, b, token) in enumerate(spans):
            if taken.intersection(range(a, b)):
                continue
            compound = self._compound(spans, index, tags, taken)
            if compound is not None:
                found.append(compound)
                taken.update(range(compound[0], compound[0] + len(compound[1])))
            elif len(token) >= TAGGED_NAME_MIN and tags.tag(token) in STANDALONE_TAGS:
                found.append((a, token, token))
                taken.update(range(a, b))
        found.extend(self._numbered_schools(text, starts, ends, taken))
        found.extend(self._unknown_names(spans, tags, taken))
        found.extend(self._possessor(spans, tags, taken))
        found.extend(self._scope_words(text))
        return [(name, key) for _pos, name, key in sorted(found)]

    def _compound(self, spans: list[tuple[int, int, str]], index: int, tags: Tags,
                  taken: set[int]) -> tuple[int, str, str] | None:
        """A name before a kind word (宋庄 + 镇), or a proper name ending in one (人大附中, 协和医院)."""
        a, _b, token = spans[index]
        kind = next((k for k in self.kinds if token.endswith(k)), None)
        if kind is None:
            return None
        start = a
        k = index - 1
        while (k >= 0 and not taken.intersection(range(spans[k][0], spans[k][1]))
               and _name_like(spans[k][2], tags, self._lexicon,
                              before_char_kind=(token == kind and len(kind) == 1)
                              or (kind in self.institutions and k == index - 1 and token == kind))):
            start = spans[k][0]
            k -= 1
        if a - start >= 2:  # one character (新公园, 老小区) is no name
            prefix = "".join(t for _a, _b, t in spans[k + 1:index])
            # 杨庄小区 is the entry's when 杨庄 is; 运河中学 only when that school is.
            return (start, prefix + token, prefix + _INSTITUTION if kind in self.institutions else prefix)
        if token != kind and tags.tag(token) in NAME_TAGS:
            return (a, token, token)
        return None

    def _numbered_schools(self, text: str, starts: set[int], ends: set[int],
                          taken: set[int]) -> list[tuple[int, str, str]]:
        """Schools known by a number (二中, 北京八中 after its city, 十一学校: 11学校 once normalised), which jieba
        knows as no name: a number opening a word, then an institution's kind word (`institutions`) or the
        abbreviations 中/小 (第二中学, 第一小学) ending one. 3小时 is not one: 小时 is one word."""
        out = []
        for m in _NUMBER.finditer(text):
            a = m.start()
            if a not in starts:
                continue
            b = next((m.end() + size for size in range(1, _KIND_MAX + 1) if m.end() + size in ends
                      and text[m.end():m.end() + size] in self._school_kinds), None)
            if b is not None and not taken.intersection(range(a, b)):
                out.append((a, text[a:b], text[a:b]))
                taken.update(range(a, b))
        return out

    @staticmethod
    def _unknown_names(spans: list[tuple[int, int, str]], tags: Tags, taken: set[int]) -> list[tuple[int, str, str]]:
        """A word jieba does not know, cut into characters that it knows as parts of names (宋 庄): a place or
        person it has never seen. Typos of the knowledge base's own names sound like them (see `foreign`)."""
        out = []
        run: list[tuple[int, int, str]] = []
        for span in [*spans, (-1, -1, "")]:
            a, b, token = span
            if len(token) == 1 and tags.tag(token) in SINGLE_NAME_TAGS and not taken.intersection(range(a, b)):
                run.append(span)
                continue
            if len(run) >= 2:
                name = "".join(t for _a, _b, t in run)
                out.append((run[0][0], _UNKNOWN + name, name))
            run = []
        return out

    @staticmethod
    def _possessor(spans: list[tuple[int, int, str]], tags: Tags, taken: set[int]) -> list[tuple[int, str, str]]:
        """A short place or abbreviation that opens the question before 的 (望京的注册企业, 国贸的企业): there a
        word jieba tags as a place is one. Elsewhere a two-character place tag is too often wrong (东西)."""
        if len(spans) < 2 or spans[1][2] != POSSESSIVE:
            return []
        a, b, token = spans[0]
        if len(token) == 2 and tags.tag(token) in POSSESSOR_TAGS and not taken.intersection(range(a, b)):
            return [(a, token, token)]
        return []

    def _scope_words(self, text: str) -> list[tuple[int, str, str]]:
        out = []
        for word in self.elsewhere:
            at = text.find(word)
            if at >= 0:
                out.append((at, word, word))
        for word in self.others:
            at = text.find(word)
            while at >= 0:
                after = at + len(word)
                for gap in range(OTHER_GAP + 1):
                    kind = next((k for k in self.kinds if text.startswith(k, after + gap)), None)
                    if kind:
                        out.append((at, text[at:after + gap + len(kind)], text[at:after + gap + len(kind)]))
                        break
                at = text.find(word, after)
        return out


def _name_like(token: str, tags: Tags, lexicon: frozenset[str], before_char_kind: bool = False) -> bool:
    """Part of a proper name: a name jieba knows, a word it does not know (the knowledge base's own names,
    taught to the tokenizer), or one character that is not grammar (宋 庄: a name jieba cut into characters).
    Before a one-character kind (镇 村 乡) any word but grammar is a name (梨园镇, 小堡村; 我们村 is not):
    ordinary words there are one word with the kind (城镇, 农村)."""
    if not _is_cjk(token):
        return False  # numbers (1个地方) and Latin letters
    tag = tags.tag(token)
    if len(token) == 1:
        return tag is None or tag not in GRAMMAR_TAGS
    if before_char_kind:
        return token not in tags.grammar
    # With HMM off, jieba's words are its dictionary's or the knowledge base's: a word without a name tag
    # is an ordinary one (森林, 老旧) unless it is one of the knowledge base's names.
    return tag in NAME_TAGS or token in lexicon


def _is_cjk(token: str) -> bool:
    return all("\u3400" <= c <= "\u9fff" for c in token)


@dataclass(frozen=True)
class TopicTexts:
    """What `foreign` reads of each topic: every normalised text of its entries (titles, questions,
    answers, tags), one string per topic, and their syllables (sounds.py); and the provinces they name."""

    text: dict[str, str]  # topic → its texts, joined by newlines
    sound: dict[str, str]  # topic → their syllables (`sounds.join`)
    sounds: Sounds
    near: frozenset[str] | None = None  # the provinces named (see `_tables`); None: found when first needed


def entry_texts(e: Entry, normalise: Callable[[str], str]) -> list[str]:
    """An entry's part of its topic's texts."""
    return [normalise(x) or x for x in (e.title, *e.questions, e.answer, *e.tags)]


def topic_texts(kb: KnowledgeBase, normalise: Callable[[str], str]) -> TopicTexts:
    sounds = Sounds()
    text: dict[str, str] = {}
    sound: dict[str, str] = {}
    for topic in kb.topics:
        texts = [t for e in kb.entries_in(topic) for t in entry_texts(e, normalise)]
        text[topic] = "\n".join(texts)
        sound[topic] = sounds.join(texts)
    return TopicTexts(text, sound, sounds)


def _occurrences(text: str, part: str) -> list[int]:
    out, i = [], text.find(part)
    while i >= 0:
        out.append(i)
        i = text.find(part, i + 1)
    return out


def provinces_named(texts: Iterable[str], base: Gazetteer) -> frozenset[str]:
    """The provinces of the divisions named in `texts` (by the gazetteer without nearby provinces)."""
    return frozenset(base.forms[text[a:b]].province for text in texts for a, b in _gazetteer_spans(base, text))


def _gazetteer_spans(gaz: Gazetteer, text: str) -> list[tuple[int, int]]:
    return [(a, b) for a, b, _place in gaz.find(text)]


def _spans(text: str, tokens: tuple[str, ...]) -> list[tuple[int, int, str]]:
    out = []
    pos = 0
    for t in tokens:
        at = text.find(t, pos)
        if at < 0:
            continue
        out.append((at, at + len(t), t))
        pos = at + len(t)
    return out


def _masked(text: str, names: tuple[str, ...], starts: set[int], ends: set[int]) -> set[int]:
    """Positions covered by the home names (longest first), which are never another place: whole words
    only (北京 in 北京四中 is part of another name)."""
    out: set[int] = set()
    for name in names:
        at = text.find(name)
        while at >= 0:
            if at in starts and at + len(name) in ends:
                out.update(range(at, at + len(name)))
            at = text.find(name, at + 1)
    return out
