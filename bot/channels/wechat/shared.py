"""Small values the replicas share: the access token, the outcome of each message. Redis when REDIS_URL is
set, else this process's memory (one instance).

Only three operations, all with an expiry: get, set, and set-if-absent (which tells who was first, so two
replicas settle one message's fate once). Redis is reached with short timeouts; when it does not answer,
this process's memory stands in (one log line per outage) and Redis is tried again after a cool-down.
"""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 0.5  # seconds for one round trip: these values sit on the path of a 5-second reply
COOL_DOWN = 30.0  # seconds on process memory before Redis is tried again
MAX_LOCAL = 50_000  # values kept in memory; expired ones are dropped past this many


class LocalValues:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._values: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None or found[1] <= self.clock():
            return None
        return found[0]

    async def set(self, key: str, value: str, ttl: float) -> None:
        if len(self._values) > MAX_LOCAL:
            now = self.clock()
            for k in [k for k, (_, until) in self._values.items() if until <= now]:
                del self._values[k]
        self._values[key] = (value, self.clock() + ttl)

    async def first(self, key: str, value: str, ttl: float) -> str:
        """Store `value` unless a value is there; return what is stored now (ours when we were first)."""
        stored = await self.get(key)
        if stored is not None:
            return stored
        await self.set(key, value, ttl)
        return value

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def close(self) -> None:
        return None


class RedisValues:
    def __init__(self, url: str, prefix: str = "resident-bot:wechat:", clock=time.monotonic):
        self.url, self.prefix, self.clock = url, prefix, clock
        self.local = LocalValues(clock)
        self._client = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open_until = 0.0

    async def get(self, key: str) -> str | None:
        return await self._try(lambda r: r.get(self.prefix + key), lambda: self.local.get(key))

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self._try(lambda r: r.set(self.prefix + key, value, px=int(ttl * 1000)),
                        lambda: self.local.set(key, value, ttl))

    async def first(self, key: str, value: str, ttl: float) -> str:
        async def redis_first(r) -> str:
            name = self.prefix + key
            if await r.set(name, value, px=int(ttl * 1000), nx=True):
                return value
            stored = await r.get(name)
            return stored if stored is not None else value  # expired in between: as good as ours

        return await self._try(redis_first, lambda: self.local.first(key, value, ttl))

    async def delete(self, key: str) -> None:
        await self._try(lambda r: r.delete(self.prefix + key), lambda: self.local.delete(key))

    async def _try(self, redis_op, local_op):
        if self._open_until and self.clock() < self._open_until:
            return await local_op()
        try:
            result = await asyncio.wait_for(redis_op(self._redis()), REDIS_TIMEOUT * 2)
        except Exception as exc:
            if not self._open_until:
                log.warning("Redis did not answer (%s): WeChat tokens and message outcomes are kept per process; "
                            "retrying every %.0f s", type(exc).__name__, COOL_DOWN)
            self._open_until = self.clock() + COOL_DOWN
            self._client = None  # a hung connection is not reused
            return await local_op()
        if self._open_until:
            log.warning("Redis answers again: WeChat tokens and message outcomes are shared again")
            self._open_until = 0.0
        return result.decode() if isinstance(result, bytes) else result

    def _redis(self):
        """One client per event loop: an asyncio connection belongs to the loop that opened it."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT,
                retry_on_timeout=False, health_check_interval=0)
            self._loop = loop
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def shared_values(redis_url: str) -> LocalValues | RedisValues:
    return RedisValues(redis_url) if redis_url else LocalValues()
