"""Telegram channel load: simulated residents through the Bot API stub, by polling and by webhook.

Usage:
    .venv/bin/python benchmarks/telegram_load.py [--users 200] [--messages 1000]

Each simulated resident has their own chat and sends their messages one after another (the next when
the previous is answered), through the real python-telegram-bot Application talking to the stub of
tests/e2e on 127.0.0.1. Prints throughput and the channel's added latency (end to end minus the
dialogue's own time, recorded with every interaction), and checks that nothing is lost or answered twice.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from serve_process import free_port

from bot.app import build_app, build_kit
from bot.channels.telegram import build_application
from bot.config import load_settings
from bot.ratelimit import InProcessRateLimiter
from bot.server import create_web_app
from tests.e2e.botapi_stub import BotApiStub, message_update

RATE = 0.0  # set from --telegram-rate
QUESTIONS = ["厂通路哪年通车", "潞河附校晚托到几点", "公租房配租多少户", "你好", "公积金怎么提取", "那廊坊呢",
             "绿心公园接待多少游客", "三大建築什麼時候開放"]


def make(stub: BotApiStub, tmp: str, **extra):
    settings = load_settings(telegram_bot_token=stub.token, telegram_api_base_url=stub.base_url,
                             database_url=f"sqlite:///{tmp}/load.sqlite3", user_id_salt="load",
                             telegram_max_rate=RATE, **extra)
    return build_app(settings)


def plan(users: int, messages: int) -> list[list[str]]:
    per = [messages // users + (1 if i < messages % users else 0) for i in range(users)]
    return [[QUESTIONS[(u + k) % len(QUESTIONS)] for k in range(n)] for u, n in enumerate(per)]


async def drive(stub: BotApiStub, conversations: list[list[str]], send) -> tuple[list[float], float]:
    """Each user sends the next message when the previous one is answered; returns end-to-end latencies."""
    latencies: list[float] = []
    replies = Counter()

    async def user(uid: int, texts: list[str]) -> None:
        chat = 10_000 + uid
        for text in texts:
            before = stub.sent_to[chat]
            started = time.perf_counter()
            await send(message_update(text, user_id=chat))
            while stub.sent_to[chat] <= before:
                await asyncio.sleep(0.001)
            latencies.append((time.perf_counter() - started) * 1000)
            replies[chat] += 1

    started = time.perf_counter()
    await asyncio.gather(*(user(i, t) for i, t in enumerate(conversations)))
    return latencies, time.perf_counter() - started


def dialogue_ms(app) -> list[float]:
    return [r.latency_ms for r in app.repository.interactions(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))]


async def polling(stub: BotApiStub, conversations, tmp: str):
    app = make(stub, tmp)
    application = build_application(app.settings, build_kit(app, limiter=InProcessRateLimiter(10**9)))
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=1)

    async def send(update):
        stub.push(update)

    try:
        result = await drive(stub, conversations, send)
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        app.close()
    return (*result, dialogue_ms(app), app)


async def webhook(stub: BotApiStub, conversations, tmp: str):
    app = make(stub, tmp, webhook_secret="load-secret")
    web = create_web_app(app, limiter=InProcessRateLimiter(10**9))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        await asyncio.sleep(0.05)
    ids = iter(range(1, 10**9))
    async with httpx.AsyncClient(timeout=30) as client:
        async def send(update):
            update["update_id"] = next(ids)
            r = await client.post(f"http://127.0.0.1:{port}/telegram/webhook", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": "load-secret"})
            assert r.status_code == 200

        try:
            result = await drive(stub, conversations, send)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    return (*result, dialogue_ms(app), app)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--telegram-rate", type=float, default=0.0,
                        help="PTB's overall send limit; 0 (default) measures the channel alone, 30 is Telegram's")
    args = parser.parse_args()
    global RATE
    RATE = args.telegram_rate
    conversations = plan(args.users, args.messages)
    failed = False
    limit = f"Telegram send limit {args.telegram_rate:g}/s" if args.telegram_rate else "no Telegram send limit"
    print(f"{args.users} users, {args.messages} messages, {limit}\n")
    print(f"{'mode':8} {'msgs/s':>7} {'e2e p50':>8} {'e2e p95':>8} {'dialogue p50':>13} {'overhead p50':>13} "
          f"{'overhead p95':>13} {'lost':>5} {'twice':>6}")
    for name, run in (("polling", polling), ("webhook", webhook)):
        stub = BotApiStub().start()
        with tempfile.TemporaryDirectory() as tmp:
            latencies, elapsed, dialogue, _app = asyncio.run(run(stub, conversations, tmp))
        sent = [int(p["chat_id"]) for m, p in stub.calls if m == "sendMessage"]
        stub.stop()
        lost = args.messages - len(sent)
        twice = len(sent) - args.messages if len(sent) > args.messages else 0
        failed |= bool(lost or twice)
        d50 = statistics.median(dialogue)
        e2e = sorted(latencies)
        p95 = e2e[int(len(e2e) * 0.95) - 1]
        print(f"{name:8} {args.messages / elapsed:7.0f} {statistics.median(e2e):8.1f} {p95:8.1f} {d50:13.1f} "
              f"{statistics.median(e2e) - d50:13.1f} {p95 - sorted(dialogue)[int(len(dialogue) * .95) - 1]:13.1f} "
              f"{lost:>5} {twice:>6}")
    print("\nlatencies in ms; overhead = end to end minus the dialogue's own time (target: p50 < 20 ms)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
