"""Rate limits per key (a resident, a gateway's token, a client address): in process for one instance, in
Redis when replicas must share them.

Nothing here may hold up the event loop: Redis is reached through its asyncio client with short timeouts,
and a circuit breaker switches to the in-process window at the first failure, says so once in the log,
and tries Redis again after a cool-down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from typing import Protocol

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 0.25  # seconds for one Redis round trip; a limiter that waits longer costs more than it saves
REDIS_COOL_DOWN = 30.0  # seconds on the in-process window before Redis is tried again


class RateLimiter(Protocol):
    async def allow(self, key: str, limit: int | None = None) -> bool:
        """Counts one hit for `key`; False when it would exceed `limit` (default: the limiter's) a window."""
        ...


class InProcessRateLimiter:
    """A sliding window per key; forgets keys that have been quiet for a whole window."""

    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    async def allow(self, key: str, limit: int | None = None) -> bool:
        return self.check(key, limit)

    def check(self, key: str, limit: int | None = None) -> bool:
        limit = self.limit if limit is None else limit
        now = self.clock()
        with self._lock:
            hits = self._hits[key]
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:  # bound memory under a flood of distinct senders
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
                    del self._hits[k]
            return True


class RedisRateLimiter:
    """A sliding window per key in Redis (a sorted set of send times), shared by every replica."""

    def __init__(self, url: str, limit: int, window: int = 60, prefix: str = "resident-bot:rate:",
                 timeout: float = REDIS_TIMEOUT, cool_down: float = REDIS_COOL_DOWN, clock=time.monotonic):
        self.url, self.limit, self.window, self.prefix = url, limit, window, prefix
        self.timeout, self.cool_down, self.clock = timeout, cool_down, clock
        self.fallback = InProcessRateLimiter(limit, window)
        self._client = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open_until = 0.0  # circuit open (Redis skipped) until this time
        self._probing = False
        self._closing: set[asyncio.Task] = set()

    @property
    def degraded(self) -> bool:
        """True while limits are kept per process because Redis did not answer."""
        return self._open_until > 0.0

    async def allow(self, key: str, limit: int | None = None) -> bool:
        limit = self.limit if limit is None else limit
        if self._open_until:
            if self.clock() < self._open_until or self._probing:
                return self.fallback.check(key, limit)
            self._probing = True  # half open: this one message tries Redis, the others do not wait for it
        try:
            allowed = await asyncio.wait_for(self._redis_allow(f"{self.prefix}{key}", limit), self.timeout * 2)
        except Exception as exc:  # down, hung or refusing: keep limiting, per process, rather than not at all
            self._trip(exc)
            return self.fallback.check(key, limit)
        finally:
            self._probing = False
        if self._open_until:
            log.warning("Redis answers again: rate limits are shared by the replicas again")
            self._open_until = 0.0
        return allowed

    async def _redis_allow(self, name: str, limit: int) -> bool:
        client = self._redis()
        now = time.time()
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(name, 0, now - self.window)
        pipe.zadd(name, {member: now})
        pipe.zcard(name)
        pipe.expire(name, self.window + 1)
        _, _, count, _ = await pipe.execute()
        if int(count) <= limit:
            return True
        await client.zrem(name, member)  # a refused message does not use up the allowance
        return False

    def _redis(self):
        """One client per event loop: an asyncio connection belongs to the loop that opened it."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout,
                retry_on_timeout=False, health_check_interval=0)
            self._loop = loop
        return self._client

    def _trip(self, exc: BaseException) -> None:
        if not self._open_until:  # one line per outage, not per message
            log.warning("Redis did not answer (%s): rate limits are kept per process; retrying every %.0f s",
                        type(exc).__name__, self.cool_down)
        self._open_until = self.clock() + self.cool_down
        client, self._client = self._client, None  # a hung connection is not reused
        if client is not None:
            task = asyncio.get_running_loop().create_task(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


def make_rate_limiter(limit: int, redis_url: str = "", timeout: float = REDIS_TIMEOUT) -> RateLimiter:
    return RedisRateLimiter(redis_url, limit, timeout=timeout) if redis_url else InProcessRateLimiter(limit)
