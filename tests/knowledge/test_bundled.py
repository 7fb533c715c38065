"""The bundled knowledge base: complete, sourced, clean, and exported faithfully."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from bot.cli import main
from bot.knowledge.lint import lint
from bot.knowledge.loader import load_knowledge, question_key
from tests.auxil.kb import BUNDLED, make_kb


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(BUNDLED)


def test_size_and_shape(kb):
    assert 50 <= len(kb.entries) <= 80
    assert len(kb.topics) >= 10
    for e in kb.entries:
        assert len(e.questions) - 1 >= 4, e.id
        assert 10 <= len(e.answer) <= 300, e.id


def test_every_quote_occurs_in_the_source_article(kb):
    article = question_key(kb.sources_text)
    assert "厂通路预计2024年竣工通车" in kb.sources_text
    missing = [e.id for e in kb.entries if question_key(e.source.quote) not in article]
    assert missing == []


def test_written_in_clean_simplified_chinese(kb):
    warnings = [p.message for p in lint(kb) if "traditional" in p.message or "pinyin in brackets" in p.message]
    assert warnings == []
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùü]+\)", kb.sources_text)


def test_key_facts_are_answered_with_their_numbers(kb):
    facts = {
        "changtong-road-opening": "2024",
        "luhe-late-care-end-time": "19:20",
        "public-rental-households": "1600",
        "cross-province-binhai": "56",
        "cross-province-baodi": "50",
        "regional-langfang": "453",
        "one-key-call-total": "11341",
        "xiji-homestay-shuttle": "10分钟",
        "green-heart-visitors": "380万",
        "xiji-homestays-planned": "16",
    }
    for entry_id, number in facts.items():
        assert number in kb.by_id[entry_id].answer, entry_id


def test_forecasts_carry_an_expiry(kb):
    for entry_id in ("changtong-road-opening", "three-buildings-opening", "three-buildings-completion"):
        assert kb.by_id[entry_id].expires is not None


def test_kb_check_passes_with_a_summary(capsys):
    assert main(["kb", "check"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    version = r"version [0-9a-f]{12}( \(git \w+(\+changes)?\))?"
    assert re.match(rf"OK: \d+ entries, \d+ questions, \d+ topics, 6 intents, {version}; 0 error", out[-1])


def test_kb_check_fails_on_a_broken_copy(tmp_path, capsys):
    kdir = make_kb(tmp_path, {"a.yaml": "- id: x\n  topic: [\n"})
    assert main(["kb", "check", str(kdir)]) == 1
    out = capsys.readouterr().out
    assert "a.yaml:3:1: error: YAML syntax error" in out
    assert out.strip().splitlines()[-1].startswith("FAILED: 1 error(s)")


def test_export_round_trip(kb, capsys, tmp_path):
    assert main(["kb", "export", "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in exported] == [e.id for e in kb.entries]
    assert exported[0]["source"]["date"] == "2021-12-28"
    # Written back as YAML, the export loads into the same entries.
    kdir = make_kb(tmp_path, {"all.yaml": yaml.safe_dump(exported, allow_unicode=True)})
    again = load_knowledge(kdir)
    assert [e.to_dict() for e in again.entries] == [e.to_dict() for e in kb.entries]


def test_list_and_show(capsys):
    assert main(["kb", "list"]) == 0
    listing = capsys.readouterr().out
    assert "luhe-late-care-end-time" in listing and "课后服务" in listing
    assert main(["kb", "show", "luhe-late-care-end-time"]) == 0
    shown = capsys.readouterr().out
    assert "19:20" in shown and "原文：" in shown
    assert main(["kb", "show", "luhe-late-care"]) == 1
    assert "did you mean" in capsys.readouterr().err


def test_the_readmes_administrator_example_still_hesitates_and_names_the_right_entry():
    """The README walks an administrator through fixing a question the bot hesitates on: that question must
    still get a choice today (not an answer, which would make the example a no-op), between the entries
    the README names, and the file it points to must hold the entry to edit."""
    from tests.auxil.dialogue import make_dialogue

    readme = (BUNDLED.parent / "README.md").read_text(encoding="utf-8")
    m = re.search(r"residents ask\s+“(.+?)”\s+and the bot hesitated\s+between\s+`([a-z0-9-]+)`\s+and\s+`([a-z0-9-]+)`"
                  r".*?under `questions:` of\s+`([a-z0-9-]+)`\s+in\s+`(knowledge/[a-z-]+\.yaml)`", readme, re.S)
    assert m, "the README's administrator example is missing or reworded"
    question, first, second, target, path = m.groups()
    reply = make_dialogue().handle("readme", question)
    assert reply.status == "clarify" and {first, second} <= {c.entry_id for c in reply.choices}, reply.text
    assert target in (first, second) and f"- id: {target}\n" in (BUNDLED.parent / path).read_text(encoding="utf-8")
