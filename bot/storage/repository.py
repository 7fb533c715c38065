"""All database reads and writes, through SQLAlchemy with bound parameters only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.dialogue.context import ConversationContext
from bot.dialogue.records import FeedbackRecord, InteractionRecord
from bot.storage.models import Conversation, ConversationState, Feedback, Interaction, ProcessedMessage


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record):  # concurrent readers while the bot writes
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                         connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {})


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Repository:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    # -- writes ---------------------------------------------------------------------------------

    def record_interaction(self, record: InteractionRecord) -> None:
        """Idempotent: the same record id written twice is stored once."""
        with self.sessions.begin() as s:
            if s.get(Interaction, record.id) is not None:
                return
            self._touch_conversation(s, record)
            s.add(Interaction(**asdict(record)))

    @staticmethod
    def _touch_conversation(s: Session, record: InteractionRecord) -> None:
        conv = s.get(Conversation, record.conversation_id)
        if conv is None:
            s.add(Conversation(id=record.conversation_id, channel=record.channel, user_hash=record.user_hash,
                               started_at=record.created_at, last_seen_at=record.created_at))
        else:
            conv.last_seen_at = max(_utc(conv.last_seen_at), record.created_at)

    def record_feedback(self, record: FeedbackRecord) -> None:
        """One rating per answer; pressing again replaces it."""
        with self.sessions.begin() as s:
            row = s.scalar(select(Feedback).where(Feedback.interaction_id == record.interaction_id))
            if row is None:
                s.add(Feedback(**asdict(record)))
            else:
                row.helpful, row.created_at = record.helpful, record.created_at

    def load_context(self, conversation_id: str) -> ConversationContext | None:
        with self.sessions() as s:
            row = s.get(ConversationState, conversation_id)
            return ConversationContext.from_json(row.data) if row else None

    def save_context(self, conversation_id: str, context: ConversationContext) -> None:
        now = dt.datetime.fromtimestamp(context.updated_at or 0, dt.UTC)
        for attempt in range(2):  # two replicas may insert the same new conversation at once
            try:
                with self.sessions.begin() as s:
                    row = s.get(ConversationState, conversation_id)
                    if row is None:
                        s.add(ConversationState(conversation_id=conversation_id, data=context.to_json(),
                                                updated_at=now))
                    else:
                        row.data, row.updated_at = context.to_json(), now
                return
            except IntegrityError:
                if attempt:
                    raise

    def claim_message(self, channel: str, key: str) -> bool:
        """True the first time (channel, message key) is claimed, by any replica; False for a redelivery."""
        try:
            with self.sessions.begin() as s:
                s.add(ProcessedMessage(channel=channel, message_key=key, processed_at=dt.datetime.now(dt.UTC)))
            return True
        except IntegrityError:
            return False

    def purge(self, before: dt.datetime) -> dict[str, int]:
        """Delete everything older than `before`: the privacy retention limit."""
        counts: dict[str, int] = {}
        with self.sessions.begin() as s:
            old = select(Interaction.id).where(Interaction.created_at < before)
            counts["feedback"] = s.execute(
                delete(Feedback).where((Feedback.created_at < before) | Feedback.interaction_id.in_(old))
            ).rowcount
            counts["interactions"] = s.execute(delete(Interaction).where(Interaction.created_at < before)).rowcount
            counts["conversation_context"] = s.execute(
                delete(ConversationState).where(ConversationState.updated_at < before)).rowcount
            counts["processed_messages"] = s.execute(
                delete(ProcessedMessage).where(ProcessedMessage.processed_at < before)).rowcount
            counts["conversations"] = s.execute(
                delete(Conversation).where(Conversation.last_seen_at < before)).rowcount
        return counts

    # -- reads ----------------------------------------------------------------------------------

    def interactions(self, since: dt.datetime, until: dt.datetime | None = None) -> Iterator[Interaction]:
        stmt = select(Interaction).where(Interaction.created_at >= since).order_by(Interaction.created_at)
        if until is not None:
            stmt = stmt.where(Interaction.created_at < until)
        with self.sessions() as s:
            yield from s.scalars(stmt.execution_options(yield_per=1000))

    def feedback(self, since: dt.datetime) -> list[Feedback]:
        with self.sessions() as s:
            return list(s.scalars(select(Feedback).where(Feedback.created_at >= since)))

    def count_interactions(self) -> int:
        from sqlalchemy import func

        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Interaction)) or 0)
