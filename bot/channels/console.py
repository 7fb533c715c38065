"""The console chat: what the Quick start opens. Type a question; `+`/`-` rates the last answer."""

from __future__ import annotations

import contextlib
import sys
import uuid
from typing import TextIO

from bot.dialogue.builder import fixed
from bot.dialogue.engine import Dialogue
from bot.matching.normalise import to_traditional

# The Chinese introduction is `console_intro` of knowledge/replies.yaml, like every fixed text.
INTRO_EN = "resident-bot console · type a question; + / - rates the last answer; /help, /topics; /quit to leave."
QUIT = {"/quit", "/exit", "quit", "exit", "退出"}
BOT = "机器人"  # the speaker's label, in the resident's script


def run_console(dialogue: Dialogue, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                user_hash: str | None = None) -> int:
    interactive = stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  # arrow keys and history in the prompt
    conversation = f"console-{uuid.uuid4().hex[:12]}"
    print(dialogue.live.snapshot.kb.replies["console_intro"], INTRO_EN, sep="\n", file=stdout)
    while True:
        if interactive:
            try:
                line = input("\n您：")
            except (EOFError, KeyboardInterrupt):
                print(file=stdout)
                return 0
        else:
            line = stdin.readline()
            if not line:
                return 0
            line = line.rstrip("\n")
            print(f"\n您：{line}", file=stdout)
        text = line.strip()
        if text in QUIT:
            return 0
        if text in {"+", "-"}:
            reply = dialogue.feedback(conversation, helpful=text == "+")
        else:  # questions, numbers picking a choice, /help, /topics, /topic NAME and unknown /commands alike
            reply = dialogue.handle(conversation, line, channel="console", user_hash=user_hash)
        traditional = reply.script == "traditional"
        print(f"{to_traditional(BOT) if traditional else BOT}：{reply.text}", file=stdout)
        if reply.rateable:
            print(fixed(dialogue.live.snapshot.kb.replies, "feedback_prompt", reply.script), file=stdout)
        stdout.flush()
