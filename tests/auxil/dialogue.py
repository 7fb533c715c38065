"""A Dialogue on the bundled knowledge base with an in-memory recorder that tests can inspect."""

from __future__ import annotations

import datetime as dt

from bot.dialogue.context import ContextStore, MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.dialogue.records import FeedbackRecord, InteractionRecord
from bot.live import LiveKnowledge
from tests.auxil.semantic import bundled_embedder

TODAY = dt.date(2026, 11, 29)


class ListRecorder:
    def __init__(self) -> None:
        self.interactions: list[InteractionRecord] = []
        self.feedback: list[FeedbackRecord] = []

    def record_interaction(self, record: InteractionRecord) -> None:
        self.interactions.append(record)

    def record_feedback(self, record: FeedbackRecord) -> None:
        self.feedback.append(record)


_LIVE: LiveKnowledge | None = None


def shared_live() -> LiveKnowledge:
    """Building the matcher takes a second; tests that do not reload share one."""
    global _LIVE
    if _LIVE is None:
        _LIVE = LiveKnowledge(embedder=bundled_embedder())
    return _LIVE


def make_dialogue(today: dt.date = TODAY, contexts: ContextStore | None = None, recorder=None,
                  clock=None, live: LiveKnowledge | None = None) -> Dialogue:
    kwargs = {"clock": clock} if clock else {}
    return Dialogue(live or shared_live(), contexts or MemoryContextStore(), recorder or ListRecorder(),
                    today=lambda: today, **kwargs)
