"""Pinyin written one character per syllable: what the scope checker searches for a name's sound.

`tokens.pinyin` writes a text as space-separated syllables (潞城 → "lu cheng"), one per character that is
not a space (a character without a reading stands for itself). Held for every text of a topic, that is
five or six bytes per Chinese character, and searched as `" lu cheng "` in the lot. Here each distinct
syllable is one private-use character instead: the same search (a name's syllables, in order, within
one text) on a string as long as the text itself, made by `str.translate`, not by joining strings.

A text's syllables are separated from the next text's by the code of "|", as the spelled-out form
separated them by " | ": a name is found within one text, never across two.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.matching.tokens import char_pinyin, pinyin

_BMP_PRIVATE = (0xE000, 0xF8FF)
_PLANE_PRIVATE = (0xF0000, 0x10FFFD)  # planes 15 and 16 (a few unassigned code points between are fine)
SEPARATOR = "|"


def _code(n: int) -> str:
    first = _BMP_PRIVATE[1] - _BMP_PRIVATE[0] + 1
    if n < first:
        return chr(_BMP_PRIVATE[0] + n)
    if _PLANE_PRIVATE[0] + n - first > _PLANE_PRIVATE[1]:
        raise ValueError("too many distinct syllables")
    return chr(_PLANE_PRIVATE[0] + n - first)


class Sounds:
    """The syllable table of one snapshot. `encode` adds syllables (while building); `of` only reads, so
    answering threads may share it."""

    def __init__(self, syllables: Iterable[str] = ()):
        self.syllables: list[str] = []
        self._codes: dict[str, str] = {}
        self._table: dict[int, str | None] = {}  # character → its syllable's code (None: a space, dropped)
        self._seen: set[str] = set()
        for s in syllables:
            self._add(s)
        self.separator = self._add(SEPARATOR)

    def _add(self, syllable: str) -> str:
        code = self._codes.get(syllable)
        if code is None:
            code = self._codes[syllable] = _code(len(self.syllables))
            self.syllables.append(syllable)
        return code

    def encode(self, text: str) -> str:
        """`pinyin(text)`, a character per syllable. An empty pinyin is one empty syllable, as `" "` around
        an empty string was."""
        table = self._table
        if not self._seen.issuperset(text):  # the set of a text's characters made only when one is new
            new = set(text).difference(self._seen)
            for c in new:
                table[ord(c)] = None if c.isspace() else self._add(char_pinyin(c))
            self._seen |= new
        return text.translate(table) or self._add("")

    def join(self, texts: Iterable[str]) -> str:
        """Several texts' sounds, each searched on its own (see `of`)."""
        return self.separator.join(map(self.encode, texts))

    def of(self, text: str) -> str | None:
        """`text`'s syllables to search for in what `join` made, or None when one of them is in no text
        (then none holds it)."""
        codes = [self._codes.get(s) for s in pinyin(text).split(" ")]
        return None if any(c is None for c in codes) else "".join(codes)  # type: ignore[arg-type]
