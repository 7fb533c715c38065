"""One answer per WeChat message across deliveries and replicas: two `Delivery`s sharing one store of
outcomes (process memory standing in for Redis, and Redis itself when TEST_REDIS_URL is set) and one claim
(standing in for the kit's database claim)."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from bot.channels.wechat.delivery import Delivery
from bot.channels.wechat.shared import LocalValues, RedisValues

REDIS = os.environ.get("TEST_REDIS_URL")
ANSWER = ["预计2024年竣工通车。"]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.skipif(not REDIS,
                                                                                  reason="TEST_REDIS_URL not set"))])
async def store(request):
    if request.param == "memory":
        yield LocalValues()
        return
    values = RedisValues(REDIS, prefix=f"test-wechat-{uuid.uuid4().hex}:")
    yield values
    client = values._redis()
    keys = [k async for k in client.scan_iter(match=values.prefix + "*")]
    if keys:
        await client.delete(*keys)
    await values.close()


class World:
    """What the replicas share besides the store: the claim, the Dialogue calls, the late messages."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.claimed: set[str] = set()
        self.computed = 0
        self.late: list[tuple[str, str]] = []

    def compute(self, key: str):
        async def run() -> list[str] | None:
            if key in self.claimed:
                return None  # another replica has it
            self.claimed.add(key)
            self.computed += 1
            await asyncio.sleep(self.seconds)
            return list(ANSWER)
        return run

    async def send(self, openid: str, text: str) -> None:
        self.late.append((openid, text))


def replicas(store, world: World, budget: float, late: bool = True) -> tuple[Delivery, Delivery]:
    send = world.send if late else None
    return Delivery(store, budget=budget, send=send), Delivery(store, budget=budget, send=send)


async def test_a_redelivery_after_the_answer_gets_the_same_passive_reply(store):
    world = World(0.05)
    a, b = replicas(store, world, budget=1.0)
    first = await a.deliver("k1", "o1", world.compute("k1"))
    again = await b.deliver("k1", "o1", world.compute("k1"))  # WeChat never got the first reply
    assert first == again == ANSWER and world.computed == 1 and world.late == []


async def test_a_redelivery_to_another_replica_while_computing_waits_for_the_answer(store):
    world = World(0.4)
    a, b = replicas(store, world, budget=1.5)
    first = asyncio.create_task(a.deliver("k2", "o1", world.compute("k2")))
    await asyncio.sleep(0.1)
    again = await b.deliver("k2", "o1", world.compute("k2"))
    assert again == ANSWER and await first == ANSWER
    assert world.computed == 1 and world.late == []


async def test_a_late_answer_is_handed_to_customer_service_once(store):
    world = World(0.5)
    a, b = replicas(store, world, budget=0.2)
    assert await a.deliver("k3", "o1", world.compute("k3")) is None  # "success" at the budget
    assert await b.deliver("k3", "o1", world.compute("k3")) is None  # a redelivery meanwhile: handed off too
    await asyncio.sleep(0.5)
    await a.stop()
    assert world.late == [("o1", ANSWER[0])] and world.computed == 1


async def test_deliveries_in_one_process_share_the_work(store):
    world = World(0.3)
    a, _ = replicas(store, world, budget=1.0)
    results = await asyncio.gather(*(a.deliver("k4", "o1", world.compute("k4")) for _ in range(3)))
    assert results == [ANSWER] * 3 and world.computed == 1


async def test_without_customer_service_a_delivery_waits_past_the_budget(store):
    world = World(0.5)
    a, b = replicas(store, world, budget=0.2, late=False)
    first = asyncio.create_task(a.deliver("k5", "o1", world.compute("k5")))
    await asyncio.sleep(0.3)
    again = await b.deliver("k5", "o1", world.compute("k5"))  # on the other replica
    assert again == ANSWER and await first == ANSWER and world.late == []


async def test_the_rest_of_a_long_answer_is_sent_once_for_all_deliveries(store):
    world = World(0.0)
    a, b = replicas(store, world, budget=1.0)
    for delivery in (a, b, a):
        await delivery.send_rest("k6", "o1", ["second part", "third part"])
    await a.stop()
    await b.stop()
    assert world.late == [("o1", "second part"), ("o1", "third part")]


async def test_redis_out_of_reach_falls_back_to_process_memory(caplog):
    values = RedisValues("redis://127.0.0.1:1/0")  # nothing listens there
    assert await values.first("x", "mine", 10) == "mine"
    assert await values.first("x", "theirs", 10) == "mine"
    assert await values.get("x") == "mine"
    warnings = [r for r in caplog.records if "Redis did not answer" in r.getMessage()]
    assert len(warnings) == 1  # one line per outage
