"""Which kinds of detail each entry's answer states (a time, an amount, a size, a place, a list...).

Derived from the answer text with the same taxonomy as the asked types (knowledge/aspects.yaml): a number
followed by one of a kind's `units` (19点20 → hours, 4.08亿元 → money, 1600户 → count; a four-digit year
→ date), a kind's `states` words (位于 → place, 热线 → contact), a place name ending as a kind's `*县`-style
states entry says (北运河, 大厂县) unless the knowledge base names it in many entries (通州区: its own
scope, no address), a list (three or more items between 、), a percentage; plus what the entry declares in
`aspects:`. A clause that says the source does not give a detail (language.yaml `not_stated`:
“预订方式和价格文中没有说明”) states nothing, and the kinds it names (read as a question would be) are
not derived from the rest either. Computed once per knowledge base snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.knowledge.problems import Problem
from bot.knowledge.schema import Entry, KnowledgeBase
from bot.matching.asked import Asked, AskedClassifier, pos_of, unit_groups
from bot.matching.normalise import Normaliser, to_simplified
from bot.matching.numbers import normalise_numbers
from bot.matching.tokens import plain_tokenizer

YESNO = "yesno"
NAME = "name"
# 几个 asks for a count in any measure word; 份 too (一户一档建了多少份 is answered by 累计建档1086人).
GENERIC_UNITS = frozenset("个份")
BARE = ""  # in `units`: a number counts a thing without a measure word (1.2万回迁百姓)
# A number as answers write it (4.08, 1.2万, 160余, 三, 两), before its unit.
_NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二三四五六七八九十百千两]+)(?:[万亿千百])?(?:多|余)?大?"  # 六大银行
_N_BIG = re.compile(r"(?:\d+|[一二三四五六七八九十两]+)大([\u4e00-\u9fff]{1,2})")  # 六大银行, 三大类: a count
_YEAR = re.compile(r"(?:19|20)\d\d年")
# 截至2021年12月28日: when the facts were gathered, not when something happened (中仓社区家园中心什么时候建的)
_AS_OF = re.compile(r"(?:截至|截止)(?:\d{4}年)?(?:\d{1,2}月)?(?:\d{1,2}日)?")
_CLAUSE = re.compile(r"[^。；;！!？?]+[。；;！!？?]?")
START, END = "start", "end"  # a time's phase
_PHASE_SPAN = 3  # characters around a time that say whether it starts or ends something
_COUNTED_MIN = 2  # 几个人: one character (人) says too little of what is counted
_LIST_ITEMS = 2  # 体育、艺术: two items make a list
_COMMON_PLACE_SHARE = 5  # a place named in more than one entry in this many is the knowledge base's scope


@dataclass(frozen=True, slots=True)
class Answered:
    """The kinds an entry's answer states: `derived` from its text, `declared` in `aspects:`."""

    entry_id: str
    derived: frozenset[str]
    declared: frozenset[str]
    evidence: dict[str, str] = field(default_factory=dict)  # kind → the words that state it
    mentioned: frozenset[str] = frozenset()  # derived, and names of the entry's own subject (厂通路 in its entries)

    units: frozenset[str] = frozenset()  # measure words its numbers are stated in (户, 次, 元)
    counted: frozenset[str] = frozenset()  # what a 六大银行-style count counts (银行)
    list_items: int = 0  # the most items any one list of its answer names (体育、艺术和科技: 3)
    stated: str = ""  # the answer as read: simplified, numbers comparable, without its "not stated" clauses
    time_phases: frozenset[str] = frozenset()  # of its times: START, END, or "" (cannot tell)

    @property
    def kinds(self) -> frozenset[str]:
        return self.derived | self.declared

    def has_unit(self, asked: Asked) -> bool:
        """A count asked in a measure word no list holds (多少棵树) is answered by a number in that word or
        one that counts the same (aspects.yaml `次=回`), not by any count (380万人次); 个 goes with every
        measure word, and a declared kind is taken at its word. (Listed measure words are not held to it:
        residents count 份 of what the answer counts in 人.)"""
        if asked.kind not in self.derived or asked.kind in self.declared:
            return True
        if asked.unit is None:  # 多少企业: a number of 企业, if the question names what it counts
            return asked.kind != "count" or not self._counts_other(asked.counted)
        if asked.counted and any(asked.counted.startswith(c) or c.startswith(asked.counted) for c in self.counted):
            return True  # 几家银行: 六大银行
        if asked.unit in GENERIC_UNITS and self._counts_other(asked.counted):
            return False
        return asked.unit in self.units or asked.unit in GENERIC_UNITS or BARE in self.units or not self.units

    def _counts_other(self, noun: str) -> bool:
        """多少个社工 of an answer that speaks of 社工 but counts something else (社工入户2812次), or 几个社团 of
        one that counts kinds of club (三大类) and names 社团 without a number: the noun (two characters or
        more) is in the answer, and no number of it is, before it (56项政务服务事项, 一名医生) or a few
        characters after it (民宿有16家). A noun the answer does not use (医护 for 医生和护士) is not judged."""
        if len(noun) < _COUNTED_MIN or not (pos_of(noun) or "").startswith("n") or noun not in self.stated:
            return False
        n = re.escape(noun)
        return not re.search(rf"{_NUMBER}[^。；，,\d]{{0,6}}?{n}|{n}[^。；，,]{{0,3}}?{_NUMBER}", self.stated)

    def times(self, phase: str) -> bool:
        """几点开始 is not answered by an answer whose every time is an end (最晚到19:20), nor 几点结束 by starts."""
        return not phase or not self.time_phases or phase in self.time_phases or "" in self.time_phases

    def lists(self, asked: Asked) -> bool:
        """哪六家 is answered by a list of six or more, not by 敢贷、愿贷; a declared list is taken at its word."""
        return asked.listed <= self.list_items or asked.kind in self.declared


def _list_items(clause: str) -> int:
    """How many items the longest 、-list of a clause names: 体育、艺术、科技 is 3, and a last item joined by
    和/及/与 counts too (体育、艺术和科技). No 、, no list (两年和三年 is no enumeration to count on)."""
    best = 0
    for part in re.split(r"[，,：:]", clause):
        if "、" not in part:
            continue
        last = part.rsplit("、", 1)[1]
        best = max(best, part.count("、") + 1 + (1 if re.search(r"[和及与]", last) else 0))
    return best


class AnsweredTypes:
    """Every entry's answered kinds for one knowledge base snapshot, each derived when first asked for
    (an entry that is the best match) and kept: a start derives none of a large knowledge base's."""

    def __init__(self, kb: KnowledgeBase, classifier: AskedClassifier | None = None,
                 normaliser: Normaliser | None = None, words: Callable[[str], tuple[str, ...]] | None = None,
                 place_counts: Mapping[str, int] | None = None):
        """`words`: the snapshot's jieba words (its names are words); jieba's main dictionary by default.
        `place_counts`: in how many entries' answers each place name is (`place_names`), counted
        beforehand for a large knowledge base (facts.py); counted here if None."""
        self.kb = kb
        self.words = words or plain_tokenizer().words
        self._normaliser = normaliser or Normaliser(kb)
        self._asked = classifier or AskedClassifier(kb.aspects, kb.interrogatives, self._normaliser)
        aspects = kb.aspects
        units = sorted(((u, a.id) for a in aspects for u in a.unit_words), key=lambda p: len(p[0]), reverse=True)
        self._unit_groups = unit_groups(aspects)
        self._unit_kinds: dict[str, set[str]] = {}
        for u, kind in units:
            self._unit_kinds.setdefault(u, set()).add(kind)
        alternation = "|".join(re.escape(u) for u in dict.fromkeys(u for u, _k in units))
        self._number_unit = re.compile(rf"({_NUMBER})({alternation})") if alternation else None
        self._states = [(a.id, tuple(w for w in a.states if not w.startswith("*"))) for a in aspects]
        suffixes = [(w[1:], a.id) for a in aspects for w in a.states if w.startswith("*") and len(w) > 1]
        self._not_states = {a.id: a.not_states for a in aspects}
        self._suffixes = suffixes
        # Every suffix at once, for one C-speed `endswith` per word: most words end in none of them, and
        # testing each suffix in Python was most of `place_names` over a large knowledge base's answers.
        self._suffix_ends = tuple(dict.fromkeys(s for s, _k in suffixes))
        self._kinds = {a.id for a in aspects}
        self._not_stated = tuple(kb.language.not_stated)
        self._time_starts = tuple(kb.language.time_starts)
        self._time_ends = tuple(kb.language.time_ends)
        self._common_places = self._places_in_many(kb, place_counts)
        self._derived: dict[str, Answered] = {}

    def __getitem__(self, entry_id: str) -> Answered:
        found = self._derived.get(entry_id)
        if found is None:
            # Two threads may both derive it: the same result, and the first one kept.
            found = self._derived.setdefault(entry_id, self.derive(self.kb.by_id[entry_id]))
        return found

    @property
    def by_entry(self) -> dict[str, Answered]:
        """Every entry's (all derived now)."""
        return {e.id: self[e.id] for e in self.kb.entries}

    def derive(self, e: Entry) -> Answered:
        text = _AS_OF.sub("", self._stated_text(e.answer))
        found: dict[str, str] = {}
        units: set[str] = set()
        phases: set[str] = set()
        if self._number_unit is not None:
            for m in self._number_unit.finditer(text):
                number, unit = m.group(1), m.group(2)
                if self._inside_word(text, m.start(2), unit):
                    units.add(BARE)  # 1.2万回迁百姓: 回 begins 回迁, no measure word; a count of people
                    found.setdefault("count", m.group(1))
                    continue
                units.add(unit)
                for kind in self._unit_kinds[unit]:
                    if unit == "年" and _YEAR.fullmatch(m.group(0)):
                        continue  # 2021年 is a date (below), 两年 a duration
                    if kind == "hours" and number.isdigit() and int(number) > 24:
                        continue
                    if kind == "hours":
                        phases.add(self.phase(text[max(0, m.start() - _PHASE_SPAN):m.start()],
                                              text[m.end():m.end() + _PHASE_SPAN]))
                    found.setdefault(kind, m.group(0))
        for m in _YEAR.finditer(text):
            found.setdefault("date", m.group(0))
        counted: set[str] = set()
        for m in _N_BIG.finditer(text):
            found.setdefault("count", m.group(0))
            counted.add(m.group(1))
        for kind, cues in self._states:
            hit = next((w for w in cues if w in text and not any(w in n and n in text for n in self._not_states[kind])),
                       None)
            if hit:
                found.setdefault(kind, hit)
        subject = to_simplified(e.title)  # what the entry is about; its tags also name places it mentions
        mentioned: dict[str, str] = {}
        for name, kind, stem in self._names(text):
            if name in self._common_places:
                continue
            mentioned.setdefault(kind, name)
            if stem not in subject:  # 厂通路 in 厂通路's own entries is the subject, not where it is
                found.setdefault(kind, name)
        list_items = max((_list_items(c) for c in _CLAUSE.findall(text)), default=0)
        if "contents" in self._kinds and list_items >= _LIST_ITEMS:
            found.setdefault("contents", "、")
        named = found.get("person") or found.get("place") or mentioned.get("place") or "person" in e.aspects
        if NAME in self._kinds and named:
            found.setdefault(NAME, named)  # 北投集团, 沙古堆村: a name is stated; a quoted one is in `states`
        found.pop(YESNO, None)
        if YESNO in self._kinds:
            # A yes/no question is answered by the entry that states the fact asked about, and whether it
            # does is the match's business: every entry answers one. A verdict at the start (“能，…”
            # “已建成。”) also answers whether something has happened.
            found[YESNO] = ""
            if "status" in self._kinds and self._starts_with_verdict(e.answer):
                found.setdefault("status", "")
        for kind in self._unstated(e.answer) - {YESNO, "status"}:  # said not to be given: not derived
            found.pop(kind, None)
        declared = frozenset(e.aspects)
        same = {w for u in units for w in self._unit_groups.get(u, {u})}  # 2346次 also answers 几回
        return Answered(e.id, frozenset(found), declared, found, frozenset(found) | frozenset(mentioned),
                        frozenset(same), frozenset(counted), list_items, text, frozenset(phases))

    def phase(self, before: str, after: str) -> str:
        """Whether a time is when something starts (从8点开始, 8点起) or ends (最晚到19点20, 17点半下班), by the
        words around it (language.yaml `time_starts`, `time_ends`); "" when they do not say."""
        ends = any(before.endswith(w) or after.startswith(w) for w in self._time_ends)
        starts = any(before.endswith(w) or after.startswith(w) for w in self._time_starts)
        return END if ends and not starts else START if starts and not ends else ""

    def asked_phase(self, question: str) -> str:
        """The same of a question's time (几点开始, 最晚几点, 几点关门): any word of either list in it."""
        ends = any(w in question for w in self._time_ends if len(w) > 1)
        starts = any(w in question for w in self._time_starts if len(w) > 1)
        return END if ends and not starts else START if starts and not ends else ""

    def _inside_word(self, text: str, at: int, unit: str) -> bool:
        """Is the measure word the start of a longer word (回 of 回迁) that no kind lists as a unit?"""
        first = self.words(text[at:at + 4])[0] if text[at:at + 4] else unit
        return len(first) > len(unit) and first.startswith(unit) and first not in self._unit_kinds

    def _starts_with_verdict(self, answer: str) -> bool:
        words = next((w for k, w in self._states if k == YESNO), ())
        first = _CLAUSE.match(to_simplified(answer))
        head = first.group(0) if first else answer
        return any(head.startswith(w) for w in words)

    def _stated_text(self, answer: str) -> str:
        """The answer, simplified, numbers comparable (19:20 → 19点20), without its 'not stated' clauses."""
        return "".join(c for c in _CLAUSE.findall(normalise_numbers(to_simplified(answer)))
                       if not any(n in c for n in self._not_stated))

    def _unstated(self, answer: str) -> set[str]:
        """The kinds an answer's 'not stated' clauses name, read as a question would be: “预订方式和价格文中
        没有说明” → procedure, money; “具体是哪些事项，文中没有逐项列出” → contents."""
        out: set[str] = set()
        for clause in _CLAUSE.findall(to_simplified(answer)):
            if any(n in clause for n in self._not_stated):
                # What it names for sure (价格, 地点, 设施), not what a guess reads into it (哪些事项).
                out.update(a.kind for a in self._asked.asked(self._normaliser(clause).phrased) if not a.weak)
        return out

    def place_names(self, e: Entry) -> frozenset[str]:
        """The place names (by the suffix patterns) an entry's answer states."""
        return frozenset(n for n, _k, _s in self._names(self._stated_text(e.answer)))

    def _places_in_many(self, kb: KnowledgeBase, counts: Mapping[str, int] | None) -> frozenset[str]:
        """Place names (by the suffix patterns) found in the answers of many entries: the sub-center, 通州区."""
        if counts is None:
            counted: dict[str, int] = {}
            for e in kb.entries:
                for name in self.place_names(e):
                    counted[name] = counted.get(name, 0) + 1
            counts = counted
        many = max(2, len(kb.entries) // _COMMON_PLACE_SHARE)
        return frozenset(n for n, c in counts.items() if c >= many) | frozenset(kb.topics)

    def _names(self, text: str) -> list[tuple[str, str, str]]:
        """(name, kind, stem) for words (jieba, with the knowledge base's names) ending as a `*县` states entry
        says: 大厂县, 沙古堆村, 北运河. A one-character suffix needs a stem of two (乡村 is no place name)."""
        ends = self._suffix_ends
        return [(w, kind, w[: -len(suffix)]) for w in self.words(text) if w.endswith(ends)
                for suffix, kind in self._suffixes
                if w.endswith(suffix) and len(w) - len(suffix) >= (2 if len(suffix) == 1 else 1)
                and not any(n in w for n in self._not_states[kind])]

    def disagreements(self) -> list[tuple[Entry, str]]:
        """(entry, kind) where the entry declares a kind its answer does not state (for kb check)."""
        return [(e, k) for e in self.kb.entries for k in e.aspects
                if k in self._kinds and k not in self[e.id].mentioned]


def declaration_warnings(answered: AnsweredTypes) -> list[Problem]:
    """`kb check`: an entry declaring a kind (`aspects: [hours]`) whose answer states none of it (no time)."""
    out: list[Problem] = []
    aspects = {a.id: a for a in answered.kb.aspects}
    for e, kind in answered.disagreements():
        a = aspects[kind]
        signs = [f"a number with {'/'.join(a.unit_words[:4])}"] if a.units else []
        signs += ["/".join(w.lstrip("*") for w in a.states[:4])] if a.states else []
        hint = f" (such as {' or '.join(signs)})" if signs else ""
        out.append(Problem(e.path, e.line, 3, f"`{e.id}` declares `aspects: [{kind}]` ({a.label}) but its answer "
                                              f"states no {a.label}{hint}: write it into the answer, or remove "
                                              f"`{kind}` from `aspects` so that residents asking for it are told "
                                              "it is not stated", "warning"))
    return out
