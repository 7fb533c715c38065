"""The sealed honesty hold-outs of issue 15 (details not stated, other places), as first measured.

Written by an independent writer from the knowledge base and the issue's design, sealed until the design
was fixed, and measured once (figures in each file's header and in the README). These floors sit a little
below that measurement: they catch a change that makes the bot confidently wrong more often on questions
nobody tuned on. Never copy these questions into knowledge/*.yaml or cue lists; write a new set instead.
"""

from __future__ import annotations

from bot.evaluation.honesty import load_honesty, summarise_honesty
from bot.evaluation.run import evaluate_honesty
from tests.auxil.kb import ROOT

DATA = ROOT / "tests" / "data"


def _summary(matcher, name: str) -> dict:
    items = load_honesty(DATA / name, known_ids=[e.id for e in matcher.kb.entries])
    return summarise_honesty(evaluate_honesty(matcher, items))


def test_details_not_stated_as_first_measured(matcher):
    summary = _summary(matcher, "holdout_details.yaml")
    assert summary["not_stated"] >= 200
    # 2026-11-29: 78.5% honest, 18.2% confidently wrong.
    assert summary["honest"] >= 0.76, summary["misses"]
    assert summary["not_stated_wrong"] <= 0.21, summary["misses"]


def test_other_places_as_first_measured_and_in_scope_controls_answered(matcher):
    summary = _summary(matcher, "holdout_scope.yaml")
    assert summary["not_stated"] >= 100 and summary["controls"] >= 40
    # 2026-11-29: 87.1% honest on other places, 91.7% of the controls answered with their entry.
    assert summary["honest"] >= 0.84, summary["misses"]
    assert summary["controls_answered"] >= 0.89, summary["misses"]


def test_details_not_stated_of_the_third_sealed_set_as_first_measured(matcher):
    summary = _summary(matcher, "holdout_details3.yaml")
    assert summary["not_stated"] >= 230
    # 2026-11-29 at 1f9c829: 77.9% honest, 20.4% confidently wrong.
    assert summary["honest"] >= 0.75, summary["misses"]
    assert summary["not_stated_wrong"] <= 0.23, summary["misses"]


def test_other_places_of_the_third_sealed_set_as_first_measured_and_its_controls_answered(matcher):
    summary = _summary(matcher, "holdout_scope3.yaml")
    assert summary["not_stated"] >= 130 and summary["controls"] >= 60
    # 2026-11-29 at 1f9c829: 84.6% honest on other places, 95.6% of the controls answered with their entry.
    assert summary["honest"] >= 0.82, summary["misses"]
    assert summary["controls_answered"] >= 0.93, summary["misses"]


def test_details_not_stated_of_the_fourth_sealed_set_as_first_measured(matcher):
    summary = _summary(matcher, "holdout_details4.yaml")
    assert summary["not_stated"] >= 230
    # 2026-11-29 at e6bfea7: 79.1% honest, 20.5% confidently wrong.
    assert summary["honest"] >= 0.77, summary["misses"]
    assert summary["not_stated_wrong"] <= 0.23, summary["misses"]


def test_other_places_of_the_fourth_sealed_set_as_first_measured_and_its_controls_answered(matcher):
    summary = _summary(matcher, "holdout_scope4.yaml")
    assert summary["not_stated"] >= 120 and summary["controls"] >= 50
    # 2026-11-29 at e6bfea7: 90.6% honest on other places, 96.5% of the controls answered with their entry.
    assert summary["honest"] >= 0.88, summary["misses"]
    assert summary["controls_answered"] >= 0.94, summary["misses"]
