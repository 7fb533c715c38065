"""The background writer on SQLite and on real PostgreSQL: no message can poison storage."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid

import pytest
from prometheus_client import REGISTRY

from bot.dialogue.records import InteractionRecord
from bot.storage import schema
from bot.storage.connection import Timeouts, make_engine
from bot.storage.entries import encode
from bot.storage.journal import Journal
from bot.storage.service import StorageSettings, journal_directory, open_storage
from tests.auxil.db import backends, empty_database
from tests.auxil.dialogue import make_dialogue

QUICK = Timeouts(connect=2, statement=2, pool=2)


def database(backend: str, tmp_path) -> str:
    url = empty_database(backend, tmp_path)
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    return url


def start(url: str, data_dir) -> object:
    return open_storage(StorageSettings(url, "(test database)", data_dir, QUICK, context_read_timeout=1.0))


def rows(storage, conversation: str) -> list:
    return [r for r in storage.repository.interactions(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
            if r.conversation_id == conversation]


def dead_total() -> float:
    return REGISTRY.get_sample_value("resident_bot_records_dead_total") or 0.0


@pytest.mark.parametrize("backend", backends())
def test_a_nul_message_is_stored_cleaned_and_the_messages_behind_it_too(backend, tmp_path):
    """Issue 16: one message with a NUL byte stopped every later record on PostgreSQL."""
    storage = start(database(backend, tmp_path), tmp_path / "data")
    conversation = f"api:{uuid.uuid4().hex[:12]}"
    dialogue = make_dialogue(contexts=storage, recorder=storage)
    dialogue.handle(conversation, "潞河附校晚托\x00到几点")
    for text in ("那谁能参加", "一键呼", "2", "厂通路哪年通车\ud800"):
        dialogue.handle(conversation, text)
    assert storage.flush(10) == 0
    stored = rows(storage, conversation)
    assert len(stored) == 5 and storage.dead.count == 0
    assert "潞河附校晚托\ufffd到几点" in {r.text for r in stored}
    assert any(r.text.startswith("厂通路哪年通车") for r in stored)  # a lone surrogate: replaced
    storage.close()


@pytest.mark.parametrize("backend", backends())
def test_a_record_the_database_refuses_is_set_aside_and_never_blocks_the_rest(backend, tmp_path, caplog):
    storage = start(database(backend, tmp_path), tmp_path / "data")
    conversation = f"c-{uuid.uuid4().hex[:12]}"
    good = [record(conversation, f"问题{n}") for n in range(5)]
    refused = dataclasses.replace(good[0], id=None, text="秘密的问题")  # NOT NULL: refused by every database
    before = dead_total()
    with caplog.at_level(logging.ERROR, logger="bot.storage"):
        storage.record_interaction(refused)
        for r in good:
            storage.record_interaction(r)
        assert storage.flush(10) == 0
    assert {r.id for r in rows(storage, conversation)} == {r.id for r in good}
    assert storage.dead.count == 1 and dead_total() == before + 1
    assert storage.health()["records_set_aside"] == 1
    [kept] = [json.loads(x) for x in storage.dead.path.read_text(encoding="utf-8").splitlines()]
    assert kept["record"]["text"] == "秘密的问题" and kept["error"].endswith("IntegrityError")
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1 and "set aside" in logged[0] and "秘密" not in logged[0]  # no resident text in logs
    storage.close()


@pytest.mark.parametrize("backend", backends())
def test_a_poisoned_spill_file_of_an_older_version_is_replayed_cleaned(backend, tmp_path):
    """The poison used to survive restarts in the spill file; the journal adopts and cleans it."""
    conversation = f"c-{uuid.uuid4().hex[:12]}"
    old = [record(conversation, "公积金\x00怎么提取"), record(conversation, "驾照换证")]
    spill = tmp_path / "data" / "pending-records.jsonl"
    spill.parent.mkdir()
    spill.write_text("".join(json.dumps({**dataclasses.asdict(r), "created_at": r.created_at.isoformat(),
                                         "kind": "interaction"}, ensure_ascii=False) + "\n" for r in old))
    storage = start(database(backend, tmp_path), tmp_path / "data")
    assert storage.flush(10) == 0
    assert sorted(r.text for r in rows(storage, conversation)) == ["公积金\ufffd怎么提取", "驾照换证"]
    assert not spill.exists()
    storage.close()


def test_context_written_a_moment_ago_is_read_back(tmp_path):
    """A follow-up right after its question sees the context even if the write is still queued."""
    storage = start(database("sqlite", tmp_path), tmp_path / "data")
    dialogue = make_dialogue(contexts=storage, recorder=storage)
    conversation = f"c-{uuid.uuid4().hex[:12]}"
    assert dialogue.handle(conversation, "和滨海新区跨省通办多少项").entry_id == "cross-province-binhai"
    assert dialogue.handle(conversation, "那廊坊呢？").entry_id == "regional-langfang"
    storage.close()


def test_a_journal_is_replayed_only_into_its_own_database(tmp_path):
    """A data directory used with one database, then another: records never land in the wrong one."""
    first, second = database("sqlite", tmp_path / "a"), database("sqlite", tmp_path / "b")
    left = Journal(journal_directory(tmp_path / "data", make_engine(first).url.render_as_string()))
    left.append(encode(record("c-left", "没存进去的问题")))
    left.close()  # as after kill -9 during an outage of the first database
    other = start(second, tmp_path / "data")
    assert other.flush(10) == 0 and other.repository.count_interactions() == 0
    other.close()
    own = start(first, tmp_path / "data")
    assert own.flush(10) == 0 and [r.text for r in rows(own, "c-left")] == ["没存进去的问题"]
    own.close()


def record(conversation: str, text: str) -> InteractionRecord:
    return InteractionRecord(
        id=uuid.uuid4().hex, conversation_id=conversation, created_at=dt.datetime.now(dt.UTC), channel="test",
        user_hash=None, text=text, normalised=text, status="fallback", entry_id=None, intent_id=None, score=0.1,
        candidates=[], kb_version="v", latency_ms=1.0, reason="unknown")
