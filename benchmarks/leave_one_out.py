"""Stress test of the matcher on its own knowledge base: questions it has never seen, and topics it lacks.

Usage:
    .venv/bin/python benchmarks/leave_one_out.py [--knowledge DIR]

Two measurements, each beside the two baselines of `resident-bot eval` (at their best threshold on the
labelled set, found in the same run):

- question left out: each question of each entry is removed from that entry (which keeps its other
  questions) and then asked. Right = answered with that entry.
- entry left out: each entry is removed whole and its questions are asked. Any answer is a confident
  wrong one: the knowledge base no longer holds it. These are the hardest out-of-scope questions there
  are, because a sibling entry (厂通路 开工 / 通车) usually shares the subject and differs only in the detail.

The labelled sets measure residents' wordings; this measures how the decision holds up when the
knowledge base is thinner than the question, which is what happens between an event and an
administrator's edit. It rebuilds the matcher once per question (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.evaluation.baselines import BM25Baseline, WRatioBaseline, baseline_tokenizer, run_baseline
from bot.evaluation.labelled import load_labelled
from bot.knowledge.loader import load_knowledge
from bot.knowledge.schema import KnowledgeBase
from bot.matching.matcher import Matcher
from bot.semantic.model import embedder_for


def without_entry(kb: KnowledgeBase, entry_id: str) -> KnowledgeBase:
    return replace(kb, entries=tuple(e for e in kb.entries if e.id != entry_id))


def without_question(kb: KnowledgeBase, entry_id: str, question: str) -> KnowledgeBase:
    entries = tuple(replace(e, questions=tuple(q for q in e.questions if q != question)) if e.id == entry_id
                    else e for e in kb.entries)
    return replace(kb, entries=entries)


def matcher_figures(kb: KnowledgeBase, settings, embedder) -> dict[str, float]:
    """The three measurements for resident-bot alone (benchmarks/sentence_models.py compares models)."""
    hits = {"q_right": 0, "q_wrong": 0, "e_wrong": 0}
    asked = {"q": 0, "e": 0}

    def matcher(k: KnowledgeBase) -> Matcher:
        return Matcher(k, settings.thresholds, max_chars=settings.max_message_chars, embedder=embedder)

    for entry in kb.entries:
        thinner = matcher(without_entry(kb, entry.id))
        for q in entry.questions:
            hits["e_wrong"] += thinner.match(q).status == "answer"
            asked["e"] += 1
        if len(entry.questions) < 2:
            continue
        for q in entry.questions:
            d = matcher(without_question(kb, entry.id, q)).match(q)
            hits["q_right"] += d.status == "answer" and d.entry_id == entry.id
            hits["q_wrong"] += d.status == "answer" and d.entry_id != entry.id
            asked["q"] += 1
    return {k: v / asked[k[0]] for k, v in hits.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--knowledge", type=Path, default=None)
    args = parser.parse_args()
    settings = load_settings()
    kb = load_knowledge(args.knowledge or settings.knowledge_dir, settings.intents_dir)
    labelled = load_labelled(None, set(kb.by_id))
    names = baseline_tokenizer(Matcher(kb).lexicon)
    thresholds = {b.name: run_baseline(b, labelled)[0] for b in (WRatioBaseline(kb), BM25Baseline(kb, tokenizer=names))}
    systems = ["resident-bot", *thresholds]
    # counts[system][measure] = [hits, total]
    counts = {s: {"q_right": [0, 0], "q_wrong": [0, 0], "e_wrong": [0, 0]} for s in systems}

    def tally(system: str, measure: str, hit: bool) -> None:
        counts[system][measure][0] += hit
        counts[system][measure][1] += 1

    embedder = embedder_for(settings)
    started = time.perf_counter()
    for entry in kb.entries:
        thinner = without_entry(kb, entry.id)
        matcher = Matcher(thinner, settings.thresholds, max_chars=settings.max_message_chars, embedder=embedder)
        baselines = [WRatioBaseline(thinner), BM25Baseline(thinner, tokenizer=baseline_tokenizer(matcher.lexicon))]
        for q in entry.questions:
            tally("resident-bot", "e_wrong", matcher.match(q).status == "answer")
            for b in baselines:
                tally(b.name, "e_wrong", b.best(q)[1] >= thresholds[b.name])
        if len(entry.questions) < 2:
            continue
        for q in entry.questions:
            thinner = without_question(kb, entry.id, q)
            thin_matcher = Matcher(thinner, settings.thresholds, max_chars=settings.max_message_chars,
                                   embedder=embedder)
            d = thin_matcher.match(q)
            answered = d.status == "answer"
            tally("resident-bot", "q_right", answered and d.entry_id == entry.id)
            tally("resident-bot", "q_wrong", answered and d.entry_id != entry.id)
            names = baseline_tokenizer(thin_matcher.lexicon)
            for b in (WRatioBaseline(thinner), BM25Baseline(thinner, tokenizer=names)):
                best, score = b.best(q)
                answered = best is not None and score >= thresholds[b.name]
                tally(b.name, "q_right", answered and best == entry.id)
                tally(b.name, "q_wrong", answered and best != entry.id)
    elapsed = time.perf_counter() - started

    rows = [("question left out: right", "q_right"), ("question left out: wrong", "q_wrong"),
            ("entry left out: answered (wrong)", "e_wrong")]
    print(f"knowledge base {kb.version}: {len(kb.entries)} entries, {kb.question_count} questions; "
          f"{elapsed:.0f} s; sentence model: {'on' if embedder else 'off (SEMANTIC_MODEL)'}")
    print(f"{'':34}" + "".join(f"{s:>30}" for s in systems))
    for label, key in rows:
        cells = "".join(f"{100 * h / n if n else 0:29.1f}%" for h, n in (counts[s][key] for s in systems))
        print(f"{label:34}{cells}")
    cells = "".join(f"{t:30.2f}" for t in thresholds.values())
    print(f"{'baseline threshold (labelled set)':34}{'config':>30}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
