"""Tokens for recall and features: character bigrams, jieba words, and the pinyin of both.

Pinyin tokens are what make input-method typos match: 公组房 and 公租房 share `gong zu`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from math import log

from bot.matching.dictionary import main_dictionary

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9.+]+")
_IS_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def is_cjk(text: str) -> bool:
    """Whether `text` starts with a Chinese character."""
    return bool(_IS_CJK.match(text))

# A one-character word (费, 桥, 招) says something, but less than a longer word, and many are
# grammatical (能, 有, 是), which their low rarity in the knowledge base takes care of. These tokens
# serve coverage (`rank.coverage`) and count this much towards a document's length; recall skips them.
UNIGRAM_WEIGHT = 0.3

# A knowledge base's names (潞河中学附属学校, 沙古堆村) are added to jieba's dictionary with this frequency,
# about that of a common word, so that jieba keeps them whole.
NAME_FREQ = 200_000
WORD_CACHE = 50_000  # texts whose words each tokenizer remembers (a knowledge base's questions, messages)
TOKEN_CACHE = 4096  # texts whose index tokens it remembers: one message is looked up several times

_lock = threading.Lock()
_shared: weakref.WeakValueDictionary[tuple[frozenset[str], bool], Tokenizer] = weakref.WeakValueDictionary()


class Tokenizer:
    """jieba with one knowledge base snapshot's names, and the tokens built on its words.

    jieba's own `add_word` changes a process-global dictionary that only grows: the names of an old
    snapshot would stay words in the next one, and `kb impact`'s new matcher would cut text as the old
    one does. Here each snapshot has its own dictionary: the main one (shared, read-only) plus its names.
    The dictionary's total is the main dictionary's, whatever the names: a text's words then depend only
    on the names it contains, so a reload re-cuts only the texts that contain a name added or removed.
    `jieba_total`: grow the total with every name as jieba's `add_word` does (the baselines: what a plain
    user of jieba gets; a text's words then depend on how many names there are)."""

    def __init__(self, names: Iterable[str] = (), jieba_total: bool = False):
        self.names = frozenset(w for w in names if len(w) >= 2)
        self._main = main_dictionary()
        total = self._main.total
        if jieba_total:
            total += NAME_FREQ * len(self.names)
        # jieba's dictionary as the cut uses it: each word's log probability (`log(freq) - log(total)`), 0.0
        # for a prefix of longer words only (no word's is 0: none has the whole total). The main dictionary's
        # keys join it a first character at a time (`_learn`), as the texts cut need them; the names are here
        # from the start, and stay names.
        self._logtotal = log(total)
        name_logp = log(NAME_FREQ) - self._logtotal
        logp: dict[str, float] = {}
        self._names_by_char: dict[str, dict[str, float]] = {}
        for name in self.names:
            logp[name] = name_logp
            self._names_by_char.setdefault(name[0], {})[name] = name_logp
            for end in range(1, len(name)):
                logp.setdefault(name[:end], 0.0)  # jieba looks up prefixes on its way to a longer word
        self._chars: set[str] = set()  # first characters whose main keys `logp` holds
        self._jieba = _fast_jieba()()
        self._jieba.LOGP, self._jieba.logtotal, self._jieba.total = logp, self._logtotal, total
        self._jieba.initialized = True  # jieba's own FREQ stays empty: only the cut below reads a dictionary
        # Per instance, so that a reload's new names never meet an old snapshot's cached cuts.
        self.words_of = lru_cache(maxsize=WORD_CACHE)(self._words)
        self.index_tokens = lru_cache(maxsize=TOKEN_CACHE)(self._index_tokens)

    @classmethod
    def for_names(cls, names: Iterable[str], jieba_total: bool = False) -> Tokenizer:
        """The tokenizer for these names, shared by live snapshots with the same names (a reload that
        changed no name, `kb impact` comparing answers): it is immutable, so sharing changes nothing."""
        key = (frozenset(w for w in names if len(w) >= 2), jieba_total)
        with _lock:
            found = _shared.get(key)
        if found is not None:
            return found
        made = cls(*key)
        with _lock:
            return _shared.setdefault(key, made)

    def words(self, text: str) -> tuple[str, ...]:
        return self.words_of(text) if text else ()

    def _words(self, text: str) -> tuple[str, ...]:
        new = set(text).difference(self._chars)
        if new:
            self._learn(new)
        return tuple(w for w in self._jieba.lcut(text, HMM=False) if w.strip())

    def _learn(self, chars: set[str]) -> None:
        """Add the main dictionary's keys starting with `chars` (jieba's cut of a text looks up only
        fragments starting at one of its characters). One `update` per character, names overriding: a
        thread cutting meanwhile sees a character's keys all or none, and a name never at the main
        dictionary's frequency. Marked learnt only once added."""
        logp = self._jieba.LOGP
        for c in chars:
            group = self._main.log_group(c, self._logtotal)
            names = self._names_by_char.get(c)
            if names:
                group = {**group, **names}
            logp.update(group)
            self._chars.add(c)

    def _index_tokens(self, text: str) -> tuple[tuple[str, float], ...]:
        """Weighted tokens of a normalised text: exact bigrams and words count fully, pinyin forms less.
        Cached: one message is looked up several times (small talk, the question, a follow-up reading)."""
        out: list[tuple[str, float]] = []
        for b in bigrams(text):
            out.append(("b:" + b, 1.0))
            if _IS_CJK.match(b):
                out.append(("p:" + pinyin(b), 0.5))
        for w in self.words(text):
            if len(w) >= 2 and _IS_CJK.match(w):
                out.append(("w:" + w, 1.0))
                out.append(("q:" + pinyin(w), 0.5))
            elif _IS_CJK.match(w):
                out.append(("u:" + w, UNIGRAM_WEIGHT))
        return tuple(out)


@cache
def _fast_jieba() -> type:
    """jieba's tokenizer with its dictionary-only cut (HMM off, what `Tokenizer.words` uses) in one pass.

    jieba builds a dict of every position's word ends, then picks the best route with `max` over a
    generator of tuples: most of a cold build's time (every question, answer and entry text is cut).
    Here the same route is found walking back once: the same words (`log(freq) - log(total)` summed the
    same way, a tie going to the longer word as `max` of (score, end) pairs did), about twice as fast;
    and each word's `log(freq) - log(total)` is looked up ready (`LOGP`, one lookup per fragment, the same
    floating-point value), a quarter faster again."""
    import jieba
    from jieba import re_eng

    missing = object()

    class FastJieba(jieba.Tokenizer):  # type: ignore[misc]
        LOGP: dict[str, float]
        logtotal: float

        def _Tokenizer__cut_DAG_NO_HMM(self, sentence: str) -> Iterator[str]:
            get = self.LOGP.get
            alone = -self.logtotal  # a character no word starts with: log(1) - log(total), as jieba has it
            n = len(sentence)
            score = [0.0] * (n + 1)
            end = list(range(n + 1))
            for k in range(n - 1, -1, -1):
                best = None
                i = k
                lp = get(sentence[k], missing)
                while lp is not missing:
                    if lp:  # a word, not only a prefix
                        s = lp + score[i + 1]
                        if best is None or s >= best:
                            best, end[k] = s, i
                    i += 1
                    if i >= n:
                        break
                    lp = get(sentence[k : i + 1], missing)
                score[k] = best if best is not None else alone + score[k + 1]
            x = 0
            buf = ""
            while x < n:
                y = end[x] + 1
                word = sentence[x:y]
                if y - x == 1 and re_eng.match(word):
                    buf += word
                else:
                    if buf:
                        yield buf
                        buf = ""
                    yield word
                x = y
            if buf:
                yield buf

    return FastJieba


def plain_tokenizer() -> Tokenizer:
    """jieba's main dictionary without any knowledge base's names (the baselines' words)."""
    return Tokenizer.for_names(())


@lru_cache(maxsize=1)
def _pinyin_table() -> dict[int, str]:
    """pypinyin's character table, loaded on its own: importing the `pypinyin` package also loads its
    phrase dictionary (a fifth of a second at start-up) that per-character pinyin does not need."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("pypinyin")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).with_name("pinyin_dict.py")
    module_spec = importlib.util.spec_from_file_location("_resident_bot_pinyin_dict", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.pinyin_dict


@lru_cache(maxsize=20_000)
def char_pinyin(char: str) -> str:
    """Toneless pinyin of one character (its most common reading); the character itself if it has none."""
    readings = _pinyin_table().get(ord(char)) if _IS_CJK.match(char) else None
    if not readings:
        return char
    decomposed = unicodedata.normalize("NFKD", readings.split(",")[0]).replace("u\u0308", "v")  # ü → v
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=65_536)  # bigrams and words repeat across a knowledge base's texts
def pinyin(text: str) -> str:
    """Toneless pinyin, one syllable per character, space separated."""
    return " ".join(char_pinyin(c) for c in text if not c.isspace())


def bigrams(text: str) -> list[str]:
    """Overlapping character bigrams inside CJK runs, unigrams for one-character runs, ASCII words whole."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        if not _IS_CJK.match(run) or len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def longest_first(word: str) -> tuple[int, str]:
    """A sort key: longer words first (号线 before 号), then in a fixed order. Sorting a set by length alone
    leaves words of one length in the set's order, which changes with Python's hash seed from process to
    process, and with it which cue a message is read by."""
    return -len(word), word
