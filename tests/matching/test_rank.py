"""Rerank features: what a colloquial wording may and may not count against an entry."""

from __future__ import annotations

import pytest

from bot.matching import rank
from bot.matching.rank import Query, weighted_bigrams
from bot.matching.tokens import plain_tokenizer


def test_bigrams_across_word_edges_count_less_than_words():
    text = "学校会教儿童心理健康"
    grams = dict(weighted_bigrams(text, plain_tokenizer().words(text)))
    assert grams["学校"] == 1.0 and grams["心理"] == 1.0  # inside words
    assert grams["校会"] == rank.CROSS_SHARE < 1.0  # 学校|会: adjacency, not meaning
    assert grams["会教"] == 1.0  # two one-character pieces may be one unknown word


def test_a_typo_cut_into_characters_keeps_its_bigrams():
    text = "公组房配租了多少户"
    grams = dict(weighted_bigrams(text, plain_tokenizer().words(text)))
    assert grams.get("组房") == 1.0 or grams.get("公组") == 1.0


def test_question_words_are_not_names(matcher):
    # 什么 and 怎么 are the standard words of synonym groups, but half the knowledge base asks with them:
    # a message sharing only them with an entry must not count as naming what the entry is about.
    assert "什么" not in matcher.lexicon and "怎么" not in matcher.lexicon
    assert "公租房" in matcher.lexicon and "潞河中学附属学校" in matcher.lexicon
    assert Query.of("公租房是什么", matcher.lexicon, matcher.tokenizer).terms == {"公租房"}


def test_one_character_words_are_indexed(matcher):
    # 办, 住, 修: a one-character word of a question is a token of its own, so that a message can be
    # told apart by it (自来水费怎么交 shares 自来水 with the outage entry, but not 费 or 交).
    assert {"u:办", "u:住"} <= set(matcher.index.vocabulary)
    assert Query.of("自来水费怎么交", matcher.lexicon, matcher.tokenizer, matcher.index).bigrams[-1][0] == "u:交"


@pytest.mark.parametrize(
    ("message", "entry_id"),
    [
        # Colloquial wordings with many filler words between the names, written for this test (not
        # taken from the labelled set): the fillers' bigrams must not drown the names.
        ("想问一下那个潞河附校的延时托管一般最晚到几点结束呀", "luhe-late-care-end-time"),
        ("副中心这边跟天津宝坻现在能一起办多少事", "cross-province-baodi"),
    ],
)
def test_colloquial_wording_with_fillers_is_answered(matcher, message, entry_id):
    d = matcher.match(message)
    assert (d.status, d.entry_id) == ("answer", entry_id)
