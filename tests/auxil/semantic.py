"""The sentence models as the tests use them, with the knowledge base's vectors cached in the checkout.

`.cache/` (ignored by git) is shared by every test session of one checkout and by the CLI processes the
tests start (conftest sets CACHE_DIR): the bundled knowledge base is encoded once per checkout and model,
not once per test. The cache file is named after the model's files; its rows after the texts encoded.
"""

from __future__ import annotations

from bot.semantic.catalogue import M3E_SMALL
from bot.semantic.model import DEFAULT_MODEL, Embedder, shared_embedder
from tests.auxil.kb import ROOT

TEST_CACHE = ROOT / ".cache" / "test-vectors"


def bundled_embedder() -> Embedder:
    """The default model. Fails, not skips, without it: the README's test command installs it, and the
    accuracy floors assume it."""
    embedder = shared_embedder("auto", TEST_CACHE)
    if embedder is None:
        raise RuntimeError(f"the default sentence model is not installed: {DEFAULT_MODEL.install}")
    return embedder


def m3e_embedder() -> Embedder:
    """m3e-small, the BERT model the numpy encoder is checked against (installed by the test command for
    that only; never chosen by `auto`)."""
    embedder = shared_embedder("m3e-small", TEST_CACHE)
    if embedder is None:
        raise RuntimeError(f"m3e-small is not installed: {M3E_SMALL.install}")
    return embedder
