"""Hostile and random messages through `ask --json` and through POST /api/v1/messages.

Usage:
    .venv/bin/python benchmarks/fuzz_inputs.py [--count 3000] [--seed 1] [--no-http]

Prints counts by status, the slowest message and p50/p99 latency for each path. A crash, a non-JSON
line or a non-200 answer is counted and makes the exit code 1.

`ask --json` runs twice: on quiet cores, then with the cores busy (this script starts one CPU-bound
process per core for that run and stops them after), which is what a container with a CPU limit or a
shared host gives the bot. Targets (issue 17): 3,000 messages in ≤ 15 s quiet, busy ≤ 2.5× quiet. The
load average is printed with each run: a figure taken while other work ran says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter

import httpx
from serve_process import ROOT, serve

SEEDS = ["厂通路哪年通车", "潞河附校晚托到几点", "一键呼", "那廊坊呢", "公租房怎么申请", "你好", "都不是", "2"]
ALPHABETS = [
    (0x20, 0x7E), (0x4E00, 0x9FFF), (0x3000, 0x303F), (0xFF00, 0xFFEF), (0x1F300, 0x1FAFF), (0x0590, 0x06FF),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x0000, 0x001F), (0xE000, 0xE0FF),
]


def message(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.2:
        return rng.choice(SEEDS) + "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(rng.randint(0, 5)))
    if kind < 0.25:
        return rng.choice(SEEDS) * rng.randint(100, 3000)  # long
    lo, hi = rng.choice(ALPHABETS)
    return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(0, 60)))


def clean(text: str) -> str:
    """What a line-based or JSON transport can carry: no newlines, no lone surrogates."""
    return text.replace("\n", " ").replace("\r", " ").encode("utf-8", "replace").decode("utf-8")


def via_ask(messages: list[str]) -> tuple[Counter, list[float], int, str]:
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json"], input="\n".join(messages) + "\n",
                          capture_output=True, text=True, cwd=ROOT, timeout=3600)
    elapsed = time.perf_counter() - started
    statuses: Counter = Counter()
    bad = 0 if proc.returncode == 0 else 1
    for line in proc.stdout.splitlines():
        try:
            statuses[json.loads(line)["status"]] += 1
        except (ValueError, KeyError):
            bad += 1
    bad += abs(len(messages) - sum(statuses.values()))
    cpu = _children_cpu() - cpu_before
    return statuses, [elapsed * 1000 / max(1, len(messages))], bad, f"whole run {elapsed:.1f} s ({cpu:.1f} s CPU)"


def _children_cpu() -> float:
    """CPU seconds of finished child processes: what the run cost, whatever else the machine did."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def busy_cores():
    """One process per core spinning in pure Python, until the block ends."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        time.sleep(1)  # let them take the cores
        yield
    finally:
        for p in burners:
            p.kill()
            p.wait()


def via_ask_busy(messages: list[str]) -> tuple[Counter, list[float], int, str]:
    with busy_cores():
        return via_ask(messages)


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def via_http(messages: list[str]) -> tuple[Counter, list[float], int, str]:
    env = {**os.environ, "DATABASE_URL": os.environ.get("FUZZ_DATABASE_URL", "sqlite:////tmp/fuzz.sqlite3"),
           "RATE_LIMIT_PER_MINUTE": "1000000", "API_RATE_PER_MINUTE": "10000000", "LOG_FORMAT": "json"}
    statuses: Counter = Counter()
    latencies, bad, slowest = [], 0, (0.0, "")
    with serve(env) as (_proc, url), httpx.Client(timeout=30) as client:
        for i, m in enumerate(messages):
            started = time.perf_counter()
            r = client.post(f"{url}/api/v1/messages", json={"user": f"fuzz{i % 50}", "text": m})
            ms = (time.perf_counter() - started) * 1000
            latencies.append(ms)
            slowest = max(slowest, (ms, m[:40]))
            try:
                statuses[r.json()["status"]] += 1
                bad += r.status_code != 200
            except (ValueError, KeyError):
                bad += 1
    return statuses, latencies, bad, f"slowest {slowest[0]:.1f} ms: {slowest[1]!r}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-http", action="store_true", help="only the two ask --json runs")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    messages = [clean(message(rng)) for _ in range(args.count)]
    failures = 0
    print(f"{args.count} generated messages (seed {args.seed})\n")
    print(f"{'path':24} {'answer':>7} {'partial':>7} {'clarify':>7} {'fallback':>8} {'smalltalk':>9} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'bad':>4}  note")
    paths = [("ask --json", via_ask), ("ask --json, cores busy", via_ask_busy)]
    if not args.no_http:
        paths.append(("POST /api/v1/messages", via_http))
    for name, run in paths:
        before = load_note()
        statuses, latencies, bad, note = run(messages)
        note = f"{note}; {before} before"
        failures += bad
        p99 = sorted(latencies)[max(0, int(len(latencies) * 0.99) - 1)]
        print(f"{name:24} {statuses['answer']:>7} {statuses['partial']:>7} {statuses['clarify']:>7} "
              f"{statuses['fallback']:>8} {statuses['smalltalk']:>9} {statistics.median(latencies):>7.2f} "
              f"{p99:>7.2f} {bad:>4}  {note}")
    print("\n(ask --json runs all messages in one process: its latency is the mean per message)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
