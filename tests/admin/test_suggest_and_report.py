"""`kb suggest` and `report` on a week in which residents also sent spam, gibberish and a page of text:
suggestions are questions only, text and YAML agree, and the report stays readable."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest

from bot.cli import main
from bot.dialogue.records import FeedbackRecord, InteractionRecord
from tests.auxil.db import fresh_repository

SPAM = "加微信办证，" + "正规渠道快速办理各类证件，" * 150  # 2,006 characters, one line
_ids = itertools.count(1)


def record(repo, text, status="fallback", entry=None, reason="unknown", score=0.1, conversation="c", helpful=None):
    rid = f"{next(_ids):032x}"
    repo.record_interaction(InteractionRecord(
        id=rid, conversation_id=conversation, created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        channel="test", user_hash=None, text=text, normalised=text, status=status, entry_id=entry, intent_id=None,
        score=score, candidates=[], kb_version="0123456789ab", latency_ms=2.0, reason=reason))
    if helpful is not None:
        repo.record_feedback(FeedbackRecord(rid, conversation, entry, helpful, dt.datetime.now(dt.UTC)))


@pytest.fixture
def week(tmp_path, monkeypatch):
    repo = fresh_repository("sqlite", tmp_path)
    for text in ("公积金怎么提取", "公积金怎么提取？", "请问公积金怎么提取呀"):
        record(repo, text)
    for noise in ("asdfghjkl", "哈哈哈哈哈哈哈哈", "代办证件 请加QQ 123456789", "点这里领补贴 http://x.top/a", SPAM,
                  "/topic 教育"):  # a command, recorded unanswered by an older version
        record(repo, noise)
    record(repo, "潞河附校晚托到几点")  # unanswered by an older knowledge base; answered by today's
    record(repo, "公租房配租多少户", status="answer", entry="public-rental-households", score=0.95, conversation="d",
           helpful=False)
    record(repo, "潞河附校晚托到几点", status="answer", entry="luhe-late-care-end-time", score=0.97, conversation="e")
    record(repo, "晚托哪些孩子能参加", status="answer", entry="luhe-late-care-who", score=0.9, conversation="e")
    monkeypatch.setenv("DATABASE_URL", str(repo.engine.url))
    monkeypatch.setenv("SEMANTIC_MODEL", "off")
    return repo


def test_suggest_proposes_questions_only_and_text_agrees_with_yaml(week, capsys):
    assert main(["kb", "suggest", "--since", "1d"]) == 0
    text = capsys.readouterr().out
    assert main(["kb", "suggest", "--since", "1d", "--yaml"]) == 0
    snippets = capsys.readouterr().out

    for noise in ("asdf", "哈哈", "请加QQ", "http", "加微信", "/topic"):
        assert noise not in text and noise not in snippets, noise
    left_out = re.search(r"6 message\(s\) left out as not questions to add: (.*)", text)
    assert left_out and sorted(left_out.group(1).split(", ")) == [
        "1 commands", "1 links", "1 long numbers (phone/QQ/account)", "1 not Chinese", "1 over 60 characters",
        "1 repeated characters"]
    assert text.startswith("3× “")
    # Answered today with a high score: reported as answered now, not proposed as an alternate.
    assert "1 question(s) unanswered then are answered now (the knowledge base changed since): " \
           "“潞河附校晚托到几点” → `luhe-late-care-end-time`" in text
    assert "alternate question of `luhe-late-care-end-time`" not in text + snippets
    # Rated unhelpful: check the answer, in both modes; never "add it as an alternate" of that entry.
    assert "1× “公租房配租多少户” (1 rated not helpful)\n    residents found the answer of `public-rental-households`" \
           in text
    assert "- 公租房配租多少户" not in snippets
    advice = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    comments = [line for line in snippets.splitlines() if line.startswith("# ")]
    assert len(advice) == 2 and all(any(a in c for c in comments) for a in advice), (advice, comments)


def test_report_keeps_spam_to_one_short_line_and_names_titles_and_version(week, capsys, tmp_path):
    assert main(["report", "--since", "1d"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    assert any(re.fullmatch(r"\s+1\s+加微信办证，正规渠道.{30,}…", line) for line in lines)
    assert any(line.strip() == "1  luhe-late-care-end-time  延时托管最晚到几点" for line in lines), lines
    assert any(line.startswith("  knowledge base now ") and "versions that answered: 0123456789ab (13)" in line
               for line in lines), lines

    page = tmp_path / "report.html"
    assert main(["report", "--since", "1d", "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    # Two entries of one subject are told apart by their whole titles in the chart's legend and the table.
    for title in ("延时托管最晚到几点", "哪些学生可以延时托管"):
        assert html.count(title) >= 2, title
    assert "Knowledge base now: <code>" in html and "<code>0123456789ab</code> (13 messages)" in html
    assert SPAM not in html and "正规渠道快速办理各类证件，" * 20 not in html
