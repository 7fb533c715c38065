"""The Reply value every channel renders. No channel-specific formatting lives here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from bot.matching.decision import Candidate

PartKind = Literal["answer", "text", "notice", "source", "hotline"]


@dataclass(frozen=True, slots=True)
class ReplyPart:
    kind: PartKind
    text: str


@dataclass(frozen=True, slots=True)
class Option:
    """A clarification choice (entry_id None means 都不是), a suggested next question, or a topic to list."""

    label: str
    entry_id: str | None
    topic: str | None = None  # set for the choices of the topics list: pick it to list that topic


@dataclass(frozen=True, slots=True)
class Reply:
    status: str  # answer | partial | clarify | fallback | smalltalk; notice (not recorded: rate limit, stale button)
    parts: tuple[ReplyPart, ...]
    script: str = "simplified"
    entry_id: str | None = None
    intent_id: str | None = None
    score: float = 0.0
    candidates: tuple[Candidate, ...] = ()
    choices: tuple[Option, ...] = ()
    suggestions: tuple[Option, ...] = ()
    suggestions_title: str = ""
    source: str | None = None  # the source line, already in the resident's script
    as_of: str | None = None  # ISO date the facts were stated
    interaction_id: str | None = None  # to attach feedback to
    rateable: bool = False  # whether helpful / not-helpful makes sense
    kb_version: str = ""

    @property
    def text(self) -> str:
        """Plain text as a resident sees it in a text-only channel (console, `ask`)."""
        lines = [p.text for p in self.parts]
        lines.extend(f"{i}. {c.label}" for i, c in enumerate(self.choices, 1))
        if self.suggestions:
            lines.append(self.suggestions_title)
            lines.extend(f"· {s.label}" for s in self.suggestions)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "text": self.text,
            "parts": [{"kind": p.kind, "text": p.text} for p in self.parts],
            "script": self.script,
            "faq_id": self.entry_id,
            "intent": self.intent_id,
            "score": round(self.score, 4),
            "candidates": [{"id": c.id, "score": c.score} for c in self.candidates],
            "choices": [{"label": c.label, "id": c.entry_id, **({"topic": c.topic} if c.topic else {})}
                        for c in self.choices],
            "suggestions": [{"label": s.label, "id": s.entry_id} for s in self.suggestions],
            "source": self.source,
            "as_of": self.as_of,
            "interaction_id": self.interaction_id,
            "kb_version": self.kb_version,
        }

    def to_json(self) -> str:
        """The whole reply, for a channel to give the same answer again (a client's retry) without
        working it out or recording it twice; `from_json` makes the same Reply of it."""
        return json.dumps({
            **{name: getattr(self, name) for name in _SCALARS},
            "parts": [[p.kind, p.text] for p in self.parts],
            "candidates": [[c.id, c.score] for c in self.candidates],
            "choices": [[c.label, c.entry_id, c.topic] for c in self.choices],
            "suggestions": [[s.label, s.entry_id, s.topic] for s in self.suggestions],
        }, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str) -> Reply:
        d = json.loads(data)
        return cls(
            parts=tuple(ReplyPart(k, t) for k, t in d["parts"]),
            candidates=tuple(Candidate(i, s) for i, s in d["candidates"]),
            choices=tuple(Option(*c) for c in d["choices"]),
            suggestions=tuple(Option(*s) for s in d["suggestions"]),
            **{name: d[name] for name in _SCALARS},
        )


_SCALARS = ("status", "script", "entry_id", "intent_id", "score", "suggestions_title", "source", "as_of",
            "interaction_id", "rateable", "kb_version")
