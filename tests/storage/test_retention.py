"""`db purge` reaches every copy of a resident's words: database, journal, records set aside, SQLite's log."""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.cli import main
from bot.dialogue.records import InteractionRecord
from bot.storage.deadletter import DeadLetters
from bot.storage.entries import encode
from bot.storage.journal import Journal

NOW = dt.datetime.now(dt.UTC)


def record(n: int, age_days: int, text: str) -> InteractionRecord:
    return InteractionRecord(
        id=f"{n:032x}", conversation_id="c", created_at=NOW - dt.timedelta(days=age_days), channel="test",
        user_hash=None, text=text, normalised=text, status="fallback", entry_id=None, intent_id=None, score=0.1,
        candidates=[], kb_version="v", latency_ms=1.0, reason="unknown")


def test_purge_covers_the_journal_the_set_aside_records_and_the_sqlite_log(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    # A bot that died during an outage left two records in its journal, one of them very old.
    journal = Journal(data / "journal" / "0123456789abcdef")  # one directory per database
    journal.append(encode(record(1, 400, "OLD-JOURNAL-TEXT")))
    journal.append(encode(record(2, 1, "new journal text")))
    journal.close()
    dead = DeadLetters(data / "dead-records.jsonl")
    dead.add(encode(dataclasses.replace(record(3, 400, "OLD-SET-ASIDE-TEXT"))), "IntegrityError")
    dead.add(encode(record(4, 1, "new set-aside text")), "IntegrityError")
    capsys.readouterr()
    assert main(["db", "purge", "--older-than", "180d"]) == 0
    out = capsys.readouterr().out
    assert "1 journal records, 1 set-aside records older than 180 days" in out
    everything = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    assert b"OLD-JOURNAL-TEXT" not in everything and b"OLD-SET-ASIDE-TEXT" not in everything
    assert b"new journal text" in everything and b"new set-aside text" in everything
