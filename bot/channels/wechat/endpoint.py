"""The WeChat Official Account's server URL, mounted by `serve` at /wechat when WECHAT_TOKEN is set.

GET: WeChat's URL verification (the `echostr` is returned when the signature holds). POST: a follower's
message or event, as XML, plaintext or encrypted (safe mode); the reply goes back as the passive reply, or
through the customer-service API when it is late (`delivery.py`). Every call is refused unless signed with
the Token (403); bodies over the limit get 413; anything that is not a WeChat message 400; none of them
reaches the kit or the records.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.kit import ChannelKit, Incoming
from bot.channels.requests import BadRequest, read_body
from bot.channels.wechat.api import WeChatApi
from bot.channels.wechat.delivery import Delivery
from bot.channels.wechat.messages import Admin, Inbound, Notice, action_of, read_inbound
from bot.channels.wechat.rendering import MAX_BYTES, MAX_MESSAGES, fit, passive_xml, render
from bot.channels.wechat.shared import shared_values
from bot.channels.wechat.signing import Envelope, Refused, check_url
from bot.config import Settings, SettingsError
from bot.observability import FORBIDDEN

log = logging.getLogger(__name__)

CHANNEL = "wechat"
PATH = "/wechat"
MAX_BODY = 64 * 1024  # WeChat's messages are a few hundred bytes; its text is at most 2,048
ADMIN_CHARS = 600  # an administrator's reply in one message: 600 CJK characters are 1,800 bytes
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9]{3,32}")  # what the official account platform accepts as Token
AES_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{43}")
SUCCESS = "success"  # "received, nothing to say": WeChat neither retries nor shows an error


class WeChatChannel:
    name = CHANNEL

    def __init__(self, settings: Settings, kit: ChannelKit):
        self.kit = kit
        self.token = settings.wechat_token.get_secret_value()
        self.admins = frozenset(settings.wechat_admin_openids)
        self.max_body = min(settings.max_body_bytes, MAX_BODY)
        aes_key = settings.wechat_aes_key.get_secret_value()
        self.envelope = Envelope(self.token, aes_key, settings.wechat_app_id) if aes_key else None
        self.values = shared_values(settings.redis_url)
        secret = settings.wechat_app_secret.get_secret_value()
        self.api = WeChatApi(settings.wechat_api_base_url, settings.wechat_app_id, secret, self.values) \
            if settings.wechat_app_id and secret else None
        self.delivery = Delivery(self.values, budget=settings.wechat_reply_seconds,
                                 send=self.api.send_text if self.api else None)
        self.routes: list[BaseRoute] = [Route(PATH, self.handle, methods=["GET", "POST"])]

    async def start(self) -> None:
        if self.api is not None:
            await self.api.start()

    async def stop(self) -> None:
        await self.delivery.stop()  # late answers in flight still go out
        if self.api is not None:
            await self.api.close()
        await self.values.close()

    # -- HTTP -------------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        query = dict(request.query_params)
        try:
            check_url(self.token, query)
            if request.method == "GET":  # the platform checking the server URL
                if not query.get("echostr"):
                    raise Refused(400, "verification without echostr")
                return PlainTextResponse(query["echostr"])
            body = await read_body(request, self.max_body)
            encrypted = query.get("encrypt_type") == "aes"
            inbound = read_inbound(self._open(body, query, encrypted))
        except Refused as exc:
            return self._refuse(exc.status, exc.reason)
        except BadRequest as exc:
            return self._refuse(exc.status, exc.reason)
        messages = await self.answer(inbound)
        if not messages:
            return PlainTextResponse(SUCCESS)
        xml = passive_xml(inbound.account, inbound.openid, messages[0])
        if encrypted and self.envelope is not None:
            xml = self.envelope.seal(xml, query["nonce"], str(int(time.time())))
        rest = BackgroundTask(self.delivery.send_rest, self._key(inbound), inbound.openid, messages[1:])
        return Response(xml, media_type="application/xml", background=rest if len(messages) > 1 else None)

    def _open(self, body: bytes, query: dict[str, str], encrypted: bool) -> bytes | str:
        if encrypted:
            if self.envelope is None:
                raise Refused(400, "an encrypted message but WECHAT_AES_KEY is not set: copy the EncodingAESKey "
                                   "from 服务器配置, or switch the account to plaintext mode")
            return self.envelope.open(body, query)
        if self.envelope is not None:  # only the ciphertext is signed: a plaintext body could be anyone's
            raise Refused(403, "a plaintext message while WECHAT_AES_KEY is set (safe mode)")
        return body

    def _refuse(self, status: int, reason: str) -> Response:
        if status == 403:
            FORBIDDEN.inc()
        log.info("wechat call refused: %s", reason)
        return Response(status_code=status)

    # -- the answer -------------------------------------------------------------------------------

    async def answer(self, inbound: Inbound) -> list[str] | None:
        """The messages for a follower's message (the first is the passive reply); None: say nothing."""
        action = action_of(inbound, self.admins)
        if action is None:
            return None
        if isinstance(action, Notice):  # not recorded: there is no question to record
            return [await self.kit.text_for(action.key, self.kit.resident(CHANNEL, inbound.openid))]
        key = self._key(inbound)
        if isinstance(action, Admin):
            async def compute() -> list[str] | None:
                if not await self.kit.first_time(CHANNEL, key):
                    return None
                return [fit(await self.kit.run_admin(action.command, ADMIN_CHARS), MAX_BYTES)]
        else:
            incoming = Incoming(self.kit.resident(CHANNEL, inbound.openid), action, key=key)
            most = MAX_MESSAGES if self.delivery.can_send_late else 1

            async def compute() -> list[str] | None:
                reply = await self.kit.receive(incoming)
                if reply is None:
                    return None
                return render(reply, dict(self.kit.dialogue.live.snapshot.kb.replies), max_messages=most)
        return await self.delivery.deliver(key, inbound.openid, compute)

    @staticmethod
    def _key(inbound: Inbound) -> str:
        """MsgIds are unique per official account; several accounts may share a database and a Redis."""
        return f"{inbound.account}:{inbound.key}"


def check(settings: Settings) -> None:
    """WeChat's settings, complete and well-formed, before anything is loaded."""
    token = settings.wechat_token.get_secret_value()
    secret = settings.wechat_app_secret.get_secret_value()
    aes_key = settings.wechat_aes_key.get_secret_value()
    if not token:
        given = [name for name, value in (("WECHAT_APP_ID", settings.wechat_app_id), ("WECHAT_APP_SECRET", secret),
                                          ("WECHAT_AES_KEY", aes_key)) if value]
        if given:
            raise SettingsError(f"{given[0]} is set but WECHAT_TOKEN is not, so /wechat would not be mounted: set "
                                "WECHAT_TOKEN to the Token entered in the official account's 服务器配置")
        return
    if not TOKEN_SHAPE.fullmatch(token):
        raise SettingsError("WECHAT_TOKEN must be 3-32 letters or digits, exactly as entered in 服务器配置 (Token)")
    if aes_key and not AES_KEY_SHAPE.fullmatch(aes_key):
        raise SettingsError("WECHAT_AES_KEY must be the 43 letters and digits of the EncodingAESKey in 服务器配置")
    if (aes_key or secret) and not settings.wechat_app_id:
        raise SettingsError(f"{'WECHAT_AES_KEY' if aes_key else 'WECHAT_APP_SECRET'} is set but WECHAT_APP_ID is "
                            "not: copy the AppID (wx...) from the official account's 基本配置")


def from_settings(settings: Settings, kit: ChannelKit) -> WeChatChannel | None:
    """Mounted when WECHAT_TOKEN is set."""
    check(settings)
    if not settings.wechat_token.get_secret_value():
        return None
    return WeChatChannel(settings, kit)
