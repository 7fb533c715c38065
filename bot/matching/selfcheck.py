"""Does every question of the knowledge base lead back to its own entry?"""

from __future__ import annotations

from bot.knowledge.problems import Problem
from bot.matching.matcher import Matcher


def self_check(matcher: Matcher) -> list[Problem]:
    """A warning for each question that the matcher answers with another entry, or cannot answer."""
    out: list[Problem] = []
    for e in matcher.kb.entries:
        for q in e.questions:
            d = matcher.match(q)
            if d.status in ("answer", "partial") and d.entry_id == e.id:
                continue
            if d.status in ("answer", "partial"):
                what = f"is answered by `{d.entry_id}` (score {d.score:.2f})"
            elif d.status == "clarify":
                others = [c for c in d.choices if c != e.id]
                what = f"is confused with {', '.join(f'`{o}`' for o in others)} (score {d.score:.2f})"
            else:
                what = f"gets no answer (best score {d.score:.2f})"
            out.append(Problem(e.path, e.line, 3, f"question “{q}” of `{e.id}` {what}; reword one of them",
                               "warning"))
    return out
