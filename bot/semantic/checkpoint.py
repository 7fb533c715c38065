"""Model weights as numpy arrays, from `model.safetensors` or a PyTorch `pytorch_model.bin`, without PyTorch.

A PyTorch checkpoint is a zip of a pickle and raw storages. Unpickling it with `pickle` would run whatever
the file names; this loader allows only the few names a state dict uses (tensors rebuilt from storages,
an ordered dict) and refuses anything else, so a tampered model file cannot execute code.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np


class CheckpointError(Exception):
    """The model file is missing, damaged or holds something other than plain tensors."""


_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
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
        from safetensors.numpy import load_file

        return dict(load_file(str(safetensors_file)))
    torch_file = model_dir / "pytorch_model.bin"
    if not torch_file.is_file():
        raise CheckpointError(f"{model_dir}: no model.safetensors or pytorch_model.bin")
    return load_torch_zip(torch_file)


class _StorageType:
    def __init__(self, dtype: type) -> None:
        self.dtype = np.dtype(dtype)


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_rest: object) -> np.ndarray:
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * item for s in stride))
    return np.array(view)  # a copy: the storage buffer belongs to the zip reader


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file: object, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(file)  # type: ignore[arg-type]
        self.archive = archive
        self.prefix = prefix

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise CheckpointError(f"model file asks for {module}.{name}, which a plain state dict never does")

    def persistent_load(self, pid: object) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"):
            raise CheckpointError(f"unexpected storage reference {pid!r}")
        kind, key = pid[1], pid[2]
        if not isinstance(kind, _StorageType):
            raise CheckpointError(f"unsupported storage type {kind!r}")
        try:
            raw = self.archive.read(f"{self.prefix}/data/{key}")
        except KeyError as exc:
            raise CheckpointError(f"model file lacks storage {key}") from exc
        return np.frombuffer(raw, dtype=kind.dtype)


def load_torch_zip(path: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise CheckpointError(f"{path}: not a PyTorch zip checkpoint")
            prefix = pickles[0].rsplit("/", 1)[0]
            with archive.open(pickles[0]) as fh:
                state = _SafeUnpickler(fh, archive, prefix).load()
    except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError) as exc:
        raise CheckpointError(f"{path}: damaged model file ({exc})") from exc
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise CheckpointError(f"{path}: does not hold a state dict of tensors")
    return dict(state)
