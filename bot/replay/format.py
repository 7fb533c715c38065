"""Reading replay files: conversations with turns and expectations, errors with file:line:column."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge.fields import Collector, Spec
from bot.knowledge.problems import Problem
from bot.knowledge.yaml_source import Located, YamlProblem, read_yaml_file

STATUSES = {"answer", "partial", "clarify", "fallback", "smalltalk"}
FEEDBACK = {"+": True, "helpful": True, "有帮助": True, "-": False, "not_helpful": False, "没帮助": False}

CONVERSATION_SPEC: Spec = {
    "name": ("str", True, 200),
    "today": ("date", False, 0),
    "script": ("str", False, 12),
    "turns": ("list", True, 0),
}
TURN_SPEC: Spec = {
    "user": ("str", False, 5000),
    "choose": ("str", False, 20),
    "press": ("str", False, 63),
    "status": ("str", False, 12),
    "faq": ("str", False, 63),
    "intent": ("str", False, 30),
    "contains": ("str_list", False, 500),
    "not_contains": ("str_list", False, 500),
    "choices": ("str_list", False, 63),
    "script": ("str", False, 12),
    "source": ("str", False, 5),
}


@dataclass(frozen=True, slots=True)
class Turn:
    line: int
    user: str | None = None  # a message
    choose: str | None = None  # a clarification choice ("2", "都不是") or a feedback press ("+", "-")
    expect: dict[str, Any] = field(default_factory=dict)
    press: str | None = None  # a button naming an entry (a suggested question, a clarification button)

    @property
    def said(self) -> str:
        if self.user is not None:
            return self.user
        return f"[choose {self.choose}]" if self.choose is not None else f"[press {self.press}]"


@dataclass(frozen=True, slots=True)
class Conversation:
    name: str
    path: str
    line: int
    turns: tuple[Turn, ...]
    today: dt.date | None = None
    script: str | None = None


def load_replay_file(path: Path) -> tuple[list[Conversation], list[Problem]]:
    col = Collector(str(path))
    try:
        node = read_yaml_file(path)
    except YamlProblem as exc:
        col.error((exc.line, exc.column), exc.message)
        return [], col.problems
    if node is None:
        col.error((1, 1), "the file is empty; write a conversation with `name:` and `turns:`")
        return [], col.problems
    items = node.value if isinstance(node.value, list) else [node]
    conversations = [c for c in (_conversation(col, item) for item in items) if c is not None]
    return conversations, col.problems


def _conversation(col: Collector, node: Located) -> Conversation | None:
    f = col.fields(node, CONVERSATION_SPEC, "a conversation")
    if f is None or "name" not in f or "turns" not in f:
        return None
    turns_node: Located = node.value["turns"]
    if not isinstance(turns_node.value, list) or not turns_node.value:
        col.error(turns_node, "`turns` must be a list of turns, each starting with `- user:` or `- choose:`")
        return None
    before = len(col.problems)
    turns = [t for t in (_turn(col, t) for t in turns_node.value) if t is not None]
    script = f.get("script")
    if script is not None and script not in ("simplified", "traditional"):
        col.error(node.value["script"], "`script` must be simplified or traditional")
    if len(col.problems) > before:
        return None
    return Conversation(f["name"], col.path, node.line, tuple(turns), f.get("today"), script)


def _turn(col: Collector, node: Located) -> Turn | None:
    if isinstance(node.value, dict):
        # `choose: 2` and `source: true` are natural to write; read them as the text the spec expects.
        for key in ("choose", "source"):
            v = node.value.get(key)
            if v is not None and isinstance(v.value, bool | int):
                text = str(v.value).lower() if isinstance(v.value, bool) else str(v.value)
                node.value[key] = Located(text, v.line, v.column, v.key_line, v.key_column)
    blank = _blank_message(node)
    f = col.fields(node, TURN_SPEC, "a turn")
    if f is None:
        return None
    if blank is not None:
        f["user"] = blank
    if sum(k in f for k in ("user", "choose", "press")) != 1:
        col.error(node, "a turn needs exactly one of `user:` (a message), `choose:` (a number, 都不是, + or -) "
                        "or `press:` (the entry id of a pressed button)")
        return None
    if "status" in f and f["status"] not in STATUSES:
        col.error(node.value["status"], f"`status` must be one of {', '.join(sorted(STATUSES))}")
        return None
    if "script" in f and f["script"] not in ("simplified", "traditional"):
        col.error(node.value["script"], "`script` must be simplified or traditional")
        return None
    if "source" in f:
        if f["source"] not in ("true", "false", "yes", "no"):
            col.error(node.value["source"], "`source` must be true or false")
            return None
        f["source"] = f["source"] in ("true", "yes")
    expect = {k: v for k, v in f.items() if k not in ("user", "choose", "press")}
    return Turn(node.line, f.get("user"), f.get("choose"), expect, f.get("press"))


def _blank_message(node: Located) -> str | None:
    """`user: ""` (quoted) is a real turn: residents do send empty messages and get asked to rephrase. It is
    taken out of the node before the usual checks, which refuse empty text (`user:` alone is still refused)."""
    if not isinstance(node.value, dict):
        return None
    v = node.value.get("user")
    if v is None or not isinstance(v.value, str) or v.value.strip():
        return None
    del node.value["user"]
    return v.value
