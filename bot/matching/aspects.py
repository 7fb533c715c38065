"""Which aspects (fee, address, opening hours...) a message asks about, from words in aspects.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge.schema import Aspect
from bot.matching.normalise import Normaliser


@dataclass(frozen=True, slots=True)
class AspectWords:
    aspect: Aspect
    words: tuple[str, ...]
    not_words: tuple[str, ...]


class AspectDetector:
    def __init__(self, aspects: tuple[Aspect, ...], normaliser: Normaliser):
        # Aspect words go through the same normalisation as messages, so 如何申请 and 怎么申请 agree.
        norm = lambda w: normaliser.apply_synonyms(normaliser.basic(w))  # noqa: E731
        self.aspects = [
            AspectWords(a, tuple(sorted({norm(w) for w in a.words}, key=len, reverse=True)),
                        tuple(norm(w) for w in a.not_words))
            for a in aspects
        ]
        self.by_id = {a.id: a for a in aspects}

    def asked(self, phrased: str) -> list[tuple[Aspect, str]]:
        """Aspects the message asks about, each with the word that revealed it."""
        out = []
        for aw in self.aspects:
            if any(n and n in phrased for n in aw.not_words):
                continue
            hit = next((w for w in aw.words if w and w in phrased), None)
            if hit:
                out.append((aw.aspect, hit))
        return out

    def strip(self, text: str, found: list[tuple[Aspect, str]]) -> str:
        """The message without its aspect words, so the topic is matched on its own."""
        for _aspect, word in found:
            text = text.replace(word, "")
        return text
