"""A recorder that never loses a resident's answer to a database hiccup.

Writes that fail are kept in a bounded queue and retried before the next write; the failure is
logged once per outage, not once per message.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from bot.dialogue.records import FeedbackRecord, InteractionRecord
from bot.storage.repository import Repository

log = logging.getLogger(__name__)


class BufferedRecorder:
    def __init__(self, repository: Repository, max_pending: int = 10_000):
        self.repository = repository
        self.pending: deque[InteractionRecord | FeedbackRecord] = deque(maxlen=max_pending)
        self._lock = threading.Lock()
        self._failing = False

    def record_interaction(self, record: InteractionRecord) -> None:
        self._write(record)

    def record_feedback(self, record: FeedbackRecord) -> None:
        self._write(record)

    def flush(self) -> int:
        """Write what is pending; returns how many records are still pending."""
        with self._lock:
            while self.pending:
                record = self.pending[0]
                try:
                    self._store(record)
                except Exception as exc:
                    self._note_failure(exc)
                    break
                self.pending.popleft()
            else:
                if self._failing:
                    log.warning("storage is back; pending records written")
                self._failing = False
            return len(self.pending)

    def _write(self, record: InteractionRecord | FeedbackRecord) -> None:
        with self._lock:
            self.pending.append(record)
        self.flush()

    def _store(self, record: InteractionRecord | FeedbackRecord) -> None:
        if isinstance(record, InteractionRecord):
            self.repository.record_interaction(record)
        else:
            self.repository.record_feedback(record)

    def _note_failure(self, exc: Exception) -> None:
        from bot.observability import STORAGE_ERRORS

        STORAGE_ERRORS.inc()
        if not self._failing:
            log.error("storage unavailable (%s); keeping up to %d records in memory",
                      type(exc).__name__, self.pending.maxlen)
        self._failing = True
