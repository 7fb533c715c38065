"""The sentence model in matching: paraphrases answered, clear questions and bare names left to words."""

from __future__ import annotations

import numpy as np
import pytest

from bot.matching.engine import Matcher
from bot.matching.rank import meaning_credit


@pytest.fixture(scope="module")
def words_only(bundled_kb):
    return Matcher(bundled_kb)


@pytest.mark.parametrize(("message", "entry"), [
    ("厂里缺工人商务区能帮着招吗", "cbd-enterprise-service"),
    ("商务区的餐馆可以把桌子摆到街上吗", "cbd-outdoor-dining"),
    ("娃放学没人接能在学校留一会儿吗", "luhe-late-care-who"),
])
def test_a_paraphrase_sharing_few_words_is_answered(matcher, words_only, message, entry):
    assert words_only.match(message).status != "answer"  # words alone could not
    decision = matcher.match(message)
    assert (decision.status, decision.entry_id) == ("answer", entry)


def test_a_clear_question_does_not_ask_the_model(matcher, monkeypatch):
    calls = []
    monkeypatch.setattr(matcher.embedder, "vector", lambda text: calls.append(text))
    decision = matcher.match("绿心公园孩子走丢了怎么办")
    assert decision.status == "answer" and calls == []


def test_a_bare_name_still_offers_a_choice(matcher):
    decision = matcher.match("一键呼")
    assert decision.status == "clarify" and len(decision.choices) >= 2


@pytest.mark.parametrize("message", ["公积金贷款怎么还", "单位用工紧张管委会管不管", "养猫要办证吗"])
def test_out_of_scope_stays_refused(matcher, message):
    assert matcher.match(message).status in ("fallback", "partial")


def test_credit_needs_a_clear_lead():
    credit = meaning_credit(np.array([0.93, 0.925, 0.80]))
    assert credit[0] < 0.2 and credit[1] == 0.0  # two near-equal candidates: the model does not decide
    credit = meaning_credit(np.array([0.93, 0.85, 0.80]))
    assert credit[0] > 0.8 and credit[1] == 0.0
