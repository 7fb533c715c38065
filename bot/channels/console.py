"""The console chat: what the Quick start opens. Type a question; `+`/`-` rates the last answer."""

from __future__ import annotations

import contextlib
import sys
import uuid
from typing import TextIO

from bot.dialogue.engine import Dialogue, navigation_command

WELCOME = (
    "城市副中心便民问答 · 输入问题后回车；回答后输入 + 或 - 评价；输入 /topics 看话题（回复序号选择），/quit 退出。\n"
    "resident-bot console · type a question; + / - rates the last answer; /quit to leave."
)
QUIT = {"/quit", "/exit", "quit", "exit", "退出"}


def run_console(dialogue: Dialogue, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                user_hash: str | None = None) -> int:
    interactive = stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  # arrow keys and history in the prompt
    conversation = f"console-{uuid.uuid4().hex[:12]}"
    print(WELCOME, file=stdout)
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
        elif (command := navigation_command(text)) is not None:  # the welcome, help and lists every channel shows
            reply = dialogue.navigate(conversation, *command, channel="console", user_hash=user_hash) or \
                dialogue.handle(conversation, line, channel="console", user_hash=user_hash)
        else:
            reply = dialogue.handle(conversation, line, channel="console", user_hash=user_hash)
        print(f"机器人：{reply.text}", file=stdout)
        if reply.rateable:
            print("（+ 有帮助 / - 没帮助）", file=stdout)
        stdout.flush()
