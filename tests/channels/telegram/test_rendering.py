"""Telegram rendering: escaping, long replies split on paragraph boundaries, payload sizes."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.channels.kit import Action
from bot.channels.telegram.buttons import MAX_BYTES, decode, encode
from bot.channels.telegram.rendering import render, split_paragraphs
from bot.dialogue.reply import Option, Reply, ReplyPart
from bot.knowledge.loader import load_knowledge
from tests.auxil.kb import ROOT

TEXTS = load_knowledge().replies  # the bundled fixed texts, as a resident sees them


def test_every_piece_of_text_is_escaped():
    reply = Reply("answer", (ReplyPart("answer", "a < b & c *d*"), ReplyPart("source", "来源：<x>")),
                  suggestions=(Option("问 <b>", "luhe-clubs"),), suggestions_title="您可能还想问：",
                  rateable=True, interaction_id="0" * 32)
    r = render(reply, TEXTS)
    assert r.chunks == ["a &lt; b &amp; c *d*\n\n<i>来源：&lt;x&gt;</i>\n\n您可能还想问："]
    assert r.keyboard[0] == [("问 <b>", "q:luhe-clubs")]  # button labels are plain text, never parsed
    assert [d for _, d in r.keyboard[1]] == ["f+:" + "0" * 32, "f-:" + "0" * 32]


def test_rating_buttons_are_in_the_residents_script():
    answer = Reply("answer", (ReplyPart("answer", "最晚到19:20。"),), rateable=True, interaction_id="0" * 32)
    simplified = render(answer, TEXTS).keyboard[-1]
    traditional = render(Reply("answer", (ReplyPart("answer", "最晚到19:20。"),), script="traditional",
                               rateable=True, interaction_id="0" * 32), TEXTS).keyboard[-1]
    assert [label for label, _ in simplified] == ["👍 有帮助", "👎 没帮助"]
    assert [label for label, _ in traditional] == ["👍 有幫助", "👎 沒幫助"]


def test_long_replies_split_between_paragraphs():
    paragraphs = [f"第{i}段" + "字" * 1500 for i in range(6)]
    chunks = split_paragraphs(paragraphs)
    assert all(len(c) <= 4096 for c in chunks) and len(chunks) == 3
    assert all(c.startswith("第") for c in chunks)  # each message starts at a paragraph
    assert "\n\n".join(chunks) == "\n\n".join(paragraphs)


def test_a_huge_paragraph_is_cut_but_never_inside_an_entity():
    text = ("&amp;" * 1000) + "x"
    chunks = split_paragraphs([text])
    assert all(len(c) <= 4096 for c in chunks) and "".join(chunks) == text
    assert all(c.startswith("&amp;") or c == "x" for c in chunks)


def test_button_payloads_round_trip_and_stay_small():
    longest_id = "a" * 60
    for button in (Action("ask", longest_id), Action("choose", longest_id), Action("none"),
                   Action("topic", "城市绿心森林公园"), Action("helpful", "f" * 32)):
        data = encode(button)
        assert len(data.encode()) <= MAX_BYTES and decode(data) == button
    for forged in ("q:UPPER", "q:", "f+:" + "z" * 32, "x:1", "admin:reload", "t:", None, "", "q:" + "a" * 70):
        assert decode(forged) is None


def test_missing_token_is_one_line_naming_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["XDG_DATA_HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "telegram"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "resident-bot: TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in the environment or .env"]
