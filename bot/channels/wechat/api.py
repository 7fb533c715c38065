"""The WeChat API calls the channel makes: the access token, and customer-service text messages (客服消息)
for answers that miss the 5-second passive-reply window or run past one message.

The access token is cached where the replicas share it (`shared.py`: Redis, else process memory), fetched by
one replica at a time, renewed REFRESH_BEFORE seconds before it expires, and fetched again once when WeChat
says it is invalid or expired (40001, 40014, 42001), after which the call is tried once more, never in a
loop. Neither the AppSecret nor a token reaches the log: httpx is kept below INFO (it logs URLs), and
failures are logged by error code.

wechatpy's own client is synchronous (requests), keeps the token's expiry per process and retries an invalid
token without bound, so these two calls are made here with httpx's async client instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass

import httpx

from bot.channels.wechat.shared import LocalValues, RedisValues

log = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds for one API call
REFRESH_BEFORE = 300.0  # seconds before expiry at which the token is renewed
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
LOCK_SECONDS = 10.0  # one replica fetches the token at a time; the lock lapses if it dies meanwhile
WAIT_FOR_OTHER = 3.0  # seconds a replica waits for another's fetch before fetching itself


class WeChatApiError(Exception):
    def __init__(self, errcode: int | None, errmsg: str):
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_at: float  # wall-clock seconds


class WeChatApi:
    def __init__(self, base_url: str, app_id: str, app_secret: str, values: LocalValues | RedisValues, *,
                 timeout: float = TIMEOUT, clock=time.time):
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.values = values
        self.timeout = timeout
        self.clock = clock
        self.fetches = 0  # token fetches by this process
        self._http: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        self._key = f"token:{app_id}"

    async def start(self) -> None:
        for name in ("httpx", "httpcore"):  # both log request URLs, which carry the secret or the token
            logging.getLogger(name).setLevel(logging.WARNING)
        self._http = httpx.AsyncClient(timeout=self.timeout)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- customer-service messages ----------------------------------------------------------------

    async def send_text(self, openid: str, text: str) -> None:
        """One customer-service text message to a follower; WeChatApiError when WeChat refuses it."""
        body = json.dumps({"touser": openid, "msgtype": "text", "text": {"content": text}}, ensure_ascii=False)
        token = await self.token()
        result = await self._call("POST", "/cgi-bin/message/custom/send", token, body.encode("utf-8"))
        if result.get("errcode") in TOKEN_ERRORS:
            log.info("WeChat refused the access token (errcode %s): fetching a new one", result.get("errcode"))
            token = await self._refresh(stale=token)
            result = await self._call("POST", "/cgi-bin/message/custom/send", token, body.encode("utf-8"))
        _raise_for(result)

    # -- the access token -------------------------------------------------------------------------

    async def token(self) -> str:
        cached = await self._cached()
        if cached is not None and cached.expires_at - self.clock() > REFRESH_BEFORE:
            return cached.value
        return await self._refresh(stale=cached.value if cached else None)

    async def _refresh(self, stale: str | None) -> str:
        """A token other than `stale`: one that another request or replica fetched meanwhile, else a new one."""
        async with self._lock:  # one fetch per process at a time
            cached = await self._cached()
            if self._fresh(cached, stale):
                return cached.value  # type: ignore[union-attr]
            owner = uuid.uuid4().hex
            mine = await self.values.first(f"{self._key}:lock", owner, LOCK_SECONDS) == owner
            if not mine:  # another replica is fetching: its token, unless it takes too long
                waited = await self._wait_for_other(stale)
                if waited is not None:
                    return waited
            try:
                return await self._fetch()
            finally:
                if mine:
                    await self.values.delete(f"{self._key}:lock")

    async def _wait_for_other(self, stale: str | None) -> str | None:
        deadline = self.clock() + WAIT_FOR_OTHER
        while self.clock() < deadline:
            await asyncio.sleep(0.1)
            cached = await self._cached()
            if self._fresh(cached, stale):
                return cached.value  # type: ignore[union-attr]
        return None

    def _fresh(self, cached: Token | None, stale: str | None) -> bool:
        return cached is not None and cached.value != stale and cached.expires_at - self.clock() > REFRESH_BEFORE

    async def _fetch(self) -> str:
        self.fetches += 1
        result = await self._call("GET", "/cgi-bin/token", None, None, params={
            "grant_type": "client_credential", "appid": self.app_id, "secret": self._secret})
        _raise_for(result)
        value, lifetime = result.get("access_token"), result.get("expires_in", 7200)
        if not isinstance(value, str) or not value or not isinstance(lifetime, int):
            raise WeChatApiError(None, "token endpoint answered without access_token")
        token = Token(value, self.clock() + lifetime)
        await self.values.set(self._key, json.dumps({"token": token.value, "expires_at": token.expires_at}),
                              max(lifetime, 1))
        log.info("fetched a WeChat access token valid for %d s", lifetime)
        return token.value

    async def _cached(self) -> Token | None:
        raw = await self.values.get(self._key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return Token(str(data["token"]), float(data["expires_at"]))
        except (ValueError, KeyError, TypeError):
            return None

    # -- HTTP -------------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, token: str | None, body: bytes | None,
                    params: dict[str, str] | None = None) -> dict:
        if self._http is None:
            raise WeChatApiError(None, "the WeChat channel is not started")
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        try:
            response = await self._http.request(method, self.base_url + path, params=query, content=body,
                                                headers={"content-type": "application/json; charset=utf-8"})
            result = response.json()
        except (httpx.HTTPError, ValueError) as exc:  # never str(exc): it may hold the URL, secret and all
            raise WeChatApiError(None, f"{type(exc).__name__} calling {path}") from None
        if not isinstance(result, dict):
            raise WeChatApiError(None, f"{path} answered with something other than a JSON object")
        return result


def _raise_for(result: dict) -> None:
    errcode = result.get("errcode", 0)
    if errcode not in (0, None):
        raise WeChatApiError(errcode if isinstance(errcode, int) else None, str(result.get("errmsg", ""))[:200])
