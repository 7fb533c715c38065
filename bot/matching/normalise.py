"""Normalise a message so that equivalent wordings compare equal.

Steps, in order: cut to a maximum length; NFKC (full-width to half-width); lower case; drop control
and invisible characters; traditional to simplified (remembering the resident's script for the
reply); numbers made comparable; punctuation removed; synonyms mapped to one form; fillers and
sentence-final particles removed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

from bot.knowledge.schema import KnowledgeBase, Language
from bot.matching.numbers import normalise_numbers

Script = Literal["simplified", "traditional"]

_SPACE_OR_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
# A space after or before a Chinese character; written starting with the space itself, so that the search
# skips to spaces (a pattern starting with a look-behind is tried at every position).
_SPACE_NEAR_CJK = re.compile(rf" (?:(?<=[{_CJK}] )|(?=[{_CJK}]))")


@cache
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    return _converter("t2s").convert(text)


def to_traditional(text: str) -> str:
    return _converter("s2t").convert(text)


def script_marks(text: str) -> tuple[int, int]:
    """(characters only traditional, characters only simplified): 那廊坊呢 has neither."""
    simp = to_simplified(text)
    trad = to_traditional(text)
    return (sum(a != b for a, b in zip(text, simp, strict=False)),
            sum(a != b for a, b in zip(text, trad, strict=False)))


def detect_script(text: str) -> Script:
    """Traditional when more characters change under t2s than under s2t."""
    trad_marks, simp_marks = script_marks(text)
    return "traditional" if trad_marks > simp_marks else "simplified"


def valid_text(text: str) -> str:
    """Replace lone surrogates, which Python strings allow but no encoder or library accepts."""
    return text.encode("utf-8", "replace").decode("utf-8")


def clean_characters(text: str, max_chars: int) -> str:
    """NFKC, lower case, and no control, format or unpaired surrogate characters."""
    text = unicodedata.normalize("NFKC", valid_text(text[:max_chars])).lower()
    if not text or max(text) <= "\uffff":  # one C-speed search of a character class: most texts have none
        return _spaced_bmp().sub(" ", text)
    return "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)


@cache
def _spaced_bmp() -> re.Pattern[str]:
    """Every character of the Basic Multilingual Plane whose category is C (control, format, surrogate,
    private use, unassigned) or Z (separators) but the space itself (which stays a space): `clean_characters`'s
    rule as one character class, in ranges. (A `str.translate` table looked up every character: slower.)"""
    ranges: list[str] = []
    start = None
    for c in range(0x10001):
        spaced = c < 0x10000 and c != 0x20 and unicodedata.category(chr(c))[0] in "CZ"
        if spaced and start is None:
            start = c
        elif not spaced and start is not None:
            ranges.append(f"\\U{start:08x}-\\U{c - 1:08x}")
            start = None
    return re.compile("[" + "".join(ranges) + "]")


def strip_punctuation(text: str) -> str:
    text = _SPACE_OR_PUNCT.sub(" ", text).strip()
    return _SPACE_NEAR_CJK.sub("", text)


@dataclass(frozen=True, slots=True)
class Normalised:
    raw: str
    text: str  # what is matched
    phrased: str  # synonyms applied, fillers and particles kept: for aspects and ellipsis
    script: Script
    truncated: bool
    script_evident: bool = True  # False when no character tells the scripts apart


class Normaliser:
    """Built once per knowledge base snapshot, from its synonyms and word lists."""

    def __init__(self, kb: KnowledgeBase, max_chars: int = 300):
        self.max_chars = max_chars
        self.language: Language = kb.language
        self._synonym_of: dict[str, str] = {}
        for group in kb.synonyms:
            canonical = self.basic(group[0])
            for word in group:
                self._synonym_of.setdefault(self.basic(word), canonical)
        self._synonyms = _alternation(self._synonym_of)
        self._fillers = _alternation({self.basic(f): "" for f in self.language.fillers})
        particles = "".join(re.escape(self.basic(p)) for p in self.language.particles if len(p) == 1)
        self._particles = re.compile(f"[{particles}]+$") if particles else None

    def basic(self, text: str) -> str:
        """Character-level normalisation shared by questions, synonyms and messages."""
        text = clean_characters(text, self.max_chars)
        text = to_simplified(text)
        text = normalise_numbers(text)
        return strip_punctuation(text)

    def apply_synonyms(self, text: str) -> str:
        if self._synonyms is None:
            return text
        return self._synonyms.sub(lambda m: self._synonym_of[m.group(0)], text)

    def strip_fillers(self, text: str) -> str:
        if self._fillers is not None:
            stripped = self._fillers.sub("", text)
            text = stripped if stripped else text
        if self._particles is not None:
            stripped = self._particles.sub("", text)
            text = stripped if stripped else text
        return text.strip()

    def __call__(self, message: str) -> Normalised:
        message = valid_text(message)
        truncated = len(message) > self.max_chars
        trad, simp = script_marks(message[: self.max_chars])
        script: Script = "traditional" if trad > simp else "simplified"
        phrased = self.apply_synonyms(self.basic(message))
        return Normalised(message, self.strip_fillers(phrased), phrased, script, truncated, bool(trad or simp))

    def question(self, text: str) -> str:
        """Normalise a knowledge base question exactly as a message is normalised (`self(text).text`),
        without telling its script: that costs two OpenCC conversions, a third of building an index."""
        return self.strip_fillers(self.apply_synonyms(self.basic(valid_text(text))))


def _alternation(mapping: dict[str, str]) -> re.Pattern[str] | None:
    words = sorted((w for w in mapping if w), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words))) if words else None
