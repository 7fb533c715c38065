"""Telegram channel: polling and webhook share one python-telegram-bot Application.

application.py builds it, handlers.py turns updates into Dialogue calls, rendering.py turns a Reply into
HTML messages, buttons.py encodes the inline-button payloads.
"""

from bot.channels.telegram.application import MissingToken, build_application

__all__ = ["MissingToken", "build_application"]
