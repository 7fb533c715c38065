"""Typed, immutable values of a knowledge base snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    publisher: str
    date: dt.date
    section: str
    quote: str
    speaker: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "publisher": self.publisher,
            "date": self.date.isoformat(),
            "section": self.section,
            "speaker": self.speaker,
            "quote": self.quote,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    topic: str
    title: str
    questions: tuple[str, ...]
    answer: str
    source: Source
    as_of: dt.date
    review_by: dt.date | None = None
    expires: dt.date | None = None
    # Passed `expires`/`review_by` dates an administrator has seen: the reply still warns residents,
    # `kb check` no longer does (the outcome is not known yet, so there is nothing to update).
    acknowledged_passed: tuple[dt.date, ...] = ()
    follow_ups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    aspects: tuple[str, ...] = ()
    path: str = ""
    line: int = 0

    @property
    def canonical_question(self) -> str:
        return self.questions[0]

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "topic": self.topic,
            "title": self.title,
            "questions": list(self.questions),
            "answer": self.answer,
            "source": self.source.to_dict(),
            "as_of": self.as_of.isoformat(),
            "review_by": self.review_by.isoformat() if self.review_by else None,
            "expires": self.expires.isoformat() if self.expires else None,
            "acknowledged_passed": [d.isoformat() for d in self.acknowledged_passed],
            "follow_ups": list(self.follow_ups),
            "tags": list(self.tags),
            "aspects": list(self.aspects),
        }


@dataclass(frozen=True, slots=True)
class Aspect:
    """A kind of detail a question can ask for (a time, a fee, a size, a place...) that an entry may not
    state: the asked-type taxonomy of knowledge/aspects.yaml. Its word lists serve both sides: what reveals
    the kind in a question (bot.matching.asked) and what states it in an answer (bot.matching.answered)."""

    id: str
    label: str
    words: tuple[str, ...] = ()  # anywhere in a question
    not_words: tuple[str, ...] = ()
    endings: tuple[str, ...] = ()  # only at a question's end (了吗, 有哪些)
    adjectives: tuple[str, ...] = ()  # after 多 / 有多 (多大, 多远)
    units: tuple[str, ...] = ()  # after 几 / 多少 in a question, after a number in an answer (几点, 19点20)
    nouns: tuple[str, ...] = ()  # after 哪 / 什么 (哪天, 什么条件)
    verbs: tuple[str, ...] = ()  # after 怎么 / 如何 (怎么去, 怎么申请)
    states: tuple[str, ...] = ()  # in an answer: states the kind (位于, 热线)
    not_states: tuple[str, ...] = ()  # in an answer: words that look like `states` but are not (格局 is no 局)

    @property
    def unit_words(self) -> tuple[str, ...]:
        """`units` one by one: 次=回=趟 is three measure words that count the same thing."""
        return tuple(w for u in self.units for w in u.split("=") if w)


@dataclass(frozen=True, slots=True)
class Interrogative:
    """An interrogative (多, 几, 哪, 怎么...) and how the word after it tells the asked type (knowledge/asked.yaml)."""

    words: tuple[str, ...]
    slot: str  # adjectives | units | nouns | verbs: which word list of the aspects the next word is looked up in
    pos: tuple[str, ...] = ()  # jieba part-of-speech tags that make an unlisted next word count as `default`
    default: str | None = None
    alone: str | None = None  # the kind when nothing follows (句尾的“多少”)
    not_after: tuple[str, ...] = ()  # characters right before it that make it no question (很多)
    not_before: tuple[str, ...] = ()  # characters right after it that make it no question (几乎)
    ignore: tuple[str, ...] = ()  # idioms starting with it that ask for no detail (怎么办)
    not_when_ending: tuple[str, ...] = ()  # no guess by part of speech when the question ends so (怎么解决的)
    also_answered_by: tuple[str, ...] = ()  # a guessed kind is also answered by these (贷了多少 → money)
    numbered: str | None = None  # the kind when a number follows (哪三座, 哪几项: which ones of a list)


@dataclass(frozen=True, slots=True)
class Intent:
    """Small talk: greeting, thanks, goodbye, help, handoff, abuse."""

    id: str
    phrases: tuple[str, ...]
    replies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Language:
    """Word lists used to clean questions before matching."""

    fillers: tuple[str, ...] = ()
    particles: tuple[str, ...] = ()
    follow_up_prefixes: tuple[str, ...] = ()
    follow_up_suffixes: tuple[str, ...] = ()
    follow_up_pronouns: tuple[str, ...] = ()
    light_chars: str = ""  # what may surround a greeting or thanks without making it a question
    broad_questions: tuple[str, ...] = ()  # 有什么服务, 方面...: with a topic's name, asks for the topic's menu
    not_stated: tuple[str, ...] = ()  # in an answer: the clause names details the source does not give
    # in a yes/no or status question: words that name no fact of their own (现在, 真的); see matching/mentions.py
    fact_light_words: tuple[str, ...] = ()
    fact_predicates: tuple[str, ...] = ()  # 能, 可以, 有: a yes/no question's subject comes before them
    time_starts: tuple[str, ...] = ()  # 开始, 开门: a time asked or stated with them is when something starts
    time_ends: tuple[str, ...] = ()  # 结束, 最晚: ... when it ends (see matching/answered.py `phase`)
    eligible_groups: tuple[str, ...] = ()  # 户, 企业: a yes/no question's subject ending so asks who is covered
    person_roles: tuple[str, ...] = ()  # 长, 师, 主任: a role ending so is a person (校长); see matching/mentions.py


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the knowledge base's facts hold (scope.yaml): a question about another place or thing gets
    what the knowledge base knows, labelled with where, and an honest "nothing about the place asked"."""

    label: str = ""  # where the facts hold, as replies say it (北京城市副中心（通州区）)
    home: tuple[str, ...] = ()  # names of that place in residents' words (副中心, 通州, 北京)
    province: str = ""  # its province in the gazetteer, whose districts residents name without 区
    others: tuple[str, ...] = ()  # 其他, 别的, 第二个...: before a kind word, another place than this one
    elsewhere: tuple[str, ...] = ()  # words that alone name somewhere else (外地, 本部)
    kinds: tuple[str, ...] = ()  # kind words of places and organisations (公园, 中学, 村, 镇)
    institutions: tuple[str, ...] = ()  # kinds whose whole name must be the entry's (运河中学 is not 运河)


@dataclass(frozen=True, slots=True)
class WelcomeExample:
    """A question the welcome offers to try (replies.yaml `welcome_examples`), where it was written."""

    question: str
    path: str
    line: int


@dataclass(frozen=True)
class KnowledgeBase:
    """One immutable snapshot of the knowledge base; `version` is a hash of the files it came from."""

    entries: tuple[Entry, ...]
    synonyms: tuple[tuple[str, ...], ...]
    aspects: tuple[Aspect, ...]
    language: Language
    replies: Mapping[str, str]
    intents: tuple[Intent, ...]
    version: str
    directory: Path
    sources_text: str = ""
    scope: Scope = Scope()
    git_commit: str | None = None  # the commit of the directory's repository, "+changes" when edited since
    welcome_examples: tuple[WelcomeExample, ...] = ()
    interrogatives: tuple[Interrogative, ...] = ()  # knowledge/asked.yaml
    by_id: Mapping[str, Entry] = field(init=False)
    by_topic: Mapping[str, tuple[Entry, ...]] = field(init=False)  # in first-appearance order

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", MappingProxyType({e.id: e for e in self.entries}))
        grouped: dict[str, list[Entry]] = {}
        for e in self.entries:
            grouped.setdefault(e.topic, []).append(e)
        object.__setattr__(self, "by_topic", MappingProxyType({t: tuple(v) for t, v in grouped.items()}))
        object.__setattr__(self, "replies", MappingProxyType(dict(self.replies)))

    @property
    def version_label(self) -> str:
        return f"{self.version} (git {self.git_commit})" if self.git_commit else self.version

    @property
    def topics(self) -> list[str]:
        """Topics in the order they first appear."""
        return list(self.by_topic)

    def entries_in(self, topic: str) -> list[Entry]:
        # Looked up on every follow-up: a precomputed map, not a scan over all entries.
        return list(self.by_topic.get(topic, ()))

    @property
    def question_count(self) -> int:
        return sum(len(e.questions) for e in self.entries)
