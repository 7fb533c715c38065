"""Two simple baselines on the same knowledge base: what the matcher must beat.

Each answers with its best question's entry when the score clears a threshold, else falls back; the
threshold is the best one for that baseline on the same labelled set (so they are shown at their best).
"""

from __future__ import annotations

import math
from collections import Counter

from rapidfuzz import fuzz, process

from bot.evaluation.labelled import Labelled
from bot.evaluation.metrics import Outcome
from bot.knowledge.schema import KnowledgeBase
from bot.matching.normalise import to_simplified
from bot.matching.tokens import Tokenizer, plain_tokenizer


class WRatioBaseline:
    """rapidfuzz `process.extractOne` with WRatio over every question, linearly."""

    name = "rapidfuzz extractOne WRatio"

    def __init__(self, kb: KnowledgeBase):
        self.questions = [q for e in kb.entries for q in e.questions]
        self.owner = [e.id for e in kb.entries for _ in e.questions]

    def best(self, text: str) -> tuple[str | None, float]:
        hit = process.extractOne(to_simplified(text), self.questions, scorer=fuzz.WRatio)
        return (self.owner[hit[2]], hit[1] / 100) if hit else (None, 0.0)


def baseline_tokenizer(names: frozenset[str]) -> Tokenizer:
    """jieba as a plain user of it gets it: the names added as `jieba.add_word` adds them."""
    return Tokenizer.for_names(names, jieba_total=True)


class BM25Baseline:
    """Okapi BM25 over jieba words of every question; the score is scaled by the query's best self-match."""

    name = "BM25 over jieba words"

    def __init__(self, kb: KnowledgeBase, k1: float = 1.2, b: float = 0.75, tokenizer: Tokenizer | None = None):
        """`tokenizer`: jieba with the knowledge base's names as its own `add_word` adds them
        (`baseline_tokenizer`); else jieba's main dictionary alone."""
        self.k1, self.b = k1, b
        self.words = (tokenizer or plain_tokenizer()).words
        self.docs = [Counter(self.words(to_simplified(q))) for e in kb.entries for q in e.questions]
        self.owner = [e.id for e in kb.entries for _ in e.questions]
        self.avg = sum(sum(d.values()) for d in self.docs) / len(self.docs)
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}

    def best(self, text: str) -> tuple[str | None, float]:
        query = self.words(to_simplified(text))
        if not query:
            return None, 0.0
        best_i, best = -1, 0.0
        for i, d in enumerate(self.docs):
            norm = self.k1 * (1 - self.b + self.b * sum(d.values()) / self.avg)
            s = sum(self.idf.get(w, 0) * d[w] * (self.k1 + 1) / (d[w] + norm) for w in query if w in d)
            if s > best:
                best_i, best = i, s
        ceiling = sum(self.idf.get(w, 0) for w in query) or 1.0
        return (self.owner[best_i] if best_i >= 0 else None), min(best / ceiling, 1.0)


def run_baseline(baseline: WRatioBaseline | BM25Baseline, items: list[Labelled]) -> tuple[float, list[Outcome]]:
    """Outcomes at the threshold that maximises right minus 2 × confidently wrong."""
    scored = [(it, *baseline.best(it.question)) for it in items]
    best_t, best_value, best_outcomes = 0.0, -math.inf, []
    for step in range(0, 101, 2):
        t = step / 100
        outcomes = [Outcome(it, "answer" if s >= t and e else "fallback", e if s >= t else None, None, s)
                    for it, e, s in scored]
        value = sum(o.verdict == "right" for o in outcomes) - 2 * sum(o.verdict == "wrong" for o in outcomes)
        if value > best_value:
            best_t, best_value, best_outcomes = t, value, outcomes
    return best_t, best_outcomes
