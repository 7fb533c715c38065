"""Decisions a resident would notice: right answers, honest refusals, small talk, follow-ups."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.index import RecallIndex
from bot.matching.tokens import plain_tokenizer


@pytest.mark.parametrize(
    ("message", "entry_id"),
    [
        ("厂通路哪年能通车", "changtong-road-opening"),
        ("公組房配租了多少戶", "public-rental-households"),  # pinyin typo and traditional script
        ("森林工园接待多少游客", "green-heart-visitors"),  # 工园 → 公园 by pinyin
        ("潞河附校晚托到几点", "luhe-late-care-end-time"),
        ("你好，公租房有多少户", "public-rental-households"),  # a greeting never hides a question
    ],
)
def test_answers(matcher, message, entry_id):
    d = matcher.match(message)
    assert (d.status, d.entry_id) == ("answer", entry_id)
    assert 0 <= d.score <= 1


@pytest.mark.parametrize("message", ["公积金怎么提取", "驾照到期怎么换证", "养狗登记去哪办", "明天天气怎么样"])
def test_out_of_scope_falls_back(matcher, message):
    assert matcher.match(message).status == "fallback"


@pytest.mark.parametrize(
    ("message", "aspect"),
    [("一键呼怎么收费", "money"), ("中仓社区家园中心几点开门", "hours"), ("厂通路限速多少", "rate"),
     # 在 is also greeting 在吗 without its particle: it must not eat the 在 of 在哪 (address).
     ("核酸检测点在哪", "place"), ("你好，一键呼怎么收费", "money"), ("装一键呼要交钱吗", "money")],
)
def test_asking_for_a_detail_the_entry_lacks_is_partial(matcher, message, aspect):
    d = matcher.match(message)
    assert d.status == "partial" and d.missing_aspect == aspect


def test_a_detail_the_entry_states_is_answered(matcher):
    d = matcher.match("延时托管最晚到几点")  # opening-hours words, but the entry states the time
    assert (d.status, d.entry_id) == ("answer", "luhe-late-care-end-time")


def test_ambiguous_message_offers_choices(matcher):
    d = matcher.match("一键呼")
    assert d.status == "clarify"
    assert 2 <= len(d.choices) <= 3 and all(c.startswith("one-key-call") for c in d.choices)


@pytest.mark.parametrize(
    ("message", "intent"),
    [("你好", "greeting"), ("谢谢", "thanks"), ("太谢谢你了", "thanks"), ("好的拜拜", "goodbye"),
     ("转人工", "handoff"), ("你能做什么", "help"), ("在吗在吗", "greeting"), ("谢啦", "thanks")],
)
def test_small_talk(matcher, message, intent):
    d = matcher.match(message)
    assert (d.status, d.intent_id) == ("smalltalk", intent)


def test_many_small_talk_characters_in_one_message_cost_linear_time(matcher, monkeypatch):
    # 在, 拜, 滚 and 嗨 are each a whole small-talk phrase; reading every way of removing them would take
    # hours on this message (it did once: 15 characters took 42 s). Count the nested readings instead
    # of timing them, and stop early if they run away.
    calls = 0
    real = matcher.match

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        assert calls <= 50, "small talk is read recursively without bound"
        return real(*args, **kwargs)

    monkeypatch.setattr(matcher, "match", counting)
    d = matcher.match("在拜滚嗨房" * 60)
    assert d.status == "fallback"
    assert calls <= 2
    assert matcher.match("你好谢谢再见" * 50).intent_id == "goodbye"  # what was said last


def test_follow_up_resolves_against_the_previous_entry(matcher):
    d = matcher.match("那廊坊呢？", "cross-province-binhai")
    assert (d.status, d.entry_id, d.follow_up) == ("answer", "regional-langfang", True)
    d = matcher.match("那要多久？", "xiji-homestay-shuttle")
    assert (d.status, d.entry_id) == ("answer", "xiji-homestay-shuttle")


def test_a_full_question_switches_topic(matcher):
    d = matcher.match("绿心公园哪年开园的", "cross-province-binhai")
    assert (d.status, d.entry_id, d.follow_up) == ("answer", "green-heart-opening", False)


@pytest.mark.parametrize("message", ["", "   ", "😀😀😀", "\x00\x07\x1b[31m", "12345678", "？？？", "\u200f\u200d"])
def test_bad_input_gets_a_fallback(matcher, message):
    d = matcher.match(message)
    assert d.status == "fallback"


def test_very_long_message_is_matched_on_its_start(matcher):
    d = matcher.match("厂通路什么时候通车" + "啊" * 10_000)
    assert (d.status, d.entry_id) == ("answer", "changtong-road-opening")
    assert d.normalised.truncated


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_string_gets_a_decision(matcher, text):
    started = time.perf_counter()
    d = matcher.match(text)
    assert d.status in {"answer", "partial", "clarify", "fallback", "smalltalk"}
    assert time.perf_counter() - started < 30  # a guard against a hang; benchmarks/ measure speed


def test_recall_index_returns_best_documents_first():
    index = RecallIndex.from_texts([["公租房配租"], ["延时托管"], ["公租房保障率"]], plain_tokenizer())
    hits = index.search("公租房配租", 2)
    assert [i for i, _ in hits] == [0, 2]
    assert hits[0][1] > hits[1][1] > 0
    assert index.search("完全无关", 5) == []


def test_recall_index_matches_pinyin_typos():
    index = RecallIndex.from_texts([["公租房"], ["森林公园"]], plain_tokenizer())
    assert index.search("公组房", 1)[0][0] == 0
    assert index.search("森林工园", 1)[0][0] == 1


def test_kb_questions_match_their_own_entries(matcher):
    from bot.matching.selfcheck import self_check

    assert self_check(matcher) == []
