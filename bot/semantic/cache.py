"""Knowledge-base sentence vectors on disk, one file per model, replaced atomically.

Only texts of the knowledge base are written (questions an administrator wrote), never residents'
messages. A damaged or foreign file is ignored and rebuilt: the cache can always be deleted.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                texts, vectors = data["texts"], data["vectors"]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring damaged embedding cache %s (%s)", self.path, exc)
            return {}
        if len(texts) != len(vectors):
            return {}
        return {str(t): v.astype(np.float32) for t, v in zip(texts, vectors, strict=True)}

    def save(self, memo: dict[str, np.ndarray]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".embeddings-", suffix=".npz")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, texts=np.array(list(memo), dtype=str),
                         vectors=np.stack(list(memo.values())).astype(np.float32))
            os.replace(tmp, self.path)  # readers in other replicas see the old file or the new, never half
        except OSError as exc:
            log.warning("cannot write embedding cache %s (%s); vectors will be recomputed next start",
                        self.path, exc)
