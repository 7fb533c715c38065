"""Answered types: what each bundled entry's answer states, read from its text (and `aspects:`)."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace

import pytest

from bot.knowledge.loader import load_knowledge
from bot.matching.answered import AnsweredTypes, declaration_warnings
from bot.matching.matcher import Matcher
from tests.auxil.kb import ROOT, entry, make_kb

# What each answer plainly states (read off the answers by a person, not off the code's output). The
# extraction may find more; it must find at least these.
STATES = {
    "cbd-registered-companies": {"count", "money"},  # 截至2021年12月 is when, not a date of anything
    "cbd-revenue": {"money"},
    "cbd-tax": {"money", "rate"},
    "cbd-address-proof": {"duration"},
    "cbd-enterprise-service": {"count", "contents"},
    "cbd-vaccination": {"eligibility"},
    "cbd-shared-bikes": {"contents"},
    "cbd-outdoor-dining": {"status"},
    "qianhe-xielu-bridge": {"place", "status"},
    "luhe-late-care-end-time": {"hours"},
    "luhe-late-care-who": {"eligibility", "hours"},
    "luhe-after-school-5n": {"contents", "duration"},
    "luhe-tutoring": {"yesno"},
    "luhe-clubs": {"contents", "count"},
    "luhe-theme-education-hour": {"duration"},
    "luhe-theme-education-topics": {"contents"},
    "tongzhou-double-reduction": {"contents", "hours"},
    "one-key-call-what": {"eligibility", "count", "person"},
    "one-key-call-total": {"count", "date"},
    "one-key-call-breakdown": {"count", "contents"},
    "civil-affairs-project-lists": {"count", "contents"},
    "tonghui-mingtian-what": {"eligibility"},
    "tonghui-mingtian-activities": {"count"},
    "tonghui-mingtian-cases": {"count"},
    "tonghui-mingtian-files": {"count"},
    "tonghui-mingtian-visits": {"count"},
    "cross-province-binhai": {"count"},
    "cross-province-baodi": {"count"},
    "regional-langfang": {"count"},
    "cross-province-overview": {"count"},
    "green-heart-opening": {"date", "count"},
    "green-heart-visitors": {"count", "date"},
    "green-heart-lost-and-found": {"count", "person"},
    "green-heart-lost-person": {"count", "person"},
    # Lists services, but says its facilities (设施) are not given: a list of what is inside is not stated.
    "green-heart-visitor-services": {"count"},
    "green-heart-layout": {"contents"},
    "lucheng-isolation-testing": set(),
    "lucheng-isolation-team": {"count", "person", "duration", "date"},
    "lucheng-isolation-interval": {"date", "duration"},
    "zhongcang-home-center": {"status"},
    "affordable-housing-started": {"count", "date"},
    "affordable-housing-completed": {"count", "date"},
    "public-rental-households": {"count"},
    "public-rental-coverage": {"rate"},
    "dongfangchang-resettlement": {"status", "person"},
    "dongfangchang-upgrades": {"contents", "count", "person"},
    "press-conference-overview": {"date", "hours", "contents", "count"},
    "bank-tax-loans": {"money", "person"},
    "bank-tax-what": {"money", "person"},
    "tax-volunteer-team": {"count"},
    "red-tax-aid-team": {"count", "person"},
    "chunfeng-livestreams": {"count", "person"},
    "three-buildings-opening": {"date", "status"},
    "three-buildings-completion": {"date", "status"},
    "three-buildings-what": {"person"},
    "changtong-road-opening": {"date", "status"},
    "changtong-road-start": {"date"},
    "changtong-road-link": {"place", "date"},
    "changtong-road-supervision": {"person"},
    "shaguodui-homestay-names": {"contents", "place"},
    "xiji-homestays-planned": {"count"},
    "xiji-homestay-model": set(),
    "xiji-homestay-shuttle": {"duration", "place"},
    "xiji-canal-tourism": set(),
    "yiley-water-outage": {"date", "hours", "count", "person"},
    "yangzhuang-old-community-checkup": {"reason", "contents"},
    "yangzhuang-cables": {"date", "duration", "status"},
    "yangzhuang-micro-projects": {"contents"},
    "tianshi-noise-barrier": {"status", "person"},
}

# Details an answer says the source does not give (“预订方式和价格文中没有说明”), and details of the
# issue's examples: never stated, so a resident asking gets `partial`, not this answer.
NOT_STATED = {
    "shaguodui-homestay-names": {"money", "procedure"},
    "xiji-homestay-shuttle": {"money", "procedure"},
    "green-heart-lost-and-found": {"place", "contact"},
    "green-heart-visitor-services": {"place", "contents"},
    "cbd-outdoor-dining": {"procedure"},
    "luhe-late-care-who": {"procedure"},
    "cbd-address-proof": {"procedure"},
    "green-heart-visitors": {"size", "hours", "money"},
    "zhongcang-home-center": {"contents", "hours", "place", "money", "size", "date"},  # 截至…: as of
}


def test_the_table_covers_every_bundled_entry(bundled_kb):
    assert set(STATES) == {e.id for e in bundled_kb.entries}


@pytest.mark.parametrize("entry_id", sorted(STATES))
def test_each_entry_states_what_its_answer_says(matcher, entry_id):
    stated = matcher.answered[entry_id]
    assert STATES[entry_id] <= stated.kinds, (entry_id, sorted(stated.kinds), stated.evidence)
    assert not NOT_STATED.get(entry_id, set()) & stated.kinds, (entry_id, sorted(stated.kinds))
    assert set(matcher.kb.by_id[entry_id].aspects) <= stated.kinds  # declarations count


def test_formats_imply_their_kind_on_every_entry(matcher):
    """Whatever the wording around them: a clock time is hours, yuan money, a percentage a rate."""
    formats = {"hours": r"\d{1,2}:\d{2}", "money": r"\d[\d.]*[万亿]?元", "rate": r"\d%",
               "date": r"(?<!截至)20\d\d年", "count": r"\d+(户|次|场|项|套|家)"}
    for e in matcher.kb.entries:
        for kind, pattern in formats.items():
            if re.search(pattern, e.answer):
                assert kind in matcher.answered[e.id].kinds, (e.id, kind)


def test_answered_types_are_computed_once_per_snapshot(matcher):
    assert matcher.answered[matcher.kb.entries[0].id] is matcher.answered[matcher.kb.entries[0].id]
    assert len(matcher.answered.by_entry) == len(matcher.kb.entries)


def test_a_declaration_the_answer_does_not_bear_out_is_a_warning(tmp_path):
    from bot.knowledge.loader import load_knowledge

    declares = entry("park-hours", "公园几点开门", "公园环境很好，欢迎游览。").replace(
        "as_of: 2021-12-28", "as_of: 2021-12-28\n  aspects: [hours, place]")
    honest = entry("park-open", "公园什么时候开", "每天6:00至21:00开放，位于运河西岸。").replace(
        "as_of: 2021-12-28", "as_of: 2021-12-28\n  aspects: [hours]")
    kdir = make_kb(tmp_path, {"park.yaml": declares + honest})
    kb = load_knowledge(kdir, tmp_path / "intents")
    warnings = declaration_warnings(AnsweredTypes(kb))
    assert [(w.line, w.message.split(" (")[0]) for w in warnings] == [
        (1, "`park-hours` declares `aspects: [hours]`"), (1, "`park-hours` declares `aspects: [place]`")]
    assert all(w.path.endswith("park.yaml") and w.severity == "warning" for w in warnings)
    assert "write it into the answer, or remove `hours` from `aspects`" in warnings[0].message


def test_kb_check_shows_the_disagreement_with_file_and_line(tmp_path, capsys):
    from bot.cli import main

    declares = entry("park-hours", "公园几点开门", "公园环境很好，欢迎游览。").replace(
        "as_of: 2021-12-28", "as_of: 2021-12-28\n  aspects: [hours]")
    kdir = make_kb(tmp_path, {"park.yaml": declares})
    assert main(["kb", "check", str(kdir), "--no-self-check"]) == 0  # a warning: the bot still serves it
    out = capsys.readouterr().out
    assert "park.yaml:1:3: warning: `park-hours` declares `aspects: [hours]` (开放或办公时间) but its answer " \
           "states no 开放或办公时间" in out, out
    assert main(["kb", "check", str(kdir), "--no-self-check", "--strict"]) == 1
    capsys.readouterr()


@pytest.mark.parametrize(("question", "answered"), [
    ("东方厂安置房有几幢楼", False),  # 几幢 counts buildings; the upgrades entry counts 5项 of work
    ("社团每学期活动几回", False),  # 几回 counts times; the clubs entry counts 三大类
    ("税务局跟几家银行一起做银税互动", True),  # 六大银行 counts banks, in no measure word
    ("东方厂安置房住进去多少人了", True),  # 1.2万回迁百姓: 回 begins 回迁 and counts nothing
])
def test_a_count_is_answered_only_in_the_measure_word_asked(matcher, question, answered):
    entry_id = {"东": "dongfangchang-upgrades", "社": "luhe-clubs", "税": "bank-tax-what"}[question[0]]
    if question.startswith("东方厂安置房住"):
        entry_id = "dongfangchang-resettlement"
    asked = matcher.asked.asked(matcher.normalise(question).phrased)
    counts = [a for a in asked if a.kind == "count"]
    assert counts, asked
    stated = matcher.answered[entry_id]
    assert all(a.answered_by(stated.kinds) and stated.has_unit(a) for a in counts) is answered


@pytest.mark.parametrize("question", ["通惠明天项目如今还在做吗", "春风税雨直播目前还有没有", "银税互动到现在还能贷吗"])
def test_what_is_so_now_is_stated_by_no_entry_dated_as_of_its_source(matcher, question):
    # Every entry states how things stood on its as_of date: "现在还…吗" gets that, and that now is not stated.
    d = matcher.match(question)
    assert (d.status, d.missing_aspect) == ("partial", "current")


@pytest.mark.parametrize(("answer", "items"), [
    ("社团有体育、艺术、科技三类。", 3),
    ("社团有体育、艺术和科技。", 3),      # the last item joined by 和
    ("社团很多，活动丰富。", 0),
])
def test_a_lists_length_is_the_most_items_one_list_names(tmp_path, answer, items):
    kb = load_knowledge(make_kb(tmp_path, {"clubs.yaml": entry("clubs", "社团有哪些", answer)}), tmp_path / "i")
    assert AnsweredTypes(kb)["clubs"].list_items == items


@pytest.mark.parametrize(("message", "entry_id"), [
    ("六大银行是哪六家", "bank-tax-what"),            # the answer lists 敢贷、愿贷, not six banks
    ("三大建筑分别是哪三座", "three-buildings-what"),
    ("民政局那7项办实事清单全部是哪几项", "civil-affairs-project-lists"),  # names two of the seven
])
def test_a_shorter_list_than_asked_for_is_no_answer(matcher, message, entry_id):
    d = matcher.match(message)
    assert (d.status, d.entry_id, d.missing_aspect) == ("partial", entry_id, "contents")


@pytest.mark.parametrize(("message", "entry_id"), [
    ("通惠明天项目有多少个社工", "tonghui-mingtian-visits"),  # 2812次 is what the 社工 did, not how many
    ("潞河附校到底开了多少个社团", "luhe-clubs"),  # 三大类 counts kinds of club, not clubs
])
def test_a_count_of_something_else_than_asked_is_no_answer(matcher, message, entry_id):
    d = matcher.match(message)
    assert (d.status, d.entry_id, d.missing_aspect) == ("partial", entry_id, "count")


@pytest.mark.parametrize(("message", "entry_id"), [
    ("潞城中心派了几个医生护士去隔离点", "lucheng-isolation-team"),  # 一名医生
    ("滨海新区跨省通办一共多少个事项", "cross-province-binhai"),  # 56项政务服务事项
    ("驻守隔离点的医护几个人", "lucheng-isolation-team"),  # 医护 is not the answer's word: not judged
    ("运河商务区现在注册了多少企业", "cbd-registered-companies"),
])
def test_a_count_of_what_is_asked_is_answered(matcher, message, entry_id):
    d = matcher.match(message)
    assert (d.status, d.entry_id) == ("answer", entry_id)


def test_an_age_is_answered_only_by_an_age(matcher):
    d = matcher.match("多大年纪的孩子能参加延时托管")  # the entry says which pupils, not how old
    assert (d.status, d.missing_aspect) == ("partial", "age")


def test_a_month_or_a_day_asked_is_not_answered_by_a_year(matcher):
    d = matcher.match("杨庄的老电缆是哪年几月换的")  # the entry says which year's cables, not when they were changed
    assert d.status in ("partial", "fallback")
    (asked,) = [a for a in matcher.asked.asked(matcher.normalise("绿心公园是几月几号开园的").phrased)]
    assert (asked.kind, asked.unit) == ("date", "号")  # 2020年9月 does not say the day


@pytest.mark.parametrize(("before", "after", "phase"), [
    ("最晚到", "。", "end"), ("从", "开始", "start"), ("下午", "起", "start"), ("家长", "下班", "end"),
    ("约", "，", ""),
])
def test_a_stated_times_phase_is_read_from_the_words_around_it(matcher, before, after, phase):
    assert matcher.answered.phase(before, after) == phase


def test_when_something_starts_is_not_answered_by_when_it_ends(tmp_path):
    files = {"pool.yaml": entry("pool", "游泳馆几点关门", "游泳馆每天最晚到21点关门。"),
             "library.yaml": entry("library", "图书馆几点开门", "图书馆每天从8点开始开放。")}
    kdir = make_kb(tmp_path, files)
    shutil.copy(ROOT / "knowledge" / "asked.yaml", kdir / "asked.yaml")  # the interrogatives: 几 + 点
    matcher = Matcher(load_knowledge(kdir, tmp_path / "i"))
    assert [matcher.match(q).status for q in ("游泳馆晚上几点关门", "图书馆早上几点开门")] == ["answer", "answer"]
    for answered, asked in (("图书馆早上几点开门", "图书馆晚上几点闭馆"), ("游泳馆晚上几点关门", "游泳馆早上几点开门")):
        # The entry chosen, asked when the other end of its day is: its time does not say.
        n = matcher.normalise(asked)
        checked = matcher.check_asked(replace(matcher.match(answered), normalised=n), matcher.asked.asked(n.phrased))
        assert (checked.status, checked.missing_aspect) == ("partial", "hours")


@pytest.mark.parametrize(("message", "thing"), [("沙古堆的民宿有哪些菜品", "菜品"), ("潞河附校有哪些食堂", "食堂")])
def test_a_list_of_something_the_entry_never_speaks_of_is_not_answered_with_its_list(matcher, message, thing):
    d = matcher.match(message)  # the entries list the homestays' names and the kinds of club
    assert (d.status, d.missing_aspect, d.missing_detail) == ("partial", "contents", thing)


def test_a_list_of_what_the_entry_lists_is_answered(matcher):
    assert matcher.match("附校课后有哪些社团").status == "answer"
