"""Administrator and maintainer commands: db upgrade, purge, report, eval."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.cli import main, parse_age
from bot.config import SettingsError
from bot.dialogue.records import InteractionRecord
from bot.storage.connection import make_engine
from bot.storage.repository import Repository


@pytest.fixture
def sqlite_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_db_upgrade_then_report_and_purge(sqlite_env, capsys, tmp_path):
    assert main(["db", "upgrade"]) == 0
    assert "schema empty → 0005" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "already at 0005" in capsys.readouterr().out
    repo = Repository(make_engine(sqlite_env))
    now = dt.datetime.now(dt.UTC)
    for i, age in enumerate((0, 1, 400)):
        repo.record_interaction(InteractionRecord(
            id=f"{i:032x}", conversation_id="c", created_at=now - dt.timedelta(days=age), channel="test",
            user_hash=None, text="公积金怎么提取", normalised="公积金怎么提取", status="fallback", entry_id=None,
            intent_id=None, score=0.1, candidates=[], kb_version="v", latency_ms=1.0, reason="unknown"))
    assert main(["report", "--since", "7d", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["messages"] == 2 and report["unanswered"][0]["count"] == 2
    html_file = tmp_path / "report.html"
    assert main(["report", "--html", str(html_file)]) == 0
    assert "<svg" in html_file.read_text(encoding="utf-8")
    assert main(["db", "purge", "--older-than", "180d"]) == 0
    [deleted] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("deleted")]
    assert "deleted 0 feedback, 1 interactions" in deleted
    assert repo.count_interactions() == 2


def test_parse_age():
    assert parse_age("7d") == dt.timedelta(days=7)
    assert parse_age("24h") == dt.timedelta(hours=24)
    with pytest.raises(SettingsError):
        parse_age("seven days")


def test_eval_prints_ours_beside_both_baselines(capsys):
    assert main(["eval", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"resident-bot", "rapidfuzz extractOne WRatio", "BM25 over jieba words"} <= report.keys()
    assert report["resident-bot"]["questions"] >= 200
