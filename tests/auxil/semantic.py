"""The sentence model as the tests use it: the one the README's install commands install."""

from __future__ import annotations

from bot.semantic.model import INSTALL_HINT, Embedder, shared_embedder


def bundled_embedder() -> Embedder:
    """Fails, not skips, without the model: the README's test command installs it, and the accuracy floors
    assume it. Vectors are kept in memory for the session only."""
    embedder = shared_embedder("auto", None)
    if embedder is None:
        raise RuntimeError(f"the sentence model is not installed: {INSTALL_HINT}")
    return embedder
