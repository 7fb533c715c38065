"""Outcomes and figures: right, hedged (clarify / honest refusal) or confidently wrong."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from bot.evaluation.labelled import Labelled

RIGHT, HEDGED, WRONG = "right", "hedged", "wrong"


@dataclass(frozen=True, slots=True)
class Outcome:
    item: Labelled
    status: str
    entry_id: str | None
    intent_id: str | None
    score: float

    @property
    def verdict(self) -> str:
        it = self.item
        if it.faq is not None:
            if self.status == "answer":
                return RIGHT if self.entry_id == it.faq else WRONG
            return HEDGED
        if it.status == "smalltalk":
            if self.status == "smalltalk" and self.intent_id == it.intent:
                return RIGHT
            return WRONG if self.status == "answer" else HEDGED
        # Out of scope, or a detail the knowledge base lacks: saying so is right. Both `fallback` and
        # `partial` say that the knowledge base does not hold what was asked and point to 12345; a
        # `partial` also says what the bot does know nearby (环球影城门票多少钱 → the homestay shuttle to
        # the resort, fee not stated), which is no answer to the question. A clarification is a hedge.
        if self.status == "answer":
            return WRONG
        return RIGHT if self.status in ("partial", "fallback") else HEDGED


def summarise(outcomes: list[Outcome]) -> dict[str, object]:
    def share(items: list[Outcome], verdict: str) -> float:
        return round(sum(o.verdict == verdict for o in items) / len(items), 4) if items else 0.0

    answerable = [o for o in outcomes if o.item.faq and o.item.style != "follow_up"]
    follow_ups = [o for o in outcomes if o.item.style == "follow_up"]
    out_of_scope = [o for o in outcomes if o.item.style == "out_of_scope"]
    gaps = [o for o in outcomes if o.item.style == "aspect_gap"]
    by_style: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_style[o.item.style].append(o)
    return {
        "questions": len(outcomes),
        "answerable_right": share(answerable, RIGHT),
        "confident_wrong": share(outcomes, WRONG),
        "out_of_scope_rejected": share(out_of_scope, RIGHT),
        "aspect_gap_honest": share(gaps, RIGHT),
        "follow_ups_right": share(follow_ups, RIGHT),
        "by_style": {
            style: {"n": len(items), "right": share(items, RIGHT), "wrong": share(items, WRONG)}
            for style, items in sorted(by_style.items())
        },
        "statuses": dict(Counter(o.status for o in outcomes)),
    }
