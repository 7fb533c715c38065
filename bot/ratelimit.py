"""Per-resident rate limits: in process for one instance, in Redis when replicas must share them."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from typing import Protocol


class RateLimiter(Protocol):
    def allow(self, key: str) -> bool: ...


class InProcessRateLimiter:
    """A sliding window per key; forgets keys that have been quiet for a whole window."""

    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            hits = self._hits[key]
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:  # bound memory under a flood of distinct senders
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
                    del self._hits[k]
            return True


class RedisRateLimiter:
    """A sliding window per key in Redis (a sorted set of send times), shared by every replica."""

    def __init__(self, url: str, limit: int, window: int = 60, prefix: str = "resident-bot:rate:"):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.limit, self.window, self.prefix = limit, window, prefix
        self.fallback = InProcessRateLimiter(limit, window)

    def allow(self, key: str) -> bool:
        name = f"{self.prefix}{key}"
        now = time.time()
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.zremrangebyscore(name, 0, now - self.window)
            pipe.zadd(name, {member: now})
            pipe.zcard(name)
            pipe.expire(name, self.window + 1)
            _, _, count, _ = pipe.execute()
            if int(count) <= self.limit:
                return True
            self.redis.zrem(name, member)  # a refused message does not use up the allowance
            return False
        except Exception:  # Redis down: keep limiting, per process, rather than not at all
            return self.fallback.allow(key)


def make_rate_limiter(limit: int, redis_url: str = "") -> RateLimiter:
    return RedisRateLimiter(redis_url, limit) if redis_url else InProcessRateLimiter(limit)
