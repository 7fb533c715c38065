"""Replaying conversations through the same Dialogue every channel uses, and explaining failures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue, navigation_command
from bot.dialogue.records import NullRecorder
from bot.dialogue.reply import Reply
from bot.knowledge.problems import Problem
from bot.live import LiveKnowledge
from bot.matching.normalise import to_simplified
from bot.replay.format import FEEDBACK, Conversation, Turn, load_replay_file

DEFAULT_TODAY = dt.date(2026, 11, 29)


@dataclass(frozen=True, slots=True)
class Mismatch:
    turn: Turn
    index: int
    expected: str
    got: str
    reply: Reply

    def explain(self, conversation: Conversation) -> str:
        candidates = ", ".join(f"{c.id} {c.score:.2f}" for c in self.reply.candidates[:3]) or "none"
        return (f"{conversation.path}:{self.turn.line}: {conversation.name} · turn {self.index} "
                f"“{self.turn.said}”\n    expected {self.expected}\n    got      {self.got}\n"
                f"    (status {self.reply.status}, entry {self.reply.entry_id or '-'}, "
                f"score {self.reply.score:.2f}; candidates: {candidates})")


@dataclass
class Result:
    conversation: Conversation
    mismatches: list[Mismatch] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def explain(self) -> str:
        return "\n".join(m.explain(self.conversation) for m in self.mismatches)


def run_conversation(live: LiveKnowledge, conv: Conversation) -> Result:
    today = conv.today or DEFAULT_TODAY
    dialogue = Dialogue(live, MemoryContextStore(), NullRecorder(), today=lambda: today)
    result = Result(conv)
    cid = f"replay:{conv.name}"
    for i, turn in enumerate(conv.turns, 1):
        command = navigation_command(turn.user)
        if turn.choose is not None and turn.choose in FEEDBACK:
            reply = dialogue.feedback(cid, helpful=FEEDBACK[turn.choose])
        elif turn.press is not None:
            pressed = dialogue.answer_entry(cid, turn.press, channel="replay")
            if pressed is None:  # the entry is gone: the button would say it is stale
                result.mismatches.append(Mismatch(turn, i, f"entry {turn.press}", "no such entry", Reply(
                    "fallback", ())))
                continue
            reply = pressed
        elif command is not None:  # /start, /help, /topics, /topic NAME: what a channel's commands show
            kind, arg = command
            reply = dialogue.navigate(cid, kind, arg, channel="replay") or dialogue.handle(cid, turn.user,
                                                                                          channel="replay")
        else:
            reply = dialogue.handle(cid, turn.user if turn.user is not None else turn.choose, channel="replay")
        result.replies.append(reply)
        result.mismatches.extend(Mismatch(turn, i, e, g, reply) for e, g in compare(turn, reply, conv.script))
    return result


def compare(turn: Turn, reply: Reply, default_script: str | None) -> list[tuple[str, str]]:
    """(expected, got) for every expectation the reply does not meet."""
    e = turn.expect
    out: list[tuple[str, str]] = []
    if "status" in e and reply.status != e["status"]:
        out.append((f"status {e['status']}", f"status {reply.status}"))
    if "faq" in e and reply.entry_id != e["faq"]:
        out.append((f"faq {e['faq']}", f"faq {reply.entry_id or '-'}"))
    if "intent" in e and reply.intent_id != e["intent"]:
        out.append((f"intent {e['intent']}", f"intent {reply.intent_id or '-'}"))
    text = to_simplified(reply.text)  # compared after normalising script, so one expectation fits both
    for needle in e.get("contains", ()):
        if to_simplified(needle) not in text:
            out.append((f"text containing “{needle}”", f"“{_short(reply.text)}”"))
    for needle in e.get("not_contains", ()):
        if to_simplified(needle) in text:
            out.append((f"text without “{needle}”", f"“{_short(reply.text)}”"))
    if "choices" in e:
        offered = [c.entry_id for c in reply.choices if c.entry_id]
        if sorted(offered) != sorted(e["choices"]):
            out.append((f"choices {', '.join(e['choices'])}", f"choices {', '.join(offered) or '-'}"))
    script = e.get("script") or (default_script if turn.user is not None else None)
    if script and reply.script != script:
        out.append((f"script {script}", f"script {reply.script}"))
    if "source" in e and bool(reply.source) != e["source"]:
        out.append(("a source line" if e["source"] else "no source line", f"source {reply.source or 'none'}"))
    return out


def _short(text: str, limit: int = 80) -> str:
    one = text.replace("\n", " / ")
    return one if len(one) <= limit else one[: limit - 1] + "…"


def collect_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    return files


def run_files(live: LiveKnowledge, files: list[Path]) -> tuple[list[Result], list[Problem]]:
    """Every conversation of every file; a malformed file is reported and the others still run."""
    results: list[Result] = []
    problems: list[Problem] = []
    for path in files:
        conversations, found = load_replay_file(path)
        problems.extend(found)
        results.extend(run_conversation(live, c) for c in conversations)
    return results, problems


def coverage(live: LiveKnowledge, results: list[Result]) -> dict[str, list[str]]:
    """Entries and intents that no conversation reaches."""
    kb = live.snapshot.kb
    entries = {r.entry_id for res in results for r in res.replies if r.entry_id and r.status in ("answer", "partial")}
    intents = {r.intent_id for res in results for r in res.replies if r.intent_id}
    return {
        "entries": [e.id for e in kb.entries if e.id not in entries],
        "intents": [i.id for i in kb.intents if i.id not in intents],
    }
