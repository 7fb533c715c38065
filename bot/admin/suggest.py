"""`kb suggest`: group what residents asked and the bot could not answer, and propose what to write.

Each group gets one proposal, decided once (`Group.kind`); the text and the YAML output are two renderings
of the same proposals, so they never disagree. Noise (spam, links, phone numbers, keyboard mashing) is
counted, never proposed: the knowledge base is for residents' questions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

import yaml
from rapidfuzz import fuzz

from bot.dialogue.engine import is_command
from bot.matching.matcher import Matcher
from bot.matching.tokens import is_cjk
from bot.storage.repository import Repository

SAME_QUESTION = 80  # rapidfuzz ratio above which two unanswered questions are one group
ALTERNATE_SCORE = 0.2  # an entry this close is worth adding the question to, rather than writing a new one
# A question residents type is short: the labelled sets' longest is 21 characters. Much longer is pasted text.
MAX_QUESTION_CHARS = 60
MIN_CJK = 2  # residents ask in Chinese; fewer Chinese characters than this is not a question to add
MIN_DISTINCT_SHARE = 0.4  # 哈哈哈哈哈哈, 啊啊啊啊: few distinct characters for the length
_LINK = re.compile(r"https?://|www\.|\.(?:com|cn|net|top|xyz)\b", re.I)
_LONG_NUMBER = re.compile(r"\d{7,}")  # a phone, QQ or account number: spam, or a resident's own data


@dataclass
class Group:
    normalised: str
    examples: Counter[str] = field(default_factory=Counter)
    not_helpful: int = 0
    rated_entries: Counter[str] = field(default_factory=Counter)  # entries whose answers were rated unhelpful
    kind: str = "new"  # unhelpful | missing | answered | alternate | new
    entry_id: str | None = None  # the entry the proposal is about
    score: float = 0.0
    missing: str | None = None  # the detail (aspect label) the entry does not state, for partial answers

    @property
    def count(self) -> int:
        return sum(self.examples.values())

    @property
    def question(self) -> str:
        return self.examples.most_common(1)[0][0]


@dataclass
class Suggestions:
    groups: list[Group]
    noise: Counter[str] = field(default_factory=Counter)  # messages left out, by reason

    @property
    def proposals(self) -> list[Group]:
        return [g for g in self.groups if g.kind != "answered"]

    @property
    def answered(self) -> list[Group]:
        return [g for g in self.groups if g.kind == "answered"]


def noise_reason(text: str, normalised: str) -> str | None:
    """Why a message is not a question to add to the knowledge base, or None when it may be one."""
    if is_command(text):  # /foo, /topic 教育: what residents typed to the bot, not questions
        return "commands"
    if _LINK.search(text):
        return "links"
    if _LONG_NUMBER.search(text):
        return "long numbers (phone/QQ/account)"
    if len(normalised) > MAX_QUESTION_CHARS:
        return f"over {MAX_QUESTION_CHARS} characters"
    if sum(is_cjk(c) for c in normalised) < MIN_CJK:
        return "not Chinese"
    if len(normalised) >= 4 and len(set(normalised)) < MIN_DISTINCT_SHARE * len(normalised):
        return "repeated characters"
    return None


def unanswered_groups(repo: Repository, matcher: Matcher, since: dt.datetime) -> Suggestions:
    rated_down = {f.interaction_id for f in repo.feedback(since) if not f.helpful}
    out = Suggestions([])
    for row in repo.interactions(since):
        unanswered = row.status in ("fallback", "partial") and row.reason != "empty"
        if not unanswered and row.id not in rated_down:
            continue
        text = row.asked or row.text
        key = matcher.normalise(text).text
        if not key:
            continue
        reason = noise_reason(text, key)
        if reason:
            out.noise[reason] += 1
            continue
        group = next((g for g in out.groups if fuzz.ratio(g.normalised, key) >= SAME_QUESTION), None)
        if group is None:
            group = Group(key)
            out.groups.append(group)
        group.examples[text] += 1
        if row.id in rated_down:
            group.not_helpful += 1
            if row.entry_id:
                group.rated_entries[row.entry_id] += 1
    for g in out.groups:
        _propose(g, matcher)
    out.groups.sort(key=lambda g: (-g.count, g.normalised))
    return out


def _propose(g: Group, matcher: Matcher) -> None:
    """Decide the group's one proposal from what the knowledge base says to its question today."""
    kb = matcher.kb
    rated = next((e for e, _ in g.rated_entries.most_common() if e in kb.by_id), None)
    if rated and g.not_helpful == g.count:
        g.kind, g.entry_id = "unhelpful", rated  # answered, but residents said it did not help
        return
    d = matcher.match(g.question)
    if d.status == "answer" and d.entry_id:
        g.kind, g.entry_id, g.score = "answered", d.entry_id, d.score  # the knowledge base changed since
    elif d.status == "partial" and d.entry_id:
        labels = {a.id: a.label for a in kb.aspects}
        g.kind, g.entry_id, g.score = "missing", d.entry_id, d.score
        g.missing = labels.get(d.missing_aspect or "", d.missing_aspect)
    elif d.candidates and d.candidates[0].score >= ALTERNATE_SCORE:
        g.kind, g.entry_id, g.score = "alternate", d.candidates[0].id, d.candidates[0].score
    else:
        g.kind = "new"


def advice(g: Group, matcher: Matcher) -> str:
    """What to do about a group, in the words both renderings use."""
    entry = matcher.kb.by_id.get(g.entry_id or "")
    where = f"`{g.entry_id}` ({entry.path}:{entry.line})" if entry else ""
    if g.kind == "unhelpful":
        return f"residents found the answer of {where} unhelpful: check that it says what they asked"
    if g.kind == "missing":
        return f"{where} does not state the {g.missing}: add it to the answer (and to `aspects`) if the source gives it"
    if g.kind == "alternate":
        return f"add as an alternate question of {where}, score {g.score:.2f}"
    if g.kind == "answered":
        return f"now answered by {where} (score {g.score:.2f}): nothing to add"
    return "no entry is close: write a new entry if the source material answers it; otherwise the fallback to " \
           "12345 is right"


def headline(g: Group) -> str:
    return f"{g.count}× “{g.question}”" + (f" ({g.not_helpful} rated not helpful)" if g.not_helpful else "")


def _noise_line(s: Suggestions) -> str | None:
    if not s.noise:
        return None
    reasons = ", ".join(f"{n} {why}" for why, n in s.noise.most_common())
    return f"{sum(s.noise.values())} message(s) left out as not questions to add: {reasons}"


def _answered_line(s: Suggestions) -> str | None:
    if not s.answered:
        return None
    return (f"{len(s.answered)} question(s) unanswered then are answered now (the knowledge base changed since): "
            + ", ".join(f"“{g.question}” → `{g.entry_id}`" for g in s.answered))


def render_text(s: Suggestions, matcher: Matcher) -> str:
    lines = [f"{headline(g)}\n    {advice(g, matcher)}" for g in s.proposals]
    lines += [line for line in (_answered_line(s), _noise_line(s)) if line]
    return "\n".join(lines) or "no unanswered questions in this period"


def render_yaml(s: Suggestions, matcher: Matcher) -> str:
    out = ["# Snippets for review: nothing here has been written to the knowledge base."]
    for g in s.proposals:
        out.append(f"\n# {headline(g)}: {advice(g, matcher)}")
        questions = [q for q, _ in g.examples.most_common(5)]
        if g.kind == "alternate":
            out.append(yaml.safe_dump(questions, allow_unicode=True, default_flow_style=False).rstrip())
        elif g.kind == "new":
            snippet = [{"id": "new-entry-id", "topic": "话题", "questions": questions,
                        "answer": "先写数字或时间，再补充说明。",
                        "source": {"title": "", "publisher": "", "date": "YYYY-MM-DD", "section": "", "quote": ""},
                        "as_of": "YYYY-MM-DD"}]
            out.append(yaml.safe_dump(snippet, allow_unicode=True, sort_keys=False).rstrip())
    out += [f"\n# {line}" for line in (_answered_line(s), _noise_line(s)) if line]
    return "\n".join(out)
