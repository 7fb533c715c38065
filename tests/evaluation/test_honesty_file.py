"""The honesty file reader and its figures: shared by the asked-type and the scope checks."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.evaluation.honesty import (
    HonestyFileError,
    HonestyOutcome,
    is_honesty_file,
    parse_honesty,
    summarise_honesty,
)

IDS = {"green-heart-visitors", "public-rental-households"}


def test_all_three_kinds_of_item_are_read():
    items = parse_honesty([
        {"q": "绿心公园有多大", "asks": "size", "topic_of": "green-heart-visitors", "expect": "honest"},
        {"q": "绿心公园门票多少钱要预约吗", "asks": ["money", "procedure"], "expect": "honest"},
        {"q": "朝阳区公租房配租了多少户", "scope": "other", "topic_of": "public-rental-households",
         "expect": "honest"},
        {"q": "副中心公租房配租了多少户", "scope": "in", "faq": "public-rental-households"},
    ], "f.yaml", IDS, {"size", "money", "procedure"})
    assert [i.asks for i in items] == [("size",), ("money", "procedure"), (), ()]
    assert [i.control for i in items] == [False, False, False, True]
    assert items[2].scope == "other" and items[3].faq == "public-rental-households"


def test_every_mistake_is_named_with_its_item():
    with pytest.raises(HonestyFileError) as err:
        parse_honesty([
            {"q": "甲", "asks": "sizes", "expect": "honest"},
            {"q": "乙", "faq": "no-such-entry"},
            {"q": "丙", "expect": "honest", "faq": "green-heart-visitors"},
            {"q": "丁", "scope": "elsewhere", "expect": "honest", "colour": 1},
        ], "f.yaml", IDS, {"size"})
    text = str(err.value)
    assert "item 1 (甲): unknown asked type(s) sizes" in text
    assert "item 2 (乙): `faq` names unknown entry `no-such-entry`" in text
    assert "item 3 (丙): give either" in text
    assert "item 4 (丁): unknown key(s) colour" in text and "`scope` is `in` or `other`" in text


def test_labelled_sets_are_not_mistaken_for_honesty_files():
    assert not is_honesty_file([{"q": "公租房", "faq": "x", "style": "colloquial"}])
    assert is_honesty_file([{"q": "绿心公园有多大", "asks": "size", "expect": "honest"}])


def test_figures_per_asked_type_and_scope():
    items = parse_honesty([
        {"q": "a", "asks": "size", "expect": "honest"},
        {"q": "b", "asks": ["size", "money"], "expect": "honest"},
        {"q": "c", "scope": "other", "expect": "honest"},
        {"q": "d", "asks": "count", "faq": "public-rental-households"},
    ], "f.yaml")
    outcomes = [HonestyOutcome(items[0], "partial", "x"), HonestyOutcome(items[1], "answer", "x"),
                HonestyOutcome(items[2], "clarify", None),
                HonestyOutcome(items[3], "answer", "public-rental-households")]
    s = summarise_honesty(outcomes)
    assert s["honest"] == round(1 / 3, 4) and s["controls_answered"] == 1.0
    assert s["confident_wrong"] == 0.25
    assert s["by_asked_type"]["size"] == {"n": 2, "good": 0.5, "wrong": 0.5, "hedged": 0.0}
    assert s["by_asked_type"]["money"]["wrong"] == 1.0
    assert s["by_scope"]["other"]["hedged"] == 1.0
    assert s["controls_by_asked_type"]["count"]["good"] == 1.0


def test_a_malformed_file_is_one_clear_message(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {q: 甲, expect: honest, faq: nowhere}\n", encoding="utf-8")
    assert main(["eval", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resident-bot: ") and "item 1 (甲)" in err and "Traceback" not in err
    assert main(["eval", "--data", str(tmp_path / "missing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
