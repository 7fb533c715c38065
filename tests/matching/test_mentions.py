"""A yes/no or status question about a thing its entry never mentions gets an honest partial reply.

Every entry answers "is it so?" by kind, so the asked-type check alone let 绿心公园可不可以带狗进去 be
answered with the park's layout. The wordings here are not in any YAML list: nouns and unknown words are
found by jieba's part of speech, and "the same thing in other words" by the sentence model.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from bot.dialogue.builder import ReplyBuilder
from bot.knowledge.loader import load_knowledge
from bot.matching.matcher import Matcher
from bot.matching.mentions import Contrast, MentionCheck
from bot.matching.normalise import Normaliser
from bot.matching.tokens import plain_tokenizer
from tests.auxil.kb import entry, make_kb


@pytest.mark.parametrize(("message", "entry_id", "thing"), [
    ("中仓家园中心有电梯吗", "zhongcang-home-center", "电梯"),
    ("三大建筑周末开放吗", "three-buildings-opening", "周末"),
    ("绿心公园有停车场吗", "green-heart-visitor-services", "停车场"),
    ("綠心公園裡能釣魚嗎", "green-heart-lost-and-found", "钓鱼"),
    ("中仓家园中心有没有游泳池", "zhongcang-home-center", "游泳池"),
    ("中仓家园中心对外开放了没有", "zhongcang-home-center", "对外开放"),  # unknown to jieba; 对外 is a thing's
    ("跨省通办能办社保转移不", "cross-province-overview", "社保"),  # an abbreviation (jieba: j) is a thing
])
def test_a_thing_the_entry_never_mentions_is_not_answered_as_if_it_were(matcher, message, entry_id, thing):
    d = matcher.match(message)
    assert (d.status, d.entry_id, d.missing_detail) == ("partial", entry_id, thing)


@pytest.mark.parametrize(("message", "entry_id"), [
    ("千荷泻露桥开通了吗", "qianhe-xielu-bridge"),  # the entry says 开通
    ("厂同路开工了吗", "changtong-road-start"),  # a pinyin typo of the entry's own word
    ("杨庄小区改造了篮球场吗", "yangzhuang-micro-projects"),
    ("绿心公园有没有母婴室", "green-heart-visitor-services"),
    ("北京城市副中心的千荷泻露桥通了没有", "qianhe-xielu-bridge"),  # the knowledge base's home is no "thing"
    ("商务区的咖啡馆能在门口摆摊吗", "cbd-outdoor-dining"),  # the subject, before 能, chose the entry
])
def test_what_the_entry_does_speak_of_is_still_answered(matcher, message, entry_id):
    d = matcher.match(message)
    assert (d.status, d.entry_id) == ("answer", entry_id)


def test_the_reply_names_the_thing_that_is_not_stated_and_the_hotline(matcher, bundled_kb):
    d = matcher.match("中仓家园中心有电梯吗")
    reply = ReplyBuilder(bundled_kb, dt.date(2026, 11, 29)).build(d)
    text = "\n".join(p.text for p in reply.parts)
    assert reply.status == "partial"
    assert "“电梯”" in text and "12345" in text
    assert bundled_kb.by_id["zhongcang-home-center"].answer in text  # what it does know


def test_without_a_measured_sentence_model_the_check_is_not_made(bundled_kb):
    # Words alone would turn paraphrases (饭馆 for 餐饮) into "not stated"; the asked-type check still runs.
    d = Matcher(bundled_kb).match("中仓家园中心有电梯吗")
    assert d.missing_detail is None


def _check(tmp_path, answer: str, language: str = "") -> tuple[MentionCheck, str]:
    kdir = make_kb(tmp_path, {"park.yaml": entry("park", "公园开了吗", answer)})
    if language:  # the bundled list, one line, replaced
        path = kdir / "language.yaml"
        text = path.read_text(encoding="utf-8")
        start = text.index("fact_light_words:")
        path.write_text(text[:start] + language, encoding="utf-8")
    kb = load_knowledge(kdir, tmp_path / "intents")
    return MentionCheck(kb, Normaliser(kb), plain_tokenizer().words), "park"


def _never_close(_word: str, _words: tuple[str, ...]) -> float:
    return 0.0


def test_a_longer_word_holding_the_entry_word_and_a_typo_of_it_count_as_mentioned(tmp_path):
    facts, eid = _check(tmp_path, "园内提供医疗服务，设有售票处。")
    assert facts.unstated("公园有医疗点", eid, _never_close) is None  # 医疗点 holds 医疗
    assert facts.unstated("公园有手票处", eid, _never_close) is None  # 手票 sounds as 售票
    assert facts.unstated("公园有游泳池", eid, _never_close) == "游泳池"


def test_words_an_administrator_marks_as_naming_nothing_are_not_facts(tmp_path):
    facts, eid = _check(tmp_path, "园内设有医疗站。", "fact_light_words: [游泳池]\n")
    assert facts.unstated("公园有游泳池", eid, _never_close) is None


def test_the_sentence_model_may_say_a_word_is_the_entry_word_in_other_words(tmp_path):
    facts, eid = _check(tmp_path, "园内设有医疗站。")
    def close(word: str, words: tuple[str, ...]) -> float:  # a model that knows 卫生室 and 医疗站 alike
        return 1.0 if word == "卫生室" and "医疗站" in words else 0.0

    assert facts.unstated("公园有卫生室", eid, close) is None
    assert facts.unstated("公园有游泳池", eid, close) == "游泳池"


def test_a_word_of_the_same_field_is_not_taken_for_the_entrys_word(matcher):
    # e5-small puts 作业 as close to the entry's 教育 as paraphrases are to their words; against everyday
    # words it is not: many (学习, 工作...) are nearer to 作业 than 教育 is.
    d = matcher.match("主题教育课要交作业吗")
    assert (d.status, d.entry_id, d.missing_detail) == ("partial", "luhe-theme-education-topics", "作业")
    d = matcher.match("那座走路过运河的桥开通了没")  # 走路 of the entry's 步行: its nearest everyday word
    assert (d.status, d.entry_id) == ("answer", "qianhe-xielu-bridge")


def _unit(*pairs: tuple[float, float]) -> np.ndarray:
    return np.array([[x, y] for x, y in pairs], dtype=np.float32)


def test_the_entry_word_must_be_among_the_residents_words_nearest_everyday_words():
    # Resident's word along (1, 0); cosines to the vocabulary: 0.99, 0.98, 0.5.
    vocabulary = ("学习", "工作", "天气")
    contrast = Contrast(vocabulary, _unit((0.99, 0.141), (0.98, 0.199), (0.5, 0.866)), rank=2)
    word = np.array([1.0, 0.0], dtype=np.float32)
    assert contrast.among_nearest("作业", word, "教育", 0.995)  # nearer than every everyday word
    assert contrast.among_nearest("作业", word, "教育", 0.985)  # one rival (学习): fewer than 2
    assert not contrast.among_nearest("作业", word, "教育", 0.9)  # two rivals
    assert contrast.among_nearest("作业", word, "学习", 0.9)  # the entry's word itself is no rival
    assert Contrast(("作业本", "作", "天气"), _unit((0.99, 0.141), (0.98, 0.199), (0.5, 0.866)), rank=1) \
        .among_nearest("作业", word, "教育", 0.9)  # words holding it or inside it are not rivals
    people = Contrast(vocabulary, _unit((0.99, 0.141), (0.98, 0.199), (0.5, 0.866)), rank=1, people=("孩子",))
    assert people.among_nearest("小孩子", word, "学校", 0.6)  # groups of people: the cosine alone


@pytest.mark.parametrize(("message", "role"), [
    ("三大建筑的设计师是谁", "设计师"),  # the entry names 北投集团, who builds them, not who designed them
    ("厂通路的承建方是谁", "承建方"),
    ("三大建筑是谁设计的", "设计"),  # the deed whose doer is asked
    ("一键呼的设备是哪家厂家造的", "厂家"),  # 哪家 + a role
    ("潞河附校的校长叫什么名字", "校长"),  # a person's name: the entry names none
    ("去隔离点驻守的那位医生叫啥", "医生"),
    ("银税互动是谁在负责", "负责"),  # 负责 is close to what the entry does (帮助 0.91), not the same
])
def test_a_role_the_entry_never_names_is_not_answered_with_whoever_it_does_name(matcher, message, role):
    d = matcher.match(message)
    assert (d.status, d.missing_detail) == ("partial", role)


def test_who_without_a_role_is_still_answered_by_whoever_the_entry_names(matcher):
    d = matcher.match("厂通路修路的事是谁在督办")
    assert (d.status, d.entry_id) == ("answer", "changtong-road-supervision")


@pytest.mark.parametrize(("message", "entry_id"), [
    ("厂通路的建设是谁推动的", "changtong-road-supervision"),  # 推动 ~ the entry's 推进
    ("三大建筑由谁承担建设", "three-buildings-what"),  # the entry names 北投集团
    ("潞河附校课后服务体系叫什么", "luhe-after-school-5n"),  # the name of a thing: “5+N”
])
def test_who_and_what_name_the_entry_states_are_answered(matcher, message, entry_id):
    d = matcher.match(message)
    assert (d.status, d.entry_id) == ("answer", entry_id)


SCHOOL = ("school", "实验学校校长叫什么名字", "实验学校是一所公办小学，校长是王明。")


def test_a_persons_name_is_answered_by_an_entry_that_declares_it(tmp_path):
    kdir = make_kb(tmp_path, {"school.yaml": entry(*SCHOOL)})
    path = kdir / "school.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  aspects: [person]\n", encoding="utf-8")
    kb = load_knowledge(kdir, tmp_path / "intents")
    assert Matcher(kb).match("实验学校的校长叫什么名字").status == "answer"
    undeclared = load_knowledge(make_kb(tmp_path / "b", {"school.yaml": entry(*SCHOOL)}), tmp_path / "b" / "intents")
    assert Matcher(undeclared).match("实验学校的校长叫什么名字").status == "partial"


@pytest.mark.parametrize(("message", "entry_id", "who"), [
    ("个体工商户能办银税互动贷款不", "bank-tax-loans", "工商户"),  # the entry speaks of 小微企业
    ("不是回迁户能买东方厂安置房吗", "dongfangchang-resettlement", "不是回迁户"),  # those it is not about
    ("没住民宿的人能不能坐那个接送车去环球", "xiji-homestay-shuttle", "没住民宿的人"),
])
def test_whether_a_group_the_entry_does_not_cover_may_is_not_answered(matcher, message, entry_id, who):
    d = matcher.match(message)
    assert (d.status, d.entry_id, d.missing_aspect, d.missing_detail) == ("partial", entry_id, "eligibility", who)


@pytest.mark.parametrize(("message", "entry_id"), [
    ("老人能用一键呼吗", "one-key-call-breakdown"),
    ("商务区企业员工能上门打疫苗吗", "cbd-vaccination"),
])
def test_a_group_the_entry_speaks_of_is_still_answered(matcher, message, entry_id):
    d = matcher.match(message)
    assert d.status == "answer", d


def test_a_narrower_group_than_the_entrys_is_not_taken_as_covered(matcher):
    d = matcher.match("合资企业也能用住所证明的新办法吗")  # the entry speaks of 企业, not of 合资企业 in particular
    assert (d.status, d.missing_aspect, d.missing_detail) == ("partial", "eligibility", "合资企业")


def test_a_count_of_a_thing_the_entry_never_speaks_of_is_not_answered_with_its_number(matcher):
    d = matcher.match("潞河附校有几个食堂")  # the school's entries count kinds of club, not canteens
    assert (d.status, d.missing_aspect, d.missing_detail) == ("partial", "count", "食堂")


@pytest.mark.parametrize(("message", "period"), [
    ("运河商务区2019年的税收有多少", "2019年"),  # the entry's figure is 2021's
    ("绿心公园暑假每天来多少游客", "暑假"),  # the entry gives the total since it opened
])
def test_a_figure_for_a_span_the_entry_does_not_name_is_not_answered_with_its_own(matcher, message, period):
    d = matcher.match(message)
    assert (d.status, d.missing_detail) == ("partial", period)


@pytest.mark.parametrize(("message", "entry_id"), [
    ("运河商务区今年税收能有多少", "cbd-tax"),  # 今年: the resident's own now, not a span to hold the entry to
    ("2021年通州新开工了多少套保障房", "affordable-housing-started"),  # the entry's own year
])
def test_the_entrys_own_year_or_the_residents_now_is_answered(matcher, message, entry_id):
    assert (matcher.match(message).status, matcher.match(message).entry_id) == ("answer", entry_id)


@pytest.mark.parametrize(("message", "ordinal"), [
    ("第四次公租房配租开始了吗", "第四次"),  # the entry tells of two rounds in all; named as written
    ("第五批公租房配租开始了吗", "第五批"),
])
def test_an_ordinal_the_entry_never_names_is_not_answered_with_the_whole(matcher, message, ordinal):
    d = matcher.match(message)
    assert (d.status, d.missing_detail) == ("partial", ordinal)


def test_how_many_rounds_is_still_answered(matcher):
    assert matcher.match("公租房一共配租了几次").status == "answer"
