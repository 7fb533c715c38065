"""Tokens for recall and features: character bigrams, jieba words, and the pinyin of both.

Pinyin tokens are what make input-method typos match: 公组房 and 公租房 share `gong zu`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterable
from functools import lru_cache
from math import log
from operator import concat

from bot.matching.dictionary import main_dictionary

# jieba's own patterns (jieba/__init__.py): blocks its cut reads, blanks between them, single letters and digits.
_RE_HAN = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
_RE_SKIP = re.compile("(\r\n|\\s)", re.U)
_ENGLISH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NO_WORD = float("-inf")  # below any route's score (every word's log probability is finite)
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
# Each kind of index token's weight: bigrams (b) and words (w) fully, their pinyin (p, q) half, one-character
# words (u) UNIGRAM_WEIGHT.
_TOKEN_WEIGHT = {"b": 1.0, "p": 0.5, "w": 1.0, "q": 0.5, "u": UNIGRAM_WEIGHT}

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
        self._logp = logp
        # Per instance, so that a reload's new names never meet an old snapshot's cached cuts.
        self.words_of = lru_cache(maxsize=WORD_CACHE)(self._words)
        self.index_tokens = lru_cache(maxsize=TOKEN_CACHE)(self._index_tokens)
        # Tags and answers repeat across a knowledge base's entries: each one's tokens made once.
        self.token_names = lru_cache(maxsize=TOKEN_CACHE)(self._token_names)

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
        if not self._chars.issuperset(text):  # the set of a text's characters made only when one is new
            self._learn(set(text).difference(self._chars))
        return _cut(text, self._logp.get, -self._logtotal)

    def _learn(self, chars: set[str]) -> None:
        """Add the main dictionary's keys starting with `chars` (jieba's cut of a text looks up only
        fragments starting at one of its characters). One `update` per character, names overriding: a
        thread cutting meanwhile sees a character's keys all or none, and a name never at the main
        dictionary's frequency. Marked learnt only once added."""
        logp = self._logp
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
        return tuple((t, _TOKEN_WEIGHT[t[0]]) for t in self.token_names(text))

    def _token_names(self, text: str) -> tuple[str, ...]:
        """`index_tokens` without their weights (each kind's weight is fixed: `_TOKEN_WEIGHT`), in the same
        order: what an index row counts, for every text of a cold build. A Chinese run's syllables are looked
        up once each, its bigrams' pinyin joined from them (`pinyin` of a bigram is its two syllables)."""
        out: list[str] = []
        add, extend = out.append, out.extend
        for run in _CJK_RUN.findall(text):
            if not _IS_CJK.match(run):  # letters and digits: the run whole, no pinyin
                add("b:" + run)
            elif len(run) == 1:
                add("b:" + run)
                add("p:" + char_pinyin(run))
            else:  # each bigram ("b:" + run[i:i + 2]), then its pinyin ("p:" + one syllable + " " + the next)
                n = len(run) - 1
                sounds = list(map(char_pinyin, run))
                pairs: list[str] = [""] * (2 * n)
                pairs[0::2] = ["b:" + run[i : i + 2] for i in range(n)]
                pairs[1::2] = map(concat, map("p:".__add__, sounds), map(" ".__add__, sounds[1:]))
                extend(pairs)
        for w in self.words(text):
            if _IS_CJK.match(w):
                if len(w) >= 2:
                    add("w:" + w)
                    add("q:" + pinyin(w))
                else:
                    add("u:" + w)
        return tuple(out)


def _cut(text: str, get: Callable[[str], float | None], alone: float) -> tuple[str, ...]:
    """jieba's `lcut(text, HMM=False)` without its blank pieces, on the dictionary `get` reads (each key's
    `log(freq) - log(total)`, 0.0 for a prefix of longer words only; `alone`: a character no word starts
    with, `log(1) - log(total)`). jieba's own steps, in one function: the text split into blocks of Chinese,
    letters and digits (its `re_han_default`), each cut by `_route`; between blocks each blank run whole
    (dropped, as blank) and every other character alone."""
    out: list[str] = []
    add, extend = out.append, out.extend
    for block in _RE_HAN.split(text):
        if not block:
            continue
        if _RE_HAN.match(block):
            extend(_route(block, get, alone))
        else:
            for x in _RE_SKIP.split(block):
                if _RE_SKIP.match(x):
                    if x.strip():
                        add(x)
                else:
                    extend(c for c in x if c.strip())
    return tuple(out)


def _route(sentence: str, get: Callable[[str], float | None], alone: float) -> list[str]:
    """jieba's dictionary-only cut of one block (`__cut_DAG_NO_HMM`): the route of the highest summed log
    probability, found walking back once instead of building every position's word ends and taking `max`
    over tuples (most of a cold build's time: every question, answer and entry text is cut). The same words:
    `log(freq) - log(total)` looked up ready and summed in the same order, a tie going to the longer word as
    `max` of (score, end) pairs did; single letters and digits glued together as jieba does."""
    n = len(sentence)
    score = [0.0] * (n + 1)
    end = list(range(n + 1))  # a position no word starts at is a word of one character
    after = 0.0  # score[k + 1]
    for k in range(n - 1, -1, -1):
        lp = get(sentence[k])
        if lp is None:  # no word starts with this character
            after = score[k] = alone + after
            continue
        best = lp + after if lp else _NO_WORD  # 0.0: only a prefix of longer words
        at = k
        i = k + 1
        while i < n:
            lp = get(sentence[k : i + 1])
            if lp is None:
                break
            if lp:
                s = lp + score[i + 1]
                if s >= best:
                    best = s
                    at = i
            i += 1
        if best == _NO_WORD:
            after = score[k] = alone + after
        else:
            after = score[k] = best
            end[k] = at
    out: list[str] = []
    add = out.append
    x = 0
    buf = ""
    while x < n:
        y = end[x] + 1
        word = sentence[x:y]
        if y - x == 1 and word in _ENGLISH:
            buf += word
        else:
            if buf:
                add(buf)
                buf = ""
            add(word)
        x = y
    if buf:
        add(buf)
    return out


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
    if " " not in text and text.isprintable():  # so no blank character (each is a space or unprintable)
        return " ".join(map(char_pinyin, text))
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
