"""Administrators' commands: the same text on every channel, never longer than the channel allows."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from bot.admin.commands import MAX_UNANSWERED, TELEGRAM_LIMIT, AdminCommands, fit
from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.live import LiveKnowledge
from bot.reports.report import build_report
from tests.auxil.db import fresh_repository
from tests.auxil.dialogue import shared_live
from tests.auxil.kb import BUNDLED, INTENTS


def test_fit_keeps_whole_lines_and_counts_the_rest():
    lines = [f"第{i}行 " + "问" * 50 for i in range(200)]
    text = fit(lines, TELEGRAM_LIMIT)
    assert len(text) <= TELEGRAM_LIMIT and text.endswith("行未显示")
    shown = text.count("\n")  # lines kept, plus the note
    assert f"另有 {200 - shown} 行未显示" in text
    assert fit(["短"], 100) == "短"
    assert len(fit(["长" * 10_000, "b"], 500)) <= 500


def test_unanswered_is_bounded_deduplicated_and_fits(tmp_path):
    """Anyone can fill the unanswered list: long, repeated, multi-line questions stay one short line each."""
    repo = fresh_repository("sqlite", tmp_path)
    dialogue = Dialogue(shared_live(), MemoryContextStore(), repo)
    for i in range(60):
        dialogue.handle(f"c{i}", f"公积金第{i}次怎么提取\n" + "很长的问题" * 300)
    for _ in range(5):
        dialogue.handle("c-same", "护照在哪里办")
    commands = AdminCommands(shared_live(), lambda since: build_report(repo, since))
    text = commands.run("unanswered", limit=TELEGRAM_LIMIT)
    lines = text.splitlines()
    assert len(text) <= TELEGRAM_LIMIT and lines[0] == "过去7天没答上的问题："
    assert lines[1] == "5× 护照在哪里办"  # most asked first, once
    assert len(lines) <= MAX_UNANSWERED + 2 and all(len(line) <= 90 for line in lines)
    assert len(set(lines)) == len(lines)
    repo.engine.dispose()


def test_without_a_database_the_commands_say_so():
    commands = AdminCommands(shared_live())
    assert commands.run("stats") == commands.run("unanswered") == "没有可用的数据库。"


@pytest.fixture
def live(tmp_path):
    shutil.copytree(BUNDLED, tmp_path / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "intents")
    return LiveKnowledge(tmp_path / "knowledge", tmp_path / "intents")


def test_reload_with_many_errors_fits_and_counts_them(live):
    """A knowledge file with hundreds of errors: the reply names the first ones, counts the rest, fits."""
    bad = "".join(f"- id: bad-{i}\n  questions: 5\n" for i in range(400))
    (live.knowledge_dir / "broken.yaml").write_text(bad, encoding="utf-8")
    text = AdminCommands(live).run("reload", limit=TELEGRAM_LIMIT)
    assert text.startswith("重新加载失败") and len(text) <= TELEGRAM_LIMIT
    assert "broken.yaml:" in text and "另有" in text


def test_stats_reports_the_last_day(tmp_path):
    repo = fresh_repository("sqlite", tmp_path)
    Dialogue(shared_live(), MemoryContextStore(), repo).handle("c", "厂通路哪年通车")
    now = dt.datetime.now(dt.UTC)
    text = AdminCommands(shared_live(), lambda since: build_report(repo, since), clock=lambda: now).run("stats")
    assert text.startswith("过去24小时：1 条消息") and "answer 100%" in text
    repo.engine.dispose()


def test_unanswered_lists_what_residents_said_was_wrong(tmp_path):
    repo = fresh_repository("sqlite", tmp_path)
    dialogue = Dialogue(shared_live(), MemoryContextStore(), repo)
    answer = dialogue.handle("c1", "潞河附校晚托到几点")
    dialogue.feedback("c1", False, answer.interaction_id, comment="没说周末\n" + "开不开" * 40)
    other = dialogue.handle("c2", "厂通路哪年通车")
    dialogue.feedback("c2", True, other.interaction_id, comment="很好")  # helpful: not listed
    text = AdminCommands(shared_live(), lambda since: build_report(repo, since)).run("unanswered")
    lines = text.splitlines()
    assert lines[-2] == "居民说没帮上的回答（最新在前）："
    assert lines[-1].startswith("- 潞河附校晚托到几点：没说周末 开不开") and len(lines[-1]) <= 90
    assert "很好" not in text
    repo.engine.dispose()
