"""Turn logged conversations into a replay file whose expectations are today's answers, for review."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import yaml

from bot.storage.repository import Repository

CHOICE_REASONS = {"chosen", "none-of-these", "invalid-choice"}


def record_conversations(repo: Repository, since: dt.datetime) -> list[dict[str, object]]:
    """One replay conversation per stored conversation. User ids are never written, not even hashed."""
    turns: dict[str, list[tuple[dt.datetime, dict[str, object]]]] = defaultdict(list)
    ids: dict[str, str] = {}
    for row in repo.interactions(since):
        key = "choose" if row.reason in CHOICE_REASONS else "user"
        turn: dict[str, object] = {key: row.text, "status": row.status}
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
