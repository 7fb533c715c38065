"""A client's retry is answered once: the web page or an API gateway that gave up waiting sends the same
message again with the same `message_id` and gets the first reply, never a second answer or record, on the
same replica or another one sharing the database."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest
from starlette.testclient import TestClient

from bot.channels.kit import Action, ChannelKit, Incoming
from bot.dialogue.reply import Reply
from bot.ratelimit import InProcessRateLimiter
from tests.auxil.db import backends, fresh_repository
from tests.auxil.dialogue import ListRecorder, make_dialogue
from tests.channels.test_api import A, make_web

MESSAGES = "/api/v1/messages"


def replica(recorder, claims, **timeouts) -> ChannelKit:
    """One replica's kit: its own dialogue and memory, the shared records and database."""
    return ChannelKit(make_dialogue(recorder=recorder), salt="resend-salt", limiter=InProcessRateLimiter(100),
                      claims=claims, **timeouts)


def held(kit: ChannelKit) -> tuple[threading.Event, threading.Event]:
    """Make the kit's next answer wait (a slow server): (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    handle = kit.dialogue.handle

    def slow(*args, **kwargs):
        entered.set()
        release.wait(10)
        return handle(*args, **kwargs)

    kit.dialogue.handle = slow  # type: ignore[method-assign]
    return entered, release


def say(kit: ChannelKit, text: str, message_id: str | None, user: str = "u1") -> Incoming:
    return Incoming(kit.resident("api", user), Action("say", text), message_id=message_id)


def test_a_reply_survives_its_json_whole():
    kit = replica(ListRecorder(), None)
    who = kit.resident("api", "u1")
    for action in (Action("say", "潞河附校晚托到几点"), Action("say", "一键呼"), Action("topics"),
                   Action("say", "潞河附校晚託到幾點")):
        reply = asyncio.run(kit.receive(Incoming(who, action)))
        assert Reply.from_json(reply.to_json()) == reply
        assert all(getattr(reply, f.name) == getattr(Reply.from_json(reply.to_json()), f.name)
                   for f in dataclasses.fields(Reply))


@pytest.mark.parametrize("backend", backends())
async def test_a_retry_gets_the_first_reply_and_is_recorded_once(backend, tmp_path):
    repo = fresh_repository(backend, tmp_path)
    rec = ListRecorder()
    kit = replica(rec, repo)
    first = await kit.receive(say(kit, "潞河附校晚托到几点", "m-1"))
    again = await kit.receive(say(kit, "潞河附校晚托到几点", "m-1"))
    other_message = await kit.receive(say(kit, "潞河附校晚托到几点", "m-2"))  # asked again on purpose
    other_resident = await kit.receive(say(kit, "潞河附校晚托到几点", "m-1", user="u2"))  # ids are per conversation
    without_id = [await kit.receive(say(kit, "你好", None)) for _ in range(2)]  # as before: each is a message
    # Another replica (nothing in its memory) gets the same first reply from the database.
    elsewhere = await replica(rec, repo).receive(say(kit, "潞河附校晚托到几点", "m-1"))
    repo.engine.dispose()
    assert again == first and elsewhere == first and "19:20" in first.text
    assert other_message.interaction_id != first.interaction_id
    assert other_resident.interaction_id != first.interaction_id
    assert len({r.interaction_id for r in without_id}) == 2
    assert [r.id for r in rec.interactions].count(first.interaction_id) == 1
    assert len(rec.interactions) == 5  # m-1, m-2, u2's m-1, two without an id


@pytest.mark.parametrize("backend", backends())
async def test_a_retry_on_another_replica_waits_for_the_slow_first_attempt(backend, tmp_path):
    repo = fresh_repository(backend, tmp_path)
    rec = ListRecorder()
    slow, other = replica(rec, repo), replica(rec, repo, resend_wait=10)
    entered, release = held(slow)
    first = asyncio.create_task(slow.receive(say(slow, "厂通路哪年通车", "m-slow")))
    await asyncio.to_thread(entered.wait, 10)  # claimed and being answered
    retry = asyncio.create_task(other.receive(say(other, "厂通路哪年通车", "m-slow")))
    await asyncio.sleep(0.3)  # the retry polls meanwhile
    release.set()
    a, b = await asyncio.gather(first, retry)
    repo.engine.dispose()
    assert a.status == "answer" and b == a
    assert len(rec.interactions) == 1


@pytest.mark.parametrize("backend", backends())
async def test_a_retry_while_the_first_is_still_answered_is_told_to_wait_then_gets_it(backend, tmp_path):
    repo = fresh_repository(backend, tmp_path)
    rec = ListRecorder()
    slow, other = replica(rec, repo), replica(rec, repo, resend_wait=0.2)
    entered, release = held(slow)
    first = asyncio.create_task(slow.receive(say(slow, "厂通路哪年通车", "m-wait")))
    await asyncio.to_thread(entered.wait, 10)
    pending = await other.receive(say(other, "廠通路哪年通車", "m-wait"))
    release.set()
    answered = await first
    later = await other.receive(say(other, "厂通路哪年通车", "m-wait"))
    repo.engine.dispose()
    assert pending.status == "notice" and pending.intent_id == "resend_pending"
    assert pending.script == "traditional" and "稍等" in pending.text  # in the script of what was typed
    assert later == answered and len(rec.interactions) == 1


@pytest.mark.parametrize("backend", backends())
async def test_a_first_attempt_lost_with_its_replica_is_answered_by_a_retry(backend, tmp_path):
    repo = fresh_repository(backend, tmp_path)
    rec = ListRecorder()
    patient = replica(rec, repo, resend_wait=0.1)
    who = patient.resident("api", "u1")
    assert repo.claim_message("api", patient.message_key(who, "m-lost"))  # claimed, then the replica died
    waiting = await patient.receive(say(patient, "厂通路哪年通车", "m-lost"))
    assert waiting.intent_id == "resend_pending" and rec.interactions == []  # it may still be answering
    rescuer = replica(rec, repo, resend_wait=0.1, resend_stale=0)  # as if RESEND_STALE had passed
    answered = await rescuer.receive(say(rescuer, "厂通路哪年通车", "m-lost"))
    again = await patient.receive(say(patient, "厂通路哪年通车", "m-lost"))
    repo.engine.dispose()
    assert answered.status == "answer" and again == answered and len(rec.interactions) == 1


async def test_without_a_database_a_retry_to_the_same_process_is_still_answered_once():
    rec = ListRecorder()
    kit = replica(rec, None)
    first = await kit.receive(say(kit, "潞河附校晚托到几点", "m-1"))
    assert await kit.receive(say(kit, "潞河附校晚托到几点", "m-1")) == first and len(rec.interactions) == 1


def test_the_api_takes_an_optional_message_id(tmp_path):
    app, web = make_web(tmp_path)
    with TestClient(web) as client:
        body = {"user": "u1", "text": "潞河附校晚托到几点", "message_id": "gw-4711"}
        first = client.post(MESSAGES, json=body, headers=A)
        again = client.post(MESSAGES, json=body, headers=A)
        numeric = client.post(MESSAGES, json={**body, "message_id": 4711}, headers=A)
        plain = [client.post(MESSAGES, json={"user": "u1", "text": "你好"}, headers=A) for _ in range(2)]
        bad = [client.post(MESSAGES, json={**body, "message_id": v}, headers=A)
               for v in (True, "", "x" * 129, ["m"], {"m": 1})]
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert numeric.json()["interaction_id"] != first.json()["interaction_id"]  # 4711 is not "gw-4711"
    assert all(r.status_code == 200 for r in plain)  # no id: every request a message, as before
    assert [r.status_code for r in bad] == [422] * 5 and "message_id" in bad[0].json()["error"]
    assert app.storage.flush(10) == 0
    assert app.repository.count_interactions() == 4


class ClaimedElsewhere:
    """A database where another replica claimed the message, and that then cannot say what it answered."""

    def __init__(self, kept: str | None = None, fails: bool = True):
        self.kept, self.fails = kept, fails

    def claim_message(self, channel, key):
        return False

    def kept_reply(self, channel, key):
        if self.fails:
            raise TimeoutError("database busy")
        return self.kept

    def keep_reply(self, channel, key, reply):
        raise TimeoutError("database busy")

    def take_over(self, channel, key, claimed_before):
        return False


@pytest.mark.parametrize("store", [ClaimedElsewhere(), ClaimedElsewhere('{"from": "another version"}', fails=False)],
                         ids=["unreachable", "unreadable"])
async def test_when_storage_cannot_say_what_the_first_attempt_got_the_retry_is_answered(store):
    rec = ListRecorder()
    kit = replica(rec, store, resend_wait=0.1)
    reply = await kit.receive(say(kit, "厂通路哪年通车", "m-1"))
    assert reply.status == "answer" and len(rec.interactions) == 1  # answering twice beats never
    assert await kit.receive(say(kit, "厂通路哪年通车", "m-1")) == reply  # kept here all the same
