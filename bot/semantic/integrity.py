"""The sha256 of a model file, checked before the file is parsed or executed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.semantic.checkpoint import CheckpointError


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the model file ({exc})") from exc
    return digest.hexdigest()


def verify(expected: dict[Path, str]) -> None:
    """Refuse the model when any file differs from the one its figures were measured with."""
    for path, want in expected.items():
        got = sha256_of(path)
        if got != want.lower():
            raise CheckpointError(f"{path}: sha256 {got} is not the pinned {want.lower()}; the file changed "
                                  "since install (reinstall the package from requirements/, or choose "
                                  "another SEMANTIC_MODEL)")
