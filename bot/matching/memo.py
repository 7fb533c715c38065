"""Remembered decisions: residents ask the same few questions again and again, and matching one costs more
than everything else a message needs. A snapshot's matcher is a pure function of (message, previous entry)
once its sentence vectors are settled, so its decisions can be kept and given again.

One memo belongs to one matcher, and so to one knowledge base snapshot: a reload builds a new matcher with
an empty memo, and an old decision is never given for new knowledge. A decision that does not depend on
the conversation (a standalone question: no follow-up marker, too long to be read as a follow-up) is kept
once for every previous entry; any other is kept per previous entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from bot.matching.decision import Decision

SIZE = 4096  # decisions kept (a few MB at most; a district's residents ask far fewer distinct questions)


class DecisionMemo:
    """A bounded LRU of decisions, keyed by (state, message, previous entry id). `state` names whatever else
    the decision depends on (whether the sentence model is in use, the thresholds), so that a change misses."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._items: OrderedDict[tuple[Hashable, str, str | None], tuple[Decision, bool]] = OrderedDict()
        self._lock = threading.Lock()  # threads answer messages side by side

    def recall(self, state: Hashable, message: str, previous: str | None) -> Decision | None:
        with self._lock:
            key = (state, message, None)
            got = self._items.get(key)
            if got is None or not (got[1] or previous is None):
                key = (state, message, previous)
                got = self._items.get(key) if previous is not None else None
            if got is None:
                return None
            self._items.move_to_end(key)
            return got[0]

    def keep(self, state: Hashable, message: str, previous: str | None, decision: Decision, context_free: bool) -> None:
        """`context_free`: the same decision would be made after any previous entry, or none."""
        key = (state, message, None if context_free else previous)
        with self._lock:
            self._items[key] = (decision, context_free)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
