"""The HTTP API: `POST /api/v1/messages` with `{"user": "...", "text": "..."}` → the Reply as JSON.

For gateways the bot does not speak to itself (a WeChat bridge, a ticketing system). Bearer `API_TOKEN`.
"""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.kit import Action, ChannelKit, Incoming
from bot.channels.requests import BadRequest, read_json
from bot.config import Settings

log = logging.getLogger(__name__)

CHANNEL = "api"
MAX_USER = 200  # characters of a gateway's user id


class ApiChannel:
    name = CHANNEL

    def __init__(self, kit: ChannelKit, *, token: str, max_body: int):
        self.kit = kit
        self.token = token
        self.max_body = max_body
        self.routes: list[BaseRoute] = [Route("/api/v1/messages", self.messages, methods=["POST"])]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def messages(self, request: Request) -> Response:
        if self.token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not secrets.compare_digest(given.encode(), self.token.encode()):
                return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        try:
            data = await read_json(request, self.max_body)
        except BadRequest as exc:
            log.info("API request refused: %s", exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return JSONResponse({"error": "expected {\"user\": \"...\", \"text\": \"...\"}"}, status_code=422)
        user = str(data.get("user") or "")[:MAX_USER]
        resident = self.kit.resident(CHANNEL, user or None)
        reply = await self.kit.receive(Incoming(resident, Action("say", data["text"])))
        if reply is not None and reply.intent_id == "rate_limited":
            return JSONResponse({"error": "rate limited"}, status_code=429)
        return JSONResponse(reply.to_dict() if reply is not None else {})


def from_settings(settings: Settings, kit: ChannelKit) -> ApiChannel:
    return ApiChannel(kit, token=settings.api_token.get_secret_value(), max_body=settings.max_body_bytes)
