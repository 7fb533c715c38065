"""Per-conversation context for follow-ups and clarification, kept in storage between turns."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ConversationContext:
    last_entry_id: str | None = None
    choices: tuple[str, ...] = ()  # entry ids offered by the last clarification
    pending_question: str | None = None  # the message that led to the clarification
    rateable_interaction_id: str | None = None  # the last answer, for + / - feedback
    rateable_entry_id: str | None = None
    script: str = "simplified"
    updated_at: float = 0.0
    turns: int = field(default=0)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ConversationContext:
        data = json.loads(text)
        data["choices"] = tuple(data.get("choices") or ())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class ContextStore(Protocol):
    def load_context(self, conversation_id: str) -> ConversationContext | None: ...

    def save_context(self, conversation_id: str, context: ConversationContext) -> None: ...


class MemoryContextStore:
    """For tests, evaluation and `ask`: a store that forgets when the process ends."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def load_context(self, conversation_id: str) -> ConversationContext | None:
        with self._lock:
            raw = self._data.get(conversation_id)
        return ConversationContext.from_json(raw) if raw else None

    def save_context(self, conversation_id: str, context: ConversationContext) -> None:
        with self._lock:
            self._data[conversation_id] = context.to_json()
