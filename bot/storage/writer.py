"""The background writer: copies the journal to the database in batches, off the reply path.

`submit` (on the reply path) only appends a line to the journal. One thread stores what the journal
holds, as many lines per transaction as have arrived. When the database is away it stops writing and
probes, with backoff, until it answers (and its schema is current), then writes the backlog. A record
the database refuses even after cleaning is tried alone once more, then set aside as a dead letter, so
that it never blocks the records behind it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from bot.observability import RECORDS_DEAD, RECORDS_WAITING, RECORDS_WRITTEN, STORAGE_ERRORS
from bot.storage import schema
from bot.storage.connection import Timeouts, bounded
from bot.storage.deadletter import DeadLetters
from bot.storage.entries import Entry, decode, encode
from bot.storage.errors import SchemaBehind
from bot.storage.journal import Journal
from bot.storage.repository import Repository
from bot.storage.status import StorageStatus, is_outage

log = logging.getLogger("bot.storage")

FIRST_RETRY = 0.5  # seconds before probing a database that just went away; doubled up to MAX_RETRY
MAX_RETRY = 5.0
IDLE_CHORES = 1.0  # how often an idle writer fsyncs the journal
ORPHAN_SCAN = 30.0  # how often it looks for segments left by a replica that died
MEMORY_FALLBACK = 10_000  # records kept in memory when the journal itself cannot be written
LINGER = 0.02  # seconds the writer waits after a small batch, so that the next one is larger
LINGER_BELOW = 100  # records: a batch this small is followed by a linger


class RecordWriter:
    def __init__(self, repository: Repository, journal: Journal, dead: DeadLetters, status: StorageStatus,
                 timeouts: Timeouts, *, check_schema: bool = True):
        self.repository = repository
        self.journal = journal
        self.dead = dead
        self.status = status
        self.timeouts = timeouts
        self.check_schema = check_schema
        self._memory: collections.deque[bytes] = collections.deque(maxlen=MEMORY_FALLBACK)
        self._journal_failing = False
        self._schema_told = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        RECORDS_WAITING.set_function(lambda: self.waiting)

    def start(self) -> RecordWriter:
        self._thread.start()
        return self

    # -- the reply path -----------------------------------------------------------------------------

    def submit(self, entry: Entry) -> None:
        """Journal the entry (flushed to the operating system) and return; the database comes later."""
        line = encode(entry)
        try:
            self.journal.append(line)
            if self._journal_failing:
                self._journal_failing = False
                log.warning("journal writable again")
        except OSError as exc:
            if not self._journal_failing:
                self._journal_failing = True
                log.error("journal not writable (%s); keeping up to %d records in memory", type(exc).__name__,
                          MEMORY_FALLBACK)
            with self.journal.appended:
                self._memory.append(line)
                self.journal.appended.notify_all()

    # -- state ------------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        return self.journal.waiting + len(self._memory)

    def flush(self, timeout: float = 10.0) -> int:
        """Wait until every journalled record is stored (or `timeout`); returns how many still wait."""
        deadline = time.monotonic() + timeout
        while self.waiting and time.monotonic() < deadline and self._thread.is_alive():
            with self.journal.appended:
                self.journal.appended.notify_all()
            time.sleep(0.01)
        return self.waiting

    def close(self, timeout: float = 10.0) -> int:
        """Store what waits while the database answers (up to `timeout`), then stop. Whatever is left
        stays in the journal for the next start. Returns how many records wait there."""
        self._stopping = True
        with self.journal.appended:
            self.journal.appended.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        left = self.waiting
        for line in self._memory:  # the journal may be writable again by now
            try:
                self.journal.append(line)
            except OSError:
                break
        self.journal.sync()
        self.journal.close()
        if left:  # during an outage this was said when it began
            log.log(logging.INFO if not self.status.up else logging.WARNING,
                    "%d record(s) not stored yet; they stay in %s for the next start", left, self.journal.directory)
        return left

    # -- the thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._loop()
                return
            except Exception:  # a bug must not stop the writer for good: records would only pile up
                log.exception("record writer: unexpected error; going on in a second")
                if self._sleep(1.0):
                    return

    def _loop(self) -> None:
        retry, chores = FIRST_RETRY, 0.0
        orphans = time.monotonic()
        while True:
            if not self.status.up:
                if self._stopping or self._sleep(retry):
                    return
                retry = FIRST_RETRY if self._recovered() else min(retry * 2, MAX_RETRY)
                continue
            if self._memory:
                with self.journal.appended:
                    lines = list(self._memory)
                    self._memory.clear()
                if not self._store(lines):
                    with self.journal.appended:
                        self._memory.extendleft(reversed(lines))
                continue
            seen = self.journal.appends
            batch = self.journal.next_batch()
            if batch is not None:
                if self._store(batch.lines, batch.torn):
                    self.journal.consumed(batch)
                    if len(batch.lines) < LINGER_BELOW and not self._stopping:
                        # Let a few more arrive: one transaction per record, and a wake-up of this
                        # thread per reply, cost the replies' share of the cores under load. The
                        # records are already safe in the journal, so waiting loses nothing.
                        time.sleep(LINGER)
                continue
            if self._stopping:
                return
            now = time.monotonic()
            if now - chores >= IDLE_CHORES:
                chores = now
                self.journal.sync()
                if now - orphans >= ORPHAN_SCAN:
                    orphans = now
                    self.journal.adopt_orphans()
            with self.journal.appended:
                if self.journal.appends == seen and not self._memory and not self._stopping:
                    self.journal.appended.wait(IDLE_CHORES)

    def _sleep(self, seconds: float) -> bool:
        """Wait, but wake for close(); True when closing."""
        with self.journal.appended:
            self.journal.appended.wait_for(lambda: self._stopping, seconds)
        return self._stopping

    def _recovered(self) -> bool:
        try:
            with bounded(self.repository.engine, self.timeouts.connect + 1):
                self.repository.probe()
                if self.check_schema:
                    schema.require_current(self.repository.engine)
        except SchemaBehind as exc:
            if not self._schema_told:
                self._schema_told = True
                log.error("database answers, but %s", exc)
            return False
        except Exception:
            return False
        self.journal.adopt_orphans()
        self.status.back(self.waiting)
        return True

    def _store(self, lines: list[bytes], torn: bytes = b"") -> bool:
        """Store a batch of journal lines. False when the database went away (nothing is lost: the
        lines stay where they are and are stored again later, idempotently)."""
        entries: list[Entry] = []
        kept: list[bytes] = []
        for line in lines:
            try:
                entries.append(decode(line))
                kept.append(line)
            except (ValueError, TypeError, KeyError) as exc:
                self._set_aside(line, f"unreadable line ({type(exc).__name__})")
        if torn:
            self._set_aside(torn, "unfinished line")
        try:
            self._write(entries)
        except Exception as exc:
            if self._lost(exc):
                return False
            return self._one_by_one(kept, entries)
        RECORDS_WRITTEN.inc(len(entries))
        return True

    def _one_by_one(self, lines: list[bytes], entries: list[Entry]) -> bool:
        """The database refused something in the batch: store each record alone, and set aside any it
        refuses twice."""
        for line, entry in zip(lines, entries, strict=True):
            for attempt in (1, 2):
                try:
                    self._write([entry])
                    RECORDS_WRITTEN.inc()
                    break
                except Exception as exc:
                    if self._lost(exc):
                        return False
                    if attempt == 2:
                        self._set_aside(line, exc)
        return True

    def _write(self, entries: list[Entry]) -> None:
        if entries:
            with bounded(self.repository.engine, self.timeouts.deadline):
                self.repository.write_batch(entries)

    def _lost(self, exc: BaseException) -> bool:
        """Count a failed write; True (and the status goes down) when the database is the trouble."""
        STORAGE_ERRORS.inc()
        if is_outage(exc):
            self.status.down(exc)
            return True
        return False

    def _set_aside(self, line: bytes, error: BaseException | str) -> None:
        self.dead.add(line, error)
        RECORDS_DEAD.inc()
        log.error("a record was set aside in %s: %s", self.dead.path,
                  error if isinstance(error, str) else type(error).__name__)
