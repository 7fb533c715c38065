"""Whether an entry speaks of the thing a yes/no or status question asks about.

A yes/no question (绿心公园可不可以带狗进去, 中仓家园中心有电梯吗) is answered "by kind" by every entry of
its topic: every answer says that something is, or has been done. What decides it is the thing asked about:
带狗, 电梯. When the question names a thing that the entry's own words (answer, title, questions, tags)
never mention, the entry does not say, and the honest reply is partial: what the entry knows, that "带狗"
is not stated, 12345. Whether the question asks for a kind of detail the entry does not state at all (a
fee, a size) is answered.py's business, before this.

What is asked of the subject comes after the first 能/可以/有 (language.yaml `fact_predicates`): the subject
before it (商务区饭馆能在外面摆桌吗: 饭馆) chose the entry, and the entry may call it otherwise (商户). What
counts as naming a thing there, by jieba's part of speech rather than word lists: a noun, a time word (周末),
a word jieba's dictionary lacks whose last part is a noun (过路费) or that has no known part (a name). What
does not: verbs and verb phrases (允许, 进去, 坐车去, 对外开放: how the resident puts it; the sentence model
read them as unrelated too often), function words, one character (a typo such as 路城 leaves 路), the
question's own cue words, the knowledge base's home (副中心, 通州), and the few words that residents add
without naming anything (现在, 真的: language.yaml `fact_light_words`).

A word counts as mentioned when the entry's text holds it, holds a two-character word inside it (医疗点 →
医疗), holds its sound (a pinyin typo: 厂同路 → 厂通路), or, by the sentence model, a word close enough to be
the same thing in other words (公司 ~ 企业, 步行 ~ 走路; rank.py `fact_word`). Without a sentence model whose
word similarities were measured the check is not made: words alone would turn too many paraphrases into
"not stated".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import numpy as np

from bot.knowledge.schema import Entry, KnowledgeBase
from bot.matching.asked import YESNO, pos_of
from bot.matching.dictionary import common_words
from bot.matching.normalise import Normaliser
from bot.matching.numbers import chinese_to_int
from bot.matching.tokens import is_cjk, longest_first, pinyin

STATUS = "status"
FACT_KINDS = frozenset({YESNO, STATUS})  # the kinds whose answer is decided by the thing named
PERSON = "person"
NAME = "name"
# The grammar of who/which questions (X是谁, 谁是X, X叫什么, X的名字, 哪家X V的): words, not phrases.
_IS, _CALLED, _NAME, _OF, _WHAT = "是", "叫", "名字", "的", "什么"
_ASKS_WHO = ("谁", "哪位")
_DIRECTIONS = ("来", "去", "出", "进", "回", "过", "起")  # 派来, 请去: part of the verb before
_NAME_WORDS = ("名字", "名称", "大名")  # 叫什么名字: what is asked, not a role
_WHICH = ("哪家", "哪个", "哪一家", "哪一个", "什么")
_TAIL_PARTICLES = ("呢", "啊", "呀", "吗", "哈", "呐")
_NEGATIONS = ("不是", "非", "没", "没有", "不")  # 不是回迁户, 非京籍, 没住民宿的人: those the entry is not about
_ORDINAL = re.compile(r"第(\d+|[一二两三四五六七八九十]+)([\u4e00-\u9fff])")  # 第三批, 第1次
_YEAR = re.compile(r"(?:19|20)\d\d年")  # 2020年: a year, which a figure is for
_REDUPLICATED = re.compile(r"([\u4e00-\u9fff]{1,2}?)[不没]\1")  # 可不可以, 带不带, 上不上班: the form, not a fact
_NOUNISH = ("n", "t", "b", "s", "vn", "nz", "ns", "nt", "nr", "j")  # j: abbreviations (社保, 家电)
_MIN_CHARS = 2
# A word made of the entry's word and one of these names who does it (设计 → 设计师, 校 → 校长, 管理 → 管理员):
# asked 设计师是谁, an entry about the design does not say. Grammar of word formation, not a list of phrases.
_AGENT_SUFFIXES = ("师", "长", "员", "者", "人", "方", "商")
_FUNCTION = ("r", "p", "c", "u", "d", "m", "q", "y", "e", "o")  # pronouns, prepositions, particles, numbers...


def _names_its_agent(word: str, part: str) -> bool:
    return word.startswith(part) and word[len(part):] in _AGENT_SUFFIXES


def _number(n: str) -> int | None:
    return int(n) if n.isdigit() else chinese_to_int(n)


def literally(_word: str, _words: tuple[str, ...]) -> float:
    """A `close` that finds no word the same as another: only the entry's own words count."""
    return 0.0


def similarity(vector: Callable[[str], np.ndarray], vectors: Callable[[list[str]], np.ndarray],
               floor: float, contrast: Contrast | None = None) -> Callable[[str, tuple[str, ...]], float]:
    """A `close` for `MentionCheck.unstated` from a sentence model: 1.0 when a word's best cosine to the
    entry's words reaches `floor` and (with a `contrast`) that entry word is among the word's nearest in a
    general vocabulary, else 0.0. The entry's words are cached with the knowledge base's texts."""
    def close(word: str, words: tuple[str, ...]) -> float:
        v = vector(word)
        cosines = vectors(list(words)) @ v
        i = int(np.argmax(cosines))
        if float(cosines[i]) < floor:
            return 0.0
        return 1.0 if contrast is None or contrast.among_nearest(word, v, words[i], float(cosines[i])) else 0.0
    return close


# The general vocabulary: jieba's 600 most frequent nouns, verbs, verbal nouns, proper nouns and abbreviations
# of two or three characters (what residents' words and entries' words are). 600, and fewer than 3 nearer:
# on the yes/no questions of the spent hold-outs and a few common synonyms, the entry's word had 0–2 rivals for
# paraphrases (公司 ~ 企业 0, 步行 ~ 走路 0, 价格 ~ 价钱 0, 孩子 ~ 小朋友 1, 网上 ~ 线上 1, 单位 ~ 组织 2) and things of
# the same field mostly 3 or more (电动车 ~ 出行 3, 考试 ~ 教育, 网上 ~ 需求); some stay too close (货车 ~ 通车 2,
# 抵押 ~ 贷款 1, 家具 ~ 住房 0); 1,658 words (frequency 2,000 or more)
# separated no better and cost three times the encoding at a first start (about 20 ms a word, e5-small).
CONTRAST_WORDS = 600
CONTRAST_TAGS = ("n", "v", "vn", "nz", "j")


def contrast_vocabulary() -> tuple[str, ...]:
    return common_words(CONTRAST_WORDS, CONTRAST_TAGS, range(2, 4))


class Contrast:
    """A small model's cosines between single words are all high (e5-small: 抵押 ~ 贷款 0.918, 家具 ~ 住房
    0.933, but 单位 ~ 组织 0.913), so no line on the cosine alone tells "the same thing in other words" from
    "a thing of the same field". Against a general vocabulary (jieba's most frequent words) it shows: no
    everyday word is nearer to 公司 than 企业 is, while 运动, 汽车 and 电子 are nearer to 电动车 than the entry's
    出行 is. The entry's word counts as the resident's in other words only when fewer than `rank`
    vocabulary words are nearer (words containing the resident's word, or inside it, are not rivals).

    Groups of people (`people`: language.yaml `eligible_groups`, 孩子, 居民) are weighed by the cosine alone:
    an entry often names its people only by its place (学校会教孩子…: a school's are its children), and every
    person word is nearer to another person word (人民, 家长) than to any place."""

    def __init__(self, words: tuple[str, ...], vectors: np.ndarray, rank: int, people: tuple[str, ...] = ()):
        self._words, self._vectors, self._rank, self._people = words, vectors, rank, people

    def among_nearest(self, word: str, vector: np.ndarray, entry_word: str, cosine: float) -> bool:
        """Whether `entry_word` (at `cosine` to `word`) is among `word`'s nearest in the vocabulary."""
        if word.endswith(self._people):
            return True
        nearer = np.flatnonzero(self._vectors @ vector > cosine)
        rivals = 0
        for i in nearer.tolist():
            other = self._words[i]
            if other != entry_word and other not in word and word not in other:
                rivals += 1
                if rivals >= self._rank:
                    return False
        return True


class MentionCheck:
    """Per knowledge base snapshot. Each entry's words are read on first need, not at start: only entries
    that a yes/no or status question reaches are ever read."""

    def __init__(self, kb: KnowledgeBase, normaliser: Normaliser, words: Callable[[str], tuple[str, ...]]):
        """`words`: the snapshot's jieba words."""
        self._normaliser = normaliser
        self._words = words
        self._light = frozenset(normaliser.basic(w) for w in kb.language.fact_light_words)
        self._predicates = tuple(sorted({normaliser.basic(w) for w in kb.language.fact_predicates if w},
                                        key=longest_first))
        self._light_chars = frozenset(kb.language.light_chars)
        self._person_roles = tuple(kb.language.person_roles)
        self._groups = tuple(kb.language.eligible_groups)
        self._home = tuple(normaliser.question(h) for h in kb.scope.home if h)
        self._by_id = kb.by_id
        self._said: dict[str, tuple[str, tuple[str, ...], str]] = {}
        self._texts: dict[str, str] = {}  # entries whose text alone was read (`_text`)
        self._lock = threading.Lock()

    def unstated(self, core: str, entry_id: str, close: Callable[[str, tuple[str, ...]], float]) -> str | None:
        """The first thing or event the question (without its cue words) names that the entry never mentions;
        None when it mentions them all. `close`: the sentence model's best similarity between a word and a
        list of words, 1.0 for "the same"."""
        words = self._entry(entry_id)[1]
        for w in self._words(self._predicate(core)):
            if not self._names_a_fact(w):
                continue
            if self._mentioned(w, entry_id):
                continue  # its words, a word inside (医疗点: the entry says 医疗), or a typo of one
            if words and close(w, words) >= 1.0:
                continue  # the same thing in other words
            return w
        return None

    def unstated_subject(self, core: str, entry_id: str, close: Callable[[str, tuple[str, ...]], float]) -> str | None:
        """Who a yes/no question asks about, when the entry does not say it covers them: 个体工商户能办吗 of an
        entry about 小微企业, 不是回迁户能买吗 of an entry about 回迁 families, 没住民宿的人能坐吗 of the guests'
        shuttle. Only a group of people or organisations (a subject word ending as language.yaml
        `eligible_groups` says) is checked: other subjects (饭馆, 公园) chose the entry, however named. A
        subject said with a negation (不是, 没, 非) asks about those the entry is not about."""
        subject = self._subject(core)
        if not subject:
            return None
        said = self._words(subject)
        groups = [w for w in said if w in self._groups or (self._is_word(w) and w.endswith(self._groups))]
        if not groups:
            return None
        if any(w in _NEGATIONS for w in said[:said.index(groups[0]) + 1]):
            return subject
        text, words, sound = self._entry(entry_id)
        for w in filter(self._is_word, groups):  # 人 alone (外地的人) names no group to look for
            if w in text or pinyin(w) in sound:
                continue
            if any(v in w for v in words if len(v) < len(w) and v.endswith(self._groups)):
                return w  # 外资企业 of an entry about 企业: a narrower group, which the entry does not single out
            if not self._mentioned(w, entry_id) and not (words and close(w, words) >= 1.0):
                return w
        return None

    def unstated_ordinal(self, text: str, entry_id: str, said: str = "") -> str | None:
        """第三批, 第二期, 第1次 asked of an entry that never names that one (it says 2次 in all, or 第一批): the
        entry's facts are of the others or of all of them together. Named as the resident wrote it (`said`:
        their message; 第一次, which the normalised text writes 第1次)."""
        asked = _ORDINAL.findall(text)
        if not asked:  # most questions name none: the entry's text is not read (at 100,000 entries, not yet read)
            return None
        own = {(_number(n), m) for n, m in _ORDINAL.findall(self._text(entry_id))}
        for n, m in asked:
            if (_number(n), m) not in own:
                written = next((f"第{k}{w}" for k, w in _ORDINAL.findall(said)
                                if w == m and _number(k) == _number(n)), None)
                return written or f"第{n}{m}"
        return None

    def unstated_period(self, text: str, entry_id: str) -> str | None:
        """A year or a period a count or an amount is asked for (2020年, 上半年, 周末, 国庆) that the entry never
        names: its figure is for another span (the year as a whole, 2021). Words of relative time (今年, 现在:
        `fact_light_words`) are the resident's now, which no entry dated as of its source can be held to."""
        for year in _YEAR.findall(text):
            if year not in self._text(entry_id):
                return year
        for w in self._words(text):
            if not self._is_word(w) or all(c in self._light_chars for c in w):
                continue
            tag = pos_of(w) or next((t for t in (pos_of(w[i:]) for i in range(1, len(w))) if t), "")
            if tag.startswith("t") and not self._mentioned(w, entry_id):
                return w
        return None

    def unspoken(self, text: str, counted: str, entry_id: str,
                 close: Callable[[str, tuple[str, ...]], float]) -> str | None:
        """The thing a count or a list asks for (几个出入口: 出入口; 哪些餐食: 餐食), when the entry never speaks of
        it, in its words or in other words by the model: then its numbers count, and its list lists, something
        else (the visitors, the homestays' names). None otherwise."""
        word = next((w for w in self._words(text) if len(w) >= _MIN_CHARS and (
            w.startswith(counted) or counted.startswith(w))), None)
        if word is None or not self._names_a_fact(word) or self._mentioned(word, entry_id):
            return None
        words = self._entry(entry_id)[1]
        return None if words and close(word, words) >= 1.0 else word

    def _subject(self, core: str) -> str:
        """The words before the first 能/可以/有: who or what the yes/no question asks about; empty without one."""
        words = self._words(core)
        for i, w in enumerate(words):
            if w in self._predicates or _REDUPLICATED.fullmatch(w) or any(w.startswith(p) for p in self._predicates):
                return "".join(words[:i])
        return ""

    def unstated_role(self, text: str, entry_id: str, declared: frozenset[str] = frozenset(),
                      close: Callable[[str, tuple[str, ...]], float] = literally) -> str | None:
        """What a "who" or "which organisation" question names that the entry does not say; None when it says
        it all. Read by grammar, not phrases: the role asked (校长 of 校长叫什么名字 / 主任是谁 / 谁是校长 /
        哪家施工单位在修) and the deed whose doer is asked (设计 of 是谁设计的, 生产 of 哪家公司生产的) must be in
        the entry's own words (or sound like them): to the sentence model a role is close to its field
        (设计 ~ 建筑), so `close` is a stricter one than the fact check's (推动 ~ 推进). A role that is a
        person (校长, 园长, 主持人: language.yaml `person_roles`) asks for a person's name, which only an entry
        declaring `aspects: [person]` gives: the knowledge base's answers name organisations, not people.
        `declared`: the entry's declared kinds."""
        said = self._words(text)
        roles, deed = self._roles(said), self._deed(said)
        words_of_entry = self._entry(entry_id)[1]
        for w in (*roles, deed):
            if w and self._is_word(w) and not self._mentioned(w, entry_id) \
                    and not (words_of_entry and close(w, words_of_entry) >= 1.0):
                return w
        person = next((r for r in roles if r.endswith(self._person_roles)), None)
        if person is not None and PERSON not in declared:
            return person
        return None

    def _roles(self, words: tuple[str, ...]) -> tuple[str, ...]:
        """The role words a who/which question names: 主任 of 主任是谁 / 谁是主任 / 医生叫什么 / 校长的名字,
        and the nouns after 哪家/哪个/什么 (哪个社工机构派来的 → 社工, 机构)."""
        out: list[str] = []
        for i, w in enumerate(words):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if w in _ASKS_WHO and nxt == _IS and i + 2 < len(words):
                out.append(words[i + 2])  # 谁是校长
            elif w in (_IS, _CALLED, _NAME) and (nxt in _ASKS_WHO or nxt.startswith(_WHAT) or w == _NAME) and i:
                before = words[i - 1] if words[i - 1] != _OF or i < 2 else words[i - 2]
                out.append(before)  # 校长是谁, 医生叫什么, 校长的名字
            elif w in _WHICH:
                for n in words[i + 1:]:  # 哪家施工单位, 哪个社工机构
                    if not self._names_a_fact(n):
                        break
                    out.append(n)
        return tuple(w for w in out if self._names_a_fact(w) and w not in _ASKS_WHO and w not in _NAME_WORDS)

    @staticmethod
    def _deed(words: tuple[str, ...]) -> str | None:
        """The deed a who question asks the doer of, after 谁 or 哪家…: 设计 of 是谁设计的, 负责 of 是谁负责,
        生产 of 哪家公司生产的, 派来 of 派来的. One character (谁在抓) says too little to check."""
        asks = [i for i, w in enumerate(words) if w in _ASKS_WHO or w in _WHICH]
        if not asks:
            return None
        after = [w for w in words[asks[-1] + 1:] if w not in _TAIL_PARTICLES]
        if after and after[-1] == _OF:
            after.pop()
        if not after or not (pos_of(after[-1]) or "").startswith("v"):
            return None
        if after[-1] in _DIRECTIONS and len(after) > 1 and (pos_of(after[-2]) or "").startswith("v"):
            return after[-2] + after[-1]  # 派来: a verb and its direction
        return after[-1] if len(after[-1]) > 1 else None

    def _mentioned(self, w: str, entry_id: str) -> bool:
        """In the entry's own words: its text, a two-character word inside it (医疗点 → 医疗), or its sound."""
        text, words, sound = self._entry(entry_id)
        return (w in text or any(w in h or h in w for h in self._home)
                or any(v in w and not _names_its_agent(w, v) for v in words) or pinyin(w) in sound)

    def _predicate(self, core: str) -> str:
        """What the question asks of its subject: after the first 能/可以/有 (商务区饭馆能在外面摆桌 → 在外面摆桌),
        the subject having chosen the entry; the whole question when it has none (周末开放吗, 对外开放了没有)."""
        words = self._words(core)
        for i, w in enumerate(words):
            if w in self._predicates or _REDUPLICATED.fullmatch(w) or any(w.startswith(p) for p in self._predicates):
                rest = "".join(words[i:])
                head = next((p for p in self._predicates if rest.startswith(p)), "")
                return _REDUPLICATED.sub("", rest[len(head):])
        return _REDUPLICATED.sub("", core)

    def _is_word(self, w: str) -> bool:
        """Two Chinese characters or more, and not a word that names nothing (现在, 真的)."""
        return len(w) >= _MIN_CHARS and all(is_cjk(c) for c in w) and w not in self._light

    def _names_a_fact(self, w: str) -> bool:
        if not self._is_word(w) or all(c in self._light_chars for c in w):
            return False
        tag = pos_of(w)
        if tag is None:
            # A word jieba's dictionary lacks is what its last part is (a Chinese compound's head is at its
            # end): 过路费 is a fee (费 n), 坐车去 a way of going (去 v); a name with no known part counts.
            tag = next((t for t in (pos_of(w[i:]) for i in range(1, len(w))) if t), "n")
            # ... unless it begins with a thing: 社保转移 is about 社保 (j), whatever is done with it.
            if not tag.startswith(_NOUNISH) and (pos_of(w[:_MIN_CHARS]) or "").startswith(_NOUNISH):
                return True
        # Verbs are mostly how the resident puts it (允许, 进去, 不会, 停车的事): the thing is the noun.
        return tag.startswith(_NOUNISH)

    def _content(self, w: str) -> bool:
        return self._is_word(w) and not (pos_of(w) or "x").startswith(_FUNCTION)

    def _text(self, entry_id: str) -> str:
        """The entry's own words as one normalised text (what `_entry` cuts): all that the ordinal and period
        checks read, so they do not cut it (a first question about an entry of a large knowledge base)."""
        said = self._said.get(entry_id)
        if said is not None:
            return said[0]
        text = self._texts.get(entry_id)
        if text is None:
            e: Entry = self._by_id[entry_id]
            parts = [e.answer, e.title, e.topic, *e.questions, *e.tags]
            text = " ".join(self._normaliser.question(p) for p in parts)
            self._texts[entry_id] = text  # one reference assignment: threads may race harmlessly
        return text

    def _entry(self, entry_id: str) -> tuple[str, tuple[str, ...], str]:
        said = self._said.get(entry_id)
        if said is None:
            text = self._text(entry_id)
            # Content words (not 什么, 哪些, 已经): what the resident's words are compared with.
            words = tuple(sorted({w for w in self._words(text) if self._content(w)}))
            said = (text, words, " ".join(pinyin(w) for w in words))
            with self._lock:
                self._said[entry_id] = said
        return said
