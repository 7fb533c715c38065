"""What a follower sent, read from WeChat's XML (wechatpy's message classes), and what the bot makes of it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wechatpy import parse_message

from bot.channels.kit import Action
from bot.channels.wechat.signing import Refused, parse_xml

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenIDs and an account's original id (gh_...)
FEEDBACK = {"+": "helpful", "＋": "helpful", "-": "not_helpful", "－": "not_helpful"}
ADMIN_COMMANDS = ("reload", "stats", "unanswered")
WELCOME_EVENTS = ("subscribe", "subscribe_scan")  # following the account, also by scanning a QR code


@dataclass(frozen=True, slots=True)
class Admin:
    command: str  # one of ADMIN_COMMANDS, from an administrator


@dataclass(frozen=True, slots=True)
class Notice:
    key: str  # a fixed text of knowledge/replies.yaml, sent as is and not recorded


@dataclass(frozen=True, slots=True)
class Inbound:
    openid: str  # the follower (FromUserName)
    account: str  # our official account's original id (ToUserName), the sender of our reply
    msg_type: str  # text, voice, image, ..., event
    key: str  # MsgId; events have none, so the follower and CreateTime (WeChat's advice for deduplication)
    text: str | None = None  # what they typed, or the speech recognition of a voice message
    event: str = ""
    event_key: str = ""


def read_inbound(xml: bytes | str) -> Inbound:
    """The message in `xml` (plaintext, or safe mode's decrypted inner XML); Refused(400) when it is not one."""
    fields = parse_xml(xml)
    try:
        message = parse_message(xml if isinstance(xml, str) else xml.decode("utf-8"))
        openid, account, msg_type = str(message.source or ""), str(message.target or ""), str(message.type)
        created, msg_id = int(fields.get("CreateTime") or 0), int(fields.get("MsgId") or 0)
        text = message.content if msg_type == "text" else getattr(message, "recognition", None)
        event, event_key = str(getattr(message, "event", "") or ""), str(getattr(message, "key", "") or "")
    except Refused:
        raise
    except Exception as exc:  # a field of the wrong type (MsgId not a number, ...)
        raise Refused(400, f"not a WeChat message ({type(exc).__name__})") from None
    if not (_ID.match(openid) and _ID.match(account)):
        raise Refused(400, "FromUserName or ToUserName missing or malformed")
    key = str(msg_id) if msg_id else f"{openid}:{created}:{event}"
    return Inbound(openid, account, msg_type, key, text if isinstance(text, str) else None, event, event_key)


def action_of(inbound: Inbound, admins: frozenset[str]) -> Action | Admin | Notice | None:
    """The kit Action for a message; an administrator's command; a fixed notice (an image, a location or a
    voice without speech recognition: please type your question); None for events that
    need no answer (unfollowing, a menu link opened, a location report, a template message receipt)."""
    if inbound.msg_type == "event":
        if inbound.event in WELCOME_EVENTS:
            return Action("welcome")
        if inbound.event == "click" and inbound.event_key in ("welcome", "help", "topics"):  # menu buttons
            return Action(inbound.event_key)
        return None
    text = (inbound.text or "").strip()
    if not text:
        return Notice("text_only")
    if text in FEEDBACK:
        return Action(FEEDBACK[text])
    if text.startswith("/") and inbound.openid in admins:
        command = text[1:].split()[0].lower() if text[1:].split() else ""
        if command in ADMIN_COMMANDS:
            return Admin(command)
    # Everything else typed, /help, /topics, /topic NAME and unknown /commands too, is the dialogue's: the
    # same lists and the same "no such command" line on every channel, recorded like any reply.
    return Action("say", text)
