"""Tokens for recall and features: character bigrams, jieba words, and the pinyin of both.

Pinyin tokens are what make input-method typos match: 公组房 and 公租房 share `gong zu`.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9.+]+")
_IS_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def is_cjk(text: str) -> bool:
    """Whether `text` starts with a Chinese character."""
    return bool(_IS_CJK.match(text))

# A one-character word (费, 桥, 招) says something, but less than a longer word, and many are
# grammatical (能, 有, 是), which their low rarity in the knowledge base takes care of. These tokens
# serve coverage (`rank.coverage`) and count this much towards a document's length; recall skips them.
UNIGRAM_WEIGHT = 0.3

_lock = threading.Lock()
_tokenizer = None
_user_words: set[str] = set()


def _jieba():
    """One jieba tokenizer per process; its dictionary load is the slowest part of start-up."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            _tokenizer = jieba.Tokenizer()
            _tokenizer.initialize()
        return _tokenizer


def add_user_words(words: Iterable[str]) -> None:
    """Teach jieba the knowledge base's names (潞河中学附属学校, 沙古堆村...) so it keeps them whole."""
    tok = _jieba()
    with _lock:
        for w in words:
            if len(w) >= 2 and w not in _user_words:
                tok.add_word(w, freq=200_000)
                _user_words.add(w)
        _cached_words.cache_clear()
        index_tokens.cache_clear()  # its words depend on the user dictionary too


@lru_cache(maxsize=50_000)
def _cached_words(text: str) -> tuple[str, ...]:
    return tuple(w for w in _jieba().lcut(text, HMM=False) if w.strip())


def words(text: str) -> tuple[str, ...]:
    return _cached_words(text) if text else ()


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


@lru_cache(maxsize=4096)
def index_tokens(text: str) -> tuple[tuple[str, float], ...]:
    """Weighted tokens of a normalised text: exact bigrams and words count fully, pinyin forms less.
    Cached: one message is looked up several times (small talk, the question, a follow-up reading)."""
    out: list[tuple[str, float]] = []
    for b in bigrams(text):
        out.append(("b:" + b, 1.0))
        if _IS_CJK.match(b):
            out.append(("p:" + pinyin(b), 0.5))
    for w in words(text):
        if len(w) >= 2 and _IS_CJK.match(w):
            out.append(("w:" + w, 1.0))
            out.append(("q:" + pinyin(w), 0.5))
        elif _IS_CJK.match(w):
            out.append(("u:" + w, UNIGRAM_WEIGHT))
    return tuple(out)
