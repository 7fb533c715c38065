"""What the journal holds and the writer stores: interactions, feedback presses and conversation
context, one JSON line each. Interactions and feedback keep the line format of the earlier spill file,
so that a spill file left by an older version is replayed too."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from bot.dialogue.records import FeedbackRecord, InteractionRecord
from bot.storage.clean import storable, storable_text


@dataclass(frozen=True, slots=True)
class ContextWrite:
    conversation_id: str
    data: str  # ConversationContext as JSON
    updated_at: float  # seconds since the epoch; a write never replaces a newer one

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.updated_at, dt.UTC)


Entry = InteractionRecord | FeedbackRecord | ContextWrite
_KINDS: dict[str, type] = {"interaction": InteractionRecord, "feedback": FeedbackRecord, "context": ContextWrite}
_NAMES = {cls: name for name, cls in _KINDS.items()}


def clean(entry: Entry) -> Entry:
    if isinstance(entry, ContextWrite):
        return ContextWrite(storable_text(entry.conversation_id, 64, key=True), storable_text(entry.data),
                            entry.updated_at)
    return storable(entry)


def encode(entry: Entry) -> bytes:
    data = {f.name: getattr(entry, f.name) for f in dataclasses.fields(clean(entry))}
    if "created_at" in data:
        data["created_at"] = data["created_at"].isoformat()
    data["kind"] = _NAMES[type(entry)]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode(line: bytes) -> Entry:
    """The entry a journal line holds; ValueError (or TypeError) when it holds none."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    cls = _KINDS[str(data.pop("kind", ""))] if data.get("kind") in _KINDS else None
    if cls is None:
        raise ValueError("unknown kind of record")
    if "created_at" in data:
        data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
    return cls(**data)
