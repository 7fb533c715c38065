"""Replies a resident reads: sources, freshness, script, clarification, fallback, feedback, context."""

from __future__ import annotations

import datetime as dt

from bot.dialogue.freshness import forecast_date
from bot.matching.normalise import to_simplified
from bot.storage import schema
from bot.storage.connection import make_engine
from bot.storage.repository import Repository
from tests.auxil.dialogue import ListRecorder, make_dialogue

SOURCE = "来源：大国新村《事关教育和交通等领域，北京城市副中心集中汇报“我为群众办实事”成果》，2021年12月28日"


def test_answer_has_source_line_and_related_questions():
    r = make_dialogue().handle("c", "潞河附校晚托到几点")
    assert (r.status, r.entry_id) == ("answer", "luhe-late-care-end-time")
    assert r.text.startswith("最晚到19:20。")
    assert SOURCE in r.text and r.source == SOURCE
    assert [s.entry_id for s in r.suggestions] == ["luhe-late-care-who", "luhe-after-school-5n"]
    assert "您可能还想问：" in r.text
    assert r.rateable and r.as_of == "2021-12-28"


def test_forecast_before_and_after_its_date():
    before = make_dialogue(today=dt.date(2023, 6, 1)).handle("c", "厂通路什么时候通车")
    after = make_dialogue(today=dt.date(2026, 11, 29)).handle("c", "厂通路什么时候通车")
    assert "提示" not in before.text and before.text.startswith("预计2024年竣工通车")
    assert "以上是2021年12月28日时的计划" in after.text and "12345" in after.text
    assert "2024年12月31日" in after.text


def test_forecast_stated_only_in_the_answer_text_is_noticed():
    assert forecast_date("预计2024年竣工通车。") == dt.date(2024, 12, 31)
    assert forecast_date("2023年底前力争具备开放条件") == dt.date(2023, 12, 31)
    assert forecast_date("2021年新开工5097套") is None


def test_traditional_question_gets_a_traditional_reply():
    r = make_dialogue().handle("c", "三大建築什麼時候開放")
    assert r.script == "traditional"
    assert "計劃2023年底前" in r.text and "來源：大國新村" in r.text
    assert r.source.startswith("來源") and all("築" in s.label or "建" in s.label for s in r.suggestions)


def test_clarification_answered_by_number():
    rec = ListRecorder()
    d = make_dialogue(recorder=rec)
    r = d.handle("c", "一键呼")
    assert r.status == "clarify" and r.text.startswith("您想问的是哪一个？")
    assert r.choices[-1].label == "都不是" and r.choices[-1].entry_id is None
    assert "\n1. “一键呼”" in r.text and "\n4. 都不是" in r.text
    chosen = r.choices[1].entry_id
    r2 = d.handle("c", "2")
    assert (r2.status, r2.entry_id) == ("answer", chosen)
    assert (rec.interactions[-1].text, rec.interactions[-1].asked) == ("2", "一键呼")


def test_clarification_none_of_these_is_unanswered():
    rec = ListRecorder()
    d = make_dialogue(recorder=rec)
    r = d.handle("c", "一键呼")
    r2 = d.handle("c", "都不是")
    assert r2.status == "fallback" and "12345" in r2.text
    assert (rec.interactions[-1].status, rec.interactions[-1].reason) == ("fallback", "none-of-these")
    assert (rec.interactions[-1].text, rec.interactions[-1].asked) == ("都不是", "一键呼")
    r3 = make_dialogue().handle("x", "一键呼")
    assert len(r3.choices) == len(r.choices)


def test_invalid_choice_asks_again():
    d = make_dialogue()
    d.handle("c", "一键呼")
    r = d.handle("c", "9")
    assert r.status == "clarify" and "1 到" in r.text
    assert d.handle("c", "1").status == "answer"


def test_fallback_points_to_12345_and_nearby_topics():
    r = make_dialogue().handle("c", "公积金怎么提取")
    assert r.status == "fallback"
    assert "知识库里没有" in r.text and "12345" in r.text


def test_partial_says_what_is_missing():
    r = make_dialogue().handle("c", "一键呼怎么收费")
    assert r.status == "partial"
    assert "收费标准" in r.text and "12345" in r.text and "“一键呼”" in r.text


def test_smalltalk_help_lists_topics():
    r = make_dialogue().handle("c", "你能做什么")
    assert r.status == "smalltalk" and "课后服务" in r.text and "西集民宿" in r.text


def test_feedback_is_recorded_for_the_last_answer():
    rec = ListRecorder()
    d = make_dialogue(recorder=rec)
    answer = d.handle("c", "公租房配租多少户")
    thanks = d.feedback("c", helpful=False)
    assert "已记录" in thanks.text
    [fb] = rec.feedback
    assert (fb.interaction_id, fb.entry_id, fb.helpful) == (answer.interaction_id, "public-rental-households", False)


def test_welcome_offers_the_examples_of_replies_yaml_bound_to_the_entries_answering_them():
    d = make_dialogue()
    welcome = d.navigate("w", "welcome")
    examples = [e.question for e in d.live.snapshot.kb.welcome_examples]
    assert examples and [s.label for s in welcome.suggestions] == examples  # as written in replies.yaml
    assert [s.entry_id for s in welcome.suggestions] == [
        "luhe-late-care-end-time", "changtong-road-opening", "regional-langfang", "xiji-homestay-shuttle"]


def test_navigation_replies_are_recorded_converted_and_numbered():
    rec = ListRecorder()
    d = make_dialogue(recorder=rec)
    kb = d.live.snapshot.kb
    d.handle("c", "潞河附校晚托到幾點")  # the resident writes traditional characters
    welcome = d.navigate("c", "welcome", user_hash="h1")
    assert welcome.script == "traditional" and "您好" in welcome.text and welcome.suggestions
    topics = d.navigate("c", "topics")
    assert [c.topic for c in topics.choices] == list(kb.topics)
    pick = kb.topics.index("课后服务") + 1
    listing = d.handle("c", str(pick))  # a text-only channel picks the topic by its number
    assert listing.intent_id == "topic" and all(c.entry_id for c in listing.choices)
    answer = d.handle("c", "1")  # and a question of the topic by its number
    assert answer.status == "answer" and answer.entry_id == listing.choices[0].entry_id
    assert d.navigate("c", "topic", "没有这个话题") is None
    help_ = d.navigate("c", "help")
    assert "西集民宿" in to_simplified(help_.text)
    nav = [r for r in rec.interactions if r.status == "smalltalk"]
    assert [(r.intent_id, r.reason) for r in nav] == [("welcome", "navigation"), ("topics", "navigation"),
                                                      ("topic", "chosen"), ("help", "navigation")]
    assert nav[0].user_hash == "h1" and nav[0].text == "/welcome"
    assert rec.interactions[-2].asked == kb.by_id[answer.entry_id].canonical_question  # what was picked, not "1"


def test_a_number_after_a_navigation_list_out_of_range_is_a_new_question():
    d = make_dialogue()
    d.navigate("c", "topics")
    reply = d.handle("c", "99")
    assert reply.intent_id != "topic" and reply.status != "clarify"


def test_follow_up_context_survives_a_new_process(tmp_path):
    url = f"sqlite:///{tmp_path}/ctx.sqlite3"
    engine = make_engine(url)
    schema.upgrade(engine)
    first = make_dialogue(contexts=Repository(engine))
    assert first.handle("resident-1", "和滨海新区跨省通办多少项").entry_id == "cross-province-binhai"
    engine.dispose()
    # A new process: new engine, new repository, new dialogue; only the database is shared.
    second = make_dialogue(contexts=Repository(make_engine(url)))
    r = second.handle("resident-1", "那廊坊呢？")
    assert (r.status, r.entry_id) == ("answer", "regional-langfang")


def test_context_expires_after_its_ttl():
    now = [1000.0]
    d = make_dialogue(clock=lambda: now[0])
    d.handle("c", "和滨海新区跨省通办多少项")
    now[0] += 1000  # within the 30-minute default
    assert d.handle("c", "那廊坊呢？").entry_id == "regional-langfang"
    now[0] += 3600
    assert d._context("c").last_entry_id is None  # forgotten: a later 那…呢 starts afresh


def test_storage_failure_never_costs_the_answer():
    class Broken:
        def load_context(self, _):
            raise OSError("database down")

        def save_context(self, *_):
            raise OSError("database down")

        def record_interaction(self, _):
            raise OSError("database down")

        def record_feedback(self, _):
            raise OSError("database down")

    d = make_dialogue(contexts=Broken(), recorder=Broken())
    r = d.handle("c", "潞河附校晚托到几点")
    assert (r.status, r.entry_id) == ("answer", "luhe-late-care-end-time")
