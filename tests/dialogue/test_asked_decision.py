"""Issue 15: a question asking for a kind of detail the chosen entry does not state gets `partial` (what
the knowledge base knows, that this detail is not stated, 12345), whichever way the entry was chosen."""

from __future__ import annotations

from tests.auxil.dialogue import make_dialogue


def test_the_issues_two_examples_are_honest():
    d = make_dialogue()
    size = d.handle("a", "城市绿心森林公园有多大")
    assert size.status == "partial" and size.entry_id.startswith("green-heart")
    assert "380万" in size.text or "2020年9月" in size.text  # what it does know about the park
    assert "面积、长度或距离" in size.text and "12345" in size.text
    inside = d.handle("b", "中仓社区家园中心里面有什么")
    assert inside.status == "partial" and inside.entry_id == "zhongcang-home-center"
    assert "已建成" in inside.text and "具体内容或清单" in inside.text and "12345" in inside.text


def test_traditional_question_gets_the_honest_reply_in_traditional():
    r = make_dialogue().handle("t", "中倉社區家園中心裡面有什麼")
    assert r.status == "partial" and r.script == "traditional"
    assert "關於" in r.text and "知識庫" in r.text and "12345" in r.text


def test_a_detail_the_entry_states_is_still_answered():
    d = make_dialogue()
    assert (d.handle("a", "绿心公园哪一年开的园").status, d.handle("b", "公租房一共帮了多少户家庭").entry_id) == (
        "answer", "public-rental-households")
    r = d.handle("c", "晚托最晚几点能接孩子")
    assert (r.status, r.entry_id) == ("answer", "luhe-late-care-end-time")


def test_a_follow_up_asking_only_for_a_detail_is_checked_against_the_entry_just_answered():
    d = make_dialogue()
    assert d.handle("f", "城市绿心森林公园什么时候开园").entry_id == "green-heart-opening"
    r = d.handle("f", "那它有多大")
    assert (r.status, r.entry_id) == ("partial", "green-heart-opening") and "面积" in r.text
    assert d.handle("g", "民宿到环球度假区有接送吗").entry_id == "xiji-homestay-shuttle"
    r = d.handle("g", "那要多久")  # stated (10分钟左右): answered
    assert (r.status, r.entry_id) == ("answer", "xiji-homestay-shuttle")


def test_an_entry_picked_from_a_choice_must_state_what_was_asked():
    d = make_dialogue()
    r = d.handle("c", "三大建筑什么时候")
    assert r.status == "clarify"
    picked = d.handle("c", "1")  # a choice that states the date: answered
    assert picked.status == "answer" and picked.entry_id == r.choices[0].entry_id
    r = d.handle("d", "三大建筑什么时候")
    assert r.status == "clarify"
    # A button for an entry that states no date (a stale or another list's button): honest, not a guess.
    pressed = d.answer_entry("d", "three-buildings-what")
    assert pressed.status == "partial" and "具体日期" in pressed.text and "12345" in pressed.text
