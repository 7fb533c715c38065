"""The python-telegram-bot Application: token, timeouts, rate limiter, and every handler registered.

Polling (`resident-bot telegram`) and webhook (`resident-bot serve`) share this Application.
"""

from __future__ import annotations

import logging

from telegram import BotCommand
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.channels.kit import ChannelKit
from bot.channels.telegram.handlers import NAVIGATION_COMMANDS, TelegramChannel
from bot.config import Settings

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "开始使用，看看可以问什么"),
    BotCommand("help", "我能回答什么、怎么问"),
    BotCommand("topics", "按话题浏览问题"),
    # Typed with a topic's name; handled by the dialogue like any other text command (on_admin passes it on).
    BotCommand("topic", "看某个话题的问题，如 /topic 税务服务"),
]


def build_application(settings: Settings, kit: ChannelKit, *, updater: bool = True) -> Application:
    """The python-telegram-bot Application with every handler; the token never reaches the logs."""
    token = settings.telegram_bot_token.get_secret_value()
    if not token:
        raise MissingToken(MissingToken.MESSAGE)
    install_token_filter(token)
    channel = TelegramChannel(kit, settings.admin_ids)

    async def post_init(application: Application) -> None:
        try:
            await application.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:  # not worth failing start-up for
            log.warning("could not register commands: %s", type(exc).__name__)

    builder = (ApplicationBuilder().token(token).base_url(settings.telegram_api_base_url)
               .post_init(post_init).concurrent_updates(8)
               .read_timeout(settings.telegram_timeout).write_timeout(settings.telegram_timeout)
               .connect_timeout(settings.telegram_timeout))
    if settings.telegram_max_rate:
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=settings.telegram_max_rate, max_retries=3))
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    application.add_handler(CommandHandler(list(NAVIGATION_COMMANDS), channel.on_navigation))
    # Every other command: the administrators' ones for ADMIN_IDS, the unknown-command reply for the rest.
    application.add_handler(MessageHandler(filters.COMMAND, channel.on_admin))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, channel.on_text))
    application.add_handler(CallbackQueryHandler(channel.on_button))
    application.add_error_handler(channel.on_error)
    return application


def start_problem(exc: Exception, settings: Settings) -> str:
    """One line saying why Telegram could not be reached at start, naming the setting to check. Never the
    exception's text: python-telegram-bot puts the token in it."""
    if isinstance(exc, InvalidToken):
        return "Telegram refused TELEGRAM_BOT_TOKEN (unknown or revoked token): copy the current token from @BotFather"
    if isinstance(exc, NetworkError):  # TimedOut too
        return (f"could not reach the Telegram Bot API at {settings.telegram_api_base_url} ({type(exc).__name__}): "
                "check the network, a firewall or proxy, or TELEGRAM_API_BASE_URL")
    return f"the Telegram Bot API answered with an error ({type(exc).__name__}): try again later"


class MissingToken(Exception):
    MESSAGE = "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in the environment or .env"


class _RedactToken(logging.Filter):
    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token and self.token in record.getMessage():
            record.msg = record.getMessage().replace(self.token, "<token>")
            record.args = ()
        return True


def install_token_filter(token: str) -> None:
    """httpx logs request URLs, which carry the token, and python-telegram-bot logs whole updates (with
    residents' ids) at DEBUG: keep both above that, and redact the token wherever it might still appear."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("telegram", "telegram.ext"):
        logging.getLogger(name).setLevel(logging.INFO)
    redact = _RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    logging.getLogger().addFilter(redact)
