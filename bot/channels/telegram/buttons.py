"""Inline-button payloads: a kit `Action` in at most 64 bytes (Telegram's callback_data), validated on the
way back.

Any replica can handle a press, and a press still works after a restart, because the payload names
what it needs (an entry id, an interaction id, a topic) instead of pointing into process memory.
"""

from __future__ import annotations

import re

from bot.channels.kit import Action

MAX_BYTES = 64
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_ENTRY = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")

KINDS = {
    "q": "ask",  # a suggested question: answer entry <id>
    "c": "choose",  # a clarification choice: answer entry <id>
    "n": "none",  # 都不是
    "t": "topic",  # list the questions of topic <name>
    "f+": "helpful",  # feedback on interaction <32 hex>
    "f-": "not_helpful",
}
_PREFIX = {kind: prefix for prefix, kind in KINDS.items()}


def encode(action: Action) -> str:
    data = f"{_PREFIX[action.kind]}:{action.arg}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"button payload over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Action | None:
    """The action, or None for anything malformed or forged in shape (never an exception)."""
    if not data or len(data.encode("utf-8", "replace")) > MAX_BYTES or ":" not in data:
        return None
    prefix, arg = data.split(":", 1)
    kind = KINDS.get(prefix)
    if kind is None:
        return None
    if kind in ("ask", "choose") and not _ENTRY.match(arg):
        return None
    if kind in ("helpful", "not_helpful") and not _HEX32.match(arg):
        return None
    if kind == "topic" and not arg:
        return None
    return Action(kind, arg)
