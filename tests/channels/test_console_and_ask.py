"""The console chat and `ask`, as a resident and a maintainer use them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from bot.channels.ask import run_ask
from bot.channels.console import run_console
from tests.auxil.dialogue import ListRecorder, make_dialogue


def test_console_conversation_with_choice_and_feedback():
    rec = ListRecorder()
    out = io.StringIO()
    dialogue = make_dialogue(recorder=rec)
    topics = dialogue.live.snapshot.kb.topics
    after_school = topics.index("课后服务") + 1
    stdin = io.StringIO(f"一键呼\n2\n+\n/topics\n{after_school}\n1\n和滨海新区跨省通办多少项\n那廊坊呢\n/quit\n")
    assert run_console(dialogue, stdin=stdin, stdout=out) == 0
    text = out.getvalue()
    assert "您想问的是哪一个？" in text and "4. 都不是" in text
    assert "谢谢您的反馈" in text
    assert f"{after_school}. 课后服务（" in text  # the topics, numbered
    assert "“课后服务”里的问题：\n1. " in text  # picked by number, then its first question by number
    assert [r.intent_id for r in rec.interactions if r.status == "smalltalk"] == ["topics", "topic"]
    assert "70项政务服务事项" in text  # the follow-up was resolved
    assert [f.helpful for f in rec.feedback] == [True]


def test_ask_json_lines_for_tools():
    out = io.StringIO()
    run_ask(make_dialogue(), None, as_json=True, stdin=io.StringIO("厂通路什么时候通车\n公积金怎么提取\n\n"),
            stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [x["status"] for x in lines] == ["answer", "fallback", "fallback"]
    first = lines[0]
    assert first["question"] == "厂通路什么时候通车" and first["faq_id"] == "changtong-road-opening"
    assert first["source"]["date"] == "2021-12-28" and first["as_of"] == "2021-12-28"
    assert first["candidates"][0]["id"] == "changtong-road-opening" and 0 < first["score"] <= 1
    assert "12345" in lines[1]["text"]


def test_ask_lines_are_independent_unless_conversation():
    alone, together = io.StringIO(), io.StringIO()
    lines = "潞河附校晚托到几点\n那谁能参加\n"
    run_ask(make_dialogue(), None, as_json=True, stdin=io.StringIO(lines), stdout=alone)
    run_ask(make_dialogue(), None, as_json=True, conversation=True, stdin=io.StringIO(lines), stdout=together)
    assert json.loads(together.getvalue().splitlines()[1])["faq_id"] == "luhe-late-care-who"
    assert json.loads(alone.getvalue().splitlines()[1])["faq_id"] is None


def test_quick_start_chat_command_runs_end_to_end(tmp_path):
    """`resident-bot chat` in a fresh data directory: creates its database and answers."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "DATABASE_URL": ""}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "chat"], input="潞河附校晚托到几点\n/quit\n",
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "最晚到19:20" in done.stdout and "来源：" in done.stdout
    assert (tmp_path / "resident-bot" / "resident-bot.sqlite3").exists()


def test_invalid_setting_is_one_clear_line(tmp_path):
    env = {**os.environ, "ANSWER_THRESHOLD": "abc", "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "你好"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["resident-bot: invalid setting ANSWER_THRESHOLD: "
                                                "Input should be a valid number, unable to parse string as a number"]
