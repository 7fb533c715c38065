"""Real PostgreSQL behind a TCP proxy that the test breaks: refused, blackholed (hung), then restored.
The machine's own PostgreSQL is never touched; each test has its own schema and conversation ids."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid

import pytest
from starlette.testclient import TestClient

from bot.app import build_app
from bot.config import load_settings
from bot.dialogue.records import InteractionRecord
from bot.server import create_web_app
from bot.storage import schema
from bot.storage.connection import Timeouts, make_engine
from bot.storage.service import StorageSettings, open_storage
from tests.auxil.db import empty_database
from tests.auxil.dialogue import make_dialogue
from tests.auxil.faultproxy import FaultProxy

PG = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG, reason="TEST_DATABASE_URL not set")
QUICK = Timeouts(connect=2, statement=1, pool=1)
READ_TIMEOUT = 0.2


@pytest.fixture
def database(tmp_path):
    url = empty_database(PG, tmp_path)
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def proxy():
    p = FaultProxy(int(make_engine(PG).url.port or 5432)).start()
    yield p
    p.stop()


def test_a_hung_database_never_holds_up_a_reply_and_loses_nothing(database, proxy, tmp_path, caplog):
    storage = open_storage(StorageSettings(proxy.url(database), "(proxied)", tmp_path, QUICK, READ_TIMEOUT))
    dialogue = make_dialogue(contexts=storage, recorder=storage)
    conversation = f"api:{uuid.uuid4().hex[:12]}"
    texts = ["和滨海新区跨省通办多少项", "那廊坊呢？", "潞河附校晚托到几点", "一键呼", "2", "厂通路哪年通车"]
    ids, slowest = [], 0.0
    with caplog.at_level(logging.WARNING, logger="bot"):
        for n in range(30):
            if n == 6:
                proxy.blackhole()  # the server stops answering mid-conversation
            started = time.perf_counter()
            reply = dialogue.handle(conversation, texts[n % len(texts)])
            slowest = max(slowest, time.perf_counter() - started)
            ids.append(reply.interaction_id)
            time.sleep(0.1)
        assert storage.health()["database"] is False and storage.health()["records_waiting"] > 0
        proxy.restore()
        assert storage.flush(30) == 0
    assert slowest < 5, slowest  # a context read gives up after 0.2 s (the hang used to cost 60 s a reply)
    stored = [r.id for r in storage.repository.interactions(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
              if r.conversation_id == conversation]
    assert sorted(stored) == sorted(ids)  # every record, once
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert len(messages) == 2, messages  # one line when the outage starts, one when it ends
    assert messages[0].startswith("database unreachable (") and messages[1].startswith("database back after")
    assert all(r.exc_info is None for r in caplog.records)  # no tracebacks, one line each way
    storage.close()


def test_refused_connections_then_back(database, proxy, tmp_path):
    storage = open_storage(StorageSettings(proxy.url(database), "(proxied)", tmp_path, QUICK, READ_TIMEOUT))
    proxy.refuse()
    conversation = f"c-{uuid.uuid4().hex[:12]}"
    records = [record(conversation, n) for n in range(20)]
    for r in records[:10]:
        storage.record_interaction(r)
    deadline = time.monotonic() + 15
    while storage.health()["database"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert storage.health()["database"] is False
    for r in records[10:]:
        storage.record_interaction(r)
    assert storage.load_context(conversation) is None
    proxy.restore()
    assert storage.flush(30) == 0
    assert count(storage, conversation) == 20
    storage.close()


def test_serve_starts_degraded_and_recovers_by_itself(database, proxy, tmp_path, caplog):
    proxy.refuse()
    settings = load_settings(database_url=proxy.url(database), data_dir=tmp_path / "data", db_connect_timeout=2,
                             db_statement_timeout=1, context_read_timeout=READ_TIMEOUT)
    with caplog.at_level(logging.WARNING, logger="bot"):
        app = build_app(settings)
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("database unreachable at start") and "DATABASE_URL is postgresql" in line
    assert "127.0.0.1" in line and str(tmp_path / "data" / "journal") in line
    user = f"resident-{uuid.uuid4().hex[:8]}"
    with TestClient(create_web_app(app, telegram=False)) as client:
        r = client.post("/api/v1/messages", json={"user": user, "text": "潞河附校晚托到几点"})
        assert r.status_code == 200 and r.json()["faq_id"] == "luhe-late-care-end-time"
        health, ready = client.get("/healthz"), client.get("/readyz")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert health.json()["records_waiting"] >= 1 and health.json()["knowledge_version"]
        assert ready.status_code == 503 and ready.json()["reasons"] == ["database unreachable"]
        proxy.restore()
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get("/readyz").status_code == 200
        assert app.storage.flush(10) == 0
        assert client.get("/healthz").json()["status"] == "ok"
    [stored] = [row for row in app.storage.repository.interactions(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
                if row.id == r.json()["interaction_id"]]
    assert stored.text == "潞河附校晚托到几点"


def count(storage, conversation: str) -> int:
    return sum(r.conversation_id == conversation
               for r in storage.repository.interactions(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))


def record(conversation: str, n: int) -> InteractionRecord:
    return InteractionRecord(
        id=uuid.uuid4().hex, conversation_id=conversation, created_at=dt.datetime.now(dt.UTC), channel="test",
        user_hash=None, text=f"问题{n}", normalised=f"问题{n}", status="fallback", entry_id=None, intent_id=None,
        score=0.1, candidates=[], kb_version="v", latency_ms=1.0, reason="unknown")
