"""All database reads and writes, through SQLAlchemy with bound parameters only."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace

from sqlalchemy import Engine, Executable, bindparam, case, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.dialogue.context import ConversationContext
from bot.dialogue.records import FeedbackRecord, InteractionRecord
from bot.storage.connection import make_engine  # noqa: F401  (its old home; callers in flight import it here)
from bot.storage.entries import ContextWrite, Entry, clean
from bot.storage.models import Conversation, ConversationState, Feedback, Interaction, ProcessedMessage


class Repository:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    # -- writes ---------------------------------------------------------------------------------

    def write_batch(self, entries: Sequence[Entry]) -> None:
        """Store entries in one transaction. Idempotent and order-free, so a journal can be replayed
        any number of times: an interaction id is stored once, and a rating or a context never
        replaces a newer one."""
        entries = [clean(e) for e in entries]
        interactions = list({e.id: e for e in entries if isinstance(e, InteractionRecord)}.values())
        pressed = [e for e in entries if isinstance(e, FeedbackRecord)]
        ratings = _latest(pressed, lambda e: e.interaction_id, lambda e: e.created_at)
        known = {e.interaction_id: e.entry_id for e in pressed if e.entry_id}  # as the upsert keeps it
        ratings = [replace(r, entry_id=known.get(r.interaction_id)) if r.entry_id is None else r for r in ratings]
        contexts = _latest(
            [e for e in entries if isinstance(e, ContextWrite)], lambda e: e.conversation_id, lambda e: e.updated_at)
        statements = _upserts(self.engine)
        # Each statement is executed with a list of rows (executemany): its SQL is compiled once per
        # process and cached, where a VALUES list of each batch's length was compiled for every batch
        # (half the writer's CPU under load, taken from the replies' share of the cores).
        with self.engine.begin() as conn:
            if interactions:
                conn.execute(statements.conversations, _conversations(interactions))
                conn.execute(statements.interactions, [_row(r) for r in interactions])
            if ratings:
                conn.execute(statements.ratings, [_row(r) for r in ratings])
            if contexts:
                conn.execute(statements.contexts, [
                    {"conversation_id": c.conversation_id, "data": c.data, "updated_at": c.created_at}
                    for c in contexts])

    def probe(self) -> None:
        """Raises unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def record_interaction(self, record: InteractionRecord) -> None:
        """Idempotent: the same record id written twice is stored once."""
        self.write_batch([record])

    def record_feedback(self, record: FeedbackRecord) -> None:
        """One rating per answer; pressing again replaces it."""
        self.write_batch([record])

    def save_context(self, conversation_id: str, context: ConversationContext) -> None:
        self.write_batch([ContextWrite(conversation_id, context.to_json(), context.updated_at or 0.0)])

    def load_context(self, conversation_id: str) -> ConversationContext | None:
        # A Core statement, compiled once: this read is on every turn, and the ORM's identity map and
        # session cost more than the query. One statement needs no transaction: in autocommit it is one
        # round trip, where BEGIN and the ROLLBACK when the connection goes back made it three.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            data = conn.execute(_CONTEXT_DATA, {"id": conversation_id}).scalar_one_or_none()
        return ConversationContext.from_json(data) if data is not None else None

    def claim_message(self, channel: str, key: str) -> bool:
        """True the first time (channel, message key) is claimed, by any replica; False for a redelivery."""
        try:
            with self.sessions.begin() as s:
                s.add(ProcessedMessage(channel=channel, message_key=key, processed_at=dt.datetime.now(dt.UTC)))
            return True
        except IntegrityError:
            return False

    def keep_reply(self, channel: str, key: str, reply: str) -> None:
        """The reply a claimed message got, for its retries (claimed here if the claim itself was missed)."""
        stmt = _upserts(self.engine).replies
        with self.engine.begin() as conn:
            conn.execute(stmt, {"channel": channel, "message_key": key, "reply": reply,
                                "processed_at": dt.datetime.now(dt.UTC)})

    def kept_reply(self, channel: str, key: str) -> str | None:
        """The reply kept for a claimed message; None while it is being worked out (or was never kept)."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return conn.execute(_KEPT_REPLY, {"channel": channel, "key": key}).scalar_one_or_none()

    def take_over(self, channel: str, key: str, claimed_before: dt.datetime) -> bool:
        """Claim again a message claimed before `claimed_before` whose reply was never kept (the replica that
        claimed it died or lost it): True for exactly one caller, who answers it."""
        stmt = (update(ProcessedMessage)
                .where(ProcessedMessage.channel == channel, ProcessedMessage.message_key == key,
                       ProcessedMessage.reply.is_(None), ProcessedMessage.processed_at < claimed_before)
                .values(processed_at=dt.datetime.now(dt.UTC)))
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def purge(self, before: dt.datetime) -> dict[str, int]:
        """Delete everything older than `before`: the privacy retention limit."""
        counts: dict[str, int] = {}
        with self.sessions.begin() as s:
            if self.engine.dialect.name == "sqlite":  # overwrite deleted rows instead of leaving them in free pages
                s.connection().exec_driver_sql("PRAGMA secure_delete=ON")
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

    def checkpoint(self) -> bool:
        """SQLite: copy the write-ahead log into the database file and empty it, so that deleted text
        no longer lies in the log. False when a reader (a running bot) kept it from finishing."""
        if self.engine.dialect.name != "sqlite":
            return True
        with self.engine.connect() as conn:
            busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        return not busy

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
        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Interaction)) or 0)


_CONTEXT_DATA = select(ConversationState.data).where(ConversationState.conversation_id == bindparam("id"))
_KEPT_REPLY = select(ProcessedMessage.reply).where(ProcessedMessage.channel == bindparam("channel"),
                                                   ProcessedMessage.message_key == bindparam("key"))


@dataclass(frozen=True, slots=True)
class _Upserts:
    conversations: Executable
    interactions: Executable
    ratings: Executable
    contexts: Executable
    replies: Executable


@functools.cache
def _upserts_for(dialect: str) -> _Upserts:
    """The idempotent, order-free writes of `write_batch`, built once per dialect."""
    insert = _insert_for_dialect(dialect)
    stmt = insert(Conversation)
    new = stmt.excluded
    conversations = stmt.on_conflict_do_update(index_elements=[Conversation.id], set_={
        "started_at": case((new.started_at < Conversation.started_at, new.started_at), else_=Conversation.started_at),
        "last_seen_at": case((new.last_seen_at > Conversation.last_seen_at, new.last_seen_at),
                             else_=Conversation.last_seen_at)})
    interactions = insert(Interaction).on_conflict_do_nothing(index_elements=[Interaction.id])
    stmt = insert(Feedback)
    ratings = stmt.on_conflict_do_update(
        index_elements=[Feedback.interaction_id],
        # A later press (a comment sent after 没帮助, a rating of an earlier answer) may not know the entry:
        # the one stored stays.
        set_={"helpful": stmt.excluded.helpful, "created_at": stmt.excluded.created_at,
              "entry_id": func.coalesce(stmt.excluded.entry_id, Feedback.entry_id), "comment": stmt.excluded.comment},
        where=Feedback.created_at <= stmt.excluded.created_at)
    stmt = insert(ConversationState)
    contexts = stmt.on_conflict_do_update(
        index_elements=[ConversationState.conversation_id],
        set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at},
        where=ConversationState.updated_at <= stmt.excluded.updated_at)
    stmt = insert(ProcessedMessage)
    replies = stmt.on_conflict_do_update(index_elements=[ProcessedMessage.channel, ProcessedMessage.message_key],
                                         set_={"reply": stmt.excluded.reply})
    return _Upserts(conversations, interactions, ratings, contexts, replies)


def _upserts(engine: Engine) -> _Upserts:
    return _upserts_for("postgresql" if engine.dialect.name == "postgresql" else "sqlite")


def _insert_for_dialect(name: str):
    """INSERT with ON CONFLICT, which SQLAlchemy offers per dialect."""
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _latest(items: list, key, when) -> list:
    """One item per key: the newest (the later one on a tie, as in the journal's order)."""
    chosen: dict = {}
    for item in items:
        k = key(item)
        if k not in chosen or when(item) >= when(chosen[k]):
            chosen[k] = item
    return list(chosen.values())


def _row(record: InteractionRecord | FeedbackRecord) -> dict[str, object]:
    """The record's fields as bind parameters. Not `dataclasses.asdict`, which deep-copies every value (the
    candidates' list of dicts): a fifth of the writer's CPU, for copies thrown away at once."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _conversations(records: list[InteractionRecord]) -> list[dict[str, object]]:
    rows: dict[str, dict[str, object]] = {}
    for r in records:
        row = rows.setdefault(r.conversation_id, {"id": r.conversation_id, "channel": r.channel,
                                                  "user_hash": r.user_hash, "started_at": r.created_at,
                                                  "last_seen_at": r.created_at})
        row["started_at"] = min(row["started_at"], r.created_at)  # type: ignore[type-var]
        row["last_seen_at"] = max(row["last_seen_at"], r.created_at)  # type: ignore[type-var]
    return list(rows.values())

