"""The per-entry facts behind the honesty tables, built once per entry and kept with the index.

The scope checker (scope.py), the topic finder (topics.py) and the answered types (answered.py) read the
whole knowledge base: every topic's texts, the words most of a topic's entries share, the places many
answers name. Built at every start, they took most of a restart at 10,000 entries (28 of 31 s). Each is a
sum over entries of something that depends on the entry alone: that is what is built here, stored with
the index (stored.py) and reused by a reload for every unchanged entry; the tables are then summed from
it in array operations:

- `keywords`: the words of an entry that may name its topic (`topics.keywords`);
- `provinces`: the provinces an entry's texts name (the scope checker's nearby provinces);
- `places`: the place names an entry's answer states (`AnsweredTypes.place_names`);
- every topic's texts and their syllables (`scope.TopicTexts`), with each entry's span in them.

Besides an entry's own text they depend on the normalisation, the scope's province, the aspects (their
place suffixes), the language's "not stated" phrases, the gazetteer and the code: `fingerprint`. Words
also depend on the knowledge base's names: a reload that changes a name derives every entry's words anew.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bot.fingerprint import code_fingerprint
from bot.knowledge.schema import KnowledgeBase
from bot.matching.answered import AnsweredTypes
from bot.matching.build import BuiltIndex, entry_key
from bot.matching.normalise import Normaliser
from bot.matching.places import DATA as PLACES
from bot.matching.places import EXTRA as EXTRA_PLACES
from bot.matching.places import gazetteer
from bot.matching.scope import TopicTexts, entry_texts, provinces_named
from bot.matching.sounds import Sounds
from bot.matching.topics import keywords

# The layout of what is stored; raise it when a field's meaning changes (code changes are caught anyway).
FACTS_FORMAT = 1
_MODULES = ("facts", "scope", "topics", "answered", "places", "sounds")


@dataclass(frozen=True)
class Rows:
    """A set of strings per entry, as arrays: row i is `ids[ptr[i]:ptr[i+1]]`, numbers into `vocabulary`."""

    vocabulary: list[str]
    ptr: np.ndarray  # int64, entries + 1
    ids: np.ndarray  # int32

    def row(self, i: int) -> list[str]:
        return [self.vocabulary[t] for t in self.ids[self.ptr[i] : self.ptr[i + 1]].tolist()]

    def counts(self, groups: np.ndarray | None = None) -> dict[str, dict[int, int]]:
        """String → group → rows having it (`groups[i]`: row i's group; one group 0 if None)."""
        owner = np.repeat(np.arange(len(self.ptr) - 1), np.diff(self.ptr))
        group = groups[owner] if groups is not None else np.zeros(len(owner), dtype=np.int64)
        size = int(group.max()) + 1 if len(group) else 1
        pairs, n = np.unique(self.ids.astype(np.int64) * size + group, return_counts=True)
        out: dict[str, dict[int, int]] = {}
        vocab = self.vocabulary
        for pair, count in zip(pairs.tolist(), n.tolist(), strict=True):
            out.setdefault(vocab[pair // size], {})[pair % size] = count
        return out

    @classmethod
    def assemble(cls, rows: Sequence[Sequence[str] | int], old: Rows | None) -> Rows:
        """New rows (strings) and rows of `old` (by number), old numbers kept, unused strings dropped."""
        vocabulary = list(old.vocabulary) if old is not None else []
        number = {t: i for i, t in enumerate(vocabulary)}
        parts: list[np.ndarray] = []
        lengths = np.zeros(len(rows), dtype=np.int64)
        for i, r in enumerate(rows):
            if isinstance(r, int):
                assert old is not None
                part = old.ids[old.ptr[r] : old.ptr[r + 1]]
            else:
                part = np.array([number.setdefault(t, len(number)) for t in r], dtype=np.int32)
            parts.append(part)
            lengths[i] = len(part)
        vocabulary.extend(list(number)[len(vocabulary):])
        ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        used = np.unique(ids)
        if len(used) < len(vocabulary):
            remap = np.full(len(vocabulary), -1, dtype=np.int32)
            remap[used] = np.arange(len(used), dtype=np.int32)
            ids = remap[ids]
            vocabulary = [vocabulary[i] for i in used.tolist()]
        return cls(vocabulary, ptr, ids.astype(np.int32))


@dataclass(frozen=True)
class EntryFacts:
    fingerprint: str
    lexicon: frozenset[str]  # the names the word facts were cut with
    keywords: Rows
    provinces: Rows
    places: Rows
    texts: TopicTexts  # near: the union of `provinces`
    spans: np.ndarray  # int64 (entries, 5): topic number (in `texts.text` order), text start, end, sound start, end

    def chunks(self) -> list[tuple[str, str]]:
        """Every entry's part of its topic's text and of its sound."""
        topics = list(self.texts.text)
        text, sound = self.texts.text, self.texts.sound
        return [(text[topics[t]][a:b], sound[topics[t]][c:d]) for t, a, b, c, d in self.spans.tolist()]

    def topic_words(self, kb: KnowledgeBase) -> dict[str, dict[str, int]]:
        """For `TopicFinder`: keyword → topic → entries, for the words of one topic only."""
        topics = kb.topics
        number = {t: i for i, t in enumerate(topics)}
        groups = np.array([number[e.topic] for e in kb.entries], dtype=np.int64)
        return {w: {topics[g]: n for g, n in c.items()} for w, c in self.keywords.counts(groups).items() if len(c) == 1}

    def place_counts(self) -> dict[str, int]:
        """For `AnsweredTypes`: place name → entries whose answer states it."""
        return {name: c[0] for name, c in self.places.counts().items()}


def fingerprint(kb: KnowledgeBase, index_fingerprint: str) -> str:
    """Everything besides an entry's text that its facts depend on (`index_fingerprint`: the normalisation's)."""
    what = repr((index_fingerprint, _code(), kb.scope.province, kb.aspects, kb.language.not_stated))
    return hashlib.sha256(what.encode()).hexdigest()[:32]


@cache
def _code() -> str:
    places = hashlib.sha256(PLACES.read_bytes() + EXTRA_PLACES.read_bytes()).hexdigest()
    return code_fingerprint(f"facts {FACTS_FORMAT} " + places,
                            Path(__file__).parent, _MODULES, ("jieba", "pypinyin", "opencc"))


def build_facts(kb: KnowledgeBase, normaliser: Normaliser, built: BuiltIndex, fp: str,
                previous: tuple[KnowledgeBase, BuiltIndex] | None = None, memo: dict[str, str] | None = None
                ) -> EntryFacts:
    """Every entry's facts; with `previous` (the snapshot being replaced), an unchanged entry's are reused
    (its words only when the names are the same). `memo`: texts already normalised (`build_index`'s)."""
    old_kb, old = (previous[0], previous[1].facts) if previous is not None else (None, None)
    if old is None or old.fingerprint != fp:
        old_kb, old = None, None
    reuse: list[int | None] = [None] * len(kb.entries)
    if old_kb is not None:
        old_of = {entry_key(e): j for j, e in enumerate(old_kb.entries)}
        reuse = [old_of.get(entry_key(e)) for e in kb.entries]
    same_words = old is not None and old.lexicon == built.lexicon
    memo = {} if memo is None else memo

    def question(text: str) -> str:
        found = memo.get(text)
        if found is None:
            found = memo[text] = normaliser.question(text)
        return found

    words = built.tokenizer.words
    answered = AnsweredTypes(kb, normaliser=normaliser, words=words, place_counts={})
    base = gazetteer(kb.scope.province)
    sounds = Sounds(old.texts.sounds.syllables) if old is not None else Sounds()
    keyword_rows: list[Sequence[str] | int] = []
    province_rows: list[Sequence[str] | int] = []
    place_rows: list[Sequence[str] | int] = []
    chunks: list[tuple[str, str]] = []
    old_chunks = old.chunks() if old is not None else []
    for e, j in zip(kb.entries, reuse, strict=True):
        if j is not None:
            chunks.append(old_chunks[j])
            province_rows.append(j)
        else:
            texts = entry_texts(e, question)
            chunks.append(("\n".join(texts), sounds.join(texts)))
            province_rows.append(sorted(provinces_named(texts, base)))
        if j is not None and same_words:
            keyword_rows.append(j)
            place_rows.append(j)
        else:
            keyword_rows.append(sorted(keywords(e, question, words)))
            place_rows.append(sorted(answered.place_names(e)))
    provinces = Rows.assemble(province_rows, old.provinces if old is not None else None)
    texts, spans = _topic_texts(kb, chunks, sounds, frozenset(provinces.vocabulary))
    return EntryFacts(fp, built.lexicon, Rows.assemble(keyword_rows, old.keywords if old is not None else None),
                      provinces, Rows.assemble(place_rows, old.places if old is not None else None), texts, spans)


def _topic_texts(kb: KnowledgeBase, chunks: Sequence[tuple[str, str]], sounds: Sounds,
                 near: frozenset[str]) -> tuple[TopicTexts, np.ndarray]:
    """Each topic's entries' chunks joined, in knowledge base order, and where each entry's chunk is."""
    spans = np.zeros((len(chunks), 5), dtype=np.int64)
    members: dict[str, list[int]] = {t: [] for t in kb.topics}
    for i, e in enumerate(kb.entries):
        members[e.topic].append(i)
    text: dict[str, str] = {}
    sound: dict[str, str] = {}
    for t, (topic, entries) in enumerate(members.items()):
        at_text = at_sound = 0
        for i in entries:
            chunk_text, chunk_sound = chunks[i]
            spans[i] = (t, at_text, at_text + len(chunk_text), at_sound, at_sound + len(chunk_sound))
            at_text += len(chunk_text) + 1
            at_sound += len(chunk_sound) + 1
        text[topic] = "\n".join(chunks[i][0] for i in entries)
        sound[topic] = sounds.separator.join(chunks[i][1] for i in entries)
    return TopicTexts(text, sound, sounds, near), spans


def from_chunks(kb: KnowledgeBase, fp: str, lexicon: frozenset[str], keywords_: Rows, provinces: Rows, places: Rows,
                chunks: Sequence[tuple[str, str]], syllables: Sequence[str]) -> EntryFacts:
    """Facts read back from storage (stored.py)."""
    texts, spans = _topic_texts(kb, chunks, Sounds(syllables), frozenset(provinces.vocabulary))
    return EntryFacts(fp, lexicon, keywords_, provinces, places, texts, spans)
