"""Short garbage collections in a serving process.

A snapshot of the knowledge base (its index, facts and honesty tables) and jieba's dictionary are hundreds of
thousands of long-lived objects and some very large dicts. Python's full collection walks all of them: about
45 ms for the bundled knowledge base on an idle core (far more for a city's), with the GIL held, so every
message in flight waits; under load one comes every few seconds, and it was most of the HTTP API's p99.
`settle` freezes what exists once the snapshot is in place (`gc.freeze`): the collector then walks only what
messages allocate. Frozen objects are still freed by reference counting; cycles among them (a replaced
snapshot's) wait for the next `settle`, which unfreezes and collects first, so at most one replaced
snapshot waits at a time.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """After start and after each reload: collect what building (and the replaced snapshot) left, then
    freeze the rest. Takes one full collection (tens of ms); not for a request's path."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
