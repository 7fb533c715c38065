"""Telegram by webhook, mounted by `serve`: `POST /telegram/webhook`, the secret checked in constant time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from bot.channels.kit import ChannelKit
from bot.channels.requests import BadRequest, read_json
from bot.channels.telegram.application import build_application, start_problem
from bot.config import Settings, SettingsError
from bot.observability import FORBIDDEN

log = logging.getLogger(__name__)

PATH = "/telegram/webhook"
SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]{1,256}")
RETRY_SECONDS = 30  # how often an unreachable Bot API is tried again after `serve` started without it


class TelegramWebhook:
    name = "telegram"

    def __init__(self, settings: Settings, kit: ChannelKit):
        self.settings = settings
        self.secret = settings.webhook_secret.get_secret_value()
        self.application: Application = build_application(settings, kit, updater=False)
        self.running = False
        self._retrying: asyncio.Task[None] | None = None
        self.forbidden = 0
        self.routes: list[BaseRoute] = [Route(PATH, self.webhook, methods=["POST"])]

    async def start(self) -> None:
        """Connect to the Bot API and register the webhook. When Telegram cannot be reached (or refuses the
        token) `serve` must still start: one log line, the webhook answers 503, the other channels serve, and
        an unreachable Bot API is tried again in the background until it answers."""
        try:
            await self._connect()
        except TelegramError as exc:
            problem = start_problem(exc, self.settings)
            if isinstance(exc, InvalidToken):
                log.error("telegram not mounted: %s; the other channels serve", problem)
                return
            log.error("telegram not started yet: %s; trying again every %d s, the other channels serve meanwhile",
                      problem, RETRY_SECONDS)
            self._retrying = asyncio.create_task(self._keep_trying())

    async def _connect(self) -> None:
        application = self.application
        if not application.running:
            await application.initialize()  # getMe: raises when the Bot API is out of reach
            if application.post_init is not None:  # run_webhook would call it; we run the application ourselves
                await application.post_init(application)
            await application.start()
        if self.settings.webhook_url:
            await application.bot.set_webhook(self.settings.webhook_url, secret_token=self.secret or None,
                                              allowed_updates=Update.ALL_TYPES)
        self.running = True

    async def _keep_trying(self) -> None:
        while not self.running:
            await asyncio.sleep(RETRY_SECONDS)
            try:
                await self._connect()
            except TelegramError as exc:
                if isinstance(exc, InvalidToken):
                    log.error("telegram not mounted: %s", start_problem(exc, self.settings))
                    return
                continue  # still out of reach: said once at start, not once per try
            log.info("telegram started: the Bot API answers now")

    async def stop(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
        self.running = False
        if self.application.running:
            await self.application.stop()  # waits for the updates in flight
        with contextlib.suppress(Exception):  # a half-initialised application has little to shut down
            await self.application.shutdown()

    async def webhook(self, request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not self.secret or not secrets.compare_digest(given.encode(), self.secret.encode()):
            self.forbidden += 1
            FORBIDDEN.inc()
            return Response(status_code=403)
        try:
            data = await read_json(request, self.settings.max_body_bytes)
        except BadRequest as exc:
            log.info("webhook call refused: %s", exc.reason)
            return Response(status_code=exc.status)
        if not self.running:
            return Response(status_code=503)
        try:
            if not isinstance(data, dict):
                raise TypeError("not an object")
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:  # whatever python-telegram-bot makes of a malformed update: one line, 400
            log.info("webhook call refused: not a Telegram update (%s)", type(exc).__name__)
            return Response(status_code=400)
        # Answer Telegram at once; the update is processed by the Application's own queue.
        await self.application.update_queue.put(update)
        return Response(status_code=200)


def check(settings: Settings) -> None:
    """A webhook without a secret would either take forged updates or refuse every real one."""
    secret = settings.webhook_secret.get_secret_value()
    if settings.webhook_url and not secret:
        raise SettingsError("WEBHOOK_SECRET is not set but WEBHOOK_URL is: set WEBHOOK_SECRET to a random string "
                            "(1-256 of A-Z a-z 0-9 _ -), which Telegram then sends with every update")
    if secret and not SECRET_CHARS.fullmatch(secret):
        raise SettingsError("WEBHOOK_SECRET may hold only A-Z a-z 0-9 _ - (1-256 characters): Telegram refuses others")


def from_settings(settings: Settings, kit: ChannelKit) -> TelegramWebhook | None:
    """Mounted when TELEGRAM_BOT_TOKEN is set."""
    if not settings.telegram_bot_token.get_secret_value():
        return None
    check(settings)
    return TelegramWebhook(settings, kit)
