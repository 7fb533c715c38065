"""jieba's main dictionary (word → frequency, every word's prefixes at 0), turned into dicts one first
character at a time.

jieba itself reads its dictionary from a marshal file in the machine's temp directory: about a second of
every start (500,000 keys made into one dict), from a file any local user could have put there. Here it
is parsed from jieba's own `dict.txt` once and kept in CACHE_DIR (`keep_in`) as an `.npz` of UTF-8 text
and numbers, grouped by first character and read with `allow_pickle=False` (loading runs no code
whatever its bytes): a start reads the arrays (a few hundredths of a second), and the tokenizer asks for
the groups of the characters its texts hold (jieba's cut looks up only fragments starting at a
character of the text being cut). The file is named by the hash of `dict.txt` and this format; one that
is damaged (zip checksums) or inconsistent (every count and offset is checked, each group's keys when it
is first used) is ignored and made again, never trusted. Without a directory the dictionary is parsed in
memory (about 0.8 s), still never from jieba's temp file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 2  # 2: with each word's log frequency
_PREFIX = "jieba-dict-"
_ASCII_SPACE = " \t\n\r\x0b\x0c"
_ARRAYS = ("meta", "chars", "keys", "freqs", "logs", "key_starts", "byte_starts")

_lock = threading.Lock()
_directory: Path | None = None
_loaded: MainDictionary | None = None


class BadDictionary(Exception):
    """The stored dictionary is not usable: why, for the log."""


def keep_in(directory: Path | None) -> None:
    """Where the parsed dictionary is kept between starts (CACHE_DIR); set before the first tokenizer."""
    global _directory
    with _lock:
        _directory = directory


def kept_in() -> Path | None:
    """The directory `keep_in` set (None: nothing is kept); tables derived from the dictionary go there too."""
    with _lock:
        return _directory


def main_dictionary() -> MainDictionary:
    """The dictionary, read once per process."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = load(_directory)
        return _loaded


def source_path() -> Path:
    import jieba  # only to find its files: importing it reads no dictionary

    return Path(jieba.__file__).with_name("dict.txt")


def common_words(count: int, tags: tuple[str, ...], lengths: range) -> tuple[str, ...]:
    """jieba's `count` most frequent words of these parts of speech and lengths, most frequent first (ties in
    the dictionary's order): a general vocabulary, not the knowledge base's, against which a sentence model's
    "these two words are the same thing" is weighed (mentions.py `similarity`). Read from `dict.txt`
    (word, frequency, tag per line) in about 0.2 s, only when a sentence model is used."""
    found: list[tuple[int, int, str]] = []
    with source_path().open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.split()
            if len(parts) == 3 and len(parts[0]) in lengths and parts[2] in tags:
                found.append((-int(parts[1]), i, parts[0]))
    found.sort()
    return tuple(w for _f, _i, w in found[:count])


class MainDictionary:
    """`group(c)`: the keys starting with character `c` and their frequencies (shared: never mutate)."""

    def __init__(
        self,
        total: int,
        chars: str,
        keys: np.ndarray,
        freqs: np.ndarray,
        logs: np.ndarray,
        key_starts: np.ndarray,
        byte_starts: np.ndarray,
        source: bytes | None = None,
    ):
        self.total = total
        self._where = {c: g for g, c in enumerate(chars)}
        self._keys, self._freqs, self._logs = keys, freqs, logs  # logs: math.log of each frequency, 0 for 0
        self._key_starts, self._byte_starts = key_starts.tolist(), byte_starts.tolist()
        self._groups: dict[str, dict[str, int]] = {}
        self._log_groups: dict[tuple[str, float], dict[str, float]] = {}
        self._source = source  # dict.txt's bytes, kept only when read from a stored file (see `group`)
        self._fix_lock = threading.Lock()

    def group(self, char: str) -> dict[str, int]:
        return self._made(self._groups, char, char, self._decode)

    def log_group(self, char: str, logtotal: float) -> dict[str, float]:
        """`group(char)` as the cut reads it: `math.log(freq) - logtotal` per word (the same floating-point
        value: one IEEE subtraction of the stored `math.log`), 0.0 for a prefix only (a word's is never 0:
        no word has the whole total). Made once per character and total (every snapshot's tokenizer has the
        same), with array operations: a first question meets many characters not made yet."""
        def make(c: str, g: int) -> dict[str, float]:
            i, j = self._key_starts[g], self._key_starts[g + 1]
            values = np.where(self._freqs[i:j] > 0, self._logs[i:j] - logtotal, 0.0).tolist()
            return dict(zip(self._keys_of(c, g), values, strict=True))

        return self._made(self._log_groups, (char, logtotal), char, make)

    def _made(self, cache: dict, key: object, char: str, make: Callable[[str, int], dict]) -> dict:
        """`cache[key]`, made by `make(char, group)` on first need ({} for a character no word begins with); a
        group that does not decode replaces the stored file (`_replace`) and is made again from dict.txt."""
        found = cache.get(key)
        if found is None:
            g = self._where.get(char)
            if g is None:
                found = {}
            else:
                try:
                    found = make(char, g)
                except BadDictionary as exc:
                    self._replace(str(exc))
                    return self._made(cache, key, char, make)
            cache[key] = found  # the same dict whichever thread makes it first
        return found

    def _decode(self, char: str, g: int) -> dict[str, int]:
        i, j = self._key_starts[g], self._key_starts[g + 1]
        return dict(zip(self._keys_of(char, g), self._freqs[i:j].tolist(), strict=True))

    def _keys_of(self, char: str, g: int) -> list[str]:
        a, b = self._byte_starts[g], self._byte_starts[g + 1]
        try:
            text = self._keys[a:b].tobytes().decode("utf-8")
        except UnicodeDecodeError:
            raise BadDictionary("keys are not UTF-8") from None
        keys = text.split("\n")
        i, j = self._key_starts[g], self._key_starts[g + 1]
        # Every key starts with `char`: counted in C (a key starts the text or follows a newline; one
        # character that is not a newline cannot overlap itself) rather than tested key by key in Python,
        # two thirds of making a group that a first question needs.
        if (keys.pop() != "" or len(keys) != j - i
                or text.startswith(char) + text.count("\n" + char) != len(keys)):
            raise BadDictionary(f"group {char!r} does not match its counts")
        return keys

    def _replace(self, why: str) -> None:
        """A group that did not check: every group from dict.txt itself, and the file made again."""
        with self._fix_lock:
            if self._source is None:  # already replaced by another thread
                return
            log.warning("ignoring the stored jieba dictionary (%s); parsing jieba's own", why)
            fresh = _parse(self._source)
            self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "_fix_lock"})
            self._source = None
            with _lock:
                directory = _directory
            if directory is not None:
                _save(directory, fresh, hashlib.sha256(source_path().read_bytes()).hexdigest())


def load(directory: Path | None) -> MainDictionary:
    """Read from `directory` (made and kept there when absent or unusable), or parsed when None."""
    source = source_path().read_bytes()
    digest = hashlib.sha256(source).hexdigest()
    if directory is None:
        return _parse(source)
    path = directory / f"{_PREFIX}v{FORMAT}-{digest[:16]}.npz"
    try:
        return _read(path, digest, source)
    except FileNotFoundError:
        pass
    except BadDictionary as exc:
        log.warning("ignoring stored jieba dictionary %s (%s); parsing jieba's own", path.name, exc)
    made = _parse(source)
    _save(directory, made, digest)
    return made


def _parse(source: bytes) -> MainDictionary:
    """What jieba's `gen_pfdict` makes of dict.txt (the same keys, frequencies and total), grouped. Part of
    every cold start (an empty CACHE_DIR): the text is decoded once, not line by line, and the keys are
    grouped by first character in one pass rather than sorted."""
    freq: dict[str, int] = {}
    total = 0
    for line in source.decode("utf-8").split("\n"):
        line = line.strip(_ASCII_SPACE)  # what bytes.strip() strips: no Unicode spaces
        if not line:
            continue
        word, count = line.split(" ")[:2]
        n = freq[word] = int(count)
        total += n
    for word in list(freq):
        for end in range(1, len(word)):
            freq.setdefault(word[:end], 0)
    # Grouped by first character, in code point order; within a group, in the order of `freq`.
    grouped: dict[str, list[str]] = {}
    for k in freq:
        group = grouped.get(k[0])
        if group is None:
            grouped[k[0]] = group = []
        group.append(k)
    chars = "".join(sorted(grouped))
    key_starts, byte_starts, blobs, counts = [0], [0], [], []
    for c in chars:
        group = grouped[c]
        blob = ("\n".join(group) + "\n").encode("utf-8")
        blobs.append(blob)
        counts.extend(map(freq.__getitem__, group))
        key_starts.append(key_starts[-1] + len(group))
        byte_starts.append(byte_starts[-1] + len(blob))
    keys = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    freqs = np.array(counts, dtype=np.int64)
    logs = np.array([math.log(f) if f else 0.0 for f in counts], dtype=np.float64)  # math's, not numpy's
    return MainDictionary(
        total, chars, keys, freqs, logs, np.array(key_starts, dtype=np.int64), np.array(byte_starts, dtype=np.int64)
    )


def _save(directory: Path, d: MainDictionary, digest: str) -> None:
    """Atomically (a private temporary file renamed into place); a failure costs only a parse later."""
    path = directory / f"{_PREFIX}v{FORMAT}-{digest[:16]}.npz"
    chars = "".join(sorted(d._where, key=d._where.__getitem__))
    meta = {"format": FORMAT, "source": digest, "total": d.total, "groups": len(chars), "keys": len(d._freqs)}
    arrays = {
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        "chars": np.frombuffer(chars.encode("utf-8"), dtype=np.uint8),
        "keys": d._keys,
        "freqs": d._freqs,
        "logs": d._logs,
        "key_starts": np.array(d._key_starts, dtype=np.int64),
        "byte_starts": np.array(d._byte_starts, dtype=np.int64),
    }
    tmp: str | None = None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".jieba-dict-", suffix=".npz")  # mode 0600
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
        tmp = None
        for old in directory.glob(f"{_PREFIX}*.npz"):  # another format's or another jieba's: not read again
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot keep jieba's dictionary in %s (%s)", directory, exc)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _read(path: Path, digest: str, source: bytes) -> MainDictionary:
    try:
        with np.load(path, allow_pickle=False) as data:
            if set(_ARRAYS) - set(data.files):
                raise BadDictionary("arrays missing")
            a = {name: data[name] for name in _ARRAYS}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise BadDictionary(f"unreadable: {exc}") from None
    try:
        meta = json.loads(_bytes(a["meta"]).decode("utf-8"))
        chars = _bytes(a["chars"]).decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        raise BadDictionary("bad meta or characters") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("source") != digest:
        raise BadDictionary("another format or dictionary")
    total, groups, count = meta.get("total"), meta.get("groups"), meta.get("keys")
    if not all(isinstance(x, int) and x > 0 for x in (total, groups, count)):
        raise BadDictionary("bad counts")
    assert isinstance(total, int) and isinstance(count, int)
    keys, freqs, logs = a["keys"], a["freqs"], a["logs"]
    key_starts, byte_starts = a["key_starts"], a["byte_starts"]
    if len(chars) != groups or len(set(chars)) != groups:
        raise BadDictionary("bad characters")
    for arr, dtype, size in (
        (keys, np.uint8, len(keys)),
        (freqs, np.int64, count),
        (logs, np.float64, count),
        (key_starts, np.int64, groups + 1),
        (byte_starts, np.int64, groups + 1),
    ):
        if arr.dtype != dtype or arr.shape != (size,):
            raise BadDictionary("bad array")
    for starts, end in ((key_starts, count), (byte_starts, len(keys))):
        if starts[0] != 0 or starts[-1] != end or (np.diff(starts) <= 0).any():
            raise BadDictionary("bad offsets")
    if (freqs < 0).any() or int(freqs.sum()) > total:
        raise BadDictionary("bad frequencies")
    words = freqs > 0
    if (logs[~words] != 0).any() or not np.allclose(logs[words], np.log(freqs[words]), rtol=1e-12, atol=0):
        raise BadDictionary("log frequencies do not match")
    return MainDictionary(total, chars, keys, freqs, logs, key_starts, byte_starts, source)


def _bytes(a: np.ndarray) -> bytes:
    if a.dtype != np.uint8 or a.ndim != 1:
        raise BadDictionary("not bytes")
    return a.tobytes()
