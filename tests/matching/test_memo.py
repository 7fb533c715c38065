"""Remembered decisions (bot/matching/memo.py) are the decisions the matcher would make again: for every
question of every labelled and hold-out set, after no answer, after its own context and after other
entries; and a reload with changed knowledge never serves a decision of the old one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.dialogue.context import MemoryContextStore
from bot.dialogue.engine import Dialogue
from bot.evaluation.labelled import load_labelled
from bot.evaluation.run import decide
from bot.live import LiveKnowledge
from bot.matching.decision import Thresholds
from bot.matching.matcher import Matcher
from bot.matching.memo import DecisionMemo
from tests.auxil.dialogue import ListRecorder
from tests.auxil.kb import BUNDLED, INTENTS

DATA = Path(__file__).resolve().parents[1] / "data"
SETS = sorted(DATA.glob("*.yaml"))


def items(path: Path) -> list[tuple[str, str | None]]:
    """(question, context message or None) of every item of a labelled, hold-out or development set."""
    return [(str(it["q"]), it.get("context")) for it in yaml.safe_load(path.read_text(encoding="utf-8"))]


def previous_of(matcher: Matcher, context: str | None) -> str | None:
    if context is None:
        return None
    first = matcher.decide(context)
    return first.entry_id if first.status in ("answer", "partial") else None


@pytest.fixture(scope="module")
def words(bundled_kb):
    """Words only: a tenth of the sentence model's cost per question, so every set is asked after several
    previous entries."""
    return Matcher(bundled_kb)


def test_every_set_is_covered():
    assert len(SETS) >= 11 and DATA / "labelled_questions.yaml" in SETS
    assert sum(len(items(p)) for p in SETS) > 1500


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.stem)
def test_remembered_decisions_are_the_computed_ones_after_any_previous_entry(words, path):
    entries = [e.id for e in words.kb.entries]
    for i, (question, context) in enumerate(items(path)):
        own = previous_of(words, context)
        words.match(question)  # remembered after no answer: a standalone question is kept for every context
        for previous in dict.fromkeys([None, own, entries[i % len(entries)], entries[(7 * i + 3) % len(entries)]]):
            expected = words.decide(question, previous)
            assert words.match(question, previous) == expected, (question, previous)
            assert words.match(question, previous) == expected, (question, previous)  # now from the memo


@pytest.mark.parametrize("name", ["labelled_questions", "holdout_questions", "holdout2_questions"])
def test_with_the_sentence_model_the_memo_changes_no_decision(matcher, name):
    path = DATA / f"{name}.yaml"
    labelled = load_labelled(path, known_ids=set(matcher.kb.by_id))
    for item in labelled:
        previous = previous_of(matcher, item.context)
        expected = matcher.decide(item.question, previous)
        assert decide(matcher, item) == expected, item.question
        assert decide(matcher, item) == expected, item.question


def test_a_follow_up_is_remembered_per_previous_entry(words):
    after_tianjin = words.match("和滨海新区跨省通办多少项").entry_id
    follow_up = words.match("那廊坊呢", after_tianjin)
    alone = words.match("那廊坊呢")
    assert follow_up.follow_up and follow_up.entry_id != after_tianjin
    assert alone != follow_up
    assert words.match("那廊坊呢", after_tianjin) is follow_up  # remembered for that previous entry only


def test_the_memo_is_bounded_and_forgets_the_least_recently_used():
    memo = DecisionMemo(size=2)
    d1, d2, d3 = (object() for _ in range(3))
    memo.keep("words", "a", None, d1, True)  # type: ignore[arg-type]
    memo.keep("words", "b", None, d2, True)  # type: ignore[arg-type]
    assert memo.recall("words", "a", "x") is d1  # a context-free decision serves every previous entry
    memo.keep("words", "c", None, d3, True)  # type: ignore[arg-type]
    assert len(memo) == 2 and memo.recall("words", "b", None) is None and memo.recall("words", "a", None) is d1
    assert memo.recall("meaning", "a", None) is None  # another state of the sentence model misses


def test_a_decision_kept_after_one_entry_is_not_given_after_another():
    memo = DecisionMemo()
    d = object()
    memo.keep("words", "那廊坊呢", "e1", d, False)  # type: ignore[arg-type]
    assert memo.recall("words", "那廊坊呢", "e1") is d
    assert memo.recall("words", "那廊坊呢", "e2") is None and memo.recall("words", "那廊坊呢", None) is None


OLD, NEW = "预计2024年竣工通车。", "预计2025年竣工通车。"


def test_a_reload_with_changed_knowledge_serves_no_remembered_answer(tmp_path):
    shutil.copytree(BUNDLED, tmp_path / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "intents")
    live = LiveKnowledge(tmp_path / "knowledge", tmp_path / "intents")
    dialogue = Dialogue(live, MemoryContextStore(), ListRecorder())
    for _ in range(3):  # remembered by the first
        assert OLD in dialogue.handle("c", "厂通路哪年通车").text
    path = tmp_path / "knowledge" / "transport.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(OLD, NEW, 1), encoding="utf-8")
    live.reload()
    reply = dialogue.handle("c", "厂通路哪年通车")
    assert NEW in reply.text and OLD not in reply.text


def test_other_thresholds_are_not_served_decisions_made_with_the_old_ones(bundled_kb):
    """`eval --tune` tries many thresholds on one matcher."""
    m = Matcher(bundled_kb)
    before = m.match("厂通路哪年通车")
    m.thresholds = Thresholds(answer=0.99, margin=5.0, clarify=0.98)
    after = m.match("厂通路哪年通车")
    assert before.status == "answer" and after.status == "fallback" and after == m.decide("厂通路哪年通车")
