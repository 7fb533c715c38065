"""One answer per follower message, however often WeChat delivers it and to whichever replica.

WeChat waits 5 seconds for the passive reply to a message; without one it drops the connection and delivers
the same message (same MsgId) again, three times in all. So:

- The first delivery starts the work (the kit claims the message once, by MsgId, across replicas) and waits
  for it up to the budget (WECHAT_REPLY_SECONDS, 4 s): the answer, if ready, is the passive reply.
- A delivery of a message already being worked on in this process waits on the same work; one whose
  outcome is already settled gets that outcome at once; one claimed by another replica polls the shared
  outcome (Redis), so each delivery WeChat still listens to can carry the answer.
- When the budget runs out, the delivery answers "success" (WeChat then stops retrying) and the answer
  goes through the customer-service API as soon as it is ready. Which of the two happens is settled once,
  by a set-if-absent on the shared outcome: the answer being stored, or the hand-off. Never both, never
  neither.
- Without customer-service credentials (WECHAT_APP_SECRET empty) there is no later channel: a delivery keeps
  waiting instead, WeChat redelivers at 5 and 10 seconds, and the redelivery, waiting on the same work,
  carries the answer when it is ready (up to about 15 seconds in all).

The messages after the first of a long answer go through the customer-service API once, after the passive
reply has been sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from bot.channels.wechat.shared import LocalValues, RedisValues

log = logging.getLogger(__name__)

HANDOFF = "handoff"
OUTCOME_TTL = 300.0  # seconds an outcome is kept: WeChat's redeliveries come within about 15 s
HOLD = 11.0  # without customer service, how long past the budget a delivery keeps waiting (WeChat's 2 retries)
POLL = 0.1  # seconds between looks at an outcome another replica is working on

Compute = Callable[[], Awaitable[list[str] | None]]  # the messages; None: claimed by another replica already
Send = Callable[[str, str], Awaitable[None]]  # (openid, text) through the customer-service API


class Delivery:
    def __init__(self, values: LocalValues | RedisValues, *, budget: float, send: Send | None,
                 clock=time.monotonic):
        self.values = values
        self.budget = budget
        self.send = send
        self.clock = clock
        self.late_sent = 0  # messages sent through customer service by this process
        self._work: dict[str, asyncio.Task] = {}
        self._background: set[asyncio.Task] = set()

    @property
    def can_send_late(self) -> bool:
        return self.send is not None

    async def deliver(self, key: str, openid: str, compute: Compute) -> list[str] | None:
        """The messages whose first is this delivery's passive reply, or None: answer "success" (the answer
        goes, or went, through customer service, or another delivery carried it)."""
        known = await self.values.get(_outcome(key))
        if known is not None:  # a redelivery of a message already settled
            return None if known == HANDOFF else json.loads(known)
        work = self._work.get(key)
        if work is None:
            work = self._work[key] = asyncio.create_task(self._answer(key, openid, compute))
            work.add_done_callback(lambda done: self._work.pop(key, None) if self._work.get(key) is done else None)
        try:
            return await asyncio.wait_for(asyncio.shield(work), self.budget)
        except TimeoutError:
            pass
        if not self.can_send_late:
            try:
                return await asyncio.wait_for(asyncio.shield(work), HOLD)
            except TimeoutError:
                return None
        stored = await self.values.first(_outcome(key), HANDOFF, OUTCOME_TTL)
        return None if stored == HANDOFF else json.loads(stored)

    async def send_rest(self, key: str, openid: str, rest: list[str]) -> None:
        """After a passive reply: the messages after it, through customer service, once for all deliveries."""
        if rest and self.can_send_late:
            self._spawn(self._send_rest(key, openid, rest))

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the work in flight and the late messages (a shutdown must not lose a late answer)."""
        pending = [*self._work.values(), *self._background]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    # -- the work ---------------------------------------------------------------------------------

    async def _answer(self, key: str, openid: str, compute: Compute) -> list[str] | None:
        try:
            messages = await compute()
        except Exception:
            log.exception("could not answer a WeChat message")
            return None
        if messages is None:
            return await self._others_outcome(key)
        stored = await self.values.first(_outcome(key), json.dumps(messages, ensure_ascii=False), OUTCOME_TTL)
        if stored == HANDOFF:  # the delivery gave up waiting first: the answer goes by customer service
            await self._send_all(openid, messages)
            return None
        return json.loads(stored)  # ours; or, when the claim could not be checked, another replica's copy

    async def _others_outcome(self, key: str) -> list[str] | None:
        """Another replica (or an earlier run) claimed the message: its outcome, when it shows in time."""
        deadline = self.clock() + self.budget + (0.0 if self.can_send_late else HOLD)
        while self.clock() < deadline:
            stored = await self.values.get(_outcome(key))
            if stored is not None:
                return None if stored == HANDOFF else json.loads(stored)
            await asyncio.sleep(POLL)
        return None

    async def _send_rest(self, key: str, openid: str, rest: list[str]) -> None:
        owner = uuid.uuid4().hex
        if await self.values.first(f"{_outcome(key)}:rest", owner, OUTCOME_TTL) == owner:
            await self._send_all(openid, rest)

    async def _send_all(self, openid: str, messages: list[str]) -> None:
        from bot.channels.wechat.api import WeChatApiError

        assert self.send is not None
        for text in messages:
            try:
                await self.send(openid, text)
            except WeChatApiError as exc:  # errmsg names the cause (e.g. the server's IP not whitelisted)
                log.warning("customer-service message not sent (errcode %s: %s)", exc.errcode, exc.errmsg)
                return
            except Exception:
                log.exception("customer-service message not sent")
                return
            self.late_sent += 1

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _outcome(key: str) -> str:
    return f"outcome:{key}"
