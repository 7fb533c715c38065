"""Wire settings, knowledge, storage and dialogue together: the one place that knows all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.dialogue.records import NullRecorder
from bot.live import LiveKnowledge

if TYPE_CHECKING:
    from bot.storage.buffer import BufferedRecorder
    from bot.storage.repository import Repository


@dataclass
class App:
    settings: Settings
    live: LiveKnowledge
    dialogue: Dialogue
    repository: Repository | None
    recorder: BufferedRecorder | NullRecorder

    def dialogue_hash(self, user: str) -> str:
        """A conversation id for an API user that does not reveal who they are."""
        from bot.dialogue.records import hash_user_id

        return (hash_user_id(user, self.settings.user_id_salt.get_secret_value()) or "")[:24]

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

    dialogue = Dialogue(live, contexts, recorder, salt=settings.user_id_salt.get_secret_value(),
                        context_ttl=settings.context_ttl_seconds, observers=(observe_interaction,))
    return App(settings, live, dialogue, repository, recorder)
