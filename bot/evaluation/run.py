"""`resident-bot eval`: the matcher and two baselines on the labelled set, in one run."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import yaml

from bot.config import Settings, load_settings
from bot.evaluation.baselines import BM25Baseline, WRatioBaseline, baseline_tokenizer, run_baseline
from bot.evaluation.honesty import (
    HonestyItem,
    HonestyOutcome,
    is_honesty_file,
    load_honesty,
    render_honesty,
    summarise_honesty,
)
from bot.evaluation.labelled import Labelled, load_labelled
from bot.evaluation.metrics import Outcome, summarise
from bot.knowledge.loader import load_knowledge
from bot.knowledge.schema import KnowledgeBase
from bot.matching.decision import Decision, Thresholds
from bot.matching.matcher import Matcher
from bot.semantic.model import embedder_for

TARGETS = {"answerable_right": 0.95, "confident_wrong": 0.02, "out_of_scope_rejected": 0.95,
           "follow_ups_right": 0.90}


def decide(matcher: Matcher, item: Labelled | HonestyItem) -> Decision:
    """The matcher's decision on a labelled question, after its context message when it has one."""
    previous = None
    if item.context:
        first = matcher.match(item.context)
        previous = first.entry_id if first.status in ("answer", "partial") else None
    return matcher.match(item.question, previous)


def evaluate(matcher: Matcher, items: list[Labelled]) -> list[Outcome]:
    outcomes = []
    for it in items:
        d = decide(matcher, it)
        outcomes.append(Outcome(it, d.status, d.entry_id, d.intent_id, d.score))
    return outcomes


def evaluate_honesty(matcher: Matcher, items: list[HonestyItem]) -> list[HonestyOutcome]:
    outcomes = []
    for it in items:
        d = decide(matcher, it)
        outcomes.append(HonestyOutcome(it, d.status, d.entry_id, d.score))
    return outcomes


def search_thresholds(matcher: Matcher, items: list[Labelled]) -> tuple[Thresholds, dict[str, object]]:
    """Thresholds that maximise right answers while keeping confident wrong answers rare."""
    best: tuple[float, Thresholds, dict[str, object]] | None = None
    for answer, margin, clarify in itertools.product((0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7),
                                                     (0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
                                                     (0.15, 0.2, 0.25, 0.3, 0.35, 0.4)):
        if clarify >= answer:
            continue
        matcher.thresholds = Thresholds(answer=answer, margin=margin, clarify=clarify)
        s = summarise(evaluate(matcher, items))
        value = (s["answerable_right"] + s["out_of_scope_rejected"] + s["follow_ups_right"]
                 - 5 * s["confident_wrong"])
        if best is None or value > best[0]:
            best = (value, matcher.thresholds, s)
    assert best is not None
    return best[1], best[2]


def run_eval(data: Path | None, *, as_json: bool = False, tune: bool = False) -> int:
    settings = load_settings()
    kb = load_knowledge(settings.knowledge_dir, settings.intents_dir)
    if data is not None and is_honesty_file(yaml.safe_load(data.read_text(encoding="utf-8"))):
        return run_honesty_eval(data, kb, settings, as_json=as_json)
    items = load_labelled(data, set(kb.by_id))
    matcher = Matcher(kb, settings.thresholds, max_chars=settings.max_message_chars, embedder=embedder_for(settings))
    report: dict[str, object] = {"knowledge_version": kb.version, "thresholds": vars_of(matcher.thresholds),
                                 "sentence_model": f"{matcher.embedder.name} ({matcher.embedder.choice.title})"
                                 if matcher.embedder else "off"}
    if tune:
        found, figures = search_thresholds(matcher, items)
        report["tuned_thresholds"] = vars_of(found)
        report["tuned_figures"] = figures
        matcher.thresholds = settings.thresholds
    started = time.perf_counter()
    ours = summarise(evaluate(matcher, items))
    ours["ms_per_question"] = round((time.perf_counter() - started) * 1000 / len(items), 3)
    report["resident-bot"] = ours
    for baseline in (WRatioBaseline(kb), BM25Baseline(kb, tokenizer=baseline_tokenizer(matcher.lexicon))):
        threshold, outcomes = run_baseline(baseline, items)
        report[baseline.name] = summarise(outcomes) | {"threshold": threshold}
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render(report))
    return 0


def run_honesty_eval(data: Path, kb: KnowledgeBase, settings: Settings, *, as_json: bool = False) -> int:
    """An honesty file (bot.evaluation.honesty): honest replies per asked type, and controls answered."""
    items = load_honesty(data, set(kb.by_id), asked_kind_ids(kb))
    matcher = Matcher(kb, settings.thresholds, max_chars=settings.max_message_chars, embedder=embedder_for(settings))
    model = f"{matcher.embedder.name} ({matcher.embedder.choice.title})" if matcher.embedder else "off"
    summary = summarise_honesty(evaluate_honesty(matcher, items))
    if as_json:
        print(json.dumps({"knowledge_version": kb.version, "sentence_model": model, "data": str(data)} | summary,
                         ensure_ascii=False, indent=2))
    else:
        print(render_honesty(summary, f"honesty questions: {len(items)} ({data.name}), knowledge base "
                                      f"{kb.version}, sentence model: {model}"))
    return 0


def asked_kind_ids(kb: KnowledgeBase) -> set[str]:
    """The asked types an honesty file may name: the knowledge base's aspects (knowledge/aspects.yaml)."""
    return {a.id for a in kb.aspects}


def vars_of(t: Thresholds) -> dict[str, float]:
    return {"answer": t.answer, "margin": t.margin, "clarify": t.clarify, "nearby": t.nearby}


def render(report: dict[str, object]) -> str:
    systems = ["resident-bot", "rapidfuzz extractOne WRatio", "BM25 over jieba words"]
    rows = [("answerable right", "answerable_right"), ("confident wrong", "confident_wrong"),
            ("out of scope rejected", "out_of_scope_rejected"), ("aspect gap honest", "aspect_gap_honest"),
            ("follow-ups right", "follow_ups_right")]
    ours = report["resident-bot"]
    lines = [f"labelled questions: {ours['questions']}, knowledge base {report['knowledge_version']}, "
             f"sentence model: {report['sentence_model']}", ""]
    lines.append(f"{'':24}" + "".join(f"{s:>30}" for s in systems) + f"{'target':>10}")
    for label, key in rows:
        cells = "".join(f"{report[s][key] * 100:29.1f}%" for s in systems)
        target = TARGETS.get(key)
        sign = "≤" if key == "confident_wrong" else "≥"
        lines.append(f"{label:24}{cells}{(sign + format(target * 100, '.0f') + '%') if target else '':>10}")
    lines.append(f"{'threshold':24}{'config':>30}" + "".join(f"{report[s]['threshold']:30.2f}" for s in systems[1:]))
    lines.append("")
    lines.append("by style (resident-bot)    n   right   wrong")
    for style, f in ours["by_style"].items():
        lines.append(f"  {style:22}{f['n']:5}{f['right'] * 100:7.1f}%{f['wrong'] * 100:7.1f}%")
    lines.append(f"statuses: {ours['statuses']}; {ours['ms_per_question']} ms per question")
    if "tuned_thresholds" in report:
        lines.append(f"tuned thresholds: {report['tuned_thresholds']} → "
                     f"right {report['tuned_figures']['answerable_right']:.3f}, "
                     f"wrong {report['tuned_figures']['confident_wrong']:.3f}, "
                     f"oos {report['tuned_figures']['out_of_scope_rejected']:.3f}, "
                     f"follow-ups {report['tuned_figures']['follow_ups_right']:.3f}")
    return "\n".join(lines)

