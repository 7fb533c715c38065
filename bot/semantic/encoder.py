"""A BERT sentence encoder in numpy: token ids → transformer layers → pooled, unit-length vectors.

Why numpy and not PyTorch: the models this bot uses are small (4 layers, 512 wide), a forward pass is a
few matrix products, and PyTorch would add gigabytes to the install and a second to start-up. The
arithmetic follows the BERT paper and Hugging Face's `BertModel` (post-layer-norm, exact GELU); a test
compares vectors with ones the reference implementation produced.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np

from bot.semantic.checkpoint import CheckpointError, load_weights
from bot.semantic.integrity import verify

MAX_TOKENS = 128  # residents' messages are cut long before this; it bounds the cost of a pathological one


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and GELU needs it.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


class BertEncoder:
    """Loads its weights and tokenizer on first use (most messages never need them); thread-safe."""

    def __init__(self, model_dir: Path, expected: dict[Path, str] | None = None) -> None:
        self.model_dir = model_dir
        self.expected = expected or {}  # file → sha256, checked before the file is parsed
        self.config = read_config(model_dir / "config.json")
        self.dim = self.config["hidden_size"]
        self.pooling = _pooling(model_dir, self.config)
        self._lock = threading.Lock()
        self._weights: dict[str, np.ndarray] | None = None
        self._tokenizer = None
        self._failed: CheckpointError | None = None  # a broken model file is read once, not per message

    def _load(self) -> tuple[dict[str, np.ndarray], object]:
        with self._lock:
            if self._failed is not None:
                raise self._failed
            if self._weights is None:
                try:
                    verify(self.expected)
                    weights = _checked_weights(load_weights(self.model_dir), self.config)
                    tokenizer = _tokenizer(self.model_dir, self.config)
                except CheckpointError as exc:
                    self._failed = exc
                    raise
                self._tokenizer = tokenizer
                self._weights = weights
            return self._weights, self._tokenizer

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """Unit-length sentence vectors, one row per text."""
        if not texts:
            return np.zeros((0, int(self.config["hidden_size"])), dtype=np.float32)
        return np.concatenate([self._encode_batch(texts[i:i + batch]) for i in range(0, len(texts), batch)])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        w, tokenizer = self._load()
        encodings = tokenizer.encode_batch(texts)  # type: ignore[attr-defined]
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for row, enc in enumerate(encodings):
            ids[row, :len(enc.ids)] = enc.ids
            mask[row, :len(enc.ids)] = 1.0
        cfg = self.config
        eps = float(cfg.get("layer_norm_eps", 1e-12))
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        heads = int(cfg["num_attention_heads"])
        hidden = int(cfg["hidden_size"])
        size = hidden // heads
        blocked = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding gets no attention
        n, t = ids.shape
        for layer in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{layer}."

            def dense(z: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return z @ w[p + name + ".weight"] + w[p + name + ".bias"]

            q = dense(x, "attention.self.query").reshape(n, t, heads, size).transpose(0, 2, 1, 3)
            k = dense(x, "attention.self.key").reshape(n, t, heads, size).transpose(0, 2, 3, 1)
            v = dense(x, "attention.self.value").reshape(n, t, heads, size).transpose(0, 2, 1, 3)
            scores = q @ k / np.float32(math.sqrt(size)) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, t, hidden)
            x = _layer_norm(x + dense(context, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], eps)
            x = _layer_norm(x + dense(_gelu(dense(x, "intermediate.dense")), "output.dense"),
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        mean = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        pooled = x[:, 0] if self.pooling == "cls" else mean
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _pooling(model_dir: Path, config: dict) -> str:
    """Mean of the token vectors unless the model says it was trained with the [CLS] vector (bge)."""
    st_pooling = model_dir / "1_Pooling" / "config.json"
    if st_pooling.is_file():
        try:
            if json.loads(st_pooling.read_text(encoding="utf-8")).get("pooling_mode_cls_token"):
                return "cls"
        except ValueError:
            pass
    return "cls" if "cls" in str(config.get("uniem_embedding_strategy", "")).lower() else "mean"


def _tokenizer(model_dir: Path, config: dict) -> object:
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    try:
        if (model_dir / "tokenizer.json").is_file():
            tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        elif (model_dir / "vocab.txt").is_file():
            tokenizer = BertWordPieceTokenizer(str(model_dir / "vocab.txt"), lowercase=True)
        else:
            raise CheckpointError(f"{model_dir}: no tokenizer.json or vocab.txt")
    except CheckpointError:
        raise
    except Exception as exc:  # the tokenizers library raises plain Exceptions for a malformed file
        raise CheckpointError(f"{model_dir}: unreadable tokenizer ({exc})") from exc
    if tokenizer.get_vocab_size() > config["vocab_size"]:
        # A token id past the embedding table would index outside it at the first message.
        raise CheckpointError(f"{model_dir}: the tokenizer knows {tokenizer.get_vocab_size()} tokens, the model "
                              f"only {config['vocab_size']}")
    tokenizer.enable_truncation(min(MAX_TOKENS, config["max_position_embeddings"]))
    tokenizer.no_padding()
    return tokenizer


_LIMITS = {"hidden_size": (8, 4096), "num_attention_heads": (1, 64), "num_hidden_layers": (1, 48),
           "intermediate_size": (8, 16384), "vocab_size": (100, 1_000_000), "max_position_embeddings": (8, 65536)}
MAX_CONFIG_BYTES = 1 << 20


def read_config(config_file: Path) -> dict:
    """config.json with the numbers the forward pass relies on checked, so that a wrong one is named here
    and not met as an exception inside a matrix product."""
    try:
        if config_file.stat().st_size > MAX_CONFIG_BYTES:
            raise CheckpointError(f"{config_file}: larger than a model configuration can be")
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{config_file}: cannot read the model's configuration ({exc})") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_file}: not a JSON object")
    if config.get("model_type", "bert") not in ("bert", "roberta"):
        raise CheckpointError(f"{config_file}: model_type {config.get('model_type')!r} is not BERT")
    for key, (low, high) in _LIMITS.items():
        value = config.get(key)
        if type(value) is not int or not low <= value <= high:
            raise CheckpointError(f"{config_file}: {key} must be an integer from {low} to {high}, not {value!r:.40}")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise CheckpointError(f"{config_file}: hidden_size is not a multiple of num_attention_heads")
    eps = config.get("layer_norm_eps", 1e-12)
    if not isinstance(eps, float | int) or not 0 < eps < 1:
        raise CheckpointError(f"{config_file}: layer_norm_eps must be a small positive number")
    return config


def _checked_weights(raw: dict[str, np.ndarray], config: dict) -> dict[str, np.ndarray]:
    """The weights the forward pass reads, as float32 and (in, out) for linear layers, each of the shape
    the configuration implies: a file that does not fit its configuration is refused at load."""
    prefix = "bert." if any(k.startswith("bert.") for k in raw) else ""
    h, inner, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    expected: dict[str, tuple[int | None, ...]] = {
        "embeddings.word_embeddings.weight": (vocab, h),
        "embeddings.position_embeddings.weight": (config["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": (None, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
    }
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            expected[p + name + ".weight"] = (h, h)
            expected[p + name + ".bias"] = (h,)
        expected[p + "intermediate.dense.weight"] = (h, inner)  # after the transpose below
        expected[p + "intermediate.dense.bias"] = (inner,)
        expected[p + "output.dense.weight"] = (inner, h)
        expected[p + "output.dense.bias"] = (h,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            expected[p + norm + ".weight"] = (h,)
            expected[p + norm + ".bias"] = (h,)
    weights = {}
    for key, shape in expected.items():
        value = raw.get(prefix + key)
        if value is None:
            raise CheckpointError(f"the model file lacks {key}")
        if not np.issubdtype(value.dtype, np.floating):
            raise CheckpointError(f"{key} holds {value.dtype}, not floating-point numbers")
        value = value.astype(np.float32, copy=False)
        # Linear layers are stored (out, in); keep them (in, out) so a forward pass is x @ W.
        if key.endswith(".weight") and value.ndim == 2 and not key.startswith("embeddings."):
            value = np.ascontiguousarray(value.T)
        if value.ndim != len(shape) or any(want is not None and got != want
                                           for got, want in zip(value.shape, shape, strict=True)):
            raise CheckpointError(f"{key} has shape {value.shape}, the configuration implies {shape}")
        if not np.isfinite(value).all():
            raise CheckpointError(f"{key} holds NaN or infinite numbers")
        weights[key] = value
    return weights
