"""A soak: steady load on the HTTP API for ten minutes, the server's resident memory (RSS) watched throughout.

Usage:
    .venv/bin/python benchmarks/soak.py [--minutes 10] [--users 50] [--every 30] [--database-url URL]

Starts `resident-bot serve --no-telegram` on 127.0.0.1 with the default settings (the sentence model
included), a PostgreSQL schema of its own (from --database-url, default TEST_DATABASE_URL) and a fresh data
directory. `users` simulated residents send conversations (answered questions, follow-ups, small talk, a
clarification and its choice) with a short pause between messages, from the first second to the last:
the same load throughout, so that memory which keeps growing is a leak, not more work. Every `every`
seconds it prints a row: msg/s, p50/p99 latency and the server's RSS. At the end: RSS after the first
minute (caches warm) against the last minute, the slope over the run after that first minute, and
whether every message answered was stored (records = messages).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from serve_process import ROOT, serve

sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text

from tests.auxil.db import in_schema

TURNS = [["厂通路哪年通车", "那什么时候开工的"], ["和滨海新区跨省通办多少项", "那廊坊呢"], ["一键呼", "2"],
         ["潞河附校晚托到几点", "那谁能参加"], ["公积金怎么提取"], ["你好", "绿心公园几点开门"],
         ["三大建築什麼時候開放"]]
WARM = 60.0  # seconds before memory is expected to be flat: caches filled, every code path taken


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


async def resident(client: httpx.AsyncClient, url: str, n: int, stop: float, latencies: list[float],
                   counts: dict[str, int]) -> None:
    rng = random.Random(n)
    while time.monotonic() < stop:
        for message in rng.choice(TURNS):
            started = time.perf_counter()
            try:
                r = await client.post(f"{url}/api/v1/messages", json={"user": f"soak-{n}", "text": message})
            except httpx.TransportError:
                counts["transport"] += 1  # no answer came back: the record may or may not exist
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            counts["ok" if r.status_code == 200 else "error"] += 1
            await asyncio.sleep(rng.uniform(0.0, 0.2))


async def run(url: str, pid: int, minutes: float, users: int, every: float) -> tuple[dict[str, int], list]:
    latencies: list[float] = []
    counts = {"ok": 0, "error": 0, "transport": 0}
    samples: list[tuple[float, float]] = [(0.0, rss_mb(pid))]  # (seconds, RSS MB)
    start = time.monotonic()
    stop = start + minutes * 60
    # Expire idle connections before the server's 5 s keep-alive does, so that no request is sent on a
    # connection the server is closing (a client-side race, not a server failure).
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users, keepalive_expiry=2.0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        tasks = [asyncio.create_task(resident(client, url, n, stop, latencies, counts)) for n in range(users)]
        print(f"| {'time s':>6} | {'msg/s':>6} | {'p50 ms':>7} | {'p99 ms':>7} | {'RSS MB':>7} | {'since start':>11} |")
        print(f"|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 13}|")
        print(f"| {0:6.0f} | {'':>6} | {'':>7} | {'':>7} | {samples[0][1]:7.1f} | {'':>11} |", flush=True)
        last, mark = 0, start
        while time.monotonic() < stop:
            await asyncio.sleep(min(every, max(0.1, stop - time.monotonic())))
            now = time.monotonic()
            window = latencies[last:]
            last = len(latencies)
            rss = rss_mb(pid)
            samples.append((now - start, rss))
            print(f"| {now - start:6.0f} | {len(window) / (now - mark):6.1f} | {pct(window, .5):7.1f} | "
                  f"{pct(window, .99):7.1f} | {rss:7.1f} | {rss - samples[0][1]:+11.1f} |", flush=True)
            mark = now
        await asyncio.gather(*tasks)
    return counts, samples


def slope_mb_per_minute(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 2:
        return 0.0
    xs, ys = [t / 60 for t, _ in samples], [r for _, r in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--every", type=float, default=30, help="seconds between rows")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL",
                                                                 "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = in_schema(args.database_url, schema)
    try:
        with tempfile.TemporaryDirectory(prefix="soak-") as work:
            env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": work, "RATE_LIMIT_PER_MINUTE": "100000",
                   "API_RATE_PER_MINUTE": "10000000", "LOG_FORMAT": "json", "REDIS_URL": ""}
            subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                           capture_output=True)
            load_before = os.getloadavg()[0]
            print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average {load_before:.1f}; "
                  f"{args.users} residents for {args.minutes:g} min, PostgreSQL, default settings\n", flush=True)
            with serve(env) as (proc, base):
                counts, samples = asyncio.run(run(base, proc.pid, args.minutes, args.users, args.every))
            with admin.connect() as conn:
                stored = int(conn.execute(text(f'SELECT count(*) FROM "{schema}".interactions')).scalar_one())
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    warm = [(t, r) for t, r in samples if t >= WARM]
    first = next((r for t, r in samples if t >= WARM), samples[-1][1])
    end = samples[-1][1]
    ok, errors = counts["ok"], counts["error"] + counts["transport"]
    print(f"\nRSS after the first minute {first:.1f} MB, at the end {end:.1f} MB: {end - first:+.1f} MB "
          f"({(end - first) / first * 100 if first else 0:+.1f}%); slope after the first minute "
          f"{slope_mb_per_minute(warm):+.2f} MB/min; load average at the end {os.getloadavg()[0]:.1f}")
    print(f"messages answered {ok}, errors {errors}, records stored {stored} "
          f"({'records = messages' if stored == ok else 'MISMATCH'})")
    return 0 if stored == ok and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
