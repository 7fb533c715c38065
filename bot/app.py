"""Wire settings, knowledge, storage and dialogue together: the one place that knows all of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.dialogue.records import NullRecorder
from bot.live import LiveKnowledge

if TYPE_CHECKING:
    from bot.channels.kit import ChannelKit
    from bot.ratelimit import RateLimiter
    from bot.storage.buffer import BufferedRecorder
    from bot.storage.repository import Repository


@dataclass
class App:
    settings: Settings
    live: LiveKnowledge
    dialogue: Dialogue
    repository: Repository | None
    recorder: BufferedRecorder | NullRecorder

    def database_reachable(self) -> bool | None:
        """None when there is no database; False when it does not answer."""
        if self.repository is None:
            return None
        try:
            from sqlalchemy import text

            with self.repository.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def close(self) -> None:
        if not isinstance(self.recorder, NullRecorder):
            self.recorder.close()
        if self.repository is not None:
            self.repository.engine.dispose()


def open_repository(settings: Settings, upgrade_sqlite: bool = True) -> Repository:
    """The database, schema checked. A local SQLite file is brought up to date by itself so that the
    Quick start needs no extra step; a shared PostgreSQL is only changed by `resident-bot db upgrade`."""
    # Imported here: SQLAlchemy and Alembic cost a third of a second that `ask` does not need.
    from bot.storage import schema
    from bot.storage.repository import Repository, make_engine

    engine = make_engine(settings.effective_database_url)
    if upgrade_sqlite and engine.url.get_backend_name() == "sqlite":
        schema.upgrade(engine)
    schema.require_current(engine)
    return Repository(engine)


def build_app(settings: Settings, *, storage: bool = True) -> App:
    from bot.semantic.model import embedder_for

    live = LiveKnowledge(settings.knowledge_dir, settings.intents_dir, settings.thresholds,
                         settings.max_message_chars, embedder_for(settings), background=True)
    if storage:
        from bot.storage.buffer import BufferedRecorder

        repository = open_repository(settings)
        recorder: BufferedRecorder | NullRecorder = BufferedRecorder(
            repository, spill_path=settings.data_dir / "pending-records.jsonl")
        contexts = repository
    else:
        repository, recorder, contexts = None, NullRecorder(), MemoryContextStore()
    from bot.observability import observe_interaction

    dialogue = Dialogue(live, contexts, recorder, context_ttl=settings.context_ttl_seconds,
                        observers=(observe_interaction,))
    return App(settings, live, dialogue, repository, recorder)


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

    return ChannelKit(app.dialogue, salt=settings.user_id_salt.get_secret_value(),
                      limiter=limiter or make_rate_limiter(settings.rate_limit_per_minute, settings.redis_url),
                      claims=repository, admin=AdminCommands(app.live, report))
