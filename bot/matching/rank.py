"""Rerank: several similarity features per candidate, combined into one score in [0, 1]."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.matching.index import DOC_SETS, RecallIndex
from bot.matching.tokens import Tokenizer, bigrams, is_cjk, pinyin


@dataclass(frozen=True, slots=True)
class Document:
    """What the ranker needs of an entry or an intent, precomputed once per snapshot."""

    key: str
    kind: str  # "faq" or "intent"
    topic: str
    questions: tuple[str, ...]  # normalised
    question_words: tuple[str, ...]  # jieba words joined by spaces
    question_pinyin: tuple[str, ...]
    terms: frozenset[str]  # normalised key terms (tags, names)


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    words: str
    pinyin: str
    bigrams: tuple[tuple[str, str, float], ...]  # (bigram token, pinyin token, rarity) once per query
    terms: frozenset[str]  # key terms of the knowledge base found in the text
    # The bigrams' tokens as `index.token_id` numbers them, (bigram, pinyin) each; empty without an index.
    ids: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of(cls, text: str, lexicon: frozenset[str], tokenizer: Tokenizer, index: RecallIndex | None = None) -> Query:
        words = tokenizer.words(text)
        grams = tuple(("b:" + b, "p:" + pinyin(b), share * (index.token_idf("b:" + b) if index else 1.0))
                      for b, share in weighted_bigrams(text, words))
        grams += tuple(("u:" + w, "u:" + w, UNIGRAM_SHARE * (index.token_idf("u:" + w) if index else 1.0))
                       for w in words if len(w) == 1 and is_cjk(w))
        ids = tuple((index.token_id(t), index.token_id(p)) for t, p, _w in grams) if index else ()
        return cls(text, " ".join(words), pinyin(text), grams, names_in(text, lexicon), ids)


def names_in(text: str, lexicon: frozenset[str]) -> frozenset[str]:
    """The knowledge base's names (key terms) mentioned in `text`."""
    found = {t for t in lexicon if t in text}
    # A term inside a longer found term is the same mention (森林公园 in 城市绿心森林公园).
    return frozenset(t for t in found if not any(t != o and t in o for o in found))


UNIGRAM_SHARE = 0.5  # a one-character word weighs half as much as a bigram of the same rarity
CROSS_SHARE = 0.8  # a bigram across the edge of a longer word (学校|会 → 校会), see `weighted_bigrams`


def weighted_bigrams(text: str, words: tuple[str, ...]) -> list[tuple[str, float]]:
    """Bigrams with how much each may say. Those inside a word, and those between two one-character
    pieces (an unknown word or a typo that jieba cut up: 公组房), count fully. One across the edge of a
    longer word (学校|会 → 校会) is mostly an accident of adjacency, and an unseen one would weigh as
    much as the rarest word in coverage: colloquial wordings have many of them. `words` are the text's
    jieba words."""
    pieces = [p for p in words if p.strip()]
    if "".join(pieces) != text.replace(" ", ""):
        return [(b, 1.0) for b in bigrams(text)]
    out: list[tuple[str, float]] = []
    for i, w in enumerate(pieces):
        if len(w) > 1:
            out.extend((b, 1.0) for b in bigrams(w))
        if i + 1 < len(pieces):
            nxt = pieces[i + 1]
            if is_cjk(w[-1]) and is_cjk(nxt[0]):
                out.append((w[-1] + nxt[0], 1.0 if len(w) == 1 and len(nxt) == 1 else CROSS_SHARE))
    return out or [(b, 1.0) for b in bigrams(text)]


@dataclass(frozen=True, slots=True)
class Features:
    char: float
    partial: float
    tokens: float
    pinyin: float
    coverage: float
    key_terms: float
    bm25: float
    meaning: float = 0.0  # credit from the sentence model, see `meaning_credit`; 0 when it is not used

    @property
    def similarity(self) -> float:
        return max(self.char, self.tokens, 0.95 * self.pinyin, self.partial)


# Weights of the logistic combination. The intercept puts a candidate that shares little with the
# message well below 0.5; coverage (how much of the message the entry explains) weighs most because
# an entry that explains only part of a message is how confident wrong answers happen.
WEIGHTS = {"intercept": -7.5, "coverage": 5.5, "similarity": 4.0, "key_terms": 1.5, "bm25": 1.0}


def similarities(q: Query, docs: list[Document]) -> np.ndarray:
    """Best character, word, pinyin and partial similarity of `q` to each document's questions.

    Each measure over all candidate questions at once (`cdist`, a third of the time of a Python loop over
    a hundred questions), then the maximum per document."""
    texts = [t for d in docs for t in d.questions]
    char = process.cdist([q.text], texts, scorer=fuzz.ratio)[0]
    tok = (process.cdist([q.words], [w for d in docs for w in d.question_words], scorer=fuzz.token_set_ratio)[0]
           if q.words else np.zeros(len(texts)))
    py = process.cdist([q.pinyin], [p for d in docs for p in d.question_pinyin], scorer=fuzz.ratio)[0]
    if len(q.text) >= 4:
        # A message contained in a longer question (or the reverse) is close, but not identical.
        partial = 0.9 * process.cdist([q.text], texts, scorer=fuzz.partial_ratio)[0]
        partial[[len(t) < 4 for t in texts]] = 0.0
    else:
        partial = np.zeros(len(texts))
    out = np.zeros((len(docs), 4))
    counts = [len(d.questions) for d in docs]
    if docs and all(counts):
        # Each document's questions are consecutive: the maximum of each run at once (a maximum, so in any
        # order the same value), at least 0 as the zeros it was taken with.
        starts = np.cumsum([0, *counts[:-1]])
        for col, values in enumerate((char, tok, py, partial)):
            out[:, col] = np.maximum(np.maximum.reduceat(values / 100, starts), 0.0)
        return out
    owners = np.fromiter((i for i, d in enumerate(docs) for _ in d.questions), dtype=np.intp)
    for col, values in enumerate((char, tok, py, partial)):
        np.maximum.at(out[:, col], owners, values / 100)
    return out


def features(q: Query, doc: Document, doc_index: int, index: RecallIndex, bm25: float, bm25_top: float,
             sims: np.ndarray, focus: Query | None = None, cover: float | None = None) -> Features:
    """Features of one candidate; `focus` (what the resident wrote, before context was added) decides
    coverage and name agreement when given. `cover`: its coverage, computed beforehand (`coverages`)."""
    char, tok, py, partial = sims
    return Features(
        char=float(char),
        partial=float(partial),
        tokens=float(tok),
        pinyin=float(py),
        coverage=coverage(focus or q, index, doc_index) if cover is None else cover,
        key_terms=key_term_agreement(focus or q, doc),
        bm25=bm25 / bm25_top if bm25_top > 0 else 0.0,
    )


# A message needs about this much rarity (in idf units) before full coverage means anything: one
# common bigram such as 好的 fully "covered" by some question says nothing about what was asked.
COVERAGE_MASS = 9.0
# A word the message shares only with an entry's answer (招工难, 运河两岸) supports it, but less than one
# in its questions: answers are long and share words with many messages.
ANSWER_CREDIT = 0.5


def coverage(q: Query, index: RecallIndex, doc_index: int) -> float:
    """Share of the message's bigrams (weighted by rarity) that the document contains, typos allowed,
    scaled down for messages too short to tell entries apart."""
    return coverages(q, index, [doc_index])[0]


def coverages(q: Query, index: RecallIndex, doc_indices: Sequence[int]) -> list[float]:
    """`coverage` of each document. Per bigram, in the message's order: its full weight when the document's
    own texts have it, 0.8 of it when they have its pinyin, ANSWER_CREDIT of it when only its answer has it.
    A small index (`DOC_SETS` documents or fewer) looks each up in the document's remembered token sets; a
    large one reads all the candidates at once (`RecallIndex.presence`) and adds up with `cumsum` (one
    addition after another, as the loop adds; adding 0.0 for a bigram not found changes nothing): the same
    figures to the last bit either way."""
    if not doc_indices:
        return []
    ids = q.ids or tuple((index.token_id(t), index.token_id(p)) for t, p, _w in q.bigrams)
    total = 0.0
    for _t, _p, weight in q.bigrams:
        total += weight
    if not total:
        return [0.0] * len(doc_indices)
    mass = max(total, COVERAGE_MASS)
    if index.size <= DOC_SETS:
        out = []
        for doc in doc_indices:
            tokens, background = index.token_ids(doc)
            got = 0.0
            for (_t, _p, weight), (tok, ptok) in zip(q.bigrams, ids, strict=True):
                if tok in tokens:
                    got += weight
                elif ptok in tokens:
                    got += 0.8 * weight
                elif tok in background:
                    got += ANSWER_CREDIT * weight
            out.append(got / mass)
        return out
    n = len(ids)
    own, background = index.presence(doc_indices, [t for t, _p in ids] + [p for _t, p in ids])
    weights = np.array([w for _t, _p, w in q.bigrams], dtype=np.float64)
    credit = np.where(own[:, :n], weights,
                      np.where(own[:, n:], 0.8 * weights,
                               np.where(background[:, :n], ANSWER_CREDIT * weights, 0.0)))
    return [g / mass for g in np.cumsum(credit, axis=1)[:, -1].tolist()]


def key_term_agreement(q: Query, doc: Document) -> float:
    """1 when every name in the message belongs to the document, 0 when none does, 0.5 with no names."""
    if not q.terms:
        return 0.5
    hits = sum(1 for t in q.terms if t in doc.terms or any(t in text for text in doc.questions))
    return hits / len(q.terms)


def combine(f: Features, prior: float = 0.0) -> float:
    """Log-odds that the candidate is the entry the resident means; `sigmoid` turns it into [0, 1]."""
    w = WEIGHTS
    z = (
        w["intercept"]
        # A paraphrase (公司招不到人 for 企业招工难) explains the message by meaning, not by shared words.
        + w["coverage"] * max(f.coverage, f.meaning)
        + w["similarity"] * f.similarity
        + w["key_terms"] * f.key_terms
        + w["bm25"] * f.bm25
        + prior
    )
    return z


# A sentence model puts most pairs of one topic close together, paraphrases and mere siblings (开工 and
# 通车 of one road) alike: a candidate earns credit only when the model prefers it clearly to every other
# candidate, and when the detail asked (the message without its names) agrees with one of the candidate's
# questions without theirs. Each model spreads its cosines differently (m3e-small: other entries of a
# topic at 0.75–0.9; USE: 0.4–0.8; e5: 0.89–0.97), so each has its own scale, chosen by a sweep
# (benchmarks/meaning_sweep.py) on the labelled set for right answers without confident wrong ones,
# preferring settings that answer fewest questions whose entry was removed (benchmarks/leave_one_out.py);
# never on the hold-out sets. No question from any set went into the knowledge base.


@dataclass(frozen=True, slots=True)
class MeaningScale:
    floor: float  # cosine that earns nothing
    full: float  # cosine that earns full credit
    lead: float  # lead in cosine over the best other candidate that earns full credit
    detail_floor: float  # cosine between details below which the model's preference counts for nothing
    detail_full: float  # and above which it counts fully
    # A word of a yes/no or status question this close to one of the entry's words is the entry's word in
    # other words (单位 ~ 企业, 步行 ~ 走路); below, the entry does not speak of it (matching/mentions.py).
    # None: the model's word similarities were not measured, and the check is not made with it.
    fact_word: float | None = None
    # The same for the role and the deed a who question names (施工单位, 设计 of 是谁设计的): a role is close to
    # its field (设计 ~ 建筑 0.92), so only a near-synonym counts (推动 ~ 推进 0.96, 帮忙 ~ 帮助 0.97).
    role_word: float | None = None
    # With fact_word: the entry's word must also be among the resident's word's nearest in a general
    # vocabulary (mentions.py `Contrast`): fewer than this many everyday words nearer. None: not weighed.
    fact_rank: int | None = None


# e5-small's: `benchmarks/meaning_sweep.py e5-small --grid '{"floor": [0.88, 0.9, 0.92, 0.94], "width": [0.04,
# 0.06, 0.08], "lead": [0.005, 0.01, 0.02, 0.03], "detail_floor": [0.84, 0.87, 0.9, 0.93], "detail_width":
# [0.03, 0.06]}'` (2026-11-29: 384 settings, the top one kept); use-multilingual's from the same sweep over
# floor 0.5–0.7, width 0.15–0.35, lead 0.02–0.15, detail floor 0.4–0.7, detail width 0.1–0.2 (its best
# without a confident wrong answer adds 0.6 points to words alone).
MEANING_SCALES = {
    "m3e-small": MeaningScale(floor=0.75, full=0.95, lead=0.02, detail_floor=0.70, detail_full=0.80),
    "use-multilingual": MeaningScale(floor=0.60, full=0.85, lead=0.02, detail_floor=0.70, detail_full=0.80),
    # fact_word: below it, words unrelated to the entry (dev_honesty.yaml: 带狗 0.87, 周六 0.87, 宠物 0.88,
    # 过路费 0.88, 全区 0.885); at or above, the entry's own thing in other words (labelled set: 孩子 ~ 学校
    # 0.896, 公司 ~ 企业 0.95). Set on 2026-11-29 between the two; 货车 ~ 通车 (0.91) and 饭馆 ~ 店铺 (0.87)
    # fall on the wrong side of any line. role_word (2026-11-29, from the who questions of the spent sealed
    # sets): unrelated deeds and roles reach 0.92 (设计 ~ 建筑, 负责 ~ 帮助 0.91, 施工单位 ~ 建设 0.91), the
    # entry's own in other words 0.95 or more (推动 ~ 推进 0.957, 帮忙 ~ 帮助 0.971).
    "e5-small": MeaningScale(floor=0.90, full=0.96, lead=0.01, detail_floor=0.87, detail_full=0.93,
                             fact_word=0.89, role_word=0.95, fact_rank=3),
}
# The model is asked only when the words are unclear *and* found something: a best candidate this likely
# by words alone. Below it (random characters, a foreign language, spam) the words found nothing the
# model could confirm, and asking costs 25–80 ms on one thread (e5-small) for no answer. Every labelled
# question the model turns right starts at 0.15 or more; 60% of the unclear random messages of
# benchmarks/fuzz_inputs.py start below 0.1.
MEANING_MIN_WORD_SCORE = 0.1
# An operator's own BERT model (SEMANTIC_MODEL=DIR) gets m3e-small's: bge-small-zh has its shape. Re-run
# `resident-bot eval` and the sweep after such a change.
DIRECTORY_SCALE = MEANING_SCALES["m3e-small"]


def meaning_credit(cosines: np.ndarray, scale: MeaningScale) -> np.ndarray:
    """Coverage-like credit in [0, 1] per candidate from its best cosine to the message: high only when
    the model finds the candidate close *and* closer than any other (siblings such as 开工 and 通车
    of one road look alike to it, and then it should not decide)."""
    if len(cosines) == 0:
        return cosines
    order = np.argsort(-cosines)
    best_other = np.full(len(cosines), cosines[order[0]])
    if len(cosines) > 1:
        best_other[order[0]] = cosines[order[1]]
    else:
        best_other[order[0]] = scale.floor
    level = np.clip((cosines - scale.floor) / (scale.full - scale.floor), 0.0, 1.0)
    lead = np.clip((cosines - best_other) / scale.lead, 0.0, 1.0)
    return level * lead


def detail_agreement(cosines: np.ndarray, scale: MeaningScale) -> np.ndarray:
    """Factor in [0, 1] on `meaning_credit` from each candidate's best cosine between details."""
    return np.clip((cosines - scale.detail_floor) / (scale.detail_full - scale.detail_floor), 0.0, 1.0)


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))
