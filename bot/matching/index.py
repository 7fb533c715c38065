"""Recall: a BM25 inverted index over documents (one per entry or intent), built once per snapshot.

Postings hold precomputed BM25 weights in numpy arrays, so a query costs one `bincount` over the
postings of its own tokens: no scan over all questions.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from bot.matching.tokens import Tokenizer

K1 = 1.2
B = 0.75
ANSWER_TF = 0.3  # a token found only in an entry's answer counts for this much of one in a question
SPARSE_SHARE = 25  # fewer postings than 1/25 of the documents: score only the documents they name
COMMON_SHARE = 0.05  # tokens in more than this share of documents are skipped at recall when others remain


class RecallIndex:
    def __init__(self, documents: Sequence[Sequence[str]], tokenizer: Tokenizer,
                 background: Sequence[str] | None = None):
        """`documents[i]` is the list of normalised texts (questions, title, tags) of document i;
        `background[i]`, if given, is text that supports it more weakly (its answer). `tokenizer` is the
        snapshot's (its names are words)."""
        self.tokenizer = tokenizer
        index_tokens = tokenizer.index_tokens
        self.size = len(documents)
        self.doc_tokens: list[frozenset[str]] = []
        self.background_tokens: list[frozenset[str]] = []
        counts: list[Counter[str]] = []
        lengths = np.zeros(self.size, dtype=np.float32)
        df: Counter[str] = Counter()
        for i, texts in enumerate(documents):
            c: Counter[str] = Counter()
            for text in texts:
                for tok, _weight in index_tokens(text):
                    c[tok] += 1
            own = frozenset(c)
            if background is not None:
                for tok, _weight in index_tokens(background[i]):
                    c[tok] += ANSWER_TF
            counts.append(c)
            self.doc_tokens.append(own)
            self.background_tokens.append(frozenset(c) - own)
            lengths[i] = sum(c.values())
            df.update(c.keys())
        avg = float(lengths.mean()) if self.size else 1.0
        self.idf = {t: math.log(1 + (self.size - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self.max_idf = math.log(1 + (self.size + 0.5) / 0.5)
        ids: dict[str, list[int]] = {}
        weights: dict[str, list[float]] = {}
        for i, c in enumerate(counts):
            norm = K1 * (1 - B + B * lengths[i] / avg)
            for tok, tf in c.items():
                ids.setdefault(tok, []).append(i)
                weights.setdefault(tok, []).append(self.idf[tok] * tf * (K1 + 1) / (tf + norm))
        self.postings = {
            t: (np.asarray(ids[t], dtype=np.int32), np.asarray(weights[t], dtype=np.float32)) for t in ids
        }

    def search(self, text: str, limit: int) -> list[tuple[int, float]]:
        """Top `limit` documents for a normalised text, best first, with their BM25 scores."""
        # One-character words (u:) are for coverage only: their postings are long and bigrams find the
        # same documents.
        found = [(tok, weight) for tok, weight in set(self.tokenizer.index_tokens(text))
                 if tok in self.postings and not tok.startswith("u:")]
        if not found:
            return []
        # Tokens in a large share of all documents (多少, 什么) add little to the ranking but most of
        # the work on a large knowledge base: leave them out when rarer tokens remain.
        common = max(50, int(self.size * COMMON_SHARE))
        rare = [(t, w) for t, w in found if len(self.postings[t][0]) <= common]
        if len(rare) >= 2:
            found = rare
        arrays = [(self.postings[t][0], self.postings[t][1] * w) for t, w in found]
        doc_ids = np.concatenate([a[0] for a in arrays])
        weights = np.concatenate([a[1] for a in arrays])
        if len(doc_ids) * SPARSE_SHARE < self.size:
            # Few postings in a large index: sum per distinct document instead of over an array as long
            # as the index (at 100k entries that scan was most of a query's time). Both give documents
            # in ascending order, so ties rank the same either way.
            hits, inverse = np.unique(doc_ids, return_inverse=True)
            scores = np.bincount(inverse, weights=weights)
        else:
            dense = np.bincount(doc_ids, weights=weights, minlength=self.size)
            hits = np.flatnonzero(dense)
            scores = dense[hits]
        if len(hits) > limit:
            keep = np.sort(np.argpartition(-scores, limit)[:limit])
            hits, scores = hits[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")
        return [(int(hits[k]), float(scores[k])) for k in order]

    def token_idf(self, token: str) -> float:
        return self.idf.get(token, self.max_idf)
