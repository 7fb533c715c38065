"""Per-resident rate limits, in process and in Redis (when TEST_REDIS_URL is set)."""

from __future__ import annotations

import os
import uuid

import pytest

from bot.ratelimit import InProcessRateLimiter, RedisRateLimiter


def test_in_process_sliding_window():
    now = [0.0]
    limiter = InProcessRateLimiter(3, window=60, clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.check("b")  # another resident is not affected
    now[0] = 59.0
    assert not limiter.check("a")
    now[0] = 60.5  # the first three have left the window
    assert limiter.check("a")
    assert [limiter.check("token", 5) for _ in range(6)] == [True] * 5 + [False]  # a key with its own limit


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL not set")
async def test_redis_window_is_shared_between_limiters():
    key = uuid.uuid4().hex
    a = RedisRateLimiter(os.environ["TEST_REDIS_URL"], 3)
    b = RedisRateLimiter(os.environ["TEST_REDIS_URL"], 3)  # another replica
    assert [await a.allow(key), await b.allow(key), await a.allow(key), await b.allow(key)] == [True, True, True, False]
    assert not a.degraded


async def test_redis_down_falls_back_to_in_process_limits():
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", 2)
    assert [await limiter.allow("k") for _ in range(3)] == [True, True, False]
    assert limiter.degraded
