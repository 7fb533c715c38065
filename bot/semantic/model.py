"""Which sentence model to use, and one shared `Embedder` per model per process.

`SEMANTIC_MODEL` is `auto` (the default: `DEFAULT_MODEL`, e5-small, when its package is installed, which
it is on Linux x86_64; words only otherwise), `off` (words only), a name from `bot/semantic/catalogue.py`
(`use-multilingual`, `e5-small`, `m3e-small`), or a directory holding a BERT-family model of the
operator's own (`SEMANTIC_MODEL_SHA256` pins its weights file). m3e-small is never chosen by `auto`: its
licence allows research use only, so an operator must name it, and its terms are logged when it is used.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bot.config import SettingsError
from bot.progress import progress_log  # shown even where the root logger shows only warnings (the CLI)
from bot.semantic.cache import EmbeddingCache
from bot.semantic.catalogue import CATALOGUE, PackagedModel
from bot.semantic.checkpoint import CheckpointError

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = CATALOGUE["e5-small"]
RECENT_MESSAGES = 4096  # message vectors kept in memory (2 KB each): a repeated message is never re-encoded
# A message is read by the model up to this many characters. Residents' questions in every labelled set,
# and the knowledge base's, are at most 22; a model's cost grows with length (e5-small: 25 ms for 7
# characters, 80 ms for 60, 0.9 s for 300 on one thread), and a long text is no single question.
MODEL_MAX_CHARS = 48


class ModelError(SettingsError):
    """SEMANTIC_MODEL names a model that cannot be used; the message says what to do (one line, like
    any invalid setting)."""


class SentenceEncoder(Protocol):
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A model that SEMANTIC_MODEL resolves to, before anything of it is loaded."""

    name: str  # catalogue name, or "directory"
    title: str
    path: Path
    make: Callable[[int], SentenceEncoder]  # threads → encoder
    fingerprint: str  # names its cache file: a different model, or different files, never share vectors
    notice: str = ""


def _installed(model: PackagedModel) -> Path | None:
    try:
        dist = metadata.distribution(model.package)
    except metadata.PackageNotFoundError:
        return None
    root = Path(str(dist.locate_file("")))
    return root if all((root / f).is_file() for f in model.files) else None


def _packaged(model: PackagedModel, root: Path) -> ModelChoice:
    expected = {root / f: h for f, h in model.files.items()}

    def make(threads: int) -> SentenceEncoder:
        if model.backend == "bert":
            from bot.semantic.encoder import BertEncoder

            return BertEncoder(root / model.directory, expected)
        from bot.semantic.backends import E5Encoder, UseEncoder

        return (UseEncoder if model.backend == "use" else E5Encoder)(root, expected, threads)

    digest = hashlib.sha256("".join(sorted(model.files.values())).encode()).hexdigest()[:16]
    return ModelChoice(model.name, model.title, root / model.directory, make, f"{model.name}-{digest}",
                       model.notice)


def _directory(path: Path, sha256: str) -> ModelChoice:
    weights = next((path / n for n in ("model.safetensors", "pytorch_model.bin") if (path / n).is_file()), None)
    expected = {weights: sha256} if sha256 and weights is not None else {}

    def make(_threads: int) -> SentenceEncoder:
        from bot.semantic.encoder import BertEncoder

        return BertEncoder(path, expected)

    h = hashlib.sha256((path / "config.json").read_bytes())
    if weights is not None:
        stat = weights.stat()
        h.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}:{sha256}".encode())
    return ModelChoice("directory", str(path), path, make, f"dir-{h.hexdigest()[:16]}")


def locate(setting: str, sha256: str = "") -> ModelChoice | None:
    """The model a SEMANTIC_MODEL setting names, or None for word matching only."""
    value = setting.strip()
    if value.lower() == "off":
        return None
    if value.lower() == "auto":
        root = _installed(DEFAULT_MODEL)
        return _packaged(DEFAULT_MODEL, root) if root else None
    if value.lower() in CATALOGUE:
        model = CATALOGUE[value.lower()]
        root = _installed(model)
        if root is None:
            raise ModelError(f"SEMANTIC_MODEL={value}: package {model.package} is not installed "
                             f"({model.install})")
        return _packaged(model, root)
    path = Path(value).expanduser()
    if not (path / "config.json").is_file():
        raise ModelError(f"SEMANTIC_MODEL={value}: no config.json there; give a model directory, "
                         f"{', '.join(CATALOGUE)}, 'auto' ({DEFAULT_MODEL.install}) or 'off'")
    return _directory(path, sha256)


class KnowledgeVectors:
    """The vectors of one knowledge base's texts: computed now, or in a background thread while the bot
    answers by words (`array()` is None until then)."""

    def __init__(self) -> None:
        self._array: np.ndarray | None = None
        self._error: CheckpointError | None = None
        self._done = threading.Event()

    def array(self) -> np.ndarray | None:
        return self._array

    @property
    def error(self) -> CheckpointError | None:
        return self._error

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _finish(self, array: np.ndarray | None, error: CheckpointError | None = None) -> None:
        self._array, self._error = array, error
        self._done.set()


class Embedder:
    """Sentence vectors for normalised texts, remembered in memory and in an on-disk cache, so that a
    knowledge base is encoded once per model, not at every start or reload."""

    CHUNK = 64  # texts per encoding step of a first start: progress and cache writes between steps

    def __init__(self, choice: ModelChoice, cache_dir: Path | None, threads: int = 1) -> None:
        self.choice = choice
        self.encoder = choice.make(threads)
        self.fingerprint = choice.fingerprint
        self.cache = EmbeddingCache(cache_dir / f"embeddings-{self.fingerprint}.npz") if cache_dir else None
        self._memo: dict[str, np.ndarray] = self.cache.load() if self.cache else {}
        self._lock = threading.Lock()
        # A message is ranked more than once (as small talk and as a question), and residents repeat
        # themselves: encode each once. In memory only, never on disk.
        self._recent = functools.lru_cache(maxsize=RECENT_MESSAGES)(self._encode_one)

    @property
    def name(self) -> str:
        return self.choice.name

    @property
    def dim(self) -> int:
        return int(self.encoder.dim)

    def _encode(self, texts: list[str]) -> np.ndarray:
        try:
            return self.encoder.encode(texts)
        except CheckpointError:
            raise
        except Exception as exc:  # MemoryError, a package's own error: the model files' failure, not the bot's
            raise CheckpointError(f"sentence model failed ({type(exc).__name__}: {exc})") from exc

    def _encode_one(self, text: str) -> np.ndarray:
        return self._encode([text])[0]

    def vectors(self, texts: list[str]) -> np.ndarray:
        """One unit vector per knowledge-base text; unknown ones are encoded and cached on disk."""
        prepared = self.prepare(texts)
        if prepared.error is not None:
            raise prepared.error
        array = prepared.array()
        assert array is not None
        return array

    def prepare(self, texts: list[str], background: bool = False) -> KnowledgeVectors:
        """The vectors of `texts`, at once when cached; otherwise encoded now, or (`background`) in a
        thread, with progress logged, while the caller goes on without them."""
        out = KnowledgeVectors()
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if not missing:
            out._finish(self._stack(texts))
            return out
        if not background:
            self._fill(missing, texts, out)
            return out
        thread = threading.Thread(target=self._fill, args=(missing, texts, out), name="encode-knowledge", daemon=True)
        _encoding.add(thread)
        thread.start()
        return out

    def _fill(self, missing: list[str], texts: list[str], out: KnowledgeVectors) -> None:
        started = last_note = time.monotonic()
        # A few new texts (an edit, a reload) take a moment: only a first start's encoding is announced.
        note = progress_log.info if len(missing) > self.CHUNK else progress_log.debug
        note("sentence model %s: encoding %d knowledge-base texts once (cached for later starts)",
                          self.name, len(missing))
        try:
            for i in range(0, len(missing), self.CHUNK):
                part = missing[i:i + self.CHUNK]
                fresh = self._encode(part)
                with self._lock:
                    self._memo.update(zip(part, fresh, strict=True))
                now = time.monotonic()
                if self.cache:  # a process stopped mid-way (a one-off `ask`) keeps what it did
                    self._save()
                if now - last_note > 2:
                    done = i + len(part)
                    progress_log.info("sentence model %s: %d of %d texts encoded, about %.0f s to go", self.name,
                                      done, len(missing), (now - started) / done * (len(missing) - done))
                    last_note = now
        except CheckpointError as exc:
            # Logged here, once, whether or not a matcher is waiting: a resident's first start must not
            # end, and an operator must learn why the bot matches by words.
            log.error("sentence model unusable, matching by words only: %s", exc)
            out._finish(None, exc)
            return
        note("sentence model %s: knowledge base encoded in %.1f s", self.name,
                          time.monotonic() - started)
        out._finish(self._stack(texts))

    def _save(self) -> None:
        assert self.cache is not None
        with self._lock:
            memo = dict(self._memo)
        self.cache.save(memo)

    def _stack(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.stack([self._memo[t] for t in texts])

    def vector(self, text: str) -> np.ndarray:
        """One message (its first MODEL_MAX_CHARS characters): never written to disk (residents' messages
        stay out of the cache)."""
        known = self._memo.get(text)
        return known if known is not None else self._recent(text[:MODEL_MAX_CHARS])


_encoding: set[threading.Thread] = set()
EXIT_WAIT = 60.0  # seconds a process that ends during a first start's encoding gives it to finish


@atexit.register
def _finish_encoding() -> None:
    """A one-off command (`ask`) answers by words in a second and ends, long before a cold knowledge base
    is encoded: let the encoding finish (it is saved chunk by chunk, so a cut loses little), so that the
    next start has the vectors. Ctrl-C skips it."""
    running = [t for t in _encoding if t.is_alive()]
    if not running:
        return
    progress_log.info("finishing the sentence model's first encoding so that later starts use it "
                      "(Ctrl-C to skip)")
    deadline = time.monotonic() + EXIT_WAIT
    try:
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        pass


_shared: dict[tuple[str, Path | None], Embedder | None] = {}
_shared_lock = threading.Lock()


def shared_embedder(setting: str, cache_dir: Path | None, threads: int = 1, sha256: str = "") -> Embedder | None:
    """The process's Embedder for this setting (a reload reuses it and its memory of texts). None means
    matching by words: the setting says so, the default model is not installed, or its files are unusable
    (logged once)."""
    choice = locate(setting, sha256)
    if choice is None:
        if setting.strip().lower() == "auto":
            log.info("sentence model not installed (%s); matching by words only", DEFAULT_MODEL.install)
        return None
    key = (choice.fingerprint, cache_dir)
    with _shared_lock:
        if key not in _shared:
            if choice.notice:
                log.warning("sentence model %s: %s", choice.name, choice.notice)
            try:
                _shared[key] = Embedder(choice, cache_dir, threads)
            except CheckpointError as exc:
                log.error("sentence model unusable, matching by words only: %s", exc)
                _shared[key] = None
        return _shared[key]


def embedder_for(settings: Settings) -> Embedder | None:
    from bot.semantic.threads import limit_threads

    limit_threads(settings.numeric_threads)
    return shared_embedder(settings.semantic_model, settings.cache_dir, settings.numeric_threads,
                           settings.semantic_model_sha256)
