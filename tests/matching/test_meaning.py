"""The sentence model in matching: paraphrases answered, clear questions and bare names left to words."""

from __future__ import annotations

import numpy as np
import pytest

from bot.matching.matcher import Matcher
from bot.matching.rank import MEANING_SCALES, meaning_credit

M3E = MEANING_SCALES["m3e-small"]


@pytest.fixture(scope="module")
def words_only(bundled_kb):
    return Matcher(bundled_kb)


@pytest.mark.parametrize(("message", "entry"), [
    ("公司找不到员工商务区管不管", "cbd-enterprise-service"),
    ("运河上新修的桥叫什么", "qianhe-xielu-bridge"),
    ("商务区允许店家在街边摆摊吗", "cbd-outdoor-dining"),
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
    credit = meaning_credit(np.array([0.93, 0.928, 0.80]), M3E)
    assert credit[0] < 0.2 and credit[1] == 0.0  # two near-equal candidates: the model does not decide
    credit = meaning_credit(np.array([0.93, 0.85, 0.80]), M3E)
    assert credit[0] > 0.8 and credit[1] == 0.0


def test_a_sibling_that_differs_in_the_detail_earns_nothing():
    from bot.matching.rank import detail_agreement

    assert list(detail_agreement(np.array([0.65, 0.75, 0.9]), M3E)) == pytest.approx([0.0, 0.5, 1.0])


def test_without_its_entry_a_question_about_a_detail_is_not_answered_by_the_sibling(bundled_kb):
    """厂通路开工日期 with the 开工 entry removed: the 通车 entry shares the road, not the detail, and
    comparing details without the names (`detail_agreement`) is what keeps m3e-small from answering
    with it. e5-small, the default, puts 开工日期 and 哪年修好 too close and answers (README: the
    known weakness, leave-one-out's "entry left out" row)."""
    from tests.auxil.kb import topics_of
    from tests.auxil.semantic import m3e_embedder

    thinner = topics_of(bundled_kb, without="changtong-road-start")
    without = Matcher(thinner, embedder=m3e_embedder())
    assert without.match("厂通路开工日期").status != "answer"
