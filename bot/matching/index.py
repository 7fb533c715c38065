"""Recall: a BM25 inverted index over documents (one per entry or intent), built once per snapshot.

Every document's tokens are held as flat numpy arrays (token ids and term frequencies, one row per
document), and the postings are the same pairs sorted by token: building is a few array operations,
not a loop per token, and the arrays are what `bot/matching/stored.py` writes to disk. Postings hold
precomputed BM25 weights, so a query costs one `bincount` over the postings of its own tokens: no scan
over all questions.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np

from bot.matching.tokens import Tokenizer

K1 = 1.2
B = 0.75
ANSWER_TF = 0.3  # a token found only in an entry's answer counts for this much of one in a question
SPARSE_SHARE = 25  # fewer postings than 1/25 of the documents: score only the documents they name
COMMON_SHARE = 0.05  # tokens in more than this share of documents are skipped at recall when others remain
# Up to this many documents, each one's token sets are made once and remembered (`token_ids`): every document
# of a small knowledge base, where coverage then costs set look-ups. Beyond, `presence` reads the candidates'
# rows for the message's tokens only: at 100,000 entries most candidates of a question are new.
DOC_SETS = 4096


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One document's distinct tokens: term frequency (questions count 1, its answer ANSWER_TF per
    occurrence) and whether the token is in its own texts (questions, title, tags) or only its answer."""

    tokens: tuple[str, ...]
    tf: tuple[float, ...]
    own: tuple[bool, ...]


def token_row(texts: Sequence[str], background: str, tokenizer: Tokenizer) -> TokenRow:
    # Counted by Counter's C loop: this runs for every entry of a cold build. The tokens' names only (their
    # weights are the query's, not the row's), not through `index_tokens`' cache of a few messages.
    c: Counter[str] = Counter(chain.from_iterable(map(tokenizer.token_names, texts)))
    own = set(c)
    if background:
        get = c.get  # not Counter's `c[tok] +=`: its `__missing__` is a Python call per answer-only token
        for tok, n in Counter(tokenizer.token_names(background)).items():
            c[tok] = get(tok, 0) + ANSWER_TF * n
    return TokenRow(tuple(c), tuple(c.values()), tuple(map(own.__contains__, c)))


@dataclass(frozen=True)
class DocTokens:
    """Rows of (token id, tf, own) per document, in document order: row i is `ptr[i]:ptr[i+1]`."""

    vocabulary: list[str]
    ptr: np.ndarray  # int64, documents + 1
    tok: np.ndarray  # int32
    tf: np.ndarray  # float32
    own: np.ndarray  # bool

    @classmethod
    def from_rows(cls, rows: Sequence[TokenRow]) -> DocTokens:
        ids: dict[str, int] = {}
        tok = np.fromiter((ids.setdefault(t, len(ids)) for r in rows for t in r.tokens), dtype=np.int32)
        tf = np.fromiter((x for r in rows for x in r.tf), dtype=np.float32, count=len(tok))
        own = np.fromiter((x for r in rows for x in r.own), dtype=bool, count=len(tok))
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r.tokens) for r in rows], out=ptr[1:])
        return cls(list(ids), ptr, tok, tf, own)

    @property
    def size(self) -> int:
        return len(self.ptr) - 1

    def row(self, i: int) -> TokenRow:
        a, b = int(self.ptr[i]), int(self.ptr[i + 1])
        vocab = self.vocabulary
        return TokenRow(tuple(vocab[t] for t in self.tok[a:b].tolist()), tuple(self.tf[a:b].tolist()),
                        tuple(self.own[a:b].tolist()))


def postings_order(tok: np.ndarray) -> np.ndarray:
    """Positions of `tok` sorted by token, ascending positions (so documents) within a token. Sorting
    (token, position) pairs packed in one int64 gives that order twice as fast as a stable argsort of the
    tokens (a merge sort)."""
    keys = (tok.astype(np.int64) << 32) | np.arange(len(tok), dtype=np.int64)
    keys.sort()
    return (keys & 0xFFFFFFFF).astype(np.int32)


def is_postings_order(order: np.ndarray, tok: np.ndarray) -> bool:
    """Whether `order` is exactly `postings_order(tok)`, in a few passes instead of a sort: its (token,
    position) pairs strictly increase, and the only strictly increasing sequence of all `len(tok)` such
    pairs is the sorted one (each position appears once)."""
    if order.dtype != np.int32 or order.shape != tok.shape:
        return False
    if not len(order):
        return True
    if order.min() < 0 or order.max() >= len(tok):
        return False
    keys = (tok[order].astype(np.int64) << 32) | order
    return bool((keys[1:] > keys[:-1]).all())


class RecallIndex:
    def __init__(self, docs: DocTokens, tokenizer: Tokenizer, order: np.ndarray | None = None):
        """`docs`: every document's tokens; `tokenizer`: the snapshot's (its names are words); `order`: the
        postings' order as stored with a built index (`self.order`), checked here (ValueError), else sorted."""
        self.docs = docs
        self.tokenizer = tokenizer
        self.size = docs.size
        self.vocabulary = {t: i for i, t in enumerate(docs.vocabulary)}
        if len(self.vocabulary) != len(docs.vocabulary):  # a token is then one id (coverage tests ids)
            raise ValueError("the vocabulary repeats a token")
        doc_of = np.repeat(np.arange(self.size, dtype=np.int32), np.diff(docs.ptr))
        lengths = np.bincount(doc_of, weights=docs.tf, minlength=self.size).astype(np.float32)
        df = np.bincount(docs.tok, minlength=len(docs.vocabulary))
        avg = float(lengths.mean()) if self.size else 1.0
        self.idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
        self.max_idf = math.log(1 + (self.size + 0.5) / 0.5)
        tf = docs.tf.astype(np.float64)
        norm = K1 * (1 - B + B * lengths.astype(np.float64) / avg)
        weights = (self.idf[docs.tok] * tf * (K1 + 1) / (tf + norm[doc_of])).astype(np.float32)
        # Postings: the same pairs sorted by token, documents ascending within a token (a stable sort).
        if order is None:
            order = postings_order(docs.tok)
        elif not is_postings_order(order, docs.tok):
            raise ValueError("the postings' order does not sort the tokens")
        self.order = order  # stored with the index: a restart then skips the sort (most of its reading)
        self.token_ids = lru_cache(maxsize=DOC_SETS)(self._token_ids)
        self._post_doc = doc_of[order]
        self._post_weight = weights[order]
        self._post_ptr = np.zeros(len(docs.vocabulary) + 1, dtype=np.int64)
        np.cumsum(df, out=self._post_ptr[1:])

    @classmethod
    def from_texts(cls, documents: Sequence[Sequence[str]], tokenizer: Tokenizer,
                   background: Sequence[str] | None = None) -> RecallIndex:
        """`documents[i]` is the list of normalised texts (questions, title, tags) of document i;
        `background[i]`, if given, is text that supports it more weakly (its answer)."""
        rows = [token_row(texts, background[i] if background is not None else "", tokenizer)
                for i, texts in enumerate(documents)]
        return cls(DocTokens.from_rows(rows), tokenizer)

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """(document ids ascending, BM25 weights) of a token; empty when no document has it."""
        i = self.vocabulary.get(token)
        if i is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        a, b = self._post_ptr[i], self._post_ptr[i + 1]
        return self._post_doc[a:b], self._post_weight[a:b]

    def search(self, text: str, limit: int) -> list[tuple[int, float]]:
        """Top `limit` documents for a normalised text, best first, with their BM25 scores."""
        # One-character words (u:) are for coverage only: their postings are long and bigrams find the
        # same documents.
        found = [(self.vocabulary[tok], weight) for tok, weight in set(self.tokenizer.index_tokens(text))
                 if tok in self.vocabulary and not tok.startswith("u:")]
        if not found:
            return []
        ptr = self._post_ptr
        # Tokens in a large share of all documents (多少, 什么) add little to the ranking but most of
        # the work on a large knowledge base: leave them out when rarer tokens remain.
        common = max(50, int(self.size * COMMON_SHARE))
        rare = [(t, w) for t, w in found if ptr[t + 1] - ptr[t] <= common]
        if len(rare) >= 2:
            found = rare
        spans = [(ptr[t], ptr[t + 1], w) for t, w in found]
        doc_ids = np.concatenate([self._post_doc[a:b] for a, b, _w in spans])
        weights = np.concatenate([self._post_weight[a:b] * w for a, b, w in spans])
        if len(doc_ids) * SPARSE_SHARE < self.size:
            # Few postings in a large index: sum per distinct document instead of over an array as long
            # as the index (at 100k entries that scan was most of a query's time). Both give documents
            # in ascending order, so ties rank the same either way.
            hits, inverse = np.unique(doc_ids, return_inverse=True)
            scores = np.bincount(inverse, weights=weights)
        else:
            dense = np.bincount(doc_ids, weights=weights, minlength=self.size)
            # The same positions as `flatnonzero(dense)`, found in a boolean array: numpy's nonzero on
            # floats branches per element (1.5 ms over 100,000 documents a fifth of them hit), on booleans
            # it does not (0.2 ms).
            hits = np.flatnonzero(dense != 0)
            scores = dense[hits]
        if len(hits) > limit:
            keep = np.sort(np.argpartition(-scores, limit)[:limit])
            hits, scores = hits[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")
        return [(int(hits[k]), float(scores[k])) for k in order]

    def token_idf(self, token: str) -> float:
        i = self.vocabulary.get(token)
        return float(self.idf[i]) if i is not None else self.max_idf

    def token_id(self, token: str) -> int:
        """The token's number, -1 when no document has it."""
        return self.vocabulary.get(token, -1)

    def presence(self, docs: Sequence[int], tokens: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Whether each of `docs` has each of `tokens` (numbers from `token_id`; -1 is in none) in its own
        texts (questions, title, tags), and in its answer only: two boolean arrays, documents × tokens.

        One pass over the documents' rows for all of them, comparing numbers, rather than a set of every
        document's hundreds of tokens (its answer's) made for a message that names a few: at 100,000 entries
        the candidates of a question are mostly documents no message has reached yet."""
        wanted = sorted({t for t in tokens if t >= 0})
        if not len(docs) or not wanted:
            empty = np.zeros((len(docs), len(tokens)), dtype=bool)
            return empty, empty.copy()
        column = {t: k for k, t in enumerate(wanted)}
        numbers = np.array(wanted, dtype=self.docs.tok.dtype)
        d = np.asarray(docs, dtype=np.intp)
        starts = self.docs.ptr[d]
        lengths = self.docs.ptr[d + 1] - starts
        ends = np.cumsum(lengths)
        positions = np.repeat(starts - (ends - lengths), lengths) + np.arange(ends[-1])
        toks = self.docs.tok[positions]
        at = np.searchsorted(numbers, toks)
        np.minimum(at, len(numbers) - 1, out=at)
        hit = np.flatnonzero(numbers[at] == toks)
        # (document, wanted token, 0 own / 1 answer only); the last column stays False: tokens numbered -1
        table = np.zeros((len(d), len(numbers) + 1, 2), dtype=bool)
        table[np.searchsorted(ends, hit, side="right"), at[hit], (~self.docs.own[positions[hit]]).view(np.int8)] = True
        columns = [column.get(t, -1) for t in tokens]
        return table[:, columns, 0], table[:, columns, 1]

    def _token_ids(self, doc: int) -> tuple[frozenset[int], frozenset[int]]:
        """Numbers of the tokens of a document's own texts, and of those only in its answer (`token_ids`)."""
        a, b = int(self.docs.ptr[doc]), int(self.docs.ptr[doc + 1])
        toks, own = self.docs.tok[a:b], self.docs.own[a:b]
        return frozenset(toks[own].tolist()), frozenset(toks[~own].tolist())

    def doc_tokens(self, doc: int) -> frozenset[str]:
        """Tokens of a document's own texts (questions, title, tags)."""
        a, b = int(self.docs.ptr[doc]), int(self.docs.ptr[doc + 1])
        return frozenset(map(self.docs.vocabulary.__getitem__, self.docs.tok[a:b][self.docs.own[a:b]].tolist()))

    def background_tokens(self, doc: int) -> frozenset[str]:
        """Tokens found only in a document's answer."""
        a, b = int(self.docs.ptr[doc]), int(self.docs.ptr[doc + 1])
        return frozenset(map(self.docs.vocabulary.__getitem__, self.docs.tok[a:b][~self.docs.own[a:b]].tolist()))
