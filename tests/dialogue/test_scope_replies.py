"""What a resident gets when asking about another place or thing than the knowledge base covers."""

from __future__ import annotations

import uuid

import pytest

from bot.matching.matcher import Matcher
from tests.auxil.dialogue import make_dialogue

LABEL = "北京城市副中心（通州区）"  # knowledge/scope.yaml


def ask(*messages: str):
    d = make_dialogue()
    conversation = uuid.uuid4().hex
    return [d.handle(conversation, m) for m in messages]


@pytest.mark.parametrize(("message", "place", "fact", "entry"), [
    ("朝阳区公租房配租了多少户", "朝阳区", "1600户", "public-rental-households"),
    ("上海的延时托管最晚到几点", "上海", "19:20", "luhe-late-care-end-time"),
    ("南宁的保障房今年开工了多少套", "南宁", "5097套", "affordable-housing-started"),
    ("别的学校晚托到几点", "别的学校", "19:20", "luhe-late-care-end-time"),
])
def test_another_place_gets_the_sub_centers_fact_labelled_and_12345(message, place, fact, entry):
    (r,) = ask(message)
    assert r.status == "partial" and r.entry_id == entry
    answer = next(p.text for p in r.parts if p.kind == "answer")
    assert f"“{place}”" in answer and LABEL in answer and fact in answer
    assert "12345" in r.text and r.source  # where the sub-center's fact comes from


@pytest.mark.parametrize(("message", "entry"), [
    ("通州的公租房配租了多少户", "public-rental-households"),
    ("北京城市副中心的公租房帮了多少家庭", "public-rental-households"),
    ("通州区潞河附校晚托到几点", "luhe-late-care-end-time"),
    # The name is in the 开工 entry's answer too; it must not tip the choice towards it.
    ("城市副中心的保障房竣工多少套", "affordable-housing-completed"),
])
def test_the_sub_center_in_other_words_is_answered(message, entry):
    (r,) = ask(message)
    assert r.status == "answer" and r.entry_id == entry


def test_words_alone_hold_the_same_line(bundled_kb):
    """The check follows whichever way the entry was chosen: by words only, too."""
    words_only = Matcher(bundled_kb)
    d = words_only.match("海淀区公租房配租了多少户")
    assert d.status == "partial" and d.other_place == "海淀区"
    assert words_only.match("通州区公租房配租了多少户").status == "answer"


def test_traditional_question_gets_a_traditional_reply():
    (r,) = ask("朝陽區公租房配租了多少戶")
    assert r.status == "partial" and r.script == "traditional"
    assert "通州區" in r.text and "朝陽區" in r.text and "12345" in r.text


def test_follow_up_about_another_place():
    first, second = ask("公租房配租了多少户", "那朝阳区呢")
    assert first.status == "answer"
    assert second.status == "partial" and second.entry_id == first.entry_id and "“朝阳区”" in second.text


def test_follow_up_about_a_place_the_knowledge_base_covers():
    first, second = ask("跟天津滨海新区跨省通办多少项", "那廊坊呢")
    assert first.entry_id == "cross-province-binhai"
    assert second.status == "answer" and second.entry_id == "regional-langfang"
