"""Model files made by hand: a tiny BERT directory, and PyTorch zip checkpoints whose pickle says anything a
test wants (PyTorch itself is not installed, and would refuse to write most of these)."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HIDDEN, HEADS, INNER = 8, 2, 16
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"公租房多少户厂通路什么时候通车一键呼潞河附校晚托几点"]
VOCAB += [f"[unused{i}]" for i in range(100 - len(VOCAB))]


def _value(v: object) -> bytes:
    """The pickle opcodes that push `v` (a plain Python value), without PROTO and STOP."""
    return pickle.dumps(v, protocol=2)[2:-1]


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


@dataclass
class Tensor:
    """One state-dict entry as `torch.save` writes it: a view of a storage. Every field may be set to
    anything, to write what a crafted file would say."""

    storage: str  # storage key
    offset: object = 0
    size: object = ()
    stride: object = ()
    storage_type: str = "FloatStorage"
    numel: object | None = None  # the storage length the reference declares (default: the real one)


@dataclass
class Checkpoint:
    tensors: dict[str, Tensor] = field(default_factory=dict)
    storages: dict[str, bytes] = field(default_factory=dict)
    raw_pickle: bytes | None = None  # replaces the state dict's pickle altogether

    def pickle_bytes(self) -> bytes:
        if self.raw_pickle is not None:
            return self.raw_pickle
        out = [b"\x80\x02}(" ]
        for name, t in self.tensors.items():
            data = self.storages.get(t.storage, b"")
            numel = t.numel if t.numel is not None else len(data) // 4
            ref = (b"(" + _value("storage") + _global("torch", t.storage_type) + _value(t.storage) + _value("cpu")
                   + _value(numel) + b"tQ")
            args = b"(" + ref + _value(t.offset) + _value(t.size) + _value(t.stride) + b"\x89"
            args += _global("collections", "OrderedDict") + b")R" + b"t"
            out.append(_value(name) + _global("torch._utils", "_rebuild_tensor_v2") + args + b"R")
        out.append(b"u.")
        return b"".join(out)

    def zip_bytes(self, compression: int = zipfile.ZIP_STORED) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
            archive.writestr("archive/data.pkl", self.pickle_bytes())
            for key, data in self.storages.items():
                archive.writestr(f"archive/data/{key}", data)
        return buffer.getvalue()


def tiny_bert_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def r(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    w = {"embeddings.word_embeddings.weight": r(len(VOCAB), HIDDEN),
         "embeddings.position_embeddings.weight": r(64, HIDDEN),
         "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
         "embeddings.LayerNorm.weight": np.ones(HIDDEN, np.float32),
         "embeddings.LayerNorm.bias": np.zeros(HIDDEN, np.float32)}
    p = "encoder.layer.0."
    for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
        w[p + name + ".weight"], w[p + name + ".bias"] = r(HIDDEN, HIDDEN), r(HIDDEN)
    w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = r(INNER, HIDDEN), r(INNER)
    w[p + "output.dense.weight"], w[p + "output.dense.bias"] = r(HIDDEN, INNER), r(HIDDEN)
    for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
        w[p + norm + ".weight"], w[p + norm + ".bias"] = np.ones(HIDDEN, np.float32), np.zeros(HIDDEN, np.float32)
    return w


def checkpoint_of(weights: dict[str, np.ndarray]) -> Checkpoint:
    """A faithful checkpoint of `weights`: one storage per tensor, contiguous, as torch.save writes it."""
    ckpt = Checkpoint()
    for i, (name, value) in enumerate(weights.items()):
        key = str(i)
        ckpt.storages[key] = np.ascontiguousarray(value, dtype=np.float32).tobytes()
        strides = tuple(s // 4 for s in np.ascontiguousarray(value).strides)
        ckpt.tensors[name] = Tensor(key, 0, tuple(value.shape), strides)
    return ckpt


def tiny_bert_dir(path: Path, checkpoint: Checkpoint | None = None, *, weights_bytes: bytes | None = None) -> Path:
    """A complete BERT model directory (1 layer, 8 wide): with a faithful checkpoint unless told otherwise."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": HIDDEN, "num_attention_heads": HEADS, "num_hidden_layers": 1,
        "intermediate_size": INNER, "vocab_size": len(VOCAB), "max_position_embeddings": 64,
        "layer_norm_eps": 1e-12}), encoding="utf-8")
    (path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    if weights_bytes is None:
        weights_bytes = (checkpoint or checkpoint_of(tiny_bert_weights())).zip_bytes()
    (path / "pytorch_model.bin").write_bytes(weights_bytes)
    return path
