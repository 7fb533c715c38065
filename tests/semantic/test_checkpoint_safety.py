"""Crafted model files: each is refused with a `CheckpointError` naming what is wrong, without reading outside
a buffer, without a large allocation, and the bot goes on matching by words with one log line."""

from __future__ import annotations

import json
import logging
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from bot.semantic import checkpoint
from bot.semantic.checkpoint import CheckpointError, load_safetensors, load_torch_zip
from bot.semantic.encoder import BertEncoder
from tests.auxil.checkpoints import Checkpoint, Tensor, checkpoint_of, tiny_bert_dir, tiny_bert_weights

FLOATS = np.arange(16, dtype=np.float32).tobytes()  # a storage of 16 float32


def _one_tensor(**fields) -> Checkpoint:
    return Checkpoint(tensors={"w": Tensor("0", **fields)}, storages={"0": FLOATS})


def _load(tmp_path, ckpt: Checkpoint | bytes) -> dict[str, np.ndarray]:
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(ckpt if isinstance(ckpt, bytes) else ckpt.zip_bytes())
    return load_torch_zip(path)


def test_a_faithful_checkpoint_loads_exactly(tmp_path):
    weights = tiny_bert_weights()
    loaded = _load(tmp_path, checkpoint_of(weights))
    assert loaded.keys() == weights.keys()
    assert all(np.array_equal(loaded[k], weights[k]) for k in weights)
    view = _load(tmp_path, _one_tensor(offset=2, size=(3, 2), stride=(4, 1)))["w"]  # a strided view, in bounds
    assert view.tolist() == [[2, 3], [6, 7], [10, 11]]


@pytest.mark.parametrize(("fields", "message"), [
    ({"size": (4, 4), "stride": (1_000_000_000, 1)}, "reaches element"),  # SIGSEGV before: read far outside
    ({"size": (4, 4), "stride": (4, 5)}, "reaches element"),
    ({"size": (4,), "stride": (-1,)}, "negative"),
    ({"offset": 1 << 40, "size": (1,), "stride": (1,)}, "reaches element"),  # heap bytes read before
    ({"offset": 15, "size": (2,), "stride": (1,)}, "reaches element"),
    ({"size": (4,), "stride": (1, 1)}, "differ in length"),
])
def test_views_outside_their_storage_are_refused(tmp_path, fields, message):
    with pytest.raises(CheckpointError, match=message):
        _load(tmp_path, _one_tensor(**fields))


@pytest.mark.parametrize(("fields", "message"), [
    ({"offset": "0", "size": (4,), "stride": (1,)}, "offset"),
    ({"offset": 0, "size": (4.0,), "stride": (1,)}, "integers"),
    ({"offset": 0, "size": (4,), "stride": None}, "short tuple"),
    ({"offset": 0, "size": [[4]], "stride": (1,)}, "integers"),
    ({"offset": 0, "size": (True,), "stride": (1,)}, "integers"),
    ({"size": (4,), "stride": (1,), "numel": "16"}, "malformed storage reference"),
    ({"size": (4,), "stride": (1,), "storage_type": "BFloat16Storage"}, "not supported"),
])
def test_wrong_types_are_refused_not_raised_as_type_errors(tmp_path, fields, message):
    with pytest.raises(CheckpointError, match=message):
        _load(tmp_path, _one_tensor(**fields))


def test_a_pickle_that_calls_a_storage_type_or_holds_no_tensors_is_refused(tmp_path):
    calls_storage = b"\x80\x02ctorch\nFloatStorage\n)R."  # FloatStorage(): a TypeError before
    with pytest.raises(CheckpointError, match="damaged"):
        _load(tmp_path, Checkpoint(raw_pickle=calls_storage))
    with pytest.raises(CheckpointError, match="state dict of tensors"):
        _load(tmp_path, Checkpoint(raw_pickle=pickle.dumps({"w": [1.0, 2.0]}, protocol=2)))
    with pytest.raises(CheckpointError, match="state dict of tensors"):
        _load(tmp_path, Checkpoint(raw_pickle=pickle.dumps([1, 2], protocol=2)))


def test_huge_declared_sizes_are_refused_without_allocating(tmp_path):
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="more elements than its storage"):
            # 200,000 × 200,000 float32 (149 GiB) over 16 floats with stride 0: a 37 GiB MemoryError before.
            _load(tmp_path, _one_tensor(size=(200_000, 200_000), stride=(0, 0)))
        with pytest.raises(CheckpointError, match="holds 64 bytes where"):
            _load(tmp_path, _one_tensor(size=(4,), stride=(1,), numel=10**12))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def _declare(data: bytes, member: str, size: int) -> bytes:
    """The zip with `member`'s declared uncompressed size changed in its central directory entry."""
    name = member.encode()
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_len] == name:
            return data[:at + 24] + struct.pack("<I", size) + data[at + 28:]
        at += 4


def test_a_zip_bomb_is_refused_unread(tmp_path, monkeypatch):
    # A member that declares 4.1 GB (the bomb took 4.1 GB of memory) is refused before reading.
    ckpt = checkpoint_of(tiny_bert_weights())
    bomb = _declare(ckpt.zip_bytes(zipfile.ZIP_DEFLATED), "archive/data/0", 4_100_000_000)
    with pytest.raises(CheckpointError, match="declares 41000"):
        _load(tmp_path, bomb)
    # A real one, scaled down: 64 MB of zeros deflate to 64 KB; with a cap of 8 MB it is refused unread.
    monkeypatch.setattr(checkpoint, "MAX_WEIGHTS_BYTES", 8 << 20)
    path = tmp_path / "bomb.bin"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", Checkpoint(tensors={"w": Tensor("0", 0, (4,), (1,))}).pickle_bytes())
        with archive.open("archive/data/0", "w") as fh:
            for _ in range(64):
                fh.write(bytes(1 << 20))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="declares"):
            load_torch_zip(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_a_member_that_holds_more_than_it_declares_is_refused(tmp_path):
    ckpt = checkpoint_of(tiny_bert_weights())
    data = ckpt.zip_bytes(zipfile.ZIP_DEFLATED)
    # Declared 4 bytes, while its stream inflates to 256: reading stops at the declared size and the
    # zip's own check (CRC) fails; nothing past the declaration is kept.
    lying = _declare(data, "archive/data/0", 4)
    with pytest.raises(CheckpointError):
        _load(tmp_path, lying)


def test_a_crafted_safetensors_file_is_refused(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 20], "data_offsets": [0, 4 << 20]}}).encode()
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    with pytest.raises(CheckpointError, match="damaged"):
        load_safetensors(path)


@pytest.mark.parametrize(("change", "message"), [
    ({"hidden_size": "8"}, "hidden_size must be an integer"),
    ({"num_hidden_layers": 10**9}, "num_hidden_layers must be an integer"),
    ({"num_attention_heads": 3}, "multiple of num_attention_heads"),
    ({"model_type": "gpt2"}, "is not BERT"),
])
def test_a_configuration_the_forward_pass_cannot_use_is_refused(tmp_path, change, message):
    model = tiny_bert_dir(tmp_path / "model")
    config = json.loads((model / "config.json").read_text()) | change
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message):
        BertEncoder(model)


def test_weights_that_do_not_fit_the_configuration_are_refused_at_load(tmp_path):
    weights = tiny_bert_weights()
    weights["encoder.layer.0.intermediate.dense.weight"] = weights["encoder.layer.0.intermediate.dense.weight"][:5]
    encoder = BertEncoder(tiny_bert_dir(tmp_path / "model", checkpoint_of(weights)))
    with pytest.raises(CheckpointError, match=r"intermediate\.dense\.weight has shape"):
        encoder.encode(["公租房"])
    encoder = BertEncoder(tiny_bert_dir(tmp_path / "fine"))
    vectors = encoder.encode(["公租房多少户", "厂通路什么时候通车"])
    assert vectors.shape == (2, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1)


def _crafted_files():
    good = checkpoint_of(tiny_bert_weights())

    def with_tensor(**fields):
        ckpt = checkpoint_of(tiny_bert_weights())
        first = next(iter(ckpt.tensors))
        ckpt.tensors[first] = Tensor(ckpt.tensors[first].storage, **fields)
        return ckpt.zip_bytes()

    return {
        "bad strides": with_tensor(size=(100, 8), stride=(1 << 30, 1)),
        "out-of-bounds offset": with_tensor(offset=1 << 40, size=(100, 8), stride=(8, 1)),
        "wrong types": with_tensor(offset="0", size=(100, 8), stride=(8, 1)),
        "huge declared size": with_tensor(size=(1 << 20, 1 << 20), stride=(0, 0)),
        "zip bomb": _declare(good.zip_bytes(zipfile.ZIP_DEFLATED), "archive/data/0", 4_100_000_000),
        "not a zip": b"truncated",
        "code in the pickle": Checkpoint(raw_pickle=b"\x80\x02cos\nsystem\n(X\x04\x00\x00\x00trueo.").zip_bytes(),
    }


@pytest.mark.parametrize("case", list(_crafted_files()))
def test_every_crafted_file_ends_in_matching_by_words_with_one_log_line(bundled_kb, tmp_path, caplog, case):
    from bot.matching.matcher import Matcher
    from bot.semantic.model import Embedder, locate

    model = tiny_bert_dir(tmp_path / "model", weights_bytes=_crafted_files()[case])
    embedder = Embedder(locate(str(model)), None)
    with caplog.at_level(logging.ERROR):
        matcher = Matcher(bundled_kb, embedder=embedder)
        decision = matcher.match("绿心公园孩子走丢了怎么办")
        matcher.match("公司找不到员工商务区管不管")  # unclear by words: would ask the model
    assert matcher.embedder is None
    assert (decision.status, decision.entry_id) == ("answer", "green-heart-lost-person")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "matching by words only" in errors[0].getMessage()


@pytest.mark.parametrize("case", ["wrong types", "huge declared size"])
def test_ask_answers_by_words_when_the_model_file_is_crafted(tmp_path, case):
    import os
    import subprocess
    import sys
    from pathlib import Path

    model = tiny_bert_dir(tmp_path / "model", weights_bytes=_crafted_files()[case])
    env = {**os.environ, "SEMANTIC_MODEL": str(model), "CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([str(Path(sys.executable).with_name("resident-bot")), "ask", "绿心公园孩子走丢了怎么办"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr  # exit 1 (TypeError, MemoryError) before
    assert "走失游客" in proc.stdout
