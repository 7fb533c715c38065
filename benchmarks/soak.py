"""A bounded soak: concurrent simulated residents against `serve` with PostgreSQL, memory watched.

Usage:
    .venv/bin/python benchmarks/soak.py [--minutes 5] [--users 50] [--database-url URL]

Starts `resident-bot serve --no-telegram` on 127.0.0.1 (PostgreSQL from --database-url, default
TEST_DATABASE_URL), sends conversations from `users` concurrent simulated residents for `minutes`, and
every 30 s prints throughput, p50/p95/p99 latency and the server's resident memory. At the end it checks
that the number of records in the database equals the number of messages answered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
from serve_process import ROOT, serve

TURNS = [["厂通路哪年通车", "那什么时候开工的"], ["和滨海新区跨省通办多少项", "那廊坊呢"], ["一键呼", "2"],
         ["潞河附校晚托到几点", "那谁能参加"], ["公积金怎么提取"], ["你好", "绿心公园几点开门"],
         ["三大建築什麼時候開放"]]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)] if ordered else 0.0


async def resident(client: httpx.AsyncClient, url: str, n: int, stop: float, latencies: list[float],
                   counts: dict[str, int]) -> None:
    rng = random.Random(n)
    while time.monotonic() < stop:
        for text in rng.choice(TURNS):
            started = time.perf_counter()
            try:
                r = await client.post(f"{url}/api/v1/messages", json={"user": f"soak-{n}", "text": text})
            except httpx.TransportError:
                counts["transport"] += 1  # no answer came back: the record may or may not exist
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            counts["ok" if r.status_code == 200 else "error"] += 1
            await asyncio.sleep(rng.uniform(0.0, 0.2))


async def run(url: str, pid: int, minutes: float, users: int) -> tuple[int, int]:
    latencies: list[float] = []
    counts = {"ok": 0, "error": 0, "transport": 0}
    stop = time.monotonic() + minutes * 60
    # Expire idle connections before the server's 5 s keep-alive does, so that no request is sent on a
    # connection the server is closing (a client-side race, not a server failure).
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users, keepalive_expiry=2.0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        tasks = [asyncio.create_task(resident(client, url, n, stop, latencies, counts)) for n in range(users)]
        print(f"{'time s':>7} {'msgs/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'RSS MB':>8}")
        start, last = time.monotonic(), 0
        while time.monotonic() < stop:
            await asyncio.sleep(min(30, max(0.1, stop - time.monotonic())))
            window = latencies[last:]
            last = len(latencies)
            elapsed = time.monotonic() - start
            print(f"{elapsed:7.0f} {len(window) / 30:8.1f} {pct(window, .5):8.1f} {pct(window, .95):8.1f} "
                  f"{pct(window, .99):8.1f} {rss_mb(pid):8.1f}", flush=True)
        await asyncio.gather(*tasks)
    return counts["ok"], counts["error"] + counts["transport"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL",
                                                                 "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": args.database_url, "RATE_LIMIT_PER_MINUTE": "100000",
           "API_RATE_PER_MINUTE": "10000000", "LOG_FORMAT": "json"}
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    from bot.storage.connection import make_engine
    from bot.storage.repository import Repository

    repo = Repository(make_engine(args.database_url.replace("postgresql://", "postgresql+psycopg://")))
    before = repo.count_interactions()
    with serve(env) as (proc, url):
        ok, errors = asyncio.run(run(url, proc.pid, args.minutes, args.users))
    stored = repo.count_interactions() - before
    print(f"\nmessages answered {ok}, errors {errors}, records stored {stored} "
          f"({'nothing lost' if stored == ok else 'MISMATCH'})")
    return 0 if stored == ok and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
