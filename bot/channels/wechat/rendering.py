"""A Reply as WeChat text messages: plain text (WeChat shows no markup), each within 2,048 bytes.

Paragraphs as the resident reads them: the answer, notices, the source line, choices numbered (the resident
replies with the number), suggested questions, and for a rateable answer how to rate it (+ or -). A reply too
long for one message is split between paragraphs, then lines; every message but the last says that more
follows. Past MAX_MESSAGES the rest is cut, and the last message says so and still ends with the source.
"""

from __future__ import annotations

import time

from wechatpy.replies import TextReply

from bot.dialogue.reply import Reply
from bot.matching.normalise import to_traditional

MAX_BYTES = 2048  # WeChat's limit for a passive text reply and a customer-service text message
MAX_MESSAGES = 4  # one passive reply and three customer-service messages at most per question


def fixed(texts: dict[str, str], key: str, script: str = "simplified") -> str:
    """A fixed text of knowledge/replies.yaml in the resident's script."""
    text = texts[key]
    return to_traditional(text) if script == "traditional" else text


def paragraphs(reply: Reply, texts: dict[str, str]) -> list[str]:
    out = [p.text for p in reply.parts if p.text]
    if reply.choices:
        out.append("\n".join(f"{i}. {c.label}" for i, c in enumerate(reply.choices, 1)))
    if reply.suggestions:
        out.append("\n".join([reply.suggestions_title, *(f"· {s.label}" for s in reply.suggestions)]))
    if reply.rateable and reply.interaction_id:
        out.append(fixed(texts, "feedback_prompt", reply.script))
    return out


def render(reply: Reply, texts: dict[str, str], *, max_messages: int = MAX_MESSAGES) -> list[str]:
    """The messages to send, in order: at least one, at most `max_messages`, each within MAX_BYTES."""
    more = "\n\n" + fixed(texts, "continued", reply.script)
    cut = "\n\n" + fixed(texts, "trimmed", reply.script)
    chunks = split(paragraphs(reply, texts), MAX_BYTES - max(size(more), size(cut)))
    if len(chunks) > max_messages:
        tail = f"\n\n{reply.source}" if reply.source else ""
        last = fit(chunks[max_messages - 1], MAX_BYTES - size(cut) - size(tail))
        chunks = [*chunks[: max_messages - 1], last + cut + tail]
    return [c + more for c in chunks[:-1]] + chunks[-1:]


def split(paragraphs: list[str], limit: int) -> list[str]:
    """Paragraphs joined by blank lines into messages of at most `limit` UTF-8 bytes, broken between
    paragraphs, else between lines, else between characters."""
    pieces = [piece for p in paragraphs for piece in _pieces(p, limit)]
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n\n{piece}" if current else piece
        if size(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks or [""]


def _pieces(paragraph: str, limit: int) -> list[str]:
    if size(paragraph) <= limit:
        return [paragraph]
    out: list[str] = []
    current = ""
    for line in paragraph.split("\n"):
        while size(line) > limit:  # a single line longer than a message: cut between characters
            head = fit(line, limit)
            if current:
                out.append(current)
                current = ""
            out.append(head)
            line = line[len(head):]
        candidate = f"{current}\n{line}" if current else line
        if size(candidate) <= limit:
            current = candidate
        else:
            out.append(current)
            current = line
    if current:
        out.append(current)
    return out


def fit(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-8 bytes, never half a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def passive_xml(account: str, openid: str, text: str, now: float | None = None) -> str:
    """The passive reply to a follower's message. wechatpy puts the text in CDATA as it is, so a "]]>" in it
    (a resident's question quoted in /unanswered) is split across two CDATA sections instead of ending it."""
    safe = text.replace("]]>", "]]]]><![CDATA[>")
    return TextReply(source=account, target=openid, content=safe, time=int(now or time.time())).render()
