"""A Reply as Telegram HTML messages: every dynamic string escaped, long replies split on paragraphs."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels.kit import Action, option_action
from bot.channels.telegram.buttons import encode
from bot.dialogue.builder import fixed
from bot.dialogue.reply import Reply

MAX_MESSAGE = 4096
MAX_LABEL = 60


@dataclass(frozen=True, slots=True)
class Rendered:
    chunks: list[str]  # HTML messages, in order
    keyboard: list[list[tuple[str, str]]]  # rows of (label, payload); attached to the last chunk


def render(reply: Reply, texts: Mapping[str, str]) -> Rendered:
    """`texts`: the fixed texts of knowledge/replies.yaml (the rating buttons' labels)."""
    esc = html.escape
    paragraphs: list[str] = []
    for part in reply.parts:
        if part.kind == "source":
            paragraphs.append(f"<i>{esc(part.text)}</i>")
        elif part.kind == "notice":
            paragraphs.append(f"<b>{esc(part.text)}</b>")
        else:
            paragraphs.append(esc(part.text))
    if reply.choices:
        paragraphs.append("\n".join(f"{i}. {esc(c.label)}" for i, c in enumerate(reply.choices, 1)))
    if reply.suggestions:
        paragraphs.append(esc(reply.suggestions_title))
    keyboard: list[list[tuple[str, str]]] = []
    for i, c in enumerate(reply.choices, 1):
        keyboard.append([(label(f"{i}. {c.label}"), encode(option_action(reply, c)))])
    for s in reply.suggestions:
        if s.entry_id:
            keyboard.append([(label(s.label), encode(Action("ask", s.entry_id)))])
    if reply.rateable and reply.interaction_id:
        rated = reply.interaction_id
        keyboard.append([(fixed(texts, "helpful_button", reply.script), encode(Action("helpful", rated))),
                         (fixed(texts, "not_helpful_button", reply.script), encode(Action("not_helpful", rated)))])
    return Rendered(split_paragraphs(paragraphs), keyboard)


def label(text: str) -> str:
    """Button labels are plain text (never parsed as HTML) and kept short."""
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def split_paragraphs(paragraphs: list[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Join paragraphs into messages of at most `limit` characters, breaking between paragraphs; a single
    paragraph longer than that is broken between lines, then hard, never inside an HTML entity or tag."""
    pieces: list[str] = []
    for p in paragraphs:
        pieces.extend(_hard_split(p, limit))
    chunks: list[str] = []
    current = ""
    for p in pieces:
        candidate = f"{current}\n\n{p}" if current else p
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = p
    if current:
        chunks.append(current)
    return chunks or [""]


def _hard_split(text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
            amp, semi = text.rfind("&", 0, cut), text.rfind(";", 0, cut)
            if amp > semi:  # do not cut &amp; in half
                cut = amp
            lt, gt = text.rfind("<", 0, cut), text.rfind(">", 0, cut)
            if lt > gt:  # nor a tag
                cut = lt
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    out.append(text)
    return out
