"""The HTTP API: `POST /api/v1/messages` with `{"user": "...", "text": "...", "message_id"?: "..."}` → the Reply
as JSON. A gateway that retries a message after a timeout sends the same `message_id` and gets the first
reply again; the message is answered and recorded once.

For gateways the bot does not speak to itself (a WeChat bridge, a ticketing system). Each gateway has its
own bearer token (`API_TOKENS` name:token pairs); the users a token names are that token's own, so one
gateway can neither read nor continue another's residents' conversations. Without any token the API is
open only while `serve` listens on loopback (development); `check` refuses anything else.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.kit import Action, ChannelKit, Incoming
from bot.channels.requests import BadRequest, read_json
from bot.config import Settings, SettingsError

log = logging.getLogger(__name__)

CHANNEL = "api"
PATH = "/api/v1/messages"
FEEDBACK_PATH = "/api/v1/feedback"
MAX_USER = 200  # characters of a gateway's user id
MAX_COMMENT = 1000  # characters of a resident's comment on an answer
MAX_MESSAGE_ID = 128  # characters of a gateway's id of a message (kept across its retries)
LOCAL = "local"  # the token name of requests on a loopback-only server without tokens


class ApiChannel:
    name = CHANNEL

    def __init__(self, kit: ChannelKit, *, tokens: dict[str, str], max_body: int, overall_per_minute: int):
        self.kit = kit
        self.tokens = tokens
        self.max_body = max_body
        self.overall = overall_per_minute
        self.routes: list[BaseRoute] = [Route(PATH, self.messages, methods=["POST"]),
                                        Route(FEEDBACK_PATH, self.feedback, methods=["POST"])]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def token_name(self, request: Request) -> str | None:
        """The name of the bearer token presented; LOCAL when no token is configured; None when refused.
        Every token is compared, in constant time, whichever matches."""
        if not self.tokens:
            return LOCAL
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip().encode()
        found = None
        for name, token in self.tokens.items():
            if secrets.compare_digest(given, token.encode()) and found is None:
                found = name
        return found

    async def read(self, request: Request, shape: str) -> tuple[str, dict] | Response:
        """(token name, body) of an authorised JSON object, or the error response."""
        token = self.token_name(request)
        if token is None:
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        try:
            data = await read_json(request, self.max_body)
        except BadRequest as exc:
            log.info("API request refused: %s", exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if not isinstance(data, dict):
            return JSONResponse({"error": f"expected {shape}"}, status_code=422)
        return token, data

    def incoming(self, request: Request, token: str, data: dict, action: Action,
                 message_id: str | None = None) -> Incoming | Response:
        """The resident a (token, user) pair names, with the API's limits; or the error response."""
        user = data.get("user")
        if not isinstance(user, str | int) or isinstance(user, bool) or not str(user).strip():
            return JSONResponse({"error": "\"user\" is required: the gateway's id of the resident, so that each "
                                          "resident has their own conversation and rate limit"}, status_code=400)
        # The token's name is part of the identity: gateway A's "u1" is not gateway B's "u1".
        resident = self.kit.resident(CHANNEL, f"{token}:{str(user)[:MAX_USER]}")
        address = request.client.host if request.client else "unknown"
        limits = ((f"api-token:{token}", self.overall), (f"api-address:{address}", self.overall))
        return Incoming(resident, action, message_id=message_id, limit_keys=limits)

    async def messages(self, request: Request) -> Response:
        shape = "{\"user\": \"...\", \"text\": \"...\"}"
        read = await self.read(request, shape)
        if isinstance(read, Response):
            return read
        token, data = read
        if not isinstance(data.get("text"), str):
            return JSONResponse({"error": f"expected {shape}"}, status_code=422)
        message_id = data.get("message_id")
        if message_id is not None:  # optional: a gateway's id of this message, the same when it retries
            if isinstance(message_id, bool) or not isinstance(message_id, str | int) \
                    or not 0 < len(str(message_id).strip()) <= MAX_MESSAGE_ID:
                return JSONResponse({"error": f"\"message_id\" must be text or a number of 1 to {MAX_MESSAGE_ID} "
                                              "characters, the same on each retry of one message"}, status_code=422)
            message_id = str(message_id).strip()
        incoming = self.incoming(request, token, data, Action("say", data["text"]), message_id)
        if isinstance(incoming, Response):
            return incoming
        reply = await self.kit.receive(incoming)
        if reply is not None and reply.intent_id == "rate_limited":
            return JSONResponse({"error": "rate limited"}, status_code=429)
        if reply is not None and reply.intent_id == "resend_pending":
            return JSONResponse({"error": "this message_id is still being answered (its first request); send it "
                                          "again in a few seconds for that reply"}, status_code=409,
                                headers={"Retry-After": "2"})
        return JSONResponse(reply.to_dict() if reply is not None else {})

    async def feedback(self, request: Request) -> Response:
        """`{"user", "interaction_id", "helpful": true|false, "comment"?}`: the resident's rating of an answer
        they got, recorded like + / -. Only that resident's conversation (same token, same user) can rate it."""
        shape = "{\"user\": \"...\", \"interaction_id\": \"...\", \"helpful\": true, \"comment\": \"...\"}"
        read = await self.read(request, shape)
        if isinstance(read, Response):
            return read
        token, data = read
        interaction, helpful, comment = data.get("interaction_id"), data.get("helpful"), data.get("comment")
        if not isinstance(interaction, str) or not interaction or not isinstance(helpful, bool):
            return JSONResponse({"error": f"expected {shape}: interaction_id from the reply being rated, helpful "
                                          "true or false, comment optional"}, status_code=422)
        if comment is not None and not isinstance(comment, str):
            return JSONResponse({"error": "\"comment\" must be text"}, status_code=422)
        comment = comment.strip() or None if comment is not None else None
        if comment is not None and len(comment) > MAX_COMMENT:
            return JSONResponse({"error": f"\"comment\" is {len(comment)} characters; at most {MAX_COMMENT}"},
                                status_code=422)
        action = Action("helpful" if helpful else "not_helpful", interaction[:64], comment=comment)
        incoming = self.incoming(request, token, data, action)
        if isinstance(incoming, Response):
            return incoming
        reply = await self.kit.receive(incoming)
        if reply is not None and reply.intent_id == "rate_limited":
            return JSONResponse({"error": "rate limited"}, status_code=429)
        if reply is None or reply.intent_id == "stale_button":
            return JSONResponse({"error": "no answer with this interaction_id in this user's conversation"},
                                status_code=404)
        return JSONResponse({"recorded": True, "interaction_id": interaction, "helpful": helpful,
                             "text": reply.text})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check(settings: Settings) -> None:
    """Refuse an API that other hosts could reach without a token."""
    if not settings.bearer_tokens and not is_loopback(settings.host):
        raise SettingsError(f"API_TOKENS is not set but serve listens on {settings.host}, so /api/v1 would be open "
                            "to other hosts: set API_TOKENS (name:token pairs) or HOST=127.0.0.1")


def from_settings(settings: Settings, kit: ChannelKit) -> ApiChannel:
    check(settings)
    return ApiChannel(kit, tokens=settings.bearer_tokens, max_body=settings.max_body_bytes,
                      overall_per_minute=settings.api_rate_per_minute)
