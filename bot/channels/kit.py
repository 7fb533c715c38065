"""The channel kit: what every channel does around `Dialogue`, so that a channel only translates.

A channel (Telegram, the HTTP API, WeChat, the web page) turns what it receives into an `Incoming` and
renders the `Reply` that `ChannelKit.receive` returns. In between, the kit

- names the resident: `resident(channel, user, conversation)` hashes ids with the secret salt, namespaced
  by channel, so no raw id is stored or logged and two channels' ids never meet;
- limits the rate per resident (and any further keys the channel gives: a token, a client address);
- claims each delivery once, by (channel, message key), across restarts and replicas, so a message that
  the platform redelivers is not answered twice;
- orders one conversation's messages: a follow-up waits for the answer before it;
- runs the blocking `Dialogue` off the event loop, including the navigation replies (welcome, help,
  topics, a topic's questions), which are recorded and put in the resident's script like any reply.

Administrators' commands are `kit.admin` (channel-neutral text); each channel decides who may use them.
A channel never touches storage or the app's wiring: it gets the kit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.admin.commands import AdminCommands
from bot.dialogue.builder import fixed
from bot.dialogue.engine import NAVIGATION, Dialogue
from bot.dialogue.records import hash_user_id
from bot.dialogue.reply import Option, Reply, ReplyPart
from bot.matching.normalise import detect_script
from bot.observability import RATE_LIMITED
from bot.ratelimit import RateLimiter

log = logging.getLogger(__name__)

MAX_LOCKS = 10_000  # idle per-conversation locks are dropped past this many
MAX_KEY = 128  # characters of a message key as stored
CLAIM_TIMEOUT = 1.0  # seconds; a slow database must not hold the answer: answering twice beats never


@dataclass(frozen=True, slots=True)
class Resident:
    """Who wrote, as every layer below the channel sees them: hashes only."""

    channel: str
    user_hash: str | None  # for rate limits and records; None when the channel knows no user
    conversation_id: str  # where follow-up context lives: "<channel>:<hash>"


@dataclass(frozen=True, slots=True)
class Action:
    """What the resident did. `kind` is "say" (typed `arg`), "ask" or "choose" (an entry id, from a
    suggestion or a clarification), "none" (都不是), "helpful" / "not_helpful" (an interaction id), or a
    navigation: "welcome", "help", "topics", "topic" (a topic name)."""

    kind: str
    arg: str = ""
    comment: str | None = None  # with a rating: what the resident wrote about the answer


@dataclass(frozen=True, slots=True)
class Incoming:
    resident: Resident
    action: Action
    key: str | None = None  # the channel's id of this delivery (Telegram update id, WeChat MsgId); None: no dedupe
    # Further rate limits besides the resident's, as (key, per minute): a gateway's token, a client address.
    limit_keys: tuple[tuple[str, int], ...] = ()


def option_action(reply: Reply, option: Option) -> Action:
    """What picking one of a reply's numbered choices does: a clarification's choice answers the question it
    was offered for; a navigation list's entry is asked as if suggested; a topic lists its questions; no
    entry and no topic is 都不是."""
    if option.topic:
        return Action("topic", option.topic)
    if option.entry_id:
        return Action("choose" if reply.status == "clarify" else "ask", option.entry_id)
    return Action("none")


class ClaimStore(Protocol):
    def claim_message(self, channel: str, key: str) -> bool:
        """True the first time (channel, key) is claimed, by any replica; False for a redelivery."""
        ...


class ChannelKit:
    def __init__(self, dialogue: Dialogue, *, salt: str, limiter: RateLimiter, claims: ClaimStore | None = None,
                 admin: AdminCommands | None = None):
        self.dialogue = dialogue
        self.salt = salt
        self.limiter = limiter
        self.claims = claims
        self.admin = admin or AdminCommands(dialogue.live)
        self._locks: dict[str, asyncio.Lock] = {}

    # -- identity -------------------------------------------------------------------------------

    def resident(self, channel: str, user: str | int | None, conversation: str | int | None = None) -> Resident:
        """`user` is the channel's id of the person, `conversation` of the place they write from (a group
        chat with the user, a gateway's token with the user); by default the user alone."""
        user_hash = self.hash(channel, user) if user not in (None, "") else None
        where = conversation if conversation not in (None, "") else user
        conversation_hash = self.hash(channel, where if where not in (None, "") else "anonymous")
        return Resident(channel, user_hash, f"{channel}:{conversation_hash[:24]}")

    def hash(self, channel: str, value: str | int) -> str:
        """HMAC-SHA256 with the secret salt, of the id namespaced by channel: the same number on two
        channels is two people, and without the salt a hash cannot be brute-forced back to the id."""
        return hash_user_id(f"{channel}:{value}", self.salt) or ""

    # -- the shared steps, for channels that need one alone -------------------------------------

    async def allow(self, *keys: tuple[str, int | None]) -> bool:
        """Every (key, per-minute limit) within its limit (None: the resident's limit). Stops at the first
        refusal, so a refused message does not use up the keys after it."""
        for key, limit in keys:
            if not await self.limiter.allow(key, limit):
                RATE_LIMITED.inc()
                return False
        return True

    async def first_time(self, channel: str, key: str | None) -> bool:
        """False for a delivery already claimed (redelivered after a restart, by a webhook retry, or taken
        by another replica). Without a database, or when it is slow or down, every delivery is new."""
        if self.claims is None or key is None:
            return True
        if len(key) > MAX_KEY:  # a platform's long key still fits the column, and stays unique
            key = hashlib.sha256(key.encode()).hexdigest()
        try:
            first = await asyncio.wait_for(asyncio.to_thread(self.claims.claim_message, channel, key),
                                           CLAIM_TIMEOUT)
        except Exception as exc:  # storage down or slow: answering twice is better than not answering
            log.warning("could not claim a %s message (%s); handling it anyway", channel, type(exc).__name__)
            return True
        if not first:
            log.info("%s message already handled; skipped", channel)
        return first

    def turn(self, conversation_id: str) -> asyncio.Lock:
        """One conversation's messages are answered in order: a follow-up needs the context its
        previous message left. Await it first, so they queue in arrival order."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            if len(self._locks) > MAX_LOCKS:
                for key in [k for k, v in self._locks.items() if not v.locked()]:
                    del self._locks[key]
            lock = self._locks[conversation_id] = asyncio.Lock()
        return lock

    def text(self, key: str) -> str:
        """One of the fixed texts of knowledge/replies.yaml (e.g. unknown_command), as now loaded."""
        return self.dialogue.live.snapshot.kb.replies[key]

    async def text_for(self, key: str, resident: Resident) -> str:
        """A fixed text in the script the resident's conversation was last answered in (a stale button's
        toast, the unknown-command line): these have no text of the resident's to tell the script by."""
        return (await self.notice(key, resident)).text

    async def notice(self, key: str, resident: Resident, said: str | None = None) -> Reply:
        """A fixed text as a reply that is not recorded (rate limited, stale button), in the resident's
        script: that of what they just typed (`said`) without reading storage, which a resident over the rate
        limit must not make the bot do; else that of their conversation's last reply. `intent_id` names it."""
        if said is not None:
            script = detect_script(said[:MAX_KEY])
        else:
            script = await asyncio.to_thread(self.dialogue.script_of, resident.conversation_id)
        text = fixed(self.dialogue.live.snapshot.kb.replies, key, script)
        return Reply("notice", (ReplyPart("text", text),), script=script, intent_id=key)

    # -- all of it ------------------------------------------------------------------------------

    async def receive(self, incoming: Incoming,
                      deliver: Callable[[Reply], Awaitable[None]] | None = None) -> Reply | None:
        """Order, rate limit, claim once, then the Dialogue. Returns the reply to render; a notice reply
        (status "notice") when the resident is over the limit or pressed a stale button; None for a
        redelivered message, which must not be answered again. `deliver`, when given, sends the reply
        before the conversation's next message is answered, so that answers arrive in the order asked."""
        who = incoming.resident
        mine = ((f"{who.channel}:{who.user_hash}", None),) if who.user_hash else ()
        # The conversation's place in the queue is taken before anything awaits: a rate limiter or a claim
        # that answers later for an earlier message must not let the follow-up behind it go first.
        async with self.turn(who.conversation_id):
            if not await self.allow(*mine, *incoming.limit_keys):
                said = incoming.action.arg if incoming.action.kind == "say" else ""
                reply: Reply | None = await self.notice("rate_limited", who, said)
            elif not await self.first_time(who.channel, incoming.key):
                return None
            else:
                reply = await asyncio.to_thread(self._dialogue_call(who, incoming.action))
                if reply is None:
                    reply = await self.notice("stale_button", who)
            if deliver is not None:
                await deliver(reply)
        return reply

    def _dialogue_call(self, who: Resident, action: Action) -> Callable[[], Reply | None]:
        d, conv, kind, arg = self.dialogue, who.conversation_id, action.kind, action.arg
        where = {"channel": who.channel, "user_hash": who.user_hash}
        if kind == "say":
            return lambda: d.handle(conv, arg, **where)
        if kind in ("ask", "choose"):
            reason = "chosen" if kind == "choose" else "suggested"
            return lambda: d.answer_entry(conv, arg, reason=reason, **where)
        if kind == "none":
            return lambda: d.handle(conv, self.text("clarify_none"), **where)
        if kind in ("helpful", "not_helpful"):
            return lambda: d.feedback(conv, kind == "helpful", arg or None, comment=action.comment)
        if kind in NAVIGATION:
            return lambda: d.navigate(conv, kind, arg, **where)
        raise ValueError(f"unknown action {kind!r}")

    async def run_admin(self, command: str, limit: int) -> str:
        """An administrator's command (the channel has checked who asked), as text within `limit`."""
        return await asyncio.to_thread(self.admin.run, command, limit=limit)
