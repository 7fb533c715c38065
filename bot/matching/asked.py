"""What kind of detail a message asks for (a time, a fee, a size, a place, how to apply...).

The taxonomy and its cue words live in knowledge/aspects.yaml, the interrogatives in knowledge/asked.yaml.
Three readings, from the most to the least specific:

1. cue words anywhere (电话, 面积, 为什么) and endings at the end (了吗, 有哪些);
2. an interrogative and the word after it (多 + 大, 几 + 点, 哪 + 天, 怎么 + 去), looked up in the kinds'
   word lists, then, for a word no list holds, by its part of speech in jieba's dictionary: 几 + any
   measure word asks for a count (几栋, 几艘), 怎么 + any verb for a way of doing it (怎么续期), 多 + any
   adjective for a size (多陡); a typo keeps its pinyin (几店 → 几点);
3. a yes/no form (吗, 能不能, V不V), only when nothing else was asked.

Defaults by part of speech and yes/no are weak: they count only when no specific kind was found, so
收费是多少 asks for money, not for a count. The message is read after normalisation (simplified script,
synonyms: 咋 → 怎么, 啥 → 什么), as the matcher reads it.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from bot.knowledge.schema import Aspect, Interrogative
from bot.matching.normalise import Normaliser
from bot.matching.numbers import chinese_to_int
from bot.matching.tokens import char_pinyin, is_cjk, longest_first

log = logging.getLogger(__name__)

YESNO = "yesno"
COUNT = "count"
DATE = "date"
HOURS = "hours"
CONTENTS = "contents"
_COUNTED = re.compile(r"(\d+|[二两三四五六七八九十百千万]+)(?:多|余)?([\u4e00-\u9fff])")  # 453项, 两千多场
_REDUPLICATED = re.compile(r"([\u4e00-\u9fff])[不没]\1")  # 能不能, 是不是, 有没有, 好不好: a yes/no form
_NUMERALS = frozenset("023456789二两三四五六七八九十几")  # not 一: 哪一天 is "which day"
_SOME = 2  # 哪几项: at least two
_POS_WORD_MAX = 2  # the part-of-speech table keeps words this long (the word after an interrogative)


@dataclass(frozen=True, slots=True)
class Asked:
    kind: str
    cue: str  # the words that revealed it, for explanations and for stripping
    weak: bool = False  # a guess by part of speech or a yes/no form: dropped when anything specific is asked
    stripable: bool = False  # a cue word (aspects.yaml `words`): the topic is matched without it
    also: tuple[str, ...] = ()  # other kinds that answer it too (a guessed count is answered by an amount)
    unit: str | None = None  # the measure word a count is asked in (几棵, 几栋): it must be stated in it
    counted: str = ""  # what is counted or listed (几家银行, 哪些社团 → 银行, 社团): an answer's 六大银行 counts it too
    listed: int = 0  # how many items a list asked for has (哪六家, 那7项是哪几项): a shorter list does not answer

    def answered_by(self, stated: frozenset[str]) -> bool:
        return self.kind in stated or any(k in stated for k in self.also)


class AskedClassifier:
    """Built once per knowledge base snapshot from its aspects and interrogatives."""

    def __init__(self, aspects: tuple[Aspect, ...], interrogatives: tuple[Interrogative, ...],
                 normaliser: Normaliser):
        def norm(w: str) -> str:
            # Cue words go through the message's normalisation, so 如何申请 and 怎么申请 agree.
            return normaliser.apply_synonyms(normaliser.basic(w))

        def norms(words: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(sorted({n for n in map(norm, words) if n}, key=longest_first))

        self.kinds = {a.id: a for a in aspects}
        self._words = [(a.id, norms(tuple(w for w in a.words if not w.startswith("*"))), norms(a.not_words))
                       for a in aspects]
        # '*率' in `words`: any word ending so (入住率, 通过率) asks for that kind; the word itself is the topic's.
        self._word_ends = [(a.id, w[1:]) for a in aspects for w in a.words if w.startswith("*") and len(w) > 1]
        self._endings = [(a.id, norms(a.endings)) for a in aspects]
        # Slot word → kinds, per slot; longest first so 号线 wins over 号 and 个小时 over 个.
        self._slots: dict[str, list[tuple[str, str]]] = {}
        self._slot_pinyin: dict[str, dict[str, str]] = {}
        for slot in ("adjectives", "units", "nouns", "verbs"):
            pairs = [(w, a.id) for a in aspects
                     for w in norms(a.unit_words if slot == "units" else getattr(a, slot))]
            self._slots[slot] = sorted(pairs, key=lambda p: len(p[0]), reverse=True)
            # One-character slot words by pinyin, for typos (几店 → 几点); a sound two kinds share is ambiguous.
            sounds: dict[str, set[str]] = {}
            for w, kind in pairs:
                if len(w) == 1 and is_cjk(w):
                    sounds.setdefault(char_pinyin(w), set()).add(kind)
            self._slot_pinyin[slot] = {p: next(iter(k)) for p, k in sounds.items() if len(k) == 1}
        self._count_units = frozenset(w for w, kind in self._slots["units"] if kind == COUNT and len(w) == 1)
        heads = []
        for it in interrogatives:
            for w in {norm(w) for w in it.words if norm(w)}:
                heads.append((w, it, tuple(norm(i) for i in it.ignore)))
        self._heads = sorted(heads, key=lambda h: len(h[0]), reverse=True)

    def asked(self, phrased: str) -> list[Asked]:
        """Every kind the message asks for, specific ones first; empty when it asks for no particular detail."""
        text = phrased.replace(" ", "")
        found: dict[str, Asked] = {}
        # not_words rule a kind out however it was asked (贷款多少钱 asks for an amount, not a fee).
        blocked = {kind for kind, _words, not_words in self._words if any(n in text for n in not_words)}

        def add(a: Asked) -> None:
            if a.kind in blocked:
                return
            old = found.get(a.kind)
            if old is None or (old.weak and not a.weak):
                found[a.kind] = a
            elif a.listed > old.listed or (a.unit and a.unit != old.unit and (not old.unit or a.kind == DATE)):
                # 清单…是哪几项: the list's length is asked too; 几月 (a cue word) in 月: a month is asked, and
                # 几月几号 a day (the later, finer one)
                found[a.kind] = replace(old, listed=max(a.listed, old.listed),
                                        unit=a.unit if a.kind == DATE else old.unit or a.unit,
                                        counted=old.counted or a.counted)

        for kind, words, _not_words in self._words:
            hit = next((w for w in words if w in text), None)
            if hit:
                add(Asked(kind, hit, weak=kind == YESNO, stripable=True))
        for kind, end in self._word_ends:
            hit = self._word_ending(text, end)
            if hit:
                add(Asked(kind, hit))
        for kind, endings in self._endings:
            hit = next((e for e in endings if text.endswith(e)), None)
            if hit:
                add(Asked(kind, hit, weak=kind == YESNO))
        for a in self._grammar(text):
            add(self._list_length(text, a))
        m = _REDUPLICATED.search(text)
        if m:
            add(Asked(YESNO, m.group(0), weak=True))
        listed = found.get(CONTENTS)
        if listed is not None and listed.listed <= _SOME:
            found[CONTENTS] = self._items_named(text, listed)
        strong = [a for a in found.values() if not a.weak]
        if strong:
            return strong
        weak = [a for a in found.values() if a.kind != YESNO]
        return weak or [a for a in found.values() if a.kind == YESNO][:1]

    def _grammar(self, text: str) -> list[Asked]:
        out: list[Asked] = []
        i = 0
        while i < len(text):
            head = next((h for h in self._heads if text.startswith(h[0], i)), None)
            if head is None:
                i += 1
                continue
            word, rule, ignore = head
            rest = text[i + len(word):]
            before = text[i - 1] if i else ""
            if (before and before in rule.not_after) or any(rest.startswith(n) for n in rule.not_before) \
                    or any(text.startswith(idiom, i) and len(text) - i - len(idiom) <= 1 for idiom in ignore):
                i += 1  # 有多少: 有多 is no question here, 多少 may be
                continue
            found = self._after(word, rule, rest)
            if found is not None:
                out.append(found)
            i += len(word)
        return out

    def _after(self, head: str, rule: Interrogative, rest: str) -> Asked | None:
        """The kind the word after an interrogative asks for: a listed word, its pinyin, or its part of speech."""
        if rule.numbered and rest and rest[0] in _NUMERALS:
            # 哪三座, 哪几项, 哪6家: which ones, a list of so many (not a count: the number is given); but 哪两个
            # 地方 asks for places, as 哪个地方 does.
            number = re.match(r"\d+|[二两三四五六七八九十几]+", rest)
            named = rest[number.end():] if number else rest[1:]
            kind = next((k for w, k in self._slots[rule.slot] if len(w) > 1 and named.startswith(w)), None)
            if kind is not None:  # a list of them answers too (哪几个地方: 天津、河北)
                return Asked(kind, head + rest[:1] + named[:2], also=(rule.numbered,))
            number = re.match(r"\d+|[二两三四五六七八九十]+", rest)
            listed = (int(number.group(0)) if number.group(0).isdigit() else chinese_to_int(number.group(0)) or 0) \
                if number else 0
            return Asked(rule.numbered, head + rest[:2], listed=listed or _SOME)
        for w, kind in self._slots[rule.slot]:
            if rest.startswith(w):
                # 几栋 asks for a count in 栋 (or what aspects.yaml counts the same, 栋=幢): 5项 does not answer it.
                if rule.slot == "units" and kind == COUNT:
                    return Asked(kind, head + w, unit=w, counted=rest[len(w):len(w) + 2])
                if rule.slot == "units" and kind == DATE:  # 几月, 几号: a year alone does not answer it
                    return Asked(kind, head + w, unit=w)
                return Asked(kind, head + w)
        # A typo keeps its sound (几店开门 → 几点), unless the word reads well as it is: a part of speech the
        # interrogative takes (多少事 is a count of things) or a longer word (多少事项).
        if rest and is_cjk(rest[0]) and (len(rest) < 2 or pos_of(rest[:2]) is None):
            kind = self._slot_pinyin[rule.slot].get(char_pinyin(rest[0]))
            tag = pos_of(rest[0]) or ""
            if kind is not None and tag.split("_")[0] not in (*rule.pos, "v", "d", "p", "c", "r", "u", "y"):
                return Asked(kind, head + rest[0])
        if not rest or not is_cjk(rest[0]):
            return Asked(rule.alone, head, weak=True, also=rule.also_answered_by) if rule.alone else None
        if any(rest.endswith(e) for e in rule.not_when_ending):
            return None
        if rule.default and rule.pos:
            tag = next((t for t in (pos_of(rest[:n]) for n in range(_POS_WORD_MAX, 0, -1)) if t), None)
            if tag is not None and tag.split("_")[0] in rule.pos:
                unit = rest[:1] if rule.slot == "units" and tag.startswith("q") else None
                return Asked(rule.default, head + rest[:1], weak=True, also=rule.also_answered_by, unit=unit,
                             counted=rest[:2] if rule.default in (COUNT, CONTENTS) and tag.startswith("n") else "")
        return None

    @staticmethod
    def _word_ending(text: str, end: str) -> str | None:
        """A word of the message that ends in `end` (入住率 for 率), not one it begins (率先)."""
        at = text.find(end, 1)
        while at > 0:
            after = text[at:at + len(end) + 1]
            if is_cjk(text[at - 1]) and not (len(after) > len(end) and pos_of(after)):
                return text[at - 1:at + len(end)]
            at = text.find(end, at + 1)
        return None

    def _items_named(self, text: str, a: Asked) -> Asked:
        """那453项事项包括哪些, 那两千多场都是什么活动: the question says how many there are, and a list of two
        does not answer it. The number and a count's measure word (aspects.yaml) before the question's cue."""
        before = text[:text.find(a.cue)] if a.cue in text else text
        best = a.listed
        for m in _COUNTED.finditer(before):
            n = int(m.group(1)) if m.group(1).isdigit() else chinese_to_int(m.group(1)) or 0
            if n > _SOME and m.group(2) in self._count_units:
                best = max(best, n)
        return replace(a, listed=best) if best != a.listed else a

    @staticmethod
    def _list_length(text: str, a: Asked) -> Asked:
        """哪几项 after 那7项: the question says how many (7), and a list of two does not answer it."""
        measure = a.cue[a.cue.find("几") + 1:] if "几" in a.cue else ""
        if a.listed != _SOME or not measure:
            return a
        said = re.search(rf"(\d+|[二两三四五六七八九十]+){re.escape(measure)}", text[:text.find(a.cue)])
        if said is None:
            return a
        n = int(said.group(1)) if said.group(1).isdigit() else chinese_to_int(said.group(1))
        return replace(a, listed=n) if n and n > _SOME else a

    def strip(self, text: str, found: list[Asked]) -> str:
        """The message without what asks for the detail (收费, 多大), so that the topic is matched on its own:
        for a follow-up (那它有多大) and for the topic of a detail no entry states (一键呼怎么收费)."""
        for a in found:
            if len(a.cue) > 1 and not a.weak:  # 谁 alone carries the question's sense; a guess is no cue
                text = text.replace(a.cue, "")
        return text

    def label(self, kind: str) -> str:
        a = self.kinds.get(kind)
        return a.label if a else kind


# -- jieba's part-of-speech tags of short words -------------------------------------------------------
# The tags of jieba's own dictionary, which holds no knowledge base names: one table per process (not per
# snapshot). Read on first need (a word after an interrogative that no list holds), not at start, so the
# first answer never waits for it; reading takes a few tenths of a second, once.
_pos_lock = threading.Lock()


@cache
def _pos_table() -> dict[str, str]:
    """Parsed from jieba's dict.txt once per machine, then read from the table kept in CACHE_DIR beside the
    stored dictionary (kept_tables.py: JSON, read without running code)."""
    import jieba

    from bot.matching import kept_tables

    try:
        raw = Path(jieba.__file__).with_name("dict.txt").read_bytes()
    except OSError as exc:  # a broken install: cue words and listed words still work
        log.warning("jieba's dictionary has no part-of-speech tags to read (%s); asked types by word lists only",
                    exc)
        return {}

    def make() -> dict[str, list[str]]:
        table: dict[str, str] = {}
        for line in raw.decode("utf-8").split("\n"):
            parts = line.split()
            if len(parts) == 3 and len(parts[0]) <= _POS_WORD_MAX:
                table[parts[0]] = parts[2]
        return {"words": list(table), "tags": list(table.values())}

    # Keyed by the rule that picks the words too (a code change must not read an old table).
    return kept_tables.kept("jieba-pos", raw + f"\n{_POS_WORD_MAX}".encode(), make, _pos_columns)


def _pos_columns(columns: dict[str, list[str]]) -> dict[str, str]:
    words, tags = columns.get("words"), columns.get("tags")
    if words is None or tags is None or len(words) != len(tags):
        raise ValueError("not words and their tags")
    return dict(zip(words, tags, strict=True))


def pos_of(word: str) -> str | None:
    """jieba's part-of-speech tag of a word of its dictionary (a adjective, q measure word, v verb...)."""
    with _pos_lock:  # one reading, however many threads ask first
        table = _pos_table()
    return table.get(word)


def unit_groups(aspects: tuple[Aspect, ...]) -> dict[str, frozenset[str]]:
    """Each measure word and those that count the same thing (`units: [次=回=趟]` in aspects.yaml)."""
    out: dict[str, frozenset[str]] = {}
    for a in aspects:
        for u in a.units:
            group = frozenset(w for w in u.split("=") if w)
            for w in group:
                out[w] = out.get(w, frozenset()) | group
    return out
