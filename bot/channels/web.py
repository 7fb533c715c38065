"""`resident-bot serve`: the Telegram webhook, a JSON API for other gateways, and health, on one ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.app import App
from bot.observability import FORBIDDEN, RATE_LIMITED
from bot.ratelimit import RateLimiter, make_rate_limiter

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes without reading it all into memory first."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def create_web_app(app: App, *, telegram: bool = True, limiter: RateLimiter | None = None) -> Starlette:
    settings = app.settings
    limiter = limiter or make_rate_limiter(settings.rate_limit_per_minute, settings.redis_url)
    webhook_secret = settings.webhook_secret.get_secret_value()
    api_token = settings.api_token.get_secret_value()
    state: dict[str, object] = {"application": None, "forbidden": 0}

    @contextlib.asynccontextmanager
    async def lifespan(_web: Starlette) -> AsyncIterator[None]:
        application = None
        if telegram:
            from bot.channels.telegram import build_application

            application = build_application(app, updater=False, limiter=limiter)
            await application.initialize()
            if application.post_init is not None:  # run_webhook would call it; we run the app ourselves
                await application.post_init(application)
            await application.start()
            if settings.webhook_url:
                await application.bot.set_webhook(settings.webhook_url, secret_token=webhook_secret or None,
                                                  allowed_updates=Update.ALL_TYPES)
            state["application"] = application
        try:
            yield
        finally:
            if application is not None:
                await application.stop()  # waits for the updates in flight
                await application.shutdown()
            app.close()  # flush pending records

    async def webhook(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not webhook_secret or not secrets.compare_digest(given.encode(), webhook_secret.encode()):
            state["forbidden"] = int(state["forbidden"]) + 1
            FORBIDDEN.inc()
            return Response(status_code=403)
        try:
            body = await read_body(request, settings.max_body_bytes)
            data = json.loads(body)
        except BodyTooLarge:
            return Response(status_code=413)
        except ValueError:
            return Response(status_code=400)
        application = state["application"]
        if application is None:
            return Response(status_code=503)
        update = Update.de_json(data, application.bot)
        # Answer Telegram at once; the update is processed by the Application's own queue.
        await application.update_queue.put(update)
        return Response(status_code=200)

    async def messages(request: Request) -> Response:
        if api_token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not secrets.compare_digest(given.encode(), api_token.encode()):
                return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        try:
            data = json.loads(await read_body(request, settings.max_body_bytes))
        except BodyTooLarge:
            return JSONResponse({"error": "request body too large"}, status_code=413)
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return JSONResponse({"error": "expected {\"user\": \"...\", \"text\": \"...\"}"}, status_code=422)
        user = str(data.get("user") or "")[:200]
        if user and not limiter.allow("api:" + app.dialogue_hash(user)):
            RATE_LIMITED.inc()
            return JSONResponse({"error": "rate limited"}, status_code=429)
        conversation = "api:" + (app.dialogue_hash(user) if user else "anonymous")
        reply = await asyncio.to_thread(app.dialogue.handle, conversation, data["text"], channel="api",
                                        user=user or None)
        return JSONResponse(reply.to_dict())

    async def healthz(_request: Request) -> Response:
        database = await asyncio.to_thread(app.database_reachable)
        body = {"status": "ok" if database is not False else "degraded",
                "knowledge_version": app.live.snapshot.version, "git_commit": app.live.snapshot.kb.git_commit,
                "database": database, "sentence_model": app.live.snapshot.matcher.embedder is not None}
        return JSONResponse(body, status_code=200)

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/metrics", metrics, methods=["GET"]),
        Route("/telegram/webhook", webhook, methods=["POST"]),
        Route("/api/v1/messages", messages, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    web = Starlette(routes=routes, lifespan=lifespan)
    web.state.counters = state
    return web
