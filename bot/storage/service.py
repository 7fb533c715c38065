"""Storage as the dialogue sees it: a Recorder and a ContextStore that never make a resident wait.

Behind it: the journal (every record, on disk before the reply is sent), the background writer (the
journal into the database, in batches), dead letters, the database's status, and time-boxed reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.dialogue.context import ConversationContext
from bot.dialogue.records import FeedbackRecord, InteractionRecord
from bot.observability import CLAIMS_UNCHECKED
from bot.storage import schema
from bot.storage.connection import Timeouts, bounded, make_engine
from bot.storage.contexts import CachedContexts, TimeBoxed
from bot.storage.deadletter import FILE_NAME as DEAD_LETTERS
from bot.storage.deadletter import DeadLetters
from bot.storage.errors import SchemaBehind, StorageUnavailable
from bot.storage.journal import Journal
from bot.storage.repository import Repository
from bot.storage.status import StorageStatus, describe, is_outage
from bot.storage.writer import RecordWriter

log = logging.getLogger("bot.storage")

JOURNAL_DIR = "journal"
LEGACY_SPILL = "pending-records.jsonl"  # where versions before the journal spilled records


@dataclass(frozen=True, slots=True)
class StorageSettings:
    database_url: str  # SQLAlchemy URL
    shown_url: str  # the same with the password hidden, for messages
    data_dir: Path
    timeouts: Timeouts
    context_read_timeout: float


class Storage:
    def __init__(self, repository: Repository, status: StorageStatus, writer: RecordWriter,
                 contexts: CachedContexts, quick: TimeBoxed, dead: DeadLetters):
        self.repository = repository
        self.status = status
        self.writer = writer
        self.contexts = contexts
        self.quick = quick
        self.dead = dead

    # -- Recorder and ContextStore (bot/dialogue) ----------------------------------------------------

    def record_interaction(self, record: InteractionRecord) -> None:
        self.writer.submit(record)

    def record_feedback(self, record: FeedbackRecord) -> None:
        self.writer.submit(record)

    def load_context(self, conversation_id: str) -> ConversationContext | None:
        return self.contexts.load_context(conversation_id)

    def save_context(self, conversation_id: str, context: ConversationContext) -> None:
        self.contexts.save_context(conversation_id, context)

    # -- for channels and the server ---------------------------------------------------------------

    def claim_message(self, channel: str, key: str) -> bool:
        """True the first time (channel, key) is claimed, by any replica. Also True when the database
        cannot say in time: answering twice is better than not answering (the outage is logged once)."""
        try:
            return self.quick.call(self.repository.claim_message, channel, key)
        except Exception:
            CLAIMS_UNCHECKED.inc()
            return True

    # A client's retry (bot/channels/kit.py): time-boxed like the claim; the kit decides what a failure means.

    def keep_reply(self, channel: str, key: str, reply: str) -> None:
        self.quick.call(self.repository.keep_reply, channel, key, reply)

    def kept_reply(self, channel: str, key: str) -> str | None:
        return self.quick.call(self.repository.kept_reply, channel, key)

    def take_over(self, channel: str, key: str, claimed_before: dt.datetime) -> bool:
        return self.quick.call(self.repository.take_over, channel, key, claimed_before)

    def health(self) -> dict[str, object]:
        return {"database": self.status.up, "records_waiting": self.writer.waiting,
                "records_set_aside": self.dead.count, **({} if self.status.up else {"outage": self.status.to_dict()})}

    def flush(self, timeout: float = 10.0) -> int:
        """Wait until what was recorded is stored; returns how many records still wait."""
        return self.writer.flush(timeout)

    def close(self, timeout: float = 10.0) -> int:
        self.quick.close()
        left = self.writer.close(timeout)
        self.repository.engine.dispose()
        return left


def journal_directory(data_dir: Path, database: str) -> Path:
    """One journal per database, so that records are only ever replayed into the database they were
    meant for (a data directory may serve `chat` on SQLite today and PostgreSQL tomorrow)."""
    return data_dir / JOURNAL_DIR / hashlib.sha256(database.encode()).hexdigest()[:16]


def open_storage(settings: StorageSettings) -> Storage:
    """Storage for a running bot. A database that does not answer does not stop it: it starts degraded
    (one log line), keeps records in the journal and recovers by itself when the database returns."""
    t = settings.timeouts
    engine = make_engine(settings.database_url, t)
    repository = Repository(engine)
    journal_dir = journal_directory(settings.data_dir, engine.url.render_as_string(hide_password=True))
    status = StorageStatus(str(journal_dir))
    local = engine.dialect.name == "sqlite"
    try:
        with bounded(engine, t.connect + 1):
            if local:  # a local file is brought up to date by itself, so the Quick start needs no step
                schema.upgrade(engine)
            schema.require_current(engine)
    except SchemaBehind:
        engine.dispose()
        raise
    except Exception as exc:
        if local or not is_outage(exc):
            engine.dispose()
            raise StorageUnavailable(f"DATABASE_URL {settings.shown_url}: {describe(exc)}; check the path and "
                                     f"that this user may write there") from None
        status.down(exc, at_start=f"DATABASE_URL is {settings.shown_url}: check that the server is running "
                                  "and the URL's host, port, user and password")
    journal = Journal(journal_dir, legacy_spill=settings.data_dir / LEGACY_SPILL)
    dead = DeadLetters(settings.data_dir / DEAD_LETTERS)
    writer = RecordWriter(repository, journal, dead, status, t).start()
    quick = TimeBoxed(repository, status, timeout=settings.context_read_timeout, deadline=t.deadline)
    return Storage(repository, status, writer, CachedContexts(repository, writer, quick), quick, dead)
