"""The channel kit: what every channel does around `Dialogue`, so that a channel only translates.

A channel (Telegram, the HTTP API, WeChat, the web page) turns what it receives into an `Incoming` and
renders the `Reply` that `ChannelKit.receive` returns. In between, the kit

- names the resident: `resident(channel, user, conversation)` hashes ids with the secret salt, namespaced
  by channel, so no raw id is stored or logged and two channels' ids never meet;
- limits the rate per resident (and any further keys the channel gives: a token, a client address);
- claims each delivery once, by (channel, message key), across restarts and replicas, so a message that
  the platform redelivers is not answered twice;
- answers a client's message id once: a client that gave up waiting (the web page after its timeout, an API
  gateway) and sends the same message again gets the first reply, not a second answer and record;
- orders one conversation's messages: a follow-up waits for the answer before it;
- runs the blocking `Dialogue` off the event loop, including the navigation replies (welcome, help,
  topics, a topic's questions), which are recorded and put in the resident's script like any reply.

Administrators' commands are `kit.admin` (channel-neutral text); each channel decides who may use them.
A channel never touches storage or the app's wiring: it gets the kit.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections import OrderedDict
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
MAX_MESSAGE_ID = 128  # characters of a client's message id (hashed with the conversation before it is stored)
# A retry whose first attempt another replica is still answering waits this long for that reply, checking
# every RESEND_POLL; less than the web page's own timeout, so the page hears back either way.
RESEND_WAIT = 8.0
RESEND_POLL = 0.2
# A first attempt claimed this long ago with no reply kept was lost (its replica stopped): a retry answers it.
RESEND_STALE = 60.0
KEPT_LOCALLY = 2_000  # replies to message ids this process keeps in memory (a retry here needs no database)


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
    # The client's id of this message, the same on each retry (web page, HTTP API `message_id`): a retry
    # gets the first attempt's reply, and nothing is recorded again. None: every request is a new message.
    message_id: str | None = None
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


class _Unknown(Exception):
    """Storage could not say what a message id's first attempt got."""


class ReplyStore(ClaimStore, Protocol):
    """Claims that also keep the reply a claimed message got, for a client's retries (storage does both)."""

    def keep_reply(self, channel: str, key: str, reply: str) -> None: ...

    def kept_reply(self, channel: str, key: str) -> str | None: ...

    def take_over(self, channel: str, key: str, claimed_before: dt.datetime) -> bool: ...


class ChannelKit:
    def __init__(self, dialogue: Dialogue, *, salt: str, limiter: RateLimiter, claims: ClaimStore | None = None,
                 admin: AdminCommands | None = None, resend_wait: float = RESEND_WAIT,
                 resend_stale: float = RESEND_STALE):
        self.dialogue = dialogue
        self.salt = salt
        self.limiter = limiter
        self.claims = claims
        self.admin = admin or AdminCommands(dialogue.live)
        self.resend_wait = resend_wait
        self.resend_stale = resend_stale
        self._locks: dict[str, asyncio.Lock] = {}
        self._kept: OrderedDict[str, Reply] = OrderedDict()
        self._keeping: set[asyncio.Task] = set()

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
        first = await self._claim(channel, key)
        if not first:
            log.info("%s message already handled; skipped", channel)
        return first

    async def _claim(self, channel: str, key: str) -> bool:
        if self.claims is None:
            return True
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.claims.claim_message, channel, key), CLAIM_TIMEOUT)
        except Exception as exc:  # storage down or slow: answering twice is better than not answering
            log.warning("could not claim a %s message (%s); handling it anyway", channel, type(exc).__name__)
            return True

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
            elif incoming.message_id:
                reply = await self._answer_once(who, incoming.action, incoming.message_id)
            else:
                reply = await self._answer(who, incoming.action)
            if deliver is not None:
                await deliver(reply)
        return reply

    async def _answer(self, who: Resident, action: Action) -> Reply:
        reply = await asyncio.to_thread(self._dialogue_call(who, action))
        return reply if reply is not None else await self.notice("stale_button", who)

    # -- a client's message id: one answer, however often it is sent -----------------------------

    async def _answer_once(self, who: Resident, action: Action, message_id: str) -> Reply:
        """The first attempt of a message id is answered and its reply kept; a retry gets that reply. The
        key is the conversation's and the id's hash: one client's ids never meet another's, and what a
        client calls its message is not stored."""
        key = self.message_key(who, message_id)
        kept = self._kept.get(key)
        if kept is not None:  # answered here (this process's turn lock kept the retry behind it)
            return kept
        if await self._claim(who.channel, key):
            return await self._answer_and_keep(who, action, key)
        try:
            kept = await self._first_reply(who.channel, key)
            if kept is not None:
                return kept
            lost = await self._ask(self._take_over, who.channel, key)
        except _Unknown:  # storage cannot say what the first attempt got: answering twice beats never
            lost = True
        if lost:
            log.warning("a %s message's first attempt left no reply that can be read; answered again", who.channel)
            return await self._answer_and_keep(who, action, key)
        said = action.arg if action.kind == "say" else None
        return await self.notice("resend_pending", who, said)

    @staticmethod
    def message_key(who: Resident, message_id: str) -> str:
        """What is claimed for a client's message id: the hash of the conversation and the id."""
        return hashlib.sha256(f"{who.conversation_id}\0{message_id[:MAX_MESSAGE_ID]}".encode()).hexdigest()

    async def _answer_and_keep(self, who: Resident, action: Action, key: str) -> Reply:
        """Shielded: a client that hangs up (its timeout) does not stop the answer from being kept, which is
        what its retry will ask for."""
        async def answer() -> Reply:
            reply = await self._answer(who, action)
            self._kept[key] = reply
            while len(self._kept) > KEPT_LOCALLY:
                self._kept.popitem(last=False)
            keep = getattr(self.claims, "keep_reply", None)
            if keep is not None:  # for retries that reach another replica; off the reply path
                task = asyncio.create_task(self._keep(keep, who.channel, key, reply.to_json()))
                self._keeping.add(task)
                task.add_done_callback(self._keeping.discard)
            return reply
        return await asyncio.shield(asyncio.ensure_future(answer()))

    async def _first_reply(self, channel: str, key: str) -> Reply | None:
        """The reply the first attempt got, waiting up to `resend_wait` for the replica answering it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.resend_wait
        read = getattr(self.claims, "kept_reply", None)
        while True:
            kept = self._kept.get(key)
            if kept is None and read is not None and (stored := await self._ask(read, channel, key)):
                try:
                    kept = Reply.from_json(str(stored))
                except (ValueError, KeyError, TypeError):  # kept by another version: as good as lost
                    raise _Unknown from None
            if kept is not None or loop.time() >= deadline:
                return kept
            await asyncio.sleep(RESEND_POLL)

    def _take_over(self, channel: str, key: str) -> bool:
        take = getattr(self.claims, "take_over", None)
        before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.resend_stale)
        return bool(take(channel, key, before)) if take is not None else False

    @staticmethod
    async def _ask(call: Callable[..., object], *args: object) -> object:
        """A storage call for message ids, time-boxed like a claim; _Unknown when it fails or is slow."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(call, *args), CLAIM_TIMEOUT)
        except Exception as exc:
            log.warning("message id storage call failed (%s)", type(exc).__name__)
            raise _Unknown from None

    @classmethod
    async def _keep(cls, keep: Callable[..., object], *args: object) -> None:
        # Not kept: a retry that reaches another replica answers it again once RESEND_STALE has passed.
        with contextlib.suppress(_Unknown):
            await cls._ask(keep, *args)

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
