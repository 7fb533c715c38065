"""The asked-type classifier on wordings that no cue list holds: the generalisation is the point.

Each case is read by an interrogative and the part of speech or the sound of the word after it, not by a
listed word; the test checks that too, so that adding the wording to knowledge/aspects.yaml would not
make it pass by copying.
"""

from __future__ import annotations

import pytest

from bot.matching.asked import pos_of


def kinds(matcher, message):
    return [(a.kind, a.weak) for a in matcher.asked.asked(matcher.normalise(message).phrased)]


def listed(matcher, word):
    """Whether `word` is in any word list of knowledge/aspects.yaml (cue, ending or slot list)."""
    return any(word in getattr(a, f) for a in matcher.kb.aspects
               for f in ("words", "endings", "adjectives", "units", "nouns", "verbs"))


@pytest.mark.parametrize(("message", "unlisted", "kind"), [
    ("这座桥有多陡", "陡", "size"),            # 多 + an adjective (jieba: a)
    ("水有多冷", "冷", "size"),
    ("码头能停几艘船", "艘", "count"),          # 几 + a measure word (jieba: m/q)
    ("公园里一共有多少棵树", "棵", "count"),
    ("居住证怎么续签", "续签", "procedure"),    # 怎么 + a verb (jieba: v)
    ("社保卡丢了咋补办", "补办", "procedure"),  # 咋 is 怎么 after normalisation
    ("公园有哪些景点", "景点", "contents"),      # 哪些 + a noun
    ("疫苗是哪家医院来打的", "医院", "person"),  # 哪家 + a noun: a name
])
def test_interrogative_and_the_part_of_speech_after_it(matcher, message, unlisted, kind):
    assert not listed(matcher, unlisted)
    assert (kind, True) in kinds(matcher, message), kinds(matcher, message)


@pytest.mark.parametrize(("message", "typo", "kind"), [
    ("几店开门", "店", "hours"),     # 店 sounds like 点: an input-method typo
    ("离地铁站有多原", "原", "size"),  # 原 sounds like 远
])
def test_input_method_typos_keep_their_sound(matcher, message, typo, kind):
    assert not listed(matcher, typo)
    assert kind in [k for k, _weak in kinds(matcher, message)]


@pytest.mark.parametrize(("message", "expected"), [
    ("圖書館幾點關門", {"hours"}),                       # traditional script is normalised first
    ("门票多少钱，要不要提前预约", {"money", "procedure"}),  # several kinds at once
    ("哪天开始报名", {"date", "procedure"}),
    ("坐几号线能到", {"place"}),                        # 号线 wins over 号 (a date)
    ("办下来要几天", {"duration"}),
    ("收费是多少", {"money"}),                          # 多少 alone would be a count: the specific kind wins
    ("为啥要装隔音屏", {"reason"}),
    ("公园让不让遛狗", {"yesno"}),                      # V不V, nothing more specific
    ("厂通路修好了吗", {"status"}),
])
def test_kinds_asked(matcher, message, expected):
    assert {k for k, _w in kinds(matcher, message)} == expected


@pytest.mark.parametrize("message", ["一键呼是什么", "你好", "家长下班晚接不了孩子怎么办", "很多人都说好",
                                     "几乎每天都去", "运河商务区"])
def test_no_particular_detail_means_no_check(matcher, message):
    assert kinds(matcher, message) == []


def test_parts_of_speech_come_from_jiebas_dictionary():
    assert pos_of("陡") == "a" and pos_of("续签") == "v" and pos_of("景点") == "n"


@pytest.mark.parametrize(("message", "kind", "listed"), [
    ("公园里有哪五个景点", "contents", 5),           # 哪 + a number: which ones, a list of five
    ("那12项服务是哪几项", "contents", 12),          # 哪几项 after 12项: the question says how many
    ("商场有哪几家超市", "contents", 2),             # 哪几: at least two
])
def test_which_and_a_number_asks_for_a_list_of_so_many(matcher, message, kind, listed):
    found = matcher.asked.asked(matcher.normalise(message).phrased)
    assert [(a.kind, a.listed) for a in found] == [(kind, listed)]


def test_which_and_a_number_of_places_asks_for_places_a_list_of_them_answers_too(matcher):
    (found,) = matcher.asked.asked(matcher.normalise("这座桥连着哪两个地方").phrased)
    assert (found.kind, found.also) == ("place", ("contents",))


@pytest.mark.parametrize(("message", "expected"), [
    ("图书馆的借阅率是多少", {"rate"}),        # any word ending in 率 ('*率' in aspects.yaml), 借阅率 unlisted
    ("小区的绿化率是多少", {"rate"}),
    ("厂通路率先开工了吗", {"status"}),        # 率先 begins with 率: no rate
    ("商务区税收占全区的比重是多少", {"rate"}),
    ("那条新修的路叫什么", {"name"}),
    ("哪一天开门", {"date"}),                  # 哪一 is "which", not a list of one
])
def test_rates_names_and_which_one(matcher, message, expected):
    assert {k for k, _w in kinds(matcher, message)} == expected
