"""`resident-bot serve`: the HTTP host. Health and metrics are its own; everything else is a channel's.

The host builds the channel kit, mounts the routes of every configured channel (`bot.channels.registry`),
starts them in its lifespan and, on shutdown, stops them (updates in flight finish) and flushes records.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import App, build_kit
from bot.channels.registry import HttpChannel, configured_channels
from bot.ratelimit import RateLimiter

log = logging.getLogger(__name__)


def create_web_app(app: App, *, telegram: bool = True, limiter: RateLimiter | None = None,
                   channels: list[HttpChannel] | None = None) -> Starlette:
    """The ASGI app: `channels` given, or every configured one (without Telegram when `telegram` is False)."""
    if channels is None:
        kit = build_kit(app, limiter=limiter)
        channels = configured_channels(app.settings, kit, skip=frozenset() if telegram else frozenset({"telegram"}))

    @contextlib.asynccontextmanager
    async def lifespan(_web: Starlette) -> AsyncIterator[None]:
        started: list[HttpChannel] = []
        try:
            for channel in channels:
                await channel.start()
                started.append(channel)
            yield
        finally:
            for channel in reversed(started):
                await channel.stop()
            app.close()  # flush pending records

    async def healthz(_request: Request) -> Response:
        return JSONResponse(app.health())  # liveness: 200 while the process serves, even degraded

    async def readyz(_request: Request) -> Response:
        ready, body = app.readiness()
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    routes = [Route("/metrics", metrics, methods=["GET"]), Route("/healthz", healthz, methods=["GET"]),
              Route("/readyz", readyz, methods=["GET"])]
    for channel in channels:
        routes.extend(channel.routes)
    web = Starlette(routes=routes, lifespan=lifespan)
    web.state.channels = {c.name: c for c in channels}
    return web


def describe(channels: list[HttpChannel]) -> str:
    """One line for the operator at start: which channels answer where."""
    def paths(c: HttpChannel) -> list[str]:  # a channel may name its main paths only (not each asset)
        return list(getattr(c, "paths", None) or (getattr(r, "path", "?") for r in c.routes))

    mounted = ", ".join(f"{c.name} ({' '.join(paths(c))})" for c in channels)
    return f"channels: {mounted or 'none'}"
