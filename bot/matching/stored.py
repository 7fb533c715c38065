"""The built index on disk, beside the sentence vectors: a restart with an unchanged knowledge base
loads it instead of building (seconds instead of tens of seconds at 10,000 entries).

One `.npz` file per knowledge base version, holding only numbers and UTF-8 text: it is read with
`allow_pickle=False`, so loading it runs no code whatever its bytes. It is named and labelled with the
knowledge base's content hash and the build's fingerprint (the normalisation settings, the building
code and its libraries, `build.fingerprint`); a file for another version, from other code, truncated,
damaged (zip checksums) or inconsistent (every length, offset and id is checked before use) is ignored
and rebuilt, never trusted. Written to a private temporary file (0600) and renamed into place: readers,
other replicas included, see the old file or the new, never half of one. Only administrators' texts
are in it, never residents' messages. Safe to delete.

Layout: `meta` (UTF-8 JSON: format, versions, counts; extensible: a reader ignores keys it does not
know, and a new kind of derived data gets its own arrays and a raised `INDEX_FORMAT`), `text` (UTF-8,
every string NUL-separated: vocabulary, lexicon, then per document its questions, words, pinyin, terms
and heads), `counts` (per document how many of each), the token rows `ptr`, `tok`, `tf`, `own`, and
`order`, the postings' order (index.py: checked in a few passes rather than sorted again).
The entries' facts (facts.py, labelled with their own fingerprint): `facts_text` (UTF-8, NUL-separated:
the keywords, provinces, places and syllables, then per entry its part of its topic's text and sound)
and three sets of rows, `keywords_ptr`/`keywords_ids`, `provinces_…`, `places_…`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from bot.knowledge.schema import KnowledgeBase
from bot.matching.build import INDEX_FORMAT, BuiltIndex, DocText
from bot.matching.facts import EntryFacts, Rows, from_chunks
from bot.matching.index import DocTokens, RecallIndex
from bot.matching.sounds import SEPARATOR
from bot.matching.tokens import Tokenizer

log = logging.getLogger(__name__)

KEEP = 4  # index files kept in the directory (other replicas may serve other versions meanwhile)
_SEP = "\x00"  # never in a normalised text: control characters become spaces
_FIELDS = 5  # questions, words, pinyin, terms, heads
_PREFIX = "index-"
_ROWS = ("keywords", "provinces", "places")  # the facts' sets of rows, in this order in `facts_text`
_ARRAYS = ("meta", "text", "counts", "ptr", "tok", "tf", "own", "order", "facts_text",
           *(f"{r}_{a}" for r in _ROWS for a in ("ptr", "ids")))


class StaleIndex(Exception):
    """The file is not a usable index for this knowledge base: why, for the log."""


class IndexStore:
    def __init__(self, directory: Path):
        self.directory = directory

    def path(self, kb: KnowledgeBase, fingerprint: str, facts_fingerprint: str) -> Path:
        both = hashlib.sha256(f"{fingerprint} {facts_fingerprint}".encode()).hexdigest()
        return self.directory / f"{_PREFIX}v{INDEX_FORMAT}-{kb.version}-{both[:12]}.npz"

    # -- load -----------------------------------------------------------------------------------

    def load(self, kb: KnowledgeBase, fingerprint: str, facts_fingerprint: str) -> BuiltIndex | None:
        """The stored index of `kb` built with `fingerprint`, its facts with `facts_fingerprint`, or None
        (absent, stale or damaged)."""
        path = self.path(kb, fingerprint, facts_fingerprint)
        started = time.perf_counter()
        try:
            built = read_index(path, kb, fingerprint, facts_fingerprint)
        except FileNotFoundError:
            return None
        except StaleIndex as exc:
            log.warning("ignoring stored index %s (%s); rebuilding it", path.name, exc)
            return None
        log.info("loaded the stored index of %d documents in %.2f s", len(built.texts), time.perf_counter() - started)
        return built

    # -- save -----------------------------------------------------------------------------------

    def save(self, kb: KnowledgeBase, built: BuiltIndex) -> Path | None:
        """Write atomically; a failure (disk full, read-only) is logged and costs only a rebuild later."""
        if built.facts is None:
            raise ValueError("an index is stored with its facts")
        path = self.path(kb, built.fingerprint, built.facts.fingerprint)
        tmp: str | None = None
        try:
            arrays = to_arrays(kb, built)
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".index-", suffix=".npz")  # mode 0600
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            tmp = None
        except (OSError, ValueError) as exc:
            log.warning("cannot store the index in %s (%s); it will be rebuilt at the next start", self.directory, exc)
            return None
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
        self._prune(path)
        return path

    def _prune(self, keep: Path) -> None:
        try:
            files = sorted(self.directory.glob(f"{_PREFIX}*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in [p for p in files if p != keep][KEEP - 1:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass


def to_arrays(kb: KnowledgeBase, built: BuiltIndex) -> dict[str, np.ndarray]:
    docs = built.index.docs
    lexicon = sorted(built.lexicon)
    strings: list[str] = [*docs.vocabulary, *lexicon]
    counts = np.zeros((len(built.texts), _FIELDS), dtype=np.int32)
    for i, t in enumerate(built.texts):
        fields = (t.questions, t.words, t.pinyin, t.terms, t.heads)
        for f, values in enumerate(fields):
            counts[i, f] = len(values)
            strings.extend(values)
    facts = built.facts
    assert facts is not None
    rows = {"keywords": facts.keywords, "provinces": facts.provinces, "places": facts.places}
    facts_strings = [t for r in _ROWS for t in rows[r].vocabulary] + facts.texts.sounds.syllables
    facts_strings += [part for chunk in facts.chunks() for part in chunk]
    if any(_SEP in s for s in strings) or any(_SEP in s for s in facts_strings):
        raise ValueError("a text holds a NUL character")
    meta = {"format": INDEX_FORMAT, "knowledge_version": kb.version, "fingerprint": built.fingerprint,
            "documents": len(built.texts), "entries": len(kb.entries), "vocabulary": len(docs.vocabulary),
            "lexicon": len(lexicon), "ids": [e.id for e in kb.entries] + [i.id for i in kb.intents],
            "facts_fingerprint": facts.fingerprint, "syllables": len(facts.texts.sounds.syllables),
            **{r: len(rows[r].vocabulary) for r in _ROWS}}
    arrays = {"meta": _utf8(json.dumps(meta, ensure_ascii=False)), "text": _utf8(_SEP.join(strings)),
              "counts": counts, "ptr": docs.ptr, "tok": docs.tok, "tf": docs.tf, "own": docs.own,
              "order": built.index.order,
              "facts_text": _utf8(_SEP.join(facts_strings))}
    for r in _ROWS:
        arrays[f"{r}_ptr"], arrays[f"{r}_ids"] = rows[r].ptr, rows[r].ids
    return arrays


def read_index(path: Path, kb: KnowledgeBase, fingerprint: str, facts_fingerprint: str) -> BuiltIndex:
    """Read and check every part; raises StaleIndex (or FileNotFoundError)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            missing = set(_ARRAYS) - names
            if missing:
                raise StaleIndex(f"no {', '.join(sorted(missing))}")
            arrays = {name: data[name] for name in _ARRAYS}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        # Truncated, damaged (a zip checksum), not a zip, or an object array (a pickle, refused unread).
        raise StaleIndex(f"unreadable: {exc}") from None
    meta = _meta(arrays["meta"])
    if meta.get("format") != INDEX_FORMAT:
        raise StaleIndex(f"format {meta.get('format')!r}, this code reads {INDEX_FORMAT}")
    if (meta.get("knowledge_version") != kb.version or meta.get("fingerprint") != fingerprint
            or meta.get("facts_fingerprint") != facts_fingerprint):
        raise StaleIndex("built from another knowledge base or by other code")
    ids = [e.id for e in kb.entries] + [i.id for i in kb.intents]
    if meta.get("ids") != ids:
        raise StaleIndex("documents differ from the knowledge base's")
    n, vocab_size, lexicon_size = len(ids), meta.get("vocabulary"), meta.get("lexicon")
    if not isinstance(vocab_size, int) or not isinstance(lexicon_size, int) or min(vocab_size, lexicon_size) < 0:
        raise StaleIndex("bad counts")
    counts, ptr, tok, tf, own = (arrays[k] for k in ("counts", "ptr", "tok", "tf", "own"))
    _check(counts, np.int32, (n, _FIELDS), "counts")
    _check(ptr, np.int64, (n + 1,), "ptr")
    m = len(tok)
    _check(tok, np.int32, (m,), "tok")
    _check(tf, np.float32, (m,), "tf")
    _check(own, np.bool_, (m,), "own")
    if (counts < 0).any() or ptr[0] != 0 or ptr[-1] != m or (np.diff(ptr) < 0).any():
        raise StaleIndex("bad offsets")
    if m and (tok.min() < 0 or tok.max() >= vocab_size):
        raise StaleIndex("token id out of range")
    if not np.isfinite(tf).all() or (tf <= 0).any():
        raise StaleIndex("bad term frequencies")
    text = arrays["text"]
    _check(text, np.uint8, (len(text),), "text")
    try:
        decoded = text.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        raise StaleIndex("text is not UTF-8") from None
    expected = vocab_size + lexicon_size + int(counts.sum())
    strings = decoded.split(_SEP) if expected else ([] if not decoded else [decoded])
    if len(strings) != expected:
        raise StaleIndex("text does not match the counts")
    vocabulary = strings[:vocab_size]
    if len(set(vocabulary)) != vocab_size:
        raise StaleIndex("repeated tokens")
    lexicon = frozenset(strings[vocab_size : vocab_size + lexicon_size])
    texts = _texts(strings, vocab_size + lexicon_size, counts)
    facts = _facts(arrays, meta, kb, facts_fingerprint, lexicon)
    tokenizer = Tokenizer.for_names(lexicon)
    try:
        index = RecallIndex(DocTokens(vocabulary, ptr, tok, tf, own), tokenizer, arrays["order"])
    except ValueError as exc:
        raise StaleIndex(str(exc)) from None
    return BuiltIndex(fingerprint, lexicon, tokenizer, texts, index, rebuilt=0, facts=facts)


def _facts(arrays: dict[str, np.ndarray], meta: dict[str, object], kb: KnowledgeBase, fp: str,
           lexicon: frozenset[str]) -> EntryFacts:
    n = len(kb.entries)
    sizes = [meta.get(r) for r in (*_ROWS, "syllables")]
    if not all(isinstance(x, int) and x >= 0 for x in sizes):
        raise StaleIndex("bad facts counts")
    text = arrays["facts_text"]
    _check(text, np.uint8, (len(text),), "facts_text")
    try:
        strings = text.tobytes().decode("utf-8").split(_SEP)
    except UnicodeDecodeError:
        raise StaleIndex("facts_text is not UTF-8") from None
    if len(strings) != sum(sizes) + 2 * n:  # type: ignore[arg-type]
        raise StaleIndex("facts_text does not match the counts")
    rows: list[Rows] = []
    at = 0
    for r, size in zip(_ROWS, sizes, strict=False):
        assert isinstance(size, int)
        vocabulary = strings[at : at + size]
        at += size
        ptr, ids = arrays[f"{r}_ptr"], arrays[f"{r}_ids"]
        _check(ptr, np.int64, (n + 1,), f"{r}_ptr")
        _check(ids, np.int32, (len(ids),), f"{r}_ids")
        if ptr[0] != 0 or ptr[-1] != len(ids) or (np.diff(ptr) < 0).any():
            raise StaleIndex(f"bad {r} offsets")
        if len(ids) and (ids.min() < 0 or ids.max() >= size):
            raise StaleIndex(f"{r} id out of range")
        if len(set(vocabulary)) != size:
            raise StaleIndex(f"repeated {r}")
        rows.append(Rows(vocabulary, ptr, ids))
    syllables = strings[at : at + sizes[3]]  # type: ignore[misc]
    at += sizes[3]  # type: ignore[operator]
    # Each syllable's character is its place in this list: a repeated one would shift the others.
    if len(set(syllables)) != len(syllables) or SEPARATOR not in syllables:
        raise StaleIndex("bad syllables")
    chunks = list(zip(strings[at::2], strings[at + 1 :: 2], strict=True))
    return from_chunks(kb, fp, lexicon, *rows, chunks, syllables)


def _texts(strings: list[str], start: int, counts: np.ndarray) -> list[DocText]:
    out = []
    pos = start
    for row in counts.tolist():
        fields = []
        for c in row:
            fields.append(tuple(strings[pos : pos + c]))
            pos += c
        questions, words, pinyin, terms, heads = fields
        if not (len(questions) == len(words) == len(pinyin)):
            raise StaleIndex("a document's questions, words and pinyin differ in number")
        out.append(DocText(questions, words, pinyin, terms, heads))
    return out


def _check(a: np.ndarray, dtype: type, shape: tuple[int, ...], name: str) -> None:
    if a.dtype != dtype or a.shape != shape:
        raise StaleIndex(f"{name} is {a.dtype} {a.shape}, expected {np.dtype(dtype)} {shape}")


def _meta(a: np.ndarray) -> dict[str, object]:
    if a.dtype != np.uint8 or a.ndim != 1:
        raise StaleIndex("bad meta")
    try:
        meta = json.loads(a.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise StaleIndex("meta is not JSON") from None
    if not isinstance(meta, dict):
        raise StaleIndex("meta is not an object")
    return meta


def _utf8(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
