"""Between the page's script and the kit: a `Reply` as the JSON the page renders, and the page's JSON as a
kit `Action`, checked.

The page sends what the resident typed (`{"text": "..."}`) or the action of a button it was given
(`{"action": "ask", "arg": "<entry>"}`); every button's action comes from the server in the reply, so a
request that names an action the page could not have been given is refused (400) before the kit sees it.
A rating may carry the resident's one-line comment (`"comment"`, sent after 没帮助). Every request may carry
`"message_id"`, the page's random id of it, the same on each retry: a retry gets the first reply (the kit).
Labels are plain strings: the script sets them with textContent, never as HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.channels.kit import Action, option_action
from bot.dialogue.reply import Reply, ReplyPart
from bot.matching.normalise import to_traditional

MAX_TEXT = 500  # characters the page accepts in one question; the matcher reads far fewer (MAX_MESSAGE_CHARS)
MAX_TOPIC = 60  # characters of a topic name sent back by a topic button
MAX_COMMENT = 200  # characters of the one-line comment after 没帮助: what was wrong, not a letter
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # the page makes 32 hex digits
_ENTRY = re.compile(r"[a-z0-9][a-z0-9-]{1,59}")  # as knowledge/*.yaml ids are
_INTERACTION = re.compile(r"[0-9a-f]{32}")
BUTTON_KINDS = ("ask", "choose", "none", "helpful", "not_helpful", "welcome", "help", "topics", "topic")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the page must show a message for: `key` names the text in knowledge/replies.yaml."""

    key: str
    values: tuple[tuple[str, int], ...] = ()


def action_of(data: object) -> Action | Refusal:
    """The resident's action in the page's JSON body, or why it is refused."""
    if not isinstance(data, dict):
        return Refusal("page_bad_request")
    if "text" in data:
        text = data["text"]
        if not isinstance(text, str):
            return Refusal("page_bad_request")
        text = text.strip()
        if not text:
            return Refusal("page_empty")
        if len(text) > MAX_TEXT:
            return Refusal("page_too_long", (("count", len(text)), ("max", MAX_TEXT)))
        return Action("say", text)
    kind, arg = data.get("action"), data.get("arg", "")
    if kind not in BUTTON_KINDS or not isinstance(arg, str):
        return Refusal("page_bad_request")
    valid = {
        "ask": _ENTRY.fullmatch(arg), "choose": _ENTRY.fullmatch(arg),
        "helpful": _INTERACTION.fullmatch(arg), "not_helpful": _INTERACTION.fullmatch(arg),
        "topic": 0 < len(arg) <= MAX_TOPIC,
    }.get(kind, arg == "")
    if not valid:
        return Refusal("page_bad_request")
    comment = data.get("comment")
    if comment is None:
        return Action(kind, arg)
    if kind not in ("helpful", "not_helpful") or not isinstance(comment, str):
        return Refusal("page_bad_request")
    comment = " ".join(comment.split())  # one line, as the box is
    if len(comment) > MAX_COMMENT:
        return Refusal("page_comment_too_long", (("count", len(comment)), ("max", MAX_COMMENT)))
    return Action(kind, arg, comment=comment or None)


def message_id_of(data: object) -> str | Refusal | None:
    """The page's id of this request (kept across its retries), None when it sent none (an older page)."""
    value = data.get("message_id") if isinstance(data, dict) else None
    if value is None:
        return None
    return value if isinstance(value, str) and _MESSAGE_ID.fullmatch(value) else Refusal("page_bad_request")


def payload(action: Action) -> dict[str, str]:
    return {"action": action.kind, "arg": action.arg}


def render(reply: Reply, texts: dict[str, str], *, commented: bool = False) -> dict[str, object]:
    """What the page shows for a reply: paragraphs, then the source line (with its date) on its own, the
    numbered choices and the suggestions as buttons, and for an answer the two feedback buttons and the texts
    of the comment box that 没帮助 opens. Fixed texts are put in the reply's script, like the reply itself.
    `commented`: the reply to a rating that carried a comment, thanked for as such."""
    def fixed(key: str) -> str:
        return to_traditional(texts[key]) if reply.script == "traditional" else texts[key]

    if commented and reply.status != "notice":
        reply = replace(reply, parts=(ReplyPart("text", fixed("page_comment_thanks")),))

    view: dict[str, object] = {
        "status": reply.status,
        "lang": "zh-Hant" if reply.script == "traditional" else "zh-Hans",
        "paragraphs": [{"kind": p.kind, "text": p.text} for p in reply.parts if p.text and p.kind != "source"],
        "source": next((p.text for p in reply.parts if p.kind == "source" and p.text), None),
        "as_of": reply.as_of,
        "choices": [{"label": f"{i}. {c.label}", "do": payload(option_action(reply, c))}
                    for i, c in enumerate(reply.choices, 1)],
        "suggestions_title": reply.suggestions_title if reply.suggestions else "",
        "suggestions": [{"label": s.label, "do": payload(Action("ask", s.entry_id))}
                        for s in reply.suggestions if s.entry_id],
        "feedback": None,
    }
    if reply.rateable and reply.interaction_id:
        view["feedback"] = {
            "prompt": fixed("page_feedback_prompt"),
            "buttons": [{"label": fixed("page_helpful"), "do": payload(Action("helpful", reply.interaction_id))},
                        {"label": fixed("page_not_helpful"),
                         "do": payload(Action("not_helpful", reply.interaction_id))}],
            "comment": {"label": fixed("page_comment_label"), "placeholder": fixed("page_comment_placeholder"),
                        "send": fixed("page_comment_send"), "max": MAX_COMMENT},
        }
    return view


def refusal_text(refusal: Refusal, texts: dict[str, str]) -> str:
    text = texts[refusal.key]
    for name, value in refusal.values:
        text = text.replace("{" + name + "}", str(value))
    return text
