"""The stored index alone at large sizes: build, store, load and recall, without the rest of a start.

Usage:
    .venv/bin/python benchmarks/index_scale.py [--sizes 100000] [--queries 200]

`benchmarks/knowledge_scale.py` times whole starts; at 100,000 entries one cold start takes many minutes on
2 cores, so this script times the parts this repository's index is made of, in one process, on the same
recombined knowledge base: reading the YAML (first and remembered), building the index cold, writing it,
loading it, a reload after one entry's edit, and recall + rerank per question (`Matcher.rank`, the words'
part of a reply). CPU seconds (this process) beside wall seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from knowledge_scale import write_kb  # noqa: E402

from bot.evaluation.labelled import load_labelled  # noqa: E402
from bot.knowledge.loader import check_knowledge, load_knowledge  # noqa: E402
from bot.matching.build import build_index, fingerprint  # noqa: E402
from bot.matching.normalise import Normaliser  # noqa: E402
from bot.matching.rank import Query  # noqa: E402
from bot.matching.stored import IndexStore  # noqa: E402


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def measure(size: int, bundled, questions: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kdir, idir = write_kb(bundled, size, Path(tmp))
        cache = Path(tmp) / "cache"
        (kb, _p), w1, c1 = timed(lambda: check_knowledge(kdir, idir, cache_dir=cache))
        (kb, _p), w2, c2 = timed(lambda: check_knowledge(kdir, idir, cache_dir=cache))
        norm = Normaliser(kb)
        built, w3, c3 = timed(lambda: build_index(kb, norm))
        store = IndexStore(cache)
        path, w4, c4 = timed(lambda: store.save(kb, built))
        loaded, w5, c5 = timed(lambda: store.load(kb, fingerprint(kb, norm)))
        e = kb.entries[0]
        edited = replace(kb, entries=(replace(e, answer=e.answer + "（已更新）"), *kb.entries[1:]))
        again, w6, c6 = timed(lambda: build_index(edited, norm, (kb, loaded)))
        index, tok, lexicon = loaded.index, loaded.tokenizer, loaded.lexicon
        walls, cpus = [], []
        for q in questions:
            text = norm(q).text
            w, c = time.perf_counter(), time.thread_time()
            index.search(text, 40)
            Query.of(text, lexicon, tok, index)
            cpus.append((time.thread_time() - c) * 1000)
            walls.append((time.perf_counter() - w) * 1000)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\n{size:,} entries, {len(index.docs.tok):,} postings, index file "
              f"{path.stat().st_size / 1e6:.0f} MB" if path else "")
        for label, w, c in (("read YAML, first", w1, c1), ("read YAML, remembered", w2, c2),
                            ("build index, cold", w3, c3), ("write index", w4, c4), ("load index", w5, c5),
                            (f"reload, one entry edited ({again.rebuilt} re-indexed)", w6, c6)):
            print(f"  {label:<40} {w:7.1f} ({c:.1f})")
        print(f"  recall per question p50 {statistics.median(walls):.2f} ms ({statistics.median(cpus):.2f} CPU)")
        print(f"  peak RSS {rss:.0f} MB ({rss / (size / 10_000):.0f} per 10,000 entries)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    bundled = load_knowledge()
    questions = [it.question for it in load_labelled()][: args.queries]
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}; seconds wall (CPU)")
    for size in (int(s) for s in args.sizes.split(",")):
        measure(size, bundled, questions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
