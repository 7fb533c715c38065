"""Model weights as numpy arrays, from `model.safetensors` or a PyTorch `pytorch_model.bin`, without PyTorch.

A model file is input like any other: it may be damaged or crafted. This reader trusts nothing in it.

- A PyTorch checkpoint is a zip of a pickle and raw storages. Unpickling it with `pickle` would run
  whatever the file names; this loader allows only the few names a state dict uses (tensors rebuilt from
  storages, an ordered dict) and refuses anything else, so a tampered model file cannot execute code.
- Every number the pickle gives (storage length, offset, shape, strides) is checked against the storage
  it points into before a view is made, so a crafted file cannot read outside a buffer or ask for a
  37 GiB copy; sizes declared in the zip are capped before anything is decompressed (a zip bomb is
  refused unread), and what is read never exceeds what was declared.
- Whatever goes wrong ends in `CheckpointError`, which the matcher turns into matching by words.
"""

from __future__ import annotations

import io
import math
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np


class CheckpointError(Exception):
    """The model file is missing, damaged or holds something other than plain tensors."""


# Far above any sentence model this bot can run on a small server (m3e-small and bge-small-zh: 96 MB),
# far below what would hurt the machine. A bigger model is refused, not loaded.
MAX_WEIGHTS_BYTES = 1 << 30
MAX_PICKLE_BYTES = 16 << 20  # a state dict's pickle names tensors; m3e-small's is 9 KB
MAX_DIMENSIONS = 8

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": None,  # numpy has no bfloat16: refused with a clear message below
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


def load_weights(model_dir: Path) -> dict[str, np.ndarray]:
    safetensors_file = model_dir / "model.safetensors"
    if safetensors_file.is_file():
        return load_safetensors(safetensors_file)
    torch_file = model_dir / "pytorch_model.bin"
    if not torch_file.is_file():
        raise CheckpointError(f"{model_dir}: no model.safetensors or pytorch_model.bin")
    return load_torch_zip(torch_file)


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    _check_file_size(path)
    try:
        from safetensors.numpy import load_file

        # The safetensors library checks its header's offsets and sizes against the file itself.
        weights = dict(load_file(str(path)))
    except Exception as exc:  # the library raises its own error types for a damaged file
        raise CheckpointError(f"{path}: damaged model file ({type(exc).__name__}: {exc})") from exc
    return _checked_state(weights, path)


def load_torch_zip(path: Path) -> dict[str, np.ndarray]:
    _check_file_size(path)
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise CheckpointError(f"{path}: not a PyTorch zip checkpoint")
            _check_declared_sizes(path, archive)
            prefix = pickles[0].rsplit("/", 1)[0]
            data = _read_member(archive, pickles[0], MAX_PICKLE_BYTES)
            state = _SafeUnpickler(io.BytesIO(data), archive, prefix, path).load()
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, pickle.UnpicklingError, EOFError, OSError, ValueError,
            TypeError, IndexError, KeyError, AttributeError, OverflowError, RecursionError, MemoryError,
            NotImplementedError) as exc:
        # A crafted pickle can hand any object to any of the few callables allowed: whatever breaks is
        # the file's fault, and is reported as such (never a traceback that stops the bot).
        raise CheckpointError(f"{path}: damaged model file ({type(exc).__name__}: {exc})") from exc
    return _checked_state(state, path)


def _check_file_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the model file ({exc})") from exc
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{path}: {size} bytes, more than the {MAX_WEIGHTS_BYTES} this bot loads")


def _check_declared_sizes(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse before decompressing anything: the sizes a zip declares bound what reading it yields."""
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{path}: declares {total} bytes uncompressed, more than the "
                              f"{MAX_WEIGHTS_BYTES} this bot loads")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise CheckpointError(f"{name}: declares {info.file_size} bytes, more than {limit}")
    with archive.open(info) as fh:
        data = fh.read(limit + 1)  # never more than the cap, whatever the stream holds
    if len(data) != info.file_size:
        raise CheckpointError(f"{name}: holds {len(data)} bytes where {info.file_size} were declared")
    return data


class _StorageType:
    def __init__(self, name: str, dtype: type | None) -> None:
        self.name = name
        self.dtype = np.dtype(dtype) if dtype is not None else None


def _plain_ints(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple | list) or len(value) > MAX_DIMENSIONS:
        raise CheckpointError(f"tensor {what} is not a short tuple: {type(value).__name__}")
    if not all(type(v) is int for v in value):  # bool and other int subclasses too: no plain state dict has them
        raise CheckpointError(f"tensor {what} holds something other than integers")
    if any(v < 0 for v in value):
        raise CheckpointError(f"tensor {what} is negative")
    return tuple(value)


def _rebuild_tensor(storage: object, offset: object, size: object, stride: object, *_rest: object) -> np.ndarray:
    """torch._utils._rebuild_tensor_v2, with every argument checked against the storage it views."""
    if not isinstance(storage, np.ndarray) or storage.ndim != 1:
        raise CheckpointError("a tensor refers to something other than a storage")
    if type(offset) is not int or offset < 0:
        raise CheckpointError(f"tensor offset {offset!r} is not a non-negative integer")
    shape = _plain_ints(size, "shape")
    strides = _plain_ints(stride, "strides")
    if len(shape) != len(strides):
        raise CheckpointError(f"tensor shape {shape} and strides {strides} differ in length")
    count = math.prod(shape)
    if count == 0:
        return np.zeros(shape, dtype=storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(shape, strides, strict=True))
    if last >= len(storage):
        raise CheckpointError(f"tensor of shape {shape} at offset {offset} with strides {strides} reaches "
                              f"element {last} of a storage of {len(storage)}")
    if count > len(storage):
        # Only a broadcast view (stride 0) has more elements than its storage; a state dict has none,
        # and a crafted one would ask for an arbitrarily large copy.
        raise CheckpointError(f"tensor of shape {shape} has more elements than its storage ({len(storage)})")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=shape, strides=tuple(s * item for s in strides),
                                           writeable=False)
    return np.array(view)  # a copy: the storage buffer belongs to the zip reader


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file: object, archive: zipfile.ZipFile, prefix: str, path: Path) -> None:
        super().__init__(file)  # type: ignore[arg-type]
        self.archive = archive
        self.prefix = prefix
        self.path = path
        self.storages: dict[str, np.ndarray] = {}  # tied weights share one storage: read it once
        self.budget = MAX_WEIGHTS_BYTES

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        raise CheckpointError(f"model file asks for {module}.{name}, which a plain state dict never does")

    def persistent_load(self, pid: object) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise CheckpointError(f"unexpected storage reference {pid!r:.80}")
        kind, key, _location, numel = pid[1], pid[2], pid[3], pid[4]
        if not isinstance(kind, _StorageType):
            raise CheckpointError(f"unsupported storage type {kind!r:.80}")
        if kind.dtype is None:
            raise CheckpointError(f"storage type {kind.name} is not supported; save the model as float32")
        if not isinstance(key, str) or type(numel) is not int or numel < 0:
            raise CheckpointError(f"malformed storage reference {pid!r:.80}")
        if key in self.storages:
            return self.storages[key]
        name = f"{self.prefix}/data/{key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError as exc:
            raise CheckpointError(f"model file lacks storage {key}") from exc
        expected = numel * kind.dtype.itemsize
        if info.file_size != expected:
            raise CheckpointError(f"storage {key} holds {info.file_size} bytes where {numel} "
                                  f"{kind.name} elements need {expected}")
        if expected > self.budget:
            raise CheckpointError(f"storages add up to more than the {MAX_WEIGHTS_BYTES} bytes this bot loads")
        self.budget -= expected
        raw = _read_member(self.archive, name, expected)
        storage = np.frombuffer(raw, dtype=kind.dtype)
        self.storages[key] = storage
        return storage


def _checked_state(state: object, path: Path) -> dict[str, np.ndarray]:
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f"{path}: does not hold a state dict of tensors")
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, np.ndarray):
            raise CheckpointError(f"{path}: does not hold a state dict of tensors ({key!r:.60})")
    return dict(state)
