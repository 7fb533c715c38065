"""What the dialogue hands to storage: one record per message and per feedback press."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    id: str  # idempotency key: writing the same record twice stores it once
    conversation_id: str
    created_at: dt.datetime
    channel: str
    user_hash: str | None
    text: str
    normalised: str
    status: str
    entry_id: str | None
    intent_id: str | None
    score: float
    candidates: list[dict[str, object]]
    kb_version: str
    latency_ms: float
    reason: str = ""
    asked: str | None = None  # for a clarification choice ("2", "都不是"): the question it answers


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    interaction_id: str
    conversation_id: str
    entry_id: str | None
    helpful: bool
    created_at: dt.datetime
    comment: str | None = None  # what the resident wrote with the rating (the HTTP API's feedback)


class Recorder(Protocol):
    def record_interaction(self, record: InteractionRecord) -> None: ...

    def record_feedback(self, record: FeedbackRecord) -> None: ...


class NullRecorder:
    """Records nothing: for evaluation runs that must not pollute the database."""

    def record_interaction(self, record: InteractionRecord) -> None:
        return None

    def record_feedback(self, record: FeedbackRecord) -> None:
        return None


def hash_user_id(user_id: str | int | None, salt: str) -> str | None:
    """Residents are stored only as a salted hash: the raw id never reaches the database or logs."""
    if user_id is None or user_id == "":
        return None
    return hmac.new(salt.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:32]
