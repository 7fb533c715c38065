"""The replay runner itself: passing, failing and malformed files, recording, coverage."""

from __future__ import annotations

import datetime as dt
import textwrap

import yaml

from bot.channels.kit import ChannelKit
from bot.cli import main
from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.ratelimit import InProcessRateLimiter
from bot.replay.format import load_replay_file
from bot.replay.record import dump, record_conversations
from bot.replay.runner import coverage, run_files
from tests.auxil.db import fresh_repository
from tests.auxil.dialogue import shared_live

PASSING = """\
name: 晚托
turns:
  - user: 潞河附校晚托到几点
    status: answer
    faq: luhe-late-care-end-time
    contains: ["19:20"]
    source: true
"""

FAILING = """\
- name: 故意写错的期望
  turns:
    - user: 潞河附校晚托到几点
      faq: luhe-clubs
      contains: ["20:00"]
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_passing_and_failing_conversations(tmp_path):
    files = [write(tmp_path, "a.yaml", PASSING), write(tmp_path, "b.yaml", FAILING)]
    results, problems = run_files(shared_live(), files)
    assert problems == []
    assert [r.passed for r in results] == [True, False]
    text = results[1].explain()
    assert f"{files[1]}:3: 故意写错的期望 · turn 1 “潞河附校晚托到几点”" in text
    assert "expected faq luhe-clubs\n    got      faq luhe-late-care-end-time" in text
    assert "expected text containing “20:00”" in text
    assert "candidates: luhe-late-care-end-time" in text


def test_cli_prints_expected_vs_got_and_summary(tmp_path, capsys):
    write(tmp_path, "a.yaml", PASSING)
    write(tmp_path, "b.yaml", FAILING)
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "expected faq luhe-clubs" in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"
    assert main(["replay", str(tmp_path / "a.yaml")]) == 0
    assert capsys.readouterr().out.strip().endswith("1 passed, 0 failed")


def test_malformed_file_is_located_and_others_still_run(tmp_path, capsys):
    write(tmp_path, "a.yaml", PASSING)
    write(tmp_path, "bad.yaml", "name: 坏文件\nturns:\n  - usr: 你好\n    status: answr\n")
    write(tmp_path, "broken.yaml", "name: [\n")
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path}/bad.yaml:3:5: error: unknown key `usr` in a turn; did you mean `user`?" in out
    assert f"{tmp_path}/broken.yaml:2:1: error: YAML syntax error" in out
    assert out.strip().splitlines()[-1] == "1 passed, 2 failed"


def test_choices_feedback_and_script_expectations(tmp_path):
    path = write(tmp_path, "c.yaml", """\
        name: 选择与反馈
        script: traditional
        turns:
          - user: 一鍵呼
            status: clarify
            choices: [one-key-call-what, one-key-call-total, one-key-call-breakdown]
          - choose: 3
            status: answer
          - choose: "-"
            contains: [已记录]
        """)
    conversations, problems = load_replay_file(path)
    assert problems == [] and conversations[0].turns[1].choose == "3"
    results, _ = run_files(shared_live(), [path])
    assert results[0].passed, results[0].explain()


def test_record_from_a_seeded_database(tmp_path):
    repo = fresh_repository("sqlite", tmp_path)
    dialogue = Dialogue(shared_live(), MemoryContextStore(), repo,
                        today=lambda: dt.date(2026, 11, 29))
    kit = ChannelKit(dialogue, salt="s", limiter=InProcessRateLimiter(100))
    one, two = kit.resident("api", 424242), kit.resident("api", 777)
    dialogue.handle("c1", "一键呼", user_hash=one.user_hash)
    dialogue.handle("c1", "2", user_hash=one.user_hash)
    dialogue.feedback("c1", helpful=True)
    dialogue.navigate("c1", "topics", user_hash=one.user_hash)
    dialogue.handle("c1", "1", user_hash=one.user_hash)
    dialogue.handle("c2", "公积金怎么提取", user_hash=two.user_hash)
    recorded = record_conversations(repo, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    text = dump(recorded)
    assert "424242" not in text and "777" not in text and one.user_hash not in text
    assert [len(c["turns"]) for c in recorded] == [5, 1]
    first = recorded[0]["turns"]
    assert first[0]["user"] == "一键呼" and first[0]["status"] == "clarify"
    assert first[1]["choose"] == "2" and first[1]["status"] == "answer" and first[1]["faq"].startswith("one-key")
    assert first[2] == {"choose": "+"}
    assert first[3] == {"user": "/topics", "status": "smalltalk", "intent": "topics"}
    assert first[4] == {"choose": "1", "status": "smalltalk", "intent": "topic"}  # the first topic, by number
    # The recorded file replays green against the same knowledge base.
    path = tmp_path / "recorded.yaml"
    path.write_text(text, encoding="utf-8")
    results, problems = run_files(shared_live(), [path])
    assert problems == [] and all(r.passed for r in results)
    assert yaml.safe_load(text)[1]["turns"][0]["status"] == "fallback"


def test_coverage_lists_unreached_entries_and_intents(tmp_path):
    results, _ = run_files(shared_live(), [write(tmp_path, "a.yaml", PASSING)])
    gaps = coverage(shared_live(), results)
    assert "luhe-late-care-end-time" not in gaps["entries"]
    assert "regional-langfang" in gaps["entries"] and "greeting" in gaps["intents"]


def test_bundled_conversations_cover_every_entry_and_intent(capsys):
    assert main(["replay", "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "entries no conversation reaches (0)" in out and "intents no conversation reaches (0)" in out
    passed = int(out.strip().splitlines()[-1].split()[0])
    assert passed >= 40
