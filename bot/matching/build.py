"""What the matcher builds from a snapshot's text: normalised questions, jieba words, pinyin, names,
and the recall index. Built once per snapshot; a reload reuses what an unchanged entry had.

An entry's build depends only on its own text, the normalisation (synonyms, word lists, the code), and
the names its text contains (they are jieba words, `tokens.Tokenizer`). So a reload re-normalises and
re-tokenises only the entries whose text changed, plus those containing a name added or removed; every
other entry keeps its words and its row of the index. The index's BM25 weights are then recomputed from
all rows at once (array operations), because one entry changes every document's rarity figures.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from bot.fingerprint import code_fingerprint as fingerprint_of_code
from bot.knowledge.schema import Entry, KnowledgeBase
from bot.matching.index import DocTokens, RecallIndex, TokenRow, token_row
from bot.matching.normalise import Normaliser
from bot.matching.tokens import Tokenizer, pinyin

if TYPE_CHECKING:
    from bot.matching.facts import EntryFacts

# The layout of what is built (and stored). Raise it when the meaning of a stored field changes; any
# change to the code that builds is caught anyway by `code_fingerprint`.
INDEX_FORMAT = 3  # 2: with the entries' facts (facts.py); 3: with the postings' order
COMMON_WORD_SHARE = 5  # a word in more than one entry in this many is no name
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,}")
# Modules whose code decides what is built: a change to any of them makes stored indexes stale.
_BUILDING_MODULES = ("build", "index", "tokens", "dictionary", "normalise", "numbers", "stored")
_LIBRARIES = ("jieba", "pypinyin", "opencc")


@dataclass(frozen=True, slots=True)
class DocText:
    """What the ranker needs of one document's text (an entry or an intent), normalised."""

    questions: tuple[str, ...]  # duplicates removed, in the order written
    words: tuple[str, ...]  # each question's jieba words, joined by spaces
    pinyin: tuple[str, ...]  # each question's pinyin
    terms: tuple[str, ...]  # its tags: names of what it is about
    heads: tuple[str, ...]  # synonym groups' standard words its questions contain (see `lexicon`)


@dataclass(frozen=True)
class BuiltIndex:
    fingerprint: str  # the normalisation and the code it was built with: reused only with the same
    lexicon: frozenset[str]
    tokenizer: Tokenizer
    texts: list[DocText]  # the knowledge base's entries in order, then its intents
    index: RecallIndex
    rebuilt: int = 0  # entries normalised and tokenised by this build (the others were reused or loaded)
    facts: EntryFacts | None = None  # what the honesty tables are summed from (facts.py), built after the index


@cache
def code_fingerprint() -> str:
    """The building code and the libraries it relies on: a stored index from other code is stale."""
    return fingerprint_of_code(f"format {INDEX_FORMAT}", Path(__file__).parent, _BUILDING_MODULES, _LIBRARIES)


def fingerprint(kb: KnowledgeBase, normaliser: Normaliser) -> str:
    """Everything besides an entry's own text that its build depends on."""
    lang = kb.language
    what = {"code": code_fingerprint(), "max_chars": normaliser.max_chars, "synonyms": kb.synonyms,
            "fillers": lang.fillers, "particles": lang.particles}
    return hashlib.sha256(json.dumps(what, ensure_ascii=False).encode()).hexdigest()[:32]


def entry_key(e: Entry) -> tuple[object, ...]:
    """The parts of an entry its build depends on (its id, topic or dates do not matter)."""
    return e.questions, e.title, e.tags, e.answer


@dataclass
class _Fresh:
    """An entry being built: its normalised texts, until it is tokenised."""

    questions: tuple[str, ...]
    terms: tuple[str, ...]
    title: str
    answer: str
    heads: tuple[str, ...]


class _Builder:
    def __init__(self, kb: KnowledgeBase, normaliser: Normaliser, memo: dict[str, str] | None = None):
        self.kb = kb
        self.normalise = normaliser
        self._memo: dict[str, str] = {} if memo is None else memo  # tags and answers repeat across entries
        self.heads = tuple(dict.fromkeys(normaliser.apply_synonyms(normaliser.basic(g[0])) for g in kb.synonyms))

    def question(self, text: str) -> str:
        found = self._memo.get(text)
        if found is None:
            found = self._memo[text] = self.normalise.question(text)
        return found

    def fresh(self, e: Entry) -> _Fresh:
        qs = tuple(dict.fromkeys(self.question(q) for q in e.questions))
        joined = " ".join(qs)
        return _Fresh(qs, tuple(self.question(t) for t in e.tags), self.question(e.title), self.question(e.answer),
                      tuple(h for h in self.heads if h in joined))

    def lexicon(self, terms: Iterable[tuple[str, ...]], heads: Iterable[tuple[str, ...]]) -> frozenset[str]:
        """The knowledge base's names: every tag, and each synonym group's standard word (公租房,
        潞河中学附属学校) unless many entries ask with it (什么, 怎么): such a word tells no entry from another."""
        names = {t for ts in terms for t in ts}
        counts = Counter(h for hs in heads for h in hs)
        common = max(2, len(self.kb.entries) // COMMON_WORD_SHARE)
        names.update(h for h in self.heads if counts[h] <= common)
        return frozenset(t for t in names if len(t) >= 2)


def build_index(kb: KnowledgeBase, normaliser: Normaliser,
                previous: tuple[KnowledgeBase, BuiltIndex] | None = None, memo: dict[str, str] | None = None
                ) -> BuiltIndex:
    """Build everything for `kb`; with `previous` (the snapshot being replaced), reuse what its unchanged
    entries had. `memo`: texts normalised (`Normaliser.question`) so far, filled in; the entries' facts
    (facts.py) normalise the same texts."""
    b = _Builder(kb, normaliser, memo)
    fp = fingerprint(kb, normaliser)
    old_kb, old = previous if previous is not None and previous[1].fingerprint == fp else (None, None)
    old_of: dict[tuple[object, ...], int] = {}
    if old_kb is not None:
        old_of = {entry_key(e): i for i, e in enumerate(old_kb.entries)}
    reuse: list[int | None] = [old_of.get(entry_key(e)) for e in kb.entries]
    fresh = {i: b.fresh(e) for i, e in enumerate(kb.entries) if reuse[i] is None}
    assert old is None or all(j is None or j < len(old.texts) for j in reuse)
    terms = (fresh[i].terms if j is None else old.texts[j].terms for i, j in enumerate(reuse))  # type: ignore[union-attr]
    heads = (fresh[i].heads if j is None else old.texts[j].heads for i, j in enumerate(reuse))  # type: ignore[union-attr]
    lexicon = b.lexicon(terms, heads)
    tokenizer = Tokenizer.for_names(lexicon)
    if old is not None:
        # An unchanged entry containing a name added or removed is cut differently now: rebuild it too.
        stale = _containing(old.index, lexicon ^ old.lexicon)
        for i, j in enumerate(reuse):
            if j is not None and (stale is None or j in stale):
                reuse[i] = None
                fresh[i] = b.fresh(kb.entries[i])
    texts: list[DocText] = []
    rows: list[TokenRow | int] = []  # a new row, or the row of that document of the old index
    for i, j in enumerate(reuse):
        if j is None:
            f = fresh[i]
            texts.append(_doc_text(f.questions, f.terms, f.heads, tokenizer))
            rows.append(token_row([*f.questions, f.title, *f.terms], f.answer, tokenizer))
        else:
            texts.append(old.texts[j])  # type: ignore[union-attr]
            rows.append(j)
    for intent in kb.intents:  # a handful of phrases: always built
        qs = tuple(dict.fromkeys(p for p in map(b.question, intent.phrases) if p))
        texts.append(_doc_text(qs, (), (), tokenizer))
        rows.append(token_row(qs, "", tokenizer))
    docs = _assemble(rows, old.index.docs if old is not None else None)
    return BuiltIndex(fp, lexicon, tokenizer, texts, RecallIndex(docs, tokenizer), rebuilt=len(fresh))


def _doc_text(qs: tuple[str, ...], terms: tuple[str, ...], heads: tuple[str, ...], tokenizer: Tokenizer) -> DocText:
    return DocText(qs, tuple(" ".join(tokenizer.words(q)) for q in qs), tuple(pinyin(q) for q in qs), terms, heads)


def _containing(index: RecallIndex, names: Iterable[str]) -> set[int] | None:
    """Documents of `index` whose text may contain one of `names`: those having every bigram of a name's
    Chinese runs (a text containing the name has them all). None (all documents) for a name without a
    Chinese run of two characters, which no bigram can vouch for."""
    out: set[int] = set()
    for name in names:
        runs = _CJK_RUN.findall(name)
        if not runs:
            return None
        found: set[int] | None = None
        for run in runs:
            for k in range(len(run) - 1):
                ids = set(index.postings("b:" + run[k : k + 2])[0].tolist())
                found = ids if found is None else found & ids
        out |= found or set()
    return out


def _assemble(rows: Sequence[TokenRow | int], old: DocTokens | None) -> DocTokens:
    """One DocTokens from new rows and rows of `old` (by document number), old token ids kept, then the
    vocabulary compacted to the tokens still used."""
    vocabulary = list(old.vocabulary) if old is not None else []
    ids = {t: i for i, t in enumerate(vocabulary)}
    toks: list[np.ndarray] = []
    tfs: list[np.ndarray] = []
    owns: list[np.ndarray] = []
    lengths = np.zeros(len(rows), dtype=np.int64)
    for start, stop in _runs(rows):
        first = rows[start]
        if isinstance(first, TokenRow):
            new = cast(list[TokenRow], rows[start:stop])
            flat = list(chain.from_iterable(r.tokens for r in new))
            for t in dict.fromkeys(flat):  # unique, in order: C loops
                if t not in ids:
                    ids[t] = len(ids)
            toks.append(np.fromiter(map(ids.__getitem__, flat), dtype=np.int32, count=len(flat)))
            tfs.append(np.fromiter(chain.from_iterable(r.tf for r in new), dtype=np.float32, count=len(flat)))
            owns.append(np.fromiter(chain.from_iterable(r.own for r in new), dtype=bool, count=len(flat)))
            lengths[start:stop] = [len(r.tokens) for r in new]
        else:
            # Old documents in their old order: one slice of the old arrays.
            assert old is not None
            last = cast(int, rows[stop - 1])
            a, z = int(old.ptr[first]), int(old.ptr[last + 1])
            toks.append(old.tok[a:z])
            tfs.append(old.tf[a:z])
            owns.append(old.own[a:z])
            lengths[start:stop] = np.diff(old.ptr[first : last + 2])
    vocabulary.extend(list(ids)[len(vocabulary):])
    tok = np.concatenate(toks) if toks else np.zeros(0, dtype=np.int32)
    tf = np.concatenate(tfs) if tfs else np.zeros(0, dtype=np.float32)
    own = np.concatenate(owns) if owns else np.zeros(0, dtype=bool)
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    used = np.unique(tok)
    if len(used) < len(vocabulary):  # tokens only removed or changed entries had
        remap = np.full(len(vocabulary), -1, dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        tok = remap[tok]
        vocabulary = [vocabulary[i] for i in used.tolist()]
    return DocTokens(vocabulary, ptr, tok, tf, own)


def _runs(rows: Sequence[TokenRow | int]) -> Iterator[tuple[int, int]]:
    """[start, stop) spans of consecutive new rows, or of old documents numbered consecutively."""
    if not rows:
        return
    start = 0
    for k in range(1, len(rows) + 1):
        if k == len(rows):
            yield start, k
            break
        prev, row = rows[k - 1], rows[k]
        same = (isinstance(prev, TokenRow) and isinstance(row, TokenRow)) or (
            isinstance(prev, int) and isinstance(row, int) and row == prev + 1)
        if not same:
            yield start, k
            start = k
