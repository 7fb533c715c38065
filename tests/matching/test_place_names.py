"""`AnsweredTypes._names` skips, with one `endswith` over every suffix, the words ending in none of them:
the place names found (what the scope checker's common places and each entry's answered places are
built from) are exactly those of testing each suffix in turn, on the bundled answers and recombined ones."""

from __future__ import annotations

import random

from bot.knowledge.loader import load_knowledge
from bot.matching.answered import AnsweredTypes
from bot.matching.matcher import Matcher
from tests.auxil.kb import ROOT


def _names_one_suffix_at_a_time(answered: AnsweredTypes, text: str) -> list[tuple[str, str, str]]:
    """The comprehension before the shared `endswith` (459b28e), kept as the reference."""
    return [(w, kind, w[: -len(suffix)]) for w in answered.words(text) for suffix, kind in answered._suffixes
            if w.endswith(suffix) and len(w) - len(suffix) >= (2 if len(suffix) == 1 else 1)
            and not any(n in w for n in answered._not_states[kind])]


def _recombined(answers: list[str], count: int) -> list[str]:
    """Answers spliced from two bundled answers (a half of each), as benchmarks/matching.py splices questions."""
    rng = random.Random(7)
    out = []
    for _ in range(count):
        a, b = rng.sample(answers, 2)
        out.append(a[: len(a) // 2] + b[len(b) // 2 :])
    return out


def test_place_names_are_those_of_each_suffix_in_turn():
    kb = load_knowledge(ROOT / "knowledge")
    matcher = Matcher(kb)
    answered = AnsweredTypes(kb, normaliser=matcher.normalise, words=matcher.tokenizer.words)
    assert answered._suffixes  # the bundled aspects name places by suffix (*县, *村, *河)
    answers = [e.answer for e in kb.entries]
    texts = [answered._stated_text(a) for a in [*answers, *_recombined(answers, 1000)]]
    found = 0
    for text in texts:
        expected = _names_one_suffix_at_a_time(answered, text)
        assert answered._names(text) == expected, text
        found += len(expected)
    assert found > 100  # the answers do name places: the comparison is not of empty lists
    for e in kb.entries:
        assert answered.place_names(e) == frozenset(n for n, _k, _s in _names_one_suffix_at_a_time(
            answered, answered._stated_text(e.answer)))
