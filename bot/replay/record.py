"""Turn logged conversations into a replay file whose expectations are today's answers, for review."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

import yaml

from bot.replay.format import TURN_SPEC
from bot.storage.repository import Repository

CHOICE_REASONS = {"chosen", "none-of-these", "invalid-choice"}
BUTTON_REASONS = {"chosen", "suggested"}  # answer_entry's: the text recorded is the entry's question
_TYPED_NUMBER = re.compile(r"^\s*\d{1,2}\s*[.。、]?\s*$")
CHOOSE_LIMIT = TURN_SPEC["choose"][2]


def turn_of(row) -> dict[str, object]:
    """The replay turn that reproduces a stored message: a pressed button as `press`, a typed choice as
    `choose`, anything else (an empty message too) as `user`, so that what is written always replays."""
    text = row.text
    if row.reason in BUTTON_REASONS and row.entry_id and not _TYPED_NUMBER.match(text):
        return {"press": row.entry_id}
    if row.reason in CHOICE_REASONS and text.strip() and len(text.strip()) <= CHOOSE_LIMIT:
        return {"choose": text}
    return {"user": text}


def record_conversations(repo: Repository, since: dt.datetime) -> list[dict[str, object]]:
    """One replay conversation per stored conversation. User ids are never written, not even hashed."""
    turns: dict[str, list[tuple[dt.datetime, dict[str, object]]]] = defaultdict(list)
    ids: dict[str, str] = {}
    for row in repo.interactions(since):
        turn: dict[str, object] = {**turn_of(row), "status": row.status}
        if row.entry_id and row.status in ("answer", "partial"):
            turn["faq"] = row.entry_id
        if row.intent_id:
            turn["intent"] = row.intent_id
        turns[row.conversation_id].append((row.created_at, turn))
        ids[row.id] = row.conversation_id
    for fb in repo.feedback(since):
        conv = ids.get(fb.interaction_id)
        if conv is not None:
            turns[conv].append((fb.created_at, {"choose": "+" if fb.helpful else "-"}))
    out = []
    for n, items in enumerate(sorted(turns.values(), key=lambda v: min(t for t, _ in v)), 1):
        first = min(t for t, _ in items)
        out.append({
            "name": f"recorded {first:%Y-%m-%d %H:%M} #{n}",
            "today": first.date(),
            "turns": [t for _, t in sorted(items, key=lambda x: x[0])],
        })
    return out


def dump(conversations: list[dict[str, object]]) -> str:
    header = ("# Recorded from real conversations: review every expectation before keeping this file;\n"
              "# the expectations are what the bot answered then, not necessarily what it should answer.\n")
    return header + yaml.safe_dump(conversations, allow_unicode=True, sort_keys=False, width=120)
