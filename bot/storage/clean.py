"""Make a record storable by every database: residents can send anything, a database cannot keep it all.

PostgreSQL refuses text holding NUL; no UTF-8 encoder accepts an unpaired surrogate (JSON allows
"\\ud800", so the HTTP API can receive one); a VARCHAR column refuses a longer value; JSON has no NaN.
Any of these used to make a record fail on every retry. Cleaning keeps what the resident meant and
marks what it had to change with U+FFFD, the replacement character.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from typing import TypeVar

from bot.dialogue.records import FeedbackRecord, InteractionRecord

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Column lengths of the schema (bot/storage/models.py); longer values are refused by PostgreSQL.
_LIMITS = {
    "id": 32, "interaction_id": 32, "conversation_id": 64, "channel": 20, "user_hash": 64, "status": 16,
    "entry_id": 64, "intent_id": 32, "kb_version": 64, "reason": 32,
}
_KEYS = {"id", "interaction_id", "conversation_id", "user_hash"}  # two values must stay two values
_DIGEST = 12
R = TypeVar("R", InteractionRecord, FeedbackRecord)


def storable_text(text: str, limit: int | None = None, *, key: bool = False) -> str:
    """`text` without NUL or unpaired surrogates, at most `limit` characters. A key that is too long
    keeps its start and ends with a digest of the whole, so that two long keys never merge."""
    if _UNSTORABLE.search(text):
        # Valid surrogate pairs cannot occur in a str built by Python's decoders; any surrogate is lone.
        text = _UNSTORABLE.sub(REPLACEMENT, text)
    if limit is not None and len(text) > limit:
        if key:
            digest = hashlib.sha256(text.encode()).hexdigest()[:_DIGEST]
            text = text[: limit - _DIGEST - 1] + "~" + digest
        else:
            text = text[:limit]
    return text


def storable_value(value: object) -> object:
    """Strings cleaned and floats made finite all the way down a JSON value."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_value(v) for v in value]
    return value


def storable(record: R) -> R:
    """The same record with every field a database will accept."""
    changes: dict[str, object] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, str):
            clean = storable_text(value, _LIMITS.get(f.name), key=f.name in _KEYS)
        elif isinstance(value, float):
            clean = value if math.isfinite(value) else 0.0
        elif isinstance(value, list | dict):
            clean = storable_value(value)
        else:
            continue
        if clean is not value and clean != value:
            changes[f.name] = clean
    return dataclasses.replace(record, **changes) if changes else record
