"""Large knowledge bases: start, restart, reload after one file's edit, per-question time, memory.

Usage:
    .venv/bin/python benchmarks/knowledge_scale.py [--sizes 10000,100000] [--baseline REF | --baseline none]
        [--baseline-sizes 10000] [--queries 200]

Knowledge bases of 10,000 and 100,000 entries are recombined from the bundled entries (questions spliced
from two real entries and renamed, as `benchmarks/matching.py` does) and written as YAML files of 1,000
entries each, with the bundled synonyms, word lists, replies and intents. Words only (`SEMANTIC_MODEL=off`):
encoding half a million recombined questions with a sentence model measures nothing new.

Each row is one code (this checkout, and --baseline: `git archive` of that ref, run with this venv):

  cold        a fresh `resident-bot ask` with an empty CACHE_DIR: load, validate and build, to the first answer
  restart     the same command again, knowledge base unchanged (this code loads its stored index)
  reload      in one process: build, then one file's answer edited and `LiveKnowledge.reload()` timed
  p50         per question (the labelled questions) on the reloaded snapshot, wall and CPU (thread) time
  peak RSS    of the `ask` processes (cold, restart) and of the reload process, and per 10,000 entries

Wall times depend on what else the cores do (the load average is printed); CPU seconds of each child
(`os.wait4`) much less, so both are shown. The previous code has no stored index: its restart is a cold
build again, and its reload a whole build (measured at --baseline-sizes only: at 100,000 entries it took
over 200 s each on quiet cores).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from matching import synthetic  # noqa: E402

from bot.evaluation.labelled import load_labelled  # noqa: E402
from bot.knowledge.loader import SPECIAL_FILES, load_knowledge  # noqa: E402
from bot.knowledge.schema import Entry, KnowledgeBase  # noqa: E402

BASELINE = "c4de4ba"  # main just before issue 20's changes landed
PER_FILE = 1000  # entries per YAML file (a file may hold 2 MB)
QUESTION = "潞河附校晚托到几点"
# Run in a child process by the code under test: build, edit one file, reload, ask the questions.
RELOAD_CHILD = r"""
import inspect, json, os, resource, statistics, sys, time
from pathlib import Path
from bot.live import LiveKnowledge
kdir, idir, cache, edit = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
questions = json.loads(sys.argv[5])
extra = {"cache_dir": cache} if "cache_dir" in inspect.signature(LiveKnowledge).parameters else {}
live = LiveKnowledge(kdir, idir, **extra)
text = edit.read_text(encoding="utf-8")
marker = "  answer: "
at = text.index(marker) + len(marker)
edit.write_text(text[:at] + "（已更新）" + text[at:], encoding="utf-8")
wall, cpu = time.perf_counter(), time.process_time()
swapped, _problems = live.reload()
reload_wall, reload_cpu = time.perf_counter() - wall, time.process_time() - cpu
built = getattr(live.snapshot.matcher, "built", None)
matcher = live.snapshot.matcher
matcher.match(questions[0])
walls, cpus = [], []
for q in questions:
    w, c = time.perf_counter(), time.thread_time()
    matcher.match(q)
    cpus.append(time.thread_time() - c)
    walls.append(time.perf_counter() - w)
print(json.dumps({"swapped": swapped, "reload_wall": reload_wall, "reload_cpu": reload_cpu,
                  "rebuilt": getattr(built, "rebuilt", None), "p50_ms": statistics.median(walls) * 1000,
                  "p50_cpu_ms": statistics.median(cpus) * 1000,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_kb(kb: KnowledgeBase, size: int, into: Path, bundled: Path | None = None) -> tuple[Path, Path]:
    """The recombined knowledge base as YAML files, beside the special files and intents of `bundled`
    (a code's own knowledge directory: older code refuses keys that newer cue files have; `kb`'s own
    by default)."""
    big = unique(synthetic(kb, size))
    bundled = bundled or kb.directory
    kdir, idir = into / "knowledge", into / "intents"
    kdir.mkdir(parents=True)
    for name in SPECIAL_FILES:
        if (bundled / name).exists():
            shutil.copy(bundled / name, kdir / name)
    shutil.copytree(bundled.parent / "intents", idir)
    entries = list(big.entries)
    for n in range(0, len(entries), PER_FILE):
        chunk = [plain(e) for e in entries[n : n + PER_FILE]]
        (kdir / f"part-{n // PER_FILE:04d}.yaml").write_text(
            yaml.dump(chunk, Dumper=_Plain, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    return kdir, idir


def unique(big: KnowledgeBase) -> KnowledgeBase:
    """`synthetic` numbers its entries' questions modulo 997 (enough for matching alone); the loader
    refuses a question shared by two entries, so here each entry's own number ends them."""
    entries = []
    for e in big.entries:
        if e.id.startswith("syn-"):
            i = int(e.id.removeprefix("syn-"))
            old = f"{i % 997}号"
            qs = tuple(dict.fromkeys(q.removesuffix(old) + f"{i}号" for q in e.questions))
            e = replace(e, questions=qs, title=qs[0])
        entries.append(e)
    return replace(big, entries=tuple(entries))


class _Plain(yaml.SafeDumper):
    """Every value written out: the knowledge base refuses anchors and aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def plain(e: Entry) -> dict[str, object]:
    """An entry as an administrator writes it (dates as YAML dates, empty fields left out)."""
    d = e.to_dict()
    for key in ("as_of", "review_by", "expires"):
        if d[key]:
            d[key] = dt.date.fromisoformat(str(d[key]))
    d["source"] = {k: v for k, v in e.source.to_dict().items() if v is not None} | {"date": e.source.date}
    d["acknowledged_passed"] = list(e.acknowledged_passed)
    return {k: v for k, v in d.items() if v not in (None, [], ())}


@contextlib.contextmanager
def code_checkout(ref: str) -> Iterator[Path]:
    if ref == "HEAD+":
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="scale-baseline-") as tmp:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


def child(args: list[str], code_dir: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one child process, its own figures (os.wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=code_dir, env={**os.environ, "PYTHONPATH": str(code_dir), **env},
                                stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[2:4]} failed: {err.read().decode(errors='replace')[-2000:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def measure(code: str, code_dir: Path, size: int, kb: KnowledgeBase, work: Path, questions: list[str],
            with_restart: bool) -> dict[str, object]:
    kdir, idir = write_kb(kb, size, work / f"{code.split()[0]}-{size}", code_dir / "knowledge")
    cache = work / f"cache-{code.split()[0]}-{size}"
    env = {"KNOWLEDGE_DIR": str(kdir), "INTENTS_DIR": str(idir), "CACHE_DIR": str(cache), "SEMANTIC_MODEL": "off",
           "DATA_DIR": str(work / "data"), "USER_ID_SALT": "scale-benchmark"}
    ask = [sys.executable, "-m", "bot.cli", "ask", QUESTION]
    row: dict[str, object] = {"code": code, "entries": size}
    print(f"… {code}, {size:,} entries: cold start", file=sys.stderr, flush=True)
    row["cold"] = child(ask, code_dir, env)[:3]
    if with_restart:
        print(f"… {code}, {size:,} entries: restart", file=sys.stderr, flush=True)
        row["restart"] = child(ask, code_dir, env)[:3]
        print(f"… {code}, {size:,} entries: reload", file=sys.stderr, flush=True)
        edit = kdir / "part-0000.yaml"
        _w, _c, rss, out = child([sys.executable, "-c", RELOAD_CHILD, str(kdir), str(idir), str(cache), str(edit),
                                  json.dumps(questions, ensure_ascii=False)], code_dir, env)
        row["reload"] = json.loads(out.strip().splitlines()[-1]) | {"process_rss": rss}
    shutil.rmtree(kdir.parent, ignore_errors=True)
    return row


def fmt(t: tuple[float, float, float] | None) -> str:
    return f"{t[0]:.1f} ({t[1]:.1f})" if t else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the code to compare with, or none")
    parser.add_argument("--baseline-sizes", default="10000", help="sizes the baseline runs at (cold start only "
                        "beyond these: its restart and reload are whole builds too)")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    kb = load_knowledge()
    questions = [it.question for it in load_labelled()][: args.queries]
    sizes = [int(s) for s in args.sizes.split(",")]
    full_baseline = {int(s) for s in args.baseline_sizes.split(",") if s}
    codes = [("this", "HEAD+")] + ([] if args.baseline == "none" else [(f"baseline {args.baseline}", args.baseline)])
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        for size in sizes:
            for code, ref in codes:
                with code_checkout(ref) as code_dir:
                    restart = code == "this" or size in full_baseline
                    rows.append(measure(code, code_dir, size, kb, Path(tmp), questions, restart))
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # a long run's rows as they come
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average before {load_before[0]:.1f}, "
          f"after {os.getloadavg()[0]:.1f}; words only; seconds as wall (CPU of that process)\n")
    header = ["entries", "code", "cold start s", "restart s", "reload one file s", "entries re-indexed",
              "p50 ms (CPU)", "peak RSS MB: ask cold / restart / reload", "RSS per 10k entries MB"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        reload = r.get("reload")
        cold, restart = r["cold"], r.get("restart")
        rss = [f"{cold[2]:.0f}", f"{restart[2]:.0f}" if restart else "-",  # type: ignore[index]
               f"{reload['process_rss']:.0f}" if reload else "-"]  # type: ignore[index]
        peak = max(cold[2], reload["process_rss"] if reload else 0)  # type: ignore[index]
        cells = [f"{r['entries']:,}", str(r["code"]), fmt(cold), fmt(restart),  # type: ignore[arg-type]
                 f"{reload['reload_wall']:.1f} ({reload['reload_cpu']:.1f})" if reload else "-",  # type: ignore[index]
                 str(reload.get("rebuilt")) if reload else "-",  # type: ignore[union-attr]
                 f"{reload['p50_ms']:.2f} ({reload['p50_cpu_ms']:.2f})" if reload else "-",  # type: ignore[index]
                 " / ".join(rss), f"{peak / (int(r['entries']) / 10_000):.0f}"]  # type: ignore[arg-type]
        print("| " + " | ".join(cells) + " |", flush=True)
    print("\ntargets (issue 20, 2 quiet cores): 10,000 entries: restart ≤ 3 s, cold ≤ 20 s, one-file reload ≤ 2 s; "
          "100,000: restart ≤ 15 s, p50 ≤ 3 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
