"""Choose a sentence model's `MeaningScale` (bot/matching/rank.py) by a sweep on the labelled set and on
leave-one-out, never on the hold-out sets.

Usage:
    .venv/bin/python benchmarks/meaning_sweep.py MODEL [--grid JSON] [--top 15] [--out FILE.json]

MODEL is a SEMANTIC_MODEL value (use-multilingual, e5-small, m3e-small, or a directory). The grid maps
each of floor, width (full - floor), lead, detail_floor, detail_width to a list of values; the default
grid is centred on where the model puts the right entry and the best other one for labelled questions
(printed first). Every setting is scored on the labelled set (`resident-bot eval`) and on
`benchmarks/leave_one_out.py`'s two measurements; settings with a confident wrong answer on the labelled
set, or under 95% out-of-scope rejected, are dropped; the rest are ranked by

    right + out-of-scope + follow-ups  (labelled)  +  ½ (left-out right − left-out wrong − entry-left-out answered)

Questions whose words are clear never ask the model, so each is decided once; only the others are
decided again per setting (a few hundred settings take minutes, most of it building ~700 matchers once).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from leave_one_out import without_entry, without_question

from bot.config import load_settings
from bot.evaluation.labelled import load_labelled
from bot.evaluation.metrics import Outcome, summarise
from bot.evaluation.run import decide
from bot.knowledge.loader import load_knowledge
from bot.matching.matcher import Matcher
from bot.matching.rank import MeaningScale
from bot.semantic.model import shared_embedder


def centred_grid(matcher: Matcher, items: list) -> dict[str, list[float]]:
    """Cosine of each labelled question to its right entry and to the best other one: the grid spans them."""
    faq = [d for d in matcher.docs if d.kind == "faq"]
    keys = [d.key for d in faq]
    vectors = matcher._knowledge.array()[:matcher._question_count]
    right, other = [], []
    for it in items:
        if not it.faq or it.style == "follow_up":
            continue
        sims = vectors @ matcher.embedder.vector(matcher.normalise(it.question).text)
        best = np.array([sims[slice(*matcher._rows[i])].max() for i in range(len(faq))])
        k = keys.index(it.faq)
        right.append(best[k])
        other.append(np.delete(best, k).max())
    r50, o50 = float(np.median(right)), float(np.median(other))
    gap = r50 - o50
    print(f"cosine to the right entry: median {r50:.3f}; to the best other: median {o50:.3f}")
    return {"floor": [round(o50 + f * gap, 3) for f in (-0.5, 0.0, 0.5, 1.0)],
            "width": [round(f * gap, 3) for f in (1.0, 2.0, 3.0)],
            "lead": [round(f * gap, 3) for f in (0.1, 0.25, 0.5, 1.0)],
            "detail_floor": [round(o50 + f * gap, 3) for f in (-1.0, -0.5, 0.0, 0.5)],
            "detail_width": [round(f * gap, 3) for f in (1.0, 2.0)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--grid", type=json.loads, default=None)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    settings = load_settings()
    embedder = shared_embedder(args.model, settings.cache_dir, settings.numeric_threads)
    if embedder is None:
        print(f"SEMANTIC_MODEL={args.model}: no model")
        return 1
    kb = load_knowledge(settings.knowledge_dir, settings.intents_dir)
    items = load_labelled(None, set(kb.by_id))
    main_matcher = Matcher(kb, embedder=embedder)
    grid = args.grid or centred_grid(main_matcher, items)
    started = time.perf_counter()
    loo = []  # (matcher, question, "entry" | "question", entry id)
    for entry in kb.entries:
        thinner = Matcher(without_entry(kb, entry.id), embedder=embedder)
        loo += [(thinner, q, "entry", entry.id) for q in entry.questions]
        if len(entry.questions) > 1:
            loo += [(Matcher(without_question(kb, entry.id, q), embedder=embedder), q, "question", entry.id)
                    for q in entry.questions]
    matchers = [main_matcher, *{id(m): m for m, *_ in loo}.values()]

    asked = [False]
    original = Matcher._with_meaning

    def flagged(self, *a, **k):
        asked[0] = True
        return original(self, *a, **k)

    Matcher._with_meaning = flagged  # which questions ever reach the model: only they are decided again
    fixed_items, fixed_loo = {}, {}
    for i, it in enumerate(items):
        asked[0] = False
        d = decide(main_matcher, it)
        if not asked[0]:
            fixed_items[i] = Outcome(it, d.status, d.entry_id, d.intent_id, d.score)
    for i, (m, q, _kind, _e) in enumerate(loo):
        asked[0] = False
        d = m.match(q)
        if not asked[0]:
            fixed_loo[i] = d
    Matcher._with_meaning = original
    print(f"{len(matchers)} matchers in {time.perf_counter() - started:.0f} s; labelled {len(items)} "
          f"({len(items) - len(fixed_items)} ask the model), leave-one-out {len(loo)} ({len(loo) - len(fixed_loo)})")

    results = []
    names = list(grid)
    for combo in itertools.product(*(grid[n] for n in names)):
        c = dict(zip(names, combo, strict=True))
        scale = MeaningScale(floor=c["floor"], full=round(c["floor"] + c["width"], 4), lead=c["lead"],
                             detail_floor=c["detail_floor"],
                             detail_full=round(c["detail_floor"] + c["detail_width"], 4))
        for m in matchers:
            m._scale = scale
        outcomes = []
        for i, it in enumerate(items):
            if i in fixed_items:
                outcomes.append(fixed_items[i])
            else:
                d = decide(main_matcher, it)
                outcomes.append(Outcome(it, d.status, d.entry_id, d.intent_id, d.score))
        s = summarise(outcomes)
        q_right = q_wrong = q_n = e_wrong = e_n = 0
        for i, (m, q, kind, entry_id) in enumerate(loo):
            d = fixed_loo[i] if i in fixed_loo else m.match(q)
            answered = d.status == "answer"
            if kind == "entry":
                e_wrong += answered
                e_n += 1
            else:
                q_right += answered and d.entry_id == entry_id
                q_wrong += answered and d.entry_id != entry_id
                q_n += 1
        results.append({"scale": asdict(scale),
                        "right": s["answerable_right"], "wrong": s["confident_wrong"],
                        "oos": s["out_of_scope_rejected"], "follow_ups": s["follow_ups_right"],
                        "q_right": q_right / q_n, "q_wrong": q_wrong / q_n, "e_wrong": e_wrong / e_n})
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))

    def value(r: dict) -> float:
        return r["right"] + r["oos"] + r["follow_ups"] + 0.5 * (r["q_right"] - r["q_wrong"] - r["e_wrong"])

    kept = sorted((r for r in results if r["wrong"] == 0 and r["oos"] >= 0.95), key=value, reverse=True)
    print(f"{len(results)} settings in {time.perf_counter() - started:.0f} s; {len(kept)} without a confident "
          f"wrong answer on the labelled set\n")
    print(f"{'floor':>6} {'full':>6} {'lead':>6} {'d.floor':>7} {'d.full':>7} | {'right':>6} {'wrong':>6} "
          f"{'oos':>6} {'f-ups':>6} | {'LOO right':>9} {'wrong':>6} {'entry':>6} | value")
    for r in kept[:args.top]:
        sc = r["scale"]
        print(f"{sc['floor']:6.3f} {sc['full']:6.3f} {sc['lead']:6.3f} {sc['detail_floor']:7.3f} "
              f"{sc['detail_full']:7.3f} | {r['right']:6.1%} {r['wrong']:6.1%} {r['oos']:6.1%} "
              f"{r['follow_ups']:6.1%} | {r['q_right']:9.1%} {r['q_wrong']:6.1%} {r['e_wrong']:6.1%} | {value(r):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
