"""The channels `resident-bot serve` can mount, and the interface each one offers the HTTP host.

Adding a channel (WeChat, the web page) is one module plus its settings in `bot/config.py`:

1. Write `bot/channels/<name>.py` (or a package) with a factory

       def from_settings(settings: Settings, kit: ChannelKit) -> HttpChannel | None

   returning None when its settings are not there (the channel is then simply not mounted), and raising
   `SettingsError` with one line naming the setting when they are there but wrong or incomplete. A
   `check(settings)` function beside it, if any, is called before the knowledge base loads, so that such
   a mistake stops `serve` at once.
2. Add one line to `HTTP_CHANNELS` below: name → module path. The module is imported only when `serve`
   starts, so a deployment without that channel never loads its libraries.

The channel object has a `name`, its Starlette `routes` (full paths, e.g. `/wechat`), and `start()` /
`stop()`, awaited in the server's lifespan (connect to the platform, register a webhook; finish what is in
flight). Its handlers parse the request (`bot.channels.requests` bounds the body and the JSON), build a
kit `Incoming` (`kit.resident(...)`, an `Action`, the platform's message id as `key` for claim-once), await
`kit.receive(incoming)` and render the `Reply` (None: a redelivery, answer the platform with success and
send nothing). Administrators' commands: `await kit.run_admin(name, limit)` for the ids the channel's own
settings name. A channel never imports storage or `bot.app`: everything it needs comes through the kit.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from starlette.routing import BaseRoute

from bot.channels.kit import ChannelKit
from bot.config import Settings

# name → module with `from_settings(settings, kit)`; mounted in this order.
HTTP_CHANNELS: dict[str, str] = {
    "telegram": "bot.channels.telegram.webhook",
    "api": "bot.channels.api",
    "wechat": "bot.channels.wechat.endpoint",
    "webpage": "bot.channels.webpage.endpoint",
}


class HttpChannel(Protocol):
    name: str
    routes: list[BaseRoute]

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def check_channels(settings: Settings, *, skip: frozenset[str] = frozenset()) -> None:
    """Each channel's own `check(settings)`, if it has one, before anything is loaded: a wrong or incomplete
    setting stops `serve` at once with one line (SettingsError) naming it."""
    for name, module in HTTP_CHANNELS.items():
        check = getattr(importlib.import_module(module), "check", None)
        if name not in skip and check is not None:
            check(settings)


def configured_channels(settings: Settings, kit: ChannelKit, *,
                        skip: frozenset[str] = frozenset()) -> list[HttpChannel]:
    """Every registered channel whose settings are present, except those in `skip`."""
    channels = []
    for name, module in HTTP_CHANNELS.items():
        if name in skip:
            continue
        channel = importlib.import_module(module).from_settings(settings, kit)
        if channel is not None:
            channels.append(channel)
    return channels
