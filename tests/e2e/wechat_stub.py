"""WeChat's side, on 127.0.0.1: the API server the bot calls (access token, customer-service messages), with
every call counted and faults on demand; and what WeChat's servers send to /wechat (signed URLs, message XML,
safe mode's envelope made with wechatpy's own crypto)."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat.signing import parse_xml, sign

APP_ID = "wx0123456789abcdef"
APP_SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "residentToken2024"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the platform generates
ACCOUNT = "gh_0123456789ab"


class WeChatApiStub:
    def __init__(self, app_id: str = APP_ID, secret: str = APP_SECRET, expires_in: int = 7200):
        self.app_id, self.secret, self.expires_in = app_id, secret, expires_in
        self.token_calls = 0
        self.send_calls = 0  # every customer-service call, refused or not
        self.sent: list[dict] = []  # messages accepted
        self.valid: set[str] = set()
        self.refuse_next: list[int] = []  # errcodes for the next send calls (e.g. 40001, 42001)
        self.cond = threading.Condition()
        self._ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> WeChatApiStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def revoke_tokens(self) -> None:
        """Every token issued so far becomes invalid (another system fetched a new one): 40001 from now on."""
        with self.cond:
            self.valid.clear()

    def wait_sent(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.sent) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"stub got {len(self.sent)} customer-service message(s), wanted {count}")
                self.cond.wait(left)
            return list(self.sent)

    def texts(self) -> list[str]:
        with self.cond:
            return [m["text"]["content"] for m in self.sent]

    def _token(self, query: dict[str, str]) -> dict:
        with self.cond:
            self.token_calls += 1
            if query.get("grant_type") != "client_credential" or query.get("appid") != self.app_id:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if query.get("secret") != self.secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = f"ACCESS-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
            self.valid.add(token)
            return {"access_token": token, "expires_in": self.expires_in}

    def _send(self, query: dict[str, str], body: bytes) -> dict:
        with self.cond:
            self.send_calls += 1
            if self.refuse_next:
                return {"errcode": self.refuse_next.pop(0), "errmsg": "stub refusal"}
            if query.get("access_token") not in self.valid:
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
            message = json.loads(body.decode("utf-8"))
            self.sent.append(message)
            self.cond.notify_all()
            return {"errcode": 0, "errmsg": "ok"}

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if url.path == "/cgi-bin/token" and self.command == "GET":
                    result = stub._token(query)
                elif url.path == "/cgi-bin/message/custom/send" and self.command == "POST":
                    result = stub._send(query, body)
                else:
                    result = {"errcode": 404, "errmsg": "no such stub endpoint"}
                data = json.dumps(result).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        return Handler


# -- what WeChat's servers send ----------------------------------------------------------------------


def signed_query(token: str = TOKEN, *, timestamp: int | None = None, nonce: str | None = None,
                 **extra: str) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or uuid.uuid4().hex[:10]
    return {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


def url(query: dict[str, str], path: str = "/wechat") -> str:
    return f"{path}?{urlencode(query)}"


def text_xml(content: str, msg_id: int, openid: str = "oResident0001", account: str = ACCOUNT) -> str:
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def message_xml(msg_type: str, msg_id: int, openid: str = "oResident0001", **fields: str) -> str:
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{extra}"
            f"<MsgId>{msg_id}</MsgId></xml>")


def event_xml(event: str, openid: str = "oResident0001", key: str = "", created: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>")


def encrypted(xml: str, *, token: str = TOKEN, aes_key: str = AES_KEY, app_id: str = APP_ID) -> tuple[str, dict]:
    """Safe mode as WeChat sends it: the envelope, and the query with both signatures."""
    query = signed_query(token)
    envelope = WeChatCrypto(token, aes_key, app_id).encrypt_message(xml, query["nonce"], query["timestamp"])
    fields = parse_xml(envelope)
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>")
    return body, {**query, "encrypt_type": "aes", "msg_signature": fields["MsgSignature"]}


def decrypt_reply(body: str, query: dict[str, str], *, token: str = TOKEN, aes_key: str = AES_KEY,
                  app_id: str = APP_ID) -> str:
    """What WeChat does with an encrypted passive reply: check its signature and open it."""
    fields = parse_xml(body)
    return WeChatCrypto(token, aes_key, app_id).decrypt_message(
        body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
