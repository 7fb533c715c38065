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


def test_console_commands_are_not_questions_and_topics_open_by_name_or_number():
    rec = ListRecorder()
    out = io.StringIO()
    dialogue = make_dialogue(recorder=rec)
    park = dialogue.live.snapshot.kb.topics.index("城市绿心森林公园") + 1
    stdin = io.StringIO(f"+\n/help\n/foo\n/topic 课后\n/topic 教育\n{park}\n1\n/topic\n/quit\n")
    assert run_console(dialogue, stdin=stdin, stdout=out) == 0
    said = out.getvalue().split("\n您：")[1:]
    assert said[0] == "+\n机器人：还没有可以评价的回答。请先输入您的问题，看到回答后再回复 + 或 -。\n"
    assert "直接用一句话提问" in said[1] and "12345" not in said[1]  # /help: what to ask, not "I don't know"
    assert said[2] == "/foo\n机器人：没有这个命令。发送 /help 查看用法，或直接输入您的问题。\n"
    assert said[3].startswith("/topic 课后\n机器人：“课后服务”里的问题：\n1. ")  # part of a name is enough
    assert said[4].startswith("/topic 教育\n机器人：没有叫“教育”的话题。请选择一个话题：\n1. 运河商务区（")
    assert said[5].startswith(f"{park}\n机器人：“城市绿心森林公园”里的问题：\n1. ")  # picked from that list
    assert "2020年9月开园" in said[6] and "这个回答有帮助吗？回复 + 表示有帮助" in said[6]
    assert said[7].startswith("/topic\n机器人：请选择一个话题：")
    assert [(r.status, r.intent_id) for r in rec.interactions if r.text == "/foo"] == [("smalltalk", "unknown_command")]
    assert rec.feedback == []  # the + before any answer rated nothing


def test_console_keeps_a_traditional_residents_script_in_every_fixed_text():
    out = io.StringIO()
    stdin = io.StringIO("潞河附校晚托到幾點\n/foo\n")
    assert run_console(make_dialogue(), stdin=stdin, stdout=out) == 0
    text = out.getvalue()
    assert "機器人：最晚到19:20" in text and "延時託管" in text
    assert "這個回答有幫助嗎？回覆 + 表示有幫助，- 表示沒幫助。" in text and "有帮助" not in text
    assert "機器人：沒有這個命令。" in text


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
