"""Talking to residents: `chat` (console), `telegram` (long polling), `serve` (HTTP host), `ask`."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from bot.cli.common import load_app
from bot.config import SettingsError, load_settings


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("chat", help="chat in the console (the Quick start)")
    c.add_argument("--no-storage", action="store_true", help="do not record the conversation")
    c.set_defaults(func=cmd_chat)

    t = sub.add_parser("telegram", help="run the Telegram bot by long polling (one instance)")
    t.set_defaults(func=cmd_telegram)
    sv = sub.add_parser("serve", help="HTTP server: Telegram webhook, /api/v1/messages, /healthz")
    sv.add_argument("--host", help="listen address (default: HOST or 127.0.0.1)")
    sv.add_argument("--port", type=int, help="listen port (default: PORT or 8080)")
    sv.add_argument("--no-telegram", action="store_true", help="serve the HTTP API only, without a bot token")
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


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.channels.console import run_console
    from bot.reloader import Reloader

    app = load_app(storage=not args.no_storage)

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
        return run_console(app.dialogue)
    finally:
        reloader.stop()
        app.close()


def cmd_telegram(args: argparse.Namespace) -> int:
    from telegram import Update

    from bot.app import build_kit
    from bot.channels.telegram import MissingToken, build_application
    from bot.reloader import Reloader

    _service_logging()
    if not load_settings().telegram_bot_token.get_secret_value():  # before the knowledge base is loaded
        raise SettingsError(MissingToken.MESSAGE)
    app = load_app(storage=True)
    try:
        application = build_application(app.settings, build_kit(app))
    except MissingToken as exc:
        raise SettingsError(str(exc)) from None
    reloader = Reloader(app.live)
    reloader.watch()
    reloader.on_sighup()
    try:
        # run_polling stops cleanly on SIGINT and SIGTERM, finishing the updates in flight.
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        app.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.reloader import Reloader
    from bot.server import create_web_app, describe

    _service_logging()
    app = load_app(storage=True)
    settings = app.settings
    if not args.no_telegram and not settings.telegram_bot_token.get_secret_value():
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set: set it, or run `serve --no-telegram` for the API only")
    reloader = Reloader(app.live)
    reloader.watch()
    reloader.on_sighup()
    web = create_web_app(app, telegram=not args.no_telegram)
    logging.getLogger("bot.server").info(describe(list(web.state.channels.values())))
    config = uvicorn.Config(web, host=args.host or settings.host, port=args.port or settings.port,
                            log_level="warning", log_config=None)
    return run_server(uvicorn.Server(config))


def run_server(server) -> int:
    """Serve until SIGTERM or SIGINT, then shut down gracefully (lifespan: finish updates, flush records)
    and exit 0. uvicorn re-raises the signal after shutdown, which would end the process with -15."""
    import asyncio
    import contextlib
    import signal

    server.capture_signals = contextlib.nullcontext  # we handle the signals ourselves

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        await server.serve()

    asyncio.run(main())
    return 0 if server.started or server.should_exit else 1


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.channels.ask import run_ask

    app = load_app(storage=False)
    if args.today:
        app.dialogue.today = lambda: args.today
    return run_ask(app.dialogue, args.question, as_json=args.json, conversation=args.conversation)
