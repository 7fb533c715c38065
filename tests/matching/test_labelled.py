"""The labelled set of resident questions: accuracy is deterministic, so it is a fair test.

The floors below are the issue's targets, which today's figures meet (see README), so that a change
that makes the bot worse fails. The shared `matcher` uses the sentence model, as the installed bot does;
the bot without it (SEMANTIC_MODEL=off) is held to its own, lower floor.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluation.baselines import BM25Baseline, WRatioBaseline, baseline_tokenizer, run_baseline
from bot.evaluation.labelled import load_labelled
from bot.evaluation.metrics import summarise
from bot.evaluation.run import evaluate
from bot.matching.matcher import Matcher

HOLDOUT = Path(__file__).resolve().parents[1] / "data" / "holdout_questions.yaml"
HOLDOUT2 = Path(__file__).resolve().parents[1] / "data" / "holdout2_questions.yaml"


@pytest.fixture(scope="module")
def figures(matcher):
    items = load_labelled(known_ids=set(matcher.kb.by_id))
    return items, summarise(evaluate(matcher, items))


def test_labelled_set_is_large_and_varied(figures):
    items, _ = figures
    assert len(items) >= 200
    styles = {i.style for i in items}
    assert styles >= {"colloquial", "traditional", "typo", "follow_up", "out_of_scope", "aspect_gap"}


def test_confident_wrong_answers_are_rare(figures):
    assert figures[1]["confident_wrong"] <= 0.02


def test_out_of_scope_and_missing_details_are_refused(figures):
    assert figures[1]["out_of_scope_rejected"] >= 0.95
    assert figures[1]["aspect_gap_honest"] >= 0.95


def test_answerable_and_follow_ups(figures):
    assert figures[1]["answerable_right"] >= 0.95
    assert figures[1]["follow_ups_right"] >= 0.90


def test_words_alone_still_answer_most_and_never_confidently_wrong(bundled_kb):
    """Without the sentence model (not installed, or SEMANTIC_MODEL=off) the bot keeps working."""
    items = load_labelled(known_ids=set(bundled_kb.by_id))
    figures = summarise(evaluate(Matcher(bundled_kb), items))
    assert figures["answerable_right"] >= 0.92
    assert figures["confident_wrong"] <= 0.02
    assert figures["out_of_scope_rejected"] >= 0.95


def test_at_least_ten_points_above_the_better_baseline(matcher, figures):
    items, ours = figures
    names = baseline_tokenizer(matcher.lexicon)
    for baseline in (WRatioBaseline(matcher.kb), BM25Baseline(matcher.kb, tokenizer=names)):
        _t, outcomes = run_baseline(baseline, items)
        theirs = summarise(outcomes)
        assert ours["answerable_right"] - theirs["answerable_right"] >= 0.10
        assert ours["confident_wrong"] <= theirs["confident_wrong"]


def test_second_hold_out_set_as_first_measured(matcher):
    """Written after every constant of m3e-small was chosen and measured once (README): lower than the
    tuned sets on answerable questions, which is the honest estimate. Floors at the default model's first
    figure (e5-small 95.3%; m3e-small gave 92.2%)."""
    items = load_labelled(HOLDOUT2, known_ids=set(matcher.kb.by_id))
    figures = summarise(evaluate(matcher, items))
    assert figures["answerable_right"] >= 0.95
    assert figures["confident_wrong"] <= 0.02
    assert figures["out_of_scope_rejected"] >= 0.95
    assert figures["follow_ups_right"] >= 0.90


def test_held_out_questions_do_as_well(matcher):
    """The hold-out set was written after the word-matching weights and thresholds were chosen; its
    figures were seen while m3e-small's constants were chosen, not e5-small's (README). e5-small answers
    one of its twelve out-of-scope questions (通州哪里可以办身份证 → 跨省通办): held at that measurement."""
    items = load_labelled(HOLDOUT, known_ids=set(matcher.kb.by_id))
    assert len(items) >= 90
    figures = summarise(evaluate(matcher, items))
    assert figures["confident_wrong"] <= 0.02
    assert figures["out_of_scope_rejected"] >= 0.9
    assert figures["answerable_right"] >= 0.95
    assert figures["follow_ups_right"] >= 0.90
