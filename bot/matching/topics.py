"""A message that names a topic and asks nothing more (税务服务, 税务局有什么便民服务, 养老方面有啥服务).

Such a message gets the topic's questions as a numbered choice (the same list as /topics → a topic), not
one entry picked at random nor "I don't know". A topic is named by:

- its name (税务服务), or a word of its name no other topic's name has (养老 of 养老与儿童, 西集 of 西集民宿);
- a word that most of its entries speak of and no other topic does (税务局, 厂通路, 潞河中学附属学校):
  derived from the entries, so a new topic needs no list.

"Asks nothing more": once the topic's words, the broad-question words of language.yaml (有什么服务,
方面, 介绍一下...) and light characters are removed, nothing is left. 一键呼怎么收费 keeps 怎么收费 and is
a question, not a topic; an entry's own question (西集有什么好的民宿) is never a menu either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from bot.knowledge.schema import Entry, KnowledgeBase
from bot.matching.tokens import longest_first, plain_tokenizer

KEYWORD_SHARE = 0.6  # a word in this share of a topic's entries (and no other topic's) names the topic
KEYWORD_MIN_CHARS = 3  # shorter shared words are details (医生, 学生, 年底), not the topic's subject
_MEANINGFUL = re.compile(r"[\u3400-\u9fffa-z0-9]")
_CJK_WORD = re.compile(r"^[\u3400-\u9fff]+$")


class TopicFinder:
    """Built once per knowledge base snapshot; immutable afterwards."""

    def __init__(self, kb: KnowledgeBase, normalise: Callable[[str], str], is_place: Callable[[str], bool],
                 words: Callable[[str], tuple[str, ...]] | None = None, *,
                 questions: frozenset[str] | None = None,
                 entry_words: Mapping[str, Mapping[str, int]] | None = None):
        """`is_place`: whether a word names a place (天津, 宝坻区): a place is where, not what, so it names
        no topic (那宝坻呢 is a follow-up, not the 政务服务 menu). `words`: the snapshot's jieba words (its
        names are words); jieba's main dictionary by default. Built beforehand for a large knowledge base
        (facts.py), else here: `questions`, every entry's normalised questions; `entry_words`, word → topic
        → how many of its entries have the word (`keywords`; words of several topics may be left out)."""
        words = words or plain_tokenizer().words
        self.light = frozenset(kb.language.light_chars)
        # An entry's own question (西集有什么好的民宿) is answered by its entry, however broad it sounds.
        if questions is None:
            questions = frozenset(normalise(q) for e in kb.entries for q in e.questions)
        self.questions = questions
        self.broad = tuple(sorted({normalise(w) or w for w in kb.language.broad_questions}, key=longest_first))
        name_words: dict[str, set[str]] = {}
        for topic in kb.topics:
            name = normalise(topic) or topic
            name_words.setdefault(name, set()).add(topic)
            for w in words(name):
                if len(w) >= 2:
                    name_words.setdefault(w, set()).add(topic)
        if entry_words is None:
            counted: dict[str, dict[str, int]] = {}
            for e in kb.entries:
                for w in keywords(e, normalise, words):
                    counted.setdefault(w, {}).setdefault(e.topic, 0)
                    counted[w][e.topic] += 1
            entry_words = counted
        names: dict[str, str] = {w: next(iter(ts)) for w, ts in name_words.items() if len(ts) == 1}
        for w, counts in entry_words.items():
            if len(counts) == 1 and w not in name_words and not is_place(w):
                topic, n = next(iter(counts.items()))
                size = len(kb.entries_in(topic))
                if n >= 2 and n >= KEYWORD_SHARE * size:
                    names[w] = topic
        self.names = dict(sorted(names.items(), key=lambda kv: len(kv[0]), reverse=True))

    def asked(self, text: str) -> str | None:
        """The topic a normalised message names and asks nothing more about, or None."""
        if text in self.questions:
            return None
        found: set[str] = set()
        rest = text
        for name, topic in self.names.items():
            if name in rest:
                found.add(topic)
                rest = rest.replace(name, " ")
        if len(found) != 1:
            return None
        for w in self.broad:
            rest = rest.replace(w, " ")
        if any(c not in self.light for c in _MEANINGFUL.findall(rest)):
            return None
        return found.pop()


def keywords(e: Entry, normalise: Callable[[str], str], words: Callable[[str], tuple[str, ...]]) -> frozenset[str]:
    """The words of an entry that may name its topic: Chinese words of KEYWORD_MIN_CHARS or more in its
    whole text (shorter ones are details)."""
    text = normalise(" ".join((e.title, e.answer, *e.questions, *e.tags)))
    return frozenset(w for w in words(text) if len(w) >= KEYWORD_MIN_CHARS and _CJK_WORD.match(w))
