"""Wire settings, knowledge, storage and dialogue together: the one place that knows all of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import Settings, mask_url
from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.dialogue.records import NullRecorder
from bot.live import LiveKnowledge

if TYPE_CHECKING:
    from bot.channels.kit import ChannelKit
    from bot.ratelimit import RateLimiter
    from bot.storage.repository import Repository
    from bot.storage.service import Storage, StorageSettings


@dataclass
class App:
    settings: Settings
    live: LiveKnowledge
    dialogue: Dialogue
    storage: Storage | None = None

    @property
    def repository(self) -> Repository | None:
        """For reports and administrators' commands (slow reads, off the reply path)."""
        return self.storage.repository if self.storage else None

    def database_reachable(self) -> bool | None:
        """None when there is no database; False while it does not answer (as the writer last saw)."""
        return None if self.storage is None else self.storage.status.up

    def health(self) -> dict[str, object]:
        """/healthz: the process lives (always 200); whether storage is degraded and how much waits."""
        snapshot = self.live.snapshot
        storage = self.storage.health() if self.storage else {"database": None}
        return {"status": "ok" if storage["database"] is not False else "degraded",
                "knowledge_version": snapshot.version, "git_commit": snapshot.kb.git_commit,
                "sentence_model": snapshot.matcher.embedder is not None,
                "last_failed_reload": self.live.last_failed_reload, **storage}

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """/readyz: ready when every part works; degraded (answering, records journalled) otherwise."""
        health = self.health()
        reasons = [] if health["database"] is not False else ["database unreachable"]
        return not reasons, {"ready": not reasons, "status": health["status"], "reasons": reasons,
                             **{k: health[k] for k in ("database", "records_waiting", "outage") if k in health}}

    def close(self) -> None:
        """Store what waits (briefly, if the database answers), then release everything."""
        if self.storage is not None:
            self.storage.close()


def storage_settings(settings: Settings) -> StorageSettings:
    from bot.storage.connection import Timeouts
    from bot.storage.service import StorageSettings

    return StorageSettings(
        database_url=settings.effective_database_url, shown_url=mask_url(settings.effective_database_url),
        data_dir=settings.data_dir, context_read_timeout=settings.context_read_timeout,
        timeouts=Timeouts(connect=settings.db_connect_timeout, statement=settings.db_statement_timeout,
                          pool=settings.db_pool_timeout))


def open_repository(settings: Settings, upgrade_sqlite: bool = True) -> Repository:
    """The database for a command that needs it now (reports, purge), schema checked. A local SQLite file
    is brought up to date by itself so that the Quick start needs no extra step; a shared PostgreSQL is
    only changed by `resident-bot db upgrade`. Statements may run long here; connecting may not."""
    # Imported here: SQLAlchemy and Alembic cost a third of a second that `ask` does not need.
    from bot.storage import schema
    from bot.storage.connection import Timeouts, make_engine
    from bot.storage.repository import Repository
    from bot.storage.status import is_outage

    engine = make_engine(settings.effective_database_url, Timeouts(connect=settings.db_connect_timeout))
    try:
        if upgrade_sqlite and engine.url.get_backend_name() == "sqlite":
            schema.upgrade(engine)
        schema.require_current(engine)
    except Exception as exc:
        engine.dispose()
        if not is_outage(exc) or isinstance(exc, schema.SchemaBehind):
            raise
        raise unreachable(settings, exc) from None
    return Repository(engine)


def unreachable(settings: Settings, error: BaseException) -> Exception:
    """The one line for a command that needs the database now and cannot reach it."""
    from bot.storage.errors import StorageUnavailable
    from bot.storage.status import describe

    shown = mask_url(settings.effective_database_url)
    return StorageUnavailable(f"cannot reach the database at DATABASE_URL {shown} ({describe(error)}): check that "
                              "it is running and the URL's host, port, user and password")


def build_app(settings: Settings, *, storage: bool = True) -> App:
    from bot.semantic.model import embedder_for

    live = LiveKnowledge(settings.knowledge_dir, settings.intents_dir, settings.thresholds,
                         settings.max_message_chars, embedder_for(settings), background=True,
                         cache_dir=settings.cache_dir)
    from bot.observability import observe_interaction

    if storage:
        from bot.storage.service import open_storage

        store = open_storage(storage_settings(settings))
        recorder, contexts = store, store
    else:
        store, recorder, contexts = None, NullRecorder(), MemoryContextStore()
    dialogue = Dialogue(live, contexts, recorder, context_ttl=settings.context_ttl_seconds,
                        observers=(observe_interaction,), secret=settings.user_id_salt.get_secret_value())
    return App(settings, live, dialogue, store)


def build_kit(app: App, *, limiter: RateLimiter | None = None) -> ChannelKit:
    """What every channel gets: the dialogue with identity, rate limit, claim-once, ordering and the
    administrators' commands. Channels see only this, never the App or storage."""
    from bot.admin.commands import AdminCommands
    from bot.channels.kit import ChannelKit
    from bot.ratelimit import make_rate_limiter

    settings = app.settings
    repository = app.repository
    report = None
    if repository is not None:
        from bot.reports.report import build_report

        def report(since: dt.datetime) -> dict:
            return build_report(repository, since)

    # Claims go through storage's time box: none is even tried while the database is known to be away.
    return ChannelKit(app.dialogue, salt=settings.user_id_salt.get_secret_value(),
                      limiter=limiter or make_rate_limiter(settings.rate_limit_per_minute, settings.redis_url,
                                                         settings.redis_timeout_seconds),
                      claims=app.storage, admin=AdminCommands(app.live, report))
