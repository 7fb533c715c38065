"""`kb suggest`: group what residents asked and the bot could not answer, and propose what to write."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import yaml
from rapidfuzz import fuzz

from bot.matching.matcher import Matcher
from bot.storage.repository import Repository

SAME_QUESTION = 80  # rapidfuzz ratio above which two unanswered questions are one group
ALTERNATE_SCORE = 0.2  # an entry this close is worth adding the question to, rather than writing a new one


@dataclass
class Group:
    normalised: str
    examples: Counter[str] = field(default_factory=Counter)
    not_helpful: int = 0
    entry_id: str | None = None  # the entry to add the question to, when one is close
    score: float = 0.0
    missing: str | None = None  # the detail (aspect label) the entry does not state, for partial answers

    @property
    def count(self) -> int:
        return sum(self.examples.values())

    @property
    def question(self) -> str:
        return self.examples.most_common(1)[0][0]


def unanswered_groups(repo: Repository, matcher: Matcher, since: dt.datetime) -> list[Group]:
    rated_down = {f.interaction_id for f in repo.feedback(since) if not f.helpful}
    groups: list[Group] = []
    for row in repo.interactions(since):
        unanswered = row.status in ("fallback", "partial") and row.reason != "empty"
        if not unanswered and row.id not in rated_down:
            continue
        text = row.asked or row.text
        key = matcher.normalise(text).text
        if not key:
            continue
        group = next((g for g in groups if fuzz.ratio(g.normalised, key) >= SAME_QUESTION), None)
        if group is None:
            group = Group(key)
            groups.append(group)
        group.examples[text] += 1
        group.not_helpful += row.id in rated_down
    labels = {a.id: a.label for a in matcher.kb.aspects}
    for g in groups:
        d = matcher.match(g.question)
        if d.status == "partial" and d.entry_id:
            g.entry_id, g.score, g.missing = d.entry_id, d.score, labels.get(d.missing_aspect or "", d.missing_aspect)
        elif d.candidates and d.candidates[0].score >= ALTERNATE_SCORE:
            g.entry_id, g.score = d.candidates[0].id, d.candidates[0].score
    return sorted(groups, key=lambda g: (-g.count, g.normalised))


def render_text(groups: list[Group], matcher: Matcher) -> str:
    lines = []
    for g in groups:
        what = f"{g.count}× “{g.question}”" + (f" ({g.not_helpful} rated not helpful)" if g.not_helpful else "")
        if g.entry_id and g.not_helpful == g.count:
            entry = matcher.kb.by_id[g.entry_id]
            lines.append(f"{what}\n    residents found the answer of `{g.entry_id}` ({entry.path}:{entry.line}) "
                         "unhelpful: check that it says what they asked")
        elif g.missing and g.entry_id:
            entry = matcher.kb.by_id[g.entry_id]
            lines.append(f"{what}\n    `{g.entry_id}` ({entry.path}:{entry.line}) does not state the {g.missing}: "
                         "add it to the answer (and to `aspects`) if the source gives it")
        elif g.entry_id:
            entry = matcher.kb.by_id[g.entry_id]
            lines.append(f"{what}\n    add as an alternate question of `{g.entry_id}` ({entry.path}:{entry.line}), "
                         f"score {g.score:.2f}")
        else:
            lines.append(f"{what}\n    no entry is close: write a new entry if the source material answers it; "
                         "otherwise the fallback to 12345 is right")
    return "\n".join(lines) or "no unanswered questions in this period"


def render_yaml(groups: list[Group], matcher: Matcher) -> str:
    out = ["# Snippets for review: nothing here has been written to the knowledge base."]
    for g in groups:
        questions = [q for q, _ in g.examples.most_common(5)]
        if g.missing and g.entry_id:
            entry = matcher.kb.by_id[g.entry_id]
            out.append(f"\n# {g.count}× asked; `{g.entry_id}` in {entry.path}:{entry.line} does not state the "
                       f"{g.missing}. If the source gives it, extend the answer and add the aspect id to `aspects`.")
        elif g.entry_id:
            entry = matcher.kb.by_id[g.entry_id]
            out.append(f"\n# {g.count}× asked; add under `questions:` of `{g.entry_id}` in {entry.path}:{entry.line}")
            out.append(yaml.safe_dump(questions, allow_unicode=True, default_flow_style=False).rstrip())
        else:
            out.append(f"\n# {g.count}× asked; a new entry, if the source material answers it")
            snippet = [{"id": "new-entry-id", "topic": "话题", "questions": questions,
                        "answer": "先写数字或时间，再补充说明。",
                        "source": {"title": "", "publisher": "", "date": "YYYY-MM-DD", "section": "", "quote": ""},
                        "as_of": "YYYY-MM-DD"}]
            out.append(yaml.safe_dump(snippet, allow_unicode=True, sort_keys=False).rstrip())
    return "\n".join(out)
