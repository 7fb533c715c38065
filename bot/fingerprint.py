"""A fingerprint of the code that builds a cached artifact, so that a cache written by other code is stale."""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path


def code_fingerprint(tag: str, package_dir: Path, modules: tuple[str, ...], libraries: tuple[str, ...]) -> str:
    """sha256 of `tag`, the source of `modules` (files in `package_dir`) and the installed versions of
    `libraries` (a missing one counts as "-")."""
    h = hashlib.sha256(tag.encode())
    for module in modules:
        h.update((package_dir / f"{module}.py").read_bytes())
    for lib in libraries:
        try:
            h.update(f"{lib} {importlib.metadata.version(lib)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{lib} -".encode())
    return h.hexdigest()
