"""Conversation context for the dialogue, without making a resident wait for the database.

A read asks the database (another replica may have answered the previous turn) but gives up after
`read_timeout`, and does not ask at all while the database is known to be away: the turn then goes
on with what this process last saw for that conversation, or with no context. A write goes through
the journal like every record. The contexts this process last read or wrote are kept (a bounded
LRU), so a follow-up works while its own write is still on the way, or while the database is away.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bot.dialogue.context import ConversationContext
from bot.observability import CONTEXT_MISSES
from bot.storage.connection import bounded
from bot.storage.entries import ContextWrite
from bot.storage.repository import Repository
from bot.storage.status import StorageStatus
from bot.storage.writer import RecordWriter

READERS = 4  # concurrent reads; more would only queue behind a slow database
REMEMBERED = 10_000  # conversations whose last context is kept in memory (a few MB)
T = TypeVar("T")


class TimeBoxed:
    """Runs short database calls for callers that must not wait long: a caller waits at most
    `timeout`, and none waits at all while the database is known to be away or every reader is busy
    (a slow database: queueing behind it would only add to the wait). A call left behind finishes or
    is cut by its own deadline."""

    def __init__(self, repository: Repository, status: StorageStatus, *, timeout: float, deadline: float):
        self.repository = repository
        self.status = status
        self.timeout = timeout
        self.deadline = deadline
        self._pool = ThreadPoolExecutor(READERS, thread_name_prefix="db-quick")
        self._slots = threading.BoundedSemaphore(READERS)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) within the time box; raises TimeoutError (or fn's error) when it does not fit."""
        if not self.status.up:
            raise TimeoutError("database unreachable")
        if not self._slots.acquire(blocking=False):
            raise TimeoutError("database busy")
        try:
            future = self._pool.submit(self._run, fn, *args)
        except RuntimeError:  # shut down
            self._slots.release()
            raise TimeoutError("closed") from None
        return future.result(timeout=self.timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, fn: Callable[..., T], *args: object) -> T:
        try:
            with bounded(self.repository.engine, self.deadline):
                return fn(*args)
        finally:
            self._slots.release()


class CachedContexts:
    def __init__(self, repository: Repository, writer: RecordWriter, quick: TimeBoxed):
        self.repository = repository
        self.writer = writer
        self.quick = quick
        self._known: OrderedDict[str, ConversationContext] = OrderedDict()
        self._lock = threading.Lock()

    def load_context(self, conversation_id: str) -> ConversationContext | None:
        known = self._recall(conversation_id)
        try:
            stored = self.quick.call(self.repository.load_context, conversation_id)
        except Exception:  # too slow, or away: the writer finds out about outages by itself
            CONTEXT_MISSES.inc()
            return known
        newest = _newer(stored, known)
        if newest is not None:
            self._remember(conversation_id, newest)
        return newest

    def save_context(self, conversation_id: str, context: ConversationContext) -> None:
        self._remember(conversation_id, context)
        self.writer.submit(ContextWrite(conversation_id, context.to_json(), context.updated_at or 0.0))

    def _recall(self, conversation_id: str) -> ConversationContext | None:
        with self._lock:
            return self._known.get(conversation_id)

    def _remember(self, conversation_id: str, context: ConversationContext) -> None:
        with self._lock:
            self._known[conversation_id] = context
            self._known.move_to_end(conversation_id)
            if len(self._known) > REMEMBERED:
                self._known.popitem(last=False)


def _newer(a: ConversationContext | None, b: ConversationContext | None) -> ConversationContext | None:
    """The later of two contexts of one conversation (this process's own write may not be stored yet)."""
    if a is None or b is None:
        return a or b
    return b if b.updated_at > a.updated_at else a
