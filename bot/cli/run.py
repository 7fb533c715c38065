"""Talking to residents: `chat` (console), `telegram` (long polling), `serve` (HTTP host), `ask`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import re
import sys
from typing import TYPE_CHECKING

from bot.cli.common import load_app
from bot.config import Settings, SettingsError, load_settings, require_salt

if TYPE_CHECKING:
    from bot.app import App


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("chat", help="chat in the console (the Quick start)")
    c.add_argument("--no-storage", action="store_true", help="do not record the conversation")
    c.set_defaults(func=cmd_chat)

    t = sub.add_parser("telegram", help="run the Telegram bot by long polling (one instance)")
    t.set_defaults(func=cmd_telegram)
    sv = sub.add_parser("serve", help="HTTP server: Telegram webhook, /api/v1/messages, /healthz")
    sv.add_argument("--host", help="listen address (default: HOST or 127.0.0.1)")
    sv.add_argument("--port", type=int, help="listen port (default: PORT or 8080)")
    sv.add_argument("--no-telegram", action="store_true",
                    help="do not mount Telegram even though TELEGRAM_BOT_TOKEN is set (it is mounted only when set)")
    sv.set_defaults(func=cmd_serve)

    a = sub.add_parser("ask", help="ask one question, or one per stdin line with --json")
    a.add_argument("question", nargs="?", help="the question; omit to read stdin")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.add_argument("--conversation", action="store_true", help="stdin lines are turns of one conversation")
    a.add_argument("--today", type=dt.date.fromisoformat, help="pretend today is YYYY-MM-DD")
    a.set_defaults(func=cmd_ask)


def _service_logging() -> None:
    from bot.observability import configure_logging

    configure_logging(load_settings().log_format)


def serving_heap(app: App) -> None:
    """A long-running service's heap: the snapshot frozen out of the collector's way, now and after each
    reload (bot/heap.py)."""
    from bot.heap import settle

    settle()
    app.live.after_swap.append(settle)


def cmd_chat(args: argparse.Namespace) -> int:
    import getpass

    from bot.channels.console import run_console
    from bot.config import local_salt
    from bot.dialogue.records import hash_user_id
    from bot.reloader import Reloader

    settings = load_settings()
    app = load_app(storage=not args.no_storage, settings=settings)
    # The person at the terminal, hashed like any channel's resident; without USER_ID_SALT the console
    # keeps a random salt of its own in the data directory.
    salt = settings.user_id_salt.get_secret_value() or (local_salt(settings.data_dir) if not args.no_storage else "")
    user_hash = hash_user_id(f"console:{getpass.getuser()}", salt) if salt else None

    def tell(swapped: bool, problems: list, version: str) -> None:
        if swapped:
            print(f"\n（知识库已更新，版本 {version}）", flush=True)
        else:
            print(f"\n（知识库有错误，继续使用版本 {version}）", flush=True)
            for p in problems:
                if p.severity == "error":
                    print(f"  {p}", flush=True)

    reloader = Reloader(app.live, tell)
    reloader.watch()
    reloader.on_sighup()
    try:
        return run_console(app.dialogue, user_hash=user_hash)
    finally:
        reloader.stop()
        app.close()


TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")


def check_telegram_token(settings: Settings) -> None:
    from bot.channels.telegram import MissingToken

    token = settings.telegram_bot_token.get_secret_value()
    if not token:
        raise SettingsError(MissingToken.MESSAGE)
    if not TOKEN_SHAPE.fullmatch(token):
        raise SettingsError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters and "
                            "digits): copy it again from @BotFather")


def cmd_telegram(args: argparse.Namespace) -> int:
    from telegram import Update

    from bot.app import build_kit
    from bot.channels.telegram import build_application
    from bot.reloader import Reloader

    _service_logging()
    settings = load_settings()
    check_telegram_token(settings)  # before the knowledge base is loaded: a mistake shows at once
    require_salt(settings)
    problem = asyncio.run(reach_telegram(settings))
    if problem:
        print(f"resident-bot: {problem}", file=sys.stderr)
        return 1
    app = load_app(storage=True, settings=settings)
    serving_heap(app)
    application = build_application(app.settings, build_kit(app))
    reloader = Reloader(app.live)
    reloader.watch()
    reloader.on_sighup()
    try:
        # run_polling stops cleanly on SIGINT and SIGTERM, finishing the updates in flight; a network
        # failure after start is python-telegram-bot's to retry.
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        reloader.stop()
        app.close()
    return 0


async def reach_telegram(settings: Settings) -> str | None:
    """One getMe with the token, before anything else starts: None when Telegram answers, else the one
    line to print (the token refused, or the Bot API out of reach)."""
    from telegram import Bot
    from telegram.error import TelegramError
    from telegram.request import HTTPXRequest

    from bot.channels.telegram.application import start_problem

    timeout = settings.telegram_timeout
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
    bot = Bot(settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_base_url,
              request=request)
    try:
        async with bot:  # initialize() asks getMe
            return None
    except TelegramError as exc:
        return start_problem(exc, settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.channels.registry import check_channels
    from bot.reloader import Reloader
    from bot.server import create_web_app, describe

    _service_logging()
    settings = load_settings()
    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    # Telegram is mounted when its token is set (and --no-telegram does not turn it off), like every channel.
    telegram = bool(settings.telegram_bot_token.get_secret_value()) and not args.no_telegram
    skip = frozenset() if telegram else frozenset({"telegram"})
    if telegram:
        check_telegram_token(settings)
    require_salt(settings)
    check_channels(settings, skip=skip)  # every channel's settings, before anything is loaded
    app = load_app(storage=True, settings=settings)
    serving_heap(app)
    reloader = Reloader(app.live)
    reloader.watch()
    reloader.on_sighup()
    web = create_web_app(app, telegram=telegram)
    config = uvicorn.Config(web, host=settings.host, port=settings.port, log_level="warning", log_config=None)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    banner = (f"serving on http://{host}:{settings.port} · knowledge base {app.live.snapshot.kb.version_label} · "
              f"{describe(list(web.state.channels.values()))} · health /healthz, readiness /readyz, "
              "metrics /metrics")
    return run_server(uvicorn.Server(config), banner)


def run_server(server, banner: str | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then shut down gracefully (lifespan: finish updates, flush records)
    and exit 0. uvicorn re-raises the signal after shutdown, which would end the process with -15.
    `banner` is logged once the socket listens (not before: a port in use must not be announced)."""
    import asyncio
    import contextlib
    import signal

    server.capture_signals = contextlib.nullcontext  # we handle the signals ourselves
    startup = server.startup

    async def announced_startup(sockets=None) -> None:
        await startup(sockets=sockets)
        if banner and server.started:
            logging.getLogger("bot.server").info(banner)

    server.startup = announced_startup

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        await server.serve()

    # uvicorn's choice of event loop: uvloop where it is installed (app.txt pins it on Linux and macOS), which
    # spends less of each request's CPU in the loop than asyncio's own; asyncio's elsewhere.
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(main())
    return 0 if server.started or server.should_exit else 1


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.channels.ask import run_ask

    app = load_app(storage=False)
    if args.today:
        app.dialogue.today = lambda: args.today
    return run_ask(app.dialogue, args.question, as_json=args.json, conversation=args.conversation)
