"""Storage on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set (CI sets it)."""

from __future__ import annotations

import datetime as dt
import stat
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from bot.dialogue.context import ConversationContext
from bot.dialogue.records import FeedbackRecord, InteractionRecord, hash_user_id
from bot.reports.report import build_report, render_html
from bot.storage import schema
from bot.storage.connection import make_engine
from bot.storage.entries import ContextWrite
from bot.storage.repository import Repository
from tests.auxil.db import backends, empty_database, fresh_repository

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def record(i: int, status: str = "answer", entry: str | None = "luhe-late-care-end-time", text: str = "问题",
           when: dt.datetime = NOW, latency: float = 2.0, reason: str = "") -> InteractionRecord:
    return InteractionRecord(
        id=f"{i:032x}", conversation_id=f"conv-{i % 3}", created_at=when, channel="test",
        user_hash=hash_user_id(i, "salt"), text=text, normalised=text, status=status, entry_id=entry,
        intent_id=None, score=0.9, candidates=[{"id": entry, "score": 0.9}], kb_version="v1", latency_ms=latency,
        reason=reason,
    )


@pytest.fixture(params=backends())
def repo(request, tmp_path):
    repository = fresh_repository(request.param, tmp_path)
    yield repository
    repository.engine.dispose()


@pytest.mark.parametrize("backend", backends())
def test_migration_up_from_empty_and_schema_check(backend, tmp_path):
    engine = make_engine(empty_database(backend, tmp_path))
    with pytest.raises(schema.SchemaBehind, match="resident-bot db upgrade"):
        schema.require_current(engine)
    before, after = schema.upgrade(engine)
    assert (before, after) == (None, schema.head_revision(engine))
    schema.require_current(engine)
    assert schema.upgrade(engine) == (after, after)  # idempotent
    engine.dispose()


def test_interactions_are_idempotent(repo):
    repo.record_interaction(record(1))
    repo.record_interaction(record(1))
    assert repo.count_interactions() == 1


def test_feedback_is_one_rating_per_answer(repo):
    repo.record_interaction(record(1))
    repo.record_feedback(FeedbackRecord(f"{1:032x}", "conv-1", "luhe-late-care-end-time", True, NOW))
    repo.record_feedback(FeedbackRecord(f"{1:032x}", "conv-1", "luhe-late-care-end-time", False, NOW))
    [fb] = repo.feedback(NOW - dt.timedelta(days=1))
    assert fb.helpful is False


def test_context_round_trip(repo):
    assert repo.load_context("c") is None
    ctx = ConversationContext(last_entry_id="x", choices=("a", "b"), script="traditional", updated_at=1.5)
    repo.save_context("c", ctx)
    repo.save_context("c", ctx)
    assert repo.load_context("c") == ctx


def test_purge_deletes_only_old_records(repo):
    repo.record_interaction(record(1, when=NOW - dt.timedelta(days=200)))
    repo.record_interaction(record(2, when=NOW))
    repo.record_feedback(FeedbackRecord(f"{1:032x}", "conv-1", None, True, NOW - dt.timedelta(days=200)))
    repo.save_context("old", ConversationContext(updated_at=(NOW - dt.timedelta(days=200)).timestamp()))
    counts = repo.purge(NOW - dt.timedelta(days=180))
    assert counts["interactions"] == 1 and counts["feedback"] == 1 and counts["conversation_context"] == 1
    assert [r.id for r in repo.interactions(NOW - dt.timedelta(days=400))] == [f"{2:032x}"]


def seed(repo: Repository) -> None:
    day1, day2 = NOW - dt.timedelta(days=1), NOW
    rows = [
        record(1, when=day1, latency=1.0),
        record(2, when=day1, latency=2.0),
        record(3, status="fallback", entry=None, text="公积金怎么提取", when=day1, latency=3.0, reason="unknown"),
        record(4, status="fallback", entry=None, text="公积金怎么提取", when=day2, latency=4.0, reason="unknown"),
        record(5, status="fallback", entry=None, text="驾照换证", when=day2, latency=5.0, reason="unknown"),
        record(6, status="clarify", entry=None, when=day2, latency=6.0),
        record(7, status="answer", entry="regional-langfang", when=day2, latency=7.0),
        record(8, status="smalltalk", entry=None, when=day2, latency=8.0),
    ]
    for r in rows:
        repo.record_interaction(r)
    repo.record_feedback(FeedbackRecord(f"{7:032x}", "conv-1", "regional-langfang", False, day2))
    repo.record_feedback(FeedbackRecord(f"{1:032x}", "conv-1", "luhe-late-care-end-time", True, day2))


def test_report_figures_match_seeded_interactions(repo):
    seed(repo)
    r = build_report(repo, NOW - dt.timedelta(days=7), NOW + dt.timedelta(hours=1))
    assert r["messages"] == 8
    assert r["counts"] == {"answer": 3, "partial": 0, "clarify": 1, "fallback": 3, "smalltalk": 1}
    assert r["shares"]["fallback"] == 0.375
    assert [d["total"] for d in r["per_day"]] == [3, 5]
    # Without a knowledge base to name them, entries are titled by their ids.
    assert r["top_entries"][0] == {"id": "luhe-late-care-end-time", "title": "luhe-late-care-end-time", "count": 2}
    assert r["unanswered"][0] == {"question": "公积金怎么提取", "normalised": "公积金怎么提取", "count": 2}
    assert r["ratings"][0] == {"id": "regional-langfang", "title": "regional-langfang", "helpful": 0,
                               "not_helpful": 1}
    assert r["latency_ms"] == {"p50": 4.0, "p95": 8.0}


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("src", "href"):
            if a.get(key, "").startswith("http"):
                self.srcs.append(a[key])


def test_html_report_has_charts_and_tables_and_needs_no_network(repo):
    seed(repo)
    page = render_html(build_report(repo, NOW - dt.timedelta(days=7), NOW + dt.timedelta(hours=1)))
    parser = _Collect()
    parser.feed(page)
    assert parser.tags.count("svg") == 3
    assert {"unanswered", "ratings"} <= parser.ids
    assert "公积金怎么提取" in page
    assert parser.srcs == []  # nothing is fetched when the page is opened
    assert "<script" not in page.split("<svg", 1)[0]


def test_a_batch_replayed_in_any_order_changes_nothing(repo):
    """The journal may be replayed after a crash, partly or twice: ids keep interactions single, and a
    rating or a context never replaces a newer one."""
    later = NOW + dt.timedelta(minutes=1)
    new_rating = FeedbackRecord(f"{1:032x}", "conv-1", "e", False, later)
    old_rating = FeedbackRecord(f"{1:032x}", "conv-1", "e", True, NOW)
    new_ctx = ContextWrite("conv-1", ConversationContext(last_entry_id="new", updated_at=later.timestamp()).to_json(),
                           later.timestamp())
    old_ctx = ContextWrite("conv-1", ConversationContext(last_entry_id="old", updated_at=NOW.timestamp()).to_json(),
                           NOW.timestamp())
    repo.write_batch([record(1, when=later), new_rating, new_ctx, record(2)])
    repo.write_batch([record(1, when=later), old_rating, old_ctx, record(2), record(1, when=later)])
    assert repo.count_interactions() == 2
    assert [f.helpful for f in repo.feedback(NOW - dt.timedelta(days=1))] == [False]
    assert repo.load_context("conv-1").last_entry_id == "new"
    [conv] = [c for c in _conversations(repo) if c.id == "conv-1"]
    assert (_naive(conv.started_at), _naive(conv.last_seen_at)) == (_naive(later), _naive(later))
    repo.write_batch([record(4, when=NOW)])  # an older message of the same conversation, replayed late
    [conv] = [c for c in _conversations(repo) if c.id == "conv-1"]
    assert (_naive(conv.started_at), _naive(conv.last_seen_at)) == (_naive(NOW), _naive(later))


def test_text_a_database_cannot_hold_is_cleaned(repo):
    """NUL (refused by PostgreSQL), lone surrogates (no UTF-8 for them), over-long keys and NaN."""
    nasty = replace(record(1, text="公积金\x00怎么\ud800提取"), conversation_id="api:" + "x" * 100,
                    candidates=[{"id": "e", "score": float("nan")}], score=float("inf"))
    other = replace(nasty, id=f"{2:032x}", conversation_id="api:" + "x" * 99 + "y")
    repo.write_batch([nasty, other])
    rows = sorted(repo.interactions(NOW - dt.timedelta(days=1)), key=lambda r: r.id)
    assert [r.text for r in rows] == ["公积金\ufffd怎么\ufffd提取"] * 2
    assert len({r.conversation_id for r in rows}) == 2 and all(len(r.conversation_id) == 64 for r in rows)
    assert rows[0].candidates == [{"id": "e", "score": None}] and rows[0].score == 0.0


def test_purge_leaves_no_deleted_text_in_sqlite_files(tmp_path):
    repo = fresh_repository("sqlite", tmp_path)
    marker = "潞河附校晚托MARKER-7f3a"
    repo.record_interaction(record(1, text=marker, when=NOW - dt.timedelta(days=400)))
    repo.record_interaction(record(2, when=NOW))
    files = [tmp_path / name for name in ("test.sqlite3", "test.sqlite3-wal")]
    assert any(marker.encode() in f.read_bytes() for f in files if f.exists())
    repo.purge(NOW - dt.timedelta(days=180))
    assert repo.checkpoint()
    assert not any(marker.encode() in f.read_bytes() for f in tmp_path.iterdir() if f.is_file())
    assert repo.count_interactions() == 1
    repo.engine.dispose()


def test_sqlite_files_are_private(tmp_path):
    repo = fresh_repository("sqlite", tmp_path / "data")
    repo.record_interaction(record(1))
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in (tmp_path / "data").iterdir()}
    assert modes and set(modes.values()) == {0o600}, modes
    repo.engine.dispose()


def _conversations(repo: Repository):
    from sqlalchemy import select

    from bot.storage.models import Conversation

    with repo.sessions() as s:
        return list(s.scalars(select(Conversation)))


def _naive(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=None) if value.tzinfo else value
