"""Knowledge-base vectors are computed once per model and kept on disk; residents' messages never are."""

from __future__ import annotations

import numpy as np

from bot.semantic.model import Embedder
from tests.auxil.semantic import bundled_embedder

QUESTIONS = ["公租房有多少户", "厂通路什么时候通车"]


def _model_dir():
    return bundled_embedder().choice


def test_vectors_survive_a_restart_without_encoding_again(tmp_path):
    first = Embedder(_model_dir(), tmp_path).vectors(QUESTIONS)
    again = Embedder(_model_dir(), tmp_path)

    def refuse(texts):
        raise AssertionError(f"encoded again: {texts}")

    again.encoder.encode = refuse
    assert np.allclose(again.vectors(QUESTIONS), first)


def test_a_damaged_cache_is_rebuilt(tmp_path):
    Embedder(_model_dir(), tmp_path).vectors(QUESTIONS)
    (cache_file,) = tmp_path.glob("embeddings-*.npz")
    cache_file.write_bytes(b"garbage")
    vectors = Embedder(_model_dir(), tmp_path).vectors(QUESTIONS)
    assert vectors.shape == (2, bundled_embedder().dim)
    assert Embedder(_model_dir(), tmp_path).cache.load().keys() == set(QUESTIONS)


def test_residents_messages_are_not_written_to_the_cache(tmp_path):
    embedder = Embedder(_model_dir(), tmp_path)
    embedder.vectors(QUESTIONS)
    embedder.vector("我家住在某某小区3号楼能申请吗")
    assert set(Embedder(_model_dir(), tmp_path).cache.load()) == set(QUESTIONS)
