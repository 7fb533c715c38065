"""`resident-bot ask`: one question on the command line, or JSON lines on stdin for tools and scripts."""

from __future__ import annotations

import json
import sys
import uuid
from typing import TextIO

from bot.dialogue.engine import Dialogue


def run_ask(dialogue: Dialogue, question: str | None, *, as_json: bool = False, conversation: bool = False,
            stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout  # the streams of the call, not of the import
    lines = [question] if question is not None else (line.rstrip("\n") for line in stdin)
    shared = f"ask-{uuid.uuid4().hex[:12]}"
    for line in lines:
        # Without --conversation every line stands alone: no follow-up context leaks between them.
        conv = shared if conversation else f"ask-{uuid.uuid4().hex[:12]}"
        reply = dialogue.handle(conv, line, channel="ask")
        if as_json:
            kb = dialogue.live.snapshot.kb
            data = {"question": line, **reply.to_dict()}
            entry = kb.by_id.get(reply.entry_id) if reply.entry_id else None
            data["source"] = entry.source.to_dict() | {"line": reply.source} if entry else None
            stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            stdout.write(reply.text + "\n")
            if question is None:
                stdout.write("\n")
        stdout.flush()
    return 0
