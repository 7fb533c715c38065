"""A first start: progress while the knowledge base is encoded, answers by words until its vectors are ready,
and the vectors written once for every later start; bounded threads; pinned files; m3e only when named."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from bot.matching.matcher import Matcher
from bot.semantic.model import Embedder, locate, shared_embedder
from bot.semantic.threads import set_thread_variables
from tests.auxil.checkpoints import tiny_bert_dir
from tests.auxil.semantic import bundled_embedder

PARAPHRASE = "公司找不到员工商务区管不管"  # words alone cannot answer it; the default model can


class Recalling:
    """The default model as the test session already ran it: the knowledge base's vectors come from the
    session's cache (what a cold start would compute, without spending a quarter of a minute on it)."""

    def __init__(self, known: Embedder) -> None:
        self.known, self.dim = known, known.dim

    def encode(self, texts):
        return np.stack([self.known.vector(t) for t in texts])


class Gate:
    """The default model's encoder, held at a gate: encoding the knowledge base waits until it opens."""

    def __init__(self, encoder) -> None:
        self.encoder, self.dim, self.open = Recalling(bundled_embedder()), encoder.dim, threading.Event()
        self.batches = 0

    def encode(self, texts):
        if len(texts) > 1:  # the knowledge base, not a resident's message
            assert self.open.wait(60)
            self.batches += 1
        return self.encoder.encode(texts)


def test_a_first_start_answers_by_words_until_the_vectors_are_ready(bundled_kb, matcher, tmp_path, caplog):
    embedder = Embedder(bundled_embedder().choice, tmp_path)
    gate = Gate(embedder.encoder)
    embedder.encoder = gate
    words_only = Matcher(bundled_kb).match(PARAPHRASE)
    with caplog.at_level(logging.INFO, logger="bot.progress"):
        starting = Matcher(bundled_kb, embedder=embedder, background=True)  # returns while encoding waits
        assert starting._knowledge.array() is None
        early = starting.match(PARAPHRASE)
        assert (early.status, early.entry_id) == (words_only.status, words_only.entry_id)
        gate.open.set()
        assert starting._knowledge.wait(120)
    later = starting.match(PARAPHRASE)
    assert (later.status, later.entry_id) == ("answer", matcher.match(PARAPHRASE).entry_id)
    assert "encoding" in caplog.text and "knowledge base encoded" in caplog.text
    # Written once: the next start of this checkout reads them and encodes nothing.
    again = Embedder(bundled_embedder().choice, tmp_path)
    again.encoder = Gate(again.encoder)
    restarted = Matcher(bundled_kb, embedder=again, background=True)
    assert restarted._knowledge.array() is not None and again.encoder.batches == 0


def test_a_process_ending_during_the_first_encoding_lets_it_finish(bundled_kb, tmp_path):
    """`ask` answers by words and ends at once; its exit waits for the encoding, so the next start has it."""
    from bot.semantic import model

    embedder = Embedder(bundled_embedder().choice, tmp_path)
    gate = Gate(embedder.encoder)
    embedder.encoder = gate
    matcher = Matcher(bundled_kb, embedder=embedder, background=True)
    threading.Timer(0.2, gate.open.set).start()
    model._finish_encoding()  # what the interpreter runs at exit
    assert matcher._knowledge.array() is not None
    restarted = Embedder(bundled_embedder().choice, tmp_path).prepare(list(embedder._memo), background=True)
    assert restarted.array() is not None  # read from the cache at once, nothing left to encode


def test_message_vectors_are_remembered(bundled_kb, tmp_path):
    embedder = Embedder(bundled_embedder().choice, tmp_path)
    calls = []
    real = embedder.encoder.encode
    embedder.encoder.encode = lambda texts: calls.append(texts) or real(texts)
    first = embedder.vector("我家住在某某小区3号楼能申请吗")
    again = embedder.vector("我家住在某某小区3号楼能申请吗")
    assert np.array_equal(first, again) and len(calls) == 1


def test_numeric_libraries_get_one_thread_unless_told(monkeypatch):
    env = {"OMP_NUM_THREADS": "4"}
    set_thread_variables(env)
    assert env == {"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "OMP_WAIT_POLICY": "PASSIVE"}
    env = {"NUMERIC_THREADS": "2"}
    set_thread_variables(env)
    assert env["OPENBLAS_NUM_THREADS"] == "2"
    # In a fresh process that imports the bot, numpy's BLAS runs one thread however many cores there are.
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "NUMERIC_THREADS"}
    probe = ("import bot, numpy; from threadpoolctl import threadpool_info; "
             "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=clean, check=True)
    assert out.stdout.strip() == "[1]"


def test_a_model_file_that_differs_from_its_pin_is_refused(bundled_kb, tmp_path, caplog):
    model = tiny_bert_dir(tmp_path / "model")
    pinned = locate(str(model), sha256="0" * 64)
    with caplog.at_level(logging.ERROR):
        matcher = Matcher(bundled_kb, embedder=Embedder(pinned, None))
    assert matcher.embedder is None and "is not the pinned" in caplog.text
    from bot.semantic.integrity import sha256_of

    right = locate(str(model), sha256=sha256_of(model / "pytorch_model.bin"))
    assert Embedder(right, None).encoder.encode(["公租房"]).shape == (1, 8)


def test_m3e_small_is_used_only_when_named_and_its_terms_are_logged(caplog, tmp_path):
    assert locate("auto").name != "m3e-small"
    with caplog.at_level(logging.WARNING):
        embedder = shared_embedder("m3e-small", tmp_path)
    assert embedder is not None and embedder.name == "m3e-small"
    assert "non-commercial research use only" in caplog.text


def test_the_pinned_hashes_are_those_of_the_installed_default_model():
    from bot.semantic.integrity import verify

    choice = bundled_embedder().choice
    verify(bundled_embedder().encoder.expected)  # raises on any difference
    assert choice.name == "e5-small"


@pytest.mark.parametrize("value", ["bogus-model", "e5"])
def test_an_unknown_model_name_is_a_setting_error(value):
    from bot.semantic.model import ModelError

    with pytest.raises(ModelError, match="use-multilingual, e5-small, m3e-small"):
        locate(value)
