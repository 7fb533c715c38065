"""Normalisation: equivalent wordings compare equal, and normalising twice changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.normalise import detect_script
from bot.matching.numbers import chinese_to_int, normalise_numbers


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("請問潞河附校的晚託到幾點呀？", "潞河中学附属学校的延时托管到几点"),  # script, synonyms, filler, particle
        ("１９：２０放学吗", "19点20放学"),  # full-width digits, clock time
        ("公共租赁住房有多少户？", "公租房有多少户"),
        ("绿心公园  几点开门啊!!", "城市绿心森林公园几点开门"),
        ("Hello World", "hello world"),
    ],
)
def test_normalise(matcher, message, expected):
    assert matcher.normalise(message).text == expected


def test_script_is_detected_for_the_reply(matcher):
    assert matcher.normalise("三大建築什麼時候開放").script == "traditional"
    assert matcher.normalise("三大建筑什么时候开放").script == "simplified"
    assert detect_script("12345") == "simplified"


@pytest.mark.parametrize(
    ("text", "value"),
    [("十九", 19), ("二十", 20), ("一千六百", 1600), ("三万", 30000), ("二〇二一", 2021), ("两", 2), ("十", 10)],
)
def test_chinese_numbers(text, value):
    assert chinese_to_int(text) == value


def test_numbers_become_comparable_but_names_stay():
    assert normalise_numbers("十九点二十") == "19点20"
    assert normalise_numbers("五点半") == "5点半"
    assert normalise_numbers("一键呼") == "一键呼"  # a lone numeral inside a name is not a number
    assert normalise_numbers("一千六百户") == "1600户"


def test_long_messages_are_truncated_not_rejected(matcher):
    n = matcher.normalise("公租房" * 10_000)
    assert n.truncated and len(n.text) <= matcher.normalise.max_chars


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_normalisation_is_idempotent(matcher, text):
    once = matcher.normalise(text).text
    assert matcher.normalise(once).text == once


def test_control_format_and_separator_characters_become_spaces_whatever_the_plane():
    """`clean_characters` reads a table for the Basic Multilingual Plane: the same rule, every character."""
    import unicodedata

    from bot.matching.normalise import clean_characters, valid_text

    def by_rule(text):
        text = unicodedata.normalize("NFKC", valid_text(text[:300])).lower()
        return "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)

    @settings(max_examples=500, deadline=None)
    @given(st.text(alphabet=st.characters(codec=None), max_size=40))
    def same(text):
        assert clean_characters(text, 300) == by_rule(text)

    same()
    assert clean_characters("公租房\u200b申请\u3000条件\x07", 300) == "公租房 申请 条件 "
