"""A recorder that never loses a resident's answer to a database hiccup.

Writes that fail wait in a bounded queue in memory; past that bound the oldest are spilled to a local
JSON-lines file. Every later write first retries what waits, file first, and records are keyed by id, so
when the database returns each record is stored exactly once. The failure is logged once per outage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
from collections import deque
from pathlib import Path

from bot.dialogue.records import FeedbackRecord, InteractionRecord
from bot.storage.repository import Repository

log = logging.getLogger(__name__)

Record = InteractionRecord | FeedbackRecord


class BufferedRecorder:
    def __init__(self, repository: Repository, max_pending: int = 1000, spill_path: Path | None = None):
        self.repository = repository
        self.max_pending = max_pending
        self.spill_path = spill_path
        self.pending: deque[Record] = deque()
        self._lock = threading.Lock()
        self._failing = False

    def record_interaction(self, record: InteractionRecord) -> None:
        self._write(record)

    def record_feedback(self, record: FeedbackRecord) -> None:
        self._write(record)

    @property
    def spilled(self) -> int:
        if self.spill_path is None or not self.spill_path.exists():
            return 0
        with self.spill_path.open(encoding="utf-8") as f:
            return sum(1 for _ in f)

    def flush(self) -> int:
        """Write what waits (spilled first, they are older); returns how many records still wait."""
        with self._lock:
            if not self._drain_spill():
                return len(self.pending) + self.spilled
            while self.pending:
                try:
                    self._store(self.pending[0])
                except Exception as exc:
                    self._note_failure(exc)
                    return len(self.pending)
                self.pending.popleft()
            if self._failing:
                log.warning("storage is back; waiting records written")
            self._failing = False
            return 0

    def close(self) -> None:
        """At shutdown: a last try, then whatever still waits goes to the spill file."""
        if self.flush() and self.spill_path is not None:
            with self._lock:
                self._spill(len(self.pending))

    # -- internals --------------------------------------------------------------------------------

    def _write(self, record: Record) -> None:
        with self._lock:
            self.pending.append(record)
            overflow = len(self.pending) - self.max_pending
            if overflow > 0:
                if self.spill_path is not None:
                    self._spill(overflow)
                else:  # nowhere to spill: drop the oldest, loudly
                    for _ in range(overflow):
                        self.pending.popleft()
                    log.error("storage unavailable and no spill file: dropped %d record(s)", overflow)
        self.flush()

    def _spill(self, count: int) -> None:
        assert self.spill_path is not None
        self.spill_path.parent.mkdir(parents=True, exist_ok=True)
        with self.spill_path.open("a", encoding="utf-8") as f:
            for _ in range(count):
                f.write(_dump(self.pending.popleft()) + "\n")

    def _drain_spill(self) -> bool:
        """Write the spilled records; True when none are left."""
        if self.spill_path is None or not self.spill_path.exists():
            return True
        lines = self.spill_path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            try:
                self._store(_load(line))
            except Exception as exc:
                self._note_failure(exc)
                self.spill_path.write_text("".join(x + "\n" for x in lines[i:]), encoding="utf-8")
                return False
        self.spill_path.unlink()
        return True

    def _store(self, record: Record) -> None:
        if isinstance(record, InteractionRecord):
            self.repository.record_interaction(record)
        else:
            self.repository.record_feedback(record)

    def _note_failure(self, exc: Exception) -> None:
        from bot.observability import STORAGE_ERRORS

        STORAGE_ERRORS.inc()
        if not self._failing:
            log.error("storage unavailable (%s); keeping up to %d records in memory%s", type(exc).__name__,
                      self.max_pending, f", then in {self.spill_path}" if self.spill_path else "")
        self._failing = True


def _dump(record: Record) -> str:
    data = dataclasses.asdict(record)
    data["created_at"] = record.created_at.isoformat()
    data["kind"] = "interaction" if isinstance(record, InteractionRecord) else "feedback"
    return json.dumps(data, ensure_ascii=False)


def _load(line: str) -> Record:
    data = json.loads(line)
    kind = data.pop("kind")
    data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
    return InteractionRecord(**data) if kind == "interaction" else FeedbackRecord(**data)
