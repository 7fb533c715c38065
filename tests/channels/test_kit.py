"""The channel kit: identity, rate limit, claim-once, ordering and navigation, as every channel gets them."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text

from bot.channels.kit import Action, ChannelKit, Incoming
from bot.ratelimit import InProcessRateLimiter
from bot.storage import schema
from bot.storage.connection import make_engine
from bot.storage.repository import Repository
from tests.auxil.db import backends, empty_database, fresh_repository
from tests.auxil.dialogue import ListRecorder, make_dialogue


def make_kit(recorder=None, claims=None, limit=100, salt="kit-salt"):
    return ChannelKit(make_dialogue(recorder=recorder), salt=salt, limiter=InProcessRateLimiter(limit),
                      claims=claims)


def test_identity_is_a_salted_hash_namespaced_by_channel():
    kit = make_kit()
    telegram, api = kit.resident("telegram", 123456789), kit.resident("api", 123456789)
    assert telegram.user_hash != api.user_hash  # the same number on two channels is two people
    assert "123456789" not in telegram.user_hash + telegram.conversation_id
    assert telegram.conversation_id.startswith("telegram:") and api.conversation_id.startswith("api:")
    assert make_kit(salt="other").resident("telegram", 123456789).user_hash != telegram.user_hash
    assert kit.resident("telegram", 123456789).user_hash == telegram.user_hash  # stable across restarts
    group = kit.resident("telegram", 1, "-100:1")
    assert group.user_hash == kit.resident("telegram", 1).user_hash
    assert group.conversation_id != kit.resident("telegram", 1).conversation_id


async def test_records_carry_the_hash_never_the_id():
    rec = ListRecorder()
    kit = make_kit(recorder=rec)
    who = kit.resident("api", "wx-openid-secret")
    await kit.receive(Incoming(who, Action("say", "厂通路哪年通车")))
    await kit.receive(Incoming(who, Action("topics")))
    assert [r.user_hash for r in rec.interactions] == [who.user_hash] * 2
    assert all("wx-openid-secret" not in repr(r) for r in rec.interactions)


async def test_rate_limit_gives_a_notice_and_counts_every_key():
    rec = ListRecorder()
    kit = make_kit(recorder=rec, limit=2)
    who = kit.resident("api", "u1")
    replies = [await kit.receive(Incoming(who, Action("say", "你好"))) for _ in range(3)]
    assert [r.status for r in replies] == ["smalltalk", "smalltalk", "notice"]
    assert replies[2].intent_id == "rate_limited" and "稍等" in replies[2].text
    assert len(rec.interactions) == 2  # the refused message is not recorded
    # A further key (a gateway's token, a client address) limits everybody behind it together.
    others = [kit.resident("api", f"user-{i}") for i in range(3)]
    shared = [await kit.receive(Incoming(o, Action("say", "你好"), limit_keys=(("token:a", 2),))) for o in others]
    assert [r.status for r in shared] == ["smalltalk", "smalltalk", "notice"]


@pytest.mark.parametrize("backend", backends())
async def test_a_redelivered_message_is_answered_once_per_channel(backend, tmp_path):
    repo = fresh_repository(backend, tmp_path)
    rec = ListRecorder()
    kit = make_kit(recorder=rec, claims=repo)
    who = kit.resident("telegram", 42)
    first = await kit.receive(Incoming(who, Action("say", "厂通路哪年通车"), key="1001"))
    again = await kit.receive(Incoming(who, Action("say", "厂通路哪年通车"), key="1001"))
    wechat = kit.resident("wechat", "openid")
    same_key_elsewhere = await kit.receive(Incoming(wechat, Action("say", "厂通路哪年通车"), key="1001"))
    long_key = "x" * 500  # a platform's long key still claims once
    long_first = await kit.receive(Incoming(wechat, Action("help"), key=long_key))
    long_again = await kit.receive(Incoming(wechat, Action("help"), key=long_key))
    repo.engine.dispose()
    assert first is not None and again is None and same_key_elsewhere is not None
    assert long_first is not None and long_again is None
    assert len(rec.interactions) == 3


class SlowClaims:
    """A database that hangs: the claim must not hold the answer."""

    def __init__(self):
        self.released = threading.Event()

    def claim_message(self, channel, key):
        self.released.wait(10)
        return True


async def test_a_hanging_claim_store_does_not_hold_the_answer():
    slow = SlowClaims()
    kit = make_kit(claims=slow)
    started = time.perf_counter()
    reply = await kit.receive(Incoming(kit.resident("telegram", 1), Action("say", "厂通路哪年通车"), key="7"))
    slow.released.set()
    assert reply is not None and reply.status == "answer" and time.perf_counter() - started < 5


async def test_one_conversation_is_answered_in_arrival_order():
    rec = ListRecorder()
    kit = make_kit(recorder=rec)
    who = kit.resident("api", "u-order")
    first = asyncio.create_task(kit.receive(Incoming(who, Action("say", "和滨海新区跨省通办多少项"))))
    second = asyncio.create_task(kit.receive(Incoming(who, Action("say", "那廊坊呢"))))
    a, b = await asyncio.gather(first, second)
    assert a.entry_id == "cross-province-binhai" and b.entry_id == "regional-langfang"  # the follow-up saw it


class FirstCallSlowLimiter(InProcessRateLimiter):
    """A shared limiter (Redis) that answers the first message's check after the second message's."""

    def __init__(self):
        super().__init__(100)
        self.calls = 0

    async def allow(self, key, limit=None):
        self.calls += 1
        if self.calls == 1:
            await asyncio.sleep(0.2)
        return await super().allow(key, limit)


async def test_a_slow_limit_check_does_not_let_the_follow_up_overtake_and_replies_go_out_in_order():
    kit = ChannelKit(make_dialogue(), salt="s", limiter=FirstCallSlowLimiter())
    who = kit.resident("telegram", "u-slow")
    delivered = []

    async def deliver(reply):
        await asyncio.sleep(0.05 if reply.status == "clarify" else 0)  # a slower send of the first reply
        delivered.append(reply.status)

    first = asyncio.create_task(kit.receive(Incoming(who, Action("say", "一键呼")), deliver))
    await asyncio.sleep(0)  # the first message arrived; the second follows while its limit check waits
    second = asyncio.create_task(kit.receive(Incoming(who, Action("say", "2")), deliver))
    a, b = await asyncio.gather(first, second)
    assert a.status == "clarify"
    assert (b.status, b.entry_id) == ("answer", a.choices[1].entry_id)  # the number picked from that list
    assert delivered == ["clarify", "answer"]


async def test_buttons_and_stale_ones():
    rec = ListRecorder()
    kit = make_kit(recorder=rec)
    who = kit.resident("web", "session-1")
    listing = await kit.receive(Incoming(who, Action("topic", "课后服务")))
    assert listing.intent_id == "topic" and listing.choices
    answer = await kit.receive(Incoming(who, Action("ask", listing.choices[0].entry_id)))
    assert answer.status == "answer"
    rated = await kit.receive(Incoming(who, Action("helpful", answer.interaction_id)))
    assert "谢谢" in rated.text
    for stale in (Action("ask", "no-such-entry"), Action("topic", "没有这个话题")):
        reply = await kit.receive(Incoming(who, stale))
        assert reply.status == "notice" and reply.intent_id == "stale_button"
    assert [r.status for r in rec.interactions] == ["smalltalk", "answer"] and len(rec.feedback) == 1


@pytest.mark.parametrize("backend", backends())
def test_migration_keeps_telegram_update_ids_claimed(backend, tmp_path):
    """Rows of the integer `processed_updates` table become ("telegram", "<id>") claims."""
    from alembic import command

    engine = make_engine(empty_database(backend, tmp_path))
    cfg = schema.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO processed_updates (update_id, processed_at) "
                          "VALUES (9007199254740993, CURRENT_TIMESTAMP)"))
    schema.upgrade(engine)
    repo = Repository(engine)
    assert repo.claim_message("telegram", "9007199254740993") is False  # handled before the upgrade
    assert repo.claim_message("wechat", "9007199254740993") is True
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT update_id FROM processed_updates")).scalars().all() == [9007199254740993]
    engine.dispose()
