"""The matcher's verdict on one message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.matching.normalise import Normalised

Status = Literal["answer", "partial", "clarify", "fallback", "smalltalk"]


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    score: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Defaults chosen on the labelled set with `resident-bot eval --tune`; override in config."""

    answer: float = 0.45
    margin: float = 0.25  # log-odds lead of the best entry over the next one
    clarify: float = 0.4
    nearby: float = 0.2
    intent: float = 0.6


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status
    normalised: Normalised
    entry_id: str | None = None
    intent_id: str | None = None
    score: float = 0.0
    candidates: tuple[Candidate, ...] = ()
    choices: tuple[str, ...] = ()  # entry ids offered when clarifying
    missing_aspect: str | None = None  # aspect id asked for but not stated by the entry
    missing_detail: str | None = None  # the thing a yes/no or status question names that the entry never mentions
    topic: str | None = None  # a message that only names a topic: its questions are listed (topics.py)
    other_place: str | None = None  # a place or thing asked about that the entry does not cover (scope.py)
    where: str | None = None  # where the entry's facts hold, when narrower than the knowledge base's label (西集镇)
    follow_up: bool = False  # resolved against the previous turn's entry
    reason: str = ""  # why a fallback: empty, unknown, ambiguous...
    nearby: tuple[str, ...] = field(default=())  # entry ids close enough to suggest on fallback
