"""Replies as WeChat text: plain, within 2,048 bytes a message, nothing lost, the source kept."""

from __future__ import annotations

import xmltodict
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.wechat.rendering import MAX_BYTES, fit, passive_xml, render, size, split
from bot.dialogue.reply import Option, Reply, ReplyPart

TEXTS = {"feedback_prompt": "这个回答有帮助吗？回复 + 表示有帮助，- 表示没帮助。", "continued": "（未完，接下一条）",
         "trimmed": "……（内容较长，没有全部显示。）"}

paragraph = st.text(st.sampled_from(list("通州厂通路。\n abc😀·，")), min_size=0, max_size=900)


@given(st.lists(paragraph, min_size=1, max_size=8), st.integers(min_value=16, max_value=MAX_BYTES))
def test_split_keeps_every_character_within_the_limit(paragraphs, limit):
    chunks = split(paragraphs, limit)
    assert all(size(c) <= limit for c in chunks)
    assert "".join(chunks).replace("\n", "") == "".join(paragraphs).replace("\n", "")


@given(st.text(max_size=1200), st.integers(min_value=0, max_value=100))
def test_fit_never_cuts_a_character(text, limit):
    cut = fit(text, limit)
    assert text.startswith(cut) and size(cut) <= max(limit, 0)


def test_a_reply_renders_as_plain_paragraphs_with_numbers_and_the_rating_hint():
    reply = Reply("clarify", (ReplyPart("text", "您想问的是哪一个？请回复序号。"),),
                  choices=(Option("一键呼是什么？", "a"), Option("都不是", None)))
    assert render(reply, TEXTS) == ["您想问的是哪一个？请回复序号。\n\n1. 一键呼是什么？\n2. 都不是"]
    answer = Reply("answer", (ReplyPart("answer", "最晚到19:20。"), ReplyPart("source", "来源：某《某》")),
                   script="traditional", rateable=True, interaction_id="f" * 32,
                   suggestions=(Option("哪些孩子可以参加？", "b"),), suggestions_title="您可能還想問：")
    [text] = render(answer, TEXTS)
    assert text.split("\n\n") == ["最晚到19:20。", "来源：某《某》", "您可能還想問：\n· 哪些孩子可以参加？",
                                  "這個回答有幫助嗎？回覆 + 表示有幫助，- 表示沒幫助。"]


def test_past_the_last_message_the_reply_is_cut_and_still_ends_with_its_source():
    reply = Reply("answer", (ReplyPart("answer", "很长的说明。" * 2000), ReplyPart("source", "来源：某《某》")),
                  source="来源：某《某》")
    messages = render(reply, TEXTS, max_messages=2)
    assert len(messages) == 2 and all(size(m) <= MAX_BYTES for m in messages)
    assert messages[0].endswith("（未完，接下一条）")
    assert messages[1].endswith("……（内容较长，没有全部显示。）\n\n来源：某《某》")


def test_passive_reply_xml_keeps_any_text_intact():
    hostile = "问题]]><MsgType>image</MsgType><![CDATA[ & <b>"
    xml = passive_xml("gh_abc", "oUser", hostile, now=1700000000)
    parsed = xmltodict.parse(xml)["xml"]
    assert parsed["Content"] == hostile and parsed["MsgType"] == "text" and parsed["ToUserName"] == "oUser"

