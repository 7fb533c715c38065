"""A message that only names a topic gets the topic's questions to choose from; transport wordings."""

from __future__ import annotations

import uuid

import pytest

from tests.auxil.dialogue import make_dialogue


def ask(*messages: str):
    d = make_dialogue()
    conversation = uuid.uuid4().hex
    return [d.handle(conversation, m) for m in messages]


@pytest.mark.parametrize(("message", "topic"), [
    ("税务服务", "税务服务"),  # a topic's name, as /topics lists it
    ("税务局有什么便民服务", "税务服务"),  # a broad question about a topic
    ("养老方面有啥服务", "养老与儿童"),  # a word of the topic's name
    ("潞河附校都有哪些服务", "课后服务"),  # the subject most of the topic's entries speak of
    ("西集民宿", "西集民宿"),
])
def test_a_topic_alone_lists_its_questions(bundled_kb, message, topic):
    (r,) = ask(message)
    assert r.status == "smalltalk" and r.intent_id == "topic"
    assert [c.entry_id for c in r.choices] == [e.id for e in bundled_kb.entries_in(topic)]
    assert topic in r.text


def test_a_number_then_answers_from_the_menu(bundled_kb):
    menu, answer = ask("税务服务", "2")
    assert answer.status == "answer" and answer.entry_id == menu.choices[1].entry_id


def test_traditional_topic_name_gets_a_traditional_menu():
    (r,) = ask("課後服務")
    assert r.intent_id == "topic" and r.script == "traditional" and "課後服務" in r.text


@pytest.mark.parametrize("message", [
    "一键呼怎么收费",  # a detail is asked: not a menu
    "通惠明天是个什么服务",  # what a thing is
    "税务局的春风税雨直播办了几场",
])
def test_a_question_about_a_topic_is_still_a_question(message):
    (r,) = ask(message)
    assert r.intent_id != "topic"


def test_a_follow_up_naming_a_place_is_no_menu():
    _first, second = ask("滨海新区跨省通办多少项", "那宝坻呢")
    assert second.status == "answer" and second.entry_id == "cross-province-baodi"


@pytest.mark.parametrize("message", ["住民宿有接驳车去环球影城吗", "西集有摆渡车到环球度假区吗", "民宿能接驳去环球吗"])
def test_shuttle_wordings_reach_the_entry_that_says_专车接送(message):
    (r,) = ask(message)
    assert r.status == "answer" and r.entry_id == "xiji-homestay-shuttle"
