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


def welcome_examples(matcher: Matcher) -> list[tuple[str, str]]:
    """(question, entry id) for each welcome example the matcher answers, in the file's order: what the
    welcome offers. An example it does not answer is left out (`kb check` warns about it)."""
    out = []
    for example in matcher.kb.welcome_examples:
        d = matcher.match(example.question)
        if d.status == "answer" and d.entry_id:
            out.append((example.question, d.entry_id))
    return out


def example_check(matcher: Matcher) -> list[Problem]:
    """A warning for each welcome example that no entry answers: residents would be invited to ask it and
    get a choice or "I don't know" (the welcome leaves it out)."""
    out: list[Problem] = []
    for example in matcher.kb.welcome_examples:
        d = matcher.match(example.question)
        if d.status == "answer":
            continue
        what = {"partial": f"is answered only in part by `{d.entry_id}`",
                "clarify": f"gets a choice between {', '.join(f'`{c}`' for c in d.choices)}",
                "smalltalk": f"is taken as small talk (`{d.intent_id}`)"}.get(d.status, "gets no answer")
        out.append(Problem(example.path, example.line, 5, f"welcome example “{example.question}” {what} "
                           f"(score {d.score:.2f}), so the welcome leaves it out; reword it or add it to an "
                           "entry's questions", "warning"))
    return out
