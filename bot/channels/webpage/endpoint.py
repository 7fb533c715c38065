"""The chat page as a channel: `GET /` (the page), `GET /web/<asset>` (its script, style and icon, served
from this package: no CDN, no web font, so it works on an intranet), `POST /web/messages` (the page's
questions and button presses, as JSON, answered with the reply to render).

Every response carries `security.headers`; every POST must come from the page itself (`same_origin`), as
`application/json`, with a session cookie this server signed. A request that breaks a rule gets a status
and a message the page shows as it is (`{"error": "...", "code": "..."}`), never a traceback, and one log
line without the message or the session.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from dataclasses import dataclass
from importlib import resources
from string import Template

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.kit import ChannelKit, Incoming
from bot.channels.requests import BadRequest, read_json
from bot.channels.webpage.security import headers, same_origin
from bot.channels.webpage.session import COOKIE, SessionSigner
from bot.channels.webpage.view import Refusal, action_of, message_id_of, refusal_text, render
from bot.config import Settings
from bot.observability import FORBIDDEN

log = logging.getLogger(__name__)

CHANNEL = "webpage"
PAGE_PATH = "/"
MESSAGES_PATH = "/web/messages"
MAX_BODY = 16 * 1024  # a question is at most MAX_TEXT characters; nothing the page sends comes near this
ASSET_TYPES = {"page.js": "text/javascript; charset=utf-8", "page.css": "text/css; charset=utf-8",
               "icon.svg": "image/svg+xml"}
# Texts of knowledge/replies.yaml put into the page's HTML (the rest come with replies and errors).
PAGE_TEXTS = ("page_title", "page_intro", "page_input_label", "page_placeholder", "page_input_hint", "page_send",
              "page_topics", "page_help", "page_you", "page_bot", "page_waiting", "page_failed", "page_retry",
              "page_empty", "page_bad_request", "page_session", "page_noscript", "page_footer")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    version: str  # in the page's links (?v=), so a new release is fetched at once despite caching


def load_assets() -> dict[str, Asset]:
    files = resources.files(__package__) / "static"
    out = {}
    for name, media_type in ASSET_TYPES.items():
        body = (files / name).read_bytes()
        out[name] = Asset(body, media_type, hashlib.sha256(body).hexdigest()[:12])
    return out


class WebPageChannel:
    name = CHANNEL
    paths = (PAGE_PATH, MESSAGES_PATH)  # what the start-up line names (the assets are under /web/ too)

    def __init__(self, kit: ChannelKit, *, salt: str, address_per_minute: int,
                 frame_ancestors: tuple[str, ...] = (), reply_timeout: float = 20.0):
        self.kit = kit
        self.reply_timeout = reply_timeout  # seconds the page waits for a reply before offering 重试
        self.sessions = SessionSigner(salt)
        self.address_per_minute = address_per_minute
        self.headers = headers(frame_ancestors)
        self.assets = load_assets()
        self.template = Template((resources.files(__package__) / "static" / "page.html").read_text("utf-8"))
        self.routes: list[BaseRoute] = [Route(PAGE_PATH, self.page, methods=["GET"]),
                                        Route("/web/{asset}", self.asset, methods=["GET"]),
                                        Route(MESSAGES_PATH, self.messages, methods=["POST"])]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    # -- GET ------------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        """The page, in the knowledge base's current wording; a new session cookie unless the browser has a
        valid one (so an expired session is renewed by loading the page again)."""
        values = {key: html.escape(self.kit.text(key)) for key in PAGE_TEXTS}
        values.update({f"{name.replace('.', '_')}_version": a.version for name, a in self.assets.items()})
        values["timeout_ms"] = str(round(self.reply_timeout * 1000))
        response = Response(self.template.substitute(values), media_type="text/html; charset=utf-8",
                            headers={**self.headers, "Cache-Control": "no-store"})
        if self.sessions.read(request.cookies.get(COOKIE)) is None:
            self._set_session(request, response)
        return response

    async def asset(self, request: Request) -> Response:
        asset = self.assets.get(request.path_params["asset"])
        if asset is None:
            return Response("not found", status_code=404, media_type="text/plain", headers=self.headers)
        cache = "public, max-age=31536000, immutable" if request.query_params.get("v") == asset.version \
            else "no-cache"
        return Response(asset.body, media_type=asset.media_type, headers={**self.headers, "Cache-Control": cache})

    def _set_session(self, request: Request, response: Response) -> None:
        _, cookie = self.sessions.issue()
        # No Max-Age: the cookie goes when the browser closes (a shared computer keeps no conversation), and
        # the server ends it after MAX_AGE anyway. No Path: it defaults to the page's own directory, so a
        # page proxied under /bot/ gets /bot, not the whole site. Secure whenever the page came over HTTPS
        # (directly, or through a proxy whose X-Forwarded-Proto uvicorn trusts: FORWARDED_ALLOW_IPS).
        response.set_cookie(COOKIE, cookie, path=None, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")

    # -- POST -----------------------------------------------------------------------------------

    async def messages(self, request: Request) -> Response:
        if not same_origin(request):
            FORBIDDEN.inc()
            return self._error(403, "origin", "page_bad_request", "not from this page (Origin)")
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return self._error(415, "bad_request", "page_bad_request", "not application/json")
        session = self.sessions.read(request.cookies.get(COOKIE))
        if session is None:
            return self._error(403, "session", "page_session", "no valid session cookie")
        try:
            data = await read_json(request, MAX_BODY)
        except BadRequest as exc:
            return self._error(exc.status, "bad_request", "page_bad_request", exc.reason)
        action, message_id = action_of(data), message_id_of(data)
        if isinstance(action, Refusal):
            return self._refused(action)
        if isinstance(message_id, Refusal):
            return self._refused(message_id)
        address = request.client.host if request.client else "unknown"
        incoming = Incoming(self.kit.resident(CHANNEL, session), action, message_id=message_id,
                            limit_keys=((f"webpage-address:{address}", self.address_per_minute),))
        reply = await self.kit.receive(incoming)
        if reply is None:  # never for the page (no delivery key), but a channel must not render nothing
            return self._error(409, "bad_request", "page_bad_request", "no reply")
        if reply.intent_id == "rate_limited":
            return JSONResponse({"error": reply.text, "code": "rate_limited"}, status_code=429,
                                headers={**self.headers, "Retry-After": "60"})
        if reply.intent_id == "resend_pending":  # its first attempt is still being answered: the page retries
            return JSONResponse({"error": reply.text, "code": "pending"}, status_code=409,
                                headers={**self.headers, "Retry-After": "2"})
        body = json.dumps(render(reply, self._texts(), commented=action.comment is not None), ensure_ascii=False)
        return Response(body, media_type="application/json", headers={**self.headers, "Cache-Control": "no-store"})

    def _refused(self, refusal: Refusal) -> Response:
        log.info("web page request refused: %s", refusal.key)
        code = refusal.key.removeprefix("page_")
        return JSONResponse({"error": refusal_text(refusal, self._texts()), "code": code}, status_code=400,
                            headers=self.headers)

    def _texts(self) -> dict[str, str]:
        return self.kit.dialogue.live.snapshot.kb.replies

    def _error(self, status: int, code: str, key: str, reason: str) -> Response:
        log.info("web page request refused: %s", reason)
        return JSONResponse({"error": self.kit.text(key), "code": code}, status_code=status, headers=self.headers)


def from_settings(settings: Settings, kit: ChannelKit) -> WebPageChannel | None:
    """Mounted unless WEBPAGE_ENABLED is false."""
    if not settings.webpage_enabled:
        return None
    return WebPageChannel(kit, salt=settings.user_id_salt.get_secret_value(),
                          address_per_minute=settings.webpage_rate_per_minute,
                          frame_ancestors=settings.webpage_frame_ancestors,
                          reply_timeout=settings.webpage_reply_timeout)
