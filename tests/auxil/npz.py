"""Editing a stored .npz file in place, for tests that check a damaged or foreign store is not trusted."""

from __future__ import annotations

import numpy as np


def rewrite(path, **changes):
    """Write `path` again with some of its arrays replaced (or added)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
